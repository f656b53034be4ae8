"""CLV plots: the artists show the data they were given."""

from __future__ import annotations

import numpy as np
import polars as pl

from custlab import clv

from .helpers import CAL_END, OBS_END


def test_plots_show_the_data(bgf, ggf, published, sample, summary):
    fig = clv.plot_probability_alive_matrix(bgf, max_frequency=10, max_recency=38)
    ax = fig.axes[0]
    values = np.ma.filled(ax.collections[0].get_array(), np.nan).reshape(39, 11)
    table = clv.probability_alive_matrix(bgf, max_frequency=10, max_recency=38)
    top_row = table.filter(pl.col("recency") == 38).sort("frequency")["p_alive"].to_numpy()
    np.testing.assert_allclose(values[0, 1:], top_row[1:])  # most recent at the top
    assert ax.get_xlabel() == "Frequency (repeat purchases)"
    fig = clv.plot_frequency_recency_matrix(bgf, horizon=4, max_frequency=10, language="zh")
    assert fig.axes[0].get_title() == "未来 4 周的预期购买次数"

    weeks = clv.tracking(sample, clv.BetaGeo(freq="W").fit(summary), calibration_end=CAL_END,
                         observation_end=OBS_END)
    ax = clv.plot_tracking(weeks).axes[0]
    actual, model, cut = ax.get_lines()
    np.testing.assert_array_equal(actual.get_ydata(), weeks["actual_cumulative"].to_numpy())
    np.testing.assert_array_equal(model.get_ydata(), weeks["expected_cumulative"].to_numpy())
    assert cut.get_xdata()[0] == 39.5
    weekly = clv.plot_tracking(weeks, cumulative=False, language="zh").axes[0]
    assert weekly.get_ylabel() == "每周复购次数"

    hist = clv.calibration_histogram(published, bgf)
    bars = clv.plot_calibration_histogram(hist).axes[0].containers
    assert [b.get_height() for b in bars[0]] == [float(v) for v in hist["actual"]]
    np.testing.assert_allclose([b.get_height() for b in bars[1]], hist["expected"].to_numpy())

    values = clv.predict_clv(published, bgf, ggf, months=12, annual_discount_rate=0.1)
    ax = clv.plot_clv_distribution(values, bins=30).axes[0]
    assert sum(p.get_height() for p in ax.patches) == 2357
    tiers = clv.clv_tiers(values)
    ax = clv.plot_clv_by_segment(tiers).axes[0]
    means = tiers.group_by("segment").agg(pl.col("clv").mean()).sort("clv", descending=True)
    np.testing.assert_allclose([p.get_height() for p in ax.patches], means["clv"].to_numpy())
    assert [t.get_text() for t in ax.get_xticklabels()] == means["segment"].to_list()
    shares = [t.get_text() for t in ax.texts]
    assert len(shares) == 3 and all(s.endswith("%") for s in shares)


def test_the_tracking_axis_counts_whole_purchases_when_they_are_few():
    # Olist's tracking chart had ticks at 2.5, 7.5 ... 17.5 repeat purchases
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    table = pl.DataFrame({"week": [1, 2, 3, 4], "period": ["calibration"] * 3 + ["holdout"],
                          "actual": [3.0, 5.0, 6.0, 4.0], "expected": [4.0, 4.5, 5.0, 5.0],
                          "actual_cumulative": [0.0, 6.0, 12.0, 17.0], "expected_cumulative": [0.0, 5.8, 11.7, 17.5]})
    fig = clv.plot_tracking(table)
    FigureCanvasAgg(fig).draw()
    ticks = fig.axes[0].get_yticks()
    assert len(ticks) >= 3 and all(float(t).is_integer() for t in ticks)
