"""Journeys: touches cut into paths that end in an order (converting) or in nothing (non-converting).

Two inputs are accepted everywhere in :mod:`custlab.attribution`:

* a **touches** table (``customer_id``, ``touch_time`` and ``channel``, or
  UTM columns ``utm_source`` / ``utm_medium`` / ``utm_campaign`` from which
  the channel is read, see :func:`channel_from_utm`) together with the
  transactions, turned into journeys by :func:`journeys`;
* a **path table** as R's ChannelAttribution takes it: one row per distinct
  path (``"search > sms > live_stream"`` or a list of channels) with the
  number of conversions, of non-converting journeys and the conversion value
  (:func:`path_table`).

A journey of a customer is the run of their touches up to an order: a touch
belongs to the first order at or after it if that order comes within
``within`` (the lookback window, 30 days by default); the order is the
journey's conversion and its revenue the journey's value. Touches followed
by no order within the window form non-converting journeys, one per run of
touches with no gap longer than the window between them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Literal

import polars as pl

from custlab._dates import parse_within
from custlab._money import from_micros, micros
from custlab._types import Frame
from custlab.data.schema import check_frame, naive_datetimes
from custlab.exceptions import CustlabError, SchemaError

__all__ = [
    "MEDIUM_CHANNELS", "PATH_COLUMNS", "channel_from_utm", "collapse_repeats", "conversion_orders", "journeys", "path_table",
]

#: UTM medium (lower case) -> channel, in custlab's channel names (those of ``marketing_spend`` and
#: ``customers.acquisition_channel``: paid search is "search", unpaid search "organic"); a medium not
#: listed gives the channel ``utm_source``.
MEDIUM_CHANNELS: dict[str, str] = {
    **dict.fromkeys(("cpc", "ppc", "paidsearch", "paid_search", "sem", "paid-search", "search"), "search"),
    "organic": "organic", "seo": "organic",
    **dict.fromkeys(("email", "e-mail", "edm", "newsletter"), "email"),
    **dict.fromkeys(("social", "social-network", "social_network", "social-media", "sns", "wechat"), "social"),
    **dict.fromkeys(("display", "cpm", "banner", "programmatic"), "display"),
    **dict.fromkeys(("affiliate", "affiliates", "cps"), "affiliates"),
    "referral": "referral", **dict.fromkeys(("sms", "text", "mms"), "sms"),
    **dict.fromkeys(("live", "livestream", "live_stream", "live-stream"), "live_stream"),
    **dict.fromkeys(("community", "group", "private_domain"), "community"),
    **dict.fromkeys(("(none)", "none", "direct"), "direct"),
}
#: Columns of a normalised path table.
PATH_COLUMNS = ("path", "conversions", "nulls", "value")

Conversions = Literal["all", "first"]


def channel_from_utm(columns: Sequence[str]) -> pl.Expr:
    """The channel of a touch from its UTM columns: ``utm_medium`` through :data:`MEDIUM_CHANNELS`, else the source.

    Needs ``utm_medium`` or ``utm_source`` among ``columns``. A source of
    ``(direct)`` or ``direct`` with no medium is ``direct``.

    >>> df = pl.DataFrame({"utm_source": ["baidu", "douyin", "(direct)"], "utm_medium": ["cpc", "kol", None]})
    >>> df.select(channel_from_utm(df.columns))["channel"].to_list()
    ['search', 'douyin', 'direct']
    """
    has_medium, has_source = "utm_medium" in columns, "utm_source" in columns
    if not (has_medium or has_source):
        raise SchemaError(
            "touches need a 'channel' column or UTM columns ('utm_source', 'utm_medium', 'utm_campaign') to read "
            f"the channel from; the columns are {list(columns)}. Rename yours with columns={{...: 'channel'}}."
        )
    source = pl.col("utm_source").str.strip_chars().str.to_lowercase() if has_source else pl.lit(None, pl.String)
    medium = pl.col("utm_medium").str.strip_chars().str.to_lowercase() if has_medium else pl.lit(None, pl.String)
    direct = source.is_in(["(direct)", "direct"]) & (medium.is_null() | medium.is_in(["(none)", "none", ""]))
    return (
        pl.when(direct).then(pl.lit("direct"))
        .otherwise(pl.coalesce(medium.replace_strict(MEDIUM_CHANNELS, default=None, return_dtype=pl.String),
                               source, pl.lit("(unknown)")))
        .alias("channel")
    )


def collapse_repeats(path: Sequence[str]) -> list[str]:
    """``path`` without consecutive repeats (``a > a > b`` -> ``a > b``).

    >>> collapse_repeats(["a", "a", "b", "a"])
    ['a', 'b', 'a']
    """
    return [c for i, c in enumerate(path) if i == 0 or path[i - 1] != c]


def _touches(touches: Frame) -> pl.DataFrame:
    check_frame(touches, argument="touches")
    touches = naive_datetimes(touches, "touches")  # a zone-aware touch_time as validate reads it (its zone's clock)
    data = touches.lazy().collect() if isinstance(touches, pl.LazyFrame) else touches
    missing = [c for c in ("customer_id", "touch_time") if c not in data.columns]
    if missing:
        raise SchemaError(f"touches need columns {missing}; the columns are {data.columns}.")
    if "channel" not in data.columns:
        data = data.with_columns(channel_from_utm(data.columns))
    if not isinstance(data.schema["touch_time"], pl.Datetime):
        raise SchemaError(f"touches column 'touch_time' must be a Datetime, got {data.schema['touch_time']}; "
                          f"read it with custlab.data.validate(touches, 'touches').")
    for col in ("customer_id", "touch_time", "channel"):
        nulls = data[col].null_count()
        if nulls:
            raise CustlabError(f"{nulls:,} touch(es) have no {col}; fill or drop them first (nothing is dropped silently).")
    return data.select("customer_id", pl.col("touch_time").cast(pl.Datetime("us")), pl.col("channel").cast(pl.String))


def conversion_orders(transactions: Frame, conversions: Conversions = "all") -> pl.DataFrame:
    """Each order as a conversion: ``customer_id``, ``order_id``, ``conversion_time``, ``value`` (first orders only with "first")."""
    check_frame(transactions, argument="transactions")
    lf = naive_datetimes(transactions).lazy()  # a zone-aware order_date as validate reads it (its zone's clock)
    missing = [c for c in ("customer_id", "order_id", "order_date", "amount")
               if c not in lf.collect_schema().names()]
    if missing:
        raise SchemaError(f"transactions need columns {missing} to find the conversions.")
    orders = (
        lf.filter(pl.col("customer_id").is_not_null())
        .group_by("customer_id", "order_id")
        .agg(pl.col("order_date").min().cast(pl.Datetime("us")).alias("conversion_time"),
             micros("amount").sum().alias("value"))  # whole millionths: the same sum in any order of the lines
        .sort("customer_id", "conversion_time", "order_id")
        .collect()
        .with_columns(from_micros(pl.col("value")))
    )
    if conversions == "first":
        orders = orders.group_by("customer_id", maintain_order=True).first()
    return orders


def journeys(
    touches: Frame,
    transactions: Frame,
    *,
    within: str | int | dt.timedelta = "30d",
    conversions: Conversions = "all",
) -> pl.DataFrame:
    """Cut each customer's touches into journeys that end in an order or in nothing.

    Parameters
    ----------
    touches
        ``customer_id``, ``touch_time`` (Datetime) and ``channel`` (or UTM
        columns, see :func:`channel_from_utm`). Visitors who never bought may
        carry ids that are not in the transactions.
    transactions
        Canonical transactions; each order (``order_id``) of a customer is a
        conversion at its first line's ``order_date``, worth the sum of its ``amount``.
    within
        Lookback window: touches more than this before an order do not count
        towards it (``"30d"``).
    conversions
        ``"all"`` orders, or only each customer's ``"first"`` order
        (acquisition); with ``"first"`` touches after the first order are left out.

    Returns
    -------
    polars.DataFrame
        One row per journey: ``customer_id``, ``journey`` (Int64, 1.. per
        customer), ``path`` (List[String], channels in time order),
        ``touch_times`` (List[Datetime]), ``converted`` (Boolean), ``value``
        (Float64, the order's revenue; 0 when not converted),
        ``conversion_time`` (Datetime, null when not converted). Orders
        without any touch in their window are not journeys (see
        :func:`custlab.attribution.attribute`, which counts them).

    Examples
    --------
    >>> t = pl.DataFrame({"customer_id": [1, 1, 2], "channel": ["search", "sms", "search"],
    ...                   "touch_time": [dt.datetime(2024, 1, d) for d in (1, 3, 2)]})
    >>> o = pl.DataFrame({"customer_id": [1], "order_id": [7], "order_date": [dt.datetime(2024, 1, 4)],
    ...                   "amount": [50.0]})
    >>> journeys(t, o).select("customer_id", "path", "converted", "value").rows()
    [(1, ['search', 'sms'], True, 50.0), (2, ['search'], False, 0.0)]
    """
    window = parse_within(within)
    if conversions not in ("all", "first"):
        raise CustlabError(f"conversions must be 'all' or 'first', got {conversions!r}.")
    touch = _touches(touches).sort("customer_id", "touch_time")
    orders = conversion_orders(transactions, conversions)
    if touch.schema["customer_id"] != orders.schema["customer_id"]:
        raise SchemaError(
            f"customer_id is {touch.schema['customer_id']} in touches but {orders.schema['customer_id']} in "
            f"transactions; cast one of them so the ids match."
        )
    if conversions == "first":
        first = orders.select("customer_id", pl.col("conversion_time").alias("_first"))
        touch = touch.join(first, on="customer_id", how="left").filter(
            pl.col("_first").is_null() | (pl.col("touch_time") <= pl.col("_first"))).drop("_first")
    matched = touch.join_asof(
        orders.sort("conversion_time"), left_on="touch_time", right_on="conversion_time", by="customer_id",
        strategy="forward", check_sortedness=False,  # both sorted by time within each customer
    )
    in_window = pl.col("order_id").is_not_null() & (pl.col("conversion_time") - pl.col("touch_time") <= window)
    matched = matched.with_columns(
        pl.when(in_window).then(pl.col("order_id")).otherwise(None).alias("order_id"),
        pl.when(in_window).then(pl.col("conversion_time")).otherwise(None).alias("conversion_time"),
        pl.when(in_window).then(pl.col("value")).otherwise(None).alias("value"),
    )
    # non-converting touches: a new journey after a gap longer than the window, or after a converting touch
    gap = pl.col("touch_time").diff().over("customer_id")
    key_change = pl.col("order_id").ne_missing(pl.col("order_id").shift(1)).over("customer_id")
    starts = gap.is_null() | key_change | (pl.col("order_id").is_null() & (gap > window))
    matched = matched.with_columns(starts.fill_null(True).cum_sum().over("customer_id").alias("journey"))
    out = (
        matched.group_by("customer_id", "journey", maintain_order=True)
        .agg(
            pl.col("channel").alias("path"), pl.col("touch_time").alias("touch_times"),
            pl.col("order_id").first().is_not_null().alias("converted"),
            pl.col("value").first().fill_null(0.0).cast(pl.Float64).alias("value"),
            pl.col("conversion_time").first(),
        )
        .with_columns(pl.col("journey").cast(pl.Int64))
    )
    return out


def _split_paths(paths: pl.Series, sep: str) -> pl.Series:
    if paths.dtype == pl.String:
        return paths.str.split(sep).list.eval(pl.element().str.strip_chars()).alias("path")
    if isinstance(paths.dtype, pl.List):
        return paths.cast(pl.List(pl.String)).alias("path")
    raise CustlabError(f"path must be text such as 'search > sms' or a list of channels, got {paths.dtype}.")


def path_table(
    data: Frame,
    *,
    path: str = "path",
    conversions: str | None = None,
    nulls: str | None = None,
    value: str | None = None,
    sep: str = ">",
) -> pl.DataFrame:
    """A path table in custlab's form: ``path`` (List[String]), ``conversions``, ``nulls``, ``value`` (Float64).

    Accepts the output of :func:`journeys` (one row per journey: counted per
    distinct path) or an aggregated table as R's ChannelAttribution takes it
    (``path``, ``total_conversions``, ``total_null``, ``total_conversion_value``:
    name the columns with ``conversions=``, ``nulls=``, ``value=``; these
    names are also recognised without being given).

    Examples
    --------
    >>> df = pl.DataFrame({"path": ["c1 > c2 > c3", "c1", "c2 > c3"], "conv": [1, 0, 0], "null": [0, 1, 1]})
    >>> path_table(df, conversions="conv", nulls="null").rows()
    [(['c1', 'c2', 'c3'], 1.0, 0.0, 0.0), (['c1'], 0.0, 1.0, 0.0), (['c2', 'c3'], 0.0, 1.0, 0.0)]
    """
    check_frame(data)
    frame = data.lazy().collect() if isinstance(data, pl.LazyFrame) else data
    if path not in frame.columns:
        raise SchemaError(f"the path column {path!r} is not in the table; its columns are {frame.columns}.")
    if "converted" in frame.columns and conversions is None:  # journeys: one row each
        grouped = frame.group_by(pl.col(path).cast(pl.List(pl.String)).alias("path"), maintain_order=True).agg(
            pl.col("converted").sum().cast(pl.Float64).alias("conversions"),
            (~pl.col("converted")).sum().cast(pl.Float64).alias("nulls"),
            micros("value").sum().alias("value") if "value" in frame.columns else pl.lit(0.0).alias("value"),
        )
        if "value" in frame.columns:  # summed in whole millionths: the same in any order of the journeys
            grouped = grouped.with_columns(from_micros(pl.col("value")))
        return _checked(grouped)
    conv = conversions or next((c for c in ("total_conversions", "conversions", "conv") if c in frame.columns), None)
    if conv is None:
        raise SchemaError(f"name the conversions column with conversions=; the columns are {frame.columns}.")
    null = nulls or next((c for c in ("total_null", "nulls", "null") if c in frame.columns), None)
    val = value or next((c for c in ("total_conversion_value", "value") if c in frame.columns), None)
    for name in (conv, null, val):
        if name is not None and name not in frame.columns:
            raise SchemaError(f"column {name!r} is not in the path table; its columns are {frame.columns}.")
    out = pl.DataFrame({
        "path": _split_paths(frame[path], sep),
        "conversions": frame[conv].cast(pl.Float64),
        "nulls": frame[null].cast(pl.Float64) if null else pl.Series([0.0] * frame.height),
        "value": frame[val].cast(pl.Float64) if val else pl.Series([0.0] * frame.height),
    })
    return _checked(out)


def _checked(table: pl.DataFrame) -> pl.DataFrame:
    if table.height == 0:
        raise CustlabError("the path table is empty: there are no journeys to attribute.")
    for col in ("conversions", "nulls", "value"):
        bad = table.filter(pl.col(col).is_null() | (pl.col(col) < 0) | pl.col(col).is_nan())
        if bad.height:
            raise CustlabError(f"{bad.height:,} path(s) have a missing or negative {col}; e.g. {bad.head(3).rows()}.")
    empty = table.filter(pl.col("path").list.len() == 0)
    if empty.height:
        raise CustlabError(f"{empty.height:,} path(s) have no channel; drop them or name their channel.")
    if table["conversions"].sum() == 0:
        raise CustlabError("no path converts (0 conversions): there is nothing to attribute.")
    return table
