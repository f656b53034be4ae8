"""Customer lifetime value: the method the data choose, what the figure is, and how sure it is.

The choice is :func:`custlab.clv.choose_model`'s: BG/NBD, MBG/NBD and
Pareto/NBD are fitted on a calibration period inside the data, each fit is
judged (parameters at a bound, a dropout the silences contradict), and their
predictions of every customer's repeat purchases in the holdout weeks that
follow are compared with the naive baseline (each customer keeps her past
rate). The best trusted model that beats the baseline is used; when none
does, the historical formula is, and the page says so in those words. The
value is :meth:`custlab.clv.ModelChoice.clv`: revenue unless ``--margin``
is given, discounted monthly, with a 90% interval for the total.

Month over month, the change of the total is split with
:class:`custlab.clv.CLVChange`: last month's customers (the history before
this month) valued with this month's model. When that explains more of the
change than the customers' own purchases and silences, the change is
labelled a refit. Only last month's stored key figures are needed.
"""

from __future__ import annotations

import warnings
from functools import partial
from typing import Any

import polars as pl

from custlab._types import LANGUAGES
from custlab.clv.checks import empirical_alive, ranking_values
from custlab.report.context import Context
from custlab.report.figures_customers import segment_table
from custlab.report.parts import Absent, Chart, Finding, SectionFigures, Table
from custlab.report.text import PP, Change, Count, Day, Label, Lang, Money, Pct, Text

__all__ = ["BIAS_NOTED", "FREQ", "HISTORICAL", "MIN_HISTORY_DAYS", "bias_text", "clv", "clv_choice", "clv_values",
           "customer_values", "empirical_alive", "history_days", "holdout_bias", "one_time_buyers_only"]

#: Name of the historical method in tables and key figures.
HISTORICAL = "historical"
#: Time unit of the CLV models.
FREQ = "W"
#: Days of history a CLV needs: three months, so that a model can be judged on weeks it was not fitted on.
MIN_HISTORY_DAYS = 90
#: Silences of ``inactivity_days`` or more the data must hold before the report says how often they ended.
MIN_SILENCES = 50
#: Error of the holdout total (either way) from which the first findings and the KPI tile repeat it.
BIAS_NOTED = 0.05
#: Settings that must agree with last month's for the change to be split into refit and customers.
_SAME_SETTINGS = ("months", "annual_discount_rate", "margin", "freq")


# -- the choice and the values (cached: several sections use them) -----------------------------------------------
def clv_choice(ctx: Context) -> Any:
    """:func:`custlab.clv.choose_model` at ``as_of`` (cached); None when the history is too short for a holdout."""
    return ctx.cached("clv_choice", lambda: _choose(ctx))


def _choose(ctx: Context) -> Any:
    from custlab import clv as cl_clv
    from custlab.exceptions import EmptyDataError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", cl_clv.CLVWarning)  # what the warnings say, why() says
            return cl_clv.choose_model(ctx.history, as_of=ctx.as_of, freq=FREQ)
    except EmptyDataError:  # under four weeks of history: no holdout to judge a model on
        return None


def history_days(ctx: Context) -> int:
    """Days of history before ``as_of`` (from the first order's day)."""
    return (ctx.as_of.date() - ctx.first_date).days if ctx.first_date else 0


def _short(ctx: Context) -> Absent | None:
    """The section left out when the history is too short to judge a model on a holdout period."""
    days = history_days(ctx)
    if days >= MIN_HISTORY_DAYS:
        return None
    return Absent(Text("report.absent.clv_short", {"days": Count(days), "need": Count(MIN_HISTORY_DAYS)}),
                  Text("report.absent.clv_short_fix", {}))


def one_time_buyers_only(ctx: Context) -> int | None:
    """The number of customers when not one has ordered on a second day yet (cached), else None: every value and
    every chance of ordering again is then 0 (Olist 2017-02, 270 one-time buyers)."""
    def count() -> int | None:
        days = ctx.history.group_by("customer_id").agg(pl.col("order_date").dt.date().n_unique().alias("days"))
        return days.height if days.height and days["days"].max() < 2 else None

    return ctx.cached("one_time_buyers_only", count)


