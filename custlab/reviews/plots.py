"""Charts of the voice of the customer: trend, complaints by aspect, drivers, late delivery, NPS, and all four at once.

Every function takes ``ax=None`` (``fig=None`` for :func:`plot_voice`) and
``language=``, draws without pyplot (:func:`custlab._plotting.figure_axes`)
and returns the :class:`matplotlib.figure.Figure`.
"""

from __future__ import annotations

import polars as pl

from custlab._i18n import check_language, t
from custlab._plotting import PALETTE, figure_axes, in_language_font, new_figure
from custlab._types import Language
from custlab.exceptions import CustlabError
from custlab.reviews.aspects import ASPECTS, Aspects
from custlab.reviews.drivers import Drivers
from custlab.reviews.nps import SurveyResult

__all__ = ["plot_aspects", "plot_drivers", "plot_late_delivery", "plot_nps", "plot_sentiment_trend", "plot_voice"]


def _aspect_name(name: str, language: str) -> str:
    return t(f"reviews.aspect.{name}", language) if name in ASPECTS else name


def _percent(ax, axis: str = "x") -> None:
    from matplotlib.ticker import PercentFormatter

    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(PercentFormatter(1.0, decimals=0))


def _slanted_dates(ax) -> None:
    """Slant the date labels of ``ax`` only. ``fig.autofmt_xdate()`` acts on the whole figure: in the section's 2 x 2
    figure it hid the x labels of both upper panels (the trend's dates, the complaint shares) and slanted the lower
    panels' numbers and names."""
    ax.tick_params(axis="x", labelrotation=30)
    for label in ax.get_xticklabels():
        label.set_horizontalalignment("right")
        label.set_rotation_mode("anchor")


@in_language_font
def plot_sentiment_trend(trend: pl.DataFrame, *, ax=None, language: Language = "en"):
    """CSAT and the share of negative reviews per period (left axis), NPS when present (right axis).

    ``trend`` is :attr:`VoiceOfCustomer.trend` (``period``, ``negative_share``;
    ``csat`` with ``csat_lower``/``csat_upper``, ``nps`` with
    ``nps_lower``/``nps_upper`` when known). Lines are labelled for the legend.

    >>> import datetime as dt
    >>> tr = pl.DataFrame({"period": [dt.date(2024, 1, 1), dt.date(2024, 2, 1)], "negative_share": [0.1, 0.2],
    ...                    "csat": [0.8, 0.7], "csat_lower": [0.7, 0.6], "csat_upper": [0.9, 0.8]})
    >>> [line.get_label() for line in plot_sentiment_trend(tr).axes[0].get_lines()]
    ['CSAT (4-5 stars)', 'Negative reviews']
    """
    check_language(language)
    if trend.height == 0 or "period" not in trend.columns:
        raise CustlabError("The trend is empty (no period with reviews); nothing to draw.")
    fig, ax = figure_axes(ax, figsize=(8.0, 4.5))
    x = trend["period"].to_list()
    if "csat" in trend.columns:
        ax.plot(x, trend["csat"].to_list(), marker="o", color=PALETTE[0], label=t("reviews.plot.csat", language))
        ax.fill_between(x, trend["csat_lower"].fill_null(float("nan")).to_list(),
                        trend["csat_upper"].fill_null(float("nan")).to_list(), color=PALETTE[0], alpha=0.15)
    ax.plot(x, trend["negative_share"].to_list(), marker="s", color=PALETTE[3],
            label=t("reviews.plot.negative", language))
    ax.set_ylim(0, 1)
    _percent(ax, "y")
    ax.set_ylabel(t("reviews.plot.share", language))
    handles, names = ax.get_legend_handles_labels()
    if "nps" in trend.columns and trend["nps"].drop_nulls().len():
        right = ax.twinx()
        right.plot(x, trend["nps"].to_list(), marker="^", color=PALETTE[2], label=t("reviews.plot.nps", language))
        right.fill_between(x, trend["nps_lower"].fill_null(float("nan")).to_list(),
                           trend["nps_upper"].fill_null(float("nan")).to_list(), color=PALETTE[2], alpha=0.12)
        right.set_ylim(-100, 100)
        right.set_ylabel(t("reviews.plot.nps", language))
        h2, n2 = right.get_legend_handles_labels()
        handles, names = handles + h2, names + n2
    # Above the plot, between it and the title: inside, wherever it sat, it covered some months of a line.
    ax.legend(handles, names, loc="lower left", bbox_to_anchor=(0.0, 1.01), ncols=len(names), fontsize="small",
              frameon=False, borderaxespad=0.0, handlelength=1.5, columnspacing=1.0)
    ax.set_title(t("reviews.plot.trend_title", language), pad=24)
    _slanted_dates(ax)
    return fig


