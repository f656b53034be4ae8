"""The notebooks shipped in the package: found, parameterised and executed.

The notebooks live in ``custlab/notebooks/`` as package data and are found
with :mod:`importlib.resources`, so an installed wheel runs them from
anywhere. Each has one code cell tagged ``parameters`` holding literals only;
that cell is the contract with ``custlab report`` / ``custlab quality``:
:func:`check_parameters` refuses a parameter the cell does not declare and
one it declares but the caller left out (papermill would only warn).

Parameters are injected the papermill way (a cell tagged
``injected-parameters`` right after the ``parameters`` cell, papermill's
metadata filled), so ``papermill custlab/notebooks/monthly_report.ipynb out.ipynb
-p month 2011-11`` stays the documented way to run a notebook by hand. The
command executes with nbclient directly: importing papermill costs over a
second (most of it in a URI-syntax package jsonschema pulls in, see
:func:`_import_nbclient`), which is a quarter of a whole report.
"""

from __future__ import annotations

import ast
import copy
import json
import os
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from custlab.exceptions import CustlabError

__all__ = [
    "Kernel", "NotebookFailed", "check_parameters", "execute_notebook", "inject_parameters", "notebook_names",
    "notebook_parameters", "notebook_path", "read_notebook", "run_notebook", "section_progress", "to_html",
    "write_notebook",
]

#: Seconds one cell may run before the run is stopped.
CELL_TIMEOUT = 1800
#: The kernel draws with Jupyter's inline backend, as in JupyterLab, whatever MPLBACKEND the caller has.
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
#: Set in the report kernel's environment: :func:`section_progress` then reports each section to the command.
PROGRESS_ENV = "CUSTLAB_SECTION_PROGRESS"
#: Prefix of the stderr lines that carry a section's progress from the kernel to the command (never stored).
PROGRESS_MARK = "@@custlab-section "


class NotebookFailed(CustlabError):
    """A notebook stopped with an error; ``notebook`` holds the partly executed copy."""

    def __init__(self, message: str, notebook: dict | None = None) -> None:
        super().__init__(message)
        self.notebook = notebook


def _folder():
    return resources.files("custlab") / "notebooks"


def notebook_names() -> list[str]:
    """Names of the notebooks shipped with custlab (without ``.ipynb``).

    >>> "monthly_report" in notebook_names()
    True
    """
    return sorted(entry.name[: -len(".ipynb")] for entry in _folder().iterdir() if entry.name.endswith(".ipynb"))


def notebook_path(name: str):
    """The shipped notebook ``name`` (with or without ``.ipynb``) as an importlib.resources Traversable."""
    stem = name.removesuffix(".ipynb")
    entry = _folder() / f"{stem}.ipynb"
    if not entry.is_file():
        raise CustlabError(f"No notebook {stem!r} ships with custlab; available: {notebook_names()}.")
    return entry


def read_notebook(name: str) -> dict:
    """The shipped notebook ``name`` as a plain dict (nbformat 4 JSON)."""
    return json.loads(notebook_path(name).read_text(encoding="utf-8"))


def _parameters_cell(notebook: dict) -> int:
    tagged = [i for i, cell in enumerate(notebook["cells"])
              if cell["cell_type"] == "code" and "parameters" in cell.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        raise CustlabError(f"A parameterised notebook needs exactly one code cell tagged 'parameters'; found {len(tagged)}.")
    return tagged[0]


def notebook_parameters(notebook: dict | str) -> dict[str, Any]:
    """The parameters a notebook declares, with their default values, in the cell's order.

    Every statement of the ``parameters`` cell must be ``name = <literal>``, each name once.

    >>> sorted(notebook_parameters("data_quality"))[:3]
    ['as_of', 'columns', 'data_path']
    """
    nb = read_notebook(notebook) if isinstance(notebook, str) else notebook
    cell = nb["cells"][_parameters_cell(nb)]
    source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    declared: dict[str, Any] = {}
    for statement in ast.parse(source).body:
        if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)):
            raise CustlabError(f"The parameters cell may hold only 'name = literal' lines; line {statement.lineno} is not one.")
        if statement.targets[0].id in declared:
            raise CustlabError(f"Parameter {statement.targets[0].id!r} is declared twice in the parameters cell (again on "
                               f"line {statement.lineno}): keep one line for it.")
        try:
            declared[statement.targets[0].id] = ast.literal_eval(statement.value)
        except ValueError:
            raise CustlabError(
                f"Parameter {statement.targets[0].id!r} must have a literal default (a string, number, "
                f"True/False/None, list or dict), line {statement.lineno}."
            ) from None
    return declared


