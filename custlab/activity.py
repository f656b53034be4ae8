"""When customers buy: weekday x hour tables, the busiest hours of each group, and their heatmaps.

Every function takes canonical transactions or events (see
:mod:`custlab.data.schema`) as a polars ``DataFrame`` or ``LazyFrame`` and
returns a polars ``DataFrame``; :func:`plot_weekday_hour` returns a matplotlib
``Figure`` drawn without pyplot. Hours are the clock of the timestamps as
stored (no time-zone conversion).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import polars as pl

from custlab._i18n import label, labels
from custlab._plotting import in_language_font, new_figure
from custlab._types import LANGUAGES, Frame, Language
from custlab.data.schema import check_frame, require_columns, validate
from custlab.exceptions import CustlabError, EmptyDataError, SchemaError
from custlab.funnel import by_list

__all__ = ["DAYPARTS", "WEEKDAY_NAMES", "Measure", "peak_times", "plot_weekday_hour", "weekday_hour", "weekday_names"]

_ENGINE = "streaming"

#: Parts of the day used to name peak windows (start hour inclusive, end hour exclusive).
DAYPARTS: dict[str, tuple[int, int]] = {
    "night": (0, 6), "morning": (6, 11), "midday": (11, 14), "afternoon": (14, 18), "evening": (18, 24),
}
_WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def weekday_names(language: Language = "en") -> list[str]:
    """Monday..Sunday in ``language`` (from the label catalogue).

    >>> weekday_names("zh")[:2]
    ['周一', '周二']
    """
    text = labels("activity", language)
    return [text[k] for k in _WEEKDAY_KEYS]


#: Monday..Sunday per language, as drawn on the heatmaps and written in ``weekday_name``.
WEEKDAY_NAMES: dict[str, list[str]] = {language: weekday_names(language) for language in LANGUAGES}

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
    if not isinstance(data, (pl.DataFrame, pl.LazyFrame)):
        from custlab import engine as pushdown  # DuckDB, Spark...: aggregate where the data live

        if pushdown.accepts(data):
            return pushdown.weekday_hour(data, measure=measure, by=by, event=event, language=language)
    check_frame(data, argument="data")
    names_ = weekday_names(language)
    present = data.collect_schema().names()
    table = "transactions" if "order_date" in present else "events"
    if table == "events" and "event_time" not in present:
        raise SchemaError(
            f"weekday_hour needs transactions (with order_date) or events (with event_time); "
            f"columns present: {present}."
        )
    lf = validate(data, table).lazy()
    time_col = "order_date" if table == "transactions" else "event_time"
    by = by_list(by, reserved=(time_col,))
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
    return _grid_table(counts, by, names_)


def _grid_table(counts: pl.DataFrame, by: list[str], names_: list[str]) -> pl.DataFrame:
    """The full 7 x 24 grid per ``by`` group from the non-zero counts (shared with :mod:`custlab.engine`)."""
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


def peak_times(
    table: pl.DataFrame, *, hours: int = 4, top_n: int | None = None, language: Language = "en",
) -> pl.DataFrame:
    """When each group sells: the busiest run of ``hours`` consecutive hours, on weekdays or weekends.

    Weekdays (Mon-Fri) and weekends (Sat-Sun) are compared per day: for each
    day type, the value of each hour is averaged over its days, and the
    window of ``hours`` consecutive hours (wrapping round midnight) with the
    highest average wins. The window is named by the part of the day
    (:data:`DAYPARTS`) holding most of its hours (ties: the earlier part),
    giving sentences such as "weekday evenings 19-22".

    Groups come busiest first (by their total value), so ``top_n`` or
    ``head(6)`` keeps the groups that matter, not the first ones alphabetically.

    Parameters
    ----------
    table
        Output of :func:`weekday_hour` (any ``by`` columns are the groups).
    hours
        Window length in hours (1-12).
    top_n
        Keep the ``top_n`` busiest groups only; None keeps all.
    language
        Labels: "en" or "zh".

    Returns
    -------
    pl.DataFrame
        One row per group, the busiest first (ties by the group's values): the
        ``by`` columns, ``total`` (Float64, the group's value over the whole
        week), ``total_share`` (Float64, of all groups' total), ``day_type``
        (String), ``daypart`` (String), ``first_hour``, ``last_hour`` (Int64,
        inclusive), ``window_share`` (Float64, share of the group's total
        falling in that window on that day type), ``lift`` (Float64, the
        window's average value per weekday-hour cell over the average of all
        168 cells), ``summary`` (String, e.g. "weekday evenings 19-22"). A
        group whose total is 0 has no peak: ``total`` 0 and nulls elsewhere.

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
    text = labels("activity", language)
    if not isinstance(hours, int) or isinstance(hours, bool) or not 1 <= hours <= 12:
        raise CustlabError(f"hours must be a whole number from 1 to 12, got {hours!r}.")
    if top_n is not None and (not isinstance(top_n, int) or isinstance(top_n, bool) or top_n < 1):
        raise CustlabError(f"top_n must be None or a whole number >= 1, got {top_n!r}.")
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
        rows.append({**(dict(zip(by, key, strict=True)) if by else {}), **_peak(grp, hours, text, language)})
    schema = {**{c: table.schema[c] for c in by}, "total": pl.Float64, "day_type": pl.String, "daypart": pl.String,
              "first_hour": pl.Int64, "last_hour": pl.Int64, "window_share": pl.Float64, "lift": pl.Float64,
              "summary": pl.String}
    out = pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)
    grand = out["total"].sum()
    out = out.with_columns(total_share=pl.col("total") / grand if grand else pl.lit(None, pl.Float64))
    out = out.sort(["total", *by], descending=[True] + [False] * len(by), nulls_last=True)
    out = out.select(*by, "total", "total_share", *[c for c in schema if c not in (*by, "total")])
    return out.head(top_n) if top_n is not None else out


def _peak(grp: pl.DataFrame, hours: int, text: dict[str, str], language: str) -> dict:
    """The busiest window of one group's day-type x hour profile (see :func:`peak_times`)."""
    grand = float(grp["total"].sum())
    if not grand:
        return {"total": grand, "day_type": None, "daypart": None, "first_hour": None, "last_hour": None,
                "window_share": None, "lift": None, "summary": None}
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

    def rank(name: str) -> tuple[int, int]:
        # the part of the day holding most of the window's hours; ties go to the earlier part of the window
        return covered[name], -((order.index(name) - order.index(first_part)) % len(order))

    part = max(order, key=rank)
    last = (start + hours - 1) % 24
    hours_text = f"{start}-{last}{text['hours_suffix']}" if hours > 1 else f"{start}{text['hours_suffix']}"
    return {
        "total": grand, "day_type": text[day_type], "daypart": text[part], "first_hour": start, "last_hour": last,
        "window_share": window_total / grand, "lift": (score / hours) / (grand / 168),
        "summary": f"{text[day_type]}{text['summary_separator']}{text[part]} {hours_text}",
    }


# --------------------------------------------------------------------------- plot


@in_language_font
def plot_weekday_hour(table: pl.DataFrame, *, language: Language = "en", max_groups: int = 12, fig=None):
    """Weekday x hour heatmaps of :func:`weekday_hour`, one panel per ``by`` group, the busiest first.

    Parameters
    ----------
    table
        Output of :func:`weekday_hour`; filter it to the groups to show.
    language
        Weekday names, axis labels and the group names custlab knows: "en" or "zh".
    max_groups
        Refuse to draw more panels than this (filter the table first).
    fig
        A matplotlib Figure to draw the panels on; by default a new one, made
        without pyplot (nothing is shown twice in Jupyter).

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
    import seaborn as sns

    text = labels("activity", language)
    require_columns(table, ["weekday", "hour", "value"], table="weekday_hour",
                    purpose="(pass the output of weekday_hour)")
    by = [c for c in table.columns if c not in ("weekday", "weekday_name", "hour", "value", "share")]
    if by:
        totals = table.group_by(by).agg(pl.col("value").sum()).sort(
            ["value", *by], descending=[True] + [False] * len(by), nulls_last=True)
        groups = totals.select(by).rows()
    else:
        groups = [()]
    if len(groups) > max_groups:
        raise CustlabError(
            f"The table has {len(groups)} groups of {by}; draw at most max_groups={max_groups}. "
            f"Filter it first, e.g. table.filter(pl.col({by[0]!r}).is_in([...])), or keep the busiest "
            f"with peak_times(table, top_n={max_groups})."
        )
    ncols = min(2, len(groups))
    nrows = -(-len(groups) // ncols)
    if fig is None:
        fig, axes = new_figure(9 * ncols, 3.4 * nrows, nrows=nrows, ncols=ncols, squeeze=False)
    else:
        axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax, key in zip(axes.flat, groups, strict=False):
        part = table
        for col, val in zip(by, key, strict=True):
            part = part.filter(pl.col(col).is_null() if val is None else pl.col(col) == val)
        grid = part.sort("weekday", "hour").select("value").to_numpy().reshape(7, 24)
        sns.heatmap(grid, cmap="rocket_r", ax=ax, xticklabels=list(range(24)), yticklabels=weekday_names(language))
        ax.set_xlabel(text["hour"])
        ax.set_ylabel(text["day"])
        ax.tick_params(axis="y", rotation=0)
        if by:
            ax.set_title(" / ".join(text["null"] if v is None else str(label(v, language)) for v in key))
    for ax in list(axes.flat)[len(groups):]:
        ax.set_visible(False)
    return fig
