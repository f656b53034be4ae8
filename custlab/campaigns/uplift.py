"""Uplift targeting: whom the next campaign should go to, judged by the lift it causes, not by churn risk.

Models (scikit-learn learners; any classifier with ``predict_proba``):

* :class:`TwoModelUplift` (the "T-learner"): one model of buying among the
  treated, one among the control; uplift = P(buy | treated, x) - P(buy | control, x).
* :class:`ClassTransformationUplift` (Jaskowski & Jaroszewicz 2012): one
  classifier of ``Z = 1`` when (treated and bought) or (control and did not
  buy); uplift = 2 P(Z = 1 | x) - 1. Treated and control customers are
  weighted to equal totals, which the identity needs.

Evaluation on customers the model did not see (:func:`qini_curve`,
:func:`uplift_curve`, :func:`evaluate_uplift`): customers sorted by
predicted uplift, the Qini curve counts incremental buyers among the top
share ``x``, ``Q(x) = B_T(x) - B_C(x) N_T(x) / N_C(x)`` (Radcliffe 2007);
the uplift curve is ``(B_T/N_T - B_C/N_C)(x) (N_T + N_C)(x)``. Random
targeting is the straight line to the last point. ``qini`` and ``auuc`` are
the areas between each curve and its random line (per customer: the curves
divided by the number of customers, over the share targeted); above 0 means
better than random. Their intervals are bootstrap percentiles over customers
(seeded).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl

from custlab._i18n import t
from custlab._types import Frame, Language
from custlab.campaigns.stats import check_ci, compare_rates, percentile_interval
from custlab.data.schema import check_frame
from custlab.exceptions import CustlabError

__all__ = [
    "ClassTransformationUplift", "TwoModelUplift", "UpliftEvaluation", "UpliftResult", "compare_targeting",
    "evaluate_uplift", "qini_curve", "uplift_curve", "uplift_model",
]

Method = Literal["two_model", "class_transformation"]


def _default_learner():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=2000)


def _arrays(X, treatment, y) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = X.to_numpy() if isinstance(X, pl.DataFrame) else np.asarray(X)
    t_ = np.asarray(treatment).astype(bool)
    y_ = np.asarray(y)
    if x.ndim != 2 or x.shape[0] != t_.size or t_.size != y_.size:
        raise CustlabError(f"X must be 2-D with one row per customer; got X {x.shape}, treatment {t_.size}, y {y_.size}.")
    if not set(np.unique(y_)) <= {0, 1}:
        raise CustlabError("uplift models need a 0/1 outcome (bought or not).")
    if t_.all() or (~t_).all():
        raise CustlabError("uplift models need both treated and control customers.")
    return x.astype(float), t_, y_.astype(int)


def _proba(model: Any, x: np.ndarray) -> np.ndarray:
    return model.predict_proba(x)[:, 1] if hasattr(model, "predict_proba") else np.asarray(model.predict(x), float)


class TwoModelUplift:
    """Two classifiers, treated and control; uplift is the difference of their probabilities.

    Parameters
    ----------
    learner
        A scikit-learn classifier (cloned for each group); default logistic regression.
    """

    def __init__(self, learner: Any = None) -> None:
        self.learner = learner

    def fit(self, X, treatment, y) -> TwoModelUplift:
        """Fit on features ``X``, a 0/1 or boolean ``treatment`` and a 0/1 outcome ``y``; returns self."""
        from sklearn.base import clone

        x, t_, y_ = _arrays(X, treatment, y)
        base = self.learner if self.learner is not None else _default_learner()
        for name, mask in (("treated", t_), ("control", ~t_)):
            if np.unique(y_[mask]).size < 2:
                raise CustlabError(f"the {name} customers all have the same outcome; the model needs buyers and non-buyers.")
        self.model_treated_ = clone(base).fit(x[t_], y_[t_])
        self.model_control_ = clone(base).fit(x[~t_], y_[~t_])
        return self

    def predict(self, X) -> np.ndarray:
        """Predicted uplift per row of ``X``."""
        if not hasattr(self, "model_treated_"):
            raise CustlabError("this TwoModelUplift is not fitted yet; call fit(X, treatment, y) first.")
        x = X.to_numpy() if isinstance(X, pl.DataFrame) else np.asarray(X, float)
        return _proba(self.model_treated_, x) - _proba(self.model_control_, x)


class ClassTransformationUplift:
    """One classifier of the transformed class Z; uplift = 2 P(Z = 1) - 1 (treated and control weighted equally).

    Parameters
    ----------
    learner
        A scikit-learn classifier accepting ``sample_weight``; default logistic regression.
    """

    def __init__(self, learner: Any = None) -> None:
        self.learner = learner

    def fit(self, X, treatment, y) -> ClassTransformationUplift:
        """Fit on features ``X``, a 0/1 or boolean ``treatment`` and a 0/1 outcome ``y``; returns self."""
        from sklearn.base import clone

        x, t_, y_ = _arrays(X, treatment, y)
        z = np.where(t_, y_, 1 - y_)
        share = t_.mean()
        weight = np.where(t_, 0.5 / share, 0.5 / (1 - share))
        self.model_ = clone(self.learner if self.learner is not None else _default_learner()).fit(x, z, sample_weight=weight)
        return self

    def predict(self, X) -> np.ndarray:
        """Predicted uplift per row of ``X``."""
        if not hasattr(self, "model_"):
            raise CustlabError("this ClassTransformationUplift is not fitted yet; call fit(X, treatment, y) first.")
        x = X.to_numpy() if isinstance(X, pl.DataFrame) else np.asarray(X, float)
        return 2.0 * _proba(self.model_, x) - 1.0


def _cumulative(score: np.ndarray, treatment: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None):
    order = np.argsort(-score, kind="stable")
    t_ = treatment[order].astype(float)
    y_ = y[order].astype(float)
    w = np.ones_like(y_) if weights is None else weights[..., order]
    n_t = np.cumsum(w * t_, axis=-1)
    n_c = np.cumsum(w * (1 - t_), axis=-1)
    b_t = np.cumsum(w * t_ * y_, axis=-1)
    b_c = np.cumsum(w * (1 - t_) * y_, axis=-1)
    return n_t, n_c, b_t, b_c


def _curves(n_t, n_c, b_t, b_c) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        qini = b_t - np.where(n_c > 0, b_c * n_t / n_c, 0.0)
        upl = np.where((n_t > 0) & (n_c > 0), b_t / n_t - b_c / n_c, 0.0) * (n_t + n_c)
    return qini, upl


def _area_above_random(curve: np.ndarray) -> np.ndarray:
    """Mean over the targeted share of (curve - random line), per customer (last axis = customers)."""
    n = curve.shape[-1]
    share = np.arange(1, n + 1) / n
    random = share * curve[..., -1:]
    return (curve - random).mean(axis=-1) / n


def qini_curve(uplift, treatment, y) -> pl.DataFrame:
    """Qini curve: ``share`` targeted, incremental buyers ``qini`` and the ``random`` line, per customer in order.

    >>> qini_curve([0.9, 0.5, 0.1, 0.0], [1, 0, 1, 0], [1, 0, 0, 0])["qini"].to_list()
    [1.0, 1.0, 1.0, 1.0]
    """
    score, t_, y_ = np.asarray(uplift, float), np.asarray(treatment).astype(bool), np.asarray(y).astype(int)
    qini, _ = _curves(*_cumulative(score, t_, y_))
    share = np.arange(1, score.size + 1) / score.size
    return pl.DataFrame({"share": share, "qini": qini, "random": share * qini[-1]})


def uplift_curve(uplift, treatment, y) -> pl.DataFrame:
    """Uplift curve: ``share`` targeted, ``uplift`` (incremental buyers by rates) and the ``random`` line."""
    score, t_, y_ = np.asarray(uplift, float), np.asarray(treatment).astype(bool), np.asarray(y).astype(int)
    _, upl = _curves(*_cumulative(score, t_, y_))
    share = np.arange(1, score.size + 1) / score.size
    return pl.DataFrame({"share": share, "uplift": upl, "random": share * upl[-1]})


@dataclass(frozen=True)
class UpliftEvaluation:
    """Qini and AUUC above random targeting, with bootstrap intervals, on customers the model did not see."""

    qini: float
    qini_low: float
    qini_high: float
    auuc: float
    auuc_low: float
    auuc_high: float
    n: int
    ci: float
    curve: pl.DataFrame = field(repr=False)

    def to_frame(self) -> pl.DataFrame:
        """The curves: ``share`` targeted, ``qini``, ``qini_random``, ``uplift``, ``uplift_random``."""
        return self.curve

    @property
    def summary(self) -> pl.DataFrame:
        """``metric`` (qini, auuc), ``value``, ``ci_low``, ``ci_high``."""
        return pl.DataFrame({"metric": ["qini", "auuc"], "value": [self.qini, self.auuc],
                             "ci_low": [self.qini_low, self.auuc_low], "ci_high": [self.qini_high, self.auuc_high]})

    def __repr__(self) -> str:
        return (f"UpliftEvaluation(qini={self.qini:.4g} [{self.qini_low:.4g}, {self.qini_high:.4g}], "
                f"auuc={self.auuc:.4g} [{self.auuc_low:.4g}, {self.auuc_high:.4g}], {self.ci:.0%} interval, "
                f"n={self.n:,})")

    def describe(self, language: Language = "en") -> str:
        """One sentence: is the model better than random targeting, with the interval."""
        key = "campaigns.uplift.better" if self.qini_low > 0 else "campaigns.uplift.unclear"
        return t(key, language, qini=f"{self.qini:.4g}", low=f"{self.qini_low:.4g}", high=f"{self.qini_high:.4g}",
                 level=f"{self.ci:.0%}", n=f"{self.n:,}")


def evaluate_uplift(uplift, treatment, y, *, n_boot: int = 200, ci: float = 0.95, seed: int = 0) -> UpliftEvaluation:
    """Qini and AUUC above random of predicted ``uplift`` on held-out customers, with bootstrap intervals.

    Bootstrap replicates weight the customers with Poisson(1) draws (seeded
    by ``seed``), keeping the model's ranking fixed.
    """
    check_ci(ci)
    score, t_, y_ = np.asarray(uplift, float), np.asarray(treatment).astype(bool), np.asarray(y).astype(int)
    if not np.isfinite(score).all():
        raise CustlabError("predicted uplift has NaN or infinite values.")
    qini, upl = _curves(*_cumulative(score, t_, y_))
    rng = np.random.default_rng(seed)
    q_boot, u_boot = [], []
    for start in range(0, n_boot, 25):  # 25 replicates at a time keeps memory small
        w = rng.poisson(1.0, (min(25, n_boot - start), score.size)).astype(float)
        bq, bu = _curves(*_cumulative(score, t_, y_, w))
        q_boot.append(_area_above_random(bq))
        u_boot.append(_area_above_random(bu))
    ql, qh = percentile_interval(np.concatenate(q_boot), ci)
    ul, uh = percentile_interval(np.concatenate(u_boot), ci)
    share = np.arange(1, score.size + 1) / score.size
    curve = pl.DataFrame({"share": share, "qini": qini, "qini_random": share * qini[-1], "uplift": upl,
                          "uplift_random": share * upl[-1]})
    return UpliftEvaluation(float(_area_above_random(qini)), ql, qh, float(_area_above_random(upl)), ul, uh,
                            int(score.size), ci, curve)


def compare_targeting(scores: dict[str, Sequence[float]], treatment, y, *, share: float = 0.3,
                      ci: float = 0.95) -> pl.DataFrame:
    """Measured lift among the top ``share`` of customers by each score (e.g. predicted uplift vs churn risk).

    On customers of a randomised test that the scores were not fitted on: for
    each strategy, the customers it would target (top ``share`` by its
    score), their treated and control buying rates, the lift with Newcombe's
    interval, and ``incremental_per_1000`` targeted customers.
    """
    t_, y_ = np.asarray(treatment).astype(bool), np.asarray(y).astype(int)
    if not 0 < share <= 1:
        raise CustlabError(f"share must be in (0, 1], got {share!r}.")
    rows = []
    k = max(1, int(round(share * t_.size)))
    for name, values in scores.items():
        s = np.asarray(values, float)
        if s.size != t_.size:
            raise CustlabError(f"score {name!r} has {s.size} values for {t_.size} customers.")
        top = np.argsort(-s, kind="stable")[:k]
        tt, yy = t_[top], y_[top]
        if tt.all() or (~tt).all():
            raise CustlabError(f"the top {share:.0%} by {name!r} hold only one group; use a larger share.")
        c = compare_rates(float(yy[tt].sum()), int(tt.sum()), float(yy[~tt].sum()), int((~tt).sum()), ci=ci)
        rows.append({"strategy": name, "targeted": k, "rate_treated": c.level, "rate_control": c.control_level,
                     "abs_lift": c.abs_lift, "ci_low": c.ci_low, "ci_high": c.ci_high,
                     "incremental_per_1000": 1000 * c.abs_lift})
    return pl.DataFrame(rows).sort("abs_lift", descending=True)


@dataclass(frozen=True)
class _Encoding:
    """How features become the model's matrix: text columns one-hot (first level dropped), all standardised."""

    features: tuple[str, ...]
    levels: dict[str, tuple[str, ...]]
    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def learn(cls, data: pl.DataFrame, features: Sequence[str]) -> _Encoding:
        levels = {c: tuple(sorted(data[c].drop_nulls().unique().to_list()))[1:]
                  for c in features if data.schema[c] == pl.String}
        raw = cls(tuple(features), levels, np.zeros(0), np.zeros(0))._matrix(data)
        std = raw.std(axis=0)
        return cls(tuple(features), levels, raw.mean(axis=0), np.where(std > 0, std, 1.0))

    def _matrix(self, data: pl.DataFrame) -> np.ndarray:
        missing = [c for c in self.features if c not in data.columns]
        if missing:
            raise CustlabError(f"the customers lack the model's feature column(s) {missing}.")
        cols = []
        for c in self.features:
            if c in self.levels:
                cols += [(data[c] == level).cast(pl.Float64).fill_null(0.0).to_numpy() for level in self.levels[c]]
            else:
                values = data[c].cast(pl.Float64)
                if values.null_count():
                    raise CustlabError(f"feature {c!r} has {values.null_count():,} missing value(s); fill them first.")
                cols.append(values.to_numpy())
        return np.column_stack(cols) if cols else np.zeros((data.height, 0))

    def apply(self, data: pl.DataFrame) -> np.ndarray:
        return (self._matrix(data) - self.mean) / self.std


