"""The interval arithmetic of a two-group comparison: rates, means, their differences and ratios.

Everything here works on sufficient statistics (counts, means, variances), so
the same function serves a customer table, a path table or a bootstrap
replicate. ``z`` is the two-sided normal quantile of the confidence level.

Rates (a 0/1 outcome, ``x`` successes of ``n``)
    * a rate: the Wilson score interval (valid at 0 and n successes);
    * a difference: Newcombe's hybrid score interval (Newcombe 1998, method
      10), built from the two Wilson intervals;
    * a ratio: the Katz log interval, with 0.5 added to every cell when a
      count is 0 (the ratio itself is undefined, None, when the control has
      no success);
    * the p-value: the pooled two-proportion score test (the chi-square test
      without continuity correction), or Fisher's exact test when an
      expected cell count is below 5.

Means (any numeric outcome)
    * a difference: Welch's t interval and test (unequal variances);
    * a ratio: the delta method on the log of the ratio of two positive
      means (None when a mean is not positive).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from custlab.exceptions import CustlabError

__all__ = [
    "Comparison", "check_ci", "compare_means", "compare_rates", "mean_ratio_interval", "newcombe_interval",
    "rate_ratio_interval", "wilson_interval", "z_value",
]


@dataclass(frozen=True)
class Comparison:
    """One group against its control: the two levels, the lifts and their intervals (None where undefined)."""

    level: float
    control_level: float
    abs_lift: float
    ci_low: float
    ci_high: float
    rel_lift: float | None
    rel_ci_low: float | None
    rel_ci_high: float | None
    p_value: float
    test: str


def check_ci(ci: float) -> float:
    """``ci`` if it is a confidence level strictly between 0 and 1, else a clear error."""
    if isinstance(ci, bool) or not isinstance(ci, (int, float)) or not 0.0 < float(ci) < 1.0:
        raise CustlabError(f"ci must be a confidence level between 0 and 1 (e.g. 0.95), got {ci!r}.")
    return float(ci)


def z_value(ci: float) -> float:
    """Two-sided normal quantile of the confidence level ``ci`` (1.959964 for 0.95)."""
    return float(sps.norm.ppf(0.5 + check_ci(ci) / 2.0))


def wilson_interval(successes: float, trials: float, z: float) -> tuple[float, float]:
    """Wilson score interval of the rate ``successes / trials``.

    >>> [round(v, 4) for v in wilson_interval(0, 20, 1.959964)]
    [0.0, 0.1611]
    """
    if trials <= 0:
        raise CustlabError("a rate needs at least one customer (0 trials).")
    p, n = successes / trials, trials
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2.0 * n)) / denom
    half = z / denom * math.sqrt(max(p * (1.0 - p) / n + z * z / (4.0 * n * n), 0.0))
    return max(centre - half, 0.0), min(centre + half, 1.0)


def newcombe_interval(x1: float, n1: float, x0: float, n0: float, z: float) -> tuple[float, float]:
    """Newcombe's hybrid score interval of ``x1/n1 - x0/n0`` (method 10 of Newcombe 1998).

    >>> [round(v, 4) for v in newcombe_interval(56, 70, 48, 80, 1.959964)]
    [0.0524, 0.3339]
    """
    p1, p0 = x1 / n1, x0 / n0
    l1, u1 = wilson_interval(x1, n1, z)
    l0, u0 = wilson_interval(x0, n0, z)
    d = p1 - p0
    return d - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)


def rate_ratio_interval(x1: float, n1: float, x0: float, n0: float, z: float) -> tuple[float, float]:
    """Katz log interval of the ratio of two rates (0.5 added to every cell when a count is 0)."""
    if min(x1, x0, n1 - x1, n0 - x0) == 0:
        x1, x0, n1, n0 = x1 + 0.5, x0 + 0.5, n1 + 1.0, n0 + 1.0
    ratio = (x1 / n1) / (x0 / n0)
    se = math.sqrt(max(1.0 / x1 - 1.0 / n1 + 1.0 / x0 - 1.0 / n0, 0.0))
    return ratio * math.exp(-z * se), ratio * math.exp(z * se)


def _rate_p_value(x1: float, n1: float, x0: float, n0: float) -> tuple[float, str]:
    pooled = (x1 + x0) / (n1 + n0)
    expected = [n * q for n in (n1, n0) for q in (pooled, 1.0 - pooled)]
    if min(expected) < 5:
        table = [[int(round(x1)), int(round(n1 - x1))], [int(round(x0)), int(round(n0 - x0))]]
        return float(sps.fisher_exact(table).pvalue), "fisher_exact"
    se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n0))
    z = (x1 / n1 - x0 / n0) / se
    return float(2.0 * sps.norm.sf(abs(z))), "score_z"


def compare_rates(x1: float, n1: float, x0: float, n0: float, *, ci: float = 0.95) -> Comparison:
    """A group's rate ``x1/n1`` against the control's ``x0/n0``: Newcombe, Katz, score or Fisher test.

    >>> c = compare_rates(3894, 21307, 2262, 21306)   # Hillstrom: visits, Mens E-Mail vs No E-Mail
    >>> round(c.abs_lift, 5), round(c.rel_lift, 3), c.test
    (0.07659, 0.721, 'score_z')
    """
    z = z_value(ci)
    for name, value in (("n", n1), ("n_control", n0)):
        if value <= 0:
            raise CustlabError(f"{name} must be at least 1 customer, got {value}.")
    p1, p0 = x1 / n1, x0 / n0
    low, high = newcombe_interval(x1, n1, x0, n0, z)
    rel = rel_low = rel_high = None
    if x0 > 0:
        rel = p1 / p0 - 1.0
        r_low, r_high = rate_ratio_interval(x1, n1, x0, n0, z)
        rel_low, rel_high = r_low - 1.0, r_high - 1.0
    p_value, test = _rate_p_value(x1, n1, x0, n0)
    return Comparison(p1, p0, p1 - p0, low, high, rel, rel_low, rel_high, p_value, test)


def mean_ratio_interval(m1: float, v1: float, n1: float, m0: float, v0: float, n0: float,
                        z: float) -> tuple[float, float] | None:
    """Delta-method interval of ``m1 / m0`` on the log scale; None unless both means are positive."""
    if m1 <= 0 or m0 <= 0:
        return None
    se = math.sqrt(v1 / (n1 * m1 * m1) + v0 / (n0 * m0 * m0))
    ratio = m1 / m0
    return ratio * math.exp(-z * se), ratio * math.exp(z * se)


def compare_means(m1: float, v1: float, n1: float, m0: float, v0: float, n0: float, *,
                  ci: float = 0.95) -> Comparison:
    """A group's mean against the control's: Welch's interval and test, delta-method relative lift.

    ``v1``, ``v0`` are the sample variances (ddof 1); groups of one customer count as variance 0.

    >>> c = compare_means(1.4226, 15.0 ** 2, 21307, 0.6528, 11.0 ** 2, 21306)
    >>> round(c.abs_lift, 4), c.test
    (0.7698, 'welch_t')
    """
    level = check_ci(ci)
    d = m1 - m0
    a, b = v1 / n1, v0 / n0
    se = math.sqrt(a + b)
    if se == 0.0:
        low = high = d
        p_value = 1.0 if d == 0 else 0.0
    else:
        df = (a + b) ** 2 / ((a * a / (n1 - 1) if n1 > 1 else 0.0) + (b * b / (n0 - 1) if n0 > 1 else 0.0) or 1e-300)
        df = max(df, 1.0)
        t = float(sps.t.ppf(0.5 + level / 2.0, df))
        low, high = d - t * se, d + t * se
        p_value = float(2.0 * sps.t.sf(abs(d) / se, df))
    rel = rel_low = rel_high = None
    if m0 > 0:
        rel = m1 / m0 - 1.0
        interval = mean_ratio_interval(m1, v1, n1, m0, v0, n0, z_value(level))
        if interval is not None:
            rel_low, rel_high = interval[0] - 1.0, interval[1] - 1.0
    return Comparison(m1, m0, d, low, high, rel, rel_low, rel_high, p_value, "welch_t")


def percentile_interval(values: np.ndarray, ci: float) -> tuple[float, float]:
    """Percentile interval of bootstrap replicates (finite ones only)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return math.nan, math.nan
    tail = (1.0 - ci) / 2.0
    return float(np.quantile(finite, tail)), float(np.quantile(finite, 1.0 - tail))
