"""Association rules: frequent itemsets, rules, sequential and seasonal rules, cross-sell, plots.

Market-basket analysis on canonical transactions (see :mod:`custlab.schema`):

* :func:`baskets` turns order lines into a long basket table (one row per
  basket and item), the input of everything else here;
* :func:`frequent_itemsets` finds every itemset in at least ``min_support`` of
  the baskets, with its support and basket count;
* :func:`association_rules` derives rules ``X => Y`` with support, confidence,
  lift, leverage, conviction, Zhang's metric, Jaccard, certainty and
  Kulczynski; single-item consequents by default (the R ``arules``
  convention), any consequent on request;
* :func:`sequential_rules` finds "bought A, then B within W days" across a
  customer's orders, with the median lag;
* :func:`seasonal_rules` measures rules within each month (or week, quarter)
  or within user-given windows (the weeks before a festival) against the rest
  of the data;
* :func:`cross_sell` suggests, for each customer, the items that the rules
  point to and that the customer has not bought yet, with the rule;
* :func:`plot_rules`, :func:`plot_rule_network`, :func:`plot_rule_matrix`
  draw the rules.

Counting conventions
--------------------
A basket counts an item once, however many lines hold it. Support thresholds
are turned into the smallest integer basket count ``c`` with
``c / n_baskets >= min_support`` and confidence thresholds are compared on the
ratio of two integer counts, so a rule exactly at a threshold is kept, as in
``arules`` and ``mlxtend`` (no floating-point drift at the boundary).
The rule length is ``|X| + |Y|`` (``arules``' ``minlen``/``maxlen``); a rule
with an empty antecedent, ``{} => {y}`` (confidence = support of ``y``), is
produced only with ``min_len=1``, as ``arules`` does with its default
``minlen=1``.

The mining engine (:mod:`custlab._itemsets`) is a vertical Eclat on numpy
bitsets over a sparse basket-by-item matrix: no compiled extension, memory
proportional to the (basket, frequent item) pairs, never a dense one-hot
table. On the R ``arules`` Groceries data it gives the published rule counts;
on Online Retail its frequent itemsets equal ``mlxtend.fpgrowth``'s.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import polars as pl
import scipy.sparse as sp

from custlab import _itemsets as engine
from custlab.exceptions import CustlabError, EmptyDataError
from custlab.schema import Frame, check_frame, require_columns

Consequents = Literal["single", "any"]
Period = Literal["week", "month", "quarter"]
Language = Literal["en", "zh"]

#: Rule metrics computed by :func:`association_rules` (all Float64), usable in ``min_metrics``.
METRICS: tuple[str, ...] = (
    "antecedent_support",
    "consequent_support",
    "support",
    "confidence",
    "lift",
    "leverage",
    "conviction",
    "zhangs_metric",
    "jaccard",
    "certainty",
    "kulczynski",
)

_PERIODS: dict[str, str] = {"week": "1w", "month": "1mo", "quarter": "1q"}

_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "support": "support", "confidence": "confidence", "lift": "lift", "leverage": "leverage",
        "conviction": "conviction", "zhangs_metric": "Zhang's metric", "count": "baskets",
        "antecedent_support": "antecedent support", "consequent_support": "consequent support",
        "jaccard": "Jaccard", "certainty": "certainty", "kulczynski": "Kulczynski",
        "antecedent": "antecedent (if bought)", "consequent": "consequent (then bought)",
        "scatter_title": "{n} rules", "network_title": "top {n} rules by {by}",
        "matrix_title": "{value} of the top {n} rules by {by}",
    },
    "zh": {
        "support": "支持度", "confidence": "置信度", "lift": "提升度", "leverage": "杠杆度",
        "conviction": "确信度", "zhangs_metric": "Zhang 指标", "count": "购物篮数",
        "antecedent_support": "前项支持度", "consequent_support": "后项支持度",
        "jaccard": "Jaccard 系数", "certainty": "确定性因子", "kulczynski": "Kulczynski 指标",
        "antecedent": "前项(已购)", "consequent": "后项(推荐)",
        "scatter_title": "{n} 条规则", "network_title": "按{by}排名前 {n} 的规则",
        "matrix_title": "按{by}排名前 {n} 的规则的{value}",
    },
}


# --------------------------------------------------------------------------- checks


def _labels(language: str) -> dict[str, str]:
    if language not in _LABELS:
        raise CustlabError(f"language must be 'en' or 'zh', got {language!r}.")
    return _LABELS[language]


def _check_share(value: object, name: str, *, allow_zero: bool = False, example: str = "") -> float:
    """A number in (0, 1] (or [0, 1] with ``allow_zero``), or a CustlabError naming the argument."""
    low = "[0" if allow_zero else "(0"
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok:
        value = float(value)
        ok = math.isfinite(value) and (value >= 0 if allow_zero else value > 0) and value <= 1
    if not ok:
        raise CustlabError(f"{name} must be a number in {low}, 1], got {value!r}.{example}")
    return float(value)


def _check_support(min_support: object) -> float:
    return _check_share(
        min_support, "min_support",
        example=" It is a share of baskets: 0.01 keeps itemsets found in at least 1% of them.",
    )


def _check_len(value: object, name: str, *, minimum: int) -> int | None:
    if value is None:
        return None
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        raise CustlabError(f"{name} must be an integer >= {minimum} or None, got {value!r}.")
    return int(value)


def _collect(frame: Frame, columns: Sequence[str], *, table: str, argument: str, purpose: str) -> pl.DataFrame:
    """Select ``columns`` (collecting a LazyFrame), refusing empty tables."""
    check_frame(frame, argument=argument)
    require_columns(frame, list(columns), table=table, purpose=purpose)
    data = frame.lazy().select(list(columns)).collect()
    if data.height == 0:
        raise EmptyDataError(f"The {table} table is empty (0 rows); there are no baskets to mine.")
    return data


def _refuse_nulls(data: pl.DataFrame, column: str, *, group: str | None, what: str, fix: str) -> None:
    n_null = data[column].null_count()
    if n_null:
        where = ""
        if group is not None and group != column and group in data.columns:
            groups = data.filter(pl.col(column).is_null())[group].unique(maintain_order=True)
            where = f" in {groups.len()} {what}(s), e.g. {groups.head(5).to_list()}"
        raise CustlabError(f"Column '{column}' has {n_null} null value(s){where}. {fix}")


def _null_item_fix(column: str) -> str:
    return (
        f"A basket cannot hold an unknown item: drop those rows "
        f"(.filter(pl.col('{column}').is_not_null())) or fill them "
        f"(.with_columns(pl.col('{column}').fill_null('unknown'))) first."
    )


# --------------------------------------------------------------------------- encoding


def _codes(values: pl.Series, *, names: bool) -> tuple[np.ndarray, pl.Series | None, int]:
    """Integer codes of a column without nulls; with ``names``, codes follow the sorted values.

    Returns the codes, the values by code (or None) and the number of codes.
    Integers within a moderate range are offset directly; anything else is
    grouped by a hash aggregation (no global categorical mapping is left behind).
    """
    dtype = values.dtype
    if dtype.is_integer():
        raw = values.to_numpy()
        low, high = int(raw.min()), int(raw.max())
        span = high - low + 1
        if span <= max(4 * len(raw), 1 << 16) and high < (1 << 62):
            codes = raw.astype(np.int64) - low
            if not names:
                return codes, None, span
            present = np.bincount(codes, minlength=span) > 0
            new = np.cumsum(present) - 1
            labels = pl.Series(values.name, np.arange(low, high + 1)[present]).cast(dtype)
            return new[codes], labels, int(present.sum())
    if isinstance(dtype, (pl.Categorical, pl.Enum)):
        values = values.cast(pl.String)
    groups = values.to_frame("v").with_row_index("i").group_by("v").agg("i")
    sizes = groups["i"].list.len().to_numpy()
    codes = np.empty(len(values), dtype=np.int64)
    codes[groups["i"].explode().to_numpy()] = np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)
    if not names:
        return codes, None, len(sizes)
    labels = groups["v"]
    perm = labels.arg_sort().to_numpy()
    rank = np.empty(len(perm), dtype=np.int64)
    rank[perm] = np.arange(len(perm))
    return rank[codes], labels.gather(perm).alias(values.name), len(perm)


class _Baskets:
    """A basket table encoded as a sparse basket-by-item matrix."""

    def __init__(self, data: pl.DataFrame, basket: str, item: str) -> None:
        self.basket_codes, _, n_rows = _codes(data[basket], names=False)
        self.item_codes, names, n_items = _codes(data[item], names=True)
        self.names = names
        self.x = engine.incidence(self.basket_codes, self.item_codes, n_rows, n_items)
        self.nonempty = np.diff(self.x.indptr) > 0
        self.n_baskets = int(self.nonempty.sum())

    def rows(self, mask: np.ndarray) -> tuple[sp.csr_array, int]:
        sub = self.x[np.flatnonzero(mask & self.nonempty)]
        return sub, int(sub.shape[0])


def _list_series(codes: np.ndarray, names: pl.Series, name: str) -> pl.Series:
    """A List column with the names of each row of a 2-D code array."""
    n, k = codes.shape
    inner = names.dtype
    if n == 0:
        return pl.Series(name, [], dtype=pl.List(inner))
    if k == 0:
        return pl.Series(name, [[]] * n, dtype=pl.List(inner))
    flat = names.gather(codes.ravel())
    return flat.reshape((n, k)).cast(pl.List(inner)).alias(name)


def _itemsets_frame(mined: engine.Mined, names: pl.Series, n: int) -> pl.DataFrame:
    parts = []
    for k in sorted(mined.codes):
        codes, counts = mined.codes[k], mined.counts[k]
        order = np.lexsort(tuple(codes[:, j] for j in range(k - 1, -1, -1)) + (-counts,))
        codes, counts = codes[order], counts[order]
        parts.append(pl.DataFrame({
            "itemset": _list_series(codes, names, "itemset"),
            "support": counts / n,
            "count": pl.Series(counts, dtype=pl.Int64),
            "length": pl.Series(np.full(len(counts), k), dtype=pl.Int64),
        }))
    if not parts:
        return pl.DataFrame(schema={"itemset": pl.List(names.dtype), "support": pl.Float64,
                                    "count": pl.Int64, "length": pl.Int64})
    return pl.concat(parts)


# --------------------------------------------------------------------------- baskets and itemsets


def baskets(transactions: Frame, *, by: str = "order_id", item: str = "product_id") -> pl.DataFrame:
    """One row per basket and item, from order lines.

    Parameters
    ----------
    transactions : polars DataFrame or LazyFrame
        Canonical transactions (or any table) with the columns ``by`` and
        ``item``; ``customer_id`` and ``order_date`` are carried along when
        present.
    by : str, keyword-only, default "order_id"
        Column defining a basket: ``"order_id"`` for market baskets,
        ``"customer_id"`` for everything a customer ever bought.
    item : str, keyword-only, default "product_id"
        Column naming the item: ``"product_id"``, ``"product_name"``,
        ``"category"``, ...

    Returns
    -------
    pl.DataFrame
        ``basket_id`` (dtype of ``by``), ``item`` (dtype of ``item``; categorical
        becomes String), and, when the input has them, ``customer_id`` (the
        basket's first customer) and ``order_date`` (Datetime, the basket's
        earliest). One row per distinct (basket, item), sorted by basket then
        item. Several lines of one item in a basket count once.

    Raises
    ------
    SchemaError
        ``by`` or ``item`` is not a column.
    EmptyDataError
        The table has no rows.
    CustlabError
        ``by`` or ``item`` holds nulls (the message counts them and says how to
        drop or fill them: nothing is dropped silently).

    Examples
    --------
    >>> tx = pl.DataFrame({"order_id": [1, 1, 1, 2], "customer_id": [7, 7, 7, 8],
    ...                    "product_id": ["tea", "cup", "tea", "tea"]})
    >>> baskets(tx).rows()
    [(1, 'cup', 7), (1, 'tea', 7), (2, 'tea', 8)]
    """
    check_frame(transactions, argument="transactions")
    present = transactions.collect_schema().names()
    extra = [c for c in ("customer_id", "order_date") if c in present and c not in (by, item)]
    data = _collect(transactions, list(dict.fromkeys([by, item, *extra])), table="transactions",
                    argument="transactions", purpose="to build baskets")
    _refuse_nulls(data, by, group=None, what="basket",
                  fix=f"Every line needs a basket: drop or fill the rows without '{by}'.")
    _refuse_nulls(data, item, group=by, what="basket", fix=_null_item_fix(item))
    items = data.select(basket_id=pl.col(by), item=pl.col(item)).with_columns(
        pl.col("item").cast(pl.String) if isinstance(data.schema[item], (pl.Categorical, pl.Enum)) else pl.col("item")
    ).unique().sort("basket_id", "item")
    if not extra:
        return items
    aggs = []
    if "customer_id" in extra:
        aggs.append(pl.col("customer_id").first())
    if "order_date" in extra:
        aggs.append(pl.col("order_date").min())
    info = data.group_by(pl.col(by).alias("basket_id")).agg(aggs)
    return items.join(info, on="basket_id", how="left", maintain_order="left")


def frequent_itemsets(
    baskets: Frame,
    *,
    min_support: float,
    max_len: int | None = None,
    basket: str = "basket_id",
    item: str = "item",
) -> pl.DataFrame:
    """Every itemset found in at least ``min_support`` of the baskets.

    Parameters
    ----------
    baskets : polars DataFrame or LazyFrame
        Long table, one row per basket and item (repeats count once), e.g.
        from :func:`baskets` or the Groceries file (``basket_id``, ``item``).
    min_support : float in (0, 1], keyword-only
        Minimum share of baskets. An itemset is kept when its basket count
        ``c`` satisfies ``c / n_baskets >= min_support``.
    max_len : int or None, keyword-only, default None
        Longest itemset; None for no limit.
    basket, item : str, keyword-only
        Column names of the basket id and the item.

    Returns
    -------
    pl.DataFrame
        ``itemset`` (List of the item dtype, items sorted), ``support``
        (Float64, count / number of baskets), ``count`` (Int64, baskets
        holding the itemset), ``length`` (Int64), sorted by length, then count
        (descending), then items.

    Raises
    ------
    CustlabError
        ``min_support`` outside (0, 1]; null items or basket ids.
    EmptyDataError
        The table has no rows.

    Examples
    --------
    >>> b = pl.DataFrame({"basket_id": [1, 1, 2, 2, 3], "item": ["a", "b", "a", "b", "a"]})
    >>> frequent_itemsets(b, min_support=0.5).rows()
    [(['a'], 1.0, 3, 1), (['b'], 0.6666666666666666, 2, 1), (['a', 'b'], 0.6666666666666666, 2, 2)]
    """
    min_support = _check_support(min_support)
    max_len = _check_len(max_len, "max_len", minimum=1)
    data = _collect(baskets, [basket, item], table="baskets", argument="baskets",
                    purpose="to mine itemsets")
    _refuse_nulls(data, basket, group=None, what="basket",
                  fix=f"Every row needs a basket: drop or fill the rows without '{basket}'.")
    _refuse_nulls(data, item, group=basket, what="basket", fix=_null_item_fix(item))
    enc = _Baskets(data, basket, item)
    mined = engine.mine(enc.x, min_count=engine.min_count_for(min_support, enc.n_baskets), max_len=max_len)
    return _itemsets_frame(mined, enc.names, enc.n_baskets)


# --------------------------------------------------------------------------- rules


class _Lookup:
    """Counts of mined itemsets by their (sorted) codes."""

    def __init__(self, mined: engine.Mined, n: int, n_items: int) -> None:
        self.n = n
        self.single = np.full(n_items, -1, dtype=np.int64)
        if 1 in mined.codes:
            self.single[mined.codes[1][:, 0]] = mined.counts[1]
        self.tables = {
            k: pl.DataFrame({**{f"c{j}": codes[:, j] for j in range(k)}, "count": mined.counts[k]})
            for k, codes in mined.codes.items() if k >= 2
        }

    def __call__(self, codes: np.ndarray) -> np.ndarray:
        n, k = codes.shape
        if k == 0:
            return np.full(n, self.n, dtype=np.int64)
        if k == 1:
            return self.single[codes[:, 0]]
        if k not in self.tables:
            return np.full(n, -1, dtype=np.int64)
        cols = [f"c{j}" for j in range(k)]
        query = pl.DataFrame({c: codes[:, j] for j, c in enumerate(cols)})
        found = query.join(self.tables[k], on=cols, how="left", maintain_order="left")
        return found["count"].fill_null(-1).to_numpy()


def _rule_blocks(
    mined: engine.Mined, n: int, names: pl.Series, *, min_len: int, max_len: int | None,
    consequents: str, min_confidence: float,
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Rules as blocks of (antecedent codes, consequent codes, count X, count Y, count XY)."""
    lookup = _Lookup(mined, n, len(names))
    blocks = []
    for k in sorted(mined.codes):
        if k < min_len or (max_len is not None and k > max_len):
            continue
        codes, cxy = mined.codes[k], mined.counts[k]
        if consequents == "single":
            splits = [tuple(j for j in range(k) if j != p) for p in range(k)]
        else:
            splits = [tuple(j for j in range(k) if not mask >> j & 1) for mask in range(1, 1 << k)]
        for ant_cols in splits:
            if not ant_cols and min_len > 1:
                continue
            cons_cols = tuple(j for j in range(k) if j not in ant_cols)
            ant, cons = codes[:, list(ant_cols)], codes[:, list(cons_cols)]
            cx, cy = lookup(ant), lookup(cons)
            missing = (cx < 0) | (cy < 0)
            if missing.any():
                row = int(np.flatnonzero(missing)[0])
                part = ant[row] if cx[row] < 0 else cons[row]
                raise CustlabError(
                    f"The itemsets table lacks the subset {_rule_text(_names_of(part, names))} of the itemset "
                    f"{_rule_text(_names_of(codes[row], names))} ({int(missing.sum())} itemset(s) of length {k} "
                    f"lack a subset), so their rules cannot be scored. Pass the whole output of "
                    f"frequent_itemsets() to association_rules(); filter the rules afterwards instead."
                )
            keep = cxy / cx >= min_confidence
            if keep.any():
                blocks.append((ant[keep], cons[keep], cx[keep], cy[keep], cxy[keep]))
    return blocks


