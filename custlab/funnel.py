"""Funnels and paths: conversion through ordered steps, why units left, the most frequent paths, transitions.

Every function takes a canonical events table (see :mod:`custlab.data.schema`)
as a polars ``DataFrame`` or ``LazyFrame`` and returns a polars ``DataFrame``;
:func:`plot_funnel` takes the funnel table and returns a matplotlib ``Figure``.

Funnels (:func:`funnel`) come in two kinds, and the output says which in its
``funnel`` column:

``"ordered"`` (strict)
    A unit (session or customer) counts at step *k* when it did steps 1..k in
    that order: there are events ``t1 <= t2 <= ... <= tk`` of those types
    (equal timestamps count as in order), and, with ``within=``, ``tk - t1``
    is at most the window. A purchase without a cart event stops an ordered
    view > cart > purchase funnel at "view".
``"reached"``
    A unit counts at a step when it has at least one event of that type, in
    whatever order and whatever else it did. Rates between steps can exceed 1
    (more sessions purchase than add to cart when shoppers use "buy now").

Event order: row order is never trusted. The funnel uses timestamps only, so
any row order gives the same result. Paths and transitions sort each unit's
events by ``event_time`` (events with equal times keep their row order) and
warn with :class:`EventOrderWarning` when the rows were not already in time
order within their unit.

Events from the REES46 "eCommerce behavior data from multi category store"
files map onto the events table with :data:`REES46_COLUMNS`::

    events = custlab.read_events("2019-Oct.parquet", columns=REES46_COLUMNS, lazy=True)
"""

from __future__ import annotations

import datetime as dt
import difflib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import polars as pl

from custlab._dates import parse_within
from custlab._i18n import check_language, label, labels
from custlab._plotting import figure_axes, in_language_font
from custlab._types import Frame, Language
from custlab.data.schema import check_frame, require_columns, validate
from custlab.exceptions import CustlabError, CustlabWarning, EmptyDataError

__all__ = [
    "EXIT", "REES46_COLUMNS", "START", "EventOrderWarning", "FunnelMode", "Unit", "drop_off_reasons", "funnel",
    "plot_funnel", "top_paths", "transition_matrix",
]

#: Column mapping of the REES46 e-commerce event files onto the events table.
REES46_COLUMNS: dict[str, str] = {"user_id": "customer_id", "event_type": "event", "user_session": "session_id"}

Unit = Literal["session", "customer"]
FunnelMode = Literal["ordered", "reached", "both"]

_UNIT_COLUMNS = {"session": "session_id", "customer": "customer_id"}
_ENGINE = "streaming"
START, EXIT = "(start)", "(exit)"


class EventOrderWarning(CustlabWarning):
    """Events were not in time order within their session or customer; they were sorted."""


# --------------------------------------------------------------------------- helpers


def by_list(by: str | Sequence[str] | None, *, reserved: Sequence[str] = ()) -> list[str]:
    """The ``by`` argument as a list of column names (shared with :mod:`custlab.activity`); clear errors."""
    if by is None:
        return []
    cols = [by] if isinstance(by, str) else list(by)
    if not all(isinstance(c, str) for c in cols):
        raise CustlabError(f"by must be a column name or a list of column names, got {by!r}.")
    clash = [c for c in cols if c in reserved]
    if clash:
        raise CustlabError(f"by={clash} cannot be used for a breakdown here: these columns define the analysis itself.")
    if len(set(cols)) != len(cols):
        raise CustlabError(f"by lists a column twice: {cols}.")
    return cols


def _unit_column(unit: str) -> str:
    if unit not in _UNIT_COLUMNS:
        raise CustlabError(f"unit must be 'session' or 'customer', got {unit!r}.")
    return _UNIT_COLUMNS[unit]


def _events(events: Frame, unit: str, by: list[str], purpose: str) -> tuple[pl.LazyFrame, str]:
    """Validate an events table and check the unit and breakdown columns; return it lazy."""
    check_frame(events, argument="events")
    lf = validate(events, "events").lazy()
    ucol = _unit_column(unit)
    require_columns(lf, [ucol, *by], table="events", purpose=purpose)
    return lf, ucol


