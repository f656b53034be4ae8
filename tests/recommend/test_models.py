"""Top-k machinery, baselines, ALS (numpy against an exact solve and against implicit), complements."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from custlab.exceptions import CustlabError
from custlab.recommend import (
    ALS, REPEAT_CANDIDATES, Complements, ItemKNN, Popularity, RandomItems, implicit_available, interaction_matrix,
)
from custlab.recommend.base import top_k_dense, top_k_sparse
from custlab.recommend.mf import _cg_sweep, als_numpy


@given(st.lists(st.lists(st.integers(0, 4), min_size=6, max_size=6), min_size=1, max_size=8), st.integers(1, 8))
def test_top_k_matches_a_plain_sort(rows, k):
    values = np.array(rows, dtype=np.float64)
    values[values == 0] = -np.inf  # not a candidate
    items, scores = top_k_dense(values.copy(), k)
    stored = sp.csr_matrix(np.where(np.isfinite(values), values, 0))
    sparse_items, _ = top_k_sparse(stored, k)
    shuffled = stored.copy()  # each row's entries stored in reverse item order, as a matrix product leaves them
    for r in range(shuffled.shape[0]):
        a, b = shuffled.indptr[r], shuffled.indptr[r + 1]
        shuffled.indices[a:b], shuffled.data[a:b] = shuffled.indices[a:b][::-1].copy(), shuffled.data[a:b][::-1].copy()
    shuffled.has_sorted_indices = False
    unsorted_items, _ = top_k_sparse(shuffled, k)
    for r, row in enumerate(values):
        expected = sorted((j for j in range(row.size) if np.isfinite(row[j])), key=lambda j: (-row[j], j))[:k]
        expected += [-1] * (k - len(expected))
        assert items[r].tolist() == expected
        assert sparse_items[r].tolist() == expected
        assert unsorted_items[r].tolist() == expected



@given(st.lists(st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.5, -2.5, 1e-30, -1e-30, 3e38, -3e38, np.inf, -np.inf, np.nan]),
                min_size=1, max_size=12), st.integers(1, 12))
def test_sparse_top_k_keys_order_every_float(values, k):
    """Signs, zeros of both signs, tiny and huge values: listed by value then item; inf and NaN never listed."""
    row = np.array(values, dtype=np.float64)
    stored = sp.csr_matrix((row, np.arange(row.size), [0, row.size]), shape=(1, row.size))  # -0.0 kept as stored
    items, scores = top_k_sparse(stored, k)
    finite = [j for j in range(row.size) if np.isfinite(row[j])]
    expected = sorted(finite, key=lambda j: (-np.float32(row[j]), j))[:k]
    assert items[0].tolist() == expected + [-1] * (k - len(expected))
    assert scores[0, :len(expected)].tolist() == [float(np.float32(row[j])) + 0.0 for j in expected]
    assert np.isnan(scores[0, len(expected):]).all()


def test_sparse_top_k_over_many_chunks_matches_the_dense_one(monkeypatch):
    """Rows of every length, taken in many small chunks, give the dense path's lists; ties to the smaller item."""
    import custlab.recommend.base as base

    rng = np.random.default_rng(3)
    matrix = sp.random(300, 400, density=0.2, format="csr", random_state=rng)
    matrix.data = np.round(matrix.data * 3) + 1.0  # counts: many ties at the k-th score
    matrix = sp.vstack([matrix, sp.csr_matrix((1, 400)), sp.csr_matrix(np.ones((1, 400)))], format="csr")
    monkeypatch.setattr(base, "SPARSE_CHUNK_CELLS", 1000)
    items, scores = top_k_sparse(matrix, 7)
    dense = np.where(matrix.toarray() > 0, matrix.toarray(), -np.inf)
    expected_items, expected_scores = top_k_dense(dense, 7)
    assert np.array_equal(items, expected_items)
    assert np.array_equal(scores, expected_scores, equal_nan=True)


