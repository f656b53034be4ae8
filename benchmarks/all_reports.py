"""``custlab report`` on every complete month of every shared dataset, then a scan of what it wrote (issue 13).

For each dataset, the command runs once per complete month that has three
complete months of history before it (in order, into one output folder, so
each month is compared with the one before, as a shop running it monthly
would see), in English, and in Chinese for a few months. ``--all-months``
adds the first three months, where the report must say that CLV and the
early-warning list need a longer history. Each output is then read the way a
reviewer would: the visible text of ``monthly_report.html``,
``key_figures.json`` (strict JSON) and every CSV in ``exports/``, looking for
``nan``, ``inf``, ``None``/``null``, tracebacks, failed sections and sections
left out. The table printed at the end has one row per run.

Datasets (from ``CUSTLAB_DATA``, default ``../shared/data``):

- the built-in shop (5,000 customers, 2023-01 to 2024-12);
- UCI Online Retail (2010-12 to 2011-11) and Online Retail II (2009-12 to 2010-11), read as they are;
- Olist: the partial orders table joined to its items (one line per item, ``amount`` = price),
  payments (``payment_type``) and customers (``customer_unique_id`` as the customer, the state as
  region), products (category in English); delivered, shipped, invoiced and approved orders only;
- Ta-Feng: one order per customer and day, ``amount`` = SALES_PRICE, product subclass as category,
  age group and residence area in a customers table;
- REES46 events are left out: they cover 2 h 50 min of one day, no complete month.

Usage::

    python benchmarks/all_reports.py                 # every month (about 100 runs; 10-30 minutes)
    python benchmarks/all_reports.py --sample 3      # three months per dataset (first, middle, last)
    python benchmarks/all_reports.py --keep reports/all   # keep the reports to read them
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import html
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

DATA = Path(os.environ.get("CUSTLAB_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
#: Words that must never reach a reader (whole words, any case for nan/inf; None/null as written).
BAD_WORDS = re.compile(r"\b(nan|NaN|inf|Infinity|-inf|None|null)\b")
#: Complete months of history a month needs before it is reported.
HISTORY_MONTHS = 3
#: Signs of an error shown instead of a result.
ERRORS = re.compile(r"Traceback|Error:|could not be computed|本节无法计算")


@dataclass
class Dataset:
    name: str
    data: str | None  # path for --data, None for the built-in shop
    months: list[str]
    extra: list[str] = field(default_factory=list)  # e.g. ["--currency", "BRL"]


@dataclass
class Run:
    dataset: str
    month: str
    language: str
    seconds: float
    code: int
    skipped: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    folder: Path | None = None


# -- datasets ---------------------------------------------------------------------------------------------------
def _complete_months(first: dt.datetime, last: dt.datetime) -> list[str]:
    """Months fully inside [first, last] (a month counts when the data reach one of its last three days)."""
    months = []
    day = dt.date(first.year, first.month, 1)
    if first.date() > day:  # a month that starts after the data's first day misses its first days
        day = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    while True:
        following = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        if last.date() < following - dt.timedelta(days=3):
            break
        months.append(f"{day:%Y-%m}")
        day = following
    return months


def _span(path: Path, column: str) -> tuple[dt.datetime, dt.datetime]:
    row = pl.scan_parquet(path).select(pl.col(column).min().alias("a"), pl.col(column).max().alias("b")).collect()
    a, b = row["a"][0], row["b"][0]
    as_dt = lambda v: v if isinstance(v, dt.datetime) else dt.datetime.combine(v, dt.time())  # noqa: E731
    return as_dt(a), as_dt(b)


def olist_folder(target: Path) -> Path:
    """Olist's partial orders joined to items, payments, customers and products, as a folder of tables."""
    src = DATA / "olist_brazilian_ecommerce"
    orders = pl.read_parquet(src / "olist_orders_dataset_partial.parquet").filter(
        pl.col("order_status").is_in(["delivered", "shipped", "invoiced", "approved", "processing"]))
    customers = pl.read_parquet(src / "olist_customers_dataset.parquet")
    items = pl.read_parquet(src / "olist_order_items_dataset.parquet")
    payments = (pl.read_parquet(src / "olist_order_payments_dataset.parquet").sort("payment_sequential")
                .group_by("order_id").agg(payment_type=pl.col("payment_type").first()))
    names = pl.read_parquet(src / "product_category_name_translation.parquet")
    products = pl.read_parquet(src / "olist_products_dataset.parquet").join(names, on="product_category_name", how="left")
    transactions = (
        items.join(orders, on="order_id", how="inner")
        .join(customers.select("customer_id", "customer_unique_id"), on="customer_id", how="left")
        .join(payments, on="order_id", how="left")
        .join(products.select("product_id", category=pl.coalesce("product_category_name_english",
                                                                 "product_category_name")), on="product_id", how="left")
        .select(customer_id=pl.col("customer_unique_id"), order_id="order_id", line="order_item_id",
                order_date=pl.col("order_purchase_timestamp"), amount=pl.col("price"), product_id="product_id",
                category="category", payment_type="payment_type")
    )
    people = (customers.group_by("customer_unique_id")
              .agg(region=pl.col("customer_state").first(), city=pl.col("customer_city").first())
              .rename({"customer_unique_id": "customer_id"}))
    folder = target / "olist"
    folder.mkdir(parents=True, exist_ok=True)
    transactions.write_parquet(folder / "transactions.parquet")
    people.filter(pl.col("customer_id").is_in(transactions["customer_id"].implode())).write_parquet(
        folder / "customers.parquet")
    return folder


