"""K-means customer segments on RFM, behaviour and preferences, with readable names.

RFM rule tables (:mod:`custlab.segments.rule_tables`) cut customers by fixed
score boxes. :func:`kmeans_segments` lets the data find the groups instead: it
builds one row of features per customer (:func:`customer_features`: recency,
frequency, monetary value, and when the data have them category shares,
channel mix, browsing intensity from events and price level), log-transforms
and standardises them, fits scikit-learn's ``KMeans`` for each k in a range,
keeps the k with the best silhouette score, and names each cluster from the
features that set it apart ("recent frequent high-spend cosmetics buyers").
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from custlab._dates import as_datetime, as_of_after, parse_within
from custlab._i18n import check_language, t
from custlab._types import DateLike, Frame, Language
from custlab.data.schema import check_frame, validate
from custlab.exceptions import CustlabError, CustlabWarning, SchemaError
from custlab.segments.rfm import rfm_table

__all__ = ["DEFAULT_FEATURES", "KMeansSegments", "LOG_FEATURES", "customer_features", "kmeans_segments"]

#: Features that are counts, days or money: clustered on log(1 + x).
LOG_FEATURES = ("recency", "frequency", "monetary", "avg_order_value", "tenure", "events_per_month", "price_level")
#: Features used by default when present (shares are added by prefix).
#: A cluster with fewer than this share of the customers makes the silhouette suspect (:attr:`KMeansSegments.caution`).
SMALL_CLUSTER = 0.01
DEFAULT_FEATURES = ("recency", "frequency", "monetary", "events_per_month", "price_level")
SHARE_PREFIXES = ("cat_", "channel_")


def _share_columns(frame: pl.LazyFrame, key: str, prefix: str, *, top: int, weight: pl.Expr) -> pl.DataFrame | None:
    """Per customer share of ``weight`` by the values of ``key`` (the ``top`` largest, the rest as other)."""
    totals = frame.group_by(key).agg(w=weight).sort(["w", key], descending=[True, False]).collect()
    totals = totals.filter(pl.col(key).is_not_null())
    if totals.height < 2:
        return None
    keep = totals[key].head(top).to_list()
    labelled = frame.with_columns(
        _level=pl.when(pl.col(key).is_in(keep)).then(pl.col(key).cast(pl.String)).otherwise(pl.lit("other"))
    )
    parts = labelled.group_by("customer_id", "_level").agg(w=weight).collect()
    wide = parts.pivot(on="_level", index="customer_id", values="w")
    levels = [str(c) for c in [*keep, "other"] if str(c) in wide.columns]  # fixed order: by total, other last
    wide = wide.with_columns(pl.col(levels).fill_null(0.0))
    total = pl.sum_horizontal(levels)
    return wide.select("customer_id", *[(pl.col(c) / total).fill_nan(0.0).alias(f"{prefix}{c}") for c in levels])


def customer_features(
    transactions: Frame,
    *,
    events: Frame | None = None,
    as_of: DateLike | None = None,
    top_n: int = 8,
    within: str | int | dt.timedelta = "90d",
) -> pl.DataFrame:
    """One row of behaviour and preference features per customer.

    Parameters
    ----------
    transactions
        Canonical transactions; ``category``, ``channel`` and ``unit_price``
        are used when present.
    events
        Optional canonical events (``customer_id``, ``event_time``,
        ``event``) for browsing intensity.
    as_of
        The first instant that is not history (see :mod:`custlab._dates`;
        default: the midnight after the last order); orders and events from
        ``as_of`` on are not used.
    top_n
        Category (and channel) shares are kept for the ``top_n`` categories
        with the most revenue (channels with the most orders); the rest are
        pooled as "other".
    within
        Window before ``as_of`` over which events are counted ("90d", a
        number of days or a timedelta).

    Returns
    -------
    polars.DataFrame
        Sorted by ``customer_id``: the columns of :func:`custlab.segments.rfm_table`
        (``recency``, ``frequency``, ``monetary``, ``avg_order_value``,
        ``tenure``, ...), then, when the data allow:
        ``cat_<category>`` (Float64, share of the customer's spend),
        ``channel_<channel>`` (Float64, share of the customer's orders),
        ``events_per_month`` (Float64, events in the ``within`` window before
        ``as_of`` per 30 days; 0 without events), ``price_level`` (Float64,
        mean over the customer's lines of unit price divided by the median
        unit price of the line's category, or of all lines without
        categories: 1 is a typical price; customers who only had free
        lines get 1).

    Examples
    --------
    >>> import polars as pl, datetime as dt
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 2], "order_id": [1, 2, 3],
    ...     "order_date": [dt.datetime(2024, 1, d) for d in (2, 9, 5)], "amount": [30.0, 10.0, 20.0],
    ...     "category": ["food", "toys", "food"]})
    >>> customer_features(tx).select("customer_id", "frequency", "cat_food", "cat_toys").rows()
    [(1, 2, 0.75, 0.25), (2, 1, 1.0, 0.0)]
    """
    check_frame(transactions, argument="transactions")
    window = parse_within(within)
    if not isinstance(top_n, int) or isinstance(top_n, bool) or top_n < 1:
        raise CustlabError(f"top_n must be a positive whole number of categories, got {top_n!r}.")
    base = rfm_table(transactions, as_of=as_of)
    as_of_dt = as_datetime(as_of)
    if as_of_dt is None:
        as_of_dt = as_of_after(base["last_order"].max())
    frame = validate(transactions.lazy(), "transactions").filter(pl.col("order_date") < as_of_dt)
    names = frame.collect_schema().names()
    out = base
    if "category" in names:
        shares = _share_columns(frame, "category", "cat_", top=top_n, weight=pl.col("amount").sum())
        if shares is not None:
            out = out.join(shares, on="customer_id", how="left")
    if "channel" in names:
        shares = _share_columns(frame, "channel", "channel_", top=top_n,
                                weight=pl.col("order_id").n_unique().cast(pl.Float64))
        if shares is not None:
            out = out.join(shares, on="customer_id", how="left")
    if "unit_price" in names:
        group = ["category"] if "category" in names else []
        ref = pl.col("unit_price").median().over(group) if group else pl.col("unit_price").median()
        price = (
            frame.filter(pl.col("unit_price") > 0)
            .with_columns(_rel=pl.col("unit_price") / ref)
            .group_by("customer_id").agg(price_level=pl.col("_rel").mean())
            .collect()
        )
        # customers with no priced line (free items only) are given the typical level, 1
        out = out.join(price, on="customer_id", how="left").with_columns(pl.col("price_level").fill_null(1.0))
    if events is not None:
        check_frame(events, argument="events")
        ev = validate(events.lazy(), "events")
        start = as_of_dt - window
        per_month = dt.timedelta(days=30) / window
        counts = (
            ev.filter((pl.col("event_time") >= start) & (pl.col("event_time") < as_of_dt))
            .group_by("customer_id").agg(events_per_month=pl.len().cast(pl.Float64) * per_month)
            .collect()
        )
        if counts["customer_id"].dtype != out["customer_id"].dtype:
            counts = counts.with_columns(pl.col("customer_id").cast(out["customer_id"].dtype, strict=False))
        out = out.join(counts, on="customer_id", how="left").with_columns(pl.col("events_per_month").fill_null(0.0))
    share_cols = [c for c in out.columns if c.startswith(SHARE_PREFIXES)]
    return out.with_columns(pl.col(share_cols).fill_null(0.0)).sort("customer_id")


@dataclass(frozen=True)
class KMeansSegments:
    """The result of :func:`kmeans_segments`.

    ``to_frame()`` gives one row per customer with its cluster and name;
    ``summary`` one row per cluster (the profiles).

    Attributes
    ----------
    k
        Number of clusters used.
    silhouette
        ``k`` (Int64), ``silhouette`` (Float64, mean silhouette score on the
        scaled features, on a seeded sample for large data), ``chosen``
        (Boolean).
    segments
        One row per customer: ``customer_id``, ``cluster`` (Int64, 0 = the
        highest revenue per customer), ``segment`` (Enum of the cluster
        names, in cluster order), ``recency``, ``frequency``, ``monetary``.
        It can be passed to :func:`custlab.segments.segment_summary`.
    profiles
        One row per cluster: ``cluster``, ``segment``, ``customers``,
        ``customer_share``, ``revenue_share``, then the mean of each raw
        feature.
    z_scores
        One row per cluster: ``cluster``, ``segment`` and each feature's
        cluster mean on the standardised scale (log first for counts, days
        and money): how many standard deviations the cluster sits from the
        average customer.
    features
        The feature table the clusters were fitted on (from
        :func:`customer_features`).
    feature_names
        The clustered columns.
    model, scaler
        The fitted ``sklearn.cluster.KMeans`` and ``StandardScaler``.
    caution
        In words, when a cluster holds under :data:`SMALL_CLUSTER` of the
        customers: the silhouette then rewards splitting a few outliers off
        the rest rather than distinct segments ("" otherwise; also warned).
    """

    k: int
    silhouette: pl.DataFrame
    segments: pl.DataFrame
    profiles: pl.DataFrame
    z_scores: pl.DataFrame
    features: pl.DataFrame = field(repr=False)
    feature_names: tuple[str, ...]
    model: Any = field(repr=False)
    scaler: Any = field(repr=False)
    caution: str = ""

    def to_frame(self) -> pl.DataFrame:
        """One row per customer: ``customer_id``, ``cluster``, ``segment``, ``recency``, ``frequency``, ``monetary``."""
        return self.segments

    @property
    def summary(self) -> pl.DataFrame:
        """One row per cluster: name, size, revenue share and mean features (``profiles``)."""
        return self.profiles

    def __repr__(self) -> str:
        chosen = self.silhouette.filter(pl.col("chosen"))["silhouette"]
        score = f", silhouette {chosen[0]:.3f}" if chosen.len() else ""
        names = ", ".join(f"{s!s} ({share_text(p)})" for s, p in self.profiles.select("segment", "customer_share").rows())
        caution = f"; {self.caution}" if self.caution else ""
        return f"KMeansSegments(k={self.k}{score}, {self.segments.height:,} customers: {names}{caution})"


def _design(features: pl.DataFrame, columns: list[str]) -> tuple[np.ndarray, np.ndarray, Any]:
    """Log, standardise, and weight share blocks so each block counts as much as one feature."""
    from sklearn.preprocessing import StandardScaler

    raw = features.select(
        [pl.col(c).cast(pl.Float64).log1p() if c in LOG_FEATURES else pl.col(c).cast(pl.Float64) for c in columns]
    ).to_numpy()
    scaler = StandardScaler().fit(raw)
    z = scaler.transform(raw)
    weights = np.ones(len(columns))
    for prefix in SHARE_PREFIXES:
        block = [i for i, c in enumerate(columns) if c.startswith(prefix)]
        if block:
            weights[block] = 1.0 / np.sqrt(len(block))
    return z, z * weights, scaler


def _phrase(feature: str, sign: int, language: Language) -> str:
    if feature.startswith("cat_"):
        return feature.removeprefix("cat_")
    if feature.startswith("channel_"):
        return t("segments.kmeans.via", language, channel=feature.removeprefix("channel_"))
    if feature in LOG_FEATURES:
        return t(f"segments.kmeans.{feature}.{'high' if sign > 0 else 'low'}", language)
    return ""


def _name(z: dict[str, float], language: Language, threshold: float) -> tuple[str, list[str]]:
    """A readable name from the features far from average; also the features used."""
    used: list[str] = []
    adjectives = []
    for feature in ("recency", "frequency", "monetary", "price_level"):
        value = z.get(feature)
        if value is not None and abs(value) >= threshold:
            adjectives.append(_phrase(feature, 1 if value > 0 else -1, language))
            used.append(feature)
    cats = {f: v for f, v in z.items() if f.startswith("cat_") and v >= threshold}
    category = None
    if cats:
        best = max(cats, key=cats.get)
        used.append(best)
        category = _phrase(best, 1, language)
    extras = []
    chans = {f: v for f, v in z.items() if f.startswith("channel_") and v >= threshold}
    if chans:
        best = max(chans, key=chans.get)
        extras.append(_phrase(best, 1, language))
        used.append(best)
    value = z.get("events_per_month")
    if value is not None and abs(value) >= threshold:
        extras.append(_phrase("events_per_month", 1 if value > 0 else -1, language))
        used.append("events_per_month")
    if not adjectives and not category and not extras:
        return t("segments.kmeans.average", language), used
    words = {"adjectives": t("segments.kmeans.adjective_sep", language).join(adjectives),
             "noun": t("segments.kmeans.noun", language)}
    name = (t("segments.kmeans.name_category", language, category=category, **words) if category
            else t("segments.kmeans.name", language, **words)).strip()
    if extras:
        name = t("segments.kmeans.with_extras", language, name=name,
                 extras=t("segments.kmeans.extra_sep", language).join(extras))
    return name, used


def _unique_names(names: list[str], used: list[list[str]], z_rows: list[dict[str, float]],
                  language: Language) -> list[str]:
    out = list(names)
    for name in set(names):
        idx = [i for i, n in enumerate(names) if n == name]
        if len(idx) < 2:
            continue
        for i in idx:
            rest = {f: v for f, v in z_rows[i].items() if f not in used[i]}
            if rest:
                best = max(rest, key=lambda f: abs(rest[f]))
                extra = _phrase(best, 1 if rest[best] > 0 else -1, language) or best
                out[i] = t("segments.kmeans.disambiguated", language, name=name, extra=extra)
    for name in set(out):  # still equal: number them
        idx = [i for i, n in enumerate(out) if n == name]
        if len(idx) > 1:
            for j, i in enumerate(idx, start=1):
                out[i] = f"{name} #{j}"
    return out


def kmeans_segments(
    transactions: Frame,
    *,
    events: Frame | None = None,
    as_of: DateLike | None = None,
    columns: Sequence[str] | None = None,
    k: int | None = None,
    k_range: Sequence[int] = range(2, 9),
    seed: int = 0,
    silhouette_sample: int = 5000,
    n_init: int = 4,
    name_threshold: float = 0.5,
    language: Language = "en",
) -> KMeansSegments:
    """K-means segments on RFM plus behaviour and preferences, k chosen by silhouette.

    Steps: features per customer (:func:`customer_features`); ``log(1 + x)``
    of counts, days and money (``LOG_FEATURES``); standard scaling; share
    blocks (categories, channels) weighted by ``1 / sqrt(block size)`` so
    that a block of eight category shares weighs as much as one feature;
    ``KMeans(n_clusters=k, n_init=n_init, random_state=seed)`` for each k
    in ``k_range``; the k with the highest mean silhouette score is kept
    (computed on a sample of ``silhouette_sample`` customers drawn with
    ``seed`` when there are more). Clusters are renumbered by revenue per
    customer (0 = highest) and named from the features on which the
    cluster's mean differs from the mean of all other customers by at
    least ``name_threshold`` standard deviations (after the log): recency,
    frequency, monetary and price level give adjectives ("recent",
    "one-off", "high-spend", "bargain"), the category share most above
    the others gives the noun ("cosmetics buyers"), channel and browsing
    are added after a comma ("mostly app", "heavy browsers"). Names that
    come out equal get the next most distinguishing feature in brackets.

    Parameters
    ----------
    transactions, events, as_of
        As for :func:`customer_features`.
    columns
        Features to cluster on; default ``DEFAULT_FEATURES`` present in the
        data plus every ``cat_`` and ``channel_`` share.
    k
        Use this number of clusters instead of choosing by silhouette (its
        silhouette is still reported).
    k_range
        Candidate numbers of clusters (each at least 2 and below the number
        of customers).
    seed
        Random state for K-means and the silhouette sample; the same seed
        gives the same clusters.
    language
        Cluster names in English (``"en"``) or Chinese (``"zh"``).

    Returns
    -------
    KMeansSegments

    Examples
    --------
    >>> import polars as pl, datetime as dt
    >>> end = dt.datetime(2024, 6, 28)
    >>> rows = [(c, 100 * c + i, end - dt.timedelta(days=(3 + c % 5 if c < 20 else 200 + c) + 7 * i),
    ...          (100.0 + c if c < 20 else 10.0 + c % 7))
    ...         for c in range(40) for i in range(4 + c % 3 if c < 20 else 1)]
    >>> tx = pl.DataFrame(rows, schema=["customer_id", "order_id", "order_date", "amount"], orient="row")
    >>> result = kmeans_segments(tx, k_range=range(2, 5), seed=1)
    >>> result.k, result.profiles["segment"].to_list()
    (2, ['recent frequent high-spend buyers', 'lapsed one-off low-spend buyers'])
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    check_language(language)
    features = customer_features(transactions, events=events, as_of=as_of)
    n = features.height
    if columns is None:
        columns = [c for c in DEFAULT_FEATURES if c in features.columns]
        columns += [c for c in features.columns if c.startswith(SHARE_PREFIXES)]
    columns = list(columns)
    missing = [c for c in columns if c not in features.columns]
    if missing:
        raise SchemaError(f"columns {missing} are not features of this data; available: {features.columns[1:]}.")
    holes = [c for c in columns if features[c].null_count() or (features[c].dtype.is_float()
                                                                 and not features[c].is_finite().all())]
    if holes:
        raise CustlabError(f"Feature(s) {holes} have missing or infinite values; fill them or leave them out "
                           f"with columns=.")
    columns = [c for c in columns if features[c].n_unique() > 1]  # a constant cannot separate clusters
    if not columns:
        raise CustlabError("Every feature is constant across customers; there is nothing to cluster on.")
    candidates = [int(k)] if k is not None else sorted({int(v) for v in k_range})
    bad = [v for v in candidates if v < 2 or v >= n]
    if not candidates or bad:
        raise CustlabError(
            f"Numbers of clusters must be at least 2 and below the number of customers ({n}); got {bad or candidates}."
        )
    z, design, scaler = _design(features, columns)
    sample = min(n, silhouette_sample)
    scores, models = [], {}
    for kk in candidates:
        model = KMeans(n_clusters=kk, n_init=n_init, random_state=seed).fit(design)
        labels = model.labels_
        if len(np.unique(labels)) < 2:
            score = float("nan")
        else:
            score = float(silhouette_score(design, labels, sample_size=sample if sample < n else None,
                                           random_state=seed))
        scores.append(score)
        models[kk] = model
    valid = [(s, kk) for s, kk in zip(scores, candidates, strict=True) if s == s]
    if not valid:
        raise CustlabError("K-means found fewer than two distinct clusters for every k; the customers are too alike.")
    best_k = max(valid, key=lambda t: (t[0], -t[1]))[1]
    model = models[best_k]

    monetary = features["monetary"].to_numpy()
    per_customer = [monetary[model.labels_ == c].mean() for c in range(best_k)]
    order = np.argsort(-np.asarray(per_customer), kind="stable")
    relabel = np.empty(best_k, dtype=np.int64)
    relabel[order] = np.arange(best_k)
    cluster = relabel[model.labels_]

    z_rows, contrasts = [], []
    for c in range(best_k):
        inside = cluster == c
        z_rows.append(dict(zip(columns, (float(v) for v in z[inside].mean(axis=0)), strict=True)))
        gap = z[inside].mean(axis=0) - z[~inside].mean(axis=0)
        contrasts.append(dict(zip(columns, (float(v) for v in gap), strict=True)))
    named = [_name(row, language, name_threshold) for row in contrasts]
    names = _unique_names([nm for nm, _ in named], [u for _, u in named], contrasts, language)
    enum = pl.Enum(names)

    segments = features.select("customer_id", "recency", "frequency", "monetary").with_columns(
        cluster=pl.Series(cluster, dtype=pl.Int64),
    ).with_columns(segment=pl.col("cluster").map_elements(lambda c: names[c], return_dtype=pl.String).cast(enum))
    segments = segments.select("customer_id", "cluster", "segment", "recency", "frequency", "monetary")
    total = float(features["monetary"].sum())
    profile_cols = [c for c in features.columns if c not in ("customer_id", "first_order", "last_order")]
    profiles = (
        features.with_columns(cluster=pl.Series(cluster, dtype=pl.Int64))
        .group_by("cluster")
        .agg(
            customers=pl.len().cast(pl.Int64),
            revenue_share=pl.col("monetary").sum() / total,
            *[pl.col(c).cast(pl.Float64).mean() for c in profile_cols],
        )
        .sort("cluster")
        .with_columns(segment=pl.Series(names, dtype=enum), customer_share=pl.col("customers") / n)
    )
    profiles = profiles.select("cluster", "segment", "customers", "customer_share", "revenue_share", *profile_cols)
    z_table = pl.DataFrame([{"cluster": c, "segment": names[c], **z_rows[c]} for c in range(best_k)]).with_columns(
        pl.col("cluster").cast(pl.Int64), pl.col("segment").cast(enum)
    )
    silhouette = pl.DataFrame({
        "k": pl.Series(candidates, dtype=pl.Int64),
        "silhouette": pl.Series(scores, dtype=pl.Float64),
        "chosen": [kk == best_k for kk in candidates],
    })
    caution = ""
    smallest = int(profiles["customers"].min())
    if smallest < SMALL_CLUSTER * n:
        score = float(silhouette.filter(pl.col("chosen"))["silhouette"][0])
        caution = t("segments.kmeans.small_cluster", language, customers=f"{smallest:,}", share=share_text(smallest / n),
                    k=best_k, silhouette=f"{score:.2f}")
        warnings.warn(caution, CustlabWarning, stacklevel=2)
    return KMeansSegments(best_k, silhouette, segments, profiles, z_table, features, tuple(columns), model, scaler,
                          caution)


