"""Shared pieces of the parity suite: custlab's public functions by name, and the comparison."""

from __future__ import annotations

import importlib

import polars as pl
from polars.testing import assert_frame_equal

import custlab as cl

#: custlab's public functions that push down to an engine, by their custlab.engine name.
PUBLIC = {
    "rfm_table": cl.segments.rfm_table,
    "clv_summary": cl.clv.clv_summary,
    "calibration_holdout": cl.clv.calibration_holdout,
    "survival_frame": cl.churn.survival_frame,
    "inter_purchase_times": cl.repurchase.inter_purchase_times,
    "cohort_retention": cl.cohorts.cohort_retention,
    "funnel": cl.funnel.funnel,
    "weekday_hour": cl.activity.weekday_hour,
    "frequent_itemsets": cl.rules.frequent_itemsets,
    "sequential_rules": cl.rules.sequential_rules,
    "baskets": cl.rules.baskets,
    "clean_transactions": cl.data.clean_transactions,
    # custlab.forecast.series dispatches once its owner adds the pushdown lines (see the scale-out report);
    # until then the parity tests call the engine path for both backends.
    "series": importlib.import_module("custlab.engine").series,
}
#: custlab's own function for ``series`` (the reference).
OWN_SERIES = importlib.import_module("custlab.forecast.series").series


def same(expected: pl.DataFrame, got: pl.DataFrame) -> None:
    """Equal tables: integers, dates and text exactly, floats to 1e-9 (relative and absolute)."""
    assert_frame_equal(expected, got, check_exact=False, rel_tol=1e-9, abs_tol=1e-9)
