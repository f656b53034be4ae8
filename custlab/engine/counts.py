"""Counting aggregations on any engine: cohort retention, funnels, weekday x hour, demand series.

The engine paths of :func:`custlab.cohorts.cohort_retention`,
:func:`custlab.funnel.funnel`, :func:`custlab.activity.weekday_hour` and
:func:`custlab.forecast.series`. Counts are made on the engine; the small
tables are finished by the same polars code as custlab's own path, so the
results agree (counts exactly, sums of money to about 1e-15 relative).
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Sequence

import narwhals as nw
import polars as pl

from custlab._types import DateLike
from custlab._dates import as_datetime, as_of_after, parse_within
from custlab.activity import _grid_table, weekday_names
from custlab.cohorts import _retention_table
from custlab.engine._nw import (
    EngineError, backend, check_columns, collect, count_where, epoch_day, epoch_micros, iso_weekday, lazy, running,
)
from custlab.exceptions import CustlabError, EmptyDataError, SchemaError
from custlab.funnel import _UNIT_COLUMNS, _check_steps, _funnel_table, _unit_column, by_list

__all__ = ["cohort_retention", "funnel", "series", "weekday_hour"]


def cohort_retention(transactions: object, *, as_of: DateLike | None = None, max_periods: int | None = None) -> pl.DataFrame:
    """:func:`custlab.cohorts.cohort_retention` on the engine holding ``transactions``.

    Collected: one row per (cohort month, month), a few hundred rows.
    """
    function = "cohorts.cohort_retention"
    if max_periods is not None and (not isinstance(max_periods, int) or max_periods < 0):
        raise CustlabError(f"max_periods must be None or a whole number >= 0, got {max_periods!r}.")
    lines = lazy(transactions, function=function)
    check_columns(lines, {"customer_id": "any", "order_date": "date", "amount": "numeric"}, function=function)
    lines = lines.select("customer_id", nw.col("order_date").cast(nw.Datetime("us")), nw.col("amount").cast(nw.Float64))
    with running(function, lines):
        stats = collect(lines.select(
            rows=nw.len(), last=nw.col("order_date").max(),
            customer_id=count_where(nw.col("customer_id").is_null()),
            order_date=count_where(nw.col("order_date").is_null()),
        )).row(0, named=True)
        for column, rule in (("customer_id", "missing_customer"), ("order_date", "missing_value")):
            if stats[column]:
                raise CustlabError(
                    f"custlab.{function}: {stats[column]:,} order line(s) have no {column} and belong to no cohort. "
                    f"Remove them first (custlab.engine.clean_transactions, rule '{rule}')."
                )
        if stats["rows"] == 0:
            raise EmptyDataError(f"custlab.{function}: the transactions table is empty (0 rows); there are no cohorts.")
        as_of_dt = as_of_after(stats["last"]) if as_of is None else as_datetime(as_of, "as_of")
        month = nw.col("order_date").dt.year().cast(nw.Int64) * 12 + nw.col("order_date").dt.month().cast(nw.Int64) - 1
        tx = (lines.filter(nw.col("order_date") < as_of_dt).with_columns(_m=month)
              .with_columns(_c=nw.col("_m").min().over("customer_id")))
        agg = collect(tx.group_by("_c", "_m").agg(active_customers=nw.col("customer_id").n_unique().cast(nw.Int64),
                                                  revenue=nw.col("amount").sum()))
        sizes = collect(tx.group_by("_c").agg(cohort_size=nw.col("customer_id").n_unique().cast(nw.Int64)))
    if sizes.height == 0:
        raise EmptyDataError(f"custlab.{function}: no orders before as_of={as_of_dt:%Y-%m-%d}; there are no cohorts.")
    last_day = as_of_dt - dt.timedelta(microseconds=1)
    ints = [pl.col("_c").cast(pl.Int64)]
    return _retention_table(agg.with_columns(*ints, pl.col("_m").cast(pl.Int64)), sizes.with_columns(*ints),
                            last_day.year * 12 + last_day.month - 1, as_of_dt, max_periods)


def weekday_hour(data: object, *, measure: str = "orders", by: str | Sequence[str] | None = None,
                 event: str | Sequence[str] | None = None, language: str = "en") -> pl.DataFrame:
    """:func:`custlab.activity.weekday_hour` on the engine holding ``data`` (168 rows per group collected)."""
    function = "activity.weekday_hour"
    names_ = weekday_names(language)
    frame = lazy(data, function=function, argument="data")
    present = frame.collect_schema().names()
    table = "transactions" if "order_date" in present else "events"
    time_col = "order_date" if table == "transactions" else "event_time"
    if time_col not in present:
        raise SchemaError(f"custlab.{function} needs transactions (with order_date) or events (with event_time); "
                          f"columns present: {present}.")
    by = by_list(by, reserved=(time_col,))
    needed = {"orders": "order_id", "revenue": "amount", "events": None, "customers": "customer_id"}
    if measure not in needed:
        raise CustlabError(f"measure must be one of {list(needed)}, got {measure!r}.")
    kinds = {time_col: "datetime", **dict.fromkeys(by, "any")}
    if needed[measure]:
        kinds[needed[measure]] = "numeric" if measure == "revenue" else "any"
    check_columns(frame, kinds, function=function, table=table)
    if event is not None:
        if table != "events":
            raise CustlabError("event= filters an events table; these are transactions (they have order_date).")
        frame = frame.filter(nw.col("event").is_in([event] if isinstance(event, str) else list(event)))
    values = {"orders": nw.len(), "revenue": nw.col("amount").cast(nw.Float64).sum(), "events": nw.len(),
              "customers": nw.col("customer_id").n_unique()}
    with running(function, frame):
        if measure == "orders":  # one row per order (and group), at the time of its first line
            frame = frame.group_by(*by, "order_id").agg(nw.col(time_col).min())
        counts = collect(
            frame.with_columns(weekday=iso_weekday(nw.col(time_col)), hour=nw.col(time_col).dt.hour())
            .filter(~nw.col("weekday").is_null())
            .group_by(*by, "weekday", "hour").agg(value=values[measure].cast(nw.Float64))
        )
    if counts.height == 0:
        raise EmptyDataError(f"custlab.{function}: no {table} with a {time_col} to place on the weekday x hour grid"
                             + (f" (event={event!r} kept none)." if event is not None else "."))
    return _grid_table(counts, by, names_)


# ---------------------------------------------------------------------------
# Funnels
# ---------------------------------------------------------------------------

_FILL = {nw.String: "", nw.Int64: 0, nw.Int32: 0, nw.Int16: 0, nw.Int8: 0, nw.Float64: 0.0, nw.Float32: 0.0,
         nw.Boolean: False}


def _null_safe(frame: nw.LazyFrame, by: list[str], function: str) -> nw.LazyFrame:
    """Replace nulls in the ``by`` columns by a filler plus a ``_null_<col>`` flag, so joins match nulls too."""
    schema = frame.collect_schema()
    out = {}
    for column in by:
        filler = next((v for t, v in _FILL.items() if schema[column] == t), None)
        if filler is None:
            raise EngineError(f"custlab.{function}: by column '{column}' has dtype {schema[column]}; on the "
                              f"{backend(frame)} backend a funnel breakdown needs text, whole numbers or booleans. "
                              f"Cast it on the engine first.")
        out[f"_null_{column}"] = nw.col(column).is_null()
        out[column] = nw.col(column).fill_null(filler)
    return frame.with_columns(**out) if out else frame


def _restore_nulls(frame: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    if not by:
        return frame
    return frame.with_columns(
        pl.when(pl.col(f"_null_{c}")).then(None).otherwise(pl.col(c)).alias(c) for c in by
    ).drop(f"_null_{c}" for c in by)


def _ordered_levels(base: nw.LazyFrame, keys: list[str], n_steps: int, window: int | None) -> list[nw.LazyFrame]:
    """The units (``keys``) reaching each step in order, as lazy frames (the same chains as custlab's own path)."""
    step = [base.filter(nw.col("_step") == k).select(*keys, "_us") for k in range(n_steps)]
    if window is None:  # greedy: the earliest event of each step at or after the previous step's
        level = step[0].group_by(keys).agg(_t=nw.col("_us").min())
        levels = [level]
        for k in range(1, n_steps):
            level = (step[k].join(level, on=keys).filter(nw.col("_us") >= nw.col("_t"))
                     .group_by(keys).agg(_t=nw.col("_us").min()))
            levels.append(level)
        return [lv.select(keys) for lv in levels]
    # windowed: each step-2 event starts from the latest step-1 event at or before it, later steps take the
    # earliest event at or after the previous one, and the chain must stay within the window of its start
    levels = [step[0].select(keys).unique()]
    chain = (
        step[1].rename({"_us": "_cur"}).join(step[0].rename({"_us": "_start"}), on=keys)
        .filter(nw.col("_start") <= nw.col("_cur"))
        .group_by(*keys, "_cur").agg(nw.col("_start").max())
        .filter(nw.col("_cur") - nw.col("_start") <= window)
    )
    levels.append(chain.select(keys).unique())
    for k in range(2, n_steps):
        chain = (
            chain.join(step[k].rename({"_us": "_next"}), on=keys)
            .filter(nw.col("_next") >= nw.col("_cur"))
            .group_by(*keys, "_cur", "_start").agg(nw.col("_next").min())
            .filter(nw.col("_next") - nw.col("_start") <= window)
            .group_by(*keys, "_next").agg(nw.col("_start").max())
            .rename({"_next": "_cur"})
        )
        levels.append(chain.select(keys).unique())
    return levels


def funnel(events: object, steps: Sequence[str], *, unit: str = "session", by: str | Sequence[str] | None = None,
           within: str | dt.timedelta | None = None, mode: str = "ordered") -> pl.DataFrame:
    """:func:`custlab.funnel.funnel` on the engine holding ``events`` (the funnel table is collected).

    The ordered chains are joins of each unit's events of two steps at a time
    on the engine (a unit's events are few: sessions, or customers' funnel
    events); the result has one row per group, funnel kind and step.
    """
    function = "funnel.funnel"
    if mode not in ("ordered", "reached", "both"):
        raise CustlabError(f"mode must be 'ordered', 'reached' or 'both', got {mode!r}.")
    by = by_list(by, reserved=("event", "event_time", _UNIT_COLUMNS.get(unit, "")))
    steps, ucol = _check_steps(steps), _unit_column(unit)
    window = parse_within(within)
    window_us = None if window is None else window // dt.timedelta(microseconds=1)
    frame = lazy(events, function=function, argument="events")
    check_columns(frame, {ucol: "any", "event": "any", "event_time": "datetime", **dict.fromkeys(by, "any")},
                  function=function, table="events")
    keys = [*by, ucol]
    index = sum((nw.col("event") == s).cast(nw.Int32) * i for i, s in enumerate(steps))
    with running(function, frame):
        base = frame.filter(nw.col("event").is_in(steps)).select(
            *by, ucol, "event_time", _step=index, _us=epoch_micros(nw.col("event_time")))
        checks = collect(base.group_by(*by, "_step").agg(
            events=nw.len().cast(nw.Int64), _no_unit=count_where(nw.col(ucol).is_null()),
            _no_time=count_where(nw.col("event_time").is_null()),
        ))
        missing = [s for i, s in enumerate(steps) if i not in set(checks["_step"].to_list())]
        if missing:
            present = collect(frame.group_by("event").agg(n=nw.len())).sort("n", descending=True).head(15)
            shown = ", ".join(f"{e!r} ({n:,})" for e, n in present.iter_rows())
            raise CustlabError(f"custlab.{function}: funnel step(s) {missing} never occur in the 'event' column of "
                               f"these events. Event types present (count): {shown}. Check the step names in "
                               f"steps={steps!r}.")
        for column, count in ((ucol, "_no_unit"), ("event_time", "_no_time")):
            if checks[count].sum():
                raise CustlabError(f"custlab.{function}: {checks[count].sum():,} funnel event(s) have no {column}. "
                                   f"Drop them or fill the column on the engine before building the funnel.")
        base = _null_safe(base, by, function)
        flags = [f"_null_{c}" for c in by]
        keys = [*keys, *flags]
        group = [*by, *flags]
        parts = []
        if mode in ("ordered", "both"):
            for k, level in enumerate(_ordered_levels(base, keys, len(steps), window_us)):
                counted = level.group_by(*group).agg(units=nw.len()) if group else level.select(units=nw.len())
                parts.append(collect(counted).with_columns(funnel=pl.lit("ordered"), _step=pl.lit(k, dtype=pl.Int32)))
        if mode in ("reached", "both"):
            reached = base.select(*keys, "_step").unique().group_by(*group, "_step").agg(units=nw.len())
            parts.append(collect(reached).with_columns(pl.col("_step").cast(pl.Int32), funnel=pl.lit("reached")))
    units = _restore_nulls(pl.concat([p.select(*group, "funnel", "_step", pl.col("units").cast(pl.Int64))
                                      for p in parts]), by)
    counts = checks.select(*by, pl.col("_step").cast(pl.Int32), "events")
    kinds = ["ordered", "reached"] if mode == "both" else [mode]
    grid = pl.DataFrame({"funnel": kinds}).join(
        pl.DataFrame({"_step": pl.Series(range(len(steps)), dtype=pl.Int32)}), how="cross")
    if by:
        grid = counts.select(by).unique().join(grid, how="cross")
    return _funnel_table(grid, counts, units, by, steps, unit)


# ---------------------------------------------------------------------------
# Demand series
# ---------------------------------------------------------------------------


def series(transactions: object, *, by: str | list[str] | None = None, freq: str = "1w", measure: str = "revenue",
           as_of: DateLike | None = None, incomplete: str = "drop") -> pl.DataFrame:
    """:func:`custlab.forecast.series` on the engine holding ``transactions``.

    The sales per series and period (with their first and last order
    instants) are summed on the engine; the few rows are handed to
    custlab's own :func:`custlab.forecast.series`, which completes the
    periods, so both paths return the same table.
    """
    own = importlib.import_module("custlab.forecast.series")  # the module (custlab.forecast.series is the function)

    function = "forecast.series"
    freq = own.check_freq(freq, allowed=own.FREQS)
    names = own._by_columns(by)
    if measure not in ("revenue", "units"):
        raise CustlabError(f"measure must be 'revenue' or 'units', got {measure!r}.")
    column = "amount" if measure == "revenue" else "quantity"
    frame = lazy(transactions, function=function)
    check_columns(frame, {"order_date": "date", column: "numeric", **dict.fromkeys(names, "any")}, function=function)
    parts = [nw.col(n).cast(nw.String).fill_null(own.MISSING) for n in names]
    series_id = (nw.lit(own.TOTAL) if not parts else parts[0] if len(parts) == 1
                 else nw.concat_str(parts, separator=" / "))
    lines = frame.select(nw.col("order_date").cast(nw.Datetime("us")), value=nw.col(column).cast(nw.Float64),
                         _series=series_id)
    as_of_dt = as_datetime(as_of)
    if as_of_dt is not None:
        lines = lines.filter(nw.col("order_date") < as_of_dt)
    if freq == "1w":  # ISO weeks; 1970-01-05 (day 4) was a Monday
        start = (epoch_day(nw.col("order_date")) - 4) // 7
    else:
        start = nw.col("order_date").dt.year().cast(nw.Int64) * 12 + nw.col("order_date").dt.month().cast(nw.Int64)
    with running(function, lines):
        sales = collect(
            lines.filter(~nw.col("value").is_null() & ~nw.col("order_date").is_null())
            .with_columns(_period=start)
            .group_by("_series", "_period")
            .agg(nw.col("value").sum(), first=nw.col("order_date").min(), last=nw.col("order_date").max())
        )
    if sales.height == 0:
        when = f" before as_of={as_of_dt:%Y-%m-%d %H:%M}" if as_of_dt else ""
        raise EmptyDataError(f"custlab.{function}: transactions hold no order{when}: there is no demand to make a "
                             f"series of.")
    # Each period's sum at its first instant, and a zero at its last: the same sums, first and last orders.
    reduced = pl.concat([
        sales.select("_series", order_date="first", amount="value"),
        sales.select("_series", order_date="last", amount=pl.lit(0.0)),
    ])
    return own.series(reduced, by="_series" if names else None, freq=freq, measure="revenue", as_of=as_of_dt,
                      incomplete=incomplete)
