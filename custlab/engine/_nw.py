"""The portable layer under :mod:`custlab.engine`: any lazy frame as narwhals, dates as numbers, exact rounding.

Every heavy aggregation of the engine is written once on narwhals expressions
and runs where the data live: polars, DuckDB, PySpark (and any backend
narwhals wraps lazily). Only the small results are collected, as polars.

Two frictions between backends are handled here once:

- date arithmetic: ``dt.timestamp`` and ``dt.total_minutes`` are missing or
  differ on some backends, so calendar days are computed from the year and
  the ordinal day (:func:`epoch_day`) and instants from the day and the clock
  (:func:`epoch_micros`), with integer arithmetic every backend has;
- weekdays: ``dt.weekday`` gives 0 for Sunday on PySpark 4, so :func:`iso_weekday`
  counts from the calendar day;
- rounding: polars rounds half to even, DuckDB and Spark half away from zero;
  :func:`round_half_even` gives polars' result from ``floor`` everywhere.

Spark's ``TIMESTAMP`` type (with a time zone) is read in the session time zone;
:func:`check_spark_time` refuses it unless that zone is UTC (``TIMESTAMP_NTZ``
columns, what Spark reads from polars' Parquet files, are always fine), so the
hour and day of an order are the same on every backend.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import narwhals as nw
import polars as pl

from custlab._money import MICRO
from custlab.exceptions import CustlabError, SchemaError

__all__ = [
    "EngineError", "accepts", "backend", "check_columns", "check_spark_time", "collect", "day_rows", "epoch_day",
    "epoch_micros", "iso_weekday", "lazy", "money_sum", "round_half_even", "running", "scratch", "store", "upload",
]

_DAY_MICROS = 86_400_000_000
_DAYS_BEFORE_1970 = 477  # leap days in years 1..1969: 1969 // 4 - 1969 // 100 + 1969 // 400
#: Column kinds :func:`check_columns` knows.
_KINDS = {
    "date": (nw.Datetime, nw.Date),
    "datetime": (nw.Datetime,),
    "numeric": None,
    "any": None,
}


class EngineError(CustlabError):
    """A backend lacks an operation a custlab function needs (nothing was collected instead)."""


def accepts(frame: object) -> bool:
    """Whether ``frame`` is a lazy table of another engine that custlab pushes its aggregations down to.

    True for a DuckDB relation, a PySpark DataFrame, a narwhals LazyFrame and
    anything else narwhals wraps lazily; False for polars frames (custlab's
    own path) and for eager frames such as pandas (refused by the functions
    with a hint to convert them).

    >>> import polars as pl
    >>> accepts(pl.DataFrame({"a": [1]})), accepts([1, 2])
    (False, False)
    """
    if isinstance(frame, (pl.DataFrame, pl.LazyFrame)):
        return False
    try:
        wrapped = nw.from_native(frame)
    except TypeError:
        return False
    return isinstance(wrapped, nw.LazyFrame)


def lazy(frame: object, *, function: str, argument: str = "transactions") -> nw.LazyFrame:
    """``frame`` as a narwhals LazyFrame (polars frames included, for the parity tests); a clear error otherwise."""
    try:
        wrapped = nw.from_native(frame)
    except TypeError:
        raise TypeError(
            f"custlab.{function}: {argument} must be a polars DataFrame or LazyFrame, or a lazy table of "
            f"another engine (DuckDB relation, PySpark DataFrame); got {type(frame).__name__}."
        ) from None
    return wrapped.lazy() if isinstance(wrapped, nw.DataFrame) else wrapped


def backend(frame: nw.LazyFrame) -> str:
    """The backend's name in lower case: "polars", "duckdb", "pyspark", ..."""
    return str(frame.implementation.value).lower()


@contextmanager
def running(function: str, frame: nw.LazyFrame) -> Iterator[None]:
    """Turn "this backend cannot do that" into an :class:`EngineError` naming the function and the backend.

    Nothing falls back to collecting order lines: the caller gets the error.
    """
    try:
        yield
    except CustlabError:
        raise
    except (NotImplementedError, nw.exceptions.NarwhalsError) as err:
        raise EngineError(
            f"custlab.{function} cannot run on the {backend(frame)} backend: {err} "
            f"Nothing was collected. Run it on polars (pl.scan_parquet of the same files), on DuckDB or on PySpark, "
            f"which custlab's engine layer supports."
        ) from err


def collect(frame: nw.LazyFrame) -> pl.DataFrame:
    """Run the query on its engine and bring the (small) result back as polars.

    Time-zone-aware instants (Spark's ``TIMESTAMP``, read in a UTC session) come
    back as naive UTC datetimes, as polars stores naive ones.
    """
    options = {"engine": "streaming"} if backend(frame) == "polars" else {}  # polars: in batches, as custlab's own
    out = nw.to_native(frame.collect("polars", **options))
    aware = [name for name, dtype in out.schema.items() if isinstance(dtype, pl.Datetime) and dtype.time_zone]
    if aware:
        out = out.with_columns(pl.col(aware).dt.convert_time_zone("UTC").dt.replace_time_zone(None))
    return out


