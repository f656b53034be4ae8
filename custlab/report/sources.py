"""The data of a report: where they come from, checked cheaply, then read once.

:func:`scan_transactions` opens the transactions lazily (a Parquet file is not
read; for the synthetic shop only its period is needed), so the month and the
column mapping are checked before anything heavy runs. :func:`load` then reads
every table once, samples customers when asked, cleans the transactions at the
month's ``as_of`` and returns ``(tables, quality, source)``, the inputs of
:func:`custlab.report.figures.compute_month`.

:class:`Source` names the data: a folder label that tells apart two files of
the same name in different folders (a short hash of the absolute path) and
sampled runs, and a fingerprint the month-over-month comparison checks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import inspect
import json
import re
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from custlab.exceptions import CustlabError, CustlabWarning

__all__ = [
    "TABLE_SUFFIXES", "PreviousFiguresWarning", "Source", "check_columns", "load", "read_previous", "read_tables",
    "reader_options",
    "scan_transactions", "slug", "source_label", "table_files",
]

#: File types a folder of tables may hold.
TABLE_SUFFIXES = (".parquet", ".csv", ".tsv", ".txt", ".xlsx", ".xls")
_TABLES = ("transactions", "customers", "events", "marketing_spend", "reviews")


class PreviousFiguresWarning(CustlabWarning):
    """Last month's key_figures.json exists but cannot be read; the report goes on without the comparison."""


@dataclass(frozen=True)
class Source(Mapping):
    """Where a report's data come from; a read-only mapping of the JSON-able facts about it.

    Keys: ``name`` (file or folder name, or the synthetic shop), ``label``
    (the output folder's name), ``fingerprint``, ``sample_size`` (0 when the
    data were not sampled), ``seed``, ``customers`` (customers in the data)
    and ``reading`` (what the readers detected, e.g. encoding or sheets).
    ``month`` (the checked :class:`~custlab.report.months.MonthSpec`) and
    ``path`` are attributes, not keys: a local path never reaches the report.
    """

    name: str
    label: str
    fingerprint: str
    sample_size: int = 0
    seed: int = 0
    customers: int | None = None
    reading: Mapping[str, Any] = field(default_factory=dict)
    path: str | None = None
    month: Any = None

    def _facts(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "fingerprint": self.fingerprint,
                "sample_size": self.sample_size, "seed": self.seed, "customers": self.customers,
                "reading": dict(self.reading)}

    def __getitem__(self, key: str) -> Any:
        return self._facts()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._facts())

    def __len__(self) -> int:
        return len(self._facts())

    def __repr__(self) -> str:
        sample = f", sample of {self.sample_size:,} customers (seed {self.seed})" if self.sample_size else ""
        month = f", {self.month.month}" if self.month is not None else ""
        return f"Source({self.name}{sample}{month})"


def slug(text: str, *, limit: int = 60) -> str:
    """A folder name made from ``text``: letters (any script), digits, ``_`` and ``-`` only.

    Dots and slashes go, so no name can climb out of the output folder.

    >>> slug("../../etc/订单 2024.csv")
    'etc-订单-2024-csv'
    >>> slug("...")
    'data'
    """
    cleaned = re.sub(r"[^\w-]+", "-", text, flags=re.UNICODE).strip("-_")
    return cleaned[:limit].strip("-_") or "data"


def _path_hash(path: Path) -> str:
    return hashlib.sha256(str(path.resolve()).encode("utf-8")).hexdigest()[:8]


