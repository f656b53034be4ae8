"""Gamma-Gamma model of spend per purchase (Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value curves")."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl

from custlab._types import Frame
from custlab.clv import _lifetimes
from custlab.clv.models._fitting import parameters_text
from custlab.clv.summary import CLVWarning, _patterns, _summary_arrays
from custlab.data.schema import require_columns
from custlab.exceptions import CustlabError

__all__ = ["GammaGamma", "ObservedSpend", "spend_frequency_correlation"]


def _spend_frame(summary: Frame) -> pl.DataFrame:
    """A summary with ``monetary_value``, checked; or a spend pattern table (:func:`custlab.engine.spend_patterns`)."""
    if isinstance(summary, pl.DataFrame) and {"weight", "monetary_value"} <= set(summary.columns) \
            and "T" not in summary.columns:
        return summary
    frame = _summary_arrays(summary)
    require_columns(frame, ["monetary_value"], table="summary", purpose="for the spend model")
    return frame


def spend_frequency_correlation(summary: Frame) -> float:
    """Pearson correlation of ``frequency`` and ``monetary_value`` among repeat customers.

    The Gamma-Gamma model assumes that the spend per purchase does not depend
    on how often a customer buys; Fader, Hardie & Lee (2005) report 0.11 on
    CDNOW. NaN when fewer than three repeat customers.

    Examples
    --------
    >>> from custlab.data.datasets import load_cdnow
    >>> round(spend_frequency_correlation(load_cdnow("summary")), 3)
    0.114
    """
    frame = _spend_frame(summary)
    repeat = frame.filter(pl.col("frequency") > 0)
    if "weight" in repeat.columns:  # a pattern table: each row stands for `weight` customers
        if repeat["weight"].sum() < 3:
            return float("nan")
        x, m, w = (repeat[c].cast(pl.Float64).to_numpy() for c in ("frequency", "monetary_value", "weight"))
        cov = np.cov(x, m, aweights=w)
        return float(cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1])) if cov[0, 0] * cov[1, 1] > 0 else float("nan")
    if repeat.height < 3:
        return float("nan")
    value = repeat.select(pl.corr(pl.col("frequency").cast(pl.Float64), pl.col("monetary_value"))).item()
    return float("nan") if value is None else float(value)


class GammaGamma:
    """Gamma-Gamma model of spend per purchase (Fader, Hardie & Lee 2005), fitted by lifetimes' ``GammaGammaFitter``.

    A customer's purchases have Gamma(p, nu) values with nu ~ Gamma(q, v);
    fitted on repeat customers' (frequency, mean repeat spend), grouped by
    identical pairs with weights.

    Parameters
    ----------
    penalizer
        L2 penalty (lifetimes' ``penalizer_coef``), the retry when a fit does not converge.
    correlation_warning
        Warn (:class:`CLVWarning`) when the absolute correlation between
        frequency and spend among repeat customers reaches this value, as the
        model assumes independence.
    max_iterations
        Iteration limit of the optimizer (None: scipy's default).

    Attributes
    ----------
    params_ : dict
        ``p``, ``q``, ``v``.
    log_likelihood_ : float
        Total over the repeat customers.
    spend_frequency_correlation_ : float
        The correlation checked before fitting.

    Examples
    --------
    >>> from custlab.data.datasets import load_cdnow
    >>> ggf = GammaGamma().fit(load_cdnow("summary"))
    >>> {k: round(v, 2) for k, v in ggf.params_.items()}, round(ggf.log_likelihood_, 2), ggf.n_customers_
    ({'p': 6.25, 'q': 3.74, 'v': 15.45}, -4055.92, 946)
    """

    name = "Gamma-Gamma"

    def __init__(self, *, penalizer: float = 0.0, correlation_warning: float = 0.3,
                 max_iterations: int | None = None) -> None:
        self.penalizer = penalizer
        self.correlation_warning = correlation_warning
        self.max_iterations = max_iterations

    def __repr__(self) -> str:
        if hasattr(self, "params_"):
            return f"GammaGamma({parameters_text(self.params_)}; {self.n_customers_:,} repeat customers)"
        return f"GammaGamma(penalizer={self.penalizer})"

    def fit(self, summary: Frame) -> GammaGamma:
        """Fit on the repeat customers (frequency > 0) of a summary with ``monetary_value``.

        Raises
        ------
        CustlabError
            No repeat customer, or repeat customers with a mean spend of 0 or
            less (the model needs positive spend).
        ConvergenceError
            The optimizer did not converge (retry with a ``penalizer``).
        """
        frame = _spend_frame(summary)
        repeat = frame.filter(pl.col("frequency") > 0)
        if repeat.height == 0:
            raise CustlabError(
                f"No customer in the summary made a repeat purchase (0 of {frame.height:,}); the Gamma-Gamma "
                f"model is fitted on repeat customers' mean spend."
            )
        bad = repeat.filter(~(pl.col("monetary_value") > 0).fill_null(False))
        if bad.height:
            shown = [c for c in ("customer_id", "monetary_value") if c in bad.columns]
            raise CustlabError(
                f"Column 'monetary_value' is 0, negative or missing for {bad.height:,} of {repeat.height:,} repeat "
                f"customers, e.g. {bad.head(3).select(shown).to_dicts()}; "
                f"the Gamma-Gamma model needs positive spend. Remove returns and cancellations with "
                f"custlab.clean_transactions before the summary, or leave these customers out of the spend "
                f"model: fit(summary.filter((pl.col('frequency') == 0) | (pl.col('monetary_value') > 0)))."
            )
        correlation = spend_frequency_correlation(repeat)
        self.spend_frequency_correlation_ = correlation
        if abs(correlation) >= self.correlation_warning:
            warnings.warn(
                f"Gamma-Gamma assumes spend per purchase is independent of purchase frequency, but their "
                f"correlation among the {repeat.height:,} repeat customers is {correlation:.2f} "
                f"(|r| >= {self.correlation_warning}). Expected spend will lean toward the population mean "
                f"for frequent buyers; check spend by frequency before relying on it.",
                CLVWarning,
                stacklevel=2,
            )
        x, m, w = _patterns(repeat, keys=("frequency", "monetary_value"))
        result = _lifetimes.fit_gamma_gamma(x, m, w, penalizer=float(self.penalizer),
                                            max_iterations=self.max_iterations)
        self.params_ = result.params
        self.log_likelihood_ = result.log_likelihood
        self._fit_result = result
        self.n_customers_ = int(w.sum())  # repeat.height, or the customers a pattern table stands for
        if self.params_["q"] <= 1:
            warnings.warn(
                f"Gamma-Gamma fit gave q = {self.params_['q']:.3f} <= 1: the population mean spend v*p/(q-1) "
                f"is not finite, so expected spend of customers with few purchases is unreliable.",
                CLVWarning,
                stacklevel=2,
            )
        return self

    def _check_fitted(self) -> dict[str, float]:
        if not hasattr(self, "params_"):
            raise CustlabError("This GammaGamma is not fitted yet; call .fit(summary) first.")
        return self.params_

    @property
    def standard_errors_(self) -> dict[str, float | None]:
        """Standard errors of p, q, v (lifetimes' delta method), computed on first access; None where not computable."""
        self._check_fitted()
        return self._fit_result.standard_errors()

    @property
    def population_mean_spend(self) -> float:
        """Mean spend per purchase in the population, v p / (q - 1); raises when q <= 1 (it is infinite)."""
        p = self._check_fitted()
        if not p["q"] > 1:
            raise CustlabError(
                f"The Gamma-Gamma fit has q = {p['q']:.3g} <= 1, so its population mean spend v p / (q - 1) is "
                f"infinite and no expected spend can be given. Use ObservedSpend().fit(summary) (customers' own "
                f"averages), or GammaGamma(penalizer=0.01)."
            )
        return p["v"] * p["p"] / (p["q"] - 1)

    def expected_spend(self, frequency, monetary_value) -> np.ndarray:
        """E[spend per purchase | frequency, mean repeat spend]: a weighted mean of own and population means.

        Customers without repeat purchases get the population mean. Raises when q <= 1 (see
        :attr:`population_mean_spend`).
        """
        p = self._check_fitted()
        x = np.asarray(frequency, dtype=float)
        m = np.asarray(monetary_value, dtype=float)
        own = p["p"] * x / (p["p"] * x + p["q"] - 1)
        return (1 - own) * self.population_mean_spend + own * np.where(x > 0, m, 0.0)

    def predict(self, summary: Frame) -> pl.DataFrame:
        """The summary with ``expected_spend`` (Float64) added."""
        frame = _summary_arrays(summary)
        values = self.expected_spend(frame["frequency"].to_numpy(), frame["monetary_value"].to_numpy())
        return frame.with_columns(expected_spend=pl.Series(values, dtype=pl.Float64))


class ObservedSpend:
    """Spend per purchase as observed: each repeat customer's own mean, the repeat customers' mean for the others.

    The model-free alternative to :class:`GammaGamma`, used when a
    Gamma-Gamma fit cannot be trusted (q <= 1 makes its mean spend infinite).
    Fitted on the same summaries (``frequency``, ``monetary_value``).

    Examples
    --------
    >>> s = pl.DataFrame({"frequency": [2, 0, 1], "recency": [3.0, 0.0, 1.0], "T": [5.0, 4.0, 2.0],
    ...                   "monetary_value": [10.0, 0.0, 30.0]})
    >>> ObservedSpend().fit(s).expected_spend([2, 0, 1], [10.0, 0.0, 30.0]).tolist()
    [10.0, 20.0, 30.0]
    """

    name = "observed spend"

    def __repr__(self) -> str:
        if hasattr(self, "params_"):
            return f"ObservedSpend(mean={self.params_['mean_spend']:.4g}; {self.n_customers_:,} repeat customers)"
        return "ObservedSpend()"

    def fit(self, summary: Frame) -> ObservedSpend:
        """Take the mean repeat spend of the repeat customers with positive spend (raises without any)."""
        frame = _summary_arrays(summary)
        require_columns(frame, ["monetary_value"], table="summary", purpose="for the spend model")
        repeat = frame.filter((pl.col("frequency") > 0) & (pl.col("monetary_value") > 0))
        if repeat.height == 0:
            raise CustlabError(
                f"No customer in the summary made a repeat purchase with positive spend (0 of {frame.height:,}); "
                f"there is no spend per purchase to observe."
            )
        self.params_ = {"mean_spend": float(repeat["monetary_value"].mean())}
        self.n_customers_ = repeat.height
        return self

    def _check_fitted(self) -> dict[str, float]:
        if not hasattr(self, "params_"):
            raise CustlabError("This ObservedSpend is not fitted yet; call .fit(summary) first.")
        return self.params_

    def expected_spend(self, frequency, monetary_value) -> np.ndarray:
        """Own mean repeat spend where frequency > 0 and spend > 0, else the repeat customers' mean."""
        mean = self._check_fitted()["mean_spend"]
        x = np.asarray(frequency, dtype=float)
        m = np.asarray(monetary_value, dtype=float)
        return np.where((x > 0) & (m > 0), m, mean)