def _literal(value: Any, name: str) -> str:
    """Python source of a plain value, the way papermill writes it."""
    if value is None or isinstance(value, (bool, int, str)):
        return repr(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise CustlabError(f"Parameter {name!r} must be a finite number, got {value!r}.")
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_literal(v, name) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_literal(k, name)}: {_literal(v, name)}" for k, v in value.items()) + "}"
    if isinstance(value, os.PathLike):
        return repr(os.fspath(value))
    raise CustlabError(f"Parameter {name!r} must be a plain value (str, number, bool, None, list, dict), got {type(value).__name__}.")


def check_parameters(notebook: dict | str, parameters: Mapping[str, Any]) -> dict[str, Any]:
    """``parameters`` if they match the notebook's ``parameters`` cell exactly, else a clear error.

    Raises
    ------
    CustlabError
        Naming the parameters the cell does not declare (a typo, or a caller
        newer than the notebook) and those it declares but ``parameters``
        lacks, with the declared names.

    >>> check_parameters("data_quality", {"data_path": "", "as_off": ""})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    custlab.exceptions.CustlabError: data_quality.ipynb: unknown parameters ['as_off']; missing parameters ['columns', ...
    """
    name = notebook if isinstance(notebook, str) else notebook.get("metadata", {}).get("custlab", {}).get("name", "notebook")
    declared = notebook_parameters(notebook)
    unknown = [k for k in parameters if k not in declared]
    missing = [k for k in declared if k not in parameters]
    problems = []
    if unknown:
        problems.append(f"unknown parameters {unknown}")
    if missing:
        problems.append(f"missing parameters {missing}")
    if problems:
        raise CustlabError(
            f"{name}.ipynb: {'; '.join(problems)}. Its parameters cell declares {list(declared)}; "
            "pass exactly those."
        )
    for key, value in parameters.items():
        _literal(value, key)
    return dict(parameters)


def inject_parameters(notebook: dict, parameters: Mapping[str, Any]) -> dict:
    """A copy of ``notebook`` with papermill's ``injected-parameters`` cell after its ``parameters`` cell."""
    nb = copy.deepcopy(notebook)
    nb["cells"] = [c for c in nb["cells"] if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    at = _parameters_cell(nb)
    lines = ["# Parameters"] + [f"{k} = {_literal(v, k)}" for k, v in parameters.items()]
    nb["cells"].insert(at + 1, {
        "cell_type": "code", "id": "injected-parameters", "execution_count": None, "outputs": [],
        "metadata": {"tags": ["injected-parameters"]}, "source": "\n".join(lines) + "\n",
    })
    nb.setdefault("metadata", {})["papermill"] = {
        "parameters": json.loads(json.dumps(dict(parameters), default=os.fspath)),
        "default_parameters": notebook_parameters(notebook),
        "environment_variables": {}, "version": None,
    }
    return nb


def _import_nbclient():
    """Import nbclient without building the IRI grammar of ``rfc3987_syntax`` (0.7-0.9 s).

    nbformat imports jsonschema, whose format checkers import
    ``rfc3987_syntax`` when it is installed, which compiles a Lark grammar at
    import. Notebook validation never checks the ``iri`` formats, so while
    jsonschema is first imported here the module is marked absent (jsonschema
    then skips those two checkers) and unmarked right after. Nothing changes
    when jsonschema was already imported.
    """
    hide = "jsonschema" not in sys.modules and "rfc3987_syntax" not in sys.modules
    if hide:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]
    try:
        import nbclient
        import nbformat
    finally:
        if hide:
            del sys.modules["rfc3987_syntax"]
    return nbclient, nbformat


