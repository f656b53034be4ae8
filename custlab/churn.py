"""Survival-style churn: time to churn, retention curves, risk by customer, repurchase cycles.

In non-contractual e-commerce nobody announces that they leave; churn is
inferred from silence. Every function here uses one definition, with the
inactivity window ``inactivity_days`` (W, default 90) as a parameter:

* Days are calendar days. ``as_of`` is the analysis moment: orders dated
  before it count, later ones are left out (and counted in a warning). By
  default it is midnight after the last order's day. Its calendar date is
  "the analysis day" ``D``.
* A customer has **churned** at ``as_of`` when their last purchase day is W
  or more days before ``D``. The churn is dated ``last purchase day + W``,
  the day the silence reached W days.
* **Duration** (``duration_days``) runs from the first purchase day to the
  churn date for churned customers (``lifetime_days + W``) and to ``D``
  for the others, who are **censored**: still inside the window, their
  churn (if it comes) is later than ``D``. So a customer who never buys
  again is churned W days after their last purchase, and the survival
  curves below are curves of "still not W days silent".

:func:`churn_threshold_table` shows how the churn share and the share of
silences that end with a return depend on W, so W can be chosen from the
data. Kaplan-Meier curves, medians and log-rank tests come from
:func:`kaplan_meier`; :class:`CoxChurnModel` gives hazard ratios of
baseline covariates with a held-out concordance and a proportional-hazards
check in plain words.

Why the early-warning list uses a second model: whether an active customer
churns in the next N days depends first on how long they have already been
silent, which a model of time since the first purchase cannot see. The
:class:`RepurchaseModel` is a Cox model of the time from each purchase to
the next one (:func:`repurchase_frame`); the probability that the current
silence of a customer reaches W days is ``S(W) / S(s)`` of that model, with
``s`` the days already silent. It is this risk that is ranked by
:meth:`RepurchaseModel.early_warning` and compared with BG/NBD's
``1 - P(alive)`` by :func:`compare_with_bgnbd`.

Workflow::

    sf = survival_frame(transactions, inactivity_days=90, customers=customers)
    churn_threshold_table(transactions)          # is 90 days the right window?
    print(churn_diagnostics(transactions))       # 90-day silences, early churn, day to reach out
    km = kaplan_meier(sf, by="acquisition_channel")
    plot_survival(km)
    cox = CoxChurnModel().fit(sf)                # cox.hazard_ratios_, cox.concordance_test_, cox.ph_summary_
    gaps = repurchase_frame(transactions, customers=customers)
    warn = RepurchaseModel().fit(gaps).early_warning(gaps, days=30)
    next_purchase_due(transactions, by="category", remind_days_before=15)

This is the only custlab module that imports lifelines; it is imported on
first use of a model, so ``custlab.churn`` itself imports quickly.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import polars as pl

from custlab.exceptions import ConvergenceError, CustlabError, EmptyDataError, SchemaError
from custlab.schema import Frame, as_datetime, check_frame, require_columns, validate

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = [
    "BgnbdComparison",
    "ChurnDataWarning",
    "ChurnDiagnostics",
    "CoxChurnModel",
    "KaplanMeier",
    "RepurchaseModel",
    "churn_diagnostics",
    "churn_threshold_table",
    "compare_with_bgnbd",
    "inter_purchase_times",
    "kaplan_meier",
    "next_purchase_due",
    "plot_hazard_ratios",
    "plot_inter_purchase_times",
    "plot_risk_distribution",
    "plot_survival",
    "repurchase_cycles",
    "repurchase_frame",
    "survival_frame",
]

Language = Literal["en", "zh"]

#: Default age bins: ages below 25, 25-34, 35-44, 45-54 and 55 or more.
AGE_BINS: tuple[float, ...] = (25, 35, 45, 55)

#: Covariates :class:`CoxChurnModel` uses by default, when the frame has them.
SURVIVAL_COVARIATES = (
    "first_order_value", "first_category", "first_channel", "acquisition_channel", "segment",
    "age_group", "gender", "region", "city_tier", "occupation",
)

#: Covariates :class:`RepurchaseModel` uses by default, when the frame has them.
REPURCHASE_COVARIATES = (
    "purchase_number", "days_since_first", "order_value", "first_category", "first_channel",
    "acquisition_channel", "segment", "age_group", "gender", "region", "city_tier", "occupation",
)

#: Numeric covariates entered on a log scale: log1p for values that may be 0, log for counts from 1.
LOG1P_COVARIATES = ("first_order_value", "order_value", "days_since_first")
LOG_COVARIATES = ("purchase_number",)

MISSING = "(missing)"
OTHER = "(other)"

_LABELS = {
    "en": {
        "high": "high", "medium": "medium", "low": "low",
        "upcoming": "upcoming", "remind now": "remind now", "overdue": "overdue", "no cycle": "no cycle yet",
    },
    "zh": {
        "high": "高风险", "medium": "中风险", "low": "低风险",
        "upcoming": "未到提醒日", "remind now": "立即提醒", "overdue": "已逾期", "no cycle": "暂无周期",
    },
}


class ChurnDataWarning(UserWarning):
    """Rows or covariates were left out of a churn analysis; the message counts them."""


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------


def _import_lifelines() -> None:
    """Import lifelines and the scipy modules it loads, without leaving their warning filters behind.

    scipy adds process-wide warning filters when some of its modules are first
    imported (``scipy.sparse``, ``scipy.special``); importing them inside
    ``catch_warnings`` keeps the caller's filters as they were.
    """
    with warnings.catch_warnings():
        import lifelines  # noqa: F401
        import lifelines.exceptions  # noqa: F401
        import lifelines.statistics  # noqa: F401
        import lifelines.utils  # noqa: F401
        import scipy.stats  # noqa: F401


def _label(key: str, language: str) -> str:
    if language not in _LABELS:
        raise CustlabError(f"language must be 'en' or 'zh', got {language!r}.")
    return _LABELS[language][key]


def _concordance_or_none(compute) -> float | None:
    """A concordance index, or None when lifelines finds no pair of customers it can order."""
    try:
        return float(compute())
    except ZeroDivisionError:
        return None


def _check_days(value: object, name: str, *, allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer, float)) or (
        isinstance(value, float) and not value.is_integer()
    ):
        raise CustlabError(f"{name} must be a whole number of days, got {value!r}.")
    days = int(value)
    if days < 0 or (days == 0 and not allow_zero):
        need = "0 or more" if allow_zero else "positive"
        raise CustlabError(
            f"{name} must be {need} (a number of days), got {value!r}. "
            + ("Churn is W days without a purchase; try 90." if name == "inactivity_days" else "")
        )
    return days


def _day_number(expr: pl.Expr) -> pl.Expr:
    """Calendar day of a Datetime/Date expression as days since 1970-01-01 (Int64)."""
    return expr.dt.date().cast(pl.Int32).cast(pl.Int64)


def _from_day_number(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.Int32).cast(pl.Date)


def _fmt(value: dt.datetime) -> str:
    return f"{value:%Y-%m-%d}" if value.time() == dt.time() else f"{value:%Y-%m-%d %H:%M:%S}"


def _collect(frame: Frame) -> pl.DataFrame:
    return frame.collect() if isinstance(frame, pl.LazyFrame) else frame


@dataclass(frozen=True)
class _Prepared:
    """Transactions restricted to what an analysis at ``as_of`` may use."""

    lines: pl.LazyFrame  # canonical lines with a customer, a date, dated before as_of; plus column _day
    as_of: dt.datetime
    as_of_day: int  # days since 1970-01-01
    names: tuple[str, ...]


def _prepare(transactions: Frame, as_of, *, caller: str) -> _Prepared:
    """Validate, resolve ``as_of``, leave out unusable lines and warn with their counts."""
    check_frame(transactions, argument="transactions")
    tx = validate(transactions, "transactions").lazy()
    names = tuple(tx.collect_schema().names())
    stats = tx.select(
        lines=pl.len(),
        no_customer=pl.col("customer_id").is_null().sum(),
        no_date=pl.col("order_date").is_null().sum(),
        first=pl.col("order_date").min(),
        last=pl.col("order_date").max(),
    ).collect().row(0, named=True)
    if stats["lines"] == 0 or stats["first"] is None:
        raise EmptyDataError(f"{caller}: the transactions table has no dated lines; there is nothing to analyse.")
    first, last = stats["first"], stats["last"]
    default = dt.datetime.combine(last.date() + dt.timedelta(days=1), dt.time())
    moment = as_datetime(as_of) if as_of is not None else default
    if moment <= first:
        raise CustlabError(
            f"as_of={_fmt(moment)} is not after the data: the first order is dated {_fmt(first)}, so no "
            f"customer has bought by then. Pass an as_of after {first:%Y-%m-%d}, or None for the day after "
            f"the last order ({default:%Y-%m-%d})."
        )
    after = 0
    if moment <= last:
        after = int(tx.select((pl.col("order_date") >= moment).sum()).collect().item())
    excluded = {
        "without a customer_id": int(stats["no_customer"]),
        "without an order_date": int(stats["no_date"]),
        f"dated at or after as_of={_fmt(moment)}": after,
    }
    if any(excluded.values()):
        parts = ", ".join(f"{n:,} {why}" for why, n in excluded.items() if n)
        warnings.warn(
            f"{caller}: {sum(excluded.values()):,} of {stats['lines']:,} transaction lines were left out: {parts}.",
            ChurnDataWarning,
            stacklevel=3,
        )
    lines = tx.filter(
        pl.col("customer_id").is_not_null() & pl.col("order_date").is_not_null() & (pl.col("order_date") < moment)
    ).with_columns(_day=_day_number(pl.col("order_date")))
    as_of_day = (moment.date() - dt.date(1970, 1, 1)).days
    return _Prepared(lines, moment, as_of_day, names)


def _side_table(frame: Frame | None, argument: str, table: str | None) -> pl.DataFrame | None:
    """A customers-like frame, validated, with unique customer ids."""
    if frame is None:
        return None
    check_frame(frame, argument=argument)
    out = validate(frame, table) if table else frame
    out = _collect(out)
    require_columns(out, ["customer_id"], table=argument)
    dup = out.filter(pl.col("customer_id").is_duplicated())
    if dup.height:
        ids = dup["customer_id"].unique(maintain_order=True).head(5).to_list()
        raise SchemaError(
            f"{argument} must have one row per customer, but {dup['customer_id'].n_unique():,} customer_id(s) "
            f"appear more than once ({dup.height:,} rows), e.g. {ids}. Deduplicate it first."
        )
    nulls = out["customer_id"].null_count()
    if nulls:
        raise SchemaError(f"{argument} has {nulls:,} row(s) without a customer_id; remove or fill them.")
    return out


def _age_group(age: pl.Expr, bins: Sequence[float]) -> pl.Expr:
    edges = [float(b) for b in bins]
    if not edges or any(hi <= lo for lo, hi in zip(edges, edges[1:], strict=False)):
        raise CustlabError(f"age_bins must be increasing ages, got {list(bins)}.")
    expr = pl.when(age < edges[0]).then(pl.lit(f"<{edges[0]:g}"))
    for lo, hi in zip(edges, edges[1:], strict=False):
        expr = expr.when(age < hi).then(pl.lit(f"{lo:g}-{hi - 1:g}"))
    return expr.when(age >= edges[-1]).then(pl.lit(f"{edges[-1]:g}+"))


def _align_ids(side: pl.DataFrame, dtype: pl.DataType, argument: str) -> pl.DataFrame:
    """Give ``side.customer_id`` the transactions' id dtype, refusing ids that cannot match."""
    if side.schema["customer_id"] == dtype:
        return side
    cast = side["customer_id"].cast(dtype, strict=False)
    bad = side["customer_id"].filter(cast.is_null())
    if bad.len():
        raise SchemaError(
            f"{argument}.customer_id holds {side.schema['customer_id']} ids and the transactions hold {dtype} ids; "
            f"{bad.len():,} of them cannot be matched, e.g. {bad.head(3).to_list()}. Use the same ids in both."
        )
    return side.with_columns(customer_id=cast)


