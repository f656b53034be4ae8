"""Value tiers and customer lifetime value: who is worth what, and how sure the report is of it.

Segments are the value tiers of :func:`custlab.segments.value_tier_rules` on
RFM at the month's ``as_of``. CLV is chosen, not assumed: BG/NBD, MBG/NBD and
Pareto/NBD are fitted on a calibration period inside the data and judged on
the holdout that follows it against the naive baseline (every customer keeps
buying at her past rate); the model with the smallest error that beats the
baseline and whose fit is sound is used, with the parameters checked on the
holdout (one fit per model), on every customer's whole history. When no
model beats the baseline the report says so and uses the historical value
(the baseline itself carried forward), with P(alive) estimated from how often
silences of the same length ended in a new order.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from dataclasses import dataclass
from functools import partial

import numpy as np
import polars as pl

from custlab._i18n import translate_values
from custlab.report.context import Context
from custlab.report.exports_tables import finish_export
from custlab.report.parts import Chart, Finding, SectionFigures, Table
from custlab.report.text import PP, Change, Count, Data, Days, Label, Money, Num, Pct, Text, render

__all__ = ["ClvResult", "clv", "clv_values", "empirical_alive", "segment_table", "segments"]

#: Name of the historical method in tables.
HISTORICAL = "historical"
#: Model parameters written as the papers write them.
_GREEK = {"alpha": "α", "beta": "β", "gamma": "γ"}


# -- segments ------------------------------------------------------------------------------------------------
def segment_table(ctx: Context) -> pl.DataFrame:
    """Every customer's value tier at ``as_of``: RFM columns, scores, ``segment`` (English labels)."""
    from custlab import segments as sg

    def build() -> pl.DataFrame:
        rfm = sg.rfm_table(ctx.history, as_of=ctx.as_of)
        scores = sg.rfm_scores(rfm)
        rules = sg.value_tier_rules(dormant_days=ctx.setting("dormant_days"))  # recency gates every tier
        return sg.rfm_segments(scores, rules=rules, language="en").with_columns(pl.col("segment").cast(pl.String))

    return ctx.cached("segments", build)


def _segment_reason(ctx: Context, frame: pl.DataFrame) -> pl.Series:
    language = ctx.language
    return pl.Series([
        render(Text("report.reason.segment", {"segment": Label(s), "orders": Count(f), "spend": Money(m, compact=False),
                                              "days": Days(r)}), language, ctx.currency)
        for s, f, m, r in frame.select("segment", "frequency", "monetary", "recency").iter_rows()
    ], dtype=pl.String)


def segments(ctx: Context) -> SectionFigures:
    """Section "Value tiers": sizes, revenue, concentration and movement since last month."""
    from custlab import segments as sg

    seg = segment_table(ctx)
    summary = sg.segment_summary(seg).filter(pl.col("customers") > 0)
    top = sg.top_share(seg)
    dormant_days = ctx.setting("dormant_days")
    paragraphs = [Text("report.segments.line", {"segment": Label(r["segment"]), "customers": Count(r["customers"]),
                                                "share": Pct(r["customer_share"]), "rev": Pct(r["revenue_share"]),
                                                "recency": Days(r["median_recency"])})
                  for r in summary.iter_rows(named=True)]
    paragraphs.append(Text("report.segments.concentration", {"top": Pct(top)}))
    lead = summary.sort("revenue", descending=True).row(0, named=True)
    title = Text("report.segments.title", {"segment": Label(lead["segment"]), "share": Pct(lead["customer_share"]),
                                           "rev": Pct(lead["revenue_share"])})
    values = {
        "top_share_50": top, "customers": seg.height,
        "segments": {r["segment"]: {"customers": r["customers"], "customer_share": r["customer_share"],
                                    "revenue_share": r["revenue_share"]} for r in summary.iter_rows(named=True)},
        "high_value_silent": int(seg.filter(pl.col("segment") == "High value",
                                            pl.col("recency") >= dormant_days).height),
    }
    moved = _migration(ctx)
    if moved is not None:
        paragraphs.append(moved)
    findings = []
    lapsed = summary.filter(pl.col("segment").is_in(["Dormant", "Can't lose them", "Can't Lose Them", "At risk"]))
    for r in lapsed.iter_rows(named=True):
        findings.append(Finding(Text("report.finding.lapsed", {
            "segment": Label(r["segment"]), "customers": Count(r["customers"]), "revenue": Money(r["revenue"]),
            "days": Count(dormant_days)}), 0.25 * r["revenue"], "segments"))
    table = Table(Text("report.segments.table", {}), summary,
                  {"segment": "label", "customers": "count", "customer_share": "pct", "revenue": "money",
                   "revenue_share": "pct", "avg_order_value": "money", "median_recency": "days",
                   "median_frequency": "num1"})
    chart = Chart("segments", title, partial(_draw_segments, summary))
    export = seg.select(
        pl.col("customer_id").cast(pl.String), "segment", "recency", "frequency", "monetary",
        *[c for c in ("last_order",) if c in seg.columns],
    )
    export = export.with_columns(reason=_segment_reason(ctx, export), priority=pl.col("monetary"))
    return SectionFigures("segments", tuple(paragraphs), (table,), (chart,), values, tuple(findings),
                          {"segments.csv": finish_export(export, money=("monetary", "priority"))})


