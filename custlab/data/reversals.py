"""Cancellation and return lines matched to the purchase lines they undo.

A shop that cancels an order writes a second line with the opposite quantity
(Online Retail: invoice ``C541433`` of -74,215 units cancels ``541431`` of
74,215 units, customer 12346). Removing only the cancellation leaves the
purchase counted as spend. :func:`match_reversals` pairs each reversing line
with the purchase it undoes, so cleaning removes both:

- a *reversing line* is a cancellation or return (the ``cancelled`` or
  ``returned`` cleaning rule) with a negative quantity (or, without a
  quantity column, a negative amount);
- its *purchase* has the same customer, product, absolute quantity and unit
  price (or absolute amount, without a unit price), a positive quantity, is
  not itself a cancellation, and is dated at or before the reversing line;
- each line is paired at most once: reversing lines are taken in time order,
  and each takes the latest purchase still unpaired (the one it most
  plausibly undoes);
- a reversing line dated at or after the analysis date (the ``after_as_of``
  rule) undoes nothing: as of that date it has not happened, so a month's
  figures do not change when later months are added to the data.

A partial return (10 bought, 4 returned) pairs with nothing: the purchase
stays, the return is removed by its own rule.
"""

from __future__ import annotations

import polars as pl

__all__ = ["PAIR_COLUMNS", "match_reversals"]

#: Columns of the pairs table (those of absent source columns are left out).
PAIR_COLUMNS = ("customer_id", "product_id", "quantity", "unit_price", "amount", "order_id", "order_date",
                "reversal_order_id", "reversal_date")


def match_reversals(
    frame: pl.LazyFrame, names: list[str], conditions: dict[str, pl.Expr | None]
) -> pl.DataFrame | None:
    """Pairs of (purchase, reversing line) in ``frame``; None when neither cancellations nor returns are removed.

    ``frame`` carries a ``_row`` index; ``conditions`` are the cleaning rules'
    conditions (``cancelled``, ``returned``, ``invalid_amount`` and ``after_as_of`` are used).
    Returns one row per pair: ``_row`` of the purchase, the columns of
    ``PAIR_COLUMNS`` present, sorted by the purchase's date.
    """
    undoing = [conditions.get(r) for r in ("cancelled", "returned") if conditions.get(r) is not None]
    if not undoing:
        return None
    sign = pl.col("quantity") if "quantity" in names else pl.col("amount")
    cancelled = conditions.get("cancelled")
    invalid = conditions.get("invalid_amount")
    valid = ~invalid.fill_null(False) if invalid is not None else pl.lit(True)
    later = conditions.get("after_as_of")  # a cancellation dated from as_of on has not happened yet
    is_reversal = pl.any_horizontal(undoing).fill_null(False) & (sign < 0) & valid
    if later is not None:
        is_reversal = is_reversal & ~later.fill_null(False)
    is_purchase = (sign > 0) & valid & (~cancelled.fill_null(False) if cancelled is not None else pl.lit(True))
    keys = ["customer_id"] + (["product_id"] if "product_id" in names else []) + ["_size", "_price"]
    extra = [c for c in ("quantity", "unit_price", "amount") if c in names]
    lines = frame.filter(pl.col("customer_id").is_not_null() & pl.col("order_date").is_not_null()).select(
        "_row", "customer_id", *(["product_id"] if "product_id" in names else []), "order_id", "order_date", *extra,
        _size=sign.abs() if "quantity" in names else pl.lit(1.0),
        _price=pl.col("unit_price") if "unit_price" in names else pl.col("amount").abs(),
        _reversal=is_reversal, _purchase=is_purchase,
    )
    reversals = lines.filter(pl.col("_reversal")).collect()
    purchases = lines.filter(pl.col("_purchase")).join(
        reversals.lazy().select(keys).unique(), on=keys, how="semi", nulls_equal=True).collect()
    # purchases before reversals at the same instant, so a same-time purchase can be undone
    candidates = pl.concat([purchases, reversals]).sort([*keys, "order_date", "_reversal", "_row"], nulls_last=True)
    purchase_rows, reversal_rows = [], []
    stack: list[int] = []
    previous = None
    key_columns = [candidates[k].to_list() for k in keys]
    for i, (row, reversal) in enumerate(zip(candidates["_row"].to_list(), candidates["_reversal"].to_list())):
        key = tuple(col[i] for col in key_columns)
        if key != previous:
            stack, previous = [], key
        if not reversal:
            stack.append(i)
        elif stack:
            purchase_rows.append(stack.pop())
            reversal_rows.append(i)
    purchases = candidates[purchase_rows]
    reversals = candidates[reversal_rows]
    present = [c for c in PAIR_COLUMNS[:7] if c in purchases.columns]
    return purchases.select("_row", *present).with_columns(
        reversal_order_id=reversals["order_id"], reversal_date=reversals["order_date"],
    ).sort("order_date", "_row")
