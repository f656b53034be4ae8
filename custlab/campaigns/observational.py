"""Campaigns without a control group: difference-in-differences and propensity matching (weaker evidence).

Without randomisation the treated customers are compared with customers who
were *not* sent the campaign, and the comparison is only as good as its
assumption; both results say so (``evidence``):

* :func:`did` (difference-in-differences): each customer's outcome in the
  window after the send minus the same window before it; the treated
  group's average change minus the comparison group's (Welch interval on
  the change scores). Assumes both groups would have changed alike without
  the campaign (parallel trends). The comparison group is, by default, the
  customers not treated whose days since their last order at the send lie
  in the treated customers' range (a win-back sent to the dormant is
  compared with the other dormant).
* :func:`matched`: each treated customer is paired with the comparison
  customer (chosen as for :func:`did`) of nearest propensity (a logistic
  regression of being treated on recency, frequency, monetary value and
  tenure at the send and their squares, plus tier columns of the customers
  table such as ``city_tier``), with replacement
  and within a caliper of 0.2 standard deviations of the logit; treated
  customers without a partner are left out and counted. Intervals are
  bootstrap percentiles over the treated customers (seeded). Assumes nothing
  that drove the targeting is missing from the features.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import polars as pl
from scipy import stats as sps

from custlab._dates import parse_within
from custlab._types import Frame
from custlab.campaigns.design import _aligned, campaign_outcomes, campaign_table
from custlab.campaigns.effects import CampaignEffect, summarise
from custlab.campaigns.lift import LIFT_COLUMNS
from custlab.campaigns.stats import check_ci, compare_means, percentile_interval
from custlab.data.schema import check_frame, naive_datetimes, require_columns
from custlab.exceptions import CustlabError

__all__ = ["balance_table", "did", "matched", "rfm_at"]

_OUTCOMES = ("converted", "revenue")


def _treated(campaigns: Frame, control: str | None) -> pl.DataFrame:
    table = campaign_table(campaigns, control=control, require_control=False)
    treated = table.filter(~pl.col("is_control"))
    if treated.height == 0:
        raise CustlabError("the campaigns table holds no treated customer (every row is in the control group).")
    sends = treated.group_by("campaign_id").agg(pl.col("sent_date").n_unique().alias("dates"))
    if sends["dates"].max() > 1:
        raise CustlabError(
            "a campaign without a control is compared at one send date, but campaign(s) "
            f"{sends.filter(pl.col('dates') > 1)['campaign_id'].to_list()[:5]} have several sent_date values; "
            "split them into one campaign_id per send date."
        )
    return treated


def rfm_at(transactions: Frame, as_of: dt.datetime) -> pl.DataFrame:
    """Recency (days), frequency (orders), monetary (revenue) and tenure (days) per customer before ``as_of``."""
    lines = naive_datetimes(transactions).lazy().filter(pl.col("customer_id").is_not_null(),
                                                        pl.col("order_date") < as_of)
    orders = lines.group_by("customer_id", "order_id").agg(pl.col("order_date").min(), pl.col("amount").sum())
    days = lambda e: (pl.lit(as_of) - e).dt.total_seconds() / 86400.0  # noqa: E731
    return orders.group_by("customer_id").agg(
        days(pl.col("order_date").max()).alias("recency"), pl.len().cast(pl.Float64).alias("frequency"),
        pl.col("amount").sum().alias("monetary"), days(pl.col("order_date").min()).alias("tenure"),
    ).collect()


def _pool(treated: pl.DataFrame, transactions: Frame, sent: dt.datetime, comparison: Frame | None) -> pl.DataFrame:
    """Comparison customers: given, or the not-treated customers in the treated customers' recency range."""
    rfm = rfm_at(transactions, sent)
    others = rfm.join(treated.select("customer_id"), on="customer_id", how="anti")
    if comparison is not None:
        check_frame(comparison, argument="comparison")
        ids = comparison.lazy().select("customer_id").collect()
        return others.join(ids, on="customer_id", how="semi")
    rec = rfm.join(treated.select("customer_id"), on="customer_id", how="semi")["recency"]
    if rec.len() == 0:
        return others
    return others.filter(pl.col("recency").is_between(rec.min(), rec.max()))


def _as_rows(campaign_id, sent: dt.datetime, treated: pl.DataFrame, pool: pl.DataFrame) -> pl.DataFrame:
    comp = pool.select("customer_id").with_columns(
        pl.lit(campaign_id).cast(treated.schema["campaign_id"]).alias("campaign_id"), pl.lit("comparison").alias("group"),
        pl.lit(sent).cast(pl.Datetime("us")).alias("sent_date"), pl.lit(True).alias("is_control"))
    keep = ["campaign_id", "customer_id", "group", "sent_date", "is_control"]
    return pl.concat([treated.select(keep).with_columns(pl.col("group").cast(pl.String)), comp.select(keep)])


