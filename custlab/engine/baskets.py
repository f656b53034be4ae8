"""Basket counts on any engine: baskets, item and pair counts, frequent itemsets level by level, sequential rules.

The engine paths of :func:`custlab.rules.baskets`,
:func:`custlab.rules.frequent_itemsets` and :func:`custlab.rules.sequential_rules`.
Itemsets are counted level by level (Apriori) with joins on the engine: the
baskets holding a frequent ``k``-itemset are extended by their later frequent
items and the ``k+1``-itemsets counted; only the frequent itemsets (and their
counts) come back to the driver, and the result is the same table as
custlab's own miner. On Spark, :mod:`custlab.engine.spark` offers MLlib's
FPGrowth and PrefixSpan behind the same calls.

The level-wise miner passes each level's frequent itemsets back to the engine
as a list of keys (``is_in``), which suits up to some 100,000 frequent itemsets
per level; beyond that, use FPGrowth on Spark.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import narwhals as nw
import polars as pl

from custlab._dates import as_datetime, parse_within
from custlab._types import DateLike
from custlab.engine._nw import (
    backend, check_columns, collect, count_where, day_number, epoch_day, lazy, running,
)
from custlab.exceptions import CustlabError, EmptyDataError
from custlab.rules import engine as miner
from custlab.rules.association import _mined_from_itemsets
from custlab.rules.baskets import _check_len, _check_share, _check_support, _itemsets_frame, _null_item_fix

__all__ = ["baskets", "frequent_itemsets", "item_counts", "pair_counts", "sequential_rules"]

_SEP = "\x1f"  # joins the items of an itemset into one key (a character items do not hold)


def _refuse_nulls(frame: nw.LazyFrame, columns: Sequence[str], function: str, fixes: dict[str, str]) -> None:
    """Count nulls in ``columns`` on the engine; raise naming the column, the count and the fix."""
    counts = collect(frame.select(*[count_where(nw.col(c).is_null()).alias(c) for c in columns])).row(0, named=True)
    for column in columns:
        if counts[column]:
            raise CustlabError(f"custlab.{function}: column '{column}' has {counts[column]:,} null value(s). "
                               f"{fixes[column]}")


def baskets(transactions: object, *, by: str = "order_id", item: str = "product_id",
            as_of: DateLike | None = None) -> Any:
    """:func:`custlab.rules.baskets` on the engine: the basket table, **left on the engine** (native lazy frame).

    One row per distinct (``basket_id``, ``item``), with ``customer_id``
    (the smallest of the basket's customers: one per order in shop data) and
    ``order_date`` (the basket's earliest) when present. It is as long as
    the order lines, so nothing is collected: pass it on to
    :func:`frequent_itemsets` (or custlab's public ``frequent_itemsets``),
    which mines it where it is.
    """
    function = "rules.baskets"
    frame = lazy(transactions, function=function)
    present = frame.collect_schema().names()
    extra = [c for c in ("customer_id", "order_date") if c in present and c not in (by, item)]
    end_at = as_datetime(as_of, "as_of")
    check_columns(frame, {by: "any", item: "any", **({"order_date": "date"} if end_at else {})}, function=function)
    with running(function, frame):
        dated = ["order_date"] if end_at is not None and "order_date" not in (by, item) else []
        _refuse_nulls(frame, [by, item, *dated], function, {
            by: f"Every line needs a basket: drop or fill the rows without '{by}' on the engine.",
            item: _null_item_fix(item), "order_date": "Drop or fix the lines without a date first."})
        if end_at is not None:
            frame = frame.filter(nw.col("order_date") < end_at)
        if not collect(frame.select(nw.len())).item():
            when = f"No line is dated before as_of={as_of!r}" if end_at is not None else "The table has no rows"
            raise EmptyDataError(f"custlab.{function}: {when}: there are no baskets to build.")
        items = frame.select(basket_id=nw.col(by), item=nw.col(item)).unique()
        if extra:
            aggs = {c: (nw.col(c).min()) for c in extra}
            items = items.join(frame.group_by(by).agg(**aggs).rename({by: "basket_id"}), on="basket_id", how="left")
    return nw.to_native(items)


def _basket_items(frame: object, basket: str, item: str, function: str) -> tuple[nw.LazyFrame, int]:
    """Distinct (``_b``, ``_i``) rows of a basket table, checked; and the number of baskets."""
    data = lazy(frame, function=function, argument="baskets")
    check_columns(data, {basket: "any", item: "any"}, function=function, table="baskets")
    with running(function, data):
        _refuse_nulls(data, [basket, item], function, {
            basket: f"Every row needs a basket: drop or fill the rows without '{basket}'.", item: _null_item_fix(item)})
        pairs = data.select(_b=nw.col(basket), _i=nw.col(item)).unique()
        n = collect(pairs.select(nw.col("_b").n_unique())).item()
    if not n:
        raise EmptyDataError(f"custlab.{function}: the baskets table is empty (0 rows); there are no baskets to mine.")
    return pairs, int(n)


def item_counts(baskets: object, *, basket: str = "basket_id", item: str = "item") -> pl.DataFrame:
    """Baskets holding each item, counted on the engine: ``item``, ``count`` (Int64), most frequent first."""
    pairs, _ = _basket_items(baskets, basket, item, "engine.item_counts")
    with running("engine.item_counts", pairs):
        out = collect(pairs.group_by("_i").agg(count=nw.len().cast(nw.Int64)))
    return out.rename({"_i": "item"}).sort(["count", "item"], descending=[True, False])


def pair_counts(baskets: object, *, min_count: int = 1, basket: str = "basket_id", item: str = "item"
                ) -> pl.DataFrame:
    """Baskets holding each pair of items (at least ``min_count``), counted on the engine.

    Returns ``item_a`` < ``item_b``, ``count`` (Int64), most frequent first.
    """
    function = "engine.pair_counts"
    pairs, _ = _basket_items(baskets, basket, item, function)
    with running(function, pairs):
        frequent = pairs.group_by("_i").agg(_n=nw.len()).filter(nw.col("_n") >= min_count).select("_i")
        base = pairs.join(frequent, on="_i", how="semi")
        out = collect(_extend(base.rename({"_i": "_i1"}), base, 1).group_by("_i1", "_i2")
                      .agg(count=nw.len().cast(nw.Int64)).filter(nw.col("count") >= min_count))
    return out.rename({"_i1": "item_a", "_i2": "item_b"}).sort(["count", "item_a", "item_b"],
                                                              descending=[True, False, False])


def _extend(rows: nw.LazyFrame, base: nw.LazyFrame, k: int) -> nw.LazyFrame:
    """Rows (``_b``, ``_i1``..``_ik``) extended by each later item of their basket (``_i{k+1}``)."""
    nxt = f"_i{k + 1}"
    return rows.join(base.rename({"_i": nxt}), on="_b").filter(nw.col(nxt) > nw.col(f"_i{k}"))


def _key(k: int) -> nw.Expr:
    parts = [nw.col(f"_i{j}").cast(nw.String) for j in range(1, k + 1)]
    return parts[0] if k == 1 else nw.concat_str(parts, separator=_SEP)


def frequent_itemsets(baskets: object, *, min_support: float, max_len: int | None = None, basket: str = "basket_id",
                      item: str = "item", method: str = "auto") -> pl.DataFrame:
    """:func:`custlab.rules.frequent_itemsets` on the engine holding ``baskets``: the same table.

    ``method``: ``"levelwise"`` (Apriori by joins, any engine), ``"fpgrowth"``
    (Spark MLlib's FPGrowth, PySpark only) or ``"auto"`` (FPGrowth on PySpark,
    level-wise elsewhere).
    """
    function = "rules.frequent_itemsets"
    min_support = _check_support(min_support)
    max_len = _check_len(max_len, "max_len", minimum=1)
    if method not in ("auto", "levelwise", "fpgrowth"):
        raise CustlabError(f"method must be 'auto', 'levelwise' or 'fpgrowth', got {method!r}.")
    pairs, n = _basket_items(baskets, basket, item, function)
    if method == "fpgrowth" or (method == "auto" and backend(pairs) == "pyspark"):
        from custlab.engine import spark

        return spark.frequent_itemsets(baskets, min_support=min_support, max_len=max_len, basket=basket, item=item)
    min_count = miner.min_count_for(min_support, n)
    found: list[pl.DataFrame] = []
    with running(function, pairs):
        singles = collect(pairs.group_by("_i").agg(count=nw.len().cast(nw.Int64))
                          .filter(nw.col("count") >= min_count))
        keys = singles["_i"].cast(pl.String).to_list()
        base = pairs.filter(nw.col("_i").cast(nw.String).is_in(keys))
        rows, level, k = base.rename({"_i": "_i1"}), singles.rename({"_i": "_i1"}), 1
        while level.height and (max_len is None or k < max_len) and level.height >= 2:
            found.append(level)
            rows = _extend(rows.filter(_key(k).is_in(_keys(level, k))), base, k)
            k += 1
            cols = [f"_i{j}" for j in range(1, k + 1)]
            level = collect(rows.group_by(*cols).agg(count=nw.len().cast(nw.Int64))
                            .filter(nw.col("count") >= min_count))
        if level.height:
            found.append(level)
    return _as_itemsets(found, n, item_dtype=singles.schema["_i"])


def _keys(level: pl.DataFrame, k: int) -> list[str]:
    cols = [pl.col(f"_i{j}").cast(pl.String) for j in range(1, k + 1)]
    return level.select(pl.concat_str(cols, separator=_SEP))[:, 0].to_list()


def _as_itemsets(levels: list[pl.DataFrame], n: int, *, item_dtype: pl.DataType) -> pl.DataFrame:
    """The frequent_itemsets table from per-level counts (``_i1``..``_ik``, ``count``), sorted as custlab's own."""
    frames = [lv.select(itemset=pl.concat_list([c for c in lv.columns if c.startswith("_i")]), count="count")
              for lv in levels if lv.height]
    return _itemsets_table(pl.concat(frames) if frames else None, n, item_dtype=item_dtype)


def _itemsets_table(found: pl.DataFrame | None, n: int, *, item_dtype: pl.DataType) -> pl.DataFrame:
    """The frequent_itemsets table from ``itemset`` (List) and ``count`` columns, sorted as custlab's own."""
    if found is None or found.height == 0:
        return pl.DataFrame(schema={"itemset": pl.List(item_dtype), "support": pl.Float64, "count": pl.Int64,
                                    "length": pl.Int64})
    mined, names, total = _mined_from_itemsets(found.with_columns(support=pl.col("count") / n))
    return _itemsets_frame(mined, names, total)


# ---------------------------------------------------------------------------
# Sequential rules
# ---------------------------------------------------------------------------


def sequential_rules(
    transactions: object, *, within: str | int | dt.timedelta = "90d", item: str = "product_id",
    min_support: float = 0.01, min_confidence: float = 0.0, as_of: DateLike | None = None, complete_window: bool = True,
    antecedents: Sequence | None = None, consequents: Sequence | None = None, candidates: pl.DataFrame | None = None,
    method: str = "auto",
) -> pl.DataFrame:
    """:func:`custlab.rules.sequential_rules` on the engine holding ``transactions``: the same table.

    Each customer's first purchase of A is joined on the engine to their
    purchases in the next ``within`` days; the pairs are counted there and only
    the rules come back. ``candidates`` (``antecedent``, ``consequent``; from
    :func:`custlab.engine.spark.sequential_patterns`) restricts the pairs
    counted, without changing the counts. ``method``: ``"joins"`` (any engine),
    ``"prefixspan"`` (PySpark: PrefixSpan's pairs as ``candidates``) or
    ``"auto"`` (PrefixSpan on PySpark, joins elsewhere).
    """
    function = "rules.sequential_rules"
    if method not in ("auto", "joins", "prefixspan"):
        raise CustlabError(f"method must be 'auto', 'joins' or 'prefixspan', got {method!r}.")
    if candidates is None and (method == "prefixspan" or (
            method == "auto" and backend(lazy(transactions, function=function)) == "pyspark")):
        from custlab.engine import spark

        return spark.sequential_rules(transactions, within=within, item=item, min_support=min_support,
                                      min_confidence=min_confidence, as_of=as_of, complete_window=complete_window,
                                      antecedents=antecedents, consequents=consequents)
    window = parse_within(within)
    if window is None or window.total_seconds() % 86400 or window < dt.timedelta(days=1):
        raise CustlabError(f"within must be a whole number of days such as '90d' or '4w' (sequential rules count "
                           f"calendar days), got {within!r}.")
    w = window.days
    end_at = as_datetime(as_of, "as_of")
    min_support = _check_support(min_support)
    min_confidence = _check_share(min_confidence, "min_confidence", allow_zero=True)
    frame = lazy(transactions, function=function)
    check_columns(frame, {"customer_id": "any", "order_date": "date", item: "any"}, function=function)
    with running(function, frame):
        _refuse_nulls(frame, ["customer_id", "order_date", item], function, {
            "customer_id": "Sequential rules follow customers: drop the lines without a customer first.",
            "order_date": "Drop or fix the lines without a date first.", item: _null_item_fix(item)})
        if end_at is not None:
            frame = frame.filter(nw.col("order_date") < end_at)
        bought = frame.select("customer_id", _d=epoch_day(nw.col("order_date")), _a=nw.col(item)).unique()
        stats = collect(bought.select(customers=nw.col("customer_id").n_unique(), last=nw.col("_d").max()))
        n_customers, last = stats.row(0)
        if not n_customers:
            raise CustlabError(f"custlab.{function}: no order is before as_of={as_of!r}: there is no history to "
                               f"find rules in.")
        end = last + 1 if end_at is None else day_number(end_at)
        min_count = miner.min_count_for(min_support, n_customers)
        firsts = bought.group_by("customer_id", "_a").agg(_d=nw.col("_d").min())
        buyers = firsts.group_by("_a").agg(_n=nw.len()).filter(nw.col("_n") >= min_count)
        if consequents is not None:
            buyers = buyers.filter(nw.col("_a").is_in(list(consequents)))
        anchors = firsts if antecedents is None else firsts.filter(nw.col("_a").is_in(list(antecedents)))
        if complete_window:
            anchors = anchors.filter(nw.col("_d") + w < end)
        at_risk = collect(anchors.group_by("_a").agg(n_antecedent=nw.len().cast(nw.Int64))
                          .filter(nw.col("n_antecedent") >= min_count))
        anchors = anchors.filter(nw.col("_a").is_in(at_risk["_a"].to_list()))
        later = bought.join(buyers.select(_b="_a"), left_on="_a", right_on="_b", how="semi").rename(
            {"_a": "_b", "_d": "_e"})
        follows = (
            anchors.join(later, on="customer_id")
            .filter((nw.col("_e") > nw.col("_d")) & (nw.col("_e") <= nw.col("_d") + w) & (nw.col("_b") != nw.col("_a")))
        )
        if candidates is not None:
            keys = candidates.select(pl.concat_str([pl.col("antecedent").cast(pl.String),
                                                    pl.col("consequent").cast(pl.String)], separator=_SEP))
            follows = follows.filter(nw.concat_str([nw.col("_a").cast(nw.String), nw.col("_b").cast(nw.String)],
                                                   separator=_SEP).is_in(keys[:, 0].to_list()))
        rules = collect(
            follows.group_by("customer_id", "_a", "_b").agg(_lag=(nw.col("_e") - nw.col("_d")).min())
            .group_by("_a", "_b").agg(count=nw.len().cast(nw.Int64),
                                      median_lag_days=nw.col("_lag").cast(nw.Float64).median())
            .filter(nw.col("count") >= min_count)
        )
        starts = bought.group_by("customer_id").agg(_s=nw.col("_d").min())
        if complete_window:
            starts = starts.filter(nw.col("_s") + w < end)
        n_starts = collect(starts.select(nw.len())).item()
        baseline = collect(
            starts.join(bought, on="customer_id")
            .filter((nw.col("_d") > nw.col("_s")) & (nw.col("_d") <= nw.col("_s") + w))
            .select("customer_id", "_a").unique().group_by("_a").agg(_base=nw.len().cast(nw.Int64))
        )
    return _rules_table(rules, at_risk, baseline, n_starts, n_customers, min_confidence)


def _rules_table(rules: pl.DataFrame, at_risk: pl.DataFrame, baseline: pl.DataFrame, n_starts: int,
                 n_customers: int, min_confidence: float) -> pl.DataFrame:
    confidence = pl.col("count") / pl.max_horizontal(pl.col("n_antecedent"), 1)
    base = pl.col("_base").fill_null(0) / max(n_starts, 1)
    out = (
        rules.join(at_risk, on="_a", how="left")
        .join(baseline.rename({"_a": "_b"}), on="_b", how="left")
        .select(
            antecedent="_a", consequent="_b", n_antecedent=pl.col("n_antecedent").cast(pl.Int64),
            count=pl.col("count").cast(pl.Int64), support=pl.col("count") / n_customers,
            confidence=confidence, baseline=base,
            lift=pl.when(base > 0).then(confidence / base).otherwise(float("inf")),
            median_lag_days=pl.col("median_lag_days").cast(pl.Float64),
        )
    )
    return out.filter(pl.col("confidence") >= min_confidence).sort(
        ["lift", "confidence", "count", "antecedent", "consequent"], descending=[True, True, True, False, False])
