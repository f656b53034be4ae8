"""Item-item nearest neighbours on the sparse customer x item matrix (scipy only).

Two items are similar when the same customers buy them. With the customer x
item weights ``M`` (``log(1 + strength)``, strength being purchase days plus
weighted views and carts; BM25-weighted with ``similarity="bm25"``), the similarity of items
``i`` and ``j`` is

    s(i, j) = (M_i . M_j) / (|M_i| ** (2 * alpha) * |M_j| ** (2 * (1 - alpha)))

-- the cosine for ``alpha = 0.5``; a larger ``alpha`` leans towards popular
items ``j`` (Aiolli's asymmetric cosine). Each item keeps its
``neighbours`` most similar items, and a customer's score for item ``j`` is
the sum of ``s(i, j)`` over the items ``i`` in their history, weighted by
their ``strength``. BM25 (Robertson's weighting, as in text retrieval) damps
customers with very long histories and items everybody buys.
The similarity matrix is built in blocks of items, so memory stays bounded
by the ``neighbours`` kept, not by the square of the catalogue.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
import polars as pl
import scipy.sparse as sp

from custlab.exceptions import CustlabError
from custlab.recommend.base import Recommender, in_threads, top_k_sparse
from custlab.recommend.matrix import Interactions

__all__ = ["ItemKNN", "bm25_weight", "item_similarity", "strongest_of", "strongest_source"]

#: Stored products (of the sparse product) per block of items when building similarities.
BLOCK_PRODUCTS = 1 << 24


def bm25_weight(matrix: sp.csr_matrix, *, k1: float = 1.2, b: float = 0.75) -> sp.csr_matrix:
    """BM25 weights of a customer x item matrix (customers as documents, items as terms).

    ``w = x (k1 + 1) / (k1 ((1 - b) + b len / mean len) + x) * idf``, with
    ``idf = log(customers / (1 + buyers))`` floored at 0 and ``len`` the row sum.

    >>> m = sp.csr_matrix(np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 1.0]]))
    >>> bm25_weight(m).toarray().round(3).tolist()
    [[0.313, 0.0], [0.231, 0.0], [0.0, 0.0], [0.0, 0.0]]
    """
    coo = sp.coo_matrix(matrix, dtype=np.float64)
    n_rows = coo.shape[0]
    idf = np.maximum(np.log(n_rows) - np.log1p(np.bincount(coo.col, minlength=coo.shape[1])), 0.0)
    length = np.bincount(coo.row, weights=coo.data, minlength=n_rows)
    norm = (1.0 - b) + b * length / max(length.mean(), 1e-12)
    data = coo.data * (k1 + 1.0) / (k1 * norm[coo.row] + coo.data) * idf[coo.col]
    out = sp.csr_matrix((data, (coo.row, coo.col)), shape=coo.shape)
    out.eliminate_zeros()
    return out


class ItemKNN(Recommender):
    """Item-item kNN with cosine or BM25 weighting (module docstring).

    Parameters
    ----------
    similarity : {"bm25", "cosine"}, default "bm25"
        Cosine of the BM25-weighted columns, or of ``log(1 + strength)``.
    neighbours : int or None, default 50
        Similar items each item keeps (None: all).
    alpha : float in [0, 1], default 0.5
        0.5 is the cosine; towards 1 the similarity favours popular items.

    Attributes
    ----------
    similarity_ : scipy.sparse.csr_matrix
        ``(items, items)``, row ``i`` holding the neighbours of item ``i``.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> from custlab.recommend import interaction_matrix
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 2, 2, 3], "order_date": [dt.datetime(2024, 1, 1)] * 5,
    ...                    "product_id": ["tea", "cup", "tea", "cup", "tea"]})
    >>> data = interaction_matrix(tx)
    >>> knn = ItemKNN(similarity="cosine").fit(data)
    >>> data.items.gather(knn.top_k(data.rows_of([3]), 1).items[0]).to_list()
    ['cup']
    """

    name = "knn"
    threaded_scores = True  # a sparse product of fitted matrices per block

    def __init__(self, *, similarity: Literal["bm25", "cosine"] = "bm25", neighbours: int | None = 50,
                 alpha: float = 0.5) -> None:
        self.similarity = similarity
        self.neighbours = neighbours
        self.alpha = alpha

    def _check(self) -> None:
        if self.similarity not in ("bm25", "cosine"):
            raise CustlabError(f"similarity must be 'bm25' or 'cosine', got {self.similarity!r}.")
        if self.neighbours is not None and (isinstance(self.neighbours, bool) or not isinstance(self.neighbours, int)
                                            or self.neighbours < 1):
            raise CustlabError(f"neighbours must be a whole number of 1 or more, or None, got {self.neighbours!r}.")
        if not isinstance(self.alpha, (int, float)) or not 0 <= self.alpha <= 1:
            raise CustlabError(f"alpha must be between 0 and 1 (0.5 is the cosine), got {self.alpha!r}.")

    def _weights(self, data: Interactions) -> sp.csr_matrix:
        damped = sp.csr_matrix(data.strength, dtype=np.float64)
        damped.data = np.log1p(damped.data)
        return bm25_weight(damped) if self.similarity == "bm25" else damped

    def _fit(self, data: Interactions) -> None:
        self._check()
        weights = self._weights(data)
        self.profile_ = sp.csr_matrix(data.strength, dtype=np.float64)
        self.similarity_ = item_similarity(weights, alpha=self.alpha, neighbours=self.neighbours)

    def scores(self, rows: np.ndarray) -> sp.csr_matrix:
        self._check_fitted()
        return sp.csr_matrix(self.profile_[rows] @ self.similarity_)

    def because(self, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
        """For each (customer row, recommended item), the bought item that contributes most to the score (-1: none)."""
        self._check_fitted()
        return strongest_source(self.profile_, self.similarity_, rows, items)


def strongest_source(profile: sp.csr_matrix, similarity: sp.csr_matrix, rows: np.ndarray,
                     items: np.ndarray) -> np.ndarray:
    """For each pair (``rows[p]``, ``items[p]``), the item ``i`` of the row's ``profile`` with the largest
    ``profile[row, i] * similarity[i, item]`` (the first such ``i`` on ties; -1 when none is positive)."""
    sim = sp.csr_matrix(similarity)
    sim.sort_indices()
    if sim.nnz == 0:
        return np.full(np.shape(rows), -1, dtype=np.int64)
    n_items = sim.shape[1]
    keys = np.repeat(np.arange(sim.shape[0], dtype=np.int64), np.diff(sim.indptr)) * n_items + sim.indices
    table = pl.DataFrame({"key": keys, "weight": sim.data.astype(np.float64)})

    def weight(source: np.ndarray, item: np.ndarray) -> np.ndarray:
        # a hash join: millions of lookups in random order (Ta-Feng: about 5M pairs) cost 7x less than a
        # binary search of the sorted keys, whose misses leave the cache; the keys are unique (a CSR matrix)
        key = pl.DataFrame({"key": source * n_items + item})
        return key.join(table, on="key", how="left", maintain_order="left")["weight"].fill_null(0.0).to_numpy()

    return strongest_of(profile, rows, items, weight)


def strongest_of(profile: sp.csr_matrix, rows: np.ndarray, items: np.ndarray,
                 weight: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    """:func:`strongest_source` with the weights of (source item, item) pairs read by ``weight(sources, items)``
    (arrays of columns of ``profile`` and of the items asked about)."""
    rows = np.asarray(rows, dtype=np.int64)
    items = np.asarray(items, dtype=np.int64)
    out = np.full(rows.shape, -1, dtype=np.int64)
    at = np.flatnonzero((rows >= 0) & (items >= 0))
    if at.size == 0:
        return out
    lengths = np.diff(profile.indptr)[rows[at]]
    pair = np.repeat(np.arange(at.size), lengths)
    starts = np.repeat(profile.indptr[rows[at]], lengths)
    offset = np.arange(pair.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    source = profile.indices[starts + offset].astype(np.int64)
    value = profile.data[starts + offset] * weight(source, items[at][pair])
    best = np.full(at.size, -1.0)
    np.maximum.at(best, pair, value)
    first = np.flatnonzero((value == best[pair]) & (value > 0))
    pairs, where = np.unique(pair[first], return_index=True)
    chosen = np.full(at.size, -1, dtype=np.int64)
    chosen[pairs] = source[first[where]]
    out[at] = chosen
    return out


def item_similarity(weights: sp.csr_matrix, *, alpha: float = 0.5, neighbours: int | None = None) -> sp.csr_matrix:
    """Item x item similarity of the columns of ``weights`` (module docstring), diagonal 0, top ``neighbours`` per row.

    >>> w = sp.csr_matrix(np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 1.0]]))
    >>> item_similarity(w).toarray().round(3).tolist()
    [[0.0, 0.707, 0.707], [0.707, 0.0, 0.0], [0.707, 0.0, 0.0]]
    """
    weights = sp.csr_matrix(weights, dtype=np.float64)
    n_items = weights.shape[1]
    squares = np.asarray(weights.multiply(weights).sum(axis=0)).ravel()
    squares[squares == 0] = 1.0
    left, right = squares ** -alpha, squares ** -(1.0 - alpha)
    by_item = weights.T.tocsr()
    # products each item's row of the co-occurrence costs: its customers' history lengths
    cost = by_item @ np.diff(weights.indptr).astype(np.float64)
    bounds = []
    start = 0
    while start < n_items:
        total = np.cumsum(cost[start:])
        stop = start + max(1, int(np.searchsorted(total, BLOCK_PRODUCTS, side="right")))
        bounds.append((start, stop))
        start = stop

    def block_of(span: tuple[int, int]) -> sp.csr_matrix:
        start, stop = span
        block = sp.csr_matrix(by_item[start:stop] @ weights)
        rows = np.repeat(np.arange(stop - start), np.diff(block.indptr))
        block.data *= left[start:stop][rows]  # (left x product) x right, as the product with diagonals
        block.data *= right[block.indices]
        block.data[block.indices == rows + start] = 0.0
        block.eliminate_zeros()
        if neighbours is not None and np.diff(block.indptr).max(initial=0) > neighbours:
            top_i, top_v = top_k_sparse(block, neighbours)
            keep = top_i >= 0
            r = np.repeat(np.arange(stop - start), keep.sum(axis=1))
            block = sp.csr_matrix((top_v[keep].astype(np.float64), (r, top_i[keep])), shape=(stop - start, n_items))
        return block

    parts = in_threads(block_of, bounds)
    out = sp.vstack(parts, format="csr") if parts else sp.csr_matrix((0, n_items))
    out.sort_indices()
    return out
