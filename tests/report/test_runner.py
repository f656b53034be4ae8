"""The run of a report: folders complete or absent, one run per folder, names that cannot collide or escape."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from custlab.data import clean_transactions
from custlab.exceptions import CustlabError
from custlab.report.folders import OutputFolder, RunLocked, inside
from custlab.report.months import check_month
from custlab.report.runner import previous_figures_path, run_report
from custlab.report.sources import Source, check_columns, load, read_previous, scan_transactions, slug, source_label
from custlab.report.sources import SHOP_EXTRAS
from custlab.synthetic import make_shop


# -- output folders -----------------------------------------------------------------------------------------
def _files(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): p.read_text() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_committed_run_replaces_the_folder_whole(tmp_path):
    target = tmp_path / "shop" / "2024-11" / "en"
    with OutputFolder(target, root=tmp_path) as out:
        (out.staging / "exports").mkdir()
        (out.staging / "exports" / "old.csv").write_text("old")
        (out.staging / "monthly_report.html").write_text("first")
        assert not target.exists()  # nothing visible before the commit
        out.commit()
    with OutputFolder(target, root=tmp_path) as out:
        (out.staging / "monthly_report.html").write_text("second")
        out.commit()
    assert _files(target) == {"monthly_report.html": "second"}  # no export of the first run left behind
    assert sorted(p.name for p in target.parent.iterdir()) == [".en.lock", "en"]


def test_a_failed_run_leaves_the_earlier_report_and_a_failed_folder(tmp_path):
    target = tmp_path / "2024-11" / "en"
    with OutputFolder(target, root=tmp_path) as out:
        (out.staging / "monthly_report.html").write_text("good")
        out.commit()
    with pytest.raises(ZeroDivisionError):
        with OutputFolder(target, root=tmp_path) as out:
            (out.staging / "monthly_report.html").write_text("half")
            (out.staging / "exports").mkdir()
            1 / 0
    assert _files(target) == {"monthly_report.html": "good"}
    failed = [p for p in target.parent.iterdir() if p.name.startswith("failed-")]
    assert len(failed) == 1 and failed[0].name.endswith("-en")
    assert _files(failed[0]) == {"error.txt": "ZeroDivisionError: division by zero\n"}  # no half-written HTML


def test_a_failed_notebook_is_kept_with_the_error(tmp_path):
    with OutputFolder(tmp_path / "m" / "en", root=tmp_path) as out:
        (out.staging / "monthly_report.html").write_text("half")
        failed = out.fail("cell 'compute' failed", {"cells": [], "metadata": {"custlab": {"name": "monthly_report"}}})
    assert sorted(_files(failed)) == ["error.txt", "monthly_report.ipynb"]
    assert not (tmp_path / "m" / "en").exists()


def test_a_second_run_into_the_same_folder_refuses_or_waits(tmp_path):
    target = tmp_path / "m" / "en"
    with OutputFolder(target, root=tmp_path):
        with pytest.raises(RunLocked, match=rf"Another custlab run \(pid {os.getpid()}\) is writing {target}; wait"):
            with OutputFolder(target, root=tmp_path):
                pass
        started = time.monotonic()
        with pytest.raises(RunLocked):
            OutputFolder(target, root=tmp_path, wait=0.5).__enter__()
        assert time.monotonic() - started >= 0.5
        with OutputFolder(tmp_path / "m" / "zh", root=tmp_path) as other:  # another language is another folder
            other.commit()
    with OutputFolder(target, root=tmp_path) as out:  # released at exit
        out.commit()


def test_the_lock_is_held_across_processes(tmp_path):
    target = tmp_path / "m" / "en"
    code = ("import sys, time; from custlab.report.folders import OutputFolder\n"
            f"with OutputFolder({str(target)!r}, root={str(tmp_path)!r}):\n"
            "    print('locked', flush=True); time.sleep(30)\n")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunLocked, match=rf"pid {holder.pid}"):
            OutputFolder(target, root=tmp_path).__enter__()
        holder.send_signal(signal.SIGKILL)  # killed: the OS releases the lock, the staging folder stays behind
        holder.wait(10)
        with OutputFolder(target, root=tmp_path) as out:
            out.commit()
    finally:
        holder.kill()
    killed = [p for p in target.parent.iterdir() if p.name.endswith("-en-killed")]
    assert len(killed) == 1 and _files(killed[0]) == {"error.txt": "the run was killed before it finished\n"}
    assert not [p for p in target.parent.iterdir() if ".partial-" in p.name]


def test_no_path_escapes_the_output_root(tmp_path):
    with pytest.raises(CustlabError, match="outside the output folder"):
        OutputFolder(tmp_path / "a" / ".." / ".." / "elsewhere", root=tmp_path / "a")
    assert inside(tmp_path, tmp_path / "x" / "y") == (tmp_path / "x" / "y").resolve()


# -- naming the data ------------------------------------------------------------------------------------------
def test_same_file_name_in_two_folders_gets_two_labels(tmp_path):
    a, b = tmp_path / "a" / "orders.csv", tmp_path / "b" / "orders.csv"
    for path in (a, b):
        path.parent.mkdir()
        path.write_text("x\n1\n")
    la, lb = source_label(a), source_label(b)
    assert la != lb and la.startswith("orders-") and lb.startswith("orders-")
    assert source_label(a) == la  # stable: next month finds this month's folder
    assert source_label(a, sample_size=300, seed=1) == f"{la}-sample300-seed1"
    assert source_label(None, n_customers=800, seed=3) == "synthetic-shop-800-seed3"


@pytest.mark.parametrize("name", ["..", "...csv", "../../x", "a/../../b", ".hidden", "\\..\\evil"])
def test_file_names_cannot_climb_out(name):
    label = slug(name)
    assert "/" not in label and "\\" not in label and not label.startswith(".") and ".." not in label


def test_a_data_file_named_with_dots_writes_inside_out(tmp_path):
    data = tmp_path / "data" / "...csv"
    data.parent.mkdir()
    make_shop(150, seed=1).transactions.drop_nulls("customer_id").write_csv(data)
    label = source_label(data)
    assert inside(tmp_path / "out", tmp_path / "out" / label).parent == (tmp_path / "out").resolve()


# -- cheap checks before any notebook -------------------------------------------------------------------------
def test_the_synthetic_month_is_checked_without_generating_the_shop():
    span = scan_transactions(None, n_customers=300).collect()
    assert span["order_date"].to_list() == [dt.datetime(2023, 1, 1), dt.datetime(2024, 12, 31, 23, 59, 59)]
    real = make_shop(300, seed=0).transactions
    assert check_month(span.lazy(), None).month == check_month(real, None).month == "2024-12"


def test_the_shops_defaults_are_read_from_its_source_as_its_signature_gives_them(monkeypatch):
    """The command reads make_shop's start and months from shop.py without importing the generator (0.15 s of CPU
    while the kernel starts); parsed or imported, the defaults are the same."""
    import inspect

    from custlab.report.sources import _shop_defaults
    from custlab.synthetic import shop

    defaults = inspect.signature(shop.make_shop).parameters
    expected = {name: defaults[name].default for name in ("start", "months")}
    assert _shop_defaults() == expected  # the module is imported here: read from it
    monkeypatch.delitem(sys.modules, "custlab.synthetic.shop")
    assert _shop_defaults() == expected  # parsed from the file


def test_a_parquet_file_is_checked_lazily(online_retail_file):
    frame = scan_transactions(online_retail_file)
    assert isinstance(frame, pl.LazyFrame)
    assert check_month(frame, None).month == "2011-11"


def test_columns_naming_absent_or_unknown_columns_are_errors(tmp_path, online_retail_file):
    with pytest.raises(CustlabError, match=r"--columns names 'Kunde', which is in none of the tables read \(transactions: "
                                           r"InvoiceNo, StockCode"):
        check_columns(online_retail_file, {"Kunde": "customer_id"})  # custlab.data.check_column_mapping's words
    with pytest.raises(CustlabError, match=r"--columns maps onto \['kunde_id'\], which are not canonical"):
        check_columns(online_retail_file, {"CustomerID": "kunde_id"})
    folder = tmp_path / "shop"
    folder.mkdir()
    shop = make_shop(100, seed=1)
    shop.transactions.rename({"customer_id": "cid"}).write_parquet(folder / "transactions.parquet")
    shop.customers.rename({"customer_id": "client"}).write_parquet(folder / "customers.parquet")
    check_columns(folder, {"cid": "customer_id", "client": "customer_id"})  # any table's columns
    with pytest.raises(CustlabError, match=r"--columns names 'clent', which is in none of the tables read .*"
                                           r"Did you mean 'client'\?"):
        check_columns(folder, {"cid": "customer_id", "clent": "customer_id"})
    with pytest.raises(CustlabError, match=r"--columns maps 'client' onto 'amount', which is not a column of the customers"):
        check_columns(folder, {"client": "amount"})  # a column of one table mapped onto another table's name


# -- load once ----------------------------------------------------------------------------------------------
def test_load_cleans_at_the_month_and_names_the_source():
    tables, quality, source = load(None, month="2024-11", n_customers=400, seed=2)
    assert isinstance(source, Source) and source.month.month == "2024-11"
    assert tables["transactions"]["order_date"].max() < dt.datetime(2024, 12, 1)
    expected, report = clean_transactions(make_shop(400, seed=2, **SHOP_EXTRAS).transactions, as_of="2024-12-01")
    assert tables["transactions"].equals(expected)
    assert quality.removed.equals(report.removed)
    facts = dict(source)
    assert facts["name"] == "synthetic shop (400 customers, seed 2)" and facts["sample_size"] == 0
    assert json.loads(json.dumps(facts)) == facts and "month" not in facts and "path" not in facts


def test_a_sample_keeps_lines_without_a_customer_for_cleaning_to_count():
    shop = make_shop(600, seed=5, messy=0.05)
    tables, quality, source = load(None, month="2024-12", n_customers=600, seed=5, messy=0.05, sample_size=200)
    assert source["sample_size"] == 200
    assert source["customers"] == shop.transactions["customer_id"].drop_nulls().n_unique()
    kept = tables["transactions"]["customer_id"].n_unique()
    assert 190 <= kept <= 200  # cleaning may remove every line of a sampled customer (a cancellation only)
    missing = dict(quality.removed.select("reason", "rows").iter_rows())["missing_customer"]
    assert missing == shop.transactions.filter(pl.col("customer_id").is_null(),
                                               pl.col("order_date") < dt.datetime(2025, 1, 1)).height > 0


def test_previous_figures_are_found_in_the_same_source_folder(tmp_path):
    spec = check_month(pl.LazyFrame({"order_date": [dt.datetime(2024, 1, 1), dt.datetime(2024, 12, 31)]}), "2024-12")
    assert previous_figures_path(tmp_path, spec, "en") is None
    (tmp_path / "2024-11" / "zh").mkdir(parents=True)
    (tmp_path / "2024-11" / "zh" / "key_figures.json").write_text('{"revenue": 1}')
    assert previous_figures_path(tmp_path, spec, "en") == tmp_path / "2024-11" / "zh" / "key_figures.json"
    (tmp_path / "2024-11" / "en").mkdir()
    (tmp_path / "2024-11" / "en" / "key_figures.json").write_text('{"revenue": 2}')
    assert read_previous(previous_figures_path(tmp_path, spec, "en")) == {"revenue": 2}
    (tmp_path / "2024-11" / "en" / "key_figures.json").write_text("{broken")
    with pytest.warns(UserWarning, match="cannot be read"):
        assert read_previous(tmp_path / "2024-11" / "en" / "key_figures.json") is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"month": "2024/11"}, "month must look like 2011-11 (YYYY-MM), got '2024/11'."),
        ({"month": "2030-01"}, "month 2030-01 is outside the data: orders run from 2023-01-01"),
        ({"n_customers": 0}, "--customers must be a positive number, got 0."),
        ({"sample_size": -1}, "--sample-size must be 0 (all customers) or positive, got -1."),
        ({"language": "fr"}, "--language must be one of en, zh, got 'fr'."),
        ({"currency": "pounds"}, "--currency takes an ISO 4217 code"),
        ({"margin": 1.5}, "--margin is the profit share of revenue, above 0 and at most 1"),
        ({"data": "missing.csv"}, "--data missing.csv: no such file or folder."),
    ],
)
def test_bad_parameters_fail_before_any_notebook_runs(tmp_path, kwargs, message):
    with pytest.raises(CustlabError) as caught:
        run_report(out=tmp_path / "out", **{"n_customers": 300, **kwargs})
    assert message in str(caught.value)
    assert not list(tmp_path.rglob("*.ipynb")) and not list(tmp_path.rglob("failed-*"))


def test_an_unwritable_output_folder_is_named(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(CustlabError, match=f"Cannot create the output folder {blocker / 'reports'}"):
        run_report(out=blocker / "reports", n_customers=300)


def test_every_public_name_of_the_report_package_resolves():
    import custlab.report as report

    assert {"check_month", "MonthSpec", "compute_month", "MonthlyFigures", "render_html", "section_html", "load",
            "run_report", "write_outputs", "check_parameters"} <= set(report.__all__)
    for name in report.__all__:
        assert getattr(report, name) is not None, name
    assert set(report.__all__) <= set(dir(report))
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        report.nope
