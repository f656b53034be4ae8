"""Helpers shared by the churn modules: checks, day numbers, the lifelines import, the data warning."""

from __future__ import annotations

import datetime as dt
import math
import warnings

import numpy as np
import polars as pl

from custlab._dates import parse_within
from custlab._types import Frame
from custlab.exceptions import CustlabError, CustlabWarning, EmptyDataError, SchemaError

__all__ = ["ChurnDataWarning", "MISSING", "OTHER"]

MISSING = "(missing)"
OTHER = "(other)"


class ChurnDataWarning(CustlabWarning):
    """Rows or covariates were left out of a churn analysis; the message counts them."""


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------


def _import_lifelines() -> None:
    """Import lifelines and the scipy modules it loads, without leaving their warning filters behind.

    scipy adds process-wide warning filters when some of its modules are first
    imported (``scipy.sparse``, ``scipy.special``); importing them inside
    ``catch_warnings`` keeps the caller's filters as they were.
    """
    with warnings.catch_warnings():
        import lifelines  # noqa: F401
        import lifelines.exceptions  # noqa: F401
        import lifelines.statistics  # noqa: F401
        import lifelines.utils  # noqa: F401
        import scipy.stats  # noqa: F401


def _concordance_or_none(compute) -> float | None:
    """A concordance index, or None when lifelines finds no pair of customers it can order."""
    try:
        return float(compute())
    except ZeroDivisionError:
        return None


def _check_days(value: object, name: str, *, allow_zero: bool = False) -> int:
    """A whole number of days: an int, or a window such as "90d" or a timedelta (see :func:`parse_within`)."""
    if isinstance(value, (str, dt.timedelta)):
        days = parse_within(value, name) / dt.timedelta(days=1)
        if not float(days).is_integer():
            raise CustlabError(f"{name} must be whole days (such as '90d' or 90), got {value!r}.")
        return int(days)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer, float)) or (
        isinstance(value, float) and not value.is_integer()
    ):
        raise CustlabError(f"{name} must be a whole number of days, got {value!r}.")
    days = int(value)
    if days < 0 or (days == 0 and not allow_zero):
        need = "0 or more" if allow_zero else "positive"
        raise CustlabError(
            f"{name} must be {need} (a number of days), got {value!r}. "
            + ("Churn is W days without a purchase; try 90." if name == "inactivity_days" else "")
        )
    return days


def _day_number(expr: pl.Expr) -> pl.Expr:
    """Calendar day of a Datetime/Date expression as days since 1970-01-01 (Int64)."""
    return expr.dt.date().cast(pl.Int32).cast(pl.Int64)


def _from_day_number(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.Int32).cast(pl.Date)


def _fmt(value: dt.datetime) -> str:
    return f"{value:%Y-%m-%d}" if value.time() == dt.time() else f"{value:%Y-%m-%d %H:%M:%S}"


def _collect(frame: Frame) -> pl.DataFrame:
    return frame.collect() if isinstance(frame, pl.LazyFrame) else frame

def _finite(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _check_survival_columns(data: pl.DataFrame, duration: str, event: str) -> pl.DataFrame:
    """Check the duration and event columns; return ``data`` with the event as Boolean."""
    if data.height == 0:
        raise EmptyDataError("The survival frame has no rows; there is nothing to analyse.")
    if not _numeric(data.schema[duration]):
        raise SchemaError(f"Column {duration!r} must hold numbers of days, got dtype {data.schema[duration]}.")
    kind = data.schema[event]
    if kind != pl.Boolean:
        if not _numeric(kind):
            raise SchemaError(f"Column {event!r} must be Boolean (or 0/1), got dtype {kind}.")
        bad = data.filter(pl.col(event).is_not_null() & ~pl.col(event).is_in([0, 1]))
        if bad.height:
            raise SchemaError(
                f"Column {event!r} must be Boolean (or 0/1); {bad.height:,} value(s) are neither, "
                f"e.g. {bad[event].unique().head(3).to_list()}."
            )
        data = data.with_columns(pl.col(event).cast(pl.Boolean))
    nulls = data.select(pl.col(duration).is_null().sum() + pl.col(event).is_null().sum()).item()
    negative = data.select((pl.col(duration) < 0).sum()).item()
    if nulls or negative:
        raise CustlabError(
            f"The survival frame has {nulls:,} null and {negative:,} negative values in {duration!r}/{event!r}; "
            f"durations must be known and non-negative. Build the frame with survival_frame()."
        )
    return data
def _numeric(dtype: pl.DataType) -> bool:
    return dtype.is_numeric() and dtype != pl.Boolean



def _check_per_customer(frame: pl.DataFrame, argument: str, column: str, *, rule: str,
                        upper: float | None = None) -> pl.Series:
    """``frame[column]`` as Float64 after checking: numbers, finite, 0 or more (at most ``upper``), one row per customer.

    ``rule`` words the condition for the message ("a probability in [0, 1]").
    """
    if not _numeric(frame.schema[column]):
        raise SchemaError(f"{argument}[{column!r}] must be {rule} for every customer, got dtype {frame.schema[column]}.")
    values = frame[column].cast(pl.Float64)
    bad = values.is_null() | values.is_nan() | values.is_infinite() | (values < 0)
    if upper is not None:
        bad = bad | (values > upper)
    if bad.any():
        raise CustlabError(
            f"{argument}[{column!r}] must be {rule} for every customer; {int(bad.sum()):,} value(s) are not, "
            f"e.g. {frame[column].filter(bad).head(3).to_list()}. Fix or filter them first."
        )
    dup = int(frame["customer_id"].is_duplicated().sum())
    if dup:
        raise SchemaError(f"{argument} must have one row per customer; {dup:,} rows repeat a customer_id.")
    return values
