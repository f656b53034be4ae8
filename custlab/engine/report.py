"""The small tables a monthly report needs, aggregated on the engine holding the order lines.

:func:`report_tables` runs each heavy step where the data live (DuckDB,
Spark, any lazy table narwhals wraps) and returns only small polars tables:
model patterns and counts, never one row per order line or per customer.
The other functions are the counts of ``custlab report --engine``
(:mod:`custlab.report.figures_engine`): the month's figures, the monthly
series, the geography and the demand outlook's monthly sales.
"""

from __future__ import annotations

import datetime as dt

import narwhals as nw
import polars as pl

from custlab._dates import as_datetime
from custlab._money import MICRO, from_micros
from custlab._types import DateLike
from custlab.exceptions import EmptyDataError

from custlab.engine._nw import (
    accepts, collect, count_where, day_number, day_rows, epoch_day, lazy, money_sum, running, scratch, store, upload,
)
from custlab.engine.counts import cohort_retention, series, weekday_hour
from custlab.engine.customers import clv_patterns, gap_counts, spend_patterns, survival_counts

__all__ = ["attribute_counts", "currencies", "geography_counts", "heat_series", "monthly_counts", "outlook_rows", "value_tiers", "report_tables", "span", "day_counts", "window_counts"]


def report_tables(transactions: object, *, as_of: DateLike | None = None, freq: str = "1w",
                  inactivity_days: int = 90) -> dict[str, pl.DataFrame]:
    """The report's heavy steps pushed down: a dict of small polars tables.

    Keys: ``clv_patterns`` and ``spend_patterns`` (fit ``BetaGeo`` /
    ``GammaGamma`` on them, weighted), ``survival_counts`` (Kaplan-Meier),
    ``gap_counts`` (repurchase gaps), ``cohort_retention``, ``weekday_hour``
    (orders per weekday and hour) and ``series`` (revenue per ``freq``). Each
    has at most some hundred thousand rows, whatever the size of the data.
    ``as_of`` is the first instant that is not history (see
    :mod:`custlab._dates`); default the midnight after the last order.

    Sections that need order lines or one row per customer (action lists,
    segment tables, basket rules by product) are not here: on a large table
    run them on a sample or write their per-customer tables back on the engine.
    """
    if not accepts(transactions):
        raise TypeError(
            "custlab.engine.report_tables: transactions must be a lazy table of another engine (DuckDB relation, "
            f"PySpark DataFrame); got {type(transactions).__name__}. For polars, run the report itself."
        )
    end = as_datetime(as_of, "as_of")
    return {
        "clv_patterns": clv_patterns(transactions, as_of=end),
        "spend_patterns": spend_patterns(transactions, as_of=end, relative_step=1e-3),
        "survival_counts": survival_counts(transactions, as_of=end, inactivity_days=inactivity_days),
        "gap_counts": gap_counts(transactions, as_of=end),
        "cohort_retention": cohort_retention(transactions, as_of=end),
        "weekday_hour": weekday_hour(transactions if end is None else _before(transactions, end)),
        "series": series(transactions, freq=freq, as_of=end),
    }


def _before(transactions: object, end) -> object:
    """The lines dated before ``end``, still on their engine (weekday_hour takes no as_of)."""
    import narwhals as nw

    return nw.to_native(nw.from_native(transactions).filter(nw.col("order_date") < end))


# -- the monthly report's own counts (custlab.report.figures_engine) -------------------------------------------------
def span(transactions: object) -> dict[str, object]:
    """``first`` and ``last`` order instants, ``lines`` and ``midnight`` (all orders at 00:00), in one pass."""
    frame = lazy(transactions, function="report.span")
    date = nw.col("order_date")
    clock = date.dt.hour() * 3600 + date.dt.minute() * 60 + date.dt.second()
    with running("report.span", frame):
        row = collect(frame.select(first=date.min(), last=date.max(), lines=nw.len().cast(nw.Int64),
                                   timed=count_where(clock != 0))).row(0, named=True)
    row["midnight"] = row.pop("timed") == 0
    return row


def day_counts(transactions: object) -> pl.DataFrame:
    """Lines per calendar day (``day``, ``rows``; sorted, undated lines left out), for :mod:`custlab.report.months`."""
    frame = lazy(transactions, function="report.day_counts")
    with running("report.day_counts", frame):
        return day_rows(frame)


