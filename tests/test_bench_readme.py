"""``make bench`` writes the README's benchmark section from the scripts' JSON rows (benchmarks/run.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench_run():
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "benchmarks" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _timing(seconds, peak):
    return {"seconds": seconds, "peak_mb": peak, "note": ""}


PARTS = {
    "layouts": {"load_before": [0.5, 0.4, 0.3], "load_after": [1.0, 0.6, 0.4], "cores": 2, "rows": [
        {"function": "rfm_table", "layout": "ordered", "lines": 10_000_000, "repeat": 3,
         "custlab": _timing(0.25, 200), "plain polars": _timing(0.5, 300), "DuckDB": _timing(0.45, 290),
         "pandas": _timing(1.0, 900)},
        {"function": "cohort_retention", "layout": "lazy", "lines": 10_000_000, "repeat": 3,
         "custlab": _timing(0.6, 350), "plain polars": _timing(0.7, 300), "DuckDB": _timing(0.6, 200)},
    ]},
    "rules": {"load_before": [1, 1, 1], "load_after": [1, 1, 1], "cores": 2, "baskets": 3_000_000, "tables": [
        {"title": "Groceries, min_support 0.001: long table -> frequent itemsets", "rows": [
            {"name": "custlab frequent_itemsets", "seconds": 0.027, "peak_mb": 19, "note": ""},
            {"name": "pyfim eclat (lists built, end to end)", "seconds": 0.020, "peak_mb": 13, "note": ""},
            {"name": "pyfim eclat (handed its lists)", "seconds": 0.013, "peak_mb": 3, "note": ""}]},
        {"title": "Instacart size (synthetic): 3,000,000 baskets, 50,000 items, min_support 0.001", "rows": [
            {"name": "custlab frequent_itemsets", "seconds": 5.5, "peak_mb": 250, "note": ""},
            {"name": "pyfim eclat (lists built, end to end)", "seconds": 9.7, "peak_mb": 1354, "note": ""}]},
        {"title": "Groceries: itemsets + single-consequent rules", "rows": [
            {"name": "custlab", "seconds": 0.05, "peak_mb": 20, "note": ""}]},
    ]},
    "report": {"load_before": [1, 1, 1], "load_after": [2, 1, 1], "cores": 2, "repeat": 3, "cases": [
        {"case": "built-in shop (5,000 customers, 2024-12)", "seconds": 9.9, "in_cells": 6.0,
         "cells": [["compute", 4.2], ["outlook", 1.0]]}]},
}


def test_the_section_is_built_from_the_rows(bench_run):
    text = bench_run.section(PARTS)
    assert text.startswith(bench_run.BEGIN) and text.endswith(bench_run.END)
    assert "| `rfm_table` | ordered | 0.25 s | 0.50 s | 0.45 s | 1.00 s | 2.00x | 1.80x | 200 / 290 |" in text
    assert "| `cohort_retention` | lazy | 0.60 s | 0.70 s | 0.60 s |  | 1.17x | 1.00x | 350 / 200 |" in text
    assert "met in 1 of 2 cases." in text  # rfm: yes; cohort: not 1.5x DuckDB, more memory
    assert "load average 0.5 0.4 0.3 before, 1.0 0.6 0.4 after" in text
    assert "| Groceries, min_support 0.001 | 0.027 s | 0.020 s | 1.35x | 0.013 s |  | 19 / 13 |" in text
    assert "(within 1.5x of pyfim end to end on Online Retail and Groceries): met in 1 of 1 cases." in text
    assert "250 MB against pyfim's 1,354 MB end to end (0.18x; goal at most 2x: met)" in text
    assert "single-consequent" not in text  # no pyfim row: not an itemset comparison
    assert "| built-in shop (5,000 customers, 2024-12) | 9.90 s | 3.90 s | compute 4.20 s, outlook 1.00 s |" in text
    assert "(under 4 s with a warm venv): met in 0 of 1 cases." in text
    assert "nan" not in text.lower()


def test_only_the_text_between_the_markers_is_replaced(bench_run, tmp_path, monkeypatch):
    readme = tmp_path / "README.md"
    readme.write_text(f"# head\n\n{bench_run.BEGIN}\nold table\n{bench_run.END}\n\n## tail\n", encoding="utf-8")
    monkeypatch.setattr(bench_run, "README", readme)
    bench_run.write_readme(bench_run.section(PARTS))
    written = readme.read_text(encoding="utf-8")
    assert written.startswith("# head\n\n" + bench_run.BEGIN) and written.endswith(bench_run.END + "\n\n## tail\n")
    assert "old table" not in written and written.count(bench_run.BEGIN) == 1
    readme.write_text("# no markers\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="no <!-- make bench: begin -->"):
        bench_run.write_readme("x")
    assert readme.read_text(encoding="utf-8") == "# no markers\n"


def test_the_readme_has_the_markers_once():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.count("<!-- make bench: begin -->") == 1 and text.count("<!-- make bench: end -->") == 1
