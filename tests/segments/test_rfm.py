"""rfm_table: Online Retail reconciled against the README figures and an independent pandas computation;
the same bits on every layout and path; money that never overflows (issue 14); bad input."""

from __future__ import annotations

import datetime as dt
import re
from fractions import Fraction

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import custlab._grouping as grouping
import custlab.segments as S
import custlab.segments.rfm as rfm_module
from custlab.data.schema import validate
from custlab.exceptions import CustlabError, EmptyDataError, SchemaError
from custlab.segments import rfm_table
from custlab._grouping import looks_ordered
from custlab.segments.rfm import _by_counting, _by_lines, _by_runs, _finish, _NotExact

from .helpers import AS_OF, make_tx


# --------------------------------------------------------------------------------------------------
# Online Retail: reconciliations and an independent pandas computation
# --------------------------------------------------------------------------------------------------


def test_online_retail_reconciles_with_the_clean_data(online_retail_clean, retail_rfm):
    assert retail_rfm.height == 4339
    assert retail_rfm["frequency"].sum() == 18536 == online_retail_clean["order_id"].n_unique()
    net = online_retail_clean["amount"].sum()
    assert retail_rfm["monetary"].sum() == pytest.approx(net, rel=1e-12)
    # first order 2010-12-01, last 2011-12-09: recency spans 1..374 days at 2011-12-10
    assert (retail_rfm["recency"].min(), retail_rfm["recency"].max()) == (1, 374)
    assert retail_rfm.schema["recency"] == pl.Int64 and retail_rfm.schema["first_order"] == pl.Datetime("us")
    assert retail_rfm.columns == list(S.RFM_COLUMNS)


def test_online_retail_matches_an_independent_pandas_computation(online_retail_clean, retail_rfm):
    df = online_retail_clean.select("customer_id", "order_id", "order_date", "amount").to_pandas()
    as_of = pd.Timestamp(AS_OF)
    ref = df.groupby("customer_id").agg(
        first_order=("order_date", "min"), last_order=("order_date", "max"),
        frequency=("order_id", "nunique"), monetary=("amount", "sum"),
    )
    ref["recency"] = (as_of - ref["last_order"].dt.normalize()).dt.days
    ref["tenure"] = (as_of - ref["first_order"].dt.normalize()).dt.days
    ours = retail_rfm.to_pandas().set_index("customer_id")
    assert list(ours.index) == sorted(ref.index)
    ref = ref.loc[ours.index]
    for col in ("recency", "frequency", "tenure"):
        np.testing.assert_array_equal(ours[col].to_numpy(), ref[col].to_numpy())
    for col in ("first_order", "last_order"):
        assert (ours[col].to_numpy() == ref[col].to_numpy()).all()
    np.testing.assert_allclose(ours["monetary"], ref["monetary"], rtol=1e-12)
    np.testing.assert_allclose(ours["avg_order_value"], ref["monetary"] / ref["frequency"], rtol=1e-12)


def test_default_as_of_is_the_day_after_the_last_order(online_retail_clean, retail_rfm):
    assert rfm_table(online_retail_clean).equals(retail_rfm)


def test_lazyframe_and_streamed_parquet_give_the_same_table(online_retail_clean, retail_rfm, tmp_path):
    path = tmp_path / "clean.parquet"
    online_retail_clean.write_parquet(path, row_group_size=50_000)
    # bit for bit: money is added exactly, whatever the batches and threads
    assert rfm_table(pl.scan_parquet(path), as_of=AS_OF).equals(retail_rfm)
    assert rfm_table(online_retail_clean.lazy(), as_of=AS_OF, engine="in-memory").equals(retail_rfm)


# --------------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------------


def test_negative_amounts_left_in_are_refused(online_retail):
    raw = online_retail.filter(pl.col("customer_id").is_not_null())
    negative = raw.filter(pl.col("amount") < 0)
    message = (f"transactions hold {negative.height:,} line(s) with a negative amount (returns or cancellations "
               f"left in) for {negative['customer_id'].n_unique():,} customer(s)")
    with pytest.raises(CustlabError, match=re.escape(message)) as err:
        rfm_table(raw)
    assert "clean_transactions(tx) (rules 'cancelled', 'returned')" in str(err.value)


