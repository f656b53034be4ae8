"""The risk that a silence reaches W days, with covariate effects that change as the silence lengthens.

The repurchase model (:class:`~custlab.repurchase.RepurchaseModel`) is one
Cox model of the days from a purchase to the next: a customer's covariates
multiply her return rate by the same factor on every day of a silence. They
do not. A customer who buys every ten days returns much faster than average
in the first weeks of a silence, but once she has been silent five or six
times her usual gap she has most likely stopped buying, and her past
frequency no longer speeds her return. The single model carries her high
rate into days 60 to 90 of the silence, and her risk of reaching 90 days
comes out far too low (Online Retail II, 2010-11: a customer buying every
12 days, silent 65 days, at 13%, where about two in three such customers
never come back within 90 days).

:class:`SilenceRisk` refits the same design (the single model's covariates,
transforms and levels) with two changes, on the gaps split into pieces of
silence (0-15, 15-30, 30-45, 45-60 and 60 days or more, each piece entering
the risk set where it starts):

- the numeric covariates (how often, how long and how much the customer has
  bought) get one effect per piece, so their weight late in a silence is
  learnt from the customers who were silent that long;
- a gap that started in the last :data:`RECENT_DAYS` days before the
  analysis day is marked: the shop's current return rate (CDNOW's cohort
  buys less and less; Online Retail's first months count long-standing
  customers as new) is taken from the early days of recent gaps; an active
  customer's open gap is recent when she has been silent at most that long
  (every one of them with the usual 90-day window).

Interactions and the recent mark are lightly shrunk (ridge) so that a small
shop keeps close to the single model. The hazard ratios, the usual gap, the
held-out concordance and the reasons stay those of the single model; this
model only gives ``p_churn``. When it cannot be fitted (too few gaps, no
convergence) :func:`fit_silence_risk` returns None and the single model's
risk is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

if TYPE_CHECKING:  # pragma: no cover
    from custlab.repurchase import RepurchaseModel

__all__ = ["PIECES", "RECENT_DAYS", "SilenceRisk", "fit_silence_risk"]

#: Days of silence where the numeric covariates get a new effect.
PIECES = (15.0, 30.0, 45.0, 60.0)
#: A gap that started at most this many days before the analysis day is "recent".
RECENT_DAYS = 120
#: Ridge on the per-piece and recent effects, per 1,000 repurchases (at least 1).
_RIDGE = 1.0
_MAX_STEPS = 40


@dataclass(frozen=True)
class SilenceRisk:
    """Cox model with per-piece effects of the numeric covariates; see the module docstring.

    ``beta`` holds, in order: the single model's design columns, then the numeric columns once per piece after
    the first, then the recent mark. ``times``/``hazard`` are the Breslow increments of the baseline at the
    centred covariates.
    """

    model: RepurchaseModel = field(repr=False)
    mean: np.ndarray = field(repr=False)
    numeric: tuple[int, ...]
    beta: np.ndarray = field(repr=False)
    times: np.ndarray = field(repr=False)
    hazard: np.ndarray = field(repr=False)
    pieces: tuple[float, ...] = PIECES

    def p_churn(self, active: pl.DataFrame, inactivity_days: int) -> np.ndarray:
        """P(the open gap of each row reaches ``inactivity_days`` days | it lasted ``gap_days`` so far); nan if
        unusable."""
        window = inactivity_days
        x, usable, _ = self.model._design(active, fitting=False)
        s = active["gap_days"].cast(pl.Float64).to_numpy()
        # an open gap started gap_days before the analysis day: recent as in the fit (all of them when W <= 120)
        x = np.column_stack([x, (s <= RECENT_DAYS).astype(float)]) - self.mean
        piece_of_time = np.searchsorted(np.asarray(self.pieces), self.times, side="left")
        lo = np.searchsorted(self.times, s - 0.5, side="right")  # first event time after s - 1/2
        hi = np.searchsorted(self.times, window - 0.5, side="right")
        total = np.zeros(active.height)
        for k in range(len(self.pieces) + 1):
            in_piece = np.where(piece_of_time == k, self.hazard, 0.0)
            cum = np.concatenate([[0.0], np.cumsum(in_piece)])
            with np.errstate(invalid="ignore", over="ignore"):
                total += np.exp(self._design(x, np.full(active.height, k)) @ self.beta) * (cum[hi] - cum[lo])
        with np.errstate(invalid="ignore", over="ignore"):
            p = np.exp(-total)
        p[~usable] = np.nan
        return p

    def _design(self, x: np.ndarray, piece: np.ndarray) -> np.ndarray:
        return _design(x, piece, self.numeric, len(self.pieces))


def _design(x: np.ndarray, piece: np.ndarray, numeric: tuple[int, ...] | list[int], pieces: int) -> np.ndarray:
    """``x`` (with the recent mark last), the numeric columns per piece after the first."""
    base, recent = x[:, :-1], x[:, -1:]
    blocks = [base] + [base[:, list(numeric)] * (piece == k)[:, None] for k in range(1, pieces + 1)] + [recent]
    return np.hstack(blocks)


def fit_silence_risk(frame: pl.DataFrame, model: RepurchaseModel, pieces: tuple[float, ...] = PIECES
                     ) -> SilenceRisk | None:
    """Fit on the repurchase frame ``model`` was fitted on; None when the fit fails (keep the single model)."""
    if not model.terms_:
        return None
    x, usable, _ = model._design(frame, fitting=False)
    data = frame.filter(pl.Series(usable))
    x = x[usable]
    if data.height == 0:
        return None
    day = data.filter(~pl.col("repurchased")).select(
        (pl.col("purchase_date") + pl.duration(days=pl.col("gap_days"))).max()).item()
    if day is None:
        return None
    age = data.select((pl.lit(day) - pl.col("purchase_date")).dt.total_days()).to_series().to_numpy()
    x = np.column_stack([x, (age <= RECENT_DAYS).astype(float)])
    mean = x.mean(axis=0)
    x = x - mean
    cols = model._design_columns()
    numeric = [cols.index(c) for term in model.terms_ if term.kind == "numeric" for c in term.columns]
    duration = np.asarray(model._durations(data), dtype=float)
    event = data["repurchased"].to_numpy().astype(bool)
    rows, start, stop, ended, piece = _split(duration, event, pieces)
    z = _design(x[rows], piece, numeric, len(pieces))
    base = x.shape[1] - 1
    events = float(event.sum())
    if events == 0:
        return None
    ridge = np.zeros(z.shape[1])
    ridge[base:] = max(_RIDGE * events / 1000.0, 1.0)
    ridge[:base] = float(model.penalizer) * events
    fitted = _breslow(z, start, stop, ended, ridge)
    if fitted is None:
        return None
    beta, times, hazard = fitted
    return SilenceRisk(model=model, mean=mean, numeric=tuple(numeric), beta=beta, times=times, hazard=hazard,
                       pieces=tuple(pieces))


def _split(duration: np.ndarray, event: np.ndarray, pieces: tuple[float, ...]):
    """Each gap cut at the piece edges: row index, entry, exit, event in this piece, piece number."""
    edges = [0.0, *pieces, np.inf]
    parts = []
    for k in range(len(edges) - 1):
        idx = np.flatnonzero(duration > edges[k]) if k else np.arange(duration.size)
        parts.append((idx, np.full(idx.size, edges[k]), np.minimum(duration[idx], edges[k + 1]),
                      event[idx] & (duration[idx] <= edges[k + 1]), np.full(idx.size, k)))
    return tuple(np.concatenate(p) for p in zip(*parts, strict=True))


def _breslow(z: np.ndarray, start: np.ndarray, stop: np.ndarray, event: np.ndarray, ridge: np.ndarray):
    """Newton fit of the Cox partial likelihood (Breslow ties) with delayed entry and a ridge; None on failure."""
    from scipy import sparse

    n, p = z.shape
    times = np.unique(stop[event])
    if times.size == 0:
        return None
    d = np.bincount(np.searchsorted(times, stop[event]), minlength=times.size).astype(float)
    z_events = z[event].sum(axis=0)
    # a row is at risk at event time j when start < times[j] <= stop: j in [enter, leave)
    enter = np.searchsorted(times, start, side="right")
    leave = np.searchsorted(times, stop, side="right")
    m = times.size + 1
    ones = np.ones(n)
    delta = (sparse.csr_matrix((ones, (enter, np.arange(n))), shape=(m, n))
             - sparse.csr_matrix((ones, (leave, np.arange(n))), shape=(m, n)))

    def risk_sums(v: np.ndarray) -> np.ndarray:
        return np.cumsum(np.asarray(delta @ v), axis=0)[:-1]

    def state(beta):
        eta = z @ beta
        if not np.all(np.isfinite(eta)) or eta.max() > 700:
            return None
        w = np.exp(eta)
        s0 = risk_sums(w[:, None])[:, 0]
        if np.any(s0[d > 0] <= 0):
            return None
        wz = w[:, None] * z
        s1 = risk_sums(wz)
        loglik = float(z_events @ beta - d @ np.log(s0) - 0.5 * ridge @ beta ** 2)
        return w, s0, s1, wz, loglik

    beta = np.zeros(p)
    current = state(beta)
    if current is None:
        return None
    for _ in range(_MAX_STEPS):
        w, s0, s1, wz, loglik = current
        mean = s1 / s0[:, None]
        grad = z_events - d @ mean - ridge * beta
        info = np.diag(ridge).astype(float)
        for a in range(p):
            s2a = risk_sums(wz * z[:, [a]])
            info[a] += (d[:, None] * (s2a / s0[:, None] - mean[:, [a]] * mean)).sum(axis=0)
        try:
            step = np.linalg.solve(info, grad)
        except np.linalg.LinAlgError:
            return None
        if not np.all(np.isfinite(step)):
            return None
        size = 1.0
        while True:
            trial = state(beta + size * step)
            if trial is not None and trial[4] >= loglik - 1e-9:
                break
            size /= 2
            if size < 1e-4:
                return None
        beta = beta + size * step
        current = trial
        if np.max(np.abs(size * step)) < 1e-7:
            break
    else:
        return None
    s0 = current[1]
    if np.max(np.abs(beta)) > 20:
        return None
    return beta, times, d / s0
