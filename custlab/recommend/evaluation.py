"""Offline evaluation on a temporal split: every model beside the random and popularity baselines.

:func:`evaluate` fits each model on the orders before ``split_date`` and
judges its top-k lists on what customers bought from ``split_date`` to
``test_end``. Only customers with purchases on both sides count; by default
only items new to the customer are relevant and lists leave out what the
customer already bought (``new_items_only``): recommending last month's
order back is easy and rarely what a shop needs. Metrics are those of
:mod:`custlab.recommend.metrics`, averaged over customers, with 95%
bootstrap intervals over customers (the same resamples for every model, so
the lift over popularity has a paired interval too).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from custlab._dates import as_datetime
from custlab._i18n import check_language, t
from custlab._plotting import PALETTE, figure_axes, in_language_font
from custlab._types import DateLike, Frame, Language
from custlab.data.ids import match_ids
from custlab.data.schema import check_frame, naive_datetimes, require_columns
from custlab.exceptions import CustlabError, EmptyDataError
from custlab.recommend.api import make_model
from custlab.recommend.base import Recommender, check_k
from custlab.recommend.matrix import interaction_matrix
from custlab.recommend.metrics import METRICS, catalogue_measures, hits_of, per_customer, truth_matrix

__all__ = ["DEFAULT_MODELS", "Evaluation", "evaluate", "plot_evaluation"]

#: Models :func:`evaluate` compares unless told otherwise.
DEFAULT_MODELS = ("random", "popularity", "knn", "ease", "als", "default")


@dataclass(frozen=True)
class Evaluation:
    """Offline evaluation of recommenders on a temporal split (see :func:`evaluate`).

    Attributes
    ----------
    table
        One row per model (:meth:`to_frame`).
    k, split_date, test_end, new_items_only
        The settings.
    customers
        Customers evaluated (bought before and after the split, with a relevant item).
    train_customers, items
        Customers and products of the training history.
    notes
        The default model's choice and anything left out, in English.
    """

    table: pl.DataFrame = field(repr=False)
    k: int
    split_date: dt.datetime
    test_end: dt.datetime
    new_items_only: bool
    customers: int
    train_customers: int
    items: int
    notes: tuple[str, ...] = field(default=(), repr=False)

    def to_frame(self) -> pl.DataFrame:
        """``model``, ``customers``; for each of precision, recall, ndcg, hit_rate, map the mean and its
        ``_low``/``_high`` 95% bootstrap bounds; ``coverage``, ``novelty`` (bits), ``long_tail_share``; with
        popularity among the models, ``precision_lift``/``ndcg_lift`` (share above popularity) and their bounds."""
        return self.table

    @property
    def summary(self) -> pl.DataFrame:
        """``model``, ``precision``, ``ndcg``, ``coverage``, ``long_tail_share`` (and the lifts), best NDCG first."""
        keep = ["model", "precision", "ndcg", "coverage", "long_tail_share"]
        keep += [c for c in ("precision_lift", "ndcg_lift") if c in self.table.columns]
        return self.table.select(keep).sort("ndcg", descending=True)

    def lift(self, model: str, metric: str = "ndcg") -> tuple[float, float, float]:
        """``(lift, low, high)`` of ``model`` over popularity on ``metric`` ("precision" or "ndcg")."""
        column = f"{metric}_lift"
        if column not in self.table.columns:
            raise CustlabError("Lifts need 'popularity' among the evaluated models.")
        row = self.table.filter(pl.col("model") == model)
        if row.height == 0:
            raise CustlabError(f"No model {model!r} was evaluated; models: {self.table['model'].to_list()}.")
        return tuple(float(row[c][0]) for c in (column, f"{column}_low", f"{column}_high"))  # type: ignore[return-value]

    def describe(self, language: Language = "en") -> str:
        """Plain sentences: the split, the customers, the best model against popularity and random."""
        check_language(language)
        best = self.table.sort("ndcg", descending=True).row(0, named=True)
        parts = [t("recommend.eval.setup", language, customers=f"{self.customers:,}", k=self.k,
                   split=f"{self.split_date:%Y-%m-%d}", end=f"{self.test_end:%Y-%m-%d}",
                   scope=t("recommend.eval.new_only" if self.new_items_only else "recommend.eval.all_items", language))]
        parts.append(t("recommend.eval.best", language, model=t(f"recommend.model.{best['model']}", language), k=self.k,
                       p=f"{best['precision']:.3f}", p_low=f"{best['precision_low']:.3f}",
                       p_high=f"{best['precision_high']:.3f}", ndcg=f"{best['ndcg']:.3f}",
                       ndcg_low=f"{best['ndcg_low']:.3f}", ndcg_high=f"{best['ndcg_high']:.3f}"))
        for name in ("popularity", "random"):
            row = self.table.filter(pl.col("model") == name)
            if row.height and name != best["model"]:
                parts.append(t("recommend.eval.baseline", language, model=t(f"recommend.model.{name}", language),
                               p=f"{row['precision'][0]:.3f}", ndcg=f"{row['ndcg'][0]:.3f}"))
        if "ndcg_lift" in self.table.columns and best["model"] != "popularity":
            parts.append(t("recommend.eval.lift", language, lift=f"{best['ndcg_lift']:+.0%}",
                           low=f"{best['ndcg_lift_low']:+.0%}", high=f"{best['ndcg_lift_high']:+.0%}"))
        return ("" if language == "zh" else " ").join(parts)

    def __repr__(self) -> str:
        best = self.table.sort("ndcg", descending=True).row(0, named=True)
        return (f"Evaluation({self.table.height} models on {self.customers:,} customers, split "
                f"{self.split_date:%Y-%m-%d}, k={self.k}; best {best['model']}: P@{self.k} {best['precision']:.3f}, "
                f"NDCG@{self.k} {best['ndcg']:.3f})")


def _test_lines(transactions: Frame, split: dt.datetime, end: dt.datetime | None, item: str) -> pl.DataFrame:
    lines = (transactions.lazy().select("customer_id", "order_date", pl.col(item).cast(pl.String).alias("_item"))
             .filter(pl.col("order_date").cast(pl.Datetime("us")) >= split).drop_nulls().collect())
    if end is not None:
        lines = lines.filter(pl.col("order_date").cast(pl.Datetime("us")) < end)
    return lines


def evaluate(
    transactions: Frame,
    *,
    split_date: DateLike,
    k: int = 10,
    models: Sequence[str | Recommender] = DEFAULT_MODELS,
    test_end: DateLike | None = None,
    new_items_only: bool = True,
    events: Frame | None = None,
    segments: Frame | None = None,
    by: str = "segment",
    novelty: float = 0.0,
    sample: int | None = None,
    n_boot: int = 200,
    seed: int = 0,
) -> Evaluation:
    """Judge recommenders on a temporal split (module docstring).

    Parameters
    ----------
    transactions : polars DataFrame or LazyFrame
        Clean canonical transactions with ``customer_id``, ``order_date``, ``product_id``.
    split_date : date, datetime or ISO text
        Models learn from orders before it (a date means its midnight, as ``as_of``).
    k : int, default 10
        List length; must not exceed the training catalogue.
    models : sequence of names or Recommender instances
        Default ``("random", "popularity", "knn", "ease", "als", "default")`` (names of
        :data:`custlab.recommend.MODELS`).
    test_end : date, datetime or ISO text, optional
        End (excluded) of the test window; default the end of the data.
    new_items_only : bool, default True
        Relevant items are those new to the customer, and lists leave out bought items; False judges lists
        that may repeat purchases against everything bought in the test window.
    events : polars DataFrame or LazyFrame, optional
        Behaviour log before the split, for the models (views and carts).
    segments, by
        For ``"segment_popularity"``: ``customer_id`` and the segment column ``by``.
    novelty : float, default 0
        Long-tail knob applied to every model (see :func:`custlab.recommend.recommend`).
    sample : int, optional
        Evaluate a random sample of this many test customers (drawn with ``seed``).
    n_boot : int, default 200
        Bootstrap resamples of customers for the intervals (0: no intervals; bounds equal the mean).
    seed : int, default 0

    Returns
    -------
    Evaluation

    Raises
    ------
    EmptyDataError
        No order on or after ``split_date`` (an empty test window), or no customer bought on both sides.
    CustlabError
        ``k`` larger than the training catalogue (precision@k would count impossible slots).
    """
    k = check_k(k)
    check_frame(transactions, argument="transactions")
    require_columns(transactions, ["customer_id", "order_date", "product_id"], table="transactions",
                    purpose="for evaluating recommendations")
    transactions, events = naive_datetimes(transactions), naive_datetimes(events, "events")
    ids = match_ids({"transactions": transactions, "segments": segments})
    transactions, segments = ids["transactions"], ids["segments"]
    split = as_datetime(split_date, "split_date")
    end = as_datetime(test_end, "test_end")
    if end is not None and end <= split:
        raise CustlabError(f"test_end ({end:%Y-%m-%d}) must be after split_date ({split:%Y-%m-%d}).")
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 0:
        raise CustlabError(f"n_boot must be a whole number of 0 or more, got {n_boot!r}.")
    test = _test_lines(transactions, split, end, "product_id")
    if test.height == 0:
        raise EmptyDataError(f"No order is on or after split_date={split:%Y-%m-%d}"
                             f"{'' if end is None else f' and before test_end={end:%Y-%m-%d}'}: the test window is "
                             f"empty. Choose an earlier split_date.")
    train = interaction_matrix(transactions, events=events, as_of=split)
    if k > train.shape[1]:
        raise CustlabError(f"k={k} is more than the {train.shape[1]:,} products of the training history; "
                           f"choose k of at most {train.shape[1]:,}.")
    cols = train.columns_of(test["_item"])
    unknown = test["_item"].rank("dense").to_numpy().astype(np.int64) + train.shape[1]
    users, truth, relevant = truth_matrix(train.bought, train.rows_of(test["customer_id"]),
                                          np.where(cols >= 0, cols, unknown), new_items_only=new_items_only)
    if users.size == 0:
        raise EmptyDataError(
            f"No customer bought both before and after split_date={split:%Y-%m-%d}"
            f"{' anything new to them' if new_items_only else ''}: there is nobody to evaluate on. "
            f"Choose another split_date{' or new_items_only=False' if new_items_only else ''}.")
    rng = np.random.default_rng(seed)
    if sample is not None and (isinstance(sample, bool) or not isinstance(sample, int) or sample < 1):
        raise CustlabError(f"sample must be a whole number of customers of 1 or more (or None for all), got {sample!r}.")
    if sample is not None and users.size > sample:
        pick = np.sort(rng.choice(users.size, int(sample), replace=False))
        users, relevant = users[pick], relevant[pick]
    resamples = rng.integers(0, users.size, size=(n_boot, users.size)) if n_boot else None
    rows, notes, per_model = [], list(train.notes), {}
    labels: list[str] = []
    for spec in models:
        model = make_model(spec, segments=segments, by=by, seed=seed,
                           lists="new" if new_items_only else "both").fit(train)
        label = spec if isinstance(spec, str) else model.name
        label = label if label not in labels else f"{label}_{len(labels)}"
        labels.append(label)
        top = model.top_k(users, k, exclude_bought=new_items_only, novelty=novelty)
        metrics = per_customer(hits_of(top.items, truth, users), relevant)
        per_model[label] = metrics
        row = {"model": label, "customers": int(users.size)}
        for name in METRICS:
            row[name] = float(metrics[name].mean())
            low, high = _interval(metrics[name], resamples)
            row[f"{name}_low"], row[f"{name}_high"] = low, high
        row.update(catalogue_measures(top.items, train.buyers, train.shape[0]))
        rows.append(row)
        if hasattr(model, "why"):
            notes.append(model.why("en"))
    table = pl.DataFrame(rows)
    if "popularity" in per_model:
        table = _with_lifts(table, per_model, resamples)
    return Evaluation(table, k, split, end or _end_of(test), new_items_only, int(users.size), train.shape[0],
                      train.shape[1], tuple(notes))


def _end_of(test: pl.DataFrame) -> dt.datetime:
    last = test["order_date"].max()
    return dt.datetime.combine(last.date() + dt.timedelta(days=1), dt.time())


def _interval(values: np.ndarray, resamples: np.ndarray | None) -> tuple[float, float]:
    if resamples is None:
        mean = float(values.mean())
        return mean, mean
    means = values[resamples].mean(axis=1)
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def _with_lifts(table: pl.DataFrame, per_model: dict, resamples: np.ndarray | None) -> pl.DataFrame:
    """Share above popularity of precision and NDCG, with paired bootstrap bounds (0 when popularity scores 0)."""
    base = per_model["popularity"]
    extra = {f"{m}_lift{s}": [] for m in ("precision", "ndcg") for s in ("", "_low", "_high")}
    for label in table["model"].to_list():
        for metric in ("precision", "ndcg"):
            mine, theirs = per_model[label][metric], base[metric]
            lift = _ratio(mine.mean(), theirs.mean())
            if resamples is None:
                low = high = lift
            else:
                ratios = [_ratio(a, b) for a, b in zip(mine[resamples].mean(axis=1), theirs[resamples].mean(axis=1))]
                low, high = float(np.quantile(ratios, 0.025)), float(np.quantile(ratios, 0.975))
            extra[f"{metric}_lift"].append(lift)
            extra[f"{metric}_lift_low"].append(low)
            extra[f"{metric}_lift_high"].append(high)
    return table.with_columns(**{name: pl.Series(values, dtype=pl.Float64) for name, values in extra.items()})


def _ratio(a: float, b: float) -> float:
    return float(a / b - 1.0) if b > 0 else 0.0


@in_language_font
def plot_evaluation(evaluation: Evaluation, *, metric: str = "ndcg", ax=None, language: Language = "en"):
    """Bars of ``metric`` per model with the 95% bootstrap interval; returns the Figure.

    ``metric`` is one of precision, recall, ndcg, hit_rate, map.
    """
    check_language(language)
    if metric not in METRICS:
        raise CustlabError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}.")
    fig, ax = figure_axes(ax, figsize=(7.0, 0.5 + 0.5 * evaluation.table.height))
    table = evaluation.table.sort(metric)
    values = table[metric].to_numpy()
    low = values - table[f"{metric}_low"].to_numpy()
    high = table[f"{metric}_high"].to_numpy() - values
    names = [t(f"recommend.model.{m}", language) for m in table["model"].to_list()]
    colours = [PALETTE[1] if m in ("random", "popularity") else PALETTE[0] for m in table["model"].to_list()]
    ax.barh(names, values, xerr=np.vstack([np.maximum(low, 0), np.maximum(high, 0)]), color=colours, capsize=3)
    metric_label = t(f"recommend.metric.{metric}", language, k=evaluation.k)
    ax.set_xlabel(metric_label)
    ax.set_title(t("recommend.eval.title", language, metric=metric_label,
                   customers=f"{evaluation.customers:,}", split=f"{evaluation.split_date:%Y-%m-%d}"))
    return fig