def _join_attributes(
    base: pl.DataFrame,
    customers: Frame | None,
    segments: Frame | None,
    segment_column: str,
    age_bins: Sequence[float] | None,
) -> pl.DataFrame:
    """Join customer attributes and a segment column onto one-row-per-customer ``base``."""
    cust = _side_table(customers, "customers", "customers")
    if cust is not None:
        clash = [c for c in cust.columns if c != "customer_id" and c in base.columns]
        if clash:
            raise SchemaError(
                f"customers has column(s) {clash} that the survival frame computes itself; rename them first."
            )
        cust = _align_ids(cust, base.schema["customer_id"], "customers")
        base = base.join(cust, on="customer_id", how="left")
        if "age" in base.columns and "age_group" not in base.columns and age_bins:
            base = base.with_columns(age_group=_age_group(pl.col("age"), age_bins))
    seg = _side_table(segments, "segments", None)
    if seg is not None:
        require_columns(seg, [segment_column], table="segments", purpose="(the segment_column)")
        if "segment" in base.columns:
            raise SchemaError("customers already has a 'segment' column; pass segments=None or drop it there.")
        seg = _align_ids(seg, base.schema["customer_id"], "segments").select(
            "customer_id", pl.col(segment_column).cast(pl.String).alias("segment"),
        )
        base = base.join(seg, on="customer_id", how="left")
    return base


# ---------------------------------------------------------------------------
# The survival frame
# ---------------------------------------------------------------------------


def survival_frame(
    transactions: Frame,
    *,
    as_of: dt.date | dt.datetime | str | None = None,
    inactivity_days: int = 90,
    customers: Frame | None = None,
    segments: Frame | None = None,
    segment_column: str = "segment",
    age_bins: Sequence[float] | None = AGE_BINS,
) -> pl.DataFrame:
    """One row per customer: time from first purchase to churn or censoring, and covariates.

    Definition (W = ``inactivity_days``; days are calendar days; ``D`` is the
    date of ``as_of``): a customer has churned when their last purchase day
    is at least W days before ``D``. The churn is dated last purchase day + W.
    ``duration_days`` is first purchase day to churn date for churned
    customers, and first purchase day to ``D`` for the others (censored).

    Parameters
    ----------
    transactions
        Canonical transactions (DataFrame or LazyFrame): ``customer_id``,
        ``order_id``, ``order_date``, ``amount``; optional ``category`` and
        ``channel`` give the covariates ``first_category``, ``first_channel``.
    as_of
        Analysis moment; orders dated before it count. Default: midnight
        after the last order's day. Lines dated at or after it, and lines
        without a customer or a date, are left out and counted in a
        :class:`ChurnDataWarning`.
    inactivity_days
        W, the days of silence after which a customer counts as churned.
        :func:`churn_threshold_table` helps choose it.
    customers
        Optional canonical customers table; its columns are joined (customers
        absent from it get nulls, nothing is dropped). With ``age``, an
        ``age_group`` column is added.
    segments
        Optional frame with ``customer_id`` and ``segment_column`` (for example
        the RFM segments of :mod:`custlab.rfm`), joined as ``segment``.
        Segments computed from the whole history describe how customers
        behaved, not what was known at their first purchase: use them to
        compare retention curves, and read their Cox hazard ratios with care.
    segment_column
        Column of ``segments`` holding the segment name.
    age_bins
        Ages where ``age_group`` bins start (default 25, 35, 45, 55 give
        ``<25``, ``25-34``, ``35-44``, ``45-54``, ``55+``); None for no
        ``age_group``.

    Returns
    -------
    pl.DataFrame
        Sorted by ``customer_id``: ``customer_id``; ``first_purchase``,
        ``last_purchase`` (Datetime, first and last order time);
        ``n_orders`` (Int64, distinct orders); ``lifetime_days`` (Int64, last
        minus first purchase day); ``days_since_last`` (Int64, ``D`` minus last
        purchase day); ``churned`` (Boolean, the event); ``churn_date`` (Date,
        null when censored); ``duration_days`` (Int64); ``first_order_value``
        (Float64, sum of ``amount`` of the first order: the order id of the
        earliest line, the smallest id when orders share that moment);
        ``first_category`` (String, category of the first order's largest
        line) and ``first_channel`` (String) when the transactions have them;
        then the customers' columns, ``age_group`` (String) and ``segment``
        (String) when given.

    Raises
    ------
    CustlabError
        ``inactivity_days`` not a positive whole number; ``as_of`` not after
        the first order.
    SchemaError
        ``customers``/``segments`` with repeated or missing customer ids, or
        columns that clash with the computed ones.

    Examples
    --------
    >>> import polars as pl, datetime as dt
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 2], "order_id": ["a", "b", "c"],
    ...     "order_date": [dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 11), dt.datetime(2024, 3, 1)],
    ...     "amount": [10.0, 5.0, 8.0]})
    >>> survival_frame(tx, as_of="2024-03-31", inactivity_days=30).select(
    ...     "customer_id", "lifetime_days", "days_since_last", "churned", "duration_days")
    shape: (2, 5)
    ┌─────────────┬───────────────┬─────────────────┬─────────┬───────────────┐
    │ customer_id ┆ lifetime_days ┆ days_since_last ┆ churned ┆ duration_days │
    │ ---         ┆ ---           ┆ ---             ┆ ---     ┆ ---           │
    │ i64         ┆ i64           ┆ i64             ┆ bool    ┆ i64           │
    ╞═════════════╪═══════════════╪═════════════════╪═════════╪═══════════════╡
    │ 1           ┆ 10            ┆ 80              ┆ true    ┆ 40            │
    │ 2           ┆ 0             ┆ 30              ┆ true    ┆ 30            │
    └─────────────┴───────────────┴─────────────────┴─────────┴───────────────┘
    """
    window = _check_days(inactivity_days, "inactivity_days")
    prep = _prepare(transactions, as_of, caller="survival_frame")
    base = _customer_base(prep, window)
    return _join_attributes(base, customers, segments, segment_column, age_bins)


def _customer_base(prep: _Prepared, window: int) -> pl.DataFrame:
    names = prep.names
    lines = prep.lines
    main = lines.group_by("customer_id").agg(
        first_purchase=pl.col("order_date").min(),
        last_purchase=pl.col("order_date").max(),
        n_orders=pl.col("order_id").n_unique().cast(pl.Int64),
        _first_day=pl.col("_day").min(),
        _last_day=pl.col("_day").max(),
        _first_order=pl.col("order_id").sort_by(["order_date", "order_id"]).first(),
    ).collect().lazy()
    # The lines of each customer's first order, with only the columns needed (fewer columns to gather).
    described = [c for c in ("category", "channel") if c in names]
    first_lines = lines.select("customer_id", "order_id", "amount", *described).join(
        main.select("customer_id", "_first_order"),
        left_on=["customer_id", "order_id"], right_on=["customer_id", "_first_order"], how="semi",
    )
    extra = [f"first_{c}" for c in described]
    first = [pl.col("amount").sum().alias("first_order_value")]
    if "category" in names:
        first.append(pl.col("category").sort_by([pl.col("amount"), pl.col("category")], descending=[True, False],
                                                 nulls_last=True).first().alias("first_category"))
    if "channel" in names:
        first.append(pl.col("channel").sort_by("channel", nulls_last=True).first().alias("first_channel"))
    firsts = first_lines.group_by("customer_id").agg(first)
    d = prep.as_of_day
    return (
        main.join(firsts, on="customer_id", how="left")
        .with_columns(
            lifetime_days=pl.col("_last_day") - pl.col("_first_day"),
            days_since_last=pl.lit(d, dtype=pl.Int64) - pl.col("_last_day"),
        )
        .with_columns(churned=pl.col("days_since_last") >= window)
        .with_columns(
            churn_date=pl.when(pl.col("churned")).then(_from_day_number(pl.col("_last_day") + window)),
            duration_days=pl.when(pl.col("churned"))
            .then(pl.col("lifetime_days") + window)
            .otherwise(pl.lit(d, dtype=pl.Int64) - pl.col("_first_day")),
        )
        .sort("customer_id")
        .select(
            "customer_id", "first_purchase", "last_purchase", "n_orders", "lifetime_days", "days_since_last",
            "churned", "churn_date", "duration_days", "first_order_value", *extra,
        )
        .collect()
    )


# ---------------------------------------------------------------------------
# Purchase days, gaps and the threshold helper
# ---------------------------------------------------------------------------


def _purchase_days(prep: _Prepared) -> pl.LazyFrame:
    """One row per customer and purchase day with the gap to the next purchase day."""
    return (
        prep.lines.group_by("customer_id", "_day")
        .agg(order_value=pl.col("amount").sum(), orders=pl.col("order_id").n_unique().cast(pl.Int64))
        .sort("customer_id", "_day")
        .with_columns(
            purchase_number=(pl.int_range(pl.len()) + 1).over("customer_id").cast(pl.Int64),
            _next=pl.col("_day").shift(-1).over("customer_id"),
            _first=pl.col("_day").first().over("customer_id"),
        )
        .with_columns(
            repurchased=pl.col("_next").is_not_null(),
            gap_days=pl.coalesce(pl.col("_next"), pl.lit(prep.as_of_day, dtype=pl.Int64)) - pl.col("_day"),
            days_since_first=pl.col("_day") - pl.col("_first"),
        )
    )


def repurchase_frame(
    transactions: Frame,
    *,
    as_of: dt.date | dt.datetime | str | None = None,
    customers: Frame | None = None,
    segments: Frame | None = None,
    segment_column: str = "segment",
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
        that day's ``amount``); ``orders`` (Int64); ``repurchased`` (Boolean:
        a later purchase day exists); ``gap_days`` (Int64: days to the next
        purchase day, or for the last one the days since it at ``D``);
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


