"""Tables shown to a reader: a polars frame as a plain HTML table, without dtypes, quotes or scientific notation.

The data-quality page (``custlab quality``) is its notebook with the code
hidden; a polars frame displayed there shows its dtype row, strings in quotes,
``null`` and ``1.4739e6``. :func:`show` wraps a frame for display: integers
with thousands separators, shares (columns named ``share`` or ``*_share``) as
percentages, other numbers with two decimals, dates without seconds, missing
values as a dash, every value escaped. In a notebook the frame itself stays one
attribute away (``.frame``).
"""

from __future__ import annotations

import datetime as dt
import html
import math

import polars as pl

__all__ = ["Shown", "cell_text", "show"]

#: How a missing value is shown.
MISSING = "–"


def _is_share(column: str) -> bool:
    return column == "share" or column.endswith("_share")


def cell_text(value: object, column: str = "") -> str:
    """One value as the reader sees it (see the module's rules).

    >>> [cell_text(v) for v in (1473900, 0.5, None, True, "C538164", dt.datetime(2010, 12, 9, 20, 1))]
    ['1,473,900', '0.50', '–', 'yes', 'C538164', '2010-12-09 20:01']
    >>> [cell_text(v, "null_share") for v in (0.200654, 0.0, 0.00004, 1.0, 0.99996, 0.9999999, -0.00003)]
    ['20.07%', '0%', '<0.01%', '100%', '99.996%', '>99.99%', '>-0.01%']
    >>> cell_text(0.0012), cell_text(-1234.5)
    ('0.0012', '-1,234.50')
    """
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return MISSING
        if _is_share(column):
            return _share(value)
        if value != 0 and abs(value) < 0.01:  # 0.0012, not 0.00
            return f"{value:.2g}"
        return f"{value:,.2f}"
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M}" if value.second == 0 and value.microsecond == 0 else f"{value:%Y-%m-%d %H:%M:%S}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _share(value: float) -> str:
    """A share that reads 0% or 100% only when it is exactly so (a column with a few values left is not "100%
    null"), small ones with their sign."""
    if value in (0.0, 1.0):
        return f"{value:.0%}"
    if 0 < abs(value) < 0.0001:
        return "<0.01%" if value > 0 else ">-0.01%"
    for decimals in (2, 3, 4):
        text = f"{value:.{decimals}%}"
        if not text.startswith(("100.", "-100.")) or abs(value) > 1:
            return text
    return ">99.99%" if value > 0 else "<-99.99%"


def _header(column: str) -> str:
    text = column.replace("_", " ")
    return text[:1].upper() + text[1:]


class Shown:
    """A frame wrapped for display: ``_repr_html_`` gives the reader's table, ``frame`` the data."""

    def __init__(self, frame: pl.DataFrame, caption: str | None = None) -> None:
        self.frame = frame
        self.caption = caption

    def _repr_html_(self) -> str:
        columns = self.frame.columns
        numeric = {c for c, d in self.frame.schema.items() if d.is_numeric()}
        style = ' style="text-align:right"'
        head = "".join(f"<th{style if c in numeric else ''}>{html.escape(_header(c))}</th>" for c in columns)
        rows = "".join(
            "<tr>" + "".join(f"<td{style if c in numeric else ''}>{html.escape(cell_text(v, c))}</td>"
                             for c, v in zip(columns, row, strict=True)) + "</tr>"
            for row in self.frame.iter_rows())
        caption = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"

    def __repr__(self) -> str:
        return repr(self.frame)


def show(frame: pl.DataFrame | pl.LazyFrame, caption: str | None = None) -> Shown:
    """``frame`` (collected if lazy) for display to a reader: see the module's rules.

    >>> shown = show(pl.DataFrame({"reason": ["missing_customer"], "rows": [105436], "share": [0.200654],
    ...                            "amount": [1473900.5]}))
    >>> page = shown._repr_html_()
    >>> [text in page for text in ("<th>Reason</th>", ">105,436<", ">20.07%<", ">1,473,900.50<", "e6")]
    [True, True, True, True, False]
    """
    return Shown(frame.collect() if isinstance(frame, pl.LazyFrame) else frame, caption)
