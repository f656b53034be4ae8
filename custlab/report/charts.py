"""The report's own charts (trend, ranked bars), drawn without pyplot in custlab's palette.

Charts of an analysis (cohort heatmap, survival curve, funnel, channel ROI)
come from that analysis' ``plot_*`` function; the ones here are the report's
own. Each takes the data and ``language`` and returns a new Figure; the page
puts the title that states the finding above it.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from custlab._i18n import t
from custlab._plotting import PALETTE, figure_axes, new_figure
from custlab.report import text as tx

__all__ = ["bar_chart", "count_axis", "money_axis", "trend_chart"]


def money_axis(ax, currency: str | None, language: str, axis: str = "y") -> None:
    """Write the ticks of ``axis`` as compact money."""
    from matplotlib.ticker import FuncFormatter

    target = ax.yaxis if axis == "y" else ax.xaxis

    def tick(value: float, _) -> str:  # one unit for the whole axis: 0, 50万, 100万 rather than 50,000, 10.0万
        low, high = ax.get_ylim() if axis == "y" else ax.get_xlim()
        top = max(abs(low), abs(high))
        unit, suffix = (1e4, "万") if language == "zh" and top >= 1e5 else (1e6, "M") if top >= 1e6 else (1.0, "")
        scaled = value / unit
        places = next((d for d in (0, 1, 2) if abs(round(scaled, d) - scaled) < 1e-9), 2)
        return tx.fmt_money(scaled, currency, language, compact=False, decimals=places) + (suffix if scaled else "")

    target.set_major_formatter(FuncFormatter(tick))


def count_axis(ax, language: str, axis: str = "y") -> None:
    """Write the ticks of ``axis`` as counts with thousands separators (10,500, not 10500)."""
    from matplotlib.ticker import FuncFormatter

    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(FuncFormatter(lambda v, _: tx.fmt_count(v, language)))


def trend_chart(monthly: pl.DataFrame, *, currency: str | None = None, partial: bool = False, ax=None,
                language: str = "en"):
    """Revenue per month (bars, this month in the accent colour) over new and returning customers (stacked).

    ``monthly`` has ``month`` (Date), ``revenue``, ``new_customers``, ``returning_customers``;
    the last row is the report's month. Two panels: ``ax`` is None (a new figure) or the pair
    ``(revenue axes, customers axes)`` to draw on. Returns the Figure.
    """
    if ax is None:
        fig, (top, bottom) = new_figure(10, 5.6, nrows=2, sharex=True, height_ratios=[3, 2])
    else:
        top, bottom = ax
        fig = top.figure
    months = monthly["month"].to_list()
    x = list(range(len(months)))
    colours = [PALETTE[7]] * (len(x) - 1) + [PALETTE[0]]
    bars = top.bar(x, monthly["revenue"].to_list(), color=colours, width=0.75)
    if partial and bars:
        bars[-1].set_hatch("///")
        bars[-1].set_edgecolor("white")
    top.set_ylabel(t("report.axis.revenue", language))
    money_axis(top, currency, language)
    new = monthly["new_customers"].to_list()
    returning = monthly["returning_customers"].to_list()
    bottom.bar(x, returning, color=PALETTE[0], width=0.75, label=t("report.axis.returning", language))
    bottom.bar(x, new, bottom=returning, color=PALETTE[1], width=0.75, label=t("report.axis.new", language))
    bottom.set_ylabel(t("report.axis.customers", language))
    count_axis(bottom, language)
    tallest = max((r + n for r, n in zip(returning, new, strict=True) if r is not None and n is not None), default=0)
    if tallest > 0:  # room above the bars for the legend (Ta-Feng's first month, all new, ran under it)
        bottom.set_ylim(0, tallest * 1.3)
    bottom.legend(loc="upper left", ncols=2)
    step = max(1, len(x) // (8 if language == "zh" else 12))  # Chinese month names are longer
    bottom.set_xticks(x[::step])
    bottom.set_xticklabels([tx.fmt_month(m, language, short=True) for m in months[::step]], rotation=0)
    if partial and x:
        top.annotate(t("report.axis.partial", language), (x[-1], monthly["revenue"][-1]), ha="center",
                     va="bottom", fontsize=9, xytext=(0, 3), textcoords="offset points")
    return fig


def bar_chart(labels: Sequence[str], values: Sequence[float], *, kind: str = "count", currency: str | None = None,
              xlabel: str = "", highlight: int | None = 0, secondary: Sequence[float] | None = None,
              secondary_label: str = "", ax=None, language: str = "en"):
    """Horizontal bars, largest on top; ``kind`` "money", "count", "pct" or "ratio" (ROI 1:x) formats the labels.

    Draws on ``ax`` (a new figure sized to the labels when None) and returns the Figure.
    """
    n = len(labels)
    height = max(2.2, (0.42 + 0.18 * max((len(str(v)) // 38 for v in labels), default=0)) * n + 1.0)
    fig, ax = figure_axes(ax, figsize=(10, height))
    y = list(range(n))[::-1]
    colours = [PALETTE[0] if i == highlight else PALETTE[7] for i in range(n)]
    ax.barh(y, values, color=colours, height=0.7)
    ax.set_yticks(y)
    ax.set_yticklabels([_wrap(str(v)) for v in labels])
    ax.grid(axis="y", visible=False)
    if kind == "money":
        money_axis(ax, currency, language, axis="x")
        texts = [tx.fmt_money(v, currency, language) for v in values]
    elif kind == "pct":
        from matplotlib.ticker import FuncFormatter

        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: tx.fmt_pct(v, language, 0)))
        texts = [tx.fmt_pct(v, language) for v in values]
    elif kind == "ratio":
        texts = [f"1:{tx.fmt_num(v, 1, language)}" for v in values]
    else:
        count_axis(ax, language, axis="x")
        texts = [tx.fmt_count(v, language) for v in values]
    if secondary is not None:
        texts = [f"{a}  ({secondary_label} {tx.fmt_pct(b, language)})" for a, b in zip(texts, secondary)]
    for yi, value, label in zip(y, values, texts):
        ax.annotate(label, (value, yi), xytext=(4, 0), textcoords="offset points", va="center", fontsize=9)
    ax.set_xlabel(xlabel)
    ax.margins(x=0.18)
    return fig


def _wrap(label: str, width: int = 38, lines: int = 3) -> str:
    """A long category label on up to ``lines`` lines of ``width`` characters (cut with an ellipsis)."""
    import textwrap

    parts = textwrap.wrap(label, width) or [label]
    if len(parts) > lines:
        parts = parts[:lines]
        parts[-1] = parts[-1][: width - 1] + "…"
    return "\n".join(parts)
