"""Channel quality beyond ROI: how the customers a channel brings behave after they arrive.

A channel that buys cheap first orders from customers who never come back
looks good on ROI and bad here. For the customers acquired through each
channel (``customers.acquisition_channel``, or any grouping column), and
optionally by city:

* ``visit_depth``: events per session of their sessions (events table);
* ``add_to_cart_rate``: share of their sessions with an add-to-cart event;
* ``repurchase_90d``: share who order again within 90 days of their first
  order, among those whose first order is at least 90 days before ``as_of``
  (``eligible_90d``), so that young customers do not drag the rate down;
* ``revenue_per_customer``: their revenue before ``as_of``;
* ``clv``: their mean CLV when a CLV table is given (e.g. ``cl.clv.predict_clv``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from custlab._dates import as_datetime, as_of_after, parse_within
from custlab._types import DateLike, Frame
from custlab.campaigns.stats import wilson_interval, z_value
from custlab.data.ids import match_ids
from custlab.data.schema import check_frame, naive_datetimes, require_columns
from custlab.exceptions import CustlabError

__all__ = ["CART_EVENTS", "QUALITY_COLUMNS", "channel_quality"]

#: Event names counted as "added to cart".
CART_EVENTS = ("cart", "add_to_cart", "addtocart", "add-to-cart", "cart_add")
#: Columns of :func:`channel_quality` after the grouping columns.
QUALITY_COLUMNS = (
    "new_customers", "sessions", "visit_depth", "add_to_cart_rate", "eligible_90d", "repurchase_90d",
    "repurchase_90d_low", "repurchase_90d_high", "revenue_per_customer", "clv",
)


def _first_orders(transactions: Frame, as_of: dt.datetime | None) -> tuple[pl.DataFrame, dt.datetime]:
    lf = transactions.lazy().filter(pl.col("customer_id").is_not_null())
    if as_of is None:
        last = lf.select(pl.col("order_date").max()).collect().item()
        if last is None:
            raise CustlabError("the transactions hold no order with a customer.")
        as_of = as_of_after(last)
    lf = lf.filter(pl.col("order_date") < as_of)
    per_order = lf.group_by("customer_id", "order_id").agg(pl.col("order_date").min(), pl.col("amount").sum())
    first = per_order.group_by("customer_id").agg(
        pl.col("order_date").min().alias("first_order"), pl.col("amount").sum().alias("revenue"))
    return per_order.join(first, on="customer_id").collect(), as_of


def channel_quality(
    customers: Frame,
    transactions: Frame,
    *,
    events: Frame | None = None,
    clv: Frame | None = None,
    by: str | Sequence[str] = "acquisition_channel",
    as_of: DateLike | None = None,
    within: str | int | dt.timedelta = "90d",
    ci: float = 0.95,
) -> pl.DataFrame:
    """Quality of the customers each channel (and city) brings: depth, carts, repurchase, revenue, CLV.

    Parameters
    ----------
    customers
        ``customer_id`` and the grouping column(s) ``by`` (default
        ``acquisition_channel``; add e.g. ``"city_tier"`` for "by city").
    transactions
        Canonical transactions (clean them first).
    events
        Optional behaviour log with ``customer_id``, ``event`` and
        ``session_id`` (for visit depth and the add-to-cart rate).
    clv
        Optional ``customer_id``, ``clv`` table.
    by
        Grouping column(s) of ``customers``.
    as_of
        First instant that is not history (custlab's convention, :mod:`custlab._dates`);
        default the midnight after the last order.
    within
        The repurchase window (``"90d"``).
    ci
        Confidence level of the repurchase interval (Wilson).

    Returns
    -------
    polars.DataFrame
        One row per group with customers who ordered: the ``by`` columns and
        :data:`QUALITY_COLUMNS` (``new_customers``, ``sessions``,
        ``eligible_90d`` Int64; the rest Float64, null where the input needed
        is absent), sorted by ``new_customers`` descending.
    """
    check_frame(customers, argument="customers")
    check_frame(transactions, argument="transactions")
    keys = [by] if isinstance(by, str) else list(by)
    require_columns(customers, ["customer_id", *keys], table="customers", purpose="to group customers by channel")
    require_columns(transactions, ["customer_id", "order_id", "order_date", "amount"], purpose="for channel quality")
    ids = match_ids({"transactions": naive_datetimes(transactions), "customers": customers,
                     "events": naive_datetimes(events, "events"), "clv": clv})
    transactions, customers, events, clv = (ids[name] for name in ("transactions", "customers", "events", "clv"))
    window = parse_within(within)
    orders, cutoff = _first_orders(transactions, as_datetime(as_of))
    schema = customers.collect_schema()
    groups = customers.lazy().select(
        "customer_id", *[pl.col(k).fill_null("(unknown)") if schema[k] == pl.String else pl.col(k) for k in keys],
    ).collect()
    repeat = (
        orders.filter(pl.col("order_date") > pl.col("first_order"),
                      pl.col("order_date") <= pl.col("first_order") + window)
        .select("customer_id").unique().with_columns(pl.lit(True).alias("repeat"))
    )
    per_customer = (
        orders.group_by("customer_id").agg(pl.col("first_order").first(), pl.col("revenue").first())
        .join(repeat, on="customer_id", how="left")
        .with_columns(
            (pl.col("first_order") + window <= cutoff).alias("eligible"),
            pl.col("repeat").fill_null(False),
        )
        .join(groups, on="customer_id", how="inner")
    )
    if per_customer.height == 0:
        raise CustlabError("no customer of the customers table ordered before as_of; check that the ids match.")
    out = per_customer.group_by(keys).agg(
        pl.len().cast(pl.Int64).alias("new_customers"),
        pl.col("eligible").sum().cast(pl.Int64).alias("eligible_90d"),
        (pl.col("repeat") & pl.col("eligible")).sum().alias("_repeat"),
        pl.col("revenue").mean().alias("revenue_per_customer"),
    )
    out = out.join(_sessions(events, per_customer, keys, cutoff), on=keys, how="left")
    if clv is not None:
        check_frame(clv, argument="clv")
        require_columns(clv, ["customer_id", "clv"], table="clv", purpose="for the CLV of acquired customers")
        values = clv.lazy().select("customer_id", pl.col("clv").cast(pl.Float64)).collect()
        out = out.join(per_customer.join(values, on="customer_id").group_by(keys).agg(pl.col("clv").mean()),
                       on=keys, how="left")
    else:
        out = out.with_columns(pl.lit(None, pl.Float64).alias("clv"))
    z = z_value(ci)
    bounds = [wilson_interval(r, n, z) if n else (None, None) for r, n in out.select("_repeat", "eligible_90d").iter_rows()]
    out = out.with_columns(
        pl.when(pl.col("eligible_90d") > 0).then(pl.col("_repeat") / pl.col("eligible_90d")).otherwise(None)
        .alias("repurchase_90d"),
        pl.Series("repurchase_90d_low", [b[0] for b in bounds], dtype=pl.Float64),
        pl.Series("repurchase_90d_high", [b[1] for b in bounds], dtype=pl.Float64),
    )
    return out.select(*keys, *QUALITY_COLUMNS).sort("new_customers", *keys, descending=[True] + [False] * len(keys))


def _sessions(events: Frame | None, per_customer: pl.DataFrame, keys: list[str], cutoff: dt.datetime) -> pl.DataFrame:
    """Per group: sessions, events per session and the share of sessions with a cart event (nulls without events)."""
    empty = per_customer.select(keys).unique().with_columns(
        pl.lit(None, pl.Int64).alias("sessions"), pl.lit(None, pl.Float64).alias("visit_depth"),
        pl.lit(None, pl.Float64).alias("add_to_cart_rate"))
    if events is None:
        return empty
    check_frame(events, argument="events")
    names = events.collect_schema().names()
    if "session_id" not in names or "event" not in names:
        raise CustlabError("events need 'session_id' and 'event' columns for visit depth and the add-to-cart rate; "
                           f"the columns are {names}.")
    time_filter = [pl.col("event_time") < cutoff] if "event_time" in names else []
    sessions = (
        events.lazy().filter(*time_filter).group_by("customer_id", "session_id")
        .agg(pl.len().alias("events"), pl.col("event").str.to_lowercase().is_in(CART_EVENTS).any().alias("cart"))
        .collect()
        .join(per_customer.select("customer_id", *keys), on="customer_id", how="inner")
    )
    if sessions.height == 0:
        return empty
    return sessions.group_by(keys).agg(
        pl.len().cast(pl.Int64).alias("sessions"), pl.col("events").mean().alias("visit_depth"),
        pl.col("cart").mean().alias("add_to_cart_rate"))
