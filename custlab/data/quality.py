"""Data-quality summary of the canonical tables: what is there, what is missing, what cleaning removed."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from custlab._i18n import t
from custlab._plotting import in_language_font
from custlab._types import Frame
from custlab.data.schema import TABLES, check_frame

__all__ = ["headline", "plot_removed", "profile", "table_overview"]


def _text(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A value as short text: datetimes to the minute, everything else as polars prints it."""
    if isinstance(dtype, pl.Datetime):
        return expr.dt.strftime("%Y-%m-%d %H:%M")
    return expr.cast(pl.String)


def profile(frame: Frame) -> pl.DataFrame:
    """One row per column: dtype, nulls, null share, distinct values, min and max (as text).

    Returns
    -------
    DataFrame with ``column``, ``dtype``, ``nulls`` (Int64), ``null_share``
    (Float64), ``distinct`` (Int64), ``min``, ``max`` (String).

    Examples
    --------
    >>> profile(pl.DataFrame({"a": [1, None, 3]})).select("column", "nulls", "distinct").row(0)
    ('a', 1, 3)
    """
    check_frame(frame)
    lazy = frame.lazy()
    schema = lazy.collect_schema()
    ordered = [c for c, t in schema.items() if t.is_numeric() or t.is_temporal() or t == pl.String]
    stats = lazy.select(
        pl.len().alias("__rows"),
        *[pl.col(c).null_count().alias(f"nulls::{c}") for c in schema],
        *[pl.col(c).n_unique().alias(f"distinct::{c}") for c in schema],
        *[_text(pl.col(c).min(), schema[c]).alias(f"min::{c}") for c in ordered],
        *[_text(pl.col(c).max(), schema[c]).alias(f"max::{c}") for c in ordered],
    ).collect().row(0, named=True)
    rows = max(stats["__rows"], 1)
    return pl.DataFrame(
        {
            "column": list(schema),
            "dtype": [str(t) for t in schema.values()],
            "nulls": [stats[f"nulls::{c}"] for c in schema],
            "null_share": [stats[f"nulls::{c}"] / rows for c in schema],
            "distinct": [stats[f"distinct::{c}"] for c in schema],
            "min": [stats.get(f"min::{c}") for c in schema],
            "max": [stats.get(f"max::{c}") for c in schema],
        },
        schema={"column": pl.String, "dtype": pl.String, "nulls": pl.Int64, "null_share": pl.Float64,
                "distinct": pl.Int64, "min": pl.String, "max": pl.String},
    )


def table_overview(tables: Mapping[str, Frame]) -> pl.DataFrame:
    """One row per table: rows, columns, contract columns present and absent, date range.

    ``tables`` maps canonical table names (see :mod:`custlab.data.schema`) to frames;
    a table given as None is listed as absent, so a report can say what it lacks.
    """
    rows = []
    date_col = {"transactions": "order_date", "events": "event_time", "reviews": "review_date",
                "marketing_spend": "month", "customers": "signup_date"}
    for name, spec in TABLES.items():
        frame = tables.get(name)
        if frame is None:
            rows.append({"table": name, "rows": None, "columns": None, "optional_present": None,
                         "optional_absent": None, "first": None, "last": None, "present": False})
            continue
        lazy = frame.lazy()
        names = lazy.collect_schema().names()
        col = date_col[name]
        agg = [pl.len().alias("rows")]
        if col in names:
            dtype = lazy.collect_schema()[col]
            agg += [_text(pl.col(col).min(), dtype).alias("first"), _text(pl.col(col).max(), dtype).alias("last")]
        stats = lazy.select(agg).collect().row(0, named=True)
        rows.append({
            "table": name, "rows": stats["rows"], "columns": len(names),
            "optional_present": ", ".join(c for c in spec.optional if c in names),
            "optional_absent": ", ".join(c for c in spec.optional if c not in names),
            "first": stats.get("first"), "last": stats.get("last"), "present": True,
        })
    return pl.DataFrame(rows, schema={"table": pl.String, "rows": pl.Int64, "columns": pl.Int64,
                                      "optional_present": pl.String, "optional_absent": pl.String,
                                      "first": pl.String, "last": pl.String, "present": pl.Boolean})


def headline(transactions: Frame) -> pl.DataFrame:
    """Key figures of a transactions table: lines, orders, customers, revenue, first and last order.

    Returns a one-row DataFrame: ``lines``, ``orders``, ``customers`` (Int64),
    ``revenue`` (Float64), ``first_order``, ``last_order`` (Datetime).
    """
    check_frame(transactions)
    return transactions.lazy().select(
        lines=pl.len().cast(pl.Int64),
        orders=pl.col("order_id").n_unique().cast(pl.Int64),
        customers=pl.col("customer_id").drop_nulls().n_unique().cast(pl.Int64),
        revenue=pl.col("amount").sum(),
        first_order=pl.col("order_date").min(),
        last_order=pl.col("order_date").max(),
    ).collect()


@in_language_font
def plot_removed(report, *, ax=None, language: str = "en"):
    """Bar chart of the lines cleaning removed, by reason; returns the Figure.

    ``report`` is the :class:`custlab.data.DataQualityReport` of a cleaning
    run (or of one period, :meth:`~custlab.data.DataQualityReport.for_period`).
    Drawn without pyplot on ``ax`` or a new figure; labels in ``language``.

    Examples
    --------
    >>> import datetime as dt
    >>> from custlab.data import clean_transactions
    >>> tx = pl.DataFrame({"customer_id": [1, None], "order_id": [1, 2], "amount": [5.0, 3.0],
    ...                    "order_date": [dt.datetime(2024, 1, 1)] * 2})
    >>> fig = plot_removed(clean_transactions(tx)[1])
    >>> [float(p.get_width()) for p in fig.axes[0].patches][:1]
    [1.0]
    """
    from custlab._i18n import check_language, label
    from custlab._plotting import PALETTE, figure_axes

    check_language(language)
    data = report.removed.sort("rows", descending=True)
    fig, ax = figure_axes(ax, figsize=(7, 0.4 * max(data.height, 3) + 1))
    names = [r if language == "en" else label(r, language) for r in data["reason"].to_list()]
    rows = data["rows"].to_list()
    positions = list(range(len(rows)))
    ax.barh(positions, rows, color=PALETTE[0])
    ax.set_yticks(positions, names)
    ax.invert_yaxis()
    ax.set_xlabel(t("data.plot_xlabel", language))
    ax.set_ylabel("")
    ax.set_title(t("data.plot_title", language, removed=f"{report.rows_removed:,}", rows_in=f"{report.rows_in:,}"))
    for position, value in zip(positions, rows):
        ax.annotate(f"{value:,}", (value, position), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)
    if max(rows, default=0) == 0:  # nothing removed: no axis around zero running to -0.04
        ax.set_xlim(0, 1)
        ax.set_xticks([])
        ax.text(0.5, 0.5, t("data.plot_nothing_removed", language), transform=ax.transAxes, ha="center", va="center")
    else:
        ax.set_xlim(left=0)
    return fig
