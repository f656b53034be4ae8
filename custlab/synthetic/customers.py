"""Stage "customers": demographics and acquisition, drawn after the purchases so that revenue figures hold.

Demographics come from a Gaussian copula on the customer's revenue rank, with
its correlation solved in each shop so that the stated revenue share comes
out exactly (customer shares are exact counts):

* age (``params.AGE_BANDS``): 25-39 70% (28-35, the core, 40% of customers
  and 45% of revenue), 40-49 20%, 18-24 7%, 50-59 3%;
* city tier (``params.TIERS``): tier1 and new_tier1 together bring 65% of
  the revenue;
* occupation: students the youngest, the retired the oldest, the rest at random;
* gender was drawn by the basket stage; region and acquisition channel are
  independent of everything else.

``signup_date`` is the first purchase minus a short delay (1-30 minutes for
40% of customers, else exponential with a mean of 3 days; never before the
start).

Value tiers: the planted high-value group is the ``HIGH_VALUE_SHARE`` (15%) of
customers with the highest *expected* revenue over their window given their
latent ``lambda, p, nu``: ``(1 + E[repeats]) * p / nu`` with ``E[repeats] =
(1 - exp(-lambda p T)) / p``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy.special import ndtri

from custlab.synthetic._arrays import exact_counts, strings
from custlab.synthetic.baskets import Lines
from custlab.synthetic.params import (
    ACQ_CHANNELS, ACQ_P, AGE_BANDS, AGE_CORE_REVENUE, GAMMA_GAMMA, HIGH_VALUE_SHARE, OCCUPATIONS, REGIONS, TIERS,
    TOP_TIERS_REVENUE, US_PER_SEC,
)
from custlab.synthetic.purchases import Orders
from custlab.synthetic.timeline import Calendar

__all__ = ["Customers", "draw_customers"]


@dataclass(frozen=True, eq=False)
class Customers:
    """The customers table and per-customer arrays other stages read (indexed by customer)."""

    table: pl.DataFrame
    ids: np.ndarray
    signup_us: np.ndarray
    acquisition: np.ndarray  # ACQ_CHANNELS code
    revenue: np.ndarray  # clean revenue over the period
    expected_revenue: np.ndarray
    high_value: np.ndarray  # indices of the planted high-value group

    def __repr__(self) -> str:
        return f"Customers({self.ids.size:,} customers, {self.high_value.size:,} planted high-value)"

    def high_value_truth(self) -> dict[str, Any]:
        total = self.revenue.sum()
        top_real = np.sort(self.revenue)[::-1][: self.high_value.size].sum() / total
        return {
            "customer_ids": self.ids[np.sort(self.high_value)],
            "customer_share": HIGH_VALUE_SHARE,
            "revenue_share": float(self.revenue[self.high_value].sum() / total),
            "top15_revenue_share": float(top_real),
        }


def _copula(rng: np.random.Generator, revenue: np.ndarray):
    """``order(top_share, target)``: customers sorted by a copula score whose top ``top_share`` brings ``target``."""
    n = revenue.size
    total_rev = revenue.sum()
    rank_u = np.empty(n)
    rank_u[np.argsort(revenue, kind="stable")] = (np.arange(n) + 0.5) / n
    z_rev = ndtri(rank_u)

    def order(top_share: float, target: float) -> np.ndarray:
        eps = rng.standard_normal(n)
        k = int(round(top_share * n))

        def share(rho: float) -> float:
            s = rho * z_rev + np.sqrt(1.0 - rho * rho) * eps
            top = np.argpartition(-s, k - 1)[:k]
            return float(revenue[top].sum() / total_rev)

        rho = 0.0
        if 0 < k < n:
            lo_, hi_ = -0.999, 0.999
            for _ in range(30):
                rho = 0.5 * (lo_ + hi_)
                got = share(rho)
                if abs(got - target) < 2e-4:
                    break
                if got < target:
                    lo_ = rho
                else:
                    hi_ = rho
        s = rho * z_rev + np.sqrt(1.0 - rho * rho) * eps
        return np.argsort(-s, kind="stable")

    return order


def draw_customers(rng: np.random.Generator, orders: Orders, lines: Lines, cal: Calendar) -> Customers:
    """Stream "customers": the customers table (demographics by copula on revenue, sign-up, acquisition)."""
    n = orders.n_customers
    revenue = np.bincount(orders.cust[lines.order], weights=lines.amount, minlength=n)
    copula_order = _copula(rng, revenue)

    def assign(order: np.ndarray, shares: np.ndarray) -> np.ndarray:
        counts = exact_counts(shares, n)
        out = np.empty(n, dtype=np.int64)
        out[order] = np.repeat(np.arange(len(shares)), counts)
        return out

    age_shares = np.array([b[3] for b in AGE_BANDS])
    band = assign(copula_order(age_shares[0], AGE_CORE_REVENUE), age_shares)
    lo_age = np.array([b[1] for b in AGE_BANDS])
    hi_age = np.array([b[2] for b in AGE_BANDS])
    age = lo_age[band] + np.floor(rng.random(n) * (hi_age[band] - lo_age[band] + 1)).astype(np.int64)
    tier_shares = np.array([t[1] for t in TIERS])
    tier = assign(copula_order(tier_shares[0] + tier_shares[1], TOP_TIERS_REVENUE), tier_shares)
    occ_names = [o[0] for o in OCCUPATIONS]
    occ_counts = exact_counts(np.array([o[1] for o in OCCUPATIONS]), n)
    occ = np.full(n, -1, dtype=np.int64)
    young_first = np.argsort(age + rng.normal(0.0, 4.0, n), kind="stable")
    n_student = occ_counts[occ_names.index("student")]
    occ[young_first[:n_student]] = occ_names.index("student")
    old_first = np.argsort(-(age + rng.normal(0.0, 2.0, n)), kind="stable")
    old_first = old_first[occ[old_first] < 0]
    occ[old_first[: occ_counts[occ_names.index("retired")]]] = occ_names.index("retired")
    rest_codes = [i for i, o in enumerate(occ_names) if o not in ("student", "retired")]
    free_slots = rng.permutation(np.flatnonzero(occ < 0))
    occ[free_slots] = np.repeat(rest_codes, occ_counts[rest_codes])
    region = rng.choice(len(REGIONS), size=n, p=[r_[1] for r_ in REGIONS])
    acq = rng.choice(len(ACQ_CHANNELS), size=n, p=ACQ_P)
    first_us = orders.us[orders.first]
    delay_us = np.where(
        rng.random(n) < 0.4,
        rng.integers(60, 1800, n) * US_PER_SEC,
        (rng.exponential(3.0 * 86400, n)).astype(np.int64) * US_PER_SEC,
    )
    signup_us = np.maximum(first_us - delay_us, cal.start_us)
    cust_ids = np.arange(1, n + 1, dtype=np.int64)

    # value tiers: expected revenue given the latent parameters
    lam, pdrop, T = orders.lam, orders.p_dropout, orders.T
    mean_spend = GAMMA_GAMMA["p"] / orders.nu
    lp = lam * pdrop * T
    exp_repeats = np.where(lp > 1e-9, -np.expm1(-lp) / pdrop, lam * T)
    exp_rev = (1.0 + exp_repeats) * mean_spend
    k_hv = max(1, int(round(HIGH_VALUE_SHARE * n)))
    hv = np.argsort(-exp_rev, kind="stable")[:k_hv]

    table = pl.DataFrame({
        "customer_id": pl.Series(cust_ids, dtype=pl.Int64),
        "signup_date": pl.Series(signup_us, dtype=pl.Int64).cast(pl.Datetime("us")),
        "age": pl.Series(age, dtype=pl.Int64),
        "gender": strings(("male", "female"), lines.female.astype(np.int64)),
        "region": strings([r_[0] for r_ in REGIONS], region),
        "city_tier": strings([t[0] for t in TIERS], tier),
        "occupation": strings(occ_names, occ),
        "acquisition_channel": strings(ACQ_CHANNELS, acq),
    })
    return Customers(
        table=table, ids=cust_ids, signup_us=signup_us, acquisition=acq, revenue=revenue,
        expected_revenue=exp_rev, high_value=hv,
    )
