"""The forecasting models and the one place that runs statsforecast.

Models (:data:`MODELS`) come from Nixtla's statsforecast (Garza et al.,
https://nixtlaverse.nixtla.io/statsforecast): ``naive``, ``seasonal_naive``
(the value one year earlier), ``ets`` (AutoETS), ``theta`` (AutoTheta),
``arima`` (AutoARIMA, with the festival flags of :mod:`custlab.forecast.events`
as exogenous regressors, and for weekly series three yearly Fourier pairs,
since a 52-week seasonal ARIMA is neither fast nor stable on two years), and
for intermittent long-tail series ``croston`` (CrostonClassic), ``tsb``
(Teunter-Syntetos-Babai, smoothing 0.1 for demand and probability) and
``adida``. ``ensemble`` is the mean of ``ets``, ``theta`` and
``seasonal_naive`` (forecasts and interval bounds averaged). AutoETS ignores
seasons longer than 24 periods, so for weekly series it is non-seasonal;
AutoTheta decomposes a season only with two full years of training data.

Intervals: the models' own (normal) intervals; the intermittent models have
none in statsforecast, so theirs are conformal (two calibration windows of the
horizon). Series that never went below zero get forecasts and bounds clipped
at zero. statsforecast is imported here only, inside functions, so
``import custlab`` stays fast.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import polars as pl

from custlab.exceptions import CustlabError
from custlab.forecast.events import FESTIVALS, Festival, event_flags
from custlab.forecast.series import SEASON_LENGTH, shift_periods

__all__ = [
    "BASELINES", "ENSEMBLE_MEMBERS", "MODELS", "ModelSpec", "check_levels", "check_models", "interval_columns",
    "intermittent", "run_backtest", "run_forecast",
]


@dataclass(frozen=True)
class ModelSpec:
    """A model of the catalogue: what it is called, whether it gives intervals and takes exogenous flags."""

    name: str
    library_name: str
    intervals: str  # "model" (its own), "conformal", "members" (ensemble)
    exogenous: bool = False
    seasonal: bool = False  # needs one year of history
    intermittent_only: bool = False
    smooth_only: bool = False


MODELS: dict[str, ModelSpec] = {
    "naive": ModelSpec("naive", "Naive", "model"),
    "seasonal_naive": ModelSpec("seasonal_naive", "SeasonalNaive", "model", seasonal=True),
    "ets": ModelSpec("ets", "AutoETS", "model"),
    "theta": ModelSpec("theta", "AutoTheta", "model"),
    "arima": ModelSpec("arima", "AutoARIMA", "model", exogenous=True, smooth_only=True),
    "croston": ModelSpec("croston", "CrostonClassic", "conformal", intermittent_only=True),
    "tsb": ModelSpec("tsb", "TSB", "conformal", intermittent_only=True),
    "adida": ModelSpec("adida", "ADIDA", "conformal", intermittent_only=True),
    "ensemble": ModelSpec("ensemble", "mean of AutoETS, AutoTheta, SeasonalNaive", "members", seasonal=True),
}
#: The baselines every accuracy figure is compared with.
BASELINES: tuple[str, ...] = ("naive", "seasonal_naive")
#: Members of the ensemble.
ENSEMBLE_MEMBERS: tuple[str, ...] = ("ets", "theta", "seasonal_naive")
#: What ``models="auto"`` tries: the fast models (AutoARIMA is slow on many series: ask for it by name or "all").
AUTO: tuple[str, ...] = ("naive", "seasonal_naive", "ets", "theta", "croston", "tsb", "adida", "ensemble")
#: Syntetos-Boylan: a series whose mean interval between non-zero periods is at least this is intermittent.
ADI_INTERMITTENT = 1.32
#: Fourier pairs of the yearly season given to AutoARIMA on weekly series.
FOURIER_PAIRS = 3


def check_models(models: str | Sequence[str]) -> tuple[str, ...]:
    """The model names ``models`` stands for, baselines first; a clear error for unknown names.

    >>> check_models(["ets"])
    ('naive', 'seasonal_naive', 'ets')
    """
    if isinstance(models, str):
        if models == "auto":
            return AUTO
        if models == "all":
            return tuple(MODELS)
        names = [models]
    else:
        names = list(models)
    unknown = [m for m in names if m not in MODELS]
    if unknown or not names:
        raise CustlabError(
            f"models must be 'auto', 'all' or a list of {list(MODELS)}; got unknown {unknown or names!r}."
        )
    return tuple(dict.fromkeys([*BASELINES, *names]))


def check_levels(level: Sequence[int] | int) -> tuple[int, ...]:
    """Interval levels as sorted unique integers in (0, 100).

    >>> check_levels((95, 80))
    (80, 95)
    """
    levels = (level,) if isinstance(level, (int, np.integer)) else tuple(level)
    if not levels or not all(isinstance(v, (int, np.integer)) and 0 < v < 100 for v in levels):
        raise CustlabError(f"level must be integers between 0 and 100 such as (80, 95), got {level!r}.")
    return tuple(sorted({int(v) for v in levels}))


def interval_columns(levels: Sequence[int]) -> list[str]:
    """``lo_80, hi_80, lo_95, hi_95`` for levels (80, 95)."""
    return [f"{side}_{v}" for v in levels for side in ("lo", "hi")]


def intermittent(values: np.ndarray) -> bool:
    """True when the mean interval between non-zero values is at least 1.32 (Syntetos & Boylan 2005).

    >>> intermittent(np.array([0, 0, 3, 0, 0, 1, 0, 2.0]))
    True
    >>> intermittent(np.array([4, 5, 3, 6, 0, 5.0]))
    False
    """
    nonzero = np.count_nonzero(values)
    return bool(nonzero == 0 or len(values) / nonzero >= ADI_INTERMITTENT)


def eligible(spec: ModelSpec, *, is_intermittent: bool, has_negative: bool, seasonal_ok: bool) -> bool:
    """Whether a model can be chosen for a series of this kind."""
    if spec.seasonal and not seasonal_ok:
        return False
    if spec.intermittent_only and (not is_intermittent or has_negative):
        return False
    return not (spec.smooth_only and is_intermittent)


# -- statsforecast --------------------------------------------------------------------------------------------
@contextmanager
def _no_progress_warning():
    """statsforecast imports tqdm.auto, which warns "IProgress not found" in a Jupyter kernel without ipywidgets
    (under the notebooks' cells); custlab shows no progress bar."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="IProgress not found")
        yield


def _library_models(names: Sequence[str], freq: str, horizon: int):
    with _no_progress_warning():
        from statsforecast.models import (
            ADIDA, TSB, AutoARIMA, AutoETS, AutoTheta, CrostonClassic, Naive, SeasonalNaive,
        )
        from statsforecast.utils import ConformalIntervals

    m = SEASON_LENGTH[freq]
    conformal = ConformalIntervals(h=horizon, n_windows=2)
    make = {
        "naive": lambda: Naive(alias="naive"),
        "seasonal_naive": lambda: SeasonalNaive(season_length=m, alias="seasonal_naive"),
        "ets": lambda: AutoETS(season_length=m if m <= 24 else 1, alias="ets"),
        "theta": lambda: AutoTheta(season_length=m, alias="theta"),
        "arima": lambda: AutoARIMA(season_length=m if m <= 12 else 1, alias="arima"),
        "croston": lambda: CrostonClassic(alias="croston", prediction_intervals=conformal),
        "tsb": lambda: TSB(alpha_d=0.1, alpha_p=0.1, alias="tsb", prediction_intervals=conformal),
        "adida": lambda: ADIDA(alias="adida", prediction_intervals=conformal),
    }
    return [make[n]() for n in names if n != "ensemble"]


def _regressors(periods: pl.Series, freq: str, festivals: Sequence[Festival]) -> pl.DataFrame:
    """Festival flags (and, for weekly series, yearly Fourier terms) per period."""
    flags = event_flags(periods, freq, festivals=festivals)
    keep = [c for c in flags.columns[1:] if flags[c].max() > 0]  # a flag that is always 0 cannot be estimated
    flags = flags.select("period", *keep)
    if freq == "1w":
        angle = (pl.col("period").dt.ordinal_day().cast(pl.Float64) + 3.0) / 365.25 * 2 * math.pi
        flags = flags.with_columns(
            [(angle * k).sin().alias(f"sin_{k}") for k in range(1, FOURIER_PAIRS + 1)]
            + [(angle * k).cos().alias(f"cos_{k}") for k in range(1, FOURIER_PAIRS + 1)]
        )
    return flags


def _library_frame(panel: pl.DataFrame, exog: pl.DataFrame | None) -> pl.DataFrame:
    frame = panel.select(unique_id="series_id", ds="period", y="value")
    if exog is not None:
        frame = frame.join(exog.rename({"period": "ds"}), on="ds", how="left")
    return frame


def _long(wide: pl.DataFrame, names: Sequence[str], levels: Sequence[int], keys: Sequence[str]) -> pl.DataFrame:
    """statsforecast's wide output as rows of (keys..., model, mean, lo_*, hi_*)."""
    parts = []
    for name in names:
        cols = {"mean": pl.col(name)}
        for v in levels:
            lo, hi = f"{name}-lo-{v}", f"{name}-hi-{v}"
            cols[f"lo_{v}"] = pl.col(lo) if lo in wide.columns else pl.lit(None, dtype=pl.Float64)
            cols[f"hi_{v}"] = pl.col(hi) if hi in wide.columns else pl.lit(None, dtype=pl.Float64)
        parts.append(wide.select(*keys, model=pl.lit(name), **{k: e.cast(pl.Float64) for k, e in cols.items()}))
    return pl.concat(parts)


def _ensemble(rows: pl.DataFrame, keys: Sequence[str], levels: Sequence[int]) -> pl.DataFrame:
    members = rows.filter(pl.col("model").is_in(list(ENSEMBLE_MEMBERS)))
    value_cols = ["mean", *interval_columns(levels)]
    out = (
        members.group_by(*keys, maintain_order=True)
        .agg(n=pl.len(), **{c: pl.col(c).mean() for c in value_cols})
        .filter(pl.col("n") == len(ENSEMBLE_MEMBERS))
        .drop("n")
        .with_columns(model=pl.lit("ensemble"))
    )
    return out.select(rows.columns)


def _clean(rows: pl.DataFrame, nonnegative: pl.DataFrame, levels: Sequence[int]) -> pl.DataFrame:
    """Clip at zero for series that never went below it; keep bounds ordered; NaN becomes null."""
    value_cols = ["mean", *interval_columns(levels)]
    rows = rows.join(nonnegative, on="series_id", how="left").with_columns(
        [pl.when(pl.col(c).is_nan()).then(None).otherwise(pl.col(c)).alias(c) for c in value_cols]
    )
    rows = rows.with_columns(
        [pl.when(pl.col("nonnegative")).then(pl.col(c).clip(lower_bound=0.0)).otherwise(pl.col(c)).alias(c)
         for c in value_cols]
    )
    for v in levels:  # conformal bounds are symmetric around the mean: keep lo <= mean <= hi after clipping
        rows = rows.with_columns(
            pl.min_horizontal(f"lo_{v}", "mean").alias(f"lo_{v}"), pl.max_horizontal(f"hi_{v}", "mean").alias(f"hi_{v}")
        )
    return rows.drop("nonnegative")


def _runnable(names: Sequence[str], shortest_training: int, horizon: int) -> list[str]:
    """The models in ``names`` (ensemble members added) that can run on training data this short.

    Conformal intervals calibrate on two windows of the horizon, so those models need ``2 * horizon + 1`` periods.
    """
    base = [n for n in names if n != "ensemble"]
    if "ensemble" in names:
        base = list(dict.fromkeys([*base, *ENSEMBLE_MEMBERS]))
    return [n for n in base if MODELS[n].intervals != "conformal" or shortest_training > 2 * horizon]


def _statsforecast(names: Sequence[str], freq: str, horizon: int, n_jobs: int):
    with _no_progress_warning():
        from statsforecast import StatsForecast

    return StatsForecast(models=_library_models(names, freq, horizon), freq=freq, n_jobs=n_jobs)


def _jobs(n_series: int, n_jobs: int | None) -> int:
    if n_jobs is not None:
        return n_jobs
    return -1 if n_series >= 400 else 1


def run_backtest(
    panel: pl.DataFrame,
    names: Sequence[str],
    *,
    freq: str,
    horizon: int,
    n_windows: int,
    levels: Sequence[int],
    festivals: Sequence[Festival] = FESTIVALS,
    n_jobs: int | None = None,
    refit: bool = True,
) -> pl.DataFrame:
    """Rolling-origin forecasts of ``panel`` (one series, all with ``n_windows`` windows of ``horizon``).

    Returns rows ``series_id, cutoff, period, actual, model, mean, lo_*, hi_*``
    (``cutoff`` is the last training period); windows step by ``horizon``.
    ``refit=False`` estimates each model once, at the first cutoff, and only
    updates its state with the later data (about three times faster); the
    intermittent-demand models cannot roll forward, so with them it refits.
    """
    shortest = int(panel.group_by("series_id").len()["len"].min()) - n_windows * horizon
    base = _runnable(names, shortest, horizon)
    exog = _regressors(panel["period"].unique(), freq, festivals) if "arima" in base else None
    frame = _library_frame(panel, exog)
    sf = _statsforecast(base, freq, horizon, _jobs(panel["series_id"].n_unique(), n_jobs))
    with warnings.catch_warnings():  # statsforecast's own chatter (convergence, short seasons) stays out of the log
        warnings.simplefilter("ignore")
        wide = sf.cross_validation(h=horizon, df=frame, n_windows=n_windows, step_size=horizon, level=list(levels),
                                   refit=bool(refit) or any(MODELS[n].intervals == "conformal" for n in base))
    wide = pl.DataFrame(wide) if not isinstance(wide, pl.DataFrame) else wide
    keys = ["series_id", "cutoff", "period", "actual"]
    wide = wide.rename({"unique_id": "series_id", "ds": "period", "y": "actual"})
    rows = _long(wide, base, levels, keys)
    if "ensemble" in names:
        rows = pl.concat([rows, _ensemble(rows, keys, levels)])
    rows = rows.filter(pl.col("model").is_in(list(names)))
    return _clean(rows, _nonnegative(panel), levels)


def _nonnegative(panel: pl.DataFrame) -> pl.DataFrame:
    return panel.group_by("series_id").agg(nonnegative=(pl.col("value").min() >= 0))


def run_forecast(
    panel: pl.DataFrame,
    names: Sequence[str],
    *,
    freq: str,
    horizon: int,
    levels: Sequence[int],
    festivals: Sequence[Festival] = FESTIVALS,
    n_jobs: int | None = None,
) -> pl.DataFrame:
    """Forecasts of every series in ``panel`` by every model in ``names`` and the in-sample residuals.

    Returns ``(rows, residuals)``: rows ``series_id, period, model, mean,
    lo_*, hi_*``; residuals ``series_id, period, residual`` of the model when
    ``names`` is one model (else empty).
    """
    base = _runnable(names, int(panel.group_by("series_id").len()["len"].min()), horizon)
    exog = future = None
    if "arima" in base:
        last = panel["period"].max()
        future_periods = pl.Series([shift_periods(last, freq, k) for k in range(1, horizon + 1)], dtype=pl.Date)
        regressors = _regressors(pl.concat([panel["period"].unique(), future_periods]), freq, festivals)
        exog = regressors.filter(pl.col("period") <= last)
        ids = panel["series_id"].unique().to_frame()
        future = ids.join(regressors.filter(pl.col("period") > last), how="cross").rename(
            {"series_id": "unique_id", "period": "ds"})
    frame = _library_frame(panel, exog)
    sf = _statsforecast(base, freq, horizon, _jobs(panel["series_id"].n_unique(), n_jobs))
    with warnings.catch_warnings():  # statsforecast's own chatter (convergence, short seasons) stays out of the log
        warnings.simplefilter("ignore")
        wide = sf.forecast(h=horizon, df=frame, X_df=future, level=list(levels), fitted=True)
        fitted = sf.forecast_fitted_values()
    wide = pl.DataFrame(wide) if not isinstance(wide, pl.DataFrame) else wide
    residuals = _residuals(fitted, base, names)
    wide = wide.rename({"unique_id": "series_id", "ds": "period"})
    rows = _long(wide, base, levels, ["series_id", "period"])
    if "ensemble" in names:
        rows = pl.concat([rows, _ensemble(rows, ["series_id", "period"], levels)])
    rows = rows.filter(pl.col("model").is_in(list(names)))
    return _clean(rows, _nonnegative(panel), levels), residuals


def _residuals(fitted, base: Sequence[str], names: Sequence[str]) -> pl.DataFrame:
    """In-sample one-step residuals (actual - fitted) of the model asked for (the ensemble: its members' mean)."""
    fitted = pl.DataFrame(fitted) if not isinstance(fitted, pl.DataFrame) else fitted
    name = names[0] if len(names) == 1 else None
    if name == "ensemble":
        value = pl.mean_horizontal([pl.col(m) for m in ENSEMBLE_MEMBERS])
    elif name in base:
        value = pl.col(name)
    else:
        return pl.DataFrame(schema={"series_id": pl.String, "period": pl.Date, "residual": pl.Float64})
    out = fitted.select(series_id="unique_id", period="ds", residual=(pl.col("y") - value).cast(pl.Float64))
    return out.filter(pl.col("residual").is_not_nan() & pl.col("residual").is_not_null())

