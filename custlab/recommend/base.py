"""The shared base of the recommenders: fit on :class:`Interactions`, score rows, take the top k.

A recommender stores its settings in ``__init__``, learns in :meth:`Recommender.fit`
(which returns ``self``; learned attributes end in ``_``) and gives, for a
block of customer rows, a score per item (:meth:`Recommender.scores`, dense
or sparse; an item without a score has no evidence for it).
:meth:`Recommender.top_k` turns scores into the k best items per customer,
leaving out what each customer bought (``exclude_bought``) and, with
``novelty > 0``, lowering popular items (score / share of buyers ** novelty).
Customers whose scores name fewer than k items are filled with the most
popular items they have not bought (marked in ``filled``), so every list has
k items while the catalogue lasts.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import scipy.sparse as sp

from custlab.exceptions import CustlabError
from custlab.recommend.matrix import Interactions

__all__ = ["Recommender", "TopK", "check_k", "in_threads", "top_k_dense", "top_k_sparse", "top_of_dense"]

#: Cells (rows x columns) of one dense score block.
BLOCK_CELLS = 1 << 24
#: Cells of one padded chunk of :func:`top_k_sparse` (8 MB of keys): small chunks stay in memory already
#: touched, which measured twice as fast as 128 MB ones on Online Retail's score blocks.
SPARSE_CHUNK_CELLS = 1 << 20


_T = TypeVar("_T")
_R = TypeVar("_R")


def threads() -> int:
    """Threads for independent blocks: ``CUSTLAB_THREADS`` if set, else the cores (at most 4, each holds a block)."""
    given = os.environ.get("CUSTLAB_THREADS", "").strip()
    if given:
        if not given.isdigit() or int(given) < 1:
            raise CustlabError(f"CUSTLAB_THREADS must be a whole number of 1 or more, got {given!r}.")
        return int(given)
    return max(1, min(4, os.cpu_count() or 1))


def in_threads(function: Callable[[_T], _R], items: Iterable[_T]) -> list[_R]:
    """``[function(x) for x in items]``, in order, computed by up to :func:`threads` threads at once.

    For blocks that share nothing but read-only inputs: scipy's sparse products and numpy's sorts and
    partitions release the GIL, so two threads run about 1.4-1.7x faster than one on two cores.
    """
    items = list(items)
    workers = min(threads(), len(items))
    if workers <= 1:
        return [function(x) for x in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="custlab") as pool:
        return list(pool.map(function, items))


@dataclass(frozen=True)
class TopK:
    """The k best items of each customer row: ``items`` (int64, -1 past the end), ``scores`` (float32, NaN past
    the end) and ``filled`` (bool: the item came from the popularity fill, not from the model)."""

    items: np.ndarray
    scores: np.ndarray
    filled: np.ndarray

    def __repr__(self) -> str:
        n, k = self.items.shape
        return f"TopK({n:,} customers x {k} slots, {int((self.items >= 0).sum()):,} items listed)"


def check_k(k: object, name: str = "k") -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise CustlabError(f"{name} must be a whole number of 1 or more, got {k!r}.")
    return int(k)


def _order(items: np.ndarray, values: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the k largest finite ``values`` (ties: smaller item index first); -1/NaN past the end."""
    n, width = values.shape
    if width == 0:
        return np.full((n, k), -1, dtype=np.int64), np.full((n, k), np.nan, dtype=np.float32)
    keep = min(k, width)
    if width > keep:
        part = np.argpartition(-values, keep - 1, axis=1)[:, :keep]
        cut = np.take_along_axis(values, part, 1).min(axis=1, keepdims=True)
        # rows with a finite tie at the cut are sorted whole, so ties go to the smaller item index
        tied = np.flatnonzero(np.isfinite(cut[:, 0]) & ((values >= cut).sum(axis=1) > keep))
        top_v, top_i = np.take_along_axis(values, part, 1), np.take_along_axis(items, part, 1)
        if tied.size:
            whole = np.lexsort((items[tied], -values[tied]), axis=1)[:, :keep]
            top_v[tied] = np.take_along_axis(values[tied], whole, 1)
            top_i[tied] = np.take_along_axis(items[tied], whole, 1)
        values, items = top_v, top_i
    order = np.lexsort((items, -values), axis=1)[:, :keep]
    top_v = np.take_along_axis(values, order, 1).astype(np.float32)
    top_i = np.take_along_axis(items, order, 1).astype(np.int64)
    dead = ~np.isfinite(top_v)
    top_i[dead] = -1
    top_v[dead] = np.nan
    if keep < k:
        top_i = np.hstack([top_i, np.full((n, k - keep), -1, dtype=np.int64)])
        top_v = np.hstack([top_v, np.full((n, k - keep), np.nan, dtype=np.float32)])
    return top_i, top_v


