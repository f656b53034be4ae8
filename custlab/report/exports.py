"""Writing a report: the HTML, ``key_figures.json`` and the CRM lists, safe to open in a spreadsheet.

:func:`write_outputs` writes into ``out_dir``::

    monthly_report.html        the report (custlab.report.html.render_html)
    key_figures.json           strict JSON (no NaN or Infinity, floats to 15 significant digits), read back next month
    exports/<list>.csv         customer lists for the CRM (and .xlsx with excel=True)
    exports/README.txt         what each file is, in English and Chinese

Everything is written into a hidden folder first and swapped in only when
complete, so old and new files never mix; other files in the folder are never
touched. Every CSV cell passes the OWASP CSV-injection rule: a text cell
starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
leading ``'`` (:func:`neutralise`). Ids are text, dates ISO without
microseconds, floats rounded, NaN and infinities written as empty cells.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import polars as pl

from custlab._i18n import t
from custlab.exceptions import CustlabError
from custlab.report.folders import FileLock, RunLocked, inside, os_error_reason, writable_folder

__all__ = [
    "CSV_FORMULA_PREFIXES", "HTML_NAME", "REPORT_FILES", "Outputs", "Written", "neutralise", "prepare_export", "write_csv",
    "write_outputs", "write_tables",
]

#: First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
CSV_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_FORMULA = r"^[=+\-@\t\r]"
#: File name of the report.
HTML_NAME = "monthly_report.html"
#: Decimals kept in exported floats (money comes rounded to 2 already).
FLOAT_DECIMALS = 4


@dataclass(frozen=True)
class Outputs:
    """What :func:`write_outputs` wrote: the folder, the HTML, the key figures and the export files."""

    folder: Path | None
    html: Path | None = None
    key_figures: Path | None = None
    exports: tuple[Path, ...] = ()

    def __repr__(self) -> str:
        if self.folder is None:
            return t("report_files.nothing_written")
        return f"Outputs({self.html}, key figures and {len(self.exports)} export files)"


def neutralise(values: pl.Expr | pl.Series | str) -> Any:
    """Text with a leading ``'`` where it starts with ``= + - @``, tab or CR, so no spreadsheet runs it.

    >>> neutralise("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
    >>> neutralise(pl.Series(["-1+2", "ok", None])).to_list()
    ["'-1+2", 'ok', None]
    """
    if isinstance(values, str):
        return "'" + values if values.startswith(CSV_FORMULA_PREFIXES) else values
    if isinstance(values, pl.Series):
        return values.to_frame().select(neutralise(pl.col(values.name))).to_series()
    return pl.when(values.str.contains(_FORMULA)).then(pl.lit("'") + values).otherwise(values)


def _is_id(name: str) -> bool:
    return name == "id" or name.endswith("_id") or name.endswith("_ids")


def _column(name: str, dtype: pl.DataType, *, workbook: bool = False) -> pl.Expr:
    col = pl.col(name)
    # a workbook stores text as text (strings_to_formulas off): a leading "'" would only become part of the value
    guard = (lambda text: text) if workbook else neutralise
    if isinstance(dtype, (pl.List, pl.Array)):
        return guard(col.cast(pl.List(pl.String)).list.join(" + "))
    if dtype == pl.String or isinstance(dtype, (pl.Categorical, pl.Enum)):
        return guard(col.cast(pl.String))
    if dtype.is_float():
        return pl.when(col.is_finite()).then(col.round(FLOAT_DECIMALS)).otherwise(None)
    if dtype.is_integer() and _is_id(name):
        return col.cast(pl.String)
    if isinstance(dtype, pl.Datetime):  # a workbook gets dates Excel can sort and filter, not text
        return col.dt.truncate("1s") if workbook else col.dt.strftime("%Y-%m-%d %H:%M:%S")
    if dtype == pl.Date:
        return col if workbook else col.dt.strftime("%Y-%m-%d")
    if isinstance(dtype, pl.Duration):
        return (col.dt.total_seconds() / 86_400).round(FLOAT_DECIMALS)
    if isinstance(dtype, (pl.Struct, pl.Object)) or dtype == pl.Null:
        return guard(col.cast(pl.String))
    return col


def prepare_export(frame: pl.DataFrame, *, workbook: bool = False) -> pl.DataFrame:
    """A table as it goes into a CSV: ids as text, ISO dates, rounded floats, lists joined, text neutralised.

    Headers are neutralised too (a pivot may turn data values into column names). With ``workbook=True``, for an
    .xlsx written with ``strings_to_formulas`` off, text is left as it is (no cell of a workbook runs a string) and
    dates stay dates.

    >>> import datetime as dt
    >>> prepare_export(pl.DataFrame({"customer_id": [12346], "name": ["@cmd"], "p": [0.123456],
    ...                              "at": [dt.datetime(2011, 11, 3, 14, 5, 0, 123456)]})).row(0)
    ('12346', "'@cmd", 0.1235, '2011-11-03 14:05:00')
    """
    out = frame.select([_column(name, dtype, workbook=workbook).alias(name) for name, dtype in frame.schema.items()])
    return out if workbook else out.rename({c: neutralise(c) for c in out.columns if neutralise(c) != c})


def _cannot_write(path: Path, err: OSError) -> CustlabError:
    return CustlabError(f"Cannot write {path}: {os_error_reason(err)}. Free some space or choose another --out.")


def write_csv(frame: pl.DataFrame, path: str | Path, *, bom: bool = True, excel: bool = False) -> list[Path]:
    """Write one export as CSV (UTF-8, with a BOM unless ``bom=False``) and, with ``excel=True``, as .xlsx beside it."""
    path = Path(path)
    table = prepare_export(frame)
    written = []
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        table.write_csv(path, include_bom=bom, null_value="")
        written.append(path)
        if excel:
            written.append(_write_xlsx(prepare_export(frame, workbook=True), path.with_suffix(".xlsx")))
    except OSError as err:
        raise _cannot_write(path if not written else path.with_suffix(".xlsx"), err) from None
    return written


def _write_xlsx(table: pl.DataFrame, path: Path) -> Path:
    try:
        import xlsxwriter
    except ImportError:
        raise CustlabError("--excel needs the xlsxwriter package: pip install xlsxwriter.") from None
    options = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    with xlsxwriter.Workbook(str(path), options) as workbook:
        table.write_excel(workbook, worksheet=path.stem[:31], autofit=True)
    return path


class Written(tuple):
    """The files :func:`write_tables` wrote (a tuple of paths) that a notebook shows as a sentence."""

    def __repr__(self) -> str:
        if not self:
            return "Nothing written: out_dir is empty (set it to a folder to export the tables)."
        return f"{len(self)} file(s) written: " + ", ".join(str(p) for p in self)


def write_tables(tables: Mapping[str, pl.DataFrame], out_dir: str | Path, *, bom: bool = True,
                 excel: bool = False) -> Written:
    """Write tables as CSV files ``out_dir/<name>`` the way the report's exports are written; "" writes nothing.

    The notebooks end with it: customer lists safe to open in a spreadsheet
    (see :func:`prepare_export`), in a folder of the reader's choosing.
    Returns the paths written (a tuple, shown as a sentence).

    >>> write_tables({"clv.csv": pl.DataFrame({"customer_id": [1]})}, "")
    Nothing written: out_dir is empty (set it to a folder to export the tables).
    """
    if out_dir is None or str(out_dir) == "":
        return Written()
    folder = Path(out_dir)
    written: list[Path] = []
    for relative, frame in tables.items():
        written += write_csv(frame, _export_path(folder, relative), bom=bom, excel=excel)
    return Written(written)


def _export_path(folder: Path, relative: str) -> Path:
    """``folder/relative`` for a relative POSIX path without ``..``; a clear error for anything else."""
    parts = PurePosixPath(relative.replace("\\", "/")).parts
    if not parts or relative.startswith(("/", "\\")) or any(p in ("", ".", "..") or ":" in p for p in parts):
        raise CustlabError(f"Export name {relative!r} is not a plain relative path (no '..', '/' at the start or ':').")
    return inside(folder, folder.joinpath(*parts))


#: Significant digits of the floats in ``key_figures.json``: enough for any money figure to the cent below 10**13,
#: and no more than float64 carries, so that 3494 / 5000 reads 0.6988, not 0.6988000000000001.
JSON_DIGITS = 15


def _tidy(node: Any) -> Any:
    """``node`` with every finite float rounded to :data:`JSON_DIGITS` significant digits (the last bits of float
    arithmetic are noise, not information); other values, NaN and infinities included, as they are."""
    if isinstance(node, float) and math.isfinite(node):
        return float(f"{node:.{JSON_DIGITS}g}")
    if isinstance(node, Mapping):
        return {k: _tidy(v) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [_tidy(v) for v in node]
    return node


def _strict_json(value: Any) -> str:
    def bad(node: Any, where: str) -> str | None:
        if isinstance(node, float) and not math.isfinite(node):
            return f"{where} is {node}"
        if isinstance(node, Mapping):
            return next((b for k, v in node.items() if (b := bad(v, f"{where}.{k}"))), None)
        if isinstance(node, (list, tuple)):
            return next((b for i, v in enumerate(node) if (b := bad(v, f"{where}[{i}]"))), None)
        return None

    try:
        return json.dumps(_tidy(value), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    except (ValueError, TypeError) as err:
        raise CustlabError(f"key_figures cannot be written as strict JSON: {bad(value, 'key_figures') or err}.") from None


def _readme(figures: Any, *, bom: bool, excel: bool) -> str:
    blocks = []
    for language in ("en", "zh"):
        lines = [t("report_files.readme_title", language, month=figures.month.month), ""]
        if hasattr(figures, "exports_readme"):
            lines.append(figures.exports_readme(language).rstrip("\n"))
        else:
            lines += sorted(figures.exports())
        lines += ["", t("report_files.readme_format", language, bom=t("report_files.with_bom", language) if bom else "")]
        if excel:
            lines.append(t("report_files.excel", language))
        blocks.append("\n".join(lines))
    return f"\n\n{'-' * 72}\n\n".join(blocks) + "\n"


def _write_text(path: Path, text: str) -> Path:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise _cannot_write(path, err) from None
    return path


#: Columns of the CRM lists that hold custlab's labels (a value tier, a review aspect), written in the page's language.
LABEL_COLUMNS = ("segment", "value_tier", "aspect")


def in_language(frame: pl.DataFrame, language: str) -> pl.DataFrame:
    """``frame`` with its label columns (:data:`LABEL_COLUMNS`) in ``language``: the Chinese lists had "High value"
    in segments.csv, the actions and early_warning.csv but "高价值客户" in next_best_action.csv, so that a filter or a
    join across them found nothing."""
    from custlab._i18n import check_language, label

    check_language(language)
    columns = [c for c in LABEL_COLUMNS if c in frame.columns and frame.schema[c] in (pl.String, pl.Categorical)]
    if not columns:
        return frame
    # label() in English too: the page says "delivery" where the library's aspect code is "logistics"
    return frame.with_columns(
        pl.col(c).cast(pl.String).replace({v: label(v, language) for v in frame[c].cast(pl.String).unique().drop_nulls()})
        for c in columns)


def _write_all(figures: Any, folder: Path, *, language: str, run_info: Mapping | None, bom: bool, excel: bool) -> Outputs:
    from custlab.report.html import render_html

    exports_dir = folder / "exports"
    files: list[Path] = []
    for relative, frame in sorted(figures.exports().items()):
        files += write_csv(in_language(frame, language), _export_path(exports_dir, relative), bom=bom, excel=excel)
    if files:
        files.append(_write_text(exports_dir / "README.txt", _readme(figures, bom=bom, excel=excel)))
    key_figures = _write_text(folder / "key_figures.json", _strict_json(figures.key_figures()))
    html = _write_text(folder / HTML_NAME, render_html(figures, language=language, run_info=run_info))
    return Outputs(folder, html, key_figures, tuple(files))


#: What a report owns in its folder; write_outputs replaces these and touches nothing else.
REPORT_FILES = ("exports", "key_figures.json", HTML_NAME)


def _swap_in(folder: Path, staging: Path) -> None:
    """Move the report's files from ``staging`` into ``folder``: the exports folder whole, then the key figures, the HTML last."""
    for name in REPORT_FILES:
        new, current = staging / name, folder / name
        if not new.exists():
            continue
        if new.is_dir():
            if current.exists():
                os.rename(current, staging / f"{name}.replaced")
            os.rename(new, current)
        else:
            os.replace(new, current)


def write_outputs(
    figures: Any,
    out_dir: str | Path,
    *,
    language: str | None = None,
    run_info: Mapping[str, object] | None = None,
    bom: bool = True,
    excel: bool = False,
) -> Outputs:
    """Write the report of ``figures`` (a :class:`~custlab.report.figures.MonthlyFigures`) into ``out_dir``.

    Everything is written first into a hidden folder inside ``out_dir``;
    only when all files are written do they replace the report's files
    (:data:`REPORT_FILES`: ``exports/`` as a whole, ``key_figures.json``, the
    HTML), so old and new exports never mix and a failed run leaves the
    earlier report as it was. Other files in ``out_dir`` (a notebook, your
    own files) are never touched. A second run into the same folder while
    one is writing is refused (a lock file, ``.custlab.lock``).

    Parameters
    ----------
    out_dir
        The report's folder; "" writes nothing (a notebook run without a folder).
    language
        Language of the HTML (default: the figures' own).
    run_info
        Footer facts for :func:`~custlab.report.html.render_html` (``version``, ``parameters``...).
    bom
        Start each CSV with a UTF-8 byte-order mark (Excel then reads Chinese correctly).
    excel
        Also write each list as an .xlsx workbook (needs xlsxwriter).

    Raises
    ------
    CustlabError
        When a file cannot be written (full disk, read-only folder): one
        sentence naming the file; the earlier report in ``out_dir`` is left as it was.
    """
    if out_dir is None or str(out_dir) == "":
        return Outputs(None)
    language = language or getattr(figures, "language", "en")
    folder = writable_folder(Path(out_dir).resolve())
    info = {"version": _version(), **dict(run_info or {})}
    lock = FileLock(folder / ".custlab.lock")
    if not lock.try_acquire():
        raise RunLocked(f"Another custlab run (pid {lock.holder()}) is writing {folder}; wait for it to finish.")
    try:
        for stale in folder.glob(".custlab-partial-*"):  # left by a killed run; we hold the lock
            shutil.rmtree(stale, ignore_errors=True)
        staging = folder / f".custlab-partial-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        try:
            staging.mkdir()
            written = _write_all(figures, staging, language=language, run_info=info, bom=bom, excel=excel)
            _swap_in(folder, staging)
        except CustlabError as err:  # name the file as the reader knows it, not the staging folder
            raise CustlabError(str(err).replace(str(staging), str(folder))) from None
        except OSError as err:
            raise CustlabError(f"Cannot write in {folder}: {os_error_reason(err)}. Free some space or choose another folder.") from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    finally:
        lock.release()
    moved = lambda p: folder / p.relative_to(staging)  # noqa: E731 - paths after the swap
    return Outputs(folder, moved(written.html), moved(written.key_figures), tuple(moved(p) for p in written.exports))


def _version() -> str:
    from custlab import __version__

    return __version__
