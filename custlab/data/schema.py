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
    Optional: ``signup_date`` (Datetime), ``age``, ``income``,
    ``household_size`` (Float64, or ordered bands such as ``45-54``, ``65+``,
    ``<25`` kept as an ``Enum`` in their natural order: see
    :mod:`custlab.data.bands`), ``gender``, ``region``, ``city_tier``,
    ``occupation``, ``acquisition_channel`` (String), ``birth_date`` (Date;
    birthday offers in :func:`custlab.recommend.next_best_action`).
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
    Optional: ``order_id`` (id), ``product_id`` (String), ``text`` (String),
    ``nps_score`` (Float64, a 0-10 "how likely are you to recommend us?"
    answer given with the review; a 1-5 ``rating`` is CSAT, never NPS).

Two more tables serve the voice of the customer (:mod:`custlab.reviews`):

orders
    One row per order, for logistics attribution.
    Required: ``order_id`` (id).
    Optional: ``customer_id``, ``order_date``, ``promised_date`` (the
    promised or estimated delivery), ``delivered_date`` (Datetime; null
    while not delivered), ``region`` (String).
surveys
    NPS answers, one row each.
    Required: ``nps_score`` (Float64, whole numbers 0-10).
    Optional: ``customer_id``, ``survey_date`` (Datetime), ``order_id``
    (id, the order asked about), ``channel`` (String).

Three more tables serve campaign measurement and attribution
(:mod:`custlab.campaigns`, :mod:`custlab.attribution`):

campaigns
    One row per customer and campaign (who was sent what, or held out).
    Required: ``campaign_id`` (id), ``customer_id``, ``group`` (String,
    e.g. treatment / control), ``sent_date`` (Datetime).
    Optional: ``channel``, ``offer`` (String; null for a control that got
    nothing), ``cost`` (Float64, cost of reaching this customer).
touches
    Marketing touches, one row each (ad clicks, pushes, live-stream visits).
    Required: ``customer_id`` (a visitor id for people who never bought),
    ``touch_time`` (Datetime).
    Optional: ``channel`` (String; else read from the UTM columns),
    ``utm_source``, ``utm_medium``, ``utm_campaign`` (String),
    ``session_id`` (id), ``cost`` (Float64).
referrals
    Referral events: a customer shares, a friend clicks, the friend orders.
    Required: ``referrer_id`` (id), ``event`` (String: share, click, order),
    ``event_time`` (Datetime).
    Optional: ``customer_id`` (the friend, once known), ``share_id`` (id
    linking a click or order to its share), ``channel`` (String).
The events table may also carry ``utm_source``, ``utm_medium``,
``utm_campaign`` (String) and ``referrer_id`` (id) on its rows.

Columns outside the contract are kept as they are. Ids keep their integer or
string type (a float id whose values are all whole numbers becomes Int64, as
happens when pandas has stored an id column with nulls). Text ids are
trimmed; blank or whitespace-only ids are missing (null), and so are words
for a missing value (``"nan"``, ``"None"``, ``"NULL"``, ...: see
:mod:`custlab.data.ids`), with a warning that counts them. A text id written
like a float (``"12345.0"``) loses its ``.0``, so that ids exported by Excel
or pandas match across tables (:func:`custlab.data.load_tables` turns integer
ids into text where another table holds text ids).

Dates are returned as naive ``Datetime("us")`` clock times. Text dates are
read in one family of formats (``DATE_FORMATS``); two-digit years (``13/01/11``)
are read as 20xx. Time-zone-aware values (a Parquet column with a zone, or
text ending in ``Z``, ``+08:00``, ``-0500``) are converted to one zone: the
``timezone=`` argument, else the data's own zone (the column's zone, or the
one offset all values share), and :func:`validate_with_info` says which.
Functions that take canonical tables without validating them read zone-aware
dates the same way through :func:`naive_datetimes`.
Numbers in a date column (Excel serial day numbers, Unix epoch seconds or
milliseconds) are read with ``date_format="excel"``, ``"epoch_s"`` or
``"epoch_ms"``; without it the error says what they look like.

Functions accept a polars ``DataFrame`` or ``LazyFrame``. :func:`validate`
checks and casts a table; string columns that must become dates or numbers
are parsed, and values that cannot be parsed raise :class:`ParseError` with
the column, a sample of the bad values and their count.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import polars as pl

from custlab._dates import as_datetime  # noqa: F401  (re-exported for callers of custlab.data.schema)
from custlab._i18n import t
from custlab._types import Frame
from custlab.data.bands import parse_bands
from custlab.data.hints import SYNONYMS, suggest_mapping
from custlab.data.ids import _blank_to_null, _id_text, _is_text, _null_markers, _warn_null_markers
from custlab.data.sniff import number_writing
from custlab.exceptions import EmptyDataError, ParseError, SchemaError

