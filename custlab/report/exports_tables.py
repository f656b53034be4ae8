"""The CRM lists' content: ids as text, sensible rounding, whole-second dates, ``reason`` and ``priority``.

Writing the files (CSV with or without BOM, formula neutralisation, folders)
is :mod:`custlab.report.exports`'s job; this module only shapes the tables.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

__all__ = ["ID_COLUMNS", "finish_export"]

#: Columns written as text: identifiers must not become numbers with separators or exponents in a spreadsheet.
ID_COLUMNS = ("customer_id", "order_id", "product_id", "antecedent_ids", "consequent_ids", "suggested_id")


def finish_export(
    frame: pl.DataFrame,
    *,
    money: Sequence[str] = (),
    shares: Sequence[str] = (),
    decimals: int = 3,
) -> pl.DataFrame:
    """A list ready for a CRM: ids as String, money to 2 decimals, shares, probabilities and ``priority`` to 4, other
    floats to ``decimals``,
    datetimes without sub-second parts, ``reason`` and ``priority`` present and the rows by priority, highest first.

    >>> import datetime as dt
    >>> df = pl.DataFrame({"customer_id": [7, 8], "clv": [12.3456, 99.999], "p_alive": [0.123456, 0.5],
    ...                    "last": [dt.datetime(2024, 1, 1, 8, 0, 0, 123), dt.datetime(2024, 1, 2)],
    ...                    "reason": ["a", "b"], "priority": [1.0, 2.0]})
    >>> finish_export(df, money=("clv",), shares=("p_alive",)).rows()[0]
    ('8', 100.0, 0.5, datetime.datetime(2024, 1, 2, 0, 0), 'b', 2.0)
    """
    missing = [c for c in ("reason", "priority") if c not in frame.columns]
    if missing:
        raise ValueError(f"An export list needs columns reason and priority; {missing} missing in {frame.columns}.")
    exprs = []
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        if name in ID_COLUMNS and dtype != pl.String:
            exprs.append(column.cast(pl.String))
        elif isinstance(dtype, pl.Datetime):
            exprs.append(column.dt.truncate("1s"))
        elif dtype in (pl.Float32, pl.Float64):
            # priority to 4 places whatever its unit: at 2 every one of Olist's 505 nurture rows read 0.00
            places = 4 if name == "priority" else 2 if name in money else 4 if name in shares else decimals
            exprs.append(column.round(places).fill_nan(None))
        else:
            exprs.append(column)
    out = frame.with_columns(exprs).with_columns(pl.col("priority").cast(pl.Float64))
    return out.sort("priority", descending=True, nulls_last=True, maintain_order=True)