class Kernel:
    """A ``python3`` kernel started at once, so that it boots while the command checks its parameters.

    The kernel talks over CurveZMQ-encrypted TCP (or, without CurveZMQ, local
    IPC sockets), so ipykernel does not log "Kernel is running over TCP without
    encryption"; its own log goes to a temporary file, shown only if it dies.
    It draws with Jupyter's inline matplotlib backend, as JupyterLab does,
    whatever ``MPLBACKEND`` the caller has: a chart drawn through pyplot as
    well as returned would show twice here too.

    Parameters
    ----------
    cwd
        The kernel's working folder (:meth:`chdir` moves it later).
    warm_up
        Code run silently first, e.g. imports, while the caller does other work.
    """

    def __init__(self, cwd: str | Path, *, warm_up: str = "") -> None:
        import zmq
        from jupyter_client.asynchronous import AsyncKernelClient
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_core.utils import run_sync

        self.log = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")

        class Client(AsyncKernelClient):  # what nbclient's notebook client talks through
            async def wait_for_ready(self, timeout: float | None = None) -> None:
                await _ready(self, timeout)

        class Manager(AsyncKernelManager):
            async def _async_wait(self, pollinterval: float = 0.1) -> None:
                # the killed kernel's end is looked for every 10 ms (jupyter_client: 100 ms, at the end of each run)
                await super()._async_wait(pollinterval=0.01)

        self.km = Manager(kernel_name="python3", client_factory=Client)
        self._ipc_dir = None
        if self.km.has_trait("transport_encryption") and zmq.has("curve"):
            self.km.transport_encryption = "auto"
        elif os.name == "posix":  # pragma: no cover - pyzmq wheels ship CurveZMQ
            self._ipc_dir = tempfile.mkdtemp(prefix="custlab-kernel-")
            self.km.transport, self.km.ip = "ipc", os.path.join(self._ipc_dir, "kernel")
        # One BLAS thread unless the caller says otherwise: the kernel and its helper keep both cores busy, and
        # OpenBLAS's second thread only waits (spinning) on the report's small matrices.
        env = {"OPENBLAS_NUM_THREADS": "1", **os.environ, "MPLBACKEND": INLINE_BACKEND,
               "PYDEVD_DISABLE_FILE_VALIDATION": "1", PROGRESS_ENV: "1"}
        run_sync(self.km.start_kernel)(cwd=str(cwd), env=env, stderr=self.log)
        self._client = None
        if warm_up:
            self.run(warm_up)

    def run(self, code: str) -> None:
        """Queue ``code`` for silent execution (no output, no history); returns at once."""
        if self._client is None:
            from jupyter_client.blocking import BlockingKernelClient

            self._client = BlockingKernelClient()
            self._client.load_connection_info(self.km.get_connection_info())
            self._client.start_channels(iopub=False, stdin=False, hb=False, control=False)
        self._client.execute(code, silent=True, store_history=False)

    def chdir(self, folder: str | Path) -> None:
        """Move the kernel's working folder (before the notebook's cells run)."""
        self.run(f"import os as _os; _os.chdir({str(folder)!r}); del _os")

    def tail(self) -> str:
        """The last line of the kernel's own log."""
        self.log.seek(0)
        return " ".join(self.log.read().strip().splitlines()[-1:])

    def shutdown(self) -> None:
        """Stop the kernel (if still running) and remove what it left."""
        from jupyter_core.utils import run_sync

        if self._client is not None:
            self._client.stop_channels()
            self._client = None
        try:
            if run_sync(self.km.is_alive)():
                run_sync(self.km.shutdown_kernel)(now=True)
        finally:
            self.log.close()
            if self._ipc_dir:
                import shutil

                shutil.rmtree(self._ipc_dir, ignore_errors=True)

    def __enter__(self) -> Kernel:
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()