def test_threads_give_the_same_similarities_and_lists(monkeypatch):
    """item_similarity's item blocks and ItemKNN's customer blocks computed by threads equal one thread's, bit for
    bit (many small blocks forced); CUSTLAB_THREADS is checked."""
    import custlab.recommend.base as base
    import custlab.recommend.knn as knn

    rng = np.random.default_rng(5)
    customers, items = rng.integers(0, 600, 6000), rng.integers(0, 300, 6000)
    tx = pl.DataFrame({"customer_id": customers, "product_id": [f"p{i}" for i in items],
                       "order_date": [dt.datetime(2024, 1, 1)] * 6000})
    data = interaction_matrix(tx)
    monkeypatch.setattr(knn, "BLOCK_PRODUCTS", 2000)
    monkeypatch.setattr(base.Recommender, "_block_rows", lambda self: 37)
    results = []
    for threads in ("1", "3"):
        monkeypatch.setenv("CUSTLAB_THREADS", threads)
        model = ItemKNN(neighbours=20).fit(data)
        results.append((model.similarity_, model.top_k(np.arange(data.shape[0]), 10)))
    (one, top_one), (three, top_three) = results
    assert (one != three).nnz == 0 and one.nnz > 0
    assert np.array_equal(top_one.items, top_three.items) and np.array_equal(top_one.scores, top_three.scores,
                                                                            equal_nan=True)
    sequenced = interaction_matrix(tx.with_columns(order_date=pl.datetime(2024, 1, 1) + pl.duration(
        days=pl.Series(rng.integers(0, 120, 6000)))))
    lists = []
    for threads in ("1", "3"):
        monkeypatch.setenv("CUSTLAB_THREADS", threads)
        model = Complements(within="60d", min_support=0.005, min_confidence=0.01).fit(sequenced)
        lists.append(model.top_k(np.arange(sequenced.shape[0]), 5, fill=False))
    assert model.matrix_.nnz > 0 and (lists[0].items >= 0).any()
    assert np.array_equal(lists[0].items, lists[1].items)
    assert np.array_equal(lists[0].scores, lists[1].scores, equal_nan=True)
    als = ALS(factors=4, iterations=3, backend="numpy").fit(data)
    dense = []
    for threads in ("1", "3"):
        monkeypatch.setenv("CUSTLAB_THREADS", threads)
        dense.append(als.top_k(np.arange(data.shape[0]), 10))
    assert np.array_equal(dense[0].items, dense[1].items) and np.array_equal(dense[0].scores, dense[1].scores)
    monkeypatch.setenv("CUSTLAB_THREADS", "many")
    with pytest.raises(CustlabError, match="CUSTLAB_THREADS must be a whole number"):
        base.threads()
    monkeypatch.delenv("CUSTLAB_THREADS")
    assert 1 <= base.threads() <= 4


def _blocks(n_per_group: int = 40, seed: int = 0) -> pl.DataFrame:
    """Two groups of customers with two disjoint tastes; each customer bought 3 of their group's 5 items."""
    rng = np.random.default_rng(seed)
    rows = []
    for g, prefix in enumerate(("a", "b")):
        for c in range(n_per_group):
            for item in rng.choice(5, 3, replace=False):
                rows.append((g * 1000 + c, f"{prefix}{item}"))
    return pl.DataFrame(rows, schema={"customer_id": pl.Int64, "product_id": pl.String}, orient="row").with_columns(
        order_date=pl.lit(dt.datetime(2024, 1, 1)))


@pytest.mark.parametrize("model", [ItemKNN(similarity="cosine"), ItemKNN(similarity="bm25"),
                                   ALS(factors=2, backend="numpy"),
                                   pytest.param(ALS(factors=2, backend="implicit"), marks=pytest.mark.skipif(
                                       not implicit_available(), reason="implicit not installed"))])
def test_models_recover_planted_tastes(model):
    data = interaction_matrix(_blocks())
    rows = np.arange(data.shape[0])
    top = model.fit(data).top_k(rows, 2)
    group = np.array([c >= 1000 for c in data.customers.to_list()])
    prefix = np.array([p[0] == "b" for p in data.items.to_list()])
    assert (prefix[top.items] == group[:, None]).mean() > 0.95
    assert not top.filled.any()
    owned = data.bought[rows].toarray() > 0
    assert not np.take_along_axis(owned, top.items, 1).any()


