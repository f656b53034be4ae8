"""Built-in data: CDNOW from lifetimes, Online Retail from ../shared/data, and load_tables."""

from __future__ import annotations

import re

import polars as pl
import pytest

from custlab.data.datasets import load_cdnow, load_online_retail, load_tables
from custlab.data.hints import check_column_mapping
from custlab.data.schema import render_note
from custlab.exceptions import CustlabError, SchemaError


def test_cdnow_master_and_sample():
    master = load_cdnow("master")
    assert master.height == 69_659
    assert master["customer_id"].n_unique() == 23_570
    assert master["order_date"].min().isoformat() == "1997-01-01T00:00:00"
    assert master["order_date"].max().isoformat() == "1998-06-30T00:00:00"
    sample = load_cdnow("sample")
    assert sample.height == 6_919 and sample["customer_id"].n_unique() == 2_357
    # every sample line is a master line of the same customer
    joined = sample.join(master, left_on=["master_id", "order_date", "amount"],
                         right_on=["customer_id", "order_date", "amount"], how="semi")
    assert joined.height == sample.height


def test_cdnow_summary_is_the_published_one():
    summary = load_cdnow("summary")
    assert summary.height == 2_357
    first = summary.row(0, named=True)
    assert (first["frequency"], first["recency"], first["T"], first["monetary_value"]) == (2.0, 30.43, 38.86, 22.35)
    assert summary.filter(pl.col("frequency") > 0).height == 946


def test_cdnow_bad_part():
    with pytest.raises(ValueError, match="part must be 'master', 'sample' or 'summary', got 'full'"):
        load_cdnow("full")


def test_online_retail_layouts(online_retail_file, tmp_path):
    tx = load_online_retail(online_retail_file)
    assert tx.height == 541_909
    assert tx.columns[:4] == ["customer_id", "order_id", "order_date", "amount"]
    # Online Retail II spelling, as CSV
    head = pl.read_parquet(online_retail_file).head(500).rename(
        {"InvoiceNo": "Invoice", "UnitPrice": "Price", "CustomerID": "Customer ID"}
    )
    head.write_csv(tmp_path / "retail_ii.csv")
    two = load_online_retail(tmp_path / "retail_ii.csv")
    assert two.select("order_id", "amount").equals(tx.head(500).select("order_id", "amount"))


def test_online_retail_rejects_other_files(tmp_path):
    pl.DataFrame({"a": [1]}).write_csv(tmp_path / "x.csv")
    with pytest.raises(ValueError, match="does not look like Online Retail"):
        load_online_retail(tmp_path / "x.csv")


def test_load_tables_from_a_file_and_a_folder(online_retail_file, tmp_path):
    tables = load_tables(online_retail_file)
    assert tables["transactions"].height == 541_909 and tables["events"] is None
    folder = tmp_path / "shop"
    folder.mkdir()
    pl.DataFrame({"cid": [1, 2], "oid": [1, 2], "when": ["2024-01-01", "2024-01-02"], "value": [3.0, 4.0]}).write_csv(
        folder / "transactions.csv"
    )
    pl.DataFrame({"cid": [1, 2], "age": [31, 45]}).write_parquet(folder / "customers.parquet")
    out = load_tables(folder, columns={"cid": "customer_id", "oid": "order_id", "when": "order_date", "value": "amount"})
    assert out["transactions"]["amount"].sum() == 7.0
    assert out["customers"]["age"].to_list() == [31.0, 45.0]
    assert out["reviews"] is None


def test_shared_data_dir_only_from_an_argument_or_the_environment(monkeypatch, tmp_path):
    from custlab.data.datasets import online_retail_path, shared_data_dir
    from custlab.exceptions import CustlabError

    monkeypatch.delenv("CUSTLAB_DATA", raising=False)
    with pytest.raises(CustlabError, match=re.escape(
        "No folder of shared datasets: set the environment variable CUSTLAB_DATA (e.g. export "
        "CUSTLAB_DATA=../shared/data) or pass shared_data_dir(path)."
    )):
        shared_data_dir()
    assert shared_data_dir(tmp_path) == tmp_path
    monkeypatch.setenv("CUSTLAB_DATA", str(tmp_path))
    assert online_retail_path() == tmp_path / "online_retail" / "online_retail.parquet"


def _folder(tmp_path):
    folder = tmp_path / "shop"
    folder.mkdir()
    pl.DataFrame({"cid": [12345, 12346], "oid": [1, 2], "when": ["2024-01-01", "2024-01-02"],
                  "value": [3.0, 4.0]}).write_csv(folder / "transactions.csv")
    # pandas-style export: ids as floats written as text, and a blank id
    (folder / "customers.csv").write_text("cid,age\n12345.0,45-54\n12346.0,65+\n ,<25\n", encoding="utf-8")
    return folder


