"""Data in: the data contract, readers, cleaning, quality summaries and datasets.

``custlab.data`` is the border of the package. Readers (:mod:`.io`) open a
CSV, Parquet or Excel file, detect its encoding, separator, decimal commas
and sheets (:mod:`.sniff`), rename the user's columns to the canonical ones
and validate them against the contract (:mod:`.schema`, with column hints
from :mod:`.hints` and ordered bands from :mod:`.bands`); with
``return_info=True`` they also return a :class:`ReadInfo` saying what they
found. :func:`clean_transactions` (:mod:`.clean`) removes what an analysis
should not see, pairs cancellations with the purchases they undo
(:mod:`.reversals`) and accounts for every row in a
:class:`DataQualityReport` (:mod:`.report`), also per analysed period;
:mod:`.quality` profiles tables, :mod:`.display` shows them to a reader; :mod:`.datasets` loads the public datasets
(CDNOW, Online Retail) and the tables of a folder.
"""

from __future__ import annotations

from custlab.data.clean import MAX_AMOUNT, NON_PRODUCT_IDS, RULES, clean_transactions
from custlab.data.datasets import (
    CDNOW_CALIBRATION_END,
    DATA_ENV,
    harmonise_ids,
    load_cdnow,
    load_online_retail,
    load_tables,
    looks_like_online_retail,
    online_retail_path,
    shared_data_dir,
)
from custlab.data.display import show
from custlab.data.hints import check_column_mapping, suggest_mapping
from custlab.data.io import (
    ReadInfo, read_customers, read_events, read_marketing_spend, read_reviews, read_table, read_transactions, scan,
)
from custlab.data.quality import headline, plot_removed, profile, table_overview
from custlab.data.report import DataQualityReport
from custlab.data.schema import TABLES, TableSpec, ValidationInfo, check_frame, require_columns, validate, validate_with_info

__all__ = [
    "CDNOW_CALIBRATION_END", "DATA_ENV", "MAX_AMOUNT", "NON_PRODUCT_IDS", "RULES", "TABLES", "DataQualityReport",
    "ReadInfo", "TableSpec", "ValidationInfo", "check_column_mapping", "check_frame", "clean_transactions",
    "harmonise_ids", "headline", "load_cdnow", "load_online_retail", "load_tables", "looks_like_online_retail",
    "online_retail_path", "plot_removed", "profile", "read_customers", "read_events", "read_marketing_spend",
    "read_reviews", "read_table", "read_transactions", "require_columns", "scan", "shared_data_dir",
    "show", "suggest_mapping", "table_overview", "validate", "validate_with_info",
]
