"""What happened and who the customers are: the trend, the KPI tiles, the portrait.

Everything here is computed straight from the cleaned orders (no model): the
monthly series, this month's KPIs against last month and the same month a
year earlier (for a partial month, the same first days of those months), and
the portrait -- the customers table's attributes, geography from a
``country``/``region`` column, and the busiest times ranked by volume.
"""

from __future__ import annotations

import datetime as dt
import math
from functools import partial
from typing import Any

import polars as pl

from custlab._money import from_micros, micros
from custlab._types import LANGUAGES
from custlab.report import charts
from custlab.report.context import Context
from custlab.report.parts import KPI, Chart, Finding, SectionFigures, Table
from custlab.report.text import (
    PP, Change, Count, Data, Day, Items, Label, Lang, Money, MonthName, Pct, Text,
)

__all__ = ["busiest", "geography_part", "kpis", "masthead", "monthly_series", "partial_note", "portrait", "restated",
           "restated_note", "trend", "window_metrics", "with_shares"]

#: Columns of transactions (or customers) read as geography, in order of preference.
GEOGRAPHY = ("country", "region", "state", "province", "city")
#: Customers-table columns never shown as portrait attributes.
_NOT_ATTRIBUTES = {"customer_id", "signup_date", "age", "email", "phone", "name", "first_name", "last_name", "zip",
                   "zip_code", "postcode", "address"}
_AGE_BANDS = ((25, "<25"), (35, "25-34"), (45, "35-44"), (55, "45-54"), (65, "55-64"))


# -- metrics of a span of days ---------------------------------------------------------------------------
def window_metrics(ctx: Context, start: dt.datetime, end: dt.datetime) -> dict[str, float | int | None]:
    """Revenue, orders, active/new/returning customers, AOV, repeat rate and churned customers in ``[start, end)``.

    New customers ordered for the first time in the span; the repeat rate is
    the share of the span's customers who had ordered before it. Churned: the
    customers whose silence reached ``inactivity_days`` in the span (last order
    ``L`` with ``start < L + W <= end`` on calendar days, orders before ``end`` only);
    None when ``start - W`` is before the data's first order, since the customers
    who last ordered before the data begin cannot be seen.
    """
    days = ctx.setting("inactivity_days")

    def count() -> dict[str, Any]:
        if ctx.engine is not None:  # custlab report --engine: counted where the lines are
            from custlab.engine.report import window_counts

            return window_counts(ctx.engine, start, end, inactivity_days=days)
        return _window_counts(ctx.history, start, end, days)

    counts = ctx.cached(f"window {start:%Y-%m-%d %H:%M} {end:%Y-%m-%d %H:%M}", count)  # the tiles, trend, portrait
    revenue, orders, active, new = (counts[k] for k in ("revenue", "orders", "active_customers", "new_customers"))
    churned: int | None = counts["churned_customers"]
    if ctx.first_date is None or start.date() - dt.timedelta(days=days) < ctx.first_date:
        churned = None  # the last orders that would churn in the span partly predate the data: not countable
    return {
        "revenue": revenue, "orders": orders, "active_customers": active, "new_customers": new,
        "returning_customers": active - new, "aov": revenue / orders if orders else None,
        "repeat_rate": (active - new) / active if active else None, "churned_customers": churned,
    }


def _window_counts(history: pl.DataFrame, start: dt.datetime, end: dt.datetime, days: int) -> dict[str, Any]:
    history = history.filter(pl.col("order_date") < end)
    span = history.filter(pl.col("order_date") >= start)
    revenue = math.fsum(span["amount"].to_list())  # exactly rounded: the same in any order of the lines
    orders = int(span["order_id"].n_unique())
    active = int(span["customer_id"].n_unique())
    firsts = history.group_by("customer_id").agg(first=pl.col("order_date").min(),
                                                 last=pl.col("order_date").max().dt.date())
    new = int(firsts.filter(pl.col("first") >= start).height)
    reached = pl.col("last") + pl.duration(days=days)
    churned = int(firsts.filter((reached > pl.lit(start.date())) & (reached <= pl.lit(end.date()))).height)
    return {"revenue": revenue, "orders": orders, "active_customers": active, "new_customers": new,
            "churned_customers": churned}


