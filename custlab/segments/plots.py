"""Plots of RFM scores, segments, revenue concentration, migration and k-means profiles.

Every function takes ``ax=None`` (a new pyplot-free figure when not given) and
``language=``, and returns the :class:`matplotlib.figure.Figure`. Tests read the
artists (bar widths, cell texts, labels), not pixels.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from custlab._dates import as_datetime
from custlab._i18n import labels
from custlab._plotting import figure_axes, in_language_font
from custlab._types import Language
from custlab.data.schema import require_columns
from custlab.segments.kmeans import KMeansSegments, feature_label, share_text
from custlab.segments.migration import Migration
from custlab.segments.summary import concentration_curve, top_share

__all__ = ["plot_cluster_profiles", "plot_concentration", "plot_migration", "plot_rfm_heatmap", "plot_segment_shares"]


@in_language_font
def plot_rfm_heatmap(scores: pl.DataFrame, *, ax=None, language: Language = "en"):
    """Heatmap of mean monetary value by R score (rows) and F score (columns).

    Parameters
    ----------
    scores
        Output of :func:`custlab.segments.rfm_scores` (``r_score``,
        ``f_score``, ``monetary``).
    ax
        Axes to draw on; default a new figure.
    language
        Language of the labels.

    Returns
    -------
    matplotlib.figure.Figure
        Cells are annotated with the mean, empty combinations blank.

    Examples
    --------
    >>> import polars as pl
    >>> s = pl.DataFrame({"r_score": [5, 5, 1], "f_score": [5, 4, 1], "monetary": [90.0, 50.0, 5.0]})
    >>> plot_rfm_heatmap(s).axes[0].get_title()
    'Mean monetary value by R and F score'
    """
    import seaborn as sns

    require_columns(scores, ["r_score", "f_score", "monetary"], table="scores", purpose="for the heatmap")
    text = labels("segments", language)
    cells = scores.group_by("r_score", "f_score").agg(pl.col("monetary").mean())
    grid = pl.DataFrame({"r_score": range(5, 0, -1)}).join(pl.DataFrame({"f_score": range(1, 6)}), how="cross")
    grid = grid.join(cells, on=["r_score", "f_score"], how="left")
    table = grid.to_pandas().pivot(index="r_score", columns="f_score", values="monetary").sort_index(ascending=False)
    fig, ax = figure_axes(ax)
    sns.heatmap(table, annot=True, fmt=".0f", cmap="YlGnBu", ax=ax, cbar_kws={"label": text["mean_monetary"]})
    ax.set_xlabel(text["f_axis"])
    ax.set_ylabel(text["r_axis"])
    ax.set_title(text["heatmap_title"])
    return fig


@in_language_font
def plot_segment_shares(summary: pl.DataFrame, *, ax=None, language: Language = "en"):
    """Horizontal bars of each segment's share of customers and of revenue.

    Parameters
    ----------
    summary
        Output of :func:`custlab.segments.segment_summary`.
    ax
        Axes to draw on; default a new figure sized to the number of segments.
    language
        Language of the labels.

    Returns
    -------
    matplotlib.figure.Figure
        Two bars per segment (customers, revenue), in the order of ``summary``.

    Examples
    --------
    >>> import polars as pl
    >>> summ = pl.DataFrame({"segment": ["A", "B"], "customer_share": [0.8, 0.2], "revenue_share": [0.4, 0.6]})
    >>> ax = plot_segment_shares(summ).axes[0]
    >>> [[round(float(bar.get_width()), 2) for bar in bars] for bars in ax.containers]
    [[0.8, 0.2], [0.4, 0.6]]
    """
    import pandas as pd
    import seaborn as sns

    require_columns(summary, ["segment", "customer_share", "revenue_share"], table="summary",
                    purpose="for the segment plot (pass the output of segment_summary)")
    text = labels("segments", language)
    order = [str(s) for s in summary["segment"].to_list()]
    long = pd.DataFrame({
        "segment": order * 2,
        "measure": [text["customers"]] * len(order) + [text["revenue"]] * len(order),
        "share": summary["customer_share"].fill_nan(0.0).fill_null(0.0).to_list()
        + summary["revenue_share"].fill_nan(0.0).fill_null(0.0).to_list(),
    })
    fig, ax = figure_axes(ax, figsize=(7.0, max(3.0, 0.45 * len(order) + 1.5)))
    sns.barplot(long, y="segment", x="share", hue="measure", order=order, orient="h", ax=ax)
    ax.set_xlabel(text["share"])
    ax.set_ylabel("")
    ax.set_title(text["shares_title"])
    ax.legend(title="")
    return fig


@in_language_font
def plot_concentration(rfm: pl.DataFrame, *, revenue_share: float = 0.5, column: str = "monetary", ax=None,
                       language: Language = "en"):
    """The concentration curve, with the point where the top customers reach ``revenue_share``.

    Returns
    -------
    matplotlib.figure.Figure
        Lines: the curve (first) and the equal-spend diagonal; the marked
        point's label reads e.g. "top 15% bring 50%".

    Examples
    --------
    >>> import polars as pl
    >>> fig = plot_concentration(pl.DataFrame({"monetary": [50.0, 30.0, 10.0, 10.0]}))
    >>> fig.axes[0].get_legend_handles_labels()[1]
    ['top 25% bring 50%', 'Equal spend']
    """
    text = labels("segments", language)
    curve = concentration_curve(rfm, column=column)
    x = top_share(rfm, revenue_share, column=column)
    fig, ax = figure_axes(ax, figsize=(6.0, 5.0))
    ax.plot(curve["customer_share"].to_numpy(), curve["revenue_share"].to_numpy(),
            label=text["top_mark"].format(customers=x, revenue=revenue_share))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label=text["equal_spend"])
    ax.plot([x, x, 0], [0, revenue_share, revenue_share], linestyle=":", color="black")
    ax.set_xlabel(text["top_customers"])
    ax.set_ylabel(text["revenue_share"])
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_title(text["concentration_title"])
    ax.legend()
    return fig


@in_language_font
def plot_migration(migration: Migration, period_end: dt.date | str | None = None, *, share: bool = True, ax=None,
                   language: Language | None = None):
    """Heatmap of the transition matrix into ``period_end`` (default: the last period).

    Rows: segment at the previous period end (plus new customers); columns:
    segment at ``period_end``; cells: row shares (``share=True``) or counts.
    ``language`` defaults to the migration's own (its segment labels are in it).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import polars as pl, datetime as dt
    >>> from custlab.segments import segment_migration
    >>> tx = pl.DataFrame({"customer_id": [1, 2, 1], "order_id": [1, 2, 3],
    ...     "order_date": [dt.datetime(2024, 1, 5), dt.datetime(2024, 1, 9), dt.datetime(2024, 2, 2)],
    ...     "amount": [20.0, 5.0, 40.0]})
    >>> fig = plot_migration(segment_migration(tx))
    >>> fig.axes[0].get_ylabel()
    'From (previous period)'
    """
    import seaborn as sns

    text = labels("segments", language or migration.language)
    matrix = migration.matrix(period_end, share=share)
    target = migration.periods[-1] if period_end is None else as_datetime(period_end, "period_end").date()
    frame = matrix.to_pandas().set_index("from_segment")
    fig, ax = figure_axes(ax, figsize=(1.0 + 0.9 * frame.shape[1], 1.2 + 0.6 * frame.shape[0]))
    sns.heatmap(frame, annot=True, fmt=".0%" if share else "d", cmap="Blues", ax=ax, cbar=False)
    ax.set_xlabel(text["migration_to"])
    ax.set_ylabel(text["migration_from"])
    ax.set_title(text["migration_title"].format(period=target))
    return fig


@in_language_font
def plot_cluster_profiles(result: KMeansSegments, *, ax=None, language: Language = "en"):
    """Heatmap of each cluster's standardised feature means (rows: clusters, columns: features).

    Returns
    -------
    matplotlib.figure.Figure
        One heatmap Axes (plus its colour bar); row labels are the cluster
        names with their customer share.

    Examples
    --------
    >>> import polars as pl, datetime as dt
    >>> from custlab.segments import kmeans_segments
    >>> end = dt.datetime(2024, 6, 28)
    >>> rows = [(c, 100 * c + i, end - dt.timedelta(days=(3 + c % 5 if c < 20 else 200 + c) + 7 * i),
    ...          (100.0 + c if c < 20 else 10.0 + c % 7))
    ...         for c in range(40) for i in range(4 + c % 3 if c < 20 else 1)]
    >>> tx = pl.DataFrame(rows, schema=["customer_id", "order_id", "order_date", "amount"], orient="row")
    >>> fig = plot_cluster_profiles(kmeans_segments(tx, k=2))
    >>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
    ['recency', 'frequency', 'monetary']
    """
    import pandas as pd
    import seaborn as sns

    text = labels("segments", language)
    shares = result.profiles["customer_share"].to_list()
    names = result.z_scores["segment"].cast(pl.String).to_list()
    index = [f"{s} ({share_text(p)})" for s, p in zip(names, shares, strict=True)]
    table = pd.DataFrame(result.z_scores.select(result.feature_names).to_numpy(), index=index,
                         columns=[feature_label(f, language) for f in result.feature_names])
    fig, ax = figure_axes(ax, figsize=(1.6 + 0.8 * len(result.feature_names), max(3.5, 1.5 + 0.55 * len(index))))
    sns.heatmap(table, annot=True, fmt=".1f", cmap="RdBu_r", center=0.0, ax=ax)
    ax.set_title(text["clusters_title"])
    ax.set_ylabel("")
    return fig
