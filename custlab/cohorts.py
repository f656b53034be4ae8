"""Acquisition cohorts: who comes back, month by month after the first purchase, and what they spend.

``as_of`` has the package's one meaning (:mod:`custlab._dates`): the first
instant that is not history; orders with ``order_date < as_of`` count. A
date means its midnight; the default is the midnight after the last order.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from custlab._dates import as_datetime, as_of_after
from custlab._grouping import MONTH_EDGES, dense_size, extremes_per_id, line_blocks, month_numbers, pair_groups
from custlab._i18n import labels
from custlab._money import from_micros, micros
from custlab._plotting import figure_axes, in_language_font
from custlab._types import DateLike, Frame, Language
from custlab.data.schema import check_frame, require_columns, validate
from custlab.exceptions import CustlabError, EmptyDataError

__all__ = ["RETENTION_VALUES", "cohort_matrix", "cohort_retention", "plot_cohort_heatmap"]

#: The columns of :func:`cohort_retention` that :func:`cohort_matrix` and the heatmap can spread.
RETENTION_VALUES = (
    "active_share", "active_customers", "revenue", "revenue_per_customer", "cumulative_revenue_per_customer",
)


def cohort_retention(
    transactions: Frame,
    *,
    as_of: DateLike | None = None,
    max_periods: int | None = None,
) -> pl.DataFrame:
    """Monthly acquisition cohorts x months since first purchase: active share and revenue.

    A customer's cohort is the calendar month of their first order; period
    *p* is the calendar month *p* months later. Every cohort gets a row for
    every period up to the month of the last day before ``as_of`` (zeros
    included), so the matrix is explicit about who did not come back.

    Parameters
    ----------
    transactions
        Canonical transactions: ``customer_id``, ``order_date``, ``amount``.
        Pass cleaned data (:func:`custlab.data.clean.clean_transactions`): returns
        left in would count as negative revenue.
    as_of
        The first instant that is not history (see :mod:`custlab._dates`):
        orders at or after it are left out. Default: the midnight after the
        last order.
    max_periods
        Keep periods 0..max_periods only.

    Returns
    -------
    pl.DataFrame
        ``cohort`` (Date, first day of the month), ``period`` (Int64, months
        since the first purchase), ``month`` (Date, the calendar month of the
        period), ``cohort_size`` (Int64), ``active_customers`` (Int64, with
        at least one order that month), ``active_share`` (Float64),
        ``revenue`` (Float64), ``revenue_per_customer`` (Float64, revenue /
        cohort size), ``cumulative_revenue_per_customer`` (Float64), and
        ``period_complete`` (Boolean, false for a month that as_of cuts short).

    Raises
    ------
    CustlabError
        Orders without a customer_id or an order_date (they belong to no cohort).

    Examples
    --------
    >>> import datetime as dt
    >>> import polars as pl
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 2, 3], "order_id": ["a", "b", "c", "d"],
    ...                    "order_date": [dt.datetime(2024, 1, 5), dt.datetime(2024, 3, 2),
    ...                                   dt.datetime(2024, 1, 20), dt.datetime(2024, 2, 1)],
    ...                    "amount": [10.0, 20.0, 5.0, 8.0]})
    >>> r = cohort_retention(tx)
    >>> jan = r.filter(pl.col("cohort") == dt.date(2024, 1, 1))
    >>> jan.select("period", "active_share", "cumulative_revenue_per_customer").rows()
    [(0, 1.0, 7.5), (1, 0.0, 7.5), (2, 0.5, 17.5)]
    """
    if not isinstance(transactions, (pl.DataFrame, pl.LazyFrame)):
        from custlab import engine as pushdown  # DuckDB, Spark...: aggregate where the data live

        if pushdown.accepts(transactions):
            return pushdown.cohort_retention(transactions, as_of=as_of, max_periods=max_periods)
    check_frame(transactions, argument="transactions")
    if max_periods is not None and (not isinstance(max_periods, int) or max_periods < 0):
        raise CustlabError(f"max_periods must be None or a whole number >= 0, got {max_periods!r}.")
    tx = validate(transactions, "transactions").lazy().select("customer_id", "order_date", "amount")
    as_of_dt = None if as_of is None else as_datetime(as_of, "as_of")
    if as_of_dt is not None:  # lines without a date stay, to be refused below
        tx = tx.filter((pl.col("order_date") < as_of_dt) | pl.col("order_date").is_null())
    months = _customer_months(tx, with_last=as_of_dt is None)
    if months.height == 0:
        if as_of_dt is None:
            raise EmptyDataError("The transactions table is empty (0 rows); there are no cohorts.")
        raise EmptyDataError(f"No orders before as_of={as_of_dt:%Y-%m-%d}; there are no cohorts.")
    if as_of_dt is None:
        as_of_dt = as_of_after(months["_last"].max())
    last_day = as_of_dt - dt.timedelta(microseconds=1)
    last_m = last_day.year * 12 + last_day.month - 1
    dense = _dense_cells(months)
    if dense is not None:
        return _retention_table(*dense, last_m, as_of_dt, max_periods)
    customer, month = pl.col("customer_id"), pl.col("_m")
    ids = months["customer_id"]
    if ids.dtype.is_integer() and -(2**46) < ids.min() and ids.max() < 2**46:  # sorted by one packed key: the
        # months of each customer in order, the first one her cohort
        months = months.sort(customer.cast(pl.Int64) * 2**16 + month).with_columns(
            _c=pl.when(customer != customer.shift()).then(month).fill_null(strategy="forward").fill_null(month.first()))
    else:
        months = months.with_columns(_c=month.min().over("customer_id"))
    agg = months.group_by("_c", "_m").agg(
        active_customers=pl.len().cast(pl.Int64), revenue=pl.col("revenue").sum()
    ).with_columns(revenue=from_micros(pl.col("revenue")))
    sizes = months.filter(pl.col("_m") == pl.col("_c")).group_by("_c").agg(cohort_size=pl.len().cast(pl.Int64))
    return _retention_table(agg, sizes, last_m, as_of_dt, max_periods)


#: Most months between the first and the last order for :func:`_dense_cells` (its counts hold span**2 cells).
_DENSE_SPAN = 1200


def _dense_cells(months: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """Counts and revenue per (cohort ``_c``, month ``_m``) and cohort sizes, when the ids are small whole numbers.

    ``months`` has one row per customer and month (``customer_id``, ``_m``, ``revenue`` in millionths). A
    customer's cohort is her first month: ``np.minimum.at`` keeps the smallest month of each id in a table
    indexed by id, with no sort (1.9M customer-months: 0.006 s, where sorting their packed keys took 0.11 s and
    sorting the frame and grouping about 0.3 s). The cells are counted and summed by ``np.bincount``, a block
    of rows at a time (:func:`custlab._grouping.line_blocks`: no copy of a whole column); a cohort's size is its
    own first month's count, since every customer buys in it. Revenue per cell is a float64 sum of whole
    millionths, as the group-by's was: the same bits as long as it stays below 2**53. None (the caller sorts the
    frame) for ids that cannot index a table (:func:`custlab._grouping.dense_size`), or months spanning more
    than :data:`_DENSE_SPAN`.
    """
    size = dense_size(months["customer_id"])
    if size is None:
        return None
    m0 = months["_m"].min()
    span = months["_m"].max() - m0 + 1
    if span > _DENSE_SPAN:
        return None
    ids, offset = pl.col("customer_id").cast(pl.Int64), (pl.col("_m") - m0).cast(pl.Int32)
    cohort_of, _ = extremes_per_id(months, ids, offset, size, largest=False)  # only the ids present are read
    counts, revenue = np.zeros(span * span, dtype=np.int64), np.zeros(span * span)
    for key, month, money in line_blocks(months, ids, offset, pl.col("revenue")):  # a block of rows at a time
        cell = cohort_of[key]
        cell *= span  # below span**2 <= 1,440,000: fits in int32
        cell += month
        counts += np.bincount(cell, minlength=span * span)
        revenue += np.bincount(cell, weights=money, minlength=span * span)
    sizes = counts[:: span + 1]  # cell (c, c): the customers of cohort c in their first month, i.e. all of them
    filled = np.flatnonzero(counts)
    agg = pl.DataFrame({"_c": filled // span + m0, "_m": filled % span + m0,
                        "active_customers": counts[filled].astype(np.int64), "revenue": revenue[filled]})
    cohorts = np.flatnonzero(sizes)
    return (agg.with_columns(revenue=from_micros(pl.col("revenue"))),
            pl.DataFrame({"_c": cohorts + m0, "cohort_size": sizes[cohorts].astype(np.int64)}))


def _customer_months(tx: pl.LazyFrame, *, with_last: bool) -> pl.DataFrame:
    """Revenue (in millionths) per customer and month number (``_m``, year * 12 + month - 1), and with
    ``with_last`` each group's last order instant (``_last``); lines without a customer or a date are refused.

    The lines are grouped on the streaming engine by one key packed from (customer, month) when the ids are
    whole numbers (:func:`custlab._grouping.pair_groups`), with the month looked up by day
    (:func:`custlab._grouping.month_numbers`). Missing ids and dates cost no pass of their own: they come
    back as a group without a key, and only then are the lines grouped again by both columns to count them.
    Revenue is added in whole millionths, the same bits whatever order the engine meets the lines in.
    """
    sums = [micros().sum().alias("revenue")] + ([pl.col("order_date").max().alias("_last")] if with_last else [])
    months = pair_groups(tx, "customer_id", month_numbers(pl.col("order_date")).alias("_m"), sums,
                         bits=16).collect(engine="streaming")  # month numbers below 2**16: up to the year 5461
    if not (months["customer_id"].null_count() or months["_m"].null_count() or months["_m"].is_in(MONTH_EDGES).any()):
        return months
    calendar = pl.col("order_date").dt.year().cast(pl.Int64) * 12 + pl.col("order_date").dt.month().cast(pl.Int64) - 1
    months = tx.group_by("customer_id", _m=calendar).agg(*sums, _lines=pl.len()).collect(engine="streaming")
    for column, rule, missing in (
        ("customer_id", "missing_customer", months.filter(pl.col("customer_id").is_null())["_lines"].sum()),
        ("order_date", "missing_value", months.filter(pl.col("_m").is_null())["_lines"].sum()),
    ):
        if missing:
            raise CustlabError(
                f"{missing:,} order line(s) have no {column} and belong to no cohort. Remove them first: "
                f"clean_transactions(tx, rules=('{rule}', ...))."
            )
    return months.drop("_lines")


def _retention_table(agg: pl.DataFrame, sizes: pl.DataFrame, last_m: int, as_of_dt: dt.datetime,
                     max_periods: int | None) -> pl.DataFrame:
    """The retention table from counts per (``_c`` cohort, ``_m`` month) and cohort sizes (month indices
    year * 12 + month - 1); shared with :mod:`custlab.engine`, which counts on another engine."""
    grid = sizes.with_columns(_m=pl.int_ranges("_c", last_m + 1)).explode("_m")
    out = (
        grid.join(agg, on=["_c", "_m"], how="left")
        .with_columns(
            pl.col("active_customers").fill_null(0),
            pl.col("revenue").fill_null(0.0),
            period=pl.col("_m") - pl.col("_c"),
        )
        .sort("_c", "period")
    )
    if max_periods is not None:
        out = out.filter(pl.col("period") <= max_periods)

    def month_start(index: pl.Expr) -> pl.Expr:
        return pl.date(index // 12, index % 12 + 1, 1)

    next_month = pl.col("_m") + 1
    return out.select(
        cohort=month_start(pl.col("_c")),
        period=pl.col("period").cast(pl.Int64),
        month=month_start(pl.col("_m")),
        cohort_size="cohort_size",
        active_customers="active_customers",
        active_share=pl.col("active_customers") / pl.col("cohort_size"),
        revenue="revenue",
        revenue_per_customer=pl.col("revenue") / pl.col("cohort_size"),
        cumulative_revenue_per_customer=(pl.col("revenue").cum_sum() / pl.col("cohort_size"))
        .over("_c", order_by="period"),
        period_complete=month_start(next_month).cast(pl.Datetime("us")) <= pl.lit(as_of_dt),
    )


def cohort_matrix(retention: pl.DataFrame, value: str = "active_share") -> pl.DataFrame:
    """Pivot :func:`cohort_retention` output to cohorts x periods.

    Parameters
    ----------
    retention
        Output of :func:`cohort_retention`.
    value
        Which column to spread: ``active_share``, ``active_customers``,
        ``revenue``, ``revenue_per_customer`` or ``cumulative_revenue_per_customer``.

    Returns
    -------
    pl.DataFrame
        ``cohort`` (Date), ``cohort_size`` (Int64), then one column per period
        named "0", "1", ... (null where the period is not yet observed).

    Examples
    --------
    >>> import datetime as dt
    >>> import polars as pl
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 2], "order_id": ["a", "b", "c"],
    ...                    "order_date": [dt.datetime(2024, 1, 5), dt.datetime(2024, 2, 2), dt.datetime(2024, 2, 9)],
    ...                    "amount": [1.0, 1.0, 1.0]})
    >>> cohort_matrix(cohort_retention(tx)).rows()
    [(datetime.date(2024, 1, 1), 1, 1.0, 1.0), (datetime.date(2024, 2, 1), 1, 1.0, None)]
    """
    if value not in RETENTION_VALUES:
        raise CustlabError(f"value must be one of {list(RETENTION_VALUES)}, got {value!r}.")
    require_columns(retention, ["cohort", "period", "cohort_size", value], table="cohort_retention",
                    purpose="(pass the output of cohort_retention)")
    periods = sorted(retention["period"].unique().to_list())
    wide = retention.with_columns(pl.col("period").cast(pl.String)).pivot(
        on="period", index=["cohort", "cohort_size"], values=value, on_columns=[str(p) for p in periods]
    )
    return wide.sort("cohort")



@in_language_font
def plot_cohort_heatmap(retention: pl.DataFrame, *, value: str = "active_share", language: Language = "en", ax=None):
    """Heatmap of :func:`cohort_retention`: cohorts down, months since first purchase across.

    Parameters
    ----------
    retention
        Output of :func:`cohort_retention`.
    value
        Column to show (see :func:`cohort_matrix`); shares are annotated as percentages.
    language
        Axis labels: "en" or "zh".
    ax
        A matplotlib Axes to draw on; by default a new Figure, made without
        pyplot (nothing is shown twice in Jupyter).

    Returns
    -------
    matplotlib.figure.Figure
        One cell per cohort and period; unobserved periods are blank.

    Examples
    --------
    >>> import datetime as dt
    >>> import polars as pl
    >>> tx = pl.DataFrame({"customer_id": [7, 8], "order_id": [1, 2], "amount": [5.0, 9.0],
    ...                    "order_date": [dt.datetime(2023, 11, 30), dt.datetime(2023, 12, 1)]})
    >>> fig = plot_cohort_heatmap(cohort_retention(tx))
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['2023-11', '2023-12']
    """
    import numpy as np
    import seaborn as sns

    text = labels("cohorts", language)
    wide = cohort_matrix(retention, value)
    periods = [c for c in wide.columns if c not in ("cohort", "cohort_size")]
    values = wide.select(periods).to_numpy().astype(float)
    share = value == "active_share"
    fig, ax = figure_axes(ax, figsize=(max(6.0, 0.6 * len(periods) + 2), max(3.0, 0.4 * wide.height + 1.5)))
    sns.heatmap(values, mask=np.isnan(values), annot=len(periods) <= 24, fmt=".0%" if share else ",.0f",
                cmap="Blues", ax=ax, cbar_kws={"label": text[value]}, annot_kws={"fontsize": 7},
                xticklabels=periods, yticklabels=[d.strftime("%Y-%m") for d in wide["cohort"].to_list()])
    ax.set_xlabel(text["period"])
    ax.set_ylabel(text["cohort"])
    ax.set_title(text[value])
    return fig
