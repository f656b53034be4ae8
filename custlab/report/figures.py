"""Every number the monthly report quotes, computed once into a frozen :class:`MonthlyFigures`.

:func:`compute_month` runs the report's sections in the order a manager asks
(:data:`SECTIONS`): what happened (trend), who the customers are (portrait),
value tiers and CLV, churn and retention, the early-warning list, what they
buy together, the demand outlook, the funnel, channels, campaign results,
channel attribution, the voice of the customer, problems, actions, the next
best action per customer, and methods and data quality. Each section is one function ``Context -> SectionFigures`` run in
its own guarded step: a section whose table is absent is recorded in
:attr:`MonthlyFigures.skipped` as ``absent``, one that raises as ``failed``
(with the reason and what would fix it, in English and Chinese), and the
others go on. Adding a section is one function and one entry in
:data:`SECTIONS` (plus its title ``report.section.<key>`` in the catalogue).

The figures are language-neutral (sentences are :class:`~custlab.report.text.Text`),
so :func:`custlab.report.html.render_html` can write them in any language.
``key_figures()`` is the strict-JSON summary read back next month for the
month-over-month comparison; ``exports()`` are the CRM lists.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from custlab._types import LANGUAGES
from custlab.report import figures_actions, figures_baskets, figures_churn, figures_clv, figures_customers, figures_sales
from custlab.report import figures_campaigns, figures_marketing, figures_nba, figures_outlook, figures_voice
from custlab.report.context import DEFAULTS, Context
from custlab.report.months import MonthSpec
from custlab.report.parts import KPI, Absent, Finding, SectionFigures, Skipped
from custlab.report.text import Data, MonthName, Text, render, render_value

__all__ = ["SECTIONS", "MonthlyFigures", "compute_month", "json_ready"]

SectionFn = Callable[[Context], SectionFigures]

#: The report's sections in reading order: (key, function). Add a section here.
SECTIONS: tuple[tuple[str, SectionFn], ...] = (
    ("trend", figures_sales.trend),
    ("portrait", figures_sales.portrait),
    ("segments", figures_customers.segments),
    ("clv", figures_clv.clv),
    ("retention", figures_churn.retention),
    ("early_warning", figures_churn.early_warning),
    ("baskets", figures_baskets.baskets),
    ("outlook", figures_outlook.outlook),
    ("funnel", figures_marketing.funnel),
    ("channels", figures_marketing.channels),
    ("campaigns", figures_campaigns.campaigns),
    ("attribution", figures_campaigns.attribution),
    ("voice", figures_voice.voice),
    ("problems", figures_actions.problems),
    ("actions", figures_actions.actions),
    ("nba", figures_nba.nba),
    ("methods", figures_actions.methods),
)

#: The analyses the report's helper process starts on while the kernel computes the sections before theirs:
#: (section, cache name, the call's builder), the longest first. Each is slow, needs no other section, and has
#: small results. What the helper has not started when its section comes is done by the kernel.
HAND_OVER: tuple[tuple[str, str, Callable[[Context], tuple[Any, tuple, dict[str, Any]]]], ...] = (
    ("nba", "nba_recommendations", figures_nba.recommendations_call),
    ("outlook", "demand_outlook", figures_outlook.outlook_call),
    ("voice", "voice", figures_voice.voice_call),
)

#: How many findings the first screen shows.
TOP_FINDINGS = 5


#: The files whose ``priority`` ``exports/README.txt`` explains, in the order it does.
_PRIORITY_ORDER = ("actions", "next_best_action", "early_warning", "segments", "voice_recovery", "cross_sell", "rules")


@dataclass(frozen=True)
class MonthlyFigures:
    """Everything the month's report shows; built by :func:`compute_month`, rendered by :mod:`custlab.report.html`.

    Attributes
    ----------
    month
        The analysed month (:class:`~custlab.report.months.MonthSpec`).
    language
        The language asked for (the figures themselves are language-neutral).
    currency
        ISO code of the amounts, or None when neither the data nor the caller say.
    source
        ``name`` (and ``fingerprint``, ``sample_size``) of the data.
    kpis
        The first screen's tiles, with last month's and last year's values where known.
    findings
        Up to five sentences, ranked by the money at stake.
    parts
        The sections that rendered, by key, in report order.
    skipped
        Sections not rendered: the data lack their table (``absent``) or they failed.
    masthead
        Lines under the title (data, period, currency).
    partial_note
        The banner of a partial month.
    settings
        The analyses' settings (:data:`~custlab.report.context.DEFAULTS` as overridden).
    source_name
        How the page names the data (a :mod:`~custlab.report.text` field).
    order
        Keys of all sections in report order (:data:`SECTIONS` when computed).
    """

    month: MonthSpec
    language: str
    currency: str | None
    source: Mapping[str, object]
    kpis: tuple[KPI, ...]
    findings: tuple[Finding, ...]
    parts: Mapping[str, SectionFigures]
    skipped: tuple[Skipped, ...]
    masthead: tuple[Text, ...] = ()
    partial_note: Text | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    source_name: Any = None
    order: tuple[str, ...] = tuple(key for key, _ in SECTIONS)

    @property
    def sections(self) -> tuple[str, ...]:
        """Keys of the sections shown (rendered or failed), in report order."""
        failed = {s.section for s in self.skipped if s.kind == "failed"}
        return tuple(key for key in self.order if key in self.parts or key in failed)

    def key_figures(self) -> dict[str, Any]:
        """The month's headline numbers as strict JSON (no NaN, inf or null where a number belongs)."""
        out: dict[str, Any] = {
            "month": self.month.month, "as_of": self.month.as_of.isoformat(), "partial": self.month.partial,
            "days": self.month.days, "last_data_date": self.month.last_data_date.isoformat(),
            "source": dict(self.source), "currency": self.currency or "",
            "kpis": {k.key: k.value for k in self.kpis},
            "sections": {key: dict(part.values) for key, part in self.parts.items()},
            "skipped": [{"section": s.section, "kind": s.kind, "reason": s.reason.get("en", ""),
                         "reasons": dict(s.reason), "error": s.error} for s in self.skipped],
            "settings": dict(self.settings),
        }
        for kpi in self.kpis:  # flat copies of the KPIs, as earlier versions wrote them
            out.setdefault(kpi.key, kpi.value)
        return json_ready(out)

    def exports(self) -> dict[str, pl.DataFrame]:
        """CRM lists by relative path (``"actions/win_back_offer.csv"`` ...), each with ``reason`` and ``priority``."""
        out: dict[str, pl.DataFrame] = {}
        for part in self.parts.values():
            out.update(part.exports)
        return out

    def exports_readme(self, language: str = "en") -> str:
        """Text of ``exports/README.txt``: one line per exported file, what it holds."""
        from custlab._i18n import t

        lines = [t("report.exports.readme_head", language, month=render_value(MonthName(self.month.month), language))]
        stems: list[str] = []
        for path, frame in sorted(self.exports().items()):
            stem = path.split("/")[0] if "/" in path else path.rsplit(".", 1)[0]
            stems.append(stem)
            what = t(f"report.exports.{stem}", language, window=self.settings.get("inactivity_days", ""),
                     horizon=self.settings.get("warning_days", ""))
            lines.append(f"{path}: {what} ({frame.height:,} " + t("report.exports.rows", language) + ")")
        # what priority means, for the files this folder holds only
        clauses = [t(f"report.exports.priority.{stem}", language) for stem in _PRIORITY_ORDER if stem in stems]
        if clauses:
            zh = language == "zh"
            lines.append(t("report.exports.priority_head", language) + ("" if zh else " ")
                         + ("；" if zh else "; ").join(clauses) + ("。" if zh else "."))
        return "\n".join(lines) + "\n"

    def __repr__(self) -> str:
        skipped = f", skipped {', '.join(s.section for s in self.skipped)}" if self.skipped else ""
        return f"MonthlyFigures({self.month.month}{' partial' if self.month.partial else ''}, " \
               f"{len(self.parts)} sections{skipped})"


