"""Plots: artists, not pixels; no global state changed."""

from __future__ import annotations

import numpy as np
import polars as pl

from custlab import churn

from .helpers import _cox_data, _random_frame


def test_survival_plot_lines_bands_and_at_risk_counts():
    km = churn.kaplan_meier(_random_frame(1000), by="channel")
    fig = churn.plot_survival(km)
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")]
    medians = km.summary["median_days"].to_list()
    assert labels == [f"{g} (median {m:.0f} days)" if m is not None else f"{g} (median not reached)"
                      for g, m in zip(km.summary["group"], medians, strict=True)]
    assert len(ax.collections) == 4  # one confidence band per group
    curve = km.curves.filter(pl.col("group") == "a")
    line = next(line for line in ax.get_lines() if line.get_label().startswith("a ("))
    np.testing.assert_allclose(line.get_ydata(), curve["survival"].to_numpy())
    table = fig.axes[1].get_xticklabels()[0].get_text()  # the at-risk table under the x axis
    assert [line.strip() for line in table.splitlines() if line and not line.strip()[0].isupper()] == [
        "a", "b", "c", "(missing)"]
    assert table.count("At risk") == 4 and table.count("Events") == 4


def test_at_risk_counts_follow_lifelines_convention():
    """At each tick: lifelines' event table up to the tick, at_risk - removed of its last row, summed events."""
    from lifelines import KaplanMeierFitter

    sf = _random_frame(1000)
    km = churn.kaplan_meier(sf, by="channel")
    ticks = [0.0, 50.0, 100.0, 150.5, 300.0, 450.0]
    counts = churn.at_risk_counts(km, ticks)
    for group in km.summary["group"].to_list():
        part = sf.filter(pl.col("channel").is_null() if group == "(missing)" else pl.col("channel") == group)
        table = KaplanMeierFitter().fit(part["duration_days"].to_numpy(), part["churned"].to_numpy()).event_table
        mine = counts.filter(pl.col("group") == group)
        for tick, at_risk, events in mine.select("tick", "at_risk", "events").rows():
            upto = table.loc[:tick]
            assert at_risk == int(upto["at_risk"].iloc[-1] - upto["removed"].iloc[-1])
            assert events == int(upto["observed"].sum())
    # the plot shows the same numbers on its own ticks
    fig = churn.plot_survival(km)
    first = fig.axes[1].get_xticklabels()[1].get_text().split()
    ticks = fig.axes[1].get_xticks()
    expected = churn.at_risk_counts(km, ticks).filter(pl.col("tick") == ticks[1])
    assert [int(v) for v in first] == [v for r in expected.select("at_risk", "events").rows() for v in r]


def test_plots_draw_on_given_axes_in_chinese():
    from matplotlib.figure import Figure

    km = churn.kaplan_meier(_random_frame(500), by="channel")
    fig = Figure()
    ax = fig.add_subplot()
    assert churn.plot_survival(km, ax=ax, language="zh", at_risk=False) is fig
    assert ax.get_xlabel() == "首次购买后的天数" and ax.get_title() == "按channel分组的留存曲线"
    assert [t.get_text() for t in ax.get_legend().get_texts()][-1].startswith("(缺失)（中位数")
    model = churn.CoxChurnModel(["first_channel"]).fit(_cox_data(500))
    ax = churn.plot_hazard_ratios(model, language="zh").axes[0]
    assert ax.get_title() == "风险比" and "大于 1 表示更早流失" in ax.get_xlabel()
    ax = churn.plot_risk_distribution(pl.DataFrame({"p_churn": [0.1, 0.9]}), column="p_churn", language="zh").axes[0]
    assert ax.get_title() == "2 位活跃客户的流失风险" and ax.get_xlabel() == "流失概率"


def test_hazard_ratio_plot():
    model = churn.CoxChurnModel(["first_channel", "first_order_value"]).fit(_cox_data(1000))
    ax = churn.plot_hazard_ratios(model).axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == model.hazard_ratios_["term"].to_list()
    points = ax.get_lines()[0]
    np.testing.assert_allclose(points.get_xdata(), model.hazard_ratios_["hazard_ratio"].to_numpy())
    assert ax.get_xscale() == "log"


def test_risk_distribution_plot_counts_customers():
    warn = pl.DataFrame({"p_churn": [0.0, 0.05, 0.55, 0.95, None]})
    ax = churn.plot_risk_distribution(warn, bins=10).axes[0]
    heights = [p.get_height() for p in ax.patches]
    assert heights[0] == 2 and heights[5] == 1 and heights[9] == 1 and sum(heights) == 4
    assert ax.get_title() == "Churn risk of 4 active customers (1 without a probability)"
    assert ax.get_xlabel() == "probability of churn"


def test_risk_distribution_of_an_early_warning(small_shop):
    warning = churn.early_warning(small_shop.transactions, as_of=small_shop.truth["period"]["end"])
    ax = churn.plot_risk_distribution(warning).axes[0]
    assert sum(p.get_height() for p in ax.patches) == warning.to_frame().height
    assert [line.get_xdata()[0] for line in ax.get_lines()] == [0.8, 0.5]


# ---------------------------------------------------------------------------
# Online Retail end to end (figures for the README)
# ---------------------------------------------------------------------------


def test_no_global_state_is_changed():
    """Warning filters and matplotlib settings are as before, in a fresh process (first imports included)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = """
import warnings, matplotlib
matplotlib.use("Agg")
import numpy as np, polars as pl
filters, rc = list(warnings.filters), dict(matplotlib.rcParams)
from custlab import churn
rng = np.random.default_rng(0)
sf = pl.DataFrame({"customer_id": np.arange(300), "duration_days": rng.integers(0, 300, 300),
                   "churned": rng.random(300) < 0.5, "first_channel": rng.choice(["a", "b"], 300)})
churn.plot_survival(churn.kaplan_meier(sf, by="first_channel"))
churn.plot_hazard_ratios(churn.CoxChurnModel(["first_channel"]).fit(sf))
risk = pl.DataFrame({"customer_id": [1, 2, 3], "p_churn": [0.1, 0.5, 0.9]})
churn.compare_with_bgnbd(risk, risk.select("customer_id", p_alive=pl.col("p_churn")))
assert warnings.filters == filters, [f for f in warnings.filters if f not in filters]
assert dict(matplotlib.rcParams) == rc
"""
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(root)})
    assert result.returncode == 0, result.stderr[-2000:]


def test_importing_churn_loads_no_model_or_plot_library():
    """Issue 21: lifelines costs 1.3 s of the report; it, scipy, pandas and matplotlib load on first fit or plot."""
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys, custlab.churn, custlab.repurchase; "
            "print(sorted(m for m in ('lifelines', 'scipy', 'pandas', 'matplotlib') if m in sys.modules))")
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
