"""EASE: a linear item-item model with a closed-form fit (Steck 2019, "Embarrassingly Shallow Autoencoders").

With the customer x item matrix ``X`` (1 where the customer bought the item, or ``log(1 + strength)`` with
``weights="strength"``), EASE learns the item x item weights ``B`` that best rebuild ``X`` from itself,
``min |X - X B|^2 + regularization |B|^2`` with ``diag(B) = 0`` (an item may not explain itself). The
solution is closed-form: with ``P = (X^T X + regularization I)^-1``,

    B[i, j] = -P[i, j] / P[j, j]   (i != j),   B[j, j] = 0,

and a customer's score for item ``j`` is ``sum_i X[u, i] B[i, j]``. Unlike the neighbours of item-kNN, the
weights are fitted jointly: an item that only co-occurs with another because both are popular gets a small or
negative weight. On Online Retail (new products, k = 10) it lists about 10% more of what customers went on to
buy than BM25 item-kNN (P@10 0.108 against 0.098; README, "Offline evaluation").

``P`` is a dense matrix of the square of the items, so the model keeps the ``top_n`` items with the most
buyers (default 2,000: one 16 MB matrix, a tenth of a second to invert in single precision on two cores); the
others get no score from it and reach a list only through the popularity fill. On Online Retail 2,000 and 4,000
items list equally well (P@10 0.108 both), since the products few customers bought are rarely what EASE ranks
first.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from custlab.exceptions import CustlabError
from custlab.recommend.base import BLOCK_CELLS, Recommender, in_threads, top_of_dense
from custlab.recommend.knn import strongest_of
from custlab.recommend.matrix import Interactions

__all__ = ["EASE", "ease_weights"]


def ease_weights(matrix: sp.spmatrix, regularization: float) -> np.ndarray:
    """The EASE weights ``B`` (float32, items x items, zero diagonal) of a customer x item matrix.

    >>> x = sp.csr_matrix(np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 1.0, 1.0]]))
    >>> ease_weights(x, 1.0).astype(float).round(3).tolist()
    [[0.0, 0.667, -0.25], [0.571, 0.0, 0.375], [-0.286, 0.5, 0.0]]
    """
    x = sp.csr_matrix(matrix, dtype=np.float32)
    if x.shape[1] == 0:
        return np.zeros((0, 0), dtype=np.float32)
    # One dense items x items buffer holds the Gram matrix, its factor, its inverse and the weights: fresh memory
    # is slow to touch on small virtual machines (0.2 s per 100 MB measured here), so nothing else that size is made.
    n = x.shape[1]
    by_item = x.T.tocsr()
    gram = np.empty((n, n), dtype=np.float32)

    def rows_of_gram(span: tuple[int, int]) -> None:  # scipy's sparse product releases the GIL
        (by_item[span[0]:span[1]] @ x).toarray(out=gram[span[0]:span[1]])

    cuts = np.linspace(0, n, 5).astype(int)
    in_threads(rows_of_gram, list(zip(cuts[:-1], cuts[1:], strict=True)))
    gram = gram.T  # symmetric: its transpose is the same matrix in the column order LAPACK works in
    gram[np.diag_indices_from(gram)] += np.float32(regularization)
    # The Gram matrix plus a positive diagonal is symmetric positive definite: Cholesky, then its inverse, in
    # single precision (three times faster than double; the diagonal keeps the condition number small: on Online
    # Retail the weights agree with double precision to 1e-5 and the lists are the same).
    factor, info = scipy.linalg.lapack.spotrf(gram, lower=True, overwrite_a=True)
    if info == 0:
        inverse, info = scipy.linalg.lapack.spotri(factor, lower=True, overwrite_c=True)
    if info != 0:  # pragma: no cover - positive definite by construction
        raise CustlabError(f"EASE could not invert the item Gram matrix (LAPACK info {info}); raise regularization.")
    _mirror_lower(inverse)
    weights = inverse.T  # P is symmetric: its transpose is P again, in row order for the products that read it
    weights /= -np.diag(weights).copy()[None, :]
    np.fill_diagonal(weights, 0.0)
    return weights


def _mirror_lower(square: np.ndarray, block: int = 512) -> None:
    """Copy the lower triangle of ``square`` onto its upper one, in place, a block of columns at a time."""
    n = square.shape[0]
    for start in range(0, n, block):
        stop = min(n, start + block)
        corner = square[start:stop, start:stop]
        upper = np.triu_indices(stop - start, 1)
        corner[upper] = corner.T[upper]
        square[start:stop, stop:] = square[stop:, start:stop].T


class EASE(Recommender):
    """EASE linear item-item model (module docstring).

    Parameters
    ----------
    regularization : float, default 500
        L2 penalty on the weights; larger values trust co-occurrence less (Steck used 200-1000 on the
        benchmark sets; 500 was chosen on Online Retail's and Ta-Feng's training months).
    top_n : int, default 2000
        Items (those with the most buyers) the model scores; memory and time grow with its square and cube.
    weights : {"binary", "strength"}, default "binary"
        ``X`` as 0/1 purchases (Steck's choice), or ``log(1 + strength)`` (purchase days and weighted events).

    Attributes
    ----------
    items_ : numpy.ndarray
        Columns of the items the model scores.
    weights_ : numpy.ndarray
        ``B`` among them (float32).

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> from custlab.recommend import interaction_matrix
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 2, 2, 3, 4, 4], "order_date": [dt.datetime(2024, 1, 1)] * 7,
    ...                    "product_id": ["tea", "cup", "tea", "cup", "tea", "pen", "ink"]})
    >>> data = interaction_matrix(tx)
    >>> ease = EASE(regularization=1.0).fit(data)
    >>> data.items.gather(ease.top_k(data.rows_of([3]), 1).items[0]).to_list()
    ['cup']
    """

    name = "ease"
    threaded_scores = True  # a product of fitted matrices per block

    def __init__(self, *, regularization: float = 500.0, top_n: int = 2000,
                 weights: Literal["binary", "strength"] = "binary") -> None:
        self.regularization = regularization
        self.top_n = top_n
        self.weights = weights

    def _check(self) -> None:
        r = self.regularization
        if isinstance(r, bool) or not isinstance(r, (int, float)) or not np.isfinite(r) or r <= 0:
            raise CustlabError(f"regularization must be a positive number such as 500, got {r!r}.")
        m = self.top_n
        if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
            raise CustlabError(f"top_n must be a whole number of 1 or more, got {m!r}.")
        if self.weights not in ("binary", "strength"):
            raise CustlabError(f"weights must be 'binary' or 'strength', got {self.weights!r}.")

    def _fit(self, data: Interactions) -> None:
        self._check()
        n_items = data.shape[1]
        # the items with most buyers (ties: the smaller column), in column order
        ranked = np.lexsort((np.arange(n_items), -data.buyers))
        kept = np.sort(ranked[:min(int(self.top_n), int((data.buyers > 0).sum()))])
        source = data.bought if self.weights == "binary" else data.strength
        x = sp.csr_matrix(source, dtype=np.float32)[:, kept]  # a copy: changing it leaves the data alone
        if self.weights == "strength":
            x.data = np.log1p(x.data)
        x.sort_indices()
        self.items_ = kept
        self.weights_ = ease_weights(x, float(self.regularization))
        self.profile_ = x
        self.bought_ = self.profile_ if self.weights == "binary" else sp.csr_matrix(data.bought[:, kept])
        self.position_ = np.full(n_items, -1, dtype=np.int64)
        self.position_[kept] = np.arange(kept.size)

    def scores(self, rows: np.ndarray) -> np.ndarray:
        """Scores of every item; -inf for the items the model does not score or scores 0 or less (no evidence)."""
        data = self._check_fitted()
        out = np.full((len(rows), data.shape[1]), -np.inf, dtype=np.float32)
        out[:, self.items_] = self._modelled(rows)
        return out

    def _modelled(self, rows: np.ndarray) -> np.ndarray:
        """Scores of the modelled items (float64), -inf where not positive: no evidence, the popularity fill decides."""
        block = np.asarray(self.profile_[rows] @ self.weights_, dtype=np.float64)
        block[~(block > 0)] = -np.inf
        return block

    def _block_rows(self) -> int:
        # blocks of a quarter of the usual cells, so that a few thousand customers still make blocks for two threads
        return max(1, BLOCK_CELLS // 4 // max(self.items_.size, 1))

    def _block_top(self, rows: np.ndarray, k: int, exclude_bought: bool,
                   penalty: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        # only the modelled columns are scored and ranked: a catalogue of 50,000 products costs no more than 2,000
        items, values = top_of_dense(self._modelled(rows), self.bought_[rows] if exclude_bought else None, k,
                                     None if penalty is None else penalty[self.items_])
        return np.where(items >= 0, self.items_[np.maximum(items, 0)], -1), values

    def because(self, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
        """For each (customer row, recommended item), the bought item with the largest positive weight towards it
        (-1: none)."""
        self._check_fitted()
        rows = np.asarray(rows, dtype=np.int64)
        items = np.asarray(items, dtype=np.int64)
        out = np.full(rows.shape, -1, dtype=np.int64)
        at = np.flatnonzero((rows >= 0) & (items >= 0))
        at = at[self.position_[items[at]] >= 0]
        # the profile's columns are the modelled items, so the weights are read at (column, modelled position)
        found = strongest_of(self.profile_, rows[at], self.position_[items[at]],
                             lambda source, item: self.weights_[source, item])
        out[at] = np.where(found >= 0, self.items_[np.maximum(found, 0)], -1)
        return out
