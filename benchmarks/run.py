"""Run every benchmark script in this folder (bench_*.py), or those named.

    python benchmarks/run.py [name ...] [--quick]

Options starting with ``--`` are passed to each script.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    wanted = {a for a in argv if not a.startswith("--")}
    flags = [a for a in argv if a.startswith("--")]
    for script in sorted(HERE.glob("bench_*.py")):
        if wanted and script.stem.removeprefix("bench_") not in wanted and script.stem not in wanted:
            continue
        print(f"\n# {script.name}", flush=True)
        subprocess.run([sys.executable, str(script), *flags], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
