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
from pathlib import Path
from typing import Literal

import polars as pl

from custlab.exceptions import SchemaError
from custlab.io import scan
from custlab.schema import Frame, validate

CDNOW_START = "1997-01-01"
#: End of the 39-week calibration period of Fader, Hardie & Lee (2005).
CDNOW_CALIBRATION_END = "1997-09-30"


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


def load_online_retail(path: str | Path, *, lazy: bool = False, sheet: str | None = None) -> Frame:
    """Load the UCI Online Retail or Online Retail II file as canonical transactions.

    Both column spellings are accepted (``InvoiceNo``/``Invoice``,
    ``UnitPrice``/``Price``, ``CustomerID``/``Customer ID``), from CSV, Excel
    or Parquet. ``amount`` is ``quantity * unit_price``; ``Country`` is kept
    as ``country``. Nothing is removed here: pass the result to
    :func:`custlab.clean.clean_transactions`, which counts cancellations,
    returns and lines without a customer.

    Returns
    -------
    Transactions with ``customer_id`` (Int64, nullable), ``order_id``
    (String), ``order_date`` (Datetime), ``amount``, ``quantity``,
    ``unit_price`` (Float64), ``product_id``, ``product_name``, ``country`` (String).
    """
    frame = scan(path, sheet=sheet)
    present = frame.collect_schema().names()
    mapping = {src: dst for src, dst in ONLINE_RETAIL_COLUMNS.items() if src in present}
    needed = {"order_id", "product_id", "quantity", "order_date", "unit_price", "customer_id"}
    lacking = needed - set(mapping.values())
    if lacking:
        raise SchemaError(
            f"{Path(path).name} does not look like Online Retail: no column for {sorted(lacking)}. "
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
    out = validate(frame if lazy else frame.collect(), "transactions")
    return out


def shared_data_dir() -> Path:
    """Folder of the shared real datasets: ``$CUSTLAB_DATA`` or ``../shared/data`` beside the project."""
    env = os.environ.get("CUSTLAB_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "shared" / "data"


def online_retail_path() -> Path:
    """Path of the shared Online Retail Parquet file (it may not exist on every machine)."""
    return shared_data_dir() / "online_retail" / "online_retail.parquet"




def looks_like_online_retail(path: str | Path) -> bool:
    """True when the file has the UCI Online Retail (or II) column names."""
    names = set(scan(path).collect_schema().names())
    return {"StockCode", "Quantity"} <= names and bool({"InvoiceNo", "Invoice"} & names)


#: File stems recognised in a data folder, per canonical table.
TABLE_FILES = ("transactions", "customers", "events", "marketing_spend", "reviews")


def load_tables(
    data: str | Path | None = None,
    *,
    columns: dict[str, str] | None = None,
    n_customers: int = 5000,
    seed: int = 0,
    messy: float = 0.0,
) -> dict[str, Frame | None]:
    """Load the tables of one analysis: a file, a folder of tables, or the synthetic shop.

    Parameters
    ----------
    data
        None or "": the built-in synthetic shop (``n_customers``, ``seed``,
        ``messy`` passed to :func:`custlab.synthetic.make_shop`).
        A file: transactions (Online Retail layouts are recognised; other
        files are mapped with ``columns``). A folder: files named
        ``transactions``, ``customers``, ``events``, ``marketing_spend``,
        ``reviews`` (any of .parquet, .csv, .xlsx), each validated.

    Returns
    -------
    dict from the five canonical table names to a DataFrame, or None where the
    source has no such table.
    """
    tables: dict[str, Frame | None] = dict.fromkeys(TABLE_FILES)
    if data is None or str(data) == "":
        from custlab.synthetic import make_shop

        shop = make_shop(n_customers, seed=seed, messy=messy)
        tables.update(shop.tables())
        return tables
    path = Path(data)
    if path.is_dir():
        from custlab.io import read_table

        found = False
        for name in TABLE_FILES:
            candidates = sorted(p for p in path.iterdir()
                                if p.stem.lower() == name and p.suffix.lower() in {".parquet", ".csv", ".xlsx", ".tsv"})
            if candidates:
                tables[name] = read_table(candidates[0], name, columns=_columns_for(columns, candidates[0], name))
                found = True
        if not found:
            raise FileNotFoundError(f"{path} holds none of {[f'{n}.parquet' for n in TABLE_FILES]} (or .csv/.tsv/.xlsx).")
        if tables["transactions"] is None:
            raise FileNotFoundError(f"{path} has no transactions file (transactions.parquet, .csv, .tsv or .xlsx).")
        return tables
    if not columns and looks_like_online_retail(path):
        tables["transactions"] = load_online_retail(path)
    else:
        from custlab.io import read_transactions

        tables["transactions"] = read_transactions(path, columns=columns)
    return tables


def _columns_for(columns: dict[str, str] | None, path: Path, table: str) -> dict[str, str] | None:
    """The part of a mapping that applies to one table's file: its source columns, onto its own columns."""
    if not columns:
        return None
    from custlab.schema import TABLES

    names = set(scan(path).collect_schema().names())
    return {k: v for k, v in columns.items() if k in names and v in TABLES[table].columns} or None


__all__ = ["CDNOW_CALIBRATION_END", "load_cdnow", "load_online_retail", "load_tables", "looks_like_online_retail",
           "online_retail_path", "shared_data_dir"]
