"""The synthetic shop's expected schemas and the measurements an analyst would make on its tables."""

from __future__ import annotations

import polars as pl

from custlab.synthetic import Shop

#: Customers in the shop the planted figures are measured on.
N_BIG = 60_000

SCHEMAS = {
    "transactions": {
        "customer_id": pl.Int64,
        "order_id": pl.Int64,
        "order_date": pl.Datetime("us"),
        "amount": pl.Float64,
        "product_id": pl.String,
        "product_name": pl.String,
        "category": pl.String,
        "quantity": pl.Int64,
        "unit_price": pl.Float64,
        "channel": pl.String,
    },
    "customers": {
        "customer_id": pl.Int64,
        "signup_date": pl.Datetime("us"),
        "age": pl.Int64,
        "gender": pl.String,
        "region": pl.String,
        "city_tier": pl.String,
        "occupation": pl.String,
        "acquisition_channel": pl.String,
    },
    "events": {
        "customer_id": pl.Int64,
        "event_time": pl.Datetime("us"),
        "event": pl.String,
        "session_id": pl.Int64,
        "channel": pl.String,
        "product_id": pl.String,
    },
    "marketing_spend": {"month": pl.Date, "channel": pl.String, "spend": pl.Float64},
    "reviews": {
        "customer_id": pl.Int64,
        "review_date": pl.Datetime("us"),
        "rating": pl.Int64,
        "order_id": pl.Int64,
        "product_id": pl.String,
        "text": pl.String,
    },
}


# ----------------------------------------------------------------------------
# helpers (measurements as an analyst would make them)
# ----------------------------------------------------------------------------
def rfm_summary(shop: Shop) -> pl.DataFrame:
    """First-purchase-anchored BG/NBD summary in weeks, per distinct day."""
    end = shop.truth["period"]["end"].date()
    days = shop.transactions.select("customer_id", pl.col("order_date").dt.date().alias("d")).unique()
    return (
        days.group_by("customer_id")
        .agg(
            pl.col("d").min().alias("first"),
            pl.col("d").max().alias("last"),
            (pl.len() - 1).alias("frequency"),
        )
        .with_columns(
            ((pl.col("last") - pl.col("first")).dt.total_days() / 7.0).alias("recency"),
            ((pl.lit(end) - pl.col("first")).dt.total_days() / 7.0).alias("T"),
        )
        .sort("customer_id")
    )


def baskets(shop: Shop) -> pl.DataFrame:
    return shop.transactions.group_by("order_id").agg(
        pl.col("product_name"), pl.col("category"), pl.col("order_date").first()
    )


def revenue_by_customer(shop: Shop) -> pl.DataFrame:
    return (
        shop.transactions.group_by("customer_id")
        .agg(pl.col("amount").sum().alias("revenue"))
        .join(shop.customers, on="customer_id")
    )


def median_gap_days(shop: Shop, column: str, value: str) -> tuple[float, int]:
    gaps = (
        shop.transactions.filter(pl.col(column) == value)
        .select("customer_id", pl.col("order_date").dt.date().alias("d"))
        .unique()
        .sort("customer_id", "d")
        .select(pl.col("d").diff().over("customer_id").dt.total_days().alias("gap"))
        .drop_nulls()["gap"]
    )
    return float(gaps.median()), gaps.len()
