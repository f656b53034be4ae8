"""Survival-style churn: the survival frame exactly, lifelines as the reference for curves and models.

Tolerances: quantities computed two ways from the same data (custlab against
lifelines, scipy, numpy or a plain-Python reference) must agree to 1e-9
(floating point); planted figures of the synthetic shop must come back within
the stated points; the early-warning probabilities must be calibrated within
3 points in a backtest.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections import defaultdict

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from custlab import churn
from custlab.churn import ChurnDataWarning
from custlab.exceptions import CustlabError, EmptyDataError, SchemaError

d = dt.datetime


# ---------------------------------------------------------------------------
# Hand-made transactions with known durations and censoring
# ---------------------------------------------------------------------------

AS_OF = d(2024, 3, 31, 12)  # analysis day D = 2024-03-31; orders before noon that day count
W = 30


def _tx() -> pl.DataFrame:
    rows = [
        # customer, order, time, amount, category
        ("A", "a1", d(2024, 1, 1, 9), 10.0, "cream"),
        ("A", "a1", d(2024, 1, 1, 9), 30.0, "soap"),      # first order: two lines, 40 in all
        ("A", "a2", d(2024, 1, 11, 9), 5.0, "cream"),      # last purchase: 80 days before D -> churned
        ("B", "b1", d(2024, 3, 1, 8), 7.0, "soap"),        # one purchase, exactly W days before D -> churned on D
        ("C", "c1", d(2024, 3, 2, 8), 9.0, "soap"),        # W - 1 days before D -> censored
        ("E", "e2", d(2024, 2, 15, 18), 4.0, "food"),      # two orders on one day
        ("E", "e1", d(2024, 2, 15, 10), 6.0, "food"),      # the earlier one is the first order
        ("E", "e3", d(2024, 3, 20, 10), 2.0, "cream"),
        ("F", "f1", d(2024, 3, 31, 9), 3.0, "cream"),      # first purchase on the analysis day: duration 0
        ("G", "g1", d(2024, 1, 5, 9), 8.0, "toys"),
        ("G", "g2", d(2024, 4, 2, 9), 8.0, "toys"),        # after as_of: left out, counted
        ("H", "h1", d(2024, 3, 31, 15), 1.0, "toys"),      # only after as_of: not a customer yet
        (None, "x1", d(2024, 2, 1, 9), 1.0, "toys"),       # no customer: left out, counted
    ]
    return pl.DataFrame(rows, schema=["customer_id", "order_id", "order_date", "amount", "category"], orient="row")


def _frame(**kwargs) -> pl.DataFrame:
    with pytest.warns(ChurnDataWarning):
        return churn.survival_frame(_tx(), as_of=AS_OF, inactivity_days=W, **kwargs)


def test_survival_frame_known_durations_and_censoring():
    sf = _frame()
    got = {r["customer_id"]: r for r in sf.iter_rows(named=True)}
    assert sorted(got) == ["A", "B", "C", "E", "F", "G"]
    expected = {
        # lifetime, days since last, churned, churn date, duration, orders, first order value, first category
        "A": (10, 80, True, dt.date(2024, 2, 10), 40, 2, 40.0, "soap"),
        "B": (0, 30, True, dt.date(2024, 3, 31), 30, 1, 7.0, "soap"),
        "C": (0, 29, False, None, 29, 1, 9.0, "soap"),
        "E": (34, 11, False, None, 45, 3, 6.0, "food"),
        "F": (0, 0, False, None, 0, 1, 3.0, "cream"),
        "G": (0, 86, True, dt.date(2024, 2, 4), 30, 1, 8.0, "toys"),
    }
    for cid, (life, since, churned, cdate, dur, n, value, cat) in expected.items():
        row = got[cid]
        assert (row["lifetime_days"], row["days_since_last"], row["churned"], row["churn_date"], row["duration_days"],
                row["n_orders"], row["first_order_value"], row["first_category"]) == (
                    life, since, churned, cdate, dur, n, value, cat), cid
    assert got["E"]["first_purchase"] == d(2024, 2, 15, 10) and got["E"]["last_purchase"] == d(2024, 3, 20, 10)
    assert sf.schema["duration_days"] == pl.Int64 and sf.schema["churned"] == pl.Boolean
    assert sf.schema["churn_date"] == pl.Date


def test_left_out_lines_are_counted_not_silently_dropped():
    message = ("survival_frame: 3 of 13 transaction lines were left out: 1 without a customer_id, "
               "2 dated at or after as_of=2024-03-31 12:00:00.")
    with pytest.warns(ChurnDataWarning, match=re.escape(message)):
        churn.survival_frame(_tx(), as_of=AS_OF, inactivity_days=W)


def test_default_as_of_is_midnight_after_the_last_order():
    tx = _tx().filter(pl.col("customer_id").is_not_null())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is left out with the default as_of
        sf = churn.survival_frame(tx, inactivity_days=W)
    h = sf.filter(pl.col("customer_id") == "H").row(0, named=True)
    assert (h["days_since_last"], h["duration_days"], h["churned"]) == (3, 3, False)  # D = 2024-04-03
    g = sf.filter(pl.col("customer_id") == "G").row(0, named=True)
    assert (g["lifetime_days"], g["days_since_last"], g["churned"]) == (88, 1, False)


def test_same_timestamp_orders_take_the_smallest_id_and_largest_line_category():
    tx = pl.DataFrame({
        "customer_id": [1, 1, 1, 1], "order_id": ["z", "b", "b", "c"],
        "order_date": [d(2024, 1, 1, 9)] * 3 + [d(2024, 1, 2)],
        "amount": [100.0, 2.0, 5.0, 9.0], "category": ["x", "small", "big", "y"],
    })
    row = churn.survival_frame(tx, inactivity_days=W).row(0, named=True)
    assert (row["first_order_value"], row["first_category"], row["n_orders"]) == (7.0, "big", 3)


def test_lazy_input_gives_the_same_frame():
    tx = _tx().filter(pl.col("customer_id").is_not_null())
    eager = churn.survival_frame(tx, inactivity_days=W)
    lazy = churn.survival_frame(tx.lazy(), inactivity_days=W)
    assert eager.equals(lazy)


def _reference_frame(rows, as_of: dt.datetime, window: int) -> dict:
    """Plain-Python survival frame, written from the definition, for comparison."""
    lines = defaultdict(list)
    for cid, oid, ts, amount in rows:
        if ts < as_of:
            lines[cid].append((ts, oid, amount))
    day = as_of.date()
    out = {}
    for cid, ls in lines.items():
        first = min(ts for ts, _, _ in ls)
        last = max(ts for ts, _, _ in ls)
        first_order = min(oid for ts, oid, _ in ls if ts == first)
        lifetime = (last.date() - first.date()).days
        since = (day - last.date()).days
        churned = since >= window
        out[cid] = {
            "first_purchase": first, "last_purchase": last, "n_orders": len({oid for _, oid, _ in ls}),
            "lifetime_days": lifetime, "days_since_last": since, "churned": churned,
            "churn_date": last.date() + dt.timedelta(days=window) if churned else None,
            "duration_days": lifetime + window if churned else (day - first.date()).days,
            "first_order_value": sum(a for _, oid, a in ls if oid == first_order),
        }
    return out


line = st.tuples(
    st.integers(0, 5), st.integers(0, 9), st.integers(0, 200), st.integers(0, 23), st.integers(1, 100)
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(line, min_size=1, max_size=40), st.integers(1, 260), st.integers(0, 23), st.integers(1, 120))
def test_survival_frame_matches_the_definition(raw, as_of_day, as_of_hour, window):
    start = d(2024, 1, 1)
    rows = [(c, f"o{o}", start + dt.timedelta(days=day, hours=h), float(a)) for c, o, day, h, a in raw]
    as_of = start + dt.timedelta(days=as_of_day, hours=as_of_hour)
    assume(as_of > min(r[2] for r in rows))
    tx = pl.DataFrame(rows, schema=["customer_id", "order_id", "order_date", "amount"], orient="row")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChurnDataWarning)
        sf = churn.survival_frame(tx, as_of=as_of, inactivity_days=window)
    ref = _reference_frame(rows, as_of, window)
    assert sorted(sf["customer_id"].to_list()) == sf["customer_id"].to_list() == sorted(ref)
    for row in sf.iter_rows(named=True):
        want = ref[row["customer_id"]]
        assert {k: row[k] for k in want} == want
        # invariants of the definition
        assert 0 <= row["duration_days"] <= (as_of.date() - row["first_purchase"].date()).days
        assert row["churned"] == (row["days_since_last"] >= window)
        assert row["lifetime_days"] + row["days_since_last"] == (as_of.date() - row["first_purchase"].date()).days


def test_customer_attributes_age_groups_and_segments_are_joined():
    customers = pl.DataFrame({
        "customer_id": ["A", "B", "C", "E", "Z"], "age": [19, 25, 34, None, 70],
        "acquisition_channel": ["sms", "search", "sms", None, "sms"], "gender": ["f", "m", "f", "m", "f"],
    })
    segments = pl.DataFrame({"customer_id": ["A", "C"], "rfm_segment": ["champions", "at risk"]})
    sf = _frame(customers=customers, segments=segments, segment_column="rfm_segment")
    got = {r["customer_id"]: r for r in sf.iter_rows(named=True)}
    assert sf.height == 6  # customer Z never bought; F and G are not in customers and keep their rows
    assert [got[c]["age_group"] for c in "ABCEFG"] == ["<25", "25-34", "25-34", None, None, None]
    assert got["A"]["acquisition_channel"] == "sms" and got["F"]["acquisition_channel"] is None
    assert [got[c]["segment"] for c in "ABC"] == ["champions", None, "at risk"]
    assert sf.schema["age"] == pl.Float64  # validated as the customers table


def test_side_tables_must_have_one_row_per_customer():
    customers = pl.DataFrame({"customer_id": ["A", "A", "B"], "gender": ["f", "f", "m"]})
    with pytest.raises(SchemaError, match=re.escape(
        "customers must have one row per customer, but 1 customer_id(s) appear more than once (2 rows), "
        "e.g. ['A']. Deduplicate it first."
    )):
        _frame(customers=customers)
    clash = pl.DataFrame({"customer_id": ["A"], "churned": [True]})
    with pytest.raises(SchemaError, match=re.escape("customers has column(s) ['churned'] that the survival")):
        _frame(customers=clash)


@pytest.mark.parametrize("bad", [0, -5, 1.5, True, "90"])
def test_inactivity_window_must_be_a_positive_number_of_days(bad):
    with pytest.raises(CustlabError, match=re.escape("inactivity_days must be")):
        churn.survival_frame(_tx(), inactivity_days=bad)


def test_inactivity_window_messages():
    with pytest.raises(CustlabError, match=re.escape(
        "inactivity_days must be positive (a number of days), got 0. Churn is W days without a purchase; try 90."
    )):
        churn.survival_frame(_tx(), inactivity_days=0)
    with pytest.raises(CustlabError, match=re.escape("inactivity_days must be a whole number of days, got 1.5.")):
        churn.survival_frame(_tx(), inactivity_days=1.5)


def test_as_of_before_the_data():
    with pytest.raises(CustlabError, match=re.escape(
        "as_of=2023-12-01 is not after the data: the first order is dated 2024-01-01 09:00:00, so no customer "
        "has bought by then. Pass an as_of after 2024-01-01, or None for the day after the last order (2024-04-03)."
    )):
        churn.survival_frame(_tx(), as_of="2023-12-01")
    with pytest.raises(CustlabError, match=re.escape("as_of must be a date such as '2011-12-10', got 'soon'.")):
        churn.survival_frame(_tx(), as_of="soon")


def test_empty_transactions():
    with pytest.raises(EmptyDataError):
        churn.survival_frame(_tx().clear())


# ---------------------------------------------------------------------------
# The threshold helper and the documents' diagnostics
# ---------------------------------------------------------------------------


def test_threshold_table_counts_silences():
    tx = _tx().filter(pl.col("customer_id").is_not_null())
    with pytest.warns(ChurnDataWarning):
        table = churn.churn_threshold_table(tx, as_of=AS_OF, thresholds=[30, 10, 60])
    assert table["inactivity_days"].to_list() == [10, 30, 60]
    # purchase-day gaps: A 10 (closed) 80 (open); B 30; C 29; E 34 (closed) 11; F 0; G 86
    rows = {r["inactivity_days"]: r for r in table.iter_rows(named=True)}
    assert (rows[10]["churned"], rows[10]["returned"], rows[10]["silences"]) == (5, 2, 7)
    assert (rows[30]["churned"], rows[30]["returned"], rows[30]["silences"]) == (3, 1, 4)
    assert (rows[60]["churned"], rows[60]["returned"]) == (2, 0)
    assert rows[30]["churn_share"] == pytest.approx(3 / 6)
    assert rows[30]["gaps_within"] == pytest.approx(1 / 2)  # closed gaps 10 and 34


@settings(max_examples=30, deadline=None)
@given(st.lists(line, min_size=2, max_size=40), st.integers(1, 120))
def test_threshold_table_agrees_with_the_survival_frame(raw, window):
    start = d(2024, 1, 1)
    rows = [(c, f"o{o}", start + dt.timedelta(days=day, hours=h), float(a)) for c, o, day, h, a in raw]
    tx = pl.DataFrame(rows, schema=["customer_id", "order_id", "order_date", "amount"], orient="row")
    table = churn.churn_threshold_table(tx, thresholds=[window, window + 30])
    sf = churn.survival_frame(tx, inactivity_days=window)
    first = table.row(0, named=True)
    assert first["churned"] == sf["churned"].sum() and first["customers"] == sf.height
    assert first["silences"] == first["churned"] + first["returned"]
    assert table["churned"][1] <= table["churned"][0] and table["silences"][1] <= table["silences"][0]


def test_diagnostics_on_hand_made_data():
    tx = pl.DataFrame({
        "customer_id": [1, 1, 2, 3, 3, 3, 4, 4, 4, 5, 5],
        "order_id": list(range(11)),
        "order_date": [d(2024, 1, 1), d(2024, 1, 11), d(2024, 1, 2), d(2024, 1, 3), d(2024, 2, 20), d(2024, 3, 1),
                       d(2024, 1, 5), d(2024, 4, 20), d(2024, 6, 20), d(2024, 6, 1), d(2024, 6, 5)],
        "amount": [1.0] * 11,
    })
    diag = churn.churn_diagnostics(tx, as_of="2024-07-01", inactivity_days=60, early_days=30)
    # customer 5 is first seen 30 days before as_of: too recent for any of the three figures
    assert (diag.silences, diag.never_returned) == (4, 3)
    assert (diag.churned, diag.churned_early) == (3, 2)
    assert (diag.returners, diag.intervention_day) == (2, 10)
    frame = diag.to_frame()
    assert frame["metric"].to_list() == ["silent_never_return_share", "early_churn_share", "intervention_day"]
    assert frame["value"].to_list() == [0.75, pytest.approx(2 / 3), 10.0]
    late = churn.churn_diagnostics(tx, as_of="2024-07-01", inactivity_days=60, intervention_quantile=1.0)
    assert late.intervention_day == 48


@pytest.fixture(scope="module")
def shop():
    from custlab.synthetic import make_shop

    return make_shop(20000, seed=0)


def test_planted_churn_figures_come_back(shop):
    targets = shop.truth["targets"]
    diag = churn.churn_diagnostics(shop.transactions, as_of=shop.truth["period"]["end"], inactivity_days=90,
                                   early_days=30)
    # same definitions as the generator's (first 90-day silences starting >= 180 days before the end;
    # churned customers observed >= 180 days)
    assert diag.silent_never_return_share == pytest.approx(targets["silent90_never_return"]["value"], abs=0.03)
    # the generator plants 0.55 and documents "about 55-60%" for this one
    assert diag.early_churn_share == pytest.approx(targets["churned_within_30d_of_first"]["value"], abs=0.05)
    assert diag.silences > 5000 and diag.churned > 5000
    assert 10 <= diag.intervention_day <= 30


def test_planted_repurchase_cycles_come_back(shop):
    planted = shop.truth["repurchase_cycle_days"]
    end = shop.truth["period"]["end"]
    cycles = churn.repurchase_cycles(shop.transactions, by="category", as_of=end)
    medians = dict(zip(cycles["category"].to_list(), cycles["median_days"].to_list(), strict=True))
    formula = shop.transactions.filter(pl.col("product_name") == "baby_formula")
    medians["baby_formula"] = churn.repurchase_cycles(formula, by="product_name", as_of=end)["median_days"][0]
    for name, days in planted.items():
        assert medians[name] == pytest.approx(days, rel=0.10), name


# ---------------------------------------------------------------------------
# Repurchase cycles and reminders (exact on small data)
# ---------------------------------------------------------------------------


def _cycle_tx() -> pl.DataFrame:
    rows = [
        (1, "2024-01-01", "cream"), (1, "2024-01-26", "cream"), (1, "2024-02-20", "cream"),
        (1, "2024-01-10", "food"), (1, "2024-01-10", "cream"),  # cream twice on one day: one purchase day
        (2, "2024-02-01", "cream"), (2, "2024-02-11", "food"), (2, "2024-02-21", "food"),
        (3, "2024-02-25", None),
    ]
    return pl.DataFrame(
        [(c, i, dt.datetime.fromisoformat(t), 1.0, cat) for i, (c, t, cat) in enumerate(rows)],
        schema=["customer_id", "order_id", "order_date", "amount", "category"], orient="row",
    )


def test_customer_ids_of_another_type_must_match():
    text_ids = pl.DataFrame({"customer_id": ["1", "2"], "gender": ["f", "m"]})
    sf = churn.survival_frame(_cycle_tx(), customers=text_ids)
    assert sf["gender"].to_list() == ["f", "m", None]
    with pytest.raises(SchemaError, match=re.escape(
        "customers.customer_id holds String ids and the transactions hold Int64 ids; 1 of them cannot be matched, "
        "e.g. ['C1']. Use the same ids in both."
    )):
        churn.survival_frame(_cycle_tx(), customers=pl.DataFrame({"customer_id": ["C1", "2"]}))


def test_inter_purchase_times_by_category_and_overall():
    by_cat = churn.inter_purchase_times(_cycle_tx(), by="category").sort("customer_id", "category", "purchase_date")
    assert by_cat.select("customer_id", "category", "gap_days").rows() == [
        (1, "cream", 9), (1, "cream", 16), (1, "cream", 25), (2, "food", 10),
    ]
    overall = churn.inter_purchase_times(_cycle_tx())
    assert overall["gap_days"].to_list() == [9, 16, 25, 10, 10]


def test_repurchase_cycles_quartiles_match_numpy():
    cycles = churn.repurchase_cycles(_cycle_tx(), by=None)
    gaps = np.array([9, 16, 25, 10, 10], dtype=float)
    row = cycles.row(0, named=True)
    assert row["group"] == "all" and (row["customers"], row["gaps"]) == (2, 5)
    assert (row["median_days"], row["q1_days"], row["q3_days"]) == (
        np.median(gaps), np.quantile(gaps, 0.25), np.quantile(gaps, 0.75))
    assert row["mean_days"] == pytest.approx(gaps.mean())


def test_repurchase_cycles_by_customer_group():
    customers = pl.DataFrame({"customer_id": [1, 2], "city_tier": ["tier1", "tier2"]})
    cycles = churn.repurchase_cycles(_cycle_tx(), by="city_tier", customers=customers)
    assert dict(cycles.select("city_tier", "median_days").rows()) == {"tier1": 16.0, "tier2": 10.0}
    with pytest.raises(SchemaError, match=re.escape("by='tier' is neither a transactions column")):
        churn.repurchase_cycles(_cycle_tx(), by="tier", customers=customers)


def test_next_purchase_due_dates_and_reminders():
    due = churn.next_purchase_due(_cycle_tx(), by="category", as_of="2024-03-01", remind_days_before=15)
    rows = {(r["customer_id"], r["category"]): r for r in due.iter_rows(named=True)}
    cream1 = rows[(1, "cream")]  # own gaps 9, 16, 25: median 16 from the last purchase on 2024-02-20
    assert (cream1["own_gaps"], cream1["cycle_days"], cream1["cycle_source"]) == (3, 16.0, "customer")
    assert (cream1["due_date"], cream1["remind_date"]) == (dt.date(2024, 3, 7), dt.date(2024, 2, 21))
    assert (cream1["days_until_due"], cream1["status"]) == (6, "remind now")
    cream2 = rows[(2, "cream")]  # no gap of its own: the cream median of all customers, 16
    assert (cream2["cycle_source"], cream2["due_date"], cream2["status"]) == ("group", dt.date(2024, 2, 17), "overdue")
    food1 = rows[(1, "food")]  # one purchase; food median (10) from customer 2
    assert (food1["due_date"], food1["status"]) == (dt.date(2024, 1, 20), "overdue")
    missing = rows[(3, "(missing)")]  # no cycle anywhere for the missing category
    assert (missing["cycle_days"], missing["due_date"], missing["status"]) == (None, None, "no cycle yet")
    assert due["status"].to_list()[0] == "remind now" and due["status"].to_list()[-1] == "no cycle yet"
    zh = churn.next_purchase_due(_cycle_tx(), by="category", as_of="2024-03-01", language="zh")
    assert set(zh["status"].to_list()) == {"立即提醒", "已逾期", "暂无周期"}
    with pytest.warns(ChurnDataWarning, match="2 dated at or after as_of=2024-02-21"):
        later = churn.next_purchase_due(_cycle_tx(), by="category", as_of="2024-02-21", remind_days_before=0)
    assert later.filter(pl.col("customer_id") == 1, pl.col("category") == "cream")["status"].item() == "upcoming"


# ---------------------------------------------------------------------------
# Kaplan-Meier and log-rank: lifelines on one row per customer is the reference
# ---------------------------------------------------------------------------


def _random_frame(n=3000, seed=0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b", "c", None], n, p=[0.4, 0.3, 0.2, 0.1])
    scale = np.select([group == "a", group == "b"], [120.0, 80.0], 100.0)
    churn_day = 90 + np.floor(rng.exponential(scale)).astype(int)
    follow = rng.integers(0, 400, n)
    return pl.DataFrame({
        "customer_id": np.arange(n), "duration_days": np.minimum(churn_day, follow),
        "churned": churn_day <= follow, "channel": group, "value": rng.gamma(2.0, 50.0, n),
    })


def test_kaplan_meier_matches_lifelines_per_customer():
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    sf = _random_frame()
    km = churn.kaplan_meier(sf, by="channel", alpha=0.1, at=[90, 200])
    assert km.summary["group"].to_list() == ["a", "b", "c", "(missing)"]  # largest group first
    for group in km.summary["group"].to_list():
        label = None if group == "(missing)" else group
        part = sf.filter(pl.col("channel").is_null() if label is None else pl.col("channel") == label)
        ref = KaplanMeierFitter(alpha=0.1).fit(part["duration_days"].to_numpy(), part["churned"].to_numpy())
        curve = km.curves.filter(pl.col("group") == group)
        np.testing.assert_allclose(curve["survival"].to_numpy(), ref.survival_function_.iloc[:, 0], atol=1e-12)
        np.testing.assert_allclose(curve["lower"].to_numpy(), ref.confidence_interval_.iloc[:, 0], atol=1e-12)
        np.testing.assert_allclose(curve["upper"].to_numpy(), ref.confidence_interval_.iloc[:, 1], atol=1e-12)
        assert curve["at_risk"].to_list() == ref.event_table["at_risk"].astype(int).to_list()
        assert curve["churned"].to_list() == ref.event_table["observed"].astype(int).to_list()
        row = km.summary.filter(pl.col("group") == group).row(0, named=True)
        assert row["customers"] == part.height and row["churned"] == part["churned"].sum()
        assert row["median_days"] == ref.median_survival_time_
        lo, hi = median_survival_times(ref.confidence_interval_).to_numpy().ravel()
        assert (row["median_lower"], row["median_upper"]) == (lo, hi)
        assert row["survival_200d"] == pytest.approx(float(ref.survival_function_at_times(200).iloc[0]), abs=1e-12)


def test_log_rank_matches_lifelines():
    from lifelines.statistics import multivariate_logrank_test, pairwise_logrank_test

    sf = _random_frame()
    km = churn.kaplan_meier(sf, by="channel")
    labels = sf["channel"].fill_null("(missing)").to_numpy()
    T, E = sf["duration_days"].to_numpy(), sf["churned"].to_numpy()
    overall = multivariate_logrank_test(T, labels, E)
    first = km.logrank.row(0, named=True)
    assert (first["group_a"], first["group_b"], first["df"]) == ("(all)", "(all)", 3)
    assert first["statistic"] == pytest.approx(overall.test_statistic, rel=1e-9)
    assert first["p_value"] == pytest.approx(overall.p_value, rel=1e-6, abs=1e-300)
    pairs = pairwise_logrank_test(T, labels, E).summary
    assert km.logrank.height == 1 + 6
    for row in km.logrank.iter_rows(named=True):
        if row["group_a"] == "(all)":
            continue
        key = (row["group_a"], row["group_b"]) if (row["group_a"], row["group_b"]) in pairs.index else (
            row["group_b"], row["group_a"])
        assert row["statistic"] == pytest.approx(pairs.loc[key, "test_statistic"], rel=1e-9)


def test_kaplan_meier_overall_has_no_log_rank_and_bad_groupings_are_refused():
    sf = _random_frame(300)
    km = churn.kaplan_meier(sf)
    assert km.logrank is None and km.summary["group"].to_list() == ["all"]
    with pytest.raises(CustlabError, match=re.escape(
        "by='value' has 300 distinct values; group it first (for example age into age_group) or pick a column "
        "with at most 20 groups."
    )):
        churn.kaplan_meier(sf, by="value")
    with pytest.raises(CustlabError, match=re.escape(
        "by='one' has a single value ('x') for all 300 customers; there is nothing to compare."
    )):
        churn.kaplan_meier(sf.with_columns(one=pl.lit("x")), by="one")
    with pytest.raises(CustlabError, match=re.escape("durations must be known and non-negative")):
        churn.kaplan_meier(sf.with_columns(duration_days=pl.col("duration_days") - 500))
    as_ints = churn.kaplan_meier(sf.with_columns(pl.col("churned").cast(pl.Int8)))
    assert as_ints.summary.equals(km.summary)
    with pytest.raises(SchemaError, match=re.escape(
        "Column 'churned' must be Boolean (or 0/1); 300 value(s) are neither, e.g. [2]."
    )):
        churn.kaplan_meier(sf.with_columns(churned=pl.lit(2)))


# ---------------------------------------------------------------------------
# Cox proportional hazards
# ---------------------------------------------------------------------------


def _cox_data(n=4000, seed=1, ph_breaking=False) -> pl.DataFrame:
    """Exponential times with hazard ratio 2 for channel web and 0.7 per log1p(value) unit."""
    rng = np.random.default_rng(seed)
    channel = rng.choice(["app", "web"], n, p=[0.6, 0.4])
    value = rng.gamma(2.0, 40.0, n)
    rate = 0.01 * np.where(channel == "web", 2.0, 1.0) * np.exp(np.log(0.7) * np.log1p(value))
    t = rng.exponential(1 / rate)
    if ph_breaking:  # web churns early or not at all: its hazard ratio falls over time
        t = np.where(channel == "web", np.where(rng.random(n) < 0.5, rng.exponential(20, n), 5000), t)
    follow = rng.uniform(0, 600, n)
    return pl.DataFrame({
        "customer_id": np.arange(n), "duration_days": np.ceil(np.minimum(t, follow)).astype(int),
        "churned": t <= follow, "first_channel": channel, "first_order_value": value,
        "region": rng.choice(["north", "south", "east", "tiny"], n, p=[0.5, 0.3, 0.195, 0.005]),
    })


def test_cox_recovers_planted_hazard_ratios_and_matches_lifelines():
    from lifelines import CoxPHFitter
    from lifelines.utils import concordance_index

    sf = _cox_data()
    model = churn.CoxChurnModel(["first_channel", "first_order_value"], test_size=0.25, random_state=7).fit(sf)
    hr = {r["term"]: r for r in model.hazard_ratios_.iter_rows(named=True)}
    web = hr["first_channel=web"]
    assert web["reference"] == "app" and web["lower"] < 2.0 < web["upper"]
    assert web["hazard_ratio"] == pytest.approx(2.0, rel=0.15)
    value = hr["log1p(first_order_value)"]
    assert value["lower"] < 0.7 < value["upper"]

    # Reference: lifelines on the same training customers, with the design built by hand.
    ids = np.arange(sf.height)
    test_ids = np.random.default_rng(7).permutation(ids)[: round(0.25 * ids.size)]
    df = pd.DataFrame({
        "first_channel=web": (sf["first_channel"] == "web").cast(pl.Float64).to_numpy(),
        "log1p(first_order_value)": np.log1p(sf["first_order_value"].to_numpy()),
        "T": sf["duration_days"].to_numpy(), "E": sf["churned"].cast(pl.Int8).to_numpy(),
    })
    is_test = np.isin(ids, test_ids)
    ref = CoxPHFitter().fit(df[~is_test], "T", "E")
    np.testing.assert_allclose(model.hazard_ratios_["hazard_ratio"].to_numpy(), np.exp(ref.params_), rtol=1e-9)
    np.testing.assert_allclose(model.hazard_ratios_["p_value"].to_numpy(), ref.summary["p"], rtol=1e-6)
    test = df[is_test]
    c_ref = concordance_index(test["T"], -ref.predict_partial_hazard(test), test["E"])
    assert model.concordance_test_ == pytest.approx(c_ref, abs=1e-12)
    assert (model.n_train_, model.n_test_) == (3000, 1000)
    risk = model.predict_risk(sf.head(5))
    np.testing.assert_allclose(risk["relative_risk"].to_numpy(), ref.predict_partial_hazard(df.head(5)), rtol=1e-9)


def test_schoenfeld_test_matches_lifelines():
    from lifelines import CoxPHFitter
    from lifelines.statistics import proportional_hazard_test

    rng = np.random.default_rng(3)
    n = 800
    x = np.column_stack([rng.normal(size=n), rng.integers(0, 2, n)])
    t = rng.exponential(np.exp(-x @ [0.5, 0.4]) * (1 + 0.5 * x[:, 0] * rng.random(n)).clip(0.1))  # no ties
    e = rng.random(n) < 0.7
    df = pd.DataFrame(x, columns=["a", "b"]).assign(T=t, E=e.astype(int))
    cph = CoxPHFitter().fit(df, "T", "E")
    with warnings.catch_warnings():  # lifelines' residuals change the global warning filters
        ref = proportional_hazard_test(cph, df, time_transform="rank").summary
    stat, p = churn._schoenfeld_test(x, t, e, cph.params_.to_numpy(), cph.variance_matrix_.to_numpy())
    np.testing.assert_allclose(stat, ref["test_statistic"], rtol=1e-9)
    np.testing.assert_allclose(p, ref["p"], rtol=1e-9)

    # With tied times and strata, the scaled residuals (Efron ties) equal lifelines' too.
    df["T"] = np.ceil(t * 5)
    df["s"] = rng.integers(0, 3, n)
    cph = CoxPHFitter().fit(df, "T", "E", strata=["s"])
    with warnings.catch_warnings():
        ref_res = cph.compute_residuals(df, kind="scaled_schoenfeld").sort_index()
    scaled, rows, _ = churn._scaled_schoenfeld(x, df["T"].to_numpy(), e, cph.params_.to_numpy(),
                                               cph.variance_matrix_.to_numpy(), df["s"].to_numpy())
    mine = pd.DataFrame(scaled, index=rows).sort_index()
    np.testing.assert_allclose(mine.to_numpy(), ref_res.to_numpy(), atol=1e-10)


def test_proportional_hazards_check_in_plain_words():
    holds = churn.CoxChurnModel(["first_channel"], random_state=0).fit(_cox_data(seed=2))
    assert holds.ph_test_["holds"].to_list() == [True]
    assert holds.ph_summary_.startswith("Proportional hazards: no evidence against it for any of the 1 term (")
    breaks = churn.CoxChurnModel(["first_channel", "first_order_value"], random_state=0).fit(
        _cox_data(seed=2, ph_breaking=True))
    verdict = dict(breaks.ph_test_.select("term", "holds").rows())
    assert verdict["first_channel=web"] is False
    assert ("compare Kaplan-Meier curves by it, or fit with strata=['first_channel']." in breaks.ph_summary_)
    stratified = churn.CoxChurnModel(["first_order_value"], strata=["first_channel"]).fit(
        _cox_data(seed=2, ph_breaking=True))
    assert stratified.hazard_ratios_["term"].to_list() == ["log1p(first_order_value)"]


def test_cox_levels_missing_rare_and_reference():
    sf = _cox_data(2000).with_columns(
        pl.when(pl.col("customer_id") % 10 == 0).then(None).otherwise(pl.col("first_channel")).alias("first_channel")
    )
    model = churn.CoxChurnModel(["first_channel", "region"], reference={"region": "south"}).fit(sf)
    terms = model.hazard_ratios_["term"].to_list()
    assert terms == ["first_channel=web", "first_channel=(missing)", "region=north", "region=east"]
    assert model.hazard_ratios_.filter(pl.col("covariate") == "region")["reference"].unique().to_list() == ["south"]
    assert model.merged_levels_ == {"first_channel": {}, "region": {"tiny": "south"}}  # 9 rows: too few for "(other)"
    # north 1016, south 596, east 378, tiny 10 rows
    wide = churn.CoxChurnModel(["region"], min_level_count=385).fit(sf)
    assert wide.merged_levels_ == {"region": {"east": "(other)", "tiny": "(other)"}}
    assert wide.hazard_ratios_["term"].to_list() == ["region=south", "region=(other)"]
    with pytest.raises(CustlabError, match=re.escape("reference={'region': 'west'}: 'west' is not a level")):
        churn.CoxChurnModel(["region"], reference={"region": "west"}).fit(sf)


def test_cox_refuses_constant_and_empty_covariates():
    sf = _cox_data(500).with_columns(one=pl.lit("x"), nothing=pl.lit(None, dtype=pl.Float64))
    with pytest.raises(CustlabError, match=re.escape(
        "Covariates that cannot enter the model: 'one' has a single value ('x') for all 500 rows; "
        "'nothing' is null for all 500 rows. Drop them from covariates= (or fill them) and fit again."
    )):
        churn.CoxChurnModel(["first_channel", "one", "nothing"]).fit(sf)
    with pytest.raises(CustlabError, match=re.escape(
        "'region' has a single level ('north') after merging the levels with fewer than 300 rows "
        "(['south', 'east', 'tiny']) into it"
    )):
        churn.CoxChurnModel(["region"], min_level_count=300).fit(sf)


def test_default_covariates_that_cannot_be_used_are_reported():
    sf = _cox_data(500).with_columns(gender=pl.lit("f"), segment=pl.lit(None, dtype=pl.String))
    with pytest.warns(ChurnDataWarning, match=re.escape(
        "CoxChurnModel: left out default covariate(s) 'segment' (is null for all 500 rows); "
        "'gender' (has a single value ('f') for all 500 rows)."
    )):
        model = churn.CoxChurnModel().fit(sf)
    assert model.covariates_ == ["first_order_value", "first_channel", "region"]
    assert set(model.skipped_covariates_) == {"segment", "gender"}


def test_rows_with_null_numbers_are_counted():
    sf = _cox_data(500).with_columns(
        first_order_value=pl.when(pl.col("customer_id") < 7).then(None).otherwise(pl.col("first_order_value"))
    )
    with pytest.warns(ChurnDataWarning, match=re.escape(
        "CoxChurnModel: 7 of 500 rows left out of the fit: 7 with null first_order_value."
    )):
        model = churn.CoxChurnModel(["first_order_value"], test_size=0).fit(sf)
    assert model.excluded_.rows() == [("null first_order_value", 7)]
    assert model.n_train_ == 493 and model.concordance_test_ is None


def test_cox_needs_events_and_a_fit():
    sf = _cox_data(200).with_columns(churned=pl.lit(False))
    with pytest.raises(CustlabError, match=re.escape("No churn event in the 200 rows of the survival frame")):
        churn.CoxChurnModel(["first_channel"]).fit(sf)
    with pytest.raises(CustlabError, match=re.escape("This CoxChurnModel is not fitted yet; call .fit(frame) first.")):
        churn.CoxChurnModel().predict_risk(sf)


# ---------------------------------------------------------------------------
# Repurchase model, early warning, BG/NBD comparison
# ---------------------------------------------------------------------------


def test_repurchase_frame_rows():
    gaps = churn.repurchase_frame(_cycle_tx(), as_of="2024-03-01")
    one = gaps.filter(pl.col("customer_id") == 1)
    assert one.select("purchase_number", "days_since_first", "gap_days", "repurchased", "orders").rows() == [
        (1, 0, 9, True, 1), (2, 9, 16, True, 2), (3, 25, 25, True, 1), (4, 50, 10, False, 1),
    ]
    assert one["first_category"].unique().to_list() == ["cream"]


@pytest.fixture(scope="module")
def small_shop():
    from custlab.synthetic import make_shop

    return make_shop(5000, seed=5)


def test_early_warning_probabilities_follow_the_fitted_model(small_shop):
    end = small_shop.truth["period"]["end"]
    gaps = churn.repurchase_frame(small_shop.transactions, as_of=end, customers=small_shop.customers)
    model = churn.RepurchaseModel(["purchase_number", "days_since_first", "order_value", "city_tier"]).fit(gaps)
    warn = model.early_warning(gaps, inactivity_days=90, days=30)
    active = gaps.filter(~pl.col("repurchased") & (pl.col("gap_days") < 90))
    assert warn.height == active.height and warn["rank"].to_list() == list(range(1, warn.height + 1))
    # S(W - 1/2 | x) / S(s - 1/2 | x) with lifelines' own survival function, row by row
    sample = warn.sample(25, seed=1).join(active, on="customer_id")
    x, _, _ = model._design(sample, fitting=False)
    design = pd.DataFrame(x, columns=model._design_columns())
    for i, row in enumerate(sample.iter_rows(named=True)):
        s = row["days_since_last"]
        both = model.lifelines_.predict_survival_function(design.iloc[[i]], times=[s - 0.5, 89.5]).to_numpy().ravel()
        assert row["p_churn"] == pytest.approx(both[1] / both[0], rel=1e-9)
        assert row["p_churn_next"] == (row["p_churn"] if row["days_to_churn"] <= 30 else 0.0)
    assert (warn["churn_date"] - warn["last_purchase"]).dt.total_days().unique().to_list() == [90]
    band = pl.when(pl.col("p_churn_next") >= 0.5).then(pl.lit("high")).when(
        pl.col("p_churn_next") >= 0.2).then(pl.lit("medium")).otherwise(pl.lit("low"))
    assert warn["risk_band"].to_list() == warn.select(band)["literal"].to_list()
    assert set(warn["risk_band"]) == {"high", "medium", "low"}
    zh = model.early_warning(gaps, days=30, top=10, language="zh")
    assert zh.height == 10 and set(zh["risk_band"]) <= {"高风险", "中风险", "低风险"}


def test_early_warning_is_calibrated_in_a_backtest(small_shop):
    """Fit 120 days before the end, predict churn within N days, check against what happened."""
    end = small_shop.truth["period"]["end"]
    cut = end - dt.timedelta(days=120)
    with pytest.warns(ChurnDataWarning, match="dated at or after as_of"):
        gaps = churn.repurchase_frame(small_shop.transactions, as_of=cut)
    model = churn.RepurchaseModel(random_state=0).fit(gaps)
    assert model.concordance_test_ > 0.6
    later = churn.repurchase_frame(small_shop.transactions, as_of=end).select(
        "customer_id", "purchase_date", pl.col("gap_days").alias("true_gap"))
    for days in (30, 60, 90):
        warn = model.early_warning(gaps, inactivity_days=90, days=days).join(
            later, left_on=["customer_id", "last_purchase"], right_on=["customer_id", "purchase_date"])
        # churned within N days: the silence went on to 90 days, and that happened within N days
        happened = (warn["true_gap"] >= 90) & (warn["days_to_churn"] <= days)
        assert warn["p_churn_next"].mean() == pytest.approx(happened.mean(), abs=0.03), days
        high = warn["p_churn_next"] >= 0.8
        assert warn.filter(high)["p_churn_next"].mean() == pytest.approx(happened.filter(high).mean(), abs=0.03)


def _p_alive_with_lifetimes(transactions: pl.DataFrame, end: dt.datetime) -> pl.DataFrame:
    """P(alive) from lifetimes' BetaGeoFitter on frequency/recency/T in weeks (test-only reference)."""
    with warnings.catch_warnings():  # lifetimes changes warning filters at import and in its likelihoods
        from lifetimes import BetaGeoFitter

        days = transactions.with_columns(day=pl.col("order_date").dt.date()).group_by("customer_id").agg(
            first=pl.col("day").min(), last=pl.col("day").max(), n=pl.col("day").n_unique())
        summary = days.with_columns(
            frequency=(pl.col("n") - 1).cast(pl.Float64),
            recency=(pl.col("last") - pl.col("first")).dt.total_days() / 7,
            T=(pl.lit(end.date()) - pl.col("first")).dt.total_days() / 7,
        )
        f, r, t = (summary[c].to_numpy() for c in ("frequency", "recency", "T"))
        bg = BetaGeoFitter().fit(f, r, t)
        alive = bg.conditional_probability_alive(f, r, t)
    return summary.select("customer_id", "frequency").with_columns(p_alive=pl.Series(alive))


