"""The monthly report with its order lines on DuckDB or Spark (``custlab report --engine``).

When ``tables["transactions"]`` is a DuckDB relation or a PySpark DataFrame,
:func:`custlab.report.figures.compute_month` runs :data:`SECTIONS` from here:
every figure is aggregated where the lines are (:mod:`custlab.engine`) and
only small tables come back -- counts per month, per tier and recency, per
duration, per (frequency, recency, age) pattern, per cohort, per weekday and
hour -- never the order lines and never one row per customer. The trend and
the first screen are the polars report's own sections (their counts dispatch
to the engine); the portrait, value tiers, CLV, retention and demand outlook
are computed from the pushed-down tables here and laid out by the same code
as in memory; problems and methods read the others' figures. The sections
that are lists of customers (the early-warning list, actions, next best
actions), baskets by product family, and the sections of side tables are
listed as absent with the reason and the fix: run the report without
``--engine`` on a sample of customers.

CLV on the engine is BG/NBD (else MBG/NBD, else Pareto/NBD: the first that
converges and passes its checks) with Gamma-Gamma, fitted on all customers'
patterns (:func:`custlab.engine.clv_patterns` with ``spend=True``; the
total is exact because Gamma-Gamma's expected spend is linear in the mean
spend), judged by :func:`custlab.clv.check_fit`; the holdout comparison of
models that the in-memory report makes is not repeated here, and the page
says so.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import replace
from typing import Any

import polars as pl

from custlab._types import LANGUAGES
from custlab.report import figures_actions, figures_sales
from custlab.report.context import Context
from custlab.report.figures_clv import FREQ, _short
from custlab.report.parts import Absent, Finding, SectionFigures, Table
from custlab.report.text import Count, Data, Day, Items, Label, Lang, Money, MonthName, Pct, Text

__all__ = ["SECTIONS", "engine_name"]

#: Purchase models tried in turn on the engine's patterns (the in-memory report chooses among them on a holdout).
MODELS = ("BetaGeo", "ModifiedBetaGeo", "ParetoNBD")
#: Repeat-purchase bands of the CLV table: (label, lowest frequency).
_BANDS = (("0", 0), ("1", 1), ("2-3", 2), ("4-7", 4), ("8+", 8))


def engine_name(ctx: Context) -> str:
    """The engine's name as the page shows it: "DuckDB", "Spark", or narwhals' name of another backend."""
    import narwhals as nw

    name = str(nw.from_native(ctx.engine).implementation.value).lower()
    return {"duckdb": "DuckDB", "pyspark": "Spark", "pyspark[connect]": "Spark Connect"}.get(name, name)


def _needs_lines(key: str):
    """A section that needs every customer's row (or a side table) in memory: absent with the reason."""
    def section(ctx: Context) -> SectionFigures:
        raise Absent(Text("report.absent.engine", {"engine": Data(engine_name(ctx))}),
                     Text("report.absent.engine_fix", {}))

    section.__name__ = f"{key}_on_engine"
    return section


