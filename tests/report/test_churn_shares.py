"""Churn and retention shares never read 100% or 0% unless exactly so."""

import pytest

from custlab.report.text import Pct, render, render_value


@pytest.mark.parametrize("share", [0.99947, 0.99996, 0.9999995, 0.995, 0.00053, 0.004])
@pytest.mark.parametrize("language", ["en", "zh"])
def test_share_never_rounds_to_a_whole(share, language):
    text = render_value(Pct(share), language)
    assert text not in ("100%", "100.0%", "0%", "0.0%") and not text.startswith("100.")


def test_exact_shares_stay_exact():
    assert render_value(Pct(1.0)).startswith("100") and render_value(Pct(0.0)).startswith("0")


@pytest.mark.parametrize("enough", [True, False])
def test_a_return_day_resting_on_too_few_returns_sets_no_reminder(shop_tables, monkeypatch, enough):
    """Olist's "remind by day 39" (finding and action) rested on 3 returning customers."""
    from custlab.report import figures as fg
    from custlab.report import figures_churn

    from .conftest import compute_shop

    if not enough:
        monkeypatch.setattr(figures_churn, "MIN_RETURNERS", 10**9)
    monkeypatch.setattr(fg, "SECTIONS", tuple((k, f) for k, f in fg.SECTIONS if k in ("trend", "retention", "actions")))
    figures = compute_shop(shop_tables, "2024-12")
    part = figures.parts["retention"]
    said = " ".join(render(p, "en") for p in part.paragraphs)
    returners = part.values["intervention_returners"]
    assert returners > 0 and f"{returners:,}" in said
    assert ("too few" in said) is not enough
    assert (part.values.get("intervention_day") is not None) is enough
    findings = " ".join(render(f.text, "en") for f in figures.findings)
    assert "of churned customers made their last order within" in findings
    assert ("remind new customers by then" in findings) is enough
    actions = figures.parts["actions"].values["actions"]
    assert ("second_order_nudge" in actions) is enough
