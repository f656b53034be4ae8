"""The data contract: renaming, required columns, type parsing and their error messages."""

from __future__ import annotations

import datetime as dt
import re

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custlab.exceptions import EmptyDataError, ParseError, SchemaError
from custlab.schema import TABLES, validate


def _tx(**over):
    base = {
        "customer_id": [1, 2, 3],
        "order_id": ["A1", "A2", "A3"],
        "order_date": ["2024-01-05", "2024-01-06", "2024-01-07"],
        "amount": [10.0, 20.0, 30.0],
    }
    base.update(over)
    return pl.DataFrame(base)


def test_canonical_types_after_validation():
    out = validate(_tx())
    assert out.schema == pl.Schema(
        {"customer_id": pl.Int64, "order_id": pl.String, "order_date": pl.Datetime("us"), "amount": pl.Float64}
    )
    assert out["order_date"].to_list()[0] == dt.datetime(2024, 1, 5)


def test_mapping_renames_once_at_the_border():
    raw = _tx().rename({"customer_id": "CustomerID", "order_date": "InvoiceDate"})
    out = validate(raw, columns={"CustomerID": "customer_id", "InvoiceDate": "order_date"})
    assert out.columns == ["customer_id", "order_id", "order_date", "amount"]


def test_missing_column_lists_present_and_mapping():
    raw = _tx().rename({"order_date": "InvoiceDate"})
    message = (
        "The transactions table is missing required column(s) ['order_date']. "
        "Columns present: ['customer_id', 'order_id', 'InvoiceDate', 'amount']. "
        "Map yours with columns={'InvoiceDate': 'order_date'}."
    )
    with pytest.raises(SchemaError, match=re.escape(message)):
        validate(raw)


def test_missing_column_without_a_likely_source():
    raw = _tx().rename({"amount": "x1"})
    with pytest.raises(SchemaError, match=re.escape("Map yours with columns={'<your column>': 'amount'}.")):
        validate(raw)


def test_missing_column_suggests_a_close_name():
    raw = _tx().rename({"customer_id": "customerid"})
    with pytest.raises(SchemaError, match=re.escape("Map yours with columns={'customerid': 'customer_id'}.")):
        validate(raw)


def test_mapping_of_an_absent_column():
    with pytest.raises(SchemaError, match=re.escape("columns= maps ['Kunde'] but the transactions table has no such column.")):
        validate(_tx(), columns={"Kunde": "customer_id"})


def test_mapping_onto_a_non_contract_name():
    with pytest.raises(SchemaError, match=re.escape("columns= maps onto ['cust'], which are not transactions columns")):
        validate(_tx(), columns={"customer_id": "cust"})


def test_empty_frame():
    with pytest.raises(EmptyDataError, match=re.escape("The transactions table is empty (0 rows); there is nothing to analyse.")):
        validate(_tx().clear())


def test_all_null_ids():
    raw = _tx(customer_id=pl.Series([None, None, None], dtype=pl.Int64))
    with pytest.raises(EmptyDataError, match=re.escape(
        "Column 'customer_id' of the transactions table is entirely null (3 rows). "
        "Check the columns= mapping: is 'customer_id' mapped to the right source column?"
    )):
        validate(raw)


def test_strings_in_numeric_column():
    raw = _tx(amount=["12.5", "abc", "n/a"])
    with pytest.raises(ParseError, match=re.escape(
        "Column 'amount' has 2 value(s) that cannot be read as numbers, e.g. ['abc', 'n/a']."
    )):
        validate(raw)


def test_numeric_strings_are_parsed():
    out = validate(_tx(amount=[" 12.5", "3", None]))
    assert out["amount"].to_list() == [12.5, 3.0, None]


def test_unparseable_dates():
    raw = _tx(order_date=["2024-01-05", "yesterday", "2024-13-45"])
    with pytest.raises(ParseError, match=re.escape(
        "Column 'order_date' has 2 value(s) that cannot be read as dates, e.g. ['yesterday', '2024-13-45']."
    )):
        validate(raw)


def test_ambiguous_mixed_date_formats_are_refused():
    raw = _tx(order_date=["2024-01-05", "05/01/2024 10:00", "2024-01-07 08:30:00"])
    with pytest.raises(ParseError, match=re.escape(
        "Column 'order_date' mixes date formats (2 as YYYY-MM-DD, 1 as DD/MM/YYYY); "
        "a value such as 01/02/2011 would mean different days under them. Pass date_format="
    )):
        validate(raw)


def test_iso_dates_with_and_without_time_mix_freely():
    out = validate(_tx(order_date=["2024-01-05", "2024-01-06 10:30", "2024-01-07T08:30:00"]))
    assert out["order_date"].to_list() == [
        dt.datetime(2024, 1, 5), dt.datetime(2024, 1, 6, 10, 30), dt.datetime(2024, 1, 7, 8, 30)
    ]


