"""Grouping by a packed (customer, number) key, and the fast paths built on it, against plain two-column group-bys."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import custlab._grouping as grouping
from custlab import churn, clv, cohorts
from custlab._grouping import pair_groups
from custlab._money import from_micros, micros

_ids = st.one_of(st.integers(-5, 40), st.integers(2**44 - 3, 2**44 + 3), st.none())
_numbers = st.one_of(st.integers(-3, 20), st.none())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_ids, _numbers, st.integers(0, 1000)), min_size=1, max_size=60))
def test_pair_groups_equals_two_columns_and_gathers_the_rest(rows):
    frame = pl.DataFrame(rows, schema={"c": pl.Int64, "n": pl.Int64, "v": pl.Int64}, orient="row")
    got = pair_groups(frame.lazy(), "c", pl.col("n").alias("n"), [pl.col("v").sum(), pl.len().alias("lines")],
                      bits=4, offset=2).collect()
    # Packed: 0 <= c < 2**58 and 0 <= n + 2 < 16; every other line lands in the one group with both keys missing.
    inside = frame.filter(pl.col("c").is_between(0, 2**58 - 1) & (pl.col("n") + 2).is_between(0, 15))
    want = inside.group_by("c", "n").agg(pl.col("v").sum(), pl.len().alias("lines").cast(pl.UInt32))
    assert_frame_equal(got.filter(pl.col("c").is_not_null()).sort("c", "n"), want.sort("c", "n"), check_dtypes=False)
    rest = got.filter(pl.col("c").is_null())
    assert rest.height == (1 if inside.height < frame.height else 0)
    assert rest["lines"].sum() == frame.height - inside.height
    if rest.height:
        assert rest["n"].is_null().all()


def test_pair_groups_keeps_text_ids_as_two_columns():
    frame = pl.LazyFrame({"c": ["a", "b", "a"], "n": [1, 1, 1], "v": [1, 2, 3]})
    got = pair_groups(frame, "c", pl.col("n"), [pl.col("v").sum()], bits=4).collect().sort("c")
    assert got.rows() == [("a", 1, 4), ("b", 1, 2)]


def test_money_is_added_in_millionths_the_same_in_any_order():
    amounts = pl.DataFrame({"amount": [0.1] * 10 + [1e6, 0.3, 2.675]})
    total = amounts.select(from_micros(micros().sum())).item()
    assert total == 1_000_003.975
    shuffled = amounts.sample(fraction=1.0, shuffle=True, seed=3)
    assert shuffled.select(from_micros(micros().sum())).item() == total


def _lines(ids, seed=0, n=400):
    rng = np.random.default_rng(seed)
    customer = rng.choice(np.asarray(ids, dtype=np.int64), n)
    order = np.arange(n) // 2  # two lines per order
    days = rng.integers(0, 400, n // 2)[order]
    return pl.DataFrame({
        "customer_id": customer[order * 2],  # both lines of an order have its first line's customer
        "order_id": order,
        "order_date": [dt.datetime(2023, 1, 1) + dt.timedelta(days=int(d), hours=int(d % 24)) for d in days],
        "amount": np.round(rng.gamma(2.0, 20.0, n), 2),
    })


@pytest.mark.parametrize("ids", [range(1, 30), range(-15, 15), [2**60 + i for i in range(20)]],
                         ids=["small", "negative", "beyond the packed range"])
def test_fast_paths_equal_the_grouping_by_two_columns(ids):
    lines = _lines(list(ids))
    as_text = lines.with_columns(pl.col("customer_id").cast(pl.String))  # text ids: never packed
    summary = clv.clv_summary(lines, freq="D")
    text_summary = clv.clv_summary(as_text, freq="D")
    assert_frame_equal(summary.with_columns(pl.col("customer_id").cast(pl.String)).sort("customer_id"),
                       text_summary.sort("customer_id"))
    retention = cohorts.cohort_retention(lines)
    assert_frame_equal(retention, cohorts.cohort_retention(as_text))
    frame = churn.survival_frame(lines)
    assert_frame_equal(frame.with_columns(pl.col("customer_id").cast(pl.String)).sort("customer_id"),
                       churn.survival_frame(as_text).sort("customer_id"))


def test_survival_counts_an_order_id_shared_by_two_customers_as_two_orders():
    lines = pl.DataFrame({
        "customer_id": [1, 1, 2, 2],
        "order_id": ["a", "b", "a", "c"],
        "order_date": [dt.datetime(2024, 1, 1), dt.datetime(2024, 2, 1), dt.datetime(2024, 1, 5), dt.datetime(2024, 3, 1)],
        "amount": [10.0, 20.0, 7.5, 1.0],
    })
    frame = churn.survival_frame(lines, as_of="2024-04-01")
    assert frame.select("customer_id", "n_orders", "first_order_value").rows() == [(1, 2, 10.0), (2, 2, 7.5)]


def test_clv_summary_refuses_missing_values_met_on_the_fast_path():
    lines = _lines(range(1, 30)).with_columns(
        amount=pl.when(pl.int_range(pl.len()) == 7).then(None).otherwise(pl.col("amount")))
    with pytest.raises(Exception, match="Column 'amount' has 1 missing value"):
        clv.clv_summary(lines)
    lines = _lines(range(1, 30)).with_columns(
        customer_id=pl.when(pl.int_range(pl.len()) == 3).then(None).otherwise(pl.col("customer_id")))
    with pytest.raises(Exception, match="Column 'customer_id' has 1 missing value"):
        clv.clv_summary(lines.lazy())


@pytest.mark.parametrize("block", [1, 2, 3, 4, 1000])
def test_scattered_finds_an_id_with_two_values_in_any_block(monkeypatch, block):
    monkeypatch.setattr(grouping, "BLOCK", block)
    ids, values = pl.col("id"), pl.col("value")
    lines = pl.DataFrame({"id": [0, 1, 2, 3, 4, 2], "value": [5, 6, 7, 8, 9, 7]})
    (table, same), (total,) = grouping.scattered(lines, ids, [values, values * 2], 7, fills=[-1, 0],
                                                 adds=[values.cast(pl.Float64)])
    assert table.tolist() == [5, 6, 7, 8, 9, -1, -1] and same.tolist() == [10, 12, 14, 16, 18, 0, 0]
    assert total.tolist() == [5.0, 6.0, 14.0, 8.0, 9.0, 0.0, 0.0]
    # id 4 takes 1 at the last line: only the line before it (in the third block of two) reads back another value
    lines = pl.DataFrame({"id": [0, 1, 2, 3, 4, 4], "value": [5, 6, 7, 8, 9, 1], "other": [1, 2, 3, 4, 5, 5]})
    (two, one), _ = grouping.scattered(lines, ids, [values, pl.col("other")], 5, fills=[-1, -1])
    assert two is None and one.tolist() == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("lengths, block, sizes", [
    ([2, 5], 1000, [7]),  # small chunks are read together
    ([5], 3, [3, 2]),  # a large one in pieces
    ([4, 4, 4], 4, [4, 4, 4]),  # chunks of a block's size: one block each (no copy)
    ([1] * 10, 4, [4, 4, 2]),
    ([7, 1, 1], 3, [3, 3, 3]),
    ([10, 2, 9], 4, [4, 4, 4, 4, 4, 1]),
])
def test_line_blocks_cover_every_line_once_in_order(monkeypatch, lengths, block, sizes):
    monkeypatch.setattr(grouping, "BLOCK", block)
    starts = np.cumsum([0, *lengths])
    lines = pl.concat([pl.DataFrame({"id": np.arange(a, b), "at": np.arange(a, b).astype("datetime64[us]")})
                       for a, b in zip(starts[:-1], starts[1:], strict=True)], rechunk=False)
    assert lines["id"].chunk_lengths() == lengths
    parts = list(grouping.line_blocks(lines, pl.col("id"), pl.col("at") + dt.timedelta(microseconds=1)))
    assert [len(ids) for ids, _ in parts] == sizes
    assert np.concatenate([ids for ids, _ in parts]).tolist() == list(range(sum(lengths)))
    assert np.concatenate([at for _, at in parts]).tolist() == list(range(1, sum(lengths) + 1))
