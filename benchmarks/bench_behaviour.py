"""Funnel and weekday x hour table on synthetic events streamed from Parquet, against the pandas way.

The events (default 50M rows; ``--quick``: 2M) are written once to a Parquet
file under /tmp (``--dir``), never into the repository, and reused by later
runs. Each case reads that file itself, so the time and peak memory include
the read: custlab scans it lazily with polars' streaming engine, pandas loads
the columns it needs and groups in memory.

Usage: python benchmarks/bench_behaviour.py [--quick] [--events N] [--dir /tmp/custlab_bench]
"""

from __future__ import annotations

import argparse
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import compare  # noqa: E402

STEPS = ["view", "cart", "purchase"]
CATEGORIES = [f"cat_{i:02d}" for i in range(20)]
CHUNK = 5_000_000


def make_events(path: Path, n_events: int, seed: int = 0) -> Path:
    """Write ``n_events`` synthetic events (10 a session on average) to ``path`` in chunks."""
    import pyarrow.parquet as pq

    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".partial")
    rng = np.random.default_rng(seed)
    start = np.datetime64("2024-01-01T00:00:00", "us").astype(np.int64)
    span_us = 90 * 86_400 * 1_000_000
    writer = None
    next_session = 0
    done = 0
    begun = time.perf_counter()
    while done < n_events:
        n = min(CHUNK, n_events - done)
        n_sess = max(1, n // 10)
        session = np.sort(rng.integers(0, n_sess, n)) + next_session
        sess_start = start + rng.integers(0, span_us, n_sess)
        offset = rng.exponential(120.0, n) * 1_000_000  # seconds after the session start, rows not in time order
        event_time = sess_start[session - next_session] + offset.astype(np.int64)
        event = rng.choice(3, size=n, p=[0.90, 0.06, 0.04])
        category = rng.integers(0, len(CATEGORIES), n_sess)[session - next_session]
        chunk = pl.DataFrame(
            {
                "customer_id": pl.Series(session // 3, dtype=pl.Int64),
                "session_id": pl.Series(session, dtype=pl.Int64),
                "event_time": pl.Series(event_time, dtype=pl.Int64).cast(pl.Datetime("us")),
                "event": pl.Series(np.array(STEPS)[event]).cast(pl.Categorical),
                "category": pl.Series(np.array(CATEGORIES)[category]).cast(pl.Categorical),
            }
        ).to_arrow()
        if writer is None:
            writer = pq.ParquetWriter(tmp, chunk.schema, compression="zstd")
        writer.write_table(chunk, row_group_size=1_000_000)
        next_session += n_sess
        done += n
    writer.close()
    tmp.rename(path)
    size = path.stat().st_size / 2**20
    print(f"wrote {n_events:,} events to {path} ({size:,.0f} MB) in {time.perf_counter() - begun:.0f} s")
    return path


# --------------------------------------------------------------------------- the two ways


def custlab_funnel(path: Path) -> pl.DataFrame:
    from custlab.funnel import funnel

    return funnel(pl.scan_parquet(path), STEPS, unit="session", mode="ordered")


def pandas_funnel(path: Path):
    """The pandas way: load the columns, earliest view per session, then the earliest later cart, purchase."""
    import pandas as pd

    df = pd.read_parquet(path, columns=["session_id", "event_time", "event"])
    prev = df.loc[df["event"] == "view"].groupby("session_id")["event_time"].min().rename("t_prev")
    units = [len(prev)]
    for step in STEPS[1:]:
        rows = df.loc[df["event"] == step, ["session_id", "event_time"]].join(prev, on="session_id", how="inner")
        prev = rows.loc[rows["event_time"] >= rows["t_prev"]].groupby("session_id")["event_time"].min().rename("t_prev")
        units.append(len(prev))
    return pd.DataFrame({"step": STEPS, "units": units})


def custlab_weekday_hour(path: Path) -> pl.DataFrame:
    from custlab.activity import weekday_hour

    return weekday_hour(pl.scan_parquet(path), measure="events", by="category")


def pandas_weekday_hour(path: Path):
    import pandas as pd

    df = pd.read_parquet(path, columns=["event_time", "category"])
    when = df["event_time"].dt
    out = df.groupby([df["category"], when.dayofweek.rename("weekday"), when.hour.rename("hour")], observed=True).size()
    full = pd.MultiIndex.from_product([out.index.levels[0], range(7), range(24)], names=out.index.names)
    return out.reindex(full, fill_value=0).rename("value").reset_index()


def check_agreement(path: Path) -> None:
    """Same numbers both ways (on the file being timed)."""
    ours = custlab_funnel(path)["units"].to_list()
    theirs = pandas_funnel(path)["units"].tolist()
    assert ours == theirs, (ours, theirs)
    grid = custlab_weekday_hour(path)
    ref = pandas_weekday_hour(path)
    assert grid.height == len(ref) and float(grid["value"].sum()) == float(ref["value"].sum())
    print(f"funnel units agree: {ours}; weekday x hour: {grid.height:,} cells, {int(grid['value'].sum()):,} events")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2M events instead of 50M")
    parser.add_argument("--events", type=int, default=None, help="number of events (overrides --quick)")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/custlab_bench"), help="where the Parquet file goes")
    parser.add_argument("--no-check", action="store_true", help="skip the agreement check")
    args = parser.parse_args(argv)
    n = args.events or (2_000_000 if args.quick else 50_000_000)
    path = make_events(args.dir / f"behaviour_events_{n}.parquet", n)
    if not args.no_check and n <= 5_000_000:
        check_agreement(path)

    setup = partial(Path, path)  # picklable: the harness runs each case in a fresh (spawned) process
    compare(f"ordered funnel view > cart > purchase per session, {n:,} events streamed from Parquet",
            setup, custlab_funnel, {"pandas read_parquet + groupby/join": pandas_funnel})
    compare(f"weekday x hour events per category, {n:,} events streamed from Parquet",
            setup, custlab_weekday_hour, {"pandas read_parquet + groupby": pandas_weekday_hour})
    if not args.no_check and n > 5_000_000:
        check_agreement(path)


if __name__ == "__main__":
    main()
