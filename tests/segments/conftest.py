"""Fixtures of the segments tests: Online Retail's RFM table and the synthetic shop."""

from __future__ import annotations

import pytest

from custlab.segments import rfm_table

from .helpers import AS_OF


@pytest.fixture(scope="module")
def retail_rfm(online_retail_clean):
    return rfm_table(online_retail_clean, as_of=AS_OF)


@pytest.fixture(scope="session")
def shop():
    from custlab.synthetic import make_shop

    return make_shop(20000, seed=3)
