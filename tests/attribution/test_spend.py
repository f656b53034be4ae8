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


def test_the_spend_chart_compares_paid_channels_and_says_so(shop, planted):
    # Its value bars are shares of the paid channels' value (organic has no spend to set beside it), so they differ
    # from the shares of all conversions in the text; the legend said "(Markov (removal effect))" and not that.
    table = at.attribution_vs_spend(planted, shop.marketing_spend)
    for language, words in (("en", "Share of the paid channels' attributed value, Markov (removal effect)"),
                            ("zh", "付费渠道归因价值占比，马尔可夫（移除效应）")):
        fig = at.plot_attribution_vs_spend(table, language=language)
        legend = [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
        assert legend[1] == words
        paid = table.filter(pl.col("model") == "markov", pl.col("spend") > 0).sort("spend", descending=True)
        heights = [bar.get_height() for bar in fig.axes[0].patches[len(paid):]]
        assert heights == pytest.approx((paid["value"] / paid["value"].sum() * 100).to_list())