__all__ = ["DATE_FAMILIES", "DATE_FORMATS", "NUMERIC_DATE_FORMATS", "SYNONYMS", "TABLES", "Kind", "TableName",
           "TableSpec", "ValidationInfo", "Note", "check_frame", "is_lazy", "make_note", "naive_datetimes",
           "rename_columns", "render_note", "require_columns", "validate", "validate_with_info"]

TableName = Literal["transactions", "customers", "events", "marketing_spend", "reviews", "campaigns", "touches",
                    "referrals", "orders", "surveys"]
Kind = Literal["id", "datetime", "date", "float", "band", "string"]


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
            "age": "band",
            "income": "band",
            "household_size": "band",
            "gender": "string",
            "region": "string",
            "city_tier": "string",
            "occupation": "string",
            "acquisition_channel": "string",
            "birth_date": "date",
        },
    ),
    "events": TableSpec(
        "events",
        required={"customer_id": "id", "event_time": "datetime", "event": "string"},
        optional={"session_id": "id", "channel": "string", "product_id": "string", "utm_source": "string",
                  "utm_medium": "string", "utm_campaign": "string", "referrer_id": "id"},
    ),
    "marketing_spend": TableSpec(
        "marketing_spend",
        required={"month": "date", "channel": "string", "spend": "float"},
        optional={},
    ),
    "reviews": TableSpec(
        "reviews",
        required={"customer_id": "id", "review_date": "datetime", "rating": "float"},
        optional={"order_id": "id", "product_id": "string", "text": "string", "nps_score": "float"},
    ),
    "orders": TableSpec(
        "orders",
        required={"order_id": "id"},
        optional={"customer_id": "id", "order_date": "datetime", "promised_date": "datetime",
                  "delivered_date": "datetime", "region": "string"},
    ),
    "surveys": TableSpec(
        "surveys",
        required={"nps_score": "float"},
        optional={"customer_id": "id", "survey_date": "datetime", "order_id": "id", "channel": "string"},
    ),
    "campaigns": TableSpec(
        "campaigns",
        required={"campaign_id": "id", "customer_id": "id", "group": "string", "sent_date": "datetime"},
        optional={"channel": "string", "offer": "string", "cost": "float"},
    ),
    "touches": TableSpec(
        "touches",
        required={"customer_id": "id", "touch_time": "datetime"},
        optional={"channel": "string", "utm_source": "string", "utm_medium": "string", "utm_campaign": "string",
                  "session_id": "id", "cost": "float"},
    ),
    "referrals": TableSpec(
        "referrals",
        required={"referrer_id": "id", "event": "string", "event_time": "datetime"},
        optional={"customer_id": "id", "share_id": "id", "channel": "string"},
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
    "%d/%m/%y %H:%M:%S": "day-first-yy",
    "%d/%m/%y %H:%M": "day-first-yy",
    "%d/%m/%y": "day-first-yy",
    "%m/%d/%y %H:%M:%S": "month-first-yy",
    "%m/%d/%y %H:%M": "month-first-yy",
    "%m/%d/%y": "month-first-yy",
    "%d.%m.%y %H:%M": "day-first-dot-yy",
    "%d.%m.%y": "day-first-dot-yy",
}

DATE_FAMILIES = {
    "iso": "as YYYY-MM-DD",
    "ymd-slash": "as YYYY/MM/DD",
    "compact": "as YYYYMMDD",
    "day-first": "as DD/MM/YYYY",
    "month-first": "as MM/DD/YYYY",
    "day-first-dot": "as DD.MM.YYYY",
    "day-first-yy": "as DD/MM/YY",
    "month-first-yy": "as MM/DD/YY",
    "day-first-dot-yy": "as DD.MM.YY",
}

#: ``date_format`` values for numbers in a date column: Excel serial days (1899-12-30 = 0), Unix epoch s or ms.
NUMERIC_DATE_FORMATS: tuple[str, ...] = ("excel", "epoch_s", "epoch_ms")

_SAMPLE = 5
#: A UTC offset after the time of a text date: ``Z``, ``UTC``, ``+08:00``, ``-0500``, ``+08``.
_OFFSET_AFTER_TIME = r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$"
_OFFSET_SUFFIX = r"\s*(?:Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$"
_FIXED_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})?$")


#: Something reading or validation did, for the report: a ``data.note.<key>`` text and its fields.
Note = tuple[str, tuple[tuple[str, str], ...]]


def make_note(key: str, **fields: object) -> Note:
    """A :data:`Note` for the text ``data.note.<key>`` of the label catalogue."""
    return key, tuple((k, str(v)) for k, v in fields.items())


