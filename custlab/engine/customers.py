"""Per-customer aggregations on any engine: RFM, CLV summaries and patterns, the survival base, repurchase gaps.

Each function here is the engine path of a custlab function of the same name
(:func:`custlab.segments.rfm_table`, :func:`custlab.clv.clv_summary`, ...),
which dispatches to it when given a DuckDB relation, a PySpark DataFrame or
another lazy table narwhals wraps. The group-bys run on the engine; the
per-customer (or per-pattern) result is collected as polars and finished by
the same polars code as custlab's own path, so the tables agree: integers
exactly, money to the last bit where custlab adds whole millionths (RFM), and
other float sums to about 1e-15 (the order of additions differs by engine).

The tables are as large as the customer base. :func:`clv_patterns`,
:func:`spend_patterns` and :func:`survival_counts` are what the models need
and stay small whatever the number of customers: fit BG/NBD on
``clv_patterns(...)`` directly (the models read the ``weight`` column).
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Sequence

import narwhals as nw
import numpy as np
import polars as pl

from custlab._dates import as_datetime, as_of_after, last_day_included
from custlab._money import MICRO
from custlab._types import DateLike
from custlab.churn._common import MISSING, ChurnDataWarning, _check_days, _fmt
from custlab.churn.frames import AGE_BINS, _base_table, _join_attributes
from custlab.clv.summary import (
    _grain, _occasion, _refuse_missing, _show, _split_ends, _summary_columns, freq_unit,
)
from custlab.engine._nw import (
    check_columns, collect, count_where, day_number, epoch_day, first_rows, lazy, round_half_even, running,
)
from custlab.exceptions import CustlabError, EmptyDataError
from custlab.segments.rfm import _finish

__all__ = [
    "calibration_holdout", "clv_patterns", "clv_summary", "diagnostic_counts", "gap_counts", "inter_purchase_times", "rfm_table",
    "spend_patterns", "survival_counts", "survival_frame",
]


def _transactions(transactions: object, function: str, kinds: dict[str, str]) -> nw.LazyFrame:
    """The transactions as a narwhals LazyFrame with canonical dtypes for ``kinds``' columns.

    ``amount`` is ``quantity * unit_price`` when absent, as custlab's validation does.
    """
    frame = lazy(transactions, function=function)
    names = frame.collect_schema().names()
    if "amount" in kinds and "amount" not in names and {"quantity", "unit_price"} <= set(names):
        frame = frame.with_columns(amount=nw.col("quantity").cast(nw.Float64) * nw.col("unit_price").cast(nw.Float64))
    check_columns(frame, kinds, function=function)
    casts = {"amount": nw.col("amount").cast(nw.Float64)} if "amount" in kinds else {}
    if "order_date" in kinds:
        casts["order_date"] = nw.col("order_date").cast(nw.Datetime("us"))
    return frame.with_columns(**casts)


# ---------------------------------------------------------------------------
# RFM
# ---------------------------------------------------------------------------

def _line_problems() -> tuple[tuple[nw.Expr, str, str], ...]:
    """Lines RFM refuses: (test, description, the clean_transactions rules that remove them), as custlab's own path."""
    amount = nw.col("amount")
    return (
        (nw.col("customer_id").is_null(), "no customer_id", "'missing_customer'"),
        (amount < 0, "a negative amount (returns or cancellations left in)", "'cancelled', 'returned'"),
        (amount.is_null() | amount.is_nan() | ~amount.is_finite(), "no amount (missing, NaN or infinite)",
         "'missing_value', 'invalid_amount'"),
        (nw.col("order_date").is_null(), "no order_date", "'missing_value'"),
        (nw.col("order_id").is_null(), "no order_id", "'missing_value'"),
        (amount.abs() > 1.7e302, "an amount too large to add (above 1.8e302)", "'invalid_amount'"),
    )


