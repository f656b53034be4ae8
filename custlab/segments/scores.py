"""RFM scores: recency, frequency and monetary value scored 1 (worst) to 5 (best)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Literal

import polars as pl

from custlab.data.schema import check_frame
from custlab.exceptions import CustlabError, EmptyDataError, SchemaError

__all__ = ["SCORE_COLUMNS", "rfm_scores"]

SCORE_COLUMNS = ("r_score", "f_score", "m_score")

_SCORE_SOURCE = {"recency": "r_score", "frequency": "f_score", "monetary": "m_score"}


def _quantile_score(column: str, *, higher_is_better: bool, n: int, dtype: pl.DataType) -> pl.Expr:
    # customers strictly worse than this one: for recency, those with more days since their last order.
    # Money is compared at 1e-9 so that equal sums added up in another order stay tied.
    value = pl.col(column).round(9) if dtype.is_float() else pl.col(column)
    worse = value.rank("min", descending=not higher_is_better).cast(pl.Int64) - 1
    return (1 + (worse * 5) // n).cast(pl.Int64)


def _threshold_score(column: str, cuts: Sequence[float], *, higher_is_better: bool) -> pl.Expr:
    passed = pl.sum_horizontal([(pl.col(column) >= c).cast(pl.Int64) for c in cuts])
    return (1 + passed if higher_is_better else 5 - passed).cast(pl.Int64)


def _check_cuts(name: str, cuts) -> list[float]:
    try:
        values = [float(c) for c in cuts]
    except (TypeError, ValueError):
        raise CustlabError(f"thresholds[{name!r}] must be 4 increasing numbers, got {cuts!r}.") from None
    if len(values) != 4 or any(b <= a for a, b in itertools.pairwise(values)):
        raise CustlabError(
            f"thresholds[{name!r}] must be 4 strictly increasing cut points (for scores 1-5), got {list(cuts)!r}."
        )
    return values


def rfm_scores(
    rfm: pl.DataFrame,
    *,
    thresholds: Mapping[str, Sequence[float]] | None = None,
    monetary: Literal["monetary", "avg_order_value"] = "monetary",
) -> pl.DataFrame:
    """Score recency, frequency and monetary value from 1 (worst) to 5 (best).

    Quantile scores (the default) rank each customer against all others. A
    customer's score is ``1 + floor(5 * w / n)``, where ``w`` is the number
    of customers strictly worse on that dimension (for recency: with more
    days since their last order) and ``n`` the number of customers. Ties
    therefore share a score, the one of the lowest rank in the tie (rank
    method "min"), so the result does not depend on row order: if 40% of
    customers have exactly one order, all of them get F = 1 even though
    that is more than a fifth. The score bands hold about a fifth of the
    customers each when there are few ties. Money values equal to 9
    decimals count as tied (a sum of the same amounts in another order can
    differ in its last binary digit).

    Threshold scores use four cut points per dimension. For frequency and
    monetary a value scores ``1 + (number of cut points <= value)``; for
    recency, in days, ``5 - (number of cut points <= days)``: with recency
    cuts ``(30, 60, 90, 180)``, 0-29 days scores 5 and 180 days or more
    scores 1.

    Parameters
    ----------
    rfm
        Output of :func:`rfm_table` (needs ``recency``, ``frequency`` and
        the ``monetary`` column chosen).
    thresholds
        Optional ``{"recency": [...], "frequency": [...], "monetary": [...]}``,
        four strictly increasing cut points each; dimensions left out are
        scored by quantile.
    monetary
        Which money column the M score uses: total revenue (``"monetary"``,
        as the R ``rfm`` package does) or ``"avg_order_value"``.

    Returns
    -------
    polars.DataFrame
        The input with ``r_score``, ``f_score``, ``m_score`` (Int64, 1-5)
        and ``rfm_score`` (Int64, ``100 R + 10 F + M``, e.g. 545).

    Examples
    --------
    >>> import polars as pl
    >>> rfm = pl.DataFrame({"customer_id": [1, 2, 3, 4, 5], "recency": [3, 40, 10, 200, 10],
    ...                     "frequency": [9, 1, 3, 1, 2], "monetary": [900.0, 20.0, 150.0, 35.0, 60.0]})
    >>> rfm_scores(rfm).select("customer_id", "r_score", "f_score", "m_score", "rfm_score").rows()
    [(1, 5, 5, 5, 555), (2, 2, 1, 1, 211), (3, 3, 4, 4, 344), (4, 1, 1, 2, 112), (5, 3, 3, 3, 333)]
    >>> rfm_scores(rfm, thresholds={"recency": [30, 60, 90, 180]})["r_score"].to_list()
    [5, 4, 5, 1, 5]
    """
    if not isinstance(rfm, pl.DataFrame):
        check_frame(rfm, argument="rfm")
        rfm = rfm.collect()
    if monetary not in ("monetary", "avg_order_value"):
        raise CustlabError(f"monetary must be 'monetary' or 'avg_order_value', got {monetary!r}.")
    needed = ["recency", "frequency", monetary]
    missing = [c for c in needed if c not in rfm.columns]
    if missing:
        raise SchemaError(
            f"rfm is missing column(s) {missing}; pass the output of rfm_table(). Columns present: {rfm.columns}."
        )
    if rfm.height == 0:
        raise EmptyDataError("rfm has no rows; there are no customers to score.")
    for c in needed:
        n_null = rfm[c].null_count() + (rfm[c].is_nan().sum() if rfm[c].dtype.is_float() else 0)
        if n_null:
            raise CustlabError(
                f"Column '{c}' of rfm has {n_null} missing value(s); scores need every customer's value."
            )
    thresholds = dict(thresholds or {})
    unknown = [k for k in thresholds if k not in _SCORE_SOURCE]
    if unknown:
        raise CustlabError(f"thresholds has unknown key(s) {unknown}; use 'recency', 'frequency', 'monetary'.")
    n = rfm.height
    exprs = []
    for dim, column, better in (("recency", "recency", False), ("frequency", "frequency", True),
                                ("monetary", monetary, True)):
        if dim in thresholds:
            expr = _threshold_score(column, _check_cuts(dim, thresholds[dim]), higher_is_better=better)
        else:
            expr = _quantile_score(column, higher_is_better=better, n=n, dtype=rfm.schema[column])
        exprs.append(expr.alias(_SCORE_SOURCE[dim]))
    out = rfm.drop([c for c in (*SCORE_COLUMNS, "rfm_score") if c in rfm.columns]).with_columns(exprs)
    return out.with_columns(rfm_score=100 * pl.col("r_score") + 10 * pl.col("f_score") + pl.col("m_score"))
