"""Repurchase: the time from each purchase to the next, its Cox model, cycles and reminders.

:func:`repurchase_frame` has one row per customer and purchase day with the
days to the next purchase day (the last one censored at ``as_of``, the first
instant that is not history; see :mod:`custlab._dates`).
:class:`RepurchaseModel` is a Cox model of those gaps, the engine of the
early-warning list (:func:`custlab.churn.early_warning`).
:func:`inter_purchase_times`, :func:`repurchase_cycles` and
:func:`next_purchase_due` describe the buying rhythm per category, product
or customer group and when to remind each customer.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from custlab._i18n import label as label_of
from custlab._i18n import t
from custlab._plotting import PALETTE, figure_axes, in_language_font
from custlab._types import DateLike, Frame, Language
from custlab.churn._common import (
    MISSING,
    ChurnDataWarning,
    _check_days,
    _collect,
    _from_day_number,
)
from custlab.churn._cox_base import _CoxBase
from custlab.churn.frames import AGE_BINS, _customer_base, _join_attributes, _prepare, _purchase_days
from custlab.data.schema import check_frame, require_columns
from custlab.exceptions import CustlabError, SchemaError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = [
    "DEFAULT_BY",
    "REPURCHASE_COVARIATES",
    "RepurchaseModel",
    "inter_purchase_times",
    "next_purchase_due",
    "plot_inter_purchase_times",
    "repurchase_cycles",
    "repurchase_frame",
]

#: Default grouping of :func:`repurchase_cycles` and :func:`next_purchase_due`; data without a ``category``
#: column (Online Retail) are grouped by ``product_id`` instead.
DEFAULT_BY = "category"
#: Covariates :class:`RepurchaseModel` uses by default, when the frame has them.
REPURCHASE_COVARIATES = (
    "purchase_number", "days_since_first", "order_value", "first_category", "first_channel",
    "acquisition_channel", "segment", "age_group", "gender", "region", "city_tier", "occupation",
)


def repurchase_frame(
    transactions: Frame,
    *,
    as_of: DateLike | None = None,
    customers: Frame | None = None, segments: Frame | None = None, segment_column: str = "segment",
    age_bins: Sequence[float] | None = AGE_BINS,
) -> pl.DataFrame:
    """One row per customer and purchase day, with the time to the next purchase day.

    The input of :class:`RepurchaseModel` and of the early-warning list. A
    purchase day is a calendar day with at least one order; several orders
    on one day are one purchase day. The last purchase day of each customer
    is censored at the analysis day ``D`` (the date of ``as_of``).

    Parameters
    ----------
    transactions, as_of, customers, segments, segment_column, age_bins
        As in :func:`survival_frame` (the same lines are left out and counted).

    Returns
    -------
    pl.DataFrame
        Sorted by ``customer_id``, ``purchase_date``: ``customer_id``;
        ``purchase_date`` (Date); ``purchase_number`` (Int64, 1 for the first
        purchase day); ``days_since_first`` (Int64); ``order_value`` (Float64,
        that day's ``amount``, added in whole millionths: the same bits in any
        line order); ``orders`` (Int64); ``repurchased`` (Boolean: a later
        purchase day exists); ``gap_days`` (Int64: days to the next purchase
        day, or for the last one the days since it at ``D``);
        ``first_category``/``first_channel`` when the transactions have them,
        then the columns joined from ``customers``/``segments``.

    Examples
    --------
    >>> import polars as pl, datetime as dt
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 1], "order_id": [1, 2, 3],
    ...     "order_date": [dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 1, 15), dt.datetime(2024, 1, 21)],
    ...     "amount": [10.0, 5.0, 8.0]})
    >>> repurchase_frame(tx, as_of="2024-02-01").select("purchase_number", "order_value", "repurchased", "gap_days")
    shape: (2, 4)
    ┌─────────────────┬─────────────┬─────────────┬──────────┐
    │ purchase_number ┆ order_value ┆ repurchased ┆ gap_days │
    │ ---             ┆ ---         ┆ ---         ┆ ---      │
    │ i64             ┆ f64         ┆ bool        ┆ i64      │
    ╞═════════════════╪═════════════╪═════════════╪══════════╡
    │ 1               ┆ 15.0        ┆ true        ┆ 20       │
    │ 2               ┆ 8.0         ┆ false       ┆ 11       │
    └─────────────────┴─────────────┴─────────────┴──────────┘
    """
    prep = _prepare(transactions, as_of, caller="repurchase_frame")
    days = _purchase_days(prep).select(
        "customer_id",
        _from_day_number(pl.col("_day")).alias("purchase_date"),
        "purchase_number", "days_since_first", "order_value", "orders", "repurchased", "gap_days",
    ).collect()
    base = _customer_base(prep, 1)
    extra = [c for c in ("first_category", "first_channel") if c in base.columns]
    attrs = _join_attributes(base.select("customer_id", *extra), customers, segments, segment_column, age_bins)
    return days.join(attrs, on="customer_id", how="left", maintain_order="left")


class RepurchaseModel(_CoxBase):
    """Cox model of the days from each purchase to the next; the engine of the early-warning list.

    Fitted on a repurchase frame (:func:`repurchase_frame`): one row per
    customer and purchase day, the event being the next purchase and the
    last purchase day of each customer censored at the analysis day. Hazard
    ratios above 1 mean a *faster* return (lower churn risk). Because a
    customer churns when a silence reaches W days, the probability that an
    active customer, silent for ``s`` days, churns is the probability that
    their current gap lasts at least W days given that it has lasted ``s``:
    ``S(W - 1/2 | x) / S(s - 1/2 | x)`` (gaps are whole days; a gap still
    open at ``as_of`` is known to be at least ``s`` days, so it is censored
    at ``s - 1/2``).

    Parameters
    ----------
    covariates
        Columns of the repurchase frame. Default: those of
        ``REPURCHASE_COVARIATES`` present: ``purchase_number`` (log),
        ``days_since_first`` (log1p) and ``order_value`` (log1p), which
        together describe how often and how much the customer has bought so
        far, and the customer attributes of :class:`CoxChurnModel`.
        Treatment of text, nulls, rare levels and constant columns as there.
    penalizer, test_size, seed, alpha, min_customers_per_level, max_levels, reference
        As in :class:`~custlab.churn.CoxChurnModel` (the held-out split is by
        customer, and levels are counted in training customers, not rows, so
        a shop with hundreds of categories fits: levels held by few customers
        are merged into "(other)").

    Raises
    ------
    custlab.churn.CoxFitError
        When the model cannot be fitted (no repeat purchase at all, no
        convergence, ...); ``retry_with`` holds the arguments that fix it.

    Attributes
    ----------
    Those of :class:`CoxChurnModel`, for the time to the next purchase.

    Examples
    --------
    >>> import polars as pl, datetime as dt, numpy as np
    >>> rng = np.random.default_rng(0)
    >>> rows = []
    >>> for c in range(300):
    ...     day, n = dt.datetime(2024, 1, 1) + dt.timedelta(days=int(rng.integers(0, 60))), int(rng.integers(1, 6))
    ...     for k in range(n):
    ...         rows.append((c, f"{c}-{k}", day, float(rng.integers(10, 100))))
    ...         day += dt.timedelta(days=int(rng.integers(5, 40)))
    >>> tx = pl.DataFrame(rows, schema=["customer_id", "order_id", "order_date", "amount"], orient="row")
    >>> gaps = repurchase_frame(tx)
    >>> model = RepurchaseModel(seed=0).fit(gaps)
    >>> model.covariates_
    ['purchase_number', 'days_since_first', 'order_value']
    >>> risk = model.churn_risk(gaps, inactivity_days=90, within="30d")
    >>> risk.columns
    ['customer_id', 'last_purchase', 'days_since_last', 'days_to_churn', 'churn_date', 'p_churn', 'usual_gap_days', 'p_churn_within']
    >>> bool((risk["p_churn_within"] <= risk["p_churn"]).all())
    True
    """

    _duration = "gap_days"
    _event = "repurchased"
    _defaults = REPURCHASE_COVARIATES
    _kind = "repurchase frame"
    _event_words = "repurchase"
    _time_words = "since the last purchase"
    _supports_strata = False
    _no_event_fix = ("The repurchase model needs customers who bought on two different days; these data have "
                     "none before as_of.")

    def fit(self, frame: Frame) -> RepurchaseModel:
        """Fit on a repurchase frame (:func:`repurchase_frame`); returns self."""
        return self._fit(frame)

    def _durations(self, data: pl.DataFrame) -> np.ndarray:
        gap = data["gap_days"].cast(pl.Float64).to_numpy()
        done = data["repurchased"].to_numpy()
        return np.where(done, gap, np.maximum(gap - 0.5, 0.0))

    def survival(self, frame: Frame, days: Sequence[float] | np.ndarray) -> np.ndarray:
        """P(no purchase within ``days`` of each row's purchase day), shape (rows, len(days))."""
        self._check_fitted()
        data = _collect(frame)
        ph, _ = self._partial_hazard(data)
        return np.exp(-np.outer(ph, self._baseline(np.asarray(days, dtype=float))))

    def _baseline(self, t: np.ndarray) -> np.ndarray:
        base = self.lifelines_.baseline_cumulative_hazard_
        times, values = base.index.to_numpy(dtype=float), base.iloc[:, 0].to_numpy()
        idx = np.searchsorted(times, t, side="right") - 1
        return np.where(idx >= 0, values[np.clip(idx, 0, None)], 0.0)

    def churn_risk(
        self,
        frame: Frame,
        *,
        inactivity_days: int | str = 90,
        within: str | int | dt.timedelta | None = None,
    ) -> pl.DataFrame:
        """For each active customer: the probability that their current silence reaches W days.

        Active customers are those whose last purchase (the row of the
        repurchase frame with ``repurchased`` false) is fewer than W =
        ``inactivity_days`` days before the analysis day; customers already
        churned are not listed. A customer silent for ``s`` days churns
        (on ``churn_date``, always after ``as_of``) unless they buy before
        their silence reaches W, with probability
        ``S(W - 1/2 | x) / S(s - 1/2 | x)`` under the model.

        Parameters
        ----------
        frame
            The repurchase frame the model was fitted on (or one built the
            same way at another ``as_of``).
        inactivity_days
            W, as in :func:`~custlab.churn.survival_frame`.
        within
            A horizon ("30d"): adds ``p_churn_within``, the probability of
            churning within it (``p_churn`` when the churn date falls inside
            the horizon, else 0).

        Returns
        -------
        pl.DataFrame
            In the frame's order: ``customer_id``; ``last_purchase`` (Date);
            ``days_since_last`` (Int64, s); ``days_to_churn`` (Int64, W - s,
            at least 1); ``churn_date`` (Date); ``p_churn`` (Float64, null where
            a numeric covariate is null, counted in a warning);
            ``usual_gap_days`` (Float64, the median gap the model expects
            for this customer from their last purchase, null when most
            customers like them never buy again); ``p_churn_within`` with
            ``within``.
        """
        self._check_fitted()
        window = _check_days(inactivity_days, "inactivity_days")
        horizon = None if within is None else _check_days(within, "within")
        data = _collect(frame)
        require_columns(data, ["customer_id", "purchase_date", "gap_days", "repurchased"], table=self._kind,
                        purpose="for the churn risk")
        active = data.filter(~pl.col("repurchased") & (pl.col("gap_days") < window))
        if active.height == 0:
            raise self._error(
                f"no customer is active: every customer's last purchase is at least {window} days before the "
                f"analysis day",
                "Check as_of (the first instant that is not history) and inactivity_days.",
            )
        ph, notes = self._partial_hazard(active)
        if notes:
            warnings.warn("churn_risk: " + ", ".join(f"{n:,} rows with {why}" for why, n in notes.items())
                          + "; their probabilities are null.", ChurnDataWarning, stacklevel=2)
        s = active["gap_days"].to_numpy().astype(float)
        h_w = self._baseline(np.array([window - 0.5]))[0]
        h_s = self._baseline(s - 0.5)
        with np.errstate(invalid="ignore"):
            p_churn = np.exp(-(h_w - h_s) * ph)
        out = active.select(
            "customer_id",
            pl.col("purchase_date").alias("last_purchase"),
            pl.col("gap_days").alias("days_since_last"),
            (window - pl.col("gap_days")).alias("days_to_churn"),
            (pl.col("purchase_date") + pl.duration(days=window)).alias("churn_date"),
            p_churn=pl.Series(p_churn).fill_nan(None),
            usual_gap_days=pl.Series(self._median_gap(ph), dtype=pl.Float64).fill_nan(None),
        )
        if horizon is not None:
            out = out.with_columns(
                p_churn_within=pl.when(pl.col("days_to_churn") <= horizon).then(pl.col("p_churn"))
                .otherwise(pl.when(pl.col("p_churn").is_not_null()).then(0.0))
            )
        return out

    def _median_gap(self, ph: np.ndarray) -> np.ndarray:
        """Smallest baseline time t with S(t | x) <= 1/2, per partial hazard; nan when never reached."""
        base = self.lifelines_.baseline_cumulative_hazard_
        times, values = base.index.to_numpy(dtype=float), base.iloc[:, 0].to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            need = np.log(2.0) / ph
        idx = np.searchsorted(values, need, side="left")
        found = np.isfinite(need) & (idx < values.size)
        return np.where(found, np.ceil(times[np.clip(idx, 0, values.size - 1)]), np.nan)


# ---------------------------------------------------------------------------
# Repurchase cycles and reminders
# ---------------------------------------------------------------------------


def _keyed_days(
    prep, by: str | None, customers, segments, segment_column, age_bins,
) -> tuple[pl.DataFrame, str | None, bool]:
    """Distinct (customer_id, [by], _day) rows; whether ``by`` is a transactions column."""
    if by is None:
        days = prep.lines.select("customer_id", "_day").unique()
        return days.sort("customer_id", "_day").collect(), None, True
    if by in prep.names:
        days = prep.lines.select(
            "customer_id", pl.col(by).cast(pl.String).fill_null(MISSING), "_day"
        ).unique()
        return days.sort("customer_id", by, "_day").collect(), by, True
    base = _customer_base(prep, 1)
    extra = [c for c in ("first_category", "first_channel") if c in base.columns]
    attrs = _join_attributes(base.select("customer_id", *extra), customers, segments, segment_column, age_bins)
    if by not in attrs.columns:
        products = ' by="product_id" for the cycle of each product,' if "product_id" in prep.names else ""
        raise SchemaError(
            f"by={by!r} is neither a transactions column ({list(prep.names)}) nor a customer attribute "
            f"({attrs.columns[1:]}). Pass{products} by=None for one cycle over all purchases, another column of "
            f"the transactions, or customers= / segments= to group by customer attributes."
        )
    labels = attrs.select("customer_id", pl.col(by).cast(pl.String).fill_null(MISSING))
    days = prep.lines.select("customer_id", "_day").unique().collect().join(labels, on="customer_id", how="left")
    return days.select("customer_id", by, "_day").sort("customer_id", "_day"), by, False


def _default_by(transactions: Frame, by: str | None, customers: Frame | None, segments: Frame | None) -> str | None:
    """``by`` as given, except the default "category" when no table has that column: the product, ``product_id``."""
    if by != DEFAULT_BY or not isinstance(transactions, (pl.DataFrame, pl.LazyFrame)):
        return by
    tables = [t for t in (transactions, customers, segments) if isinstance(t, (pl.DataFrame, pl.LazyFrame))]
    if any(by in t.collect_schema().names() for t in tables):
        return by
    return "product_id" if "product_id" in transactions.collect_schema().names() else by


def _gaps(days: pl.DataFrame, key: str | None, product_level: bool) -> pl.DataFrame:
    part = ["customer_id", key] if key and product_level else ["customer_id"]
    return (
        days.with_columns(_next=pl.col("_day").shift(-1).over(part))
        .filter(pl.col("_next").is_not_null())
        .select(
            "customer_id", *([key] if key else []),
            _from_day_number(pl.col("_day")).alias("purchase_date"),
            _from_day_number(pl.col("_next")).alias("next_purchase_date"),
            (pl.col("_next") - pl.col("_day")).alias("gap_days"),
        )
    )


def inter_purchase_times(
    transactions: Frame,
    *,
    by: str | None = None,
    as_of: DateLike | None = None,
    customers: Frame | None = None, segments: Frame | None = None, segment_column: str = "segment",
    age_bins: Sequence[float] | None = AGE_BINS,
) -> pl.DataFrame:
    """Every completed gap between consecutive purchase days of a customer.

    Parameters
    ----------
    transactions, as_of, customers, segments, segment_column, age_bins
        As in :func:`survival_frame`.
    by
        None: gaps between a customer's purchase days. A transactions column
        (``category``, ``product_name``, ...): gaps between the days a
        customer bought that category or product (the repurchase cycle of
        the product). A customer attribute (a ``customers``/``segments``
        column, ``first_category``, ``age_group``, ...): gaps between
        purchase days, labelled with the customer's group. Null values form
        the group "(missing)".

    Returns
    -------
    pl.DataFrame
        ``customer_id``, the ``by`` column (String) when given,
        ``purchase_date``, ``next_purchase_date`` (Date), ``gap_days``
        (Int64, at least 1).

    Examples
    --------
    >>> import polars as pl, datetime as dt
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 1], "order_id": [1, 2, 3], "amount": [1.0, 1.0, 1.0],
    ...     "order_date": [dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 10), dt.datetime(2024, 1, 31)],
    ...     "category": ["cream", "food", "cream"]})
    >>> inter_purchase_times(tx, by="category")
    shape: (1, 5)
    ┌─────────────┬──────────┬───────────────┬────────────────────┬──────────┐
    │ customer_id ┆ category ┆ purchase_date ┆ next_purchase_date ┆ gap_days │
    │ ---         ┆ ---      ┆ ---           ┆ ---                ┆ ---      │
    │ i64         ┆ str      ┆ date          ┆ date               ┆ i64      │
    ╞═════════════╪══════════╪═══════════════╪════════════════════╪══════════╡
    │ 1           ┆ cream    ┆ 2024-01-01    ┆ 2024-01-31         ┆ 30       │
    └─────────────┴──────────┴───────────────┴────────────────────┴──────────┘
    """
    if not isinstance(transactions, (pl.DataFrame, pl.LazyFrame)):
        from custlab import engine as pushdown  # DuckDB, Spark...: aggregate where the data live

        if pushdown.accepts(transactions):
            return pushdown.inter_purchase_times(transactions, by=by, as_of=as_of, customers=customers, segments=segments,
                                                 segment_column=segment_column, age_bins=age_bins)
    prep = _prepare(transactions, as_of, caller="inter_purchase_times")
    days, key, product_level = _keyed_days(prep, by, customers, segments, segment_column, age_bins)
    return _gaps(days, key, product_level)


def repurchase_cycles(
    transactions: Frame,
    *,
    by: str | None = DEFAULT_BY,
    as_of: DateLike | None = None,
    customers: Frame | None = None, segments: Frame | None = None, segment_column: str = "segment",
    age_bins: Sequence[float] | None = AGE_BINS,
) -> pl.DataFrame:
    """Distribution of the days between repurchases, per category, product or customer group.

    Only completed gaps count (a customer who has not bought again has no
    gap yet): this is the rhythm of those who do come back; how many never
    do is in :func:`churn_threshold_table` and :func:`churn_diagnostics`.

    Parameters
    ----------
    transactions, by, as_of, customers, segments, segment_column, age_bins
        As in :func:`inter_purchase_times`; ``by=None`` gives one row for all
        purchases (group "all"). The default ``by="category"`` groups by
        ``product_id`` when neither the transactions nor ``customers`` /
        ``segments`` have a ``category`` column (Online Retail); the first
        column of the result says which.

    Returns
    -------
    pl.DataFrame
        One row per group, most gaps first: the ``by`` column (or ``group``);
        ``customers`` (Int64, customers with at least one gap); ``gaps``
        (Int64); ``median_days``, ``q1_days``, ``q3_days`` (Float64, quartiles
        with linear interpolation), ``mean_days`` (Float64).

    Examples
    --------
    >>> import polars as pl, datetime as dt
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 1, 2, 2], "order_id": [1, 2, 3, 4, 5],
    ...     "order_date": [dt.datetime(2024, 1, d) for d in (1, 21, 31, 2, 12)], "amount": [1.0] * 5,
    ...     "category": ["cream"] * 5})
    >>> repurchase_cycles(tx).select("category", "gaps", "median_days", "q1_days", "q3_days")
    shape: (1, 5)
    ┌──────────┬──────┬─────────────┬─────────┬─────────┐
    │ category ┆ gaps ┆ median_days ┆ q1_days ┆ q3_days │
    │ ---      ┆ ---  ┆ ---         ┆ ---     ┆ ---     │
    │ str      ┆ i64  ┆ f64         ┆ f64     ┆ f64     │
    ╞══════════╪══════╪═════════════╪═════════╪═════════╡
    │ cream    ┆ 3    ┆ 10.0        ┆ 10.0    ┆ 15.0    │
    └──────────┴──────┴─────────────┴─────────┴─────────┘
    """
    by = _default_by(transactions, by, customers, segments)
    gaps = inter_purchase_times(transactions, by=by, as_of=as_of, customers=customers, segments=segments,
                                segment_column=segment_column, age_bins=age_bins)
    key = by or "group"
    if by is None:
        gaps = gaps.with_columns(group=pl.lit("all"))
    return _cycle_table(gaps, key)


def _cycle_table(gaps: pl.DataFrame, key: str) -> pl.DataFrame:
    g = pl.col("gap_days").cast(pl.Float64)
    return (
        gaps.group_by(key)
        .agg(
            customers=pl.col("customer_id").n_unique().cast(pl.Int64),
            gaps=pl.len().cast(pl.Int64),
            median_days=g.median(),
            q1_days=g.quantile(0.25, "linear"),
            q3_days=g.quantile(0.75, "linear"),
            mean_days=g.mean(),
        )
        .sort(["gaps", key], descending=[True, False])
    )


def next_purchase_due(
    transactions: Frame,
    *,
    by: str | None = DEFAULT_BY,
    remind_days_before: int = 15,
    as_of: DateLike | None = None,
    min_own_gaps: int = 2,
    customers: Frame | None = None, segments: Frame | None = None, segment_column: str = "segment",
    age_bins: Sequence[float] | None = AGE_BINS,
    language: Language = "en",
) -> pl.DataFrame:
    """When each customer's next purchase is due, and when to send the reminder.

    The cycle of a customer (per ``by`` value when ``by`` is a transactions
    column: "the cream runs out after 25 days") is their own median gap when
    they have at least ``min_own_gaps`` completed gaps, otherwise the median
    gap of their group (:func:`repurchase_cycles`). The next purchase is
    due ``cycle`` days (rounded) after the last one; the reminder goes out
    ``remind_days_before`` days earlier.

    Parameters
    ----------
    transactions, by, as_of, customers, segments, segment_column, age_bins
        As in :func:`inter_purchase_times`. The default ``by="category"``
        groups by ``product_id`` when no table has a ``category`` column
        (as :func:`repurchase_cycles`); ``by=None``: one cycle per customer
        over all purchases.
    remind_days_before
        Days between the reminder and the due date (0 or more).
    min_own_gaps
        Completed gaps a customer needs for their own cycle to be used.
    language
        Status labels in English or Chinese.

    Returns
    -------
    pl.DataFrame
        Reminders to send now first (by due date), then upcoming ones (by
        reminder date), then overdue ones (most recently due first), then
        those without a cycle: ``customer_id``; the ``by`` column (String)
        when given; ``last_purchase`` (Date); ``own_gaps`` (Int64);
        ``cycle_days`` (Float64, null when neither the customer nor the group
        has a completed gap); ``cycle_source`` ("customer" or "group");
        ``due_date``, ``remind_date`` (Date); ``days_until_due`` (Int64,
        negative when overdue, from the analysis day); ``status``: "upcoming"
        (the reminder date is later), "remind now" (the reminder date has come,
        the due date not), "overdue", or "no cycle yet".

    Examples
    --------
    >>> import polars as pl, datetime as dt
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 1, 2], "order_id": [1, 2, 3, 4], "amount": [1.0] * 4,
    ...     "order_date": [dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 26), dt.datetime(2024, 2, 20),
    ...                    dt.datetime(2024, 2, 1)], "category": ["cream"] * 4})
    >>> next_purchase_due(tx, as_of="2024-03-01", remind_days_before=15).select(
    ...     "customer_id", "cycle_days", "cycle_source", "due_date", "remind_date", "status")
    shape: (2, 6)
    ┌─────────────┬────────────┬──────────────┬────────────┬─────────────┬────────────┐
    │ customer_id ┆ cycle_days ┆ cycle_source ┆ due_date   ┆ remind_date ┆ status     │
    │ ---         ┆ ---        ┆ ---          ┆ ---        ┆ ---         ┆ ---        │
    │ i64         ┆ f64        ┆ str          ┆ date       ┆ date        ┆ str        │
    ╞═════════════╪════════════╪══════════════╪════════════╪═════════════╪════════════╡
    │ 1           ┆ 25.0       ┆ customer     ┆ 2024-03-16 ┆ 2024-03-01  ┆ remind now │
    │ 2           ┆ 25.0       ┆ group        ┆ 2024-02-26 ┆ 2024-02-11  ┆ overdue    │
    └─────────────┴────────────┴──────────────┴────────────┴─────────────┴────────────┘
    """
    before = _check_days(remind_days_before, "remind_days_before", allow_zero=True)
    min_own = _check_days(min_own_gaps, "min_own_gaps")
    by = _default_by(transactions, by, customers, segments)
    prep = _prepare(transactions, as_of, caller="next_purchase_due")
    days, key, product_level = _keyed_days(prep, by, customers, segments, segment_column, age_bins)
    gaps = _gaps(days, key, product_level)
    unit = ["customer_id", key] if key and product_level else ["customer_id"]
    if key is None:
        gaps = gaps.with_columns(group=pl.lit("all"))
        days = days.with_columns(group=pl.lit("all"))
        group_key = "group"
    else:
        group_key = key
    group_cycle = _cycle_table(gaps, group_key).select(group_key, pl.col("median_days").alias("_group_cycle"))
    own = gaps.group_by(unit).agg(own_gaps=pl.len().cast(pl.Int64), _own_cycle=pl.col("gap_days").median())
    last = days.group_by(unit).agg(_last=pl.col("_day").max(), **({} if group_key in unit else
                                                                  {group_key: pl.col(group_key).first()}))
    d = prep.as_of_day
    out = (
        last.join(own, on=unit, how="left")
        .join(group_cycle, on=group_key, how="left")
        .with_columns(own_gaps=pl.col("own_gaps").fill_null(0))
        .with_columns(
            cycle_days=pl.when(pl.col("own_gaps") >= min_own).then(pl.col("_own_cycle"))
            .otherwise(pl.col("_group_cycle")),
            cycle_source=pl.when(pl.col("own_gaps") >= min_own).then(pl.lit("customer"))
            .when(pl.col("_group_cycle").is_not_null()).then(pl.lit("group")),
        )
        .with_columns(_due=pl.col("_last") + pl.col("cycle_days").round(0).cast(pl.Int64))
        .with_columns(
            _remind=pl.col("_due") - before,
            days_until_due=pl.col("_due") - d,
        )
        .with_columns(
            status=pl.when(pl.col("_due").is_null()).then(pl.lit(t("repurchase.status_no_cycle", language)))
            .when(pl.col("_due") <= d).then(pl.lit(t("repurchase.status_overdue", language)))
            .when(pl.col("_remind") <= d).then(pl.lit(t("repurchase.status_remind_now", language)))
            .otherwise(pl.lit(t("repurchase.status_upcoming", language)))
        )
        .with_columns(
            _order=pl.when(pl.col("_due").is_null()).then(3).when(pl.col("_due") <= d).then(2)
            .when(pl.col("_remind") <= d).then(0).otherwise(1),
            _when=pl.when(pl.col("_due") <= d).then(-pl.col("_due")).otherwise(pl.col("_remind")),
        )
        .sort(["_order", "_when", "customer_id"] + ([key] if key else []), nulls_last=True)
        .select(
            "customer_id", *([key] if key else []),
            _from_day_number(pl.col("_last")).alias("last_purchase"),
            "own_gaps", "cycle_days", "cycle_source",
            _from_day_number(pl.col("_due")).alias("due_date"),
            _from_day_number(pl.col("_remind")).alias("remind_date"),
            "days_until_due", "status",
        )
    )
    return out




@in_language_font
def plot_inter_purchase_times(
    gaps: Frame,
    *,
    by: str | None = None,
    ax=None,
    max_days: float | None = None,
    top_n: int = 15,
    figsize: tuple[float, float] | None = None,
    language: Language = "en",
) -> Figure:
    """Box plots of the days between repurchases, one box per group.

    Parameters
    ----------
    gaps
        The result of :func:`inter_purchase_times` (``gap_days`` and the
        ``by`` column).
    by
        The group column of ``gaps``; None for one box.
    ax
        Axes to draw on; None for a new figure (built without pyplot).
    max_days
        Cut the x axis here (the boxes are still computed on all gaps).
    top_n
        Show the ``top_n`` groups with the most gaps (ties by group name).
    language
        Labels in English ("en") or Chinese ("zh").

    Returns
    -------
    matplotlib.figure.Figure
        Horizontal boxes (quartiles with linear interpolation, as in
        :func:`repurchase_cycles`; whiskers at the 5th and 95th percentiles),
        the longest median on top; y tick labels "group (n gaps)".

    Examples
    --------
    >>> import polars as pl
    >>> gaps = pl.DataFrame({"category": ["a"] * 3 + ["b"] * 2, "gap_days": [10, 20, 30, 5, 7]})
    >>> fig = plot_inter_purchase_times(gaps, by="category")
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['a (3 gaps)', 'b (2 gaps)']
    """
    check_frame(gaps, argument="gaps")
    if not isinstance(top_n, int) or isinstance(top_n, bool) or top_n < 1:
        raise CustlabError(f"top_n must be a positive whole number, got {top_n!r}.")
    data = _collect(gaps)
    require_columns(data, ["gap_days"] + ([by] if by else []), table="gaps", purpose="to plot")
    key = by or "_all"
    if by is None:
        data = data.with_columns(_all=pl.lit(t("repurchase.all", language)))
    g = pl.col("gap_days").cast(pl.Float64)
    stats = (
        data.with_columns(pl.col(key).cast(pl.String).fill_null(MISSING))
        .group_by(key)
        .agg(n=pl.len(), med=g.median(), q1=g.quantile(0.25, "linear"), q3=g.quantile(0.75, "linear"),
             lo=g.quantile(0.05, "linear"), hi=g.quantile(0.95, "linear"), mean=g.mean())
        .sort(["n", key], descending=[True, False]).head(top_n).sort("med", key, descending=[True, False])
    )
    boxes = [
        {"label": t("repurchase.box_label", language, group=label_of(row[key], language), n=f"{row['n']:,}"),
         "med": row["med"], "q1": row["q1"], "q3": row["q3"],
         "whislo": row["lo"], "whishi": row["hi"], "mean": row["mean"], "fliers": []}
        for row in stats.iter_rows(named=True)
    ]
    fig, ax = figure_axes(ax, figsize=figsize or (8.0, 1.2 + 0.45 * len(boxes)))
    ax.bxp(boxes, orientation="horizontal", patch_artist=True, showfliers=False,
           boxprops={"facecolor": PALETTE[0], "alpha": 0.5}, medianprops={"color": "black", "gid": "median"})
    ax.invert_yaxis()  # the longest cycle on top
    if max_days is not None:
        ax.set_xlim(right=max_days)
    ax.set_xlabel(t("repurchase.gap_xlabel", language))
    ax.set_ylabel("")
    ax.set_title(t("repurchase.cycles_title_by", language, by=label_of(by, language)) if by
                 else t("repurchase.cycles_title", language))
    return fig
