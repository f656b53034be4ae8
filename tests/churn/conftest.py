"""Synthetic shops shared by the churn tests (module-scoped where each file builds its own)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def shop():
    from custlab.synthetic import make_shop

    return make_shop(20000, seed=0)


@pytest.fixture(scope="session")
def small_shop():
    from custlab.synthetic import make_shop

    return make_shop(5000, seed=5)


@pytest.fixture(scope="session")
def olist():
    """Olist as canonical transactions (customer_unique_id, 71 product categories) and customers with region.

    Only the orders of the partial orders table carry a customer and a date: 10,807 lines, 20 repurchases.
    """
    import polars as pl

    from tests.conftest import shared_file

    folder = "olist_brazilian_ecommerce"
    items = pl.read_parquet(shared_file(folder, "olist_order_items_dataset.parquet"))
    orders = pl.read_parquet(shared_file(folder, "olist_orders_dataset_partial.parquet"))
    customers = pl.read_parquet(shared_file(folder, "olist_customers_dataset.parquet"))
    products = pl.read_parquet(shared_file(folder, "olist_products_dataset.parquet"))
    tx = (
        items.join(orders.select("order_id", "customer_id", "order_purchase_timestamp"), on="order_id")
        .join(customers.select("customer_id", "customer_unique_id"), on="customer_id")
        .join(products.select("product_id", "product_category_name"), on="product_id", how="left")
        .select(customer_id="customer_unique_id", order_id="order_id", order_date="order_purchase_timestamp",
                amount="price", category="product_category_name")
    )
    regions = customers.group_by("customer_unique_id").agg(pl.col("customer_state").min()).select(
        customer_id="customer_unique_id", region="customer_state")
    return tx, regions


@pytest.fixture(scope="session")
def ta_feng_sample():
    """2,500 Ta-Feng customers (seed 0): grocery baskets with 2,012 product subclasses as categories."""
    import polars as pl

    from tests.conftest import shared_file

    raw = pl.read_parquet(shared_file("ta_feng", "ta_feng.parquet"))
    ids = raw["CUSTOMER_ID"].unique().sort().sample(2500, seed=0).implode()
    raw = raw.filter(pl.col("CUSTOMER_ID").is_in(ids))
    tx = raw.select(customer_id="CUSTOMER_ID", order_id=pl.concat_str("CUSTOMER_ID", pl.col("TRANSACTION_DT").cast(str)),
                    order_date=pl.col("TRANSACTION_DT").cast(pl.Datetime), amount=pl.col("SALES_PRICE").cast(float),
                    category=pl.col("PRODUCT_SUBCLASS").cast(str))
    customers = raw.group_by("CUSTOMER_ID").agg(pl.col("AGE_GROUP").first(), pl.col("PIN_CODE").first()).select(
        customer_id="CUSTOMER_ID", age_group="AGE_GROUP", region="PIN_CODE")
    return tx, customers
