"""Survival-style churn: time to churn, retention curves, risk by customer, the early-warning list.

In non-contractual e-commerce nobody announces that they leave; churn is
inferred from silence. Every function here uses one definition, with the
inactivity window ``inactivity_days`` (W, default 90) as a parameter:

* Days are calendar days. ``as_of`` is the first instant that is not
  history (the library-wide convention of :mod:`custlab._dates`): orders
  dated before it count, later ones are left out (and counted in a
  warning). By default it is the midnight after the last order's day. Its
  calendar date is "the analysis day" ``D``.
* A customer has **churned** at ``as_of`` when their last purchase day is W
  or more days before ``D``. The churn is dated ``last purchase day + W``,
  the day the silence reached W days.
* **Duration** (``duration_days``) runs from the first purchase day to the
  churn date for churned customers (``lifetime_days + W``) and to ``D``
  for the others, who are **censored**: still inside the window, their
  churn (if it comes) is later than ``D``. So a customer who never buys
  again is churned W days after their last purchase, and the survival
  curves below are curves of "still not W days silent".

Modules: :mod:`~custlab.churn.frames` (:func:`survival_frame`,
:func:`churn_threshold_table`), :mod:`~custlab.churn.diagnostics`
(:func:`churn_diagnostics`), :mod:`~custlab.churn.kaplan_meier`,
:mod:`~custlab.churn.cox` (:class:`CoxChurnModel` on the base shared with
:class:`custlab.repurchase.RepurchaseModel`), :mod:`~custlab.churn.warning`
(:func:`early_warning`), :mod:`~custlab.churn.compare`
(:func:`compare_with_bgnbd`) and :mod:`~custlab.churn.plots`.

Why the early-warning list uses a second model: whether an active customer
churns in the next N days depends first on how long they have already been
silent, which a model of time since the first purchase cannot see. The
:class:`~custlab.repurchase.RepurchaseModel` is a Cox model of the time from
each purchase to the next; the probability that the current silence of a
customer reaches W days is ``S(W) / S(s)`` of that model, with ``s`` the
days already silent. :func:`early_warning` ranks active customers by that
risk times their value, with the reason in words.

Workflow::

    sf = survival_frame(transactions, inactivity_days=90, customers=customers)
    churn_threshold_table(transactions)          # is 90 days the right window?
    print(churn_diagnostics(transactions))       # 90-day silences, early churn, day to reach out
    km = kaplan_meier(sf, by="acquisition_channel")
    plot_survival(km)
    cox = CoxChurnModel().fit(sf)                # cox.hazard_ratios_, cox.concordance_test_, cox.ph_summary_
    warning = early_warning(transactions, within="30d", value=clv_table)

lifelines (and scipy, matplotlib) are imported on first use of a model or a
plot, so ``import custlab.churn`` itself is quick.
"""

from custlab.churn._common import ChurnDataWarning
from custlab.churn.compare import BgnbdComparison, compare_with_bgnbd
from custlab.churn.cox import LOG1P_COVARIATES, LOG_COVARIATES, SURVIVAL_COVARIATES, CoxChurnModel, CoxFitError
from custlab.churn.diagnostics import ChurnDiagnostics, churn_diagnostics
from custlab.churn.frames import AGE_BINS, churn_threshold_table, survival_frame
from custlab.churn.kaplan_meier import KaplanMeier, kaplan_meier
from custlab.churn.plots import at_risk_counts, plot_hazard_ratios, plot_risk_distribution, plot_survival
from custlab.churn.warning import EarlyWarning, early_warning

__all__ = [
    "AGE_BINS",
    "LOG1P_COVARIATES",
    "LOG_COVARIATES",
    "SURVIVAL_COVARIATES",
    "BgnbdComparison",
    "ChurnDataWarning",
    "ChurnDiagnostics",
    "CoxChurnModel",
    "CoxFitError",
    "EarlyWarning",
    "KaplanMeier",
    "at_risk_counts",
    "churn_diagnostics",
    "churn_threshold_table",
    "compare_with_bgnbd",
    "early_warning",
    "kaplan_meier",
    "plot_hazard_ratios",
    "plot_risk_distribution",
    "plot_survival",
    "survival_frame",
]
