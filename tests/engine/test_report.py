"""The monthly report with its lines on DuckDB and Spark (``custlab report --engine``) against the polars report.

Each figure the engine report shows is compared with the same figure of the
in-memory report on the same month: counts exactly, money to 1e-9. CLV, which
the engine computes from patterns, is compared with BG/NBD and Gamma-Gamma
fitted and summed customer by customer in polars.
"""

from __future__ import annotations

import math
import re
import warnings

import polars as pl
import pytest

import custlab as cl
from custlab import engine
from custlab.report import figures_churn, figures_engine, figures_sales
from custlab.report.context import Context
from custlab.report.figures import compute_month
from custlab.report.months import check_month

from .helpers import same


def close(a, b, tol=1e-9):
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=tol, abs_tol=tol)
    return a == b


def assert_close(expected, got) -> None:
    """Equal nested figures, floats to 1e-9."""
    if isinstance(expected, dict):
        assert expected.keys() == got.keys()
        for key in expected:
            assert_close(expected[key], got[key])
    else:
        assert close(expected, got), (expected, got)


def assert_same_values(expected: dict, got: dict, keys) -> None:
    for key in keys:
        assert close(expected[key], got[key]), (key, expected[key], got[key])


@pytest.fixture(scope="module")
def shop_month(shop):
    spec = check_month(shop.transactions, "2024-10")
    return spec, compute_month({"transactions": shop.transactions}, month=spec)


@pytest.fixture(scope="module")
def shop_on_duckdb(shop, duck, shop_month):
    spec, _ = shop_month
    return compute_month({"transactions": duck.from_arrow(shop.transactions.to_arrow())}, month=spec)


def test_sections_and_reasons(shop_on_duckdb):
    assert set(shop_on_duckdb.parts) == {"trend", "portrait", "segments", "clv", "retention", "outlook", "problems",
                                         "methods"}
    skipped = {s.section: s for s in shop_on_duckdb.skipped}
    assert all(s.kind == "absent" for s in skipped.values())
    assert "DuckDB" in skipped["early_warning"].reason["en"] and "--sample-size" in skipped["actions"].fix["en"]
    assert "DuckDB" in skipped["nba"].reason["zh"]


def test_first_screen_and_trend_equal_polars(shop_month, shop_on_duckdb):
    _, expected = shop_month
    assert [k.key for k in expected.kpis if k.key != "clv_total"] == [k.key for k in shop_on_duckdb.kpis
                                                                       if k.key != "clv_total"]
    for mine, theirs in zip(expected.kpis, shop_on_duckdb.kpis, strict=False):
        if mine.key != "clv_total":
            assert close(mine.value, theirs.value) and close(mine.previous, theirs.previous), mine.key
            assert close(mine.year_ago, theirs.year_ago), mine.key
    assert_same_values(expected.parts["trend"].values, shop_on_duckdb.parts["trend"].values,
                       expected.parts["trend"].values)
    same(expected.parts["trend"].tables[0].frame, shop_on_duckdb.parts["trend"].tables[0].frame)


def test_portrait_retention_outlook_equal_polars(shop_month, shop_on_duckdb):
    _, expected = shop_month
    assert expected.parts["portrait"].values == shop_on_duckdb.parts["portrait"].values
    assert_close(expected.parts["retention"].values, shop_on_duckdb.parts["retention"].values)
    assert [p.key for p in expected.parts["retention"].paragraphs] == \
        [p.key for p in shop_on_duckdb.parts["retention"].paragraphs]
    outlook, engine_outlook = expected.parts["outlook"].values, shop_on_duckdb.parts["outlook"].values
    assert outlook["alerts"] == engine_outlook["alerts"] and outlook["trusted"] == engine_outlook["trusted"]
    assert outlook["groups"].keys() == engine_outlook["groups"].keys()
    for group, row in outlook["groups"].items():
        assert row["model"] == engine_outlook["groups"][group]["model"]
        assert math.isclose(row["forecast"], engine_outlook["groups"][group]["forecast"], rel_tol=1e-6), group


