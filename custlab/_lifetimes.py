"""The one module that imports ``lifetimes``: fitting BG/NBD, MBG/NBD, Pareto/NBD and Gamma-Gamma.

Everything that depends on the ``lifetimes`` package lives here, so that it can
be swapped for another implementation without touching :mod:`custlab.clv`:

- fitting, with lifetimes' own likelihoods (``BetaGeoFitter``,
  ``ModifiedBetaGeoFitter``, ``ParetoNBDFitter``, ``GammaGammaFitter``
  ``._negative_log_likelihood``) and the optimizer calls of their ``fit``
  methods, on the distinct (frequency, recency, T) patterns with weights (how
  many customers share each), so the cost of a fit depends on the number of
  patterns, not of customers; the parameters equal those of ``fit`` on every
  customer (the tests check it). Two departures from ``fit``, both for speed
  or reproducibility and neither changing the estimates: the Hessian behind
  the standard errors is evaluated only when they are asked for, and
  Pareto/NBD starts from a fixed point instead of a random one;
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
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from custlab.exceptions import ConvergenceError

CountingModel = Literal["bgnbd", "mbgnbd", "pareto"]

#: Parameter names, in lifetimes' order.
PARAMETERS: dict[str, tuple[str, ...]] = {
    "bgnbd": ("r", "alpha", "a", "b"),
    "mbgnbd": ("r", "alpha", "a", "b"),
    "pareto": ("r", "alpha", "s", "beta"),
    "gamma_gamma": ("p", "q", "v"),
}

#: Start of the Pareto/NBD Nelder-Mead search (lifetimes draws it at random from
#: the global numpy generator when none is given; a fixed start keeps fits
#: reproducible and leaves the global generator alone).
PARETO_START = (1.0, 1.0, 1.0, 1.0)


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
            import lifetimes.fitters.pareto_nbd_fitter
            import lifetimes.utils
    finally:
        pd.set_option("mode.chained_assignment", chained)
    return lifetimes


@dataclass
class FitResult:
    """What a fit returns: parameters, total log-likelihood and (on request) standard errors.

    ``log_likelihood`` is the sum over customers (patterns times weights) in
    the time unit of the data, without the penalty, comparable with the
    published values. :meth:`standard_errors` evaluates lifetimes' Hessian
    (delta method on log parameters, as ``BaseFitter.variance_matrix_``) the
    first time it is asked for; None for Pareto/NBD, which lifetimes fits by
    Nelder-Mead without a Hessian.
    """

    params: dict[str, float]
    log_likelihood: float
    iterations: int | None
    _errors: Callable[[], dict[str, float]] | None = field(default=None, repr=False)

    @functools.cached_property
    def _error_values(self) -> dict[str, float] | None:
        return None if self._errors is None else self._errors()

    def standard_errors(self) -> dict[str, float] | None:
        """Standard errors of the parameters (NaN where the Hessian cannot be inverted)."""
        return self._error_values


_DROPOUT = {"bgnbd": ("a", "b"), "mbgnbd": ("a", "b"), "pareto": ("s",)}


def _fail(label: str, retry: str, n_customers: float, n_patterns: int, detail: str, penalizer: float,
          stopped_at: dict[str, float] | None = None, model: str = "") -> ConvergenceError:
    tried = f" (penalizer={penalizer:g} was used)" if penalizer else ""
    where = ""
    if stopped_at:
        values = ", ".join(f"{k}={v:.3g}" for k, v in stopped_at.items())
        where = f"; it stopped at {values}"
        vanishing = [k for k, v in stopped_at.items() if not v > 1e-6]
        exploding = [k for k, v in stopped_at.items() if not v < 1e6]
        if vanishing or exploding:
            heading = " and ".join(part for part in (
                f"{', '.join(vanishing)} heading to 0" if vanishing else "",
                f"{', '.join(exploding)} heading to infinity" if exploding else "") if part)
            where += f" ({heading}: the maximum of the likelihood lies on the edge of the parameter space"
            if set(_DROPOUT.get(model, ())) & set(vanishing):
                where += "; these data show no sign of customers dropping out, where the model tends to the NBD"
            where += ")"
    alternatives = (" Or fit ParetoNBD, whose Nelder-Mead search stops at such an edge, or use a longer "
                    "calibration period." if model in ("bgnbd", "mbgnbd") else "")
    return ConvergenceError(
        f"The {label} fit did not converge on {n_customers:,.0f} customers in {n_patterns:,} distinct patterns{tried}; "
        f"optimizer: {detail.rstrip('.')}{where}. Retry with a penalizer, e.g. {retry}(penalizer=0.001), and try "
        f"other values from 0.0001 to 0.1 until the fit converges; the penalty shrinks the parameters toward "
        f"zero, so report it with the results.{alternatives} Also check the time unit of the summary (freq=) and "
        f"that enough customers made repeat purchases."
    )


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


def _delta_errors(objective: Callable, log_params: np.ndarray, args: tuple, params: np.ndarray,
                  names: tuple[str, ...], total_weight: float) -> Callable[[], dict[str, float]]:
    """lifetimes' standard errors: params * sqrt(diag(inverse Hessian of the mean NLL) / sum of weights)."""

    def compute() -> dict[str, float]:
        from autograd import hessian

        with _quiet():
            matrix = np.asarray(hessian(objective)(log_params, *args))
        try:
            variance = params**2 * np.linalg.inv(matrix) / total_weight
            values = np.sqrt(np.diag(variance))
        except np.linalg.LinAlgError:
            values = np.full(len(names), np.nan)
        return dict(zip(names, (float(v) for v in values), strict=True))

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
    label = {"bgnbd": "BG/NBD", "mbgnbd": "MBG/NBD", "pareto": "Pareto/NBD"}[model]
    if model == "pareto":
        return _fit_pareto(lib, frequency, recency, T, weights, penalizer, max_iterations, retry_hint, label)
    cls = lib.BetaGeoFitter if model == "bgnbd" else lib.ModifiedBetaGeoFitter
    scale = float(lib.utils._scale_time(T))
    args = (frequency.astype(int), recency * scale, T * scale, weights, penalizer)
    output = _bfgs(cls._negative_log_likelihood, 4, args, max_iterations)
    with np.errstate(all="ignore"):
        values = np.exp(output.x)
    values[1] /= scale  # alpha back to the data's time unit
    names = PARAMETERS[model]
    params = {k: float(v) for k, v in zip(names, values, strict=True)}
    if not output.success:
        raise _fail(label, retry_hint, n_customers, n_patterns, str(output.message), penalizer, params, model)
    if not all(np.isfinite(v) and v > 0 for v in params.values()):
        raise _fail(label, retry_hint, n_customers, n_patterns, f"non-finite parameters {params}", penalizer)
    ll = log_likelihood(model, params, frequency, recency, T, weights)
    errors = _delta_errors(cls._negative_log_likelihood, output.x, args, values, names, n_customers)
    return FitResult(params, ll, int(output.nit), errors)


