"""Readers: CSV, Parquet and Excel, renamed once at the border."""

from __future__ import annotations

import datetime as dt
import re

import polars as pl
import pytest

from custlab.data.io import read_events, read_table, read_transactions
from custlab.exceptions import CustlabError, ParseError, SchemaError

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


# --- encodings, separators, decimal commas (issue 14, reading) ---------------------------------------------------

ZH_TEXT = "客户编号,订单号,下单时间,金额,商品名称\n" + "".join(
    f"{i},A{i},2024-01-{1 + i % 9:02d} 10:00,{i}.5,绿茶饮料{i}号\n" for i in range(30)
)
TW_TEXT = "客戶編號,訂單號,下單時間,金額,商品名稱\n" + "".join(
    f"{i},A{i},2024-01-{1 + i % 9:02d} 10:00,{i}.5,綠茶飲料{i}號\n" for i in range(30)
)
LATIN_TEXT = "Kunde;Beleg;Datum;Umsatz;Produkt\n" + "".join(
    f"{i};B{i};2024-02-{1 + i % 9:02d};{i},5;Piñata café Größe {i}\n" for i in range(30)
)
ZH_MAPPING = {"客户编号": "customer_id", "订单号": "order_id", "下单时间": "order_date", "金额": "amount",
              "商品名称": "product_name"}


@pytest.mark.parametrize(
    ("text", "encoding", "detected"),
    [
        (ZH_TEXT, "utf-8", "utf-8"),
        (ZH_TEXT, "utf-8-sig", "utf-8-sig"),
        (ZH_TEXT, "gbk", "gb18030"),
        (ZH_TEXT, "gb18030", "gb18030"),
        (TW_TEXT, "big5", "big5"),
        (LATIN_TEXT, "latin-1", "cp1252"),
        (LATIN_TEXT, "cp1252", "cp1252"),
    ],
)
def test_encodings_are_detected(tmp_path, text, encoding, detected):
    path = tmp_path / "orders.csv"
    path.write_bytes(text.encode(encoding))
    frame, info = read_table(path, "customers", columns={text.split(",")[0].split(";")[0]: "customer_id"},
                             return_info=True)
    assert info.encoding == detected
    original = pl.read_csv(text.encode("utf-8"), separator=info.separator, infer_schema=False)
    last = original.columns[-1]
    assert frame[last].to_list() == original[last].to_list()  # every character read back as written
    assert frame.height == 30


def test_gbk_file_with_chinese_columns_gets_a_chinese_mapping(tmp_path):
    path = tmp_path / "订单.csv"
    path.write_bytes(ZH_TEXT.encode("gbk"))
    with pytest.raises(SchemaError, match=re.escape(
        "订单.csv: The transactions table is missing required column(s) ['customer_id', 'order_id', 'order_date', "
        "'amount']. Columns present: ['客户编号', '订单号', '下单时间', '金额', '商品名称']. Map yours with "
        "columns={'客户编号': 'customer_id', '订单号': 'order_id', '下单时间': 'order_date', '金额': 'amount'}."
    )):
        read_transactions(path)
    out = read_transactions(path, columns=ZH_MAPPING)
    assert out["product_name"][0] == "绿茶饮料0号" and out["amount"].sum() == pytest.approx(450.0)