def ta_feng_folder(target: Path) -> Path:
    """Ta-Feng as transactions (one order per customer and day) and customers (age group, residence area)."""
    raw = pl.read_parquet(DATA / "ta_feng" / "ta_feng.parquet")
    transactions = raw.select(
        customer_id="CUSTOMER_ID", order_id=pl.col("CUSTOMER_ID") + "-" + pl.col("TRANSACTION_DT").cast(pl.String),
        order_date=pl.col("TRANSACTION_DT").cast(pl.Datetime("us")), amount=pl.col("SALES_PRICE").cast(pl.Float64),
        quantity=pl.col("AMOUNT").cast(pl.Float64), product_id="PRODUCT_ID",
        category=pl.col("PRODUCT_SUBCLASS").cast(pl.String))
    people = raw.group_by("CUSTOMER_ID").agg(age_group=pl.col("AGE_GROUP").first(),
                                             region=pl.col("PIN_CODE").first()).rename({"CUSTOMER_ID": "customer_id"})
    folder = target / "ta_feng"
    folder.mkdir(parents=True, exist_ok=True)
    transactions.write_parquet(folder / "transactions.parquet")
    people.write_parquet(folder / "customers.parquet")
    return folder


def datasets(work: Path) -> list[Dataset]:
    out = [Dataset("built-in shop", None, [f"{y}-{m:02d}" for y in (2023, 2024) for m in range(1, 13)])]
    for name, path, column in (
        ("Online Retail", DATA / "online_retail" / "online_retail.parquet", "InvoiceDate"),
        ("Online Retail II", DATA / "online_retail_ii" / "online_retail_ii_2009_2010.parquet", "InvoiceDate"),
    ):
        if path.exists():
            out.append(Dataset(name, str(path), _complete_months(*_span(path, column))))
    if (DATA / "olist_brazilian_ecommerce").exists():
        folder = olist_folder(work)
        out.append(Dataset("Olist", str(folder), _complete_months(*_span(folder / "transactions.parquet", "order_date")),
                           ["--currency", "BRL"]))
    if (DATA / "ta_feng").exists():
        folder = ta_feng_folder(work)
        out.append(Dataset("Ta-Feng", str(folder), _complete_months(*_span(folder / "transactions.parquet", "order_date")),
                           ["--currency", "TWD"]))
    return out


def sample(months: list[str], n: int) -> list[str]:
    """``n`` months spread over the list, always the first and the last."""
    if n <= 0 or n >= len(months):
        return months
    picks = sorted({round(i * (len(months) - 1) / (n - 1)) for i in range(n)}) if n > 1 else [len(months) - 1]
    return [months[i] for i in picks]


# -- running and scanning ---------------------------------------------------------------------------------------
def run_one(ds: Dataset, month: str, language: str, out: Path) -> Run:
    args = [sys.executable, "-m", "custlab.cli", "report", "--quiet", "--out", str(out), "--month", month,
            "--language", language, *ds.extra]
    if ds.data:
        args += ["--data", ds.data]
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True)
    run = Run(ds.name, month, language, time.perf_counter() - start, done.returncode)
    if done.returncode != 0:
        run.problems.append("exit " + str(done.returncode) + ": " + " ".join(done.stderr.split())[:300])
        return run
    page = Path(done.stdout.strip().removeprefix("Report written to ").rsplit(" in ", 1)[0])
    run.folder = page.parent
    run.problems += scan(run.folder)
    figures = json.loads((run.folder / "key_figures.json").read_text(encoding="utf-8"))
    run.skipped = [f"{s['section']}({s['kind']})" for s in figures.get("skipped", [])]
    return run


