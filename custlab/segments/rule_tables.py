"""Rule tables: first-match segments over RFM scores, their coverage, and the assignment.

Two tables ship: the ten segments of the R ``rfm`` package (``"rfm"``) and the
value tiers of the operations documents (``"value_tiers"``). Every customer
lands in exactly one segment; cells no rule covers go to a named catch-all
("Others" / "其他"). :func:`rule_coverage` shows, for each of the 125 score
cells, which rules match and which wins, and refuses gaps or overlaps when
asked to.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import polars as pl

from custlab._i18n import check_language, label, t, translate_values
from custlab._types import Language
from custlab.data.schema import check_frame
from custlab.exceptions import CustlabError, EmptyDataError, SchemaError
from custlab.segments.scores import SCORE_COLUMNS, rfm_scores

__all__ = [
    "RFM_REACHABLE", "RULE_TABLES", "R_RFM_SEGMENTS", "VALUE_TIERS", "rfm_segments", "rule_coverage",
    "value_tier_rules",
]

_SAMPLE = 5

#: A rule table as the functions accept it: a built-in name, a DataFrame, or a list of dicts.
RuleSpec = str | pl.DataFrame | Sequence[Mapping]
Gaps = Literal["catch_all", "raise"]
Overlaps = Literal["first", "raise"]
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
    """A rule table from (segment, score bounds..., day bounds, value_rank) rows; Chinese labels from the catalogue."""
    schema = {c: dtype for c, dtype in _RULE_SCHEMA.items() if c != "segment_zh"}
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    return frame.insert_column(1, pl.Series("segment_zh", [label(s, "zh") for s in frame["segment"]], pl.String))


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
    ("Champions", 4, 5, 4, 5, 4, 5, None, None, 1),
    ("Loyal Customers", 2, 5, 3, 5, 3, 5, None, None, 2),
    ("Potential Loyalist", 3, 5, 1, 3, 1, 3, None, None, 3),
    ("New Customers", 4, 5, 1, 1, 1, 1, None, None, 4),
    ("Promising", 3, 4, 1, 1, 1, 1, None, None, 5),
    ("Need Attention", 2, 3, 2, 3, 2, 3, None, None, 6),
    ("About To Sleep", 2, 3, 1, 2, 1, 2, None, None, 7),
    ("At Risk", 1, 2, 2, 5, 2, 5, None, None, 8),
    ("Can't Lose Them", 1, 1, 4, 5, 4, 5, None, None, 9),
    ("Lost", 1, 2, 1, 2, 1, 2, None, None, 10),
])

#: ``R_RFM_SEGMENTS`` with "New Customers" and "Promising" checked before "Potential Loyalist",
#: and "Can't Lose Them" before "At Risk".
RFM_REACHABLE = R_RFM_SEGMENTS[[0, 1, 3, 4, 2, 5, 6, 8, 7, 9]]


def value_tier_rules(*, dormant_days: int = 60) -> pl.DataFrame:
    """The value tiers of the operations documents, as a first-match rule table gated by recency.

    Recency gates every tier: the three active tiers hold only customers
    who bought within ``dormant_days`` (``recency < dormant_days``), the two
    lapsed tiers only those silent for ``dormant_days`` or more. In order:

    1. High value / 高价值客户: recent, and in the top fifth both for
       number of orders and for revenue (F score 5 and M score 5) -- the
       documents' "recent, frequent and high-spending".
    2. Can't lose them / 重要挽回客户: the same top fifth on orders and
       revenue, but silent for ``dormant_days`` or more: lapsed big
       spenders, to be won back personally.
    3. Dormant / 沉睡客户: every other customer silent for ``dormant_days``
       or more.
    4. Potential / 潜力客户: recent, with F score 3-5 or M score 3-5 (above
       the lower two fifths on one dimension: room to grow).
    5. Low value / 低价值客户: recent, F and M scores 1-2.

    Together the rules cover every score cell on both sides of the
    threshold, so the catch-all never occurs. ``value_rank`` (display order,
    and what "moved up" and "slipped" mean in :func:`segment_migration`):
    high value 1, potential 2, low value 3, can't lose them 4, dormant 5.

    Parameters
    ----------
    dormant_days
        Days without a purchase from which a customer has lapsed (60 by
        default).

    Returns
    -------
    polars.DataFrame
        A rule table (see :func:`rule_coverage` for its columns).

    Examples
    --------
    >>> value_tier_rules()["segment"].to_list()
    ['High value', "Can't lose them", 'Dormant', 'Potential', 'Potential', 'Low value']
    >>> value_tier_rules(dormant_days=90).select("recency_days_min", "recency_days_max").rows()[:2]
    [(None, 89), (90, None)]
    """
    if not isinstance(dormant_days, int) or isinstance(dormant_days, bool) or dormant_days < 1:
        raise CustlabError(f"dormant_days must be a positive whole number of days, got {dormant_days!r}.")
    active, lapsed = (None, dormant_days - 1), (dormant_days, None)
    return _rule_frame([
        ("High value", 1, 5, 5, 5, 5, 5, *active, 1),
        ("Can't lose them", 1, 5, 5, 5, 5, 5, *lapsed, 4),
        ("Dormant", 1, 5, 1, 5, 1, 5, *lapsed, 5),
        ("Potential", 1, 5, 3, 5, 1, 5, *active, 2),
        ("Potential", 1, 5, 1, 5, 3, 5, *active, 2),
        ("Low value", 1, 5, 1, 5, 1, 5, *active, 3),
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


def _resolve_rules(rules: RuleSpec, language: Language,
                   catch_all: str | None) -> _Rules:
    check_language(language)
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
    table = table.with_columns(label=_labels(table, language))
    ranks: dict[str, int] = {}
    for name, rank in table.select("label", "value_rank").iter_rows():
        ranks.setdefault(name, rank)
    catch = catch_all if catch_all is not None else t("segments.catch_all", language)
    if catch in ranks:
        raise CustlabError(f"catch_all={catch!r} is also the name of a rule; pick another name for the catch-all.")
    labels = sorted(ranks, key=lambda s: ranks[s])  # stable: ties keep rule order
    ranks[catch] = max(ranks.values()) + 1
    uses_days = bool(table.select(pl.col("recency_days_min").is_not_null().any()
                                  | pl.col("recency_days_max").is_not_null().any()).item())
    return _Rules(table, builtin, [*labels, catch], ranks, catch, uses_days)


def _labels(table: pl.DataFrame, language: Language) -> pl.Series:
    """Segment labels in ``language``: the table's ``segment_<language>`` where given, else the catalogue's."""
    names = table["segment"]
    if language == "en":
        return names
    own = table[f"segment_{language}"] if f"segment_{language}" in table.columns else None
    translated = pl.Series([label(s, language) for s in names], dtype=pl.String)
    return translated if own is None else own.fill_null(translated)


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
        table = table.select([pl.col(c).cast(dtype, strict=True) for c, dtype in _RULE_SCHEMA.items()])
    except pl.exceptions.PolarsError as err:
        raise SchemaError(f"Rule table bounds must be whole numbers: {err}") from None
    table = table.with_row_index("rule").with_columns(
        segment_zh=pl.col("segment_zh").fill_null(translate_values(pl.col("segment"), "zh")),
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
            for name, rl, ru, fl, fu, ml, mu, dmin, dmax in specs:
                if not (rl <= r <= ru and fl <= f <= fu and ml <= m <= mu):
                    continue
                if band is not None:
                    lo, hi = band
                    if dmin is not None and lo < dmin:
                        continue
                    if dmax is not None and (hi is None or hi > dmax):
                        continue
                if name not in matches:
                    matches.append(name)
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


def rule_coverage(rules: RuleSpec = "rfm", *, language: Language = "en", catch_all: str | None = None,
                  gaps: Gaps = "catch_all", overlaps: Overlaps = "first") -> pl.DataFrame:
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


def rfm_segments(scores: pl.DataFrame, *, rules: RuleSpec = "rfm", language: Language = "en",
                 catch_all: str | None = None, gaps: Gaps = "catch_all", overlaps: Overlaps = "first") -> pl.DataFrame:
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
        potential and low value among customers who bought within 60 days,
        can't lose them and dormant among the others, see
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
