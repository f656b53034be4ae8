"""The report's second core: a helper process that runs analyses and draws charts beside the kernel.

A report computes its sections one after another on one core, then draws
their charts, also one after another. In a kernel started by ``custlab
report``, :func:`start` launches one helper process (the machines this runs on
have two cores or more), and two kinds of work are handed to it:

- the heaviest analyses that need no other section (the demand outlook, the
  voice of the customer), sent when the computing starts
  (:func:`custlab.report.figures.compute_month`) and picked up by their
  section through :meth:`custlab.report.context.Context.cached`;
- each section's charts, sent as soon as the section is done
  (:func:`custlab.report.figures.run_sections`) and picked up by
  :func:`custlab.report.html.chart_png`.

The helper asks for work whenever it is idle; what it has not started yet the
kernel takes back and does itself when it needs it (:func:`outcome`), so
neither side waits for work the other could do. The helper runs the very
functions the kernel would, on pickled copies of their inputs, so the report
is byte for byte the one computed in the kernel alone (tested). Anything the
helper cannot do (an input that does not pickle, a failure, a helper that
stopped) is done in the kernel as before; an analysis' error is raised by the
kernel's own run of it, so it reads the same.

Outside such a kernel (JupyterLab, papermill, a script) :func:`active` is
false and nothing changes. The helper runs at a lower priority (the kernel's
own threads go first) and ends when the kernel does, even a killed one: it
stops at the end of its input pipe.
"""

from __future__ import annotations

import collections
import gc
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Helper", "active", "call_later", "draw_later", "imports_frozen", "outcome", "start", "stop"]

#: Set in the helper's environment; a helper never starts a helper of its own.
WORKER_ENV = "CUSTLAB_HELPER_WORKER"
#: ``CUSTLAB_HELPER=off`` keeps every job in the kernel.
SWITCH_ENV = "CUSTLAB_HELPER"
#: What the helper imports before its first job, while the kernel imports and the command checks the data: the
#: drawing code, what the sections' results need to be unpickled (a Kaplan-Meier fit is a lifelines object) and the
#: analyses it is handed.
WARM_UP = ("matplotlib.backends.backend_agg", "custlab.report.html", "custlab.report.figures", "lifelines",
           "custlab.churn", "custlab.cohorts", "custlab.forecast", "statsforecast.models", "custlab.reviews",
           "sklearn.linear_model")


@dataclass
class _Job:
    kind: str  # "draw" or "call"
    work: tuple
    future: Future = field(default_factory=Future)


