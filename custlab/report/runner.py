"""``custlab report`` and ``custlab quality``: check the parameters, then run the shipped notebook into its folder.

:func:`run_report` checks everything it can before a kernel starts (the month
against a lazy scan of the data, the column mapping against the files'
headers, the options), then runs the ``monthly_report`` notebook, which loads
the data once, computes :class:`~custlab.report.figures.MonthlyFigures`,
shows each section and writes the outputs. The run writes into a staging
folder that replaces ``<out>/<source>/<month>/<language>/`` only when it
succeeded (:class:`~custlab.report.folders.OutputFolder`); a failed run leaves
its partial notebook in ``failed-<timestamp>-<language>/`` beside it.

The source folder name tells apart files of the same name in different
folders and sampled runs (:func:`~custlab.report.sources.source_label`); each
language has its own folder, so ``--language zh`` never overwrites English.
Last month's ``key_figures.json`` is looked up in the same source folder.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from custlab._types import LANGUAGES
from custlab.exceptions import CustlabError
from custlab.report.folders import OutputFolder, inside, writable_folder
from custlab.report.notebooks import CELL_TIMEOUT, Kernel, NotebookFailed, run_notebook, to_html, write_notebook

if TYPE_CHECKING:
    from custlab.report.months import StrayTail

# custlab.report.sources and .exports import polars (0.15 s): they are imported once the kernel is starting.

__all__ = [
    "QUALITY_HTML", "ReportRun", "check_options", "previous_figures_path", "quality_parameters", "report_parameters",
    "run_quality", "run_report",
]

#: File name of the data-quality report.
QUALITY_HTML = "data_quality.html"
#: Modules the report's analyses and charts load on first use (3-5 s of CPU in all, statsforecast and lifetimes
#: the largest), imported while the command checks the data.
REPORT_HEAVY_MODULES = ("scipy.optimize", "lifelines", "lifetimes", "custlab.clv", "custlab.churn", "custlab.repurchase",
                        "custlab.rules", "custlab.segments", "custlab.cohorts", "custlab.activity",
                        "custlab.forecast", "custlab.recommend", "custlab.reviews",
                        "custlab.campaigns", "custlab.attribution",
                        "matplotlib.figure", "matplotlib.backends.backend_agg", "custlab.report.charts")
#: Imported in the kernel only when no helper process runs: the helper does the analyses that need them (the demand
#: outlook's models, 0.5 s to import), and the kernel imports them on first use if it takes such a job back.
HELPER_MODULES = ("statsforecast.models", "sklearn.linear_model")
#: Run in the report kernel as soon as it starts, while the command checks the data (not part of the notebook):
#: the imports the notebook needs, and matplotlib's font lookup, their objects then frozen out of the garbage
#: collector (:func:`custlab.report.helper.imports_frozen`). A thread importing them beside the first cells
#: was tried and measured no faster on two busy cores (the imports and the data loading share the GIL). First of all
#: the helper process starts, which takes analyses and charts off the kernel (:mod:`custlab.report.helper`).
REPORT_WARM_UP = ("import custlab.report.helper\ncustlab.report.helper.start()\n"
                  "with custlab.report.helper.imports_frozen():\n"
                  "    import custlab.report.figures, custlab.report.html, custlab.report.sources, custlab._plotting, "
                  + ", ".join(REPORT_HEAVY_MODULES)
                  + "\n    if not custlab.report.helper.active():\n        import " + ", ".join(HELPER_MODULES)
                  + "\n    custlab._plotting.find_cjk_font()")

#: The data-quality report's warm-up: the cleaning code.
QUALITY_WARM_UP = "import custlab.report.helper\nwith custlab.report.helper.imports_frozen():\n    import custlab.data"

#: Seconds a cell may run with ``--engine``: cleaning a billion lines on a small machine takes more than the half
#: hour allowed in memory (:data:`custlab.report.notebooks.CELL_TIMEOUT`).
ENGINE_CELL_TIMEOUT = 8 * 3600


@dataclass(frozen=True)
class ReportRun:
    """The outcome of one run: the HTML written, its folder, the month, the seconds taken, the sections skipped."""

    html: Path
    folder: Path
    month: str
    seconds: float
    skipped: tuple[Mapping[str, str], ...] = ()
    stray: StrayTail | None = None  # stray lines at the end of the data, set aside when choosing the month

    def __repr__(self) -> str:
        skipped = f", {len(self.skipped)} sections skipped" if self.skipped else ""
        return f"ReportRun({self.html}, {self.seconds:.1f} s{skipped})"


def check_options(
    *,
    language: str = "en",
    currency: str | None = None,
    margin: float | None = None,
    n_customers: int = 5000,
    sample_size: int = 0,
    separator: str | None = None,
    columns: Mapping[str, str] | None = None,
) -> None:
    """Refuse option values no run could use, each with the option's name and the fix."""
    if language not in LANGUAGES:
        raise CustlabError(f"--language must be one of {', '.join(LANGUAGES)}, got {language!r}.")
    if currency and not re.fullmatch(r"[A-Z]{3}", currency):
        raise CustlabError(f"--currency takes an ISO 4217 code such as GBP, EUR or CNY, got {currency!r}.")
    if margin is not None and not 0 < margin <= 1:
        raise CustlabError(f"--margin is the profit share of revenue, above 0 and at most 1 (e.g. 0.3), got {margin}.")
    if n_customers <= 0:
        raise CustlabError(f"--customers must be a positive number, got {n_customers}.")
    if sample_size < 0:
        raise CustlabError(f"--sample-size must be 0 (all customers) or positive, got {sample_size}.")
    if separator is not None and len(separator) != 1:
        raise CustlabError(f"--separator must be one character (',', ';', '|' or 'tab'), got {separator!r}.")
    if columns is not None and (not isinstance(columns, Mapping)
                                or not all(isinstance(k, str) and isinstance(v, str) for k, v in columns.items())):
        raise CustlabError('--columns takes a JSON object of your column name to the canonical one, '
                           'e.g. {"InvoiceDate": "order_date"}.')


