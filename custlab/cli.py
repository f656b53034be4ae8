"""The ``custlab`` command: ``custlab report`` runs the main job and prints where the report is."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from custlab.exceptions import CustlabError


def _columns(text: str) -> dict[str, str]:
    try:
        mapping = json.loads(text)
    except json.JSONDecodeError:
        mapping = None
    if not isinstance(mapping, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
        raise argparse.ArgumentTypeError(
            f'--columns takes a JSON object of user name to canonical name, e.g. \'{{"InvoiceDate": "order_date"}}\'; got {text!r}'
        )
    return mapping


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "data"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="custlab", description="Customer analytics reports from the command line.")
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="run the main report notebook and write HTML under --out")
    rep.add_argument("--data", type=Path, default=None,
                     help="transactions file (CSV, Parquet, Excel); default: the built-in synthetic shop")
    rep.add_argument("--columns", type=_columns, default=None, help="JSON mapping of your column names to canonical ones")
    rep.add_argument("--out", type=Path, default=Path("reports"), help="output folder (default: reports/)")
    rep.add_argument("--customers", type=int, default=5000, help="size of the synthetic shop (default 5000)")
    rep.add_argument("--seed", type=int, default=0, help="seed of the synthetic shop (default 0)")
    rep.add_argument("--as-of", default=None, help="analysis date YYYY-MM-DD (default: day after the last order)")
    rep.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def report(args: argparse.Namespace) -> Path:
    if args.data is not None and not args.data.exists():
        raise CustlabError(f"--data {args.data}: no such file.")
    if args.customers <= 0:
        raise CustlabError(f"--customers must be a positive number, got {args.customers}.")
    if args.as_of is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", args.as_of):
        raise CustlabError(f"--as-of must look like 2011-12-10, got {args.as_of!r}.")
    from custlab.report import check_output_dir, run_notebook

    label = _slug(args.data.stem) if args.data else f"synthetic-shop-{args.customers}-seed{args.seed}"
    out_dir = check_output_dir(args.out) / f"data-quality-{label}"
    params = {
        "data_path": str(args.data.resolve()) if args.data else "",
        "columns": args.columns or {},
        "n_customers": args.customers,
        "seed": args.seed,
        "as_of": args.as_of or "",
    }
    return run_notebook("data_quality", out_dir, params, progress=not args.quiet)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        path = report(args)
    except CustlabError as err:
        print(f"custlab: {err}", file=sys.stderr)
        return 2
    print(f"Report written to {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
