"""The monthly report as one self-contained HTML page, written directly (no Markdown, no templates).

:func:`render_html` turns a :class:`~custlab.report.figures.MonthlyFigures` into
a page that needs no network: styles inline, charts as inline PNG, the Chinese
glyphs it uses embedded as a WOFF2 subset (:mod:`custlab.report.fonts`). Every
piece of text -- the library's sentences and every value from the data
(product names, categories, channels, file names, review text) -- goes through
:func:`html.escape` on its way in, and a Content-Security-Policy forbids
scripts, so a product called ``<script>...`` is shown, never run.

The page reads top-down the way a manager asks: the month and its KPI tiles
(with the change against last month and the same month last year), the
findings ranked by money at stake, a table of contents, then the sections in
:attr:`MonthlyFigures.sections` order, with methods and data quality last and
collapsed. Charts are drawn here, at render time, in the page's language,
without pyplot.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import io
import math
import re
import weakref
from collections.abc import Mapping
from concurrent.futures import Future
from importlib import resources
from typing import TYPE_CHECKING, Any

import polars as pl

from custlab._i18n import check_language, t
from custlab.report import text as tx
from custlab.report.fonts import FONT_FAMILY, font_face_css
from custlab.report.parts import KPI, Chart, SectionFigures, Skipped, Table

if TYPE_CHECKING:
    from custlab.report.figures import MonthlyFigures

__all__ = ["cell_text", "chart_png", "draw_later", "draw_png", "render_html", "section_html", "table_html"]

_HTML_LANG = {"en": "en", "zh": "zh-CN"}
_LATIN_STACK = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans"'
_NUMERIC_FORMATS = {"money", "count", "pct", "pp", "change", "num0", "num1", "num2", "num3", "sig3", "days"}


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _css() -> str:
    return (resources.files("custlab.report") / "assets" / "report.css").read_text(encoding="utf-8")


# -- cells and tables ------------------------------------------------------------------------------------
def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def cell_text(value: Any, fmt: str, language: str = "en", currency: str | None = None) -> str:
    """One table cell as plain text; missing values are a dash, never "nan" or "None".

    >>> cell_text(1234.5, "money", "en", "GBP"), cell_text(234.5, "money", "en", "GBP"), cell_text(12346.0, "id")
    ('£1,235', '£234.50', '12346')
    >>> cell_text(float("nan"), "num1"), cell_text(["A", "B"], "items"), cell_text({"en": "a", "zh": "甲"}, "lang", "zh")
    ('–', 'A + B', '甲')
    """
    if _missing(value):
        return "–"
    if fmt == "money":
        return tx.fmt_money(value, currency, language, compact=False, decimals=2 if abs(value) < 1000 else 0)
    if fmt == "count":
        return tx.fmt_count(value, language)
    if fmt == "pct":  # under 1%, two significant digits: "0.1%" for 0.064% broke a row's product (Olist's win-back)
        return tx.fmt_share(value, language)  # as the sentences write it
    if fmt == "pp":
        return tx.fmt_pp(value, language)
    if fmt == "change":
        return tx.fmt_change(value, language)
    if fmt in {"num0", "num1", "num2", "num3"}:
        return tx.fmt_num(value, int(fmt[-1]), language)
    if fmt == "sig3":  # three significant digits: errors of 0.00123 and 0.00134 are not both "0.001"
        return tx.fmt_sig(value, 3, language)
    if fmt == "days":
        return tx.fmt_num(value, 0, language)
    if fmt == "month":
        return tx.fmt_month(value, language, short=True) if isinstance(value, (dt.date, dt.datetime)) else str(value)
    if fmt == "date":
        return tx.fmt_date(value, language) if isinstance(value, (dt.date, dt.datetime)) else str(value)
    if fmt == "id":
        return tx.fmt_id(value)
    if fmt == "label":
        return tx.tr(value, language)
    if fmt == "lang":  # text a library wrote in each language: {"en": ..., "zh": ...}
        return str(value.get(language) or value.get("en") or "") if isinstance(value, Mapping) else str(value)
    if fmt == "items":
        return " + ".join(tx.fmt_id(v) for v in value) if isinstance(value, (list, tuple, pl.Series)) else str(value)
    return tx.fmt_id(value)


def table_html(table: Table, *, language: str = "en", currency: str | None = None) -> str:
    """A report table as escaped HTML with translated headers and formatted cells."""
    columns = [c for c in table.formats if c in table.frame.columns]
    shown = table.frame.head(table.top_n).select(columns)
    numeric = {c for c in columns if table.formats[c] in _NUMERIC_FORMATS}
    align = {c: ' class="num"' if c in numeric else "" for c in columns}
    head = "".join(f'<th scope="col"{align[c]}>{_e(t(f"report.col.{c}", language))}</th>' for c in columns)
    rows = []
    for row in shown.iter_rows():
        cells = "".join(
            f'<td{align[c]}>{_e(cell_text(v, table.formats[c], language, currency))}</td>'
            for c, v in zip(columns, row)
        )
        rows.append(f"<tr>{cells}</tr>")
    caption = f"<caption>{_e(tx.render(table.caption, language, currency))}</caption>"
    more = ""
    if table.frame.height > table.top_n:
        n = tx.fmt_count(table.frame.height - table.top_n)
        text = (t("report.more_rows", language, n=n, file=f"exports/{table.export}") if table.export
                else t("report.more_rows_hidden", language, n=n))
        more = f'<p class="more">{_e(text)}</p>'
    note = f'<p class="note">{_e(tx.render(table.note, language, currency))}</p>' if table.note else ""
    return (f'<div class="table-wrap"><table>{caption}<thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>{more}{note}')


# -- charts ----------------------------------------------------------------------------------------------
def _chart_rc(language: str) -> dict[str, Any]:
    from cycler import cycler

    from custlab._plotting import PALETTE, find_cjk_font

    rc = {
        "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "grid.color": "#e3e5ea",
        "axes.axisbelow": True, "axes.titlesize": 12, "axes.labelsize": 11, "xtick.labelsize": 10,
        "ytick.labelsize": 10, "legend.fontsize": 10, "legend.frameon": False, "font.family": "sans-serif",
        "axes.prop_cycle": cycler(color=list(PALETTE)),
    }
    family = find_cjk_font()
    if family is not None:  # Chinese labels, and Chinese data values in English reports
        import matplotlib as mpl

        rc["font.sans-serif"] = [family, *mpl.rcParams["font.sans-serif"]] if language == "zh" else [
            *mpl.rcParams["font.sans-serif"], family]
        rc["axes.unicode_minus"] = False
    return rc


#: Resolution of the charts: 960 pixels across a 10-inch chart, the page's width.
CHART_DPI = 96
#: PNGs already drawn, per chart and language: a notebook that shows the sections and then writes the
#: page draws each chart once.
_PNG_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def chart_png(chart: Chart, *, language: str = "en", width: float = 10.0) -> str:
    """Draw ``chart`` in ``language`` (without pyplot, in a local rc context) and return PNG bytes, base64.

    The result is cached per chart and language for as long as the chart lives.
    In a ``custlab report`` kernel the chart was usually drawn already, by the
    helper process of :mod:`custlab.report.helper`, while the report went on
    computing; whatever the helper has not drawn is drawn here.
    """
    from custlab.report import helper

    cached = _PNG_CACHE.setdefault(chart, {})
    key = (language, width)
    value = cached.get(key)
    if isinstance(value, Future):
        value = helper.outcome(value)
    if not isinstance(value, str):
        value = draw_png(chart, language, width)
    cached[key] = value
    return value


def draw_later(chart: Chart, *, language: str, width: float = 10.0) -> None:
    """Have the report's helper process (when one runs) draw ``chart`` now, for :func:`chart_png` to take later."""
    from custlab.report import helper

    cached = _PNG_CACHE.setdefault(chart, {})
    key = (language, width)
    if key not in cached:
        future = helper.draw_later(chart, language, width)
        if future is not None:
            cached[key] = future


