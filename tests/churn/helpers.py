"""Hand-made data shared by the churn and repurchase tests: known durations, censoring, planted effects."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

d = dt.datetime

AS_OF = d(2024, 3, 31, 12)  # analysis day D = 2024-03-31; orders before noon that day count
W = 30


def _tx() -> pl.DataFrame:
    rows = [
        # customer, order, time, amount, category
        ("A", "a1", d(2024, 1, 1, 9), 10.0, "cream"),
        ("A", "a1", d(2024, 1, 1, 9), 30.0, "soap"),      # first order: two lines, 40 in all
        ("A", "a2", d(2024, 1, 11, 9), 5.0, "cream"),      # last purchase: 80 days before D -> churned
        ("B", "b1", d(2024, 3, 1, 8), 7.0, "soap"),        # one purchase, exactly W days before D -> churned on D
        ("C", "c1", d(2024, 3, 2, 8), 9.0, "soap"),        # W - 1 days before D -> censored
        ("E", "e2", d(2024, 2, 15, 18), 4.0, "food"),      # two orders on one day
        ("E", "e1", d(2024, 2, 15, 10), 6.0, "food"),      # the earlier one is the first order
        ("E", "e3", d(2024, 3, 20, 10), 2.0, "cream"),
        ("F", "f1", d(2024, 3, 31, 9), 3.0, "cream"),      # first purchase on the analysis day: duration 0
        ("G", "g1", d(2024, 1, 5, 9), 8.0, "toys"),
        ("G", "g2", d(2024, 4, 2, 9), 8.0, "toys"),        # after as_of: left out, counted
        ("H", "h1", d(2024, 3, 31, 15), 1.0, "toys"),      # only after as_of: not a customer yet
        (None, "x1", d(2024, 2, 1, 9), 1.0, "toys"),       # no customer: left out, counted
    ]
    return pl.DataFrame(rows, schema=["customer_id", "order_id", "order_date", "amount", "category"], orient="row")


def _cycle_tx() -> pl.DataFrame:
    rows = [
        (1, "2024-01-01", "cream"), (1, "2024-01-26", "cream"), (1, "2024-02-20", "cream"),
        (1, "2024-01-10", "food"), (1, "2024-01-10", "cream"),  # cream twice on one day: one purchase day
        (2, "2024-02-01", "cream"), (2, "2024-02-11", "food"), (2, "2024-02-21", "food"),
        (3, "2024-02-25", None),
    ]
    return pl.DataFrame(
        [(c, i, dt.datetime.fromisoformat(t), 1.0, cat) for i, (c, t, cat) in enumerate(rows)],
        schema=["customer_id", "order_id", "order_date", "amount", "category"], orient="row",
    )


def _random_frame(n=3000, seed=0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b", "c", None], n, p=[0.4, 0.3, 0.2, 0.1])
    scale = np.select([group == "a", group == "b"], [120.0, 80.0], 100.0)
    churn_day = 90 + np.floor(rng.exponential(scale)).astype(int)
    follow = rng.integers(0, 400, n)
    return pl.DataFrame({
        "customer_id": np.arange(n), "duration_days": np.minimum(churn_day, follow),
        "churned": churn_day <= follow, "channel": group, "value": rng.gamma(2.0, 50.0, n),
    })


def _cox_data(n=4000, seed=1, ph_breaking=False) -> pl.DataFrame:
    """Exponential times with hazard ratio 2 for channel web and 0.7 per log1p(value) unit."""
    rng = np.random.default_rng(seed)
    channel = rng.choice(["app", "web"], n, p=[0.6, 0.4])
    value = rng.gamma(2.0, 40.0, n)
    rate = 0.01 * np.where(channel == "web", 2.0, 1.0) * np.exp(np.log(0.7) * np.log1p(value))
    t = rng.exponential(1 / rate)
    if ph_breaking:  # web churns early or not at all: its hazard ratio falls over time
        t = np.where(channel == "web", np.where(rng.random(n) < 0.5, rng.exponential(20, n), 5000), t)
    follow = rng.uniform(0, 600, n)
    return pl.DataFrame({
        "customer_id": np.arange(n), "duration_days": np.ceil(np.minimum(t, follow)).astype(int),
        "churned": t <= follow, "first_channel": channel, "first_order_value": value,
        "region": rng.choice(["north", "south", "east", "tiny"], n, p=[0.5, 0.3, 0.195, 0.005]),
    })
