"""What a text table looks like before it is read: encoding, separator, decimal comma, file kind.

A shop's export is often not the UTF-8, comma-separated file polars expects:
Excel on a Chinese Windows writes GBK, a German one writes semicolons and
decimal commas. :func:`sniff_text` finds out which, from the bytes:

- the encoding with ``charset-normalizer`` (UTF-8 is tried first, as it is
  the common case and cannot be confused with anything else; among equally
  good guesses, GB18030, Big5 and Windows-1252 are preferred, as the
  encodings of Chinese and Western Excel);
- the separator among ``,`` ``;`` tab and ``|``: the one that splits the
  first lines into the same number (two or more) of fields;
- decimal commas: numbers such as ``12,5`` or ``1.234,5`` and no number
  with a decimal point.

Files that are not text tables are recognised by their first bytes (a
workbook or Parquet file with a ``.csv`` name, a zip) so the message can say
what they are.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from custlab.exceptions import EmptyDataError, ParseError, SchemaError

__all__ = ["SEPARATORS", "TextLayout", "decode", "detect_encoding", "number_writing", "sniff_decimal_comma",
           "sniff_separator", "sniff_text"]

_COMMA_DECIMAL = r"^[+-]?\d[\d.]*,\d+$"
#: A number written with commas between groups of three digits ("1,234.50", "12,000"): US and UK spreadsheets.
_THOUSANDS = r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$"


def number_writing(unread, read) -> tuple[bool, str]:
    """How the text values of a numeric column that did not read as numbers (``unread``, a polars String Series)
    are written, beside those that did (``read``): ``(True, "")`` when they are numbers with commas between
    thousands and a dot marks decimals in the column (read them without the commas), else ``(False, hint)``, the
    hint an error gives (decimal commas, thousands, or either: "1,234" alone says nothing)."""
    dotted = bool(unread.str.contains(r"\.").any()) or bool(read.str.contains(r"\.").any())
    grouped = bool(unread.len()) and bool(unread.str.contains(_THOUSANDS).all())
    if grouped and dotted:
        return True, ""
    thousands = ("commas between thousands (1,234.50): write them without the commas at the source, or read the "
                 "column as text and remove them (pl.col(...).str.replace_all(',', ''))")
    decimal = "decimal commas: read the file with decimal_comma=True (--decimal-comma)"
    if grouped and bool(unread.str.contains(_COMMA_DECIMAL).all()):
        return False, f"Nothing says whether they have {thousands}; or {decimal}."
    if bool(unread.str.contains(_COMMA_DECIMAL).any()):
        return False, f"They look like {decimal}."
    if bool(unread.str.contains(_THOUSANDS).any()):
        return False, f"They look like numbers with {thousands}."
    return False, ""

#: Separators tried, in order of preference when two split the lines equally well.
SEPARATORS: tuple[str, ...] = (",", ";", "\t", "|")
#: Encodings preferred among equally good guesses: Chinese (mainland, Taiwan) and Western Excel exports.
PREFERRED_ENCODINGS: tuple[str, ...] = ("utf_8", "gb18030", "big5", "cp1252", "latin_1")
_HEAD_BYTES = 1 << 20
_SNIFF_LINES = 200
_MAGIC = {
    b"PK\x03\x04": "a zip archive or an Excel workbook (.xlsx)",
    b"PAR1": "a Parquet file",
    b"\xd0\xcf\x11\xe0": "an old Excel workbook (.xls)",
    b"%PDF": "a PDF document",
    b"\x1f\x8b": "a gzip archive",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
}
_COMMA_NUMBER = re.compile(r"^[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+),\d+$")
_DOT_NUMBER = re.compile(r"^[+-]?\d+\.\d+$")


@dataclass(frozen=True)
class TextLayout:
    """How a text table is written: ``encoding`` (Python codec name), ``separator``, ``decimal_comma``."""

    encoding: str
    separator: str
    decimal_comma: bool


def _normal_codec(name: str) -> str:
    """A codec name as Python spells it canonically (``"GBK"`` -> ``"gbk"``, ``"utf8"`` -> ``"utf-8"``)."""
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise SchemaError(f"encoding={name!r} is not an encoding Python knows; use e.g. 'utf-8', 'gb18030', "
                          f"'big5' or 'latin-1'.") from None


def _kind_of_bytes(head: bytes) -> str | None:
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            return what
    return None


def detect_encoding(data: bytes) -> str:
    """The encoding of ``data``: UTF-8 (``"utf-8-sig"`` with a byte-order mark) or charset-normalizer's best guess.

    Raises :class:`ParseError` when the bytes are not text in any encoding.

    Examples
    --------
    >>> detect_encoding("客户,金额".encode("gb18030"))
    'gb18030'
    >>> detect_encoding(b"\\xef\\xbb\\xbfid,amount")
    'utf-8-sig'
    """
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as error:
        if error.start >= len(data) - 3 and len(data) >= _HEAD_BYTES:  # a character cut at the end of a sample
            return "utf-8"
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if not matches:
        raise ParseError("The file is not text in any encoding custlab can recognise.")
    best = matches[0]
    # Short samples leave several codecs nearly as good: prefer the usual ones among them.
    tied = [m for m in matches if m.chaos <= best.chaos + 0.1 and m.coherence >= best.coherence - 0.1]
    for preferred in PREFERRED_ENCODINGS:
        for match in tied:
            if preferred in match.could_be_from_charset:
                return _normal_codec(preferred)
    return _normal_codec(best.encoding)


def decode(data: bytes, encoding: str, *, name: str = "the file") -> str:
    """``data`` as text; a byte that the encoding cannot read raises :class:`ParseError` saying where."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ParseError(
            f"{name} cannot be read as {encoding}: byte {data[error.start:error.start + 1]!r} on line {line:,} "
            f"is not valid there. Pass encoding= (e.g. 'gb18030', 'big5', 'latin-1') with the file's encoding."
        ) from None


