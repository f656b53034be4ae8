"""make_shop grows linearly: the time per customer at 10x the customers, against the smaller shop in the same run.

The anchor is the generator itself at a tenth of the size: a per-customer
Python loop would show as a ratio far above 10. The ratio printed for the big
shop is its time over the small shop's (10 means linear).

Usage: python benchmarks/bench_synthetic.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import measure, print_table  # noqa: E402


def _import():
    from custlab.synthetic import make_shop

    return make_shop


def shop(n: int, make_shop):
    return make_shop(n, seed=1, events_per_customer=1.0).transactions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10k and 100k customers instead of 100k and 1M")
    args = parser.parse_args()
    small = 10_000 if args.quick else 100_000
    rows = [measure(f"make_shop({n:,})", _import, partial(shop, n)) for n in (small, 10 * small)]
    print_table(f"make_shop at {small:,} and {10 * small:,} customers (ratio 10 = linear)", rows)


if __name__ == "__main__":
    main()
