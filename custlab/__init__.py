"""custlab: notebook-first customer analytics for e-commerce.

The data contract (canonical tables and columns) is in :mod:`custlab.schema`.
Analysis modules are imported on first use, so ``import custlab`` stays fast::

    import custlab as cl
    tx = cl.read_transactions("orders.csv", columns={"InvoiceDate": "order_date"})
    clean, report = cl.clean_transactions(tx)
    cl.rfm.rfm_table(clean)          # RFM, segments (custlab.rfm)
    cl.clv                           # BG/NBD and Gamma-Gamma CLV
    cl.churn                         # survival-style churn
    cl.rules                         # association rules
    cl.behaviour                     # funnels, cohorts, channels
"""

from __future__ import annotations

import importlib

from custlab.clean import DataQualityReport, clean_transactions
from custlab.exceptions import ConvergenceError, CustlabError, EmptyDataError, ParseError, SchemaError
from custlab.io import (
    read_customers,
    read_events,
    read_marketing_spend,
    read_reviews,
    read_table,
    read_transactions,
)
from custlab.schema import TABLES, validate

__version__ = "0.1.0"

_SUBMODULES = {
    "behaviour", "churn", "clean", "cli", "clv", "clv_plots", "datasets", "io", "monthly", "plots", "quality",
    "report", "rfm", "rules", "schema", "segments", "synthetic",
}


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"custlab.{name}")
    if name in {"make_shop", "Shop"}:
        return getattr(importlib.import_module("custlab.synthetic"), name)
    if name in {"load_cdnow", "load_online_retail"}:
        return getattr(importlib.import_module("custlab.datasets"), name)
    raise AttributeError(f"module 'custlab' has no attribute {name!r}")


__all__ = [
    "TABLES", "ConvergenceError", "CustlabError", "DataQualityReport", "EmptyDataError", "ParseError",
    "SchemaError", "clean_transactions", "load_cdnow", "load_online_retail", "make_shop", "read_customers",
    "read_events", "read_marketing_spend", "read_reviews", "read_table", "read_transactions", "validate",
]
