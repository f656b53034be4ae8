"""``attribution_report``: the report's attribution section as one frozen result.

Attribution of the touches by every model, the Markov credit next to each
channel's spend, and the budget move: by incremental returns when campaign
tests per channel are given (``incremental``), else by attributed returns,
labelled as such (:func:`custlab.attribution.reallocation`).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from custlab._dates import parse_within
from custlab._types import Frame, Language
from custlab.attribution.paths import Conversions
from custlab.attribution.result import AttributionResult, attribute
from custlab.attribution.spend import Reallocation, attribution_vs_spend, reallocation

__all__ = ["AttributionReport", "attribution_report", "incremental_by_channel"]


@dataclass(frozen=True)
class AttributionReport:
    """Attribution, attribution beside spend, and the budget move (see the module docstring)."""

    result: AttributionResult
    spend: pl.DataFrame | None = field(default=None, repr=False)
    move: Reallocation | None = None
    model: str = "markov"

    def to_frame(self) -> pl.DataFrame:
        """Attribution beside spend for ``model`` (or, without spend, conversions by channel and model)."""
        if self.spend is None:
            return self.result.to_frame()
        return self.spend.filter(pl.col("model") == self.model)

    @property
    def summary(self) -> pl.DataFrame:
        """Removal effect, Markov share and last-touch share per channel."""
        return self.result.summary

    def __repr__(self) -> str:
        move = "" if self.move is None or self.move.source is None else (
            f", move {self.move.moved:,.0f} from {self.move.source!r} to {self.move.target!r} ({self.move.basis})")
        return (f"AttributionReport({self.result.journeys:,.0f} journeys, {self.result.conversions:,.0f} conversions, "
                f"model={self.model!r}, spend {'given' if self.spend is not None else 'not given'}{move})")

    def describe(self, language: Language = "en") -> list[str]:
        """The attribution sentences, then the budget move."""
        out = self.result.describe(language)
        if self.move is not None:
            out.append(self.move.describe(language))
        return out

    def plot(self, *, ax=None, language: Language = "en"):
        """Spend against attributed value when spend is known, else each model's credit per channel."""
        if self.spend is None:
            return self.result.plot(ax=ax, language=language)
        from custlab.attribution.plots import plot_attribution_vs_spend

        return plot_attribution_vs_spend(self.spend, model=self.model, ax=ax, language=language)

    def key_figures(self) -> dict[str, Any]:
        """Strict-JSON headline numbers: each channel's removal effect and Markov share, and the move."""
        channels = [{k: (v if not isinstance(v, float) or math.isfinite(v) else None) for k, v in r.items()}
                    for r in self.summary.iter_rows(named=True)]
        move = None if self.move is None or self.move.source is None else {
            "basis": self.move.basis, "from": self.move.source, "to": self.move.target, "moved": self.move.moved,
            "gain": self.move.gain}
        return {"channels": channels, "conversions": self.result.conversions, "journeys": self.result.journeys,
                "reallocation": move}


def incremental_by_channel(effect) -> pl.DataFrame:
    """Incremental revenue and cost per channel from a campaign effect whose campaigns carry a ``channel``.

    ``effect`` is a :class:`custlab.campaigns.CampaignEffect` computed on a
    campaigns table with a ``channel`` column; its summary is joined to the
    campaigns' channels by ``campaign_id``. Pass ``campaigns`` channels as
    ``effect.summary`` extended with a ``channel`` column if needed.
    """
    summary = effect.summary if hasattr(effect, "summary") else effect
    if "channel" not in summary.columns:
        raise ValueError("the campaign summary has no 'channel' column; add each campaign's channel first.")
    return summary.group_by("channel").agg(pl.col("incremental_revenue").sum(), pl.col("cost").sum())


def attribution_report(
    touches: Frame,
    transactions: Frame | None = None,
    *,
    spend: Frame | None = None,
    incremental: Frame | None = None,
    within: str | int | dt.timedelta = "30d",
    conversions: Conversions = "all",
    model: str = "markov",
    share: float = 0.25,
) -> AttributionReport:
    """Attribute the touches, set the credit beside spend, and suggest a budget move.

    Parameters
    ----------
    touches, transactions, within, conversions
        As in :func:`custlab.attribution.attribute` (or journeys / a path table, without transactions).
    spend
        Canonical ``marketing_spend`` for the same period (optional).
    incremental
        Per-channel incremental revenue and cost from randomised tests
        (``channel``, ``incremental_revenue``, ``cost``; see
        :func:`incremental_by_channel`); without it the move uses attributed returns.
    model
        The model whose credit is set beside spend (``"markov"``).
    share
        Share of the weakest channel's budget to move.
    """
    parse_within(within)  # a bad window fails here, before any work
    result = attribute(touches, transactions, within=within, conversions=conversions)
    if spend is None:
        return AttributionReport(result, None, None, model)
    table = attribution_vs_spend(result, spend)
    move = reallocation(table, incremental=incremental, model=model, share=share)
    return AttributionReport(result, table, move, model)
