"""Rolling-origin backtests: how well each model would have forecast, against naive and seasonal naive.

For each series the last ``n_windows`` stretches of ``horizon`` periods are
forecast from the history before them (the *cutoffs* step back by the
horizon, so every actual is scored once), every model refitted at each
cutoff. Errors:

* **MASE** (Hyndman & Koehler 2006): the window's mean absolute error divided
  by the mean absolute one-step change of the training data before its
  cutoff (the in-sample naive error), averaged over the windows. Below 1: the
  model's h-step forecasts beat what "same as last period" achieves one
  step ahead in-sample. A window whose training data never change (so the
  in-sample naive error is 0) has no MASE, nor has a model that left part
  of a window unforecast; a series' MASE is then null for that model,
  never the mean of the windows that do have one (a constant start followed
  by a jump would otherwise show the jump's window unscored and MASE 0.00
  where WAPE counts the miss).
* **WAPE**: the sum of absolute errors over the sum of absolute actuals.
* **coverage_80/95**: the share of actuals inside the 80%/95% intervals.

The overall rows (``series_id`` null) weight each series' MASE by its volume
(the sum of absolute actuals in its test windows; series without a MASE left
out) and pool WAPE over all series. ``models="auto"`` chooses per series the
model with the lowest MASE, and by the lowest WAPE where no model has one
(the scale is the series', so a zero scale leaves every model of that series
without a MASE); its own score (the ``auto`` rows) is honest: in each window,
the model is chosen on the *other* windows and scored on this one, so
choosing is not rewarded for luck. :attr:`Backtest.summary` compares auto
with the two baselines on the series where all three have a MASE.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from custlab._i18n import check_language, label, t
from custlab._types import Frame
from custlab.exceptions import CustlabError, EmptyDataError
from custlab.forecast.events import FESTIVALS, Festival
from custlab.forecast.models import (
    BASELINES, MODELS, check_levels, check_models, eligible, intermittent, run_backtest,
)
from custlab.forecast.series import SEASON_LENGTH, check_series, short_series

__all__ = ["COVERAGE_LEVEL", "COVERAGE_SLACK", "Backtest", "backtest", "check_horizon", "coverage_reading",
           "series_profile"]

#: Fewest training periods before the first cutoff (below one year: models without a season only).
MIN_TRAIN = 8
#: Order in which equal scores are broken: the simpler model wins.
PREFERENCE = ("naive", "seasonal_naive", "ets", "theta", "croston", "tsb", "adida", "arima", "ensemble")
#: The interval level whose backtest coverage the sentences judge.
COVERAGE_LEVEL = 80
#: How far (in shares) that coverage may miss the level and still count as near it: 80% intervals that held 70% to
#: 90% of the backtest's outcomes. The report's demand outlook judges by the same rule.
COVERAGE_SLACK = 0.10


def coverage_reading(coverage: float | None, level: int = COVERAGE_LEVEL) -> str | None:
    """``"near"``, ``"narrow"`` or ``"wide"``: the backtest's interval coverage against the interval's ``level``.

    Near within :data:`COVERAGE_SLACK` of it (0.70 to 0.90 for 80% intervals); None when there is no coverage.

    >>> coverage_reading(0.633), coverage_reading(0.78), coverage_reading(0.95), coverage_reading(None)
    ('narrow', 'near', 'wide', None)
    """
    if coverage is None:
        return None
    if coverage < level / 100 - COVERAGE_SLACK:
        return "narrow"
    return "wide" if coverage > level / 100 + COVERAGE_SLACK else "near"


def check_horizon(horizon: object) -> int:
    """``horizon`` as a positive integer number of periods.

    >>> check_horizon(13)
    13
    """
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise CustlabError(f"horizon must be a whole number of periods >= 1 (13 weeks or 3 months is a quarter), "
                           f"got {horizon!r}.")
    return int(horizon)


def series_profile(panel: pl.DataFrame, freq: str, horizon: int, n_windows: int) -> pl.DataFrame:
    """Per series: ``n`` periods, ``intermittent``, ``negative``, ``seasonal_ok`` and ``windows`` to backtest.

    A series gets as many windows (up to ``n_windows``) as leave at least a
    year of training data before the first cutoff (so seasonal naive can be
    scored), else as many as leave :data:`MIN_TRAIN` periods (``seasonal_ok``
    False); 0 when not even one fits.
    """
    m = SEASON_LENGTH[freq]
    rows = []
    for sid, values in panel.group_by("series_id", maintain_order=True).agg(pl.col("value")).iter_rows():
        y = np.asarray(values, dtype=float)
        n = len(y)
        seasonal = min(n_windows, (n - m) // horizon) if n >= m + horizon else 0
        plain = min(n_windows, (n - MIN_TRAIN) // horizon) if n >= MIN_TRAIN + horizon else 0
        windows = seasonal if seasonal >= 1 else plain
        rows.append((sid, n, intermittent(y), bool((y < 0).any()), seasonal >= 1, windows))
    return pl.DataFrame(rows, schema={"series_id": pl.String, "n": pl.Int64, "intermittent": pl.Boolean,
                                      "negative": pl.Boolean, "seasonal_ok": pl.Boolean, "windows": pl.Int64},
                        orient="row")


@dataclass(frozen=True)
class Backtest:
    """Result of :func:`backtest`.

    Attributes
    ----------
    table
        One row per (series_id, model): ``mase``, ``wape``, ``coverage_<level>``
        (Float64, null where undefined), ``volume`` (sum of absolute actuals
        scored), ``n_windows``, ``chosen`` (True for the model auto chose);
        plus the ``auto`` rows and one overall row per model with
        ``series_id`` null and ``n_series``.
    chosen
        Per series: ``series_id``, ``model`` (auto's choice), ``intermittent``, ``n_windows``.
    summary
        Weighted MASE, WAPE and coverage of auto, naive and seasonal naive on the series all three score.
    forecasts
        The backtest's forecasts: ``series_id, cutoff, period, actual, model, mean, lo_*, hi_*``.
    unscored
        Series too short to backtest (``series_id``, ``n``, ``reason``).
    """

    freq: str
    horizon: int
    n_windows: int
    levels: tuple[int, ...]
    models: tuple[str, ...]
    table: pl.DataFrame = field(repr=False)
    chosen: pl.DataFrame = field(repr=False)
    summary: pl.DataFrame = field(repr=False)
    forecasts: pl.DataFrame = field(repr=False)
    unscored: pl.DataFrame = field(repr=False)

    def to_frame(self) -> pl.DataFrame:
        """The per-series and overall rows (:attr:`table`)."""
        return self.table

    def score(self, model: str) -> float | None:
        """Weighted MASE of ``model`` (``"auto"`` included) in :attr:`summary`, None when not scored."""
        row = self.summary.filter(pl.col("model") == model)
        return None if row.is_empty() or row["mase"][0] is None else float(row["mase"][0])

    @property
    def beats_naive(self) -> bool:
        """Auto's weighted MASE is below naive's."""
        return _below(self.score("auto"), self.score("naive"))

    @property
    def beats_seasonal_naive(self) -> bool:
        """Auto's weighted MASE is below seasonal naive's (True when seasonal naive could not be scored)."""
        snaive = self.score("seasonal_naive")
        return snaive is None or _below(self.score("auto"), snaive)

    @property
    def trusted(self) -> bool:
        """Auto beats both baselines on weighted MASE."""
        return self.score("auto") is not None and self.beats_naive and self.beats_seasonal_naive

    @property
    def verdict(self) -> str:
        """What the backtest allows one to say of the chosen models: ``"trusted"`` (they beat both baselines on
        weighted MASE), ``"untrusted"`` (they were scored and did not) or ``"untested"`` (they could not be scored:
        one window per series, which picked the models, or no series with a MASE)."""
        if self.score("auto") is None:
            return "untested"
        return "trusted" if self.trusted else "untrusted"

    @property
    def better_baseline(self) -> str | None:
        """The baseline with the lower weighted MASE (naive on a tie), None when neither was scored."""
        return min((b for b in BASELINES if self.score(b) is not None), key=self.score, default=None)

    def coverage(self, level: int = COVERAGE_LEVEL) -> float | None:
        """The share of the backtest's outcomes inside the chosen models' ``level``% intervals (None if unknown)."""
        column = f"coverage_{level}"
        row = self.summary.filter(pl.col("model") == "auto")
        if row.is_empty() or column not in row.columns or row[column][0] is None:
            return None
        return float(row[column][0])

    @property
    def by_wape(self) -> list[str]:
        """Series whose model was chosen by WAPE: no model of theirs has a MASE (a window whose training data
        never changed), so they are left out of the weighted MASE."""
        rows = self.table.filter(pl.col("series_id").is_not_null() & pl.col("chosen") & pl.col("mase").is_null())
        return sorted(rows["series_id"].to_list())

    def describe(self, language: str = "en") -> list[str]:
        """Plain sentences: auto's accuracy against the baselines, whether to plan with it, the models chosen."""
        return self.describe_verdict(language) + self._choices(language)

    def describe_verdict(self, language: str = "en") -> list[str]:
        """The sentences on accuracy alone, by :attr:`verdict`.

        * ``"untested"``: why the models could not be scored (one window per series, which chose them; or no series
          with a MASE), and the better baseline's score for comparison; never "no model beats the baselines".
        * ``"untrusted"``: the scores, and to plan with the better baseline.
        * ``"trusted"``: the scores, and whether the 80% intervals can be planned within: only when they held 70%
          to 90% of the backtest's outcomes (:func:`coverage_reading`), else that they are too narrow or wider
          than needed.

        Series without a MASE (chosen by WAPE) are counted, when some series have one.
        """
        check_language(language)
        unit = t(f"forecast.unit.{self.freq}", language)
        base = self.better_baseline
        wape_only = len(self.by_wape)
        if self.verdict == "untested":
            windows = int(self.chosen["n_windows"].max() or 0) if self.chosen.height else 0
            if windows == 0:
                return [t("forecast.backtest.none", language, unscored=self.unscored.height)]
            if windows == 1:
                out = [t("forecast.backtest.one_window", language, horizon=self.horizon, unit=unit)]
            elif wape_only == self.chosen.height:
                out = [t("forecast.backtest.no_mase", language)]
                wape_only = 0  # said already
            else:
                out = [t("forecast.backtest.unscored_models", language)]
            if base is not None:
                out.append(t("forecast.backtest.compare", language,
                             baseline=t(f"forecast.baseline.{base}", language), mase=self.score(base)))
        else:
            auto, naive, snaive = self.score("auto"), self.score("naive"), self.score("seasonal_naive")
            na = t("forecast.backtest.na", language)
            out = [t("forecast.backtest.headline", language, mase=auto, naive=_num(naive, na), snaive=_num(snaive, na),
                     n_series=int(self.summary["n_series"][0]), windows=self.n_windows, horizon=self.horizon,
                     unit=unit)]
            only_naive = "_naive" if snaive is None else ""
            if self.verdict == "trusted":
                out.append(t(f"forecast.backtest.better{only_naive}", language))
                coverage = self.coverage()
                reading = coverage_reading(coverage)
                if reading is not None:
                    out.append(t(f"forecast.backtest.coverage_{reading}", language, coverage=coverage * 100))
            elif base is not None:  # auto is scored only beside naive, so a baseline is always there
                out.append(t(f"forecast.backtest.no_better{only_naive}", language,
                             baseline=t(f"forecast.baseline.{base}", language), mase=self.score(base)))
        if wape_only:
            out.append(t("forecast.backtest.by_wape", language, n=wape_only))
        return out

    def _choices(self, language: str) -> list[str]:
        """The models chosen (the four most frequent) and the series too short to backtest."""
        out = []
        shares = self.chosen.group_by("model").len().sort("len", descending=True)
        if shares.height:
            picks = ", ".join(f"{label(m, language)} {n}" for m, n in shares.head(4).iter_rows())
            out.append(t("forecast.backtest.choices", language, picks=picks))
        if self.unscored.height:
            out.append(t("forecast.backtest.unscored", language, n=self.unscored.height))
        return out

    def __repr__(self) -> str:
        auto, naive, snaive = self.score("auto"), self.score("naive"), self.score("seasonal_naive")
        return (f"Backtest({self.chosen.height} series, {self.n_windows} windows of {self.horizon} x {self.freq}: "
                f"weighted MASE auto {_num(auto)}, naive {_num(naive)}, seasonal naive {_num(snaive)}; "
                f"trusted={self.trusted})")


def _below(a: float | None, b: float | None) -> bool:
    return a is not None and b is not None and a < b


def _num(value: float | None, missing: str = "-") -> str:
    return missing if value is None else f"{value:.2f}"


def backtest(
    series: Frame,
    *,
    horizon: int,
    models: str | Sequence[str] = "auto",
    n_windows: int = 3,
    level: Sequence[int] = (80, 95),
    festivals: Sequence[Festival] = FESTIVALS,
    n_jobs: int | None = None,
    refit: bool = True,
) -> Backtest:
    """Rolling-origin backtest of each model on each series, with the model ``"auto"`` chooses.

    Parameters
    ----------
    series
        A series frame (``series_id``, ``period``, ``value``), e.g. from
        :func:`custlab.forecast.series`.
    horizon
        Periods ahead to forecast (13 weeks or 3 months for a quarter).
    models
        ``"auto"`` (the fast models of :data:`custlab.forecast.models.AUTO`),
        ``"all"`` (adds AutoARIMA with festival flags) or a list of names from
        :data:`custlab.forecast.models.MODELS`; naive and seasonal naive are
        always scored as baselines.
    n_windows
        Backtest windows per series (fewer for short series, see :func:`series_profile`).
    level
        Interval levels whose coverage is measured.
    festivals
        Festival windows used as exogenous flags by the models that take them.
    n_jobs
        Processes for statsforecast (default: 1 below 400 series, else all cores).
    refit
        Refit every model at every cutoff (True); False fits each once, at the
        first cutoff, and rolls it forward: about three times faster on many series.

    Returns
    -------
    Backtest
        ``.to_frame()`` is one row per (series_id, model) with ``mase``,
        ``wape``, ``coverage_80``, ``coverage_95``, ``chosen``; overall rows
        have a null ``series_id``; ``.summary`` compares auto with the baselines.
        A series' ``mase`` is null when any of its windows has none (training
        data that never changed before the cutoff: the in-sample naive error
        is 0); that series' model is then chosen by WAPE, and it is left out of
        the weighted MASE of the overall rows and of ``.summary``.

    Raises
    ------
    CustlabError
        ``horizon`` is not a positive integer, an unknown model is named, or
        no series is long enough for even one window (the message gives the
        length needed).

    Examples
    --------
    >>> import datetime as dt
    >>> months = pl.date_range(dt.date(2020, 1, 1), dt.date(2023, 12, 1), "1mo", eager=True)
    >>> y = [100 + 30 * ((m.month in (6, 7, 8)) - 0.25) + i for i, m in enumerate(months)]
    >>> s = pl.DataFrame({"series_id": "sunscreen", "period": months, "value": y})
    >>> result = backtest(s, horizon=3, models=["ets"])
    >>> result.chosen["model"].to_list()  # a season plus a trend: ETS, not last year's value
    ['ets']
    >>> result.score("auto") < 0.1 < result.score("seasonal_naive")
    True
    """
    panel, freq = check_series(series)
    horizon = check_horizon(horizon)
    if isinstance(n_windows, bool) or not isinstance(n_windows, (int, np.integer)) or n_windows < 1:
        raise CustlabError(f"n_windows must be a whole number >= 1, got {n_windows!r}.")
    names = check_models(models)
    levels = check_levels(level)
    profile = series_profile(panel, freq, horizon, int(n_windows))
    need = MIN_TRAIN + horizon
    unscored = short_series(profile, pl.col("windows") == 0,
                            "history of {} periods is shorter than {} (the horizon plus {} training periods)", need,
                            MIN_TRAIN)
    if unscored.height == profile.height:
        raise EmptyDataError(
            f"No series is long enough to backtest with horizon={horizon}: the longest has {profile['n'].max()} "
            f"{freq} periods, a backtest needs at least {need}. Use a shorter horizon or a finer freq."
        )
    parts = []
    conformal = (pl.col("n") - pl.col("windows") * horizon) > 2 * horizon  # see models._runnable
    groups = profile.filter(pl.col("windows") > 0).with_columns(conformal=conformal)
    kind = ["windows", "conformal", "intermittent", "negative", "seasonal_ok"]
    for (windows, _, inter, negative, seasonal_ok), group in groups.group_by(kind):
        sub = panel.filter(pl.col("series_id").is_in(group["series_id"].implode()))
        runs = [n for n in names  # only the models that can be chosen for this kind of series are fitted
                if eligible(MODELS[n], is_intermittent=inter, has_negative=negative, seasonal_ok=seasonal_ok)]
        parts.append(run_backtest(sub, runs, freq=freq, horizon=horizon, n_windows=windows, levels=levels,
                                  festivals=festivals, n_jobs=n_jobs, refit=refit))
    forecasts = pl.concat(parts).sort("series_id", "model", "period")
    per_window = _window_errors(forecasts, panel, levels)
    table = _series_table(per_window, levels)
    chosen = _choose(table, profile)
    auto = _auto_rows(per_window, levels)
    table = table.join(chosen.select("series_id", "model", chosen=pl.lit(True)), on=["series_id", "model"],
                       how="left").with_columns(pl.col("chosen").fill_null(False))
    table = pl.concat([table, auto.with_columns(chosen=pl.lit(False))], how="diagonal_relaxed")
    overall = _overall(table, levels)
    table = pl.concat([table.with_columns(n_series=pl.lit(None, dtype=pl.Int64)), overall],
                      how="diagonal_relaxed").sort(pl.col("series_id").is_null(), "series_id", "model")
    summary = _summary(table, levels)
    return Backtest(
        freq=freq, horizon=horizon, n_windows=int(n_windows), levels=levels, models=names, table=table,
        chosen=chosen, summary=summary, forecasts=forecasts, unscored=unscored,
    )


def _window_errors(forecasts: pl.DataFrame, panel: pl.DataFrame, levels: Sequence[int]) -> pl.DataFrame:
    """Per (series, model, cutoff): mae, absolute error, volume, in-sample scale, MASE and interval hits."""
    cutoffs = forecasts.select("series_id", "cutoff").unique()
    scale = (
        panel.join(cutoffs, on="series_id").filter(pl.col("period") <= pl.col("cutoff")).sort("period")
        .group_by("series_id", "cutoff").agg(scale=pl.col("value").diff().abs().mean())
    )
    err = (pl.col("mean") - pl.col("actual")).abs()
    hits = {f"hits_{v}": ((pl.col(f"lo_{v}") <= pl.col("actual")) & (pl.col("actual") <= pl.col(f"hi_{v}"))).sum()
            for v in levels}
    has = {f"has_{v}": pl.col(f"lo_{v}").is_not_null().sum() for v in levels}
    out = (
        forecasts.group_by("series_id", "model", "cutoff")
        .agg(mae=err.mean(), abs_error=err.sum(), volume=pl.col("actual").abs().sum(), n=pl.len(),
             missing=pl.col("mean").is_null().sum(), **hits, **has)
        .join(scale, on=["series_id", "cutoff"], how="left")
    )
    return out.with_columns(
        mase=pl.when((pl.col("scale") > 0) & (pl.col("missing") == 0)).then(pl.col("mae") / pl.col("scale")),
    )


def _window_mean_mase() -> pl.Expr:
    """The mean of the windows' MASE, null when any window has none: a window is never left out of the score."""
    return pl.when(pl.col("mase").null_count() == 0).then(pl.col("mase").mean())


def _series_table(per_window: pl.DataFrame, levels: Sequence[int]) -> pl.DataFrame:
    cover = {f"coverage_{v}": pl.when(pl.col(f"has_{v}").sum() > 0)
             .then(pl.col(f"hits_{v}").sum() / pl.col(f"has_{v}").sum()) for v in levels}
    return (
        per_window.sort("series_id", "model", "cutoff")  # a fixed order of the windows: the same float sums
        .group_by("series_id", "model", maintain_order=True)
        .agg(mase=_window_mean_mase(), abs_error=pl.col("abs_error").sum(), volume=pl.col("volume").sum(),
             n_windows=pl.len().cast(pl.Int64), **cover)
        .with_columns(wape=pl.when(pl.col("volume") > 0).then(pl.col("abs_error") / pl.col("volume")))
        .select("series_id", "model", "mase", "wape", *cover, "volume", "abs_error", "n_windows")
    )


def _best(scores: pl.DataFrame, keys: Sequence[str]) -> pl.DataFrame:
    """Per ``keys`` the model with the lowest MASE (then WAPE; ties go to the simpler model); the order of :data:`PREFERENCE`.

    Models without a MASE come after those with one, ranked by WAPE: where the series' scale is 0 no model has a
    MASE, and the choice is by WAPE alone.
    """
    rank = pl.col("model").replace_strict({m: i for i, m in enumerate(PREFERENCE)}, default=len(PREFERENCE),
                                          return_dtype=pl.Int64)
    return (
        scores.sort(pl.col("mase").is_null(), pl.col("mase").fill_null(0.0), pl.col("wape").is_null(),
                    pl.col("wape").fill_null(0.0), rank)
        .group_by(*keys, maintain_order=True).first()
        .select(*keys, "model")
    )


def _choose(table: pl.DataFrame, profile: pl.DataFrame) -> pl.DataFrame:
    """Per series the model with the lowest MASE (by WAPE where none has one; ties go to the simpler model)."""
    chosen = _best(table.select("series_id", "model", "mase", "wape"), ["series_id"])
    return chosen.join(profile.select("series_id", "intermittent", n_windows="windows"), on="series_id").sort("series_id")


def _auto_rows(per_window: pl.DataFrame, levels: Sequence[int]) -> pl.DataFrame:
    """Auto's honest score: each window scored with the model chosen on the other windows."""
    cutoffs = per_window.select("series_id", "cutoff").unique()
    several = cutoffs.group_by("series_id").len().filter(pl.col("len") >= 2).select("series_id")
    held_out = cutoffs.join(several, on="series_id", how="semi").rename({"cutoff": "held_out"})
    others = (
        per_window.join(held_out, on="series_id").filter(pl.col("cutoff") != pl.col("held_out"))
        .sort("series_id", "held_out", "model", "cutoff")
        .group_by("series_id", "held_out", "model", maintain_order=True)
        .agg(mase=_window_mean_mase(), abs_error=pl.col("abs_error").sum(), volume=pl.col("volume").sum())
        .with_columns(wape=pl.when(pl.col("volume") > 0).then(pl.col("abs_error") / pl.col("volume")))
    )
    if others.is_empty():
        return pl.DataFrame(schema={"series_id": pl.String, "model": pl.String})
    choice = _best(others, ["series_id", "held_out"]).rename({"held_out": "cutoff"})
    scored = per_window.join(choice, on=["series_id", "cutoff", "model"], how="semi").with_columns(model=pl.lit("auto"))
    return _series_table(scored, levels)


def _overall(table: pl.DataFrame, levels: Sequence[int]) -> pl.DataFrame:
    """One row per model over every series it scored: volume-weighted MASE, pooled WAPE and coverage."""
    return _pooled(table.sort("model", "series_id").group_by("model", maintain_order=True), levels).with_columns(series_id=pl.lit(None, dtype=pl.String))


def _pooled(grouped, levels: Sequence[int]) -> pl.DataFrame:
    weighted = pl.col("mase").is_not_null() & (pl.col("volume") > 0)
    cover = {f"coverage_{v}": (pl.col(f"coverage_{v}") * pl.col("n_windows")).sum()
             / pl.col("n_windows").filter(pl.col(f"coverage_{v}").is_not_null()).sum() for v in levels}
    return grouped.agg(
        mase=(pl.col("mase") * pl.col("volume")).filter(weighted).sum() / pl.col("volume").filter(weighted).sum(),
        wape=pl.when(pl.col("volume").sum() > 0).then(pl.col("abs_error").sum() / pl.col("volume").sum()),
        volume=pl.col("volume").sum(), abs_error=pl.col("abs_error").sum(),
        n_windows=pl.col("n_windows").max(), n_series=pl.len().cast(pl.Int64), **cover,
    ).with_columns([pl.when(pl.col(c).is_nan()).then(None).otherwise(pl.col(c)).alias(c)
                    for c in ("mase", *[f"coverage_{v}" for v in levels])])


def _summary(table: pl.DataFrame, levels: Sequence[int]) -> pl.DataFrame:
    """Auto against the baselines, on the series where all of them are scored (with a MASE)."""
    rows = table.filter(pl.col("series_id").is_not_null() & pl.col("model").is_in(["auto", *BASELINES]))
    present = rows.filter(pl.col("mase").is_not_null()).group_by("series_id").agg(pl.col("model").n_unique())
    needed = rows["model"].n_unique()
    common = present.filter(pl.col("model") == needed)["series_id"]
    order = {"auto": 0, "naive": 1, "seasonal_naive": 2}
    out = _pooled(rows.filter(pl.col("series_id").is_in(common.implode())).sort("model", "series_id")
                  .group_by("model", maintain_order=True), levels)
    return out.sort(pl.col("model").replace_strict(order, default=9)).select(
        "model", "mase", "wape", *[f"coverage_{v}" for v in levels], "n_series")


def horizon_dates(last: dt.date, freq: str, horizon: int) -> list[dt.date]:
    """The ``horizon`` periods after ``last``."""
    from custlab.forecast.series import shift_periods

    return [shift_periods(last, freq, k) for k in range(1, horizon + 1)]
