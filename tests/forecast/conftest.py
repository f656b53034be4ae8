"""Fixtures of the forecasting tests: the planted demand panel and Online Retail I + II as one demand history."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from tests.conftest import shared_file

#: Online Retail II (2009-12-01..2010-12-09) and Online Retail overlap on 2010-12-01..09: keep that span once.
OVERLAP_END = dt.datetime(2010, 12, 10)


@pytest.fixture(scope="session")
def planted():
    """The planted weekly demand of custlab.synthetic.demand over three years (156 weeks)."""
    from custlab.synthetic.demand import make_demand

    return make_demand(seed=0, months=36)


@pytest.fixture(scope="session")
def planted_series(planted):
    return planted["series"].select("series_id", "period", "value")


def _lines(path, invoice: str, price: str) -> pl.LazyFrame:
    """Sales lines of products (no cancellation, return, free line, postage or fee), all customers."""
    return (
        pl.scan_parquet(path)
        .filter(~pl.col(invoice).str.starts_with("C") & (pl.col("Quantity") > 0) & (pl.col(price) > 0)
                & pl.col("StockCode").str.contains(r"^\d"))
        .select(order_date=pl.col("InvoiceDate"), amount=pl.col("Quantity") * pl.col(price),
                quantity=pl.col("Quantity").cast(pl.Float64), product_id=pl.col("StockCode"), country=pl.col("Country"))
    )


@pytest.fixture(scope="session")
def retail_demand() -> pl.DataFrame:
    """Online Retail II's 2009-2010 sheet, then Online Retail from 2010-12-10: 2009-12-01..2011-12-09 once."""
    second = _lines(shared_file("online_retail_ii", "online_retail_ii_2009_2010.parquet"), "Invoice", "Price")
    first = _lines(shared_file("online_retail", "online_retail.parquet"), "InvoiceNo", "UnitPrice")
    return pl.concat([second, first.filter(pl.col("order_date") >= OVERLAP_END)]).collect()
