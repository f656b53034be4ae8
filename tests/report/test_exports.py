"""Writing a report: CSV injection neutralised, ids as text, strict JSON, a folder replaced whole or not at all."""

from __future__ import annotations

import csv
import datetime as dt
import errno
import json
import zipfile
from pathlib import Path

import polars as pl
import pytest

from custlab.exceptions import CustlabError
from custlab.report import exports
from custlab.report.exports import CSV_FORMULA_PREFIXES, neutralise, prepare_export, write_csv, write_outputs
from custlab.report.months import check_month

#: Cells a spreadsheet would run as formulas, or that hide a formula after a tab or CR (OWASP).
ATTACKS = ["=1+1", "+SUM(A1:A9)", "-2+3", "@SUM(1)", "\t=1", "\r=1", '=HYPERLINK("http://evil","x")',
           "=cmd|' /C calc'!A0", "-", "+"]
HARMLESS = ["plain", "a=b", "12-3", "", "中文 =1", " =1 "]


def _cells(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def _injectable(cell: str) -> bool:
    return cell.startswith(CSV_FORMULA_PREFIXES)


class FakeFigures:
    """What write_outputs reads from MonthlyFigures (the figures engineer tests the real one)."""

    language = "en"

    def __init__(self, tables: dict[str, pl.DataFrame], key_figures: dict | None = None) -> None:
        self.month = check_month(pl.LazyFrame({"order_date": [dt.datetime(2024, 1, 1), dt.datetime(2024, 11, 30)]}),
                                 "2024-11")
        self._tables = tables
        self._key = key_figures if key_figures is not None else {"month": "2024-11", "revenue": 1234.5}

    def exports(self) -> dict[str, pl.DataFrame]:
        return dict(self._tables)

    def key_figures(self) -> dict:
        return self._key

    def exports_readme(self, language: str = "en") -> str:
        return "\n".join(f"{path}: list ({language})" for path in sorted(self._tables)) + "\n"


@pytest.fixture
def html(monkeypatch):
    """render_html of the fake figures: a page naming the month (the real one is tested with the figures)."""
    from custlab.report import html as html_module

    monkeypatch.setattr(html_module, "render_html",
                        lambda figures, *, language="en", run_info=None: f"<html>{figures.month.month} {language} {run_info}</html>")


def _lists() -> dict[str, pl.DataFrame]:
    names = ATTACKS + HARMLESS
    return {
        "segments.csv": pl.DataFrame({
            "customer_id": list(range(12346, 12346 + len(names))),
            "product_name": names,
            "segment": pl.Series(["High value"] * len(names), dtype=pl.Categorical),
            "p_alive": [0.123456789] * (len(names) - 2) + [float("nan"), float("inf")],
            "last_purchase": [dt.datetime(2011, 11, 3, 14, 5, 0, 123456)] * len(names),
        }),
        "actions/win_back.csv": pl.DataFrame({"customer_id": ["007", "-12"], "items": [["=A1", "tea"], ["cup"]],
                                             "reason": ["@once", "ok"], "priority": [2.0, 1.0]}),
    }


def test_neutralise_every_formula_prefix_and_nothing_else():
    assert [neutralise(a) for a in ATTACKS] == ["'" + a for a in ATTACKS]
    assert [neutralise(h) for h in HARMLESS] == HARMLESS
    series = neutralise(pl.Series("x", ATTACKS + HARMLESS + [None]))
    assert series.to_list() == ["'" + a for a in ATTACKS] + HARMLESS + [None]


def test_prepare_export_ids_text_dates_iso_floats_rounded_lists_joined():
    table = prepare_export(_lists()["segments.csv"])
    assert table.schema["customer_id"] == pl.String and table["customer_id"][0] == "12346"
    assert table["last_purchase"][0] == "2011-11-03 14:05:00"
    assert table["p_alive"].to_list()[:1] == [0.1235] and table["p_alive"].to_list()[-2:] == [None, None]
    assert table["segment"].to_list()[0] == "High value"
    joined = prepare_export(_lists()["actions/win_back.csv"])
    assert joined["items"].to_list() == ["'=A1 + tea", "cup"]
    assert joined["customer_id"].to_list() == ["007", "'-12"]  # text ids keep their zeros
    headers = prepare_export(pl.DataFrame({"=SUM(A1)": [1], "ok": [2]})).columns
    assert headers == ["'=SUM(A1)", "ok"]


@pytest.mark.parametrize("bom", [True, False])
def test_every_csv_cell_passes_the_injection_check(tmp_path, bom):
    for relative, frame in _lists().items():
        path = tmp_path / relative
        write_csv(frame, path, bom=bom)
        assert path.read_bytes().startswith(b"\xef\xbb\xbf") is bom
        rows = _cells(path)
        assert rows[0] == [neutralise(c) for c in frame.columns]
        assert not [cell for row in rows for cell in row if _injectable(cell)]
        assert len(rows) == frame.height + 1
    back = pl.read_csv(tmp_path / "segments.csv", infer_schema=False)
    assert back["product_name"].to_list() == [neutralise(n) for n in ATTACKS + HARMLESS]
    assert back["p_alive"].to_list()[-2:] == [None, None]  # NaN and inf are empty cells, never "NaN"/"inf"


def test_excel_workbook_holds_no_formula(tmp_path):
    pytest.importorskip("xlsxwriter")
    frame = _lists()["segments.csv"]
    written = write_csv(frame, tmp_path / "segments.csv", excel=True)
    assert [p.name for p in written] == ["segments.csv", "segments.xlsx"]
    with zipfile.ZipFile(tmp_path / "segments.xlsx") as book:
        sheets = [n for n in book.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and not any(b"<f>" in book.read(n) for n in sheets)
    back = pl.read_excel(tmp_path / "segments.xlsx")
    assert back["customer_id"].dtype == pl.String and back["customer_id"][0] == "12346"
    # no "'" in a workbook: its strings never run, and the guard only corrupted ids ('-12) and names ('-REGENCY)
    assert back["product_name"].to_list() == [v or None for v in frame["product_name"].to_list()]  # "" reads back empty
    assert back["last_purchase"].dtype == pl.Datetime and back["last_purchase"][0] == dt.datetime(2011, 11, 3, 14, 5)


def test_write_outputs_layout_strict_json_and_readme(tmp_path, html):
    out = write_outputs(FakeFigures(_lists()), tmp_path / "report", language="zh")
    assert out.html.read_text() .startswith("<html>2024-11 zh")
    assert json.loads(out.key_figures.read_text()) == {"month": "2024-11", "revenue": 1234.5}
    names = sorted(p.relative_to(tmp_path / "report").as_posix() for p in out.exports)
    assert names == ["exports/README.txt", "exports/actions/win_back.csv", "exports/segments.csv"]
    readme = (tmp_path / "report" / "exports" / "README.txt").read_text(encoding="utf-8")
    assert "segments.csv: list (en)" in readme and "segments.csv: list (zh)" in readme
    assert "byte-order mark" in readme and "字节顺序标记" in readme and "= + - @" in readme
    assert "version" in out.html.read_text()  # run_info reaches the footer


def test_label_columns_follow_the_page_language_in_every_list(tmp_path, html):
    """The Chinese lists had "High value" in segments.csv and "高价值客户" in next_best_action.csv: a filter or a join
    across the files found nothing."""
    lists = {"segments.csv": _lists()["segments.csv"],
             "voice_recovery.csv": pl.DataFrame({"customer_id": ["1"], "aspect": ["logistics"],
                                                 "value_tier": ["Dormant"], "reason": ["x"], "priority": [1.0]})}
    zh = write_outputs(FakeFigures(lists), tmp_path / "zh", language="zh")
    en = write_outputs(FakeFigures(lists), tmp_path / "en", language="en")
    by_name = {p.name: p for p in zh.exports}
    assert {row[2] for row in _cells(by_name["segments.csv"])[1:]} == {"高价值客户"}
    assert _cells(by_name["voice_recovery.csv"])[1][1:3] == ["物流配送", "沉睡客户"]
    english = {p.name: p for p in en.exports}
    assert {row[2] for row in _cells(english["segments.csv"])[1:]} == {"High value"}
    assert _cells(english["voice_recovery.csv"])[1][1:3] == ["delivery", "Dormant"]  # as the page names it


def test_key_figures_with_nan_are_refused_naming_the_figure(tmp_path, html):
    figures = FakeFigures({}, {"month": "2024-11", "sections": {"clv": {"total": float("nan")}}})
    with pytest.raises(CustlabError, match=r"strict JSON: key_figures\.sections\.clv\.total is nan"):
        write_outputs(figures, tmp_path / "r")


def test_key_figures_floats_lose_their_arithmetic_noise_only(tmp_path, html):
    noisy = {"month": "2024-11", "share": 3494 / 5000 * 1.0000000000000002, "sum": 0.1 + 0.2, "revenue": 1123691.49,
             "big": 98765432109.87, "tiny": 1.2345678901234567e-9, "count": 12, "flag": True, "none": None,
             "rows": [{"year_ago": 156409.55000000002}, -0.0]}
    out = write_outputs(FakeFigures({}, noisy), tmp_path / "r")
    text = out.key_figures.read_text()
    back = json.loads(text)
    assert back["share"] == 0.6988 and back["sum"] == 0.3 and back["rows"][0]["year_ago"] == 156409.55
    assert back["revenue"] == 1123691.49 and back["big"] == 98765432109.87  # cents kept
    assert back["tiny"] == 1.23456789012346e-9 and back["count"] == 12 and back["flag"] is True
    assert back["none"] is None and '"count": 12' in text and str(back["rows"][1]) == "-0.0"
    assert "0000000" not in text and "9999999" not in text


@pytest.mark.parametrize("name", ["../escape.csv", "/etc/passwd.csv", "a/../../b.csv", "C:evil.csv", "a\\..\\..\\b.csv"])
def test_export_names_cannot_leave_the_exports_folder(tmp_path, html, name):
    with pytest.raises(CustlabError, match="not a plain relative path"):
        write_outputs(FakeFigures({name: pl.DataFrame({"a": [1]})}), tmp_path / "r")
    assert not (tmp_path / "escape.csv").exists() and not (tmp_path / "b.csv").exists()


def test_empty_out_dir_writes_nothing(tmp_path, html, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = write_outputs(FakeFigures(_lists()), "")
    assert out.folder is None and "Nothing written" in repr(out)
    assert not list(tmp_path.iterdir())


def _report_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_report_is_replaced_whole_and_nothing_else_is_touched(tmp_path, html):
    target = tmp_path / "report"
    write_outputs(FakeFigures(_lists()), target)
    (target / "exports" / "actions" / "old_action.csv").write_text("stale")
    (target / "monthly_report.ipynb").write_text("the user's notebook")
    (target / "notes.txt").write_text("mine")
    fewer = {"segments.csv": _lists()["segments.csv"]}
    out = write_outputs(FakeFigures(fewer), target)
    assert out.folder == target.resolve() and out.html == target.resolve() / "monthly_report.html"
    assert sorted(_report_files(target)) == [
        ".custlab.lock", "exports/README.txt", "exports/segments.csv", "key_figures.json", "monthly_report.html",
        "monthly_report.ipynb", "notes.txt"]  # no export of the first run left behind
    assert (target / "notes.txt").read_text() == "mine"
    assert (target / "monthly_report.ipynb").read_text() == "the user's notebook"


def test_the_folder_of_the_running_notebook_can_be_the_output(tmp_path, html, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "monthly_report.ipynb").write_text("{}")
    write_outputs(FakeFigures(_lists()), ".")
    write_outputs(FakeFigures(_lists()), ".")
    assert Path.cwd() == tmp_path and (tmp_path / "monthly_report.ipynb").read_text() == "{}"


def test_a_second_writer_into_the_same_folder_is_refused(tmp_path, html):
    from custlab.report.folders import FileLock, RunLocked

    (tmp_path / "r").mkdir()
    holder = FileLock(tmp_path / "r" / ".custlab.lock")
    assert holder.try_acquire()
    try:
        with pytest.raises(RunLocked, match="Another custlab run .* is writing"):
            write_outputs(FakeFigures(_lists()), tmp_path / "r")
    finally:
        holder.release()
    write_outputs(FakeFigures(_lists()), tmp_path / "r")


def test_a_full_disk_names_the_file_and_leaves_the_earlier_report(tmp_path, html, monkeypatch):
    target = tmp_path / "report"
    write_outputs(FakeFigures(_lists()), target)
    before = _report_files(target)

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(pl.DataFrame, "write_csv", full)
    with pytest.raises(CustlabError, match=r"Cannot write .*/report/exports/actions/win_back\.csv: No space left on device \(the disk is full\)"):
        write_outputs(FakeFigures(_lists()), target)
    assert _report_files(target) == before
    assert [p.name for p in target.iterdir() if p.name.startswith(".custlab-partial")] == []


def test_read_only_exports_folder_is_one_clear_error(tmp_path, html, monkeypatch):
    def read_only(self, *args, **kwargs):
        raise PermissionError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "write_text", read_only)
    with pytest.raises(CustlabError, match=r"Cannot write .*README\.txt: Read-only file system \(the folder is read-only"):
        write_outputs(FakeFigures(_lists()), tmp_path / "new")


def test_module_exports_its_names():
    assert set(exports.__all__) >= {"write_outputs", "neutralise", "write_csv", "CSV_FORMULA_PREFIXES"}


def test_write_tables_says_what_it_wrote(tmp_path):
    """The notebooks end with it: an empty out_dir printed "()" under the export cell."""
    from custlab.report.exports import write_tables

    nothing = write_tables({"clv.csv": pl.DataFrame({"customer_id": [1]})}, "")
    assert nothing == () and repr(nothing).startswith("Nothing written: out_dir is empty")
    written = write_tables({"clv.csv": pl.DataFrame({"customer_id": [1]})}, tmp_path)
    assert written == (tmp_path / "clv.csv",) and repr(written) == f"1 file(s) written: {tmp_path / 'clv.csv'}"