def _costs(treated: pl.DataFrame) -> pl.DataFrame | None:
    if "cost" not in treated.columns:
        return None
    return treated.group_by("campaign_id", "group").agg(pl.col("cost").fill_null(0.0).sum()).with_columns(
        pl.col("group").cast(pl.String))


def _row(campaign_id, group: str, outcome: str, kind: str, n: int, n_control: int, level: float, control_level: float,
         abs_lift: float, low: float, high: float, rel, rel_low, rel_high, p: float, test: str) -> dict:
    return dict(zip(("campaign_id", *LIFT_COLUMNS), (campaign_id, group, outcome, kind, n, n_control, level,
                                                     control_level, abs_lift, low, high, rel, rel_low, rel_high, p,
                                                     test), strict=True))


def _frame(rows: list[dict], id_dtype) -> pl.DataFrame:
    schema = {"campaign_id": id_dtype, "group": pl.String, "outcome": pl.String, "kind": pl.String, "n": pl.Int64,
              "n_control": pl.Int64, **{c: pl.Float64 for c in LIFT_COLUMNS[5:14]}, "test": pl.String}
    return pl.DataFrame(rows, schema=schema)


def did(
    campaigns: Frame,
    transactions: Frame,
    *,
    within: str | int | dt.timedelta = "30d",
    comparison: Frame | None = None,
    control: str | None = None,
    margin: float | None = None,
    ci: float = 0.95,
) -> CampaignEffect:
    """Difference-in-differences effect of campaigns without a control group (weaker evidence).

    Parameters
    ----------
    campaigns
        Canonical campaigns table; its control rows (if any) are not used as
        treated. One ``sent_date`` per campaign.
    transactions
        Canonical clean transactions covering ``within`` before and after each send.
    within
        Length of the window after the send and of the one before it.
    comparison
        Optional ``customer_id`` table of the comparison customers; default:
        not-treated customers whose recency at the send is in the treated
        customers' range.
    control, margin, ci
        As in :func:`custlab.campaigns.campaign_effect`.

    Returns
    -------
    CampaignEffect
        With ``evidence="difference_in_differences"``; outcomes ``converted``
        and ``revenue``. ``rate`` and ``control_rate`` are the post-window
        levels; ``abs_lift`` is the difference in differences; ``rel_lift``
        is it over the treated group's counterfactual level (its pre level
        plus the comparison's change), its interval scaled alike.
    """
    check_frame(campaigns, argument="campaigns")
    check_frame(transactions, argument="transactions")
    check_ci(ci)
    window = parse_within(within)
    require_columns(transactions, ["customer_id", "order_id", "order_date", "amount"], purpose="for the comparison")
    treated_all = _treated(campaigns, control)
    ids = _aligned(treated_all, transactions, comparison=comparison)
    treated_all, transactions, comparison = ids["campaigns"], ids["transactions"], ids["comparison"]
    rows, id_dtype = [], treated_all.schema["campaign_id"]
    for (campaign_id,), treated in treated_all.group_by("campaign_id", maintain_order=True):
        sent = treated["sent_date"][0]
        pool = _pool(treated, transactions, sent, comparison)
        if pool.height < 2:
            raise CustlabError(f"campaign {campaign_id!r}: fewer than 2 comparison customers; widen comparison=.")
        data = campaign_outcomes(_as_rows(campaign_id, sent, treated, pool), transactions, within=window, pre=window)
        for (group,), part in data.filter(~pl.col("is_control")).group_by("group", maintain_order=True):
            comp = data.filter(pl.col("is_control"))
            for outcome, pre in (("converted", "pre_converted"), ("revenue", "pre_revenue")):
                y1 = (part[outcome] - part[pre]).cast(pl.Float64).to_numpy()
                y0 = (comp[outcome] - comp[pre]).cast(pl.Float64).to_numpy()
                c = compare_means(y1.mean(), y1.var(ddof=1) if y1.size > 1 else 0.0, y1.size,
                                  y0.mean(), y0.var(ddof=1) if y0.size > 1 else 0.0, y0.size, ci=ci)
                post1, pre1 = part[outcome].mean(), part[pre].mean()
                post0, pre0 = comp[outcome].mean(), comp[pre].mean()
                counterfactual = pre1 + (post0 - pre0)
                rel = lo = hi = None
                if counterfactual > 0:
                    rel, lo, hi = c.abs_lift / counterfactual, c.ci_low / counterfactual, c.ci_high / counterfactual
                kind = "rate" if outcome == "converted" else "mean"
                rows.append(_row(campaign_id, str(group), outcome, kind, y1.size, y0.size, float(post1), float(post0),
                                 c.abs_lift, c.ci_low, c.ci_high, rel, lo, hi, c.p_value, "did_welch"))
    table = _frame(rows, id_dtype)
    summary = summarise(table, _costs(treated_all), margin)
    return CampaignEffect(table, summary, "difference_in_differences", window.total_seconds() / 86400, ci, margin,
                          ("weaker_evidence",))


