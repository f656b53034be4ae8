"""Demand series from transactions: one value per series and period, gaps filled with zeros.

A *series frame* is the table every function of :mod:`custlab.forecast` takes:
``series_id`` (String), ``period`` (Date: the Monday starting an ISO week, or
the first day of a month) and ``value`` (Float64), one row per series and
period, consecutive periods without gaps. :func:`series` builds it from
transactions; any table with those three columns works as well.

History ends at ``as_of`` (custlab's one meaning, see :mod:`custlab._dates`:
orders with ``order_date < as_of`` are history) and starts with the period of
the first order. The last period is *complete* when it ends by ``as_of``; an
incomplete last period is left out (or flagged), so a week or month that has
only begun never reads as a collapse in demand.
"""

from __future__ import annotations

import datetime as dt
import warnings
from typing import Literal

import polars as pl

from custlab._dates import as_datetime, as_of_after, check_freq
from custlab._money import from_micros, micros
from custlab._types import DateLike, Frame
from custlab.data.schema import check_frame, require_columns
from custlab.exceptions import CustlabError, CustlabWarning, EmptyDataError, SchemaError

__all__ = [
    "FREQS", "SEASON_LENGTH", "ForecastWarning", "check_series", "period_end", "season_length", "series",
    "shift_periods", "short_series",
]

Freq = Literal["1w", "1mo"]
Measure = Literal["revenue", "units"]

#: Periods a series can have, as polars duration strings.
FREQS: tuple[str, ...] = ("1w", "1mo")
#: Periods in a year: the season length of yearly seasonality.
SEASON_LENGTH: dict[str, int] = {"1w": 52, "1mo": 12}
#: The series_id of the one series made when ``by`` is None, and of null group values.
TOTAL = "total"
MISSING = "(missing)"
#: Columns of a series frame.
SERIES_COLUMNS = ("series_id", "period", "value")


class ForecastWarning(CustlabWarning):
    """Something in a demand series deserves a look: a data gap, a series left out, a model that failed."""


def season_length(freq: str) -> int:
    """Periods per year for ``freq`` ("1w": 52, "1mo": 12).

    >>> season_length("1mo")
    12
    """
    return SEASON_LENGTH[check_freq(freq, allowed=FREQS)]