def test_comparison_with_bgnbd(small_shop):
    from scipy.stats import spearmanr

    end = small_shop.truth["period"]["end"]
    gaps = churn.repurchase_frame(small_shop.transactions, as_of=end)
    warn = churn.RepurchaseModel().fit(gaps).early_warning(gaps, days=30)
    alive = _p_alive_with_lifetimes(small_shop.transactions, end)
    cmp = churn.compare_with_bgnbd(warn, alive)
    assert cmp.customers == warn.height and cmp.only_in_risk == 0
    assert cmp.only_in_p_alive == alive.height - warn.height
    rho = spearmanr(cmp.table["survival_risk"], cmp.table["bgnbd_risk"]).statistic
    assert cmp.spearman == pytest.approx(rho, abs=1e-12)
    # Both views rank repeat buyers alike; BG/NBD keeps one-time buyers at P(alive) = 1.
    assert cmp.spearman_repeat > 0.4
    assert cmp.customers_repeat == cmp.table.filter(pl.col("frequency") > 0).height
    first = cmp.table.row(0, named=True)
    assert first["survival_rank"] == 1.0 and first["survival_risk"] == warn["p_churn"].max()
    assert "Spearman rank correlation" in str(cmp)


def test_comparison_input_errors():
    risk = pl.DataFrame({"customer_id": [1, 2, 3], "p_churn": [0.1, 0.2, 0.3]})
    with pytest.raises(SchemaError, match=re.escape("The p_alive table is missing column(s) (each customer's BG/NBD")):
        churn.compare_with_bgnbd(risk, pl.DataFrame({"customer_id": [1, 2, 3], "alive": [0.5, 0.5, 0.5]}))
    with pytest.raises(CustlabError, match=re.escape(
        "p_alive['p_alive'] must be a probability in [0, 1] for every customer; 1 value(s) are not, e.g. [1.5]."
    )):
        churn.compare_with_bgnbd(risk, pl.DataFrame({"customer_id": [1, 2, 3], "p_alive": [0.5, 1.5, 0.2]}))
    with pytest.raises(CustlabError, match=re.escape("Only 0 customer(s) are in both tables")):
        churn.compare_with_bgnbd(risk, pl.DataFrame({"customer_id": [7, 8, 9], "p_alive": [0.5, 0.5, 0.2]}))