def _field_counts(lines: list[str], separator: str) -> list[int]:
    try:
        return [len(row) for row in csv.reader(lines, delimiter=separator) if row]
    except csv.Error:
        return []


def sniff_separator(text: str) -> str | None:
    """The separator that splits the first lines of ``text`` into the same number (2+) of fields, or None.

    Examples
    --------
    >>> sniff_separator("a;b;c\\n1;2,5;x\\n")
    ';'
    >>> sniff_separator("one column\\nonly") is None
    True
    """
    lines = text.splitlines()[:_SNIFF_LINES]
    best: tuple[float, int, int] | None = None
    chosen = None
    for rank, separator in enumerate(SEPARATORS):
        counts = _field_counts(lines, separator)
        if not counts:
            continue
        mode, hits = Counter(counts).most_common(1)[0]
        if mode < 2 or counts[0] != mode or hits < 0.8 * len(counts):  # the header has the data's number of fields
            continue
        score = (hits / len(counts), mode, -rank)
        if best is None or score > best:
            best, chosen = score, separator
    return chosen


def sniff_decimal_comma(text: str, separator: str) -> bool:
    """True when a column of ``text`` holds numbers with a decimal comma (``12,5``) and none with a decimal point.

    Judged column by column, so an id column written as ``9.0`` does not hide the decimal commas of the amounts.

    >>> sniff_decimal_comma("a;b\\n1;12,5\\n2;3,25\\n", ";")
    True
    >>> sniff_decimal_comma("a,b\\n1,12.5\\n", ",")
    False
    """
    rows = list(csv.reader(text.splitlines()[1:_SNIFF_LINES], delimiter=separator))
    comma: Counter[int] = Counter()
    dot: Counter[int] = Counter()
    for row in rows:
        for i, value in enumerate(row):
            value = value.strip()
            comma[i] += bool(_COMMA_NUMBER.match(value))
            dot[i] += bool(_DOT_NUMBER.match(value))
    return any(n and not dot[i] for i, n in comma.items())


def sniff_text(
    path: Path,
    *,
    encoding: str | None = None,
    separator: str | None = None,
    decimal_comma: bool | None = None,
) -> tuple[bytes, TextLayout]:
    """Read a text table's bytes and find its layout; arguments given override what is sniffed.

    Returns the table as UTF-8 bytes (for polars' CSV reader) and its :class:`TextLayout`.

    Raises
    ------
    EmptyDataError
        The file is empty or holds only blank lines.
    SchemaError
        The file is not text (a workbook, Parquet, an image ...) or no
        separator splits its lines into a table.
    ParseError
        The file's bytes cannot be decoded (the message gives the line).
    """
    data = path.read_bytes()
    if not data.strip():
        raise EmptyDataError(f"{path.name} is empty ({len(data)} bytes): there is no table to read.")
    what = _kind_of_bytes(data[:8])
    if what:
        raise SchemaError(f"{path.name} is not a text table but {what}; save it as CSV, or give it its proper "
                          f"extension (.xlsx, .parquet) so custlab reads it as such.")
    if encoding is None:
        try:
            codec = detect_encoding(data[:_HEAD_BYTES])
        except ParseError:
            raise SchemaError(f"{path.name} is not a text table (its bytes are not text in any encoding); "
                              f"custlab reads CSV, Parquet and Excel files.") from None
        if codec in ("utf-8", "utf-8-sig") and len(data) > _HEAD_BYTES:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as error:  # non-UTF-8 text only further down: look there
                codec = detect_encoding(data[:4096] + data[max(error.start - 4096, 0):error.start + 4096])
    else:
        codec = _normal_codec(encoding)
    text = decode(data, codec, name=path.name)
    if "\x00" in text[:_HEAD_BYTES]:
        raise SchemaError(f"{path.name} is not a text table (it holds NUL bytes: UTF-16 or a binary file). "
                          f"Save it as CSV in UTF-8, or pass encoding= (e.g. 'utf-16').")
    sep = separator if separator is not None else sniff_separator(text[:_HEAD_BYTES])
    if sep is None:
        lines = text[:_HEAD_BYTES].splitlines()[:_SNIFF_LINES]
        if any(s in line for line in lines for s in SEPARATORS):
            raise SchemaError(
                f"{path.name} does not look like a table: no separator (',', ';', tab, '|') splits its first "
                f"lines into the same number of fields. Pass separator= if it uses another character."
            )
        sep = ","  # a single column; the reader says so if the table needs more
    if len(sep) != 1:
        raise SchemaError(f"separator must be one character, got {sep!r}.")
    comma = decimal_comma
    if comma is None:
        comma = sep != "," and sniff_decimal_comma(text[:_HEAD_BYTES], sep)
    utf8 = data if codec in ("utf-8", "utf-8-sig") else text.encode("utf-8")
    return utf8, TextLayout(encoding=codec, separator=sep, decimal_comma=bool(comma))
