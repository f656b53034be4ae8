"""``campaign_results``: the report's campaign section as one frozen result (effects, evidence, next test).

Campaigns with a control group are measured as randomised tests
(:func:`custlab.campaigns.campaign_effect`); campaigns without one by
difference-in-differences (:func:`custlab.campaigns.did`), labelled as
weaker evidence. The recommended next test is sized with
:func:`custlab.campaigns.sample_size` on the main campaign (the one with the
most treated customers):

* lift established (interval above zero): keep a 20% holdout while rolling
  out, sized to see the measured lift again;
* inconclusive: a balanced test sized for the *break-even* lift (the lift at
  which the incremental revenue pays the cost per customer, when costs are
  known), else for the measured lift if positive, else for +10%;
* lift below zero (interval below zero): stop; no test is sized.

The plan is then compared with the customers the shop can reach (those of
its customers table, else those who bought): when it needs more, the
sentence says plainly that the lift cannot be detected at this shop's size,
and what the smallest detectable lift is with every reachable customer in the
test (the built-in shop of 5,000 customers was told "send to 30,378 customers
and hold out 30,378").
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from custlab._i18n import t
from custlab._types import Frame, Language
from custlab.campaigns.design import campaign_table
from custlab.campaigns.effects import CampaignEffect, campaign_effect
from custlab.campaigns.observational import did
from custlab.campaigns.power import TestPlan, minimum_detectable_lift, sample_size
from custlab.exceptions import CustlabError

__all__ = ["CampaignResults", "Reach", "campaign_results", "next_test", "reach"]

#: Relative lift a test is sized for when nothing better is known.
DEFAULT_LIFT = 0.10
#: Control customers per treated customer of a rollout's holdout (20% of the customers held out).
HOLDOUT_RATIO = 0.25


@dataclass(frozen=True)
class Reach:
    """A test plan against the customers the shop can reach.

    ``fits`` when the plan needs no more than ``reachable`` customers; else
    ``n_treatment`` and ``n_control`` split every reachable customer as the
    plan would, and ``smallest_lift`` is the smallest relative lift that split
    detects with the plan's power (None when it detects none).
    """

    reachable: int
    fits: bool
    n_treatment: int
    n_control: int
    smallest_lift: float | None

    def describe(self, plan: TestPlan, language: Language = "en") -> str:
        """The sentence after the plan's when the shop is too small for it ("" when it fits)."""
        if self.fits:
            return ""
        fields = {"reachable": f"{self.reachable:,}", "needed": f"{plan.n_total:,}", "lift": f"{plan.lift:+.0%}",
                  "power": f"{plan.power:.0%}"}
        if self.smallest_lift is None:
            return t("campaigns.reach.none", language, **fields)
        return t("campaigns.reach.smallest", language, **fields, n_t=f"{self.n_treatment:,}",
                 n_c=f"{self.n_control:,}", smallest=f"{self.smallest_lift:+.0%}",
                 target=_level(plan.baseline * (1 + self.smallest_lift), plan.kind))


def _level(value: float, kind: str) -> str:
    """A rate as a percentage, a mean (revenue per customer) as a number, as :meth:`TestPlan.describe` writes them.

    >>> _level(0.0601, "rate"), _level(45.3, "mean")
    ('6.01%', '45.30')
    """
    return f"{value:.2%}" if kind == "rate" else f"{value:,.2f}"


