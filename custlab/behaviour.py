"""Behaviour and channels: funnels, paths, time-of-day patterns, cohort retention, channel ROI.

Every function takes canonical tables (see :mod:`custlab.schema`) as a polars
``DataFrame`` or ``LazyFrame`` and returns a polars ``DataFrame``; plots take
those results and return a matplotlib ``Figure``.

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
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import polars as pl

from custlab.exceptions import CustlabError, EmptyDataError, SchemaError
from custlab.schema import Frame, as_datetime, check_frame, require_columns, validate

#: Column mapping of the REES46 e-commerce event files onto the events table.
REES46_COLUMNS: dict[str, str] = {"user_id": "customer_id", "event_type": "event", "user_session": "session_id"}

Unit = Literal["session", "customer"]
FunnelMode = Literal["ordered", "reached", "both"]
Language = Literal["en", "zh"]

_UNIT_COLUMNS = {"session": "session_id", "customer": "customer_id"}
_ENGINE = "streaming"

#: Parts of the day used to name peak windows (start hour inclusive, end hour exclusive).
DAYPARTS: dict[str, tuple[int, int]] = {
    "night": (0, 6), "morning": (6, 11), "midday": (11, 14), "afternoon": (14, 18), "evening": (18, 24),
}

_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "weekday": "weekday", "weekend": "weekend",
        "night": "nights", "morning": "mornings", "midday": "middays", "afternoon": "afternoons",
        "evening": "evenings",
        "ordered": "ordered (steps in order)", "reached": "reached (did the step at all)",
        "units_session": "sessions", "units_customer": "customers", "step": "step",
        "funnel_title": "Funnel", "hour": "hour of day", "day": "day of week",
        "cohort": "acquisition cohort", "period": "months since first purchase",
        "active_share": "active share", "revenue": "revenue",
        "revenue_per_customer": "revenue per customer",
        "cumulative_revenue_per_customer": "cumulative revenue per customer",
        "active_customers": "active customers",
        "roi": "ROI (revenue per unit of spend)", "channel": "channel",
        "ok": "ok", "no_orders": "spend but no orders", "no_spend": "orders but no spend",
        "no_spend_no_orders": "no spend, no orders",
        "not_recorded": "(not recorded)", "no_reason_column": "(not recorded: events have no {col!r} column)",
        "no_spend_label": "no spend",
        "caveat": ("observed average ROI applied to the moved budget; observed ROI is not marginal ROI "
                   "(returns usually diminish as spend grows), so test the move before making it"),
        "hours_suffix": "",
    },
    "zh": {
        "weekday": "工作日", "weekend": "周末",
        "night": "深夜", "morning": "上午", "midday": "中午", "afternoon": "下午", "evening": "晚上",
        "ordered": "严格顺序漏斗", "reached": "到达即计漏斗",
        "units_session": "会话数", "units_customer": "客户数", "step": "步骤",
        "funnel_title": "转化漏斗", "hour": "小时", "day": "星期",
        "cohort": "获客月份", "period": "首购后月数",
        "active_share": "活跃比例", "revenue": "收入",
        "revenue_per_customer": "人均收入",
        "cumulative_revenue_per_customer": "人均累计收入",
        "active_customers": "活跃客户数",
        "roi": "投资回报率 (收入/投入)", "channel": "渠道",
        "ok": "正常", "no_orders": "有投入无订单", "no_spend": "有订单无投入",
        "no_spend_no_orders": "无投入无订单",
        "not_recorded": "(未记录)", "no_reason_column": "(未记录: 事件表没有 {col!r} 列)",
        "no_spend_label": "无投入",
        "caveat": ("按观察到的平均投资回报率估算;平均回报率不等于边际回报率"
                   "(投入增加时回报通常递减),调整前请先小规模测试"),
        "hours_suffix": "点",
    },
}

WEEKDAY_NAMES: dict[str, list[str]] = {
    "en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
    "zh": ["周一", "周二", "周三", "周四", "周五", "周六", "周日"],
}


class EventOrderWarning(UserWarning):
    """Events were not in time order within their session or customer; they were sorted."""


# --------------------------------------------------------------------------- helpers


def _labels(language: str) -> dict[str, str]:
    if language not in _LABELS:
        raise CustlabError(f"language must be 'en' or 'zh', got {language!r}.")
    return _LABELS[language]


def _by_list(by: str | Sequence[str] | None, *, reserved: Sequence[str] = ()) -> list[str]:
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


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(w|d|h|m|s)")
_UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


def _parse_within(within: str | dt.timedelta | None) -> dt.timedelta | None:
    """``None``, a timedelta, or text such as ``"30m"``, ``"2h"``, ``"7d"``, ``"1h30m"``, ``"1w"``."""
    if within is None:
        return None
    if isinstance(within, dt.timedelta):
        window = within
    elif isinstance(within, str):
        text = within.strip().lower().replace(" ", "")
        parts = _DURATION.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise CustlabError(
                f"within must be a datetime.timedelta or text such as '30m', '2h', '7d', '1h30m' "
                f"(units w, d, h, m, s), got {within!r}."
            )
        window = dt.timedelta(seconds=sum(float(n) * _UNIT_SECONDS[u] for n, u in parts))
    else:
        raise CustlabError(f"within must be None, a datetime.timedelta or text such as '30m', got {within!r}.")
    if window <= dt.timedelta(0):
        raise CustlabError(f"within must be a positive duration, got {within!r}.")
    return window


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
    by = _by_list(by, reserved=("event", "event_time", _UNIT_COLUMNS.get(unit, "")))
    check_frame(events, argument="events")
    steps = _check_steps(steps)
    window = _parse_within(within)
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
    labels = _labels(language)
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
            depth = depth.with_columns(_reason=pl.lit(labels["no_reason_column"].format(col=reason)))
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
            pl.col("_reason").fill_null(labels["not_recorded"])
        )
    names = list(range(len(steps)))
    out = (
        depth.group_by(*by, "_depth", "_reason").agg(units=pl.len().cast(pl.Int64))
        .with_columns(
            share=pl.col("units") / pl.col("units").sum().over([*by, "_depth"]),
            _unrecorded=pl.col("_reason").str.starts_with(labels["not_recorded"][:-1]),
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
    n: int = 10,
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
    n
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
        the first ``n`` make up the rest.

    Examples
    --------
    >>> import datetime as dt
    >>> import polars as pl
    >>> t = [dt.datetime(2024, 1, 1, 10, m) for m in range(6)]
    >>> ev = pl.DataFrame({"customer_id": [1, 1, 1, 2, 2, 3], "session_id": ["a", "a", "a", "b", "b", "c"],
    ...                    "event_time": t, "event": ["view", "view", "cart", "view", "cart", "view"]})
    >>> top_paths(ev).select("path", "units").rows()
    [('view > cart', 2), ('view', 1)]
    """
    if not isinstance(n, int) or n < 1:
        raise CustlabError(f"n must be a positive whole number, got {n!r}.")
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
    return out.head(n).select("path", "length", "units", "share", "cumulative_share")