def top_k_dense(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top k columns of each row of a dense score block (-inf = not a candidate)."""
    items = np.broadcast_to(np.arange(scores.shape[1], dtype=np.int64), scores.shape)
    return _order(items, scores, k)


def top_of_dense(block: np.ndarray, bought: sp.csr_matrix | None, k: int,
                 penalty: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Top k of a dense float64 score block, changed in place: multiplied by ``penalty`` (one factor per column),
    the cells stored in ``bought`` (same rows and columns) left out."""
    if penalty is not None:
        block *= penalty[None, :]
    if bought is not None:
        block[np.repeat(np.arange(block.shape[0]), np.diff(bought.indptr)), bought.indices] = -np.inf
    return top_k_dense(block, k)


def top_k_sparse(scores: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top k stored entries of each row of a CSR score block.

    Each stored entry becomes one unsigned 64-bit key: its float32 score in the high half, turned so that
    larger scores give smaller keys, and its column in the low half (:func:`_sort_keys`). The order of the keys
    is the order of the lists (score descending, ties to the smaller item index), so one ``argpartition`` and a
    sort of the k kept keys give the top k, ties included (a whole-row sort of tied rows cost four times as
    much on co-occurrence counts). Rows are sorted by their number of entries and taken in chunks padded to
    the chunk's longest row (at most :data:`SPARSE_CHUNK_CELLS` cells), so the padding stays small whatever the
    spread of row lengths.
    """
    scores = sp.csr_matrix(scores)  # indices need not be sorted: ties are broken on the item index itself
    n = scores.shape[0]
    out_i = np.full((n, k), -1, dtype=np.int64)
    out_v = np.full((n, k), np.nan, dtype=np.float32)
    if scores.shape[1] >= _ITEM_SPAN:  # pragma: no cover - more than 4 billion items
        raise CustlabError(f"top_k_sparse takes fewer than {_ITEM_SPAN:,} items, got {scores.shape[1]:,}.")
    keys = _sort_keys(scores.data, scores.indices)
    lengths = np.diff(scores.indptr)
    order = np.argsort(lengths, kind="stable")
    order = order[lengths[order] > 0]
    start = 0
    while start < order.size:
        # rows sorted by length: as many as fit, judged by the longest of them
        stop = start + 1
        while stop < order.size:
            step = max(1, (stop - start))
            nxt = min(order.size, stop + step)
            if int(lengths[order[nxt - 1]]) * (nxt - start) > SPARSE_CHUNK_CELLS:
                break
            stop = nxt
        rows = order[start:stop]
        width = int(lengths[rows].max())
        counts = lengths[rows]
        first = scores.indptr[rows]
        row_of = np.repeat(np.arange(rows.size), counts)
        pos = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        block = np.full((rows.size, width), _PAD, dtype=np.uint64)  # padding sorts after every entry
        block[row_of, pos] = keys[first[row_of] + pos]
        if width > k:
            block = np.take_along_axis(block, np.argpartition(block, k - 1, axis=1)[:, :k], 1)
        block.sort(axis=1)
        out_i[rows, :block.shape[1]], out_v[rows, :block.shape[1]] = _from_keys(block)
        start = stop
    return out_i, out_v


#: Columns a sort key can hold (its low 32 bits), and the key of a padding cell (after every entry).
_ITEM_SPAN = 1 << 32
_PAD = np.uint64(np.iinfo(np.uint64).max)
#: High half of the key of -inf: keys at or above it are not listed (-inf, NaN, padding).
_DEAD_HIGH = np.uint64(0xFF800000)


def _sort_keys(values: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Keys whose ascending order is (float32 value descending, item ascending); NaN and +-inf count as -inf.

    A float32's bits read as a signed integer order the floats once the magnitude bits of the negative ones
    are flipped; the complement reverses that order, and flipping the sign bit makes it the order of the
    unsigned high half of the key.
    """
    v = np.asarray(values, dtype=np.float32)
    if not np.isfinite(v).all():
        v = np.where(np.isfinite(v), v, np.float32(-np.inf))
    bits = (v + np.float32(0.0)).view(np.int32)  # -0.0 + 0.0 is 0.0: one key for zero
    bits ^= (bits >> np.int32(31)) & np.int32(0x7FFFFFFF)
    high = (np.int32(-1) - bits).view(np.uint32) ^ np.uint32(0x80000000)
    keys = high.astype(np.uint64)
    keys <<= np.uint64(32)
    keys |= np.asarray(items).astype(np.uint64)
    return keys


def _from_keys(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Items (int64, -1 when not listed) and float32 values (NaN when not listed) of sorted keys."""
    high = keys >> np.uint64(32)
    dead = high >= _DEAD_HIGH
    ascending = ~high.astype(np.uint32)
    # undo the mapping: ascending keys with the sign bit set were non-negative values
    unflip = np.where(ascending >> np.uint32(31), np.uint32(0x80000000), np.uint32(0xFFFFFFFF))
    values = (ascending ^ unflip).view(np.float32)
    items = (keys & np.uint64(0xFFFFFFFF)).astype(np.int64)
    items[dead] = -1
    values[dead] = np.nan
    return items, values


class Recommender:
    """Base class: ``fit(interactions)``, ``scores(rows)``, ``top_k(rows, k)`` (module docstring)."""

    #: Short name used in tables (``model`` column) and for ``model=`` in :func:`custlab.recommend.recommend`.
    name = "base"
    #: Whether :meth:`scores` only reads fitted arrays (no random draws, no library state), so that
    #: :meth:`top_k` may score blocks of customers in threads (:func:`in_threads`): the lists are the same.
    threaded_scores = False

    def fit(self, data: Interactions) -> Recommender:
        """Learn from ``data``; returns ``self``."""
        if not isinstance(data, Interactions):
            raise TypeError(f"fit() takes an Interactions (custlab.recommend.interaction_matrix), got "
                            f"{type(data).__name__}.")
        self.data_ = data
        share = data.buyers / max(data.shape[0], 1)
        self.popularity_ = share.astype(np.float64)
        self._fit(data)
        return self

    def _fit(self, data: Interactions) -> None:  # pragma: no cover - every model overrides it
        raise NotImplementedError

    def _check_fitted(self) -> Interactions:
        data = getattr(self, "data_", None)
        if data is None:
            raise CustlabError(f"This {type(self).__name__} is not fitted yet: call .fit(interactions) first.")
        return data

    def scores(self, rows: np.ndarray) -> np.ndarray | sp.csr_matrix:
        """Scores of every item for the customer ``rows`` (higher is better)."""
        raise NotImplementedError  # pragma: no cover

    def _start(self, rows, k: int, novelty: float) -> tuple[np.ndarray, int, float, np.ndarray, np.ndarray]:
        """Check the arguments of ``top_k``: ``(rows, k, novelty, empty items, empty scores)``."""
        self._check_fitted()
        k = check_k(k)
        novelty = _check_novelty(novelty)
        rows = np.asarray(rows, dtype=np.int64)
        return rows, k, novelty, np.full((len(rows), k), -1, dtype=np.int64), \
            np.full((len(rows), k), np.nan, dtype=np.float32)

    def _block_rows(self) -> int:
        return max(1, BLOCK_CELLS // max(self._check_fitted().shape[1], 1))

    def top_k(self, rows: np.ndarray, k: int, *, exclude_bought: bool = True, novelty: float = 0.0,
              fill: bool = True) -> TopK:
        """The k best items for each customer row (rows of :attr:`data_`; -1 for a customer without history)."""
        rows, k, novelty, items, values = self._start(rows, k, novelty)
        known = np.flatnonzero(rows >= 0)
        step = self._block_rows()
        penalty = self._novelty_penalty(novelty)

        def best(at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return self._block_top(rows[at], k, exclude_bought, penalty)

        blocks = [known[start:start + step] for start in range(0, len(known), step)]
        for at, (block_items, block_values) in zip(
                blocks, in_threads(best, blocks) if self.threaded_scores else map(best, blocks), strict=True):
            items[at], values[at] = block_items, block_values
        filled = np.zeros(items.shape, dtype=bool)
        if fill:
            filled = self._fill(rows, items, values, exclude_bought, novelty)
        return TopK(items, values, filled)

    def _block_top(self, rows: np.ndarray, k: int, exclude_bought: bool,
                   penalty: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """The top k of one block of customer rows (items, scores); models that score few columns override it."""
        return self._top_of_block(self.scores(rows), rows, k, exclude_bought, penalty)

    def _novelty_penalty(self, novelty: float) -> np.ndarray | None:
        if novelty == 0:
            return None
        share = np.maximum(self.popularity_, 1.0 / max(self._check_fitted().shape[0], 1))
        return share ** (-novelty)

    def _top_of_block(self, block, rows: np.ndarray, k: int, exclude_bought: bool,
                      penalty: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        data = self.data_
        if sp.issparse(block):
            block = sp.csr_matrix(block, dtype=np.float32)
            if penalty is not None:
                block = block @ sp.diags(penalty)
                block = block.tocsr()
            if exclude_bought:
                bought = data.bought[rows]
                block = block - block.multiply(bought)
                block = sp.csr_matrix(block)
                block.eliminate_zeros()
            return top_k_sparse(block, k)
        return top_of_dense(np.array(block, dtype=np.float64), data.bought[rows] if exclude_bought else None, k,
                            penalty)

    def _fill(self, rows: np.ndarray, items: np.ndarray, values: np.ndarray, exclude_bought: bool,
              novelty: float) -> np.ndarray:
        """Complete short lists with the most popular items not bought and not listed (in place)."""
        filled = np.zeros(items.shape, dtype=bool)
        short = np.flatnonzero((items < 0).any(axis=1))
        if short.size:
            rank_value = self.popularity_ * (1.0 if novelty == 0 else self._novelty_penalty(novelty))
            self._take_ranked(rank_value, rows, short, items, values, filled, exclude_bought, score=False)
        return filled

    def _take_ranked(self, rank_value: np.ndarray, rows: np.ndarray, short: np.ndarray, items: np.ndarray,
                     values: np.ndarray, mark: np.ndarray, exclude_bought: bool, *, score: bool) -> None:
        """Fill the free slots of lists ``short`` with the best items by ``rank_value`` not bought and not listed.

        The value written is ``rank_value`` when ``score``, else NaN; ``mark`` is set on every slot written.
        """
        data = self.data_
        ranking = np.lexsort((np.arange(rank_value.size), -rank_value))
        k = items.shape[1]
        n_items = data.shape[1]
        known = rows[short] >= 0
        owned = data.bought[np.where(known, rows[short], 0)] if exclude_bought else \
            sp.csr_matrix((short.size, n_items), dtype=np.float32)
        owned = sp.csr_matrix(owned.multiply(known[:, None].astype(np.float32)))
        widest = int(np.diff(owned.indptr).max(initial=0))
        candidates = ranking[:min(n_items, 2 * k + widest)]
        step = max(1, BLOCK_CELLS // max(candidates.size * (k + 1), 1))
        for start in range(0, short.size, step):
            at = short[start:start + step]
            listed = items[at]
            taken = owned[start:start + step][:, candidates].toarray() > 0
            taken |= (listed[:, :, None] == candidates[None, None, :]).any(axis=1)
            have = (listed >= 0).sum(axis=1)
            free = ~taken
            order = np.cumsum(free, axis=1)
            pick = free & (order <= (k - have)[:, None])
            r, c = np.nonzero(pick)
            slot = have[r] + order[r, c] - 1
            items[at[r], slot] = candidates[c]
            values[at[r], slot] = rank_value[candidates[c]] if score else np.nan
            mark[at[r], slot] = True

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.endswith("_") and not k.startswith("_"))
        fitted = "" if getattr(self, "data_", None) is None else f"; fitted on {self.data_.shape[0]:,} customers"
        return f"{type(self).__name__}({settings}{fitted})"


def _check_novelty(novelty: object) -> float:
    if isinstance(novelty, bool) or not isinstance(novelty, (int, float)) or not np.isfinite(novelty) or novelty < 0:
        raise CustlabError(f"novelty must be a number of 0 or more (0: off, 0.5: long-tail items rise), got {novelty!r}.")
    return float(novelty)
