"""Which paths convert better: conversion rate per path, and one path against another with an interval.

A path's conversion rate is its converting journeys over all its journeys
(converting + non-converting), so these figures need the non-converting
journeys too. Intervals are Wilson intervals for a rate, and for a comparison
Newcombe's interval of the difference and the Katz interval of the ratio
(:mod:`custlab.campaigns.stats`). The journeys of a path are not randomised:
a better-converting path may simply be taken by customers who were going to
buy anyway, so a comparison describes, it does not prove.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import polars as pl

from custlab._i18n import t
from custlab._types import Language
from custlab.attribution.paths import PATH_COLUMNS, collapse_repeats, path_table
from custlab.campaigns.stats import Comparison, compare_rates, wilson_interval, z_value
from custlab.exceptions import CustlabError

__all__ = ["PathComparison", "compare_paths", "path_conversion"]

Match = Literal["exact", "contains", "starts", "ends"]
SEP = " > "


def _table(data: pl.DataFrame) -> pl.DataFrame:
    normalised = set(PATH_COLUMNS) <= set(data.columns) and isinstance(data.schema["path"], pl.List)
    return data if normalised and "converted" not in data.columns else path_table(data)


def _pattern(path: str | Sequence[str]) -> list[str]:
    parts = [p.strip() for p in path.split(">")] if isinstance(path, str) else [str(p) for p in path]
    if not parts or any(not p for p in parts):
        raise CustlabError(f"a path must name at least one channel, such as 'live_stream > mini_program'; got {path!r}.")
    return parts


def _matches(path: list[str], pattern: list[str], match: str) -> bool:
    p = collapse_repeats(path)
    if match == "exact":
        return p == pattern
    if match == "starts":
        return p[: len(pattern)] == pattern
    if match == "ends":
        return p[-len(pattern):] == pattern
    it = iter(p)  # "contains": the pattern's channels in this order, other touches allowed between them
    return all(ch in it for ch in pattern)


def path_conversion(data: pl.DataFrame, *, top_n: int = 10, ci: float = 0.95, min_journeys: int = 1) -> pl.DataFrame:
    """Conversion rate of each distinct path (repeats collapsed) with its Wilson interval, most journeys first.

    Returns ``path`` (String, ``"a > b"``), ``journeys``, ``conversions``
    (Float64), ``conversion_rate``, ``ci_low``, ``ci_high`` and
    ``value_per_journey`` for the ``top_n`` paths with at least ``min_journeys``.

    >>> data = pl.DataFrame({"path": ["a > b", "a > a > b", "b"], "conversions": [3, 1, 1], "nulls": [5, 1, 9]})
    >>> path_conversion(data).select("path", "journeys", "conversion_rate").rows()
    [('a > b', 10.0, 0.4), ('b', 10.0, 0.1)]
    """
    table = _table(data).with_columns(
        pl.col("path").map_elements(lambda p: SEP.join(collapse_repeats(list(p))), return_dtype=pl.String))
    grouped = (
        table.group_by("path")
        .agg(pl.col("conversions").sum(), (pl.col("conversions") + pl.col("nulls")).sum().alias("journeys"),
             pl.col("value").sum())
        .filter(pl.col("journeys") >= max(min_journeys, 1))
        .sort("journeys", "path", descending=[True, False])
        .head(top_n)
    )
    z = z_value(ci)
    bounds = [wilson_interval(c, n, z) for c, n in grouped.select("conversions", "journeys").iter_rows()]
    return grouped.select(
        "path", "journeys", "conversions",
        (pl.col("conversions") / pl.col("journeys")).alias("conversion_rate"),
        pl.Series("ci_low", [b[0] for b in bounds], dtype=pl.Float64),
        pl.Series("ci_high", [b[1] for b in bounds], dtype=pl.Float64),
        (pl.col("value") / pl.col("journeys")).alias("value_per_journey"),
    )


@dataclass(frozen=True)
class PathComparison:
    """Path ``a`` against path ``b``: their conversion rates, the difference and the ratio with intervals."""

    a: str
    b: str
    match: str
    journeys_a: int
    journeys_b: int
    result: Comparison
    ci: float

    def to_frame(self) -> pl.DataFrame:
        """One row: paths, journeys, rates, ``abs_diff`` and ``rel_diff`` with intervals, ``p_value``."""
        r = self.result
        return pl.DataFrame([{
            "path_a": self.a, "path_b": self.b, "journeys_a": self.journeys_a, "journeys_b": self.journeys_b,
            "rate_a": r.level, "rate_b": r.control_level, "abs_diff": r.abs_lift, "ci_low": r.ci_low,
            "ci_high": r.ci_high, "rel_diff": r.rel_lift, "rel_ci_low": r.rel_ci_low, "rel_ci_high": r.rel_ci_high,
            "p_value": r.p_value,
        }], schema_overrides={c: pl.Float64 for c in ("rel_diff", "rel_ci_low", "rel_ci_high")})

    def describe(self, language: Language = "en") -> str:
        """One plain sentence: how much better (or worse) ``a`` converts than ``b``, with the interval."""
        r = self.result
        level = f"{self.ci:.0%}"
        if r.rel_lift is None:
            return t("attribution.compare.no_base", language, a=self.a, b=self.b, rate_a=f"{r.level:.1%}",
                     n_b=f"{self.journeys_b:,}")
        key = "attribution.compare.better" if r.rel_lift >= 0 else "attribution.compare.worse"
        sentence = t(key, language, a=self.a, b=self.b, rel=f"{abs(r.rel_lift):.0%}", rate_a=f"{r.level:.1%}",
                     rate_b=f"{r.control_level:.1%}", level=level, low=f"{r.rel_ci_low:+.0%}",
                     high=f"{r.rel_ci_high:+.0%}", n_a=f"{self.journeys_a:,}", n_b=f"{self.journeys_b:,}")
        if r.ci_low <= 0 <= r.ci_high:
            sentence += " " + t("attribution.compare.unclear", language)
        return sentence + " " + t("attribution.compare.caveat", language)

    def __repr__(self) -> str:
        return f"PathComparison({self.describe()!r})"


def compare_paths(data: pl.DataFrame, a: str | Sequence[str], b: str | Sequence[str], *, match: Match = "exact",
                  ci: float = 0.95) -> PathComparison:
    """Does path ``a`` convert better than path ``b``? Rates, difference and ratio with intervals.

    Parameters
    ----------
    data
        Journeys (:func:`custlab.attribution.journeys`) or a path table with non-converting counts.
    a, b
        Paths as text (``"live_stream > mini_program"``) or lists of channels.
    match
        ``"exact"`` (the whole path, repeats collapsed), ``"contains"`` (the
        channels in this order, other touches allowed between), ``"starts"``
        or ``"ends"``.
    ci
        Confidence level.

    Examples
    --------
    >>> data = pl.DataFrame({"path": ["live > mini", "ads > app"], "conversions": [250, 200], "nulls": [750, 800]})
    >>> compare_paths(data, "live > mini", "ads > app").describe()[:60]
    'Journeys live > mini convert 25% better than ads > app (25.0'
    """
    if match not in ("exact", "contains", "starts", "ends"):
        raise CustlabError(f"match must be 'exact', 'contains', 'starts' or 'ends', got {match!r}.")
    pa, pb = _pattern(a), _pattern(b)
    table = _table(data)
    counts = {}
    for name, pattern in (("a", pa), ("b", pb)):
        rows = [(c, u) for p, c, u in table.select("path", "conversions", "nulls").iter_rows()
                if _matches(list(p), pattern, match)]
        conv, journeys = sum(r[0] for r in rows), sum(r[0] + r[1] for r in rows)
        if journeys == 0:
            raise CustlabError(f"no journey matches path {SEP.join(pattern)!r} ({match}); check the channel names "
                               f"(the paths hold e.g. {SEP.join(table['path'][0])!r}).")
        counts[name] = (conv, journeys)
    result = compare_rates(counts["a"][0], counts["a"][1], counts["b"][0], counts["b"][1], ci=ci)
    return PathComparison(SEP.join(pa), SEP.join(pb), match, int(counts["a"][1]), int(counts["b"][1]), result, ci)
