"""Data-driven attribution: the first-order Markov chain of the journeys and each channel's removal effect.

The chain has a ``(start)`` state, one state per channel, and two absorbing
states, ``(conversion)`` and ``(null)`` (Anderl, Becker, von Wangenheim &
Schumann 2016; R's ChannelAttribution). Transition probabilities are counted
from the paths: a path ``a > b`` seen with 3 conversions and 5 non-converting
journeys adds 8 to start -> a and to a -> b, 3 to b -> (conversion) and 5 to
b -> (null). Consecutive repeats of a channel are collapsed first (a
self-loop changes no absorption probability; ChannelAttribution drops them too).

The **removal effect** of a channel is the share of the conversion
probability lost when the channel is removed, i.e. when every transition into
it goes to ``(null)`` instead: ``1 - P(conversion | without c) / P(conversion)``.
Conversions (and value) are attributed in proportion to the removal effects.
ChannelAttribution estimates these probabilities by simulating journeys;
custlab solves the absorbing chain exactly (a linear system), so its figures
are what the simulation converges to.

The value version weights the conversion step by the mean conversion value
of the journeys ending at each channel: the expected value of a journey,
with and without the channel, gives the value removal effect.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from custlab.attribution.paths import collapse_repeats
from custlab.exceptions import CustlabError

__all__ = ["CONVERSION", "NULL", "START", "MarkovModel", "markov_model", "removal_effect"]

START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"


@dataclass(frozen=True)
class MarkovModel:
    """A fitted first-order Markov attribution model (see the module docstring).

    Attributes
    ----------
    channels
        Channel names, in the order of the matrices (sorted).
    transitions
        Row-stochastic matrix over ``channels + [START, CONVERSION, NULL]``.
    conversion_probability
        P(a journey from ``(start)`` ends in a conversion).
    removal_effects
        ``channel``, ``removal_effect``, ``removal_effect_value`` (Float64).
    attribution
        ``channel``, ``conversions``, ``value``: totals split by removal effect.
    """

    channels: tuple[str, ...]
    transitions: np.ndarray = field(repr=False)
    conversion_probability: float
    removal_effects: pl.DataFrame = field(repr=False)
    attribution: pl.DataFrame = field(repr=False)
    total_conversions: float = 0.0
    total_value: float = 0.0

    def to_frame(self) -> pl.DataFrame:
        """Per channel: ``removal_effect``, ``removal_effect_value``, attributed ``conversions`` and ``value``."""
        return self.attribution.join(self.removal_effects, on="channel", how="left").select(
            "channel", "removal_effect", "removal_effect_value", "conversions", "value")

    def transition_matrix(self) -> pl.DataFrame:
        """Long table of the non-zero transitions: ``channel_from``, ``channel_to``, ``transition_probability``."""
        names = [*self.channels, START, CONVERSION, NULL]
        rows = [(names[i], names[j], float(self.transitions[i, j]))
                for i in range(len(names)) for j in range(len(names))
                if self.transitions[i, j] > 0 and names[i] not in (CONVERSION, NULL)]
        return pl.DataFrame(rows, schema={"channel_from": pl.String, "channel_to": pl.String,
                                          "transition_probability": pl.Float64}, orient="row")

    def __repr__(self) -> str:
        top = self.attribution.row(0, named=True) if self.attribution.height else {}
        return (f"MarkovModel({len(self.channels)} channels, P(conversion)={self.conversion_probability:.4f}, "
                f"top {top.get('channel')!r} with {top.get('conversions', 0):.1f} of {self.total_conversions:g} conversions)")


def _counts(paths: pl.DataFrame, channels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Transition counts and, per channel, the conversion value of journeys ending there."""
    k = len(channels)
    index = {c: i for i, c in enumerate(channels)}
    start, conv, null = k, k + 1, k + 2
    counts = np.zeros((k + 3, k + 3))
    value_at: list[list[float]] = [[] for _ in range(k)]
    for path, c, u, v in paths.select("path", "conversions", "nulls", "value").iter_rows():
        states = [index[ch] for ch in collapse_repeats(path)]
        weight = c + u
        if weight <= 0:
            continue
        counts[start, states[0]] += weight
        for a, b in zip(states, states[1:]):
            counts[a, b] += weight
        counts[states[-1], conv] += c
        counts[states[-1], null] += u
        value_at[states[-1]].append(v)
    # exactly rounded sums (math.fsum): the same whatever the order of the paths
    return counts, np.array([math.fsum(values) for values in value_at], dtype=float)


