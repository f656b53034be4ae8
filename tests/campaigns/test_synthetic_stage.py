"""The synthetic shop's campaign and touches stages: opt-in, existing tables untouched, truth self-consistent."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from custlab.campaigns import campaign_outcomes, campaign_table
from custlab.data import validate
from custlab.exceptions import CustlabError
from custlab.synthetic import make_shop
from custlab.synthetic.params import VISITOR_ID_START, WIN_BACK


@pytest.fixture(scope="module")
def plain():
    return make_shop(2_500, seed=4)


@pytest.fixture(scope="module")
def extended():
    return make_shop(2_500, seed=4, campaign=True, touches=True)


def test_the_stages_are_opt_in_and_leave_the_other_tables_alone(plain, extended):
    assert list(plain.tables()) == ["transactions", "customers", "events", "marketing_spend", "reviews"]
    assert list(extended.tables())[-2:] == ["campaigns", "touches"]
    for name in ("customers", "events", "marketing_spend", "reviews"):
        assert plain.tables()[name].equals(extended.tables()[name]), name
    n = plain.transactions.height
    assert extended.transactions.head(n).equals(plain.transactions)
    induced = extended.transactions.slice(n)
    assert induced.height == extended.truth["campaign"]["induced_orders"]
    assert induced["order_id"].to_list() == extended.truth["campaign"]["induced_order_ids"].tolist()
    assert induced["order_id"].min() > plain.transactions["order_id"].max()
    assert (induced["amount"] - induced["quantity"] * induced["unit_price"]).abs().max() < 1e-9
    assert "campaign" not in plain.truth and "touches" not in plain.truth


def test_tables_follow_the_data_contract(extended):
    validate(extended.campaigns, "campaigns")
    validate(extended.touches, "touches")
    c = extended.campaigns
    assert c.filter(pl.col("group") == "control")["offer"].null_count() == c.filter(pl.col("group") == "control").height
    assert (c.filter(pl.col("group") == "control")["cost"] == 0).all()


def test_planted_lift_holds_exactly_in_expectation(plain, extended):
    """Over the randomisation, E[treated rate] = p0 + mean((1 - Y0) q) = 1.28 p0, with Y0 from the shop's own orders."""
    truth = extended.truth["campaign"]
    table = campaign_table(extended.campaigns)
    natural = campaign_outcomes(table, plain.transactions, within=f"{WIN_BACK['within_days']}d")
    data = natural.join(truth["uplift"], on="customer_id")
    y0 = data["converted"].cast(pl.Float64)
    assert y0.mean() == pytest.approx(truth["baseline_rate"], abs=1e-12)
    expected = (y0 + (1 - y0) * data["planted_q"]).mean()
    assert expected == pytest.approx((1 + WIN_BACK["relative_lift"]) * truth["baseline_rate"], rel=1e-12)
    # induced orders go to treated customers who would not have bought anyway
    induced = extended.transactions.slice(plain.transactions.height).select("customer_id").unique()
    who = data.join(induced, on="customer_id")
    assert (who["group"] == "treatment").all() and (who["converted"] == 0).all()
    observed = campaign_outcomes(table, extended.transactions, within="30d")
    rates = observed.group_by("group").agg(pl.col("converted").mean())
    got = dict(rates.iter_rows())
    assert got["treatment"] == pytest.approx(truth["treatment_rate"]) and got["control"] == pytest.approx(truth["control_rate"])


def test_touches_lead_to_each_customers_first_order(extended):
    touches = extended.touches
    truth = extended.truth["touches"]
    customers = touches.filter(pl.col("customer_id") < VISITOR_ID_START)
    assert customers["customer_id"].n_unique() == extended.customers.height == truth["converting_journeys"]
    first = extended.transactions.group_by("customer_id").agg(pl.col("order_date").min().alias("first"))
    gaps = customers.join(first, on="customer_id").select((pl.col("first") - pl.col("touch_time")).alias("gap"))["gap"]
    assert gaps.min() > dt.timedelta(0) and gaps.max() <= dt.timedelta(days=28, seconds=1)
    assert touches.height == truth["touches"]
    assert set(touches["channel"].unique()) == set(truth["channels"])


def test_bad_arguments():
    with pytest.raises(CustlabError, match="campaign must be True or False"):
        make_shop(100, seed=1, campaign="yes")
    with pytest.raises(CustlabError, match="period long enough"):
        make_shop(300, seed=1, months=3, campaign=True)
