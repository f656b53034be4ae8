"""What customers buy together, shown as rules a manager can act on.

Rules are mined on the last ``rules_months`` months of baskets, on product
codes (names beside them). Many strong rules only say that people buy
several colours of one product ("GREEN REGENCY TEACUP" => "PINK REGENCY
TEACUP"); the report groups product *variants* -- names equal once colour
and size words are removed (the description stem), or differing in one word
of the stem ("POPPY'S PLAYHOUSE BEDROOM" / "... KITCHEN") -- and shows one
rule per group of products, rules across categories first when the data
have categories.
The full rule table, variant rules included, goes to ``rules.csv``; the
customers a rule points to go to ``cross_sell.csv``.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import partial

import polars as pl

from custlab.report import charts
from custlab.report.context import Context
from custlab.report.exports_tables import finish_export
from custlab.report.parts import Absent, Chart, Finding, SectionFigures, Table
from custlab.report.text import Count, Data, Num, Pct, Text, render

__all__ = ["VARIANT_WORDS", "baskets", "stem", "variants"]

#: Words that name a variant rather than a product: colours, sizes, finishes (matched whole, any case).
VARIANT_WORDS = frozenset("""
    red pink blue green white black ivory cream yellow orange purple lilac violet grey gray silver gold brown
    beige teal turquoise aqua navy mint lime coral peach rose roses natural clear multicolour multicolor
    colour colours assorted small medium large mini xl xxl s m l
    spot spots spotty retrospot polkadot dots stripe stripes striped
