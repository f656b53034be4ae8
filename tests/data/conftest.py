"""Fixtures of the data tests: the shared datasets beside Online Retail.

Paths come from the root conftest's ``shared_file`` (fail on CI, skip elsewhere when
missing); it is re-exported here because test modules that do ``from conftest import
shared_file`` may find this conftest under that name.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("_custlab_root_conftest", Path(__file__).parents[1] / "conftest.py")
_root = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_root)
shared_file = _root.shared_file


@pytest.fixture(scope="session")
def online_retail_ii_file() -> Path:
    return shared_file("online_retail_ii", "online_retail_ii_2009_2010.parquet")


@pytest.fixture(scope="session")
def olist_dir() -> Path:
    return shared_file("olist_brazilian_ecommerce")


@pytest.fixture(scope="session")
def ta_feng_file() -> Path:
    return shared_file("ta_feng", "ta_feng.parquet")
