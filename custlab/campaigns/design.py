"""The campaigns table, checked: one row per customer and campaign, a clean control, dates and groups.

Checks that every analysis of :mod:`custlab.campaigns` relies on, with
messages that name the campaign, the count and the fix:

* the canonical columns (``campaign_id``, ``customer_id``, ``group``,
  ``sent_date``; optional ``channel``, ``offer``, ``cost``), through
  :func:`custlab.data.validate`;
* no customer twice in a campaign (in two groups, or twice in one);
* a control group that did not receive the offer: control rows with an
  ``offer`` or a positive ``cost`` mean the "control" was treated, so the
  comparison would measure nothing (:class:`ContaminatedControlError`).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from custlab._dates import parse_within
from custlab._money import from_micros, micros
from custlab._types import Frame
from custlab.campaigns.lift import NoControlGroupError
from custlab.data.ids import match_ids
from custlab.data.schema import check_frame, naive_datetimes, validate
from custlab.exceptions import CustlabError

__all__ = ["ContaminatedControlError", "campaign_outcomes", "campaign_table", "control_label"]

#: Group labels taken as the control when ``control`` is not given.
CONTROL_LABELS = ("control", "holdout", "hold-out", "hold_out", "no_offer", "none", "对照组", "对照")


class ContaminatedControlError(CustlabError):
    """Control-group customers received the offer, so the control measures nothing."""


def control_label(frame: pl.DataFrame, control: str | None) -> str | None:
    """The control group's label: ``control`` if given, else the one of :data:`CONTROL_LABELS` present, else None."""
    groups = set(frame["group"].unique().to_list())
    if control is not None:
        return control if control in groups else None
    found = [c for c in groups if isinstance(c, str) and c.strip().lower() in CONTROL_LABELS]
    return found[0] if len(found) == 1 else None


def campaign_table(campaigns: Frame, *, control: str | None = None, require_control: bool = True) -> pl.DataFrame:
    """The campaigns table validated and checked (see the module docstring).

    Parameters
    ----------
    campaigns
        Canonical ``campaigns`` table (DataFrame or LazyFrame).
    control
        The control group's label; default: ``"control"``, ``"holdout"`` or
        another of :data:`CONTROL_LABELS` if exactly one is present.
    require_control
        Raise :class:`~custlab.campaigns.NoControlGroupError` for a campaign
        without a control group (the randomised analyses need one).

    Returns
    -------
    polars.DataFrame
        The table with canonical types and a Boolean ``is_control`` column.
    """
    check_frame(campaigns, argument="campaigns")
    table = validate(campaigns, "campaigns")
    table = table.collect() if isinstance(table, pl.LazyFrame) else table
    for col in ("campaign_id", "customer_id", "group", "sent_date"):
        nulls = table[col].null_count()
        if nulls:
            raise CustlabError(f"{nulls:,} campaigns row(s) have no {col}; fill or drop them first.")
    twice = table.group_by("campaign_id", "customer_id").agg(pl.len().alias("rows"), pl.col("group").n_unique().alias("groups"))
    both = twice.filter(pl.col("groups") > 1)
    if both.height:
        first = both.row(0, named=True)
        raise CustlabError(
            f"{both.height:,} customer(s) are in more than one group of the same campaign (e.g. customer "
            f"{first['customer_id']!r} in campaign {first['campaign_id']!r}); a customer belongs to one group. "
            f"Keep each customer's assigned group only."
        )
    repeated = twice.filter(pl.col("rows") > 1)
    if repeated.height:
        raise CustlabError(
            f"{repeated.height:,} customer(s) appear more than once in the same campaign and group (e.g. "
            f"{repeated.row(0, named=True)['customer_id']!r}); keep one row per customer and campaign (.unique())."
        )
    label = control_label(table, control)
    if label is None:
        if require_control:
            raise NoControlGroupError(
                f"no control group found in the campaigns table (groups: {sorted(map(str, table['group'].unique()))}; "
                f"control={control!r}). A campaign without a control cannot be measured as a randomised test: pass "
                f"the control's label as control=, or use custlab.campaigns.did or custlab.campaigns.matched, "
                f"which compare with similar customers who were not sent anything (weaker evidence)."
            )
        return table.with_columns(pl.lit(False).alias("is_control"))
    table = table.with_columns((pl.col("group") == label).alias("is_control"))
    _check_control(table, label)
    if require_control:
        without = (table.group_by("campaign_id").agg(pl.col("is_control").any().alias("has"))
                   .filter(~pl.col("has"))["campaign_id"].to_list())
        if without:
            raise NoControlGroupError(
                f"campaign(s) {without[:5]} have no {label!r} group, so their effect cannot be measured as a randomised "
                f"test. Analyse them with custlab.campaigns.did or custlab.campaigns.matched (weaker evidence)."
            )
    return table