def _no_repeat(ctx: Context) -> Absent | None:
    """The section left out when no customer has bought on two days yet (it read "Expected 12-month value R$0.00",
    checked and trusted)."""
    customers = one_time_buyers_only(ctx)
    if customers is None:
        return None
    return Absent(Text("report.absent.clv_no_repeat", {"customers": Count(customers)}),
                  Text("report.absent.clv_no_repeat_fix", {}))


def _unavailable(ctx: Context) -> Absent | None:
    """Why no lifetime value can be given this month (too short a history, no repeat purchase yet), or None."""
    return _short(ctx) or _no_repeat(ctx)


def clv_values(ctx: Context) -> Any:
    """This month's :class:`custlab.clv.CLVResult` (cached): the chosen method, or the historical formula.

    Raises :class:`~custlab.report.parts.Absent` when the history is shorter than :data:`MIN_HISTORY_DAYS`.
    """
    short = _unavailable(ctx)
    if short is not None:
        raise short
    return ctx.cached("clv", lambda: _values(ctx))


def _values(ctx: Context) -> Any:
    from custlab import clv as cl_clv

    settings = {"months": ctx.setting("clv_months"), "annual_discount_rate": ctx.setting("annual_discount_rate"),
                "margin": ctx.margin}
    choice = clv_choice(ctx)
    if choice is not None:
        return choice.clv(**settings)
    summary = cl_clv.clv_summary(ctx.history, as_of=ctx.as_of, freq=FREQ)
    return cl_clv.estimate_clv(summary, None, cl_clv.ObservedSpend().fit(summary), freq=FREQ, trusted=False,
                               **settings)


def customer_values(ctx: Context) -> pl.DataFrame:
    """Every customer's ``clv``, ``p_alive`` and ``expected_spend`` (cached), for the lists and actions: this
    month's CLV as :func:`custlab.clv.checks.ranking_values` ranks it (the observed return rate where the method
    gives no P(alive)); no value when the history is too short or has no repeat purchase."""
    return ctx.cached("customer_values", lambda: ranking_values(
        clv_values(ctx) if _unavailable(ctx) is None else None, ctx.history, ctx.as_of))


# -- the section -------------------------------------------------------------------------------------------------
def clv(ctx: Context) -> SectionFigures:
    """Section "Customer lifetime value": the value, what it is, the method the holdout chose and why."""
    result = clv_values(ctx)
    choice = clv_choice(ctx)
    seg = segment_table(ctx).select("customer_id", "segment", "recency")
    values = result.values.select("customer_id", "clv", "p_alive").join(seg, on="customer_id", how="left")
    total, months = result.total, result.months
    paragraphs: list[Any] = [_total_sentence(ctx, result)]
    bias = holdout_bias(choice, result.model)
    if choice is not None:
        paragraphs.append(Lang({lang: choice.why(lang) for lang in LANGUAGES}))
        if bias is not None:
            paragraphs.append(_bias_sentence(choice, result.model, bias))
    else:
        paragraphs.append(Text("report.clv.no_holdout", {}))
    historical = result.model == HISTORICAL
    caveat = _historical_caveat(ctx, values, total) if historical else _alive_vs_churn(ctx, values)
    if caveat is not None:
        paragraphs.append(caveat)
    once = _one_time_alive(ctx, result, values) if not historical else one_time_zero(result)
    if once is not None:
        paragraphs.append(once)
    change = _change(ctx, result)
    if change is not None:
        paragraphs.append(_change_sentence(change))
    tables: list[Table] = []
    if choice is not None and choice.holdout.height:
        tables.append(_holdout_table(choice))
    by_segment = (values.group_by("segment").agg(customers=pl.len(), clv_total=pl.col("clv").sum(),
                                                 clv_mean=pl.col("clv").mean(),
                                                 p_alive_model=pl.col("p_alive").mean())  # the lists' may differ
                  .sort("clv_total", "segment", descending=[True, False]))
    formats = {"segment": "label", "customers": "count", "clv_total": "money", "clv_mean": "money"}
    tables.append(Table(Text("report.clv.segment_table", {}), by_segment,
                        formats if historical else {**formats, "p_alive_model": "pct"}))
    charts = ()
    if choice is not None and choice.tracking.height and choice.tracking_model:
        title = "report.clv.tracking_title" if choice.tracking_model == result.model else "report.clv.tracking_unused"
        charts = (Chart("clv_tracking", Text(title, {"model": Label(choice.tracking_model)}),
                        partial(_draw_tracking, choice.tracking)),)
    findings = []
    lead = by_segment.row(0, named=True) if by_segment.height else None
    if lead is not None and total > 0:
        fields = {"total": Money(total), "months": Count(months), "segment": Label(lead["segment"]),
                  "share": Pct(lead["clv_total"] / total)}
        # read here first, so with the holdout's direction when it missed by much (the tile says it too)
        noted = bias_text(choice.holdout_weeks if choice is not None else None, bias)
        finding = (Text("report.finding.clv_bias", {**fields, "bias": noted}) if noted is not None
                   else Text("report.finding.clv", fields))
        findings.append(Finding(finding, 0.1 * total, "clv"))
    out_values = _key_values(result, choice, change, values, bias)
    notes = (Text("report.clv.note", {"months": Count(months)}),)
    return SectionFigures("clv", tuple(paragraphs), tuple(tables), charts, out_values, tuple(findings), notes=notes)


