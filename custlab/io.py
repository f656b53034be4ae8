"""Readers for the canonical tables: CSV, Parquet and Excel, renamed at the border.

Every reader takes a path (or an existing polars frame), an optional
``columns={user_name: canonical_name}`` mapping, and returns a validated table
with the canonical names and types of :mod:`custlab.schema`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import polars as pl

from custlab.exceptions import SchemaError
from custlab.schema import Frame, TableName, validate

_CSV = {".csv", ".txt", ".tsv"}
_PARQUET = {".parquet", ".pq"}
_EXCEL = {".xlsx", ".xls", ".xlsm"}


def scan(source: str | Path, *, sheet: str | None = None, separator: str | None = None) -> pl.LazyFrame:
    """Open a CSV, Parquet or Excel file as a LazyFrame without renaming anything.

    CSV columns are typed by polars' inference over the first 10,000 rows;
    when a column defeats it (a stray word in a number column), the file is
    read as text so that validation can point at the bad values.
    """
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"No such data file: {path}. Check the path (relative paths start at {Path.cwd()}).")
    suffix = path.suffix.lower()
    if suffix in _PARQUET or path.is_dir():
        return pl.scan_parquet(path)
    if suffix in _CSV:
        sep = separator or ("\t" if suffix == ".tsv" else ",")
        try:
            frame = pl.read_csv(path, separator=sep, infer_schema_length=10_000, try_parse_dates=False)
        except pl.exceptions.ComputeError:
            frame = pl.read_csv(path, separator=sep, infer_schema=False)
        return frame.lazy()
    if suffix in _EXCEL:
        kwargs = {"sheet_name": sheet} if sheet else {}
        return pl.read_excel(path, **kwargs).lazy()
    raise SchemaError(
        f"Cannot read {path.name}: unknown file type {suffix!r}. Use CSV (.csv, .tsv), Parquet (.parquet) or Excel (.xlsx)."
    )


def read_table(
    source: str | Path | Frame,
    table: TableName = "transactions",
    *,
    columns: Mapping[str, str] | None = None,
    lazy: bool = False,
    date_format: str | None = None,
    sheet: str | None = None,
) -> Frame:
    """Read one canonical table from a file or frame and validate it.

    Parameters
    ----------
    source
        Path to a CSV, Parquet (file or folder of files) or Excel file, or a
        polars DataFrame/LazyFrame already in memory.
    table
        Which canonical table the source holds (see :mod:`custlab.schema`).
    columns
        ``{user_name: canonical_name}``, applied once here.
    lazy
        Return a LazyFrame (Parquet is then streamed, never loaded whole).
    date_format, sheet
        Passed to validation and to the Excel reader.

    Examples
    --------
    >>> import polars as pl
    >>> raw = pl.DataFrame({"cid": ["a"], "oid": [1], "ts": ["2024-03-01"], "rev": [9.5]})
    >>> read_table(raw, columns={"cid": "customer_id", "oid": "order_id",
    ...                          "ts": "order_date", "rev": "amount"}).columns
    ['customer_id', 'order_id', 'order_date', 'amount']
    """
    if isinstance(source, (pl.DataFrame, pl.LazyFrame)):
        frame: Frame = source.lazy() if lazy else source
    else:
        frame = scan(source, sheet=sheet)
        if not lazy:
            frame = frame.collect()
    return validate(frame, table, columns=columns, date_format=date_format)


def _reader(table: TableName, what: str):
    def read(source, *, columns=None, lazy=False, date_format=None, sheet=None) -> Frame:
        return read_table(source, table, columns=columns, lazy=lazy, date_format=date_format, sheet=sheet)

    read.__name__ = read.__qualname__ = f"read_{table}"
    read.__doc__ = f"Read the {what}; see :func:`read_table` for the arguments."
    return read


read_transactions = _reader("transactions", "transactions table (one row per order line)")
read_customers = _reader("customers", "customers table (one row per customer)")
read_events = _reader("events", "events table (behaviour log, one row per event)")
read_marketing_spend = _reader("marketing_spend", "marketing_spend table (month, channel, spend)")
read_reviews = _reader("reviews", "reviews table (one row per review)")