def monthly_series(ctx: Context) -> pl.DataFrame:
    """Revenue, orders, active, new and returning customers per calendar month, the last ``trend_months``."""
    if ctx.engine is not None:
        from custlab.engine.report import monthly_counts

        counts = monthly_counts(ctx.engine, as_of=ctx.as_of)
    else:
        history = ctx.history
        first = history.group_by("customer_id").agg(first=pl.col("order_date").min().dt.truncate("1mo").dt.date())
        counts = (
            history.group_by(month=pl.col("order_date").dt.truncate("1mo").dt.date())
            .agg(revenue=micros("amount").sum(), orders=pl.col("order_id").n_unique().cast(pl.Int64),
                 active_customers=pl.col("customer_id").n_unique().cast(pl.Int64))
            .with_columns(from_micros(pl.col("revenue")))  # summed in whole millionths: the same in any order
            .join(first.group_by(month="first").agg(new_customers=pl.len()), on="month", how="left")
            .with_columns(pl.col("new_customers").fill_null(0).cast(pl.Int64))
        )
    per_month = (
        counts.with_columns(returning_customers=pl.col("active_customers").cast(pl.Int64) - pl.col("new_customers"),
                            aov=pl.col("revenue") / pl.col("orders"))
        .sort("month")
    )
    return per_month.tail(ctx.setting("trend_months"))


# -- the trend ---------------------------------------------------------------------------------------------
def _change(now: float | None, before: float | None) -> float | None:
    return (now - before) / before if now is not None and before else None


def trend(ctx: Context) -> SectionFigures:
    """Section "What happened": the month's sales and customers against the months before."""
    now = window_metrics(ctx, ctx.start, ctx.as_of)
    prev_window, year_window = ctx.previous_window, ctx.year_ago_window
    prev = window_metrics(ctx, prev_window.start, prev_window.end) if prev_window else None
    year = window_metrics(ctx, year_window.start, year_window.end) if year_window else None
    monthly = monthly_series(ctx)
    month = MonthName(ctx.month.month)
    paragraphs = [Text("report.trend.month", {
        "month": month, "revenue": Money(now["revenue"]), "orders": Count(now["orders"]),
        "active": Count(now["active_customers"]), "new": Count(now["new_customers"]), "aov": Money(now["aov"]),
    })]
    revenue_change = _change(now["revenue"], prev["revenue"]) if prev else None
    year_change = _change(now["revenue"], year["revenue"]) if year else None
    if revenue_change is not None and year_change is not None:
        title = Text("report.trend.title_both", {"revenue": Money(now["revenue"]), "month": month,
                                                 "change": Change(revenue_change), "year": Change(year_change)})
    elif revenue_change is not None:
        title = Text("report.trend.title_month", {"revenue": Money(now["revenue"]), "month": month,
                                                  "change": Change(revenue_change)})
    else:
        title = Text("report.trend.title_plain", {"revenue": Money(now["revenue"]), "month": month,
                                                  "months": Count(monthly.height)})
    if ctx.month.partial:
        paragraphs.append(Text("report.trend.partial_compare", {"days": Count(ctx.month.days)}))
    if prev and now["repeat_rate"] is not None and prev["repeat_rate"] is not None:
        paragraphs.append(Text("report.trend.repeat", {
            "rate": Pct(now["repeat_rate"]), "change": PP(now["repeat_rate"] - prev["repeat_rate"])}))
    best = monthly.sort("revenue", descending=True).row(0, named=True) if monthly.height >= 6 else None
    if best is not None:
        paragraphs.append(Text("report.trend.best_month", {"month": MonthName(best["month"]),
                                                           "revenue": Money(best["revenue"]),
                                                           "months": Count(monthly.height)}))
    findings = []
    if prev and revenue_change is not None:
        key = "report.finding.revenue_up" if revenue_change >= 0 else "report.finding.revenue_down"
        findings.append(Finding(Text(key, {"revenue": Money(now["revenue"]), "change": Change(revenue_change)}),
                                now["revenue"] - prev["revenue"], "trend"))
    shown = monthly.sort("month", descending=True).head(13)
    first = shown["month"].min() if shown.height else None
    # in the data's first month nobody can have bought before: its customers are all "new" to the data only
    starts = first is not None and ctx.first_date is not None and (first.year, first.month) == (
        ctx.first_date.year, ctx.first_date.month)
    undone = restated(ctx, shown)
    notes = [Text("report.trend.first_month", {"month": MonthName(first)})] if starts else []
    if undone is not None and undone["months"]:
        notes.append(restated_note(undone))
    table = Table(
        Text("report.trend.table", {}), shown,
        {"month": "month", "revenue": "money", "orders": "count", "active_customers": "count", "new_customers": "count",
         "returning_customers": "count", "aov": "money"}, top_n=13,
        note=Text("report.trend.notes", {"first": notes[0], "second": notes[1]}) if len(notes) == 2
        else (notes[0] if notes else None),
    )
    chart = Chart("trend", title, partial(_draw_trend, monthly, ctx.currency, ctx.month.partial), height=5.6)
    values = {**now, "revenue_change": revenue_change, "revenue_year_change": year_change}
    if undone is not None:  # what later cancellations took off the earlier months since their own reports
        values.update(restated_revenue=undone["revenue"], restated_orders=undone["orders"],
                      restated_months=undone["months"])
    return SectionFigures("trend", tuple(paragraphs), (table,), (chart,), values, tuple(findings))


