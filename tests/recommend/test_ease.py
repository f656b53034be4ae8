"""EASE against an independent per-column least-squares solve, its item cap, its reasons and its bad settings."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp

from custlab.exceptions import CustlabError
from custlab.recommend import EASE, interaction_matrix, recommend
from custlab.recommend.linear import ease_weights


def _random_matrix(seed: int = 0, shape=(80, 30), density=0.2) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    return sp.csr_matrix((rng.random(shape) < density).astype(np.float64))


@pytest.mark.parametrize("regularization", [0.5, 10.0, 500.0])
def test_weights_solve_the_constrained_least_squares(regularization):
    # each column j separately: B[-j, j] minimises |X_j - X_-j b|^2 + lambda |b|^2 (ridge without the item itself),
    # which is what the zero-diagonal closed form must give
    x = _random_matrix()
    dense = x.toarray()
    n = dense.shape[1]
    expected = np.zeros((n, n))
    for j in range(n):
        others = np.delete(np.arange(n), j)
        a = dense[:, others]
        expected[others, j] = np.linalg.solve(a.T @ a + regularization * np.eye(n - 1), a.T @ dense[:, j])
    got = ease_weights(x, regularization)
    assert got.dtype == np.float32
    assert np.allclose(got, expected, atol=1e-5, rtol=1e-4)
    assert np.all(np.diag(got) == 0)


def test_weights_of_no_items_and_of_no_customers():
    assert ease_weights(sp.csr_matrix((3, 0)), 1.0).shape == (0, 0)
    assert np.array_equal(ease_weights(sp.csr_matrix((0, 3)), 1.0), np.zeros((3, 3)))  # no evidence, no weights


def _history(rows: list[tuple[int, str]]) -> pl.DataFrame:
    return pl.DataFrame({"customer_id": [r[0] for r in rows], "order_date": [dt.datetime(2024, 1, 1)] * len(rows),
                         "product_id": [r[1] for r in rows]})


def test_scores_are_the_profile_times_the_weights_and_the_cap_holds():
    rng = np.random.default_rng(3)
    rows = [(c, f"p{i:02d}") for c in range(200) for i in range(20) if rng.random() < 0.05 + 0.4 * (i < 8)]
    data = interaction_matrix(_history(rows))
    model = EASE(regularization=5.0, top_n=8).fit(data)
    # the 8 items with most buyers are modelled, in column order
    by_buyers = np.lexsort((np.arange(data.shape[1]), -data.buyers))[:8]
    assert model.items_.tolist() == sorted(by_buyers.tolist())
    scores = model.scores(np.arange(5))
    x = data.bought.toarray()[:5][:, model.items_]
    assert np.allclose(scores[:, model.items_], x @ ease_weights(data.bought[:, model.items_], 5.0), atol=1e-5)
    others = np.setdiff1d(np.arange(data.shape[1]), model.items_)
    assert np.all(np.isneginf(scores[:, others]))
    # items outside the cap reach a list only through the popularity fill
    top = model.top_k(np.arange(data.shape[0]), 10)
    outside = np.isin(top.items, others)
    assert outside.any() and np.all(top.filled[outside])


def test_recommends_the_planted_companion_with_its_reason():
    # 40 buyers of tea also buy cup, 40 buyers of pen also buy ink; customer 999 has tea only
    rows = [(c, p) for c in range(40) for p in ("tea", "cup")] + [(100 + c, p) for c in range(40) for p in ("pen", "ink")]
    rows += [(999, "tea"), (200, "jam"), (201, "jam")]
    out = recommend(_history(rows), k=1, model=EASE(regularization=1.0), customers=[999], replenish=False)
    assert out["product_id"].to_list() == ["cup"]
    assert out["reason"].to_list() == ["Customers who bought tea also bought this."]
    zh = recommend(_history(rows), k=1, model="ease", customers=[999], replenish=False, language="zh")
    assert zh["product_id"].to_list() == ["cup"]


def test_because_names_the_bought_item_with_the_largest_weight():
    x = sp.csr_matrix(np.array([[1, 1, 0, 0], [1, 1, 0, 0], [1, 0, 1, 0], [0, 1, 1, 1], [0, 0, 1, 1]], dtype=float))
    data = interaction_matrix(_history([(r, f"p{c}") for r, c in zip(*x.nonzero(), strict=True)]))
    model = EASE(regularization=0.5).fit(data)
    b = model.weights_
    for row in range(data.shape[0]):
        bought = np.flatnonzero(data.bought[row].toarray().ravel())
        for item in range(data.shape[1]):
            got = model.because(np.array([row]), np.array([item]))[0]
            best = bought[np.argmax(b[bought, item])] if bought.size else -1
            want = best if bought.size and b[best, item] > 0 else -1
            assert got == want, (row, item)
    assert model.because(np.array([-1, 0]), np.array([0, -1])).tolist() == [-1, -1]


@pytest.mark.parametrize(("settings", "message"), [
    ({"regularization": 0}, "regularization must be a positive"),
    ({"regularization": float("nan")}, "regularization must be a positive"),
    ({"top_n": 0}, "top_n must be a whole number"),
    ({"weights": "counts"}, "weights must be 'binary' or 'strength'"),
])
def test_bad_settings(tiny, settings, message):
    with pytest.raises(CustlabError, match=message):
        EASE(**settings).fit(interaction_matrix(tiny))


def test_strength_weights_and_unfitted_model(tiny):
    with pytest.raises(CustlabError, match="not fitted"):
        EASE().scores(np.array([0]))
    data = interaction_matrix(tiny)
    top = EASE(weights="strength", regularization=1.0).fit(data).top_k(data.rows_of([3]), 1)
    assert data.items.gather(top.items[0]).to_list() == ["cup"]


@pytest.mark.parametrize("weights", ["binary", "strength"])
def test_lists_equal_the_full_width_scores(weights):
    # top_k ranks only the modelled columns; it must list what ranking the full-width scores would, for customers
    # with many positive candidates and for customers with few (whose lists the popularity fill completes)
    rng = np.random.default_rng(5)
    rows = [(c, f"p{i:02d}") for c in range(150) for i in range(40) if rng.random() < 0.03 + 0.3 * (i < 12)]
    rows += [(200 + c, f"p{30 + c % 10:02d}") for c in range(30)]  # one rare product each
    data = interaction_matrix(_history(rows))
    model = EASE(regularization=3.0, top_n=15, weights=weights).fit(data)
    assert not np.array_equal(model.items_, np.arange(15))  # modelled positions differ from catalogue columns
    customers = np.arange(data.shape[0])
    few = (np.isfinite(model.scores(customers)) & (data.bought.toarray() == 0)).sum(axis=1) < 5
    assert few.sum() >= 20
    for novelty in (0.0, 0.5):
        top = model.top_k(customers, 5, novelty=novelty, fill=False)
        full = model._top_of_block(model.scores(customers), customers, 5, True, model._novelty_penalty(novelty))
        assert np.array_equal(top.items, full[0])
        assert np.allclose(top.scores, full[1], equal_nan=True)
        assert np.all(top.items[few][:, -1] == -1)  # short lists stay short without the fill
    top = model.top_k(customers, 5, exclude_bought=False, fill=False)
    assert np.array_equal(top.items, model._top_of_block(model.scores(customers), customers, 5, False, None)[0])


def test_no_positive_evidence_leaves_the_slot_to_the_popularity_fill():
    # three customers with one product each: nothing co-occurs, so EASE picks nothing itself
    data = interaction_matrix(_history([(1, "tea"), (2, "cup"), (3, "jam"), (4, "jam")]))
    top = EASE().fit(data).top_k(data.rows_of([1, 2]), 2)
    assert top.filled.all()
    assert data.items.gather(top.items[0]).to_list() == ["jam", "cup"]  # jam has two buyers
    out = recommend(_history([(1, "tea"), (2, "cup"), (3, "jam"), (4, "jam")]), k=1, model="ease", customers=[1],
                    replenish=False)
    assert out["reason"][0] == "Popular choice: 50% of customers bought it."
