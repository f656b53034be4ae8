"""Attribution beside spend and the budget move (incremental vs attributed returns)."""

from __future__ import annotations

import polars as pl
import pytest

import custlab.attribution as at


def test_attribution_beside_spend_and_the_budget_move(shop, planted):
    table = at.attribution_vs_spend(planted, shop.marketing_spend)
    markov = table.filter(pl.col("model") == "markov")
    assert set(markov["channel"]) == {"live_stream", "community", "search", "organic", "sms"}
    assert markov.filter(pl.col("channel") == "organic")["roas"].item() is None  # unpaid
    row = markov.filter(pl.col("channel") == "sms").row(0, named=True)
    assert row["roas"] == pytest.approx(row["value"] / row["spend"])
    attributed = at.reallocation(table)
    assert attributed.basis == "attributed" and "test the move first" in attributed.describe()
    tests = pl.DataFrame({"channel": ["live_stream", "sms"], "incremental_revenue": [5000.0, 4000.0],
                          "cost": [1000.0, 500.0]})
    incremental = at.reallocation(table, incremental=tests)
    assert (incremental.basis, incremental.source, incremental.target) == ("incremental", "live_stream", "sms")
    moved = incremental.to_frame()
    assert moved["new_spend"].sum() == pytest.approx(moved["spend"].sum())
    assert incremental.gain == pytest.approx(incremental.moved * (8.0 - 5.0))
