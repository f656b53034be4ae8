"""Cleaning rules and their counts on any engine: :func:`custlab.data.clean_transactions` where the data live.

Every rule is an expression evaluated on the engine; the data-quality report
is built from the lines counted per day and reason (a few thousand rows), so
it is the same report as custlab's own path. The clean table and the removed
lines stay on the engine as lazy native frames: nothing is collected but the
counts and the pairs of reversed lines.

Two rules need more than one line at a time and are done without a row order
(engines have none):

- ``duplicate``: lines are grouped by all their columns; of ``n`` identical
  lines one is kept and ``n - 1`` are duplicates (``n - 1 - r`` when ``r`` of
  them are reversed purchases: custlab's own path keeps the first of them,
  and a reversal always takes the later ones). The clean table therefore
  holds each kept line once, as custlab's does.
- ``reversed``: a cancellation or return takes the latest earlier unpaired
  purchase of the same customer, product, size and price (a stack per key).
  That is bracket matching, computed with running sums and minima over each
  key's lines ordered by date: the depth of the stack after each line gives
  each purchase and each matching reversal a level, and a reversal pairs with
  the purchase just before it at its level. Lines of one key at the same
  instant are ordered by ``order_id``; identical lines may be paired in
  another order than custlab's row order, which changes no count.

Differences from custlab's own path: ``removed_rows`` has one row per distinct
removed line and reason with the number of such lines in ``rows``; the
whitespace-trimmed count of kept lines can differ when identical lines differ
only in surrounding spaces (the kept one is counted as untrimmed unless all are
trimmed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import narwhals as nw

from custlab._types import DateLike
from custlab._dates import as_datetime
from custlab.data.clean import (
    _TEXT_COLUMNS, MAX_AMOUNT, NON_PRODUCT_IDS, NON_PRODUCT_PATTERN, RULES, _cuts_of_days, _row_rules,
)
from custlab.data.report import DataQualityReport
from custlab.data.reversals import PAIR_COLUMNS
from custlab.engine._nw import check_columns, collect, day_rows, lazy, running, store
from custlab.exceptions import CustlabError

__all__ = ["clean_transactions"]

_BEFORE_REVERSED = ("invalid_amount", "cancelled", "returned")
_AFTER_REVERSED = ("missing_customer", "missing_value", "non_positive_price", "non_product", "outlying_date",
                   "after_as_of")


def _first_reason(conditions: dict[str, nw.Expr], rules: Sequence[str]) -> nw.Expr:
    """The name of the first rule in ``rules`` whose condition holds (null when none)."""
    reason = nw.lit(None, dtype=nw.String)
    for rule in reversed([r for r in rules if r in conditions]):
        reason = nw.when(conditions[rule].fill_null(False)).then(nw.lit(rule)).otherwise(reason)
    return reason


def _conditions(frame: nw.LazyFrame, names: list[str], rules: Sequence[str], *, as_of, cancel_pattern,
                non_product_ids, non_product_pattern, max_amount) -> dict[str, nw.Expr]:
    """Each row-level rule asked for whose columns are present: custlab's rules (``_row_rules``) on narwhals."""
    cuts = (None, None)
    if "outlying_date" in rules:
        cuts = _cuts_of_days(day_rows(frame))
    out = _row_rules(nw, names, as_of=as_of, cancel_pattern=cancel_pattern, non_product_ids=non_product_ids,
                    non_product_pattern=non_product_pattern, max_amount=max_amount, cuts=cuts,
                    any_of=lambda *conds: nw.any_horizontal(*conds, ignore_nulls=True))
    return {rule: cond for rule, cond in out.items() if rule in rules and cond is not None}


