"""The next best action: one offer per customer, with the product, the channel, the reason and its value.

:func:`next_best_action` joins what the other analyses know of a customer:

* the value tier (:func:`custlab.segments.value_tier_rules` on RFM at ``as_of``)
  and its playbook action (:data:`custlab.segments.PLAYBOOK`);
* P(alive) and the expected spend per order (:mod:`custlab.clv`: the model
  :func:`custlab.clv.choose_model` picks; or the ``values`` you pass);
* the churn risk (the ``risk`` you pass, e.g. ``p_churn`` of
  :func:`custlab.churn.early_warning`; else 1 - P(alive)); where the P(alive)
  is the observed return rate (no purchase model gives one), the reason says
  so in those words: "of the customers silent 11 days or more, 0.2% bought
  again", not "churn risk 100%";
* repeat purchases due now (:func:`custlab.recommend.replenishment_due`);
* the best product (:func:`custlab.recommend.recommend`);
* the birthday month (``birth_date`` or ``birth_month`` in ``customers``).

The first rule that applies sets the action: a birthday in the month that
starts at ``as_of`` -> a birthday gift (the recommended product whose usual
price is nearest the customer's average order, among the top five); a due
repeat purchase -> a reminder for it; a churn risk of ``risk_threshold`` or
more in a tier worth keeping (High value, Potential) -> a personal retention
offer; otherwise the tier's playbook action with the best product.

``expected_value = P(alive) x expected spend x response rate``: the revenue
of the order the action is expected to bring. Response rates are assumptions
(:data:`RESPONSE_RATES`, override with ``response_rates``), not measured here:
measure them with a hold-out group. ``priority`` ranks customers by expected
value (1 = first to contact).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl

from custlab._dates import as_datetime, as_of_after
from custlab._i18n import check_language, label, t, translate_values
from custlab._plotting import PALETTE, figure_axes, in_language_font
from custlab._types import DateLike, Frame, Language
from custlab.data.ids import match_ids
from custlab.data.schema import check_frame, naive_datetimes, require_columns
from custlab.exceptions import CustlabError
from custlab.segments.kmeans import share_text

__all__ = ["NBA_COLUMNS", "RESPONSE_RATES", "NextBestActions", "nba_recommendations", "next_best_action",
           "plot_next_best_actions"]

#: Assumed response rate per action id; actions not named use ``"other"``.
RESPONSE_RATES: dict[str, float] = {
    "birthday_offer": 0.10, "replenish_reminder": 0.15, "retention_offer": 0.06, "other": 0.05,
}
#: Value tiers whose churn risk triggers a personal retention offer.
KEEP_TIERS = ("High value", "Potential")
#: Columns of :meth:`NextBestActions.to_frame`, in order.
NBA_COLUMNS = ("customer_id", "priority", "action_id", "action", "product_id", "product_name", "channel", "reason",
               "segment", "p_alive", "p_churn", "expected_spend", "response_rate", "expected_value")


@dataclass(frozen=True)
class NextBestActions:
    """One action per customer (:func:`next_best_action`).

    Attributes
    ----------
    table
        :meth:`to_frame`.
    as_of
        The first instant not in the history.
    language
        Language of ``action``, ``reason`` and ``segment``.
    notes
        How P(alive) and the risk were obtained, in English.
    """

    table: pl.DataFrame = field(repr=False)
    as_of: dt.datetime
    language: str = "en"
    notes: tuple[str, ...] = field(default=(), repr=False)

    def to_frame(self) -> pl.DataFrame:
        """One row per customer, by priority: ``customer_id``, ``priority`` (Int64, 1 = first), ``action_id``,
        ``action``, ``product_id``, ``product_name``, ``channel``, ``reason`` (String), ``segment`` (value tier),
        ``p_alive``, ``p_churn``, ``expected_spend``, ``response_rate``, ``expected_value`` (Float64; ``p_churn`` is
        null for a customer the ``values`` passed leave out, when no ``risk`` is passed)."""
        return self.table

    @property
    def summary(self) -> pl.DataFrame:
        """Per action: ``action_id``, ``action``, ``customers`` (Int64), ``expected_value`` (sum), most value first."""
        return (self.table.group_by("action_id", "action")
                .agg(customers=pl.len().cast(pl.Int64), expected_value=pl.col("expected_value").sum())
                .sort(["expected_value", "action_id"], descending=[True, False]))

    def describe(self, language: Language = "en") -> str:
        """The headline: customers, total expected value, the action worth most."""
        check_language(language)
        if self.table.height == 0:
            return t("recommend.nba.none", language)
        top = self.summary.row(0, named=True)
        return t("recommend.nba.describe", language, customers=f"{self.table.height:,}",
                 value=f"{self.table['expected_value'].sum():,.0f}", actions=self.summary.height,
                 action=t(f"recommend.action.{top['action_id']}", language) if top["action_id"] in RESPONSE_RATES
                 else label(top["action"], language), n=f"{top['customers']:,}",
                 top=f"{top['expected_value']:,.0f}")

    def __repr__(self) -> str:
        total = float(self.table["expected_value"].sum()) if self.table.height else 0.0
        return (f"NextBestActions({self.table.height:,} customers, {self.summary.height} actions, expected value "
                f"{total:,.0f}; as_of={self.as_of:%Y-%m-%d})")


def _rates(response_rates: Mapping[str, float] | float | None) -> dict[str, float]:
    rates = dict(RESPONSE_RATES)
    if isinstance(response_rates, (int, float)) and not isinstance(response_rates, bool):
        rates = {key: float(response_rates) for key in rates}
    elif response_rates is not None:
        rates.update({str(k): float(v) for k, v in response_rates.items()})
    bad = {k: v for k, v in rates.items() if not 0 <= v <= 1}
    if bad:
        raise CustlabError(f"response_rates must be shares between 0 and 1, got {bad}.")
    return rates


def _values(history: pl.DataFrame, as_of: dt.datetime, notes: list[str]) -> pl.DataFrame:
    """customer_id, p_alive, expected_spend from the CLV method custlab chooses, ranked as the monthly report ranks
    them (:func:`custlab.clv.checks.ranking_values`: the observed return rate where the method gives no P(alive))."""
    from custlab import clv
    from custlab.clv.checks import ranking_values

    choice = clv.choose_model(history, as_of=as_of)
    if choice.purchase_model is None:
        notes.append("No purchase model beat the naive baseline on the holdout: P(alive) is the share of past silences "
                     "as long as the customer's that ended in an order, and expected spend her average order.")
    else:
        notes.append(f"P(alive) and expected spend from {choice.model} ({'trusted' if choice.trusted else 'not trusted'}).")
        if choice.model == "BG/NBD":
            notes.append("For one-time buyers, whom BG/NBD counts alive whatever their silence, P(alive) is the share "
                         "of past silences as long as theirs that ended in an order.")
    result = choice.clv(months=12, annual_discount_rate=0.0)
    return ranking_values(result, history, as_of).select("customer_id", "p_alive", "expected_spend", "modelled")


def _birth_months(customers: Frame | None) -> pl.DataFrame | None:
    if customers is None:
        return None
    check_frame(customers, argument="customers")
    names = customers.collect_schema().names()
    if "birth_date" in names:
        dtype = customers.collect_schema()["birth_date"]
        if not dtype.is_temporal():
            raise CustlabError(f"birth_date of the customers table is {dtype}, not a date: read the table with "
                               f"custlab.data.validate(customers, table='customers') (it parses dates), or pass "
                               f"birth_month (1-12) instead.")
        month = pl.col("birth_date").cast(pl.Date).dt.month()
    elif "birth_month" in names:
        month = pl.col("birth_month").cast(pl.Int64, strict=False)
    else:
        return None
    out = customers.lazy().select("customer_id", _birth_month=month).drop_nulls().collect()
    bad = out.filter(~pl.col("_birth_month").is_between(1, 12))
    if bad.height:
        raise CustlabError(f"birth_month must be 1 to 12; {bad.height:,} customer(s) have other values, e.g. "
                           f"{bad['_birth_month'].head(3).to_list()}.")
    return out.unique("customer_id", keep="first")


def _channels(history: pl.DataFrame) -> pl.DataFrame | None:
    if "channel" not in history.columns:
        return None
    return (history.drop_nulls("channel").group_by("customer_id", "channel").agg(_n=pl.len())
            .sort(["customer_id", "_n", "channel"], descending=[False, True, False])
            .unique("customer_id", keep="first").select("customer_id", pl.col("channel").cast(pl.String)))


def _price_matched(history: pl.DataFrame, recs: pl.DataFrame) -> pl.DataFrame:
    """Per customer, the recommendation (top five) whose median line amount is nearest their average order."""
    price = history.group_by(pl.col("product_id").cast(pl.String)).agg(_price=pl.col("amount").median())
    aov = history.group_by("customer_id").agg(_aov=pl.col("amount").sum() / pl.col("order_id").n_unique())
    return (recs.filter(pl.col("rank") <= 5).join(price, on="product_id", how="left").join(aov, on="customer_id")
            .with_columns(_gap=(pl.col("_price") - pl.col("_aov")).abs())
            .sort(["customer_id", "_gap", "rank"], nulls_last=True).unique("customer_id", keep="first")
            .select("customer_id", gift_id="product_id", gift_name="product_name"))


def _history(transactions: Frame, as_of: DateLike | None, language: str) -> tuple[pl.DataFrame, dt.datetime]:
    """The checked order lines before ``as_of`` and ``as_of`` itself (default: the midnight after the last order)."""
    check_language(language)
    check_frame(transactions, argument="transactions")
    require_columns(transactions, ["customer_id", "order_id", "order_date", "amount", "product_id"],
                    table="transactions", purpose="for the next best action")
    history = naive_datetimes(transactions).lazy().drop_nulls(["customer_id", "order_date"]).collect()
    end = as_datetime(as_of, "as_of") or as_of_after(history["order_date"].max())
    return history.filter(pl.col("order_date") < end), end


def nba_recommendations(
    transactions: Frame,
    *,
    as_of: DateLike | None = None,
    model: str = "default",
    language: Language = "en",
    customers: pl.Series | None = None,
) -> pl.DataFrame:
    """The product lists :func:`next_best_action` picks its products from when it is given none.

    :func:`custlab.recommend.recommend` with ``model``, five products per
    customer of the history before ``as_of`` (or per id of ``customers``), no
    repeat-purchase reminders (the action has its own). Computed on its own,
    e.g. beside other work, and passed as ``recommendations=``, it gives the
    same actions as leaving it to :func:`next_best_action`.

    Returns
    -------
    polars DataFrame
        ``customer_id, rank, product_id, product_name, score, reason``.
    """
    history, end = _history(transactions, as_of, language)
    if customers is not None:
        ids = match_ids({"transactions": history, "customers": customers})
        history, customers = ids["transactions"], ids["customers"]
    return _lists(history, end, model, language, history["customer_id"] if customers is None else customers)


def _lists(history: pl.DataFrame, end: dt.datetime, model: str, language: str, customers: pl.Series) -> pl.DataFrame:
    """:func:`nba_recommendations` of the checked ``history`` before ``end`` for the distinct ``customers``."""
    from custlab.recommend.api import recommend

    return recommend(history, k=5, model=model, customers=customers.unique(), as_of=end, replenish=False,
                     language=language)


def next_best_action(
    transactions: Frame,
    *,
    as_of: DateLike | None = None,
    customers: Frame | None = None,
    values: Frame | None = None,
    risk: Frame | None = None,
    recommendations: Frame | None = None,
    response_rates: Mapping[str, float] | float | None = None,
    risk_threshold: float = 0.5,
    dormant_days: int = 60,
    model: str = "default",
    default_channel: str = "email",
    language: Language = "en",
) -> NextBestActions:
    """One next best action per customer (module docstring).

    Parameters
    ----------
    transactions : polars DataFrame or LazyFrame
        Clean canonical transactions (``customer_id``, ``order_id``, ``order_date``, ``amount``, ``product_id``;
        ``product_name`` and ``channel`` are used when present).
    as_of : date, datetime or ISO text, optional
        The first instant not in the history (:mod:`custlab._dates`); default the midnight after the last order.
    customers : polars DataFrame, optional
        The customers table; ``birth_date`` (or ``birth_month``, 1-12) enables birthday offers.
    values : polars DataFrame, optional
        ``customer_id``, ``p_alive``, ``expected_spend`` (e.g. a :class:`custlab.clv.CLVResult`'s ``values``);
        default from :func:`custlab.clv.choose_model`.
    risk : polars DataFrame, optional
        ``customer_id``, ``p_churn`` (e.g. :func:`custlab.churn.early_warning` ``.to_frame()``), optionally
        ``observed`` (Boolean: the risk is 1 - the observed return rate, and the reason says so); default
        ``1 - p_alive``.
    recommendations : polars DataFrame, optional
        Output of :func:`custlab.recommend.recommend` (default: :func:`nba_recommendations` with ``model``).
    response_rates : mapping or float, optional
        Assumed response rate by action id (keys of :data:`RESPONSE_RATES` and the playbook's action ids;
        ``"other"`` for the rest), or one rate for every action.
    risk_threshold : float, default 0.5
        Churn risk from which a High value or Potential customer gets a retention offer.
    dormant_days : int, default 60
        Recency gate of the value tiers (:func:`custlab.segments.value_tier_rules`).
    model : str, default "default"
        Recommender for ``recommendations``.
    default_channel : str, default "email"
        Channel for customers without a ``channel`` in their orders.
    language : {"en", "zh"}

    Returns
    -------
    NextBestActions
    """
    from custlab import segments as sg
    from custlab.recommend.replenish import replenishment_due

    if not 0 <= risk_threshold <= 1:
        raise CustlabError(f"risk_threshold must be between 0 and 1, got {risk_threshold!r}.")
    ids = match_ids({"transactions": transactions, "customers": customers, "values": values, "risk": risk,
                     "recommendations": recommendations})
    transactions, customers, values, risk, recommendations = (
        ids[name] for name in ("transactions", "customers", "values", "risk", "recommendations"))
    rates = _rates(response_rates)
    history, end = _history(transactions, as_of, language)
    notes: list[str] = []
    rfm = sg.rfm_table(history, as_of=end)
    tiers = sg.rfm_segments(sg.rfm_scores(rfm), rules=sg.value_tier_rules(dormant_days=dormant_days),
                            language="en").select("customer_id", pl.col("segment").cast(pl.String), "recency")
    people = tiers.join(sg.PLAYBOOK.select("segment", "action_id", "action"), on="segment", how="left")
    worth = _values(history, end, notes) if values is None else \
        values.lazy().select("customer_id", "p_alive", "expected_spend").collect().with_columns(modelled=pl.lit(True))
    # a customer without a values row has no P(alive) at all: her risk is not an observed return rate either
    people = people.join(worth, on="customer_id", how="left").with_columns(
        pl.col("p_alive").fill_null(0.0), pl.col("expected_spend").fill_null(0.0),
        _observed=(~pl.col("modelled")).fill_null(False), _valued=pl.col("modelled").is_not_null())
    if risk is None:  # no risk (null) for a customer ``values`` leaves out, not 1 - a P(alive) of 0
        people = people.with_columns(p_churn=pl.when("_valued").then(1.0 - pl.col("p_alive")))
        notes.append("Churn risk is 1 - P(alive); pass risk= (e.g. custlab.churn.early_warning) for the "
                     "repurchase model's risk.")
    else:  # an ``observed`` column marks risks that are 1 - the observed return rate (the reason then says so)
        observed = pl.col("observed") if "observed" in risk.collect_schema().names() else pl.lit(False)
        people = people.drop("_observed").join(
            risk.lazy().select("customer_id", "p_churn", _observed=observed).collect(), on="customer_id", how="left",
        ).with_columns(pl.col("p_churn").fill_null(0.0), pl.col("_observed").fill_null(False))
    if recommendations is None:
        recommendations = _lists(history, end, model, language, people["customer_id"])
    best = recommendations.filter(pl.col("rank") == 1).select("customer_id", "product_id", "product_name",
                                                               _rec_reason="reason")
    people = people.join(best, on="customer_id", how="left")
    due = replenishment_due(history, as_of=end, language=language)
    if due.height:
        names = history.select(pl.col("product_id").cast(pl.String), "product_name").unique("product_id") \
            if "product_name" in history.columns else None
        first_due = due.unique("customer_id", keep="first", maintain_order=True).select(
            "customer_id", due_id="product_id", _due_reason="reason")
        if names is not None:
            first_due = first_due.join(names.rename({"product_id": "due_id", "product_name": "due_name"}),
                                       on="due_id", how="left")
        people = people.join(first_due, on="customer_id", how="left")
    for column in ("due_id", "due_name", "_due_reason"):
        if column not in people.columns:
            people = people.with_columns(pl.lit(None, dtype=pl.String).alias(column))
    births = _birth_months(customers)
    people = people.with_columns(_birthday=pl.lit(False))
    if births is not None:
        people = (people.join(births, on="customer_id", how="left")
                  .with_columns(_birthday=(pl.col("_birth_month") == end.month).fill_null(False))
                  .join(_price_matched(history, recommendations), on="customer_id", how="left"))
    channels = _channels(history)
    people = people.join(channels, on="customer_id", how="left") if channels is not None else \
        people.with_columns(channel=pl.lit(None, dtype=pl.String))
    return NextBestActions(_decide(people, rates, risk_threshold, default_channel, end, language), end,
                           language, tuple(notes))


def _decide(people: pl.DataFrame, rates: dict[str, float], risk_threshold: float, default_channel: str,
            end: dt.datetime, language: str) -> pl.DataFrame:
    birthday = pl.col("_birthday")
    due = pl.col("due_id").is_not_null() & ~birthday
    at_risk = (pl.col("p_churn") >= risk_threshold).fill_null(False) & pl.col("segment").is_in(KEEP_TIERS) & ~birthday \
        & ~due
    action_id = (pl.when(birthday).then(pl.lit("birthday_offer")).when(due).then(pl.lit("replenish_reminder"))
                 .when(at_risk).then(pl.lit("retention_offer")).otherwise(pl.col("action_id")))
    for column in ("gift_id", "gift_name"):
        if column not in people.columns:
            people = people.with_columns(pl.lit(None, dtype=pl.String).alias(column))
    gift = birthday & pl.col("gift_id").is_not_null()
    product_id = (pl.when(gift).then(pl.col("gift_id")).when(due).then(pl.col("due_id"))
                  .otherwise(pl.col("product_id")))
    product_name = (pl.when(gift).then(pl.col("gift_name")).when(due).then(pl.col("due_name"))
                    .otherwise(pl.col("product_name")).fill_null(product_id))
    out = people.with_columns(action_id=action_id, _product_id=product_id, _product_name=product_name,
                              _at_risk=at_risk, _due=due)
    own = {key: t(f"recommend.action.{key}", language) for key in ("birthday_offer", "replenish_reminder",
                                                                   "retention_offer")}
    playbook_action = translate_values(pl.col("action"), language) if language != "en" else pl.col("action")
    out = out.with_columns(
        action=pl.col("action_id").replace_strict(own, default=playbook_action, return_dtype=pl.String),
        response_rate=pl.col("action_id").replace_strict(rates, default=rates["other"], return_dtype=pl.Float64),
        # the channel is a routing code, as the orders spell it, in every language: a translated default ("邮件")
        # beside the data's own codes ("app", "web") split one channel column into two vocabularies
        channel=pl.col("channel").fill_null(pl.lit(default_channel)),
    ).with_columns(expected_value=pl.col("p_alive") * pl.col("expected_spend") * pl.col("response_rate"))
    reasons = []
    month = t(f"recommend.month.{end.month}", language)
    for row in out.iter_rows(named=True):
        segment = label(row["segment"], language)
        product = row["_product_name"] or ""
        if row["action_id"] == "birthday_offer":
            text = t("recommend.nba.reason.birthday", language, month=month, product=product,
                     spend=f"{row['expected_spend']:,.2f}")
        elif row["_due"]:
            text = row["_due_reason"] or ""
        elif row["_at_risk"] and row["_observed"]:  # the risk is 1 - the observed return rate: say so
            text = t("recommend.nba.reason.risk_observed", language, back=share_text(1.0 - row["p_churn"]),
                     segment=segment, days=f"{row['recency']:,}", product=product)
        elif row["_at_risk"]:
            text = t("recommend.nba.reason.risk", language, p=share_text(row["p_churn"]), segment=segment,
                     days=f"{row['recency']:,}", product=product)
        else:
            text = t("recommend.nba.reason.playbook", language, segment=segment, product=product,
                     p=share_text(row["p_alive"]))
        reasons.append(text)
    out = out.with_columns(reason=pl.Series(reasons, dtype=pl.String),
                           segment=translate_values(pl.col("segment"), language) if language != "en"
                           else pl.col("segment"))
    out = out.sort(["expected_value", "customer_id"], descending=[True, False]).with_columns(
        priority=pl.int_range(1, pl.len() + 1, dtype=pl.Int64),
        product_id=pl.col("_product_id").cast(pl.String), product_name=pl.col("_product_name").cast(pl.String))
    return out.select(NBA_COLUMNS).with_columns(
        pl.col("p_alive", "p_churn", "expected_spend", "expected_value").fill_nan(0.0).cast(pl.Float64))


@in_language_font
def plot_next_best_actions(actions: NextBestActions, *, ax=None, language: Language = "en"):
    """Expected value and customers per action (bars, most value first); returns the Figure."""
    check_language(language)
    summary = actions.summary.sort("expected_value")
    fig, ax = figure_axes(ax, figsize=(7.0, 0.6 + 0.45 * max(summary.height, 1)))
    names = [t(f"recommend.action.{a}", language) if a in RESPONSE_RATES else label(n, language)
             for a, n in summary.select("action_id", "action").iter_rows()]
    bars = ax.barh(names, summary["expected_value"].to_numpy(), color=PALETTE[0])
    for bar, n in zip(bars, summary["customers"].to_list()):
        ax.annotate(t("recommend.nba.customers", language, n=f"{n:,}"), (bar.get_width(), bar.get_y() + bar.get_height() / 2),
                    xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)
    ax.set_xlabel(t("recommend.nba.value_axis", language))
    ax.set_title(t("recommend.nba.title", language, date=f"{actions.as_of:%Y-%m-%d}"))
    return fig
