"""``custlab report`` end to end, against the old-style run of the same command, in the same run.

The anchor is the report as it was committed before the analysis packages were
integrated (``git archive HEAD`` unpacked in a temporary folder and put first
on ``PYTHONPATH``, so ``python -m custlab.cli report`` and its kernel run that
code): it fitted its own CLV choice and drew eight charts at 110 dpi. Pass
``--anchor REV`` to compare with another commit, ``--papermill`` to add papermill
running the same shipped notebook with the same parameters (the way the
report ran before nbclient). Every case runs in fresh processes, warmed once
(file cache, matplotlib's font cache), then ``--repeat`` times; the median is
shown. The ratio is the anchor's seconds over the command's (above 1: faster
now). The machine is shared: the load average is printed before and after.

Below the table, where the command's time goes: its own start and the
kernel's (until the first cell), and each notebook cell, read from the
executed notebook.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The shared datasets sit beside the repository unless CUSTLAB_DATA says otherwise (as in bench_rules.py).
os.environ.setdefault("CUSTLAB_DATA", str(REPO.parent / "shared" / "data"))

from custlab.data import online_retail_path  # noqa: E402

PAPERMILL = """
import sys, json, papermill
parameters = json.loads(sys.argv[1])
papermill.execute_notebook(sys.argv[2], sys.argv[3], parameters=parameters, progress_bar=False, cwd=sys.argv[4],
                           kernel_name="python3")
"""


def _peak_mb(before: int) -> float:
    return max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024


def anchor_tree(rev: str, work: Path) -> Path:
    """The package as committed at ``rev``, unpacked (``git archive``: the index and work tree are untouched)."""
    target = work / f"anchor-{rev}"
    target.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", rev, "custlab"], check=True,
                             capture_output=True).stdout
    tar = work / "anchor.tar"
    tar.write_bytes(archive)
    with tarfile.open(tar) as handle:
        handle.extractall(target, filter="data")
    return target


def command(args: list[str], out: Path, pythonpath: Path | None = None) -> tuple[float, float, Path]:
    """Seconds and peak MB of one ``custlab report`` run (of the code on ``pythonpath`` if given), and its folder."""
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = f"{pythonpath}{os.pathsep}{env['PYTHONPATH']}" if env.get("PYTHONPATH") else str(pythonpath)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)  # also the working folder: the current one may hold another custlab
    done = subprocess.run([sys.executable, "-m", "custlab.cli", "report", "--quiet", "--out", str(out), *args],
                          check=True, capture_output=True, text=True, env=env, cwd=out)
    seconds = time.perf_counter() - start
    html = Path(done.stdout.strip().removeprefix("Report written to ").rsplit(" in ", 1)[0])
    return seconds, _peak_mb(before), html.parent


def papermill(folder: Path, work: Path) -> float:
    """Seconds of papermill running the notebook the command ran, with its parameters."""
    from importlib import resources

    executed = json.loads((folder / "monthly_report.ipynb").read_text())
    parameters = executed["metadata"]["papermill"]["parameters"]
    parameters["previous_path"] = ""
    work.mkdir(parents=True, exist_ok=True)
    source = resources.files("custlab") / "notebooks" / "monthly_report.ipynb"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", PAPERMILL, json.dumps(parameters), str(source), str(work / "out.ipynb"),
                    str(work)], check=True, capture_output=True)
    return time.perf_counter() - start


def cell_seconds(folder: Path) -> tuple[float, list[tuple[str, float]]]:
    """Seconds from the first cell's start to the last one's end, and per executed cell (nbclient's timing)."""
    executed = json.loads((folder / "monthly_report.ipynb").read_text())
    out, first, last = [], None, None
    for cell in executed["cells"]:
        timing = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            start = datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
            end = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
            first, last = first or start, end
            out.append((cell.get("id", "?"), (end - start).total_seconds()))
    return ((last - first).total_seconds() if first else 0.0), out


def median_run(args: list[str], out: Path, repeat: int, pythonpath: Path | None = None) -> tuple[float, float, Path]:
    """The run of median time (the lower middle one of an even count): its seconds and folder, and the largest peak.

    Its folder, not the last run's: the time before the first cell is then its seconds less its own cells' span
    (the cells had been read from the last run and the seconds from the median one).
    """
    runs = sorted((command(args, out / f"r{i}", pythonpath) for i in range(repeat)), key=lambda run: run[0])
    middle = runs[(len(runs) - 1) // 2]
    return middle[0], max(r[1] for r in runs), middle[2]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a 1,000-customer shop instead of the default 5,000")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per case and version (median shown)")
    parser.add_argument("--anchor", default="HEAD", help="the commit whose report is the anchor (default HEAD)")
    parser.add_argument("--papermill", action="store_true", help="also time papermill running the same notebook")
    parser.add_argument("--json", default=None, help="also write the rows to this JSON file")
    options, _ = parser.parse_known_args(argv)  # benchmarks/run.py passes its own arguments along
    with_anchor = options.anchor.lower() != "none"
    size = "1,000" if options.quick else "5,000"
    cases = {f"built-in shop ({size} customers, 2024-12)": ["--customers", size.replace(",", "")]}
    if online_retail_path().exists():
        cases["Online Retail, 2011-11"] = ["--data", str(online_retail_path()), "--month", "2011-11"]
    load = os.getloadavg()
    print(f"\n## custlab report, end to end (anchor: the report committed at {options.anchor}, same run)")
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores at the start; "
          f"median of {options.repeat} runs after a warm-up run")
    head = f"{'case':<42}{'now s':>8}{'peak MB':>9}{'anchor s':>10}{'ratio':>8}"
    print(head + (f"{'papermill s':>13}" if options.papermill else ""))
    breakdown = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        old = anchor_tree(options.anchor, work) if with_anchor else None
        for i, (name, args) in enumerate(cases.items()):
            command(args, work / f"warm{i}")  # the file cache and matplotlib's font cache
            if old is not None:
                command(args, work / f"warm-old{i}", old)
            seconds, peak, folder = median_run(args, work / f"now{i}", options.repeat)
            anchor = median_run(args, work / f"old{i}", options.repeat, old)[0] if old is not None else float("nan")
            line = f"{name:<42}{seconds:>8.2f}{peak:>9.0f}{anchor:>10.2f}{anchor / seconds:>7.2f}x"
            if options.papermill:
                line += f"{papermill(folder, work / f'p{i}'):>13.2f}"
            print(line, flush=True)
            breakdown[name] = (seconds, *cell_seconds(folder))
    load_after = os.getloadavg()
    print(f"ratio = the anchor's seconds / now (above 1: faster now); load average {load_after[0]:.1f} at the end")
    if options.json:
        Path(options.json).write_text(json.dumps({
            "load_before": load, "load_after": load_after, "cores": os.cpu_count(), "repeat": options.repeat,
            "cases": [{"case": name, "seconds": seconds, "in_cells": in_cells,
                       "cells": sorted(cells, key=lambda c: -c[1])[:6]}
                      for name, (seconds, in_cells, cells) in breakdown.items()]}, indent=1))
    for name, (seconds, in_cells, cells) in breakdown.items():
        top = sorted(cells, key=lambda c: -c[1])[:6]
        print(f"{name}: {seconds:.2f} s = {seconds - in_cells:.2f} s command and kernel start + {in_cells:.2f} s of "
              "cells (" + ", ".join(f"{k} {s:.2f}" for k, s in top) + ")")


if __name__ == "__main__":
    main()