def _draw_segments(summary: pl.DataFrame, language: str):
    from custlab import segments as sg

    shown = summary.with_columns(segment=translate_values(pl.col("segment"), language))
    return sg.plot_segment_shares(shown, language=language)


def _snapshot(ctx: Context, as_of: dt.datetime) -> pl.DataFrame:
    from custlab import segments as sg

    rfm = sg.rfm_table(ctx.history.filter(pl.col("order_date") < as_of), as_of=as_of)
    rules = sg.value_tier_rules(dormant_days=ctx.setting("dormant_days"))
    return sg.rfm_segments(sg.rfm_scores(rfm), rules=rules).select("customer_id", "value_rank", "recency", "frequency")


def _migration(ctx: Context) -> Text | None:
    """Movements between tiers since the end of last month (the movements of :func:`custlab.segments.segment_migration`,
    for the one month the report needs), when the data reach back that far."""
    if ctx.previous_window is None:
        return None
    before = _snapshot(ctx, ctx.start)
    now = segment_table(ctx).select("customer_id", "value_rank", "recency", "frequency")
    joined = now.join(before, on="customer_id", how="left", suffix="_prev")
    dormant = ctx.setting("dormant_days")
    counts = joined.select(
        new=pl.col("value_rank_prev").is_null().sum(),
        react=((pl.col("recency_prev") >= dormant) & (pl.col("frequency") > pl.col("frequency_prev"))).sum(),
        up=((pl.col("value_rank") < pl.col("value_rank_prev"))
            & ~((pl.col("recency_prev") >= dormant) & (pl.col("frequency") > pl.col("frequency_prev")))).sum(),
        down=((pl.col("value_rank") > pl.col("value_rank_prev"))
              & ~((pl.col("recency_prev") >= dormant) & (pl.col("frequency") > pl.col("frequency_prev")))).sum(),
    ).row(0, named=True)
    return Text("report.segments.moved", {"up": Count(counts["up"]), "down": Count(counts["down"]),
                                          "react": Count(counts["react"]), "new": Count(counts["new"]),
                                          "days": Count(dormant)})


# -- CLV -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClvResult:
    """The chosen CLV method and its per-customer values."""

    method: str  # model name ("BG/NBD", ...) or HISTORICAL
    reason: str  # "best" | "no_model_beats_naive" | "no_holdout" | "models_failed"
    values: pl.DataFrame  # customer_id, p_alive, expected_spend, clv
    comparison: pl.DataFrame | None  # model, mae, ... on the holdout
    params: dict
    calibration_end: dt.datetime | None
    model: object | None = None
    calibration_model: object | None = None
    problems: str = ""  # why models that beat the baseline were not used