def test_a_folder_mapping_may_name_any_tables_column_but_no_unknown_one(tmp_path):
    folder = _folder(tmp_path)
    mapping = {"cid": "customer_id", "oid": "order_id", "when": "order_date", "value": "amount"}
    tables, infos = load_tables(folder, columns=mapping, return_info=True)
    # integer ids of the transactions meet the customers' text ids ("12345.0" read as "12345")
    joined = tables["transactions"].join(tables["customers"], on="customer_id")
    assert joined["age"].to_list() == ["45-54", "65+"]
    assert tables["customers"]["customer_id"].to_list() == ["12345", "12346", None]
    assert [render_note(n) for n in infos["transactions"].notes] == [
        "customer_id of the transactions table: integer ids read as text, to match the text ids of the customers "
        "table."]
    with pytest.raises(SchemaError, match=re.escape(
        "columns= names 'wehn', which is in none of the tables read (transactions: cid, oid, when, value; "
        "customers: cid, age). Did you mean 'when'?"
    )):
        load_tables(folder, columns={**mapping, "wehn": "order_date"})
    with pytest.raises(SchemaError, match=re.escape(
        "columns= maps 'age' onto 'order_date', which is not a column of the customers table(s) that hold 'age'."
    )):
        check_column_mapping({"age": "order_date"}, {"transactions": tables["transactions"], "customers": ["cid", "age"]})


def test_load_tables_reports_what_it_read(online_retail_file):
    tables, infos = load_tables(online_retail_file, return_info=True)
    assert tables["transactions"].height == 541_909
    assert infos["transactions"].format == "parquet" and infos["transactions"].rows == 541_909


def test_olist_folder_maps_the_unique_customer_onto_customer_id(olist_dir, tmp_path):
    items = pl.read_parquet(olist_dir / "olist_order_items_dataset.parquet")
    orders = pl.read_parquet(olist_dir / "olist_orders_dataset_partial.parquet")
    customers = pl.read_parquet(olist_dir / "olist_customers_dataset.parquet")
    folder = tmp_path / "olist"
    folder.mkdir()
    items.join(orders, on="order_id").join(customers, on="customer_id").write_csv(folder / "transactions.csv")
    customers.write_csv(folder / "customers.csv")
    with pytest.raises(SchemaError, match=re.escape(
        "Map yours with columns={'order_purchase_timestamp': 'order_date', 'price': 'amount'}.")):
        load_tables(folder)
    mapping = {"customer_unique_id": "customer_id", "order_purchase_timestamp": "order_date", "price": "amount"}
    tables, infos = load_tables(folder, columns=mapping, return_info=True)
    tx = tables["transactions"]
    assert tx.height == 10_807 and tx["amount"].sum() == pytest.approx(items.join(orders, on="order_id")["price"].sum())
    assert "customer_id_original" in tx.columns and tables["customers"]["customer_id"].n_unique() == 96_096
    assert render_note(infos["transactions"].notes[0]) == (
        "Column 'customer_id' is kept as 'customer_id_original', as columns= maps 'customer_unique_id' onto "
        "customer_id.")


def test_a_folder_with_campaigns_and_touches_and_the_shops_extras(tmp_path):
    shop = load_tables(n_customers=300, seed=1, extras=True)
    assert {"campaigns", "touches", "orders", "surveys"} <= {k for k, v in shop.items() if v is not None}
    plain = load_tables(n_customers=300, seed=1)  # the default shop keeps its five tables; the others are None
    assert plain["campaigns"] is None and plain["surveys"] is None and plain["reviews"] is not None
    folder = tmp_path / "shop"
    folder.mkdir()
    for name in ("transactions", "campaigns", "touches"):
        shop[name].write_parquet(folder / f"{name}.parquet")
    out = load_tables(folder)
    assert out["campaigns"].height == shop["campaigns"].height and out["touches"].height == shop["touches"].height
    assert out["customers"] is None and out["surveys"] is None and out["referrals"] is None


def test_a_review_set_without_orders(tmp_path):
    """``require="reviews"``: a folder (or a file) of reviews alone; every other table is None."""
    shop = load_tables(n_customers=300, seed=1)
    folder = tmp_path / "reviews_only"
    folder.mkdir()
    shop["reviews"].write_parquet(folder / "reviews.parquet")
    with pytest.raises(FileNotFoundError, match="no transactions file"):
        load_tables(folder)
    out = load_tables(folder, require="reviews")
    assert out["reviews"].height == shop["reviews"].height and out["transactions"] is None and out["orders"] is None
    alone = load_tables(folder / "reviews.parquet", require="reviews")
    assert alone["reviews"].equals(out["reviews"]) and alone["transactions"] is None
    with pytest.raises(CustlabError, match="require must name a table"):
        load_tables(folder, require="review")
