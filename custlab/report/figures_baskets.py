"""What customers buy together, shown as rules a manager can act on.

Rules are :func:`custlab.rules.manager_rules` on the baskets of the last
``rules_months`` months: product variants (names equal once colour, size and
pack-size words are removed) form one product family, the rules are mined on
baskets of families, so no rule links two colours of one product, one rule is
kept per set of families, and rules across categories come first, then across
products, then between related products (one range or design). The page shows
the top rules; ``rules.csv`` holds every family rule (``all_rules``) with the
product codes of each side, and ``cross_sell.csv`` the customers each rule
points to (:func:`custlab.rules.cross_sell`, with the product codes).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from custlab._i18n import t
from custlab._types import LANGUAGES
from custlab.report.context import Context
from custlab.report.exports_tables import finish_export
from custlab.report.parts import Absent, Finding, SectionFigures, Table
from custlab.report.text import Count, Data, Num, Pct, Text, render

__all__ = ["SHOWN", "baskets", "manager_rules"]

#: Rules shown in the page.
SHOWN = 10
#: ``across`` values of :func:`custlab.rules.manager_rules` by catalogue key (they are written in one language).
_ACROSS = ("categories", "products", "related")


def _columns(history: pl.DataFrame) -> tuple[str, str | None]:
    """The item and code columns rules are mined on: product names with codes beside them, else codes."""
    if "product_name" in history.columns:
        return "product_name", "product_id" if "product_id" in history.columns else None
    if "product_id" in history.columns:
        return "product_id", None
    raise Absent(Text("report.absent.products", {}), Text("report.absent.products_fix", {}))


def manager_rules(ctx: Context) -> tuple[Any, pl.DataFrame, str, str | None]:
    """The month's :class:`custlab.rules.ManagerRules`, the order lines they were mined on, item and code columns (cached)."""
    def build():
        from custlab import rules

        item, code = _columns(ctx.history)
        start = ctx.as_of - dt.timedelta(days=round(30.4375 * ctx.setting("rules_months")))
        recent = ctx.history.filter(pl.col("order_date") >= start, pl.col(item).is_not_null())
        found = rules.manager_rules(recent, item=item, code=code, top_n=SHOWN,
                                    min_support=ctx.setting("rules_min_support"),
                                    min_confidence=ctx.setting("rules_min_confidence"), language="en")
        return found, recent, item, code

    return ctx.cached("rules", build)


def _joined(items: list[str]) -> str:
    return " + ".join(str(x) for x in items)


def _across(frame: pl.DataFrame) -> pl.Series:
    """The rule's ``across`` in every language (manager_rules wrote it in English)."""
    key = {t(f"rules.across_{k}", "en"): k for k in _ACROSS}
    return pl.Series("across", [{lang: t(f"rules.across_{key[v]}", lang) if v in key else v for lang in LANGUAGES}
                                for v in frame["across"].to_list()])


