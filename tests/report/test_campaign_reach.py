"""The campaign section's next test, compared with the customers the built-in shop can reach."""

from __future__ import annotations

from custlab.report.text import render


def test_the_shop_is_told_when_the_next_test_needs_more_customers_than_it_has(shop_tables, shop_figures):
    """The built-in shop of 5,000 customers was told "send to 30,378 customers and hold out 30,378"."""
    part = shop_figures.parts["campaigns"]
    plan = part.values["next_test"]
    customers = shop_tables["customers"]["customer_id"].n_unique()
    assert plan["reachable"] == customers
    assert plan["fits"] == (plan["n_treatment"] + plan["n_control"] <= customers)
    en = [render(p, "en") for p in part.paragraphs]
    zh = [render(p, "zh") for p in part.paragraphs]
    if not plan["fits"]:
        assert any(f"This shop has {customers:,} customers to test on" in s and "cannot be detected" in s for s in en)
        assert any(f"本店可用于测试的顾客只有 {customers:,} 位" in s for s in zh)
        assert plan["smallest_detectable_lift"] > plan["lift"]
    else:
        assert not any("cannot be detected" in s for s in en)