def source_label(data: str | Path | None, *, n_customers: int = 5000, seed: int = 0, sample_size: int = 0,
                 messy: float = 0.0) -> str:
    """The output folder name of a data source.

    A file or folder gives ``<name>-<8 hex digits of its absolute path's hash>``,
    so ``a/orders.csv`` and ``b/orders.csv`` never share a folder; the
    synthetic shop gives ``synthetic-shop-<customers>-seed<seed>``; a sampled
    run adds ``-sample<n>-seed<seed>``.

    >>> source_label(None, n_customers=300, seed=2)
    'synthetic-shop-300-seed2'
    """
    if data is None or str(data) == "":
        base = f"synthetic-shop-{n_customers}-seed{seed}" + (f"-messy{messy:g}" if messy else "")
    else:
        path = Path(data)
        base = f"{slug(path.stem if path.is_file() else path.name)}-{_path_hash(path)}"
    return f"{base}-sample{sample_size}-seed{seed}" if sample_size else base


def reader_options(*, encoding=None, separator=None, decimal_comma=None, sheet=None, timezone=None) -> dict[str, Any]:
    """The reading options that were set (empty strings and None mean: let the reader detect)."""
    given = {"encoding": encoding, "separator": separator, "decimal_comma": decimal_comma, "sheet": sheet,
             "timezone": timezone}
    return {k: v for k, v in given.items() if v is not None and v != ""}


def table_files(folder: Path) -> dict[str, Path]:
    """The canonical tables found in a folder, by table name (the first file of each stem)."""
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        stem = path.stem.lower()
        if path.is_file() and stem in _TABLES and path.suffix.lower() in TABLE_SUFFIXES and stem not in found:
            found[stem] = path
    return found


def _scan(path: Path, options: Mapping[str, Any]) -> pl.LazyFrame:
    from custlab.data import scan

    accepted = inspect.signature(scan).parameters
    return scan(path, **{k: v for k, v in options.items() if k in accepted})


def check_columns(data: str | Path | None, columns: Mapping[str, str] | None, **options: Any) -> None:
    """Refuse a ``columns`` mapping naming a column the data do not have, or a canonical name that does not exist.

    In a folder of tables a name may be a column of any table.
    """
    if not columns:
        return
    from custlab.data import TABLES

    canonical = {c for spec in TABLES.values() for c in spec.columns}
    wrong = sorted({v for v in columns.values() if v not in canonical})
    if wrong:
        raise CustlabError(f"--columns maps onto {wrong}, which are not canonical column names. "
                           f"Canonical names: {sorted(canonical)}.")
    if data is None or str(data) == "":
        raise CustlabError("--columns applies to your own data (--data); the synthetic shop has canonical columns.")
    path = Path(data)
    files = list(table_files(path).values()) if path.is_dir() else [path]
    present: list[str] = []
    for file in files:
        present += [c for c in _scan(file, options).collect_schema().names() if c not in present]
    unknown = [name for name in columns if name not in present]
    if unknown:
        where = f"the tables of {path.name}" if path.is_dir() else path.name
        raise CustlabError(f"--columns names {unknown}, which {where} does not have. Columns present: {present}.")


def _synthetic_span(n_customers: int, seed: int) -> pl.LazyFrame:
    """The synthetic shop's first and last instant, from make_shop's own defaults (no shop is generated)."""
    from custlab.synthetic import make_shop

    defaults = inspect.signature(make_shop).parameters
    start = dt.date.fromisoformat(str(defaults["start"].default))
    months = int(defaults["months"].default)
    year, month = divmod(start.month - 1 + months, 12)
    end = dt.datetime(start.year + year, month + 1, 1) - dt.timedelta(seconds=1)
    return pl.LazyFrame({"order_date": [dt.datetime.combine(start, dt.time()), end]})


