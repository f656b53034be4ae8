"""Voice of the customer: ratings, CSAT/NPS, what the complaints are about, late deliveries, who to win back.

The section is :func:`custlab.reviews.voice_of_customer` on the reviews dated
before ``as_of``, with the history (value tiers, repurchase after a review),
the customers, and -- when the data have them -- the orders' delivery dates
and an NPS survey. The review texts may be in any mix of Chinese and English
(``language="auto"``: each review's own language); the page is written in the
report's language, and quotes are the customers' words as written (escaped).

The customers who wrote a negative review in the last 30 days are the
``voice_recovery.csv`` export, most urgent first.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any

import polars as pl

from custlab._types import LANGUAGES
from custlab.report.context import Context
from custlab.report.exports_tables import finish_export
from custlab.report.figures_campaigns import described, in_history
from custlab.report.parts import Absent, Chart, SectionFigures, Table
from custlab.report.text import Count, Day, Label, Num, Pct, Text, render_rows, render_value

__all__ = ["QUOTES", "voice"]

#: Example quotes per complaint shown on the page, and their length.
QUOTES, QUOTE_CHARS = 3, 120
#: How each headline figure is written: (kind, decimals).
_METRICS = {"reviews": ("count", 0), "csat": ("pct", 0), "mean_rating": ("num", 2), "nps": ("num", 0),
            "recommend_share": ("pct", 0), "negative_share": ("pct", 0), "late_rating_gap": ("num", 2),
            "recovery_customers": ("count", 0)}


def voice_figures(ctx: Context) -> Any:
    """:func:`custlab.reviews.voice_of_customer` at the report's ``as_of`` (cached per report)."""
    return ctx.cached_call("voice", voice_call(ctx))


def voice_call(ctx: Context) -> tuple[Any, tuple, dict[str, Any]]:
    """The voice of the customer's call ``(function, args, kwargs)``, or :class:`Absent` without reviews."""
    from custlab.reviews import voice_of_customer

    if ctx.reviews is None:
        raise Absent(Text("report.absent.reviews", {}), Text("report.absent.reviews_fix", {}))
    if in_history(ctx.reviews, "review_date", ctx).height == 0:
        raise Absent(Text("report.absent.reviews_period", {}), Text("report.absent.reviews_fix", {}))
    return voice_of_customer, (ctx.reviews,), {"transactions": ctx.history, "orders": ctx.orders,
                                               "customers": ctx.customers, "surveys": ctx.surveys, "as_of": ctx.as_of,
                                               "language": "auto"}


def _shown(metric: str, value: float | None, language: str) -> str:
    kind, decimals = _METRICS.get(metric, ("num", 2))
    if value is None:
        return ""
    field = Count(value) if kind == "count" else Pct(value, decimals) if kind == "pct" else Num(value, decimals)
    return render_value(field, language)


def headline_table(result: Any) -> pl.DataFrame:
    """The summary with each figure and its interval written per language (``lang`` cells) and a trust label."""
    rows = []
    for r in result.summary.iter_rows(named=True):
        value = {lang: _shown(r["metric"], r["value"], lang) for lang in LANGUAGES}
        interval = {lang: (f"{_shown(r['metric'], r['lower'], lang)} – {_shown(r['metric'], r['upper'], lang)}"
                           if r["lower"] is not None and r["upper"] is not None else "") for lang in LANGUAGES}
        rows.append({"metric": f"voice.{r['metric']}", "shown": value, "interval": interval, "n": r["n"],
                     "trust": "trusted" if r["trusted"] else "not trusted"})
    return pl.DataFrame(rows, schema={"metric": pl.String, "shown": pl.Struct({k: pl.String for k in LANGUAGES}),
                                      "interval": pl.Struct({k: pl.String for k in LANGUAGES}), "n": pl.Int64,
                                      "trust": pl.String})


