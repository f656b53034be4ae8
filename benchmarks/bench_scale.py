"""Scale-out: rfm_table and the CLV patterns on N synthetic order lines in Parquet, through DuckDB, polars and Spark.

Data: N order lines (``--lines``, default 1,000,000,000; the README gives the
sizes run) in Parquet files of 10M lines under /tmp/custlab_bench_scale (never in
the repository), made once and reused: N / ``--lines-per-customer`` customers
(default 50: 20M customers for 1B lines), about 2.5 lines per order, orders
spread over two years, amounts in cents. Columns
``customer_id``, ``order_id`` (Int64), ``order_date`` (Datetime), ``amount``.

Cases, each in a fresh process (benchmarks/harness.py), time and peak memory
(the growth of the Python process's resident set; for Spark, the JVM's peak
resident set is added):

- ``rfm duckdb``: ``cl.segments.rfm_table(duckdb.sql("... read_parquet(...)"))``,
  DuckDB limited to ``--duckdb-memory`` (default 6GB) and 2 threads, spilling to /tmp;
  the per-customer table comes back to the driver;
- ``rfm polars``: custlab's own path, ``rfm_table(pl.scan_parquet(...))``
  (polars' streaming engine), the anchor;
- ``clv patterns duckdb`` / ``polars``: ``cl.engine.clv_patterns`` (weeks,
  whole-week grain) and ``spend_patterns(relative_step=1e-3)``: only the
  patterns come back;
- ``rfm spark`` / ``clv patterns spark``: the same calls on
  ``spark.read.parquet`` in local mode on the first files (``--spark-lines``,
  default 100,000,000 lines, rounded up to whole files), ``--spark-memory``
  driver memory.

Then the CLV fit on patterns: BG/NBD and Gamma-Gamma customers simulated from
known parameters (1M, 10M, 100M customers, ``--fit-customers``), aggregated to
patterns chunk by chunk, and fitted; the fit's time depends on the number of
patterns, not of customers, and the parameters come back.

    python benchmarks/bench_scale.py [--lines N] [--spark-lines N] [--quick] [--cases rfm-duckdb,...] [--clean]

``--quick``: 10M lines, 2M for Spark, fits on 1M and 10M customers.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import Timing, measure, print_table  # noqa: E402

DATA_DIR = Path("/tmp/custlab_bench_scale")
FILE_LINES = 10_000_000
DAYS = 730
START = "2022-01-01"


# --------------------------------------------------------------------------- data


def _write_part(path: Path, index: int, n_lines: int, n_customers: int) -> None:
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(index)
    orders = int(n_lines / 2.5)
    sizes = rng.integers(1, 5, orders)  # 1..4 lines per order, mean 2.5
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), n_lines) + 1]
    sizes[-1] -= int(sizes.sum()) - n_lines
    first_order = index * FILE_LINES  # order ids unique across files
    order = np.repeat(np.arange(first_order, first_order + len(sizes)), sizes)
    customer = np.repeat(rng.integers(0, n_customers, len(sizes)), sizes)
    seconds = np.repeat(rng.integers(0, DAYS * 86_400, len(sizes)), sizes)
    amount = np.round(rng.lognormal(2.5, 0.8, n_lines), 2)
    start = np.datetime64(START, "us")
    pl.DataFrame({
        "customer_id": customer, "order_id": order,
        "order_date": start + seconds.astype("timedelta64[s]").astype("timedelta64[us]"), "amount": amount,
    }).write_parquet(path, row_group_size=1_000_000)


def make_data(n_lines: int, lines_per_customer: int) -> Path:
    """Parquet files of ``n_lines`` lines in a folder of their own (made once)."""
    folder = DATA_DIR / f"lines_{n_lines}_per_{lines_per_customer}"
    done = folder / "_done"
    if done.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    n_customers = max(n_lines // lines_per_customer, 1)
    parts = -(-n_lines // FILE_LINES)
    started = time.perf_counter()
    for i in range(parts):
        size = min(FILE_LINES, n_lines - i * FILE_LINES)
        _write_part(folder / f"part-{i:04d}.parquet", i, size, n_customers)
        print(f"  wrote part {i + 1}/{parts} ({time.perf_counter() - started:.0f} s)", flush=True)
    done.write_text(str(n_lines))
    return folder


def first_files(folder: Path, n_lines: int) -> list[str]:
    """The first files holding at least ``n_lines`` lines (whole files)."""
    files = sorted(str(p) for p in folder.glob("part-*.parquet"))
    return files[: max(1, -(-n_lines // FILE_LINES))]


# --------------------------------------------------------------------------- cases


def _duckdb(folder: str, memory: str):
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{memory}'")
    con.execute("SET threads = 2")
    con.execute(f"SET temp_directory = '{DATA_DIR / 'spill'}'")
    con.execute("SET preserve_insertion_order = false")
    return con.sql(f"SELECT * FROM read_parquet('{folder}/part-*.parquet')")


def _scan(folder: str):
    import polars as pl

    return pl.scan_parquet(f"{folder}/part-*.parquet")


def _patterns(frame):
    from custlab import engine

    return (engine.clv_patterns(frame, freq="W", grain="period"),
            engine.spend_patterns(frame, freq="W", grain="period", relative_step=1e-3))


def rfm_duckdb(setup_args):
    import custlab as cl

    return cl.segments.rfm_table(_duckdb(*setup_args))


def rfm_polars(setup_args):
    import custlab as cl

    return cl.segments.rfm_table(_scan(setup_args[0]))


def patterns_duckdb(setup_args):
    return _patterns(_duckdb(*setup_args))


def patterns_polars(setup_args):
    return _patterns(_scan(setup_args[0]))


def _java_peak_mb() -> float:
    """Peak resident set of this process's Java children (Spark's JVM), in MB."""
    me, total = os.getpid(), 0.0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() == str(me) and "java" in fields.get("Name", ""):
            total += int(fields.get("VmHWM", "0 kB").split()[0]) / 1024
    return total


def _spark_run(setup_args, what: str):
    import custlab as cl
    from custlab import engine

    files, memory = setup_args
    spark = engine.spark.local_session(cores=2, memory=memory, config={"spark.sql.shuffle.partitions": "16"})
    frame = spark.read.parquet(*files)
    out = cl.segments.rfm_table(frame) if what == "rfm" else _patterns(frame)
    print(f"    spark JVM peak resident set: {_java_peak_mb():,.0f} MB", flush=True)
    spark.stop()
    return out


def _setup(args):
    return args


# --------------------------------------------------------------------------- CLV fit on patterns


TRUE_BG = {"r": 0.8, "alpha": 6.0, "a": 0.6, "b": 2.5}
TRUE_GG = {"p": 6.0, "q": 4.0, "v": 15.0}


def _simulate_patterns(n_customers: int, *, seed: int = 0, chunk: int = 5_000_000):
    """BG/NBD + Gamma-Gamma customers with known parameters, as (frequency, recency, T) and spend patterns.

    T in whole weeks (uniform in 1..104), recency in whole days: patterns bounded by the
    history's length, as ``clv_patterns`` gives them. Spend means are grouped as
    ``spend_patterns(relative_step=1e-3)`` does.
    """
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    counts, spends = [], []
    step = np.log1p(1e-3)
    for start in range(0, n_customers, chunk):
        m = min(chunk, n_customers - start)
        T = rng.integers(1, 105, m).astype(float)
        lam = rng.gamma(TRUE_BG["r"], 1 / TRUE_BG["alpha"], m)
        p = rng.beta(TRUE_BG["a"], TRUE_BG["b"], m)
        alive_for = rng.geometric(p)  # dropout after the k-th repeat purchase (never at the first purchase)
        n = rng.poisson(lam * T)
        x = np.minimum(alive_for, n)
        tx = np.where(x > 0, T * rng.beta(np.maximum(x, 1), np.maximum(n - x + 1, 1)), 0.0)
        recency = np.floor(tx * 7) / 7  # whole days, in weeks
        nu = rng.gamma(TRUE_GG["q"], 1 / TRUE_GG["v"], m)
        mean = np.where(x > 0, rng.gamma(TRUE_GG["p"] * np.maximum(x, 1), 1.0) / (nu * np.maximum(x, 1)), 0.0)
        frame = pl.DataFrame({"frequency": x, "recency": recency, "T": T, "m": mean})
        counts.append(frame.group_by("frequency", "recency", "T").agg(weight=pl.len()))
        repeat = frame.filter(pl.col("frequency") > 0).with_columns(_bin=(pl.col("m").log() / step).floor())
        spends.append(repeat.group_by("frequency", "_bin").agg(s=pl.col("m").sum(), weight=pl.len()))
    count_table = pl.concat(counts).group_by("frequency", "recency", "T").agg(pl.col("weight").sum())
    spend_table = (pl.concat(spends).group_by("frequency", "_bin").agg(pl.col("s").sum(), pl.col("weight").sum())
                   .select("frequency", monetary_value=pl.col("s") / pl.col("weight"), weight="weight"))
    return count_table, spend_table


def fit_patterns(n_customers: int) -> None:
    import custlab as cl

    started = time.perf_counter()
    counts, spend = _simulate_patterns(n_customers)
    made = time.perf_counter() - started
    started = time.perf_counter()
    bgf = cl.clv.BetaGeo(freq="W").fit(counts)
    bg_seconds = time.perf_counter() - started
    started = time.perf_counter()
    ggf = cl.clv.GammaGamma(correlation_warning=1.0).fit(spend)
    gg_seconds = time.perf_counter() - started
    bg = ", ".join(f"{k} {bgf.params_[k]:.3f} ({TRUE_BG[k]})" for k in TRUE_BG)
    gg = ", ".join(f"{k} {ggf.params_[k]:.3f} ({TRUE_GG[k]})" for k in TRUE_GG)
    print(f"{n_customers:>13,} {counts.height:>10,} {spend.height:>10,} {made:>10.1f} {bg_seconds:>9.2f} "
          f"{gg_seconds:>9.2f}   {bg}; {gg}", flush=True)


# --------------------------------------------------------------------------- main


CASES = ("rfm-duckdb", "rfm-polars", "patterns-duckdb", "patterns-polars", "rfm-spark", "patterns-spark", "fit")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000_000)
    parser.add_argument("--spark-lines", type=int, default=100_000_000)
    parser.add_argument("--lines-per-customer", type=int, default=50)
    parser.add_argument("--fit-customers", default="1000000,10000000,100000000")
    parser.add_argument("--duckdb-memory", default="6GB")
    parser.add_argument("--spark-memory", default="6g")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--clean", action="store_true", help="delete the generated data afterwards")
    args = parser.parse_args(argv)
    if args.quick:
        args.lines, args.spark_lines, args.fit_customers = 10_000_000, 2_000_000, "1000000,10000000"
    cases = args.cases.split(",")
    print(f"load average before: {os.getloadavg()}", flush=True)
    folder = make_data(max(args.lines, args.spark_lines), args.lines_per_customer) if set(cases) - {"fit"} else None
    rows: dict[str, list[Timing]] = {"rfm": [], "patterns": []}
    timeout = 6 * 3600
    duck = (str(folder), args.duckdb_memory)
    spark = (first_files(folder, args.spark_lines), args.spark_memory) if folder else None
    spark_lines = len(spark[0]) * FILE_LINES if spark else 0
    plan = {
        "rfm-polars": ("rfm", f"rfm_table polars streaming {args.lines:,}", rfm_polars, duck),
        "rfm-duckdb": ("rfm", f"rfm_table DuckDB {args.lines:,}", rfm_duckdb, duck),
        "rfm-spark": ("rfm", f"rfm_table Spark local[2] {spark_lines:,}", partial(_spark_run, what="rfm"), spark),
        "patterns-polars": ("patterns", f"CLV patterns polars {args.lines:,}", patterns_polars, duck),
        "patterns-duckdb": ("patterns", f"CLV patterns DuckDB {args.lines:,}", patterns_duckdb, duck),
        "patterns-spark": ("patterns", f"CLV patterns Spark local[2] {spark_lines:,}",
                           partial(_spark_run, what="patterns"), spark),
    }
    for case, (group, name, fn, setup_args) in plan.items():
        if case in cases:
            print(f"running {name} ...", flush=True)
            rows[group].append(measure(name, partial(_setup, setup_args), fn, timeout=timeout))
            t = rows[group][-1]
            print(f"  {t.seconds:.1f} s, peak {t.peak_mb:,.0f} MB, {t.note}", flush=True)
    for group, title in (("rfm", "rfm_table (one row per customer comes back)"),
                         ("patterns", "CLV patterns (only the patterns come back)")):
        if rows[group]:
            print_table(title, rows[group])
    if "fit" in cases:
        print("\n## BG/NBD + Gamma-Gamma fitted on patterns (true values in brackets)")
        print(f"{'customers':>13} {'patterns':>10} {'spend':>10} {'simulate':>10} {'BG/NBD s':>9} {'GG s':>9}")
        for n in (int(v) for v in args.fit_customers.split(",")):
            fit_patterns(n)
    print(f"\nload average after: {os.getloadavg()}")
    if args.clean:
        shutil.rmtree(DATA_DIR, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
