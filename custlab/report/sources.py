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
import json
import re
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from custlab._dates import as_datetime
from custlab.exceptions import CustlabError, CustlabWarning

__all__ = [
    "SHOP_EXTRAS", "TABLE_SUFFIXES", "PreviousFiguresWarning", "Source", "check_columns", "load", "read_previous", "read_tables",
    "reader_options",
    "scan_transactions", "slug", "source_label", "table_files",
]

#: File types a folder of tables may hold.
TABLE_SUFFIXES = (".parquet", ".csv", ".tsv", ".txt", ".xlsx", ".xls")
_TABLES = ("transactions", "customers", "events", "marketing_spend", "reviews", "campaigns", "touches")
#: What the built-in shop plants beyond its default tables: a randomised campaign, touch journeys, reviews with
#: delivery dates and an NPS survey (:func:`custlab.synthetic.make_shop`), so that every section has its data.
_CLASSIC = ("transactions", "customers", "events", "marketing_spend", "reviews")
SHOP_EXTRAS = {"campaign": True, "touches": True, "voice": True}


class PreviousFiguresWarning(CustlabWarning):
    """Last month's key_figures.json exists but cannot be read; the report goes on without the comparison."""


@dataclass(frozen=True)
class Source(Mapping):
    """Where a report's data come from; a read-only mapping of the JSON-able facts about it.

    Keys: ``name`` (file or folder name, or the synthetic shop), ``label``
    (the output folder's name), ``fingerprint``, ``sample_size`` (0 when the
    data were not sampled), ``seed``, ``customers`` (customers in the data),
    ``reading`` (what the readers detected, e.g. encoding or sheets) and
    ``currency`` (ISO code when the data are recognised, e.g. "GBP" for Online
    Retail; "" otherwise). ``month`` (the checked
    :class:`~custlab.report.months.MonthSpec`), ``infos`` (the
    :class:`custlab.data.ReadInfo` per table) and ``path`` are attributes, not
    keys: a local path never reaches the report.
    """

    name: str
    label: str
    fingerprint: str
    sample_size: int = 0
    seed: int = 0
    customers: int | None = None
    reading: Mapping[str, Any] = field(default_factory=dict)
    currency: str = ""
    path: str | None = None
    month: Any = None
    infos: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def _facts(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "fingerprint": self.fingerprint,
                "sample_size": self.sample_size, "seed": self.seed, "customers": self.customers,
                "reading": dict(self.reading), "currency": self.currency}

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


#: Options of :func:`custlab.data.scan` (how a file is opened) and of validation (how its dates are read).
_OPEN = ("sheet", "encoding", "separator", "decimal_comma")
_DATES = ("date_format", "timezone")


def reader_options(*, encoding=None, separator=None, decimal_comma=None, sheet=None, timezone=None,
                   date_format=None) -> dict[str, Any]:
    """The reading options that were set (empty strings and None mean: let the reader detect)."""
    given = {"encoding": encoding, "separator": separator, "decimal_comma": decimal_comma, "sheet": sheet,
             "timezone": timezone, "date_format": date_format}
    return {k: v for k, v in given.items() if v is not None and v != ""}


def table_files(folder: Path) -> dict[str, Path]:
    """The canonical tables found in a folder, by table name (the first file of each stem)."""
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        stem = path.stem.lower()
        if path.is_file() and stem in _TABLES and path.suffix.lower() in TABLE_SUFFIXES and stem not in found:
            found[stem] = path
    return found


def _scan(path: Path, options: Mapping[str, Any], return_info: bool = False):
    from custlab.data import scan

    return scan(path, **{k: options[k] for k in _OPEN if k in options}, return_info=return_info)


def _files(path: Path) -> dict[str, Path]:
    return table_files(path) if path.is_dir() else {"transactions": path}


