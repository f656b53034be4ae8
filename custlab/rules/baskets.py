"""Baskets: order lines to a long basket table, and the encodings the miners work on.

:func:`baskets` turns order lines into a long basket table (one row per basket
and item), the input of everything in :mod:`custlab.rules`. The private helpers
here check arguments and encode a basket table as integer codes and a sparse
basket-by-item matrix, shared by the association, seasonal and sequential rules.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import polars as pl
import scipy.sparse as sp

from custlab._dates import as_datetime
from custlab._types import DateLike, Frame
from custlab.data.schema import check_frame, require_columns
from custlab.exceptions import CustlabError, EmptyDataError, SchemaError
from custlab.rules import engine

__all__ = ["baskets"]


def _check_share(value: object, name: str, *, allow_zero: bool = False, example: str = "") -> float:
    """A number in (0, 1] (or [0, 1] with ``allow_zero``), or a CustlabError naming the argument."""
    low = "[0" if allow_zero else "(0"
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok:
        value = float(value)
        ok = math.isfinite(value) and (value >= 0 if allow_zero else value > 0) and value <= 1
    if not ok:
        raise CustlabError(f"{name} must be a number in {low}, 1], got {value!r}.{example}")
    return float(value)


def _check_support(min_support: object) -> float:
    return _check_share(
        min_support, "min_support",
        example=" It is a share of baskets: 0.01 keeps itemsets found in at least 1% of them.",
    )


def _check_top_n(top_n: object, name: str = "top_n") -> int:
    if not isinstance(top_n, (int, np.integer)) or isinstance(top_n, bool) or top_n < 1:
        raise CustlabError(f"{name} must be an integer >= 1, got {top_n!r}.")
    return int(top_n)


def _check_len(value: object, name: str, *, minimum: int) -> int | None:
    if value is None:
        return None
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        raise CustlabError(f"{name} must be an integer >= {minimum} or None, got {value!r}.")
    return int(value)


def _collect(frame: Frame, columns: Sequence[str], *, table: str, argument: str, purpose: str) -> pl.DataFrame:
    """Select ``columns`` (collecting a LazyFrame), refusing empty tables."""
    check_frame(frame, argument=argument)
    require_columns(frame, list(columns), table=table, purpose=purpose)
    data = frame.lazy().select(list(columns)).collect()
    if data.height == 0:
        raise EmptyDataError(f"The {table} table is empty (0 rows); there are no baskets to mine.")
    return data


def _refuse_nulls(data: pl.DataFrame, column: str, *, group: str | None, what: str, fix: str) -> None:
    n_null = data[column].null_count()
    if n_null:
        where = ""
        if group is not None and group != column and group in data.columns:
            groups = data.filter(pl.col(column).is_null())[group].unique(maintain_order=True)
            where = f" in {groups.len()} {what}(s), e.g. {groups.head(5).to_list()}"
        raise CustlabError(f"Column '{column}' has {n_null} null value(s){where}. {fix}")


def _null_item_fix(column: str) -> str:
    return (
        f"A basket cannot hold an unknown item: drop those rows "
        f"(.filter(pl.col('{column}').is_not_null())) or fill them "
        f"(.with_columns(pl.col('{column}').fill_null('unknown'))) first."
    )


# --------------------------------------------------------------------------- encoding


def _codes(values: pl.Series, *, names: bool, dtype: type = np.int64) -> tuple[np.ndarray, pl.Series | None, int]:
    """Integer codes of a column without nulls; with ``names``, codes follow the sorted values.

    Returns the codes (``dtype``), the values by code (or None) and the number of codes.
    Integers within a moderate range are offset directly; a sorted column without ``names`` is
    coded by runs; anything else is joined to its sorted distinct values (a hash join: no global
    categorical mapping is left behind).
    """
    if values.dtype.is_integer() and len(values):
        raw = values.to_numpy()
        low, high = int(raw.min()), int(raw.max())
        span = high - low + 1
        if span <= max(4 * len(raw), 1 << 16) and span < np.iinfo(dtype).max:
            codes = np.empty(len(raw), dtype=dtype)
            np.subtract(raw, low, out=codes, casting="unsafe")
            if not names:
                return codes, None, span
            present = np.bincount(codes, minlength=span) > 0
            labels = pl.Series(values.name, np.arange(low, high + 1)[present]).cast(values.dtype)
            if len(labels) < span:
                codes = (np.cumsum(present) - 1).astype(dtype)[codes]
            return codes, labels, len(labels)
    if isinstance(values.dtype, (pl.Categorical, pl.Enum)):
        values = values.cast(pl.String)
    if not names and values.is_sorted():
        codes = values.rle_id().to_numpy().astype(dtype, copy=False)
        return codes, None, int(codes[-1]) + 1 if len(codes) else 0
    labels = values.unique()
    if names:
        labels = labels.sort()
    code = labels.to_frame("v").with_row_index("c")
    codes = values.to_frame("v").join(code, on="v", how="left", maintain_order="left")["c"].to_numpy()
    return codes.astype(dtype, copy=False), labels.alias(values.name) if names else None, len(labels)


class _Baskets:
    """A basket table encoded as a sparse basket-by-item matrix (CSR, one row per basket).

    With ``keep_codes`` the basket code of each input row is kept (``basket_codes``) for callers
    that need to map rows back to baskets.
    """

    def __init__(self, data: pl.DataFrame, basket: str, item: str, *, keep_codes: bool = False) -> None:
        basket_codes, _, n_rows = _codes(data[basket], names=False, dtype=np.int32)
        item_codes, names, n_items = _codes(data[item], names=True, dtype=np.int32)
        self.names = names
        self.x = _incidence(basket_codes, item_codes, n_rows, n_items)
        self.basket_codes = basket_codes if keep_codes else None
        self.nonempty = np.diff(self.x.indptr) > 0
        self.n_baskets = int(self.nonempty.sum())

    def rows(self, mask: np.ndarray) -> tuple[sp.csr_array, int]:
        sub = self.x[np.flatnonzero(mask & self.nonempty)]
        return sub, int(sub.shape[0])


def _incidence(basket_codes: np.ndarray, item_codes: np.ndarray, n_rows: int, n_items: int) -> sp.csr_array:
    """The basket-by-item matrix; rows given basket by basket with rising items need no sort.

    That is the layout of :func:`baskets` output (sorted by basket, then item), whose item codes
    follow the sorted items; any other order goes through a sort that also drops repeats.
    """
    if len(basket_codes) > 1:
        ordered = bool((basket_codes[1:] >= basket_codes[:-1]).all())
        if ordered:
            rising = item_codes[1:] > item_codes[:-1]
            rising |= basket_codes[1:] != basket_codes[:-1]
            ordered = bool(rising.all())
            del rising
    else:
        ordered = True
    if not ordered:
        return engine.incidence(basket_codes, item_codes, n_rows, n_items)
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(basket_codes, minlength=n_rows), out=indptr[1:])
    return sp.csr_array((np.ones(len(item_codes), dtype=np.int8), item_codes, indptr), shape=(n_rows, n_items))


def _list_series(codes: np.ndarray, names: pl.Series, name: str) -> pl.Series:
    """A List column with the names of each row of a 2-D code array."""
    n, k = codes.shape
    inner = names.dtype
    if n == 0:
        return pl.Series(name, [], dtype=pl.List(inner))
    if k == 0:
        return pl.Series(name, [[]] * n, dtype=pl.List(inner))
    flat = names.gather(codes.ravel())
    return flat.reshape((n, k)).cast(pl.List(inner)).alias(name)


def _itemsets_frame(mined: engine.Mined, names: pl.Series, n: int) -> pl.DataFrame:
    parts = []
    for k in sorted(mined.codes):
        codes, counts = mined.codes[k], mined.counts[k]
        order = np.lexsort(tuple(codes[:, j] for j in range(k - 1, -1, -1)) + (-counts,))
        codes, counts = codes[order], counts[order]
        parts.append(pl.DataFrame({
            "itemset": _list_series(codes, names, "itemset"),
            "support": counts / n,
            "count": pl.Series(counts, dtype=pl.Int64),
            "length": pl.Series(np.full(len(counts), k), dtype=pl.Int64),
        }))
    if not parts:
        return pl.DataFrame(schema={"itemset": pl.List(names.dtype), "support": pl.Float64,
                                    "count": pl.Int64, "length": pl.Int64})
    return pl.concat(parts)


#: Source names of product names, as a user may remember them from the raw file (Online Retail's Description).
_NAME_SOURCES = ("description", "product", "name", "item_name", "productname", "商品名称")


def _check_argument_columns(present: list[str], *, by: str, item: str) -> None:
    """Refuse a ``by`` or ``item`` that names no column, with the columns to choose from (not a column mapping:
    these are arguments, and the data's columns already have their canonical names)."""
    import difflib

    from custlab.data.hints import SYNONYMS

    sources = {**{s: target for target, names in SYNONYMS.items() for s in names},
               **dict.fromkeys(_NAME_SOURCES, "product_name")}
    for argument, column in (("by", by), ("item", item)):
        if column in present:
            continue
        norm = column.strip().lower().replace(" ", "_")
        guess = sources.get(norm, sources.get(norm.replace("_", "")))
        if guess not in present:
            close = difflib.get_close_matches(column, present, n=1, cutoff=0.5)
            guess = close[0] if close else None
        hint = f" Did you mean {argument}={guess!r}?" if guess else ""
        raise SchemaError(f"{argument}={column!r} is not a column of the transactions; its columns are {present}."
                          f"{hint}")


def baskets(
    transactions: Frame, *, by: str = "order_id", item: str = "product_id", as_of: DateLike | None = None,
) -> pl.DataFrame:
    """One row per basket and item, from order lines.

    Parameters
    ----------
    transactions : polars DataFrame or LazyFrame
        Canonical transactions (or any table) with the columns ``by`` and
        ``item``; ``customer_id`` and ``order_date`` are carried along when
        present.
    by : str, keyword-only, default "order_id"
        Column defining a basket: ``"order_id"`` for market baskets,
        ``"customer_id"`` for everything a customer ever bought.
    item : str, keyword-only, default "product_id"
        Column naming the item: ``"product_id"``, ``"product_name"``,
        ``"category"``, ...
    as_of : date, datetime or ISO text, keyword-only
        The first instant that is not history (see :mod:`custlab._dates`):
        lines with ``order_date < as_of`` make the baskets, later ones are
        left out. Default: every line.

    Returns
    -------
    pl.DataFrame
        ``basket_id`` (dtype of ``by``), ``item`` (dtype of ``item``; categorical
        becomes String), and, when the input has them, ``customer_id`` (the
        basket's first customer) and ``order_date`` (Datetime, the basket's
        earliest). One row per distinct (basket, item), sorted by basket then
        item. Several lines of one item in a basket count once.

    Raises
    ------
    SchemaError
        ``by`` or ``item`` is not a column.
    EmptyDataError
        The table has no rows.
    CustlabError
        ``by`` or ``item`` holds nulls, or ``order_date`` does with ``as_of``
        (the message counts them and says how to drop or fill them: nothing
        is dropped silently); no line before ``as_of``.

    Examples
    --------
    >>> tx = pl.DataFrame({"order_id": [1, 1, 1, 2], "customer_id": [7, 7, 7, 8],
    ...                    "product_id": ["tea", "cup", "tea", "tea"]})
    >>> baskets(tx).rows()
    [(1, 'cup', 7), (1, 'tea', 7), (2, 'tea', 8)]
    """
    if not isinstance(transactions, (pl.DataFrame, pl.LazyFrame)):
        from custlab import engine as pushdown  # DuckDB, Spark...: aggregate where the data live

        if pushdown.accepts(transactions):
            return pushdown.baskets(transactions, by=by, item=item, as_of=as_of)
    check_frame(transactions, argument="transactions")
    end_at = as_datetime(as_of, "as_of")
    present = transactions.collect_schema().names()
    _check_argument_columns(present, by=by, item=item)
    extra = [c for c in ("customer_id", "order_date") if c in present and c not in (by, item)]
    needed = [by, item, *extra, *(["order_date"] if end_at is not None else [])]
    data = _collect(transactions, list(dict.fromkeys(needed)), table="transactions",
                    argument="transactions", purpose="to build baskets")
    if end_at is not None:
        _refuse_nulls(data, "order_date", group=None, what="", fix="Drop or fix the lines without a date first.")
        data = data.filter(pl.col("order_date").cast(pl.Datetime("us")) < end_at)
        if data.height == 0:
            raise EmptyDataError(f"No line is dated before as_of={as_of!r}: there are no baskets to build.")
    _refuse_nulls(data, by, group=None, what="basket",
                  fix=f"Every line needs a basket: drop or fill the rows without '{by}'.")
    _refuse_nulls(data, item, group=by, what="basket", fix=_null_item_fix(item))
    items = data.select(basket_id=pl.col(by), item=pl.col(item)).with_columns(
        pl.col("item").cast(pl.String) if isinstance(data.schema[item], (pl.Categorical, pl.Enum)) else pl.col("item")
    ).unique().sort("basket_id", "item")
    if not extra:
        return items
    aggs = []
    if "customer_id" in extra:
        aggs.append(pl.col("customer_id").first())
    if "order_date" in extra:
        aggs.append(pl.col("order_date").min())
    info = data.group_by(pl.col(by).alias("basket_id")).agg(aggs)
    return items.join(info, on="basket_id", how="left", maintain_order="left")


def _rule_text(items: Sequence) -> str:
    return "{" + ", ".join(str(v) for v in items) + "}"


def _names_of(codes: np.ndarray, names: pl.Series) -> list:
    """Item names of codes (code -1, an item absent from the data, keeps no name)."""
    return [names[int(c)] for c in codes if c >= 0]
