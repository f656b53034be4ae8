"""Small transaction tables shared by the segments tests."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

AS_OF = "2011-12-10"


def make_tx(rows):
    """Transactions from (customer, order, 'YYYY-MM-DD', amount) tuples."""
    return pl.DataFrame(
        [(c, o, dt.datetime.fromisoformat(d), a) for c, o, d, a in rows],
        schema={"customer_id": pl.Int64, "order_id": pl.Int64, "order_date": pl.Datetime("us"),
                "amount": pl.Float64},
        orient="row",
    )


def planted_groups(seed: int = 0) -> tuple[pl.DataFrame, dict[int, int]]:
    """Three groups: frequent recent cosmetics buyers, one-off lapsed electronics buyers, mid food buyers."""
    rng = np.random.default_rng(seed)
    rows, group, order = [], {}, 0
    end = dt.datetime(2024, 6, 30)
    spec = {0: ("cosmetics", 12, 5, 300.0), 1: ("electronics", 1, 300, 40.0), 2: ("food", 4, 90, 80.0)}
    for g, (category, n_orders, recency, value) in spec.items():
        for c in range(60):
            cid = g * 100 + c
            group[cid] = g
            last = recency + int(rng.integers(0, 10))
            for i in range(n_orders):
                order += 1
                when = end - dt.timedelta(days=last + 9 * i, hours=int(rng.integers(0, 12)))
                rows.append((cid, order, when, value * float(rng.uniform(0.8, 1.2)), category))
    tx = pl.DataFrame(rows, schema={"customer_id": pl.Int64, "order_id": pl.Int64, "order_date": pl.Datetime("us"),
                                    "amount": pl.Float64, "category": pl.String}, orient="row")
    return tx, group
