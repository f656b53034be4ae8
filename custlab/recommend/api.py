"""``recommend()``: the k products for each customer, with the score and the reason, from any model.

Models by name (:data:`MODELS`): ``"default"`` (chosen on the shop's recent
history: :class:`~custlab.recommend.choice.DefaultRecommender`), ``"knn"``
(BM25 item-kNN), ``"knn_cosine"``, ``"knn_popular"``, ``"ease"`` (the EASE linear item model), ``"als"``,
``"popularity"``, ``"segment_popularity"`` (needs ``segments``),
``"complements"`` (bought next after the customer's items), ``"cross_sell"``
(association rules), ``"buy_again"`` (the customer's own regular products;
with ``exclude_bought=False``) and ``"random"``; or pass an unfitted
:class:`~custlab.recommend.base.Recommender`.

What every list holds, in order: up to ``reminders`` replenishable products
that are due again (:mod:`custlab.recommend.replenish`; only with
``exclude_bought``, since they were bought), then the model's items the
customer has not bought, then, while the list is shorter than ``k``, the most
popular products not bought (the reason says so). A customer without
history gets the popular products of their segment when ``segments`` (or a
``customers`` table with the ``by`` column) names it, else the
overall ones: the cold start.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
import polars as pl

from custlab._i18n import check_language, t
from custlab._types import DateLike, Frame, Language
from custlab.data.ids import match_ids
from custlab.data.schema import naive_datetimes
from custlab.exceptions import CustlabError, CustlabWarning
from custlab.recommend.base import Recommender, TopK, _check_novelty, check_k
from custlab.recommend.baselines import BuyAgain, Popularity, RandomItems
from custlab.recommend.choice import DefaultRecommender
from custlab.recommend.complements import Complements, CrossSell
from custlab.recommend.knn import ItemKNN
from custlab.recommend.linear import EASE
from custlab.recommend.matrix import Interactions, interaction_matrix
from custlab.recommend.mf import ALS

__all__ = ["MODELS", "RECOMMEND_COLUMNS", "RecommendWarning", "make_model", "recommend"]

#: Recommenders by name; ``segments`` is passed to those that take it.
MODELS: dict[str, Callable[..., Recommender]] = {
    "default": lambda **kw: DefaultRecommender(seed=kw.get("seed", 0), lists=kw.get("lists", "both")),
    "knn": lambda **kw: ItemKNN(similarity="bm25"),
    "knn_cosine": lambda **kw: ItemKNN(similarity="cosine"),
    "knn_popular": lambda **kw: ItemKNN(similarity="cosine", alpha=0.8),
    "ease": lambda **kw: EASE(),
    "als": lambda **kw: ALS(seed=kw.get("seed", 0)),
    "popularity": lambda **kw: Popularity(),
    "segment_popularity": lambda **kw: Popularity(segments=kw.get("segments"), by=kw.get("by", "segment")),
    "complements": lambda **kw: Complements(),
    "cross_sell": lambda **kw: CrossSell(),
    "random": lambda **kw: RandomItems(seed=kw.get("seed", 0)),
    "buy_again": lambda **kw: BuyAgain(),
}
#: Columns of :func:`recommend`, in order.
RECOMMEND_COLUMNS = ("customer_id", "rank", "product_id", "product_name", "score", "reason")


class RecommendWarning(CustlabWarning):
    """Something about a recommendation request deserves a look (e.g. ``k`` larger than the catalogue)."""


def make_model(model: str | Recommender, *, segments: Frame | None = None, by: str = "segment",
               seed: int = 0, lists: str = "both") -> Recommender:
    """A recommender from its name in :data:`MODELS`, or the given (unfitted) instance itself.

    ``lists="new"`` tells the default model that only new-product lists will be asked for.
    """
    if isinstance(model, Recommender):
        return model
    if model not in MODELS:
        raise CustlabError(f"model must be one of {sorted(MODELS)} or a Recommender instance, got {model!r}.")
    if model == "segment_popularity" and segments is None:
        raise CustlabError("model='segment_popularity' needs segments= (customer_id and a segment column, e.g. "
                           "the output of custlab.segments.rfm_segments).")
    return MODELS[model](segments=segments, by=by, seed=seed, lists=lists)


def _matched(transactions: Frame, customers, segments: Frame | None) -> tuple[Frame, object, Frame | None]:
    """The tables with customer ids of one kind (:func:`custlab.data.ids.match_ids`); a sequence of ids as a Series."""
    if customers is not None and not isinstance(customers, (pl.DataFrame, pl.LazyFrame, pl.Series)):
        try:
            customers = pl.Series("customer_id", list(customers))
        except (TypeError, pl.exceptions.PolarsError):
            raise CustlabError(f"customers must hold ids of one kind (all integers or all text), got "
                               f"{list(customers)[:5]!r}.") from None
    ids = match_ids({"transactions": transactions, "customers": customers, "segments": segments})
    return ids["transactions"], ids["customers"], ids["segments"]


def _who(data: Interactions, customers, by: str) -> tuple[pl.Series, list | None]:
    """Customer ids to recommend for, and their segment labels when a customers table gives them."""
    if customers is None:
        return data.customers, None
    if isinstance(customers, (pl.DataFrame, pl.LazyFrame)):
        frame = customers.lazy().collect()
        if "customer_id" not in frame.columns:
            raise CustlabError(f"customers must have a customer_id column; it has {frame.columns}.")
        ids = frame["customer_id"].unique(maintain_order=True).drop_nulls()
        if by in frame.columns:
            first = frame.unique("customer_id", keep="first", maintain_order=True).drop_nulls("customer_id")
            return ids, first[by].cast(pl.String).to_list()
        return ids, None
    ids = customers if isinstance(customers, pl.Series) else pl.Series("customer_id", list(customers))
    if ids.null_count():
        raise CustlabError(f"customers holds {ids.null_count()} null id(s); pass real customer ids.")
    return ids.unique(maintain_order=True).rename("customer_id"), None


def recommend(
    transactions: Frame,
    *,
    k: int = 10,
    model: str | Recommender = "default",
    customers: Frame | Sequence | pl.Series | None = None,
    exclude_bought: bool = True,
    events: Frame | None = None,
    as_of: DateLike | None = None,
    novelty: float = 0.0,
    replenish: bool = True,
    reminders: int = 2,
    segments: Frame | None = None,
    by: str = "segment",
    seed: int = 0,
    language: Language = "en",
) -> pl.DataFrame:
    """The ``k`` products to offer each customer, best first, with a score and the reason.

    Parameters
    ----------
    transactions : polars DataFrame or LazyFrame
        Clean canonical transactions (``customer_id``, ``order_id``, ``order_date``, ``amount``,
        ``product_id``; ``product_name`` names the products).
    k : int, default 10
        Products per customer. Lists are shorter only when fewer products are left to offer (a warning says
        so when ``k`` exceeds the catalogue).
    model : str or Recommender, default "default"
        A name of :data:`MODELS` or an unfitted recommender (module docstring).
    customers : sequence of ids, Series or DataFrame, optional
        Whom to recommend for (default: every customer with history). Ids without history get the cold
        start; a DataFrame (e.g. the customers table) may carry their ``by`` column.
    exclude_bought : bool, default True
        Leave out products the customer bought before ``as_of``, except replenishable ones due again.
    events : polars DataFrame or LazyFrame, optional
        Behaviour log; views and carts count as weaker purchases (:data:`~custlab.recommend.EVENT_WEIGHTS`).
    as_of : date, datetime or ISO text, optional
        The first instant not in the history (:mod:`custlab._dates`); default the midnight after the last order.
    novelty : float, default 0
        0 ranks by the model's score; larger values lower popular products (score / buyer share ** novelty),
        surfacing the long tail; 0.3-0.5 is a moderate setting.
    replenish : bool, default True
        Put due repeat purchases first (:func:`~custlab.recommend.replenishment_due`).
    reminders : int, default 2
        At most this many due repeat purchases per list.
    segments : polars DataFrame, optional
        ``customer_id`` and ``by``: for ``model="segment_popularity"`` and the cold start.
    by : str, default "segment"
        The segment column of ``segments`` (or of a ``customers`` DataFrame).
    seed : int, default 0
        Seed of the random baseline and of the default model's holdout sample.
    language : {"en", "zh"}
        Language of ``reason``.

    Returns
    -------
    polars.DataFrame
        ``customer_id``, ``rank`` (Int64, 1 = best), ``product_id`` (String), ``product_name`` (String),
        ``score`` (Float64: the model's score, comparable within one model; for a due repeat purchase the share
        of the product's buyers who rebuy it, for a popular fill or a cold start the share of customers who
        bought the product), ``reason`` (String), sorted by customer and rank.

    Examples
    --------
    >>> import datetime as dt
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 2, 2, 3], "order_id": [1, 1, 2, 2, 3], "amount": [1.0] * 5,
    ...     "order_date": [dt.datetime(2024, 1, 1)] * 5, "product_id": ["tea", "cup", "tea", "cup", "tea"]})
    >>> out = recommend(tx, k=1, model="knn_cosine", customers=[3, 9])
    >>> out.select("customer_id", "product_id", "reason").rows()  # doctest: +NORMALIZE_WHITESPACE
    [(3, 'cup', 'Customers who bought tea also bought this.'),
     (9, 'tea', 'New customer: one of the most bought products (100% of customers bought it).')]
    """
    check_language(language)
    k = check_k(k)
    _check_novelty(novelty)
    transactions, events = naive_datetimes(transactions), naive_datetimes(events, "events")
    transactions, customers, segments = _matched(transactions, customers, segments)
    recommender = make_model(model, segments=segments, by=by, seed=seed, lists="new" if exclude_bought else "both")
    data = interaction_matrix(transactions, events=events, as_of=as_of)
    if k > data.shape[1]:
        warnings.warn(f"k={k} is more than the {data.shape[1]:,} products in the history: lists hold at most "
                      f"the products a customer has not bought.", RecommendWarning, stacklevel=2)
    if isinstance(reminders, bool) or not isinstance(reminders, int) or reminders < 0:
        raise CustlabError(f"reminders must be a whole number of 0 or more, got {reminders!r}.")
    ids, labels = _who(data, customers, by)
    rows = data.rows_of(ids)
    recommender.fit(data)
    top = recommender.top_k(rows, k, exclude_bought=exclude_bought, novelty=novelty)
    new = np.flatnonzero(rows < 0)
    if new.size and (segments is not None or labels is not None):
        top = _cold_start(data, top, rows, new, ids, labels, segments, by, novelty)
    frame = _frame(data, recommender, ids, rows, top, language, exclude_bought)
    if replenish and exclude_bought and reminders:
        frame = _with_reminders(frame, transactions, data, ids, k, reminders, language)
    return frame.select(RECOMMEND_COLUMNS).sort("customer_id", "rank")


def _cold_start(data, top: TopK, rows, new, ids, labels, segments, by, novelty) -> TopK:
    """Lists of customers without history from their segment's popular products."""
    label_of: dict = {}
    if segments is not None:
        table = segments.lazy().select("customer_id", pl.col(by).cast(pl.String)).collect()
        label_of = dict(table.iter_rows())
    names = [labels[i] if labels is not None else label_of.get(ids[int(i)]) for i in new]
    table = segments if segments is not None else pl.DataFrame(
        {"customer_id": ids, by: pl.Series(labels, dtype=pl.String)})
    pop = Popularity(segments=table, by=by).fit(data)
    cold = pop.top_k(rows[new], top.items.shape[1], novelty=novelty, labels=names)
    items, scores, filled = top.items.copy(), top.scores.copy(), top.filled.copy()
    items[new], scores[new] = cold.items, cold.scores
    filled[new] = False
    return TopK(items, scores, filled)


