"""Checks and casts for the tables the reviews package reads, and small statistics they share.

The data contract (:mod:`custlab.data.schema`) has ``reviews`` with
``customer_id``, ``review_date``, ``rating`` and optional ``order_id``,
``product_id``, ``text``. This package also reads, when present:

* ``reviews.nps_score`` and ``surveys`` (``customer_id``, ``survey_date``,
  ``nps_score``; optional ``order_id``, ``channel``): "How likely are you to
  recommend us?" on 0-10;
* ``reviews.recommended``: a yes/no "would you recommend it?" answer
  (0/1 or Boolean);
* orders' ``delivered_date`` and ``promised_date`` (on ``orders`` or on the
  transactions' lines), for logistics attribution.

Every check names the column, shows bad values with their count and says
what to do (:class:`~custlab.exceptions.SchemaError`,
:class:`~custlab.exceptions.ParseError`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import polars as pl

from custlab._types import Frame
from custlab.data.schema import check_frame, validate
from custlab.exceptions import CustlabError, CustlabWarning, EmptyDataError, ParseError, SchemaError

__all__ = ["ReviewsWarning", "mean_interval", "orders_table", "reviews_table", "surveys_table", "wilson"]

_SAMPLE = 5


class ReviewsWarning(CustlabWarning):
    """Something in the reviews or a review model deserves a look (too few labels, a fallback, ...)."""


def _sample(values: pl.Series) -> list:
    return values.unique(maintain_order=True).head(_SAMPLE).to_list()


def _collect(frame: Frame, argument: str) -> pl.DataFrame:
    check_frame(frame, argument=argument)
    return frame.collect() if isinstance(frame, pl.LazyFrame) else frame


def _numbers(frame: pl.DataFrame, column: str, low: float, high: float, table: str, what: str,
             whole: bool = False) -> pl.DataFrame:
    """``column`` as Float64 within [low, high] (nulls allowed); bad values raise with a sample and count."""
    values = frame[column]
    if values.dtype == pl.Boolean:
        values = values.cast(pl.Float64)
    if values.dtype == pl.String:
        cast = values.str.strip_chars().cast(pl.Float64, strict=False)
        bad = values.filter(cast.is_null() & values.is_not_null() & (values.str.strip_chars() != ""))
        if bad.len():
            raise ParseError(f"Column '{column}' of {table} must hold {what}; {bad.len()} value(s) are not numbers, "
                             f"e.g. {_sample(bad)}. Clean them or map the right column with columns=.")
        values = cast
    elif not values.dtype.is_numeric():
        raise SchemaError(f"Column '{column}' of {table} must hold {what}, but has dtype {values.dtype}.")
    values = values.cast(pl.Float64)
    present = values.is_not_null()
    span = f"{low:g} to {high:g}"
    problems = []
    nan = values.filter(present & values.is_nan())
    if nan.len():
        problems.append(f"{nan.len()} value(s) are NaN (not a number)")
    outside = values.filter(present & ~values.is_nan() & ((values < low) | (values > high)))
    if outside.len():
        problems.append(f"{outside.len()} value(s) are outside {span}, e.g. {_sample(outside)}")
    fractions = values.filter(present & values.is_finite() & (values >= low) & (values <= high)
                              & (values.round(0) != values)) if whole else values.clear()
    if fractions.len():
        problems.append(f"{fractions.len()} value(s) are not whole numbers, e.g. {_sample(fractions)}")
    if problems:
        fixes = ["rescale values outside the scale"] if outside.len() else []
        if fractions.len():
            fixes.append(f"each answer is a whole number {span}: fractions come from averaging answers or from "
                         f"another scale, so use the answers themselves")
        fixes.append("set what cannot be fixed to null")
        whole_text = f"whole numbers {span}" if whole else f"numbers {span}"
        raise ParseError(f"Column '{column}' of {table} must hold {what} ({whole_text}); {'; '.join(problems)}. "
                         f"{'; '.join(fixes).capitalize()}.")
    return frame.with_columns(values.alias(column))


def reviews_table(reviews: Frame, *, need: Iterable[str] = (), argument: str = "reviews",
                  columns: dict[str, str] | None = None) -> pl.DataFrame:
    """The reviews as a DataFrame, checked: ``rating`` 1-5, ``nps_score`` 0-10, ``recommended`` 0/1, ``text`` String.

    ``need`` lists the columns the caller cannot do without (beyond none); a
    missing one raises :class:`SchemaError` naming it and the columns
    present. ``customer_id`` and ``review_date`` go through the data
    contract's :func:`~custlab.data.validate` when present.

    >>> reviews_table(pl.DataFrame({"rating": [5, 1], "text": ["good", None]}), need=["text"]).dtypes
    [Float64, String]
    """
    frame = _collect(reviews, argument)
    if columns:
        frame = frame.rename({k: v for k, v in columns.items() if k in frame.columns})
    missing = [c for c in need if c not in frame.columns]
    if missing:
        hints = {"text": "a column of review text (pass columns={'your_column': 'text'})",
                 "rating": "star ratings 1-5", "review_date": "the review's date",
                 "customer_id": "the reviewer's customer id", "nps_score": "0-10 survey scores",
                 "recommended": "a yes/no 'would recommend' answer"}
        raise SchemaError(f"{argument} lacks column(s) {missing} "
                          f"({'; '.join(hints.get(c, c) for c in missing)}); it has {frame.columns}.")
    if frame.height == 0:
        raise EmptyDataError(f"{argument} has no rows; there is nothing to analyse.")
    if {"customer_id", "review_date", "rating"} <= set(frame.columns):
        frame = validate(frame, "reviews")
    if "rating" in frame.columns:
        frame = _numbers(frame, "rating", 1, 5, argument, "star ratings from 1 to 5")
    if "nps_score" in frame.columns:
        frame = _numbers(frame, "nps_score", 0, 10, argument, "0-10 recommendation scores", whole=True)
    if "recommended" in frame.columns:
        frame = _numbers(frame, "recommended", 0, 1, argument, "yes/no answers as 1/0 or true/false", whole=True)
    if "text" in frame.columns and frame.schema["text"] != pl.String:
        if frame.schema["text"] not in (pl.Categorical, pl.Null) and not isinstance(frame.schema["text"], pl.Enum):
            raise SchemaError(f"Column 'text' of {argument} must hold text, but has dtype {frame.schema['text']}.")
        frame = frame.with_columns(pl.col("text").cast(pl.String))
    return frame


def surveys_table(surveys: Frame, *, argument: str = "surveys") -> pl.DataFrame:
    """NPS survey answers checked: ``customer_id``, ``survey_date`` (Datetime), ``nps_score`` (0-10 whole numbers)."""
    frame = _collect(surveys, argument)
    missing = [c for c in ("nps_score",) if c not in frame.columns]
    if missing:
        raise SchemaError(f"{argument} lacks column 'nps_score' (0-10 answers to 'how likely are you to recommend "
                          f"us?'); it has {frame.columns}. Pass columns={{'your_column': 'nps_score'}}.")
    if frame.height == 0:
        raise EmptyDataError(f"{argument} has no rows; there is nothing to analyse.")
    frame = validate(frame, "surveys")  # the data contract reads survey_date, ids and channel
    return _numbers(frame, "nps_score", 0, 10, argument, "0-10 recommendation scores", whole=True)


def orders_table(orders: Frame | None, transactions: Frame | None) -> pl.DataFrame | None:
    """One row per order with ``order_id``, ``delivered_date``, ``promised_date`` (Datetime) and ``late`` (Boolean).

    Read from ``orders`` (one row per order) when given, else from the
    transactions' lines (the first value per order). An order is **late**
    when it was delivered on a later calendar day than promised (a promised
    date usually has no time of day); ``late`` is null when either date is
    missing (not delivered yet). Returns None when neither source has both
    columns.
    """
    need = {"order_id", "delivered_date", "promised_date"}
    source = None
    for frame, name in ((orders, "orders"), (transactions, "transactions")):
        if frame is None:
            continue
        names = _collect(frame, name).columns if isinstance(frame, pl.DataFrame) else frame.collect_schema().names()
        if need <= set(names):
            source = (frame, name)
            break
        if name == "orders":
            raise SchemaError(f"orders lacks column(s) {sorted(need - set(names))} (the order's delivery and "
                              f"promised delivery dates); it has {names}.")
    if source is None:
        return None
    frame, name = source
    keep = ["order_id", "delivered_date", "promised_date"] + [
        c for c in ("customer_id", "order_date", "region") if c in frame.collect_schema().names()]
    table = frame.lazy().select(keep).group_by("order_id").agg(pl.all().first()).collect()
    table = validate(table, "orders")  # the data contract parses the dates (one reader for every table)
    for col in ("delivered_date", "promised_date"):
        if not isinstance(table.schema[col], pl.Datetime):
            raise SchemaError(f"Column '{col}' of {name} must hold dates, but has dtype {table.schema[col]}.")
    late = pl.col("delivered_date").dt.date() > pl.col("promised_date").dt.date()
    return table.with_columns(
        late=late,
        days_late=(pl.col("delivered_date").dt.date() - pl.col("promised_date").dt.date()).dt.total_days(),
    )


def wilson(successes: np.ndarray | float, n: np.ndarray | float, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a proportion (``lower``, ``upper``); NaN where ``n`` is 0.

    >>> [round(float(v), 4) for v in wilson(8, 10)]
    [0.4902, 0.9433]
    """
    from scipy import stats  # lazily: scipy.stats costs ~1 s to import
    k = np.asarray(successes, dtype=float)
    n = np.asarray(n, dtype=float)
    z = stats.norm.ppf(0.5 + level / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # exactly 0 at k = 0 and 1 at k = n (rounding would leave +-1e-18 there)
    lower = np.where(k <= 0, 0.0, np.clip(centre - half, 0.0, 1.0))
    upper = np.where(k >= n, 1.0, np.clip(centre + half, 0.0, 1.0))
    return np.where(n > 0, lower, np.nan), np.where(n > 0, upper, np.nan)


def mean_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and t interval of a sample (NaN bounds below two values)."""
    from scipy import stats  # lazily: scipy.stats costs ~1 s to import
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if x.size < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return mean, mean - half, mean + half


def check_level(level: float) -> float:
    if not isinstance(level, (int, float)) or not 0.5 <= float(level) < 1:
        raise CustlabError(f"level must be a confidence level between 0.5 and 1 (e.g. 0.95), got {level!r}.")
    return float(level)
