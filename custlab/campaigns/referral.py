"""Referral programmes: share -> click -> order, new customers per referrer, and what those customers are worth.

Input: a ``referrals`` table (or events with a ``referrer_id`` column) with
``referrer_id``, ``event`` (the three ``steps``, by default share, click and
order), ``event_time`` and, once known, the friend's ``customer_id``; a
``share_id`` links clicks and orders to their share.

* The funnel: with ``share_id``, the share of shares that got a click and
  the share of clicked shares that led to an order (Wilson intervals);
  without it, clicks per share and orders per click (ratios of counts, which
  can exceed 1, without intervals).
* Per referrer: shares, clicks, orders, **new customers** (friends whose
  first order in the transactions is at or after their referral event:
  people who had bought before are not new) and their revenue since, or
  their mean CLV when a CLV table is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from custlab._i18n import t
from custlab._types import Frame, Language
from custlab.campaigns.design import _aligned
from custlab.campaigns.stats import check_ci, wilson_interval, z_value
from custlab.data.schema import check_frame, require_columns, validate
from custlab.exceptions import CustlabError

__all__ = ["ReferralFunnel", "referral_funnel"]


@dataclass(frozen=True)
class ReferralFunnel:
    """The referral funnel and what each referrer brought."""

    funnel: pl.DataFrame
    referrers: pl.DataFrame = field(repr=False)
    new_customers: int
    linked: bool

    def to_frame(self) -> pl.DataFrame:
        """Per referrer: ``shares``, ``clicks``, ``orders``, ``new_customers``, ``new_customer_revenue``, ``new_customer_clv``."""
        return self.referrers

    @property
    def summary(self) -> pl.DataFrame:
        """The funnel: ``step``, ``count``, ``rate`` (from the previous step) with ``ci_low``, ``ci_high``."""
        return self.funnel

    def describe(self, language: Language = "en") -> list[str]:
        """Plain sentences: the funnel's two rates, and how many new customers came in."""
        f = {r["step"]: r for r in self.funnel.iter_rows(named=True)}
        steps = self.funnel["step"].to_list()
        out = [t("campaigns.referral.funnel", language, shares=f"{f[steps[0]]['count']:,}",
                 clicks=f"{f[steps[1]]['count']:,}", orders=f"{f[steps[2]]['count']:,}",
                 click_rate=_pct(f[steps[1]]["rate"]), order_rate=_pct(f[steps[2]]["rate"]))]
        referrers = self.referrers.filter(pl.col("new_customers") > 0)
        out.append(t("campaigns.referral.new", language, new=f"{self.new_customers:,}",
                     referrers=f"{referrers.height:,}", total=f"{self.referrers.height:,}"))
        if referrers.height and referrers["new_customer_clv"].null_count() < referrers.height:
            out.append(t("campaigns.referral.clv", language, clv=f"{referrers['new_customer_clv'].mean():,.0f}"))
        return out

    def plot(self, *, ax=None, language: Language = "en"):
        """Bars of the funnel's counts (:func:`custlab.campaigns.plot_referral_funnel`)."""
        from custlab.campaigns.plots import plot_referral_funnel

        return plot_referral_funnel(self, ax=ax, language=language)

    def __repr__(self) -> str:
        return f"ReferralFunnel({' -> '.join(f'{c:,}' for c in self.funnel['count'])}; {self.new_customers:,} new customers)"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def referral_funnel(
    referrals: Frame,
    transactions: Frame,
    *,
    clv: Frame | None = None,
    steps: Sequence[str] = ("share", "click", "order"),
    ci: float = 0.95,
) -> ReferralFunnel:
    """Share -> click -> order rates, new customers per referrer and their value.

    Parameters
    ----------
    referrals
        ``referrals`` table (``referrer_id``, ``event``, ``event_time``;
        ``customer_id`` of the friend on order events; optional ``share_id``).
    transactions
        Canonical clean transactions, to tell new customers from old ones and to count their revenue.
    clv
        Optional ``customer_id``, ``clv`` table for the new customers' CLV.
    steps
        The event names of the share, click and order steps.
    ci
        Confidence level of the funnel rates.
    """
    check_ci(ci)
    check_frame(referrals, argument="referrals")
    if len(steps) != 3:
        raise CustlabError(f"steps must name the share, click and order events, got {steps!r}.")
    data = validate(referrals, "referrals")
    data = data.collect() if isinstance(data, pl.LazyFrame) else data
    share, click, order = steps
    present = set(data["event"].unique().to_list())
    if share not in present or order not in present:
        raise CustlabError(f"the referrals hold events {sorted(present)}; the funnel needs {share!r} and {order!r} "
                           f"(pass steps= with your names).")
    nulls = data["referrer_id"].null_count()
    if nulls:
        raise CustlabError(f"{nulls:,} referral event(s) have no referrer_id; fill or drop them first.")
    counts = {s: int((data["event"] == s).sum()) for s in steps}
    linked = "share_id" in data.columns and data.filter(pl.col("event") != share)["share_id"].null_count() == 0
    z = z_value(ci)
    if linked:
        reached = {s: data.filter(pl.col("event") == s)["share_id"].n_unique() for s in steps}
        rates = [(None, None, None)]
        for a, b in ((share, click), (click, order)):
            base, hit = reached[a], reached[b]
            low, high = wilson_interval(min(hit, base), base, z) if base else (None, None)
            rates.append((hit / base if base else None, low, high))
    else:
        rates = [(None, None, None),
                 (counts[click] / counts[share] if counts[share] else None, None, None),
                 (counts[order] / counts[click] if counts[click] else None, None, None)]
    funnel = pl.DataFrame({
        "step": list(steps), "count": [counts[s] for s in steps],
        "rate": [r[0] for r in rates], "ci_low": [r[1] for r in rates], "ci_high": [r[2] for r in rates],
    }, schema={"step": pl.String, "count": pl.Int64, "rate": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64})
    referrers = _referrers(data, transactions, clv, steps)
    return ReferralFunnel(funnel, referrers, int(referrers["new_customers"].sum()), linked)


