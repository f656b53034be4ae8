"""Checking a CLV model before trusting it: holdout predictions and errors, tracking, histogram, lift, matrices.

Every check compares the model with what happened: on a calibration/holdout
split (:func:`custlab.clv.calibration_holdout`) the model's expected
purchases against the actual ones and against the naive baseline (each
customer keeps her calibration rate); week by week (:func:`tracking`); by
number of repeat purchases (:func:`calibration_histogram`); and by rank
(:func:`decile_lift`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

import numpy as np
import polars as pl

from custlab._dates import as_datetime, last_day_included
from custlab._types import DateLike, Frame
from custlab.clv.models import BetaGeo, GammaGamma, ModifiedBetaGeo, ParetoNBD, PurchaseModel
from custlab.clv.models.base import _PurchaseModel
from custlab.clv.summary import (
    UNIT_DAYS, _end_instant, _per_pattern, _show, _summary_arrays, _transactions, freq_unit, naive_rate,
)
from custlab.data.schema import check_frame, require_columns
from custlab.exceptions import ConvergenceError, CustlabError, EmptyDataError, SchemaError

__all__ = [
    "calibration_histogram", "compare_models", "decile_lift", "frequency_recency_matrix", "holdout_errors",
    "holdout_predictions", "probability_alive_matrix", "tracking",
]


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
        rate frequency / T, T at least 13 weeks (:func:`custlab.clv.summary.naive_rate`), times the holdout
        duration) and,
        with a spend model, ``expected_spend`` and ``predicted_spend``
        (predicted purchases x expected spend), all Float64.

    Examples
    --------
    >>> from custlab.clv import BetaGeo, calibration_holdout
    >>> from custlab.data.datasets import load_cdnow
    >>> calhold = calibration_holdout(load_cdnow("sample"), calibration_end="1997-10-01",
    ...                               observation_end="1998-07-01", freq="W")
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
            "naive_purchases": naive_rate(x, T, purchase_model.freq) * h,
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
    calibration rate (frequency / T, T at least 13 weeks).

    Returns
    -------
    pl.DataFrame
        Two rows, ``method`` = the model's name and "naive": ``mae``,
        ``rmse`` (per customer), ``predicted_total``, ``actual_total`` and
        ``total_error`` (predicted / actual - 1, null when nothing was bought), all Float64.

    Examples
    --------
    >>> from custlab.clv import BetaGeo, calibration_holdout
    >>> from custlab.data.datasets import load_cdnow
    >>> sample = load_cdnow("sample")
    >>> calhold = calibration_holdout(sample, calibration_end="1997-10-01", observation_end="1998-07-01", freq="W")
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
    return pl.concat(rows).with_columns(
        total_error=pl.when(pl.col("actual_total") > 0).then(pl.col("predicted_total") / pl.col("actual_total") - 1)
    )


def tracking(
    transactions: Frame,
    purchase_model: PurchaseModel,
    *,
    calibration_end: DateLike,
    observation_end: DateLike | None = None,
) -> pl.DataFrame:
    """Week-by-week repeat purchases of the calibration cohort, actual against the model.

    The cohort is the customers first seen before ``calibration_end``; the
    weeks run to ``observation_end`` (default the midnight after the last
    order). Both are, like ``as_of``, the first instant outside the period.
    For week k (days ``start + 7(k-1)`` to ``start + 7k - 1``, where ``start``
    is the cohort's first purchase day), the model expects
    sum over customers of E[X(end of week - first purchase day)], with E[X(t)]
    the unconditional expectation of repeat purchases (BG/NBD eq. 9 and its
    analogues) and t converted to the model's unit (``purchase_model.freq``).
    Actual repeat purchases are purchase days after each customer's first.
    Tracking the holdout weeks is the test of the model (Fader, Hardie & Lee
    2005, figure 2). A week that contains the last calibration day without
    ending on it is labelled holdout; times are converted with the unit lengths of
    ``grain="day"`` summaries.

    Returns
    -------
    pl.DataFrame
        One row per week: ``week`` (Int64, from 1), ``week_end`` (Date, last
        day of the week, clipped to the last day before ``observation_end``), ``period`` (String,
        "calibration" or "holdout"), ``actual``, ``expected`` (repeat
        purchases in the week), ``actual_cumulative``,
        ``expected_cumulative`` (Float64).

    Examples
    --------
    >>> from custlab.clv import BetaGeo, clv_summary
    >>> from custlab.data.datasets import load_cdnow
    >>> sample = load_cdnow("sample")
    >>> bgf = BetaGeo(freq="W").fit(clv_summary(sample, as_of="1997-10-01", freq="W"))
    >>> weeks = tracking(sample, bgf, calibration_end="1997-10-01", observation_end="1998-07-01")
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
    cal_instant = as_datetime(calibration_end, "calibration_end")
    obs_instant = _end_instant(observation_end, "observation_end", last)
    if cal_instant <= first:
        raise EmptyDataError(f"calibration_end={_show(cal_instant)} is not after the first order ({_show(first)}).")
    if obs_instant < cal_instant:
        raise CustlabError(f"observation_end={_show(obs_instant)} is before calibration_end={_show(cal_instant)}.")
    cal_end, obs_end = last_day_included(cal_instant), last_day_included(obs_instant)
    unit = UNIT_DAYS[freq_unit(purchase_model.freq)]
    days = lf.filter(pl.col("at") < obs_instant).select("customer_id", "day").unique()
    firsts = (lf.filter(pl.col("at") < cal_instant).group_by("customer_id").agg(first=pl.col("day").min()))
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
    first_counts = firsts.group_by("first").agg(n=pl.len()).sort("first").collect()  # one order: the same sums
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
    >>> from custlab.clv import BetaGeo
    >>> from custlab.data.datasets import load_cdnow
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
        ``status`` (String: "ok"; "not trusted: ..." for a fit that
        converged but that :func:`~custlab.clv.check_fit` rejects, with its
        first reason, e.g. a dropout rate at zero that the customers' long
        silences contradict; "baseline"; or "did not converge: ..." for a
        model whose fit failed, its metrics null and listed last). Raises
        :class:`ConvergenceError` only when no model converges.

    Examples
    --------
    >>> from custlab.clv import calibration_holdout
    >>> from custlab.data.datasets import load_cdnow
    >>> calhold = calibration_holdout(load_cdnow("sample"), calibration_end="1997-10-01",
    ...                               observation_end="1998-07-01", freq="W")
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
    from custlab.clv.checks import check_fit

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
        check = check_fit(model, frame)
        status = "ok" if check.trusted else "not trusted: " + check.why().split(". ")[0].rstrip(".")
        k = len(model.param_names)
        rows.append(errors.head(1).select(
            model=pl.lit(model.name), log_likelihood=pl.lit(model.log_likelihood_),
            aic=pl.lit(2 * k - 2 * model.log_likelihood_), bic=pl.lit(k * math.log(n) - 2 * model.log_likelihood_),
            mae="mae", rmse="rmse", predicted_total="predicted_total", actual_total="actual_total",
            total_error="total_error", status=pl.lit(status),
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
    >>> from custlab.clv import BetaGeo
    >>> from custlab.data.datasets import load_cdnow
    >>> bgf = BetaGeo(freq="W").fit(load_cdnow("summary"))
    >>> matrix = frequency_recency_matrix(bgf, horizon=1, max_frequency=10)
    >>> matrix.filter(pl.col("frequency") == 10, pl.col("recency") == 38)["expected_purchases"].round(3).item()
    0.224
    """
    return _matrix(purchase_model, "expected_purchases", lambda x, tx, age: purchase_model.expected_purchases(
        horizon, x, tx, age), T, max_frequency, max_recency)


def probability_alive_matrix(
    purchase_model: PurchaseModel, *, T: float | None = None,
    max_frequency: int | None = None, max_recency: float | None = None,
) -> pl.DataFrame:
    """Probability alive for each (frequency, recency) at age ``T`` (see :func:`frequency_recency_matrix`).

    The long table has ``frequency`` (Int64), ``recency`` (Float64) and ``p_alive`` (Float64, null where
    the combination cannot occur), e.g. on the published CDNOW summary:

    >>> from custlab.clv import BetaGeo
    >>> from custlab.data.datasets import load_cdnow
    >>> alive = probability_alive_matrix(BetaGeo(freq="W").fit(load_cdnow("summary")), max_frequency=5)
    >>> alive.filter(pl.col("frequency") == 5, pl.col("recency") == 10)["p_alive"].round(3).item()
    0.027
    """
    return _matrix(purchase_model, "p_alive", purchase_model.probability_alive, T, max_frequency, max_recency)


def _matrix(model: _PurchaseModel, name: str, compute, T: float | None, max_frequency: int | None,
            max_recency: float | None) -> pl.DataFrame:
    """``compute(frequency, recency, T)`` on the (frequency, recency) grid at age ``T``, long format."""
    frequency, recency = _grid(model, max_frequency, max_recency)
    age = float(recency[-1]) if T is None else float(T)
    x, tx = np.meshgrid(frequency, recency, indexing="ij")
    values = compute(x.ravel(), tx.ravel(), np.full(x.size, age))
    impossible = (x.ravel() == 0) & (tx.ravel() > 0)
    return pl.DataFrame({
        "frequency": x.ravel().astype(np.int64),
        "recency": tx.ravel(),
        name: np.where(impossible, np.nan, values),
    }).with_columns(pl.col(name).fill_nan(None))
