"""Customer lifetime value: model-based (:func:`predict_clv`), historical, CLV/CAC per channel and value tiers."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import polars as pl

from custlab._dates import last_day_included
from custlab._i18n import check_language, translate_values
from custlab._types import DateLike, Frame, Language
from custlab.clv.models import GammaGamma, ObservedSpend, PurchaseModel
from custlab.clv.models.base import _PurchaseModel
from custlab.clv.summary import MONTH_DAYS, UNIT_DAYS, _end_instant, _per_pattern, _summary_arrays, _transactions, freq_unit
from custlab.data.schema import check_frame, require_columns
from custlab.exceptions import CustlabError, SchemaError

__all__ = ["clv_cac", "clv_tiers", "historical_clv", "predict_clv"]


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
    ends = month_units * np.arange(1, months + 1, dtype=float)
    x, T = np.asarray(x, dtype=float), np.asarray(T, dtype=float)
    cumulative = model.expected_purchases_if_alive(ends[None, :], x[:, None], T[:, None])
    per_month = np.diff(cumulative, axis=1, prepend=0.0)
    return cumulative[:, -1], per_month @ _discount_factors(months, monthly_rate)


def _discount_factors(months: int, monthly_rate: float) -> np.ndarray:
    """1 / (1 + monthly_rate) ** i for the months i = 1..months."""
    return (1 + monthly_rate) ** -np.arange(1, months + 1, dtype=float)


def predict_clv(
    summary: Frame,
    purchase_model: PurchaseModel,
    spend_model: GammaGamma | ObservedSpend,
    *,
    months: int = 12,
    annual_discount_rate: float,
    margin: float | None = None,
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
        A fitted :class:`GammaGamma`, or :class:`ObservedSpend` (customers' own averages).
    months
        Horizon in months.
    annual_discount_rate
        Yearly discount rate, e.g. 0.10; required, so that the choice is explicit (0 for none).
    margin
        Share of spend that is profit; None (default) gives revenue CLV.

    Returns
    -------
    pl.DataFrame
        The summary columns plus ``p_alive``, ``expected_purchases`` (over
        the horizon, undiscounted), ``discounted_purchases``,
        ``expected_spend`` (per purchase) and ``clv`` (all Float64).

    Examples
    --------
    >>> from custlab.clv import BetaGeo, GammaGamma
    >>> from custlab.data.datasets import load_cdnow
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
    monthly, month_units, basis = _clv_settings(purchase_model.freq, months, annual_discount_rate, margin)
    frame = _summary_arrays(summary)
    require_columns(frame, ["monetary_value"], table="summary", purpose="for CLV")
    out = _purchase_terms(frame, purchase_model, months=months, monthly_rate=monthly, month_units=month_units)
    spend = spend_model.expected_spend(out["frequency"].to_numpy(), out["monetary_value"].to_numpy())
    return out.select(
        *frame.columns,
        "p_alive",
        expected_purchases=pl.col("p_alive") * pl.col("_total"),
        discounted_purchases=pl.col("p_alive") * pl.col("_discounted"),
        expected_spend=pl.Series(spend, dtype=pl.Float64),
    ).with_columns(clv=basis * pl.col("expected_spend") * pl.col("discounted_purchases"))


def _clv_settings(freq: str, months: int, annual_discount_rate: float,
                  margin: float | None) -> tuple[float, float, float]:
    """Check the CLV settings; return the monthly discount rate, a month in model units and the margin factor."""
    if not isinstance(months, int) or isinstance(months, bool) or months < 1:
        raise CustlabError(f"months must be a whole number of months >= 1, got {months!r}.")
    if margin is not None and (not isinstance(margin, (int, float)) or not 0 < margin <= 1):
        raise CustlabError(f"margin must be a share in (0, 1] (profit per unit of spend), or None for revenue, "
                           f"got {margin!r}.")
    monthly = _monthly_rate(annual_discount_rate)
    return monthly, MONTH_DAYS / UNIT_DAYS[freq_unit(freq)], 1.0 if margin is None else float(margin)


def _purchase_terms(frame: pl.DataFrame, model: _PurchaseModel, *, months: int, monthly_rate: float,
                    month_units: float) -> pl.DataFrame:
    """``frame`` plus ``p_alive``, ``_total`` and ``_discounted`` (purchases over the horizon if alive).

    P(alive) is computed once per (frequency, recency, T) pattern, the horizon sums once per (frequency, T).
    """
    def if_alive(x, T):
        total, discounted = _discounted_purchases_if_alive(model, x, T, months=months, monthly_rate=monthly_rate,
                                                           month_units=month_units)
        return {"_total": total, "_discounted": discounted}

    alive = _per_pattern(frame, lambda x, tx, T: {"p_alive": model.probability_alive(x, tx, T)})
    return _per_pattern(alive, if_alive, keys=("frequency", "T"))


def historical_clv(
    transactions: Frame,
    *,
    as_of: DateLike | None = None,
    lifespan_years: float | None = None,
    by: str | None = None,
) -> pl.DataFrame:
    """The simple historical CLV: average order value x purchase frequency x average lifespan.

    - average order value = revenue / orders (distinct ``order_id``; with no
      ``order_id`` column, purchase days per customer);
    - purchase frequency = orders per customer per year over the observed
      window (from the day of the first order in the data to the last day
      before ``as_of``, both included, in 365.25-day years);
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
        The first instant that is not history (``order_date < as_of``, see
        :mod:`custlab._dates`); default the midnight after the last order.
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
    end = _end_instant(as_of, "as_of", last)
    if lifespan_years is not None and not (isinstance(lifespan_years, (int, float)) and lifespan_years > 0):
        raise CustlabError(f"lifespan_years must be a positive number of years, got {lifespan_years!r}.")
    names = transactions.collect_schema().names()
    keys = [by] if by else []
    if by:
        require_columns(transactions, [by], purpose=f"for by={by!r}")
    order_key = pl.col("order_id") if "order_id" in names else pl.col("order_date").cast(pl.Date)
    base = transactions.lazy().filter(pl.col("order_date").cast(pl.Datetime("us")) < end).select(
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
    window_years = ((last_day_included(end) - first.date()).days + 1) / 365.25
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
    """CLV against acquisition cost (CAC) per acquisition channel: the one CLV/CAC computation of custlab.

    For a channel report, pass the CLV of the customers acquired in the
    period (filter ``clv`` to them) and each channel's spend / new customers
    as ``cac``; the channels module is meant to call this function rather than
    compute the ratio itself.

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
        ``customers`` (Int64, customers with a CLV value; null for channel-level
        input), ``clv`` (mean, Float64), ``cac`` (Float64, null when not given), ``clv_cac``
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
    bad = frame.select(pl.col(value).cast(pl.Float64).is_nan().sum()).item()
    if bad:
        raise CustlabError(f"Column {value!r} of clv has {bad:,} NaN value(s); give a number (or null) per customer.")
    if "customer_id" in frame.columns:
        repeated = frame.filter(pl.col("customer_id").is_duplicated())["customer_id"].unique()
        if repeated.len():
            raise CustlabError(
                f"clv lists {repeated.len():,} customer_id(s) more than once, e.g. {repeated.head(5).to_list()}; "
                f"give one clv per customer."
            )
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
            customers=pl.col(value).is_not_null().sum().cast(pl.Int64), clv=pl.col(value).cast(pl.Float64).mean()
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
    check_language(language)
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
        segment=translate_values(
            pl.when(position < top).then(pl.lit("High value"))
            .when(position < middle).then(pl.lit("Medium value"))
            .otherwise(pl.lit("Low value")),
            language,
        )
    )
    return ranked.sort("_row").drop("_row")

