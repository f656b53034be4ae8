"""The monthly report: parameters checked up front, every section present, quoted figures = library results."""

from __future__ import annotations

import datetime as dt
import json
import re

import polars as pl
import pytest

from custlab import churn, rfm
from custlab.clean import clean_transactions
from custlab.cli import main
from custlab.datasets import load_online_retail
from custlab.monthly import TEXT, MonthlyReport, open_report, parse_month
from custlab.synthetic import make_shop

SECTIONS = ["sources", "portrait", "segments", "behaviour", "associations", "channels", "problems",
            "recommendations", "changes"]


def _headings(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", h).replace("¶", "").strip() for h in re.findall(r"<h2[^>]*>(.*?)</h2>", html, flags=re.S)]


def _run(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--month", "2024/11"], "month must look like 2011-11 (YYYY-MM), got '2024/11'."),
        (["--month", "2024-13"], "month must look like 2011-11 (YYYY-MM), got '2024-13'."),
        (["--month", "2030-01", "--customers", "300"], "month 2030-01 is outside the data: orders run from 2023-01-"),
        (["--customers", "0"], "--customers must be a positive number, got 0."),
        (["--sample-size", "-1"], "--sample-size must be 0 (all customers) or positive, got -1."),
    ],
)
def test_bad_parameters_fail_before_any_notebook_runs(tmp_path, capsys, args, message):
    code, _, err = _run(["report", "--out", str(tmp_path / "out"), "--quiet", *args], capsys)
    assert code == 2
    assert message in err
    assert not list(tmp_path.rglob("*.ipynb"))


def test_unknown_column_and_unwritable_output(tmp_path, capsys, online_retail_file):
    code, _, err = _run(["report", "--data", str(online_retail_file), "--columns", '{"Kunde": "customer_id"}',
                         "--out", str(tmp_path)], capsys)
    assert code == 2 and "--columns names ['Kunde'], which online_retail.parquet does not have." in err
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code, _, err = _run(["report", "--out", str(blocker / "reports"), "--customers", "300"], capsys)
    assert code == 2 and f"Cannot create the output folder {blocker / 'reports'}" in err
    code, _, err = _run(["report", "--data", str(tmp_path / "missing.csv")], capsys)
    assert code == 2 and "no such file or folder" in err


def test_month_parsing():
    assert parse_month("2011-11") == dt.date(2011, 11, 1)


def test_synthetic_shop_report_and_its_next_month(tmp_path, capsys):
    out = tmp_path / "reports"
    base = ["report", "--out", str(out), "--customers", "1500", "--seed", "2", "--quiet"]
    code, stdout, err = _run([*base, "--month", "2024-11"], capsys)
    assert code == 0, err
    folder = out / "synthetic-shop-1500-seed2"
    html = (folder / "2024-11" / "monthly_report.html").read_text()
    assert _headings(html) == [TEXT["en"][s] for s in SECTIONS]
    assert "No key figures of the previous month were found" in html
    assert "def " not in html and "open_report(" not in html  # code hidden
    for name in ("segments.csv", "early_warning.csv", "cross_sell.csv"):
        assert (folder / "2024-11" / "exports" / name).exists()
    assert list((folder / "2024-11" / "exports" / "actions").glob("*.csv"))

    # quoted figures equal the library's results on the same data
    figures = json.loads((folder / "2024-11" / "key_figures.json").read_text())
    shop = make_shop(1500, seed=2)
    clean, _ = clean_transactions(shop.transactions, as_of="2024-12-01")
    month = clean.filter(pl.col("order_date") >= dt.datetime(2024, 11, 1))
    assert figures["revenue"] == pytest.approx(month["amount"].sum(), rel=1e-12)
    assert figures["orders"] == month["order_id"].n_unique()
    top = rfm.top_share(rfm.rfm_table(clean, as_of="2024-12-01"))
    assert figures["top_share_50"] == pytest.approx(top)
    diag = churn.churn_diagnostics(clean, as_of="2024-12-01", inactivity_days=90)
    assert figures["early_churn_share"] == pytest.approx(diag.early_churn_share)
    assert f"revenue {month['amount'].sum():,.0f}" in html
    assert f"The top {top:.1%} of customers bring 50% of revenue." in html
    assert f"{diag.early_churn_share:.1%} of churned customers" in html

    # the next month finds last month's figures and reports the changes and the migration
    code, _, err = _run([*base, "--month", "2024-12"], capsys)
    assert code == 0, err
    html = (folder / "2024-12" / "monthly_report.html").read_text()
    assert "No key figures of the previous month" not in html
    assert "Segment migration into 2024-12" in html
    before = figures["revenue"]
    now = json.loads((folder / "2024-12" / "key_figures.json").read_text())["revenue"]
    assert f"{now:,.0f} against {before:,.0f}" in html


