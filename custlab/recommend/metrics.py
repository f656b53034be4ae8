"""Ranking metrics at k, per customer, and the catalogue-level measures of a set of lists.

For a customer with ``R`` relevant items (bought in the test window; by
default only items new to them) and a list of ``k`` items with hits ``h_1..h_k``:

* precision@k = hits / k; recall@k = hits / R; hit rate@k = 1 if any hit;
* NDCG@k = sum(h_i / log2(i + 1)) / sum(1 / log2(i + 1) for i <= min(k, R));
* AP@k = sum(precision@i * h_i) / min(k, R) (MAP@k is its mean).

Relevant items outside the training catalogue count in ``R`` (no model could
have named them). Over all lists: coverage = share of the catalogue recommended
to someone; novelty = mean self-information ``-log2(share of customers who
bought the item)`` of the recommended items (Zhou et al. 2010); long-tail
share = share of recommendations outside the most-bought :data:`HEAD_SHARE` of
items.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["HEAD_SHARE", "METRICS", "catalogue_measures", "hits_of", "long_tail", "per_customer", "truth_matrix"]

#: Ranking metrics computed per customer, in table order.
METRICS = ("precision", "recall", "ndcg", "hit_rate", "map")
#: The most-bought share of the catalogue counted as the head; the other items are the long tail.
HEAD_SHARE = 0.2


def hits_of(items: np.ndarray, truth: sp.csr_matrix, rows: np.ndarray) -> np.ndarray:
    """``(n, k)`` bool: item ``items[u, i]`` is in row ``rows[u]`` of ``truth`` (-1 never hits)."""
    truth = sp.csr_matrix(truth)
    truth.sort_indices()
    n_cols = truth.shape[1]
    keys = np.repeat(np.arange(truth.shape[0], dtype=np.int64), np.diff(truth.indptr)) * n_cols + truth.indices
    query = rows.astype(np.int64)[:, None] * n_cols + np.maximum(items, 0)
    if keys.size == 0:
        return np.zeros(items.shape, dtype=bool)
    pos = np.minimum(np.searchsorted(keys, query), keys.size - 1)
    return (keys[pos] == query) & (items >= 0)


def per_customer(hits: np.ndarray, relevant: np.ndarray) -> dict[str, np.ndarray]:
    """The :data:`METRICS` of each list, from its hits ``(n, k)`` and number of relevant items ``(n,)``.

    >>> m = per_customer(np.array([[True, False, True]]), np.array([4]))
    >>> {key: round(float(v[0]), 4) for key, v in m.items()}
    {'precision': 0.6667, 'recall': 0.5, 'ndcg': 0.7039, 'hit_rate': 1.0, 'map': 0.5556}
    """
    n, k = hits.shape
    relevant = np.maximum(relevant.astype(np.float64), 1.0)
    found = hits.sum(axis=1).astype(np.float64)
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.cumsum(discount)[np.minimum(relevant, k).astype(np.int64) - 1]
    precision_at = np.cumsum(hits, axis=1) / np.arange(1, k + 1)
    return {
        "precision": found / k,
        "recall": found / relevant,
        "ndcg": (hits * discount).sum(axis=1) / ideal,
        "hit_rate": (found > 0).astype(np.float64),
        "map": (precision_at * hits).sum(axis=1) / np.minimum(relevant, k),
    }


def long_tail(buyers: np.ndarray, head_share: float = HEAD_SHARE) -> np.ndarray:
    """Bool per item: outside the ``head_share`` most-bought items (ties: product order)."""
    order = np.lexsort((np.arange(buyers.size), -buyers))
    head = order[:int(np.ceil(head_share * buyers.size))]
    tail = np.ones(buyers.size, dtype=bool)
    tail[head] = False
    return tail


def catalogue_measures(items: np.ndarray, buyers: np.ndarray, n_customers: int) -> dict[str, float]:
    """``coverage``, ``novelty`` (bits) and ``long_tail_share`` of the lists ``items`` (``(n, k)``, -1 = none)."""
    listed = items[items >= 0]
    if listed.size == 0:
        return {"coverage": 0.0, "novelty": 0.0, "long_tail_share": 0.0}
    share = np.maximum(buyers[listed], 1) / max(n_customers, 1)
    return {
        "coverage": float(np.unique(listed).size / max(buyers.size, 1)),
        "novelty": float(np.mean(-np.log2(share))),
        "long_tail_share": float(long_tail(buyers)[listed].mean()),
    }


def truth_matrix(bought: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray, *,
                 new_items_only: bool = True) -> tuple[np.ndarray, sp.csr_matrix, np.ndarray]:
    """What each customer bought in the test window: ``(customer rows, truth, relevant counts)``.

    ``rows``/``cols`` are the test purchases as training rows (-1: a customer
    without training history, left out) and item codes (codes at or above the
    catalogue size stand for items not in the training catalogue). With
    ``new_items_only``, items the customer bought in training are not relevant.
    ``truth`` is CSR over the training rows; the rows returned are those with
    at least one relevant item.
    """
    n_rows, n_items = bought.shape
    keep = rows >= 0
    rows, cols = rows[keep].astype(np.int64), cols[keep].astype(np.int64)
    width = int(max(n_items, cols.max(initial=-1) + 1))
    truth = sp.csr_matrix((np.ones(rows.size, dtype=np.float32), (rows, cols)), shape=(n_rows, width))
    truth.data[:] = 1.0
    truth.sum_duplicates()
    truth.data[:] = 1.0
    if new_items_only:
        owned = sp.csr_matrix((bought.data, bought.indices, bought.indptr), shape=(n_rows, n_items))
        owned.resize((n_rows, width))
        truth = sp.csr_matrix(truth - truth.multiply(owned))
        truth.eliminate_zeros()
    truth.sort_indices()
    relevant = np.diff(truth.indptr)
    users = np.flatnonzero(relevant > 0)
    return users, truth, relevant[users]
