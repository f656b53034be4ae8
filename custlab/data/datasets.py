"""Built-in and public datasets, mapped to canonical transactions.

- :func:`load_cdnow`: the CDNOW data of the BG/NBD and Gamma-Gamma papers, as
  shipped inside the ``lifetimes`` package (read by file path, located from
  the package's import spec: lifetimes' own ``datasets`` module imports
  ``pkg_resources``, which new setuptools lacks, and importing lifetimes at
  all silences FutureWarning process-wide).
- :func:`load_online_retail`: the UCI Online Retail (and Online Retail II) file.
- :func:`custlab.synthetic.make_shop`: the synthetic shop for demos and teaching.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import replace
from pathlib import Path
from typing import Literal

import polars as pl

from custlab._types import Frame
from custlab.data.hints import check_column_mapping
from custlab.data.io import ReadInfo, scan, validate_read
from custlab.data.schema import TABLES, make_note, render_note  # noqa: F401 - the doctests render notes
from custlab.exceptions import CustlabError, SchemaError

#: Environment variable naming the folder of the shared real datasets.
DATA_ENV = "CUSTLAB_DATA"

CDNOW_START = "1997-01-01"
#: End of the 39-week calibration period of Fader, Hardie & Lee (2005), as custlab's ``calibration_end`` and
#: ``as_of`` take it: the first day not in the period (the papers' last day included is 1997-09-30).
CDNOW_CALIBRATION_END = "1997-10-01"


def _lifetimes_file(name: str) -> Path:
    """Path of a data file shipped with lifetimes, found without importing the package.

    Importing lifetimes changes global state (it silences FutureWarning for the
    whole process), so the package's folder is located from its import spec.
    """
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("The CDNOW data ship with the 'lifetimes' package: pip install lifetimes.")
    path = Path(spec.submodule_search_locations[0]) / "datasets" / name
    if not path.exists():
        raise FileNotFoundError(f"{name} is not in this lifetimes installation ({path}).")
    return path


def load_cdnow(part: Literal["master", "sample", "summary"] = "master") -> pl.DataFrame:
    """Load CDNOW: 23,570 customers' CD purchases, 1997-01 to 1998-06.

    Parameters
    ----------
    part
        ``"master"``: the full transaction file (69,659 lines, 23,570 customers).
        ``"sample"``: the 1/10 sample used in the papers (6,919 lines, 2,357 customers).
        ``"summary"``: the published 39-week calibration summary of the sample,
        one row per customer: ``customer_id``, ``frequency`` (repeat purchases,
        x), ``recency`` (t_x, weeks), ``T`` (weeks), ``monetary_value``
        (mean repeat-purchase value, zbar).

    Returns
    -------
    For master and sample, canonical transactions: ``customer_id`` (String;
    in the sample, its own ids "1".."2357", those of the summary, with the
    master file's id in ``master_id``),
    ``order_id`` (Int64, the line number, as CDNOW has no order ids),
    ``order_date`` (Datetime), ``amount`` (Float64, dollars), ``quantity``
    (Float64, CDs). Several lines of one customer on one day are separate
    lines; the models count purchase days.

    Examples
    --------
    >>> load_cdnow("sample").select(pl.col("customer_id").n_unique()).item()
    2357
    """
    if part == "summary":
        raw = pl.read_csv(_lifetimes_file("cdnow_customers_summary_with_transactions.csv"))
        return raw.select(
            customer_id=pl.col("ID").cast(pl.String),
            frequency=pl.col("x").cast(pl.Float64),
            recency=pl.col("t_x").cast(pl.Float64),
            T=pl.col("T").cast(pl.Float64),
            monetary_value=pl.col("zbar").cast(pl.Float64),
        )
    files = {"master": ("CDNOW_master.txt", False), "sample": ("CDNOW_sample.txt", True)}
    if part not in files:
        raise ValueError(f"part must be 'master', 'sample' or 'summary', got {part!r}.")
    name, has_new_id = files[part]
    lines = pl.read_csv(_lifetimes_file(name), has_header=False, new_columns=["line"], separator="\t")
    # Fixed-width text with runs of spaces: split each line on whitespace.
    parts = lines.select(pl.col("line").str.strip_chars().str.extract_all(r"\S+").alias("f"))
    cols = ["customer_id", "new_id", "date", "quantity", "amount"] if has_new_id else ["customer_id", "date", "quantity", "amount"]
    frame = parts.select([pl.col("f").list.get(i).alias(c) for i, c in enumerate(cols)])
    frame = frame.filter(pl.col("customer_id").str.contains(r"^\d+$"))  # the master file has a header line
    if has_new_id:  # the sample's own 1..2357 ids are those of the published summary
        frame = frame.with_columns(
            master_id=pl.col("customer_id"), customer_id=pl.col("new_id").cast(pl.Int64).cast(pl.String)
        )
    return frame.with_row_index("order_id").select(
        customer_id=pl.col("customer_id"),
        order_id=pl.col("order_id").cast(pl.Int64),
        order_date=pl.col("date").str.to_datetime("%Y%m%d", time_unit="us"),
        amount=pl.col("amount").cast(pl.Float64),
        quantity=pl.col("quantity").cast(pl.Float64),
        *(["master_id"] if has_new_id else []),
    )


#: Column spellings of Online Retail (2015) and Online Retail II (2019).
ONLINE_RETAIL_COLUMNS = {
    "InvoiceNo": "order_id",
    "Invoice": "order_id",
    "StockCode": "product_id",
    "Description": "product_name",
    "Quantity": "quantity",
    "InvoiceDate": "order_date",
    "UnitPrice": "unit_price",
    "Price": "unit_price",
    "CustomerID": "customer_id",
    "Customer ID": "customer_id",
    "Country": "country",
}


def load_online_retail(
    path: str | Path,
    *,
    lazy: bool = False,
    sheet: str | int | None = None,
    timezone: str | None = None,
    return_info: bool = False,
) -> Frame | tuple[Frame, ReadInfo]:
    """Load the UCI Online Retail or Online Retail II file as canonical transactions.

    Both column spellings are accepted (``InvoiceNo``/``Invoice``,
    ``UnitPrice``/``Price``, ``CustomerID``/``Customer ID``), from CSV, Excel
    or Parquet. Of the Online Retail II workbook, both yearly sheets are read
    (every sheet with the same columns; ``sheet=`` for one). ``amount`` is
    ``quantity * unit_price``; ``Country`` is kept as ``country``. Nothing is
    removed here: pass the result to :func:`custlab.data.clean_transactions`,
    which counts cancellations, returns and lines without a customer.

    Returns
    -------
    Transactions with ``customer_id`` (Int64, nullable), ``order_id``
    (String), ``order_date`` (Datetime), ``amount``, ``quantity``,
    ``unit_price`` (Float64), ``product_id``, ``product_name``, ``country``
    (String); with ``return_info=True``, ``(frame, ReadInfo)``.
    """
    frame, info = scan(path, sheet=sheet, return_info=True)
    return _online_retail(frame, info, lazy=lazy, timezone=timezone, return_info=return_info)


def _online_retail(frame: pl.LazyFrame, info: ReadInfo, *, lazy: bool, timezone: str | None, return_info: bool):
    name = Path(info.source).name
    present = frame.collect_schema().names()
    mapping = {src: dst for src, dst in ONLINE_RETAIL_COLUMNS.items() if src in present}
    needed = {"order_id", "product_id", "quantity", "order_date", "unit_price", "customer_id"}
    lacking = needed - set(mapping.values())
    if lacking:
        raise SchemaError(
            f"{name} does not look like Online Retail: no column for {sorted(lacking)}. "
            f"Columns present: {present}. Expected the UCI names {sorted(ONLINE_RETAIL_COLUMNS)}."
        )
    frame = frame.rename(mapping).with_columns(
        order_id=pl.col("order_id").cast(pl.String),
        product_id=pl.col("product_id").cast(pl.String),
        amount=pl.col("quantity").cast(pl.Float64) * pl.col("unit_price").cast(pl.Float64),
    )
    frame = frame.select(
        "customer_id", "order_id", "order_date", "amount", "quantity", "unit_price",
        "product_id", *[c for c in ("product_name", "country") if c in mapping.values()],
    )
    return validate_read(frame if lazy else frame.collect(), info, "transactions", timezone=timezone,
                         return_info=return_info)


def shared_data_dir(path: str | Path | None = None) -> Path:
    """Folder of the shared real datasets: ``path`` if given, else the environment variable ``CUSTLAB_DATA``.

    No folder is guessed from where custlab is installed: a wheel installed
    anywhere finds the data only where it is told to look.

    Raises
    ------
    CustlabError
        Neither ``path`` nor ``CUSTLAB_DATA`` is set (the message says how to set it).

    Examples
    --------
    >>> shared_data_dir("/data/shared").as_posix()
    '/data/shared'
    """
    if path is not None and str(path) != "":
        return Path(path)
    env = os.environ.get(DATA_ENV, "").strip()
    if env:
        return Path(env)
    raise CustlabError(
        f"No folder of shared datasets: set the environment variable {DATA_ENV} "
        f"(e.g. export {DATA_ENV}=../shared/data) or pass shared_data_dir(path)."
    )


def online_retail_path(path: str | Path | None = None) -> Path:
    """Path of the shared Online Retail Parquet file under :func:`shared_data_dir` (it may not exist)."""
    return shared_data_dir(path) / "online_retail" / "online_retail.parquet"


def looks_like_online_retail(path: str | Path) -> bool:
    """True when the file has the UCI Online Retail (or II) column names."""
    return _online_retail_names(set(scan(path).collect_schema().names()))


def _online_retail_names(names: set[str]) -> bool:
    return {"StockCode", "Quantity"} <= names and bool({"InvoiceNo", "Invoice"} & names)


#: File stems recognised in a data folder, per canonical table.
TABLE_FILES = ("transactions", "customers", "events", "marketing_spend", "reviews")
#: Further tables of the data contract, read from a folder when their file is there.
EXTRA_TABLE_FILES = ("orders", "surveys", "campaigns", "touches", "referrals")
#: Every table :func:`load_tables` returns (None where the data lack it).
ALL_TABLES = (*TABLE_FILES, *EXTRA_TABLE_FILES)
_TABLE_SUFFIXES = {".parquet", ".csv", ".tsv", ".txt", ".xlsx", ".xls", ".xlsm"}
#: Id columns that join tables; integer ids meet text ids of another table as text.
_JOIN_IDS = ("customer_id", "order_id", "session_id")


def harmonise_ids(tables: dict[str, Frame | None]) -> tuple[dict[str, Frame | None], list[str]]:
    """Give each join id one dtype across tables: integers become text where another table holds text ids.

    Validation already reads ``12345.0`` as ``"12345"`` in text ids and as
    12345 in float ids; here an Int64 ``customer_id`` of one table meets the
    String ``customer_id`` of another as its decimal text, so they join.
    Returns the tables and a :data:`~custlab.data.schema.Note` per changed column.

    Examples
    --------
    >>> tx = pl.DataFrame({"customer_id": [12345]}); cu = pl.DataFrame({"customer_id": ["12345"]})
    >>> out, notes = harmonise_ids({"transactions": tx, "customers": cu})
    >>> out["transactions"]["customer_id"].to_list()
    ['12345']
    >>> render_note(notes[0])
    'customer_id of the transactions table: integer ids read as text, to match the text ids of the customers table.'

    """
    out = dict(tables)
    notes = []
    for column in _JOIN_IDS:
        dtypes = {name: frame.collect_schema()[column] for name, frame in out.items()
                  if frame is not None and column in frame.collect_schema().names()}
        text = [name for name, dtype in dtypes.items() if dtype == pl.String]
        if not text:
            continue
        for name, dtype in dtypes.items():
            if dtype.is_integer():
                out[name] = out[name].with_columns(pl.col(column).cast(pl.String))
                notes.append(make_note("ids_as_text", column=column, table=name, other=" / ".join(text)))
    return out, notes


def load_tables(
    data: str | Path | None = None,
    *,
    columns: dict[str, str] | None = None,
    n_customers: int = 5000,
    seed: int = 0,
    messy: float = 0.0,
    timezone: str | None = None,
    extras: bool = False,
    return_info: bool = False,
    require: str = "transactions",
) -> dict[str, Frame | None] | tuple[dict[str, Frame | None], dict[str, ReadInfo]]:
    """Load the tables of one analysis: a file, a folder of tables, or the synthetic shop.

    Parameters
    ----------
    data
        None or "": the built-in synthetic shop (``n_customers``, ``seed``,
        ``messy`` passed to :func:`custlab.synthetic.make_shop`).
        A file: the ``require`` table, transactions by default (Online
        Retail layouts are recognised; other files are mapped with
        ``columns``). A folder: files named ``transactions``, ``customers``,
        ``events``, ``marketing_spend``, ``reviews`` (any of .parquet, .csv,
        .tsv, .txt, .xlsx), each validated; ``orders``, ``surveys``,
        ``campaigns``, ``touches`` and ``referrals`` files are read too when
        the folder has them. The folder must hold the ``require`` table.
    extras
        For the synthetic shop: also plant a randomised campaign, touch
        journeys, delivery dates and an NPS survey (``campaign=``,
        ``touches=``, ``voice=`` of :func:`custlab.synthetic.make_shop`), so
        the ``campaigns``, ``touches``, ``orders`` and ``surveys`` tables exist.
    columns
        ``{user_name: canonical_name}``. In a folder it may name a column of
        any table; a name that no table has is an error
        (:func:`custlab.data.hints.check_column_mapping`).
    timezone
        Zone for time-zone-aware dates (see :func:`custlab.data.read_table`).
    return_info
        Also return ``{table: ReadInfo}`` for the tables read from files.
    require
        The table the analysis cannot do without: ``"transactions"``, or e.g.
        ``"reviews"`` for a review set that has no orders.

    Returns
    -------
    dict from every table name of :data:`TABLE_FILES` and
    :data:`EXTRA_TABLE_FILES` to a DataFrame, or None where the source has no
    such table. Join ids (``customer_id``, ``order_id``, ``session_id``) have
    one dtype across the tables (:func:`harmonise_ids`).
    """
    if require not in ALL_TABLES:
        raise CustlabError(f"require must name a table, one of {list(ALL_TABLES)}; got {require!r}.")
    tables: dict[str, Frame | None] = dict.fromkeys(ALL_TABLES)
    infos: dict[str, ReadInfo] = {}
    if data is None or str(data) == "":
        from custlab.synthetic import make_shop

        shop = make_shop(n_customers, seed=seed, messy=messy, campaign=extras, touches=extras, voice=extras)
        tables.update(shop.tables())
        return (tables, infos) if return_info else tables
    path = Path(data)
    if path.is_dir():
        files = {}
        for name in ALL_TABLES:
            candidates = sorted(p for p in path.iterdir()
                                if p.stem.lower() == name and p.suffix.lower() in _TABLE_SUFFIXES)
            if candidates:
                files[name] = candidates[0]
        if not files:
            raise FileNotFoundError(
                f"{path} holds none of {[f'{n}.parquet' for n in TABLE_FILES]} (or .csv/.tsv/.xlsx)."
            )
        if require not in files:
            raise FileNotFoundError(f"{path} has no {require} file ({require}.parquet, .csv, .tsv or .xlsx).")
        raw = {name: scan(file, return_info=True) for name, file in files.items()}
        check_column_mapping(columns, {name: frame for name, (frame, _) in raw.items()})
        for name, (frame, info) in raw.items():
            names = frame.collect_schema().names()
            own = {k: v for k, v in (columns or {}).items() if k in names and v in TABLES[name].columns} or None
            tables[name], infos[name] = validate_read(frame.collect(), info, name, columns=own, timezone=timezone)
        tables, notes = harmonise_ids(tables)
        if notes:
            first = "transactions" if "transactions" in infos else require
            infos[first] = replace(infos[first], notes=infos[first].notes + tuple(notes))
        return (tables, infos) if return_info else tables
    frame, info = scan(path, return_info=True)
    names = set(frame.collect_schema().names())
    if require != "transactions":
        tables[require], infos[require] = validate_read(frame.collect(), info, require, columns=columns,
                                                        timezone=timezone)
    elif not columns and _online_retail_names(names):
        tables["transactions"], infos["transactions"] = _online_retail(frame, info, lazy=False, timezone=timezone,
                                                                       return_info=True)
    else:
        tables["transactions"], infos["transactions"] = validate_read(frame.collect(), info, "transactions",
                                                                      columns=columns, timezone=timezone)
    return (tables, infos) if return_info else tables


__all__ = ["ALL_TABLES", "CDNOW_CALIBRATION_END", "DATA_ENV", "EXTRA_TABLE_FILES", "TABLE_FILES", "harmonise_ids", "load_cdnow", "load_online_retail",
           "load_tables", "looks_like_online_retail", "online_retail_path", "shared_data_dir"]
