"""Complements: what customers buy next after an item, and what goes in the same basket.

Both reuse :mod:`custlab.rules` on the history a recommender is fitted on:

* :class:`Complements` ("complete the first purchase") takes the sequential
  rules "bought A, then B within W days" (:func:`custlab.rules.sequential_rules`,
  the anchor being the customer's first purchase of A) with lift above 1, and
  scores item B for a customer by the summed confidence of the rules whose A
  they bought; the reason names the strongest rule. Formula buyers are
  offered the stroller that half of them go on to buy.
* :class:`CrossSell` takes the association rules of same-day baskets
  (:func:`custlab.rules.frequent_itemsets`, :func:`custlab.rules.association_rules`)
  and ranks, per customer, the items the rules point to
  (:func:`custlab.rules.cross_sell`, by lift).

Rules need support: with little data few rules pass ``min_support`` and the
lists are completed from popularity (marked ``filled``), as for every model.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import scipy.sparse as sp

from custlab._dates import parse_within
from custlab.exceptions import CustlabError
from custlab.recommend.base import Recommender, TopK
from custlab.recommend.knn import strongest_source
from custlab.recommend.matrix import Interactions

__all__ = ["Complements", "CrossSell", "history_lines"]

_EPOCH = dt.datetime(1970, 1, 1)


def history_lines(data: Interactions) -> pl.DataFrame:
    """The purchases of ``data`` as order lines: ``customer_id`` and ``product_id`` (Int64 row and column
    numbers), ``order_date`` (Datetime: the purchase day's midnight), one line per customer, item and day."""
    bought = data.history.filter(pl.col("purchase"))
    return bought.select(
        customer_id=pl.col("row").cast(pl.Int64), product_id=pl.col("col").cast(pl.Int64),
        order_date=pl.lit(_EPOCH) + pl.duration(days=pl.col("day")),
    )


def _check_share(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise CustlabError(f"{name} must be a share between 0 and 1, got {value!r}.")
    return float(value)


class Complements(Recommender):
    """Items bought within ``within`` after an item the customer bought (sequential rules; module docstring).

    Parameters
    ----------
    within : str, int or timedelta, default "90d"
        Window W of the rules, in whole days.
    min_support : float, default 0.002
        Minimum share of all customers who bought A then B.
    min_confidence : float, default 0.02
        Minimum share of A's buyers who went on to B.

    Attributes
    ----------
    rules_ : polars.DataFrame
        The rules used: ``antecedent``, ``consequent`` (product ids), ``n_antecedent``, ``count``,
        ``support``, ``confidence``, ``baseline``, ``lift``, ``median_lag_days``.
    """

    name = "complements"
    threaded_scores = True  # a sparse product of fitted matrices per block

    def __init__(self, *, within: str | int | dt.timedelta = "90d", min_support: float = 0.002,
                 min_confidence: float = 0.02) -> None:
        self.within = within
        self.min_support = min_support
        self.min_confidence = min_confidence

    def _fit(self, data: Interactions) -> None:
        from custlab.rules import sequential_rules

        window = parse_within(self.within, "within")
        support = _check_share(self.min_support, "min_support")
        confidence = _check_share(self.min_confidence, "min_confidence")
        if support == 0:
            raise CustlabError("min_support must be more than 0, e.g. 0.002 (0.2% of the customers).")
        lines = history_lines(data)
        rules = sequential_rules(lines, within=window, item="product_id", min_support=support,
                                 min_confidence=confidence, as_of=data.as_of, complete_window=False)
        rules = rules.filter(pl.col("lift") > 1, pl.col("lift").is_finite())
        n = data.shape[1]
        a, b = rules["antecedent"].to_numpy(), rules["consequent"].to_numpy()
        self.matrix_ = sp.csr_matrix((rules["confidence"].to_numpy(), (a, b)), shape=(n, n))
        self.matrix_.sort_indices()
        self.profile_ = sp.csr_matrix(data.bought, dtype=np.float64)
        self.rules_ = rules.with_columns(antecedent=data.items.gather(pl.Series(a)),
                                         consequent=data.items.gather(pl.Series(b)))
        self._lookup = {(int(x), int(y)): i for i, (x, y) in enumerate(zip(a, b))}
        self._rule_rows = rules

    def scores(self, rows: np.ndarray) -> sp.csr_matrix:
        self._check_fitted()
        return sp.csr_matrix(self.profile_[rows] @ self.matrix_)

    def because(self, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
        """For each (customer row, item), the bought item whose rule suggests it most strongly (-1: none)."""
        self._check_fitted()
        return strongest_source(self.profile_, self.matrix_, rows, items)

    def rule(self, source: int, item: int) -> dict | None:
        """The rule ``source -> item`` (column numbers) as a dict of its metrics, or None."""
        at = self._lookup.get((int(source), int(item)))
        return None if at is None else self._rule_rows.row(at, named=True)


class CrossSell(Recommender):
    """Items the association rules of same-day baskets point to (:func:`custlab.rules.cross_sell`).

    Parameters
    ----------
    min_support : float, default 0.002
        Minimum share of baskets (a basket is one customer's purchases of one day).
    min_confidence : float, default 0.05
    max_len : int, default 3
        Longest itemset mined.

    Attributes
    ----------
    rules_ : polars.DataFrame
        The association rules (antecedent and consequent as product ids).
    """

    name = "cross_sell"

    def __init__(self, *, min_support: float = 0.002, min_confidence: float = 0.05, max_len: int = 3) -> None:
        self.min_support = min_support
        self.min_confidence = min_confidence
        self.max_len = max_len

    def _fit(self, data: Interactions) -> None:
        from custlab.rules import association_rules, frequent_itemsets

        support = _check_share(self.min_support, "min_support")
        if support == 0:
            raise CustlabError("min_support must be more than 0, e.g. 0.002 (0.2% of the baskets).")
        lines = data.history.filter(pl.col("purchase"))
        baskets = lines.select(basket_id=pl.col("row").cast(pl.Int64) * 100_000 + pl.col("day"),
                               item=pl.col("col").cast(pl.Int64))
        itemsets = frequent_itemsets(baskets, min_support=support, max_len=self.max_len)
        rules = association_rules(itemsets, min_confidence=_check_share(self.min_confidence, "min_confidence"))
        self.rules_codes_ = rules.filter(pl.col("lift") > 1)
        self.rules_ = self.rules_codes_.with_columns(antecedent=_named(self.rules_codes_["antecedent"], data.items),
                                                     consequent=_named(self.rules_codes_["consequent"], data.items))

    def scores(self, rows: np.ndarray):  # pragma: no cover - top_k is overridden
        raise NotImplementedError("CrossSell ranks with custlab.rules.cross_sell; use top_k().")

    def top_k(self, rows: np.ndarray, k: int, *, exclude_bought: bool = True, novelty: float = 0.0,
              fill: bool = True) -> TopK:
        """As :meth:`Recommender.top_k`; the rules never suggest an item the customer bought, whatever
        ``exclude_bought`` says, and ``novelty`` reorders only the popularity fill."""
        from custlab.rules import cross_sell

        data = self._check_fitted()
        rows, k, novelty, items, values = self._start(rows, k, novelty)
        known = rows[rows >= 0]
        if known.size and self.rules_codes_.height:
            owned = data.bought[known].tocoo()
            history = pl.DataFrame({"customer_id": known[owned.row].astype(np.int64),
                                    "item": owned.col.astype(np.int64)})
            picks = cross_sell(self.rules_codes_, history, top_n=k, metric="lift")
            where = {int(r): i for i, r in enumerate(rows)}
            at = np.array([where[c] for c in picks["customer_id"].to_list()], dtype=np.int64)
            if at.size:
                items[at, picks["rank"].to_numpy() - 1] = picks["item"].to_numpy()
                values[at, picks["rank"].to_numpy() - 1] = picks["lift"].to_numpy()
        filled = np.zeros(items.shape, dtype=bool)
        if fill:
            filled = self._fill(rows, items, values, exclude_bought, novelty)
        return TopK(items, values, filled)


def _named(codes: pl.Series, items: pl.Series) -> pl.Series:
    """A List column of column numbers as a List column of product ids."""
    flat = codes.explode()
    names = items.gather(flat.fill_null(0).cast(pl.Int64))
    offsets = codes.list.len()
    out, start = [], 0
    values = names.to_list()
    for n in offsets.to_list():
        out.append(values[start:start + n])
        start += n
    return pl.Series(codes.name, out, dtype=pl.List(pl.String))
