"""Rule-based attribution: first touch, last touch, linear, position-based and time decay.

Each rule splits every conversion (and its value) among the touches of its
path with weights that sum to one:

* first touch / last touch: all to the first / last touch;
* linear: equal shares to every touch (a channel touched twice gets two
  shares, as in R's ChannelAttribution ``heuristic_models``);
* position-based ("U-shaped"): ``weights`` (0.4, 0.2, 0.4) to the first
  touch, the middle touches together and the last touch; a one-touch path
  gives it all, a two-touch path splits first + last evenly after adding the
  middle share to them in proportion;
* time decay: weight ``2 ** (-age / half_life)``, where ``age`` is the time
  from the touch to the conversion (journeys from :func:`custlab.attribution.journeys`,
  ``half_life`` a duration such as ``"7d"``) or the number of touches
  before the last one (a path table, ``half_life`` an integer number of touches).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from custlab._dates import parse_within
from custlab.exceptions import CustlabError

__all__ = ["HEURISTICS", "first_touch", "heuristic_credit", "last_touch", "linear", "position_based", "time_decay"]

#: The rule-based models, in the order the tables show them.
HEURISTICS = ("first_touch", "last_touch", "linear", "position_based", "time_decay")


def _exploded(paths: pl.DataFrame) -> pl.DataFrame:
    """One row per touch of each converting path: row, channel, position, length, conversions, value[, times]."""
    extra = ["touch_times", "conversion_time"] if "touch_times" in paths.columns else []
    if "converted" in paths.columns:  # journeys
        base = paths.filter(pl.col("converted")).select(
            "path", pl.lit(1.0).alias("conversions"), pl.col("value").cast(pl.Float64), *extra)
    else:
        base = paths.filter(pl.col("conversions") > 0).select("path", "conversions", "value", *extra)
    base = base.with_row_index("row").with_columns(pl.col("path").list.len().alias("length"))
    explode = ["path", *(["touch_times"] if extra else [])]
    return (
        base.with_columns(pl.int_ranges(0, pl.col("length")).alias("position"))
        .explode([*explode, "position"])
        .rename({"path": "channel"})
    )


def _credit(touches: pl.DataFrame, weight: pl.Expr) -> pl.DataFrame:
    weighted = touches.with_columns(weight.alias("w")).with_columns((pl.col("w") / pl.col("w").sum().over("row")).alias("w"))
    return (
        weighted.group_by("channel")  # each channel's credits added in sorted order: the same in any row order
        .agg((pl.col("w") * pl.col("conversions")).sort().sum().alias("conversions"),
             (pl.col("w") * pl.col("value")).sort().sum().alias("value"))
        .sort("conversions", "channel", descending=[True, False])
    )


def first_touch(paths: pl.DataFrame) -> pl.DataFrame:
    """All credit to the first touch: ``channel``, ``conversions``, ``value``.

    >>> from custlab.attribution.paths import path_table
    >>> p = path_table(pl.DataFrame({"path": ["a > b", "b"], "conversions": [2, 1], "value": [20.0, 5.0]}))
    >>> first_touch(p).rows()
    [('a', 2.0, 20.0), ('b', 1.0, 5.0)]
    """
    return _credit(_exploded(paths), (pl.col("position") == 0).cast(pl.Float64))


def last_touch(paths: pl.DataFrame) -> pl.DataFrame:
    """All credit to the last touch: ``channel``, ``conversions``, ``value``."""
    return _credit(_exploded(paths), (pl.col("position") == pl.col("length") - 1).cast(pl.Float64))


def linear(paths: pl.DataFrame) -> pl.DataFrame:
    """Equal credit to every touch: ``channel``, ``conversions``, ``value``.

    >>> from custlab.attribution.paths import path_table
    >>> linear(path_table(pl.DataFrame({"path": ["a > b > a"], "conversions": [3]}))).rows()
    [('a', 2.0, 0.0), ('b', 1.0, 0.0)]
    """
    return _credit(_exploded(paths), pl.lit(1.0))


def position_based(paths: pl.DataFrame, *, weights: tuple[float, float, float] = (0.4, 0.2, 0.4)) -> pl.DataFrame:
    """First, middle and last touches get ``weights`` (default 40/20/40): ``channel``, ``conversions``, ``value``.

    >>> from custlab.attribution.paths import path_table
    >>> position_based(path_table(pl.DataFrame({"path": ["a > b > c > d"], "conversions": [1]}))).rows()
    [('a', 0.4, 0.0), ('d', 0.4, 0.0), ('b', 0.1, 0.0), ('c', 0.1, 0.0)]
    """
    if len(weights) != 3 or min(weights) < 0 or sum(weights) <= 0:
        raise CustlabError(f"weights must be three non-negative shares (first, middle, last), got {weights!r}.")
    first, middle, last = (w / sum(weights) for w in weights)
    pos, length = pl.col("position"), pl.col("length")
    weight = (
        pl.when(length == 1).then(1.0)
        .when(length == 2).then(pl.when(pos == 0).then(first).otherwise(last))
        .when(pos == 0).then(first)
        .when(pos == length - 1).then(last)
        .otherwise(middle / (length - 2).cast(pl.Float64))
    )
    return _credit(_exploded(paths), weight)


def time_decay(paths: pl.DataFrame, *, half_life: str | int | dt.timedelta = "7d") -> pl.DataFrame:
    """Credit halving every ``half_life`` before the conversion: ``channel``, ``conversions``, ``value``.

    ``half_life`` is a duration (``"7d"``, needs journeys with ``touch_times``)
    or an integer number of touches (works on any path table).

    >>> from custlab.attribution.paths import path_table
    >>> time_decay(path_table(pl.DataFrame({"path": ["a > b"], "conversions": [3]})), half_life=1).rows()
    [('b', 2.0, 0.0), ('a', 1.0, 0.0)]
    """
    touches = _exploded(paths)
    if isinstance(half_life, int) and not isinstance(half_life, bool):
        if half_life < 1:
            raise CustlabError(f"half_life in touches must be at least 1, got {half_life}.")
        age = (pl.col("length") - 1 - pl.col("position")).cast(pl.Float64) / half_life
    else:
        window = parse_within(half_life, "half_life")
        if "touch_times" not in touches.columns:
            raise CustlabError(
                "a half_life in time needs journeys with touch times (custlab.attribution.journeys); for a path "
                "table give half_life as a number of touches, e.g. half_life=2."
            )
        age = (pl.col("conversion_time") - pl.col("touch_times")).dt.total_microseconds().cast(pl.Float64) / (
            window.total_seconds() * 1e6)
    return _credit(touches, pl.lit(2.0).pow(-age))


def heuristic_credit(paths: pl.DataFrame, model: str, *, half_life: str | int | dt.timedelta = "7d",
                     weights: tuple[float, float, float] = (0.4, 0.2, 0.4)) -> pl.DataFrame:
    """The credit table of one rule by name (one of :data:`HEURISTICS`)."""
    if model == "first_touch":
        return first_touch(paths)
    if model == "last_touch":
        return last_touch(paths)
    if model == "linear":
        return linear(paths)
    if model == "position_based":
        return position_based(paths, weights=weights)
    if model == "time_decay":
        return time_decay(paths, half_life=half_life)
    raise CustlabError(f"unknown attribution rule {model!r}; choose from {HEURISTICS}.")