def _frame(data: Interactions, model: Recommender, ids: pl.Series, rows: np.ndarray, top: TopK,
           language: str, exclude_bought: bool = True) -> pl.DataFrame:
    n, k = top.items.shape
    who = np.repeat(np.arange(n), k)
    items = top.items.ravel()
    keep = items >= 0
    who, items = who[keep], items[keep]
    rank = (np.tile(np.arange(1, k + 1), n))[keep]
    filled = top.filled.ravel()[keep]
    scores = top.scores.ravel()[keep].astype(np.float64)
    share = data.buyers[items] / max(data.shape[0], 1)
    cold = rows[who] < 0
    scores = np.where(filled | cold | ~np.isfinite(scores), share, scores)
    reasons = _reasons(data, model, rows[who], items, filled, cold, scores, share, language, exclude_bought)
    return pl.DataFrame({
        "customer_id": ids.gather(pl.Series(who)), "rank": pl.Series(rank, dtype=pl.Int64),
        "product_id": data.items.gather(pl.Series(items)), "product_name": data.names.gather(pl.Series(items)),
        "score": pl.Series(scores, dtype=pl.Float64), "reason": pl.Series(reasons, dtype=pl.String),
    })


def _pct(share: float) -> str:
    return f"{share:.0%}" if share >= 0.01 else "<1%"


