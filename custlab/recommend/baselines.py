"""Baselines every model must beat: popularity (overall or within a customer segment) and random.

:class:`Popularity` ranks items by the share of customers who bought them
(ties: product id order). With ``segments`` it ranks within each customer's
segment (value tier, region, age band ...), overall popularity breaking ties
and serving customers without a segment: that is also the cold start for
new customers. :class:`RandomItems` draws a list uniformly from the items the
customer has not bought, from its own ``seed``. :class:`BuyAgain` lists the
customer's own regular products: the baseline of shops where people rebuy
(groceries), meaningful only with ``exclude_bought=False``.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from custlab._types import Frame
from custlab.data.schema import check_frame, require_columns
from custlab.recommend.base import Recommender, TopK
from custlab.recommend.matrix import Interactions

__all__ = ["BuyAgain", "Popularity", "RandomItems"]


class Popularity(Recommender):
    """The most bought items, overall or within each customer's segment.

    Parameters
    ----------
    segments : polars DataFrame or LazyFrame, optional
        One row per customer with ``customer_id`` and the ``by`` column (e.g. the
        output of :func:`custlab.segments.rfm_segments`, or the customers table
        with ``by="region"``). Items are then ranked by the share of the
        segment's customers who bought them.
    by : str, default "segment"
        The segment column of ``segments``.

    Examples
    --------
    >>> import datetime as dt
    >>> from custlab.recommend import interaction_matrix
    >>> tx = pl.DataFrame({"customer_id": [1, 2, 2, 3], "order_date": [dt.datetime(2024, 1, 1)] * 4,
    ...                    "product_id": ["tea", "tea", "cup", "jam"]})
    >>> data = interaction_matrix(tx)
    >>> top = Popularity().fit(data).top_k(data.rows_of([1, 3]), 2)
    >>> [data.items.gather(row).to_list() for row in top.items]
    [['cup', 'jam'], ['tea', 'cup']]
    """

    name = "popularity"

    def __init__(self, *, segments: Frame | None = None, by: str = "segment") -> None:
        self.segments = segments
        self.by = by

    def _fit(self, data: Interactions) -> None:
        self.groups_: dict[str, np.ndarray] = {}
        self.group_of_ = np.full(data.shape[0], -1, dtype=np.int64)
        self.labels_: list[str] = []
        if self.segments is None:
            return
        check_frame(self.segments, argument="segments")
        require_columns(self.segments, ["customer_id", self.by], table="segments", purpose="for segment popularity")
        table = self.segments.lazy().select("customer_id", pl.col(self.by).cast(pl.String)).collect()
        table = table.drop_nulls().unique("customer_id", keep="first", maintain_order=True)
        rows = data.rows_of(table["customer_id"])
        labels = table[self.by].to_list()
        self.labels_ = sorted(set(labels))
        index = {label: i for i, label in enumerate(self.labels_)}
        codes = np.array([index[v] for v in labels], dtype=np.int64)
        self.group_of_[rows[rows >= 0]] = codes[rows >= 0]
        bought = data.bought.tocsr()
        for g, label in enumerate(self.labels_):
            members = np.flatnonzero(self.group_of_ == g)
            counts = np.asarray(bought[members].sum(axis=0)).ravel() if members.size else np.zeros(data.shape[1])
            self.groups_[label] = counts / max(members.size, 1)

    def ranking_value(self, label: str | None = None) -> np.ndarray:
        """The value items are ranked by for a segment (None: overall), overall popularity breaking ties."""
        self._check_fitted()
        base = self.popularity_
        if label is None or label not in self.groups_:
            return base
        return self.groups_[label] + base * 1e-9

    def scores(self, rows: np.ndarray) -> np.ndarray:
        groups = self.group_of_[rows]
        return np.vstack([self.ranking_value(self.labels_[g] if g >= 0 else None) for g in groups]) \
            if len(rows) else np.zeros((0, self._check_fitted().shape[1]))

    def top_k(self, rows: np.ndarray, k: int, *, exclude_bought: bool = True, novelty: float = 0.0,
              fill: bool = True, labels: list[str | None] | None = None) -> TopK:
        """As :meth:`Recommender.top_k`; ``labels`` gives the segment of each row (for customers without history)."""
        rows, k, novelty, items, values = self._start(rows, k, novelty)
        mark = np.zeros(items.shape, dtype=bool)
        if labels is None:
            groups = np.where(rows >= 0, self.group_of_[np.maximum(rows, 0)], -1)
            labels = [self.labels_[g] if g >= 0 else None for g in groups]
        penalty = self._novelty_penalty(novelty)
        keys = np.array([label if label in self.groups_ else "" for label in labels], dtype=object)
        for key in sorted(set(keys.tolist())):
            at = np.flatnonzero(keys == key)
            value = self.ranking_value(key or None)
            value = value if penalty is None else value * penalty
            self._take_ranked(value, rows, at, items, values, mark, exclude_bought, score=True)
        return TopK(items, values, np.zeros(items.shape, dtype=bool))


class RandomItems(Recommender):
    """Items drawn uniformly at random (from ``seed``) among those the customer has not bought.

    Examples
    --------
    >>> import datetime as dt
    >>> from custlab.recommend import interaction_matrix
    >>> tx = pl.DataFrame({"customer_id": [1, 2], "order_date": [dt.datetime(2024, 1, 1)] * 2,
    ...                    "product_id": ["tea", "cup"]})
    >>> data = interaction_matrix(tx)
    >>> RandomItems(seed=1).fit(data).top_k(data.rows_of([1]), 1).items.tolist()
    [[0]]
    """

    name = "random"

    def __init__(self, *, seed: int = 0) -> None:
        self.seed = seed

    def _fit(self, data: Interactions) -> None:
        self.rng_ = np.random.default_rng(self.seed)

    def scores(self, rows: np.ndarray) -> np.ndarray:
        data = self._check_fitted()
        return self.rng_.random((len(rows), data.shape[1]))


class BuyAgain(Recommender):
    """The customer's own products, most purchase days first (score: purchase days + 0.001 x buyer share), then the
    most popular products they have not bought.

    A "buy it again" list for shops where customers rebuy the same products (a grocery). With
    ``exclude_bought=True`` (the default of :func:`custlab.recommend.recommend` and of
    :func:`custlab.recommend.evaluate`) every own product is left out and it is plain popularity: use it with
    ``exclude_bought=False`` / ``new_items_only=False``.

    Examples
    --------
    >>> import datetime as dt
    >>> from custlab.recommend import interaction_matrix
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 1, 2], "order_date": [dt.datetime(2024, 1, d) for d in (1, 2, 2, 1)],
    ...                    "product_id": ["tea", "tea", "jam", "cup"]})
    >>> data = interaction_matrix(tx)
    >>> top = BuyAgain().fit(data).top_k(data.rows_of([1]), 3, exclude_bought=False)
    >>> data.items.gather(top.items[0]).to_list(), top.filled[0].tolist()
    (['tea', 'jam', 'cup'], [False, False, True])
    """

    name = "buy_again"

    def _fit(self, data: Interactions) -> None:
        return None

    def scores(self, rows: np.ndarray):
        block = self._check_fitted().strength[rows].tocsr(copy=True)
        block.data = block.data + (1e-3 * self.popularity_[block.indices]).astype(block.data.dtype)
        return block