def aspect_table(result: Any) -> pl.DataFrame:
    """The most complained-about aspects, their share of the negative reviews and up to three quotes."""
    from custlab._i18n import label, t

    top = result.top_aspects(3)

    def name(aspect: str, language: str) -> str:
        key = f"reviews.aspect.{aspect}"
        text = t(key, language)
        return label(aspect, language) if text == key else text

    quotes = [" · ".join(q if len(q) <= QUOTE_CHARS else q[:QUOTE_CHARS - 1] + "…" for q in (ex or [])[:QUOTES])
              for ex in top["examples"].to_list()]
    return pl.DataFrame({
        "aspect": [{lang: name(a, lang) for lang in LANGUAGES} for a in top["aspect"].to_list()],
        "complaint_share": top["complaint_share"], "quotes": quotes},
        schema={"aspect": pl.Struct({k: pl.String for k in LANGUAGES}), "complaint_share": pl.Float64,
                "quotes": pl.String})


def recovery_export(ctx: Context, result: Any) -> pl.DataFrame:
    """``voice_recovery.csv``: the customers to win back after a negative review, with the reason; priority
    descending (the most urgent, high value and most negative reviews, has the highest)."""
    table = result.recovery.to_frame(ctx.language)
    reasons = render_rows("report.reason.voice", {"day": (Day, table["review_date"]),
                                                  "aspect": (Label, table["aspect"].fill_null("other").to_list())},
                          ctx.language, ctx.currency)
    keep = [c for c in ("customer_id", "review_date", "rating", "aspect", "negative_reviews", "value_tier", "region",
                        "excerpt", "action") if c in table.columns]
    out = table.select(keep).with_columns(reason=pl.Series(reasons, dtype=pl.String),
                                          priority=(table.height + 1 - table["priority"]).cast(pl.Float64))
    return finish_export(out)


def voice(ctx: Context) -> SectionFigures:
    """Section "Voice of the customer": CSAT/NPS and their trend, top complaints with quotes, drivers, recovery."""
    from custlab.report.figures import json_ready

    result = voice_figures(ctx)
    tables = [Table(Text("report.voice.table", {}), headline_table(result),
                    {"metric": "label", "shown": "lang", "interval": "lang", "n": "count", "trust": "label"})]
    if result.aspects is not None:
        tables.append(Table(Text("report.voice.aspects_table", {}), aspect_table(result),
                            {"aspect": "lang", "complaint_share": "pct", "quotes": "data"}))
    exports = {}
    if result.recovery is not None and result.recovery.table.height:
        exports["voice_recovery.csv"] = recovery_export(ctx, result)
    csat = result.csat.overall["csat"] if result.csat is not None else None
    title = (Text("report.voice.title", {"csat": Pct(csat, 0), "n": Count(result.n_reviews)}) if csat is not None
             else Text("report.voice.title_reviews", {"n": Count(result.n_reviews)}))
    charts = (Chart("voice", title, partial(_draw_voice, result), height=8.0),)
    summary = {r["metric"]: {k: r[k] for k in ("value", "lower", "upper", "n", "trusted")}
               for r in result.summary.iter_rows(named=True)}
    top = result.aspects.top_complaint if result.aspects is not None else None
    values = json_ready({"figures": summary, "top_complaint": top, "trusted": dict(result.trusted),
                         "reviews": result.n_reviews})
    notes = (Text("report.voice.note", {}),)
    paragraphs = described(result.describe)
    if result.dated and paragraphs:  # the package writes as_of as 2025-01-01; the report writes its own dates
        last_day = result.as_of - dt.timedelta(days=1)  # reviews before as_of: up to and including its eve
        paragraphs = (Text("report.voice.headline", {"reviews": Count(result.n_reviews), "day": Day(last_day)}),
                      *paragraphs[1:])
    return SectionFigures("voice", paragraphs, tuple(tables), charts, values, exports=exports, notes=notes)


def _draw_voice(result: Any, language: str):
    from custlab.reviews.plots import plot_voice

    return plot_voice(result, language=language)