def churn_threshold_table(
    transactions: Frame,
    *,
    as_of: dt.date | dt.datetime | str | None = None,
    thresholds: Sequence[int] = (30, 60, 90, 120, 180, 270, 365),
) -> pl.DataFrame:
    """How the churn share and the fate of silences depend on the inactivity window.

    For each candidate window W: how many customers count as churned at
    ``as_of``, and of the silences that reached W days, how many ended with
    a purchase and how many are still going on. A good W is one after which
    few silences end with a return, while it is not so long that churn is
    only seen very late.

    Parameters
    ----------
    transactions, as_of
        As in :func:`survival_frame`.
    thresholds
        Candidate windows in days (positive whole numbers).

    Returns
    -------
    pl.DataFrame
        One row per threshold: ``inactivity_days`` (Int64); ``customers``
        (Int64); ``churned`` (Int64, customers silent at least W days at
        ``as_of``); ``churn_share`` (Float64); ``silences`` (Int64, gaps between
        purchase days, or from the last purchase day to ``as_of``, that reached
        W days); ``returned`` (Int64, of those, the ones that ended with a
        purchase); ``never_returned_share`` (Float64, ``churned / silences``:
        silences with no purchase after them by ``as_of``; an upper bound,
        since a silence still going on may yet end); ``gaps_within`` (Float64,
        share of all completed repurchase gaps shorter than W: how much of the
        normal buying rhythm the window leaves alone).

    Examples
    --------
    >>> import polars as pl, datetime as dt
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 2], "order_id": [1, 2, 3],
    ...     "order_date": [dt.datetime(2024, 1, 1), dt.datetime(2024, 3, 1), dt.datetime(2024, 1, 5)],
    ...     "amount": [1.0, 1.0, 1.0]})
    >>> churn_threshold_table(tx, as_of="2024-04-01", thresholds=[30, 80]).select(
    ...     "inactivity_days", "churned", "silences", "returned", "never_returned_share")
    shape: (2, 5)
    ┌─────────────────┬─────────┬──────────┬──────────┬──────────────────────┐
    │ inactivity_days ┆ churned ┆ silences ┆ returned ┆ never_returned_share │
    │ ---             ┆ ---     ┆ ---      ┆ ---      ┆ ---                  │
    │ i64             ┆ i64     ┆ i64      ┆ i64      ┆ f64                  │
    ╞═════════════════╪═════════╪══════════╪══════════╪══════════════════════╡
    │ 30              ┆ 2       ┆ 3        ┆ 1        ┆ 0.666667             │
    │ 80              ┆ 1       ┆ 1        ┆ 0        ┆ 1.0                  │
    └─────────────────┴─────────┴──────────┴──────────┴──────────────────────┘
    """
    windows = [_check_days(t, "thresholds") for t in thresholds]
    if not windows:
        raise CustlabError("thresholds is empty; pass candidate windows such as (30, 60, 90, 180).")
    prep = _prepare(transactions, as_of, caller="churn_threshold_table")
    gaps = _purchase_days(prep).select("repurchased", "gap_days").collect()
    closed = gaps.filter(pl.col("repurchased"))["gap_days"].to_numpy()
    open_ = gaps.filter(~pl.col("repurchased"))["gap_days"].to_numpy()
    closed_sorted = np.sort(closed)
    rows = []
    for w in sorted(set(windows)):
        churned = int((open_ >= w).sum())
        returned = int(closed.size - np.searchsorted(closed_sorted, w, side="left"))
        silences = churned + returned
        rows.append({
            "inactivity_days": w,
            "customers": int(open_.size),
            "churned": churned,
            "churn_share": churned / open_.size,
            "silences": silences,
            "returned": returned,
            "never_returned_share": churned / silences if silences else None,
            "gaps_within": float(np.searchsorted(closed_sorted, w, side="left") / closed.size) if closed.size else None,
        })
    return pl.DataFrame(rows, schema={
        "inactivity_days": pl.Int64, "customers": pl.Int64, "churned": pl.Int64, "churn_share": pl.Float64,
        "silences": pl.Int64, "returned": pl.Int64, "never_returned_share": pl.Float64, "gaps_within": pl.Float64,
    })


# ---------------------------------------------------------------------------
# The documents' diagnostics
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ChurnDiagnostics:
    """The churn figures retail reports quote, computed from the data.

    Attributes
    ----------
    inactivity_days, early_days, min_observed_days : int
        W, the "early" horizon and the follow-up required (see
        :func:`churn_diagnostics`).
    as_of : datetime.datetime
        The analysis moment.
    silences, never_returned : int
        Customers whose first W-day silence began early enough, and of those
        the ones who bought nothing after it.
    silent_never_return_share : float or None
        ``never_returned / silences``.
    churned, churned_early : int
        Churned customers observed long enough, and of those the ones whose
        last purchase came within ``early_days`` of their first.
    early_churn_share : float or None
        ``churned_early / churned``.
    returners : int
        Customers observed long enough who made a second purchase within W
        days of their first.
    intervention_day : int or None
        Days after the first purchase by which ``intervention_quantile`` of
        those second purchases had happened.
    intervention_quantile : float
    """

    inactivity_days: int
    early_days: int
    min_observed_days: int
    as_of: dt.datetime
    silences: int
    never_returned: int
    silent_never_return_share: float | None
    churned: int
    churned_early: int
    early_churn_share: float | None
    returners: int
    intervention_day: int | None
    intervention_quantile: float

    def to_frame(self) -> pl.DataFrame:
        """The three figures as a table: ``metric``, ``value`` (Float64), ``customers`` (Int64), ``definition``."""
        w, e, m = self.inactivity_days, self.early_days, self.min_observed_days
        rows = [
            ("silent_never_return_share", self.silent_never_return_share, self.silences,
             f"of customers whose first {w}-day silence began at least {m} days before as_of, the share "
             f"who bought nothing after it"),
            ("early_churn_share", self.early_churn_share, self.churned,
             f"of churned customers first seen at least {m} days before as_of, the share whose last "
             f"purchase came within {e} days of their first"),
            ("intervention_day", None if self.intervention_day is None else float(self.intervention_day),
             self.returners,
             f"days after the first purchase by which {self.intervention_quantile:.0%} of the second "
             f"purchases (made within {w} days) had happened"),
        ]
        return pl.DataFrame(rows, schema={"metric": pl.String, "value": pl.Float64, "customers": pl.Int64,
                                          "definition": pl.String}, orient="row")

    def __str__(self) -> str:
        def pct(x):
            return "n/a" if x is None else f"{x:.0%}"
        w = self.inactivity_days
        day = "n/a" if self.intervention_day is None else f"day {self.intervention_day}"
        return (
            f"Of {self.silences:,} customers who fell silent for {w} days, {pct(self.silent_never_return_share)} "
            f"never bought again.\n"
            f"Of {self.churned:,} churned customers, {pct(self.early_churn_share)} made their last purchase "
            f"within {self.early_days} days of their first.\n"
            f"Best moment to reach out after a first purchase: {day} (by then {self.intervention_quantile:.0%} "
            f"of the {self.returners:,} customers who came back within {w} days had done so)."
        )


def churn_diagnostics(
    transactions: Frame,
    *,
    as_of: dt.date | dt.datetime | str | None = None,
    inactivity_days: int = 90,
    early_days: int = 30,
    min_observed_days: int | None = None,
    intervention_quantile: float = 0.5,
) -> ChurnDiagnostics:
    """Silence that does not end, churn soon after the first purchase, the day to reach out.

    Three figures retail reports quote ("70% of customers silent for 90 days
    never come back", "churn happens in the first 30 days", "reach out on day
    15"), each computed only from customers followed long enough for the
    figure to be judged (``min_observed_days``, default ``2 * inactivity_days``),
    so that recent customers do not bias them:

    * ``silent_never_return_share``: of customers whose first silence of W
      days (a purchase day followed by W days without a purchase) began at
      least ``min_observed_days`` before ``as_of``, the share who bought
      nothing after it by ``as_of``.
    * ``early_churn_share``: of customers first seen at least
      ``min_observed_days`` before ``as_of`` who have churned (last purchase W
      or more days before), the share whose last purchase came within
      ``early_days`` days of their first.
    * ``intervention_day``: among customers first seen at least
      ``min_observed_days`` before ``as_of`` whose second purchase came within
      W days of the first, the ``intervention_quantile`` quantile (lower, a
      whole day) of the days to that second purchase. By that day most
      customers who come back on their own have done so; those who have not
      are the ones to remind, before their silence becomes churn.

    Parameters
    ----------
    transactions, as_of, inactivity_days
        As in :func:`survival_frame`.
    early_days
        The "early churn" horizon after the first purchase.
    min_observed_days
        Follow-up required (days before the analysis day); default twice W.
    intervention_quantile
        Share of the second purchases that should have happened by the
        intervention day (between 0 and 1).

    Returns
    -------
    ChurnDiagnostics
        The figures with their counts; ``str()`` reads them out and
        ``to_frame()`` gives a table.

    Examples
    --------
    >>> import polars as pl, datetime as dt
    >>> d = dt.datetime
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 2, 3, 3, 3, 4, 4, 4],
    ...     "order_id": list(range(9)),
    ...     "order_date": [d(2024, 1, 1), d(2024, 1, 11), d(2024, 1, 2), d(2024, 1, 3), d(2024, 2, 20),
    ...                    d(2024, 3, 1), d(2024, 1, 5), d(2024, 4, 20), d(2024, 6, 20)],
    ...     "amount": [1.0] * 9})
    >>> diag = churn_diagnostics(tx, as_of="2024-07-01", inactivity_days=60, early_days=30)
    >>> diag.silent_never_return_share, diag.early_churn_share, diag.intervention_day
    (0.75, 0.6666666666666666, 10)
    >>> print(diag)
    Of 4 customers who fell silent for 60 days, 75% never bought again.
    Of 3 churned customers, 67% made their last purchase within 30 days of their first.
    Best moment to reach out after a first purchase: day 10 (by then 50% of the 2 customers who came back within 60 days had done so).
    """
    window = _check_days(inactivity_days, "inactivity_days")
    early = _check_days(early_days, "early_days", allow_zero=True)
    observed = 2 * window if min_observed_days is None else _check_days(min_observed_days, "min_observed_days",
                                                                         allow_zero=True)
    if not 0 < intervention_quantile <= 1:
        raise CustlabError(f"intervention_quantile must be in (0, 1], got {intervention_quantile!r}.")
    prep = _prepare(transactions, as_of, caller="churn_diagnostics")
    d = prep.as_of_day
    days = _purchase_days(prep)
    # First W-day silence of each customer: the earliest purchase day whose gap (closed or open) reaches W.
    silences = (
        days.filter(pl.col("gap_days") >= window)
        .group_by("customer_id")
        .agg(pl.col("_day").min().alias("start"), pl.col("repurchased").sort_by("_day").first().alias("returned"))
        .filter(pl.col("start") <= d - observed)
        .select(n=pl.len(), never=(~pl.col("returned")).sum())
        .collect()
        .row(0, named=True)
    )
    per_customer = (
        days.group_by("customer_id")
        .agg(
            first=pl.col("_day").min(),
            last=pl.col("_day").max(),
            second=pl.col("_day").sort().get(1, null_on_oob=True),
        )
        .filter(pl.col("first") <= d - observed)
        .collect()
    )
    churned = per_customer.filter(d - pl.col("last") >= window)
    n_churned = churned.height
    n_early = int((churned["last"] - churned["first"] <= early).sum())
    second = (per_customer["second"] - per_customer["first"]).drop_nulls()
    second = second.filter(second <= window).sort()
    day = None
    if second.len():
        day = int(second[max(math.ceil(intervention_quantile * second.len()) - 1, 0)])
    n_sil, n_never = int(silences["n"]), int(silences["never"] or 0)
    return ChurnDiagnostics(
        inactivity_days=window,
        early_days=early,
        min_observed_days=observed,
        as_of=prep.as_of,
        silences=n_sil,
        never_returned=n_never,
        silent_never_return_share=n_never / n_sil if n_sil else None,
        churned=n_churned,
        churned_early=n_early,
        early_churn_share=n_early / n_churned if n_churned else None,
        returners=int(second.len()),
        intervention_day=day,
        intervention_quantile=float(intervention_quantile),
    )


# ---------------------------------------------------------------------------
# Kaplan-Meier curves, medians and log-rank tests (lifelines)
# ---------------------------------------------------------------------------


@dataclass
class KaplanMeier:
    """Kaplan-Meier retention curves by group, with medians and log-rank tests.

    Attributes
    ----------
    curves : pl.DataFrame
        ``group`` (String), ``days`` (Float64), ``survival`` (share not yet
        churned), ``lower``, ``upper`` (pointwise confidence band, lifelines'
        log(-log) Greenwood interval), ``at_risk``, ``churned``, ``censored``
        (Int64, customers at risk just before ``days`` and leaving at it).
    summary : pl.DataFrame
        One row per group: ``group``, ``customers``, ``churned`` (Int64),
        ``median_days``, ``median_lower``, ``median_upper`` (Float64; null when
        the curve, or its band, does not fall to 0.5 within the follow-up),
        then ``survival_<t>d`` (Float64) for each requested day ``t``.
    logrank : pl.DataFrame or None
        With groups: the test of all groups together (``group_a`` =
        ``group_b`` = "(all)") then each pair: ``group_a``, ``group_b``,
        ``statistic``, ``df`` (Int64), ``p_value``.
    by : str or None
    alpha : float
    fitters : dict
        ``{group: lifelines.KaplanMeierFitter}``, for plots and further use.
    """

    curves: pl.DataFrame
    summary: pl.DataFrame
    logrank: pl.DataFrame | None
    by: str | None
    alpha: float
    fitters: dict = field(repr=False)


