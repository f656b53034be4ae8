"""The data-quality report of a cleaning run: every line accounted for, for the whole file or one period.

:class:`DataQualityReport` is what :func:`custlab.data.clean_transactions`
returns beside the clean table. It keeps the counts per day and reason, so
:meth:`DataQualityReport.for_period` can say what cleaning removed among the
lines of an analysed month without cleaning again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import polars as pl

from custlab._dates import as_datetime
from custlab._i18n import label, t
from custlab._types import DateLike, Frame
from custlab.data.io import ReadInfo

__all__ = ["DataQualityReport", "removed_table"]

_REMOVED_SCHEMA = {"reason": pl.String, "rows": pl.Int64, "share": pl.Float64, "amount": pl.Float64,
                   "description": pl.String}
_BY_DAY_SCHEMA = {"day": pl.Datetime("us"), "reason": pl.String, "rows": pl.Int64, "amount": pl.Float64,
                  "trimmed": pl.Int64}


def removed_table(by_day: pl.DataFrame, applied: tuple[str, ...], descriptions: Mapping[str, str]) -> pl.DataFrame:
    """Rows and amount removed per rule applied (0 where it removed nothing), from the per-day counts."""
    rows_in = int(by_day["rows"].sum())
    sums = dict(zip(*by_day.group_by("reason").agg(pl.col("rows").sum(), pl.col("amount").sum())
                    .select("reason", pl.struct("rows", "amount")).get_columns()))
    return pl.DataFrame(
        {
            "reason": list(applied),
            "rows": [int((sums.get(r) or {}).get("rows") or 0) for r in applied],
            "share": [int((sums.get(r) or {}).get("rows") or 0) / max(rows_in, 1) for r in applied],
            "amount": [float((sums.get(r) or {}).get("amount") or 0.0) for r in applied],
            "description": [descriptions[r] for r in applied],
        },
        schema=_REMOVED_SCHEMA,
    )


def _in_period(rows: object, start: dt.datetime, end: dt.datetime) -> object:
    """Removed rows dated in ``[start, end)``; rows left on another engine (:mod:`custlab.engine`) are filtered there."""
    if isinstance(rows, (pl.DataFrame, pl.LazyFrame)):
        return rows.filter(pl.col("order_date").is_between(start, end, closed="left"))
    import narwhals as nw

    return nw.to_native(nw.from_native(rows).filter((nw.col("order_date") >= start) & (nw.col("order_date") < end)))


def _name(reason: str, language: str) -> str:
    """A rule's name: the identifier in English (as passed to ``rules=``), translated otherwise."""
    return reason if language == "en" else label(reason, language)


