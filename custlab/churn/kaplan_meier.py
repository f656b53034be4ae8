"""Kaplan-Meier retention curves, medians and log-rank tests (lifelines, imported on first use)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from custlab._types import Frame
from custlab.churn._common import (
    MISSING,
    OTHER,
    _check_days,
    _check_survival_columns,
    _collect,
    _finite,
    _import_lifelines,
)
from custlab.data.schema import check_frame, require_columns
from custlab.exceptions import CustlabError

__all__ = ["KaplanMeier", "kaplan_meier"]


@dataclass(frozen=True)
class KaplanMeier:
    """Kaplan-Meier retention curves by group, with medians and log-rank tests.

    :meth:`to_frame` gives the curves; ``summary`` one row per group.

    Attributes
    ----------
    curves : pl.DataFrame
        ``group`` (String), ``days`` (Float64), ``survival`` (share not yet
        churned), ``lower``, ``upper`` (pointwise confidence band, lifelines'
        log(-log) Greenwood interval), ``at_risk``, ``churned``, ``censored``
        (Int64, customers at risk just before ``days`` and leaving at it).
    summary : pl.DataFrame
        One row per group: ``group``, ``customers``, ``churned`` (Int64),
        ``median_days``, ``median_lower``, ``median_upper`` (Float64; null when
        the curve, or its band, does not fall to 0.5 within the follow-up),
        then ``survival_<t>d`` (Float64) for each requested day ``t``.
    logrank : pl.DataFrame or None
        With groups: the test of all groups together (``group_a`` =
        ``group_b`` = "(all)") then each pair: ``group_a``, ``group_b``,
        ``statistic``, ``df`` (Int64), ``p_value``.
    by : str or None
    alpha : float
    fitters : dict
        ``{group: lifelines.KaplanMeierFitter}``, for plots and further use.
    """

    curves: pl.DataFrame
    summary: pl.DataFrame
    logrank: pl.DataFrame | None
    by: str | None
    alpha: float
    fitters: dict = field(repr=False)

    def to_frame(self) -> pl.DataFrame:
        """The curves (one row per group and event time); ``summary`` has one row per group."""
        return self.curves

    def __repr__(self) -> str:
        customers = int(self.summary["customers"].sum())
        churned = int(self.summary["churned"].sum())
        medians = ", ".join(
            f"{g} {'not reached' if m is None else f'{m:.0f} d'}"
            for g, m in self.summary.select("group", "median_days").head(5).rows()
        )
        more = f" (+{self.summary.height - 5} groups)" if self.summary.height > 5 else ""
        return (f"KaplanMeier(by={self.by!r}, {customers:,} customers, {churned:,} churned; median days to churn: "
                f"{medians}{more})")


def _group_labels(frame: pl.DataFrame, by: str | None, max_groups: int) -> pl.Series:
    if by is None:
        return pl.Series("group", ["all"] * frame.height, dtype=pl.String)
    require_columns(frame, [by], table="survival frame", purpose="(the by= column)")
    values = frame[by]
    if values.dtype in (pl.Float32, pl.Float64) or isinstance(values.dtype, (pl.Datetime, pl.Date)):
        if values.n_unique() > max_groups:
            raise CustlabError(
                f"by={by!r} has {values.n_unique():,} distinct values; group it first (for example "
                f"age into age_group) or pick a column with at most {max_groups} groups."
            )
    labels = values.cast(pl.String).fill_null(MISSING).alias("group")
    n = labels.n_unique()
    if n > max_groups:
        raise CustlabError(
            f"by={by!r} has {n:,} groups (more than max_groups={max_groups}); merge small groups first "
            f"or raise max_groups."
        )
    if n < 2:
        raise CustlabError(
            f"by={by!r} has a single value ({labels[0]!r}) for all {frame.height:,} customers; "
            f"there is nothing to compare. Pick another column or use by=None."
        )
    return labels


def _pool_small_groups(data: pl.DataFrame, by: str, top: int, weight: str | None) -> pl.DataFrame:
    """``by`` as text with all but its ``top`` largest groups (by customers; ties by name) called :data:`OTHER`."""
    label = pl.col(by).cast(pl.String).fill_null(MISSING)
    sizes = (data.group_by(label.alias("_g")).agg(n=pl.col(weight).sum() if weight else pl.len())
             .sort(["n", "_g"], descending=[True, False]))
    if sizes.height <= top:
        return data
    keep = sizes["_g"].head(top).implode()
    return data.with_columns(pl.when(label.is_in(keep)).then(label).otherwise(pl.lit(OTHER)).alias(by))


def kaplan_meier(
    frame: Frame,
    *,
    by: str | None = None,
    alpha: float = 0.05,
    at: Sequence[int] = (90, 180, 365),
    duration: str = "duration_days",
    event: str = "churned",
    max_groups: int = 20,
    weight: str | None = None,
    top_groups: int | None = None,
) -> KaplanMeier:
    """Kaplan-Meier retention curves overall or by group, medians, and log-rank tests.

    The curves are lifelines' ``KaplanMeierFitter`` fitted on the counts of
    customers per (group, duration, event), which gives the same estimates
    as one row per customer in a fraction of the time. Customers whose
    ``by`` value is null form the group "(missing)".

    Parameters
    ----------
    frame
        A survival frame (:func:`survival_frame`), or any frame with the
        ``duration`` and ``event`` columns.
    by
        Column to group by (at most ``max_groups`` groups), or None.
    top_groups
        Keep the ``top_groups`` largest groups of ``by`` (most customers;
        ties by name) and pool the others as "(other)", e.g. 8 for a
        category column with dozens of values. None: every group.
    alpha
        1 - confidence level of the bands and median intervals.
    at
        Days at which the summary reports the share not yet churned; null
        beyond a group's longest follow-up, where the curve is not known
        (lifelines would carry its last value forward), unless the curve has
        reached 0.
    duration, event
        Column names of the time and of the event flag.
    weight
        Column of customer counts when each row stands for several customers
        (``custlab.engine.survival_counts`` gives ``customers``); None: one
        row per customer.

    Returns
    -------
    KaplanMeier

    Examples
    --------
    >>> import polars as pl
    >>> sf = pl.DataFrame({"duration_days": [100, 120, 130, 95, 200, 150],
    ...                    "churned": [True, True, False, True, False, True],
    ...                    "channel": ["a", "a", "a", "b", "b", "b"]})
    >>> km = kaplan_meier(sf, by="channel", at=[110])
    >>> km.summary.select("group", "customers", "median_days", "survival_110d")
    shape: (2, 4)
    ┌───────┬───────────┬─────────────┬───────────────┐
    │ group ┆ customers ┆ median_days ┆ survival_110d │
    │ ---   ┆ ---       ┆ ---         ┆ ---           │
    │ str   ┆ i64       ┆ f64         ┆ f64           │
    ╞═══════╪═══════════╪═════════════╪═══════════════╡
    │ a     ┆ 3         ┆ 120.0       ┆ 0.666667      │
    │ b     ┆ 3         ┆ 150.0       ┆ 0.666667      │
    └───────┴───────────┴─────────────┴───────────────┘
    """
    _import_lifelines()
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    check_frame(frame, argument="frame")
    if not 0 < alpha < 1:
        raise CustlabError(f"alpha must be between 0 and 1, got {alpha!r}.")
    present = frame.collect_schema().names()
    if by and by not in present:  # the schema's "map yours" hint proposed mapping a date onto it (Online Retail)
        offered = [c for c in present if c not in (duration, event, weight, "customer_id")]
        raise CustlabError(
            f"by={by!r} is not a column of the survival frame: pick one of {offered}, or by=None for one curve. "
            + ("survival_frame gives first_category only when the transactions have a category column."
               if by == "first_category" else ""))
    cols = [duration, event] + ([by] if by else []) + ([weight] if weight else [])
    require_columns(frame, cols, table="survival frame", purpose="for Kaplan-Meier")
    data = _collect(frame.select(cols))
    data = _check_survival_columns(data, duration, event)
    if weight is not None:
        if not data.schema[weight].is_numeric():
            raise CustlabError(f"Column '{weight}' (weight) must hold customer counts >= 0; it is not numeric.")
        bad = data.filter(pl.col(weight).is_null() | (pl.col(weight) < 0)).height
        if bad:
            raise CustlabError(f"Column '{weight}' (weight) must hold customer counts >= 0; {bad} row(s) are null or "
                               f"negative.")
    if top_groups is not None:
        if isinstance(top_groups, bool) or not isinstance(top_groups, int) or top_groups < 1:
            raise CustlabError(f"top_groups must be a whole number >= 1 (or None), got {top_groups!r}.")
        if by is not None:
            data = _pool_small_groups(data, by, top_groups, weight)
    data = data.with_columns(_group_labels(data, by, max_groups))
    counts = (
        data.group_by("group", duration, event)
        .agg(w=pl.col(weight).sum() if weight else pl.len())
        .filter(pl.col("w") > 0)
        .sort("group", duration, event)
    )
    at_days = [_check_days(t, "at", allow_zero=True) for t in at]
    curves, summary, fitters = [], [], {}
    for (group,), part in counts.group_by("group", maintain_order=True):
        km = KaplanMeierFitter(alpha=alpha).fit(
            part[duration].to_numpy().astype(float),
            part[event].cast(pl.Int8).to_numpy(),
            weights=part["w"].to_numpy().astype(float),
            label=str(group),
        )
        fitters[group] = km
        table = km.event_table
        ci = km.confidence_interval_.to_numpy()
        curve = pl.DataFrame({
            "group": [group] * len(table),
            "days": km.survival_function_.index.to_numpy().astype(float),
            "survival": km.survival_function_.iloc[:, 0].to_numpy(),
            "lower": ci[:, 0],
            "upper": ci[:, 1],
            "at_risk": np.rint(table["at_risk"].to_numpy()).astype(np.int64),
            "churned": np.rint(table["observed"].to_numpy()).astype(np.int64),
            "censored": np.rint(table["censored"].to_numpy()).astype(np.int64),
        })
        curves.append(curve)
        med = median_survival_times(km.confidence_interval_).to_numpy().ravel()
        row = {
            "group": group,
            "customers": int(part["w"].sum()),
            "churned": int(part.filter(pl.col(event))["w"].sum()),
            "median_days": _finite(km.median_survival_time_),
            "median_lower": _finite(med[0]),
            "median_upper": _finite(med[1]),
        }
        surv = km.survival_function_at_times(at_days).to_numpy() if at_days else []
        # beyond the longest follow-up the curve is not known, unless it has reached 0 (the last customer churned)
        followed = float(part[duration].max())
        ended = float(km.survival_function_.iloc[-1, 0]) == 0.0
        for t, s in zip(at_days, surv, strict=True):
            row[f"survival_{t}d"] = float(s) if t <= followed or ended else None
        summary.append(row)
    order = sorted(range(len(summary)), key=lambda i: -summary[i]["customers"])
    summary_frame = pl.DataFrame([summary[i] for i in order]).with_columns(
        pl.col("customers", "churned").cast(pl.Int64),
        pl.col("median_days", "median_lower", "median_upper").cast(pl.Float64),
        *(pl.col(name).cast(pl.Float64) for name in dict.fromkeys(f"survival_{t}d" for t in at_days)),
    )
    logrank = _logrank(counts, duration, event) if by else None
    return KaplanMeier(pl.concat(curves), summary_frame, logrank, by, alpha, fitters)
def _logrank(counts: pl.DataFrame, duration: str, event: str) -> pl.DataFrame:
    _import_lifelines()
    from lifelines.statistics import multivariate_logrank_test

    def test(part: pl.DataFrame):
        res = multivariate_logrank_test(
            part[duration].to_numpy().astype(float),
            part["group"].to_numpy(),
            part[event].cast(pl.Int8).to_numpy(),
            weights=part["w"].to_numpy().astype(float),
        )
        return float(res.test_statistic), int(res.degrees_of_freedom), float(res.p_value)

    groups = counts.group_by("group").agg(pl.col("w").sum()).sort("w", descending=True)["group"].to_list()
    rows = [("(all)", "(all)", *test(counts))]
    for i, a in enumerate(groups):
        for b in groups[i + 1:]:
            rows.append((a, b, *test(counts.filter(pl.col("group").is_in([a, b])))))
    return pl.DataFrame(rows, schema={"group_a": pl.String, "group_b": pl.String, "statistic": pl.Float64,
                                      "df": pl.Int64, "p_value": pl.Float64}, orient="row")


# ---------------------------------------------------------------------------