def check_columns(frame: nw.LazyFrame, kinds: Mapping[str, str], *, function: str, table: str = "transactions") -> None:
    """Raise a :class:`SchemaError` for missing columns or columns of the wrong kind (read from the schema only)."""
    schema = frame.collect_schema()
    missing = [c for c in kinds if c not in schema]
    if missing:
        raise SchemaError(
            f"custlab.{function}: the {table} lack column(s) {missing}; columns present: {list(schema)}. "
            f"Rename them to custlab's canonical names (custlab.data.schema) on the engine first."
        )
    for column, kind in kinds.items():
        dtype = schema[column]
        if kind == "numeric":
            ok = dtype.is_numeric()
        elif _KINDS[kind] is None:
            ok = True
        else:
            ok = isinstance(dtype, _KINDS[kind])
        if not ok:
            want = {"date": "a date or datetime", "datetime": "a datetime", "numeric": "a number"}[kind]
            raise SchemaError(
                f"custlab.{function}: column '{column}' of the {table} must hold {want} but has dtype {dtype} on "
                f"the {backend(frame)} backend. Cast it on the engine first (e.g. CAST({column} AS TIMESTAMP))."
            )
    check_spark_time(frame, [c for c, kind in kinds.items() if kind in ("date", "datetime")], function=function)


def check_spark_time(frame: nw.LazyFrame, columns: Sequence[str], *, function: str) -> None:
    """Refuse Spark ``TIMESTAMP`` columns read in a session time zone other than UTC.

    Such a column holds instants that Spark shows, truncates to days and
    hours in the session's zone, so days and hours would depend on a setting
    of the cluster. ``TIMESTAMP_NTZ`` columns (wall-clock times, what polars
    writes) are always accepted.
    """
    if backend(frame) != "pyspark" or not columns:
        return
    native = nw.to_native(frame)
    fields = {f.name: f.dataType.typeName() for f in native.schema.fields}
    aware = [c for c in columns if fields.get(c) == "timestamp"]
    if not aware:
        return
    zone = native.sparkSession.conf.get("spark.sql.session.timeZone")
    if zone not in ("UTC", "Etc/UTC", "GMT", "Z", "+00:00"):
        raise EngineError(
            f"custlab.{function}: column(s) {aware} are Spark TIMESTAMP (with time zone) and the session time zone "
            f"is {zone!r}, so days and hours would follow that zone. Set "
            f"spark.conf.set('spark.sql.session.timeZone', 'UTC'), or cast the column(s) to TIMESTAMP_NTZ."
        )


def epoch_day(instant: nw.Expr) -> nw.Expr:
    """Calendar day of a Date/Datetime as days since 1970-01-01 (Int64), from year and ordinal day.

    Gregorian calendar, years 1 and later (``dt.timestamp`` is not portable).
    """
    year = instant.dt.year().cast(nw.Int64)
    before = year - 1
    leap_days = before // 4 - before // 100 + before // 400 - _DAYS_BEFORE_1970
    return (year - 1970) * 365 + leap_days + instant.dt.ordinal_day().cast(nw.Int64) - 1


