"""``attribute``: every attribution model on the same journeys, as one frozen result."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl

from custlab._i18n import label, t
from custlab._types import Frame, Language
from custlab.attribution.heuristics import HEURISTICS, heuristic_credit
from custlab.attribution.markov import MarkovModel, markov_model
from custlab.attribution.paths import Conversions, conversion_orders, journeys, path_table
from custlab.attribution.shapley import shapley as shapley_credit
from custlab.data.schema import check_frame
from custlab.exceptions import CustlabError

__all__ = ["MODELS", "AttributionResult", "attribute"]

#: Models :func:`attribute` computes by default, in table order ("shapley" on request).
MODELS = (*HEURISTICS, "markov")


@dataclass(frozen=True)
class AttributionResult:
    """Conversions and value credited to channels by each model, with the Markov chain behind the data-driven one.

    Attributes
    ----------
    credit
        Long table: ``channel``, ``model``, ``conversions``, ``value``,
        ``share`` (of the model's conversions).
    markov
        The fitted :class:`~custlab.attribution.MarkovModel` (removal effects, transitions).
    paths
        The path table the models ran on (``path``, ``conversions``, ``nulls``, ``value``).
    journeys
        Number of journeys (converting and not).
    conversions
        Converting journeys (conversions with at least one touch).
    unattributed
        Orders with no touch in their window (not in any model); None for a path table.
    """

    credit: pl.DataFrame = field(repr=False)
    markov: MarkovModel = field(repr=False)
    paths: pl.DataFrame = field(repr=False)
    journeys: float
    conversions: float
    unattributed: int | None = None
    models: tuple[str, ...] = MODELS

    def to_frame(self) -> pl.DataFrame:
        """Wide table: ``channel`` and the conversions credited by each model, Markov order."""
        wide = self.credit.pivot(on="model", index="channel", values="conversions").fill_null(0.0)
        order = self.markov.attribution["channel"].to_list()
        rank = {c: i for i, c in enumerate(order)}
        wide = wide.with_columns(pl.col("channel").replace_strict(rank, default=len(rank)).alias("_r")).sort("_r", "channel")
        return wide.select("channel", *[m for m in self.models if m in wide.columns])

    @property
    def summary(self) -> pl.DataFrame:
        """Per channel: Markov ``removal_effect``, ``markov_share`` and ``last_touch_share`` (the usual default)."""
        shares = self.credit.pivot(on="model", index="channel", values="share").fill_null(0.0)
        out = self.markov.removal_effects.select("channel", "removal_effect").join(shares, on="channel", how="left")
        cols = ["channel", "removal_effect", pl.col("markov").alias("markov_share")]
        if "last_touch" in out.columns:
            cols.append(pl.col("last_touch").alias("last_touch_share"))
        return out.select(cols).sort("removal_effect", descending=True)

    def per_path(self) -> pl.DataFrame:
        """Markov credit of each converting path: ``path`` (String), ``channel``, ``conversions``, ``value``.

        A path's conversions go to its channels in proportion to their removal effects.
        """
        effects = dict(self.markov.removal_effects.select("channel", "removal_effect").iter_rows())
        rows = []
        for path, conv, value in self.paths.filter(pl.col("conversions") > 0).select("path", "conversions", "value").iter_rows():
            present = list(dict.fromkeys(path))
            total = sum(effects[c] for c in present)
            for c in present:
                w = effects[c] / total if total > 0 else 1.0 / len(present)
                rows.append((" > ".join(path), c, conv * w, value * w))
        return pl.DataFrame(rows, schema={"path": pl.String, "channel": pl.String, "conversions": pl.Float64,
                                          "value": pl.Float64}, orient="row")

    def describe(self, language: Language = "en") -> list[str]:
        """Plain sentences: which channel the data credit most, and how that differs from last touch."""
        summary = self.summary
        top = summary.row(0, named=True)
        out = [t("attribution.describe.top", language, channel=label(top["channel"], language),
                 share=f"{top['markov_share']:.0%}", effect=f"{top['removal_effect']:.0%}",
                 conversions=f"{self.conversions:,.0f}", journeys=f"{self.journeys:,.0f}")]
        if "last_touch_share" in summary.columns:
            diff = summary.with_columns((pl.col("markov_share") - pl.col("last_touch_share")).alias("d")).sort("d")
            under, over = diff.row(-1, named=True), diff.row(0, named=True)
            if under["d"] > 0.02:
                out.append(t("attribution.describe.undervalued", language, channel=label(under["channel"], language),
                             markov=f"{under['markov_share']:.0%}", last=f"{under['last_touch_share']:.0%}"))
            if over["d"] < -0.02:
                out.append(t("attribution.describe.overvalued", language, channel=label(over["channel"], language),
                             markov=f"{over['markov_share']:.0%}", last=f"{over['last_touch_share']:.0%}"))
        if self.unattributed:
            out.append(t("attribution.describe.unattributed", language, n=f"{self.unattributed:,}"))
        if self.paths["nulls"].sum() == 0:
            out.append(t("attribution.describe.no_nulls", language))
        return out

    def plot(self, *, ax=None, language: Language = "en"):
        """Bar chart of each model's share per channel (see :func:`custlab.attribution.plot_attribution`)."""
        from custlab.attribution.plots import plot_attribution

        return plot_attribution(self, ax=ax, language=language)

    def __repr__(self) -> str:
        top = self.summary.row(0, named=True)
        return (f"AttributionResult({self.conversions:,.0f} conversions in {self.journeys:,.0f} journeys; "
                f"Markov credits {top['channel']!r} most ({top['markov_share']:.1%}))")


def attribute(
    data: Frame,
    transactions: Frame | None = None,
    *,
    within: str | int | dt.timedelta = "30d",
    conversions: Conversions = "all",
    models: tuple[str, ...] = MODELS,
    shapley: bool = False,
    half_life: str | int | dt.timedelta = "7d",
    weights: tuple[float, float, float] = (0.4, 0.2, 0.4),
) -> AttributionResult:
    """Attribute conversions to channels with every model on the same journeys.

    Parameters
    ----------
    data
        Touches (``customer_id``, ``touch_time``, ``channel`` or UTM columns)
        together with ``transactions``; or journeys
        (:func:`custlab.attribution.journeys`); or a path table
        (:func:`custlab.attribution.path_table`, ChannelAttribution's layout).
    transactions
        Canonical transactions, when ``data`` are touches.
    within, conversions
        Lookback window and which orders convert (see :func:`custlab.attribution.journeys`).
    models
        Rule-based models to compute (:data:`custlab.attribution.HEURISTICS`)
        and ``"markov"`` (always fitted).
    shapley
        Also compute Shapley-value attribution (model ``"shapley"``).
    half_life, weights
        Settings of the time-decay and position-based rules. A ``half_life``
        in time needs journeys with touch times; with a path table give it
        in touches (an integer), or leave "time_decay" out of ``models``.

    Returns
    -------
    AttributionResult
    """
    check_frame(data)
    frame = data.lazy().collect() if isinstance(data, pl.LazyFrame) else data
    unattributed = None
    if "touch_time" in frame.columns:
        if transactions is None:
            raise CustlabError("touches need the transactions too (attribute(touches, transactions)) to find the conversions.")
        frame = journeys(frame, transactions, within=within, conversions=conversions)
        orders = conversion_orders(transactions, conversions)
        unattributed = orders.height - int(frame["converted"].sum())
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise CustlabError(f"unknown model(s) {unknown}; choose from {MODELS} (and shapley=True).")
    paths = path_table(frame)
    if isinstance(half_life, (str, dt.timedelta)) and "touch_times" not in frame.columns and "time_decay" in models:
        half_life = 1  # a path table has no times: decay by touches, one touch per half-life
    fitted = markov_model(paths)
    parts = [fitted.attribution.with_columns(pl.lit("markov").alias("model"))]
    for model in models:
        if model != "markov":
            source = frame if model == "time_decay" and "touch_times" in frame.columns else paths
            parts.append(heuristic_credit(source, model, half_life=half_life, weights=weights)
                         .with_columns(pl.lit(model).alias("model")))
    chosen = tuple(m for m in models if m != "markov") + ("markov",)
    if shapley:
        parts.append(shapley_credit(paths).select("channel", "conversions", "value").with_columns(pl.lit("shapley").alias("model")))
        chosen += ("shapley",)
    credit = pl.concat([p.select("channel", "model", pl.col("conversions").cast(pl.Float64),
                                 pl.col("value").cast(pl.Float64)) for p in parts])
    credit = credit.with_columns((pl.col("conversions") / pl.col("conversions").sum().over("model")).fill_nan(0.0).alias("share"))
    total = float(paths["conversions"].sum())
    return AttributionResult(credit, fitted, paths, float(total + paths["nulls"].sum()), total, unattributed, chosen)
