"""RFM: recency, frequency and monetary value per customer, scores, segments, migration and actions.

The segmentation at the centre of customer operations, in five steps:

1. :func:`rfm_table` -- one row per customer: days since the last order,
   number of orders, revenue, average order value, first and last order,
   tenure. Works on a DataFrame or a LazyFrame (``pl.scan_parquet(...)``
   streams files larger than memory).
2. :func:`rfm_scores` -- 1-5 scores by quantile (ties documented below) or by
   thresholds you choose; 5 is best (a high R score means a recent order).
3. :func:`rfm_segments` -- a first-match rule table over the scores. Two
   tables ship: the ten segments of the R ``rfm`` package (``"rfm"``) and the
   value tiers of the operations documents (``"value_tiers"``: high value,
   potential, dormant, low value). Labels in English or Chinese. Every
   customer lands in exactly one segment; cells no rule covers go to a named
   catch-all ("Others" / "其他"). :func:`rule_coverage` shows, for each of
   the 125 score cells, which rules match and which wins, and refuses gaps
   or overlaps when you ask it to.
4. :func:`segment_summary`, :func:`concentration_curve`, :func:`top_share`
   -- sizes, revenue shares and how concentrated revenue is; and
   :func:`segment_migration` -- segments at each month end and the
   transition matrices between consecutive months.
5. :func:`action_lists` and :func:`export_action_lists` -- the default
   playbook (one action per segment) and customer lists for a CRM.

Plots (matplotlib Figures drawn with seaborn): :func:`plot_rfm_heatmap`,
:func:`plot_segment_shares`, :func:`plot_concentration`,
:func:`plot_migration`. K-means segments on behaviour and preferences are in
:mod:`custlab.segments`.

Conventions
-----------
``as_of``
    The analysis date. Orders dated before it are counted; later orders are
    not (the table describes customers as they stood at ``as_of``). A date
    means midnight at its start. The default is the day after the last order
    in the data, never the clock.
recency
    Whole days: the calendar date of ``as_of`` minus the calendar date of the
    customer's last order. With the default ``as_of``, a customer who bought
    on the last day of the data has recency 1; an order on the ``as_of`` date
    itself (possible when ``as_of`` is a datetime in mid-day) gives 0.
tenure
    Whole days from the first order's date to the ``as_of`` date.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl

from custlab.exceptions import CustlabError, EmptyDataError, SchemaError
from custlab.schema import Frame, as_datetime, check_frame, require_columns, validate

Language = Literal["en", "zh"]
Engine = Literal["auto", "streaming", "in-memory"]
DateLike = dt.date | dt.datetime | str

#: Columns of the table :func:`rfm_table` returns, in order.
RFM_COLUMNS = (
    "customer_id", "recency", "frequency", "monetary", "avg_order_value", "first_order", "last_order", "tenure",
)
SCORE_COLUMNS = ("r_score", "f_score", "m_score")

_CATCH_ALL = {"en": "Others", "zh": "其他"}
_SAMPLE = 5
_MICRO = 1_000_000  # money is summed in millionths of the currency unit


# --------------------------------------------------------------------------------------------------
# RFM table
# --------------------------------------------------------------------------------------------------


def _lazy_transactions(transactions: Frame) -> pl.LazyFrame:
    """Validated transactions as a LazyFrame with the four columns RFM needs."""
    check_frame(transactions, argument="transactions")
    frame = validate(transactions.lazy(), "transactions")
    return frame.select("customer_id", "order_id", "order_date", "amount")


def rfm_table(transactions: Frame, *, as_of: DateLike | None = None, engine: Engine = "streaming") -> pl.DataFrame:
    """Recency, frequency and monetary value of every customer at ``as_of``.

    Parameters
    ----------
    transactions
        Canonical transactions, one row per order line: ``customer_id``,
        ``order_id``, ``order_date`` (Datetime), ``amount`` (Float64, line
        revenue, not negative). A DataFrame or a LazyFrame; for files larger
        than memory pass ``pl.scan_parquet(path)``: the query is run by
        polars' streaming engine and only the per-customer result is held.
        A DataFrame whose lines come order by order (the lines of each
        order next to each other, as shops export them) is aggregated
        fastest; any other row order gives the same result.
    as_of
        Analysis date (date, datetime or ISO text). Orders before it are
        counted, later ones are not. Default: the day after the last order.
    engine
        Polars engine for the aggregation (``"streaming"`` by default, which
        processes the data in batches).

    Returns
    -------
    polars.DataFrame
        One row per customer, sorted by ``customer_id``:
        ``customer_id`` (as in the input), ``recency`` (Int64, days from the
        last order's date to the ``as_of`` date), ``frequency`` (Int64,
        distinct ``order_id``), ``monetary`` (Float64, sum of ``amount``,
        added exactly in millionths of the currency unit, so that the same
        lines in any order give the same bits),
        ``avg_order_value`` (Float64, monetary / frequency), ``first_order``
        and ``last_order`` (Datetime), ``tenure`` (Int64, days from the first
        order's date to the ``as_of`` date).

    Raises
    ------
    CustlabError
        Negative amounts (returns or cancellations left in), lines without a
        customer, order id, date or amount (or with a NaN or infinite
        amount): the message gives the number of lines and customers and
        examples. Remove them with :func:`custlab.clean.clean_transactions`.
        A DataFrame is checked before aggregating; a LazyFrame is read once,
        with the checks riding along, and read again only to count the
        offending lines when there are some.
    EmptyDataError
        No order before ``as_of`` (the message gives the first order date).

    Examples
    --------
    >>> import polars as pl, datetime as dt
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 2], "order_id": ["a", "b", "c"],
    ...     "order_date": [dt.datetime(2024, 1, 1, 9), dt.datetime(2024, 1, 20, 15), dt.datetime(2024, 1, 31, 8)],
    ...     "amount": [10.0, 30.0, 5.0]})
    >>> rfm_table(tx).select("customer_id", "recency", "frequency", "monetary", "avg_order_value", "tenure")
    shape: (2, 6)
    ┌─────────────┬─────────┬───────────┬──────────┬─────────────────┬────────┐
    │ customer_id ┆ recency ┆ frequency ┆ monetary ┆ avg_order_value ┆ tenure │
    │ ---         ┆ ---     ┆ ---       ┆ ---      ┆ ---             ┆ ---    │
    │ i64         ┆ i64     ┆ i64       ┆ f64      ┆ f64             ┆ i64    │
    ╞═════════════╪═════════╪═══════════╪══════════╪═════════════════╪════════╡
    │ 1           ┆ 12      ┆ 2         ┆ 40.0     ┆ 20.0            ┆ 31     │
    │ 2           ┆ 1       ┆ 1         ┆ 5.0      ┆ 5.0             ┆ 1      │
    └─────────────┴─────────┴───────────┴──────────┴─────────────────┴────────┘
    """
    as_of_dt = as_datetime(as_of)
    frame = _lazy_transactions(transactions)
    if as_of_dt is not None:
        frame = frame.filter(pl.col("order_date") < as_of_dt)
    # Money is summed as whole micro-units (Int64), which is exact: the total does not depend on the
    # order of the lines or of the threads. NaN and infinite amounts become nulls and are refused.
    micros = (pl.col("amount") * _MICRO).round(0).cast(pl.Int64, strict=False)
    aggregates = {
        "frequency": pl.col("order_id").n_unique(),
        "monetary": micros.sum(),
        "first_order": pl.col("order_date").min(),
        "last_order": pl.col("order_date").max(),
    }
    if isinstance(transactions, pl.DataFrame):
        # In memory the checks are cheap whole-column scans (null counts are metadata), done first.
        data = frame.collect()
        for test, what, rule in _LINE_PROBLEMS:
            if data.select(test.fill_null(False).any()).item():
                _raise_line_problem(data.lazy(), test, what, rule)
        # Lines stored order by order are first collapsed into orders; other layouts are grouped as lines.
        per = _per_customer_by_order(data, micros, engine)
        if per is None:
            per = data.lazy().group_by("customer_id").agg(**aggregates).collect(engine=engine)
    else:
        # A lazy source is read once: per-customer flags ride along with the aggregates, and only
        # when one is raised is the source read again, to count the offending lines.
        flags = {
            "_negative": micros.min() < 0,
            "_amount": micros.null_count() > 0,
            "_date": pl.col("order_date").null_count() > 0,
            "_order": pl.col("order_id").null_count() > 0,
        }
        per = frame.group_by("customer_id").agg(**aggregates, **flags).collect(engine=engine)
        found = [per["customer_id"].null_count() > 0] + [bool(per[flag].any()) for flag in flags]
        for hit, (test, what, rule) in zip(found, _LINE_PROBLEMS, strict=True):
            if hit:
                _raise_line_problem(frame, test, what, rule)
        per = per.drop(list(flags))
    if per.height == 0:
        _raise_empty(transactions, as_of_dt)
    if as_of_dt is None:
        last = per["last_order"].max()
        as_of_dt = dt.datetime.combine(last.date() + dt.timedelta(days=1), dt.time())
    day = pl.lit(as_of_dt.date())
    out = (
        per.lazy()
        .select(
            "customer_id",
            recency=(day - pl.col("last_order").dt.date()).dt.total_days().cast(pl.Int64),
            frequency=pl.col("frequency").cast(pl.Int64),
            monetary="monetary",
            first_order="first_order",
            last_order="last_order",
            tenure=(day - pl.col("first_order").dt.date()).dt.total_days().cast(pl.Int64),
        )
        .sort("customer_id")
        .collect()
    )
    # True IEEE division in numpy: polars may divide by a scalar as a multiplication by its reciprocal,
    # which can differ in the last bit from one memory layout to another.
    money = out["monetary"].to_numpy().astype(np.float64) / _MICRO
    return out.with_columns(
        monetary=pl.Series(money, dtype=pl.Float64),
        avg_order_value=pl.Series(money / out["frequency"].to_numpy(), dtype=pl.Float64),
    ).select(RFM_COLUMNS)


def _per_customer_by_order(data: pl.DataFrame, micros: pl.Expr, engine: Engine) -> pl.DataFrame | None:
    """Per-customer aggregates of checked lines stored order by order, or None for other layouts.

    Order lines usually come as the shop system exports them: the lines of an order next to each
    other, with the order's customer repeated on each. When that holds, the lines collapse into
    runs of one order and one date with running sums (no hashing), and only those runs, about
    one per order, are grouped by customer. The results are the same, bit for bit, as those of
    the group-by over lines: money is summed in integer micro-units (the sum of a run is the
    difference of two running totals, exact in integers), each order is counted once (at its
    last line) for its only customer, and every line's date is the date of its run. Other
    layouts (the lines of an order in several places, several customers in one order) return
    None, and the caller groups the lines directly.
    """
    order, customer, date = pl.col("order_id"), pl.col("customer_id"), pl.col("order_date")
    starts = (order != order.shift()).fill_null(True)  # first line of a run of lines of one order
    runs, mixed, total = data.select(
        runs=starts.sum(),
        mixed=((customer != customer.shift()) & ~starts).any(),  # a customer change inside a run
        # the running total of micro-units must stay far from the Int64 limit (amounts are >= 0 here)
        total=pl.col("amount").sum() * _MICRO,
    ).row(0)
    if data.height == 0 or mixed or not total < 2.0**62:
        return None
    if not data["order_id"].is_sorted():
        # Each order must be one run: no order id twice among the run starts. A repeat among the
        # first run starts (cheap to look for) already rules it out, as in shuffled lines.
        probe = order.filter(starts).head(100_000)
        if data.select(probe.n_unique() < probe.len()).item():
            return None
        if data.select(order.filter(starts).n_unique()).item() != runs:
            return None
    order_end = (order != order.shift(-1)).fill_null(True)  # last line of a run of one order
    return (
        data.lazy()
        .select(
            customer,
            date,
            order_end=order_end,
            running=micros.cum_sum(),
            run_end=order_end | (date != date.shift(-1)),  # last line of a run of one order and one date
        )
        .filter("run_end")
        .select(customer, date, "order_end", money=pl.col("running") - pl.col("running").shift(1, fill_value=0))
        .group_by("customer_id")
        .agg(
            frequency=pl.col("order_end").sum(),
            monetary=pl.col("money").sum(),
            first_order=date.min(),
            last_order=date.max(),
        )
        .collect(engine=engine)
    )


def _raise_empty(transactions: Frame, as_of: dt.datetime | None) -> None:
    if as_of is None:
        raise EmptyDataError("The transactions table has no rows; there is nothing to compute RFM on.")
    first = _lazy_transactions(transactions).select(pl.col("order_date").min()).collect().item()
    if first is None:
        raise EmptyDataError("The transactions table has no rows; there is nothing to compute RFM on.")
    raise EmptyDataError(
        f"as_of={as_of:%Y-%m-%d %H:%M} is on or before the first order ({first:%Y-%m-%d %H:%M}), so no customer "
        f"has an order before it. Pass a later as_of, or leave it out to use the day after the last order."
    )


#: Lines RFM refuses: (test, description, the clean_transactions rules that remove them).
_LINE_PROBLEMS = (
    (pl.col("customer_id").is_null(), "no customer_id", "'missing_customer'"),
    (pl.col("amount") < 0, "a negative amount (returns or cancellations left in)", "'cancelled', 'returned'"),
    (pl.col("amount").is_null() | ~pl.col("amount").is_finite(), "no amount (missing, NaN or infinite)",
     "'missing_value'"),
    (pl.col("order_date").is_null(), "no order_date", "'missing_value'"),
    (pl.col("order_id").is_null(), "no order_id", "'missing_value'"),
)


def _raise_line_problem(frame: pl.LazyFrame, test: pl.Expr, what: str, rule: str) -> None:
    bad = frame.filter(test.fill_null(False)).select(
        lines=pl.len(),
        customers=pl.col("customer_id").drop_nulls().n_unique(),
        sample=pl.col("customer_id").drop_nulls().unique(maintain_order=True).head(_SAMPLE).implode(),
    ).collect()
    lines, customers, sample = bad.row(0)
    whose = f" for {customers:,} customer(s), e.g. customer_id {sample}" if customers else ""
    netting = ", or net returns against their orders" if "negative" in what else ""
    raise CustlabError(
        f"transactions hold {lines:,} line(s) with {what}{whose}. RFM counts purchases only: remove "
        f"them first with custlab.clean.clean_transactions(tx) (rules {rule}){netting}."
    )


# --------------------------------------------------------------------------------------------------
# Scores
# --------------------------------------------------------------------------------------------------


_SCORE_SOURCE = {"recency": "r_score", "frequency": "f_score", "monetary": "m_score"}


def _quantile_score(column: str, *, higher_is_better: bool, n: int, dtype: pl.DataType) -> pl.Expr:
    # customers strictly worse than this one: for recency, those with more days since their last order.
    # Money is compared at 1e-9 so that equal sums added up in another order stay tied.
    value = pl.col(column).round(9) if dtype.is_float() else pl.col(column)
    worse = value.rank("min", descending=not higher_is_better).cast(pl.Int64) - 1
    return (1 + (worse * 5) // n).cast(pl.Int64)


def _threshold_score(column: str, cuts: Sequence[float], *, higher_is_better: bool) -> pl.Expr:
    passed = pl.sum_horizontal([(pl.col(column) >= c).cast(pl.Int64) for c in cuts])
    return (1 + passed if higher_is_better else 5 - passed).cast(pl.Int64)


def _check_cuts(name: str, cuts) -> list[float]:
    try:
        values = [float(c) for c in cuts]
    except (TypeError, ValueError):
        raise CustlabError(f"thresholds[{name!r}] must be 4 increasing numbers, got {cuts!r}.") from None
    if len(values) != 4 or any(b <= a for a, b in itertools.pairwise(values)):
        raise CustlabError(
            f"thresholds[{name!r}] must be 4 strictly increasing cut points (for scores 1-5), got {list(cuts)!r}."
        )
    return values


def rfm_scores(
    rfm: pl.DataFrame,
    *,
    thresholds: Mapping[str, Sequence[float]] | None = None,
    monetary: Literal["monetary", "avg_order_value"] = "monetary",
) -> pl.DataFrame:
    """Score recency, frequency and monetary value from 1 (worst) to 5 (best).

    Quantile scores (the default) rank each customer against all others. A
    customer's score is ``1 + floor(5 * w / n)``, where ``w`` is the number
    of customers strictly worse on that dimension (for recency: with more
    days since their last order) and ``n`` the number of customers. Ties
    therefore share a score, the one of the lowest rank in the tie (rank
    method "min"), so the result does not depend on row order: if 40% of
    customers have exactly one order, all of them get F = 1 even though
    that is more than a fifth. The score bands hold about a fifth of the
    customers each when there are few ties. Money values equal to 9
    decimals count as tied (a sum of the same amounts in another order can
    differ in its last binary digit).

    Threshold scores use four cut points per dimension. For frequency and
    monetary a value scores ``1 + (number of cut points <= value)``; for
    recency, in days, ``5 - (number of cut points <= days)``: with recency
    cuts ``(30, 60, 90, 180)``, 0-29 days scores 5 and 180 days or more
    scores 1.

    Parameters
    ----------
    rfm
        Output of :func:`rfm_table` (needs ``recency``, ``frequency`` and
        the ``monetary`` column chosen).
    thresholds
        Optional ``{"recency": [...], "frequency": [...], "monetary": [...]}``,
        four strictly increasing cut points each; dimensions left out are
        scored by quantile.
    monetary
        Which money column the M score uses: total revenue (``"monetary"``,
        as the R ``rfm`` package does) or ``"avg_order_value"``.

    Returns
    -------
    polars.DataFrame
        The input with ``r_score``, ``f_score``, ``m_score`` (Int64, 1-5)
        and ``rfm_score`` (Int64, ``100 R + 10 F + M``, e.g. 545).

    Examples
    --------
    >>> import polars as pl
    >>> rfm = pl.DataFrame({"customer_id": [1, 2, 3, 4, 5], "recency": [3, 40, 10, 200, 10],
    ...                     "frequency": [9, 1, 3, 1, 2], "monetary": [900.0, 20.0, 150.0, 35.0, 60.0]})
    >>> rfm_scores(rfm).select("customer_id", "r_score", "f_score", "m_score", "rfm_score").rows()
    [(1, 5, 5, 5, 555), (2, 2, 1, 1, 211), (3, 3, 4, 4, 344), (4, 1, 1, 2, 112), (5, 3, 3, 3, 333)]
    >>> rfm_scores(rfm, thresholds={"recency": [30, 60, 90, 180]})["r_score"].to_list()
    [5, 4, 5, 1, 5]
    """
    if not isinstance(rfm, pl.DataFrame):
        check_frame(rfm, argument="rfm")
        rfm = rfm.collect()
    if monetary not in ("monetary", "avg_order_value"):
        raise CustlabError(f"monetary must be 'monetary' or 'avg_order_value', got {monetary!r}.")
    needed = ["recency", "frequency", monetary]
    missing = [c for c in needed if c not in rfm.columns]
    if missing:
        raise SchemaError(
            f"rfm is missing column(s) {missing}; pass the output of rfm_table(). Columns present: {rfm.columns}."
        )
    if rfm.height == 0:
        raise EmptyDataError("rfm has no rows; there are no customers to score.")
    for c in needed:
        n_null = rfm[c].null_count() + (rfm[c].is_nan().sum() if rfm[c].dtype.is_float() else 0)
        if n_null:
            raise CustlabError(
                f"Column '{c}' of rfm has {n_null} missing value(s); scores need every customer's value."
            )
    thresholds = dict(thresholds or {})
    unknown = [k for k in thresholds if k not in _SCORE_SOURCE]
    if unknown:
        raise CustlabError(f"thresholds has unknown key(s) {unknown}; use 'recency', 'frequency', 'monetary'.")
    n = rfm.height
    exprs = []
    for dim, column, better in (("recency", "recency", False), ("frequency", "frequency", True),
                                ("monetary", monetary, True)):
        if dim in thresholds:
            expr = _threshold_score(column, _check_cuts(dim, thresholds[dim]), higher_is_better=better)
        else:
            expr = _quantile_score(column, higher_is_better=better, n=n, dtype=rfm.schema[column])
        exprs.append(expr.alias(_SCORE_SOURCE[dim]))
    out = rfm.drop([c for c in (*SCORE_COLUMNS, "rfm_score") if c in rfm.columns]).with_columns(exprs)
    return out.with_columns(rfm_score=100 * pl.col("r_score") + 10 * pl.col("f_score") + pl.col("m_score"))


# --------------------------------------------------------------------------------------------------
# Rule tables
# --------------------------------------------------------------------------------------------------

_RULE_SCHEMA = {
    "segment": pl.String,
    "segment_zh": pl.String,
    "recency_lower": pl.Int64,
    "recency_upper": pl.Int64,
    "frequency_lower": pl.Int64,
    "frequency_upper": pl.Int64,
    "monetary_lower": pl.Int64,
    "monetary_upper": pl.Int64,
    "recency_days_min": pl.Int64,
    "recency_days_max": pl.Int64,
    "value_rank": pl.Int64,
}
_SCORE_BOUNDS = ("recency", "frequency", "monetary")


def _rule_frame(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=_RULE_SCHEMA, orient="row")


#: The ten segments of the R ``rfm`` package (Hebbali, CRAN ``rfm``), in its order and with its
#: score intervals: vignette "RFM Analysis" (transaction-level data), section "Segments", and
#: ``tests/testthat/test-rfm-segment.R`` (rsquaredacademy/rfm on GitHub)::
#:
#:     segment_names   <- c("Champions", "Loyal Customers", "Potential Loyalist", "New Customers",
#:                          "Promising", "Need Attention", "About To Sleep", "At Risk",
#:                          "Can't Lose Them", "Lost")
#:     recency_lower   <- c(4, 2, 3, 4, 3, 2, 2, 1, 1, 1)
#:     recency_upper   <- c(5, 5, 5, 5, 4, 3, 3, 2, 1, 2)
#:     frequency_lower <- c(4, 3, 1, 1, 1, 2, 1, 2, 4, 1)
#:     frequency_upper <- c(5, 5, 3, 1, 1, 3, 2, 5, 5, 2)
#:     monetary_lower  <- c(4, 3, 1, 1, 1, 2, 1, 2, 4, 1)
#:     monetary_upper  <- c(5, 5, 3, 1, 1, 3, 2, 5, 5, 2)
#:
#: ``rfm_segment()`` assigns each customer the first segment whose three intervals (both ends
#: inclusive) hold its scores and calls the rest "Others" (36 of the 125 cells). In that order
#: three segments can never match -- in R as here: "New Customers" (R 4-5, F 1, M 1) and
#: "Promising" (R 3-4, F 1, M 1) lie inside "Potential Loyalist" (R 3-5, F 1-3, M 1-3), and
#: "Can't Lose Them" (R 1, F 4-5, M 4-5) inside "At Risk" (R 1-2, F 2-5, M 2-5).
#: ``RFM_REACHABLE`` keeps the intervals but checks those three before the segments that contain
#: them, so that all ten can occur. ``value_rank`` is the listed order.
R_RFM_SEGMENTS = _rule_frame([
    ("Champions", "冠军客户", 4, 5, 4, 5, 4, 5, None, None, 1),
    ("Loyal Customers", "忠诚客户", 2, 5, 3, 5, 3, 5, None, None, 2),
    ("Potential Loyalist", "潜在忠诚客户", 3, 5, 1, 3, 1, 3, None, None, 3),
    ("New Customers", "新客户", 4, 5, 1, 1, 1, 1, None, None, 4),
    ("Promising", "有希望客户", 3, 4, 1, 1, 1, 1, None, None, 5),
    ("Need Attention", "需要关注客户", 2, 3, 2, 3, 2, 3, None, None, 6),
    ("About To Sleep", "即将沉睡客户", 2, 3, 1, 2, 1, 2, None, None, 7),
    ("At Risk", "流失风险客户", 1, 2, 2, 5, 2, 5, None, None, 8),
    ("Can't Lose Them", "不能失去的客户", 1, 1, 4, 5, 4, 5, None, None, 9),
    ("Lost", "已流失客户", 1, 2, 1, 2, 1, 2, None, None, 10),
])

#: ``R_RFM_SEGMENTS`` with "New Customers" and "Promising" checked before "Potential Loyalist",
#: and "Can't Lose Them" before "At Risk".
RFM_REACHABLE = R_RFM_SEGMENTS[[0, 1, 3, 4, 2, 5, 6, 8, 7, 9]]


def value_tier_rules(*, dormant_days: int = 60, dormant_first: bool = False) -> pl.DataFrame:
    """The value tiers of the operations documents, as a first-match rule table.

    In order (the first rule that matches wins):

    1. High value / 高价值客户: F score 5 and M score 5 -- in the top fifth
       both for number of orders and for revenue, however long ago the last
       order was (a lapsed high-value customer is still one to look after
       personally; ``recency`` says who has lapsed). On the synthetic shop
       this tier holds about 14% of the customers and half the revenue,
       the documents' "top 15% bring 50%".
    2. Dormant / 沉睡客户: no purchase for ``dormant_days`` (60) days or more
       (``recency >= dormant_days``).
    3. Potential / 潜力客户: bought within ``dormant_days`` and F score 3-5
       or M score 3-5 (above the lower two fifths on one dimension: room to
       grow).
    4. Low value / 低价值客户: the rest (active, F and M scores 1-2).

    Together the rules cover every score cell and recency, so the
    catch-all never occurs. ``value_rank``: high value 1, potential 2, low
    value 3, dormant 4.

    Parameters
    ----------
    dormant_days
        Days without a purchase from which a customer is dormant.
    dormant_first
        Check dormancy before high value, so that "High value" only holds
        customers who bought within ``dormant_days``.

    Returns
    -------
    polars.DataFrame
        A rule table (see :func:`rule_coverage` for its columns).

    Examples
    --------
    >>> value_tier_rules()["segment"].to_list()
    ['High value', 'Dormant', 'Potential', 'Potential', 'Low value']
    >>> value_tier_rules(dormant_first=True)["segment"].to_list()[:2]
    ['Dormant', 'High value']
    """
    if not isinstance(dormant_days, int) or dormant_days < 1:
        raise CustlabError(f"dormant_days must be a positive whole number of days, got {dormant_days!r}.")
    high = ("High value", "高价值客户", 1, 5, 5, 5, 5, 5, None, None, 1)
    dormant = ("Dormant", "沉睡客户", 1, 5, 1, 5, 1, 5, dormant_days, None, 4)
    return _rule_frame([
        *([dormant, high] if dormant_first else [high, dormant]),
        ("Potential", "潜力客户", 1, 5, 3, 5, 1, 5, None, None, 2),
        ("Potential", "潜力客户", 1, 5, 1, 5, 3, 5, None, None, 2),
        ("Low value", "低价值客户", 1, 5, 1, 5, 1, 5, None, None, 3),
    ])


#: The documents' value tiers with dormancy at 60 days (see :func:`value_tier_rules`).
VALUE_TIERS = value_tier_rules()

#: Rule tables by name, for ``rules="..."``.
RULE_TABLES: dict[str, pl.DataFrame] = {"rfm": R_RFM_SEGMENTS, "rfm_reachable": RFM_REACHABLE,
                                        "value_tiers": VALUE_TIERS}


@dataclass(frozen=True)
class _Rules:
    table: pl.DataFrame
    builtin: bool
    labels: list[str]  # segment labels in display order (value rank), in the chosen language
    ranks: dict[str, int]
    catch_all: str
    uses_days: bool


def _resolve_rules(rules: str | pl.DataFrame | Sequence[Mapping], language: Language,
                   catch_all: str | None) -> _Rules:
    if language not in _CATCH_ALL:
        raise CustlabError(f"language must be 'en' or 'zh', got {language!r}.")
    builtin = isinstance(rules, str)
    if builtin:
        if rules not in RULE_TABLES:
            raise CustlabError(f"Unknown rule table {rules!r}; the built-in tables are {list(RULE_TABLES)}, "
                               f"or pass your own DataFrame.")
        table = RULE_TABLES[rules]
    elif isinstance(rules, pl.DataFrame):
        table = rules
    elif isinstance(rules, Sequence):
        table = pl.DataFrame(list(rules))
    else:
        raise CustlabError(f"rules must be a table name, a DataFrame or a list of dicts, got {type(rules).__name__}.")
    table = _check_rule_table(table)
    label_col = "segment" if language == "en" else "segment_zh"
    table = table.with_columns(label=pl.col(label_col))
    ranks: dict[str, int] = {}
    for label, rank in table.select("label", "value_rank").iter_rows():
        ranks.setdefault(label, rank)
    catch = catch_all if catch_all is not None else _CATCH_ALL[language]
    if catch in ranks:
        raise CustlabError(f"catch_all={catch!r} is also the name of a rule; pick another name for the catch-all.")
    labels = sorted(ranks, key=lambda s: ranks[s])  # stable: ties keep rule order
    ranks[catch] = max(ranks.values()) + 1
    uses_days = bool(table.select(pl.col("recency_days_min").is_not_null().any()
                                  | pl.col("recency_days_max").is_not_null().any()).item())
    return _Rules(table, builtin, [*labels, catch], ranks, catch, uses_days)


def _check_rule_table(table: pl.DataFrame) -> pl.DataFrame:
    required = ["segment"] + [f"{d}_{b}" for d in _SCORE_BOUNDS for b in ("lower", "upper")]
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise SchemaError(
            f"The rule table is missing column(s) {missing}. A rule table has one row per rule with "
            f"segment, recency_lower, recency_upper, frequency_lower, frequency_upper, monetary_lower, "
            f"monetary_upper (scores 1-5, both ends inclusive); optional segment_zh, recency_days_min, "
            f"recency_days_max, value_rank. Columns present: {table.columns}."
        )
    if table.height == 0:
        raise EmptyDataError("The rule table has no rows.")
    table = table.with_columns(
        *[pl.lit(None, dtype=_RULE_SCHEMA[c]).alias(c) for c in _RULE_SCHEMA if c not in table.columns]
    )
    try:
        table = table.select([pl.col(c).cast(t, strict=True) for c, t in _RULE_SCHEMA.items()])
    except pl.exceptions.PolarsError as err:
        raise SchemaError(f"Rule table bounds must be whole numbers: {err}") from None
    table = table.with_row_index("rule").with_columns(
        segment_zh=pl.col("segment_zh").fill_null(pl.col("segment")),
        value_rank=pl.col("value_rank").fill_null(pl.col("rule").cast(pl.Int64) + 1),
    )
    if table["segment"].null_count():
        raise CustlabError("Every rule needs a segment name; the rule table has empty 'segment' values.")
    for dim in _SCORE_BOUNDS:
        lo, hi = pl.col(f"{dim}_lower"), pl.col(f"{dim}_upper")
        bad = table.filter(lo.is_null() | hi.is_null() | (lo < 1) | (hi > 5) | (lo > hi))
        if bad.height:
            row = bad.row(0, named=True)
            raise CustlabError(
                f"Rule {row['rule']} ({row['segment']!r}) has {dim} interval "
                f"{row[f'{dim}_lower']}-{row[f'{dim}_upper']}; score intervals must lie within 1-5 with lower <= upper "
                f"({bad.height} rule(s) affected)."
            )
    lo, hi = pl.col("recency_days_min"), pl.col("recency_days_max")
    bad = table.filter((lo < 0) | (hi < 0) | (lo > hi))
    if bad.height:
        row = bad.row(0, named=True)
        raise CustlabError(
            f"Rule {row['rule']} ({row['segment']!r}) has recency days {row['recency_days_min']}-"
            f"{row['recency_days_max']}; day bounds must be non-negative with min <= max."
        )
    for a, b in (("segment", "segment_zh"), ("segment", "value_rank")):
        conflict = table.group_by(a).agg(pl.col(b).n_unique()).filter(pl.col(b) > 1)
        if conflict.height:
            raise CustlabError(
                f"Segment {conflict[a][0]!r} appears in several rules with different {b}; "
                f"rules of one segment must share its {b}."
            )
    return table


def _day_bands(table: pl.DataFrame) -> list[tuple[int, int | None]]:
    cuts = {0}
    cuts.update(int(v) for v in table["recency_days_min"].drop_nulls())
    cuts.update(int(v) + 1 for v in table["recency_days_max"].drop_nulls())
    points = sorted(cuts)
    return [(a, b - 1) for a, b in itertools.pairwise(points)] + [(points[-1], None)]


def _cell_name(r: int, f: int, m: int, band: tuple[int, int | None] | None) -> str:
    text = f"R{r} F{f} M{m}"
    if band is not None:
        lo, hi = band
        text += f" with recency {lo}+ days" if hi is None else f" with recency {lo}-{hi} days"
    return text


def _coverage(rules: _Rules) -> pl.DataFrame:
    table = rules.table
    bands: list[tuple[int, int | None] | None] = _day_bands(table) if rules.uses_days else [None]
    rows = []
    specs = table.select("label", *[f"{d}_{b}" for d in _SCORE_BOUNDS for b in ("lower", "upper")],
                         "recency_days_min", "recency_days_max").rows()
    for r, f, m in itertools.product(range(1, 6), repeat=3):
        for band in bands:
            matches: list[str] = []
            for label, rl, ru, fl, fu, ml, mu, dmin, dmax in specs:
                if not (rl <= r <= ru and fl <= f <= fu and ml <= m <= mu):
                    continue
                if band is not None:
                    lo, hi = band
                    if dmin is not None and lo < dmin:
                        continue
                    if dmax is not None and (hi is None or hi > dmax):
                        continue
                if label not in matches:
                    matches.append(label)
            rows.append((r, f, m, None if band is None else band[0], None if band is None else band[1],
                         matches, matches[0] if matches else rules.catch_all, _cell_name(r, f, m, band)))
    return pl.DataFrame(
        rows, orient="row",
        schema={"r_score": pl.Int64, "f_score": pl.Int64, "m_score": pl.Int64, "recency_days_from": pl.Int64,
                "recency_days_to": pl.Int64, "matches": pl.List(pl.String), "segment": pl.String, "cell": pl.String},
    )


def _enforce(coverage: pl.DataFrame, rules: _Rules, gaps: str, overlaps: str) -> None:
    if gaps not in ("catch_all", "raise"):
        raise CustlabError(f"gaps must be 'catch_all' or 'raise', got {gaps!r}.")
    if overlaps not in ("first", "raise"):
        raise CustlabError(f"overlaps must be 'first' or 'raise', got {overlaps!r}.")
    n = coverage.height
    if gaps == "raise":
        holes = coverage.filter(pl.col("matches").list.len() == 0)
        if holes.height:
            raise CustlabError(
                f"The rule table leaves {holes.height} of {n} score cells uncovered, e.g. "
                f"{holes['cell'].head(_SAMPLE).to_list()}. Add rules for them, or pass gaps='catch_all' to send "
                f"those customers to {rules.catch_all!r}. rule_coverage(rules) lists every cell."
            )
    if overlaps == "raise":
        multi = coverage.filter(pl.col("matches").list.len() > 1)
        if multi.height:
            examples = [f"{c} ({', '.join(ms)})" for c, ms in multi.select("cell", "matches").head(_SAMPLE).rows()]
            raise CustlabError(
                f"The rule table covers {multi.height} of {n} score cells with more than one segment, e.g. "
                f"{examples}. Make the rules disjoint, or pass overlaps='first' to let the first matching rule win."
            )
    assigned = set(coverage["segment"].to_list())
    shadowed = [s for s in rules.labels[:-1] if s not in assigned]
    if shadowed and not rules.builtin:
        warnings.warn(
            f"Rule(s) for {shadowed} can never match: every score cell they cover is taken by an earlier rule. "
            f"Move them up or narrow the earlier rules; rule_coverage(rules) shows each cell's matches.",
            UserWarning, stacklevel=3,
        )


def rule_coverage(
    rules: str | pl.DataFrame | Sequence[Mapping] = "rfm",
    *,
    language: Language = "en",
    catch_all: str | None = None,
    gaps: Literal["catch_all", "raise"] = "catch_all",
    overlaps: Literal["first", "raise"] = "first",
) -> pl.DataFrame:
    """Check a rule table over the 125 score cells: which rules match each cell, and which wins.

    A rule table has one row per rule: ``segment`` (name), ``recency_lower``,
    ``recency_upper``, ``frequency_lower``, ``frequency_upper``,
    ``monetary_lower``, ``monetary_upper`` (scores 1-5, both ends inclusive,
    the layout of R's ``rfm_segment()``), and optionally ``segment_zh``
    (Chinese label), ``recency_days_min`` / ``recency_days_max`` (bounds on
    recency in days, inclusive) and ``value_rank`` (1 = most valuable; used
    to say who moved up or slipped; default: rule order). Several rows may
    share a segment name (a segment that is a union of boxes). Rules are
    first-match: a customer gets the first rule, in table order, that holds
    its scores; customers no rule holds get the catch-all.

    When rules bound recency in days, each score cell is split into day
    bands at those bounds, and coverage is checked per band.

    Parameters
    ----------
    rules
        A built-in table name (``"rfm"``, ``"rfm_reachable"``,
        ``"value_tiers"``), a DataFrame or a list of dicts.
    language
        Labels in English (``"en"``) or Chinese (``"zh"``, from ``segment_zh``).
    catch_all
        Name of the catch-all; default "Others" / "其他".
    gaps
        ``"catch_all"``: uncovered cells go to the catch-all. ``"raise"``:
        refuse a table with uncovered cells, listing them.
    overlaps
        ``"first"``: the first matching rule wins. ``"raise"``: refuse a
        table in which a cell matches two segments, listing the cells.

    Returns
    -------
    polars.DataFrame
        One row per cell (and day band): ``r_score``, ``f_score``,
        ``m_score`` (Int64), ``recency_days_from``, ``recency_days_to``
        (Int64, null without day bounds or when open-ended), ``matches``
        (List[String], matching segments in rule order), ``segment``
        (String, the winner or the catch-all), ``cell`` (String, e.g.
        "R1 F3 M1").

    Raises
    ------
    CustlabError
        A malformed table, or gaps/overlaps when asked to raise. A
        user-supplied table with a rule that can never match (shadowed by
        earlier rules) gets a ``UserWarning``.

    Examples
    --------
    >>> cov = rule_coverage("rfm")
    >>> cov.height, cov.filter(pl.col("segment") == "Others").height
    (125, 36)
    >>> cov.filter(pl.col("cell") == "R5 F1 M1")["matches"].to_list()
    [['Potential Loyalist', 'New Customers']]
    """
    resolved = _resolve_rules(rules, language, catch_all)
    coverage = _coverage(resolved)
    _enforce(coverage, resolved, gaps, overlaps)
    return coverage


def rfm_segments(
    scores: pl.DataFrame,
    *,
    rules: str | pl.DataFrame | Sequence[Mapping] = "rfm",
    language: Language = "en",
    catch_all: str | None = None,
    gaps: Literal["catch_all", "raise"] = "catch_all",
    overlaps: Literal["first", "raise"] = "first",
) -> pl.DataFrame:
    """Assign every customer one segment from a first-match rule table.

    Parameters
    ----------
    scores
        Output of :func:`rfm_scores` (``r_score``, ``f_score``, ``m_score``;
        and ``recency`` when rules bound it in days). The output of
        :func:`rfm_table` is accepted too and scored by quantile first.
    rules
        ``"rfm"`` (default): the ten segments of the R ``rfm`` package, see
        ``R_RFM_SEGMENTS`` (in R's order, in which "New Customers",
        "Promising" and "Can't Lose Them" never match); ``"rfm_reachable"``:
        the same intervals with those three checked first; ``"value_tiers"``: high value,
        potential, dormant (60+ days without a purchase), low value, see
        :func:`value_tier_rules`; or your own table (see
        :func:`rule_coverage` for the layout and checks).
    language
        ``"en"`` or ``"zh"`` labels.
    catch_all
        Name of the segment for customers no rule holds (default "Others" /
        "其他"); it is listed even when empty.
    gaps, overlaps
        What to do with uncovered and multiply covered score cells, see
        :func:`rule_coverage`.

    Returns
    -------
    polars.DataFrame
        The input with ``segment`` (Enum of the segment labels ordered by
        value rank, catch-all last) and ``value_rank`` (Int64, catch-all
        after all rules).

    Examples
    --------
    >>> import polars as pl
    >>> scores = pl.DataFrame({"customer_id": [1, 2, 3], "recency": [5, 90, 20],
    ...     "r_score": [5, 1, 4], "f_score": [5, 1, 2], "m_score": [5, 1, 3]})
    >>> rfm_segments(scores)["segment"].to_list()
    ['Champions', 'Lost', 'Potential Loyalist']
    >>> rfm_segments(scores, rules="value_tiers", language="zh")["segment"].to_list()
    ['高价值客户', '沉睡客户', '潜力客户']
    """
    if not isinstance(scores, pl.DataFrame):
        check_frame(scores, argument="scores")
        scores = scores.collect()
    resolved = _resolve_rules(rules, language, catch_all)
    _enforce(_coverage(resolved), resolved, gaps, overlaps)
    if not set(SCORE_COLUMNS) <= set(scores.columns):
        if {"recency", "frequency", "monetary"} <= set(scores.columns):
            scores = rfm_scores(scores)
        else:
            raise SchemaError(
                f"scores needs columns {list(SCORE_COLUMNS)} (from rfm_scores) or recency, frequency, monetary "
                f"(from rfm_table). Columns present: {scores.columns}."
            )
    if resolved.uses_days and "recency" not in scores.columns:
        raise SchemaError("These rules bound recency in days, so scores needs the 'recency' column of rfm_table.")
    bad = scores.filter(pl.any_horizontal([~pl.col(c).is_between(1, 5) | pl.col(c).is_null() for c in SCORE_COLUMNS]))
    if bad.height:
        raise CustlabError(
            f"{bad.height} customer(s) have scores outside 1-5 or missing, e.g. "
            f"{bad.select(SCORE_COLUMNS).head(3).rows()}. Compute scores with rfm_scores()."
        )
    return _assign(scores, resolved)


def _assign(scores: pl.DataFrame, resolved: _Rules) -> pl.DataFrame:
    """First-match assignment as one when/then chain (rules checked in table order)."""
    expr = None
    for row in resolved.table.iter_rows(named=True):
        cond = pl.lit(True)
        for dim, col in zip(_SCORE_BOUNDS, SCORE_COLUMNS, strict=True):
            cond = cond & pl.col(col).is_between(row[f"{dim}_lower"], row[f"{dim}_upper"])
        if row["recency_days_min"] is not None:
            cond = cond & (pl.col("recency") >= row["recency_days_min"])
        if row["recency_days_max"] is not None:
            cond = cond & (pl.col("recency") <= row["recency_days_max"])
        label = pl.lit(row["label"])
        expr = pl.when(cond).then(label) if expr is None else expr.when(cond).then(label)
    enum = pl.Enum(resolved.labels)
    segment = expr.otherwise(pl.lit(resolved.catch_all)).cast(enum)
    ranks = pl.DataFrame({"segment": pl.Series(list(resolved.ranks), dtype=enum),
                          "value_rank": pl.Series(list(resolved.ranks.values()), dtype=pl.Int64)})
    out = scores.drop([c for c in ("segment", "value_rank") if c in scores.columns]).with_columns(segment=segment)
    return out.join(ranks, on="segment", how="left", maintain_order="left")


# --------------------------------------------------------------------------------------------------
# Summary and concentration
# --------------------------------------------------------------------------------------------------


def _segment_levels(segments: pl.DataFrame) -> list[str]:
    dtype = segments.schema["segment"]
    if isinstance(dtype, pl.Enum):
        return list(dtype.categories)
    counts = segments.group_by("segment").len().sort(["len", "segment"], descending=[True, False])
    return [str(s) for s in counts["segment"].to_list()]


def segment_summary(segments: pl.DataFrame) -> pl.DataFrame:
    """Size, revenue and typical behaviour of each segment.

    Parameters
    ----------
    segments
        One row per customer with ``segment``, ``recency``, ``frequency``
        and ``monetary`` (the output of :func:`rfm_segments`, or of
        :func:`custlab.segments.kmeans_segments`).

    Returns
    -------
    polars.DataFrame
        One row per segment, in the segment order (Enum order; otherwise by
        size), empty segments included with 0 customers:
        ``segment`` (String), ``customers`` (Int64), ``customer_share``
        (Float64), ``revenue`` (Float64, sum of monetary),
        ``revenue_share`` (Float64), ``orders`` (Int64),
        ``avg_order_value`` (Float64, revenue / orders),
        ``median_recency`` (Float64, days), ``median_frequency`` (Float64),
        ``revenue_per_customer`` (Float64).

    Examples
    --------
    >>> import polars as pl
    >>> seg = pl.DataFrame({"segment": ["A", "A", "B"], "recency": [1, 3, 50],
    ...                     "frequency": [4, 2, 1], "monetary": [80.0, 20.0, 100.0]})
    >>> segment_summary(seg).select("segment", "customers", "revenue_share", "avg_order_value").rows()
    [('A', 2, 0.5, 16.666666666666668), ('B', 1, 0.5, 100.0)]
    """
    require_columns(segments, ["segment", "recency", "frequency", "monetary"], table="segments",
                    purpose="for segment_summary (pass the output of rfm_segments)")
    levels = _segment_levels(segments)
    total_customers = segments.height
    total_revenue = float(segments["monetary"].sum())
    per = segments.group_by(pl.col("segment").cast(pl.String)).agg(
        customers=pl.len().cast(pl.Int64),
        revenue=pl.col("monetary").sum(),
        orders=pl.col("frequency").sum().cast(pl.Int64),
        median_recency=pl.col("recency").median(),
        median_frequency=pl.col("frequency").median(),
    )
    frame = pl.DataFrame({"segment": levels}).join(per, on="segment", how="left", maintain_order="left")
    return frame.select(
        "segment",
        customers=pl.col("customers").fill_null(0),
        customer_share=pl.col("customers").fill_null(0) / max(total_customers, 1),
        revenue=pl.col("revenue").fill_null(0.0),
        revenue_share=pl.col("revenue").fill_null(0.0) / total_revenue if total_revenue else pl.lit(float("nan")),
        orders=pl.col("orders").fill_null(0),
        avg_order_value=pl.col("revenue") / pl.col("orders"),
        median_recency=pl.col("median_recency").cast(pl.Float64),
        median_frequency=pl.col("median_frequency").cast(pl.Float64),
        revenue_per_customer=pl.col("revenue") / pl.col("customers"),
    )


def concentration_curve(rfm: pl.DataFrame, *, column: str = "monetary") -> pl.DataFrame:
    """Cumulative share of revenue brought by the top customers (a Lorenz curve read from the top).

    Parameters
    ----------
    rfm
        One row per customer with a non-negative money column.
    column
        The money column (default ``monetary``).

    Returns
    -------
    polars.DataFrame
        ``n + 1`` rows: ``customers`` (Int64, the top k customers by
        ``column``, from 0), ``customer_share`` (Float64, k / n) and
        ``revenue_share`` (Float64, their share of the total).

    Examples
    --------
    >>> import polars as pl
    >>> curve = concentration_curve(pl.DataFrame({"monetary": [50.0, 30.0, 10.0, 10.0]}))
    >>> curve["revenue_share"].to_list()
    [0.0, 0.5, 0.8, 0.9, 1.0]
    """
    require_columns(rfm, [column], table="rfm", purpose="for the concentration curve")
    values = rfm[column]
    if values.null_count() or (values < 0).any():
        raise CustlabError(f"Column '{column}' must be non-negative with no missing values for a concentration curve.")
    total = float(values.sum())
    if rfm.height == 0 or total <= 0:
        raise EmptyDataError(f"Column '{column}' sums to {total}; there is no revenue to share out.")
    n = rfm.height
    top = values.sort(descending=True).cum_sum() / total
    return pl.DataFrame({
        "customers": pl.int_range(0, n + 1, eager=True).cast(pl.Int64),
        "customer_share": pl.int_range(0, n + 1, eager=True) / n,
        "revenue_share": pl.concat([pl.Series([0.0]), top]),
    })


def top_share(rfm: pl.DataFrame, revenue_share: float = 0.5, *, column: str = "monetary") -> float:
    """Smallest share of customers (the biggest spenders first) that brings ``revenue_share`` of revenue.

    "The top 15% of customers bring 50% of revenue" is ``top_share(rfm, 0.5) == 0.15``.

    Examples
    --------
    >>> import polars as pl
    >>> top_share(pl.DataFrame({"monetary": [50.0, 30.0, 10.0, 10.0]}), 0.5)
    0.25
    """
    if not 0 < revenue_share <= 1:
        raise CustlabError(f"revenue_share must be in (0, 1], got {revenue_share!r}.")
    curve = concentration_curve(rfm, column=column)
    hit = curve.filter(pl.col("revenue_share") >= revenue_share - 1e-12)
    return float(hit["customer_share"][0])


# --------------------------------------------------------------------------------------------------
# Migration
# --------------------------------------------------------------------------------------------------

#: Movement of a customer between two period ends, in the order they are checked.
MOVEMENTS: dict[str, tuple[str, str]] = {
    "new": ("New", "新增"),
    "reactivated": ("Reactivated", "回流"),
    "moved_up": ("Moved up", "升级"),
    "slipped": ("Slipped", "降级"),
    "stayed": ("Stayed", "保持"),
}
_ENTRY = {"en": "(new)", "zh": "（新客）"}


@dataclass
class Migration:
    """Segments at each period end and the moves between consecutive periods.

    Attributes
    ----------
    segments
        ``period_end`` (Date, last day counted), ``customer_id``,
        ``segment`` (Enum), ``value_rank``, ``recency``, ``frequency``,
        ``monetary``: every customer with an order by that period end.
    moves
        ``period_end`` (Date), ``customer_id``, ``from_segment``,
        ``to_segment`` (Enum, with the entry state "(new)"), ``movement``
        (String: new, reactivated, moved_up, slipped, stayed).
    transitions
        Counts per pair of consecutive periods: ``period_from``,
        ``period_end`` (Date), ``from_segment``, ``to_segment`` (Enum),
        ``customers`` (Int64), ``share`` (Float64, of the ``from_segment``
        row, so each row of the matrix sums to 1).
    summary
        Per period end: ``period_end``, ``customers``, and the count of
        each movement (Int64 columns ``new`` ... ``stayed``).
    labels
        Segment labels in order (entry state first).
    """

    segments: pl.DataFrame
    moves: pl.DataFrame
    transitions: pl.DataFrame
    summary: pl.DataFrame
    labels: list[str] = field(default_factory=list)
    language: str = "en"

    @property
    def periods(self) -> list[dt.date]:
        """Period ends, in order."""
        return self.segments["period_end"].unique().sort().to_list()

    def matrix(self, period_end: dt.date | str | None = None, *, share: bool = False) -> pl.DataFrame:
        """Transition matrix into ``period_end`` (default: the last), rows from, columns to.

        Rows are the segments at the previous period end (plus "(new)"),
        columns the segments at ``period_end``; cells hold customers, or
        row shares with ``share=True``.
        """
        periods = self.periods
        if len(periods) < 2:
            raise CustlabError("Only one period end: there is no transition to show.")
        target = periods[-1] if period_end is None else as_datetime(period_end, "period_end").date()
        if target not in periods[1:]:
            raise CustlabError(f"period_end={target} is not a period end with a previous one; choose from "
                               f"{[str(p) for p in periods[1:]]}.")
        cells = self.transitions.filter(pl.col("period_end") == target)
        value = "share" if share else "customers"
        catch_all = self.labels[-1]
        used = set(cells["from_segment"].cast(pl.String).to_list()) | set(cells["to_segment"].cast(pl.String).to_list())
        labels = [s for s in self.labels if s != catch_all or catch_all in used]  # an empty catch-all is left out
        grid = pl.DataFrame({"from_segment": labels}).join(pl.DataFrame({"to_segment": labels[1:]}), how="cross")
        cells = cells.with_columns(pl.col("from_segment", "to_segment").cast(pl.String))
        full = grid.join(cells, on=["from_segment", "to_segment"], how="left").with_columns(
            pl.col(value).fill_null(0)
        )
        wide = full.pivot(on="to_segment", index="from_segment", values=value, aggregate_function="first")
        return wide.select("from_segment", *labels[1:])


def segment_migration(
    transactions: Frame,
    *,
    freq: str = "1mo",
    rules: str | pl.DataFrame | Sequence[Mapping] = "value_tiers",
    language: Language = "en",
    thresholds: Mapping[str, Sequence[float]] | None = None,
    dormant_days: int = 60,
    catch_all: str | None = None,
) -> Migration:
    """Segments recomputed at each period end, and who moved up, slipped or was reactivated.

    At each period end (``freq`` apart, "1mo" = calendar months) RFM is
    computed from the orders up to and including that day
    (:func:`rfm_table` with ``as_of`` the next day), scored
    (:func:`rfm_scores`, by quantile among the customers of that date unless
    ``thresholds`` fix the scale) and segmented (:func:`rfm_segments`). The
    last period ends at the last order date when the data stop mid-period.

    A customer's movement into a period end is, checked in this order:
    ``new`` (first order in the period), ``reactivated`` (had gone
    ``dormant_days`` or more without a purchase at the previous period end
    and bought again in this period), ``moved_up`` / ``slipped`` (segment
    ``value_rank`` better / worse than before; the catch-all ranks last),
    ``stayed``.

    Parameters
    ----------
    transactions
        Canonical transactions (DataFrame or LazyFrame), as for
        :func:`rfm_table`. The four columns RFM needs are collected into
        memory once, since every period end reads them again.
    freq
        Period length as a polars interval ("1mo", "1q", "2w", ...).
    rules, language, catch_all
        As for :func:`rfm_segments`; default the documents' value tiers.
    thresholds
        Fixed score cut points (see :func:`rfm_scores`); with quantile
        scores a customer can slip because others improved.
    dormant_days
        Days without a purchase after which a returning customer counts as
        reactivated.

    Returns
    -------
    Migration
        ``segments``, ``moves``, ``transitions``, ``summary`` and
        ``matrix(period_end)``; see :class:`Migration`.

    Examples
    --------
    >>> import polars as pl, datetime as dt
    >>> tx = pl.DataFrame({"customer_id": [1, 2, 1, 3, 2],
    ...     "order_id": [1, 2, 3, 4, 5],
    ...     "order_date": [dt.datetime(2024, 1, 5), dt.datetime(2024, 1, 9), dt.datetime(2024, 2, 2),
    ...                    dt.datetime(2024, 2, 20), dt.datetime(2024, 4, 28)],
    ...     "amount": [20.0, 5.0, 40.0, 8.0, 6.0]})
    >>> mig = segment_migration(tx)
    >>> mig.summary.select("period_end", "customers", "new", "reactivated").rows()[-1]
    (datetime.date(2024, 4, 28), 3, 0, 1)
    """
    check_frame(transactions, argument="transactions")
    if dormant_days < 1:
        raise CustlabError(f"dormant_days must be a positive number of days, got {dormant_days!r}.")
    resolved = _resolve_rules(rules, language, catch_all)
    _enforce(_coverage(resolved), resolved, "catch_all", "first")
    data = _lazy_transactions(transactions).collect()
    if data.height == 0:
        raise EmptyDataError("The transactions table has no rows; there is nothing to segment.")
    first, last = data["order_date"].min(), data["order_date"].max()
    data_end = dt.datetime.combine(last.date() + dt.timedelta(days=1), dt.time())
    try:
        edges = pl.Series([first.date(), last.date()]).dt.truncate(freq)
        ends = pl.date_range(edges[0], edges.dt.offset_by(freq)[1], interval=freq, eager=True)
    except pl.exceptions.PolarsError as err:
        reason = str(err).splitlines()[0]
        raise CustlabError(f"freq={freq!r} is not a polars interval such as '1mo', '1q' or '2w' ({reason}).") from None
    as_ofs = sorted({min(dt.datetime.combine(d, dt.time()), data_end) for d in ends.to_list()
                     if dt.datetime.combine(d, dt.time()) > first})
    snapshots = []
    for as_of in as_ofs:
        scored = rfm_scores(rfm_table(data, as_of=as_of, engine="in-memory"), thresholds=thresholds)
        seg = _assign(scored, resolved)
        snapshots.append(seg.select(
            period_end=pl.lit((as_of - dt.timedelta(days=1)).date()),
            customer_id="customer_id", segment="segment", value_rank="value_rank",
            recency="recency", frequency="frequency", monetary="monetary",
        ))
    segments = pl.concat(snapshots)
    labels = [_ENTRY[language], *resolved.labels]
    enum = pl.Enum(labels)
    moves = []
    for prev, cur in itertools.pairwise(snapshots):
        period_end = cur["period_end"][0]
        joined = cur.join(prev, on="customer_id", how="left", suffix="_prev")
        movement = (
            pl.when(pl.col("segment_prev").is_null()).then(pl.lit("new"))
            .when((pl.col("recency_prev") >= dormant_days) & (pl.col("frequency") > pl.col("frequency_prev")))
            .then(pl.lit("reactivated"))
            .when(pl.col("value_rank") < pl.col("value_rank_prev")).then(pl.lit("moved_up"))
            .when(pl.col("value_rank") > pl.col("value_rank_prev")).then(pl.lit("slipped"))
            .otherwise(pl.lit("stayed"))
        )
        moves.append(joined.select(
            period_from=pl.lit(prev["period_end"][0]),
            period_end=pl.lit(period_end),
            customer_id="customer_id",
            from_segment=pl.col("segment_prev").cast(pl.String).fill_null(labels[0]).cast(enum),
            to_segment=pl.col("segment").cast(pl.String).cast(enum),
            movement=movement,
        ))
    if moves:
        moved = pl.concat(moves)
        transitions = (
            moved.group_by("period_from", "period_end", "from_segment", "to_segment")
            .agg(customers=pl.len().cast(pl.Int64))
            .with_columns(share=pl.col("customers") / pl.col("customers").sum().over("period_end", "from_segment"))
            .sort("period_end", "from_segment", "to_segment")
        )
        counts = (
            moved.group_by("period_end", "movement").agg(n=pl.len().cast(pl.Int64))
            .pivot(on="movement", index="period_end", values="n")
        )
        for m in MOVEMENTS:
            if m not in counts.columns:
                counts = counts.with_columns(pl.lit(0, dtype=pl.Int64).alias(m))
        sizes = moved.group_by("period_end").agg(customers=pl.len().cast(pl.Int64))
        summary = sizes.join(counts, on="period_end").select(
            "period_end", "customers", *[pl.col(m).fill_null(0) for m in MOVEMENTS]
        ).sort("period_end")
        moved = moved.drop("period_from")
    else:
        moved = pl.DataFrame(schema={"period_end": pl.Date, "customer_id": segments.schema["customer_id"],
                                     "from_segment": enum, "to_segment": enum, "movement": pl.String})
        transitions = pl.DataFrame(schema={"period_from": pl.Date, "period_end": pl.Date, "from_segment": enum,
                                           "to_segment": enum, "customers": pl.Int64, "share": pl.Float64})
        summary = pl.DataFrame(schema={"period_end": pl.Date, "customers": pl.Int64,
                                       **dict.fromkeys(MOVEMENTS, pl.Int64)})
    return Migration(segments, moved, transitions, summary, labels, language)


# --------------------------------------------------------------------------------------------------
# Playbook and CRM export
# --------------------------------------------------------------------------------------------------

#: One recommended action per segment of the shipped rule tables (and the catch-all).
PLAYBOOK = pl.DataFrame(
    [
        ("High value", "高价值客户", "exclusive_benefits",
         "Exclusive benefits: VIP service, early access to new products, member-only gifts",
         "专属权益：VIP服务、新品优先购、会员专享礼"),
        ("Potential", "潜力客户", "cross_category_coupon",
         "Cross-category coupons to widen the basket and raise order value",
         "跨品类优惠券，扩大购买品类、提升客单价"),
        ("Dormant", "沉睡客户", "win_back_offer",
         "Win-back offer: time-limited coupon with a reminder of what they bought",
         "召回优惠：限时优惠券并提醒其曾购商品"),
        ("Low value", "低价值客户", "low_cost_nurture",
         "Low-cost automated nurture: newsletter and push, no discounts",
         "低成本自动化触达：邮件与推送，不发放折扣"),
        ("Champions", "冠军客户", "reward_and_refer",
         "Reward them: early access, loyalty points, invite reviews and referrals",
         "奖励与口碑：新品抢先、积分奖励、邀请评价与推荐"),
        ("Loyal Customers", "忠诚客户", "upsell_membership",
         "Upsell higher-value products and invite them to the membership programme",
         "向上销售高价值商品，邀请加入会员计划"),
        ("Potential Loyalist", "潜在忠诚客户", "loyalty_programme",
         "Offer the loyalty programme with personal recommendations",
         "推荐积分/会员计划并提供个性化推荐"),
        ("New Customers", "新客户", "onboarding",
         "Onboarding: welcome series and an incentive for the second order",
         "新客引导：欢迎礼包与二次购买激励"),
        ("Promising", "有希望客户", "build_awareness",
         "Build awareness: samples, free trials, brand stories",
         "建立品牌认知：试用装、免费试用与品牌故事"),
        ("Need Attention", "需要关注客户", "limited_time_offer",
         "Limited-time offers based on their past purchases",
         "基于历史购买的限时优惠"),
        ("About To Sleep", "即将沉睡客户", "reengage_popular",
         "Re-engage with popular products and a small discount",
         "推荐热门商品并给予小额折扣以唤醒"),
        ("At Risk", "流失风险客户", "personal_reconnect",
         "Personalised messages and offers to reconnect",
         "个性化消息与优惠，重新建立联系"),
        ("Can't Lose Them", "不能失去的客户", "win_back_premium",
         "Win them back personally: new products, renewals, direct contact",
         "重点挽回：新品、续订与一对一沟通"),
        ("Lost", "已流失客户", "low_cost_reactivation",
         "One low-cost reactivation campaign; stop if there is no response",
         "一次低成本唤醒活动，无响应则停止投入"),
        ("Others", "其他", "general_newsletter",
         "General newsletter only",
         "仅常规营销触达"),
    ],
    schema={"segment": pl.String, "segment_zh": pl.String, "action_id": pl.String, "action": pl.String,
            "action_zh": pl.String},
    orient="row",
)


def action_lists(
    segments: pl.DataFrame,
    *,
    playbook: pl.DataFrame | None = None,
    language: Language = "en",
) -> pl.DataFrame:
    """Attach each customer's recommended action from a playbook.

    Parameters
    ----------
    segments
        One row per customer with ``customer_id`` and ``segment`` (output of
        :func:`rfm_segments` or :func:`custlab.segments.kmeans_segments`).
    playbook
        Table with ``segment`` (and ``segment_zh`` for Chinese labels),
        ``action_id`` (short ASCII name, used for file names) and ``action``
        (and ``action_zh``). Default ``PLAYBOOK``: exclusive benefits for
        high value, cross-category coupons for potential, a win-back offer
        for dormant, low-cost nurture for low value, and an action for each
        of the R ``rfm`` segments.
    language
        Which labels ``segments`` uses, and the language of ``action``.

    Returns
    -------
    polars.DataFrame
        ``customer_id``, ``segment`` (String), ``action_id``, ``action``
        (String), then ``recency``, ``frequency``, ``monetary`` when present;
        sorted by action and customer.

    Raises
    ------
    CustlabError
        A segment has no action in the playbook (the message lists them).

    Examples
    --------
    >>> import polars as pl
    >>> seg = pl.DataFrame({"customer_id": [7, 8], "segment": ["Dormant", "High value"]})
    >>> action_lists(seg).select("customer_id", "action_id").rows()
    [(8, 'exclusive_benefits'), (7, 'win_back_offer')]
    """
    require_columns(segments, ["customer_id", "segment"], table="segments", purpose="for action lists")
    book = PLAYBOOK if playbook is None else playbook
    seg_col = "segment" if language == "en" else "segment_zh"
    act_col = "action" if language == "en" else "action_zh"
    if language not in ("en", "zh"):
        raise CustlabError(f"language must be 'en' or 'zh', got {language!r}.")
    if seg_col not in book.columns or act_col not in book.columns or "action_id" not in book.columns:
        raise SchemaError(
            f"The playbook needs columns {seg_col!r}, 'action_id' and {act_col!r} for language={language!r}; "
            f"it has {book.columns}."
        )
    book = book.select(segment=pl.col(seg_col), action_id="action_id", action=pl.col(act_col)).unique(
        "segment", keep="first", maintain_order=True
    )
    customers = segments.with_columns(pl.col("segment").cast(pl.String))
    present = customers["segment"].unique().to_list()
    missing = sorted(s for s in present if s not in set(book["segment"].to_list()))
    if missing:
        raise CustlabError(
            f"The playbook has no action for segment(s) {missing}. Pass playbook= with a row for each "
            f"(columns segment, action_id, action)."
        )
    extra = [c for c in ("recency", "frequency", "monetary") if c in customers.columns]
    return (
        customers.join(book, on="segment", how="left")
        .select("customer_id", "segment", "action_id", "action", *extra)
        .sort("action_id", "customer_id")
    )


def export_action_lists(
    actions: pl.DataFrame,
    directory: str | Path,
    *,
    format: Literal["csv", "parquet"] = "csv",
) -> pl.DataFrame:
    """Write one customer list per action, for import into a CRM.

    Parameters
    ----------
    actions
        Output of :func:`action_lists`.
    directory
        Folder to write to (created if needed). Files are named
        ``<action_id>.csv`` or ``<action_id>.parquet``; existing files of
        the same name are replaced.
    format
        ``"csv"`` (UTF-8, header row) or ``"parquet"``.

    Returns
    -------
    polars.DataFrame
        The manifest: ``action_id``, ``action``, ``customers`` (Int64),
        ``path`` (String), one row per file written.

    Examples
    --------
    >>> import polars as pl, tempfile
    >>> seg = pl.DataFrame({"customer_id": [7, 8, 9], "segment": ["Dormant", "High value", "Dormant"]})
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     export_action_lists(action_lists(seg), folder).select("action_id", "customers").rows()
    [('exclusive_benefits', 1), ('win_back_offer', 2)]
    """
    require_columns(actions, ["customer_id", "action_id", "action"], table="actions",
                    purpose="for export (pass the output of action_lists)")
    if format not in ("csv", "parquet"):
        raise CustlabError(f"format must be 'csv' or 'parquet', got {format!r}.")
    bad = [a for a in actions["action_id"].unique().to_list() if not re.fullmatch(r"[A-Za-z0-9_.-]+", str(a))]
    if bad:
        raise CustlabError(f"action_id values {bad} cannot be file names; use letters, digits, '_', '-' or '.'.")
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for (action_id,), part in actions.sort("action_id", "customer_id").group_by("action_id", maintain_order=True):
        path = folder / f"{action_id}.{format}"
        if format == "csv":
            part.write_csv(path)
        else:
            part.write_parquet(path)
        rows.append((action_id, part["action"][0], part.height, str(path)))
    return pl.DataFrame(rows, schema={"action_id": pl.String, "action": pl.String, "customers": pl.Int64,
                                      "path": pl.String}, orient="row")


# --------------------------------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------------------------------

_TEXT = {
    "en": {"r": "R score (5 = most recent)", "f": "F score (5 = most orders)", "mean_m": "Mean monetary value",
           "heat_title": "Mean monetary value by R and F score", "share": "Share", "customers": "Customers",
           "revenue": "Revenue", "seg_title": "Customers and revenue by segment",
           "top": "Top share of customers", "rev": "Share of revenue", "conc_title": "Revenue concentration",
           "equal": "Equal spend", "from": "From (previous period)", "to": "To",
           "mig_title": "Segment migration into {period}", "mark": "top {c:.0%} bring {r:.0%}"},
    "zh": {"r": "R 分（5 = 最近）", "f": "F 分（5 = 最多订单）", "mean_m": "平均消费金额",
           "heat_title": "按 R、F 分的平均消费金额", "share": "占比", "customers": "客户",
           "revenue": "收入", "seg_title": "各分群客户与收入占比",
           "top": "头部客户占比", "rev": "收入占比", "conc_title": "收入集中度",
           "equal": "均匀分布", "from": "来源（上期）", "to": "去向",
           "mig_title": "{period} 分群迁移", "mark": "前 {c:.0%} 客户贡献 {r:.0%}"},
}


def _figure(width: float = 7.0, height: float = 5.0):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.subplots()


def _text(language: str) -> dict[str, str]:
    if language not in _TEXT:
        raise CustlabError(f"language must be 'en' or 'zh', got {language!r}.")
    return _TEXT[language]


def plot_rfm_heatmap(scores: pl.DataFrame, *, language: Language = "en"):
    """Heatmap of mean monetary value by R score (rows) and F score (columns).

    Parameters
    ----------
    scores
        Output of :func:`rfm_scores` (``r_score``, ``f_score``, ``monetary``).

    Returns
    -------
    matplotlib.figure.Figure
        One Axes; cells are annotated with the mean, empty combinations blank.

    Examples
    --------
    >>> import polars as pl
    >>> s = pl.DataFrame({"r_score": [5, 5, 1], "f_score": [5, 4, 1], "monetary": [90.0, 50.0, 5.0]})
    >>> plot_rfm_heatmap(s).axes[0].get_title()
    'Mean monetary value by R and F score'
    """
    import seaborn as sns

    require_columns(scores, ["r_score", "f_score", "monetary"], table="scores", purpose="for the heatmap")
    text = _text(language)
    cells = scores.group_by("r_score", "f_score").agg(pl.col("monetary").mean())
    grid = pl.DataFrame({"r_score": range(5, 0, -1)}).join(pl.DataFrame({"f_score": range(1, 6)}), how="cross")
    grid = grid.join(cells, on=["r_score", "f_score"], how="left")
    table = grid.to_pandas().pivot(index="r_score", columns="f_score", values="monetary").sort_index(ascending=False)
    fig, ax = _figure()
    sns.heatmap(table, annot=True, fmt=".0f", cmap="YlGnBu", ax=ax, cbar_kws={"label": text["mean_m"]})
    ax.set_xlabel(text["f"])
    ax.set_ylabel(text["r"])
    ax.set_title(text["heat_title"])
    return fig


def plot_segment_shares(summary: pl.DataFrame, *, language: Language = "en"):
    """Horizontal bars of each segment's share of customers and of revenue.

    Parameters
    ----------
    summary
        Output of :func:`segment_summary`.

    Returns
    -------
    matplotlib.figure.Figure
        One Axes with two bars per segment (customers, revenue), in the
        order of ``summary``.

    Examples
    --------
    >>> import polars as pl
    >>> summ = pl.DataFrame({"segment": ["A", "B"], "customer_share": [0.8, 0.2], "revenue_share": [0.4, 0.6]})
    >>> ax = plot_segment_shares(summ).axes[0]
    >>> [[round(float(bar.get_width()), 2) for bar in bars] for bars in ax.containers]
    [[0.8, 0.2], [0.4, 0.6]]
    """
    import pandas as pd
    import seaborn as sns

    require_columns(summary, ["segment", "customer_share", "revenue_share"], table="summary",
                    purpose="for the segment plot (pass the output of segment_summary)")
    text = _text(language)
    order = [str(s) for s in summary["segment"].to_list()]
    long = pd.DataFrame({
        "segment": order * 2,
        "measure": [text["customers"]] * len(order) + [text["revenue"]] * len(order),
        "share": summary["customer_share"].to_list() + summary["revenue_share"].to_list(),
    })
    fig, ax = _figure(7.0, max(3.0, 0.45 * len(order) + 1.5))
    sns.barplot(long, y="segment", x="share", hue="measure", order=order, orient="h", ax=ax)
    ax.set_xlabel(text["share"])
    ax.set_ylabel("")
    ax.set_title(text["seg_title"])
    ax.legend(title="")
    return fig


def plot_concentration(rfm: pl.DataFrame, *, revenue_share: float = 0.5, column: str = "monetary",
                       language: Language = "en"):
    """The concentration curve, with the point where the top customers reach ``revenue_share``.

    Returns
    -------
    matplotlib.figure.Figure
        Lines: the curve (first) and the equal-spend diagonal; the marked
        point's label reads e.g. "top 15% bring 50%".

    Examples
    --------
    >>> import polars as pl
    >>> fig = plot_concentration(pl.DataFrame({"monetary": [50.0, 30.0, 10.0, 10.0]}))
    >>> fig.axes[0].get_legend_handles_labels()[1]
    ['top 25% bring 50%', 'Equal spend']
    """
    import seaborn as sns

    text = _text(language)
    curve = concentration_curve(rfm, column=column)
    x = top_share(rfm, revenue_share, column=column)
    fig, ax = _figure(6.0, 5.0)
    sns.lineplot(x=curve["customer_share"].to_numpy(), y=curve["revenue_share"].to_numpy(), ax=ax,
                 label=text["mark"].format(c=x, r=revenue_share))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label=text["equal"])
    ax.plot([x, x, 0], [0, revenue_share, revenue_share], linestyle=":", color="black")
    ax.set_xlabel(text["top"])
    ax.set_ylabel(text["rev"])
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_title(text["conc_title"])
    ax.legend()
    return fig


def plot_migration(migration: Migration, period_end: dt.date | str | None = None, *, share: bool = True):
    """Heatmap of the transition matrix into ``period_end`` (default: the last period).

    Rows: segment at the previous period end (plus new customers); columns:
    segment at ``period_end``; cells: row shares (``share=True``) or counts.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import polars as pl, datetime as dt
    >>> tx = pl.DataFrame({"customer_id": [1, 2, 1], "order_id": [1, 2, 3],
    ...     "order_date": [dt.datetime(2024, 1, 5), dt.datetime(2024, 1, 9), dt.datetime(2024, 2, 2)],
    ...     "amount": [20.0, 5.0, 40.0]})
    >>> fig = plot_migration(segment_migration(tx))
    >>> fig.axes[0].get_ylabel()
    'From (previous period)'
    """
    import seaborn as sns

    text = _text(migration.language)
    matrix = migration.matrix(period_end, share=share)
    periods = migration.periods
    target = periods[-1] if period_end is None else as_datetime(period_end, "period_end").date()
    frame = matrix.to_pandas().set_index("from_segment")
    fig, ax = _figure(1.0 + 0.9 * frame.shape[1], 1.2 + 0.6 * frame.shape[0])
    sns.heatmap(frame, annot=True, fmt=".0%" if share else "d", cmap="Blues", ax=ax, cbar=False)
    ax.set_xlabel(text["to"])
    ax.set_ylabel(text["from"])
    ax.set_title(text["mig_title"].format(period=target))
    return fig


__all__ = [
    "MOVEMENTS", "PLAYBOOK", "RFM_COLUMNS", "RFM_REACHABLE", "RULE_TABLES", "R_RFM_SEGMENTS", "VALUE_TIERS",
    "Migration", "action_lists", "concentration_curve", "export_action_lists", "plot_concentration",
    "plot_migration", "plot_rfm_heatmap", "plot_segment_shares", "rfm_scores", "rfm_segments", "rfm_table",
    "rule_coverage", "segment_migration", "segment_summary", "top_share", "value_tier_rules",
]