def test_small_bad_inputs_get_clear_messages():
    tx = make_tx([(1, 1, "2024-01-05", 10.0), (2, 2, "2024-02-01", -3.0)])
    negative = ("transactions hold 1 line(s) with a negative amount (returns or cancellations left in) for 1 "
                "customer(s), e.g. customer_id [2].")
    with pytest.raises(CustlabError, match=re.escape(negative)):
        rfm_table(tx)
    with pytest.raises(CustlabError, match=re.escape(negative)):  # found while streaming, counted after
        rfm_table(tx.lazy())
    nan = tx.with_columns(amount=pl.Series([10.0, float("nan")]))
    with pytest.raises(CustlabError, match=re.escape("1 line(s) with no amount (missing, NaN or infinite)")):
        rfm_table(nan.lazy())
    with pytest.raises(EmptyDataError, match=re.escape(
            "as_of=2024-01-01 00:00 is on or before the first order (2024-01-05 00:00)")):
        rfm_table(tx, as_of="2024-01-01")
    missing = tx.with_columns(customer_id=pl.when(pl.col("order_id") == 2).then(None).otherwise(pl.col("customer_id")))
    for frame in (missing, missing.lazy()):
        with pytest.raises(CustlabError, match=re.escape("transactions hold 1 line(s) with no customer_id.")):
            rfm_table(frame)
    with pytest.raises(CustlabError, match=re.escape("as_of must be a date such as '2011-12-10', got 'soon'")):
        rfm_table(tx, as_of="soon")
    with pytest.raises(TypeError, match="Convert a pandas frame with polars.from_pandas"):
        rfm_table(tx.to_pandas())
    with pytest.raises(SchemaError, match=re.escape("missing required column(s) ['amount']")):
        rfm_table(tx.drop("amount"))


def test_orders_from_as_of_on_are_not_counted():
    tx = make_tx([(1, 1, "2024-01-05", 10.0), (1, 2, "2024-03-01", 99.0), (2, 3, "2024-02-20", 5.0)])
    out = rfm_table(tx, as_of="2024-03-01")
    assert out.rows() == [
        (1, 56, 1, 10.0, 10.0, dt.datetime(2024, 1, 5), dt.datetime(2024, 1, 5), 56),
        (2, 10, 1, 5.0, 5.0, dt.datetime(2024, 2, 20), dt.datetime(2024, 2, 20), 10),
    ]



# --------------------------------------------------------------------------------------------------
# Layouts and paths: the same bits
# --------------------------------------------------------------------------------------------------


def _paths(lines: pl.DataFrame) -> dict[str, pl.DataFrame | None]:
    """Per-customer aggregates from each internal path (None: the path declined the data)."""
    source = lines.select("customer_id", "order_id", "order_date", "amount").lazy()
    out = {"lines": _by_lines(source, engine="streaming", guard_nulls=True)}
    for changes in (True, False):
        for engine in ("streaming", "in-memory"):
            out[f"runs {changes} {engine}"] = _by_runs(source, engine=engine, guard_nulls=True, count_changes=changes)
    return {k: None if v is None else v.sort("customer_id") for k, v in out.items()}


def test_every_path_gives_the_same_bits_on_online_retail(online_retail_clean):
    paths = _paths(online_retail_clean)
    assert looks_ordered(online_retail_clean.lazy())  # invoices come line by line
    # invoice numbers are not monotone in the file, so counting order changes is declined ...
    assert paths["runs True streaming"] is None and paths["runs True in-memory"] is None
    # ... and runs with n_unique agree with grouping the lines, bit for bit
    assert paths["runs False streaming"].equals(paths["lines"])
    assert paths["runs False in-memory"].equals(paths["lines"])


def test_every_path_gives_the_same_bits_on_sorted_orders(shop):
    lines = shop.transactions.sort("order_id", "order_date", maintain_order=True)
    paths = _paths(lines)
    assert all(v is not None for v in paths.values())
    assert all(v.equals(paths["lines"]) for v in paths.values())
    # an order shared by two customers makes counting order changes wrong: it is declined
    second_line = pl.int_range(pl.len()) == 1
    shared = lines.with_columns(customer_id=pl.when(second_line).then(pl.col("customer_id").first() + 10**9)
                                .otherwise(pl.col("customer_id")))
    assert lines["order_id"][0] == lines["order_id"][1]
    declined = _paths(shared)
    assert declined["runs True streaming"] is None and declined["runs False streaming"].equals(declined["lines"])


def test_layouts_give_the_same_table(shop, tmp_path):
    ordered = shop.transactions.sort("order_id", maintain_order=True)
    reference = rfm_table(ordered)
    path = tmp_path / "lines.parquet"
    ordered.write_parquet(path, row_group_size=7_000)
    for layout in (ordered.reverse(), ordered.sample(fraction=1.0, shuffle=True, seed=1), ordered.lazy(),
                   pl.scan_parquet(path)):
        assert rfm_table(layout).equals(reference)