def _check_steps(steps: Sequence[str]) -> list[str]:
    if isinstance(steps, str) or not isinstance(steps, Sequence):
        raise CustlabError(f"steps must be a list of event names such as ['view', 'cart', 'purchase'], got {steps!r}.")
    steps = list(steps)
    if len(steps) < 2:
        raise CustlabError(f"A funnel needs at least two steps, got {steps!r}.")
    bad = [s for s in steps if not isinstance(s, str) or not s]
    if bad:
        raise CustlabError(f"steps must be non-empty event names (text), got {bad!r} in {steps!r}.")
    repeated = sorted({s for s in steps if steps.count(s) > 1})
    if repeated:
        raise CustlabError(
            f"steps name {repeated} more than once ({steps!r}); each step must be a distinct event type. "
            f"Give repeated actions distinct event names first (e.g. 'view_1', 'view_2')."
        )
    return steps


def _unknown_steps(lf: pl.LazyFrame, steps: list[str], missing: list[str]) -> CustlabError:
    present = (
        lf.group_by("event").agg(n=pl.len()).sort("n", descending=True).collect(engine=_ENGINE)
    )
    names = present["event"].drop_nulls().to_list()
    hints = []
    for step in missing:
        close = difflib.get_close_matches(step, names, n=1, cutoff=0.6)
        if close:
            hints.append(f"{step!r} -> {close[0]!r}?")
    shown = ", ".join(f"{e!r} ({n:,})" for e, n in present.head(15).iter_rows())
    more = f" and {len(names) - 15} more" if len(names) > 15 else ""
    hint = f" Did you mean: {'; '.join(hints)}." if hints else ""
    return CustlabError(
        f"Funnel step(s) {missing} never occur in the 'event' column of these events. "
        f"Event types present (count): {shown}{more}.{hint} Check the step names in steps={steps!r}."
    )



# --------------------------------------------------------------------------- funnels


@dataclass
class _FunnelData:
    """What one or two streaming passes over the events leave for building funnels."""

    lf: pl.LazyFrame  # validated events, with a _step column
    base: pl.LazyFrame  # funnel events only: by columns, unit, event_time, _step
    first: pl.DataFrame  # one row per unit with a step-1 event: keys, _t (earliest), _n (events)
    later: pl.DataFrame  # the events of steps 2.. : keys, event_time, _step
    counts: pl.DataFrame  # by columns, _step, events
    by: list[str]
    ucol: str
    steps: list[str]
    window: dt.timedelta | None

    @property
    def keys(self) -> list[str]:
        return [*self.by, self.ucol]


def _step_index(steps: list[str]) -> pl.Expr:
    # a when/then chain streams (replace_strict on a large column is not streamed: GBs on 50M rows)
    index = pl.when(pl.col("event") == steps[0]).then(pl.lit(0, dtype=pl.Int32))
    for i, step in enumerate(steps[1:], start=1):
        index = index.when(pl.col("event") == step).then(pl.lit(i, dtype=pl.Int32))
    return index


def _prepare_funnel(events, steps, unit, by, within) -> _FunnelData:
    """Validate, then stream the events twice: step-1 units (one row each) and the later steps' events."""
    by = by_list(by, reserved=("event", "event_time", _UNIT_COLUMNS.get(unit, "")))
    check_frame(events, argument="events")
    steps = _check_steps(steps)
    window = parse_within(within)
    if isinstance(events.collect_schema().get("event"), (pl.Categorical, pl.Enum)):
        # compare on the source's dictionary codes, before validation turns the column into text
        lf, ucol = _events(events.lazy().with_columns(_step=_step_index(steps)), unit, by,
                           purpose=f"for a per-{unit} funnel")
    else:
        lf, ucol = _events(events, unit, by, purpose=f"for a per-{unit} funnel")
        lf = lf.with_columns(_step=_step_index(steps))
    keys = [*by, ucol]
    base = lf.select(*keys, "event_time", "_step").filter(pl.col("_step").is_not_null())
    first = (
        base.filter(pl.col("_step") == 0)
        .group_by(keys)
        .agg(_t=pl.col("event_time").min(), _n=pl.len(), _nt=pl.col("event_time").null_count())
        .collect(engine=_ENGINE)
    )
    later = base.filter(pl.col("_step") > 0).collect(engine=_ENGINE)
    counts = pl.concat([
        first.group_by(by or pl.lit(0).alias("_all")).agg(events=pl.col("_n").sum().cast(pl.Int64))
        .with_columns(_step=pl.lit(0, dtype=pl.Int32)).select(*by, "_step", "events"),
        later.group_by(*by, "_step").agg(events=pl.len().cast(pl.Int64)).select(*by, "_step", "events"),
    ])
    seen = set(counts.filter(pl.col("events") > 0)["_step"].to_list())
    missing = [s for i, s in enumerate(steps) if i not in seen]
    if missing:
        raise _unknown_steps(lf, steps, missing)
    null_units = int(first.filter(pl.col(ucol).is_null())["_n"].sum()) + later[ucol].null_count()
    null_times = int(first["_nt"].sum()) + later["event_time"].null_count()
    if null_units:
        raise CustlabError(
            f"{null_units:,} funnel event(s) have no {ucol}, so they belong to no unit. "
            f"Drop them (events.drop_nulls({ucol!r})) or fill the column before building the funnel."
        )
    if null_times:
        raise CustlabError(
            f"{null_times:,} funnel event(s) have no event_time, so their order is unknown. "
            f"Drop them (events.drop_nulls('event_time')) or fill the column before building the funnel."
        )
    return _FunnelData(lf, base, first.drop("_nt"), later, counts, by, ucol, steps, window)