def test_value_tiers_equal_polars(shop_month, shop_on_duckdb):
    """Tier sizes, revenue, medians, concentration and movements: the same page without the customer list."""
    _, expected = shop_month
    mine, theirs = expected.parts["segments"], shop_on_duckdb.parts["segments"]
    assert_close(mine.values, theirs.values)
    same(mine.tables[0].frame, theirs.tables[0].frame)
    assert [p.key for p in mine.paragraphs] == [p.key for p in theirs.paragraphs]
    assert mine.paragraphs[-1].fields == theirs.paragraphs[-1].fields  # moved up, down, reactivated, new
    assert "segments.csv" in mine.exports and not theirs.exports


@pytest.mark.parametrize("n", [1, 2, 3, 7, 10, 11])
def test_value_tier_cuts_on_ties_and_tiny_shops(duck, n):
    """Quantile cut points found on the engine equal rfm_scores' ranks, with ties and few customers."""
    import datetime as dt

    from custlab import segments as sg
    from custlab.engine.report import TIERS, value_tiers

    amounts = [5.0, 5.0, 12.5, 3.0, 12.5, 100.0, 0.01, 5.0, 7.0, 7.0, 40.0][:n]
    tx = pl.DataFrame({"customer_id": list(range(n)), "order_id": [str(i) for i in range(n)],
                       "order_date": [dt.datetime(2024, 1, 1 + (i * 7) % 28) for i in range(n)], "amount": amounts})
    as_of = dt.datetime(2024, 3, 1)
    got = value_tiers(duck.from_arrow(tx.to_arrow()), as_of=as_of, dormant_days=45)
    seg = sg.rfm_segments(sg.rfm_scores(sg.rfm_table(tx, as_of=as_of)), rules=sg.value_tier_rules(dormant_days=45))
    expected = seg.group_by(pl.col("value_rank").cast(pl.Int64)).agg(customers=pl.len().cast(pl.Int64)).sort("value_rank")
    assert got["distribution"].group_by("value_rank").agg(pl.col("customers").sum()).sort("value_rank").equals(expected)
    assert math.isclose(got["top_customers"] / n, sg.top_share(seg), rel_tol=1e-12)
    assert len(TIERS) == 5


def test_clv_equals_the_customer_by_customer_sum(shop, shop_month, shop_on_duckdb):
    spec, _ = shop_month
    summary = cl.clv.clv_summary(shop.transactions, as_of=spec.as_of, freq="W")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cl.clv.CLVWarning)
        model, spend = cl.clv.BetaGeo(freq="W").fit(summary), cl.clv.GammaGamma().fit(summary)
    values = cl.clv.predict_clv(summary, model, spend, months=12, annual_discount_rate=0.10)
    got = shop_on_duckdb.parts["clv"].values
    assert got["customers"] == summary.height
    assert math.isclose(got["clv_total"], float(values["clv"].sum()), rel_tol=1e-6)  # spend patterns in 0.1% bins
    assert math.isclose(got["p_alive_mean"], float(values["p_alive"].mean()), rel_tol=1e-9)
    for name, value in model.params_.items():
        assert math.isclose(got["params"][name], value, rel_tol=1e-6), name
    assert shop_on_duckdb.key_figures()["kpis"]["clv_total"] == got["clv_total"]


def test_clv_without_a_repeat_week_says_why(duck):
    """Every customer bought once (a shop's first months): the section says so, as in memory, instead of failing
    with the models' error about frequency 0; the other sections go on."""
    import datetime as dt

    n = 400
    tx = pl.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "order_id": [str(i) for i in range(n)],
                       "order_date": [dt.datetime(2024, 1, 1) + dt.timedelta(days=i * 310 // n) for i in range(n)],
                       "amount": [10.0 + i % 7 for i in range(n)]})
    spec = check_month(tx, "2024-10")
    got = compute_month({"transactions": duck.from_arrow(tx.to_arrow())}, month=spec)
    skipped = {s.section: s for s in got.skipped}
    assert skipped["clv"].kind == "absent" and "clv" not in got.parts and "segments" in got.parts
    assert "394 customers has ordered in a second week" in skipped["clv"].reason["en"]
    assert "394" in skipped["clv"].reason["zh"] and "clv_total" not in got.key_figures()["kpis"]

