"""Frequent-itemset mining engine on integer codes (numpy + scipy only).

The public entry point is :mod:`custlab.rules`; this module works on plain
integer arrays and knows nothing of polars.

Algorithm
---------
A vertical (tid-list) Eclat with a projected database per class:

1. Item counts by ``bincount``; items below the minimum count are dropped and
   the rest are ranked by ascending count (ties by code), the usual Eclat
   order: a class is headed by its rarest item, so its projected database is
   as small as it can be.
2. Pair counts: the rows of the basket-by-item CSR matrix are sorted by rank,
   so the items ranked after ``i`` in a basket are the suffix of its row that
   follows ``i``. For a batch of heads ``i`` those suffixes are gathered (one
   vectorised gather) and counted with one ``bincount``: the work is the number
   of (basket, later item) pairs, half of ``X.T @ X``, and the memory is that
   of the sparse matrix plus one batch, never ``baskets x items``. Baskets with
   fewer than two frequent items are dropped first.
3. For each head ``i`` with two or more frequent extensions ``E_i``, the same
   gathered suffixes give the extensions as bitsets over the baskets holding
   ``i`` only (``count(i) / 64`` words each). Deeper levels are then
   depth-first: each member of a class is AND-ed with the later members,
   counted with ``np.bitwise_count``, and the frequent ones form the next class.

Counts are integers throughout; the caller turns a fractional minimum support
into the smallest integer count that meets it, so thresholds are compared
exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

# Largest number of uint64 words held at once by the broadcast pairwise AND of a class.
_BROADCAST_WORDS = 1 << 21
# Largest number of (basket, later item) entries gathered for one batch of pair heads.
_BATCH_GATHER = 1 << 22
# Largest number of cells of the pair-count block of one batch of heads.
_BATCH_CELLS = 1 << 23


@dataclass
class Mined:
    """Frequent itemsets by length: ``codes[k]`` is an (N_k, k) array of item codes, ascending
    along each row, and ``counts[k]`` the (N_k,) basket counts."""

    codes: dict[int, np.ndarray]
    counts: dict[int, np.ndarray]

    @property
    def n_itemsets(self) -> int:
        return int(sum(len(c) for c in self.counts.values()))


def min_count_for(min_support: float, n_baskets: int) -> int:
    """Smallest integer count ``c`` with ``c / n_baskets >= min_support`` (the float test mlxtend
    and arules apply), found exactly rather than through ``ceil(min_support * n)``."""
    c = max(int(np.ceil(min_support * n_baskets)), 1)
    while c > 1 and (c - 1) / n_baskets >= min_support:
        c -= 1
    while c / n_baskets < min_support:
        c += 1
    return c


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + l)`` for each start and length, vectorised."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(lengths)
    offsets = np.repeat(starts - (ends - lengths), lengths)
    return np.arange(total, dtype=np.int64) + offsets


def _bitsets(owner: np.ndarray, position: np.ndarray, n_sets: int, words: int) -> np.ndarray:
    """(n_sets, words) uint64 bitsets with bit ``position`` set in set ``owner``; pairs are distinct.

    Distinct bits of one word add up to their OR, so each half-word is a ``bincount`` of powers
    of two (exact in float64 below 2**53) instead of a slow ``np.bitwise_or.at``.
    """
    slot = owner * words + (position >> 6)
    bit = position & 63
    low = bit < 32
    size = n_sets * words
    lo = np.bincount(slot[low], weights=np.ldexp(1.0, bit[low]), minlength=size)
    hi = np.bincount(slot[~low], weights=np.ldexp(1.0, bit[~low] - 32), minlength=size)
    out = lo.astype(np.uint64) | (hi.astype(np.uint64) << np.uint64(32))
    return out.reshape(n_sets, words)


class _Miner:
    def __init__(self, x: sp.csr_array, min_count: int, max_len: int | None) -> None:
        m = x.shape[1]
        self.m = m
        self.indices = x.indices.astype(np.int64)
        row_len = np.diff(x.indptr)
        # For each stored entry: where its row ends, and which row it is.
        self.row_end = np.repeat(x.indptr[1:].astype(np.int64), row_len)
        # Positions of the entries of each column, in row order (a CSC of entry positions).
        by_col = sp.csr_array((np.arange(1, x.nnz + 1, dtype=np.int64), x.indices, x.indptr), shape=x.shape).tocsc()
        by_col.sort_indices()
        self.col_ptr = by_col.indptr.astype(np.int64)
        self.col_pos = by_col.data - 1
        self.min_count = min_count
        self.max_len = max_len
        self.out_codes: dict[int, list[np.ndarray]] = {}
        self.out_counts: dict[int, list[np.ndarray]] = {}

    def emit(self, codes: np.ndarray, counts: np.ndarray) -> None:
        k = codes.shape[1]
        self.out_codes.setdefault(k, []).append(codes)
        self.out_counts.setdefault(k, []).append(counts)

    def heads(self, deeper: bool) -> None:
        """Pairs ``{i, j}`` (j ranked after i) for every head ``i``, then the classes ``[i]``.

        Rows are sorted by rank, so the items ranked after ``i`` in a basket are the
        suffix of its row that follows ``i``: the gathered work is the number of
        (basket, later item) pairs, half of what ``X.T @ X`` computes. Heads are
        processed in batches (one ``bincount`` per batch) to keep Python overhead low.
        """
        m = self.m
        suffix = self.row_end[self.col_pos] - self.col_pos - 1  # later items, per entry in column order
        total = np.zeros(len(suffix) + 1, dtype=np.int64)
        np.cumsum(suffix, out=total[1:])
        per_head = total[self.col_ptr[1:]] - total[self.col_ptr[:-1]]
        reach = np.cumsum(per_head)
        h = 0
        while h < m - 1:
            done = reach[h - 1] if h else 0
            end = int(np.searchsorted(reach, done + _BATCH_GATHER, side="right"))
            end = min(max(end, h + 1), m - 1, h + max(1, _BATCH_CELLS // m))
            self._batch(h, end, suffix, deeper)
            h = end

    def _batch(self, h: int, end: int, suffix: np.ndarray, deeper: bool) -> None:
        m, minc = self.m, self.min_count
        lo, hi = self.col_ptr[h], self.col_ptr[end]
        pos, lengths = self.col_pos[lo:hi], suffix[lo:hi]
        cols = self.indices[_ranges(pos + 1, lengths)]
        entries = np.diff(self.col_ptr[h:end + 1])  # baskets holding each head
        head_of_entry = np.repeat(np.arange(end - h, dtype=np.int64), entries)
        owner = np.repeat(head_of_entry, lengths)
        counts = np.bincount(owner * m + cols, minlength=(end - h) * m).reshape(end - h, m)
        frequent = counts >= minc
        rows, ext_all = np.nonzero(frequent)
        if len(rows) == 0:
            return
        self.emit(np.column_stack([rows + h, ext_all]), counts[rows, ext_all].astype(np.int64))
        if not deeper:
            return
        n_ext = frequent.sum(axis=1)
        entry_start = np.concatenate([[0], np.cumsum(entries)])
        gathered = np.concatenate([[0], np.cumsum(lengths)])
        for j in np.flatnonzero(n_ext >= 2).tolist():
            ext = np.flatnonzero(frequent[j])
            e0, e1 = entry_start[j], entry_start[j + 1]
            part = cols[gathered[e0]:gathered[e1]]
            member_of = np.full(m, -1, dtype=np.int64)
            member_of[ext] = np.arange(len(ext))
            member = member_of[part]
            local = np.repeat(np.arange(e1 - e0, dtype=np.int64), lengths[e0:e1])
            keep = member >= 0
            bits = _bitsets(member[keep], local[keep], len(ext), int(e1 - e0 + 63) >> 6)
            self.eclat(np.array([h + j], dtype=np.int64), ext, bits)

    def eclat(self, prefix: np.ndarray, members: np.ndarray, bits: np.ndarray) -> None:
        """Mine the class ``prefix + {member}``: all members are frequent with the prefix."""
        depth = len(prefix) + 2  # length of the itemsets this call finds
        if self.max_len is not None and depth > self.max_len:
            return
        m, words = bits.shape
        minc = self.min_count
        full = None
        if m * m * words <= _BROADCAST_WORDS:
            full = np.bitwise_count(bits[:, None, :] & bits[None, :, :]).sum(axis=2, dtype=np.int64)
        for a in range(m - 1):
            if full is not None:
                counts = full[a, a + 1:]
                ext = np.flatnonzero(counts >= minc)
                if len(ext) == 0:
                    continue
                counts = counts[ext]
                ext = ext + a + 1
                joint = None
            else:
                joint = bits[a] & bits[a + 1:]
                counts = np.bitwise_count(joint).sum(axis=1, dtype=np.int64)
                ext = np.flatnonzero(counts >= minc)
                if len(ext) == 0:
                    continue
                counts = counts[ext]
                joint = joint[ext]
                ext = ext + a + 1
            base = np.append(prefix, members[a])
            codes = np.empty((len(ext), len(base) + 1), dtype=np.int64)
            codes[:, :-1] = base
            codes[:, -1] = members[ext]
            self.emit(codes, counts)
            if len(ext) >= 2:
                sub = joint if joint is not None else bits[ext] & bits[a]
                self.eclat(base, members[ext], sub)


def incidence(baskets: np.ndarray, items: np.ndarray, n_baskets: int, n_items: int) -> sp.csr_array:
    """Basket-by-item 0/1 matrix (CSR, int32) of (basket, item) code pairs; repeated pairs count once."""
    x = sp.csr_array(
        (np.ones(len(baskets), dtype=np.int32), (np.asarray(baskets), np.asarray(items))),
        shape=(n_baskets, n_items),
    )
    x.sum_duplicates()
    x.data[:] = 1
    return x


def mine(x: sp.csr_array, *, min_count: int, max_len: int | None = None) -> Mined:
    """Frequent itemsets of a basket-by-item incidence matrix.

    Parameters
    ----------
    x
        CSR matrix from :func:`incidence` (one row per basket, 0/1 entries,
        no duplicates).
    min_count
        Minimum number of baskets (an integer >= 1).
    max_len
        Longest itemset to return, or None for no limit.

    Returns
    -------
    Mined
        Itemsets as arrays of the column codes of ``x``, ascending within each row.
    """
    n_baskets, n_items = x.shape
    item_count = np.bincount(x.indices, minlength=n_items).astype(np.int64)
    frequent = np.flatnonzero(item_count >= min_count)
    # Rank by ascending count, ties by code; work in ranks, map back at the end.
    order = frequent[np.lexsort((frequent, item_count[frequent]))]
    m = len(order)
    codes: dict[int, np.ndarray] = {}
    counts: dict[int, np.ndarray] = {}
    if m == 0 or (max_len is not None and max_len < 1):
        return Mined(codes, counts)
    codes[1] = order[:, None].copy()
    counts[1] = item_count[order]
    if m == 1 or (max_len is not None and max_len < 2):
        return Mined(codes, counts)

    rank_of = np.full(n_items, -1, dtype=np.int32)
    rank_of[order] = np.arange(m, dtype=np.int32)
    r = rank_of[x.indices]
    keep = r >= 0
    row_len = np.diff(x.indptr)
    kept_len = np.bincount(np.repeat(np.arange(n_baskets), row_len)[keep], minlength=n_baskets)
    # Baskets with fewer than two frequent items hold no pair: drop them.
    keep &= np.repeat(kept_len >= 2, row_len)
    sizes = kept_len[kept_len >= 2]
    n = len(sizes)
    if n == 0:
        return Mined(codes, counts)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(sizes, out=indptr[1:])
    xf = sp.csr_array((np.ones(len(sizes) and int(indptr[-1]), dtype=np.int32), r[keep], indptr), shape=(n, m))
    xf.sort_indices()

    miner = _Miner(xf, min_count, max_len)
    deeper = max_len is None or max_len >= 3
    miner.heads(deeper)

    for k, parts in miner.out_codes.items():
        ranks = np.concatenate(parts)
        codes[k] = np.sort(order[ranks], axis=1)
        counts[k] = np.concatenate(miner.out_counts[k])
    return Mined(codes, counts)
