"""The data contract: renaming, required columns, type parsing and their error messages."""

from __future__ import annotations

import datetime as dt
import re
import warnings

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custlab.exceptions import CustlabWarning, EmptyDataError, ParseError, SchemaError
from custlab.data.ids import NULL_MARKERS
from custlab.data.schema import TABLES, render_note, validate, validate_with_info


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
    raw = _tx().rename({"amount": "x1"}).with_columns(x1=pl.lit("n/a"))
    with pytest.raises(SchemaError, match=re.escape("Map yours with columns={'<your amount column>': 'amount'}.")):
        validate(raw)


def test_missing_column_suggested_from_its_content():
    # the name says nothing, but x1 is the one column of positive numbers
    raw = _tx().rename({"amount": "x1"})
    with pytest.raises(SchemaError, match=re.escape("Map yours with columns={'x1': 'amount'}.")):
        validate(raw)


def test_price_beside_a_quantity_is_suggested_as_unit_price_not_amount():
    # Online Retail II's layout: mapping Price onto amount read revenue 6.6 times too low
    raw = pl.DataFrame({"Invoice": ["1", "2"], "Quantity": [12, 3], "InvoiceDate": [dt.datetime(2024, 1, 1)] * 2,
                        "Price": [6.95, 2.5], "Customer ID": [1.0, 2.0]})
    expected = ("Map yours with columns={'Price': 'unit_price', 'Quantity': 'quantity', 'Customer ID': 'customer_id', "
                "'Invoice': 'order_id', 'InvoiceDate': 'order_date'}. The amount of each line is then quantity x "
                "unit_price.")
    with pytest.raises(SchemaError, match=re.escape(expected)):
        validate(raw)
    mapped = validate(raw, columns={"Price": "unit_price", "Quantity": "quantity", "Customer ID": "customer_id",
                                    "Invoice": "order_id", "InvoiceDate": "order_date"})
    assert mapped["amount"].to_list() == pytest.approx([83.4, 7.5])
    alone = raw.drop("Quantity")  # without a quantity each line is one item: its price is the amount
    with pytest.raises(SchemaError, match=re.escape("'Price': 'amount'")):
        validate(alone)


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
    with pytest.raises(ParseError, match=re.escape(
            "Column 'customer_id' is an id but holds 1 fractional or infinite number(s), e.g. [1.5].")):
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


def test_zone_aware_columns_keep_their_own_clock_by_default():
    stamps = pl.Series([dt.datetime(2024, 1, 5, 10)]).dt.replace_time_zone("UTC")
    out, info = validate_with_info(pl.DataFrame({"customer_id": [1], "order_id": [1], "order_date": stamps,
                                                 "amount": [1.0]}))
    assert out["order_date"].dtype == pl.Datetime("us")
    assert out["order_date"].to_list() == [dt.datetime(2024, 1, 5, 10)] and info.timezone == "UTC"


def test_pandas_frames_get_a_hint():
    pd = pytest.importorskip("pandas")
    with pytest.raises(TypeError, match=re.escape("Convert a pandas frame with polars.from_pandas(df).")):
        validate(pd.DataFrame({"a": [1]}))


def test_every_table_spec_has_its_required_columns_documented():
    import custlab.data.schema as schema

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


# --- dates: zones, two-digit years, numbers (issue 14) -------------------------------------------------------

def test_text_offsets_keep_the_datas_own_clock():
    out, info = validate_with_info(_tx(order_date=["2024-01-05T10:00:00+08:00", "2024-01-05 23:30:00+08:00",
                                                   "2024-01-06T08:00:00+0800"]))
    assert out["order_date"].to_list() == [dt.datetime(2024, 1, 5, 10), dt.datetime(2024, 1, 5, 23, 30),
                                           dt.datetime(2024, 1, 6, 8)]
    assert info.timezone == "+08:00"


