"""Fixtures of the synthetic shop's tests: shops of three sizes."""

from __future__ import annotations

import pytest

from custlab.synthetic import Shop, make_shop

from .helpers import N_BIG


@pytest.fixture(scope="session")
def big() -> Shop:
    return make_shop(N_BIG, seed=11)


@pytest.fixture(scope="session")
def small() -> Shop:
    return make_shop(2_000, seed=5)


@pytest.fixture(scope="session")
def messy() -> Shop:
    return make_shop(2_000, seed=5, messy=0.4)
