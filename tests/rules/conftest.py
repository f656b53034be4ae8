"""Fixtures of the rules tests: Groceries itemsets and the synthetic shop."""

from __future__ import annotations

import polars as pl
import pytest

from custlab import rules as R

@pytest.fixture(scope="module")
def groceries(groceries_file) -> pl.DataFrame:
    return pl.read_parquet(groceries_file)


@pytest.fixture(scope="module")
def groceries_0001(groceries) -> pl.DataFrame:
    return R.frequent_itemsets(groceries, min_support=0.001)


@pytest.fixture(scope="module")
def groceries_0006(groceries) -> pl.DataFrame:
    return R.frequent_itemsets(groceries, min_support=0.006)


@pytest.fixture(scope="module")
def shop():
    from custlab.synthetic import make_shop

    return make_shop(20_000, seed=3)



@pytest.fixture(scope="module")
def small_rules(groceries_0006):
    return R.association_rules(groceries_0006, min_confidence=0.4)
