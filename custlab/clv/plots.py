"""Plots for customer lifetime value (:mod:`custlab.clv`): functions that take results and return a Figure.

- :func:`plot_frequency_recency_matrix`: expected purchases by frequency and recency;
- :func:`plot_probability_alive_matrix`: probability alive by frequency and recency;
- :func:`plot_tracking`: weekly repeat purchases, actual against the model (cumulative or per week);
- :func:`plot_calibration_histogram`: customers by number of repeat purchases, actual against the model;
- :func:`plot_clv_distribution`: histogram of predicted CLV;
- :func:`plot_clv_by_segment`: mean CLV and share of total CLV per segment.

Figures are built with :func:`custlab._plotting.figure_axes` (no pyplot
state) and seaborn; every function takes ``ax=None`` (draw on the caller's
axes) and ``language="en"`` or ``"zh"`` for its labels, and returns the Figure.
Nothing is drawn on import and no style is changed.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from custlab._i18n import labels, translate_values
from custlab._plotting import PALETTE, figure_axes, in_language_font
from custlab._types import Language
from custlab.clv.models import PurchaseModel
from custlab.clv.summary import freq_unit
from custlab.clv.validation import frequency_recency_matrix, probability_alive_matrix
from custlab.data.schema import check_frame, require_columns
from custlab.exceptions import CustlabError, EmptyDataError

__all__ = [
    "plot_calibration_histogram", "plot_clv_by_segment", "plot_clv_distribution", "plot_frequency_recency_matrix",
    "plot_probability_alive_matrix", "plot_tracking",
]


def _frame(data, argument: str) -> pl.DataFrame:
    check_frame(data, argument=argument)
    frame = data.collect() if isinstance(data, pl.LazyFrame) else data
    if frame.height == 0:
        raise EmptyDataError(f"{argument} is empty; there is nothing to plot.")
    return frame


def _heatmap(matrix: pl.DataFrame, value: str, title: str, colorbar: str, text: dict, ax):
    import seaborn as sns

    table = matrix.to_pandas().pivot(index="recency", columns="frequency", values=value).sort_index(ascending=False)
    fig, ax = figure_axes(ax)
    sns.heatmap(table, cmap="viridis", ax=ax, cbar_kws={"label": colorbar})
    ax.set_xlabel(text["frequency"])
    ax.set_ylabel(text["recency"])
    ax.set_title(title)
    return fig


@in_language_font
def plot_frequency_recency_matrix(
    purchase_model: PurchaseModel,
    *,
    horizon: float = 1.0,
    T: float | None = None,
    max_frequency: int | None = None,
    max_recency: float | None = None,
    ax=None,
    language: Language = "en",
):
    """Heatmap of expected purchases in the next ``horizon`` units by frequency (columns) and recency (rows).

    Values are those of :func:`custlab.clv.frequency_recency_matrix` (most
    recent at the top; impossible cells, frequency 0 with recency above 0, blank).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from custlab.clv import BetaGeo
    >>> from custlab.data.datasets import load_cdnow
    >>> fig = plot_frequency_recency_matrix(BetaGeo(freq="W").fit(load_cdnow("summary")), max_frequency=10)
    >>> fig.axes[0].get_title()
    'Expected purchases in the next 1 weeks'
    """
    text = labels("clv", language)
    matrix = frequency_recency_matrix(purchase_model, horizon=horizon, T=T, max_frequency=max_frequency,
                                      max_recency=max_recency)
    title = text["fr_title"].format(h=horizon, unit=text[f"unit_{freq_unit(purchase_model.freq)}"])
    return _heatmap(matrix, "expected_purchases", title, text["expected_purchases"], text, ax)


@in_language_font
def plot_probability_alive_matrix(
    purchase_model: PurchaseModel,
    *,
    T: float | None = None,
    max_frequency: int | None = None,
    max_recency: float | None = None,
    ax=None,
    language: Language = "en",
):
    """Heatmap of the probability that a customer is alive, by frequency (columns) and recency (rows).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from custlab.clv import BetaGeo, clv_summary
    >>> from custlab.data.datasets import load_cdnow
    >>> model = BetaGeo(freq="W").fit(clv_summary(load_cdnow("sample"), as_of="1997-10-01"))
    >>> plot_probability_alive_matrix(model, language="zh").axes[0].get_title()
    '客户存活概率'
    """
    text = labels("clv", language)
    matrix = probability_alive_matrix(purchase_model, T=T, max_frequency=max_frequency, max_recency=max_recency)
    return _heatmap(matrix, "p_alive", text["pa_title"], text["p_alive"], text, ax)


@in_language_font
def plot_tracking(table: pl.DataFrame, *, cumulative: bool = True, ax=None, language: Language = "en"):
    """Actual and model repeat purchases week by week, with a line at the end of the calibration period.

    Parameters
    ----------
    table
        Output of :func:`custlab.clv.tracking`.
    cumulative
        Cumulative totals (default) or purchases per week.

    Returns
    -------
    matplotlib.figure.Figure
        One Axes with two lines (actual, model) against ``week``.

    Examples
    --------
    >>> table = pl.DataFrame({"week": [1, 2, 3], "period": ["calibration", "calibration", "holdout"],
    ...                       "actual": [1.0, 2.0, 2.0], "expected": [1.5, 1.5, 1.8],
    ...                       "actual_cumulative": [1.0, 3.0, 5.0], "expected_cumulative": [1.5, 3.0, 4.8]})
    >>> [line.get_label() for line in plot_tracking(table).axes[0].get_lines()[:2]]
    ['Actual', 'Model']
    """
    text = labels("clv", language)
    frame = _frame(table, "table")
    actual, expected = ("actual_cumulative", "expected_cumulative") if cumulative else ("actual", "expected")
    require_columns(frame, ["week", "period", actual, expected], table="tracking table", purpose="for the plot")
    fig, ax = figure_axes(ax, figsize=(8.0, 4.5))
    weeks = frame["week"].to_numpy()
    ax.plot(weeks, frame[actual].to_numpy(), color="black", label=text["actual"])
    ax.plot(weeks, frame[expected].to_numpy(), color=PALETTE[0], linestyle="--", label=text["model"])
    calibration = frame.filter(pl.col("period") == "calibration")
    if calibration.height and calibration.height < frame.height:
        ax.axvline(float(calibration["week"].max()) + 0.5, color="grey", linestyle=":", label=text["calibration_end"])
    ax.set(xlabel=text["week"], ylabel=text["cumulative"] if cumulative else text["weekly"],
           title=text["tracking_title"])
    if cumulative:  # counts of purchases: no "17.5" on the axis when they are few (Olist)
        from matplotlib.ticker import MaxNLocator

        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()
    return fig


@in_language_font
def plot_calibration_histogram(table: pl.DataFrame, *, ax=None, language: Language = "en"):
    """Grouped bars of customers by number of repeat purchases: actual and model.

    Where the two bars of a count differ, the model misjudges how many
    customers buy that often.

    Parameters
    ----------
    table
        Output of :func:`custlab.clv.calibration_histogram`.

    Returns
    -------
    matplotlib.figure.Figure
        One Axes with two bar containers (``ax.containers``): the actual
        counts, then the model's, in the order of ``table``.

    Examples
    --------
    >>> table = pl.DataFrame({"frequency": ["0", "1", "2+"], "actual": [50, 30, 20], "expected": [48.0, 33.0, 19.0]})
    >>> [[float(bar.get_height()) for bar in bars] for bars in plot_calibration_histogram(table).axes[0].containers]
    [[50.0, 30.0, 20.0], [48.0, 33.0, 19.0]]
    """
    import seaborn as sns

    text = labels("clv", language)
    frame = _frame(table, "table")
    require_columns(frame, ["frequency", "actual", "expected"], table="histogram table", purpose="for the plot")
    long = frame.select(
        pl.col("frequency").cast(pl.String), pl.col("actual").cast(pl.Float64), pl.col("expected").cast(pl.Float64)
    ).unpivot(index="frequency", variable_name="source", value_name="customers").with_columns(
        pl.col("source").replace({"actual": text["actual"], "expected": text["model"]})
    )
    fig, ax = figure_axes(ax)
    sns.barplot(long.to_pandas(), x="frequency", y="customers", hue="source", ax=ax,
                order=frame["frequency"].cast(pl.String).to_list())
    ax.set_xlabel(text["repeat_purchases"])
    ax.set_ylabel(text["customers"])
    ax.set_title(text["hist_title"])
    ax.legend(title=None)
    return fig


@in_language_font
def plot_clv_distribution(clv: pl.DataFrame, *, value: str = "clv", bins: int = 50, log: bool = False, ax=None,
                          language: Language = "en"):
    """Histogram of predicted CLV per customer (log-scaled counts with ``log=True``).

    Returns
    -------
    matplotlib.figure.Figure
        One Axes; the bar heights sum to the number of customers.

    Examples
    --------
    >>> frame = pl.DataFrame({"clv": [1.0, 2.0, 2.5, 10.0]})
    >>> int(sum(bar.get_height() for bar in plot_clv_distribution(frame, bins=4).axes[0].patches))
    4
    """
    import seaborn as sns

    text = labels("clv", language)
    frame = _frame(clv, "clv")
    require_columns(frame, [value], table="clv", purpose="for the plot")
    values = frame[value].cast(pl.Float64).drop_nulls().to_numpy()
    if not isinstance(bins, int) or bins < 1:
        raise CustlabError(f"bins must be a whole number >= 1, got {bins!r}.")
    fig, ax = figure_axes(ax)
    sns.histplot(x=values, bins=bins, ax=ax, color=PALETTE[0])
    if log:
        ax.set_yscale("log")
    ax.axvline(float(np.mean(values)), color="black", linestyle="--")
    ax.set_xlabel(text["clv"])
    ax.set_ylabel(text["customers"])
    ax.set_title(text["dist_title"])
    return fig


@in_language_font
def plot_clv_by_segment(clv: pl.DataFrame, *, segment: str = "segment", value: str = "clv", ax=None,
                        language: Language = "en"):
    """Bars of mean CLV per segment, annotated with each segment's share of total CLV.

    Parameters
    ----------
    clv
        Per-customer frame with ``segment`` and ``value`` columns (e.g.
        :func:`custlab.clv.clv_tiers` of :func:`custlab.clv.predict_clv`, or
        joined with RFM segments).

    Returns
    -------
    matplotlib.figure.Figure
        One Axes with one bar per segment, highest mean first.

    Examples
    --------
    >>> frame = pl.DataFrame({"segment": ["A", "A", "B"], "clv": [10.0, 30.0, 5.0]})
    >>> [float(bar.get_height()) for bar in plot_clv_by_segment(frame).axes[0].patches]
    [20.0, 5.0]
    """
    import seaborn as sns

    text = labels("clv", language)
    frame = _frame(clv, "clv")
    require_columns(frame, [segment, value], table="clv", purpose="for the plot")
    total = float(frame[value].sum())
    groups = (
        frame.group_by(pl.col(segment).cast(pl.String).fill_null("(none)"))
        .agg(mean=pl.col(value).mean(), total=pl.col(value).sum(), customers=pl.len())
        .sort(["mean", segment], descending=[True, False])
    )
    fig, ax = figure_axes(ax)
    sns.barplot(x=translate_values(groups[segment].to_list(), language), y=groups["mean"].to_list(), ax=ax, color=PALETTE[0])
    for i, row in enumerate(groups.iter_rows(named=True)):
        share = row["total"] / total if total else float("nan")
        ax.annotate(f"{share:.0%}", (i, row["mean"]), ha="center", va="bottom")
    ax.set_xlabel(text["segment"])
    ax.set_ylabel(text["mean_clv"])
    ax.set_title(text["seg_title"])
    return fig

