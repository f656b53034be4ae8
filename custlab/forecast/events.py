"""Holidays and shopping festivals as calendar windows and as exogenous flags per period.

A :class:`Festival` is a named day each year with a window of days around it
(the buying run-up before, a tail after). :data:`FESTIVALS` holds the ones the
issue names: the Chinese Spring Festival (lunar new year), Qixi (lunar 7/7,
"Chinese Valentine's day"), 618 (June 18, JD's anniversary sale), Double 11
(November 11, Singles' Day) and Christmas; pass your own tuple anywhere
``festivals=`` is taken. :func:`event_flags` turns them into one column per
festival: the share of a period's days that fall inside its window (0..1),
the exogenous regressor of the models that take one
(:data:`custlab.forecast.models.MODELS` says which).

Lunar dates: Spring Festival dates come from :data:`custlab.synthetic.params.CNY`
(2000-2040); the Qixi table below was generated with ``lunardate`` 0.3.0 and
checked equal to ``lunar-python`` 1.4.8 for every year. Outside 2000-2040 the
lunar festivals have no date (their flags stay 0).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import polars as pl

from custlab._i18n import label
from custlab.exceptions import CustlabError
from custlab.synthetic.params import CNY

__all__ = ["FESTIVALS", "QIXI", "Festival", "event_flags", "festival_calendar", "fixed_day", "lunar_day"]

#: Qixi (7th day of the 7th lunar month) as (month, day) per year, 2000-2040.
QIXI: dict[int, tuple[int, int]] = {
    2000: (8, 6), 2001: (8, 25), 2002: (8, 15), 2003: (8, 4), 2004: (8, 22), 2005: (8, 11), 2006: (7, 31),
    2007: (8, 19), 2008: (8, 7), 2009: (8, 26), 2010: (8, 16), 2011: (8, 6), 2012: (8, 23), 2013: (8, 13),
    2014: (8, 2), 2015: (8, 20), 2016: (8, 9), 2017: (8, 28), 2018: (8, 17), 2019: (8, 7), 2020: (8, 25),
    2021: (8, 14), 2022: (8, 4), 2023: (8, 22), 2024: (8, 10), 2025: (8, 29), 2026: (8, 19), 2027: (8, 8),
    2028: (8, 26), 2029: (8, 16), 2030: (8, 5), 2031: (8, 24), 2032: (8, 12), 2033: (8, 1), 2034: (8, 20),
    2035: (8, 10), 2036: (8, 28), 2037: (8, 17), 2038: (8, 7), 2039: (8, 26), 2040: (8, 14),
}


def fixed_day(month: int, day: int) -> Callable[[int], dt.date | None]:
    """A festival on the same calendar day every year.

    >>> fixed_day(11, 11)(2024)
    datetime.date(2024, 11, 11)
    """
    return lambda year: dt.date(year, month, day)


def lunar_day(table: dict[int, tuple[int, int]]) -> Callable[[int], dt.date | None]:
    """A festival whose Gregorian date per year is read from ``table`` (None outside it).

    >>> lunar_day(QIXI)(2024)
    datetime.date(2024, 8, 10)
    >>> lunar_day(QIXI)(1990) is None
    True
    """
    return lambda year: dt.date(year, *table[year]) if year in table else None


@dataclass(frozen=True)
class Festival:
    """A yearly festival and the window of days it moves demand in.

    Attributes
    ----------
    name
        Short name, also the flag column's name (``"double_11"``); the label
        catalogue translates it.
    date
        ``year -> date`` (None when the year has no known date), e.g.
        :func:`fixed_day` or :func:`lunar_day`.
    days_before, days_after
        The window runs from ``days_before`` days before the day to
        ``days_after`` days after it, both ends included.
    """

    name: str
    date: Callable[[int], dt.date | None]
    days_before: int = 0
    days_after: int = 0

    def __post_init__(self) -> None:
        if not self.name or not self.name.isidentifier():
            raise CustlabError(f"Festival.name must be a short identifier such as 'double_11', got {self.name!r}.")
        if self.days_before < 0 or self.days_after < 0:
            raise CustlabError(
                f"Festival {self.name!r}: days_before and days_after must be >= 0, got "
                f"{self.days_before} and {self.days_after}."
            )

    def windows(self, years: Iterable[int]) -> list[tuple[dt.date, dt.date, dt.date]]:
        """``(day, first day, last day)`` of the window in each year that has a date."""
        out = []
        for year in years:
            day = self.date(year)
            if day is not None:
                out.append((day, day - dt.timedelta(days=self.days_before), day + dt.timedelta(days=self.days_after)))
        return out


#: The festivals custlab flags by default. Windows: the 28 days up to and including Spring Festival and
#: Double 11 (as the synthetic shop plants them), the 18 days of the 618 sale (June 1-18), the week up to
#: Qixi and December 1-25 for Christmas.
FESTIVALS: tuple[Festival, ...] = (
    Festival("spring_festival", lunar_day(CNY), days_before=27),
    Festival("festival_618", fixed_day(6, 18), days_before=17),
    Festival("qixi", lunar_day(QIXI), days_before=6),
    Festival("double_11", fixed_day(11, 11), days_before=27),
    Festival("christmas", fixed_day(12, 25), days_before=24),
)


def _check_festivals(festivals: Sequence[Festival]) -> tuple[Festival, ...]:
    festivals = tuple(festivals)
    bad = [f for f in festivals if not isinstance(f, Festival)]
    if bad:
        raise CustlabError(f"festivals must be custlab.forecast.events.Festival objects, got {bad[:3]!r}.")
    names = [f.name for f in festivals]
    if len(set(names)) != len(names):
        raise CustlabError(f"festival names must be unique, got {names}.")
    return festivals


def festival_calendar(
    start: dt.date, end: dt.date, *, festivals: Sequence[Festival] = FESTIVALS, language: str = "en",
) -> pl.DataFrame:
    """The festival windows that overlap ``[start, end)``.

    Returns
    -------
    polars.DataFrame
        ``festival`` (String, the name), ``label`` (String, in ``language``),
        ``date``, ``window_start``, ``window_end`` (Date; both ends included),
        sorted by date.

    Examples
    --------
    >>> festival_calendar(dt.date(2024, 1, 1), dt.date(2024, 7, 1))["festival"].to_list()
    ['spring_festival', 'festival_618']
    """
    rows = []
    for festival in _check_festivals(festivals):
        for day, first, last in festival.windows(range(start.year - 1, end.year + 2)):
            if first < end and last >= start:
                rows.append((festival.name, label(festival.name, language), day, first, last))
    schema = {"festival": pl.String, "label": pl.String, "date": pl.Date, "window_start": pl.Date,
              "window_end": pl.Date}
    return pl.DataFrame(rows, schema=schema, orient="row").sort("date")


def event_flags(
    periods: Sequence[dt.date] | pl.Series, freq: str, *, festivals: Sequence[Festival] = FESTIVALS,
) -> pl.DataFrame:
    """One column per festival: the share of each period's days inside the festival's window.

    Parameters
    ----------
    periods
        Period starts (Mondays for ``"1w"``, firsts of months for ``"1mo"``).
    freq
        ``"1w"`` or ``"1mo"``.
    festivals
        The festivals to flag (default :data:`FESTIVALS`).

    Returns
    -------
    polars.DataFrame
        ``period`` (Date) and one Float64 column per festival, named after it,
        in ``[0, 1]``.

    Examples
    --------
    >>> flags = event_flags([dt.date(2024, 11, 4), dt.date(2024, 11, 11), dt.date(2024, 11, 18)], "1w")
    >>> flags["double_11"].to_list()
    [1.0, 0.14285714285714285, 0.0]
    """
    from custlab.forecast.series import period_end

    festivals = _check_festivals(festivals)
    days = sorted(set(pl.Series(periods, dtype=pl.Date).to_list()))
    columns: dict[str, list[float]] = {"period": days}  # type: ignore[dict-item]
    if not days:
        return pl.DataFrame({"period": [], **{f.name: [] for f in festivals}},
                            schema={"period": pl.Date, **{f.name: pl.Float64 for f in festivals}})
    years = range(days[0].year - 1, days[-1].year + 2)
    for festival in festivals:
        windows = festival.windows(years)
        shares = []
        for start in days:
            end = period_end(start, freq)  # exclusive
            inside = 0
            for _, first, last in windows:
                overlap = (min(end, last + dt.timedelta(days=1)) - max(start, first)).days
                inside += max(overlap, 0)
            shares.append(inside / (end - start).days)
        columns[festival.name] = shares
    return pl.DataFrame(columns, schema={"period": pl.Date, **{f.name: pl.Float64 for f in festivals}})
