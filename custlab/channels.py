"""Marketing channels: revenue, ROI ("1:x"), CAC, conversion and CLV/CAC per channel, and budget moves.

The analysis window is the months of the spend table. CLV/CAC comes from the
package's one CLV/CAC function, :func:`custlab.clv.value.clv_cac`, applied to
each channel's new customers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Literal

import polars as pl

from custlab._i18n import label, labels
from custlab._money import from_micros, micros
from custlab._plotting import PALETTE, figure_axes, in_language_font
from custlab._types import Frame, Language
from custlab.data.schema import check_frame, require_columns, validate
from custlab.exceptions import CustlabError
from custlab.funnel import Unit, funnel

__all__ = ["Attribution", "channel_performance", "plot_channel_roi", "reallocation", "roi_label"]

_UNKNOWN = "(unknown)"

Attribution = Literal["acquisition", "order"]


def roi_label(roi: float | None, *, language: Language = "en") -> str:
    """ROI written as the documents write it: revenue per unit of spend as "1:x".

    Examples
    --------
    >>> [roi_label(x) for x in (8.0, 1.2, 0.456, None)]
    ['1:8', '1:1.2', '1:0.46', 'no spend']
    """
    if roi is None or roi != roi:
        return labels("channels", language)["no_spend_label"]
    text = f"{roi:.2f}" if roi < 1 else f"{roi:.1f}"
    return "1:" + (text.rstrip("0").rstrip(".") if "." in text else text)


def _spend_table(spend: Frame) -> tuple[pl.DataFrame, dt.datetime, dt.datetime]:
    check_frame(spend, argument="spend")
    sp = validate(spend, "marketing_spend").lazy().select("month", "channel", "spend").collect()
    for col in ("month", "channel", "spend"):
        n = sp[col].null_count()
        if n:
            raise CustlabError(f"{n:,} marketing_spend row(s) have no {col}; fill or drop them first.")
    negative = sp.filter(pl.col("spend") < 0)
    if negative.height:
        raise CustlabError(
            f"{negative.height:,} marketing_spend row(s) have negative spend, e.g. "
            f"{negative.head(3).rows()}. Spend must be >= 0; record refunds as lower spend in their month."
        )
    first = sp["month"].min()
    last = sp["month"].max()
    start = dt.datetime(first.year, first.month, 1)
    end = dt.datetime(last.year + (last.month == 12), last.month % 12 + 1, 1)
    return sp, start, end


def channel_performance(
    spend: Frame,
    transactions: Frame,
    *,
    customers: Frame | None = None,
    attribution: Attribution | None = None,
    clv: Frame | None = None,
    events: Frame | None = None,
    conversion_steps: Sequence[str] | None = None,
    conversion_unit: Unit = "session",
    language: Language = "en",
) -> pl.DataFrame:
    """Revenue, ROI (1:x), CAC, conversion and CLV/CAC per marketing channel.

    The analysis window is the months of the spend table: from the first
    day of its first month to the end of its last month. Orders outside it
    are not counted.

    Parameters
    ----------
    spend
        marketing_spend table: ``month`` (Date), ``channel`` (String),
        ``spend`` (Float64, >= 0). Several rows of a month and channel add up.
    transactions
        Cleaned transactions (:func:`custlab.data.clean.clean_transactions`):
        ``customer_id``, ``order_id``, ``order_date``, ``amount``, and
        ``channel`` for ``attribution="order"``.
    customers
        Customers table with ``customer_id`` and ``acquisition_channel``
        (needed for ``attribution="acquisition"``).
    attribution
        ``"acquisition"``: a customer's orders all count for the channel that
        acquired them (``customers.acquisition_channel``); ``"order"``: each
        order line counts for its own ``channel``, and a customer is acquired
        by the channel of their first order. Default: "acquisition" when
        ``customers`` has ``acquisition_channel``, else "order".
    clv
        Optional frame of predicted customer lifetime values: ``customer_id``
        and ``clv`` (Float64, same currency as ``spend``), e.g. from
        :mod:`custlab.clv`. Adds the mean CLV of each channel's new customers
        and CLV/CAC.
    events
        Optional events table for the conversion rate: the ordered funnel of
        ``conversion_steps`` per ``conversion_unit``, split by the channel the
        events belong to (their own ``channel`` column for "order"
        attribution, the customer's acquisition channel for "acquisition").
    conversion_steps
        Funnel steps for the conversion, e.g. ``["exposure", "pay"]``;
        required with ``events``.
    conversion_unit
        ``"session"`` or ``"customer"``.
    language
        Labels of ``roi_label`` and ``status``: "en" or "zh".

    Returns
    -------
    pl.DataFrame
        One row per channel found in the spend, the orders or the events
        (null channel: orders of customers without an acquisition channel),
        sorted by ROI: ``channel`` (String), ``spend``, ``revenue`` (Float64),
        ``orders``, ``customers`` (Int64, distinct buyers in the window),
        ``new_customers`` (Int64, first order ever inside the window),
        ``roi`` (Float64, revenue / spend; null without spend), ``roi_label``
        (String, "1:8"), ``cac`` (Float64, spend / new customers; null with
        none), ``visitors`` (Int64, units at the first conversion step),
        ``conversion`` (Float64, share reaching the last step in order),
        ``clv_customers`` (Int64, new customers with a CLV), ``clv_mean``,
        ``clv_to_cac`` (Float64), ``status`` (String: "ok", "spend but no
        orders", "orders but no spend", "no spend, no orders"). The
        conversion and CLV columns are null when ``events`` / ``clv`` are not
        given.

    Raises
    ------
    SchemaError
        Attribution columns missing (``channel``, ``acquisition_channel``).
    CustlabError
        Negative or missing spend, duplicated customers, ``events`` without
        ``conversion_steps``, a ``clv`` frame without its columns.

    Examples
    --------
    >>> import datetime as dt
    >>> import polars as pl
    >>> spend = pl.DataFrame({"month": [dt.date(2024, 1, 1)] * 3, "channel": ["ads", "sms", "tv"],
    ...                       "spend": [100.0, 50.0, 10.0]})
    >>> tx = pl.DataFrame({"customer_id": [1, 2, 3], "order_id": ["a", "b", "c"],
    ...                    "order_date": [dt.datetime(2024, 1, d) for d in (3, 4, 5)],
    ...                    "amount": [800.0, 60.0, 40.0], "channel": ["ads", "sms", "web"]})
    >>> channel_performance(spend, tx).select("channel", "roi_label", "cac", "status").rows()  # doctest: +NORMALIZE_WHITESPACE
    [('ads', '1:8', 100.0, 'ok'), ('sms', '1:1.2', 50.0, 'ok'), ('tv', '1:0', None, 'spend but no orders'),
     ('web', 'no spend', None, 'orders but no spend')]
    """
    text = labels("channels", language)
    sp, start, end = _spend_table(spend)
    check_frame(transactions, argument="transactions")
    tx = validate(transactions, "transactions").lazy()
    if customers is not None:
        check_frame(customers, argument="customers")
        cust = validate(customers, "customers").lazy()
        has_acq = "acquisition_channel" in cust.collect_schema().names()
    else:
        cust, has_acq = None, False
    if attribution is None:
        attribution = "acquisition" if has_acq else "order"
    if attribution not in ("acquisition", "order"):
        raise CustlabError(f"attribution must be 'acquisition' or 'order', got {attribution!r}.")
    if attribution == "acquisition":
        if cust is None:
            raise CustlabError("attribution='acquisition' needs customers= (with customer_id and acquisition_channel).")
        require_columns(cust, ["acquisition_channel"], table="customers", purpose="for acquisition attribution")
        acq = cust.select("customer_id", channel=pl.col("acquisition_channel")).collect()
        _same_ids(tx.collect_schema()["customer_id"], acq.schema["customer_id"], "customers")
        dupes = acq.filter(pl.col("customer_id").is_duplicated())
        if dupes.height:
            raise CustlabError(
                f"customers lists {dupes['customer_id'].n_unique():,} customer_id(s) more than once, e.g. "
                f"{dupes['customer_id'].unique().head(5).to_list()}; each customer needs one acquisition_channel."
            )
        lines = (
            tx.select("customer_id", "order_id", "order_date", "amount").collect()
            .join(acq, on="customer_id", how="left")
        )
    else:
        require_columns(tx, ["channel"], table="transactions",
                        purpose="for order attribution (or pass customers= with acquisition_channel)")
        lines = tx.select("customer_id", "order_id", "order_date", "amount", "channel").collect()
    # acquisition: the first order ever (in all the data given), and its channel
    firsts = (
        lines.filter(pl.col("customer_id").is_not_null())
        .sort("order_date", maintain_order=True)
        .group_by("customer_id").agg(pl.col("order_date").first().alias("_first"), pl.col("channel").first())
        .filter((pl.col("_first") >= start) & (pl.col("_first") < end))
    )
    window = lines.filter((pl.col("order_date") >= start) & (pl.col("order_date") < end))
    perf = window.group_by("channel").agg(
        revenue=micros("amount").sum(),
        orders=pl.col("order_id").n_unique().cast(pl.Int64),
        customers=pl.col("customer_id").drop_nulls().n_unique().cast(pl.Int64),
    )
    perf = perf.with_columns(from_micros(pl.col("revenue")))  # summed in whole millionths: the same in any order
    new = firsts.group_by("channel").agg(new_customers=pl.len().cast(pl.Int64))
    spent = sp.group_by("channel").agg(micros("spend").sum()).with_columns(from_micros(pl.col("spend")))
    table = (
        spent.join(perf, on="channel", how="full", coalesce=True, nulls_equal=True)
        .join(new, on="channel", how="full", coalesce=True, nulls_equal=True)
    )
    if events is not None:
        conversion = _channel_conversion(events, conversion_steps, conversion_unit, attribution,
                                         acq if attribution == "acquisition" else None)
        table = table.join(conversion, on="channel", how="full", coalesce=True, nulls_equal=True)
    else:
        if conversion_steps is not None:
            raise CustlabError("conversion_steps= needs events= to compute a conversion rate from.")
        table = table.with_columns(visitors=pl.lit(None, pl.Int64), conversion=pl.lit(None, pl.Float64))
    table = table.with_columns(
        pl.col("spend", "revenue").fill_null(0.0),
        pl.col("orders", "customers", "new_customers").fill_null(0),
    )
    roi = pl.when(pl.col("spend") > 0).then(pl.col("revenue") / pl.col("spend"))
    cac = pl.when((pl.col("new_customers") > 0) & (pl.col("spend") > 0)).then(pl.col("spend") / pl.col("new_customers"))
    status = (
        pl.when((pl.col("spend") > 0) & (pl.col("orders") > 0)).then(pl.lit(text["ok"]))
        .when(pl.col("spend") > 0).then(pl.lit(text["no_orders"]))
        .when(pl.col("orders") > 0).then(pl.lit(text["no_spend"]))
        .otherwise(pl.lit(text["no_spend_no_orders"]))
    )
    table = table.with_columns(roi=roi, cac=cac)
    if clv is not None:
        table = _with_clv(table, clv, firsts)
    else:
        table = table.with_columns(clv_customers=pl.lit(None, pl.Int64), clv_mean=pl.lit(None, pl.Float64),
                                   clv_to_cac=pl.lit(None, pl.Float64))
    out = table.with_columns(
        roi_label=pl.col("roi").map_elements(lambda x: roi_label(x, language=language), return_dtype=pl.String,
                                             skip_nulls=False),
        status=status,
    )
    return out.sort(["roi", "channel"], descending=[True, False], nulls_last=True).select(
        "channel", "spend", "revenue", "orders", "customers", "new_customers", "roi", "roi_label", "cac",
        pl.col("visitors").cast(pl.Int64), "conversion", pl.col("clv_customers").cast(pl.Int64), "clv_mean",
        "clv_to_cac", "status",
    )


def _same_ids(ours: pl.DataType, theirs: pl.DataType, table: str) -> None:
    if ours != theirs:
        raise CustlabError(
            f"{table}.customer_id is {theirs} but the transactions' customer_id is {ours}; "
            f"the ids must be of one kind to be matched (cast one side, e.g. pl.col('customer_id').cast(pl.String))."
        )


def _channel_conversion(events, steps, unit, attribution, acq) -> pl.DataFrame:
    if steps is None:
        raise CustlabError("events= needs conversion_steps=, e.g. ['exposure', 'pay'] or ['view', 'purchase'].")
    check_frame(events, argument="events")
    ev = validate(events, "events").lazy()
    if attribution == "acquisition":
        _same_ids(acq.schema["customer_id"], ev.collect_schema()["customer_id"], "events")
        names = ev.collect_schema().names()
        ev = ev.drop("channel") if "channel" in names else ev
        ev = ev.join(acq.lazy(), on="customer_id", how="left")
    else:
        require_columns(ev, ["channel"], table="events", purpose="for the conversion by order channel")
    f = funnel(ev, steps, unit=unit, by="channel", mode="ordered")
    first = f.filter(pl.col("step_number") == 1).select("channel", visitors="units")
    last = f.filter(pl.col("step_number") == len(steps)).select("channel", conversion="rate_from_start")
    return first.join(last, on="channel", how="left", nulls_equal=True)


def _with_clv(table: pl.DataFrame, clv: Frame, firsts: pl.DataFrame) -> pl.DataFrame:
    """``table`` with the mean CLV of each channel's new customers and CLV/CAC, from :func:`custlab.clv.value.clv_cac`."""
    from custlab.clv.value import clv_cac

    check_frame(clv, argument="clv")
    values = clv.lazy().collect() if isinstance(clv, pl.LazyFrame) else clv
    require_columns(values, ["customer_id", "clv"], table="clv", purpose="(customer_id and clv, one row per customer)")
    values = values.select("customer_id", pl.col("clv").cast(pl.Float64))
    repeated = values.filter(pl.col("customer_id").is_duplicated())["customer_id"].unique()
    if repeated.len():
        raise CustlabError(
            f"clv lists {repeated.len():,} customer_id(s) more than once, e.g. {repeated.head(5).to_list()}; "
            f"give one clv per customer."
        )
    if values["customer_id"].dtype != firsts["customer_id"].dtype:
        try:
            values = values.with_columns(pl.col("customer_id").cast(firsts["customer_id"].dtype))
        except pl.exceptions.InvalidOperationError:
            raise CustlabError(
                f"clv.customer_id is {values['customer_id'].dtype} but the transactions' customer_id is "
                f"{firsts['customer_id'].dtype}; use the same ids."
            ) from None
    # clv_cac names customers without a channel "(unknown)"; key the channels the same way to join back
    key = pl.col("channel").cast(pl.String).fill_null(_UNKNOWN)
    new_with_clv = (
        firsts.join(values, on="customer_id", how="inner").filter(pl.col("clv").is_not_null())
        .select("customer_id", "clv", channel=key)
    )
    costs = table.filter(pl.col("cac").is_not_null()).select(channel=key, cac="cac")
    per_channel = clv_cac(new_with_clv, costs, channel="channel").select(
        _key="channel", clv_customers="customers", clv_mean="clv", clv_to_cac="clv_cac"
    )
    return (
        table.with_columns(_key=key).join(per_channel, on="_key", how="left").drop("_key")
        .with_columns(clv_customers=pl.when(pl.col("new_customers") > 0).then(pl.col("clv_customers").fill_null(0)))
    )


def reallocation(
    performance: pl.DataFrame,
    *,
    shares: Sequence[float] = (0.1, 0.25, 0.5),
    from_channel: str | None = None,
    to_channel: str | None = None,
    language: Language = "en",
) -> pl.DataFrame:
    """What moving budget from the lowest-ROI to the highest-ROI channel would have returned at observed rates.

    Each scenario moves a share of the source channel's spend to the target
    channel and applies each channel's *observed average* ROI to the moved
    money: change = moved x (target ROI - source ROI). Observed ROI is not
    marginal ROI: the next unit of spend usually returns less than the
    average (audiences saturate), so read the result as an upper bound to
    test with a small experiment, not a forecast. Every row carries that
    caveat in ``note``.

    Parameters
    ----------
    performance
        Output of :func:`channel_performance`; only channels with spend,
        orders and an ROI take part.
    shares
        Shares of the source channel's spend to move (each in (0, 1]).
    from_channel, to_channel
        Override the source (default: lowest ROI) and target (default: highest ROI).
    language
        Language of ``note``: "en" or "zh".

    Returns
    -------
    pl.DataFrame
        One row per share: ``share_moved`` (Float64), ``from_channel``,
        ``to_channel`` (String), ``moved_spend``, ``from_roi``, ``to_roi``,
        ``revenue_before`` (Float64, revenue of the channels taking part),
        ``revenue_change``, ``revenue_after``, ``change_pct`` (Float64),
        ``note`` (String, the caveat).

    Examples
    --------
    >>> perf = pl.DataFrame({"channel": ["a", "b"], "spend": [100.0, 100.0], "revenue": [800.0, 120.0],
    ...                      "orders": [10, 5], "roi": [8.0, 1.2], "status": ["ok", "ok"]})
    >>> reallocation(perf, shares=[0.5]).select("from_channel", "to_channel", "moved_spend", "revenue_change").rows()
    [('b', 'a', 50.0, 340.0)]
    """
    caveat = labels("channels", language)["caveat"]
    require_columns(performance, ["channel", "spend", "revenue", "orders", "roi"], table="channel_performance",
                    purpose="(pass the output of channel_performance)")
    shares = [shares] if isinstance(shares, (int, float)) else list(shares)
    bad = [x for x in shares if not isinstance(x, (int, float)) or not 0 < x <= 1]
    if not shares or bad:
        raise CustlabError(f"shares must be numbers in (0, 1], got {bad or shares!r}.")
    usable = performance.filter(
        (pl.col("spend") > 0) & (pl.col("orders") > 0) & pl.col("roi").is_not_null() & pl.col("channel").is_not_null()
    )
    if usable.height < 2:
        raise CustlabError(
            f"Reallocation needs at least two channels with spend, orders and an ROI; found "
            f"{usable['channel'].to_list()} among {performance['channel'].to_list()}."
        )
    ranked = usable.sort(["roi", "channel"], descending=[False, False])
    source = from_channel if from_channel is not None else ranked["channel"][0]
    target = to_channel if to_channel is not None else ranked["channel"][-1]
    names = usable["channel"].to_list()
    for arg, name in (("from_channel", source), ("to_channel", target)):
        if name not in names:
            raise CustlabError(f"{arg}={name!r} is not a channel with spend, orders and an ROI; choose from {names}.")
    if source == target:
        raise CustlabError(f"from_channel and to_channel are both {source!r}; nothing would move.")
    src = usable.filter(pl.col("channel") == source).row(0, named=True)
    dst = usable.filter(pl.col("channel") == target).row(0, named=True)
    before = float(usable["revenue"].sum())
    rows = []
    for x in shares:
        moved = float(x) * src["spend"]
        change = moved * (dst["roi"] - src["roi"])
        rows.append({
            "share_moved": float(x), "from_channel": source, "to_channel": target, "moved_spend": moved,
            "from_roi": src["roi"], "to_roi": dst["roi"], "revenue_before": before, "revenue_change": change,
            "revenue_after": before + change, "change_pct": change / before if before else None,
            "note": caveat,
        })
    return pl.DataFrame(rows, schema={
        "share_moved": pl.Float64, "from_channel": pl.String, "to_channel": pl.String, "moved_spend": pl.Float64,
        "from_roi": pl.Float64, "to_roi": pl.Float64, "revenue_before": pl.Float64, "revenue_change": pl.Float64,
        "revenue_after": pl.Float64, "change_pct": pl.Float64, "note": pl.String,
    })



@in_language_font
def plot_channel_roi(performance: pl.DataFrame, *, language: Language = "en", ax=None):
    """Bars of ROI per channel, labelled "1:x", with the break-even line at 1.

    Parameters
    ----------
    performance
        Output of :func:`channel_performance`; channels without an ROI (no
        spend) are left out of the bars.
    language
        Labels: "en" or "zh".
    ax
        A matplotlib Axes to draw on; by default a new Figure, made without
        pyplot (nothing is shown twice in Jupyter).

    Returns
    -------
    matplotlib.figure.Figure
        One bar per channel with spend, highest ROI first, each labelled with its ``roi_label``.

    Examples
    --------
    >>> perf = pl.DataFrame({"channel": ["a", "b", "c"], "roi": [8.0, 1.2, None]})
    >>> fig = plot_channel_roi(perf)
    >>> [t.get_text() for t in fig.axes[0].texts]
    ['1:8', '1:1.2']
    """
    text = labels("channels", language)
    require_columns(performance, ["channel", "roi"], table="channel_performance",
                    purpose="(pass the output of channel_performance)")
    data = performance.filter(pl.col("roi").is_not_null()).sort("roi", descending=True)
    names = [str(label(c, language)) if c is not None else text["null"] for c in data["channel"].to_list()]
    values = data["roi"].to_list()
    fig, ax = figure_axes(ax, figsize=(max(5.0, 1.2 * len(names) + 2), 4.0))
    bars = ax.bar(names, values, color=PALETTE[0])
    for bar, value in zip(bars, values, strict=True):
        ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height(), roi_label(value, language=language),
                ha="center", va="bottom", fontsize=9)
    ax.axhline(1.0, color="grey", linestyle="--", linewidth=1)
    ax.set_xlabel(text["channel"])
    ax.set_ylabel(text["roi"])
    ax.margins(y=0.12)
    return fig
