"""Build custlab's wheel, install it in a fresh venv outside the repository, run ``custlab report`` and ``custlab quality``.

    python tests/report/check_wheel.py [--keep]

Proves the package is installable anywhere: the notebooks and label tables
ship inside the wheel, and nothing is looked up from the repository. pip
builds the wheel in its isolated build environment and installs the
dependencies from its cache, so a second run takes about a minute.
Exit code 0 when both reports were written; the last lines say what failed otherwise.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _step(title: str, command: list[str], *, cwd: Path, env: dict | None = None) -> str:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    print(f"{title}: {time.perf_counter() - started:.1f} s", flush=True)
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-3000:], sep="\n", file=sys.stderr)
        raise SystemExit(f"check_wheel: {title} failed (exit {done.returncode})")
    return done.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (its path is printed)")
    options = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="custlab-wheel-"))
    assert REPO not in work.parents
    print(f"check_wheel: working in {work}", flush=True)
    try:
        source = work / "src"  # a copy, so that the build leaves no build/ folder in the repository
        shutil.copytree(REPO, source, symlinks=True, ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "reports", ".hypothesis", ".pytest_cache"))
        _step("build the wheel", [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                                  "-w", str(work / "dist"), str(source)], cwd=work)
        wheel = next((work / "dist").glob("custlab-*.whl"))
        venv.create(work / "venv", with_pip=True)
        bin_dir = work / "venv" / ("Scripts" if os.name == "nt" else "bin")
        _step("install it in a fresh venv", [str(bin_dir / "python"), "-m", "pip", "install", "-q", str(wheel)], cwd=work)
        env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "CUSTLAB_DATA", "MPLBACKEND"}}
        env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
        where = _step("import", [str(bin_dir / "python"), "-c", "import custlab; print(custlab.__file__)"], cwd=work, env=env)
        if REPO in Path(where.strip()).parents:
            raise SystemExit(f"check_wheel: custlab was imported from the repository ({where.strip()})")
        out = work / "reports"
        report = _step("custlab report", [str(bin_dir / "custlab"), "report", "--out", str(out), "--customers", "600",
                                          "--quiet"], cwd=work, env=env)
        quality = _step("custlab quality", [str(bin_dir / "custlab"), "quality", "--out", str(out), "--customers", "300",
                                            "--quiet"], cwd=work, env=env)
        for line in (report, quality):
            path = Path(line.strip().removeprefix("Report written to ").rsplit(" in ", 1)[0])
            if not path.is_file() or path.stat().st_size < 10_000:
                raise SystemExit(f"check_wheel: no report at {path}")
            print(f"check_wheel: ok {path.relative_to(work)} ({path.stat().st_size:,} bytes)")
    finally:
        if options.keep:
            print(f"check_wheel: kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