# -- the portrait ----------------------------------------------------------------------------------------------
def portrait(ctx: Context) -> SectionFigures:
    """Section "Who the customers are" from counts: customers, geography, busiest times."""
    import narwhals as nw

    from custlab.engine.report import attribute_counts, geography_counts, span, window_counts
    from custlab.report.sources import ids_like_lines

    lines = nw.from_native(ctx.engine).filter(nw.col("order_date") < ctx.as_of)
    month = lines.filter(nw.col("order_date") >= ctx.start)
    now = figures_sales.window_metrics(ctx, ctx.start, ctx.as_of)
    everyone = window_counts(ctx.engine, dt.datetime.combine(ctx.first_date, dt.time()), ctx.as_of,
                             inactivity_days=ctx.setting("inactivity_days"))
    customers = everyone["active_customers"]
    paragraphs: list[Any] = [Text("report.portrait.customers", {
        "customers": Count(customers), "first": Day(ctx.first_date), "active": Count(now["active_customers"]),
        "month": MonthName(ctx.month.month)})]
    tables, values = [], {"customers_to_date": customers}
    names = lines.collect_schema().names()
    column = next((c for c in figures_sales.GEOGRAPHY if c in names), None)
    places = geography_counts(ctx.engine, column, as_of=ctx.as_of) if column is not None else None
    described = None
    if ctx.customers is not None:  # one join on the engine: the attributes, and the places when the lines have none
        people = ids_like_lines(figures_sales.described(ctx.customers), ctx.engine)
        if column is None and (column := figures_sales.customers_geography(people)) is not None:
            place = (column,)
        else:
            place = ()
        attributes = [c for c in figures_sales.attribute_columns(people, most=_CANDIDATE_GROUPS) if c != column]
        described = attribute_counts(ctx.engine, people, attributes, as_of=ctx.as_of, everyone=place)
        places = described[1].pop(column) if place else places
    if places is not None:
        table = figures_sales.with_shares(places)
        if table.filter(pl.col("group").is_not_null()).height:
            text, shown, values["top_geography"] = figures_sales.geography_part(column, table)
            paragraphs.append(text)
            tables.append(shown)
    if described is None:
        paragraphs.append(Text("report.portrait.no_customers", {}))
    else:
        texts, attribute_tables = _attributes(*described, customers)
        paragraphs += texts
        tables += attribute_tables
    month_span = span(nw.to_native(month))
    data = month if month_span["lines"] >= 50 else lines
    midnight = (month_span if month_span["lines"] >= 50 else span(nw.to_native(lines)))["midnight"]
    peaks = figures_sales.busiest(nw.to_native(data), midnight=bool(midnight))
    if peaks is not None:
        paragraphs.append(peaks)
    return SectionFigures("portrait", tuple(paragraphs), tuple(tables), (), values)


#: Most distinct values an attribute of the customers table may have to be grouped on the engine (the page shows
#: those with at most :data:`custlab.report.figures_sales.MOST_GROUPS` among the customers who ordered).
_CANDIDATE_GROUPS = 1000


def _attributes(covered: int, counts: dict[str, pl.DataFrame], customers: int) -> tuple[list[Any], list[Table]]:
    """The customers table's coverage and attributes from :func:`custlab.engine.report.attribute_counts`, laid out
    as in memory."""
    coverage = Text("report.portrait.coverage", {
        "covered": Count(covered), "customers": Count(customers), "share": Pct(covered / customers if customers else None)})
    shown = {c: figures_sales.with_shares(t) for c, t in counts.items() if 2 <= t.height <= figures_sales.MOST_GROUPS}
    texts, tables = figures_sales.attribute_parts(shown)
    return [coverage, *texts], tables


