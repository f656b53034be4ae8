"""attribute(): every model on the same journeys, every order counted, per-path credit."""

from __future__ import annotations

import polars as pl
import pytest

import custlab.attribution as at


def test_every_order_counts_and_touchless_orders_are_reported(shop):
    result = at.attribute(shop.touches, shop.transactions, models=("last_touch",))
    orders = shop.transactions.select("order_id").n_unique()
    assert result.unattributed == orders - result.conversions
    assert result.unattributed > 0
    assert any("no marketing touch" in s for s in result.describe())


def test_per_path_credit_adds_up(planted):
    per_path = planted.per_path()
    assert per_path["conversions"].sum() == pytest.approx(planted.conversions)
    one = per_path.filter(pl.col("path") == "sms > live_stream")
    effects = dict(planted.markov.removal_effects.select("channel", "removal_effect").iter_rows())
    share = effects["live_stream"] / (effects["live_stream"] + effects["sms"])
    total = one["conversions"].sum()
    assert one.filter(pl.col("channel") == "live_stream")["conversions"].item() == pytest.approx(share * total)