# ---------------------------------------------------------------------------
# Plots: artists, not pixels
# ---------------------------------------------------------------------------


def test_survival_plot_lines_bands_and_at_risk_counts():
    km = churn.kaplan_meier(_random_frame(1000), by="channel")
    fig = churn.plot_survival(km)
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")]
    medians = km.summary["median_days"].to_list()
    assert labels == [f"{g} (median {m:.0f} days)" if m is not None else f"{g} (median not reached)"
                      for g, m in zip(km.summary["group"], medians, strict=True)]
    assert len(ax.collections) == 4  # one confidence band per group
    curve = km.curves.filter(pl.col("group") == "a")
    line = next(line for line in ax.get_lines() if line.get_label().startswith("a ("))
    np.testing.assert_allclose(line.get_ydata(), curve["survival"].to_numpy())
    table = fig.axes[1].get_xticklabels()[0].get_text()  # lifelines' at-risk table under the x axis
    assert [line.strip() for line in table.splitlines() if line and not line.strip()[0].isupper()] == [
        "a", "b", "c", "(missing)"]
    assert table.count("At risk") == 4 and table.count("Events") == 4


def test_hazard_ratio_plot():
    model = churn.CoxChurnModel(["first_channel", "first_order_value"]).fit(_cox_data(1000))
    ax = churn.plot_hazard_ratios(model).axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == model.hazard_ratios_["term"].to_list()
    points = ax.get_lines()[0]
    np.testing.assert_allclose(points.get_xdata(), model.hazard_ratios_["hazard_ratio"].to_numpy())
    assert ax.get_xscale() == "log"


