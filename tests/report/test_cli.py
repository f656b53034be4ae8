"""The ``custlab`` command: options, one-line errors with exit code 2, the report and its last line."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys

import polars as pl
import pytest

from custlab.cli import build_parser, main
from custlab.data import clean_transactions
from custlab.synthetic import make_shop


def _run(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_options_are_parsed():
    args = build_parser().parse_args([
        "report", "--month", "2011-11", "--partial", "--language", "zh", "--currency", "gbp", "--margin", "0.3",
        "--columns", '{"InvoiceDate": "order_date"}', "--encoding", "gbk", "--separator", "tab", "--decimal-comma",
        "--sheet", "Year 2010-2011", "--timezone", "Asia/Shanghai", "--sample-size", "500", "--seed", "7",
        "--no-bom", "--excel", "--wait", "5", "--date-format", "%d/%m/%Y"])
    assert (args.month, args.partial, args.language, args.currency, args.margin) == ("2011-11", True, "zh", "GBP", 0.3)
    assert args.columns == {"InvoiceDate": "order_date"} and args.separator == "\t" and args.decimal_comma is True
    assert (args.sheet, args.timezone, args.sample_size, args.seed) == ("Year 2010-2011", "Asia/Shanghai", 500, 7)
    assert args.bom is False and args.excel is True and args.wait == 5.0 and args.date_format == "%d/%m/%Y"
    defaults = build_parser().parse_args(["report"])
    assert defaults.bom is True and defaults.decimal_comma is None and defaults.month is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "--columns", "InvoiceDate=order_date"], "--columns takes a JSON object of your column name"),
        (["report", "--language", "fr"], "argument --language: invalid choice: 'fr'"),
        (["report", "--margin", "lots"], "argument --margin: invalid float value: 'lots'"),
        (["report", "--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(capsys, args, message):
    with pytest.raises(SystemExit) as caught:
        main(args)
    err = capsys.readouterr().err
    assert caught.value.code == 2
    assert err.count("\n") == 1 and err.startswith("custlab: ") and message in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--month", "2024-13"], "custlab: month must look like 2011-11 (YYYY-MM), got '2024-13'.\n"),
        (["--month", "2030-01"], "custlab: month 2030-01 is outside the data: orders run from 2023-01-01 to 2024-12-31. "
                                 "Choose a month between 2023-01 and 2024-12.\n"),
        (["--currency", "pounds"], "custlab: --currency takes an ISO 4217 code such as GBP, EUR or CNY, got 'POUNDS'.\n"),
        (["--separator", ";;"], "custlab: --separator must be one character (',', ';', '|' or 'tab'), got ';;'.\n"),
    ],
)
def test_bad_values_are_one_line_and_exit_2(tmp_path, capsys, args, message):
    code, out, err = _run(["report", "--out", str(tmp_path), "--customers", "300", "--quiet", *args], capsys)
    assert (code, out, err) == (2, "", message)
    assert not list(tmp_path.rglob("*.ipynb"))


def test_unknown_column_and_missing_file(tmp_path, capsys, online_retail_file):
    code, _, err = _run(["report", "--data", str(online_retail_file), "--columns", '{"Kunde": "customer_id"}',
                         "--out", str(tmp_path)], capsys)
    assert code == 2 and err.startswith("custlab: --columns names 'Kunde', which is in none of the tables read")
    code, _, err = _run(["report", "--data", str(tmp_path / "missing.csv")], capsys)
    assert code == 2 and err == f"custlab: --data {tmp_path / 'missing.csv'}: no such file or folder.\n"


def test_incomplete_month_needs_partial(tmp_path, capsys, online_retail_file):
    code, _, err = _run(["report", "--data", str(online_retail_file), "--month", "2011-12", "--out", str(tmp_path)], capsys)
    assert code == 2
    assert "month 2011-12 is incomplete: the data end on 2011-12-09. The last complete month is 2011-11; pass --partial" in err


def test_synthetic_report_next_month_and_chinese_beside_it(tmp_path, capsys):
    out = tmp_path / "reports"
    base = ["report", "--out", str(out), "--customers", "800", "--seed", "2", "--quiet"]
    code, stdout, err = _run([*base, "--month", "2024-11"], capsys)
    assert code == 0, err
    folder = out / "synthetic-shop-800-seed2" / "2024-11" / "en"
    assert re.fullmatch(rf"Report written to {re.escape(str(folder / 'monthly_report.html'))} in \d+\.\d s\n", stdout)
    assert sorted(p.name for p in folder.iterdir()) == ["exports", "key_figures.json", "monthly_report.html",
                                                        "monthly_report.ipynb"]
    figures = json.loads((folder / "key_figures.json").read_text())
    clean, _ = clean_transactions(make_shop(800, seed=2).transactions, as_of="2024-12-01")
    november = clean.filter(pl.col("order_date") >= dt.datetime(2024, 11, 1))
    assert figures["month"] == "2024-11"
    assert figures["kpis"]["revenue"] == pytest.approx(november["amount"].sum(), rel=1e-9)
    executed = json.loads((folder / "monthly_report.ipynb").read_text())
    injected = next(c for c in executed["cells"] if "injected-parameters" in c["metadata"].get("tags", []))
    assert 'out_dir = "."' in injected["source"] or "out_dir = '.'" in injected["source"]
    assert all(not o.get("output_type") == "error" for c in executed["cells"] for o in c.get("outputs", []))

    code, _, err = _run([*base, "--month", "2024-12"], capsys)
    assert code == 0, err
    december = json.loads((out / "synthetic-shop-800-seed2" / "2024-12" / "en" / "key_figures.json").read_text())
    assert december["kpis"]["revenue"] != figures["kpis"]["revenue"]
    kpis = {k: v for k, v in december.items() if k == "previous"} or december
    assert kpis  # the month-over-month comparison itself is tested with the figures

    english = (folder / "monthly_report.html").read_bytes()
    code, _, err = _run([*base, "--month", "2024-11", "--language", "zh"], capsys)
    assert code == 0, err
    chinese = (out / "synthetic-shop-800-seed2" / "2024-11" / "zh" / "monthly_report.html").read_text()
    assert "客户" in chinese and (folder / "monthly_report.html").read_bytes() == english


def test_the_summary_lines_are_in_the_reports_language(tmp_path, capsys):
    """Under --language zh the command gives the left-out sections in Chinese; the last line, which scripts read, stays."""
    from custlab.cli import _say_done
    from custlab.report.runner import ReportRun

    run = ReportRun(tmp_path / "monthly_report.html", tmp_path, "2024-11", 3.21, (
        {"section": "funnel", "reason": "No events table.", "reasons": {"en": "No events table.", "zh": "没有事件表。"}},
        {"section": "voice", "reason": "No reviews table."},  # written by an older version: English only
    ))
    _say_done(run, "zh")
    out, err = capsys.readouterr()
    assert err.splitlines() == ["custlab: 跳过章节「转化漏斗」（funnel）：没有事件表。",
                                "custlab: 跳过章节「客户之声」（voice）：No reviews table."]
    assert out == f"Report written to {tmp_path / 'monthly_report.html'} in 3.2 s\n"  # scripts read the path from it
    _say_done(run, "en")
    out, err = capsys.readouterr()
    assert err.splitlines()[0] == "custlab: skipped section funnel (Funnel): No events table."
    assert out.startswith("Report written to ") and out.endswith(" in 3.2 s\n")


def test_online_retail_lists_skipped_sections_and_exits_0(tmp_path, capsys, online_retail_file):
    code, stdout, err = _run(["report", "--data", str(online_retail_file), "--month", "2011-11", "--out", str(tmp_path),
                              "--quiet", "--excel"], capsys)
    assert code == 0, err
    folder = next(tmp_path.glob("online_retail-*")) / "2011-11" / "en"
    figures = json.loads((folder / "key_figures.json").read_text())
    skipped = {s["section"] for s in figures["skipped"]}
    assert {"funnel", "channels"} <= skipped
    for section in skipped:
        assert f"custlab: skipped section {section} (" in err
    reasons = {s["section"]: s["reasons"] for s in figures["skipped"]}
    assert reasons["funnel"]["en"] == next(s["reason"] for s in figures["skipped"] if s["section"] == "funnel")
    assert "事件" in reasons["funnel"]["zh"]  # the reason in every language, for the command's own summary
    assert stdout.startswith(f"Report written to {folder / 'monthly_report.html'} in ")
    csvs = sorted(p for p in (folder / "exports").rglob("*.csv"))
    assert csvs and all(p.read_bytes().startswith(b"\xef\xbb\xbf") for p in csvs)
    assert all(p.with_suffix(".xlsx").is_file() for p in csvs)
    assert "README.txt" in {p.name for p in (folder / "exports").iterdir()}


def test_a_failing_notebook_is_one_line_and_kept_under_failed(tmp_path, capsys, monkeypatch):
    from custlab.report import runner

    real = runner.report_parameters
    monkeypatch.setattr(runner, "report_parameters", lambda **kw: {**real(**kw), "month": "2030-01"})
    code, out, err = _run(["report", "--out", str(tmp_path), "--customers", "300", "--quiet"], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert re.match(r"custlab: monthly_report\.ipynb failed in cell 'load' \(index \d+\): CustlabError: month 2030-01 "
                    r"is outside the data.* The partly executed notebook is in .*failed-\d{8}-\d{6}-en\.$", err)
    month = tmp_path / "synthetic-shop-300-seed0" / "2024-12"
    assert not (month / "en").exists()
    failed = next(month.glob("failed-*-en"))
    assert sorted(p.name for p in failed.iterdir()) == ["error.txt", "monthly_report.ipynb"]


def test_quality_report(tmp_path, capsys):
    code, stdout, err = _run(["quality", "--out", str(tmp_path), "--customers", "300", "--quiet"], capsys)
    assert code == 0, err
    html = tmp_path / "synthetic-shop-300-seed0-messy0.02" / "data-quality" / "data_quality.html"
    assert stdout.startswith(f"Report written to {html} in ")
    text = html.read_text()
    assert "Cleaning" in text and "import custlab" not in text
    # a page for readers: its own title, and tables without polars' dtype rows, quotes, nulls or 1.2e6
    assert "<title>Data quality</title>" in text and "<title>Notebook</title>" not in text
    assert "shape: (" not in text and "&quot;transactions&quot;" not in text and ">null<" not in text
    assert not re.search(r">-?\d\.\d+e[+-]?\d+<", text)
    assert re.search(r">\d{1,3}(,\d{3})+<", text)  # counts with thousands separators


def test_the_command_runs_as_a_module_without_kernel_noise(tmp_path):
    done = subprocess.run([sys.executable, "-m", "custlab.cli", "report", "--out", str(tmp_path), "--customers", "300",
                           "--month", "2024-12"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "without encryption" not in done.stderr and "Traceback" not in done.stderr
    assert done.stdout.count("\n") == 1 and done.stdout.startswith("Report written to ")


def test_reading_options_reach_the_notebook(tmp_path, capsys, monkeypatch):
    """--encoding, --separator, --decimal-comma, --sheet, --timezone, --date-format go to the notebook's parameters."""
    from custlab.report import runner

    path = tmp_path / "orders.csv"
    path.write_bytes("cid;oid;ts;rev\n1;1;03/01/2024 10:00:00;9,5\n".encode("gbk"))
    seen = {}

    class NoKernel:
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return None

    def fake_run(name, parameters, folder, kernel, progress, timeout=None):
        seen.update(parameters)
        raise runner.CustlabError("stopped by the test")

    monkeypatch.setattr(runner, "Kernel", NoKernel)
    monkeypatch.setattr(runner, "_run", fake_run)
    code, _, err = _run(["report", "--data", str(path), "--out", str(tmp_path / "out"), "--month", "2024-01", "--partial",
                         "--columns", '{"cid": "customer_id", "oid": "order_id", "ts": "order_date", "rev": "amount"}',
                         "--encoding", "gbk", "--separator", ";", "--decimal-comma", "--timezone", "Asia/Shanghai",
                         "--date-format", "%d/%m/%Y %H:%M:%S"], capsys)
    assert code == 2 and "stopped by the test" in err
    assert {k: seen[k] for k in ("encoding", "separator", "decimal_comma", "timezone", "date_format")} == {
        "encoding": "gbk", "separator": ";", "decimal_comma": True, "timezone": "Asia/Shanghai",
        "date_format": "%d/%m/%Y %H:%M:%S"}


