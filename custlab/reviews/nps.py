"""Survey answers: NPS (0-10), CSAT (1-5 stars) and yes/no "would recommend", each with confidence intervals.

Three different questions, never relabelled as one another:

* **NPS** -- "How likely are you to recommend us?" on 0-10: promoters 9-10,
  passives 7-8, detractors 0-6; NPS = 100 x (promoters - detractors) / answers,
  from -100 to 100. Interval: the adjusted Wald interval of Rocks (2016),
  which adds 3/4 of an answer to promoters and to detractors and 3/2 to
  passives before the usual variance ``(p + d - (p - d)^2) / n``; it keeps
  its coverage for small samples and NPS near the ends.
* **CSAT** -- a 1-5 star rating: the share of 4-5 stars (top-two box) with a
  Wilson interval, and the mean rating with a t interval. A star rating is
  not an NPS, and custlab never calls it one.
* **Recommend** -- a yes/no answer ("would you recommend this product?"):
  the share of yes with a Wilson interval.

Each function groups by ``by`` (columns of the table, or of ``customers``
joined on ``customer_id``) and/or by period (``freq`` on the answer's date).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from custlab._dates import check_freq
from custlab._i18n import check_language, t
from custlab._types import Frame, Language
from custlab.exceptions import CustlabError, SchemaError
from custlab.reviews._frames import check_level, reviews_table, surveys_table, wilson

__all__ = ["AGE_BANDS", "SurveyResult", "age_band", "csat", "nps", "nps_interval", "recommend_share"]

#: Where age bands start (``<25``, ``25-34``, ..., ``65+``).
AGE_BANDS = (25, 35, 45, 55, 65)

#: Answers needed in a group before its figure is called trustworthy.
MIN_TRUSTED = 50


def age_band(age: pl.Expr, bins: Sequence[int] = AGE_BANDS) -> pl.Expr:
    """Age as a band label: ``<25``, ``25-34``, ..., ``65+`` (null stays null).

    >>> pl.select(age_band(pl.Series([18, 25, 44, 70, None]))).to_series().to_list()
    ['<25', '25-34', '35-44', '65+', None]
    """
    edges = list(bins)
    expr = pl.when(age < edges[0]).then(pl.lit(f"<{edges[0]}"))
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        expr = expr.when(age < hi).then(pl.lit(f"{lo}-{hi - 1}"))
    return expr.when(age >= edges[-1]).then(pl.lit(f"{edges[-1]}+"))


def nps_interval(promoters: np.ndarray | int, passives: np.ndarray | int, detractors: np.ndarray | int,
                 level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Adjusted-Wald interval of NPS (Rocks 2016), in NPS points, clipped to [-100, 100].

    The adjusted interval is centred on an NPS pulled towards 0 (3/4 of an answer added to promoters and to
    detractors, 3 answers in all), so with few answers at an extreme it can miss the NPS observed: one promoter
    gives -48 to +98 around +100. The bound on that side is then the observed NPS, as is usual for adjusted
    intervals of a proportion at 0 or 1 (Brown, Cai and DasGupta 2001).

    >>> [round(float(v), 1) for v in nps_interval(50, 30, 20)]
    [14.1, 44.2]
    >>> [round(float(v), 1) for v in nps_interval(1, 0, 0)]
    [-48.5, 100.0]
    """
    from scipy import stats  # lazily: scipy.stats costs ~1 s to import
    p, m, d = (np.asarray(x, dtype=float) for x in (promoters, passives, detractors))
    n = p + m + d + 3.0
    pa, da = (p + 0.75) / n, (d + 0.75) / n
    z = stats.norm.ppf(0.5 + level / 2)
    centre = pa - da
    half = z * np.sqrt(np.maximum(pa + da - centre**2, 0.0) / n)
    lower, upper = np.clip(100 * (centre - half), -100, 100), np.clip(100 * (centre + half), -100, 100)
    answered = p + m + d
    with np.errstate(invalid="ignore", divide="ignore"):
        observed = np.where(answered > 0, 100 * (p - d) / np.where(answered > 0, answered, 1.0), np.nan)
    # [()] gives a numpy scalar for scalar counts, as np.clip did, and the array itself for arrays
    return np.where(observed < lower, observed, lower)[()], np.where(observed > upper, observed, upper)[()]


