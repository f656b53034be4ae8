"""Hierarchies: parents are exact sums, reconciliation makes forecasts add up, MinT as hierarchicalforecast's."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

import custlab as cl
from custlab.exceptions import CustlabError
from custlab.forecast import METHODS, forecast, hierarchy_series, reconcile
from custlab.forecast.hierarchy import shrunk_covariance


@pytest.fixture(scope="module")
def planted_tx(planted_series):
    """The planted panel as transactions: one line per product and week, two categories (no forecast near 0)."""
    kinds = {"gift_box": "seasonal", "down_jacket": "seasonal", "tea": "steady", "noise_50": "steady",
             "noise_100": "steady"}
    return planted_series.filter(pl.col("series_id").is_in(list(kinds))).select(
        order_date=pl.col("period").cast(pl.Datetime("us")) + pl.duration(hours=12),
        amount="value", product_id="series_id", category=pl.col("series_id").replace_strict(kinds))


@pytest.fixture(scope="module")
def planted_tree(planted_tx):
    tree = hierarchy_series(planted_tx, levels=("category", "product_id"), freq="1w")
    return tree, forecast(tree.series, horizon=8, models="ets")


def _coherent(result, tree) -> float:
    S, ids, bottom = tree.summing_matrix()
    wide = result.table.pivot(on="series_id", index="period", values="mean").sort("period")
    Y = wide.select(ids).to_numpy().T
    return float(np.abs(S @ Y[[ids.index(b) for b in bottom]] - Y).max())


def test_parents_are_exact_sums_of_their_children():
    shop = cl.make_shop(400, seed=3)
    tree = hierarchy_series(shop.transactions, levels=("category", "product_id"), freq="1mo")
    assert tree.nodes.filter(pl.col("level") == "total").height == 1
    values = tree.series.pivot(on="series_id", index="period", values="value").fill_null(0.0).sort("period")
    S, ids, bottom = tree.summing_matrix()
    Y = values.select(ids).to_numpy().T
    assert np.abs(S @ Y[[ids.index(b) for b in bottom]] - Y).max() < 1e-6
    total = tree.series.filter(pl.col("series_id") == "total")["value"].sum()
    assert total == pytest.approx(shop.transactions.filter(pl.col("order_date") < dt.datetime(2025, 1, 1))["amount"].sum())
    with pytest.raises(CustlabError, match="levels must be"):
        hierarchy_series(shop.transactions, levels=())


@pytest.mark.parametrize("method", METHODS)
def test_every_method_adds_up_and_keeps_bounds_around_the_mean(planted_tree, method):
    tree, base = planted_tree
    result = reconcile(base, tree, method=method)
    assert result.reconciled == method and _coherent(result, tree) < 1e-6
    t = result.table
    assert (t["lo_95"] <= t["mean"] + 1e-9).all() and (t["mean"] <= t["hi_95"] + 1e-9).all() and (t["lo_95"] >= 0).all()
    if method == "bottom_up":
        bottom = tree.nodes.filter(pl.col("bottom"))["series_id"]
        same = t.filter(pl.col("series_id").is_in(bottom.implode())).join(base.table, on=["series_id", "period"])
        assert (same["mean"] - same["mean_right"]).abs().max() < 1e-9


def test_mint_shrink_equals_hierarchicalforecast(planted_tree):
    methods = pytest.importorskip("hierarchicalforecast.methods")
    tree, base = planted_tree
    S, ids, bottom = tree.summing_matrix()
    Y = base.table.pivot(on="series_id", index="period", values="mean").sort("period").select(ids).to_numpy().T
    fitted = base.residuals.join(tree.series, on=["series_id", "period"])
    actual = fitted.pivot(on="series_id", index="period", values="value").sort("period").select(ids).to_numpy().T
    resid = fitted.pivot(on="series_id", index="period", values="residual").sort("period").select(ids).to_numpy().T
    assert not np.isnan(resid).any()
    theirs = methods.MinTrace(method="mint_shrink").fit_predict(S=S, y_hat=Y, y_insample=actual,
                                                                y_hat_insample=actual - resid)["mean"]
    ours = reconcile(base, tree, method="mint_shrink").table.pivot(on="series_id", index="period", values="mean")
    assert np.abs(ours.sort("period").select(ids).to_numpy().T - theirs).max() < 1e-6 * np.abs(theirs).max()


def test_shrunk_covariance_equals_hierarchicalforecast_and_handles_missing_residuals():
    utils = pytest.importorskip("hierarchicalforecast.utils")
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 5))
    x[:, 1] += 0.8 * x[:, 0]
    x[:, 4] = x[:, :4].sum(axis=1) + 0.1 * rng.normal(size=40)
    reference = utils._shrunk_covariance_schaferstrimmer_no_nans(x.T.copy(), 2e-8)
    assert np.abs(shrunk_covariance(x) - reference).max() < 1e-7
    x[:7, 2] = np.nan
    w = shrunk_covariance(x)
    assert np.allclose(w, w.T) and np.linalg.eigvalsh(w).min() > 0
    assert w[2, 2] == pytest.approx(np.nanvar(x[:, 2], ddof=1))


def test_missing_nodes_are_named(planted_tree):
    tree, base = planted_tree
    partial = base.__class__(**{**base.__dict__, "table": base.table.filter(pl.col("series_id") != "steady")})
    with pytest.raises(CustlabError, match="1 node\\(s\\) of the hierarchy have no forecast \\(e.g. \\['steady'\\]\\)"):
        reconcile(partial, tree)
    with pytest.raises(CustlabError, match="method must be one of"):
        reconcile(base, tree, method="mint")
