"""key_figures.json says of the CLV what the page says: the historical formula (no model passed the holdout) is not
trusted, whatever its own checks say; and the holdout table gives no verdict on the baselines."""

from __future__ import annotations

import datetime as dt

import polars as pl

from custlab import clv
from custlab.report import figures_clv


def _summary():
    tx = pl.DataFrame({
        "customer_id": ["a", "a", "a", "b", "c", "c", "d"],
        "order_date": [dt.datetime(2024, 1, d) for d in (2, 10, 20)] + [dt.datetime(2024, 1, 5)]
        + [dt.datetime(2024, 1, 3), dt.datetime(2024, 2, 1), dt.datetime(2024, 1, 15)],
        "amount": [10.0, 20.0, 30.0, 15.0, 12.0, 14.0, 9.0],
        "order_id": [str(i) for i in range(7)],
    })
    return clv.clv_summary(tx, as_of=dt.datetime(2024, 3, 1), freq="W")


def test_key_figures_do_not_trust_the_historical_formula():
    summary = _summary()
    result = clv.estimate_clv(summary, None, clv.ObservedSpend().fit(summary), annual_discount_rate=0.1, freq="W",
                              trusted=True)  # the choice passed its checks: no model beat the naive baseline
    values = result.values.select("customer_id", "clv", "p_alive")
    out = figures_clv._key_values(result, None, None, values, -0.431)
    assert out["method"] == "historical" and out["trusted"] is False and out["checks_passed"] is True
    untrusted = clv.estimate_clv(summary, None, clv.ObservedSpend().fit(summary), annual_discount_rate=0.1,
                                 freq="W", trusted=False)
    out = figures_clv._key_values(untrusted, None, None, values)
    assert out["trusted"] is False and out["checks_passed"] is False