def _fit_pareto(lib, frequency, recency, T, weights, penalizer, max_iterations, retry_hint, label) -> FitResult:
    """lifetimes' Pareto/NBD objective and optimizer settings, with the success flag kept.

    ``ParetoNBDFitter.fit`` minimises its ``_negative_log_likelihood`` by
    Nelder-Mead (tol 1e-4, at most 2000 iterations) from a random start and
    does not report whether the search converged. The same objective and
    settings are used here from a fixed start, and a search that stops at the
    iteration limit raises :class:`ConvergenceError`. Nelder-Mead only
    compares objective values, which lifetimes scales by ``1 / mean(weights)``,
    so grouped and ungrouped data follow the same path to the same parameters.
    """
    from scipy.optimize import minimize

    fitter_cls = lib.ParetoNBDFitter
    scale = 1.0 / T.max()
    args = (frequency.astype(int), recency * scale, T * scale, weights, penalizer)
    with _quiet():
        output = minimize(
            fitter_cls._negative_log_likelihood, x0=np.array(PARETO_START), args=args, method="Nelder-Mead",
            tol=1e-4, options={"maxiter": 2000 if max_iterations is None else int(max_iterations)},
        )
    r, alpha, s, beta = (float(v) for v in output.x)
    params = {"r": r, "alpha": float(alpha / scale), "s": s, "beta": float(beta / scale)}
    if not output.success or not np.all(np.isfinite(output.x)):
        raise _fail(label, retry_hint, weights.sum(), len(weights), str(output.message), penalizer, params, "pareto")
    ll = log_likelihood("pareto", params, frequency, recency, T, weights)
    return FitResult(params, ll, int(output.nit))


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
        if model == "pareto":
            frequency, recency, T, weights = data
            ll = lib.ParetoNBDFitter._conditional_log_likelihood(values, frequency, recency, T)
            return float(np.sum(weights * ll))
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
        raise _fail("Gamma-Gamma", "GammaGamma", weights.sum(), len(weights), str(output.message), penalizer, params)
    if not all(np.isfinite(v) and v > 0 for v in params.values()):
        raise _fail("Gamma-Gamma", "GammaGamma", weights.sum(), len(weights),
                    f"non-finite parameters {params}", penalizer)
    ll = log_likelihood("gamma_gamma", params, frequency, monetary_value, weights)
    errors = _delta_errors(objective, output.x, args, values, names, float(weights.sum()))
    return FitResult(params, ll, int(output.nit), errors)


def call_quietly(fn: Callable, *args, **kwargs):
    """Call into lifetimes (reference computations in tests and benchmarks) without its side effects or printing."""
    _lib()
    with _quiet():
        return fn(*args, **kwargs)


__all__ = ["FitResult", "PARAMETERS", "call_quietly", "fit_counting", "fit_gamma_gamma", "log_likelihood"]
