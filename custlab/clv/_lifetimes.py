"""The one module that imports ``lifetimes``: fitting BG/NBD, MBG/NBD and Gamma-Gamma.

Everything that depends on the ``lifetimes`` package lives here, so that it can
be swapped for another implementation without touching the rest of :mod:`custlab.clv`:

- fitting, with lifetimes' own likelihoods (``BetaGeoFitter``,
  ``ModifiedBetaGeoFitter``, ``GammaGammaFitter``
  ``._negative_log_likelihood``) and the optimizer calls of their ``fit``
  methods, on the distinct (frequency, recency, T) patterns with weights (how
  many customers share each), so the cost of a fit depends on the number of
  patterns, not of customers; the parameters equal those of ``fit`` on every
  customer (the tests check it). One departure from ``fit``, for speed and
  not changing the estimates: the Hessian behind the standard errors is
  evaluated only when they are asked for;
  (Pareto/NBD is fitted in :mod:`custlab.clv.models.pareto` on a stable
  likelihood: lifetimes' takes the log of 2F1 values that overflow, and its
  Nelder-Mead search took 45 s on Ta-Feng's 32,266 customers to return NaN.)
- the total log-likelihood in the data's own time unit (what the papers report);
- turning optimizer failures into :class:`custlab.exceptions.ConvergenceError`
  with the documented retry (a penalizer).

lifetimes changes process-wide state: importing it sets
``warnings.simplefilter("ignore", FutureWarning)`` and
``pandas.options.mode.chained_assignment = None``, and its likelihoods call
``warnings.simplefilter`` on every evaluation. Here the import and every call
into it run inside ``warnings.catch_warnings()`` and the pandas option is put
back, so using custlab leaves the caller's warning filters and pandas options
as they were. Nothing is printed: a failed search raises with scipy's message
and the parameters where it stopped (and, when some head to 0 or infinity,
what that means for the model).
"""

from __future__ import annotations

import contextlib
import functools
import io
import warnings
from collections.abc import Callable, Iterator
from typing import Literal

import numpy as np

from custlab.clv.models._fitting import EDGE, FitResult, convergence_error, log_covariance

CountingModel = Literal["bgnbd", "mbgnbd"]

#: Parameter names, in lifetimes' order.
PARAMETERS: dict[str, tuple[str, ...]] = {
    "bgnbd": ("r", "alpha", "a", "b"),
    "mbgnbd": ("r", "alpha", "a", "b"),
    "gamma_gamma": ("p", "q", "v"),
}



@contextlib.contextmanager
def _quiet() -> Iterator[io.StringIO]:
    """Run lifetimes code without letting it change warning filters or print.

    Floating-point warnings are silenced too: the optimizers try extreme
    parameters on their way (overflow in exp, log of 0), which is expected and
    handled (a failed search raises :class:`ConvergenceError`).
    """
    out = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(out), np.errstate(all="ignore"):
        yield out


@functools.cache
def _lib():
    """Import lifetimes once, undoing the global changes its import makes."""
    import pandas as pd

    chained = pd.get_option("mode.chained_assignment")
    try:
        with _quiet():
            import lifetimes
            import lifetimes.utils
    finally:
        pd.set_option("mode.chained_assignment", chained)
    return lifetimes


def _bfgs(objective: Callable, n_params: int, args: tuple, max_iterations: int | None):
    """``BaseFitter._fit`` of lifetimes 0.11.3 without its Hessian: BFGS on autograd's value and gradient.

    Same objective, start (0.1 for every log parameter), method (scipy's
    default for an unbounded problem, BFGS), tolerance (1e-7) and options,
    hence the same iterates and parameters as the fitter's ``fit``.
    """
    from autograd import value_and_grad
    from scipy.optimize import minimize

    options: dict = {"disp": False}
    if max_iterations is not None:
        options["maxiter"] = int(max_iterations)
    with _quiet():
        return minimize(value_and_grad(objective), jac=True, method=None, tol=1e-7,
                        x0=0.1 * np.ones(n_params), args=args, options=options, bounds=None)


