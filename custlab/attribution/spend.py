"""Attribution next to spend, and moving budget by *incremental* rather than average returns.

:func:`attribution_vs_spend` puts each model's attributed conversions and
value beside the channel's spend: cost per attributed conversion and
attributed return per unit of spend (ROAS). Attributed returns are averages:
they say what a channel's journeys brought, not what one more unit of spend
would bring.

:func:`reallocation` moves a share of the budget from the channel with the
lowest return to the one with the highest. With campaign tests per channel
(``incremental``: each channel's incremental revenue and cost from randomised
tests, e.g. :attr:`custlab.campaigns.CampaignEffect.summary`), the returns are
incremental returns and the move is what the tests support; without them it
falls back to attributed ROAS and says so (``basis``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from custlab._i18n import label, t
from custlab._money import from_micros, micros
from custlab._types import Frame, Language
from custlab.data.schema import check_frame, require_columns, validate
from custlab.exceptions import CustlabError

__all__ = ["Reallocation", "attribution_vs_spend", "reallocation"]


def _credit_table(attribution: Any) -> pl.DataFrame:
    """Long ``channel, model, conversions, value`` from an AttributionResult or such a table."""
    table = attribution.credit if hasattr(attribution, "credit") else attribution
    if not isinstance(table, pl.DataFrame):
        raise CustlabError("attribution must be an AttributionResult or a table with channel, model, conversions, value.")
    require_columns(table, ["channel", "model", "conversions", "value"], table="attribution")
    return table


def attribution_vs_spend(attribution: Any, spend: Frame, *, models: tuple[str, ...] | None = None) -> pl.DataFrame:
    """Attributed conversions and value per channel and model, beside the channel's spend.

    Parameters
    ----------
    attribution
        :class:`custlab.attribution.AttributionResult` (or its ``credit`` table).
    spend
        Canonical ``marketing_spend`` (``month``, ``channel``, ``spend``); filter
        it to the journeys' period first. Summed per channel.
    models
        Models to keep (default all in the attribution).

    Returns
    -------
    polars.DataFrame
        ``channel``, ``model``, ``conversions``, ``value``, ``spend`` (0 for
        unpaid channels), ``cost_per_conversion`` and ``roas`` (value / spend;
        null without spend or conversions), by channel then model.
    """
    credit = _credit_table(attribution)
    if models is not None:
        credit = credit.filter(pl.col("model").is_in(list(models)))
    check_frame(spend, argument="spend")
    sp = (validate(spend, "marketing_spend").lazy().group_by("channel").agg(micros("spend").sum())  # in any order
          .collect().with_columns(from_micros(pl.col("spend"))))
    negative = sp.filter(pl.col("spend") < 0)
    if negative.height:
        raise CustlabError(f"spend is negative for {negative['channel'].to_list()}; spend must be >= 0.")
    out = credit.join(sp, on="channel", how="full", coalesce=True)
    models_present = credit["model"].unique(maintain_order=True).to_list()
    unpaid_only = out.filter(pl.col("model").is_null())
    if unpaid_only.height:  # spend on a channel no journey touched: one row per model with 0 credit
        filler = unpaid_only.select("channel", "spend").join(pl.DataFrame({"model": models_present}), how="cross")
        out = pl.concat([out.filter(pl.col("model").is_not_null()),
                         filler.with_columns(pl.lit(0.0).alias("conversions"), pl.lit(0.0).alias("value"))],
                        how="diagonal_relaxed")
    return out.with_columns(pl.col("spend").fill_null(0.0)).with_columns(
        pl.when((pl.col("spend") > 0) & (pl.col("conversions") > 0)).then(pl.col("spend") / pl.col("conversions"))
        .otherwise(None).alias("cost_per_conversion"),
        pl.when(pl.col("spend") > 0).then(pl.col("value") / pl.col("spend")).otherwise(None).alias("roas"),
    ).select("channel", "model", "conversions", "value", "spend", "cost_per_conversion", "roas").sort("channel", "model")


@dataclass(frozen=True)
class Reallocation:
    """A budget move: ``share`` of ``source``'s spend to ``target``, and what the returns say it gains."""

    basis: str  # "incremental" or "attributed"
    source: str | None
    target: str | None
    moved: float
    gain: float
    table: pl.DataFrame

    def to_frame(self) -> pl.DataFrame:
        """Per channel: ``spend``, ``return_per_spend`` (on the basis), ``new_spend``."""
        return self.table

    def describe(self, language: Language = "en") -> str:
        """One sentence: what to move where, on which basis, and the caveat that goes with it."""
        if self.source is None or self.target is None:
            return t("attribution.realloc.none", language)
        key = "attribution.realloc.incremental" if self.basis == "incremental" else "attribution.realloc.attributed"
        return t(key, language, moved=f"{self.moved:,.0f}", source=label(self.source, language),
                 target=label(self.target, language), gain=f"{self.gain:,.0f}")

    def __repr__(self) -> str:
        return f"Reallocation({self.describe()!r})"


def reallocation(table: pl.DataFrame, *, incremental: Frame | None = None, model: str = "markov",
                 share: float = 0.25) -> Reallocation:
    """Move ``share`` of the worst channel's spend to the best one, judged by incremental returns when known.

    Parameters
    ----------
    table
        Output of :func:`attribution_vs_spend`.
    incremental
        Optional per-channel results of randomised tests: ``channel``,
        ``incremental_revenue`` and ``cost`` (the test's spend). When given,
        only channels with a test are compared, on incremental revenue per
        unit of cost; otherwise attributed ROAS of ``model`` is used.
    model
        The attribution model whose ROAS is the fallback basis.
    share
        Share of the source channel's spend to move (0.25).
    """
    if not 0 < share <= 1:
        raise CustlabError(f"share must be in (0, 1], got {share!r}.")
    base = table.filter(pl.col("model") == model, pl.col("spend") > 0).select("channel", "spend", "roas")
    if base.height == 0 and table.height:
        raise CustlabError(f"model {model!r} is not in the table or no channel has spend; models: "
                           f"{table['model'].unique().to_list()}.")
    if incremental is not None:
        check_frame(incremental, argument="incremental")
        require_columns(incremental, ["channel", "incremental_revenue", "cost"], table="incremental")
        tests = incremental.lazy().group_by("channel").agg(pl.col("incremental_revenue").sum(), pl.col("cost").sum()).collect()
        returns = base.join(tests, on="channel", how="inner").with_columns(
            pl.when(pl.col("cost") > 0).then(pl.col("incremental_revenue") / pl.col("cost")).otherwise(None)
            .alias("return_per_spend")).drop("incremental_revenue", "cost", "roas")
        basis = "incremental"
    else:
        returns = base.rename({"roas": "return_per_spend"})
        basis = "attributed"
    ranked = returns.filter(pl.col("return_per_spend").is_not_null()).sort("return_per_spend")
    if ranked.height < 2 or ranked["return_per_spend"][0] >= ranked["return_per_spend"][-1]:
        return Reallocation(basis, None, None, 0.0, 0.0, returns.with_columns(pl.col("spend").alias("new_spend")))
    worst, best = ranked.row(0, named=True), ranked.row(-1, named=True)
    moved = worst["spend"] * share
    gain = moved * (best["return_per_spend"] - worst["return_per_spend"])
    new = returns.with_columns(
        pl.when(pl.col("channel") == worst["channel"]).then(pl.col("spend") - moved)
        .when(pl.col("channel") == best["channel"]).then(pl.col("spend") + moved)
        .otherwise(pl.col("spend")).alias("new_spend"))
    return Reallocation(basis, worst["channel"], best["channel"], moved, gain, new)
