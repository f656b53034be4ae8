"""custlab on DuckDB, Spark and any lazy engine narwhals wraps: aggregate on the engine, model on the driver.

custlab's public functions take a DuckDB relation, a PySpark DataFrame or any
lazy table narwhals wraps wherever they take a polars frame, and dispatch here:

    rel = duckdb.sql("SELECT * FROM 'orders/*.parquet'")
    cl.segments.rfm_table(rel)                    # grouped by DuckDB, one row per customer back
    BetaGeo().fit(cl.engine.clv_patterns(rel))    # a few thousand (frequency, recency, T) patterns

Each heavy step is written once on narwhals (:mod:`custlab.engine._nw` handles
the frictions between backends) and only small results come back as polars,
finished by the same code as custlab's own polars path, so the tables agree:
integers exactly, floats to about 1e-15. An operation a backend lacks raises
:class:`EngineError` naming the function and the backend; nothing is ever
collected to the driver as a fallback.

Modules: :mod:`~custlab.engine.customers` (RFM, CLV summaries and patterns,
survival base, repurchase gaps), :mod:`~custlab.engine.baskets` (baskets, item
and pair counts, level-wise itemsets, sequential rules),
:mod:`~custlab.engine.counts` (cohorts, funnels, weekday x hour, demand
series), :mod:`~custlab.engine.cleaning` (cleaning rules and their counts),
:mod:`~custlab.engine.spark` (MLlib FPGrowth and PrefixSpan, a local session).
"""

from __future__ import annotations

from custlab.engine import spark
from custlab.engine._nw import EngineError, accepts
from custlab.engine.baskets import baskets, frequent_itemsets, item_counts, pair_counts, sequential_rules
from custlab.engine.cleaning import clean_transactions
from custlab.engine.counts import cohort_retention, funnel, series, weekday_hour
from custlab.engine.customers import (
    calibration_holdout, clv_patterns, clv_summary, diagnostic_counts, gap_counts, inter_purchase_times, rfm_table,
    spend_patterns, survival_counts, survival_frame,
)
from custlab.engine.report import report_tables

__all__ = [
    "EngineError", "accepts", "baskets", "calibration_holdout", "clean_transactions", "clv_patterns", "clv_summary",
    "cohort_retention", "diagnostic_counts", "frequent_itemsets", "funnel", "gap_counts", "inter_purchase_times", "item_counts",
    "pair_counts", "report_tables", "rfm_table", "sequential_rules", "series", "spark", "spend_patterns", "survival_counts",
    "survival_frame", "weekday_hour",
]