@dataclass(frozen=True)
class UpliftResult:
    """An uplift model fitted on one part of a randomised test and judged on the other."""

    method: str
    features: tuple[str, ...]
    model: Any = field(repr=False)
    evaluation: UpliftEvaluation
    scores: pl.DataFrame = field(repr=False)  # held-out rows: index, predicted uplift, treatment, outcome
    encoding: _Encoding = field(repr=False, default=None)  # type: ignore[assignment]

    def targeting_list(self, customers: Frame, *, id_column: str = "customer_id", share: float = 0.3,
                       churn: str | None = None) -> pl.DataFrame:
        """Whom to send the next campaign to: the top ``share`` of ``customers`` by predicted uplift.

        ``customers`` holds ``id_column`` and the model's feature columns
        (measured now). Returns ``id_column``, ``predicted_uplift``,
        ``priority`` (the predicted uplift, Float64), ``reason`` (String)
        and, when ``churn`` names a churn-risk column, that column and
        ``in_churn_top`` (whether targeting by churn risk would have picked
        the customer too), sorted by priority, best first.
        """
        check_frame(customers, argument="customers")
        data = customers.lazy().collect() if isinstance(customers, pl.LazyFrame) else customers
        if id_column not in data.columns:
            raise CustlabError(f"the customers table has no {id_column!r} column.")
        if not 0 < share <= 1:
            raise CustlabError(f"share must be in (0, 1], got {share!r}.")
        predicted = self.model.predict(self.encoding.apply(data))
        k = max(1, int(round(share * data.height)))
        out = data.select(id_column).with_columns(pl.Series("predicted_uplift", predicted))
        if churn is not None:
            if churn not in data.columns:
                raise CustlabError(f"churn column {churn!r} is not in the customers table.")
            threshold = data[churn].sort(descending=True)[k - 1]
            out = out.with_columns(data[churn], (data[churn] >= threshold).alias("in_churn_top"))
        return (out.with_columns(pl.col("predicted_uplift").alias("priority"),
                                 pl.lit("predicted uplift of the next campaign").alias("reason"))
                .sort("priority", descending=True).head(k))

    def to_frame(self) -> pl.DataFrame:
        """The held-out customers with ``predicted_uplift``, ``treated`` and the outcome, best first."""
        return self.scores.sort("predicted_uplift", descending=True)

    @property
    def summary(self) -> pl.DataFrame:
        """Qini and AUUC above random with their intervals."""
        return self.evaluation.summary

    def __repr__(self) -> str:
        e = self.evaluation
        return (f"UpliftResult({self.method}, {len(self.features)} features, held out n={e.n:,}: "
                f"qini={e.qini:.4g} [{e.qini_low:.4g}, {e.qini_high:.4g}])")

    def describe(self, language: Language = "en") -> str:
        """One sentence on whether targeting by this model beats random targeting."""
        return self.evaluation.describe(language)

    def plot(self, *, ax=None, language: Language = "en"):
        """The Qini curve against random targeting (:func:`custlab.campaigns.plot_qini`)."""
        from custlab.campaigns.plots import plot_qini

        return plot_qini(self.evaluation, ax=ax, language=language)


