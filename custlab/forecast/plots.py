"""Charts of forecasts, backtests and the demand outlook (pyplot-free; each returns its Figure)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import polars as pl

from custlab._i18n import check_language, label, t
from custlab._plotting import PALETTE, figure_axes, in_language_font, new_figure
from custlab.exceptions import CustlabError

if TYPE_CHECKING:
    from custlab.forecast.backtest import Backtest
    from custlab.forecast.outlook import DemandOutlook
    from custlab.forecast.predict import Forecast

__all__ = ["plot_backtest", "plot_demand_outlook", "plot_forecast"]


def _draw(ax, history: pl.DataFrame, table: pl.DataFrame, levels, language: str, *, legend: bool = True) -> None:
    ax.plot(history["period"].to_list(), history["value"].to_list(), color=PALETTE[0],
            label=t("forecast.plot.history", language))
    if table.is_empty():
        return
    periods = table["period"].to_list()
    for shade, v in zip((0.15, 0.3), sorted(levels, reverse=True), strict=False):
        ax.fill_between(periods, table[f"lo_{v}"].to_list(), table[f"hi_{v}"].to_list(), color=PALETTE[1],
                        alpha=shade, linewidth=0, label=t("forecast.plot.interval", language, level=v))
    if history.height:  # join the forecast to the last actual
        periods = [history["period"][-1], *periods]
        means = [history["value"][-1], *table["mean"].to_list()]
    else:
        means = table["mean"].to_list()
    ax.plot(periods, means, color=PALETTE[1], linestyle="--", label=t("forecast.plot.forecast", language))
    if legend:
        ax.legend(loc="upper left", fontsize="small")


@in_language_font
def plot_forecast(
    result: Forecast, series_id: str | None = None, *, ax=None, language: str = "en", history_periods: int = 104,
):
    """History, forecast and its intervals of one series (the largest by forecast when ``series_id`` is None).

    Returns
    -------
    matplotlib.figure.Figure
    """
    check_language(language)
    ids = result.table["series_id"].unique().to_list()
    if series_id is None:
        series_id = result.summary["series_id"][0]
    if series_id not in ids:
        raise CustlabError(f"series_id {series_id!r} has no forecast; forecast ones include {sorted(ids)[:5]}.")
    fig, ax = figure_axes(ax, figsize=(8.0, 4.0))
    history = result.history.filter(pl.col("series_id") == series_id).sort("period").tail(history_periods)
    table = result.table.filter(pl.col("series_id") == series_id).sort("period")
    _draw(ax, history, table, result.levels, language)
    ax.set_title(f"{label(series_id, language)} ({label(table['model'][0], language)})")
    ax.set_xlabel(t("forecast.plot.period", language))
    ax.set_ylabel(t("forecast.plot.value", language))
    return fig


@in_language_font
def plot_backtest(result: Backtest, *, ax=None, language: str = "en"):
    """Weighted MASE of each model and of auto's choice over all series they scored; seasonal naive as a line.

    Returns
    -------
    matplotlib.figure.Figure
    """
    check_language(language)
    overall = result.table.filter(pl.col("series_id").is_null() & pl.col("mase").is_not_null()).sort("mase")
    fig, ax = figure_axes(ax, figsize=(7.0, 0.5 * max(overall.height, 3) + 1.5))
    names = [label(m, language) for m in overall["model"].to_list()]
    colours = [PALETTE[2] if m == "auto" else PALETTE[7] if m in ("naive", "seasonal_naive") else PALETTE[0]
               for m in overall["model"].to_list()]
    ax.barh(names, overall["mase"].to_list(), color=colours)
    ax.invert_yaxis()
    snaive = overall.filter(pl.col("model") == "seasonal_naive")["mase"]
    if snaive.len():
        ax.axvline(float(snaive[0]), color=PALETTE[3], linestyle=":", label=t("forecast.plot.baseline", language))
        ax.legend(loc="lower right", fontsize="small")
    ax.set_xlabel(t("forecast.plot.mase", language))
    ax.set_title(t("forecast.plot.backtest_title", language))
    return fig


@in_language_font
def plot_demand_outlook(outlook: DemandOutlook, *, fig=None, language: str = "en", history_periods: int = 24):
    """One panel per group (and the total): the last ``history_periods`` months and the forecast with intervals.

    Returns
    -------
    matplotlib.figure.Figure
    """
    check_language(language)
    from matplotlib.ticker import StrMethodFormatter

    from custlab.forecast.series import TOTAL

    names = [TOTAL, *outlook.groups]
    cols = 2 if len(names) > 1 else 1
    rows = math.ceil(len(names) / cols)
    if fig is None:
        fig, axes = new_figure(9.0, 2.6 * rows, nrows=rows, ncols=cols, squeeze=False)
    else:
        axes = fig.subplots(rows, cols, squeeze=False)
    result = outlook.forecast
    for k, name in enumerate(names):
        ax = axes[k // cols][k % cols]
        history = result.history.filter(pl.col("series_id") == name).sort("period").tail(history_periods)
        table = result.table.filter(pl.col("series_id") == name).sort("period")
        _draw(ax, history, table, result.levels, language, legend=k == 0)
        ax.set_title(outlook.name_of(name, language), fontsize="medium")
        ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))  # 1,500,000, not 1.5 and "1e6" above
        ax.tick_params(axis="x", labelrotation=30, labelsize="small")
    for k in range(len(names), rows * cols):
        axes[k // cols][k % cols].set_visible(False)
    fig.suptitle(t("forecast.plot.outlook_title", language, months=result.horizon))
    return fig
