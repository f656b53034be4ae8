"""Pareto/NBD (Schmittlein, Morrison & Colombo 1987), with Fader & Hardie's note 009 formulas."""

from __future__ import annotations

import numpy as np
from scipy import special

from custlab.clv.models._fitting import FitResult, convergence_error, log_covariance
from custlab.clv.models._special import nbd_log_pmf, pareto_log_k, pareto_log_likelihood
from custlab.clv.models.base import _PurchaseModel

__all__ = ["ParetoNBD", "fit_pareto"]


def _pareto_alive(p, x, tx, T):
    """P(alive | x, t_x, T) = 1 / (1 + K), with log K from :func:`~custlab.clv.models._special.pareto_log_k`."""
    return special.expit(-pareto_log_k(p["r"], p["alpha"], p["s"], p["beta"], x, tx, T))


def _pareto_expected_alive(p, t, x, T):
    """E[purchases in (T, T + t] | alive at T, x] for Pareto/NBD (Fader & Hardie note 009, eq. (41) without P(alive))."""
    r, alpha, s, beta = p["r"], p["alpha"], p["s"], p["beta"]
    log_ratio = np.log1p(np.asarray(t, dtype=float) / (beta + T))
    with np.errstate(divide="ignore"):
        survival = log_ratio if s == 1 else -np.expm1(-(s - 1) * log_ratio) / (s - 1)
    return (r + x) * (beta + T) / (alpha + T) * survival


def _pareto_unconditional(p, t):
    r, alpha, s, beta = p["r"], p["alpha"], p["s"], p["beta"]
    t = np.asarray(t, dtype=float)
    if s == 1:
        return r / alpha * beta * np.log1p(t / beta)
    return r * beta / (alpha * (s - 1)) * -np.expm1(-(s - 1) * np.log1p(t / beta))


_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(64)


def _pareto_pmf(p, n, t):
    """P(X(t) = n) by one-dimensional quadrature over the lifetime distribution.

    P = NBD(n; t) S(t) + int_0^t NBD(n; tau) f(tau) dtau, with the Pareto
    lifetime S(t) = (beta / (beta + t))**s. The integral is taken over
    u = F(tau) in [0, F(t)] (64-point Gauss-Legendre), where the integrand is
    smooth whatever the parameters.
    """
    r, alpha, s, beta = p["r"], p["alpha"], p["s"], p["beta"]
    t = np.atleast_1d(np.asarray(t, dtype=float))
    log_survival = -s * np.log1p(t / beta)
    upper = -np.expm1(log_survival)  # F(t)
    u = upper[:, None] * (_NODES[None, :] + 1) / 2
    tau = beta * np.expm1(-np.log1p(-u) / s)
    integral = (np.exp(nbd_log_pmf(n, tau, r, alpha)) * _WEIGHTS[None, :]).sum(axis=1) * upper / 2
    return np.exp(nbd_log_pmf(n, t, r, alpha) + log_survival) + integral


class ParetoNBD(_PurchaseModel):
    """Pareto/NBD model (Schmittlein, Morrison & Colombo 1987), fitted by maximum likelihood (:func:`fit_pareto`).

    Purchases at rate lambda ~ Gamma(r, alpha) while active; an exponential
    lifetime with rate mu ~ Gamma(s, beta). The likelihood is evaluated
    without 2F1 (see :mod:`custlab.clv.models._special`), so it stays finite
    where lifetimes' returns NaN (s -> 0, large x, long T). beta is weakly
    identified on small data: compare log-likelihoods rather than beta itself.

    Examples
    --------
    >>> from custlab.data.datasets import load_cdnow
    >>> pnbd = ParetoNBD(freq="W").fit(load_cdnow("summary"))
    >>> {k: round(v, 3) for k, v in pnbd.params_.items()}, round(pnbd.log_likelihood_, 1)
    ({'r': 0.553, 'alpha': 10.578, 's': 0.606, 'beta': 11.668}, -9595.0)
    """

    _kind = "pareto"
    name = "Pareto/NBD"
    param_names = ("r", "alpha", "s", "beta")
    _expected_alive, _alive = staticmethod(_pareto_expected_alive), staticmethod(_pareto_alive)
    _unconditional, _pmf = staticmethod(_pareto_unconditional), staticmethod(_pareto_pmf)


    def _fit_patterns(self, x, tx, T, w) -> FitResult:
        return fit_pareto(x, tx, T, w, penalizer=float(self.penalizer), max_iterations=self.max_iterations)

    def _log_likelihood(self, p, x, tx, T, w) -> float:
        return float(np.sum(w * pareto_log_likelihood(p["r"], p["alpha"], p["s"], p["beta"], x, tx, T)))


