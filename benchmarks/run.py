"""``make bench``: run the benchmarks behind the README's benchmark tables and write those tables into README.md.

    python benchmarks/run.py                  # the README set, then README.md is rewritten between its markers
    python benchmarks/run.py --large 0        # the same without the 100M-line cases
    python benchmarks/run.py --no-readme      # print only
    python benchmarks/run.py --quick          # the README set at small sizes (1M lines, 300k baskets), print only
    python benchmarks/run.py --all [--quick]  # every bench_*.py script in this folder, printed only
    python benchmarks/run.py rfm rules ...    # the scripts named (bench_<name>.py), printed only

The README set, in one run on the same machine:

- ``bench_layouts.py --check``: ``rfm_table``, ``clv_summary``, ``survival_frame`` and ``cohort_retention`` on
  10M order lines in four layouts, against plain polars, DuckDB and pandas (the tables are compared first);
- ``bench_layouts.py --lines 100000000``: the same at 100M lines (``--large N`` sets N, 0 leaves it out);
- ``bench_rules.py``: frequent itemsets against pyfim's eclat and mlxtend;
- ``bench_report.py --anchor none``: ``custlab report`` end to end on the built-in shop and Online Retail.

Each script prints its own tables as it goes and writes its rows to a JSON file in a temporary folder; the
README section between ``<!-- make bench: begin -->`` and ``<!-- make bench: end -->`` is then rebuilt from
those files, with the date, the cores and the load average before and after each part. Nothing is copied
by hand.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
BEGIN, END = "<!-- make bench: begin -->", "<!-- make bench: end -->"
LARGE = 100_000_000


def run_script(name: str, args: list[str]) -> int:
    print(f"\n# {name} {' '.join(args)}", flush=True)
    return subprocess.run([sys.executable, str(HERE / name), *args], check=False).returncode


def _seconds(value: float) -> str:
    if not math.isfinite(value):
        return "failed"
    return f"{value:.2f} s" if value >= 0.1 else f"{value:.3f} s"


def _load(part: dict) -> str:
    def three(values) -> str:
        return " ".join(f"{v:.1f}" for v in values)

    return f"load average {three(part['load_before'])} before, {three(part['load_after'])} after"


def layouts_table(part: dict) -> list[str]:
    rows = part["rows"]
    lines = rows[0]["lines"] if rows else 0
    repeat = rows[0]["repeat"] if rows else 0
    out = [f"**Per-customer tables, {lines:,} order lines** (`bench_layouts.py`; fastest of {repeat} fresh "
           f"process{'es' if repeat > 1 else ''}, median peak; {_load(part)}). Ratios: the anchor's time over "
           "custlab's (above 1: custlab is faster).", "",
           "| function | layout | custlab | plain polars | DuckDB | pandas | vs polars | vs DuckDB "
           "| peak MB custlab / DuckDB |",
           "|---|---|---|---|---|---|---|---|---|"]
    met = 0
    for row in rows:
        ours, plain, duck = (row[n]["seconds"] for n in ("custlab", "plain polars", "DuckDB"))
        pandas = _seconds(row["pandas"]["seconds"]) if "pandas" in row else ""
        peak, duck_peak = row["custlab"]["peak_mb"], row["DuckDB"]["peak_mb"]
        ok = plain / ours >= 1 and duck / ours >= 1.5 and peak <= duck_peak
        met += ok
        out.append(f"| `{row['function']}` | {row['layout']} | {_seconds(ours)} | {_seconds(plain)} | {_seconds(duck)} "
                   f"| {pandas} | {plain / ours:.2f}x | {duck / ours:.2f}x | {peak:,.0f} / {duck_peak:,.0f} |")
    out += ["", f"Goal of issue 21 (at least as fast as plain polars, 1.5x DuckDB, peak at or below DuckDB's): met in "
                f"{met} of {len(rows)} cases.", ""]
    return out


def rules_table(part: dict) -> list[str]:
    out = [f"**Frequent itemsets** (`bench_rules.py`; fastest of 5 fresh processes, one at "
           f"{part['baskets']:,} baskets; {_load(part)}). End to end: from the polars long table, custlab's "
           "encoding and pyfim's list building included.", "",
           "| case | custlab | pyfim eclat end to end | custlab / pyfim | pyfim handed its lists | mlxtend fpgrowth "
           "| peak MB custlab / pyfim |",
           "|---|---|---|---|---|---|---|"]
    within, cases, memory = 0, 0, ""
    for t in part["tables"]:
        rows = {r["name"]: r for r in t["rows"]}
        ours = t["rows"][0]
        fim = rows.get("pyfim eclat (lists built, end to end)")
        lists = rows.get("pyfim eclat (handed its lists)")
        mlx = next((r for n, r in rows.items() if n.startswith("mlxtend")), None)
        if fim is None:
            continue
        case = t["title"].split(":")[0]
        if case.startswith("Instacart"):
            case = f"{case}, {part['baskets']:,} baskets"
            ratio = ours["peak_mb"] / fim["peak_mb"] if fim["peak_mb"] > 0 else math.inf
            memory = (f" Memory at {part['baskets']:,} baskets: {ours['peak_mb']:,.0f} MB against pyfim's "
                      f"{fim['peak_mb']:,.0f} MB end to end ({ratio:.2f}x; goal at most 2x: "
                      f"{'met' if ratio <= 2 else 'not met'}).")
        else:
            cases += 1
            within += ours["seconds"] <= 1.5 * fim["seconds"]
        out.append(f"| {case} | {_seconds(ours['seconds'])} | {_seconds(fim['seconds'])} "
                   f"| {ours['seconds'] / fim['seconds']:.2f}x | {_seconds(lists['seconds']) if lists else ''} "
                   f"| {_seconds(mlx['seconds']) if mlx else ''} | {ours['peak_mb']:,.0f} / {fim['peak_mb']:,.0f} |")
    return out + ["", f"Goal of issue 21 (within 1.5x of pyfim end to end on Online Retail and Groceries): met in "
                      f"{within} of {cases} cases.{memory}", ""]


def report_table(part: dict) -> list[str]:
    out = [f"**`custlab report`** (`bench_report.py`; median of {part['repeat']} runs after a warm-up run; "
           f"{_load(part)}).", "",
           "| data and month | seconds | command and kernel start | largest cells |", "|---|---|---|---|"]
    for case in part["cases"]:
        cells = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in case["cells"])
        out.append(f"| {case['case']} | {_seconds(case['seconds'])} | {_seconds(case['seconds'] - case['in_cells'])} "
                   f"| {cells} |")
    under = sum(case["seconds"] < 4 for case in part["cases"])
    return out + ["", f"Goal of issue 21 (under 4 s with a warm venv): met in {under} of {len(part['cases'])} cases.", ""]


def section(parts: dict[str, dict]) -> str:
    now = dt.datetime.now(dt.timezone.utc)
    lines = [BEGIN, "", f"Written by `make bench` on {now:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores "
             "(the machines are shared: the load average of each part is given; ratios hold better than times).", ""]
    for key, render in (("layouts", layouts_table), ("layouts_large", layouts_table), ("rules", rules_table),
                        ("report", report_table)):
        if key in parts:
            lines += render(parts[key])
    return "\n".join(lines + [END])


def write_readme(text: str) -> None:
    readme = README.read_text(encoding="utf-8")
    if BEGIN not in readme or END not in readme:
        raise SystemExit(f"README.md has no {BEGIN} ... {END} markers: the tables were printed, not written.")
    head, rest = readme.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    README.write_text(head + text + tail, encoding="utf-8")
    print(f"\nREADME.md: the benchmark section was rewritten ({text.count(chr(10)) + 1} lines).")


def main(argv: list[str]) -> int:
    flags = [a for a in argv if a.startswith("--")]
    wanted = {a for a in argv if not a.startswith("--")}
    if "--all" in flags or wanted:
        passed = [f for f in flags if f != "--all"]
        for script in sorted(HERE.glob("bench_*.py")):
            if not wanted or script.stem.removeprefix("bench_") in wanted or script.stem in wanted:
                run_script(script.name, passed)
        return 0
    large = LARGE
    for i, a in enumerate(argv):
        if a == "--large" and i + 1 < len(argv):
            large = int(argv[i + 1])
        elif a.startswith("--large="):
            large = int(a.split("=", 1)[1])
    quick = ["--quick"] if "--quick" in flags else []
    if quick:
        large = 0
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        plan = [("layouts", "bench_layouts.py", ["--check", *quick])]
        if large:
            plan.append(("layouts_large", "bench_layouts.py", ["--lines", str(large)]))
        plan += [("rules", "bench_rules.py", quick), ("report", "bench_report.py", ["--anchor", "none", *quick])]
        parts, failed = {}, []
        for key, script, args in plan:
            path = out / f"{key}.json"
            code = run_script(script, [*args, f"--json={path}"])
            if code == 0 and path.exists():
                parts[key] = json.loads(path.read_text())
            else:
                failed.append(f"{script} {' '.join(args)} (exit code {code})")
    text = section(parts)
    print("\n" + text)
    if failed:
        print("\nNot written into README.md, because these failed: " + "; ".join(failed))
        return 1
    if "--no-readme" not in flags and not quick:
        write_readme(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