def check_columns(data: str | Path | None, columns: Mapping[str, str] | None, **options: Any) -> None:
    """Refuse a ``columns`` mapping naming a column the data do not have, or a canonical name that does not exist.

    In a folder of tables a name may be a column of any table
    (:func:`custlab.data.check_column_mapping`); its headers are read, not the data.
    """
    if not columns:
        return
    from custlab.data import TABLES, check_column_mapping
    from custlab.exceptions import SchemaError

    canonical = {c for spec in TABLES.values() for c in spec.columns}
    wrong = sorted({v for v in columns.values() if v not in canonical})
    if wrong:
        raise CustlabError(f"--columns maps onto {wrong}, which are not canonical column names. "
                           f"Canonical names: {sorted(canonical)}.")
    if data is None or str(data) == "":
        raise CustlabError("--columns applies to your own data (--data); the synthetic shop has canonical columns.")
    headers = {name: _scan(file, options).collect_schema().names() for name, file in _files(Path(data)).items()}
    try:
        check_column_mapping(columns, headers)
    except SchemaError as err:
        raise CustlabError(str(err).replace("columns= ", "--columns ", 1)) from None


def _shop_defaults() -> dict[str, Any]:
    """``make_shop``'s defaults of ``start`` and ``months``, read from its source.

    Importing :mod:`custlab.synthetic` (numpy's random, scipy.special) only to read two defaults cost the command
    0.15 s of CPU while the kernel and its helper start beside it; parsing the one file takes a few ms.
    """
    import ast
    from importlib import resources

    tree = ast.parse((resources.files("custlab") / "synthetic" / "shop.py").read_text(encoding="utf-8"))
    function = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "make_shop")
    arguments = function.args
    pairs = [*zip(arguments.args[len(arguments.args) - len(arguments.defaults):], arguments.defaults),
             *((a, d) for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults) if d is not None)]
    return {a.arg: ast.literal_eval(d) for a, d in pairs if a.arg in ("start", "months")}


def _synthetic_span(n_customers: int, seed: int) -> pl.LazyFrame:
    """The synthetic shop's first and last instant, from make_shop's own defaults (no shop is generated)."""
    defaults = _shop_defaults()
    start = as_datetime(defaults["start"], "start")
    months = int(defaults["months"])
    year, month = divmod(start.month - 1 + months, 12)
    end = dt.datetime(start.year + year, month + 1, 1) - dt.timedelta(seconds=1)
    return pl.LazyFrame({"order_date": [start, end]})


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

    opened = {k: options[k] for k in _OPEN if k in options}
    if not columns and not opened and looks_like_online_retail(path):
        return load_online_retail(path, lazy=True, **{k: options[k] for k in ("timezone",) if k in options})
    mapping = dict(columns or {}) or _online_retail_mapping(_scan(path, options).collect_schema().names())
    frame = read_table(path, "transactions", columns=mapping or None, lazy=True, **options)
    return frame.lazy()


def _online_retail_mapping(names: list[str]) -> dict[str, str]:
    """The UCI Online Retail (II) column names present in ``names`` onto the canonical ones; empty for other data."""
    from custlab.data.datasets import ONLINE_RETAIL_COLUMNS

    if not ({"StockCode", "Quantity"} <= set(names) and {"InvoiceNo", "Invoice"} & set(names)):
        return {}
    return {k: v for k, v in ONLINE_RETAIL_COLUMNS.items() if k in names}


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


def _read(data, *, columns, n_customers, seed, messy, **options) -> tuple[dict[str, pl.DataFrame | None], dict, str]:
    """The tables, what reading found (``{table: ReadInfo}``) and the data recognised ("online_retail" or "")."""
    if data is None or str(data) == "":
        if options:
            names = ", ".join(f"--{k.replace('_', '-')}" for k in options)
            raise CustlabError(f"{names} applies to your own data (--data); the built-in shop is read as it is made.")
        from custlab.synthetic import make_shop

        shop = make_shop(n_customers, seed=seed, messy=messy, **SHOP_EXTRAS).tables()
        return shop, {}, ""  # with the orders' delivery dates and the NPS survey, for the voice of the customer
    tables, infos, known = _read_files(Path(data), columns, options)
    return {k: (v.collect() if isinstance(v, pl.LazyFrame) else v) for k, v in tables.items()}, infos, known