def currencies(transactions: object) -> list[str]:
    """Up to two distinct values of the ``currency`` column (none when it is absent)."""
    frame = lazy(transactions, function="report.currencies")
    if "currency" not in frame.collect_schema().names():
        return []
    with running("report.currencies", frame):
        codes = collect(frame.filter(~nw.col("currency").is_null()).select("currency").unique().head(2))
    return [str(c) for c in codes["currency"].to_list()]


def window_counts(transactions: object, start: dt.datetime, end: dt.datetime, *, inactivity_days: int
                  ) -> dict[str, float | int]:
    """Revenue, orders, active and new customers in ``[start, end)``, and the customers whose silence reached
    ``inactivity_days`` in it (last order day ``L`` before ``end`` with ``start < L + W <= end``, calendar days).

    Two aggregations on the engine, the same figures as the report's polars
    path (:func:`custlab.report.figures_sales.window_metrics`).
    """
    function = "report.window_counts"
    frame = lazy(transactions, function=function)
    history = frame.filter(nw.col("order_date") < end)
    with running(function, frame):
        now = collect(history.filter(nw.col("order_date") >= start).select(
            revenue=money_sum(), orders=nw.col("order_id").n_unique().cast(nw.Int64),
            active_customers=nw.col("customer_id").n_unique().cast(nw.Int64),
        )).row(0, named=True)
        reached = nw.col("_last") + inactivity_days
        people = collect(
            history.group_by("customer_id")
            .agg(_first=nw.col("order_date").min(), _last=epoch_day(nw.col("order_date")).max())
            .select(new_customers=count_where(nw.col("_first") >= start),
                    churned_customers=count_where((reached > day_number(start)) & (reached <= day_number(end))))
        ).row(0, named=True)
    return {"revenue": float(now["revenue"] or 0) / MICRO, "orders": int(now["orders"] or 0),
            "active_customers": int(now["active_customers"] or 0), "new_customers": int(people["new_customers"] or 0),
            "churned_customers": int(people["churned_customers"] or 0)}


