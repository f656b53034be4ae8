"""Frequent-itemset mining engine on integer codes (numpy + scipy only, no compiled extension of its own).

The public entry point is :mod:`custlab.rules`; this module works on plain
integer arrays and knows nothing of polars.

Algorithm
---------
A vertical Eclat whose Python loops run over *levels* and batches, never over itemsets:

1. Item counts by ``bincount``; items below the minimum count are dropped and
   the rest are ranked by ascending count (ties by code), the usual Eclat
   order: a class is headed by its rarest item, so its projected database is
   as small as it can be. Baskets with fewer than two frequent items are
   dropped.
2. Pairs: the rows of the basket-by-item matrix are sorted by rank, so the
   items ranked after ``i`` in a basket are the suffix of its row that follows
   ``i``. For a batch of heads ``i`` those suffixes are gathered at once and
   counted with one ``bincount``: the work is the number of (basket, later
   item) pairs, half of ``X.T @ X``, and the memory that of the sparse matrix
   plus one batch, never ``baskets x items``.
3. Each frequent pair ``{i, j}`` whose head ``i`` has two or more frequent
   extensions gets a bitset over the baskets holding ``i`` only (``count(i) /
   64`` words, the projected database): bit ``l`` is read off ``j``'s bitset
   over all baskets at the position of ``i``'s ``l``-th basket, for many pairs
   at once, and packed with ``np.packbits``. Heads whose projections have about
   the same width share one 2-D array.
4. Deeper levels, one array operation per level and width: every two members
   of a class (itemsets with the same prefix) are AND-ed, counted with
   ``np.bitwise_count`` and kept when frequent; the survivors with the same
   parent form the classes of the next level. Blocks of whole classes bound
   the memory (:data:`_BLOCK_WORDS`), and each block is mined to the bottom
   before the next starts.

The number of Python-level steps grows with the depth of the itemsets, the
number of widths and the size of the data, not with the number of itemsets, so
small data carry no interpreter overhead per itemset; there is no
just-in-time compilation and no warm-up. Arrays are kept to a few MB per step:
the first call in a process pays a page fault for every fresh large array,
while small ones are recycled by the allocator. Counts are integers
throughout; the caller turns a fractional minimum support into the smallest
integer count that meets it (:func:`min_count_for`), so thresholds are
compared exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = ["Mined", "incidence", "min_count_for", "mine"]

# The arrays of one step are kept to a few MB: fresh large arrays cost page faults on every first
# call in a process, small ones are recycled by the allocator and stay in cache.
# Largest number of (basket, later item) entries gathered for one batch of pair heads.
_BATCH_GATHER = 1 << 17
# Largest number of cells of the pair-count block of one batch of heads.
_BATCH_CELLS = 1 << 18
# Largest number of uint64 words AND-ed at once when testing candidates (and, times 4 and 8, of
# bytes read and of basket positions held when building pair bitsets).
_CHUNK_WORDS = 1 << 18
# Largest number of words of pair bitsets held before their classes are mined, and of candidate
# words of one block of classes mined depth-first.
_BLOCK_WORDS = 1 << 22


@dataclass(frozen=True, eq=False)
class Mined:
    """Frequent itemsets by length: ``codes[k]`` is an (N_k, k) array of item codes, ascending
    along each row, and ``counts[k]`` the (N_k,) basket counts."""

    codes: dict[int, np.ndarray]
    counts: dict[int, np.ndarray]

    @property
    def n_itemsets(self) -> int:
        return int(sum(len(c) for c in self.counts.values()))

    def __repr__(self) -> str:
        sizes = ", ".join(f"{len(c):,} of length {k}" for k, c in sorted(self.counts.items()))
        return f"Mined({self.n_itemsets:,} itemsets{': ' + sizes if sizes else ''})"


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
    """(n_sets, words) uint64 bitsets with bit ``position`` set in set ``owner``; pairs are distinct."""
    slot = owner * words + (position >> 6)
    return _flat_bits(slot, position & 63, n_sets * words).reshape(n_sets, words)


def _flat_bits(slot: np.ndarray, bit: np.ndarray, size: int) -> np.ndarray:
    """A flat uint64 array of ``size`` words with bit ``bit`` set in word ``slot``; pairs are distinct.

    Distinct bits of one word add up to their OR, so each half-word is a ``bincount`` of powers
    of two (exact in float64 below 2**53) instead of a slow ``np.bitwise_or.at``.
    """
    low = bit < 32
    lo = np.bincount(slot[low], weights=np.ldexp(1.0, bit[low]), minlength=size)
    hi = np.bincount(slot[~low], weights=np.ldexp(1.0, bit[~low] - 32), minlength=size)
    out = lo.astype(np.uint64)
    out |= hi.astype(np.uint64) << np.uint64(32)
    return out


def _width(count: np.ndarray) -> np.ndarray:
    """Words of the projected bitsets of heads with ``count`` baskets, rounded up to a coarse grid.

    Up to 8 words exactly, then 4 steps per doubling, so heads of similar size share one array
    (few array operations) and no bitset carries more than 25% padding.
    """
    words = (np.asarray(count, dtype=np.int64) + 63) >> 6
    step = np.maximum(1, 1 << np.maximum(0, np.floor(np.log2(np.maximum(words, 1))).astype(np.int64) - 2))
    return -(-words // step) * step


def _class_ends(parent: np.ndarray) -> np.ndarray:
    """For rows grouped by ``parent`` (equal values contiguous), one past the last row of each row's group."""
    n = len(parent)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    change = np.flatnonzero(parent[1:] != parent[:-1]) + 1
    bounds = np.concatenate([change, [n]])
    sizes = np.diff(np.concatenate([[0], bounds]))
    return np.repeat(bounds, sizes)