def _read_files(path: Path, columns: Mapping[str, str] | None, options: Mapping[str, Any]) -> tuple[dict, dict, str]:
    """A file or folder of tables read once with ``options`` (encoding, separator, sheet, date format ...) and validated.

    What :func:`custlab.data.load_tables` does, with every reading option of
    :func:`custlab.data.read_table`: each table opened with :func:`custlab.data.scan`,
    ``columns`` checked against every table's header (:func:`custlab.data.check_column_mapping`),
    the UCI Online Retail (II) names recognised when no mapping is given,
    validated, and the join ids given one type (:func:`custlab.data.harmonise_ids`).
    """
    from dataclasses import replace

    from custlab.data import check_column_mapping, harmonise_ids

    opened = {name: _scan(file, options, return_info=True) for name, file in _files(path).items()}
    headers = {name: frame.collect_schema().names() for name, (frame, _) in opened.items()}
    check_column_mapping(columns, headers)
    retail = {} if columns else _online_retail_mapping(headers["transactions"])
    if retail:  # renamed as load_online_retail does (Country too, which is no canonical column)
        frame, info = opened["transactions"]
        opened["transactions"] = (frame.rename(retail), info)
    dates = {k: options[k] for k in _DATES if k in options}
    tables: dict[str, Any] = dict.fromkeys(_TABLES)
    infos: dict[str, Any] = {}
    for name, (frame, info) in opened.items():
        tables[name], infos[name] = _validated(name, frame, info, columns, headers[name], dates)
    tables, notes = harmonise_ids(tables)
    if notes:
        infos["transactions"] = replace(infos["transactions"], notes=infos["transactions"].notes + tuple(notes))
    return tables, infos, "online_retail" if retail else ""


def _validated(name: str, frame: pl.LazyFrame, info: Any, columns: Mapping[str, str] | None, header: list[str],
               dates: Mapping[str, Any]) -> tuple[pl.DataFrame, Any]:
    """Table ``name`` read and validated, renamed by the entries of ``columns`` that name its own columns."""
    from custlab.data import TABLES
    from custlab.data.io import validate_read

    own = {k: v for k, v in (columns or {}).items() if k in header and v in TABLES[name].columns} or None
    return validate_read(frame.collect(), info, name, columns=own, **dates)


