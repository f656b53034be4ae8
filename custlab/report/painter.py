"""Charts drawn on the second core while the report goes on computing.

The report's figures are computed one section after another on one core; its
charts are then drawn, also one after another (about a fifth of a report's
time). In a kernel started by ``custlab report``, :func:`start` launches one
helper process; :func:`custlab.report.figures.run_sections` hands it each
section's charts as soon as the section is done, and
:func:`custlab.report.html.chart_png` takes the finished PNG instead of
drawing the chart again. The helper draws with the very function the page
uses (:func:`custlab.report.html.draw_png`), so the page is byte for byte the
one drawn in the kernel (tested).

Nothing else changes: outside such a kernel (JupyterLab, papermill, a
script) :func:`active` is false and every chart is drawn where it is shown. A
chart the helper cannot draw (it cannot be pickled, the helper failed or was
stopped) is drawn in the kernel as before. The helper ends when the kernel
does, even a killed one: it stops at the end of its input pipe.

Charts travel pickled: a :class:`~custlab.report.parts.Chart`'s ``draw`` is a
``functools.partial`` of a module-level function and the section's result.
"""

from __future__ import annotations

import os
import pickle
import queue
import subprocess
import sys
import threading
from concurrent.futures import Future
from typing import Any

__all__ = ["Painter", "active", "start", "stop", "submit"]

#: Set in the helper's environment; a helper never starts a helper of its own.
WORKER_ENV = "CUSTLAB_PAINTER_WORKER"
#: The helper's niceness: it draws with the CPU time the kernel leaves free.
NICENESS = 10
#: What the helper imports before its first chart: the drawing code and what the sections' results need to be
#: unpickled (a Kaplan-Meier fit is a lifelines object).
WARM_UP = ("matplotlib.backends.backend_agg", "custlab.report.html", "custlab.report.figures", "lifelines",
           "custlab.churn", "custlab.cohorts", "custlab.forecast.plots")


class Painter:
    """One helper process that draws charts to PNG (base64) in the order they are submitted.

    Two threads of the kernel keep it fed: one pickles and sends the charts
    (so a large chart never holds up the caller), one receives the PNGs and
    completes their futures (so the helper never waits for the caller to
    read). Use :func:`start` rather than this class.
    """

    def __init__(self) -> None:
        from multiprocessing.connection import Connection

        child_reads, kernel_writes = os.pipe()
        kernel_reads, child_writes = os.pipe()
        env = {**os.environ, WORKER_ENV: "1", "MPLBACKEND": "agg"}
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "custlab.report.painter", str(child_reads), str(child_writes)],
                pass_fds=(child_reads, child_writes), env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                close_fds=True,
            )
        finally:
            os.close(child_reads)  # the helper's ends: with these closed here, the helper sees EOF when the kernel dies
            os.close(child_writes)
        self._send = Connection(kernel_writes, readable=False)
        self._receive = Connection(kernel_reads, writable=False)
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._pending: dict[int, Future] = {}
        self._lock = threading.Lock()
        self._next = 0
        self.closed = False
        threading.Thread(target=self._sender, name="custlab-painter-send", daemon=True).start()
        threading.Thread(target=self._receiver, name="custlab-painter-receive", daemon=True).start()

    def submit(self, chart: Any, language: str, width: float) -> Future:
        """A future of ``draw_png(chart, language, width)``; it fails when the helper cannot draw the chart."""
        future: Future = Future()
        with self._lock:
            if self.closed:
                future.set_exception(RuntimeError("the chart painter is stopped"))
                return future
            ident = self._next
            self._next += 1
            self._pending[ident] = future
        self._jobs.put((ident, chart, language, width))
        return future

    def _sender(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            ident, chart, language, width = job
            try:
                drawing = pickle.dumps(chart, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as err:  # noqa: BLE001 - an unpicklable chart is drawn in the kernel instead
                self._settle(ident, error=f"cannot be pickled: {type(err).__name__}: {err}")
                continue
            try:
                self._send.send((ident, drawing, language, width))
            except OSError:  # the helper is gone: everything waiting is drawn in the kernel
                self._fail_all("the chart painter stopped")
                return

    def _receiver(self) -> None:
        while True:
            try:
                ident, ok, value = self._receive.recv()
            except (EOFError, OSError):
                self._fail_all("the chart painter stopped")
                return
            self._settle(ident, value=value) if ok else self._settle(ident, error=value)

    def _settle(self, ident: int, *, value: str | None = None, error: str | None = None) -> None:
        with self._lock:
            future = self._pending.pop(ident, None)
        if future is None:
            return
        if error is None:
            future.set_result(value)
        else:
            future.set_exception(RuntimeError(error))

    def _fail_all(self, reason: str) -> None:
        with self._lock:
            self.closed = True
            pending, self._pending = self._pending, {}
        for future in pending.values():
            future.set_exception(RuntimeError(reason))

    def close(self) -> None:
        """Stop the helper (charts not drawn yet fail, so they are drawn where they are shown)."""
        with self._lock:
            self.closed = True
        self._jobs.put(None)
        for connection in (self._send, self._receive):
            try:
                connection.close()
            except OSError:
                pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._fail_all("the chart painter was stopped")


_PAINTER: Painter | None = None


def start() -> Painter | None:
    """Start the helper once per process (never inside a helper); None when it cannot start."""
    global _PAINTER
    if _PAINTER is None and os.environ.get(WORKER_ENV) != "1":
        try:
            _PAINTER = Painter()
        except OSError:  # no process can be started here: charts are drawn where they are shown
            _PAINTER = None
    return _PAINTER


def active() -> bool:
    """Whether charts are being drawn by a helper (only after :func:`start`)."""
    return _PAINTER is not None and not _PAINTER.closed


def submit(chart: Any, language: str, width: float) -> Future | None:
    """Hand ``chart`` to the helper; None when there is none."""
    return _PAINTER.submit(chart, language, width) if active() else None


def stop() -> None:
    """Stop the helper, if one runs."""
    global _PAINTER
    painter, _PAINTER = _PAINTER, None
    if painter is not None:
        painter.close()


def _serve(requests: Any, replies: Any) -> None:
    """The helper's loop: unpickle a chart, draw it, send back ``(ident, ok, png or error)``; stop at EOF.

    The chart is pickled apart from its job number, so a chart that cannot be
    unpickled here still gets its answer (an error: the kernel draws it).
    """
    import importlib

    try:  # the kernel's own threads (polars uses every core) go first; the charts take what they leave
        os.nice(NICENESS)
    except OSError:
        pass

    for module in WARM_UP:  # while the kernel imports and the command checks the data, the second core is free
        try:
            importlib.import_module(module)
        except ImportError:  # an optional part missing: its chart, if any, fails here and is drawn in the kernel
            pass
    from custlab._plotting import find_cjk_font
    from custlab.report.html import draw_png

    find_cjk_font()
    while True:
        try:
            ident, drawing, language, width = requests.recv()
        except (EOFError, OSError):
            return
        try:
            chart = pickle.loads(drawing)
            reply = (ident, True, draw_png(chart, language, width))
        except Exception as err:  # noqa: BLE001 - the kernel draws this chart itself
            reply = (ident, False, f"{type(err).__name__}: {err}")
        try:
            replies.send(reply)
        except OSError:
            return


if __name__ == "__main__":  # the helper: python -m custlab.report.painter <read fd> <write fd>
    from multiprocessing.connection import Connection

    _serve(Connection(int(sys.argv[1]), writable=False), Connection(int(sys.argv[2]), readable=False))
