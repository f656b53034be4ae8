"""The voice of the customer in one call: :func:`voice_of_customer`, the figures of the report's section.

It runs, on the reviews dated before ``as_of``:

1. the sentiment model -- fitted on the shop's own ratings, or the
   pretrained one when the ratings cannot teach one
   (:class:`~custlab.reviews.sentiment.SentimentModel`);
2. the trend per period: reviews, mean rating, CSAT (share of 4-5 stars),
   share negative, and NPS when there are 0-10 answers
   (:mod:`custlab.reviews.nps`);
3. the complaints by aspect with example quotes (:func:`~custlab.reviews.aspects.aspects`);
4. the drivers, with the late-delivery effect when delivery dates are known
   (:func:`~custlab.reviews.drivers.drivers`);
5. the service-recovery list (:func:`~custlab.reviews.recovery.recovery_list`);
6. repurchase and churn after negative against positive reviews
   (:func:`~custlab.reviews.outcomes.review_outcomes`), with transactions.

Each part that the data cannot support is left out (None) with the reason
in ``notes``; each part says whether it can be trusted (``trusted``). The
result is language-neutral: :meth:`VoiceOfCustomer.describe` writes it in
English or Chinese, :func:`custlab.reviews.plots.plot_voice` draws it.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from dataclasses import dataclass, field

import polars as pl

from custlab._dates import as_datetime, as_of_after, check_freq
from custlab._i18n import check_language, t
from custlab._types import DateLike, Frame, Language
from custlab.exceptions import CustlabError
from custlab.reviews._frames import ReviewsWarning, reviews_table, surveys_table
from custlab.reviews._text import clean_text
from custlab.reviews.aspects import Aspects, aspects, negative_reviews
from custlab.reviews.drivers import Drivers, drivers
from custlab.reviews.nps import SurveyResult, csat, nps, recommend_share
from custlab.reviews.outcomes import ReviewOutcomes, review_outcomes
from custlab.reviews.recovery import RecoveryList, recovery_list
from custlab.reviews.sentiment import SentimentModel

__all__ = ["VoiceOfCustomer", "voice_of_customer"]


@dataclass(frozen=True)
class VoiceOfCustomer:
    """Everything the "Voice of the customer" section shows (:func:`voice_of_customer`).

    Attributes
    ----------
    as_of : datetime.datetime or None
        The first instant not analysed; for reviews without dates, the ``as_of`` given (it bounds the orders and
        surveys) or None.
    n_reviews : int
        Reviews dated before ``as_of`` (all of them when undated).
    trend : pl.DataFrame
        Per period (no row when the reviews are undated): ``period`` (Date), ``reviews``, ``mean_rating``,
        ``csat``, ``csat_lower``, ``csat_upper``, ``negative_share`` (rating
        <= 2, or the text's sentiment when unrated); with NPS answers
        ``nps_answers``, ``nps``, ``nps_lower``, ``nps_upper``.
    csat, nps, recommend : SurveyResult or None
        Overall figures (``recommend``: a yes/no "would recommend" column).
    sentiment : dict or None
        The model used: ``source`` ("fitted"/"pretrained"), ``auc``,
        ``accuracy``, ``reliable``, ``reliability`` (plain words), ``negative_share``.
    aspects : Aspects or None
    drivers : Drivers or None
    recovery : RecoveryList or None
    outcomes : ReviewOutcomes or None
    trusted : dict
        Per part: whether its figures can be trusted.
    notes : tuple
        ``(key, fields)`` of the ``reviews.note.*`` sentences: what was left out and why.
    scored : pl.DataFrame
        The reviews with ``p_negative``, ``sentiment``, ``aspects``, ``main_aspect``, ``negative``.
    """

    as_of: dt.datetime | None
    n_reviews: int
    trend: pl.DataFrame
    csat: SurveyResult | None
    nps: SurveyResult | None
    recommend: SurveyResult | None
    sentiment: dict | None
    aspects: Aspects | None
    drivers: Drivers | None
    recovery: RecoveryList | None
    outcomes: ReviewOutcomes | None
    trusted: dict
    notes: tuple = ()
    scored: pl.DataFrame = field(default_factory=pl.DataFrame, repr=False)

    def to_frame(self) -> pl.DataFrame:
        """The complaints by aspect with quotes (:attr:`Aspects.table`), or the trend when the reviews have no text."""
        return self.aspects.table if self.aspects is not None else self.trend

    @property
    def summary(self) -> pl.DataFrame:
        """Headline figures: ``metric``, ``value``, ``lower``, ``upper``, ``n``, ``trusted`` (no NaN)."""
        rows = [{"metric": "reviews", "value": float(self.n_reviews), "lower": None, "upper": None,
                 "n": self.n_reviews, "trusted": True}]
        if self.csat is not None:
            o = self.csat.overall
            rows += [{"metric": "csat", "value": o["csat"], "lower": o["lower"], "upper": o["upper"],
                      "n": o["responses"], "trusted": self.trusted.get("csat", False)},
                     {"metric": "mean_rating", "value": o["mean_rating"], "lower": o["mean_lower"],
                      "upper": o["mean_upper"], "n": o["responses"], "trusted": self.trusted.get("csat", False)}]
        if self.nps is not None:
            o = self.nps.overall
            rows.append({"metric": "nps", "value": o["nps"], "lower": o["lower"], "upper": o["upper"],
                         "n": o["responses"], "trusted": self.trusted.get("nps", False)})
        if self.recommend is not None:
            o = self.recommend.overall
            rows.append({"metric": "recommend_share", "value": o["recommend_share"], "lower": o["lower"],
                         "upper": o["upper"], "n": o["responses"], "trusted": self.trusted.get("recommend", False)})
        if self.sentiment is not None:
            rows.append({"metric": "negative_share", "value": self.sentiment["negative_share"], "lower": None,
                         "upper": None, "n": self.n_reviews, "trusted": self.trusted.get("sentiment", False)})
        if self.drivers is not None and self.drivers.late_gap and self.drivers.late_gap["mean_gap"] is not None:
            g = self.drivers.late_gap
            rows.append({"metric": "late_rating_gap", "value": g["mean_gap"], "lower": g["gap_lower"],
                         "upper": g["gap_upper"], "n": g["n_late"], "trusted": self.trusted.get("late", False)})
        if self.recovery is not None:
            rows.append({"metric": "recovery_customers", "value": float(self.recovery.table.height), "lower": None,
                         "upper": None, "n": self.recovery.table.height, "trusted": True})
        return pl.DataFrame(rows, schema={"metric": pl.String, "value": pl.Float64, "lower": pl.Float64,
                                          "upper": pl.Float64, "n": pl.Int64, "trusted": pl.Boolean})

    @property
    def dated(self) -> bool:
        """Whether the reviews had dates (else there is no trend, recovery list or outcomes: ``notes`` says so)."""
        return self.as_of is not None and all(key != "no_dates" for key, _ in self.notes)

    def top_aspects(self, top_n: int = 3) -> pl.DataFrame:
        """The ``top_n`` most complained-about aspects with their quotes: ``aspect``, ``complaint_share``, ``examples``."""
        if self.aspects is None:
            return pl.DataFrame(schema={"aspect": pl.String, "complaint_share": pl.Float64,
                                        "examples": pl.List(pl.String)})
        return self.aspects.summary.head(top_n).join(self.aspects.table.select("aspect", "examples"), on="aspect",
                                                     how="left").select("aspect", "complaint_share", "examples")

    def describe(self, language: Language = "en") -> list[str]:
        """The section's sentences in ``language``: figures, what drives them, what to do, what to distrust."""
        check_language(language)
        out = [t("reviews.voice.headline", language, reviews=f"{self.n_reviews:,}", as_of=f"{self.as_of:%Y-%m-%d}")
               if self.dated else t("reviews.voice.headline_undated", language, reviews=f"{self.n_reviews:,}")]
        for part in (self.csat, self.nps, self.recommend):
            if part is not None:
                out += part.describe(language)[:1]
        if self.sentiment is not None:
            key = "reviews.voice.model_fitted" if self.sentiment["source"] == "fitted" else "reviews.voice.model_pretrained"
            auc = self.sentiment["auc"]
            out.append(t(key, language, auc="n/a" if auc is None or math.isnan(auc) else f"{auc:.2f}",
                         negative=f"{self.sentiment['negative_share']:.0%}"))
        for part in (self.aspects, self.drivers, self.recovery, self.outcomes):
            if part is not None:
                out += part.describe(language)
        for key, fields in self.notes:
            out.append(t(f"reviews.note.{key}", language, **dict(fields)))
        distrusted = [k for k, ok in self.trusted.items() if not ok]
        if distrusted:
            out.append(t("reviews.voice.untrusted", language,
                         parts=", ".join(t(f"reviews.part.{k}", language) for k in distrusted)))
        return out

    def __repr__(self) -> str:
        bits = [f"{self.n_reviews:,} reviews" + (f" before {self.as_of:%Y-%m-%d}" if self.dated else ", undated")]
        if self.csat is not None:
            bits.append(f"CSAT {self.csat.overall['csat']:.0%}")
        if self.nps is not None:
            bits.append(f"NPS {self.nps.overall['nps']:+.0f}")
        if self.aspects is not None and self.aspects.top_complaint:
            bits.append(f"top complaint {self.aspects.top_complaint}")
        if self.drivers is not None and self.drivers.late_gap and self.drivers.late_gap["mean_gap"] is not None:
            bits.append(f"late delivery {self.drivers.late_gap['mean_gap']:+.2f} stars")
        if self.recovery is not None:
            bits.append(f"{self.recovery.table.height} to recover")
        return f"VoiceOfCustomer({'; '.join(bits)})"


def _note(key: str, **fields) -> tuple[str, tuple]:
    return key, tuple((k, str(v)) for k, v in fields.items())


def _trend(frame: pl.DataFrame, freq: str, answers: pl.DataFrame | None, level: float) -> pl.DataFrame:
    base = (frame.with_columns(period=pl.col("review_date").dt.truncate(freq).dt.date())
            .group_by("period").agg(pl.len().cast(pl.Int64).alias("reviews"),
                                    pl.col("negative").mean().alias("negative_share")))
    if "rating" in frame.columns and frame["rating"].null_count() < frame.height:
        c = csat(frame.filter(pl.col("rating").is_not_null()), freq=freq, level=level).table
        base = base.join(c.select("period", "mean_rating", pl.col("csat"), pl.col("lower").alias("csat_lower"),
                                  pl.col("upper").alias("csat_upper")), on="period", how="left")
    if answers is not None and answers.height:
        n = nps(answers, freq=freq, level=level).table
        base = base.join(n.select("period", pl.col("responses").alias("nps_answers"), "nps",
                                  pl.col("lower").alias("nps_lower"), pl.col("upper").alias("nps_upper")),
                         on="period", how="full", coalesce=True)
        base = base.with_columns(pl.col("reviews").fill_null(0), pl.col("nps_answers").fill_null(0))
    return base.sort("period")


def voice_of_customer(reviews: Frame, *, transactions: Frame | None = None, orders: Frame | None = None,
                      customers: Frame | None = None, segments: Frame | None = None, surveys: Frame | None = None,
                      as_of: DateLike | None = None, language: str = "auto", freq: str = "1mo",
                      within: str | dt.timedelta = "30d", model: SentimentModel | None = None,
                      level: float = 0.95) -> VoiceOfCustomer:
    """The voice of the customer: sentiment, CSAT/NPS trend, complaints with quotes, drivers, late delivery, recovery.

    Parameters
    ----------
    reviews
        Canonical reviews: ``customer_id``, ``review_date``, ``rating``;
        optional ``text``, ``order_id``, ``product_id``, ``nps_score``,
        ``recommended``. A review set without dates (or customer ids), such
        as a public corpus, gets what needs neither: sentiment, CSAT, the
        "would recommend" share, complaints and drivers; the trend, the
        recovery list and repurchase after reviews are left out, with a note.
    transactions
        Canonical transactions: value tiers for the recovery list,
        categories, repurchase after reviews, and delivery dates when its
        lines carry ``delivered_date``/``promised_date``.
    orders
        One row per order with ``order_id``, ``delivered_date``, ``promised_date``.
    customers
        ``region`` (and other attributes) of the customers.
    segments
        ``customer_id`` and ``segment``: your value tiers for the recovery list.
    surveys
        NPS answers (``customer_id``, ``survey_date``, ``nps_score``; ``order_id`` links them to deliveries).
    as_of
        The first instant not analysed (see :mod:`custlab._dates`); default:
        the midnight after the last review.
    language
        Language of the review texts: "auto" (per review), "en" or "zh".
    freq
        Period of the trend ("1mo").
    within
        Window of the recovery list ("30d").
    model
        A sentiment model to use instead of fitting one.

    Examples
    --------
    >>> from custlab.synthetic import make_shop
    >>> shop = make_shop(800, seed=2, months=12, voice=True)
    >>> voc = voice_of_customer(shop.reviews, transactions=shop.transactions, orders=shop.orders,
    ...                         customers=shop.customers, surveys=shop.surveys)
    >>> voc.aspects.top_complaint in {"quality", "logistics", "size", "service", "price"}
    True
    >>> voc.drivers.late_gap["mean_gap"] < 0
    True
    """
    if language not in ("auto", "en", "zh"):
        raise CustlabError(f"language must be 'auto', 'en' or 'zh' (the language of the review texts), got {language!r}.")
    check_freq(freq)
    frame = reviews_table(reviews)
    notes: list = []
    dated = "review_date" in frame.columns and frame["review_date"].null_count() < frame.height
    if dated:
        end = as_datetime(as_of) or as_of_after(frame["review_date"].max())
        if frame["review_date"].null_count():
            notes.append(_note("some_undated", reviews=f"{frame['review_date'].null_count():,}"))
        frame = frame.filter(pl.col("review_date") < end)
        if frame.height == 0:
            raise CustlabError(f"No review is dated before as_of={end:%Y-%m-%d}; nothing to analyse.")
    else:  # a corpus without dates: no trend, no recovery list, no repurchase after reviews
        end = as_datetime(as_of)  # still bounds the orders and surveys read beside the reviews
        notes.append(_note("no_dates"))
    trusted: dict[str, bool] = {}
    has_text = "text" in frame.columns and frame.select(clean_text(pl.col("text")).str.contains(r"\w").any()).item()
    has_rating = "rating" in frame.columns and frame["rating"].null_count() < frame.height
    if not has_text:
        notes.append(_note("no_text"))
    if not has_rating and not has_text:
        raise CustlabError("reviews have neither ratings nor texts; there is no voice to analyse.")

    sentiment = None
    if has_text:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ReviewsWarning)
            scorer = model if model is not None else SentimentModel(language).fit(frame) if has_rating \
                else SentimentModel.pretrained(language)
        for w in caught:
            if issubclass(w.category, ReviewsWarning):
                notes.append(_note("fallback"))
        frame = scorer.score(frame)
        trusted["sentiment"] = bool(scorer.reliable_)
        sentiment = {"source": scorer.source_, "auc": scorer.auc_, "accuracy": scorer.accuracy_,
                     "reliable": bool(scorer.reliable_), "reliability": scorer.reliability_}
    else:
        scorer = None
    frame, _ = negative_reviews(frame, language=language, model=scorer)
    if sentiment is not None:
        sentiment["negative_share"] = float(frame["negative"].mean())

    answers = None
    if surveys is not None:
        answers = surveys_table(surveys)
        if "survey_date" in answers.columns and end is not None:
            answers = answers.filter(pl.col("survey_date") < end)
    elif "nps_score" in frame.columns and frame["nps_score"].null_count() < frame.height:
        answers = frame.filter(pl.col("nps_score").is_not_null())
    trend = _trend(frame, check_freq(freq), answers, level) if dated else pl.DataFrame(
        schema={"period": pl.Date, "reviews": pl.Int64, "negative_share": pl.Float64})
    csat_r = csat(frame.filter(pl.col("rating").is_not_null()), level=level) if has_rating else None
    if csat_r is not None:
        trusted["csat"] = csat_r.overall["responses"] >= 50
    nps_r = nps(answers, level=level) if answers is not None and answers.height else None
    if nps_r is not None:
        trusted["nps"] = nps_r.overall["responses"] >= 50
    else:
        notes.append(_note("no_nps"))
    rec = None
    if "recommended" in frame.columns and frame["recommended"].null_count() < frame.height:
        rec = recommend_share(frame, level=level)
        trusted["recommend"] = rec.overall["responses"] >= 50

    asp = aspects(frame, language=language, model=scorer, level=level) if has_text else None
    if asp is not None:
        trusted["aspects"] = asp.trusted
    drv = None
    if has_rating:
        try:
            drv = drivers(frame, orders=orders, transactions=transactions, customers=customers, surveys=surveys,
                          language=language, level=level, as_of=end)
            trusted["drivers"] = drv.trusted
            if drv.late_gap is not None:
                trusted["late"] = min(drv.late_gap["n_late"], drv.late_gap["n_on_time"]) >= 30
            else:
                notes.append(_note("no_delivery"))
        except CustlabError as err:
            notes.append(_note("drivers_failed", reason=err))
    recovery = None
    if "customer_id" in frame.columns and dated:
        recovery = recovery_list(frame, transactions=transactions, customers=customers, segments=segments, as_of=end,
                                 within=within, model=scorer)
    outcomes = None
    if transactions is not None and "customer_id" in frame.columns and dated:
        try:
            outcomes = review_outcomes(frame, transactions, as_of=end, model=scorer, level=level)
            rates = {r["review"]: r["customers"] for r in outcomes.repurchase.iter_rows(named=True)}
            trusted["outcomes"] = min(rates.get("negative", 0), rates.get("positive", 0)) >= 30
        except CustlabError as err:
            notes.append(_note("outcomes_failed", reason=err))
    return VoiceOfCustomer(end, frame.height, trend, csat_r, nps_r, rec, sentiment, asp, drv, recovery, outcomes,
                           trusted, tuple(notes), frame)

