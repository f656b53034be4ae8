"""Stage "campaign" (``make_shop(campaign=True)``): a randomised win-back campaign with a planted effect.

At ``WIN_BACK["sent_at"]`` of the period (a midnight), every *dormant*
customer (last order 90 to 364 days before the send) is randomised: half to
the treatment (an SMS with the offer "20 off 200", cost 1.0 each), half to a
control that gets nothing. Outcome: an order within 30 days of the send.

The planted effect is **+28% relative repurchase** among the treated
dormant. Each dormant customer's natural outcome ``Y0`` comes from the shop's
own orders (the purchase process, untouched). A treated customer who would
not have bought anyway gets one extra, campaign-induced order with
probability ``q_i = k * w_i``, where ``w_i = min(orders before the send, 4)``
(customers who bought more often respond more: the heterogeneity an uplift
model can find) and ``k = 0.28 * p0 / mean((1 - Y0) * w)`` over all dormant
customers, ``p0`` their natural 30-day repurchase rate. So, over the
randomisation, the treated group's expected rate is exactly ``1.28 * p0``
and the control's ``p0``. Induced orders come 0-30 days after the send
(truncated exponential, mean 7 days), are worth a Gamma-Gamma draw of the
customer's own spend (``Gamma(p, nu_i)``) and are one line of a catalogue
product; they are appended to ``transactions`` (clean lines, order ids after
the last one) and listed in ``truth["campaign"]["induced_order_ids"]``.

Without ``campaign=True`` nothing here runs and no existing table changes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import polars as pl

from custlab.exceptions import CustlabError
from custlab.synthetic._arrays import strings
from custlab.synthetic.customers import Customers
from custlab.synthetic.params import CATALOG, GAMMA_GAMMA, US_PER_DAY, US_PER_SEC, WIN_BACK, product_ids
from custlab.synthetic.purchases import Orders
from custlab.synthetic.timeline import Calendar

__all__ = ["win_back_campaign"]


def _per_customer_before(orders: Orders, n: int, sent_us: int) -> tuple[np.ndarray, np.ndarray]:
    """Last order time (-1 if none) and number of orders before the send, per customer."""
    before = orders.us < sent_us
    last = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last, orders.cust[before], orders.us[before])
    count = np.bincount(orders.cust[before], minlength=n)
    return last, count


def _induced_lines(rng: np.random.Generator, nu: np.ndarray, size: int) -> dict[str, np.ndarray]:
    """Amount, product and quantity of a possible induced order for each of ``size`` customers."""
    z = np.maximum(np.round(rng.gamma(GAMMA_GAMMA["p"], 1.0 / nu), 2), 1.0)
    prices = np.array([p[2] for p in CATALOG])
    popularity = np.array([p[3] for p in CATALOG])
    u = rng.random(size)
    product = np.empty(size, dtype=np.int64)
    for i in range(size):  # a popular product the order can pay for (the cheapest when none fits)
        fits = prices <= z[i]
        if not fits.any():
            product[i] = int(np.argmin(prices))
            continue
        weights = np.where(fits, popularity, 0.0).cumsum()
        product[i] = int(np.searchsorted(weights, u[i] * weights[-1], side="right"))
    quantity = np.clip(np.round(z / prices[product]), 1, 20).astype(np.int64)
    unit = np.round(z / quantity, 2)
    return {"product": product, "quantity": quantity, "unit_price": unit, "amount": np.round(quantity * unit, 2)}


def win_back_campaign(
    rng: np.random.Generator, orders: Orders, customers: Customers, cal: Calendar, next_order_id: int,
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, Any]]:
    """Stream "campaign": the campaigns table, the induced order lines and ``truth["campaign"]``."""
    n = orders.n_customers
    lo, hi = WIN_BACK["dormant_days"]
    within = WIN_BACK["within_days"]
    sent_day = int(round(WIN_BACK["sent_at"] * cal.ndays))
    if sent_day < lo + 1 or sent_day + within > cal.ndays:
        raise CustlabError(
            f"campaign=True needs a period long enough for {lo} days of dormancy before the send and {within} days "
            f"after it (about 6 months or more); got months={cal.months}."
        )
    sent_us = cal.start_us + sent_day * US_PER_DAY
    last, count = _per_customer_before(orders, n, sent_us)
    dormant = (last >= sent_us - hi * US_PER_DAY) & (last < sent_us - lo * US_PER_DAY)
    idx = np.flatnonzero(dormant)
    if idx.size < 2:
        raise CustlabError(f"campaign=True found {idx.size} dormant customer(s) to randomise; use more customers.")
    treated = rng.random(idx.size) < WIN_BACK["treatment_share"]
    end_us = sent_us + within * US_PER_DAY
    in_window = (orders.us >= sent_us) & (orders.us < end_us)
    natural = np.zeros(n, dtype=bool)
    natural[orders.cust[in_window]] = True
    y0 = natural[idx]
    p0 = float(y0.mean())
    w = np.minimum(count[idx], WIN_BACK["max_weight_orders"]).astype(float)
    denom = float(np.mean((~y0) * w))
    k = WIN_BACK["relative_lift"] * p0 / denom if denom > 0 else 0.0
    q = np.minimum(k * w, 1.0)
    responds = rng.random(idx.size) < q
    induced = treated & ~y0 & responds
    mean_delay = WIN_BACK["response_delay_days"]
    u = rng.random(idx.size)
    delay_days = -mean_delay * np.log1p(-u * (1.0 - np.exp(-within / mean_delay)))
    order_us = sent_us + (delay_days * 86_400).astype(np.int64) * US_PER_SEC
    lines = _induced_lines(rng, orders.nu[idx], idx.size)

    ids = customers.ids[idx]
    campaigns = pl.DataFrame({
        "campaign_id": pl.Series([WIN_BACK["campaign_id"]] * idx.size, dtype=pl.String),
        "customer_id": pl.Series(ids, dtype=pl.Int64),
        "group": strings(("control", "treatment"), treated.astype(np.int64)),
        "sent_date": pl.Series(np.full(idx.size, sent_us), dtype=pl.Int64).cast(pl.Datetime("us")),
        "channel": pl.Series([WIN_BACK["channel"]] * idx.size, dtype=pl.String),
        "offer": pl.Series([WIN_BACK["offer"] if t else None for t in treated], dtype=pl.String),
        "cost": pl.Series(np.where(treated, WIN_BACK["cost_per_treated"], 0.0), dtype=pl.Float64),
    })
    sel = np.flatnonzero(induced)
    sel = sel[np.argsort(order_us[sel], kind="stable")]
    order_ids = np.arange(next_order_id, next_order_id + sel.size, dtype=np.int64)
    product = lines["product"][sel]
    extra = pl.DataFrame({
        "customer_id": pl.Series(ids[sel], dtype=pl.Int64),
        "order_id": pl.Series(order_ids, dtype=pl.Int64),
        "order_date": pl.Series(order_us[sel], dtype=pl.Int64).cast(pl.Datetime("us")),
        "amount": pl.Series(lines["amount"][sel], dtype=pl.Float64),
        "product_id": strings(product_ids(), product),
        "product_name": strings([p[1] for p in CATALOG], product),
        "category": strings([p[0] for p in CATALOG], product),
        "quantity": pl.Series(lines["quantity"][sel], dtype=pl.Int64),
        "unit_price": pl.Series(lines["unit_price"][sel], dtype=pl.Float64),
        "channel": pl.Series(["app"] * sel.size, dtype=pl.String),
    })
    outcome = y0 | induced
    truth = {
        "campaign_id": WIN_BACK["campaign_id"],
        "sent_date": cal.truth()["start"] + dt.timedelta(days=sent_day),
        "within_days": within,
        "dormant_days": (lo, hi),
        "treatment_share": WIN_BACK["treatment_share"],
        "relative_lift": WIN_BACK["relative_lift"],
        "baseline_rate": p0,
        "expected_treatment_rate": (1.0 + WIN_BACK["relative_lift"]) * p0,
        "n_dormant": int(idx.size),
        "n_treatment": int(treated.sum()),
        "n_control": int((~treated).sum()),
        "treatment_rate": float(outcome[treated].mean()) if treated.any() else 0.0,
        "control_rate": float(outcome[~treated].mean()) if (~treated).any() else 0.0,
        "induced_orders": int(sel.size),
        "induced_revenue": float(lines["amount"][sel].sum()),
        "induced_order_ids": order_ids,
        "cost_per_treated": WIN_BACK["cost_per_treated"],
        "response": "q_i = k * min(orders before the send, 4) for treated customers who would not buy anyway",
        "uplift": pl.DataFrame({"customer_id": pl.Series(ids, dtype=pl.Int64), "planted_q": q,
                                "orders_before": pl.Series(count[idx], dtype=pl.Int64)}),
    }
    return campaigns, extra, truth