def restated(ctx: Context, shown: pl.DataFrame) -> dict[str, Any] | None:
    """The purchases of the earlier months of ``shown`` that cancellations dated in a later month undid.

    Cleaning removes a purchase with the cancellation that reverses it once
    the cancellation is dated before the analysis date
    (:mod:`custlab.data.reversals`), so a month reads less here than in its
    own report when a customer cancelled in a later month (Online Retail June
    2011: 649,411 in June's report, 644,901 in September's). Both are right as
    of their dates. Counted from the cleaning report's ``reversed_pairs``: a
    purchase dated in an earlier month shown whose reversal is dated in a later
    month before ``as_of``; lines its own report removed anyway are left out
    (non-product lines, the second copy of a duplicated line). An order counts
    when none of its lines is left.

    Returns ``{"revenue", "orders", "months": {"YYYY-MM": {"revenue", "orders",
    "own_revenue", "own_orders"}}}`` (months with nothing undone left out), or
    None when the cleaning matched no reversals (no cleaning report, the rule
    not applied, the lines on an engine).
    """
    pairs = getattr(ctx.quality, "reversed_pairs", None)
    if not isinstance(pairs, pl.DataFrame) or ctx.engine is not None or shown.height == 0:
        return None
    first = dt.datetime.combine(shown["month"].min(), dt.time())
    month_of = pl.col("order_date").dt.truncate("1mo")
    undone = pairs.filter(pl.col("order_date") >= first, pl.col("order_date") < ctx.start,
                          pl.col("reversal_date") < ctx.as_of,
                          pl.col("reversal_date").dt.truncate("1mo") > month_of)
    if "product_id" in undone.columns:  # postage and fees: removed from their own month's report too
        from custlab.data.clean import NON_PRODUCT_IDS, NON_PRODUCT_PATTERN

        product = pl.col("product_id")
        undone = undone.filter(~(product.is_in(NON_PRODUCT_IDS) | product.str.contains(NON_PRODUCT_PATTERN))
                               .fill_null(False))
    keys = [c for c in ("order_id", "customer_id", "product_id", "quantity", "unit_price", "amount", "order_date")
            if c in undone.columns and c in ctx.history.columns]
    # a duplicated line counted once in its own month: its copy undone as well, or its twin still counted here
    undone = undone.unique(keys).join(ctx.history.select(keys).unique(), on=keys, how="anti", nulls_equal=True)
    orders_left = ctx.history.select("order_id").unique()
    gone = undone.select("order_id", "order_date").join(orders_left, on="order_id", how="anti")
    by_month = (undone.group_by(month=month_of.dt.date()).agg(revenue=pl.col("amount").sum())
                .join(gone.group_by(month=month_of.dt.date()).agg(orders=pl.col("order_id").n_unique()),
                      on="month", how="left")
                .join(shown.select("month", shown_revenue="revenue", shown_orders="orders"), on="month", how="left")
                .sort("month"))
    months = {
        f"{row['month']:%Y-%m}": {"revenue": row["revenue"], "orders": int(row["orders"] or 0),
                                  "own_revenue": (row["shown_revenue"] or 0.0) + row["revenue"],
                                  "own_orders": int(row["shown_orders"] or 0) + int(row["orders"] or 0)}
        for row in by_month.iter_rows(named=True) if row["revenue"] > 0
    }
    return {"revenue": math.fsum(m["revenue"] for m in months.values()),
            "orders": sum(m["orders"] for m in months.values()), "months": months}


