"""Vectorised helpers shared by the stages: exact shares, segment indices, string columns."""

from __future__ import annotations

import numpy as np
import polars as pl

__all__ = ["exact_counts", "exact_pick", "random_order_of", "segment_index", "strings"]


def exact_counts(shares: np.ndarray, n: int) -> np.ndarray:
    """Largest-remainder integer counts summing to n."""
    raw = np.asarray(shares, dtype=float) / np.sum(shares) * n
    counts = np.floor(raw).astype(np.int64)
    rest = n - counts.sum()
    if rest > 0:
        counts[np.argsort(-(raw - counts), kind="stable")[:rest]] += 1
    return counts


def exact_pick(rng: np.random.Generator, mask: np.ndarray, share: float) -> np.ndarray:
    """Exactly ``round(share * mask.sum())`` (at most all) random True among ``mask``."""
    idx = np.flatnonzero(mask)
    k = min(idx.size, int(round(min(max(share, 0.0), 1.0) * idx.size)))
    out = np.zeros(mask.size, dtype=bool)
    out[rng.choice(idx, size=k, replace=False)] = True
    return out


def segment_index(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Owner index and rank within the segment for segments of given sizes."""
    total = int(counts.sum())
    owner = np.repeat(np.arange(counts.size), counts)
    starts = np.cumsum(counts) - counts
    rank = np.arange(total) - np.repeat(starts, counts)
    return owner, rank


def random_order_of(rng: np.random.Generator, cust: np.ndarray, ofs: np.ndarray, cnt: np.ndarray) -> np.ndarray:
    """A random one of each customer's orders (orders are grouped by customer: ``ofs``, ``cnt``)."""
    return ofs[cust] + np.floor(rng.random(cust.size) * cnt[cust]).astype(np.int64)


def strings(values: tuple[str, ...] | list[str], codes: np.ndarray) -> pl.Series:
    """A String series of ``values[codes]``."""
    return pl.Series(list(values), dtype=pl.String).gather(np.asarray(codes, dtype=np.int64))
