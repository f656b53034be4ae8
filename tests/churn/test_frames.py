"""The survival frame exactly (against a plain-Python reference), its inputs, the threshold table."""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections import defaultdict

import numpy as np
import polars as pl
import polars.testing
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from custlab import churn
from custlab.churn import ChurnDataWarning
from custlab.exceptions import CustlabError, EmptyDataError, SchemaError

from .helpers import AS_OF, W, _cycle_tx, _tx, d


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


def test_customer_ids_of_another_type_must_match():
    text_ids = pl.DataFrame({"customer_id": ["1", "2"], "gender": ["f", "m"]})
    sf = churn.survival_frame(_cycle_tx(), customers=text_ids)
    assert sf["gender"].to_list() == ["f", "m", None]
    with pytest.raises(SchemaError, match=re.escape(
        "customers.customer_id holds String ids and the transactions hold Int64 ids; 1 of them cannot be matched, "
        "e.g. ['C1']. Use the same ids in both."
    )):
        churn.survival_frame(_cycle_tx(), customers=pl.DataFrame({"customer_id": ["C1", "2"]}))


# ---------------------------------------------------------------------------
# Lines stored order by order: collapsed into runs, with the same frame bit for bit
# ---------------------------------------------------------------------------


def _order_lines(n_orders: int = 3000, seed: int = 3) -> pl.DataFrame:
    """Lines stored order by order (ids increasing), 1-6 lines per order, a few orders sharing a moment."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 7, n_orders)
    order = np.repeat(np.arange(n_orders), sizes)
    customer = rng.integers(0, 400, n_orders)
    seconds = rng.integers(0, 300, n_orders) * 86_400  # whole days: orders of one customer share moments
    return pl.DataFrame({
        "customer_id": customer[order], "order_id": order,
        "order_date": np.datetime64("2024-01-01", "us") + (seconds[order] * 1_000_000).astype("timedelta64[us]"),
        "amount": np.round(rng.gamma(2.0, 15.0, order.size), 2),
    })


def _runs_spy(monkeypatch) -> list:
    from custlab.churn import frames

    seen = []
    original = frames._by_order_runs

    def spy(*args, **kwargs):
        out = original(*args, **kwargs)
        seen.append(out is not None)
        return out

    monkeypatch.setattr(frames, "_by_order_runs", spy)
    return seen


def _shuffled(tx: pl.DataFrame) -> pl.DataFrame:
    return tx.sample(fraction=1.0, shuffle=True, seed=11)


@pytest.mark.parametrize("lazy", [False, True])
def test_lines_stored_order_by_order_give_the_same_frame_as_any_other_order(monkeypatch, lazy):
    tx = _order_lines()
    seen = _runs_spy(monkeypatch)
    ordered = churn.survival_frame(tx.lazy() if lazy else tx, inactivity_days=W)
    assert seen == [True]  # collapsed into runs
    shuffled = churn.survival_frame(_shuffled(tx), inactivity_days=W)
    assert seen == [True]  # the shuffled lines do not look ordered: grouped by order
    pl.testing.assert_frame_equal(ordered, shuffled, check_exact=True)
    backwards = churn.survival_frame(tx.reverse(), inactivity_days=W)  # ids never increase: runs too
    assert seen == [True, True]
    pl.testing.assert_frame_equal(backwards, shuffled, check_exact=True)


@pytest.mark.parametrize("layout", ["ordered", "shuffled", "lazy", "text ids"])
def test_counting_path_gives_the_group_bys_frame(monkeypatch, recorded, layout):
    """Whole-number customer ids: orders are grouped by customer with numpy, to the group-by's frame bit for bit."""
    from custlab.churn import frames

    tx = _order_lines().with_columns(category=pl.format("cat{}", pl.col("order_id") % 7),
                                     channel=pl.format("ch{}", pl.col("customer_id") % 3))
    source = {"ordered": tx, "shuffled": _shuffled(tx), "lazy": tx.lazy(),
              "text ids": _shuffled(tx).with_columns(pl.format("o{}", pl.col("order_id")).alias("order_id"))}[layout]
    with recorded(frames, "_counted_customers") as calls:
        got = churn.survival_frame(source, inactivity_days=W)
    assert calls and calls[-1] is not None  # numpy grouped the orders
    monkeypatch.setattr(frames, "_counted_customers", lambda *args, **kwargs: None)
    pl.testing.assert_frame_equal(got, churn.survival_frame(source, inactivity_days=W), check_exact=True)
    moments = tx.group_by("customer_id", "order_date").agg(pl.col("order_id").n_unique())
    firsts = moments.filter(pl.col("order_date") == pl.col("order_date").min().over("customer_id"))
    assert (firsts["order_id"] > 1).sum() >= 3  # customers with several first orders: the smallest id is taken


