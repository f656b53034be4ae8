"""Channel attribution: who gets the credit for an order, by rule and from the data.

Workflow::

    result = cl.attribution.attribute(touches, transactions)      # every model on the same journeys
    result.to_frame()                                              # channel x model conversions
    result.summary                                                 # removal effect, Markov vs last-touch share
    result.describe("zh")                                          # plain sentences
    cl.attribution.compare_paths(result.paths, "live_stream > community", "search")
    table = cl.attribution.attribution_vs_spend(result, spend)    # credit beside spend
    cl.attribution.reallocation(table, incremental=tests)          # budget moved by incremental returns
    cl.attribution.channel_quality(customers, transactions, events=events, by=["acquisition_channel", "city_tier"])

Layout: :mod:`~custlab.attribution.paths` (touches -> journeys -> path
table, UTM channel grouping), :mod:`~custlab.attribution.heuristics` (first,
last, linear, position-based, time decay), :mod:`~custlab.attribution.markov`
(removal effects, solved exactly), :mod:`~custlab.attribution.shapley`,
:mod:`~custlab.attribution.compare` (path conversion with intervals),
:mod:`~custlab.attribution.quality` (channel quality beyond ROI),
:mod:`~custlab.attribution.spend` (attribution vs spend, reallocation),
:mod:`~custlab.attribution.result` (``attribute``),
:mod:`~custlab.attribution.report` (``attribution_report``, the report's
section) and :mod:`~custlab.attribution.plots`.
"""

from custlab.attribution.compare import PathComparison, compare_paths, path_conversion
from custlab.attribution.heuristics import (
    HEURISTICS, first_touch, heuristic_credit, last_touch, linear, position_based, time_decay,
)
from custlab.attribution.markov import CONVERSION, NULL, START, MarkovModel, markov_model, removal_effect
from custlab.attribution.paths import (
    MEDIUM_CHANNELS, channel_from_utm, collapse_repeats, conversion_orders, journeys, path_table,
)
from custlab.attribution.plots import plot_attribution, plot_attribution_vs_spend, plot_removal_effects
from custlab.attribution.quality import CART_EVENTS, channel_quality
from custlab.attribution.report import AttributionReport, attribution_report, incremental_by_channel
from custlab.attribution.result import MODELS, AttributionResult, attribute
from custlab.attribution.shapley import shapley
from custlab.attribution.spend import Reallocation, attribution_vs_spend, reallocation

__all__ = [
    "CART_EVENTS", "CONVERSION", "HEURISTICS", "MEDIUM_CHANNELS", "MODELS", "NULL", "START", "AttributionReport",
    "AttributionResult", "MarkovModel", "PathComparison", "Reallocation", "attribute", "attribution_report",
    "attribution_vs_spend", "channel_from_utm", "incremental_by_channel",
    "channel_quality", "collapse_repeats", "compare_paths", "conversion_orders", "first_touch", "heuristic_credit",
    "journeys", "last_touch", "linear", "markov_model", "path_conversion", "path_table", "plot_attribution",
    "plot_attribution_vs_spend", "plot_removal_effects", "position_based", "reallocation", "removal_effect",
    "shapley", "time_decay",
]