@contextmanager
def section_progress() -> Iterator[None]:
    """While active, each section :func:`~custlab.report.compute_month` starts is reported to ``custlab report``.

    The notebook's compute cell runs inside it. Outside a kernel started by
    the command (JupyterLab, papermill) it does nothing. Inside, a section's
    start is one marked stderr line, which :func:`execute_notebook` turns into
    a step of the progress bar and keeps out of the executed notebook.
    """
    if os.environ.get(PROGRESS_ENV) != "1":
        yield
        return
    from custlab.report import figures

    original = figures.SECTIONS
    total = len(original)

    def announced(index: int, key: str, build):
        def run(ctx):
            sys.stderr.write(f"{PROGRESS_MARK}{index + 1}/{total} {key}\n")
            sys.stderr.flush()
            return build(ctx)
        return run

    figures.SECTIONS = tuple((key, announced(i, key, build)) for i, (key, build) in enumerate(original))
    try:
        yield
    finally:
        figures.SECTIONS = original


class _Progress:
    """The command's progress on stderr: a tqdm bar on a terminal, else one line per step; nothing when disabled.

    A step is a code cell, except the compute cell, whose sections (announced by
    :func:`section_progress`) are one step each.
    """

    def __init__(self, total: int, enabled: bool, label: str) -> None:
        self.enabled, self.label, self.bar, self.sections = enabled, label, None, 0
        self.tty = enabled and sys.stderr.isatty()
        if self.tty:
            from tqdm.auto import tqdm  # installed with jupyter

            self.bar = tqdm(total=total, desc=label, unit="step", file=sys.stderr, leave=False, dynamic_ncols=True,
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]")

    def cell(self, name: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(name, refresh=True)

    def section(self, index: int, total: int, key: str) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            if self.sections == 0:
                self.bar.total += total - 1  # the compute cell becomes its sections
            elif self.sections < total:
                self.bar.update(1)
            self.sections = index
            self.bar.set_postfix_str(f"section {index}/{total}: {key}", refresh=True)
        else:
            self.sections = index
            print(f"{self.label}: section {index}/{total}: {key}", file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _client_class(nbclient, progress: _Progress):
    """nbclient's NotebookClient whose section marks (see :func:`section_progress`) go to ``progress``, not the notebook."""

    class Client(nbclient.NotebookClient):
        def output(self, outs, msg, display_id, cell_index):
            content = msg.get("content", {})
            if msg.get("msg_type") == "stream" and PROGRESS_MARK in content.get("text", ""):
                kept = []
                for line in content["text"].split("\n"):
                    if line.startswith(PROGRESS_MARK):
                        step, _, key = line[len(PROGRESS_MARK):].strip().partition(" ")
                        index, _, total = step.partition("/")
                        progress.section(int(index), int(total), key)
                    else:
                        kept.append(line)
                text = "\n".join(kept)
                if not text:
                    return None
                msg = {**msg, "content": {**content, "text": text}}
            return super().output(outs, msg, display_id, cell_index)

    return Client


async def _ready(kc, timeout: float | None) -> None:
    """Wait until the kernel answers ``kernel_info`` and its IOPub messages arrive: the :class:`Kernel`'s clients'
    ``wait_for_ready``, jupyter_client's without its last step.

    That last step reads IOPub until it has been silent for 0.2 s, to drop what came before. The notebook
    client reads only the messages of its own cells (by their parent's id), so nothing needs dropping, and
    those 0.2 s were the kernel idling before the first cell of every report.
    """
    import time
    from queue import Empty

    from nbclient.util import ensure_async

    deadline = time.time() + (timeout if timeout is not None else float("inf"))
    while True:
        kc.kernel_info()
        try:
            msg = await ensure_async(kc.shell_channel.get_msg(timeout=1))
        except Empty:
            pass
        else:
            if msg["msg_type"] == "kernel_info_reply":
                try:  # IOPub is connected when the request's own status messages come through; else ask again
                    await ensure_async(kc.iopub_channel.get_msg(timeout=0.2))
                except Empty:
                    pass
                else:
                    kc._handle_kernel_info_reply(msg)
                    return
        if not await ensure_async(kc.is_alive()):
            raise RuntimeError("Kernel died before replying to kernel_info")
        if time.time() > deadline:
            raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")


def _cell_name(cell: dict, index: int) -> str:
    cid = cell.get("id") or ""
    return cid if cid and not cid.startswith(("cell-", "injected")) else f"cell {index}"


def execute_notebook(
    notebook: dict,
    *,
    cwd: str | Path | None = None,
    kernel: Kernel | None = None,
    progress: bool = False,
    label: str = "notebook",
    timeout: int = CELL_TIMEOUT,
) -> dict:
    """Execute ``notebook`` (a dict) in ``kernel``, or a fresh :class:`Kernel` started in ``cwd``; return the executed copy.

    The kernel is shut down at the end either way.

    Raises
    ------
    NotebookFailed
        When a cell raises: the message names the cell and the error, and
        the exception's ``notebook`` is the partly executed copy.
    """
    nbclient, nbformat = _import_nbclient()
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = nbformat.from_dict(copy.deepcopy(notebook))
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    bar = _Progress(len(code), progress, label)

    kernel = kernel or Kernel(cwd if cwd is not None else Path.cwd())
    client = _client_class(nbclient, bar)(
        nb, timeout=timeout, kernel_name="python3", km=kernel.km, allow_errors=False, shutdown_kernel="immediate",
        on_cell_start=lambda cell, cell_index, **_: bar.cell(_cell_name(cell, cell_index)),
        on_cell_executed=lambda **_: bar.done(), record_timing=True,
    )
    try:
        client.execute(cleanup_kc=True)
    except CellExecutionError as err:
        failed = next((i for i in code if any(o.get("output_type") == "error" for o in nb.cells[i].get("outputs", []))), None)
        error = next((o for o in nb.cells[failed].outputs if o.get("output_type") == "error"), {}) if failed is not None else {}
        where = f"cell {_cell_name(nb.cells[failed], failed)!r} (index {failed})" if failed is not None else "a cell"
        ename, evalue = error.get("ename", "Error"), " ".join(str(error.get("evalue", err)).split()).rstrip(".")
        raise NotebookFailed(f"{label} failed in {where}: {ename}: {evalue}.", _plain(nb)) from None
    except (CellTimeoutError, DeadKernelError) as err:
        tail = kernel.tail()
        first = " ".join(str(err).split()[:40]) or type(err).__name__
        raise NotebookFailed(f"{label} stopped: {type(err).__name__}: {first}" + (f" Kernel log: {tail}" if tail else ""),
                             _plain(nb)) from None
    finally:
        bar.close()
        kernel.shutdown()
    return _plain(nb)


def _plain(nb) -> dict:
    return json.loads(json.dumps(nb))


def write_notebook(notebook: dict, path: str | Path) -> Path:
    """Write a notebook dict as nbformat 4 JSON (UTF-8, one-space indent as Jupyter writes it)."""
    path = Path(path)
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def run_notebook(
    name: str,
    parameters: Mapping[str, Any],
    *,
    cwd: str | Path | None = None,
    kernel: Kernel | None = None,
    progress: bool = False,
    timeout: int = CELL_TIMEOUT,
) -> dict:
    """Check ``parameters`` against notebook ``name``, inject them, execute (in ``kernel`` or a new one in ``cwd``);
    a cell running longer than ``timeout`` seconds fails the run."""
    notebook = read_notebook(name)
    notebook.setdefault("metadata", {}).setdefault("custlab", {})["name"] = name
    check_parameters(notebook, parameters)
    return execute_notebook(inject_parameters(notebook, parameters), cwd=cwd, kernel=kernel, progress=progress,
                            label=f"{name}.ipynb", timeout=timeout)


def to_html(notebook: dict, path: str | Path, title: str = "") -> Path:
    """Render an executed notebook as HTML with code, prompts and cells tagged ``notebook-only`` hidden.

    ``title`` is the page's title (default: the notebook's first heading; nbconvert's own is "Notebook")."""
    _, nbformat = _import_nbclient()
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    exporter.register_preprocessor(TagRemovePreprocessor(remove_cell_tags={"notebook-only"}), enabled=True)
    if not title:
        first = next((c for c in notebook.get("cells", []) if c.get("cell_type") == "markdown"), None)
        source = "".join(first["source"]) if first else ""
        title = next((line.lstrip("#").strip() for line in source.splitlines() if line.startswith("#")), "")
    body, _ = exporter.from_notebook_node(nbformat.from_dict(notebook),
                                          resources={"metadata": {"name": title}} if title else None)
    path = Path(path)
    path.write_text(body, encoding="utf-8")
    return path
