"""Churn and retention shares never read 100% or 0% unless exactly so."""

import pytest

from custlab.report.figures_churn import share_field
from custlab.report.text import render_value


@pytest.mark.parametrize("share", [0.99947, 0.99996, 0.9999995, 0.995, 0.00053, 0.004])
@pytest.mark.parametrize("language", ["en", "zh"])
def test_share_never_rounds_to_a_whole(share, language):
    text = render_value(share_field(share), language)
    assert text not in ("100%", "100.0%", "0%", "0.0%") and not text.startswith("100.")


def test_exact_shares_stay_exact():
    assert render_value(share_field(1.0)).startswith("100") and render_value(share_field(0.0)).startswith("0")
