"""BG/NBD, MBG/NBD, Pareto/NBD and Gamma-Gamma against the published CDNOW fits and lifetimes.

Published figures (Fader, Hardie & Lee 2005a, "Counting your customers the easy
way"; 2005b, "RFM and CLV: using iso-value curves"; Pareto/NBD on the same
data) are reproduced to the precision they are printed with. Everything else
is compared with lifetimes 0.11.3 (fitters and prediction methods) on the same
data, or with an independent computation, with the tolerance stated at each
assertion.
"""

from __future__ import annotations

import math
import subprocess
import sys
import warnings

from scipy import integrate
import numpy as np
import polars as pl
import pytest

from custlab import clv
from custlab.clv import _lifetimes
from custlab.exceptions import ConvergenceError, CustlabError, SchemaError

from .helpers import _arrays, _reference_fitter


def test_bgnbd_reproduces_fader_hardie_lee_2005(bgf, summary):
    # r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4 (printed precision).
    expected = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for key, value in expected.items():
        assert bgf.params_[key] == pytest.approx(value, abs=0.0005), key
    assert bgf.log_likelihood_ == pytest.approx(-9582.4, abs=0.05)
    # Expected purchases in the next 39 weeks for x = 2, t_x = 30.43, T = 38.86: 1.226.
    assert float(bgf.expected_purchases(39, 2, 30.43, 38.86)) == pytest.approx(1.226, abs=0.0005)
    # The same from our own summary built from the transactions (unrounded t_x, T).
    own = clv.BetaGeo(freq="W").fit(summary)
    for key, value in expected.items():
        assert own.params_[key] == pytest.approx(value, abs=0.0005), key
    assert own.log_likelihood_ == pytest.approx(-9582.4, abs=0.05)


def test_gamma_gamma_reproduces_fader_hardie_lee_2005b(ggf, published):
    # p = 6.25, q = 3.74, gamma = 15.44, LL = -4055.92, on the 946 repeat customers.
    assert ggf.n_customers_ == 946
    assert ggf.params_["p"] == pytest.approx(6.25, abs=0.005)
    assert ggf.params_["q"] == pytest.approx(3.74, abs=0.005)
    assert ggf.params_["v"] == pytest.approx(15.44, abs=0.01)
    assert ggf.log_likelihood_ == pytest.approx(-4055.92, abs=0.005)
    # The paper reports a correlation of 0.11 between frequency and average spend.
    assert ggf.spend_frequency_correlation_ == pytest.approx(0.11, abs=0.005)


def test_pareto_nbd_reproduces_the_published_fit(pnbd):
    # r = 0.553, alpha = 10.578, s = 0.606, beta = 11.669, LL = -9595.0 (printed precision; beta is weakly
    # identified: the likelihood is flat along it, and the maximum lies 0.001 below the printed value).
    assert pnbd.log_likelihood_ == pytest.approx(-9595.0, abs=0.05)
    assert pnbd.params_["r"] == pytest.approx(0.553, abs=0.0005)
    assert pnbd.params_["alpha"] == pytest.approx(10.578, abs=0.0005)
    assert pnbd.params_["s"] == pytest.approx(0.606, abs=0.0005)
    assert pnbd.params_["beta"] == pytest.approx(11.669, abs=0.002)


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd"])
def test_weighted_fit_equals_lifetimes_unweighted_fit(lt, summary, model):
    # Fitting the distinct patterns with weights gives lifetimes' customer-by-customer parameters
    # (1e-8 relative; they agree to ~1e-13) and standard errors (1e-6).
    cls = {"bgnbd": (clv.BetaGeo, lt.BetaGeoFitter), "mbgnbd": (clv.ModifiedBetaGeo, lt.ModifiedBetaGeoFitter)}
    ours_cls, ref_cls = cls[model]
    ours = ours_cls(freq="W").fit(summary)
    x, tx, T = _arrays(summary)
    ref = _lifetimes.call_quietly(ref_cls().fit, x, tx, T)
    assert ours.n_patterns_ < ours.n_customers_ == len(x)
    for key, value in ref.params_.items():
        assert ours.params_[key] == pytest.approx(value, rel=1e-8), key
        assert ours.standard_errors_[key] == pytest.approx(ref.standard_errors_[key], rel=1e-6), key
    # lifetimes minimises the mean on time rescaled by 1 / max(T); each purchase time contributes a
    # density, so the total log-likelihood in weeks is its value plus sum(x) * log(1 / max T).
    rescaled = -ref._negative_log_likelihood_ * len(x)
    assert ours.log_likelihood_ == pytest.approx(rescaled + x.sum() * math.log(1 / T.max()), rel=1e-10)


