"""Benchmark of custlab.rules: frequent itemsets against pyfim (Borgelt's C eclat) and mlxtend.

Every method runs in its own fresh process (the harness spawns one per row), after the data and
the libraries are loaded; the time is that of the first call, as a user's script or the report
pays it, and the memory is the growth of the resident set during the call. All rows of a case
are measured in the same run, so the ratios hold on a busy machine.

Cases (itemsets must be the same; the script checks the counts):

1. Online Retail (UCI), invoices of the clean data (18,536 baskets, 3,665 items), min_support
   0.005 and 0.002; Groceries (R arules, 9,835 baskets), min_support 0.001. From the polars long
   table (one row per basket and item) to the itemsets: custlab's encoding and its result table
   are timed, and so is pyfim's list building ("end to end"); pyfim handed ready lists is shown
   too. mlxtend fpgrowth runs on its one-hot table (TransactionEncoder, timed).
2. Groceries rules at support 0.001, confidence 0.5 (5,668 rules): custlab against
   mlxtend fpgrowth + association_rules.
3. Instacart size, synthetic: 3M baskets, 50k items with Zipf popularity, about 10 items a
   basket (30M rows) plus planted bundles, min_support 0.001: memory against pyfim. No mlxtend:
   a dense one-hot table (3M x 50k booleans, 150 GB) does not fit.

The goal (issue 21): custlab within 1.5x of pyfim end to end and within 2x of its memory at 3M
baskets. Each row is the fastest of ``REPEATS`` fresh processes (one for the 3M case). Usage: ``python benchmarks/bench_rules.py [--quick]`` (``--quick``: 300k baskets in
case 3) or ``python benchmarks/run.py rules``.
"""

from __future__ import annotations