def json_ready(value: Any) -> Any:
    """``value`` with non-finite floats and None dropped from mappings, numpy and dates made plain."""
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            clean = json_ready(v)
            if clean is not None:
                out[str(k)] = clean
        return out
    if isinstance(value, (list, tuple)):
        return [v for v in (json_ready(v) for v in value) if v is not None]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, (int, float)):  # numpy scalar
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, int):
        return value
    return str(value)


def _skip(key: str, err: Exception) -> Skipped:
    if isinstance(err, Absent):
        return Skipped(key, "absent", {lang: render(err.reason, lang) for lang in LANGUAGES},
                       {lang: render(err.fix, lang) for lang in LANGUAGES})
    message = str(err).strip() or type(err).__name__
    error = f"{type(err).__name__}: {message}"
    return Skipped(
        key, "failed",
        {lang: render(Text("report.failed.reason", {"error": Data(error)}), lang) for lang in LANGUAGES},
        {lang: render(Text("report.failed.fix", {}), lang) for lang in LANGUAGES},
        error,
    )


def run_sections(ctx: Context, sections: tuple[tuple[str, SectionFn], ...] | None = None) -> None:
    """Run each section (default :data:`SECTIONS`) in its own guarded step, into ``ctx.parts`` and ``ctx.skipped``.

    When the report's helper process runs (:mod:`custlab.report.helper`, in ``custlab report``'s kernel), the
    analyses of :data:`HAND_OVER` whose section is to run go to it first, and each section's charts go to it as
    soon as the section is done, in the report's language.
    """
    from custlab.report import helper

    sections = SECTIONS if sections is None else sections
    if helper.active() and ctx.engine is None:
        keys = {key for key, _ in sections}
        for key, name, call in HAND_OVER:
            if key in keys:
                try:
                    ctx.hand_over(name, call(ctx))
                except Exception:  # noqa: BLE001 - absent or failing: the section itself says why
                    pass
    from custlab.report.html import draw_later

    for key, build in sections:
        try:
            ctx.parts[key] = build(ctx)
        except Exception as err:  # noqa: BLE001 - one failing analysis must not stop the report
            ctx.skipped.append(_skip(key, err))
            continue
        if helper.active():
            for chart in ctx.parts[key].charts:
                draw_later(chart, language=ctx.language)