#: What the runs path does with each change: True (runs of orders), False (not runs of orders: None), None (an amount
#: it cannot add exactly: it raises, and the caller groups by order).
RUNS_OUTCOME = {
    "one order, two customers": False, "an order split in two moments": False, "ids up and down": False,
    "an order id missing": False, "a NaN amount": None, "an amount too large for millionths in Int64": None,
    "negative and missing amounts": True,
}


@pytest.mark.parametrize("change", list(RUNS_OUTCOME))
def test_lines_that_cannot_be_runs_of_orders_are_grouped_by_order(monkeypatch, change):
    tx = _order_lines()
    assert tx["order_id"][0] == tx["order_id"][1]  # the first order has two lines
    row = pl.int_range(pl.len())
    amount, order_id = pl.col("amount"), pl.col("order_id")
    edits = {
        "one order, two customers": dict(customer_id=pl.when(row == 0).then(10_000).otherwise(pl.col("customer_id"))),
        "an order split in two moments": dict(
            order_date=pl.when(row == tx.height - 1).then(pl.col("order_date") + dt.timedelta(hours=1))
            .otherwise(pl.col("order_date"))),
        "ids up and down": dict(order_id=pl.when(row == tx.height - 1).then(-1).otherwise(order_id)),
        "an order id missing": dict(order_id=pl.when(row == 5).then(None).otherwise(order_id)),
        "a NaN amount": dict(amount=pl.when(row == 7).then(float("nan")).otherwise(amount)),
        "an amount too large for millionths in Int64": dict(amount=pl.when(row == 7).then(9e6).otherwise(amount)),
        "negative and missing amounts": dict(
            amount=pl.when(row % 5 == 0).then(-amount).when(row % 7 == 0).then(None).otherwise(amount)),
    }
    tx = tx.with_columns(**edits[change])
    seen = _runs_spy(monkeypatch)
    got = churn.survival_frame(tx, inactivity_days=W)
    assert seen == ([] if RUNS_OUTCOME[change] is None else [RUNS_OUTCOME[change]])
    want = churn.survival_frame(_shuffled(tx), inactivity_days=W)
    pl.testing.assert_frame_equal(got, want, check_exact=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(line, min_size=2, max_size=40), st.integers(1, 120), st.booleans(), st.booleans())
def test_survival_frame_of_lines_stored_order_by_order_matches_the_definition(raw, window, own, lazy):
    start = d(2024, 1, 1)
    # ``own``: each order id belongs to one customer (the usual case); otherwise ids are shared by customers
    rows = sorted(((o % 6 if own else c), f"o{o}", start + dt.timedelta(days=day, hours=h), float(a))
                  for c, o, day, h, a in raw)
    rows.sort(key=lambda r: r[1])  # order by order, ids increasing
    as_of = start + dt.timedelta(days=230)
    tx = pl.DataFrame(rows, schema=["customer_id", "order_id", "order_date", "amount"], orient="row")
    sf = churn.survival_frame(tx.lazy() if lazy else tx, as_of=as_of, inactivity_days=window)
    ref = _reference_frame(rows, as_of, window)
    assert sf["customer_id"].to_list() == sorted(ref)
    for row in sf.iter_rows(named=True):
        want = ref[row["customer_id"]]
        assert {k: row[k] for k in want} == want, row


def test_a_lazy_frame_with_lines_to_leave_out_counts_them_as_a_data_frame_does():
    message = ("survival_frame: 3 of 13 transaction lines were left out: 1 without a customer_id, "
               "2 dated at or after as_of=2024-03-31 12:00:00.")
    with pytest.warns(ChurnDataWarning, match=re.escape(message)):
        lazy = churn.survival_frame(_tx().lazy(), as_of=AS_OF, inactivity_days=W)
    pl.testing.assert_frame_equal(lazy, _frame())
    no_date = _tx().with_columns(order_date=pl.when(pl.col("order_id") == "b1").then(None).otherwise(
        pl.col("order_date"))).filter(pl.col("customer_id").is_not_null())
    with pytest.warns(ChurnDataWarning, match=re.escape("1 without an order_date")):
        churn.survival_frame(no_date.lazy(), as_of=d(2024, 4, 5), inactivity_days=W)


