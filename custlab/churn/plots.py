"""Charts of the churn analysis: retention curves, hazard ratios, the early-warning risk distribution."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from custlab._i18n import label as label_of
from custlab._i18n import t
from custlab._plotting import PALETTE, figure_axes, in_language_font
from custlab._types import Language
from custlab.churn._common import _collect
from custlab.data.schema import check_frame, require_columns

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from custlab.churn.cox import CoxChurnModel
    from custlab.churn.kaplan_meier import KaplanMeier

__all__ = ["at_risk_counts", "plot_hazard_ratios", "plot_risk_distribution", "plot_survival"]


@in_language_font
def plot_survival(
    km: KaplanMeier, *, ax=None, ci: bool = True, at_risk: bool = True, title: str | None = None,
    figsize: tuple[float, float] | None = None, language: Language = "en",
) -> Figure:
    """Kaplan-Meier retention curves by group with confidence bands and at-risk counts.

    Parameters
    ----------
    km
        The result of :func:`~custlab.churn.kaplan_meier`.
    ax
        Axes to draw on; None for a new figure (built without pyplot).
    ci
        Draw the confidence bands.
    at_risk
        Add the table of customers at risk and of churn events under the x
        axis: at each tick, the customers still at risk just after it and the
        churns up to it (lifelines' ``add_at_risk_counts`` convention).
    title, figsize
        Figure title (default from the grouping) and size in inches (default:
        taller with more groups, to leave room for the at-risk table).
    language
        Labels in English ("en") or Chinese ("zh").

    Returns
    -------
    matplotlib.figure.Figure
        One step line per group, labelled with the group name and its median.

    Examples
    --------
    >>> import polars as pl
    >>> from custlab.churn import kaplan_meier
    >>> sf = pl.DataFrame({"duration_days": [100, 120, 130, 95, 200, 150],
    ...                    "churned": [True, True, False, True, False, True]})
    >>> fig = plot_survival(kaplan_meier(sf))
    >>> [line.get_label() for line in fig.axes[0].get_lines() if not line.get_label().startswith("_")]
    ['all (median 150 days)']
    """
    groups = km.summary["group"].to_list()
    fig, ax = figure_axes(ax, figsize=figsize or (8.0, 4.5 + (0.6 * len(groups) + 0.4 if at_risk else 0.0)))
    medians = dict(zip(groups, km.summary["median_days"].to_list(), strict=True))
    names = {g: _group_name(g, language) for g in groups}
    for group in groups:
        med = medians[group]
        label = (t("churn.km_median", language, group=names[group], days=med) if med is not None
                 else t("churn.km_no_median", language, group=names[group]))
        curve = km.curves.filter(pl.col("group") == group)
        (line,) = ax.step(curve["days"].to_numpy(), curve["survival"].to_numpy(), where="post", label=label)
        if ci:
            ax.fill_between(curve["days"].to_numpy(), curve["lower"].to_numpy(), curve["upper"].to_numpy(),
                            step="post", alpha=0.2, color=line.get_color(), linewidth=0)
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    ax.set_xlabel(t("churn.km_xlabel", language))
    ax.set_ylabel(t("churn.km_ylabel", language))
    if title is None:
        title = t("churn.km_title_by", language, by=label_of(km.by, language)) if km.by else t("churn.km_title",
                                                                                               language)
    ax.set_title(title)
    ax.axhline(0.5, color="grey", linewidth=0.8, linestyle=":")
    ax.legend(loc="best", frameon=False)
    if at_risk:
        _at_risk_table(ax, km, groups, names, language)
    return fig


def _group_name(group: str, language: str) -> str:
    return t("churn.group_all", language) if group == "all" else label_of(group, language)


def at_risk_counts(km: KaplanMeier, ticks) -> pl.DataFrame:
    """Customers at risk just after each tick and churns up to it, per group (the plot's table).

    ``group`` (String), ``tick`` (Float64), ``at_risk``, ``events`` (Int64),
    with lifelines' ``add_at_risk_counts`` convention: at a tick, the last
    event-table time at or before it gives ``at_risk`` minus those removed
    then; ``events`` adds up the churns at or before the tick.
    """
    ticks = pl.DataFrame({"tick": [float(x) for x in ticks]}).sort("tick")
    curves = km.curves.sort("group", "days").with_columns(
        _after=pl.col("at_risk") - pl.col("churned") - pl.col("censored"),
        _events=pl.col("churned").cum_sum().over("group"),
    )
    rows = []
    for group in km.summary["group"].to_list():
        part = curves.filter(pl.col("group") == group).select("days", "_after", "_events")
        joined = ticks.join_asof(part, left_on="tick", right_on="days", strategy="backward")
        rows.append(joined.select(pl.lit(group).alias("group"), "tick",
                                  at_risk=pl.col("_after").fill_null(0).cast(pl.Int64),
                                  events=pl.col("_events").fill_null(0).cast(pl.Int64)))
    return pl.concat(rows)


def _at_risk_table(ax, km: KaplanMeier, groups: list[str], names: dict[str, str], language: str) -> None:
    """Counts under the x axis, on a second x axis sharing the first one's ticks (no pyplot)."""
    lo, hi = ax.get_xlim()
    ticks = [x for x in ax.get_xticks() if lo <= x <= hi]
    counts = at_risk_counts(km, ticks)
    row_names = (t("churn.km_at_risk", language), t("churn.km_events", language))
    table = ax.twiny()
    table.set_xlim(lo, hi)
    table.xaxis.set_ticks_position("bottom")
    table.xaxis.set_label_position("bottom")
    table.spines["bottom"].set_position(("outward", 42))
    for side in ("top", "right", "bottom", "left"):
        table.spines[side].set_visible(False)
    table.tick_params(axis="x", length=0)
    table.set_xticks(ticks)
    by_group = {g: counts.filter(pl.col("group") == g) for g in groups}
    width = max(len(str(v)) for v in counts["at_risk"].to_list() + counts["events"].to_list())
    labels = []
    for i, _ in enumerate(ticks):
        lines = []
        for g in groups:
            part = by_group[g]
            values = (part["at_risk"][i], part["events"][i])
            if i == 0:
                lines.append(names[g])
                lines += [f"{name.rjust(10)}   {v:>{width}d}" for name, v in zip(row_names, values, strict=True)]
            else:
                lines += ["", *(str(v) for v in values)]
        labels.append("\n".join(lines))
    table.set_xticklabels(labels, ha="right", fontsize="small")


@in_language_font
def plot_hazard_ratios(
    model: CoxChurnModel,
    *,
    ax=None,
    figsize: tuple[float, float] | None = None,
    language: Language = "en",
) -> Figure:
    """Forest plot of the hazard ratios with their intervals, on a log scale.

    Works for :class:`~custlab.churn.CoxChurnModel` and
    :class:`~custlab.repurchase.RepurchaseModel` (where above 1 means a
    faster return).

    Returns
    -------
    matplotlib.figure.Figure
        One point and interval per term (top to bottom in the order of
        ``hazard_ratios_``), the y tick labels being the terms, and a line at 1.

    Examples
    --------
    >>> import polars as pl, numpy as np
    >>> from custlab.churn import CoxChurnModel
    >>> rng = np.random.default_rng(1)
    >>> g = rng.choice(["app", "web"], 300)
    >>> days = (rng.exponential(np.where(g == "web", 50, 100)) + 90).astype(int)
    >>> sf = pl.DataFrame({"customer_id": np.arange(300), "duration_days": days, "churned": days < 300,
    ...                    "first_channel": g})
    >>> fig = plot_hazard_ratios(CoxChurnModel(["first_channel"]).fit(sf))
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['first_channel=app']
    """
    model._check_fitted()
    hr = model.hazard_ratios_
    n = hr.height
    fig, ax = figure_axes(ax, figsize=figsize or (7.0, 1.2 + 0.35 * n))
    y = np.arange(n)[::-1]
    ratio = hr["hazard_ratio"].to_numpy()
    err = np.vstack([ratio - hr["lower"].to_numpy(), hr["upper"].to_numpy() - ratio])
    ax.errorbar(ratio, y, xerr=err, fmt="o", color=PALETTE[0], ecolor=PALETTE[0], capsize=3)
    ax.axvline(1.0, color="grey", linewidth=0.8, linestyle="--")
    ax.set_xscale("log")
    _nice_log_ticks(ax, np.concatenate([hr["lower"].to_numpy(), hr["upper"].to_numpy(), [1.0]]))
    ax.set_yticks(y, hr["term"].to_list())
    words = t(f"churn.hr_above_one_{model._event}", language)
    ax.set_xlabel(t("churn.hr_xlabel", language, level=f"{1 - model.alpha:.0%}", words=words))
    ax.set_title(t("churn.hr_title", language))
    return fig


def _nice_log_ticks(ax, values: np.ndarray) -> None:
    """Ticks at 0.1, 0.2, 0.5, 1, 2, 5, ... within the finite, positive range of ``values``, as plain numbers."""
    from matplotlib.ticker import FixedLocator, NullFormatter, StrMethodFormatter

    finite = values[np.isfinite(values) & (values > 0)]
    lo, hi = float(finite.min()), float(finite.max())
    ticks = [m * 10.0 ** e for e in range(-4, 5) for m in (1, 2, 5) if lo / 1.2 <= m * 10.0 ** e <= hi * 1.2]
    if ticks:
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_major_formatter(StrMethodFormatter("{x:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())


@in_language_font
def plot_risk_distribution(
    warning,
    *,
    ax=None,
    column: str = "p_churn",
    bins: int = 20,
    bands: tuple[float, float] | None = (0.8, 0.5),
    figsize: tuple[float, float] = (7.0, 4.5),
    language: Language = "en",
) -> Figure:
    """Histogram of the early-warning churn probabilities.

    Parameters
    ----------
    warning
        An :class:`~custlab.churn.EarlyWarning` (its ``to_frame()``) or any
        frame with ``column``.
    ax
        Axes to draw on; None for a new figure (built without pyplot).
    column
        The probability to plot (``p_churn``, or ``p_churn_within``).
    bins
        Number of equal-width bins on [0, 1].
    bands
        Draw the band cut-offs as vertical lines (None: none).
    language
        Labels in English ("en") or Chinese ("zh").

    Returns
    -------
    matplotlib.figure.Figure
        Bars counting customers per probability bin (null probabilities are
        left out and their count shown in the title).

    Examples
    --------
    >>> import polars as pl
    >>> fig = plot_risk_distribution(pl.DataFrame({"p_churn": [0.0, 0.1, 0.7, 0.9]}), bins=2)
    >>> [float(p.get_height()) for p in fig.axes[0].patches]
    [2.0, 2.0]
    """
    if hasattr(warning, "to_frame"):
        warning = warning.to_frame()
    check_frame(warning, argument="warning")
    data = _collect(warning)
    require_columns(data, [column], table="early-warning list", purpose="to plot")
    values = data[column].cast(pl.Float64)
    missing = values.null_count() + int(values.is_nan().sum())
    values = values.drop_nulls().drop_nans().to_numpy()
    fig, ax = figure_axes(ax, figsize=figsize)
    ax.hist(values, bins=np.linspace(0, 1, bins + 1), color=PALETTE[3], edgecolor="white")
    for cut in bands or ():
        ax.axvline(cut, color="grey", linestyle="--", linewidth=0.8)
    ax.set_xlim(0, 1)
    ax.set_xlabel(t(f"churn.column_{column}", language) if column in ("p_churn", "p_churn_within")
                  else column.replace("_", " "))
    ax.set_ylabel(t("churn.customers", language))
    note = t("churn.risk_missing", language, n=f"{missing:,}") if missing else ""
    ax.set_title(t("churn.risk_title", language, n=f"{values.size:,}", note=note))
    return fig
