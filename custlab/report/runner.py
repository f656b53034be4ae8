"""Run the parameterized notebooks with papermill and render them as HTML with the code hidden."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from custlab.exceptions import CustlabError

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"


class NotebookFailed(CustlabError):
    """A notebook stopped with an error; the partly executed copy is kept."""


def notebook_path(name: str) -> Path:
    """Path of a notebook of ``notebooks/`` by name (with or without ``.ipynb``)."""
    path = NOTEBOOK_DIR / (name if name.endswith(".ipynb") else f"{name}.ipynb")
    if not path.exists():
        available = sorted(p.stem for p in NOTEBOOK_DIR.glob("*.ipynb"))
        raise CustlabError(f"No notebook {name!r} in {NOTEBOOK_DIR}; available: {available}.")
    return path


def check_output_dir(out: str | Path) -> Path:
    """Create ``out`` if needed and make sure it can be written, before any notebook runs."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise CustlabError(f"Cannot create the output folder {out}: {err.strerror}. Choose another --out.") from None
    if not os.access(out, os.W_OK):
        raise CustlabError(f"The output folder {out} is not writable. Choose another --out.")
    return out


def to_html(notebook: str | Path, html_path: str | Path | None = None) -> Path:
    """Render an executed notebook as HTML with code cells, prompts and cells tagged ``notebook-only`` hidden."""
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    notebook = Path(notebook)
    html_path = Path(html_path) if html_path else notebook.with_suffix(".html")
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    exporter.register_preprocessor(TagRemovePreprocessor(remove_cell_tags={"notebook-only"}), enabled=True)
    body, _ = exporter.from_notebook_node(nbformat.read(notebook, as_version=4))
    html_path.write_text(body, encoding="utf-8")
    return html_path


def run_notebook(
    name: str,
    out_dir: str | Path,
    parameters: Mapping[str, object],
    *,
    progress: bool = True,
    html: bool = True,
) -> Path:
    """Execute ``notebooks/<name>.ipynb`` with papermill into ``out_dir``; return the HTML (or notebook) path.

    Raises
    ------
    NotebookFailed
        When a cell raises: the message names the cell and the error, and the
        partly executed notebook stays in ``out_dir`` for inspection.
    """
    import papermill as pm

    source = notebook_path(name)
    out_dir = check_output_dir(out_dir)
    executed = out_dir / source.name
    json.dumps(dict(parameters))  # parameters must be plain literals
    try:
        pm.execute_notebook(
            str(source), str(executed), parameters=dict(parameters), progress_bar=progress,
            cwd=str(out_dir), kernel_name="python3",
        )
    except pm.PapermillExecutionError as err:
        raise NotebookFailed(
            f"{source.name} failed in cell {err.exec_count} (index {err.cell_index}): {err.ename}: {str(err.evalue).rstrip('.')}. "
            f"The partly executed notebook is kept at {executed}."
        ) from None
    return to_html(executed) if html else executed
