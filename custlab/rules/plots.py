"""Plots of association rules: a scatter of all rules, a network and a matrix of the strongest.

Every function draws on a pyplot-free Figure (:func:`custlab._plotting.figure_axes`),
or on the caller's ``ax``, and returns the Figure, so Jupyter shows it once.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from custlab._i18n import check_language, labels
from custlab._plotting import figure_axes, in_language_font
from custlab._types import Frame, Language
from custlab.data.schema import check_frame, require_columns
from custlab.exceptions import CustlabError, EmptyDataError
from custlab.rules.baskets import _check_top_n, _rule_text

__all__ = ["plot_rule_matrix", "plot_rule_network", "plot_rules"]


def _labels(language: str) -> dict[str, str]:
    return labels("rules", check_language(language))


def _no_rules() -> EmptyDataError:
    return EmptyDataError("There are no rules to plot; lower min_support or min_confidence.")


def _top(rules: Frame, metric: str, top_n: int) -> pl.DataFrame:
    check_frame(rules, argument="rules")
    require_columns(rules, ["antecedent", "consequent", metric], table="rules", purpose="to plot")
    top_n = _check_top_n(top_n)
    data = rules.lazy().collect()
    if data.height == 0:
        raise _no_rules()
    return data.sort([metric, "antecedent", "consequent"], descending=[True, False, False]).head(top_n)


@in_language_font
def plot_rules(
    rules: Frame,
    *,
    x: str = "support",
    y: str = "confidence",
    color: str = "lift",
    ax=None,
    language: Language = "en",
):
    """Scatter of the rules: support against confidence, coloured by lift.

    Parameters
    ----------
    rules : polars DataFrame or LazyFrame
        Output of :func:`~custlab.rules.association_rules` (any metric columns).
    x, y, color : str, keyword-only
        Metrics on the axes and for the colour scale.
    ax : matplotlib Axes, keyword-only, optional
        Axes to draw on; a new pyplot-free figure by default.
    language : {"en", "zh"}, keyword-only
        Axis labels.

    Returns
    -------
    matplotlib.figure.Figure
        One point per rule (a ``PathCollection`` whose offsets are the ``x``,
        ``y`` values and whose array is ``color``) and a colour bar.

    Examples
    --------
    >>> r = pl.DataFrame({"antecedent": [["a"], ["b"]], "consequent": [["b"], ["a"]],
    ...                   "support": [0.2, 0.2], "confidence": [0.5, 0.8], "lift": [1.5, 1.5]})
    >>> fig = plot_rules(r)
    >>> fig.axes[0].collections[0].get_offsets().shape
    (2, 2)
    """
    text = _labels(language)
    check_frame(rules, argument="rules")
    require_columns(rules, [x, y, color], table="rules", purpose="to plot")
    data = rules.lazy().select(x, y, color).collect()
    if data.height == 0:
        raise _no_rules()
    data = data.sort(color)  # strongest drawn last, on top
    fig, ax = figure_axes(ax, figsize=(7, 5))
    points = ax.scatter(data[x].to_numpy(), data[y].to_numpy(), c=data[color].to_numpy(),
                        cmap="viridis", s=18, alpha=0.8, edgecolors="none")
    bar = fig.colorbar(points, ax=ax)
    bar.set_label(text.get(color, color))
    ax.set_xlabel(text.get(x, x))
    ax.set_ylabel(text.get(y, y))
    ax.set_title(text["scatter_title"].format(n=data.height))
    return fig


@in_language_font
def plot_rule_network(rules: Frame, *, top_n: int = 15, metric: str = "lift", ax=None, language: Language = "en"):
    """Network of the strongest rules: items on a circle, one node per rule.

    Each rule is a node (size by support, colour by ``metric``) placed between its
    items, with an edge from each antecedent item to the rule node and an
    arrow from the rule node to each consequent item (the ``arulesViz``
    "graph" layout, drawn with matplotlib alone).

    Parameters
    ----------
    rules : polars DataFrame or LazyFrame
        Output of :func:`~custlab.rules.association_rules`.
    top_n : int, keyword-only, default 15
        Number of rules drawn (the best by ``metric``).
    metric : str, keyword-only, default "lift"
        Metric that picks and colours the rules.
    ax : matplotlib Axes, keyword-only, optional
        Axes to draw on; a new pyplot-free figure by default.
    language : {"en", "zh"}, keyword-only
        Title and colour-bar labels.

    Returns
    -------
    matplotlib.figure.Figure
        ``axes[0].collections[0]`` holds the rule nodes (array = ``metric``),
        ``collections[1]`` the item nodes; item names are the axes' texts.

    Examples
    --------
    >>> r = pl.DataFrame({"antecedent": [["a"], ["b", "c"]], "consequent": [["b"], ["a"]],
    ...                   "support": [0.2, 0.1], "lift": [1.5, 2.0]})
    >>> sorted(t.get_text() for t in plot_rule_network(r).axes[0].texts)
    ['a', 'b', 'c']
    """
    from matplotlib.patches import FancyArrowPatch

    text = _labels(language)
    data = _top(rules, metric, top_n)
    items = sorted({v for col in ("antecedent", "consequent") for row in data[col].to_list() for v in row},
                   key=str)
    angle = 2 * np.pi * np.arange(len(items)) / max(len(items), 1)
    where = {v: (np.cos(a), np.sin(a)) for v, a in zip(items, angle)}
    fig, ax = figure_axes(ax, figsize=(8, 8))
    centres = []
    for ant, cons in zip(data["antecedent"].to_list(), data["consequent"].to_list()):
        pts = np.array([where[v] for v in [*ant, *cons]])
        centre = pts.mean(axis=0) * 0.6
        centres.append(centre)
        for v in ant:
            ax.plot([where[v][0], centre[0]], [where[v][1], centre[1]], color="0.6", lw=0.8, zorder=1)
        for v in cons:
            ax.add_patch(FancyArrowPatch(tuple(centre), where[v], arrowstyle="->", mutation_scale=12,
                                         color="0.3", lw=0.9, zorder=1))
    centres = np.array(centres)
    size = data["support"].to_numpy() if "support" in data.columns else np.ones(data.height)
    size = 60 + 340 * (size - size.min()) / (np.ptp(size) or 1.0)
    nodes = ax.scatter(centres[:, 0], centres[:, 1], s=size, c=data[metric].to_numpy(), cmap="Reds",
                       edgecolors="0.3", zorder=3)
    xy = np.array([where[v] for v in items])
    ax.scatter(xy[:, 0], xy[:, 1], s=30, color="tab:blue", zorder=3)
    for v, (px, py) in where.items():
        ax.text(px * 1.12, py * 1.12, str(v), ha="center", va="center", fontsize=9)
    bar = fig.colorbar(nodes, ax=ax, shrink=0.6)
    bar.set_label(text.get(metric, metric))
    ax.set_title(text["network_title"].format(n=data.height, by=text.get(metric, metric)))
    ax.set_xlim(-1.4, 1.4)
    ax.set_ylim(-1.4, 1.4)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig


@in_language_font
def plot_rule_matrix(rules: Frame, *, top_n: int = 20, metric: str = "lift", value: str = "lift", ax=None,
                     language: Language = "en"):
    """Matrix of the strongest rules: antecedents by consequents, cells coloured by a metric.

    Parameters
    ----------
    rules, top_n, metric
        As for :func:`plot_rule_network`: the rules, how many are shown
        (default 20), the metric that picks them.
    value : str, keyword-only, default "lift"
        Metric shown in the cells (empty where no rule links the pair).
    ax : matplotlib Axes, keyword-only, optional
        Axes to draw on; a new pyplot-free figure by default.
    language : {"en", "zh"}, keyword-only
        Axis labels and title.

    Returns
    -------
    matplotlib.figure.Figure
        A heatmap: rows are antecedents, columns consequents (as "{a, b}"
        texts, in order of first appearance among the top rules); the mesh
        (``axes[0].collections[0]``) holds ``value``, NaN where no rule links
        the pair, and small matrices carry the values as texts.

    Examples
    --------
    >>> r = pl.DataFrame({"antecedent": [["a"], ["b"]], "consequent": [["b"], ["a"]], "lift": [1.5, 2.0]})
    >>> [t.get_text() for t in plot_rule_matrix(r).axes[0].get_yticklabels()]
    ['{b}', '{a}']
    """
    text = _labels(language)
    data = _top(rules, metric, top_n)
    if value not in data.columns:
        raise CustlabError(f"value must be a column of rules, got {value!r}; columns: {data.columns}.")
    ants = [_rule_text(a) for a in data["antecedent"].to_list()]
    cons = [_rule_text(c) for c in data["consequent"].to_list()]
    rows, cols = list(dict.fromkeys(ants)), list(dict.fromkeys(cons))
    grid = np.full((len(rows), len(cols)), np.nan)
    for a, c, v in zip(ants, cons, data[value].to_list()):
        grid[rows.index(a), cols.index(c)] = v
    fig, ax = figure_axes(ax, figsize=(4.2 + 0.55 * len(cols), 2.2 + 0.4 * len(rows)))
    mesh = ax.pcolormesh(np.ma.masked_invalid(grid), cmap="viridis")
    if len(rows) * len(cols) <= 400:
        finite = grid[np.isfinite(grid)]
        middle = (finite.min() + finite.max()) / 2 if finite.size else 0.0
        for (r, c), v in np.ndenumerate(grid):
            if np.isfinite(v):
                ax.text(c + 0.5, r + 0.5, f"{v:.2g}", ha="center", va="center", fontsize=8,
                        color="white" if v < middle else "black")
    ax.set_xticks(np.arange(len(cols)) + 0.5, cols, rotation=90)
    ax.set_yticks(np.arange(len(rows)) + 0.5, rows)
    ax.set_xlim(0, len(cols))
    ax.set_ylim(len(rows), 0)  # first rule at the top
    bar = fig.colorbar(mesh, ax=ax)
    bar.set_label(text.get(value, value))
    ax.set_xlabel(text["consequent"])
    ax.set_ylabel(text["antecedent"])
    ax.set_title(text["matrix_title"].format(n=data.height, by=text.get(metric, metric), value=text.get(value, value)))
    return fig