def test_numpy_cg_converges_to_the_exact_least_squares_solution():
    rng = np.random.default_rng(3)
    conf = sp.random(30, 12, density=0.3, random_state=3, format="csr") * 5 + 0
    conf.data += 1.0
    y = rng.normal(size=(12, 4))
    x = np.zeros((30, 4))
    solved = _cg_sweep(conf, x, y, 0.1, steps=20)
    dense = conf.toarray()
    for u in range(30):
        c = np.where(dense[u] > 0, dense[u], 1.0)
        p = (dense[u] > 0).astype(float)
        exact = np.linalg.solve(y.T @ (c[:, None] * y) + 0.1 * np.eye(4), y.T @ (c * p))
        assert np.allclose(solved[u], exact, atol=1e-6)


@pytest.mark.skipif(not implicit_available(), reason="implicit not installed")
def test_numpy_and_implicit_backends_fit_equally_well():
    data = interaction_matrix(_blocks(seed=5))
    dense = data.bought.toarray()
    losses = []
    for backend in ("numpy", "implicit"):
        model = ALS(factors=6, backend=backend, iterations=20).fit(data)
        pred = model.user_factors_ @ model.item_factors_.T
        losses.append(np.mean((dense - pred) ** 2))
    assert abs(losses[0] - losses[1]) < 0.02 and max(losses) < 0.2


def test_popularity_random_and_fill(tiny):
    data = interaction_matrix(tiny)
    top = Popularity().fit(data).top_k(data.rows_of([4, 99]), 3)
    names = [data.items.gather(r[r >= 0]).to_list() for r in top.items]
    assert names == [["tea", "cup"], ["tea", "cup", "jam"]]  # 4 owns jam; 99 has no history
    random = RandomItems(seed=1).fit(data).top_k(data.rows_of([3]), 2)
    assert set(data.items.gather(random.items[0]).to_list()) == {"cup", "jam"}
    with pytest.raises(CustlabError, match="not fitted"):
        ItemKNN().top_k(np.array([0]), 1)
    with pytest.raises(CustlabError, match="k must be"):
        Popularity().fit(data).top_k(np.array([0]), 0)


def test_segment_popularity_ranks_within_the_segment(tiny):
    segments = pl.DataFrame({"customer_id": [1, 2, 3, 4], "segment": ["x", "x", "x", "y"]})
    data = interaction_matrix(tiny)
    pop = Popularity(segments=segments).fit(data)
    top = pop.top_k(np.array([-1, -1, data.rows_of([3])[0]]), 2, labels=["y", "x", None])
    assert [data.items.gather(r).to_list() for r in top.items] == [["jam", "tea"], ["tea", "cup"], ["cup", "jam"]]


def test_als_settings_are_checked():
    data = interaction_matrix(_blocks())
    with pytest.raises(CustlabError, match="factors"):
        ALS(factors=0).fit(data)
    with pytest.raises(CustlabError, match="backend"):
        ALS(backend="gpu").fit(data)


def test_als_numpy_is_deterministic():
    conf = sp.random(20, 10, density=0.3, random_state=1, format="csr")
    a = als_numpy(conf, factors=3, iterations=3, seed=4)
    b = als_numpy(conf, factors=3, iterations=3, seed=4)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_buy_again_lists_own_products_by_purchase_days_then_popular(tiny):
    from custlab.recommend import BuyAgain

    extra = tiny.vstack(tiny.filter(pl.col("customer_id") == 1, pl.col("product_id") == "cup")
                        .with_columns(order_date=pl.col("order_date") + dt.timedelta(days=1)))
    data = interaction_matrix(extra)
    model = BuyAgain().fit(data)
    top = model.top_k(data.rows_of([1, 4]), 3, exclude_bought=False)
    names = [data.items.gather(row[row >= 0]).to_list() for row in top.items]
    # customer 1: cup on 2 days, tea on 1; then the most bought product not bought (jam); customer 4: jam (2 days)
    assert names == [["cup", "tea", "jam"], ["jam", "tea", "cup"]]
    assert top.filled.tolist() == [[False, False, True], [False, True, True]]
    assert top.scores[0, :2].tolist() == pytest.approx([2.0, 1.0], abs=0.01)
    # leaving bought products out, it is popularity
    pop = Popularity().fit(data).top_k(data.rows_of([1, 4]), 2)
    assert model.top_k(data.rows_of([1, 4]), 2).items.tolist() == pop.items.tolist()


def test_top_k_repr_is_a_headline():
    from custlab.recommend import TopK

    top = TopK(np.full((1000, 10), 3, dtype=np.int64), np.zeros((1000, 10)), np.zeros((1000, 10), dtype=bool))
    assert repr(top) == "TopK(1,000 customers x 10 slots, 10,000 items listed)"