def render_note(note: Note, language: str = "en") -> str:
    """A :data:`Note` as a sentence in ``language``."""
    key, fields = note
    return t(f"data.note.{key}", language, **dict(fields))


@dataclass(frozen=True)
class ValidationInfo:
    """What :func:`validate_with_info` found: the zone dates are expressed in, and what it changed.

    ``timezone`` is the zone whose clock times the date columns now hold (the
    ``timezone=`` argument or the data's own zone), or None when the data carry
    no zone; ``notes`` (:data:`Note`) say what validation changed, for the
    data-quality report; ``null_markers`` lists the words for a missing value
    read as missing ids, as ``(column, value as written, rows)``.
    """

    timezone: str | None = None
    notes: tuple[Note, ...] = field(default=())
    null_markers: tuple[tuple[str, str, int], ...] = field(default=())


def is_lazy(frame: Frame) -> bool:
    return isinstance(frame, pl.LazyFrame)


def check_frame(frame: object, *, argument: str = "data") -> None:
    """Raise a TypeError unless ``frame`` is a polars DataFrame or LazyFrame."""
    if not isinstance(frame, (pl.DataFrame, pl.LazyFrame)):
        hint = ""
        if type(frame).__module__.startswith("pandas"):
            hint = " Convert a pandas frame with polars.from_pandas(df)."
        elif frame is None and argument in TABLES:  # load_tables gives None for a table the folder does not hold
            hint = (f" The data have no {argument} table (load_tables gives None for a table the folder lacks): add "
                    f"{argument}.csv or {argument}.parquet to the folder, or skip this analysis.")
        raise TypeError(
            f"{argument} must be a polars DataFrame or LazyFrame, got {type(frame).__name__}.{hint}"
        )


def rename_columns(frame: Frame, columns: Mapping[str, str] | None, *, table: str) -> Frame:
    """Apply a ``{user_name: canonical_name}`` mapping, checking both sides.

    A column that already has a canonical name the mapping assigns to another
    column is kept as ``<name>_original`` (Olist: ``customer_unique_id`` mapped
    onto ``customer_id`` moves Olist's per-order ``customer_id`` aside).
    """
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
    targets = list(columns.values())
    doubled = sorted({canon for canon in targets if targets.count(canon) > 1})
    if doubled:
        sources = sorted(user for user, canon in columns.items() if canon in doubled)
        hint = "".join(
            f" Leave out {name!r}: {name!r} to use {other!r} (the table's own {name} is then kept as "
            f"'{name}_original'), or leave out {other!r} to keep {name}."
            for name in doubled if name in columns and columns[name] == name
            for other in [next(user for user, canon in columns.items() if canon == name and user != name)])
        raise SchemaError(f"columns= maps {sources} onto the same column(s) {doubled}; map one column onto each.{hint}")
    mapping = {user: canon for user, canon in columns.items() if user != canon}
    # A canonical name the user maps another column onto: the column already called so steps aside.
    displaced = {canon: f"{canon}_original" for canon in mapping.values() if canon in present and canon not in mapping}
    taken = [new for new in displaced.values() if new in present]
    if taken:
        raise SchemaError(f"columns= maps onto {sorted(displaced)}, which the {table} table already has, and "
                          f"{taken} are taken too: rename the existing column(s) first.")
    return frame.rename({**displaced, **mapping})


def _displaced_notes(frame: Frame, columns: Mapping[str, str] | None) -> list[Note]:
    present = frame.collect_schema().names()
    return [make_note("displaced", column=canon, user=user, moved=f"{canon}_original")
            for user, canon in (columns or {}).items()
            if user != canon and canon in present and canon not in (columns or {})]


def _missing_message(table: str, missing: list[str], frame: Frame) -> str:
    present = frame.collect_schema().names()
    spec = TABLES[table].columns if table in TABLES else {}
    candidates = [c for c in present if c not in spec]  # canonical columns already present are not candidates
    suggestions = suggest_mapping(frame, missing, candidates)
    return (
        f"The {table} table is missing required column(s) {missing}. "
        f"Columns present: {present}. "
        f"Map yours with columns={suggestions!r}."
        + (" The amount of each line is then quantity x unit_price." if "amount" in missing
           and "unit_price" in suggestions.values() and "amount" not in suggestions.values() else "")
    )


def _sample(values: pl.Series) -> list:
    return values.unique(maintain_order=True).head(_SAMPLE).to_list()


def _raise_unparsed(column: str, values: pl.Series, bad: pl.Series, what: str, hint: str = "",
                    counts: pl.Series | None = None) -> None:
    """Raise when ``bad`` marks any value; ``counts`` weighs distinct ``values`` by their number of rows."""
    n_bad = int(bad.sum()) if counts is None else int(counts.filter(bad).sum())
    if n_bad:
        raise ParseError(
            f"Column '{column}' has {n_bad} value(s) that cannot be read as {what}, "
            f"e.g. {_sample(values.filter(bad))}. "
            f"{hint or 'Fix or remove them at the source, or map another column with columns=.'}"
        )


