"""Every planted figure of the synthetic shop measured back from the generated tables (60k customers).

Tolerances are stated per test; they are several standard errors wide at the
shop size used (60k customers, which take about half a second to generate).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from custlab.synthetic import Shop

from .helpers import N_BIG, baskets, median_gap_days, revenue_by_customer, rfm_summary


# ----------------------------------------------------------------------------
# planted figures (60k customers)
# ----------------------------------------------------------------------------
def test_demographics(big: Shop) -> None:
    cu = big.customers
    n = cu.height
    age = cu["age"]
    # exact counts by construction: tolerance is rounding only
    assert abs(age.is_between(25, 39).mean() - 0.70) < 1e-3
    assert abs(age.is_between(40, 49).mean() - 0.20) < 1e-3
    assert abs(age.is_between(28, 35).mean() - 0.40) < 1e-3
    assert age.min() >= 18 and age.max() <= 59
    occ = dict(cu["occupation"].value_counts().iter_rows())
    for name, share in big.truth["customers"]["occupations"].items():
        assert abs(occ[name] / n - share) < 1e-3, name
    assert cu.filter(pl.col("occupation") == "student")["age"].mean() < age.mean() - 5
    tiers = dict(cu["city_tier"].value_counts().iter_rows())
    for name, share in big.truth["customers"]["city_tiers"].items():
        assert abs(tiers[name] / n - share) < 1e-3, name
    # revenue shares are solved in each shop: within 0.5 points
    rev = revenue_by_customer(big)
    total = rev["revenue"].sum()
    core = rev.filter(pl.col("age").is_between(28, 35))["revenue"].sum() / total
    assert abs(core - 0.45) < 0.005
    top = rev.filter(pl.col("city_tier").is_in(["tier1", "new_tier1"]))["revenue"].sum() / total
    assert abs(top - 0.65) < 0.005
    assert abs((cu["gender"] == "female").mean() - 0.57) < 0.01


def test_value_tiers(big: Shop) -> None:
    rev = revenue_by_customer(big).sort("revenue", descending=True)
    k = round(0.15 * rev.height)
    top15 = rev["revenue"].head(k).sum() / rev["revenue"].sum()
    # about half of the revenue (typical 15/50 figure); the process gives ~0.54
    target = big.truth["targets"]["top15_revenue_share"]
    assert abs(top15 - target["value"]) < 0.03
    assert abs(top15 - target["report"]) < 0.06
    hv = big.truth["high_value"]
    assert abs(hv["top15_revenue_share"] - top15) < 1e-9
    assert len(hv["customer_ids"]) == k
    share = rev.filter(pl.col("customer_id").is_in(hv["customer_ids"].tolist()))["revenue"].sum() / rev[
        "revenue"
    ].sum()
    assert abs(share - hv["revenue_share"]) < 1e-9 and share > 0.40
    overlap = np.intersect1d(hv["customer_ids"], rev["customer_id"].head(k).to_numpy()).size / k
    assert overlap > 0.5


@pytest.mark.parametrize(
    ("column", "value", "tol"),
    [
        ("category", "cosmetics", 0.08),
        ("category", "food", 0.08),
        ("category", "personal_care", 0.08),
        ("product_name", "baby_formula", 0.10),
        ("category", "electronics", 0.15),
        ("category", "home", 0.15),
    ],
)
def test_repurchase_cycles(big: Shop, column: str, value: str, tol: float) -> None:
    planted = big.truth["repurchase_cycle_days"][value]
    median, n_gaps = median_gap_days(big, column, value)
    assert n_gaps >= 80
    assert abs(median - planted) <= tol * planted, (median, planted)
    if value in ("cosmetics", "food"):
        assert 15 <= planted <= 30
    if value in ("electronics", "home"):
        assert 180 <= planted <= 365


def test_cosmetics_buyers_buy_personal_care(big: Shop) -> None:
    tx = big.transactions
    cos = tx.filter(pl.col("category") == "cosmetics")["customer_id"].unique()
    pc = tx.filter(pl.col("category") == "personal_care")["customer_id"].unique()
    share = cos.is_in(pc.implode()).mean()
    assert abs(share - big.truth["cross_sell"]["cosmetics_to_personal_care"]) < 1e-3


def test_sunscreen_umbrella_rule(big: Shop) -> None:
    b = baskets(big)
    sun = b.filter(pl.col("product_name").list.contains("sunscreen"))
    conf = sun["product_name"].list.contains("umbrella").mean()
    assert abs(conf - 0.65) < 1e-3
    assert big.truth["associations"]["sunscreen=>umbrella"]["confidence"] == 0.65
    support_umbrella = b["product_name"].list.contains("umbrella").mean()
    assert conf / support_umbrella > 10


def test_formula_then_stroller(big: Shop) -> None:
    tx = big.transactions
    formula = tx.filter(pl.col("product_name") == "baby_formula").group_by("customer_id").agg(
        pl.col("order_date").min().alias("f"), pl.col("order_id").sort_by("order_date").first().alias("fo")
    )
    strollers = tx.filter(pl.col("product_name") == "stroller").select(
        "customer_id", pl.col("order_date").alias("s"), pl.col("order_id").alias("so")
    )
    joined = formula.join(strollers, on="customer_id", how="left").with_columns(
        (pl.col("s").dt.date() - pl.col("f").dt.date()).dt.total_days().alias("days")
    )
    hit = joined.group_by("customer_id").agg(
        (pl.col("days").is_between(1, 90) & (pl.col("so") != pl.col("fo"))).any().alias("hit")
    )
    assert hit.height > 1000
    assert abs(hit["hit"].fill_null(False).mean() - 0.5) < 1e-3
    # no stroller without formula, none outside the window
    assert strollers["customer_id"].is_in(formula["customer_id"].implode()).all()
    assert joined["days"].drop_nulls().is_between(1, 90).all()


def test_gifts_with_home_decor_rise_before_festivals(big: Shop) -> None:
    fest = big.truth["festivals"]
    names = {f["name"] for f in fest}
    assert names == {"chinese_new_year", "double_11"}
    assert all(f["window_end"] - f["window_start"] == dt.timedelta(days=28) for f in fest)
    in_window = pl.lit(False)
    for f in fest:
        in_window = in_window | pl.col("order_date").is_between(f["window_start"], f["window_end"], closed="left")
    gifts = baskets(big).filter(pl.col("category").list.contains("gifts")).with_columns(
        in_window.alias("festival"), pl.col("category").list.contains("home_decor").alias("decor")
    )
    conf = dict(gifts.group_by("festival").agg(pl.col("decor").mean()).iter_rows())
    assert abs(conf[False] - 0.30) < 2e-3 and abs(conf[True] - 0.36) < 2e-3
    assert abs(conf[True] / conf[False] - 1.2) < 0.02
    # gift baskets are also more frequent in the windows
    b = baskets(big).with_columns(in_window.alias("festival"), pl.col("category").list.contains("gifts").alias("g"))
    rate = dict(b.group_by("festival").agg(pl.col("g").mean()).iter_rows())
    assert abs(rate[False] - 0.04) < 0.005 and abs(rate[True] - 0.10) < 0.01


def test_seasonality(big: Shop) -> None:
    tx = big.transactions.with_columns(pl.col("order_date").dt.month().alias("m"))
    sun = tx.filter(pl.col("product_name") == "sunscreen")
    jacket = tx.filter(pl.col("product_name") == "down_jacket")
    assert sun.filter(pl.col("m").is_in([6, 7, 8])).height / sun.height > 0.6
    assert jacket.filter(pl.col("m").is_in([11, 12, 1, 2])).height / jacket.height > 0.6
    assert jacket.filter(pl.col("m").is_in([5, 6, 7, 8])).height / jacket.height < 0.03


def test_order_channels(big: Shop) -> None:
    orders = big.transactions.group_by("order_id").agg(pl.col("channel").first())
    shares = dict(orders["channel"].value_counts(normalize=True).iter_rows())
    # ~175k orders: 3 standard errors ~ 0.003, plus customer clustering
    assert abs(shares["app"] - 0.80) < 0.01
    assert abs(shares["mini_program"] - 0.12) < 0.01
    assert abs(shares["web"] - 0.08) < 0.01


def test_funnel_rates(big: Shop) -> None:
    counts = dict(big.events["event"].value_counts().iter_rows())
    funnel = big.truth["funnel"]
    assert abs(big.events.height / N_BIG - 4.0) < 0.1
    # ~178k sessions, ~53k clicks, ~8k carts: tolerances ~4 standard errors
    assert abs(counts["click"] / counts["exposure"] - funnel["exposure_to_click"]) < 0.005
    assert abs(counts["cart"] / counts["click"] - funnel["click_to_cart"]) < 0.007
    assert abs(counts["pay"] / counts["cart"] - funnel["cart_to_pay"]) < 0.015
    assert big.events["session_id"].n_unique() == counts["exposure"]


def test_roi_by_acquisition_channel(big: Shop) -> None:
    rev = revenue_by_customer(big).group_by("acquisition_channel").agg(pl.col("revenue").sum())
    spend = big.marketing_spend.group_by("channel").agg(pl.col("spend").sum())
    roi = dict(
        rev.join(spend, left_on="acquisition_channel", right_on="channel")
        .select("acquisition_channel", pl.col("revenue") / pl.col("spend"))
        .iter_rows()
    )
    assert set(roi) == {"live_stream", "community", "sms", "search"}
    for ch, planted in big.truth["roi"].items():
        assert abs(roi[ch] / planted - 1) < 1e-4, ch
    assert big.truth["roi"]["live_stream"] == 8.0 and big.truth["roi"]["sms"] == 1.2
    ms = big.marketing_spend
    assert (ms["month"].dt.day() == 1).all() and (ms["spend"] > 0).all()
    assert ms.height == 24 * 4


def test_bgnbd_parameters_are_recovered(big: Shop) -> None:
    from lifetimes import BetaGeoFitter

    s = rfm_summary(big)
    fit = BetaGeoFitter().fit(s["frequency"].to_numpy(), s["recency"].to_numpy(), s["T"].to_numpy())
    planted = big.truth["bgnbd"]
    assert planted["time_unit"] == "weeks"
    # seeds 0-5 at 60k: r within 2%, alpha 1-3% high, a and b within 6%
    for name, tol in (("r", 0.08), ("alpha", 0.08), ("a", 0.15), ("b", 0.15)):
        got = fit.params_[name]
        assert abs(got / planted[name] - 1) < tol, (name, got, planted[name])


def test_gamma_gamma_parameters_are_recovered(big: Shop) -> None:
    from lifetimes import GammaGammaFitter

    orders = (
        big.transactions.group_by("customer_id", "order_id")
        .agg(pl.col("amount").sum(), pl.col("order_date").first())
        .sort("customer_id", "order_date")
        .with_columns(pl.int_range(pl.len()).over("customer_id").alias("k"))
    )
    repeat = orders.filter(pl.col("k") > 0).group_by("customer_id").agg(
        pl.len().alias("frequency"), pl.col("amount").mean().alias("monetary")
    )
    fit = GammaGammaFitter().fit(repeat["frequency"].to_numpy(), repeat["monetary"].to_numpy())
    planted = big.truth["gamma_gamma"]
    for name, key in (("p", "p"), ("q", "q"), ("v", "gamma")):
        assert abs(fit.params_[name] / planted[key] - 1) < 0.12, (name, fit.params_[name])
    mean_order = orders["amount"].mean()
    assert abs(mean_order / planted["mean_order_value"] - 1) < 0.05


def test_churn_figures(big: Shop) -> None:
    end = big.truth["period"]["end"].date()
    days = (
        big.transactions.select("customer_id", pl.col("order_date").dt.date().alias("d"))
        .unique()
        .sort("customer_id", "d")
        .with_columns(pl.col("d").shift(-1).over("customer_id").alias("next"))
        .with_columns(
            (pl.coalesce("next", pl.lit(end)) - pl.col("d")).dt.total_days().alias("gap"),
            (pl.lit(end) - pl.col("d")).dt.total_days().alias("to_end"),
        )
    )
    silences = (
        days.filter((pl.col("gap") >= 90) & (pl.col("to_end") >= 180))
        .group_by("customer_id")
        .agg(pl.col("next").sort_by("d").first())
    )
    never = silences["next"].is_null().mean()
    targets = big.truth["targets"]
    # ~20k silences at 60k customers: standard error ~0.003
    assert targets["silent90_never_return"]["report"] == 0.70
    assert abs(never - targets["silent90_never_return"]["value"]) < 0.02
    assert abs(never - 0.70) < 0.03
    s = rfm_summary(big).filter(pl.col("T") * 7 >= 180)
    churned = s.filter((pl.col("T") - pl.col("recency")) * 7 >= 90)
    within30 = (churned["recency"] * 7 <= 30).mean()
    assert within30 > 0.5
    assert abs(within30 - targets["churned_within_30d_of_first"]["value"]) < 0.03
    # the first 30 days hold more churn than any later 30-day bin
    bins = (churned["recency"] * 7 // 30).value_counts(sort=True)
    assert bins.row(0)[0] == 0
    one_and_done = (s["frequency"] == 0).mean()
    assert abs(one_and_done - targets["one_and_done"]["value"]) < 0.03


def test_review_complaint_topics(big: Shop) -> None:
    rv = big.reviews
    neg = rv.filter(pl.col("rating") <= 2)
    text = pl.col("text").str.to_lowercase()
    kw = big.truth["complaint_keywords"]
    flags = neg.select(
        *[pl.any_horizontal([text.str.contains(k, literal=True) for k in words]).alias(t) for t, words in kw.items()]
    )
    assert (flags.sum_horizontal() == 1).all()  # one topic per negative text
    for topic, share in big.truth["complaint_topics"].items():
        assert abs(flags[topic].mean() - share) < 0.03, topic
    ratings = dict(rv["rating"].value_counts(normalize=True).iter_rows())
    for rating, share in big.truth["rating_shares"].items():
        assert abs(ratings[rating] - share) < 0.01
    pos = rv.filter(pl.col("rating") >= 3)
    assert not pos.select(
        pl.any_horizontal([text.str.contains(k, literal=True) for ws in kw.values() for k in ws])
    ).to_series().any()