def restated_note(undone: dict[str, Any]) -> Text:
    """The trend table's note on earlier months read net of the cancellations made since (:func:`restated`): the
    total over the months shown, and the month most changed as it reads here and in its own report."""
    key, most = max(undone["months"].items(), key=lambda item: (item[1]["revenue"], item[0]))
    month = MonthName(key)
    shown_revenue, shown_orders = most["own_revenue"] - most["revenue"], most["own_orders"] - most["orders"]
    fields = {"month": month, "undone": Money(most["revenue"], compact=False),
              "now": Money(shown_revenue, compact=False), "then": Money(most["own_revenue"], compact=False)}
    if most["orders"]:
        example = Text("report.trend.restated_example_orders", {
            **fields, "orders_now": Count(shown_orders), "orders_then": Count(most["own_orders"])})
    else:
        example = Text("report.trend.restated_example", fields)
    if len(undone["months"]) == 1:
        return Text("report.trend.restated_one", {"example": example})
    key = "report.trend.restated_many_orders" if undone["orders"] else "report.trend.restated_many"
    return Text(key, {"amount": Money(undone["revenue"], compact=False), "months": Count(len(undone["months"])),
                      "orders": Count(undone["orders"]), "example": example})


def _draw_trend(monthly: pl.DataFrame, currency: str | None, is_partial: bool, language: str):
    return charts.trend_chart(monthly, currency=currency, partial=is_partial, language=language)


# -- the tiles ---------------------------------------------------------------------------------------------
#: KPI tiles: (key, kind, up is good).
TILES = (
    ("revenue", "money", True), ("orders", "count", True), ("active_customers", "count", True),
    ("new_customers", "count", True), ("aov", "money", True), ("repeat_rate", "pct", True),
    ("churned_customers", "count", False), ("clv_total", "money", True),
)


def kpis(ctx: Context) -> tuple[KPI, ...]:
    """The first screen's tiles; last month's and last year's values from the data, CLV's from last month's file."""
    now = window_metrics(ctx, ctx.start, ctx.as_of)
    prev_window, year_window = ctx.previous_window, ctx.year_ago_window
    prev = window_metrics(ctx, prev_window.start, prev_window.end) if prev_window else {}
    year = window_metrics(ctx, year_window.start, year_window.end) if year_window else {}
    note = Text("report.kpi.partial_note", {"days": Count(ctx.month.days)}) if ctx.month.partial else None
    tiles = []
    for key, kind, up in TILES:
        if key == "clv_total":
            value = ctx.value("clv", "clv_total")
            if value is None:
                continue
            before = None
            if ctx.previous and not ctx.month.partial:
                before = (ctx.previous.get("kpis") or {}).get("clv_total")
            tiles.append(KPI(key, value, kind, before, None, up, _clv_note(ctx, before)))
            continue
        if now.get(key) is None and key == "churned_customers":
            continue  # the data begin too recently to count it
        tiles.append(KPI(key, now.get(key), kind, prev.get(key), year.get(key), up, note))
    return tuple(tiles)