@dataclass(frozen=True)
class SurveyResult:
    """A survey figure overall and by group: NPS, CSAT or the share recommending.

    Attributes
    ----------
    kind : str
        "nps", "csat" or "recommend".
    table : pl.DataFrame
        One row per group (and period): the group columns, ``period``
        (Date) when ``freq`` was given, ``responses`` (Int64), the figure's
        columns with ``lower``/``upper``, and ``trusted`` (Boolean: at least
        50 answers).
    overall : dict
        The same figures over all answers.
    by : tuple of str
    freq : str or None
    level : float
    """

    kind: str
    table: pl.DataFrame
    overall: dict
    by: tuple[str, ...] = ()
    freq: str | None = None
    level: float = 0.95
    notes: tuple[str, ...] = field(default=())

    def to_frame(self) -> pl.DataFrame:
        return self.table

    @property
    def value_column(self) -> str:
        return {"nps": "nps", "csat": "csat", "recommend": "recommend_share"}[self.kind]

    @property
    def summary(self) -> pl.DataFrame:
        """The overall figure as a one-row table."""
        return pl.DataFrame([self.overall])

    def describe(self, language: Language = "en") -> list[str]:
        """The overall figure and the groups that stand out, in plain words."""
        check_language(language)
        o = self.overall
        if self.kind == "nps":
            out = [t("reviews.nps.sentence", language, nps=f"{o['nps']:+.0f}", lower=f"{o['lower']:+.0f}",
                     upper=f"{o['upper']:+.0f}", n=f"{o['responses']:,}", promoters=f"{o['promoters']:.0%}",
                     detractors=f"{o['detractors']:.0%}")]
        elif self.kind == "csat":
            out = [t("reviews.csat.sentence", language, csat=f"{o['csat']:.0%}", lower=f"{o['lower']:.0%}",
                     upper=f"{o['upper']:.0%}", n=f"{o['responses']:,}", mean=f"{o['mean_rating']:.2f}")]
        else:
            out = [t("reviews.recommend.sentence", language, share=f"{o['recommend_share']:.1%}",
                     lower=f"{o['lower']:.1%}", upper=f"{o['upper']:.1%}", n=f"{o['responses']:,}")]
        if self.by and self.table.height > 1:
            ok = self.table.filter(pl.col("trusted"))
            col = self.value_column
            if ok.height > 1:
                low, high = ok.sort(col).row(0, named=True), ok.sort(col).row(-1, named=True)
                fmt = (lambda v: f"{v:+.0f}") if self.kind == "nps" else (lambda v: f"{v:.0%}")
                name = lambda r: ", ".join(str(r[c]) for c in self.by)  # noqa: E731
                out.append(t("reviews.survey.range", language, low=name(low), low_value=fmt(low[col]),
                             high=name(high), high_value=fmt(high[col])))
        if o["responses"] < MIN_TRUSTED:
            out.append(t("reviews.survey.few", language, n=f"{o['responses']:,}"))
        return out

    def __repr__(self) -> str:
        o = self.overall
        head = {"nps": lambda: f"NPS {o['nps']:+.1f} [{o['lower']:+.1f}, {o['upper']:+.1f}]",
                "csat": lambda: f"CSAT {o['csat']:.1%} [{o['lower']:.1%}, {o['upper']:.1%}]",
                "recommend": lambda: f"recommend {o['recommend_share']:.1%} [{o['lower']:.1%}, {o['upper']:.1%}]"}
        groups = f", {self.table.height} groups by {', '.join(self.by) or 'period'}" if self.by or self.freq else ""
        return f"SurveyResult({head[self.kind]()} from {o['responses']:,} answers{groups})"