def test_pareto_fit_reaches_lifetimes_maximum_and_its_likelihood(lt, summary):
    # custlab fits Pareto/NBD by BFGS on its own stable likelihood; lifetimes by Nelder-Mead (tol 1e-4) on
    # one that uses 2F1. Where lifetimes' likelihood is finite the two agree to 1e-10 per customer, and
    # custlab's maximum is at least as high, with the parameters within lifetimes' tolerance.
    from custlab.clv.models._special import pareto_log_likelihood

    x, tx, T = _arrays(summary)
    ref = _lifetimes.call_quietly(lt.ParetoNBDFitter().fit, x, tx, T, initial_params=[1.0, 1.0, 1.0, 1.0])
    ours = clv.ParetoNBD(freq="W").fit(summary)
    ref_params = [ref.params_[k] for k in ("r", "alpha", "s", "beta")]
    theirs = _lifetimes.call_quietly(lt.ParetoNBDFitter._conditional_log_likelihood, ref_params, x, tx, T)
    np.testing.assert_allclose(pareto_log_likelihood(*ref_params, x, tx, T), theirs, rtol=1e-10)
    assert ours.log_likelihood_ >= float(np.sum(theirs)) - 1e-9
    for key in ("r", "alpha", "s"):
        assert ours.params_[key] == pytest.approx(ref.params_[key], rel=2e-3), key
    assert ours.params_["beta"] == pytest.approx(ref.params_["beta"], rel=1e-2)  # weakly identified
    # Standard errors from the numerical Hessian: near those of a direct finite-difference Hessian
    # of the total log-likelihood (1e-3 relative).
    p = np.array([ours.params_[k] for k in ("r", "alpha", "s", "beta")])

    def total(log_p):
        return float(np.sum(pareto_log_likelihood(*np.exp(log_p), x, tx, T)))

    h, hess = 1e-3, np.zeros((4, 4))
    for i in range(4):
        for j in range(4):
            ei, ej = np.eye(4)[i] * h, np.eye(4)[j] * h
            hess[i, j] = (total(np.log(p) + ei + ej) - total(np.log(p) + ei - ej) - total(np.log(p) - ei + ej)
                          + total(np.log(p) - ei - ej)) / (4 * h * h)
    direct = p * np.sqrt(np.diag(np.linalg.inv(-hess)))
    for key, value in zip(("r", "alpha", "s", "beta"), direct, strict=True):
        assert ours.standard_errors_[key] == pytest.approx(value, rel=1e-3), key


def test_weighted_gamma_gamma_fit_equals_lifetimes(lt, summary):
    repeat = summary.filter(pl.col("frequency") > 0)
    gref = _lifetimes.call_quietly(lt.GammaGammaFitter().fit, repeat["frequency"].to_numpy(),
                                   repeat["monetary_value"].to_numpy())
    gg = clv.GammaGamma().fit(summary)
    for key, value in gref.params_.items():
        assert gg.params_[key] == pytest.approx(value, rel=1e-8), key
        assert gg.standard_errors_[key] == pytest.approx(gref.standard_errors_[key], rel=1e-6), key


def test_log_likelihood_is_the_total_over_customers(bgf, published, lt):
    # Per customer, in weeks: the sum equals the fitted value and lifetimes' mean times n (its scaled time aside).
    assert bgf.log_likelihood(published) == pytest.approx(bgf.log_likelihood_, rel=1e-12)
    x, tx, T = _arrays(published)
    p = np.log([bgf.params_[k] for k in ("r", "alpha", "a", "b")])
    per_customer = -lt.BetaGeoFitter._negative_log_likelihood(p, x, tx, T, np.ones_like(x), 0.0)
    assert bgf.log_likelihood_ == pytest.approx(per_customer * len(x), rel=1e-12)