@in_language_font
def plot_aspects(result: Aspects, *, top_n: int = 8, ax=None, language: Language = "en"):
    """Horizontal bars: share of negative reviews complaining about each aspect, with intervals.

    >>> rv = pl.DataFrame({"rating": [1, 1, 2, 5], "text": ["too small", "runs large", "late delivery", "great"]})
    >>> from custlab.reviews.aspects import aspects
    >>> [round(float(b.get_width()), 3) for b in plot_aspects(aspects(rv, top_n_terms=0)).axes[0].patches]
    [0.333, 0.667]
    """
    check_language(language)
    rows = result.summary.head(top_n).reverse()
    fig, ax = figure_axes(ax, figsize=(7.0, 0.45 * max(rows.height, 2) + 1.5))
    if rows.height == 0:
        ax.text(0.5, 0.5, t("reviews.plot.no_complaints", language), ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    shares = rows["complaint_share"].to_list()
    err = [[s - lo for s, lo in zip(shares, rows["lower"].to_list(), strict=True)],
           [hi - s for s, hi in zip(shares, rows["upper"].to_list(), strict=True)]]
    names = [_aspect_name(a, language) for a in rows["aspect"].to_list()]
    ax.barh(names, shares, xerr=err, color=PALETTE[3], capsize=3)
    _percent(ax)
    ax.set_xlabel(t("reviews.plot.complaint_share", language, negative=f"{result.n_negative:,}"))
    ax.set_title(t("reviews.plot.aspects_title", language))
    return fig


@in_language_font
def plot_drivers(result: Drivers, *, ax=None, language: Language = "en"):
    """Dot-and-interval chart of the regression: stars (or points) each aspect and late delivery add or take.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> small = rng.random(300) < 0.3
    >>> rv = pl.DataFrame({"rating": np.clip(np.round(4.5 - 2 * small + rng.normal(0, .5, 300)), 1, 5),
    ...                    "text": np.where(small, "too small", "lovely")})
    >>> from custlab.reviews.drivers import drivers
    >>> plot_drivers(drivers(rv)).axes[0].get_yticklabels()[0].get_text()
    'size and fit'
    """
    check_language(language)
    rows = result.effects.reverse()
    fig, ax = figure_axes(ax, figsize=(7.0, 0.45 * max(rows.height, 2) + 1.5))
    if rows.height == 0:
        ax.text(0.5, 0.5, t("reviews.plot.no_drivers", language), ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    names = [t("reviews.plot.late", language) if term == "late_delivery" else _aspect_name(term, language)
             for term in rows["term"].to_list()]
    y = list(range(rows.height))
    est = rows["estimate"].to_list()
    lo, hi = rows["lower"].fill_null(float("nan")).to_list(), rows["upper"].fill_null(float("nan")).to_list()
    colours = [PALETTE[3] if u < 0 else PALETTE[7] for u in hi]
    ax.hlines(y, lo, hi, color=colours)
    ax.scatter(est, y, color=colours, zorder=3)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(y, names)
    unit = "stars" if result.target == "rating" else "points"
    ax.set_xlabel(t(f"reviews.plot.effect_{unit}", language))
    ax.set_title(t("reviews.plot.drivers_title", language))
    return fig


@in_language_font
def plot_late_delivery(result: Drivers, *, ax=None, language: Language = "en"):
    """Mean rating of reviews of on-time and of late orders, with intervals and the share of 1-2 stars on each bar."""
    check_language(language)
    if result.late is None:
        raise CustlabError("These drivers have no delivery dates (late is None): pass orders= with "
                           "delivered_date and promised_date to drivers().")
    fig, ax = figure_axes(ax, figsize=(5.0, 4.0))
    rows = result.late
    names = [t(f"reviews.plot.{d}", language) for d in rows["delivery"].to_list()]
    means = rows["mean"].fill_null(0.0).to_list()
    err = [[m - lo if lo is not None else 0.0 for m, lo in zip(means, rows["mean_lower"].to_list(), strict=True)],
           [hi - m if hi is not None else 0.0 for m, hi in zip(means, rows["mean_upper"].to_list(), strict=True)]]
    bars = ax.bar(names, means, yerr=err, color=[PALETTE[0], PALETTE[3]], capsize=4)
    for bar, share in zip(bars, rows["negative_share"].to_list(), strict=True):
        if share is not None:
            ax.annotate(t("reviews.plot.negative_label", language, share=f"{share:.0%}"),
                        (bar.get_x() + bar.get_width() / 2, 0.15), ha="center", color="white", fontsize="small")
    ax.set_ylim(0, 5)
    ax.set_ylabel(t("reviews.plot.mean_rating", language))
    ax.set_title(t("reviews.plot.late_title", language))
    return fig


@in_language_font
def plot_nps(result: SurveyResult, *, ax=None, language: Language = "en"):
    """The survey figure per group (or period) with intervals: bars for groups, a line for periods."""
    check_language(language)
    table = result.table
    col = result.value_column
    fig, ax = figure_axes(ax, figsize=(7.0, 4.0))
    if "period" in table.columns and not result.by:
        x = table["period"].to_list()
        ax.plot(x, table[col].to_list(), marker="o", color=PALETTE[2])
        ax.fill_between(x, table["lower"].to_list(), table["upper"].to_list(), color=PALETTE[2], alpha=0.15)
        _slanted_dates(ax)
    else:
        names = [", ".join(str(v) for v in row) for row in table.select(result.by).rows()] if result.by else ["all"]
        vals = table[col].to_list()
        err = [[v - lo for v, lo in zip(vals, table["lower"].to_list(), strict=True)],
               [hi - v for v, hi in zip(vals, table["upper"].to_list(), strict=True)]]
        ax.bar(names, vals, yerr=err, color=PALETTE[2], capsize=3)
    if result.kind == "nps":
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_ylim(-100, 100)
    else:
        ax.set_ylim(0, 1)
        _percent(ax, "y")
    ax.set_ylabel(t(f"reviews.plot.{result.kind}", language))
    ax.set_title(t(f"reviews.plot.{result.kind}_title", language))
    return fig


@in_language_font
def plot_voice(voice, *, fig=None, language: Language = "en"):
    """The section's figure: trend, complaints, drivers and late delivery in one 2 x 2 figure (empty panels say why)."""
    check_language(language)
    if fig is None:
        fig, axes = new_figure(13.0, 9.0, nrows=2, ncols=2)
    else:
        axes = fig.subplots(2, 2)
    (a, b), (c, d) = axes
    panels = ((a, voice.trend if voice.trend.height else None, plot_sentiment_trend, "no_dates"),
              (b, voice.aspects, plot_aspects, "no_text"), (c, voice.drivers, plot_drivers, "no_drivers"),
              (d, voice.drivers if voice.drivers is not None and voice.drivers.late is not None else None,
               plot_late_delivery, "no_delivery"))
    for ax, part, draw, reason in panels:
        if part is None:
            ax.text(0.5, 0.5, t(f"reviews.plot.{reason}", language), ha="center", va="center", wrap=True,
                    transform=ax.transAxes)
            ax.set_axis_off()
        else:
            draw(part, ax=ax, language=language)
    return fig
