"""Stage ``demand``: weekly demand series with planted seasonality, festival spikes, a trend and a surge.

The shop's transactions carry the seasonal products too (sunscreen by month,
down jackets by month, gifts in festival windows), but at a few orders a week
per product their noise hides the shape. This stage plants a panel of weekly
unit demand where every component is known, for the forecasting tests
(:mod:`custlab.forecast`): each week's units are Poisson with mean

    ``level * season(month) * (1 + festival_lift * festival share) * trend(t) * surge(t)``

* ``sunscreen`` and ``down_jacket`` follow ``SUNSCREEN_BY_MONTH`` and
  ``DOWN_JACKET_BY_MONTH`` (scaled to peak at ``level``);
* ``gift_box`` sells ``1 + DEMAND_FESTIVAL_LIFT`` times its level in the
  shop's festival windows (the 28 days up to Chinese New Year and Double 11),
  pro rata to the share of the week inside a window;
* ``tea`` grows linearly by ``DEMAND_TREND`` over the period;
* ``noise_20``, ``noise_50``, ``noise_100`` are flat (controls: no alert may fire);
* ``surge`` is flat but its last ``DEMAND_SURGE_WEEKS`` weeks sell
  ``1 + DEMAND_SURGE`` times its level (the heat alert must fire).

Only weeks wholly inside the period are made (Monday to Sunday). The panel
(``["series"]`` of the result) has ``series_id``, ``period`` (Date, Monday),
``value`` (Float64 units) and ``expected`` (the planted mean). The stage draws
from its own stream ``"demand"``, so it changes no table of
:func:`custlab.synthetic.make_shop`; :func:`make_demand` runs it on the
calendar ``make_shop`` would use for the same ``start`` and ``months``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import polars as pl

from custlab.synthetic.params import (
    DEMAND_FESTIVAL_LIFT, DEMAND_LEVELS, DEMAND_SURGE, DEMAND_SURGE_WEEKS, DEMAND_TREND, DOWN_JACKET_BY_MONTH,
    SUNSCREEN_BY_MONTH,
)
from custlab.synthetic.params import stage_rng
from custlab.synthetic.timeline import Calendar, calendar, check_arguments

__all__ = ["demand_panel", "make_demand"]


def make_demand(*, start: str | dt.date = "2023-01-01", months: int = 24, seed: int = 0) -> dict[str, Any]:
    """The planted weekly demand panel of the shop's period, with its parameters.

    >>> demand = make_demand(months=24, seed=1)
    >>> demand["series"]["series_id"].n_unique(), demand["surge"]["rise"]
    (8, 0.6)
    """
    first = check_arguments(1, start, months, seed, 0.0, 0.0)
    return demand_panel(stage_rng(seed, "demand"), calendar(first, int(months)))


def demand_panel(rng: np.random.Generator, cal: Calendar) -> dict[str, Any]:
    """The planted weekly demand panel and its parameters (``truth["demand"]``)."""
    first = cal.start + dt.timedelta(days=(7 - cal.start.weekday()) % 7)
    weeks = (cal.end - first).days // 7
    if weeks < 1:
        series = pl.DataFrame(schema={"series_id": pl.String, "period": pl.Date, "value": pl.Float64,
                                      "expected": pl.Float64})
        return {"series": series, **_planted()}
    mondays = np.datetime64(first, "D") + 7 * np.arange(weeks)
    offset = (mondays - np.datetime64(cal.start, "D")).astype(np.int64)
    days = offset[:, None] + np.arange(7)[None, :]  # day index of each day of each week
    month = cal.month_of_day[days]  # 0 = January
    festival = cal.in_festival[days].mean(axis=1)
    progress = np.arange(weeks) / max(weeks - 1, 1)
    sun = np.asarray(SUNSCREEN_BY_MONTH)[month].mean(axis=1) / max(SUNSCREEN_BY_MONTH)
    jacket = np.asarray(DOWN_JACKET_BY_MONTH)[month].mean(axis=1) / max(DOWN_JACKET_BY_MONTH)
    surge = np.ones(weeks)
    surge[-DEMAND_SURGE_WEEKS:] = 1 + DEMAND_SURGE
    shapes = {
        "sunscreen": sun,
        "down_jacket": jacket,
        "gift_box": 1 + DEMAND_FESTIVAL_LIFT * festival,
        "tea": 1 + DEMAND_TREND * progress,
        "noise_20": np.ones(weeks),
        "noise_50": np.ones(weeks),
        "noise_100": np.ones(weeks),
        "surge": surge,
    }
    frames = []
    for name, shape in shapes.items():
        mean = DEMAND_LEVELS[name] * shape
        frames.append(pl.DataFrame({
            "series_id": name,
            "period": mondays.astype("datetime64[D]").astype(dt.date).tolist(),
            "value": rng.poisson(mean).astype(float),
            "expected": mean,
        }))
    return {"series": pl.concat(frames), **_planted()}


def _planted() -> dict[str, Any]:
    return {
        "levels": dict(DEMAND_LEVELS),
        "festival_lift": DEMAND_FESTIVAL_LIFT,
        "trend": DEMAND_TREND,
        "surge": {"series_id": "surge", "weeks": DEMAND_SURGE_WEEKS, "rise": DEMAND_SURGE},
        "seasonal": ("sunscreen", "down_jacket"),
        "festival": "gift_box",
        "trending": "tea",
        "noise": ("noise_20", "noise_50", "noise_100"),
        "noise_model": "Poisson units per week around the planted mean (column expected)",
    }
