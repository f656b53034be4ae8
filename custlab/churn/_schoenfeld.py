"""Grambsch-Therneau test of proportional hazards from scaled Schoenfeld residuals, vectorised.

lifelines' own residual loop grows quadratically with the rows and changes the
global warning filters; these functions give the same numbers (tested to 1e-9).
"""

from __future__ import annotations

import numpy as np

from custlab.churn._common import _import_lifelines

__all__: list[str] = []


def _scaled_schoenfeld(
    x: np.ndarray,
    durations: np.ndarray,
    events: np.ndarray,
    beta: np.ndarray,
    variance: np.ndarray,
    strata: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scaled Schoenfeld residuals of a Cox fit, as lifelines computes them (without adding beta).

    Efron's handling of tied event times, risk sets within strata;
    vectorised (lifelines' own loop grows quadratically with the rows and
    changes the global warning filters). Returns the residuals (one row per
    event, shape (events, terms)), the input row index of each event and its
    time.
    """
    n, p = x.shape
    groups = np.zeros(n, dtype=np.int64) if strata is None else np.unique(strata, return_inverse=True)[1]
    order = np.lexsort((events, durations, groups))
    x, t, e, g = x[order], durations[order], events[order], groups[order]
    xc = x - x.mean(axis=0)
    phi = np.exp(xc @ beta)
    # Blocks of equal (stratum, time); risk set of a block = rows from its start to the end of its stratum.
    new_block = np.ones(n, dtype=bool)
    new_block[1:] = (t[1:] != t[:-1]) | (g[1:] != g[:-1])
    block = np.cumsum(new_block) - 1
    starts = np.flatnonzero(new_block)
    stratum_end = np.searchsorted(g, g[starts], side="right")  # g is sorted
    rev_phi = np.concatenate([np.cumsum(phi[::-1])[::-1], [0.0]])
    rev_phix = np.concatenate([np.cumsum((phi[:, None] * xc)[::-1], axis=0)[::-1], np.zeros((1, p))])
    risk = rev_phi[starts] - rev_phi[stratum_end]
    risk_x = rev_phix[starts] - rev_phix[stratum_end]
    n_blocks = starts.size
    tie_n = np.bincount(block, weights=e.astype(float), minlength=n_blocks)
    tie_phi = np.bincount(block, weights=phi * e, minlength=n_blocks)
    tie_phix = np.stack([np.bincount(block, weights=phi * e * xc[:, j], minlength=n_blocks) for j in range(p)],
                        axis=1)
    # Efron: the l-th of the m tied events sees the risk set less l/m of the tied events.
    ev_block = block[e]
    rank_in_tie = np.arange(ev_block.size) - np.searchsorted(ev_block, ev_block, side="left")
    frac = rank_in_tie / tie_n[ev_block]
    numer = risk_x[ev_block] - frac[:, None] * tie_phix[ev_block]
    denom = risk[ev_block] - frac * tie_phi[ev_block]
    contrib = numer / denom[:, None] / tie_n[ev_block][:, None]
    mean_x = np.zeros((n_blocks, p))
    np.add.at(mean_x, ev_block, contrib)
    resid = xc[e] - mean_x[ev_block]
    d = int(e.sum())
    return d * resid @ variance, order[e], t[e]


def _schoenfeld_test(
    x: np.ndarray, durations: np.ndarray, events: np.ndarray, beta: np.ndarray, variance: np.ndarray,
    strata: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Grambsch-Therneau test of proportional hazards, one chi-square (1 df) per term.

    The scaled Schoenfeld residuals are correlated with the rank of the
    event times (tied times share their average rank), as lifelines'
    ``proportional_hazard_test(time_transform="rank")`` and R's
    ``cox.zph(transform="rank")`` before survival 3.0 do. Returns the
    statistics and their p-values.
    """
    _import_lifelines()
    from scipy.stats import chi2

    scaled, _, times = _scaled_schoenfeld(x, durations, events, beta, variance, strata)
    d = scaled.shape[0]
    centred = _average_rank(times)
    centred = centred - centred.mean()
    with np.errstate(invalid="ignore", divide="ignore"):  # all event times equal: the test is undefined (NaN)
        stat = (centred @ scaled) ** 2 / (d * np.diag(variance) * (centred ** 2).sum())
    return stat, chi2.sf(stat, 1)


def _average_rank(values: np.ndarray) -> np.ndarray:
    _import_lifelines()
    from scipy.stats import rankdata

    return rankdata(values, method="average")
