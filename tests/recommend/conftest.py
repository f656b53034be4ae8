"""Fixtures of the recommendation tests: a small synthetic shop and tiny hand-made histories."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest


@pytest.fixture(scope="session")
def shop():
    from custlab.synthetic import make_shop

    return make_shop(n_customers=3000, seed=7)


@pytest.fixture()
def tiny() -> pl.DataFrame:
    """Three customers: 1 and 2 buy tea and cup, 3 only tea; 4 buys jam twice."""
    day = dt.datetime(2024, 1, 1)
    return pl.DataFrame({
        "customer_id": [1, 1, 2, 2, 3, 4, 4],
        "order_id": [1, 1, 2, 2, 3, 4, 5],
        "order_date": [day, day, day, day, day, day, day + dt.timedelta(days=3)],
        "amount": [1.0] * 7,
        "product_id": ["tea", "cup", "tea", "cup", "tea", "jam", "jam"],
        "product_name": ["Tea", "Cup", "Tea", "Cup", "Tea", "Jam", "Jam"],
    })
