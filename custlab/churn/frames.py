"""Who is a customer at ``as_of``, and when each one churned: the survival frame and the threshold table.

``as_of`` is the first instant that is not history (see :mod:`custlab._dates`):
orders dated before it count. A customer has churned at ``as_of`` when their
last purchase day is W = ``inactivity_days`` or more days before the calendar
date of ``as_of``; the churn is dated last purchase day + W.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from custlab._dates import as_datetime, as_of_after
from custlab._grouping import (
    RUN_SIZE_LIMIT,
    dense_ids,
    dense_size,
    extremes_per_id,
    largest_per_id,
    looks_ordered,
    order_runs,
    run_micros,
    scattered,
    smallest_per_id,
)
from custlab._money import from_micros, micros
from custlab._types import DateLike, Frame
from custlab.churn._common import (
    ChurnDataWarning,
    _check_days,
    _collect,
    _day_number,
    _fmt,
    _from_day_number,
)
from custlab.data.schema import check_frame, require_columns, validate
from custlab.exceptions import CustlabError, EmptyDataError, SchemaError

__all__ = ["AGE_BINS", "churn_threshold_table", "survival_frame"]

#: Default age bins: ages below 25, 25-34, 35-44, 45-54 and 55 or more.
AGE_BINS: tuple[float, ...] = (25, 35, 45, 55)


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
    default = as_of_after(last)
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




def survival_frame(
    transactions: Frame,
    *,
    as_of: DateLike | None = None,
    inactivity_days: int = 90,
    customers: Frame | None = None, segments: Frame | None = None, segment_column: str = "segment",
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
        the RFM segments of :mod:`custlab.segments`), joined as ``segment``.
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
    if not isinstance(transactions, (pl.DataFrame, pl.LazyFrame)):
        from custlab import engine as pushdown  # DuckDB, Spark...: aggregate where the data live

        if pushdown.accepts(transactions):
            return pushdown.survival_frame(transactions, as_of=as_of, inactivity_days=inactivity_days, customers=customers,
                                           segments=segments, segment_column=segment_column, age_bins=age_bins)
    window = _check_days(inactivity_days, "inactivity_days")
    base = _clean_base(transactions, as_of, window)
    if base is None:  # lines to leave out, or no lines: checked, counted and filtered first
        base = _customer_base(_prepare(transactions, as_of, caller="survival_frame"), window)
    return _join_attributes(base, customers, segments, segment_column, age_bins)


def _clean_base(transactions: Frame, as_of, window: int) -> pl.DataFrame | None:
    """The survival frame's base table in one pass over the lines, or None when some must be left out.

    Most data have no line to leave out: every line has a customer and a date, and ``as_of`` is after the
    last one. The aggregation then runs on all the lines, with no filter and no pass of its own for the
    checks: missing values in a DataFrame are counted in its metadata, those of a LazyFrame are counted by
    the aggregation itself, and the first and last purchases give the dates to check ``as_of`` against.
    When a line has to be left out (or there is none), None is returned and :func:`_prepare` counts,
    reports and filters them.
    """
    check_frame(transactions, argument="transactions")
    tx = validate(transactions, "transactions")
    if isinstance(tx, pl.DataFrame):
        if tx["customer_id"].null_count() or tx["order_date"].null_count():
            return None
        if as_of is not None and tx.height and as_datetime(as_of) <= tx["order_date"].max():
            return None  # lines from as_of on: filtered first (one column's maximum spares a whole aggregation)
        count_missing = False
    else:
        count_missing = True
    lines = tx.lazy()
    names = tuple(lines.collect_schema().names())
    main = _per_customer(lines, first_order=_described(names) != [], count_missing=count_missing,
                         frame=None if count_missing else tx)
    if main.height == 0 or (count_missing and (main["_missing"].sum() or main["customer_id"].null_count())):
        return None
    last = main["last_purchase"].max()
    moment = as_datetime(as_of) if as_of is not None else as_of_after(last)
    if moment <= last:
        return None
    as_of_day = (moment.date() - dt.date(1970, 1, 1)).days
    return _finish_base(main, lines, names, as_of_day, window)


def _customer_base(prep: _Prepared, window: int) -> pl.DataFrame:
    main = _per_customer(prep.lines, first_order=_described(prep.names) != [])
    return _finish_base(main, prep.lines, prep.names, prep.as_of_day, window)


def _described(names: Sequence[str]) -> list[str]:
    """The columns whose value on the first order the base table gives (``first_category``, ``first_channel``)."""
    return [c for c in ("category", "channel") if c in names]


def _per_customer(lines: pl.LazyFrame, *, first_order: bool, count_missing: bool = False,
                  frame: pl.DataFrame | None = None) -> pl.DataFrame:
    """Per customer: first and last purchase (instants and day numbers), orders, the first order's value.

    With ``first_order``, also the first order's id (``_first_order``, to read its lines' category and
    channel); with ``count_missing``, also ``_missing``: the lines without a customer or a date (a group
    without a customer holds the lines without one, which the caller sees as a missing customer id too).
    Lines that come order by order are collapsed into runs first (:func:`_by_order_runs`); the result is
    the same, bit for bit, whatever the layout, as long as an order holds less than 2**53 millionths
    (9,007,199,254 currency units: the runs add exactly in Int64, the grouped lines exactly in float64 up to there).
    ``frame``, the lines as a DataFrame with no customer or date missing, lets numpy count the orders
    (:func:`_counted_orders`) when the ids are whole numbers.
    """
    if looks_ordered(lines):  # runs are faster than counting here (10M lines: about 0.27 s against 0.29-0.38 s)
        try:
            main = _by_order_runs(lines, first_order=first_order, count_missing=count_missing)
        except pl.exceptions.InvalidOperationError:  # an amount that is not a finite number below 2**43 millionths
            main = None
        if main is not None:
            return main
    orders = _counted_orders(frame) if frame is not None else None
    if orders is not None:
        main = _counted_customers(orders, "_at", "_last_at", "_value", first_order=first_order)
        if main is not None:
            return main.with_columns(_day_columns())
    # Lines are grouped into orders on the streaming engine, then orders by customer (by numpy when the
    # ids can index a table, :func:`_counted_customers`; else a second group-by). The first order is the one
    # with the earliest line (the smallest id when orders share that moment); its value is the sum of its
    # lines, added in whole millionths so that it does not depend on the order the engine meets them
    # (custlab._money).
    # An order id usually belongs to one customer: the lines are then grouped by order id alone (one key
    # hashes faster than two), and the orders that turn out to have several customers send the whole
    # computation down the (customer, order id) grouping, which counts them as separate orders.
    first_of = [pl.col("_at"), pl.col("order_id")]
    order = [pl.col("order_date").min().alias("_at"), micros().sum().alias("_value"),
             pl.col("order_date").max().alias("_last_at")]
    per_customer = [
        pl.col("_at").min().alias("first_purchase"),
        pl.col("_last_at").max().alias("last_purchase"),
        pl.len().cast(pl.Int64).alias("n_orders"),
        pl.col("_value").sort_by(first_of).first().alias("first_order_value"),
    ]
    if first_order:  # a second sort of each customer's orders (0.1 s for 2M orders): only when it is read
        per_customer.append(pl.col("order_id").sort_by(first_of).first().alias("_first_order"))
    if count_missing:
        order.append((pl.col("customer_id").is_null() | pl.col("order_date").is_null()).sum().alias("_missing"))
        per_customer.append(pl.col("_missing").sum())
    orders = lines.group_by("order_id").agg(
        pl.col("customer_id").min(), pl.col("customer_id").max().alias("_other"), *order
    ).collect(engine="streaming")
    if (orders["customer_id"] != orders["_other"]).any():
        orders = lines.group_by("customer_id", "order_id").agg(order).collect(engine="streaming")
    return _customers(orders.drop("_other", strict=False), "_at", "_last_at", "_value", per_customer,
                      first_order=first_order, count_missing=count_missing)


def _counted_orders(lines: pl.DataFrame) -> pl.DataFrame | None:
    """The orders of ``lines`` (a DataFrame, no customer or date missing) counted by numpy, or None when it cannot.

    When customer and order ids are whole numbers that can index a table (:func:`custlab._grouping.dense_size`),
    the lines are not hashed: each order id's customer is written into a table indexed by order id, and
    reading it back at every line checks that no order has two customers (else None;
    :func:`custlab._grouping.scattered`). An order's instant is read the same way when its lines share one,
    else its first and last instants are ``np.minimum.at`` and ``np.maximum.at``; its value is ``np.add.at``
    of whole millionths, exact in any order while an order's lines hold less than 2**53 millionths in absolute
    value (an order at or above, or with an amount that is not a finite number, gives None and the group-by
    adds it). One row per order: ``order_id``, ``customer_id``, ``_at``, ``_value``, ``_last_at``, as the
    group-by gives them (in order id order). The lines are read a block at a time
    (:func:`custlab._grouping.line_blocks`), so numpy's copies stay small.
    """
    n_orders = dense_size(lines["order_id"]) if dense_size(lines["customer_id"]) is not None else None
    if n_orders is None or lines["amount"].null_count():
        return None
    o, d = pl.col("order_id").cast(pl.Int64), pl.col("order_date")
    # The lines of an order usually share its instant: written into a table and read back beside its customer,
    # they say so (np.minimum.at and np.maximum.at take about 0.1 s each for 10M lines). Every partial sum of an
    # order's value is exact when its absolute values add up below 2**53 (they are the value when none is negative).
    adds = [micros(), micros().abs()] if lines["amount"].min() < 0 else [micros()]
    (owner, at), sums = scattered(lines, o, [pl.col("customer_id").cast(pl.Int64), d], n_orders, fills=[-1, 0],
                                  adds=adds)
    if owner is None:  # an order id with two customers: grouped by (customer, order id)
        return None
    present = np.flatnonzero(owner >= 0)
    value, size = sums[0][present], sums[-1][present]
    if not (size < 2.0**53).all():  # NaN and infinities fail too
        return None
    dtype = lines.schema["order_date"]
    if at is not None:
        first = last = at[present]
    else:
        first, last = extremes_per_id(lines, o, d, n_orders)
        first, last = first[present], last[present]
    return pl.DataFrame({
        "order_id": pl.Series(present).cast(lines.schema["order_id"]),
        "customer_id": pl.Series(owner[present]).cast(lines.schema["customer_id"]),
        "_at": pl.Series(first).cast(dtype),
        "_value": value,
        "_last_at": pl.Series(last).cast(dtype),
    })


def _day_columns() -> list[pl.Expr]:
    """The first and last purchase as day numbers: ``_first_day``, ``_last_day``."""
    return [_day_number(pl.col("first_purchase")).alias("_first_day"),
            _day_number(pl.col("last_purchase")).alias("_last_day")]


def _customers(orders: pl.DataFrame, at: str, last_at: str, value: str, per_customer: Sequence[pl.Expr], *,
               first_order: bool, count_missing: bool) -> pl.DataFrame:
    """Orders (one row each) grouped by customer: by numpy (:func:`_counted_customers`) when it can, else by polars."""
    main = None
    if not (count_missing and orders["_missing"].sum()):
        main = _counted_customers(orders, at, last_at, value, first_order=first_order)
    if main is None:
        return orders.lazy().group_by("customer_id").agg(per_customer).with_columns(_day_columns()).collect(
            engine="streaming")
    if count_missing:
        main = main.with_columns(_missing=pl.lit(0, dtype=pl.UInt32))
    return main.with_columns(_day_columns())


def _counted_customers(orders: pl.DataFrame, at: str, last_at: str, value: str, *,
                       first_order: bool) -> pl.DataFrame | None:
    """First and last purchase, orders and the first order's value (and id) per customer, by numpy.

    ``orders`` has one row per order: ``customer_id``, ``order_id``, its first instant ``at``, its last
    ``last_at`` and its ``value``. When the ids can index a table (:func:`custlab._grouping.dense_ids`) and
    nothing is missing, the first and last instants are ``np.minimum.at`` and ``np.maximum.at`` into tables
    indexed by id and the orders are counted by ``np.bincount``; the first order is the one at the first
    instant, and when a customer has several there, the smallest order id (ranked by polars, so text ids
    compare as in a sort). The same frame as the group-by with its sort per customer (2M orders: about
    0.05 s against 0.3 s). None (the caller groups with polars) otherwise.
    """
    dense = dense_ids(orders["customer_id"])
    if dense is None or any(orders[c].null_count() for c in ("order_id", at, last_at, value)):
        return None
    ids, size = dense
    n = np.bincount(ids, minlength=size)
    start = orders[at].to_physical().to_numpy()
    first = smallest_per_id(ids, start, size)
    last = largest_per_id(ids, orders[last_at].to_physical().to_numpy(), size)
    rows = np.flatnonzero(start == first[ids])  # each customer's orders at her first instant
    if (np.bincount(ids[rows], minlength=size) > 1).any():  # several: the smallest order id
        rank = orders["order_id"].gather(rows).rank("dense").cast(pl.Int64).to_numpy()
        rows = rows[rank == smallest_per_id(ids[rows], rank, size)[ids[rows]]]
    pick = np.zeros(size, dtype=np.int64)
    pick[ids[rows]] = rows
    present = np.flatnonzero(n)
    pick = pick[present]
    out = pl.DataFrame({
        "customer_id": pl.Series(present).cast(orders.schema["customer_id"]).set_sorted(),  # ids in order
        "first_purchase": pl.Series(first[present]).cast(orders.schema[at]),
        "last_purchase": pl.Series(last[present]).cast(orders.schema[last_at]),
        "n_orders": n[present].astype(np.int64),
        "first_order_value": orders[value].gather(pick).cast(pl.Float64),
    })
    return out.with_columns(_first_order=orders["order_id"].gather(pick)) if first_order else out


def _by_order_runs(lines: pl.LazyFrame, *, first_order: bool, count_missing: bool) -> pl.DataFrame | None:
    """:func:`_per_customer` for lines stored order by order, or None when they are not.

    Each run of lines with one customer, order id and instant becomes one row (:func:`custlab._grouping.order_runs`,
    money added exactly in Int64; a line that is not a finite number below 2**43 millionths fails the cast and
    the caller groups the lines by order). When no order id is missing, none comes in two runs in a row, and the
    ids never decrease (or never increase), every order is exactly one run, and the runs are grouped by
    customer as the orders are; otherwise None is returned.
    """
    o, d = pl.col("order_id"), pl.col("order_date")
    runs = order_runs(lines, run_micros()).with_columns(
        _same=(o == o.shift()).fill_null(False), _up=(o > o.shift()).fill_null(False),
        _down=(o < o.shift()).fill_null(False))
    first_of = [d, o]
    checks = {"_unsure": (pl.col("_same") | o.is_null() | (pl.col("size") >= RUN_SIZE_LIMIT)).any(),
              "_up": pl.col("_up").any(), "_down": pl.col("_down").any()}
    per_customer = [
        d.min().alias("first_purchase"),
        d.max().alias("last_purchase"),
        pl.len().cast(pl.Int64).alias("n_orders"),
        pl.col("money").sort_by(first_of).first().cast(pl.Float64).alias("first_order_value"),
    ]
    if first_order:
        per_customer.append(o.sort_by(first_of).first().alias("_first_order"))
    if count_missing:  # a line without a date is a run of its own; one without a customer is seen by the caller
        per_customer.append(pl.col("_missing").sum())
    runs = runs.collect(engine="streaming")
    flags = runs.select(**checks).row(0, named=True)
    if flags["_unsure"] or (flags["_up"] and flags["_down"]):
        return None
    if count_missing:
        runs = runs.with_columns(_missing=d.is_null())
    return _customers(runs, "order_date", "order_date", "money", per_customer, first_order=first_order,
                      count_missing=count_missing)


def _finish_base(main: pl.DataFrame, lines: pl.LazyFrame, names: Sequence[str], as_of_day: int,
                 window: int) -> pl.DataFrame:
    """The base table from :func:`_per_customer`'s aggregates; the first order's category and channel when known."""
    main = main.drop("_missing", strict=False).with_columns(first_order_value=from_micros(pl.col("first_order_value")))
    described = _described(names)
    extra = [f"first_{c}" for c in described]
    if not described:
        return _base_table(main.lazy(), as_of_day, window, extra).collect()
    # what the first order's lines say: its largest line's category, its channel
    first_lines = lines.select("customer_id", "order_id", "amount", *described).join(
        main.lazy().select("customer_id", "_first_order"),
        left_on=["customer_id", "order_id"], right_on=["customer_id", "_first_order"], how="semi",
    )
    first = []
    if "category" in names:
        first.append(pl.col("category").sort_by([pl.col("amount"), pl.col("category")], descending=[True, False],
                                                 nulls_last=True).first().alias("first_category"))
    if "channel" in names:
        first.append(pl.col("channel").sort_by("channel", nulls_last=True).first().alias("first_channel"))
    joined = main.lazy().join(first_lines.group_by("customer_id").agg(first), on="customer_id", how="left")
    return _base_table(joined, as_of_day, window, extra).collect()


def _base_table(per: pl.LazyFrame, d: int, window: int, extra: Sequence[str]) -> pl.LazyFrame:
    """The survival frame's columns from per-customer aggregates (shared with :mod:`custlab.engine`).

    ``per`` has ``customer_id``, ``first_purchase``, ``last_purchase``, ``n_orders``, ``_first_day``,
    ``_last_day`` (days since 1970-01-01), ``first_order_value`` and the ``extra`` columns; ``d`` is the
    ``as_of`` day number.
    """
    return (
        per.with_columns(
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
    )


# ---------------------------------------------------------------------------
# Purchase days, gaps and the threshold helper
# ---------------------------------------------------------------------------


def _purchase_days(prep: _Prepared) -> pl.LazyFrame:
    """One row per customer and purchase day with the gap to the next purchase day."""
    return (
        prep.lines.group_by("customer_id", "_day")
        .agg(order_value=micros().sum(), orders=pl.col("order_id").n_unique().cast(pl.Int64))
        .with_columns(order_value=from_micros(pl.col("order_value")))  # whole millionths: the same in any line order
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


def churn_threshold_table(
    transactions: Frame,
    *,
    as_of: DateLike | None = None,
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