# --------------------------------------------------------------------------------------------------
# Money (issue 14): exact, never overflowing, the same eager and lazy
# --------------------------------------------------------------------------------------------------


def _money_lines(amounts: dict[int, list[float]]) -> pl.DataFrame:
    rows = [(c, 100 * c + i, dt.datetime(2024, 1, 1) + dt.timedelta(days=i), a) for c, values in amounts.items()
            for i, a in enumerate(values)]
    return pl.DataFrame(rows, schema={"customer_id": pl.Int64, "order_id": pl.Int64,
                                      "order_date": pl.Datetime("us"), "amount": pl.Float64}, orient="row")


def _all_inputs(lines: pl.DataFrame, tmp_path) -> list:
    path = tmp_path / "money.parquet"
    lines.write_parquet(path)
    return [lines, lines.reverse(), lines.lazy(), pl.scan_parquet(path)]


def test_money_never_overflows(tmp_path):
    # before: a 1e15 line counted as 0 and two 5e12 lines gave a negative monetary (Int64 millionths)
    lines = _money_lines({1: [1e15], 2: [5e12, 5e12], 3: [1e300, 1e300], 4: [0.1] * 10, 5: [9e15, 0.5]})
    for data in _all_inputs(lines, tmp_path):
        out = rfm_table(data)
        money = dict(out.select("customer_id", "monetary").rows())
        assert money[1] == 1e15 and money[2] == 1e13 and money[3] == 2e300
        assert money[4] == 1.0  # ten lines of 0.1: exact (a float64 sum gives 0.9999999999999999)
        assert money[5] == 9e15  # 9e15 + 0.5 rounds to the nearest float64, within the error bound
        assert out.equals(rfm_table(lines))


def test_sums_above_2_53_millionths_stay_within_the_error_bound(tmp_path):
    rng = np.random.default_rng(4)
    amounts = {c: [float(round(x, 2)) for x in rng.uniform(1e8, 5e9, 40)] for c in range(1, 6)}
    lines = _money_lines(amounts)
    out = rfm_table(lines)
    for c, values in amounts.items():
        exact = sum(Fraction(v) for v in values)  # each float64 amount as written, summed exactly
        got = out.filter(pl.col("customer_id") == c)["monetary"].item()
        assert abs(Fraction(got) - exact) <= exact * len(values) * Fraction(2) ** -53
    for data in _all_inputs(lines, tmp_path)[2:]:
        np.testing.assert_allclose(rfm_table(data)["monetary"], out["monetary"], rtol=40 * 2.0**-53)


def test_huge_lines_and_huge_runs_leave_the_fast_path_but_not_exactness():
    # a line above 2**43 millionths, or a run of 2**20 lines, is added line by line in float64
    big = _money_lines({1: [1.0, 9e6, 2.5], 2: [3.0]})
    with pytest.raises(_NotExact):
        big.lazy().pipe(_by_runs, engine="streaming", guard_nulls=True, count_changes=True)
    assert dict(rfm_table(big).select("customer_id", "monetary").rows()) == {1: 9e6 + 3.5, 2: 3.0}
    n = 2**20
    long_run = pl.DataFrame({"customer_id": [1] * n, "order_id": [7] * n,
                             "order_date": [dt.datetime(2024, 5, 1)] * n, "amount": [0.25] * n})
    with pytest.raises(_NotExact):
        long_run.lazy().pipe(_by_runs, engine="streaming", guard_nulls=False, count_changes=True)
    out = rfm_table(long_run)
    assert out.select("frequency", "monetary").row(0) == (1, n / 4)


def test_refused_lines_are_found_on_every_path():
    for amounts, what in (([1.0, -2.0], "a negative amount"), ([1.0, float("inf")], "no amount (missing, NaN or "
                                                                                     "infinite)"),
                          ([1.0, float("nan")], "no amount"), ([1.0, 1e303], "an amount too large to add")):
        lines = _money_lines({1: [5.0] * 3, 2: amounts})
        for data in (lines, lines.lazy(), lines.sample(fraction=1.0, shuffle=True, seed=0)):
            with pytest.raises(CustlabError, match=re.escape(f"transactions hold 1 line(s) with {what}")):
                rfm_table(data)


# --------------------------------------------------------------------------------------------------
# The counting path (issue 21): whole-number customer and order ids in a DataFrame, any row order
# --------------------------------------------------------------------------------------------------