# -- value tiers -------------------------------------------------------------------------------------------------------
def _median(values: pl.Series, counts: pl.Series) -> float | None:
    """The median of ``values`` each repeated ``counts`` times (the mean of the middle two for an even total)."""
    total = int(counts.sum())
    if total == 0:
        return None
    order = values.arg_sort()
    values, ends = values.gather(order), counts.gather(order).cum_sum()
    low = values[int((ends >= (total + 1) // 2).arg_true()[0])]
    high = values[int((ends >= total // 2 + 1).arg_true()[0])]
    return (float(low) + float(high)) / 2


def segments(ctx: Context) -> SectionFigures:
    """Section "Value tiers" from counts: the tiers of :func:`custlab.segments.value_tier_rules` assigned on the
    engine, with the same table, sentences and movements as in memory (no customer list: it stays on the engine)."""
    from custlab.engine.report import TIERS, value_tiers
    from custlab.report.figures_customers import moved_text, tier_page

    dormant = ctx.setting("dormant_days")
    found = value_tiers(ctx.engine, as_of=ctx.as_of, dormant_days=dormant,
                        previous_as_of=ctx.start if ctx.previous_window is not None else None)
    dist, freq = found["distribution"], found["frequencies"]
    rows = []
    for rank, name in enumerate(TIERS, start=1):
        mine, theirs = dist.filter(pl.col("value_rank") == rank), freq.filter(pl.col("value_rank") == rank)
        customers = int(mine["customers"].sum())
        if customers == 0:
            continue
        revenue, orders = int(mine["micros"].sum()) / 1_000_000, int(mine["orders"].sum())
        rows.append({"segment": name, "customers": customers, "revenue": revenue, "orders": orders,
                     "median_recency": _median(mine["recency"], mine["customers"]),
                     "median_frequency": _median(theirs["frequency"], theirs["customers"])})
    table = pl.DataFrame(rows, schema={"segment": pl.String, "customers": pl.Int64, "revenue": pl.Float64,
                                       "orders": pl.Int64, "median_recency": pl.Float64,
                                       "median_frequency": pl.Float64})
    n, total = found["customers"], float(table["revenue"].sum())
    summary = table.sort(["customers", "segment"], descending=[True, False]).select(
        "segment", "customers", customer_share=pl.col("customers") / n, revenue="revenue",
        revenue_share=pl.col("revenue") / total if total else pl.lit(None, pl.Float64), orders="orders",
        avg_order_value=pl.col("revenue") / pl.col("orders"), median_recency="median_recency",
        median_frequency="median_frequency", revenue_per_customer=pl.col("revenue") / pl.col("customers"))
    moved = moved_text(found["moved"], dormant) if "moved" in found else None
    silent = int(dist.filter(pl.col("value_rank") == 1, pl.col("recency") >= dormant)["customers"].sum())
    paragraphs, shown, values, findings = tier_page(summary, found["top_customers"] / n, n, silent, moved, dormant)
    return SectionFigures("segments", tuple(paragraphs), (shown,), (), values, tuple(findings))


# -- customer lifetime value ----------------------------------------------------------------------------------------
def clv_result(ctx: Context) -> dict[str, Any]:
    """BG/NBD and Gamma-Gamma on the engine's patterns (cached): the models, their checks and the pattern values."""
    return ctx.cached("engine_clv", lambda: _clv(ctx))


def _clv(ctx: Context) -> dict[str, Any]:
    from custlab import clv as cl_clv
    from custlab.engine import clv_patterns, spend_patterns

    from custlab.exceptions import ConvergenceError

    patterns = clv_patterns(ctx.engine, as_of=ctx.as_of, freq=FREQ, spend=True)
    if patterns.height and patterns["frequency"].max() == 0:  # every model would fail or say 0 (Olist 2017-02)
        return {"no_repeat": int(patterns["weight"].sum())}
    spend = spend_patterns(ctx.engine, as_of=ctx.as_of, freq=FREQ, relative_step=1e-3)
    counts = patterns.select("frequency", "recency", "T", "weight")
    fitted, failed = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cl_clv.CLVWarning)  # what they say, the checks say in the page
        for cls in (getattr(cl_clv, name) for name in MODELS):  # the first that converges and passes its checks; else the first that converges
            try:
                candidate = cls(freq=FREQ).fit(counts)
            except ConvergenceError:
                failed.append(cls(freq=FREQ).name)
                continue
            fitted.append((candidate, cl_clv.check_fit(candidate, patterns)))
            if fitted[-1][1].trusted:
                break
        if not fitted:
            raise ConvergenceError(f"None of {', '.join(failed)} converged on the {patterns.height:,} purchase "
                                   f"patterns; run the report without --engine on a sample for the historical formula.")
        model, check = next(((m, c) for m, c in fitted if c.trusted), fitted[0])
        failed += [m.name for m, _ in fitted if m is not model]  # fitted, but failed their checks
        spend_model = cl_clv.GammaGamma().fit(spend)
    checks = [check, cl_clv.check_fit(spend_model, patterns)]
    summary = patterns.with_row_index("customer_id")
    values = cl_clv.predict_clv(summary, model, spend_model, months=ctx.setting("clv_months"),
                                annual_discount_rate=ctx.setting("annual_discount_rate"), margin=ctx.margin)
    values = values.join(summary.select("customer_id", "weight"), on="customer_id")
    return {"model": model, "spend_model": spend_model, "checks": checks, "values": values,
            "patterns": patterns.height, "failed": failed}


def clv(ctx: Context) -> SectionFigures:
    """Section "Customer lifetime value" from the (frequency, recency, T) patterns of all customers."""
    short = _short(ctx)
    if short is not None:
        raise short
    found = clv_result(ctx)
    if "no_repeat" in found:  # the purchase models count repeat purchases by week, as in memory
        raise Absent(Text("report.absent.clv_no_repeat_week", {"customers": Count(found["no_repeat"])}),
                     Text("report.absent.clv_no_repeat_fix", {}))
    values: pl.DataFrame = found["values"]
    weight = values["weight"].cast(pl.Float64)
    customers = int(values["weight"].sum())
    total = float((values["clv"] * weight).sum())
    months, rate = ctx.setting("clv_months"), ctx.setting("annual_discount_rate")
    basis = Text("report.clv.margin", {"margin": Pct(ctx.margin)}) if ctx.margin else Text("report.clv.revenue", {})
    trusted = all(check.trusted for check in found["checks"])
    paragraphs: list[Any] = [
        Text("report.engine.clv_total", {"customers": Count(customers), "months": Count(months), "total": Money(total),
                                         "mean": Money(total / customers if customers else None), "basis": basis,
                                         "rate": Pct(rate, 0)}),
        Text("report.engine.clv_method", {"engine": Data(engine_name(ctx)), "patterns": Count(found["patterns"]),
                                          "customers": Count(customers), "model": Label(found["model"].name)}),
    ]
    once = values.filter(pl.col("frequency") == 0)
    if once.height and found["model"].name == "BG/NBD":  # BG/NBD lets a customer leave only after a repeat purchase (as the in-memory report says)
        paragraphs.append(Text("report.clv.bgnbd_one_time", {
            "n": Count(int(once["weight"].sum())), "value": Money(float((once["clv"] * once["weight"]).sum()))}))
    if found["failed"]:
        paragraphs.append(Text("report.engine.clv_failed", {"models": Items([Label(m) for m in found["failed"]]),
                                                            "model": Label(found["model"].name)}))
    if not trusted:
        paragraphs.append(Text("report.engine.clv_untrusted", {"why": Lang({
            lang: " ".join(c.why(lang) for c in found["checks"] if not c.trusted) for lang in LANGUAGES})}))
    band = pl.lit(_BANDS[0][0])
    for label, low in _BANDS[1:]:
        band = pl.when(pl.col("frequency") >= low).then(pl.lit(label)).otherwise(band)
    by_band = (values.with_columns(band=band, _w=weight, _v=pl.col("clv") * weight, _a=pl.col("p_alive") * weight)
               .group_by("band").agg(customers=pl.col("weight").sum(), clv_total=pl.col("_v").sum(),
                                     _w=pl.col("_w").sum(), _a=pl.col("_a").sum(), _f=pl.col("frequency").min())
               .with_columns(clv_mean=pl.col("clv_total") / pl.col("_w"), p_alive=pl.col("_a") / pl.col("_w"))
               .sort("_f").select("band", "customers", "clv_total", "clv_mean", "p_alive"))
    tables = (Table(Text("report.engine.clv_table", {}), by_band,
                    {"band": "data", "customers": "count", "clv_total": "money", "clv_mean": "money", "p_alive": "pct"}),)
    findings = ()
    if trusted and total > 0 and by_band.height:  # an untrusted figure is not a headline
        lead = by_band.sort("clv_total", descending=True).row(0, named=True)
        findings = (Finding(Text("report.finding.engine_clv", {"total": Money(total), "months": Count(months),
                                                               "band": Data(lead["band"]),
                                                               "share": Pct(lead["clv_total"] / total)}),
                            0.1 * total, "clv"),)
    model = found["model"]
    p_alive = float((values["p_alive"] * weight).sum() / weight.sum()) if customers else None
    out = {"clv_total": total, "method": model.name, "trusted": trusted, "months": months,
           "annual_discount_rate": rate, "margin": ctx.margin, "freq": FREQ,
           "basis": "margin" if ctx.margin else "revenue", "customers": customers, "params": dict(model.params_),
           "spend_params": dict(found["spend_model"].params_), "refit_note": False, "upper_bound": False, "choice": "engine",
           "patterns": found["patterns"], "p_alive_mean": p_alive}
    notes = (Text("report.clv.note", {"months": Count(months)}),)
    return SectionFigures("clv", tuple(paragraphs), tables, (), out, findings, notes=notes)


# -- churn and retention ---------------------------------------------------------------------------------------
def retention(ctx: Context) -> SectionFigures:
    """Section "Churn and retention" from counts: the diagnostics, Kaplan-Meier, the cohorts."""
    from custlab import churn, cohorts
    from custlab.engine import survival_counts
    from custlab.report.figures_churn import retention_page

    days = ctx.setting("inactivity_days")
    diag = churn.churn_diagnostics(ctx.engine, as_of=ctx.as_of, inactivity_days=days)
    counts = survival_counts(ctx.engine, as_of=ctx.as_of, inactivity_days=days)
    km = churn.kaplan_meier(counts, at=(90, 180, 365), weight="customers")
    table = cohorts.cohort_retention(ctx.engine, as_of=ctx.as_of, max_periods=12)
    now = figures_sales.window_metrics(ctx, ctx.start, ctx.as_of)  # mean spend per customer: revenue / customers
    spend = now["revenue"] / now["active_customers"] if now["active_customers"] else 0.0
    return retention_page(ctx, diag, km, table, spend)


# -- demand outlook ------------------------------------------------------------------------------------------------
def outlook(ctx: Context) -> SectionFigures:
    """Section "Demand outlook": the polars section on monthly sums per top group ranked on the engine."""
    from custlab.engine.report import heat_series, outlook_rows
    from custlab.forecast import demand_outlook
    from custlab.forecast.outlook import HEAT_PRODUCTS, OTHER, THRESHOLD, heat_of
    from custlab.report import figures_outlook

    import narwhals as nw

    names = nw.from_native(ctx.engine).collect_schema().names()
    if "category" not in names and "product_id" not in names:
        raise Absent(Text("report.absent.outlook_groups", {}), Text("report.absent.products_fix", {}))
    by = "category" if "category" in names else "product_id"
    top, rows = outlook_rows(ctx.engine, by, as_of=ctx.as_of, top_n=figures_outlook.TOP_GROUPS, other=OTHER)
    months = rows.select(pl.col("order_date").dt.truncate("1mo").n_unique()).item() if rows.height else 0
    if months < figures_outlook.MIN_MONTHS:
        raise Absent(Text("report.absent.outlook_short", {"months": Count(months),
                                                           "need": Count(figures_outlook.MIN_MONTHS)}),
                     Text("report.absent.outlook_short_fix", {}))
    result = demand_outlook(rows, as_of=ctx.as_of, by=by, top_n=figures_outlook.TOP_GROUPS,
                            horizon=figures_outlook.HORIZON, n_jobs=1, language=ctx.language, groups=top)
    weekly = heat_series(ctx.engine, by, top, as_of=ctx.as_of, products=HEAT_PRODUCTS)
    if weekly is not None:  # the rows above hold no products: the heat alerts come from the engine's weekly sums
        result = replace(result, alerts=result.alerts + heat_of(weekly, THRESHOLD, 1))
    return figures_outlook.section(result)  # the polars report's own page, from the same DemandOutlook


#: The report's sections in reading order with the engine, keys as :data:`custlab.report.figures.SECTIONS`.
SECTIONS: tuple[tuple[str, Any], ...] = (
    ("trend", figures_sales.trend),
    ("portrait", portrait),
    ("segments", segments),
    ("clv", clv),
    ("retention", retention),
    ("early_warning", _needs_lines("early_warning")),
    ("baskets", _needs_lines("baskets")),
    ("outlook", outlook),
    ("funnel", _needs_lines("funnel")),
    ("channels", _needs_lines("channels")),
    ("campaigns", _needs_lines("campaigns")),
    ("attribution", _needs_lines("attribution")),
    ("voice", _needs_lines("voice")),
    ("problems", figures_actions.problems),
    ("actions", _needs_lines("actions")),
    ("nba", _needs_lines("nba")),
    ("methods", figures_actions.methods),
)
