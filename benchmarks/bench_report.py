"""``custlab report`` end to end, against papermill running the same notebook with the same parameters.

Each case runs in fresh processes: ``custlab report`` (the command: parameter
checks on a lazy scan, the notebook executed with nbclient, HTML written by
the notebook), and the anchor, ``papermill`` executing the same shipped
notebook with the parameters the command would pass. The ratio is papermill's
time over the command's (above 1: the command is faster). Below the table,
where the command's time goes: its own start (imports and checks, until the
kernel starts), and each notebook cell, read from the executed notebook.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

# The shared datasets sit beside the repository unless CUSTLAB_DATA says otherwise (as in bench_rules.py).
os.environ.setdefault("CUSTLAB_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "data"))

from custlab.data import online_retail_path  # noqa: E402
from custlab.report.runner import report_parameters  # noqa: E402

PAPERMILL = """
import sys, json, papermill
parameters = json.loads(sys.argv[1])
papermill.execute_notebook(sys.argv[2], sys.argv[3], parameters=parameters, progress_bar=False, cwd=sys.argv[4],
                           kernel_name="python3")
"""


def _peak_mb(before: int) -> float:
    return max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024


def command(args: list[str], out: Path) -> tuple[float, float, Path]:
    """Seconds and peak MB of one ``custlab report`` run, and the folder it wrote."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "custlab.cli", "report", "--quiet", "--out", str(out), *args],
                          check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    html = Path(done.stdout.strip().removeprefix("Report written to ").rsplit(" in ", 1)[0])
    return seconds, _peak_mb(before), html.parent


def papermill(folder: Path, work: Path) -> tuple[float, float]:
    """Seconds and peak MB of papermill running the notebook the command ran, with its parameters."""
    from importlib import resources

    executed = json.loads((folder / "monthly_report.ipynb").read_text())
    parameters = executed["metadata"]["papermill"]["parameters"]
    parameters["previous_path"] = ""
    work.mkdir(parents=True, exist_ok=True)
    source = resources.files("custlab") / "notebooks" / "monthly_report.ipynb"
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", PAPERMILL, json.dumps(parameters), str(source), str(work / "out.ipynb"),
                    str(work)], check=True, capture_output=True)
    return time.perf_counter() - start, _peak_mb(before)


def cell_seconds(folder: Path) -> list[tuple[str, float]]:
    """Seconds per executed cell (nbclient's recorded timing), named by cell id."""
    executed = json.loads((folder / "monthly_report.ipynb").read_text())
    out = []
    for cell in executed["cells"]:
        timing = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            start = datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
            end = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
            out.append((cell.get("id", "?"), (end - start).total_seconds()))
    return out


def import_seconds(statement: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], check=True)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a 1,000-customer shop instead of the default 5,000")
    options = parser.parse_args(argv)
    cases = {"synthetic shop (default, 5,000 customers)": ["--customers", "1000" if options.quick else "5000"]}
    if online_retail_path().exists():
        cases["Online Retail, 2011-11"] = ["--data", str(online_retail_path()), "--month", "2011-11"]
    assert set(report_parameters())  # the command and the anchor run the same notebook contract
    print("\n## custlab report, end to end (anchor: papermill running the same notebook)")
    print(f"{'case':<44}{'seconds':>9}{'peak MB':>9}{'papermill':>11}{'ratio':>8}")
    breakdown = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, args) in enumerate(cases.items()):
            command(args, Path(tmp) / f"warm{i}")  # warm the file cache and matplotlib's font cache
            seconds, peak, folder = command(args, Path(tmp) / f"r{i}")
            anchor, _ = papermill(folder, Path(tmp) / f"p{i}")
            print(f"{name:<44}{seconds:>9.2f}{peak:>9.0f}{anchor:>11.2f}{anchor / seconds:>7.1f}x")
            breakdown[name] = (seconds, cell_seconds(folder))
    print("ratio = papermill's seconds / custlab report's (above 1: custlab report is faster)")
    nbclient = import_seconds("from custlab.report.notebooks import _import_nbclient; _import_nbclient()")
    papermill_import = import_seconds("import papermill")
    print(f"\nimport, fresh process: papermill {papermill_import:.2f} s; nbclient as custlab imports it {nbclient:.2f} s")
    for name, (seconds, cells) in breakdown.items():
        in_cells = sum(s for _, s in cells)
        top = sorted(cells, key=lambda c: -c[1])[:6]
        print(f"{name}: {seconds:.2f} s = {seconds - in_cells:.2f} s command and kernel start + "
              f"{in_cells:.2f} s in cells (" + ", ".join(f"{k} {s:.2f}" for k, s in top) + ")")


if __name__ == "__main__":
    main()