def test_engine_report_from_a_parquet_folder(tmp_path, capsys):
    """``--engine duckdb``: the lines stay on DuckDB; the page says so and lists what needs them in memory."""
    shop = make_shop(800, seed=3)
    folder = tmp_path / "orders"
    folder.mkdir()
    for year, part in shop.transactions.group_by(pl.col("order_date").dt.year()):  # one file per year, as exported
        part.write_parquet(folder / f"year={year[0]}.parquet")
    code, stdout, err = _run(["report", "--engine", "duckdb", "--data", str(folder), "--month", "2024-11",
                              "--out", str(tmp_path / "out"), "--quiet"], capsys)
    assert code == 0, err
    target = next((tmp_path / "out").glob("orders-*-duckdb")) / "2024-11" / "en"
    assert stdout.startswith(f"Report written to {target / 'monthly_report.html'} in ")
    figures = json.loads((target / "key_figures.json").read_text())
    assert figures["kpis"]["orders"] == shop.transactions.filter(
        pl.col("order_date").dt.strftime("%Y-%m") == "2024-11")["order_id"].n_unique()
    assert figures["sections"]["clv"]["choice"] == "engine" and figures["kpis"]["clv_total"] > 0
    skipped = {s["section"]: s["reason"] for s in figures["skipped"]}
    assert "on DuckDB" in skipped["early_warning"] and "custlab: skipped section nba (Next best action per customer): " in err
    assert "segments" not in skipped and figures["sections"]["segments"]["customers"] == shop.transactions.filter(
        pl.col("order_date") < dt.datetime(2024, 12, 1))["customer_id"].n_unique()
    assert not (target / "exports").exists() or not list((target / "exports").rglob("*.csv"))
    code, _, err = _run(["report", "--engine", "duckdb", "--data", str(tmp_path / "nothing.parquet"),
                         "--out", str(tmp_path / "out"), "--quiet"], capsys)
    assert code == 2 and "no such file or folder" in err


def test_the_command_exits_with_mains_code_after_freezing_the_garbage_collector(monkeypatch):
    import gc

    import custlab.cli as cli

    monkeypatch.setattr(cli, "main", lambda: 2)
    try:
        with pytest.raises(SystemExit) as stopped:
            cli.run()
        assert stopped.value.code == 2
        assert gc.get_freeze_count() > 0  # the interpreter's last collection skips the run's objects
    finally:
        gc.unfreeze()