def _raise_line_problems(lines: nw.LazyFrame, function: str) -> None:
    """Count the lines RFM refuses, on the engine, and raise for the first kind found."""
    problems = _line_problems()
    found = collect(lines.select(*[count_where(test).alias(f"p{i}") for i, (test, _, _) in enumerate(problems)]))
    for count, (test, what, rule) in zip(found.row(0), problems, strict=True):
        if count:
            bad = lines.filter(test.fill_null(False))
            customers = collect(bad.select(nw.col("customer_id").n_unique())).item()
            sample = sorted({r["customer_id"] for r in first_rows(bad.filter(~nw.col("customer_id").is_null())
                                                                        .select("customer_id"), 50)})[:5]
            whose = f" for about {customers:,} customer(s), e.g. customer_id {sample}" if sample else ""
            raise CustlabError(
                f"custlab.{function}: the transactions hold {count:,} line(s) with {what}{whose}. RFM counts "
                f"purchases only: remove them first with custlab.data.clean_transactions(tx) (rules {rule})."
            )


def rfm_table(transactions: object, *, as_of: DateLike | None = None) -> pl.DataFrame:
    """:func:`custlab.segments.rfm_table` on the engine holding ``transactions``.

    Same columns, rows and dtypes as custlab's own path; money is added in whole
    millionths (rounded half to even, as polars rounds) so ``monetary`` has the
    same bits on every engine. Lines RFM refuses are counted on the engine and
    raise the same kind of error. Collected: one row per customer.

    Examples
    --------
    >>> import duckdb, datetime as dt
    >>> rel = duckdb.sql("SELECT * FROM (VALUES (1, 'a', TIMESTAMP '2024-01-01 09:00', 10.0), "
    ...     "(1, 'b', TIMESTAMP '2024-01-20 15:00', 30.0), (2, 'c', TIMESTAMP '2024-01-31 08:00', 5.0)) "
    ...     "t(customer_id, order_id, order_date, amount)")
    >>> rfm_table(rel).select("customer_id", "recency", "frequency", "monetary").rows()
    [(1, 12, 2, 40.0), (2, 1, 1, 5.0)]
    """
    function = "segments.rfm_table"
    lines = _transactions(transactions, function, {
        "customer_id": "any", "order_id": "any", "order_date": "date", "amount": "numeric"})
    as_of_dt = as_datetime(as_of)
    with running(function, lines):
        if as_of_dt is not None:
            lines = lines.filter(nw.col("order_date") < as_of_dt)
        refused = nw.any_horizontal(*[test.fill_null(False) for test, _, _ in _line_problems()], ignore_nulls=False)
        per = collect(lines.group_by("customer_id").agg(
            frequency=nw.col("order_id").n_unique().cast(nw.Int64),
            micros=round_half_even(nw.col("amount") * MICRO).sum(),
            first_order=nw.col("order_date").min(),
            last_order=nw.col("order_date").max(),
            _refused=count_where(refused),
        ))
        if per["customer_id"].null_count() or per["_refused"].sum():
            _raise_line_problems(lines, function)
        if per.height == 0:
            first = collect(lazy(transactions, function=function).select(nw.col("order_date").min())).item()
            when = f"as_of={as_of_dt:%Y-%m-%d %H:%M} is on or before the first order ({first:%Y-%m-%d %H:%M})" \
                if first is not None else "the transactions table has no rows"
            raise EmptyDataError(f"custlab.{function}: {when}; there is nothing to compute RFM on.")
    return _finish(per.drop("_refused").lazy(), as_of=as_of_dt).collect()


# ---------------------------------------------------------------------------
# CLV summaries and their patterns
# ---------------------------------------------------------------------------


def _occasion_index(day: nw.Expr, instant: nw.Expr, freq: str, grain: str) -> nw.Expr:
    """The integer time index of a purchase, as :func:`custlab.clv.summary._occasion` on polars."""
    if grain == "day" or freq == "D":
        return day
    if freq == "W":  # weeks starting on Monday; 1970-01-05 (day 4) was a Monday
        return (day - 4) // 7
    year, month = instant.dt.year().cast(nw.Int64), instant.dt.month().cast(nw.Int64)
    if freq == "M":
        return year * 12 + month - 1
    return year * 4 + (month - 1) // 3


