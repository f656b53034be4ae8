"""Campaign results (the ``campaigns`` table) and channel attribution (the ``touches`` table).

"Campaign results" is :func:`custlab.campaigns.campaign_results` on the
campaigns sent before ``as_of``: each campaign's lift against its control
group with the interval, the incremental revenue against the cost, and the
recommended next test. "Channel attribution" is
:func:`custlab.attribution.attribution_report` on the touches before
``as_of``: each channel's credit by the data-driven (Markov) model next to
last touch, beside the channel's spend of the same months when the data hold
a marketing spend table, and the budget move it suggests (on attributed
returns: the report has no incremental returns per channel yet, and says so).

The sentences are the packages' own (``describe(language)``) in each language;
the key figures are the packages' ``key_figures()`` made strict JSON. Without
the table the section is recorded as absent, with what would make it possible.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import polars as pl

from custlab._types import LANGUAGES
from custlab.report.context import Context
from custlab.report.figures_marketing import MOVE_SHARE, spend_window
from custlab.report.parts import Absent, Chart, Finding, SectionFigures, Table
from custlab.report.text import Count, Data, Label, Lang, Money, MonthName, Pct, Text

__all__ = ["CAMPAIGN_WINDOW", "attribution", "campaigns", "described", "in_history", "reachable"]

#: Window after a send in which an order counts as the campaign's result.
CAMPAIGN_WINDOW = "30d"


def described(describe: Callable[[str], Sequence[str] | str]) -> tuple[Lang, ...]:
    """A result's ``describe(language)`` as report paragraphs, one :class:`Lang` per sentence.

    The sentences of each language are paired by position; when the
    languages give different numbers of sentences, each language's text is
    one paragraph.
    """
    said = {}
    for language in LANGUAGES:
        text = describe(language)
        said[language] = [text] if isinstance(text, str) else [s for s in text if s]
    counts = {len(v) for v in said.values()}
    if len(counts) == 1:
        return tuple(Lang({lang: said[lang][i] for lang in LANGUAGES}) for i in range(counts.pop()))
    return (Lang({lang: " ".join(said[lang]) for lang in LANGUAGES}),)


def in_history(frame: pl.DataFrame, column: str, ctx: Context) -> pl.DataFrame:
    """The rows of a side table dated before the report's ``as_of``."""
    return frame.filter(pl.col(column) < ctx.as_of)


# -- campaign results -------------------------------------------------------------------------------------------
def campaign_figures(ctx: Context) -> Any:
    """:func:`custlab.campaigns.campaign_results` on the campaigns sent before ``as_of`` (cached per report)."""
    from custlab.campaigns import campaign_results

    if ctx.campaigns is None:
        raise Absent(Text("report.absent.campaigns", {}), Text("report.absent.campaigns_fix", {}))
    sent = in_history(ctx.campaigns, "sent_date", ctx)
    if sent.height == 0:
        raise Absent(Text("report.absent.campaigns_period", {}), Text("report.absent.campaigns_fix", {}))
    return ctx.cached("campaign_results", lambda: campaign_results(sent, ctx.history, within=CAMPAIGN_WINDOW,
                                                                   margin=ctx.margin, reachable=reachable(ctx)))


def reachable(ctx: Context) -> int:
    """Customers a next test can be sent to: the customers table's, else every customer who bought before ``as_of``
    (the built-in shop's 5,000, not the 30,378 a plan asked for)."""
    buyers = ctx.history["customer_id"].n_unique()
    if ctx.customers is not None and "customer_id" in ctx.customers.columns:
        return max(int(ctx.customers["customer_id"].n_unique()), int(buyers))
    return int(buyers)


def campaigns(ctx: Context) -> SectionFigures:
    """Section "Campaign results": lift with intervals, incremental revenue against cost, the next test."""
    from custlab.report.figures import json_ready

    result = campaign_figures(ctx)
    summary = result.summary
    main = summary.filter(pl.col("campaign_id").cast(pl.String) == str(result.main_campaign)).row(0, named=True)
    table = Table(Text("report.campaigns.table", {}), summary.with_columns(pl.col("campaign_id").cast(pl.String)),
                  {"campaign_id": "id", "group": "label", "n": "count", "n_control": "count", "rate": "pct",
                   "control_rate": "pct", "abs_lift": "pp", "ci_low": "pp", "ci_high": "pp", "p_value": "num3",
                   "incremental_revenue": "money", "cost": "money", "evidence": "label"})
    verdict = ("up" if main["ci_low"] > 0 else "down" if main["ci_high"] < 0 else "unclear")
    title = Text(f"report.campaigns.title_{verdict}", {"campaign": Data(str(result.main_campaign)),
                                                        "lift": Pct(main["rel_lift"] or 0.0)})
    charts = (Chart("campaigns", title, partial(_draw_lift, result)),)
    findings = ()
    if verdict != "unclear" and main.get("incremental_revenue") is not None:
        findings = (Finding(Text(f"report.finding.campaign_{verdict}", {
            "campaign": Data(str(result.main_campaign)), "lift": Pct(main["rel_lift"] or 0.0),
            "revenue": Money(main["incremental_revenue"])}), abs(float(main["incremental_revenue"])), "campaigns"),)
    values = json_ready(result.key_figures())
    notes = (Text("report.campaigns.note", {"days": Count(int(CAMPAIGN_WINDOW[:-1]))}),)
    return SectionFigures("campaigns", described(result.describe), (table,), charts, values, findings, notes=notes)


