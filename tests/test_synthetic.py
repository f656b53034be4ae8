"""Tests of custlab.synthetic: schema, determinism, messy counts, argument
checks, and every planted figure measured back from the generated tables.

Tolerances are stated per test; they are several standard errors wide at the
shop size used (60k customers for the calibration checks, which take about
half a second to generate).
"""

from __future__ import annotations

import datetime as dt
import doctest
import re
import time

import numpy as np
import polars as pl
import pytest

import custlab.synthetic as synthetic
from custlab.synthetic import Shop, make_shop

N_BIG = 60_000

SCHEMAS = {
    "transactions": {
        "customer_id": pl.Int64,
        "order_id": pl.Int64,
        "order_date": pl.Datetime("us"),
        "amount": pl.Float64,
        "product_id": pl.String,
        "product_name": pl.String,
        "category": pl.String,
        "quantity": pl.Int64,
        "unit_price": pl.Float64,
        "channel": pl.String,
    },
    "customers": {
        "customer_id": pl.Int64,
        "signup_date": pl.Datetime("us"),
        "age": pl.Int64,
        "gender": pl.String,
        "region": pl.String,
        "city_tier": pl.String,
        "occupation": pl.String,
        "acquisition_channel": pl.String,
    },
    "events": {
        "customer_id": pl.Int64,
        "event_time": pl.Datetime("us"),
        "event": pl.String,
        "session_id": pl.Int64,
        "channel": pl.String,
        "product_id": pl.String,
    },
    "marketing_spend": {"month": pl.Date, "channel": pl.String, "spend": pl.Float64},
    "reviews": {
        "customer_id": pl.Int64,
        "review_date": pl.Datetime("us"),
        "rating": pl.Int64,
        "order_id": pl.Int64,
        "product_id": pl.String,
        "text": pl.String,
    },
}


@pytest.fixture(scope="module")
def big() -> Shop:
    return make_shop(N_BIG, seed=11)


@pytest.fixture(scope="module")
def small() -> Shop:
    return make_shop(2_000, seed=5)


@pytest.fixture(scope="module")
def messy() -> Shop:
    return make_shop(2_000, seed=5, messy=0.4)


# ----------------------------------------------------------------------------
# helpers (measurements as an analyst would make them)
# ----------------------------------------------------------------------------
def rfm_summary(shop: Shop) -> pl.DataFrame:
    """First-purchase-anchored BG/NBD summary in weeks, per distinct day."""
    end = shop.truth["period"]["end"].date()
    days = shop.transactions.select("customer_id", pl.col("order_date").dt.date().alias("d")).unique()
    return (
        days.group_by("customer_id")
        .agg(
            pl.col("d").min().alias("first"),
            pl.col("d").max().alias("last"),
            (pl.len() - 1).alias("frequency"),
        )
        .with_columns(
            ((pl.col("last") - pl.col("first")).dt.total_days() / 7.0).alias("recency"),
            ((pl.lit(end) - pl.col("first")).dt.total_days() / 7.0).alias("T"),
        )
        .sort("customer_id")
    )


def baskets(shop: Shop) -> pl.DataFrame:
    return shop.transactions.group_by("order_id").agg(
        pl.col("product_name"), pl.col("category"), pl.col("order_date").first()
    )


def revenue_by_customer(shop: Shop) -> pl.DataFrame:
    return (
        shop.transactions.group_by("customer_id")
        .agg(pl.col("amount").sum().alias("revenue"))
        .join(shop.customers, on="customer_id")
    )


def median_gap_days(shop: Shop, column: str, value: str) -> tuple[float, int]:
    gaps = (
        shop.transactions.filter(pl.col(column) == value)
        .select("customer_id", pl.col("order_date").dt.date().alias("d"))
        .unique()
        .sort("customer_id", "d")
        .select(pl.col("d").diff().over("customer_id").dt.total_days().alias("gap"))
        .drop_nulls()["gap"]
    )
    return float(gaps.median()), gaps.len()


# ----------------------------------------------------------------------------
# contract
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("fixture", ["small", "messy"])
def test_schema_exact(fixture: str, request: pytest.FixtureRequest) -> None:
    shop = request.getfixturevalue(fixture)
    for name, schema in SCHEMAS.items():
        frame = shop.tables()[name]
        assert frame.columns == list(schema), name
        assert dict(frame.schema) == schema, name
        assert frame.height > 0, name


def test_tables_and_repr(small: Shop) -> None:
    assert list(small.tables()) == list(SCHEMAS)
    text = repr(small)
    assert text.startswith("Shop(2000 customers,") and "transaction lines" in text
    with pytest.raises(AttributeError):
        small.transactions = small.customers  # type: ignore[misc]