def test_text_offsets_converted_to_a_named_zone():
    raw = _tx(order_date=["2024-01-05T10:00:00Z", "2024-07-05T10:00:00+01:00", "2024-07-05T23:30:00-04:00"])
    out, info = validate_with_info(raw, timezone="Asia/Shanghai")
    assert out["order_date"].to_list() == [dt.datetime(2024, 1, 5, 18), dt.datetime(2024, 7, 5, 17),
                                           dt.datetime(2024, 7, 6, 11, 30)]
    assert info.timezone == "Asia/Shanghai"
    assert validate(raw, timezone="-05:00")["order_date"].to_list()[0] == dt.datetime(2024, 1, 5, 5)


def test_several_offsets_need_a_zone():
    raw = _tx(order_date=["2024-01-05T10:00:00Z", "2024-07-05T10:00:00+01:00", "2024-07-06T10:00:00+01:00"])
    with pytest.raises(ParseError, match=re.escape(
        "Column 'order_date' holds times with 2 different UTC offsets (+01:00: 2, UTC: 1), as a zone with summer "
        "time does. Pass timezone= with the shop's zone (e.g. 'Europe/London') to read them as its clock times."
    )):
        validate(raw)
    assert validate(raw, timezone="Europe/London")["order_date"].dt.hour().to_list() == [10, 10, 10]


def test_offsets_on_some_times_only_are_refused():
    with pytest.raises(ParseError, match=re.escape(
        "Column 'order_date' has 1 time(s) with a UTC offset (e.g. ['2024-01-05T10:00:00+08:00']) and 2 without"
    )):
        validate(_tx(order_date=["2024-01-05T10:00:00+08:00", "2024-01-06 10:00:00", "2024-01-07"]))


def test_zone_aware_parquet_converted_to_the_zone_asked_for(tmp_path):
    stamps = pl.Series([dt.datetime(2024, 1, 5, 2), dt.datetime(2024, 1, 5, 15)]).dt.replace_time_zone("UTC")
    raw = pl.DataFrame({"customer_id": [1, 2], "order_id": [1, 2], "order_date": stamps, "amount": [1.0, 2.0]})
    out, info = validate_with_info(raw.lazy(), timezone="Asia/Shanghai")
    assert out.collect()["order_date"].dt.hour().to_list() == [10, 23] and info.timezone == "Asia/Shanghai"
    with pytest.raises(SchemaError, match=re.escape(
        "timezone='Mars/Olympus' is not a time zone; use a name such as 'Asia/Shanghai' or 'Europe/London', or an "
        "offset such as '+08:00'."
    )):
        validate(raw, timezone="Mars/Olympus")


def test_a_zone_for_naive_dates_is_noted_not_applied():
    out, info = validate_with_info(_tx(), timezone="Asia/Shanghai")
    assert out["order_date"].to_list()[0] == dt.datetime(2024, 1, 5) and info.timezone is None
    assert [render_note(n) for n in info.notes] == [
        "timezone='Asia/Shanghai' was given, but the dates carry no zone: they are kept as written."]


def test_rees46_busiest_hours_follow_the_zone_asked_for(rees46_file):
    from custlab.data.io import read_events

    mapping = {"user_id": "customer_id", "event_type": "event", "user_session": "session_id"}
    utc, info = read_events(rees46_file, columns=mapping, return_info=True)
    shanghai = read_events(rees46_file, columns=mapping, timezone="Asia/Shanghai")
    assert info.timezone == "UTC"
    assert utc["event_time"].dt.hour().unique().sort().to_list() == [0, 1, 2]
    assert shanghai["event_time"].dt.hour().unique().sort().to_list() == [8, 9, 10]
    assert (shanghai["event_time"] - utc["event_time"]).unique().to_list() == [dt.timedelta(hours=8)]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["13/01/11", "14/01/11 10:30", "15/02/11"], [dt.datetime(2011, 1, 13), dt.datetime(2011, 1, 14, 10, 30),
                                                      dt.datetime(2011, 2, 15)]),
        (["01/13/11", "02/14/99", "12/31/70"], [dt.datetime(2011, 1, 13), dt.datetime(2099, 2, 14),
                                                dt.datetime(2070, 12, 31)]),
        (["13.01.11", "14.01.11", "15.01.11"], [dt.datetime(2011, 1, d) for d in (13, 14, 15)]),
    ],
)
def test_two_digit_years_are_this_century(values, expected):
    assert validate(_tx(order_date=values))["order_date"].to_list() == expected


