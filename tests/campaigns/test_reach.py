"""The next test against the customers the shop can reach: a plan it cannot run is said to be out of reach."""

from __future__ import annotations

import json

import pytest

from custlab.campaigns import campaign_results, power, sample_size
from custlab.campaigns.report import reach


def test_a_plan_larger_than_the_shop_gives_the_smallest_lift_all_its_customers_detect():
    plan = sample_size(0.0426, lift=0.11)  # the built-in shop's advice: 30,378 + 30,378 customers
    got = reach(plan, 5000)
    assert not got.fits and (got.n_treatment, got.n_control) == (2500, 2500)
    assert power(2500, 0.0426, lift=got.smallest_lift) == pytest.approx(plan.power, abs=1e-6)
    assert got.smallest_lift > plan.lift
    assert reach(plan, plan.n_total).fits
    holdout = sample_size(0.0426, lift=0.5, ratio=0.25)
    small = reach(holdout, 1000, ratio=0.25)
    assert (small.n_treatment, small.n_control) == (800, 200)
    assert power(800, 0.0426, lift=small.smallest_lift, ratio=200 / 800) == pytest.approx(holdout.power, abs=1e-6)


def test_the_next_step_says_the_lift_cannot_be_detected_at_this_shops_size(small_campaign_shop):
    results = campaign_results(small_campaign_shop.campaigns, small_campaign_shop.transactions, reachable=500)
    assert results.plan is not None and results.plan.n_total > 500
    en, zh = results.describe("en"), results.describe("zh")
    assert len(en) == len(zh)
    assert en[-1].startswith(f"This shop has 500 customers to test on, fewer than the {results.plan.n_total:,} this "
                             f"needs, so a lift of {results.plan.lift:+.0%} cannot be detected at its size.")
    assert f"the smallest lift it could detect with 80% power is {results.reach.smallest_lift:+.0%}" in en[-1]
    assert zh[-1].startswith("本店可用于测试的顾客只有 500 位") and "检测不出" in zh[-1]
    figures = results.key_figures()
    json.dumps(figures, allow_nan=False)
    assert figures["next_test"]["reachable"] == 500 and figures["next_test"]["fits"] is False
    assert figures["next_test"]["smallest_detectable_lift"] == results.reach.smallest_lift
    # a shop large enough for the plan is told nothing more
    big = campaign_results(small_campaign_shop.campaigns, small_campaign_shop.transactions,
                           reachable=results.plan.n_total)
    assert big.reach.fits and len(big.describe("en")) == len(en) - 1


def test_a_mean_plans_smallest_target_reads_as_money_not_a_percentage():
    from custlab.campaigns.power import sample_size
    from custlab.campaigns.report import reach

    plan = sample_size(40.0, lift=0.02, kind="mean", sd=60.0)
    r = reach(plan, 2000)
    said = r.describe(plan)
    assert not r.fits and r.smallest_lift is not None
    assert f"{40.0 * (1 + r.smallest_lift):,.2f}" in said and "00%" not in said.split("(")[-1]
