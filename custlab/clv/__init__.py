"""Customer lifetime value: BG/NBD, MBG/NBD, Pareto/NBD and Gamma-Gamma, judged on a holdout before use.

The probabilistic models of repeat buying in non-contractual settings:

- purchases: BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the
  easy way"), MBG/NBD (Batislam, Denizel & Filiztekin 2007) and Pareto/NBD
  (Schmittlein, Morrison & Colombo 1987), fitted by :class:`BetaGeo`,
  :class:`ModifiedBetaGeo` and :class:`ParetoNBD`;
- spend per purchase: Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV:
  using iso-value curves"), fitted by :class:`GammaGamma`.

Workflow: let the data choose, and get a figure that says what it is::

    choice = choose_model(transactions, as_of="2011-12-10")   # holdout check, fits judged
    print(choice.why())                                         # or choice.why("zh")
    result = choice.clv(months=12, annual_discount_rate=0.10)   # revenue unless margin=
    print(result.describe())                                    # total, basis, discount, 90% interval
    clv_change(last_month_result, result).sentence()            # refit or customers?

or by hand::

    summary = clv_summary(transactions, as_of="2011-12-10", freq="W")
    bgf = BetaGeo(freq="W").fit(summary)
    check_fit(bgf, summary)                                     # parameters at a bound? flat dropout?
    values = predict_clv(summary, bgf, GammaGamma().fit(summary), annual_discount_rate=0.10)

with :func:`calibration_holdout`, :func:`holdout_errors`, :func:`tracking`,
:func:`calibration_histogram`, :func:`decile_lift` and :func:`compare_models`
to check a model on a holdout.

``as_of`` (and ``calibration_end``, ``observation_end``) is custlab's one date
convention: the first instant that is not history (:mod:`custlab._dates`);
the models' "last day included" is the day before a midnight ``as_of``.

Layout: :mod:`~custlab.clv.summary` (sufficient statistics),
:mod:`~custlab.clv.models` (one file per model on a shared base; the
hypergeometric terms in ``models/_special.py``, stable for every parameter),
:mod:`~custlab.clv.value` (CLV, historical CLV, CLV/CAC, tiers),
:mod:`~custlab.clv.validation` (holdout checks), :mod:`~custlab.clv.checks`
(judging a fit), :mod:`~custlab.clv.choice` (choosing the method),
:mod:`~custlab.clv.estimate` (the CLV figure, its interval, month-over-month
changes), :mod:`~custlab.clv.plots`, and :mod:`~custlab.clv._lifetimes`, the
one module that imports ``lifetimes`` (BG/NBD, MBG/NBD and Gamma-Gamma fits).
"""

from __future__ import annotations

from custlab.clv.checks import FitCheck, Issue, check_fit, long_silence
from custlab.clv.choice import ModelChoice, choose_model
from custlab.clv.estimate import CLVChange, CLVResult, clv_change, estimate_clv
from custlab.clv.models import (
    BetaGeo,
    GammaGamma,
    ModifiedBetaGeo,
    ObservedSpend,
    ParetoNBD,
    PurchaseModel,
    spend_frequency_correlation,
)
from custlab.clv.plots import (
    plot_calibration_histogram,
    plot_clv_by_segment,
    plot_clv_distribution,
    plot_frequency_recency_matrix,
    plot_probability_alive_matrix,
    plot_tracking,
)
from custlab.clv.summary import MONTH_DAYS, UNIT_DAYS, CLVWarning, calibration_holdout, clv_summary
from custlab.clv.validation import (
    calibration_histogram,
    compare_models,
    decile_lift,
    frequency_recency_matrix,
    holdout_errors,
    holdout_predictions,
    probability_alive_matrix,
    tracking,
)
from custlab.clv.value import clv_cac, clv_tiers, historical_clv, predict_clv

__all__ = [
    "BetaGeo", "CLVChange", "CLVResult", "CLVWarning", "FitCheck", "GammaGamma", "Issue", "MONTH_DAYS",
    "ModelChoice", "ModifiedBetaGeo", "ObservedSpend", "ParetoNBD", "PurchaseModel", "UNIT_DAYS",
    "calibration_histogram", "calibration_holdout", "check_fit", "choose_model", "clv_cac", "clv_change",
    "clv_summary", "clv_tiers", "compare_models", "decile_lift", "estimate_clv", "long_silence", "frequency_recency_matrix", "historical_clv", "holdout_errors",
    "holdout_predictions", "plot_calibration_histogram", "plot_clv_by_segment", "plot_clv_distribution",
    "plot_frequency_recency_matrix", "plot_probability_alive_matrix", "plot_tracking", "predict_clv",
    "probability_alive_matrix", "spend_frequency_correlation", "tracking",
]
