"""Rule plots: artists, labels in both languages, no pyplot."""

from __future__ import annotations

import numpy as np
import pytest

from custlab import rules as R
from custlab.exceptions import CustlabError, EmptyDataError

@pytest.mark.filterwarnings("ignore:Glyph .* missing from font")  # no CJK font on CI; labels are checked as text
def test_plot_rules_scatter(small_rules):
    fig = R.plot_rules(small_rules)
    ax = fig.axes[0]
    points = ax.collections[0]
    ordered = small_rules.sort("lift")
    assert np.allclose(points.get_offsets(), ordered.select("support", "confidence").to_numpy())
    assert np.allclose(points.get_array(), ordered["lift"].to_numpy())
    assert ax.get_xlabel() == "support" and ax.get_ylabel() == "confidence"
    assert fig.axes[1].get_ylabel() == "lift"
    zh = R.plot_rules(small_rules, language="zh").axes[0]
    assert zh.get_xlabel() == "支持度" and zh.get_ylabel() == "置信度"
    with pytest.raises(CustlabError, match="language must be one of 'en', 'zh', got 'fr'"):
        R.plot_rules(small_rules, language="fr")


def test_plot_rule_network(small_rules):
    fig = R.plot_rule_network(small_rules, top_n=8)
    ax = fig.axes[0]
    top = small_rules.sort("lift", descending=True).head(8)
    assert np.allclose(np.sort(ax.collections[0].get_array()), np.sort(top["lift"].to_numpy()))
    items = {v for col in ("antecedent", "consequent") for row in top[col].to_list() for v in row}
    assert {t.get_text() for t in ax.texts} == items
    assert len(ax.patches) == top["consequent"].list.len().sum()  # one arrow per consequent item


def test_plot_rule_matrix(small_rules):
    fig = R.plot_rule_matrix(small_rules, top_n=10)
    ax = fig.axes[0]
    top = small_rules.sort(["lift", "antecedent", "consequent"], descending=[True, False, False]).head(10)
    values = np.asarray(ax.collections[0].get_array()).ravel()
    assert np.allclose(np.sort(values[~np.isnan(values)]), np.sort(top["lift"].to_numpy()))
    assert ax.get_yticklabels()[0].get_text() == "{" + ", ".join(top["antecedent"][0]) + "}"
    assert ax.get_xlabel() == "consequent (then bought)"
    with pytest.raises(EmptyDataError, match="no rules to plot"):
        R.plot_rule_matrix(small_rules.clear())



@pytest.mark.filterwarnings("ignore:Glyph .* missing from font")
def test_plots_draw_without_pyplot_on_a_given_axes_in_chinese(small_rules):
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    plt.close("all")
    figures = [R.plot_rules(small_rules), R.plot_rule_network(small_rules, top_n=5, metric="confidence"),
               R.plot_rule_matrix(small_rules, top_n=5, language="zh")]
    assert all(isinstance(f, Figure) for f in figures)
    assert plt.get_fignums() == []  # nothing registered with pyplot: Jupyter shows each figure once
    fig = Figure()
    ax = fig.subplots()
    assert R.plot_rules(small_rules, ax=ax, language="zh") is fig and ax.get_title().endswith("条规则")
    assert figures[2].axes[0].get_xlabel() == "后项(推荐)"
    assert figures[1].axes[0].get_title() == "top 5 rules by confidence"
