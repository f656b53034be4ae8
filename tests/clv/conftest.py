"""Fixtures of the CLV tests: CDNOW (published summary and the 1/10 sample) and fitted models."""

from __future__ import annotations

import pytest

from custlab import clv
from custlab.clv import _lifetimes
from custlab.data.datasets import load_cdnow

from .helpers import CAL_END, OBS_END


@pytest.fixture(scope="module")
def lt():
    """The lifetimes package, imported without its global side effects (reference computations)."""
    return _lifetimes._lib()


@pytest.fixture(scope="module")
def sample():
    return load_cdnow("sample")


@pytest.fixture(scope="module")
def published():
    return load_cdnow("summary")


@pytest.fixture(scope="module")
def summary(sample):
    """Our 39-week calibration summary of the CDNOW 1/10 sample, in weeks."""
    return clv.clv_summary(sample, as_of=CAL_END, freq="W")


@pytest.fixture(scope="module")
def calhold(sample):
    return clv.calibration_holdout(sample, calibration_end=CAL_END, observation_end=OBS_END, freq="W")


@pytest.fixture(scope="module")
def bgf(published):
    return clv.BetaGeo(freq="W").fit(published)


@pytest.fixture(scope="module")
def ggf(published):
    return clv.GammaGamma().fit(published)


@pytest.fixture(scope="module")
def pnbd(published):
    return clv.ParetoNBD(freq="W").fit(published)


@pytest.fixture(scope="module")
def mbg(published):
    return clv.ModifiedBetaGeo(freq="W").fit(published)


@pytest.fixture(scope="session")
def tafeng():
    """Ta-Feng grocery (2000-11-01 to 2001-02-28) as canonical transactions: 817,741 lines, 32,266 customers."""
    import polars as pl

    from tests.conftest import shared_file

    raw = pl.read_parquet(shared_file("ta_feng", "ta_feng.parquet"))
    return raw.select(customer_id="CUSTOMER_ID", order_date=pl.col("TRANSACTION_DT").cast(pl.Datetime),
                      amount=pl.col("SALES_PRICE").cast(pl.Float64))


@pytest.fixture(scope="session")
def olist_orders():
    """Olist orders with a date and a customer (the partial orders table), paid amounts, by customer_unique_id."""
    import polars as pl

    from tests.conftest import shared_file

    folder = "olist_brazilian_ecommerce"
    orders = pl.read_parquet(shared_file(folder, "olist_orders_dataset_partial.parquet"))
    people = pl.read_parquet(shared_file(folder, "olist_customers_dataset.parquet"))
    paid = pl.read_parquet(shared_file(folder, "olist_order_payments_dataset.parquet")).group_by("order_id").agg(
        amount=pl.col("payment_value").sum())
    return (
        orders.join(people.select("customer_id", "customer_unique_id"), on="customer_id")
        .join(paid, on="order_id")
        .filter(pl.col("amount") > 0)
        .select(customer_id="customer_unique_id", order_id="order_id", order_date="order_purchase_timestamp",
                amount="amount")
    )
