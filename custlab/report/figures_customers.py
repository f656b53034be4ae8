"""Value tiers: who the customers are worth, and how they moved since last month.

Segments are the value tiers of :func:`custlab.segments.value_tier_rules` on
RFM at the month's ``as_of``: recency gates every tier, so no "High value"
customer has been silent beyond ``dormant_days``. Customer lifetime value is
in :mod:`custlab.report.figures_clv`.
"""

from __future__ import annotations

import datetime as dt
from functools import partial

import polars as pl

from custlab.report.context import Context
from custlab.report.exports_tables import finish_export
from custlab.report.parts import Finding, SectionFigures, Table
from custlab.report.text import Count, Days, Label, Money, Pct, Text, render_rows

__all__ = ["moved_text", "segment_table", "segments", "tier_page"]


# -- segments ------------------------------------------------------------------------------------------------
def segment_table(ctx: Context) -> pl.DataFrame:
    """Every customer's value tier at ``as_of``: RFM columns, scores, ``segment`` (English labels)."""
    from custlab import segments as sg

    def build() -> pl.DataFrame:
        rfm = sg.rfm_table(ctx.history, as_of=ctx.as_of)
        scores = sg.rfm_scores(rfm)
        rules = sg.value_tier_rules(dormant_days=ctx.setting("dormant_days"))  # recency gates every tier
        return sg.rfm_segments(scores, rules=rules, language="en").with_columns(pl.col("segment").cast(pl.String))

    return ctx.cached("segments", build)


def _segment_reason(ctx: Context, frame: pl.DataFrame) -> pl.Series:
    columns = {"segment": (Label, frame["segment"]), "orders": (Count, frame["frequency"]),
               "spend": (partial(Money, compact=False), frame["monetary"]), "days": (Days, frame["recency"])}
    return pl.Series(render_rows("report.reason.segment", columns, ctx.language, ctx.currency), dtype=pl.String)


def segments(ctx: Context) -> SectionFigures:
    """Section "Value tiers": sizes, revenue, concentration and movement since last month."""
    from custlab import segments as sg

    seg = segment_table(ctx)
    summary = sg.segment_summary(seg).filter(pl.col("customers") > 0)
    dormant_days = ctx.setting("dormant_days")
    silent = int(seg.filter(pl.col("segment") == "High value", pl.col("recency") >= dormant_days).height)
    paragraphs, table, values, findings = tier_page(summary, sg.top_share(seg), seg.height, silent,
                                                    _migration(ctx), dormant_days)
    export = seg.select(
        pl.col("customer_id").cast(pl.String), "segment", "recency", "frequency", "monetary",
        *[c for c in ("last_order",) if c in seg.columns],
    )
    export = export.with_columns(reason=_segment_reason(ctx, export), priority=pl.col("monetary"))
    # no chart: the table shows each tier's share of customers and revenue (a chart costs time and adds nothing)
    return SectionFigures("segments", tuple(paragraphs), (table,), (), values, tuple(findings),
                          {"segments.csv": finish_export(export, money=("monetary", "priority"))})


def tier_page(summary: pl.DataFrame, top_share: float, customers: int, high_value_silent: int, moved: Text | None,
              dormant_days: int) -> tuple[list, Table, dict, list]:
    """Paragraphs, table, key figures and findings of the value tiers from :func:`custlab.segments.segment_summary`'s
    table (also the engine report's, :mod:`custlab.report.figures_engine`)."""
    paragraphs: list = [Text("report.segments.line", {
        "segment": Label(r["segment"]), "customers": Count(r["customers"]), "share": Pct(r["customer_share"]),
        "rev": Pct(r["revenue_share"]), "recency": Days(r["median_recency"])}) for r in summary.iter_rows(named=True)]
    paragraphs.append(Text("report.segments.concentration", {"top": Pct(top_share)}))
    values = {
        "top_share_50": top_share, "customers": customers,
        "segments": {r["segment"]: {"customers": r["customers"], "customer_share": r["customer_share"],
                                    "revenue_share": r["revenue_share"]} for r in summary.iter_rows(named=True)},
        "high_value_silent": high_value_silent,
    }
    if moved is not None:
        paragraphs.append(moved)
    lapsed = summary.filter(pl.col("segment").is_in(["Dormant", "Can't lose them", "Can't Lose Them", "At risk"]))
    findings = [Finding(Text("report.finding.lapsed", {
        "segment": Label(r["segment"]), "customers": Count(r["customers"]), "revenue": Money(r["revenue"]),
        "days": Count(dormant_days)}), 0.25 * r["revenue"], "segments") for r in lapsed.iter_rows(named=True)]
    table = Table(Text("report.segments.table", {}), summary,
                  {"segment": "label", "customers": "count", "customer_share": "pct", "revenue": "money",
                   "revenue_share": "pct", "avg_order_value": "money", "median_recency": "days",
                   "median_frequency": "num1"})
    return paragraphs, table, values, findings


def moved_text(counts: dict, dormant_days: int) -> Text:
    """The sentence on movements between tiers since last month."""
    return Text("report.segments.moved", {"up": Count(counts["up"]), "down": Count(counts["down"]),
                                          "react": Count(counts["react"]), "new": Count(counts["new"]),
                                          "days": Count(dormant_days)})


def _snapshot(ctx: Context, as_of: dt.datetime) -> pl.DataFrame:
    from custlab import segments as sg

    rfm = sg.rfm_table(ctx.history.filter(pl.col("order_date") < as_of), as_of=as_of)
    rules = sg.value_tier_rules(dormant_days=ctx.setting("dormant_days"))
    return sg.rfm_segments(sg.rfm_scores(rfm), rules=rules).select("customer_id", "value_rank", "recency", "frequency")


def _migration(ctx: Context) -> Text | None:
    """Movements between tiers since the end of last month (the movements of :func:`custlab.segments.segment_migration`,
    for the one month the report needs), when the data reach back that far."""
    if ctx.previous_window is None:
        return None
    before = _snapshot(ctx, ctx.start)
    now = segment_table(ctx).select("customer_id", "value_rank", "recency", "frequency")
    joined = now.join(before, on="customer_id", how="left", suffix="_prev")
    dormant = ctx.setting("dormant_days")
    counts = joined.select(
        new=pl.col("value_rank_prev").is_null().sum(),
        react=((pl.col("recency_prev") >= dormant) & (pl.col("frequency") > pl.col("frequency_prev"))).sum(),
        up=((pl.col("value_rank") < pl.col("value_rank_prev"))
            & ~((pl.col("recency_prev") >= dormant) & (pl.col("frequency") > pl.col("frequency_prev")))).sum(),
        down=((pl.col("value_rank") > pl.col("value_rank_prev"))
              & ~((pl.col("recency_prev") >= dormant) & (pl.col("frequency") > pl.col("frequency_prev")))).sum(),
    ).row(0, named=True)
    return moved_text(counts, dormant)
