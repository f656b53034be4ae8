"""The ``custlab`` command.

``custlab report`` writes the monthly customer report (HTML, ``key_figures.json``
and the CRM lists in ``exports/``) under ``--out/<data>/<month>/<language>/``;
``custlab quality`` writes the data-quality report under
``--out/<data>/data-quality/``. Both run a notebook shipped with custlab, after
checking every parameter they can without loading the data. An error is one
line on stderr and exit code 2; the last line on success names the report and
the time taken.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import signal
import sys
import threading
from pathlib import Path

from custlab.exceptions import CustlabError

__all__ = ["build_parser", "main"]

_SEPARATORS = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad option in one line (exit 2) instead of the usage block."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"custlab: {message} (see {self.prog} --help)\n")


def _columns(text: str) -> dict[str, str]:
    try:
        mapping = json.loads(text)
    except json.JSONDecodeError:
        mapping = None
    if not isinstance(mapping, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
        raise argparse.ArgumentTypeError(
            f'--columns takes a JSON object of your column name to the canonical one, e.g. \'{{"InvoiceDate": "order_date"}}\'; got {text!r}'
        )
    return mapping


def _separator(text: str) -> str:
    return _SEPARATORS.get(text.lower(), text)


def _reading(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=None,
                        help="transactions file (CSV, Parquet, Excel) or folder of tables; default: the synthetic shop")
    parser.add_argument("--columns", type=_columns, default=None,
                        help='JSON mapping of your column names to canonical ones, e.g. \'{"InvoiceDate": "order_date"}\'; '
                             "in a folder, columns of any table; an unknown name is an error")
    parser.add_argument("--encoding", default=None, help="text encoding of CSV files, e.g. gbk (default: detected)")
    parser.add_argument("--separator", type=_separator, default=None,
                        help="CSV separator: ',', ';', '|' or 'tab' (default: detected)")
    parser.add_argument("--decimal-comma", action="store_true", default=None,
                        help="numbers are written with a decimal comma (12,5) (default: detected)")
    parser.add_argument("--sheet", default=None, help="Excel sheet to read (default: every sheet with the same header)")
    parser.add_argument("--timezone", default=None,
                        help="time zone to convert zone-aware dates to, e.g. Asia/Shanghai (default: the data's own)")
    parser.add_argument("--date-format", default=None,
                        help="format of text dates, e.g. %%d/%%m/%%Y, or excel, epoch_s, epoch_ms for numbers "
                             "(default: detected)")
    parser.add_argument("--customers", type=int, default=5000, help="size of the synthetic shop (default 5000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic shop, the sample and the models (default 0)")
    parser.add_argument("--out", type=Path, default=Path("reports"), help="output folder (default: reports/)")
    parser.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                        help="wait this long for another run writing the same folder (default: refuse at once)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    """The ``custlab`` argument parser (subcommands ``report`` and ``quality``)."""
    from custlab._types import LANGUAGES

    parser = _Parser(prog="custlab", description="Customer analytics reports from the command line.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    rep = sub.add_parser("report", help="the monthly customer report (HTML, key figures, CRM exports)")
    _reading(rep)
    rep.add_argument("--month", default=None, help="month to analyse, YYYY-MM (default: the last complete month)")
    rep.add_argument("--partial", action="store_true", help="accept a month the data stop in (analysed up to the last day)")
    rep.add_argument("--language", default="en", choices=list(LANGUAGES), help="report language (default en)")
    rep.add_argument("--currency", type=str.upper, default=None, help="ISO code of the amounts, e.g. GBP (default: none)")
    rep.add_argument("--margin", type=float, default=None, help="profit share of revenue for CLV, e.g. 0.3 (default: CLV is revenue)")
    rep.add_argument("--sample-size", type=int, default=0, help="analyse a random sample of this many customers (0: all)")
    rep.add_argument("--engine", default="", choices=["", "duckdb", "spark"],
                     help="leave the lines (Parquet --data) on DuckDB or Spark: every figure is aggregated there")
    rep.add_argument("--no-bom", dest="bom", action="store_false", help="CSV exports without the UTF-8 byte-order mark")
    rep.add_argument("--excel", action="store_true", help="also write each export as an Excel workbook (.xlsx)")
    qual = sub.add_parser("quality", help="the data-quality report of a dataset")
    _reading(qual)
    qual.add_argument("--as-of", default=None, help="analysis date YYYY-MM-DD (default: no date cut)")
    qual.add_argument("--messy", type=float, default=0.02, help="share of problems planted in the synthetic shop (default 0.02)")
    return parser


def _common(args: argparse.Namespace) -> dict:
    return {"out": args.out, "columns": args.columns, "encoding": args.encoding, "separator": args.separator,
            "decimal_comma": args.decimal_comma, "sheet": args.sheet, "timezone": args.timezone,
            "date_format": args.date_format,
            "n_customers": args.customers, "seed": args.seed, "progress": not args.quiet, "wait": args.wait}


def _report(args: argparse.Namespace):
    from custlab.report.runner import run_report

    return run_report(args.data, month=args.month, partial=args.partial, language=args.language,
                      currency=args.currency, margin=args.margin, sample_size=args.sample_size, bom=args.bom,
                      excel=args.excel, engine=args.engine, **_common(args))


def _quality(args: argparse.Namespace):
    from custlab.report.runner import run_quality

    return run_quality(args.data, as_of=args.as_of, messy=args.messy, **_common(args))


def _terminate(signum, frame):  # noqa: ARG001 - signal handler signature
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run the command; return its exit code (0 written, 2 bad input or failed run, 130 interrupted)."""
    args = build_parser().parse_args(argv)
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None  # a killed run sets its staging folder aside
    try:
        run = {"report": _report, "quality": _quality}[args.command](args)
    except (CustlabError, OSError) as err:
        text = str(err) if isinstance(err, CustlabError) else f"{getattr(err, 'filename', '') or ''} {err.strerror or err}".strip()
        print(f"custlab: {' '.join(text.split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("custlab: interrupted; no report was written (an earlier one, if any, is unchanged).", file=sys.stderr)
        return 130
    except Exception as err:  # one line, unless asked for the traceback
        if os.environ.get("CUSTLAB_DEBUG"):
            raise
        print(f"custlab: internal error: {type(err).__name__}: {err} (set CUSTLAB_DEBUG=1 for the traceback)",
              file=sys.stderr)
        return 1
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
    _say_done(run, getattr(args, "language", "en"))
    return 0


def _say_done(run, language: str) -> None:
    """The sections left out, each with its reason, in the report's language; then where the report is."""
    from custlab._i18n import labels, t

    titles = labels("report.section", language)
    for skipped in run.skipped:
        section = str(skipped.get("section", ""))
        reasons = skipped.get("reasons")
        reason = reasons.get(language) if isinstance(reasons, dict) else None
        reason = str(reason or skipped.get("reason", "") or "")
        title = titles.get(section, section)
        line = t("report.cli.skipped", language, section=section, title=title, reason=reason)
        print(f"custlab: {line}".rstrip().rstrip(":："), file=sys.stderr)
    stray = getattr(run, "stray", None)
    if stray is not None:
        dates = f"{stray.first:%Y-%m-%d}" if stray.first == stray.last else t(
            "report.stray.days", language, first=f"{stray.first:%Y-%m-%d}", last=f"{stray.last:%Y-%m-%d}")
        line = t("report.cli.stray", language, lines=f"{stray.lines:,}", dates=dates, gap=stray.gap_days,
                 end=f"{stray.data_end:%Y-%m-%d}")
        print(f"custlab: {line}", file=sys.stderr)
    print(f"Report written to {run.html} in {run.seconds:.1f} s")  # in every language: scripts read the path from it


def run() -> None:
    """The ``custlab`` command: :func:`main`, then exit with its code.

    Before exiting, the objects the run made are frozen out of the garbage collector (:func:`gc.freeze`): the
    interpreter's last collection would otherwise walk them all, 0.1 s of every report. Everything the run writes
    is closed by then; only the exit is left.
    """
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
