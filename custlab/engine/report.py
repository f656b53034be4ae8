"""The small tables a monthly report needs, aggregated on the engine holding the order lines.

:func:`report_tables` runs each heavy step where the data live (DuckDB,
Spark, any lazy table narwhals wraps) and returns only small polars tables:
model patterns and counts, never one row per order line or per customer.
"""

from __future__ import annotations

import polars as pl

from custlab._dates import as_datetime
from custlab._types import DateLike
from custlab.engine._nw import accepts
from custlab.engine.counts import cohort_retention, series, weekday_hour
from custlab.engine.customers import clv_patterns, gap_counts, spend_patterns, survival_counts

__all__ = ["report_tables"]


def report_tables(transactions: object, *, as_of: DateLike | None = None, freq: str = "1w",
                  inactivity_days: int = 90) -> dict[str, pl.DataFrame]:
    """The report's heavy steps pushed down: a dict of small polars tables.

    Keys: ``clv_patterns`` and ``spend_patterns`` (fit ``BetaGeo`` /
    ``GammaGamma`` on them, weighted), ``survival_counts`` (Kaplan-Meier),
    ``gap_counts`` (repurchase gaps), ``cohort_retention``, ``weekday_hour``
    (orders per weekday and hour) and ``series`` (revenue per ``freq``). Each
    has at most some hundred thousand rows, whatever the size of the data.
    ``as_of`` is the first instant that is not history (see
    :mod:`custlab._dates`); default the midnight after the last order.

    Sections that need order lines or one row per customer (action lists,
    segment tables, basket rules by product) are not here: on a large table
    run them on a sample or write their per-customer tables back on the engine.
    """
    if not accepts(transactions):
        raise TypeError(
            "custlab.engine.report_tables: transactions must be a lazy table of another engine (DuckDB relation, "
            f"PySpark DataFrame); got {type(transactions).__name__}. For polars, run the report itself."
        )
    end = as_datetime(as_of, "as_of")
    return {
        "clv_patterns": clv_patterns(transactions, as_of=end),
        "spend_patterns": spend_patterns(transactions, as_of=end, relative_step=1e-3),
        "survival_counts": survival_counts(transactions, as_of=end, inactivity_days=inactivity_days),
        "gap_counts": gap_counts(transactions, as_of=end),
        "cohort_retention": cohort_retention(transactions, as_of=end),
        "weekday_hour": weekday_hour(transactions if end is None else _before(transactions, end)),
        "series": series(transactions, freq=freq, as_of=end),
    }


def _before(transactions: object, end) -> object:
    """The lines dated before ``end``, still on their engine (weekday_hour takes no as_of)."""
    import narwhals as nw

    return nw.to_native(nw.from_native(transactions).filter(nw.col("order_date") < end))
