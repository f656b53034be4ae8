"""The whole monthly report (papermill run, HTML, exports) on Online Retail and on the default synthetic shop.

There is no anchor to compare with: this prints wall-clock seconds of
``custlab report`` end to end, including the notebook kernel's start, and the
peak resident memory of the kernel process (read by papermill's child's rusage).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from custlab.datasets import online_retail_path


def run(args: list[str]) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of the largest child process of one ``custlab report`` run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "custlab.cli", "report", "--quiet", *args], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak, before) / 1024


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a 1,000-customer shop instead of the default 5,000")
    options = parser.parse_args(argv)
    cases = {"synthetic shop (default, 5,000 customers)": ["--customers", "1000" if options.quick else "5000"]}
    if online_retail_path().exists():
        cases["Online Retail, 2011-11"] = ["--data", str(online_retail_path()), "--month", "2011-11"]
    print("\n## custlab report, end to end")
    print(f"{'case':<44}{'seconds':>10}{'peak MB':>10}")
    with tempfile.TemporaryDirectory() as out:
        for name, args in cases.items():
            seconds, peak = run([*args, "--out", str(Path(out) / "r")])
            print(f"{name:<44}{seconds:>10.1f}{peak:>10.0f}")
    print("peak MB: the largest process of the run (the notebook kernel or the command)")


if __name__ == "__main__":
    main()
