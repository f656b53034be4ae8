"""What lowers ratings and NPS: aspect and operational drivers with intervals, late against on-time delivery, where.

:func:`drivers` answers three questions:

1. **Which aspects lower the rating, and by how much?** An ordinary least
   squares regression of the rating (or ``nps_score``) on one indicator per
   aspect the review mentions (:func:`custlab.reviews.aspects.tag_aspects`)
   and, when delivery dates are known, on late delivery; each coefficient
   is the average difference in stars holding the others fixed, with a
   heteroscedasticity-robust (HC1) t interval. Aspects mentioned in fewer
   than ``min_mentions`` reviews are left out.
2. **What does late delivery cost?** The reviews of late orders against
   those of on-time orders (late: delivered on a later calendar day than
   promised, :func:`custlab.reviews._frames.orders_table`): mean rating of
   each with t intervals, the gap with a Welch interval, the share of 1-2
   star reviews of each (Wilson) and their difference; with a survey, the
   NPS after late and after on-time orders.
3. **Where?** Complaint shares by region x aspect and category x aspect
   (among negative reviews, Wilson intervals), and the late share by region.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from custlab._dates import as_datetime
from custlab._i18n import check_language, t
from custlab._types import DateLike, Frame, Language
from custlab.exceptions import CustlabError, SchemaError
from custlab.reviews._frames import check_level, mean_interval, orders_table, reviews_table, surveys_table, wilson
from custlab.reviews.aspects import ASPECTS, tag_aspects
from custlab.reviews.nps import SurveyResult, nps

__all__ = ["Drivers", "drivers", "late_delivery_effect", "ols_hc1"]


def ols_hc1(x: np.ndarray, y: np.ndarray, level: float = 0.95) -> pl.DataFrame:
    """OLS coefficients with HC1 standard errors and t intervals: ``estimate``, ``se``, ``lower``, ``upper``, ``p_value``.

    ``x`` must hold the intercept column itself.

    >>> rng = np.random.default_rng(0)
    >>> x = np.column_stack([np.ones(400), rng.random(400) < 0.3])
    >>> y = 4.0 - 1.0 * x[:, 1] + rng.normal(0, 0.5, 400)
    >>> ols_hc1(x, y)["estimate"].round(1).to_list()
    [4.0, -1.0]
    """
    from scipy import stats  # lazily: scipy.stats costs ~1 s to import
    n, k = x.shape
    xtx_inv = np.linalg.pinv(x.T @ x)
    beta = xtx_inv @ x.T @ y
    resid = y - x @ beta
    meat = (x * resid[:, None] ** 2).T @ x
    cov = xtx_inv @ meat @ xtx_inv * (n / max(n - k, 1))
    se = np.sqrt(np.maximum(np.diag(cov), 0.0))
    df = max(n - k, 1)
    tq = stats.t.ppf(0.5 + level / 2, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(se > 0, 2 * stats.t.sf(np.abs(beta / se), df), np.nan)
    return pl.DataFrame({"estimate": beta, "se": se, "lower": beta - tq * se, "upper": beta + tq * se,
                         "p_value": p}).fill_nan(None)


def late_delivery_effect(frame: pl.DataFrame, *, target: str = "rating", level: float = 0.95) -> tuple[pl.DataFrame, dict]:
    """Reviews of late against on-time orders: a table per group and the gap (late minus on time) with intervals.

    ``frame`` needs ``late`` (Boolean; null rows are left out) and ``target``.
    Returns (table, gap) with table columns ``delivery`` ("on_time", "late"),
    ``reviews``, ``mean``, ``mean_lower``, ``mean_upper``, ``negative_share``,
    ``lower``, ``upper``, and gap keys ``mean_gap``, ``gap_lower``,
    ``gap_upper``, ``p_value`` (Welch t test), ``negative_gap``,
    ``negative_gap_lower``, ``negative_gap_upper``, ``n_late``, ``n_on_time``;
    a figure that cannot be computed (fewer than two reviews on a side) is None.
    """
    from scipy import stats  # lazily: scipy.stats costs ~1 s to import
    data = frame.filter(pl.col("late").is_not_null() & pl.col(target).is_not_null())
    negative_max = 2 if target == "rating" else 6
    rows, samples = [], {}
    for name, flag in (("on_time", False), ("late", True)):
        y = data.filter(pl.col("late") == flag)[target].to_numpy().astype(float)
        samples[name] = y
        mean, lo, hi = mean_interval(y, level)
        neg = int((y <= negative_max).sum())
        nlo, nhi = wilson(neg, y.size, level)
        rows.append({"delivery": name, "reviews": int(y.size), "mean": mean, "mean_lower": lo, "mean_upper": hi,
                     "negative_share": neg / y.size if y.size else math.nan, "lower": float(nlo), "upper": float(nhi)})
    table = pl.DataFrame(rows).fill_nan(None)
    a, b = samples["late"], samples["on_time"]
    # a figure that cannot be computed (fewer than two reviews on a side) is None, never NaN
    gap = {"n_late": int(a.size), "n_on_time": int(b.size), "mean_gap": None, "gap_lower": None,
           "gap_upper": None, "p_value": None, "negative_gap": None, "negative_gap_lower": None,
           "negative_gap_upper": None}
    if a.size >= 2 and b.size >= 2:
        va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
        se = math.sqrt(va + vb)
        df = (va + vb) ** 2 / ((va**2 / (a.size - 1)) + (vb**2 / (b.size - 1))) if se > 0 else 1.0
        diff = float(a.mean() - b.mean())
        tq = stats.t.ppf(0.5 + level / 2, df)
        pa, pb = (a <= negative_max).mean(), (b <= negative_max).mean()
        sp = math.sqrt(pa * (1 - pa) / a.size + pb * (1 - pb) / b.size)
        z = stats.norm.ppf(0.5 + level / 2)
        gap.update(mean_gap=diff, gap_lower=float(diff - tq * se), gap_upper=float(diff + tq * se),
                   p_value=float(2 * stats.t.sf(abs(diff / se), df)) if se > 0 else None,
                   negative_gap=float(pa - pb), negative_gap_lower=float(pa - pb - z * sp),
                   negative_gap_upper=float(pa - pb + z * sp))
    return table, gap


def _share_table(negative: pl.DataFrame, group: str, aspects: Sequence[str], level: float) -> pl.DataFrame:
    """Complaint share of each aspect among the negative reviews of each ``group`` value."""
    rows = []
    for key, part in negative.group_by(group, maintain_order=True):
        n = part.height
        for aspect in aspects:
            k = part.filter(pl.col("aspects").list.contains(aspect)).height
            lo, hi = wilson(k, n, level)
            rows.append({group: key[0], "aspect": aspect, "negative_reviews": n, "complaints": k,
                         "complaint_share": k / n, "lower": float(lo), "upper": float(hi)})
    if not rows:
        return pl.DataFrame(schema={group: pl.String, "aspect": pl.String, "negative_reviews": pl.Int64,
                                    "complaints": pl.Int64, "complaint_share": pl.Float64, "lower": pl.Float64,
                                    "upper": pl.Float64})
    return pl.DataFrame(rows).sort([group, "complaint_share"], descending=[False, True])


@dataclass(frozen=True)
class Drivers:
    """What lowers the rating (or NPS): :func:`drivers`.

    Attributes
    ----------
    effects : pl.DataFrame
        The regression: ``term`` (aspect name or "late_delivery"), ``kind``
        ("aspect"/"operational"), ``estimate`` (stars, or NPS scale points),
        ``lower``, ``upper``, ``p_value``, ``reviews_with`` (reviews where
        the term holds), ``mean_with``, ``mean_without``; most harmful first.
    late : pl.DataFrame or None
        Late against on-time (:func:`late_delivery_effect`); None without delivery dates.
    late_gap : dict or None
        The gap, late minus on time (keys in :func:`late_delivery_effect`; None values where it cannot be computed).
    nps_by_delivery : SurveyResult or None
        NPS after late and after on-time orders, when a survey with order ids was given.
    by_region, by_category : pl.DataFrame or None
        Complaint shares among negative reviews by region x aspect and category x aspect.
    late_by_region : pl.DataFrame or None
        ``region``, ``orders`` (delivered), ``late``, ``late_share``, ``lower``, ``upper``.
    target : str
    n : int
        Reviews in the regression.
    r2 : float
    level : float
    """

    effects: pl.DataFrame
    late: pl.DataFrame | None
    late_gap: dict | None
    nps_by_delivery: SurveyResult | None
    by_region: pl.DataFrame | None
    by_category: pl.DataFrame | None
    late_by_region: pl.DataFrame | None
    target: str
    n: int
    r2: float
    level: float = 0.95

    def to_frame(self) -> pl.DataFrame:
        return self.effects

    @property
    def summary(self) -> pl.DataFrame:
        """The terms whose interval lies below zero (they lower the target), most harmful first."""
        return self.effects.filter(pl.col("upper") < 0).select("term", "kind", "estimate", "lower", "upper")

    @property
    def trusted(self) -> bool:
        return self.n >= 100

    def describe(self, language: Language = "en") -> list[str]:
        check_language(language)
        unit = t(f"reviews.drivers.unit_{'stars' if self.target == 'rating' else 'points'}", language)
        out = []
        for row in self.summary.head(3).iter_rows(named=True):
            key = "reviews.drivers.sentence_late" if row["term"] == "late_delivery" else "reviews.drivers.sentence"
            name = t(f"reviews.aspect.{row['term']}", language) if row["term"] in ASPECTS else row["term"]
            out.append(t(key, language, term=name, effect=f"{-row['estimate']:.2f}",
                         lower=f"{-row['upper']:.2f}", upper=f"{-row['lower']:.2f}", unit=unit))
        g = self.late_gap
        if g and g["mean_gap"] is not None and self.late is not None:
            on, late = self.late.row(0, named=True), self.late.row(1, named=True)
            out.append(t("reviews.drivers.late", language, n_late=f"{g['n_late']:,}", late=f"{late['mean']:.2f}",
                         on_time=f"{on['mean']:.2f}", gap=f"{g['mean_gap']:+.2f}", lower=f"{g['gap_lower']:+.2f}",
                         upper=f"{g['gap_upper']:+.2f}", neg_late=f"{late['negative_share']:.0%}",
                         neg_on=f"{on['negative_share']:.0%}"))
        if self.nps_by_delivery is not None and self.nps_by_delivery.table.height == 2:
            rows = {r["delivery"]: r for r in self.nps_by_delivery.table.iter_rows(named=True)}
            if {"late", "on_time"} <= set(rows):
                out.append(t("reviews.drivers.nps_late", language, late=f"{rows['late']['nps']:+.0f}",
                             on_time=f"{rows['on_time']['nps']:+.0f}"))
        if not self.trusted:
            out.append(t("reviews.drivers.few", language, n=f"{self.n:,}"))
        return out

    def __repr__(self) -> str:
        top = ", ".join(f"{r['term']} {r['estimate']:+.2f}" for r in self.summary.head(3).iter_rows(named=True))
        late = (f"; late delivery gap {self.late_gap['mean_gap']:+.2f}"
                if self.late_gap and self.late_gap["mean_gap"] is not None else "")
        return f"Drivers({self.target} of {self.n:,} reviews, R2 {self.r2:.2f}; lowered by: {top or 'nothing clear'}{late})"


def _categories(transactions: Frame | None) -> pl.DataFrame | None:
    if transactions is None:
        return None
    names = transactions.collect_schema().names()
    if not {"product_id", "category"} <= set(names):
        return None
    return (transactions.lazy().select("product_id", "category").drop_nulls()
            .group_by("product_id").agg(pl.col("category").first()).collect())


def drivers(reviews: Frame, *, orders: Frame | None = None, transactions: Frame | None = None,
            customers: Frame | None = None, surveys: Frame | None = None, target: str = "rating",
            lexicon: Mapping | None = None, language: str = "auto", min_mentions: int = 10,
            level: float = 0.95, as_of: DateLike | None = None) -> Drivers:
    """Which aspects and operational facts lower the rating (or ``nps_score``), by how much, and where.

    Parameters
    ----------
    reviews
        Reviews with ``rating`` (or ``nps_score``) and, for aspects,
        ``text``; ``order_id`` to join delivery dates; ``customer_id`` to
        join regions; ``product_id`` (or ``category``) for categories.
    orders
        One row per order with ``order_id``, ``delivered_date``,
        ``promised_date`` (or pass ``transactions`` carrying them).
    transactions
        Canonical transactions: delivery dates when they carry them, and
        ``product_id`` -> ``category`` for the category table.
    customers
        With ``region``: the region tables.
    surveys
        NPS answers with ``order_id``: NPS after late and on-time orders.
    target
        "rating" (default) or "nps_score".
    min_mentions
        Aspects mentioned in fewer reviews (or in all but fewer) are left out of the regression.
    as_of
        First instant not known yet (as in :func:`custlab.reviews.voice_of_customer`): reviews and survey answers
        dated from then on are left out, orders placed from then on too, and a delivery made from then on counts
        as not delivered yet (``late`` unknown). Default: everything given.

    Examples
    --------
    >>> import datetime as dt
    >>> d = dt.datetime(2024, 1, 10)
    >>> rv = pl.DataFrame({"order_id": [1, 2, 3, 4], "rating": [5, 4, 2, 1],
    ...                    "text": ["good", "ok", "arrived late", "late and too small"]})
    >>> od = pl.DataFrame({"order_id": [1, 2, 3, 4], "promised_date": [d] * 4,
    ...                    "delivered_date": [d, d, d + dt.timedelta(days=2), d + dt.timedelta(days=3)]})
    >>> r = drivers(rv, orders=od, min_mentions=1)
    >>> r.late_gap["mean_gap"]
    -3.0
    """
    level = check_level(level)
    if target not in ("rating", "nps_score"):
        raise CustlabError(f"target must be 'rating' or 'nps_score', got {target!r}.")
    frame = reviews_table(reviews, need=[target])
    end = as_datetime(as_of, "as_of")
    if end is not None and "review_date" in frame.columns:
        frame = frame.filter(pl.col("review_date") < end)
    has_text = "text" in frame.columns
    if has_text:
        frame = tag_aspects(frame, lexicon=lexicon, language=language)
    delivery = orders_table(orders, transactions)
    if delivery is not None and end is not None:
        if "order_date" in delivery.columns:
            delivery = delivery.filter(pl.col("order_date").is_null() | (pl.col("order_date") < end))
        delivery = delivery.with_columns(  # delivered after as_of: not known then
            [pl.when(pl.col("delivered_date") < end).then(pl.col(c)) for c in ("late", "days_late")])
    if delivery is not None:
        if "order_id" not in frame.columns:
            raise SchemaError("Delivery dates are given but the reviews have no order_id to join them on.")
        frame = frame.join(delivery.select("order_id", "late", "days_late").with_columns(
            pl.col("order_id").cast(frame.schema["order_id"])), on="order_id", how="left")
    data = frame.filter(pl.col(target).is_not_null())
    if delivery is not None:
        data = data.filter(pl.col("late").is_not_null())
    if data.height < 3:
        raise CustlabError(f"Only {data.height} reviews with a {target} (and a delivery outcome) to explain.")
    y = data[target].to_numpy().astype(float)
    columns: dict[str, tuple[str, np.ndarray]] = {}
    if has_text:
        for aspect in dict.fromkeys(a for lst in data["aspects"].to_list() for a in lst):
            x = data["aspects"].list.contains(aspect).to_numpy()
            if min_mentions <= x.sum() <= data.height - min_mentions:
                columns[aspect] = ("aspect", x.astype(float))
    if delivery is not None:
        x = data["late"].to_numpy().astype(float)
        if 0 < x.sum() < data.height:
            columns["late_delivery"] = ("operational", x)
    design = np.column_stack([np.ones(data.height)] + [v for _, v in columns.values()])
    fit = ols_hc1(design, y, level)
    resid = y - design @ fit["estimate"].to_numpy()
    r2 = float(1 - resid.var() / y.var()) if y.var() > 0 else 0.0
    effects = fit.slice(1).with_columns(
        term=pl.Series(list(columns), dtype=pl.String), kind=pl.Series([k for k, _ in columns.values()], dtype=pl.String),
        reviews_with=pl.Series([int(v.sum()) for _, v in columns.values()], dtype=pl.Int64),
        mean_with=pl.Series([float(y[v == 1].mean()) for _, v in columns.values()], dtype=pl.Float64),
        mean_without=pl.Series([float(y[v == 0].mean()) for _, v in columns.values()], dtype=pl.Float64),
    ).select("term", "kind", "estimate", "lower", "upper", "p_value", "reviews_with", "mean_with", "mean_without")
    effects = effects.sort("estimate")

    late_table = late_gap = nps_delivery = late_regions = None
    if delivery is not None:
        late_table, late_gap = late_delivery_effect(frame, target=target, level=level)
        if surveys is not None:
            sv = surveys.lazy().collect() if isinstance(surveys, pl.LazyFrame) else surveys
            if end is not None and "survey_date" in sv.columns:
                sv = surveys_table(sv).filter(pl.col("survey_date") < end)
            if "order_id" in sv.columns:
                sv = sv.join(delivery.select("order_id", "late").with_columns(
                    pl.col("order_id").cast(sv.schema["order_id"])), on="order_id", how="inner").filter(
                    pl.col("late").is_not_null()).with_columns(
                    delivery=pl.when(pl.col("late")).then(pl.lit("late")).otherwise(pl.lit("on_time")))
                if sv.height:
                    nps_delivery = nps(sv, by="delivery", level=level)

    by_region = by_category = None
    negative_max = 2 if target == "rating" else 6
    negative = data.filter(pl.col(target) <= negative_max) if has_text else None
    region_of = None
    if customers is not None:
        cust = customers.lazy().collect() if isinstance(customers, pl.LazyFrame) else customers
        if {"customer_id", "region"} <= set(cust.columns):
            region_of = cust.select("customer_id", pl.col("region").cast(pl.String)).unique("customer_id")
    if region_of is not None and negative is not None and "customer_id" in negative.columns:
        neg = negative.join(region_of.with_columns(pl.col("customer_id").cast(negative.schema["customer_id"])),
                            on="customer_id", how="left").with_columns(pl.col("region").fill_null("(missing)"))
        by_region = _share_table(neg, "region", _present(neg), level)
    if region_of is not None and delivery is not None and "customer_id" in delivery.columns:
        dl = delivery.filter(pl.col("late").is_not_null()).join(
            region_of.with_columns(pl.col("customer_id").cast(delivery.schema["customer_id"])), on="customer_id",
            how="left").with_columns(pl.col("region").fill_null("(missing)"))
        agg = dl.group_by("region").agg(pl.len().cast(pl.Int64).alias("orders"), pl.col("late").sum().cast(pl.Int64))
        lo, hi = wilson(agg["late"].to_numpy(), agg["orders"].to_numpy(), level)
        late_regions = agg.with_columns((pl.col("late") / pl.col("orders")).alias("late_share"),
                                        pl.Series("lower", lo), pl.Series("upper", hi)).sort("late_share", descending=True)
    if negative is not None:
        cats = _categories(transactions)
        if "category" in negative.columns:
            neg = negative.with_columns(pl.col("category").cast(pl.String).fill_null("(missing)"))
        elif cats is not None and "product_id" in negative.columns:
            neg = negative.join(cats.with_columns(pl.col("product_id").cast(negative.schema["product_id"])),
                                on="product_id", how="left").with_columns(pl.col("category").fill_null("(missing)"))
        else:
            neg = None
        if neg is not None:
            by_category = _share_table(neg, "category", _present(neg), level)
    return Drivers(effects, late_table, late_gap, nps_delivery, by_region, by_category, late_regions, target,
                   int(data.height), r2, level)


def _present(frame: pl.DataFrame) -> list[str]:
    seen = dict.fromkeys(a for lst in frame["aspects"].to_list() for a in lst)
    return [a for a in dict.fromkeys((*ASPECTS, *seen)) if a in seen]