def _referrers(data: pl.DataFrame, transactions: Frame, clv: Frame | None, steps: Sequence[str]) -> pl.DataFrame:
    share, click, order = steps
    check_frame(transactions, argument="transactions")
    require_columns(transactions, ["customer_id", "order_date", "amount"], purpose="to find new customers")
    ids = _aligned(data, transactions, "referrals", clv=clv)
    data, transactions, clv = ids["referrals"], ids["transactions"], ids["clv"]
    per = data.group_by("referrer_id").agg(
        *[(pl.col("event") == s).sum().cast(pl.Int64).alias(name)
          for s, name in ((share, "shares"), (click, "clicks"), (order, "orders"))])
    friends = data.filter(pl.col("event") == order)
    if "customer_id" not in friends.columns or friends["customer_id"].null_count() == friends.height:
        return per.with_columns(pl.lit(0, pl.Int64).alias("new_customers"),
                                pl.lit(None, pl.Float64).alias("new_customer_revenue"),
                                pl.lit(None, pl.Float64).alias("new_customer_clv"))
    friends = (friends.filter(pl.col("customer_id").is_not_null()).sort("event_time")
               .group_by("customer_id").agg(pl.col("referrer_id").first(), pl.col("event_time").first().alias("referred_at")))
    history = (transactions.lazy().filter(pl.col("customer_id").is_not_null())
               .group_by("customer_id").agg(pl.col("order_date").min().alias("first_order")).collect())
    friends = friends.join(history, on="customer_id", how="left").filter(
        pl.col("first_order").is_not_null() & (pl.col("first_order") >= pl.col("referred_at") - pl.duration(minutes=1)))
    revenue = (transactions.lazy().select("customer_id", "order_date", "amount")
               .join(friends.lazy().select("customer_id", "referred_at"), on="customer_id", how="inner")
               .filter(pl.col("order_date") >= pl.col("referred_at") - pl.duration(minutes=1))
               .group_by("customer_id").agg(pl.col("amount").sum().alias("revenue")).collect())
    friends = friends.join(revenue, on="customer_id", how="left")
    if clv is not None:
        check_frame(clv, argument="clv")
        require_columns(clv, ["customer_id", "clv"], table="clv", purpose="for the new customers' CLV")
        friends = friends.join(clv.lazy().select("customer_id", pl.col("clv").cast(pl.Float64)).collect(),
                               on="customer_id", how="left")
    else:
        friends = friends.with_columns(pl.lit(None, pl.Float64).alias("clv"))
    new = friends.group_by("referrer_id").agg(
        pl.len().cast(pl.Int64).alias("new_customers"), pl.col("revenue").sum().alias("new_customer_revenue"),
        pl.col("clv").mean().alias("new_customer_clv"))
    return (per.join(new, on="referrer_id", how="left")
            .with_columns(pl.col("new_customers").fill_null(0))
            .sort("new_customers", "orders", descending=True))