START, EXIT = "(start)", "(exit)"


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
    events
        Events table: ``customer_id``, ``event_time``, ``event``, and
        ``session_id`` for ``unit="session"``.
    unit
        ``"session"`` or ``"customer"``.
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


# --------------------------------------------------------------------------- time patterns

Measure = Literal["orders", "revenue", "events", "customers"]


def weekday_hour(
    data: Frame,
    *,
    measure: Measure = "orders",
    by: str | Sequence[str] | None = None,
    event: str | Sequence[str] | None = None,
    language: Language = "en",
) -> pl.DataFrame:
    """Weekday x hour table of orders, revenue, events or customers, optionally per category.

    Parameters
    ----------
    data
        Transactions (``order_date``; ``order_id`` for orders, ``amount`` for
        revenue) or events (``event_time``), as a DataFrame or LazyFrame (a
        Parquet scan is streamed). A table with ``order_date`` is read as
        transactions, otherwise as events.
    measure
        ``"orders"`` (distinct ``order_id``, placed at the time of the
        order's first line; an order with lines in two categories counts
        once in each), ``"revenue"`` (sum of ``amount``),
        ``"events"`` (rows), ``"customers"`` (distinct ``customer_id``).
    by
        Column(s) to split by, such as ``category``. Null values form their own group.
    event
        Events only: keep these event types (e.g. ``"purchase"``).
    language
        Weekday names: "en" (Mon..Sun) or "zh" (周一..周日).

    Returns
    -------
    pl.DataFrame
        The full grid, 7 x 24 rows per ``by`` group, zeros included: the
        ``by`` columns, ``weekday`` (Int8, 1 = Monday .. 7 = Sunday),
        ``weekday_name`` (String), ``hour`` (Int8, 0-23, the clock of the
        timestamps as stored), ``value`` (Float64), ``share`` (Float64, of the
        group's total).

    Examples
    --------
    >>> import datetime as dt
    >>> import polars as pl
    >>> tx = pl.DataFrame({"customer_id": [1, 2, 3], "order_id": ["a", "b", "c"],
    ...                    "order_date": [dt.datetime(2024, 1, 1, 20), dt.datetime(2024, 1, 1, 20, 30),
    ...                                   dt.datetime(2024, 1, 6, 9)], "amount": [10.0, 5.0, 7.0]})
    >>> t = weekday_hour(tx, measure="revenue")
    >>> t.height, t.filter(pl.col("value") > 0).select("weekday_name", "hour", "value").rows()
    (168, [('Mon', 20, 15.0), ('Sat', 9, 7.0)])
    """
    check_frame(data, argument="data")
    names_ = WEEKDAY_NAMES.get(language)
    if names_ is None:
        raise CustlabError(f"language must be 'en' or 'zh', got {language!r}.")
    present = data.collect_schema().names()
    table = "transactions" if "order_date" in present else "events"
    if table == "events" and "event_time" not in present:
        raise SchemaError(
            f"weekday_hour needs transactions (with order_date) or events (with event_time); "
            f"columns present: {present}."
        )
    lf = validate(data, table).lazy()
    time_col = "order_date" if table == "transactions" else "event_time"
    by = _by_list(by, reserved=(time_col,))
    require_columns(lf, by, table=table, purpose="for the weekday x hour breakdown")
    measures = {
        "orders": ("order_id", pl.len()),
        "revenue": ("amount", pl.col("amount").sum()),
        "events": (None, pl.len()),
        "customers": ("customer_id", pl.col("customer_id").n_unique()),
    }
    if measure not in measures:
        raise CustlabError(f"measure must be one of {list(measures)}, got {measure!r}.")
    needed, agg = measures[measure]
    if needed:
        require_columns(lf, [needed], table=table, purpose=f"to count {measure}")
    if event is not None:
        if table != "events":
            raise CustlabError("event= filters an events table; these are transactions (they have order_date).")
        wanted = [event] if isinstance(event, str) else list(event)
        lf = lf.filter(pl.col("event").is_in(wanted))
    if measure == "orders":  # one row per order (and group), at the time of its first line
        lf = lf.group_by(*by, "order_id").agg(pl.col(time_col).min())
    counts = (
        lf.group_by(*by, weekday=pl.col(time_col).dt.weekday(), hour=pl.col(time_col).dt.hour())
        .agg(value=agg.cast(pl.Float64))
        .filter(pl.col("weekday").is_not_null())
        .collect(engine=_ENGINE)
    )
    if counts.height == 0:
        raise EmptyDataError(f"No {table} with a {time_col} to place on the weekday x hour grid"
                             + (f" (event={event!r} kept none)." if event is not None else "."))
    grid = pl.DataFrame({"weekday": pl.Series(range(1, 8), dtype=pl.Int8)}).join(
        pl.DataFrame({"hour": pl.Series(range(24), dtype=pl.Int8)}), how="cross"
    )
    if by:
        grid = counts.select(by).unique().join(grid, how="cross")
    out = (
        grid.join(counts.with_columns(pl.col("weekday", "hour").cast(pl.Int8)), on=[*by, "weekday", "hour"],
                  how="left", nulls_equal=True)
        .with_columns(pl.col("value").fill_null(0.0))
        .sort([*by, "weekday", "hour"], nulls_last=True)
    )
    total = pl.col("value").sum().over(by) if by else pl.col("value").sum()
    return out.select(
        *by, "weekday",
        weekday_name=pl.col("weekday").replace_strict(list(range(1, 8)), names_, return_dtype=pl.String),
        hour="hour", value="value",
        share=pl.when(total != 0).then(pl.col("value") / total),
    )