def _absorption(P: np.ndarray, k: int, reward: np.ndarray, removed: int | None = None) -> float:
    """Expected reward collected on absorption in (conversion), starting from (start)."""
    transient = [i for i in range(k + 1) if i != removed]
    Q = P[np.ix_(transient, transient)]
    r = np.array([P[i, k + 1] * reward[i] for i in transient])
    try:
        x = np.linalg.solve(np.eye(len(transient)) - Q, r)
    except np.linalg.LinAlgError:  # a closed loop of channels that never leaves: no conversion through it
        x = np.linalg.lstsq(np.eye(len(transient)) - Q, r, rcond=None)[0]
    return float(x[transient.index(k)])


def removal_effect(model: MarkovModel, channel: str) -> float:
    """The removal effect of one channel of a fitted model."""
    row = model.removal_effects.filter(pl.col("channel") == channel)
    if row.height == 0:
        raise CustlabError(f"channel {channel!r} is not in the model; its channels are {list(model.channels)}.")
    return float(row["removal_effect"][0])


def markov_model(paths: pl.DataFrame) -> MarkovModel:
    """Fit the first-order Markov chain of a path table and attribute by removal effect.

    Parameters
    ----------
    paths
        A path table (:func:`custlab.attribution.path_table`) or journeys
        (:func:`custlab.attribution.journeys`). Without non-converting paths
        every journey converts, and the removal effects only say which
        channels the converting paths run through.

    Returns
    -------
    MarkovModel

    Examples
    --------
    The example of Bryl (2016), computed with ChannelAttribution's ``markov_model``:

    >>> from custlab.attribution.paths import path_table
    >>> p = path_table(pl.DataFrame({"path": ["c1 > c2 > c3", "c1", "c2 > c3"],
    ...                              "conv": [1, 0, 0], "null": [0, 1, 1]}), conversions="conv", nulls="null")
    >>> m = markov_model(p)
    >>> m.removal_effects.select("channel", "removal_effect").rows()
    [('c1', 0.5), ('c2', 1.0), ('c3', 1.0)]
    >>> m.attribution.sort("channel").select("channel", "conversions").rows()
    [('c1', 0.2), ('c2', 0.4), ('c3', 0.4)]
    """
    if "converted" in paths.columns:
        from custlab.attribution.paths import path_table

        paths = path_table(paths)
    channels = sorted({c for p in paths["path"].to_list() for c in p})
    if not channels:
        raise CustlabError("the paths hold no channel: there is nothing to attribute.")
    k = len(channels)
    counts, value_at = _counts(paths, channels)
    totals = counts.sum(axis=1, keepdims=True)
    P = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    P[k + 1, k + 1] = P[k + 2, k + 2] = 1.0
    conv_counts = counts[:k, k + 1]
    mean_value = np.divide(value_at, conv_counts, out=np.zeros(k), where=conv_counts > 0)
    ones = np.ones(k + 1)
    values = np.append(mean_value, 0.0)
    base = _absorption(P, k, ones)
    base_value = _absorption(P, k, values)
    effects, effects_value = [], []
    for i in range(k):
        effects.append(1.0 - _absorption(P, k, ones, removed=i) / base if base > 0 else 0.0)
        effects_value.append(1.0 - _absorption(P, k, values, removed=i) / base_value if base_value > 0 else 0.0)
    re = np.clip(np.array(effects), 0.0, 1.0)
    re_value = np.clip(np.array(effects_value), 0.0, 1.0)
    total_conv = float(paths["conversions"].sum())
    total_value = math.fsum(paths["value"].to_list())  # exactly rounded: the same in any order of the paths
    share = re / re.sum() if re.sum() > 0 else np.zeros(k)
    share_value = re_value / re_value.sum() if re_value.sum() > 0 else share
    removal = pl.DataFrame({"channel": channels, "removal_effect": re, "removal_effect_value": re_value})
    attribution = pl.DataFrame({
        "channel": channels, "conversions": share * total_conv, "value": share_value * total_value,
    }).sort("conversions", "channel", descending=[True, False])
    return MarkovModel(tuple(channels), P, base, removal, attribution, total_conv, total_value)