def _ordered_levels(data: _FunnelData) -> list[pl.DataFrame]:
    """The units (key columns) reaching each step in order, one frame per step."""
    if data.window is None:
        return _levels_unwindowed(data)
    return _levels_windowed(data)


def _levels_unwindowed(data: _FunnelData) -> list[pl.DataFrame]:
    """Greedy: the earliest step-1 event, then the earliest event of each next step at or after it.

    Taking the earliest event at each step is optimal without a window, so
    the step-1 units need one row each, and the later steps' events (usually
    far fewer than step-1 events) are chained in memory.
    """
    keys = data.keys
    level = data.first.select(*keys, "_t")
    levels = [level]
    for k in range(1, len(data.steps)):
        level = (
            data.later.filter(pl.col("_step") == k)
            .join(level, on=keys, how="inner", nulls_equal=True)
            .filter(pl.col("event_time") >= pl.col("_t"))
            .group_by(keys)
            .agg(_t=pl.col("event_time").min())
        )
        levels.append(level)
    return [lv.select(keys) for lv in levels]


def _levels_windowed(data: _FunnelData) -> list[pl.DataFrame]:
    """Units reaching each step in order with step k no later than ``window`` after step 1.

    For each event of step 2, the latest step-1 event at or before it starts
    the best chain through it; later steps take the earliest event at or after
    the previous one (as-of joins). All step-1 events are read into memory.
    """
    keys, window = data.keys, data.window
    starts = data.base.filter(pl.col("_step") == 0).select(*keys, "event_time", "_step").collect(engine=_ENGINE)
    ev = pl.concat([starts, data.later.select(*keys, "event_time", "_step")])
    key_table = ev.select(keys).unique().with_row_index("_key")
    ev = ev.join(key_table, on=keys, how="inner", nulls_equal=True).select("_key", "event_time", "_step")
    per_step = [
        ev.filter(pl.col("_step") == k).select("_key", "event_time").sort("event_time")
        for k in range(len(data.steps))
    ]
    levels = [per_step[0].select("_key").unique()]
    chain = (
        per_step[1].rename({"event_time": "_cur"})
        .join_asof(per_step[0].rename({"event_time": "_start"}), left_on="_cur", right_on="_start",
                   by="_key", strategy="backward", check_sortedness=False)
        .filter(pl.col("_start").is_not_null() & ((pl.col("_cur") - pl.col("_start")) <= window))
        .group_by("_key", "_cur").agg(pl.col("_start").max())
    )
    levels.append(chain.select("_key").unique())
    for k in range(2, len(data.steps)):
        chain = (
            chain.sort("_cur")
            .join_asof(per_step[k].rename({"event_time": "_next"}), left_on="_cur", right_on="_next",
                       by="_key", strategy="forward", check_sortedness=False)
            .filter(pl.col("_next").is_not_null() & ((pl.col("_next") - pl.col("_start")) <= window))
            .group_by("_key", "_next").agg(pl.col("_start").max())
            .rename({"_next": "_cur"})
        )
        levels.append(chain.select("_key").unique())
    return [lv.join(key_table, on="_key", how="inner").select(keys) for lv in levels]


