"""Markov removal effects: ChannelAttribution's published example, hand-computed chains, simulation, planted journeys."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import custlab.attribution as at


def test_channelattribution_published_example():
    """Bryl (2016), "Marketing Multi-Channel Attribution model with R (part 1)", run with ChannelAttribution's
    markov_model(df2, var_path="path", var_conv="conv", var_null="conv_null", out_more=TRUE):
    removal effects c1 0.5, c2 1, c3 1; total conversions 0.2, 0.4, 0.4 (the same values are the tests of the
    npm package markovattribution, which reproduces that article)."""
    df2 = pl.DataFrame({"path": ["c1 > c2 > c3", "c1", "c2 > c3"], "conv": [1, 0, 0], "conv_null": [0, 1, 1]})
    model = at.markov_model(at.path_table(df2, conversions="conv", nulls="conv_null"))
    assert model.conversion_probability == pytest.approx(1 / 3)
    effects = dict(model.removal_effects.select("channel", "removal_effect").iter_rows())
    assert effects == pytest.approx({"c1": 0.5, "c2": 1.0, "c3": 1.0})
    credit = dict(model.attribution.select("channel", "conversions").iter_rows())
    assert credit == pytest.approx({"c1": 0.2, "c2": 0.4, "c3": 0.4})
    tm = {(a, b): p for a, b, p in model.transition_matrix().iter_rows()}
    assert tm == pytest.approx({("(start)", "c1"): 2 / 3, ("(start)", "c2"): 1 / 3, ("c1", "c2"): 0.5,
                                ("c1", "(null)"): 0.5, ("c2", "c3"): 1.0, ("c3", "(conversion)"): 0.5,
                                ("c3", "(null)"): 0.5})


def test_hand_computed_removal_effects_and_value():
    """Google Ads / mailing (Puzyrov 2019): P(conv) = 0.8; without Google Ads 0.2 (effect 0.75), without mailing
    0.4 (effect 0.5); 4 conversions split 2.4 / 1.6."""
    paths = pl.DataFrame({"path": ["google ads", "mailing", "google ads > mailing", "google ads"],
                          "conversions": [2, 1, 1, 0], "nulls": [0, 0, 0, 1], "value": [200.0, 50.0, 150.0, 0.0]})
    model = at.markov_model(at.path_table(paths))
    assert model.conversion_probability == pytest.approx(0.8)
    effects = dict(model.removal_effects.select("channel", "removal_effect").iter_rows())
    assert effects == pytest.approx({"google ads": 0.75, "mailing": 0.5})
    credit = {c: (n, v) for c, n, v in model.attribution.iter_rows()}
    assert credit["google ads"][0] == pytest.approx(2.4) and credit["mailing"][0] == pytest.approx(1.6)
    # value: journeys ending at google ads are worth 100 each, at mailing 100 each, so value shares equal counts
    assert credit["google ads"][1] + credit["mailing"][1] == pytest.approx(400.0)


def test_repeated_channels_do_not_change_removal_effects():
    a = at.markov_model(at.path_table(pl.DataFrame({"path": ["a > a > b", "b > b", "a"], "conversions": [3, 1, 0],
                                                    "nulls": [1, 2, 4]})))
    b = at.markov_model(at.path_table(pl.DataFrame({"path": ["a > b", "b", "a"], "conversions": [3, 1, 0],
                                                    "nulls": [1, 2, 4]})))
    assert a.removal_effects.equals(b.removal_effects)


def test_markov_exact_solution_agrees_with_simulating_the_chain():
    """ChannelAttribution simulates journeys from the fitted chain; the exact solution is what that converges to."""
    paths = at.path_table(pl.DataFrame({"path": ["a > b", "b > c", "c", "a > c > b"], "conversions": [5, 3, 2, 4],
                                        "nulls": [10, 6, 9, 3]}))
    model = at.markov_model(paths)
    names = [*model.channels, at.START, at.CONVERSION, at.NULL]
    P = model.transitions
    rng = np.random.default_rng(0)
    k = len(model.channels)
    cum = P.cumsum(axis=1)
    state = np.full(200_000, k)
    moving = np.arange(state.size)
    while moving.size:  # one step of every journey not yet absorbed
        u = rng.random(moving.size)
        state[moving] = (u[:, None] > cum[state[moving]]).sum(axis=1)
        moving = moving[state[moving] <= k]
    assert (state == names.index(at.CONVERSION)).mean() == pytest.approx(model.conversion_probability, abs=0.005)


def test_markov_recovers_the_planted_contributions(shop, planted):
    truth = shop.truth["touches"]
    effects = dict(planted.markov.removal_effects.select("channel", "removal_effect").iter_rows())
    assert tuple(sorted(effects, key=effects.get, reverse=True)) == truth["ranking"]
    assert effects == pytest.approx(truth["removal_effects"], abs=0.03)
    assert planted.conversions == truth["converting_journeys"] and planted.journeys == truth["journeys"]
    assert planted.markov.conversion_probability == pytest.approx(truth["conversion_probability"], abs=0.01)
    # last touch, the usual default, gets the ranking's tail wrong in the other direction: it overvalues the closer
    summary = planted.summary
    assert summary["markov_share"].sum() == pytest.approx(1.0)
    assert set(planted.to_frame().columns) == {"channel", *at.HEURISTICS, "markov", "shapley"}
