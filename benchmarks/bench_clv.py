"""CLV at a million customers: custlab against the plain lifetimes route, same data, same run.

Data: ``n`` customers (1,000,000; 100,000 with ``--quick``) whose purchases
follow an exact BG/NBD process with the CDNOW parameters of Fader, Hardie &
Lee (2005) (r 0.243, alpha 4.414 weeks, a 0.793, b 2.426), first purchases
spread over the first 12 weeks and an observation period of 78 weeks, and
whose order values follow the Gamma-Gamma model (p 6.25, q 3.74, gamma
15.44); generated with numpy from a fixed seed (about 2.6 orders per customer
at 1M). Times are in days.

Each route does the same job: the per-customer summary (frequency, recency, T,
mean repeat spend), a BG/NBD fit, a Gamma-Gamma fit on the repeat customers,
and a 12-month discounted CLV for every customer.

- custlab: ``clv_summary`` (polars), ``BetaGeo.fit`` and ``GammaGamma.fit``
  on distinct patterns with weights (lifetimes' fitters underneath),
  ``predict_clv`` (numpy, one evaluation per distinct pattern).
- lifetimes: ``summary_data_from_transaction_data`` (pandas),
  ``BetaGeoFitter.fit`` and ``GammaGammaFitter.fit`` on every customer,
  ``GammaGammaFitter.customer_lifetime_value``.

The fitted parameters of both routes are written to a temporary folder by the
timed processes and compared after the timings (relative difference; the aim
is 1e-4 or less). The CLV horizons differ slightly (lifetimes' months are 30
days, custlab's 30.4375) so CLV values are not compared here; the test suite
checks them against lifetimes with matching months.
"""

from __future__ import annotations

import importlib
import json
import sys
import tempfile
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from harness import compare  # noqa: E402

SEED = 2005
BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # weeks
GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "gamma": 15.44}
WEEKS, ACQUISITION_WEEKS = 78, 12
START = np.datetime64("2020-01-01T00:00:00", "us")
END_DAY = "2021-06-29"  # START + 78 weeks - 1 day: the last observed day
ANNUAL_RATE = 1.01**12 - 1  # lifetimes' default monthly rate of 1%


def simulate(n_customers: int, seed: int = SEED) -> dict[str, np.ndarray]:
    """Transactions of an exact BG/NBD process with Gamma-Gamma order values (numpy arrays)."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(BGNBD["r"], 1 / BGNBD["alpha"], n_customers)  # purchases per week
    dropout = rng.beta(BGNBD["a"], BGNBD["b"], n_customers)
    nu = rng.gamma(GAMMA_GAMMA["q"], 1 / GAMMA_GAMMA["gamma"], n_customers)
    t = rng.uniform(0, ACQUISITION_WEEKS, n_customers)
    ids, times = [np.arange(n_customers)], [t.copy()]
    active = np.arange(n_customers)
    while active.size:
        nxt = t[active] + rng.exponential(1 / rate[active])
        keep = nxt < WEEKS
        active, nxt = active[keep], nxt[keep]
        t[active] = nxt
        ids.append(active)
        times.append(nxt)
        active = active[rng.random(active.size) >= dropout[active]]  # drop out after a repeat purchase
    customer = np.concatenate(ids)
    weeks = np.concatenate(times)
    amount = np.round(rng.gamma(GAMMA_GAMMA["p"], 1 / nu[customer]), 2) + 0.01
    micro = (weeks * 7 * 86_400 * 1e6).astype(np.int64)
    return {"customer_id": customer.astype(np.int64), "order_date": START + micro.astype("timedelta64[us]"),
            "amount": amount}


def setup(n_customers: int, route: str = "both"):
    """The transactions for the routes: a polars frame, a pandas frame, or both (not timed)."""
    import pandas as pd
    import polars as pl

    import custlab.clv._lifetimes
    import custlab.clv  # noqa: F401  imports are not part of the timings (for either route)

    custlab.clv._lifetimes._lib()  # imports lifetimes
    data = simulate(n_customers)
    return {"polars": pl.DataFrame(data) if route != "lifetimes" else None,
            "pandas": pd.DataFrame(data) if route != "custlab" else None}


def custlab_route(out_dir: str, data):
    from custlab.clv import BetaGeo, GammaGamma, clv_summary, predict_clv

    summary = clv_summary(data["polars"], as_of=END_DAY, freq="D")
    bgf = BetaGeo(freq="D").fit(summary)
    ggf = GammaGamma().fit(summary)
    clv = predict_clv(summary, bgf, ggf, months=12, annual_discount_rate=ANNUAL_RATE)
    (Path(out_dir) / "custlab.json").write_text(json.dumps({**bgf.params_, **ggf.params_, "customers": clv.height,
                                                           "patterns": bgf.n_patterns_}))
    return clv


def lifetimes_route(out_dir: str, data):
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import summary_data_from_transaction_data

    summary = summary_data_from_transaction_data(
        data["pandas"], "customer_id", "order_date", monetary_value_col="amount",
        observation_period_end=END_DAY, freq="D",
    )
    bgf = BetaGeoFitter().fit(summary["frequency"], summary["recency"], summary["T"])
    repeat = summary[summary["frequency"] > 0]
    ggf = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    clv = ggf.customer_lifetime_value(bgf, summary["frequency"], summary["recency"], summary["T"],
                                      summary["monetary_value"], time=12, discount_rate=0.01, freq="D")
    (Path(out_dir) / "lifetimes.json").write_text(json.dumps({**bgf.params_.to_dict(), **ggf.params_.to_dict(),
                                                             "customers": len(clv)}))
    return clv


def custlab_summary(data):
    from custlab.clv import clv_summary

    return clv_summary(data["polars"], as_of=END_DAY, freq="D")


def lifetimes_summary(data):
    from lifetimes.utils import summary_data_from_transaction_data

    return summary_data_from_transaction_data(data["pandas"], "customer_id", "order_date",
                                              monetary_value_col="amount", observation_period_end=END_DAY, freq="D")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    n = 100_000 if "--quick" in argv else 1_000_000
    b = importlib.import_module("bench_clv")  # picklable by name for the spawned processes
    with tempfile.TemporaryDirectory() as tmp:
        compare(f"CLV summary only, {n:,} customers (days)", partial(b.setup, n), b.custlab_summary,
                {"lifetimes summary_data_from_transaction_data": b.lifetimes_summary})
        compare(f"CLV end to end: summary + BG/NBD + Gamma-Gamma + 12-month CLV, {n:,} customers",
                partial(b.setup, n), partial(b.custlab_route, tmp),
                {"lifetimes (pandas summary, unweighted fits)": partial(b.lifetimes_route, tmp)})
        out = Path(tmp)
        ours = json.loads((out / "custlab.json").read_text())
        theirs = json.loads((out / "lifetimes.json").read_text())
    print(f"\ncustlab fitted on {ours['patterns']:,} distinct (frequency, recency, T) patterns "
          f"for {ours['customers']:,} customers")
    print(f"{'parameter':<10}{'custlab':>16}{'lifetimes':>16}{'relative diff':>15}")
    worst = 0.0
    for key in ("r", "alpha", "a", "b", "p", "q", "v"):
        diff = abs(ours[key] / theirs[key] - 1)
        worst = max(worst, diff)
        print(f"{key:<10}{ours[key]:>16.8g}{theirs[key]:>16.8g}{diff:>15.2e}")
    print(f"largest relative difference {worst:.2e} ({'within' if worst <= 1e-4 else 'ABOVE'} 1e-4)")


if __name__ == "__main__":
    main()
