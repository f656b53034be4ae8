"""``lift``: every randomised comparison in custlab goes through here (A/B tests, campaigns, e-mails).

One row per customer in, one row per (group, outcome) out: the group's rate
or mean, the control's, the absolute and relative lift with their intervals,
the p-value and both group sizes. A 0/1 (or boolean) outcome is a *rate*
(Wilson / Newcombe / Katz intervals, score or Fisher test); any other number
is a *mean* (Welch interval and test, delta-method relative interval), see
:mod:`custlab.campaigns.stats`. ``method="bootstrap"`` replaces the analytic
intervals by percentile intervals of ``n_boot`` resamples of the customers
within each group (seeded by ``seed``); the p-values stay analytic.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np
import polars as pl

from custlab._types import Frame
from custlab.campaigns.stats import Comparison, check_ci, compare_means, compare_rates, percentile_interval
from custlab.data.schema import check_frame
from custlab.exceptions import CustlabError, CustlabWarning

__all__ = ["LIFT_COLUMNS", "CampaignWarning", "NoControlGroupError", "lift", "outcome_kind"]

#: Columns of :func:`lift`'s table, in order.
LIFT_COLUMNS = (
    "group", "outcome", "kind", "n", "n_control", "rate", "control_rate", "abs_lift", "ci_low", "ci_high",
    "rel_lift", "rel_ci_low", "rel_ci_high", "p_value", "test",
)
#: Size ratio between the largest and smallest group above which :func:`lift` warns.
IMBALANCE_RATIO = 10.0

Method = Literal["analytic", "bootstrap"]


class CampaignWarning(CustlabWarning):
    """A comparison can be computed but deserves a look (very unequal groups, few conversions, ...)."""


class NoControlGroupError(CustlabError):
    """A randomised comparison was asked for, but the data hold no control group."""


def outcome_kind(values: pl.Series) -> str:
    """``"rate"`` for a boolean or 0/1 column, ``"mean"`` for any other number.

    >>> outcome_kind(pl.Series([0, 1, 1])), outcome_kind(pl.Series([0.0, 12.5]))
    ('rate', 'mean')
    """
    if values.dtype == pl.Boolean:
        return "rate"
    distinct = set(values.drop_nulls().unique().to_list())
    return "rate" if distinct <= {0, 1} else "mean"


def _outcome_values(frame: pl.DataFrame, name: str) -> np.ndarray:
    if name not in frame.columns:
        raise CustlabError(f"outcome column {name!r} is not in the table; its columns are {frame.columns}.")
    series = frame[name]
    if not (series.dtype.is_numeric() or series.dtype == pl.Boolean):
        raise CustlabError(
            f"outcome column {name!r} must be numeric or boolean (one value per customer), got {series.dtype}. "
            f"Cast it first, e.g. pl.col({name!r}).cast(pl.Float64)."
        )
    nulls = series.null_count()
    if nulls:
        raise CustlabError(
            f"outcome column {name!r} has {nulls:,} missing value(s) of {series.len():,}. custlab does not drop "
            f"customers silently: fill them (0 for 'did not buy') or filter those customers out first."
        )
    values = series.cast(pl.Float64).to_numpy()
    bad = ~np.isfinite(values)
    if bad.any():
        raise CustlabError(f"outcome column {name!r} has {int(bad.sum()):,} infinite or NaN value(s); fix them first.")
    return values


def _groups(frame: pl.DataFrame, group: str, control: object) -> tuple[pl.Series, list]:
    if group not in frame.columns:
        raise CustlabError(f"group column {group!r} is not in the table; its columns are {frame.columns}.")
    labels = frame[group]
    nulls = labels.null_count()
    if nulls:
        raise CustlabError(
            f"group column {group!r} has {nulls:,} customer(s) without a group; assign them or filter them out."
        )
    present = labels.unique(maintain_order=True).to_list()
    if control not in present:
        raise NoControlGroupError(
            f"control group {control!r} is not among the values of {group!r} ({present[:10]}): without a control "
            f"group a lift cannot be measured. Pass the control's label as control=, or, if the campaign had no "
            f"control, use custlab.campaigns.did or custlab.campaigns.matched (weaker evidence)."
        )
    others = [g for g in present if g != control]
    if not others:
        raise CustlabError(f"only the control group {control!r} is in {group!r}: there is nothing to compare it with.")
    return labels, others


def _bootstrap(y1: np.ndarray, y0: np.ndarray, n_boot: int, ci: float, rng: np.random.Generator,
               rate: bool) -> tuple[tuple[float, float], tuple[float, float] | None]:
    """Percentile intervals of the difference and of the ratio - 1 of two means, resampling within groups."""
    def means(y: np.ndarray) -> np.ndarray:
        if rate:
            return rng.binomial(y.size, y.mean(), n_boot) / y.size
        out = np.empty(n_boot)
        chunk = max(1, 4_000_000 // max(y.size, 1))
        for start in range(0, n_boot, chunk):
            stop = min(start + chunk, n_boot)
            out[start:stop] = y[rng.integers(0, y.size, (stop - start, y.size))].mean(axis=1)
        return out

    b1, b0 = means(y1), means(y0)
    diff = percentile_interval(b1 - b0, ci)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = percentile_interval(b1 / b0 - 1.0, ci) if y0.mean() > 0 else None
    return diff, ratio


def _mean_var(y: np.ndarray) -> tuple[float, float]:
    """Mean and sample variance of ``y`` from exactly rounded sums (:func:`math.fsum`): the same in any order of
    the customers, to the last bit (numpy's pairwise sums are not)."""
    mean = math.fsum(y.tolist()) / y.size
    var = math.fsum(((y - mean) ** 2).tolist()) / (y.size - 1) if y.size > 1 else 0.0
    return mean, var


def _compare(y1: np.ndarray, y0: np.ndarray, kind: str, ci: float, method: str, n_boot: int,
             rng: np.random.Generator) -> Comparison:
    if kind == "rate":
        result = compare_rates(float(y1.sum()), y1.size, float(y0.sum()), y0.size, ci=ci)
    else:
        (m1, v1), (m0, v0) = _mean_var(y1), _mean_var(y0)
        result = compare_means(m1, v1, y1.size, m0, v0, y0.size, ci=ci)
    if method == "bootstrap":
        (low, high), ratio = _bootstrap(y1, y0, n_boot, ci, rng, kind == "rate")
        rel_low, rel_high = ratio if ratio is not None and result.rel_lift is not None else (None, None)
        result = Comparison(result.level, result.control_level, result.abs_lift, low, high, result.rel_lift,
                            rel_low, rel_high, result.p_value, f"{result.test}+bootstrap")
    return result


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def lift(
    frame: Frame,
    *,
    group: str,
    control: object,
    outcomes: str | Sequence[str],
    ci: float = 0.95,
    method: Method = "analytic",
    n_boot: int = 2000,
    seed: int = 0,
) -> pl.DataFrame:
    """Each group against the control group, for each outcome, with intervals and p-values.

    Parameters
    ----------
    frame
        One row per customer (DataFrame or LazyFrame): a group column and one
        column per outcome. 0/1 or boolean outcomes are rates (converted,
        visited, repurchased); other numbers are means per customer (spend,
        revenue). Missing outcomes raise: decide what a missing value means
        (usually 0) before calling.
    group
        Column holding each customer's group (treatment arm).
    control
        The control group's value in ``group`` (e.g. ``"control"``, ``"No E-Mail"``).
    outcomes
        One outcome column or several.
    ci
        Confidence level of the intervals (0.95).
    method
        ``"analytic"`` (default; see :mod:`custlab.campaigns.stats`) or
        ``"bootstrap"`` (percentile intervals of ``n_boot`` resamples within
        each group, seeded by ``seed``).
    n_boot, seed
        Bootstrap replicates and seed (``method="bootstrap"`` only).

    Returns
    -------
    polars.DataFrame
        One row per (group, outcome), groups in order of appearance:
        ``group`` (String), ``outcome`` (String), ``kind`` ("rate" or "mean"),
        ``n`` and ``n_control`` (Int64, customers), ``rate`` and
        ``control_rate`` (Float64, the rate or mean per customer of the group
        and of the control), ``abs_lift`` = rate - control_rate with its
        interval ``ci_low``, ``ci_high``; ``rel_lift`` = rate / control_rate
        - 1 with ``rel_ci_low``, ``rel_ci_high`` (null when the control rate
        is 0, where a relative lift is undefined), ``p_value`` (two-sided) and
        ``test`` (``score_z``, ``fisher_exact`` or ``welch_t``; ``+bootstrap``
        when the intervals were resampled).

    Raises
    ------
    NoControlGroupError
        ``control`` is not a value of ``group`` (the message points to
        :func:`custlab.campaigns.did` and :func:`custlab.campaigns.matched`).
    CustlabError
        A column is missing, an outcome is not numeric or has missing values,
        a group is missing for some customers, or ``ci`` is not in (0, 1).

    Warns
    -----
    CampaignWarning
        When one group is more than ten times the size of another: the
        intervals account for it, but the smaller group limits what can be learnt.

    Examples
    --------
    >>> data = pl.DataFrame({"arm": ["mail"] * 4 + ["none"] * 4,
    ...                      "bought": [1, 1, 0, 1, 0, 1, 0, 0]})
    >>> lift(data, group="arm", control="none", outcomes="bought").select("rate", "control_rate", "abs_lift").rows()
    [(0.75, 0.25, 0.5)]
    """
    check_frame(frame)
    check_ci(ci)
    if method not in ("analytic", "bootstrap"):
        raise CustlabError(f"method must be 'analytic' or 'bootstrap', got {method!r}.")
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 100:
        raise CustlabError(f"n_boot must be an integer of at least 100, got {n_boot!r}.")
    names = [outcomes] if isinstance(outcomes, str) else list(outcomes)
    if not names:
        raise CustlabError("outcomes must name at least one column.")
    if group in names:
        raise CustlabError(f"the group column {group!r} cannot also be an outcome.")
    data = frame.lazy().select(group, *names).collect() if isinstance(frame, pl.LazyFrame) else frame
    if data.height == 0:
        raise CustlabError("the table has no customers (0 rows).")
    labels, others = _groups(data, group, control)
    is_control = (labels == control).to_numpy()
    sizes = {g: int((labels == g).sum()) for g in [control, *others]}
    if max(sizes.values()) > IMBALANCE_RATIO * min(sizes.values()):
        warnings.warn(
            f"groups of very different size ({', '.join(f'{g}: {n:,}' for g, n in sizes.items())}): the intervals "
            f"account for it, but the smallest group limits the precision; a balanced split learns more per customer.",
            CampaignWarning, stacklevel=2,
        )
    rng = np.random.default_rng(seed)
    rows = []
    for name in names:
        values = _outcome_values(data, name)
        kind = outcome_kind(data[name])
        y0 = values[is_control]
        for g in others:
            y1 = values[(labels == g).to_numpy()]
            c = _compare(y1, y0, kind, ci, method, n_boot, rng)
            rows.append({
                "group": str(g), "outcome": name, "kind": kind, "n": y1.size, "n_control": y0.size,
                "rate": c.level, "control_rate": c.control_level, "abs_lift": c.abs_lift,
                "ci_low": _finite(c.ci_low), "ci_high": _finite(c.ci_high), "rel_lift": _finite(c.rel_lift),
                "rel_ci_low": _finite(c.rel_ci_low), "rel_ci_high": _finite(c.rel_ci_high),
                "p_value": c.p_value, "test": c.test,
            })
    schema = {"group": pl.String, "outcome": pl.String, "kind": pl.String, "n": pl.Int64, "n_control": pl.Int64,
              **{c: pl.Float64 for c in LIFT_COLUMNS[5:14]}, "test": pl.String}
    return pl.DataFrame(rows, schema=schema)
