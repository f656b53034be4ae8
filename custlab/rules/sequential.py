"""Sequential rules: "bought A, then B within a window" across each customer's orders."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import polars as pl

from custlab._dates import as_datetime, parse_within
from custlab._types import DateLike, Frame
from custlab.exceptions import CustlabError
from custlab.rules import engine
from custlab.rules.baskets import _check_share, _check_support, _codes, _collect, _null_item_fix, _refuse_nulls

__all__ = ["sequential_rules"]

_EPOCH = dt.date(1970, 1, 1)


def _days(values: pl.Series) -> np.ndarray:
    """Calendar day numbers (days since 1970-01-01) of a Date or Datetime column."""
    dtype = values.dtype
    if dtype == pl.Date:
        return values.to_physical().to_numpy().astype(np.int64)
    if isinstance(dtype, pl.Datetime):
        return values.dt.date().to_physical().to_numpy().astype(np.int64)
    raise CustlabError(f"Column '{values.name}' must hold dates (Date or Datetime), got {dtype}.")


def _follow(anchor_cust: np.ndarray, anchor_day: np.ndarray, key: np.ndarray, big: int, within: int,
            *, chunk: int = 1 << 23) -> tuple[np.ndarray, np.ndarray]:
    """For each anchor, the purchases of the same customer on days (day, day + within].

    ``key`` holds ``customer * big + day`` of the purchases, sorted. Returns the
    anchor index and purchase index of each pair, in chunks of at most ``chunk`` pairs.
    """
    base = anchor_cust * big + anchor_day
    lo = np.searchsorted(key, base, side="right")
    hi = np.searchsorted(key, base + within, side="right")
    sizes = hi - lo
    out_a, out_p = [], []
    ends = np.cumsum(sizes)
    start = 0
    while start < len(sizes):
        stop = int(np.searchsorted(ends, (ends[start - 1] if start else 0) + chunk, side="right"))
        stop = max(stop, start + 1)
        idx = engine._ranges(lo[start:stop], sizes[start:stop])
        out_a.append(np.repeat(np.arange(start, stop, dtype=np.int64), sizes[start:stop]))
        out_p.append(idx)
        start = stop
    if not out_a:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(out_a), np.concatenate(out_p)


def sequential_rules(
    transactions: Frame,
    *,
    within: str | int | dt.timedelta = "90d",
    item: str = "product_id",
    min_support: float = 0.01,
    min_confidence: float = 0.0,
    as_of: DateLike | None = None,
    complete_window: bool = True,
    antecedents: Sequence | None = None,
    consequents: Sequence | None = None,
) -> pl.DataFrame:
    """Rules "bought A, then B within W days" across each customer's orders.

    For a customer and an item A, the anchor is the customer's first purchase
    of A (its calendar day ``d``). The customer *follows* with B when they buy
    B on a later day ``d + 1 .. d + W`` (W = ``within`` in days); the lag is the day of the
    first such purchase minus ``d``. Purchases on the anchor's own day (the
    same basket) do not count: that is what :func:`association_rules` measures.

    * ``n_antecedent``: customers with an anchor on A (with
      ``complete_window``, only anchors whose whole window lies before
      ``as_of``: a customer who bought A last week has not had W days to buy B);
    * ``count``: those who followed with B; ``confidence = count / n_antecedent``;
      ``support = count / customers`` (all customers in the table);
    * ``baseline``: the share of customers who buy B within W days after their
      *first order* (same window rule, same censoring), the chance of B in a
      window with no A in particular; ``lift = confidence / baseline``;
    * ``median_lag_days``: median lag of the customers who followed.

    Parameters
    ----------
    transactions : polars DataFrame or LazyFrame
        Order lines with ``customer_id``, ``order_date`` (Date or Datetime) and
        the ``item`` column.
    within : str, int or timedelta, keyword-only, default "90d"
        Window W, a whole number of days: ``"90d"``, ``"4w"``, ``90`` or a
        timedelta (read by :func:`custlab._dates.parse_within`).
    item : str, keyword-only, default "product_id"
        Item column (``product_name``, ``category``, ...).
    min_support : float in (0, 1], keyword-only, default 0.01
        Minimum ``support`` (share of all customers who did A then B).
    min_confidence : float in [0, 1], keyword-only, default 0
        Minimum ``confidence``.
    as_of : date, datetime or ISO text, keyword-only
        The first instant that is not history (see :mod:`custlab._dates`):
        orders at or after it are ignored; a date means its midnight. Default
        the midnight after the last order.
    complete_window : bool, keyword-only, default True
        Count only anchors whose W-day window ends before ``as_of``. False
        counts every anchor (the share of *all* A buyers who went on to B in the
        data).
    antecedents, consequents : sequence of items, keyword-only
        Restrict A and B to these items.

    Returns
    -------
    pl.DataFrame
        ``antecedent``, ``consequent`` (item dtype), ``n_antecedent``,
        ``count`` (Int64), ``support``, ``confidence``, ``baseline``, ``lift``,
        ``median_lag_days`` (Float64), sorted by lift, confidence (descending).

    Examples
    --------
    >>> import datetime as dt
    >>> d = [dt.date(2024, 1, 1), dt.date(2024, 1, 20), dt.date(2024, 1, 1), dt.date(2024, 3, 1),
    ...      dt.date(2024, 1, 1), dt.date(2024, 1, 2)]
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 2, 2, 3, 3], "order_date": d,
    ...                    "product_id": ["formula", "stroller", "formula", "stroller", "toy", "formula"]})
    >>> r = sequential_rules(tx, within="30d", min_support=0.3, as_of="2024-06-01", antecedents=["formula"])
    >>> r.select("antecedent", "consequent", "n_antecedent", "count", "confidence", "median_lag_days").rows()
    [('formula', 'stroller', 3, 1, 0.3333333333333333, 19.0)]
    """
    if not isinstance(transactions, (pl.DataFrame, pl.LazyFrame)):
        from custlab import engine as pushdown  # DuckDB, Spark...: aggregate where the data live

        if pushdown.accepts(transactions):
            return pushdown.sequential_rules(transactions, within=within, item=item, min_support=min_support,
                                             min_confidence=min_confidence, as_of=as_of, complete_window=complete_window,
                                             antecedents=antecedents, consequents=consequents)
    window = parse_within(within)
    if window is None or window.total_seconds() % 86400 or window < dt.timedelta(days=1):
        raise CustlabError(
            f"within must be a whole number of days such as '90d' or '4w' (sequential rules count calendar "
            f"days), got {within!r}."
        )
    within = window.days
    end_at = as_datetime(as_of, "as_of")
    min_support = _check_support(min_support)
    min_confidence = _check_share(min_confidence, "min_confidence", allow_zero=True)
    data = _collect(transactions, ["customer_id", "order_date", item], table="transactions",
                    argument="transactions", purpose="for sequential rules")
    _refuse_nulls(data, "customer_id", group=None, what="",
                  fix="Sequential rules follow customers: drop the lines without a customer first.")
    _refuse_nulls(data, "order_date", group=None, what="", fix="Drop or fix the lines without a date first.")
    _refuse_nulls(data, item, group="customer_id", what="customer", fix=_null_item_fix(item))
    if end_at is not None:
        data = data.filter(pl.col("order_date").cast(pl.Datetime("us")) < end_at)
        if data.height == 0:
            raise CustlabError(f"No order is before as_of={as_of!r}: there is no history to find rules in.")
    cust, _, _ = _codes(data["customer_id"], names=False)
    items, names, n_items = _codes(data[item], names=True)
    day = _days(data["order_date"])
    # History ends at as_of (the first instant not seen); a window must end on a day wholly before it.
    end = int(day.max()) + 1 if end_at is None else (end_at.date() - _EPOCH).days
    n_customers = int(np.unique(cust).size)
    min_count = engine.min_count_for(min_support, n_customers)

    # Distinct purchases (customer, day, item), sorted by customer then day.
    low = int(day.min())
    day = day - low
    end -= low
    big = int(max(day.max(), end) + within + 2)
    key = cust * big + day
    order = np.lexsort((items, key))
    key, items, cust, day = key[order], items[order], cust[order], day[order]
    fresh = np.ones(len(key), dtype=bool)
    fresh[1:] = (key[1:] != key[:-1]) | (items[1:] != items[:-1])
    key, items, cust, day = key[fresh], items[fresh], cust[fresh], day[fresh]

    # Customers per item (for B) and first purchase of each (customer, item) (anchors for A).
    pair = cust * n_items + items
    _, first = np.unique(pair, return_index=True)
    buyers = np.bincount(items[first], minlength=n_items)
    allowed_b = buyers >= min_count
    allowed_a = np.ones(n_items, dtype=bool)
    lookup = {v: j for j, v in enumerate(names.to_list())} if antecedents or consequents else {}
    if antecedents is not None:
        allowed_a = np.zeros(n_items, dtype=bool)
        allowed_a[[lookup[v] for v in antecedents if v in lookup]] = True
    if consequents is not None:
        chosen = np.zeros(n_items, dtype=bool)
        chosen[[lookup[v] for v in consequents if v in lookup]] = True
        allowed_b &= chosen
    a_idx = first[allowed_a[items[first]]]
    if complete_window:
        a_idx = a_idx[day[a_idx] + within < end]
    a_item = items[a_idx]
    n_anchor = np.bincount(a_item, minlength=n_items)
    a_idx = a_idx[n_anchor[a_item] >= min_count]
    a_item = items[a_idx]

    anc, pur = _follow(cust[a_idx], day[a_idx], key, big, within)
    b_item = items[pur]
    keep = allowed_b[b_item] & (b_item != a_item[anc])
    anc, pur, b_item = anc[keep], pur[keep], b_item[keep]
    # First follow-up of each (anchor, B): purchases are in day order within an anchor.
    _, first_follow = np.unique(anc * n_items + b_item, return_index=True)
    anc, pur, b_item = anc[first_follow], pur[first_follow], b_item[first_follow]
    lag = day[pur] - day[a_idx][anc]

    # Baseline: B within W days after each customer's first order.
    starts = np.flatnonzero(np.r_[True, cust[1:] != cust[:-1]])
    if complete_window:
        starts = starts[day[starts] + within < end]
    b_anc, b_pur = _follow(cust[starts], day[starts], key, big, within)
    b_seen = np.unique(b_anc * n_items + items[b_pur])
    base_count = np.bincount(b_seen % n_items, minlength=n_items)
    base_rate = base_count / max(len(starts), 1)

    pairs = pl.DataFrame({"a": a_item[anc], "b": b_item, "lag": lag.astype(np.float64)},
                         schema={"a": pl.Int64, "b": pl.Int64, "lag": pl.Float64})
    agg = (pairs.group_by("a", "b").agg(count=pl.len().cast(pl.Int64), median_lag_days=pl.col("lag").median())
           .filter(pl.col("count") >= min_count))
    a_code, b_code = agg["a"].to_numpy(), agg["b"].to_numpy()
    count = agg["count"].to_numpy()
    at_risk = n_anchor[a_code]
    baseline = base_rate[b_code]
    confidence = count / np.maximum(at_risk, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = np.where(baseline > 0, confidence / baseline, np.inf)
    out = pl.DataFrame({
        "antecedent": names.gather(a_code).alias("antecedent"),
        "consequent": names.gather(b_code).alias("consequent"),
        "n_antecedent": pl.Series(at_risk, dtype=pl.Int64),
        "count": pl.Series(count, dtype=pl.Int64),
        "support": pl.Series(count / n_customers, dtype=pl.Float64),
        "confidence": pl.Series(confidence, dtype=pl.Float64),
        "baseline": pl.Series(baseline, dtype=pl.Float64),
        "lift": pl.Series(lift, dtype=pl.Float64),
        "median_lag_days": agg["median_lag_days"].cast(pl.Float64),
    })
    return out.filter(pl.col("confidence") >= min_confidence).sort(
        ["lift", "confidence", "count", "antecedent", "consequent"], descending=[True, True, True, False, False]
    )