def _clv_lines(transactions: object, function: str) -> tuple[nw.LazyFrame, dt.datetime, dt.datetime]:
    """Checked lines (``customer_id``, ``order_date``, ``day``, ``amount``) and the first and last order instants."""
    lines = _transactions(transactions, function, {"customer_id": "any", "order_date": "date", "amount": "numeric"})
    with running(function, lines):
        stats = collect(lines.select(
            rows=nw.len(),
            first=nw.col("order_date").min(),
            last=nw.col("order_date").max(),
            null_customer=count_where(nw.col("customer_id").is_null()),
            null_date=count_where(nw.col("order_date").is_null()),
            null_amount=count_where(nw.col("amount").is_null() | nw.col("amount").is_nan()),
        )).row(0, named=True)
    _refuse_missing(stats, caller=f"custlab.{function}",
                    remedy="custlab.engine.clean_transactions on the engine (rules 'missing_customer' and "
                           "'missing_value')")
    return lines.with_columns(day=epoch_day(nw.col("order_date"))), stats["first"], stats["last"]


def _per_customer(lines: nw.LazyFrame, end: dt.datetime, freq: str, grain: str) -> nw.LazyFrame:
    """Per customer: ``n`` purchases, ``first``/``last`` time index and ``repeat_spend``, lazily on the engine."""
    occasions = (
        lines.filter(nw.col("order_date") < end)
        .with_columns(occasion=_occasion_index(nw.col("day"), nw.col("order_date"), freq, grain))
        .group_by("customer_id", "occasion").agg(spend=nw.col("amount").sum())
        .with_columns(first=nw.col("occasion").min().over("customer_id"))
    )
    return occasions.group_by("customer_id").agg(
        n=nw.len().cast(nw.Int64),
        first=nw.col("first").min(),
        last=nw.col("occasion").max(),
        repeat_spend=(nw.col("spend") * (nw.col("occasion") != nw.col("first")).cast(nw.Float64)).sum(),
    )


def _summary_setup(transactions: object, function: str, as_of: DateLike | None, freq: str, grain: str
                   ) -> tuple[nw.LazyFrame, dt.datetime, str, str]:
    freq, grain = freq_unit(freq), _grain(grain)
    lines, first, last = _clv_lines(transactions, function)
    end = as_of_after(last) if as_of is None else as_datetime(as_of, "as_of")
    if end <= first:
        raise EmptyDataError(
            f"custlab.{function}: as_of={_show(end)} is not after the first order ({_show(first)}); no customer "
            f"to summarise (history is order_date < as_of)."
        )
    return lines, end, freq, grain


def clv_summary(transactions: object, *, as_of: DateLike | None = None, freq: str = "W",
                grain: str = "day") -> pl.DataFrame:
    """:func:`custlab.clv.clv_summary` on the engine holding ``transactions`` (one row per customer).

    For many customers use :func:`clv_patterns` and :func:`spend_patterns`,
    which the models fit on directly.
    """
    function = "clv.clv_summary"
    lines, end, freq, grain = _summary_setup(transactions, function, as_of, freq, grain)
    _, index_of, unit = _occasion(freq, grain)
    with running(function, lines):
        per = collect(_per_customer(lines, end, freq, grain))
    return _summary_columns(per.lazy(), index_of(last_day_included(end)), unit).collect()