def _draw_lift(result: Any, language: str):
    return result.plot(language=language)


# -- attribution --------------------------------------------------------------------------------------------------
def attribution(ctx: Context) -> SectionFigures:
    """Section "Channel attribution": each channel's credit by model, beside its spend, and the budget move."""
    from custlab.attribution import attribution_report
    from custlab.report.figures import json_ready

    if ctx.touches is None:
        raise Absent(Text("report.absent.touches", {}), Text("report.absent.touches_fix", {}))
    touches = in_history(ctx.touches, "touch_time", ctx)
    if touches.height == 0:
        raise Absent(Text("report.absent.touches_period", {}), Text("report.absent.touches_fix", {}))
    spend, notes, orders = None, [], ctx.history
    if ctx.spend is not None and not ctx.source.get("sample_size"):
        # the Channels section's window: both sections set the same months of spend beside their returns
        start = spend_window(ctx)
        spend = ctx.spend.filter(pl.col("month") < ctx.as_of.date(), pl.col("month") >= start)
        if spend.height:
            start = max(start, spend["month"].min())
            since = dt.datetime.combine(start, dt.time())
            window_touches = touches.filter(pl.col("touch_time") >= since)
            window_orders = ctx.history.filter(pl.col("order_date") >= since)
            if window_touches.height and window_orders.height:
                touches, orders = window_touches, window_orders
                notes.append(Text("report.attribution.spend_note", {"start": MonthName(start)}))
            else:
                spend = None
        else:
            spend = None
    elif ctx.spend is not None:  # the spend is the whole budget, the touches a sample's
        notes.append(Text("report.attribution.spend_sampled", {"n": Count(ctx.source["sample_size"])}))
    report = attribution_report(touches, orders, spend=spend, incremental=None, share=MOVE_SHARE)
    notes.append(Text("report.attribution.basis", {}))
    summary = report.summary
    paragraphs = described(report.result.describe)
    move = report.move
    if move is not None and move.source is not None and spend is not None:
        source_spend = float(spend.filter(pl.col("channel") == move.source)["spend"].sum())
        fields = {"moved": Money(move.moved), "share": Pct(MOVE_SHARE, 0), "spend": Money(source_spend),
                  "start": MonthName(start), "src": Label(move.source), "dst": Label(move.target),
                  "gain": Money(move.gain)}
        paragraphs += (Text("report.attribution.realloc", fields),)
        other = ctx.value("channels", "reallocation")
        if other and other.get("start") == start.isoformat():
            same = other["from"] == move.source and other["to"] == move.target
            paragraphs += (Text("report.attribution.realloc_vs_channels" if same else "report.attribution.realloc_other",
                                {"gain": Money(move.gain), "channels_gain": Money(other["gain"]),
                                 "src": Label(other["from"]), "dst": Label(other["to"])}),)
    elif move is not None:
        paragraphs += described(move.describe)
    best = summary.sort("markov_share", descending=True).row(0, named=True)
    tables = [Table(Text("report.attribution.table", {}), summary,
                    {"channel": "label", "removal_effect": "pct", "markov_share": "pct", "last_touch_share": "pct"})]
    if report.spend is not None:
        tables.append(Table(Text("report.attribution.spend_table", {}), report.to_frame().sort("roas", descending=True,
                                                                                               nulls_last=True),
                            {"channel": "label", "conversions": "num0", "value": "money", "spend": "money",
                             "cost_per_conversion": "money", "roas": "num2"}))
    title = Text("report.attribution.title", {"channel": Label(best["channel"]), "share": Pct(best["markov_share"], 0)})
    values = json_ready(report.key_figures())
    return SectionFigures("attribution", paragraphs, tuple(tables),
                          (Chart("attribution", title, partial(_draw_attribution, report)),), values,
                          notes=tuple(notes))


def _draw_attribution(report: Any, language: str):
    return report.plot(language=language)
