"""Stage "touches" (``make_shop(touches=True)``): marketing journeys from a planted Markov chain.

A journey starts at a channel drawn with ``TOUCH_FIRST_P``; at each touch of
channel ``c`` it converts with probability ``TOUCH_CONVERT_P[c]``, ends
without converting with ``TOUCH_DROP_P`` and otherwise moves to a next
channel drawn with ``TOUCH_FIRST_P`` again (a journey longer than
``TOUCH_MAX_STEPS`` touches ends without converting). This is exactly the
first-order Markov chain of :mod:`custlab.attribution.markov`, so the
planted removal effects (``truth["touches"]["removal_effects"]``, solved
from the planted chain) are what a Markov attribution of the journeys
estimates; live_stream contributes most, then community, search, organic, sms.

Journeys are drawn one after the other until every customer has one
converting journey: the k-th converting journey leads to the k-th customer's
first order (its touches 1-28 days before it, gaps exponential with a mean of
``TOUCH_GAP_DAYS``; touches may precede the period's start). The
non-converting journeys drawn on the way belong to visitors who never
bought (ids from ``VISITOR_ID_START``), spread over the period. Every touch
has UTM source and medium (``TOUCH_UTM``) and a campaign ``acq_<YYYYMM>``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from custlab.synthetic._arrays import strings
from custlab.synthetic.customers import Customers
from custlab.synthetic.params import (
    TOUCH_CHANNELS, TOUCH_CONVERT_P, TOUCH_DROP_P, TOUCH_FIRST_P, TOUCH_GAP_DAYS, TOUCH_MAX_STEPS, TOUCH_UTM,
    US_PER_DAY, US_PER_SEC, VISITOR_ID_START,
)
from custlab.synthetic.purchases import Orders
from custlab.synthetic.timeline import Calendar

__all__ = ["planted_removal_effects", "touch_journeys"]


def planted_removal_effects() -> tuple[float, dict[str, float]]:
    """P(conversion) of the planted chain and each channel's removal effect (solved exactly)."""
    k = len(TOUCH_CHANNELS)
    first = np.asarray(TOUCH_FIRST_P)
    convert = np.asarray(TOUCH_CONVERT_P)
    move = np.outer(1.0 - convert - TOUCH_DROP_P, first)

    def p_conversion(removed: int | None) -> float:
        keep = [i for i in range(k) if i != removed]
        x = np.linalg.solve(np.eye(len(keep)) - move[np.ix_(keep, keep)], convert[keep])
        return float(first[keep] @ x)

    base = p_conversion(None)
    return base, {c: 1.0 - p_conversion(i) / base for i, c in enumerate(TOUCH_CHANNELS)}