def funnel(
    events: Frame,
    steps: Sequence[str],
    *,
    unit: Unit = "session",
    by: str | Sequence[str] | None = None,
    within: str | dt.timedelta | None = None,
    mode: FunnelMode = "ordered",
) -> pl.DataFrame:
    """Conversion through ordered steps, per session or per customer, with counts, rates and drop-off.

    Parameters
    ----------
    events
        Events table (DataFrame or LazyFrame; a ``pl.scan_parquet`` is streamed):
        ``customer_id``, ``event_time`` (Datetime), ``event`` (String), and
        ``session_id`` for ``unit="session"``, plus the ``by`` columns.
    steps
        Distinct event names in funnel order, e.g. ``["view", "cart", "purchase"]``.
        A step that never occurs in ``event`` raises (a typo would otherwise
        give a funnel of zeros).
    unit
        ``"session"`` (``session_id``) or ``"customer"`` (``customer_id``).
    by
        Column(s) to break the funnel down by (channel, device, segment,
        category...). They are part of the unit: a session whose events carry
        two values of a ``by`` column counts once under each value, with only
        that value's events. Null values form their own group.
    within
        Ordered funnel only: the last step must come no later than this after
        the first (a ``datetime.timedelta`` or text such as ``"30m"``, ``"7d"``).
        None: no limit. Memory: the events are streamed twice; what is kept
        is one row per unit that did step 1, plus the events of the later
        steps (usually far fewer than step-1 events). With a window, the
        step-1 events are read into memory too, for as-of joins.
    mode
        ``"ordered"`` (steps done in order), ``"reached"`` (did the step at
        all, in any order) or ``"both"`` (both tables stacked). See the module
        docstring for the definitions.

    Returns
    -------
    pl.DataFrame
        One row per (``by`` group, funnel kind, step), every step listed even
        at zero: the ``by`` columns, ``funnel`` (String: "ordered" or
        "reached"), ``unit`` (String: "session" or "customer"),
        ``step_number`` (Int64, from 1), ``step`` (String),
        ``events`` (Int64, events of this type in the group, whether or not
        they count in the funnel), ``units`` (Int64, sessions or customers at
        this step), ``rate_from_previous`` (Float64, units / units at the
        previous step; null at step 1 or after a zero), ``rate_from_start``
        (Float64, units / units at step 1: the overall conversion at the last
        step), ``drop_off`` (Int64, units at the previous step minus units
        here; negative in a reached funnel when steps are skipped),
        ``drop_off_rate`` (Float64, 1 - rate_from_previous).

    Raises
    ------
    CustlabError
        Unknown step names (the message lists the event types present), repeated
        steps, fewer than two steps, a bad ``within``, events lacking the unit id
        or time.
    SchemaError
        The unit or ``by`` column is missing.

    Examples
    --------
    >>> import datetime as dt
    >>> import polars as pl
    >>> t = [dt.datetime(2024, 1, 1, 10, m) for m in range(6)]
    >>> ev = pl.DataFrame({"customer_id": [1, 1, 1, 2, 2, 3], "session_id": ["a", "a", "a", "b", "b", "c"],
    ...                    "event_time": t, "event": ["view", "cart", "purchase", "view", "purchase", "view"]})
    >>> f = funnel(ev, ["view", "cart", "purchase"], mode="both")
    >>> f.select("funnel", "step", "units", "rate_from_previous").rows()  # doctest: +NORMALIZE_WHITESPACE
    [('ordered', 'view', 3, None), ('ordered', 'cart', 1, 0.3333333333333333), ('ordered', 'purchase', 1, 1.0),
     ('reached', 'view', 3, None), ('reached', 'cart', 1, 0.3333333333333333), ('reached', 'purchase', 2, 2.0)]
    """
    if not isinstance(events, (pl.DataFrame, pl.LazyFrame)):
        from custlab import engine as pushdown  # DuckDB, Spark...: aggregate where the data live

        if pushdown.accepts(events):
            return pushdown.funnel(events, steps, unit=unit, by=by, within=within, mode=mode)
    if mode not in ("ordered", "reached", "both"):
        raise CustlabError(f"mode must be 'ordered', 'reached' or 'both', got {mode!r}.")
    if within is not None and mode == "reached":
        raise CustlabError(
            "within= applies to the ordered funnel; a reached funnel has no order or window. "
            "Use mode='ordered' or 'both'."
        )
    data = _prepare_funnel(events, steps, unit, by, within)
    by, steps, n = data.by, data.steps, len(data.steps)
    parts = []
    if mode in ("ordered", "both"):
        for k, level in enumerate(_ordered_levels(data)):
            part = level.group_by(by).agg(units=pl.len()) if by else pl.DataFrame({"units": [level.height]})
            parts.append(part.with_columns(funnel=pl.lit("ordered"), _step=pl.lit(k, dtype=pl.Int32)))
    if mode in ("reached", "both"):
        first = data.first.group_by(by or pl.lit(0).alias("_all")).agg(units=pl.len()).select(*by, "units")
        later = data.later.select(*data.keys, "_step").unique().group_by(*by, "_step").agg(units=pl.len())
        reached = pl.concat([first.with_columns(_step=pl.lit(0, dtype=pl.Int32)).select(later.columns), later])
        parts.append(reached.with_columns(funnel=pl.lit("reached")))
    units = pl.concat([p.select(*by, "funnel", "_step", pl.col("units").cast(pl.Int64)) for p in parts])
    kinds = ["ordered", "reached"] if mode == "both" else [mode]
    step_numbers = pl.DataFrame({"_step": pl.Series(range(n), dtype=pl.Int32)})
    grid = pl.DataFrame({"funnel": kinds}).join(step_numbers, how="cross")
    if by:
        grid = data.counts.select(by).unique().join(grid, how="cross")
    return _funnel_table(grid, data.counts, units, by, steps, unit)