def test_patterns_with_spend_sum_to_the_customers(shop, duck):
    rel = duck.from_arrow(shop.transactions.to_arrow())
    patterns = engine.clv_patterns(rel, as_of="2024-10-01", spend=True)
    summary = cl.clv.clv_summary(shop.transactions, as_of="2024-10-01")
    assert int(patterns["weight"].sum()) == summary.height
    expected = summary.group_by("frequency", "recency", "T").agg(pl.col("monetary_value").mean()).sort(
        "frequency", "recency", "T")
    same(expected, patterns.select("frequency", "recency", "T", "monetary_value"))
    plain = engine.clv_patterns(rel, as_of="2024-10-01")
    assert plain.columns == ["frequency", "recency", "T", "weight"]
    same(plain, patterns.drop("monetary_value"))


@pytest.mark.filterwarnings("ignore::custlab.churn.ChurnDataWarning")  # the lines after as_of, counted
def test_kaplan_meier_on_counts_equals_per_customer(shop, duck):
    frame = cl.churn.survival_frame(shop.transactions, as_of="2024-10-01")
    counts = engine.survival_counts(duck.from_arrow(shop.transactions.to_arrow()), as_of="2024-10-01")
    one, grouped = cl.churn.kaplan_meier(frame), cl.churn.kaplan_meier(counts, weight="customers")
    same(one.summary, grouped.summary)
    same(one.curves, grouped.curves)
    with pytest.raises(cl.CustlabError, match="'customers'.*1 row"):
        cl.churn.kaplan_meier(counts.with_columns(customers=pl.when(pl.int_range(pl.len()) == 0).then(-1)
                                                  .otherwise("customers")), weight="customers")


def test_online_retail_counts_on_duckdb(retail, duck):
    spec = check_month(retail, "2011-11")
    mem = Context({"transactions": retail}, month=spec)
    eng = Context({"transactions": duck.from_arrow(retail.to_arrow())}, month=spec)
    assert mem.first_date == eng.first_date
    for start, end in ((spec.start, spec.as_of), (mem.previous_window.start, mem.previous_window.end)):
        a, b = figures_sales.window_metrics(mem, start, end), figures_sales.window_metrics(eng, start, end)
        assert_same_values(a, b, a)
    same(figures_sales.monthly_series(mem), figures_sales.monthly_series(eng))
    portrait = figures_engine.portrait(eng)
    expected = figures_sales.portrait(mem)
    assert portrait.values == expected.values  # customers to date, the leading country
    same(expected.tables[0].frame, portrait.tables[0].frame)  # customers and revenue per country
    assert_close(figures_churn.retention(mem).values, figures_engine.retention(eng).values)



def test_engine_money_sums_are_exact(duck):
    """Money is added in whole millionths on the engine: ten lines of 0.1 are 1.0, not 0.9999999999999999, and
    Online Retail's November read 1123691.49 on DuckDB as in memory (a float sum read 1123691.4900000363)."""
    import datetime as dt

    from custlab.engine.report import geography_counts, monthly_counts, window_counts

    lines = pl.DataFrame({"customer_id": [1] * 10 + [2] * 3, "order_id": [str(i) for i in range(13)],
                          "order_date": [dt.datetime(2024, 3, 1 + i) for i in range(13)],
                          "amount": [0.1] * 10 + [0.7, 0.1, 0.2], "country": ["UK"] * 10 + ["FR"] * 3})
    assert sum([0.1] * 10) != 1.0  # what a float sum in line order gives
    relation = duck.from_arrow(lines.to_arrow())
    window = window_counts(relation, dt.datetime(2024, 3, 1), dt.datetime(2024, 4, 1), inactivity_days=90)
    assert window["revenue"] == 2.0
    assert monthly_counts(relation, as_of=dt.datetime(2024, 4, 1))["revenue"].to_list() == [2.0]
    assert dict(geography_counts(relation, "country", as_of=dt.datetime(2024, 4, 1))
                .select("group", "revenue").iter_rows()) == {"UK": 1.0, "FR": 1.0}


def _attribute_page(part):
    return [p.key for p in part.paragraphs], [(t.caption.fields.get("attribute"), t.frame) for t in part.tables]


