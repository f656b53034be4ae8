"""The funnel (from the events table) and the channels (from the marketing spend table).

Both sections need a table many shops do not have; without it they are
recorded as *absent* (with the table that would make them possible) rather
than printed as empty sections.
"""

from __future__ import annotations

import datetime as dt
import math
from functools import partial

import polars as pl

from custlab.report import charts
from custlab.report.context import Context
from custlab.report.figures_clv import clv_values
from custlab.report.parts import Absent, Chart, Finding, SectionFigures, Table
from custlab.report.text import Count, Data, Label, Money, MonthName, Num, Pct, Text

__all__ = ["FUNNEL_STEPS", "channels", "funnel", "funnel_steps", "spend_window"]

#: Event sequences the report recognises as funnels, tried in order; the one with most steps present wins.
FUNNEL_STEPS: tuple[tuple[str, ...], ...] = (
    ("exposure", "click", "cart", "pay"),
    ("view", "cart", "purchase"),
    ("page_view", "add_to_cart", "checkout", "purchase"),
    ("view", "add_to_cart", "purchase"),
)
#: Last steps that are a payment: their count can be set beside the month's orders.
PAYMENT_STEPS = frozenset({"pay", "purchase"})
#: Share of the budget the reallocation sentence moves.
MOVE_SHARE = 0.25


def spend_window(ctx: Context) -> dt.date:
    """First month of the spend window the Channels and Channel attribution sections share.

    The twelve months before the analysis date, starting no earlier than the
    month of the first order (spend before any order has nothing to return).
    Both sections measure spend, orders and touches from this month to
    ``as_of``, so the same budget move is made on the same spend.
    """
    start = dt.date(ctx.as_of.year - 1, ctx.as_of.month, 1)
    first = ctx.history["order_date"].min() if ctx.history is not None and ctx.history.height else None
    if first is not None and dt.date(first.year, first.month, 1) > start:
        start = dt.date(first.year, first.month, 1)
    return start


def funnel_steps(events: pl.DataFrame) -> list[str]:
    """The recognised funnel whose steps the events hold most of (at least two), in order; [] when none."""
    present = set(events["event"].unique().to_list())
    best = max(FUNNEL_STEPS, key=lambda steps: sum(s in present for s in steps))
    steps = [s for s in best if s in present]
    return steps if len(steps) >= 2 else []


def funnel(ctx: Context) -> SectionFigures:
    """Section "Funnel": sessions through the steps this month, and where most are lost."""
    from custlab import funnel as fn

    if ctx.events is None:
        raise Absent(Text("report.absent.events", {}), Text("report.absent.events_fix", {}))
    history = ctx.events.filter(pl.col("event_time") < ctx.as_of)
    month = history.filter(pl.col("event_time") >= ctx.start)
    steps, scope = funnel_steps(month) if month.height else [], Text("report.funnel.scope_month",
                                                                    {"month": MonthName(ctx.month.month)})
    if len(steps) < 2:
        month, steps = history, funnel_steps(history) if history.height else []
        scope = Text("report.funnel.scope_all", {})
    if len(steps) < 2:
        raise Absent(Text("report.absent.funnel_steps", {"steps": Data(" / ".join(" > ".join(s) for s in FUNNEL_STEPS))}),
                     Text("report.absent.funnel_steps_fix", {}))
    unit = "session" if "session_id" in month.columns else "customer"
    table = fn.funnel(month, steps, unit=unit)
    later = table.filter(pl.col("step_number") > 1, pl.col("drop_off_rate").is_not_null())
    worst = later.sort("drop_off_rate", descending=True).row(0, named=True)
    before = table.filter(pl.col("step_number") == worst["step_number"] - 1)["step"].item()
    overall = table.filter(pl.col("step_number") == len(steps))["rate_from_start"].item()
    title = Text("report.funnel.title", {"a": Label(before), "b": Label(worst["step"]), "drop": Pct(worst["drop_off_rate"])})
    paragraphs = [Text("report.funnel.line", {"scope": scope, "start": Count(table["units"][0]),
                                              "overall": Pct(overall), "last": Label(steps[-1]), "a": Label(before),
                                              "b": Label(worst["step"]), "drop": Pct(worst["drop_off_rate"])})]
    paid, orders = int(table["units"][-1]), ctx.value("trend", "orders")
    if steps[-1] in PAYMENT_STEPS and scope.key == "report.funnel.scope_month" and orders and paid < 0.5 * orders:
        # the shop's events recorded 12 payments against 861 orders: the funnel follows part of the traffic only
        paragraphs.append(Text("report.funnel.coverage", {"paid": Count(paid), "orders": Count(orders),
                                                          "step": Label(steps[-1])}))
    shown = Table(Text("report.funnel.table", {}), table,
                  {"step": "label", "units": "count", "rate_from_previous": "pct", "rate_from_start": "pct",
                   "drop_off": "count"})
    findings = ()
    if worst["drop_off_rate"] >= 0.7:
        aov = ctx.value("trend", "aov") or 0.0
        lost = worst["drop_off"] * (overall or 0.0) * aov * 0.05
        findings = (Finding(Text("report.finding.funnel", {"a": Label(before), "b": Label(worst["step"]),
                                                           "drop": Pct(worst["drop_off_rate"])}), lost, "funnel"),)
    values = {"steps": {r["step"]: r["rate_from_previous"] for r in later.iter_rows(named=True)},
              "conversion": overall, "worst_from": before, "worst_step": worst["step"],
              "worst_drop": worst["drop_off_rate"]}
    return SectionFigures("funnel", tuple(paragraphs), (shown,), (Chart("funnel", title, partial(_draw_funnel, table)),),
                          values, findings)