def _objective(log_params: np.ndarray, x, tx, T, w, penalizer: float, search: bool = True) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood per customer plus penalizer * sum(params**2), and its gradient in log parameters."""
    params = np.exp(log_params)
    if not np.all(np.isfinite(params)) or np.any(params <= 0):
        return np.inf, np.zeros(4)
    with np.errstate(all="ignore"):
        ll, grad = pareto_log_likelihood(*params, x, tx, T, gradient=True, search=search)
    total = w.sum()
    value = -float(np.sum(w * ll)) / total + penalizer * float(np.sum(params**2))
    slope = (-(w[:, None] * grad).sum(axis=0) / total + 2 * penalizer * params) * params
    if not (np.isfinite(value) and np.all(np.isfinite(slope))):
        return np.inf, np.zeros(4)
    return value, slope


def _numerical_hessian(log_params: np.ndarray, args: tuple, step: float = 1e-4) -> np.ndarray:
    """Central differences of the analytic gradient (accurate nodes), symmetrised."""
    columns = []
    for i in range(log_params.size):
        shift = np.zeros_like(log_params)
        shift[i] = step
        up, down = _objective(log_params + shift, *args, False)[1], _objective(log_params - shift, *args, False)[1]
        columns.append((up - down) / (2 * step))
    matrix = np.column_stack(columns)
    return (matrix + matrix.T) / 2


def _coarse(x, tx, T, w, grid: int = 64):
    """Patterns with recency and T (rescaled to [0, 1]) rounded to 1/grid: a cheap problem for the starting point."""
    tx_r, T_r = np.round(tx * grid) / grid, np.round(T * grid) / grid
    tx_r = np.minimum(tx_r, T_r)
    keys = np.stack([x, tx_r, T_r], axis=1)
    unique, index = np.unique(keys, axis=0, return_inverse=True)
    return unique[:, 0], unique[:, 1], unique[:, 2], np.bincount(index.ravel(), weights=w)


def fit_pareto(x, tx, T, w, *, penalizer: float = 0.0, max_iterations: int | None = None) -> FitResult:
    """Maximum likelihood Pareto/NBD on distinct patterns with weights (customers per pattern).

    BFGS on the log parameters with the analytic gradient of
    :func:`~custlab.clv.models._special.pareto_log_likelihood`, time rescaled
    by 1 / max T during the search (alpha and beta are returned in the data's
    unit), started at r = alpha = s = beta = 1 as lifetimes' ``ParetoNBDFitter``.
    On many patterns the search first runs on patterns with recency and T
    rounded to 1/64 of the longest T, and continues on the exact ones from
    there with the curvature it learned. The objective is the mean negative
    log-likelihood per customer plus ``penalizer * sum(params**2)`` on the
    rescaled parameters (as BG/NBD's), so grouped and ungrouped customers give
    the same fit. The covariance of the log parameters comes from a numerical
    Hessian, computed when asked for.
    """
    from scipy.optimize import minimize

    x, tx, T, w = (np.asarray(v, dtype=float) for v in (x, tx, T, w))
    scale = 1.0 / T.max()
    args = (x, tx * scale, T * scale, w, penalizer)
    options: dict = {"disp": False}
    if max_iterations is not None:
        options["maxiter"] = int(max_iterations)
    start = np.zeros(4)
    if len(w) > 2000 and max_iterations is None:
        coarse = _coarse(x, tx * scale, T * scale, w)
        first = minimize(_objective, x0=start, args=(*coarse, penalizer), jac=True, method="BFGS", tol=1e-6)
        if np.all(np.isfinite(first.x)):
            start = first.x
            curvature = (first.hess_inv + first.hess_inv.T) / 2
            if np.all(np.isfinite(curvature)) and np.linalg.eigvalsh(curvature).min() > 0:
                options["hess_inv0"] = curvature
    output = minimize(_objective, x0=start, args=args, jac=True, method="BFGS", tol=1e-8, options=options)
    with np.errstate(all="ignore"):
        values = np.exp(output.x)
    values[[1, 3]] /= scale
    params = {k: float(v) for k, v in zip(("r", "alpha", "s", "beta"), values, strict=True)}
    gradient = float(np.max(np.abs(output.jac))) if np.all(np.isfinite(output.jac)) else np.inf
    # BFGS reports "precision loss" when the mean log-likelihood is flat to machine precision; a gradient
    # this small is a maximum all the same.
    converged = output.success or (output.status == 2 and gradient < 1e-6)
    n, patterns = float(w.sum()), len(w)
    if not converged or not all(np.isfinite(v) and v > 0 for v in params.values()):
        raise convergence_error("Pareto/NBD", "ParetoNBD", n, patterns, str(output.message), penalizer, params, "pareto")
    ll = float(np.sum(w * pareto_log_likelihood(*values, x, tx, T)))
    log_params = output.x.copy()

    def covariance() -> np.ndarray | None:
        return log_covariance(_numerical_hessian(log_params, args), n)

    return FitResult(params, ll, int(output.nit), covariance)