def test_module_doctests() -> None:
    result = doctest.testmod(synthetic, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted >= 3


def test_determinism_and_seed_dependence() -> None:
    a = make_shop(1_500, seed=3, messy=0.2)
    b = make_shop(1_500, seed=3, messy=0.2)
    c = make_shop(1_500, seed=4, messy=0.2)
    for name in SCHEMAS:
        assert a.tables()[name].equals(b.tables()[name]), name
    assert a.truth["messy_counts"] == b.truth["messy_counts"]
    assert a.truth["latent"].equals(b.truth["latent"])
    assert np.array_equal(a.truth["high_value"]["customer_ids"], b.truth["high_value"]["customer_ids"])
    for name in ("transactions", "customers", "events", "reviews"):
        assert not a.tables()[name].equals(c.tables()[name]), name


def test_clean_part_does_not_depend_on_messy_or_events(small: Shop, messy: Shop) -> None:
    for name in ("customers", "events", "marketing_spend", "reviews"):
        assert small.tables()[name].equals(messy.tables()[name]), name
    fewer = make_shop(2_000, seed=5, events_per_customer=1.0)
    assert fewer.transactions.equals(small.transactions)
    assert fewer.events.height < small.events.height / 2


def test_start_forms_agree() -> None:
    a = make_shop(300, start="2022-03-01", months=5, seed=2)
    b = make_shop(300, start=dt.date(2022, 3, 1), months=5, seed=2)
    c = make_shop(300, start=dt.datetime(2022, 3, 1), months=5, seed=2)
    assert a.transactions.equals(b.transactions) and a.transactions.equals(c.transactions)
    assert a.truth["period"]["end"] == dt.datetime(2022, 8, 1)
    assert a.marketing_spend["month"].unique().sort().to_list() == [
        dt.date(2022, m, 1) for m in range(3, 8)
    ]


def test_tiny_and_short_shops_work() -> None:
    one = make_shop(1, months=1, seed=0)
    assert one.customers.height == 1 and one.transactions.height >= 1
    short = make_shop(50, start="2023-01-31", months=1, messy=0.5)
    assert short.truth["period"]["end"] == dt.datetime(2023, 2, 28)


def test_internal_consistency(small: Shop) -> None:
    tx, cu, tr = small.transactions, small.customers, small.truth
    start, end = tr["period"]["start"], tr["period"]["end"]
    assert tx.null_count().sum_horizontal().item() == 0
    assert ((tx["amount"] - tx["quantity"] * tx["unit_price"]).abs() < 1e-6).all()
    assert (tx["quantity"] >= 1).all() and (tx["unit_price"] > 0).all()
    assert tx["order_date"].is_sorted()
    assert tx["order_date"].min() >= start and tx["order_date"].max() < end
    per_order = tx.group_by("order_id").agg(
        pl.col("customer_id").n_unique(), pl.col("order_date").n_unique(), pl.col("channel").n_unique(),
        pl.col("product_id").is_duplicated().any().alias("dup"),
    )
    assert (per_order["customer_id"] == 1).all() and (per_order["order_date"] == 1).all()
    assert (per_order["channel"] == 1).all() and not per_order["dup"].any()
    # at most one order per customer and day (the distinct-day BG/NBD rule)
    days = tx.group_by("customer_id", pl.col("order_date").dt.date()).agg(pl.col("order_id").n_unique())
    assert (days["order_id"] == 1).all()
    # every customer buys; signup before the first purchase, inside the period
    first = tx.group_by("customer_id").agg(pl.col("order_date").min().alias("first"))
    joined = cu.join(first, on="customer_id")
    assert joined.height == cu.height == tr["n_customers"]
    assert (joined["signup_date"] <= joined["first"]).all() and (joined["signup_date"] >= start).all()
    assert cu["customer_id"].to_list() == list(range(1, cu.height + 1))
    # catalogue: ids and names agree with it
    cat = tr["catalog"]
    assert tx.join(cat, on=["product_id", "product_name", "category"], how="anti").height == 0
    assert set(tx["channel"].unique()) <= {"app", "mini_program", "web"}


def test_events_are_ordered_funnels(small: Shop) -> None:
    ev = small.events
    assert set(ev["event"].unique()) <= {"exposure", "click", "cart", "pay"}
    assert ev["customer_id"].is_sorted()
    step = ev["event"].replace_strict({"exposure": 0, "click": 1, "cart": 2, "pay": 3}, return_dtype=pl.Int64)
    ev = ev.with_columns(step.alias("step"))
    per = ev.group_by("session_id").agg(
        pl.col("step"), pl.col("event_time").is_sorted().alias("timed"), pl.col("customer_id").n_unique(),
        pl.col("channel").n_unique().alias("nch"), pl.col("product_id").n_unique().alias("npr"),
    )
    assert per["timed"].all() and (per["customer_id"] == 1).all()
    assert (per["nch"] == 1).all() and (per["npr"] == 1).all()
    assert all(s == list(range(len(s))) for s in per["step"].to_list())
    assert ev["event_time"].max() < small.truth["period"]["end"]
    signup = ev.join(small.customers, on="customer_id")
    assert (signup["event_time"] >= signup["signup_date"]).all()


def test_reviews_consistent(small: Shop) -> None:
    rv = small.reviews.join(
        small.transactions.select("order_id", "product_id", "customer_id", "order_date"),
        on=["order_id", "product_id"],
    )
    assert rv.height == small.reviews.height
    assert (rv["customer_id"] == rv["customer_id_right"]).all()
    assert (rv["review_date"] > rv["order_date"]).all()
    assert (rv["review_date"] < small.truth["period"]["end"]).all()
    assert set(small.reviews["rating"].unique()) <= {1, 2, 3, 4, 5}


# ----------------------------------------------------------------------------
# messy data
# ----------------------------------------------------------------------------
def test_clean_data_have_no_problems(small: Shop) -> None:
    tx = small.transactions
    counts = small.truth["messy_counts"]
    assert all(v == 0 for v in counts.values())
    assert tx.height == tx.unique().height
    assert (tx["product_id"] != "POST").all()


def test_messy_counts_match_truth(small: Shop, messy: Shop) -> None:
    tx, mc = messy.transactions, messy.truth["messy_counts"]
    end = messy.truth["period"]["end"]
    assert tx.height == small.transactions.height + mc["added_lines"]
    assert tx["customer_id"].null_count() == mc["missing_customer_lines"]
    assert tx.filter(pl.col("customer_id").is_null())["order_id"].n_unique() == mc["missing_customer_orders"]
    neg = tx.filter(pl.col("quantity") < 0)
    assert neg.height == mc["cancellation_lines"]
    assert neg["order_id"].n_unique() == mc["cancelled_orders"]
    assert (neg["amount"] < 0).all()
    assert tx.height - tx.unique().height == mc["duplicate_lines"]
    assert tx.filter((pl.col("unit_price") == 0) & (pl.col("amount") == 0)).height == mc["zero_price_lines"]
    assert tx.filter(pl.col("product_id") == "POST").height == mc["postage_lines"]
    assert tx.filter(pl.col("order_date") >= end).height == mc["future_lines"]
    assert mc["future_lines"] >= 1
    n_orders = small.transactions["order_id"].n_unique()
    assert mc["cancelled_orders"] == round(0.4 * 0.10 * n_orders)
    assert mc["postage_lines"] == round(0.4 * 0.20 * n_orders)
    # cleaning them away gives back the clean lines (less those without a customer)
    cleaned = (
        tx.unique(maintain_order=True)
        .filter(
            pl.col("customer_id").is_not_null(), pl.col("quantity") > 0, pl.col("unit_price") > 0,
            pl.col("product_id") != "POST", pl.col("order_date") < end,
        )
        .filter(~pl.col("order_id").is_in(neg["order_id"].implode()))
    )
    expected = small.transactions.filter(
        ~pl.col("order_id").is_in(
            pl.concat([neg["order_id"], tx.filter(pl.col("customer_id").is_null())["order_id"]]).implode()
        )
    )
    assert cleaned.sort("order_id", "product_id").equals(expected.sort("order_id", "product_id"))


# ----------------------------------------------------------------------------
# arguments
# ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_customers": -5}, "n_customers must be a positive integer, got -5"),
        ({"n_customers": 0}, "n_customers must be a positive integer, got 0"),
        ({"n_customers": 2.5}, "n_customers must be a positive integer, got 2.5"),
        ({"n_customers": True}, "n_customers must be a positive integer, got True"),
        ({"months": 0}, "months must be an integer >= 1, got 0"),
        ({"months": "3"}, "months must be an integer >= 1, got '3'"),
        ({"messy": 1.0}, "messy must be a number in [0, 1), got 1.0"),
        ({"messy": -0.1}, "messy must be a number in [0, 1), got -0.1"),
        ({"seed": -1}, "seed must be a non-negative integer, got -1"),
        ({"events_per_customer": -2}, "events_per_customer must be a non-negative number, got -2"),
        (
            {"start": "2023-13-01"},
            "start must be a date such as '2023-01-01' (an ISO 'YYYY-MM-DD' string, "
            "datetime.date or datetime.datetime), got '2023-13-01'",
        ),
        (
            {"start": 20230101},
            "start must be a date such as '2023-01-01' (an ISO 'YYYY-MM-DD' string, "
            "datetime.date or datetime.datetime), got 20230101",
        ),
    ],
)
def test_bad_arguments(kwargs: dict, message: str) -> None:
    args = {"n_customers": 10, **kwargs}
    n = args.pop("n_customers")
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        make_shop(n, **args)


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


def test_scales_linearly_enough() -> None:
    # a guard against per-customer Python loops: 100k customers in a few seconds
    t0 = time.perf_counter()
    shop = make_shop(100_000, seed=1, events_per_customer=1.0)
    elapsed = time.perf_counter() - t0
    assert shop.transactions.height > 350_000
    assert elapsed < 30.0