def draw_png(chart: Chart, language: str, width: float) -> str:
    """``chart`` drawn in ``language`` at ``width`` inches (without pyplot, in a local rc context): PNG, base64."""
    import matplotlib as mpl

    with mpl.rc_context(_chart_rc(language)):
        fig = chart.draw(language)
        if len(fig.axes) == 1 or all(not ax.get_title() for ax in fig.axes[1:]):
            fig.axes[0].set_title("")  # the page states the finding above the chart
        fig.set_size_inches(width, chart.height)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=CHART_DPI, bbox_inches="tight", facecolor="white")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _chart_html(chart: Chart, language: str, currency: str | None) -> str:
    title = tx.render(chart.title, language, currency)
    data = chart_png(chart, language=language)
    return (f'<figure class="chart" id="chart-{_e(chart.key)}"><h3 class="chart-title">{_e(title)}</h3>'
            f'<img src="data:image/png;base64,{data}" alt="{_e(title)}"></figure>')


# -- sections --------------------------------------------------------------------------------------------
def _section_title(key: str, language: str) -> str:
    return t(f"report.section.{key}", language)


def _section_body(part: SectionFigures, language: str, currency: str | None) -> str:
    out = [f"<p>{_e(tx.render(p, language, currency))}</p>" for p in part.paragraphs]
    out += [_chart_html(c, language, currency) for c in part.charts]
    small = [tb for tb in part.tables if len(tb.formats) <= 4 and tb.top_n <= 12]
    if len(small) >= 2:  # narrow tables side by side
        out.append('<div class="table-grid">' + "".join(table_html(tb, language=language, currency=currency)
                                                       for tb in small) + "</div>")
    out += [table_html(tb, language=language, currency=currency) for tb in part.tables
            if not (len(small) >= 2 and tb in small)]
    out += [f'<p class="note">{_e(tx.render(n, language, currency))}</p>' for n in part.notes]
    return "\n".join(out)