@pytest.mark.parametrize("name", ["bgf", "mbg", "pnbd"])
def test_predictions_equal_lifetimes_methods(lt, published, request, name):
    model = request.getfixturevalue(name)
    ref = _reference_fitter(lt, model)
    x, tx, T = _arrays(published)
    for t in (1.0, 39.0, 104.0):
        np.testing.assert_allclose(model.expected_purchases(t, x, tx, T),
                                   ref.conditional_expected_number_of_purchases_up_to_time(t, x, tx, T), rtol=1e-9)
    np.testing.assert_allclose(model.probability_alive(x, tx, T), ref.conditional_probability_alive(x, tx, T),
                               rtol=1e-9)
    ts = np.array([0.5, 10.0, 39.0, 78.0])
    np.testing.assert_allclose(model.expected_purchases_new(ts), ref.expected_number_of_purchases_up_to_time(ts),
                               rtol=1e-9)
    if name != "pnbd":  # lifetimes has no unconditional pmf for Pareto/NBD (see the quadrature test)
        for n in range(6):
            expected = [ref.probability_of_n_purchases_up_to_time(t, n) for t in ts]
            np.testing.assert_allclose(model.probability_of_purchases(n, ts), expected, rtol=1e-9)


def test_pareto_nbd_pmf_against_direct_integration(pnbd):
    # P(X(t) = n) by adaptive quadrature over the exponential lifetime, integrating over mu and lambda
    # in closed form (independent of the 64-node Gauss-Legendre rule used by the model): 1e-8 absolute.
    r, alpha, s, beta = (pnbd.params_[k] for k in ("r", "alpha", "s", "beta"))

    def nbd(n, tau):
        return math.exp(math.lgamma(r + n) - math.lgamma(r) - math.lgamma(n + 1)
                        + r * math.log(alpha / (alpha + tau)) + (n * math.log(tau / (alpha + tau)) if n else 0.0))

    for t in (5.0, 38.86, 78.0):
        for n in (0, 1, 3, 7):
            survive = (beta / (beta + t)) ** s
            density = lambda tau: s / beta * (beta / (beta + tau)) ** (s + 1) * nbd(n, tau)  # noqa: E731
            exact = nbd(n, t) * survive + integrate.quad(density, 0, t, epsabs=1e-13, limit=200)[0]
            assert float(pnbd.probability_of_purchases(n, t)[0]) == pytest.approx(exact, abs=1e-8)
    ts = np.array([5.0, 38.86, 78.0])
    total = sum(pnbd.probability_of_purchases(n, ts) for n in range(400))
    mean = sum(n * pnbd.probability_of_purchases(n, ts) for n in range(400))
    np.testing.assert_allclose(total, 1.0, atol=1e-9)
    np.testing.assert_allclose(mean, pnbd.expected_purchases_new(ts), rtol=1e-7)


def test_predict_frames(bgf, ggf, published):
    out = bgf.predict(published, horizon=39)
    assert out.columns == [*published.columns, "p_alive", "expected_purchases"]
    x, tx, T = _arrays(published)
    np.testing.assert_allclose(out["expected_purchases"], bgf.expected_purchases(39, x, tx, T), rtol=1e-12)
    spend = ggf.predict(published)
    assert spend.filter(pl.col("frequency") == 0)["expected_spend"].unique().to_list() == [
        pytest.approx(ggf.population_mean_spend)]


def test_convergence_failure_gives_the_penalizer_retry():
    # 50 identical customers: the unpenalised BG/NBD likelihood has no interior maximum.
    same = pl.DataFrame({"frequency": [3] * 50, "recency": [10.0] * 50, "T": [20.0] * 50})
    message = ("The BG/NBD fit did not converge on 50 customers in 1 distinct patterns; optimizer: .*; it stopped at "
               "r=.*Retry with a penalizer, e.g. BetaGeo(penalizer=0.001), and try other values from 0.0001 to 0.1")
    with pytest.raises(ConvergenceError, match=message.replace("(", "\\(").replace(")", "\\)")):
        clv.BetaGeo().fit(same)
    assert clv.BetaGeo(penalizer=0.001).fit(same).params_["r"] > 0  # the documented retry converges
    with pytest.raises(ConvergenceError, match="The MBG/NBD fit did not converge .*ModifiedBetaGeo\\(penalizer=0.001\\)"):
        clv.ModifiedBetaGeo(max_iterations=1).fit(same)
    with pytest.raises(ConvergenceError, match="The Pareto/NBD fit did not converge.*ParetoNBD\\(penalizer=0.001\\)"):
        clv.ParetoNBD(max_iterations=5).fit(same)