def peak_times(table: pl.DataFrame, *, hours: int = 4, language: Language = "en") -> pl.DataFrame:
    """When each group sells: the busiest run of ``hours`` consecutive hours, on weekdays or weekends.

    Weekdays (Mon-Fri) and weekends (Sat-Sun) are compared per day: for each
    day type, the value of each hour is averaged over its days, and the
    window of ``hours`` consecutive hours (wrapping round midnight) with the
    highest average wins. The window is named by the part of the day
    (:data:`DAYPARTS`) holding most of its hours (ties: the earlier part),
    giving sentences such as "weekday evenings 19-22".

    Parameters
    ----------
    table
        Output of :func:`weekday_hour` (any ``by`` columns are the groups).
    hours
        Window length in hours (1-12).
    language
        Labels: "en" or "zh".

    Returns
    -------
    pl.DataFrame
        One row per group: the ``by`` columns, ``day_type`` (String),
        ``daypart`` (String), ``first_hour``, ``last_hour`` (Int64, inclusive),
        ``window_share`` (Float64, share of the group's total falling in that
        window on that day type), ``lift`` (Float64, the window's average
        value per weekday-hour cell over the average of all 168 cells),
        ``summary`` (String, e.g. "weekday evenings 19-22").

    Examples
    --------
    >>> import datetime as dt
    >>> import polars as pl
    >>> times = [dt.datetime(2024, 1, d, h) for d in range(1, 6) for h in (19, 20, 21, 22)]
    >>> tx = pl.DataFrame({"customer_id": 1, "order_id": [str(i) for i in range(20)],
    ...                    "order_date": times, "amount": 1.0})
    >>> peak_times(weekday_hour(tx))["summary"].to_list()
    ['weekday evenings 19-22']
    """
    labels = _labels(language)
    if not isinstance(hours, int) or not 1 <= hours <= 12:
        raise CustlabError(f"hours must be a whole number from 1 to 12, got {hours!r}.")
    check_frame(table, argument="table")
    table = table.lazy().collect() if isinstance(table, pl.LazyFrame) else table
    require_columns(table, ["weekday", "hour", "value"], table="weekday_hour",
                    purpose="(pass the output of weekday_hour)")
    by = [c for c in table.columns if c not in ("weekday", "weekday_name", "hour", "value", "share")]
    profile = (
        table.with_columns(
            day_type=pl.when(pl.col("weekday") <= 5).then(pl.lit("weekday")).otherwise(pl.lit("weekend"))
        )
        .group_by(*by, "day_type", "hour")
        .agg(total=pl.col("value").sum(), per_day=pl.col("value").sum() / pl.col("weekday").n_unique())
    )
    rows = []
    for key, grp in profile.group_by(by or [pl.lit(0).alias("_all")], maintain_order=True):
        grand = float(grp["total"].sum())
        best = None
        for day_type in ("weekday", "weekend"):
            d = grp.filter(pl.col("day_type") == day_type)
            per_day = dict(zip(d["hour"].to_list(), d["per_day"].to_list(), strict=True))
            totals = dict(zip(d["hour"].to_list(), d["total"].to_list(), strict=True))
            for start in range(24):
                window = [(start + i) % 24 for i in range(hours)]
                score = sum(per_day.get(h, 0.0) for h in window)
                if best is None or score > best[0] + 1e-12:
                    best = (score, day_type, start, sum(totals.get(h, 0.0) for h in window))
        score, day_type, start, window_total = best
        covered = {name: sum(lo <= (start + i) % 24 < hi for i in range(hours)) for name, (lo, hi) in DAYPARTS.items()}
        first_part = next(name for name, (lo, hi) in DAYPARTS.items() if lo <= start < hi)
        order = list(DAYPARTS)
        # the part of the day holding most of the window's hours; ties go to the earlier part of the window
        def rank(name: str) -> tuple[int, int]:
            return covered[name], -((order.index(name) - order.index(first_part)) % len(order))

        part = max(order, key=rank)
        last = (start + hours - 1) % 24
        mean_cell = grand / 168 if grand else float("nan")
        hours_text = f"{start}-{last}{labels['hours_suffix']}" if hours > 1 else f"{start}{labels['hours_suffix']}"
        sep = " " if language == "en" else ""
        rows.append({
            **(dict(zip(by, key, strict=True)) if by else {}),
            "day_type": labels[day_type], "daypart": labels[part],
            "first_hour": start, "last_hour": last,
            "window_share": window_total / grand if grand else None,
            "lift": (score / hours) / mean_cell if grand else None,
            "summary": f"{labels[day_type]}{sep}{labels[part]} {hours_text}",
        })
    schema = {**{c: table.schema[c] for c in by}, "day_type": pl.String, "daypart": pl.String, "first_hour": pl.Int64,
              "last_hour": pl.Int64, "window_share": pl.Float64, "lift": pl.Float64, "summary": pl.String}
    out = pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)
    return out.sort(by, nulls_last=True) if by else out


