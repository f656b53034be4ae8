"""custlab.forecast.forecast: shape, intervals, the backtest's choice, fallbacks and bad input."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from custlab.exceptions import CustlabError, EmptyDataError
from custlab.forecast import ForecastWarning, backtest, forecast


def _weekly(values, sid):
    weeks = pl.date_range(dt.date(2022, 1, 3), dt.date(2030, 1, 1), "1w", eager=True)[: len(values)]
    return pl.DataFrame({"series_id": sid, "period": weeks, "value": [float(v) for v in values]})


def test_each_series_gets_its_backtested_model_and_ordered_non_negative_intervals(planted_series):
    panel = planted_series.filter(pl.col("series_id").is_in(["sunscreen", "noise_20", "tea"]))
    bt = backtest(panel, horizon=13)
    result = forecast(panel, horizon=13, backtest=bt)
    table = result.to_frame()
    assert table.height == 3 * 13 and table["step"].max() == 13
    assert table["period"].min() == panel["period"].max() + dt.timedelta(weeks=1)
    chosen = dict(result.chosen.select("series_id", "model").iter_rows())
    assert chosen == dict(bt.chosen.select("series_id", "model").iter_rows())
    assert (table["model"] == table["series_id"].replace_strict(chosen)).all()
    cols = ["lo_95", "lo_80", "mean", "hi_80", "hi_95"]
    values = table.select(cols).to_numpy()
    assert np.isfinite(values).all() and (values >= 0).all() and (np.diff(values, axis=1) >= -1e-9).all()
    sun = table.filter(pl.col("series_id") == "sunscreen")  # from mid-December: the planted winter trough
    assert sun["mean"].max() < 0.2 * 200
    assert "nan" not in " ".join(result.describe("zh")).lower()


def test_fixed_models_fall_back_to_naive_where_they_cannot_run():
    rng = np.random.default_rng(2)
    panel = pl.concat([_weekly(rng.poisson(30, 80), "long"), _weekly(rng.poisson(30, 20), "short")])
    result = forecast(panel, horizon=4, models="seasonal_naive")
    assert dict(result.chosen.select("series_id", "how").iter_rows()) == {"long": "fixed", "short": "fallback"}
    assert result.backtest is None and result.residuals.height > 0


def test_short_series_are_skipped_with_a_warning_and_nothing_forecastable_raises():
    panel = pl.concat([_weekly([5.0] * 40, "flat"), _weekly([7.0], "one_point"), _weekly([1.0, 2.0, 3.0], "new")])
    with pytest.warns(ForecastWarning, match="2 series not forecast"):
        result = forecast(panel, horizon=4, models="naive")
    assert sorted(result.skipped["series_id"].to_list()) == ["new", "one_point"]
    flat = result.table.filter(pl.col("series_id") == "flat")
    assert flat["mean"].to_list() == [5.0] * 4 and flat["hi_95"].to_list() == [5.0] * 4
    with pytest.raises(EmptyDataError, match="a forecast needs at least max\\(horizon, 3\\)"):
        forecast(_weekly([1.0, 2.0], "tiny"), horizon=2)
    with pytest.raises(CustlabError, match="level must be integers"):
        forecast(panel, horizon=2, level=(0.8,))
    bt = backtest(_weekly(np.arange(60) % 7, "x"), horizon=4, models=["ets"])
    with pytest.raises(CustlabError, match="backtest= was run with"):
        forecast(_weekly(np.arange(60) % 7, "x"), horizon=5, backtest=bt)


def test_all_zero_and_negative_series_forecast_without_nan():
    rng = np.random.default_rng(3)
    panel = pl.concat([_weekly([0.0] * 60, "zeros"), _weekly(rng.normal(0, 5, 60), "net")])
    result = forecast(panel, horizon=6)
    zeros = result.table.filter(pl.col("series_id") == "zeros")
    assert zeros.select(["mean", "lo_95", "hi_95"]).to_numpy().max() == 0.0
    net = result.table.filter(pl.col("series_id") == "net")
    assert net["lo_95"].min() < 0  # a series with returns below zero is not clipped
    assert result.table.select(pl.all().exclude("series_id", "period", "model").is_nan().any()).row(0) == (False,) * 6