def test_gamma_gamma_checks_and_warnings(published):
    with pytest.raises(ConvergenceError, match="The Gamma-Gamma fit did not converge.*GammaGamma\\(penalizer=0.001\\)"):
        clv.GammaGamma(max_iterations=1).fit(published)
    negative = published.with_columns(
        monetary_value=pl.when(pl.col("customer_id") == "1").then(-5.0).otherwise(pl.col("monetary_value"))
    )
    with pytest.raises(CustlabError, match="Column 'monetary_value' is 0, negative or missing for 1 of 946 repeat "
                                           "customers, e.g. \\[\\{'customer_id': '1', 'monetary_value': -5.0\\}\\]"):
        clv.GammaGamma().fit(negative)
    # Spend that rises with frequency: the independence assumption is flagged, the fit still returned.
    correlated = published.with_columns(
        monetary_value=pl.col("monetary_value") * (1 + pl.col("frequency")) / 3
    )
    expected = clv.spend_frequency_correlation(correlated)
    assert expected > 0.3
    with pytest.warns(clv.CLVWarning, match=f"correlation among the 946 repeat customers is {expected:.2f} "
                                            f"\\(\\|r\\| >= 0.3\\)"):
        fitted = clv.GammaGamma().fit(correlated)
    assert fitted.spend_frequency_correlation_ == expected
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clv.GammaGamma(correlation_warning=0.99).fit(correlated)  # a threshold above it: no warning


def test_models_refuse_data_they_cannot_fit(published, bgf):
    with pytest.raises(CustlabError, match="No customer in the summary made a repeat purchase \\(frequency > 0 for 0 "
                                           "of 3 customers\\)"):
        clv.BetaGeo().fit(pl.DataFrame({"frequency": [0, 0, 0], "recency": [0.0] * 3, "T": [5.0, 6.0, 7.0]}))
    bad = published.with_columns(recency=pl.col("T") + 1)
    with pytest.raises(CustlabError, match="has 2,357 row\\(s\\) with recency greater than T"):
        clv.BetaGeo().fit(bad)
    with pytest.raises(SchemaError, match="The summary lacks column\\(s\\) \\['T'\\]"):
        clv.BetaGeo().fit(published.drop("T"))
    with pytest.raises(CustlabError, match="This BetaGeo is not fitted yet; call .fit\\(summary\\) first."):
        clv.BetaGeo().predict(published, horizon=1)
    with pytest.raises(CustlabError, match="penalizer must be a number >= 0, got -1"):
        clv.BetaGeo(penalizer=-1).fit(published)
    assert "r=0.2426" in repr(bgf)


