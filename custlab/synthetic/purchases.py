"""Stage "purchases": when each customer orders (an exact BG/NBD process) and what each order is worth.

Purchases follow Fader, Hardie & Lee (2005), in **weeks**, anchored at each
customer's first purchase and observed until the period end
(``params.BGNBD``): each customer's purchase rate ``lambda ~ Gamma(shape=r,
rate=alpha)``; after each *repeat* purchase the customer drops out for good
with probability ``p ~ Beta(a, b)``; repeat purchases follow a Poisson process
of rate ``lambda`` while alive.

The continuous times are put on calendar days with one order per customer per
day: an order that would fall on a day the customer already ordered on moves
to the next free day (and is dropped if that is past the end; about 2% of
orders move, 0.02% are dropped). This keeps the counts per *distinct day*
(what ``lifetimes`` and custlab count) an honest BG/NBD. The time of day
follows ``params.HOUR_WEIGHTS`` (evening peak 20-23 h, trough 2-6 h).

Each order's total is an exact Gamma-Gamma draw (``params.GAMMA_GAMMA``):
``nu ~ Gamma(q, rate=gamma)`` per customer, ``z ~ Gamma(p, rate=nu)`` per
order, independent of the purchase process; the basket stage splits ``z``
over the order's lines without changing it.

Orders are placed on a channel (``params.ORDER_CHANNELS``): each customer has
a preferred channel used for ``CHANNEL_STICKINESS`` of their orders. Order ids
number the orders in time order from 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from custlab.synthetic._arrays import segment_index
from custlab.synthetic.params import (
    BGNBD, CHANNEL_STICKINESS, GAMMA_GAMMA, HOUR_WEIGHTS, ORDER_CHANNEL_P, ORDER_CHANNELS, US_PER_DAY, US_PER_SEC,
)
from custlab.synthetic.timeline import Calendar

__all__ = ["Orders", "order_channels", "simulate_orders"]


@dataclass(frozen=True, eq=False)
class Orders:
    """The orders, grouped by customer in time order (arrays indexed by order unless said otherwise)."""

    n_customers: int
    cust: np.ndarray  # customer index 0..n-1
    day: np.ndarray  # day of the period
    us: np.ndarray  # order time, microseconds since the epoch
    month: np.ndarray  # calendar month, 0 = January
    festival: np.ndarray  # bool: in a festival window
    z: np.ndarray  # order total (Gamma-Gamma)
    count: np.ndarray  # per customer: number of orders
    first: np.ndarray  # per customer: index of the first order
    last_day: np.ndarray  # per customer: day of the last order
    keys: np.ndarray  # cust * big + day, sorted
    big: int  # ndays + 1
    # latent, per customer
    lam: np.ndarray
    p_dropout: np.ndarray
    nu: np.ndarray
    t0: np.ndarray  # first purchase, days since the start
    T: np.ndarray  # weeks observed
    dead: np.ndarray
    n_moved: int
    n_dropped: int

    @property
    def n(self) -> int:
        return int(self.cust.size)

    def __repr__(self) -> str:
        return f"Orders({self.n:,} orders of {self.n_customers:,} customers)"


def _simulate_purchases(rng: np.random.Generator, n: int, ndays: int, day_weights: np.ndarray) -> dict[str, np.ndarray]:
    r, alpha, a, b = BGNBD["r"], BGNBD["alpha"], BGNBD["a"], BGNBD["b"]
    lam = rng.gamma(r, 1.0 / alpha, n)  # per week
    p = np.clip(rng.beta(a, b, n), 1e-12, 1.0)
    d0 = rng.choice(ndays, size=n, p=day_weights)
    t0 = d0 + rng.random(n)  # days since start
    T = (ndays - t0) / 7.0  # weeks
    N = rng.poisson(lam * T)
    K = rng.geometric(p)  # dies after the K-th repeat purchase
    x = np.minimum(N, K)
    dead = K <= N
    # first x of N uniform order statistics on (0, T): exponential spacings
    tot = int(x.sum())
    e = rng.standard_exponential(tot)
    cs = np.concatenate([[0.0], np.cumsum(e)])
    xs = np.cumsum(x)
    starts = xs - x
    base = cs[starts]
    owner, rank = segment_index(x)
    S = cs[1:] - base[owner]
    Sx = cs[xs] - base
    Stot = Sx + rng.standard_gamma(N - x + 1.0)
    rep_t = t0[owner] + 7.0 * T[owner] * S / Stot[owner]
    # layout per customer: first purchase then the repeats
    cnt = x + 1
    ofs = np.cumsum(cnt) - cnt
    times = np.empty(int(cnt.sum()))
    times[ofs] = t0
    times[ofs[owner] + 1 + rank] = rep_t
    cust = np.repeat(np.arange(n), cnt)
    day = np.floor(times).astype(np.int64)
    # one order per customer per day: d'_j = max(d_j, d'_{j-1} + 1)
    j = np.arange(times.size) - ofs[cust]
    big = ndays + int(cnt.max()) + 2
    v = np.maximum.accumulate(day - j + cust * big)
    day2 = v - cust * big + j
    keep = day2 < ndays
    return {
        "lam": lam, "p": p, "t0": t0, "T": T, "dead": dead,
        "n_moved": int(np.count_nonzero(day2[keep] != day[keep])),
        "n_dropped": int(np.count_nonzero(~keep)),
        "o_cust": cust[keep], "o_day": day2[keep],
    }


def simulate_orders(
    rng_buy: np.random.Generator, rng_value: np.random.Generator, n_customers: int, cal: Calendar,
) -> Orders:
    """Order days and times (stream "purchases") and order totals (the first draws of stream "values")."""
    n = n_customers
    sim = _simulate_purchases(rng_buy, n, cal.ndays, cal.acquisition_weight)
    o_cust, o_day = sim["o_cust"], sim["o_day"]
    n_orders = o_cust.size
    cnt = np.bincount(o_cust, minlength=n)
    ofs = np.cumsum(cnt) - cnt
    big = cal.ndays + 1
    hour_w = np.asarray(HOUR_WEIGHTS)
    hours = rng_buy.choice(24, size=n_orders, p=hour_w / hour_w.sum())
    o_sec = hours * 3600 + rng_buy.integers(0, 3600, n_orders)
    nu = rng_value.gamma(GAMMA_GAMMA["q"], 1.0 / GAMMA_GAMMA["gamma"], n)
    z = rng_value.gamma(GAMMA_GAMMA["p"], 1.0 / nu[o_cust])
    return Orders(
        n_customers=n, cust=o_cust, day=o_day, us=cal.start_us + o_day * US_PER_DAY + o_sec * US_PER_SEC,
        month=cal.month_of_day[o_day], festival=cal.in_festival[o_day], z=z, count=cnt, first=ofs,
        last_day=o_day[ofs + cnt - 1], keys=o_cust * big + o_day, big=big,
        lam=sim["lam"], p_dropout=sim["p"], nu=nu, t0=sim["t0"], T=sim["T"], dead=sim["dead"],
        n_moved=sim["n_moved"], n_dropped=sim["n_dropped"],
    )


def order_channels(rng: np.random.Generator, orders: Orders, start_us: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stream "channels": each order's channel code, its id (1.. in time order) and the orders in time order."""
    n, n_orders = orders.n_customers, orders.n
    chan_p = np.asarray(ORDER_CHANNEL_P)
    pref = rng.choice(len(ORDER_CHANNELS), size=n, p=chan_p)
    other = rng.choice(len(ORDER_CHANNELS), size=n_orders, p=chan_p)
    o_chan = np.where(rng.random(n_orders) < CHANNEL_STICKINESS, pref[orders.cust], other)
    chrono = np.argsort(((orders.us - start_us) // US_PER_SEC) * n + orders.cust)
    o_id = np.empty(n_orders, dtype=np.int64)
    o_id[chrono] = np.arange(1, n_orders + 1)
    return o_chan, o_id, chrono
