"""Campaign charts: lifts with their intervals, Qini curves, the referral funnel (no pyplot)."""

from __future__ import annotations

import polars as pl

from custlab._i18n import label, t
from custlab._plotting import PALETTE, figure_axes, in_language_font
from custlab._types import Language

__all__ = ["plot_lift", "plot_qini", "plot_referral_funnel"]


@in_language_font
def plot_lift(table: pl.DataFrame, *, relative: bool = True, ax=None, language: Language = "en"):
    """Each row's lift as a point with its interval (a forest plot); zero marked.

    ``table`` is a :func:`custlab.campaigns.lift` table (or a campaign
    effect's, with ``campaign_id``). Relative lifts in % by default; rows
    without a relative lift (control rate 0) are drawn in absolute terms
    when ``relative=False`` only, and left out otherwise. Returns the Figure.
    """
    fig, ax = figure_axes(ax, figsize=(7.0, max(3.0, 0.6 * table.height + 1.5)))
    cols = ("rel_lift", "rel_ci_low", "rel_ci_high") if relative else ("abs_lift", "ci_low", "ci_high")
    rows = table.filter(pl.col(cols[0]).is_not_null(), pl.col(cols[1]).is_not_null())
    scale = 100.0 if relative else (100.0 if set(rows["kind"].to_list()) <= {"rate"} else 1.0)
    names = []
    for i, r in enumerate(rows.iter_rows(named=True)):
        value, low, high = (r[c] * scale for c in cols)
        colour = PALETTE[2] if low > 0 else PALETTE[3] if high < 0 else PALETTE[7]
        ax.errorbar(value, i, xerr=[[value - low], [high - value]], fmt="o", color=colour, capsize=4)
        prefix = f"{r['campaign_id']} · " if "campaign_id" in r else ""
        names.append(f"{prefix}{label(r['group'], language)} · {label(r['outcome'], language)}")
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    key = "campaigns.axis.rel_lift" if relative else ("campaigns.axis.abs_lift_pp" if scale == 100.0 else "campaigns.axis.abs_lift")
    ax.set_xlabel(t(key, language))
    ax.set_title(t("campaigns.title.lift", language))
    return fig


@in_language_font
def plot_qini(evaluation, *, ax=None, language: Language = "en"):
    """Qini curve of an :class:`~custlab.campaigns.UpliftEvaluation` against random targeting."""
    fig, ax = figure_axes(ax, figsize=(6.5, 4.5))
    curve = evaluation.curve
    share = (curve["share"] * 100).to_list()
    ax.plot(share, curve["qini"].to_list(), color=PALETTE[0], label=t("campaigns.legend.model", language))
    ax.plot(share, curve["qini_random"].to_list(), color=PALETTE[7], linestyle="--",
            label=t("campaigns.legend.random", language))
    ax.set_xlabel(t("campaigns.axis.targeted", language))
    ax.set_ylabel(t("campaigns.axis.incremental", language))
    ax.set_title(t("campaigns.title.qini", language))
    ax.legend(fontsize="small")
    return fig


@in_language_font
def plot_referral_funnel(funnel, *, ax=None, language: Language = "en"):
    """Bars of shares, clicks and orders of a :class:`~custlab.campaigns.ReferralFunnel`, rates on top."""
    fig, ax = figure_axes(ax, figsize=(6.0, 4.0))
    table = funnel.funnel
    steps = [t(f"campaigns.step.{s}", language) if s in ("share", "click", "order") else s for s in table["step"]]
    bars = ax.bar(range(table.height), table["count"].to_list(), color=PALETTE[0])
    for bar, rate in zip(bars, table["rate"].to_list()):
        if rate is not None:
            ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height(), f"{rate:.1%}", ha="center", va="bottom",
                    fontsize="small")
    ax.set_xticks(range(table.height), steps)
    ax.set_ylabel(t("campaigns.axis.events", language))
    ax.set_title(t("campaigns.title.referral", language))
    return fig