""".split())
_WORD = re.compile(r"[A-Za-z]+")


def stem(name: str | None) -> str | None:
    """The description stem of a product name: the name without its colour and size words.

    >>> stem("GREEN REGENCY TEACUP AND SAUCER"), stem("ROSES REGENCY TEACUP AND SAUCER")
    ('REGENCY TEACUP AND SAUCER', 'REGENCY TEACUP AND SAUCER')
    >>> stem("JUMBO BAG RED RETROSPOT")
    'JUMBO BAG'
    """
    if name is None:
        return None
    words = [w for w in str(name).split() if not (_WORD.fullmatch(w.strip(",.()/")) and w.strip(",.()/").lower()
                                                   in VARIANT_WORDS)]
    return " ".join(words).strip() or str(name).strip()


def variants(a: str, b: str) -> bool:
    """True when two product names are variants of one product: equal stems, or stems of two or more words
    one word apart -- one word replaced, added or left out ("POPPY'S PLAYHOUSE BEDROOM" / "... KITCHEN").

    >>> variants("GREEN REGENCY TEACUP AND SAUCER", "PINK REGENCY TEACUP AND SAUCER")
    True
    >>> variants("RED SPOT CERAMIC DRAWER KNOB", "RED STRIPE CERAMIC DRAWER KNOB")
    True
    >>> variants("REGENCY SUGAR BOWL GREEN", "REGENCY MILK JUG PINK")
    False
    """
    x, y = (stem(a) or "").split(), (stem(b) or "").split()
    if x == y:
        return True
    if min(len(x), len(y)) < 2 or abs(len(x) - len(y)) > 1:
        return False
    if len(x) == len(y):
        return sum(u != v for u, v in zip(x, y)) == 1
    short, long = (x, y) if len(x) < len(y) else (y, x)
    return any(long[:i] + long[i + 1:] == short for i in range(len(long)))


def _families(names: list[str]) -> dict[str, int]:
    """Variant groups of product names (connected by :func:`variants`): name -> group number."""
    parent = list(range(len(names)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            if variants(names[i], names[j]):
                parent[find(i)] = find(j)
    return {name: find(i) for i, name in enumerate(names)}


def _products(history: pl.DataFrame, item: str) -> pl.DataFrame:
    """One row per item: its most frequent name (and category)."""
    name = "product_name" if "product_name" in history.columns else item
    cols = [item, name] + (["category"] if "category" in history.columns and item != "category" else [])
    per = (history.filter(pl.col(item).is_not_null()).group_by(cols).agg(n=pl.len())
           .sort("n", *cols, descending=[True] + [False] * len(cols)).unique(item, keep="first", maintain_order=True))
    out = per.select(pl.col(item).alias("item"), pl.col(name).cast(pl.String).alias("name"),
                     *(["category"] if "category" in cols else []))
    return out


def _mine(ctx: Context) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, str]:
    from custlab import rules

    item = "product_id" if "product_id" in ctx.history.columns else (
        "product_name" if "product_name" in ctx.history.columns else None)
    if item is None:
        raise Absent(Text("report.absent.products", {}), Text("report.absent.products_fix", {}))
    start = ctx.as_of - dt.timedelta(days=round(30.4375 * ctx.setting("rules_months")))
    recent = ctx.history.filter(pl.col("order_date") >= start, pl.col(item).is_not_null())
    basket_table = rules.baskets(recent, item=item)
    itemsets = rules.frequent_itemsets(basket_table, min_support=ctx.setting("rules_min_support"), max_len=3)
    found = rules.association_rules(itemsets, min_confidence=ctx.setting("rules_min_confidence"))
    return found, basket_table, _products(ctx.history, item), item


def _annotate(found: pl.DataFrame, products: pl.DataFrame) -> pl.DataFrame:
    """Rules with names, stems and categories of both sides, and whether they link variants of one product."""
    names = dict(zip(products["item"].cast(pl.String).to_list(), products["name"].to_list()))
    used = sorted({str(x) for side in ("antecedent", "consequent") for items in found[side].to_list() for x in items})
    family = _families([str(names.get(x, x)) for x in used])
    stems = {x: family[str(names.get(x, x))] for x in used}
    cats = dict(zip(products["item"].cast(pl.String).to_list(), products["category"].to_list())) \
        if "category" in products.columns else {}
    rows = []
    for a, c in zip(found["antecedent"].to_list(), found["consequent"].to_list()):
        a, c = [str(x) for x in a], [str(x) for x in c]
        a_stems, c_stems = {stems.get(x, x) for x in a}, {stems.get(x, x) for x in c}
        rows.append({
            "antecedent_ids": " + ".join(a), "antecedent_names": " + ".join(str(names.get(x, x)) for x in a),
            "consequent_ids": " + ".join(c), "consequent_names": " + ".join(str(names.get(x, x)) for x in c),
            "variant": bool(a_stems & c_stems),
            "cross_category": bool(cats) and not ({cats.get(x) for x in a} & {cats.get(x) for x in c}),
            "group": " ".join(map(str, sorted(a_stems | c_stems))),  # one rule per set of product groups
        })
    extra = pl.DataFrame(rows, schema={"antecedent_ids": pl.String, "antecedent_names": pl.String,
                                       "consequent_ids": pl.String, "consequent_names": pl.String,
                                       "variant": pl.Boolean, "cross_category": pl.Boolean, "group": pl.String})
    return pl.concat([found.select("support", "confidence", "lift", "leverage", "count"), extra], how="horizontal")


def _actionable(annotated: pl.DataFrame) -> pl.DataFrame:
    """Rules across products, one per stem pair (the strongest), cross-category first."""
    return (annotated.filter(~pl.col("variant"))
            .sort("cross_category", "lift", "confidence", descending=True)
            .unique("group", keep="first", maintain_order=True))


def baskets(ctx: Context) -> SectionFigures:
    """Section "What they buy together"."""
    found, basket_table, products, item = ctx.cached("rules", lambda: _mine(ctx))
    support, confidence = ctx.setting("rules_min_support"), ctx.setting("rules_min_confidence")
    n_baskets = basket_table["basket_id"].n_unique()
    if found.height == 0:
        return SectionFigures("baskets", (Text("report.baskets.none", {
            "baskets": Count(n_baskets), "support": Pct(support), "confidence": Pct(confidence, 0),
            "months": Count(ctx.setting("rules_months"))}),), values={"rules": 0})
    annotated = _annotate(found, products)
    shown = _actionable(annotated)
    variants = int(annotated["variant"].sum())
    paragraphs = [Text("report.baskets.found", {
        "n": Count(found.height), "baskets": Count(n_baskets), "months": Count(ctx.setting("rules_months")),
        "variants": Count(variants), "groups": Count(shown.height)})]
    chart_list, tables, findings = [], [], []
    if shown.height:
        best = shown.row(0, named=True)
        sentence = Text("report.baskets.best", {"a": Data(best["antecedent_names"]), "b": Data(best["consequent_names"]),
                                                "conf": Pct(best["confidence"]), "lift": Num(best["lift"], 1)})
        paragraphs.append(sentence)
        top = shown.head(10)
        tables.append(Table(Text("report.baskets.table", {}), top,
                            {"antecedent_names": "data", "consequent_names": "data", "confidence": "pct",
                             "lift": "num1", "count": "count"}, max_rows=10))
        labels = [f"{a} → {b}" for a, b in zip(top["antecedent_names"].to_list(), top["consequent_names"].to_list())]
        chart_list.append(Chart("rules", sentence, partial(_draw_rules, labels, top["confidence"].to_list())))
    suggestions = _cross_sell(ctx, found, basket_table, products, annotated)
    exports = {"rules.csv": _rules_export(ctx, annotated)}
    if suggestions is not None and suggestions.height:
        exports["cross_sell.csv"] = suggestions
        customers = suggestions["customer_id"].n_unique()
        aov = ctx.value("trend", "aov") or 0.0
        rate = ctx.response_rates["cross_sell"]
        paragraphs.append(Text("report.baskets.cross_sell", {"n": Count(customers)}))
        findings.append(Finding(Text("report.finding.cross_sell", {"n": Count(customers)}),
                                customers * aov * rate, "baskets"))
    values = {"rules": found.height, "variant_rules": variants, "shown_rules": shown.height,
              "top_rule": shown["group"][0] if shown.height else ""}
    return SectionFigures("baskets", tuple(paragraphs), tuple(tables), tuple(chart_list), values, tuple(findings),
                          exports, notes=(Text("report.baskets.note", {"support": Pct(support),
                                                                       "confidence": Pct(confidence, 0)}),))


def _draw_rules(labels: list[str], confidence: list[float], language: str):
    from custlab._i18n import t

    return charts.bar_chart(labels, confidence, kind="pct", language=language,
                            xlabel=t("report.axis.confidence", language))


def _rules_export(ctx: Context, annotated: pl.DataFrame) -> pl.DataFrame:
    reasons = [
        render(Text("report.reason.rule", {"a": Data(a), "b": Data(b), "conf": Pct(c), "lift": Num(lift, 1)}),
               ctx.language, ctx.currency)
        for a, b, c, lift in annotated.select("antecedent_names", "consequent_names", "confidence", "lift").iter_rows()
    ]
    out = annotated.select("antecedent_ids", "antecedent_names", "consequent_ids", "consequent_names", "support",
                           "confidence", "lift", "leverage", "count", "variant", "cross_category")
    out = out.with_columns(reason=pl.Series(reasons, dtype=pl.String), priority=pl.col("leverage") * 1e4)
    return finish_export(out, shares=("support", "confidence", "leverage"))


def _cross_sell(ctx: Context, found: pl.DataFrame, basket_table: pl.DataFrame, products: pl.DataFrame,
                annotated: pl.DataFrame) -> pl.DataFrame | None:
    from custlab import rules

    if "customer_id" not in basket_table.columns:
        return None
    useful = found.filter(~annotated["variant"])
    if useful.height == 0:
        return None
    suggestions = rules.cross_sell(useful, basket_table.select("customer_id", "item"), top_n=3)
    if suggestions.height == 0:
        return None
    names = products.select(pl.col("item").cast(pl.String), "name")
    out = (suggestions.with_columns(pl.col("item").cast(pl.String))
           .join(names, on="item", how="left")
           .with_columns(because=pl.col("antecedent").list.eval(pl.element().cast(pl.String)).list.join(" + ")))
    reasons = [render(Text("report.reason.cross_sell", {"a": Data(a), "b": Data(b), "conf": Pct(c)}),
                      ctx.language, ctx.currency)
               for a, b, c in out.select("because", "name", "confidence").iter_rows()]
    out = out.select(pl.col("customer_id").cast(pl.String), "rank", pl.col("item").alias("suggested_id"),
                     pl.col("name").alias("suggested_name"), pl.col("because").alias("because_ids"),
                     "confidence", "lift").with_columns(
        reason=pl.Series(reasons, dtype=pl.String), priority=pl.col("confidence") * pl.col("lift"))
    return finish_export(out, shares=("confidence",))
