"""Hierarchies of series (total > category > product) and forecasts that add up across them.

:func:`hierarchy_series` builds the series of every node from transactions:
the bottom level (e.g. each product within its category) with
:func:`custlab.forecast.series`, every level above as exact sums of the one
below, and ``"total"`` on top. :func:`reconcile` makes a :class:`Forecast` of
all those nodes *coherent* (each parent equals the sum of its children) by
linear reconciliation ``y~ = S G y^`` (Wickramasuriya, Athanasopoulos &
Hyndman 2019):

* ``"bottom_up"``: the bottom forecasts, summed up;
* ``"ols"``: G from an identity weight matrix;
* ``"wls_struct"``: weights by the number of bottom series under each node;
* ``"wls_var"``: weights by each node's in-sample residual variance;
* ``"mint_shrink"`` (default): weights by the residual covariance, shrunk
  towards its diagonal (Schäfer & Strimmer 2005), the MinT estimator.

Why our own numpy and not hierarchicalforecast: reconciliation is these few
matrix lines on a small S, and doing it here keeps one dependency fewer and
polars throughout; the tests compare the results with hierarchicalforecast's
``MinTrace`` when it is installed. Intervals are the base intervals moved by
the change of the mean (a documented approximation: the width of each
node's interval is its own model's). A series that never went below zero
keeps non-negative forecasts: negative reconciled bottom forecasts are set
to zero and the levels above summed again, so the result still adds up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import polars as pl

from custlab._types import DateLike, Frame
from custlab.exceptions import CustlabError, warn_outside
from custlab.forecast.models import interval_columns
from custlab.forecast.predict import Forecast, with_table
from custlab.forecast.series import TOTAL, ForecastWarning, _series_id, series

__all__ = ["METHODS", "Hierarchy", "hierarchy_series", "reconcile", "shrunk_covariance"]

Method = Literal["bottom_up", "ols", "wls_struct", "wls_var", "mint_shrink"]
METHODS: tuple[str, ...] = ("bottom_up", "ols", "wls_struct", "wls_var", "mint_shrink")
#: Largest number of nodes MinT reconciles (its covariance is nodes x nodes); beyond it wls_var is used.
MINT_NODES = 3000
#: Fewest in-sample periods in which every pair of nodes has residuals, for MinT's covariance.
MINT_PERIODS = 8


@dataclass(frozen=True)
class Hierarchy:
    """Series of every node of a hierarchy and how the nodes nest.

    Attributes
    ----------
    series
        A series frame of all nodes (``series_id``, ``period``, ``value``).
    nodes
        ``series_id``, ``level`` (``"total"`` or the column name), ``parent``
        (null for the total), ``bottom`` (Boolean), in top-down order.
    levels
        The columns, from the top level down.
    """

    series: pl.DataFrame = field(repr=False)
    nodes: pl.DataFrame = field(repr=False)
    levels: tuple[str, ...]

    def to_frame(self) -> pl.DataFrame:
        """The series of all nodes."""
        return self.series

    @property
    def summary(self) -> pl.DataFrame:
        """Number of nodes per level."""
        return self.nodes.group_by("level", maintain_order=True).len(name="nodes")

    def summing_matrix(self) -> tuple[np.ndarray, list[str], list[str]]:
        """``(S, node ids, bottom ids)``: row i of S marks the bottom series that add up to node i."""
        ids = self.nodes["series_id"].to_list()
        bottom = self.nodes.filter(pl.col("bottom"))["series_id"].to_list()
        position = {b: j for j, b in enumerate(bottom)}
        children: dict[str, list[str]] = {}
        for sid, parent in self.nodes.select("series_id", "parent").iter_rows():
            if parent is not None:
                children.setdefault(parent, []).append(sid)
        S = np.zeros((len(ids), len(bottom)))
        for i, sid in enumerate(ids):
            stack = [sid]
            while stack:
                node = stack.pop()
                if node in position:
                    S[i, position[node]] = 1.0
                stack.extend(children.get(node, ()))
        return S, ids, bottom

    def __repr__(self) -> str:
        counts = ", ".join(f"{level} {n}" for level, n in self.summary.iter_rows())
        return f"Hierarchy({counts}; {self.series['period'].n_unique()} periods)"


def hierarchy_series(
    transactions: Frame,
    *,
    levels: Sequence[str] = ("category", "product_id"),
    freq: str = "1mo",
    measure: str = "revenue",
    as_of: DateLike | None = None,
) -> Hierarchy:
    """Series of the total, of each value of ``levels[0]``, of each ``levels[1]`` within it, and so on.

    Parameters
    ----------
    transactions
        Order lines with ``order_date``, ``amount`` (or ``quantity``) and the ``levels`` columns.
    levels
        Grouping columns from the top down, e.g. ``("category", "product_id")``.
    freq, measure, as_of
        As in :func:`custlab.forecast.series`.

    Returns
    -------
    Hierarchy
        ``series`` holds every node: ``"total"``, ``"<category>"``,
        ``"<category> / <product>"`` ...; each parent is the exact sum of its
        children in every period.

    Examples
    --------
    >>> import datetime as dt
    >>> tx = pl.DataFrame({"order_date": [dt.datetime(2024, 1, 5), dt.datetime(2024, 1, 9), dt.datetime(2024, 2, 3)],
    ...                    "amount": [3.0, 4.0, 5.0], "category": ["tea", "tea", "toys"],
    ...                    "product_id": ["green", "black", "kite"]})
    >>> h = hierarchy_series(tx, as_of="2024-03-01")
    >>> h.nodes["series_id"].to_list()
    ['total', 'tea', 'toys', 'tea / black', 'tea / green', 'toys / kite']
    """
    levels = tuple(levels)
    if not levels or not all(isinstance(c, str) and c for c in levels):
        raise CustlabError(f"levels must be one or more column names from the top down, got {levels!r}.")
    bottom = series(transactions, by=list(levels), freq=freq, measure=measure, as_of=as_of)
    keys = (
        transactions.lazy().select(*levels).unique()
        .with_columns(**{f"_id{k}": _series_id(list(levels[: k + 1])) for k in range(len(levels))})
        .collect()
    )
    frames = [bottom]
    nodes = []
    for depth in range(len(levels) - 1, -1, -1):
        own, parent = f"_id{depth}", f"_id{depth - 1}" if depth else None
        pairs = keys.select(own, *([parent] if parent else [])).unique()
        nodes.append(pairs.select(series_id=pl.col(own), level=pl.lit(levels[depth]),
                                  parent=pl.col(parent) if parent else pl.lit(TOTAL), bottom=pl.lit(depth == len(levels) - 1)))
        if depth:
            child = frames[-1].join(pairs, left_on="series_id", right_on=own)
            frames.append(child.group_by(series_id=pl.col(parent), period="period").agg(pl.col("value").sum()))
    top = frames[-1].group_by("period").agg(pl.col("value").sum()).with_columns(series_id=pl.lit(TOTAL))
    frames.append(top)
    nodes.append(pl.DataFrame({"series_id": [TOTAL], "level": ["total"], "parent": [None], "bottom": [False]},
                              schema={"series_id": pl.String, "level": pl.String, "parent": pl.String,
                                      "bottom": pl.Boolean}))
    present = set(bottom["series_id"].unique().to_list())
    node_table = pl.concat(nodes[::-1]).unique("series_id", keep="first", maintain_order=True)
    node_table = node_table.filter(pl.col("bottom").not_() | pl.col("series_id").is_in(list(present)))
    if node_table["series_id"].n_unique() != node_table.height or (
            pl.concat(nodes)["series_id"].is_duplicated().any()):
        clash = pl.concat(nodes).filter(pl.col("series_id").is_duplicated())["series_id"].unique().head(3).to_list()
        raise CustlabError(
            f"Node names repeat across levels {levels} (e.g. {clash}): a value of one level equals a value of "
            f"another or 'total'. Rename those values before building the hierarchy."
        )
    node_table = node_table.with_columns(
        order=pl.col("level").replace_strict({"total": -1, **{c: i for i, c in enumerate(levels)}}, default=99)
    ).sort("order", "series_id").drop("order")
    all_series = pl.concat([f.select("series_id", "period", "value") for f in frames]).sort("series_id", "period")
    return Hierarchy(series=all_series, nodes=node_table, levels=levels)


def shrunk_covariance(residuals: np.ndarray, ridge: float = 2e-8) -> np.ndarray:
    """Covariance of ``residuals`` (periods x series) shrunk towards its diagonal (Schäfer & Strimmer 2005).

    The covariance is the sample covariance (n - 1); its
    off-diagonal is multiplied by ``1 - lambda``, the shrinkage intensity
    being the estimated variance of the correlations over their squares
    (off-diagonal sums, clipped to [0, 1]); a diagonal below ``ridge`` is raised to it.
    Missing residuals (NaN, e.g. before a product's launch) are allowed: each
    pair uses the periods where both series have one. Without NaN this is
    hierarchicalforecast's ``mint_shrink`` covariance to 1e-8.

    >>> rng = np.random.default_rng(0)
    >>> w = shrunk_covariance(rng.normal(size=(200, 3)))
    >>> bool(np.allclose(w, w.T)) and bool(np.all(np.linalg.eigvalsh(w) > 0))
    True
    """
    x = np.asarray(residuals, dtype=float)
    seen = ~np.isnan(x)
    m = seen.astype(float)
    x0 = np.where(seen, x, 0.0)
    n_pair = m.T @ m  # periods where both series have a residual
    if (n_pair < 2).any():
        raise CustlabError("shrunk_covariance needs at least two common periods for every pair of series.")
    sums = x0.T @ m  # [i, j]: sum of series i over the periods shared with j
    cov = (x0.T @ x0 - sums * sums.T / n_pair) / (n_pair - 1)
    n_own = m.sum(axis=0)
    mean = x0.sum(axis=0) / n_own
    sd = np.sqrt(((x0 - mean) ** 2 * m).sum(axis=0) / (n_own - 1))
    sd[sd == 0] = 1.0
    z = np.where(seen, (x0 - mean) / sd, 0.0)  # standardised, 0 where missing
    w_mean = (z.T @ z) / n_pair  # mean of z_i z_j over the shared periods
    var_w = (z ** 2).T @ (z ** 2) - n_pair * w_mean ** 2  # sum of (z_i z_j - mean)^2 over them
    off = ~np.eye(x.shape[1], dtype=bool)
    numerator = (var_w / (n_pair * (n_pair - 1)))[off].sum()
    denominator = (w_mean[off] ** 2).sum()
    lam = float(np.clip(numerator / denominator, 0.0, 1.0)) if denominator > 0 else 1.0
    out = cov * (1.0 - lam)
    out[np.diag_indices_from(out)] = np.maximum(np.diag(cov), ridge)
    return out


def _weights(method: str, S: np.ndarray, ids: list[str], result: Forecast) -> tuple[np.ndarray, str]:
    if method == "ols":
        return np.eye(len(ids)), method
    if method == "wls_struct":
        return np.diag(S.sum(axis=1)), method
    res = result.residuals.filter(pl.col("series_id").is_in(ids))
    if method == "mint_shrink":
        wide = res.pivot(on="series_id", index="period", values="residual").sort("period")
        ok = wide.width == len(ids) + 1 and len(ids) <= MINT_NODES
        if ok:
            x = wide.select(ids).to_numpy().astype(float)
            seen = (~np.isnan(x)).astype(float)
            ok = bool((seen.T @ seen).min() >= MINT_PERIODS)
        if ok:
            return shrunk_covariance(x), method
        warn_outside(
            f"MinT needs in-sample residuals of every pair of the {len(ids)} nodes in at least {MINT_PERIODS} "
            f"common periods, and at most {MINT_NODES} nodes; reconciling with wls_var instead.",
            ForecastWarning,
        )
    variance = res.group_by("series_id").agg(v=(pl.col("residual") ** 2).mean())
    v = dict(variance.iter_rows())
    fallback = float(np.nanmean(list(v.values()))) if v else 1.0
    return np.diag([max(v.get(i, fallback) or fallback, 0.0) + 2e-8 for i in ids]), "wls_var"


def reconcile(result: Forecast, hierarchy: Hierarchy, *, method: Method = "mint_shrink") -> Forecast:
    """Make the forecasts of a hierarchy add up: every parent equals the sum of its children.

    Parameters
    ----------
    result
        A :class:`Forecast` of every node of ``hierarchy`` (``forecast(hierarchy.series, ...)``).
    hierarchy
        From :func:`hierarchy_series`.
    method
        One of :data:`METHODS` (see the module docstring).

    Returns
    -------
    Forecast
        Same shape; ``mean`` and the interval bounds moved, ``reconciled`` set
        to the method used ("wls_var" when MinT lacks the residuals it needs).

    Raises
    ------
    CustlabError
        Unknown method, or nodes without a forecast (the message lists them).
    """
    if method not in METHODS:
        raise CustlabError(f"method must be one of {list(METHODS)}, got {method!r}.")
    S, ids, bottom = hierarchy.summing_matrix()
    have = set(result.table["series_id"].unique().to_list())
    missing = [i for i in ids if i not in have]
    if missing:
        raise CustlabError(
            f"{len(missing)} node(s) of the hierarchy have no forecast (e.g. {missing[:3]}), so the levels cannot "
            f"be made to add up. Forecast hierarchy.series with a horizon every node's history covers."
        )
    table = result.table.filter(pl.col("series_id").is_in(ids))
    base = table.pivot(on="series_id", index="period", values="mean").sort("period")
    Y = base.select(ids).to_numpy().T  # nodes x horizon
    if method == "bottom_up":
        used = method
        bottom_rows = [ids.index(b) for b in bottom]
        rec_bottom = Y[bottom_rows]
    else:
        W, used = _weights(method, S, ids, result)
        Winv_S = np.linalg.solve(W, S)
        G = np.linalg.solve(S.T @ Winv_S, Winv_S.T)
        rec_bottom = G @ Y
    nonneg = result.history.group_by("series_id").agg(ok=pl.col("value").min() >= 0)
    if bool(nonneg.filter(pl.col("series_id").is_in(bottom))["ok"].all()):
        rec_bottom = np.clip(rec_bottom, 0.0, None)
    R = S @ rec_bottom
    shift = pl.DataFrame({"period": base["period"].to_list() * len(ids),
                          "series_id": np.repeat(ids, Y.shape[1]).tolist(),
                          "new": R.ravel().tolist(), "old": Y.ravel().tolist()})
    cols = interval_columns(result.levels)
    out = table.join(shift, on=["series_id", "period"], how="left").with_columns(
        delta=pl.col("new") - pl.col("old"))
    out = out.with_columns(mean=pl.col("new"), **{c: pl.col(c) + pl.col("delta") for c in cols})
    out = out.join(nonneg, on="series_id", how="left").with_columns(
        **{c: pl.when(pl.col("ok")).then(pl.col(c).clip(lower_bound=0.0)).otherwise(pl.col(c)) for c in cols})
    for v in result.levels:
        out = out.with_columns(pl.min_horizontal(f"lo_{v}", "mean").alias(f"lo_{v}"),
                               pl.max_horizontal(f"hi_{v}", "mean").alias(f"hi_{v}"))
    out = pl.concat([out.select(result.table.columns), result.table.filter(~pl.col("series_id").is_in(ids))])
    return with_table(result, out.sort("series_id", "period"), used)
