"""The monthly customer report: check the month, load once, compute the figures, render, write.

The flow, from raw file to HTML::

    check_month (lazy scan: lines per order day)      custlab.report.months
      -> load (read once, sample, clean at as_of)      custlab.report.sources
      -> compute_month -> MonthlyFigures (frozen)      custlab.report.figures
      -> render_html / section_html (pure functions)   custlab.report.html
      -> write_outputs (HTML, key_figures.json, CSV)   custlab.report.exports

``custlab report`` (:func:`run_report`, :mod:`custlab.report.runner`) runs the
``monthly_report`` notebook shipped in the package through that flow in a
Jupyter kernel, into a staging folder that replaces the report's folder only
when the run succeeded (:mod:`custlab.report.folders`). The notebook's
``parameters`` cell is the contract between the command and the notebook
(:mod:`custlab.report.notebooks`); it stays papermill-parameterised.

Names are imported on first use, so ``import custlab.report`` is cheap.
"""

from __future__ import annotations

import importlib

_NAMES = {
    # months (check the month before loading)
    "MonthSpec": "months", "check_month": "months", "parse_month": "months",
    # figures and rendering
    "MonthlyFigures": "figures", "compute_month": "figures", "SECTIONS": "figures",
    "last_complete_month": "months",
    "render_html": "html", "section_html": "html",
    # loading
    "Source": "sources", "load": "sources", "read_previous": "sources", "read_tables": "sources",
    "reader_options": "sources", "scan_transactions": "sources", "source_label": "sources",
    # writing
    "CSV_FORMULA_PREFIXES": "exports", "neutralise": "exports", "write_csv": "exports", "write_outputs": "exports",
    "write_tables": "exports",
    "OutputFolder": "folders", "RunLocked": "folders",
    # notebooks
    "NotebookFailed": "notebooks", "check_parameters": "notebooks", "notebook_names": "notebooks",
    "notebook_parameters": "notebooks", "notebook_path": "notebooks", "run_notebook": "notebooks",
    "section_progress": "notebooks",
    # the command's entry points
    "ReportRun": "runner", "run_quality": "runner", "run_report": "runner",
}

__all__ = sorted(_NAMES)


def __getattr__(name: str):
    module = _NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'custlab.report' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"custlab.report.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_NAMES])