def _funnel_table(grid: pl.DataFrame, counts: pl.DataFrame, units: pl.DataFrame, by: list[str], steps: list[str],
                  unit: str) -> pl.DataFrame:
    group = [*by, "funnel"]
    out = (
        grid.join(counts.select(*by, "_step", pl.col("events").cast(pl.Int64)), on=[*by, "_step"], how="left",
                  nulls_equal=True)
        .join(units, on=[*by, "funnel", "_step"], how="left", nulls_equal=True)
        .with_columns(pl.col("events", "units").fill_null(0))
        .sort([*by, "funnel", "_step"], nulls_last=True)
    )
    prev = pl.col("units").shift(1).over(group, order_by="_step")
    first = pl.col("units").first().over(group, order_by="_step")
    rate_prev = pl.when(prev > 0).then(pl.col("units") / prev)
    return out.select(
        *by,
        "funnel",
        unit=pl.lit(unit, dtype=pl.String),
        step_number=(pl.col("_step") + 1).cast(pl.Int64),
        step=pl.col("_step").replace_strict(list(range(len(steps))), steps, return_dtype=pl.String),
        events="events",
        units="units",
        rate_from_previous=rate_prev,
        rate_from_start=pl.when(first > 0).then(pl.col("units") / first),
        drop_off=(prev - pl.col("units")).cast(pl.Int64),
        drop_off_rate=1.0 - rate_prev,
    )


def drop_off_reasons(
    events: Frame,
    steps: Sequence[str],
    *,
    reason: str | pl.Expr = "reason",
    unit: Unit = "session",
    by: str | Sequence[str] | None = None,
    within: str | dt.timedelta | None = None,
    language: Language = "en",
) -> pl.DataFrame:
    """Why units left an ordered funnel, where the events record a reason.

    Each unit that started the funnel but did not finish it is placed at the
    last step it reached in order (as in :func:`funnel` with ``mode="ordered"``).
    Its reason is the last non-null value of ``reason`` among its events (by
    time). Nothing is inferred from event types: where the events carry no
    reason, the table says so instead of guessing.

    Parameters
    ----------
    events
        Events table as for :func:`funnel`, with the reason column if any.
    steps, unit, by, within
        As for :func:`funnel`.
    reason
        Name of a text column holding the recorded reason (e.g. "price",
        "competitor cheaper", "delivery time"), or a polars expression deriving
        one from a comparison recorded on the events, e.g.
        ``pl.when(pl.col("price") > pl.col("competitor_price")).then(pl.lit("dearer than competitor"))``.
    language
        Labels of the "not recorded" rows: "en" or "zh".

    Returns
    -------
    pl.DataFrame
        One row per (``by`` group, step where units stopped, reason): the
        ``by`` columns, ``stopped_after`` (String, last step reached),
        ``next_step`` (String, the step not reached), ``reason`` (String;
        "(not recorded)" for units without one, or "(not recorded: events have
        no 'reason' column)" when the column is absent), ``units`` (Int64),
        ``share`` (Float64, of the units that stopped at that step), sorted by
        step, then recorded reasons by units, then the "not recorded" row.

    Examples
    --------
    >>> import datetime as dt
    >>> import polars as pl
    >>> t = [dt.datetime(2024, 1, 1, 10, m) for m in range(8)]
    >>> ev = pl.DataFrame({"customer_id": [1, 1, 2, 2, 3, 4, 4, 4], "session_id": list("aabbcddd"),
    ...                    "event_time": t,
    ...                    "event": ["view", "cart", "view", "exit", "view", "view", "cart", "purchase"],
    ...                    "reason": [None, None, None, "price", None, None, None, None]})
    >>> drop_off_reasons(ev, ["view", "cart", "purchase"]).rows()  # doctest: +NORMALIZE_WHITESPACE
    [('view', 'cart', 'price', 1, 0.5), ('view', 'cart', '(not recorded)', 1, 0.5),
     ('cart', 'purchase', '(not recorded)', 1, 1.0)]
    """
    check_language(language)
    not_recorded = labels("funnel", language)["not_recorded"]
    data = _prepare_funnel(events, steps, unit, by, within)
    lf, by, steps, keys = data.lf, data.by, data.steps, data.keys
    levels = _ordered_levels(data)
    depth = pl.concat([lv.with_columns(_depth=pl.lit(k, dtype=pl.Int32)) for k, lv in enumerate(levels)])
    depth = depth.group_by(keys).agg(pl.col("_depth").max()).filter(pl.col("_depth") < len(steps) - 1)
    if isinstance(reason, str):
        present = reason in lf.collect_schema().names()
        if present:
            reason_expr = pl.col(reason).cast(pl.String)
        else:
            depth = depth.with_columns(_reason=pl.lit(labels("funnel", language)["no_reason_column"].format(col=reason)))
    elif isinstance(reason, pl.Expr):
        present, reason_expr = True, reason.cast(pl.String)
    else:
        raise CustlabError(f"reason must be a column name or a polars expression, got {reason!r}.")
    if present:
        recorded = (
            lf.select(*keys, "event_time", _reason=reason_expr)
            .filter(pl.col("_reason").is_not_null())
            .group_by(keys)
            .agg(pl.col("_reason").sort_by("event_time").last())
            .collect(engine=_ENGINE)
        )
        depth = depth.join(recorded, on=keys, how="left", nulls_equal=True).with_columns(
            pl.col("_reason").fill_null(not_recorded)
        )
    names = list(range(len(steps)))
    out = (
        depth.group_by(*by, "_depth", "_reason").agg(units=pl.len().cast(pl.Int64))
        .with_columns(
            share=pl.col("units") / pl.col("units").sum().over([*by, "_depth"]),
            _unrecorded=pl.col("_reason").str.starts_with(not_recorded[:-1]),
        )
        .sort([*by, "_depth", "_unrecorded", "units", "_reason"],
              descending=[False] * len(by) + [False, False, True, False], nulls_last=True)
    )
    return out.select(
        *by,
        stopped_after=pl.col("_depth").replace_strict(names, steps, return_dtype=pl.String),
        next_step=(pl.col("_depth") + 1).replace_strict(names, steps, return_dtype=pl.String),
        reason="_reason",
        units="units",
        share="share",
    )


