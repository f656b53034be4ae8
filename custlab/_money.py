"""Sums of money that come out the same whatever order the lines are added in.

polars' streaming engine adds the lines of a group in whatever order its threads
meet them, and float64 addition is not associative: the same data could give a
different last bit from one call to the next. Amounts are therefore added as
whole millionths of the currency unit held in float64. Integers below 2**53 add
exactly in float64, in any order, so a group's sum is exact and repeatable up to
9,007,199,254 currency units; one correctly rounded division turns it back into
money. Amounts with more than six decimals are rounded to six first.
"""

from __future__ import annotations

import polars as pl

__all__ = ["MICRO", "from_micros", "micros"]

#: Millionths of the currency unit per unit.
MICRO = 1_000_000.0


def micros(column: str = "amount") -> pl.Expr:
    """``column`` in whole millionths (Float64); NaN and infinities stay what they are."""
    return (pl.col(column).cast(pl.Float64) * MICRO).round(0)


def from_micros(expr: pl.Expr) -> pl.Expr:
    """Millionths back to money, by a true IEEE division (polars divides by a scalar as a multiplication by its
    reciprocal, which is not correctly rounded: 40_000_000 millionths would not always read 40.0)."""
    return expr.map_batches(lambda s: pl.Series(s.cast(pl.Float64).to_numpy() / MICRO), return_dtype=pl.Float64)
