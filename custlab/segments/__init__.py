"""Customer segments: RFM table and scores, rule-table segments, k-means, migration, actions, plots.

The segmentation at the centre of customer operations, in five steps:

1. :func:`rfm_table` -- one row per customer: days since the last order,
   number of orders, revenue, average order value, first and last order,
   tenure (:mod:`custlab.segments.rfm`).
2. :func:`rfm_scores` -- 1-5 scores by quantile or by thresholds you choose;
   5 is best (:mod:`custlab.segments.scores`).
3. :func:`rfm_segments` -- a first-match rule table over the scores: the ten
   segments of the R ``rfm`` package or the value tiers of the operations
   documents, with :func:`rule_coverage` to check a table
   (:mod:`custlab.segments.rule_tables`). :func:`kmeans_segments` lets the
   data find the groups instead (:mod:`custlab.segments.kmeans`).
4. :func:`segment_summary`, :func:`concentration_curve`, :func:`top_share`
   (:mod:`custlab.segments.summary`) and :func:`segment_migration`
   (:mod:`custlab.segments.migration`).
5. :func:`action_lists` and :func:`export_action_lists` -- the playbook and
   the customer lists for a CRM (:mod:`custlab.segments.actions`).

Plots are in :mod:`custlab.segments.plots`. ``as_of`` is the first instant
that is not history, as everywhere in custlab (see :mod:`custlab._dates`).
"""

from __future__ import annotations

from custlab.segments.actions import PLAYBOOK, action_lists, action_tables, export_action_lists
from custlab.segments.kmeans import (
    DEFAULT_FEATURES,
    LOG_FEATURES,
    KMeansSegments,
    customer_features,
    kmeans_segments,
)
from custlab.segments.migration import MOVEMENTS, Migration, segment_migration
from custlab.segments.plots import (
    plot_cluster_profiles,
    plot_concentration,
    plot_migration,
    plot_rfm_heatmap,
    plot_segment_shares,
)
from custlab.segments.rfm import RFM_COLUMNS, rfm_table
from custlab.segments.rule_tables import (
    R_RFM_SEGMENTS,
    RFM_REACHABLE,
    RULE_TABLES,
    VALUE_TIERS,
    rfm_segments,
    rule_coverage,
    value_tier_rules,
)
from custlab.segments.scores import SCORE_COLUMNS, rfm_scores
from custlab.segments.summary import concentration_curve, segment_summary, top_share

__all__ = [
    "DEFAULT_FEATURES", "LOG_FEATURES", "MOVEMENTS", "PLAYBOOK", "RFM_COLUMNS", "RFM_REACHABLE", "RULE_TABLES",
    "R_RFM_SEGMENTS", "SCORE_COLUMNS", "VALUE_TIERS", "KMeansSegments", "Migration", "action_lists", "action_tables",
    "concentration_curve", "customer_features", "export_action_lists", "kmeans_segments", "plot_cluster_profiles",
    "plot_concentration", "plot_migration", "plot_rfm_heatmap", "plot_segment_shares", "rfm_scores",
    "rfm_segments", "rfm_table", "rule_coverage", "segment_migration", "segment_summary", "top_share",
    "value_tier_rules",
]
