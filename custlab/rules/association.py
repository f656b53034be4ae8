"""Frequent itemsets and association rules ``X => Y`` with their metrics.

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
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
import polars as pl

from custlab._types import Frame
from custlab.data.schema import check_frame, require_columns
from custlab.exceptions import CustlabError
from custlab.rules import engine
from custlab.rules.baskets import (
    _Baskets, _check_len, _check_share, _check_support, _codes, _collect, _itemsets_frame, _list_series,
    _names_of, _null_item_fix, _refuse_nulls, _rule_text,
)

__all__ = ["METRICS", "Consequents", "association_rules", "frequent_itemsets"]

Consequents = Literal["single", "any"]

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


def frequent_itemsets(
    baskets: Frame, *, min_support: float, max_len: int | None = None, basket: str = "basket_id", item: str = "item",
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
    if not isinstance(baskets, (pl.DataFrame, pl.LazyFrame)):
        from custlab import engine as pushdown  # DuckDB, Spark...: aggregate where the data live

        if pushdown.accepts(baskets):
            return pushdown.frequent_itemsets(baskets, min_support=min_support, max_len=max_len, basket=basket, item=item)
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

