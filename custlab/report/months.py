"""Which month a report analyses, checked cheaply before any data are loaded.

A report covers one calendar month ``M``. Its analysis date ``as_of`` (the
first instant that is *not* history, see :mod:`custlab._dates`) is the first
day of the next month, so orders before ``as_of`` are history and orders in
``M`` are "this month". A month is *complete* when the data reach its last
days (the last order falls on one of its last :data:`COMPLETE_SLACK_DAYS` + 1
days); an incomplete month is refused unless ``partial=True``, in which case
``as_of`` is the midnight after the data's last day and the report labels
every comparison as partial.

Only ``min``/``max`` of ``order_date`` are read, from a lazy scan, so the
check costs next to nothing even on large files.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from custlab._dates import as_of_after
from custlab.exceptions import CustlabError

if TYPE_CHECKING:
    from custlab._types import Frame

__all__ = [
    "COMPLETE_SLACK_DAYS", "MonthSpec", "check_month", "last_complete_month", "month_end", "next_month",
    "parse_month", "previous_month", "same_month_last_year",
]

#: A month counts as complete when the data's last order falls on its last day or on one of the
#: two days before (a shop closed on 31 December still has a complete December).
COMPLETE_SLACK_DAYS = 2


@dataclass(frozen=True)
class MonthSpec:
    """The month a report analyses.

    Attributes
    ----------
    month
        ``"YYYY-MM"``.
    start
        Midnight of the month's first day.
    as_of
        The first instant not analysed: the next month's first midnight, or for
        a partial month the midnight after the data's last day.
    partial
        True when the data stop before the month's end and the caller asked for it.
    days
        Days of the month covered by the analysis (its length unless partial).
    last_data_date
        The day of the data's last order.
    """

    month: str
    start: dt.datetime
    as_of: dt.datetime
    partial: bool
    days: int
    last_data_date: dt.date

    @property
    def month_days(self) -> int:
        """Number of days in the calendar month."""
        return calendar.monthrange(self.start.year, self.start.month)[1]

    @property
    def last_day(self) -> dt.date:
        """Last day analysed (the day before ``as_of``)."""
        return (self.as_of - dt.timedelta(days=1)).date()

    def __repr__(self) -> str:
        state = f", partial: {self.days} of {self.month_days} days" if self.partial else ""
        return f"MonthSpec({self.month}, as_of {self.as_of:%Y-%m-%d}{state})"


def parse_month(month: str) -> dt.date:
    """First day of a ``YYYY-MM`` month; a clear error for anything else.

    >>> parse_month("2011-11")
    datetime.date(2011, 11, 1)
    """
    if not isinstance(month, str) or not re.fullmatch(r"\d{4}-\d{2}", month.strip()) or not 1 <= int(month[5:7]) <= 12:
        raise CustlabError(f"month must look like 2011-11 (YYYY-MM), got {month!r}.")
    month = month.strip()
    return dt.date(int(month[:4]), int(month[5:]), 1)


def next_month(day: dt.date) -> dt.date:
    """First day of the month after ``day``'s month.

    >>> next_month(dt.date(2011, 12, 9))
    datetime.date(2012, 1, 1)
    """
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def previous_month(day: dt.date) -> dt.date:
    """First day of the month before ``day``'s month.

    >>> previous_month(dt.date(2011, 1, 15))
    datetime.date(2010, 12, 1)
    """
    return dt.date(day.year - (day.month == 1), (day.month - 2) % 12 + 1, 1)


def same_month_last_year(day: dt.date) -> dt.date:
    """First day of the same month one year earlier.

    >>> same_month_last_year(dt.date(2011, 11, 1))
    datetime.date(2010, 11, 1)
    """
    return dt.date(day.year - 1, day.month, 1)


def month_end(day: dt.date) -> dt.date:
    """Last day of ``day``'s month.

    >>> month_end(dt.date(2024, 2, 10))
    datetime.date(2024, 2, 29)
    """
    return next_month(day) - dt.timedelta(days=1)


def _complete(month_start: dt.date, last_data_date: dt.date) -> bool:
    return last_data_date >= month_end(month_start) - dt.timedelta(days=COMPLETE_SLACK_DAYS)


def last_complete_month(last_data_date: dt.date) -> str:
    """The last month the data cover completely, as ``YYYY-MM``.

    >>> last_complete_month(dt.date(2011, 12, 9))
    '2011-11'
    >>> last_complete_month(dt.date(2024, 12, 31))
    '2024-12'
    """
    start = dt.date(last_data_date.year, last_data_date.month, 1)
    return f"{start if _complete(start, last_data_date) else previous_month(start):%Y-%m}"


def _span(transactions: Frame) -> tuple[dt.datetime, dt.datetime]:
    import polars as pl  # here: ``custlab report`` checks the month's spelling before polars is imported

    on_engine = not isinstance(transactions, (pl.DataFrame, pl.LazyFrame))  # DuckDB, Spark: min and max there
    if on_engine:
        import narwhals as nw

        names = nw.from_native(transactions).collect_schema().names()
    else:
        names = transactions.collect_schema().names()
    if "order_date" not in names:
        raise CustlabError("The transactions have no order_date column; map your date column with --columns.")
    if on_engine:
        from custlab.engine.report import span

        found = span(transactions)
        first, last = found["first"], found["last"]
    else:
        first, last = (
            transactions.lazy().select(pl.col("order_date").min().alias("first"),
                                       pl.col("order_date").max().alias("last")).collect().row(0)
        )
    if first is None or last is None:
        raise CustlabError("The transactions hold no order_date values: there is no month to report on.")
    if not isinstance(first, dt.datetime):  # a Date column
        first, last = dt.datetime.combine(first, dt.time()), dt.datetime.combine(last, dt.time())
    return first, last


def check_month(transactions: Frame, month: str | None = None, *, partial: bool = False) -> MonthSpec:
    """Check ``month`` against the data's first and last order and return its :class:`MonthSpec`.

    Parameters
    ----------
    transactions
        Transactions (eager or lazy) with an ``order_date`` column; only its
        minimum and maximum are read.
    month
        ``"YYYY-MM"``; None means the last complete month (with ``partial=True``,
        the data's last month even if incomplete).
    partial
        Accept a month the data do not cover to its end: ``as_of`` becomes the
        midnight after the data's last day.

    Raises
    ------
    CustlabError
        For a malformed month, a month outside the data, or an incomplete month
        without ``partial`` (the message names the data's last date and the last
        complete month).

    Examples
    --------
    >>> import polars as pl, datetime as dt
    >>> tx = pl.LazyFrame({"order_date": [dt.datetime(2011, 10, 3), dt.datetime(2011, 12, 9, 12)]})
    >>> check_month(tx, None)
    MonthSpec(2011-11, as_of 2011-12-01)
    >>> check_month(tx, "2011-12", partial=True)
    MonthSpec(2011-12, as_of 2011-12-10, partial: 9 of 31 days)
    """
    first, last = _span(transactions)
    last_day = last.date()
    if month is None or (isinstance(month, str) and not month.strip()):
        start_date = dt.date(last_day.year, last_day.month, 1)
        if not partial and not _complete(start_date, last_day):
            start_date = previous_month(start_date)
            if start_date < dt.date(first.year, first.month, 1):
                raise CustlabError(
                    f"The data run from {first:%Y-%m-%d} to {last:%Y-%m-%d} and cover no complete month; "
                    f"pass --partial to analyse {last:%Y-%m} up to {last:%Y-%m-%d}."
                )
    else:
        start_date = parse_month(month)
    label = f"{start_date:%Y-%m}"
    if start_date > last_day or next_month(start_date) <= first.date():
        raise CustlabError(
            f"month {label} is outside the data: orders run from {first:%Y-%m-%d} to {last:%Y-%m-%d}. "
            f"Choose a month between {first:%Y-%m} and {last:%Y-%m}."
        )
    start = dt.datetime.combine(start_date, dt.time())
    if _complete(start_date, last_day):
        as_of = dt.datetime.combine(next_month(start_date), dt.time())
        return MonthSpec(label, start, as_of, False, (as_of - start).days, last_day)
    if not partial:
        raise CustlabError(
            f"month {label} is incomplete: the data end on {last:%Y-%m-%d}. The last complete month is "
            f"{last_complete_month(last_day)}; pass --partial to analyse {label} up to {last:%Y-%m-%d}."
        )
    as_of = as_of_after(last)
    return MonthSpec(label, start, as_of, True, (as_of - start).days, last_day)