def test_default_chooses_buy_again_where_customers_rebuy():
    """Customers rebuy their own two staples every week and try nothing else: for lists that may repeat
    purchases the default picks buy_again; for new items it keeps its new-item choice."""
    from custlab.recommend import DefaultRecommender

    rows = []
    for c in range(60):
        staples = [f"s{(c + j) % 20}" for j in (0, 7)]
        for week in range(20):
            rows += [(c, item, dt.datetime(2024, 1, 1) + dt.timedelta(days=7 * week + c % 3)) for item in staples]
    tx = pl.DataFrame(rows, schema=["customer_id", "product_id", "order_date"], orient="row")
    model = DefaultRecommender().fit(interaction_matrix(tx))
    assert model.repeat_chosen_ == "buy_again" and model.chosen_ != "buy_again"
    assert model.used(False) is model.repeat_model_ and model.used(True) is model.model_
    assert "buy again" in model.why()
    top = model.top_k(model.data_.rows_of([0]), 2, exclude_bought=False)
    assert sorted(model.data_.items.gather(top.items[0]).to_list()) == ["s0", "s7"]


def test_default_fits_each_candidate_once_on_the_holdout_for_both_choices():
    """The new-item and the repeat choice train on the same weeks: a candidate they share is fitted there once,
    and a label reused with another factory is not mistaken for it."""
    from custlab.recommend import DefaultRecommender

    rows = []
    for c in range(60):
        staples = [f"s{(c + j) % 20}" for j in (0, 7)]
        for week in range(20):
            tried = f"n{(3 * c + week) % 30}"  # and something new each week, so both choices can be measured
            rows += [(c, item, dt.datetime(2024, 1, 1) + dt.timedelta(days=7 * week + c % 3)) for item in [*staples, tried]]
    data = interaction_matrix(pl.DataFrame(rows, schema=["customer_id", "product_id", "order_date"], orient="row"))
    fits: list[str] = []

    def counted(label, make):
        def factory():
            fits.append(label)
            return make()
        return factory

    knn, popular = counted("knn", ItemKNN), counted("popularity", Popularity)
    other = counted("other knn", lambda: ItemKNN(similarity="cosine"))
    model = DefaultRecommender(candidates=[("knn", knn), ("popularity", popular)],
                               repeat_candidates=[("knn", knn), ("popularity", other)]).fit(data)
    assert model.comparison_.height == 2 and model.repeat_comparison_.height == 2  # both measured on the holdout
    holdout_fits = len(fits) - len({model.chosen_, model.repeat_chosen_})  # the winners are refitted on everything
    assert holdout_fits == 3  # knn once (shared), popularity, and the other factory under the same label
    assert fits.count("other knn") >= 1


def test_new_product_lists_skip_the_repeat_choice_and_make_it_when_asked(shop):
    """lists="new" (what recommend() asks for with exclude_bought=True) never pays for the choice among repeat
    candidates; asked for a repeat list anyway, it makes the same choice as an eager fit."""
    import pickle

    from custlab.recommend import DefaultRecommender

    data = interaction_matrix(shop.transactions)
    eager = DefaultRecommender().fit(data)
    assert eager._repeat_choice is not None
    lazy = DefaultRecommender(lists="new").fit(data)
    assert np.array_equal(lazy.top_k(np.arange(50), 5).items, eager.top_k(np.arange(50), 5).items)
    assert lazy._repeat_choice is None and "repeat" not in lazy.why()
    restored = pickle.loads(pickle.dumps(lazy))  # pickling makes the choice (its candidates may not pickle)
    assert restored.repeat_chosen_ == eager.repeat_chosen_
    assert lazy.repeat_comparison_.equals(eager.repeat_comparison_)
    assert lazy.repeat_comparison_["candidate"].to_list() == [label for label, _ in REPEAT_CANDIDATES]
    top = lazy.top_k(np.arange(50), 5, exclude_bought=False)
    assert np.array_equal(top.items, eager.top_k(np.arange(50), 5, exclude_bought=False).items)
    assert not hasattr(DefaultRecommender(), "repeat_model_")
    with pytest.raises(CustlabError, match="lists must be"):
        DefaultRecommender(lists="all").fit(data)
