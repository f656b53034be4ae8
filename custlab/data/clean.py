"""Cleaning of transactions with a data-quality report that accounts for every row.

:func:`clean_transactions` removes what an analysis of customer value should
not see (amounts that are not finite numbers, cancellations, returns and the
purchases they reverse, lines without a customer, free or negative prices,
postage and fee lines, dates far apart from the rest, orders after the
analysis date, exact duplicates) and returns the clean table together with a
:class:`DataQualityReport`. Nothing is dropped silently: each removed row gets
exactly one reason, the first rule it meets in the order of ``RULES``, and
``rows_in == rows_kept + sum(removed.rows)`` always holds. The removed rows
themselves stay available in ``report.removed_rows`` with their reason, and
``report.for_period(start, end)`` gives the same accounting for the lines of
one analysed period.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Literal, get_args

import polars as pl

from custlab._dates import as_datetime
from custlab._i18n import t
from custlab._types import DateLike, Frame
from custlab.data.io import ReadInfo
from custlab.data.report import DataQualityReport
from custlab.data.reversals import match_reversals
from custlab.data.schema import check_frame, is_lazy, validate
from custlab.exceptions import CustlabError

__all__ = ["MAX_AMOUNT", "NON_PRODUCT_IDS", "NON_PRODUCT_PATTERN", "RULES", "DataQualityReport", "Rule",
           "clean_transactions"]

Rule = Literal[
    "invalid_amount",
    "cancelled",
    "returned",
    "reversed",
    "missing_customer",
    "missing_value",
    "non_positive_price",
    "non_product",
    "outlying_date",
    "after_as_of",
    "duplicate",
]

#: Cleaning rules in the order they are applied (a row is removed for the first one it meets),
#: with their descriptions (the label catalogue's ``data.rule.<rule>``, in English).
RULES: dict[str, str] = {rule: t(f"data.rule.{rule}", "en") for rule in get_args(Rule)}

#: Product ids of lines that are not goods, as found in the UCI Online Retail data:
#: postage (POST, DOT, C2), manual entries (M), discounts (D), fees (AMAZONFEE,
#: BANK CHARGES), charity (CRUK), bad-debt adjustments (B). Pass your own with
#: ``non_product_ids=``.
NON_PRODUCT_IDS: tuple[str, ...] = ("POST", "DOT", "M", "C2", "D", "AMAZONFEE", "BANK CHARGES", "CRUK", "B")
NON_PRODUCT_PATTERN = r"^gift_0001_"
#: Largest absolute amount of one line that cleaning accepts (a billion): beyond it a line is an error.
MAX_AMOUNT = 1e9
#: Outlying dates: at most this share of lines, separated from the rest by a gap of over a year.
_OUTLIER_SHARE = 0.01
_OUTLIER_GAP = dt.timedelta(days=366)

_TEXT_COLUMNS = ("product_id", "product_name", "category", "channel")


def _outlying_cuts(frame: pl.LazyFrame) -> tuple[dt.datetime | None, dt.datetime | None]:
    """``(low, high)``: lines before ``low`` or from ``high`` on lie over a year apart from the rest.

    Each end may hold at most 1% of the dated lines; of the gaps over a year
    within that share, the one leaving out the most lines is used.
    """
    return _cuts_of_days(day_rows(frame))


def day_rows(frame: pl.LazyFrame) -> pl.DataFrame:
    """Lines per calendar day of ``order_date`` (``day``, ``rows``; sorted, undated lines left out), collected;
    :func:`custlab.engine._nw.day_rows` on an engine."""
    return (frame.select(day=pl.col("order_date").dt.truncate("1d")).drop_nulls()
            .group_by("day").agg(rows=pl.len()).sort("day").collect())


def _cuts_of_days(days: pl.DataFrame) -> tuple[dt.datetime | None, dt.datetime | None]:
    """:func:`_outlying_cuts` from lines per day (``day``, ``rows``, sorted); shared with :mod:`custlab.engine`."""
    if days.height < 2:
        return None, None
    dates, rows = days["day"].to_list(), days["rows"].to_list()
    limit = _OUTLIER_SHARE * sum(rows)
    high = low = None
    beyond = 0
    for i in range(len(dates) - 1, 0, -1):
        beyond += rows[i]
        if beyond > limit:
            break
        if dates[i] - dates[i - 1] > _OUTLIER_GAP:
            high = dates[i]
    before = 0
    for i in range(len(dates) - 1):
        before += rows[i]
        if before > limit:
            break
        if dates[i + 1] - dates[i] > _OUTLIER_GAP:
            low = dates[i + 1]
    return low, high


def _row_rules(ns, names: Sequence[str], *, as_of, cancel_pattern, non_product_ids, non_product_pattern, max_amount,
              cuts: tuple = (None, None), any_of=None) -> dict:
    """The row-level rules (those that look at one line), written once for polars and for narwhals.

    ``ns`` is the expression module (``polars``, or ``narwhals`` for
    :mod:`custlab.engine.cleaning`); ``any_of(*exprs)`` ors conditions
    (default ``ns.any_horizontal``); ``cuts`` are the outlying-date bounds of
    :func:`_cuts_of_days`. A rule whose columns are absent is None.
    """
    any_of = any_of or ns.any_horizontal
    col = ns.col
    finite = [c for c in ("amount", "quantity", "unit_price") if c in names]
    returned = col("amount") < 0
    if "quantity" in names:
        returned = returned | (col("quantity") <= 0)
    non_product = None
    if "product_id" in names:
        non_product = col("product_id").is_in(list(non_product_ids or []))
        if non_product_pattern:
            non_product = non_product | col("product_id").str.contains(non_product_pattern)
    low, high = cuts
    outside = ([col("order_date") < low] if low else []) + ([col("order_date") >= high] if high else [])
    return {
        "invalid_amount": any_of(*[col(c).is_nan() | ~col(c).is_finite() for c in finite])
        | (col("amount").abs() > max_amount),
        "cancelled": col("order_id").cast(ns.String).str.contains(cancel_pattern) if cancel_pattern else None,
        "returned": returned,
        "missing_customer": col("customer_id").is_null(),
        "missing_value": col("order_date").is_null() | col("order_id").is_null() | col("amount").is_null(),
        "non_positive_price": (col("unit_price") <= 0) if "unit_price" in names else (col("amount") <= 0),
        "after_as_of": None if as_of is None else col("order_date") >= as_of,
        "non_product": non_product,
        "outlying_date": any_of(*outside) if outside else ns.lit(False),
    }


def _conditions(frame: pl.LazyFrame, names: list[str], rules: Sequence[str], *, as_of, cancel_pattern,
                non_product_ids, non_product_pattern, max_amount) -> dict[str, pl.Expr | None]:
    """The condition marking a row for each rule asked for; None where the columns it needs are absent."""
    cuts = _outlying_cuts(frame) if "outlying_date" in rules else (None, None)
    out = _row_rules(pl, names, as_of=as_of, cancel_pattern=cancel_pattern, non_product_ids=non_product_ids,
                    non_product_pattern=non_product_pattern, max_amount=max_amount, cuts=cuts)
    out.update(duplicate=~pl.struct(names).is_first_distinct(), reversed=None)
    return {rule: out[rule] for rule in RULES if rule in rules}


def clean_transactions(
    transactions: Frame,
    *,
    as_of: DateLike | None = None,
    rules: Sequence[Rule] = tuple(RULES),
    cancel_pattern: str | None = r"^C",
    non_product_ids: Sequence[str] = NON_PRODUCT_IDS,
    non_product_pattern: str | None = NON_PRODUCT_PATTERN,
    max_amount: float = MAX_AMOUNT,
    source: ReadInfo | None = None,
) -> tuple[Frame, DataQualityReport]:
    """Remove lines that are not customer purchases, and account for each one.

    Parameters
    ----------
    transactions
        Canonical transactions (validated here if not already): ``customer_id``,
        ``order_id``, ``order_date``, ``amount``; ``quantity``, ``unit_price``
        and ``product_id`` enable the rules that use them.
    as_of
        Analysis date: lines at or after it are removed (rule ``after_as_of``),
        the package's ``as_of`` (see :mod:`custlab._dates`). A date means
        midnight at its start. None skips the rule.
    rules
        Which rules to apply (any subset of ``RULES``; the order of
        application is always that of ``RULES``). ``reversed`` pairs a
        cancellation or return line (negative quantity, or negative amount
        without a quantity) with the latest earlier-or-same-time purchase line
        of the same customer, product, absolute quantity and unit price (or
        amount); the purchase is removed as ``reversed`` and the reversing line
        by the rule ``cancelled`` or ``returned``, so it needs one of them.
    cancel_pattern
        Regular expression on ``order_id`` (as text) that marks cancellations;
        the default ``^C`` is the Online Retail convention.
    non_product_ids, non_product_pattern
        Product ids, and a pattern, of lines that are not goods.
    max_amount
        Lines whose absolute amount exceeds it are removed as ``invalid_amount``.
    source
        The :class:`~custlab.data.io.ReadInfo` of the file read, stated by the report.

    Returns
    -------
    (clean, report)
        ``clean`` has the input's columns and the same frame kind (LazyFrame in,
        LazyFrame out). Whitespace around text in ``product_id``,
        ``product_name``, ``category`` and ``channel`` is trimmed and counted
        as a change. ``report`` is a :class:`DataQualityReport`; the pairs of
        reversed lines are in ``report.reversed_pairs``.

    Examples
    --------
    >>> import polars as pl, datetime as dt
    >>> tx = pl.DataFrame({"customer_id": [1, 1, None, 2], "order_id": ["1", "C2", "3", "4"],
    ...     "order_date": [dt.datetime(2024, 1, d) for d in (1, 2, 3, 4)], "amount": [5.0, -5.0, 3.0, 8.0]})
    >>> clean, report = clean_transactions(tx)
    >>> clean.height, report.rows_removed, report.reconciles
    (1, 3, True)
    >>> report.reversed_pairs.select("order_id", "reversal_order_id").row(0)
    ('1', 'C2')
    """
    if not isinstance(transactions, (pl.DataFrame, pl.LazyFrame)):
        from custlab import engine as pushdown  # DuckDB, Spark...: aggregate where the data live

        if pushdown.accepts(transactions):
            return pushdown.clean_transactions(transactions, as_of=as_of, rules=rules, cancel_pattern=cancel_pattern,
                                               non_product_ids=non_product_ids, non_product_pattern=non_product_pattern,
                                               max_amount=max_amount, source=source)
    check_frame(transactions, argument="transactions")
    unknown = [r for r in rules if r not in RULES]
    if unknown:
        raise CustlabError(f"Unknown cleaning rule(s) {unknown}; choose from {list(RULES)}.")
    as_of_dt = as_datetime(as_of, "as_of")
    lazy = is_lazy(transactions)
    frame = validate(transactions, "transactions").lazy()
    names = frame.collect_schema().names()

    text_cols = [c for c in _TEXT_COLUMNS if c in names]
    trimmed_any = (pl.any_horizontal([pl.col(c) != pl.col(c).str.strip_chars() for c in text_cols])
                   if text_cols else pl.lit(False))
    # Text is trimmed before the rules look at it: "POST " is postage and "A " duplicates "A".
    frame = frame.with_columns(_trimmed=trimmed_any.fill_null(False)).with_columns(
        [pl.col(c).str.strip_chars() for c in text_cols]
    ).with_row_index("_row")

    conditions = _conditions(frame, names, rules, as_of=as_of_dt, cancel_pattern=cancel_pattern,
                             non_product_ids=non_product_ids, non_product_pattern=non_product_pattern,
                             max_amount=max_amount)
    pairs = match_reversals(frame, names, conditions) if "reversed" in conditions else None
    if pairs is not None:
        conditions["reversed"] = pl.col("_row").is_in(pairs["_row"].implode())
    applied = [rule for rule, cond in conditions.items() if cond is not None]
    reason = pl.lit(None, dtype=pl.String)
    for rule in reversed(applied):
        reason = pl.when(conditions[rule].fill_null(False)).then(pl.lit(rule)).otherwise(reason)
    marked = frame.with_columns(reason=reason)

    by_day = (
        marked.group_by(pl.col("order_date").dt.truncate("1d").alias("day"), "reason")
        .agg(rows=pl.len(), amount=pl.col("amount").filter(pl.col("amount").is_finite()).sum(),
             trimmed=pl.col("_trimmed").sum())
        .sort("day", "reason", nulls_last=True)
    )
    clean = marked.filter(pl.col("reason").is_null()).drop("reason", "_trimmed", "_row")
    removed_rows = marked.filter(pl.col("reason").is_not_null()).drop("_trimmed", "_row")
    if lazy:
        by_day = by_day.collect()
    else:  # one query: the lines are marked once for the counts, the clean lines and the removed ones
        by_day, clean, removed_rows = pl.collect_all([by_day, clean, removed_rows])
    report = DataQualityReport.from_counts(
        by_day, applied=tuple(applied), descriptions=RULES, text_columns=tuple(text_cols),
        removed_rows=removed_rows, as_of=as_of_dt, reversed_pairs=pairs, source=source,
    )
    return clean, report

