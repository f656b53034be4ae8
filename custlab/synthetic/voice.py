"""Stage "voice" (``make_shop(voice=True)``): delivery dates, bilingual reviews with planted complaints, an NPS survey.

Every number is in :mod:`custlab.synthetic.params` (``VOICE_*``); the stage
draws from its own stream ``"voice"``, so the other tables never change.

* **Orders** (``Shop.orders``, one row per order): ``promised_date`` is the
  order's day plus 2-5 days by region, and a region's share of the orders
  arrives late (east and south 8%, north and central 10%, southwest and
  northeast 20%, northwest 25%): 1-4 days after the promised day; the other
  orders arrive 1..promised days after the order day. An order delivered
  after the period end has no ``delivered_date`` yet.
* **Reviews** (``Shop.reviews``, replacing the plain English ones): 20% of
  the delivered orders get a review of one of their products, 0-10 days
  after delivery, written in Chinese (70% of the customers) or English.
  The rating of an on-time order has shares 4/4/10/25/57% for 1..5 stars
  (mean 4.27), of a late one 14/12/16/24/34% (mean 3.52): **late delivery
  lowers the rating by 0.75 stars** and raises the share of 1-2 star
  reviews from 8% to 26%. A negative review (1-2 stars) complains about
  exactly one aspect: for an on-time apparel order size 40%, quality 25%,
  logistics 8%, service 15%, price 12%; other categories quality 40%,
  logistics 15%, service 25%, price 20% (no size); for a late order
  logistics 70% and the rest in the same proportions. Half the positive
  reviews (4-5 stars) praise one aspect; 3-star reviews are neutral.
  ``truth["voice"]["reviews"]`` says, per review, what was planted.
* **NPS survey** (``Shop.surveys``): 30% of the customers answer "how likely
  are you to recommend us?" (0-10) 1-7 days after a random one of their
  orders (if delivered): promoters/passives/detractors 50/32/18% after an
  on-time order (NPS +32), 25/30/45% after a late one (NPS -20).

Each phrase of the bank below names its aspect with a word of
:mod:`custlab.reviews`' lexicon and no word of another aspect
(``tests/reviews/test_aspects.py`` checks it).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from custlab.synthetic._arrays import strings
from custlab.synthetic.baskets import Lines
from custlab.synthetic.customers import Customers
from custlab.synthetic.params import (
    CATALOG, ORDER_CHANNELS, US_PER_DAY, US_PER_SEC, VOICE_ASPECT_P, VOICE_ASPECTS, VOICE_DELIVERY, VOICE_LANGUAGES,
    VOICE_LATE_DAYS, VOICE_LATE_LOGISTICS, VOICE_NPS_P, VOICE_NPS_SCORES, VOICE_PRAISE_P, VOICE_RATING_P,
    VOICE_REVIEW_P, VOICE_SURVEY_P, product_ids,
)
from custlab.synthetic.purchases import Orders
from custlab.synthetic.timeline import Calendar

__all__ = ["PHRASES", "aspect_probabilities", "voice_stage"]

#: Phrase bank: (language, kind, aspect) -> phrases; kinds: complaint, praise, positive, neutral, closer.
PHRASES: dict[tuple[str, str, str], tuple[str, ...]] = {
    ("zh", "complaint", "size"): ("尺码偏小，平时穿M这次穿L都紧", "码数不准，大了一号", "尺码太大了，一点也不合身",
                                  "衣服偏大，袖子太长", "尺码表不准，穿着太紧"),
    ("zh", "complaint", "quality"): ("质量太差，穿了一次就起球", "做工粗糙，线头很多", "用了两天就坏了",
                                     "材质很差，有股异味", "质量不行，没几天就开胶了"),
    ("zh", "complaint", "logistics"): ("物流太慢了，等了一个多星期", "快递晚到了好几天", "发货太慢，催了好几次",
                                       "配送延误，说好的时间没送到", "物流信息一直不更新"),
    ("zh", "complaint", "service"): ("客服态度很差，问了半天不回复", "售后不处理，一直推脱", "联系客服没人理",
                                     "客服回复太慢，问题也没解决"),
    ("zh", "complaint", "price"): ("价格太贵了，不值这个价", "性价比太低，比别家贵很多", "刚买就降价了，太坑",
                                   "这个价格买亏了"),
    ("zh", "praise", "size"): ("尺码很标准，很合身",),
    ("zh", "praise", "quality"): ("质量很好，做工精细",),
    ("zh", "praise", "logistics"): ("物流很快，第二天就到了",),
    ("zh", "praise", "service"): ("客服很耐心",),
    ("zh", "praise", "price"): ("性价比很高",),
    ("zh", "positive", ""): ("非常满意，会回购", "很喜欢，推荐购买", "好评", "东西不错，家人都喜欢"),
    ("zh", "neutral", ""): ("还行吧，一般般", "中规中矩，没有惊喜", "凑合能用"),
    ("zh", "closer", ""): ("很失望", "不会再买了", "差评", "太让人失望了"),
    ("en", "complaint", "size"): ("The size runs small, I had to size up", "Way too big, the fit is awful",
                                  "Sizing is off and it is too tight", "Runs large, nothing fits",
                                  "Too small in the chest and too short"),
    ("en", "complaint", "quality"): ("Poor quality, it broke after two days", "Cheap material and the stitching came apart",
                                     "The fabric pilled after one wash", "Stopped working within a week, bad quality"),
    ("en", "complaint", "logistics"): ("Delivery was late by several days", "Shipping took forever",
                                       "The courier was slow and the parcel came late",
                                       "It arrived a week after the promised delivery date"),
    ("en", "complaint", "service"): ("Customer service never replied", "The support agent was rude and unhelpful",
                                     "After-sales service ignored my complaint"),
    ("en", "complaint", "price"): ("Too expensive for what it is", "Overpriced, not worth the money",
                                   "The price dropped right after I bought it"),
    ("en", "praise", "size"): ("Fits true to size",),
    ("en", "praise", "quality"): ("Great quality",),
    ("en", "praise", "logistics"): ("Fast delivery",),
    ("en", "praise", "service"): ("Helpful customer service",),
    ("en", "praise", "price"): ("Great value for the price",),
    ("en", "positive", ""): ("Love it, will buy again", "Very happy with this purchase", "Highly recommend",
                             "My family likes it too"),
    ("en", "neutral", ""): ("It's okay, nothing special", "Average, as expected", "Not bad, not great"),
    ("en", "closer", ""): ("Very disappointed", "Would not buy again", "Not happy at all"),
}

_KINDS = ("complaint", "praise")


def aspect_probabilities(apparel: bool, late: bool) -> np.ndarray:
    """Planted complaint shares (in ``VOICE_ASPECTS`` order) of a negative review of such an order."""
    p = np.asarray(VOICE_ASPECT_P["apparel" if apparel else "other"], dtype=float)
    if not late:
        return p
    li = VOICE_ASPECTS.index("logistics")
    rest = np.delete(p, li)
    out = np.insert(rest / rest.sum() * (1 - VOICE_LATE_LOGISTICS), li, VOICE_LATE_LOGISTICS)
    return out


def _inverse_cdf(u: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Row-wise categorical draws: ``probs`` is (n, k) or (k,), ``u`` uniform (n,)."""
    cdf = np.cumsum(np.atleast_2d(probs), axis=1)
    return np.minimum((u[:, None] > cdf).sum(axis=1), cdf.shape[1] - 1)