class _Miner:
    """Holds the rank-sorted matrix and collects the itemsets, level by level, as (parent id, last item)."""

    def __init__(self, by_col: sp.csc_array, min_count: int, max_len: int | None) -> None:
        """``by_col``: baskets by item ranks, column by column with the baskets of each in order.

        Transposing it back (linear time, no sort) puts the items of each basket in rank order;
        the transpose carries each column entry's index, so each learns where it sits in its row.
        """
        self.n, self.m = by_col.shape
        nnz = by_col.nnz
        index = np.int64 if nnz >= 1 << 31 else np.int32
        by_col.data = np.arange(nnz, dtype=index)
        by_row = by_col.tocsr()
        by_col.data = None
        self.indptr = by_row.indptr.astype(np.int64)
        self.indices = by_row.indices
        self.col_ptr = by_col.indptr.astype(np.int64)
        self.col_row = by_col.indices
        self.col_pos = np.empty(nnz, dtype=index)
        step = 1 << 22
        for lo in range(0, nnz, step):
            self.col_pos[by_row.data[lo:lo + step]] = np.arange(lo, min(lo + step, nnz), dtype=index)
        del by_row
        self.count = np.diff(self.col_ptr)
        self.min_count = min_count
        self.max_len = max_len
        # Per length k >= 2: parent ids (rows of length k - 1, in emission order), last items, counts.
        self.parents: dict[int, list[np.ndarray]] = {}
        self.items: dict[int, list[np.ndarray]] = {}
        self.counts: dict[int, list[np.ndarray]] = {}
        self.emitted: dict[int, int] = {}
        # Pair bitsets waiting to be mined deeper, by width: (bits, head of each row, last item, id).
        self.pending: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]] = {}
        self.pending_words = 0

    def emit(self, k: int, parent: np.ndarray, item: np.ndarray, count: np.ndarray) -> np.ndarray:
        """Record itemsets of length ``k``; returns their ids."""
        first = self.emitted.get(k, 0)
        self.parents.setdefault(k, []).append(parent)
        self.items.setdefault(k, []).append(item)
        self.counts.setdefault(k, []).append(count)
        self.emitted[k] = first + len(item)
        return np.arange(first, first + len(item), dtype=np.int64)

    def deeper(self, k: int) -> bool:
        """Whether itemsets longer than ``k`` are wanted."""
        return self.max_len is None or k < self.max_len

    def run(self) -> None:
        head, ext, count = self.pairs()
        if len(head) == 0:
            return
        ids = self.emit(2, head, ext, count)
        if self.deeper(2):
            self.members(head, ext, ids)

    # -- pairs -----------------------------------------------------------------------------

    def pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Frequent pairs ``(i, j)``, i < j, with their counts, ordered by i then j.

        Rows are sorted by rank, so the items ranked after ``i`` in a basket are the suffix of its
        row that follows ``i``: a batch of heads gathers those suffixes and counts them with one
        ``bincount``; the work is half of ``X.T @ X`` and the memory one batch.
        """
        m = self.m
        reach = np.cumsum(self._gather_work())
        parts = []
        h = 0
        while h < m - 1:
            done = reach[h - 1] if h else 0
            end = int(np.searchsorted(reach, done + _BATCH_GATHER, side="right"))
            end = min(max(end, h + 1), m - 1, h + max(1, _BATCH_CELLS // m))
            lo, hi = self.col_ptr[h], self.col_ptr[end]
            pos = self.col_pos[lo:hi].astype(np.int64)
            lengths = self.indptr[self.col_row[lo:hi].astype(np.int64) + 1] - pos - 1
            later = self.indices[_ranges(pos + 1, lengths)]
            owner = np.repeat(np.repeat(np.arange(end - h, dtype=np.int64) * m, self.count[h:end]), lengths)
            owner += later
            counts = np.bincount(owner, minlength=(end - h) * m).reshape(end - h, m)
            rows, ext = np.nonzero(counts >= self.min_count)
            parts.append((rows + h, ext, counts[rows, ext]))
            h = end
        return tuple(np.concatenate([p[j] for p in parts]) for j in range(3))

    def _gather_work(self) -> np.ndarray:
        """Per head, the number of (basket, later item) pairs its batch gathers; in bounded chunks."""
        per_head = np.zeros(self.m, dtype=np.int64)
        nnz, step = len(self.col_pos), 1 << 22
        for lo in range(0, nnz, step):
            hi = min(lo + step, nnz)
            pos = self.col_pos[lo:hi].astype(np.int64)
            later = self.indptr[self.col_row[lo:hi].astype(np.int64) + 1] - pos - 1
            run = np.zeros(hi - lo + 1, dtype=np.int64)
            np.cumsum(later, out=run[1:])
            first = int(np.searchsorted(self.col_ptr, lo, side="right")) - 1
            last = int(np.searchsorted(self.col_ptr, hi, side="left"))
            a = np.clip(self.col_ptr[first:last], lo, hi) - lo
            b = np.clip(self.col_ptr[first + 1:last + 1], lo, hi) - lo
            per_head[first:last] += run[b] - run[a]
        return per_head

    # -- pair bitsets ----------------------------------------------------------------------

    def members(self, head: np.ndarray, ext: np.ndarray, ids: np.ndarray) -> None:
        """Bitsets of the pairs whose head has two or more frequent extensions, then their classes.

        The bitset of ``{i, j}`` lives on the baskets holding ``i`` (its projected database): bit
        ``l`` says whether the ``l``-th basket of ``i`` holds ``j``. It is read off ``j``'s bitset
        over all baskets at the positions of ``i``'s baskets, for many pairs at once. Pairs are
        taken in (head, extension) order, in chunks whose item bitsets stay within
        :data:`_BLOCK_WORDS`; classes are mined once a chunk ends on a head's last pair and
        enough bitsets are waiting.
        """
        n_ext = np.bincount(head, minlength=self.m)
        chosen = np.flatnonzero(n_ext[head] >= 2)
        if len(chosen) == 0:
            return
        head, ext, ids = head[chosen], ext[chosen], ids[chosen]
        words = (self.n + 63) >> 6
        per_chunk = max(1, _BLOCK_WORDS // (words + 1))
        last_of_head = np.ones(len(head), dtype=bool)
        last_of_head[:-1] = head[1:] != head[:-1]
        a = 0
        while a < len(head):
            b = min(a + per_chunk, len(head))
            self._member_chunk(head[a:b], ext[a:b], ids[a:b], words)
            if last_of_head[b - 1] and self.pending_words > _BLOCK_WORDS:
                self.flush()
            a = b
        self.flush()

    def _member_chunk(self, head: np.ndarray, ext: np.ndarray, ids: np.ndarray, words: int) -> None:
        # Bitsets over all baskets of the extensions in this chunk, with a zero word at the end.
        items, slot = np.unique(ext, return_inverse=True)
        rows = self.col_row[_ranges(self.col_ptr[items], self.count[items])].astype(np.int64)
        owner = np.repeat(np.arange(len(items), dtype=np.int64), self.count[items])
        item_bits = _flat_bits(owner * (words + 1) + (rows >> 6), rows & 63, len(items) * (words + 1))
        item_bits = item_bits.reshape(len(items), words + 1)
        item_bytes = item_bits.view(np.uint8)  # flat; item t's bytes start at t * 8 * (words + 1)
        slot_start = (slot * 8 * (words + 1)).astype(np.int64 if len(item_bytes) >= 1 << 31 else np.int32)
        width = _width(self.count[head])
        for w in np.unique(width).tolist():
            pick = np.flatnonzero(width == w)
            heads, first = np.unique(head[pick], return_inverse=True)
            out = np.empty((len(pick), w), dtype=np.uint64)
            per_block = max(1, 8 * _CHUNK_WORDS // (64 * w))
            for h0 in range(0, len(heads), per_block):
                h1 = min(h0 + per_block, len(heads))
                # The byte and bit mask of these heads' baskets, padded to 64 * w with the zero word.
                at = self.col_ptr[heads[h0:h1]][:, None] + np.arange(64 * w)
                where = self.col_row[np.minimum(at, len(self.col_row) - 1)].astype(slot_start.dtype)
                where[np.arange(64 * w) >= self.count[heads[h0:h1]][:, None]] = 64 * words
                byte, mask = where >> 3, np.left_shift(1, where & 7).astype(np.uint8)
                lo, hi = np.searchsorted(first, [h0, h1])
                step = max(1, 4 * _CHUNK_WORDS // (64 * w))
                for c in range(lo, hi, step):
                    d = min(c + step, hi)
                    rows = first[c:d] - h0
                    at_byte = byte[rows]
                    at_byte += slot_start[pick[c:d]][:, None]
                    got = np.take(item_bytes, at_byte)
                    got &= mask[rows]
                    out[c:d] = np.packbits(got, axis=1, bitorder="little").view(np.uint64)
            self.pending.setdefault(w, []).append((out, head[pick], ext[pick], ids[pick]))
            self.pending_words += out.size

    def flush(self) -> None:
        """Mine the classes of the pending pair bitsets, one width at a time."""
        pending, self.pending, self.pending_words = self.pending, {}, 0
        for w in sorted(pending):
            parts = pending.pop(w)
            bits, head, item, ids = (np.concatenate([p[j] for p in parts]) for j in range(4))
            self.level(bits, _class_ends(head), item, ids, 2)

    # -- deeper levels ---------------------------------------------------------------------

    def level(self, bits: np.ndarray, ends: np.ndarray, item: np.ndarray, ids: np.ndarray, k: int) -> None:
        """Itemsets of length ``k + 1`` (and, depth-first by blocks, all longer) from rows of length ``k``.

        ``bits`` (rows, words) holds each row's bitset over its class's projected baskets, ``ends[r]``
        is one past the last row of r's class, ``item[r]`` its last item and ``ids[r]`` its id.
        """
        if not self.deeper(k):
            return
        n, w = bits.shape
        partners = ends - np.arange(n, dtype=np.int64) - 1
        work = np.cumsum(partners * w)
        class_end = np.unique(ends)
        start = 0
        while start < n:
            base = work[start - 1] if start else 0
            # The last class end within the budget, or the first class end if one class exceeds it.
            cut = int(np.searchsorted(work, base + _BLOCK_WORDS, side="right"))
            j = int(np.searchsorted(class_end, cut, side="right")) - 1
            stop = int(class_end[j]) if j >= 0 and class_end[j] > start else int(ends[start])
            self._block(bits, partners, item, ids, k, start, stop)
            start = stop

    def _block(self, bits: np.ndarray, partners: np.ndarray, item: np.ndarray, ids: np.ndarray, k: int,
               start: int, stop: int) -> None:
        minc = self.min_count
        w = bits.shape[1]
        rows = np.arange(start, stop, dtype=np.int64)
        rows = rows[partners[start:stop] > 0]
        if len(rows) == 0:
            return
        per_row = partners[rows]
        reach = np.cumsum(per_row * w)
        kept_p, kept_q, kept_n, kept_bits = [], [], [], []
        a = 0
        while a < len(rows):
            done = reach[a - 1] if a else 0
            b = max(int(np.searchsorted(reach, done + _CHUNK_WORDS, side="right")), a + 1)
            p = np.repeat(rows[a:b], per_row[a:b])
            q = _ranges(rows[a:b] + 1, per_row[a:b])
            joint = bits[p]
            joint &= bits[q]
            count = np.bitwise_count(joint).sum(axis=1, dtype=np.int64)
            ok = count >= minc
            if ok.any():
                kept_p.append(p[ok])
                kept_q.append(q[ok])
                kept_n.append(count[ok])
                kept_bits.append(joint[ok])
            a = b
        if not kept_p:
            return
        p, q = np.concatenate(kept_p), np.concatenate(kept_q)
        new_ids = self.emit(k + 1, ids[p], item[q], np.concatenate(kept_n))
        if not self.deeper(k + 1):
            return
        # The next classes: survivors with the same parent row; a class of one has no pair.
        ends = _class_ends(p)
        open_rows = ends - _class_starts(ends) >= 2
        if not open_rows.any():
            return
        bits_next = np.concatenate(kept_bits)[open_rows] if len(kept_bits) > 1 else kept_bits[0][open_rows]
        p = p[open_rows]
        self.level(bits_next, _class_ends(p), item[q[open_rows]], new_ids[open_rows], k + 1)

    # -- output ----------------------------------------------------------------------------

    def result(self, order: np.ndarray, codes: dict[int, np.ndarray], counts: dict[int, np.ndarray]) -> None:
        """Itemsets as sorted item codes, by length (level 1 is already in ``codes``)."""
        previous = None
        for k in range(2, max(self.emitted, default=1) + 1):
            if k not in self.emitted:
                break
            parent = np.concatenate(self.parents.pop(k))
            item = np.concatenate(self.items.pop(k))
            if k == 2:
                ranks = np.column_stack([parent, item])
            else:
                ranks = np.column_stack([previous[parent], item])
            previous = ranks
            codes[k] = np.sort(order[ranks], axis=1)
            counts[k] = np.concatenate(self.counts.pop(k))


def _class_starts(ends: np.ndarray) -> np.ndarray:
    """For rows with class ends ``ends`` (see :func:`_class_ends`), the first row of each row's class."""
    n = len(ends)
    if n == 0:
        return ends
    first = np.ones(n, dtype=bool)
    first[1:] = ends[1:] != ends[:-1]
    starts = np.flatnonzero(first)
    return np.repeat(starts, np.diff(np.concatenate([starts, [n]])))


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
    kept_len = np.zeros(n_baskets, dtype=np.int64)
    full = row_len > 0
    kept_len[full] = np.add.reduceat(keep, x.indptr[:-1][full], dtype=np.int64)
    # Baskets with fewer than two frequent items hold no pair: drop them.
    keep &= np.repeat(kept_len >= 2, row_len)
    sizes = kept_len[kept_len >= 2]
    n = len(sizes)
    if n == 0:
        return Mined(codes, counts)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(sizes, out=indptr[1:])
    r = r[keep]
    del keep
    # Column by column, the baskets of each item in order (a linear-time transpose, no sort).
    by_col = sp.csr_array((np.ones(len(r), dtype=np.int8), r, indptr), shape=(n, m)).tocsc()
    del r, indptr
    miner = _Miner(by_col, min_count, max_len)
    del by_col
    miner.run()
    miner.result(order, codes, counts)
    return Mined(codes, counts)