def _total_sentence(ctx: Context, result) -> Text:
    basis = Text("report.clv.margin", {"margin": Pct(result.margin)}) if result.margin else Text("report.clv.revenue", {})
    fields = {"months": Count(result.months), "total": Money(result.total),
              "mean": Money(result.total / result.customers if result.customers else None), "basis": basis,
              "rate": Pct(result.annual_discount_rate, 0)}
    if result.interval is not None:
        low, high = result.interval
        return Text("report.clv.total_interval", {**fields, "low": Money(low), "high": Money(high)})
    return Text("report.clv.total_no_interval", fields)


def _holdout_table(choice) -> Table:
    status = {"ok": "fitted", "baseline": "baseline"}
    chosen = choice.model if choice.model != HISTORICAL else "naive"
    shown = choice.summary.with_columns(
        status=pl.col("status").replace_strict(status, default=pl.lit("did not converge")),
        verdict=pl.when(pl.col("model") == "naive").then(pl.lit(""))
        .when(pl.col("trusted")).then(pl.lit("checks passed")).otherwise(pl.lit("checks failed")),
        chosen=pl.when(pl.col("model") == chosen).then(pl.lit("✓")).otherwise(pl.lit("")),
    )
    caption = Text("report.clv.holdout_table", {"end": Day(choice.calibration_end),
                                                "weeks": Count(round(choice.holdout_weeks))})
    return Table(caption, shown, {"model": "label", "status": "label", "mae": "sig3", "rmse": "sig3",
                                  "total_error": "change", "verdict": "label", "chosen": "data"})


def holdout_bias(choice, model: str) -> float | None:
    """The holdout's error of the total for the method used (the naive baseline's for the historical formula):
    predicted / actual repeat orders - 1, negative when it predicted too few; None without a holdout or an actual
    order in it."""
    if choice is None or not choice.holdout.height:
        return None
    name = "naive" if model == HISTORICAL else model
    row = choice.holdout.filter(pl.col("model") == name)
    value = row["total_error"][0] if row.height else None
    return float(value) if value is not None and value == value else None


def _bias_sentence(choice, model: str, bias: float) -> Text:
    """How the method used did on the weeks held out, in words: too few repeat orders, too many, or about right
    (Online Retail 2011-11: the past rates said "an upper bound" while predicting 28.6% too few)."""
    method = Text("report.clv.past_rates", {}) if model == HISTORICAL else Label(model)
    key = ("report.clv.holdout_close" if abs(bias) < BIAS_NOTED
           else "report.clv.holdout_under" if bias < 0 else "report.clv.holdout_over")
    return Text(key, {"method": method, "weeks": Count(round(choice.holdout_weeks)), "error": Pct(abs(bias))})


