"""Fixtures of the attribution tests: a synthetic shop with planted channel contributions."""

from __future__ import annotations

import pytest

import custlab.attribution as at
from custlab.synthetic import make_shop


@pytest.fixture(scope="session")
def shop():
    """5,000 customers whose journeys are drawn from a chain with known removal effects (``shop.truth["touches"]``)."""
    return make_shop(5000, seed=3, touches=True)


@pytest.fixture(scope="session")
def planted(shop):
    return at.attribute(shop.touches, shop.transactions, conversions="first", shapley=True)
