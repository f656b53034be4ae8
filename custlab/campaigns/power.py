"""Planning a test: how many customers it needs, what power it has, the smallest lift it can see.

Two-sided tests at level ``alpha`` (normal approximation), ``ratio`` control
customers per treated customer:

rates (baseline ``p0``, treated ``p1``)
    n_treated = (z_a sqrt(p_bar q_bar (1 + 1/ratio)) + z_b sqrt(p1 q1 + p0 q0 / ratio))^2 / (p1 - p0)^2,
    ``p_bar`` the pooled rate (Fleiss, Levin & Paik 2003, eq. 4.14, with unequal groups);
means (standard deviation ``sd``, difference ``delta``)
    n_treated = (z_a + z_b)^2 sd^2 (1 + 1/ratio) / delta^2.

Sizes are rounded up; ``n_control = ceil(ratio * n_treated)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from scipy import stats as sps
from scipy.optimize import brentq

from custlab._i18n import t
from custlab._types import Language
from custlab.exceptions import CustlabError

__all__ = ["TestPlan", "minimum_detectable_lift", "power", "sample_size"]

Kind = Literal["rate", "mean"]


@dataclass(frozen=True)
class TestPlan:
    """A planned two-group test: sizes, the lift it is built to see, its level and power."""

    kind: str
    baseline: float
    lift: float  # relative lift the plan is for
    n_treatment: int
    n_control: int
    alpha: float
    power: float
    sd: float | None = None

    @property
    def n_total(self) -> int:
        """Customers in both groups."""
        return self.n_treatment + self.n_control

    def describe(self, language: Language = "en") -> str:
        """One sentence: how many customers the test needs, and for what."""
        key = "campaigns.power.rate" if self.kind == "rate" else "campaigns.power.mean"
        target = self.baseline * (1 + self.lift)
        return t(key, language, n_t=f"{self.n_treatment:,}", n_c=f"{self.n_control:,}", lift=f"{self.lift:+.0%}",
                 base=f"{self.baseline:.2%}" if self.kind == "rate" else f"{self.baseline:,.2f}",
                 target=f"{target:.2%}" if self.kind == "rate" else f"{target:,.2f}",
                 power=f"{self.power:.0%}", alpha=f"{self.alpha:g}")

    def __repr__(self) -> str:
        return f"TestPlan({self.describe()!r})"


def _z(alpha: float, power_: float) -> tuple[float, float]:
    for name, value in (("alpha", alpha), ("power", power_)):
        if not 0 < value < 1:
            raise CustlabError(f"{name} must be between 0 and 1, got {value!r}.")
    return float(sps.norm.ppf(1 - alpha / 2)), float(sps.norm.ppf(power_))


def _check(kind: str, baseline: float, lift: float, sd: float | None, ratio: float) -> float:
    if kind not in ("rate", "mean"):
        raise CustlabError(f"kind must be 'rate' or 'mean', got {kind!r}.")
    if not ratio > 0:
        raise CustlabError(f"ratio (control customers per treated customer) must be positive, got {ratio!r}.")
    if lift == 0:
        raise CustlabError("lift must not be 0: a test cannot be sized to detect no change.")
    target = baseline * (1 + lift)
    if kind == "rate":
        if not 0 < baseline < 1 or not 0 < target < 1:
            raise CustlabError(f"a rate test needs a baseline and a target rate strictly between 0 and 1; got "
                               f"baseline={baseline!r}, lift={lift!r} (target {target:.4g}).")
    elif sd is None or not sd > 0:
        raise CustlabError("a mean test needs the outcome's standard deviation: pass sd= (e.g. from last month's customers).")
    return target


def _n_treated(kind: str, p0: float, p1: float, sd: float | None, ratio: float, za: float, zb: float) -> float:
    if kind == "rate":
        pbar = (p1 + p0 * ratio) / (1 + ratio)
        num = za * math.sqrt(pbar * (1 - pbar) * (1 + 1 / ratio)) + zb * math.sqrt(p1 * (1 - p1) + p0 * (1 - p0) / ratio)
        return num * num / (p1 - p0) ** 2
    return (za + zb) ** 2 * sd * sd * (1 + 1 / ratio) / (p1 - p0) ** 2


def sample_size(baseline: float, *, lift: float, kind: Kind = "rate", sd: float | None = None, alpha: float = 0.05,
                power: float = 0.8, ratio: float = 1.0) -> TestPlan:
    """Customers needed to detect a relative ``lift`` on ``baseline`` with the given level and power.

    Parameters
    ----------
    baseline
        The control's expected rate (kind "rate") or mean (kind "mean").
    lift
        Relative lift to detect (0.28 for +28%).
    kind
        ``"rate"`` (0/1 outcome) or ``"mean"`` (needs ``sd``).
    sd
        Standard deviation of the outcome per customer (kind "mean").
    alpha, power
        Two-sided level and power.
    ratio
        Control customers per treated customer (0.25 for an 80/20 split).

    Examples
    --------
    >>> sample_size(0.10, lift=0.20).n_treatment       # 10% -> 12%, 5% two-sided, 80% power
    3841
    >>> sample_size(0.10, lift=0.20, ratio=0.25).n_control
    2445
    """
    target = _check(kind, baseline, lift, sd, ratio)
    za, zb = _z(alpha, power)
    n = math.ceil(_n_treated(kind, baseline, target, sd, ratio, za, zb) - 1e-9)
    return TestPlan(kind, baseline, lift, n, math.ceil(ratio * n - 1e-9), alpha, power, sd)


def power(n_treatment: int, baseline: float, *, lift: float, kind: Kind = "rate", sd: float | None = None,
          alpha: float = 0.05, ratio: float = 1.0) -> float:
    """Power of a test with ``n_treatment`` treated (and ``ratio`` x as many control) customers.

    >>> round(power(3841, 0.10, lift=0.20), 3)
    0.8
    """
    if n_treatment < 1:
        raise CustlabError(f"n_treatment must be at least 1, got {n_treatment!r}.")
    target = _check(kind, baseline, lift, sd, ratio)
    za = float(sps.norm.ppf(1 - alpha / 2))
    if kind == "rate":
        p0, p1 = baseline, target
        pbar = (p1 + p0 * ratio) / (1 + ratio)
        se0 = math.sqrt(pbar * (1 - pbar) * (1 + 1 / ratio) / n_treatment)
        se1 = math.sqrt((p1 * (1 - p1) + p0 * (1 - p0) / ratio) / n_treatment)
        return float(sps.norm.cdf((abs(p1 - p0) - za * se0) / se1))
    se = sd * math.sqrt((1 + 1 / ratio) / n_treatment)
    return float(sps.norm.cdf(abs(target - baseline) / se - za))


def minimum_detectable_lift(n_treatment: int, baseline: float, *, kind: Kind = "rate", sd: float | None = None,
                            alpha: float = 0.05, power_: float = 0.8, ratio: float = 1.0) -> float:
    """The smallest relative lift (upwards) a test of this size detects with ``power_``.

    >>> round(minimum_detectable_lift(3841, 0.10), 3)
    0.2
    """
    upper = (1 / baseline - 1) * 0.999999 if kind == "rate" else 1e6

    def gap(lift: float) -> float:
        return power(n_treatment, baseline, lift=lift, kind=kind, sd=sd, alpha=alpha, ratio=ratio) - power_

    if gap(upper) < 0:
        raise CustlabError(f"even the largest possible lift is not detected with power {power_} by "
                           f"{n_treatment} treated customers; the test is too small.")
    return float(brentq(gap, 1e-9, upper, xtol=1e-10))
