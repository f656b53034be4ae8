"""Did it work? Campaign measurement: A/B lifts, campaign effects, weaker designs, power, CUPED, uplift, referrals.

Workflow::

    cl.campaigns.lift(customers, group="arm", control="control", outcomes=["bought", "spend"])
    effect = cl.campaigns.campaign_effect(campaigns, transactions, within="30d")   # randomised
    effect.summary; effect.describe("zh")
    cl.campaigns.did(campaigns_without_control, transactions)                   # weaker evidence
    cl.campaigns.matched(campaigns_without_control, transactions, customers=customers)
    cl.campaigns.sample_size(0.04, lift=0.28)                                   # plan the next test
    cl.campaigns.cuped(frame, outcome="spend", covariate="pre_spend", group="group", control="control")
    cl.campaigns.uplift_model(frame, features=[...], group="group", control="control", outcome="bought")
    cl.campaigns.referral_funnel(referrals, transactions)
    cl.campaigns.campaign_results(campaigns, transactions)                       # the report's section

Every randomised comparison goes through :func:`lift` (intervals and tests
in :mod:`custlab.campaigns.stats`). Layout: :mod:`~custlab.campaigns.lift`,
:mod:`~custlab.campaigns.stats`, :mod:`~custlab.campaigns.design` (the
campaigns table and its checks), :mod:`~custlab.campaigns.effects`,
:mod:`~custlab.campaigns.observational` (DiD, matching),
:mod:`~custlab.campaigns.power`, :mod:`~custlab.campaigns.cuped`,
:mod:`~custlab.campaigns.uplift`, :mod:`~custlab.campaigns.referral`,
:mod:`~custlab.campaigns.report` and :mod:`~custlab.campaigns.plots`.
"""

from custlab.campaigns.cuped import CupedResult, cuped, pre_period_spend
from custlab.campaigns.design import CONTROL_LABELS, ContaminatedControlError, campaign_outcomes, campaign_table
from custlab.campaigns.effects import OUTCOMES, CampaignEffect, campaign_effect
from custlab.campaigns.lift import LIFT_COLUMNS, CampaignWarning, NoControlGroupError, lift, outcome_kind
from custlab.campaigns.observational import balance_table, did, matched, rfm_at
from custlab.campaigns.plots import plot_lift, plot_qini, plot_referral_funnel
from custlab.campaigns.power import TestPlan, minimum_detectable_lift, power, sample_size
from custlab.campaigns.referral import ReferralFunnel, referral_funnel
from custlab.campaigns.report import CampaignResults, campaign_results, next_test
from custlab.campaigns.stats import Comparison, compare_means, compare_rates, newcombe_interval, wilson_interval
from custlab.campaigns.uplift import (
    ClassTransformationUplift, TwoModelUplift, UpliftEvaluation, UpliftResult, compare_targeting, evaluate_uplift,
    qini_curve, uplift_curve, uplift_model,
)

__all__ = [
    "CONTROL_LABELS", "LIFT_COLUMNS", "OUTCOMES", "CampaignEffect", "CampaignResults", "CampaignWarning",
    "ClassTransformationUplift", "Comparison", "ContaminatedControlError", "CupedResult", "NoControlGroupError",
    "ReferralFunnel", "TestPlan", "TwoModelUplift", "UpliftEvaluation", "UpliftResult", "balance_table",
    "campaign_effect", "campaign_outcomes", "campaign_results", "campaign_table", "compare_means", "compare_rates",
    "compare_targeting", "cuped", "did", "evaluate_uplift", "lift", "matched", "minimum_detectable_lift",
    "newcombe_interval", "next_test", "outcome_kind", "plot_lift", "plot_qini", "plot_referral_funnel", "power",
    "pre_period_spend", "qini_curve", "referral_funnel", "rfm_at", "sample_size", "uplift_curve", "uplift_model",
    "wilson_interval",
]
