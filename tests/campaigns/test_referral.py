"""Referral funnel on a hand-made table whose counts are known, and the lift chart."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from custlab.campaigns import lift, plot_lift, referral_funnel
from custlab.exceptions import CustlabError

D = dt.datetime


@pytest.fixture
def referrals() -> pl.DataFrame:
    # referrer 1 shares 3 times (s1, s2, s3): s1 gets 2 clicks and 1 order (friend 10, new),
    # s2 gets 1 click, no order; s3 nothing. Referrer 2 shares once (s4): 1 click, 1 order by friend 11,
    # who had bought before (not new).
    rows = [
        (1, "share", D(2024, 1, 1), None, "s1"), (1, "click", D(2024, 1, 2), None, "s1"),
        (1, "click", D(2024, 1, 2, 5), None, "s1"), (1, "order", D(2024, 1, 3), 10, "s1"),
        (1, "share", D(2024, 1, 5), None, "s2"), (1, "click", D(2024, 1, 6), None, "s2"),
        (1, "share", D(2024, 1, 7), None, "s3"),
        (2, "share", D(2024, 1, 1), None, "s4"), (2, "click", D(2024, 1, 1, 3), None, "s4"),
        (2, "order", D(2024, 1, 4), 11, "s4"),
    ]
    return pl.DataFrame(rows, schema=["referrer_id", "event", "event_time", "customer_id", "share_id"], orient="row")


@pytest.fixture
def orders() -> pl.DataFrame:
    return pl.DataFrame({
        "customer_id": [10, 10, 11, 11], "order_id": [1, 2, 3, 4],
        "order_date": [D(2024, 1, 3), D(2024, 2, 1), D(2023, 6, 1), D(2024, 1, 4)],
        "amount": [100.0, 50.0, 80.0, 60.0],
    })


def test_funnel_counts_rates_and_new_customers(referrals, orders):
    funnel = referral_funnel(referrals, orders, clv=pl.DataFrame({"customer_id": [10, 11], "clv": [300.0, 90.0]}))
    assert funnel.linked
    assert funnel.summary["count"].to_list() == [4, 4, 2]
    rates = funnel.summary["rate"].to_list()
    assert rates[0] is None and rates[1] == pytest.approx(3 / 4) and rates[2] == pytest.approx(2 / 3)
    assert funnel.summary["ci_low"][1] < 0.75 < funnel.summary["ci_high"][1]
    table = funnel.to_frame()
    one = table.filter(pl.col("referrer_id") == 1).row(0, named=True)
    two = table.filter(pl.col("referrer_id") == 2).row(0, named=True)
    assert (one["shares"], one["clicks"], one["orders"], one["new_customers"]) == (3, 3, 1, 1)
    assert one["new_customer_revenue"] == 150.0 and one["new_customer_clv"] == 300.0
    assert two["new_customers"] == 0  # friend 11 had bought in 2023
    assert funnel.new_customers == 1
    text = " ".join(funnel.describe()) + " ".join(funnel.describe("zh"))
    assert "75.0%" in text and "300" in text and "None" not in text
    fig = funnel.plot(language="zh")
    assert [tick.get_text() for tick in fig.axes[0].get_xticklabels()] == ["分享", "点击", "下单"]


def test_unlinked_events_give_count_ratios(referrals, orders):
    funnel = referral_funnel(referrals.drop("share_id"), orders)
    assert not funnel.linked
    assert funnel.summary["rate"].to_list()[1:] == pytest.approx([4 / 4, 2 / 4])
    assert funnel.summary["ci_low"].null_count() == 3


def test_missing_steps_are_named(referrals, orders):
    with pytest.raises(CustlabError, match="steps="):
        referral_funnel(referrals.filter(pl.col("event") != "order"), orders)
    renamed = referrals.with_columns(pl.col("event").replace({"share": "invite"}))
    assert referral_funnel(renamed, orders, steps=("invite", "click", "order")).summary["count"][0] == 4


def test_lift_chart_draws_one_interval_per_row_in_both_languages():
    data = pl.DataFrame({"arm": ["a"] * 100 + ["b"] * 100 + ["c"] * 100,
                         "bought": [1] * 30 + [0] * 70 + [1] * 10 + [0] * 90 + [1] * 20 + [0] * 80})
    table = lift(data, group="arm", control="c", outcomes="bought")
    fig = plot_lift(table, language="zh")
    ax = fig.axes[0]
    assert len(ax.containers) == 2 and ax.get_xlabel() == "相对对照组的提升（%）"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a · bought", "b · bought"]  # user values stay as written