def clv_patterns(transactions: object, *, as_of: DateLike | None = None, freq: str = "W",
                 grain: str = "day", spend: bool = False) -> pl.DataFrame:
    """The distinct (frequency, recency, T) of :func:`clv_summary` with the number of customers in each.

    Grouped on the engine, on the integer time indices: a few thousand rows
    whatever the number of customers. ``BetaGeo().fit(patterns)`` (or any
    counting model) fits on it as on the per-customer summary, to the same
    parameters.

    With ``spend=True`` each pattern also carries ``monetary_value``: the mean
    of its customers' mean repeat spends (0 for one-time buyers). Gamma-Gamma's
    expected spend is linear in a customer's mean spend at a given frequency,
    so a pattern's CLV times its ``weight`` is exactly the sum of its
    customers' CLVs: the total CLV of any number of customers from these rows.

    Returns
    -------
    pl.DataFrame
        ``frequency`` (Int64), ``recency``, ``T`` (Float64, in units of
        ``freq``), ``weight`` (Int64, customers), with ``spend`` also
        ``monetary_value`` (Float64); sorted by the first three.

    Examples
    --------
    >>> import duckdb
    >>> rel = duckdb.sql("SELECT * FROM (VALUES (1, DATE '2024-01-01', 10.0), (1, DATE '2024-01-15', 20.0), "
    ...     "(2, DATE '2024-01-08', 7.0), (3, DATE '2024-01-08', 5.0)) t(customer_id, order_date, amount)")
    >>> clv_patterns(rel, as_of="2024-01-30", freq="W").rows()
    [(0, 0.0, 3.0, 2), (1, 2.0, 4.0, 1)]
    """
    function = "engine.clv_patterns"
    lines, end, freq, grain = _summary_setup(transactions, function, as_of, freq, grain)
    _, index_of, unit = _occasion(freq, grain)
    end_index = index_of(last_day_included(end))
    mean_spend = nw.when(nw.col("n") > 1).then(nw.col("repeat_spend") / (nw.col("n") - 1).cast(nw.Float64))
    sums = {"_spend": nw.col("_spend").sum()} if spend else {}
    with running(function, lines):
        grouped = collect(
            _per_customer(lines, end, freq, grain)
            .select(frequency=nw.col("n") - 1, _span=nw.col("last") - nw.col("first"),
                    _age=end_index - nw.col("first"), _spend=mean_spend.otherwise(0.0))
            .group_by("frequency", "_span", "_age")
            .agg(weight=nw.len().cast(nw.Int64), **sums)
        )
    extra = {"monetary_value": pl.col("_spend").cast(pl.Float64) / pl.col("weight")} if spend else {}
    return grouped.select(
        pl.col("frequency").cast(pl.Int64),
        recency=pl.col("_span").cast(pl.Float64) / unit,
        T=pl.col("_age").cast(pl.Float64) / unit,
        weight="weight",
        **extra,
    ).sort("frequency", "recency", "T")


def spend_patterns(transactions: object, *, as_of: DateLike | None = None, freq: str = "W", grain: str = "day",
                   relative_step: float | None = None) -> pl.DataFrame:
    """The distinct (frequency, monetary_value) of the repeat customers, with the number of customers in each.

    ``GammaGamma().fit(patterns)`` fits on it. ``monetary_value`` is continuous,
    so exact patterns are about as many as repeat customers; with
    ``relative_step`` (e.g. ``1e-3``) the mean spends are grouped into bins of
    that relative width (logarithmic) on the engine and each bin is
    represented by its customers' mean, which bounds the table (to about
    ``log(max/min) / relative_step`` bins per frequency) at a small cost in
    precision (measured in the README: Gamma-Gamma parameters move by less
    than 1e-3 relative with ``1e-3``).

    Returns
    -------
    pl.DataFrame
        ``frequency`` (Int64, > 0), ``monetary_value`` (Float64), ``weight``
        (Int64), sorted by the first two.
    """
    function = "engine.spend_patterns"
    if relative_step is not None and not (isinstance(relative_step, (int, float)) and 0 < relative_step < 1):
        raise CustlabError(f"relative_step must be None or a number in (0, 1), such as 1e-3; got {relative_step!r}.")
    lines, end, freq, grain = _summary_setup(transactions, function, as_of, freq, grain)
    with running(function, lines):
        repeat = (
            _per_customer(lines, end, freq, grain)
            .filter(nw.col("n") > 1)
            .with_columns(frequency=nw.col("n") - 1)
            .with_columns(monetary_value=nw.col("repeat_spend") / nw.col("frequency").cast(nw.Float64))
        )
        if relative_step is None:
            grouped = repeat.group_by("frequency", "monetary_value").agg(weight=nw.len().cast(nw.Int64))
        else:
            step = float(np.log1p(relative_step))
            positive = nw.col("monetary_value") > 0
            binned = repeat.with_columns(
                _bin=nw.when(positive).then((nw.col("monetary_value").log() / step).floor()).otherwise(None),
                _low=nw.when(positive).then(None).otherwise(nw.col("monetary_value")),
            )
            grouped = binned.group_by("frequency", "_bin", "_low").agg(
                monetary_value=nw.col("monetary_value").mean(), weight=nw.len().cast(nw.Int64),
            ).select("frequency", "monetary_value", "weight")
        out = collect(grouped)
    return out.select(pl.col("frequency").cast(pl.Int64), pl.col("monetary_value").cast(pl.Float64),
                      "weight").sort("frequency", "monetary_value")