def _date_text(expr: pl.Expr, kind: Kind) -> pl.Expr:
    """A text date trimmed, without a UTC offset after its time; months such as "2011-11" get their first day."""
    text = expr.str.strip_chars()
    if kind == "date":
        text = text.str.replace(r"^(\d{4})-(\d{1,2})$", "$1-$2-01")
    return pl.when(text.str.contains(_OFFSET_AFTER_TIME)).then(text.str.replace(_OFFSET_SUFFIX, "")).otherwise(text)


def _offset_minutes(expr: pl.Expr) -> pl.Expr:
    """The UTC offset written after a text date's time, in minutes (null when there is none)."""
    offset = expr.str.strip_chars().str.extract(_OFFSET_AFTER_TIME, 1)
    sign = pl.when(offset.str.starts_with("-")).then(-1).otherwise(1)
    hours = offset.str.extract(r"^[+-](\d{2})", 1).cast(pl.Int64).fill_null(0)
    minutes = offset.str.extract(r"^[+-]\d{2}:?(\d{2})$", 1).cast(pl.Int64).fill_null(0)
    return pl.when(offset.is_null()).then(None).otherwise(sign * (hours * 60 + minutes))


def _offset_name(minutes: int) -> str:
    if minutes == 0:
        return "UTC"
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _check_zone(zone: str | None) -> str | None:
    """A ``timezone=`` argument: an IANA name (``"Asia/Shanghai"``) or a fixed offset (``"+08:00"``)."""
    if zone is None:
        return None
    match = _FIXED_OFFSET.match(str(zone).strip())
    if match:
        sign, hours, minutes = match.groups()
        return _offset_name((-1 if sign == "-" else 1) * (int(hours) * 60 + int(minutes or 0)))
    try:
        zoneinfo.ZoneInfo(str(zone))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise SchemaError(f"timezone={zone!r} is not a time zone; use a name such as 'Asia/Shanghai' or "
                          f"'Europe/London', or an offset such as '+08:00'.") from None
    return str(zone)


def _utc_to_zone(utc: pl.Expr, zone: str) -> pl.Expr:
    """Naive UTC times as naive clock times of ``zone``."""
    match = _FIXED_OFFSET.match(zone)
    if match or zone == "UTC":
        minutes = 0 if zone == "UTC" else (-1 if match[1] == "-" else 1) * (int(match[2]) * 60 + int(match[3] or 0))
        return utc + pl.duration(minutes=minutes)
    return utc.dt.replace_time_zone("UTC").dt.convert_time_zone(zone).dt.replace_time_zone(None)


def _parse(text: pl.Expr, fmt: str) -> pl.Expr:
    """``text`` read with one format; a four-digit-year format refuses "13/01/11", two-digit years are 20xx."""
    out = text.str.to_datetime(fmt, strict=False, time_unit="us")
    if "%Y" in fmt:
        return pl.when(out.dt.year() >= 1000).then(out)
    if "%y" in fmt:
        return pl.when(out.dt.year() < 2000).then(out.dt.offset_by("100y")).otherwise(out)
    return out


def _date_formats(text: pl.Series, counts: pl.Series, column: str, date_format: str | None) -> list[str]:
    """The formats that read every value of a text date column, in the order to try them.

    ``text`` holds the column's distinct values, trimmed and without UTC
    offsets, in order of appearance; ``counts`` their numbers of rows. A
    column is read in one family of formats (ISO dates with or without a time
    are one family). When exactly one family reads every value,
    it is used: US month-first dates such as 12/13/2010 settle a column for
    month-first. When two families read every value (only days up to 12),
    or none does, the column is refused: guessing would change the days.
    """
    present = text.is_not_null() & (text != "")
    if not bool(present.any()):
        return [date_format or next(iter(DATE_FORMATS))]  # nothing to read: an all-null column
    if date_format is not None:
        parsed = pl.select(_parse(pl.lit(text), date_format)).to_series()
        _raise_unparsed(column, text, present & parsed.is_null(), f"dates in the format {date_format!r}",
                        counts=counts)
        return [date_format]
    found = pl.select([_parse(pl.lit(text), f).is_not_null().alias(str(i)) for i, f in enumerate(DATE_FORMATS)])
    hits = dict(zip(DATE_FORMATS, found.get_columns()))
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
    _raise_unparsed(column, text, present & ~anywhere, "dates", counts=counts)
    if len(complete) > 1:
        example = _sample(text.filter(present))[:2]
        options = " or ".join(repr(families[f][-1]) for f in complete)
        raise ParseError(
            f"Column '{column}' holds dates such as {example} that read "
            f"{' and '.join(DATE_FAMILIES[f] for f in complete)} "
            f"alike, so the days are ambiguous. Pass date_format= (e.g. {options})."
        )
    by_family: dict[str, int] = {}
    remaining = present
    for family in families:
        hit = remaining & covered[family]
        if int(hit.sum()):
            by_family[DATE_FAMILIES[family]] = int(counts.filter(hit).sum())
            remaining = remaining & ~hit
    counts = ", ".join(f"{n} {family}" for family, n in by_family.items())
    raise ParseError(
        f"Column '{column}' mixes date formats ({counts}); a value such as 01/02/2011 "
        f"would mean different days under them. Pass date_format= to say which one the data use, "
        f"or fix the source."
    )