def _clv_note(ctx: Context, before: float | None) -> Text | None:
    """The CLV tile's note: a change mostly from the refit; past rates carried forward (no model beat the naive
    baseline); and how far the method missed the weeks held out, either way, when it missed by 5% or more (the
    Online Retail tile called £8.11M "an upper bound" while the past rates had predicted 28.6% too few orders)."""
    if ctx.value("clv", "refit_note") and before is not None:
        return Text("report.kpi.clv_refit", {})
    from custlab.report.figures_clv import bias_text

    bias = bias_text(ctx.value("clv", "holdout_weeks"), ctx.value("clv", "holdout_total_error"))
    if ctx.value("clv", "method") == "historical":
        return Text("report.kpi.clv_historical_bias", {"bias": bias}) if bias else Text("report.kpi.clv_historical", {})
    return bias


# -- masthead ---------------------------------------------------------------------------------------------------
def masthead(ctx: Context) -> tuple[Text, ...]:
    """The lines under the title: data, period analysed, currency."""
    lines = [Text("report.masthead.data", {"source": ctx.source_name,
                                           "first": Day(ctx.first_date), "as_of": Day(ctx.month.last_day)})]
    if ctx.currency_from == "recognised":
        lines.append(Text("report.masthead.currency_recognised", {"currency": Data(ctx.currency),
                                                                   "data": Data("UCI Online Retail")}))
    elif ctx.currency:
        lines.append(Text("report.masthead.currency", {"currency": Data(ctx.currency)}))
    else:
        lines.append(Text("report.masthead.no_currency", {}))
    if ctx.previous_given and ctx.previous is None:
        lines.append(Text("report.masthead.previous_other", {}))
    guests = _without_customer(ctx)
    if guests is not None:
        lines.append(guests)
    if ctx.engine is not None:
        from custlab.report.figures_engine import engine_name

        lines.append(Text("report.masthead.engine", {"engine": Data(engine_name(ctx))}))
    return tuple(lines)


#: Share of the month's sales in lines without a customer id from which the masthead says so.
GUEST_SHARE = 0.005


def _without_customer(ctx: Context) -> Text | None:
    """A masthead line when cleaning left out a noticeable share of the month's sales for lacking a customer id:
    every figure of the page is about identified customers (Online Retail 2011-11: 31% of the month's sales)."""
    if ctx.quality is None or ctx.this_month is None:
        return None
    removed = ctx.quality.for_period(ctx.start, ctx.as_of).removed.filter(pl.col("reason") == "missing_customer")
    rows, amount = int(removed["rows"].sum()), float(removed["amount"].sum())
    kept = float(ctx.this_month["amount"].sum())
    if rows == 0 or amount <= 0 or kept + amount <= 0 or amount / (kept + amount) < GUEST_SHARE:
        return None
    return Text("report.masthead.without_customer", {"n": Count(rows), "amount": Money(amount),
                                                     "share": Pct(amount / (kept + amount))})


def partial_note(ctx: Context) -> Text | None:
    """The banner of a partial month."""
    if not ctx.month.partial:
        return None
    return Text("report.partial_banner", {"month": MonthName(ctx.month.month), "days": Count(ctx.month.days),
                                          "month_days": Count(ctx.month.month_days),
                                          "last": Day(ctx.month.last_data_date)})


# -- the portrait ---------------------------------------------------------------------------------------------
def _age_band(age: pl.Expr) -> pl.Expr:
    expr = pl.when(age.is_null()).then(pl.lit(None, pl.String))
    for limit, name in _AGE_BANDS:
        expr = expr.when(age < limit).then(pl.lit(name))
    return expr.otherwise(pl.lit("65+"))


#: Most distinct values (the unknown included) an attribute may have to be shown.
MOST_GROUPS = 25