def _group_labels(frame: pl.DataFrame, by: str | None, max_groups: int) -> pl.Series:
    if by is None:
        return pl.Series("group", ["all"] * frame.height, dtype=pl.String)
    require_columns(frame, [by], table="survival frame", purpose="(the by= column)")
    values = frame[by]
    if values.dtype in (pl.Float32, pl.Float64) or isinstance(values.dtype, (pl.Datetime, pl.Date)):
        if values.n_unique() > max_groups:
            raise CustlabError(
                f"by={by!r} has {values.n_unique():,} distinct values; group it first (for example "
                f"age into age_group) or pick a column with at most {max_groups} groups."
            )
    labels = values.cast(pl.String).fill_null(MISSING).alias("group")
    n = labels.n_unique()
    if n > max_groups:
        raise CustlabError(
            f"by={by!r} has {n:,} groups (more than max_groups={max_groups}); merge small groups first "
            f"or raise max_groups."
        )
    if n < 2:
        raise CustlabError(
            f"by={by!r} has a single value ({labels[0]!r}) for all {frame.height:,} customers; "
            f"there is nothing to compare. Pick another column or use by=None."
        )
    return labels


def kaplan_meier(
    frame: Frame,
    *,
    by: str | None = None,
    alpha: float = 0.05,
    at: Sequence[int] = (90, 180, 365),
    duration: str = "duration_days",
    event: str = "churned",
    max_groups: int = 20,
) -> KaplanMeier:
    """Kaplan-Meier retention curves overall or by group, medians, and log-rank tests.

    The curves are lifelines' ``KaplanMeierFitter`` fitted on the counts of
    customers per (group, duration, event), which gives the same estimates
    as one row per customer in a fraction of the time. Customers whose
    ``by`` value is null form the group "(missing)".

    Parameters
    ----------
    frame
        A survival frame (:func:`survival_frame`), or any frame with the
        ``duration`` and ``event`` columns.
    by
        Column to group by (at most ``max_groups`` groups), or None.
    alpha
        1 - confidence level of the bands and median intervals.
    at
        Days at which the summary reports the share not yet churned.
    duration, event
        Column names of the time and of the event flag.

    Returns
    -------
    KaplanMeier

    Examples
    --------
    >>> import polars as pl
    >>> sf = pl.DataFrame({"duration_days": [100, 120, 130, 95, 200, 150],
    ...                    "churned": [True, True, False, True, False, True],
    ...                    "channel": ["a", "a", "a", "b", "b", "b"]})
    >>> km = kaplan_meier(sf, by="channel", at=[110])
    >>> km.summary.select("group", "customers", "median_days", "survival_110d")
    shape: (2, 4)
    ┌───────┬───────────┬─────────────┬───────────────┐
    │ group ┆ customers ┆ median_days ┆ survival_110d │
    │ ---   ┆ ---       ┆ ---         ┆ ---           │
    │ str   ┆ i64       ┆ f64         ┆ f64           │
    ╞═══════╪═══════════╪═════════════╪═══════════════╡
    │ a     ┆ 3         ┆ 120.0       ┆ 0.666667      │
    │ b     ┆ 3         ┆ 150.0       ┆ 0.666667      │
    └───────┴───────────┴─────────────┴───────────────┘
    """
    _import_lifelines()
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    check_frame(frame, argument="frame")
    if not 0 < alpha < 1:
        raise CustlabError(f"alpha must be between 0 and 1, got {alpha!r}.")
    cols = [duration, event] + ([by] if by else [])
    require_columns(frame, cols, table="survival frame", purpose="for Kaplan-Meier")
    data = _collect(frame.select(cols))
    data = _check_survival_columns(data, duration, event)
    data = data.with_columns(_group_labels(data, by, max_groups))
    counts = (
        data.group_by("group", duration, event)
        .agg(w=pl.len())
        .sort("group", duration, event)
    )
    at_days = [_check_days(t, "at", allow_zero=True) for t in at]
    curves, summary, fitters = [], [], {}
    for (group,), part in counts.group_by("group", maintain_order=True):
        km = KaplanMeierFitter(alpha=alpha).fit(
            part[duration].to_numpy().astype(float),
            part[event].cast(pl.Int8).to_numpy(),
            weights=part["w"].to_numpy().astype(float),
            label=str(group),
        )
        fitters[group] = km
        table = km.event_table
        ci = km.confidence_interval_.to_numpy()
        curve = pl.DataFrame({
            "group": [group] * len(table),
            "days": km.survival_function_.index.to_numpy().astype(float),
            "survival": km.survival_function_.iloc[:, 0].to_numpy(),
            "lower": ci[:, 0],
            "upper": ci[:, 1],
            "at_risk": np.rint(table["at_risk"].to_numpy()).astype(np.int64),
            "churned": np.rint(table["observed"].to_numpy()).astype(np.int64),
            "censored": np.rint(table["censored"].to_numpy()).astype(np.int64),
        })
        curves.append(curve)
        med = median_survival_times(km.confidence_interval_).to_numpy().ravel()
        row = {
            "group": group,
            "customers": int(part["w"].sum()),
            "churned": int(part.filter(pl.col(event))["w"].sum()),
            "median_days": _finite(km.median_survival_time_),
            "median_lower": _finite(med[0]),
            "median_upper": _finite(med[1]),
        }
        surv = km.survival_function_at_times(at_days).to_numpy() if at_days else []
        for t, s in zip(at_days, surv, strict=True):
            row[f"survival_{t}d"] = float(s)
        summary.append(row)
    order = sorted(range(len(summary)), key=lambda i: -summary[i]["customers"])
    summary_frame = pl.DataFrame([summary[i] for i in order]).with_columns(
        pl.col("customers", "churned").cast(pl.Int64),
        pl.col("median_days", "median_lower", "median_upper").cast(pl.Float64),
    )
    logrank = _logrank(counts, duration, event) if by else None
    return KaplanMeier(pl.concat(curves), summary_frame, logrank, by, alpha, fitters)