def test_inter_purchase_plot_boxes_are_the_cycle_quartiles():
    tx = _cycle_tx()
    gaps = churn.inter_purchase_times(tx, by="category")
    ax = churn.plot_inter_purchase_times(gaps, by="category").axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["cream (3 gaps)", "food (1 gaps)"]
    cycles = churn.repurchase_cycles(tx, by="category")
    medians = [line.get_xdata()[0] for line in ax.get_lines() if line.get_gid() == "median"]
    assert medians == cycles.sort("median_days", descending=True)["median_days"].to_list()


def test_risk_distribution_plot_counts_customers():
    warn = pl.DataFrame({"p_churn_next": [0.0, 0.05, 0.55, 0.95, None]})
    ax = churn.plot_risk_distribution(warn, bins=10).axes[0]
    heights = [p.get_height() for p in ax.patches]
    assert heights[0] == 2 and heights[5] == 1 and heights[9] == 1 and sum(heights) == 4
    assert ax.get_title() == "Churn risk of 4 active customers (1 without a probability)"


# ---------------------------------------------------------------------------
# Online Retail end to end (figures for the README)
# ---------------------------------------------------------------------------


def test_online_retail_end_to_end(online_retail_clean):
    tx = online_retail_clean
    sf = churn.survival_frame(tx)
    # independent check of the frame with pandas
    pdf = tx.select("customer_id", "order_date").to_pandas()
    per = pdf.groupby("customer_id")["order_date"].agg(["min", "max"])
    as_of_day = (pdf["order_date"].max().normalize() + pd.Timedelta(days=1))
    since = (as_of_day - per["max"].dt.normalize()).dt.days
    assert sf.height == 4339 == len(per)
    assert sf["churned"].sum() == int((since >= 90).sum())
    life = (per["max"].dt.normalize() - per["min"].dt.normalize()).dt.days
    expected = np.where(since >= 90, life + 90, (as_of_day - per["min"].dt.normalize()).dt.days)
    assert sf["duration_days"].to_list() == expected.tolist()

    km = churn.kaplan_meier(sf)
    overall = km.summary.row(0, named=True)
    assert overall["customers"] == 4339 and 0 < overall["survival_365d"] < overall["survival_90d"] < 1

    model = churn.CoxChurnModel(random_state=0).fit(sf)
    assert model.covariates_ == ["first_order_value"]
    hr = model.hazard_ratios_.row(0, named=True)
    assert hr["upper"] < 1  # bigger first orders, later churn
    assert 0.5 < model.concordance_test_ < 0.7
    assert model.ph_summary_.startswith("Proportional hazards:")