def calibration_holdout(transactions: object, *, calibration_end: DateLike, observation_end: DateLike | None = None,
                        freq: str = "W", grain: str = "day") -> pl.DataFrame:
    """:func:`custlab.clv.calibration_holdout` on the engine holding ``transactions`` (one row per customer)."""
    function = "clv.calibration_holdout"
    freq, grain = freq_unit(freq), _grain(grain)
    lines, first, last = _clv_lines(transactions, function)
    cal_end, obs_end = _split_ends(calibration_end, observation_end, first, last, caller=f"custlab.{function}")
    _, index_of, unit = _occasion(freq, grain)
    with running(function, lines):
        holdout = (
            lines.filter((nw.col("order_date") >= cal_end) & (nw.col("order_date") < obs_end))
            .with_columns(_occasion=_occasion_index(nw.col("day"), nw.col("order_date"), freq, grain))
            .group_by("customer_id")
            .agg(holdout_purchases=nw.col("_occasion").n_unique().cast(nw.Int64),
                 holdout_spend=nw.col("amount").sum())
        )
        per = collect(_per_customer(lines, cal_end, freq, grain).join(holdout, on="customer_id", how="left"))
    duration = (index_of(last_day_included(obs_end)) - index_of(last_day_included(cal_end))) / unit
    calibration = _summary_columns(per.lazy(), index_of(last_day_included(cal_end)), unit)
    return (
        calibration.join(per.lazy().select("customer_id", "holdout_purchases", "holdout_spend"), on="customer_id",
                         how="left", maintain_order="left")
        .with_columns(
            pl.col("holdout_purchases").cast(pl.Int64).fill_null(0),
            pl.col("holdout_spend").cast(pl.Float64).fill_null(0.0),
            holdout_duration=pl.lit(float(duration)),
        )
        .collect()
    )


# ---------------------------------------------------------------------------
# Survival base and repurchase gaps
# ---------------------------------------------------------------------------


