"""The default recommender: chosen on the shop's own recent history, not assumed.

Which recommender works best depends on the shop: on a gift wholesaler's
data (Online Retail) EASE lists 120% more of what customers buy next than
popularity (BM25 item-kNN 100% more), on a grocery (Ta-Feng) the plain
popularity list is hard to beat. :class:`DefaultRecommender` therefore holds out the last
weeks of the history it is given (``holdout``; by default a quarter of the
history, at most 90 days), fits each candidate on what came before, measures
NDCG@k on the items customers bought new in the held-out weeks (up to
``sample`` of them, drawn with ``seed``), keeps the best and refits it
on the whole history. Nothing after the history it is fitted on is used, so
:func:`custlab.recommend.evaluate` can judge it on a later test window.
:meth:`DefaultRecommender.why` says what was compared and chosen.

Lists that may hold products the customer bought before (``exclude_bought=False``:
the question of a grocery, where people rebuy) are chosen the same way among
:data:`REPEAT_CANDIDATES` (the candidates plus :class:`~custlab.recommend.baselines.BuyAgain`),
judged on everything bought in the held-out weeks.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import polars as pl

from custlab._dates import parse_within
from custlab._i18n import t
from custlab._types import Language
from custlab.exceptions import CustlabError
from custlab.recommend.base import Recommender, TopK, check_k
from custlab.recommend.baselines import BuyAgain, Popularity
from custlab.recommend.knn import ItemKNN
from custlab.recommend.linear import EASE
from custlab.recommend.matrix import Interactions
from custlab.recommend.metrics import hits_of, per_customer, truth_matrix

__all__ = ["CANDIDATES", "REPEAT_CANDIDATES", "DefaultRecommender"]

#: The candidates of the default recommender: (label, factory), the first one used when the history is too short.
CANDIDATES: tuple[tuple[str, Callable[[], Recommender]], ...] = (
    ("knn_bm25", lambda: ItemKNN(similarity="bm25")),
    ("ease", lambda: EASE()),
    ("knn_popular", lambda: ItemKNN(similarity="cosine", alpha=0.8)),
    ("popularity", lambda: Popularity()),
)
#: The candidates for lists that may repeat earlier purchases (``exclude_bought=False``): the customer's own
#: products first, so that they are the fallback of a short history and win a tie (where EASE lists the same).
REPEAT_CANDIDATES: tuple[tuple[str, Callable[[], Recommender]], ...] = (
    (("buy_again", lambda: BuyAgain()),) + CANDIDATES)
#: Fewest held-out customers for a comparison; below it the first candidate is used.
MIN_CUSTOMERS = 30
#: Longest automatic holdout, in days.
MAX_HOLDOUT_DAYS = 90
#: One repeat choice at a time (threads sharing a fitted model).
_REPEAT_LOCK = threading.Lock()


class DefaultRecommender(Recommender):
    """Choose among ``candidates`` by NDCG@k on the last weeks of the history (module docstring).

    Parameters
    ----------
    candidates : sequence of (label, factory), optional
        Default :data:`CANDIDATES` (BM25 item-kNN, EASE, popularity-leaning kNN, popularity).
    holdout : "auto", str, int or timedelta, default "auto"
        Length of the held-out end of the history ("28d", 28, a timedelta);
        "auto" is a quarter of the history, at most 90 days.
    k : int, default 10
        List length the candidates are judged at.
    sample : int, default 3000
        Held-out customers measured (a random sample beyond it).
    seed : int, default 0
    lists : {"both", "new"}, default "both"
        Which lists the fit prepares: "both" chooses for new-product lists and for lists that may repeat
        purchases; "new" only for new-product lists (a third of the fitting time saved: what
        :func:`~custlab.recommend.recommend` asks for with ``exclude_bought=True``). A repeat list asked of a
        "new" model is still right: the choice is then made, its holdout fits done again.

    Attributes
    ----------
    model_ : Recommender
        The chosen candidate, refitted on the whole history.
    chosen_ : str
        Its label.
    comparison_ : polars.DataFrame
        ``candidate``, ``precision``, ``ndcg`` (Float64, on the holdout), ``chosen`` (Boolean); empty when the
        history was too short to compare.
    repeat_model_, repeat_chosen_, repeat_comparison_
        The same for lists that may repeat earlier purchases (``top_k(..., exclude_bought=False)``).
    """

    name = "default"

    def __init__(self, *, candidates: Sequence[tuple[str, Callable[[], Recommender]]] | None = None,
                 repeat_candidates: Sequence[tuple[str, Callable[[], Recommender]]] | None = None,
                 holdout: str | int | dt.timedelta = "auto", k: int = 10, sample: int = 3000,
                 seed: int = 0, lists: Literal["both", "new"] = "both") -> None:
        self.candidates = candidates
        self.repeat_candidates = repeat_candidates
        self.holdout = holdout
        self.k = k
        self.sample = sample
        self.seed = seed
        self.lists = lists

    def _window(self, first: int, last: int) -> int:
        if self.holdout == "auto":
            return int(min(MAX_HOLDOUT_DAYS, max(1, (last - first + 1) // 4)))
        window = parse_within(self.holdout, "holdout")
        if window is None or window.days < 1:
            raise CustlabError(f"holdout must be 'auto' or at least one day such as '28d', got {self.holdout!r}.")
        return window.days

    def _fit(self, data: Interactions) -> None:
        k = check_k(self.k, "k")
        check_k(self.sample, "sample")
        candidates = list(CANDIDATES if self.candidates is None else self.candidates)
        repeats = list(REPEAT_CANDIDATES if self.repeat_candidates is None else self.repeat_candidates)
        if not candidates or not repeats:
            raise CustlabError("candidates and repeat_candidates must each name at least one (label, factory) pair.")
        if self.lists not in ("both", "new"):
            raise CustlabError(f"lists must be 'both' or 'new', got {self.lists!r}.")
        days = data.history.filter(pl.col("purchase"))["day"]
        first, last = int(days.min()), int(days.max())
        window = self._window(first, last)
        cut = last + 1 - window
        self.holdout_days_ = window
        self.holdout_start_ = dt.date(1970, 1, 1) + dt.timedelta(days=cut)
        fitted: dict[str, Recommender] = {}
        trained: dict[Callable[[], Recommender], Recommender] = {}  # holdout fit per factory, for both choices
        self.chosen_, self.comparison_, self.holdout_customers_ = self._choose(data, cut, candidates, k, True, fitted,
                                                                               trained)
        self.model_ = fitted[self.chosen_]
        self._repeat_choice = None
        self._pending_repeat = (data, cut, repeats, k)
        if self.lists == "both":  # from the same holdout fits
            self._repeat(fitted, trained)

    def _repeat(self, fitted: dict | None = None, trained: dict | None = None) -> tuple[str, pl.DataFrame, Recommender]:
        """The choice among the repeat candidates (label, comparison, model refitted on the whole history)."""
        if getattr(self, "data_", None) is None:
            raise AttributeError(f"This {type(self).__name__} is not fitted yet: call .fit(interactions) first.")
        with _REPEAT_LOCK:
            if self._repeat_choice is None:
                data, cut, repeats, k = self._pending_repeat
                fitted = {self.chosen_: self.model_} if fitted is None else fitted
                chosen, comparison, _ = self._choose(data, cut, repeats, k, False, fitted,
                                                     {} if trained is None else trained)
                self._repeat_choice = (chosen, comparison, fitted[chosen])
                self._pending_repeat = None
        return self._repeat_choice

    def __getstate__(self) -> dict:
        if getattr(self, "_pending_repeat", None) is not None:  # its candidates may not pickle: choose first
            self._repeat()
        return self.__dict__.copy()

    @property
    def repeat_chosen_(self) -> str:
        return self._repeat()[0]

    @property
    def repeat_comparison_(self) -> pl.DataFrame:
        return self._repeat()[1]

    @property
    def repeat_model_(self) -> Recommender:
        return self._repeat()[2]

    def _choose(self, data: Interactions, cut: int, candidates: list, k: int, new_only: bool,
                fitted: dict[str, Recommender], trained: dict) -> tuple[str, pl.DataFrame, int]:
        """Label of the best candidate on the holdout, the comparison, the customers measured; fits the winner."""
        found = self._holdout_rows(data, cut, new_only)
        results = []
        if found is not None:
            train, users, truth, relevant = found
            for label, factory in candidates:
                if factory not in trained:  # both choices train on the same weeks: one fit per factory
                    trained[factory] = factory().fit(train)
                model = trained[factory]
                hits = hits_of(model.top_k(users, k, exclude_bought=new_only).items, truth, users)
                metrics = per_customer(hits, relevant)
                results.append((label, float(metrics["precision"].mean()), float(metrics["ndcg"].mean())))
            best = max(range(len(results)), key=lambda i: (results[i][2], -i))
        else:
            best = 0
        chosen = candidates[best][0]
        if chosen not in fitted:
            fitted[chosen] = candidates[best][1]().fit(data)
        comparison = pl.DataFrame(
            {"candidate": [r[0] for r in results], "precision": [r[1] for r in results],
             "ndcg": [r[2] for r in results], "chosen": [r[0] == chosen for r in results]},
            schema={"candidate": pl.String, "precision": pl.Float64, "ndcg": pl.Float64, "chosen": pl.Boolean})
        return chosen, comparison, 0 if found is None else int(found[1].size)

    def _holdout_rows(self, data: Interactions, cut: int, new_only: bool):
        """(train, customer rows, truth, relevant) of the holdout, or None when too few customers can be measured."""
        train = data.before(cut)
        later = data.history.filter(pl.col("purchase"), pl.col("day") >= cut)
        if later.height == 0 or train.bought.nnz == 0:
            return None
        users, truth, relevant = truth_matrix(train.bought, later["row"].to_numpy(), later["col"].to_numpy(),
                                              new_items_only=new_only)
        known = np.diff(train.bought.indptr)[users] > 0
        users, relevant = users[known], relevant[known]
        if users.size < MIN_CUSTOMERS:
            return None
        if users.size > self.sample:
            pick = np.sort(np.random.default_rng(self.seed).choice(users.size, self.sample, replace=False))
            users, relevant = users[pick], relevant[pick]
        return train, users, truth, relevant

    def used(self, exclude_bought: bool = True) -> Recommender:
        """The fitted model that makes the lists: ``model_``, or ``repeat_model_`` when bought items may return."""
        self._check_fitted()
        return self.model_ if exclude_bought else self.repeat_model_

    def scores(self, rows: np.ndarray):
        self._check_fitted()
        return self.model_.scores(rows)

    def top_k(self, rows: np.ndarray, k: int, *, exclude_bought: bool = True, novelty: float = 0.0,
              fill: bool = True) -> TopK:
        return self.used(exclude_bought).top_k(rows, k, exclude_bought=exclude_bought, novelty=novelty, fill=fill)

    def why(self, language: Language = "en") -> str:
        """What was compared on which weeks, and what was chosen, in plain words (the repeat lists' choice once it
        is made: always with ``lists="both"``)."""
        self._check_fitted()
        text = self._why_new(language)
        if self._repeat_choice is None:
            return text
        repeat = self.repeat_comparison_.filter(pl.col("chosen"))
        if repeat.height:
            text += ("" if language == "zh" else " ") + t(
                "recommend.choice_repeat", language, model=t(f"recommend.model.{self.repeat_chosen_}", language),
                k=self.k, ndcg=f"{repeat['ndcg'][0]:.3f}")
        return text

    def _why_new(self, language: Language) -> str:
        if self.comparison_.height == 0:
            return t("recommend.choice_short", language, model=t(f"recommend.model.{self.chosen_}", language),
                     days=self.holdout_days_)
        rows = self.comparison_.sort("ndcg", descending=True)
        others = (t("recommend.list_sep", language)).join(
            t("recommend.choice_item", language, model=t(f"recommend.model.{c}", language), ndcg=f"{n:.3f}")
            for c, n in rows.filter(~pl.col("chosen")).select("candidate", "ndcg").iter_rows())
        best = rows.filter(pl.col("chosen")).row(0, named=True)
        return t("recommend.choice", language, model=t(f"recommend.model.{best['candidate']}", language),
                 ndcg=f"{best['ndcg']:.3f}", k=self.k, days=self.holdout_days_,
                 start=self.holdout_start_.isoformat(), customers=f"{self.holdout_customers_:,}", others=others)
