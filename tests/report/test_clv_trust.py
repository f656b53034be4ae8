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


def test_the_page_says_how_many_one_time_buyers_the_historical_formula_values_at_zero():
    from custlab.report.text import render

    summary = _summary()  # b and d bought once
    result = clv.estimate_clv(summary, None, clv.ObservedSpend().fit(summary), annual_discount_rate=0.1, freq="W")
    zero = result.values.filter(pl.col("frequency") == 0)
    assert zero.height == 2 and (zero["clv"] == 0).all()
    said = figures_clv.one_time_zero(result)
    assert render(said, "en") == ("Under this formula the 2 one-time buyers (50.0% of the customers) have no past rate of "
                                  "their own and are valued at 0: the total leaves out what they will buy.")
    assert "2 位只下过一单的客户（占客户的 50.0%）" in render(said, "zh")
