"""CUPED: narrower intervals from the same test, using each customer's pre-period spend.

Deng, Xu, Kohavi & Walker (2013): with a covariate ``X`` measured before
the test (the customer's spend in the weeks before the send), the adjusted
outcome ``Y' = Y - theta (X - mean X)``, ``theta = cov(X, Y) / var(X)``
(pooled over all customers), has the same expected difference between
groups (randomisation makes ``X`` balanced) and a variance smaller by the
factor ``1 - rho^2``, ``rho`` the correlation of ``X`` and ``Y``. The lift
is then computed on ``Y'`` with :func:`custlab.campaigns.lift` (as a mean).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from custlab._dates import parse_within
from custlab._i18n import t
from custlab._types import Frame, Language
from custlab.campaigns.design import _aligned
from custlab.campaigns.lift import lift
from custlab.data.schema import check_frame
from custlab.exceptions import CustlabError

__all__ = ["CupedResult", "cuped", "pre_period_spend"]


@dataclass(frozen=True)
class CupedResult:
    """A lift before and after the CUPED adjustment, with ``theta`` and the variance removed."""

    outcome: str
    covariate: str
    theta: float
    correlation: float
    variance_reduction: float
    raw: pl.DataFrame = field(repr=False)
    adjusted: pl.DataFrame = field(repr=False)

    def to_frame(self) -> pl.DataFrame:
        """Both lift tables, with ``method`` ("raw" or "cuped")."""
        return pl.concat([self.raw.with_columns(pl.lit("raw").alias("method")),
                          self.adjusted.with_columns(pl.lit("cuped").alias("method"))])

    @property
    def summary(self) -> pl.DataFrame:
        """Per group: the lift and interval width, raw and adjusted."""
        cols = ["group", "abs_lift", "ci_low", "ci_high"]
        raw = self.raw.select(cols).with_columns((pl.col("ci_high") - pl.col("ci_low")).alias("width"))
        adj = self.adjusted.select(cols).with_columns((pl.col("ci_high") - pl.col("ci_low")).alias("width"))
        return raw.join(adj, on="group", suffix="_cuped")

    def describe(self, language: Language = "en") -> str:
        """One sentence: how much narrower the interval got, and the adjusted lift."""
        s = self.summary.row(0, named=True)
        shrink = 1 - s["width_cuped"] / s["width"] if s["width"] > 0 else 0.0
        return t("campaigns.cuped.describe", language, covariate=self.covariate, reduction=f"{self.variance_reduction:.0%}",
                 shrink=f"{shrink:.0%}", lift=f"{s['abs_lift_cuped']:.4g}", low=f"{s['ci_low_cuped']:.4g}",
                 high=f"{s['ci_high_cuped']:.4g}")

    def __repr__(self) -> str:
        return f"CupedResult(theta={self.theta:.4g}, variance removed {self.variance_reduction:.1%})"


def cuped(frame: Frame, *, outcome: str, covariate: str, group: str, control: object, ci: float = 0.95) -> CupedResult:
    """The lift of ``outcome`` between groups, adjusted for the pre-period ``covariate`` (CUPED).

    Parameters
    ----------
    frame
        One row per customer: ``group``, ``outcome`` and ``covariate``
        (numeric, no missing values: a customer with no pre-period spend has 0).
    outcome, covariate, group, control, ci
        As in :func:`custlab.campaigns.lift`; ``covariate`` must be measured before the test.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.gamma(2.0, 50.0, 4000)
    >>> arm = np.repeat(["t", "c"], 2000)
    >>> y = 0.8 * x + rng.normal(0, 30, 4000) + np.where(arm == "t", 5.0, 0.0)
    >>> r = cuped(pl.DataFrame({"arm": arm, "y": y, "x": x}), outcome="y", covariate="x", group="arm", control="c")
    >>> round(r.variance_reduction, 2), round(r.theta, 2)
    (0.78, 0.78)
    """
    check_frame(frame)
    data = frame.lazy().collect() if isinstance(frame, pl.LazyFrame) else frame
    for col in (outcome, covariate):
        if col not in data.columns:
            raise CustlabError(f"column {col!r} is not in the table; its columns are {data.columns}.")
        if data[col].null_count():
            raise CustlabError(f"column {col!r} has {data[col].null_count():,} missing value(s); fill them (0) first.")
    y = data[outcome].cast(pl.Float64).to_numpy()
    x = data[covariate].cast(pl.Float64).to_numpy()
    var_x = float(np.var(x, ddof=1)) if x.size > 1 else 0.0
    if var_x == 0:
        raise CustlabError(f"covariate {covariate!r} does not vary, so it cannot reduce any variance.")
    theta = float(np.cov(x, y, ddof=1)[0, 1] / var_x)
    adjusted = y - theta * (x - x.mean())
    var_y = float(np.var(y, ddof=1))
    correlation = float(np.corrcoef(x, y)[0, 1]) if var_y > 0 else 0.0
    reduction = 1 - float(np.var(adjusted, ddof=1)) / var_y if var_y > 0 else 0.0
    name = f"{outcome}_cuped"
    frame2 = data.with_columns(pl.Series(name, adjusted))
    raw = lift(data, group=group, control=control, outcomes=outcome, ci=ci)
    adj = lift(frame2, group=group, control=control, outcomes=name, ci=ci).with_columns(pl.lit("mean").alias("kind"))
    return CupedResult(outcome, covariate, theta, correlation, reduction, raw, adj)


def pre_period_spend(campaigns: pl.DataFrame, transactions: Frame, *,
                     within: str | int | dt.timedelta = "90d") -> pl.DataFrame:
    """Each campaign customer's spend in the ``within`` before their ``sent_date`` (0 without orders).

    Returns ``campaign_id``, ``customer_id``, ``pre_spend`` (Float64).
    """
    window = parse_within(within)
    check_frame(transactions, argument="transactions")
    ids = _aligned(campaigns, transactions)
    campaigns, transactions = ids["campaigns"], ids["transactions"]
    keys = campaigns.select("campaign_id", "customer_id", "sent_date")
    spend = (
        transactions.lazy().select("customer_id", "order_date", "amount")
        .join(keys.lazy(), on="customer_id", how="inner")
        .filter(pl.col("order_date") < pl.col("sent_date"), pl.col("order_date") >= pl.col("sent_date") - window)
        .group_by("campaign_id", "customer_id").agg(pl.col("amount").sum().alias("pre_spend"))
        .collect()
    )
    return keys.join(spend, on=["campaign_id", "customer_id"], how="left").select(
        "campaign_id", "customer_id", pl.col("pre_spend").fill_null(0.0))
