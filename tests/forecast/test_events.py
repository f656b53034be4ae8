"""Festival calendar and exogenous flags: lunar dates, windows, shares per period, configuration."""

from __future__ import annotations

import datetime as dt

import pytest

from custlab.exceptions import CustlabError
from custlab.forecast import FESTIVALS, Festival, event_flags, festival_calendar, fixed_day, lunar_day
from custlab.forecast.events import QIXI
from custlab.synthetic.params import CNY
from custlab.synthetic.timeline import festivals as shop_festivals


def test_lunar_festivals_fall_on_their_published_days():
    assert lunar_day(QIXI)(2023) == dt.date(2023, 8, 22) and lunar_day(QIXI)(2024) == dt.date(2024, 8, 10)
    assert lunar_day(CNY)(2024) == dt.date(2024, 2, 10)
    # Qixi is day 7 of lunar month 7: six lunar months (174-180 days) plus 6 days after the new year, or seven
    # months (203-210 days) plus 6 when a leap month comes before it
    gaps = [(lunar_day(QIXI)(y) - lunar_day(CNY)(y)).days for y in range(2000, 2041)]
    assert all(180 <= g <= 186 or 209 <= g <= 216 for g in gaps)
    assert 0 < sum(g > 200 for g in gaps) < 20


def test_windows_match_the_synthetic_shop_and_the_calendar_translates():
    shop = [(f["name"], f["window_start"].date(), f["window_end"].date()) for f in shop_festivals(
        dt.date(2023, 1, 1), dt.date(2025, 1, 1))]
    ours = festival_calendar(dt.date(2023, 1, 1), dt.date(2025, 1, 1))
    mine = {("chinese_new_year" if f == "spring_festival" else f, a, b + dt.timedelta(days=1))
            for f, a, b in ours.select("festival", "window_start", "window_end").iter_rows()
            if f in ("spring_festival", "double_11")}
    assert mine == set(shop)
    zh = festival_calendar(dt.date(2024, 6, 1), dt.date(2024, 12, 31), language="zh")
    assert zh["label"].to_list() == ["618 大促", "七夕", "双十一", "圣诞节"]


def test_flags_are_the_share_of_each_period_inside_a_window():
    flags = event_flags([dt.date(2024, 6, 1), dt.date(2024, 7, 1)], "1mo")
    assert flags["festival_618"].to_list() == [pytest.approx(18 / 30), 0.0]
    weekly = event_flags([dt.date(2024, 12, 23), dt.date(2024, 12, 30)], "1w")
    assert weekly["christmas"].to_list() == [pytest.approx(3 / 7), 0.0]
    custom = (Festival("payday", fixed_day(1, 25), days_before=0, days_after=2),)
    out = event_flags([dt.date(2024, 1, 22)], "1w", festivals=custom)
    assert out.columns == ["period", "payday"] and out["payday"][0] == pytest.approx(3 / 7)


def test_festival_configuration_errors_are_clear():
    with pytest.raises(CustlabError, match="short identifier"):
        Festival("black friday", fixed_day(11, 29))
    with pytest.raises(CustlabError, match="days_before and days_after must be >= 0"):
        Festival("sale", fixed_day(3, 8), days_before=-1)
    with pytest.raises(CustlabError, match="unique"):
        event_flags([dt.date(2024, 1, 1)], "1mo", festivals=(FESTIVALS[0], FESTIVALS[0]))
