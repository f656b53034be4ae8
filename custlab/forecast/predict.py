"""Forecasts with intervals, each series by the model its backtest chose.

:func:`forecast` runs :func:`custlab.forecast.backtest` (or takes one already
run), forecasts each series ``horizon`` periods past its last period with the
model chosen for it, and returns a frozen :class:`Forecast`. Series the
backtest could not score (too short) are forecast by ``naive`` and marked
``how = "fallback"``; series shorter than the horizon, or with fewer than
three periods, are not forecast at all and listed in :attr:`Forecast.skipped`
with the reason (a warning says so).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import polars as pl

from custlab._i18n import check_language, label, t
from custlab._types import Frame
from custlab.exceptions import CustlabError, EmptyDataError, warn_outside
from custlab.forecast.backtest import Backtest, backtest as run_backtest_table, check_horizon
from custlab.forecast.events import FESTIVALS, Festival
from custlab.forecast.models import (
    MODELS, check_levels, check_models, interval_columns, run_forecast,
)
from custlab.forecast.series import SEASON_LENGTH, ForecastWarning, check_series, shift_periods, short_series

__all__ = ["Forecast", "forecast"]

#: Fewest periods of history a series needs to be forecast at all.
MIN_POINTS = 3


@dataclass(frozen=True)
class Forecast:
    """Result of :func:`forecast` (and of :func:`custlab.forecast.reconcile`).

    Attributes
    ----------
    table
        ``series_id``, ``period`` (Date), ``step`` (1..horizon), ``model``,
        ``mean``, ``lo_<level>``, ``hi_<level>`` (Float64).
    history
        The series frame forecast (``series_id``, ``period``, ``value``).
    chosen
        Per series: ``model`` and ``how`` ("backtest": chosen by the
        backtest; "fixed": the one model asked for; "fallback": naive, as the
        series was too short to backtest or its model failed).
    skipped
        Series not forecast: ``series_id``, ``n`` (periods), ``reason``.
    residuals
        In-sample one-step residuals (``series_id``, ``period``, ``residual``),
        used by MinT reconciliation.
    backtest
        The backtest behind the choice (None for a fixed model).
    reconciled
        The reconciliation method applied, or None.
    """

    freq: str
    horizon: int
    levels: tuple[int, ...]
    table: pl.DataFrame = field(repr=False)
    history: pl.DataFrame = field(repr=False)
    chosen: pl.DataFrame = field(repr=False)
    skipped: pl.DataFrame = field(repr=False)
    residuals: pl.DataFrame = field(repr=False)
    backtest: Backtest | None = field(default=None, repr=False)
    reconciled: str | None = None

    def to_frame(self) -> pl.DataFrame:
        """The forecasts (:attr:`table`)."""
        return self.table

    @property
    def first_period(self) -> dt.date:
        """The first forecast period."""
        return self.table["period"].min()

    @property
    def summary(self) -> pl.DataFrame:
        """Per series: the model, the forecast total over the horizon and the total of the same periods a year earlier.

        ``change`` is the relative change of the forecast total on that year-ago
        total (null without a year of history or when it was 0).
        """
        m = SEASON_LENGTH[self.freq]
        totals = self.table.group_by("series_id").agg(
            forecast=pl.col("mean").sum(), first=pl.col("period").min(), last=pl.col("period").max())
        ago = self.history.join(totals.select("series_id", "first", "last"), on="series_id").filter(
            (pl.col("period") >= pl.col("first").map_elements(lambda d: shift_periods(d, self.freq, -m),
                                                             return_dtype=pl.Date))
            & (pl.col("period") <= pl.col("last").map_elements(lambda d: shift_periods(d, self.freq, -m),
                                                              return_dtype=pl.Date))
        ).group_by("series_id").agg(year_ago=pl.col("value").sum(), n=pl.len())
        out = (
            totals.join(self.chosen.select("series_id", "model", "how"), on="series_id", how="left")
            .join(ago, on="series_id", how="left")
            .with_columns(year_ago=pl.when(pl.col("n") == self.horizon).then(pl.col("year_ago")))
            .with_columns(change=pl.when(pl.col("year_ago") > 0).then(pl.col("forecast") / pl.col("year_ago") - 1))
        )
        return out.select("series_id", "model", "how", "forecast", "year_ago", "change").sort("forecast", descending=True)

    def describe(self, language: str = "en") -> list[str]:
        """Plain sentences: what was forecast, by which models, and what was left out."""
        check_language(language)
        counts = self.chosen.group_by("model").len().sort("len", descending=True)
        models = ", ".join(f"{label(m, language)} {n}" for m, n in counts.iter_rows())
        out = [t("forecast.forecast.headline", language, n=self.chosen.height, horizon=self.horizon,
                 unit=t(f"forecast.unit.{self.freq}", language), first=str(self.first_period), models=models,
                 levels=" / ".join(f"{v}%" for v in self.levels))]
        if self.reconciled:
            out.append(t("forecast.forecast.reconciled", language, method=label(self.reconciled, language)))
        if self.skipped.height:
            out.append(t("forecast.forecast.skipped", language, n=self.skipped.height))
        if self.backtest is not None:
            out.extend(self.backtest.describe(language))
        return out

    def __repr__(self) -> str:
        counts = dict(self.chosen.group_by("model").len().iter_rows())
        return (f"Forecast({self.chosen.height} series, {self.horizon} x {self.freq} from {self.first_period}, "
                f"levels {self.levels}, models {counts}, {self.skipped.height} skipped"
                f"{', reconciled ' + self.reconciled if self.reconciled else ''})")


def forecast(
    series: Frame,
    *,
    horizon: int,
    level: Sequence[int] = (80, 95),
    models: str | Sequence[str] = "auto",
    n_windows: int = 3,
    backtest: Backtest | None = None,
    festivals: Sequence[Festival] = FESTIVALS,
    n_jobs: int | None = None,
    refit: bool = True,
) -> Forecast:
    """Forecast every series ``horizon`` periods ahead with 80% and 95% intervals.

    Parameters
    ----------
    series, horizon, n_windows, festivals, n_jobs, refit
        As in :func:`custlab.forecast.backtest` (series: ``series_id``,
        ``period``, ``value``; horizon: periods ahead).
    level
        Interval levels in percent.
    models
        ``"auto"`` or a list: each series gets the model its rolling-origin
        backtest scores best; ``"all"`` adds AutoARIMA; one name (e.g.
        ``"ets"``, ``"ensemble"``) forecasts every series with that model.
    backtest
        A :class:`Backtest` already run on the same series and horizon, to reuse its choice.

    Returns
    -------
    Forecast
        ``.to_frame()``: ``series_id, period, step, model, mean, lo_80, hi_80, lo_95, hi_95``.

    Raises
    ------
    CustlabError
        Bad ``horizon``/``level``/``models``, or no series long enough to forecast.

    Examples
    --------
    >>> import datetime as dt
    >>> weeks = pl.date_range(dt.date(2024, 1, 1), dt.date(2024, 6, 24), "1w", eager=True)
    >>> s = pl.DataFrame({"series_id": "tea", "period": weeks, "value": [float(10 + i % 3) for i in range(26)]})
    >>> fc = forecast(s, horizon=4, models="naive")
    >>> fc.to_frame().select("period", "mean").head(2)
    shape: (2, 2)
    ┌────────────┬──────┐
    │ period     ┆ mean │
    │ ---        ┆ ---  │
    │ date       ┆ f64  │
    ╞════════════╪══════╡
    │ 2024-07-01 ┆ 11.0 │
    │ 2024-07-08 ┆ 11.0 │
    └────────────┴──────┘
    """
    panel, freq = check_series(series)
    horizon = check_horizon(horizon)
    levels = check_levels(level)
    fixed = isinstance(models, str) and models not in ("auto", "all")
    names = check_models(models)
    lengths = panel.group_by("series_id", maintain_order=True).agg(n=pl.len(), values=pl.col("value"))
    short = short_series(lengths, (pl.col("n") < MIN_POINTS) | (pl.col("n") < horizon),
                         "history of {} period(s) is shorter than the horizon ({}) or than {} periods", horizon, MIN_POINTS)
    if short.height == lengths.height:
        raise EmptyDataError(
            f"No series can be forecast {horizon} periods ahead: the longest has {lengths['n'].max()} period(s), "
            f"a forecast needs at least max(horizon, {MIN_POINTS}). Use a shorter horizon, a finer freq, or wait "
            f"for more history."
        )
    if short.height:
        warn_outside(
            f"{short.height} series not forecast (history shorter than the horizon {horizon} or than {MIN_POINTS} "
            f"periods), e.g. {short['series_id'].head(3).to_list()}; see Forecast.skipped.",
            ForecastWarning,
        )
    keep = lengths.filter((pl.col("n") >= MIN_POINTS) & (pl.col("n") >= horizon))
    panel = panel.join(keep.select("series_id"), on="series_id", how="semi")
    if fixed:
        chosen, bt = _fixed_choice(keep, str(models), freq, horizon), None
    else:
        bt = backtest if backtest is not None else _backtest_if_possible(panel, horizon, names, n_windows, levels,
                                                                        festivals, n_jobs, refit)
        if bt is not None and (bt.freq != freq or bt.horizon != horizon):
            raise CustlabError(f"backtest= was run with freq={bt.freq!r}, horizon={bt.horizon}; this forecast has "
                               f"freq={freq!r}, horizon={horizon}. Run the backtest on the same series and horizon.")
        picked = bt.chosen.select("series_id", "model", how=pl.lit("backtest")) if bt is not None else None
        chosen = _with_fallback(keep.select("series_id"), picked)
    rows, residuals = [], []
    for model in chosen["model"].unique().sort().to_list():
        ids = chosen.filter(pl.col("model") == model)["series_id"]
        sub = panel.filter(pl.col("series_id").is_in(ids.implode()))
        out, fitted = run_forecast(sub, [model], freq=freq, horizon=horizon, levels=levels, festivals=festivals,
                                   n_jobs=n_jobs)
        rows.append(out)
        residuals.append(fitted)
    table = pl.concat(rows)
    table, chosen = _repair(table, chosen, panel, freq, horizon, levels, festivals, residuals)
    table = table.with_columns(step=pl.col("period").rank("dense").over("series_id").cast(pl.Int64)).select(
        "series_id", "period", "step", "model", "mean", *interval_columns(levels)).sort("series_id", "period")
    return Forecast(
        freq=freq, horizon=horizon, levels=levels, table=table, history=panel, chosen=chosen.sort("series_id"),
        skipped=short, residuals=pl.concat(residuals), backtest=bt,
    )


def _backtest_if_possible(panel, horizon, names, n_windows, levels, festivals, n_jobs, refit) -> Backtest | None:
    try:
        return run_backtest_table(panel, horizon=horizon, models=names, n_windows=n_windows, level=levels,
                                  festivals=festivals, n_jobs=n_jobs, refit=refit)
    except EmptyDataError:
        warn_outside(
            f"No series is long enough to backtest with horizon={horizon}; every series is forecast with the naive "
            f"model and none of it can be checked. Use a shorter horizon for a model choice.",
            ForecastWarning,
        )
        return None


def _fixed_choice(keep: pl.DataFrame, model: str, freq: str, horizon: int) -> pl.DataFrame:
    """The one model asked for, naive where it cannot run (too short for its season or its intervals)."""
    spec = MODELS[model]
    rows = []
    for sid, n, values in keep.iter_rows():
        too_short = (spec.seasonal and n < SEASON_LENGTH[freq]) or (spec.intervals == "conformal" and n <= 2 * horizon)
        negative = spec.intermittent_only and min(values) < 0
        ok = not (too_short or negative)
        rows.append((sid, model if ok else "naive", "fixed" if ok else "fallback"))
    return pl.DataFrame(rows, schema={"series_id": pl.String, "model": pl.String, "how": pl.String}, orient="row")


def _with_fallback(ids: pl.DataFrame, picked: pl.DataFrame | None) -> pl.DataFrame:
    if picked is None:
        return ids.with_columns(model=pl.lit("naive"), how=pl.lit("fallback"))
    out = ids.join(picked, on="series_id", how="left")
    return out.with_columns(model=pl.col("model").fill_null("naive"), how=pl.col("how").fill_null("fallback"))


def _repair(table, chosen, panel, freq, horizon, levels, festivals, residuals):
    """Series whose model returned no number (a failed fit) are forecast by naive instead, with a warning."""
    value_cols = ["mean", *interval_columns(levels)]
    broken = table.filter(pl.any_horizontal(pl.col(c).is_null() for c in value_cols))["series_id"].unique()
    broken = broken.filter(~broken.is_in(chosen.filter(pl.col("model") == "naive")["series_id"].implode()))
    if broken.is_empty():
        return table, chosen
    warn_outside(
        f"The chosen model gave no forecast for {broken.len()} series ({broken.head(3).to_list()}); they are "
        f"forecast with the naive model instead (Forecast.chosen says how='fallback').",
        ForecastWarning,
    )
    sub = panel.filter(pl.col("series_id").is_in(broken.implode()))
    naive, fitted = run_forecast(sub, ["naive"], freq=freq, horizon=horizon, levels=levels, festivals=festivals)
    residuals.append(fitted)
    table = pl.concat([table.filter(~pl.col("series_id").is_in(broken.implode())), naive])
    chosen = chosen.with_columns(
        model=pl.when(pl.col("series_id").is_in(broken.implode())).then(pl.lit("naive")).otherwise("model"),
        how=pl.when(pl.col("series_id").is_in(broken.implode())).then(pl.lit("fallback")).otherwise("how"),
    )
    return table, chosen


def with_table(result: Forecast, table: pl.DataFrame, method: str) -> Forecast:
    """A copy of ``result`` with new forecasts (reconciled by ``method``)."""
    if table.height != result.table.height:
        raise CustlabError("reconciliation changed the number of forecast rows; this is a bug, please report it.")
    return replace(result, table=table, reconciled=method)
