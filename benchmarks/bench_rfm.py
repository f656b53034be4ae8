"""RFM table speed and memory: custlab.segments.rfm_table against plain polars, DuckDB and pandas, on four layouts.

The same N order lines (default 10M; ``--quick`` 1M), about 5 lines per order
and 10 per customer over two years, in four layouts:

- ``ordered``: a DataFrame whose lines come order by order (the lines of an order
  next to each other, as shop systems export them);
- ``shuffled``: the same lines in random order;
- ``parquet``: the ordered lines in a Parquet file (1M-line row groups) under /tmp,
  read included (custlab gets ``pl.scan_parquet(path)``);
- ``lazy``: the ordered DataFrame handed over as ``df.lazy()``.

Every method computes the same table: per customer the first and last order,
distinct orders, revenue, recency and tenure in days at the day after the last
order, and average order value. The anchors are the queries a user would write:

- plain polars: ``group_by("customer_id").agg(n_unique, sum, min, max)`` (eager on a
  DataFrame, ``.collect()`` with the default engine on a LazyFrame or Parquet scan);
- DuckDB: ``COUNT(DISTINCT ...), SUM, MIN, MAX ... GROUP BY customer_id`` on the
  polars frame (an Arrow view registered in the setup) or on ``read_parquet(path)``;
- pandas: ``groupby(sort=False).agg(...)`` on a pandas frame (for Parquet:
  ``pd.read_parquet`` included; not run on the lazy layout).

Each case runs in a fresh process (benchmarks/harness.py): the data are built in
the setup (not timed), then one call is timed and its peak extra memory read.
Every case is repeated ``--repeat`` times (default 3) in fresh processes; the
table shows the fastest time and the median peak. Ratios are the anchor's time
over custlab's (above 1: custlab is faster) and custlab's peak over the anchor's.
The load average of the machine before and after the run is printed.

    python benchmarks/bench_rfm.py [--quick] [--lines N] [--repeat K] [--layouts ordered,shuffled,...] [--clean]
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import statistics
import sys
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import Timing, measure  # noqa: E402

DATA_DIR = Path("/tmp/custlab_bench_rfm")
DAYS = 730
LAYOUTS = ("ordered", "shuffled", "parquet", "lazy")
DUCKDB_SQL = """
    SELECT customer_id,
           COUNT(DISTINCT order_id) AS frequency,
           SUM(amount) AS monetary,
           MIN(order_date) AS first_order,
           MAX(order_date) AS last_order
    FROM {source}
    GROUP BY customer_id
"""
DUCKDB_FINISH = """
    WITH per AS ({per}), day AS (SELECT CAST(MAX(last_order) AS DATE) + 1 AS as_of FROM per)
    SELECT customer_id, frequency, monetary, monetary / frequency AS avg_order_value, first_order, last_order,
           date_diff('day', CAST(last_order AS DATE), as_of) AS recency,
           date_diff('day', CAST(first_order AS DATE), as_of) AS tenure
    FROM per, day
