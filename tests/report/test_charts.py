"""The report's own charts and tables as a reader sees them: axes, legends, the order of rows."""

from __future__ import annotations

import datetime as dt

import matplotlib as mpl
import polars as pl
from matplotlib.backends.backend_agg import FigureCanvasAgg

from custlab.report.charts import trend_chart
from custlab.report.html import _chart_rc


def _monthly(first_new: int) -> pl.DataFrame:
    # Ta-Feng's first month: every customer new, as tall as any later month
    return pl.DataFrame({"month": [dt.date(2000, m, 1) for m in (11, 12)] + [dt.date(2001, m, 1) for m in (1, 2)],
                         "revenue": [29e6, 23e6, 30.5e6, 25e6], "new_customers": [first_new, 6800, 5000, 3600],
                         "returning_customers": [0, 8600, 11500, 13200]})


def test_the_customers_legend_covers_no_bar_and_zero_money_has_no_unit():
    for language in ("en", "zh"):
        with mpl.rc_context(_chart_rc(language)):  # the report's fonts and sizes
            fig = trend_chart(_monthly(16760), currency="TWD", language=language)
            canvas = FigureCanvasAgg(fig)
            canvas.draw()
        renderer = canvas.get_renderer()
        top, bottom = fig.axes[:2]
        legend = bottom.get_legend().get_window_extent(renderer)
        for bar in bottom.patches:
            box = bar.get_window_extent(renderer)
            assert not legend.overlaps(box) or box.height == 0, language
        ticks = [label.get_text() for label in top.get_yticklabels() if label.get_text()]
        assert ticks[0] == "NT$0", ticks  # not "NT$0万" or "NT$0M"
        assert ticks[-1].endswith("万" if language == "zh" else "M")


def test_portrait_shares_put_customers_without_a_value_last():
    from custlab.report.figures_sales import with_shares

    grouped = pl.DataFrame({"group": ["35-39", None, "60-64", "<25"], "customers": [6588, 626, 880, 1630],
                            "revenue": [22.6, 2.7, 2.6, 3.8]})
    table = with_shares(grouped)
    assert table["group"].to_list() == ["35-39", "<25", "60-64", None]
    assert abs(table["customer_share"].sum() - 1) < 1e-12


def test_the_clv_tracking_chart_writes_thousands_with_separators():
    """Online Retail's cumulative repeat purchases read 10500 on the axis of the CLV tracking chart."""
    from custlab.report.figures_clv import _draw_tracking

    weeks = list(range(1, 54))
    table = pl.DataFrame({"week": weeks, "period": ["calibration"] * 39 + ["holdout"] * 14,
                          "actual": [210.0] * 53, "expected": [180.0] * 53,
                          "actual_cumulative": [210.0 * w for w in weeks],
                          "expected_cumulative": [180.0 * w for w in weeks]})
    for language in ("en", "zh"):
        with mpl.rc_context(_chart_rc(language)):
            fig = _draw_tracking(table, language)
            FigureCanvasAgg(fig).draw()
        ticks = [label.get_text() for label in fig.axes[0].get_yticklabels() if label.get_text()]
        big = [t for t in ticks if len(t.replace(",", "").lstrip("-")) > 3]
        assert big and all("," in t for t in big), ticks