def _grouped(frame: pl.DataFrame, by: str | Sequence[str] | None, freq: str | None, date: str | None,
             customers: Frame | None, argument: str) -> tuple[pl.DataFrame, list[str]]:
    keys = [by] if isinstance(by, str) else list(by or [])
    if customers is not None:
        extra = [k for k in keys if k not in frame.columns]
        if extra:
            side = customers.lazy().collect() if isinstance(customers, pl.LazyFrame) else customers
            if "customer_id" not in frame.columns or "customer_id" not in side.columns:
                raise SchemaError(f"by={extra} needs customer_id in {argument} and in customers to join them.")
            side = side.select(["customer_id", *[k for k in extra if k in side.columns]]).unique("customer_id")
            frame = frame.join(side.with_columns(pl.col("customer_id").cast(frame.schema["customer_id"])),
                               on="customer_id", how="left")
    missing = [k for k in keys if k not in frame.columns]
    if missing:
        raise SchemaError(f"by names column(s) {missing} that {argument} lacks (it has {frame.columns}); "
                          "pass customers= to join customer attributes such as region.")
    if freq is not None:
        freq = check_freq(freq)
        if date is None or date not in frame.columns:
            raise SchemaError(f"freq={freq!r} needs a date column in {argument} (survey_date or review_date).")
        frame = frame.with_columns(pl.col(date).dt.truncate(freq).dt.date().alias("period"))
        keys = keys + ["period"]
    frame = frame.with_columns([pl.col(k).cast(pl.String).fill_null("(missing)") for k in keys if k != "period"])
    return frame, keys


def _finish(kind: str, frame: pl.DataFrame, keys: list[str], agg: list[pl.Expr], add, by, freq, level) -> SurveyResult:
    overall = add(frame.select(agg)).row(0, named=True)
    table = add(frame.group_by(keys).agg(agg)).sort(keys) if keys else pl.DataFrame([overall])
    table = table.with_columns(trusted=pl.col("responses") >= MIN_TRUSTED)
    by_cols = tuple(k for k in keys if k != "period")
    return SurveyResult(kind, table, overall, by_cols, freq, level)


def nps(answers: Frame, *, by: str | Sequence[str] | None = None, freq: str | None = None,
        customers: Frame | None = None, score: str = "nps_score", level: float = 0.95) -> SurveyResult:
    """Net Promoter Score with an adjusted-Wald interval, overall and by group or period.

    Parameters
    ----------
    answers
        A ``surveys`` table, or reviews carrying ``nps_score`` (0-10); rows
        without a score are left out.
    by
        Grouping column(s): the table's own (``channel``) or, with
        ``customers``, the customers' (``region``, ``segment``).
    freq
        Period of ``survey_date`` (or ``review_date``), e.g. "1mo".
    score
        The column of 0-10 answers.

    Returns
    -------
    SurveyResult
        ``table``: group columns, ``responses``, ``promoters``, ``passives``,
        ``detractors`` (shares), ``nps``, ``lower``, ``upper`` (points),
        ``trusted``.

    Examples
    --------
    >>> sv = pl.DataFrame({"nps_score": [10] * 50 + [7] * 30 + [3] * 20, "channel": ["app", "web"] * 50})
    >>> r = nps(sv)
    >>> round(r.overall["nps"], 1), [round(r.overall[k], 1) for k in ("lower", "upper")]
    (30.0, [14.1, 44.2])
    >>> nps(sv, by="channel").to_frame()["responses"].to_list()
    [50, 50]
    """
    level = check_level(level)
    frame = (surveys_table(answers.rename({score: "nps_score"}) if score != "nps_score" else answers)
             .filter(pl.col("nps_score").is_not_null()))
    if frame.height == 0:
        raise CustlabError(f"No {score} answer to compute an NPS from (all null).")
    date = next((c for c in ("survey_date", "review_date") if c in frame.columns), None)
    frame, keys = _grouped(frame, by, freq, date, customers, "the survey answers")
    s = pl.col("nps_score")
    agg = [pl.len().cast(pl.Int64).alias("responses"), (s >= 9).sum().cast(pl.Int64).alias("_p"),
           s.is_between(7, 8).sum().cast(pl.Int64).alias("_m"), (s <= 6).sum().cast(pl.Int64).alias("_d")]

    def add(out: pl.DataFrame) -> pl.DataFrame:
        lo, hi = nps_interval(out["_p"].to_numpy(), out["_m"].to_numpy(), out["_d"].to_numpy(), level)
        n = pl.col("responses")
        return out.with_columns(
            (pl.col("_p") / n).alias("promoters"), (pl.col("_m") / n).alias("passives"),
            (pl.col("_d") / n).alias("detractors"), (100 * (pl.col("_p") - pl.col("_d")) / n).alias("nps"),
            pl.Series("lower", lo), pl.Series("upper", hi),
        ).drop("_p", "_m", "_d")

    return _finish("nps", frame, keys, agg, add, by, freq, level)