@dataclass(frozen=True, eq=False)
class DataQualityReport:
    """What cleaning removed and changed, row by row accounted for.

    Attributes
    ----------
    rows_in, rows_kept
        Line counts before and after cleaning.
    removed
        One row per rule: ``reason`` (String), ``rows`` (Int64), ``share`` of
        rows in (Float64), ``amount`` (Float64, sum of the removed lines'
        finite amounts), ``description`` (String). Every rule that was applied
        is listed, with 0 where it removed nothing, so the table shows what
        was checked; a rule whose columns are absent (no ``product_id`` for
        ``non_product``) or that was not asked for (no ``as_of``) is not.
    changed
        One row per change made to kept rows: ``change``, ``rows``, ``description``.
    removed_rows
        The removed lines themselves with a ``reason`` column (a LazyFrame when
        the input was lazy).
    as_of
        The analysis date used by the ``after_as_of`` rule, or None.
    reversed_pairs
        One row per purchase removed as ``reversed`` with the line that undid
        it: ``customer_id``, ``product_id``, ``quantity``, ``unit_price``,
        ``amount``, ``order_id``, ``order_date`` (of the purchase),
        ``reversal_order_id``, ``reversal_date``; None when the rule was not applied.
    by_day
        Lines per day and reason (null reason: kept): ``day``, ``reason``,
        ``rows``, ``amount``, ``trimmed``; the source of :meth:`for_period`.
    source
        What reading the file found (:class:`~custlab.data.io.ReadInfo`), or None.
    period
        ``(start, end)`` when the report covers one period (:meth:`for_period`).
    """

    rows_in: int
    rows_kept: int
    removed: pl.DataFrame
    changed: pl.DataFrame
    removed_rows: Frame = field(repr=False)
    as_of: dt.datetime | None = None
    reversed_pairs: pl.DataFrame | None = field(default=None, repr=False)
    by_day: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=_BY_DAY_SCHEMA), repr=False)
    source: ReadInfo | None = field(default=None, repr=False)
    period: tuple[dt.datetime, dt.datetime] | None = None
    applied: tuple[str, ...] = field(default=(), repr=False)
    descriptions: Mapping[str, str] = field(default_factory=dict, repr=False)
    text_columns: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def from_counts(cls, by_day: pl.DataFrame, *, applied: tuple[str, ...], descriptions: Mapping[str, str],
                    text_columns: tuple[str, ...], removed_rows: Frame, as_of: dt.datetime | None = None,
                    reversed_pairs: pl.DataFrame | None = None, source: ReadInfo | None = None,
                    period: tuple[dt.datetime, dt.datetime] | None = None) -> DataQualityReport:
        """The report of the lines counted in ``by_day`` (``day``, ``reason``, ``rows``, ``amount``, ``trimmed``)."""
        by_day = by_day.select(pl.col(c).cast(d) for c, d in _BY_DAY_SCHEMA.items())
        kept = by_day.filter(pl.col("reason").is_null())
        columns = ", ".join(text_columns) or t("data.no_text_column", "en")
        changed = pl.DataFrame(
            {"change": ["trimmed_whitespace"], "rows": [int(kept["trimmed"].sum())],
             "description": [t("data.change.trimmed_whitespace", "en", columns=columns)]},
            schema={"change": pl.String, "rows": pl.Int64, "description": pl.String},
        )
        return cls(
            rows_in=int(by_day["rows"].sum()), rows_kept=int(kept["rows"].sum()),
            removed=removed_table(by_day, applied, descriptions), changed=changed, removed_rows=removed_rows,
            as_of=as_of, reversed_pairs=reversed_pairs, by_day=by_day, source=source, period=period,
            applied=applied, descriptions=dict(descriptions), text_columns=text_columns,
        )

    @property
    def rows_removed(self) -> int:
        return int(self.removed["rows"].sum())

    @property
    def reconciles(self) -> bool:
        """True when rows in = rows kept + rows removed over all reasons."""
        return self.rows_in == self.rows_kept + self.rows_removed

    @property
    def undated(self) -> int:
        """Lines without an order date (in no period; removed as ``missing_value`` when that rule runs)."""
        return int(self.by_day.filter(pl.col("day").is_null())["rows"].sum())

    @property
    def summary(self) -> pl.DataFrame:
        """The reasons that removed lines: ``reason``, ``rows``, ``share``, ``amount``."""
        return self.removed.filter(pl.col("rows") > 0).drop("description")

    def to_frame(self) -> pl.DataFrame:
        """The table of lines removed per rule (``removed``)."""
        return self.removed

    def for_period(self, start: DateLike, end: DateLike) -> DataQualityReport:
        """The same accounting for the lines dated in ``[start, end)`` (e.g. the analysed month).

        ``start`` and ``end`` are read by :func:`custlab._dates.as_datetime`
        and counted by day (a time within a day counts from that day's
        midnight). Lines without a date belong to no period (see ``undated``).

        Examples
        --------
        >>> import polars as pl, datetime as dt
        >>> from custlab.data import clean_transactions
        >>> tx = pl.DataFrame({"customer_id": [1, 1, None], "order_id": ["1", "2", "3"],
        ...     "order_date": [dt.datetime(2024, 1, 5), dt.datetime(2024, 2, 5), dt.datetime(2024, 2, 6)],
        ...     "amount": [5.0, 6.0, 7.0]})
        >>> report = clean_transactions(tx)[1].for_period("2024-02-01", "2024-03-01")
        >>> report.rows_in, report.rows_kept, report.rows_removed
        (2, 1, 1)
        """
        lo = as_datetime(start, "start")
        hi = as_datetime(end, "end")
        lo_day = dt.datetime.combine(lo.date(), dt.time())
        hi_day = dt.datetime.combine(hi.date(), dt.time())
        if hi.time() != dt.time():  # a time within a day counts that whole day
            hi_day += dt.timedelta(days=1)
        inside = pl.col("day").is_between(lo_day, hi_day, closed="left")
        dated = pl.col("order_date").is_between(lo_day, hi_day, closed="left")
        pairs = self.reversed_pairs
        if pairs is not None:
            pairs = pairs.filter(dated | pl.col("reversal_date").is_between(lo_day, hi_day, closed="left"))
        return DataQualityReport.from_counts(
            self.by_day.filter(inside), applied=self.applied, descriptions=self.descriptions,
            text_columns=self.text_columns, removed_rows=_in_period(self.removed_rows, lo_day, hi_day), as_of=self.as_of,
            reversed_pairs=pairs, source=self.source, period=(lo_day, hi_day),
        )

    def before(self, end: DateLike) -> DataQualityReport:
        """The same accounting for every dated line before ``end`` (e.g. a report's analysis date).

        The whole file's counts mix two scopes when cleaning ran with an
        analysis date: a line after it is counted under the first rule it
        meets, so a cancellation or a line without a customer counts under
        its own reason, but a duplicate or an undone purchase only as
        ``after_as_of``. Counting the lines before ``end`` only puts every
        reason on the same lines. Lines without a date are in no period
        (see ``undated``).

        Examples
        --------
        >>> import polars as pl, datetime as dt
        >>> from custlab.data import clean_transactions
        >>> tx = pl.DataFrame({"customer_id": [1, None, None], "order_id": ["1", "2", "3"],
        ...     "order_date": [dt.datetime(2024, 1, 5), dt.datetime(2024, 1, 6), dt.datetime(2024, 2, 6)],
        ...     "amount": [5.0, 6.0, 7.0]})
        >>> report = clean_transactions(tx, as_of="2024-02-01")[1].before("2024-02-01")
        >>> report.rows_in, report.rows_kept, report.rows_removed
        (2, 1, 1)
        """
        days = self.by_day["day"].drop_nulls()
        first = days.min() if days.len() else None
        return self.for_period(first if first is not None else end, end)

    def to_dict(self) -> dict:
        """Plain-Python summary, ready for (strict) JSON."""
        return {
            "rows_in": self.rows_in,
            "rows_kept": self.rows_kept,
            "rows_removed": self.rows_removed,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "period": [d.isoformat() for d in self.period] if self.period else None,
            "removed": self.removed.to_dicts(),
            "changed": self.changed.to_dicts(),
            "reversed_pairs": 0 if self.reversed_pairs is None else self.reversed_pairs.height,
            "source": self.source.to_dict() if self.source else None,
        }

    def text(self, language: str = "en") -> str:
        """The report as lines of text in ``language`` (``"en"`` or ``"zh"``)."""
        head = t("data.report_head", language, rows_in=f"{self.rows_in:,}", kept=f"{self.rows_kept:,}",
                 removed=f"{self.rows_removed:,}")
        if self.period:
            head += t("data.report_period", language, start=f"{self.period[0]:%Y-%m-%d}",
                      end=f"{self.period[1] - dt.timedelta(days=1):%Y-%m-%d}")
        if self.as_of:
            head += t("data.report_as_of", language, date=f"{self.as_of:%Y-%m-%d}")
        lines = [head]
        if self.source is not None:
            lines += [f"  {s}" for s in self.source.sentences(language)]
        for row in self.removed.filter(pl.col("rows") > 0).iter_rows(named=True):
            lines.append(t("data.report_removed", language, reason=_name(row["reason"], language),
                           rows=f"{row['rows']:,}", share=f"{row['share']:.2%}",
                           description=t(f"data.rule.{row['reason']}", language)))
        columns = ", ".join(self.text_columns) or t("data.no_text_column", language)
        for row in self.changed.filter(pl.col("rows") > 0).iter_rows(named=True):
            lines.append(t("data.report_changed", language, change=_name(row["change"], language),
                           rows=f"{row['rows']:,}",
                           description=t(f"data.change.{row['change']}", language, columns=columns)))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text("en")

    def __repr__(self) -> str:
        period = f", period={self.period[0]:%Y-%m-%d}..{self.period[1]:%Y-%m-%d}" if self.period else ""
        return (f"DataQualityReport(rows_in={self.rows_in:,}, rows_kept={self.rows_kept:,}, "
                f"rows_removed={self.rows_removed:,}{period})")

    def _repr_html_(self) -> str:
        head = (f"<p><b>{self.rows_in:,}</b> lines in, <b>{self.rows_kept:,}</b> kept, "
                f"<b>{self.rows_removed:,}</b> removed.</p>")
        return head + self.removed._repr_html_() + self.changed._repr_html_()

    def with_source(self, source: ReadInfo) -> DataQualityReport:
        """The same report stating what reading the file found."""
        return replace(self, source=source)
