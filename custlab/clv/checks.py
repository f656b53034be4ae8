"""Judging a fit before it is used: parameters at a bound, a dropout the data contradict, a bad holdout.

A maximum-likelihood fit always returns numbers; they mean something only when
the maximum lies inside the parameter space and the model's story fits the
data. :func:`check_fit` looks for the two failures seen on real shops:

- **a bound**: a dimensionless parameter (r, a, b, s, and Gamma-Gamma's p, q)
  below 1e-3 or above 1e3, or a time scale (alpha, beta) outside 1e-3 to 1e3
  times the longest customer age ``T`` (Gamma-Gamma's q <= 1 too: the mean
  spend is then infinite): the likelihood kept rising toward the
  edge, and the parameter says "no heterogeneity" or "no dropout" rather than
  measuring it (Online Retail 2011-11: Pareto/NBD s = 0.000; 2011-12:
  s = 100, beta = 15,784);
- **a flat dropout**: the model keeps customers alive whom the data show
  silent for long. A customer is *long silent* when the time since her last
  purchase exceeds ``max(90 days, 3 x the median gap between purchases of
  repeat customers)``; when at least 10% of customers are long silent and the
  model's mean P(alive) among them is 0.9 or more, the model's "nobody leaves"
  contradicts the data (the report's churn section would count them lost).

The third check, a calendar holdout inside the data where the model must beat
the naive baseline, is :func:`custlab.clv.choose_model`'s. Every finding is a
:class:`Issue` whose sentence exists in English and Chinese.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from custlab._i18n import label, t
from custlab._types import Frame, Language
from custlab.clv.models import GammaGamma
from custlab.clv.models.base import _PurchaseModel
from custlab.clv.summary import UNIT_DAYS, _summary_arrays, freq_unit

__all__ = ["BOUNDS", "FitCheck", "Issue", "check_fit", "long_silence"]

#: (low, high) for dimensionless parameters, and for time scales as multiples of the longest T.
BOUNDS: dict[str, tuple[float, float]] = {"shape": (1e-3, 1e3), "scale": (1e-3, 1e3)}
_SCALES = {"alpha", "beta"}
#: Long silence: at least this many days, and at least this many median gaps between purchases.
SILENCE_DAYS, SILENCE_GAPS = 90.0, 3.0
#: A flat dropout: this share of customers long silent, with at least this mean P(alive).
SILENT_SHARE, SILENT_P_ALIVE = 0.10, 0.90


@dataclass(frozen=True)
class Issue:
    """One reason not to trust a fit: a code (``"bound"``, ``"flat_dropout"``, ``"spend_mean"``, ...) and its figures."""

    code: str
    model: str
    fields: tuple[tuple[str, Any], ...] = ()

    def text(self, language: Language = "en") -> str:
        """The finding as a sentence in ``language``."""
        fields = dict(self.fields)
        key = self.code
        if key == "bound":  # which of the parameters ran toward 0, toward infinity, or both
            key += "_" + "_".join(side for side in ("low", "high") if fields.get(side))
        return t(f"clv.issue_{key}", language, model=label(self.model, language), **fields)

    def __str__(self) -> str:
        return self.text("en")


@dataclass(frozen=True)
class FitCheck:
    """The verdict on one fit: ``trusted`` when no :class:`Issue` was found.

    ``silent_share`` is the share of customers long silent (see the module
    docstring), ``silence_days`` the threshold in days, ``silent_p_alive`` the
    model's mean P(alive) among them (None for a spend model or when no
    customer is long silent).
    """

    model: str
    issues: tuple[Issue, ...] = ()
    silent_share: float = 0.0
    silence_days: float = SILENCE_DAYS
    silent_p_alive: float | None = None
    params: tuple[tuple[str, float], ...] = field(default=())

    @property
    def trusted(self) -> bool:
        return not self.issues

    def why(self, language: Language = "en") -> str:
        """The issues as sentences, or a sentence saying none was found."""
        if not self.issues:
            return t("clv.check_ok", language, model=label(self.model, language))
        return " ".join(issue.text(language) for issue in self.issues)

    def __repr__(self) -> str:
        verdict = "trusted" if self.trusted else "not trusted: " + "; ".join(i.code for i in self.issues)
        return f"FitCheck({self.model}, {verdict})"


def long_silence(summary: Frame, freq: str) -> tuple[np.ndarray, float]:
    """Which customers are long silent, and the threshold in days (see the module docstring).

    Examples
    --------
    >>> s = pl.DataFrame({"frequency": [2, 0, 1], "recency": [2.0, 0.0, 1.0], "T": [3.0, 30.0, 20.0]})
    >>> silent, days = long_silence(s, "W")
    >>> silent.tolist(), days
    ([False, True, True], 90.0)
    """
    frame = _summary_arrays(summary)
    unit = UNIT_DAYS[freq_unit(freq)]
    x, tx, T = (frame[c].cast(pl.Float64).to_numpy() for c in ("frequency", "recency", "T"))
    repeat = x > 0
    gap = float(np.median(tx[repeat] / x[repeat])) * unit if repeat.any() else 0.0
    days = max(SILENCE_DAYS, SILENCE_GAPS * gap)
    return (T - tx) * unit > days, days


def _bound_issues(name: str, params: dict[str, float], max_T: float) -> list[Issue]:
    """One issue listing the parameters that ran toward 0 (``low``) and toward infinity (``high``)."""
    low_side, high_side = [], []
    for key, value in params.items():
        if key == "v":  # Gamma-Gamma's scale is money: no natural range
            continue
        low, high = BOUNDS["scale" if key in _SCALES else "shape"]
        scale = max_T if key in _SCALES else 1.0
        if not (math.isfinite(value) and low * scale <= value <= high * scale):
            side = low_side if math.isfinite(value) and value < low * scale else high_side
            side.append(f"{key} = {value:.3g}")
    if not (low_side or high_side):
        return []
    return [Issue("bound", name, (("low", ", ".join(low_side)), ("high", ", ".join(high_side))))]


def check_fit(model: _PurchaseModel | GammaGamma, summary: Frame) -> FitCheck:
    """Judge a fitted purchase or spend model on the summary it describes (see the module docstring).

    Parameters
    ----------
    model
        A fitted :class:`~custlab.clv.BetaGeo`, :class:`~custlab.clv.ModifiedBetaGeo`,
        :class:`~custlab.clv.ParetoNBD` or :class:`~custlab.clv.GammaGamma`.
    summary
        The summary (``frequency``, ``recency``, ``T``) the model was fitted on.

    Returns
    -------
    FitCheck
        ``trusted`` and the issues found, in plain words with ``why(language)``.

    Examples
    --------
    >>> from custlab.clv import BetaGeo
    >>> from custlab.data.datasets import load_cdnow
    >>> summary = load_cdnow("summary")
    >>> check_fit(BetaGeo(freq="W").fit(summary), summary)
    FitCheck(BG/NBD, trusted)
    """
    params = model._check_fitted()
    frame = _summary_arrays(summary)
    max_T = float(frame["T"].max()) or 1.0
    issues = _bound_issues(model.name, params, max_T)
    if isinstance(model, GammaGamma):
        if params["q"] <= 1:
            issues.append(Issue("spend_mean", model.name, (("q", params["q"]),)))
        return FitCheck(model.name, tuple(issues), params=tuple(params.items()))
    silent, days = long_silence(frame, model.freq)
    share = float(silent.mean())
    alive = None
    if silent.any():
        x, tx, T = (frame[c].cast(pl.Float64).to_numpy()[silent] for c in ("frequency", "recency", "T"))
        alive = float(np.mean(model.probability_alive(x, tx, T)))
        if share >= SILENT_SHARE and alive >= SILENT_P_ALIVE:
            issues.append(Issue("flat_dropout", model.name,
                                (("share", share), ("days", round(days)), ("p_alive", alive))))
    return FitCheck(model.name, tuple(issues), share, days, alive, tuple(params.items()))


def empirical_alive(history: pl.DataFrame, as_of: dt.datetime) -> pl.DataFrame:
    """P(a customer silent for ``s`` days orders again), from past silences: ``customer_id``, ``p_alive``.

    Of all silences that reached ``s`` days -- gaps between two orders and the
    current open silences -- the share that ended in an order. Open silences
    count as not (yet) ended, so the estimate leans low.
    """
    days = history.select("customer_id", day=pl.col("order_date").dt.date()).unique().sort("customer_id", "day")
    gaps = days.with_columns(gap=(pl.col("day").shift(-1).over("customer_id") - pl.col("day")).dt.total_days())
    closed = np.sort(gaps["gap"].drop_nulls().to_numpy())
    open_ = days.group_by("customer_id").agg(last=pl.col("day").max()).with_columns(
        silent=(pl.lit(as_of.date()) - pl.col("last")).dt.total_days())
    silent = open_["silent"].to_numpy()
    sorted_open = np.sort(silent)
    ended = len(closed) - np.searchsorted(closed, silent, side="left")
    still = len(sorted_open) - np.searchsorted(sorted_open, silent, side="left")
    p = np.where(ended + still > 0, ended / np.maximum(ended + still, 1), 0.0)
    return open_.select("customer_id", p_alive=pl.Series(p, dtype=pl.Float64))


def ranking_values(result: Any, history: pl.DataFrame, as_of: dt.datetime) -> pl.DataFrame:
    """Every customer's ``clv``, ``p_alive`` and ``expected_spend`` as action lists rank them.

    ``result`` is a :class:`custlab.clv.CLVResult`, or None when no value can be
    given (each customer then has a null ``clv``). ``p_alive`` is the model's,
    except where it has none to give: under the historical formula, and for
    BG/NBD's one-time buyers, whom it counts alive whatever their silence (1.0
    for 2,181 of the shop's 5,000 customers, against 0.32 on average for the
    others). There it is :func:`empirical_alive` (0.17 for those 2,181);
    otherwise a list would rank every one-time buyer above a loyal customer
    gone quiet. ``expected_spend`` is the model's expected order value, or the
    customer's own average order where it gives none. ``modelled`` is True where
    ``p_alive`` is the model's (a churn risk 1 - P(alive) can be read from it),
    False where it is the observed return rate.
    """
    if result is None:
        values = history.select("customer_id").unique().with_columns(
            clv=pl.lit(None, pl.Float64), p_alive=pl.lit(None, pl.Float64), expected_spend=pl.lit(None, pl.Float64))
    else:
        one_time = (pl.col("frequency") == 0) & pl.lit(result.model == "BG/NBD")  # P(alive) 1 by construction
        values = result.values.select("customer_id", "clv", "expected_spend",
                                      p_alive=pl.when(one_time).then(None).otherwise("p_alive"))
    observed = empirical_alive(history, as_of).rename({"p_alive": "_observed"})
    aov = history.group_by("customer_id").agg(_aov=pl.col("amount").sum() / pl.col("order_id").n_unique())
    return (values.join(observed, on="customer_id", how="left").join(aov, on="customer_id", how="left")
            .with_columns(modelled=pl.col("p_alive").is_not_null(),
                          p_alive=pl.coalesce("p_alive", "_observed").fill_null(0.0),
                          expected_spend=pl.when(pl.col("expected_spend") > 0).then("expected_spend")
                          .otherwise("_aov").fill_null(0.0))
            .select("customer_id", "clv", "p_alive", "expected_spend", "modelled"))
