"""Cross-sell: for each customer, the items the rules point to and that they have not bought yet."""

from __future__ import annotations

import polars as pl

from custlab._i18n import check_language, t
from custlab._types import Frame, Language
from custlab.data.schema import check_frame, require_columns
from custlab.rules.baskets import _check_top_n, _collect, _null_item_fix, _refuse_nulls

__all__ = ["cross_sell"]


def cross_sell(
    rules: Frame,
    history: Frame,
    *,
    top_n: int = 3,
    metric: str = "lift",
    customer: str = "customer_id",
    item: str = "item",
    products: Frame | None = None,
    code: str = "product_id",
    language: Language = "en",
) -> pl.DataFrame:
    """For each customer, the top items suggested by the rules that they have not bought yet.

    A rule fires for a customer whose purchases contain its whole antecedent
    (rules with an empty antecedent fire for everyone); it suggests each item
    of its consequent that the customer has not bought. Each suggested item
    keeps the best rule that suggests it (by ``metric``, then confidence, support),
    and the customer's items are ranked by that rule's ``metric``.

    Parameters
    ----------
    rules : polars DataFrame or LazyFrame
        Output of :func:`association_rules` (``antecedent``, ``consequent`` and
        the ``metric``, ``confidence``, ``support``).
    history : polars DataFrame or LazyFrame
        What customers bought: one row per customer and item, e.g. the output
        of :func:`baskets` (``customer_id``, ``item``); repeats are fine.
    top_n : int, keyword-only, default 3
        Suggestions per customer.
    metric : str, keyword-only, default "lift"
        Rule metric that ranks the suggestions (a column of ``rules``).
    customer, item : str, keyword-only
        Column names in ``history``.
    products : polars DataFrame or LazyFrame, keyword-only, optional
        A table with the ``item`` column and the product ``code`` column (e.g. the order lines,
        with ``item="product_name"``): the suggestion's codes are added beside its name.
    code : str, keyword-only, default "product_id"
        Code column of ``products``.
    language : {"en", "zh"}, keyword-only
        Language of ``reason``.

    Returns
    -------
    pl.DataFrame
        ``customer_id`` (named after ``customer``), ``rank`` (Int64, 1 = best),
        ``item`` (the suggestion), ``item_code`` (String, with ``products``: the item's codes,
        " / " between several), ``support``, ``confidence``, ``lift`` (Float64, of the rule that
        suggests it; ``metric`` too when it is another one), ``antecedent``, ``consequent`` (List:
        that rule) and ``reason`` (String: why this customer gets this item, in ``language``).
        Customers for whom no rule fires have no rows. Sorted by customer, then rank.

    Examples
    --------
    >>> rules = pl.DataFrame({"antecedent": [["tea"], ["cup"]], "consequent": [["cup"], ["saucer"]],
    ...                       "support": [0.2, 0.1], "confidence": [0.6, 0.5], "lift": [2.0, 3.0]})
    >>> hist = pl.DataFrame({"customer_id": [1, 2, 2], "item": ["tea", "tea", "cup"]})
    >>> cross_sell(rules, hist).select("customer_id", "rank", "item", "antecedent").rows()
    [(1, 1, 'cup', ['tea']), (2, 1, 'saucer', ['cup'])]
    """
    top_n = _check_top_n(top_n)
    check_frame(rules, argument="rules")
    needed = list(dict.fromkeys(["antecedent", "consequent", metric, "confidence", "lift", "support"]))
    require_columns(rules, needed, table="rules", purpose="(pass association_rules() output)")
    rule_data = rules.lazy().select(needed).collect().with_row_index("_rule")
    hist = _collect(history, [customer, item], table="history", argument="history",
                    purpose="for cross-sell")
    _refuse_nulls(hist, customer, group=None, what="", fix="Drop the rows without a customer first.")
    _refuse_nulls(hist, item, group=customer, what="customer", fix=_null_item_fix(item))
    hist = hist.unique()
    item_dtype = rule_data.schema["consequent"].inner
    if hist.schema[item] != item_dtype:
        hist = hist.with_columns(pl.col(item).cast(item_dtype))
    hist = hist.rename({item: "_item", customer: "_customer"})

    ant = rule_data.select("_rule", _item=pl.col("antecedent")).explode("_item").drop_nulls("_item")
    size = rule_data.select("_rule", _size=pl.col("antecedent").list.len())
    met = hist.join(ant, on="_item").group_by("_customer", "_rule").agg(_hit=pl.len())
    fired = met.join(size, on="_rule").filter(pl.col("_hit") == pl.col("_size")).select("_customer", "_rule")
    empty_rules = size.filter(pl.col("_size") == 0).select("_rule")
    if empty_rules.height:
        everyone = hist.select("_customer").unique()
        fired = pl.concat([fired, everyone.join(empty_rules, how="cross")])
    suggested = (
        fired.join(rule_data.select("_rule", _item=pl.col("consequent")).explode("_item"), on="_rule")
        .join(hist, on=["_customer", "_item"], how="anti")
        .join(rule_data, on="_rule")
        .sort(["_customer", "_item", metric, "confidence", "support", "_rule"],
              descending=[False, False, True, True, True, False], nulls_last=True)
        .unique(["_customer", "_item"], keep="first", maintain_order=True)
        .sort(["_customer", metric, "confidence", "support", "_item"],
              descending=[False, True, True, True, False], nulls_last=True)
        .with_columns(rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("_customer"))
        .filter(pl.col("rank") <= top_n)
    )
    metrics = list(dict.fromkeys(["support", "confidence", "lift", metric]))
    out = suggested.select(
        pl.col("_customer").alias(customer), "rank", pl.col("_item").alias("item"),
        *[pl.col(m).cast(pl.Float64) for m in metrics], "antecedent", "consequent",
    )
    if products is not None:
        out = _with_codes(out, products, item=item, code=code, dtype=item_dtype)
    return out.with_columns(reason=_reason(out, language))


def _with_codes(out: pl.DataFrame, products: Frame, *, item: str, code: str, dtype: pl.DataType) -> pl.DataFrame:
    """The suggestions with ``item_code`` after ``item``: the item's distinct codes, sorted, " / " between."""
    check_frame(products, argument="products")
    require_columns(products, [item, code], table="products", purpose="for product codes")
    codes = (
        products.lazy().select(pl.col(item).cast(dtype).alias("item"), pl.col(code).cast(pl.String).alias("item_code"))
        .drop_nulls().unique().group_by("item").agg(pl.col("item_code").sort().str.join(" / ")).collect()
    )
    out = out.join(codes, on="item", how="left", maintain_order="left")
    columns = out.columns
    columns.insert(columns.index("item") + 1, columns.pop(columns.index("item_code")))
    return out.select(columns)


def _reason(out: pl.DataFrame, language: str) -> pl.Series:
    """One sentence per suggestion: what the customer bought and how often such baskets hold the item."""
    check_language(language)
    return pl.Series("reason", [
        t("rules.cross_sell_reason" if ant else "rules.cross_sell_reason_all", language,
          a=" + ".join(map(str, ant)), b=str(item), share=f"{conf:.0%}", lift=f"{lift:.1f}")
        for ant, item, conf, lift in out.select("antecedent", "item", "confidence", "lift").iter_rows()
    ], dtype=pl.String)

