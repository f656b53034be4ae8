"""Readers for the canonical tables: CSV, Parquet and Excel, renamed at the border.

Every reader takes a path (or an existing polars frame), an optional
``columns={user_name: canonical_name}`` mapping, and returns a validated table
with the canonical names and types of :mod:`custlab.data.schema`.

What the reader found out about the file is returned on request
(``return_info=True``) as a :class:`ReadInfo`: the encoding and separator of a
text file, whether it used decimal commas, which sheets of a workbook were
read and which were left out, and the time zone its dates are expressed in.
Pass it to :func:`custlab.data.clean_transactions` (``source=``) so the
data-quality report states it.

- Text files (``.csv``, ``.tsv``, ``.txt``): the encoding is detected
  (UTF-8, GBK/GB18030, Big5, Windows-1252/Latin-1 ...; see
  :mod:`custlab.data.sniff`), the separator sniffed among ``,`` ``;`` tab
  ``|``, and decimal commas (``12,5``, ``1.234,5``) recognised; each can be
  given instead with ``encoding=``, ``separator=``, ``decimal_comma=``.
- Excel workbooks: every sheet with the same columns as the first is read
  and stacked (a workbook with one sheet per year), or only ``sheet=``.
- Parquet: a file or a folder of files, streamed when ``lazy=True``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import polars as pl

from custlab._types import Frame
from custlab._i18n import t
from custlab.data.schema import Note, TableName, make_note, render_note, validate_with_info
from custlab.data.sniff import sniff_text
from custlab.exceptions import EmptyDataError, ParseError, SchemaError

__all__ = ["ReadInfo", "read_customers", "read_events", "read_marketing_spend", "read_reviews", "read_table",
           "read_transactions", "scan", "validate_read"]

_CSV = {".csv", ".txt", ".tsv"}
_PARQUET = {".parquet", ".pq"}
_EXCEL = {".xlsx", ".xls", ".xlsm", ".xlsb", ".ods"}
_COMMA_NUMBER = r"^[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+),\d+$"


@dataclass(frozen=True)
class ReadInfo:
    """What reading a table found out about its source, for the data-quality report.

    Attributes
    ----------
    source
        The file's path, or ``"frame"`` for a table given in memory.
    format
        ``"csv"``, ``"parquet"``, ``"excel"`` or ``"frame"``.
    rows
        Rows read (None for a lazy Parquet scan, which is not counted).
    encoding, separator, decimal_comma
        Of a text file: the codec (``"utf-8"``, ``"gb18030"``, ...), the
        separator, and whether numbers use a decimal comma.
    sheets
        Of a workbook: the sheets read, in order, as ``(name, rows)``.
    skipped_sheets
        Sheets left out, as ``(name, why)``; ``why`` is ``"empty"``,
        ``"not_asked"`` (another ``sheet=`` was given) or ``"columns_differ"``.
    timezone
        The zone the date columns' clock times are expressed in: the data's
        own zone (an offset such as ``+08:00`` in the text, or the Parquet
        column's zone) or the ``timezone=`` argument; None when the data carry
        no zone (clock times are kept as written).
    notes
        Other things reading did (trimmed or repeated header names, a zone
        conversion, ids read as text), as :data:`custlab.data.schema.Note`;
        :meth:`sentences` renders them.
    null_markers
        Words for a missing value (``"nan"``, ``"NULL"``, ...:
        :data:`custlab.data.schema.NULL_MARKERS`) read as missing ids, as
        ``(column, value as written, rows)``; a warning says so when reading.
    """

    source: str
    format: Literal["csv", "parquet", "excel", "frame"]
    rows: int | None = None
    encoding: str | None = None
    separator: str | None = None
    decimal_comma: bool = False
    sheets: tuple[tuple[str, int], ...] = ()
    skipped_sheets: tuple[tuple[str, str], ...] = ()
    timezone: str | None = None
    notes: tuple[Note, ...] = field(default=())
    null_markers: tuple[tuple[str, str, int], ...] = field(default=())

    def sentences(self, language: str = "en") -> list[str]:
        """What was read, as short sentences for a report, in ``language``."""
        name = Path(self.source).name if self.format != "frame" else t("data.frame_name", language)
        rows = t("data.read_rows", language, rows=f"{self.rows:,}") if self.rows is not None else ""
        if self.format == "csv":
            sep = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}.get(self.separator or ",")
            out = [t("data.read_csv", language, name=name, rows=rows, encoding=self.encoding,
                     separator=t(f"data.sep.{sep}", language) if sep else repr(self.separator),
                     comma=t("data.decimal_comma", language) if self.decimal_comma else "")]
        elif self.format == "excel":
            read = ", ".join(t("data.sheet_rows", language, sheet=s, rows=f"{n:,}") for s, n in self.sheets)
            out = [t("data.read_excel", language, name=name, rows=rows, sheets=read)]
            first = self.sheets[0][0] if self.sheets else ""
            out += [t(f"data.sheet_skipped.{why}", language, sheet=s, first=first) for s, why in self.skipped_sheets]
        else:
            out = [t("data.read_other", language, name=name, rows=rows)]
        if self.timezone:
            out.append(t("data.timezone", language, zone=self.timezone))
        return out + [render_note(n, language) for n in self.notes]

    def to_dict(self) -> dict:
        """Plain-Python form, ready for JSON (notes as English sentences)."""
        return {
            "source": self.source, "format": self.format, "rows": self.rows, "encoding": self.encoding,
            "separator": self.separator, "decimal_comma": self.decimal_comma,
            "sheets": [{"sheet": s, "rows": n} for s, n in self.sheets],
            "skipped_sheets": [{"sheet": s, "why": t(f"data.sheet_skipped.{w}", "en", sheet=s,
                                                        first=self.sheets[0][0] if self.sheets else "")}
                               for s, w in self.skipped_sheets],
            "timezone": self.timezone, "notes": [render_note(n) for n in self.notes],
            "null_markers": [{"column": c, "value": v, "rows": n} for c, v, n in self.null_markers],
        }

    def __str__(self) -> str:
        return " ".join(self.sentences())


def _check_path(source: str | Path) -> Path:
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"No such data file: {path}. Check the path (relative paths start at {Path.cwd()}).")
    return path


def _comma_numbers(frame: pl.DataFrame) -> pl.DataFrame:
    """Text columns of decimal-comma numbers (``12,5``, ``1.234,5``) as Float64.

    A column is converted when it holds at least one such number and every
    other value is a plain number polars reads (``3``, ``inf``, ``NaN``, ``1e15``).
    """
    casts = []
    for name, dtype in frame.schema.items():
        if dtype != pl.String:
            continue
        text = frame[name].str.strip_chars()
        text = text.filter(text.is_not_null() & (text != ""))
        comma = text.str.contains(_COMMA_NUMBER)
        if text.len() and comma.any() and (comma | text.cast(pl.Float64, strict=False).is_not_null()).all():
            value = pl.col(name).str.strip_chars()
            casts.append(pl.when(value.str.contains(_COMMA_NUMBER))
                         .then(value.str.replace_all(".", "", literal=True).str.replace(",", ".", literal=True))
                         .otherwise(value).cast(pl.Float64, strict=False).alias(name))
    return frame.with_columns(casts) if casts else frame


def _header_notes(frame: pl.DataFrame, name: str) -> tuple[pl.DataFrame, list[Note]]:
    """Trim spaces around column names; say which names the header repeats."""
    notes = []
    stripped = {c: c.strip() for c in frame.columns if c != c.strip()}
    if stripped and len({c.strip() for c in frame.columns}) == frame.width:
        frame = frame.rename(stripped)
        notes.append(make_note("trimmed_header", count=len(stripped), name=name))
    repeated = [c for c in frame.columns if re.search(r"_duplicated_\d+$", c)]
    if repeated:
        notes.append(make_note("repeated_header", name=name, columns=", ".join(repeated)))
    return frame, notes


def _ragged_line(data: bytes, separator: str) -> str | None:
    """The first line whose number of fields differs from the header's, described; None if there is none."""
    rows = csv.reader(io.StringIO(data.decode("utf-8-sig", errors="replace")), delimiter=separator)
    header = next(rows, [])
    for number, row in enumerate(rows, start=2):
        if row and len(row) != len(header):
            return f"line {number:,} has {len(row)} fields, the header {len(header)}"
    return None


def _zero_padded(data: bytes, options: dict) -> dict[str, pl.DataType]:
    """Columns of whole numbers written with leading zeros (ids such as ``00012``): read them as text."""
    head = pl.read_csv(data, infer_schema=False, n_rows=10_000, **options)
    padded = [c for c in head.columns if bool(head[c].str.contains(r"^\s*0\d+\s*$").any())]
    return dict.fromkeys(padded, pl.String)


def _read_csv(path: Path, *, encoding, separator, decimal_comma) -> tuple[pl.DataFrame, ReadInfo]:
    data, layout = sniff_text(path, encoding=encoding, separator=separator, decimal_comma=decimal_comma)
    options = {"separator": layout.separator, "decimal_comma": layout.decimal_comma and layout.separator != ","}
    try:
        try:
            frame = pl.read_csv(data, infer_schema_length=10_000, try_parse_dates=False,
                                schema_overrides=_zero_padded(data, options), **options)
        except pl.exceptions.ComputeError:  # a column that defeats type inference: read text, validation explains
            frame = pl.read_csv(data, infer_schema=False, **options)
    except pl.exceptions.PolarsError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ParseError(f"{path.name} cannot be read as a {layout.separator!r}-separated table: "
                         f"{_ragged_line(data, layout.separator) or first}. Check separator= and that every line "
                         f"has the header's number of fields.") from None
    if layout.decimal_comma:
        frame = _comma_numbers(frame)
    frame, notes = _header_notes(frame, path.name)
    if frame.height == 0:
        raise EmptyDataError(f"{path.name} has a header ({', '.join(frame.columns[:8])}) but no data rows.")
    info = ReadInfo(str(path), "csv", frame.height, layout.encoding, layout.separator, layout.decimal_comma,
                    notes=tuple(notes))
    return frame, info


def _stack(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """Sheets with the same columns, stacked; a column typed differently across sheets becomes text."""
    columns = frames[0].columns
    frames = [f.select(columns) for f in frames]
    try:
        return pl.concat(frames, how="vertical_relaxed")
    except pl.exceptions.PolarsError:
        mixed = [c for c in columns if len({f.schema[c] for f in frames}) > 1]
        return pl.concat([f.with_columns(pl.col(mixed).cast(pl.String)) for f in frames], how="vertical")


def _read_excel(path: Path, sheet: str | int | None) -> tuple[pl.DataFrame, ReadInfo]:
    try:
        book = pl.read_excel(path, sheet_id=0, infer_schema_length=None, raise_if_empty=False)
    except Exception as error:  # fastexcel raises its own exception classes
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ParseError(f"{path.name} cannot be read as an Excel workbook: {first}.") from None
    names = list(book)
    if sheet is not None:
        key = names[sheet - 1] if isinstance(sheet, int) and 1 <= sheet <= len(names) else sheet
        if key not in book:
            raise SchemaError(f"sheet={sheet!r} is not in {path.name}; its sheets are {names}.")
        chosen, skipped = [key], [(n, "not_asked") for n in names if n != key]
    else:
        chosen, skipped, header = [], [], None
        for name in names:
            frame = book[name]
            if frame.height == 0:
                skipped.append((name, "empty"))
            elif header is None or set(frame.columns) == set(header):
                header = header or frame.columns
                chosen.append(name)
            else:
                skipped.append((name, "columns_differ"))
        if not chosen:
            raise EmptyDataError(f"{path.name} has no sheet with data rows (sheets: {names}).")
    frame = _stack([book[n] for n in chosen])
    if frame.height == 0:
        raise EmptyDataError(f"Sheet '{chosen[0]}' of {path.name} has a header but no data rows.")
    frame, notes = _header_notes(frame, path.name)
    info = ReadInfo(str(path), "excel", frame.height, sheets=tuple((n, book[n].height) for n in chosen),
                    skipped_sheets=tuple(skipped), notes=tuple(notes))
    return frame, info


def _scan_parquet(path: Path) -> tuple[pl.LazyFrame, ReadInfo]:
    if path.is_file():
        with path.open("rb") as handle:
            head = handle.read(4)
        if head != b"PAR1":
            raise SchemaError(f"{path.name} is not a Parquet file (it does not start with the Parquet marker); "
                              f"check the file or its extension.")
    frame = pl.scan_parquet(path)
    try:
        frame.collect_schema()
    except pl.exceptions.PolarsError as error:
        first = str(error).strip().splitlines()[0]
        raise ParseError(f"{path.name} cannot be read as Parquet: {first}.") from None
    return frame, ReadInfo(str(path), "parquet")


def scan(
    source: str | Path,
    *,
    sheet: str | int | None = None,
    separator: str | None = None,
    encoding: str | None = None,
    decimal_comma: bool | None = None,
    return_info: bool = False,
) -> pl.LazyFrame | tuple[pl.LazyFrame, ReadInfo]:
    """Open a CSV, Parquet or Excel file as a LazyFrame without renaming anything.

    Text files are decoded and split as found by :mod:`custlab.data.sniff`
    unless ``encoding``, ``separator`` or ``decimal_comma`` say otherwise.
    Column types are inferred by polars over the first 10,000 rows; when a
    column defeats it (a stray word in a number column), the file is read as
    text so that validation can point at the bad values. Excel: see
    :func:`read_table`. With ``return_info=True`` returns ``(frame, ReadInfo)``.

    Raises
    ------
    FileNotFoundError
        No such file.
    EmptyDataError
        An empty file, a header without rows, a workbook without data.
    SchemaError
        An unknown extension, or a file that is not a table.
    ParseError
        Bytes that the encoding cannot read, or lines that do not fit the header.
    """
    path = _check_path(source)
    suffix = path.suffix.lower()
    if suffix in _PARQUET or path.is_dir():
        lazy, info = _scan_parquet(path)
    elif suffix in _CSV:
        sep = separator or ("\t" if suffix == ".tsv" else None)
        frame, info = _read_csv(path, encoding=encoding, separator=sep, decimal_comma=decimal_comma)
        lazy = frame.lazy()
    elif suffix in _EXCEL:
        frame, info = _read_excel(path, sheet)
        lazy = frame.lazy()
    else:
        raise SchemaError(f"Cannot read {path.name}: unknown file type {suffix!r}. "
                          f"Use CSV (.csv, .tsv), Parquet (.parquet) or Excel (.xlsx).")
    return (lazy, info) if return_info else lazy


def read_table(
    source: str | Path | Frame,
    table: TableName = "transactions",
    *,
    columns: Mapping[str, str] | None = None,
    lazy: bool = False,
    date_format: str | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
    separator: str | None = None,
    decimal_comma: bool | None = None,
    timezone: str | None = None,
    return_info: bool = False,
) -> Frame | tuple[Frame, ReadInfo]:
    """Read one canonical table from a file or frame and validate it.

    Parameters
    ----------
    source
        Path to a CSV, Parquet (file or folder of files) or Excel file, or a
        polars DataFrame/LazyFrame already in memory.
    table
        Which canonical table the source holds (see :mod:`custlab.data.schema`).
    columns
        ``{user_name: canonical_name}``, applied once here.
    lazy
        Return a LazyFrame (Parquet is then streamed, never loaded whole).
    date_format
        Format of text dates (see :func:`custlab.data.schema.validate`), or
        ``"excel"``, ``"epoch_s"``, ``"epoch_ms"`` for numbers.
    sheet
        Excel: the one sheet to read (name, or number from 1). By default
        every sheet with the same columns as the first is read and stacked.
    encoding, separator, decimal_comma
        Text files: override what is detected.
    timezone
        Zone to express time-zone-aware dates in (e.g. ``"Asia/Shanghai"``);
        by default the data's own zone. Dates are returned as naive clock
        times in that zone.
    return_info
        Also return the :class:`ReadInfo`: ``(frame, info)``.

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
        info = ReadInfo("frame", "frame", None if isinstance(source, pl.LazyFrame) else source.height)
    else:
        frame, info = scan(source, sheet=sheet, separator=separator, encoding=encoding, decimal_comma=decimal_comma,
                           return_info=True)
        if not lazy:
            frame = frame.collect()
    return validate_read(frame, info, table, columns=columns, date_format=date_format, timezone=timezone,
                         return_info=return_info)


def validate_read(
    frame: Frame,
    info: ReadInfo,
    table: TableName,
    *,
    columns: Mapping[str, str] | None = None,
    date_format: str | None = None,
    timezone: str | None = None,
    return_info: bool = True,
) -> Frame | tuple[Frame, ReadInfo]:
    """Validate a table opened by :func:`scan`; messages name the file, and ``info`` gains the zone found.

    A text file that came out as a single column and lacks the table's
    columns is reported as not being a table (or having another separator).
    """
    name = None if info.format == "frame" else Path(info.source).name
    try:
        out, found = validate_with_info(frame, table, columns=columns, date_format=date_format, timezone=timezone,
                                        source=name)
    except SchemaError as error:
        names = frame.collect_schema().names()
        if info.format == "csv" and len(names) == 1 and "missing required column" in str(error):
            raise SchemaError(
                f"{name} has a single column ({names[0][:60]!r}): it is not a {table} table, or its fields are "
                f"separated by a character other than , ; tab |: pass separator=."
            ) from None
        raise
    if isinstance(out, pl.DataFrame):
        info = replace(info, rows=out.height)
    info = replace(info, timezone=found.timezone, notes=info.notes + found.notes, null_markers=found.null_markers)
    return (out, info) if return_info else out


def _reader(table: TableName, what: str):
    def read(source, *, columns=None, lazy=False, date_format=None, sheet=None, encoding=None, separator=None,
             decimal_comma=None, timezone=None, return_info=False):
        return read_table(source, table, columns=columns, lazy=lazy, date_format=date_format, sheet=sheet,
                          encoding=encoding, separator=separator, decimal_comma=decimal_comma, timezone=timezone,
                          return_info=return_info)

    read.__name__ = read.__qualname__ = f"read_{table}"
    read.__doc__ = f"Read the {what}; see :func:`read_table` for the arguments."
    return read


read_transactions = _reader("transactions", "transactions table (one row per order line)")
read_customers = _reader("customers", "customers table (one row per customer)")
read_events = _reader("events", "events table (behaviour log, one row per event)")
read_marketing_spend = _reader("marketing_spend", "marketing_spend table (month, channel, spend)")
read_reviews = _reader("reviews", "reviews table (one row per review)")