def test_portrait_reads_the_customers_table_as_in_memory(shop, duck, to_spark, shop_month):
    """With a customers table the engine's portrait shows each attribute's customers and revenue as in memory (the
    table is joined on the engine): before, it said the data had no customers table. The customers' region is the
    geography when the lines have none."""
    spec, _ = shop_month
    customers = shop.customers.with_columns(  # an unknown age and region, and a repeated customer (the first counts)
        age=pl.when(pl.col("customer_id") == 3).then(None).otherwise("age"),
        region=pl.when(pl.col("customer_id") == 4).then(None).otherwise("region"))
    customers = pl.concat([customers, customers.head(1).with_columns(gender=pl.lit("other"))])
    expected = figures_sales.portrait(Context({"transactions": shop.transactions, "customers": customers}, month=spec))
    keys, tables = _attribute_page(expected)
    assert "report.portrait.coverage" in keys and "report.portrait.no_customers" not in keys
    assert {str(a.value) for a, _ in tables if a is not None} >= {"age_band", "gender", "city_tier"}
    assert "report.portrait.geography" in keys and expected.values["top_geography"]  # the lines have no place
    assert expected.tables[0].caption.key == "report.portrait.geo_table" and expected.tables[0].frame.height == 7
    text_ids = customers.with_columns(pl.col("customer_id").cast(pl.String))  # joined all the same
    for lines, side in ((duck.from_arrow(shop.transactions.to_arrow()), customers),
                        (duck.from_arrow(shop.transactions.to_arrow()), text_ids), (to_spark(shop.transactions), customers)):
        got = figures_engine.portrait(Context({"transactions": lines, "customers": side}, month=spec))
        got_keys, got_tables = _attribute_page(got)
        assert got.values == expected.values and got_keys == keys and [a for a, _ in got_tables] == [a for a, _ in tables]
        assert got.paragraphs[keys.index("report.portrait.coverage")] == expected.paragraphs[
            keys.index("report.portrait.coverage")]
        for (_, mine), (_, theirs) in zip(tables, got_tables, strict=True):
            same(mine.sort("group", nulls_last=True), theirs.sort("group", nulls_last=True))


def test_engine_report_on_spark(shop, to_spark, shop_month):
    spec, expected = shop_month
    got = compute_month({"transactions": to_spark(shop.transactions)}, month=spec, language="zh")
    assert set(got.parts) == {"trend", "portrait", "segments", "clv", "retention", "outlook", "problems", "methods"}
    assert_same_values(expected.parts["trend"].values, got.parts["trend"].values, expected.parts["trend"].values)
    assert_close(expected.parts["segments"].values, got.parts["segments"].values)
    assert "Spark" in {s.section: s for s in got.skipped}["early_warning"].reason["en"]
    from tests.report.test_html import visible

    text = visible(cl.report.render_html(got, language="zh"))
    assert not re.search(r"\b(None|nan|NaN|inf)\b", text), text
    assert "Spark" in text


def test_loading_refuses_what_it_cannot_read(tmp_path, shop):
    from custlab.exceptions import CustlabError
    from custlab.report.sources import load

    csv = tmp_path / "orders.csv"
    shop.transactions.head(5).write_csv(csv)
    with pytest.raises(CustlabError, match="--engine reads Parquet.*not \\.csv"):
        load(csv, engine="duckdb")
    with pytest.raises(CustlabError, match="holds none"):
        load(tmp_path / "empty" if (tmp_path / "empty").mkdir() is None else None, engine="duckdb")
    parquet = tmp_path / "orders.parquet"
    shop.transactions.write_parquet(parquet)
    with pytest.raises(CustlabError, match="--sample-size and --engine"):
        load(parquet, engine="duckdb", sample_size=100)
    with pytest.raises(CustlabError, match="--engine must be one of duckdb, spark"):
        load(parquet, engine="sqlite")
    with pytest.raises(CustlabError, match="--columns names \\['Datum'\\]"):
        load(parquet, engine="duckdb", columns={"Datum": "order_date"})
    with pytest.raises(CustlabError, match="month 2030-01 is outside the data"):
        load(parquet, engine="duckdb", month="2030-01")


