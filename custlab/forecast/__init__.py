"""Demand forecasting per category and product, with accuracy against naive baselines and alerts.

::

    import custlab as cl
    s = cl.forecast.series(tx, by="category", freq="1w", measure="units")   # series_id, period, value
    bt = cl.forecast.backtest(s, horizon=13)            # MASE/WAPE per series and model, vs the baselines
    fc = cl.forecast.forecast(s, horizon=13, backtest=bt)   # each series by the model its backtest chose
    h = cl.forecast.hierarchy_series(tx, levels=("category", "product_id"), freq="1mo")
    fc = cl.forecast.reconcile(cl.forecast.forecast(h.series, horizon=3), h)   # categories = sum of products
    cl.forecast.heat_alerts(s)                          # 30% above the forecast: restock + campaign
    cl.forecast.demand_outlook(tx)                      # the report's "Demand outlook"

Models are statsforecast's (:mod:`custlab.forecast.models`), imported on
first use only. Series, backtest, hierarchy, events (festivals), alerts,
outlook and plots each have their module.
"""

from custlab.forecast.alerts import ACTIONS, KINDS, Alerts, heat_alerts, stock_alerts
from custlab.forecast.backtest import Backtest, backtest
from custlab.forecast.events import FESTIVALS, Festival, event_flags, festival_calendar, fixed_day, lunar_day
from custlab.forecast.hierarchy import METHODS, Hierarchy, hierarchy_series, reconcile
from custlab.forecast.models import BASELINES, MODELS
from custlab.forecast.outlook import DemandOutlook, demand_outlook
from custlab.forecast.plots import plot_backtest, plot_demand_outlook, plot_forecast
from custlab.forecast.predict import Forecast, forecast
from custlab.forecast.series import FREQS, ForecastWarning, series

__all__ = [
    "ACTIONS", "BASELINES", "FESTIVALS", "FREQS", "KINDS", "METHODS", "MODELS", "Alerts", "Backtest", "DemandOutlook",
    "Festival", "Forecast", "ForecastWarning", "Hierarchy", "backtest", "demand_outlook", "event_flags",
    "festival_calendar", "fixed_day", "forecast", "heat_alerts", "hierarchy_series", "lunar_day", "plot_backtest",
    "plot_demand_outlook", "plot_forecast", "reconcile", "series", "stock_alerts",
]
