"""Sequential rules: brute force, planted formula-then-stroller, arguments."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest

from custlab import rules as R
from custlab.exceptions import CustlabError

# --------------------------------------------------------------------------- sequential rules


def brute_sequential(tx: pl.DataFrame, within: int, end: dt.date, complete: bool) -> dict:
    """(A, B) -> (n_antecedent, count, lags) by plain Python loops over customers."""
    days: dict = {}
    for c, d, item in tx.select("customer_id", "order_date", "product_id").iter_rows():
        days.setdefault(c, []).append((d, item))
    out: dict = {}
    at_risk: dict = {}
    for purchases in days.values():
        items = {i for _, i in purchases}
        for a in items:
            first = min(d for d, i in purchases if i == a)
            if complete and not first + dt.timedelta(days=within) < end:
                continue
            at_risk[a] = at_risk.get(a, 0) + 1
            for b in items - {a}:
                later = [(d - first).days for d, i in purchases if i == b and 0 < (d - first).days <= within]
                if later:
                    out.setdefault((a, b), []).append(min(later))
    return {k: (at_risk[k[0]], len(v), float(np.median(v))) for k, v in out.items()}


@pytest.mark.parametrize("complete", [True, False])
def test_sequential_rules_equal_brute_force(complete):
    rng = np.random.default_rng(5)
    n = 400
    tx = pl.DataFrame({
        "customer_id": rng.integers(0, 60, n),
        "order_date": [dt.date(2024, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 120, n)],
        "product_id": rng.choice(list("abcdef"), n),
    })
    end = dt.date(2024, 5, 1)
    got = R.sequential_rules(tx, within="20d", min_support=0.0001, as_of=end, complete_window=complete)
    ref = brute_sequential(tx, 20, end, complete)
    assert {(r[0], r[1]): (r[2], r[3], r[4]) for r in
            got.select("antecedent", "consequent", "n_antecedent", "count", "median_lag_days").iter_rows()} == ref
    customers = tx["customer_id"].n_unique()
    assert (got["support"] - got["count"] / customers).abs().max() < 1e-15
    assert got["confidence"].is_between(0, 1).all()


def test_sequential_rules_without_any_pair_is_empty_with_schema():
    tx = pl.DataFrame({"customer_id": [1, 2], "order_date": [dt.date(2024, 1, 1)] * 2, "product_id": ["a", "b"]})
    out = R.sequential_rules(tx, min_support=0.5)
    assert out.height == 0
    assert out.schema["antecedent"] == pl.String and out.schema["median_lag_days"] == pl.Float64


def test_sequential_rules_arguments():
    tx = pl.DataFrame({"customer_id": [1], "order_date": [dt.date(2024, 1, 1)], "product_id": ["a"]})
    with pytest.raises(CustlabError, match=r"within must be a positive duration, got 0"):
        R.sequential_rules(tx, within=0)
    with pytest.raises(CustlabError, match=r"within must be a whole number of days such as '90d'.*got '36h'"):
        R.sequential_rules(tx, within="36h")
    with pytest.raises(CustlabError, match=r"Column 'customer_id' has 1 null value\(s\)\. Sequential rules follow"):
        R.sequential_rules(tx.with_columns(customer_id=pl.lit(None, dtype=pl.Int64)))


def test_synthetic_formula_then_stroller(shop):
    truth = shop.truth["associations"]["baby_formula=>stroller"]
    tx = shop.transactions
    seq = R.sequential_rules(tx, item="product_name", within=truth["window_days"][1], min_support=0.001,
                             antecedents=["baby_formula"], complete_window=False)
    top = seq.row(0, named=True)
    assert (top["antecedent"], top["consequent"]) == ("baby_formula", "stroller")
    assert top["n_antecedent"] == truth["n_formula_buyers"]
    # The planted share is over all formula buyers: 0.5 within 3 binomial standard errors.
    tolerance = 3 * math.sqrt(0.25 / truth["n_formula_buyers"])
    assert top["confidence"] == pytest.approx(truth["share"], abs=tolerance)
    assert 1 <= top["median_lag_days"] <= 90 and top["lift"] > 5
    # Censoring the anchors without a full 90-day window keeps the rule near the planted share.
    censored = R.sequential_rules(tx, item="product_name", within="90d", min_support=0.001,
                                  antecedents=["baby_formula"], consequents=["stroller"])
    assert censored["n_antecedent"].item() < truth["n_formula_buyers"]
    assert censored["confidence"].item() == pytest.approx(truth["share"], abs=0.08)




def test_sequential_rules_ignore_orders_from_as_of_on():
    rng = np.random.default_rng(8)
    n = 300
    tx = pl.DataFrame({
        "customer_id": rng.integers(0, 40, n),
        "order_date": [dt.datetime(2024, 1, 1, 10) + dt.timedelta(days=int(d)) for d in rng.integers(0, 150, n)],
        "product_id": rng.choice(list("abcde"), n),
    })
    as_of = dt.datetime(2024, 4, 1)  # a date means its midnight: orders on 2024-04-01 are not history
    got = R.sequential_rules(tx, within="14d", min_support=0.001, as_of="2024-04-01")
    past = tx.filter(pl.col("order_date") < as_of)
    ref = R.sequential_rules(past, within=dt.timedelta(days=14), min_support=0.001, as_of=as_of)
    assert got.height > 0 and got.equals(ref)
    with pytest.raises(CustlabError, match="No order is before as_of='2023-01-01'"):
        R.sequential_rules(tx, as_of="2023-01-01")
