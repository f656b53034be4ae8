"""custlab.forecast.backtest: errors against a hand computation, planted demand recovered, Online Retail weekly."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from custlab.exceptions import CustlabError, EmptyDataError
from custlab.forecast import backtest, series


def _monthly(values, sid="x", start=dt.date(2020, 1, 1)):
    months = pl.date_range(start, start.replace(year=start.year + 10), "1mo", eager=True)[: len(values)]
    return pl.DataFrame({"series_id": sid, "period": months, "value": [float(v) for v in values]})


def test_mase_and_wape_equal_a_hand_computation_of_naive_and_seasonal_naive():
    rng = np.random.default_rng(4)
    y = 50 + 10 * np.sin(np.arange(30) * 2 * np.pi / 12) + rng.normal(0, 3, 30)
    result = backtest(_monthly(y), horizon=3, models=["naive"], n_windows=2)
    rows = dict(result.table.filter(pl.col("series_id") == "x").select("model", "mase").iter_rows())
    wapes = dict(result.table.filter(pl.col("series_id") == "x").select("model", "wape").iter_rows())
    for model, lag in (("naive", None), ("seasonal_naive", 12)):
        mases, errors, volume = [], 0.0, 0.0
        for cut in (24, 27):
            train, test = y[:cut], y[cut:cut + 3]
            guess = np.full(3, train[-1]) if lag is None else train[cut - lag:cut - lag + 3]
            mases.append(np.abs(guess - test).mean() / np.abs(np.diff(train)).mean())
            errors += np.abs(guess - test).sum()
            volume += np.abs(test).sum()
        assert rows[model] == pytest.approx(np.mean(mases), rel=1e-9)
        assert wapes[model] == pytest.approx(errors / volume, rel=1e-9)


def test_planted_seasons_festival_and_trend_are_recovered(planted_series):
    """Weekly planted demand (3 years): auto beats both baselines, MASE well below 1, intervals near nominal."""
    result = backtest(planted_series, horizon=13)
    assert result.trusted
    assert result.score("auto") < 0.85 < result.score("seasonal_naive") < result.score("naive")
    summary = result.summary.filter(pl.col("model") == "auto")
    assert 0.70 <= summary["coverage_80"][0] <= 0.92 and 0.85 <= summary["coverage_95"][0] <= 0.99
    per = result.table.filter(pl.col("series_id").is_not_null())
    mase = {(s, m): v for s, m, v in per.select("series_id", "model", "mase").iter_rows()}
    for seasonal in ("sunscreen", "down_jacket"):  # the season is real: last year's week beats a flat level
        assert mase[(seasonal, "seasonal_naive")] < 1.0 < mase[(seasonal, "naive")]
        assert mase[(seasonal, "seasonal_naive")] < mase[(seasonal, "ets")] / 3
    assert mase[("tea", "auto")] < 0.8 and mase[("tea", "auto")] < mase[("tea", "seasonal_naive")]  # the trend


def test_festival_flags_let_arima_beat_last_years_week_on_the_moving_spring_festival(planted_series):
    gifts = planted_series.filter(pl.col("series_id") == "gift_box")
    result = backtest(gifts, horizon=13, models=["arima"], n_windows=2)
    mase = dict(result.table.filter(pl.col("series_id").is_not_null()).select("model", "mase").iter_rows())
    assert mase["arima"] < 0.9 * mase["seasonal_naive"] and mase["arima"] < 0.7


def test_online_retail_weekly_revenue_per_country_auto_beats_seasonal_naive(retail_demand):
    weekly = series(retail_demand, by="country", freq="1w")
    result = backtest(weekly, horizon=13)
    assert result.score("auto") < result.score("seasonal_naive") < result.score("naive")
    assert result.summary["n_series"][0] >= 25
    overall = result.table.filter(pl.col("series_id").is_null())
    assert set(overall["model"]) >= {"auto", "naive", "seasonal_naive", "ets", "theta", "croston", "ensemble"}
    assert overall["wape"].is_not_null().all() and not overall["mase"].is_nan().any()


def test_short_constant_negative_and_too_long_horizon_are_handled():
    rng = np.random.default_rng(1)
    panel = pl.concat([
        _monthly(rng.poisson(20, 30), "ok"),
        _monthly([0.0] * 30, "zeros"),
        _monthly(np.r_[rng.poisson(3, 29), -5.0], "returns"),  # a period with net returns
        _monthly([4.0, 5.0], "new"),
    ])
    result = backtest(panel, horizon=3, n_windows=2)
    assert result.unscored["series_id"].to_list() == ["new"]
    zeros = result.table.filter(pl.col("series_id") == "zeros")
    assert zeros["mase"].is_null().all() and zeros["wape"].is_null().all()
    assert result.chosen.filter(pl.col("series_id") == "zeros")["model"].item() == "naive"
    returns = set(result.table.filter(pl.col("series_id") == "returns")["model"])
    assert not returns & {"croston", "tsb", "adida"}  # intermittent-demand models need non-negative demand
    text = " ".join(result.describe("en") + result.describe("zh"))
    assert "nan" not in text.lower() and "None" not in text
    with pytest.raises(EmptyDataError, match="needs at least 20"):
        backtest(_monthly(range(10)), horizon=12)
    with pytest.raises(CustlabError, match="horizon must be a whole number"):
        backtest(panel, horizon=0)
    with pytest.raises(CustlabError, match="unknown \\['prophet'\\]"):
        backtest(panel, horizon=3, models=["prophet"])


def _reference_pick(rows: list[tuple[str, float | None, float | None]]) -> str:
    """The rule in words: lowest MASE, then lowest WAPE, then the simpler model (missing scores last)."""
    from custlab.forecast.backtest import PREFERENCE

    def key(row):
        model, mase, wape = row
        return (mase is None, mase or 0.0, wape is None, wape or 0.0, PREFERENCE.index(model))

    return min(rows, key=key)[0]


def _mean_of_all(mases: list[float | None]) -> float | None:
    """A series' MASE over its windows: undefined when any window's is (never the mean of the others)."""
    return None if any(m is None for m in mases) else float(np.mean(mases))


def test_model_choice_and_autos_held_out_choice_follow_the_rule_on_ties_and_missing_scores():
    from custlab.forecast.backtest import _auto_rows, _choose

    rng = np.random.default_rng(7)
    models = ["naive", "seasonal_naive", "ets", "theta", "ensemble"]
    cutoffs = [dt.date(2024, 3, 1), dt.date(2024, 6, 1), dt.date(2024, 9, 1)]
    rows = []
    for i in range(60):
        for model in models:
            for cutoff in cutoffs[: 1 + i % 3]:  # series with one, two and three windows
                mase = float(rng.choice([0.5, 0.8, 1.0])) if rng.random() > 0.15 else None  # ties and gaps
                abs_error = float(rng.choice([10.0, 20.0]))
                rows.append((f"s{i:02d}", model, cutoff, mase, abs_error, 100.0, 13, 13, 13, 13, 13))
    per_window = pl.DataFrame(rows, orient="row", schema={
        "series_id": pl.String, "model": pl.String, "cutoff": pl.Date, "mase": pl.Float64, "abs_error": pl.Float64,
        "volume": pl.Float64, "n": pl.Int64, "hits_80": pl.Int64, "has_80": pl.Int64, "hits_95": pl.Int64,
        "has_95": pl.Int64})
    from custlab.forecast.backtest import _series_table

    table = _series_table(per_window, (80, 95))
    for (sid, model), group in per_window.group_by("series_id", "model"):
        expected = _mean_of_all(group["mase"].to_list())
        got = table.filter((pl.col("series_id") == sid) & (pl.col("model") == model))["mase"].item()
        assert got == (None if expected is None else pytest.approx(expected)), (sid, model)
    profile = table.select("series_id").unique().with_columns(intermittent=False, windows=pl.lit(3, pl.Int64))
    chosen = dict(_choose(table, profile).select("series_id", "model").iter_rows())
    for (sid,), group in table.group_by("series_id"):
        assert chosen[sid] == _reference_pick(list(group.select("model", "mase", "wape").iter_rows())), sid

    auto = {r["series_id"]: r for r in _auto_rows(per_window, (80, 95)).iter_rows(named=True)}
    for (sid,), group in per_window.group_by("series_id"):
        windows = sorted(set(group["cutoff"]))
        if len(windows) < 2:
            assert sid not in auto
            continue
        abs_error = 0.0
        for held in windows:
            others = group.filter(pl.col("cutoff") != held).group_by("model").agg(
                pl.col("mase"), pl.col("abs_error").sum(), pl.col("volume").sum())
            pick = _reference_pick([(m, _mean_of_all(s), a / v) for m, s, a, v in others.select(
                "model", "mase", "abs_error", "volume").iter_rows()])
            abs_error += group.filter((pl.col("cutoff") == held) & (pl.col("model") == pick))["abs_error"].sum()
        assert auto[sid]["abs_error"] == pytest.approx(abs_error), sid


def test_scores_are_the_same_to_the_last_bit_whatever_the_order_of_the_series():
    # Scores are means and sums over windows and series; polars hands groups back in no fixed order, and the
    # report's accuracy figures moved in the 16th digit when the lines came in another order.
    rng = np.random.default_rng(3)
    panel = pl.concat([_monthly(np.round(rng.gamma(3.0, 40.0, 48), 2), sid=f"s{i}") for i in range(12)])
    first = backtest(panel, horizon=3, models=["naive", "seasonal_naive", "theta"], n_windows=4)
    for seed in range(3):
        again = backtest(panel.sample(fraction=1.0, shuffle=True, seed=seed), horizon=3,
                         models=["naive", "seasonal_naive", "theta"], n_windows=4)
        assert again.summary.rows() == first.summary.rows()
        keys = ["series_id", "model"]
        assert again.to_frame().sort(keys, nulls_last=True).rows() == first.to_frame().sort(keys, nulls_last=True).rows()


def test_a_window_with_a_zero_scale_leaves_the_series_without_a_mase_and_the_choice_to_wape():
    # A mug sold 10 a month for 20 months, then 40: the first two windows' training never changed (scale 0), so
    # their MASE was null and the mean of the third alone gave naive a "perfect" 0.00 (WAPE 14%, abs error 30).
    months = pl.date_range(dt.date(2023, 1, 1), dt.date(2024, 12, 1), "1mo", eager=True)
    mug = pl.DataFrame({"series_id": "mug", "period": months, "value": [10.0] * 20 + [40.0] * 4})
    result = backtest(mug, horizon=3)
    rows = result.table.filter(pl.col("series_id") == "mug")
    assert rows["mase"].is_null().all()  # no model of the series is scored on MASE, the auto row included
    assert rows["wape"].is_not_null().all() and (rows["n_windows"] == 3).all()
    naive = rows.filter(pl.col("model") == "naive").row(0, named=True)
    assert naive["abs_error"] == pytest.approx(30.0) and naive["wape"] == pytest.approx(30.0 / 210.0)
    models = rows.filter(pl.col("model") != "auto")
    best = models.sort("wape")["model"][0]
    assert result.chosen["model"].to_list() == [best] == models.filter(pl.col("chosen"))["model"].to_list()
    assert best == "naive"  # the lowest WAPE: 30 of 210 missed, against 100 and more for the others
    overall = result.table.filter(pl.col("series_id").is_null())
    assert overall["mase"].is_null().all() and overall["wape"].is_not_null().all()
    assert result.summary.is_empty() and result.score("naive") is None and not result.trusted
    for language in ("en", "zh"):
        text = " ".join(result.describe(language))
        assert "0.00" not in text and "(0 " not in text and "（0 " not in text, text  # no MASE, no "0 series"
    assert result.verdict == "untested" and result.by_wape == ["mug"]
    assert result.describe("en") == [
        "No series has a MASE: in a window of each, the training data never changed, so its errors have no scale. The "
        "models were chosen by WAPE and cannot be judged against the naive baselines: the forecasts are untested, do "
        "not plan on them alone.",
        "Models chosen per series: naive baseline 1."]
    assert result.describe("zh")[0].startswith("没有序列能计算 MASE") and "WAPE" in result.describe("zh")[0]

    # Beside a series with a MASE, the weighted figures are that series' alone; the mug's choice is still by WAPE.
    rng = np.random.default_rng(5)
    both = pl.concat([mug, _monthly(50 + rng.normal(0, 5, 24), "tea")])
    mixed = backtest(both, horizon=3, models=["naive", "theta"])
    tea = backtest(both.filter(pl.col("series_id") == "tea"), horizon=3, models=["naive", "theta"])
    assert mixed.summary.rows() == tea.summary.rows()
    assert mixed.chosen.filter(pl.col("series_id") == "mug")["model"].item() == "naive"
    assert mixed.by_wape == ["mug"] and mixed.verdict != "untested"
    said = {language: mixed.describe_verdict(language) for language in ("en", "zh")}
    assert said["en"][0].startswith("Backtest over 1 series") and said["en"][-1] == (
        "1 series have no MASE (in a window of each, the training data never changed): their models were chosen by "
        "WAPE, and they are left out of the weighted MASE.")
    assert said["zh"][-1].startswith("1 个序列没有 MASE") and len(said["zh"]) == len(said["en"])