def _grouped(lines: pl.DataFrame, as_of=None) -> pl.DataFrame:
    """The table of the group-by over lines (the path every layout can take), validated as rfm_table does."""
    lines = validate(lines, "transactions")
    source = lines.lazy() if as_of is None else lines.lazy().filter(pl.col("order_date") < as_of)
    return _by_lines(source, engine="streaming", guard_nulls=True, finish=lambda per: _finish(per, as_of=as_of))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 60), st.integers(0, 400), st.integers(0, 10**7)),
                min_size=1, max_size=150),
       st.sampled_from([pl.Int64, pl.UInt32, pl.Int16]), st.booleans(), st.booleans())
def test_counting_path_equals_the_group_by(recorded, rows, id_type, zoned, cut):
    """Customers, orders, instants and cents drawn at random (an order keeps its first customer): the counting
    path gives the group-by's table bit for bit, and the definition's frequency and money."""
    owner: dict[int, int] = {}
    rows = [(owner.setdefault(o, c), o, minutes, cents) for c, o, minutes, cents in rows]
    zone = "Asia/Shanghai" if zoned else None
    lines = pl.DataFrame({
        "customer_id": pl.Series([c for c, _, _, _ in rows], dtype=id_type),
        "order_id": [o for _, o, _, _ in rows],
        "order_date": pl.Series([dt.datetime(2024, 2, 1) + dt.timedelta(hours=7 * m) for _, _, m, _ in rows],
                                dtype=pl.Datetime("us", zone)),
        "amount": [cents / 100 for _, _, _, cents in rows],
    })
    as_of = dt.datetime(2024, 3, 1)
    if zoned or not cut or lines["order_date"].min() >= as_of:
        as_of = None  # zone-aware dates keep the default as_of here
    with pytest.MonkeyPatch.context() as patch, recorded(rfm_module, "_by_counting") as calls:
        patch.setattr(rfm_module, "looks_ordered", lambda source: False)  # as shuffled lines are
        patch.setattr(grouping, "BLOCK", 7)  # lines read back and added 7 at a time
        got = rfm_table(lines, as_of=as_of)
    assert calls and calls[0] is not None  # the counting path ran
    kept = lines if as_of is None else lines.filter(pl.col("order_date") < as_of)
    assert got.equals(_grouped(kept, as_of=as_of))
    by_customer: dict[int, tuple[set, int]] = {}
    for c, o, cents in kept.select("customer_id", "order_id", (pl.col("amount") * 100).round(0).cast(pl.Int64)).rows():
        orders, total = by_customer.get(c, (set(), 0))
        by_customer[c] = (orders | {o}, total + cents)
    assert dict(got.select("customer_id", "frequency").rows()) == {c: len(o) for c, (o, _) in by_customer.items()}
    assert dict(got.select("customer_id", "monetary").rows()) == {c: t / 100 for c, (_, t) in by_customer.items()}


def _counted(lines: pl.DataFrame):
    return _by_counting(lines, finish=lambda per: _finish(per, as_of=None))


@pytest.mark.parametrize("change, counted", [
    ({}, True),
    ({"customer_id": [0, 1, 2, 2**24 - 1]}, True),  # within the id table's bound
    ({"customer_id": [0, 1, 2, 2**24]}, False),  # beyond it
    ({"order_id": [-1, 1, 2, 3]}, False),  # negative order ids
    ({"order_id": ["a", "b", "c", "d"]}, False),  # text order ids
    ({"customer_id": ["a", "b", "c", "d"]}, False),  # text customer ids
    ({"order_id": [7, 7, 8, 9]}, False),  # order 7 has two customers: distinct ids are counted by polars
    ({"amount": [1.0, 2.0, 9.1e9, 0.5]}, False),  # a customer at 2**53 millionths: the group-by adds
    ({"amount": [1.0, -2.0, 3.0, 0.5]}, False),  # a refused line: the group-by reports it
])
def test_counting_path_declines_what_it_cannot_count_exactly(change, counted):
    lines = pl.DataFrame({"customer_id": [0, 1, 2, 3], "order_id": [7, 6, 8, 9],
                          "order_date": [dt.datetime(2024, 1, 5), dt.datetime(2024, 2, 5), dt.datetime(2024, 2, 9),
                                         dt.datetime(2024, 4, 1)],
                          "amount": [10.0, 20.0, 5.5, 8.25]}).with_columns(**{k: pl.Series(v) for k, v in change.items()})
    assert (_counted(lines) is not None) is counted
    if min(change.get("amount", [0.0])) < 0:  # the group-by reports the refused line
        with pytest.raises(CustlabError, match=re.escape("transactions hold 1 line(s) with a negative amount")):
            rfm_table(lines)
    else:
        assert rfm_table(lines).equals(_grouped(lines))
