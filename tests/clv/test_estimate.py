"""estimate_clv and clv_change: the interval against a parametric bootstrap, the split of a change, the wording."""

from __future__ import annotations

import copy

import numpy as np
import polars as pl
import pytest

from custlab import clv
from custlab.exceptions import CustlabError

from .helpers import CAL_END


@pytest.fixture(scope="module")
def result(published, bgf, ggf):
    return clv.estimate_clv(published, bgf, ggf, annual_discount_rate=0.10)


def test_values_equal_predict_clv(result, published, bgf, ggf):
    direct = clv.predict_clv(published, bgf, ggf, annual_discount_rate=0.10)
    assert result.values.equals(direct)
    assert result.total == pytest.approx(float(direct["clv"].sum()), rel=1e-12)
    assert result.to_frame() is result.values and result.customers == 2357


def test_interval_against_a_parametric_bootstrap(result, published, bgf, ggf):
    # Draw the log parameters of both fits from their normal approximations (seed 3, 150 draws) and value the
    # customers again: the delta method's standard deviation of log(total) is within 20% of the draws'
    # (sampling error of a standard deviation from 150 draws: about 6%).
    rng = np.random.default_rng(3)
    totals = []
    for _ in range(150):
        purchase, spend = copy.copy(bgf), copy.copy(ggf)
        for model in (purchase, spend):
            mean = np.log(list(model.params_.values()))
            draw = rng.multivariate_normal(mean, model._fit_result.log_covariance)
            model.params_ = dict(zip(model.params_, np.exp(draw), strict=True))
        totals.append(float(clv.predict_clv(published, purchase, spend, annual_discount_rate=0.10)["clv"].sum()))
    low, high = result.interval
    delta_sd = np.log(high / result.total) / 1.6448536269514722
    assert delta_sd == pytest.approx(np.std(np.log(totals)), rel=0.20)
    assert np.log(low) == pytest.approx(np.log(result.total) - 1.6448536269514722 * delta_sd)


def test_historical_interval_against_simulated_rates(published, ggf):
    # The historical formula's interval covers the Poisson uncertainty of each rate frequency / T: simulate
    # frequencies from the rates and recompute the total (seed 5, 400 draws); standard deviations within 10%.
    result = clv.estimate_clv(published, None, ggf, annual_discount_rate=0.10, freq="W")
    assert result.model == "historical" and result.values["p_alive"].null_count() == 2357
    rng = np.random.default_rng(5)
    x = published["frequency"].to_numpy().astype(float)
    per_purchase = result.values["clv"].to_numpy() / np.where(x > 0, x, 1.0)  # value of one repeat purchase
    totals = [float(np.sum(per_purchase * rng.poisson(x))) for _ in range(400)]
    sd = (result.interval[1] - result.interval[0]) / (2 * 1.6448536269514722 * result.total) * result.total
    assert np.std(totals) == pytest.approx(sd, rel=0.10)


def test_describe_in_english_and_chinese(result):
    assert result.describe() == ("12-month CLV of 2,357 customers: 72,405 of revenue, discounted at 10% a year; "
                                 "90% interval 66,451 to 78,893; model BG/NBD.")
    assert result.describe("zh") == ("2,357 位客户未来 12 个月的客户终身价值：72,405（收入口径，按年折现率 10% 折现）；"
                                     "90% 区间 66,451 至 78,893；模型 BG/NBD。")
    assert repr(result) == "CLVResult(BG/NBD: 12-month revenue 72,405 for 2,357 customers, 90% 66,451-78,893)"


def test_clv_change_splits_refit_from_customers(sample):
    def month(as_of, model=clv.BetaGeo):
        summary = clv.clv_summary(sample, as_of=as_of, freq="W")
        return clv.estimate_clv(summary, model(freq="W").fit(summary), clv.GammaGamma().fit(summary),
                                annual_discount_rate=0.1)

    september, october = month("1997-09-01"), month(CAL_END)
    change = clv.clv_change(september, october)
    assert change.refit + change.customers_part == pytest.approx(change.change)
    assert change.same_customers == pytest.approx(october.revalue(september.clv_summary))
    assert (round(change.previous), round(change.current), round(change.refit)) == (69454, 72403, 4884)
    assert change.from_refit
    assert change.sentence() == (
        "Total CLV went from 69,454 to 72,403 (+4.2%); most of this comes from refitting the model: valuing last "
        "month's customers with this month's model changes the total by +4,884, the customers' own purchases, "
        "silences and arrivals by -1,935.")
    assert change.sentence("zh").startswith("客户终身价值总额由 69,454 变为 72,403（+4.2%）；变化主要来自模型重新拟合")
    # The same customers valued by another model: all of the change is the refit, and it is labelled so.
    switched = clv.clv_change(october, month(CAL_END, clv.ParetoNBD))
    assert switched.customers_part == pytest.approx(0.0, abs=1e-6) and switched.from_refit
    assert switched.sentence().endswith("The method changed from BG/NBD to Pareto/NBD.")
    unchanged = clv.clv_change(october, october)
    assert unchanged.change == 0 and unchanged.refit == pytest.approx(0.0, abs=1e-9)
    other = clv.estimate_clv(october.clv_summary, october.purchase_model, october.spend_model, months=6,
                             annual_discount_rate=0.1)
    with pytest.raises(CustlabError, match="The two CLV results differ in months \\(12 and 6\\)"):
        clv.clv_change(october, other)


def test_gamma_gamma_with_infinite_mean_refuses_and_observed_spend_stands_in(published, bgf):
    broken = clv.GammaGamma()
    broken.params_ = {"p": 2.0, "q": 0.8, "v": 10.0}
    with pytest.raises(CustlabError, match="q = 0.8 <= 1, so its population mean spend v p / \\(q - 1\\) is infinite"):
        broken.expected_spend([0, 2], [0.0, 5.0])
    assert not clv.check_fit(broken, published).trusted
    observed = clv.ObservedSpend().fit(published)
    repeat = published.filter(pl.col("frequency") > 0)
    assert observed.params_["mean_spend"] == pytest.approx(float(repeat["monetary_value"].mean()))
    values = clv.estimate_clv(published, bgf, observed, annual_discount_rate=0.1)
    assert values.values["expected_spend"].is_finite().all()
    with pytest.raises(CustlabError, match="This ObservedSpend is not fitted yet"):
        clv.ObservedSpend().expected_spend([1], [2.0])
