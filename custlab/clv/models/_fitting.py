"""What a fit returns, and the error raised when it does not converge (shared by every model's fitter)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from custlab.exceptions import ConvergenceError

__all__ = ["EDGE", "FitResult", "convergence_error", "log_covariance", "parameters_text"]


def parameters_text(params: dict[str, float]) -> str:
    """Fitted parameters for a model's repr: ``r=0.2426, alpha=4.414, ...``."""
    return ", ".join(f"{k}={v:.4g}" for k, v in params.items())


@dataclass(frozen=True)
class FitResult:
    """What a fit returns: parameters, total log-likelihood and (on request) their uncertainty.

    ``log_likelihood`` is the sum over customers (patterns times weights) in
    the time unit of the data, without the penalty, comparable with the
    published values. ``_log_covariance`` computes, the first time it is
    asked for, the covariance matrix of the log parameters: the inverse
    Hessian of the mean negative log-likelihood per customer divided by the
    number of customers (lifetimes' ``BaseFitter.variance_matrix_``), or
    None when the Hessian cannot be inverted.
    """

    params: dict[str, float]
    log_likelihood: float
    iterations: int | None
    _log_covariance: Callable[[], np.ndarray | None] | None = field(default=None, repr=False)

    @functools.cached_property
    def log_covariance(self) -> np.ndarray | None:
        """Covariance matrix of the log parameters (in the order of ``params``), or None."""
        if self._log_covariance is None:
            return None
        matrix = self._log_covariance()
        if matrix is None or not np.all(np.isfinite(matrix)) or np.any(np.diag(matrix) < 0):
            return None
        return matrix

    def standard_errors(self) -> dict[str, float | None]:
        """Standard errors of the parameters (delta method: parameter x SE of its log); None where not computable
        (a Hessian that cannot be inverted, as for a parameter at the edge of its space)."""
        values = np.array(list(self.params.values()))
        matrix = self.log_covariance
        with np.errstate(invalid="ignore"):  # a negative variance gives NaN, then None
            errors = np.full(values.size, np.nan) if matrix is None else values * np.sqrt(np.diag(matrix))
        return dict(zip(self.params, (float(v) if np.isfinite(v) else None for v in errors), strict=True))


def log_covariance(hessian: np.ndarray, total_weight: float) -> np.ndarray | None:
    """Inverse of the Hessian of the mean negative log-likelihood over ``total_weight`` customers, or None."""
    try:
        matrix = np.linalg.inv(np.asarray(hessian, dtype=float)) / total_weight
    except np.linalg.LinAlgError:
        return None
    return matrix if np.all(np.isfinite(matrix)) else None


#: A fitted parameter below this (or above its inverse) lies on the edge of the parameter space.
EDGE = 1e-6

_DROPOUT = {"bgnbd": ("a", "b"), "mbgnbd": ("a", "b"), "pareto": ("s",)}


def convergence_error(label: str, retry: str, n_customers: float, n_patterns: int, detail: str, penalizer: float,
          stopped_at: dict[str, float] | None = None, model: str = "", vanishing: tuple[str, ...] = ()) -> ConvergenceError:
    """The error of a fit that did not converge: where it stopped, which parameters head to an edge (those of
    ``vanishing`` too, found heading to 0 by the caller), and what to try."""
    tried = f" (penalizer={penalizer:g} was used)" if penalizer else ""
    where = ""
    if stopped_at:
        values = ", ".join(f"{k}={v:.3g}" for k, v in stopped_at.items())
        where = f"; it stopped at {values}"
        vanishing = [k for k, v in stopped_at.items() if not v > EDGE or k in vanishing]
        exploding = [k for k, v in stopped_at.items() if not v < 1 / EDGE]
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