def _finite(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _check_survival_columns(data: pl.DataFrame, duration: str, event: str) -> pl.DataFrame:
    """Check the duration and event columns; return ``data`` with the event as Boolean."""
    if data.height == 0:
        raise EmptyDataError("The survival frame has no rows; there is nothing to analyse.")
    if not _numeric(data.schema[duration]):
        raise SchemaError(f"Column {duration!r} must hold numbers of days, got dtype {data.schema[duration]}.")
    kind = data.schema[event]
    if kind != pl.Boolean:
        if not _numeric(kind):
            raise SchemaError(f"Column {event!r} must be Boolean (or 0/1), got dtype {kind}.")
        bad = data.filter(pl.col(event).is_not_null() & ~pl.col(event).is_in([0, 1]))
        if bad.height:
            raise SchemaError(
                f"Column {event!r} must be Boolean (or 0/1); {bad.height:,} value(s) are neither, "
                f"e.g. {bad[event].unique().head(3).to_list()}."
            )
        data = data.with_columns(pl.col(event).cast(pl.Boolean))
    nulls = data.select(pl.col(duration).is_null().sum() + pl.col(event).is_null().sum()).item()
    negative = data.select((pl.col(duration) < 0).sum()).item()
    if nulls or negative:
        raise CustlabError(
            f"The survival frame has {nulls:,} null and {negative:,} negative values in {duration!r}/{event!r}; "
            f"durations must be known and non-negative. Build the frame with survival_frame()."
        )
    return data


def _logrank(counts: pl.DataFrame, duration: str, event: str) -> pl.DataFrame:
    _import_lifelines()
    from lifelines.statistics import multivariate_logrank_test

    def test(part: pl.DataFrame):
        res = multivariate_logrank_test(
            part[duration].to_numpy().astype(float),
            part["group"].to_numpy(),
            part[event].cast(pl.Int8).to_numpy(),
            weights=part["w"].to_numpy().astype(float),
        )
        return float(res.test_statistic), int(res.degrees_of_freedom), float(res.p_value)

    groups = counts.group_by("group").agg(pl.col("w").sum()).sort("w", descending=True)["group"].to_list()
    rows = [("(all)", "(all)", *test(counts))]
    for i, a in enumerate(groups):
        for b in groups[i + 1:]:
            rows.append((a, b, *test(counts.filter(pl.col("group").is_in([a, b])))))
    return pl.DataFrame(rows, schema={"group_a": pl.String, "group_b": pl.String, "statistic": pl.Float64,
                                      "df": pl.Int64, "p_value": pl.Float64}, orient="row")


# ---------------------------------------------------------------------------
# Cox proportional hazards: shared design-matrix and fitting machinery
# ---------------------------------------------------------------------------


@dataclass
class _Term:
    covariate: str
    kind: Literal["numeric", "categorical"]
    transform: str | None = None
    reference: str | None = None
    levels: list[str] = field(default_factory=list)  # categorical levels other than the reference
    merged: dict[str, str] = field(default_factory=dict)  # rare level -> level it was merged into

    @property
    def columns(self) -> list[str]:
        if self.kind == "numeric":
            return [self.label]
        return [f"{self.covariate}={level}" for level in self.levels]

    @property
    def label(self) -> str:
        return f"{self.transform}({self.covariate})" if self.transform else self.covariate


def _numeric(dtype: pl.DataType) -> bool:
    return dtype.is_numeric() and dtype != pl.Boolean


class _CoxBase:
    """Settings, design matrix and lifelines fit shared by the two Cox models."""

    _duration = "duration_days"
    _event = "churned"
    _defaults: tuple[str, ...] = ()
    _kind = "survival frame"
    _event_words = "churn"
    _time_words = "since the first purchase"

    def __init__(
        self,
        covariates: Sequence[str] | None = None,
        *,
        penalizer: float = 0.0,
        test_size: float = 0.25,
        random_state: int = 0,
        alpha: float = 0.05,
        min_level_count: int = 30,
        reference: Mapping[str, str] | None = None,
    ) -> None:
        self.covariates = covariates
        self.reference = reference
        self.penalizer = penalizer
        self.test_size = test_size
        self.random_state = random_state
        self.alpha = alpha
        self.min_level_count = min_level_count

    # -- design -------------------------------------------------------------

    def _select_terms(self, data: pl.DataFrame) -> list[_Term]:
        explicit = self.covariates is not None
        if explicit:
            wanted = list(self.covariates)
            if not wanted:
                raise CustlabError("covariates is empty; pass column names, or None for the defaults.")
            require_columns(data, wanted, table=self._kind, purpose="(covariates=)")
        else:
            wanted = [c for c in self._defaults if c in data.columns]
        terms, problems = [], {}
        self.merged_levels_: dict[str, dict[str, str]] = {}
        for name in wanted:
            term, problem = self._make_term(data, name)
            if problem:
                problems[name] = problem
            else:
                terms.append(term)
        if problems and explicit:
            raise CustlabError(
                "Covariates that cannot enter the model: "
                + "; ".join(f"{name!r} {why}" for name, why in problems.items())
                + ". Drop them from covariates= (or fill them) and fit again."
            )
        if problems:
            warnings.warn(
                f"{type(self).__name__}: left out default covariate(s) "
                + "; ".join(f"{name!r} ({why})" for name, why in problems.items()) + ".",
                ChurnDataWarning,
                stacklevel=4,
            )
        self.skipped_covariates_ = dict(problems)
        if not terms:
            raise CustlabError(
                f"No usable covariate for the Cox model among {wanted or list(self._defaults)}; "
                f"pass covariates= with columns of the {self._kind} that vary between customers."
            )
        return terms

    def _make_term(self, data: pl.DataFrame, name: str) -> tuple[_Term | None, str | None]:
        values = data[name]
        n = values.len()
        if values.null_count() == n:
            return None, f"is null for all {n:,} rows"
        dtype = values.dtype
        if isinstance(dtype, (pl.Date, pl.Datetime, pl.Duration)):
            return None, f"holds dates ({dtype}); turn it into a number of days or a group first"
        if _numeric(dtype):
            distinct = values.drop_nulls().unique()
            if distinct.len() == 1:
                known = n - values.null_count()
                return None, f"has a single value ({distinct[0]!r}) for all {known:,} rows with a value"
            transform = "log1p" if name in LOG1P_COVARIATES else "log" if name in LOG_COVARIATES else None
            low = values.min()
            if (transform == "log1p" and low < 0) or (transform == "log" and low <= 0):
                bad = values.filter(values < 0) if transform == "log1p" else values.filter(values <= 0)
                return None, (
                    f"has {bad.len():,} value(s) {'below 0' if transform == 'log1p' else 'of 0 or less'} "
                    f"(e.g. {bad.head(3).to_list()}) but enters on a {transform} scale; clean the transactions first"
                )
            return _Term(name, "numeric", transform), None
        labels = values.cast(pl.String).fill_null(MISSING)
        counts = labels.value_counts().sort(["count", name], descending=[True, False])
        levels = counts[name].to_list()
        if len(levels) == 1:
            return None, f"has a single value ({levels[0]!r}) for all {n:,} rows"
        sizes = dict(zip(levels, counts["count"].to_list(), strict=True))
        reference = (self.reference or {}).get(name, levels[0])
        if reference not in sizes:
            raise CustlabError(
                f"reference={{{name!r}: {reference!r}}}: {reference!r} is not a level of {name!r}; "
                f"levels: {levels[:20]}."
            )
        others = [level for level in levels if level != reference]
        rare = [level for level in others if sizes[level] < self.min_level_count]
        merged: dict[str, str] = {}
        if rare:
            # Rare levels become one "(other)" level; if even that is rare, they join the reference level.
            into = OTHER if sum(sizes[level] for level in rare) >= self.min_level_count else reference
            merged = {level: into for level in rare}
            others = [level for level in others if level not in rare] + ([OTHER] if into == OTHER else [])
        self.merged_levels_[name] = merged
        if not others:
            return None, (
                f"has a single level ({reference!r}) after merging the levels with fewer than "
                f"{self.min_level_count} rows ({rare}) into it"
            )
        return _Term(name, "categorical", None, reference, others, merged), None

    def _design(self, data: pl.DataFrame, *, fitting: bool) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
        """Design matrix (float), a mask of usable rows, and counts of rows with problems."""
        blocks, usable, notes = [], np.ones(data.height, dtype=bool), {}
        for term in self.terms_:
            values = data[term.covariate]
            if term.kind == "numeric":
                x = values.cast(pl.Float64).to_numpy().astype(float)
                missing = np.isnan(x)
                if missing.any():
                    notes[f"null {term.covariate}"] = int(missing.sum())
                    usable &= ~missing
                with np.errstate(invalid="ignore", divide="ignore"):
                    if term.transform == "log1p":
                        x = np.log1p(x)
                    elif term.transform == "log":
                        x = np.log(x)
                bad = ~np.isfinite(x) & ~missing
                if bad.any():
                    notes[f"{term.covariate} outside the {term.transform} scale"] = int(bad.sum())
                    usable &= ~bad
                blocks.append(x[:, None])
            else:
                labels = values.cast(pl.String).fill_null(MISSING)
                if term.merged:
                    labels = labels.replace(list(term.merged), list(term.merged.values()))
                known = {term.reference, *term.levels}
                unseen = ~labels.is_in(list(known))
                if unseen.any():
                    fallback = OTHER if OTHER in known else term.reference
                    if not fitting:
                        notes[f"{term.covariate} level unseen in fitting, read as {fallback!r}"] = int(unseen.sum())
                    labels = pl.select(pl.when(unseen).then(pl.lit(fallback)).otherwise(labels)).to_series()
                arr = labels.to_numpy()
                blocks.append(np.column_stack([(arr == level).astype(float) for level in term.levels]))
        return np.hstack(blocks), usable, notes

    def _design_columns(self) -> list[str]:
        return [c for term in self.terms_ for c in term.columns]

    # -- fitting --------------------------------------------------------------

    def _durations(self, data: pl.DataFrame) -> np.ndarray:
        return data[self._duration].cast(pl.Float64).to_numpy()

    def _fit(self, frame: Frame, strata: Sequence[str] | None = None):
        import pandas as pd

        _import_lifelines()
        from lifelines import CoxPHFitter
        from lifelines.exceptions import ConvergenceError as LifelinesConvergenceError
        from lifelines.utils import concordance_index

        check_frame(frame, argument="frame")
        if not 0 <= self.test_size < 1:
            raise CustlabError(f"test_size must be in [0, 1), got {self.test_size!r}.")
        data = _collect(frame)
        require_columns(data, ["customer_id", self._duration, self._event], table=self._kind,
                        purpose="for the Cox model")
        data = _check_survival_columns(data, self._duration, self._event)
        if data[self._event].cast(pl.Int8).sum() == 0:
            raise CustlabError(
                f"No {self._event_words} event in the {data.height:,} rows of the {self._kind}; a Cox model "
                f"needs some. Check as_of and the inactivity window."
            )
        self.terms_ = self._select_terms(data)
        self.covariates_ = [t.covariate for t in self.terms_]
        x, usable, notes = self._design(data, fitting=True)
        strata = list(strata or [])
        if strata:
            require_columns(data, strata, table=self._kind, purpose="(strata=)")
        excluded = pl.DataFrame(
            {"reason": list(notes), "rows": list(notes.values())}, schema={"reason": pl.String, "rows": pl.Int64}
        )
        self.excluded_ = excluded
        if notes:
            warnings.warn(
                f"{type(self).__name__}: {int((~usable).sum()):,} of {data.height:,} rows left out of the fit: "
                + ", ".join(f"{n:,} with {why}" for why, n in notes.items()) + ".",
                ChurnDataWarning,
                stacklevel=3,
            )
        names = self._design_columns()
        df = pd.DataFrame(x, columns=names)
        df["_T"] = self._durations(data)
        df["_E"] = data[self._event].cast(pl.Int8).to_numpy()
        for s in strata:
            df[s] = data[s].cast(pl.String).fill_null(MISSING).to_numpy()
        ids = data["customer_id"].to_numpy()
        df, ids = df[usable].reset_index(drop=True), ids[usable]

        # Held-out split by customer, so rows of one customer are never on both sides.
        unique_ids = np.unique(ids)
        rng = np.random.default_rng(self.random_state)
        n_test = int(round(self.test_size * unique_ids.size))
        test_ids = rng.permutation(unique_ids)[:n_test]
        is_test = np.isin(ids, test_ids)
        train, test = df[~is_test], df[is_test]
        if train["_E"].sum() == 0:
            raise CustlabError("The training split has no event; lower test_size or use more data.")
        cph = CoxPHFitter(penalizer=self.penalizer, alpha=self.alpha)
        try:
            cph.fit(train, duration_col="_T", event_col="_E", strata=strata or None)
        except (LifelinesConvergenceError, np.linalg.LinAlgError) as err:
            raise ConvergenceError(
                f"The Cox model did not converge ({type(err).__name__}: {(str(err).splitlines() or [''])[0]}). "
                f"Common causes: a covariate level where every customer churned (or none did), or "
                f"near-duplicate covariates. Retry with penalizer=0.01, fewer covariates, or a larger "
                f"min_level_count."
            ) from None
        self.lifelines_ = cph
        self.strata_ = strata
        self.n_train_, self.n_test_ = int(len(train)), int(len(test))
        self.events_train_ = int(train["_E"].sum())
        # Concordance is None when no pair of customers can be ordered (e.g. nobody bought twice).
        self.concordance_train_ = _concordance_or_none(lambda: cph.concordance_index_)
        self.concordance_test_ = None
        if len(test) and 0 < test["_E"].sum() < len(test):
            risk = cph.predict_partial_hazard(test)
            self.concordance_test_ = _concordance_or_none(
                lambda: concordance_index(test["_T"], -np.asarray(risk), test["_E"]))
        self.hazard_ratios_ = self._hazard_table(cph)
        self._ph_check(cph, train)
        return self

    def _hazard_table(self, cph) -> pl.DataFrame:
        with np.errstate(over="ignore"):  # an unbounded interval is reported as inf
            ci = np.exp(cph.confidence_intervals_.to_numpy())
        rows = []
        for i, name in enumerate(cph.params_.index):
            term = next(t for t in self.terms_ if name in t.columns)
            rows.append({
                "term": name,
                "covariate": term.covariate,
                "level": name.split("=", 1)[1] if term.kind == "categorical" else None,
                "reference": term.reference,
                "hazard_ratio": float(np.exp(cph.params_.iloc[i])),
                "lower": float(ci[i, 0]),
                "upper": float(ci[i, 1]),
                "p_value": float(cph.summary["p"].iloc[i]),
            })
        return pl.DataFrame(rows, schema={
            "term": pl.String, "covariate": pl.String, "level": pl.String, "reference": pl.String,
            "hazard_ratio": pl.Float64, "lower": pl.Float64, "upper": pl.Float64, "p_value": pl.Float64,
        })

    def _ph_check(self, cph, train) -> None:
        x = train[self._design_columns()].to_numpy(dtype=float)
        strata = (train[self.strata_].astype(str).agg("|".join, axis=1).to_numpy() if self.strata_ else None)
        stats, pvalues = _schoenfeld_test(
            x, train["_T"].to_numpy(dtype=float), train["_E"].to_numpy().astype(bool),
            cph.params_.to_numpy(), cph.variance_matrix_.to_numpy(), strata,
        )
        rows = []
        for name, stat, p in zip(cph.params_.index, stats, pvalues, strict=True):
            holds = bool(p >= 0.05)
            words = (
                f"no evidence that the hazard ratio of {name} changes over time (p = {p:.2g})"
                if holds else
                f"the hazard ratio of {name} changes over time (p = {p:.2g}): read it as an average "
                f"over the follow-up"
            )
            rows.append({"term": name, "statistic": float(stat), "p_value": float(p), "holds": holds,
                         "verdict": words})
        self.ph_test_ = pl.DataFrame(rows, schema={"term": pl.String, "statistic": pl.Float64,
                                                   "p_value": pl.Float64, "holds": pl.Boolean,
                                                   "verdict": pl.String})
        broken = [r["term"] for r in rows if not r["holds"]]
        n = len(rows)
        test = "Schoenfeld residual test against the rank of time, 5% level"
        if not broken:
            self.ph_summary_ = (
                f"Proportional hazards: no evidence against it for any of the {n} term{'s' if n > 1 else ''} "
                f"({test}); the hazard ratios can be read as constant over the time {self._time_words}."
            )
            return
        term_of = {c: t for t in self.terms_ for c in t.columns}
        categorical = sorted({term_of[b].covariate for b in broken if term_of[b].kind == "categorical"})
        numeric = sorted({term_of[b].covariate for b in broken if term_of[b].kind == "numeric"})
        parts = [
            f"Proportional hazards: {len(broken)} of {n} terms have hazard ratios that change over the time "
            f"{self._time_words} ({test}): {', '.join(broken)}. Their hazard ratios are averages over that time."
        ]
        if categorical:
            strata = f", or fit with strata={categorical!r}" if isinstance(self, CoxChurnModel) else ""
            parts.append(f"To see how the effect of {', '.join(categorical)} changes, compare Kaplan-Meier "
                         f"curves by {'it' if len(categorical) == 1 else 'each'}{strata}.")
        if numeric:
            parts.append(f"The effect of {', '.join(numeric)} grows or fades with time; put "
                         f"{'it' if len(numeric) == 1 else 'them'} into groups and compare curves to see how.")
        parts.append(f"With {self.n_train_:,} rows the test also flags small departures.")
        ok = n - len(broken)
        if ok:
            parts.append(f"The other {ok} term{'s show' if ok > 1 else ' shows'} no evidence against "
                         f"proportionality.")
        self.ph_summary_ = " ".join(parts)

    def _check_fitted(self) -> None:
        if not hasattr(self, "lifelines_"):
            raise CustlabError(f"This {type(self).__name__} is not fitted yet; call .fit(frame) first.")

    def _partial_hazard(self, data: pl.DataFrame) -> tuple[np.ndarray, dict[str, int]]:
        """exp((x - mean) b), lifelines' partial hazard, for each row (nan where the row is unusable)."""
        x, usable, notes = self._design(data, fitting=False)
        cph = self.lifelines_
        mean = cph._norm_mean.to_numpy()
        beta = cph.params_.to_numpy()
        with np.errstate(invalid="ignore"):
            ph = np.exp((x - mean) @ beta)
        ph[~usable] = np.nan
        return ph, notes

    def summary_frame(self) -> pl.DataFrame:
        """Model-level figures: ``measure`` (String), ``value`` (Float64)."""
        self._check_fitted()
        rows = [
            ("rows_train", self.n_train_), ("rows_test", self.n_test_), ("events_train", self.events_train_),
            ("concordance_train", self.concordance_train_), ("concordance_test", self.concordance_test_),
            ("terms_breaking_proportional_hazards", int((~self.ph_test_["holds"]).sum())),
        ]
        return pl.DataFrame(rows, schema={"measure": pl.String, "value": pl.Float64}, orient="row")


def _scaled_schoenfeld(
    x: np.ndarray,
    durations: np.ndarray,
    events: np.ndarray,
    beta: np.ndarray,
    variance: np.ndarray,
    strata: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scaled Schoenfeld residuals of a Cox fit, as lifelines computes them (without adding beta).

    Efron's handling of tied event times, risk sets within strata;
    vectorised (lifelines' own loop grows quadratically with the rows and
    changes the global warning filters). Returns the residuals (one row per
    event, shape (events, terms)), the input row index of each event and its
    time.
    """
    n, p = x.shape
    groups = np.zeros(n, dtype=np.int64) if strata is None else np.unique(strata, return_inverse=True)[1]
    order = np.lexsort((events, durations, groups))
    x, t, e, g = x[order], durations[order], events[order], groups[order]
    xc = x - x.mean(axis=0)
    phi = np.exp(xc @ beta)
    # Blocks of equal (stratum, time); risk set of a block = rows from its start to the end of its stratum.
    new_block = np.ones(n, dtype=bool)
    new_block[1:] = (t[1:] != t[:-1]) | (g[1:] != g[:-1])
    block = np.cumsum(new_block) - 1
    starts = np.flatnonzero(new_block)
    stratum_end = np.searchsorted(g, g[starts], side="right")  # g is sorted
    rev_phi = np.concatenate([np.cumsum(phi[::-1])[::-1], [0.0]])
    rev_phix = np.concatenate([np.cumsum((phi[:, None] * xc)[::-1], axis=0)[::-1], np.zeros((1, p))])
    risk = rev_phi[starts] - rev_phi[stratum_end]
    risk_x = rev_phix[starts] - rev_phix[stratum_end]
    n_blocks = starts.size
    tie_n = np.bincount(block, weights=e.astype(float), minlength=n_blocks)
    tie_phi = np.bincount(block, weights=phi * e, minlength=n_blocks)
    tie_phix = np.stack([np.bincount(block, weights=phi * e * xc[:, j], minlength=n_blocks) for j in range(p)],
                        axis=1)
    # Efron: the l-th of the m tied events sees the risk set less l/m of the tied events.
    ev_block = block[e]
    rank_in_tie = np.arange(ev_block.size) - np.searchsorted(ev_block, ev_block, side="left")
    frac = rank_in_tie / tie_n[ev_block]
    numer = risk_x[ev_block] - frac[:, None] * tie_phix[ev_block]
    denom = risk[ev_block] - frac * tie_phi[ev_block]
    contrib = numer / denom[:, None] / tie_n[ev_block][:, None]
    mean_x = np.zeros((n_blocks, p))
    np.add.at(mean_x, ev_block, contrib)
    resid = xc[e] - mean_x[ev_block]
    d = int(e.sum())
    return d * resid @ variance, order[e], t[e]


def _schoenfeld_test(
    x: np.ndarray,
    durations: np.ndarray,
    events: np.ndarray,
    beta: np.ndarray,
    variance: np.ndarray,
    strata: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Grambsch-Therneau test of proportional hazards, one chi-square (1 df) per term.

    The scaled Schoenfeld residuals are correlated with the rank of the
    event times (tied times share their average rank), as lifelines'
    ``proportional_hazard_test(time_transform="rank")`` and R's
    ``cox.zph(transform="rank")`` before survival 3.0 do. Returns the
    statistics and their p-values.
    """
    _import_lifelines()
    from scipy.stats import chi2

    scaled, _, times = _scaled_schoenfeld(x, durations, events, beta, variance, strata)
    d = scaled.shape[0]
    centred = _average_rank(times)
    centred = centred - centred.mean()
    with np.errstate(invalid="ignore", divide="ignore"):  # all event times equal: the test is undefined (NaN)
        stat = (centred @ scaled) ** 2 / (d * np.diag(variance) * (centred ** 2).sum())
    return stat, chi2.sf(stat, 1)


def _average_rank(values: np.ndarray) -> np.ndarray:
    _import_lifelines()
    from scipy.stats import rankdata

    return rankdata(values, method="average")


class CoxChurnModel(_CoxBase):
    """Cox proportional-hazards model of time to churn, from a survival frame.

    Hazard ratios above 1 mean earlier churn (a shorter customer lifetime).
    The data are split by customer into a training part, on which the model
    is fitted, and a held-out part (``test_size``) on which the concordance
    is measured: the probability that, of two customers, the one the model
    ranks riskier churns first (0.5 is chance, 1 perfect).

    Parameters
    ----------
    covariates
        Columns of the survival frame to use. Default: those of
        ``SURVIVAL_COVARIATES`` present (first order value, first category,
        first channel, acquisition channel, segment, age group, gender, region,
        city tier, occupation); defaults that are all null or constant are
        left out with a :class:`ChurnDataWarning`. Columns given explicitly
        that are all null or constant raise :class:`CustlabError`. Numeric
        columns enter as numbers (order values and counts on a log scale,
        ``LOG1P_COVARIATES``/``LOG_COVARIATES``); text columns as levels against
        their most frequent level, with nulls as the level "(missing)" and
        levels of fewer than ``min_level_count`` rows merged into "(other)"
        (into the reference level when they are fewer than that together;
        ``merged_levels_`` lists every merge).
        Rows with a null numeric covariate are left out and counted
        (``excluded_``, and a warning).
    strata
        Columns to stratify on (each stratum gets its own baseline hazard).
    penalizer
        Ridge penalty of lifelines' ``CoxPHFitter`` (0: plain partial
        likelihood; the intervals are then exact Wald intervals).
    test_size
        Share of customers held out for the concordance (0: none).
    random_state
        Seed of the split.
    alpha
        1 - confidence level of the hazard-ratio intervals.
    min_level_count
        Levels with fewer rows are merged into "(other)".
    reference
        ``{covariate: level}`` to compare against, instead of the most
        frequent level.

    Attributes
    ----------
    hazard_ratios_ : pl.DataFrame
        ``term``, ``covariate``, ``level`` (String, null for numbers),
        ``reference`` (the level compared against), ``hazard_ratio``,
        ``lower``, ``upper``, ``p_value`` (Float64).
    concordance_train_, concordance_test_ : float or None (None when no pair of customers can be ordered,
        and for the test without a held-out part)
    ph_test_ : pl.DataFrame
        Proportional-hazards test per term: ``term``, ``statistic``,
        ``p_value``, ``holds`` (Boolean, p >= 0.05), ``verdict`` (plain words).
    ph_summary_ : str
        The proportional-hazards check in plain words.
    excluded_ : pl.DataFrame
        ``reason``, ``rows``: rows left out of the fit.
    skipped_covariates_ : dict
        Default covariates left out, with the reason.
    merged_levels_ : dict
        ``{covariate: {rare level: level it was merged into}}``.
    covariates_, n_train_, n_test_, events_train_, lifelines_

    Examples
    --------
    >>> import polars as pl, numpy as np
    >>> rng = np.random.default_rng(1)
    >>> group = rng.choice(["app", "web"], 400)
    >>> days = rng.exponential(np.where(group == "web", 50, 100)).round() + 90
    >>> sf = pl.DataFrame({"customer_id": np.arange(400), "duration_days": days.astype(int),
    ...                    "churned": days < 300, "first_channel": group})
    >>> model = CoxChurnModel(covariates=["first_channel"], reference={"first_channel": "app"}).fit(sf)
    >>> model.hazard_ratios_.select("term", "reference", pl.col("hazard_ratio").round(1))
    shape: (1, 3)
    ┌───────────────────┬───────────┬──────────────┐
    │ term              ┆ reference ┆ hazard_ratio │
    │ ---               ┆ ---       ┆ ---          │
    │ str               ┆ str       ┆ f64          │
    ╞═══════════════════╪═══════════╪══════════════╡
    │ first_channel=web ┆ app       ┆ 2.0          │
    └───────────────────┴───────────┴──────────────┘
    >>> round(model.concordance_test_, 2)
    0.56
    >>> print(model.ph_summary_)  # doctest: +ELLIPSIS
    Proportional hazards: no evidence against it for any of the 1 term ...
    """

    _defaults = SURVIVAL_COVARIATES

    def __init__(
        self,
        covariates: Sequence[str] | None = None,
        *,
        strata: Sequence[str] | None = None,
        penalizer: float = 0.0,
        test_size: float = 0.25,
        random_state: int = 0,
        alpha: float = 0.05,
        min_level_count: int = 30,
        reference: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(covariates, penalizer=penalizer, test_size=test_size, random_state=random_state,
                         alpha=alpha, min_level_count=min_level_count, reference=reference)
        self.strata = strata

    def fit(self, frame: Frame) -> CoxChurnModel:
        """Fit on a survival frame (:func:`survival_frame`); returns self."""
        return self._fit(frame, self.strata)

    def predict_risk(self, frame: Frame) -> pl.DataFrame:
        """Relative churn hazard of each customer against the average customer of the fit.

        Returns ``customer_id`` and ``relative_risk`` (Float64; 2 means twice
        the average hazard at every duration; null for rows with a null
        numeric covariate, counted in a warning). Rows keep the input order.
        """
        self._check_fitted()
        if self.strata_:
            raise CustlabError("predict_risk compares customers within one baseline; refit without strata=.")
        data = _collect(frame)
        ph, notes = self._partial_hazard(data)
        if notes:
            warnings.warn("predict_risk: " + ", ".join(f"{n:,} rows with {why}" for why, n in notes.items()),
                          ChurnDataWarning, stacklevel=2)
        return pl.DataFrame({"customer_id": data["customer_id"], "relative_risk": ph}).with_columns(
            pl.col("relative_risk").fill_nan(None)
        )


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
    penalizer, test_size, random_state, alpha, min_level_count, reference
        As in :class:`CoxChurnModel` (the held-out split is by customer).

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
    >>> model = RepurchaseModel(random_state=0).fit(gaps)
    >>> model.covariates_
    ['purchase_number', 'days_since_first', 'order_value']
    >>> warn = model.early_warning(gaps, inactivity_days=90, days=30)
    >>> warn.columns
    ['rank', 'customer_id', 'last_purchase', 'days_since_last', 'days_to_churn', 'churn_date', 'p_churn', 'p_churn_next', 'risk_band']
    >>> bool((warn["p_churn_next"] <= warn["p_churn"]).all())
    True
    """

    _duration = "gap_days"
    _event = "repurchased"
    _defaults = REPURCHASE_COVARIATES
    _kind = "repurchase frame"
    _event_words = "repurchase"
    _time_words = "since the last purchase"

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

    def early_warning(
        self,
        frame: Frame,
        *,
        inactivity_days: int = 90,
        days: int = 30,
        top: int | None = None,
        bands: tuple[float, float] = (0.5, 0.2),
        language: Language = "en",
    ) -> pl.DataFrame:
        """Active customers ranked by their probability of churning in the next ``days`` days.

        Active customers are those whose last purchase (the row of the
        repurchase frame with ``repurchased`` false) is fewer than W =
        ``inactivity_days`` days before the analysis day; customers already
        churned are not listed. A customer silent for ``s`` days churns within
        the next ``days`` days exactly when W - s <= ``days`` and they do not
        buy before their silence reaches W.

        Parameters
        ----------
        frame
            The repurchase frame the model was fitted on (or one built the
            same way at another ``as_of``).
        inactivity_days
            W, as in :func:`survival_frame`.
        days
            Horizon N of the warning.
        top
            Keep only the ``top`` riskiest customers.
        bands
            Cut-offs of ``p_churn_next`` for the bands high (>= first) and
            medium (>= second); the rest is low.
        language
            Band labels in English ("high", "medium", "low") or Chinese.

        Returns
        -------
        pl.DataFrame
            Sorted by risk: ``rank`` (Int64, 1 = riskiest); ``customer_id``;
            ``last_purchase`` (Date); ``days_since_last`` (Int64);
            ``days_to_churn`` (Int64, W - s); ``churn_date`` (Date, when the
            customer churns if they do not buy before); ``p_churn`` (Float64,
            probability that the current silence reaches W days);
            ``p_churn_next`` (Float64, probability of churning within the next
            ``days`` days: ``p_churn`` when ``days_to_churn <= days``, else 0);
            ``risk_band`` (String).
        """
        self._check_fitted()
        window = _check_days(inactivity_days, "inactivity_days")
        horizon = _check_days(days, "days")
        data = _collect(frame)
        require_columns(data, ["customer_id", "purchase_date", "gap_days", "repurchased"], table=self._kind,
                        purpose="for the early-warning list")
        active = data.filter(~pl.col("repurchased") & (pl.col("gap_days") < window))
        if active.height == 0:
            raise CustlabError(
                f"No active customer: every customer's last purchase is at least {window} days before the "
                f"analysis day. Check as_of and inactivity_days."
            )
        ph, notes = self._partial_hazard(active)
        if notes:
            warnings.warn("early_warning: " + ", ".join(f"{n:,} rows with {why}" for why, n in notes.items())
                          + "; their probabilities are null.", ChurnDataWarning, stacklevel=2)
        s = active["gap_days"].to_numpy().astype(float)
        h_w = self._baseline(np.array([window - 0.5]))[0]
        h_s = self._baseline(s - 0.5)
        p_churn = np.exp(-(h_w - h_s) * ph)
        hi, mid = bands
        out = (
            active.select(
                "customer_id",
                pl.col("purchase_date").alias("last_purchase"),
                pl.col("gap_days").alias("days_since_last"),
                (window - pl.col("gap_days")).alias("days_to_churn"),
                (pl.col("purchase_date") + pl.duration(days=window)).alias("churn_date"),
            )
            .with_columns(p_churn=pl.Series(p_churn).fill_nan(None))
            .with_columns(
                p_churn_next=pl.when(pl.col("days_to_churn") <= horizon).then(pl.col("p_churn")).otherwise(
                    pl.when(pl.col("p_churn").is_not_null()).then(0.0))
            )
            .with_columns(
                risk_band=pl.when(pl.col("p_churn_next") >= hi).then(pl.lit(_label("high", language)))
                .when(pl.col("p_churn_next") >= mid).then(pl.lit(_label("medium", language)))
                .when(pl.col("p_churn_next").is_not_null()).then(pl.lit(_label("low", language)))
            )
            .sort(["p_churn_next", "p_churn", "customer_id"], descending=[True, True, False], nulls_last=True)
            .with_row_index("rank", offset=1)
            .with_columns(pl.col("rank").cast(pl.Int64))
        )
        return out.head(top) if top is not None else out


# ---------------------------------------------------------------------------
# Repurchase cycles and reminders
# ---------------------------------------------------------------------------


def _keyed_days(
    prep: _Prepared, by: str | None, customers, segments, segment_column, age_bins,
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
        raise SchemaError(
            f"by={by!r} is neither a transactions column ({list(prep.names)}) nor a customer attribute "
            f"({attrs.columns[1:]}). Pass customers= or segments= to group by customer attributes."
        )
    labels = attrs.select("customer_id", pl.col(by).cast(pl.String).fill_null(MISSING))
    days = prep.lines.select("customer_id", "_day").unique().collect().join(labels, on="customer_id", how="left")
    return days.select("customer_id", by, "_day").sort("customer_id", "_day"), by, False


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
    as_of: dt.date | dt.datetime | str | None = None,
    customers: Frame | None = None,
    segments: Frame | None = None,
    segment_column: str = "segment",
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
    prep = _prepare(transactions, as_of, caller="inter_purchase_times")
    days, key, product_level = _keyed_days(prep, by, customers, segments, segment_column, age_bins)
    return _gaps(days, key, product_level)


def repurchase_cycles(
    transactions: Frame,
    *,
    by: str | None = "category",
    as_of: dt.date | dt.datetime | str | None = None,
    customers: Frame | None = None,
    segments: Frame | None = None,
    segment_column: str = "segment",
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
        purchases (group "all").

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
    by: str | None = "category",
    remind_days_before: int = 15,
    as_of: dt.date | dt.datetime | str | None = None,
    min_own_gaps: int = 2,
    customers: Frame | None = None,
    segments: Frame | None = None,
    segment_column: str = "segment",
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
        As in :func:`inter_purchase_times`.
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
            status=pl.when(pl.col("_due").is_null()).then(pl.lit(_label("no cycle", language)))
            .when(pl.col("_due") <= d).then(pl.lit(_label("overdue", language)))
            .when(pl.col("_remind") <= d).then(pl.lit(_label("remind now", language)))
            .otherwise(pl.lit(_label("upcoming", language)))
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


# ---------------------------------------------------------------------------
# Survival risk against BG/NBD
# ---------------------------------------------------------------------------


@dataclass
class BgnbdComparison:
    """Churn risk from the survival view against ``1 - P(alive)`` from BG/NBD.

    Attributes
    ----------
    table : pl.DataFrame
        ``customer_id``, ``survival_risk``, ``bgnbd_risk`` (= 1 - p_alive),
        ``survival_rank``, ``bgnbd_rank`` (Float64, 1 = riskiest, ties get
        their average rank), ``rank_difference`` (Float64), and
        ``frequency`` when ``p_alive`` has it; sorted by ``survival_rank``.
    spearman, p_value : float
        Spearman rank correlation of the two risks and its p-value (nan when
        one of them is constant).
    spearman_repeat, customers_repeat : float or None, int or None
        The same among customers with at least one repeat purchase, when
        ``p_alive`` has a ``frequency`` column. BG/NBD gives every customer
        without a repeat purchase P(alive) = 1 however long they have been
        silent, so the two views can only agree among repeat buyers.
    top_overlap : float
        Of the riskiest ``top_share`` of customers by the survival risk, the
        share that is also among the riskiest ``top_share`` by BG/NBD (ties
        broken by customer id).
    top_share : float
    customers, only_in_risk, only_in_p_alive : int
        Customers compared, and those in just one of the inputs (left out).
    """

    table: pl.DataFrame
    spearman: float
    p_value: float
    spearman_repeat: float | None
    customers_repeat: int | None
    top_overlap: float
    top_share: float
    customers: int
    only_in_risk: int
    only_in_p_alive: int

    def __str__(self) -> str:
        text = (
            f"{self.customers:,} customers: Spearman rank correlation {self.spearman:.2f} between the survival "
            f"churn risk and 1 - P(alive); {self.top_overlap:.0%} of the riskiest {self.top_share:.0%} by one "
            f"are also among the riskiest {self.top_share:.0%} by the other."
        )
        if self.spearman_repeat is not None:
            text += (f" Among the {self.customers_repeat:,} repeat buyers (BG/NBD puts P(alive) = 1 for the "
                     f"others): {self.spearman_repeat:.2f}.")
        if self.only_in_risk or self.only_in_p_alive:
            text += (f" Left out: {self.only_in_risk:,} customers only in the risk table, "
                     f"{self.only_in_p_alive:,} only in the P(alive) table.")
        return text


def _spearman(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    _import_lifelines()
    from scipy.stats import spearmanr

    if a.size < 3 or np.unique(a).size < 2 or np.unique(b).size < 2:
        return float("nan"), float("nan")
    rho, p = spearmanr(a, b)
    return float(rho), float(p)


def compare_with_bgnbd(
    risk: Frame,
    p_alive: Frame,
    *,
    risk_column: str = "p_churn",
    top_share: float = 0.1,
) -> BgnbdComparison:
    """Compare the survival churn risk with ``1 - P(alive)`` of a BG/NBD model, customer by customer.

    Parameters
    ----------
    risk
        ``customer_id`` and ``risk_column``, for example the list of
        :meth:`RepurchaseModel.early_warning` (active customers only; a
        customer already churned has no survival risk to compare).
    p_alive
        ``customer_id`` and ``p_alive`` (Float64 in [0, 1]): each customer's
        probability of still being active from a fitted BG/NBD model (for
        example ``BetaGeoFitter.conditional_probability_alive`` of lifetimes,
        or :mod:`custlab.clv`), at the same analysis date; optionally
        ``frequency`` (repeat purchases) for the comparison among repeat
        buyers.
    risk_column
        Column of ``risk`` holding the survival risk.
    top_share
        Share of riskiest customers compared by ``top_overlap``.

    Returns
    -------
    BgnbdComparison
        Customers present in only one input are left out and counted.

    Examples
    --------
    >>> import polars as pl
    >>> risk = pl.DataFrame({"customer_id": [1, 2, 3, 4], "p_churn": [0.9, 0.2, 0.5, 0.1]})
    >>> alive = pl.DataFrame({"customer_id": [1, 2, 3, 5], "p_alive": [0.1, 0.9, 0.6, 0.5]})
    >>> cmp = compare_with_bgnbd(risk, alive)
    >>> cmp.spearman, cmp.customers, cmp.only_in_risk, cmp.only_in_p_alive
    (1.0, 3, 1, 1)
    """
    check_frame(risk, argument="risk")
    check_frame(p_alive, argument="p_alive")
    if not 0 < top_share <= 1:
        raise CustlabError(f"top_share must be in (0, 1], got {top_share!r}.")
    r = _collect(risk)
    a = _collect(p_alive)
    require_columns(r, ["customer_id", risk_column], table="risk", purpose="(risk_column=)")
    require_columns(a, ["customer_id", "p_alive"], table="p_alive",
                    purpose="(each customer's BG/NBD probability of being alive)")
    for name, frame_, col in (("risk", r, risk_column), ("p_alive", a, "p_alive")):
        values = frame_[col]
        if not _numeric(values.dtype):
            raise SchemaError(f"{name}[{col!r}] must hold probabilities (numbers), got dtype {values.dtype}.")
        bad = frame_.filter(pl.col(col).is_null() | pl.col(col).is_nan() | (pl.col(col) < 0) | (pl.col(col) > 1))
        if bad.height:
            raise CustlabError(
                f"{name}[{col!r}] must be a probability in [0, 1] for every customer; {bad.height:,} value(s) are "
                f"not, e.g. {bad[col].head(3).to_list()}. Fix or filter them first."
            )
        dup = int(frame_["customer_id"].is_duplicated().sum())
        if dup:
            raise SchemaError(f"{name} must have one row per customer; {dup:,} rows repeat a customer_id.")
    has_freq = "frequency" in a.columns
    r = r.select("customer_id", pl.col(risk_column).cast(pl.Float64).alias("survival_risk"))
    a = a.select(pl.col("customer_id").cast(r.schema["customer_id"], strict=False),
                 (1.0 - pl.col("p_alive").cast(pl.Float64)).alias("bgnbd_risk"),
                 *([pl.col("frequency").cast(pl.Float64)] if has_freq else []))
    both = r.join(a, on="customer_id", how="inner")
    if both.height < 3:
        raise CustlabError(
            f"Only {both.height} customer(s) are in both tables; check that both use the same customer ids "
            f"(risk has {r.height:,}, p_alive {a.height:,})."
        )
    table = both.with_columns(
        survival_rank=pl.col("survival_risk").rank("average", descending=True).cast(pl.Float64),
        bgnbd_rank=pl.col("bgnbd_risk").rank("average", descending=True).cast(pl.Float64),
    ).with_columns(rank_difference=pl.col("survival_rank") - pl.col("bgnbd_rank")).sort("survival_rank",
                                                                                          "customer_id")
    table = table.select("customer_id", "survival_risk", "bgnbd_risk", "survival_rank", "bgnbd_rank",
                         "rank_difference", *(["frequency"] if has_freq else []))
    rho, p = _spearman(table["survival_risk"].to_numpy(), table["bgnbd_risk"].to_numpy())
    rho_rep, n_rep = None, None
    if has_freq:
        rep = table.filter(pl.col("frequency") > 0)
        n_rep = rep.height
        rho_rep = _spearman(rep["survival_risk"].to_numpy(), rep["bgnbd_risk"].to_numpy())[0]
    k = max(int(round(top_share * table.height)), 1)
    top_s = set(table.sort(["survival_risk", "customer_id"], descending=[True, False]).head(k)["customer_id"])
    top_b = set(table.sort(["bgnbd_risk", "customer_id"], descending=[True, False]).head(k)["customer_id"])
    return BgnbdComparison(
        table=table,
        spearman=rho,
        p_value=p,
        spearman_repeat=rho_rep,
        customers_repeat=n_rep,
        top_overlap=len(top_s & top_b) / k,
        top_share=float(top_share),
        customers=table.height,
        only_in_risk=r.height - both.height,
        only_in_p_alive=a.join(r, on="customer_id", how="anti").height,
    )


# ---------------------------------------------------------------------------
# Plots
# ---------------------------------------------------------------------------


def _figure(figsize):
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def plot_survival(
    km: KaplanMeier,
    *,
    ci: bool = True,
    at_risk: bool = True,
    title: str | None = None,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Kaplan-Meier retention curves by group with confidence bands and at-risk counts.

    Parameters
    ----------
    km
        The result of :func:`kaplan_meier`.
    ci
        Draw the confidence bands.
    at_risk
        Add the table of customers at risk (and churned, censored) under the
        x axis (lifelines' ``add_at_risk_counts``).
    title, figsize
        Figure title (default from the grouping) and size in inches (default:
        taller with more groups, to leave room for the at-risk table).

    Returns
    -------
    matplotlib.figure.Figure
        One step line per group, labelled with the group name and its median.

    Examples
    --------
    >>> import polars as pl
    >>> sf = pl.DataFrame({"duration_days": [100, 120, 130, 95, 200, 150],
    ...                    "churned": [True, True, False, True, False, True]})
    >>> fig = plot_survival(kaplan_meier(sf))
    >>> [line.get_label() for line in fig.axes[0].get_lines() if not line.get_label().startswith("_")]
    ['all (median 150 days)']
    """
    _import_lifelines()
    with warnings.catch_warnings():
        from lifelines.plotting import add_at_risk_counts  # imports matplotlib.pyplot

    groups = km.summary["group"].to_list()
    fig, ax = _figure(figsize or (8.0, 4.5 + (0.6 * len(groups) + 0.4 if at_risk else 0.0)))
    medians = dict(zip(km.summary["group"].to_list(), km.summary["median_days"].to_list(), strict=True))
    fitters = []
    for group in groups:
        fitter = km.fitters[group]
        med = medians[group]
        label = f"{group} (median {med:.0f} days)" if med is not None else f"{group} (median not reached)"
        curve = km.curves.filter(pl.col("group") == group)
        (line,) = ax.step(curve["days"].to_numpy(), curve["survival"].to_numpy(), where="post", label=label)
        if ci:
            ax.fill_between(curve["days"].to_numpy(), curve["lower"].to_numpy(), curve["upper"].to_numpy(),
                            step="post", alpha=0.2, color=line.get_color(), linewidth=0)
        fitters.append(fitter)
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    ax.set_xlabel("days since first purchase")
    ax.set_ylabel("share not yet churned")
    ax.set_title(title or (f"Retention by {km.by}" if km.by else "Retention"))
    ax.axhline(0.5, color="grey", linewidth=0.8, linestyle=":")
    ax.legend(loc="best", frameon=False)
    if at_risk:
        add_at_risk_counts(*fitters, ax=ax, labels=groups, rows_to_show=["At risk", "Events"])
    return fig


def plot_hazard_ratios(model: CoxChurnModel | RepurchaseModel, *, figsize: tuple[float, float] | None = None) -> Figure:
    """Forest plot of the hazard ratios with their intervals, on a log scale.

    Returns
    -------
    matplotlib.figure.Figure
        One point and interval per term (top to bottom in the order of
        ``hazard_ratios_``), the y tick labels being the terms, and a line at 1.

    Examples
    --------
    >>> import polars as pl, numpy as np
    >>> rng = np.random.default_rng(1)
    >>> g = rng.choice(["app", "web"], 300)
    >>> days = (rng.exponential(np.where(g == "web", 50, 100)) + 90).astype(int)
    >>> sf = pl.DataFrame({"customer_id": np.arange(300), "duration_days": days, "churned": days < 300,
    ...                    "first_channel": g})
    >>> fig = plot_hazard_ratios(CoxChurnModel(["first_channel"]).fit(sf))
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['first_channel=app']
    """
    model._check_fitted()
    hr = model.hazard_ratios_
    n = hr.height
    fig, ax = _figure(figsize or (7.0, 1.2 + 0.35 * n))
    y = np.arange(n)[::-1]
    ratio = hr["hazard_ratio"].to_numpy()
    err = np.vstack([ratio - hr["lower"].to_numpy(), hr["upper"].to_numpy() - ratio])
    ax.errorbar(ratio, y, xerr=err, fmt="o", color="C0", ecolor="C0", capsize=3)
    ax.axvline(1.0, color="grey", linewidth=0.8, linestyle="--")
    ax.set_xscale("log")
    _nice_log_ticks(ax, np.concatenate([hr["lower"].to_numpy(), hr["upper"].to_numpy(), [1.0]]))
    ax.set_yticks(y, hr["term"].to_list())
    words = "faster return" if isinstance(model, RepurchaseModel) else "earlier churn"
    ax.set_xlabel(f"hazard ratio ({1 - model.alpha:.0%} interval; above 1: {words})")
    ax.set_title("Hazard ratios")
    return fig


def _nice_log_ticks(ax, values: np.ndarray) -> None:
    """Ticks at 0.1, 0.2, 0.5, 1, 2, 5, ... within the finite, positive range of ``values``, as plain numbers."""
    from matplotlib.ticker import FixedLocator, NullFormatter, StrMethodFormatter

    finite = values[np.isfinite(values) & (values > 0)]
    lo, hi = float(finite.min()), float(finite.max())
    ticks = [m * 10.0 ** e for e in range(-4, 5) for m in (1, 2, 5) if lo / 1.2 <= m * 10.0 ** e <= hi * 1.2]
    if ticks:
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_major_formatter(StrMethodFormatter("{x:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())


def plot_inter_purchase_times(
    gaps: Frame,
    *,
    by: str | None = None,
    max_days: float | None = None,
    max_groups: int = 15,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Box plots of the days between repurchases, one box per group.

    Parameters
    ----------
    gaps
        The result of :func:`inter_purchase_times` (``gap_days`` and the
        ``by`` column).
    by
        The group column of ``gaps``; None for one box.
    max_days
        Cut the x axis here (the boxes are still computed on all gaps).
    max_groups
        Show the groups with the most gaps, at most this many.

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
    data = _collect(gaps)
    require_columns(data, ["gap_days"] + ([by] if by else []), table="gaps", purpose="to plot")
    key = by or "_all"
    if by is None:
        data = data.with_columns(_all=pl.lit("all"))
    g = pl.col("gap_days").cast(pl.Float64)
    stats = (
        data.with_columns(pl.col(key).cast(pl.String).fill_null(MISSING))
        .group_by(key)
        .agg(n=pl.len(), med=g.median(), q1=g.quantile(0.25, "linear"), q3=g.quantile(0.75, "linear"),
             lo=g.quantile(0.05, "linear"), hi=g.quantile(0.95, "linear"), mean=g.mean())
        .sort("n", descending=True).head(max_groups).sort("med", key, descending=[True, False])
    )
    boxes = [
        {"label": f"{row[key]} ({row['n']:,} gaps)", "med": row["med"], "q1": row["q1"], "q3": row["q3"],
         "whislo": row["lo"], "whishi": row["hi"], "mean": row["mean"], "fliers": []}
        for row in stats.iter_rows(named=True)
    ]
    fig, ax = _figure(figsize or (8.0, 1.2 + 0.45 * len(boxes)))
    ax.bxp(boxes, orientation="horizontal", patch_artist=True, showfliers=False,
           boxprops={"facecolor": "C0", "alpha": 0.5}, medianprops={"color": "black", "gid": "median"})
    ax.invert_yaxis()  # the longest cycle on top
    ax.set_xlabel("days between purchases")
    ax.set_ylabel("")
    ax.set_title("Repurchase cycles" + (f" by {by}" if by else ""))
    return fig


def plot_risk_distribution(
    warning: Frame,
    *,
    column: str = "p_churn_next",
    bins: int = 20,
    bands: tuple[float, float] | None = (0.5, 0.2),
    figsize: tuple[float, float] = (7.0, 4.5),
) -> Figure:
    """Histogram of the early-warning churn probabilities.

    Parameters
    ----------
    warning
        The list of :meth:`RepurchaseModel.early_warning`.
    column
        The probability to plot (``p_churn_next`` or ``p_churn``).
    bins
        Number of equal-width bins on [0, 1].
    bands
        Draw the band cut-offs as vertical lines (None: none).

    Returns
    -------
    matplotlib.figure.Figure
        Bars counting customers per probability bin (null probabilities are
        left out and their count shown in the title).

    Examples
    --------
    >>> import polars as pl
    >>> fig = plot_risk_distribution(pl.DataFrame({"p_churn_next": [0.0, 0.1, 0.7, 0.9]}), bins=2)
    >>> [float(p.get_height()) for p in fig.axes[0].patches]
    [2.0, 2.0]
    """
    check_frame(warning, argument="warning")
    data = _collect(warning)
    require_columns(data, [column], table="early-warning list", purpose="to plot")
    values = data[column].cast(pl.Float64)
    missing = values.null_count() + int(values.is_nan().sum())
    values = values.drop_nulls().drop_nans().to_numpy()
    fig, ax = _figure(figsize)
    ax.hist(values, bins=np.linspace(0, 1, bins + 1), color="C3", edgecolor="white")
    for cut in bands or ():
        ax.axvline(cut, color="grey", linestyle="--", linewidth=0.8)
    ax.set_xlim(0, 1)
    ax.set_xlabel(column.replace("_", " "))
    ax.set_ylabel("customers")
    note = f" ({missing:,} without a probability)" if missing else ""
    ax.set_title(f"Churn risk of {values.size:,} active customers{note}")
    return fig
