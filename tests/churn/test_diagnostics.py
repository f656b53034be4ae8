"""churn_diagnostics on hand-made data and the figures planted in the synthetic shop."""

from __future__ import annotations

import polars as pl
import pytest

from custlab import churn

from .helpers import d


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


def test_the_diagnostics_read_in_chinese_too():
    """The quickstart and churn notebooks in Chinese printed these three sentences in English."""
    import polars as pl

    from custlab import churn
    from custlab.synthetic import make_shop

    tx = make_shop(600, seed=4).transactions.filter(pl.col("customer_id").is_not_null())
    diag = churn.churn_diagnostics(tx)
    assert str(diag) == diag.text("en") and str(diag).startswith(f"Of {diag.silences:,} customers who fell silent")
    zh = diag.text("zh").splitlines()
    assert len(zh) == 3 and zh[0].startswith(f"在沉默满 90 天的 {diag.silences:,} 位客户中")
    assert f"{diag.early_churn_share:.0%}" in zh[1] and f"第 {diag.intervention_day} 天" in zh[2]
