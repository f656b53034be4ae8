"""Channel quality beyond ROI, by channel and city, computed by hand."""

from __future__ import annotations

import datetime as dt

import polars as pl

import custlab.attribution as at

D = dt.datetime


def test_channel_quality_by_channel_and_city():
    customers = pl.DataFrame({"customer_id": [1, 2, 3, 4], "acquisition_channel": ["live", "live", "sms", "sms"],
                              "city_tier": ["tier1", "tier2", "tier1", "tier1"]})
    tx = pl.DataFrame({"customer_id": [1, 1, 2, 3, 3, 4], "order_id": [1, 2, 3, 4, 5, 6],
                       "order_date": [D(2024, 1, 1), D(2024, 2, 1), D(2024, 1, 5), D(2024, 1, 1), D(2024, 6, 1),
                                      D(2024, 6, 20)],
                       "amount": [10.0, 20.0, 5.0, 8.0, 8.0, 40.0]})
    events = pl.DataFrame({"customer_id": [1, 1, 1, 3], "session_id": [1, 1, 2, 3],
                           "event": ["view", "cart", "view", "view"], "event_time": [D(2024, 1, 1)] * 4})
    q = at.channel_quality(customers, tx, events=events, as_of="2024-07-01")
    live = q.filter(pl.col("acquisition_channel") == "live").row(0, named=True)
    sms = q.filter(pl.col("acquisition_channel") == "sms").row(0, named=True)
    assert (live["new_customers"], live["eligible_90d"], live["repurchase_90d"]) == (2, 2, 0.5)
    assert live["visit_depth"] == 1.5 and live["add_to_cart_rate"] == 0.5 and live["revenue_per_customer"] == 17.5
    assert (sms["eligible_90d"], sms["repurchase_90d"]) == (1, 0.0)  # customer 4 arrived 11 days before as_of
    by_city = at.channel_quality(customers, tx, by=["acquisition_channel", "city_tier"], as_of="2024-07-01")
    assert by_city.height == 3 and by_city["visit_depth"].null_count() == 3