def _metrics(cx: np.ndarray, cy: np.ndarray, cxy: np.ndarray, n: int) -> dict[str, np.ndarray]:
    s_a, s_c, s_ac = cx / n, cy / n, cxy / n
    confidence = cxy / cx
    leverage = s_ac - s_a * s_c
    with np.errstate(divide="ignore", invalid="ignore"):
        conviction = np.where(cxy == cx, np.inf, (1.0 - s_c) / (1.0 - confidence))
        denominator = np.maximum(s_ac * (1.0 - s_a), s_a * (s_c - s_ac))
        zhang = np.where(denominator == 0, 0.0, leverage / denominator)
        certainty = np.where(cy == n, 0.0, (confidence - s_c) / (1.0 - s_c))
    return {
        "antecedent_support": s_a,
        "consequent_support": s_c,
        "support": s_ac,
        "confidence": confidence,
        "lift": confidence / s_c,
        "leverage": leverage,
        "conviction": conviction,
        "zhangs_metric": zhang,
        "jaccard": s_ac / (s_a + s_c - s_ac),
        "certainty": certainty,
        "kulczynski": (confidence + cxy / cy) / 2.0,
    }


def _rules_frame(blocks: list, names: pl.Series, n: int) -> pl.DataFrame:
    ant = [_list_series(b[0], names, "antecedent") for b in blocks]
    cons = [_list_series(b[1], names, "consequent") for b in blocks]
    def stack(parts: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    cx, cy, cxy = (stack([b[j] for b in blocks]) for j in (2, 3, 4))
    length = stack([np.full(len(b[4]), b[0].shape[1] + b[1].shape[1]) for b in blocks])
    inner = pl.List(names.dtype)
    frame = pl.DataFrame({
        "antecedent": pl.concat(ant) if ant else pl.Series("antecedent", [], dtype=inner),
        "consequent": pl.concat(cons) if cons else pl.Series("consequent", [], dtype=inner),
        **{k: pl.Series(k, v, dtype=pl.Float64) for k, v in _metrics(cx, cy, cxy, n).items()},
        "count": pl.Series(cxy, dtype=pl.Int64),
        "length": pl.Series(length, dtype=pl.Int64),
    })
    return frame


def _sort_rules(rules: pl.DataFrame) -> pl.DataFrame:
    return rules.sort(["lift", "confidence", "support", "antecedent", "consequent"],
                      descending=[True, True, True, False, False])


def _check_thresholds(min_metrics: Mapping[str, float] | None) -> dict[str, float]:
    if min_metrics is None:
        return {}
    if not isinstance(min_metrics, Mapping):
        raise CustlabError(f"min_metrics must be a mapping such as {{'lift': 1.5}}, got {min_metrics!r}.")
    unknown = [k for k in min_metrics if k not in METRICS]
    if unknown:
        raise CustlabError(f"min_metrics names unknown metric(s) {unknown}; choose from {list(METRICS)}.")
    return {k: float(v) for k, v in min_metrics.items()}


def _mined_from_itemsets(itemsets: Frame) -> tuple[engine.Mined, pl.Series, int]:
    """Decode an itemsets table (from :func:`frequent_itemsets`) back to codes, names and n."""
    check_frame(itemsets, argument="itemsets")
    require_columns(itemsets, ["itemset", "support", "count"], table="itemsets",
                    purpose="(pass the output of frequent_itemsets())")
    data = itemsets.lazy().select("itemset", "support", "count").collect()
    dtype = data.schema["itemset"]
    if isinstance(dtype, pl.Array):
        data = data.with_columns(pl.col("itemset").cast(pl.List(dtype.inner)))
    elif not isinstance(dtype, pl.List):
        raise CustlabError(f"Column 'itemset' must be a List of items (as frequent_itemsets() returns), got {dtype}.")
    inner = data.schema["itemset"].inner
    if data.height == 0:
        return engine.Mined({}, {}), pl.Series("item", [], dtype=inner), 0
    counts = data["count"].cast(pl.Int64).to_numpy()
    support = data["support"].cast(pl.Float64).to_numpy()
    n = int(round(counts[0] / support[0]))
    if n <= 0 or not np.allclose(counts / n, support, rtol=1e-9, atol=0):
        raise CustlabError(
            "Columns 'count' and 'support' of the itemsets table disagree (support must be count / "
            "number of baskets for every row). Pass the output of frequent_itemsets() unchanged."
        )
    lengths = data["itemset"].list.len().to_numpy().astype(np.int64)
    flat = data["itemset"].explode()
    if flat.null_count():
        raise CustlabError("The itemsets table holds empty or null itemsets; pass the output of frequent_itemsets().")
    codes_flat, names, _ = _codes(flat, names=True)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    by_len: dict[int, np.ndarray] = {}
    cnt_len: dict[int, np.ndarray] = {}
    for k in np.unique(lengths).tolist():
        rows = np.flatnonzero(lengths == k)
        codes = np.sort(codes_flat[starts[rows][:, None] + np.arange(k)], axis=1)
        if k > 1 and (np.diff(codes, axis=1) == 0).any():
            raise CustlabError("An itemset in the itemsets table repeats an item; pass the output of frequent_itemsets().")
        by_len[k], cnt_len[k] = codes, counts[rows]
        if len(np.unique(codes, axis=0)) != len(codes):
            raise CustlabError("The itemsets table lists an itemset twice; pass the output of frequent_itemsets().")
    return engine.Mined(by_len, cnt_len), names, n


def association_rules(
    itemsets: Frame,
    *,
    min_confidence: float = 0.8,
    min_lift: float | None = None,
    min_metrics: Mapping[str, float] | None = None,
    min_len: int = 2,
    max_len: int | None = None,
    consequents: Consequents = "single",
) -> pl.DataFrame:
    """Association rules ``X => Y`` from frequent itemsets, with their metrics.

    Every frequent itemset ``I`` gives the rules ``I - Y => Y`` for each
    single item ``Y`` of ``I`` (``consequents="single"``, as R ``arules``) or
    for each non-empty proper subset ``Y`` (``consequents="any"``, as
    ``mlxtend``); a rule's support is that of ``I``.

    Parameters
    ----------
    itemsets : polars DataFrame or LazyFrame
        The output of :func:`frequent_itemsets` (columns ``itemset``,
        ``support``, ``count``), unfiltered: every subset of an itemset must be
        there to score its rules.
    min_confidence : float in [0, 1], keyword-only, default 0.8
        Minimum confidence (``arules`` and ``mlxtend`` default 0.8).
    min_lift : float or None, keyword-only
        Minimum lift.
    min_metrics : mapping, keyword-only
        Further minimums of any metric of :data:`METRICS`, e.g.
        ``{"leverage": 0.001, "conviction": 1.5}``.
    min_len, max_len : int, keyword-only, default 2 and None
        Bounds on the rule length ``|X| + |Y|``. ``min_len=1`` adds the rules
        with an empty antecedent ``{} => {y}`` (``arules``' default ``minlen=1``).
    consequents : {"single", "any"}, keyword-only, default "single"
        Single-item consequents or any consequent.

    Returns
    -------
    pl.DataFrame
        ``antecedent``, ``consequent`` (List of the item dtype, sorted items),
        ``antecedent_support``, ``consequent_support``, ``support``,
        ``confidence``, ``lift``, ``leverage``, ``conviction`` (inf when the
        confidence is 1), ``zhangs_metric`` (0 where undefined), ``jaccard``,
        ``certainty``, ``kulczynski`` (all Float64; definitions as in
        ``mlxtend``), ``count`` (Int64, baskets holding ``X`` and ``Y``),
        ``length`` (Int64, ``|X| + |Y|``), sorted by lift, confidence and support
        (descending).

    Raises
    ------
    CustlabError
        A threshold out of range, an unknown metric, or an itemsets table that
        is not the unfiltered output of :func:`frequent_itemsets`.

    Examples
    --------
    >>> b = pl.DataFrame({"basket_id": [1, 1, 2, 2, 3, 4], "item": ["a", "b", "a", "b", "a", "c"]})
    >>> fi = frequent_itemsets(b, min_support=0.25)
    >>> association_rules(fi, min_confidence=0.6).select("antecedent", "consequent", "confidence", "lift").rows()
    [(['b'], ['a'], 1.0, 1.3333333333333333), (['a'], ['b'], 0.6666666666666666, 1.3333333333333333)]
    """
    min_confidence = _check_share(min_confidence, "min_confidence", allow_zero=True)
    thresholds = _check_thresholds(min_metrics)
    if min_lift is not None:
        thresholds["lift"] = max(float(min_lift), thresholds.get("lift", -np.inf))
    min_len = _check_len(min_len, "min_len", minimum=1)
    max_len = _check_len(max_len, "max_len", minimum=1)
    if consequents not in ("single", "any"):
        raise CustlabError(f"consequents must be 'single' or 'any', got {consequents!r}.")
    mined, names, n = _mined_from_itemsets(itemsets)
    blocks = _rule_blocks(mined, n, names, min_len=min_len, max_len=max_len,
                          consequents=consequents, min_confidence=min_confidence) if n else []
    rules = _rules_frame(blocks, names, max(n, 1))
    for metric, low in thresholds.items():
        rules = rules.filter(pl.col(metric) >= low)
    return _sort_rules(rules)


# --------------------------------------------------------------------------- sequential rules


def _days(values: pl.Series) -> np.ndarray:
    """Calendar day numbers (days since 1970-01-01) of a Date or Datetime column."""
    dtype = values.dtype
    if dtype == pl.Date:
        return values.to_physical().to_numpy().astype(np.int64)
    if isinstance(dtype, pl.Datetime):
        return values.dt.date().to_physical().to_numpy().astype(np.int64)
    raise CustlabError(f"Column '{values.name}' must hold dates (Date or Datetime), got {dtype}.")


def _as_day(value: object, name: str) -> int:
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise CustlabError(f"{name} must be a date such as '2024-01-01', got {value!r}.") from None
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        raise CustlabError(f"{name} must be a date (datetime.date, datetime or ISO text), got {value!r}.")
    return (value - dt.date(1970, 1, 1)).days


def _follow(anchor_cust: np.ndarray, anchor_day: np.ndarray, key: np.ndarray, big: int, within: int,
            *, chunk: int = 1 << 23) -> tuple[np.ndarray, np.ndarray]:
    """For each anchor, the purchases of the same customer on days (day, day + within].

    ``key`` holds ``customer * big + day`` of the purchases, sorted. Returns the
    anchor index and purchase index of each pair, in chunks of at most ``chunk`` pairs.
    """
    base = anchor_cust * big + anchor_day
    lo = np.searchsorted(key, base, side="right")
    hi = np.searchsorted(key, base + within, side="right")
    sizes = hi - lo
    out_a, out_p = [], []
    ends = np.cumsum(sizes)
    start = 0
    while start < len(sizes):
        stop = int(np.searchsorted(ends, (ends[start - 1] if start else 0) + chunk, side="right"))
        stop = max(stop, start + 1)
        idx = engine._ranges(lo[start:stop], sizes[start:stop])
        out_a.append(np.repeat(np.arange(start, stop, dtype=np.int64), sizes[start:stop]))
        out_p.append(idx)
        start = stop
    if not out_a:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(out_a), np.concatenate(out_p)


def sequential_rules(
    transactions: Frame,
    *,
    within_days: int = 90,
    item: str = "product_id",
    min_support: float = 0.01,
    min_confidence: float = 0.0,
    as_of: dt.date | dt.datetime | str | None = None,
    complete_window: bool = True,
    antecedents: Sequence | None = None,
    consequents: Sequence | None = None,
) -> pl.DataFrame:
    """Rules "bought A, then B within W days" across each customer's orders.

    For a customer and an item A, the anchor is the customer's first purchase
    of A (its calendar day ``d``). The customer *follows* with B when they buy
    B on a later day ``d + 1 .. d + within_days``; the lag is the day of the
    first such purchase minus ``d``. Purchases on the anchor's own day (the
    same basket) do not count: that is what :func:`association_rules` measures.

    * ``n_antecedent``: customers with an anchor on A (with
      ``complete_window``, only anchors whose whole window lies before
      ``as_of``: a customer who bought A last week has not had W days to buy B);
    * ``count``: those who followed with B; ``confidence = count / n_antecedent``;
      ``support = count / customers`` (all customers in the table);
    * ``baseline``: the share of customers who buy B within W days after their
      *first order* (same window rule, same censoring), the chance of B in a
      window with no A in particular; ``lift = confidence / baseline``;
    * ``median_lag_days``: median lag of the customers who followed.

    Parameters
    ----------
    transactions : polars DataFrame or LazyFrame
        Order lines with ``customer_id``, ``order_date`` (Date or Datetime) and
        the ``item`` column.
    within_days : int, keyword-only, default 90
        Window W in days (>= 1).
    item : str, keyword-only, default "product_id"
        Item column (``product_name``, ``category``, ...).
    min_support : float in (0, 1], keyword-only, default 0.01
        Minimum ``support`` (share of all customers who did A then B).
    min_confidence : float in [0, 1], keyword-only, default 0
        Minimum ``confidence``.
    as_of : date, keyword-only
        End of the observation (exclusive); default the day after the last
        order.
    complete_window : bool, keyword-only, default True
        Count only anchors whose W-day window ends before ``as_of``. False
        counts every anchor (the share of *all* A buyers who went on to B in the
        data).
    antecedents, consequents : sequence of items, keyword-only
        Restrict A and B to these items.

    Returns
    -------
    pl.DataFrame
        ``antecedent``, ``consequent`` (item dtype), ``n_antecedent``,
        ``count`` (Int64), ``support``, ``confidence``, ``baseline``, ``lift``,
        ``median_lag_days`` (Float64), sorted by lift, confidence (descending).

    Examples
    --------
    >>> import datetime as dt
    >>> d = [dt.date(2024, 1, 1), dt.date(2024, 1, 20), dt.date(2024, 1, 1), dt.date(2024, 3, 1),
    ...      dt.date(2024, 1, 1), dt.date(2024, 1, 2)]
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 2, 2, 3, 3], "order_date": d,
    ...                    "product_id": ["formula", "stroller", "formula", "stroller", "toy", "formula"]})
    >>> r = sequential_rules(tx, within_days=30, min_support=0.3, as_of="2024-06-01", antecedents=["formula"])
    >>> r.select("antecedent", "consequent", "n_antecedent", "count", "confidence", "median_lag_days").rows()
    [('formula', 'stroller', 3, 1, 0.3333333333333333, 19.0)]
    """
    if not isinstance(within_days, (int, np.integer)) or isinstance(within_days, bool) or within_days < 1:
        raise CustlabError(f"within_days must be a whole number of days >= 1, got {within_days!r}.")
    within = int(within_days)
    min_support = _check_support(min_support)
    min_confidence = _check_share(min_confidence, "min_confidence", allow_zero=True)
    data = _collect(transactions, ["customer_id", "order_date", item], table="transactions",
                    argument="transactions", purpose="for sequential rules")
    _refuse_nulls(data, "customer_id", group=None, what="",
                  fix="Sequential rules follow customers: drop the lines without a customer first.")
    _refuse_nulls(data, "order_date", group=None, what="", fix="Drop or fix the lines without a date first.")
    _refuse_nulls(data, item, group="customer_id", what="customer", fix=_null_item_fix(item))
    cust, _, _ = _codes(data["customer_id"], names=False)
    items, names, n_items = _codes(data[item], names=True)
    day = _days(data["order_date"])
    end = int(day.max()) + 1 if as_of is None else _as_day(as_of, "as_of")
    n_customers = int(np.unique(cust).size)
    min_count = engine.min_count_for(min_support, n_customers)

    # Distinct purchases (customer, day, item), sorted by customer then day.
    low = int(day.min())
    day = day - low
    end -= low
    big = int(max(day.max(), end) + within + 2)
    key = cust * big + day
    order = np.lexsort((items, key))
    key, items, cust, day = key[order], items[order], cust[order], day[order]
    fresh = np.ones(len(key), dtype=bool)
    fresh[1:] = (key[1:] != key[:-1]) | (items[1:] != items[:-1])
    key, items, cust, day = key[fresh], items[fresh], cust[fresh], day[fresh]

    # Customers per item (for B) and first purchase of each (customer, item) (anchors for A).
    pair = cust * n_items + items
    _, first = np.unique(pair, return_index=True)
    buyers = np.bincount(items[first], minlength=n_items)
    allowed_b = buyers >= min_count
    allowed_a = np.ones(n_items, dtype=bool)
    lookup = {v: j for j, v in enumerate(names.to_list())} if antecedents or consequents else {}
    if antecedents is not None:
        allowed_a = np.zeros(n_items, dtype=bool)
        allowed_a[[lookup[v] for v in antecedents if v in lookup]] = True
    if consequents is not None:
        chosen = np.zeros(n_items, dtype=bool)
        chosen[[lookup[v] for v in consequents if v in lookup]] = True
        allowed_b &= chosen
    a_idx = first[allowed_a[items[first]]]
    if complete_window:
        a_idx = a_idx[day[a_idx] + within < end]
    a_item = items[a_idx]
    n_anchor = np.bincount(a_item, minlength=n_items)
    a_idx = a_idx[n_anchor[a_item] >= min_count]
    a_item = items[a_idx]

    anc, pur = _follow(cust[a_idx], day[a_idx], key, big, within)
    b_item = items[pur]
    keep = allowed_b[b_item] & (b_item != a_item[anc])
    anc, pur, b_item = anc[keep], pur[keep], b_item[keep]
    # First follow-up of each (anchor, B): purchases are in day order within an anchor.
    _, first_follow = np.unique(anc * n_items + b_item, return_index=True)
    anc, pur, b_item = anc[first_follow], pur[first_follow], b_item[first_follow]
    lag = day[pur] - day[a_idx][anc]

    # Baseline: B within W days after each customer's first order.
    starts = np.flatnonzero(np.r_[True, cust[1:] != cust[:-1]])
    if complete_window:
        starts = starts[day[starts] + within < end]
    b_anc, b_pur = _follow(cust[starts], day[starts], key, big, within)
    b_seen = np.unique(b_anc * n_items + items[b_pur])
    base_count = np.bincount(b_seen % n_items, minlength=n_items)
    base_rate = base_count / max(len(starts), 1)

    pairs = pl.DataFrame({"a": a_item[anc], "b": b_item, "lag": lag.astype(np.float64)},
                         schema={"a": pl.Int64, "b": pl.Int64, "lag": pl.Float64})
    agg = (pairs.group_by("a", "b").agg(count=pl.len().cast(pl.Int64), median_lag_days=pl.col("lag").median())
           .filter(pl.col("count") >= min_count))
    a_code, b_code = agg["a"].to_numpy(), agg["b"].to_numpy()
    count = agg["count"].to_numpy()
    at_risk = n_anchor[a_code]
    baseline = base_rate[b_code]
    confidence = count / np.maximum(at_risk, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = np.where(baseline > 0, confidence / baseline, np.inf)
    out = pl.DataFrame({
        "antecedent": names.gather(a_code).alias("antecedent"),
        "consequent": names.gather(b_code).alias("consequent"),
        "n_antecedent": pl.Series(at_risk, dtype=pl.Int64),
        "count": pl.Series(count, dtype=pl.Int64),
        "support": pl.Series(count / n_customers, dtype=pl.Float64),
        "confidence": pl.Series(confidence, dtype=pl.Float64),
        "baseline": pl.Series(baseline, dtype=pl.Float64),
        "lift": pl.Series(lift, dtype=pl.Float64),
        "median_lag_days": agg["median_lag_days"].cast(pl.Float64),
    })
    return out.filter(pl.col("confidence") >= min_confidence).sort(
        ["lift", "confidence", "count", "antecedent", "consequent"], descending=[True, True, True, False, False]
    )


# --------------------------------------------------------------------------- seasonal rules


def _count_in(x: sp.csr_array, itemsets: list[np.ndarray]) -> np.ndarray:
    """Rows of ``x`` holding every item of each itemset (arrays of column codes)."""
    out = np.zeros(len(itemsets), dtype=np.int64)
    if not itemsets or x.shape[0] == 0:
        return out
    xc = x.tocsc()
    xc.sort_indices()
    needed = np.unique(np.concatenate([np.asarray(s, dtype=np.int64) for s in itemsets]))
    words = (x.shape[0] + 63) >> 6
    if len(needed) * words <= (1 << 25):
        sizes = np.diff(xc.indptr)[needed]
        rows = engine._ranges(xc.indptr[needed].astype(np.int64), sizes.astype(np.int64))
        owner = np.repeat(np.arange(len(needed), dtype=np.int64), sizes)
        bits = engine._bitsets(owner, xc.indices[rows].astype(np.int64), len(needed), words)
        for k in {len(s) for s in itemsets}:
            which = [j for j, s in enumerate(itemsets) if len(s) == k]
            pos = np.searchsorted(needed, np.array([itemsets[j] for j in which], dtype=np.int64).reshape(len(which), k))
            acc = bits[pos[:, 0]].copy()
            for col in range(1, k):
                acc &= bits[pos[:, col]]
            out[which] = np.bitwise_count(acc).sum(axis=1, dtype=np.int64)
        return out
    for j, itemset in enumerate(itemsets):
        common = None
        for c in np.asarray(itemset, dtype=np.int64):
            col = xc.indices[xc.indptr[c]:xc.indptr[c + 1]]
            common = col if common is None else np.intersect1d(common, col, assume_unique=True)
        out[j] = 0 if common is None else len(common)
    return out


def _counts_of(x: sp.csr_array, n: int, itemsets: list[np.ndarray]) -> np.ndarray:
    """Rows of ``x`` holding each itemset: ``n`` for the empty set, 0 for one with an unknown item (-1)."""
    out = np.zeros(len(itemsets), dtype=np.int64)
    known = [j for j, s in enumerate(itemsets) if len(s) and (s >= 0).all()]
    out[known] = _count_in(x, [itemsets[j] for j in known])
    out[[j for j, s in enumerate(itemsets) if len(s) == 0]] = n
    return out


def _encode_rules(rules: Frame, names: pl.Series) -> list[tuple[np.ndarray, np.ndarray]]:
    """(antecedent codes, consequent codes) of given rules; items absent from the data get code -1."""
    check_frame(rules, argument="rules")
    require_columns(rules, ["antecedent", "consequent"], table="rules", purpose="(pass association_rules() output)")
    data = rules.lazy().select("antecedent", "consequent").collect()
    lookup = {v: j for j, v in enumerate(names.to_list())}
    return [
        (np.sort(np.array([lookup.get(v, -1) for v in a], dtype=np.int64)),
         np.sort(np.array([lookup.get(v, -1) for v in c], dtype=np.int64)))
        for a, c in data.iter_rows()
    ]


def seasonal_rules(
    baskets: Frame,
    *,
    every: Period = "month",
    windows: Sequence[tuple[object, object]] | None = None,
    window_label: str = "window",
    rules: Frame | None = None,
    min_support: float = 0.01,
    min_confidence: float = 0.5,
    min_len: int = 2,
    max_len: int | None = None,
    consequents: Consequents = "single",
    basket: str = "basket_id",
    item: str = "item",
    date: str = "order_date",
) -> pl.DataFrame:
    """Rule metrics within each period or window, against the rest of the data.

    The baskets are split by the date of each basket, either into calendar
    periods (``every``: week, month or quarter) or into the baskets inside
    ``windows`` (e.g. the four weeks before each festival, all windows pooled)
    and the rest. In each period the rules are mined afresh with the given
    thresholds (or, with ``rules=``, the given rules are scored there), and
    each rule is also scored on the baskets *outside* the period.

    Parameters
    ----------
    baskets : polars DataFrame or LazyFrame
        Long basket table with a date column, from :func:`baskets` (which
        carries ``order_date``).
    every : {"week", "month", "quarter"}, keyword-only, default "month"
        Calendar periods, used when ``windows`` is None.
    windows : sequence of (start, end) pairs, keyword-only
        Date windows, start inclusive, end exclusive (dates, datetimes or ISO
        text); baskets in any of them form one period named ``window_label``.
    rules : polars DataFrame, keyword-only
        Rules (``antecedent``, ``consequent`` lists) to score in every period
        instead of mining each period.
    min_support, min_confidence, min_len, max_len, consequents
        As for :func:`frequent_itemsets` and :func:`association_rules`, applied
        within each period (not used with ``rules=``).
    basket, item, date : str, keyword-only
        Column names.

    Returns
    -------
    pl.DataFrame
        ``period`` (String: "2024-11", "2024-W45", "2024-Q4" or the window
        label), ``period_start`` (Date, None for windows), ``n_baskets``
        (Int64), ``antecedent``, ``consequent`` (List), ``count`` (Int64),
        ``support``, ``confidence``, ``lift`` in the period; ``n_baskets_rest``,
        ``support_rest``, ``confidence_rest``, ``lift_rest`` outside it (NaN
        where the antecedent or consequent never occurs there);
        ``lift_change`` = lift - lift_rest and ``lift_ratio`` = lift /
        lift_rest (Float64). Sorted by period, then lift (descending).

    Examples
    --------
    >>> import datetime as dt
    >>> days = [dt.datetime(2024, 1, 1 + i // 2) for i in range(8)] + [dt.datetime(2024, 2, 1 + i // 2) for i in range(8)]
    >>> b = pl.DataFrame({"basket_id": [i // 2 for i in range(16)],
    ...                   "item": ["gift", "decor"] * 4 + ["gift", "tea", "gift", "decor", "tea", "decor", "gift", "tea"],
    ...                   "order_date": days})
    >>> s = seasonal_rules(b, windows=[("2024-01-01", "2024-01-31")], min_support=0.5, min_confidence=0.9)
    >>> s.select("period", "antecedent", "consequent", "confidence", "confidence_rest").rows()
    [('window', ['decor'], ['gift'], 1.0, 0.5), ('window', ['gift'], ['decor'], 1.0, 0.3333333333333333)]
    """
    if windows is None and every not in _PERIODS:
        raise CustlabError(f"every must be one of {list(_PERIODS)}, got {every!r}.")
    min_support = _check_support(min_support)
    min_confidence = _check_share(min_confidence, "min_confidence", allow_zero=True)
    min_len = _check_len(min_len, "min_len", minimum=1)
    max_len = _check_len(max_len, "max_len", minimum=1)
    if consequents not in ("single", "any"):
        raise CustlabError(f"consequents must be 'single' or 'any', got {consequents!r}.")
    data = _collect(baskets, [basket, item, date], table="baskets", argument="baskets",
                    purpose="for seasonal rules (baskets() carries order_date)")
    _refuse_nulls(data, basket, group=None, what="basket", fix=f"Drop or fill the rows without '{basket}'.")
    _refuse_nulls(data, item, group=basket, what="basket", fix=_null_item_fix(item))
    _refuse_nulls(data, date, group=basket, what="basket", fix="Every basket needs a date: drop or fix those rows.")
    enc = _Baskets(data, basket, item)
    n_rows = enc.x.shape[0]
    dates = data[date]
    if dates.dtype == pl.Date:
        dates = dates.cast(pl.Datetime("us"))
    elif not isinstance(dates.dtype, pl.Datetime):
        raise CustlabError(f"Column '{date}' must hold dates (Date or Datetime), got {dates.dtype}.")
    stamp = dates.dt.replace_time_zone(None).cast(pl.Datetime("us")).to_physical().to_numpy()
    basket_time = np.full(n_rows, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(basket_time, enc.basket_codes, stamp)

    periods: list[tuple[str, dt.date | None, np.ndarray]] = []
    if windows is not None:
        inside = np.zeros(n_rows, dtype=bool)
        for pair in windows:
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise CustlabError(f"windows must be (start, end) pairs, got {pair!r}.")
            lo, hi = (_as_day(v, "windows") * 86_400_000_000 for v in pair)
            if hi <= lo:
                raise CustlabError(f"A window must end after it starts, got {pair!r}.")
            inside |= (basket_time >= lo) & (basket_time < hi)
        periods.append((window_label, None, inside))
    else:
        valid = enc.nonempty
        start = pl.Series(np.where(valid, basket_time, 0)).cast(pl.Datetime("us")).dt.truncate(_PERIODS[every])
        start_us = start.to_physical().to_numpy()
        for p in np.unique(start_us[valid]).tolist():
            first = pl.Series([p]).cast(pl.Datetime("us"))
            label = first.dt.strftime({"week": "%G-W%V", "month": "%Y-%m", "quarter": "%Y"}[every]).item()
            if every == "quarter":
                label += f"-Q{(first.dt.month().item() - 1) // 3 + 1}"
            periods.append((label, first.dt.date().item(), valid & (start_us == p)))

    given = _encode_rules(rules, enc.names) if rules is not None else None
    frames = []
    for label, first_day, mask in periods:
        x_in, n_in = enc.rows(mask)
        x_out, n_out = enc.rows(~mask)
        if n_in == 0:
            continue
        if given is None:
            mined = engine.mine(x_in, min_count=engine.min_count_for(min_support, n_in), max_len=max_len)
            blocks = _rule_blocks(mined, n_in, enc.names, min_len=min_len, max_len=max_len,
                                  consequents=consequents, min_confidence=min_confidence)
            pairs = [(b[0][r], b[1][r]) for b in blocks for r in range(len(b[4]))]
        else:
            pairs = given
        if not pairs:
            continue
        whole = [np.sort(np.concatenate([a, c])) for a, c in pairs]
        ants = [a for a, _ in pairs]
        cons = [c for _, c in pairs]

        metrics = {}
        for tag, x, n in (("", x_in, n_in), ("_rest", x_out, n_out)):
            cxy, cx, cy = (_counts_of(x, n, sets) for sets in (whole, ants, cons))
            with np.errstate(divide="ignore", invalid="ignore"):
                support = cxy / n if n else np.full(len(cxy), np.nan)
                confidence = np.where(cx > 0, cxy / np.maximum(cx, 1), np.nan)
                lift = np.where((cy > 0) & (cx > 0), confidence / (cy / max(n, 1)), np.nan)
            metrics[tag] = (cxy, support, confidence, lift)
        frame = pl.DataFrame({
            "period": [label] * len(pairs),
            "period_start": pl.Series([first_day] * len(pairs), dtype=pl.Date),
            "n_baskets": pl.Series([n_in] * len(pairs), dtype=pl.Int64),
            "antecedent": pl.Series([_names_of(a, enc.names) for a in ants], dtype=pl.List(enc.names.dtype)),
            "consequent": pl.Series([_names_of(c, enc.names) for c in cons], dtype=pl.List(enc.names.dtype)),
            "count": pl.Series(metrics[""][0], dtype=pl.Int64),
            "support": metrics[""][1], "confidence": metrics[""][2], "lift": metrics[""][3],
            "n_baskets_rest": pl.Series([n_out] * len(pairs), dtype=pl.Int64),
            "support_rest": metrics["_rest"][1], "confidence_rest": metrics["_rest"][2],
            "lift_rest": metrics["_rest"][3],
        })
        frames.append(frame)
    schema = {"period": pl.String, "period_start": pl.Date, "n_baskets": pl.Int64,
              "antecedent": pl.List(enc.names.dtype), "consequent": pl.List(enc.names.dtype),
              "count": pl.Int64, "support": pl.Float64, "confidence": pl.Float64, "lift": pl.Float64,
              "n_baskets_rest": pl.Int64, "support_rest": pl.Float64, "confidence_rest": pl.Float64,
              "lift_rest": pl.Float64}
    out = pl.concat(frames) if frames else pl.DataFrame(schema=schema)
    out = out.cast({k: v for k, v in schema.items() if k not in ("antecedent", "consequent")})
    return out.with_columns(
        lift_change=pl.col("lift") - pl.col("lift_rest"),
        lift_ratio=pl.col("lift") / pl.col("lift_rest"),
    ).sort(["period_start", "period", "lift", "confidence", "antecedent", "consequent"],
           descending=[False, False, True, True, False, False], nulls_last=True)


def _names_of(codes: np.ndarray, names: pl.Series) -> list:
    """Item names of codes (code -1, an item absent from the data, keeps no name)."""
    return [names[int(c)] for c in codes if c >= 0]


# --------------------------------------------------------------------------- cross-sell


def cross_sell(
    rules: Frame,
    history: Frame,
    *,
    top_n: int = 3,
    by: str = "lift",
    customer: str = "customer_id",
    item: str = "item",
) -> pl.DataFrame:
    """For each customer, the top items suggested by the rules that they have not bought yet.

    A rule fires for a customer whose purchases contain its whole antecedent
    (rules with an empty antecedent fire for everyone); it suggests each item
    of its consequent that the customer has not bought. Each suggested item
    keeps the best rule that suggests it (by ``by``, then confidence, support),
    and the customer's items are ranked by that rule's ``by``.

    Parameters
    ----------
    rules : polars DataFrame or LazyFrame
        Output of :func:`association_rules` (``antecedent``, ``consequent`` and
        the metric ``by``, ``confidence``, ``support``).
    history : polars DataFrame or LazyFrame
        What customers bought: one row per customer and item, e.g. the output
        of :func:`baskets` (``customer_id``, ``item``); repeats are fine.
    top_n : int, keyword-only, default 3
        Suggestions per customer.
    by : str, keyword-only, default "lift"
        Rule metric that ranks the suggestions (a column of ``rules``).
    customer, item : str, keyword-only
        Column names in ``history``.

    Returns
    -------
    pl.DataFrame
        ``customer_id`` (named after ``customer``), ``rank`` (Int64, 1 = best),
        ``item`` (the suggestion), ``score`` (Float64, the rule's ``by``),
        ``confidence``, ``lift`` (Float64), ``antecedent``, ``consequent``
        (List: the rule that suggests it). Customers for whom no rule fires
        have no rows. Sorted by customer, then rank.

    Examples
    --------
    >>> rules = pl.DataFrame({"antecedent": [["tea"], ["cup"]], "consequent": [["cup"], ["saucer"]],
    ...                       "support": [0.2, 0.1], "confidence": [0.6, 0.5], "lift": [2.0, 3.0]})
    >>> hist = pl.DataFrame({"customer_id": [1, 2, 2], "item": ["tea", "tea", "cup"]})
    >>> cross_sell(rules, hist).select("customer_id", "rank", "item", "antecedent").rows()
    [(1, 1, 'cup', ['tea']), (2, 1, 'saucer', ['cup'])]
    """
    if not isinstance(top_n, (int, np.integer)) or isinstance(top_n, bool) or top_n < 1:
        raise CustlabError(f"top_n must be an integer >= 1, got {top_n!r}.")
    check_frame(rules, argument="rules")
    needed = list(dict.fromkeys(["antecedent", "consequent", by, "confidence", "lift", "support"]))
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
        .sort(["_customer", "_item", by, "confidence", "support", "_rule"],
              descending=[False, False, True, True, True, False], nulls_last=True)
        .unique(["_customer", "_item"], keep="first", maintain_order=True)
        .sort(["_customer", by, "confidence", "support", "_item"],
              descending=[False, True, True, True, False], nulls_last=True)
        .with_columns(rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("_customer"))
        .filter(pl.col("rank") <= top_n)
    )
    return suggested.select(
        pl.col("_customer").alias(customer), "rank", pl.col("_item").alias("item"),
        score=pl.col(by).cast(pl.Float64), confidence=pl.col("confidence").cast(pl.Float64),
        lift=pl.col("lift").cast(pl.Float64), antecedent="antecedent", consequent="consequent",
    )


# --------------------------------------------------------------------------- plots


def _rule_text(items: Sequence) -> str:
    return "{" + ", ".join(str(v) for v in items) + "}"


def _top(rules: Frame, by: str, top: int) -> pl.DataFrame:
    check_frame(rules, argument="rules")
    require_columns(rules, ["antecedent", "consequent", by], table="rules", purpose="to plot")
    if not isinstance(top, (int, np.integer)) or isinstance(top, bool) or top < 1:
        raise CustlabError(f"top must be an integer >= 1, got {top!r}.")
    data = rules.lazy().collect()
    if data.height == 0:
        raise EmptyDataError("There are no rules to plot; lower min_support or min_confidence.")
    return data.sort([by, "antecedent", "consequent"], descending=[True, False, False]).head(top)


def plot_rules(
    rules: Frame,
    *,
    x: str = "support",
    y: str = "confidence",
    color: str = "lift",
    language: Language = "en",
):
    """Scatter of the rules: support against confidence, coloured by lift.

    Parameters
    ----------
    rules : polars DataFrame or LazyFrame
        Output of :func:`association_rules` (any metric columns).
    x, y, color : str, keyword-only
        Metrics on the axes and for the colour scale.
    language : {"en", "zh"}, keyword-only
        Axis labels.

    Returns
    -------
    matplotlib.figure.Figure
        One point per rule (a ``PathCollection`` whose offsets are the ``x``,
        ``y`` values and whose array is ``color``) and a colour bar.

    Examples
    --------
    >>> r = pl.DataFrame({"antecedent": [["a"], ["b"]], "consequent": [["b"], ["a"]],
    ...                   "support": [0.2, 0.2], "confidence": [0.5, 0.8], "lift": [1.5, 1.5]})
    >>> fig = plot_rules(r)
    >>> fig.axes[0].collections[0].get_offsets().shape
    (2, 2)
    """
    import matplotlib.pyplot as plt

    labels = _labels(language)
    check_frame(rules, argument="rules")
    require_columns(rules, [x, y, color], table="rules", purpose="to plot")
    data = rules.lazy().select(x, y, color).collect()
    if data.height == 0:
        raise EmptyDataError("There are no rules to plot; lower min_support or min_confidence.")
    data = data.sort(color)  # strongest drawn last, on top
    fig, ax = plt.subplots(figsize=(7, 5))
    points = ax.scatter(data[x].to_numpy(), data[y].to_numpy(), c=data[color].to_numpy(),
                        cmap="viridis", s=18, alpha=0.8, edgecolors="none")
    bar = fig.colorbar(points, ax=ax)
    bar.set_label(labels.get(color, color))
    ax.set_xlabel(labels.get(x, x))
    ax.set_ylabel(labels.get(y, y))
    ax.set_title(labels["scatter_title"].format(n=data.height))
    fig.tight_layout()
    return fig


def plot_rule_network(rules: Frame, *, top: int = 15, by: str = "lift", language: Language = "en"):
    """Network of the strongest rules: items on a circle, one node per rule.

    Each rule is a node (size by support, colour by ``by``) placed between its
    items, with an edge from each antecedent item to the rule node and an
    arrow from the rule node to each consequent item (the ``arulesViz``
    "graph" layout, drawn with matplotlib alone).

    Parameters
    ----------
    rules : polars DataFrame or LazyFrame
        Output of :func:`association_rules`.
    top : int, keyword-only, default 15
        Number of rules drawn (the best by ``by``).
    by : str, keyword-only, default "lift"
        Metric that picks and colours the rules.
    language : {"en", "zh"}, keyword-only
        Title and colour-bar labels.

    Returns
    -------
    matplotlib.figure.Figure
        ``axes[0].collections[0]`` holds the rule nodes (array = ``by``),
        ``collections[1]`` the item nodes; item names are the axes' texts.

    Examples
    --------
    >>> r = pl.DataFrame({"antecedent": [["a"], ["b", "c"]], "consequent": [["b"], ["a"]],
    ...                   "support": [0.2, 0.1], "lift": [1.5, 2.0]})
    >>> sorted(t.get_text() for t in plot_rule_network(r).axes[0].texts)
    ['a', 'b', 'c']
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch

    labels = _labels(language)
    data = _top(rules, by, top)
    items = sorted({v for col in ("antecedent", "consequent") for row in data[col].to_list() for v in row},
                   key=str)
    angle = 2 * np.pi * np.arange(len(items)) / max(len(items), 1)
    where = {v: (np.cos(a), np.sin(a)) for v, a in zip(items, angle)}
    fig, ax = plt.subplots(figsize=(8, 8))
    centres = []
    for ant, cons in zip(data["antecedent"].to_list(), data["consequent"].to_list()):
        pts = np.array([where[v] for v in [*ant, *cons]])
        centre = pts.mean(axis=0) * 0.6
        centres.append(centre)
        for v in ant:
            ax.plot([where[v][0], centre[0]], [where[v][1], centre[1]], color="0.6", lw=0.8, zorder=1)
        for v in cons:
            ax.add_patch(FancyArrowPatch(tuple(centre), where[v], arrowstyle="->", mutation_scale=12,
                                         color="0.3", lw=0.9, zorder=1))
    centres = np.array(centres)
    size = data["support"].to_numpy() if "support" in data.columns else np.ones(data.height)
    size = 60 + 340 * (size - size.min()) / (np.ptp(size) or 1.0)
    nodes = ax.scatter(centres[:, 0], centres[:, 1], s=size, c=data[by].to_numpy(), cmap="Reds",
                       edgecolors="0.3", zorder=3)
    xy = np.array([where[v] for v in items])
    ax.scatter(xy[:, 0], xy[:, 1], s=30, color="tab:blue", zorder=3)
    for v, (px, py) in where.items():
        ax.text(px * 1.12, py * 1.12, str(v), ha="center", va="center", fontsize=9)
    bar = fig.colorbar(nodes, ax=ax, shrink=0.6)
    bar.set_label(labels.get(by, by))
    ax.set_title(labels["network_title"].format(n=data.height, by=labels.get(by, by)))
    ax.set_xlim(-1.4, 1.4)
    ax.set_ylim(-1.4, 1.4)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig


def plot_rule_matrix(rules: Frame, *, top: int = 20, by: str = "lift", value: str = "lift",
                     language: Language = "en"):
    """Matrix of the strongest rules: antecedents by consequents, cells coloured by a metric.

    Parameters
    ----------
    rules : polars DataFrame or LazyFrame
        Output of :func:`association_rules`.
    top : int, keyword-only, default 20
        Number of rules shown (the best by ``by``).
    by : str, keyword-only, default "lift"
        Metric that picks the rules.
    value : str, keyword-only, default "lift"
        Metric shown in the cells (empty where no rule links the pair).
    language : {"en", "zh"}, keyword-only
        Axis labels and title.

    Returns
    -------
    matplotlib.figure.Figure
        A seaborn heatmap: rows are antecedents, columns consequents (as
        "{a, b}" texts, in order of first appearance among the top rules); the
        mesh's array holds ``value``.

    Examples
    --------
    >>> r = pl.DataFrame({"antecedent": [["a"], ["b"]], "consequent": [["b"], ["a"]], "lift": [1.5, 2.0]})
    >>> [t.get_text() for t in plot_rule_matrix(r).axes[0].get_yticklabels()]
    ['{b}', '{a}']
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    labels = _labels(language)
    data = _top(rules, by, top)
    if value not in data.columns:
        raise CustlabError(f"value must be a column of rules, got {value!r}; columns: {data.columns}.")
    ants = [_rule_text(a) for a in data["antecedent"].to_list()]
    cons = [_rule_text(c) for c in data["consequent"].to_list()]
    rows, cols = list(dict.fromkeys(ants)), list(dict.fromkeys(cons))
    grid = np.full((len(rows), len(cols)), np.nan)
    for a, c, v in zip(ants, cons, data[value].to_list()):
        grid[rows.index(a), cols.index(c)] = v
    fig, ax = plt.subplots(figsize=(1.2 + 0.55 * len(cols) + 3, 1.2 + 0.4 * len(rows) + 1))
    sns.heatmap(grid, ax=ax, cmap="viridis", annot=len(rows) * len(cols) <= 400, fmt=".2g",
                xticklabels=cols, yticklabels=rows, cbar_kws={"label": labels.get(value, value)})
    ax.set_xlabel(labels["consequent"])
    ax.set_ylabel(labels["antecedent"])
    ax.set_title(labels["matrix_title"].format(n=data.height, by=labels.get(by, by),
                                               value=labels.get(value, value)))
    fig.tight_layout()
    return fig