class Helper:
    """One helper process; jobs go to it one at a time, in the order submitted, whenever it asks for one.

    A thread of the kernel receives its answers (so the helper never waits
    for the kernel to read) and hands it the next job. Use :func:`start`
    rather than this class.
    """

    def __init__(self) -> None:
        from multiprocessing.connection import Connection

        child_reads, kernel_writes = os.pipe()
        kernel_reads, child_writes = os.pipe()
        env = {**os.environ, WORKER_ENV: "1", "MPLBACKEND": "agg"}
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "custlab.report.helper", str(child_reads), str(child_writes)],
                pass_fds=(child_reads, child_writes), env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                close_fds=True,
            )
        finally:
            os.close(child_reads)  # the helper's ends: with these closed here, it sees EOF when the kernel dies
            os.close(child_writes)
        self._send = Connection(kernel_writes, readable=False)
        self._receive = Connection(kernel_reads, writable=False)
        self._lock = threading.Lock()
        self._queued: collections.OrderedDict[int, _Job] = collections.OrderedDict()
        self._running: dict[int, _Job] = {}
        self._next = 0
        self._idle = False  # the helper asked for work and got none yet
        #: Jobs the helper did, per kind ("draw", "call").
        self.done: collections.Counter[str] = collections.Counter()
        self.closed = False
        threading.Thread(target=self._receiver, name="custlab-helper", daemon=True).start()

    # -- the kernel's side -----------------------------------------------------------------------------------
    @property
    def idle(self) -> bool:
        """Whether the helper waits for work (a job submitted now starts at once)."""
        return self._idle

    def submit(self, kind: str, *work: Any) -> Future:
        """Queue a job: ``("draw", chart, language, width)`` or ``("call", function, args, kwargs)``."""
        job = _Job(kind, work)
        with self._lock:
            if self.closed:
                job.future.set_exception(RuntimeError("the helper is stopped"))
                return job.future
            ident, self._next = self._next, self._next + 1
            self._queued[ident] = job
            job.future.ident = ident  # type: ignore[attr-defined]
            if self._idle:
                self._dispatch()
        return job.future

    def take_back(self, future: Future) -> bool:
        """Whether the job of ``future`` was still waiting for the helper: then it is the caller's to do."""
        with self._lock:
            job = self._queued.pop(getattr(future, "ident", -1), None)
        if job is None:
            return False
        job.future.cancel()
        return True

    def steal(self) -> _Job | None:
        """The job queued last, now the caller's to do (its future is marked running); None when none waits."""
        with self._lock:
            if not self._queued:
                return None
            _, job = self._queued.popitem(last=True)
        return job if job.future.set_running_or_notify_cancel() else None

    def _dispatch(self) -> None:
        """Send the next job that pickles (called with the lock held, when the helper is idle)."""
        while self._queued:
            ident, job = self._queued.popitem(last=False)
            try:
                payload = pickle.dumps(job.work, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as err:  # noqa: BLE001 - an input that does not pickle: the kernel does this job
                job.future.set_exception(RuntimeError(f"cannot be pickled: {type(err).__name__}: {err}"))
                continue
            try:
                self._send.send((ident, job.kind, payload))
            except OSError:
                job.future.set_exception(RuntimeError("the helper stopped"))
                return
            job.future.set_running_or_notify_cancel()
            self._running[ident] = job
            self._idle = False
            return
        self._idle = True

    def _receiver(self) -> None:
        while True:
            try:
                message = self._receive.recv()
            except (EOFError, OSError):
                self._fail_all("the helper stopped")
                return
            except Exception as err:  # noqa: BLE001 - an answer that cannot be unpickled here
                message = None
                failure = f"its answer cannot be unpickled: {type(err).__name__}: {err}"
            if message is None:  # the job it belongs to cannot be told: every running one is done here
                self._fail_running(failure)
            elif message[0] == "ready":
                with self._lock:
                    if not self.closed:
                        self._dispatch()
            else:
                _, ident, ok, value = message
                with self._lock:
                    job = self._running.pop(ident, None)
                if job is not None and ok:
                    self.done[job.kind] += 1
                    job.future.set_result(value)
                elif job is not None:
                    job.future.set_exception(RuntimeError(value))

    def _fail_running(self, reason: str) -> None:
        with self._lock:
            running, self._running = self._running, {}
        for job in running.values():
            job.future.set_exception(RuntimeError(reason))

    def _fail_all(self, reason: str) -> None:
        with self._lock:
            self.closed = True
            jobs = [*self._queued.values(), *self._running.values()]
            self._queued.clear()
            self._running.clear()
        for job in jobs:
            if not job.future.done():
                if job.future.running() or job.future.set_running_or_notify_cancel():
                    job.future.set_exception(RuntimeError(reason))

    def close(self) -> None:
        """Stop the helper; what it has not done yet is done where it is needed."""
        with self._lock:
            self.closed = True
        for connection in (self._send, self._receive):
            try:
                connection.close()
            except OSError:
                pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._fail_all("the helper was stopped")


_HELPER: Helper | None = None


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def start() -> Helper | None:
    """Start the helper once per process; None when it cannot or should not start.

    It does not start inside a helper, on a single core, or when the
    environment variable ``CUSTLAB_HELPER`` is ``off`` (everything is then
    done in the kernel, as in JupyterLab).
    """
    global _HELPER
    wanted = os.environ.get(SWITCH_ENV, "").strip().lower() not in ("off", "0", "no", "false")
    if _HELPER is None and wanted and os.environ.get(WORKER_ENV) != "1" and _cores() >= 2:
        try:
            _HELPER = Helper()
        except OSError:  # no process can be started here: the kernel does everything itself
            _HELPER = None
    return _HELPER


@contextmanager
def imports_frozen() -> Iterator[None]:
    """Import inside this block with the garbage collector paused; then freeze every object so far out of it.

    A report's kernel and helper import modules that make some 250,000 objects, which live as long as the
    process. Collecting on the way cost the kernel 0.3-0.4 s of its 2 s warm-up (five full collections), and each
    full collection of the run walked them all again (0.15 s). Frozen (:func:`gc.freeze`), they are left out of
    every later collection, which then sees only what the run makes. The imports leave almost no garbage to
    collect first (2,400 unreachable objects of 458,000 in the kernel's warm-up; a collection would cost 0.3 s).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def active() -> bool:
    """Whether a helper takes work (only after :func:`start`)."""
    return _HELPER is not None and not _HELPER.closed


def stop() -> None:
    """Stop the helper, if one runs."""
    global _HELPER
    helper, _HELPER = _HELPER, None
    if helper is not None:
        helper.close()


def draw_later(chart: Any, language: str, width: float) -> Future | None:
    """Have the helper draw ``chart`` (:func:`custlab.report.html.draw_png`); None when there is no helper."""
    return _HELPER.submit("draw", chart, language, width) if active() else None


def call_later(function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future | None:
    """Have the helper run ``function(*args, **kwargs)`` (a module-level function); None when there is no helper."""
    return _HELPER.submit("call", function, args, kwargs) if active() else None


#: :func:`outcome`'s answer when the helper did not do the job.
NOT_DONE: Any = object()


def outcome(future: Future) -> Any:
    """The helper's result, or :data:`NOT_DONE` when the caller must do the job itself.

    A job the helper has not started is taken back at once; one it is doing
    is waited for. A job that failed there is :data:`NOT_DONE` too: run again
    here, it fails (or not) the way it would without a helper.
    """
    helper = _HELPER
    if helper is not None:
        if helper.take_back(future):
            return NOT_DONE
        while not future.done():  # under way there: rather than wait, do the work queued last here
            job = helper.steal()
            if job is None:
                break
            _do_here(job)
    if future.cancelled():
        return NOT_DONE
    try:
        return future.result()
    except Exception:  # noqa: BLE001 - done here instead
        return NOT_DONE


def _do_here(job: _Job) -> None:
    """Do a job taken from the helper's queue in this process, into its future."""
    try:
        value = _run(job.kind, job.work)
    except Exception as err:  # noqa: BLE001 - kept in the future: whoever needs it does it again and sees it
        job.future.set_exception(err)
    else:
        job.future.set_result(value)


def _run(kind: str, work: tuple) -> Any:
    """A job's work: ``draw_png(chart, language, width)`` or ``function(*args, **kwargs)``."""
    if kind == "draw":
        from custlab.report.html import draw_png

        return draw_png(*work)
    function, args, kwargs = work
    return function(*args, **kwargs)


def _serve(requests: Any, replies: Any) -> None:
    """The helper's loop: ask for a job, do it, answer ``("done", ident, ok, result or error)``; stop at EOF.

    A job's work is pickled apart from its number, so a job whose inputs cannot
    be unpickled here still gets its answer (an error: the kernel does it).
    """
    import importlib

    # The helper runs at the kernel's priority. At niceness 10 (until 2026-12-07) it lost the CPU to the kernel's
    # polars threads and the command, and the kernel then waited for its charts and analyses: 12 of 12 alternating
    # runs were faster at the same priority (the shop by 0.1-0.4 s, Online Retail 2011-11 by 0.4-0.6 s).
    with imports_frozen():
        for module in WARM_UP:
            try:
                importlib.import_module(module)
            except ImportError:  # an optional part missing: its jobs fail here and are done in the kernel
                pass
        from custlab._plotting import find_cjk_font

        find_cjk_font()
        _warm_drawing()
    while True:
        try:
            replies.send(("ready",))
            ident, kind, payload = requests.recv()
        except (EOFError, OSError):
            return
        try:
            answer = ("done", ident, True, _run(kind, pickle.loads(payload)))
        except Exception as err:  # noqa: BLE001 - the kernel does this job itself
            answer = ("done", ident, False, f"{type(err).__name__}: {err}")
        try:
            data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as err:  # noqa: BLE001 - a result that does not pickle: the kernel does this job
            data = pickle.dumps(("done", ident, False, f"its result cannot be pickled: {type(err).__name__}: {err}"))
        try:
            replies.send_bytes(data)
        except OSError:
            return


def _warm_drawing() -> None:
    """Draw a small chart in each language once, so that the first real chart finds the fonts loaded (a first chart
    costs 0.3-0.5 s more than the next)."""
    from functools import partial

    from custlab._types import LANGUAGES
    from custlab.report.html import draw_png
    from custlab.report.parts import Chart
    from custlab.report.text import Text

    for language in LANGUAGES:
        labels = ["甲", "乙"] if language == "zh" else ["a", "b"]
        chart = Chart("warm", Text("report.section.trend", {}), partial(_warm_chart, labels), 2.0)
        try:
            draw_png(chart, language, 4.0)
        except Exception:  # noqa: BLE001 - only a warm-up
            pass


def _warm_chart(labels: list[str], language: str):
    from custlab.report.charts import bar_chart

    return bar_chart(labels, [1.0, 2.0], language=language)


if __name__ == "__main__":  # the helper: python -m custlab.report.helper <read fd> <write fd>
    from multiprocessing.connection import Connection

    _serve(Connection(int(sys.argv[1]), writable=False), Connection(int(sys.argv[2]), readable=False))
