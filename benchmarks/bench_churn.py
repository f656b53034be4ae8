"""Survival frame and Kaplan-Meier for 1M customers: custlab against the plain pandas way, same run.

Data: a synthetic shop drawn with numpy (1M customers, about 2.8 orders and 5
lines per customer over two years, eight categories). Both sides build the
same one-row-per-customer survival frame (first and last purchase, orders,
lifetime, days since last, churn flag, churn date, duration, first order
value, first category; checked equal on a sample before timing), then fit
Kaplan-Meier: custlab on the counts per (duration, event), pandas + lifelines
on one row per customer (the usual way). lifelines is imported during the
untimed setup of both sides.

    python benchmarks/bench_churn.py [--quick] [--customers N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import warnings
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import compare  # noqa: E402

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from custlab import churn  # noqa: E402

START = dt.datetime(2023, 1, 1)
AS_OF = dt.datetime(2025, 1, 1)
WINDOW = 90
CATEGORIES = ["apparel", "beauty", "food", "home", "toys", "sports", "books", "garden"]


def make_transactions(n_customers: int, seed: int = 0) -> pl.DataFrame:
    """Lines of a made-up shop: order times, ids, amounts and categories, vectorised."""
    rng = np.random.default_rng(seed)
    first = rng.uniform(0, 730, n_customers)
    n_orders = rng.geometric(0.55, n_customers) + (rng.random(n_customers) < 0.3) * rng.poisson(3, n_customers)
    cust = np.repeat(np.arange(n_customers), n_orders)
    gaps = rng.exponential(40.0, cust.size)
    starts = np.concatenate([[0], np.cumsum(n_orders)[:-1]])
    gaps[starts] = 0.0
    cum = np.cumsum(gaps)
    offset = cum - np.repeat(cum[starts], n_orders)
    t = first[cust] + offset
    keep = t < 730
    cust, t = cust[keep], t[keep]
    order_id = np.arange(cust.size)
    lines = rng.integers(1, 4, cust.size)
    line_order = np.repeat(order_id, lines)
    times = (np.datetime64(START, "us") + (np.repeat(t, lines) * 86_400e6).astype("timedelta64[us]"))
    return pl.DataFrame({
        "customer_id": np.repeat(cust, lines).astype(np.int64),
        "order_id": line_order.astype(np.int64),
        "order_date": times,
        "amount": np.round(rng.gamma(2.0, 25.0, line_order.size), 2),
        "category": np.array(CATEGORIES)[rng.integers(0, len(CATEGORIES), line_order.size)],
    })


def frame_with_custlab(tx: pl.DataFrame) -> pl.DataFrame:
    return churn.survival_frame(tx, as_of=AS_OF, inactivity_days=WINDOW)


def frame_with_pandas(df):
    """The same survival frame, the way one writes it in pandas."""
    import pandas as pd

    df = df[df["order_date"] < AS_OF]
    day = df["order_date"].dt.normalize()
    g = df.assign(day=day).groupby("customer_id", sort=True)
    out = g.agg(first_purchase=("order_date", "min"), last_purchase=("order_date", "max"),
                n_orders=("order_id", "nunique"), first_day=("day", "min"), last_day=("day", "max"))
    # the first order: smallest order id among the earliest lines
    earliest = df[df["order_date"] == df.groupby("customer_id")["order_date"].transform("min")]
    first_order = earliest.groupby("customer_id")["order_id"].min().rename("first_order")
    lines = df.merge(first_order, left_on=["customer_id", "order_id"], right_on=["customer_id", "first_order"])
    out["first_order_value"] = lines.groupby("customer_id")["amount"].sum()
    top = lines.sort_values(["customer_id", "amount", "category"], ascending=[True, False, True])
    out["first_category"] = top.groupby("customer_id")["category"].first()
    as_of_day = pd.Timestamp(AS_OF).normalize()
    out["lifetime_days"] = (out["last_day"] - out["first_day"]).dt.days
    out["days_since_last"] = (as_of_day - out["last_day"]).dt.days
    out["churned"] = out["days_since_last"] >= WINDOW
    out["churn_date"] = (out["last_day"] + pd.Timedelta(days=WINDOW)).where(out["churned"])
    observed = (as_of_day - out["first_day"]).dt.days
    out["duration_days"] = np.where(out["churned"], out["lifetime_days"] + WINDOW, observed)
    return out.drop(columns=["first_day", "last_day"]).reset_index()


def km_with_custlab(tx: pl.DataFrame):
    return churn.kaplan_meier(frame_with_custlab(tx))


def km_with_pandas(df):
    from lifelines import KaplanMeierFitter

    frame = frame_with_pandas(df)
    return KaplanMeierFitter().fit(frame["duration_days"], frame["churned"]).survival_function_


def both_kinds(n: int):
    """The same lines as a polars and as a pandas frame (each side uses its own; setup is not timed)."""
    warnings.simplefilter("ignore", churn.ChurnDataWarning)  # the benchmark's own process
    import lifelines  # noqa: F401  (imported here, untimed, for both sides: about 1.5 s)

    tx = make_transactions(n)
    return tx, tx.to_pandas()


def frame_custlab(data):
    return frame_with_custlab(data[0])


def frame_pandas(data):
    return frame_with_pandas(data[1])


def km_custlab(data):
    return km_with_custlab(data[0])


def km_pandas(data):
    return km_with_pandas(data[1])


def check_same(n_customers: int) -> None:
    """Both ways give the same frame (and the same curve) on a sample, before anything is timed."""
    tx = make_transactions(n_customers, seed=1)
    ours = frame_with_custlab(tx)
    theirs = pl.from_pandas(frame_with_pandas(tx.to_pandas()))
    for col in ("customer_id", "n_orders", "lifetime_days", "days_since_last", "churned", "duration_days",
                "first_category", "first_purchase", "last_purchase"):
        assert ours[col].cast(theirs[col].dtype).equals(theirs[col], check_names=False), col
    assert np.allclose(ours["first_order_value"].to_numpy(), theirs["first_order_value"].to_numpy())
    assert ours["churn_date"].cast(pl.Datetime("ns")).equals(theirs["churn_date"].cast(pl.Datetime("ns")),
                                                             check_names=False)
    km = churn.kaplan_meier(ours)
    ref = km_with_pandas(tx.to_pandas())
    assert np.allclose(km.curves["survival"].to_numpy(), ref.iloc[:, 0].to_numpy(), atol=1e-12)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k customers instead of 1M")
    parser.add_argument("--customers", type=int, default=None)
    args = parser.parse_args(argv)
    n = args.customers or (100_000 if args.quick else 1_000_000)
    warnings.simplefilter("ignore", churn.ChurnDataWarning)  # a script, not library code: its own process
    check_same(20_000)

    sample = make_transactions(n)
    print(f"{n:,} customers, {sample.height:,} lines, {sample['order_id'].n_unique():,} orders "
          f"(frames checked equal on 20,000 customers)")
    del sample
    setup = partial(both_kinds, n)
    compare(f"Survival frame, {n:,} customers", setup, frame_custlab, {"pandas": frame_pandas})
    compare(f"Survival frame + Kaplan-Meier, {n:,} customers", setup, km_custlab,
            {"pandas + lifelines (one row per customer)": km_pandas})

if __name__ == "__main__":
    main()