def iso_weekday(instant: nw.Expr) -> nw.Expr:
    """ISO weekday (1 = Monday .. 7 = Sunday) from the calendar day (1970-01-01 was a Thursday).

    ``dt.weekday`` is not portable: on PySpark 4 it gives 0 for Sunday.
    """
    shifted = epoch_day(instant) + 3
    return shifted - (shifted // 7) * 7 + 1


def epoch_micros(instant: nw.Expr) -> nw.Expr:
    """A Datetime as microseconds since 1970-01-01 00:00 (Int64), from the calendar day and the clock."""
    clock = (
        instant.dt.hour().cast(nw.Int64) * 3_600_000_000
        + instant.dt.minute().cast(nw.Int64) * 60_000_000
        + instant.dt.second().cast(nw.Int64) * 1_000_000
        + instant.dt.microsecond().cast(nw.Int64)
    )
    return epoch_day(instant) * _DAY_MICROS + clock


def day_number(value: dt.date | dt.datetime) -> int:
    """The calendar day of a Python date or datetime as days since 1970-01-01."""
    day = value.date() if isinstance(value, dt.datetime) else value
    return (day - dt.date(1970, 1, 1)).days


def round_half_even(value: nw.Expr) -> nw.Expr:
    """Round to the nearest whole number, ties to even (polars' ``round(0)``), with ``floor`` on any backend."""
    low = value.floor()
    rest = value - low
    odd = (low - (low / 2).floor() * 2) == 1
    return low + ((rest > 0.5) | ((rest == 0.5) & odd)).cast(nw.Float64)


def money_sum(column: str = "amount") -> nw.Expr:
    """Sum of a money column in whole millionths (Int64): exact, so the same in any order on any engine and equal
    to the in-memory report's sum; divide by :data:`custlab._money.MICRO` after collecting. A plain float sum of
    Online Retail's November 2011 on DuckDB read 1123691.4900000363 instead of 1123691.49."""
    return round_half_even(nw.col(column).cast(nw.Float64) * MICRO).cast(nw.Int64).sum()


def day_rows(frame: nw.LazyFrame) -> pl.DataFrame:
    """Lines per calendar day of ``order_date`` (``day``, ``rows`` Int64; sorted, undated lines left out), collected."""
    return collect(frame.select(day=nw.col("order_date").dt.truncate("1d")).filter(~nw.col("day").is_null())
                   .group_by("day").agg(rows=nw.len().cast(nw.Int64))).sort("day")


def count_where(condition: nw.Expr) -> nw.Expr:
    """Number of rows where ``condition`` holds (nulls count as false)."""
    return condition.fill_null(False).cast(nw.Int64).sum()


#: The release steps of the tables stored inside each open :func:`scratch` block, innermost last.
_SCRATCH: list[list[Callable[[], object]]] = []


@contextmanager
def scratch() -> Iterator[None]:
    """Tables :func:`store` keeps (and :func:`upload` puts) on an engine inside this block are dropped (DuckDB) or
    unpersisted (Spark) when it ends, so that a notebook computing month after month on one connection does not
    accumulate them. Only for tables no result returned from the block reads."""
    releases: list[Callable[[], object]] = []
    _SCRATCH.append(releases)
    try:
        yield
    finally:
        _SCRATCH.remove(releases)
        for release in reversed(releases):
            with suppress(Exception):  # a closed connection or a stopped session has released them already
                release()


def _on_release(release: Callable[[], object]) -> None:
    if _SCRATCH:
        _SCRATCH[-1].append(release)


def store(frame: nw.LazyFrame) -> nw.LazyFrame:
    """``frame`` computed once and kept on its engine, for a query several later ones read.

    DuckDB: a temporary table of the relation's connection (spilled to disk
    beyond the memory limit, dropped with the connection or at the end of a
    :func:`scratch` block); Spark: the DataFrame persisted (memory and disk;
    unpersisted at the end of a :func:`scratch` block); other backends:
    unchanged (the query runs again where it is read).
    """
    name = backend(frame)
    native = nw.to_native(frame)
    if name == "duckdb":
        return _duckdb_table(native, "_custlab_rows")
    if name.startswith("pyspark") and hasattr(native, "persist"):
        persisted = native.persist()
        _on_release(persisted.unpersist)
        return nw.from_native(persisted)
    return frame


def upload(like: nw.LazyFrame, frame: pl.DataFrame) -> nw.LazyFrame:
    """A polars table put on the engine of ``like``, to be joined with it there (e.g. the customers' attributes).

    DuckDB: a temporary table of ``like``'s connection; Spark: a DataFrame of
    its session; polars: the frame itself, lazily. Meant for side tables (one
    row per customer at most), not for order lines.
    """
    name = backend(like)
    native = nw.to_native(like)
    if name == "polars":
        return nw.from_native(frame.lazy())
    if name == "duckdb":
        return _duckdb_table(native, "_custlab_upload", upload=frame.to_arrow())
    if name.startswith("pyspark") and hasattr(native, "sparkSession"):
        return nw.from_native(native.sparkSession.createDataFrame(frame.to_pandas()))
    raise EngineError(f"custlab cannot put a table on the {name} backend; run this on polars, DuckDB or PySpark.")


def _duckdb_table(native: Any, source: str, upload: Any = None) -> nw.LazyFrame:
    """A temporary table of the connection of relation ``native`` made from ``source``: ``"_custlab_rows"`` (the
    relation itself) or ``"_custlab_upload"`` (the Arrow table ``upload``); dropped at the end of a :func:`scratch`."""
    import uuid

    table = f"custlab_{uuid.uuid4().hex[:12]}"
    _custlab_upload = upload  # noqa: F841 - found by DuckDB's replacement scan of this function's locals
    native.query("_custlab_rows", f"CREATE TEMPORARY TABLE {table} AS SELECT * FROM {source}")
    _on_release(lambda: native.query("_custlab_rows", f"DROP TABLE IF EXISTS {table}"))
    return nw.from_native(native.query("_custlab_rows", f"SELECT * FROM {table}"))


def first_rows(frame: nw.LazyFrame, n: int) -> list[dict[str, Any]]:
    """Up to ``n`` rows of a (filtered) frame, as dicts, for error messages."""
    return collect(frame.head(n)).to_dicts()