def _number_dates(numbers: pl.Expr, date_format: str) -> pl.Expr:
    """Numbers read as dates: Excel serial days (0 = 1899-12-30), or Unix epoch seconds or milliseconds."""
    per_unit = {"excel": 86_400_000_000, "epoch_s": 1_000_000, "epoch_ms": 1_000}[date_format]
    micros = (numbers.cast(pl.Float64) * per_unit).round(0).cast(pl.Int64, strict=False)
    if date_format == "excel":
        return pl.lit(dt.datetime(1899, 12, 30)) + pl.duration(microseconds=micros)
    return pl.from_epoch(micros, time_unit="us")


def _raise_numbers(column: str, numbers: pl.Series) -> None:
    """Numbers in a date column: say what they look like and how to read them."""
    lo, hi = float(numbers.min()), float(numbers.max())
    whole = bool((numbers == numbers.round(0)).all())

    def span(fmt: str) -> str:
        ends = pl.select(_number_dates(pl.lit(pl.Series([lo, hi])), fmt)).to_series().dt.strftime("%Y-%m-%d")
        return f"{ends[0]} to {ends[1]}"

    if 20_000 <= lo and hi <= 80_000:
        guess = f"They look like Excel serial day numbers ({span('excel')}): pass date_format='excel'."
    elif 1e8 <= lo and hi <= 4.2e9:
        guess = f"They look like Unix epoch seconds ({span('epoch_s')}): pass date_format='epoch_s'."
    elif 1e11 <= lo and hi <= 4.2e12:
        guess = f"They look like Unix epoch milliseconds ({span('epoch_ms')}): pass date_format='epoch_ms'."
    elif whole and 19_000_101 <= lo and hi <= 21_001_231:
        guess = "They look like dates written as YYYYMMDD: pass date_format='%Y%m%d'."
    else:
        guess = ("They do not look like dates (a weekday or month number, a count?): map the column that "
                 "holds the dates with columns=.")
    shown = " to ".join(f"{v:.0f}" if v == round(v) else f"{v:.2f}" for v in (lo, hi))
    raise ParseError(f"Column '{column}' must hold dates but holds numbers ({shown}). {guess}")