def _prepare(transactions: object, as_of: DateLike | None, function: str
             ) -> tuple[nw.LazyFrame, dt.datetime, list[str]]:
    """Lines with a customer and a date before ``as_of`` (plus ``_day``); warn with the counts left out."""
    lines = _transactions(transactions, function, {"customer_id": "any", "order_id": "any", "order_date": "date",
                                                   "amount": "numeric"})
    names = lines.collect_schema().names()
    with running(function, lines):
        stats = collect(lines.select(
            lines=nw.len(), no_customer=count_where(nw.col("customer_id").is_null()),
            no_date=count_where(nw.col("order_date").is_null()),
            first=nw.col("order_date").min(), last=nw.col("order_date").max(),
        )).row(0, named=True)
    if stats["lines"] == 0 or stats["first"] is None:
        raise EmptyDataError(f"custlab.{function}: the transactions table has no dated lines; there is nothing to analyse.")
    default = as_of_after(stats["last"])
    moment = as_datetime(as_of) if as_of is not None else default
    if moment <= stats["first"]:
        raise CustlabError(
            f"custlab.{function}: as_of={_fmt(moment)} is not after the data: the first order is dated "
            f"{_fmt(stats['first'])}. Pass an as_of after {stats['first']:%Y-%m-%d}, or None for the day after "
            f"the last order ({default:%Y-%m-%d})."
        )
    after = collect(lines.select(count_where(nw.col("order_date") >= moment))).item() if moment <= stats["last"] else 0
    excluded = {"without a customer_id": stats["no_customer"], "without an order_date": stats["no_date"],
                f"dated at or after as_of={_fmt(moment)}": after}
    if any(excluded.values()):
        parts = ", ".join(f"{n:,} {why}" for why, n in excluded.items() if n)
        warnings.warn(f"{function}: {sum(excluded.values()):,} of {stats['lines']:,} transaction lines were left "
                      f"out: {parts}.", ChurnDataWarning, stacklevel=3)
    kept = lines.filter(~nw.col("customer_id").is_null() & ~nw.col("order_date").is_null()
                        & (nw.col("order_date") < moment))
    return kept.with_columns(_day=epoch_day(nw.col("order_date"))), moment, names


def _survival_per_customer(lines: nw.LazyFrame, names: Sequence[str]) -> nw.LazyFrame:
    """Per-customer aggregates of the survival frame, lazily on the engine.

    The first order is the smallest order id among the lines at the customer's
    earliest instant; its category is that of its largest line (smallest
    category on ties), its channel the smallest one, as on custlab's own path.
    """
    main = lines.group_by("customer_id").agg(
        first_purchase=nw.col("order_date").min(),
        last_purchase=nw.col("order_date").max(),
        n_orders=nw.col("order_id").n_unique().cast(nw.Int64),
        _first_day=nw.col("_day").min(),
        _last_day=nw.col("_day").max(),
    )
    first_id = (
        lines.join(main.select("customer_id", "first_purchase"), on="customer_id")
        .filter(nw.col("order_date") == nw.col("first_purchase"))
        .group_by("customer_id").agg(_first_order=nw.col("order_id").min())
    )
    described = [c for c in ("category", "channel") if c in names]
    first_lines = lines.select("customer_id", "order_id", "amount", *described).join(
        first_id, left_on=["customer_id", "order_id"], right_on=["customer_id", "_first_order"], how="semi")
    firsts = first_lines.group_by("customer_id").agg(
        first_order_value=nw.col("amount").sum(),
        **({"first_channel": nw.col("channel").cast(nw.String).min()} if "channel" in described else {}),
    )
    if "category" in described:
        largest = (
            first_lines.with_columns(_top=nw.col("amount").max().over("customer_id"))
            .filter(nw.col("amount") == nw.col("_top"))
            .group_by("customer_id").agg(first_category=nw.col("category").cast(nw.String).min())
        )
        firsts = firsts.join(largest, on="customer_id", how="left")
    return main.join(firsts, on="customer_id", how="left")


def survival_frame(
    transactions: object, *, as_of: DateLike | None = None, inactivity_days: int = 90,
    customers: pl.DataFrame | None = None,
    segments: pl.DataFrame | None = None, segment_column: str = "segment",
    age_bins: Sequence[float] | None = AGE_BINS,
) -> pl.DataFrame:
    """:func:`custlab.churn.survival_frame` on the engine holding ``transactions`` (one row per customer).

    ``customers`` and ``segments`` are polars frames joined after the
    aggregation. For the Kaplan-Meier curve alone, :func:`survival_counts`
    is enough and small.
    """
    function = "churn.survival_frame"
    window = _check_days(inactivity_days, "inactivity_days")
    lines, moment, names = _prepare(transactions, as_of, function)
    extra = [f"first_{c}" for c in ("category", "channel") if c in names]
    with running(function, lines):
        per = collect(_survival_per_customer(lines, names))
    per = per.with_columns(pl.col("_first_day", "_last_day").cast(pl.Int64),
                           pl.col("first_order_value").cast(pl.Float64))
    base = _base_table(per.lazy(), day_number(moment), window, extra).collect()
    return _join_attributes(base, customers, segments, segment_column, age_bins)