def read_tables(
    data: str | Path | None = None,
    *,
    columns: Mapping[str, str] | None = None,
    encoding: str | None = None,
    separator: str | None = None,
    decimal_comma: bool | None = None,
    sheet: str | None = None,
    timezone: str | None = None,
    date_format: str | None = None,
    n_customers: int = 5000,
    seed: int = 0,
    messy: float = 0.0,
    return_info: bool = False,
    with_new: bool = False,
):
    """The canonical tables of ``data``, read once and validated (see :func:`load` for the arguments).

    ``with_new=True`` also returns the campaigns and touches tables (:func:`load` always reads them).

    Empty strings mean "detect" for the reading options, as in the notebooks' parameters cells.
    With ``return_info=True`` also ``{table: ReadInfo}`` (what reading found: encoding, sheets, time zone).
    """
    options = reader_options(encoding=encoding, separator=separator, decimal_comma=decimal_comma, sheet=sheet,
                             timezone=timezone, date_format=date_format)
    tables, infos, _ = _read(data, columns=columns, n_customers=n_customers, seed=seed, messy=messy, **options)
    # the data-quality overview (custlab.data.table_overview) knows the five classic tables only, so far
    tables = {name: frame for name, frame in tables.items() if name in _CLASSIC or frame is not None and with_new}
    return (tables, infos) if return_info else tables


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
    date_format: str | None = None,
    n_customers: int = 5000,
    seed: int = 0,
    sample_size: int = 0,
    messy: float = 0.0,
    engine: str = "",
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
    encoding, separator, decimal_comma, sheet, timezone, date_format
        Reading options passed to :func:`custlab.data.read_table` (None: detected).
    sample_size
        Analyse a seeded random sample of this many customers (0: all).
    engine
        ``"duckdb"`` or ``"spark"``: leave the lines (Parquet) on that engine
        and clean them there (:func:`load_on_engine`); "" reads them into polars.

    Returns
    -------
    tables
        ``{table name: DataFrame or None}``; ``transactions`` cleaned at the
        month's ``as_of`` (orders before it only).
    quality
        The :class:`custlab.data.DataQualityReport` of that cleaning.
    source
        A :class:`Source`; ``source.month`` is the checked ``MonthSpec``, ``source.infos``
        the :class:`custlab.data.ReadInfo` of each table read from a file. Its ``currency``
        is "GBP" for the UCI Online Retail (II) data, recognised by their column names.
    """
    from custlab.data import clean_transactions
    from custlab.report.months import check_month

    if engine:
        return load_on_engine(data, engine, month=month, partial=partial, columns=columns, sample_size=sample_size)
    options = reader_options(encoding=encoding, separator=separator, decimal_comma=decimal_comma, sheet=sheet,
                             timezone=timezone, date_format=date_format)
    synthetic = data is None or str(data) == ""
    if not synthetic and _cheap_to_scan(Path(data)):  # a wrong month or mapping fails before the data are read
        check_columns(data, columns, **options)
        check_month(scan_transactions(data, columns=columns, **options), month or None, partial=partial)
    tables, infos, known = _read(data, columns=columns, n_customers=n_customers, seed=seed, messy=messy, **options)
    spec = check_month(tables["transactions"], month or None, partial=partial)
    tables, customers = _sample(tables, sample_size, seed)
    sampled = bool(sample_size) and customers > sample_size
    read_info = infos.get("transactions")  # the quality report then says how the file was read
    clean, quality = clean_transactions(tables["transactions"], as_of=spec.as_of, source=read_info)
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
        reading=_reading_facts(infos), currency=KNOWN_CURRENCY.get(known, ""), infos=dict(infos),
    )
    return tables, quality, source


#: Engines ``custlab report --engine`` runs on.
ENGINES = ("duckdb", "spark")


def check_engine_options(data: str | Path | None, engine: str, sample_size: int = 0) -> None:
    """Refuse what ``--engine`` cannot do: an unknown engine, no ``--data``, a sample of customers."""
    if engine not in ENGINES:
        raise CustlabError(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}.")
    if data is None or str(data) == "":
        raise CustlabError("--engine needs --data: the transactions as Parquet (a file or a folder of files).")
    if sample_size:
        raise CustlabError("--sample-size and --engine do not go together: with --engine every customer is counted "
                           "on the engine. Drop one of them.")


def _parquet_of(path: Path) -> tuple[Path, str]:
    """The transactions' Parquet file or folder inside ``path``, and the glob DuckDB reads."""
    if path.is_dir():
        for inner in (path / "transactions.parquet", path / "transactions"):
            if inner.exists():
                path = inner
                break
    if path.is_dir():
        if not any(path.rglob("*.parquet")):
            raise CustlabError(f"--data {path}: --engine reads Parquet files and this folder holds none. Write the "
                               f"transactions as Parquet (e.g. COPY ... TO 'orders' (FORMAT parquet) in DuckDB).")
        return path, str(path / "**" / "*.parquet")
    if path.suffix.lower() != ".parquet":
        raise CustlabError(f"--data {path}: --engine reads Parquet (a file or a folder of files), not "
                           f"{path.suffix or 'this file'}. Convert it first, or run the report without --engine.")
    return path, str(path)