# --------------------------------------------------------------------------- paths


def _sorted_events(events: Frame, unit: Unit, extra: Sequence[str] = ()) -> tuple[pl.DataFrame, str]:
    """Collect unit, time and event sorted by unit then time; warn when rows were out of order."""
    lf, ucol = _events(events, unit, list(extra), purpose=f"for per-{unit} paths")
    ev = lf.select(ucol, "event_time", "event", *extra).collect(engine=_ENGINE)
    if ev.height == 0:
        raise EmptyDataError("The events table has no rows; there are no paths to show.")
    nulls = {c: ev[c].null_count() for c in (ucol, "event_time", "event") if ev[c].null_count()}
    if nulls:
        raise CustlabError(
            f"Events lack values needed to order them: {nulls} null(s). "
            f"Drop or fill them first, e.g. events.drop_nulls({list(nulls)})."
        )
    backwards = ev.select((pl.col("event_time").diff().over(ucol) < pl.duration(microseconds=0)).sum()).item()
    if backwards:
        warnings.warn(
            f"{backwards:,} of {ev.height:,} events were out of time order within their {unit}; "
            f"they were sorted by event_time (events with equal times keep their row order).",
            EventOrderWarning,
            stacklevel=3,
        )
    return ev.sort([ucol, "event_time"], maintain_order=True), ucol