def feature_label(feature: str, language: Language = "en") -> str:
    """How a clustered feature is named in a chart: ``recency`` -> "最近购买" in Chinese, ``cat_food`` -> "food share".

    >>> feature_label("cat_food"), feature_label("monetary", "zh"), feature_label("channel_app", "zh")
    ('food share', '消费额', 'app 渠道占比')
    """
    if feature.startswith("cat_"):
        return t("segments.feature.category_share", language, category=feature.removeprefix("cat_"))
    if feature.startswith("channel_"):
        return t("segments.feature.channel_share", language, channel=feature.removeprefix("channel_"))
    if feature in LOG_FEATURES:
        return t(f"segments.feature.{feature}", language)
    return feature


def share_text(share: float) -> str:
    """A share as a label: whole percent, two significant digits below 1% (0.32%, not 0%), and as many decimals as
    keep it below 100% above 99.5% (99.9%, not 100%): 0% and 100% only when they are exact.

    >>> share_text(0.4), share_text(0.0032), share_text(0.0), share_text(0.9986), share_text(0.99999), share_text(1.0)
    ('40%', '0.32%', '0%', '99.9%', '>99.99%', '100%')
    """
    if not 0.0 <= share <= 1.0:  # NaN too
        return "n/a"
    if share in (0.0, 1.0) or 0.01 <= share < 0.995:
        return f"{share:.0%}"
    if share < 0.01:
        return f"{share * 100:.2g}%"
    return next((f"{share:.{d}%}" for d in (1, 2) if round(100 * share, d) < 100), ">99.99%")
