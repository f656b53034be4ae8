"""custlab: notebook-first customer analytics for e-commerce.

The data contract (canonical tables and columns) is in :mod:`custlab.data.schema`.
Analysis packages are imported on first use, so ``import custlab`` stays fast::

    import custlab as cl
    tx = cl.read_transactions("orders.csv", columns={"InvoiceDate": "order_date"})
    clean, report = cl.clean_transactions(tx)
    cl.segments.rfm_table(clean)     # RFM, value tiers, K-means, migration, actions
    cl.clv                           # BG/NBD, MBG/NBD, Pareto/NBD, Gamma-Gamma CLV and model choice
    cl.churn                         # survival-style churn and the early-warning list
    cl.repurchase                    # repurchase cycles and reminders
    cl.rules                         # association, sequential and seasonal rules
    cl.funnel, cl.cohorts, cl.channels, cl.activity, cl.portrait
    cl.campaigns                     # campaign results: A/B lift, uplift, matched and diff-in-diff effects
    cl.attribution                   # channel attribution (rules, Markov, Shapley) and ROI
    cl.reviews                       # review sentiment, NPS/CSAT, aspects and complaint drivers
    cl.recommend                     # recommendations, evaluation and next best action
    cl.forecast                      # category demand forecasts with backtests
    cl.engine                        # the same counts on DuckDB relations and Spark DataFrames
    cl.report                        # the monthly report
"""

from __future__ import annotations

import importlib

from custlab.exceptions import (
    ConvergenceError,
    CustlabError,
    CustlabWarning,
    EmptyDataError,
    ParseError,
    SchemaError,
)

__version__ = "0.2.0"

#: Subpackages and modules, imported on first attribute access.
SUBPACKAGES = (
    "activity", "attribution", "campaigns", "channels", "churn", "cli", "clv", "cohorts", "data", "engine",
    "forecast", "funnel", "portrait", "recommend", "report", "repurchase", "reviews", "rules", "segments",
    "synthetic",
)
_FROM = {
    "make_shop": "custlab.synthetic", "Shop": "custlab.synthetic",
    "load_cdnow": "custlab.data", "load_online_retail": "custlab.data", "load_tables": "custlab.data",
    "DataQualityReport": "custlab.data", "clean_transactions": "custlab.data", "validate": "custlab.data",
    "TABLES": "custlab.data", "read_customers": "custlab.data", "read_events": "custlab.data",
    "read_marketing_spend": "custlab.data", "read_reviews": "custlab.data", "read_table": "custlab.data",
    "read_transactions": "custlab.data", "use_language_font": "custlab._plotting",
}


def __getattr__(name: str):
    if name in SUBPACKAGES:
        return importlib.import_module(f"custlab.{name}")
    if name in _FROM:
        return getattr(importlib.import_module(_FROM[name]), name)
    raise AttributeError(f"module 'custlab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *SUBPACKAGES, *_FROM})


__all__ = [
    "ConvergenceError", "CustlabError", "CustlabWarning", "EmptyDataError", "ParseError", "SchemaError",
    *_FROM,
]