def _draw(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``size`` journeys: channel codes of all touches (journey after journey), lengths, converted."""
    first = np.asarray(TOUCH_FIRST_P)
    convert = np.asarray(TOUCH_CONVERT_P)
    state = rng.choice(len(first), size=size, p=first)
    steps = [state.copy()]
    alive = np.ones(size, dtype=bool)
    converted = np.zeros(size, dtype=bool)
    length = np.ones(size, dtype=np.int64)
    for _ in range(TOUCH_MAX_STEPS - 1):
        u = rng.random(size)
        nxt = rng.choice(len(first), size=size, p=first)
        conv_now = alive & (u < convert[state])
        drop_now = alive & ~conv_now & (u < convert[state] + TOUCH_DROP_P)
        converted |= conv_now
        alive &= ~(conv_now | drop_now)
        if not alive.any():
            break
        state = np.where(alive, nxt, state)
        length += alive
        steps.append(state.copy())
    matrix = np.stack(steps, axis=1)
    return matrix[np.arange(matrix.shape[1]) < length[:, None]], length, converted


def touch_journeys(rng: np.random.Generator, orders: Orders, customers: Customers,
                   cal: Calendar) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Stream "touches": the touches table (sorted by customer and time) and ``truth["touches"]``."""
    n = orders.n_customers
    base, effects = planted_removal_effects()
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    while sum(int(p[2].sum()) for p in parts) < n:
        batch = int(np.ceil((n - sum(int(p[2].sum()) for p in parts)) / base * 1.2)) + 16
        parts.append(_draw(rng, batch))
    lengths = np.concatenate([p[1] for p in parts])
    converted = np.concatenate([p[2] for p in parts])
    cut = int(np.flatnonzero(converted)[n - 1]) + 1  # stop at the n-th conversion
    lengths, converted = lengths[:cut], converted[:cut]
    channel = np.concatenate([p[0] for p in parts])[: int(lengths.sum())]
    owner = np.repeat(np.arange(cut), lengths)
    starts = np.cumsum(lengths) - lengths
    rank_from_end = lengths[owner] - 1 - (np.arange(channel.size) - starts[owner])

    first_us = orders.us[orders.first]  # per customer, customers in index order
    conv_rank = np.cumsum(converted) - 1  # k-th converting journey -> customer k
    visitor = np.cumsum(~converted) - 1
    n_visitors = int((~converted).sum())
    visitor_end = cal.start_us + (rng.random(n_visitors) * (cal.end_us - cal.start_us)).astype(np.int64)
    end_us = first_us[np.clip(conv_rank, 0, n - 1)]
    if n_visitors:
        end_us = np.where(converted, end_us, visitor_end[np.clip(visitor, 0, None)])
    gaps = rng.exponential(TOUCH_GAP_DAYS, channel.size)
    gaps = np.where(rank_from_end == 0, gaps / 2.0, gaps)
    # days before the journey's end: gaps summed from the last touch backwards, squeezed into 28 days
    order = np.lexsort((rank_from_end, owner))
    summed = np.cumsum(gaps[order])
    before = np.empty(channel.size)
    before[order] = summed - np.repeat(np.concatenate([[0.0], summed])[starts], lengths)
    span = np.zeros(cut)
    np.maximum.at(span, owner, before)
    before = before * np.minimum(1.0, 28.0 / np.maximum(span[owner], 1e-9))
    before = np.maximum(before, 1.0 / 1440.0)  # at least a minute before the order
    touch_us = end_us[owner] - (before * US_PER_DAY).astype(np.int64) // US_PER_SEC * US_PER_SEC
    ids = np.where(converted[owner], customers.ids[np.clip(conv_rank[owner], 0, n - 1)],
                   VISITOR_ID_START + np.clip(visitor[owner], 0, None))
    srt = np.lexsort((touch_us, ids))
    utm = [TOUCH_UTM[c] for c in TOUCH_CHANNELS]
    touches = pl.DataFrame({
        "customer_id": pl.Series(ids[srt], dtype=pl.Int64),
        "touch_time": pl.Series(touch_us[srt], dtype=pl.Int64).cast(pl.Datetime("us")),
        "channel": strings(TOUCH_CHANNELS, channel[srt]),
        "utm_source": strings([u[0] for u in utm], channel[srt]),
        "utm_medium": strings([u[1] for u in utm], channel[srt]),
    }).with_columns(("acq_" + pl.col("touch_time").dt.strftime("%Y%m")).alias("utm_campaign"))
    truth = {
        "channels": TOUCH_CHANNELS,
        "first_touch_p": dict(zip(TOUCH_CHANNELS, TOUCH_FIRST_P, strict=True)),
        "convert_p": dict(zip(TOUCH_CHANNELS, TOUCH_CONVERT_P, strict=True)),
        "drop_p": TOUCH_DROP_P,
        "conversion_probability": base,
        "removal_effects": effects,
        "ranking": tuple(sorted(effects, key=effects.get, reverse=True)),
        "journeys": cut,
        "converting_journeys": n,
        "touches": int(channel.size),
        "visitor_id_start": VISITOR_ID_START,
        "lookback_days": 30,
    }
    return touches, truth
