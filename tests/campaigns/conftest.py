"""Fixtures of the campaign tests: Hillstrom's e-mail test and synthetic shops with a planted win-back."""

from __future__ import annotations

import polars as pl
import pytest

from custlab.synthetic import Shop, make_shop

#: Customers of the shop whose planted campaign effect is recovered (about 14,000 dormant customers randomised).
N_CAMPAIGN = 40_000


@pytest.fixture(scope="session")
def hillstrom() -> pl.DataFrame:
    from tests.conftest import shared_file

    return pl.read_parquet(shared_file("hillstrom_email", "hillstrom.parquet"))


@pytest.fixture(scope="session")
def campaign_shop() -> Shop:
    """A shop large enough to see the planted +28% (about 7,000 customers per arm)."""
    return make_shop(N_CAMPAIGN, seed=1, campaign=True)


@pytest.fixture(scope="session")
def small_campaign_shop() -> Shop:
    return make_shop(3_000, seed=2, campaign=True)
