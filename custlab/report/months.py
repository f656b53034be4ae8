"""Which month a report analyses, checked cheaply before any data are loaded.

A report covers one calendar month ``M``. Its analysis date ``as_of`` (the
first instant that is *not* history, see :mod:`custlab._dates`) is the first
day of the next month, so orders before ``as_of`` are history and orders in
``M`` are "this month". A month is *complete* when the data reach its last
days (the last order falls on one of its last :data:`COMPLETE_SLACK_DAYS` + 1
days); an incomplete month is refused unless ``partial=True``, in which case
``as_of`` is the midnight after the data's last day and the report labels
every comparison as partial.

Only the lines per day of ``order_date`` are read, from a lazy scan, so the
check costs little even on large files. A few *stray lines* at the very end
of the data (a test order, a mistyped year: fewer lines than half a usual
day's, after more than :data:`STRAY_GAP_DAYS` days without any) do not
decide where the data end: the month is judged on the rest, and
:attr:`MonthSpec.stray` says what was set aside (cleaning then removes those
lines as dated after ``as_of``).
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
    import polars as pl

    from custlab._types import Frame

__all__ = [
    "COMPLETE_SLACK_DAYS", "STRAY_DAY_SHARE", "STRAY_GAP_DAYS", "STRAY_GAP_IN_MONTH_DAYS", "MonthSpec", "StrayTail",
    "check_month", "last_complete_month", "month_end", "next_month", "parse_month", "previous_month",
    "same_month_last_year", "stray_tail",
]

#: A month counts as complete when the data's last order falls on its last day or on one of the
#: two days before (a shop closed on 31 December still has a complete December).
COMPLETE_SLACK_DAYS = 2
#: Stray lines at the end of the data come after more than this many days without an order (longer than a shop's
#: holiday closure: Online Retail II closes from 24 December to 3 January, and a file that ends on its first day back
#: still covers December) ...
STRAY_GAP_DAYS = 14
#: ... or after more than this many days within the month the other lines end in (where they would make that month
#: look complete: one line on 30 December after orders that stop on 9 December) ...
STRAY_GAP_IN_MONTH_DAYS = 7
#: ... and are fewer than this share of the median day's lines (days with an order).
STRAY_DAY_SHARE = 0.5


@dataclass(frozen=True)
class StrayTail:
    """Lines at the very end of the data, set apart from the rest by a gap: too few to say where the data end.

    Attributes
    ----------
    lines
        How many lines (at most half the median day's).
    first, last
        Their first and last day.
    data_end
        The last day of the other lines (where the data are taken to end).
    """

    lines: int
    first: dt.date
    last: dt.date
    data_end: dt.date

    @property
    def gap_days(self) -> int:
        """Days from the end of the data to the first stray line."""
        return (self.first - self.data_end).days


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
        The day of the data's last order (leaving out stray lines).
    stray
        The stray lines at the end of the data, when there are any (:class:`StrayTail`).
    """

    month: str
    start: dt.datetime
    as_of: dt.datetime
    partial: bool
    days: int
    last_data_date: dt.date
    stray: StrayTail | None = None

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


def _day_counts(transactions: Frame) -> pl.DataFrame:
    """Lines per day (``day``, ``rows``, sorted; undated lines left out)."""
    import polars as pl  # here: ``custlab report`` checks the month's spelling before polars is imported

    on_engine = not isinstance(transactions, (pl.DataFrame, pl.LazyFrame))  # DuckDB, Spark: counted there
    if on_engine:
        import narwhals as nw

        names = nw.from_native(transactions).collect_schema().names()
    else:
        names = transactions.collect_schema().names()
    if "order_date" not in names:
        raise CustlabError("The transactions have no order_date column; map your date column with --columns.")
    if on_engine:
        from custlab.engine.report import day_counts

        return day_counts(transactions)
    from custlab.data.clean import day_rows

    return day_rows(transactions.lazy())


def _as_date(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def stray_tail(days: pl.DataFrame) -> StrayTail | None:
    """The stray lines at the end of lines per day (``day``, ``rows``, sorted), or None.

    The last days are stray when, together, they hold fewer lines than :data:`STRAY_DAY_SHARE` of the median
    day's and more than :data:`STRAY_GAP_DAYS` days without an order come before them (more than
    :data:`STRAY_GAP_IN_MONTH_DAYS` when they fall in the month the other lines end in); of such gaps the
    earliest counts. A shop's holiday closure followed by a short first day back is not stray.

    >>> import polars as pl
    >>> days = pl.DataFrame({"day": [dt.date(2011, 11, d) for d in range(1, 31)] + [dt.date(2012, 9, 3)],
    ...                      "rows": [100] * 30 + [2]})
    >>> stray = stray_tail(days)
    >>> stray.lines, stray.data_end, stray.gap_days
    (2, datetime.date(2011, 11, 30), 278)
    """
    if days.height < 2:
        return None
    dates = [_as_date(d) for d in days["day"].to_list()]
    rows = days["rows"].to_list()
    limit = STRAY_DAY_SHARE * sorted(rows)[len(rows) // 2]
    beyond, start = 0, None
    for i in range(len(dates) - 1, 0, -1):
        beyond += rows[i]
        if beyond >= limit:
            break
        gap = (dates[i] - dates[i - 1]).days
        same_month = (dates[i].year, dates[i].month) == (dates[i - 1].year, dates[i - 1].month)
        if gap > STRAY_GAP_DAYS or (same_month and gap > STRAY_GAP_IN_MONTH_DAYS):
            start = i
    if start is None:
        return None
    return StrayTail(sum(rows[start:]), dates[start], dates[-1], dates[start - 1])


def check_month(transactions: Frame, month: str | None = None, *, partial: bool = False) -> MonthSpec:
    """Check ``month`` against the data's first and last order and return its :class:`MonthSpec`.

    Parameters
    ----------
    transactions
        Transactions (eager or lazy) with an ``order_date`` column; only its
        lines per day are counted (for :func:`stray_tail`).
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
    days = _day_counts(transactions)
    if days.height == 0:
        raise CustlabError("The transactions hold no order_date values: there is no month to report on.")
    stray = stray_tail(days)
    first = _as_date(days["day"][0])
    last_day = stray.data_end if stray else _as_date(days["day"][-1])
    last = dt.datetime.combine(last_day, dt.time())
    if month is None or (isinstance(month, str) and not month.strip()):
        start_date = dt.date(last_day.year, last_day.month, 1)
        if not partial and not _complete(start_date, last_day):
            start_date = previous_month(start_date)
            if start_date < dt.date(first.year, first.month, 1):
                raise CustlabError(
                    f"The data run from {first:%Y-%m-%d} to {last:%Y-%m-%d}{_apart(stray)} and cover no complete "
                    f"month; pass --partial to analyse {last:%Y-%m} up to {last:%Y-%m-%d}."
                )
    else:
        start_date = parse_month(month)
    label = f"{start_date:%Y-%m}"
    if start_date > last_day and stray and start_date <= stray.last:
        raise CustlabError(
            f"month {label} is after the data: orders run from {first:%Y-%m-%d} to {last:%Y-%m-%d}, apart from "
            f"{stray.lines:,} stray line(s) dated {_days_text(stray)}, {stray.gap_days} days later, too few to "
            f"report on. {_choose(first, last_day)}, or correct the dates of those lines."
        )
    if start_date > last_day or next_month(start_date) <= first:
        raise CustlabError(
            f"month {label} is outside the data: orders run from {first:%Y-%m-%d} to {last:%Y-%m-%d}. "
            f"{_choose(first, last_day)}."
        )
    start = dt.datetime.combine(start_date, dt.time())
    if _complete(start_date, last_day):
        as_of = dt.datetime.combine(next_month(start_date), dt.time())
        return MonthSpec(label, start, as_of, False, (as_of - start).days, last_day, stray)
    if not partial:
        raise CustlabError(
            f"month {label} is incomplete: the data end on {last:%Y-%m-%d}{_apart(stray)}. The last complete month is "
            f"{last_complete_month(last_day)}; pass --partial to analyse {label} up to {last:%Y-%m-%d}."
        )
    as_of = as_of_after(last)
    return MonthSpec(label, start, as_of, True, (as_of - start).days, last_day, stray)


def _choose(first: dt.date, last_day: dt.date) -> str:
    """The months a report can be asked for: the complete ones, and the last one with --partial.

    >>> _choose(dt.date(2009, 12, 1), dt.date(2010, 12, 9))
    'Choose a month between 2009-12 and 2010-11 (or 2010-12 with --partial, up to 2010-12-09)'
    >>> _choose(dt.date(2011, 1, 4), dt.date(2011, 1, 20))
    'The data cover no complete month: choose 2011-01 with --partial (up to 2011-01-20)'
    """
    complete = last_complete_month(last_day)
    if complete < f"{first:%Y-%m}":
        return f"The data cover no complete month: choose {last_day:%Y-%m} with --partial (up to {last_day:%Y-%m-%d})"
    span = (f"the month {complete}" if complete == f"{first:%Y-%m}"
            else f"a month between {first:%Y-%m} and {complete}")
    if complete == f"{last_day:%Y-%m}":
        return f"Choose {span}"
    return f"Choose {span} (or {last_day:%Y-%m} with --partial, up to {last_day:%Y-%m-%d})"


def _apart(stray: StrayTail | None) -> str:
    """What an error adds about stray lines set aside (nothing without them)."""
    if stray is None:
        return ""
    return (f" (apart from {stray.lines:,} stray line(s) dated {_days_text(stray)}, {stray.gap_days} days later, "
            f"set aside as too few to mark the end of the data)")


def _days_text(stray: StrayTail) -> str:
    return f"{stray.first:%Y-%m-%d}" + (f" to {stray.last:%Y-%m-%d}" if stray.last != stray.first else "")
