"""Per-customer tables on every layout: custlab against plain polars and DuckDB (and pandas), same data, same run.

Four functions, each against the query a user would write for the same table:

- ``rfm``: :func:`custlab.segments.rfm_table` (first and last order, distinct orders, revenue, recency, tenure);
- ``clv``: :func:`custlab.clv.clv_summary` with ``freq="D"`` (purchase days, first and last purchase day,
  repeat spend: frequency, recency, T, mean repeat spend);
- ``survival``: :func:`custlab.churn.survival_frame` (first and last purchase, distinct orders, the value of
  the first order, churn after 90 silent days, duration);
- ``cohort``: :func:`custlab.cohorts.cohort_retention` (customers active and revenue per acquisition month
  and calendar month, cohort sizes).

The same N order lines (default 10M; ``--quick`` 1M; ``--lines 100000000`` for 100M), about 5 lines per
order and 10 per customer over two years, in four layouts:

- ``ordered``: a DataFrame whose lines come order by order (as shop systems export them);
- ``shuffled``: the same lines in random order;
- ``parquet``: the ordered lines in a Parquet file (1M-line row groups) under /tmp, read included
  (custlab gets ``pl.scan_parquet(path)``, DuckDB ``read_parquet(path)``);
- ``lazy``: the ordered DataFrame handed over as ``df.lazy()``.

The anchors: plain polars (``group_by`` ... ``agg``, eager on a DataFrame, ``.collect()`` on a LazyFrame or
Parquet scan); DuckDB SQL on the polars frame (an Arrow view registered in the setup) or on
``read_parquet``; pandas ``groupby.agg`` (``rfm`` only, not on the lazy layout). ``--check`` first runs
every method on 200,000 lines in this process and compares their tables with custlab's (exact counts,
money to 1e-9) before anything is timed.

Each case runs in a fresh process (benchmarks/harness.py): the data are built in the setup (read from
Parquet files written once under /tmp), then one call is timed and its peak extra memory read. Every
case is repeated ``--repeat`` times (default 3; 1 at 100M lines); the table shows the fastest time and
the median peak. Ratios are the anchor's time over custlab's (above 1: custlab is faster) and custlab's
peak over the anchor's. The load average is printed before and after. ``--json PATH`` also writes the
rows for ``benchmarks/run.py``, which puts them into the README.

    python benchmarks/bench_layouts.py [--quick] [--lines N] [--repeat K] [--functions rfm,clv,...]
                                       [--layouts ordered,shuffled,...] [--check] [--json PATH] [--clean]
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import shutil
import statistics
import sys
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import Timing, measure  # noqa: E402

DATA_DIR = Path("/tmp/custlab_bench_layouts")
DAYS = 730
LAYOUTS = ("ordered", "shuffled", "parquet", "lazy")
FUNCTIONS = ("rfm", "clv", "survival", "cohort")
CALLS = {"rfm": "rfm_table", "clv": "clv_summary", "survival": "survival_frame", "cohort": "cohort_retention"}
AS_OF = dt.datetime(2024, 1, 1)  # the day after the last possible order (2022-01-01 + 730 days)
WINDOW = 90  # survival: days of silence that make a churn

DUCKDB = {
    "rfm": """
        WITH per AS (
            SELECT customer_id, COUNT(DISTINCT order_id) AS frequency, SUM(amount) AS monetary,
                   MIN(order_date) AS first_order, MAX(order_date) AS last_order
            FROM {source} GROUP BY customer_id)
        SELECT customer_id, frequency, monetary, monetary / frequency AS avg_order_value, first_order, last_order,
               date_diff('day', CAST(last_order AS DATE), DATE '{as_of}') AS recency,
               date_diff('day', CAST(first_order AS DATE), DATE '{as_of}') AS tenure
        FROM per""",
    "clv": """
        WITH days AS (
            SELECT customer_id, CAST(order_date AS DATE) AS day, SUM(amount) AS spend
            FROM {source} GROUP BY customer_id, day),
        per AS (
            SELECT customer_id, COUNT(*) - 1 AS frequency, MIN(day) AS first_day, MAX(day) AS last_day,
                   SUM(spend) - arg_min(spend, day) AS repeat_spend
            FROM days GROUP BY customer_id)
        SELECT customer_id, frequency, CAST(date_diff('day', first_day, last_day) AS DOUBLE) AS recency,
               CAST(date_diff('day', first_day, DATE '{as_of}' - 1) AS DOUBLE) AS T,
               CASE WHEN frequency > 0 THEN repeat_spend / frequency ELSE 0.0 END AS monetary_value
        FROM per ORDER BY customer_id""",
    "survival": """
        WITH orders AS (
            SELECT customer_id, order_id, MIN(order_date) AS placed, SUM(amount) AS value
            FROM {source} GROUP BY customer_id, order_id),
        per AS (
            SELECT customer_id, MIN(placed) AS first_purchase, MAX(placed) AS last_purchase, COUNT(*) AS n_orders,
                   first(value ORDER BY placed, order_id) AS first_order_value
            FROM orders GROUP BY customer_id),
        days AS (
            SELECT *, date_diff('day', CAST(first_purchase AS DATE), CAST(last_purchase AS DATE)) AS lifetime_days,
                   date_diff('day', CAST(last_purchase AS DATE), DATE '{as_of}') AS days_since_last
            FROM per)
        SELECT customer_id, first_purchase, last_purchase, n_orders, lifetime_days, days_since_last,
               days_since_last >= {window} AS churned,
               CASE WHEN days_since_last >= {window} THEN CAST(last_purchase AS DATE) + {window} END AS churn_date,
               CASE WHEN days_since_last >= {window} THEN lifetime_days + {window}
                    ELSE date_diff('day', CAST(first_purchase AS DATE), DATE '{as_of}') END AS duration_days,
               first_order_value
        FROM days ORDER BY customer_id""",
    "cohort": """
        WITH months AS (
            SELECT customer_id, year(order_date) * 12 + month(order_date) - 1 AS m, SUM(amount) AS revenue
            FROM {source} GROUP BY customer_id, m),
        tagged AS (SELECT *, MIN(m) OVER (PARTITION BY customer_id) AS c FROM months),
        sizes AS (SELECT c, COUNT(*) AS cohort_size FROM tagged WHERE m = c GROUP BY c)
        SELECT t.c, t.m, COUNT(*) AS active_customers, SUM(t.revenue) AS revenue, ANY_VALUE(s.cohort_size) AS cohort_size
        FROM tagged t JOIN sizes s USING (c) GROUP BY t.c, t.m ORDER BY t.c, t.m""",
}


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


def parquet_file(n_lines: int, shuffled: bool = False) -> Path:
    """The lines (ordered, or shuffled) as one Parquet file with 1M-line row groups; written once, reused."""
    path = DATA_DIR / f"lines_{n_lines}{'_shuffled' if shuffled else ''}.parquet"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        partial_path = path.with_suffix(".partial")
        polars_lines(n_lines, shuffled).write_parquet(partial_path, row_group_size=1_000_000)
        partial_path.rename(path)
    return path


def setup(layout: str, kind: str, n_lines: int):
    """The data as ``kind`` ("polars", "pandas" or "duckdb") for ``layout``; built before the timer starts.

    Every process imports custlab, polars and DuckDB here, so that no timed call pays for an import.
    """
    import duckdb
    import polars as pl

    import custlab.churn
    import custlab.clv
    import custlab.cohorts
    import custlab.segments  # noqa: F401

    if layout == "parquet":
        return str(parquet_file(n_lines))
    frame = pl.read_parquet(parquet_file(n_lines, shuffled=layout == "shuffled"))
    if kind == "pandas":
        return frame.to_pandas()
    if kind == "duckdb":
        con = duckdb.connect()
        con.register("lines", frame.to_arrow())
        con.sql("SELECT COUNT(*) FROM lines").fetchall()  # warm the connection
        return con
    return frame.lazy() if layout == "lazy" else frame


# -- methods -----------------------------------------------------------------------------------------

def _source(data):
    import polars as pl

    return pl.scan_parquet(data) if isinstance(data, str) else data


def custlab_call(function: str, data):
    from custlab.churn import survival_frame
    from custlab.clv import clv_summary
    from custlab.cohorts import cohort_retention
    from custlab.segments import rfm_table

    source = _source(data)
    if function == "rfm":
        return rfm_table(source, as_of=AS_OF)
    if function == "clv":
        return clv_summary(source, as_of=AS_OF, freq="D")
    if function == "survival":
        return survival_frame(source, as_of=AS_OF, inactivity_days=WINDOW)
    return cohort_retention(source, as_of=AS_OF)


def _collect(query):
    import polars as pl

    return query.collect() if isinstance(query, pl.LazyFrame) else query


def polars_call(function: str, data):
    """The plain polars query for the same table: group_by ... agg, and the few columns derived from it."""
    import polars as pl

    frame, as_of = _source(data), pl.lit(AS_OF.date())
    if function == "rfm":
        per = _collect(frame.group_by("customer_id").agg(
            frequency=pl.col("order_id").n_unique(),
            monetary=pl.col("amount").sum(),
            first_order=pl.col("order_date").min(),
            last_order=pl.col("order_date").max(),
        ))
        return per.with_columns(
            recency=(as_of - pl.col("last_order").dt.date()).dt.total_days(),
            tenure=(as_of - pl.col("first_order").dt.date()).dt.total_days(),
            avg_order_value=pl.col("monetary") / pl.col("frequency"),
        )
    if function == "clv":
        days = frame.group_by("customer_id", day=pl.col("order_date").dt.date()).agg(spend=pl.col("amount").sum())
        per = _collect(days.group_by("customer_id").agg(
            frequency=pl.len() - 1,
            first_day=pl.col("day").min(),
            last_day=pl.col("day").max(),
            repeat_spend=pl.col("spend").sum() - pl.col("spend").sort_by("day").first(),
        ))
        last = pl.lit(AS_OF.date() - dt.timedelta(days=1))
        return per.select(
            "customer_id", pl.col("frequency").cast(pl.Int64),
            recency=(pl.col("last_day") - pl.col("first_day")).dt.total_days().cast(pl.Float64),
            T=(last - pl.col("first_day")).dt.total_days().cast(pl.Float64),
            monetary_value=pl.when(pl.col("frequency") > 0)
            .then(pl.col("repeat_spend") / pl.col("frequency")).otherwise(0.0),
        ).sort("customer_id")
    if function == "survival":
        orders = frame.group_by("customer_id", "order_id").agg(
            at=pl.col("order_date").min(), value=pl.col("amount").sum()
        )
        per = _collect(orders.group_by("customer_id").agg(
            first_purchase=pl.col("at").min(),
            last_purchase=pl.col("at").max(),
            n_orders=pl.len(),
            first_order_value=pl.col("value").sort_by("at", "order_id").first(),
        ))
        first_day, last_day = pl.col("first_purchase").dt.date(), pl.col("last_purchase").dt.date()
        since = (as_of - last_day).dt.total_days()
        churned = since >= WINDOW
        return per.select(
            "customer_id", "first_purchase", "last_purchase", "n_orders",
            lifetime_days=(last_day - first_day).dt.total_days(),
            days_since_last=since, churned=churned,
            churn_date=pl.when(churned).then(last_day + pl.duration(days=WINDOW)),
            duration_days=pl.when(churned).then((last_day - first_day).dt.total_days() + WINDOW)
            .otherwise((as_of - first_day).dt.total_days()),
            first_order_value="first_order_value",
        ).sort("customer_id")
    month = pl.col("order_date").dt.year().cast(pl.Int64) * 12 + pl.col("order_date").dt.month() - 1
    months = _collect(frame.group_by("customer_id", m=month).agg(revenue=pl.col("amount").sum()))
    tagged = months.with_columns(c=pl.col("m").min().over("customer_id"))
    sizes = tagged.filter(pl.col("m") == pl.col("c")).group_by("c").agg(cohort_size=pl.len())
    return (tagged.group_by("c", "m").agg(active_customers=pl.len(), revenue=pl.col("revenue").sum())
            .join(sizes, on="c").sort("c", "m"))


def duckdb_call(function: str, data):
    import duckdb

    if isinstance(data, str):
        con, source = duckdb.connect(), f"read_parquet('{data}')"
    else:
        con, source = data, "lines"
    return con.sql(DUCKDB[function].format(source=source, as_of=AS_OF.date(), window=WINDOW)).pl()


def pandas_call(function: str, data):
    import pandas as pd

    df = pd.read_parquet(data) if isinstance(data, str) else data
    out = df.groupby("customer_id", sort=False).agg(
        first_order=("order_date", "min"),
        last_order=("order_date", "max"),
        frequency=("order_id", "nunique"),
        monetary=("amount", "sum"),
    )
    as_of = pd.Timestamp(AS_OF)
    out["recency"] = (as_of - out["last_order"].dt.normalize()).dt.days
    out["tenure"] = (as_of - out["first_order"].dt.normalize()).dt.days
    out["avg_order_value"] = out["monetary"] / out["frequency"]
    return out


METHODS = {  # name: (function, data kind)
    "custlab": ("custlab_call", "polars"),
    "plain polars": ("polars_call", "polars"),
    "DuckDB": ("duckdb_call", "duckdb"),
    "pandas": ("pandas_call", "pandas"),
}


# -- checking ----------------------------------------------------------------------------------------

def check(functions: list[str], n_lines: int = 200_000) -> None:
    """Every method's table equals custlab's on ``n_lines`` lines (counts exactly, money and times to 1e-9)."""
    import duckdb
    import polars as pl
    from polars.testing import assert_frame_equal

    frame = polars_lines(n_lines)
    con = duckdb.connect()
    con.register("lines", frame.to_arrow())
    for function in functions:
        ours = custlab_call(function, frame)
        others = {"plain polars": polars_call(function, frame), "DuckDB": duckdb_call(function, con)}
        if function == "cohort":  # custlab's grid (zeros included) against the anchors' non-empty cells
            ours = (ours.filter(pl.col("active_customers") > 0)
                    .with_columns(c=pl.col("cohort").dt.year() * 12 + pl.col("cohort").dt.month() - 1,
                                  m=pl.col("month").dt.year() * 12 + pl.col("month").dt.month() - 1))
        for name, theirs in others.items():
            keys = ["c", "m"] if function == "cohort" else ["customer_id"]
            common = [c for c in theirs.columns if c in ours.columns]
            left = ours.select(common).sort(keys)
            right = theirs.select(common).sort(keys).cast({c: left.schema[c] for c in common})
            assert_frame_equal(left, right, check_exact=False, rel_tol=1e-9, abs_tol=1e-9)
            print(f"check: {CALLS[function]} = {name} on {n_lines:,} lines ({len(common)} columns, {left.height:,} rows)")


# -- running -----------------------------------------------------------------------------------------

def _here():
    """This module under its own name: the harness spawns fresh processes, which must import what they run."""
    return importlib.import_module("bench_layouts")


def best_of(function: str, name: str, layout: str, n_lines: int, repeat: int) -> Timing:
    b = _here()
    method, kind = METHODS[name]
    runs = [measure(name, partial(b.setup, layout, kind, n_lines), partial(getattr(b, method), function), timeout=3600)
            for _ in range(repeat)]
    good = [t for t in runs if t.seconds == t.seconds]
    if not good:
        return runs[0]
    fastest = min(good, key=lambda t: t.seconds)
    return Timing(name, fastest.seconds, statistics.median(t.peak_mb for t in good), fastest.note)


def run_case(function: str, layout: str, n_lines: int, repeat: int) -> dict[str, Timing]:
    names = [n for n in METHODS if not (n == "pandas" and (function != "rfm" or layout == "lazy"))]
    rows = [best_of(function, name, layout, n_lines, repeat) for name in names]
    ours = rows[0]
    print(f"\n## {CALLS[function]}, {n_lines:,} order lines, {layout}")
    print(f"{'method':<16}{'seconds':>9}{'peak MB':>9}{'time ratio':>12}{'memory ratio':>14}  note")
    for t in rows:
        ratio = t.seconds / ours.seconds if ours.seconds > 0 else float("nan")
        memory = ours.peak_mb / t.peak_mb if t.peak_mb > 0 else float("nan")
        mark = ("1.00x", "1.00") if t is ours else (f"{ratio:.2f}x", f"{memory:.2f}")
        print(f"{t.name:<16}{t.seconds:>9.3f}{t.peak_mb:>9.0f}{mark[0]:>12}{mark[1]:>14}  {t.note}", flush=True)
    return {t.name: t for t in rows}


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1M lines, one run per case")
    parser.add_argument("--lines", type=int, default=None, help="order lines (default 10M)")
    parser.add_argument("--repeat", type=int, default=None, help="fresh-process runs per case (default 3)")
    parser.add_argument("--functions", default=",".join(FUNCTIONS), help=f"comma-separated subset of {FUNCTIONS}")
    parser.add_argument("--layouts", default=",".join(LAYOUTS), help=f"comma-separated subset of {LAYOUTS}")
    parser.add_argument("--check", action="store_true", help="compare every method's table first")
    parser.add_argument("--json", default=None, help="also write the rows to this JSON file")
    parser.add_argument("--clean", action="store_true", help=f"delete the Parquet files under {DATA_DIR} and exit")
    args, _ = parser.parse_known_args(argv)  # benchmarks/run.py passes its own arguments along
    if args.clean:
        shutil.rmtree(DATA_DIR, ignore_errors=True)
        return
    n_lines = args.lines or (1_000_000 if args.quick else 10_000_000)
    repeat = args.repeat or (1 if args.quick or n_lines > 50_000_000 else 3)
    functions = [x for x in args.functions.split(",") if x]
    layouts = [x for x in args.layouts.split(",") if x]
    for given, known in ((functions, FUNCTIONS), (layouts, LAYOUTS)):
        unknown = sorted(set(given) - set(known))
        if unknown:
            parser.error(f"unknown name(s) {unknown}; choose from {known}")
    if args.check:
        check(functions)
    before, before_avg = load(), os.getloadavg()
    print(f"load average before: {before} on {os.cpu_count()} cores")
    for layout in layouts:  # written before anything is timed
        parquet_file(n_lines, shuffled=layout == "shuffled")
    results = []
    for function in functions:
        for layout in layouts:
            rows = run_case(function, layout, n_lines, repeat)
            results.append({"function": CALLS[function], "layout": layout, "lines": n_lines, "repeat": repeat,
                            **{name: {"seconds": t.seconds, "peak_mb": t.peak_mb, "note": t.note}
                               for name, t in rows.items()}})
    after = load()
    print(f"\n## Summary, {n_lines:,} lines (time ratio: anchor / custlab; memory ratio: custlab / anchor)")
    print(f"{'function':<18}{'layout':<10}{'vs polars':>11}{'vs DuckDB':>11}{'memory vs DuckDB':>18}")
    for row in results:
        ours, plain, duck = (row[n]["seconds"] for n in ("custlab", "plain polars", "DuckDB"))
        memory = row["custlab"]["peak_mb"] / row["DuckDB"]["peak_mb"]
        print(f"{row['function']:<18}{row['layout']:<10}{plain / ours:>10.2f}x{duck / ours:>10.2f}x{memory:>18.2f}")
    print(f"load average after: {after}")
    if args.json:
        Path(args.json).write_text(json.dumps({"load_before": before_avg,
                                               "load_after": os.getloadavg(), "cores": os.cpu_count(),
                                               "rows": results}, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
