"""The same calls on PySpark local[2]: custlab's tables, MLlib's FPGrowth and PrefixSpan against custlab's miners.

Few tests on small samples, one shared session (tests/engine/conftest.py): Spark
starts in about 20 s and each query costs a second or two in local mode.
"""

from __future__ import annotations

import datetime as dt
import warnings

import pytest

import custlab as cl
from custlab import engine
from custlab.churn import ChurnDataWarning

from .helpers import same

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pyspark.*")


@pytest.fixture(scope="module")
def tx(shop, to_spark):
    return to_spark(shop.transactions)


def test_customer_tables_on_spark(shop, tx):
    assert cl.segments.rfm_table(tx).equals(cl.segments.rfm_table(shop.transactions))  # same bits
    same(cl.clv.clv_summary(shop.transactions, freq="M", grain="period"), cl.clv.clv_summary(tx, freq="M",
                                                                                              grain="period"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChurnDataWarning)
        kwargs = {"as_of": "2024-09-01", "customers": shop.customers}
        same(cl.churn.survival_frame(shop.transactions, **kwargs), cl.churn.survival_frame(tx, **kwargs))
    same(cl.repurchase.inter_purchase_times(shop.transactions, by="category"),
         cl.repurchase.inter_purchase_times(tx, by="category"))


def test_counts_on_spark(shop, tx, to_spark):
    same(cl.cohorts.cohort_retention(shop.transactions), cl.cohorts.cohort_retention(tx))
    same(cl.activity.weekday_hour(shop.transactions, measure="revenue", by="channel"),
         cl.activity.weekday_hour(tx, measure="revenue", by="channel"))
    steps, kwargs = ["exposure", "click", "cart", "pay"], {"within": "7d", "unit": "customer", "mode": "both"}
    same(cl.funnel.funnel(shop.events, steps, **kwargs), cl.funnel.funnel(to_spark(shop.events), steps, **kwargs))


def test_cdnow_published_fits_from_spark(cdnow_sample, to_spark):
    data = to_spark(cdnow_sample)
    bgf = cl.clv.BetaGeo(freq="W").fit(engine.clv_patterns(data, as_of="1997-10-01", freq="W"))
    assert (bgf.params_["r"], bgf.params_["alpha"], bgf.params_["a"], bgf.params_["b"]) == pytest.approx(
        (0.243, 4.414, 0.793, 2.426), abs=0.0005)
    ggf = cl.clv.GammaGamma().fit(engine.spend_patterns(data, as_of="1997-10-01", freq="W"))
    assert (ggf.params_["p"], ggf.params_["q"], ggf.params_["v"]) == pytest.approx((6.25, 3.74, 15.44), abs=0.01)
    assert ggf.n_customers_ == 946


def test_fpgrowth_gives_custlab_itemsets_and_the_published_rules(groceries, to_spark):
    baskets = to_spark(groceries)
    own = cl.rules.frequent_itemsets(groceries, min_support=0.001)
    fp = cl.rules.frequent_itemsets(baskets, min_support=0.001)  # MLlib FPGrowth on a Spark DataFrame
    same(own, fp)
    rules = cl.rules.association_rules(fp, min_confidence=0.5)
    assert rules.height == 5668  # R arules apriori, supp = 0.001, conf = 0.5
    assert dict(rules.group_by("length").len().sort("length").iter_rows()) == {2: 11, 3: 1461, 4: 3211, 5: 939,
                                                                                6: 46}


def test_prefixspan_counts_are_custlab_counts_without_a_window(shop, tx):
    # PrefixSpan's "A on one day, B on a later day" = custlab's count with a window longer than the history.
    patterns = engine.spark.sequential_patterns(tx, item="category", min_support=0.02)
    unbounded = cl.rules.sequential_rules(shop.transactions, item="category", within="1000d", min_support=0.02,
                                          complete_window=False)
    assert patterns.height > 20
    same(unbounded.select("antecedent", "consequent", "count").sort("count", "antecedent", "consequent",
                                                                    descending=[True, False, False]), patterns)
    kwargs = {"item": "category", "within": "60d", "min_support": 0.01}
    same(cl.rules.sequential_rules(shop.transactions, **kwargs), cl.rules.sequential_rules(tx, **kwargs))


def test_cleaning_on_spark(to_spark):
    from custlab.synthetic import make_shop

    messy = make_shop(500, seed=3, messy=0.4).transactions
    _, own = cl.data.clean_transactions(messy)
    _, pushed = cl.data.clean_transactions(to_spark(messy))
    same(own.removed, pushed.removed)
    same(own.by_day.sort("day", "reason"), pushed.by_day.sort("day", "reason"))


def test_spark_timestamps_need_a_utc_session(spark):
    frame = spark.createDataFrame([(1, 1, dt.datetime(2024, 1, 1, 23, 30), 5.0)],
                                  "customer_id long, order_id long, order_date timestamp, amount double")
    spark.conf.set("spark.sql.session.timeZone", "Europe/Berlin")
    try:
        with pytest.raises(engine.EngineError, match="Spark TIMESTAMP .* session time zone is 'Europe/Berlin'"):
            cl.segments.rfm_table(frame)
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")
    assert cl.segments.rfm_table(frame)["last_order"].to_list() == [dt.datetime(2024, 1, 1, 23, 30)]
