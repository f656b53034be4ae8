"""``campaign_effect``: what each campaign did, treatment against control, and what the increment earned.

For every campaign of a ``campaigns`` table with a control group, the
customers' orders in ``[sent_date, sent_date + within)`` give the outcomes

* ``converted``: ordered at least once (the conversion or repurchase rate);
* ``revenue`` and ``orders`` per customer;
* ``aov``: revenue per order, among the customers who ordered;
* ``reactivated``: ordered, among customers dormant at the send (no order in
  the ``dormant_days`` before it);
* ``clv``: a CLV per customer after the window (``clv=`` a table, or
  ``clv="model"`` to fit BG/NBD + Gamma-Gamma at ``sent_date + within``);

each compared with :func:`custlab.campaigns.lift` (absolute and relative
lift, intervals, p-value). The money line is the **increment**: incremental
revenue = revenue lift per customer x treated customers (with its
interval), minus the campaign's cost (sum of ``cost`` over the treated):
the ROI of the increment, not of all the treated customers' revenue (most of
which would have come anyway).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

import polars as pl

from custlab._dates import parse_within
from custlab._i18n import label, t
from custlab._types import Frame, Language
from custlab.campaigns.design import _aligned, campaign_outcomes, campaign_table
from custlab.campaigns.lift import LIFT_COLUMNS, lift
from custlab.data.schema import check_frame, require_columns
from custlab.exceptions import CustlabError

__all__ = ["OUTCOMES", "CampaignEffect", "campaign_effect", "summarise"]

#: Outcomes of :func:`campaign_effect`, in table order.
OUTCOMES = ("converted", "revenue", "orders", "aov", "reactivated", "clv")

Evidence = Literal["randomised", "difference_in_differences", "matched"]


@dataclass(frozen=True)
class CampaignEffect:
    """Lifts of every campaign and outcome, and the money of the increment.

    Attributes
    ----------
    table
        ``campaign_id`` then the columns of :func:`custlab.campaigns.lift`
        (one row per campaign, group and outcome).
    summary
        One row per campaign and treated group: ``campaign_id``, ``group``,
        ``n``, ``n_control``, ``rate``, ``control_rate``, ``abs_lift``,
        ``rel_lift`` with ``rel_ci_low``/``rel_ci_high``, ``p_value`` (of the
        conversion outcome), ``incremental_revenue`` with
        ``incremental_revenue_low``/``_high``, ``cost``,
        ``incremental_profit`` (incremental revenue x margin - cost; null
        without a cost column) and ``roi_increment`` (profit / cost).
    evidence
        ``"randomised"``, or the weaker ``"difference_in_differences"`` / ``"matched"``.
    within_days
        The outcome window in days.
    balance
        For ``"matched"``: standardised mean differences of the features
        before and after matching (``feature``, ``smd_before``, ``smd_after``).
    """

    table: pl.DataFrame = field(repr=False)
    summary: pl.DataFrame = field(repr=False)
    evidence: str = "randomised"
    within_days: float = 30.0
    ci: float = 0.95
    margin: float | None = None
    notes: tuple[str, ...] = ()
    balance: pl.DataFrame | None = field(default=None, repr=False)

    def to_frame(self) -> pl.DataFrame:
        """The lift table (campaign, group, outcome)."""
        return self.table

    def describe(self, language: Language = "en") -> list[str]:
        """Plain sentences per campaign and group: the lift with its interval, what it earned, how sure we are."""
        out = []
        if self.evidence != "randomised":
            out.append(t(f"campaigns.evidence.{self.evidence}", language))
        for row in self.summary.iter_rows(named=True):
            out.extend(_sentences(row, self.within_days, self.ci, language, self.evidence))
        out.extend(t(f"campaigns.note.{n}", language) for n in self.notes)
        return out

    def plot(self, *, outcome: str = "converted", ax=None, language: Language = "en"):
        """Relative lift with its interval per campaign and group (:func:`custlab.campaigns.plot_lift`)."""
        from custlab.campaigns.plots import plot_lift

        return plot_lift(self.table.filter(pl.col("outcome") == outcome), ax=ax, language=language)

    def __repr__(self) -> str:
        if self.summary.height == 0:
            return "CampaignEffect(no campaign)"
        r = self.summary.row(0, named=True)
        rel = "n/a" if r["rel_lift"] is None else f"{r['rel_lift']:+.1%}"
        return (f"CampaignEffect({self.summary.height} campaign group(s), {self.evidence}; {r['campaign_id']!r}/"
                f"{r['group']!r}: {r['rate']:.2%} vs {r['control_rate']:.2%}, relative lift {rel}, p={r['p_value']:.3g})")


def _fmt_pct(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.1%}" if signed else f"{value:.1%}"


def _sentences(row: dict, within_days: float, ci: float, language: str, evidence: str = "randomised") -> list[str]:
    fields = {
        "versus": t("campaigns.word.control" if evidence == "randomised" else "campaigns.word.comparison", language),
        "campaign": row["campaign_id"], "group": label(str(row["group"]), language), "n": f"{row['n']:,}",
        "n_control": f"{row['n_control']:,}", "days": f"{within_days:g}", "rate": _fmt_pct(row["rate"]),
        "control_rate": _fmt_pct(row["control_rate"]), "pp": f"{row['abs_lift'] * 100:+.2f}",
        "level": f"{ci:.0%}", "p": f"{row['p_value']:.3g}",
    }
    if row["rate"] == 0 and row["control_rate"] == 0:
        return [t("campaigns.describe.no_conversions", language, **fields)]
    if row["rel_lift"] is None:
        out = [t("campaigns.describe.lift_no_base", language, **fields,
                 low=f"{row['ci_low'] * 100:+.2f}", high=f"{row['ci_high'] * 100:+.2f}")]
    else:
        out = [t("campaigns.describe.lift", language, **fields, rel=_fmt_pct(row["rel_lift"], True),
                 low=_fmt_pct(row["rel_ci_low"], True), high=_fmt_pct(row["rel_ci_high"], True))]
    significant = row["ci_low"] > 0 or row["ci_high"] < 0
    out.append(t("campaigns.describe.clear" if significant else "campaigns.describe.unclear", language))
    if row.get("incremental_revenue") is not None:
        money = {"revenue": f"{row['incremental_revenue']:,.0f}", "low": f"{row['incremental_revenue_low']:,.0f}",
                 "high": f"{row['incremental_revenue_high']:,.0f}", "level": f"{ci:.0%}"}
        if row.get("cost") is not None and row["cost"] > 0 and row.get("roi_increment") is not None:
            out.append(t("campaigns.describe.money", language, **money, cost=f"{row['cost']:,.0f}",
                         profit=f"{row['incremental_profit']:,.0f}", roi=f"{row['roi_increment']:+.0%}"))
        else:
            out.append(t("campaigns.describe.money_no_cost", language, **money))
    return out


def summarise(table: pl.DataFrame, costs: pl.DataFrame | None, margin: float | None,
              outcome: str = "converted") -> pl.DataFrame:
    """The per-campaign summary of a lift table (see :class:`CampaignEffect`); ``costs``: campaign_id, group, cost."""
    conv = table.filter(pl.col("outcome") == outcome).select(
        "campaign_id", "group", "n", "n_control", "rate", "control_rate", "abs_lift", "ci_low", "ci_high",
        "rel_lift", "rel_ci_low", "rel_ci_high", "p_value")
    rev = table.filter(pl.col("outcome") == "revenue").select(
        "campaign_id", "group", (pl.col("abs_lift") * pl.col("n")).alias("incremental_revenue"),
        (pl.col("ci_low") * pl.col("n")).alias("incremental_revenue_low"),
        (pl.col("ci_high") * pl.col("n")).alias("incremental_revenue_high"))
    out = conv.join(rev, on=["campaign_id", "group"], how="left")
    if costs is not None:
        out = out.join(costs, on=["campaign_id", "group"], how="left")
    else:
        out = out.with_columns(pl.lit(None, pl.Float64).alias("cost"))
    m = 1.0 if margin is None else margin
    profit = pl.col("incremental_revenue") * m - pl.col("cost")
    return out.with_columns(
        profit.alias("incremental_profit"),
        pl.when(pl.col("cost") > 0).then(profit / pl.col("cost")).otherwise(None).alias("roi_increment"),
    )


def _model_clv(transactions: Frame, as_of: dt.datetime, customer_ids: pl.Series) -> pl.DataFrame:
    """12-month CLV at ``as_of`` from BG/NBD + Gamma-Gamma fitted on all customers' history before it."""
    from custlab.clv import BetaGeo, GammaGamma, clv_summary, predict_clv

    summary = clv_summary(transactions, as_of=as_of)
    values = predict_clv(summary, BetaGeo().fit(summary), GammaGamma().fit(summary), months=12,
                         annual_discount_rate=0.10)
    return values.select("customer_id", "clv").filter(pl.col("customer_id").is_in(customer_ids.implode()))


