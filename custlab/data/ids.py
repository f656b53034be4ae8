"""Ids: how validation reads text ids, and how the ids of two tables meet.

Text ids are trimmed, ``"12345.0"`` becomes ``"12345"``, and blanks and the
words that stand for a missing value (:data:`NULL_MARKERS`: ``"nan"``,
``"None"``, ``"NULL"``, ...) become null, with a warning that counts them
(used by :func:`custlab.data.validate`). Before two tables are joined on an
id, :func:`match_ids` gives the id one dtype in both, or says which side to
cast when one holds integers and the other text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import polars as pl

from custlab._types import Frame
from custlab.exceptions import SchemaError, warn_outside

__all__ = ["NULL_MARKERS", "match_ids"]

#: Words that stand for a missing value, read as null in text id columns (compared trimmed, in any letter case):
#: what pandas writes for NaN, None, NaT and NA with ``astype(str)``, and the ``na_values`` its ``read_csv`` reads
#: as missing.
NULL_MARKERS: tuple[str, ...] = (
    "nan", "none", "null", "nat", "na", "n/a", "<na>", "#n/a", "#n/a n/a", "#na", "-nan", "1.#ind", "-1.#ind",
    "1.#qnan", "-1.#qnan",
)
_NULL_MARKER = r"(?i)^\s*(?:" + "|".join(re.escape(m) for m in NULL_MARKERS) + r")\s*$"
_SAMPLE = 5


def _blank_to_null(text: pl.Expr) -> pl.Expr:
    return pl.when(text == "").then(None).otherwise(text)


def _id_text(text: pl.Expr, values: pl.DataFrame | None, markers: bool = False) -> pl.Expr:
    """Text ids trimmed, "12345.0" read as "12345", blanks and (with ``markers``) the words of :data:`NULL_MARKERS`
    as null; with the ``values`` in memory, only the steps that change a value (a cheap scan decides: no id with a
    dot needs the pattern, none with a space at an end the trim, none empty the blank check)."""
    integral = r"^([+-]?\d+)\.0+$"
    if markers:
        text = pl.when(text.str.contains(_NULL_MARKER)).then(None).otherwise(text)
    if values is None:
        return _blank_to_null(text.str.strip_chars().str.replace(integral, "$1"))
    dot, space, blank = values.select(
        dot=text.str.contains(".", literal=True).any(), space=text.str.contains(r"^\s|\s$").any(),
        blank=(text == "").any(),
    ).row(0)
    if space:
        text = text.str.strip_chars()
    if dot:
        text = text.str.replace(integral, "$1")
    return _blank_to_null(text) if blank or space else text


def _is_text(dtype: pl.DataType) -> bool:
    return dtype in (pl.String, pl.Categorical) or isinstance(dtype, (pl.Categorical, pl.Enum))


def _null_markers(frame: Frame, columns: list[str]) -> list[tuple[str, str, int]]:
    """``(column, value as written, rows)`` of every word of :data:`NULL_MARKERS` in the text ``columns``, most
    rows first (one query over the frame, reading those columns only)."""
    if not columns:
        return []
    parts = [frame.lazy().select(pl.col(c).cast(pl.String).alias("value"))
             .filter(pl.col("value").str.contains(_NULL_MARKER))
             .group_by(pl.col("value").str.strip_chars()).agg(rows=pl.len().cast(pl.Int64))
             .select(pl.lit(c).alias("column"), "value", "rows") for c in columns]
    found = pl.concat(parts).collect().sort(["rows", "column", "value"], descending=[True, False, False])
    return [(c, v, n) for c, v, n in found.iter_rows()]


def _warn_null_markers(found: list[tuple[str, str, int]], table: str, source: str | None) -> None:
    """Say, per column, how many ids were missing-value words read as null, and which words."""
    where = f"{source}: " if source else ""
    for column in dict.fromkeys(c for c, _, _ in found):
        words = [(v, n) for c, v, n in found if c == column]
        rows = sum(n for _, n in words)
        shown = ", ".join(f"{v!r}: {n:,}" for v, n in words[:_SAMPLE]) + (", ..." if len(words) > _SAMPLE else "")
        counted = (" clean_transactions counts those lines under missing_customer."
                   if column == "customer_id" and table == "transactions" else "")
        warn_outside(
            f"{where}{rows:,} {column} value(s) of the {table} table are words for a missing value ({shown}; pandas "
            f"writes NaN and None so with astype(str), databases export NULL so): they are read as missing (null), "
            f"not as a {column}.{counted} If they are real ids, rename them at the source; from pandas, convert with "
            f"polars.from_pandas(df) rather than df.astype(str)."
        )


def _id_kind(dtype: pl.DataType) -> str | None:
    """"integer", "text", "null" (a column of nulls only), or None for a dtype ids cannot have."""
    if dtype == pl.Null:
        return "null"
    if dtype.is_integer():
        return "integer"
    return "text" if _is_text(dtype) else None


def _dtype_name(dtype: pl.DataType) -> str:
    """A dtype for a message: an Enum without its (possibly thousands of) categories."""
    return "Enum" if isinstance(dtype, pl.Enum) else str(dtype)


def _id_sample(table: Frame | pl.Series, column: str) -> list:
    ids = table if isinstance(table, pl.Series) else table.lazy().select(column).collect()[column]
    return ids.drop_nulls().unique(maintain_order=True).head(3).to_list()


def match_ids(tables: Mapping[str, Frame | pl.Series | None], column: str = "customer_id") -> dict:
    """The tables with ``column`` of one dtype, ready to be joined on it; or an error that says which side to cast.

    ``tables`` maps a name (for messages) to a DataFrame, LazyFrame, a
    Series of ids, or None (passed through, as are frames without the
    column). Integer ids of any width meet as Int64, text ids (String,
    Categorical, Enum) as String; only tables whose dtype differs from
    another's are cast. Integer ids meeting text ids are refused, naming
    both tables with ids of each: ``12345`` and ``"12345"`` would never
    match. Only schemas are read unless the kinds differ.

    Raises
    ------
    SchemaError
        Integer ids against text ids, or, where the dtypes differ, ids of a
        dtype ids cannot have (a float column: read it with :func:`custlab.data.validate`).

    Examples
    --------
    >>> tx = pl.DataFrame({"customer_id": [1, 2]})
    >>> people = pl.DataFrame({"customer_id": pl.Series([1, 2], dtype=pl.Int32)})
    >>> match_ids({"transactions": tx, "customers": people})["customers"].schema["customer_id"]
    Int64
    """
    dtypes = {}
    for name, table in tables.items():
        if isinstance(table, pl.Series):
            dtypes[name] = table.dtype
        elif isinstance(table, (pl.DataFrame, pl.LazyFrame)) and column in (schema := table.collect_schema()).names():
            dtypes[name] = schema[column]
    out = dict(tables)
    if len(set(dtypes.values())) <= 1:
        return out
    for name, dtype in dtypes.items():
        if _id_kind(dtype) is None:
            raise SchemaError(
                f"{name}.{column} is {_dtype_name(dtype)}, e.g. {_id_sample(tables[name], column)}, but ids must be "
                f"integers or text to be matched with the other tables. Read the table with "
                f"custlab.data.validate(...) (it turns whole-number floats into integers).")
    kinds = {name: kind for name, dtype in dtypes.items() if (kind := _id_kind(dtype)) != "null"}
    if not kinds:
        return out
    first = next(iter(kinds))
    other = next((name for name, kind in kinds.items() if kind != kinds[first]), None)
    if other is not None:
        text, integer = (first, other) if kinds[first] == "text" else (other, first)

        def cast(name: str, dtype: str) -> str:
            return f"{name}.cast(pl.{dtype})" if isinstance(tables[name], pl.Series) else \
                f"{name}.with_columns(pl.col({column!r}).cast(pl.{dtype}))"

        raise SchemaError(
            f"{first}.{column} is {_dtype_name(dtypes[first])} (e.g. {_id_sample(tables[first], column)}) but "
            f"{other}.{column} is {_dtype_name(dtypes[other])} (e.g. {_id_sample(tables[other], column)}); the ids "
            f"must be of one kind to be matched. "
            f"Cast one side: {cast(integer, 'String')}, or {cast(text, 'Int64')} when its ids are whole numbers "
            f"(custlab.data.harmonise_ids does the first for a dict of tables)."
        )
    target = pl.Int64 if kinds[first] == "integer" else pl.String
    for name, dtype in dtypes.items():
        if dtype != target:
            table = out[name]
            out[name] = table.cast(target) if isinstance(table, pl.Series) else \
                table.with_columns(pl.col(column).cast(target))
    return out
