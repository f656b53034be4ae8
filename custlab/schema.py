"""The data contract: canonical tables, their columns, and validation.

custlab speaks five canonical tables. Loaders rename a user's columns to these
names once, at the border (``columns={"InvoiceDate": "order_date", ...}``);
every analysis function after that uses the canonical names only.

transactions
    One row per order line.
    Required: ``customer_id`` (integer or string id), ``order_id`` (integer or
    string id), ``order_date`` (Datetime), ``amount`` (Float64, line revenue).
    Optional: ``product_id``, ``product_name``, ``category`` (String),
    ``quantity``, ``unit_price`` (Float64), ``channel`` (String).
customers
    One row per customer.
    Required: ``customer_id``.
    Optional: ``signup_date`` (Datetime), ``age`` (Float64), ``gender``,
    ``region``, ``city_tier``, ``occupation``, ``acquisition_channel`` (String).
events
    Behaviour log, one row per event.
    Required: ``customer_id``, ``event_time`` (Datetime), ``event`` (String,
    e.g. exposure, click, cart, pay).
    Optional: ``session_id`` (id), ``channel``, ``product_id`` (String).
marketing_spend
    One row per month and channel.
    Required: ``month`` (Date, first day of the month), ``channel`` (String),
    ``spend`` (Float64).
reviews
    One row per review.
    Required: ``customer_id``, ``review_date`` (Datetime), ``rating`` (Float64).
    Optional: ``order_id`` (id), ``product_id`` (String), ``text`` (String).

Columns outside the contract are kept as they are. Ids keep their integer or
string type (a float id whose values are all whole numbers becomes Int64, as
happens when pandas has stored an id column with nulls).

Functions accept a polars ``DataFrame`` or ``LazyFrame``. :func:`validate`
checks and casts a table; string columns that must become dates or numbers
are parsed, and values that cannot be parsed raise :class:`ParseError` with
the column, a sample of the bad values and their count.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import polars as pl

from custlab.exceptions import CustlabError, EmptyDataError, ParseError, SchemaError

Frame = pl.DataFrame | pl.LazyFrame
TableName = Literal["transactions", "customers", "events", "marketing_spend", "reviews"]
Kind = Literal["id", "datetime", "date", "float", "string"]


@dataclass(frozen=True)
class TableSpec:
    """Required and optional columns of one canonical table, with their kinds."""

    name: str
    required: dict[str, Kind]
    optional: dict[str, Kind]

    @property
    def columns(self) -> dict[str, Kind]:
        return {**self.required, **self.optional}


TABLES: dict[str, TableSpec] = {
    "transactions": TableSpec(
        "transactions",
        required={"customer_id": "id", "order_id": "id", "order_date": "datetime", "amount": "float"},
        optional={
            "product_id": "string",
            "product_name": "string",
            "category": "string",
            "quantity": "float",
            "unit_price": "float",
            "channel": "string",
        },
    ),
    "customers": TableSpec(
        "customers",
        required={"customer_id": "id"},
        optional={
            "signup_date": "datetime",
            "age": "float",
            "gender": "string",
            "region": "string",
            "city_tier": "string",
            "occupation": "string",
            "acquisition_channel": "string",
        },
    ),
    "events": TableSpec(
        "events",
        required={"customer_id": "id", "event_time": "datetime", "event": "string"},
        optional={"session_id": "id", "channel": "string", "product_id": "string"},
    ),
    "marketing_spend": TableSpec(
        "marketing_spend",
        required={"month": "date", "channel": "string", "spend": "float"},
        optional={},
    ),
    "reviews": TableSpec(
        "reviews",
        required={"customer_id": "id", "review_date": "datetime", "rating": "float"},
        optional={"order_id": "id", "product_id": "string", "text": "string"},
    ),
}

#: Date formats tried, in order, on string date columns. Formats of one family
#: (ISO dates with or without a time) may be mixed in a column; formats of
#: different families (day-first against month-first) may not, because the
#: same text could mean two different days.
DATE_FORMATS: dict[str, str] = {
    "%Y-%m-%d %H:%M:%S%.f": "iso",
    "%Y-%m-%dT%H:%M:%S%.f": "iso",
    "%Y-%m-%d %H:%M": "iso",
    "%Y-%m-%dT%H:%M": "iso",
    "%Y-%m-%d": "iso",
    "%Y/%m/%d %H:%M:%S": "ymd-slash",
    "%Y/%m/%d %H:%M": "ymd-slash",
    "%Y/%m/%d": "ymd-slash",
    "%Y%m%d": "compact",
    "%d/%m/%Y %H:%M:%S": "day-first",
    "%d/%m/%Y %H:%M": "day-first",
    "%d/%m/%Y": "day-first",
    "%m/%d/%Y %H:%M:%S": "month-first",
    "%m/%d/%Y %H:%M": "month-first",
    "%m/%d/%Y": "month-first",
    "%d.%m.%Y %H:%M": "day-first-dot",
    "%d.%m.%Y": "day-first-dot",
}

DATE_FAMILIES = {
    "iso": "as YYYY-MM-DD",
    "ymd-slash": "as YYYY/MM/DD",
    "compact": "as YYYYMMDD",
    "day-first": "as DD/MM/YYYY",
    "month-first": "as MM/DD/YYYY",
    "day-first-dot": "as DD.MM.YYYY",
}

#: Usual source names of canonical columns, used to suggest a ``columns=`` mapping.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "customer_id": ("customerid", "customer id", "user_id", "userid", "client_id", "member_id", "buyer_id"),
    "order_id": ("invoiceno", "invoice", "invoice_no", "order", "orderid", "order_no", "transaction_id"),
    "order_date": ("invoicedate", "date", "order_time", "timestamp", "datetime", "created_at", "purchase_date"),
    "amount": ("revenue", "sales", "total", "line_total", "value", "price_total", "gmv"),
    "event_time": ("timestamp", "time", "event_date", "ts", "datetime"),
    "event": ("event_type", "action", "behavior", "behaviour", "type"),
    "session_id": ("user_session", "session", "sessionid"),
    "product_id": ("stockcode", "sku", "item_id", "productid"),
    "unit_price": ("unitprice", "price"),
    "spend": ("cost", "budget", "spend_amount"),
    "review_date": ("date", "created_at", "review_time"),
    "rating": ("score", "stars"),
}

_SAMPLE = 5


def is_lazy(frame: Frame) -> bool:
    return isinstance(frame, pl.LazyFrame)


def check_frame(frame: object, *, argument: str = "data") -> None:
    """Raise a TypeError unless ``frame`` is a polars DataFrame or LazyFrame."""
    if not isinstance(frame, (pl.DataFrame, pl.LazyFrame)):
        hint = ""
        if type(frame).__module__.startswith("pandas"):
            hint = " Convert a pandas frame with polars.from_pandas(df)."
        raise TypeError(
            f"{argument} must be a polars DataFrame or LazyFrame, got {type(frame).__name__}.{hint}"
        )


def rename_columns(frame: Frame, columns: Mapping[str, str] | None, *, table: str) -> Frame:
    """Apply a ``{user_name: canonical_name}`` mapping, checking both sides."""
    if not columns:
        return frame
    present = frame.collect_schema().names()
    missing = [user for user in columns if user not in present]
    if missing:
        raise SchemaError(
            f"columns= maps {missing} but the {table} table has no such column. "
            f"Columns present: {present}."
        )
    spec = TABLES[table].columns
    unknown = [canon for canon in columns.values() if canon not in spec]
    if unknown:
        raise SchemaError(
            f"columns= maps onto {unknown}, which are not {table} columns of the data contract. "
            f"Canonical {table} columns: {list(spec)}."
        )
    return frame.rename(dict(columns))


def _missing_message(table: str, missing: list[str], present: list[str]) -> str:
    spec = TABLES[table].columns if table in TABLES else {}
    candidates = [c for c in present if c not in spec]  # canonical columns already present are not candidates
    lowered = {c.lower().replace(" ", "_"): c for c in candidates}
    suggestions = {}
    for column in missing:
        known = [lowered[s.replace(" ", "_")] for s in SYNONYMS.get(column, ()) if s.replace(" ", "_") in lowered]
        close = known or difflib.get_close_matches(column, candidates, n=1, cutoff=0.6)
        suggestions[close[0] if close else "<your column>"] = column
    return (
        f"The {table} table is missing required column(s) {missing}. "
        f"Columns present: {present}. "
        f"Map yours with columns={suggestions!r}."
    )


def _sample(values: pl.Series) -> list:
    return values.unique(maintain_order=True).head(_SAMPLE).to_list()


def _date_text(expr: pl.Expr, kind: Kind) -> pl.Expr:
    text = expr.str.strip_chars()
    if kind == "date":  # months such as "2011-11" are allowed
        text = text.str.replace(r"^(\d{4})-(\d{1,2})$", "$1-$2-01")
    return text


def _date_formats(values: pl.Series, column: str, kind: Kind, date_format: str | None) -> list[str]:
    """The formats that read every value of a text date column, in the order to try them.

    A column is read in one family of formats (ISO dates with or without a
    time are one family). When exactly one family reads every value, it is
    used: US month-first dates such as 12/13/2010 settle a column for
    month-first. When two families read every value (only days up to 12),
    or none does, the column is refused: guessing would change the days.
    """
    text = pl.select(_date_text(pl.lit(values), kind)).to_series()
    present = text.is_not_null() & (text != "")
    if date_format is not None:
        parsed = text.str.to_datetime(date_format, strict=False, time_unit="us")
        _raise_unparsed(column, values, present & parsed.is_null(), f"dates in the format {date_format!r}")
        return [date_format]
    hits = {fmt: text.str.to_datetime(fmt, strict=False, time_unit="us").is_not_null() for fmt in DATE_FORMATS}
    families: dict[str, list[str]] = {}
    for fmt, family in DATE_FORMATS.items():
        families.setdefault(family, []).append(fmt)
    covered = {
        family: pl.select(pl.any_horizontal([pl.lit(hits[f]) for f in fmts])).to_series()
        for family, fmts in families.items()
    }
    complete = [family for family, ok in covered.items() if bool((ok | ~present).all())]
    if len(complete) == 1:
        return [f for f in families[complete[0]] if bool((hits[f] & present).any())] or families[complete[0]][:1]
    anywhere = pl.select(pl.any_horizontal([pl.lit(h) for h in hits.values()])).to_series()
    _raise_unparsed(column, values, present & ~anywhere, "dates")
    if len(complete) > 1:
        example = _sample(values.filter(present))[:2]
        options = " or ".join(repr(families[f][-1]) for f in complete)
        raise ParseError(
            f"Column '{column}' holds dates such as {example} that read {' and '.join(DATE_FAMILIES[f] for f in complete)} "
            f"alike, so the days are ambiguous. Pass date_format= (e.g. {options})."
        )
    by_family: dict[str, int] = {}
    remaining = present
    for family, fmts in families.items():
        hit = remaining & covered[family]
        if int(hit.sum()):
            by_family[DATE_FAMILIES[family]] = int(hit.sum())
            remaining = remaining & ~hit
    counts = ", ".join(f"{n} {family}" for family, n in by_family.items())
    raise ParseError(
        f"Column '{column}' mixes date formats ({counts}); a value such as 01/02/2011 "
        f"would mean different days under them. Pass date_format= to say which one the data use, "
        f"or fix the source."
    )


def _raise_unparsed(column: str, values: pl.Series, bad: pl.Series, what: str) -> None:
    n_bad = int(bad.sum())
    if n_bad:
        raise ParseError(
            f"Column '{column}' has {n_bad} value(s) that cannot be read as {what}, "
            f"e.g. {_sample(values.filter(bad))}. Fix or remove them at the source, "
            f"or map another column with columns=."
        )


def _checked_cast(values: pl.Series, column: str, kind: Kind, date_format: str | None) -> pl.Expr:
    """Check the values that must be parsed, then return the expression that casts the column."""
    col = pl.col(column)
    if kind == "id":  # a float id column
        whole = values.drop_nulls()
        fractional = whole.filter((whole != whole.round(0)) | whole.is_nan())
        if fractional.len():
            raise ParseError(
                f"Column '{column}' is an id but holds fractional numbers, "
                f"e.g. {_sample(fractional)}. Ids must be whole numbers or text."
            )
        return col.cast(pl.Int64)
    if kind == "float":
        text = values.str.strip_chars()
        present = text.is_not_null() & (text != "")
        _raise_unparsed(column, values, present & text.cast(pl.Float64, strict=False).is_null(), "numbers")
        return col.str.strip_chars().cast(pl.Float64, strict=False)
    formats = _date_formats(values, column, kind, date_format)
    text = _date_text(col, kind)
    out = pl.coalesce([text.str.to_datetime(fmt, strict=False, time_unit="us") for fmt in formats])
    return out.dt.date() if kind == "date" else out


def _needs_data(dtype: pl.DataType, kind: Kind) -> bool:
    """Whether casting to ``kind`` has to look at values (and may fail on them)."""
    if kind in ("datetime", "date", "float"):
        return dtype == pl.String
    if kind == "id":
        return dtype.is_float()
    return False


def _cast(column: str, dtype: pl.DataType, kind: Kind) -> pl.Expr:
    """The cast of a column whose values need no checking (its dtype settles it)."""
    col = pl.col(column)
    if kind == "id":
        if dtype.is_integer() or dtype == pl.Null:
            return col.cast(pl.Int64)
        if dtype in (pl.String, pl.Categorical, pl.Enum):
            return col.cast(pl.String).str.strip_chars()
        raise SchemaError(f"Column '{column}' is an id but has dtype {dtype}; use integers or text.")
    if kind == "string":
        return col.cast(pl.String)
    if kind == "float":
        if dtype.is_numeric() or dtype == pl.Null:
            return col.cast(pl.Float64)
    if kind in ("datetime", "date"):
        if isinstance(dtype, pl.Datetime):
            out = (col.dt.replace_time_zone(None) if dtype.time_zone else col).cast(pl.Datetime("us"))
        elif dtype in (pl.Date, pl.Null):
            out = col.cast(pl.Datetime("us"))
        else:
            raise SchemaError(
                f"Column '{column}' must hold dates but has dtype {dtype}. "
                f"Store dates as datetimes or as text such as 2011-12-09 08:26:00."
            )
        return out.dt.date() if kind == "date" else out
    raise SchemaError(f"Column '{column}' must be {kind} but has dtype {dtype}.")


def validate(
    frame: Frame,
    table: TableName = "transactions",
    *,
    columns: Mapping[str, str] | None = None,
    date_format: str | None = None,
) -> Frame:
    """Check a table against the data contract and cast it to canonical types.

    Parameters
    ----------
    frame
        A polars DataFrame or LazyFrame.
    table
        Which canonical table this is: ``"transactions"``, ``"customers"``,
        ``"events"``, ``"marketing_spend"`` or ``"reviews"``.
    columns
        Mapping ``{user_name: canonical_name}`` applied first.
    date_format
        A strftime format for string date columns; by default a list of
        common formats is tried (see ``DATE_FORMATS``) and an ambiguous mix
        (day-first with month-first) is refused.

    Returns
    -------
    The same kind of frame (DataFrame or LazyFrame) with canonical names and
    types: ids Int64 or String, dates ``Datetime("us")`` (``month`` is Date),
    numbers Float64, text String. Other columns pass through unchanged.
    Transactions without ``amount`` but with ``quantity`` and ``unit_price``
    get ``amount = quantity * unit_price``.
    For a LazyFrame, only columns that must be parsed from text are read
    (a single column scan each) and checked; every cast is an expression on
    the frame itself, so rows keep their order. Emptiness and all-null
    required columns are checked at once for a DataFrame, and for a
    LazyFrame only in the columns that had to be read.

    Raises
    ------
    SchemaError
        A required column is missing (the message lists the columns present
        and the mapping to pass) or has an unusable dtype.
    ParseError
        Values cannot be read as dates or numbers (column, sample, count).
    EmptyDataError
        The table has no rows, or a required column is entirely null.

    Examples
    --------
    >>> import polars as pl
    >>> raw = pl.DataFrame({"cust": [1, 2], "order_id": ["A1", "A2"],
    ...                     "order_date": ["2024-01-05", "2024-01-06 10:30:00"],
    ...                     "amount": ["12.50", "3"]})
    >>> out = validate(raw, "transactions", columns={"cust": "customer_id"})
    >>> out.columns, out["amount"].to_list()
    (['customer_id', 'order_id', 'order_date', 'amount'], [12.5, 3.0])
    """
    check_frame(frame)
    if table not in TABLES:
        raise SchemaError(f"Unknown table {table!r}; the data contract has {list(TABLES)}.")
    spec = TABLES[table]
    frame = rename_columns(frame, columns, table=table)
    schema = frame.collect_schema()
    present = schema.names()
    derive_amount = table == "transactions" and "amount" not in present and {"quantity", "unit_price"} <= set(present)
    missing = [c for c in spec.required if c not in present and not (c == "amount" and derive_amount)]
    if missing:
        raise SchemaError(_missing_message(table, missing, present))

    to_cast = {c: k for c, k in spec.columns.items() if c in present}
    # Columns that must be parsed from text are read (one column scan each for a LazyFrame) and
    # checked; every cast is then an expression on the frame itself, so rows never move.
    parse = [c for c, k in to_cast.items() if _needs_data(schema[c], k)]
    if is_lazy(frame):
        values = frame.select(parse).collect() if parse else None
    else:
        _check_not_empty(frame, table, spec, [c for c in spec.required if c in present])
        values = frame
    exprs = [
        (_checked_cast(values[c], c, k, date_format) if c in parse else _cast(c, schema[c], k)).alias(c)
        for c, k in to_cast.items()
    ]
    if values is not None and is_lazy(frame):
        _check_not_empty(values, table, spec, parse)
    out = frame.with_columns(exprs)
    if derive_amount:  # line revenue from its parts, when the source has no amount column
        out = out.with_columns(amount=pl.col("quantity") * pl.col("unit_price"))
    return out


def _check_not_empty(frame: pl.DataFrame, table: str, spec: TableSpec, cols: list[str]) -> None:
    if frame.height == 0:
        raise EmptyDataError(f"The {table} table is empty (0 rows); there is nothing to analyse.")
    for c in cols:
        if c in spec.required and frame[c].null_count() == frame.height:
            raise EmptyDataError(
                f"Column '{c}' of the {table} table is entirely null ({frame.height} rows). "
                f"Check the columns= mapping: is '{c}' mapped to the right source column?"
            )


def require_columns(frame: Frame, needed: list[str], *, table: str = "transactions", purpose: str = "") -> None:
    """Raise :class:`SchemaError` unless ``frame`` has every column in ``needed``."""
    present = frame.collect_schema().names()
    missing = [c for c in needed if c not in present]
    if missing:
        why = f" {purpose}" if purpose else ""
        raise SchemaError(_missing_message(table, missing, present).replace(
            "is missing required column(s)", f"is missing column(s){why}"
        ))


def as_datetime(value: "dt.date | dt.datetime | str | None", name: str = "as_of") -> "dt.datetime | None":
    """An analysis date given as a date, datetime or ISO string, as a naive datetime (None stays None).

    A date means midnight at its start. Raises :class:`CustlabError` naming the
    argument and showing the value.

    Examples
    --------
    >>> as_datetime("2011-12-10")
    datetime.datetime(2011, 12, 10, 0, 0)
    """
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise CustlabError(f"{name} must be a date such as '2011-12-10', got {value!r}.") from None
    raise CustlabError(f"{name} must be a date, datetime or ISO string, got {type(value).__name__} {value!r}.")