def empirical_alive(history: pl.DataFrame, as_of: dt.datetime) -> pl.DataFrame:
    """P(a customer silent for ``s`` days orders again), from past silences: ``customer_id``, ``p_alive``.

    Of all silences that reached ``s`` days -- gaps between two orders and the
    current open silences -- the share that ended in an order. Open silences
    count as not (yet) ended, so the estimate leans low.
    """
    days = history.select("customer_id", day=pl.col("order_date").dt.date()).unique().sort("customer_id", "day")
    gaps = days.with_columns(gap=(pl.col("day").shift(-1).over("customer_id") - pl.col("day")).dt.total_days())
    closed = np.sort(gaps["gap"].drop_nulls().to_numpy())
    open_ = days.group_by("customer_id").agg(last=pl.col("day").max()).with_columns(
        silent=(pl.lit(as_of.date()) - pl.col("last")).dt.total_days())
    silent = open_["silent"].to_numpy()
    sorted_open = np.sort(silent)
    ended = len(closed) - np.searchsorted(closed, silent, side="left")
    still = len(sorted_open) - np.searchsorted(sorted_open, silent, side="left")
    p = np.where(ended + still > 0, ended / np.maximum(ended + still, 1), 0.0)
    return open_.select("customer_id", p_alive=pl.Series(p, dtype=pl.Float64))


def _naive_values(ctx: Context, summary: pl.DataFrame) -> pl.DataFrame:
    """Historical value: each customer's past purchase rate and spend carried forward, discounted monthly,
    times the share of silences as long as hers that ended in a new order (:func:`empirical_alive`)."""
    months = ctx.setting("clv_months")
    monthly = (1 + ctx.setting("annual_discount_rate")) ** (1 / 12) - 1
    factor = sum(1 / (1 + monthly) ** i for i in range(1, months + 1))
    weeks_per_month = 30.4375 / 7
    spend = ctx.history.group_by("customer_id").agg(aov=pl.col("amount").sum() / pl.col("order_id").n_unique())
    alive = empirical_alive(ctx.history, ctx.as_of)
    margin = ctx.margin or 1.0
    rate = pl.when(pl.col("T") > 0).then(pl.col("frequency") / pl.col("T")).otherwise(0.0)
    return (summary.join(spend, on="customer_id", how="left").join(alive, on="customer_id", how="left")
            .select("customer_id", "p_alive", expected_spend="aov",
                    clv=margin * pl.col("p_alive") * rate * weeks_per_month * factor * pl.col("aov")))


def _sound(model, values: pl.DataFrame) -> bool:
    """A fit the report may use: finite values, parameters not at a bound or running away."""
    params = list(getattr(model, "params_", {}).values())
    if not params or any(not math.isfinite(p) or p <= 1e-6 or p >= 1e5 for p in params):
        return False
    return bool(values["clv"].is_finite().all() and values["p_alive"].is_finite().all())


def clv_values(ctx: Context) -> ClvResult:
    """Choose the CLV method on a holdout inside the data and compute every customer's value (cached)."""
    return ctx.cached("clv", lambda: _choose(ctx))


