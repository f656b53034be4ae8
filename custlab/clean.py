"""Cleaning of transactions with a data-quality report that accounts for every row.

:func:`clean_transactions` removes what an analysis of customer value should
not see (cancellations, returns, lines without a customer, free or negative
prices, postage and fee lines, orders after the analysis date, exact
duplicates) and returns the clean table together with a
:class:`DataQualityReport`. Nothing is dropped silently: each removed row gets
exactly one reason, the first rule it meets in the order of ``RULES``, and
``rows_in == rows_kept + sum(removed.rows)`` always holds. The removed rows
themselves stay available in ``report.removed_rows`` with their reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import polars as pl

from custlab.exceptions import CustlabError
from custlab.schema import Frame, as_datetime, check_frame, is_lazy, validate

Rule = Literal[
    "cancelled",
    "returned",
    "missing_customer",
    "missing_value",
    "non_positive_price",
    "non_product",
    "after_as_of",
    "duplicate",
]

#: Cleaning rules in the order they are applied; a row is removed for the first one it meets.
RULES: dict[str, str] = {
    "cancelled": "order id marks a cancellation (matches cancel_pattern)",
    "returned": "non-positive quantity or negative amount (return or correction)",
    "missing_customer": "no customer_id",
    "missing_value": "no order_date or no amount",
    "non_positive_price": "unit price (or, without one, amount) zero or negative",
    "non_product": "not a product: postage, fees, manual adjustments (non_product_ids)",
    "after_as_of": "order dated at or after the analysis date as_of",
    "duplicate": "exact copy of an earlier line (the first copy is kept)",
}

#: Product ids of lines that are not goods, as found in the UCI Online Retail data:
#: postage (POST, DOT, C2), manual entries (M), discounts (D), fees (AMAZONFEE,
#: BANK CHARGES), charity (CRUK), bad-debt adjustments (B). Pass your own with
#: ``non_product_ids=``.
NON_PRODUCT_IDS: tuple[str, ...] = ("POST", "DOT", "M", "C2", "D", "AMAZONFEE", "BANK CHARGES", "CRUK", "B")
NON_PRODUCT_PATTERN = r"^gift_0001_"

_TEXT_COLUMNS = ("product_id", "product_name", "category", "channel")


@dataclass
class DataQualityReport:
    """What cleaning removed and changed, row by row accounted for.

    Attributes
    ----------
    rows_in, rows_kept
        Line counts before and after cleaning.
    removed
        One row per rule: ``reason`` (String), ``rows`` (Int64), ``share`` of
        rows in (Float64), ``amount`` (Float64, sum of the removed lines'
        amounts), ``description`` (String). Every rule that was applied is
        listed, with 0 where it removed nothing, so the table shows what was
        checked; a rule whose columns are absent (no ``product_id`` for
        ``non_product``) or that was not asked for (no ``as_of``) is not.
    changed
        One row per change made to kept rows: ``change``, ``rows``, ``description``.
    removed_rows
        The removed lines themselves with a ``reason`` column (a LazyFrame when
        the input was lazy).
    as_of
        The analysis date used by the ``after_as_of`` rule, or None.
    """

    rows_in: int
    rows_kept: int
    removed: pl.DataFrame
    changed: pl.DataFrame
    removed_rows: Frame = field(repr=False)
    as_of: dt.datetime | None = None

    @property
    def rows_removed(self) -> int:
        return int(self.removed["rows"].sum())

    @property
    def reconciles(self) -> bool:
        """True when rows in = rows kept + rows removed over all reasons."""
        return self.rows_in == self.rows_kept + self.rows_removed

    def to_dict(self) -> dict:
        """Plain-Python summary, ready for JSON."""
        return {
            "rows_in": self.rows_in,
            "rows_kept": self.rows_kept,
            "rows_removed": self.rows_removed,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "removed": self.removed.to_dicts(),
            "changed": self.changed.to_dicts(),
        }

    def __str__(self) -> str:
        lines = [
            f"{self.rows_in:,} lines in, {self.rows_kept:,} kept, {self.rows_removed:,} removed"
            + (f" (analysis date {self.as_of:%Y-%m-%d})" if self.as_of else ""),
        ]
        for row in self.removed.filter(pl.col("rows") > 0).iter_rows(named=True):
            lines.append(f"  - {row['reason']}: {row['rows']:,} lines ({row['share']:.2%}): {row['description']}")
        for row in self.changed.filter(pl.col("rows") > 0).iter_rows(named=True):
            lines.append(f"  * changed, {row['change']}: {row['rows']:,} lines: {row['description']}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = f"<p><b>{self.rows_in:,}</b> lines in, <b>{self.rows_kept:,}</b> kept, <b>{self.rows_removed:,}</b> removed.</p>"
        return head + self.removed._repr_html_() + self.changed._repr_html_()


def _rule_expr(rule: str, names: list[str], *, cancel_pattern: str | None, non_product_ids, non_product_pattern,
               as_of: dt.datetime | None) -> pl.Expr | None:
    """The condition that marks a row for ``rule``, or None when the columns it needs are absent."""
    if rule == "cancelled":
        if not cancel_pattern:
            return None
        return pl.col("order_id").cast(pl.String).str.contains(cancel_pattern)
    if rule == "returned":
        cond = pl.col("amount") < 0
        if "quantity" in names:
            cond = cond | (pl.col("quantity") <= 0)
        return cond
    if rule == "missing_customer":
        return pl.col("customer_id").is_null()
    if rule == "missing_value":
        return pl.col("order_date").is_null() | pl.col("amount").is_null() | pl.col("amount").is_nan()
    if rule == "non_positive_price":
        return (pl.col("unit_price") <= 0) if "unit_price" in names else (pl.col("amount") <= 0)
    if rule == "non_product":
        if "product_id" not in names:
            return None
        cond = pl.col("product_id").is_in(list(non_product_ids or []))
        if non_product_pattern:
            cond = cond | pl.col("product_id").str.contains(non_product_pattern)
        return cond
    if rule == "after_as_of":
        return None if as_of is None else pl.col("order_date") >= pl.lit(as_of)
    if rule == "duplicate":
        return ~pl.struct(names).is_first_distinct()
    raise CustlabError(f"Unknown cleaning rule {rule!r}; the rules are {list(RULES)}.")


def clean_transactions(
    transactions: Frame,
    *,
    as_of: dt.date | dt.datetime | str | None = None,
    rules: Sequence[Rule] = tuple(RULES),
    cancel_pattern: str | None = r"^C",
    non_product_ids: Sequence[str] = NON_PRODUCT_IDS,
    non_product_pattern: str | None = NON_PRODUCT_PATTERN,
) -> tuple[Frame, DataQualityReport]:
    """Remove lines that are not customer purchases, and account for each one.

    Parameters
    ----------
    transactions
        Canonical transactions (validated here if not already): ``customer_id``,
        ``order_id``, ``order_date``, ``amount``; ``quantity``, ``unit_price``
        and ``product_id`` enable the rules that use them.
    as_of
        Analysis date: lines at or after it are removed (rule ``after_as_of``).
        A date means midnight at its start. None skips the rule.
    rules
        Which rules to apply (any subset of ``RULES``; the order of
        application is always that of ``RULES``).
    cancel_pattern
        Regular expression on ``order_id`` (as text) that marks cancellations;
        the default ``^C`` is the Online Retail convention.
    non_product_ids, non_product_pattern
        Product ids, and a pattern, of lines that are not goods.

    Returns
    -------
    (clean, report)
        ``clean`` has the input's columns and the same frame kind (LazyFrame in,
        LazyFrame out; the report's counts are computed in one pass).
        Whitespace around text in ``product_id``, ``product_name``,
        ``category`` and ``channel`` is trimmed and counted as a change.

    Examples
    --------
    >>> import polars as pl, datetime as dt
    >>> tx = pl.DataFrame({"customer_id": [1, 1, None, 2], "order_id": ["1", "C2", "3", "4"],
    ...     "order_date": [dt.datetime(2024, 1, d) for d in (1, 2, 3, 4)], "amount": [5.0, -5.0, 3.0, 8.0]})
    >>> clean, report = clean_transactions(tx)
    >>> clean.height, report.rows_removed, report.reconciles
    (2, 2, True)
    """
    check_frame(transactions, argument="transactions")
    unknown = [r for r in rules if r not in RULES]
    if unknown:
        raise CustlabError(f"Unknown cleaning rule(s) {unknown}; choose from {list(RULES)}.")
    as_of_dt = as_datetime(as_of, "as_of")
    lazy = is_lazy(transactions)
    frame = validate(transactions, "transactions").lazy()
    names = frame.collect_schema().names()

    text_cols = [c for c in _TEXT_COLUMNS if c in names]
    trimmed_any = pl.any_horizontal([pl.col(c) != pl.col(c).str.strip_chars() for c in text_cols]) if text_cols else pl.lit(False)
    # Text is trimmed before the rules look at it: "POST " is postage and "A " duplicates "A".
    frame = frame.with_columns(_trimmed=trimmed_any.fill_null(False)).with_columns(
        [pl.col(c).str.strip_chars() for c in text_cols]
    )

    conditions = {
        rule: _rule_expr(rule, names, cancel_pattern=cancel_pattern, non_product_ids=non_product_ids,
                         non_product_pattern=non_product_pattern, as_of=as_of_dt)
        for rule in RULES if rule in rules
    }
    applied = [rule for rule, cond in conditions.items() if cond is not None]
    reason = pl.lit(None, dtype=pl.String)
    for rule in reversed(applied):
        reason = pl.when(conditions[rule].fill_null(False)).then(pl.lit(rule)).otherwise(reason)
    marked = frame.with_columns(reason=reason)

    counts = (
        marked.group_by("reason")
        .agg(rows=pl.len(), amount=pl.col("amount").sum(), trimmed=pl.col("_trimmed").sum())
        .collect()
    )
    rows_in = int(counts["rows"].sum())
    kept = counts.filter(pl.col("reason").is_null())
    rows_kept = int(kept["rows"].sum())
    by_reason = dict(zip(counts["reason"].to_list(), counts.select("rows", "amount").rows()))
    removed = pl.DataFrame(
        {
            "reason": list(RULES),
            "rows": [int(by_reason.get(r, (0, 0.0))[0]) for r in RULES],
            "amount": [float(by_reason.get(r, (0, 0.0))[1] or 0.0) for r in RULES],
            "description": list(RULES.values()),
        },
        schema={"reason": pl.String, "rows": pl.Int64, "amount": pl.Float64, "description": pl.String},
    ).with_columns(share=pl.col("rows") / max(rows_in, 1)).select("reason", "rows", "share", "amount", "description")
    removed = removed.filter(pl.col("reason").is_in(applied))
    changed = pl.DataFrame(
        {
            "change": ["trimmed_whitespace"],
            "rows": [int(kept["trimmed"].sum())],
            "description": [f"spaces around text removed in {', '.join(text_cols) or 'no text column'}"],
        },
        schema={"change": pl.String, "rows": pl.Int64, "description": pl.String},
    )

    clean = marked.filter(pl.col("reason").is_null()).drop("reason", "_trimmed")
    removed_rows = marked.filter(pl.col("reason").is_not_null()).drop("_trimmed")
    if not lazy:
        clean, removed_rows = pl.collect_all([clean, removed_rows])
    report = DataQualityReport(rows_in, rows_kept, removed, changed, removed_rows, as_of_dt)
    return clean, report