def test_an_encoding_argument_that_does_not_fit_says_where(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(ZH_TEXT.encode("gbk"))
    with pytest.raises(ParseError, match=re.escape(
        "orders.csv cannot be read as utf-8: byte b'\\xbf' on line 1 is not valid there. Pass encoding="
    )):
        read_transactions(path, columns=ZH_MAPPING, encoding="utf-8")
    with pytest.raises(SchemaError, match=re.escape("encoding='klingon' is not an encoding Python knows")):
        read_transactions(path, encoding="klingon")


def test_non_utf8_text_only_far_down_the_file_is_found(tmp_path):
    path = tmp_path / "orders.csv"
    head = "customer_id,order_id,order_date,amount,product_name\n"
    body = "".join(f"{i},{i},2024-01-01,1.0,plain\n" for i in range(40_000))
    path.write_bytes((head + body + "7,7,2024-01-02,2.0,Crème brûlée\n").encode("cp1252"))
    frame, info = read_transactions(path, return_info=True)
    assert info.encoding == "cp1252" and frame["product_name"][-1] == "Crème brûlée"


@pytest.mark.parametrize("separator", [";", "\t", "|"])
def test_separators_and_decimal_commas_are_sniffed(tmp_path, separator):
    rows = [["Kunde", "Beleg", "Datum", "Umsatz"]] + [[str(i), f"B{i}", "2024-02-01", f"1.{i:03d},5"] for i in range(12)]
    path = tmp_path / "orders.csv"
    path.write_text("\n".join(separator.join(r) for r in rows) + "\n", encoding="utf-8")
    frame, info = read_transactions(path, columns={"Kunde": "customer_id", "Beleg": "order_id", "Datum": "order_date",
                                                   "Umsatz": "amount"}, return_info=True)
    assert (info.separator, info.decimal_comma) == (separator, True)
    assert frame["amount"].to_list()[:2] == [1000.5, 1001.5]


def test_quoted_decimal_commas_in_a_comma_file(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text('cid,oid,ts,amt\n1,1,2024-01-01,"12,5"\n2,2,2024-01-02,"3,25"\n', encoding="utf-8")
    mapping = {"cid": "customer_id", "oid": "order_id", "ts": "order_date", "amt": "amount"}
    with pytest.raises(ParseError, match=re.escape(
        "Column 'amount' has 2 value(s) that cannot be read as numbers, e.g. ['12,5', '3,25']. They look like "
        "decimal commas: read the file with decimal_comma=True (--decimal-comma)."
    )):
        read_transactions(path, columns=mapping)
    assert read_transactions(path, columns=mapping, decimal_comma=True)["amount"].to_list() == [12.5, 3.25]


def test_a_wrong_separator_argument_reads_a_single_column(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("a;b;c;d\n1;2;3;4\n", encoding="utf-8")
    with pytest.raises(SchemaError, match=re.escape(
        "orders.csv has a single column ('a;b;c;d'): it is not a transactions table, or its fields are separated "
        "by a character other than , ; tab |: pass separator=."
    )):
        read_transactions(path, separator=",")


# --- files that are not tables: one clear line each -------------------------------------------------------------

@pytest.mark.parametrize(
    ("name", "content", "error", "message"),
    [
        ("empty.csv", b"", "EmptyDataError", "empty.csv is empty (0 bytes): there is no table to read."),
        ("blank.csv", b"\n  \n", "EmptyDataError", "blank.csv is empty (4 bytes): there is no table to read."),
        ("header.csv", b"customer_id,order_id,order_date,amount\n", "EmptyDataError",
         "header.csv has a header (customer_id, order_id, order_date, amount) but no data rows."),
        ("notes.csv", "Dear team,\nplease find the orders attached.\nBest, Li Wei\n".encode(), "SchemaError",
         "notes.csv does not look like a table: no separator (',', ';', tab, '|') splits its first lines into the "
         "same number of fields. Pass separator= if it uses another character."),
        ("ids.csv", b"customer\n1\n2\n", "SchemaError",
         "ids.csv has a single column ('customer'): it is not a transactions table, or its fields are separated "
         "by a character other than , ; tab |: pass separator=."),
        ("photo.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "SchemaError",
         "photo.csv is not a text table but a PNG image; save it as CSV, or give it its proper extension (.xlsx, "
         ".parquet) so custlab reads it as such."),
        ("book.csv", b"PK\x03\x04" + bytes(64), "SchemaError",
         "book.csv is not a text table but a zip archive or an Excel workbook (.xlsx); save it as CSV"),
        ("fake.parquet", b"customer_id,amount\n1,2\n", "SchemaError",
         "fake.parquet is not a Parquet file (it does not start with the Parquet marker); check the file or its "
         "extension."),
        ("ragged.csv", b"a,b,c\n" + b"1,2,3\n" * 10 + b"4,5,6,7,8\n", "ParseError",
         "ragged.csv cannot be read as a ','-separated table: line 12 has 5 fields, the header 3. Check separator="),
    ],
)
def test_files_that_are_not_tables_get_one_clear_line(tmp_path, name, content, error, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(CustlabError) as caught:
        read_transactions(path)
    assert type(caught.value).__name__ == error
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


# --- Excel workbooks: every sheet with the same header --------------------------------------------------------

def _write_sheet(book, name: str, frame: pl.DataFrame) -> None:
    """A sheet as Excel writes the UCI workbook: numeric invoices as numbers, cancellations ("C...") as text."""
    sheet = book.add_worksheet(name)
    stamp = book.add_format({"num_format": "m/d/yyyy h:mm"})
    sheet.write_row(0, 0, frame.columns)
    for r, row in enumerate(frame.iter_rows(), start=1):
        for c, value in enumerate(row):
            if isinstance(value, str) and c == 0 and value.isdigit():
                value = int(value)
            if isinstance(value, dt.datetime):
                sheet.write_datetime(r, c, value, stamp)
            elif value is not None:
                sheet.write(r, c, value)


@pytest.fixture(scope="module")
def two_sheet_workbook(online_retail_ii_file, online_retail_file, tmp_path_factory):
    """Online Retail II as a two-sheet workbook: 330 lines of sheet "Year 2009-2010" (the shared file) and 343
    lines from 2010-12-10 on (Online Retail, in II spellings) as "Year 2010-2011", plus a notes sheet."""
    xlsxwriter = pytest.importorskip("xlsxwriter")
    first = pl.read_parquet(online_retail_ii_file).drop("sheet")
    first = first.head(300).vstack(first.filter(pl.col("Invoice").str.starts_with("C")).head(30))
    second = (pl.read_parquet(online_retail_file).filter(pl.col("InvoiceDate") >= dt.datetime(2010, 12, 10)).head(343)
              .rename({"InvoiceNo": "Invoice", "UnitPrice": "Price", "CustomerID": "Customer ID"}))
    path = tmp_path_factory.mktemp("excel") / "online_retail_II.xlsx"
    with xlsxwriter.Workbook(path) as book:
        _write_sheet(book, "Year 2009-2010", first)
        _write_sheet(book, "Year 2010-2011", second)
        _write_sheet(book, "Notes", pl.DataFrame({"note": ["exported by the shop"]}))
    return path, first, second


def test_every_sheet_with_the_same_header_is_read(two_sheet_workbook):
    from custlab.data.datasets import load_online_retail

    path, first, second = two_sheet_workbook
    tx, info = load_online_retail(path, return_info=True)
    assert tx.height == 673 == first.height + second.height
    assert info.sheets == (("Year 2009-2010", 330), ("Year 2010-2011", 343))
    assert info.skipped_sheets == (("Notes", "columns_differ"),)
    assert info.sentences()[:2] == [
        "Read online_retail_II.xlsx (673 rows): sheet(s) 'Year 2009-2010' (330 rows), 'Year 2010-2011' (343 rows).",
        "Sheet 'Notes' was not read: its columns differ from those of sheet 'Year 2009-2010'; read it with "
        "sheet='Notes'.",
    ]
    # numbers and "C..." text in one invoice column: no cancellation lost, every amount kept
    cancellations = pl.concat([first, second])["Invoice"].str.starts_with("C").sum()
    assert tx["order_id"].str.starts_with("C").sum() == cancellations == 53
    expected = pl.concat([first, second]).select((pl.col("Quantity") * pl.col("Price")).sum()).item()
    assert tx["amount"].sum() == pytest.approx(expected)
    assert tx["order_date"].max() == second["InvoiceDate"].max()


def test_one_sheet_by_name_or_number(two_sheet_workbook):
    from custlab.data.datasets import load_online_retail

    path, _, second = two_sheet_workbook
    tx, info = load_online_retail(path, sheet="Year 2010-2011", return_info=True)
    assert tx.height == 343 and info.skipped_sheets == (("Year 2009-2010", "not_asked"), ("Notes", "not_asked"))
    assert load_online_retail(path, sheet=1).height == 330
    with pytest.raises(SchemaError, match=re.escape(
        "sheet='2011' is not in online_retail_II.xlsx; its sheets are ['Year 2009-2010', 'Year 2010-2011', 'Notes']."
    )):
        load_online_retail(path, sheet="2011")


def test_read_info_speaks_chinese(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(ZH_TEXT.encode("gbk"))
    _, info = read_transactions(path, columns=ZH_MAPPING, return_info=True)
    assert info.sentences("zh") == ["已读取 orders.csv（30 行）：文本编码 gb18030，逗号分隔。"]
    assert info.to_dict()["encoding"] == "gb18030"


def test_zero_padded_ids_stay_text(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text('"CUSTOMER_ID","TRANSACTION_DT","SALES_PRICE","PRODUCT_ID"\n'
                    '"01104905","11/13/2000","57","4710199010372"\n"00418683","11/1/2000","45","4710857472535"\n',
                    encoding="utf-8-sig")
    out = read_transactions(path, columns={"CUSTOMER_ID": "customer_id", "TRANSACTION_DT": "order_date",
                                           "SALES_PRICE": "amount", "PRODUCT_ID": "order_id"})
    assert out["customer_id"].to_list() == ["01104905", "00418683"] and out["order_id"].dtype == pl.Int64