def scan_transactions(data: str | Path | None = None, *, columns: Mapping[str, str] | None = None,
                      n_customers: int = 5000, seed: int = 0, **options: Any) -> pl.LazyFrame:
    """The transactions as a LazyFrame with ``order_date``, opened as cheaply as the file type allows.

    For the synthetic shop, a two-row frame of its period (the shop is not generated).
    """
    if data is None or str(data) == "":
        return _synthetic_span(n_customers, seed)
    path = Path(data)
    if not path.exists():
        raise CustlabError(f"--data {path}: no such file or folder.")
    if path.is_dir():
        found = table_files(path)
        if "transactions" not in found:
            raise CustlabError(f"{path} has no transactions file (transactions.parquet, .csv, .tsv or .xlsx).")
        path = found["transactions"]
    from custlab.data import load_online_retail, looks_like_online_retail, read_table

    if not columns and looks_like_online_retail(path):
        return load_online_retail(path, lazy=True)
    accepted = inspect.signature(read_table).parameters
    kwargs = {k: v for k, v in options.items() if k in accepted}
    mapping = {k: v for k, v in (columns or {}).items()}
    frame = read_table(path, "transactions", columns=mapping or None, lazy=True, **kwargs)
    return frame.lazy()


def _sample(tables: dict[str, Any], sample_size: int, seed: int) -> tuple[dict[str, Any], int]:
    """Tables restricted to a seeded sample of customers (lines without a customer stay, for cleaning to count)."""
    ids = tables["transactions"]["customer_id"].drop_nulls().unique()
    if not sample_size or ids.len() <= sample_size:
        return tables, ids.len()
    keep = ids.sort().sample(sample_size, seed=seed).implode()
    sampled = {}
    for name, frame in tables.items():
        if frame is not None and "customer_id" in frame.columns:
            frame = frame.filter(pl.col("customer_id").is_in(keep) | pl.col("customer_id").is_null())
        sampled[name] = frame
    return sampled, ids.len()


def _reading_facts(infos: Mapping[str, Any]) -> dict[str, Any]:
    """What the readers found out (format, encoding, separator, sheets, zone...), JSON-able, without local paths."""
    import dataclasses

    facts: dict[str, Any] = {}
    for table, info in infos.items():
        fields = dataclasses.asdict(info) if dataclasses.is_dataclass(info) else dict(info)
        fields.pop("source", None)
        facts[table] = {k: (list(map(list, v)) if k.endswith("sheets") else list(v) if isinstance(v, tuple) else v)
                        for k, v in fields.items() if v not in (None, (), [], "")}
    return json.loads(json.dumps(facts, default=str))


def _read(data, *, columns, n_customers, seed, messy, **options) -> tuple[dict[str, pl.DataFrame | None], dict]:
    from custlab.data import load_tables

    accepted = inspect.signature(load_tables).parameters
    unsupported = sorted(k for k in options if k not in accepted)
    if unsupported:
        names = ", ".join(f"--{k.replace('_', '-')}" for k in unsupported)
        raise CustlabError(f"This custlab's readers do not take {names} yet; leave {'it' if len(unsupported) == 1 else 'them'} out.")
    synthetic = data is None or str(data) == ""
    extra = {"return_info": True} if "return_info" in accepted else {}
    result = load_tables(None if synthetic else data, columns=dict(columns) if columns else None,
                         n_customers=n_customers, seed=seed, messy=messy, **options, **extra)
    tables, infos = result if extra else (result, {})
    return {k: (v.collect() if isinstance(v, pl.LazyFrame) else v) for k, v in tables.items()}, infos


def read_tables(
    data: str | Path | None = None,
    *,
    columns: Mapping[str, str] | None = None,
    encoding: str | None = None,
    separator: str | None = None,
    decimal_comma: bool | None = None,
    sheet: str | None = None,
    timezone: str | None = None,
    n_customers: int = 5000,
    seed: int = 0,
    messy: float = 0.0,
) -> dict[str, pl.DataFrame | None]:
    """The canonical tables of ``data``, read once and validated (see :func:`load` for the arguments).

    Empty strings mean "detect" for the reading options, as in the notebooks' parameters cells.
    """
    options = reader_options(encoding=encoding, separator=separator, decimal_comma=decimal_comma, sheet=sheet,
                             timezone=timezone)
    return _read(data, columns=columns, n_customers=n_customers, seed=seed, messy=messy, **options)[0]


