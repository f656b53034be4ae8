"""Spark MLlib behind custlab's rule calls: FPGrowth for frequent itemsets, PrefixSpan for sequential rules.

On a PySpark DataFrame, :func:`custlab.rules.frequent_itemsets` mines with
MLlib's ``FPGrowth`` (:func:`frequent_itemsets`) and
:func:`custlab.rules.sequential_rules` lets ``PrefixSpan`` find the pairs worth
counting (:func:`sequential_rules`). The thresholds are turned into the same
integer basket count custlab's own miner uses, so the tables are the same
(the parity tests check it).

:func:`local_session` starts the Spark session custlab's tests, benchmarks and
README use: local mode, UTC session time zone, Arrow transfers, no web UI.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import narwhals as nw
import polars as pl

from custlab._types import DateLike
from custlab._dates import as_datetime
from custlab.engine._nw import EngineError, backend, collect, epoch_day, lazy, running
from custlab.engine.baskets import _basket_items, _itemsets_table
from custlab.engine.baskets import sequential_rules as _counted_rules
from custlab.rules import engine as miner
from custlab.rules.baskets import _check_len, _check_support

__all__ = ["frequent_itemsets", "local_session", "sequential_patterns", "sequential_rules"]


def local_session(*, cores: int = 2, memory: str = "2g", app: str = "custlab", config: dict[str, str] | None = None):
    """A local SparkSession for custlab: ``local[cores]``, UTC time zone, Arrow on, no web UI, few shuffle partitions.

    On a cluster, build the session as the cluster asks (``SparkSession.builder.master(...)``
    or ``spark-submit``) and set ``spark.sql.session.timeZone`` to ``UTC`` (or store
    ``TIMESTAMP_NTZ`` columns): custlab's calls then work unchanged.
    """
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master(f"local[{int(cores)}]").appName(app)
        .config("spark.driver.memory", memory)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.shuffle.partitions", str(2 * int(cores)))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
    )
    for key, value in (config or {}).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _spark(frame: nw.LazyFrame, function: str):
    if backend(frame) != "pyspark":
        raise EngineError(f"custlab.{function}: MLlib needs a PySpark DataFrame, got a {backend(frame)} table. "
                          f"Use method='levelwise' (any engine) or custlab's own miner on polars.")
    return nw.to_native(frame)


def _min_support_for(min_count: int, n: int) -> float:
    """The MLlib ``minSupport`` whose ``ceil(minSupport * n)`` is exactly ``min_count``."""
    return (min_count - 0.5) / n


def frequent_itemsets(baskets: object, *, min_support: float, max_len: int | None = None, basket: str = "basket_id",
                      item: str = "item") -> pl.DataFrame:
    """:func:`custlab.rules.frequent_itemsets` by Spark MLlib's FPGrowth: the same table as custlab's miner.

    FPGrowth has no length limit: ``max_len`` filters what it found.

    Examples
    --------
    >>> spark = local_session()  # doctest: +SKIP
    >>> frequent_itemsets(spark.read.parquet("groceries.parquet"), min_support=0.001).height  # doctest: +SKIP
    13492
    """
    from pyspark.ml.fpm import FPGrowth
    from pyspark.sql import functions as F

    function = "rules.frequent_itemsets"
    min_support = _check_support(min_support)
    max_len = _check_len(max_len, "max_len", minimum=1)
    pairs, n = _basket_items(baskets, basket, item, function)
    native = _spark(pairs, function)
    min_count = miner.min_count_for(min_support, n)
    with running(function, pairs):
        sets = native.groupBy("_b").agg(F.collect_set("_i").alias("items"))
        model = FPGrowth(itemsCol="items", minSupport=_min_support_for(min_count, n)).fit(sets)
        found = model.freqItemsets.filter(F.col("freq") >= min_count)
        if max_len is not None:
            found = found.filter(F.size("items") <= max_len)
        table = collect(nw.from_native(found.select(F.col("items").alias("itemset"), F.col("freq").alias("count"))))
        item_dtype = collect(pairs.select("_i").head(0)).schema["_i"]
    return _itemsets_table(table.with_columns(pl.col("count").cast(pl.Int64)), n, item_dtype=item_dtype)


def _sequences(transactions: object, item: str, as_of: DateLike | None, function: str):
    """Per customer, the item sets of their purchase days in day order (``sequence``), on Spark."""
    from pyspark.sql import functions as F

    frame = lazy(transactions, function=function)
    native = _spark(frame, function)
    end_at = as_datetime(as_of, "as_of")
    if end_at is not None:
        frame = frame.filter(nw.col("order_date") < end_at)
    days = nw.to_native(frame.select("customer_id", _d=epoch_day(nw.col("order_date")), _a=nw.col(item)))
    del native
    per_day = days.groupBy("customer_id", "_d").agg(F.array_sort(F.collect_set("_a")).alias("_set"))
    ordered = F.sort_array(F.collect_list(F.struct("_d", "_set")))
    return frame, per_day.groupBy("customer_id").agg(ordered.getField("_set").alias("sequence"))


def sequential_patterns(transactions: object, *, item: str = "product_id", min_support: float = 0.01,
                        as_of: DateLike | None = None) -> pl.DataFrame:
    """Pairs "A on one day, B on a later day" bought by at least ``min_support`` of the customers (PrefixSpan).

    No window: a customer counts when any purchase day with A comes before
    any purchase day with B. That is custlab's sequential-rule count with a
    window longer than the history and ``complete_window=False`` (checked in
    the parity tests), and an upper bound of the count for any window.

    Returns
    -------
    pl.DataFrame
        ``antecedent``, ``consequent`` (item dtype), ``count`` (Int64,
        customers), sorted by count (descending), then items.
    """
    from pyspark.ml.fpm import PrefixSpan
    from pyspark.sql import functions as F

    function = "engine.spark.sequential_patterns"
    min_support = _check_support(min_support)
    frame, sequences = _sequences(transactions, item, as_of, function)
    with running(function, frame):
        n = sequences.count()
        if n == 0:
            return pl.DataFrame(schema={"antecedent": pl.String, "consequent": pl.String, "count": pl.Int64})
        min_count = miner.min_count_for(min_support, n)
        found = PrefixSpan(minSupport=_min_support_for(min_count, n), maxPatternLength=2,
                           sequenceCol="sequence").findFrequentSequentialPatterns(sequences)
        pairs = found.filter((F.size("sequence") == 2) & (F.col("freq") >= min_count)).select(
            F.col("sequence").getItem(0).getItem(0).alias("antecedent"),
            F.col("sequence").getItem(1).getItem(0).alias("consequent"),
            F.col("freq").cast("long").alias("count"),
        )
        out = collect(nw.from_native(pairs))
    return out.filter(pl.col("antecedent") != pl.col("consequent")).sort(
        ["count", "antecedent", "consequent"], descending=[True, False, False])


def sequential_rules(
    transactions: object, *, within: str | int | dt.timedelta = "90d", item: str = "product_id",
    min_support: float = 0.01, min_confidence: float = 0.0, as_of: DateLike | None = None, complete_window: bool = True,
    antecedents: Sequence | None = None, consequents: Sequence | None = None,
) -> pl.DataFrame:
    """:func:`custlab.rules.sequential_rules` on Spark: PrefixSpan finds the candidate pairs, joins count them.

    A pair that PrefixSpan finds in fewer than the minimum number of customers
    over the whole history cannot reach it within a window, so only
    PrefixSpan's pairs are counted (:func:`custlab.engine.baskets.sequential_rules`
    with ``candidates``); the table is the same as custlab's own.
    """
    candidates = sequential_patterns(transactions, item=item, min_support=min_support, as_of=as_of)
    return _counted_rules(transactions, within=within, item=item, min_support=min_support,
                          min_confidence=min_confidence, as_of=as_of, complete_window=complete_window,
                          antecedents=antecedents, consequents=consequents, candidates=candidates)
