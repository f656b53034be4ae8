"""BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way")."""

from __future__ import annotations

import numpy as np
from scipy import special

from custlab.clv.models._special import beta_nbd_expectation, nbd_log_pmf
from custlab.clv.models.base import _PurchaseModel

__all__ = ["BetaGeo"]


def _bgnbd_expected_alive(p, t, x, T):
    """E[purchases in (T, T + t] | alive at T, x]: FHL (2005) eq. (10) without the P(alive) factor.

    The dropout probability of a customer alive after x repeat purchases is Beta(a, b + x) and her
    purchase rate Gamma(r + x, alpha + T); see :func:`~custlab.clv.models._special.beta_nbd_expectation`.
    """
    r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
    return beta_nbd_expectation(r + x, a, b + x, t / (alpha + T))


def _bgnbd_alive(p, x, tx, T):
    r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
    log_odds = np.log(a) - np.log(b + np.maximum(x, 1) - 1) + (r + x) * np.log((alpha + T) / (alpha + tx))
    return np.where(x > 0, special.expit(-log_odds), 1.0)


def _bgnbd_unconditional(p, t):
    """E[repeat purchases in (0, t]] for a new customer: FHL (2005) eq. (9)."""
    r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
    return beta_nbd_expectation(r, a, b, np.asarray(t, dtype=float) / alpha)


def _bgnbd_pmf(p, n, t):
    r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
    t = np.asarray(t, dtype=float)
    first = np.exp(special.betaln(a, b + n) - special.betaln(a, b) + nbd_log_pmf(n, t, r, alpha))
    if n == 0:
        return first
    tail = special.betainc(n, r, t / (alpha + t))  # P(NBD(t) >= n), the regularised incomplete beta I_{1-p}(n, r)
    return first + np.exp(special.betaln(a + 1, b + n - 1) - special.betaln(a, b)) * tail


class BetaGeo(_PurchaseModel):
    """BG/NBD model of repeat purchases (Fader, Hardie & Lee 2005), fitted by lifetimes' ``BetaGeoFitter``.

    While active, a customer buys as a Poisson process with rate
    lambda ~ Gamma(r, alpha); after each purchase she drops out with
    probability p ~ Beta(a, b).

    Parameters
    ----------
    penalizer
        L2 penalty on the parameters added to the mean log-likelihood per
        customer (lifetimes' ``penalizer_coef``; alpha is on lifetimes'
        rescaled time). 0 by default; the retry when a fit does not converge.
    freq
        Time unit of the summaries this model is fitted on (as in
        :func:`clv_summary`); used to turn months into model time in :func:`predict_clv`.
    max_iterations
        Iteration limit of the optimizer (None: scipy's default).

    Examples
    --------
    >>> from custlab.data.datasets import load_cdnow
    >>> summary = load_cdnow("summary")  # the published CDNOW calibration summary
    >>> bgf = BetaGeo(freq="W").fit(summary)
    >>> {k: round(v, 3) for k, v in bgf.params_.items()}, round(bgf.log_likelihood_, 1)
    ({'r': 0.243, 'alpha': 4.414, 'a': 0.793, 'b': 2.426}, -9582.4)
    >>> round(float(bgf.expected_purchases(39, 2, 30.43, 38.86)), 3)
    1.226
    """

    _kind = "bgnbd"
    name = "BG/NBD"
    param_names = ("r", "alpha", "a", "b")
    _expected_alive, _alive = staticmethod(_bgnbd_expected_alive), staticmethod(_bgnbd_alive)
    _unconditional, _pmf = staticmethod(_bgnbd_unconditional), staticmethod(_bgnbd_pmf)

