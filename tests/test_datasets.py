"""Built-in data: CDNOW from lifetimes, Online Retail from ../shared/data, and load_tables."""

from __future__ import annotations

import polars as pl
import pytest

from custlab.datasets import load_cdnow, load_online_retail, load_tables


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