def _reasons(data, model: Recommender, rows, items, filled, cold, scores, share, language,
             exclude_bought: bool = True) -> list[str]:
    inner = model.used(exclude_bought) if hasattr(model, "used") else model
    source = np.full(items.size, -1, dtype=np.int64)
    if hasattr(inner, "because"):
        live = ~filled & ~cold
        source[live] = inner.because(rows[live], items[live])
    names = data.names.to_list()  # indexed once per pair below: a list, not a Series
    kind = inner.name
    segment_of = getattr(inner, "group_of_", None)
    said: dict[tuple, str] = {}  # the same sentence for the same words (Ta-Feng: 161,000 pairs, far fewer texts)

    def say(key: str, **values: str) -> str:
        text = said.get((key, *values.items()))
        if text is None:
            text = said[(key, *values.items())] = t(key, language, **values)
        return text

    out = []
    for p in range(items.size):
        if cold[p]:
            out.append(say("recommend.reason.new_customer", share=_pct(share[p])))
        elif filled[p]:
            out.append(say("recommend.reason.popular_fill", share=_pct(share[p])))
        elif source[p] >= 0 and kind == "complements":
            rule = inner.rule(source[p], items[p]) or {}
            out.append(say("recommend.reason.complement", item=names[int(source[p])],
                           share=_pct(rule.get("confidence", 0.0)), days=f"{rule.get('median_lag_days', 0):.0f}"))
        elif source[p] >= 0:
            out.append(say("recommend.reason.knn", item=names[int(source[p])]))
        elif kind == "popularity" and segment_of is not None and segment_of[rows[p]] >= 0:
            label = inner.labels_[segment_of[rows[p]]]
            out.append(say("recommend.reason.segment", segment=label, share=_pct(scores[p])))
        elif kind == "buy_again":
            out.append(say("recommend.reason.buy_again", days=f"{max(1, round(float(scores[p]))):,}"))
        elif kind in ("popularity", "random", "als", "cross_sell"):
            out.append(say(f"recommend.reason.{kind}", share=_pct(share[p]), lift=f"{scores[p]:.1f}"))
        else:
            out.append(say("recommend.reason.model"))
    return out