def _aligned(table: Frame, transactions: Frame, name: str = "campaigns", **others: Frame | None) -> dict:
    """``transactions`` with zone-aware dates read as :func:`custlab.data.validate` reads them, and ``table`` (called
    ``name`` in messages) and ``others`` with customer ids of the transactions' kind, by name (``match_ids``)."""
    return match_ids({"transactions": naive_datetimes(transactions), name: table, **others})


def _check_control(table: pl.DataFrame, label: str) -> None:
    control = table.filter(pl.col("is_control"))
    treated_signs = []
    if "offer" in table.columns:
        treated_signs.append(pl.col("offer").is_not_null() & (pl.col("offer").str.strip_chars() != ""))
    if "cost" in table.columns:
        treated_signs.append(pl.col("cost").fill_null(0.0) > 0)
    if not treated_signs:
        return
    bad = control.filter(pl.any_horizontal(treated_signs))
    if bad.height:
        per = bad.group_by("campaign_id").agg(pl.len()).sort("len", descending=True).row(0)
        raise ContaminatedControlError(
            f"{bad.height:,} of {control.height:,} customers of the {label!r} group have an offer or a cost (e.g. "
            f"{per[1]:,} in campaign {per[0]!r}): a control group that also received the offer cannot show what the "
            f"offer did. If they really got it, analyse them as a second treatment group (give them another group "
            f"label); if the offer/cost columns are filled by mistake for the control, set them to null / 0."
        )


def campaign_outcomes(
    table: pl.DataFrame,
    transactions: Frame,
    *,
    within: str | int | dt.timedelta = "30d",
    dormant_days: int = 90,
    pre: str | int | dt.timedelta | None = None,
) -> pl.DataFrame:
    """One row per campaign customer with the outcomes in ``[sent_date, sent_date + within)``.

    Returns the campaign columns plus ``converted`` (0/1), ``orders`` (Int64),
    ``revenue`` (Float64), ``aov`` (revenue / orders, null without an order),
    ``dormant`` (Boolean: no order in the ``dormant_days`` before the send,
    but one before that), ``recency_days`` (days from the last order before
    the send; null without one); and with ``pre`` the same window before
    the send: ``pre_converted``, ``pre_revenue``.
    """
    window = parse_within(within)
    check_frame(transactions, argument="transactions")
    ids = _aligned(table, transactions)
    table, transactions = ids["campaigns"], ids["transactions"]
    customers = table.select("campaign_id", "customer_id", "sent_date").unique()
    lines = transactions.lazy().filter(pl.col("customer_id").is_not_null()).select("customer_id", "order_id", "order_date", "amount")
    # amounts in whole millionths until the end: sums that do not depend on the order of the lines
    orders = (lines.group_by("customer_id", "order_id").agg(pl.col("order_date").min(), micros("amount").sum())
              .join(customers.lazy(), on="customer_id", how="inner").collect())
    start, end = pl.col("sent_date"), pl.col("sent_date") + window
    post = pl.col("order_date").is_between(start, end, closed="left")
    aggs = [
        post.sum().cast(pl.Int64).alias("orders"),
        pl.col("amount").filter(post).sum().alias("revenue"),
        pl.col("order_date").filter(pl.col("order_date") < start).max().alias("_last"),
    ]
    if pre is not None:
        pre_window = parse_within(pre, "pre")
        in_pre = pl.col("order_date").is_between(start - pre_window, start, closed="left")
        aggs += [in_pre.any().cast(pl.Int64).alias("pre_converted"), pl.col("amount").filter(in_pre).sum().alias("pre_revenue")]
    per = orders.group_by("campaign_id", "customer_id").agg(aggs)
    per = per.with_columns(from_micros(pl.col(c)) for c in ("revenue", "pre_revenue") if c in per.columns)
    out = table.join(per, on=["campaign_id", "customer_id"], how="left")
    fill = {"orders": 0, "revenue": 0.0, **({"pre_converted": 0, "pre_revenue": 0.0} if pre is not None else {})}
    out = out.with_columns([pl.col(c).fill_null(v) for c, v in fill.items()])
    recency = (pl.col("sent_date") - pl.col("_last")).dt.total_seconds() / 86400.0
    return out.with_columns(
        (pl.col("orders") > 0).cast(pl.Int64).alias("converted"),
        pl.when(pl.col("orders") > 0).then(pl.col("revenue") / pl.col("orders")).otherwise(None).alias("aov"),
        (pl.col("_last").is_not_null() & (recency >= dormant_days)).alias("dormant"),
        recency.alias("recency_days"),
    ).drop("_last")