def _covariance(objective: Callable, log_params: np.ndarray, args: tuple, total_weight: float) -> Callable:
    """lifetimes' variance matrix of the log parameters: autograd's Hessian of the mean NLL, inverted, over n."""

    def compute() -> np.ndarray | None:
        from autograd import hessian

        with _quiet():
            matrix = np.asarray(hessian(objective)(log_params, *args))
        return log_covariance(matrix, total_weight)

    return compute


def fit_counting(
    model: CountingModel,
    frequency: np.ndarray,
    recency: np.ndarray,
    T: np.ndarray,
    weights: np.ndarray,
    *,
    penalizer: float = 0.0,
    max_iterations: int | None = None,
    retry_hint: str = "BetaGeo",
) -> FitResult:
    """Fit a counting model on distinct patterns with weights (customers per pattern).

    The objective lifetimes minimises is the weighted mean negative
    log-likelihood per customer plus ``penalizer * sum(params**2)``, the same
    number whether customers are grouped or not, so the parameters equal those
    of the unweighted fit. BG/NBD and MBG/NBD use the fitters' own objective
    (``BetaGeoFitter._negative_log_likelihood``,
    ``ModifiedBetaGeoFitter._negative_log_likelihood``) on lifetimes' rescaled
    time (T / max T) with the optimizer call of ``BaseFitter._fit`` (see
    :func:`_bfgs`); the Hessian that ``fit`` always evaluates for standard
    errors is left until they are asked for.
    """
    lib = _lib()
    frequency = np.asarray(frequency, dtype=float)
    recency = np.asarray(recency, dtype=float)
    T = np.asarray(T, dtype=float)
    weights = np.asarray(weights, dtype=float)
    n_customers, n_patterns = float(weights.sum()), len(weights)
    label = {"bgnbd": "BG/NBD", "mbgnbd": "MBG/NBD"}[model]
    cls = lib.BetaGeoFitter if model == "bgnbd" else lib.ModifiedBetaGeoFitter
    scale = float(lib.utils._scale_time(T))
    args = (frequency.astype(int), recency * scale, T * scale, weights, penalizer)
    output = _bfgs(cls._negative_log_likelihood, 4, args, max_iterations)
    with np.errstate(all="ignore"):
        values = np.exp(output.x)
    values[1] /= scale  # alpha back to the data's time unit
    names = PARAMETERS[model]
    params = {k: float(v) for k, v in zip(names, values, strict=True)}
    if all(np.isfinite(v) and v > 0 for v in params.values()) and (
            not params["a"] > EDGE or _rising_to_no_dropout(cls._negative_log_likelihood, output.x, args)):
        # The maximum lies at a -> 0 (the NBD limit): whether BFGS reports success there, and where it stops
        # (below EDGE or just above it), depends on the last bits of the arithmetic (it did one on an AVX-512
        # machine, the other on AVX2). Either way the fit is not a BG/NBD with dropout, and is refused the same way.
        detail = "it reported success" if output.success else str(output.message).rstrip(".")
        raise convergence_error(label, retry_hint, n_customers, n_patterns, f"{detail}, with the likelihood still "
                                "rising toward a = 0", penalizer, params, model, vanishing=("a",))
    if not output.success:
        raise convergence_error(label, retry_hint, n_customers, n_patterns, str(output.message), penalizer, params, model)
    if not all(np.isfinite(v) and v > 0 for v in params.values()):
        raise convergence_error(label, retry_hint, n_customers, n_patterns, f"non-finite parameters {params}", penalizer)
    ll = log_likelihood(model, params, frequency, recency, T, weights)
    errors = _covariance(cls._negative_log_likelihood, output.x, args, n_customers)
    return FitResult(params, ll, int(output.nit), errors)


#: How much lower the mean log-likelihood per customer must be with a thousand times smaller ``a`` for a BG/NBD
#: (MBG/NBD) fit to count as one with dropout (:func:`_rising_to_no_dropout`).
FLAT = 1e-6


