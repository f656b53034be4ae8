"""The shop's calendar: argument checks, the period, festival windows and the acquisition weight of each day.

The period runs from ``start`` (00:00) for ``months`` calendar months; its
end is exclusive. Customers are acquired across the whole period: the day of
a customer's first purchase is drawn with a weight that grows linearly from 1
to 1.5 over the period and is multiplied by ``FESTIVAL_ACQ_BOOST`` (1.8) on
the days of the festival windows (the 28 days up to and including Chinese New
Year and Double 11, Nov 11).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

from custlab._dates import as_datetime
from custlab.exceptions import CustlabError
from custlab.synthetic.params import CNY, EPOCH, FESTIVAL_ACQ_BOOST, FESTIVAL_WINDOW_DAYS, US_PER_DAY

__all__ = ["Calendar", "calendar", "check_arguments"]


@dataclass(frozen=True, eq=False)
class Calendar:
    """Days of the period and what the stages need to know about them (arrays indexed by day)."""

    start: dt.date
    end: dt.date  # exclusive
    months: int
    ndays: int
    start_us: int
    end_us: int
    day_dates: np.ndarray  # datetime64[D]
    month_of_day: np.ndarray  # 0 = January
    month_idx_of_day: np.ndarray  # 0 = the first month of the period
    in_festival: np.ndarray  # bool
    acquisition_weight: np.ndarray  # sums to 1
    festivals: list[dict[str, Any]]

    @property
    def n_months(self) -> int:
        return int(self.month_idx_of_day[-1]) + 1

    def __repr__(self) -> str:
        return f"Calendar({self.start.isoformat()}..{self.end.isoformat()}, {self.ndays:,} days, {len(self.festivals)} festivals)"

    def truth(self) -> dict[str, Any]:
        return {
            "start": dt.datetime.combine(self.start, dt.time()),
            "end": dt.datetime.combine(self.end, dt.time()),
            "months": self.months,
            "days": self.ndays,
        }


def _is_int(x: object) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _is_real(x: object) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


def _parse_start(start: object) -> dt.date:
    """The calendar day of ``start``, read by custlab's one date parser (:func:`custlab._dates.as_datetime`)."""
    try:
        moment = None if start is None else as_datetime(start, "start")  # type: ignore[arg-type]
    except CustlabError:
        moment = None
    if moment is not None:
        return moment.date()
    raise CustlabError(
        f"start must be a date such as '2023-01-01' (an ISO 'YYYY-MM-DD' string, "
        f"datetime.date or datetime.datetime), got {start!r}"
    )


def check_arguments(
    n_customers: object, start: object, months: object, seed: object, messy: object, events_per_customer: object,
) -> dt.date:
    """Check make_shop's arguments (messages name the argument, show the value and say what is allowed)."""
    if not _is_int(n_customers) or int(n_customers) <= 0:  # type: ignore[call-overload]
        raise CustlabError(f"n_customers must be a positive integer, got {n_customers!r}")
    if not _is_int(months) or int(months) < 1:  # type: ignore[call-overload]
        raise CustlabError(f"months must be an integer >= 1, got {months!r}")
    if not _is_int(seed) or int(seed) < 0:  # type: ignore[call-overload]
        raise CustlabError(f"seed must be a non-negative integer, got {seed!r}")
    if not _is_real(messy) or not (0.0 <= float(messy) < 1.0):  # type: ignore[arg-type]
        raise CustlabError(f"messy must be a number in [0, 1), got {messy!r}")
    if (
        not _is_real(events_per_customer)
        or not np.isfinite(float(events_per_customer))  # type: ignore[arg-type]
        or float(events_per_customer) < 0  # type: ignore[arg-type]
    ):
        raise CustlabError(f"events_per_customer must be a non-negative number, got {events_per_customer!r}")
    d = _parse_start(start)
    if d.year < 1971 or d.year > 9000:
        raise CustlabError(f"start must be a date between 1971 and 9000, got {start!r}")
    return d


def add_months(d: dt.date, months: int) -> dt.date:
    """``d`` plus ``months`` calendar months (the day clipped to the month's last)."""
    y, m = divmod(d.month - 1 + months, 12)
    y += d.year
    m += 1
    nxt = dt.date(y + (m == 12), m % 12 + 1, 1)
    last_day = (nxt - dt.timedelta(days=1)).day
    return dt.date(y, m, min(d.day, last_day))


def to_us(d: dt.date) -> int:
    """Microseconds from EPOCH to the midnight starting ``d``."""
    return (d - EPOCH.date()).days * US_PER_DAY


def festivals(start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    """Festival windows overlapping [start, end): name, date, window_start, window_end (exclusive)."""
    out = []
    for year in range(start.year, end.year + 2):
        days = []
        if year in CNY:
            days.append(("chinese_new_year", dt.date(year, *CNY[year])))
        days.append(("double_11", dt.date(year, 11, 11)))
        for name, day in days:
            w_start = day - dt.timedelta(days=FESTIVAL_WINDOW_DAYS - 1)
            w_end = day + dt.timedelta(days=1)
            if w_end > start and w_start < end:
                out.append({
                    "name": name,
                    "date": day,
                    "window_start": dt.datetime.combine(w_start, dt.time()),
                    "window_end": dt.datetime.combine(w_end, dt.time()),
                })
    out.sort(key=lambda f: f["date"])
    return out


def calendar(start: dt.date, months: int) -> Calendar:
    """The period of ``months`` calendar months from ``start`` and its days."""
    end = add_months(start, months)
    ndays = (end - start).days
    day_dates = np.datetime64(start, "D") + np.arange(ndays)
    month_abs = day_dates.astype("datetime64[M]").astype(np.int64)
    windows = festivals(start, end)
    in_festival = np.zeros(ndays, dtype=bool)
    for f in windows:
        a0 = max((f["window_start"].date() - start).days, 0)
        a1 = min((f["window_end"].date() - start).days, ndays)
        in_festival[a0:a1] = True
    weight = (1.0 + 0.5 * np.arange(ndays) / max(ndays - 1, 1)) * np.where(in_festival, FESTIVAL_ACQ_BOOST, 1.0)
    weight /= weight.sum()
    return Calendar(
        start=start, end=end, months=months, ndays=ndays, start_us=to_us(start), end_us=to_us(end),
        day_dates=day_dates, month_of_day=(month_abs % 12).astype(np.int64),
        month_idx_of_day=month_abs - month_abs[0], in_festival=in_festival, acquisition_weight=weight,
        festivals=windows,
    )