def survival_counts(transactions: object, *, as_of: DateLike | None = None, inactivity_days: int = 90) -> pl.DataFrame:
    """Customers per (duration_days, churned): all a Kaplan-Meier curve needs, grouped on the engine.

    Returns
    -------
    pl.DataFrame
        ``duration_days`` (Int64), ``churned`` (Boolean), ``customers``
        (Int64), sorted; one row per distinct pair (at most a few thousand).
    """
    function = "engine.survival_counts"
    window = _check_days(inactivity_days, "inactivity_days")
    lines, moment, _ = _prepare(transactions, as_of, function)
    d = day_number(moment)
    with running(function, lines):
        per = lines.group_by("customer_id").agg(_first=nw.col("_day").min(), _last=nw.col("_day").max())
        churned = (d - nw.col("_last")) >= window
        counts = collect(
            per.with_columns(churned=churned,
                             duration_days=nw.when(churned).then(nw.col("_last") - nw.col("_first") + window)
                             .otherwise(d - nw.col("_first")))
            .group_by("duration_days", "churned").agg(customers=nw.len().cast(nw.Int64))
        )
    return counts.with_columns(pl.col("duration_days").cast(pl.Int64)).sort("duration_days", "churned")


def diagnostic_counts(transactions: object, *, as_of: DateLike | None = None, inactivity_days: int = 90,
                      early_days: int = 30, min_observed_days: int | None = None
                      ) -> tuple[dt.datetime, dict[str, int], pl.DataFrame]:
    """The counts of :func:`custlab.churn.churn_diagnostics`, on the engine: ``(as_of, counts, gaps)``.

    ``counts``: ``silences`` (first W-day silences begun at least
    ``min_observed_days`` before ``as_of``) and ``never`` (of them, not ended),
    ``churned`` and ``early`` (customers first seen that long ago who churned,
    and of them those whose last purchase came within ``early_days`` of their
    first); ``gaps``: customers per number of days to a second purchase
    (``gap``, ``customers``), for those whose second purchase came within W days.
    """
    function = "churn.churn_diagnostics"
    window = _check_days(inactivity_days, "inactivity_days")
    observed = 2 * window if min_observed_days is None else min_observed_days
    lines, moment, _ = _prepare(transactions, as_of, function)
    d = day_number(moment)
    with running(function, lines):
        days = (lines.select("customer_id", "_day").unique()
                .with_columns(_next=nw.col("_day").shift(-1).over("customer_id", order_by="_day")))
        gap = nw.when(nw.col("_next").is_null()).then(d - nw.col("_day")).otherwise(nw.col("_next") - nw.col("_day"))
        per = days.with_columns(_silent=gap >= window).group_by("customer_id").agg(
            first=nw.col("_day").min(), last=nw.col("_day").max(), second=nw.col("_next").min(),
            start=nw.when(nw.col("_silent")).then(nw.col("_day")).otherwise(None).min())
        seen = nw.col("first") <= d - observed
        churned = seen & ((d - nw.col("last")) >= window)
        began = ~nw.col("start").is_null() & (nw.col("start") <= d - observed)
        counts = collect(per.select(
            silences=count_where(began), never=count_where(began & (nw.col("start") >= nw.col("last"))),
            churned=count_where(churned), early=count_where(churned & ((nw.col("last") - nw.col("first")) <= early_days)),
        )).row(0, named=True)
        back = nw.col("second") - nw.col("first")
        gaps = collect(per.filter(seen & ~nw.col("second").is_null() & (back <= window)).with_columns(gap=back)
                       .group_by("gap").agg(customers=nw.len().cast(nw.Int64)))
    return moment, {k: int(v or 0) for k, v in counts.items()}, gaps.with_columns(pl.col("gap").cast(pl.Int64))