def test_loading_a_folder_reads_its_customers_table_with_the_lines_ids(tmp_path, shop):
    from custlab.exceptions import CustlabError
    from custlab.report.sources import load

    shop.transactions.write_parquet(tmp_path / "transactions.parquet")
    customers = shop.customers.with_columns(pl.col("customer_id").cast(pl.String))  # text ids, integer lines
    customers.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("A-1")).otherwise("customer_id")
                           .alias("customer_id")).write_csv(tmp_path / "customers.csv")
    tables, _, _ = load(tmp_path, engine="duckdb", month="2024-10")
    got = tables["customers"]
    assert got.schema["customer_id"] == pl.Int64 and got.height == customers.height
    assert got["customer_id"].null_count() == 1  # "A-1" can match no integer id
    assert got["customer_id"].drop_nulls().to_list() == shop.customers["customer_id"].to_list()[1:]
    shop.customers.rename({"region": "zona"}).write_parquet(tmp_path / "customers.parquet")
    (tmp_path / "customers.csv").unlink()
    tables, _, _ = load(tmp_path, engine="duckdb", month="2024-10", columns={"zona": "region"})
    assert tables["customers"]["region"].to_list() == shop.customers["region"].to_list()
    with pytest.raises(CustlabError, match=r"--columns names \['Zone'\].*nor does the customers table.*'zona'"):
        load(tmp_path, engine="duckdb", month="2024-10", columns={"Zone": "region"})
    (tmp_path / "customers.parquet").unlink()
    assert "customers" not in load(tmp_path, engine="duckdb", month="2024-10")[0]


def test_loading_cleans_on_the_engine(tmp_path, shop):
    from custlab.report.sources import load

    dirty = pl.concat([shop.transactions, shop.transactions.head(3)])  # three duplicated lines
    dirty.rename({"order_date": "placed"}).write_parquet(tmp_path / "orders.parquet")
    tables, quality, source = load(tmp_path / "orders.parquet", engine="duckdb", month="2024-10",
                                   columns={"placed": "order_date"})
    removed = dict(quality.removed.select("reason", "rows").iter_rows())
    assert removed["duplicate"] == 3
    assert source.label.endswith("-duckdb") and source.month.month == "2024-10"
    lines = tables["transactions"]
    assert lines.aggregate("count(*)").fetchall()[0][0] == quality.rows_kept


def test_a_missing_engine_package_is_named(tmp_path, shop, monkeypatch):
    import importlib.util

    from custlab.exceptions import CustlabError
    from custlab.report.sources import scan_parquet_lines

    shop.transactions.write_parquet(tmp_path / "orders.parquet")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pyspark" else real(name, *a))
    with pytest.raises(CustlabError, match=r"--engine spark needs the pyspark package.*custlab\[spark\]"):
        scan_parquet_lines(tmp_path / "orders.parquet", "spark")
    assert scan_parquet_lines(tmp_path / "orders.parquet", "duckdb").select(pl.len()).collect().item() == \
        shop.transactions.height


def test_tables_stored_for_one_figure_are_released_after_it(shop, duck, to_spark):
    """value_tiers and attribute_counts keep helper tables on the engine while they run and drop (DuckDB) or
    unpersist (Spark) them after: a notebook computing month after month on one connection does not pile them up."""
    import datetime as dt

    import narwhals as nw

    from custlab.engine._nw import scratch, store
    from custlab.engine.report import attribute_counts, value_tiers

    def temporary() -> int:
        return duck.sql("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchall()[0][0]

    relation = duck.from_arrow(shop.transactions.to_arrow())
    before = temporary()
    with scratch():
        store(nw.from_native(relation))
        assert temporary() == before + 1
    assert temporary() == before
    value_tiers(relation, as_of=dt.datetime(2024, 10, 1), previous_as_of=dt.datetime(2024, 9, 1))
    attribute_counts(relation, shop.customers, ["gender"], as_of=dt.datetime(2024, 10, 1))
    assert temporary() == before
    kept = store(nw.from_native(relation))  # outside a scratch block a stored table stays
    assert temporary() == before + 1 and nw.to_native(kept).shape[0] == shop.transactions.height
    lines = to_spark(shop.transactions)
    with scratch():
        persisted = nw.to_native(store(nw.from_native(lines)))
        assert persisted.is_cached
    assert not persisted.is_cached
