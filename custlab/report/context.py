"""The working state of one report computation: the month's data, settings and shared results.

A :class:`Context` is built once by :func:`custlab.report.figures.compute_month`
and handed to every section function. It holds the history (cleaned orders
before ``as_of``), this month's orders, the side tables, the settings, and a
cache of results several sections share (RFM segments, CLV values, ...). A
shared result that failed is cached as its error, so every section that
needs it fails the same way, once computed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import polars as pl

from custlab.report.months import COMPLETE_SLACK_DAYS, MonthSpec, previous_month, same_month_last_year
from custlab.report.parts import SectionFigures, Skipped

__all__ = ["DEFAULTS", "RESPONSE_RATES", "Context", "Window"]

T = TypeVar("T")

#: Settings of the analyses, quoted in the methods section; override with ``options=``.
DEFAULTS: dict[str, Any] = {
    "dormant_days": 60,
    "inactivity_days": 90,
    "clv_months": 12,
    "annual_discount_rate": 0.10,
    "rules_min_support": 0.01,
    "rules_min_confidence": 0.3,
    "rules_months": 12,
    "warning_days": 30,
    "trend_months": 24,
    "seed": 0,
}

#: Assumed response rates per action (share of targeted customers who act on it). They are not
#: measured; the report states them and ``response_rates=`` (``--response-rate``) overrides them.
RESPONSE_RATES: dict[str, float] = {
    "exclusive_benefits": 0.10, "cross_category_coupon": 0.06, "win_back_offer": 0.04, "win_back_personal": 0.08, "win_back_premium": 0.08,
    "low_cost_nurture": 0.02, "reward_and_refer": 0.10, "upsell_membership": 0.08, "loyalty_programme": 0.06,
    "onboarding": 0.10, "build_awareness": 0.03, "limited_time_offer": 0.05, "reengage_popular": 0.04,
    "personal_reconnect": 0.05, "low_cost_reactivation": 0.02, "general_newsletter": 0.01,
    "early_warning_outreach": 0.08, "second_order_nudge": 0.10, "cross_sell": 0.05,
}


@dataclass(frozen=True)
class Window:
    """A span of days ``[start, end)`` to compare this month with; ``label`` is its month."""

    start: dt.datetime
    end: dt.datetime
    month: dt.date


#: The tables a section reads (the others stay in ``Context.extra_tables``).
_KNOWN = frozenset({"transactions", "customers", "events", "marketing_spend", "reviews", "campaigns", "touches", "orders",
                    "surveys"})


def _collect(frame: Any) -> pl.DataFrame | None:
    if frame is None:
        return None
    return frame.collect() if isinstance(frame, pl.LazyFrame) else frame


def _on_engine(transactions: Any, as_of: dt.datetime) -> Any:
    """The lines before ``as_of``, still on their engine (a query, nothing is read)."""
    import narwhals as nw

    from custlab.engine import accepts

    if not accepts(transactions):
        from custlab.exceptions import CustlabError

        raise CustlabError(f"tables['transactions'] must be a polars DataFrame or LazyFrame, or a lazy table of an "
                           f"engine (DuckDB relation, PySpark DataFrame); got {type(transactions).__name__}.")
    return nw.to_native(nw.from_native(transactions).filter(nw.col("order_date") < as_of))


class Context:
    """Data, settings and shared results of one month's report (see the module docstring)."""

    def __init__(
        self,
        tables: Mapping[str, Any],
        *,
        month: MonthSpec,
        language: str = "en",
        quality: Any = None,
        source: Mapping[str, object] | None = None,
        previous: Mapping | None = None,
        currency: str | None = None,
        margin: float | None = None,
        response_rates: Mapping[str, float] | None = None,
        options: Mapping[str, object] | None = None,
    ) -> None:
        self.month = month
        self.language = language
        self.as_of = month.as_of
        self.start = month.start
        self.quality = quality
        self.source = dict(source or {})
        self.source.setdefault("name", "data")
        self.options = {**DEFAULTS, **dict(options or {})}
        self.margin = margin
        self.response_rates = {**RESPONSE_RATES, **dict(response_rates or {})}
        transactions = tables.get("transactions")
        if transactions is None:
            from custlab.exceptions import CustlabError

            raise CustlabError("The monthly report needs a transactions table (tables['transactions']).")
        #: The lines on their engine (DuckDB relation, Spark DataFrame) for ``custlab report --engine``, else None.
        self.engine: Any = None if isinstance(transactions, (pl.DataFrame, pl.LazyFrame)) else _on_engine(transactions, self.as_of)
        if self.engine is None:
            self.history: pl.DataFrame = transactions.lazy().filter(pl.col("order_date") < self.as_of).collect()
            self.this_month = self.history.filter(pl.col("order_date") >= self.start)
            first = self.history["order_date"].min() if self.history.height else None
        else:  # the lines stay on the engine: no history in memory; sections use custlab.report.figures_engine
            from custlab.engine.report import span

            self.history = self.this_month = None  # type: ignore[assignment]
            first = span(self.engine)["first"]
        self.customers = _collect(tables.get("customers"))
        self.events = _collect(tables.get("events"))
        self.spend = _collect(tables.get("marketing_spend"))
        self.reviews = _collect(tables.get("reviews"))
        self.campaigns = _collect(tables.get("campaigns"))
        self.touches = _collect(tables.get("touches"))
        self.orders = _collect(tables.get("orders"))  # delivery dates per order, for the voice of the customer
        self.surveys = _collect(tables.get("surveys"))  # NPS answers
        self.extra_tables = {k: v for k, v in tables.items() if k not in _KNOWN}
        self.read_infos: dict[str, Any] = dict(getattr(source, "infos", None) or {})  # ReadInfo per table
        recognised = str(self.source.get("currency") or "").upper() or None
        self.currency = currency or recognised or self._currency_from_data()
        #: Where the currency comes from: "option" (given), "recognised" (known data), "column" or None.
        self.currency_from = ("option" if currency else "recognised" if recognised else
                              "column" if self.currency else None)
        self.first_date: dt.date | None = first.date() if isinstance(first, dt.datetime) else first
        self.previous = dict(previous) if previous and self._comparable(previous) else None
        self.previous_given = previous is not None
        self.parts: dict[str, SectionFigures] = {}
        self.skipped: list[Skipped] = []
        self._cache: dict[str, Any] = {}
        self.notes: dict[str, Any] = {}  # what a shared step did that a section reports (e.g. a retried fit)

    # -- shared results ------------------------------------------------------------------------------------
    def cached(self, name: str, build: Callable[[], T]) -> T:
        """``build()`` once per report; an error is cached and raised again on every later call.

        When ``name`` was handed to the helper process (:meth:`hand_over`), its
        result is taken from there; if the helper did not do it, ``build()`` runs here.
        """
        if name in self._cache and self._cache[name][0] == "helper":
            from custlab.report import helper

            result = helper.outcome(self._cache[name][1])
            if result is helper.NOT_DONE:
                del self._cache[name]
            else:
                self._cache[name] = ("ok", result)
        if name not in self._cache:
            try:
                self._cache[name] = ("ok", build())
            except Exception as err:  # noqa: BLE001 - re-raised below, for every section that needs it
                self._cache[name] = ("error", err)
        state, value = self._cache[name]
        if state == "error":
            raise value
        return value

    def cached_call(self, name: str, call: tuple[Callable[..., T], tuple, dict[str, Any]]) -> T:
        """``function(*args, **kwargs)`` of ``call`` once per report, as :meth:`cached`."""
        function, args, kwargs = call
        return self.cached(name, lambda: function(*args, **kwargs))

    def hand_over(self, name: str, call: tuple[Callable[..., Any], tuple, dict[str, Any]]) -> None:
        """Start ``call`` in the report's helper process (when one runs), for :meth:`cached_call` to pick up.

        ``function`` must be importable (module-level) and its arguments
        picklable; the helper runs exactly the call this process would.
        """
        from custlab.report import helper

        if name not in self._cache:
            function, args, kwargs = call
            future = helper.call_later(function, *args, **kwargs)
            if future is not None:
                self._cache[name] = ("helper", future)

    def value(self, section: str, key: str, default: Any = None) -> Any:
        """A number another section computed (None when that section did not run)."""
        part = self.parts.get(section)
        return default if part is None else part.values.get(key, default)

    # -- comparison windows ----------------------------------------------------------------------------------
    def _covered(self, start: dt.datetime) -> bool:
        return self.first_date is not None and self.first_date <= start.date() + dt.timedelta(days=COMPLETE_SLACK_DAYS)

    def _window(self, month: dt.date) -> Window | None:
        start = dt.datetime.combine(month, dt.time())
        if not self._covered(start):
            return None
        if self.month.partial:  # like for like: the same number of days from the month's start
            end = start + dt.timedelta(days=self.month.days)
        else:
            end = dt.datetime.combine(month.replace(day=28) + dt.timedelta(days=4), dt.time()).replace(day=1)
        return Window(start, end, month)

    @property
    def previous_window(self) -> Window | None:
        """Last month (its first ``days`` days for a partial month), when the data cover it."""
        return self._window(previous_month(self.start.date()))

    @property
    def year_ago_window(self) -> Window | None:
        """The same month a year earlier (same days for a partial month), when the data cover it."""
        return self._window(same_month_last_year(self.start.date()))

    # -- helpers -----------------------------------------------------------------------------------------------
    def _currency_from_data(self) -> str | None:
        if self.engine is not None:
            from custlab.engine.report import currencies

            codes = currencies(self.engine)
        elif "currency" not in self.history.columns:
            return None
        else:
            codes = self.history["currency"].drop_nulls().unique().to_list()
        return str(codes[0]).upper() if len(codes) == 1 else None

    def _comparable(self, previous: Mapping) -> bool:
        before = previous.get("source") or {}
        if not isinstance(before, Mapping):
            return False
        same = (before.get("name") == self.source.get("name")
                and before.get("sample_size", 0) == self.source.get("sample_size", 0))
        month_before = f"{previous_month(self.start.date()):%Y-%m}"
        return same and previous.get("month") == month_before and not previous.get("partial", False)

    @property
    def source_name(self) -> Any:
        """How the report names the data: the file name as is, or the built-in shop in the report's words."""
        from custlab.report.text import Count, Data, Text

        fingerprint = str(self.source.get("fingerprint") or "")
        if fingerprint.startswith("synthetic:"):
            parts = fingerprint.split(":")
            if len(parts) >= 3 and parts[1].isdigit():
                return Text("report.source.synthetic", {"n": Count(int(parts[1])), "seed": Data(parts[2])})
        return Data(self.source.get("name", ""))

    def setting(self, name: str) -> Any:
        """One of :data:`DEFAULTS`, as overridden by ``options``."""
        return self.options[name]