def _features(rfm: pl.DataFrame, customers: Frame | None, tiers: Sequence[str]) -> tuple[pl.DataFrame, list[str]]:
    data = rfm.with_columns(pl.col("frequency").log1p(), pl.col("monetary").clip(0.0).log1p())
    names = ["recency", "frequency", "monetary", "tenure"]
    if customers is not None and tiers:
        check_frame(customers, argument="customers")
        present = [c for c in tiers if c in customers.collect_schema().names()]
        if present:
            extra = customers.lazy().select("customer_id", *[pl.col(c).cast(pl.String).fill_null("(unknown)")
                                                              for c in present]).collect()
            dummies = extra.to_dummies(columns=present, drop_first=True)
            data = data.join(dummies, on="customer_id", how="left").fill_null(0)
            names += [c for c in dummies.columns if c != "customer_id"]
    return data, names


def balance_table(x: np.ndarray, names: list[str], treated: np.ndarray, pairs_t: np.ndarray,
                  pairs_c: np.ndarray) -> pl.DataFrame:
    """Standardised mean differences of the features before and after matching (|SMD| < 0.1 counts as balanced).

    ``x`` holds the features (rows = customers), ``treated`` marks the treated
    rows, ``pairs_t``/``pairs_c`` are the row indices of the matched pairs.
    """
    t, c = x[treated], x[~treated]
    sd = np.sqrt((t.var(axis=0) + c.var(axis=0)) / 2.0)
    sd[sd == 0] = 1.0
    return pl.DataFrame({
        "feature": names,
        "smd_before": (t.mean(axis=0) - c.mean(axis=0)) / sd,
        "smd_after": (x[pairs_t].mean(axis=0) - x[pairs_c].mean(axis=0)) / sd,
    })