def _pool() -> tuple[list[str], dict[tuple[str, str, str], tuple[int, int]]]:
    pool: list[str] = []
    where = {}
    for key, phrases in PHRASES.items():
        where[key] = (len(pool), len(phrases))
        pool.extend(phrases)
    return pool, where


def voice_stage(rng: np.random.Generator, orders: Orders, lines: Lines, order_ids: np.ndarray, order_channel: np.ndarray,
                customers: Customers, cal: Calendar) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, dict[str, Any]]:
    """Stream "voice": ``(orders, reviews, surveys, truth)``."""
    n, end_us = orders.n, cal.end_us
    regions = list(VOICE_DELIVERY)
    cust_region = np.array([regions.index(r) for r in customers.table["region"].to_list()], dtype=np.int64)
    region = cust_region[orders.cust]
    promised = np.array([VOICE_DELIVERY[r][0] for r in regions])[region]
    late_p = np.array([VOICE_DELIVERY[r][1] for r in regions])[region]
    # every draw is made for every order, so each array's draws never depend on another's outcome
    late = rng.random(n) < late_p
    on_time_offset = 1 + np.floor(rng.random(n) * promised).astype(np.int64)
    late_offset = promised + rng.integers(VOICE_LATE_DAYS[0], VOICE_LATE_DAYS[1] + 1, n)
    hour_s = rng.integers(9 * 3600, 21 * 3600, n)
    day0 = cal.start_us + orders.day.astype(np.int64) * US_PER_DAY
    delivered_us = day0 + np.where(late, late_offset, on_time_offset) * US_PER_DAY + hour_s * US_PER_SEC
    promised_us = day0 + promised * US_PER_DAY
    delivered = delivered_us < end_us

    # reviews
    review_u, review_delay = rng.random(n), rng.uniform(0.0, 10.0, n)
    review_us = delivered_us + (review_delay * 86400).astype(np.int64) * US_PER_SEC
    lines_per_order = np.bincount(lines.order, minlength=n)
    first_line = np.cumsum(lines_per_order) - lines_per_order
    line_u = rng.random(n)
    lang_zh = rng.random(orders.n_customers) < VOICE_LANGUAGES[0][1]
    u_rating, u_aspect, u_praise, u_praise_aspect = (rng.random(n) for _ in range(4))
    u_phrase, u_extra, u_closer = (rng.random(n) for _ in range(3))

    rv = np.flatnonzero(delivered & (review_u < VOICE_REVIEW_P) & (review_us < end_us))
    rv = rv[np.argsort(review_us[rv], kind="stable")]
    line = first_line[rv] + np.floor(line_u[rv] * lines_per_order[rv]).astype(np.int64)
    product = lines.product[line]
    apparel = np.array([c == "apparel" for c, *_ in CATALOG])[product]
    rv_late = late[rv]
    rating_p = np.where(rv_late[:, None], np.asarray(VOICE_RATING_P["late"]), np.asarray(VOICE_RATING_P["on_time"]))
    rating = _inverse_cdf(u_rating[rv], rating_p) + 1
    table = {(a, lt): aspect_probabilities(a, lt) for a in (True, False) for lt in (True, False)}
    aspect_p = np.zeros((rv.size, len(VOICE_ASPECTS)))
    for (a, lt), p in table.items():
        aspect_p[(apparel == a) & (rv_late == lt)] = p
    complaint = _inverse_cdf(u_aspect[rv], aspect_p)
    negative, positive = rating <= 2, rating >= 4
    praise = positive & (u_praise[rv] < VOICE_PRAISE_P)
    # praise: uniform over the aspects that apply (size only for apparel)
    n_apply = np.where(apparel, len(VOICE_ASPECTS), len(VOICE_ASPECTS) - 1)
    pick = np.floor(u_praise_aspect[rv] * n_apply).astype(np.int64)
    non_size = np.array([i for i, a in enumerate(VOICE_ASPECTS) if a != "size"])
    praise_aspect = np.where(apparel, pick, non_size[np.minimum(pick, non_size.size - 1)])

    pool, where = _pool()
    language = np.where(lang_zh[orders.cust[rv]], "zh", "en")

    def code(kind: str, aspect_idx: np.ndarray | None, u: np.ndarray) -> np.ndarray:
        out = np.full(rv.size, -1, dtype=np.int64)
        for lang in ("zh", "en"):
            for a, name in enumerate(VOICE_ASPECTS if aspect_idx is not None else ("",)):
                mask = language == lang
                if aspect_idx is not None:
                    mask &= aspect_idx == a
                ofs, cnt = where[(lang, kind, name)]
                out[mask] = ofs + np.floor(u[mask] * cnt).astype(np.int64)
        return out

    main = np.where(negative, code("complaint", complaint, u_phrase[rv]),
                    np.where(positive, code("positive", None, u_phrase[rv]), code("neutral", None, u_phrase[rv])))
    extra = np.where(negative & (u_extra[rv] < 0.5), code("closer", None, u_closer[rv]),
                     np.where(praise, code("praise", praise_aspect, u_closer[rv]), -1))
    first = strings(pool, main)
    second = strings(pool, np.where(extra >= 0, extra, 0))
    zh = pl.Series(language == "zh")
    text = (pl.DataFrame({"a": first, "b": second, "has_b": extra >= 0, "zh": zh})
            .select(pl.when(pl.col("has_b")).then(pl.col("a") + pl.when(pl.col("zh")).then(pl.lit("，")).otherwise(
                pl.lit(". ")) + pl.col("b")).otherwise(pl.col("a"))
                + pl.when(pl.col("zh")).then(pl.lit("。")).otherwise(pl.lit(".")))).to_series()

    reviews = pl.DataFrame({
        "customer_id": pl.Series(customers.ids[orders.cust[rv]], dtype=pl.Int64),
        "review_date": pl.Series(review_us[rv], dtype=pl.Int64).cast(pl.Datetime("us")),
        "rating": pl.Series(rating, dtype=pl.Int64),
        "order_id": pl.Series(order_ids[rv], dtype=pl.Int64),
        "product_id": strings(product_ids(), product),
        "text": text,
        "language": pl.Series(language.astype(str), dtype=pl.String),
    })
    review_truth = pl.DataFrame({
        "order_id": pl.Series(order_ids[rv], dtype=pl.Int64),
        "late": rv_late,
        "apparel": apparel,
        "complaint": strings(VOICE_ASPECTS, complaint),
        "praise": strings(VOICE_ASPECTS, praise_aspect),
        "negative": negative,
        "praised": praise,
    }).select("order_id", "late", "apparel", pl.when("negative").then("complaint").alias("complaint"),
              pl.when("praised").then("praise").alias("praise"))

    # orders
    srt = np.argsort(order_ids, kind="stable")
    orders_table = pl.DataFrame({
        "order_id": pl.Series(order_ids[srt], dtype=pl.Int64),
        "customer_id": pl.Series(customers.ids[orders.cust[srt]], dtype=pl.Int64),
        "order_date": pl.Series(orders.us[srt], dtype=pl.Int64).cast(pl.Datetime("us")),
        "promised_date": pl.Series(promised_us[srt], dtype=pl.Int64).cast(pl.Datetime("us")),
        "delivered_date": pl.Series(delivered_us[srt], dtype=pl.Int64).cast(pl.Datetime("us")),
        "_delivered": delivered[srt],
    }).with_columns(pl.when("_delivered").then("delivered_date").alias("delivered_date")).drop("_delivered")

    # NPS survey after a random order of a random 30% of the customers
    asked = rng.random(orders.n_customers) < VOICE_SURVEY_P
    which = orders.first + np.floor(rng.random(orders.n_customers) * orders.count).astype(np.int64)
    survey_us = delivered_us[which] + (rng.uniform(1.0, 7.0, orders.n_customers) * 86400).astype(np.int64) * US_PER_SEC
    u_group, u_score = rng.random(orders.n_customers), rng.random(orders.n_customers)
    sv = np.flatnonzero(asked & delivered[which] & (survey_us < end_us))
    sv = sv[np.argsort(survey_us[sv], kind="stable")]
    sv_late = late[which[sv]]
    group = _inverse_cdf(u_group[sv], np.where(sv_late[:, None], np.asarray(VOICE_NPS_P["late"]),
                                               np.asarray(VOICE_NPS_P["on_time"])))
    score = np.zeros(sv.size, dtype=np.int64)
    for g, name in enumerate(("promoter", "passive", "detractor")):
        values, probs = VOICE_NPS_SCORES[name]
        mask = group == g
        score[mask] = np.asarray(values)[_inverse_cdf(u_score[sv][mask], np.asarray(probs))]
    surveys = pl.DataFrame({
        "customer_id": pl.Series(customers.ids[sv], dtype=pl.Int64),
        "survey_date": pl.Series(survey_us[sv], dtype=pl.Int64).cast(pl.Datetime("us")),
        "nps_score": pl.Series(score, dtype=pl.Int64),
        "order_id": pl.Series(order_ids[which[sv]], dtype=pl.Int64),
        "channel": strings(ORDER_CHANNELS, order_channel[which[sv]]),
    })
    truth = _truth(late, delivered, review_truth, sv_late)
    return orders_table, reviews, surveys, truth