def _failed_html(skip: Skipped, language: str) -> str:
    return (f'<div class="failed"><p>{_e(skip.reason.get(language) or skip.reason["en"])}</p>'
            f'<p>{_e(skip.fix.get(language) or skip.fix["en"])}</p></div>')


def _section(figures: MonthlyFigures, key: str, number: int, language: str) -> str:
    currency = figures.currency
    heading = f"{number}. {_section_title(key, language)}"
    failed = {s.section: s for s in figures.skipped if s.kind == "failed"}
    body = _failed_html(failed[key], language) if key in failed else _section_body(figures.parts[key], language, currency)
    if key == "methods":
        return (f'<section id="sec-{key}"><details class="methods"><summary><h2>{_e(heading)}</h2></summary>'
                f"{body}</details></section>")
    return f'<section id="sec-{key}"><h2>{_e(heading)}</h2>\n{body}</section>'


def section_html(figures: MonthlyFigures, key: str, *, language: str = "en") -> str:
    """One section of the report (with the report's styles), for display in a notebook.

    ``key`` is one of ``figures.sections`` or ``"overview"`` (the KPI tiles and findings).
    """
    check_language(language)
    from custlab.report.figures import SECTIONS

    absent = {s.section: s for s in figures.skipped if s.kind == "absent"}
    if key == "overview":
        body = _overview(figures, language)
    elif key in figures.sections:
        body = _section(figures, key, figures.sections.index(key) + 1, language)
    elif key in absent:
        skip = absent[key]
        body = (f'<section id="sec-{_e(key)}"><h2>{_e(_section_title(key, language))}</h2>'
                f'<p>{_e(skip.reason.get(language) or skip.reason["en"])} {_e(skip.fix.get(language) or skip.fix["en"])}'
                "</p></section>")
    else:
        known = ", ".join(("overview", *(k for k, _ in SECTIONS)))
        raise KeyError(f"section {key!r} is not a report section; sections: {known}.")
    stack = f"{_LATIN_STACK}, \"{FONT_FAMILY}\", sans-serif"
    return f'<div class="custlab-report"><style>:root{{--font-stack:{stack};}}{_css()}</style>{body}</div>'


# -- first screen ----------------------------------------------------------------------------------------
def _comparison(kpi: KPI, before: float | None, against: str, language: str, currency: str | None) -> str:
    change = KPI.change(kpi.value, before, kpi.kind)
    if change is None:
        return ""
    text = tx.fmt_pp(change, language) if kpi.kind == "pct" else tx.fmt_change(change, language)
    flat = text.lstrip("+-").rstrip("%").replace("pp", "").replace(t("report.unit.pp", language), "").strip()
    if not flat.strip("0.,"):
        css, arrow = "flat", "▶"
    else:
        css = "good" if (change > 0) == kpi.up_is_good else "bad"
        arrow = "▲" if change > 0 else "▼"
    said = t("report.kpi.versus", language, change=text, against=against)
    return f'<p class="cmp {css}"><span aria-hidden="true">{arrow}</span> {_e(said)}</p>'


def _tile(kpi: KPI, figures: MonthlyFigures, language: str) -> str:
    currency = figures.currency
    if kpi.kind == "money":
        value = tx.fmt_money(kpi.value, currency, language)
    elif kpi.kind == "pct":
        value = tx.fmt_pct(kpi.value, language)
    else:
        value = tx.fmt_count(kpi.value, language)
    month = figures.month
    from custlab.report.months import previous_month, same_month_last_year

    start = month.start.date()
    rows = [
        _comparison(kpi, kpi.previous, tx.fmt_month(previous_month(start), language, short=True), language, currency),
        _comparison(kpi, kpi.year_ago, tx.fmt_month(same_month_last_year(start), language, short=True), language, currency),
    ]
    # the CLV is compared with last month's report (its key_figures.json), not with the data: say which is missing
    missing = "report.kpi.clv_no_comparison" if kpi.key == "clv_total" else "report.kpi.no_comparison"
    rows = [r for r in rows if r] or [f'<p class="cmp na">{_e(t(missing, language))}</p>']
    note = f'<p class="cmp na">{_e(tx.render(kpi.note, language, currency))}</p>' if kpi.note else ""
    return (f'<div class="tile" id="kpi-{_e(kpi.key)}"><div class="label">{_e(t(f"report.kpi.{kpi.key}", language))}</div>'
            f'<div class="value">{_e(value)}</div>{"".join(rows)}{note}</div>')


