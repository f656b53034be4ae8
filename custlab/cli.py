"""The ``custlab`` command.

``custlab report`` runs the monthly report notebook with papermill and writes,
under ``--out/<data>/<month>/``, the executed notebook, an HTML report with the
code hidden, ``key_figures.json`` and the customer lists in ``exports/``.
``custlab quality`` writes the data-quality report. Parameters are checked
before any notebook runs.
"""

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


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=None,
                        help="transactions file (CSV, Parquet, Excel) or folder of tables; default: the synthetic shop")
    parser.add_argument("--columns", type=_columns, default=None,
                        help='JSON mapping of your column names to canonical ones, e.g. \'{"InvoiceDate": "order_date"}\'')
    parser.add_argument("--out", type=Path, default=Path("reports"), help="output folder (default: reports/)")
    parser.add_argument("--customers", type=int, default=5000, help="size of the synthetic shop (default 5000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic shop and of the models (default 0)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="custlab", description="Customer analytics reports from the command line.")
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="the monthly customer report (HTML, key figures, CRM exports)")
    _common(rep)
    rep.add_argument("--month", default="", help="month to analyse, YYYY-MM (default: the last month of the data)")
    rep.add_argument("--language", default="en", choices=["en", "zh"], help="report language (default en)")
    rep.add_argument("--sample-size", type=int, default=0, help="analyse a random sample of this many customers (0: all)")
    qual = sub.add_parser("quality", help="the data-quality report of a dataset")
    _common(qual)
    qual.add_argument("--as-of", default="", help="analysis date YYYY-MM-DD (default: no date cut)")
    return parser


def _check_source(args: argparse.Namespace) -> None:
    """Fail early on a missing file, a mapping of columns the file lacks, or a bad size."""
    if args.customers <= 0:
        raise CustlabError(f"--customers must be a positive number, got {args.customers}.")
    if args.data is None:
        return
    if not args.data.exists():
        raise CustlabError(f"--data {args.data}: no such file or folder.")
    if args.columns and args.data.is_file():
        from custlab.io import scan

        present = scan(args.data).collect_schema().names()
        unknown = [name for name in args.columns if name not in present]
        if unknown:
            raise CustlabError(f"--columns names {unknown}, which {args.data.name} does not have. Columns present: {present}.")


def label(args: argparse.Namespace) -> str:
    """The output folder of a data source; a sampled run gets a folder of its own."""
    base = _slug(args.data.stem) if args.data else f"synthetic-shop-{args.customers}-seed{args.seed}"
    sample = getattr(args, "sample_size", 0)
    return f"{base}-sample{sample}-seed{args.seed}" if sample else base


def report(args: argparse.Namespace) -> Path:
    """Validate the parameters, then run ``notebooks/monthly_report.ipynb``; return the HTML path."""
    from custlab.monthly import check_month_in_data, latest_month, parse_month
    from custlab.report import check_output_dir, run_notebook

    if args.month:
        parse_month(args.month)
    if args.sample_size < 0:
        raise CustlabError(f"--sample-size must be 0 (all customers) or positive, got {args.sample_size}.")
    _check_source(args)
    out_root = check_output_dir(args.out)
    from custlab.datasets import load_tables

    print("custlab: reading the data ...", file=sys.stderr, flush=True)
    tables = load_tables(args.data, columns=args.columns, n_customers=args.customers, seed=args.seed)
    month = args.month or latest_month(tables["transactions"])
    check_month_in_data(tables["transactions"], month)
    out_dir = check_output_dir(out_root / label(args) / month)
    params = {
        "data_path": str(args.data.resolve()) if args.data else "",
        "columns": args.columns or {},
        "month": month,
        "out_dir": str(out_dir.resolve()),
        "language": args.language,
        "seed": args.seed,
        "n_customers": args.customers,
        "sample_size": args.sample_size,
    }
    print(f"custlab: monthly report for {month} -> {out_dir}", file=sys.stderr, flush=True)
    return run_notebook("monthly_report", out_dir, params, progress=not args.quiet)


def quality(args: argparse.Namespace) -> Path:
    """Run ``notebooks/data_quality.ipynb``; return the HTML path."""
    from custlab.report import check_output_dir, run_notebook

    if args.as_of and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", args.as_of):
        raise CustlabError(f"--as-of must look like 2011-12-10, got {args.as_of!r}.")
    _check_source(args)
    out_dir = check_output_dir(args.out) / f"data-quality-{label(args)}"
    params = {
        "data_path": str(args.data.resolve()) if args.data else "",
        "columns": args.columns or {},
        "n_customers": args.customers,
        "seed": args.seed,
        "as_of": args.as_of,
    }
    return run_notebook("data_quality", out_dir, params, progress=not args.quiet)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        path = {"report": report, "quality": quality}[args.command](args)
    except (CustlabError, OSError) as err:
        print(f"custlab: {err}", file=sys.stderr)
        return 2
    print(f"Report written to {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
