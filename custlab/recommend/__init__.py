"""Personalised recommendations, their offline evaluation, and a next best action per customer.

* :func:`recommend` -- the k products for each customer with a score and the
  reason, from any model of :data:`MODELS` (:mod:`~custlab.recommend.api`);
* :func:`evaluate` -- every model beside the random and popularity baselines
  on a temporal split, with bootstrap intervals (:mod:`~custlab.recommend.evaluation`);
* :func:`next_best_action` -- one action per customer: value tier, churn
  risk, due repeat purchases, the best product and the segment's playbook,
  with the expected value (:mod:`~custlab.recommend.nba`).

The models (each a :class:`~custlab.recommend.base.Recommender`: ``fit`` on
an :class:`Interactions`, ``top_k``): :class:`Popularity`, :class:`RandomItems`
(:mod:`~custlab.recommend.baselines`), :class:`ItemKNN` (:mod:`~custlab.recommend.knn`),
:class:`EASE` (:mod:`~custlab.recommend.linear`),
:class:`ALS` (:mod:`~custlab.recommend.mf`), :class:`Complements` and
:class:`CrossSell` (:mod:`~custlab.recommend.complements`, reusing
:mod:`custlab.rules`), and :class:`DefaultRecommender`, which chooses among
them on the shop's recent history (:mod:`~custlab.recommend.choice`).
Repeat-purchase reminders come from :mod:`custlab.repurchase`
(:mod:`~custlab.recommend.replenish`). ``as_of`` is the first instant that is
not history, as everywhere in custlab (:mod:`custlab._dates`).
"""

from __future__ import annotations

from custlab.recommend.api import MODELS, RECOMMEND_COLUMNS, RecommendWarning, make_model, recommend
from custlab.recommend.base import Recommender, TopK
from custlab.recommend.baselines import BuyAgain, Popularity, RandomItems
from custlab.recommend.choice import CANDIDATES, REPEAT_CANDIDATES, DefaultRecommender
from custlab.recommend.complements import Complements, CrossSell
from custlab.recommend.evaluation import DEFAULT_MODELS, Evaluation, evaluate, plot_evaluation
from custlab.recommend.knn import ItemKNN, bm25_weight, item_similarity
from custlab.recommend.linear import EASE
from custlab.recommend.matrix import EVENT_WEIGHTS, Interactions, interaction_matrix
from custlab.recommend.metrics import HEAD_SHARE, METRICS
from custlab.recommend.mf import ALS, implicit_available
from custlab.recommend.nba import (
    NBA_COLUMNS, RESPONSE_RATES, NextBestActions, nba_recommendations, next_best_action, plot_next_best_actions,
)
from custlab.recommend.replenish import replenishable_items, replenishment_due

__all__ = [
    "ALS", "BuyAgain", "CANDIDATES", "DEFAULT_MODELS", "EVENT_WEIGHTS", "HEAD_SHARE", "METRICS", "MODELS", "RECOMMEND_COLUMNS",
    "NBA_COLUMNS", "RESPONSE_RATES", "Complements", "CrossSell", "DefaultRecommender", "EASE", "Evaluation", "Interactions", "ItemKNN", "Popularity",
    "REPEAT_CANDIDATES", "RandomItems", "RecommendWarning", "Recommender", "TopK", "bm25_weight", "evaluate", "implicit_available",
    "interaction_matrix", "item_similarity", "make_model", "nba_recommendations", "next_best_action", "NextBestActions", "plot_evaluation", "plot_next_best_actions", "recommend", "replenishable_items",
    "replenishment_due",
]