def test_no_global_state_is_changed():
    """Warning filters and matplotlib settings are as before, in a fresh process (first imports included)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = """
import warnings, matplotlib
matplotlib.use("Agg")
import numpy as np, polars as pl
filters, rc = list(warnings.filters), dict(matplotlib.rcParams)
from custlab import churn
rng = np.random.default_rng(0)
sf = pl.DataFrame({"customer_id": np.arange(300), "duration_days": rng.integers(0, 300, 300),
                   "churned": rng.random(300) < 0.5, "first_channel": rng.choice(["a", "b"], 300)})
churn.plot_survival(churn.kaplan_meier(sf, by="first_channel"))
churn.plot_hazard_ratios(churn.CoxChurnModel(["first_channel"]).fit(sf))
risk = pl.DataFrame({"customer_id": [1, 2, 3], "p_churn": [0.1, 0.5, 0.9]})
churn.compare_with_bgnbd(risk, risk.select("customer_id", p_alive=pl.col("p_churn")))
assert warnings.filters == filters, [f for f in warnings.filters if f not in filters]
assert dict(matplotlib.rcParams) == rc
"""
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(root)})
    assert result.returncode == 0, result.stderr[-2000:]


def test_cox_model_fits_when_no_pair_of_customers_can_be_ordered():
    from custlab.synthetic import make_shop

    tx = make_shop(300, seed=1).transactions
    first_orders = tx.filter(pl.col("order_id") == pl.col("order_id").min().over("customer_id"))
    model = churn.CoxChurnModel().fit(churn.survival_frame(first_orders))
    assert model.concordance_train_ is None