def compute_month(
    tables: Mapping[str, pl.DataFrame | pl.LazyFrame | None],
    *,
    month: MonthSpec,
    quality: Any = None,
    source: Mapping[str, object] | None = None,
    previous: Mapping | None = None,
    language: str = "en",
    currency: str | None = None,
    margin: float | None = None,
    response_rates: Mapping[str, float] | None = None,
    options: Mapping[str, object] | None = None,
) -> MonthlyFigures:
    """Compute every figure of the month's report.

    Parameters
    ----------
    tables
        ``transactions`` (required, already cleaned; orders at or after
        ``month.as_of`` are ignored), and optionally ``customers``, ``events``,
        ``marketing_spend``, ``reviews`` (None or absent when the data lack them).
        ``transactions`` may be a DuckDB relation or a PySpark DataFrame: then
        every figure is aggregated on that engine and the sections that need
        every customer in memory are listed as absent
        (:mod:`custlab.report.figures_engine`).
    month
        From :func:`custlab.report.months.check_month`.
    quality
        The cleaning report (:class:`custlab.data.DataQualityReport`), for the
        methods section; its removed rows are counted for the analysed month.
    source
        ``{"name": ..., "fingerprint": ..., "sample_size": ...}`` naming the data.
    previous
        Last month's ``key_figures()`` (read from its ``key_figures.json``), or
        None. Used only when it is the calendar month before, of the same data.
    language
        Recorded as the report's language; the figures are language-neutral.
    currency
        ISO code of the amounts (``"GBP"``); default: the data's ``currency``
        column when it holds one code, else none (amounts without a symbol).
    margin
        Profit share of revenue for CLV (default: CLV is revenue).
    response_rates
        Assumed response rate per action id, overriding :data:`~custlab.report.context.RESPONSE_RATES`.
    options
        Overrides of :data:`~custlab.report.context.DEFAULTS` (``dormant_days``, ...).

    Returns
    -------
    MonthlyFigures
    """
    from custlab._i18n import check_language

    check_language(language)
    unknown = sorted(set(options or {}) - set(DEFAULTS))
    if unknown:
        from custlab.exceptions import CustlabError

        raise CustlabError(f"Unknown report option(s) {unknown}; known: {sorted(DEFAULTS)}.")
    ctx = Context(tables, month=month, language=language, quality=quality, source=source, previous=previous, currency=currency,
                  margin=margin, response_rates=response_rates, options=options)
    if ctx.engine is None:
        run_sections(ctx)
    else:  # the lines are on DuckDB or Spark: every figure aggregated there (custlab report --engine)
        from custlab.report import figures_engine

        run_sections(ctx, figures_engine.SECTIONS)
    kpis: tuple[KPI, ...] = ()
    try:
        kpis = figures_sales.kpis(ctx)
    except Exception as err:  # noqa: BLE001 - the tiles failing must not stop the report
        ctx.skipped.append(_skip("overview", err))
    findings = sorted((f for part in ctx.parts.values() for f in part.findings), key=lambda f: -abs(f.money))
    return MonthlyFigures(
        month=month, language=language, currency=ctx.currency, source=dict(ctx.source), kpis=kpis,
        findings=tuple(findings[:TOP_FINDINGS]), parts=dict(ctx.parts), skipped=tuple(ctx.skipped),
        masthead=figures_sales.masthead(ctx), partial_note=figures_sales.partial_note(ctx),
        settings={k: ctx.options[k] for k in DEFAULTS} | {"margin": margin or 1.0}, source_name=ctx.source_name,
        order=tuple(key for key, _ in SECTIONS),
    )