def _mean(p: tuple[float, ...]) -> float:
    return float(sum((i + 1) * q for i, q in enumerate(p)))


def _truth(late: np.ndarray, delivered: np.ndarray, review_truth: pl.DataFrame, sv_late: np.ndarray) -> dict[str, Any]:
    on, lt = VOICE_RATING_P["on_time"], VOICE_RATING_P["late"]
    nps = {k: round(100 * (p[0] - p[2])) for k, p in VOICE_NPS_P.items()}
    return {
        "delivery": {r: {"promised_days": d, "late_share": p} for r, (d, p) in VOICE_DELIVERY.items()},
        "late_days": VOICE_LATE_DAYS,
        "late_definition": "delivered on a later calendar day than promised_date",
        "late_orders": int((late & delivered).sum()),
        "delivered_orders": int(delivered.sum()),
        "review_share": VOICE_REVIEW_P,
        "languages": dict(VOICE_LANGUAGES),
        "rating_shares": {k: dict(zip(range(1, 6), v, strict=True)) for k, v in VOICE_RATING_P.items()},
        "mean_rating": {"on_time": _mean(on), "late": _mean(lt)},
        "late_rating_gap": _mean(lt) - _mean(on),
        "negative_share": {"on_time": on[0] + on[1], "late": lt[0] + lt[1]},
        "aspects": VOICE_ASPECTS,
        "complaint_shares": {
            f"{'apparel' if a else 'other'}, {'late' if lt_ else 'on_time'}":
                dict(zip(VOICE_ASPECTS, aspect_probabilities(a, lt_).round(6).tolist(), strict=True))
            for a in (True, False) for lt_ in (False, True)
        },
        "praise_share": VOICE_PRAISE_P,
        "nps_shares": {k: dict(zip(("promoter", "passive", "detractor"), v, strict=True)) for k, v in VOICE_NPS_P.items()},
        "nps": nps,
        "survey_share": VOICE_SURVEY_P,
        "surveys_after_late_order": int(sv_late.sum()),
        "reviews": review_truth,
    }