def baskets(ctx: Context) -> SectionFigures:
    """Section "What they buy together"."""
    found, recent, item, code = manager_rules(ctx)
    support, confidence = ctx.setting("rules_min_support"), ctx.setting("rules_min_confidence")
    months = ctx.setting("rules_months")
    if "order_date" in recent.columns and recent.height:  # a shorter history: the months it has (Ta-Feng: 4, not 12)
        months = min(months, recent["order_date"].dt.truncate("1mo").n_unique())
    n_baskets = recent["order_id"].n_unique()
    every = found.all_rules
    if every.height == 0:
        return SectionFigures("baskets", (Text("report.baskets.none", {
            "baskets": Count(n_baskets), "support": Pct(support), "confidence": Pct(confidence, 0),
            "months": Count(months)}),), values={"rules": 0})
    families = found.families
    grouped = families.filter(pl.col("n_variants") > 1)
    counts = dict(every.group_by("across").len().iter_rows())
    with_categories = "category" in recent.columns
    key = "report.baskets.found_categories" if with_categories else "report.baskets.found"
    paragraphs: list[Any] = [Text(key if grouped.height else f"{key}_no_variants", {
        "n": Count(every.height), "baskets": Count(n_baskets), "months": Count(months),
        "names": Count(grouped.height), "families": Count(grouped["family"].n_unique()),
        "categories": Count(counts.get(t("rules.across_categories", "en"), 0)),
        "products": Count(counts.get(t("rules.across_products", "en"), 0)),
        "related": Count(counts.get(t("rules.across_related", "en"), 0))})]
    shown = found.rules.with_columns(antecedent_names=pl.col("antecedent").list.join(" + "),
                                     consequent_names=pl.col("consequent").list.join(" + "))
    best = shown.row(0, named=True)
    sentence = Text("report.baskets.best", {"a": Data(best["antecedent_names"]), "b": Data(best["consequent_names"]),
                                            "conf": Pct(best["confidence"]), "lift": Num(best["lift"], 1)})
    paragraphs.append(sentence)
    shown = shown.with_columns(_across(shown))
    tables = [Table(Text("report.baskets.table", {}), shown,
                    {"antecedent_names": "data", "consequent_names": "data", "confidence": "pct", "lift": "num1",
                     "count": "count", "across": "lang"}, top_n=SHOWN, export="rules.csv")]
    exports = {"rules.csv": _rules_export(ctx, every)}
    findings = []
    suggestions = _cross_sell(ctx, found, recent, item, code)
    if suggestions is not None and suggestions.height:
        exports["cross_sell.csv"] = suggestions
        customers = suggestions["customer_id"].n_unique()
        aov = ctx.value("trend", "aov") or 0.0
        paragraphs.append(Text("report.baskets.cross_sell", {"n": Count(customers)}))
        findings.append(Finding(Text("report.finding.cross_sell", {"n": Count(customers)}),
                                customers * aov * ctx.response_rates["cross_sell"], "baskets"))
    values = {"rules": every.height, "shown_rules": shown.height, "families_with_variants": grouped["family"].n_unique(),
              "across": {k: counts.get(t(f"rules.across_{k}", "en"), 0) for k in _ACROSS},
              "top_rule": f"{best['antecedent_names']} => {best['consequent_names']}"}
    notes = (Text("report.baskets.note", {"support": Pct(support), "confidence": Pct(confidence, 0)}),)
    # no chart: the table holds the same rules and confidences
    return SectionFigures("baskets", tuple(paragraphs), tuple(tables), (), values, tuple(findings), exports, notes=notes)


def _rules_export(ctx: Context, every: pl.DataFrame) -> pl.DataFrame:
    """Every family rule, sides as text with their product codes; ``priority`` = baskets beyond chance."""
    reasons = [render(Text("report.reason.rule", {"a": Data(_joined(a)), "b": Data(_joined(b)), "conf": Pct(c),
                                                  "lift": Num(lift, 1)}), ctx.language, ctx.currency)
               for a, b, c, lift in every.select("antecedent", "consequent", "confidence", "lift").iter_rows()]
    out = every.select(
        antecedent_names=pl.col("antecedent").list.join(" + "), antecedent_ids=pl.col("antecedent_codes").list.join(" / "),
        consequent_names=pl.col("consequent").list.join(" + "), consequent_ids=pl.col("consequent_codes").list.join(" / "),
        support="support", confidence="confidence", lift="lift", count="count",
        across=_across(every).struct.field(ctx.language),
    )
    # baskets holding both sides beyond what chance would put together: count x (1 - 1/lift)
    out = out.with_columns(reason=pl.Series(reasons, dtype=pl.String),
                           priority=pl.col("count") * (1 - 1 / pl.col("lift")))
    return finish_export(out, shares=("support", "confidence"), decimals=2)


def _cross_sell(ctx: Context, found, recent: pl.DataFrame, item: str, code: str | None) -> pl.DataFrame | None:
    """Per customer, the products (families) the rules point to that they have not bought, with codes and a reason."""
    from custlab import rules

    if "customer_id" not in recent.columns:
        return None
    family = found.families.select(pl.col("item").alias(item), "family")
    bought = recent.join(family, on=item, how="left").select("customer_id", item=pl.col("family"))
    products = found.families.select(item=pl.col("family"), product_id=pl.col("code")) if code else None
    suggestions = rules.cross_sell(found.all_rules, bought, top_n=3, products=products, language=ctx.language)
    if suggestions.height == 0:
        return None
    codes = ["item_code"] if "item_code" in suggestions.columns else []
    out = suggestions.select(
        pl.col("customer_id").cast(pl.String), "rank", suggested_name="item",
        **({"suggested_id": pl.col("item_code")} if codes else {}),
        because_names=pl.col("antecedent").list.join(" + "), confidence="confidence", lift="lift", reason="reason",
    ).with_columns(priority=pl.col("confidence") * pl.col("lift"))
    return finish_export(out, shares=("confidence",), decimals=2)