def _reversals(frame: nw.LazyFrame, names: list[str], conditions: dict[str, nw.Expr]) -> nw.LazyFrame:
    """``frame`` with ``_reversed`` (a purchase undone by a later line) and its reversal's id and date.

    Bracket matching per key: ``_v`` is +1 for a purchase, -1 for a reversing
    line, 0 otherwise; the stack depth after a line is the running sum minus
    its running minimum (clipped at 0). A purchase sits at the depth after it,
    a reversing line that finds the stack non-empty at the depth before it;
    at each (key, level) a purchase is followed by the reversal that pops it.
    """
    sign = nw.col("quantity") if "quantity" in names else nw.col("amount")
    valid = ~conditions["invalid_amount"].fill_null(False) if "invalid_amount" in conditions else nw.lit(True)
    undoing = [conditions[r] for r in ("cancelled", "returned") if r in conditions]
    cancelled = conditions["cancelled"].fill_null(False) if "cancelled" in conditions else nw.lit(False)
    dated = ~nw.col("customer_id").is_null() & ~nw.col("order_date").is_null()
    later = ~conditions["after_as_of"].fill_null(False) if "after_as_of" in conditions else nw.lit(True)
    reversal = (nw.any_horizontal(*undoing, ignore_nulls=True).fill_null(False) & (sign < 0).fill_null(False)
                & valid & dated & later)  # a cancellation dated from as_of on has not happened yet
    purchase = (sign > 0).fill_null(False) & valid & ~cancelled & dated
    parts = ["customer_id", *(["product_id"] if "product_id" in names else []),
             sign.abs() if "quantity" in names else nw.lit(1.0),
             nw.col("unit_price") if "unit_price" in names else nw.col("amount").abs()]
    key = nw.concat_str([(nw.col(p) if isinstance(p, str) else p).cast(nw.String).fill_null("\x00") for p in parts],
                        separator="\x1f")
    order = ["order_date", "_rev", "order_id"]
    keyed = frame.with_columns(_key=key, _rev=reversal.cast(nw.Int8),
                               _v=purchase.cast(nw.Int64) - reversal.cast(nw.Int64))
    # Only lines sharing a key with a reversing line can be matched: the ordered windows run on those alone
    # (returns are a few percent of the lines), the others are not reversed.
    keys = keyed.filter(nw.col("_rev") == 1).select("_key").unique()
    schema = frame.collect_schema()
    rest = keyed.join(keys, on="_key", how="anti").with_columns(
        _reversed=nw.lit(False), reversal_order_id=nw.lit(None, dtype=schema["order_id"]),
        reversal_date=nw.lit(None, dtype=schema["order_date"]))
    marked = keyed.join(keys, on="_key", how="semi")
    marked = marked.with_columns(_run=nw.col("_v").cum_sum().over("_key", order_by=order))
    marked = marked.with_columns(_low=nw.col("_run").cum_min().over("_key", order_by=order))
    depth = nw.col("_run") - nw.when(nw.col("_low") < 0).then(nw.col("_low")).otherwise(0)
    marked = marked.with_columns(_depth=depth)
    marked = marked.with_columns(_before=nw.col("_depth").shift(1).over("_key", order_by=order).fill_null(0))
    level = (nw.when(nw.col("_v") == 1).then(nw.col("_depth"))
             .otherwise(nw.when((nw.col("_v") == -1) & (nw.col("_before") > 0)).then(nw.col("_before"))))
    marked = marked.with_columns(_level=level)
    following = ["_key", "_level"]
    marked = marked.with_columns(
        _next_v=nw.col("_v").shift(-1).over(*following, order_by=order),
        reversal_order_id=nw.col("order_id").shift(-1).over(*following, order_by=order),
        reversal_date=nw.col("order_date").shift(-1).over(*following, order_by=order),
    )
    undone = (nw.col("_v") == 1) & (nw.col("_next_v") == -1) & ~nw.col("_level").is_null()
    matched = marked.with_columns(_reversed=undone.fill_null(False)).drop(
        "_run", "_low", "_depth", "_before", "_level", "_next_v")
    columns = [*schema.names(), "_reversed", "reversal_order_id", "reversal_date"]
    return nw.concat([matched.select(columns), rest.select(columns)], how="vertical")