def open_on_engine(data: str | Path, engine: str, *, columns: Mapping[str, str] | None = None,
                   connection: Any = None) -> Any:
    """The transactions at ``data`` (Parquet file or folder) as a lazy table of ``engine``: nothing is read yet.

    ``"duckdb"``: a relation of ``connection`` (default a new in-memory DuckDB). ``"spark"``:
    a DataFrame of the active SparkSession, else of a local one
    (:func:`custlab.engine.spark.local_session`). ``columns`` renames your
    columns to the canonical ones on the engine.
    """
    return _open(data, engine, columns, connection)[0]


def _open(data: str | Path, engine: str, columns: Mapping[str, str] | None, connection: Any) -> tuple[Any, str]:
    """:func:`open_on_engine`, and which known data these are; ``engine="polars"`` scans the same files lazily
    (the command checks the month that way before a Spark session is started)."""
    if engine not in (*ENGINES, "polars"):
        raise CustlabError(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}.")
    path = Path(data)
    if not path.exists():
        raise CustlabError(f"--data {path}: no such file or folder.")
    beside = table_files(path).get("customers") if path.is_dir() else None  # --columns may name its columns too
    others = _scan(beside, {}).collect_schema().names() if beside is not None else []
    path, pattern = _parquet_of(path)
    _require(engine)
    if engine == "polars":
        frame = pl.scan_parquet(pattern, missing_columns="insert", extra_columns="ignore")
    elif engine == "duckdb":
        import duckdb

        frame = (connection or duckdb.connect()).read_parquet(pattern, union_by_name=True)
    else:
        from pyspark.sql import SparkSession

        from custlab.engine.spark import local_session

        session = SparkSession.getActiveSession() or local_session()
        frame = session.read.parquet(str(path))
    return _canonical_on_engine(frame, columns, path.name, others=others)


def _require(engine: str) -> None:
    """A clear message when the engine's package is not installed."""
    import importlib.util

    package = {"duckdb": "duckdb", "spark": "pyspark"}.get(engine)
    if package and importlib.util.find_spec(package) is None:
        raise CustlabError(f"--engine {engine} needs the {package} package, which is not installed: "
                           f"pip install 'custlab[{engine}]' (or pip install {package}).")


def _canonical_on_engine(frame: Any, columns: Mapping[str, str] | None, name: str, *,
                         others: list[str] | None = None) -> tuple[Any, str]:
    """Rename to the canonical columns on the engine (``columns``, else the Online Retail names when recognised) and
    derive ``amount`` from ``quantity * unit_price`` when it is absent; also which known data these are ("" if none).
    ``others``: the columns of the customers table beside the lines, which ``columns`` may name too."""
    import narwhals as nw

    wrapped = nw.from_native(frame)
    names = wrapped.collect_schema().names()
    known = ""
    if columns:
        unknown = [c for c in columns if c not in names and c not in (others or ())]
        if unknown:
            where = f"{name} does not have" + (" nor does the customers table" if others else "")
            raise CustlabError(f"--columns names {unknown}, which {where}; its columns: {names}"
                               + (f"; the customers table's: {others}." if others else "."))
        mapping = {k: v for k, v in columns.items() if k in names}
    else:
        mapping = _online_retail_mapping(names)
        known = "online_retail" if mapping else ""
    wrapped = wrapped.rename(mapping)
    if known:  # as custlab.data.load_online_retail reads them
        wrapped = wrapped.with_columns(nw.col("order_id").cast(nw.String), nw.col("product_id").cast(nw.String))
    present = wrapped.collect_schema().names()
    if "amount" not in present and {"quantity", "unit_price"} <= set(present):
        wrapped = wrapped.with_columns(amount=nw.col("quantity").cast(nw.Float64) * nw.col("unit_price").cast(nw.Float64))
    return nw.to_native(wrapped), known


def scan_parquet_lines(data: str | Path, engine: str, *, columns: Mapping[str, str] | None = None) -> pl.LazyFrame:
    """The Parquet lines ``--engine`` would read, as a polars scan with the canonical names (for checks: nothing
    is read but what a query asks); refuses an engine whose package is missing."""
    _require(engine)
    return _open(data, "polars", columns, None)[0]


