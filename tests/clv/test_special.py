"""The hypergeometric terms against mpmath at 40 digits, in every parameter region a real fit reaches.

Regions (issue 13): BG/NBD with a + b < 1 (the grocery shop's a = 0.005, b = 0.517, where the log of a
negative 2F1 gave NaN), b >> 1, a near 1, large a and b, many repeat purchases; Pareto/NBD with s -> 0 (Online
Retail's s = 0.000), s = 100 with beta = 15,784 (its refit), huge T, recency = T. Tolerances are stated at each
assertion; the references are the papers' closed forms, evaluated by mpmath, not the integrals custlab uses.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custlab import clv
from custlab.clv.models._special import beta_nbd_expectation, pareto_log_k, pareto_log_likelihood

mp.mp.dps = 40


def _fhl_expected(r, alpha, a, b, x, T, t):
    """FHL (2005) eq. (10) without P(alive): (a+b+x-1)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(...)]."""
    r, alpha, a, b, x, T, t = map(mp.mpf, (r, alpha, a, b, x, T, t))
    z = t / (alpha + T + t)
    c = a + b + x - 1
    return c / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * mp.hyp2f1(r + x, b + x, c, z))


def _pareto_p_alive(r, alpha, s, beta, x, tx, T):
    """Fader & Hardie note 009, eqs. (19)-(20), (22): P(alive) and K."""
    r, alpha, s, beta, x, tx, T = map(mp.mpf, (r, alpha, s, beta, x, tx, T))
    n = r + s + x
    if alpha >= beta:
        def F(t):
            return mp.hyp2f1(n, s + 1, n + 1, (alpha - beta) / (alpha + t)) / (alpha + t) ** n
    else:
        def F(t):
            return mp.hyp2f1(n, r + x, n + 1, (beta - alpha) / (beta + t)) / (beta + t) ** n
    K = s / n * (alpha + T) ** (r + x) * (beta + T) ** s * (F(tx) - F(T))
    return 1 / (1 + K), K


BGNBD_REGIONS = [
    # (r, alpha, a, b, x, T, t)
    (0.243, 4.414, 0.793, 2.426, 2, 38.86, 39.0),  # CDNOW, the published example
    (0.5, 3.7, 0.005, 0.517, 0, 10.0, 52.0),  # a + b < 1, a one-time buyer: c = a + b - 1 < 0
    (0.5, 3.7, 0.005, 0.517, 0, 0.0, 1e4),  # ... bought on the last day, very long horizon
    (0.5, 3.7, 0.005, 0.517, 3, 15.0, 4.0),
    (0.83, 9.84, 0.0034, 6.75, 0, 50.0, 52.0),  # Online Retail's BG/NBD: a -> 0
    (3.0, 1.0, 2.0, 5000.0, 1, 2.0, 6.0),  # b >> 1
    (0.8, 2.0, 300.0, 3000.0, 4, 20.0, 40.0),  # a, b large: p concentrated near 0.09
    (0.5, 1.0, 1.0000001, 2.0, 1, 3.0, 9.0),  # a -> 1, where the closed form divides by a - 1
    (1.2, 0.5, 0.8, 2.0, 200, 52.0, 26.0),  # many repeat purchases
    (0.3, 1e-3, 0.5, 0.4, 0, 0.0, 52.0),  # alpha -> 0: u = t / (alpha + T) = 52,000
]


@pytest.mark.parametrize(("r", "alpha", "a", "b", "x", "T", "t"), BGNBD_REGIONS)
def test_bgnbd_expectation_equals_the_closed_form(r, alpha, a, b, x, T, t):
    # E[purchases in t | alive, x, T] = beta_nbd_expectation(r + x, a, b + x, t / (alpha + T)): 1e-10 relative.
    ours = float(beta_nbd_expectation(r + x, a, b + x, t / (alpha + T)))
    reference = _fhl_expected(r, alpha, a, b, x, T, t)
    assert np.isfinite(ours) and ours > 0
    assert ours == pytest.approx(float(reference), rel=1e-10)
    model = clv.BetaGeo()
    model.params_ = {"r": r, "alpha": alpha, "a": a, "b": b}
    assert float(model.expected_purchases_if_alive(t, x, T)) == pytest.approx(float(reference), rel=1e-10)


def test_mbgnbd_and_unconditional_expectations_equal_the_closed_forms():
    # MBG/NBD (Wagner & Hoppe): (a+b+x)/(a-1) [1 - (...)^(r+x) 2F1(r+x, b+x+1; a+b+x; z)]; unconditional
    # BG/NBD (FHL eq. 9) and MBG/NBD (b/(a-1) [...]); a + b < 1 included. 1e-10 relative.
    for r, alpha, a, b, x, T, t in [(0.525, 6.183, 0.891, 1.614, 2, 30.0, 39.0), (0.5, 3.7, 0.005, 0.517, 0, 10.0, 52.0),
                                    (0.82, 3.76, 0.0699, 20.6, 5, 17.0, 17.0)]:
        R, A_, a_, b_, X, T_, t_ = map(mp.mpf, (r, alpha, a, b, x, T, t))
        z = t_ / (A_ + T_ + t_)
        mbg = (a_ + b_ + X) / (a_ - 1) * (1 - ((A_ + T_) / (A_ + T_ + t_)) ** (R + X)
                                           * mp.hyp2f1(R + X, b_ + X + 1, a_ + b_ + X, z))
        model = clv.ModifiedBetaGeo()
        model.params_ = {"r": r, "alpha": alpha, "a": a, "b": b}
        assert float(model.expected_purchases_if_alive(t, x, T)) == pytest.approx(float(mbg), rel=1e-10)
        zn = t_ / (A_ + t_)
        mbg_new = b_ / (a_ - 1) * (1 - (A_ / (A_ + t_)) ** R * mp.hyp2f1(R, b_ + 1, a_ + b_, zn))
        assert float(model.expected_purchases_new(t)) == pytest.approx(float(mbg_new), rel=1e-10)
        bg = clv.BetaGeo()
        bg.params_ = model.params_
        bg_new = (a_ + b_ - 1) / (a_ - 1) * (1 - (A_ / (A_ + t_)) ** R * mp.hyp2f1(R, b_, a_ + b_ - 1, zn))
        assert float(bg.expected_purchases_new(t)) == pytest.approx(float(bg_new), rel=1e-10)


@pytest.mark.parametrize("name", ["BetaGeo", "ModifiedBetaGeo", "ParetoNBD"])
def test_unconditional_expectation_of_a_grid_with_repeats_is_each_value_computed_alone(name):
    # A tracking curve asks for weeks x first-purchase days, whose elapsed times repeat: each is computed once.
    model = getattr(clv, name)()
    model.params_ = ({"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669} if name == "ParetoNBD"
                     else {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
    elapsed = np.maximum(np.arange(1, 40)[:, None] * 7 - np.arange(0, 90)[None, :], 0) / 7.0
    grid = model.expected_purchases_new(elapsed)
    assert grid.shape == elapsed.shape and grid[elapsed == 0].max() == 0.0
    for i, j in [(0, 0), (5, 3), (38, 89), (38, 0), (20, 45)]:
        assert grid[i, j] == pytest.approx(float(model.expected_purchases_new(elapsed[i, j])), rel=1e-12)
    assert float(model.expected_purchases_new(2.5)) == pytest.approx(float(model.expected_purchases_new([2.5, 2.5])[1]),
                                                                     rel=1e-12)


PARETO_REGIONS = [
    # (r, alpha, s, beta, x, tx, T)
    (0.553, 10.578, 0.606, 11.669, 2, 30.43, 38.86),  # CDNOW
    (0.553, 10.578, 0.606, 11.669, 0, 0.0, 38.86),
    (0.8336, 10.13, 1e-9, 130.3, 5, 10.0, 50.0),  # s -> 0: P(alive) -> 1
    (0.83, 9.87, 100.0, 15784.0, 3, 5.0, 52.0),  # Online Retail 2011-12's refit
    (0.83, 9.87, 100.0, 15784.0, 300, 5.0, 52.0),  # ... with many purchases long ago: 2F1 overflows
    (0.5, 0.01, 0.5, 100.0, 40, 1.0, 1e4),  # huge T
    (2.0, 500.0, 0.3, 0.01, 7, 0.5, 60.0),  # alpha >> beta
    (0.83, 9.87, 100.0, 15784.0, 3, 51.9, 52.0),  # recency close to T
]


@pytest.mark.parametrize(("r", "alpha", "s", "beta", "x", "tx", "T"), PARETO_REGIONS)
def test_pareto_p_alive_and_likelihood_equal_the_closed_forms(r, alpha, s, beta, x, tx, T):
    # log K to 1e-12 absolute, hence P(alive) to 1e-12 relative even where it is 1e-183.
    p_alive, K = _pareto_p_alive(r, alpha, s, beta, x, tx, T)
    assert float(pareto_log_k(r, alpha, s, beta, x, tx, T)) == pytest.approx(float(mp.log(K)), abs=1e-12)
    model = clv.ParetoNBD()
    model.params_ = {"r": r, "alpha": alpha, "s": s, "beta": beta}
    assert float(model.probability_alive(x, tx, T)) == pytest.approx(float(p_alive), rel=1e-12)
    R, A_, S, B, X, T_ = map(mp.mpf, (r, alpha, s, beta, x, T))
    ll = (mp.loggamma(R + X) - mp.loggamma(R) + R * mp.log(A_) + S * mp.log(B) - (R + X) * mp.log(A_ + T_)
          - S * mp.log(B + T_) + mp.log(1 + K))
    assert float(pareto_log_likelihood(r, alpha, s, beta, x, tx, T)) == pytest.approx(float(ll), rel=1e-12, abs=1e-10)


def test_pareto_recency_equal_to_T_is_alive():
    assert float(pareto_log_k(0.5, 2.0, 0.7, 3.0, 4, 20.0, 20.0)) == -np.inf
    model = clv.ParetoNBD()
    model.params_ = {"r": 0.5, "alpha": 2.0, "s": 0.7, "beta": 3.0}
    assert float(model.probability_alive(4, 20.0, 20.0)) == 1.0


def test_pareto_likelihood_gradient_against_finite_differences():
    # The analytic gradient the fit uses, against central differences of the value (1e-6 relative).
    x, tx, T = np.array([0, 1, 5, 30.0]), np.array([0, 3, 20, 35.0]), np.array([10, 30, 40, 36.0])
    p = np.array([0.8, 2.0, 0.3, 5.0])
    _, grad = pareto_log_likelihood(*p, x, tx, T, gradient=True)
    for i in range(4):
        step = np.eye(4)[i] * 1e-6 * p[i]
        numeric = (pareto_log_likelihood(*(p + step), x, tx, T) - pareto_log_likelihood(*(p - step), x, tx, T)) / (
            2 * step[i])
        np.testing.assert_allclose(grad[:, i], numeric, rtol=1e-6, atol=1e-8)


_positive = st.floats(1e-4, 1e4)


@settings(max_examples=60, deadline=None)
@given(r=_positive, alpha=_positive, a=_positive, b=_positive, s=_positive, beta=_positive,
       x=st.integers(0, 300), gap=st.floats(0, 1e3), age=st.floats(0, 1e3), t=st.floats(0, 1e4))
def test_no_parameter_value_gives_nan_or_inf(r, alpha, a, b, s, beta, x, gap, age, t):
    # Whatever a fit returns, predictions are finite: probabilities in [0, 1], expectations >= 0.
    tx, T = (age, age + gap) if x > 0 else (0.0, gap)
    for cls, params in ((clv.BetaGeo, {"r": r, "alpha": alpha, "a": a, "b": b}),
                        (clv.ModifiedBetaGeo, {"r": r, "alpha": alpha, "a": a, "b": b}),
                        (clv.ParetoNBD, {"r": r, "alpha": alpha, "s": s, "beta": beta})):
        model = cls()
        model.params_ = params
        alive = float(model.probability_alive(x, tx, T))
        expected = float(model.expected_purchases(t, x, tx, T))
        new = float(model.expected_purchases_new(t))
        assert 0.0 <= alive <= 1.0, (cls.__name__, params)
        assert np.isfinite(expected) and expected >= 0, (cls.__name__, params)
        assert np.isfinite(new) and new >= 0, (cls.__name__, params)


def test_the_grocery_shop_parameters_give_finite_clv(tafeng):
    # The report printed "nan" for total CLV with BG/NBD a = 0.005, b = 0.517 on a grocery shop. On Ta-Feng's
    # 32,266 customers with those parameters every value is finite, and one-time buyers' expectations equal
    # the closed form (1e-10 relative, mpmath).
    summary = clv.clv_summary(tafeng, freq="W")
    model = clv.BetaGeo(freq="W")
    model.params_ = {"r": 0.5, "alpha": 3.7, "a": 0.005, "b": 0.517}
    values = clv.predict_clv(summary, model, clv.ObservedSpend().fit(summary), annual_discount_rate=0.1)
    numeric = values.select(pl.col(pl.Float64))
    assert numeric.select(pl.all().is_finite().all()).row(0) == (True,) * numeric.width
    assert values["clv"].sum() > 0
    one_timer = summary.filter(pl.col("frequency") == 0).row(0, named=True)
    weeks = 12 * 365.25 / 12 / 7
    expected = float(model.expected_purchases(weeks, 0, 0.0, one_timer["T"]))
    assert expected == pytest.approx(float(_fhl_expected(0.5, 3.7, 0.005, 0.517, 0, one_timer["T"], weeks)), rel=1e-10)
