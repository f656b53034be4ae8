"""The pieces a report section is made of: sentences, tables, charts, findings, tiles, actions.

Everything here is language-neutral: sentences are :class:`~custlab.report.text.Text`
(a template key and typed fields), tables hold canonical column names and the
English values the library produces, and a chart is a function of the
language that draws a fresh Figure. :mod:`custlab.report.html` turns them into
HTML for one language; :mod:`custlab.report.figures` assembles them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from custlab.exceptions import CustlabError
from custlab.report.text import Text

__all__ = ["KPI", "Absent", "Action", "Chart", "Finding", "SectionFigures", "Skipped", "Table"]

#: How a table column is written: see :func:`custlab.report.html.cell_text`.
ColumnFormat = str  # "money" | "count" | "pct" | "pp" | "change" | "num0" | "num1" | "num2" | "num3" | "id" | "date" | "label" | "data" | "items" | "lang"


@dataclass(frozen=True)
class Table:
    """A captioned table: ``frame`` with canonical column names and a format per shown column.

    Columns not in ``formats`` are not shown. Headers are translated with the
    catalogue keys ``report.col.<column>``.
    """

    caption: Text
    frame: pl.DataFrame = field(repr=False)
    formats: Mapping[str, ColumnFormat]
    note: Text | None = None
    top_n: int = 12
    #: The export (a path under ``exports/``) holding every row, named when rows beyond ``top_n`` are left out.
    export: str | None = None


@dataclass(frozen=True)
class Chart:
    """A chart: ``draw(language)`` returns a new matplotlib Figure; ``title`` states the finding."""

    key: str
    title: Text
    draw: Callable[[str], Any]
    height: float = 4.2


@dataclass(frozen=True)
class Finding:
    """One sentence worth the first screen, with the money at stake that ranks it."""

    text: Text
    money: float
    section: str


@dataclass(frozen=True)
class KPI:
    """A tile of the first screen: this month's value, last month's and the same month a year ago."""

    key: str
    value: float | None
    kind: str  # "money" | "count" | "pct"
    previous: float | None = None
    year_ago: float | None = None
    up_is_good: bool = True
    note: Text | None = None

    @staticmethod
    def change(now: float | None, before: float | None, kind: str) -> float | None:
        """Relative change (percentage-point difference for shares); None when not comparable."""
        if now is None or before is None:
            return None
        if kind == "pct":
            return now - before
        return (now - before) / before if before else None


@dataclass(frozen=True)
class Action:
    """A recommended action with its customers, expected impact and the figure that triggered it."""

    key: str
    customers: int
    p_alive: float
    value: float
    response_rate: float
    trigger: Text
    export: str | None = None

    @property
    def impact(self) -> float:
        """customers x P(alive) x expected value x response rate."""
        return self.customers * self.p_alive * self.value * self.response_rate


@dataclass(frozen=True)
class SectionFigures:
    """Everything one section shows, and the numbers it contributes to ``key_figures.json``."""

    key: str
    paragraphs: tuple[Text, ...] = ()
    tables: tuple[Table, ...] = ()
    charts: tuple[Chart, ...] = ()
    values: Mapping[str, Any] = field(default_factory=dict, repr=False)
    findings: tuple[Finding, ...] = ()
    exports: Mapping[str, pl.DataFrame] = field(default_factory=dict, repr=False)
    actions: tuple[Action, ...] = ()
    notes: tuple[Text, ...] = ()  # smaller print under the section: caveats, definitions


@dataclass(frozen=True)
class Skipped:
    """A section that did not render: the data lack what it needs (``absent``) or it failed (``failed``)."""

    section: str
    kind: str
    reason: Mapping[str, str]
    fix: Mapping[str, str]
    error: str = ""


class Absent(CustlabError):
    """Raised by a section whose input is not in the data; carries the catalogue keys of reason and fix."""

    def __init__(self, reason: Text, fix: Text) -> None:
        super().__init__(reason.key)
        self.reason = reason
        self.fix = fix