def test_clean_data_are_read_once_without_a_warning():
    tx = _order_lines()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        eager = churn.survival_frame(tx, inactivity_days=W)
        lazy = churn.survival_frame(tx.lazy(), as_of=d(2025, 1, 1), inactivity_days=W)
    assert eager.height == lazy.height == tx["customer_id"].n_unique()


# ---------------------------------------------------------------------------
# Orders counted by numpy (issue 21): whole-number ids in a DataFrame whose lines are not stored order by order
# ---------------------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(line, min_size=1, max_size=40), st.integers(1, 120), st.booleans())
def test_counted_orders_give_the_definitions_frame(recorded, raw, window, own):
    """Orders of shuffled lines counted by numpy (an order may span several moments): the frame of the definition
    and of the group-by, bit for bit; an order id with two customers is left to the group-by."""
    import custlab._grouping as grouping
    from custlab.churn import frames

    start = d(2024, 1, 1)
    rows = [((o % 6 if own else c), o, start + dt.timedelta(days=day, hours=h), float(a)) for c, o, day, h, a in raw]
    as_of = start + dt.timedelta(days=230)
    tx = pl.DataFrame(rows, schema=["customer_id", "order_id", "order_date", "amount"], orient="row")
    one_customer = tx.group_by("order_id").agg(pl.col("customer_id").n_unique())["customer_id"].max() == 1
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(frames, "looks_ordered", lambda lines: False)  # as shuffled lines are
        patch.setattr(grouping, "BLOCK", 5)  # lines read back and added 5 at a time
        with recorded(frames, "_counted_orders") as calls:
            sf = churn.survival_frame(tx, as_of=as_of, inactivity_days=window)
        assert len(calls) == 1 and (calls[0] is not None) == one_customer
        patch.setattr(frames, "_counted_orders", lambda lines: None)
        pl.testing.assert_frame_equal(sf, churn.survival_frame(tx, as_of=as_of, inactivity_days=window),
                                      check_exact=True)
    ref = _reference_frame(rows, as_of, window)
    assert sf["customer_id"].to_list() == sorted(ref)
    for row in sf.iter_rows(named=True):
        want = ref[row["customer_id"]]
        assert {k: row[k] for k in want} == want, row


COUNTED_ORDERS = {
    "as they are": True, "an order split in two moments": True, "one order, two customers": False,
    "a negative order id": False, "text order ids": False, "a NaN amount": False, "a missing amount": False,
    "an order of 2**53 millionths": False,
}


@pytest.mark.parametrize("change", list(COUNTED_ORDERS))
def test_counted_orders_decline_what_they_cannot_count_exactly(monkeypatch, change):
    from custlab.churn import frames

    tx = _shuffled(_order_lines())
    row, first = pl.int_range(pl.len()), pl.col("order_id") == tx["order_id"][0]
    edits = {
        "as they are": {},
        "an order split in two moments": dict(
            order_date=pl.when(first & (row > 0)).then(pl.col("order_date") + dt.timedelta(hours=1))
            .otherwise(pl.col("order_date"))),
        "one order, two customers": dict(customer_id=pl.when(row == 0).then(10_000).otherwise(pl.col("customer_id"))),
        "a negative order id": dict(order_id=pl.when(row == 3).then(-1).otherwise(pl.col("order_id"))),
        "text order ids": dict(order_id=pl.format("o{}", pl.col("order_id"))),
        "a NaN amount": dict(amount=pl.when(row == 7).then(float("nan")).otherwise(pl.col("amount"))),
        "a missing amount": dict(amount=pl.when(row == 7).then(None).otherwise(pl.col("amount"))),
        "an order of 2**53 millionths": dict(amount=pl.when(row == 7).then(9.1e9).otherwise(pl.col("amount"))),
    }
    tx = tx.with_columns(**edits[change])
    assert (frames._counted_orders(tx) is not None) is COUNTED_ORDERS[change]
    got = churn.survival_frame(tx, inactivity_days=W)
    monkeypatch.setattr(frames, "_counted_orders", lambda lines: None)
    pl.testing.assert_frame_equal(got, churn.survival_frame(tx, inactivity_days=W), check_exact=True)
