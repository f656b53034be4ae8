"""Timing harness: each case runs in a fresh process; time and peak memory are read there.

Processes are started with "spawn" (a fork of a process whose polars thread
pool is running can deadlock), so ``setup`` and the timed functions must be
picklable: module-level functions, or ``functools.partial`` of them.

Peak memory is the growth of the process's resident set during the timed call:
the kernel's high-water mark (VmHWM) is reset after the setup has loaded the
data (``/proc/self/clear_refs``), so it counts what the method itself needs,
whatever allocator (numpy, pandas, polars' Rust side) holds it.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


def _rss_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _child(setup: Callable, fn: Callable, conn) -> None:
    try:
        data = setup()
        _reset_peak()
        base = _rss_mb("VmRSS")
        start = time.perf_counter()
        result = fn(data)
        seconds = time.perf_counter() - start
        peak = _rss_mb("VmHWM") - base
        conn.send(("ok", seconds, peak, summarize(result)))
    except BaseException as err:  # reported, not raised: the other cases still run
        conn.send(("error", float("nan"), float("nan"), f"{type(err).__name__}: {err}"))
    finally:
        conn.close()


def summarize(result) -> str:
    shape = getattr(result, "shape", None)
    if shape is not None:
        return f"shape {tuple(shape)}"
    if isinstance(result, (list, tuple, dict)):
        return f"{type(result).__name__} of {len(result)}"
    return type(result).__name__


@dataclass
class Timing:
    name: str
    seconds: float
    peak_mb: float
    note: str


def measure(name: str, setup: Callable, fn: Callable, *, timeout: float = 3600) -> Timing:
    """Run ``fn(setup())`` in a fresh process and return its time and peak extra memory."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(setup, fn, child))
    proc.start()
    child.close()
    if parent.poll(timeout):
        status, seconds, peak, note = parent.recv()
    else:
        proc.kill()
        status, seconds, peak, note = "error", float("nan"), float("nan"), f"timed out after {timeout:.0f} s"
    proc.join()
    return Timing(name, seconds, peak, note if status == "ok" else f"FAILED {note}")


def compare(title: str, setup: Callable, custlab: Callable, anchors: dict[str, Callable], *,
            timeout: float = 3600) -> list[Timing]:
    """Time custlab and each anchor on the same data in the same run; print times, memory and ratios."""
    ours = measure("custlab", setup, custlab, timeout=timeout)
    rows = [ours] + [measure(name, setup, fn, timeout=timeout) for name, fn in anchors.items()]
    print_table(title, rows)
    return rows


def print_table(title: str, rows: list[Timing]) -> None:
    """Print timings, the first row being custlab's, with each row's ratio to it."""
    ours = rows[0]
    print(f"\n## {title}")
    print(f"{'method':<34}{'seconds':>10}{'peak MB':>10}{'ratio':>9}  note")
    for t in rows:
        ratio = t.seconds / ours.seconds if ours.seconds == ours.seconds and ours.seconds > 0 else float("nan")
        label = "1.0x" if t is ours else f"{ratio:.1f}x"
        print(f"{t.name:<34}{t.seconds:>10.3f}{t.peak_mb:>10.0f}{label:>9}  {t.note}")
    print("ratio = method's time / custlab's time (above 1: custlab is faster)")