#: Memory DuckDB may use for ``--engine duckdb`` (it spills to its temporary folder beyond that).
DUCKDB_MEMORY = "8GB"


def _duckdb_file() -> Any:
    """A DuckDB connection to a database file in a temporary folder (removed at exit), using at most
    :data:`DUCKDB_MEMORY`: tables and aggregations larger than that spill to the folder."""
    import atexit
    import shutil
    import tempfile

    import duckdb

    folder = tempfile.mkdtemp(prefix="custlab-duckdb-")
    atexit.register(shutil.rmtree, folder, True)
    return duckdb.connect(str(Path(folder) / "lines.duckdb"), config={"memory_limit": DUCKDB_MEMORY})


def load_on_engine(data: str | Path, engine: str, *, month: str | None = None, partial: bool = False,
                   columns: Mapping[str, str] | None = None, sample_size: int = 0):
    """:func:`load` with the lines on DuckDB or Spark: ``(tables, quality, source)``, ``tables["transactions"]``
    a lazy table of the engine, cleaned there at the month's ``as_of`` (:func:`custlab.engine.clean_transactions`);
    ``sample_size`` is refused (:func:`check_engine_options`)."""
    import narwhals as nw

    from custlab.engine import clean_transactions
    from custlab.engine._nw import store
    from custlab.report.months import check_month

    check_engine_options(data, engine, sample_size)
    connection = _duckdb_file() if engine == "duckdb" else None
    frame, known = _open(data, engine, columns, connection)
    spec = check_month(frame, month or None, partial=partial)
    clean, quality = clean_transactions(frame, as_of=spec.as_of)
    resolved = Path(data).resolve()
    label = f"{source_label(data)}-{engine}"
    source = Source(name=resolved.name, fingerprint=f"path:{_path_hash(resolved)}:{engine}", path=str(resolved),
                    month=spec, label=label, reading={"engine": engine}, currency=KNOWN_CURRENCY.get(known, ""))
    # stored once on the engine, so that the report's queries do not clean the lines again
    tables = {"transactions": nw.to_native(store(nw.from_native(clean)))}
    customers = _customers_beside(Path(data), columns, tables["transactions"])
    if customers is not None:
        tables["customers"] = customers
    return tables, quality, source


def _customers_beside(path: Path, columns: Mapping[str, str] | None, lines: Any) -> pl.DataFrame | None:
    """The customers table of a folder of tables, read and validated as without ``--engine`` (it has one row per
    customer; the portrait joins it to the lines on the engine), its ids of the lines' type; None without one."""
    file = table_files(path).get("customers") if path.is_dir() else None
    if file is None:
        return None
    frame, info = _scan(file, {}, return_info=True)
    customers, _ = _validated("customers", frame, info, columns, frame.collect_schema().names(), {})
    return ids_like_lines(customers, lines)


def ids_like_lines(customers: pl.DataFrame, lines: Any) -> pl.DataFrame:
    """``customers`` with its ``customer_id`` of the type the lines on the engine have, so that they join there:
    integer ids become text to meet text ids; text ids become integers to meet integer ids (an id that is not a
    whole number then matches no line)."""
    import narwhals as nw

    kind, mine = nw.from_native(lines).collect_schema()["customer_id"], customers.schema["customer_id"]
    if kind == nw.String and mine != pl.String:
        return customers.with_columns(pl.col("customer_id").cast(pl.String))
    if kind.is_integer() and not mine.is_integer():
        return customers.with_columns(pl.col("customer_id").cast(pl.String).cast(pl.Int64, strict=False))
    return customers


#: Currency of data custlab recognises by their columns: the UCI Online Retail shop sells in pounds sterling.
KNOWN_CURRENCY = {"online_retail": "GBP"}


def _cheap_to_scan(path: Path) -> bool:
    """Whether the transactions can be checked without reading them (Parquet: only the dates are scanned)."""
    file = table_files(path).get("transactions") if path.is_dir() else path
    return file is not None and file.suffix.lower() in {".parquet", ".pq"}


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
