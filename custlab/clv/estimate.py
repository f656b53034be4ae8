"""A CLV figure that states what it is: basis, discount, horizon, a 90% interval, and month-over-month changes.

:func:`estimate_clv` values customers with a purchase model and a spend model
(or with the historical formula) and returns a :class:`CLVResult`: the
per-customer table, the total, a 90% interval for the total, and what the
number is (revenue unless a margin is given, the discount rate, the horizon,
the model and whether it passed its checks). :func:`clv_change` splits the
change between two months' totals into the part a refit explains (last month's
customers valued again with this month's model) and the part that comes from
the customers themselves.

The historical formula values each customer at her own past rate of repeat
purchases (frequency / T, with T at least 13 weeks: :func:`custlab.clv.summary.naive_rate`) and her mean
repeat spend, discounted month by month
like the models: this is the naive baseline of the holdout check turned into
money, so it is what to use when no model predicts better than it. Customers
without a repeat purchase are worth 0 under it.

Intervals: for a model, the delta method on the total with the covariance of
the fitted log parameters (purchase and spend models fitted separately, so
their uncertainties add), on the log scale, total x exp(+-1.645 se / total);
for the historical formula, the Poisson uncertainty of each customer's rate
(var(frequency / T) = frequency / T^2, T at least 13 weeks). Both cover the estimation of the rates,
not the randomness of the customers' future purchases.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from custlab._i18n import label, t
from custlab._types import Frame, Language
from custlab.clv.models import GammaGamma, ObservedSpend
from custlab.clv.models.base import _PurchaseModel
from custlab.clv.summary import NAIVE_MIN_SPAN_DAYS, UNIT_DAYS, _summary_arrays, freq_unit, naive_rate
from custlab.clv.value import _clv_settings, _discount_factors, _purchase_terms, predict_clv
from custlab.data.schema import require_columns
from custlab.exceptions import CustlabError

__all__ = ["CLVChange", "CLVResult", "clv_change", "estimate_clv"]

_Z90 = 1.6448536269514722  # standard normal 95% quantile: a two-sided 90% interval
_STEP = 1e-4  # log-parameter step of the numerical derivatives


def _money(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def _signed(value: float) -> str:
    return ("+" if value >= 0 else "-") + _money(abs(value))


def _percent(share: float) -> str:
    return f"{share * 100:.4g}%"


@dataclass(frozen=True)
class CLVResult:
    """Customer lifetime values and what they are.

    Attributes
    ----------
    values
        One row per customer: the summary columns, ``p_alive`` (null for the
        historical formula, which has no notion of it), ``expected_purchases``,
        ``discounted_purchases``, ``expected_spend``, ``clv`` (Float64, never NaN).
    total
        Sum of ``clv``.
    interval
        (low, high) 90% interval of the total, or None with ``interval_note``
        saying why.
    model
        "BG/NBD", "MBG/NBD", "Pareto/NBD" or "historical".
    trusted
        Whether the method passed its checks (set by :func:`custlab.clv.choose_model`).
    months, annual_discount_rate, margin
        Horizon, yearly discount rate, and the profit margin (None: revenue).
    clv_summary
        The :func:`~custlab.clv.clv_summary` the customers were valued from
        (one row per customer; :meth:`to_frame` is the valued table).
    """

    values: pl.DataFrame = field(repr=False)
    total: float
    interval: tuple[float, float] | None
    model: str
    trusted: bool
    months: int
    annual_discount_rate: float
    margin: float | None
    freq: str
    interval_note: str = ""
    clv_summary: pl.DataFrame = field(default=None, repr=False)  # type: ignore[assignment]
    purchase_model: _PurchaseModel | None = field(default=None, repr=False)
    spend_model: GammaGamma | ObservedSpend | None = field(default=None, repr=False)

    @property
    def basis(self) -> str:
        """"revenue" or "profit"."""
        return "revenue" if self.margin is None else "profit"

    @property
    def customers(self) -> int:
        return self.values.height

    def to_frame(self) -> pl.DataFrame:
        """The per-customer table."""
        return self.values

    def describe(self, language: Language = "en") -> str:
        """One sentence: horizon, customers, total, basis, discount, interval, method."""
        basis = (t("clv.basis_revenue", language) if self.margin is None
                 else t("clv.basis_profit", language, margin=_percent(self.margin)))
        discount = (t("clv.discount_none", language) if self.annual_discount_rate == 0
                    else t("clv.discount_rate", language, rate=_percent(self.annual_discount_rate)))
        interval = (t("clv.interval", language, low=_money(self.interval[0]), high=_money(self.interval[1]))
                    if self.interval is not None else t(f"clv.interval_{self.interval_note or 'none'}", language))
        method = (t("clv.method_historical", language) if self.model == "historical"
                  else t("clv.method_model", language, model=label(self.model, language)))
        trust = "" if self.trusted else " " + t("clv.untrusted", language)
        return t("clv.describe", language, months=self.months, customers=self.customers, total=_money(self.total),
                 basis=basis, discount=discount, interval=interval, method=method) + trust

    def revalue(self, summary: Frame) -> float:
        """The total for another summary (e.g. last month's customers) with this result's model and settings."""
        frame = _summary_arrays(summary)
        return float(_values(frame, self.purchase_model, self.spend_model, self.freq, self.months,
                             self.annual_discount_rate, self.margin)["clv"].sum())

    def __repr__(self) -> str:
        interval = f", 90% {_money(self.interval[0])}-{_money(self.interval[1])}" if self.interval else ""
        trust = "" if self.trusted else ", not trusted"
        return (f"CLVResult({self.model}: {self.months}-month {self.basis} {_money(self.total)} for "
                f"{self.customers:,} customers{interval}{trust})")


def _historical(frame: pl.DataFrame, spend, freq: str, months: int, annual_discount_rate: float,
                margin: float | None) -> pl.DataFrame:
    """Each customer at her own past rate (frequency / T, T at least 13 weeks) and spend, discounted month by month."""
    monthly, month_units, factor = _clv_settings(freq, months, annual_discount_rate, margin)
    x, T = (frame[c].cast(pl.Float64).to_numpy() for c in ("frequency", "T"))
    rate = naive_rate(x, T, freq)  # repeat purchases per model unit
    per_month = rate * month_units
    spend_values = spend.expected_spend(x, frame["monetary_value"].to_numpy()) if spend is not None else np.zeros_like(x)
    spend_values = np.where(x > 0, spend_values, 0.0)
    return frame.with_columns(
        p_alive=pl.lit(None, dtype=pl.Float64),
        expected_purchases=pl.Series(per_month * months, dtype=pl.Float64),
        discounted_purchases=pl.Series(per_month * _discount_factors(months, monthly).sum(), dtype=pl.Float64),
        expected_spend=pl.Series(spend_values, dtype=pl.Float64),
    ).with_columns(clv=factor * pl.col("expected_spend") * pl.col("discounted_purchases"))


def _values(frame, purchase_model, spend_model, freq, months, annual_discount_rate, margin) -> pl.DataFrame:
    if purchase_model is None:
        return _historical(frame, spend_model, freq, months, annual_discount_rate, margin)
    return predict_clv(frame, purchase_model, spend_model, months=months, annual_discount_rate=annual_discount_rate,
                       margin=margin)


def _with_params(model, log_params: np.ndarray):
    """A shallow copy of a fitted model with other parameters (for numerical derivatives)."""
    other = copy.copy(model)
    other.params_ = dict(zip(model.params_, (float(v) for v in np.exp(log_params)), strict=True))
    return other


def _model_interval(frame: pl.DataFrame, values: pl.DataFrame, purchase_model: _PurchaseModel, spend_model,
                    months: int, annual_discount_rate: float, margin: float | None) -> tuple[float, str]:
    """Variance of the total by the delta method; returns (variance, note) with note "" when computed."""
    covariance = purchase_model._fit_result.log_covariance
    if covariance is None:
        return math.nan, "flat"
    monthly, month_units, factor = _clv_settings(purchase_model.freq, months, annual_discount_rate, margin)
    spend = values["expected_spend"].to_numpy()
    base_log = np.log(np.array(list(purchase_model.params_.values())))
    total = float(values["clv"].sum())
    gradient = np.empty(base_log.size)
    for i in range(base_log.size):
        shifted = base_log.copy()
        shifted[i] += _STEP
        terms = _purchase_terms(frame, _with_params(purchase_model, shifted), months=months, monthly_rate=monthly,
                                month_units=month_units)
        discounted = (terms["p_alive"] * terms["_discounted"]).to_numpy()
        gradient[i] = (factor * float(np.sum(discounted * spend)) - total) / _STEP
    variance = float(gradient @ covariance @ gradient)
    if isinstance(spend_model, GammaGamma):
        spend_covariance = spend_model._fit_result.log_covariance
        if spend_covariance is None:
            return math.nan, "flat"
        discounted = values["discounted_purchases"].to_numpy()
        x, m = values["frequency"].to_numpy(), values["monetary_value"].to_numpy()
        spend_log = np.log(np.array(list(spend_model.params_.values())))
        spend_gradient = np.empty(spend_log.size)
        for i in range(spend_log.size):
            shifted = spend_log.copy()
            shifted[i] += _STEP
            other = _with_params(spend_model, shifted)
            spend_gradient[i] = (factor * float(np.sum(discounted * other.expected_spend(x, m))) - total) / _STEP
        variance += float(spend_gradient @ spend_covariance @ spend_gradient)
    return variance, ""


def _historical_variance(values: pl.DataFrame, freq: str, months: int, annual_discount_rate: float,
                         margin: float | None) -> float:
    monthly, month_units, factor = _clv_settings(freq, months, annual_discount_rate, margin)
    x, T = values["frequency"].cast(pl.Float64).to_numpy(), values["T"].to_numpy()
    per_rate = factor * values["expected_spend"].to_numpy() * month_units * _discount_factors(months, monthly).sum()
    span = np.maximum(T.astype(np.float64), NAIVE_MIN_SPAN_DAYS / UNIT_DAYS[freq_unit(freq)])
    return float(np.sum(per_rate**2 * x / span**2))  # var(x / span) = x / span^2 (Poisson)


def estimate_clv(
    summary: Frame,
    purchase_model: _PurchaseModel | None,
    spend_model: GammaGamma | ObservedSpend | None,
    *,
    months: int = 12,
    annual_discount_rate: float,
    margin: float | None = None,
    freq: str | None = None,
    trusted: bool = True,
) -> CLVResult:
    """Value customers and say what the figure is, with a 90% interval for the total.

    Parameters
    ----------
    summary
        A :func:`~custlab.clv.clv_summary` (with ``monetary_value``).
    purchase_model
        A fitted counting model, or None for the historical formula (see the module docstring).
    spend_model
        A fitted :class:`~custlab.clv.GammaGamma` or :class:`~custlab.clv.ObservedSpend`.
    months, annual_discount_rate, margin
        As in :func:`~custlab.clv.predict_clv` (``margin=None``: revenue).
    freq
        Time unit of the summary; needed only for the historical formula (default: the model's).
    trusted
        Whether the method passed its checks; stated by :meth:`CLVResult.describe`.

    Returns
    -------
    CLVResult

    Examples
    --------
    >>> from custlab.clv import BetaGeo, GammaGamma
    >>> from custlab.data.datasets import load_cdnow
    >>> summary = load_cdnow("summary")
    >>> result = estimate_clv(summary, BetaGeo(freq="W").fit(summary), GammaGamma().fit(summary),
    ...                       annual_discount_rate=0.10)
    >>> print(result.describe())  # doctest: +NORMALIZE_WHITESPACE
    12-month CLV of 2,357 customers: 72,405 of revenue, discounted at 10% a year; 90% interval 66,451 to 78,893;
    model BG/NBD.
    """
    frame = _summary_arrays(summary)
    require_columns(frame, ["monetary_value"], table="summary", purpose="for CLV")
    if purchase_model is None and freq is None:
        raise CustlabError("freq= is needed for the historical formula (the time unit of the summary, e.g. 'W').")
    unit = purchase_model.freq if purchase_model is not None else freq
    if spend_model is None:
        raise CustlabError("spend_model is needed: a fitted GammaGamma or ObservedSpend.")
    values = _values(frame, purchase_model, spend_model, unit, months, annual_discount_rate, margin)
    total = float(values["clv"].sum())
    if purchase_model is None:
        variance, note = _historical_variance(values, unit, months, annual_discount_rate, margin), ""
    else:
        variance, note = _model_interval(frame, values, purchase_model, spend_model, months, annual_discount_rate,
                                         margin)
    interval = None
    if note == "" and math.isfinite(variance) and variance >= 0:
        if total > 0:
            spread = _Z90 * math.sqrt(variance) / total
            interval = (total * math.exp(-spread), total * math.exp(spread))
        else:
            interval = (0.0, 0.0)
    elif note == "":
        note = "flat"
    return CLVResult(values, total, interval, "historical" if purchase_model is None else purchase_model.name,
                     bool(trusted), months, float(annual_discount_rate), margin, unit, note, frame, purchase_model,
                     spend_model)


@dataclass(frozen=True)
class CLVChange:
    """A change of total CLV between two results, split into a refit part and a customers' part.

    ``same_customers`` is last month's summary valued with this month's model
    (parameters, and the model itself when the choice changed). Then
    ``refit = same_customers - previous`` is what re-estimating alone did,
    and ``customers_part = current - same_customers`` what the customers'
    purchases, silences and arrivals did.
    """

    previous: float
    current: float
    same_customers: float
    previous_model: str
    current_model: str

    @property
    def change(self) -> float:
        return self.current - self.previous

    @property
    def relative(self) -> float | None:
        """The change as a share of the previous total (None when that is 0)."""
        return self.change / self.previous if self.previous else None

    @property
    def refit(self) -> float:
        return self.same_customers - self.previous

    @property
    def customers_part(self) -> float:
        return self.current - self.same_customers

    @property
    def from_refit(self) -> bool:
        """True when the refit explains more of the change than the customers do."""
        return abs(self.refit) > abs(self.customers_part)

    def sentence(self, language: Language = "en") -> str:
        """The change, labelled as mostly a refit or mostly the customers', in ``language``."""
        relative = self.relative
        key = "clv.change_refit" if self.from_refit else "clv.change_customers"
        text = t(key, language, previous=_money(self.previous), current=_money(self.current),
                 relative=relative if relative is not None else 0.0, refit=_signed(self.refit),
                 customers=_signed(self.customers_part))
        if self.previous_model != self.current_model:
            text += " " + t("clv.change_model", language, before=label(self.previous_model, language),
                            after=label(self.current_model, language))
        return text

    def __repr__(self) -> str:
        label = "mostly refit" if self.from_refit else "mostly customers"
        return (f"CLVChange({_money(self.previous)} -> {_money(self.current)}: refit {_signed(self.refit)}, "
                f"customers {_signed(self.customers_part)}; {label})")


def clv_change(previous: CLVResult, current: CLVResult) -> CLVChange:
    """Split the change from ``previous`` to ``current`` total CLV into what a refit did and what customers did.

    Last month's customers (``previous.clv_summary``) are valued again with this
    month's model and settings; the two results must have the same horizon,
    discount rate, margin and time unit. When last month's result is not in
    memory (a monthly report keeps only its total), build the change directly:
    ``CLVChange(last_total, current.total, current.revalue(clv_summary(history,
    as_of=last_as_of, freq=current.freq)), last_model, current.model)``.

    Examples
    --------
    >>> from custlab.clv import BetaGeo, GammaGamma, clv_summary
    >>> from custlab.data.datasets import load_cdnow
    >>> tx = load_cdnow("sample")
    >>> def month(as_of):
    ...     s = clv_summary(tx, as_of=as_of, freq="W")
    ...     return estimate_clv(s, BetaGeo(freq="W").fit(s), GammaGamma().fit(s), annual_discount_rate=0.1)
    >>> change = clv_change(month("1997-09-01"), month("1997-10-01"))
    >>> change
    CLVChange(69,454 -> 72,403: refit +4,884, customers -1,935; mostly refit)
    """
    for name in ("months", "annual_discount_rate", "margin", "freq"):
        if getattr(previous, name) != getattr(current, name):
            raise CustlabError(
                f"The two CLV results differ in {name} ({getattr(previous, name)!r} and {getattr(current, name)!r}); "
                f"a change between them would mix that difference in. Compute both with the same settings."
            )
    same = current.revalue(previous.clv_summary)
    return CLVChange(previous.total, current.total, same, previous.model, current.model)