def _rising_to_no_dropout(objective: Callable, log_params: np.ndarray, args: tuple) -> bool:
    """Whether the fit's mean log-likelihood (without penalty) is no more than :data:`FLAT` above its value at a
    thousand times smaller ``a`` (log parameters ``r, alpha, a, b``): the maximum then lies at the NBD limit a -> 0,
    where whether BFGS reports success, and where it stops, depends on the last bits of the arithmetic.

    Measured (weekly summaries): Online Retail's calibration to 2011-09-10 stops at a = 7.8e-7, where the likelihood
    is 2.3e-11 lower than at a thousandth of it; the whole of Online Retail (a = 0.0034) loses 2.8e-5 per customer
    there, and CDNOW (a = 0.79) 0.11.
    """
    unpenalized = (*args[:-1], 0.0)
    edge = np.array(log_params, dtype=float)
    edge[2] -= np.log(1000.0)
    with _quiet(), np.errstate(all="ignore"):
        here, there = float(objective(log_params, *unpenalized)), float(objective(edge, *unpenalized))
    return bool(np.isfinite(here) and np.isfinite(there) and there <= here + FLAT)


def log_likelihood(
    model: CountingModel | Literal["gamma_gamma"],
    params: dict[str, float],
    *data: np.ndarray,
) -> float:
    """Total log-likelihood (sum over customers, no penalty) in the data's time unit.

    ``data`` is ``(frequency, recency, T, weights)`` for the counting models
    and ``(frequency, monetary_value, weights)`` for Gamma-Gamma.
    """
    lib = _lib()
    values = np.array([params[k] for k in PARAMETERS[model]], dtype=float)
    with _quiet():
        if model == "gamma_gamma":
            frequency, monetary, weights = data
            nll = lib.GammaGammaFitter._negative_log_likelihood(np.log(values), frequency, monetary, weights, 0.0)
            return float(-nll * np.sum(weights))
        frequency, recency, T, weights = data
        cls = lib.BetaGeoFitter if model == "bgnbd" else lib.ModifiedBetaGeoFitter
        nll = cls._negative_log_likelihood(np.log(values), frequency, recency, T, weights, 0.0)
        return float(-nll * np.sum(weights))


def fit_gamma_gamma(
    frequency: np.ndarray,
    monetary_value: np.ndarray,
    weights: np.ndarray,
    *,
    penalizer: float = 0.0,
    max_iterations: int | None = None,
) -> FitResult:
    """Fit Gamma-Gamma on distinct (frequency, monetary_value) pairs with weights.

    ``GammaGammaFitter._negative_log_likelihood`` (weighted mean per
    customer) minimised as ``GammaGammaFitter.fit`` does (no ``q_constraint``).
    """
    lib = _lib()
    frequency = np.asarray(frequency, dtype=float)
    monetary_value = np.asarray(monetary_value, dtype=float)
    weights = np.asarray(weights, dtype=float)
    objective = lib.GammaGammaFitter._negative_log_likelihood
    args = (frequency, monetary_value, weights, penalizer)
    output = _bfgs(objective, 3, args, max_iterations)
    with np.errstate(all="ignore"):
        values = np.exp(output.x)
    names = PARAMETERS["gamma_gamma"]
    params = {k: float(v) for k, v in zip(names, values, strict=True)}
    if not output.success:
        raise convergence_error("Gamma-Gamma", "GammaGamma", weights.sum(), len(weights), str(output.message), penalizer, params)
    if not all(np.isfinite(v) and v > 0 for v in params.values()):
        raise convergence_error("Gamma-Gamma", "GammaGamma", weights.sum(), len(weights),
                    f"non-finite parameters {params}", penalizer)
    ll = log_likelihood("gamma_gamma", params, frequency, monetary_value, weights)
    errors = _covariance(objective, output.x, args, float(weights.sum()))
    return FitResult(params, ll, int(output.nit), errors)


def call_quietly(fn: Callable, *args, **kwargs):
    """Call into lifetimes (reference computations in tests and benchmarks) without its side effects or printing."""
    _lib()
    with _quiet():
        return fn(*args, **kwargs)


__all__ = ["FitResult", "PARAMETERS", "call_quietly", "fit_counting", "fit_gamma_gamma", "log_likelihood"]