def _draw_funnel(table: pl.DataFrame, language: str):
    from custlab import funnel as fn

    return fn.plot_funnel(table, language=language)


def channels(ctx: Context) -> SectionFigures:
    """Section "Channels": return on spend, cost of a new customer, and what moving budget would have done."""
    from custlab import channels as ch

    if ctx.spend is None:
        raise Absent(Text("report.absent.spend", {}), Text("report.absent.spend_fix", {}))
    if ctx.source.get("sample_size"):  # the spend is the whole budget; the orders are a sample's
        raise Absent(Text("report.absent.spend_sampled", {"n": Count(ctx.source["sample_size"])}),
                     Text("report.absent.spend_sampled_fix", {}))
    start = spend_window(ctx)
    spend = ctx.spend.filter(pl.col("month") < ctx.as_of.date(), pl.col("month") >= start)
    if spend.height == 0:
        raise Absent(Text("report.absent.spend_period", {}), Text("report.absent.spend_fix", {}))
    start = spend["month"].min()  # the window says where the spend starts, never before the data
    try:
        clv_frame = clv_values(ctx).values.select("customer_id", "clv")
    except Exception:  # noqa: BLE001 - channels do without CLV when the CLV section failed
        clv_frame = None
    perf = ch.channel_performance(spend, ctx.history, customers=ctx.customers, clv=clv_frame)
    paid = perf.filter(pl.col("roi").is_not_null(), pl.col("spend") > 0).sort("roi", descending=True)
    paragraphs = [Text("report.channels.line", {"channel": Label(r["channel"]), "roi": Num(r["roi"], 1),
                                                "cac": Money(r["cac"]), "new": Count(r["new_customers"])})
                  for r in paid.iter_rows(named=True)]
    findings, chart_list, move = [], [], None
    if paid.height:
        best, worst = paid.row(0, named=True), paid.row(-1, named=True)
        chart_list.append(Chart("channels", Text("report.channels.title", {
            "best": Label(best["channel"]), "roi": Num(best["roi"], 1), "worst": Label(worst["channel"]),
            "worst_roi": Num(worst["roi"], 1)}), partial(_draw_roi, paid)))
        if paid.height >= 2 and best["roi"] > worst["roi"]:
            moved = worst["spend"] * MOVE_SHARE
            gain = (best["roi"] - worst["roi"]) * moved
            sentence = Text("report.channels.realloc", {
                "share": Pct(MOVE_SHARE, 0), "src": Label(worst["channel"]), "dst": Label(best["channel"]),
                "gain": Money(gain), "moved": Money(moved), "spend": Money(worst["spend"]), "start": MonthName(start)})
            paragraphs.append(sentence)
            findings.append(Finding(sentence, gain, "channels"))
            move = {"basis": "acquisition", "from": worst["channel"], "to": best["channel"], "share": MOVE_SHARE,
                    "moved": moved, "gain": gain, "start": start.isoformat()}
    table = Table(Text("report.channels.table", {}), perf.sort("roi", descending=True, nulls_last=True),
                  {"channel": "label", "spend": "money", "revenue": "money", "roi": "num1", "new_customers": "count",
                   "cac": "money", "clv_to_cac": "num1"})
    values = {"roi": {r["channel"]: r["roi"] for r in paid.iter_rows(named=True)},
              "spend": math.fsum(spend["spend"].to_list()),  # exactly rounded: the same in any row order
              "start": start.isoformat(), "reallocation": move}
    return SectionFigures("channels", tuple(paragraphs), (table,), tuple(chart_list), values, tuple(findings),
                          notes=(Text("report.channels.note", {"start": MonthName(start)}),))


def _draw_roi(paid: pl.DataFrame, language: str):
    from custlab._i18n import t
    from custlab.report.text import tr

    return charts.bar_chart([tr(c, language) for c in paid["channel"].to_list()], paid["roi"].to_list(),
                            kind="ratio", language=language, xlabel=t("report.axis.roi", language))
