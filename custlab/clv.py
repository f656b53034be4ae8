"""Customer lifetime value: BG/NBD, MBG/NBD, Pareto/NBD and Gamma-Gamma, validated on a holdout.

The probabilistic models of repeat buying in non-contractual settings:

- purchases: BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the
  easy way"), MBG/NBD (Batislam, Denizel & Filiztekin 2007) and Pareto/NBD
  (Schmittlein, Morrison & Colombo 1987), fitted by :class:`BetaGeo`,
  :class:`ModifiedBetaGeo` and :class:`ParetoNBD`;
- spend per purchase: Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV:
  using iso-value curves"), fitted by :class:`GammaGamma`.

Workflow::

    summary = clv_summary(transactions, as_of="2011-12-09", freq="W")
    bgf = BetaGeo(freq="W").fit(summary)
    ggf = GammaGamma().fit(summary)
    clv = predict_clv(summary, bgf, ggf, months=12, annual_discount_rate=0.10)

and, to check the model before trusting it, :func:`calibration_holdout`
with :func:`holdout_errors`, :func:`tracking`, :func:`calibration_histogram`,
:func:`decile_lift` and :func:`compare_models`. Plots are in
:mod:`custlab.clv_plots`.

Definitions
-----------
A *purchase* is a day on which the customer ordered (several orders or lines
on one day are one purchase, as in the papers and in lifetimes). For a
customer first seen on day ``d0`` and an observation period ending on day
``as_of`` (included):

- ``frequency`` (x): repeat purchases, i.e. purchase days after the first;
- ``recency`` (t_x): time from the first to the last purchase;
- ``T``: time from the first purchase to ``as_of``;
- ``monetary_value``: mean spend of the repeat purchases (the first purchase
  is left out, as the Gamma-Gamma model asks), 0 without repeat purchases.

Times are in the unit ``freq``: days (``"D"``), weeks of 7 days (``"W"``),
months of 30.4375 days (``"M"``, a 365.25-day year over 12) or quarters of
91.3125 days (``"Q"``). With ``grain="period"`` instead, a purchase is a
calendar period with at least one order (weeks start on Monday, months and
quarters are calendar ones) and times are whole numbers of periods: this is
lifetimes' ``summary_data_from_transaction_data(freq="W")`` convention,
extended to calendar months and quarters (where lifetimes fails).

The models are fitted by the ``lifetimes`` package, through
:mod:`custlab._lifetimes`, on the sufficient statistics: customers with
identical (frequency, recency, T) are one pattern with a weight, so fitting
cost depends on the number of distinct patterns; the parameters are those of
the customer-by-customer fit. Predictions are computed here with numpy and
scipy (vectorised over patterns) and checked against lifetimes in the tests.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

import numpy as np
import polars as pl
from scipy import special

from custlab import _lifetimes
from custlab.exceptions import ConvergenceError, CustlabError, EmptyDataError, SchemaError
from custlab.schema import Frame, check_frame, require_columns

Freq = Literal["D", "W", "M", "Q"]
Grain = Literal["day", "period"]
Language = Literal["en", "zh"]

#: Length of one time unit in days, for ``grain="day"``.
UNIT_DAYS: dict[str, float] = {"D": 1.0, "W": 7.0, "M": 365.25 / 12, "Q": 365.25 / 4}
#: Days in the month used by CLV horizons and discounting (365.25 / 12).
MONTH_DAYS = 365.25 / 12

_FREQ_WORDS = {
    "day": "D", "days": "D", "week": "W", "weeks": "W",
    "month": "M", "months": "M", "quarter": "Q", "quarters": "Q",
}

#: Labels for tiers and plots.
LABELS: dict[str, dict[str, str]] = {
    "en": {
        "high": "High value", "medium": "Medium value", "low": "Low value",
        "frequency": "Frequency (repeat purchases)", "recency": "Recency",
        "expected_purchases": "Expected purchases", "p_alive": "Probability alive",
        "actual": "Actual", "model": "Model", "naive": "Naive",
        "cumulative": "Cumulative repeat purchases", "weekly": "Repeat purchases per week",
        "week": "Week", "calibration_end": "End of calibration", "customers": "Customers",
        "clv": "CLV", "mean_clv": "Mean CLV", "share": "Share of total CLV", "segment": "Segment",
        "repeat_purchases": "Repeat purchases in calibration",
        "fr_title": "Expected purchases in the next {h:g} {unit}",
        "pa_title": "Probability that a customer is alive",
        "tracking_title": "Tracking: actual and predicted repeat purchases",
        "hist_title": "Calibration: customers by number of repeat purchases",
        "dist_title": "Distribution of predicted CLV",
        "seg_title": "CLV by segment",
        "units": {"D": "days", "W": "weeks", "M": "months", "Q": "quarters"},
    },
    "zh": {
        "high": "高价值客户", "medium": "中价值客户", "low": "低价值客户",
        "frequency": "频次（复购次数）", "recency": "最近购买时间",
        "expected_purchases": "预期购买次数", "p_alive": "存活概率",
        "actual": "实际", "model": "模型", "naive": "朴素基准",
        "cumulative": "累计复购次数", "weekly": "每周复购次数",
        "week": "周", "calibration_end": "校准期结束", "customers": "客户数",
        "clv": "客户终身价值", "mean_clv": "平均客户终身价值", "share": "占总价值比例", "segment": "客户分群",
        "repeat_purchases": "校准期复购次数",
        "fr_title": "未来 {h:g} {unit}的预期购买次数",
        "pa_title": "客户存活概率",
        "tracking_title": "跟踪：实际与预测的复购次数",
        "hist_title": "校准：按复购次数的客户数",
        "dist_title": "预测客户终身价值分布",
        "seg_title": "各分群的客户终身价值",
        "units": {"D": "天", "W": "周", "M": "个月", "Q": "个季度"},
    },
}


class CLVWarning(UserWarning):
    """A model assumption looks doubtful on these data (results are still returned)."""


# ---------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------


def labels(language: str) -> dict:
    """The label set for ``language`` ("en" or "zh")."""
    if language not in LABELS:
        raise CustlabError(f"language must be 'en' or 'zh', got {language!r}.")
    return LABELS[language]


def _freq(freq: str) -> str:
    key = None
    if isinstance(freq, str):
        key = freq if freq in UNIT_DAYS else _FREQ_WORDS.get(freq.lower())
    if key is None:
        raise CustlabError(
            f"freq must be 'D' (days), 'W' (weeks), 'M' (months of 30.4375 days) or 'Q' (quarters of 91.3125 days), "
            f"got {freq!r}."
        )
    return key


def _grain(grain: str) -> str:
    if grain not in ("day", "period"):
        raise CustlabError(f"grain must be 'day' or 'period', got {grain!r}.")
    return grain


def _as_date(value, argument: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value.strip()).date()
        except ValueError:
            pass
    raise CustlabError(f"{argument} must be a date such as '1997-09-30' (str, date or datetime), got {value!r}.")


def _transactions(transactions: Frame, purpose: str) -> tuple[pl.LazyFrame, dt.date, dt.date]:
    """Check the columns a CLV summary needs; return the lazy frame and the first and last order days."""
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
    stats_ = lf.select(
        rows=pl.len(),
        first=pl.col("order_date").min().cast(pl.Date),
        last=pl.col("order_date").max().cast(pl.Date),
        null_customer=pl.col("customer_id").null_count(),
        null_date=pl.col("order_date").null_count(),
        null_amount=pl.col("amount").null_count() + pl.col("amount").cast(pl.Float64).is_nan().sum(),
    ).collect().row(0, named=True)
    if stats_["rows"] == 0:
        raise EmptyDataError("The transactions table is empty (0 rows); there is nothing to summarise.")
    for column, key in (("customer_id", "null_customer"), ("order_date", "null_date"), ("amount", "null_amount")):
        if stats_[key]:
            raise CustlabError(
                f"Column '{column}' has {stats_[key]:,} missing value(s) out of {stats_['rows']:,} rows; a CLV "
                f"summary cannot place them. Remove them with custlab.clean_transactions(transactions, "
                f"rules=('missing_customer', 'missing_value')) and keep its report."
            )
    lf = lf.select("customer_id", day=pl.col("order_date").cast(pl.Date), amount=pl.col("amount").cast(pl.Float64))
    return lf, stats_["first"], stats_["last"]


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


def _summary_lazy(lf: pl.LazyFrame, end: dt.date, freq: str, grain: str) -> pl.LazyFrame:
    to_index, index_of, unit = _occasion(freq, grain)
    end_index = index_of(end)
    # One pass: each order line knows its customer's first purchase occasion; the purchases are the
    # distinct occasions and the repeat spend is the amount outside the first one.
    lines = lf.filter(pl.col("day") <= end).select(
        "customer_id", "amount", occasion=to_index(pl.col("day"))
    ).with_columns(first=pl.col("occasion").min().over("customer_id"))
    per_customer = lines.group_by("customer_id").agg(
        n=pl.col("occasion").n_unique(),
        first=pl.col("first").min(),
        last=pl.col("occasion").max(),
        repeat_spend=(pl.col("amount") * (pl.col("occasion") != pl.col("first"))).sum(),
    )
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
    as_of: dt.date | dt.datetime | str | None = None,
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
        Last day of the observation period, included: orders after it are
        ignored and ``T`` runs to it. Default: the day of the last order.
        (This is lifetimes' ``observation_period_end`` and the papers'
        convention: the CDNOW calibration ends on 1997-09-30, included.)
    freq
        Time unit of ``recency`` and ``T``: ``"D"`` days, ``"W"`` weeks,
        ``"M"`` months of 30.4375 days, ``"Q"`` quarters of 91.3125 days.
    grain
        ``"day"`` (default): a purchase is a day with orders; times are exact
        (days divided by the unit length). ``"period"``: a purchase is a
        calendar period with orders (weeks from Monday, calendar months,
        quarters) and times are whole periods, lifetimes' convention.

    Returns
    -------
    pl.DataFrame
        One row per customer with an order on or before ``as_of``, sorted by
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
        No order on or before ``as_of``.

    Examples
    --------
    >>> import datetime as dt
    >>> tx = pl.DataFrame({
    ...     "customer_id": [1, 1, 1, 2],
    ...     "order_date": [dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 1, 18), dt.datetime(2024, 1, 15),
    ...                    dt.datetime(2024, 1, 8)],
    ...     "amount": [10.0, 5.0, 20.0, 7.0]})
    >>> clv_summary(tx, as_of="2024-01-29", freq="W")
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
    freq, grain = _freq(freq), _grain(grain)
    lf, first, last = _transactions(transactions, "for a CLV summary")
    end = last if as_of is None else _as_date(as_of, "as_of")
    if end < first:
        raise EmptyDataError(
            f"as_of={end.isoformat()} is before the first order ({first.isoformat()}); no customer to summarise."
        )
    return _summary_lazy(lf, end, freq, grain).collect()


def calibration_holdout(
    transactions: Frame,
    *,
    calibration_end: dt.date | dt.datetime | str,
    observation_end: dt.date | dt.datetime | str | None = None,
    freq: Freq = "W",
    grain: Grain = "day",
) -> pl.DataFrame:
    """Calibration summary plus each customer's actual purchases and spend in the holdout period.

    The cohort is the customers with an order on or before ``calibration_end``
    (customers first seen in the holdout are not part of it: a model fitted
    on the calibration period says nothing about them).

    Parameters
    ----------
    transactions
        Canonical transactions with ``customer_id``, ``order_date``, ``amount``.
    calibration_end
        Last day of the calibration period (included).
    observation_end
        Last day of the holdout period (included); default the day of the last order.
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
    >>> split = calibration_holdout(tx, calibration_end="2024-01-14", observation_end="2024-02-11", freq="W")
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
    freq, grain = _freq(freq), _grain(grain)
    lf, first, last = _transactions(transactions, "for a calibration/holdout split")
    cal_end = _as_date(calibration_end, "calibration_end")
    obs_end = last if observation_end is None else _as_date(observation_end, "observation_end")
    if cal_end < first:
        raise EmptyDataError(
            f"calibration_end={cal_end.isoformat()} is before the first order ({first.isoformat()}); "
            f"the calibration period holds no customer."
        )
    if obs_end <= cal_end:
        raise CustlabError(
            f"observation_end={obs_end.isoformat()} must be after calibration_end={cal_end.isoformat()}; "
            f"the holdout period would be empty."
        )
    to_index, index_of, unit = _occasion(freq, grain)
    calibration = _summary_lazy(lf, cal_end, freq, grain)
    holdout = (
        lf.filter((pl.col("day") > cal_end) & (pl.col("day") <= obs_end))
        .group_by("customer_id")
        .agg(holdout_purchases=to_index(pl.col("day")).n_unique().cast(pl.Int64), holdout_spend=pl.col("amount").sum())
    )
    duration = (index_of(obs_end) - index_of(cal_end)) / unit
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
    """Distinct patterns of ``keys`` with the number of customers in each (sorted, deterministic)."""
    grouped = (
        frame.group_by([pl.col(k).cast(pl.Float64) for k in keys])
        .agg(weight=pl.len())
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


# ---------------------------------------------------------------------------
# Model formulas (numpy / scipy)
# ---------------------------------------------------------------------------


def _log_hyp2f1(a, b, c, z):
    """log 2F1(a, b; c; z), falling back to Euler's transformation where 2F1 overflows."""
    with np.errstate(all="ignore"):
        value = np.log(special.hyp2f1(a, b, c, z))
        bad = ~np.isfinite(value)
        if np.any(bad):
            alt = np.log(special.hyp2f1(c - a, c - b, c, z)) + (c - a - b) * np.log1p(-z)
            value = np.where(bad, alt, value)
    return value


def _nbd_log_pmf(n, t, r, alpha):
    """log P(N(t) = n) for the NBD (Poisson purchases, Gamma(r, alpha) rates)."""
    t = np.asarray(t, dtype=float)
    return (special.gammaln(r + n) - special.gammaln(r) - special.gammaln(n + 1)
            + r * np.log(alpha / (alpha + t)) + special.xlogy(n, t / (alpha + t)))


def _bgnbd_expected_alive(p, t, x, T):
    """E[purchases in (T, T + t] | alive at T, x]: FHL (2005) eq. (10) without the P(alive) factor."""
    r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
    log_hyp = _log_hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
    return (a + b + x - 1) / (a - 1) * -np.expm1(log_hyp + (r + x) * np.log((alpha + T) / (alpha + t + T)))


def _bgnbd_alive(p, x, tx, T):
    r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
    log_odds = np.log(a) - np.log(b + np.maximum(x, 1) - 1) + (r + x) * np.log((alpha + T) / (alpha + tx))
    return np.where(x > 0, special.expit(-log_odds), 1.0)


def _bgnbd_unconditional(p, t):
    r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
    t = np.asarray(t, dtype=float)
    return (a + b - 1) / (a - 1) * -np.expm1(_log_hyp2f1(r, b, a + b - 1, t / (alpha + t)) + r * np.log(alpha / (alpha + t)))


def _bgnbd_pmf(p, n, t):
    r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
    t = np.asarray(t, dtype=float)
    first = np.exp(special.betaln(a, b + n) - special.betaln(a, b) + _nbd_log_pmf(n, t, r, alpha))
    if n == 0:
        return first
    tail = special.betainc(n, r, t / (alpha + t))  # P(NBD(t) >= n), the regularised incomplete beta I_{1-p}(n, r)
    return first + np.exp(special.betaln(a + 1, b + n - 1) - special.betaln(a, b)) * tail


def _mbgnbd_expected_alive(p, t, x, T):
    """E[purchases in (T, T + t] | alive at T, x] for MBG/NBD (Wagner & Hoppe 2008, without P(alive))."""
    r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
    log_hyp = _log_hyp2f1(r + x, b + x + 1, a + b + x, t / (alpha + T + t))
    return (a + b + x) / (a - 1) * -np.expm1(log_hyp + (r + x) * np.log((alpha + T) / (alpha + t + T)))


def _mbgnbd_alive(p, x, tx, T):
    r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
    return special.expit(-(np.log(a) - np.log(b + x) + (r + x) * np.log((alpha + T) / (alpha + tx))))


def _mbgnbd_unconditional(p, t):
    r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
    t = np.asarray(t, dtype=float)
    return b / (a - 1) * -np.expm1(_log_hyp2f1(r, b + 1, a + b, t / (alpha + t)) + r * np.log(alpha / (alpha + t)))


def _mbgnbd_pmf(p, n, t):
    r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
    t = np.asarray(t, dtype=float)
    first = np.exp(special.betaln(a, b + n + 1) - special.betaln(a, b) + _nbd_log_pmf(n, t, r, alpha))
    tail = special.betainc(n, r, t / (alpha + t)) if n > 0 else 1.0  # P(NBD(t) >= n)
    return first + np.exp(special.betaln(a + 1, b + n) - special.betaln(a, b)) * tail


def _pareto_log_a0(p, x, tx, T):
    """log A_0 of Fader & Hardie's Pareto/NBD note 009, eqs. (19)-(20)."""
    r, alpha, s, beta = p["r"], p["alpha"], p["s"], p["beta"]
    if alpha < beta:
        low, high, second = alpha, beta, r + x
    else:
        low, high, second = beta, alpha, s + 1 + 0 * x
    rsx = r + s + x
    gap = high - low
    log_1 = np.log(special.hyp2f1(rsx, second, rsx + 1, gap / (high + tx))) - rsx * np.log(high + tx)
    log_2 = np.log(special.hyp2f1(rsx, second, rsx + 1, gap / (high + T))) - rsx * np.log(high + T)
    with np.errstate(divide="ignore"):
        return log_1 + np.log(-np.expm1(log_2 - log_1))  # log(A - B), A >= B


def _pareto_alive(p, x, tx, T):
    r, alpha, s, beta = p["r"], p["alpha"], p["s"], p["beta"]
    log_odds = (np.log(s) - np.log(r + s + x) + (r + x) * np.log(alpha + T) + s * np.log(beta + T)
                + _pareto_log_a0(p, x, tx, T))
    return special.expit(-log_odds)


def _pareto_expected_alive(p, t, x, T):
    """E[purchases in (T, T + t] | alive at T, x] for Pareto/NBD (Fader & Hardie note 009, eq. (41) without P(alive))."""
    r, alpha, s, beta = p["r"], p["alpha"], p["s"], p["beta"]
    log_ratio = np.log((beta + T + t) / (beta + T))
    with np.errstate(divide="ignore"):
        survival = log_ratio if s == 1 else -np.expm1(-(s - 1) * log_ratio) / (s - 1)
    return (r + x) * (beta + T) / (alpha + T) * survival


def _pareto_unconditional(p, t):
    r, alpha, s, beta = p["r"], p["alpha"], p["s"], p["beta"]
    t = np.asarray(t, dtype=float)
    if s == 1:
        return r / alpha * beta * np.log1p(t / beta)
    return r * beta / (alpha * (s - 1)) * -np.expm1(-(s - 1) * np.log1p(t / beta))


_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(64)


def _pareto_pmf(p, n, t):
    """P(X(t) = n) by one-dimensional quadrature over the lifetime distribution.

    P = NBD(n; t) S(t) + int_0^t NBD(n; tau) f(tau) dtau, with the Pareto
    lifetime S(t) = (beta / (beta + t))**s. The integral is taken over
    u = F(tau) in [0, F(t)] (64-point Gauss-Legendre), where the integrand is
    smooth whatever the parameters.
    """
    r, alpha, s, beta = p["r"], p["alpha"], p["s"], p["beta"]
    t = np.atleast_1d(np.asarray(t, dtype=float))
    log_survival = -s * np.log1p(t / beta)
    upper = -np.expm1(log_survival)  # F(t)
    u = upper[:, None] * (_NODES[None, :] + 1) / 2
    tau = beta * np.expm1(-np.log1p(-u) / s)
    integral = (np.exp(_nbd_log_pmf(n, tau, r, alpha)) * _WEIGHTS[None, :]).sum(axis=1) * upper / 2
    return np.exp(_nbd_log_pmf(n, t, r, alpha) + log_survival) + integral


# ---------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------


class _PurchaseModel:
    """Shared fitting and prediction for the counting models (BG/NBD, MBG/NBD, Pareto/NBD)."""

    _kind: str = ""
    name: str = ""
    param_names: tuple[str, ...] = ()

    def __init__(self, *, penalizer: float = 0.0, freq: Freq = "W", max_iterations: int | None = None) -> None:
        self.penalizer = penalizer
        self.freq = freq
        self.max_iterations = max_iterations

    def __repr__(self) -> str:
        if hasattr(self, "params_"):
            values = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
            return f"{type(self).__name__}({values}; {self.n_customers_:,} customers, freq={self.freq!r})"
        return f"{type(self).__name__}(penalizer={self.penalizer}, freq={self.freq!r})"

    def fit(self, summary: Frame) -> _PurchaseModel:
        """Fit on a summary with ``frequency``, ``recency``, ``T`` (e.g. from :func:`clv_summary`).

        Customers with identical (frequency, recency, T) are fitted as one
        weighted pattern. Sets ``params_`` (dict), ``log_likelihood_`` (total
        over customers, in the summary's time unit, no penalty),
        ``standard_errors_`` (dict, or None for Pareto/NBD), ``n_customers_``,
        ``n_patterns_``, ``max_frequency_``, ``max_T_``; returns ``self``.

        Raises
        ------
        ConvergenceError
            The optimizer did not converge; the message gives the retry
            (a ``penalizer``).
        """
        _freq(self.freq)  # validated here, used by predict_clv and tracking
        if not (isinstance(self.penalizer, (int, float)) and self.penalizer >= 0):
            raise CustlabError(f"penalizer must be a number >= 0, got {self.penalizer!r}.")
        frame = _summary_arrays(summary)
        n_repeat = int((frame["frequency"] > 0).sum())
        if n_repeat == 0:
            raise CustlabError(
                f"No customer in the summary made a repeat purchase (frequency > 0 for 0 of {frame.height:,} "
                f"customers): the {self.name} model cannot separate purchase rates from dropout. Use a longer "
                f"observation period or a later as_of."
            )
        x, tx, T, w = _patterns(frame)
        result = _lifetimes.fit_counting(
            self._kind, x, tx, T, w, penalizer=float(self.penalizer), max_iterations=self.max_iterations,
            retry_hint=type(self).__name__,
        )
        self.params_ = result.params
        self.log_likelihood_ = result.log_likelihood
        self._fit_result = result
        self.n_customers_ = frame.height
        self.n_patterns_ = len(w)
        self.max_frequency_ = int(x.max())
        self.max_T_ = float(T.max())
        return self

    def _check_fitted(self) -> dict[str, float]:
        if not hasattr(self, "params_"):
            raise CustlabError(f"This {type(self).__name__} is not fitted yet; call .fit(summary) first.")
        return self.params_

    @property
    def standard_errors_(self) -> dict[str, float] | None:
        """Standard errors of the parameters (lifetimes' delta method), computed on first access; None for Pareto/NBD."""
        self._check_fitted()
        return self._fit_result.standard_errors()

    # numpy interface -------------------------------------------------------
    def expected_purchases(self, t, frequency, recency, T) -> np.ndarray:
        """E[purchases in the next ``t`` units | frequency, recency, T] (arrays broadcast).

        Computed as P(alive | frequency, recency, T) x E[purchases | alive,
        frequency, T], which equals the papers' conditional expectation
        (BG/NBD eq. 10, and its MBG/NBD and Pareto/NBD analogues).
        """
        p = self._check_fitted()
        t, x, tx, T = (np.asarray(v, dtype=float) for v in (t, frequency, recency, T))
        return self._alive(p, x, tx, T) * self._expected_alive(p, t, x, T)

    def expected_purchases_if_alive(self, t, frequency, T) -> np.ndarray:
        """E[purchases in the next ``t`` units | alive at T, frequency] (recency matters only through P(alive))."""
        p = self._check_fitted()
        t, x, T = (np.asarray(v, dtype=float) for v in (t, frequency, T))
        return self._expected_alive(p, t, x, T)

    def probability_alive(self, frequency, recency, T) -> np.ndarray:
        """P(the customer is still active at T | frequency, recency, T)."""
        p = self._check_fitted()
        return self._alive(p, *[np.asarray(v, dtype=float) for v in (frequency, recency, T)])

    def expected_purchases_new(self, t) -> np.ndarray:
        """E[repeat purchases within ``t`` units of the first purchase] for a new customer."""
        return self._unconditional(self._check_fitted(), t)

    def probability_of_purchases(self, n: int, t) -> np.ndarray:
        """P(exactly ``n`` repeat purchases within ``t`` units of the first purchase), vectorised over ``t``."""
        return self._pmf(self._check_fitted(), int(n), t)

    def log_likelihood(self, summary: Frame) -> float:
        """Total log-likelihood of a summary under the fitted parameters (no penalty)."""
        p = self._check_fitted()
        x, tx, T, w = _patterns(_summary_arrays(summary))
        return _lifetimes.log_likelihood(self._kind, p, x, tx, T, w)

    # frame interface -------------------------------------------------------
    def predict(self, summary: Frame, *, horizon: float) -> pl.DataFrame:
        """Probability alive and expected purchases in the next ``horizon`` units, per customer.

        Returns the summary with ``p_alive`` and ``expected_purchases`` (Float64) added.
        """
        self._check_fitted()
        frame = _summary_arrays(summary)
        x, tx, T = (frame[c].cast(pl.Float64).to_numpy() for c in ("frequency", "recency", "T"))
        alive = self.probability_alive(x, tx, T)
        out = _per_pattern(frame.with_columns(p_alive=pl.Series(alive, dtype=pl.Float64)),
                           lambda x, T: {"_if_alive": self.expected_purchases_if_alive(horizon, x, T)},
                           keys=("frequency", "T"))
        return out.with_columns(expected_purchases=pl.col("p_alive") * pl.col("_if_alive")).drop("_if_alive")


class BetaGeo(_PurchaseModel):
    """BG/NBD model of repeat purchases (Fader, Hardie & Lee 2005), fitted by lifetimes' ``BetaGeoFitter``.

    While active, a customer buys as a Poisson process with rate
    lambda ~ Gamma(r, alpha); after each purchase she drops out with
    probability p ~ Beta(a, b).

    Parameters
    ----------
    penalizer
        L2 penalty on the parameters added to the mean log-likelihood per
        customer (lifetimes' ``penalizer_coef``; alpha is on lifetimes'
        rescaled time). 0 by default; the retry when a fit does not converge.
    freq
        Time unit of the summaries this model is fitted on (as in
        :func:`clv_summary`); used to turn months into model time in :func:`predict_clv`.
    max_iterations
        Iteration limit of the optimizer (None: scipy's default).

    Examples
    --------
    >>> from custlab.datasets import load_cdnow
    >>> bgf = BetaGeo(freq="W").fit(load_cdnow("summary"))
    >>> {k: round(v, 3) for k, v in bgf.params_.items()}
    {'r': 0.243, 'alpha': 4.414, 'a': 0.793, 'b': 2.426}
    >>> round(bgf.log_likelihood_, 1)
    -9582.4
    >>> round(float(bgf.expected_purchases(39, 2, 30.43, 38.86)), 3)
    1.226
    """

    _kind = "bgnbd"
    name = "BG/NBD"
    param_names = ("r", "alpha", "a", "b")
    _expected_alive = staticmethod(_bgnbd_expected_alive)
    _alive = staticmethod(_bgnbd_alive)
    _unconditional = staticmethod(_bgnbd_unconditional)
    _pmf = staticmethod(_bgnbd_pmf)


class ModifiedBetaGeo(_PurchaseModel):
    """MBG/NBD model (Batislam, Denizel & Filiztekin 2007), fitted by lifetimes' ``ModifiedBetaGeoFitter``.

    As BG/NBD, but a customer may also drop out right after the first
    purchase, so customers without repeat purchases are not all alive.
    Parameters as in :class:`BetaGeo`.

    Examples
    --------
    >>> from custlab.datasets import load_cdnow
    >>> mbg = ModifiedBetaGeo(freq="W").fit(load_cdnow("summary"))
    >>> {k: round(v, 3) for k, v in mbg.params_.items()}
    {'r': 0.525, 'alpha': 6.183, 'a': 0.891, 'b': 1.614}
    """

    _kind = "mbgnbd"
    name = "MBG/NBD"
    param_names = ("r", "alpha", "a", "b")
    _expected_alive = staticmethod(_mbgnbd_expected_alive)
    _alive = staticmethod(_mbgnbd_alive)
    _unconditional = staticmethod(_mbgnbd_unconditional)
    _pmf = staticmethod(_mbgnbd_pmf)


class ParetoNBD(_PurchaseModel):
    """Pareto/NBD model (Schmittlein, Morrison & Colombo 1987) with lifetimes' ``ParetoNBDFitter`` likelihood.

    Purchases at rate lambda ~ Gamma(r, alpha) while active; an exponential
    lifetime with rate mu ~ Gamma(s, beta). Fitted by Nelder-Mead from a fixed
    start (lifetimes' settings; see :mod:`custlab._lifetimes`); no standard
    errors. beta is weakly identified on small data: compare log-likelihoods
    rather than beta itself.

    Examples
    --------
    >>> from custlab.datasets import load_cdnow
    >>> pnbd = ParetoNBD(freq="W").fit(load_cdnow("summary"))
    >>> {k: round(v, 3) for k, v in pnbd.params_.items()}
    {'r': 0.553, 'alpha': 10.577, 's': 0.606, 'beta': 11.669}
    >>> round(pnbd.log_likelihood_, 1)
    -9595.0
    """

    _kind = "pareto"
    name = "Pareto/NBD"
    param_names = ("r", "alpha", "s", "beta")
    _expected_alive = staticmethod(_pareto_expected_alive)
    _alive = staticmethod(_pareto_alive)
    _unconditional = staticmethod(_pareto_unconditional)
    _pmf = staticmethod(_pareto_pmf)


def spend_frequency_correlation(summary: Frame) -> float:
    """Pearson correlation of ``frequency`` and ``monetary_value`` among repeat customers.

    The Gamma-Gamma model assumes that the spend per purchase does not depend
    on how often a customer buys; Fader, Hardie & Lee (2005) report 0.11 on
    CDNOW. NaN when fewer than three repeat customers.

    Examples
    --------
    >>> from custlab.datasets import load_cdnow
    >>> round(spend_frequency_correlation(load_cdnow("summary")), 3)
    0.114
    """
    frame = _summary_arrays(summary)
    require_columns(frame, ["monetary_value"], table="summary", purpose="for the spend model")
    repeat = frame.filter(pl.col("frequency") > 0)
    if repeat.height < 3:
        return float("nan")
    value = repeat.select(pl.corr(pl.col("frequency").cast(pl.Float64), pl.col("monetary_value"))).item()
    return float("nan") if value is None else float(value)


class GammaGamma:
    """Gamma-Gamma model of spend per purchase (Fader, Hardie & Lee 2005), fitted by lifetimes' ``GammaGammaFitter``.

    A customer's purchases have Gamma(p, nu) values with nu ~ Gamma(q, v);
    fitted on repeat customers' (frequency, mean repeat spend), grouped by
    identical pairs with weights.

    Parameters
    ----------
    penalizer
        L2 penalty (lifetimes' ``penalizer_coef``), the retry when a fit does not converge.
    correlation_warning
        Warn (:class:`CLVWarning`) when the absolute correlation between
        frequency and spend among repeat customers reaches this value, as the
        model assumes independence.
    max_iterations
        Iteration limit of the optimizer (None: scipy's default).

    Attributes
    ----------
    params_ : dict
        ``p``, ``q``, ``v``.
    log_likelihood_ : float
        Total over the repeat customers.
    spend_frequency_correlation_ : float
        The correlation checked before fitting.

    Examples
    --------
    >>> from custlab.datasets import load_cdnow
    >>> ggf = GammaGamma().fit(load_cdnow("summary"))
    >>> {k: round(v, 2) for k, v in ggf.params_.items()}, round(ggf.log_likelihood_, 2), ggf.n_customers_
    ({'p': 6.25, 'q': 3.74, 'v': 15.45}, -4055.92, 946)
    """

    name = "Gamma-Gamma"

    def __init__(self, *, penalizer: float = 0.0, correlation_warning: float = 0.3,
                 max_iterations: int | None = None) -> None:
        self.penalizer = penalizer
        self.correlation_warning = correlation_warning
        self.max_iterations = max_iterations

    def __repr__(self) -> str:
        if hasattr(self, "params_"):
            values = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
            return f"GammaGamma({values}; {self.n_customers_:,} repeat customers)"
        return f"GammaGamma(penalizer={self.penalizer})"

    def fit(self, summary: Frame) -> GammaGamma:
        """Fit on the repeat customers (frequency > 0) of a summary with ``monetary_value``.

        Raises
        ------
        CustlabError
            No repeat customer, or repeat customers with a mean spend of 0 or
            less (the model needs positive spend).
        ConvergenceError
            The optimizer did not converge (retry with a ``penalizer``).
        """
        frame = _summary_arrays(summary)
        require_columns(frame, ["monetary_value"], table="summary", purpose="for the spend model")
        repeat = frame.filter(pl.col("frequency") > 0)
        if repeat.height == 0:
            raise CustlabError(
                f"No customer in the summary made a repeat purchase (0 of {frame.height:,}); the Gamma-Gamma "
                f"model is fitted on repeat customers' mean spend."
            )
        bad = repeat.filter(~(pl.col("monetary_value") > 0).fill_null(False))
        if bad.height:
            shown = [c for c in ("customer_id", "monetary_value") if c in bad.columns]
            raise CustlabError(
                f"Column 'monetary_value' is 0, negative or missing for {bad.height:,} of {repeat.height:,} repeat "
                f"customers, e.g. {bad.head(3).select(shown).to_dicts()}; "
                f"the Gamma-Gamma model needs positive spend. Remove returns and cancellations with "
                f"custlab.clean_transactions before the summary, or leave these customers out of the spend "
                f"model: fit(summary.filter((pl.col('frequency') == 0) | (pl.col('monetary_value') > 0)))."
            )
        correlation = spend_frequency_correlation(repeat)
        self.spend_frequency_correlation_ = correlation
        if abs(correlation) >= self.correlation_warning:
            warnings.warn(
                f"Gamma-Gamma assumes spend per purchase is independent of purchase frequency, but their "
                f"correlation among the {repeat.height:,} repeat customers is {correlation:.2f} "
                f"(|r| >= {self.correlation_warning}). Expected spend will lean toward the population mean "
                f"for frequent buyers; check spend by frequency before relying on it.",
                CLVWarning,
                stacklevel=2,
            )
        x, m, w = _patterns(repeat, keys=("frequency", "monetary_value"))
        result = _lifetimes.fit_gamma_gamma(x, m, w, penalizer=float(self.penalizer),
                                            max_iterations=self.max_iterations)
        self.params_ = result.params
        self.log_likelihood_ = result.log_likelihood
        self._fit_result = result
        self.n_customers_ = repeat.height
        if self.params_["q"] <= 1:
            warnings.warn(
                f"Gamma-Gamma fit gave q = {self.params_['q']:.3f} <= 1: the population mean spend v*p/(q-1) "
                f"is not finite, so expected spend of customers with few purchases is unreliable.",
                CLVWarning,
                stacklevel=2,
            )
        return self

    def _check_fitted(self) -> dict[str, float]:
        if not hasattr(self, "params_"):
            raise CustlabError("This GammaGamma is not fitted yet; call .fit(summary) first.")
        return self.params_

    @property
    def standard_errors_(self) -> dict[str, float]:
        """Standard errors of p, q, v (lifetimes' delta method), computed on first access."""
        self._check_fitted()
        return self._fit_result.standard_errors()

    @property
    def population_mean_spend(self) -> float:
        """Mean spend per purchase in the population, v p / (q - 1)."""
        p = self._check_fitted()
        return p["v"] * p["p"] / (p["q"] - 1)

    def expected_spend(self, frequency, monetary_value) -> np.ndarray:
        """E[spend per purchase | frequency, mean repeat spend]: a weighted mean of own and population means.

        Customers without repeat purchases get the population mean.
        """
        p = self._check_fitted()
        x = np.asarray(frequency, dtype=float)
        m = np.asarray(monetary_value, dtype=float)
        own = p["p"] * x / (p["p"] * x + p["q"] - 1)
        return (1 - own) * self.population_mean_spend + own * np.where(x > 0, m, 0.0)

    def predict(self, summary: Frame) -> pl.DataFrame:
        """The summary with ``expected_spend`` (Float64) added."""
        frame = _summary_arrays(summary)
        values = self.expected_spend(frame["frequency"].to_numpy(), frame["monetary_value"].to_numpy())
        return frame.with_columns(expected_spend=pl.Series(values, dtype=pl.Float64))


PurchaseModel = BetaGeo | ModifiedBetaGeo | ParetoNBD
_MODELS: dict[str, type[_PurchaseModel]] = {"bgnbd": BetaGeo, "mbgnbd": ModifiedBetaGeo, "pareto": ParetoNBD}


# ---------------------------------------------------------------------------
# CLV
# ---------------------------------------------------------------------------


def _monthly_rate(annual_discount_rate: float) -> float:
    if not isinstance(annual_discount_rate, (int, float)) or not annual_discount_rate > -1 or math.isnan(annual_discount_rate):
        raise CustlabError(
            f"annual_discount_rate must be a number above -1 (0.10 for 10% a year), got {annual_discount_rate!r}."
        )
    return (1 + annual_discount_rate) ** (1 / 12) - 1


def _discounted_purchases_if_alive(model: _PurchaseModel, x, T, *, months: int, monthly_rate: float,
                                   month_units: float) -> tuple[np.ndarray, np.ndarray]:
    """Expected purchases over ``months`` months if alive now, and their sum discounted month by month.

    Purchases in month i (from ``(i-1) * month_units`` to ``i * month_units``
    model units ahead) are discounted by ``(1 + monthly_rate) ** i``. Both
    numbers are multiplied by P(alive) to give the customer's expectation.
    """
    previous = np.zeros_like(np.asarray(x, dtype=float))
    discounted = np.zeros_like(previous)
    for i in range(1, months + 1):
        current = model.expected_purchases_if_alive(i * month_units, x, T)
        discounted += (current - previous) / (1 + monthly_rate) ** i
        previous = current
    return previous, discounted


def predict_clv(
    summary: Frame,
    purchase_model: PurchaseModel,
    spend_model: GammaGamma,
    *,
    months: int = 12,
    annual_discount_rate: float,
    margin: float = 1.0,
) -> pl.DataFrame:
    """Discounted customer lifetime value over a horizon, per customer.

    CLV = margin x E[spend per purchase] x sum over months i = 1..months of
    E[purchases in month i] / (1 + d) ** i, with the monthly rate
    d = (1 + annual_discount_rate) ** (1/12) - 1 and months of 30.4375 days
    (converted to the model's unit with ``purchase_model.freq``).

    Parameters
    ----------
    summary
        Output of :func:`clv_summary` (``customer_id``, ``frequency``,
        ``recency``, ``T``, ``monetary_value``) in the unit the models were fitted in.
    purchase_model
        A fitted :class:`BetaGeo`, :class:`ModifiedBetaGeo` or :class:`ParetoNBD`.
    spend_model
        A fitted :class:`GammaGamma`.
    months
        Horizon in months.
    annual_discount_rate
        Yearly discount rate, e.g. 0.10; required, so that the choice is explicit (0 for none).
    margin
        Share of spend that is profit (1.0 gives revenue CLV).

    Returns
    -------
    pl.DataFrame
        The summary columns plus ``p_alive``, ``expected_purchases`` (over
        the horizon, undiscounted), ``discounted_purchases``,
        ``expected_spend`` (per purchase) and ``clv`` (all Float64).

    Examples
    --------
    >>> from custlab.datasets import load_cdnow
    >>> summary = load_cdnow("summary")
    >>> bgf, ggf = BetaGeo(freq="W").fit(summary), GammaGamma().fit(summary)
    >>> clv = predict_clv(summary, bgf, ggf, months=12, annual_discount_rate=0.10)
    >>> clv.select("customer_id", "p_alive", "expected_purchases", "expected_spend", "clv").head(3)
    shape: (3, 5)
    ┌─────────────┬──────────┬────────────────────┬────────────────┬──────────┐
    │ customer_id ┆ p_alive  ┆ expected_purchases ┆ expected_spend ┆ clv      │
    │ ---         ┆ ---      ┆ ---                ┆ ---            ┆ ---      │
    │ str         ┆ f64      ┆ f64                ┆ f64            ┆ f64      │
    ╞═════════════╪══════════╪════════════════════╪════════════════╪══════════╡
    │ 1           ┆ 0.726609 ┆ 1.562962           ┆ 24.658616      ┆ 36.73831 │
    │ 2           ┆ 0.212227 ┆ 0.260657           ┆ 18.91148       ┆ 4.696839 │
    │ 3           ┆ 1.0      ┆ 0.252425           ┆ 35.171002      ┆ 8.45278  │
    └─────────────┴──────────┴────────────────────┴────────────────┴──────────┘
    """
    purchase_model._check_fitted()
    spend_model._check_fitted()
    if not isinstance(months, int) or months < 1:
        raise CustlabError(f"months must be a whole number of months >= 1, got {months!r}.")
    if not isinstance(margin, (int, float)) or not 0 < margin <= 1:
        raise CustlabError(f"margin must be a share in (0, 1] (profit per unit of spend), got {margin!r}.")
    monthly = _monthly_rate(annual_discount_rate)
    month_units = MONTH_DAYS / UNIT_DAYS[_freq(purchase_model.freq)]
    frame = _summary_arrays(summary)
    require_columns(frame, ["monetary_value"], table="summary", purpose="for CLV")

    def if_alive(x, T):
        total, discounted = _discounted_purchases_if_alive(purchase_model, x, T, months=months, monthly_rate=monthly,
                                                           month_units=month_units)
        return {"_total": total, "_discounted": discounted}

    # P(alive) per customer (closed form, cheap); the horizon sums, which need 2F1, once per (frequency, T).
    x, tx, T = (frame[c].cast(pl.Float64).to_numpy() for c in ("frequency", "recency", "T"))
    out = _per_pattern(frame.with_columns(p_alive=pl.Series(purchase_model.probability_alive(x, tx, T))),
                       if_alive, keys=("frequency", "T"))
    spend = spend_model.expected_spend(out["frequency"].to_numpy(), out["monetary_value"].to_numpy())
    return out.select(
        *frame.columns,
        "p_alive",
        expected_purchases=pl.col("p_alive") * pl.col("_total"),
        discounted_purchases=pl.col("p_alive") * pl.col("_discounted"),
        expected_spend=pl.Series(spend, dtype=pl.Float64),
    ).with_columns(clv=margin * pl.col("expected_spend") * pl.col("discounted_purchases"))


def historical_clv(
    transactions: Frame,
    *,
    as_of: dt.date | dt.datetime | str | None = None,
    lifespan_years: float | None = None,
    by: str | None = None,
) -> pl.DataFrame:
    """The simple historical CLV: average order value x purchase frequency x average lifespan.

    - average order value = revenue / orders (distinct ``order_id``; with no
      ``order_id`` column, purchase days per customer);
    - purchase frequency = orders per customer per year over the observed
      window (from the first order in the data to ``as_of``, 365.25-day years);
    - average lifespan in years: ``lifespan_years`` when given; otherwise the
      mean observed span between a customer's first and last order. That is a
      lower bound (lifetimes are cut at ``as_of`` and one-time buyers count as
      0); pass your own from a churn analysis when you have one.

    Parameters
    ----------
    transactions
        Canonical transactions with ``customer_id``, ``order_date``, ``amount``
        (and ``order_id`` when present); ``by`` names a further column.
    as_of
        Last day of the observation window (included); default the last order day.
    lifespan_years
        Average customer lifespan in years; None estimates it as above.
    by
        A column to compute the figures per group (e.g. ``channel``, or
        ``acquisition_channel`` after joining the customers table); each
        customer must belong to one group.

    Returns
    -------
    pl.DataFrame
        One row per group (one row without ``by``): [``by``], ``customers``
        (Int64), ``orders`` (Int64), ``revenue``, ``average_order_value``,
        ``purchase_frequency`` (per year), ``lifespan_years``, ``clv`` (Float64).

    Examples
    --------
    >>> import datetime as dt
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 2], "order_id": ["a", "b", "c"],
    ...     "order_date": [dt.date(2023, 1, 1), dt.date(2023, 7, 2), dt.date(2023, 12, 31)],
    ...     "amount": [50.0, 30.0, 40.0]})
    >>> historical_clv(tx, lifespan_years=3.0).select("orders", "average_order_value",
    ...                                               pl.col("purchase_frequency", "clv").round(3))
    shape: (1, 4)
    ┌────────┬─────────────────────┬────────────────────┬─────────┐
    │ orders ┆ average_order_value ┆ purchase_frequency ┆ clv     │
    │ ---    ┆ ---                 ┆ ---                ┆ ---     │
    │ i64    ┆ f64                 ┆ f64                ┆ f64     │
    ╞════════╪═════════════════════╪════════════════════╪═════════╡
    │ 3      ┆ 40.0                ┆ 1.501              ┆ 180.123 │
    └────────┴─────────────────────┴────────────────────┴─────────┘
    """
    _, first, last = _transactions(transactions, "for a historical CLV")
    end = last if as_of is None else _as_date(as_of, "as_of")
    if lifespan_years is not None and not (isinstance(lifespan_years, (int, float)) and lifespan_years > 0):
        raise CustlabError(f"lifespan_years must be a positive number of years, got {lifespan_years!r}.")
    names = transactions.collect_schema().names()
    keys = [by] if by else []
    if by:
        require_columns(transactions, [by], purpose=f"for by={by!r}")
    order_key = pl.col("order_id") if "order_id" in names else pl.col("order_date").cast(pl.Date)
    base = transactions.lazy().filter(pl.col("order_date").cast(pl.Date) <= end).select(
        *keys, "customer_id", order=order_key, day=pl.col("order_date").cast(pl.Date), amount=pl.col("amount").cast(pl.Float64)
    )
    if by:
        mixed = base.group_by("customer_id").agg(n=pl.col(by).n_unique()).filter(pl.col("n") > 1).collect()
        if mixed.height:
            raise CustlabError(
                f"{mixed.height:,} customer(s) belong to more than one {by!r} group, e.g. "
                f"{mixed['customer_id'].head(3).to_list()}; historical CLV per group needs one group per customer "
                f"(use the acquisition channel from the customers table)."
            )
    window_years = ((end - first).days + 1) / 365.25
    customers = base.group_by(*keys, "customer_id").agg(
        orders=pl.struct("customer_id", "order").n_unique(), revenue=pl.col("amount").sum(),
        span=(pl.col("day").max() - pl.col("day").min()).dt.total_days() / 365.25,
    )
    grouped = customers.group_by(keys) if keys else customers.group_by(pl.lit(1).alias("_all"))
    out = grouped.agg(
        customers=pl.len().cast(pl.Int64), orders=pl.col("orders").sum().cast(pl.Int64),
        revenue=pl.col("revenue").sum(), observed_span=pl.col("span").mean(),
    ).collect()
    out = out.drop("_all") if not keys else out.sort(by)
    lifespan = pl.lit(float(lifespan_years)) if lifespan_years is not None else pl.col("observed_span")
    return out.select(
        *keys, "customers", "orders", "revenue",
        average_order_value=pl.col("revenue") / pl.col("orders"),
        purchase_frequency=pl.col("orders") / pl.col("customers") / window_years,
        lifespan_years=lifespan.cast(pl.Float64),
    ).with_columns(clv=pl.col("average_order_value") * pl.col("purchase_frequency") * pl.col("lifespan_years"))


def clv_cac(
    clv: Frame,
    cac: Mapping[str, float] | pl.DataFrame,
    *,
    customers: Frame | None = None,
    value: str = "clv",
    channel: str = "acquisition_channel",
) -> pl.DataFrame:
    """CLV against acquisition cost (CAC) per acquisition channel.

    Parameters
    ----------
    clv
        Per-customer values with ``customer_id`` and ``value`` (e.g. from
        :func:`predict_clv`), or one row per channel with ``channel`` and
        ``value`` (e.g. :func:`historical_clv` with ``by=channel``).
    cac
        Acquisition cost per new customer by channel: ``{"search": 12.0, ...}``
        or a DataFrame with columns ``channel`` and ``cac``.
    customers
        The customers table (``customer_id``, ``acquisition_channel``), joined
        when ``clv`` has no ``channel`` column.
    value, channel
        Names of the value column and of the channel column.

    Returns
    -------
    pl.DataFrame
        One row per channel in either input, sorted by channel: ``channel``
        (String; customers without a channel are counted under "(unknown)"),
        ``customers`` (Int64, null for channel-level input), ``clv`` (mean,
        Float64), ``cac`` (Float64, null when not given), ``clv_cac``
        (Float64, null without CAC or customers).

    Examples
    --------
    >>> values = pl.DataFrame({"customer_id": [1, 2, 3], "clv": [100.0, 50.0, 30.0]})
    >>> people = pl.DataFrame({"customer_id": [1, 2, 3], "acquisition_channel": ["search", "search", "social"]})
    >>> clv_cac(values, {"search": 25.0, "social": 40.0}, customers=people)
    shape: (2, 5)
    ┌─────────┬───────────┬──────┬──────┬─────────┐
    │ channel ┆ customers ┆ clv  ┆ cac  ┆ clv_cac │
    │ ---     ┆ ---       ┆ ---  ┆ ---  ┆ ---     │
    │ str     ┆ i64       ┆ f64  ┆ f64  ┆ f64     │
    ╞═════════╪═══════════╪══════╪══════╪═════════╡
    │ search  ┆ 2         ┆ 75.0 ┆ 25.0 ┆ 3.0     │
    │ social  ┆ 1         ┆ 30.0 ┆ 40.0 ┆ 0.75    │
    └─────────┴───────────┴──────┴──────┴─────────┘
    """
    check_frame(clv, argument="clv")
    frame = clv.collect() if isinstance(clv, pl.LazyFrame) else clv
    require_columns(frame, [value], table="clv", purpose="for CLV/CAC")
    if isinstance(cac, Mapping):
        cac_table = pl.DataFrame({"channel": list(cac), "cac": [float(v) for v in cac.values()]},
                                 schema={"channel": pl.String, "cac": pl.Float64})
    elif isinstance(cac, pl.DataFrame):
        require_columns(cac, ["channel", "cac"], table="cac", purpose="for CLV/CAC")
        cac_table = cac.select(pl.col("channel").cast(pl.String), pl.col("cac").cast(pl.Float64))
    else:
        raise CustlabError(f"cac must be a mapping {{channel: cost}} or a DataFrame (channel, cac), got {type(cac).__name__}.")
    duplicated = cac_table.filter(pl.col("channel").is_duplicated())["channel"].unique().to_list()
    if duplicated:
        raise CustlabError(f"cac lists channel(s) {duplicated} more than once; give one cost per channel.")
    negative = cac_table.filter(~(pl.col("cac") > 0))
    if negative.height:
        raise CustlabError(f"cac must be positive; got {negative.to_dicts()}.")
    if "customer_id" in frame.columns:
        if channel not in frame.columns:
            if customers is None:
                raise SchemaError(
                    f"clv has no {channel!r} column; pass customers= (the customers table with customer_id and "
                    f"{channel}) to join it."
                )
            check_frame(customers, argument="customers")
            require_columns(customers, ["customer_id", channel], table="customers", purpose="for CLV/CAC")
            people = customers.lazy().select("customer_id", channel).collect()
            if people["customer_id"].is_duplicated().any():
                raise CustlabError("customers has duplicated customer_id values; one row per customer is needed.")
            ours, theirs = frame.schema["customer_id"], people.schema["customer_id"]
            if ours != theirs:
                raise CustlabError(
                    f"customers.customer_id is {theirs} but the CLV table's customer_id is {ours}; the ids must be of "
                    f"one kind to be matched (cast one side, e.g. pl.col('customer_id').cast(pl.String))."
                )
            frame = frame.join(people, on="customer_id", how="left")
        groups = frame.group_by(pl.col(channel).cast(pl.String).fill_null("(unknown)").alias("channel")).agg(
            customers=pl.len().cast(pl.Int64), clv=pl.col(value).mean()
        )
    else:
        require_columns(frame, [channel], table="clv", purpose="for CLV/CAC")
        groups = frame.select(channel=pl.col(channel).cast(pl.String), customers=pl.lit(None, dtype=pl.Int64),
                              clv=pl.col(value).cast(pl.Float64))
    out = groups.join(cac_table, on="channel", how="full", coalesce=True)
    return out.select(
        "channel", "customers", "clv", "cac", clv_cac=pl.col("clv") / pl.col("cac")
    ).sort("channel")


def clv_tiers(
    clv: Frame,
    *,
    value: str = "clv",
    shares: tuple[float, float] = (0.2, 0.5),
    language: Language = "en",
) -> pl.DataFrame:
    """Value tiers by CLV rank: the top ``shares[0]`` of customers, the next, and the rest.

    Customers are ranked by ``value`` (descending; ties broken by
    ``customer_id`` when present, else by row order). With the default
    shares, the top 20% are high value, the next 30% (to 50%) medium value,
    the rest low value.

    Returns
    -------
    pl.DataFrame
        The input with ``segment`` (String: "High value", "Medium value",
        "Low value", or 高价值客户, 中价值客户, 低价值客户 with ``language="zh"``).

    Examples
    --------
    >>> frame = pl.DataFrame({"customer_id": [1, 2, 3, 4, 5], "clv": [5.0, 50.0, 1.0, 20.0, 2.0]})
    >>> clv_tiers(frame, shares=(0.2, 0.6))["segment"].to_list()
    ['Medium value', 'High value', 'Low value', 'Medium value', 'Low value']
    """
    names = labels(language)
    check_frame(clv, argument="clv")
    frame = clv.collect() if isinstance(clv, pl.LazyFrame) else clv
    require_columns(frame, [value], table="clv", purpose="for CLV tiers")
    top, middle = shares
    if not 0 < top <= middle <= 1:
        raise CustlabError(f"shares must satisfy 0 < top <= top+medium <= 1 (cumulative), got {shares!r}.")
    ties = ["customer_id"] if "customer_id" in frame.columns else []
    ranked = frame.with_row_index("_row").sort([pl.col(value), *ties, "_row"], descending=[True] + [False] * (len(ties) + 1))
    n = ranked.height
    position = pl.int_range(0, pl.len()) / n
    ranked = ranked.with_columns(
        segment=pl.when(position < top).then(pl.lit(names["high"]))
        .when(position < middle).then(pl.lit(names["medium"]))
        .otherwise(pl.lit(names["low"]))
    )
    return ranked.sort("_row").drop("_row")


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------


def _calhold(calhold: Frame) -> pl.DataFrame:
    frame = _summary_arrays(calhold, argument="calibration/holdout frame")
    missing = [c for c in ("holdout_purchases", "holdout_duration") if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"The calibration/holdout frame lacks {missing}; build it with custlab.clv.calibration_holdout(...)."
        )
    return frame


def holdout_predictions(calhold: Frame, purchase_model: PurchaseModel, spend_model: GammaGamma | None = None) -> pl.DataFrame:
    """Predicted holdout purchases (and spend) per customer next to the actual ones.

    Parameters
    ----------
    calhold
        Output of :func:`calibration_holdout`.
    purchase_model
        A purchase model fitted on its calibration columns.
    spend_model
        Optionally a fitted :class:`GammaGamma`, for predicted holdout spend.

    Returns
    -------
    pl.DataFrame
        ``calhold`` plus ``predicted_purchases`` (model expectation over
        ``holdout_duration``), ``naive_purchases`` (the customer's calibration
        rate frequency / T times the holdout duration; 0 when T is 0) and,
        with a spend model, ``expected_spend`` and ``predicted_spend``
        (predicted purchases x expected spend), all Float64.

    Examples
    --------
    >>> from custlab.datasets import load_cdnow
    >>> calhold = calibration_holdout(load_cdnow("sample"), calibration_end="1997-09-30",
    ...                               observation_end="1998-06-30", freq="W")
    >>> bgf = BetaGeo(freq="W").fit(calhold)
    >>> round(holdout_predictions(calhold, bgf)["predicted_purchases"].sum(), 1)  # 1,882 actual
    1653.4
    """
    frame = _calhold(calhold)
    purchase_model._check_fitted()
    out = _per_pattern(
        frame,
        lambda x, tx, T, h: {
            "predicted_purchases": purchase_model.expected_purchases(h, x, tx, T),
            "naive_purchases": np.where(T > 0, x / np.where(T > 0, T, 1.0), 0.0) * h,
        },
        keys=("frequency", "recency", "T", "holdout_duration"),
    )
    if spend_model is not None:
        spend = spend_model.expected_spend(out["frequency"].to_numpy(), out["monetary_value"].to_numpy())
        out = out.with_columns(expected_spend=pl.Series(spend, dtype=pl.Float64)).with_columns(
            predicted_spend=pl.col("predicted_purchases") * pl.col("expected_spend")
        )
    return out


def holdout_errors(calhold: Frame, purchase_model: PurchaseModel) -> pl.DataFrame:
    """Per-customer errors of predicted holdout purchases, model against the naive baseline.

    The naive baseline predicts that each customer keeps buying at her
    calibration rate (frequency / T).

    Returns
    -------
    pl.DataFrame
        Two rows, ``method`` = the model's name and "naive": ``mae``,
        ``rmse`` (per customer), ``predicted_total``, ``actual_total`` and
        ``total_error`` (predicted / actual - 1), all Float64.

    Examples
    --------
    >>> from custlab.datasets import load_cdnow
    >>> calhold = calibration_holdout(load_cdnow("sample"), calibration_end="1997-09-30",
    ...                               observation_end="1998-06-30", freq="W")
    >>> errors = holdout_errors(calhold, BetaGeo(freq="W").fit(calhold))
    >>> errors.select("method", pl.col("mae", "rmse").round(3))
    shape: (2, 3)
    ┌────────┬───────┬───────┐
    │ method ┆ mae   ┆ rmse  │
    │ ---    ┆ ---   ┆ ---   │
    │ str    ┆ f64   ┆ f64   │
    ╞════════╪═══════╪═══════╡
    │ BG/NBD ┆ 0.785 ┆ 1.608 │
    │ naive  ┆ 1.024 ┆ 2.212 │
    └────────┴───────┴───────┘
    """
    predictions = holdout_predictions(calhold, purchase_model)
    actual = pl.col("holdout_purchases").cast(pl.Float64)
    rows = []
    for method, column in ((purchase_model.name, "predicted_purchases"), ("naive", "naive_purchases")):
        rows.append(predictions.select(
            method=pl.lit(method),
            mae=(pl.col(column) - actual).abs().mean(),
            rmse=((pl.col(column) - actual) ** 2).mean().sqrt(),
            predicted_total=pl.col(column).sum(),
            actual_total=actual.sum(),
        ))
    return pl.concat(rows).with_columns(total_error=pl.col("predicted_total") / pl.col("actual_total") - 1)


def tracking(
    transactions: Frame,
    purchase_model: PurchaseModel,
    *,
    calibration_end: dt.date | dt.datetime | str,
    observation_end: dt.date | dt.datetime | str | None = None,
) -> pl.DataFrame:
    """Week-by-week repeat purchases of the calibration cohort, actual against the model.

    The cohort is the customers first seen on or before ``calibration_end``.
    For week k (days ``start + 7(k-1)`` to ``start + 7k - 1``, where ``start``
    is the cohort's first purchase day), the model expects
    sum over customers of E[X(end of week - first purchase day)], with E[X(t)]
    the unconditional expectation of repeat purchases (BG/NBD eq. 9 and its
    analogues) and t converted to the model's unit (``purchase_model.freq``).
    Actual repeat purchases are purchase days after each customer's first.
    Tracking the holdout weeks is the test of the model (Fader, Hardie & Lee
    2005, figure 2). A week that contains ``calibration_end`` without ending
    on it is labelled holdout; times are converted with the unit lengths of
    ``grain="day"`` summaries.

    Returns
    -------
    pl.DataFrame
        One row per week: ``week`` (Int64, from 1), ``week_end`` (Date, last
        day of the week, clipped to ``observation_end``), ``period`` (String,
        "calibration" or "holdout"), ``actual``, ``expected`` (repeat
        purchases in the week), ``actual_cumulative``,
        ``expected_cumulative`` (Float64).

    Examples
    --------
    >>> from custlab.datasets import load_cdnow
    >>> sample = load_cdnow("sample")
    >>> bgf = BetaGeo(freq="W").fit(clv_summary(sample, as_of="1997-09-30", freq="W"))
    >>> weeks = tracking(sample, bgf, calibration_end="1997-09-30", observation_end="1998-06-30")
    >>> weeks.filter(pl.col("week") == 78).select("week_end", "actual_cumulative", pl.col("expected_cumulative").round(0))
    shape: (1, 3)
    ┌────────────┬───────────────────┬─────────────────────┐
    │ week_end   ┆ actual_cumulative ┆ expected_cumulative │
    │ ---        ┆ ---               ┆ ---                 │
    │ date       ┆ f64               ┆ f64                 │
    ╞════════════╪═══════════════════╪═════════════════════╡
    │ 1998-06-30 ┆ 4339.0            ┆ 4161.0              │
    └────────────┴───────────────────┴─────────────────────┘
    """
    purchase_model._check_fitted()
    lf, first, last = _transactions(transactions, "for tracking")
    cal_end = _as_date(calibration_end, "calibration_end")
    obs_end = last if observation_end is None else _as_date(observation_end, "observation_end")
    if cal_end < first:
        raise EmptyDataError(f"calibration_end={cal_end.isoformat()} is before the first order ({first.isoformat()}).")
    if obs_end < cal_end:
        raise CustlabError(f"observation_end={obs_end.isoformat()} is before calibration_end={cal_end.isoformat()}.")
    unit = UNIT_DAYS[_freq(purchase_model.freq)]
    days = lf.filter(pl.col("day") <= obs_end).select("customer_id", "day").unique()
    firsts = days.group_by("customer_id").agg(first=pl.col("day").min()).filter(pl.col("first") <= cal_end)
    cohort_days = days.join(firsts, on="customer_id", how="inner")
    start = cohort_days.select(pl.col("first").min()).collect().item()
    n_weeks = ((obs_end - start).days) // 7 + 1
    ends = np.minimum(np.arange(1, n_weeks + 1) * 7 - 1, (obs_end - start).days)  # day offsets of week ends
    repeat = (
        cohort_days.filter(pl.col("day") > pl.col("first"))
        .group_by(week=((pl.col("day") - pl.lit(start)).dt.total_days() // 7 + 1).cast(pl.Int64))
        .agg(actual=pl.len().cast(pl.Float64))
        .collect()
    )
    first_counts = firsts.group_by("first").agg(n=pl.len()).collect()
    offsets = np.array([(d - start).days for d in first_counts["first"].to_list()], dtype=float)
    counts = first_counts["n"].to_numpy().astype(float)
    elapsed = np.maximum(ends[:, None] - offsets[None, :], 0.0) / unit
    expected_cum = (purchase_model.expected_purchases_new(elapsed) * counts[None, :]).sum(axis=1)
    table = pl.DataFrame({
        "week": np.arange(1, n_weeks + 1, dtype=np.int64),
        "week_end": [start + dt.timedelta(days=int(e)) for e in ends],
        "expected_cumulative": expected_cum,
    }).join(repeat, on="week", how="left", maintain_order="left").with_columns(pl.col("actual").fill_null(0.0))
    return table.select(
        "week", "week_end",
        period=pl.when(pl.col("week_end") <= cal_end).then(pl.lit("calibration")).otherwise(pl.lit("holdout")),
        actual="actual",
        expected=pl.col("expected_cumulative").diff().fill_null(pl.col("expected_cumulative")),
        actual_cumulative=pl.col("actual").cum_sum(),
        expected_cumulative="expected_cumulative",
    )


def calibration_histogram(summary: Frame, purchase_model: PurchaseModel, *, max_frequency: int = 7) -> pl.DataFrame:
    """Customers by number of repeat purchases in the calibration period: actual against expected.

    Expected counts are sum over customers of P(X(T_i) = x) (BG/NBD eq. 8
    and its analogues), the last class collecting ``max_frequency`` and more.

    Returns
    -------
    pl.DataFrame
        ``frequency`` (String: "0", "1", ..., "7+"), ``actual`` (Int64),
        ``expected`` (Float64); both columns sum to the number of customers.

    Examples
    --------
    >>> from custlab.datasets import load_cdnow
    >>> summary = load_cdnow("summary")
    >>> hist = calibration_histogram(summary, BetaGeo(freq="W").fit(summary))
    >>> hist.with_columns(pl.col("expected").round(0)).head(3)
    shape: (3, 3)
    ┌───────────┬────────┬──────────┐
    │ frequency ┆ actual ┆ expected │
    │ ---       ┆ ---    ┆ ---      │
    │ str       ┆ i64    ┆ f64      │
    ╞═══════════╪════════╪══════════╡
    │ 0         ┆ 1411   ┆ 1408.0   │
    │ 1         ┆ 439    ┆ 460.0    │
    │ 2         ┆ 214    ┆ 192.0    │
    └───────────┴────────┴──────────┘
    """
    purchase_model._check_fitted()
    if not isinstance(max_frequency, int) or max_frequency < 1:
        raise CustlabError(f"max_frequency must be a whole number >= 1, got {max_frequency!r}.")
    frame = _summary_arrays(summary)
    ages = frame.group_by(pl.col("T").cast(pl.Float64)).agg(n=pl.len())
    T, n = ages["T"].to_numpy(), ages["n"].to_numpy().astype(float)
    expected = [float((purchase_model.probability_of_purchases(k, T) * n).sum()) for k in range(max_frequency)]
    expected.append(frame.height - sum(expected))
    capped = pl.min_horizontal(pl.col("frequency").cast(pl.Int64), pl.lit(max_frequency))
    actual = frame.group_by(k=capped).agg(actual=pl.len().cast(pl.Int64))
    names = [str(k) for k in range(max_frequency)] + [f"{max_frequency}+"]
    return (
        pl.DataFrame({"k": np.arange(max_frequency + 1, dtype=np.int64), "frequency": names, "expected": expected})
        .join(actual, on="k", how="left", maintain_order="left")
        .select("frequency", pl.col("actual").fill_null(0), "expected")
    )


def decile_lift(frame: Frame, *, predicted: str, actual: str, groups: int = 10) -> pl.DataFrame:
    """Customers in groups of equal size by predicted value (1 = highest), with the actual value per group.

    Ranks by ``predicted`` descending, ties broken by ``customer_id`` (when
    present) so the groups are reproducible; group sizes differ by at most one.

    Returns
    -------
    pl.DataFrame
        ``decile`` (Int64), ``customers`` (Int64), ``predicted_mean``,
        ``actual_mean``, ``actual_total``, ``actual_share`` (of all actual),
        ``cumulative_actual_share`` and ``lift`` (actual mean over the
        overall actual mean), Float64.

    Examples
    --------
    >>> frame = pl.DataFrame({"customer_id": range(6), "pred": [6.0, 5, 4, 3, 2, 1], "spend": [10.0, 0, 5, 5, 0, 0]})
    >>> decile_lift(frame, predicted="pred", actual="spend", groups=3).select("decile", "actual_total", "lift")
    shape: (3, 3)
    ┌────────┬──────────────┬──────┐
    │ decile ┆ actual_total ┆ lift │
    │ ---    ┆ ---          ┆ ---  │
    │ i64    ┆ f64          ┆ f64  │
    ╞════════╪══════════════╪══════╡
    │ 1      ┆ 10.0         ┆ 1.5  │
    │ 2      ┆ 10.0         ┆ 1.5  │
    │ 3      ┆ 0.0          ┆ 0.0  │
    └────────┴──────────────┴──────┘
    """
    check_frame(frame, argument="frame")
    data = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
    require_columns(data, [predicted, actual], table="frame", purpose="for decile lift")
    if not isinstance(groups, int) or not 1 <= groups <= max(data.height, 1):
        raise CustlabError(f"groups must be a whole number between 1 and the number of rows ({data.height}), got {groups!r}.")
    if data.height == 0:
        raise EmptyDataError("The frame is empty; there is nothing to rank.")
    ties = ["customer_id"] if "customer_id" in data.columns else []
    ranked = data.with_row_index("_row").sort(
        [pl.col(predicted), *ties, "_row"], descending=[True] + [False] * (len(ties) + 1)
    )
    n = ranked.height
    ranked = ranked.with_columns(decile=(pl.int_range(0, pl.len(), dtype=pl.Int64) * groups // n + 1))
    total = float(ranked[actual].sum())
    mean = total / n
    out = ranked.group_by("decile").agg(
        customers=pl.len().cast(pl.Int64),
        predicted_mean=pl.col(predicted).cast(pl.Float64).mean(),
        actual_mean=pl.col(actual).cast(pl.Float64).mean(),
        actual_total=pl.col(actual).cast(pl.Float64).sum(),
    ).sort("decile")
    return out.with_columns(
        actual_share=pl.col("actual_total") / total if total else pl.lit(None, dtype=pl.Float64),
        cumulative_actual_share=pl.col("actual_total").cum_sum() / total if total else pl.lit(None, dtype=pl.Float64),
        lift=pl.col("actual_mean") / mean if mean else pl.lit(None, dtype=pl.Float64),
    )


def compare_models(calhold: Frame, models: Sequence[_PurchaseModel] | None = None) -> pl.DataFrame:
    """Fit several purchase models on the calibration period and compare them on the holdout.

    Parameters
    ----------
    calhold
        Output of :func:`calibration_holdout`.
    models
        Unfitted (or fitted: they are refitted) model objects; default
        BG/NBD, MBG/NBD and Pareto/NBD. Each is fitted on ``calhold``.

    Returns
    -------
    pl.DataFrame
        One row per model and one for the naive baseline: ``model`` (String),
        ``log_likelihood``, ``aic``, ``bic`` (calibration fit; null for
        naive), ``mae``, ``rmse`` (per-customer holdout purchases),
        ``predicted_total``, ``actual_total``, ``total_error`` (Float64),
        ``status`` (String: "ok", "baseline", or "did not converge: ..."
        for a model whose fit failed; its metrics are null and it is listed
        last). Raises :class:`ConvergenceError` only when no model converges.

    Examples
    --------
    >>> from custlab.datasets import load_cdnow
    >>> calhold = calibration_holdout(load_cdnow("sample"), calibration_end="1997-09-30",
    ...                               observation_end="1998-06-30", freq="W")
    >>> compare_models(calhold).select("model", pl.col("log_likelihood", "mae").round(2))
    shape: (4, 3)
    ┌────────────┬────────────────┬──────┐
    │ model      ┆ log_likelihood ┆ mae  │
    │ ---        ┆ ---            ┆ ---  │
    │ str        ┆ f64            ┆ f64  │
    ╞════════════╪════════════════╪══════╡
    │ BG/NBD     ┆ -9582.43       ┆ 0.79 │
    │ MBG/NBD    ┆ -9582.14       ┆ 0.76 │
    │ Pareto/NBD ┆ -9594.98       ┆ 0.75 │
    │ naive      ┆ null           ┆ 1.02 │
    └────────────┴────────────────┴──────┘
    """
    frame = _calhold(calhold)
    if models is None:
        models = [BetaGeo(), ModifiedBetaGeo(), ParetoNBD()]
    rows, failed, naive = [], [], None
    n = frame.height
    for model in models:
        if not isinstance(model, _PurchaseModel):
            raise CustlabError(f"models must be BetaGeo, ModifiedBetaGeo or ParetoNBD objects, got {type(model).__name__}.")
        try:
            model.fit(frame)
        except ConvergenceError as err:  # one model failing must not lose the comparison
            failed.append({"model": model.name, "status": f"did not converge: {str(err).split('. ')[0]}"})
            continue
        errors = holdout_errors(frame, model)
        k = len(model.param_names)
        rows.append(errors.head(1).select(
            model=pl.lit(model.name), log_likelihood=pl.lit(model.log_likelihood_),
            aic=pl.lit(2 * k - 2 * model.log_likelihood_), bic=pl.lit(k * math.log(n) - 2 * model.log_likelihood_),
            mae="mae", rmse="rmse", predicted_total="predicted_total", actual_total="actual_total",
            total_error="total_error", status=pl.lit("ok"),
        ))
        naive = errors.tail(1)
    if naive is not None:
        rows.append(naive.select(
            model=pl.lit("naive"), log_likelihood=pl.lit(None, dtype=pl.Float64), aic=pl.lit(None, dtype=pl.Float64),
            bic=pl.lit(None, dtype=pl.Float64), mae="mae", rmse="rmse", predicted_total="predicted_total",
            actual_total="actual_total", total_error="total_error", status=pl.lit("baseline"),
        ))
    if not rows:
        raise ConvergenceError(f"No model converged on these data: {'; '.join(f['status'] for f in failed)}.")
    out = pl.concat(rows)
    if failed:
        out = pl.concat([out, pl.DataFrame(failed, schema={"model": pl.String, "status": pl.String})], how="diagonal")
    return out


# ---------------------------------------------------------------------------
# Matrices for the plots
# ---------------------------------------------------------------------------


def _grid(model: _PurchaseModel, max_frequency: int | None, max_recency: float | None) -> tuple[np.ndarray, np.ndarray]:
    model._check_fitted()
    max_frequency = model.max_frequency_ if max_frequency is None else int(max_frequency)
    max_recency = model.max_T_ if max_recency is None else float(max_recency)
    frequency = np.arange(max_frequency + 1, dtype=float)
    recency = np.arange(int(math.floor(max_recency)) + 1, dtype=float)
    return frequency, recency


def frequency_recency_matrix(
    purchase_model: PurchaseModel, *, horizon: float = 1.0, T: float | None = None,
    max_frequency: int | None = None, max_recency: float | None = None,
) -> pl.DataFrame:
    """Expected purchases in the next ``horizon`` units for each (frequency, recency) at age ``T``.

    ``T`` defaults to ``max_recency``, itself the largest T seen in the fit
    (as in lifetimes' plots); combinations that cannot occur (frequency 0
    with recency above 0) are null.

    Returns
    -------
    pl.DataFrame
        ``frequency`` (Int64), ``recency`` (Float64), ``expected_purchases`` (Float64), long format.

    Examples
    --------
    >>> from custlab.datasets import load_cdnow
    >>> bgf = BetaGeo(freq="W").fit(load_cdnow("summary"))
    >>> matrix = frequency_recency_matrix(bgf, horizon=1, max_frequency=10)
    >>> matrix.filter(pl.col("frequency") == 10, pl.col("recency") == 38)["expected_purchases"].round(3).item()
    0.224
    """
    frequency, recency = _grid(purchase_model, max_frequency, max_recency)
    age = float(recency[-1]) if T is None else float(T)
    x, tx = np.meshgrid(frequency, recency, indexing="ij")
    values = purchase_model.expected_purchases(horizon, x.ravel(), tx.ravel(), np.full(x.size, age))
    return _matrix_frame(x, tx, values, "expected_purchases")


def probability_alive_matrix(
    purchase_model: PurchaseModel, *, T: float | None = None,
    max_frequency: int | None = None, max_recency: float | None = None,
) -> pl.DataFrame:
    """Probability alive for each (frequency, recency) at age ``T`` (see :func:`frequency_recency_matrix`).

    Returns
    -------
    pl.DataFrame
        ``frequency`` (Int64), ``recency`` (Float64), ``p_alive`` (Float64), long format.

    Examples
    --------
    >>> from custlab.datasets import load_cdnow
    >>> bgf = BetaGeo(freq="W").fit(load_cdnow("summary"))
    >>> matrix = probability_alive_matrix(bgf, max_frequency=5)
    >>> matrix.filter(pl.col("frequency") == 5, pl.col("recency") == 10)["p_alive"].round(3).item()
    0.027
    """
    frequency, recency = _grid(purchase_model, max_frequency, max_recency)
    age = float(recency[-1]) if T is None else float(T)
    x, tx = np.meshgrid(frequency, recency, indexing="ij")
    values = purchase_model.probability_alive(x.ravel(), tx.ravel(), np.full(x.size, age))
    return _matrix_frame(x, tx, values, "p_alive")


def _matrix_frame(x: np.ndarray, tx: np.ndarray, values: np.ndarray, name: str) -> pl.DataFrame:
    impossible = (x.ravel() == 0) & (tx.ravel() > 0)
    return pl.DataFrame({
        "frequency": x.ravel().astype(np.int64),
        "recency": tx.ravel(),
        name: np.where(impossible, np.nan, values),
    }).with_columns(pl.col(name).fill_nan(None))


__all__ = [
    "BetaGeo", "CLVWarning", "GammaGamma", "ModifiedBetaGeo", "ParetoNBD", "UNIT_DAYS", "MONTH_DAYS",
    "calibration_histogram", "calibration_holdout", "clv_cac", "clv_summary", "clv_tiers", "compare_models",
    "decile_lift", "frequency_recency_matrix", "historical_clv", "holdout_errors", "holdout_predictions",
    "predict_clv", "probability_alive_matrix", "spend_frequency_correlation", "tracking",
]
