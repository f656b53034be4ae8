"""Loading and cleaning the Online Retail file: custlab against the plain pandas way, same run.

Both sides read the Parquet file, map it to canonical columns, apply the same
cleaning rules in the same first-match order (cancelled, returned, missing
customer, non-positive price, non-product, after the analysis date, duplicate)
and count removed lines per reason.
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import compare  # noqa: E402

from custlab.data.clean import NON_PRODUCT_IDS, clean_transactions  # noqa: E402
from custlab.data.datasets import load_online_retail, online_retail_path  # noqa: E402

AS_OF = "2011-12-10"


def with_custlab(path: Path):
    tx = load_online_retail(path)
    clean, report = clean_transactions(tx, as_of=AS_OF)
    return clean


def with_pandas(path: Path):
    import numpy as np
    import pandas as pd

    df = pd.read_parquet(path).rename(columns={
        "InvoiceNo": "order_id", "StockCode": "product_id", "Description": "product_name", "Quantity": "quantity",
        "InvoiceDate": "order_date", "UnitPrice": "unit_price", "CustomerID": "customer_id", "Country": "country",
    })
    df["amount"] = df["quantity"] * df["unit_price"]
    for col in ("product_id", "product_name"):
        df[col] = df[col].str.strip()
    conditions = [
        df["order_id"].str.startswith("C"),
        (df["quantity"] <= 0) | (df["amount"] < 0),
        df["customer_id"].isna(),
        df["order_date"].isna() | df["amount"].isna(),
        df["unit_price"] <= 0,
        df["product_id"].isin(NON_PRODUCT_IDS) | df["product_id"].str.startswith("gift_0001_"),
        df["order_date"] >= pd.Timestamp(AS_OF),
        df.duplicated(),
    ]
    names = ["cancelled", "returned", "missing_customer", "missing_value", "non_positive_price", "non_product",
             "after_as_of", "duplicate"]
    df["reason"] = np.select(conditions, names, default="")
    counts = df["reason"].value_counts()
    clean = df[df["reason"] == ""].drop(columns="reason")
    assert counts.sum() == len(df)
    return clean


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="(no smaller size: the file is the case)")
    parser.parse_args(argv)
    path = online_retail_path()
    if not path.exists():
        print(f"skipped: {path} not found")
        return
    # Same answer first, then time.
    ours, theirs = with_custlab(path), with_pandas(path)
    assert ours.height == len(theirs), (ours.height, len(theirs))
    compare("Online Retail: load + clean (541,909 lines)", partial(Path, path), with_custlab, {"pandas": with_pandas})


if __name__ == "__main__":
    main()
