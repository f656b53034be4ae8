"""Plots draw the numbers they are given."""

from __future__ import annotations

import numpy as np
import polars as pl

from custlab.segments import (
    concentration_curve,
    kmeans_segments,
    plot_cluster_profiles,
    plot_concentration,
    plot_migration,
    plot_rfm_heatmap,
    plot_segment_shares,
    rfm_scores,
    rfm_segments,
    segment_migration,
    segment_summary,
    top_share,
)

from .helpers import planted_groups


# --------------------------------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------------------------------


def test_plots_draw_the_numbers(retail_rfm, online_retail_clean):
    scores = rfm_scores(retail_rfm)
    fig = plot_rfm_heatmap(scores)
    ax = fig.axes[0]
    cell = scores.filter((pl.col("r_score") == 5) & (pl.col("f_score") == 5))["monetary"].mean()
    assert f"{cell:.0f}" in [t.get_text() for t in ax.texts]
    assert ax.get_ylabel() == "R score (5 = most recent)"

    summary = segment_summary(rfm_segments(scores, rules="value_tiers"))
    bars = plot_segment_shares(summary).axes[0].containers
    assert [round(float(b.get_width()), 6) for b in bars[1]] == [round(v, 6) for v in summary["revenue_share"]]

    conc = plot_concentration(retail_rfm).axes[0]
    x, y = conc.lines[0].get_data()
    curve = concentration_curve(retail_rfm)
    np.testing.assert_allclose(y, curve["revenue_share"].to_numpy())
    assert conc.get_legend_handles_labels()[1][0] == f"top {top_share(retail_rfm, 0.5):.0%} bring 50%"

    mig = segment_migration(online_retail_clean)
    heat = plot_migration(mig, share=False).axes[0]
    matrix = mig.matrix(share=False)
    values = sorted(int(t.get_text()) for t in heat.texts)
    assert values == sorted(matrix.drop("from_segment").to_numpy().ravel().tolist())

    tx, _ = planted_groups()
    prof = plot_cluster_profiles(kmeans_segments(tx, k=3, seed=0)).axes[0]
    assert [t.get_text() for t in prof.get_xticklabels()] == ["recency", "frequency", "monetary", "cosmetics share",
                                                             "food share", "electronics share"]
    zh = plot_cluster_profiles(kmeans_segments(tx, k=3, seed=0, language="zh"), language="zh").axes[0]
    assert [t.get_text() for t in zh.get_xticklabels()][:3] == ["最近购买", "购买频次", "消费额"]  # not the column names


def test_plots_draw_on_a_given_axes_and_speak_chinese(retail_rfm):
    from matplotlib.figure import Figure

    scores = rfm_scores(retail_rfm)
    seg = rfm_segments(scores, rules="value_tiers", language="zh")
    summary = segment_summary(seg)
    fig = Figure()
    axes = fig.subplots(1, 3)
    assert plot_rfm_heatmap(scores, ax=axes[0], language="zh") is fig
    assert plot_segment_shares(summary, ax=axes[1], language="zh") is fig
    assert plot_concentration(retail_rfm, ax=axes[2], language="zh") is fig
    assert axes[0].get_ylabel() == "R 分（5 = 最近）" and axes[0].get_title() == "按 R、F 分的平均消费金额"
    assert [t.get_text() for t in axes[1].get_yticklabels()] == summary["segment"].to_list()
    assert "重要挽回客户" in summary["segment"].to_list()
    assert [t.get_text() for t in axes[1].get_legend().get_texts()] == ["客户", "收入"]
    assert axes[2].get_legend_handles_labels()[1][0] == f"前 {top_share(retail_rfm, 0.5):.0%} 客户贡献 50%"


def test_migration_plot_follows_the_migration_language():
    import datetime as dt

    tx = pl.DataFrame({"customer_id": [1, 2, 1], "order_id": [1, 2, 3],
                       "order_date": [dt.datetime(2024, 1, 5), dt.datetime(2024, 1, 9), dt.datetime(2024, 2, 2)],
                       "amount": [20.0, 5.0, 40.0]})
    mig = segment_migration(tx, language="zh")
    ax = plot_migration(mig).axes[0]
    assert ax.get_xlabel() == "去向" and ax.get_title() == "2024-02-02 分群迁移"
    assert [t.get_text() for t in ax.get_yticklabels()][0] == "（新客）"