def load(
    data: str | Path | None = None,
    *,
    month: str | None = None,
    partial: bool = False,
    columns: Mapping[str, str] | None = None,
    encoding: str | None = None,
    separator: str | None = None,
    decimal_comma: bool | None = None,
    sheet: str | None = None,
    timezone: str | None = None,
    n_customers: int = 5000,
    seed: int = 0,
    sample_size: int = 0,
    messy: float = 0.0,
):
    """Read a report's tables once, check the month, sample, clean: ``(tables, quality, source)``.

    Parameters
    ----------
    data
        A transactions file (CSV, Parquet, Excel; Online Retail layouts are
        recognised), a folder of tables (``transactions``, ``customers``,
        ``events``, ``marketing_spend``, ``reviews``), or None / "" for the
        synthetic shop of ``n_customers`` customers (``seed``, ``messy``).
    month, partial
        ``"YYYY-MM"`` (None or "": the last complete month); see
        :func:`custlab.report.months.check_month`.
    columns
        ``{your column: canonical column}``; in a folder, any table's columns.
    encoding, separator, decimal_comma, sheet, timezone
        Reading options passed to :mod:`custlab.data` (None: detected).
    sample_size
        Analyse a seeded random sample of this many customers (0: all).

    Returns
    -------
    tables
        ``{table name: DataFrame or None}``; ``transactions`` cleaned at the
        month's ``as_of`` (orders before it only).
    quality
        The :class:`custlab.data.DataQualityReport` of that cleaning.
    source
        A :class:`Source`; ``source.month`` is the checked ``MonthSpec``.
    """
    from custlab.data import clean_transactions
    from custlab.report.months import check_month

    options = reader_options(encoding=encoding, separator=separator, decimal_comma=decimal_comma, sheet=sheet,
                             timezone=timezone)
    synthetic = data is None or str(data) == ""
    if not synthetic:  # a wrong month or mapping fails before the data are read
        check_columns(data, columns, **options)
        check_month(scan_transactions(data, columns=columns, **options), month or None, partial=partial)
    tables, infos = _read(data, columns=columns, n_customers=n_customers, seed=seed, messy=messy, **options)
    spec = check_month(tables["transactions"], month or None, partial=partial)
    tables, customers = _sample(tables, sample_size, seed)
    sampled = bool(sample_size) and customers > sample_size
    read_info = infos.get("transactions")  # the quality report then says how the file was read
    extra = {"source": read_info} if read_info is not None and "source" in inspect.signature(clean_transactions).parameters else {}
    clean, quality = clean_transactions(tables["transactions"], as_of=spec.as_of, **extra)
    tables["transactions"] = clean
    if synthetic:
        name = f"synthetic shop ({n_customers:,} customers, seed {seed}{f', messy {messy:g}' if messy else ''})"
        fingerprint, path = f"synthetic:{n_customers}:{seed}:{messy:g}", None
    else:
        resolved = Path(data).resolve()
        name, fingerprint, path = resolved.name, f"path:{_path_hash(resolved)}", str(resolved)
    source = Source(
        name=name, fingerprint=fingerprint, path=path, month=spec,
        label=source_label(data, n_customers=n_customers, seed=seed, sample_size=sample_size, messy=messy),
        sample_size=sample_size if sampled else 0, seed=seed, customers=customers,
        reading=_reading_facts(infos),
    )
    return tables, quality, source


def read_previous(path: str | Path | None) -> dict | None:
    """Last month's key figures (the dict of its ``key_figures.json``), or None when there is none.

    A file that exists but cannot be read gives a warning, not an error:
    the report is still written, without the month-over-month comparison.
    """
    if path is None or str(path) == "":
        return None
    path = Path(path)
    if not path.is_file():
        return None
    try:
        figures = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        warnings.warn(f"Last month's key figures {path} cannot be read ({err}); the report makes no comparison.",
                      PreviousFiguresWarning, stacklevel=2)
        return None
    return figures if isinstance(figures, dict) else None
