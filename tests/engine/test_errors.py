"""What the engine layer refuses, and what it never does: collect order lines to the driver."""

from __future__ import annotations

import importlib
import re

import narwhals as nw
import polars as pl
import pytest

import custlab as cl
from custlab import engine
from custlab.engine import _nw
from custlab.exceptions import SchemaError


@pytest.fixture()
def rel(duck, retail):
    return duck.from_arrow(retail.to_arrow())


@pytest.fixture()
def collected(monkeypatch):
    """The heights of every table the engine layer brings back to the driver."""
    heights: list[int] = []

    def spy(frame):
        out = _nw.collect(frame)
        heights.append(out.height)
        return out

    for name in ("customers", "counts", "baskets", "cleaning"):  # the modules (custlab.engine.baskets is a function)
        monkeypatch.setattr(importlib.import_module(f"custlab.engine.{name}"), "collect", spy)
    return heights


def test_only_small_tables_come_back(rel, retail, collected):
    # 397,924 order lines stay in DuckDB: what comes back is per customer (4,339) or smaller.
    cl.segments.rfm_table(rel)
    cl.clv.clv_summary(rel)
    cl.churn.survival_frame(rel)
    assert max(collected) == 4339
    collected.clear()
    engine.clv_patterns(rel)
    engine.spend_patterns(rel, relative_step=1e-2)
    engine.survival_counts(rel)
    engine.gap_counts(rel)
    cl.cohorts.cohort_retention(rel)
    cl.activity.weekday_hour(rel, measure="revenue")
    assert max(collected) == 3046  # the (frequency, recency, T) patterns in days: fewer than customers
    collected.clear()
    engine.clv_patterns(rel, freq="W", grain="period")
    assert collected[-1] == 2000  # in whole weeks: bounded by the history's length, whatever the customers
    collected.clear()
    clean, report = cl.data.clean_transactions(rel, rules=("cancelled", "returned", "missing_customer", "duplicate"))
    assert collected == [602] and not isinstance(clean, (pl.DataFrame, pl.LazyFrame))  # lines per day and reason


def test_an_operation_the_backend_lacks_names_the_function_and_the_backend(rel, monkeypatch):
    def missing(self):
        raise NotImplementedError("`n_unique` is not supported here.")

    monkeypatch.setattr(nw.Expr, "n_unique", missing)
    with pytest.raises(engine.EngineError, match=re.escape(
            "custlab.segments.rfm_table cannot run on the duckdb backend: `n_unique` is not supported here. "
            "Nothing was collected.")):
        cl.segments.rfm_table(rel)


def test_mllib_needs_spark_and_breakdowns_need_simple_types(duck, groceries, shop):
    with pytest.raises(engine.EngineError, match="MLlib needs a PySpark DataFrame, got a duckdb table"):
        engine.frequent_itemsets(duck.from_arrow(groceries.to_arrow()), min_support=0.01, method="fpgrowth")
    events = shop.events.with_columns(day=pl.col("event_time").dt.date())
    with pytest.raises(engine.EngineError, match="by column 'day' has dtype Date; on the duckdb backend"):
        cl.funnel.funnel(duck.from_arrow(events.to_arrow()), ["exposure", "click"], by="day")


def test_bad_input_is_named(duck, retail):
    with pytest.raises(SchemaError, match=re.escape("custlab.clv.clv_summary: the transactions lack column(s) "
                                                    "['amount']")):
        cl.clv.clv_summary(duck.from_arrow(retail.drop("amount", "quantity").to_arrow()))
    text = retail.with_columns(pl.col("order_date").cast(pl.String))
    with pytest.raises(SchemaError, match="column 'order_date' of the transactions must hold a date or datetime but "
                                          "has dtype String on the duckdb backend"):
        cl.segments.rfm_table(duck.from_arrow(text.to_arrow()))
    with pytest.raises(cl.CustlabError, match="Column 'customer_id' has 1 missing value"):
        cl.clv.clv_summary(duck.from_arrow(retail.head(10).with_columns(
            customer_id=pl.when(pl.int_range(pl.len()) == 3).then(None).otherwise(pl.col("customer_id"))).to_arrow()))
    with pytest.raises(TypeError, match="Convert a pandas frame with polars.from_pandas"):  # eager pandas: no engine
        cl.segments.rfm_table(retail.head(5).to_pandas())


def test_accepts_lazy_tables_of_other_engines(duck, retail):
    assert engine.accepts(duck.from_arrow(retail.head(3).to_arrow()))
    assert engine.accepts(nw.from_native(retail.lazy()))
    assert not engine.accepts(retail) and not engine.accepts(retail.lazy()) and not engine.accepts(retail.to_pandas())
