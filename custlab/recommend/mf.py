"""Implicit-feedback matrix factorisation: alternating least squares (Hu, Koren & Volinsky 2008).

Each customer ``u`` and item ``i`` get ``factors`` numbers ``x_u`` and ``y_i``;
the model fits ``x_u . y_i`` to the preference ``p = 1`` (bought or viewed)
or 0, weighting each observed cell by the confidence ``alpha * strength`` (the
others by 1; the formulation of the ``implicit`` library), with an
L2 penalty ``regularization``. Both sides are solved in turn, each customer's
(and item's) least-squares problem by three conjugate-gradient steps from the
last solution (Takács, Pilászy & Tikk 2011), as the ``implicit`` library does.

Backends: ``"implicit"`` uses the `implicit <https://github.com/benfred/implicit>`_
package (an optional extra: ``pip install implicit``; compiled, multi-threaded,
the fast choice for millions of customers); ``"numpy"`` is custlab's own
implementation of the same algorithm in numpy and scipy (vectorised over
customers, no compiled code), so the model works where ``implicit`` cannot be
installed, and the two check each other in the tests. ``"auto"`` takes
``implicit`` when it is importable.
"""

from __future__ import annotations

import importlib.util
import warnings
from typing import Literal

import numpy as np
import scipy.sparse as sp

from custlab.exceptions import CustlabError
from custlab.recommend.base import Recommender
from custlab.recommend.matrix import Interactions

__all__ = ["ALS", "als_numpy", "implicit_available"]

Backend = Literal["auto", "implicit", "numpy"]
#: Stored cells handled at once by the numpy backend (customers x factors gathered per step).
CHUNK_CELLS = 1 << 22


def implicit_available() -> bool:
    """Whether the optional ``implicit`` package is installed."""
    return importlib.util.find_spec("implicit") is not None