def visible_text(page: str) -> str:
    page = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    page = re.sub(r'src="data:[^"]*"', "", page)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def scan(folder: Path) -> list[str]:
    """What a reader must never see in the page, the key figures or the exports."""
    problems = []
    text = visible_text((folder / "monthly_report.html").read_text(encoding="utf-8"))
    for match in sorted(set(BAD_WORDS.findall(text))):
        at = text.find(match)
        problems.append(f"html '{match}': …{' '.join(text[max(0, at - 60):at + 20].split())}…")
    for match in sorted(set(ERRORS.findall(text))):
        problems.append(f"html shows an error ({match})")
    raw = (folder / "key_figures.json").read_text(encoding="utf-8")
    try:
        json.loads(raw, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    except ValueError as err:
        problems.append(f"key_figures.json is not strict JSON: {err}")
    if re.search(r":\s*null\b", raw):
        problems.append("key_figures.json holds null")
    for path in sorted((folder / "exports").rglob("*.csv")):
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
        cells = [c for row in rows[1:] for c in row]
        bad = sorted({c for c in cells if c.strip().lower() in {"nan", "inf", "-inf", "infinity", "none", "null"}})
        if bad:
            problems.append(f"{path.relative_to(folder)}: cells {bad}")
        if len(rows) > 1 and not all(len(r) == len(rows[0]) for r in rows):
            problems.append(f"{path.relative_to(folder)}: ragged rows")
    return problems


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", type=int, default=0, help="months per dataset (0: all)")
    parser.add_argument("--zh", type=int, default=2, help="months per dataset also run in Chinese (default 2)")
    parser.add_argument("--keep", type=Path, default=None, help="write the reports here and keep them")
    parser.add_argument("--only", default="", help="comma-separated dataset names to run (default: all)")
    parser.add_argument("--all-months", action="store_true", help="also the first three months of each dataset")
    options = parser.parse_args(argv)
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        out = options.keep or Path(tmp) / "reports"
        runs: list[Run] = []
        print("REES46 events: 2 h 50 min of one day (214 purchases), no complete month; left out", flush=True)
        for ds in datasets(Path(tmp)):
            if options.only and ds.name not in options.only.split(","):
                continue
            eligible = ds.months if options.all_months else ds.months[HISTORY_MONTHS:]
            if not eligible:
                print(f"{ds.name}: no month with {HISTORY_MONTHS} months of history before it; left out", flush=True)
                continue
            months = sample(eligible, options.sample)
            chinese = set(sample(months, options.zh)) if options.zh else set()
            print(f"{ds.name}: {len(ds.months)} complete months ({ds.months[0]} to {ds.months[-1]}), {len(eligible)} "
                  f"with {HISTORY_MONTHS}+ months of history; running "
                  f"{len(months)} in English, {len(chinese)} in Chinese", flush=True)
            for month in months:
                for language in ("en", "zh") if month in chinese else ("en",):
                    run = run_one(ds, month, language, out)
                    runs.append(run)
                    flag = "ok" if not run.problems else f"{len(run.problems)} problem(s)"
                    print(f"  {month} {language} {run.seconds:5.1f} s  {flag}", flush=True)
        report(runs, load)


def report(runs: list[Run], load: float) -> None:
    print(f"\n## custlab report on the shared datasets ({len(runs)} runs; load average {load:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end, on {os.cpu_count()} cores)")
    print(f"{'dataset':<18}{'month':<9}{'lang':<6}{'seconds':>8}  {'exit':<5}{'left out':<58}problems")
    for r in runs:
        left = ", ".join(r.skipped) or "-"
        print(f"{r.dataset:<18}{r.month:<9}{r.language:<6}{r.seconds:>8.1f}  {r.code:<5}{left:<58}"
              f"{len(r.problems) or '-'}")
    bad = [r for r in runs if r.problems]
    for r in bad:
        for problem in r.problems:
            print(f"  {r.dataset} {r.month} {r.language}: {problem}")
    seconds = sorted(r.seconds for r in runs)
    if seconds:
        print(f"\n{len(runs) - len(bad)} of {len(runs)} runs clean; median {seconds[len(seconds) // 2]:.1f} s, "
              f"slowest {seconds[-1]:.1f} s per report.")


if __name__ == "__main__":
    main()