def top_paths(
    events: Frame,
    *,
    unit: Unit = "session",
    top_n: int = 10,
    collapse_repeats: bool = True,
    max_steps: int | None = None,
) -> pl.DataFrame:
    """The most frequent event sequences per session (or customer).

    Parameters
    ----------
    events
        Events table: ``customer_id``, ``event_time``, ``event``, and
        ``session_id`` for ``unit="session"``.
    unit
        ``"session"`` or ``"customer"``.
    top_n
        How many paths to return (the most frequent first).
    collapse_repeats
        Merge runs of the same event ("view > view > cart" becomes "view > cart").
    max_steps
        Cut paths after this many events; cut paths end in " > ...".

    Returns
    -------
    pl.DataFrame
        ``path`` (String, events joined by " > "), ``length`` (Int64, events in
        the path before any cut), ``units`` (Int64), ``share`` (Float64, of all
        units), ``cumulative_share`` (Float64); the shares of the paths beyond
        the first ``top_n`` make up the rest.

    Examples
    --------
    >>> import datetime as dt
    >>> import polars as pl
    >>> ev = pl.DataFrame({"customer_id": [1, 1, 1, 2, 2, 3], "session_id": ["a", "a", "a", "b", "b", "c"],
    ...                    "event_time": [dt.datetime(2024, 1, 1, 10, m) for m in range(6)],
    ...                    "event": ["view", "view", "cart", "view", "cart", "view"]})
    >>> top_paths(ev).select("path", "units").rows()
    [('view > cart', 2), ('view', 1)]
    """
    if not isinstance(top_n, int) or isinstance(top_n, bool) or top_n < 1:
        raise CustlabError(f"top_n must be a positive whole number, got {top_n!r}.")
    if max_steps is not None and (not isinstance(max_steps, int) or max_steps < 1):
        raise CustlabError(f"max_steps must be None or a positive whole number, got {max_steps!r}.")
    ev, ucol = _sorted_events(events, unit)
    if collapse_repeats:
        ev = ev.filter((pl.col("event") != pl.col("event").shift(1).over(ucol)).fill_null(True))
    cut = max_steps if max_steps is not None else ev.height + 1
    per_unit = ev.group_by(ucol, maintain_order=True).agg(
        path=pl.col("event").head(cut).str.join(" > "), length=pl.len().cast(pl.Int64)
    ).with_columns(path=pl.when(pl.col("length") > cut).then(pl.col("path") + " > ...").otherwise(pl.col("path")))
    total = per_unit.height
    out = (
        per_unit.group_by("path").agg(units=pl.len().cast(pl.Int64), length=pl.col("length").max())
        .sort(["units", "path"], descending=[True, False])
        .with_columns(share=pl.col("units") / total)
        .with_columns(cumulative_share=pl.col("share").cum_sum())
    )
    return out.head(top_n).select("path", "length", "units", "share", "cumulative_share")



def transition_matrix(
    events: Frame,
    *,
    unit: Unit = "session",
    normalize: bool = True,
    collapse_repeats: bool = False,
    wide: bool = True,
) -> pl.DataFrame:
    """What units do next: counts or shares of transitions between event types.

    Within each session (or customer), events in time order; each event is
    followed by the next one, the first is preceded by ``"(start)"`` and the
    last followed by ``"(exit)"``. The ``"cart"`` row answers "what do people
    do after adding to cart?".

    Parameters
    ----------
    events, unit
        As for :func:`top_paths`.
    normalize
        Shares of each row (they sum to 1) instead of counts.
    collapse_repeats
        Merge runs of the same event first (no self-transitions remain).
    wide
        A matrix (one column per next event) rather than a long table.

    Returns
    -------
    pl.DataFrame
        Wide: ``from_event`` (String; "(start)" first, then event types by
        frequency), one column per next event type and ``"(exit)"`` (Float64
        shares or Int64 counts, 0 where never seen), ``transitions`` (Int64,
        row total). Long: ``from_event``, ``to_event`` (String), ``count``
        (Int64), ``share`` (Float64, of the row).

    Examples
    --------
    >>> import datetime as dt
    >>> import polars as pl
    >>> t = [dt.datetime(2024, 1, 1, 10, m) for m in range(5)]
    >>> ev = pl.DataFrame({"customer_id": [1, 1, 1, 2, 2], "session_id": ["a", "a", "a", "b", "b"],
    ...                    "event_time": t, "event": ["view", "cart", "purchase", "view", "cart"]})
    >>> m = transition_matrix(ev)
    >>> m.filter(pl.col("from_event") == "cart").select("purchase", "(exit)").row(0)
    (0.5, 0.5)
    """
    ev, ucol = _sorted_events(events, unit)
    if collapse_repeats:
        ev = ev.filter((pl.col("event") != pl.col("event").shift(1).over(ucol)).fill_null(True))
    pairs = ev.select(
        from_event=pl.col("event").shift(1).over(ucol).fill_null(START),
        to_event=pl.col("event"),
    )
    exits = ev.group_by(ucol).agg(from_event=pl.col("event").last()).select("from_event", to_event=pl.lit(EXIT))
    long = (
        pl.concat([pairs, exits])
        .group_by("from_event", "to_event").agg(count=pl.len().cast(pl.Int64))
        .with_columns(share=pl.col("count") / pl.col("count").sum().over("from_event"))
    )
    order = ev.group_by("event").agg(n=pl.len()).sort(["n", "event"], descending=[True, False])["event"].to_list()
    rank = {name: i for i, name in enumerate([START, *order, EXIT])}
    long = long.sort(
        pl.col("from_event").replace_strict(rank, return_dtype=pl.Int32),
        pl.col("to_event").replace_strict(rank, return_dtype=pl.Int32),
    )
    if not wide:
        return long
    value = "share" if normalize else "count"
    matrix = long.pivot(on="to_event", index="from_event", values=value, on_columns=[*order, EXIT])
    fill = 0.0 if normalize else 0
    totals = long.group_by("from_event").agg(transitions=pl.col("count").sum())
    return (
        matrix.with_columns(pl.col([*order, EXIT]).fill_null(fill))
        .join(totals, on="from_event", how="left")
        .sort(pl.col("from_event").replace_strict(rank, return_dtype=pl.Int32))
    )