def test_no_global_state_is_changed():
    # Importing lifetimes sets warnings.simplefilter("ignore", FutureWarning) and a pandas option, and its
    # likelihoods call simplefilter on every evaluation; custlab's fits must leave both as they were. The
    # CDNOW file is read by path (load_cdnow imports the lifetimes package, which would change them first).
    code = (
        "import importlib.util, os, warnings, pandas as pd, polars as pl\n"
        "import custlab.clv as clv\n"  # scipy adds its own filters at import: measured after it
        "before, option = list(warnings.filters), pd.get_option('mode.chained_assignment')\n"
        "root = importlib.util.find_spec('lifetimes').submodule_search_locations[0]\n"
        "raw = pl.read_csv(os.path.join(root, 'datasets', 'cdnow_customers_summary_with_transactions.csv'))\n"
        "s = raw.select(frequency='x', recency='t_x', T='T', monetary_value='zbar')\n"
        "clv.BetaGeo().fit(s).standard_errors_; clv.GammaGamma().fit(s); clv.ParetoNBD().fit(s)\n"
        "assert 'lifetimes' in __import__('sys').modules\n"
        "assert list(warnings.filters) == before, [f for f in warnings.filters if f not in before]\n"
        "assert pd.get_option('mode.chained_assignment') == option, 'pandas option changed'\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.stdout.strip() == "ok", result.stderr


def test_recovers_the_planted_parameters_of_the_synthetic_shop():
    # The shop plants an exact BG/NBD (weeks) and Gamma-Gamma process. Tolerance: every estimate within
    # 3 standard errors of the truth and within 10% of it.
    from custlab.synthetic import make_shop

    shop = make_shop(30_000, seed=11)
    truth = shop.truth
    assert truth["bgnbd"]["time_unit"] == "weeks"
    end = truth["period"]["end"]  # exclusive end: the first instant without orders, as as_of means
    summary = clv.clv_summary(shop.transactions, as_of=end, freq="W")
    bgf = clv.BetaGeo(freq="W").fit(summary)
    for key in ("r", "alpha", "a", "b"):
        value, error = bgf.params_[key], bgf.standard_errors_[key]
        assert abs(value - truth["bgnbd"][key]) <= 3 * error, (key, value, error)
        assert value == pytest.approx(truth["bgnbd"][key], rel=0.10), key
    ggf = clv.GammaGamma().fit(summary)
    for key, planted in (("p", "p"), ("q", "q"), ("v", "gamma")):
        value, error = ggf.params_[key], ggf.standard_errors_[key]
        assert abs(value - truth["gamma_gamma"][planted]) <= 3 * error, (key, value, error)
        assert value == pytest.approx(truth["gamma_gamma"][planted], rel=0.10), key
    assert ggf.population_mean_spend == pytest.approx(truth["gamma_gamma"]["mean_order_value"], rel=0.05)


def _no_dropout_summary(n: int = 2000, seed: int = 7) -> pl.DataFrame:
    """Customers who never drop out (the NBD: Poisson purchases at gamma-distributed rates), 52 weeks each."""
    rng = np.random.default_rng(seed)
    rates = rng.gamma(shape=0.5, scale=1 / 4.0, size=n)  # r = 0.5, alpha = 4 (purchases per week)
    frequency, recency = [], []
    for rate in rates:
        times = np.cumsum(rng.exponential(1 / rate, size=200)) if rate > 0 else np.array([np.inf])
        seen = times[times < 52.0]
        frequency.append(seen.size)
        recency.append(float(seen[-1]) if seen.size else 0.0)
    return pl.DataFrame({"frequency": frequency, "recency": recency, "T": [52.0] * n})


def test_bgnbd_on_customers_who_never_drop_out_is_refused_wherever_bfgs_stops(monkeypatch):
    # The likelihood rises all the way to a -> 0 (the NBD limit). Whether BFGS reports success there, and whether it
    # stops below the edge (1e-6) or just above it, depends on the last bits of the arithmetic: the fit is refused
    # the same way in every case, with the same advice.
    summary = _no_dropout_summary()
    message = "a heading to 0.*no sign of customers dropping out.*Or fit ParetoNBD"
    with pytest.raises(ConvergenceError, match=message):
        clv.BetaGeo(freq="W").fit(summary)
    real = _lifetimes._bfgs
    for a in (2e-6, 1e-4):  # a run that stopped short of the edge, once with success and once without

        def stopped_early(objective, n_params, args, max_iterations, success, a=a):
            out = real(objective, n_params, args, max_iterations)
            out.x = np.array([*out.x[:2], np.log(a), out.x[3]])
            out.success = success
            return out

        for success in (True, False):
            monkeypatch.setattr(_lifetimes, "_bfgs", lambda *args, success=success, f=stopped_early: f(*args, success))
            with pytest.raises(ConvergenceError, match=message):
                clv.BetaGeo(freq="W").fit(summary)
    monkeypatch.undo()
    # A shop whose customers do drop out keeps its fit: CDNOW's a = 0.79 (test above) is far from flat.
    assert not _lifetimes._rising_to_no_dropout(*_cdnow_objective())


def _cdnow_objective():
    import lifetimes

    from custlab.data.datasets import load_cdnow

    summary = load_cdnow("summary")
    x, tx, T = (summary[c].to_numpy().astype(float) for c in ("frequency", "recency", "T"))
    scale = float(lifetimes.utils._scale_time(T))
    args = (x.astype(int), tx * scale, T * scale, np.ones_like(x), 0.0)
    objective = lifetimes.BetaGeoFitter._negative_log_likelihood
    return objective, _lifetimes._bfgs(objective, 4, args, None).x, args