def previous_figures_path(source_folder: Path, month: Any, language: str) -> Path | None:
    """Last month's ``key_figures.json`` of the same source: the same language first, else any language."""
    from custlab.report.months import previous_month

    before = f"{previous_month(month.start.date()):%Y-%m}"
    candidates = [source_folder / before / language / "key_figures.json"]
    candidates += sorted((source_folder / before).glob("*/key_figures.json"))
    return next((p for p in candidates if p.is_file()), None)


def _reading(columns, encoding, separator, decimal_comma, sheet, timezone, date_format) -> dict[str, Any]:
    """The reading options as notebook parameters: "" (or None for decimal_comma) means "detect"."""
    return {"columns": dict(columns or {}), "encoding": encoding or "", "separator": separator or "",
            "decimal_comma": decimal_comma, "sheet": sheet or "", "timezone": timezone or "",
            "date_format": date_format or ""}


def report_parameters(
    *, data_path: str = "", columns: Mapping[str, str] | None = None, encoding: str = "", separator: str = "",
    decimal_comma: bool | None = None, sheet: str = "", timezone: str = "", date_format: str = "", month: str = "",
    partial: bool = False,
    language: str = "en", currency: str | None = None, margin: float | None = None, n_customers: int = 5000,
    seed: int = 0, sample_size: int = 0, messy: float = 0.0, previous_path: str = "", out_dir: str = ".",
    bom: bool = True, excel: bool = False, engine: str = "",
) -> dict[str, Any]:
    """The parameters ``custlab report`` passes to ``monthly_report.ipynb`` (checked against its parameters cell)."""
    return {
        "data_path": data_path, "columns": dict(columns or {}), "encoding": encoding, "separator": separator,
        "decimal_comma": decimal_comma, "sheet": sheet, "timezone": timezone, "date_format": date_format,
        "month": month, "partial": partial,
        "language": language, "currency": currency or "", "margin": margin, "n_customers": n_customers,
        "seed": seed, "sample_size": sample_size, "messy": messy, "previous_path": previous_path,
        "out_dir": out_dir, "bom": bom, "excel": excel, "engine": engine,
    }