class _Caster:
    """Builds each column's cast; remembers the zone dates are expressed in and notes for the report."""

    def __init__(self, date_format: str | None, timezone: str | None, markers: frozenset[str] = frozenset()):
        self.date_format = date_format
        self.timezone = _check_zone(timezone)
        self.zone: str | None = None
        self.notes: list[Note] = []
        self.markers = markers  # text id columns holding words of NULL_MARKERS
        self.nan_ids: list[tuple[str, str, int]] = []  # float id columns holding NaN (read as null, like the words)

    def _target(self, own: str, column: str) -> str:
        target = self.timezone or self.zone or own
        if self.zone is None:
            self.zone = target
        elif target != own and self.timezone is None:
            self.notes.append(make_note("zone_converted", column=column, own=own, zone=target))
        return target

    def aware(self, column: str, dtype: pl.Datetime) -> pl.Expr:
        """A zone-aware datetime column as naive clock times of the target zone."""
        col = pl.col(column)
        target = self._target(dtype.time_zone, column)
        if target == dtype.time_zone:
            return col.dt.replace_time_zone(None).cast(pl.Datetime("us"))
        return _utc_to_zone(col.dt.convert_time_zone("UTC").dt.replace_time_zone(None), target).cast(pl.Datetime("us"))

    def text_dates(self, values: pl.Series, column: str, kind: Kind) -> pl.Expr:
        col = pl.col(column)
        text = pl.select(_date_text(pl.lit(values), kind)).to_series()
        present = text.is_not_null() & (text != "")
        numbers = text.cast(pl.Float64, strict=False)
        if self.date_format in NUMERIC_DATE_FORMATS or (
                self.date_format is None and bool((numbers.is_not_null() | ~present).all())
                and not bool(text.filter(present).str.contains(r"^\d{8}$").all())):
            as_numbers = col.str.strip_chars().cast(pl.Float64, strict=False)
            return self.number_dates(numbers.filter(present), column, as_numbers)
        offsets = pl.select(_offset_minutes(pl.lit(values))).to_series()
        with_offset = offsets.is_not_null()
        distinct = text.filter(present).value_counts(sort=False, name="rows")
        distinct = distinct.join(text.filter(present).unique(maintain_order=True).to_frame(), on=text.name,
                                 maintain_order="right")
        formats = _date_formats(distinct[text.name], distinct["rows"], column, self.date_format)
        naive_text = _date_text(col, kind)
        local = pl.coalesce([_parse(naive_text, fmt) for fmt in formats])
        if bool(with_offset.any()):
            if not bool((with_offset | ~present).all()):
                raise ParseError(
                    f"Column '{column}' has {int(with_offset.sum())} time(s) with a UTC offset (e.g. "
                    f"{_sample(values.filter(with_offset))[:2]}) and {int((present & ~with_offset).sum())} without "
                    f"(e.g. {_sample(values.filter(present & ~with_offset))[:2]}), so they cannot be put on one clock. "
                    f"Fix the source so that every time has its offset, or none has."
                )
            distinct = offsets.drop_nulls().value_counts(sort=True)
            if distinct.height > 1 and self.timezone is None:
                counts = ", ".join(f"{_offset_name(m)}: {n:,}" for m, n in distinct.iter_rows())
                raise ParseError(
                    f"Column '{column}' holds times with {distinct.height} different UTC offsets ({counts}), as a "
                    f"zone with summer time does. Pass timezone= with the shop's zone (e.g. 'Europe/London') to "
                    f"read them as its clock times."
                )
            own = _offset_name(int(distinct[0, 0]))
            target = self._target(own, column)
            if distinct.height > 1 or target != own:
                local = _utc_to_zone(local - pl.duration(minutes=_offset_minutes(col)), target)
        return local.dt.date() if kind == "date" else local

    def number_dates(self, numbers: pl.Series, column: str, expr: pl.Expr) -> pl.Expr:
        if self.date_format not in NUMERIC_DATE_FORMATS:
            _raise_numbers(column, numbers.drop_nulls())
        return _number_dates(expr, self.date_format)

    def checked(self, values: pl.Series, column: str, kind: Kind) -> pl.Expr:
        """Check the values that must be parsed, then return the expression that casts the column."""
        col = pl.col(column)
        if kind == "id":  # a float id column
            n_nan = int(values.is_nan().sum())
            if n_nan:  # "nan" in a text file read as a float: a missing id, said like the words of NULL_MARKERS
                self.nan_ids.append((column, "NaN", n_nan))
            numbers = values.fill_nan(None).drop_nulls()
            bad = numbers.filter(~numbers.is_finite() | (numbers != numbers.round(0)))
            if bad.len():
                raise ParseError(
                    f"Column '{column}' is an id but holds {bad.len()} fractional or infinite number(s), "
                    f"e.g. {_sample(bad)}. Ids must be whole numbers or text."
                )
            return col.fill_nan(None).cast(pl.Int64)
        if kind in ("datetime", "date"):
            if values.dtype.is_numeric():
                if self.date_format is not None and self.date_format not in NUMERIC_DATE_FORMATS:
                    return self._numeric_text(values, column, kind)
                return self.number_dates(values.cast(pl.Float64), column, col)
            return self.text_dates(values.cast(pl.String), column, kind)
        text = values.cast(pl.String).str.strip_chars()
        present = text.is_not_null() & (text != "")
        numbers = text.cast(pl.Float64, strict=False)
        if kind == "band" and not bool((numbers.is_not_null() | ~present).all()):
            order = parse_bands(values, column).dtype
            return _blank_to_null(col.cast(pl.String).str.strip_chars()).cast(order)
        unread = text.filter(present & numbers.is_null())
        grouped, hint = number_writing(unread, text.filter(numbers.is_not_null()))
        if grouped:  # "1,234.50" beside "12.00": commas between thousands (a dot is the decimal mark)
            self.notes.append(make_note("thousands", column=column, n=f"{unread.len():,}", example=unread[0]))
            return _blank_to_null(col.cast(pl.String).str.strip_chars().str.replace_all(",", "", literal=True)).cast(
                pl.Float64, strict=False)
        _raise_unparsed(column, values, present & numbers.is_null(), "numbers", hint)
        return _blank_to_null(col.cast(pl.String).str.strip_chars()).cast(pl.Float64, strict=False)

    def _numeric_text(self, values: pl.Series, column: str, kind: Kind) -> pl.Expr:
        """Whole numbers such as 20111209 read with a text ``date_format`` (e.g. ``"%Y%m%d"``)."""
        text = values.cast(pl.Int64, strict=False).cast(pl.String)
        self.text_dates(text, column, kind)  # checks every value
        out = pl.coalesce([_parse(pl.col(column).cast(pl.Int64, strict=False).cast(pl.String), self.date_format)])
        return out.dt.date() if kind == "date" else out

    def plain(self, column: str, dtype: pl.DataType, kind: Kind, values: pl.DataFrame | None = None) -> pl.Expr:
        """The cast of a column whose values need no checking (its dtype settles it).

        ``values``: the frame itself when it is in memory; text ids are then looked at first, and only the steps
        of their normalisation that change something are applied (ids validated before pass at the cost of a scan).
        """
        col = pl.col(column)
        if kind == "id":
            if dtype.is_integer() or dtype == pl.Null:
                return col.cast(pl.Int64)
            if _is_text(dtype):
                return _id_text(col.cast(pl.String), values, markers=column in self.markers)
            raise SchemaError(f"Column '{column}' is an id but has dtype {dtype}; use integers or text.")
        if kind == "string":
            return col.cast(pl.String)
        if kind in ("float", "band") and (dtype.is_numeric() or dtype == pl.Null):
            return col.cast(pl.Float64)
        if kind in ("datetime", "date"):
            if isinstance(dtype, pl.Datetime):
                out = self.aware(column, dtype) if dtype.time_zone else col.cast(pl.Datetime("us"))
            elif dtype in (pl.Date, pl.Null):
                out = col.cast(pl.Datetime("us"))
            else:
                raise SchemaError(
                    f"Column '{column}' must hold dates but has dtype {dtype}. "
                    f"Store dates as datetimes or as text such as 2011-12-09 08:26:00."
                )
            return out.dt.date() if kind == "date" else out
        raise SchemaError(f"Column '{column}' must be {kind} but has dtype {dtype}.")