def clean_transactions(
    transactions: object, *, as_of: DateLike | None = None, rules: Sequence[str] = tuple(RULES),
    cancel_pattern: str | None = r"^C",
    non_product_ids: Sequence[str] = NON_PRODUCT_IDS, non_product_pattern: str | None = NON_PRODUCT_PATTERN,
    max_amount: float = MAX_AMOUNT, source: Any = None,
) -> tuple[Any, DataQualityReport]:
    """:func:`custlab.data.clean_transactions` on the engine holding ``transactions``.

    Returns ``(clean, report)``: ``clean`` is a native lazy frame of the same
    engine (a DuckDB relation, a Spark DataFrame) with the input's columns,
    text trimmed, each kept line once; ``report`` is the
    :class:`~custlab.data.report.DataQualityReport` of custlab's own path
    (counts per rule and per day, the reversed pairs), with ``removed_rows``
    a native lazy frame: one row per distinct removed line and reason, and
    ``rows`` lines.
    """
    function = "data.clean_transactions"
    unknown = [r for r in rules if r not in RULES]
    if unknown:
        raise CustlabError(f"Unknown cleaning rule(s) {unknown}; choose from {list(RULES)}.")
    as_of_dt = as_datetime(as_of, "as_of")
    frame = lazy(transactions, function=function)
    check_columns(frame, {"customer_id": "any", "order_id": "any", "order_date": "datetime", "amount": "numeric"},
                  function=function)
    names = frame.collect_schema().names()
    # numbers are Float64 in custlab's data contract (custlab.data.validate casts them the same way)
    frame = frame.with_columns(nw.col(c).cast(nw.Float64) for c in ("amount", "quantity", "unit_price") if c in names)
    text_cols = [c for c in _TEXT_COLUMNS if c in names]
    trimmed = (nw.any_horizontal(*[nw.col(c) != nw.col(c).str.strip_chars() for c in text_cols], ignore_nulls=True)
               if text_cols else nw.lit(False))
    with running(function, frame):
        frame = frame.with_columns(_trimmed=trimmed.fill_null(False).cast(nw.Int64))
        if text_cols:  # (with_columns refuses an empty list: lines with ids, dates and amounts only)
            frame = frame.with_columns(*[nw.col(c).str.strip_chars() for c in text_cols])
        conditions = _conditions(frame, names, rules, as_of=as_of_dt, cancel_pattern=cancel_pattern,
                                 non_product_ids=non_product_ids, non_product_pattern=non_product_pattern,
                                 max_amount=max_amount)
        reversing = "reversed" in rules and any(r in conditions for r in ("cancelled", "returned"))
        pairs = None
        if reversing:
            frame = store(_reversals(frame, names, conditions))  # read twice: the pairs and the groups
            present = [c for c in PAIR_COLUMNS[:7] if c in names]
            pairs = collect(frame.filter(nw.col("_reversed")).select(*present, "reversal_order_id", "reversal_date"))
            pairs = pairs.sort("order_date", "order_id", "reversal_date")
            frame = frame.drop("reversal_order_id", "reversal_date")
        else:
            frame = frame.with_columns(_reversed=nw.lit(False))
        applied = [r for r in RULES if r in conditions or (r == "reversed" and reversing)
                   or (r == "duplicate" and "duplicate" in rules)]
        marked = frame.with_columns(_pre=_first_reason(conditions, _BEFORE_REVERSED),
                                    _post=_first_reason(conditions, _AFTER_REVERSED))
        groups = marked.group_by(*names).agg(
            _n=nw.len().cast(nw.Int64), _r=nw.col("_reversed").cast(nw.Int64).sum(),
            _t=nw.col("_trimmed").sum(), _pre=nw.col("_pre").min(), _post=nw.col("_post").min())
        dedupe = "duplicate" in rules
        groups = store(groups)  # read by the counts per day, the removed lines and the clean lines
        by_day = collect(_per_day(groups, dedupe))
        survivors = (nw.col("_pre").is_null() & nw.col("_post").is_null() & (nw.col("_n") > nw.col("_r")))
        clean = groups.filter(survivors).select(*names)
        removed = _removed(groups, names, dedupe)
    if not dedupe:  # without the rule, identical kept lines all stay
        clean = _repeat_kept(marked, names)
    report = DataQualityReport.from_counts(
        by_day, applied=tuple(applied), descriptions=RULES, text_columns=tuple(text_cols),
        removed_rows=nw.to_native(removed), as_of=as_of_dt, reversed_pairs=pairs, source=source,
    )
    return nw.to_native(clean), report


