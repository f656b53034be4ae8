"""The one way custlab reads date, window and period arguments.

``as_of`` everywhere means **the first instant that is not history**: data with
``order_date < as_of`` are the past the analysis sees. A date means its
midnight, so ``as_of="2011-12-01"`` analyses everything up to 2011-11-30
23:59:59. With ``as_of=None`` a function uses the midnight after the last
order in the data. Models whose papers count "the last day included"
(BG/NBD and friends in :mod:`custlab.clv`) convert internally with
:func:`last_day_included`.

Windows (``within=``) are durations: a :class:`datetime.timedelta` or text such
as ``"90d"``, ``"30m"``, ``"2h"``, ``"1w"``, ``"1h30m"``; a bare integer is a
number of days. Periods (``freq=``) are polars duration strings: ``"1d"``,
``"1w"``, ``"1mo"``, ``"1q"``, ``"1y"``.
"""

from __future__ import annotations

import datetime as dt
import re

from custlab._types import DateLike
from custlab.exceptions import CustlabError

__all__ = [
    "FREQ_ALIASES", "as_datetime", "as_of_after", "check_freq", "last_day_included", "parse_within",
]

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(w|d|h|m|s)")
_UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}

#: Period names accepted for ``freq`` beside polars duration strings.
FREQ_ALIASES: dict[str, str] = {
    "day": "1d", "d": "1d", "week": "1w", "w": "1w", "month": "1mo", "m": "1mo", "mo": "1mo",
    "quarter": "1q", "q": "1q", "year": "1y", "y": "1y",
}
_FREQ = re.compile(r"^(\d+)(d|w|mo|q|y)$")


def as_datetime(value: DateLike | None, name: str = "as_of") -> dt.datetime | None:
    """A date argument as a naive datetime; a date means its midnight; None stays None.

    Raises :class:`CustlabError` naming the argument and showing the value.

    Examples
    --------
    >>> as_datetime("2011-12-10")
    datetime.datetime(2011, 12, 10, 0, 0)
    >>> as_datetime(dt.date(2011, 12, 10), "split_date")
    datetime.datetime(2011, 12, 10, 0, 0)
    """
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise CustlabError(f"{name} must be a date such as '2011-12-10', got {value!r}.") from None
    raise CustlabError(f"{name} must be a date, datetime or ISO string, got {type(value).__name__} {value!r}.")


def as_of_after(last: dt.date | dt.datetime) -> dt.datetime:
    """The default ``as_of`` for data whose last order is ``last``: the midnight after it.

    >>> as_of_after(dt.datetime(2011, 12, 9, 12, 50))
    datetime.datetime(2011, 12, 10, 0, 0)
    """
    day = last.date() if isinstance(last, dt.datetime) else last
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time())


def last_day_included(as_of: dt.datetime) -> dt.date:
    """The last calendar day of history before ``as_of`` (the papers' "observation end").

    >>> last_day_included(dt.datetime(2011, 12, 10))
    datetime.date(2011, 12, 9)
    >>> last_day_included(dt.datetime(2011, 12, 10, 12, 0))
    datetime.date(2011, 12, 10)
    """
    if as_of.time() == dt.time():
        return as_of.date() - dt.timedelta(days=1)
    return as_of.date()


def parse_within(within: str | int | dt.timedelta | None, name: str = "within") -> dt.timedelta | None:
    """A window: ``None``, a timedelta, a number of days, or text such as ``"90d"``, ``"30m"``, ``"1h30m"``.

    >>> parse_within("90d")
    datetime.timedelta(days=90)
    >>> parse_within("1h30m")
    datetime.timedelta(seconds=5400)
    >>> parse_within(14)
    datetime.timedelta(days=14)
    """
    if within is None:
        return None
    if isinstance(within, dt.timedelta):
        window = within
    elif isinstance(within, bool):
        raise CustlabError(f"{name} must be a duration such as '90d' or '30m', got {within!r}.")
    elif isinstance(within, (int, float)):
        window = dt.timedelta(days=float(within))
    elif isinstance(within, str):
        text = within.strip().lower().replace(" ", "")
        parts = _DURATION.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise CustlabError(
                f"{name} must be a datetime.timedelta, a number of days or text such as '90d', '30m', '2h', "
                f"'1h30m' (units w, d, h, m, s), got {within!r}."
            )
        window = dt.timedelta(seconds=sum(float(n) * _UNIT_SECONDS[u] for n, u in parts))
    else:
        raise CustlabError(f"{name} must be None, a datetime.timedelta or text such as '90d', got {within!r}.")
    if window <= dt.timedelta(0):
        raise CustlabError(f"{name} must be a positive duration, got {within!r}.")
    return window


def check_freq(freq: str, name: str = "freq", allowed: tuple[str, ...] | None = None) -> str:
    """A period as a polars duration string (``"1w"``, ``"1mo"``, ...); names like "week" are accepted.

    >>> check_freq("month")
    '1mo'
    >>> check_freq("1w")
    '1w'
    """
    if not isinstance(freq, str):
        raise CustlabError(f"{name} must be a period such as '1w' or '1mo', got {freq!r}.")
    text = FREQ_ALIASES.get(freq.strip().lower(), freq.strip().lower())
    if not _FREQ.match(text) or (allowed is not None and text not in allowed):
        choices = ", ".join(repr(a) for a in (allowed or ("1d", "1w", "1mo", "1q", "1y")))
        raise CustlabError(f"{name} must be one of {choices} (or 'day', 'week', 'month', ...), got {freq!r}.")
    return text
