"""Fuzzing the border: messy files in, a clean table or a clear CustlabError out, and no row lost.

Each example writes a transactions file as a shop's export might look:
random encoding and separator, decimal commas, blank and whitespace ids,
float-looking ids, nulls, infinities, NaN, absurd amounts, text dates in one
of several formats (some with UTC offsets), reordered columns and a repeated
header name. Reading and cleaning it must either raise a subclass of
:class:`CustlabError` or account for every row written:
rows written = rows read = kept + removed by reason.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from custlab.data.clean import clean_transactions
from custlab.data.io import read_transactions
from custlab.exceptions import CustlabError

ENCODINGS = ("utf-8", "utf-8-sig", "gb18030", "big5", "cp1252")
SEPARATORS = (",", ";", "\t", "|")
#: Product names each encoding can write.
NAMES = {
    "utf-8": ("绿茶", "Crème", "plain", "綠茶"), "utf-8-sig": ("绿茶", "Größe", "plain"),
    "gb18030": ("绿茶", "饮料", "plain"), "big5": ("綠茶", "飲料", "plain"), "cp1252": ("Crème", "Größe", "plain"),
}
DATE_STYLES = {
    "iso": lambda d: d.strftime("%Y-%m-%d %H:%M:%S"),
    "day-first": lambda d: d.strftime("%d/%m/%Y %H:%M"),
    "two-digit": lambda d: d.strftime("%d/%m/%y"),
    "offset": lambda d: d.strftime("%Y-%m-%dT%H:%M:%S+08:00"),
    "zulu": lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ"),
}
ID_TEXT = st.one_of(st.none(), st.just(""), st.just("   "), st.integers(1, 50).map(str),
                    st.integers(1, 50).map(lambda i: f"{i}.0"), st.integers(1, 50).map(lambda i: f" {i} "))
AMOUNT = st.one_of(st.none(), st.just(""), st.sampled_from(["inf", "-inf", "NaN", "1e15"]),
                   st.floats(-500, 500, allow_nan=False).map(lambda x: round(x, 2)))
ROW = st.tuples(ID_TEXT, st.integers(1, 30), st.integers(0, 400), AMOUNT, st.integers(-3, 5),
                st.sampled_from(["A", "B", "POST", " C "]), st.integers(0, 2))


@st.composite
def messy_file(draw):
    encoding = draw(st.sampled_from(ENCODINGS))
    separator = draw(st.sampled_from(SEPARATORS))
    decimal_comma = separator != "," and draw(st.booleans())
    style = draw(st.sampled_from(sorted(DATE_STYLES)))
    rows = draw(st.lists(ROW, min_size=1, max_size=40))
    start = dt.datetime(2023, 1, 1, 9, 30)

    def amount(value):
        if isinstance(value, float) and decimal_comma:
            return str(value).replace(".", ",")
        return None if value is None else str(value)

    frame = pl.DataFrame(
        {
            "Kunde": [r[0] for r in rows],
            "Beleg": [("C" if r[4] < 0 else "") + str(r[1]) for r in rows],
            "Datum": [None if r[2] == 0 else DATE_STYLES[style](start + dt.timedelta(hours=13 * r[2])) for r in rows],
            "Umsatz": [amount(r[3]) for r in rows],
            "Menge": [str(r[4]) for r in rows],
            "Artikel": [r[5] for r in rows],
            "Name": [NAMES[encoding][r[6] % len(NAMES[encoding])] for r in rows],
        },
        schema=dict.fromkeys(["Kunde", "Beleg", "Datum", "Umsatz", "Menge", "Artikel", "Name"], pl.String),
    )
    order = draw(st.permutations(frame.columns))
    text = frame.select(order).write_csv(separator=separator)
    if draw(st.booleans()):  # a header that repeats a column name, as spreadsheets allow
        lines = text.split("\n")
        extra = draw(st.sampled_from(order))
        lines[0] += separator + extra
        lines[1:] = [line + separator + "x" if line else line for line in lines[1:]]
        text = "\n".join(lines)
    return text.encode(encoding), len(rows), decimal_comma


MAPPING = {"Kunde": "customer_id", "Beleg": "order_id", "Datum": "order_date", "Umsatz": "amount",
           "Menge": "quantity", "Artikel": "product_id", "Name": "product_name"}


@settings(max_examples=60, deadline=None)
@given(messy_file())
def test_messy_files_never_lose_a_row_or_raise_a_traceback(tmp_path_factory, example):
    data, rows, _ = example
    path = tmp_path_factory.mktemp("messy") / "orders.csv"
    path.write_bytes(data)
    try:
        frame, info = read_transactions(path, columns=MAPPING, return_info=True)
        clean, report = clean_transactions(frame, source=info)
    except CustlabError as error:  # a clear message is a fine outcome; anything else is a bug
        assert str(error) and "Traceback" not in str(error)
        return
    assert info.rows == frame.height == rows
    assert report.rows_in == rows and report.reconciles
    assert clean.height + report.removed_rows.height == rows
    assert report.removed["amount"].is_finite().all()
    assert clean["amount"].is_finite().all() if clean.height else True


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(ID_TEXT, st.sampled_from(["2024-01-05", "2024-01-06 10:00", "", None]), AMOUNT),
                min_size=1, max_size=30),
       st.permutations(["customer_id", "order_id", "order_date", "amount"]))
def test_messy_frames_never_lose_a_row(rows, order):
    frame = pl.DataFrame(
        {"customer_id": [r[0] for r in rows], "order_id": [str(i % 5) for i in range(len(rows))],
         "order_date": [r[1] for r in rows], "amount": [None if r[2] is None else str(r[2]) for r in rows]},
        schema=dict.fromkeys(["customer_id", "order_id", "order_date", "amount"], pl.String),
    ).select(order)
    for data in (frame, frame.lazy()):
        try:
            clean, report = clean_transactions(data)
        except CustlabError:
            continue
        kept = clean.collect() if isinstance(clean, pl.LazyFrame) else clean
        assert report.rows_in == len(rows) == kept.height + report.rows_removed and report.reconciles


def test_numbers_with_commas_between_thousands_are_read_and_noted(tmp_path):
    """'1,234.50' beside '12.00' (a US or UK spreadsheet's export) is 1234.5, said in the reading notes; '12,5' alone
    stays a question of decimal commas, and '1,234' with no decimal point anywhere is refused with the fix."""
    import pytest

    from custlab.exceptions import ParseError

    path = tmp_path / "us.csv"
    path.write_text('cust,order,date,amount\n1,A1,2024-01-05,"1,234.50"\n2,A2,2024-01-06,"12.00"\n'
                    '3,A3,2024-01-07,"12,000"\n')
    columns = {"cust": "customer_id", "order": "order_id", "date": "order_date"}
    tx, info = read_transactions(path, columns=columns, return_info=True)
    assert tx["amount"].to_list() == [1234.5, 12.0, 12000.0]
    assert ("Column 'amount' wrote 2 value(s) with commas between thousands (e.g. 1,234.50); they were read without "
            "the commas.") in info.sentences("en")
    path.write_text('cust,order,date,amount\n1,A1,2024-01-05,"1,234"\n2,A2,2024-01-06,"12"\n')
    with pytest.raises(ParseError, match=r"Nothing says whether they have commas between thousands \(1,234.50\): "
                                         r"write them without the commas .*; or decimal commas: read the file with "
                                         r"decimal_comma=True"):
        read_transactions(path, columns=columns)