def _categories(dedupe: bool) -> list[tuple[nw.Expr, nw.Expr, nw.Expr, nw.Expr]]:
    """(reason, lines, trimmed lines, condition) of each kind of line in a group of identical lines."""
    pre, post, n, r, t = (nw.col(c) for c in ("_pre", "_post", "_n", "_r", "_t"))
    open_ = pre.is_null() & post.is_null() & (n > r)
    kept_trimmed = (t == n).cast(nw.Int64)
    rest_trimmed = nw.when(t > n - r).then(t - (n - r)).otherwise(0)  # trimmed among the reversed, at most
    categories = [
        (pre, n, t, ~pre.is_null()),
        (nw.lit("reversed"), r, rest_trimmed, pre.is_null() & (r > 0)),
        (post, n - r, t - rest_trimmed, pre.is_null() & ~post.is_null() & (n > r)),
    ]
    if dedupe:
        categories += [
            (nw.lit(None, dtype=nw.String), nw.lit(1, dtype=nw.Int64), kept_trimmed, open_),
            (nw.lit("duplicate"), n - r - 1, t - rest_trimmed - kept_trimmed, open_ & (n - r > 1)),
        ]
    else:
        categories.append((nw.lit(None, dtype=nw.String), n - r, t - rest_trimmed, open_))
    return categories


def _per_day(groups: nw.LazyFrame, dedupe: bool) -> nw.LazyFrame:
    """Lines, finite amount and trimmed lines per day and reason, from the groups of identical lines."""
    amount = nw.when(nw.col("amount").is_nan() | ~nw.col("amount").is_finite()).then(0.0).otherwise(nw.col("amount"))
    day = nw.col("order_date").dt.truncate("1d")
    parts = [
        groups.filter(cond).select(day=day, reason=reason.cast(nw.String), rows=lines.cast(nw.Int64),
                                   amount=amount.fill_null(0.0) * lines.cast(nw.Float64),
                                   trimmed=trimmed.cast(nw.Int64))
        for reason, lines, trimmed, cond in _categories(dedupe)
    ]
    return nw.concat(parts, how="vertical").group_by("day", "reason").agg(
        rows=nw.col("rows").sum(), amount=nw.col("amount").sum(), trimmed=nw.col("trimmed").sum())


def _removed(groups: nw.LazyFrame, names: list[str], dedupe: bool) -> nw.LazyFrame:
    """One row per distinct removed line and reason, with the number of such lines in ``rows``."""
    parts = [groups.filter(cond).select(*names, reason=reason.cast(nw.String), rows=lines.cast(nw.Int64))
             for reason, lines, _, cond in _categories(dedupe)]
    return nw.concat(parts, how="vertical").filter(~nw.col("reason").is_null())


def _repeat_kept(marked: nw.LazyFrame, names: list[str]) -> nw.LazyFrame:
    """Kept lines one row per line (without the duplicate rule): no reason and not reversed."""
    return marked.filter(nw.col("_pre").is_null() & nw.col("_post").is_null() & ~nw.col("_reversed")).select(*names)