def reach(plan: TestPlan, reachable: int, *, ratio: float = 1.0) -> Reach:
    """``plan`` against ``reachable`` customers, split ``ratio`` control per treated customer as the plan is.

    >>> plan = sample_size(0.0426, lift=0.11)
    >>> r = reach(plan, 5000)
    >>> r.fits, r.n_treatment, r.n_control, round(r.smallest_lift, 2)
    (False, 2500, 2500, 0.41)
    """
    if plan.n_total <= reachable:
        return Reach(reachable, True, plan.n_treatment, plan.n_control, plan.lift)
    n_t = int(reachable // (1 + ratio))
    n_c = reachable - n_t
    smallest = None
    if n_t >= 1 and n_c >= 1:
        try:
            smallest = minimum_detectable_lift(n_t, plan.baseline, kind=plan.kind, sd=plan.sd, alpha=plan.alpha,
                                               power_=plan.power, ratio=n_c / n_t)
        except CustlabError:  # even the largest possible lift is not detected
            smallest = None
    return Reach(reachable, False, n_t, n_c, smallest)


@dataclass(frozen=True)
class CampaignResults:
    """Everything the report's campaign section shows (see the module docstring).

    Attributes
    ----------
    effects
        One :class:`~custlab.campaigns.CampaignEffect` per kind of evidence
        (randomised first, then difference-in-differences).
    plan
        The recommended next test, or None when the campaign should stop.
    recommendation
        ``"holdout"``, ``"retest"`` or ``"stop"``.
    main_campaign
        The campaign the recommendation is about.
    """

    effects: tuple[CampaignEffect, ...]
    plan: TestPlan | None
    recommendation: str
    main_campaign: Any
    reason: str = ""
    ci: float = 0.95
    notes: tuple[str, ...] = field(default=())
    #: The plan against the customers the shop can reach (None: no plan, or not compared).
    reach: Reach | None = None

    def to_frame(self) -> pl.DataFrame:
        """All lift rows (campaign, group, outcome) with an ``evidence`` column."""
        return pl.concat([e.table.with_columns(pl.lit(e.evidence).alias("evidence")) for e in self.effects],
                         how="vertical_relaxed")

    @property
    def summary(self) -> pl.DataFrame:
        """One row per campaign and group: conversion lift with its interval, incremental revenue, cost, ROI, evidence."""
        return pl.concat([e.summary.with_columns(pl.lit(e.evidence).alias("evidence")) for e in self.effects],
                         how="vertical_relaxed")

    def describe(self, language: Language = "en") -> list[str]:
        """The section's sentences: each campaign's result, the evidence, and the next test."""
        out = [s for e in self.effects for s in e.describe(language)]
        if self.plan is None:
            out.append(t("campaigns.next.stop", language, campaign=self.main_campaign))
        else:
            out.append(t(f"campaigns.next.{self.recommendation}", language, campaign=self.main_campaign,
                         reason=t(f"campaigns.reason.{self.reason}", language))
                       + ("" if language == "zh" else " ") + self.plan.describe(language))
            if self.reach is not None and not self.reach.fits:
                out.append(self.reach.describe(self.plan, language))
        return out

    def plot(self, *, outcome: str = "converted", ax=None, language: Language = "en"):
        """Lifts with intervals of every campaign (:func:`custlab.campaigns.plot_lift`)."""
        from custlab.campaigns.plots import plot_lift

        table = self.to_frame().filter(pl.col("outcome") == outcome)
        return plot_lift(table, ax=ax, language=language)

    def key_figures(self) -> dict[str, Any]:
        """Strict-JSON headline numbers per campaign and group (no NaN; missing values are null)."""
        def clean(v):
            if isinstance(v, float):
                return v if math.isfinite(v) else None
            if isinstance(v, (dt.date, dt.datetime)):
                return v.isoformat()
            return v

        rows = [{k: clean(v) for k, v in r.items()} for r in self.summary.iter_rows(named=True)]
        plan = None if self.plan is None else {"n_treatment": self.plan.n_treatment, "n_control": self.plan.n_control,
                                               "lift": self.plan.lift, "baseline": self.plan.baseline}
        if plan is not None and self.reach is not None:
            plan.update(reachable=self.reach.reachable, fits=self.reach.fits)
            if not self.reach.fits and self.reach.smallest_lift is not None:
                plan["smallest_detectable_lift"] = self.reach.smallest_lift
        return {"campaigns": rows, "recommendation": self.recommendation, "main_campaign": clean(self.main_campaign),
                "next_test": plan}

    def __repr__(self) -> str:
        return f"CampaignResults({self.summary.height} campaign group(s); next: {self.recommendation} {self.main_campaign!r})"


def next_test(row: dict, *, margin: float | None = None, aov: float | None = None, alpha: float = 0.05,
              power: float = 0.8) -> tuple[str, str, TestPlan | None]:
    """``(recommendation, reason, plan)`` for one campaign summary row (see the module docstring)."""
    baseline = row["control_rate"]
    if not 0 < baseline < 1:
        baseline = min(max(row["rate"], 1e-4), 0.5) if row["rate"] > 0 else 0.01
        reason_base = "no_base"
    else:
        reason_base = ""
    if row["ci_high"] < 0:
        return "stop", "negative", None
    if row["ci_low"] > 0 and row["rel_lift"] is not None and row["rel_lift"] > 0:
        lift = min(row["rel_lift"], 1 / baseline - 1.0001)
        return "holdout", "established", sample_size(baseline, lift=lift, alpha=alpha, power=power,
                                                     ratio=HOLDOUT_RATIO)
    cost, n = row.get("cost"), row["n"]
    if cost and cost > 0 and aov and aov > 0 and n:
        need = (cost / n) / (aov * (margin or 1.0)) / baseline  # relative lift that pays for the cost per customer
        if 0 < need < 1 / baseline - 1:
            return "retest", "break_even", sample_size(baseline, lift=need, alpha=alpha, power=power)
    if row["rel_lift"] is not None and row["rel_lift"] > 0:
        lift = min(row["rel_lift"], 1 / baseline - 1.0001)
        return "retest", reason_base or "observed", sample_size(baseline, lift=lift, alpha=alpha, power=power)
    return "retest", reason_base or "default", sample_size(baseline, lift=DEFAULT_LIFT, alpha=alpha, power=power)


def campaign_results(
    campaigns: Frame,
    transactions: Frame,
    *,
    within: str | int | dt.timedelta = "30d",
    control: str | None = None,
    margin: float | None = None,
    ci: float = 0.95,
    alpha: float = 0.05,
    power: float = 0.8,
    reachable: int | None = None,
) -> CampaignResults:
    """The campaign section's figures: every campaign's effect, the evidence behind it, the next test.

    Parameters
    ----------
    campaigns
        Canonical ``campaigns`` table; campaigns with a control group are
        randomised tests, the others are compared by difference-in-differences.
    transactions
        Canonical clean transactions.
    within, control, margin, ci
        As in :func:`custlab.campaigns.campaign_effect`.
    alpha, power
        Level and power of the recommended next test.
    reachable
        Customers the shop can send a test to (e.g. its customers table's);
        None: the customers of ``transactions``. A plan needing more is said
        to be out of reach, with the smallest lift a test of them all detects.
    """
    table = campaign_table(campaigns, control=control, require_control=False)
    with_control = table.group_by("campaign_id").agg(pl.col("is_control").any().alias("has"))
    randomised = with_control.filter(pl.col("has"))["campaign_id"].to_list()
    others = with_control.filter(~pl.col("has"))["campaign_id"].to_list()
    effects = []
    label = table.filter(pl.col("is_control"))["group"][0] if table["is_control"].any() else control
    if randomised:
        effects.append(campaign_effect(table.filter(pl.col("campaign_id").is_in(randomised)).drop("is_control"),
                                       transactions, within=within, control=label, margin=margin, ci=ci))
    if others:
        effects.append(did(table.filter(pl.col("campaign_id").is_in(others)).drop("is_control"), transactions,
                           within=within, margin=margin, ci=ci))
    if not effects:
        raise CustlabError("the campaigns table holds no campaign to measure.")
    first = effects[0]
    main = first.summary.sort("n", descending=True).row(0, named=True)
    aov_rows = first.table.filter(pl.col("outcome") == "aov", pl.col("campaign_id") == main["campaign_id"],
                                  pl.col("group") == main["group"])
    aov = float(aov_rows["control_rate"][0]) if aov_rows.height else None
    recommendation, reason, plan = next_test(main, margin=margin, aov=aov, alpha=alpha, power=power)
    reached = None
    if plan is not None:
        if reachable is None:
            reachable = int(transactions.lazy().select(pl.col("customer_id").n_unique()).collect().item())
        reached = reach(plan, reachable, ratio=HOLDOUT_RATIO if recommendation == "holdout" else 1.0)
    return CampaignResults(tuple(effects), plan, recommendation, main["campaign_id"], reason, ci, reach=reached)
