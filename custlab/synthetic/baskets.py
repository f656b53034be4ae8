"""Stage "baskets": what is in each order, and how its total splits into priced lines.

* **Repurchase cycles** (``params.CYCLES``): a customer "into" a category (a
  chance that depends on gender, ``params.AFFINITY``) buys it at a random one
  of their orders, then at the order closest to ``last + cycle * J`` (``J``
  log-normal, sigma 0.12, cut at 2 sigma) within +-35% of the cycle, and so
  on, while the customer still orders after the latest such window. These
  chains are the only purchases of those categories, so the median gap
  between consecutive purchase days of a category is the planted cycle.
* **Cross-buying**: exactly 60% of the cosmetics buyers also buy personal
  care, starting in the same order; 15% of the other customers too.
* **sunscreen => umbrella**: sunscreen by month (``SUNSCREEN_BY_MONTH``); an
  umbrella joins exactly 65% of those baskets (0.4% of the others).
* **baby formula then stroller**: 50% of the formula buyers buy a stroller 1
  to 90 days after their first formula, in the biggest later order of that
  window (formula buyers favour customers who have one: 10% against 3%).
* **gifts with home decor before festivals**: gifts in 4% of the orders (10%
  in festival windows); 30% of gift baskets hold home decor (36% in festivals).
* **Seasonality**: down jackets sell from October to February.
* Orders without any of the above get one free pick (apparel 65%, home decor
  20%, outdoor 15%), 20% of all orders a second one; formula orders get other
  baby products 40% of the time. Repeated products within an order merge.

The order total ``z`` is then split into its lines (stream "values"): a line
of a product fixed by a planted rule gets about its list price (at most 80% of
the total together), the other lines share the rest by their category's
typical value (with noise) and then pick a product whose list price suits
that value. ``quantity`` is the line value over the list price (1..20),
``unit_price`` the line value over the quantity, ``amount = quantity *
unit_price``: the order total equals ``z`` to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from custlab.synthetic._arrays import exact_pick, random_order_of, segment_index
from custlab.synthetic.params import (
    AFFINITY, CAT_WEIGHT, CATALOG, CATEGORIES, CYCLE_SIGMA, CYCLE_WINDOW, CYCLES, DIAPERS_WITH_FORMULA,
    DOWN_JACKET_BY_MONTH, FEMALE_SHARE, FORMULA_AFFINITY, FORMULA_STROLLER, FORMULA_WINDOW, FREE_CATS, FREE_P,
    GIFT_DECOR, GIFT_P, PC_GIVEN_COSMETICS, PC_OTHERS, SECOND_FREE, SUNSCREEN_BY_MONTH, SUNSCREEN_UMBRELLA,
    UMBRELLA_ALONE,
)
from custlab.synthetic.purchases import Orders

__all__ = ["Lines", "fill_baskets"]


@dataclass(frozen=True, eq=False)
class Lines:
    """The order lines, grouped by order (arrays indexed by line), and what the stage planted."""

    order: np.ndarray  # order index
    product: np.ndarray  # CATALOG index
    quantity: np.ndarray
    unit_price: np.ndarray
    amount: np.ndarray
    female: np.ndarray  # per customer
    stroller: dict[str, Any]  # n_formula, n_eligible, p_stroller

    @property
    def n(self) -> int:
        return int(self.order.size)

    def __repr__(self) -> str:
        return f"Lines({self.n:,} order lines in {np.unique(self.order).size:,} orders)"


def _chain(
    rng: np.random.Generator, start_idx: np.ndarray, cycle: float, orders: Orders,
) -> np.ndarray:
    """Orders hit by a repurchase chain started at ``start_idx``.

    The next purchase is the order closest to ``last + cycle * J`` (``J``
    log-normal, truncated to two sigmas) within +-``CYCLE_WINDOW * cycle``.
    A chain only goes on for a customer who still orders after the latest
    possible window (a rule that does not depend on ``J``): otherwise a
    dropout or the period end would cut windows short on the right and bias
    the gaps down. So the gaps are symmetric around the cycle, whose value
    is their median.
    """
    keys, o_cust, o_day, last_day, big = orders.keys, orders.cust, orders.day, orders.last_day, orders.big
    width = CYCLE_WINDOW * cycle
    reach = cycle * np.exp(2.0 * CYCLE_SIGMA) + width
    out = [start_idx]
    cur = start_idx
    n = keys.size
    while cur.size:
        d = o_day[cur]
        jit = np.clip(rng.standard_normal(cur.size), -2.0, 2.0)
        tau = d + cycle * np.exp(CYCLE_SIGMA * jit)
        ti = np.minimum(np.maximum(np.rint(tau).astype(np.int64), d + 1), big - 1)
        c = o_cust[cur]
        i1 = np.searchsorted(keys, c * big + ti)
        i0 = i1 - 1  # >= cur because ti > d
        i1c = np.minimum(i1, n - 1)
        dist1 = np.abs(o_day[i1c] - tau)
        dist0 = np.abs(o_day[i0] - tau)
        seen = last_day[c] >= d + reach
        ok1 = seen & (i1 < n) & (o_cust[i1c] == c) & (dist1 <= width)
        ok0 = seen & (i0 > cur) & (dist0 <= width)
        pick1 = ok1 & (~ok0 | (dist1 < dist0))
        nxt = np.where(pick1, i1c, i0)
        cur = nxt[ok1 | ok0]
        out.append(cur)
    return np.concatenate(out)


def _price_penalty(log_ratio: np.ndarray) -> np.ndarray:
    """Log-weight penalty of a product for a line value: log(value / list).

    A product dearer than the line value is penalised hard (it would sell far
    below its list price); a cheaper one mildly (the quantity makes up).
    """
    over = np.minimum(log_ratio, 0.0) / 0.25
    under = np.maximum(log_ratio, 0.0) / 1.2
    return 0.5 * (over * over + under * under)


class _Baskets:
    """Collects (order, category, product or -1) lines as the rules add them."""

    def __init__(self) -> None:
        self.order: list[np.ndarray] = []
        self.cat: list[np.ndarray] = []
        self.prod: list[np.ndarray] = []
        self.cat_code = {c: i for i, c in enumerate(CATEGORIES)}
        self.prod_code = {p[1]: i for i, p in enumerate(CATALOG)}

    def add(self, orders: np.ndarray, category: str, product: str | None = None) -> None:
        self.order.append(orders.astype(np.int64))
        self.cat.append(np.full(orders.size, self.cat_code[category], dtype=np.int64))
        self.prod.append(np.full(orders.size, -1 if product is None else self.prod_code[product], dtype=np.int64))

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return np.concatenate(self.order), np.concatenate(self.cat), np.concatenate(self.prod)


def _planted_lines(rng: np.random.Generator, orders: Orders) -> tuple[_Baskets, np.ndarray, dict[str, Any]]:
    """Stream "baskets": the lines of every planted rule and the free picks (categories, some products)."""
    n, n_orders = orders.n_customers, orders.n
    o_cust, o_day, ofs, cnt = orders.cust, orders.day, orders.first, orders.count
    keys, big, ndays = orders.keys, orders.big, orders.big - 1
    female = rng.random(n) < FEMALE_SHARE
    lines = _Baskets()
    has_chain = np.zeros(n_orders, dtype=bool)
    all_cust = np.arange(n)
    chain_starts: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for cat in ("cosmetics", "food", "electronics", "home"):
        pf, pm = AFFINITY[cat]
        into = rng.random(n) < np.where(female, pf, pm)
        starts_ = random_order_of(rng, all_cust[into], ofs, cnt)
        hit = _chain(rng, starts_, CYCLES[cat], orders)
        lines.add(hit, cat)
        has_chain[hit] = True
        chain_starts[cat] = (into, starts_)
    cosmetics_buyers, cos_starts = chain_starts["cosmetics"]
    cos_start = np.full(n, -1, dtype=np.int64)
    cos_start[cosmetics_buyers] = cos_starts
    # personal care: 60% of cosmetics buyers (same starting order), 15% of others
    pc_into = exact_pick(rng, cosmetics_buyers, PC_GIVEN_COSMETICS) | (~cosmetics_buyers & (rng.random(n) < PC_OTHERS))
    pc_c = all_cust[pc_into]
    pc_start = np.where(cosmetics_buyers[pc_c], cos_start[pc_c], random_order_of(rng, pc_c, ofs, cnt))
    hit = _chain(rng, pc_start, CYCLES["personal_care"], orders)
    lines.add(hit, "personal_care")
    has_chain[hit] = True

    # baby formula: a chain; formula buyers favour customers with a later
    # order within 90 days, whose stroller probability is solved for 50%.
    nxt_gap = np.full(n_orders, np.iinfo(np.int64).max)
    same_next = np.zeros(n_orders, dtype=bool)
    if n_orders > 1:
        same_next[:-1] = o_cust[1:] == o_cust[:-1]
        nxt_gap[:-1] = np.where(same_next[:-1], o_day[1:] - o_day[:-1], nxt_gap[:-1])
    lo, hi = FORMULA_WINDOW
    elig_order = same_next & (nxt_gap >= lo) & (nxt_gap <= hi)
    n_elig_orders = np.bincount(o_cust[elig_order], minlength=n)
    has_elig = n_elig_orders > 0
    formula_into = rng.random(n) < np.where(has_elig, *FORMULA_AFFINITY)
    f_c = all_cust[formula_into]
    # start: a random eligible order for customers who have one, else any order
    elig_idx = np.flatnonzero(elig_order)
    elig_ofs = np.cumsum(n_elig_orders) - n_elig_orders
    u_fs = rng.random(f_c.size)
    f_start = np.where(
        has_elig[f_c],
        elig_idx[np.minimum(elig_ofs[f_c] + np.floor(u_fs * n_elig_orders[f_c]).astype(np.int64),
                            max(elig_idx.size - 1, 0))] if elig_idx.size else 0,
        ofs[f_c] + np.floor(u_fs * cnt[f_c]).astype(np.int64),
    )
    hit = _chain(rng, f_start, CYCLES["baby_formula"], orders)
    lines.add(hit, "baby", "baby_formula")
    has_chain[hit] = True
    diapers = hit[rng.random(hit.size) < DIAPERS_WITH_FORMULA]
    lines.add(diapers, "baby")
    f_elig = elig_order[f_start]
    n_formula = f_c.size
    n_f_elig = int(f_elig.sum())
    buy_stroller = exact_pick(rng, f_elig, FORMULA_STROLLER * n_formula / max(n_f_elig, 1))
    p_stroller = float(buy_stroller.sum() / n_f_elig) if n_f_elig else 0.0
    sf = f_start[buy_stroller]
    # first order beyond the window (capped at the customer's own key range)
    last_ok = np.searchsorted(keys, o_cust[sf] * big + np.minimum(o_day[sf] + hi, ndays), side="right")
    # the stroller goes into the biggest of the candidate orders (a choice of
    # basket, not of order values: the z stay iid Gamma)
    n_cand = last_ok - sf - 1
    cand_owner, cand_rank = segment_index(n_cand)
    cand = sf[cand_owner] + 1 + cand_rank
    best = np.lexsort((-orders.z[cand], cand_owner))
    seg_first = np.cumsum(n_cand) - n_cand
    stroller_orders = cand[best[seg_first]]
    lines.add(stroller_orders, "baby", "stroller")
    has_chain[stroller_orders] = True

    # seasonal and festival extras
    o_fest = orders.festival
    sunscreen = rng.random(n_orders) < np.asarray(SUNSCREEN_BY_MONTH)[orders.month]
    umbrella = exact_pick(rng, sunscreen, SUNSCREEN_UMBRELLA) | (~sunscreen & (rng.random(n_orders) < UMBRELLA_ALONE))
    gift = rng.random(n_orders) < np.where(o_fest, GIFT_P[1], GIFT_P[0])
    decor_with_gift = exact_pick(rng, gift & ~o_fest, GIFT_DECOR[0]) | exact_pick(rng, gift & o_fest, GIFT_DECOR[1])
    lines.add(np.flatnonzero(sunscreen), "outdoor", "sunscreen")
    lines.add(np.flatnonzero(umbrella), "outdoor", "umbrella")
    lines.add(np.flatnonzero(gift), "gifts")
    lines.add(np.flatnonzero(decor_with_gift), "home_decor")
    has_any = has_chain | sunscreen | umbrella | gift
    # free picks: one for orders with nothing yet, a second one for 20%
    n_free = (~has_any).astype(np.int64) + (rng.random(n_orders) < SECOND_FREE)
    free_orders = np.repeat(np.arange(n_orders), n_free)
    fp = np.asarray(FREE_P)
    fp_nodecor = np.where(np.asarray(FREE_CATS) == "home_decor", 0.0, fp)
    fp_nodecor /= fp_nodecor.sum()
    u_free = rng.random(free_orders.size)
    fc = np.where(
        gift[free_orders],
        np.searchsorted(np.cumsum(fp_nodecor), u_free, side="right"),
        np.searchsorted(np.cumsum(fp), u_free, side="right"),
    )
    fc = np.minimum(fc, len(FREE_CATS) - 1)
    for k, cat in enumerate(FREE_CATS):
        lines.add(free_orders[fc == k], cat)
    stroller = {"n_formula": int(n_formula), "n_eligible": n_f_elig, "p_stroller": p_stroller}
    return lines, female, stroller


def fill_baskets(rng_basket: np.random.Generator, rng_value: np.random.Generator, orders: Orders) -> Lines:
    """The order lines: planted rules (stream "baskets"), then values and products (stream "values")."""
    planted, female, stroller = _planted_lines(rng_basket, orders)
    l_order, l_cat, l_prod = planted.arrays()
    n_orders, z = orders.n, orders.z
    cat_w = np.array([CAT_WEIGHT[c] for c in CATEGORIES])
    list_price = np.array([p[2] for p in CATALOG])
    popularity = np.array([p[3] for p in CATALOG])
    prod_cat = np.array([planted.cat_code[p[0]] for p in CATALOG])
    prod_free = np.array([p[4] for p in CATALOG])
    # Split each order's total z over its lines. Lines of a fixed product
    # (planted rules) get about their list price (scaled down if they would
    # take more than 80% of z); the other lines share the rest by the
    # category's typical value, with noise, and then pick a product that
    # suits their value.
    fixed = l_prod >= 0
    base_w = np.where(fixed, list_price[np.maximum(l_prod, 0)], cat_w[l_cat])
    w = base_w * rng_value.gamma(4.0, 0.25, l_order.size)
    fixed_sum = np.bincount(l_order, weights=np.where(fixed, w, 0.0), minlength=n_orders)
    free_sum = np.bincount(l_order, weights=np.where(fixed, 0.0, w), minlength=n_orders)
    has_free = free_sum > 0
    fixed_total = np.where(has_free, np.minimum(fixed_sum, 0.8 * z), z)
    w_sum = np.where(fixed, fixed_sum[l_order], free_sum[l_order])
    share_total = np.where(fixed, fixed_total[l_order], (z - fixed_total)[l_order])
    v = share_total * w / w_sum
    season = np.ones((len(CATALOG), 12))
    season[planted.prod_code["down_jacket"]] = DOWN_JACKET_BY_MONTH
    l_month = orders.month[l_order]
    log_season = np.log(season)
    log_pop = np.log(popularity)
    for k in range(len(CATEGORIES)):
        sel = np.flatnonzero((l_cat == k) & (l_prod < 0))
        prods = np.flatnonzero((prod_cat == k) & prod_free)
        if sel.size == 0:
            continue
        lp = np.log(list_price[prods])
        for c0 in range(0, sel.size, 1_000_000):
            s = sel[c0 : c0 + 1_000_000]
            score = (
                log_pop[prods][None, :]
                + log_season[prods][:, l_month[s]].T
                - _price_penalty(np.log(v[s])[:, None] - lp[None, :])
                + rng_value.gumbel(size=(s.size, prods.size))
            )
            l_prod[s] = prods[np.argmax(score, axis=1)]
    # merge repeated products within an order
    n_codes = len(CATALOG) + 1
    srt = np.argsort(l_order * n_codes + l_prod)
    l_order, l_prod, v = l_order[srt], l_prod[srt], v[srt]
    new = np.ones(l_order.size, dtype=bool)
    new[1:] = (l_order[1:] != l_order[:-1]) | (l_prod[1:] != l_prod[:-1])
    grp = np.cumsum(new) - 1
    v = np.bincount(grp, weights=v)
    l_order, l_prod = l_order[new], l_prod[new]
    qty = np.clip(np.rint(v / list_price[l_prod]), 1, 20).astype(np.int64)
    unit = np.round(v / qty, 2)
    return Lines(
        order=l_order, product=l_prod, quantity=qty, unit_price=unit, amount=np.round(qty * unit, 2),
        female=female, stroller=stroller,
    )