def bias_text(weeks: float | None, bias: float | None) -> Text | None:
    """The holdout's direction in a few words (for the findings and the KPI tile), when the method used missed the
    total of the ``weeks`` held out by :data:`BIAS_NOTED` or more; else None."""
    if weeks is None or bias is None or abs(bias) < BIAS_NOTED:
        return None
    key = "report.clv.bias_under" if bias < 0 else "report.clv.bias_over"
    return Text(key, {"weeks": Count(round(weeks)), "error": Pct(abs(bias))})


def _key_values(result, choice, change, values: pl.DataFrame, bias: float | None = None) -> dict[str, Any]:
    """What ``key_figures.json`` keeps of the CLV: enough to split next month's change and to audit the choice."""
    out: dict[str, Any] = {
        # "trusted" as the page says it: a model that passed its checks and beat the naive baseline on the holdout;
        # the historical formula stands in when none did ("no model passed the holdout"), so it is never trusted
        # (Online Retail II 2010-03: trusted, with the holdout total 43.1% short); "checks_passed" is the method's
        # own verdict (:attr:`custlab.clv.ModelChoice.trusted`)
        "clv_total": result.total, "method": result.model, "trusted": bool(result.trusted and result.model != HISTORICAL),
        "checks_passed": bool(result.trusted), "months": result.months,
        "annual_discount_rate": result.annual_discount_rate, "margin": result.margin, "freq": result.freq,
        "basis": result.basis, "customers": result.customers,
        "params": dict(result.purchase_model.params_) if result.purchase_model is not None else {},
        "refit_note": bool(change is not None and change.from_refit),
        # "trusted" says the method passed its checks; the historical formula, chosen when no model beat the naive
        # baseline, passes them and still cannot tell who has left: its value reads as an upper bound, unless the
        # holdout shows it predicting too few orders (Online Retail 2011-11: 28.6% too few)
        "upper_bound": result.model == HISTORICAL and not (bias is not None and bias <= -BIAS_NOTED),
    }
    if bias is not None:  # strict JSON holds no null: absent without a holdout
        out["holdout_total_error"] = bias
    if result.interval is not None:
        out["interval_low"], out["interval_high"] = result.interval
    if choice is not None:
        rows = {r["model"]: r for r in choice.holdout.iter_rows(named=True)}
        out["choice"] = choice.reasons[0][0] if choice.reasons else ""
        out["holdout_weeks"] = choice.holdout_weeks
        out["holdout_mae"] = {name: row["mae"] for name, row in rows.items()}
    else:
        out["choice"] = "no_holdout"
    if change is not None:
        out["change"] = {"previous": change.previous, "refit": change.refit, "customers": change.customers_part}
    if result.model != HISTORICAL:
        out["p_alive_mean"] = float(values["p_alive"].mean()) if values.height else None
    return out


# -- month over month ----------------------------------------------------------------------------------------
def _change(ctx: Context, result):
    """The change since last month split into refit and customers (:class:`custlab.clv.CLVChange`), or None."""
    before = ((ctx.previous or {}).get("sections") or {}).get("clv") or {}
    if not before or "clv_total" not in before or ctx.month.partial:
        return None
    now = {"months": result.months, "annual_discount_rate": result.annual_discount_rate, "margin": result.margin,
           "freq": result.freq}
    if any(before.get(name) != now[name] for name in _SAME_SETTINGS):
        return None  # other settings last month: the difference would be mixed into the split
    from custlab import clv as cl_clv

    last_month = cl_clv.clv_summary(ctx.history, as_of=ctx.start, freq=result.freq)
    same_customers = result.revalue(last_month)
    return cl_clv.CLVChange(float(before["clv_total"]), result.total, same_customers,
                            str(before.get("method", result.model)), result.model)


def _change_sentence(change) -> Text:
    fields = {"change": Change(change.relative), "previous": Money(change.previous), "current": Money(change.current),
              "refit": Money(change.refit, signed=True), "customers": Money(change.customers_part, signed=True)}
    text = Text("report.clv.change_refit" if change.from_refit else "report.clv.change_customers", fields)
    if change.previous_model != change.current_model:
        return Text("report.clv.change_and_method", {"change": text, "before": Label(change.previous_model),
                                                      "after": Label(change.current_model)})
    return text