# --------------------------------------------------------------------------- cohorts


def cohort_retention(
    transactions: Frame,
    *,
    as_of: str | dt.date | dt.datetime | None = None,
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
        Pass cleaned data (:func:`custlab.clean.clean_transactions`): returns
        left in would count as negative revenue.
    as_of
        Analysis date: orders at or after it are left out. Default: the day
        after the last order.
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
        Orders without a customer_id (they belong to no cohort).

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
    check_frame(transactions, argument="transactions")
    tx = validate(transactions, "transactions").lazy().select("customer_id", "order_date", "amount").collect()
    if max_periods is not None and (not isinstance(max_periods, int) or max_periods < 0):
        raise CustlabError(f"max_periods must be None or a whole number >= 0, got {max_periods!r}.")
    missing = tx["customer_id"].null_count()
    if missing:
        raise CustlabError(
            f"{missing:,} order line(s) have no customer_id and belong to no cohort. Remove them first: "
            f"clean_transactions(tx, rules=('missing_customer', ...))."
        )
    tx = tx.drop_nulls("order_date")
    if as_of is None:
        as_of_dt = (tx["order_date"].max() + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        as_of_dt = as_datetime(as_of, "as_of")
        tx = tx.filter(pl.col("order_date") < as_of_dt)
    if tx.height == 0:
        raise EmptyDataError(f"No orders before as_of={as_of_dt:%Y-%m-%d}; there are no cohorts.")
    year, month = pl.col("order_date").dt.year().cast(pl.Int64), pl.col("order_date").dt.month().cast(pl.Int64)
    month_index = year * 12 + month - 1
    tx = tx.with_columns(_m=month_index).with_columns(_c=pl.col("_m").min().over("customer_id"))
    last_day = as_of_dt - dt.timedelta(microseconds=1)
    last_m = last_day.year * 12 + last_day.month - 1
    agg = tx.group_by("_c", "_m").agg(
        active_customers=pl.col("customer_id").n_unique().cast(pl.Int64), revenue=pl.col("amount").sum()
    )
    sizes = tx.group_by("_c").agg(cohort_size=pl.col("customer_id").n_unique().cast(pl.Int64))
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
    allowed = ("active_share", "active_customers", "revenue", "revenue_per_customer", "cumulative_revenue_per_customer")
    if value not in allowed:
        raise CustlabError(f"value must be one of {list(allowed)}, got {value!r}.")
    require_columns(retention, ["cohort", "period", "cohort_size", value], table="cohort_retention",
                    purpose="(pass the output of cohort_retention)")
    periods = sorted(retention["period"].unique().to_list())
    wide = retention.with_columns(pl.col("period").cast(pl.String)).pivot(
        on="period", index=["cohort", "cohort_size"], values=value, on_columns=[str(p) for p in periods]
    )
    return wide.sort("cohort")


# --------------------------------------------------------------------------- channels

Attribution = Literal["acquisition", "order"]


def roi_label(roi: float | None, *, language: Language = "en") -> str:
    """ROI written as the documents write it: revenue per unit of spend as "1:x".

    Examples
    --------
    >>> [roi_label(x) for x in (8.0, 1.2, 0.456, None)]
    ['1:8', '1:1.2', '1:0.46', 'no spend']
    """
    if roi is None or roi != roi:
        return _labels(language)["no_spend_label"]
    text = f"{roi:.2f}" if roi < 1 else f"{roi:.1f}"
    return "1:" + (text.rstrip("0").rstrip(".") if "." in text else text)


def _spend_table(spend: Frame) -> tuple[pl.DataFrame, dt.datetime, dt.datetime]:
    check_frame(spend, argument="spend")
    sp = validate(spend, "marketing_spend").lazy().select("month", "channel", "spend").collect()
    for col in ("month", "channel", "spend"):
        n = sp[col].null_count()
        if n:
            raise CustlabError(f"{n:,} marketing_spend row(s) have no {col}; fill or drop them first.")
    negative = sp.filter(pl.col("spend") < 0)
    if negative.height:
        raise CustlabError(
            f"{negative.height:,} marketing_spend row(s) have negative spend, e.g. "
            f"{negative.head(3).rows()}. Spend must be >= 0; record refunds as lower spend in their month."
        )
    first = sp["month"].min()
    last = sp["month"].max()
    start = dt.datetime(first.year, first.month, 1)
    end = dt.datetime(last.year + (last.month == 12), last.month % 12 + 1, 1)
    return sp, start, end


def channel_performance(
    spend: Frame,
    transactions: Frame,
    *,
    customers: Frame | None = None,
    attribution: Attribution | None = None,
    clv: Frame | None = None,
    events: Frame | None = None,
    conversion_steps: Sequence[str] | None = None,
    conversion_unit: Unit = "session",
    language: Language = "en",
) -> pl.DataFrame:
    """Revenue, ROI (1:x), CAC, conversion and CLV/CAC per marketing channel.

    The analysis window is the months of the spend table: from the first
    day of its first month to the end of its last month. Orders outside it
    are not counted.

    Parameters
    ----------
    spend
        marketing_spend table: ``month`` (Date), ``channel`` (String),
        ``spend`` (Float64, >= 0). Several rows of a month and channel add up.
    transactions
        Cleaned transactions (:func:`custlab.clean.clean_transactions`):
        ``customer_id``, ``order_id``, ``order_date``, ``amount``, and
        ``channel`` for ``attribution="order"``.
    customers
        Customers table with ``customer_id`` and ``acquisition_channel``
        (needed for ``attribution="acquisition"``).
    attribution
        ``"acquisition"``: a customer's orders all count for the channel that
        acquired them (``customers.acquisition_channel``); ``"order"``: each
        order line counts for its own ``channel``, and a customer is acquired
        by the channel of their first order. Default: "acquisition" when
        ``customers`` has ``acquisition_channel``, else "order".
    clv
        Optional frame of predicted customer lifetime values: ``customer_id``
        and ``clv`` (Float64, same currency as ``spend``), e.g. from
        :mod:`custlab.clv`. Adds the mean CLV of each channel's new customers
        and CLV/CAC.
    events
        Optional events table for the conversion rate: the ordered funnel of
        ``conversion_steps`` per ``conversion_unit``, split by the channel the
        events belong to (their own ``channel`` column for "order"
        attribution, the customer's acquisition channel for "acquisition").
    conversion_steps
        Funnel steps for the conversion, e.g. ``["exposure", "pay"]``;
        required with ``events``.
    conversion_unit
        ``"session"`` or ``"customer"``.
    language
        Labels of ``roi_label`` and ``status``: "en" or "zh".

    Returns
    -------
    pl.DataFrame
        One row per channel found in the spend, the orders or the events
        (null channel: orders of customers without an acquisition channel),
        sorted by ROI: ``channel`` (String), ``spend``, ``revenue`` (Float64),
        ``orders``, ``customers`` (Int64, distinct buyers in the window),
        ``new_customers`` (Int64, first order ever inside the window),
        ``roi`` (Float64, revenue / spend; null without spend), ``roi_label``
        (String, "1:8"), ``cac`` (Float64, spend / new customers; null with
        none), ``visitors`` (Int64, units at the first conversion step),
        ``conversion`` (Float64, share reaching the last step in order),
        ``clv_customers`` (Int64, new customers with a CLV), ``clv_mean``,
        ``clv_to_cac`` (Float64), ``status`` (String: "ok", "spend but no
        orders", "orders but no spend", "no spend, no orders"). The
        conversion and CLV columns are null when ``events`` / ``clv`` are not
        given.

    Raises
    ------
    SchemaError
        Attribution columns missing (``channel``, ``acquisition_channel``).
    CustlabError
        Negative or missing spend, duplicated customers, ``events`` without
        ``conversion_steps``, a ``clv`` frame without its columns.

    Examples
    --------
    >>> import datetime as dt
    >>> import polars as pl
    >>> spend = pl.DataFrame({"month": [dt.date(2024, 1, 1)] * 3, "channel": ["ads", "sms", "tv"],
    ...                       "spend": [100.0, 50.0, 10.0]})
    >>> tx = pl.DataFrame({"customer_id": [1, 2, 3], "order_id": ["a", "b", "c"],
    ...                    "order_date": [dt.datetime(2024, 1, d) for d in (3, 4, 5)],
    ...                    "amount": [800.0, 60.0, 40.0], "channel": ["ads", "sms", "web"]})
    >>> channel_performance(spend, tx).select("channel", "roi_label", "cac", "status").rows()  # doctest: +NORMALIZE_WHITESPACE
    [('ads', '1:8', 100.0, 'ok'), ('sms', '1:1.2', 50.0, 'ok'), ('tv', '1:0', None, 'spend but no orders'),
     ('web', 'no spend', None, 'orders but no spend')]
    """
    labels = _labels(language)
    sp, start, end = _spend_table(spend)
    check_frame(transactions, argument="transactions")
    tx = validate(transactions, "transactions").lazy()
    tx_cols = tx.collect_schema().names()
    if customers is not None:
        check_frame(customers, argument="customers")
        cust = validate(customers, "customers").lazy()
        has_acq = "acquisition_channel" in cust.collect_schema().names()
    else:
        cust, has_acq = None, False
    if attribution is None:
        attribution = "acquisition" if has_acq else "order"
    if attribution not in ("acquisition", "order"):
        raise CustlabError(f"attribution must be 'acquisition' or 'order', got {attribution!r}.")
    if attribution == "acquisition":
        if cust is None:
            raise CustlabError("attribution='acquisition' needs customers= (with customer_id and acquisition_channel).")
        require_columns(cust, ["acquisition_channel"], table="customers", purpose="for acquisition attribution")
        acq = cust.select("customer_id", channel=pl.col("acquisition_channel")).collect()
        _same_ids(tx.collect_schema()["customer_id"], acq.schema["customer_id"], "customers")
        dupes = acq.filter(pl.col("customer_id").is_duplicated())
        if dupes.height:
            raise CustlabError(
                f"customers lists {dupes['customer_id'].n_unique():,} customer_id(s) more than once, e.g. "
                f"{dupes['customer_id'].unique().head(5).to_list()}; each customer needs one acquisition_channel."
            )
        lines = (
            tx.select("customer_id", "order_id", "order_date", "amount").collect()
            .join(acq, on="customer_id", how="left")
        )
    else:
        require_columns(tx, ["channel"], table="transactions",
                        purpose="for order attribution (or pass customers= with acquisition_channel)")
        lines = tx.select("customer_id", "order_id", "order_date", "amount", "channel").collect()
    # acquisition: the first order ever (in all the data given), and its channel
    firsts = (
        lines.filter(pl.col("customer_id").is_not_null())
        .sort("order_date", maintain_order=True)
        .group_by("customer_id").agg(pl.col("order_date").first().alias("_first"), pl.col("channel").first())
        .filter((pl.col("_first") >= start) & (pl.col("_first") < end))
    )
    window = lines.filter((pl.col("order_date") >= start) & (pl.col("order_date") < end))
    perf = window.group_by("channel").agg(
        revenue=pl.col("amount").sum(),
        orders=pl.col("order_id").n_unique().cast(pl.Int64),
        customers=pl.col("customer_id").drop_nulls().n_unique().cast(pl.Int64),
    )
    new = firsts.group_by("channel").agg(new_customers=pl.len().cast(pl.Int64))
    spent = sp.group_by("channel").agg(pl.col("spend").sum())
    table = (
        spent.join(perf, on="channel", how="full", coalesce=True, nulls_equal=True)
        .join(new, on="channel", how="full", coalesce=True, nulls_equal=True)
    )
    if events is not None:
        conversion = _channel_conversion(events, conversion_steps, conversion_unit, attribution,
                                         acq if attribution == "acquisition" else None)
        table = table.join(conversion, on="channel", how="full", coalesce=True, nulls_equal=True)
    else:
        if conversion_steps is not None:
            raise CustlabError("conversion_steps= needs events= to compute a conversion rate from.")
        table = table.with_columns(visitors=pl.lit(None, pl.Int64), conversion=pl.lit(None, pl.Float64))
    if clv is not None:
        table = table.join(_channel_clv(clv, firsts), on="channel", how="full", coalesce=True, nulls_equal=True)
    else:
        table = table.with_columns(clv_customers=pl.lit(None, pl.Int64), clv_mean=pl.lit(None, pl.Float64))
    table = table.with_columns(
        pl.col("spend", "revenue").fill_null(0.0),
        pl.col("orders", "customers", "new_customers").fill_null(0),
    )
    roi = pl.when(pl.col("spend") > 0).then(pl.col("revenue") / pl.col("spend"))
    cac = pl.when((pl.col("new_customers") > 0) & (pl.col("spend") > 0)).then(pl.col("spend") / pl.col("new_customers"))
    status = (
        pl.when((pl.col("spend") > 0) & (pl.col("orders") > 0)).then(pl.lit(labels["ok"]))
        .when(pl.col("spend") > 0).then(pl.lit(labels["no_orders"]))
        .when(pl.col("orders") > 0).then(pl.lit(labels["no_spend"]))
        .otherwise(pl.lit(labels["no_spend_no_orders"]))
    )
    out = table.with_columns(roi=roi, cac=cac).with_columns(
        roi_label=pl.col("roi").map_elements(lambda x: roi_label(x, language=language), return_dtype=pl.String,
                                             skip_nulls=False),
        clv_to_cac=pl.col("clv_mean") / pl.col("cac"),
        status=status,
    )
    return out.sort(["roi", "channel"], descending=[True, False], nulls_last=True).select(
        "channel", "spend", "revenue", "orders", "customers", "new_customers", "roi", "roi_label", "cac",
        pl.col("visitors").cast(pl.Int64), "conversion", pl.col("clv_customers").cast(pl.Int64), "clv_mean",
        "clv_to_cac", "status",
    )


def _same_ids(ours: pl.DataType, theirs: pl.DataType, table: str) -> None:
    if ours != theirs:
        raise CustlabError(
            f"{table}.customer_id is {theirs} but the transactions' customer_id is {ours}; "
            f"the ids must be of one kind to be matched (cast one side, e.g. pl.col('customer_id').cast(pl.String))."
        )


def _channel_conversion(events, steps, unit, attribution, acq) -> pl.DataFrame:
    if steps is None:
        raise CustlabError("events= needs conversion_steps=, e.g. ['exposure', 'pay'] or ['view', 'purchase'].")
    check_frame(events, argument="events")
    ev = validate(events, "events").lazy()
    if attribution == "acquisition":
        _same_ids(acq.schema["customer_id"], ev.collect_schema()["customer_id"], "events")
        names = ev.collect_schema().names()
        ev = ev.drop("channel") if "channel" in names else ev
        ev = ev.join(acq.lazy(), on="customer_id", how="left")
    else:
        require_columns(ev, ["channel"], table="events", purpose="for the conversion by order channel")
    f = funnel(ev, steps, unit=unit, by="channel", mode="ordered")
    first = f.filter(pl.col("step_number") == 1).select("channel", visitors="units")
    last = f.filter(pl.col("step_number") == len(steps)).select("channel", conversion="rate_from_start")
    return first.join(last, on="channel", how="left", nulls_equal=True)


def _channel_clv(clv: Frame, firsts: pl.DataFrame) -> pl.DataFrame:
    check_frame(clv, argument="clv")
    values = clv.lazy().collect() if isinstance(clv, pl.LazyFrame) else clv
    require_columns(values, ["customer_id", "clv"], table="clv", purpose="(customer_id and clv, one row per customer)")
    values = values.select("customer_id", pl.col("clv").cast(pl.Float64))
    repeated = values.filter(pl.col("customer_id").is_duplicated())["customer_id"].unique()
    if repeated.len():
        raise CustlabError(
            f"clv lists {repeated.len():,} customer_id(s) more than once, e.g. {repeated.head(5).to_list()}; "
            f"give one clv per customer."
        )
    if values["customer_id"].dtype != firsts["customer_id"].dtype:
        try:
            values = values.with_columns(pl.col("customer_id").cast(firsts["customer_id"].dtype))
        except pl.exceptions.InvalidOperationError:
            raise CustlabError(
                f"clv.customer_id is {values['customer_id'].dtype} but the transactions' customer_id is "
                f"{firsts['customer_id'].dtype}; use the same ids."
            ) from None
    joined = firsts.join(values, on="customer_id", how="left")
    return joined.group_by("channel").agg(
        clv_customers=pl.col("clv").is_not_null().sum().cast(pl.Int64), clv_mean=pl.col("clv").mean()
    )


def reallocation(
    performance: pl.DataFrame,
    *,
    shares: Sequence[float] = (0.1, 0.25, 0.5),
    from_channel: str | None = None,
    to_channel: str | None = None,
    language: Language = "en",
) -> pl.DataFrame:
    """What moving budget from the lowest-ROI to the highest-ROI channel would have returned at observed rates.

    Each scenario moves a share of the source channel's spend to the target
    channel and applies each channel's *observed average* ROI to the moved
    money: change = moved x (target ROI - source ROI). Observed ROI is not
    marginal ROI: the next unit of spend usually returns less than the
    average (audiences saturate), so read the result as an upper bound to
    test with a small experiment, not a forecast. Every row carries that
    caveat in ``note``.

    Parameters
    ----------
    performance
        Output of :func:`channel_performance`; only channels with spend,
        orders and an ROI take part.
    shares
        Shares of the source channel's spend to move (each in (0, 1]).
    from_channel, to_channel
        Override the source (default: lowest ROI) and target (default: highest ROI).
    language
        Language of ``note``: "en" or "zh".

    Returns
    -------
    pl.DataFrame
        One row per share: ``share_moved`` (Float64), ``from_channel``,
        ``to_channel`` (String), ``moved_spend``, ``from_roi``, ``to_roi``,
        ``revenue_before`` (Float64, revenue of the channels taking part),
        ``revenue_change``, ``revenue_after``, ``change_pct`` (Float64),
        ``note`` (String, the caveat).

    Examples
    --------
    >>> perf = pl.DataFrame({"channel": ["a", "b"], "spend": [100.0, 100.0], "revenue": [800.0, 120.0],
    ...                      "orders": [10, 5], "roi": [8.0, 1.2], "status": ["ok", "ok"]})
    >>> reallocation(perf, shares=[0.5]).select("from_channel", "to_channel", "moved_spend", "revenue_change").rows()
    [('b', 'a', 50.0, 340.0)]
    """
    labels = _labels(language)
    require_columns(performance, ["channel", "spend", "revenue", "orders", "roi"], table="channel_performance",
                    purpose="(pass the output of channel_performance)")
    shares = [shares] if isinstance(shares, (int, float)) else list(shares)
    bad = [x for x in shares if not isinstance(x, (int, float)) or not 0 < x <= 1]
    if not shares or bad:
        raise CustlabError(f"shares must be numbers in (0, 1], got {bad or shares!r}.")
    usable = performance.filter(
        (pl.col("spend") > 0) & (pl.col("orders") > 0) & pl.col("roi").is_not_null() & pl.col("channel").is_not_null()
    )
    if usable.height < 2:
        raise CustlabError(
            f"Reallocation needs at least two channels with spend, orders and an ROI; found "
            f"{usable['channel'].to_list()} among {performance['channel'].to_list()}."
        )
    ranked = usable.sort(["roi", "channel"], descending=[False, False])
    source = from_channel if from_channel is not None else ranked["channel"][0]
    target = to_channel if to_channel is not None else ranked["channel"][-1]
    names = usable["channel"].to_list()
    for arg, name in (("from_channel", source), ("to_channel", target)):
        if name not in names:
            raise CustlabError(f"{arg}={name!r} is not a channel with spend, orders and an ROI; choose from {names}.")
    if source == target:
        raise CustlabError(f"from_channel and to_channel are both {source!r}; nothing would move.")
    src = usable.filter(pl.col("channel") == source).row(0, named=True)
    dst = usable.filter(pl.col("channel") == target).row(0, named=True)
    before = float(usable["revenue"].sum())
    rows = []
    for x in shares:
        moved = float(x) * src["spend"]
        change = moved * (dst["roi"] - src["roi"])
        rows.append({
            "share_moved": float(x), "from_channel": source, "to_channel": target, "moved_spend": moved,
            "from_roi": src["roi"], "to_roi": dst["roi"], "revenue_before": before, "revenue_change": change,
            "revenue_after": before + change, "change_pct": change / before if before else None,
            "note": labels["caveat"],
        })
    return pl.DataFrame(rows, schema={
        "share_moved": pl.Float64, "from_channel": pl.String, "to_channel": pl.String, "moved_spend": pl.Float64,
        "from_roi": pl.Float64, "to_roi": pl.Float64, "revenue_before": pl.Float64, "revenue_change": pl.Float64,
        "revenue_after": pl.Float64, "change_pct": pl.Float64, "note": pl.String,
    })


# --------------------------------------------------------------------------- plots


def _new_axes(ax, figsize):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
    else:
        fig = ax.figure
    return fig, ax


def plot_funnel(table: pl.DataFrame, *, language: Language = "en", ax=None):
    """Funnel bars: units at each step, labelled with the count and the rate from the previous step.

    Parameters
    ----------
    table
        Output of :func:`funnel` (any mode, any ``by``): one bar colour per
        ``by`` group and funnel kind.
    language
        Titles and legend: "en" or "zh".
    ax
        A matplotlib Axes to draw on; a new figure by default.

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

    labels = _labels(language)
    require_columns(table, ["funnel", "step_number", "step", "units", "rate_from_previous"], table="funnel",
                    purpose="(pass the output of funnel)")
    by = [c for c in table.columns if c not in _FUNNEL_COLUMNS]
    kinds = table["funnel"].unique(maintain_order=True).to_list()
    parts = [pl.col(c).cast(pl.String).fill_null("(null)") for c in by]
    if len(kinds) > 1 or not by:
        kind_labels = {k: labels[k] for k in ("ordered", "reached")}
        parts.append(pl.col("funnel").replace_strict(kind_labels, return_dtype=pl.String))
    data = table.sort("step_number").with_columns(_hue=pl.concat_str(parts, separator=" / "))
    steps = data.sort("step_number")["step"].unique(maintain_order=True).to_list()
    hues = data["_hue"].unique(maintain_order=True).to_list()
    fig, ax = _new_axes(ax, (max(6.0, 1.6 * len(steps) * max(1, len(hues)) ** 0.5), 4.5))
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
    units = table["unit"].unique().to_list() if "unit" in table.columns else []
    ax.set_xlabel(labels["step"])
    ax.set_ylabel(labels[f"units_{units[0]}"] if len(units) == 1 else "")
    ax.set_title(labels["funnel_title"])
    if len(hues) <= 1 and ax.get_legend() is not None:
        ax.get_legend().remove()
    ax.margins(y=0.15)
    return fig


_FUNNEL_COLUMNS = ("funnel", "unit", "step_number", "step", "events", "units", "rate_from_previous", "rate_from_start",
                   "drop_off", "drop_off_rate")


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
        A matplotlib Axes to draw on; a new figure by default.

    Returns
    -------
    matplotlib.figure.Figure
        One cell per cohort and period; unobserved periods are blank.

    Examples
    --------
    >>> import datetime as dt
    >>> import polars as pl
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 2], "order_id": ["a", "b", "c"],
    ...                    "order_date": [dt.datetime(2024, 1, 5), dt.datetime(2024, 2, 2), dt.datetime(2024, 2, 9)],
    ...                    "amount": [1.0, 1.0, 1.0]})
    >>> fig = plot_cohort_heatmap(cohort_retention(tx))
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['2024-01', '2024-02']
    """
    import numpy as np
    import seaborn as sns

    labels = _labels(language)
    wide = cohort_matrix(retention, value)
    periods = [c for c in wide.columns if c not in ("cohort", "cohort_size")]
    values = wide.select(periods).to_numpy().astype(float)
    share = value == "active_share"
    fig, ax = _new_axes(ax, (max(6.0, 0.6 * len(periods) + 2), max(3.0, 0.4 * wide.height + 1.5)))
    sns.heatmap(values, mask=np.isnan(values), annot=len(periods) <= 24, fmt=".0%" if share else ",.0f",
                cmap="Blues", ax=ax, cbar_kws={"label": labels.get(value, value)}, annot_kws={"fontsize": 7},
                xticklabels=periods, yticklabels=[d.strftime("%Y-%m") for d in wide["cohort"].to_list()])
    ax.set_xlabel(labels["period"])
    ax.set_ylabel(labels["cohort"])
    ax.set_title(labels.get(value, value))
    return fig


def plot_weekday_hour(table: pl.DataFrame, *, language: Language = "en", max_groups: int = 12):
    """Weekday x hour heatmaps of :func:`weekday_hour`, one panel per ``by`` group.

    Parameters
    ----------
    table
        Output of :func:`weekday_hour`; filter it to the groups to show.
    language
        Weekday names and axis labels: "en" or "zh".
    max_groups
        Refuse to draw more panels than this (filter the table first).

    Returns
    -------
    matplotlib.figure.Figure
        One axes per group (plus colour bars), rows Monday..Sunday, columns hours 0-23.

    Examples
    --------
    >>> import datetime as dt
    >>> import polars as pl
    >>> tx = pl.DataFrame({"customer_id": [1], "order_id": ["a"], "order_date": [dt.datetime(2024, 1, 1, 20)],
    ...                    "amount": [1.0]})
    >>> fig = plot_weekday_hour(weekday_hour(tx))
    >>> fig.axes[0].get_yticklabels()[0].get_text()
    'Mon'
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    labels = _labels(language)
    require_columns(table, ["weekday", "hour", "value"], table="weekday_hour",
                    purpose="(pass the output of weekday_hour)")
    by = [c for c in table.columns if c not in ("weekday", "weekday_name", "hour", "value", "share")]
    groups = table.select(by).unique(maintain_order=True).rows() if by else [()]
    if len(groups) > max_groups:
        raise CustlabError(
            f"The table has {len(groups)} groups of {by}; draw at most max_groups={max_groups}. "
            f"Filter it first, e.g. table.filter(pl.col({by[0]!r}).is_in([...]))."
        )
    ncols = min(2, len(groups))
    nrows = -(-len(groups) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(9 * ncols, 3.4 * nrows), squeeze=False)
    for ax, key in zip(axes.flat, groups, strict=False):
        part = table
        for col, val in zip(by, key, strict=True):
            part = part.filter(pl.col(col).is_null() if val is None else pl.col(col) == val)
        grid = part.sort("weekday", "hour").select("value").to_numpy().reshape(7, 24)
        sns.heatmap(grid, cmap="rocket_r", ax=ax, xticklabels=list(range(24)), yticklabels=WEEKDAY_NAMES[language])
        ax.set_xlabel(labels["hour"])
        ax.set_ylabel(labels["day"])
        ax.tick_params(axis="y", rotation=0)
        if by:
            ax.set_title(" / ".join("(null)" if v is None else str(v) for v in key))
    for ax in list(axes.flat)[len(groups):]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def plot_channel_roi(performance: pl.DataFrame, *, language: Language = "en", ax=None):
    """Bars of ROI per channel, labelled "1:x", with the break-even line at 1.

    Parameters
    ----------
    performance
        Output of :func:`channel_performance`; channels without an ROI (no
        spend) are left out of the bars.
    language
        Labels: "en" or "zh".
    ax
        A matplotlib Axes to draw on; a new figure by default.

    Returns
    -------
    matplotlib.figure.Figure
        One bar per channel with spend, highest ROI first, each labelled with its ``roi_label``.

    Examples
    --------
    >>> perf = pl.DataFrame({"channel": ["a", "b", "c"], "roi": [8.0, 1.2, None]})
    >>> fig = plot_channel_roi(perf)
    >>> [t.get_text() for t in fig.axes[0].texts]
    ['1:8', '1:1.2']
    """
    import seaborn as sns

    labels = _labels(language)
    require_columns(performance, ["channel", "roi"], table="channel_performance",
                    purpose="(pass the output of channel_performance)")
    data = performance.filter(pl.col("roi").is_not_null()).sort("roi", descending=True)
    names = [str(c) if c is not None else "(null)" for c in data["channel"].to_list()]
    values = data["roi"].to_list()
    fig, ax = _new_axes(ax, (max(5.0, 1.2 * len(names) + 2), 4.0))
    sns.barplot(x=names, y=values, ax=ax, color="#4c72b0", errorbar=None)
    for bar, value in zip(ax.patches, values, strict=False):
        ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height(), roi_label(value, language=language),
                ha="center", va="bottom", fontsize=9)
    ax.axhline(1.0, color="grey", linestyle="--", linewidth=1)
    ax.set_xlabel(labels["channel"])
    ax.set_ylabel(labels["roi"])
    ax.margins(y=0.12)
    return fig