def test_ambiguous_two_digit_year_dates_suggest_a_format_that_gives_20xx():
    with pytest.raises(ParseError, match=re.escape(
        "Column 'order_date' holds dates such as ['01/02/11', '03/04/11'] that read as DD/MM/YY and as MM/DD/YY "
        "alike, so the days are ambiguous. Pass date_format= (e.g. '%d/%m/%y' or '%m/%d/%y')."
    )):
        validate(_tx(order_date=["01/02/11", "03/04/11", "05/06/11"]))
    out = validate(_tx(order_date=["01/02/11", "03/04/11", "05/06/11"]), date_format="%d/%m/%y")
    assert out["order_date"].to_list()[0] == dt.datetime(2011, 2, 1)


@pytest.mark.parametrize(
    ("values", "message", "date_format"),
    [
        ([40513.35, 40522.5, 40886.0], "holds numbers (40513.35 to 40886). They look like Excel serial day numbers "
         "(2010-12-01 to 2011-12-09): pass date_format='excel'.", "excel"),
        ([1291190400, 1291200000, 1323388800], "holds numbers (1291190400 to 1323388800). They look like Unix epoch "
         "seconds (2010-12-01 to 2011-12-09): pass date_format='epoch_s'.", "epoch_s"),
        ([1291190400000, 1291200000000, 1323388800000], "They look like Unix epoch milliseconds (2010-12-01 to "
         "2011-12-09): pass date_format='epoch_ms'.", "epoch_ms"),
        ([20101201, 20101202, 20111209], "They look like dates written as YYYYMMDD: pass date_format='%Y%m%d'.",
         "%Y%m%d"),
        (["40513.35", "40522.5", "40886"], "They look like Excel serial day numbers", "excel"),
    ],
)
def test_numbers_in_a_date_column_are_recognised(values, message, date_format):
    raw = _tx(order_date=values)
    with pytest.raises(ParseError, match=re.escape(message)):
        validate(raw)
    out = validate(raw, date_format=date_format)["order_date"].to_list()
    assert out[0].date() == dt.date(2010, 12, 1) and out[-1].date() == dt.date(2011, 12, 9)


def test_excel_serial_numbers_keep_the_time_of_day():
    out = validate(_tx(order_date=[40513.35, 40513.5, 40513.0]), date_format="excel")["order_date"].to_list()
    assert out == [dt.datetime(2010, 12, 1, 8, 24), dt.datetime(2010, 12, 1, 12), dt.datetime(2010, 12, 1)]


def test_a_weekday_number_is_never_a_date():
    with pytest.raises(ParseError, match=re.escape(
        "Column 'order_date' must hold dates but holds numbers (0 to 6). They do not look like dates (a weekday or "
        "month number, a count?): map the column that holds the dates with columns=."
    )):
        validate(_tx(order_date=[0, 3, 6]))


# --- ids, bands, column hints -------------------------------------------------------------------------------

def test_blank_ids_are_missing_and_float_text_ids_match_integers():
    out = validate(_tx(customer_id=["12345.0", "  ", " 77 "], order_id=["", "A2", "A3"]))
    assert out["customer_id"].to_list() == ["12345", None, "77"]
    assert out["order_id"].to_list() == [None, "A2", "A3"]
    with pytest.warns(CustlabWarning, match=re.escape("1 customer_id value(s) of the transactions table are words "
                                                      "for a missing value ('NaN': 1")):
        floats = validate(_tx(customer_id=[12345.0, float("nan"), None]))
    assert floats["customer_id"].to_list() == [12345, None, None]
    with pytest.raises(ParseError, match=re.escape("is an id but holds 1 fractional or infinite number(s), e.g. [inf]")):
        validate(_tx(customer_id=[1.0, float("inf"), 2.0]))


