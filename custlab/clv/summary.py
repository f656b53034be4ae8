"""CLV summaries: frequency, recency, T and mean repeat spend per customer, and the calibration/holdout split.

Definitions
-----------
A *purchase* is a day on which the customer ordered (several orders or lines
on one day are one purchase, as in the papers and in lifetimes). For a
customer first seen on day ``d0``:

- ``frequency`` (x): repeat purchases, i.e. purchase days after the first;
- ``recency`` (t_x): time from the first to the last purchase;
- ``T``: time from the first purchase to the end of the observation period;
- ``monetary_value``: mean spend of the repeat purchases (the first purchase
  is left out, as the Gamma-Gamma model asks), 0 without repeat purchases.

Dates follow custlab's one convention (:mod:`custlab._dates`): ``as_of`` is
the first instant that is *not* history, so the summary sees
``order_date < as_of``. The papers (and lifetimes) count time to "the last day
included"; that day is ``custlab._dates.last_day_included(as_of)``, the day
before ``as_of`` when ``as_of`` is a midnight. The CDNOW calibration period of
Fader, Hardie & Lee (2005), "up to 1997-09-30 included", is ``as_of="1997-10-01"``.
``calibration_end`` and ``observation_end`` mean the same: the first instant
outside the period.

Times are in the unit ``freq``: days (``"D"`` or ``"1d"``), weeks of 7 days
(``"W"``, ``"1w"``), months of 30.4375 days (``"M"``, ``"1mo"``, a 365.25-day
year over 12) or quarters of 91.3125 days (``"Q"``, ``"1q"``). With
``grain="period"`` instead, a purchase is a calendar period with at least one
order (weeks start on Monday, months and quarters are calendar ones) and times
are whole numbers of periods: lifetimes' ``summary_data_from_transaction_data(freq="W")``
convention, extended to calendar months and quarters (where lifetimes fails).

Customers with identical (frequency, recency, T) are one *pattern*: the models
are fitted and evaluated once per pattern.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import polars as pl

from custlab._dates import as_datetime, as_of_after, check_freq, last_day_included
from custlab._grouping import dense_ids, largest_per_id, pair_groups, smallest_per_id
from custlab._money import from_micros, micros
from custlab._types import DateLike, Frame
from custlab.data.schema import check_frame, require_columns
from custlab.exceptions import CustlabError, CustlabWarning, EmptyDataError, SchemaError

__all__ = ["CLVWarning", "Freq", "Grain", "MONTH_DAYS", "NAIVE_MIN_SPAN_DAYS", "UNIT_DAYS", "calibration_holdout",
           "clv_summary", "freq_unit", "naive_rate"]

Freq = Literal["D", "W", "M", "Q", "1d", "1w", "1mo", "1q"]
Grain = Literal["day", "period"]

#: Length of one time unit in days, for ``grain="day"``.
UNIT_DAYS: dict[str, float] = {"D": 1.0, "W": 7.0, "M": 365.25 / 12, "Q": 365.25 / 4}
#: The naive rate of repeat purchases is measured over at least this many days (13 weeks): a customer of six days
#: with one repeat order is not expected to order once a week for a year (Online Retail: 72,602 GBP for 2 orders).
NAIVE_MIN_SPAN_DAYS = 91.0
#: Days in the month used by CLV horizons and discounting (365.25 / 12).
MONTH_DAYS = 365.25 / 12

_UNIT_OF = {"1d": "D", "1w": "W", "1mo": "M", "1q": "Q"}


class CLVWarning(CustlabWarning):
    """A model assumption looks doubtful on these data (results are still returned)."""


def freq_unit(freq: str) -> str:
    """The time unit of ``freq`` as one letter: "D", "W", "M" or "Q" ("1w", "week", "W" all give "W").

    >>> freq_unit("1mo"), freq_unit("W"), freq_unit("day")
    ('M', 'W', 'D')
    """
    if isinstance(freq, str) and freq in UNIT_DAYS:
        return freq
    return _UNIT_OF[check_freq(freq, allowed=tuple(_UNIT_OF))]


def naive_rate(x: np.ndarray, T: np.ndarray, freq: str) -> np.ndarray:
    """Each customer's past rate of repeat purchases per model unit: frequency / T, with T at least 13 weeks.

    The naive baseline of the holdout check and the historical CLV formula both use it. A customer younger than
    :data:`NAIVE_MIN_SPAN_DAYS` is taken as observed over that span (her repeat purchases so far spread over 13
    weeks), so a few early repeats are not extrapolated to dozens a year; a customer of T 0 and no repeat is 0.

    >>> naive_rate(np.array([1.0, 1.0, 0.0, 4.0]), np.array([1.0, 13.0, 0.0, 52.0]), "W").round(4).tolist()
    [0.0769, 0.0769, 0.0, 0.0769]
    """
    span = np.maximum(np.asarray(T, dtype=np.float64), NAIVE_MIN_SPAN_DAYS / UNIT_DAYS[freq_unit(freq)])
    return np.asarray(x, dtype=np.float64) / span


def _grain(grain: str) -> str:
    if grain not in ("day", "period"):
        raise CustlabError(f"grain must be 'day' or 'period', got {grain!r}.")
    return grain


def _end_instant(value: DateLike | None, argument: str, last: dt.datetime) -> dt.datetime:
    """An end argument (first instant outside the period) as a datetime; None means the midnight after ``last``."""
    return as_of_after(last) if value is None else as_datetime(value, argument)


def _show(instant: dt.datetime) -> str:
    return instant.date().isoformat() if instant.time() == dt.time() else instant.isoformat(sep=" ")


def _split_ends(calibration_end: DateLike, observation_end: DateLike | None, first: dt.datetime, last: dt.datetime,
                *, caller: str = "") -> tuple[dt.datetime, dt.datetime]:
    """The calibration and observation ends of a split of orders dated ``first`` to ``last``, checked.

    ``caller`` (e.g. "custlab.clv.calibration_holdout") starts the error messages when given.
    """
    cal_end = as_datetime(calibration_end, "calibration_end")
    obs_end = _end_instant(observation_end, "observation_end", last)
    where = f"{caller}: " if caller else ""
    if cal_end <= first:
        raise EmptyDataError(
            f"{where}calibration_end={_show(cal_end)} is not after the first order ({_show(first)}); "
            f"the calibration period (order_date < calibration_end) holds no customer."
        )
    if obs_end <= cal_end:
        raise CustlabError(
            f"{where}observation_end={_show(obs_end)} must be after calibration_end={_show(cal_end)}; "
            f"the holdout period would be empty."
        )
    return cal_end, obs_end


def _transactions(transactions: Frame, purpose: str) -> tuple[pl.LazyFrame, dt.datetime, dt.datetime]:
    """Check the columns a CLV summary needs; return the lazy frame and the first and last order instants.

    The frame returned has ``customer_id``, ``at`` (the order instant, Datetime), ``day`` (Date) and
    ``amount`` (Float64).
    """
    check_frame(transactions, argument="transactions")
    require_columns(transactions, ["customer_id", "order_date", "amount"], purpose=purpose)
    lf = transactions.lazy()
    schema = lf.collect_schema()
    if not isinstance(schema["order_date"], (pl.Datetime, pl.Date)):
        raise SchemaError(
            f"Column 'order_date' must hold dates but has dtype {schema['order_date']}; "
            f"read the data with custlab.read_transactions or pass it through custlab.validate first."
        )
    if not schema["amount"].is_numeric():
        raise SchemaError(
            f"Column 'amount' must be numeric but has dtype {schema['amount']}; pass the data through custlab.validate first."
        )
    at = pl.col("order_date").cast(pl.Datetime("us"))
    stats_ = lf.select(
        rows=pl.len(),
        first=at.min(),
        last=at.max(),
        null_customer=pl.col("customer_id").null_count(),
        null_date=pl.col("order_date").null_count(),
        null_amount=pl.col("amount").null_count() + pl.col("amount").cast(pl.Float64).is_nan().sum(),
    ).collect().row(0, named=True)
    _refuse_missing(stats_)
    lf = lf.select("customer_id", at=at, day=at.cast(pl.Date), amount=pl.col("amount").cast(pl.Float64))
    return lf, stats_["first"].replace(tzinfo=None), stats_["last"].replace(tzinfo=None)


def _refuse_missing(stats: dict, *, caller: str = "",
                    remedy: str = "custlab.clean_transactions(transactions, rules=('missing_customer', 'missing_value')) "
                                  "and keep its report") -> None:
    """Refuse an empty table or missing ids, dates or amounts, from counts ``rows``, ``null_customer``,
    ``null_date`` and ``null_amount``; ``caller`` starts the message when given, ``remedy`` ends it."""
    where = f"{caller}: " if caller else ""
    if stats["rows"] == 0:
        raise EmptyDataError(f"{where}The transactions table is empty (0 rows); there is nothing to summarise.")
    for column, key in (("customer_id", "null_customer"), ("order_date", "null_date"), ("amount", "null_amount")):
        if stats[key]:
            raise CustlabError(
                f"{where}Column '{column}' has {stats[key]:,} missing value(s) out of {stats['rows']:,} rows; a CLV "
                f"summary cannot place them. Remove them with {remedy}."
            )


def _occasion(freq: str, grain: str) -> tuple[Callable[[pl.Expr], pl.Expr], Callable[[dt.date], int], float]:
    """How a day maps to an integer time index, and the index length in units of ``freq``."""
    if grain == "day" or freq == "D":
        return (lambda day: day.cast(pl.Int32)), (lambda d: (d - dt.date(1970, 1, 1)).days), UNIT_DAYS[freq]
    if freq == "W":  # weeks starting on Monday; 1970-01-05 (day 4) was a Monday
        return ((lambda day: (day.cast(pl.Int32) - 4) // 7),
                (lambda d: ((d - dt.date(1970, 1, 1)).days - 4) // 7), 1.0)
    if freq == "M":
        return ((lambda day: day.dt.year().cast(pl.Int32) * 12 + day.dt.month().cast(pl.Int32) - 1),
                (lambda d: d.year * 12 + d.month - 1), 1.0)
    return ((lambda day: day.dt.year().cast(pl.Int32) * 4 + (day.dt.month().cast(pl.Int32) - 1) // 3),
            (lambda d: d.year * 4 + (d.month - 1) // 3), 1.0)


def _summary_lazy(lf: pl.LazyFrame, as_of: dt.datetime, freq: str, grain: str) -> pl.LazyFrame:
    to_index, index_of, unit = _occasion(freq, grain)
    end_index = index_of(last_day_included(as_of))
    # One pass: each order line knows its customer's first purchase occasion; the purchases are the
    # distinct occasions and the repeat spend is the amount outside the first one.
    lines = lf.filter(pl.col("at") < as_of).select(
        "customer_id", "amount", occasion=to_index(pl.col("day"))
    ).with_columns(first=pl.col("occasion").min().over("customer_id"))
    per_customer = lines.group_by("customer_id").agg(
        n=pl.col("occasion").n_unique(),
        first=pl.col("first").min(),
        last=pl.col("occasion").max(),
        repeat_spend=(micros() * (pl.col("occasion") != pl.col("first"))).sum(),
    ).with_columns(repeat_spend=from_micros(pl.col("repeat_spend")))
    return _summary_columns(per_customer, end_index, unit)


def _summary_columns(per_customer: pl.LazyFrame, end_index: int, unit: float) -> pl.LazyFrame:
    """The summary from per-customer ``n`` (purchases), ``first``/``last`` (time indices) and ``repeat_spend``.

    Shared with :mod:`custlab.engine`, which computes those four on another engine.
    """
    frequency = pl.col("n").cast(pl.Int64) - 1
    return per_customer.select(
        "customer_id",
        frequency=frequency,
        recency=(pl.col("last") - pl.col("first")).cast(pl.Float64) / unit,
        T=(pl.lit(end_index, dtype=pl.Int32) - pl.col("first")).cast(pl.Float64) / unit,
        monetary_value=pl.when(frequency > 0).then(pl.col("repeat_spend") / frequency).otherwise(0.0),
    ).sort("customer_id")


def clv_summary(
    transactions: Frame,
    *,
    as_of: DateLike | None = None,
    freq: Freq = "W",
    grain: Grain = "day",
) -> pl.DataFrame:
    """Frequency, recency, T and mean repeat spend per customer (the models' sufficient statistics).

    Parameters
    ----------
    transactions
        Canonical transactions (DataFrame or LazyFrame) with ``customer_id``,
        ``order_date`` (Datetime or Date) and ``amount`` (numeric). Use clean
        data (:func:`custlab.clean_transactions`): returns and cancellations
        would count as purchases here. Missing values raise.
    as_of
        The first instant that is not history (custlab's convention, see
        :mod:`custlab._dates`): orders with ``order_date < as_of`` are used and
        ``T`` runs to the last day before it (the papers' "last day included",
        :func:`custlab._dates.last_day_included`). Default: the midnight after
        the last order. The CDNOW calibration period, 1997-01-01 to
        1997-09-30 included, is ``as_of="1997-10-01"``.
    freq
        Time unit of ``recency`` and ``T``: ``"D"``/``"1d"`` days,
        ``"W"``/``"1w"`` weeks, ``"M"``/``"1mo"`` months of 30.4375 days,
        ``"Q"``/``"1q"`` quarters of 91.3125 days.
    grain
        ``"day"`` (default): a purchase is a day with orders; times are exact
        (days divided by the unit length). ``"period"``: a purchase is a
        calendar period with orders (weeks from Monday, calendar months,
        quarters) and times are whole periods, lifetimes' convention.

    Returns
    -------
    pl.DataFrame
        One row per customer with an order before ``as_of``, sorted by
        ``customer_id`` (its input dtype): ``frequency`` (Int64, repeat
        purchases), ``recency`` (Float64), ``T`` (Float64),
        ``monetary_value`` (Float64, mean spend per repeat purchase, 0 when
        frequency is 0).

    Raises
    ------
    SchemaError
        A column is missing or has the wrong dtype.
    CustlabError
        Missing values, a bad ``freq``/``grain``/``as_of``.
    EmptyDataError
        No order before ``as_of``.

    Examples
    --------
    >>> import datetime as dt
    >>> tx = pl.DataFrame({
    ...     "customer_id": [1, 1, 1, 2],
    ...     "order_date": [dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 1, 18), dt.datetime(2024, 1, 15),
    ...                    dt.datetime(2024, 1, 8)],
    ...     "amount": [10.0, 5.0, 20.0, 7.0]})
    >>> clv_summary(tx, as_of="2024-01-30", freq="W")
    shape: (2, 5)
    ┌─────────────┬───────────┬─────────┬─────┬────────────────┐
    │ customer_id ┆ frequency ┆ recency ┆ T   ┆ monetary_value │
    │ ---         ┆ ---       ┆ ---     ┆ --- ┆ ---            │
    │ i64         ┆ i64       ┆ f64     ┆ f64 ┆ f64            │
    ╞═════════════╪═══════════╪═════════╪═════╪════════════════╡
    │ 1           ┆ 1         ┆ 2.0     ┆ 4.0 ┆ 20.0           │
    │ 2           ┆ 0         ┆ 0.0     ┆ 3.0 ┆ 0.0            │
    └─────────────┴───────────┴─────────┴─────┴────────────────┘
    """
    if not isinstance(transactions, (pl.DataFrame, pl.LazyFrame)):
        from custlab import engine as pushdown  # DuckDB, Spark...: aggregate where the data live

        if pushdown.accepts(transactions):
            return pushdown.clv_summary(transactions, as_of=as_of, freq=freq, grain=grain)
    freq, grain = freq_unit(freq), _grain(grain)
    fast = _summary_one_pass(transactions, as_of, freq, grain)
    if fast is not None:
        return fast
    lf, first, last = _transactions(transactions, "for a CLV summary")
    end = _end_instant(as_of, "as_of", last)
    if end <= first:
        raise EmptyDataError(
            f"as_of={_show(end)} is not after the first order ({_show(first)}); no customer to summarise "
            f"(history is order_date < as_of)."
        )
    return _summary_lazy(lf, end, freq, grain).collect()


def _summary_one_pass(transactions: Frame, as_of: DateLike | None, freq: str, grain: str) -> pl.DataFrame | None:
    """The summary in one pass over the lines, or None when the lines need the checked path.

    The lines are grouped by (customer, purchase occasion) and those groups by customer, on the
    streaming engine; the checks of :func:`_transactions` ride along instead of costing a pass of
    their own: a missing date keeps its line (its occasion is counted), a missing amount becomes
    NaN, and a missing customer is a group of its own. Any of those, an empty result or a sum that
    is not finite returns None, and :func:`clv_summary` then takes the checked path, which refuses
    them with its counts (or, for infinite amounts, computes as before). Spend is added in whole
    millionths (:mod:`custlab._money`), so the result does not depend on the order in which the
    engine meets the lines; a customer whose spend passes 9e9 currency units also takes the
    checked path. With ``as_of`` left out, ``T`` runs to the last occasion seen, the day of the
    last order.
    """
    if not isinstance(transactions, (pl.DataFrame, pl.LazyFrame)):
        return None
    schema = transactions.collect_schema()
    if any(c not in schema for c in ("customer_id", "order_date", "amount")) \
            or not isinstance(schema["order_date"], (pl.Datetime, pl.Date)) or not schema["amount"].is_numeric():
        return None  # the checked path names the problem
    to_index, index_of, unit = _occasion(freq, grain)
    at = pl.col("order_date").cast(pl.Datetime("us"))
    lines = transactions.lazy()
    if as_of is not None:
        end = as_datetime(as_of, "as_of")
        lines = lines.filter((at < end) | at.is_null())
    # Occasions are day numbers since 1970 (or week, month, quarter numbers): 2**17 of them from 1791 to 2149.
    occasions = pair_groups(lines, "customer_id", to_index(at.cast(pl.Date)).alias("occasion"),
                            [micros().fill_null(float("nan")).sum().alias("spend")], bits=17, offset=2**16)
    occasions = occasions.collect(engine="streaming")
    if occasions["occasion"].null_count():
        return None  # a line without a date
    per = _counted_per_customer(occasions)
    if per is None:
        per = occasions.lazy().group_by("customer_id").agg(
            n=pl.len(),
            first=pl.col("occasion").min(),
            last=pl.col("occasion").max(),
            repeat_spend=pl.col("spend").sum() - pl.col("spend").sort_by("occasion").first(),
            _size=pl.col("spend").abs().sum(),
        ).collect(engine="streaming")
    if per.height == 0 or per["customer_id"].null_count() or not (per["_size"] < 2.0**53).all():
        return None  # a refused line, or sums too large to be exact in millionths
    end_index = per["last"].max() if as_of is None else index_of(last_day_included(end))
    per = per.with_columns(repeat_spend=from_micros(pl.col("repeat_spend")))
    return _summary_columns(per.lazy(), end_index, unit).collect()


def _counted_per_customer(occasions: pl.DataFrame) -> pl.DataFrame | None:
    """:func:`_summary_one_pass`'s per-customer aggregates by numpy, when the ids can index a table.

    ``occasions`` has one row per (customer, occasion), none missing. Purchases and absolute spend are
    ``np.bincount``s, the first and last occasions ``np.minimum.at`` and ``np.maximum.at`` into tables indexed
    by id (:func:`custlab._grouping.dense_ids`), and the repeat spend is the ``np.bincount`` of the rows whose
    occasion is not their customer's first (a customer has one row per occasion). 2M rows: about 0.06 s, where
    the polars group-by with a sort per customer took 0.13-0.16 s. Spend is in whole millionths: below 2**53, as
    the caller checks, every sum is exact in any order, so the result has the bits of the group-by's. None
    (the caller groups with polars) for ids that cannot index a table.
    """
    dense = dense_ids(occasions["customer_id"])
    if dense is None:
        return None
    ids, size = dense
    occasion, spend = occasions["occasion"].to_numpy(), occasions["spend"].to_numpy(writable=True)
    n = np.bincount(ids, minlength=size)
    present = np.flatnonzero(n)
    first, last = smallest_per_id(ids, occasion, size), largest_per_id(ids, occasion, size)
    absolute = np.bincount(ids, weights=np.abs(spend) if spend.min() < 0 else spend, minlength=size)[present]
    # the spend of the other occasions: exactly the total less the first's (whole millionths below 2**53); the
    # first occasions' spend is zeroed in place (a copy of polars' column), not in a new array
    spend[occasion == first[ids]] = 0.0
    return pl.DataFrame({
        "customer_id": pl.Series(present).cast(occasions.schema["customer_id"]).set_sorted(),  # ids in order
        "n": n[present],
        "first": first[present],
        "last": last[present],
        "repeat_spend": np.bincount(ids, weights=spend, minlength=size)[present],
        "_size": absolute,
    })


def calibration_holdout(
    transactions: Frame,
    *,
    calibration_end: DateLike,
    observation_end: DateLike | None = None,
    freq: Freq = "W",
    grain: Grain = "day",
) -> pl.DataFrame:
    """Calibration summary plus each customer's actual purchases and spend in the holdout period.

    The calibration period is ``order_date < calibration_end`` and the
    holdout ``calibration_end <= order_date < observation_end``: both ends
    are, like ``as_of``, the first instant outside the period
    (:mod:`custlab._dates`). The cohort is the customers with an order in
    the calibration period (customers first seen in the holdout are not part
    of it: a model fitted on the calibration period says nothing about them).

    Parameters
    ----------
    transactions
        Canonical transactions with ``customer_id``, ``order_date``, ``amount``.
    calibration_end
        First instant of the holdout (the calibration's ``as_of``).
    observation_end
        First instant after the holdout; default the midnight after the last order.
    freq, grain
        Time unit and purchase grain, as in :func:`clv_summary`.

    Returns
    -------
    pl.DataFrame
        The :func:`clv_summary` columns for the calibration period
        (``customer_id``, ``frequency``, ``recency``, ``T``,
        ``monetary_value``; the frame can be passed to ``fit`` directly),
        then ``holdout_purchases`` (Int64, purchase days, or periods, in the
        holdout), ``holdout_spend`` (Float64, total amount in the holdout)
        and ``holdout_duration`` (Float64, length of the holdout in units of
        ``freq``).

    Examples
    --------
    >>> import datetime as dt
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 1, 2, 3],
    ...     "order_date": [dt.date(2024, 1, 1), dt.date(2024, 1, 8), dt.date(2024, 2, 5),
    ...                    dt.date(2024, 1, 3), dt.date(2024, 2, 1)],
    ...     "amount": [10.0, 20.0, 30.0, 5.0, 8.0]})
    >>> split = calibration_holdout(tx, calibration_end="2024-01-15", observation_end="2024-02-12", freq="W")
    >>> split.select("customer_id", "frequency", "T", "holdout_purchases", "holdout_spend", "holdout_duration")
    shape: (2, 6)
    ┌─────────────┬───────────┬──────────┬───────────────────┬───────────────┬──────────────────┐
    │ customer_id ┆ frequency ┆ T        ┆ holdout_purchases ┆ holdout_spend ┆ holdout_duration │
    │ ---         ┆ ---       ┆ ---      ┆ ---               ┆ ---           ┆ ---              │
    │ i64         ┆ i64       ┆ f64      ┆ i64               ┆ f64           ┆ f64              │
    ╞═════════════╪═══════════╪══════════╪═══════════════════╪═══════════════╪══════════════════╡
    │ 1           ┆ 1         ┆ 1.857143 ┆ 1                 ┆ 30.0          ┆ 4.0              │
    │ 2           ┆ 0         ┆ 1.571429 ┆ 0                 ┆ 0.0           ┆ 4.0              │
    └─────────────┴───────────┴──────────┴───────────────────┴───────────────┴──────────────────┘
    """
    if not isinstance(transactions, (pl.DataFrame, pl.LazyFrame)):
        from custlab import engine as pushdown  # DuckDB, Spark...: aggregate where the data live

        if pushdown.accepts(transactions):
            return pushdown.calibration_holdout(transactions, calibration_end=calibration_end, observation_end=observation_end,
                                                freq=freq, grain=grain)
    freq, grain = freq_unit(freq), _grain(grain)
    lf, first, last = _transactions(transactions, "for a calibration/holdout split")
    cal_end, obs_end = _split_ends(calibration_end, observation_end, first, last)
    to_index, index_of, unit = _occasion(freq, grain)
    calibration = _summary_lazy(lf, cal_end, freq, grain)
    holdout = (
        lf.filter((pl.col("at") >= cal_end) & (pl.col("at") < obs_end))
        .group_by("customer_id")
        .agg(holdout_purchases=to_index(pl.col("day")).n_unique().cast(pl.Int64), holdout_spend=pl.col("amount").sum())
    )
    duration = (index_of(last_day_included(obs_end)) - index_of(last_day_included(cal_end))) / unit
    return (
        calibration.join(holdout, on="customer_id", how="left", maintain_order="left")
        .with_columns(
            pl.col("holdout_purchases").fill_null(0),
            pl.col("holdout_spend").fill_null(0.0),
            holdout_duration=pl.lit(float(duration)),
        )
        .collect()
    )


def _summary_arrays(summary: Frame, *, argument: str = "summary") -> pl.DataFrame:
    """Check a frequency/recency/T summary and return it as a DataFrame."""
    check_frame(summary, argument=argument)
    frame = summary.collect() if isinstance(summary, pl.LazyFrame) else summary
    missing = [c for c in ("frequency", "recency", "T") if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"The {argument} lacks column(s) {missing}; columns present: {frame.columns}. "
            f"Build it with custlab.clv.clv_summary(transactions) or calibration_holdout(...)."
        )
    if frame.height == 0:
        raise EmptyDataError(f"The {argument} has no customers; there is nothing to fit or predict.")
    x, tx, T = (pl.col(c).cast(pl.Float64) for c in ("frequency", "recency", "T"))
    checks = {
        "missing, NaN or infinite frequency, recency or T": ~(x.is_finite() & tx.is_finite() & T.is_finite()).fill_null(False),
        "frequency negative or not a whole number": (x < 0) | (x != x.floor()),
        "recency negative": tx < 0,
        "recency greater than T": tx > T,
        "recency not 0 where frequency is 0": (x == 0) & (tx != 0),
    }
    counts = frame.select(**{name: cond.sum() for name, cond in checks.items()}).row(0, named=True)
    for name, n_bad in counts.items():
        if n_bad:
            example = frame.filter(checks[name]).head(3).select("frequency", "recency", "T").to_dicts()
            raise CustlabError(
                f"The {argument} has {n_bad:,} row(s) with {name}, e.g. {example}. "
                f"Build it with custlab.clv.clv_summary, which guarantees 0 <= recency <= T."
            )
    return frame


def _patterns(frame: pl.DataFrame, keys: Sequence[str] = ("frequency", "recency", "T")) -> tuple[np.ndarray, ...]:
    """Distinct patterns of ``keys`` with the number of customers in each (sorted, deterministic).

    A frame that is already a pattern table (a ``weight`` column: customers per row, as
    :func:`custlab.engine.clv_patterns` returns) adds up its weights.
    """
    grouped = (
        frame.group_by([pl.col(k).cast(pl.Float64) for k in keys])
        .agg(weight=pl.col("weight").sum() if "weight" in frame.columns else pl.len())
        .sort(list(keys))
    )
    return tuple(grouped[k].to_numpy() for k in keys) + (grouped["weight"].cast(pl.Float64).to_numpy(),)


def _per_pattern(
    frame: pl.DataFrame,
    compute: Callable[..., dict[str, np.ndarray]],
    keys: Sequence[str] = ("frequency", "recency", "T"),
) -> pl.DataFrame:
    """Apply ``compute(*key_arrays)`` once per distinct pattern of ``keys`` and attach the results to every row."""
    tmp = [f"_key{i}" for i in range(len(keys))]
    keyed = frame.with_columns(**{t: pl.col(k).cast(pl.Float64) for t, k in zip(tmp, keys, strict=True)})
    patterns = keyed.select(tmp).unique()
    values = compute(*(patterns[t].to_numpy() for t in tmp))
    patterns = patterns.with_columns(**{name: pl.Series(v, dtype=pl.Float64) for name, v in values.items()})
    return keyed.join(patterns, on=tmp, how="left", maintain_order="left").drop(tmp)
