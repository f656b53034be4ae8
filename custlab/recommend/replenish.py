"""Repeat-purchase reminders: already-bought products that are due again.

Recommenders leave out what a customer has bought, except products that
customers buy again and again on a rhythm (face cream, formula, toothpaste).
A product is *replenishable* when at least ``min_repeat_share`` of its buyers
bought it on two or more days and at least ``min_repeaters`` customers did
(their gaps give the cycle: :func:`custlab.repurchase.repurchase_cycles`).
A customer's reminder for it is due when :func:`custlab.repurchase.next_purchase_due`
(per product: the customer's own median gap after two gaps, else the
product's) says "remind now" or "overdue", and the product is overdue by no
more than ``max_overdue`` of a cycle (default half: beyond that the customer
has most likely stopped, or buys it elsewhere, and the win-back lists are
the place for her; with one whole cycle, 1,402 of Online Retail's 2,507
reminders at 2011-12-01 had been due before November began).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from custlab._dates import as_datetime, as_of_after
from custlab._i18n import t
from custlab._types import DateLike, Frame, Language
from custlab.data.schema import check_frame, naive_datetimes, require_columns
from custlab.exceptions import CustlabError

__all__ = ["replenishable_items", "replenishment_due"]


def _history(transactions: Frame, as_of: DateLike | None, item: str) -> tuple[pl.DataFrame, dt.datetime]:
    check_frame(transactions, argument="transactions")
    require_columns(transactions, ["customer_id", "order_id", "order_date", "amount", item], table="transactions",
                    purpose="for repeat-purchase reminders")
    lines = naive_datetimes(transactions).lazy().drop_nulls(["customer_id", "order_date", item]).collect()
    if lines.height == 0:
        raise CustlabError("The transactions table has no line with a customer, date and product.")
    end = as_datetime(as_of, "as_of") or as_of_after(lines["order_date"].max())
    return lines.filter(pl.col("order_date") < end), end


def _check_share(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise CustlabError(f"{name} must be a share between 0 and 1, got {value!r}.")
    return float(value)


def replenishable_items(
    transactions: Frame,
    *,
    as_of: DateLike | None = None,
    min_repeat_share: float = 0.25,
    min_repeaters: int = 10,
    item: str = "product_id",
) -> pl.DataFrame:
    """Products customers buy again on a rhythm, with the cycle.

    Parameters
    ----------
    transactions : polars DataFrame or LazyFrame
        Canonical transactions (``customer_id``, ``order_id``, ``order_date``, ``amount``, ``item``).
    as_of : date, datetime or ISO text, optional
        The first instant not in the history (:mod:`custlab._dates`); default the midnight after the last order.
    min_repeat_share : float, default 0.25
        Share of the product's buyers who bought it on two days or more.
    min_repeaters : int, default 10
        Fewest such customers.
    item : str, default "product_id"

    Returns
    -------
    polars.DataFrame
        ``item`` (String), ``buyers``, ``repeaters`` (Int64), ``repeat_share``, ``median_days``
        (Float64: the median gap between purchase days), most repeaters first.

    Examples
    --------
    >>> import datetime as dt
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 2, 2, 3], "order_id": [1, 2, 3, 4, 5], "amount": [1.0] * 5,
    ...     "order_date": [dt.datetime(2024, 1, d) for d in (1, 21, 2, 22, 3)],
    ...     "product_id": ["cream", "cream", "cream", "cream", "vase"]})
    >>> replenishable_items(tx, min_repeaters=2).rows()
    [('cream', 2, 2, 1.0, 20.0)]
    """
    from custlab.repurchase import repurchase_cycles

    share = _check_share(min_repeat_share, "min_repeat_share")
    if isinstance(min_repeaters, bool) or not isinstance(min_repeaters, int) or min_repeaters < 1:
        raise CustlabError(f"min_repeaters must be a whole number of 1 or more, got {min_repeaters!r}.")
    lines, end = _history(transactions, as_of, item)
    schema = {item: pl.String, "buyers": pl.Int64, "repeaters": pl.Int64, "repeat_share": pl.Float64,
              "median_days": pl.Float64}
    if lines.height == 0:
        return pl.DataFrame(schema=schema)
    lines = lines.with_columns(pl.col(item).cast(pl.String))
    buyers = lines.group_by(item).agg(buyers=pl.col("customer_id").n_unique().cast(pl.Int64))
    cycles = repurchase_cycles(lines, by=item, as_of=end)
    return (
        buyers.join(cycles.select(item, repeaters="customers", median_days="median_days"), on=item, how="inner")
        .with_columns(repeat_share=pl.col("repeaters") / pl.col("buyers"))
        .filter(pl.col("repeaters") >= min_repeaters, pl.col("repeat_share") >= share)
        .select(item, "buyers", "repeaters", "repeat_share", "median_days")
        .sort(["repeaters", item], descending=[True, False])
    )


def replenishment_due(
    transactions: Frame,
    *,
    as_of: DateLike | None = None,
    remind_days_before: int = 7,
    max_overdue: float = 0.5,
    min_repeat_share: float = 0.25,
    min_repeaters: int = 10,
    item: str = "product_id",
    language: Language = "en",
) -> pl.DataFrame:
    """Each customer's replenishable products that are due now (module docstring).

    Parameters
    ----------
    transactions, as_of, min_repeat_share, min_repeaters, item
        As in :func:`replenishable_items`.
    remind_days_before : int, default 7
        Days before the due date from which the reminder counts as due.
    max_overdue : float, default 0.5
        Longest delay past the due date, as a share of the cycle, for which the reminder still counts.
    language : {"en", "zh"}
        Language of ``reason``.

    Returns
    -------
    polars.DataFrame
        ``customer_id``, ``item`` (String), ``last_purchase``, ``due_date`` (Date), ``cycle_days`` (Float64),
        ``days_until_due`` (Int64, negative when overdue), ``repeat_share`` (Float64: of the product's buyers)
        and ``reason`` (String), the most overdue first.

    Examples
    --------
    >>> import datetime as dt
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 2, 2, 2], "order_id": [1, 2, 3, 4, 5], "amount": [1.0] * 5,
    ...     "order_date": [dt.datetime(2024, 1, d) for d in (1, 21, 2, 12, 22)], "product_id": ["cream"] * 5})
    >>> replenishment_due(tx, as_of="2024-02-04", min_repeaters=2).select(
    ...     "customer_id", "due_date", "days_until_due").rows()
    [(1, datetime.date(2024, 1, 31), -4), (2, datetime.date(2024, 2, 1), -3)]
    >>> replenishment_due(tx, as_of="2024-02-08", min_repeaters=2).height  # over half the 10-day cycle late
    0
    """
    from custlab.repurchase import next_purchase_due

    if not max_overdue >= 0:
        raise CustlabError(f"max_overdue is a share of the cycle, 0 or more; got {max_overdue!r}.")
    items = replenishable_items(transactions, as_of=as_of, min_repeat_share=min_repeat_share,
                                min_repeaters=min_repeaters, item=item)
    lines, end = _history(transactions, as_of, item)
    schema = {"customer_id": lines.schema["customer_id"], item: pl.String, "last_purchase": pl.Date,
              "due_date": pl.Date, "cycle_days": pl.Float64, "days_until_due": pl.Int64,
              "repeat_share": pl.Float64, "reason": pl.String}
    if items.height == 0:
        return pl.DataFrame(schema=schema)
    lines = lines.with_columns(pl.col(item).cast(pl.String)).filter(pl.col(item).is_in(items[item].implode()))
    due = next_purchase_due(lines, by=item, as_of=end, remind_days_before=remind_days_before, language="en")
    now = [t("repurchase.status_remind_now", "en"), t("repurchase.status_overdue", "en")]
    due = (due.filter(pl.col("status").is_in(now), -pl.col("days_until_due") <= max_overdue * pl.col("cycle_days"))
           .join(items.select(item, "repeat_share"), on=item, how="left")
           .sort(["days_until_due", "customer_id", item]))
    reason = [_reason(cycle, source, last, when, until, language) for cycle, source, last, when, until in
              due.select("cycle_days", "cycle_source", "last_purchase", "due_date", "days_until_due").iter_rows()]
    return due.select("customer_id", item, "last_purchase", "due_date", "cycle_days", "days_until_due",
                      "repeat_share").with_columns(reason=pl.Series(reason, dtype=pl.String))


def _reason(cycle: float, source: str | None, last: dt.date, due: dt.date, until: int, language: Language) -> str:
    """The reminder's reason: whose cycle it is (the customer's own, or the product's usual one when she has too
    few repeat purchases of it: "Bought about every 48 days" read as hers), and "overdue since" a date already past
    ("due again 2011-11-09" on 1 December read as a date to come)."""
    from custlab.report.text import fmt_date  # dates as the report writes them: 2011年11月9日 / 9 Nov 2011

    when = t("recommend.reason.overdue" if until < 0 else "recommend.reason.due", language, due=fmt_date(due, language))
    key = "recommend.reason.replenish" if source == "customer" else "recommend.reason.replenish_product"
    return t(key, language, days=f"{cycle:.0f}", last=fmt_date(last, language), when=when)