# -- sentences that keep CLV and churn from contradicting each other ---------------------------------------------
def _observed(ctx: Context, silent: pl.DataFrame, days: int) -> float | None:
    """Mean share of past silences as long as these customers' that ended in an order; None when the data
    hold fewer than :data:`MIN_SILENCES` silences of ``days`` or more (too short a history to say)."""
    dates = ctx.history.select("customer_id", day=pl.col("order_date").dt.date()).unique()
    gaps = dates.sort("customer_id", "day").select(
        gap=(pl.col("day").shift(-1).over("customer_id") - pl.col("day")).dt.total_days())
    silences = int((gaps["gap"] >= days).sum()) + silent.height
    if silences < MIN_SILENCES or (ctx.as_of.date() - ctx.first_date).days < 2 * days:
        return None
    alive = empirical_alive(ctx.history, ctx.as_of).join(silent.select("customer_id"), on="customer_id")
    return float(alive["p_alive"].mean())


def _alive_vs_churn(ctx: Context, values: pl.DataFrame) -> Text | None:
    """A sentence when the model's P(alive) for long-silent customers disagrees with how often they return."""
    days = ctx.setting("inactivity_days")
    silent = values.filter(pl.col("recency") >= days, pl.col("p_alive").is_not_null())
    if silent.height < 20:
        return None
    model_alive = float(silent["p_alive"].mean())
    observed = _observed(ctx, silent, days)
    if observed is None or abs(model_alive - observed) < 0.2:
        return None
    return Text("report.clv.alive_vs_churn", {"days": Count(days), "model": Pct(model_alive),
                                              "observed": Pct(observed), "gap": PP(model_alive - observed)})


def _one_time_alive(ctx: Context, result, values: pl.DataFrame) -> Text | None:
    """BG/NBD lets a customer leave only after a repeat purchase: say that its one-time buyers count as alive."""
    if result.model != "BG/NBD":
        return None
    once = result.values.filter(pl.col("frequency") == 0)
    if once.height == 0:
        return None
    observed = customer_values(ctx).join(once.select("customer_id"), on="customer_id")["p_alive"].mean()
    return Text("report.clv.bgnbd_one_time_lists", {"n": Count(once.height), "value": Money(float(once["clv"].sum())),
                                                    "observed": Pct(observed)})


def one_time_zero(result: Any) -> Text | None:
    """Under the historical formula a one-time buyer has no rate of her own and is worth 0: say how many (Online
    Retail II 2010-03: 1,206 of 2,145 customers, while the action lists gave them a P(alive) of 42.6%). A rate
    pooled over all customers was tried and valued Online Retail II's 1,498 one-time buyers at 2010-12-01 at
    £1.27M for the next year, where they spent £444k in Online Retail's next year: not kept."""
    if result.model != HISTORICAL or "frequency" not in result.values.columns or not result.values.height:
        return None
    n = int((result.values["frequency"] == 0).sum())
    if n == 0:
        return None
    return Text("report.clv.one_time_zero", {"n": Count(n), "share": Pct(n / result.values.height)})


def _historical_caveat(ctx: Context, values: pl.DataFrame, total: float) -> Text | None:
    """The historical formula does not know who has left: say how much of the value long-silent customers hold."""
    days = ctx.setting("inactivity_days")
    silent = values.filter(pl.col("recency") >= days)
    held = float(silent["clv"].sum())
    if silent.height < 20 or total <= 0 or held <= 0:
        return None
    observed = _observed(ctx, silent, days)
    if observed is None:
        return Text("report.clv.historical_caveat_short", {"days": Count(days), "n": Count(silent.height),
                                                           "value": Money(held), "share": Pct(held / total)})
    return Text("report.clv.historical_caveat", {"days": Count(days), "n": Count(silent.height),
                                                 "value": Money(held), "share": Pct(held / total),
                                                 "observed": Pct(observed)})


def _draw_tracking(table: pl.DataFrame, language: str):
    """:func:`custlab.clv.plot_tracking`, its counts of orders written with thousands separators (10,500)."""
    from custlab import clv as cl_clv
    from custlab.report.charts import count_axis

    fig = cl_clv.plot_tracking(table, language=language)
    count_axis(fig.axes[0], language)
    return fig