def matched(
    campaigns: Frame,
    transactions: Frame,
    *,
    comparison: Frame | None = None,
    customers: Frame | None = None,
    tiers: Sequence[str] = ("city_tier",),
    within: str | int | dt.timedelta = "30d",
    caliper: float = 0.2,
    control: str | None = None,
    margin: float | None = None,
    ci: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
) -> CampaignEffect:
    """Propensity-matched effect of campaigns without a control group (weaker evidence).

    Parameters
    ----------
    campaigns, transactions
        As in :func:`did`.
    comparison
        Optional ``customer_id`` table of the customers to draw partners
        from; default, as in :func:`did`, the not-treated customers whose
        recency at the send lies in the treated customers' range (common support).
    customers
        Optional customers table; its ``tiers`` columns join the features.
    tiers
        Categorical columns of ``customers`` to match on besides RFM (``city_tier``).
    within
        Outcome window after the send.
    caliper
        Largest allowed distance of a pair, in standard deviations of the logit propensity.
    control, margin, ci
        As in :func:`custlab.campaigns.campaign_effect`.
    n_boot, seed
        Bootstrap replicates over the matched treated customers, and their seed.

    Returns
    -------
    CampaignEffect
        With ``evidence="matched"``; outcomes ``converted`` and ``revenue``;
        ``n_control`` is the number of distinct comparison customers used.
        The note ``unmatched`` is added when treated customers found no partner.
    """
    from sklearn.linear_model import LogisticRegression

    check_ci(ci)
    window = parse_within(within)
    if not caliper > 0:
        raise CustlabError(f"caliper must be positive, got {caliper!r}.")
    treated_all = _treated(campaigns, control)
    ids = _aligned(treated_all, transactions, comparison=comparison, customers=customers)
    treated_all, transactions = ids["campaigns"], ids["transactions"]
    comparison, customers = ids["comparison"], ids["customers"]
    rng = np.random.default_rng(seed)
    rows, notes, id_dtype = [], ["weaker_evidence"], treated_all.schema["campaign_id"]
    kept_all, balances = [], []
    for (campaign_id,), treated in treated_all.group_by("campaign_id", maintain_order=True):
        sent = treated["sent_date"][0]
        rfm = rfm_at(transactions, sent)
        pool = _pool(treated, transactions, sent, comparison)
        rfm = rfm.join(pl.concat([treated.select("customer_id"), pool.select("customer_id")]), on="customer_id", how="semi")
        data, names = _features(rfm, customers, tiers)
        is_t = data["customer_id"].is_in(treated["customer_id"].implode()).to_numpy()
        if is_t.sum() == 0 or (~is_t).sum() < 2:
            raise CustlabError(f"campaign {campaign_id!r}: its customers have no orders before the send, or there is "
                               f"no one else to compare with; matching needs both.")
        raw = data.select(names).to_numpy().astype(float)
        x = (raw - raw.mean(axis=0)) / np.where(raw.std(axis=0) > 0, raw.std(axis=0), 1.0)
        x = np.hstack([x, x[:, :4] ** 2])  # squares of recency, frequency, monetary, tenure: a curved propensity
        model = LogisticRegression(max_iter=1000).fit(x, is_t)
        logit = model.decision_function(x)
        width = caliper * float(np.std(logit))
        t_idx, c_idx = np.flatnonzero(is_t), np.flatnonzero(~is_t)
        order = np.argsort(logit[c_idx])
        sorted_c = logit[c_idx][order]
        pos = np.clip(np.searchsorted(sorted_c, logit[t_idx]), 1, sorted_c.size - 1)
        left, right = sorted_c[pos - 1], sorted_c[pos]
        pick = np.where(np.abs(logit[t_idx] - left) <= np.abs(right - logit[t_idx]), pos - 1, pos)
        partner = c_idx[order][pick]
        ok = np.abs(logit[partner] - logit[t_idx]) <= width
        if (~ok).any():
            notes.append("unmatched")
        if ok.sum() < 2:
            raise CustlabError(f"campaign {campaign_id!r}: fewer than 2 treated customers found a comparable partner "
                               f"within the caliper ({caliper}); widen caliper= or add comparison customers.")
        ids_t, ids_c = data["customer_id"].to_numpy()[t_idx[ok]], data["customer_id"].to_numpy()[partner[ok]]
        pool = pl.DataFrame({"customer_id": pl.Series(np.unique(ids_c)).cast(data.schema["customer_id"])})
        kept = treated.filter(pl.col("customer_id").is_in(pl.Series(ids_t).cast(data.schema["customer_id"]).implode()))
        kept_all.append(kept)
        balances.append(balance_table(raw, names, is_t, t_idx[ok], partner[ok]).with_columns(
            pl.lit(campaign_id).cast(id_dtype).alias("campaign_id")))
        outcomes = campaign_outcomes(_as_rows(campaign_id, sent, kept, pool), transactions, within=window)
        for (group,), part in outcomes.filter(~pl.col("is_control")).group_by("group", maintain_order=True):
            in_group = pl.Series(ids_t).cast(data.schema["customer_id"]).is_in(part["customer_id"].implode()).to_numpy()
            lookup = dict(zip(outcomes["customer_id"].to_list(), range(outcomes.height)))
            for outcome in _OUTCOMES:
                values = outcomes[outcome].cast(pl.Float64).to_numpy()
                y1 = values[[lookup[i] for i in ids_t[in_group]]]
                y0 = values[[lookup[i] for i in ids_c[in_group]]]
                diff = y1 - y0
                boot = rng.integers(0, diff.size, (n_boot, diff.size))
                b1, b0 = y1[boot].mean(axis=1), y0[boot].mean(axis=1)
                low, high = percentile_interval(b1 - b0, ci)
                rel = rel_low = rel_high = None
                if y0.mean() > 0:
                    rel = y1.mean() / y0.mean() - 1.0
                    with np.errstate(divide="ignore", invalid="ignore"):
                        rel_low, rel_high = percentile_interval(b1 / b0 - 1.0, ci)
                se = diff.std(ddof=1) / np.sqrt(diff.size) if diff.size > 1 else 0.0
                p = float(2 * sps.t.sf(abs(diff.mean()) / se, diff.size - 1)) if se > 0 else float(diff.mean() == 0)
                kind = "rate" if outcome == "converted" else "mean"
                rows.append(_row(campaign_id, str(group), outcome, kind, int(y1.size), int(np.unique(ids_c[in_group]).size),
                                 float(y1.mean()), float(y0.mean()), float(diff.mean()), low, high, rel, rel_low,
                                 rel_high, p, "matched_bootstrap"))
    table = _frame(rows, id_dtype)
    summary = summarise(table, _costs(pl.concat(kept_all)), margin)
    return CampaignEffect(table, summary, "matched", window.total_seconds() / 86400, ci, margin,
                          tuple(dict.fromkeys(notes)), balance=pl.concat(balances))