import json
import os
import sys
from functools import partial
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
# The shared datasets sit beside the repository unless CUSTLAB_DATA says otherwise.
os.environ.setdefault("CUSTLAB_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "data"))
from harness import Timing, print_table  # noqa: E402
from harness import measure as measure_once  # noqa: E402

from custlab import rules  # noqa: E402
from custlab.data.datasets import shared_data_dir  # noqa: E402

RETAIL_SUPPORTS = (0.005, 0.002)
#: Fresh processes per row; the fastest is shown (the others were slowed by the machine's other work).
REPEATS = 5
GROCERIES_SUPPORT = 0.001


# --------------------------------------------------------------------------- data (setup, not timed)


def retail_long() -> pl.DataFrame:
    """Online Retail invoices of the clean data as a long basket table (basket_id, item)."""
    from custlab.data.clean import clean_transactions
    from custlab.data.datasets import load_online_retail

    raw = load_online_retail(shared_data_dir() / "online_retail" / "online_retail.parquet")
    clean, _ = clean_transactions(raw, rules=("cancelled", "returned", "missing_customer"))
    return rules.baskets(clean, by="order_id", item="product_id").select("basket_id", "item")


def groceries_long() -> pl.DataFrame:
    return pl.read_parquet(shared_data_dir() / "groceries" / "groceries.parquet")


def instacart_like(n_baskets: int = 3_000_000, n_items: int = 50_000, seed: int = 0) -> pl.DataFrame:
    """Synthetic long basket table of Instacart size: Zipf item popularity plus planted bundles.

    Sorted by basket, one row per (basket, item) like the output of ``rules.baskets``.
    """
    rng = np.random.default_rng(seed)
    sizes = rng.poisson(9, n_baskets) + 1
    weight = 1.0 / (np.arange(n_items) + 10.0)
    basket = np.repeat(np.arange(n_baskets, dtype=np.int64), sizes)
    item = rng.choice(n_items, size=len(basket), p=weight / weight.sum())
    extra_b, extra_i = [basket], [item]
    for _ in range(20):  # bundles of 4-6 mid-popularity items, each in 0.3% of the baskets
        bundle = rng.choice(np.arange(2_000, 20_000), size=int(rng.integers(4, 7)), replace=False)
        who = rng.choice(n_baskets, size=int(n_baskets * 0.003), replace=False)
        extra_b.append(np.repeat(who, len(bundle)))
        extra_i.append(np.tile(bundle, len(who)))
    frame = pl.DataFrame({"basket_id": np.concatenate(extra_b), "item": np.concatenate(extra_i) + 100_000})
    return frame.unique().sort("basket_id", "item")


def _lists(long: pl.DataFrame) -> list[list]:
    return long.group_by("basket_id").agg("item")["item"].to_list()


def with_pyfim(setup):
    """The setup's data, with pyfim imported (its import is not timed)."""
    import fim  # noqa: F401

    return setup()


def with_lists(setup):
    """pyfim handed its input: the lists are built in the setup."""
    import fim  # noqa: F401

    return _lists(setup())


def with_mlxtend(setup):
    import mlxtend.frequent_patterns  # noqa: F401
    import mlxtend.preprocessing  # noqa: F401
    import pandas  # noqa: F401

    return setup()


# --------------------------------------------------------------------------- methods (timed)


def custlab_itemsets(long: pl.DataFrame, min_support: float) -> pl.DataFrame:
    return rules.frequent_itemsets(long, min_support=min_support)


def pyfim_eclat(long: pl.DataFrame, min_support: float) -> list:
    import fim

    return fim.eclat(_lists(long), target="s", supp=100 * min_support, zmin=1, report="a")


def pyfim_on_lists(lists: list[list], min_support: float) -> list:
    import fim

    return fim.eclat(lists, target="s", supp=100 * min_support, zmin=1, report="a")


def _one_hot(long: pl.DataFrame):
    import pandas as pd
    from mlxtend.preprocessing import TransactionEncoder

    lists = _lists(long)
    encoder = TransactionEncoder()
    return pd.DataFrame(encoder.fit(lists).transform(lists), columns=encoder.columns_)


def mlxtend_fpgrowth(long: pl.DataFrame, min_support: float):
    from mlxtend.frequent_patterns import fpgrowth

    return fpgrowth(_one_hot(long), min_support=min_support, use_colnames=True)


def mlxtend_rules(long: pl.DataFrame):
    from mlxtend.frequent_patterns import association_rules, fpgrowth

    itemsets = fpgrowth(_one_hot(long), min_support=GROCERIES_SUPPORT, use_colnames=True)
    found = association_rules(itemsets, num_itemsets=long["basket_id"].n_unique(),
                              metric="confidence", min_threshold=0.5)
    return found[found["consequents"].map(len) == 1]


def custlab_rules(long: pl.DataFrame) -> pl.DataFrame:
    itemsets = rules.frequent_itemsets(long, min_support=GROCERIES_SUPPORT)
    return rules.association_rules(itemsets, min_confidence=0.5, min_len=1)


# --------------------------------------------------------------------------- report


def measure(name: str, setup, fn, *, timeout: float = 3600, repeats: int | None = None) -> Timing:
    """The fastest of ``repeats`` runs, each in a fresh process (the first call there), with its peak memory."""
    runs = [measure_once(name, setup, fn, timeout=timeout) for _ in range(repeats or REPEATS)]
    ok = [r for r in runs if r.seconds == r.seconds]
    return min(ok, key=lambda r: r.seconds) if ok else runs[0]


def _pyfim_available() -> bool:
    try:
        import fim  # noqa: F401
    except ImportError:
        print("pyfim is not installed (pip install pyfim): its rows are skipped")
        return False
    return True


#: Every table printed, for ``--json``: title and rows (name, seconds, peak MB, note).
RESULTS: list[dict] = []


def table(title: str, rows: list[Timing], anchor: str | None) -> None:
    """The harness's table (ratio = method's time / custlab's), then custlab against ``anchor``."""
    print_table(title, rows)
    RESULTS.append({"title": title, "rows": [{"name": t.name, "seconds": t.seconds, "peak_mb": t.peak_mb, "note": t.note}
                                             for t in rows]})
    ref = next((t for t in rows if t.name == anchor), None)
    ours = rows[0]
    if ref is not None and ref.seconds > 0 and ours.seconds == ours.seconds:
        ratio = ours.seconds / ref.seconds
        memory = f", memory {ours.peak_mb:.0f} MB against {ref.peak_mb:.0f} MB" if ref.peak_mb > 0 else ""
        print(f"custlab / {anchor}: time {ratio:.2f}x{memory} -> goal 1.5x {'met' if ratio <= 1.5 else 'NOT met'}")


def itemset_case(title: str, setup, min_support: float, *, fim_ok: bool, mlxtend: bool = True) -> None:
    rows = [measure("custlab frequent_itemsets", setup, partial(custlab_itemsets, min_support=min_support))]
    if fim_ok:
        rows.append(measure("pyfim eclat (lists built, end to end)", partial(with_pyfim, setup),
                            partial(pyfim_eclat, min_support=min_support)))
        rows.append(measure("pyfim eclat (handed its lists)", partial(with_lists, setup),
                            partial(pyfim_on_lists, min_support=min_support)))
    if mlxtend:
        rows.append(measure("mlxtend fpgrowth (TransactionEncoder)", partial(with_mlxtend, setup),
                            partial(mlxtend_fpgrowth, min_support=min_support)))
    table(title, rows, "pyfim eclat (lists built, end to end)" if fim_ok else None)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    quick = "--quick" in argv
    json_path = next((a.split("=", 1)[1] for a in argv if a.startswith("--json=")), None)
    load_before = os.getloadavg()
    fim_ok = _pyfim_available()
    print(f"machine: {os.cpu_count()} cores, load average {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print("result = shape of the table (custlab, mlxtend) or number of itemsets (pyfim): it must agree")

    for support in RETAIL_SUPPORTS:
        itemset_case(f"Online Retail invoices, min_support {support}: long table -> frequent itemsets",
                     retail_long, support, fim_ok=fim_ok)
    itemset_case(f"Groceries, min_support {GROCERIES_SUPPORT}: long table -> frequent itemsets",
                 groceries_long, GROCERIES_SUPPORT, fim_ok=fim_ok)
    table("Groceries: itemsets + single-consequent rules at support 0.001, confidence 0.5",
          [measure("custlab", groceries_long, custlab_rules),
           measure("mlxtend fpgrowth + association_rules", partial(with_mlxtend, groceries_long), mlxtend_rules)],
          None)

    n = 300_000 if quick else 3_000_000
    setup = partial(instacart_like, n)
    once = {"timeout": 900, "repeats": 1}
    rows = [measure("custlab frequent_itemsets", setup, partial(custlab_itemsets, min_support=0.001), **once)]
    if fim_ok:
        rows.append(measure("pyfim eclat (lists built, end to end)", partial(with_pyfim, setup),
                            partial(pyfim_eclat, min_support=0.001), **once))
        rows.append(measure("pyfim eclat (handed its lists)", partial(with_lists, setup),
                            partial(pyfim_on_lists, min_support=0.001), **once))
    table(f"Instacart size (synthetic): {n:,} baskets, 50,000 items, min_support 0.001", rows, None)
    if fim_ok and len(rows) == 3 and rows[1].peak_mb > 0:
        ratio = rows[0].peak_mb / rows[1].peak_mb
        print(f"goal memory <= 2 x pyfim end to end: {ratio:.2f}x -> {'met' if ratio <= 2 else 'NOT met'}"
              f" (against pyfim handed its lists: {rows[0].peak_mb / rows[2].peak_mb:.1f}x)")
    if json_path:
        Path(json_path).write_text(json.dumps({"load_before": load_before, "load_after": os.getloadavg(),
                                               "cores": os.cpu_count(), "baskets": n, "tables": RESULTS}, indent=1))


if __name__ == "__main__":
    main()