#: Text ids as pandas' astype(str) and database exports write a missing value (audit: "nan" became a customer).
_MARKED = ["12346", "nan", " NULL ", "None", "null", "N/A", "NaN", "#N/A", "12347.0", "", "<NA>", "na"]


@pytest.mark.parametrize("lazy", [False, True], ids=["DataFrame", "LazyFrame"])
def test_words_for_a_missing_value_are_missing_ids_and_said(lazy):
    raw = _tx(customer_id=_MARKED, order_id=["nan", *(f"A{i}" for i in range(len(_MARKED) - 1))],
              order_date=["2024-01-05"] * len(_MARKED), amount=[1.0] * len(_MARKED))
    with pytest.warns(CustlabWarning) as caught:
        out, info = validate_with_info(raw.lazy() if lazy else raw)
    out = out.collect() if lazy else out
    assert out["customer_id"].to_list() == ["12346"] + [None] * 7 + ["12347", None, None, None]
    assert out["order_id"].to_list()[:2] == [None, "A0"]
    assert sorted((c, v, n) for c, v, n in info.null_markers) == sorted(
        [("customer_id", v, 1) for v in ("nan", "NULL", "None", "null", "N/A", "NaN", "#N/A", "<NA>", "na")]
        + [("order_id", "nan", 1)])
    said = [str(w.message) for w in caught]
    assert len(said) == 2  # one per column
    assert said[0].startswith("9 customer_id value(s) of the transactions table are words for a missing value (")
    assert "('#N/A': 1, '<NA>': 1, 'N/A': 1, 'NULL': 1, 'NaN': 1, ...;" in said[0]  # five shown, the rest announced
    assert "read as missing (null), not as a customer_id. clean_transactions counts those lines under " \
           "missing_customer" in said[0]
    assert said[1].startswith("1 order_id value(s) of the transactions table are words for a missing value ('nan': 1;")
    assert all(w.filename == __file__ for w in caught)  # the warning points at the user's line


def test_missing_id_words_are_counted_by_cleaning():
    from custlab.data import clean_transactions

    raw = _tx(customer_id=["1", "nan", "None", "2"], order_id=["A1", "A2", "A3", "A4"],
              order_date=["2024-01-05"] * 4, amount=[1.0] * 4)
    with pytest.warns(CustlabWarning, match="2 customer_id value"):
        clean, report = clean_transactions(raw, rules=("missing_customer",))
    assert clean["customer_id"].to_list() == ["1", "2"]
    assert report.removed.filter(pl.col("reason") == "missing_customer")["rows"].to_list() == [2]


def test_ids_that_only_look_like_missing_words_are_kept():
    ids = ["nana", "n/a/b", "nan1", "NONE-7", "#NA2", "null_user", "-", "0"]
    raw = _tx(customer_id=ids, order_id=[str(i) for i in range(len(ids))], order_date=["2024-01-05"] * len(ids),
              amount=[1.0] * len(ids))
    with warnings.catch_warnings():
        warnings.simplefilter("error", CustlabWarning)
        out, info = validate_with_info(raw)
    assert out["customer_id"].to_list() == ids and info.null_markers == ()
    assert {"nan", "none", "null", "n/a", "#n/a", "<na>"} <= set(NULL_MARKERS)


def test_missing_id_words_in_files_are_read_and_said_alike(tmp_path):
    from custlab.data import read_transactions

    lines = ["customer_id,order_id,order_date,amount", "17850.0,1,2024-01-01,1", "nan,2,2024-01-02,2",
             "NULL,3,2024-01-03,3", "A7,4,2024-01-04,4"]
    (tmp_path / "tx.csv").write_text("\n".join(lines) + "\n")
    pl.read_csv(tmp_path / "tx.csv", infer_schema=False).write_parquet(tmp_path / "tx.parquet")
    for name, lazy in (("tx.csv", False), ("tx.csv", True), ("tx.parquet", True)):
        with pytest.warns(CustlabWarning, match=re.escape(f"{name}: 2 customer_id value(s) of the transactions table")):
            out, info = read_transactions(tmp_path / name, lazy=lazy, return_info=True)
        out = out.collect() if lazy else out
        assert out["customer_id"].to_list() == ["17850", None, None, "A7"]
        assert sorted(info.null_markers) == [("customer_id", "NULL", 1), ("customer_id", "nan", 1)]
        assert info.to_dict()["null_markers"][0]["rows"] == 1


