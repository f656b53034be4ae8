"""Seasonal rules: rule metrics within each period or date window, against the rest of the data."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Sequence

import numpy as np
import polars as pl
import scipy.sparse as sp

from custlab._dates import as_datetime, check_freq
from custlab._types import Frame
from custlab.data.schema import check_frame, require_columns
from custlab.exceptions import CustlabError, CustlabWarning
from custlab.rules import engine
from custlab.rules.association import Consequents, _rule_blocks
from custlab.rules.baskets import (
    _Baskets, _check_len, _check_share, _check_support, _collect, _names_of, _null_item_fix, _refuse_nulls,
)

__all__ = ["seasonal_rules"]

#: Periods seasonal rules can be cut into, and how each period is labelled.
_FREQ_LABELS: dict[str, str] = {"1w": "%G-W%V", "1mo": "%Y-%m", "1q": "%Y"}
_EPOCH = dt.datetime(1970, 1, 1)


def _micros(value: object, name: str) -> int:
    """Microseconds since 1970 of a date argument (a date means its midnight)."""
    return (as_datetime(value, name) - _EPOCH) // dt.timedelta(microseconds=1)


def _count_in(x: sp.csr_array, itemsets: list[np.ndarray]) -> np.ndarray:
    """Rows of ``x`` holding every item of each itemset (arrays of column codes)."""
    out = np.zeros(len(itemsets), dtype=np.int64)
    if not itemsets or x.shape[0] == 0:
        return out
    xc = x.tocsc()
    xc.sort_indices()
    needed = np.unique(np.concatenate([np.asarray(s, dtype=np.int64) for s in itemsets]))
    words = (x.shape[0] + 63) >> 6
    if len(needed) * words <= (1 << 25):
        sizes = np.diff(xc.indptr)[needed]
        rows = engine._ranges(xc.indptr[needed].astype(np.int64), sizes.astype(np.int64))
        owner = np.repeat(np.arange(len(needed), dtype=np.int64), sizes)
        bits = engine._bitsets(owner, xc.indices[rows].astype(np.int64), len(needed), words)
        for k in {len(s) for s in itemsets}:
            which = [j for j, s in enumerate(itemsets) if len(s) == k]
            pos = np.searchsorted(needed, np.array([itemsets[j] for j in which], dtype=np.int64).reshape(len(which), k))
            acc = bits[pos[:, 0]].copy()
            for col in range(1, k):
                acc &= bits[pos[:, col]]
            out[which] = np.bitwise_count(acc).sum(axis=1, dtype=np.int64)
        return out
    for j, itemset in enumerate(itemsets):
        common = None
        for c in np.asarray(itemset, dtype=np.int64):
            col = xc.indices[xc.indptr[c]:xc.indptr[c + 1]]
            common = col if common is None else np.intersect1d(common, col, assume_unique=True)
        out[j] = 0 if common is None else len(common)
    return out


def _counts_of(x: sp.csr_array, n: int, itemsets: list[np.ndarray]) -> np.ndarray:
    """Rows of ``x`` holding each itemset: ``n`` for the empty set, 0 for one with an unknown item (-1)."""
    out = np.zeros(len(itemsets), dtype=np.int64)
    known = [j for j, s in enumerate(itemsets) if len(s) and (s >= 0).all()]
    out[known] = _count_in(x, [itemsets[j] for j in known])
    out[[j for j, s in enumerate(itemsets) if len(s) == 0]] = n
    return out


def _encode_rules(rules: Frame, names: pl.Series) -> list[tuple[np.ndarray, np.ndarray]]:
    """(antecedent codes, consequent codes) of given rules; items absent from the data get code -1."""
    check_frame(rules, argument="rules")
    require_columns(rules, ["antecedent", "consequent"], table="rules", purpose="(pass association_rules() output)")
    data = rules.lazy().select("antecedent", "consequent").collect()
    lookup = {v: j for j, v in enumerate(names.to_list())}
    return [
        (np.sort(np.array([lookup.get(v, -1) for v in a], dtype=np.int64)),
         np.sort(np.array([lookup.get(v, -1) for v in c], dtype=np.int64)))
        for a, c in data.iter_rows()
    ]


def seasonal_rules(
    baskets: Frame,
    *,
    freq: str = "1mo",
    windows: Sequence[tuple[object, object]] | None = None,
    window_label: str = "window",
    rules: Frame | None = None,
    min_support: float = 0.01,
    min_confidence: float = 0.5,
    min_len: int = 2,
    max_len: int | None = None,
    consequents: Consequents = "single",
    basket: str = "basket_id",
    item: str = "item",
    date: str = "order_date",
) -> pl.DataFrame:
    """Rule metrics within each period or window, against the rest of the data.

    The baskets are split by the date of each basket, either into calendar
    periods (``freq``: week, month or quarter) or into the baskets inside
    ``windows`` (e.g. the four weeks before each festival, all windows pooled)
    and the rest. In each period the rules are mined afresh with the given
    thresholds (or, with ``rules=``, the given rules are scored there), and
    each rule is also scored on the baskets *outside* the period.

    Parameters
    ----------
    baskets : polars DataFrame or LazyFrame
        Long basket table with a date column, from :func:`baskets` (which
        carries ``order_date``).
    freq : {"1w", "1mo", "1q"}, keyword-only, default "1mo"
        Calendar periods (polars duration strings; "week", "month" and
        "quarter" are read too), used when ``windows`` is None.
    windows : sequence of (start, end) pairs, keyword-only
        Date windows, start inclusive, end exclusive (dates, datetimes or ISO
        text); baskets in any of them form one period named ``window_label``.
    rules : polars DataFrame, keyword-only
        Rules (``antecedent``, ``consequent`` lists) to score in every period
        instead of mining each period.
    min_support, min_confidence, min_len, max_len, consequents
        As for :func:`frequent_itemsets` and :func:`association_rules`, applied
        within each period (not used with ``rules=``).
    basket, item, date : str, keyword-only
        Column names.

    Returns
    -------
    pl.DataFrame
        ``period`` (String: "2024-11", "2024-W45", "2024-Q4" or the window
        label), ``period_start`` (Date, None for windows), ``n_baskets``
        (Int64), ``antecedent``, ``consequent`` (List), ``count`` (Int64),
        ``support``, ``confidence``, ``lift`` in the period; ``n_baskets_rest``,
        ``support_rest``, ``confidence_rest``, ``lift_rest`` outside it (null
        where the antecedent or consequent never occurs there, as in a period without them);
        ``lift_change`` = lift - lift_rest and ``lift_ratio`` = lift /
        lift_rest (Float64). Sorted by period, then lift (descending).

    Examples
    --------
    >>> import datetime as dt
    >>> days = [dt.datetime(2024, 1, 1 + i // 2) for i in range(8)] + [dt.datetime(2024, 2, 1 + i // 2) for i in range(8)]
    >>> b = pl.DataFrame({"basket_id": [i // 2 for i in range(16)],
    ...                   "item": ["gift", "decor"] * 4 + ["gift", "tea", "gift", "decor", "tea", "decor", "gift", "tea"],
    ...                   "order_date": days})
    >>> s = seasonal_rules(b, windows=[("2024-01-01", "2024-01-31")], min_support=0.5, min_confidence=0.9)
    >>> s.select("period", "antecedent", "consequent", "confidence", "confidence_rest").rows()
    [('window', ['decor'], ['gift'], 1.0, 0.5), ('window', ['gift'], ['decor'], 1.0, 0.3333333333333333)]
    """
    freq = check_freq(freq, "freq", allowed=tuple(_FREQ_LABELS))
    min_support = _check_support(min_support)
    min_confidence = _check_share(min_confidence, "min_confidence", allow_zero=True)
    min_len = _check_len(min_len, "min_len", minimum=1)
    max_len = _check_len(max_len, "max_len", minimum=1)
    if consequents not in ("single", "any"):
        raise CustlabError(f"consequents must be 'single' or 'any', got {consequents!r}.")
    data = _collect(baskets, [basket, item, date], table="baskets", argument="baskets",
                    purpose="for seasonal rules (baskets() carries order_date)")
    _refuse_nulls(data, basket, group=None, what="basket", fix=f"Drop or fill the rows without '{basket}'.")
    _refuse_nulls(data, item, group=basket, what="basket", fix=_null_item_fix(item))
    _refuse_nulls(data, date, group=basket, what="basket", fix="Every basket needs a date: drop or fix those rows.")
    enc = _Baskets(data, basket, item, keep_codes=True)
    n_rows = enc.x.shape[0]
    dates = data[date]
    if dates.dtype == pl.Date:
        dates = dates.cast(pl.Datetime("us"))
    elif not isinstance(dates.dtype, pl.Datetime):
        raise CustlabError(f"Column '{date}' must hold dates (Date or Datetime), got {dates.dtype}.")
    stamp = dates.dt.replace_time_zone(None).cast(pl.Datetime("us")).to_physical().to_numpy()
    basket_time = np.full(n_rows, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(basket_time, enc.basket_codes, stamp)

    periods: list[tuple[str, dt.date | None, np.ndarray]] = []
    if windows is not None:
        inside = np.zeros(n_rows, dtype=bool)
        for pair in windows:
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise CustlabError(f"windows must be (start, end) pairs, got {pair!r}.")
            lo, hi = (_micros(v, "windows") for v in pair)
            if hi <= lo:
                raise CustlabError(f"A window must end after it starts, got {pair!r}.")
            inside |= (basket_time >= lo) & (basket_time < hi)
        if not (inside & enc.nonempty).any() and enc.nonempty.any():
            first, last = (pl.Series([v]).cast(pl.Datetime("us")).dt.date().item()
                           for v in (basket_time[enc.nonempty].min(), basket_time[enc.nonempty].max()))
            warnings.warn(f"No basket falls in the windows {list(windows)}: the baskets run from {first} to {last}. "
                          f"The result is empty; give windows inside the data.", CustlabWarning, stacklevel=2)
        periods.append((window_label, None, inside))
    else:
        valid = enc.nonempty
        start = pl.Series(np.where(valid, basket_time, 0)).cast(pl.Datetime("us")).dt.truncate(freq)
        start_us = start.to_physical().to_numpy()
        for p in np.unique(start_us[valid]).tolist():
            first = pl.Series([p]).cast(pl.Datetime("us"))
            label = first.dt.strftime(_FREQ_LABELS[freq]).item()
            if freq == "1q":
                label += f"-Q{(first.dt.month().item() - 1) // 3 + 1}"
            periods.append((label, first.dt.date().item(), valid & (start_us == p)))

    given = _encode_rules(rules, enc.names) if rules is not None else None
    frames = []
    for label, first_day, mask in periods:
        x_in, n_in = enc.rows(mask)
        x_out, n_out = enc.rows(~mask)
        if n_in == 0:
            continue
        if given is None:
            mined = engine.mine(x_in, min_count=engine.min_count_for(min_support, n_in), max_len=max_len)
            blocks = _rule_blocks(mined, n_in, enc.names, min_len=min_len, max_len=max_len,
                                  consequents=consequents, min_confidence=min_confidence)
            pairs = [(b[0][r], b[1][r]) for b in blocks for r in range(len(b[4]))]
        else:
            pairs = given
        if not pairs:
            continue
        whole = [np.sort(np.concatenate([a, c])) for a, c in pairs]
        ants = [a for a, _ in pairs]
        cons = [c for _, c in pairs]

        metrics = {}
        for tag, x, n in (("", x_in, n_in), ("_rest", x_out, n_out)):
            cxy, cx, cy = (_counts_of(x, n, sets) for sets in (whole, ants, cons))
            with np.errstate(divide="ignore", invalid="ignore"):
                support = cxy / n if n else np.full(len(cxy), np.nan)
                confidence = np.where(cx > 0, cxy / np.maximum(cx, 1), np.nan)
                lift = np.where((cy > 0) & (cx > 0), confidence / (cy / max(n, 1)), np.nan)
            metrics[tag] = (cxy, support, confidence, lift)
        frame = pl.DataFrame({
            "period": [label] * len(pairs),
            "period_start": pl.Series([first_day] * len(pairs), dtype=pl.Date),
            "n_baskets": pl.Series([n_in] * len(pairs), dtype=pl.Int64),
            "antecedent": pl.Series([_names_of(a, enc.names) for a in ants], dtype=pl.List(enc.names.dtype)),
            "consequent": pl.Series([_names_of(c, enc.names) for c in cons], dtype=pl.List(enc.names.dtype)),
            "count": pl.Series(metrics[""][0], dtype=pl.Int64),
            "support": metrics[""][1], "confidence": metrics[""][2], "lift": metrics[""][3],
            "n_baskets_rest": pl.Series([n_out] * len(pairs), dtype=pl.Int64),
            "support_rest": metrics["_rest"][1], "confidence_rest": metrics["_rest"][2],
            "lift_rest": metrics["_rest"][3],
        })
        frames.append(frame)
    schema = {"period": pl.String, "period_start": pl.Date, "n_baskets": pl.Int64,
              "antecedent": pl.List(enc.names.dtype), "consequent": pl.List(enc.names.dtype),
              "count": pl.Int64, "support": pl.Float64, "confidence": pl.Float64, "lift": pl.Float64,
              "n_baskets_rest": pl.Int64, "support_rest": pl.Float64, "confidence_rest": pl.Float64,
              "lift_rest": pl.Float64}
    out = pl.concat(frames) if frames else pl.DataFrame(schema=schema)
    out = out.cast({k: v for k, v in schema.items() if k not in ("antecedent", "consequent")})
    measured = ("support", "confidence", "lift", "support_rest", "confidence_rest", "lift_rest")
    out = out.with_columns(pl.col(measured).fill_nan(None))  # null, not NaN: NaN sorted first in a descending table
    return out.with_columns(
        lift_change=pl.col("lift") - pl.col("lift_rest"),
        lift_ratio=pl.col("lift") / pl.col("lift_rest"),
    ).sort(["period_start", "period", "lift", "confidence", "antecedent", "consequent"],
           descending=[False, False, True, True, False, False], nulls_last=True)