def test_explicit_date_format():
    out = validate(_tx(order_date=["05/01/2024", "06/01/2024", "07/01/2024"]), date_format="%d/%m/%Y")
    assert out["order_date"].dt.month().to_list() == [1, 1, 1]


def test_float_ids_become_integers_and_fractions_are_refused():
    assert validate(_tx(customer_id=[1.0, 2.0, None]))["customer_id"].dtype == pl.Int64
    with pytest.raises(ParseError, match=re.escape("Column 'customer_id' is an id but holds fractional numbers, e.g. [1.5].")):
        validate(_tx(customer_id=[1.5, 2.0, 3.0]))


def test_amount_derived_from_quantity_and_price():
    raw = _tx().drop("amount").with_columns(quantity=pl.Series([2, 1, 3]), unit_price=pl.Series([1.5, 4.0, 2.0]))
    assert validate(raw)["amount"].to_list() == [3.0, 4.0, 6.0]


def test_lazy_frames_stay_lazy_and_parse_text():
    out = validate(_tx().lazy())
    assert isinstance(out, pl.LazyFrame)
    assert out.collect()["order_date"].dtype == pl.Datetime("us")
    with pytest.raises(ParseError, match="cannot be read as numbers"):
        validate(_tx(amount=["1", "x", "2"]).lazy())


def test_month_column_of_marketing_spend():
    spend = pl.DataFrame({"month": ["2024-01", "2024-02"], "channel": ["sms", "sms"], "spend": [100, 200]})
    out = validate(spend, "marketing_spend")
    assert out["month"].to_list() == [dt.date(2024, 1, 1), dt.date(2024, 2, 1)]


def test_timezones_are_dropped_to_naive_utc_wall_time():
    stamps = pl.Series([dt.datetime(2024, 1, 5, 10)]).dt.replace_time_zone("UTC")
    out = validate(pl.DataFrame({"customer_id": [1], "order_id": [1], "order_date": stamps, "amount": [1.0]}))
    assert out["order_date"].dtype == pl.Datetime("us")


def test_pandas_frames_get_a_hint():
    pd = pytest.importorskip("pandas")
    with pytest.raises(TypeError, match=re.escape("Convert a pandas frame with polars.from_pandas(df).")):
        validate(pd.DataFrame({"a": [1]}))


def test_every_table_spec_has_its_required_columns_documented():
    import custlab.schema as schema

    for name, spec in TABLES.items():
        assert name in schema.__doc__
        for column in spec.columns:
            assert f"``{column}``" in schema.__doc__, (name, column)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10**6), st.floats(-1e6, 1e6, allow_nan=False)), min_size=1, max_size=30))
def test_validation_keeps_every_row_and_value(rows):
    raw = pl.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "order_id": list(range(len(rows))),
            "order_date": [dt.datetime(2024, 1, 1)] * len(rows),
            "amount": [str(r[1]) for r in rows],
        }
    )
    out = validate(raw)
    assert out.height == raw.height
    assert out["amount"].to_list() == pytest.approx([r[1] for r in rows])


def test_lazy_parsing_keeps_each_value_on_its_row():
    n = 20_000
    lazy = pl.LazyFrame({
        "customer_id": [i % 500 for i in range(n)], "order_id": list(range(n)),
        "order_date": [f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(n)],
        "amount": [str(i) for i in range(n)],
    }).unique(subset=["order_id"])  # a plan whose row order is not fixed
    out = validate(lazy).collect()
    expected = [dt.datetime(2024, 1 + i % 12, 1 + i % 28) for i in out["order_id"]]
    assert out["order_date"].to_list() == expected
    assert out["amount"].to_list() == [float(i) for i in out["order_id"]]


def test_us_month_first_dates_are_recognised():
    out = validate(_tx(order_date=["12/1/2010 8:26", "12/13/2010 9:00", "1/2/2011 10:00"]))
    assert out["order_date"].to_list() == [dt.datetime(2010, 12, 1, 8, 26), dt.datetime(2010, 12, 13, 9), dt.datetime(2011, 1, 2, 10)]


def test_dates_that_read_both_ways_are_refused():
    with pytest.raises(ParseError, match=re.escape(
        "Column 'order_date' holds dates such as ['01/02/2024', '03/04/2024'] that read as DD/MM/YYYY and as "
        "MM/DD/YYYY alike, so the days are ambiguous. Pass date_format="
    )):
        validate(_tx(order_date=["01/02/2024", "03/04/2024", "05/06/2024"]))


def test_an_all_null_optional_id_is_kept_as_null_integers():
    events = pl.DataFrame({"customer_id": [1], "event_time": [dt.datetime(2024, 1, 1)], "event": ["click"],
                           "session_id": [None]})
    assert validate(events, "events")["session_id"].dtype == pl.Int64
    assert validate(events.lazy(), "events").collect()["session_id"].dtype == pl.Int64