"""


# -- data --------------------------------------------------------------------------------------------

def make_lines(n_lines: int, *, seed: int = 0):
    """n_lines order lines (numpy arrays customer_id, order_id, order_date as datetime64[us], amount).

    About 5 lines per order and 10 per customer, two years of dates, gamma-distributed amounts in cents.
    The lines of an order are next to each other, orders in order_id order.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    n_orders = max(1, n_lines // 5)
    n_customers = max(1, n_lines // 10)
    order_customer = rng.integers(0, n_customers, n_orders)
    order_seconds = rng.integers(0, DAYS * 86_400, n_orders)
    line_order = np.sort(rng.integers(0, n_orders, n_lines))
    dates = np.datetime64("2022-01-01T00:00:00", "us") + (order_seconds[line_order] * 1_000_000).astype(
        "timedelta64[us]"
    )
    amount = np.round(rng.gamma(2.0, 12.0, n_lines), 2)
    return order_customer[line_order].astype(np.int64), line_order.astype(np.int64), dates, amount


def polars_lines(n_lines: int, shuffled: bool = False):
    import numpy as np
    import polars as pl

    columns = make_lines(n_lines)
    if shuffled:
        perm = np.random.default_rng(1).permutation(n_lines)
        columns = [c[perm] for c in columns]
    return pl.DataFrame(dict(zip(("customer_id", "order_id", "order_date", "amount"), columns, strict=True)))


def parquet_file(n_lines: int) -> Path:
    """The ordered lines as one Parquet file with 1M-line row groups; written once, reused."""
    path = DATA_DIR / f"lines_{n_lines}.parquet"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        partial_path = path.with_suffix(".partial")
        polars_lines(n_lines).write_parquet(partial_path, row_group_size=1_000_000)
        partial_path.rename(path)
    return path


def setup(layout: str, kind: str, n_lines: int):
    """The data as ``kind`` ("polars", "pandas" or "duckdb") for ``layout``; built before the timer starts.

    Every process imports custlab, polars and DuckDB here, so that no timed call pays for an import.
    """
    import duckdb  # noqa: F401
    import polars  # noqa: F401

    import custlab.segments  # noqa: F401

    if layout == "parquet":
        return str(parquet_file(n_lines))
    frame = polars_lines(n_lines, shuffled=layout == "shuffled")
    if kind == "pandas":
        return frame.to_pandas()
    if kind == "duckdb":
        import duckdb

        con = duckdb.connect()
        con.register("lines", frame.to_arrow())
        con.sql("SELECT COUNT(*) FROM lines").fetchall()  # warm the connection
        return con
    return frame.lazy() if layout == "lazy" else frame


# -- methods -----------------------------------------------------------------------------------------

def custlab_rfm(data):
    import polars as pl

    from custlab.segments import rfm_table

    return rfm_table(pl.scan_parquet(data) if isinstance(data, str) else data)


def plain_polars(data):
    import polars as pl

    frame = pl.scan_parquet(data) if isinstance(data, str) else data
    query = frame.group_by("customer_id").agg(
        frequency=pl.col("order_id").n_unique(),
        monetary=pl.col("amount").sum(),
        first_order=pl.col("order_date").min(),
        last_order=pl.col("order_date").max(),
    )
    per = query.collect() if isinstance(query, pl.LazyFrame) else query
    day = pl.col("last_order").max().dt.date() + pl.duration(days=1)
    return per.with_columns(
        recency=(day - pl.col("last_order").dt.date()).dt.total_days(),
        tenure=(day - pl.col("first_order").dt.date()).dt.total_days(),
        avg_order_value=pl.col("monetary") / pl.col("frequency"),
    )


def duckdb_rfm(data):
    import duckdb

    if isinstance(data, str):
        con, source = duckdb.connect(), f"read_parquet('{data}')"
    else:
        con, source = data, "lines"
    return con.sql(DUCKDB_FINISH.format(per=DUCKDB_SQL.format(source=source))).pl()


def pandas_rfm(data):
    import pandas as pd

    df = pd.read_parquet(data) if isinstance(data, str) else data
    out = df.groupby("customer_id", sort=False).agg(
        first_order=("order_date", "min"),
        last_order=("order_date", "max"),
        frequency=("order_id", "nunique"),
        monetary=("amount", "sum"),
    )
    as_of = out["last_order"].max().normalize() + pd.Timedelta(days=1)
    out["recency"] = (as_of - out["last_order"].dt.normalize()).dt.days
    out["tenure"] = (as_of - out["first_order"].dt.normalize()).dt.days
    out["avg_order_value"] = out["monetary"] / out["frequency"]
    return out


METHODS = {  # name: (function, data kind)
    "custlab rfm_table": ("custlab_rfm", "polars"),
    "plain polars group_by": ("plain_polars", "polars"),
    "DuckDB": ("duckdb_rfm", "duckdb"),
    "pandas groupby.agg": ("pandas_rfm", "pandas"),
}


# -- running -----------------------------------------------------------------------------------------

def _here():
    """This module under its own name: the harness spawns fresh processes, which must import what they run."""
    return importlib.import_module("bench_rfm")


def best_of(name: str, layout: str, n_lines: int, repeat: int) -> Timing:
    b = _here()
    function, kind = METHODS[name]
    runs = [measure(name, partial(b.setup, layout, kind, n_lines), getattr(b, function), timeout=1800)
            for _ in range(repeat)]
    good = [t for t in runs if t.seconds == t.seconds]
    if not good:
        return runs[0]
    fastest = min(good, key=lambda t: t.seconds)
    return Timing(name, fastest.seconds, statistics.median(t.peak_mb for t in good), fastest.note)


def run_layout(layout: str, n_lines: int, repeat: int) -> list[Timing]:
    names = [n for n in METHODS if not (layout == "lazy" and n.startswith("pandas"))]
    rows = [best_of(name, layout, n_lines, repeat) for name in names]
    ours = rows[0]
    print(f"\n## rfm_table, {n_lines:,} order lines, {layout}")
    print(f"{'method':<24}{'seconds':>9}{'peak MB':>9}{'time ratio':>12}{'memory ratio':>14}  note")
    for t in rows:
        ratio = t.seconds / ours.seconds if ours.seconds > 0 else float("nan")
        memory = ours.peak_mb / t.peak_mb if t.peak_mb > 0 else float("nan")
        mark = ("1.00x", "1.00") if t is ours else (f"{ratio:.2f}x", f"{memory:.2f}")
        print(f"{t.name:<24}{t.seconds:>9.3f}{t.peak_mb:>9.0f}{mark[0]:>12}{mark[1]:>14}  {t.note}")
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1M lines, one run per case")
    parser.add_argument("--lines", type=int, default=None, help="order lines (default 10M)")
    parser.add_argument("--repeat", type=int, default=None, help="fresh-process runs per case (default 3)")
    parser.add_argument("--layouts", default=",".join(LAYOUTS), help=f"comma-separated subset of {LAYOUTS}")
    parser.add_argument("--clean", action="store_true", help=f"delete the Parquet files under {DATA_DIR} and exit")
    args, _ = parser.parse_known_args(argv)  # benchmarks/run.py passes its own arguments along
    if args.clean:
        shutil.rmtree(DATA_DIR, ignore_errors=True)
        return
    n_lines = args.lines or (1_000_000 if args.quick else 10_000_000)
    repeat = args.repeat or (1 if args.quick else 3)
    layouts = [x for x in args.layouts.split(",") if x]
    unknown = sorted(set(layouts) - set(LAYOUTS))
    if unknown:
        parser.error(f"unknown layout(s) {unknown}; choose from {LAYOUTS}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    summary = []
    for layout in layouts:
        rows = {t.name: t for t in run_layout(layout, n_lines, repeat)}
        ours = rows["custlab rfm_table"]
        summary.append((layout, ours, rows["plain polars group_by"], rows["DuckDB"]))
    print(f"\n## Summary, {n_lines:,} lines (time ratio: anchor / custlab; memory ratio: custlab / anchor)")
    print(f"{'layout':<10}{'vs polars':>11}{'vs DuckDB':>11}{'memory vs DuckDB':>18}")
    for layout, ours, plain, duck in summary:
        print(f"{layout:<10}{plain.seconds / ours.seconds:>10.2f}x{duck.seconds / ours.seconds:>10.2f}x"
              f"{ours.peak_mb / duck.peak_mb:>18.2f}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main(sys.argv[1:])