def uplift_model(
    frame: Frame,
    *,
    features: Sequence[str],
    group: str,
    control: object,
    outcome: str,
    method: Method = "two_model",
    learner: Any = None,
    test_share: float = 0.5,
    n_boot: int = 200,
    ci: float = 0.95,
    seed: int = 0,
) -> UpliftResult:
    """Fit an uplift model on part of a randomised test and evaluate it on the rest.

    Parameters
    ----------
    frame
        One row per customer of the test (one treatment group and the control).
    features
        Numeric or text columns describing the customers before the test;
        text columns are one-hot encoded.
    group, control
        The group column and the control's label (the other label is the treatment).
    outcome
        0/1 outcome (bought, visited).
    method
        ``"two_model"`` or ``"class_transformation"``.
    learner
        scikit-learn classifier (default logistic regression on standardised features).
    test_share
        Share of customers held out for the evaluation (split at random, stratified by group).
    n_boot, ci, seed
        Bootstrap of the evaluation and the seed of the split and the bootstrap.
    """
    check_frame(frame)
    data = frame.lazy().collect() if isinstance(frame, pl.LazyFrame) else frame
    missing = [c for c in (*features, group, outcome) if c not in data.columns]
    if missing:
        raise CustlabError(f"columns {missing} are not in the table; its columns are {data.columns}.")
    groups = data[group].unique().to_list()
    if control not in groups or len(groups) != 2:
        raise CustlabError(f"uplift needs exactly two groups, the control {control!r} and one treatment; "
                           f"{group!r} holds {groups}. Filter the table to one treatment and the control first.")
    if not 0 < test_share < 1:
        raise CustlabError(f"test_share must be between 0 and 1, got {test_share!r}.")
    encoding = _Encoding.learn(data, features)
    x = encoding.apply(data)
    treated = (data[group] != control).to_numpy()
    y = data[outcome].cast(pl.Int64).to_numpy()
    rng = np.random.default_rng(seed)
    test = np.zeros(treated.size, dtype=bool)
    for mask in (treated, ~treated):
        idx = np.flatnonzero(mask)
        test[rng.choice(idx, size=int(round(test_share * idx.size)), replace=False)] = True
    cls = TwoModelUplift if method == "two_model" else ClassTransformationUplift if method == "class_transformation" else None
    if cls is None:
        raise CustlabError(f"method must be 'two_model' or 'class_transformation', got {method!r}.")
    model = cls(learner).fit(x[~test], treated[~test], y[~test])
    predicted = model.predict(x[test])
    evaluation = evaluate_uplift(predicted, treated[test], y[test], n_boot=n_boot, ci=ci, seed=seed)
    scores = pl.DataFrame({"row": np.flatnonzero(test), "predicted_uplift": predicted, "treated": treated[test],
                           outcome: y[test]})
    return UpliftResult(method, tuple(features), model, evaluation, scores, encoding)
