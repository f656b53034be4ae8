"""Stage "messy": the transactions table, clean, then with the planted data problems.

The clean lines come in chronological order (orders by id, products within).
With ``messy = m > 0`` the transactions get (exact counts in
``truth["messy_counts"]``; ``n_orders`` and ``n_lines`` are those of the clean
data; rates in ``params.MESSY_RATES``):

* ``round(0.10 m n_orders)`` cancelled orders: each of their lines repeated
  with negative quantity and amount, same order_id, 1-72 hours later;
* ``round(0.10 m n_orders)`` other orders whose lines lose their
  ``customer_id`` (null);
* ``round(0.05 m n_lines)`` exact duplicates of distinct clean lines;
* ``round(0.02 m n_orders)`` zero-price lines (a free sample of a catalogue
  product, quantity 1, amount 0) added to existing orders;
* ``round(0.20 m n_orders)`` postage lines (``product_id`` "POST",
  ``product_name`` "postage", category "postage", 6-12 yuan) added to
  existing orders;
* ``max(1, round(0.005 m n_lines))`` copies of lines of orders with a known
  customer, dated 1-400 days after the period end under new order ids.

Dropping these rows (and the cancelled orders) gives back the clean lines of
the orders that kept their customer. With ``messy = 0`` the data are clean,
and the clean part never depends on ``messy``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from custlab.synthetic._arrays import segment_index, strings
from custlab.synthetic.baskets import Lines
from custlab.synthetic.params import CATALOG, MESSY_RATES, ORDER_CHANNELS, US_PER_SEC, product_ids
from custlab.synthetic.purchases import Orders

__all__ = ["MESSY_COUNT_KEYS", "transactions_table"]

#: The keys of ``truth["messy_counts"]``.
MESSY_COUNT_KEYS = (
    "cancelled_orders", "cancellation_lines", "missing_customer_orders", "missing_customer_lines",
    "duplicate_lines", "zero_price_lines", "postage_lines", "future_lines", "added_lines",
)


def transactions_table(
    rng: np.random.Generator, messy: float, orders: Orders, lines: Lines, order_channel: np.ndarray,
    order_ids: np.ndarray, chrono: np.ndarray, customer_ids: np.ndarray, end_us: int,
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Stream "messy": the transactions table and the exact counts of the planted problems."""
    n_orders, n_lines = orders.n, lines.n
    o_cust, o_us = orders.cust, orders.us
    lpo = np.bincount(lines.order, minlength=n_orders)
    first_l = np.cumsum(lpo) - lpo
    _, within = segment_index(lpo[chrono])
    tx_perm = np.repeat(first_l[chrono], lpo[chrono]) + within
    t_order = lines.order[tx_perm]
    t_cust = customer_ids[o_cust[t_order]].astype(np.float64)  # NaN marks a missing id
    t_oid = order_ids[t_order]
    t_us = o_us[t_order]
    t_prod = lines.product[tx_perm]
    t_qty = lines.quantity[tx_perm]
    t_unit = lines.unit_price[tx_perm]
    t_amount = lines.amount[tx_perm]
    t_chan = order_channel[t_order]
    mc = dict.fromkeys(MESSY_COUNT_KEYS, 0)
    post_code = len(CATALOG)
    if messy > 0:
        k_cancel = int(round(messy * MESSY_RATES["cancelled_orders"] * n_orders))
        k_null = int(round(messy * MESSY_RATES["missing_customer_orders"] * n_orders))
        k_null = min(k_null, n_orders - k_cancel)
        perm = rng.permutation(n_orders)
        cancel_o = np.zeros(n_orders, dtype=bool)
        cancel_o[perm[:k_cancel]] = True
        null_o = np.zeros(n_orders, dtype=bool)
        null_o[perm[k_cancel : k_cancel + k_null]] = True
        # exact duplicates of clean lines
        k_dup = int(round(messy * MESSY_RATES["duplicate_lines"] * n_lines))
        dup = rng.choice(n_lines, size=k_dup, replace=False)
        # cancellations
        cl = np.flatnonzero(cancel_o[t_order])
        c_delay = rng.integers(3600, 72 * 3600, k_cancel) * US_PER_SEC
        c_delay_o = np.zeros(n_orders, dtype=np.int64)
        c_delay_o[perm[:k_cancel]] = c_delay
        c_us = np.minimum(t_us[cl] + c_delay_o[t_order[cl]], end_us - US_PER_SEC)
        # zero-price samples and postage
        k_zero = int(round(messy * MESSY_RATES["zero_price_lines"] * n_orders))
        z_ord = rng.choice(n_orders, size=k_zero, replace=False)
        z_prod = rng.choice(np.flatnonzero(np.array([p[4] for p in CATALOG])), size=k_zero)
        k_post = int(round(messy * MESSY_RATES["postage_lines"] * n_orders))
        p_ord = rng.choice(n_orders, size=k_post, replace=False)
        p_fee = rng.choice(np.array([6.0, 8.0, 10.0, 12.0]), size=k_post)
        # lines dated after the end, under new order ids
        k_fut = max(1, int(round(messy * MESSY_RATES["future_lines"] * n_lines)))
        known = np.flatnonzero(~null_o[t_order])  # keep the count of orders without customer exact
        f_line = rng.choice(known if known.size else np.arange(n_lines), size=k_fut, replace=True)
        f_us = end_us + rng.integers(86400, 400 * 86400, k_fut) * US_PER_SEC
        f_oid = n_orders + 1 + np.arange(k_fut)

        ocust = customer_ids[o_cust].astype(np.float64)
        ocust[null_o] = np.nan
        t_cust = ocust[t_order]
        parts: dict[str, Any] = {
            "cust": [t_cust, t_cust[cl], ocust[z_ord], ocust[p_ord], t_cust[f_line]],
            "oid": [t_oid, t_oid[cl], order_ids[z_ord], order_ids[p_ord], f_oid],
            "us": [t_us, c_us, o_us[z_ord], o_us[p_ord], f_us],
            "prod": [t_prod, t_prod[cl], z_prod, np.full(k_post, post_code), t_prod[f_line]],
            "qty": [t_qty, -t_qty[cl], np.ones(k_zero, np.int64), np.ones(k_post, np.int64), t_qty[f_line]],
            "unit": [t_unit, t_unit[cl], np.zeros(k_zero), p_fee, t_unit[f_line]],
            "amount": [t_amount, -t_amount[cl], np.zeros(k_zero), p_fee, t_amount[f_line]],
            "chan": [t_chan, t_chan[cl], order_channel[z_ord], order_channel[p_ord], t_chan[f_line]],
        }
        for key_ in parts:
            arr = np.concatenate(parts[key_])
            parts[key_] = np.concatenate([arr, arr[dup]])  # duplicates of clean lines
        t_cust, t_oid, t_us, t_prod, t_qty, t_unit, t_amount, t_chan = (
            parts[k_] for k_ in ("cust", "oid", "us", "prod", "qty", "unit", "amount", "chan")
        )
        mc.update(
            cancelled_orders=k_cancel,
            cancellation_lines=int(cl.size),
            missing_customer_orders=k_null,
            missing_customer_lines=int(np.isnan(t_cust).sum()),
            duplicate_lines=k_dup,
            zero_price_lines=k_zero,
            postage_lines=k_post,
            future_lines=k_fut,
            added_lines=int(t_oid.size - n_lines),
        )
    srt = np.argsort(t_us, kind="stable") if messy > 0 else None

    def take(a_: np.ndarray) -> np.ndarray:
        return a_ if srt is None else a_[srt]

    ids = product_ids() + ["POST"]
    names = [p[1] for p in CATALOG] + ["postage"]
    cats = [p[0] for p in CATALOG] + ["postage"]
    t_cust = take(t_cust)
    missing = np.isnan(t_cust)
    cust_col = pl.Series("customer_id", np.where(missing, 0, t_cust).astype(np.int64), dtype=pl.Int64)
    if missing.any():
        cust_col.scatter(np.flatnonzero(missing), None)
    transactions = pl.DataFrame({
        "customer_id": cust_col,
        "order_id": pl.Series(take(t_oid), dtype=pl.Int64),
        "order_date": pl.Series(take(t_us), dtype=pl.Int64).cast(pl.Datetime("us")),
        "amount": pl.Series(take(t_amount), dtype=pl.Float64),
        "product_id": strings(ids, take(t_prod)),
        "product_name": strings(names, take(t_prod)),
        "category": strings(cats, take(t_prod)),
        "quantity": pl.Series(take(t_qty), dtype=pl.Int64),
        "unit_price": pl.Series(take(t_unit), dtype=pl.Float64),
        "channel": strings(ORDER_CHANNELS, take(t_chan)),
    })
    return transactions, mc