class ALS(Recommender):
    """Implicit-feedback ALS (module docstring).

    Parameters
    ----------
    factors : int, default 64
        Latent dimensions.
    regularization : float, default 0.05
        L2 penalty on the factors.
    alpha : float, default 10
        Confidence per unit of ``strength`` (purchase days plus weighted events).
    iterations : int, default 15
        Alternating sweeps.
    backend : {"auto", "implicit", "numpy"}, default "auto"
    seed : int, default 0
        Seed of the starting factors.

    Attributes
    ----------
    user_factors_, item_factors_ : numpy.ndarray
        ``(customers, factors)`` and ``(items, factors)``, float32.
    backend_ : str
        The backend used.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> from custlab.recommend import interaction_matrix
    >>> data = interaction_matrix(pl.DataFrame({"customer_id": [1, 1, 2, 2, 3, 4], "product_id": list("abababc"[:6]),
    ...                                         "order_date": [dt.datetime(2024, 3, 1)] * 6}))
    >>> ALS(factors=2, backend="numpy").fit(data).top_k(data.rows_of([3]), 1).items.tolist()
    [[1]]
    """

    name = "als"
    threaded_scores = True  # a product of the fitted factor matrices per block

    def __init__(self, *, factors: int = 64, regularization: float = 0.05, alpha: float = 10.0,
                 iterations: int = 15, backend: Backend = "auto", seed: int = 0) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.backend = backend
        self.seed = seed

    def _check(self) -> str:
        for name in ("factors", "iterations"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise CustlabError(f"{name} must be a whole number of 1 or more, got {value!r}.")
        for name in ("regularization", "alpha"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not np.isfinite(value) or value < 0:
                raise CustlabError(f"{name} must be a number of 0 or more, got {value!r}.")
        if self.backend not in ("auto", "implicit", "numpy"):
            raise CustlabError(f"backend must be 'auto', 'implicit' or 'numpy', got {self.backend!r}.")
        if self.backend == "implicit" and not implicit_available():
            raise CustlabError("backend='implicit' needs the optional package implicit: pip install implicit "
                               "(or use backend='numpy', custlab's own implementation of the same algorithm).")
        return "implicit" if self.backend == "auto" and implicit_available() else \
            ("numpy" if self.backend == "auto" else self.backend)

    def _fit(self, data: Interactions) -> None:
        backend = self._check()
        confidence = sp.csr_matrix(data.strength, dtype=np.float32)
        confidence.data = confidence.data * np.float32(self.alpha)
        if backend == "implicit":
            users, items = _als_implicit(confidence, self.factors, self.regularization, self.iterations, self.seed)
        else:
            users, items = als_numpy(confidence, factors=self.factors, regularization=self.regularization,
                                     iterations=self.iterations, seed=self.seed)
        self.user_factors_, self.item_factors_, self.backend_ = users, items, backend

    def scores(self, rows: np.ndarray) -> np.ndarray:
        self._check_fitted()
        return self.user_factors_[rows] @ self.item_factors_.T


def _als_implicit(confidence: sp.csr_matrix, factors: int, regularization: float, iterations: int,
                  seed: int) -> tuple[np.ndarray, np.ndarray]:
    from threadpoolctl import threadpool_limits

    with warnings.catch_warnings():
        # implicit warns when BLAS runs its own threads; they are limited to one here, as it advises
        warnings.filterwarnings("ignore", message=".*OpenBLAS.*|.*threadpool.*", category=RuntimeWarning)
        # implicit imports tqdm.auto, which in a Jupyter kernel without ipywidgets warns "IProgress not found"
        # (no progress bar is shown: show_progress=False)
        warnings.filterwarnings("ignore", message="IProgress not found")
        from implicit.cpu.als import AlternatingLeastSquares

        with threadpool_limits(1, "blas"):
            model = AlternatingLeastSquares(factors=factors, regularization=regularization, alpha=1.0,
                                            iterations=iterations, random_state=seed,
                                            calculate_training_loss=False)
            model.fit(confidence, show_progress=False)
    return np.asarray(model.user_factors, dtype=np.float32), np.asarray(model.item_factors, dtype=np.float32)


def als_numpy(confidence: sp.csr_matrix, *, factors: int = 64, regularization: float = 0.05, iterations: int = 15,
              seed: int = 0, cg_steps: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """ALS with conjugate-gradient updates in numpy: ``(user_factors, item_factors)``.

    ``confidence`` holds the confidence ``alpha * strength`` of the observed cells
    (preference 1); every other cell has preference 0 and confidence 1.
    """
    confidence = sp.csr_matrix(confidence, dtype=np.float64)
    confidence.sort_indices()
    rng = np.random.default_rng(seed)
    n_users, n_items = confidence.shape
    users = rng.random((n_users, factors)) * 0.01
    items = rng.random((n_items, factors)) * 0.01
    by_item = confidence.T.tocsr()
    by_item.sort_indices()
    for _ in range(iterations):
        users = _cg_sweep(confidence, users, items, regularization, cg_steps)
        items = _cg_sweep(by_item, items, users, regularization, cg_steps)
    return users.astype(np.float32), items.astype(np.float32)


def _cg_sweep(conf: sp.csr_matrix, x: np.ndarray, y: np.ndarray, regularization: float, steps: int) -> np.ndarray:
    """Update every row of ``x`` by ``steps`` conjugate-gradient steps on its least-squares problem given ``y``.

    For row ``u`` the system is ``(Y'Y + Y' (C_u - I) Y + reg I) x_u = Y' C_u p_u``, ``C_u`` its confidences.
    """
    gram = y.T @ y + regularization * np.eye(y.shape[1])
    x = x.copy()
    n = conf.shape[0]
    lengths = np.diff(conf.indptr)
    per_row = max(1, int(lengths.mean() + 1) * y.shape[1])
    step = max(1, CHUNK_CELLS // per_row)
    for start in range(0, n, step):
        stop = min(n, start + step)
        block = conf[start:stop]
        xb = x[start:stop]
        # right-hand side: sum over observed items of c_ui y_i
        rhs = block @ y
        r = rhs - _apply(block, gram, y, xb)
        p = r.copy()
        rs_old = np.einsum("ij,ij->i", r, r)
        for _ in range(steps):
            ap = _apply(block, gram, y, p)
            denom = np.einsum("ij,ij->i", p, ap)
            a = np.divide(rs_old, denom, out=np.zeros_like(rs_old), where=denom > 0)
            xb = xb + a[:, None] * p
            r = r - a[:, None] * ap
            rs_new = np.einsum("ij,ij->i", r, r)
            beta = np.divide(rs_new, rs_old, out=np.zeros_like(rs_new), where=rs_old > 0)
            p = r + beta[:, None] * p
            rs_old = rs_new
        x[start:stop] = xb
    return x


def _apply(block: sp.csr_matrix, gram: np.ndarray, y: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``(Y'Y + reg I) v_u + sum_i (c_ui - 1) (y_i . v_u) y_i`` for every row ``u`` of the block."""
    rows = np.repeat(np.arange(block.shape[0]), np.diff(block.indptr))
    dots = np.einsum("ij,ij->i", y[block.indices], v[rows])
    weighted = sp.csr_matrix(((block.data - 1.0) * dots, block.indices, block.indptr), shape=block.shape)
    return v @ gram + weighted @ y
