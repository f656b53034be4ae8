"""Stage "reviews": about 20% of the orders get a review of one of their products.

A review comes 1..15 days after the order (reviews past the period end are
dropped). Ratings 5/4/3/2/1: 55/24/10/5/6% (``params.RATING_P``). Texts are
short English sentences; a negative one (rating <= 2) is about exactly one
topic: logistics 45%, size 30%, customer service 25%
(``params.COMPLAINT_TOPICS``; each topic's texts contain one of its
``COMPLAINT_KEYWORDS`` and no keyword of another topic).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from custlab.synthetic._arrays import strings
from custlab.synthetic.baskets import Lines
from custlab.synthetic.params import COMPLAINT_TOPICS, RATING_P, REVIEW_P, TEXTS, US_PER_SEC, product_ids
from custlab.synthetic.purchases import Orders

__all__ = ["write_reviews"]


def write_reviews(
    rng: np.random.Generator, orders: Orders, lines: Lines, order_ids: np.ndarray, customer_ids: np.ndarray,
    end_us: int,
) -> pl.DataFrame:
    """Stream "reviews": the reviews table, sorted by review_date."""
    n_orders = orders.n
    rv_orders = np.flatnonzero(rng.random(n_orders) < REVIEW_P)
    lines_per_order = np.bincount(lines.order, minlength=n_orders)
    first_line = np.cumsum(lines_per_order) - lines_per_order
    rv_line = first_line[rv_orders] + np.floor(rng.random(rv_orders.size) * lines_per_order[rv_orders]).astype(np.int64)
    rv_us = orders.us[rv_orders] + (rng.uniform(1.0, 15.0, rv_orders.size) * 86400).astype(np.int64) * US_PER_SEC
    rating = rng.choice(5, size=rv_orders.size, p=RATING_P) + 1
    topic_names = [t[0] for t in COMPLAINT_TOPICS]
    topic = rng.choice(3, size=rv_orders.size, p=[t[1] for t in COMPLAINT_TOPICS])
    text_pool: list[str] = []
    pool_ofs = {}
    for key in (*topic_names, "neutral", "positive"):
        pool_ofs[key] = (len(text_pool), len(TEXTS[key]))
        text_pool.extend(TEXTS[key])
    kind = np.where(rating <= 2, topic, np.where(rating == 3, 3, 4))
    kinds = (*topic_names, "neutral", "positive")
    kofs = np.array([pool_ofs[k][0] for k in kinds])
    klen = np.array([pool_ofs[k][1] for k in kinds])
    text_code = kofs[kind] + np.floor(rng.random(kind.size) * klen[kind]).astype(np.int64)
    keep = rv_us < end_us
    srt = np.flatnonzero(keep)[np.argsort(rv_us[keep], kind="stable")]
    return pl.DataFrame({
        "customer_id": pl.Series(customer_ids[orders.cust[rv_orders[srt]]], dtype=pl.Int64),
        "review_date": pl.Series(rv_us[srt], dtype=pl.Int64).cast(pl.Datetime("us")),
        "rating": pl.Series(rating[srt], dtype=pl.Int64),
        "order_id": pl.Series(order_ids[rv_orders[srt]], dtype=pl.Int64),
        "product_id": strings(product_ids(), lines.product[rv_line[srt]]),
        "text": strings(text_pool, text_code[srt]),
    })
