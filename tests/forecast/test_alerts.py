"""Alerts: the 30% heat alert fires on the planted surge and not on noise; stock risks follow the seasons."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from custlab.exceptions import CustlabError, SchemaError
from custlab.forecast import Alerts, forecast, heat_alerts, stock_alerts


def test_heat_fires_on_the_planted_surge_only(planted, planted_series):
    alerts = heat_alerts(planted_series)
    assert alerts.to_frame()["series_id"].to_list() == [planted["surge"]["series_id"]]
    row = alerts.to_frame().row(0, named=True)
    assert row["kind"] == "heat_rising" and row["action"] == "restock_campaign"
    assert row["change"] > 0.3 and row["actual"] > row["bound"]
    assert row["respond_by"] == row["period"] + dt.timedelta(days=6 + 7)
    naive = heat_alerts(planted_series, basis="last_period")
    assert "surge" in naive.to_frame()["series_id"].to_list()
    for language in ("en", "zh"):
        text = " ".join(alerts.describe(language))
        assert "surge" in text and "nan" not in text.lower()


def test_heat_stays_silent_on_pure_noise():
    """200 flat Poisson series (means 10 to 300): the 30% rule beyond the 95% bound rarely fires (< 3%)."""
    rng = np.random.default_rng(11)
    weeks = pl.date_range(dt.date(2023, 1, 2), dt.date(2024, 12, 23), "1w", eager=True)
    means = rng.uniform(10, 300, 200)
    panel = pl.DataFrame({
        "series_id": np.repeat([f"s{i:03d}" for i in range(200)], weeks.len()),
        "period": pl.concat([weeks] * 200),
        "value": rng.poisson(np.repeat(means, weeks.len())).astype(float),
    })
    alerts = heat_alerts(panel, models="ets")
    assert alerts.to_frame().height <= 6
    assert alerts.describe("en")[0].startswith("No alert") or alerts.to_frame().height > 0


def test_stock_risks_follow_the_planted_seasons(planted_series):
    autumn = planted_series.filter(pl.col("series_id").is_in(["sunscreen", "down_jacket", "noise_100"])
                                   & (pl.col("period") < dt.date(2025, 9, 29)))
    result = forecast(autumn, horizon=13)
    risks = stock_alerts(result).to_frame()
    kinds = {s: (k, a) for s, k, a in risks.select("series_id", "kind", "action").iter_rows()}
    assert kinds == {"down_jacket": ("stockout_risk", "restock"), "sunscreen": ("overstock_risk", "markdown")}
    totals = result.table.group_by("series_id").agg(pl.col("hi_80").sum())
    hi = dict(totals.iter_rows())
    stock = pl.DataFrame({"series_id": ["down_jacket", "noise_100"], "on_hand": [hi["down_jacket"] / 2, 3 * hi["noise_100"]]})
    with_stock = stock_alerts(result, stock=stock).to_frame()
    assert dict(with_stock.select("series_id", "kind").iter_rows()) == {
        "down_jacket": "stockout_risk", "noise_100": "overstock_risk"}
    assert isinstance(stock_alerts(result) + stock_alerts(result, stock=stock), Alerts)
    with pytest.raises(SchemaError, match="on_hand"):
        stock_alerts(result, stock=stock.rename({"on_hand": "units"}))
    with pytest.raises(CustlabError, match="level=90 is not among"):
        stock_alerts(result, level=90)
    with pytest.raises(CustlabError, match="threshold must be a share"):
        heat_alerts(autumn, threshold=30)


def test_a_warning_of_the_forecast_points_at_the_callers_line(planted_series):
    """The demand_forecast notebook showed '.../custlab/forecast/alerts.py:176: ForecastWarning' under a cell."""
    from custlab.forecast import ForecastWarning

    short = pl.DataFrame({"series_id": ["tiny"] * 3, "period": pl.date_range(dt.date(2024, 1, 1), dt.date(2024, 1, 15),
                                                                             "1w", eager=True), "value": [1.0, 2.0, 3.0]})
    with pytest.warns(ForecastWarning) as caught:
        heat_alerts(pl.concat([planted_series, short]))
    assert all(w.filename == __file__ for w in caught if issubclass(w.category, ForecastWarning))


def test_another_librarys_warning_keeps_its_own_place(planted_series, monkeypatch):
    """Only custlab's warnings move to the caller's line; a library's deprecation stays where it was raised."""
    import warnings

    from custlab.forecast import alerts
    from custlab.forecast.outlook import heat_of

    real = alerts.forecast

    def noisy(*args, **kwargs):
        warnings.warn("old api", DeprecationWarning, stacklevel=1)  # as a dependency would, from its own file
        return real(*args, **kwargs)

    monkeypatch.setattr(alerts, "forecast", noisy)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        heat_of(planted_series, 0.3, None)  # called from custlab: a re-emitted warning would count as custlab's
    old = [w for w in caught if str(w.message) == "old api"]
    assert len(old) == 1 and old[0].filename == __file__