def test_online_retail_through_pandas_astype_str_has_no_nan_customer(online_retail_file):
    # The audit: Online Retail read with pandas and astype(str) made "nan" the top RFM customer with 1.5M.
    import pandas as pd

    from custlab.data import clean_transactions
    from custlab.segments import rfm_table

    raw = pd.read_parquet(online_retail_file).astype({"CustomerID": str, "InvoiceNo": str})
    frame = pl.from_pandas(raw)
    assert frame["CustomerID"].value_counts().filter(pl.col("CustomerID") == "nan")["count"].to_list() == [135_080]
    columns = {"CustomerID": "customer_id", "InvoiceNo": "order_id", "InvoiceDate": "order_date",
               "Quantity": "quantity", "UnitPrice": "unit_price", "StockCode": "product_id"}
    with pytest.warns(CustlabWarning, match=re.escape("135,080 customer_id value(s) of the transactions table are "
                                                      "words for a missing value ('nan': 135,080;")):
        tx = validate(frame, columns=columns)
    clean, report = clean_transactions(tx, rules=("cancelled", "returned", "missing_customer"))
    assert report.removed.filter(pl.col("reason") == "missing_customer")["rows"].item() > 130_000
    top = rfm_table(clean).sort("monetary", descending=True)
    assert "nan" not in top["customer_id"].to_list()
    assert top["customer_id"].n_unique() == 4_339  # the README's customers: "12346.0" is "12346" again


def test_an_all_blank_id_column_is_empty():
    with pytest.raises(EmptyDataError, match=re.escape("Column 'customer_id' of the transactions table is entirely null")):
        validate(_tx(customer_id=[" ", "", "   "]))


@pytest.mark.parametrize(
    ("column", "values", "order"),
    [
        ("age", ["45-54", "65+", "<25", None, "25-34", " "], ["<25", "25-34", "45-54", "65+"]),
        ("income", ["20k-40k", "<20k", "100k+", "40k-60k", "20k-40k", "<20k"], ["<20k", "20k-40k", "40k-60k", "100k+"]),
        ("household_size", ["1", "2", "3-4", "5+", "2", "1"], ["1", "2", "3-4", "5+"]),
        ("age", ["25岁以下", "25-34", "55岁以上", "35-44", "25-34", "35-44"], None),
    ],
)
def test_bands_are_kept_as_ordered_bands(column, values, order):
    customers = pl.DataFrame({"customer_id": list(range(len(values))), column: values})
    if order is None:
        with pytest.raises(ParseError, match=re.escape(f"Column '{column}' has 2 value(s) that are neither numbers nor bands")):
            validate(customers, "customers")
        return
    out = validate(customers, "customers")[column]
    assert out.dtype == pl.Enum(order)
    assert out.to_list() == [v.strip() or None if v else None for v in values]


def test_numeric_ages_stay_numbers():
    out = validate(pl.DataFrame({"customer_id": [1, 2], "age": ["31", " 45 "]}), "customers")
    assert out["age"].to_list() == [31.0, 45.0]


def test_ta_feng_age_groups_sort_in_age_order(ta_feng_file):
    customers = pl.read_parquet(ta_feng_file).select(customer_id="CUSTOMER_ID", age="AGE_GROUP").unique("customer_id")
    out = validate(customers, "customers")
    assert out["age"].dtype.categories.to_list() == ["<25", "25-29", "30-34", "35-39", "40-44", "45-49", "50-54",
                                                     "55-59", "60-64", ">65"]
    assert out["age"].null_count() == 626 and out.height == 32_266