def _purchase_days(transactions: object, by: str | None, as_of: DateLike | None, function: str
                   ) -> tuple[nw.LazyFrame, list[str], bool, list[str], dt.datetime]:
    """Distinct purchase days (customer, [by], ``_day``) and the gap to the next one, lazily."""
    lines, moment, names = _prepare(transactions, as_of, function)
    product_level = by is not None and by in names
    part = ["customer_id", by] if product_level else ["customer_id"]
    keyed = lines.with_columns(nw.col(by).cast(nw.String).fill_null(MISSING)) if product_level else lines
    days = keyed.select(*part, "_day").unique()
    gaps = days.with_columns(_next=nw.col("_day").shift(-1).over(*part, order_by="_day"))
    return gaps.filter(~nw.col("_next").is_null()), part, product_level, names, moment


def inter_purchase_times(
    transactions: object, *, by: str | None = None, as_of: DateLike | None = None,
    customers: pl.DataFrame | None = None,
    segments: pl.DataFrame | None = None, segment_column: str = "segment",
    age_bins: Sequence[float] | None = AGE_BINS,
) -> pl.DataFrame:
    """:func:`custlab.repurchase.inter_purchase_times` on the engine: every completed gap, collected.

    The result has one row per repurchase (about as many as orders): on a
    large table prefer :func:`gap_counts`, the distribution, which is small.
    A ``by`` that is a customer attribute (from ``customers``/``segments``,
    ``first_category``, ``age_group``) labels the gaps after collecting them.
    """
    function = "repurchase.inter_purchase_times"
    gaps_lf, part, product_level, names, moment = _purchase_days(transactions, by, as_of, function)
    with running(function, gaps_lf):
        gaps = collect(gaps_lf)
    gaps = gaps.select(
        *part,
        purchase_date=pl.col("_day").cast(pl.Int32).cast(pl.Date),
        next_purchase_date=pl.col("_next").cast(pl.Int32).cast(pl.Date),
        gap_days=(pl.col("_next") - pl.col("_day")).cast(pl.Int64),
    ).sort(*part, "purchase_date")
    if by is None or product_level:
        return gaps
    base = survival_frame(transactions, as_of=moment, inactivity_days=1, customers=customers, segments=segments,
                          segment_column=segment_column, age_bins=age_bins)
    if by not in base.columns:
        raise CustlabError(
            f"custlab.{function}: by={by!r} is neither a transactions column ({names}) nor a customer attribute "
            f"({base.columns[1:]}). Pass customers= or segments= to group by customer attributes."
        )
    labels = base.select("customer_id", pl.col(by).cast(pl.String).fill_null(MISSING))
    return gaps.join(labels, on="customer_id", how="left").select("customer_id", by, "purchase_date",
                                                                 "next_purchase_date", "gap_days")


def gap_counts(transactions: object, *, by: str | None = None, as_of: DateLike | None = None) -> pl.DataFrame:
    """The distribution of the days between repurchases, counted on the engine (small whatever the data).

    Parameters
    ----------
    by
        None, or a transactions column (``category``, ``product_id``): gaps
        between the days a customer bought that value, as in
        :func:`custlab.repurchase.inter_purchase_times`.

    Returns
    -------
    pl.DataFrame
        The ``by`` column (String) when given, ``gap_days`` (Int64), ``gaps``
        (Int64, completed gaps of that length), sorted.
    """
    function = "engine.gap_counts"
    gaps_lf, part, product_level, names, _ = _purchase_days(transactions, by, as_of, function)
    if by is not None and not product_level:
        raise CustlabError(f"custlab.{function}: by={by!r} is not a transactions column; columns: {names}.")
    keys = part[1:]
    with running(function, gaps_lf):
        counts = collect(gaps_lf.with_columns(gap_days=nw.col("_next") - nw.col("_day"))
                         .group_by(*keys, "gap_days").agg(gaps=nw.len().cast(nw.Int64)))
    return counts.with_columns(pl.col("gap_days").cast(pl.Int64)).sort(*keys, "gap_days")
