"""MBG/NBD (Batislam, Denizel & Filiztekin 2007): BG/NBD where a customer may leave right after the first purchase."""

from __future__ import annotations

import numpy as np
from scipy import special

from custlab.clv.models._special import beta_nbd_expectation, nbd_log_pmf
from custlab.clv.models.base import _PurchaseModel

__all__ = ["ModifiedBetaGeo"]


def _mbgnbd_expected_alive(p, t, x, T):
    """E[purchases in (T, T + t] | alive at T, x] for MBG/NBD (Wagner & Hoppe 2008, without P(alive)).

    Alive after the first purchase and x repeat ones, the dropout probability is Beta(a, b + x + 1).
    """
    r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
    return beta_nbd_expectation(r + x, a, b + x + 1, t / (alpha + T))


def _mbgnbd_alive(p, x, tx, T):
    r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
    return special.expit(-(np.log(a) - np.log(b + x) + (r + x) * np.log((alpha + T) / (alpha + tx))))


def _mbgnbd_unconditional(p, t):
    """E[repeat purchases in (0, t]] for a new customer: P(still active after the first purchase) x the expectation then."""
    r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
    return b / (a + b) * beta_nbd_expectation(r, a, b + 1, np.asarray(t, dtype=float) / alpha)


def _mbgnbd_pmf(p, n, t):
    r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
    t = np.asarray(t, dtype=float)
    first = np.exp(special.betaln(a, b + n + 1) - special.betaln(a, b) + nbd_log_pmf(n, t, r, alpha))
    tail = special.betainc(n, r, t / (alpha + t)) if n > 0 else 1.0  # P(NBD(t) >= n)
    return first + np.exp(special.betaln(a + 1, b + n) - special.betaln(a, b)) * tail


class ModifiedBetaGeo(_PurchaseModel):
    """MBG/NBD model (Batislam, Denizel & Filiztekin 2007), fitted by lifetimes' ``ModifiedBetaGeoFitter``.

    As BG/NBD, but a customer may also drop out right after the first
    purchase, so customers without repeat purchases are not all alive.
    Parameters as in :class:`BetaGeo`.

    Examples
    --------
    >>> from custlab.data.datasets import load_cdnow
    >>> mbg = ModifiedBetaGeo(freq="W").fit(load_cdnow("summary"))
    >>> {k: round(v, 3) for k, v in mbg.params_.items()}
    {'r': 0.525, 'alpha': 6.183, 'a': 0.891, 'b': 1.614}
    """

    _kind = "mbgnbd"
    name = "MBG/NBD"
    param_names = ("r", "alpha", "a", "b")
    _expected_alive, _alive = staticmethod(_mbgnbd_expected_alive), staticmethod(_mbgnbd_alive)
    _unconditional, _pmf = staticmethod(_mbgnbd_unconditional), staticmethod(_mbgnbd_pmf)

