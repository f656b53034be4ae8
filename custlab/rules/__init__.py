"""Association rules: frequent itemsets, rules, sequential and seasonal rules, cross-sell, plots.

Market-basket analysis on canonical transactions (see :mod:`custlab.data.schema`):

* :func:`baskets` turns order lines into a long basket table (one row per
  basket and item), the input of everything else here;
* :func:`frequent_itemsets` finds every itemset in at least ``min_support`` of
  the baskets, with its support and basket count;
* :func:`association_rules` derives rules ``X => Y`` with support, confidence,
  lift, leverage, conviction, Zhang's metric, Jaccard, certainty and
  Kulczynski; single-item consequents by default (the R ``arules``
  convention), any consequent on request;
* :func:`sequential_rules` finds "bought A, then B within W days" across a
  customer's orders, with the median lag;
* :func:`seasonal_rules` measures rules within each month (or week, quarter)
  or within user-given windows (the weeks before a festival) against the rest
  of the data;
* :func:`cross_sell` suggests, for each customer, the items that the rules
  point to and that the customer has not bought yet, with the rule;
* :func:`manager_rules` keeps the rules worth showing a manager: product
  variants grouped (:func:`product_families`), rules across products and
  categories first, the full table kept for exports;
* :func:`plot_rules`, :func:`plot_rule_network`, :func:`plot_rule_matrix`
  draw the rules.

Modules: :mod:`~custlab.rules.baskets` (basket table, encoding),
:mod:`~custlab.rules.engine` (the itemset miner on integer codes),
:mod:`~custlab.rules.association`, :mod:`~custlab.rules.sequential`,
:mod:`~custlab.rules.seasonal`, :mod:`~custlab.rules.cross_sell`,
:mod:`~custlab.rules.manager`, :mod:`~custlab.rules.plots`.
"""

from __future__ import annotations

from custlab.rules.association import METRICS, Consequents, association_rules, frequent_itemsets
from custlab.rules.baskets import baskets
from custlab.rules.cross_sell import cross_sell
from custlab.rules.manager import VARIANT_WORDS, ManagerRules, manager_rules, product_families
from custlab.rules.plots import plot_rule_matrix, plot_rule_network, plot_rules
from custlab.rules.seasonal import seasonal_rules
from custlab.rules.sequential import sequential_rules

__all__ = [
    "METRICS", "VARIANT_WORDS", "Consequents", "ManagerRules", "association_rules", "baskets", "cross_sell",
    "frequent_itemsets", "manager_rules", "plot_rule_matrix", "plot_rule_network", "plot_rules", "product_families",
    "seasonal_rules", "sequential_rules",
]
