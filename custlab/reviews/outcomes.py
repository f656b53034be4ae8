"""What customers do after a review: repurchase and churn hazard after a negative against a positive review.

Each reviewing customer is followed from their **first** review (dated
before ``as_of``), grouped by its verdict: negative (rating <= 2, or the
text's sentiment for unrated reviews), neutral (3 stars) or positive.

* **Repurchase**: the share who order again within ``within`` after the
  review, among customers whose window ends before ``as_of`` (so everyone
  counted had the whole window to come back), with Wilson intervals, and
  the difference negative minus positive with a normal interval.
* **Churn hazard**: a Cox model (:class:`custlab.churn.CoxChurnModel`) of
  the days from the review to churn -- the churn module's definition: the
  last purchase day plus ``inactivity_days`` of silence, censored at
  ``as_of`` -- with the review's verdict as the covariate (reference:
  positive). A hazard ratio above 1 means customers leave sooner after a
  negative review.

These are associations: customers who write negative reviews may differ
in other ways too.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import polars as pl

from custlab._dates import as_datetime, as_of_after, parse_within
from custlab._i18n import check_language, t
from custlab._types import DateLike, Frame, Language
from custlab.exceptions import CustlabError
from custlab.reviews._frames import check_level, reviews_table, wilson
from custlab.reviews.aspects import negative_reviews

__all__ = ["ReviewOutcomes", "review_outcomes"]


@dataclass(frozen=True)
class ReviewOutcomes:
    """Repurchase and churn after negative and positive reviews (:func:`review_outcomes`).

    Attributes
    ----------
    repurchase : pl.DataFrame
        ``review`` (negative / neutral / positive), ``customers`` (whose
        window is observed), ``repurchased``, ``repurchase_rate``, ``lower``, ``upper``.
    difference : dict
        ``negative_minus_positive`` with ``lower``, ``upper`` (rate points as shares; None without
        observed customers of both kinds).
    hazard_ratios : pl.DataFrame or None
        The Cox model's ``term``, ``hazard_ratio``, ``lower``, ``upper``,
        ``p_value``; None when it could not be fitted (``cox_note`` says why).
    cox_note : str or None
    customers : pl.DataFrame
        One row per reviewing customer: ``customer_id``, ``review_date``,
        ``review``, ``observed`` (Boolean), ``repurchased`` (Boolean),
        ``duration_days``, ``churned``.
    within : datetime.timedelta
    as_of : datetime.datetime
    """

    repurchase: pl.DataFrame
    difference: dict
    hazard_ratios: pl.DataFrame | None
    cox_note: str | None
    customers: pl.DataFrame
    within: dt.timedelta
    as_of: dt.datetime

    def to_frame(self) -> pl.DataFrame:
        return self.repurchase

    @property
    def summary(self) -> pl.DataFrame:
        return self.repurchase.select("review", "customers", "repurchase_rate", "lower", "upper")

    def describe(self, language: Language = "en") -> list[str]:
        check_language(language)
        rates = {r["review"]: r for r in self.repurchase.iter_rows(named=True)}
        out = []
        if {"negative", "positive"} <= set(rates) and min(rates["negative"]["customers"],
                                                            rates["positive"]["customers"]) > 0:
            out.append(t("reviews.outcomes.repurchase", language, days=self.within.days,
                         negative=f"{rates['negative']['repurchase_rate']:.0%}",
                         positive=f"{rates['positive']['repurchase_rate']:.0%}",
                         n_negative=f"{rates['negative']['customers']:,}",
                         n_positive=f"{rates['positive']['customers']:,}"))
        if self.hazard_ratios is not None:
            row = self.hazard_ratios.filter(pl.col("term") == "review=negative")
            if row.height:
                r = row.row(0, named=True)
                out.append(t("reviews.outcomes.hazard", language, hr=f"{r['hazard_ratio']:.2f}",
                             lower=f"{r['lower']:.2f}", upper=f"{r['upper']:.2f}"))
        return out

    def __repr__(self) -> str:
        d = self.difference
        gap = "n/a" if d["negative_minus_positive"] is None else f"{d['negative_minus_positive']:+.1%}"
        return (f"ReviewOutcomes({self.customers.height:,} reviewing customers; repurchase within "
                f"{self.within.days} days, negative minus positive: {gap})")


def review_outcomes(reviews: Frame, transactions: Frame, *, as_of: DateLike | None = None,
                    within: str | dt.timedelta = "90d", inactivity_days: int = 90, negative_max: float = 2,
                    model=None, level: float = 0.95) -> ReviewOutcomes:
    """Repurchase rate and churn hazard after a customer's first review, negative against positive.

    Parameters
    ----------
    reviews
        ``customer_id``, ``review_date`` and ``rating`` and/or ``text``.
    transactions
        Canonical transactions (``customer_id``, ``order_date``).
    as_of
        The first instant that is not history (see :mod:`custlab._dates`);
        default: the midnight after the last order.
    within
        Repurchase window after the review ("90d").
    inactivity_days
        Days of silence that make a customer churned (the churn module's W).
    """
    from scipy import stats  # lazily: scipy.stats costs ~1 s to import
    level = check_level(level)
    window = parse_within(within)
    frame = reviews_table(reviews, need=["customer_id", "review_date"])
    if "rating" not in frame.columns and "text" not in frame.columns:
        raise CustlabError("reviews need a rating or a text to tell negative from positive reviews.")
    tx = transactions.lazy().select("customer_id", "order_date").collect()
    end = as_datetime(as_of) or as_of_after(tx["order_date"].max())
    frame = frame.filter(pl.col("review_date") < end)
    if frame.height == 0:
        raise CustlabError(f"No review is dated before as_of={end:%Y-%m-%d}.")
    if "rating" not in frame.columns:
        frame = frame.with_columns(rating=pl.lit(None, dtype=pl.Float64))
    frame, _ = negative_reviews(frame, negative_max=negative_max, model=model)
    verdict = (pl.when(pl.col("negative")).then(pl.lit("negative"))
               .when(pl.col("rating").is_not_null() & (pl.col("rating") < 4)).then(pl.lit("neutral"))
               .otherwise(pl.lit("positive")))
    first = (frame.sort("review_date").group_by("customer_id", maintain_order=True)
             .agg(pl.col("review_date").first(), verdict.first().alias("review")))
    tx = tx.filter(pl.col("order_date") < end).with_columns(pl.col("customer_id").cast(first.schema["customer_id"]))
    joined = first.join(tx, on="customer_id", how="left")
    day_end = end.date() if end.time() != dt.time() else end.date()
    per = joined.group_by("customer_id", maintain_order=True).agg(
        pl.col("review_date").first(), pl.col("review").first(),
        ((pl.col("order_date") > pl.col("review_date")) & (pl.col("order_date") <= pl.col("review_date") + window))
        .any().alias("repurchased"),
        pl.col("order_date").max().alias("last_order"),
    ).with_columns(observed=pl.col("review_date") + window <= end)
    w = int(inactivity_days)
    churn_day = pl.col("last_order").dt.date() + pl.duration(days=w)
    per = per.with_columns(churned=churn_day <= pl.lit(day_end)).with_columns(
        duration_days=(pl.when(pl.col("churned")).then(churn_day).otherwise(pl.lit(day_end))
                       - pl.col("review_date").dt.date()).dt.total_days())
    rows = []
    for group in ("negative", "neutral", "positive"):
        part = per.filter(pl.col("observed") & (pl.col("review") == group))
        n, k = part.height, int(part["repurchased"].sum())
        lo, hi = wilson(k, n, level)
        rows.append({"review": group, "customers": n, "repurchased": k, "repurchase_rate": k / n if n else None,
                     "lower": float(lo) if n else None, "upper": float(hi) if n else None})
    table = pl.DataFrame(rows, schema_overrides={"repurchase_rate": pl.Float64, "lower": pl.Float64,
                                                 "upper": pl.Float64}).filter(pl.col("customers") > 0)
    diff = {"negative_minus_positive": None, "lower": None, "upper": None}  # None, never NaN, without both kinds
    rates = {r["review"]: r for r in rows}
    if rates["negative"]["customers"] and rates["positive"]["customers"]:
        a, b = rates["negative"], rates["positive"]
        pa, pb = a["repurchase_rate"], b["repurchase_rate"]
        se = math.sqrt(pa * (1 - pa) / a["customers"] + pb * (1 - pb) / b["customers"])
        z = stats.norm.ppf(0.5 + level / 2)
        diff = {"negative_minus_positive": pa - pb, "lower": pa - pb - z * se, "upper": pa - pb + z * se}
    hazard, note = _cox(per, level)
    return ReviewOutcomes(table, diff, hazard, note, per.drop("last_order"), window, end)


def _cox(per: pl.DataFrame, level: float) -> tuple[pl.DataFrame | None, str | None]:
    from custlab.churn import CoxChurnModel, CoxFitError

    data = per.filter(pl.col("duration_days") > 0).select("customer_id", "duration_days", "churned", "review")
    if data["review"].n_unique() < 2 or not data["churned"].any():
        return None, "needs reviews of both kinds and at least one churned customer"
    if "positive" not in set(data["review"].to_list()):
        return None, "no positive review to compare with"
    try:
        model = CoxChurnModel(covariates=["review"], reference={"review": "positive"}, test_size=0,
                              alpha=1 - level, min_customers_per_level=1).fit(data)
    except (CoxFitError, CustlabError) as err:
        return None, str(err)
    hr = model.hazard_ratios_.select("term", "hazard_ratio", "lower", "upper", "p_value")
    return hr, None if model.reliable_ else model.reliability_


