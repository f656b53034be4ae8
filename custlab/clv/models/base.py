"""The shared base of the counting models (BG/NBD, MBG/NBD, Pareto/NBD): fitting and predictions.

A model is a subclass of :class:`_PurchaseModel` that names its parameters and
four formulas (P(alive), expected purchases if alive, the unconditional
expectation and the pmf of repeat purchases); everything else lives here.
Fitting goes through :mod:`custlab.clv._lifetimes` on the distinct
(frequency, recency, T) patterns with weights.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from custlab._types import Frame
from custlab.clv import _lifetimes
from custlab.clv.models._fitting import FitResult, parameters_text
from custlab.clv.summary import Freq, _patterns, _per_pattern, _summary_arrays, freq_unit
from custlab.exceptions import CustlabError

__all__ = ["_PurchaseModel"]


class _PurchaseModel:
    """Shared fitting and prediction for the counting models (BG/NBD, MBG/NBD, Pareto/NBD)."""

    _kind: str = ""
    name: str = ""
    param_names: tuple[str, ...] = ()

    def __init__(self, *, penalizer: float = 0.0, freq: Freq = "W", max_iterations: int | None = None) -> None:
        self.penalizer = penalizer
        self.freq = freq
        self.max_iterations = max_iterations

    def __repr__(self) -> str:
        if hasattr(self, "params_"):
            return (f"{type(self).__name__}({parameters_text(self.params_)}; {self.n_customers_:,} customers, "
                    f"freq={self.freq!r})")
        return f"{type(self).__name__}(penalizer={self.penalizer}, freq={self.freq!r})"

    def fit(self, summary: Frame) -> _PurchaseModel:
        """Fit on a summary with ``frequency``, ``recency``, ``T`` (e.g. from :func:`clv_summary`).

        Customers with identical (frequency, recency, T) are fitted as one
        weighted pattern. Sets ``params_`` (dict), ``log_likelihood_`` (total
        over customers, in the summary's time unit, no penalty),
        ``standard_errors_`` (dict), ``n_customers_``,
        ``n_patterns_``, ``max_frequency_``, ``max_T_``; returns ``self``.

        Raises
        ------
        ConvergenceError
            The optimizer did not converge; the message gives the retry
            (a ``penalizer``).
        """
        freq_unit(self.freq)  # validated here, used by predict_clv and tracking
        if not (isinstance(self.penalizer, (int, float)) and self.penalizer >= 0):
            raise CustlabError(f"penalizer must be a number >= 0, got {self.penalizer!r}.")
        frame = _summary_arrays(summary)
        n_repeat = int((frame["frequency"] > 0).sum())
        if n_repeat == 0:
            raise CustlabError(
                f"No customer in the summary made a repeat purchase (frequency > 0 for 0 of {frame.height:,} "
                f"customers): the {self.name} model cannot separate purchase rates from dropout. Use a longer "
                f"observation period or a later as_of."
            )
        x, tx, T, w = _patterns(frame)
        result = self._fit_patterns(x, tx, T, w)
        self.params_ = result.params
        self.log_likelihood_ = result.log_likelihood
        self._fit_result = result
        self.n_customers_ = int(w.sum())  # frame.height, or the customers a pattern table stands for
        self.n_patterns_ = len(w)
        self.max_frequency_ = int(x.max())
        self.max_T_ = float(T.max())
        return self

    def _fit_patterns(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray) -> FitResult:
        """Fit on distinct patterns with weights (lifetimes' fitter unless a model brings its own)."""
        return _lifetimes.fit_counting(self._kind, x, tx, T, w, penalizer=float(self.penalizer),
                                       max_iterations=self.max_iterations, retry_hint=type(self).__name__)

    def _log_likelihood(self, p: dict[str, float], x, tx, T, w) -> float:
        return _lifetimes.log_likelihood(self._kind, p, x, tx, T, w)

    def _check_fitted(self) -> dict[str, float]:
        if not hasattr(self, "params_"):
            raise CustlabError(f"This {type(self).__name__} is not fitted yet; call .fit(summary) first.")
        return self.params_

    @property
    def standard_errors_(self) -> dict[str, float | None]:
        """Standard errors of the parameters (delta method on the log parameters), computed on first access;
        None where they cannot be computed (e.g. a parameter at the edge of its space)."""
        self._check_fitted()
        return self._fit_result.standard_errors()

    # numpy interface -------------------------------------------------------
    def expected_purchases(self, t, frequency, recency, T) -> np.ndarray:
        """E[purchases in the next ``t`` units | frequency, recency, T] (arrays broadcast).

        Computed as P(alive | frequency, recency, T) x E[purchases | alive,
        frequency, T], which equals the papers' conditional expectation
        (BG/NBD eq. 10, and its MBG/NBD and Pareto/NBD analogues).
        """
        p = self._check_fitted()
        t, x, tx, T = (np.asarray(v, dtype=float) for v in (t, frequency, recency, T))
        return self._alive(p, x, tx, T) * self._expected_alive(p, t, x, T)

    def expected_purchases_if_alive(self, t, frequency, T) -> np.ndarray:
        """E[purchases in the next ``t`` units | alive at T, frequency] (recency matters only through P(alive))."""
        p = self._check_fitted()
        t, x, T = (np.asarray(v, dtype=float) for v in (t, frequency, T))
        return self._expected_alive(p, t, x, T)

    def probability_alive(self, frequency, recency, T) -> np.ndarray:
        """P(the customer is still active at T | frequency, recency, T)."""
        p = self._check_fitted()
        return self._alive(p, *[np.asarray(v, dtype=float) for v in (frequency, recency, T)])

    def expected_purchases_new(self, t) -> np.ndarray:
        """E[repeat purchases within ``t`` units of the first purchase] for a new customer.

        Each distinct ``t`` is computed once (a tracking curve asks for weeks x first-purchase days, which repeat).
        """
        p = self._check_fitted()
        t = np.asarray(t, dtype=float)
        values, index = np.unique(t, return_inverse=True)
        return np.asarray(self._unconditional(p, values), dtype=float)[index].reshape(t.shape)

    def probability_of_purchases(self, n: int, t) -> np.ndarray:
        """P(exactly ``n`` repeat purchases within ``t`` units of the first purchase), vectorised over ``t``."""
        return self._pmf(self._check_fitted(), int(n), t)

    def log_likelihood(self, summary: Frame) -> float:
        """Total log-likelihood of a summary under the fitted parameters (no penalty)."""
        p = self._check_fitted()
        x, tx, T, w = _patterns(_summary_arrays(summary))
        return self._log_likelihood(p, x, tx, T, w)

    # frame interface -------------------------------------------------------
    def predict(self, summary: Frame, *, horizon: float) -> pl.DataFrame:
        """Probability alive and expected purchases in the next ``horizon`` units, per customer.

        Returns the summary with ``p_alive`` and ``expected_purchases`` (Float64) added.
        """
        self._check_fitted()
        frame = _summary_arrays(summary)
        x, tx, T = (frame[c].cast(pl.Float64).to_numpy() for c in ("frequency", "recency", "T"))
        alive = self.probability_alive(x, tx, T)
        out = _per_pattern(frame.with_columns(p_alive=pl.Series(alive, dtype=pl.Float64)),
                           lambda x, T: {"_if_alive": self.expected_purchases_if_alive(horizon, x, T)},
                           keys=("frequency", "T"))
        return out.with_columns(expected_purchases=pl.col("p_alive") * pl.col("_if_alive")).drop("_if_alive")


