"""Shared fixtures: real datasets from ../shared/data (fail, not skip, on CI when missing)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import matplotlib
import pytest
from hypothesis import HealthCheck, settings

matplotlib.use("Agg")

# The shared real datasets sit beside the repository (../shared/data) unless CUSTLAB_DATA says otherwise;
# the library itself never guesses this path.
os.environ.setdefault("CUSTLAB_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "data"))

# Property tests draw the same examples on every run (fixed seeds), and a busy machine does not fail them.
settings.register_profile("custlab", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("custlab")

from custlab.data import shared_data_dir  # noqa: E402


@pytest.fixture(autouse=True)
def _matplotlib_settings_restored():
    """A chart asked for in Chinese puts a CJK font first for the session (custlab._plotting.in_language_font):
    each test starts from the settings the one before it found, so no chart depends on the tests before it."""
    with matplotlib.rc_context():
        yield


def shared_file(*parts: str) -> Path:
    """Path of a shared dataset; on CI a missing file fails the test, elsewhere it skips it."""
    path = shared_data_dir().joinpath(*parts)
    if not path.exists():
        message = f"shared dataset missing: {path} (see ../shared/data/README.md)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def online_retail_file() -> Path:
    return shared_file("online_retail", "online_retail.parquet")


@pytest.fixture(scope="session")
def groceries_file() -> Path:
    return shared_file("groceries", "groceries.parquet")


@pytest.fixture(scope="session")
def rees46_file() -> Path:
    return shared_file("rees46_ecommerce_events", "2019-Oct-head.parquet")


@pytest.fixture(scope="session")
def online_retail(online_retail_file):
    """Raw Online Retail as canonical transactions (541,909 lines, nothing removed)."""
    from custlab.data import load_online_retail

    return load_online_retail(online_retail_file)


@pytest.fixture(scope="session")
def online_retail_clean(online_retail):
    """Online Retail without cancellations, returns and lines lacking a customer (README figures)."""
    from custlab.data import clean_transactions

    clean, _ = clean_transactions(online_retail, rules=("cancelled", "returned", "missing_customer"))
    return clean


@pytest.fixture(scope="session")
def recorded():
    """``with recorded(module, name) as results:`` calls ``module.name`` as usual and keeps what each call returned.

    Session-scoped, so that hypothesis tests can use it (each ``with`` patches and restores on its own).
    """
    @contextlib.contextmanager
    def record(module, name: str):
        original, results = getattr(module, name), []

        def spy(*args, **kwargs):
            results.append(original(*args, **kwargs))
            return results[-1]

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(module, name, spy)
            yield results

    return record
