"""Weekday x hour tables and peak times (custlab.activity).

References: Online Retail (cells computed with pandas), REES46 (event counts),
planted peaks on a small random log and the synthetic shop's evening peak.
"""

from __future__ import annotations

import datetime as dt
import random

import polars as pl
import pytest

from custlab.activity import DAYPARTS, WEEKDAY_NAMES, peak_times, plot_weekday_hour, weekday_hour
from custlab.data.schema import validate
from custlab.exceptions import CustlabError
from custlab.funnel import REES46_COLUMNS

# --------------------------------------------------------------------------- weekday x hour


def test_weekday_hour_orders_on_online_retail(online_retail_clean):
    table = weekday_hour(online_retail_clean)
    assert table.height == 168
    assert table["value"].sum() == 18_536
    pdf = online_retail_clean.select("order_id", "order_date").to_pandas()
    first = pdf.groupby("order_id")["order_date"].min()
    reference = first.groupby([first.dt.dayofweek + 1, first.dt.hour]).size()
    got = {(d, h): v for d, h, v in table.select("weekday", "hour", "value").iter_rows() if v}
    assert got == {(int(d), int(h)): float(v) for (d, h), v in reference.items()}
    # no orders on Saturdays: the 24 cells are there, at zero
    assert table.filter(pl.col("weekday") == 6)["value"].to_list() == [0.0] * 24
    assert table["share"].sum() == pytest.approx(1.0)


def test_weekday_hour_events_lazy_with_filter(rees46_file):
    lazy = validate(pl.scan_parquet(rees46_file), "events", columns=REES46_COLUMNS)
    t = weekday_hour(lazy, measure="events", event="purchase", language="zh")
    assert t["value"].sum() == 214
    assert t.filter(pl.col("value") > 0)["weekday_name"].unique().to_list() == ["周二"]  # 2019-10-01 was a Tuesday


def _category_orders(seed: int = 7) -> pl.DataFrame:
    """Snacks on weekday evenings 19-22, baby goods on weekend mornings 8-11, household spread out."""
    rng = random.Random(seed)
    rows = []
    monday = dt.datetime(2024, 1, 1)
    for i in range(3000):
        category = ["snacks", "baby", "household"][i % 3]
        day = rng.randrange(28)
        hour = rng.randrange(24)
        if category == "snacks" and rng.random() < 0.6:
            day = rng.choice([d for d in range(28) if d % 7 < 5])
            hour = rng.randrange(19, 23)
        if category == "baby" and rng.random() < 0.6:
            day = rng.choice([d for d in range(28) if d % 7 >= 5])
            hour = rng.randrange(8, 12)
        rows.append((i % 300, str(i), monday + dt.timedelta(days=day, hours=hour, minutes=rng.randrange(60)),
                     1.0, category))
    return pl.DataFrame(rows, schema=["customer_id", "order_id", "order_date", "amount", "category"], orient="row")


def test_peak_times_per_category_reads_like_the_documents():
    peaks = peak_times(weekday_hour(_category_orders(), by="category"))
    summary = dict(peaks.select("category", "summary").iter_rows())
    assert summary["snacks"] == "weekday evenings 19-22"
    assert summary["baby"] == "weekend mornings 8-11"
    lifts = dict(peaks.select("category", "lift").iter_rows())
    assert lifts["snacks"] > 3 and lifts["baby"] > 3 and lifts["household"] < 2
    zh = peak_times(weekday_hour(_category_orders(), by="category"), language="zh")
    assert dict(zh.select("category", "summary").iter_rows())["snacks"] == "工作日晚上 19-22点"
    with pytest.raises(CustlabError, match="hours must be a whole number from 1 to 12"):
        peak_times(weekday_hour(_category_orders()), hours=30)


@pytest.fixture(scope="module")
def shop():
    from custlab.synthetic import make_shop

    return make_shop(5000, seed=11, events_per_customer=20)


def test_synthetic_evening_peak(shop):
    # the shop's orders peak 20-23 h (module docstring of custlab.synthetic)
    peak = peak_times(weekday_hour(shop.transactions), hours=3).row(0, named=True)
    assert (peak["first_hour"], peak["last_hour"]) == (20, 22)
    assert peak["daypart"] == "evenings"


@pytest.mark.filterwarnings("ignore:Glyph .* missing from font")  # Chinese labels without a CJK font installed
def test_plot_weekday_hour() -> None:
    table = weekday_hour(_category_orders(), by="category")
    fig = plot_weekday_hour(table, language="zh")
    assert len([a for a in fig.axes if a.get_title()]) == 3
    first = fig.axes[0]
    assert [t.get_text() for t in first.get_yticklabels()] == WEEKDAY_NAMES["zh"]
    assert first.collections[0].get_array().size == 168
    with pytest.raises(CustlabError, match="draw at most max_groups=2"):
        plot_weekday_hour(table, max_groups=2)


def test_peak_times_rank_groups_by_volume_on_online_retail(online_retail_clean):
    # issue 13: the report listed the first groups alphabetically; 37 countries, most orders from the UK
    table = weekday_hour(online_retail_clean, by="country")
    peaks = peak_times(table)
    orders = online_retail_clean.group_by("country").agg(pl.col("order_id").n_unique()).sort(
        ["order_id", "country"], descending=[True, False])
    assert peaks["country"].to_list() == orders["country"].to_list()
    assert peaks["total"].to_list() == [float(v) for v in orders["order_id"]]
    assert peaks["country"].head(3).to_list() == ["United Kingdom", "Germany", "France"]
    assert peaks["total_share"].sum() == pytest.approx(1.0)
    assert peak_times(table, top_n=6).equals(peaks.head(6))
    with pytest.raises(CustlabError, match="top_n must be None or a whole number >= 1, got 0"):
        peak_times(table, top_n=0)


def test_group_without_volume_has_no_peak_and_no_nan():
    table = weekday_hour(_category_orders(), by="category")
    empty = table.filter(pl.col("category") == "baby").with_columns(category=pl.lit("toys"), value=pl.lit(0.0))
    peaks = peak_times(pl.concat([table, empty]))
    toys = peaks.filter(pl.col("category") == "toys").row(0, named=True)
    assert peaks["category"][-1] == "toys" and toys["total"] == 0.0
    assert toys["summary"] is None and toys["lift"] is None
    assert not peaks.select(pl.col(pl.Float64).is_nan().any()).row(0).count(True)


def test_weekdays_and_dayparts_have_chinese():
    from custlab._i18n import labels

    en, zh = labels("activity", "en"), labels("activity", "zh")
    for key in (*DAYPARTS, "weekday", "weekend", "hour", "day"):
        assert zh[key] != en[key] and zh[key], key
    assert WEEKDAY_NAMES["zh"] == ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]
    assert WEEKDAY_NAMES["en"] == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def test_heatmap_is_drawn_without_pyplot():
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    fig = plot_weekday_hour(weekday_hour(_category_orders(), by="category"))
    assert plt.get_fignums() == before  # nothing registered with pyplot: Jupyter shows it once
    titles = [a.get_title() for a in fig.axes if a.get_title()]
    assert len(titles) == 3
