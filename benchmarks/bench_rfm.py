"""RFM table speed: custlab.rfm.rfm_table against the pandas groupby idiom and lifetimes, and 100M lines streamed.

Part 1 times ``rfm_table`` on N synthetic order lines (default 10M; ``--quick``
1M) against

- the pandas idiom most RFM tutorials use, vectorised:
  ``df.groupby("customer_id", sort=False).agg(first=("order_date", "min"), last=(..., "max"),
  frequency=("order_id", "nunique"), monetary=("amount", "sum"))`` plus recency,
  tenure and average order value;
- the same with ``lambda x: (as_of - x.max()).days`` for recency, as printed in
  many tutorials (run on a tenth of the lines: it calls Python once per customer);
- ``lifetimes.utils.summary_data_from_transaction_data`` (frequency, recency, T,
  monetary value per customer; freq="D").

The lines come order by order (the lines of an order next to each other, as shop
systems export them), which ``rfm_table`` aggregates fastest; the first comparison
is repeated on the same lines shuffled, where it groups the lines directly.

Each anchor gets the data in its own format, built in the setup (not timed). The
ratio is printed for every anchor at the size it ran at. Sizes that an anchor cannot
handle in ``--lifetimes-timeout`` seconds are retried at a tenth of the size and
reported as such.

Part 2 writes M order lines (default 100M; ``--quick`` 10M) as Parquet files under
/tmp (not in the repository; kept between runs, delete with --clean) and streams
them through ``rfm_table(pl.scan_parquet(...))``, printing time and peak memory.

    python benchmarks/bench_rfm.py [--quick] [--lines N] [--stream-lines M] [--clean]
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import sys
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import measure, print_table  # noqa: E402

STREAM_DIR = Path("/tmp/custlab_bench_rfm")
CHUNK = 10_000_000
DAYS = 730


def make_lines(n_lines: int, *, seed: int = 0, offset: int = 0, n_customers: int | None = None):
    """n_lines order lines: about 5 lines per order, 10 per customer, two years of dates.

    Returns numpy arrays (customer_id, order_id, order_date as datetime64[us], amount).
    ``offset`` shifts order ids, so that chunks of one data set do not share orders.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    n_orders = max(1, n_lines // 5)
    n_customers = n_customers or max(1, n_lines // 10)
    order_customer = rng.integers(0, n_customers, n_orders)
    order_seconds = rng.integers(0, DAYS * 86_400, n_orders)
    line_order = np.sort(rng.integers(0, n_orders, n_lines))
    dates = np.datetime64("2022-01-01T00:00:00", "us") + (order_seconds[line_order] * 1_000_000).astype(
        "timedelta64[us]"
    )
    amount = np.round(rng.gamma(2.0, 12.0, n_lines), 2)
    return order_customer[line_order].astype(np.int64), (line_order + offset).astype(np.int64), dates, amount


def lines(n_lines: int, *, kind: str = "polars", shuffled: bool = False):
    """The benchmark's order lines as a polars or pandas frame; ``shuffled`` scatters the lines of each order."""
    import numpy as np

    columns = make_lines(n_lines)
    if shuffled:
        perm = np.random.default_rng(1).permutation(n_lines)
        columns = [c[perm] for c in columns]
    data = dict(zip(("customer_id", "order_id", "order_date", "amount"), columns))
    if kind == "pandas":
        import pandas as pd

        return pd.DataFrame(data)
    import polars as pl

    return pl.DataFrame(data)


def custlab_rfm(frame):
    from custlab.rfm import rfm_table

    return rfm_table(frame)


def pandas_idiom(df):
    import pandas as pd

    # sort=False: the groups in order of appearance, pandas' fastest named-aggregation path (custlab's
    # table is sorted by customer, which it pays for). observed= only matters for categorical keys.
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


def pandas_lambda_idiom(df):
    import pandas as pd

    as_of = df["order_date"].max().normalize() + pd.Timedelta(days=1)
    return df.groupby("customer_id").agg(
        {
            "order_date": lambda x: (as_of - x.max()).days,
            "order_id": "nunique",
            "amount": "sum",
        }
    )


def lifetimes_summary(df):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes.utils import summary_data_from_transaction_data

        end = df["order_date"].max()
        return summary_data_from_transaction_data(
            df, "customer_id", "order_date", monetary_value_col="amount", observation_period_end=end, freq="D"
        )


def _here():
    """This module under its own name: the harness spawns fresh processes, which must import what they run."""
    return importlib.import_module("bench_rfm")


def part_one(n_lines: int, lifetimes_timeout: float) -> None:
    b = _here()
    ours = measure("custlab rfm_table", partial(b.lines, n_lines), b.custlab_rfm)
    pandas = measure("pandas groupby.agg (named)", partial(b.lines, n_lines, kind="pandas"), b.pandas_idiom)
    print_table(f"rfm_table vs pandas idiom, {n_lines:,} order lines", [ours, pandas])
    ours_shuffled = measure("custlab rfm_table", partial(b.lines, n_lines, shuffled=True), b.custlab_rfm)
    pandas_shuffled = measure("pandas groupby.agg (named)", partial(b.lines, n_lines, kind="pandas", shuffled=True),
                              b.pandas_idiom)
    print_table(f"rfm_table vs pandas idiom, the same {n_lines:,} lines shuffled", [ours_shuffled, pandas_shuffled])

    small = max(n_lines // 10, 1000)
    ours_small = measure("custlab rfm_table", partial(b.lines, small), b.custlab_rfm)
    lam = measure("pandas groupby.agg with lambda", partial(b.lines, small, kind="pandas"), b.pandas_lambda_idiom)
    print_table(f"rfm_table vs the tutorial lambda idiom, {small:,} order lines", [ours_small, lam])

    life = measure("lifetimes summary_data_from_...", partial(b.lines, n_lines, kind="pandas"), b.lifetimes_summary,
                   timeout=lifetimes_timeout)
    if life.seconds == life.seconds:
        print_table(f"rfm_table vs lifetimes, {n_lines:,} order lines", [ours, life])
    else:
        print(f"\nlifetimes at {n_lines:,} lines: {life.note}; retrying at {small:,} lines")
        life = measure("lifetimes summary_data_from_...", partial(b.lines, small, kind="pandas"), b.lifetimes_summary,
                       timeout=lifetimes_timeout)
        print_table(f"rfm_table vs lifetimes, {small:,} order lines", [ours_small, life])


def write_parquet(n_lines: int) -> Path:
    """Write n_lines as Parquet chunks of 10M lines (one customer pool); reuse them when present."""
    import polars as pl

    folder = STREAM_DIR / f"lines_{n_lines}"
    done = folder / "_complete"
    if done.exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    n_customers = max(1, n_lines // 10)
    start = 0
    part = 0
    while start < n_lines:
        size = min(CHUNK, n_lines - start)
        cust, order, dates, amount = make_lines(size, seed=part + 1, offset=start, n_customers=n_customers)
        pl.DataFrame({"customer_id": cust, "order_id": order, "order_date": dates, "amount": amount}).write_parquet(
            folder / f"part-{part:04d}.parquet", row_group_size=1_000_000
        )
        start += size
        part += 1
    done.touch()
    return folder


def stream_rfm(folder: Path):
    import polars as pl

    from custlab.rfm import rfm_table

    return rfm_table(pl.scan_parquet(folder / "*.parquet"))


def part_two(n_lines: int) -> None:
    print(f"\n## Streaming {n_lines:,} order lines from Parquet ({STREAM_DIR})")
    b = _here()
    wrote = measure("write Parquet (setup, once)", partial(int, n_lines), b.write_parquet, timeout=7200)
    folder = STREAM_DIR / f"lines_{n_lines}"
    size_gb = sum(p.stat().st_size for p in folder.glob("*.parquet")) / 1e9
    status = "" if wrote.seconds == wrote.seconds else f" ({wrote.note})"
    print(f"files: {folder} ({size_gb:.2f} GB on disk); writing them took {wrote.seconds:.1f} s{status}")
    t = measure("custlab rfm_table(scan_parquet)", partial(Path, folder), b.stream_rfm, timeout=7200)
    print(f"{'method':<34}{'seconds':>10}{'peak MB':>10}  note")
    print(f"{t.name:<34}{t.seconds:>10.1f}{t.peak_mb:>10.0f}  {t.note}")
    print(f"peak memory {t.peak_mb / 1024:.2f} GB (target: under 8 GB)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1M lines in memory, 10M streamed")
    parser.add_argument("--lines", type=int, default=None, help="order lines for part 1 (default 10M)")
    parser.add_argument("--stream-lines", type=int, default=None, help="order lines for part 2 (default 100M)")
    parser.add_argument("--lifetimes-timeout", type=float, default=900.0)
    parser.add_argument("--skip-stream", action="store_true")
    parser.add_argument("--clean", action="store_true", help="delete the Parquet files under /tmp and exit")
    args, _ = parser.parse_known_args(argv)  # benchmarks/run.py passes its own arguments along
    if args.clean:
        shutil.rmtree(STREAM_DIR, ignore_errors=True)
        return
    n_lines = args.lines or (1_000_000 if args.quick else 10_000_000)
    n_stream = args.stream_lines or (10_000_000 if args.quick else 100_000_000)
    part_one(n_lines, args.lifetimes_timeout)
    if not args.skip_stream:
        part_two(n_stream)


if __name__ == "__main__":
    main(sys.argv[1:])