def quality_parameters(
    *, data_path: str = "", columns: Mapping[str, str] | None = None, encoding: str = "", separator: str = "",
    decimal_comma: bool | None = None, sheet: str = "", timezone: str = "", date_format: str = "",
    n_customers: int = 5000, seed: int = 0, messy: float = 0.02, as_of: str = "",
) -> dict[str, Any]:
    """The parameters ``custlab quality`` passes to ``data_quality.ipynb``."""
    return {
        "data_path": data_path, "columns": dict(columns or {}), "encoding": encoding, "separator": separator,
        "decimal_comma": decimal_comma, "sheet": sheet, "timezone": timezone, "date_format": date_format,
        "n_customers": n_customers, "seed": seed, "messy": messy, "as_of": as_of,
    }


def _data_parameter(data: str | Path | None) -> str:
    if data is None or str(data) == "":
        return ""
    path = Path(data)
    if not path.exists():
        raise CustlabError(f"--data {path}: no such file or folder.")
    return str(path.resolve())


def _skipped(folder: Path) -> tuple[Mapping[str, str], ...]:
    try:
        figures = json.loads((folder / "key_figures.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ()
    return tuple(s for s in figures.get("skipped", ()) if isinstance(s, Mapping))


def _run(name: str, parameters: dict[str, Any], folder: OutputFolder, kernel: Kernel, progress: bool,
         timeout: int = CELL_TIMEOUT) -> dict:
    """Execute notebook ``name`` in the staging folder; on failure set it aside and say where."""
    kernel.chdir(folder.staging)
    try:
        executed = run_notebook(name, parameters, kernel=kernel, progress=progress, timeout=timeout)
    except NotebookFailed as err:
        message = str(err).replace(str(folder.staging), str(folder.target))  # files as the reader knows them
        failed = folder.fail(message, err.notebook)
        where = f" The partly executed notebook is in {failed}." if failed else ""
        raise NotebookFailed(f"{message}{where}", err.notebook) from None
    try:
        write_notebook(executed, folder.staging / f"{name}.ipynb")
    except OSError as err:
        from custlab.report.folders import os_error_reason

        raise CustlabError(f"Cannot write {folder.staging / f'{name}.ipynb'}: {os_error_reason(err)}.") from None
    return executed


def run_report(
    data: str | Path | None = None,
    *,
    out: str | Path = "reports",
    month: str | None = None,
    partial: bool = False,
    language: str = "en",
    currency: str | None = None,
    margin: float | None = None,
    columns: Mapping[str, str] | None = None,
    encoding: str | None = None,
    separator: str | None = None,
    decimal_comma: bool | None = None,
    sheet: str | None = None,
    timezone: str | None = None,
    date_format: str | None = None,
    n_customers: int = 5000,
    seed: int = 0,
    sample_size: int = 0,
    bom: bool = True,
    excel: bool = False,
    progress: bool = False,
    wait: float = 0.0,
    engine: str = "",
) -> ReportRun:
    """Write the monthly report of ``month`` into ``<out>/<source>/<month>/<language>/``.

    Parameters
    ----------
    data
        A transactions file, a folder of tables, or None for the synthetic shop
        (``n_customers``, ``seed``); see :func:`custlab.report.sources.load`.
    out
        The output root; every file is written inside it.
    month, partial
        ``"YYYY-MM"`` (None: the last complete month); ``partial`` accepts a
        month the data stop in.
    language, currency, margin
        Report language, ISO currency code, profit share of revenue for CLV.
    columns, encoding, separator, decimal_comma, sheet, timezone, date_format
        How to read your files (None: detected).
    seed, sample_size
        Seed of the sample and the models; analyse a random sample of
        ``sample_size`` customers (0: all).
    bom, excel
        CSV exports with a UTF-8 byte-order mark; also write .xlsx workbooks.
    progress
        A progress bar per section on stderr.
    wait
        Seconds to wait for another run writing the same folder (0: refuse at once).
    engine
        ``"duckdb"`` or ``"spark"``: ``data`` is Parquet (a file or folder) left
        on that engine; every figure is aggregated there and only counts come
        back (:mod:`custlab.report.figures_engine`). "" reads the data into polars.

    Raises
    ------
    CustlabError
        A bad parameter (before any notebook runs), another run holding the
        folder, or a file that cannot be written. :class:`NotebookFailed`
        when a cell fails; its notebook is kept in a ``failed-...`` folder.
    """
    started = time.perf_counter()
    check_options(language=language, currency=currency, margin=margin, n_customers=n_customers,
                  sample_size=sample_size, separator=separator, columns=columns)
    from custlab.report.months import check_month, parse_month

    data_path = _data_parameter(data)
    if month:
        parse_month(month)
    if engine:
        return _run_on_engine(data_path, engine, out=out, month=month, partial=partial, language=language,
                              currency=currency, margin=margin, columns=columns, sample_size=sample_size, bom=bom,
                              excel=excel, progress=progress, wait=wait, started=started)
    root = writable_folder(out)
    with Kernel(root, warm_up=REPORT_WARM_UP) as kernel:  # it boots while the data are checked
        from custlab.report.exports import HTML_NAME
        from custlab.report.sources import check_columns, reader_options, scan_transactions, source_label

        options = reader_options(encoding=encoding, separator=separator, decimal_comma=decimal_comma, sheet=sheet,
                                 timezone=timezone, date_format=date_format)
        check_columns(data_path or None, columns, **options)
        spec = check_month(scan_transactions(data_path or None, columns=columns, n_customers=n_customers, seed=seed,
                                             **options), month or None, partial=partial)
        source_folder = inside(root, root / source_label(data_path or None, n_customers=n_customers, seed=seed,
                                                         sample_size=sample_size))
        previous = previous_figures_path(source_folder, spec, language)
        with OutputFolder(source_folder / spec.month / language, root=root, wait=wait) as folder:
            parameters = report_parameters(
                data_path=data_path, month=spec.month, partial=partial, language=language, currency=currency,
                margin=margin, n_customers=n_customers, seed=seed, sample_size=sample_size, bom=bom, excel=excel,
                previous_path=os.path.relpath(previous, folder.staging) if previous else "",
                **_reading(columns, encoding, separator, decimal_comma, sheet, timezone, date_format),
            )
            target, skipped = _report(parameters, folder, kernel, progress)
    return ReportRun(target / HTML_NAME, target, spec.month, time.perf_counter() - started, skipped, spec.stray)


def _report(parameters: dict[str, Any], folder: OutputFolder, kernel: Kernel, progress: bool,
            timeout: int = CELL_TIMEOUT) -> tuple[Path, tuple[Mapping[str, str], ...]]:
    """Run ``monthly_report`` into the staging folder and commit it: the report's folder and its skipped sections."""
    from custlab.report.exports import HTML_NAME

    _run("monthly_report", parameters, folder, kernel, progress, timeout)
    if not (folder.staging / HTML_NAME).is_file():
        raise CustlabError(f"monthly_report.ipynb ran but wrote no {HTML_NAME}; is its write_outputs cell there?")
    skipped = _skipped(folder.staging)
    (folder.staging / ".custlab.lock").unlink(missing_ok=True)  # write_outputs' own lock; ours is outside
    return folder.commit(), skipped


def _run_on_engine(data_path: str, engine: str, *, out, month, partial, language, currency, margin, columns,
                   sample_size, bom, excel, progress, wait, started) -> ReportRun:
    """``run_report`` with the lines on DuckDB or Spark: the month is checked on the engine before the kernel runs."""
    from custlab.report.exports import HTML_NAME
    from custlab.report.months import check_month
    from custlab.report.sources import check_engine_options, scan_parquet_lines, source_label

    check_engine_options(data_path, engine, sample_size)

    root = writable_folder(out)
    with Kernel(root, warm_up=REPORT_WARM_UP) as kernel:
        # the month and the columns are checked on the files (their first and last order, read by polars) while the
        # kernel starts; the engine itself starts in the kernel
        spec = check_month(scan_parquet_lines(data_path, engine, columns=columns), month or None, partial=partial)
        source_folder = inside(root, root / f"{source_label(data_path)}-{engine}")
        previous = previous_figures_path(source_folder, spec, language)
        with OutputFolder(source_folder / spec.month / language, root=root, wait=wait) as folder:
            parameters = report_parameters(
                data_path=data_path, month=spec.month, partial=partial, language=language, currency=currency,
                margin=margin, bom=bom, excel=excel, engine=engine, columns=columns,
                previous_path=os.path.relpath(previous, folder.staging) if previous else "",
            )
            target, skipped = _report(parameters, folder, kernel, progress, timeout=ENGINE_CELL_TIMEOUT)
    return ReportRun(target / HTML_NAME, target, spec.month, time.perf_counter() - started, skipped, spec.stray)


def run_quality(
    data: str | Path | None = None,
    *,
    out: str | Path = "reports",
    as_of: str | None = None,
    columns: Mapping[str, str] | None = None,
    encoding: str | None = None,
    separator: str | None = None,
    decimal_comma: bool | None = None,
    sheet: str | None = None,
    timezone: str | None = None,
    date_format: str | None = None,
    n_customers: int = 5000,
    seed: int = 0,
    messy: float = 0.02,
    progress: bool = False,
    wait: float = 0.0,
) -> ReportRun:
    """Write the data-quality report into ``<out>/<source>/data-quality/`` (HTML with the code hidden).

    ``as_of`` (``YYYY-MM-DD``) cuts the data for cleaning; ``messy`` plants
    data problems in the synthetic shop (used only without ``data``).
    """
    started = time.perf_counter()
    check_options(n_customers=n_customers, separator=separator, columns=columns)
    if as_of:
        from custlab._dates import as_datetime

        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", as_of):
            raise CustlabError(f"--as-of must look like 2011-12-10, got {as_of!r}.")
        as_datetime(as_of, "--as-of")
    if not 0 <= messy < 1:
        raise CustlabError(f"--messy is a share of planted problems between 0 and 1, got {messy}.")
    data_path = _data_parameter(data)
    root = writable_folder(out)
    with Kernel(root, warm_up=QUALITY_WARM_UP) as kernel:
        from custlab.report.sources import check_columns, reader_options, source_label

        options = reader_options(encoding=encoding, separator=separator, decimal_comma=decimal_comma, sheet=sheet,
                                 timezone=timezone, date_format=date_format)
        check_columns(data_path or None, columns, **options)
        source_folder = inside(root, root / source_label(data_path or None, n_customers=n_customers, seed=seed,
                                                         messy=0.0 if data_path else messy))
        with OutputFolder(source_folder / "data-quality", root=root, wait=wait) as folder:
            parameters = quality_parameters(data_path=data_path, n_customers=n_customers, seed=seed, messy=messy,
                                            as_of=as_of or "",
                                            **_reading(columns, encoding, separator, decimal_comma, sheet, timezone,
                                                         date_format))
            executed = _run("data_quality", parameters, folder, kernel, progress)
            to_html(executed, folder.staging / QUALITY_HTML)
            target = folder.commit()
    return ReportRun(target / QUALITY_HTML, target, as_of or "", time.perf_counter() - started)