# --------------------------------------------------------------------------- plot

_FUNNEL_COLUMNS = ("funnel", "unit", "step_number", "step", "events", "units", "rate_from_previous", "rate_from_start",
                   "drop_off", "drop_off_rate")



@in_language_font
def plot_funnel(table: pl.DataFrame, *, language: Language = "en", ax=None):
    """Funnel bars: units at each step, labelled with the count and the rate from the previous step.

    Parameters
    ----------
    table
        Output of :func:`funnel` (any mode, any ``by``): one bar colour per
        ``by`` group and funnel kind.
    language
        Titles, legend and the step names custlab knows (the synthetic shop's
        and REES46's events): "en" or "zh".
    ax
        A matplotlib Axes to draw on; by default a new Figure, made without
        pyplot (nothing is shown twice in Jupyter).

    Returns
    -------
    matplotlib.figure.Figure
        Bars in step order, one container per colour; each bar's label is
        "count" at step 1 and "count\\nrate%" after it.

    Examples
    --------
    >>> import datetime as dt
    >>> import polars as pl
    >>> t = [dt.datetime(2024, 1, 1, 10, m) for m in range(4)]
    >>> ev = pl.DataFrame({"customer_id": [1, 1, 2, 2], "session_id": list("aabb"),
    ...                    "event_time": t, "event": ["view", "cart", "view", "view"]})
    >>> fig = plot_funnel(funnel(ev, ["view", "cart"]))
    >>> [float(bar.get_height()) for bar in fig.axes[0].containers[0]]
    [2.0, 1.0]
    """
    import seaborn as sns

    text = labels("funnel", language)
    require_columns(table, ["funnel", "step_number", "step", "units", "rate_from_previous"], table="funnel",
                    purpose="(pass the output of funnel)")
    by = [c for c in table.columns if c not in _FUNNEL_COLUMNS]
    kinds = table["funnel"].unique(maintain_order=True).to_list()
    parts = [pl.col(c).cast(pl.String).fill_null(text["null"]) for c in by]
    if len(kinds) > 1 or not by:
        kind_labels = {k: text[k] for k in ("ordered", "reached")}
        parts.append(pl.col("funnel").replace_strict(kind_labels, return_dtype=pl.String))
    data = table.sort("step_number").with_columns(_hue=pl.concat_str(parts, separator=" / "))
    steps = data.sort("step_number")["step"].unique(maintain_order=True).to_list()
    hues = data["_hue"].unique(maintain_order=True).to_list()
    fig, ax = figure_axes(ax, figsize=(max(6.0, 1.6 * len(steps) * max(1, len(hues)) ** 0.5), 4.5))
    sns.barplot(x=data["step"].to_list(), y=data["units"].to_list(), hue=data["_hue"].to_list(), order=steps,
                hue_order=hues, ax=ax, errorbar=None)
    for hue, container in zip(hues, ax.containers, strict=False):
        rows = {r["step"]: r for r in data.filter(pl.col("_hue") == hue).iter_rows(named=True)}
        texts = []
        for step in steps:
            r = rows.get(step)
            if r is None:
                texts.append("")
            elif r["rate_from_previous"] is None:
                texts.append(f"{r['units']:,}")
            else:
                texts.append(f"{r['units']:,}\n{r['rate_from_previous']:.1%}")
        ax.bar_label(container, labels=texts, fontsize=8, padding=2)
    ax.set_xticks(range(len(steps)), [label(step, language) for step in steps])
    units = table["unit"].unique().to_list() if "unit" in table.columns else []
    ax.set_xlabel(text["step"])
    ax.set_ylabel(text[f"units_{units[0]}"] if len(units) == 1 else "")
    ax.set_title(text["title"])
    if len(hues) <= 1 and ax.get_legend() is not None:
        ax.get_legend().remove()
    ax.margins(y=0.15)
    return fig

