"""The report's attribution section: strict JSON, en/zh sentences, plots."""

from __future__ import annotations

import json

import custlab.attribution as at


def test_report_section_and_plots(shop):
    report = at.attribution_report(shop.touches, shop.transactions, spend=shop.marketing_spend, conversions="first")
    json.dumps(report.key_figures(), allow_nan=False)
    for language in ("en", "zh"):
        text = " ".join(report.describe(language))
        assert "None" not in text and "nan" not in text.lower()
    assert "直播" in " ".join(report.describe("zh"))
    fig = report.plot(language="zh")
    assert fig.axes[0].get_title() == "投入与归因价值对比"
    fig = report.result.plot()
    assert len(fig.axes[0].patches) == 5 * len(report.result.models)
    fig = at.plot_removal_effects(report.result, language="zh")
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()][0] == "直播"