def _overview(figures: MonthlyFigures, language: str) -> str:
    currency = figures.currency
    tiles = "".join(_tile(k, figures, language) for k in figures.kpis)
    findings = "".join(f"<li>{_e(tx.render(f.text, language, currency))}</li>" for f in figures.findings)
    out = [f'<section id="overview"><div class="tiles">{tiles}</div>']
    if findings:
        out.append(f'<h2 class="findings-title">{_e(t("report.findings_title", language))}</h2>'
                   f'<ol class="findings">{findings}</ol>')
    out.append("</section>")
    return "".join(out)


def _masthead(figures: MonthlyFigures, language: str) -> str:
    month = figures.month
    title = t("report.title", language, month=tx.fmt_month(month.month, language))
    meta = [tx.render(line, language, figures.currency) for line in figures.masthead]
    banner = ""
    if month.partial:
        banner = f'<p class="banner">{_e(tx.render(figures.partial_note, language, figures.currency))}</p>'
    lines = "".join(f'<p class="meta">{_e(m)}</p>' for m in meta)
    return f'<header class="masthead"><h1>{_e(title)}</h1>{lines}</header>{banner}'


def _toc(figures: MonthlyFigures, language: str) -> str:
    items = "".join(
        f'<li><a href="#sec-{_e(key)}">{_e(_section_title(key, language))}</a></li>' for key in figures.sections
    )
    return f'<nav class="toc" aria-label="toc"><h2>{_e(t("report.toc", language))}</h2><ol>{items}</ol></nav>'


def _footer(figures: MonthlyFigures, run_info: Mapping[str, object] | None, language: str) -> str:
    info = dict(run_info or {})
    rows: list[tuple[str, str]] = []
    if info.get("version"):
        rows.append((t("report.footer.version", language), f"custlab {info['version']}"))
    source = figures.source
    rows.append((t("report.footer.data", language), tx.render_value(figures.source_name or source.get("name", ""),
                                                                     language)))
    fingerprint = info.get("fingerprint") or source.get("fingerprint")
    if fingerprint:
        rows.append((t("report.footer.fingerprint", language), str(fingerprint)))
    params = info.get("parameters")
    if isinstance(params, Mapping) and params:
        rows.append((t("report.footer.parameters", language),
                     "; ".join(f"{k} = {v}" for k, v in params.items())))
    if info.get("run_time"):
        when = info["run_time"]
        rows.append((t("report.footer.run_time", language),
                     when.isoformat(sep=" ", timespec="seconds") if isinstance(when, dt.datetime) else str(when)))
    if info.get("duration_s") is not None:
        rows.append((t("report.footer.duration", language), f"{float(info['duration_s']):.1f} s"))
    body = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in rows)
    return f"<footer><dl>{body}</dl></footer>"


def _visible_text(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r'src="data:[^"]*"', "", markup)))


def render_html(figures: MonthlyFigures, *, language: str = "en", run_info: Mapping[str, object] | None = None) -> str:
    """The whole report as a self-contained HTML document (no scripts, no network).

    Parameters
    ----------
    figures
        The month's figures from :func:`custlab.report.figures.compute_month`.
    language
        ``"en"`` or ``"zh"``; the figures are language-neutral, so either works.
    run_info
        Shown in the footer when present: ``version``, ``parameters`` (a
        mapping), ``fingerprint`` (of the data file), ``run_time``, ``duration_s``.
    """
    check_language(language)
    sections = "\n".join(_section(figures, key, i, language) for i, key in enumerate(figures.sections, start=1))
    body = (f'<div class="page">{_masthead(figures, language)}{_overview(figures, language)}{_toc(figures, language)}'
            f"<main>{sections}</main>{_footer(figures, run_info, language)}</div>")
    title = t("report.title", language, month=tx.fmt_month(figures.month.month, language))
    name = tx.render_value(figures.source_name or figures.source.get("name", ""), language)
    page_title = f"{title} · {name}" if name else title
    visible = _visible_text(body) + page_title
    font_css = font_face_css(visible, all_characters=language == "zh")
    first = f'"{FONT_FAMILY}", ' if language == "zh" and font_css else ""
    stack = f"{first}{_LATIN_STACK}, \"{FONT_FAMILY}\", sans-serif"
    style = f":root{{--font-stack:{stack};}}\n{font_css}\n{_css()}"
    digest = base64.b64encode(hashlib.sha256(style.encode("utf-8")).digest()).decode("ascii")
    policy = (f"default-src 'none'; style-src 'sha256-{digest}'; img-src data:; font-src data:; "
              "script-src 'none'; base-uri 'none'; form-action 'none'")
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{_HTML_LANG[language]}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(policy)}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="custlab">\n'
        f"<title>{_e(page_title)}</title>\n<style>{style}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )
