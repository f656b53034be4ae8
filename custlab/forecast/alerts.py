"""Alerts from demand series and forecasts, each with the action to take.

* **Heat rising** (:func:`heat_alerts`): the latest ``recent`` periods sold at
  least ``threshold`` (default 30%) more than expected *and* more than the
  upper bound of the expectation's interval, so noise alone rarely fires it.
  The expectation is a forecast of those periods from the history before
  them (``basis="forecast"``, the model the backtest picks) or the last
  period before them (``basis="last_period"``: the naive model and its
  interval). Action: restock and a campaign, within ``respond_within`` (7
  days by default).
* **Stock-out risk / overstock risk** (:func:`stock_alerts`): from a
  :class:`~custlab.forecast.Forecast`'s intervals over its horizon. With a
  ``stock`` table (``series_id``, ``on_hand``): stock-out when the stock is
  below the upper bound of the demand (restock, or a pre-sale for
  intermittent long-tail items), overstock when it exceeds it by more than
  ``threshold`` (markdown). Without stock: the same horizon of the latest
  history stands in for it; stock-out risk when even the lower bound is
  ``threshold`` above it, overstock risk when even the upper bound is
  ``threshold`` below it.

Interval bounds of a span are the sums of the periods' bounds: wider than the
interval of the sum, so the alerts err on the side of silence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import polars as pl

from custlab._dates import parse_within
from custlab._i18n import check_language, label, t
from custlab._types import Frame
from custlab.exceptions import CustlabError, SchemaError
from custlab.forecast.models import check_levels
from custlab.forecast.predict import Forecast, forecast
from custlab.forecast.series import check_series, period_end

__all__ = ["ACTIONS", "KINDS", "Alerts", "heat_alerts", "stock_alerts"]

#: Alert kinds and the actions they suggest.
KINDS: tuple[str, ...] = ("heat_rising", "stockout_risk", "overstock_risk")
ACTIONS: tuple[str, ...] = ("restock_campaign", "restock", "pre_sale", "markdown")
#: Models whose items are long-tail (intermittent): their stock-outs call for a pre-sale.
_LONG_TAIL = ("croston", "tsb", "adida")
_COLUMNS = {
    "series_id": pl.String, "kind": pl.String, "period": pl.Date, "actual": pl.Float64, "expected": pl.Float64,
    "bound": pl.Float64, "change": pl.Float64, "action": pl.String, "respond_by": pl.Date,
}


@dataclass(frozen=True)
class Alerts:
    """Alerts with their suggested actions.

    ``table``: ``series_id``, ``kind`` (one of :data:`KINDS`), ``period``
    (first period concerned), ``actual`` (recent demand, or stock on hand),
    ``expected`` (the forecast), ``bound`` (the interval bound crossed),
    ``change`` (actual / expected - 1 for heat; expected / actual - 1 for
    stock risks), ``action`` (one of :data:`ACTIONS`), ``respond_by`` (Date).
    """

    table: pl.DataFrame = field(repr=False)
    threshold: float
    level: int

    @classmethod
    def empty(cls, threshold: float = 0.30, level: int = 95) -> Alerts:
        """No alerts."""
        return cls(table=_empty(), threshold=threshold, level=level)

    def to_frame(self) -> pl.DataFrame:
        """The alerts (:attr:`table`), largest changes first."""
        return self.table

    @property
    def summary(self) -> pl.DataFrame:
        """Alerts per kind and action."""
        return self.table.group_by("kind", "action").len(name="alerts").sort("kind", "action")

    def __add__(self, other: Alerts) -> Alerts:
        return Alerts(table=pl.concat([self.table, other.table]), threshold=self.threshold, level=self.level)

    def describe(self, language: str = "en", *, top_n: int = 5,
                 name_of: Callable[[str], str] | None = None, heat_units: bool = False) -> list[str]:
        """One sentence per alert (the ``top_n`` largest of each kind), or one saying there are none. ``name_of``
        gives how a series is named (default: its id); ``heat_units`` says that heat alerts count units sold."""
        check_language(language)
        if self.table.is_empty():
            return [t("forecast.alert.none", language, threshold=self.threshold * 100)]
        out = []
        for kind in KINDS:
            rows = self.table.filter(pl.col("kind") == kind).head(top_n)
            for row in rows.iter_rows(named=True):
                series_name = row["series_id"] if name_of is None else name_of(row["series_id"])
                key = f"forecast.alert.{kind}_units" if heat_units and kind == "heat_rising" else f"forecast.alert.{kind}"
                out.append(t(key, language, series=series_name, period=str(row["period"]),
                             actual=row["actual"], expected=row["expected"], change=abs(row["change"]) * 100,
                             action=label(row["action"], language), respond_by=str(row["respond_by"])))
        return out

    def __repr__(self) -> str:
        counts = dict(self.table.group_by("kind").len().iter_rows())
        return f"Alerts({self.table.height} alerts {counts}, threshold {self.threshold:.0%}, level {self.level}%)"


def _check_threshold(threshold: float) -> float:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold < 10:
        raise CustlabError(f"threshold must be a share such as 0.3 (30%), got {threshold!r}.")
    return float(threshold)


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=_COLUMNS)


def heat_alerts(
    series: Frame,
    *,
    threshold: float = 0.30,
    recent: int = 1,
    level: int = 95,
    basis: Literal["forecast", "last_period"] = "forecast",
    models: str | Sequence[str] = "auto",
    respond_within: str | dt.timedelta = "7d",
    min_expected: float = 5.0,
    n_jobs: int | None = None,
) -> Alerts:
    """Series whose latest ``recent`` periods sold ``threshold`` more than expected, beyond the interval.

    Parameters
    ----------
    series
        A series frame (``series_id``, ``period``, ``value``).
    threshold
        Smallest rise that counts (0.30: 30% above the expectation).
    recent
        How many of the latest periods are compared (their sum).
    level
        Interval level whose upper bound must be exceeded too.
    basis
        ``"forecast"``: a forecast from the history before the recent
        periods (``models`` chooses it); ``"last_period"``: the value of the
        period before them (naive model and its interval).
    models
        Model choice for ``basis="forecast"`` (as in :func:`custlab.forecast.forecast`).
    respond_within
        Time to act (``respond_by`` = end of the latest period + this), e.g. "7d".
    min_expected
        Series expected to sell less than this over the recent periods (in
        the series' unit) are not judged: a few units more is no trend.
    n_jobs
        Processes for statsforecast.

    Returns
    -------
    Alerts
        ``kind = "heat_rising"``, ``action = "restock_campaign"``.
    """
    threshold = _check_threshold(threshold)
    (level,) = check_levels(level)
    respond = parse_within(respond_within, "respond_within")
    if isinstance(recent, bool) or not isinstance(recent, int) or recent < 1:
        raise CustlabError(f"recent must be a whole number of periods >= 1, got {recent!r}.")
    if basis not in ("forecast", "last_period"):
        raise CustlabError(f"basis must be 'forecast' or 'last_period', got {basis!r}.")
    panel, freq = check_series(series)
    last = panel["period"].max()
    cut = panel.group_by("series_id").agg(pl.col("period").sort().tail(recent).min().alias("first_recent"))
    history = panel.join(cut, on="series_id").filter(pl.col("period") < pl.col("first_recent")).drop("first_recent")
    actual = panel.join(cut, on="series_id").filter(pl.col("period") >= pl.col("first_recent")).group_by(
        "series_id").agg(actual=pl.col("value").sum(), period=pl.col("period").min(), n=pl.len())
    result = forecast(history, horizon=recent, level=(level,), models="naive" if basis == "last_period" else models,
                      n_jobs=n_jobs)
    expected = result.table.group_by("series_id").agg(expected=pl.col("mean").sum(), bound=pl.col(f"hi_{level}").sum())
    respond_by = period_end(last, freq) - dt.timedelta(days=1) + respond
    out = (
        actual.filter(pl.col("n") == recent).join(expected, on="series_id")
        .filter((pl.col("actual") > (1 + threshold) * pl.col("expected")) & (pl.col("actual") > pl.col("bound"))
                & (pl.col("expected") >= min_expected))
        .with_columns(kind=pl.lit("heat_rising"), action=pl.lit("restock_campaign"),
                      change=pl.when(pl.col("expected") > 0).then(pl.col("actual") / pl.col("expected") - 1)
                      .otherwise(None), respond_by=pl.lit(respond_by.date() if isinstance(respond_by, dt.datetime)
                                                           else respond_by))
    )
    out = out.with_columns(change=pl.col("change").fill_null(pl.lit(threshold))) if out.height else out
    table = pl.concat([_empty(), out.select(list(_COLUMNS)).cast(_COLUMNS)]).sort("change", descending=True)
    return Alerts(table=table, threshold=threshold, level=level)


def stock_alerts(
    result: Forecast,
    *,
    stock: Frame | None = None,
    threshold: float = 0.30,
    level: int = 80,
    respond_within: str | dt.timedelta = "7d",
) -> Alerts:
    """Stock-out and overstock risks over a forecast's horizon, from its intervals.

    Parameters
    ----------
    result
        A :class:`~custlab.forecast.Forecast` (its ``level`` must include ``level``).
    stock
        Optional ``series_id``, ``on_hand`` (units or money, as the series).
        Without it, the latest ``horizon`` periods of history stand in for it.
    threshold
        Share by which demand must rise (fall) beyond the stock, or the recent demand, to alert.
    level
        Interval level used.
    respond_within
        Time to act from the end of the history.

    Returns
    -------
    Alerts
        ``stockout_risk`` (action ``restock``, or ``pre_sale`` for series
        forecast by an intermittent-demand model) and ``overstock_risk``
        (action ``markdown``).
    """
    threshold = _check_threshold(threshold)
    (level,) = check_levels(level)
    if level not in result.levels:
        raise CustlabError(f"level={level} is not among the forecast's levels {result.levels}; forecast with "
                           f"level=({level}, ...) or pick one of them.")
    respond = parse_within(respond_within, "respond_within")
    span = result.table.group_by("series_id").agg(
        expected=pl.col("mean").sum(), lo=pl.col(f"lo_{level}").sum(), hi=pl.col(f"hi_{level}").sum(),
        period=pl.col("period").min(), model=pl.col("model").first())
    if stock is not None:
        present = stock.collect_schema().names()
        if not {"series_id", "on_hand"} <= set(present):
            raise SchemaError(f"stock needs columns series_id and on_hand; it has {present}.")
        base = stock.lazy().select(pl.col("series_id").cast(pl.String), actual=pl.col("on_hand").cast(pl.Float64)).collect()
        rise = pl.col("hi") > pl.col("actual")
        fall = pl.col("actual") > (1 + threshold) * pl.col("hi")
    else:
        recent = result.history.sort("period").group_by("series_id").agg(
            actual=pl.col("value").tail(result.horizon).sum(), n=pl.len())
        base = recent.filter(pl.col("n") >= result.horizon).drop("n")
        rise = pl.col("lo") >= (1 + threshold) * pl.col("actual")
        fall = pl.col("hi") <= (1 - threshold) * pl.col("actual")
    start = result.first_period
    respond_by = start - dt.timedelta(days=1) + respond
    joined = span.join(base, on="series_id").filter(pl.col("actual") > 0)
    change = pl.col("expected") / pl.col("actual") - 1
    out = pl.concat([
        joined.filter(rise).with_columns(
            kind=pl.lit("stockout_risk"), bound=pl.col("hi" if stock is not None else "lo"),
            action=pl.when(pl.col("model").is_in(list(_LONG_TAIL))).then(pl.lit("pre_sale")).otherwise(pl.lit("restock"))),
        joined.filter(fall).with_columns(kind=pl.lit("overstock_risk"), bound=pl.col("hi"), action=pl.lit("markdown")),
    ]).with_columns(change=change, respond_by=pl.lit(respond_by))
    table = pl.concat([_empty(), out.select(list(_COLUMNS)).cast(_COLUMNS)]).sort(pl.col("change").abs(), descending=True)
    return Alerts(table=table, threshold=threshold, level=level)