def test_online_retail_report(tmp_path, capsys, online_retail_file):
    code, _, err = _run(["report", "--data", str(online_retail_file), "--month", "2011-11", "--out", str(tmp_path),
                         "--quiet"], capsys)
    assert code == 0, err
    folder = tmp_path / "online_retail" / "2011-11"
    html = (folder / "monthly_report.html").read_text()
    assert _headings(html) == [TEXT["en"][s] for s in SECTIONS]
    assert "No events table: the funnel is not available." in html
    assert "No marketing spend table: channel ROI and CAC are not available." in html
    assert "No customers table: demographics are not available." in html
    figures = json.loads((folder / "key_figures.json").read_text())
    raw = pl.read_parquet(online_retail_file)
    november = raw.filter(
        ~pl.col("InvoiceNo").str.starts_with("C"), pl.col("Quantity") > 0, pl.col("CustomerID").is_not_null(),
        pl.col("UnitPrice") > 0, pl.col("InvoiceDate") >= dt.datetime(2011, 11, 1),
        pl.col("InvoiceDate") < dt.datetime(2011, 12, 1),
        ~pl.col("StockCode").is_in(["POST", "DOT", "M", "C2", "D", "AMAZONFEE", "BANK CHARGES", "CRUK", "B"]),
    ).unique()
    assert figures["orders"] == november["InvoiceNo"].n_unique()
    assert figures["revenue"] == pytest.approx((november["Quantity"] * november["UnitPrice"]).sum(), rel=1e-9)


def test_chinese_report(tmp_path, capsys):
    code, _, err = _run(["report", "--out", str(tmp_path), "--customers", "800", "--language", "zh", "--quiet"], capsys)
    assert code == 0, err
    html = next(tmp_path.rglob("monthly_report.html")).read_text()
    assert _headings(html) == [TEXT["zh"][s] for s in SECTIONS]
    assert "沉睡客户" in html  # segment names in Chinese


def test_report_sections_without_papermill(online_retail):
    tables = {"transactions": online_retail.filter(pl.col("order_date") < dt.datetime(2011, 3, 1)),
              "customers": None, "events": None, "marketing_spend": None, "reviews": None}
    report = MonthlyReport(tables, month="2011-02", sample_size=500, seed=1)
    assert report.sampled and report.clean["customer_id"].n_unique() <= 500
    sources = report.sources()
    assert "Analysed a random sample of" in sources.text()
    with pytest.raises(ValueError, match=re.escape("month 2012-02 is outside the data")):
        MonthlyReport(tables, month="2012-02")
    with pytest.raises(ValueError, match="language must be 'en' or 'zh'"):
        MonthlyReport(tables, month="2011-02", language="fr")


def test_open_report_defaults_to_the_last_month(tmp_path):
    report = open_report(None, n_customers=300, out_dir=tmp_path / "2024-12")
    assert report.month == "2024-12"
    assert load_online_retail  # the loader used by the CLI for Online Retail files


def test_funnel_section_says_when_steps_are_missing():
    shop = make_shop(400, seed=4)
    events = shop.events.filter(pl.col("event") == "exposure")
    tables = {**shop.tables(), "events": events}
    report = MonthlyReport(tables, month="2024-12")
    text = report.behaviour().text()
    assert "The events hold fewer than two of the funnel steps (exposure, click, cart, pay)" in text
    assert report.key_figures["funnel"] is None


