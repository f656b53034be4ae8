"""Stage "events": a sampled behaviour log of sessions going exposure -> click -> cart -> pay.

``events_per_customer`` events a customer on average, in proportion to 1 +
the customer's number of orders, between sign-up and the period end: one
product and channel per session, exposure -> click 30%, click -> cart 15%,
cart -> pay 10% (independent conditional step rates, ``params.FUNNEL``). The
log is not tied to the orders.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from custlab.synthetic._arrays import segment_index, strings
from custlab.synthetic.customers import Customers
from custlab.synthetic.params import CATALOG, EVENT_NAMES, FUNNEL, ORDER_CHANNEL_P, ORDER_CHANNELS, US_PER_SEC, product_ids
from custlab.synthetic.purchases import Orders
from custlab.synthetic.timeline import Calendar

__all__ = ["behaviour_log"]


def behaviour_log(
    rng: np.random.Generator, events_per_customer: float, orders: Orders, customers: Customers, cal: Calendar,
) -> pl.DataFrame:
    """Stream "events": the events table, sorted by customer and time, sessions numbered from 1."""
    n = orders.n_customers
    start_us, end_us = cal.start_us, cal.end_us
    act = 1.0 + orders.count
    mean_events_per_session = 1.0 + FUNNEL["exposure_to_click"] * (
        1.0 + FUNNEL["click_to_cart"] * (1.0 + FUNNEL["cart_to_pay"])
    )
    sess_mean = float(events_per_customer) / mean_events_per_session
    n_sess = rng.poisson(sess_mean * act / act.mean())
    s_cust = np.repeat(np.arange(n), n_sess)
    S = s_cust.size
    lo_us = customers.signup_us[s_cust]
    hi_us = np.maximum(end_us - 3600 * US_PER_SEC, lo_us + 1)
    s_start = lo_us + (rng.random(S) * (hi_us - lo_us) / US_PER_SEC).astype(np.int64) * US_PER_SEC
    click = rng.random(S) < FUNNEL["exposure_to_click"]
    cart = click & (rng.random(S) < FUNNEL["click_to_cart"])
    pay = cart & (rng.random(S) < FUNNEL["cart_to_pay"])
    s_chan = rng.choice(len(ORDER_CHANNELS), size=S, p=np.asarray(ORDER_CHANNEL_P))
    popularity = np.array([p[3] for p in CATALOG])
    s_prod = rng.choice(len(CATALOG), size=S, p=popularity / popularity.sum())
    span_s = (end_us - start_us) // US_PER_SEC + 1
    srt = np.argsort(s_cust * span_s + (s_start - start_us) // US_PER_SEC, kind="stable")
    s_cust, s_start, click, cart, pay, s_chan, s_prod = (
        a_[srt] for a_ in (s_cust, s_start, click, cart, pay, s_chan, s_prod)
    )
    steps = 1 + click.astype(np.int64) + cart + pay
    e_sess, e_step = segment_index(steps)
    gap_mean = np.array([0.0, 25.0, 60.0, 90.0])[e_step]
    gaps = ((rng.exponential(1.0, e_sess.size) * gap_mean).astype(np.int64) + (e_step > 0)) * US_PER_SEC
    cg = np.cumsum(gaps)
    sess_first = np.cumsum(steps) - steps
    e_time = s_start[e_sess] + (cg - (cg[sess_first] - gaps[sess_first])[e_sess])
    return pl.DataFrame({
        "customer_id": pl.Series(customers.ids[s_cust[e_sess]], dtype=pl.Int64),
        "event_time": pl.Series(e_time, dtype=pl.Int64).cast(pl.Datetime("us")),
        "event": strings(EVENT_NAMES, e_step),
        "session_id": pl.Series(e_sess + 1, dtype=pl.Int64),
        "channel": strings(ORDER_CHANNELS, s_chan[e_sess]),
        "product_id": strings(product_ids(), s_prod[e_sess]),
    })