def monthly_counts(transactions: object, *, as_of: dt.datetime) -> pl.DataFrame:
    """Per calendar month before ``as_of``: ``revenue``, ``orders``, ``active_customers``, ``new_customers``."""
    function = "report.monthly_counts"
    frame = lazy(transactions, function=function)
    date = nw.col("order_date")
    month = date.dt.year().cast(nw.Int64) * 12 + date.dt.month().cast(nw.Int64) - 1
    lines = frame.filter(date < as_of).with_columns(_m=month)
    with running(function, frame):
        per = collect(lines.group_by("_m").agg(
            revenue=money_sum(), orders=nw.col("order_id").n_unique().cast(nw.Int64),
            active_customers=nw.col("customer_id").n_unique().cast(nw.Int64)))
        first = collect(lines.group_by("customer_id").agg(_m=nw.col("_m").min())
                        .group_by("_m").agg(new_customers=nw.len().cast(nw.Int64)))
    return (per.join(first, on="_m", how="left")
            .with_columns(month=pl.date(pl.col("_m") // 12, pl.col("_m") % 12 + 1, 1),
                          new_customers=pl.col("new_customers").fill_null(0).cast(pl.Int64),
                          revenue=from_micros(pl.col("revenue")))
            .select("month", "revenue", "orders", "active_customers", "new_customers").sort("month"))


def geography_counts(transactions: object, column: str, *, as_of: dt.datetime) -> pl.DataFrame:
    """Customers and revenue per value of ``column``, each customer under her most frequent value (ties: the
    smallest; null when she has none): ``group``, ``customers``, ``revenue``."""
    function = "report.geography_counts"
    frame = lazy(transactions, function=function)
    lines = frame.filter(nw.col("order_date") < as_of)
    with running(function, frame):
        counted = (lines.filter(~nw.col(column).is_null()).group_by("customer_id", column)
                   .agg(_n=nw.len()).with_columns(_top=nw.col("_n").max().over("customer_id")))
        home = (counted.filter(nw.col("_n") == nw.col("_top")).group_by("customer_id")
                .agg(_group=nw.col(column).min()))
        revenue = lines.group_by("customer_id").agg(_revenue=money_sum())
        out = collect(revenue.join(home, on="customer_id", how="left").group_by("_group")
                      .agg(customers=nw.len().cast(nw.Int64), revenue=nw.col("_revenue").sum()))
    return out.select(group=pl.col("_group").cast(pl.String), customers="customers",
                      revenue=from_micros(pl.col("revenue")))


def attribute_counts(transactions: object, people: pl.DataFrame, columns: list[str], *, as_of: dt.datetime,
                     everyone: tuple[str, ...] = ()) -> tuple[int, dict[str, pl.DataFrame]]:
    """Customers and revenue per value of each of ``columns`` and ``everyone`` (columns of ``people``, one row per
    customer, e.g. the customers table), over the customers who ordered before ``as_of``: for ``columns`` those
    ``people`` describes, for ``everyone`` all of them (those ``people`` lacks in the null group). Joined on the
    engine, never collected per customer. Returns how many of them ``people`` describes, and per column ``group``,
    ``customers``, ``revenue`` (the null group included)."""
    function = "report.attribute_counts"
    frame = lazy(transactions, function=function)
    with running(function, frame), scratch():
        revenue = frame.filter(nw.col("order_date") < as_of).group_by("customer_id").agg(_revenue=money_sum())
        table = upload(frame, people.select("customer_id", *columns, *everyone).with_columns(_described=pl.lit(True)))
        joined = store(revenue.join(table, on="customer_id", how="left"))
        covered = int(collect(joined.select(n=nw.col("_described").count()))["n"][0])
        described = joined.filter(~nw.col("_described").is_null())
        tables = {}
        for column in (*columns, *everyone):
            out = collect((described if column in columns else joined).group_by(column).agg(
                customers=nw.len().cast(nw.Int64), revenue=nw.col("_revenue").sum()))
            tables[column] = out.select(group=pl.col(column).cast(pl.String), customers="customers",
                                        revenue=from_micros(pl.col("revenue")))
    return covered, tables


def outlook_rows(transactions: object, by: str, *, as_of: dt.datetime, top_n: int, other: str
                 ) -> tuple[list[str], pl.DataFrame]:
    """The top ``top_n`` values of ``by`` by revenue in the year before ``as_of``, and the monthly sales of each
    (the rest as ``other``) as order rows :func:`custlab.forecast.demand_outlook` reads: each month's sum at its
    first order's instant and a zero at its last, so months, sums and the last order are those of the lines."""
    function = "report.outlook_rows"
    frame = lazy(transactions, function=function)
    date = nw.col("order_date")
    lines = frame.filter(date < as_of)
    with running(function, frame):
        ranking = collect(lines.filter(date >= as_of - dt.timedelta(days=365)).group_by(by)
                          .agg(amount=nw.col("amount").sum()))
        ranking = ranking.with_columns(pl.col(by).cast(pl.String)).sort("amount", by, descending=[True, False])
        top = [v for v in ranking[by].head(top_n).to_list() if v is not None]  # as demand_outlook ranks
        group = nw.when(nw.col(by).cast(nw.String).is_in(top)).then(nw.col(by).cast(nw.String)).otherwise(nw.lit(other))
        month = date.dt.year().cast(nw.Int64) * 12 + date.dt.month().cast(nw.Int64)
        sales = collect(lines.with_columns(_g=group, _m=month).group_by("_g", "_m")
                        .agg(amount=money_sum(), first=date.min(), last=date.max()))
    rows = pl.concat([sales.select(order_date=pl.col("first").cast(pl.Datetime("us")), _g="_g",
                                   amount=from_micros(pl.col("amount"))),
                      sales.select(order_date=pl.col("last").cast(pl.Datetime("us")), _g="_g", amount=pl.lit(0.0))])
    return top, rows.rename({"_g": by}).sort("order_date", by)


def heat_series(transactions: object, by: str, groups: list[str], *, as_of: dt.datetime, products: int
                ) -> pl.DataFrame | None:
    """Weekly sales of the ``products`` best-selling products of the ``groups`` over the 13 weeks before
    ``as_of`` (units when there is a ``quantity``), for the demand outlook's heat alerts; None without products."""
    function = "report.heat_series"
    frame = lazy(transactions, function=function)
    names = frame.collect_schema().names()
    if "product_id" not in names:
        return None
    date = nw.col("order_date")
    lines = frame.filter(date < as_of)
    if by != "product_id":
        lines = lines.filter(nw.col(by).cast(nw.String).is_in(groups))
    with running(function, frame):
        recent = collect(lines.filter(date >= as_of - dt.timedelta(weeks=13)).group_by("product_id")
                         .agg(amount=nw.col("amount").sum()))
    best = recent.sort("amount", "product_id", descending=[True, False]).head(products)["product_id"].to_list()
    measure = "units" if "quantity" in names else "revenue"  # units: one big order is no heat
    return series(nw.to_native(lines.filter(nw.col("product_id").is_in(best))), by="product_id", freq="1w",
                  measure=measure, as_of=as_of)


# -- value tiers ---------------------------------------------------------------------------------------------------
#: Buckets per histogram pass of :func:`_smallest_reaching` (each pass narrows a value range this many times).
_BUCKETS = 4096
#: The value tiers of :func:`custlab.segments.value_tier_rules` in display order (value rank 1-5).
TIERS = ("High value", "Potential", "Low value", "Can't lose them", "Dormant")


def _customers(lines: nw.LazyFrame, as_of: dt.datetime) -> nw.LazyFrame:
    """Per customer before ``as_of``: ``recency`` (days), ``frequency`` (orders), ``micros`` (revenue in whole
    millionths, as :func:`custlab.engine.rfm_table` adds it), lazily on the engine."""
    per = (lines.filter(nw.col("order_date") < as_of).group_by("customer_id")
           .agg(frequency=nw.col("order_id").n_unique().cast(nw.Int64),
                micros=money_sum(),
                _last=epoch_day(nw.col("order_date")).max()))
    return per.with_columns(recency=day_number(as_of) - nw.col("_last")).drop("_last")


def _smallest_reaching(per: nw.LazyFrame, column: str, searches: list[tuple[str, float]], low: int, high: int
                       ) -> list[int]:
    """For each (measure, target): the smallest integer value ``v`` of ``column`` whose customers at or below ``v``
    reach more than ``target`` (``"count"``: customers; ``"sum"``: their ``column`` summed). Exact: each pass
    groups the remaining range into :data:`_BUCKETS` buckets on the engine and keeps the bucket that crosses."""
    state = [[low, high, 0] for _ in searches]  # range left, and the measure of the values below it
    while any(lo < hi for lo, hi, _ in state):
        parts, widths = [], []
        for i, (lo, hi, _) in enumerate(state):
            width = max(1, -(-(hi - lo + 1) // _BUCKETS))
            widths.append(width)
            if lo < hi:
                parts.append(per.filter((nw.col(column) >= lo) & (nw.col(column) <= hi))
                             .select(_s=nw.lit(i), _b=(nw.col(column) - lo) // width, _v=nw.col(column)))
        found = collect(nw.concat(parts).group_by("_s", "_b").agg(n=nw.len().cast(nw.Int64), total=nw.col("_v").sum()))
        for i, (measure, target) in enumerate(searches):
            lo, hi, below = state[i]
            if lo >= hi:
                continue
            rows = found.filter(pl.col("_s") == i).sort("_b")
            reached = (below + rows["n" if measure == "count" else "total"].cast(pl.Float64).cum_sum()) > target
            at = int(reached.arg_true()[0]) if reached.any() else rows.height - 1
            before = below + float(rows["n" if measure == "count" else "total"][:at].cast(pl.Float64).sum())
            bucket = int(rows["_b"][at])
            start = lo + bucket * widths[i]
            state[i] = [start, min(hi, start + widths[i] - 1), before]
    return [lo for lo, _, _ in state]


def _tier_frame(lines: nw.LazyFrame, as_of: dt.datetime, dormant_days: int) -> tuple[nw.LazyFrame, dict]:
    """Every customer's value tier at ``as_of`` as :func:`custlab.segments.rfm_scores` and
    :func:`custlab.segments.value_tier_rules` assign it, lazily: the F and M score cut points are found on the
    engine (F from the distribution of order counts, M by exact order statistics), then one expression."""
    per = store(_customers(lines, as_of))  # one row per customer, kept on the engine: the cut points read it often
    stats = collect(per.select(n=nw.len().cast(nw.Int64), low=nw.col("micros").min(), high=nw.col("micros").max(),
                               total=nw.col("micros").sum().cast(nw.Int64)))
    n, low, high, total = stats.row(0)
    if not n:
        raise EmptyDataError(f"No customer ordered before {as_of:%Y-%m-%d}: there are no value tiers.")
    orders = collect(per.group_by("frequency").agg(customers=nw.len().cast(nw.Int64))).sort("frequency")
    worse = orders["customers"].cum_sum() - orders["customers"]  # customers with fewer orders
    f_score = 1 + (worse * 5) // n  # as rfm_scores scores by quantile
    frequency = orders["frequency"].to_list()

    def f_from(score: int) -> int | None:
        hits = [f for f, s in zip(frequency, f_score.to_list(), strict=True) if s >= score]
        return hits[0] if hits else None

    # M score >= s when at least ceil((s - 1) n / 5) customers spent less: above the value at that rank
    m3, m5 = _smallest_reaching(per, "micros", [("count", -(-2 * n // 5) - 1), ("count", -(-4 * n // 5) - 1)],
                                int(low), int(high))
    f3, f5 = f_from(3), f_from(5)
    top = ((nw.col("frequency") >= f5) if f5 is not None else nw.lit(False)) & (nw.col("micros") > m5)
    middle = ((nw.col("frequency") >= f3) if f3 is not None else nw.lit(False)) | (nw.col("micros") > m3)
    active = nw.col("recency") < dormant_days
    rank = (nw.when(active & top).then(nw.lit(1)).when(~active & top).then(nw.lit(4)).when(~active).then(nw.lit(5))
            .when(middle).then(nw.lit(2)).otherwise(nw.lit(3)))
    return per.with_columns(value_rank=rank.cast(nw.Int64)), {"n": int(n), "total": int(total), "low": int(low),
                                                             "high": int(high)}


def value_tiers(transactions: object, *, as_of: dt.datetime, dormant_days: int = 60,
                previous_as_of: dt.datetime | None = None) -> dict[str, object]:
    """The value-tier figures of the monthly report, computed on the engine.

    Returns a dict: ``distribution`` (customers, revenue in millionths and
    orders per ``value_rank`` and ``recency``), ``frequencies`` (customers per
    ``value_rank`` and ``frequency``), ``customers``, ``top_customers`` (the
    fewest biggest spenders who bring half of the revenue, as
    :func:`custlab.segments.top_share` counts them) and, with
    ``previous_as_of``, ``moved``: customers new since then, reactivated,
    moved up and slipped down (as the in-memory report counts them).
    Collected: a few thousand rows, whatever the number of customers.
    """
    function = "report.value_tiers"
    frame = lazy(transactions, function=function)
    with running(function, frame), scratch():
        tiers, stats = _tier_frame(frame, as_of, dormant_days)
        distribution = collect(tiers.group_by("value_rank", "recency").agg(
            customers=nw.len().cast(nw.Int64), micros=nw.col("micros").sum().cast(nw.Int64),
            orders=nw.col("frequency").sum().cast(nw.Int64)))
        frequencies = collect(tiers.group_by("value_rank", "frequency").agg(customers=nw.len().cast(nw.Int64)))
        target = (0.5 - 1e-12) * stats["total"]  # top_share: revenue_share >= 0.5 (less a rounding allowance)
        (cut,) = _smallest_reaching(tiers, "micros", [("sum", stats["total"] - target)], stats["low"], stats["high"])
        above = collect(tiers.filter(nw.col("micros") > cut).select(
            n=nw.len().cast(nw.Int64), total=nw.col("micros").sum().cast(nw.Int64))).row(0, named=True)
        needed = target - float(above["total"] or 0)
        top_customers = int(above["n"]) + (max(0, -int(-needed // cut)) if cut > 0 else 0)
        out: dict[str, object] = {"distribution": distribution, "frequencies": frequencies, "customers": stats["n"],
                                  "top_customers": top_customers}
        if previous_as_of is not None:
            before, _ = _tier_frame(frame, previous_as_of, dormant_days)
            before = before.select("customer_id", _rank=nw.col("value_rank"), _recency=nw.col("recency"),
                                   _frequency=nw.col("frequency"))
            joined = tiers.join(before, on="customer_id", how="left")
            react = (nw.col("_recency") >= dormant_days) & (nw.col("frequency") > nw.col("_frequency"))
            out["moved"] = collect(joined.select(
                new=count_where(nw.col("_rank").is_null()), react=count_where(react),
                up=count_where((nw.col("value_rank") < nw.col("_rank")) & ~react.fill_null(False)),
                down=count_where((nw.col("value_rank") > nw.col("_rank")) & ~react.fill_null(False)),
            )).row(0, named=True)
            out["moved"] = {k: int(v) for k, v in out["moved"].items()}  # (DuckDB sums integers as decimals)
    return out