def test_a_failing_cell_is_named_and_the_partial_notebook_kept(tmp_path):
    from custlab.report import NotebookFailed, run_notebook

    params = {"data_path": "", "columns": {}, "month": "2030-01", "out_dir": str(tmp_path), "language": "en",
              "seed": 0, "n_customers": 200, "sample_size": 0}
    with pytest.raises(NotebookFailed, match=r"monthly_report.ipynb failed in cell \d+ \(index \d+\): CustlabError: "
                                             r"month 2030-01 is outside the data.*partly executed notebook is kept"):
        run_notebook("monthly_report", tmp_path, params, progress=False)
    assert (tmp_path / "monthly_report.ipynb").exists()
    assert not (tmp_path / "monthly_report.html").exists()


def test_chinese_labels_fall_back_with_a_warning(monkeypatch):
    import matplotlib as mpl

    from custlab import plots

    before = list(mpl.rcParams["font.sans-serif"])
    monkeypatch.setattr(plots, "find_cjk_font", lambda: None)
    with pytest.warns(plots.CJKFontWarning, match=r"pip install 'custlab\[zh\]'.*fonts-wqy-microhei"):
        assert plots.use_language_font("zh") is None
    assert mpl.rcParams["font.sans-serif"] == before
    assert plots.use_language_font("en") is None


def test_a_cjk_font_is_found_from_pypi():
    from custlab.plots import find_cjk_font

    assert find_cjk_font() is not None  # mplfonts is in the test extra


def test_default_month_is_the_last_complete_one(online_retail):
    from custlab.monthly import latest_month

    assert latest_month(online_retail) == "2011-11"  # the data stop on 2011-12-09
    assert latest_month(make_shop(200, seed=1).transactions) == "2024-12"


def test_sampled_report_keeps_channels_whole_and_is_not_compared_with_a_full_run(tmp_path):
    shop = make_shop(1500, seed=5, messy=0.05)
    full = MonthlyReport(shop.tables(), month="2024-11")
    full.segments(); full.channels()
    sampled = MonthlyReport(shop.tables(), month="2024-12", sample_size=300, seed=1, previous=full.key_figures)
    missing = dict(sampled.quality.removed.select("reason", "rows").iter_rows())["missing_customer"]
    assert missing == shop.transactions.filter(pl.col("customer_id").is_null(),
                                               pl.col("order_date") < dt.datetime(2025, 1, 1)).height > 0
    channels = sampled.channels()
    assert channels.paragraphs[0].startswith("Channels are measured on all customers")
    assert sampled.key_figures["channels"] == pytest.approx(full.key_figures["channels"], rel=0.05)
    text = sampled.changes().text()
    assert "come from other data" in text and "sample 300" in text


def test_revenue_drop_is_worded_without_a_double_negative():
    shop = make_shop(400, seed=6)
    report = MonthlyReport(shop.tables(), month="2024-12", previous={"revenue": 10**9, "source": "data", "sample_size": 0})
    report.portrait()
    drop = (10**9 - report.key_figures["revenue"]) / 10**9
    assert f"Revenue fell {drop:.1%} against last month." in report.problems().text()
    assert "+" not in report.changes().text().split("Revenue:")[1].split("\n")[0]


def test_report_tables_are_readable_and_translated():
    from custlab.monthly import table_html

    table = pl.DataFrame({"segment": ["High value"], "customers": [1234], "revenue_share": [0.4567], "lift": [12.5]})
    assert table_html(table) == (
        '<table class="custlab"><thead><tr><th>segment</th><th>customers</th><th>revenue share</th><th>lift</th></tr>'
        "</thead><tbody><tr><td>High value</td><td>1,234</td><td>45.7%</td><td>12.50</td></tr></tbody></table>"
    )
    assert "<th>客户数</th>" in table_html(table, language="zh")
