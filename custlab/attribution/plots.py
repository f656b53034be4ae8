"""Attribution charts: models side by side, removal effects, attribution beside spend (no pyplot)."""

from __future__ import annotations

import numpy as np
import polars as pl

from custlab._i18n import label, t
from custlab._plotting import PALETTE, figure_axes, in_language_font
from custlab._types import Language

__all__ = ["plot_attribution", "plot_attribution_vs_spend", "plot_removal_effects"]


def _model_name(model: str, language: str) -> str:
    return t(f"attribution.model.{model}", language)


@in_language_font
def plot_attribution(result, *, ax=None, language: Language = "en"):
    """Share of conversions each model gives each channel (grouped horizontal bars, Markov order).

    ``result`` is an :class:`~custlab.attribution.AttributionResult`. Returns the Figure.
    """
    fig, ax = figure_axes(ax, figsize=(8.0, 5.0))
    wide = result.credit.pivot(on="model", index="channel", values="share").fill_null(0.0)
    order = [c for c in result.markov.attribution["channel"].to_list() if c in wide["channel"].to_list()]
    models = [m for m in result.models if m in wide.columns]
    height = 0.8 / max(len(models), 1)
    y = np.arange(len(order))
    by_channel = {r["channel"]: r for r in wide.iter_rows(named=True)}
    for i, model in enumerate(models):
        values = [by_channel[c][model] * 100 for c in order]
        ax.barh(y + i * height - 0.4 + height / 2, values, height=height, color=PALETTE[i % len(PALETTE)],
                label=_model_name(model, language))
    ax.set_yticks(y, [label(c, language) for c in order])
    ax.invert_yaxis()
    ax.set_xlabel(t("attribution.axis.share", language))
    ax.set_title(t("attribution.title.models", language))
    ax.legend(fontsize="small", loc="lower right")
    return fig


@in_language_font
def plot_removal_effects(result, *, ax=None, language: Language = "en"):
    """Removal effect of each channel (share of conversions lost without it), largest first."""
    fig, ax = figure_axes(ax, figsize=(7.0, 4.0))
    markov = getattr(result, "markov", result)
    table = markov.removal_effects.sort("removal_effect", descending=True)
    channels = table["channel"].to_list()
    values = (table["removal_effect"] * 100).to_list()
    bars = ax.barh(range(len(channels)), values, color=PALETTE[0])
    for bar, v in zip(bars, values):
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {v:.0f}%", va="center", fontsize="small")
    ax.set_yticks(range(len(channels)), [label(c, language) for c in channels])
    ax.invert_yaxis()
    ax.set_xlabel(t("attribution.axis.removal_effect", language))
    ax.set_title(t("attribution.title.removal", language))
    return fig


@in_language_font
def plot_attribution_vs_spend(table: pl.DataFrame, *, model: str = "markov", ax=None, language: Language = "en"):
    """Each paid channel's share of spend beside its share of attributed value (``attribution_vs_spend`` output)."""
    fig, ax = figure_axes(ax, figsize=(7.0, 4.5))
    rows = table.filter(pl.col("model") == model, pl.col("spend") > 0).sort("spend", descending=True)
    channels = rows["channel"].to_list()
    spend_share = (rows["spend"] / max(rows["spend"].sum(), 1e-12) * 100).to_list()
    value_share = (rows["value"] / max(rows["value"].sum(), 1e-12) * 100).to_list()
    x = np.arange(len(channels))
    ax.bar(x - 0.2, spend_share, width=0.4, color=PALETTE[7], label=t("attribution.axis.spend_share", language))
    ax.bar(x + 0.2, value_share, width=0.4, color=PALETTE[0],
           label=t("attribution.axis.value_share", language, model=_model_name(model, language)))
    ax.set_xticks(x, [label(c, language) for c in channels])
    ax.set_ylabel("%")
    ax.set_title(t("attribution.title.spend", language))
    ax.legend(fontsize="small")
    return fig
