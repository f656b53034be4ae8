"""Demand forecasting: speed on 10,000 weekly series beside statsmodels, and accuracy on Online Retail I + II.

Speed (``--part speed``): 10,000 weekly series of two years (104 weeks of
Poisson demand with a yearly season and a level drawn per series), a
rolling-origin backtest (3 windows of 13 weeks, every auto model refitted at
each cutoff) and the 13-week forecast of each series by the model it chose:
``custlab.forecast.forecast(panel, horizon=13)`` on all cores. Anchors on
the same data in the same run: statsforecast's AutoETS alone (the same
backtest and forecast), and statsmodels' ``ETSModel`` (additive errors and
trend, the closest statsmodels has to AutoETS) fitted series by series in a
loop, over a sample of ``--sample`` series and scaled to 10,000 (the note says
so). Prophet is timed when it imports.

Accuracy (``--part accuracy``): Online Retail II's 2009-2010 sheet plus
Online Retail from 2010-12-10 (2009-12-01..2011-12-09 once), product lines of
all customers without cancellations, returns, free lines, postage or fees;
revenue per country and per top product (by revenue), weekly and monthly; a
rolling-origin backtest with a 3-month horizon (13 weeks or 3 months, 3
windows) of every auto model: weighted MASE and WAPE of each model, of auto's
choice and of the two baselines, printed as the README table.

    python benchmarks/bench_forecast.py [--part speed|accuracy|all] [--series N] [--sample N] [--products N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
import warnings
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import Timing, measure, print_table  # noqa: E402

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

WEEKS = 104
HORIZON = 13


def make_panel(n_series: int, seed: int = 0) -> pl.DataFrame:
    """Weekly demand: Poisson around a level (log-normal) times a yearly season of random phase and size."""
    rng = np.random.default_rng(seed)
    t = np.arange(WEEKS)
    level = rng.lognormal(3.0, 1.0, n_series)
    season = 1 + rng.uniform(0, 0.6, (n_series, 1)) * np.sin(2 * np.pi * (t / 52 + rng.random((n_series, 1))))
    values = rng.poisson(level[:, None] * season).astype(float)
    weeks = pl.date_range(dt.date(2023, 1, 2), dt.date(2023, 1, 2) + dt.timedelta(weeks=WEEKS - 1), "1w", eager=True)
    return pl.DataFrame({
        "series_id": np.repeat([f"s{i:05d}" for i in range(n_series)], WEEKS),
        "period": pl.concat([weeks] * n_series),
        "value": values.ravel(),
    })


class cpu_timed:  # noqa: N801 - used like a decorator
    """``fn`` that also prints the CPU seconds it used, its worker processes included (picklable for spawn).

    Wall time on a shared machine depends on the other work running; CPU time
    divided by the cores is about what the same run takes on an idle machine.
    """

    def __init__(self, fn) -> None:
        self.fn = fn

    def __call__(self, *args, **kwargs):
        import resource

        def used() -> float:
            return sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
                       for f in ("ru_utime", "ru_stime"))

        start = used()
        out = self.fn(*args, **kwargs)
        name = getattr(self.fn, "__name__", None) or self.fn.func.__name__
        print(f"    {name}: {used() - start:.1f} CPU s", flush=True)
        return out


def run_custlab(panel: pl.DataFrame, refit: bool = True):
    from custlab.forecast import forecast

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return forecast(panel, horizon=HORIZON, n_jobs=-1, refit=refit).table


def run_autoets(panel: pl.DataFrame):
    from custlab.forecast import forecast

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return forecast(panel, horizon=HORIZON, models="ets", n_jobs=-1).table  # one model, no backtest


def run_autoets_backtest(panel: pl.DataFrame):
    from custlab.forecast import backtest

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return backtest(panel, horizon=HORIZON, models=["ets"], n_jobs=-1).table


def run_statsmodels(panel: pl.DataFrame, sample: int):
    """statsmodels ETSModel (additive error and trend) on ``sample`` series: 3 backtest fits + 1 final fit each."""
    import pandas as pd
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    ids = panel["series_id"].unique().sort().head(sample)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _, group in panel.filter(pl.col("series_id").is_in(ids.implode())).group_by("series_id"):
            frame = group.sort("period")
            y = pd.Series(frame["value"].to_numpy(), index=pd.DatetimeIndex(frame["period"].to_list(), freq="W-MON"))
            for cut in (WEEKS - 3 * HORIZON, WEEKS - 2 * HORIZON, WEEKS - HORIZON, WEEKS):
                fit = ETSModel(y.iloc[:cut], error="add", trend="add", damped_trend=True).fit(disp=False)
                prediction = fit.get_prediction(cut, cut + HORIZON - 1)
                out.append((prediction.predicted_mean, prediction.pred_int(alpha=0.05)))
    return out


def run_prophet(panel: pl.DataFrame, sample: int):
    import logging

    from prophet import Prophet

    logging.getLogger("cmdstanpy").setLevel(logging.WARNING)
    logging.getLogger("cmdstanpy").propagate = False
    ids = panel["series_id"].unique().sort().head(sample)
    out = []
    for _, group in panel.filter(pl.col("series_id").is_in(ids.implode())).group_by("series_id"):
        frame = group.sort("period").select(ds="period", y="value").to_pandas()
        for cut in (WEEKS - 3 * HORIZON, WEEKS - 2 * HORIZON, WEEKS - HORIZON, WEEKS):
            model = Prophet(weekly_seasonality=False, daily_seasonality=False).fit(frame.head(cut))
            out.append(model.predict(model.make_future_dataframe(HORIZON, freq="W-MON").tail(HORIZON)))
    return out


CASES = ("auto", "norefit", "ets", "statsmodels", "prophet")


def speed(n_series: int, sample: int, cases: tuple[str, ...] = CASES) -> None:
    setup = partial(make_panel, n_series)
    rows = []
    if "auto" in cases:
        rows.append(measure("custlab auto (backtest + forecast)", setup, cpu_timed(run_custlab)))
    if "norefit" in cases:
        rows.append(measure("custlab auto, refit=False", setup, cpu_timed(partial(run_custlab, refit=False))))
    if "ets" in cases:
        rows.append(measure("statsforecast AutoETS backtest", setup, cpu_timed(run_autoets_backtest)))
        rows.append(measure("statsforecast AutoETS forecast", setup, cpu_timed(run_autoets)))
    for name, fn in (("statsmodels ETSModel", run_statsmodels), ("prophet", run_prophet)):
        if name.split()[0] not in cases:
            continue
        part = measure(f"{name} ({sample} series)", setup, cpu_timed(partial(fn, sample=sample)))
        scaled = part.seconds * n_series / sample
        rows.append(Timing(f"{name} x{n_series // sample} (scaled)", scaled, part.peak_mb,
                           f"{part.seconds:.1f} s for {sample} series, 1 core; {part.note}"))
    print_table(f"{n_series:,} weekly series x {WEEKS} weeks: 3-window backtest + {HORIZON}-week forecast", rows)


# -- accuracy on Online Retail I + II ------------------------------------------------------------------------
def retail_demand(data: Path) -> pl.DataFrame:
    def lines(path: Path, invoice: str, price: str) -> pl.LazyFrame:
        return (
            pl.scan_parquet(path)
            .filter(~pl.col(invoice).str.starts_with("C") & (pl.col("Quantity") > 0) & (pl.col(price) > 0)
                    & pl.col("StockCode").str.contains(r"^\d"))
            .select(order_date=pl.col("InvoiceDate"), amount=pl.col("Quantity") * pl.col(price),
                    product_id=pl.col("StockCode"), country=pl.col("Country"))
        )

    second = lines(data / "online_retail_ii" / "online_retail_ii_2009_2010.parquet", "Invoice", "Price")
    first = lines(data / "online_retail" / "online_retail.parquet", "InvoiceNo", "UnitPrice")
    return pl.concat([second, first.filter(pl.col("order_date") >= dt.datetime(2010, 12, 10))]).collect()


def accuracy(data: Path, products: int) -> None:
    from custlab.forecast import backtest, series

    tx = retail_demand(data)
    top = tx.group_by("product_id").agg(pl.col("amount").sum()).sort("amount", descending=True).head(products)
    print(f"\n## Online Retail I + II, {tx.height:,} lines, {tx['order_date'].min():%Y-%m-%d}..{tx['order_date'].max():%Y-%m-%d}")
    print("| series | freq | n | model | weighted MASE | WAPE | 80% cover | 95% cover | chosen for |")
    print("|---|---|---|---|---|---|---|---|---|")
    for by, label, frame in (("country", "country", tx),
                             ("product_id", f"top {products} products", tx.join(top.select("product_id"), on="product_id"))):
        for freq, horizon in (("1w", 13), ("1mo", 3)):
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = backtest(series(frame, by=by, freq=freq), horizon=horizon)
            seconds = time.perf_counter() - start
            overall = result.table.filter(pl.col("series_id").is_null()).sort("mase", nulls_last=True)
            picks = dict(result.chosen.group_by("model").len().iter_rows())
            for row in overall.iter_rows(named=True):
                cover = [f"{row[c]:.2f}" if row[c] is not None else "" for c in ("coverage_80", "coverage_95")]
                print(f"| {label} | {freq} | {row['n_series']} | {row['model']} | {row['mase']:.3f} | {row['wape']:.3f} | "
                      f"{cover[0]} | {cover[1]} | {picks.get(row['model'], '')} |")
            s = result.summary
            print(f"| {label} | {freq} | common {s['n_series'][0]} | auto vs naive vs seasonal naive | "
                  + " / ".join(f"{v:.3f}" for v in s["mase"].to_list()) + f" | | | | trusted={result.trusted}, {seconds:.0f} s |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("speed", "accuracy", "all"), default="all")
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=100)
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument("--cases", default=",".join(CASES), help=f"speed cases, comma-separated, of {CASES}")
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    args = parser.parse_args()
    if args.part in ("accuracy", "all"):
        accuracy(args.data, args.products)
    if args.part in ("speed", "all"):
        speed(args.series, args.sample, tuple(args.cases.split(",")))


if __name__ == "__main__":
    main()
