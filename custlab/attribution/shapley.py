"""Shapley-value attribution (an option beside the Markov model).

The channels are the players of a cooperative game whose worth of a set of
channels ``S`` is the conversion rate of the journeys that touched only
channels of ``S`` (their channel set is a subset of ``S``), times the number
of journeys; the empty set is worth nothing (Shao & Li 2011, Dalessandro et
al. 2012 use this kind of game). A channel's Shapley value is its average
marginal worth over all orders in which the channels could join; conversions
and value are split in proportion to the positive Shapley values. The sum
runs over all ``2 ** k`` sets, so at most :data:`MAX_CHANNELS` channels are
allowed (group rare channels first). Non-converting journeys are needed: with
converting journeys only every rate is 1 and the game says little.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from custlab.exceptions import CustlabError

__all__ = ["MAX_CHANNELS", "shapley"]

#: Largest number of channels the exact Shapley sum is computed for.
MAX_CHANNELS = 16


def shapley(paths: pl.DataFrame) -> pl.DataFrame:
    """Shapley attribution of a path table or journeys: ``channel``, ``shapley_value``, ``conversions``, ``value``.

    Examples
    --------
    >>> from custlab.attribution.paths import path_table
    >>> p = path_table(pl.DataFrame({"path": ["a", "b", "a > b"], "conversions": [10, 0, 30], "nulls": [90, 100, 70]}))
    >>> shapley(p).select("channel", "conversions").rows()
    [('a', 35.0), ('b', 5.0)]
    """
    if "converted" in paths.columns:
        from custlab.attribution.paths import path_table

        paths = path_table(paths)
    channels = sorted({c for p in paths["path"].to_list() for c in p})
    k = len(channels)
    if k > MAX_CHANNELS:
        raise CustlabError(
            f"Shapley attribution sums over all 2**k sets of channels and allows at most {MAX_CHANNELS} channels; "
            f"the paths hold {k}. Group the rare channels (e.g. into 'other') first."
        )
    index = {c: i for i, c in enumerate(channels)}
    size = 1 << k
    conv = np.zeros(size)
    total = np.zeros(size)
    for path, c, u in paths.select("path", "conversions", "nulls").iter_rows():
        mask = 0
        for ch in path:
            mask |= 1 << index[ch]
        conv[mask] += c
        total[mask] += c + u
    # sums over subsets (zeta transform): journeys whose channel set lies inside each set
    masks = np.arange(size)
    for i in range(k):
        bit = 1 << i
        has = masks[(masks & bit) != 0]
        conv[has] += conv[has ^ bit]
        total[has] += total[has ^ bit]
    n_journeys = total[size - 1]
    worth = np.divide(conv, total, out=np.zeros(size), where=total > 0) * n_journeys
    worth[0] = 0.0
    sizes = np.array([bin(m).count("1") for m in masks])
    weights = np.array([math.factorial(s) * math.factorial(k - s - 1) / math.factorial(k) for s in range(k)])
    values = np.zeros(k)
    for i in range(k):
        bit = 1 << i
        without = masks[(masks & bit) == 0]
        values[i] = float(np.sum(weights[sizes[without]] * (worth[without | bit] - worth[without])))
    positive = np.clip(values, 0.0, None)
    share = positive / positive.sum() if positive.sum() > 0 else np.zeros(k)
    return pl.DataFrame({
        "channel": channels, "shapley_value": values,
        "conversions": share * float(paths["conversions"].sum()), "value": share * float(paths["value"].sum()),
    }).sort("conversions", "channel", descending=[True, False])