def shift_periods(start: dt.date, freq: str, steps: int) -> dt.date:
    """The period ``steps`` periods after the one beginning at ``start`` (before it when negative).

    >>> shift_periods(dt.date(2011, 11, 1), "1mo", 3)
    datetime.date(2012, 2, 1)
    >>> shift_periods(dt.date(2011, 11, 28), "1w", -1)
    datetime.date(2011, 11, 21)
    """
    if freq == "1w":
        return start + dt.timedelta(weeks=steps)
    month = start.year * 12 + start.month - 1 + steps
    return dt.date(month // 12, month % 12 + 1, 1)


def period_end(start: dt.date, freq: str) -> dt.date:
    """The first day after the period beginning at ``start`` (its exclusive end).

    >>> period_end(dt.date(2011, 2, 1), "1mo")
    datetime.date(2011, 3, 1)
    """
    return shift_periods(start, freq, 1)


def _period_start(day: dt.date, freq: str) -> dt.date:
    if freq == "1w":
        return day - dt.timedelta(days=day.weekday())
    return day.replace(day=1)


def _measure_expr(measure: str, columns: list[str]) -> pl.Expr:
    if measure == "revenue":
        return pl.col("amount").cast(pl.Float64)
    if measure == "units":
        if "quantity" not in columns:
            raise SchemaError(
                "measure='units' needs a 'quantity' column in transactions; it has none "
                f"(columns: {columns}). Map one with columns={{'Qty': 'quantity'}} when reading, or use measure='revenue'."
            )
        return pl.col("quantity").cast(pl.Float64)
    raise CustlabError(f"measure must be 'revenue' or 'units', got {measure!r}.")


def _by_columns(by: str | list[str] | tuple[str, ...] | None) -> list[str]:
    if by is None:
        return []
    names = [by] if isinstance(by, str) else list(by)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise CustlabError(f"by must be a column name or a list of column names, got {by!r}.")
    return names


def series(
    transactions: Frame,
    *,
    by: str | list[str] | None = None,
    freq: Freq = "1w",
    measure: Measure = "revenue",
    as_of: DateLike | None = None,
    incomplete: Literal["drop", "flag"] = "drop",
) -> pl.DataFrame:
    """Demand per series and period from transactions, with gaps filled as zeros.

    Parameters
    ----------
    transactions
        Order lines with ``order_date`` (Datetime or Date) and ``amount``
        (line revenue; returns and cancellations as negative lines are
        netted) or ``quantity`` for ``measure="units"``, plus the ``by``
        columns. No customer column is needed: every sale counts.
    by
        Column(s) naming the series (``"category"``, ``"product_id"``,
        ``"country"``, ``"channel"``, a segment column, or several: their
        values are joined with ``" / "``). None gives one series, ``"total"``.
        A null value becomes the series ``"(missing)"``, so totals still add up.
    freq
        ``"1w"`` (ISO weeks starting Monday) or ``"1mo"`` (calendar months).
    measure
        ``"revenue"`` (sum of ``amount``) or ``"units"`` (sum of ``quantity``).
    as_of
        First instant that is not history (see :mod:`custlab._dates`);
        default: the midnight after the last order.
    incomplete
        ``"drop"`` leaves out a last period that ends after ``as_of`` (a
        week or month only begun); ``"flag"`` keeps it with ``complete = False``.

    Returns
    -------
    polars.DataFrame
        ``series_id`` (String), ``period`` (Date), ``value`` (Float64)
        [, ``complete`` (Boolean) with ``incomplete="flag"``], sorted. Each
        series runs from its first period with a sale to the last period of
        the data; the periods between without sales hold 0.0. A period's
        value may be negative when returns outweigh sales.

    Raises
    ------
    SchemaError
        A needed column is missing (the message lists the columns present).
    EmptyDataError
        No order lies before ``as_of``, or no period is complete.

    Warns
    -----
    ForecastWarning
        When the whole shop sells nothing for one or more periods inside the
        history: that looks like missing data rather than zero demand.

    Examples
    --------
    >>> tx = pl.DataFrame({"order_date": [dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 3), dt.datetime(2024, 1, 10),
    ...                                   dt.datetime(2024, 1, 16), dt.datetime(2024, 1, 22)],
    ...                    "amount": [10.0, 5.0, 2.0, 7.0, 1.0], "category": ["a", "b", "b", "a", "a"]})
    >>> series(tx, by="category", freq="1w", as_of="2024-01-29")
    shape: (8, 3)
    ┌───────────┬────────────┬───────┐
    │ series_id ┆ period     ┆ value │
    │ ---       ┆ ---        ┆ ---   │
    │ str       ┆ date       ┆ f64   │
    ╞═══════════╪════════════╪═══════╡
    │ a         ┆ 2024-01-01 ┆ 10.0  │
    │ a         ┆ 2024-01-08 ┆ 0.0   │
    │ a         ┆ 2024-01-15 ┆ 7.0   │
    │ a         ┆ 2024-01-22 ┆ 1.0   │
    │ b         ┆ 2024-01-01 ┆ 5.0   │
    │ b         ┆ 2024-01-08 ┆ 2.0   │
    │ b         ┆ 2024-01-15 ┆ 0.0   │
    │ b         ┆ 2024-01-22 ┆ 0.0   │
    └───────────┴────────────┴───────┘
    """
    if not isinstance(transactions, (pl.DataFrame, pl.LazyFrame)):
        from custlab import engine as pushdown  # DuckDB, Spark...: aggregate where the data live

        if pushdown.accepts(transactions):
            return pushdown.series(transactions, by=by, freq=freq, measure=measure, as_of=as_of,
                                   incomplete=incomplete)
    check_frame(transactions, argument="transactions")
    freq = check_freq(freq, allowed=FREQS)
    if incomplete not in ("drop", "flag"):
        raise CustlabError(f"incomplete must be 'drop' or 'flag', got {incomplete!r}.")
    names = _by_columns(by)
    columns = transactions.collect_schema().names()
    value = _measure_expr(measure, columns)
    require_columns(transactions, ["order_date", *names, "amount" if measure == "revenue" else "quantity"],
                    purpose=f"for a {measure} series")
    frame = transactions.lazy().select(
        pl.col("order_date").cast(pl.Datetime("us")), value.alias("value"),
        _series_id(names).alias("series_id"),
    )
    as_of_dt = as_datetime(as_of)
    if as_of_dt is not None:
        frame = frame.filter(pl.col("order_date") < as_of_dt)
    sales = (
        frame.filter(pl.col("value").is_not_null())
        .group_by("series_id", period=pl.col("order_date").dt.truncate(freq).dt.date())
        .agg(micros("value").sum(), first=pl.col("order_date").min(), last=pl.col("order_date").max())
        .collect()
        .with_columns(from_micros(pl.col("value")))  # summed in whole millionths: the same in any line order
    )
    if sales.is_empty():
        when = f" before as_of={as_of_dt:%Y-%m-%d %H:%M}" if as_of_dt else ""
        raise EmptyDataError(f"transactions hold no order{when}: there is no demand to make a series of.")
    first_day = sales["first"].min().date()
    if as_of_dt is None:
        as_of_dt = as_of_after(sales["last"].max())
    start = _period_start(first_day, freq)  # history starts with the first order's period
    last = shift_periods(_period_start(as_of_dt.date(), freq), freq, -1)  # the last period ending by as_of
    if last < start and incomplete == "drop":
        raise EmptyDataError(
            f"No complete {_name(freq)} between the first order ({first_day}) and as_of ({as_of_dt:%Y-%m-%d %H:%M}): "
            f"use a shorter freq (freq='1w') or incomplete='flag'."
        )
    if incomplete == "flag":
        final = _period_start((as_of_dt - dt.timedelta(microseconds=1)).date(), freq)
        out = _fill(sales.select("series_id", "period", "value"), start, final, freq)
        out = out.with_columns(complete=pl.col("period") <= last)
    else:
        out = _fill(sales.select("series_id", "period", "value"), start, last, freq)
    _warn_gaps(out, freq)
    return out


def _name(freq: str) -> str:
    return "week" if freq == "1w" else "month"


def _series_id(names: list[str]) -> pl.Expr:
    if not names:
        return pl.lit(TOTAL, dtype=pl.String)
    parts = [pl.col(n).cast(pl.String).fill_null(MISSING) for n in names]
    return parts[0] if len(parts) == 1 else pl.concat_str(parts, separator=" / ")


def _fill(sales: pl.DataFrame, start: dt.date, stop: dt.date, freq: str) -> pl.DataFrame:
    """Every period from each series' first sale to ``stop`` (inclusive), zeros where nothing sold."""
    sales = sales.filter((pl.col("period") >= start) & (pl.col("period") <= stop))
    if sales.is_empty():
        raise EmptyDataError(f"No sales fall into a complete {_name(freq)}: use a shorter freq or incomplete='flag'.")
    grid = pl.date_range(start, stop, freq, eager=True).alias("period").to_frame()
    firsts = sales.group_by("series_id").agg(first=pl.col("period").min())
    full = firsts.join(grid, how="cross").filter(pl.col("period") >= pl.col("first")).drop("first")
    return (
        full.join(sales, on=["series_id", "period"], how="left")
        .with_columns(pl.col("value").fill_null(0.0))
        .sort("series_id", "period")
    )


def _warn_gaps(out: pl.DataFrame, freq: str) -> None:
    """Warn when no series sold anything for three weeks or a month in a row inside the history.

    A single empty week (a shop closed over Christmas) is normal and passes.
    """
    totals = out.group_by("period").agg(pl.col("value").abs().sum()).sort("period")
    empty = (totals["value"] == 0).to_list()
    shortest = 3 if freq == "1w" else 1
    runs, start = [], None
    for k, is_empty in enumerate([*empty, False]):
        if is_empty and start is None:
            start = k
        elif not is_empty and start is not None:
            if k - start >= shortest and start > 0 and k < len(empty):
                runs.append((totals["period"][start], totals["period"][k - 1]))
            start = None
    if runs:
        shown = ", ".join(f"{a}..{b}" for a, b in runs[:4]) + (" ..." if len(runs) > 4 else "")
        warnings.warn(
            f"No series sold anything in {len(runs)} stretch(es) of {_name(freq)}s inside the history ({shown}): "
            f"that looks like missing data. The series hold zeros there; check the source, or restrict the "
            f"data to a span without the gap before forecasting.",
            ForecastWarning,
            stacklevel=3,
        )


def short_series(lengths: pl.DataFrame, mask: pl.Expr, reason: str, *fields: object) -> pl.DataFrame:
    """The rows of ``lengths`` (``series_id``, ``n``) that ``mask`` marks, with ``reason`` (``{}``: n, then fields)."""
    return lengths.filter(mask).select("series_id", "n", reason=pl.format(reason, "n", *[pl.lit(f) for f in fields]))


def check_series(frame: Frame, *, argument: str = "series") -> tuple[pl.DataFrame, str]:
    """A series frame, collected and checked, and its freq ("1w" or "1mo", read from the periods).

    Raises :class:`SchemaError` for missing columns, :class:`CustlabError`
    for null or non-finite values, duplicate (series_id, period) rows, gaps
    between periods or periods that are neither Mondays nor firsts of months.
    """
    check_frame(frame, argument=argument)
    present = frame.collect_schema().names()
    missing = [c for c in SERIES_COLUMNS if c not in present]
    if missing:
        raise SchemaError(
            f"{argument} lacks column(s) {missing} (columns present: {present}). "
            f"Build it with custlab.forecast.series(transactions, by=..., freq=...)."
        )
    data = frame.lazy().select(
        pl.col("series_id").cast(pl.String), pl.col("period").cast(pl.Date), pl.col("value").cast(pl.Float64),
    ).collect().sort("series_id", "period")
    if data.is_empty():
        raise EmptyDataError(f"{argument} has no rows.")
    bad = data.filter(pl.col("value").is_null() | ~pl.col("value").is_finite() | pl.col("period").is_null()
                      | pl.col("series_id").is_null())
    if bad.height:
        raise CustlabError(
            f"{argument} has {bad.height} row(s) with a null or non-finite series_id, period or value, e.g. "
            f"{bad.head(3).rows()}. Fill them (a period without sales is 0.0) or drop those rows."
        )
    dup = data.filter(pl.struct("series_id", "period").is_duplicated())
    if dup.height:
        raise CustlabError(
            f"{argument} has {dup.height} rows repeating a (series_id, period) pair, e.g. {dup.head(2).rows()}: "
            f"aggregate them first (one value per series and period)."
        )
    freq = _infer_freq(data["period"], argument)
    step = (data.group_by("series_id", maintain_order=True).agg(
        n=pl.len(), first=pl.col("period").min(), last=pl.col("period").max()))
    expected = [
        _periods_between(f, last, freq) + 1 for f, last in zip(step["first"].to_list(), step["last"].to_list(), strict=True)
    ]
    gaps = step.with_columns(expected=pl.Series(expected)).filter(pl.col("n") != pl.col("expected"))
    if gaps.height:
        raise CustlabError(
            f"{argument} has gaps between periods in {gaps.height} series, e.g. {gaps['series_id'].head(3).to_list()}: "
            f"every period from a series' first to its last needs a row (0.0 where nothing sold); "
            f"custlab.forecast.series() fills them."
        )
    return data, freq


def _infer_freq(periods: pl.Series, argument: str) -> str:
    if periods.dt.day().eq(1).all() and periods.n_unique() > 0:
        mondays = periods.dt.weekday().eq(1).all()
        if not mondays or periods.n_unique() == 1:
            return "1mo"
        spacing = periods.unique().sort().diff().drop_nulls()
        return "1w" if spacing.len() and spacing.min() < dt.timedelta(days=28) else "1mo"
    if periods.dt.weekday().eq(1).all():
        return "1w"
    bad = periods.filter(~(periods.dt.day().eq(1) | periods.dt.weekday().eq(1)))
    raise CustlabError(
        f"{argument}.period must hold Mondays (weekly series) or firsts of months (monthly series); "
        f"{bad.len()} value(s) are neither, e.g. {bad.head(3).to_list()}. Build it with custlab.forecast.series()."
    )


def _periods_between(first: dt.date, last: dt.date, freq: str) -> int:
    if freq == "1w":
        return (last - first).days // 7
    return (last.year - first.year) * 12 + last.month - first.month