def test_hints_never_map_a_store_id_to_an_order_or_a_weekday_to_a_date():
    raw = pl.DataFrame({
        "store_id": [1, 2, 3] * 10, "weekday": [0, 1, 2, 3, 4, 5] * 5, "customer": list(range(30)),
        "Zeitpunkt": [dt.datetime(2024, 1, 1 + i % 20) for i in range(30)], "value": [1.5] * 30,
    })
    with pytest.raises(SchemaError, match=re.escape(
        "Map yours with columns={'customer': 'customer_id', '<your order_id column>': 'order_id', "
        "'Zeitpunkt': 'order_date', 'value': 'amount'}."
    )):
        validate(raw)


def test_text_dates_are_suggested_by_content():
    raw = _tx().rename({"order_date": "when"})
    with pytest.raises(SchemaError, match=re.escape("Map yours with columns={'when': 'order_date'}.")):
        validate(raw)


def test_mappings_that_would_collide():
    with pytest.raises(SchemaError, match=re.escape(
        "columns= maps ['a', 'b'] onto the same column(s) ['product_id']; map one column onto each."
    )):
        validate(_tx(a=["x"] * 3, b=["y"] * 3), columns={"a": "product_id", "b": "product_id"})
    # A column named already as its target, kept by an identity entry, and another column mapped onto it (audit:
    # cid2 silently replaced customer_id, which moved to customer_id_original).
    for columns in ({"customer_id": "customer_id", "cid2": "customer_id"},
                    {"cid2": "customer_id", "customer_id": "customer_id"}):
        with pytest.raises(SchemaError, match=re.escape(
            "columns= maps ['cid2', 'customer_id'] onto the same column(s) ['customer_id']; map one column onto each. "
            "Leave out 'customer_id': 'customer_id' to use 'cid2' (the table's own customer_id is then kept as "
            "'customer_id_original'), or leave out 'cid2' to keep customer_id."
        )):
            validate(_tx(cid2=[7, 8, 9]), columns=columns)
    assert validate(_tx(cid2=[7, 8, 9]), columns={"customer_id": "customer_id"})["customer_id"].to_list() == [1, 2, 3]
    out, info = validate_with_info(_tx(gross=[1.0, 2.0, 3.0]), columns={"gross": "amount"})
    assert out["amount"].to_list() == [1.0, 2.0, 3.0] and out["amount_original"].to_list() == [10.0, 20.0, 30.0]
    assert [render_note(n) for n in info.notes] == [
        "Column 'amount' is kept as 'amount_original', as columns= maps 'gross' onto amount."]
    with pytest.raises(SchemaError, match=re.escape(
        "columns= maps onto ['amount'], which the transactions table already has, and ['amount_original'] are taken"
    )):
        validate(_tx(gross=[1.0, 2.0, 3.0], amount_original=[0.0] * 3), columns={"gross": "amount"})


@pytest.mark.parametrize("ids", [
    ["1", "2"], ["1.0", "2"], ["", "2"], [" 1", "2"], ["1\t", "2"], [" 12.0", "7", "", "  ", "a.b", "3.00", None],
    ["A-1", "b.2", "-3.000", "+4.0", "5.01", "\u30006\u3000"], [None, "9"],
])
def test_text_ids_are_normalised_the_same_in_memory_and_lazily_and_once_only(ids):
    # In memory only the steps that change a value are applied (a scan decides); lazily all of them.
    raw = pl.DataFrame({"customer_id": ids, "order_id": [f"o{i}" for i in range(len(ids))],
                        "order_date": ["2024-01-01"] * len(ids), "amount": [1.0] * len(ids)},
                       schema_overrides={"customer_id": pl.String})
    eager = validate(raw, "transactions")
    lazy = validate(raw.lazy(), "transactions").collect()
    assert eager["customer_id"].to_list() == lazy["customer_id"].to_list()
    assert validate(eager, "transactions").equals(eager)  # a validated frame passes unchanged
    expected = [None if v is None or not v.strip() else
                (v.strip().split(".")[0] if re.fullmatch(r"[+-]?\d+\.0+", v.strip()) else v.strip()) for v in ids]
    assert eager["customer_id"].to_list() == expected