def _needs_data(dtype: pl.DataType, kind: Kind) -> bool:
    """Whether casting to ``kind`` has to look at values (and may fail on them)."""
    if kind in ("datetime", "date"):
        return dtype == pl.String or dtype.is_numeric()
    if kind == "float":
        return dtype == pl.String
    if kind == "band":
        return dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum)
    if kind == "id":
        return dtype.is_float()
    return False


def validate(
    frame: Frame, table: TableName = "transactions", *, columns: Mapping[str, str] | None = None,
    date_format: str | None = None, timezone: str | None = None,
) -> Frame:
    """Check a table against the data contract and cast it to canonical types.

    Parameters
    ----------
    frame
        A polars DataFrame or LazyFrame.
    table
        Which canonical table this is: ``"transactions"``, ``"customers"``,
        ``"events"``, ``"marketing_spend"``, ``"reviews"``, ``"campaigns"``,
        ``"touches"`` or ``"referrals"``.
    columns
        Mapping ``{user_name: canonical_name}`` applied first.
    date_format
        A strftime format for string date columns; by default a list of
        common formats is tried (see ``DATE_FORMATS``) and an ambiguous mix
        (day-first with month-first) is refused. ``"excel"``, ``"epoch_s"``,
        ``"epoch_ms"`` read numbers as dates.
    timezone
        Zone to express time-zone-aware dates in (``"Asia/Shanghai"``,
        ``"+08:00"``); by default the data's own zone. Naive dates are kept
        as written.

    Returns
    -------
    The same kind of frame (DataFrame or LazyFrame) with canonical names and
    types: ids Int64 or String, dates ``Datetime("us")`` (``month`` is Date),
    numbers Float64, bands an ordered Enum, text String. Other columns pass
    through unchanged. Transactions without ``amount`` but with ``quantity``
    and ``unit_price`` get ``amount = quantity * unit_price``.
    For a LazyFrame, only columns that must be parsed from text are read
    (a single column scan each) and checked, and text id columns are looked
    through once for words for a missing value; every cast is an
    expression on the frame itself, so rows keep their order. Emptiness and
    all-null required columns are checked at once for a DataFrame, and for a
    LazyFrame only in the columns that had to be read.
    :func:`validate_with_info` also returns the zone the dates are in and the
    missing-value words found.

    Raises
    ------
    SchemaError
        A required column is missing (the message lists the columns present
        and the mapping to pass, judged from names and content) or has an
        unusable dtype.
    ParseError
        Values cannot be read as dates or numbers (column, sample, count).
    EmptyDataError
        The table has no rows, or a required column is entirely null.

    Warns
    -----
    CustlabWarning
        Text ids that are words for a missing value (``"nan"`` from pandas'
        ``astype(str)``, :data:`custlab.data.ids.NULL_MARKERS`), read as null.

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
    return validate_with_info(frame, table, columns=columns, date_format=date_format, timezone=timezone)[0]


def validate_with_info(
    frame: Frame,
    table: TableName = "transactions",
    *,
    columns: Mapping[str, str] | None = None,
    date_format: str | None = None,
    timezone: str | None = None,
    source: str | None = None,
) -> tuple[Frame, ValidationInfo]:
    """:func:`validate`, returning ``(frame, ValidationInfo)``; ``source`` names the file in messages.

    Examples
    --------
    >>> import polars as pl
    >>> raw = pl.DataFrame({"customer_id": [1], "order_id": [1], "amount": [9.5],
    ...                     "order_date": ["2024-03-01T23:30:00+08:00"]})
    >>> out, info = validate_with_info(raw)
    >>> out["order_date"].to_list(), info.timezone
    ([datetime.datetime(2024, 3, 1, 23, 30)], '+08:00')
    """
    check_frame(frame)
    if table not in TABLES:
        raise SchemaError(f"Unknown table {table!r}; the data contract has {list(TABLES)}.")
    spec = TABLES[table]
    displaced = _displaced_notes(frame, columns)
    frame = rename_columns(frame, columns, table=table)
    schema = frame.collect_schema()
    present = schema.names()
    derive_amount = table == "transactions" and "amount" not in present and {"quantity", "unit_price"} <= set(present)
    missing = [c for c in spec.required if c not in present and not (c == "amount" and derive_amount)]
    if missing:
        message = _missing_message(table, missing, frame)
        raise SchemaError(f"{source}: {message}" if source else message)

    to_cast = {c: k for c, k in spec.columns.items() if c in present}
    # Columns that must be parsed from text are read (one column scan each for a LazyFrame) and
    # checked; every cast is then an expression on the frame itself, so rows never move.
    parse = [c for c, k in to_cast.items() if _needs_data(schema[c], k)]
    lazy = is_lazy(frame)
    if lazy:
        values = frame.select(parse).collect() if parse else None
    else:
        _check_not_empty(frame, table, spec, [])
        values = frame
    markers = _null_markers(frame, [c for c, k in to_cast.items() if k == "id" and _is_text(schema[c])])
    caster = _Caster(date_format, timezone, frozenset(c for c, _, _ in markers))
    exprs = [
        (caster.checked(values[c], c, k) if c in parse else caster.plain(c, schema[c], k, values=None if lazy else frame)).alias(c)
        for c, k in to_cast.items()
    ]
    out = frame.with_columns(exprs)
    if lazy and values is not None:
        _check_not_empty(values, table, spec, parse)
    elif not lazy:
        _check_not_empty(out, table, spec, [c for c in spec.required if c in present])
    if derive_amount:  # line revenue from its parts, when the source has no amount column
        out = out.with_columns(amount=pl.col("quantity") * pl.col("unit_price"))
    notes = displaced + list(caster.notes)
    if caster.timezone and caster.zone is None:
        notes.append(make_note("zone_unused", zone=caster.timezone))
    markers += caster.nan_ids
    if markers:
        _warn_null_markers(markers, table, source)
    return out, ValidationInfo(caster.zone, tuple(notes), tuple(markers))


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
        raise SchemaError(_missing_message(table, missing, frame).replace(
            "is missing required column(s)", f"is missing column(s){why}"
        ))


def naive_datetimes(frame: Frame, table: TableName = "transactions") -> Frame:
    """``frame`` with the zone-aware date columns of ``table`` as naive clock times, as :func:`validate` reads them.

    For functions that take canonical tables without validating them: a date
    column with a zone (a Parquet ``Datetime("us", "UTC")``) becomes the clock
    times of its own zone (the first such column's, for all), so that it can be
    compared with a naive ``as_of``. Only the schema is read; a frame without
    such columns, or anything but a polars frame (None), comes back as it is.

    Examples
    --------
    >>> import datetime as dt
    >>> tx = pl.DataFrame({"order_date": [dt.datetime(2024, 3, 1, 23, 30)]}).with_columns(
    ...     pl.col("order_date").dt.replace_time_zone("Asia/Shanghai"))
    >>> naive_datetimes(tx)["order_date"].to_list()
    [datetime.datetime(2024, 3, 1, 23, 30)]
    """
    if not isinstance(frame, (pl.DataFrame, pl.LazyFrame)):
        return frame
    schema = frame.collect_schema()
    kinds = TABLES[table].columns
    caster = _Caster(None, None)
    exprs = []
    for column, dtype in schema.items():
        if kinds.get(column) in ("datetime", "date") and isinstance(dtype, pl.Datetime) and dtype.time_zone:
            clock = caster.aware(column, dtype)
            exprs.append((clock.dt.date() if kinds[column] == "date" else clock).alias(column))
    return frame.with_columns(exprs) if exprs else frame