def attribute_columns(people: pl.DataFrame, most: int = MOST_GROUPS) -> list[str]:
    """The text columns of ``people`` worth a table: 2 to ``most`` distinct values, not an id or a name."""
    out = []
    for name, dtype in people.schema.items():
        if name in _NOT_ATTRIBUTES or name == "revenue" or name.endswith("_id"):
            continue
        if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
            if 2 <= people[name].n_unique() <= most:
                out.append(name)
    return out


def described(customers: pl.DataFrame) -> pl.DataFrame:
    """The customers table as the portrait reads it: one row per customer (the first), with ``age_band``."""
    people = customers.unique("customer_id", keep="first", maintain_order=True)
    if "age" in people.columns and people.schema["age"].is_numeric():
        people = people.with_columns(age_band=_age_band(pl.col("age")))
    return people


def attribute_parts(tables: dict[str, pl.DataFrame]) -> tuple[list[Text], list[Table]]:
    """The sentence and table of each attribute, from its :func:`with_shares` table (attributes without a known
    value are left out); every value is shown, as an attribute has at most :data:`MOST_GROUPS`."""
    paragraphs, shown = [], []
    for column, table in tables.items():
        known = table.filter(pl.col("group").is_not_null())
        if known.height == 0:
            continue
        top = known.row(0, named=True)
        paragraphs.append(Text("report.portrait.attribute", {
            "attribute": Label(column), "top": Label(top["group"]), "cust": Pct(top["customer_share"]),
            "rev": Pct(top["revenue_share"])}))
        table = table.with_columns(pl.col("group").fill_null("not_given"))  # Ta-Feng's 554 customers without an age
        shown.append(Table(Text("report.portrait.attr_table", {"attribute": Label(column)}), table,
                           {"group": "label", "customers": "count", "customer_share": "pct",
                            "revenue_share": "pct"}, top_n=MOST_GROUPS))
    return paragraphs, shown


def _share_table(people: pl.DataFrame, column: str) -> pl.DataFrame:
    return with_shares(people.group_by(pl.col(column).cast(pl.String).alias("group"))
                       .agg(customers=pl.len().cast(pl.Int64), revenue=pl.col("revenue").sum()))


def with_shares(grouped: pl.DataFrame) -> pl.DataFrame:
    """``group``, ``customers``, ``revenue`` with each group's share of both, largest revenue first, customers
    without a value last (Ta-Feng's age table had its "–" row among the ages)."""
    return (grouped.with_columns(customer_share=pl.col("customers") / pl.col("customers").sum(),
                                 revenue_share=pl.col("revenue") / pl.col("revenue").sum())
            .sort(pl.col("group").is_null(), "revenue", "group", descending=[False, True, False], nulls_last=True))


def geography_part(column: str, table: pl.DataFrame) -> tuple[Text, Table, str]:
    """The geography sentence, its table (top ten) and the leading place, from :func:`with_shares`' table."""
    top = table.filter(pl.col("group").is_not_null()).head(10)
    lead = top.row(0, named=True)
    text = Text("report.portrait.geography", {
        # a place the catalogues name (the shop's regions east, south...) reads in the page's language: 华东, not east
        "top": Label(lead["group"]), "rev": Pct(lead["revenue_share"]), "cust": Pct(lead["customer_share"]),
        "places": Count(table["group"].drop_nulls().n_unique())})
    return text, Table(Text("report.portrait.geo_table", {}), top,
                       {"group": "label", "customers": "count", "customer_share": "pct", "revenue": "money",
                        "revenue_share": "pct"}, top_n=10), lead["group"]


