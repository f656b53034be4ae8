"""Next best action: one action per customer, with the product, the channel, the reason and its value.

The section is :func:`custlab.recommend.next_best_action` on the history
before ``as_of``, fed with what the report already computed, so the numbers
agree with the other sections: P(alive) and the expected order value of the
CLV section (:func:`~custlab.report.figures_clv.customer_values`), the churn
risk of the early-warning model when it ran (else 1 - P(alive)), the value
tiers' recency gate (``dormant_days``) and the report's response rates
(``--response-rate``). Its list is the ``next_best_action.csv`` export: ids as
text, product codes beside the names, a reason per customer, and ``priority``
= the expected value of the action (P(alive) x expected order value x response
rate), highest first.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from custlab.report.context import Context
from custlab.report.exports_tables import finish_export
from custlab.report.figures_actions import no_impact
from custlab.report.figures_clv import customer_values, history_days
from custlab.report.parts import Absent, SectionFigures, Table
from custlab.report.text import Count, Data, Label, Money, Text, tr

__all__ = ["NBA_EXPORT", "nba", "nba_export", "nba_figures", "recommendations_call"]

#: The export's relative path.
NBA_EXPORT = "next_best_action.csv"
#: Columns of the export, in order (``rank``: 1 = first to contact).
EXPORT_COLUMNS = ("customer_id", "rank", "action_id", "action", "product_id", "product_name", "channel", "reason",
                  "segment", "p_alive", "p_churn", "expected_spend", "response_rate", "priority")


def nba_inputs(ctx: Context) -> dict[str, Any]:
    """The keyword arguments the report passes to :func:`custlab.recommend.next_best_action`."""
    from custlab.report.figures_churn import warning_history_short, warning_result

    ranked = customer_values(ctx)
    values = ranked.select("customer_id", "p_alive", "expected_spend")
    # customers the warning model does not score: 1 - P(alive); where that is the observed return rate (no purchase
    # model gives a P(alive)) the reason says so (Olist: "of the customers silent 11 days or more, 0.2% bought
    # again", where it had said "churn risk 100%")
    risk = ranked.select("customer_id", p_churn=1.0 - pl.col("p_alive"), observed=~pl.col("modelled"))
    try:
        warning = warning_result(ctx)
    except Exception:  # noqa: BLE001 - without the early-warning model the risk is 1 - P(alive) where a model gives it
        warned = None
    else:  # a model its section calls unreliable does not rank anybody here either
        warned = (warning.to_frame().select("customer_id", pl.col("p_churn").alias("_warned")) if warning.reliable
                  else None)
    if warned is not None:
        risk = (risk.join(warned, on="customer_id", how="left")
                .select("customer_id", p_churn=pl.coalesce("_warned", "p_churn"),
                        observed=pl.col("observed") & pl.col("_warned").is_null()))
    if warning_history_short(ctx):  # no silence has reached the churn window: an observed return rate is no risk
        # (Ta-Feng's 92 days had sent 6,395 retention offers on "of the customers silent 19 days or more, only 50%
        # bought again")
        risk = risk.with_columns(p_churn=pl.when(pl.col("observed")).then(None).otherwise(pl.col("p_churn")))
    return {"as_of": ctx.as_of, "customers": ctx.customers, "values": values, "risk": risk,
            "response_rates": dict(ctx.response_rates), "dormant_days": ctx.setting("dormant_days"),
            "language": ctx.language}



def recommendations_call(ctx: Context) -> tuple[Any, tuple, dict[str, Any]]:
    """The call of :func:`custlab.recommend.nba_recommendations`, the product lists of the next best action.

    They need no other section, so ``custlab report``'s helper process
    computes them while the kernel computes the sections before this one.
    """
    from custlab.recommend import nba_recommendations

    if "product_id" not in ctx.history.columns:
        raise Absent(Text("report.absent.products", {}), Text("report.absent.products_fix", {}))
    return nba_recommendations, (ctx.history,), {"as_of": ctx.as_of, "language": ctx.language}


def nba_figures(ctx: Context) -> Any:
    """:func:`custlab.recommend.next_best_action` with the report's inputs (cached per report)."""
    from custlab.recommend import next_best_action

    lists = ctx.cached_call("nba_recommendations", recommendations_call(ctx))
    return ctx.cached("next_best_action", lambda: next_best_action(ctx.history, recommendations=lists,
                                                                   **nba_inputs(ctx)))


def nba_export(frame: pl.DataFrame, language: str = "en") -> pl.DataFrame:
    """The NBA table as the CRM list: ``rank`` for the package's priority, ``priority`` = expected value, and each
    ``action`` named as the page names it (the list said "专人挽回：客户经理致电或致信……" where the page says
    "一对一挽回")."""
    out = frame.rename({"priority": "rank"}).rename({"expected_value": "priority"})
    if "action_id" in out.columns:
        names = {a: tr(f"action.{a}", language) for a in out["action_id"].unique().drop_nulls().to_list()}
        names = {a: name for a, name in names.items() if name != f"action.{a}"}  # no page name: the list's own
        out = out.with_columns(action=pl.col("action_id").replace_strict(names, default=pl.col("action"),
                                                                         return_dtype=pl.String))
    return finish_export(out.select([c for c in EXPORT_COLUMNS if c in out.columns]),
                         money=("expected_spend", "priority"), shares=("p_alive", "p_churn", "response_rate"))


def nba(ctx: Context) -> SectionFigures:
    """Section "Next best action": customers per action and their expected value; the list is the export."""
    result = nba_figures(ctx)
    table = result.to_frame()
    summary = result.summary.with_columns(action=pl.lit("action.") + pl.col("action_id"))
    total = float(table["expected_value"].sum()) if table.height else 0.0
    paragraphs = []
    unranked = no_impact(ctx) if summary.height else None
    if unranked is not None:
        paragraphs.append(unranked)
    elif summary.height:
        top = summary.row(0, named=True)
        paragraphs.append(Text("report.nba.line", {"customers": Count(table.height), "value": Money(total),
                                                   "actions": Count(summary.height), "action": Label(top["action"]),
                                                   "n": Count(top["customers"]), "top": Money(top["expected_value"])}))
    else:
        paragraphs.append(Text("report.nba.none", {}))
    shown = Table(Text("report.nba.table", {}), summary, {"action": "label", "customers": "count",
                                                          "expected_value": "money"})
    rates = dict(table.group_by("action_id").agg(pl.col("response_rate").first()).rows())
    per_action = {r["action_id"]: {"customers": r["customers"], "expected_value": r["expected_value"],
                                   "response_rate": rates[r["action_id"]]} for r in summary.iter_rows(named=True)}
    values = {"customers": table.height, "expected_value": total, "actions": per_action}
    from custlab.report.figures_churn import warning_history_short

    if warning_history_short(ctx):
        days, window = history_days(ctx), ctx.setting("inactivity_days")
        paragraphs.append(Text("report.nba.short_history", {"days": Count(days), "window": Count(window),
                                                            "need": Count(window + ctx.setting("warning_days"))}))
    notes = (Text("report.nba.note", {"file": Data(NBA_EXPORT)}),)
    return SectionFigures("nba", tuple(paragraphs), (shown,), (), values,
                          exports={NBA_EXPORT: nba_export(table, ctx.language)}, notes=notes)
