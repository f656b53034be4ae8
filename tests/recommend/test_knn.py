"""Item kNN against an independent dense computation; BM25 against its formula."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from custlab.recommend import knn as knn_module
from custlab.recommend.knn import bm25_weight, item_similarity, strongest_source


def _random_matrix(seed: int = 0, shape=(60, 25), density=0.15) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = (rng.random(shape) < density) * rng.integers(1, 4, size=shape)
    return sp.csr_matrix(dense.astype(np.float64))


@pytest.mark.parametrize("alpha", [0.5, 0.8])
def test_similarity_equals_dense_formula(alpha):
    m = _random_matrix()
    dense = m.toarray()
    co = dense.T @ dense
    sq = (dense ** 2).sum(axis=0)
    sq[sq == 0] = 1
    expected = co / (sq[:, None] ** alpha * sq[None, :] ** (1 - alpha))
    np.fill_diagonal(expected, 0)
    assert np.allclose(item_similarity(m, alpha=alpha).toarray(), expected)


def test_blocks_and_neighbours(monkeypatch):
    m = _random_matrix(1)
    full = item_similarity(m).toarray()
    monkeypatch.setattr(knn_module, "BLOCK_PRODUCTS", 7)  # many small blocks: same result
    assert np.allclose(item_similarity(m).toarray(), full)
    pruned = item_similarity(m, neighbours=3).toarray()
    for i in range(full.shape[0]):
        kept = np.flatnonzero(pruned[i])
        assert kept.size == min(3, np.count_nonzero(full[i]))
        assert np.allclose(pruned[i, kept], full[i, kept])
        others = np.setdiff1d(np.arange(full.shape[1]), kept)
        if kept.size:
            assert full[i, others].max(initial=0) <= pruned[i, kept].min() + 1e-12


def test_bm25_matches_formula():
    m = _random_matrix(2)
    dense = m.toarray()
    n = dense.shape[0]
    idf = np.maximum(np.log(n) - np.log1p((dense > 0).sum(axis=0)), 0)
    length = dense.sum(axis=1)
    norm = 0.25 + 0.75 * length / length.mean()
    expected = np.where(dense > 0, dense * 2.2 / (1.2 * norm[:, None] + dense) * idf[None, :], 0)
    assert np.allclose(bm25_weight(m).toarray(), expected)


def test_strongest_source_is_the_largest_contribution():
    profile = sp.csr_matrix(np.array([[1.0, 2.0, 0.0, 0.0]]))
    sim = sp.csr_matrix(np.array([[0, 0, 0.9, 0.1], [0, 0, 0.5, 0.0], [0, 0, 0, 0], [0, 0, 0, 0]]))
    # item 2: 1*0.9 vs 2*0.5 -> item 1 wins; item 3: only item 0 contributes
    assert strongest_source(profile, sim, np.array([0, 0, 0]), np.array([2, 3, 1])).tolist() == [1, 0, -1]
