"""Small basket tables and brute-force references for the rules tests."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl

def long_table(baskets: list[list]) -> pl.DataFrame:
    return pl.DataFrame({
        "basket_id": [b for b, items in enumerate(baskets) for _ in items],
        "item": [item for items in baskets for item in items],
    })


def brute_itemsets(baskets: list[list], min_support: float, max_len: int | None = None) -> dict[tuple, int]:
    """Every itemset with count / n >= min_support, by enumeration (the reference)."""
    sets = [set(b) for b in baskets]
    items = sorted(set().union(*sets))
    found: dict[tuple, int] = {}
    for k in range(1, len(items) + 1):
        if max_len is not None and k > max_len:
            break
        any_k = False
        for combo in itertools.combinations(items, k):
            count = sum(1 for s in sets if s.issuperset(combo))
            if count / len(sets) >= min_support:
                found[combo] = count
                any_k = True
        if not any_k:
            break
    return found


def as_dict(itemsets: pl.DataFrame) -> dict[tuple, int]:
    return {tuple(row[0]): row[1] for row in itemsets.select("itemset", "count").iter_rows()}


def random_baskets(seed: int, n_baskets: int, n_items: int) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.05, 0.9, n_items)
    out = []
    for _ in range(n_baskets):
        items = [f"i{j}" for j in range(n_items) if rng.random() < p[j]]
        out.append(items or ["i0"])
    return out


