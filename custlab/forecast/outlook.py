"""The report's "Demand outlook": the next months per top category, with intervals, alerts and accuracy.

:func:`demand_outlook` turns transactions into one frozen
:class:`DemandOutlook`:

1. monthly revenue of the ``top_n`` groups (``by``: ``category`` when the
   data have it, else ``product_id``; ranked by revenue in the last 12 months)
   and of all the others together (``"Other"``), under the shop's total;
2. a forecast of each (the model each series' rolling-origin backtest picks)
   with 80%/95% intervals, reconciled (MinT) so the groups add up to the total;
3. the backtest's accuracy against naive and seasonal naive, and ``trusted``:
   True only when the chosen models beat both on weighted MASE (``verdict``
   also tells "untrusted" from "untested": models that could not be scored);
4. alerts: stock-out/overstock risk per group from the intervals, and "heat
   rising" for the best-selling products in the latest week (30% above the
   forecast and beyond its 95% interval; units when the data have ``quantity``).
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import polars as pl

from custlab._dates import as_datetime, as_of_after
from custlab._i18n import check_language, label, t
from custlab._types import DateLike, Frame
from custlab.data.schema import check_frame, naive_datetimes, require_columns
from custlab.exceptions import CustlabError
from custlab.forecast.alerts import Alerts, heat_alerts, stock_alerts
from custlab.forecast.backtest import Backtest
from custlab.forecast.hierarchy import hierarchy_series, reconcile
from custlab.forecast.models import BASELINES
from custlab.forecast.predict import Forecast, forecast
from custlab.forecast.series import TOTAL, ForecastWarning, series, shift_periods

__all__ = ["OTHER", "DemandOutlook", "demand_outlook"]

#: Name of the group holding everything outside the top groups.
OTHER = "Other"
#: Products watched for heat alerts.
HEAT_PRODUCTS = 20
#: Default rise (or fall) beyond the forecast that triggers an alert.
THRESHOLD = 0.30
#: Longest product name shown (longer ones are cut, with an ellipsis).
NAME_CHARS = 32
#: Months of history a yearly season needs (two years); with fewer, :meth:`DemandOutlook.season_gap` applies.
SEASON_MONTHS = 24
#: How far from the same months last year the models' total may be before a short history's outlook says so.
SEASON_GAP = 0.5


@dataclass(frozen=True)
class DemandOutlook:
    """Result of :func:`demand_outlook`.

    Attributes
    ----------
    as_of
        First instant not in the history.
    by
        The grouping column.
    groups
        The top groups, by revenue in the last 12 months, then ``"Other"`` if any.
    forecast
        The reconciled monthly :class:`~custlab.forecast.Forecast` (total and groups).
    backtest
        Its rolling-origin :class:`~custlab.forecast.Backtest`, or None when the history is too short.
    alerts
        Stock risks of the groups and heat alerts of the top products.
    notes
        Caveats met on the way (in English; keys of the catalogue).
    names
        The product name of each group and of each product alerted on, when the groups are products
        (``by="product_id"`` and the lines have ``product_name``: the name on the product's latest line), else
        empty. Charts, sentences and the report show a product as "name (id)" (:meth:`name_of`).
    heat_measure
        What the heat alerts count: ``"units"`` sold (when the lines have a quantity) or ``"revenue"``; the
        stock alerts always count revenue.
    """

    as_of: dt.datetime
    by: str
    groups: tuple[str, ...]
    forecast: Forecast = field(repr=False)
    backtest: Backtest | None = field(repr=False)
    alerts: Alerts = field(repr=False)
    notes: tuple[str, ...] = ()
    names: Mapping[str, str] = field(default_factory=dict, repr=False)
    heat_measure: str = "revenue"

    def name_of(self, series_id: str, language: str = "en") -> str:
        """How a group is shown: "All sales" for the total, "name (id)" for a product with a name, else its label."""
        if series_id == TOTAL:
            return t("forecast.outlook.total", language)
        name = self.names.get(series_id)
        if not name:
            return label(series_id, language)
        short = name if len(name) <= NAME_CHARS else name[:NAME_CHARS - 1].rstrip() + "…"
        return f"{short} ({series_id})"

    @property
    def trusted(self) -> bool:
        """The chosen models beat naive and seasonal naive on weighted MASE in the backtest."""
        return self.backtest is not None and self.backtest.trusted

    def to_frame(self) -> pl.DataFrame:
        """Next months per group and the total: ``series_id``, ``period``, ``model``, ``mean``, ``lo_*``, ``hi_*``."""
        order = {g: i for i, g in enumerate((TOTAL, *self.groups))}
        return self.forecast.table.sort(pl.col("series_id").replace_strict(order, default=99), "period")

    @property
    def summary(self) -> pl.DataFrame:
        """Per group and total: forecast over the horizon, the same months a year earlier, change, model."""
        order = {g: i for i, g in enumerate((TOTAL, *self.groups))}
        return self.forecast.summary.sort(pl.col("series_id").replace_strict(order, default=99))

    @property
    def accuracy(self) -> pl.DataFrame:
        """Weighted MASE, WAPE and interval coverage of the chosen models and of the two baselines."""
        if self.backtest is None:
            return pl.DataFrame(schema={"model": pl.String, "mase": pl.Float64, "wape": pl.Float64})
        return self.backtest.summary

    @property
    def verdict(self) -> str:
        """``"trusted"``, ``"untrusted"`` or ``"untested"`` (no backtest, or the models not scored): see
        :attr:`custlab.forecast.Backtest.verdict`."""
        return "untested" if self.backtest is None else self.backtest.verdict

    def baseline_forecast(self, baseline: str) -> pl.DataFrame:
        """A baseline's forecast of each month ahead: ``series_id``, ``period``, ``value`` (null when unknown).

        ``"naive"`` holds each series' last month; ``"seasonal_naive"`` repeats the same month a year earlier.
        """
        if baseline not in BASELINES:
            raise CustlabError(f"baseline must be one of {list(BASELINES)}, got {baseline!r}.")
        months = self.forecast.table.select("series_id", "period")
        history = self.forecast.history.select("series_id", "period", "value")
        if baseline == "naive":
            last = history.sort("period").group_by("series_id").agg(pl.col("value").last())
            return months.join(last, on="series_id", how="left")
        ago = months.with_columns(source=pl.col("period").dt.offset_by("-12mo"))
        return (ago.join(history.rename({"period": "source"}), on=["series_id", "source"], how="left")
                .select("series_id", "period", "value"))

    def baseline_total(self, baseline: str) -> float | None:
        """The baseline's forecast of the shop's total over the horizon (None when a month of it is unknown)."""
        rows = self.baseline_forecast(baseline).filter(pl.col("series_id") == TOTAL)
        if rows.height != self.forecast.horizon or rows["value"].null_count():
            return None
        return float(rows["value"].sum())

    def season_gap(self) -> dict[str, float] | None:
        """When the models cannot have learned a yearly season and stray far from last year's same months.

        With under :data:`SEASON_MONTHS` months of history no model can estimate a yearly season, so a shop with a
        Christmas peak sees November carried into the new year (Online Retail II at 2010-12-01: +102% on the same
        months of the year before). Returns ``history`` (months of the total's history), ``seasonal`` (the same
        months last year, the seasonal naive forecast), ``value`` (the models' total) and ``change`` when the
        models' total is more than :data:`SEASON_GAP` away from ``seasonal``; else None.
        """
        history = self.forecast.history.filter(pl.col("series_id") == TOTAL).height
        seasonal = self.baseline_total("seasonal_naive")
        if history >= SEASON_MONTHS or seasonal is None or seasonal <= 0:
            return None
        value = float(self.forecast.table.filter(pl.col("series_id") == TOTAL)["mean"].sum())
        change = value / seasonal - 1
        if abs(change) <= SEASON_GAP:
            return None
        return {"history": float(history), "seasonal": seasonal, "value": value, "change": change}

    def describe(self, language: str = "en") -> list[str]:
        """Plain sentences: the outlook per group, what its backtest allows, and the alerts.

        The verdict follows :meth:`custlab.forecast.Backtest.describe_verdict`, as the report's page does: models
        that cannot be backtested are said to be untested (with the better baseline's figure for comparison); when
        no model beats both naive baselines, the better baseline's figure over the horizon is the one to plan with;
        the 80% intervals are to plan within only when the backtest found them near 80%.
        """
        check_language(language)
        first = self.forecast.first_period
        last = shift_periods(first, self.forecast.freq, self.forecast.horizon - 1)
        out = [t("forecast.outlook.head", language, months=self.forecast.horizon, first=f"{first:%Y-%m}",
                 last=f"{last:%Y-%m}", by=label(self.by, language))]
        for row in self.summary.iter_rows(named=True):
            name = self.name_of(row["series_id"], language)
            span = self.forecast.table.filter(pl.col("series_id") == row["series_id"])
            lo, hi = float(span["lo_80"].sum()), float(span["hi_80"].sum())
            if row["change"] is None:
                out.append(t("forecast.outlook.group", language, name=name, value=row["forecast"], lo=lo, hi=hi))
            else:
                out.append(t("forecast.outlook.group_change", language, name=name, value=row["forecast"], lo=lo, hi=hi,
                             change=round(row["change"] * 100) + 0))  # never "-0%"
        out.extend(self._verdict(language))
        gap = self.season_gap()
        if gap is not None:
            out.append(t("forecast.outlook.no_season", language, history=int(gap["history"]),
                         change=round(gap["change"] * 100) + 0, seasonal=gap["seasonal"]))
        out.extend(self.alerts.describe(language, name_of=lambda series_id: self.name_of(series_id, language),
                                        heat_units=self.heat_measure == "units"))
        out.extend(t(f"forecast.note.{note}", language) for note in self.notes)
        return out

    def _verdict(self, language: str) -> list[str]:
        """The backtest's verdict, and the better baseline's figure when the models are not the plan."""
        if self.backtest is None:
            return [t("forecast.outlook.untested", language)]
        out = self.backtest.describe_verdict(language)
        baseline = self.backtest.better_baseline
        plan = self.baseline_total(baseline) if baseline is not None and self.verdict != "trusted" else None
        if plan is not None:
            totals = self.forecast.table.filter(pl.col("series_id") == TOTAL)
            fields = {"baseline": t(f"forecast.baseline.{baseline}", language), "plan": plan,
                      "months": self.forecast.horizon, "value": float(totals["mean"].sum())}
            key = "forecast.outlook.plan" if self.verdict == "untrusted" else "forecast.outlook.compare"
            out.append(t(key, language, **fields))
        return out

    def __repr__(self) -> str:
        total = self.forecast.table.filter(pl.col("series_id") == TOTAL)["mean"].sum()
        return (f"DemandOutlook(as_of {self.as_of:%Y-%m-%d}, by {self.by}, {len(self.groups)} groups, next "
                f"{self.forecast.horizon} months total {total:,.0f}, trusted={self.trusted}, {self.alerts.table.height} alerts)")


def demand_outlook(
    transactions: Frame,
    *,
    as_of: DateLike | None = None,
    by: str | None = None,
    top_n: int = 5,
    horizon: int = 3,
    threshold: float = THRESHOLD,
    language: str = "en",
    n_jobs: int | None = None,
    groups: Sequence[str] | None = None,
) -> DemandOutlook:
    """The next ``horizon`` months of revenue per top group, with intervals, accuracy and alerts.

    Parameters
    ----------
    transactions
        Order lines with ``order_date``, ``amount`` and ``by`` (and
        ``product_id`` for heat alerts when ``by`` is another column).
    as_of
        First instant not in the history (see :mod:`custlab._dates`); default
        the midnight after the last order. Only whole months before it count.
    by
        Grouping column; default ``"category"`` if present, else ``"product_id"``.
    top_n
        Groups shown; the rest are summed into ``"Other"``.
    horizon
        Months ahead.
    threshold
        Rise (or fall) that triggers an alert (0.30 = 30%).
    language
        Checked here so a bad value fails early; the result writes any language.
    n_jobs
        Processes for statsforecast.
    groups
        The groups to show, ranked already (default: the ``top_n`` with most
        revenue in the year before ``as_of``). ``custlab report --engine``
        ranks them on the engine and passes monthly sums as ``transactions``.

    Returns
    -------
    DemandOutlook
        Frozen; ``.to_frame()``, ``.summary``, ``.accuracy``, ``.alerts``, ``.trusted``, ``.describe(language)``.
    """
    check_language(language)
    check_frame(transactions, argument="transactions")
    transactions = naive_datetimes(transactions)  # a zone-aware order_date as validate reads it
    if isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1:
        raise CustlabError(f"top_n must be a whole number >= 1, got {top_n!r}.")
    columns = transactions.collect_schema().names()
    by = by or ("category" if "category" in columns else "product_id")
    require_columns(transactions, ["order_date", "amount", by], purpose="for the demand outlook")
    frame = transactions.lazy()
    as_of_dt = as_datetime(as_of)
    if as_of_dt is None:
        as_of_dt = as_of_after(frame.select(pl.col("order_date").max()).collect().item())
    frame = frame.filter(pl.col("order_date") < as_of_dt)
    year_start = as_of_dt - dt.timedelta(days=365)
    if groups is None:
        ranking = (frame.filter(pl.col("order_date") >= year_start).group_by(by).agg(pl.col("amount").sum())
                   .sort("amount", by, descending=[True, False]).collect())
        top = [str(v) for v in ranking[by].head(top_n).to_list() if v is not None]
    else:
        top = [str(v) for v in groups][:top_n]
    grouped = frame.with_columns(_group=pl.when(pl.col(by).cast(pl.String).is_in(top))
                                 .then(pl.col(by).cast(pl.String)).otherwise(pl.lit(OTHER)))
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ForecastWarning)
        tree = hierarchy_series(grouped, levels=("_group",), freq="1mo", as_of=as_of_dt)
        base = forecast(tree.series, horizon=horizon, n_jobs=n_jobs)
        result = reconcile(base, tree, method="mint_shrink")
        alerts = stock_alerts(result, threshold=threshold)
        alerts = replace(alerts, table=alerts.table.filter(pl.col("series_id").is_in(top)))  # not the total or Other
        alerts = alerts + _heat(frame, by, top, as_of_dt, threshold, n_jobs)
    if result.reconciled != "mint_shrink":
        notes.append("reconciled_wls")
    if any(issubclass(w.category, ForecastWarning) and "not forecast" in str(w.message) for w in caught):
        notes.append("skipped")
    groups = tuple(g for g in (*top, OTHER) if g in set(tree.nodes["series_id"].to_list()))
    shown = [*top, *alerts.table["series_id"].to_list()]  # the groups and the products alerted on
    names = _product_names(frame, shown) if by == "product_id" and "product_name" in columns else {}
    return DemandOutlook(as_of=as_of_dt, by=by, groups=groups, forecast=result, backtest=result.backtest,
                         alerts=alerts, notes=tuple(notes), names=names, heat_measure=_heat_measure(frame))


def _product_names(frame: pl.LazyFrame, ids: Sequence[str]) -> dict[str, str]:
    """The name on each product's latest line (a shop may rename a product; the latest is what staff know; of two
    names at that instant, the last in sort order)."""
    named = (frame.filter(pl.col("product_id").cast(pl.String).is_in(list(ids)) & pl.col("product_name").is_not_null())
             .group_by(pl.col("product_id").cast(pl.String))
             .agg(pl.col("product_name").cast(pl.String).sort_by("order_date", pl.col("product_name").cast(pl.String))
                  .last())
             .collect())
    return {i: n.strip() for i, n in named.iter_rows() if n and n.strip()}


def _heat(frame: pl.LazyFrame, by: str, top: list[str], as_of: dt.datetime, threshold: float,
          n_jobs: int | None) -> Alerts:
    """Heat alerts of the best-selling products (of the top groups) in the latest complete week."""
    if "product_id" not in frame.collect_schema().names():
        return Alerts.empty(threshold, 95)
    products = frame.filter(pl.col(by).cast(pl.String).is_in(top)) if by != "product_id" else frame
    recent = as_of - dt.timedelta(weeks=13)
    best = (products.filter(pl.col("order_date") >= recent).group_by("product_id").agg(pl.col("amount").sum())
            .sort("amount", "product_id", descending=[True, False]).head(HEAT_PRODUCTS).collect()["product_id"])
    weekly = series(products.filter(pl.col("product_id").is_in(best.implode())), by="product_id", freq="1w",
                    measure=_heat_measure(frame), as_of=as_of)
    return heat_of(weekly, threshold, n_jobs)


def _heat_measure(frame: pl.LazyFrame) -> str:
    """What heat alerts count: units sold when the lines have a quantity (one big order is no heat), else revenue."""
    return "units" if "quantity" in frame.collect_schema().names() else "revenue"


def heat_of(weekly: pl.DataFrame, threshold: float, n_jobs: int | None) -> Alerts:
    """Heat alerts of weekly product series (no alert when no product has history enough to judge)."""
    try:
        return heat_alerts(weekly, threshold=threshold, level=95, n_jobs=n_jobs)
    except CustlabError:  # too little history for any product: no heat alert can be judged
        return Alerts.empty(threshold, 95)