def _campaign_lifts(rows: pl.DataFrame, control: str, ci: float, clv: pl.DataFrame | None) -> tuple[pl.DataFrame, list[str]]:
    notes = []
    parts = [lift(rows, group="group", control=control, outcomes=["converted", "revenue", "orders"], ci=ci)]
    buyers = rows.filter(pl.col("converted") == 1)
    counts = buyers.group_by("group").len()
    if counts.height == rows["group"].n_unique() and counts["len"].min() >= 2:
        parts.append(lift(buyers, group="group", control=control, outcomes="aov", ci=ci))
    else:
        notes.append("aov_skipped")
    dormant = rows.filter(pl.col("dormant"))
    if dormant.height and dormant["group"].n_unique() == rows["group"].n_unique():
        parts.append(lift(dormant.rename({"converted": "reactivated"}), group="group", control=control,
                          outcomes="reactivated", ci=ci))
    if clv is not None:
        with_clv = rows.join(clv, on="customer_id", how="inner")
        if with_clv["group"].n_unique() == rows["group"].n_unique():
            parts.append(lift(with_clv, group="group", control=control, outcomes="clv", ci=ci))
    return pl.concat(parts), notes


def campaign_effect(
    campaigns: Frame,
    transactions: Frame,
    *,
    within: str | int | dt.timedelta = "30d",
    control: str | None = None,
    clv: Frame | Literal["model"] | None = None,
    margin: float | None = None,
    dormant_days: int = 90,
    ci: float = 0.95,
) -> CampaignEffect:
    """The effect of every campaign with a control group (see the module docstring).

    Parameters
    ----------
    campaigns
        Canonical ``campaigns`` table (``campaign_id``, ``customer_id``,
        ``group``, ``sent_date``; ``cost`` for the money of the increment).
    transactions
        Canonical, clean transactions covering ``within`` after each send.
    within
        Outcome window after ``sent_date`` (``"30d"``).
    control
        The control group's label (default: "control", "holdout", ... when one is present).
    clv
        Per-customer CLV after the window (``customer_id``, ``clv``), or
        ``"model"`` to fit BG/NBD + Gamma-Gamma at the end of the window.
    margin
        Share of revenue that is profit, for the incremental profit; None
        treats revenue as profit ("incremental revenue minus cost").
    dormant_days
        Silence before the send that makes a customer dormant (for ``reactivated``).
    ci
        Confidence level.

    Returns
    -------
    CampaignEffect

    Raises
    ------
    NoControlGroupError
        A campaign has no control group (use :func:`custlab.campaigns.did`
        or :func:`custlab.campaigns.matched`).
    ContaminatedControlError
        Control customers received the offer (``offer`` or ``cost`` set).
    """
    window = parse_within(within)
    if margin is not None and not 0 < margin <= 1:
        raise CustlabError(f"margin must be a share in (0, 1], got {margin!r}.")
    check_frame(transactions, argument="transactions")
    require_columns(transactions, ["customer_id", "order_id", "order_date", "amount"], purpose="for campaign outcomes")
    table = campaign_table(campaigns, control=control)
    ids = _aligned(table, transactions, clv=None if isinstance(clv, str) else clv)
    table, transactions, clv = ids["campaigns"], ids["transactions"], clv if isinstance(clv, str) else ids["clv"]
    control_name = table.filter(pl.col("is_control"))["group"][0]
    outcomes = campaign_outcomes(table, transactions, within=window, dormant_days=dormant_days)
    last = transactions.lazy().select(pl.col("order_date").max()).collect().item()
    late = table.filter(pl.col("sent_date") + window > last)["campaign_id"].unique().to_list()
    notes = ["window_open"] if late else []
    clv_frame = None
    if isinstance(clv, str):
        if clv != "model":
            raise CustlabError(f"clv must be a table (customer_id, clv), 'model' or None, got {clv!r}.")
    elif clv is not None:
        check_frame(clv, argument="clv")
        require_columns(clv, ["customer_id", "clv"], table="clv", purpose="for the CLV outcome")
        clv_frame = clv.lazy().select("customer_id", pl.col("clv").cast(pl.Float64)).collect()
    parts = []
    for (campaign_id,), rows in outcomes.group_by("campaign_id", maintain_order=True):
        per_clv = clv_frame
        if isinstance(clv, str):  # "model"
            end = rows["sent_date"].max() + window
            per_clv = _model_clv(transactions, end, rows["customer_id"])
        lifts, extra = _campaign_lifts(rows, control_name, ci, per_clv)
        notes += extra
        parts.append(lifts.with_columns(pl.lit(campaign_id).cast(table.schema["campaign_id"]).alias("campaign_id")))
    lifts = pl.concat(parts).select("campaign_id", *LIFT_COLUMNS)
    costs = None
    if "cost" in table.columns:
        costs = table.group_by("campaign_id", "group").agg(pl.col("cost").fill_null(0.0).sum()).with_columns(
            pl.col("group").cast(pl.String))
    summary = summarise(lifts, costs, margin)
    days = window.total_seconds() / 86400
    return CampaignEffect(lifts, summary, "randomised", days, ci, margin, tuple(dict.fromkeys(notes)))