def _with_reminders(frame: pl.DataFrame, transactions: Frame, data: Interactions, ids: pl.Series, k: int,
                    reminders: int, language: str) -> pl.DataFrame:
    """Put up to ``reminders`` due repeat purchases first in each list, keeping ``k`` items."""
    from custlab.recommend.replenish import replenishment_due

    due = replenishment_due(transactions, as_of=data.as_of, language=language)
    due = due.filter(pl.col("customer_id").is_in(ids.implode()))
    if due.height == 0:
        return frame
    due = (due.with_columns(rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("customer_id"))
           .filter(pl.col("rank") <= reminders))
    names = pl.DataFrame({"product_id": data.items, "product_name": data.names})
    first = due.select(pl.col("customer_id").cast(frame.schema["customer_id"]), "rank",
                       pl.col("product_id").cast(pl.String), score="repeat_share", reason="reason")
    first = first.join(names, on="product_id", how="left").with_columns(
        pl.col("product_name").fill_null(pl.col("product_id")))
    shift = first.group_by("customer_id").agg(_n=pl.len().cast(pl.Int64))
    rest = (frame.join(shift, on="customer_id", how="left")
            .with_columns(rank=pl.col("rank") + pl.col("_n").fill_null(0)).filter(pl.col("rank") <= k).drop("_n"))
    return pl.concat([first.select(frame.columns), rest])
