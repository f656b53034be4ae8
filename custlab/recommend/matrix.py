"""Sparse customer x item matrices from transactions and weighted behaviour events.

Every recommender in :mod:`custlab.recommend` reads one :class:`Interactions`:
rows are customers, columns are products, both in sorted id order, and two
``scipy.sparse`` CSR matrices hold what each customer did with each product:

* ``bought`` (float32, 0/1): the customer bought the product before ``as_of``;
* ``strength`` (float32): the number of distinct days on which the customer
  bought the product, plus the weighted behaviour events on it (by default a
  view counts 0.1 of a purchase day and an add-to-cart 0.3, each at most once
  per product and day: :data:`EVENT_WEIGHTS`).

``as_of`` is custlab's one date convention: the first instant that is not
history (``order_date < as_of``; see :mod:`custlab._dates`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl
import scipy.sparse as sp

from custlab._dates import as_datetime, as_of_after
from custlab._types import DateLike, Frame
from custlab.data.schema import check_frame, naive_datetimes, require_columns
from custlab.exceptions import CustlabError, EmptyDataError

__all__ = ["EVENT_WEIGHTS", "Interactions", "interaction_matrix"]

#: Weight of one behaviour event (per customer, product and day) against one purchase day. Events not
#: named here weigh nothing: purchases come from the transactions, so "purchase"/"pay" events would count twice.
EVENT_WEIGHTS: dict[str, float] = {
    "view": 0.1, "click": 0.1, "detail": 0.1, "cart": 0.3, "add_to_cart": 0.3, "favorite": 0.3, "wishlist": 0.3,
}


@dataclass(frozen=True, eq=False)
class Interactions:
    """A customer x item history: ids, names and the sparse matrices (see the module docstring).

    Attributes
    ----------
    customers
        Customer ids in row order (sorted).
    items
        Product ids in column order (sorted).
    names
        ``product_name`` of each column (the most frequent name of the id), or the id as text.
    bought, strength
        ``(customers, items)`` CSR float32 matrices.
    buyers
        Customers who bought each item (int64).
    as_of
        The first instant not in this history.
    last_purchase
        Day number (days since 1970-01-01) of each customer's last purchase, -1 for none (int64).
    notes
        What was left out, in plain English (e.g. events on products nobody bought).
    history
        One row per purchase day and per weighted event day: ``row``, ``col``, ``day`` (Int32, days since
        1970-01-01), ``w`` (Float32), ``purchase`` (Boolean); what the matrices sum.
    """

    customers: pl.Series
    items: pl.Series
    names: pl.Series
    bought: sp.csr_matrix = field(repr=False)
    strength: sp.csr_matrix = field(repr=False)
    buyers: np.ndarray = field(repr=False)
    as_of: dt.datetime
    last_purchase: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0, dtype=np.int64))
    notes: tuple[str, ...] = ()
    history: pl.DataFrame = field(repr=False, default_factory=pl.DataFrame)

    @property
    def shape(self) -> tuple[int, int]:
        return self.bought.shape

    def rows_of(self, ids: pl.Series | Sequence) -> np.ndarray:
        """Row number of each customer id, -1 for customers without history here."""
        return _positions(self.customers, ids)

    def columns_of(self, ids: pl.Series | Sequence) -> np.ndarray:
        """Column number of each product id, -1 for products not in the catalogue."""
        return _positions(self.items, ids)

    def to_frame(self) -> pl.DataFrame:
        """One row per customer and item with any history: ``customer_id``, ``product_id``, ``product_name``
        (String), ``bought`` (Boolean), ``strength`` (Float64: purchase days plus weighted events), in row and
        column order."""
        cells = self.strength.tocoo()
        order = np.lexsort((cells.col, cells.row))
        rows, cols = cells.row[order], cells.col[order]
        bought = np.asarray(self.bought[rows, cols]).ravel() > 0 if rows.size else np.zeros(0, dtype=bool)
        return pl.DataFrame({
            "customer_id": self.customers.gather(pl.Series(rows, dtype=pl.Int64)),
            "product_id": self.items.gather(pl.Series(cols, dtype=pl.Int64)),
            "product_name": self.names.gather(pl.Series(cols, dtype=pl.Int64)),
            "bought": pl.Series(bought, dtype=pl.Boolean),
            "strength": pl.Series(cells.data[order], dtype=pl.Float64),
        })

    def before(self, day: int) -> Interactions:
        """The same customers and items with only the history before day number ``day`` (days since 1970-01-01)."""
        cut = dt.datetime(1970, 1, 1) + dt.timedelta(days=int(day))
        return _build(self.history.filter(pl.col("day") < day), self.customers, self.items, self.names,
                      min(cut, self.as_of), self.notes)

    def __repr__(self) -> str:
        n, m = self.shape
        return (f"Interactions({n:,} customers x {m:,} items, {self.bought.nnz:,} customer-item purchases, "
                f"as_of={self.as_of:%Y-%m-%d %H:%M})")


def _positions(sorted_ids: pl.Series, ids) -> np.ndarray:
    values = ids if isinstance(ids, pl.Series) else pl.Series(list(ids))
    if values.dtype != sorted_ids.dtype:
        try:
            values = values.cast(sorted_ids.dtype, strict=True)
        except pl.exceptions.InvalidOperationError:
            return np.full(values.len(), -1, dtype=np.int64)
    lookup = pl.DataFrame({"id": sorted_ids, "_pos": np.arange(sorted_ids.len(), dtype=np.int64)})
    found = pl.DataFrame({"id": values}).join(lookup, on="id", how="left", maintain_order="left", nulls_equal=False)
    return found["_pos"].fill_null(-1).to_numpy().astype(np.int64)


def _refuse_nulls(data: pl.DataFrame, column: str, table: str, fix: str) -> None:
    n_null = data[column].null_count()
    if n_null:
        raise CustlabError(f"Column '{column}' of the {table} has {n_null:,} null value(s). {fix}")


def interaction_matrix(
    transactions: Frame,
    *,
    events: Frame | None = None,
    as_of: DateLike | None = None,
    event_weights: Mapping[str, float] | None = None,
    item: str = "product_id",
) -> Interactions:
    """The customer x item matrices of a purchase history (and its behaviour events).

    Parameters
    ----------
    transactions : polars DataFrame or LazyFrame
        Clean canonical order lines with ``customer_id``, ``order_date`` and the
        ``item`` column (``product_name`` and ``category`` are used when present).
        Lines without a customer or product are refused: clean them first
        (:func:`custlab.data.clean_transactions`).
    events : polars DataFrame or LazyFrame, optional
        Canonical behaviour log (``customer_id``, ``event_time``, ``event``,
        ``product_id``). Events on products that nobody bought, and events of
        kinds without a weight, are left out (counted in ``notes``, as are events
        without a customer, product or time and events whose customer id cannot be read as the transactions').
    as_of : date, datetime or ISO text, optional
        The first instant not in the history (:mod:`custlab._dates`); default
        the midnight after the last order.
    event_weights : mapping, optional
        Weight of one event per customer, product and day, by event name
        (default :data:`EVENT_WEIGHTS`).
    item : str, default "product_id"
        The item column of ``transactions``.

    Returns
    -------
    Interactions

    Examples
    --------
    >>> import datetime as dt
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 2], "order_date": [dt.datetime(2024, 1, d) for d in (1, 2, 2)],
    ...                    "product_id": ["tea", "tea", "cup"]})
    >>> m = interaction_matrix(tx)
    >>> m
    Interactions(2 customers x 2 items, 2 customer-item purchases, as_of=2024-01-03 00:00)
    >>> m.items.to_list(), m.strength.toarray().tolist()
    (['cup', 'tea'], [[0.0, 2.0], [1.0, 0.0]])
    """
    check_frame(transactions, argument="transactions")
    require_columns(transactions, ["customer_id", "order_date", item], table="transactions",
                    purpose="for recommendations")
    transactions, events = naive_datetimes(transactions), naive_datetimes(events, "events")
    present = transactions.collect_schema().names()
    extra = [c for c in ("product_name", "category") if c in present and c != item]
    lines = transactions.lazy().select("customer_id", "order_date", item, *extra).collect()
    if lines.height == 0:
        raise EmptyDataError("The transactions table is empty (0 rows): there is no history to recommend from.")
    _refuse_nulls(lines, "customer_id", "transactions",
                  "Recommendations follow customers: drop the lines without a customer first "
                  "(clean_transactions(..., rules=('missing_customer', ...))).")
    _refuse_nulls(lines, item, "transactions", f"Drop the lines without a {item} first, or fill it in.")
    _refuse_nulls(lines, "order_date", "transactions", "Drop or fix the lines without a date first.")
    end = as_datetime(as_of, "as_of")
    if end is None:
        end = as_of_after(lines["order_date"].max())
    lines = lines.filter(pl.col("order_date").cast(pl.Datetime("us")) < end)
    if lines.height == 0:
        raise EmptyDataError(f"No order is before as_of={end:%Y-%m-%d %H:%M}: there is no history to recommend from.")
    lines = lines.with_columns(pl.col(item).cast(pl.String).alias("_item"),
                               _day=pl.col("order_date").dt.date().cast(pl.Int64))
    items = lines["_item"].unique().sort()
    customers = lines["customer_id"].unique().sort()
    notes: list[str] = []
    weighted = _event_rows(events, end, items, event_weights, notes)
    if weighted is not None:
        cast = pl.col("customer_id").cast(customers.dtype, strict=False)
        unmatched = weighted.filter(cast.is_null())
        if unmatched.height:
            examples = unmatched["customer_id"].unique(maintain_order=True).head(3).to_list()
            days = "day" if unmatched.height == 1 else "days"
            notes.append(f"Left out {unmatched.height:,} customer-product-{days} of events whose customer_id cannot "
                         f"be read as the transactions' {customers.dtype} ids (e.g. {examples}).")
        weighted = weighted.with_columns(cast).filter(pl.col("customer_id").is_not_null())
        customers = pl.concat([customers, weighted["customer_id"]]).unique().sort()
    purchases = pl.DataFrame({
        "row": _positions(customers, lines["customer_id"]).astype(np.int32),
        "col": _positions(items, lines["_item"]).astype(np.int32),
        "day": lines["_day"].cast(pl.Int32), "w": pl.Series([1.0] * lines.height, dtype=pl.Float32),
        "purchase": pl.Series([True] * lines.height),
    }).unique(["row", "col", "day"])
    history = purchases
    if weighted is not None and weighted.height:
        history = pl.concat([purchases, pl.DataFrame({
            "row": _positions(customers, weighted["customer_id"]).astype(np.int32),
            "col": _positions(items, weighted["_item"]).astype(np.int32),
            "day": weighted["_day"].cast(pl.Int32), "w": weighted["_w"].cast(pl.Float32),
            "purchase": pl.Series([False] * weighted.height),
        })])
    return _build(history, customers.rename("customer_id"), items.rename("product_id"), _names(lines, items, item),
                  end, tuple(notes))


def _build(history: pl.DataFrame, customers: pl.Series, items: pl.Series, names: pl.Series, as_of: dt.datetime,
           notes: tuple[str, ...]) -> Interactions:
    """The matrices of ``history`` (row, col, day, w, purchase: one row per purchase day or weighted event day)."""
    shape = (customers.len(), items.len())
    cells = history.group_by("row", "col").agg(
        strength=pl.col("w").sum(), bought=pl.col("purchase").any(),
        last=pl.when(pl.col("purchase")).then(pl.col("day")).max())
    rows, cols = cells["row"].to_numpy(), cells["col"].to_numpy()
    strength = sp.csr_matrix((cells["strength"].to_numpy().astype(np.float32), (rows, cols)), shape=shape)
    mask = cells["bought"].to_numpy()
    bought = sp.csr_matrix((np.ones(int(mask.sum()), dtype=np.float32), (rows[mask], cols[mask])), shape=shape)
    strength.sort_indices()
    bought.sort_indices()
    last = np.full(shape[0], -1, dtype=np.int64)
    per_customer = cells.filter(pl.col("bought")).group_by("row").agg(pl.col("last").max())
    last[per_customer["row"].to_numpy()] = per_customer["last"].to_numpy()
    return Interactions(customers=customers, items=items, names=names, bought=bought, strength=strength,
                        buyers=np.diff(bought.tocsc().indptr).astype(np.int64), as_of=as_of, last_purchase=last,
                        notes=notes, history=history)


def _names(lines: pl.DataFrame, items: pl.Series, item: str) -> pl.Series:
    """The most frequent ``product_name`` of each item (ties: the first in sort order), or the id itself."""
    if "product_name" not in lines.columns or item == "product_name":
        return items.rename("product_name")
    counts = (lines.drop_nulls("product_name").group_by("_item", "product_name").agg(_n=pl.len())
              .sort(["_item", "_n", "product_name"], descending=[False, True, False])
              .unique("_item", keep="first"))
    named = pl.DataFrame({"_item": items}).join(counts, on="_item", how="left", maintain_order="left")
    return named["product_name"].cast(pl.String).fill_null(named["_item"]).rename("product_name")


def _events(n: int) -> str:
    return "event" if n == 1 else "events"


def _event_rows(events: Frame | None, end: dt.datetime, items: pl.Series, weights: Mapping[str, float] | None,
                notes: list[str]) -> pl.DataFrame | None:
    """customer_id, _item, _w: the weighted events before ``end`` on catalogue items, one per customer, item, day."""
    if events is None:
        return None
    check_frame(events, argument="events")
    require_columns(events, ["customer_id", "event_time", "event", "product_id"], table="events",
                    purpose="to weigh views and carts in recommendations")
    table = {str(k).lower(): float(v) for k, v in (EVENT_WEIGHTS if weights is None else weights).items()}
    bad = {k: v for k, v in table.items() if not np.isfinite(v) or v < 0}
    if bad:
        raise CustlabError(f"event_weights must be finite and 0 or more, got {bad}.")
    data = (events.lazy().select("customer_id", "event_time", pl.col("event").cast(pl.String).str.to_lowercase(),
                                 pl.col("product_id").cast(pl.String).alias("_item"))
            .filter(pl.col("event_time").cast(pl.Datetime("us")) < end).collect())
    missing = data.select(pl.any_horizontal(pl.col("customer_id", "_item", "event_time").is_null()).sum()).item()
    if missing:
        notes.append(f"Left out {missing:,} {_events(missing)} without a customer_id, product_id or event_time.")
        data = data.drop_nulls(["customer_id", "_item", "event_time"])
    weight = pl.col("event").replace_strict(table, default=0.0, return_dtype=pl.Float64)
    data = data.with_columns(_w=weight)
    unweighted = data.filter(~pl.col("event").is_in(list(table)).fill_null(False))  # a weight of 0 is the caller's
    if unweighted.height:
        kinds = unweighted["event"].fill_null("(none)").value_counts(sort=True).head(5)
        named = ", ".join(f"{k!r} {n:,}" for k, n in kinds.iter_rows())
        notes.append(f"Left out {unweighted.height:,} {_events(unweighted.height)} of kinds without a weight "
                     f"({named}); give them one with event_weights=.")
    data = data.filter(pl.col("_w") > 0)  # and those of a kind weighted 0 (the caller's choice, not noted)
    known = data["_item"].is_in(items.implode())
    unknown = int((~known).sum())
    if unknown:
        notes.append(f"Left out {unknown:,} {_events(unknown)} on products nobody bought before as_of.")
    data = data.filter(known).with_columns(_day=pl.col("event_time").dt.date().cast(pl.Int64))
    return (data.unique(["customer_id", "_item", "_day", "event"])
            .group_by("customer_id", "_item", "_day").agg(_w=pl.col("_w").sum()))
