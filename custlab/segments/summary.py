"""Segment sizes and revenue, and how concentrated revenue is among the top customers."""

from __future__ import annotations

import polars as pl

from custlab.data.schema import require_columns
from custlab.exceptions import CustlabError, EmptyDataError

__all__ = ["concentration_curve", "segment_summary", "top_share"]


def _segment_levels(segments: pl.DataFrame) -> list[str]:
    dtype = segments.schema["segment"]
    if isinstance(dtype, pl.Enum):
        return list(dtype.categories)
    counts = segments.group_by("segment").len().sort(["len", "segment"], descending=[True, False])
    return [str(s) for s in counts["segment"].to_list()]


def segment_summary(segments: pl.DataFrame) -> pl.DataFrame:
    """Size, revenue and typical behaviour of each segment.

    Parameters
    ----------
    segments
        One row per customer with ``segment``, ``recency``, ``frequency``
        and ``monetary`` (the output of :func:`rfm_segments`, or of
        :func:`custlab.segments.kmeans_segments`).

    Returns
    -------
    polars.DataFrame
        One row per segment, in the segment order (Enum order; otherwise by
        size), empty segments included with 0 customers:
        ``segment`` (String), ``customers`` (Int64), ``customer_share``
        (Float64), ``revenue`` (Float64, sum of monetary),
        ``revenue_share`` (Float64; null when there is no revenue at all),
        ``orders`` (Int64), ``avg_order_value`` (Float64, revenue / orders),
        ``median_recency`` (Float64, days), ``median_frequency`` (Float64),
        ``revenue_per_customer`` (Float64). The per-customer and per-order
        figures of an empty segment are null, never NaN.

    Examples
    --------
    >>> import polars as pl
    >>> seg = pl.DataFrame({"segment": ["A", "A", "B"], "recency": [1, 3, 50],
    ...                     "frequency": [4, 2, 1], "monetary": [80.0, 20.0, 100.0]})
    >>> segment_summary(seg).select("segment", "customers", "revenue_share", "avg_order_value").rows()
    [('A', 2, 0.5, 16.666666666666668), ('B', 1, 0.5, 100.0)]
    """
    require_columns(segments, ["segment", "recency", "frequency", "monetary"], table="segments",
                    purpose="for segment_summary (pass the output of rfm_segments)")
    levels = _segment_levels(segments)
    total_customers = segments.height
    total_revenue = float(segments["monetary"].sum())
    per = segments.group_by(pl.col("segment").cast(pl.String)).agg(
        customers=pl.len().cast(pl.Int64),
        revenue=pl.col("monetary").sum(),
        orders=pl.col("frequency").sum().cast(pl.Int64),
        median_recency=pl.col("recency").median(),
        median_frequency=pl.col("frequency").median(),
    )
    frame = pl.DataFrame({"segment": levels}).join(per, on="segment", how="left", maintain_order="left")
    return frame.select(
        "segment",
        customers=pl.col("customers").fill_null(0),
        customer_share=pl.col("customers").fill_null(0) / max(total_customers, 1),
        revenue=pl.col("revenue").fill_null(0.0),
        revenue_share=(pl.col("revenue").fill_null(0.0) / total_revenue if total_revenue
                       else pl.lit(None, dtype=pl.Float64)),
        orders=pl.col("orders").fill_null(0),
        avg_order_value=pl.col("revenue") / pl.col("orders"),
        median_recency=pl.col("median_recency").cast(pl.Float64),
        median_frequency=pl.col("median_frequency").cast(pl.Float64),
        revenue_per_customer=pl.col("revenue") / pl.col("customers"),
    )


def concentration_curve(rfm: pl.DataFrame, *, column: str = "monetary") -> pl.DataFrame:
    """Cumulative share of revenue brought by the top customers (a Lorenz curve read from the top).

    Parameters
    ----------
    rfm
        One row per customer with a non-negative money column.
    column
        The money column (default ``monetary``).

    Returns
    -------
    polars.DataFrame
        ``n + 1`` rows: ``customers`` (Int64, the top k customers by
        ``column``, from 0), ``customer_share`` (Float64, k / n) and
        ``revenue_share`` (Float64, their share of the total).

    Examples
    --------
    >>> import polars as pl
    >>> curve = concentration_curve(pl.DataFrame({"monetary": [50.0, 30.0, 10.0, 10.0]}))
    >>> curve["revenue_share"].to_list()
    [0.0, 0.5, 0.8, 0.9, 1.0]
    """
    require_columns(rfm, [column], table="rfm", purpose="for the concentration curve")
    values = rfm[column]
    if values.null_count() or (values < 0).any():
        raise CustlabError(f"Column '{column}' must be non-negative with no missing values for a concentration curve.")
    total = float(values.sum())
    if rfm.height == 0 or total <= 0:
        raise EmptyDataError(f"Column '{column}' sums to {total}; there is no revenue to share out.")
    n = rfm.height
    top = values.sort(descending=True).cum_sum() / total
    return pl.DataFrame({
        "customers": pl.int_range(0, n + 1, eager=True).cast(pl.Int64),
        "customer_share": pl.int_range(0, n + 1, eager=True) / n,
        "revenue_share": pl.concat([pl.Series([0.0]), top]),
    })


def top_share(rfm: pl.DataFrame, revenue_share: float = 0.5, *, column: str = "monetary") -> float:
    """Smallest share of customers (the biggest spenders first) that brings ``revenue_share`` of revenue.

    "The top 15% of customers bring 50% of revenue" is ``top_share(rfm, 0.5) == 0.15``.

    Examples
    --------
    >>> import polars as pl
    >>> top_share(pl.DataFrame({"monetary": [50.0, 30.0, 10.0, 10.0]}), 0.5)
    0.25
    """
    if not 0 < revenue_share <= 1:
        raise CustlabError(f"revenue_share must be in (0, 1], got {revenue_share!r}.")
    curve = concentration_curve(rfm, column=column)
    hit = curve.filter(pl.col("revenue_share") >= revenue_share - 1e-12)
    return float(hit["customer_share"][0])