def _geography(ctx: Context, revenue: pl.DataFrame, people: pl.DataFrame | None) -> tuple[str, pl.DataFrame] | None:
    """Each customer's place (her most frequent one in the lines, else the customers table's ``people``) with her
    revenue."""
    for column in GEOGRAPHY:
        if column in ctx.history.columns:  # each customer's most frequent value
            where = (ctx.history.filter(pl.col(column).is_not_null()).group_by("customer_id", column).agg(n=pl.len())
                     .sort("n", column, descending=[True, False]).unique("customer_id", keep="first"))
            return column, revenue.join(where.select("customer_id", column), on="customer_id", how="left")
    column = customers_geography(people)
    if column is not None:  # the lines have no place, the customers table has (Olist's state)
        return column, revenue.join(people.select("customer_id", column), on="customer_id", how="left")
    return None


def customers_geography(customers: pl.DataFrame | None) -> str | None:
    """The first :data:`GEOGRAPHY` column of a customers table, for the portrait when the lines have none."""
    if customers is None:
        return None
    return next((c for c in GEOGRAPHY if c in customers.columns), None)


def portrait(ctx: Context) -> SectionFigures:
    """Section "Who the customers are": attributes, geography, busiest times."""
    revenue = ctx.history.group_by("customer_id").agg(revenue=pl.col("amount").sum())
    n = revenue.height
    paragraphs = [Text("report.portrait.customers", {"customers": Count(n), "first": Day(ctx.first_date),
                                                     "active": Count(ctx.this_month["customer_id"].n_unique()),
                                                     "month": MonthName(ctx.month.month)})]
    tables, chart_list, values = [], [], {"customers_to_date": n}
    customers = described(ctx.customers) if ctx.customers is not None else None
    geo = _geography(ctx, revenue, customers)
    if geo is not None:
        column, placed = geo
        text, table, values["top_geography"] = geography_part(column, _share_table(placed, column))
        paragraphs.append(text)
        tables.append(table)
    if customers is None:
        paragraphs.append(Text("report.portrait.no_customers", {}))
    else:
        people = customers.join(revenue, on="customer_id", how="inner")
        paragraphs.append(Text("report.portrait.coverage", {"covered": Count(people.height), "customers": Count(n),
                                                            "share": Pct(people.height / n if n else None)}))
        texts, shown = attribute_parts({column: _share_table(people, column) for column in attribute_columns(people)
                                        if geo is None or column != geo[0]})
        paragraphs += texts
        tables += shown
    month = ctx.this_month if ctx.this_month.height >= 50 else ctx.history
    midnight = bool(month.height) and month.select((pl.col("order_date").dt.time() == dt.time()).all()).item()
    peaks = busiest(month, midnight=midnight)
    if peaks is not None:
        paragraphs.append(peaks)
    return SectionFigures("portrait", tuple(paragraphs), tuple(tables), tuple(chart_list), values)


def busiest(month: Any, *, midnight: bool) -> Text | None:
    """The busiest times in ``month`` (the lines, polars or on an engine), overall and for the categories with
    most orders (ranked by volume); ``midnight``: every order is dated 00:00, so the data hold no hours."""
    from custlab import activity

    if midnight:
        return Text("report.portrait.no_hours", {})  # dates without a time: every order would be "at midnight"
    overall = {lang: activity.peak_times(activity.weekday_hour(month, measure="orders", language=lang),
                                         language=lang) for lang in LANGUAGES}
    if overall["en"].height == 0 or overall["en"]["summary"][0] is None:
        return None
    parts = {lang: overall[lang]["summary"][0] for lang in LANGUAGES}
    if "category" not in month.columns:
        return Text("report.portrait.peak", {"when": Lang(parts)})
    by = {lang: activity.peak_times(activity.weekday_hour(month, measure="orders", by="category", language=lang),
                                    top_n=4, language=lang) for lang in LANGUAGES}
    rows = by["en"].filter(pl.col("summary").is_not_null())
    groups = [Text("report.portrait.peak_group", {
        "category": Label(row["category"]), "orders": Count(row["total"]),
        "when": Lang({lang: by[lang].filter(pl.col("category").eq_missing(row["category"]))["summary"][0]
                      for lang in LANGUAGES}),
    }) for row in rows.iter_rows(named=True)]
    return Text("report.portrait.peak_by", {"when": Lang(parts), "groups": Items(groups)})