def csat(reviews: Frame, *, by: str | Sequence[str] | None = None, freq: str | None = None,
         customers: Frame | None = None, top_box: float = 4, level: float = 0.95) -> SurveyResult:
    """Customer satisfaction from 1-5 star ratings: share of 4-5 stars (Wilson) and mean rating (t interval).

    Returns a :class:`SurveyResult` whose table has ``responses``, ``csat``,
    ``lower``, ``upper`` (the share), ``mean_rating``, ``mean_lower``,
    ``mean_upper``, ``negative_share`` (1-2 stars) and ``trusted``.

    >>> r = csat(pl.DataFrame({"rating": [5, 4, 3, 1, 5]}))
    >>> r.overall["csat"], r.overall["mean_rating"]
    (0.6, 3.6)
    """
    level = check_level(level)
    frame = reviews_table(reviews, need=["rating"]).filter(pl.col("rating").is_not_null())
    if frame.height == 0:
        raise CustlabError("No rating to compute CSAT from (the rating column is all null).")
    frame, keys = _grouped(frame, by, freq, "review_date" if "review_date" in frame.columns else None, customers,
                           "reviews")
    r = pl.col("rating")
    agg = [pl.len().cast(pl.Int64).alias("responses"), (r >= top_box).sum().alias("_k"), r.mean().alias("mean_rating"),
           r.std().alias("_sd"), (r <= 2).mean().alias("negative_share")]

    def add(out: pl.DataFrame) -> pl.DataFrame:
        from scipy import stats  # lazily: scipy.stats costs ~1 s to import

        n = out["responses"].to_numpy().astype(float)
        lo, hi = wilson(out["_k"].to_numpy(), n, level)
        tq = stats.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1))
        half = np.where(n > 1, tq * out["_sd"].fill_null(0.0).to_numpy() / np.sqrt(n), np.nan)
        mean = out["mean_rating"].to_numpy()
        return out.with_columns(
            (pl.col("_k") / pl.col("responses")).alias("csat"), pl.Series("lower", lo), pl.Series("upper", hi),
            pl.Series("mean_lower", np.clip(mean - half, 1, 5)).fill_nan(None),
            pl.Series("mean_upper", np.clip(mean + half, 1, 5)).fill_nan(None),
        ).select(*[c for c in out.columns if c not in ("_k", "_sd", "mean_rating", "negative_share")],
                 "csat", "lower", "upper", "mean_rating", "mean_lower", "mean_upper", "negative_share")

    return _finish("csat", frame, keys, agg, add, by, freq, level)


def recommend_share(reviews: Frame, *, column: str = "recommended", by: str | Sequence[str] | None = None,
                    freq: str | None = None, customers: Frame | None = None, level: float = 0.95) -> SurveyResult:
    """Share answering yes to a yes/no "would you recommend it?" question, with Wilson intervals.

    ``column`` holds 1/0 or true/false; rows without an answer are left out.

    >>> recommend_share(pl.DataFrame({"recommended": [1, 1, 0, None]})).overall["recommend_share"]
    0.6666666666666666
    """
    level = check_level(level)
    frame = reviews_table(reviews.rename({column: "recommended"}) if column != "recommended" else reviews,
                          need=["recommended"]).filter(pl.col("recommended").is_not_null())
    if frame.height == 0:
        raise CustlabError(f"No answer in {column!r} (all null).")
    date = next((c for c in ("review_date", "survey_date") if c in frame.columns), None)
    frame, keys = _grouped(frame, by, freq, date, customers, "reviews")
    agg = [pl.len().cast(pl.Int64).alias("responses"), pl.col("recommended").sum().alias("recommending")]

    def add(out: pl.DataFrame) -> pl.DataFrame:
        lo, hi = wilson(out["recommending"].to_numpy(), out["responses"].to_numpy(), level)
        return out.with_columns(pl.col("recommending").cast(pl.Int64),
                                (pl.col("recommending") / pl.col("responses")).alias("recommend_share"),
                                pl.Series("lower", lo), pl.Series("upper", hi))

    return _finish("recommend", frame, keys, agg, add, by, freq, level)