def _holdout_split(ctx: Context) -> dt.datetime | None:
    first = ctx.history["order_date"].min()
    span = (ctx.as_of - first).days
    holdout = min(26 * 7, span // 3)
    if holdout < 8 * 7:
        return None
    return dt.datetime.combine((ctx.as_of - dt.timedelta(days=holdout)).date(), dt.time())


def _choose(ctx: Context) -> ClvResult:
    from custlab import clv as cl_clv

    summary = cl_clv.clv_summary(ctx.history, as_of=ctx.as_of, freq="W")
    split = _holdout_split(ctx)
    comparison = None
    ranked: list[str] = []
    classes = {m().name: m for m in (cl_clv.BetaGeo, cl_clv.ModifiedBetaGeo, cl_clv.ParetoNBD)}
    calibrated = {name: cls(freq="W") for name, cls in classes.items()}
    if split is not None:
        calhold = cl_clv.calibration_holdout(ctx.history, calibration_end=split, observation_end=ctx.as_of, freq="W")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", cl_clv.CLVWarning)
            comparison = cl_clv.compare_models(calhold, models=list(calibrated.values()))
        naive = comparison.filter(pl.col("model") == "naive")["mae"]
        naive_mae = float(naive[0]) if naive.len() else math.inf
        ok = comparison.filter(pl.col("status") == "ok", pl.col("mae") < naive_mae).sort("mae")
        ranked = ok["model"].to_list()
    spend_data = summary.filter((pl.col("frequency") == 0) | (pl.col("monetary_value") > 0))
    problems: list[str] = []
    for name in ranked:
        model = calibrated[name]  # one fit per model: the parameters used are the ones checked on the holdout
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", cl_clv.CLVWarning)
                spend = cl_clv.GammaGamma().fit(spend_data)
                values = cl_clv.predict_clv(summary, model, spend, months=ctx.setting("clv_months"),
                                            annual_discount_rate=ctx.setting("annual_discount_rate"),
                                            margin=ctx.margin or 1.0)
        except Exception as err:  # noqa: BLE001 - the next model in the ranking is tried; the reason is reported
            problems.append(f"{name}: {type(err).__name__}: {err}")
            continue
        if not _sound(model, values):
            problems.append(f"{name}: parameters at a bound or values not finite ({model!r})")
        else:
            return ClvResult(name, "best", values.select("customer_id", "p_alive", "expected_spend", "clv"),
                             comparison, dict(model.params_), split, model, calibrated[name])
    reason = "no_holdout" if split is None else ("no_model_beats_naive" if not ranked else "models_failed")
    return ClvResult(HISTORICAL, reason, _naive_values(ctx, summary), comparison, {}, split, problems="; ".join(problems))


def _refit_share(ctx: Context, result: ClvResult, total: float) -> float | None:
    """Share of the change since last month that comes from the refit (new parameters), not from the data."""
    before = (ctx.previous or {}).get("sections", {}).get("clv", {})
    if not before or before.get("method") != result.method or result.model is None or not before.get("params"):
        return None
    from custlab import clv as cl_clv

    old = type(result.model)(freq="W")
    try:
        old.__dict__.update({k: v for k, v in result.model.__dict__.items()})
        old.params_ = {k: float(v) for k, v in before["params"].items()}
        summary = cl_clv.clv_summary(ctx.history, as_of=ctx.as_of, freq="W")
        spend_data = summary.filter((pl.col("frequency") == 0) | (pl.col("monetary_value") > 0))
        spend = cl_clv.GammaGamma().fit(spend_data)
        with_old = float(cl_clv.predict_clv(summary, old, spend, months=ctx.setting("clv_months"),
                                            annual_discount_rate=ctx.setting("annual_discount_rate"),
                                            margin=ctx.margin or 1.0)["clv"].sum())
    except Exception:  # noqa: BLE001 - without the decomposition the change is shown unlabelled
        return None
    change = total - float(before.get("clv_total", total))
    if not math.isfinite(with_old) or change == 0:
        return None
    return (total - with_old) / change


def clv(ctx: Context) -> SectionFigures:
    """Section "Customer lifetime value": the method chosen on the holdout, the value, and what it means."""
    result = clv_values(ctx)
    seg = segment_table(ctx).select("customer_id", "segment", "recency")
    values = result.values.join(seg, on="customer_id", how="left")
    total = float(values["clv"].sum())
    months = ctx.setting("clv_months")
    basis = Text("report.clv.margin", {"margin": Pct(ctx.margin)}) if ctx.margin else Text("report.clv.revenue", {})
    paragraphs = [Text("report.clv.total", {"months": Count(months), "total": Money(total),
                                            "mean": Money(total / values.height if values.height else None),
                                            "basis": basis, "rate": Pct(ctx.setting("annual_discount_rate"), 0)})]
    tables, chart_list = [], []
    paragraphs.append(_choice_sentence(result))
    if result.comparison is not None:
        shown = result.comparison.with_columns(
            chosen=pl.when(pl.col("model") == result.method).then(pl.lit("✓")).otherwise(pl.lit("")),
            status=pl.when(pl.col("status") == "ok").then(pl.lit("fitted"))
            .when(pl.col("status") == "baseline").then(pl.lit("baseline")).otherwise(pl.lit("did not converge")))
        tables.append(Table(Text("report.clv.holdout_table", {"end": Data(f"{result.calibration_end:%Y-%m-%d}")}),
                            shown, {"model": "label", "mae": "num3", "rmse": "num3", "total_error": "change",
                                    "status": "label", "chosen": "data"}))
    by_segment = (values.group_by("segment").agg(customers=pl.len(), clv_total=pl.col("clv").sum(),
                                                 clv_mean=pl.col("clv").mean(), p_alive=pl.col("p_alive").mean())
                  .sort("clv_total", descending=True))
    tables.append(Table(Text("report.clv.segment_table", {}), by_segment,
                        {"segment": "label", "customers": "count", "clv_total": "money", "clv_mean": "money",
                         "p_alive": "pct"}))
    alive_note = _alive_vs_churn(ctx, values)
    if alive_note is not None:
        paragraphs.append(alive_note)
    refit = _refit_share(ctx, result, total)
    refit_note = refit is not None and abs(refit) > 0.5
    if refit_note:
        before = float(ctx.previous["sections"]["clv"]["clv_total"])
        paragraphs.append(Text("report.clv.refit", {"change": Change((total - before) / before if before else None),
                                                    "share": Pct(min(abs(refit), 1.0))}))
    if result.calibration_model is not None and result.calibration_end is not None:
        chart_list.append(Chart("clv_tracking", Text("report.clv.tracking_title", {"model": Label(result.method)}),
                                partial(_draw_tracking, ctx.history, result, ctx.as_of)))
    lead = by_segment.row(0, named=True) if by_segment.height else None
    findings = []
    if lead is not None and total > 0:
        findings.append(Finding(Text("report.finding.clv", {"total": Money(total), "months": Count(months),
                                                            "segment": Label(lead["segment"]),
                                                            "share": Pct(lead["clv_total"] / total)}),
                                0.1 * total, "clv"))
    out_values = {"clv_total": total, "method": result.method, "choice": result.reason,
                  "params": result.params, "refit_note": bool(refit_note),
                  "p_alive_mean": float(values["p_alive"].mean()) if values.height else None}
    return SectionFigures("clv", tuple(paragraphs), tuple(tables), tuple(chart_list), out_values, tuple(findings),
                          notes=(Text("report.clv.note", {"months": Count(months)}),))


def _choice_sentence(result: ClvResult) -> Text:
    if result.reason == "best":
        row = result.comparison.filter(pl.col("model") == result.method).row(0, named=True)
        naive = result.comparison.filter(pl.col("model") == "naive").row(0, named=True)
        params = ", ".join(f"{_GREEK.get(k, k)} = {v:.3g}" for k, v in result.params.items())
        return Text("report.clv.chosen", {"model": Label(result.method), "mae": Num(row["mae"], 3),
                                          "naive": Num(naive["mae"], 3), "params": Data(params)})
    return Text(f"report.clv.{result.reason}", {"problems": Data(result.problems)})


def _alive_vs_churn(ctx: Context, values: pl.DataFrame) -> Text | None:
    """A sentence when the model's P(alive) for long-silent customers disagrees with how often they return."""
    days = ctx.setting("inactivity_days")
    silent = values.filter(pl.col("recency") >= days)
    if silent.height < 20:
        return None
    model_alive = float(silent["p_alive"].mean())
    observed = float(empirical_alive(ctx.history, ctx.as_of).join(silent.select("customer_id"), on="customer_id")
                     ["p_alive"].mean())
    if abs(model_alive - observed) < 0.2:
        return None
    return Text("report.clv.alive_vs_churn", {"days": Count(days), "model": Pct(model_alive),
                                              "observed": Pct(observed), "gap": PP(model_alive - observed)})


def _draw_tracking(history: pl.DataFrame, result: ClvResult, as_of: dt.datetime, language: str):
    from custlab import clv as cl_clv

    table = cl_clv.tracking(history, result.calibration_model, calibration_end=result.calibration_end,
                            observation_end=as_of)
    return cl_clv.plot_tracking(table, language=language)

