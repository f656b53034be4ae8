"""Readers: CSV, Parquet and Excel, renamed once at the border."""

from __future__ import annotations

import datetime as dt
import re

import polars as pl
import pytest

from custlab.exceptions import ParseError, SchemaError
from custlab.io import read_events, read_table, read_transactions

RAW = pl.DataFrame(
    {
        "Kunde": [7, 7, 9],
        "Beleg": ["B1", "B2", "B3"],
        "Datum": ["2024-02-01 10:00:00", "2024-02-03 11:30:00", "2024-02-04 09:15:00"],
        "Umsatz": [12.5, 8.0, 30.25],
        "Kanal": ["app", "web", "app"],
    }
)
MAPPING = {"Kunde": "customer_id", "Beleg": "order_id", "Datum": "order_date", "Umsatz": "amount", "Kanal": "channel"}


def _check(frame: pl.DataFrame) -> None:
    assert frame.columns == ["customer_id", "order_id", "order_date", "amount", "channel"]
    assert frame["customer_id"].to_list() == [7, 7, 9]
    assert frame["order_date"].to_list()[1] == dt.datetime(2024, 2, 3, 11, 30)
    assert frame["amount"].sum() == pytest.approx(50.75)


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
def test_readers_take_csv_parquet_and_excel(tmp_path, suffix):
    path = tmp_path / f"orders{suffix}"
    {".csv": RAW.write_csv, ".parquet": RAW.write_parquet, ".xlsx": RAW.write_excel}[suffix](path)
    _check(read_transactions(path, columns=MAPPING))


def test_lazy_read_streams_parquet(tmp_path):
    path = tmp_path / "orders.parquet"
    RAW.write_parquet(path)
    lazy = read_transactions(path, columns=MAPPING, lazy=True)
    assert isinstance(lazy, pl.LazyFrame)
    _check(lazy.collect())


def test_csv_with_a_stray_word_in_a_number_column(tmp_path):
    path = tmp_path / "orders.csv"
    RAW.with_columns(pl.col("Umsatz").cast(pl.String)).with_columns(
        Umsatz=pl.when(pl.col("Beleg") == "B3").then(pl.lit("dreißig")).otherwise(pl.col("Umsatz"))
    ).write_csv(path)
    with pytest.raises(ParseError, match=re.escape("Column 'amount' has 1 value(s) that cannot be read as numbers, e.g. ['dreißig'].")):
        read_transactions(path, columns=MAPPING)


def test_unknown_file_type(tmp_path):
    path = tmp_path / "orders.json"
    path.write_text("{}")
    with pytest.raises(SchemaError, match=re.escape("Cannot read orders.json: unknown file type '.json'.")):
        read_transactions(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="No such data file"):
        read_transactions(tmp_path / "nope.csv")


def test_frames_in_memory_and_other_tables():
    events = pl.DataFrame({"user": [1, 1], "ts": ["2024-01-01 10:00", "2024-01-01 10:05"], "type": ["click", "cart"]})
    out = read_events(events, columns={"user": "customer_id", "ts": "event_time", "type": "event"})
    assert out["event_time"].dtype == pl.Datetime("us")
    assert read_table(RAW, columns=MAPPING, lazy=True).collect().height == 3
