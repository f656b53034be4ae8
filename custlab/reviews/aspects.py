"""What reviews talk about: a reviewed bilingual aspect lexicon, complaint shares, the data's own terms, quotes.

The lexicon (``custlab/reviews/assets/aspects.json``) lists, for each aspect
-- size/fit, quality, logistics, service, price, packaging, description
mismatch, authenticity -- English terms (whole words or phrases) and
Chinese terms (substrings). A review **mentions** an aspect when its cleaned
text (:func:`custlab.reviews._text.clean_text`) holds one of its terms; its
**main aspect** is the one mentioned first. A **complaint** is a mention in
a negative review: rating <= 2 when the review is rated, otherwise a
sentiment model's verdict (``p_negative >= 0.5``; the pretrained model when
the reviews carry no score).

:func:`aspects` counts complaints with Wilson intervals, adds the terms the
data themselves use for each aspect (over-represented among the aspect's
negative reviews), two or three example quotes, and says what share of the
negative reviews no aspect covers (:func:`custlab.reviews.topics.discover_topics`
looks into those).
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources

import polars as pl

from custlab._i18n import check_language, t
from custlab._types import Frame, Language
from custlab.exceptions import CustlabError
from custlab.reviews._frames import reviews_table, wilson
from custlab.reviews._text import clean_text, document_frequencies

__all__ = ["ASPECTS", "Aspects", "aspect_lexicon", "aspects", "negative_reviews", "tag_aspects"]

Lexicon = Mapping[str, Mapping[str, Sequence[str]]]


@functools.cache
def _shipped() -> dict[str, dict[str, tuple[str, ...]]]:
    data = json.loads((resources.files("custlab.reviews") / "assets" / "aspects.json").read_text(encoding="utf-8"))
    return {a: {lang: tuple(v) for lang, v in spec.items()} for a, spec in data["aspects"].items()}


#: The shipped lexicon's aspects, in order.
ASPECTS: tuple[str, ...] = tuple(_shipped())


def aspect_lexicon(extra: Lexicon | None = None) -> dict[str, dict[str, list[str]]]:
    """The shipped lexicon, with ``extra`` terms added (``{aspect: {"en": [...], "zh": [...]}}``; new aspects allowed).

    >>> aspect_lexicon({"size": {"en": ["hem"]}})["size"]["en"][-1]
    'hem'
    """
    out = {a: {lang: list(v) for lang, v in spec.items()} for a, spec in _shipped().items()}
    for aspect, spec in (extra or {}).items():
        if not isinstance(spec, Mapping) or set(spec) - {"en", "zh"}:
            raise CustlabError(f"lexicon[{aspect!r}] must map 'en' and/or 'zh' to lists of terms, got {spec!r}.")
        target = out.setdefault(aspect, {"en": [], "zh": []})
        for lang, words in spec.items():
            if isinstance(words, str):
                raise CustlabError(f"lexicon[{aspect!r}][{lang!r}] must be a list of terms, got the text {words!r}.")
            target.setdefault(lang, []).extend(w for w in words if w not in target[lang])
    return out


def _pattern(spec: Mapping[str, Sequence[str]], language: str) -> str | None:
    parts = []
    if language in ("auto", "en") and spec.get("en"):
        words = sorted({w.lower() for w in spec["en"]}, key=len, reverse=True)
        parts.append(r"\b(?:" + "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in words) + r")\b")
    if language in ("auto", "zh") and spec.get("zh"):
        parts.append("(?:" + "|".join(re.escape(w) for w in sorted(set(spec["zh"]), key=len, reverse=True)) + ")")
    return "|".join(parts) or None


def tag_aspects(reviews: Frame, *, lexicon: Lexicon | None = None, language: str = "auto") -> pl.DataFrame:
    """The reviews with ``aspects`` (List[String], lexicon order) and ``main_aspect`` (String, first mentioned; null if none).

    >>> tag_aspects(pl.DataFrame({"text": ["Runs small and the fabric is thin", "物流太慢", None]})).select(
    ...     "aspects", "main_aspect").rows()
    [(['size', 'quality'], 'size'), (['logistics'], 'logistics'), ([], None)]
    """
    frame = reviews_table(reviews, need=["text"])
    lex = aspect_lexicon(lexicon) if lexicon is not None else _shipped()
    cleaned = clean_text(pl.col("text"))
    patterns = {a: _pattern(spec, language) for a, spec in lex.items()}
    patterns = {a: p for a, p in patterns.items() if p}
    found = frame.select([cleaned.str.find(p).alias(a) for a, p in patterns.items()])
    names = list(patterns)
    mentioned = pl.concat_list([pl.when(pl.col(a).is_not_null()).then(pl.lit(a)) for a in names]).list.drop_nulls()
    first = pl.concat_list([pl.col(a).fill_null(2**31) for a in names]).list.arg_min()
    none = pl.min_horizontal([pl.col(a) for a in names]).is_null()
    tags = found.select(
        mentioned.alias("aspects"),
        pl.when(none).then(None).otherwise(first.replace_strict(list(range(len(names))), names)).alias("main_aspect"),
    )
    return frame.drop(["aspects", "main_aspect"], strict=False).hstack(tags)


def negative_reviews(frame: pl.DataFrame, *, language: str = "auto", negative_max: float = 2,
                     model=None) -> tuple[pl.DataFrame, str]:
    """``frame`` with a Boolean ``negative``, and the basis: "rating" (<= ``negative_max``) or "sentiment".

    Rated reviews are judged by their rating; the others by ``p_negative``
    (scored with ``model``, by default the pretrained one, when absent).
    """
    has_rating = "rating" in frame.columns and frame["rating"].null_count() < frame.height
    if has_rating and frame["rating"].null_count() == 0:
        return frame.with_columns(negative=pl.col("rating") <= negative_max), "rating"
    if "p_negative" not in frame.columns:
        from custlab.reviews.sentiment import SentimentModel

        scorer = model if model is not None else SentimentModel.pretrained(language if language in ("en", "zh")
                                                                           else "auto")
        frame = scorer.score(frame)
    by_text = pl.col("p_negative") >= 0.5
    if has_rating:
        return frame.with_columns(negative=pl.when(pl.col("rating").is_not_null())
                                  .then(pl.col("rating") <= negative_max).otherwise(by_text)), "rating and sentiment"
    return frame.with_columns(negative=by_text), "sentiment"


@functools.cache
def _stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS) | {"just", "really", "like", "did", "does", "got", "im", "ve", "don"}


def informative(term: str) -> bool:
    """A term worth showing: not a single Chinese character, not digits, no English stop word."""
    if len(term) == 1 and "\u4e00" <= term <= "\u9fff":
        return False
    words = term.split()
    if all(w.isdigit() for w in words):
        return False
    return not any(w in _stop_words() for w in words)


def data_terms(texts_in: pl.Series, texts_out: pl.Series, *, exclude: str | None, top_n: int = 8,
               min_count: int = 5) -> list[str]:
    """Terms over-represented in ``texts_in`` against ``texts_out`` (smoothed log ratio of document shares)."""
    if texts_in.len() == 0:
        return []
    a = document_frequencies(texts_in).rename({"df": "a"})
    b = document_frequencies(texts_out).rename({"df": "b"}) if texts_out.len() else pl.DataFrame(
        schema={"term": pl.String, "b": pl.UInt32})
    n_a, n_b = texts_in.len(), max(texts_out.len(), 1)
    joined = (a.filter(pl.col("a") >= max(min_count, math.ceil(0.02 * n_a)))
              .join(b, on="term", how="left").with_columns(pl.col("b").fill_null(0))
              .with_columns(score=((pl.col("a") + 0.5) / (n_a + 1)).log() - ((pl.col("b") + 0.5) / (n_b + 1)).log()))
    if exclude:
        joined = joined.filter(~pl.col("term").str.contains(exclude))
    joined = joined.filter(pl.col("score") > 0).sort(["score", "a", "term"], descending=[True, True, False])
    out: list[str] = []
    for term in joined["term"].to_list():
        if informative(term) and not any(term in kept or kept in term for kept in out):
            out.append(term)
        if len(out) == top_n:
            break
    return out


def _examples(rows: pl.DataFrame, n: int) -> list[str]:
    if rows.height == 0 or n == 0:
        return []
    pick = (rows.with_columns(length=pl.col("text").str.len_chars())
            .filter(pl.col("length").is_between(12, 400))
            .with_columns(distance=(pl.col("length") - 90).abs())
            .sort([c for c in ("rating",) if c in rows.columns] + ["distance", "text"])
            .unique("text", maintain_order=True).head(n))
    return [q if len(q) <= 200 else q[:199].rstrip() + "…" for q in pick["text"].str.replace_all(r"\s+", " ").to_list()]


@dataclass(frozen=True)
class Aspects:
    """Complaint shares by aspect (:func:`aspects`).

    Attributes
    ----------
    table : pl.DataFrame
        One row per aspect, most complained about first: ``aspect``;
        ``mentions`` (reviews with text mentioning it), ``complaints``
        (negative ones), ``complaint_share`` (of the negative reviews with
        text) with ``lower``/``upper`` (Wilson, ``level``),
        ``praise_share`` (of the non-negative reviews with text),
        ``mean_rating_mentioned`` and ``mean_rating_other`` (when rated;
        null for an aspect no review mentions),
        ``examples`` (List[String]: quotes of negative reviews; raw text,
        escape it for HTML), ``data_terms`` (List[String]: words the
        complaints use that the lexicon lacks).
    reviews : pl.DataFrame
        The reviews with ``aspects``, ``main_aspect`` and ``negative``.
    basis : str
        How negative was judged: "rating", "sentiment" or "rating and sentiment".
    n_reviews, n_negative, n_unmatched : int
        Reviews with text, negative ones, negative ones mentioning no aspect.
    level : float
    """

    table: pl.DataFrame
    reviews: pl.DataFrame
    basis: str
    n_reviews: int
    n_negative: int
    n_unmatched: int
    level: float = 0.95

    def to_frame(self) -> pl.DataFrame:
        return self.table

    @property
    def summary(self) -> pl.DataFrame:
        """The complaints: ``aspect``, ``complaints``, ``complaint_share``, ``lower``, ``upper`` (aspects with any)."""
        return self.table.filter(pl.col("complaints") > 0).select("aspect", "complaints", "complaint_share",
                                                                   "lower", "upper")

    @property
    def top_complaint(self) -> str | None:
        top = self.summary
        return top["aspect"][0] if top.height else None

    @property
    def trusted(self) -> bool:
        """Enough negative reviews (30) for the shares to mean something."""
        return self.n_negative >= 30

    def describe(self, language: Language = "en") -> list[str]:
        """Plain sentences: the top complaints with their shares, and what no aspect covers."""
        check_language(language)
        if self.n_negative == 0:
            return [t("reviews.aspects.none", language, reviews=f"{self.n_reviews:,}")]
        out = []
        for row in self.summary.head(3).iter_rows(named=True):
            out.append(t("reviews.aspects.sentence", language, aspect=t(f"reviews.aspect.{row['aspect']}", language)
                         if row["aspect"] in ASPECTS else row["aspect"], share=f"{row['complaint_share']:.0%}",
                         lower=f"{row['lower']:.0%}", upper=f"{row['upper']:.0%}", negative=f"{self.n_negative:,}"))
        if self.n_unmatched:
            out.append(t("reviews.aspects.unmatched", language, share=f"{self.n_unmatched / self.n_negative:.0%}"))
        if not self.trusted:
            out.append(t("reviews.aspects.few", language, negative=f"{self.n_negative:,}"))
        return out

    def __repr__(self) -> str:
        top = self.summary.head(3)
        parts = ", ".join(f"{a} {s:.0%}" for a, s in zip(top["aspect"], top["complaint_share"], strict=True))
        return (f"Aspects({self.n_negative:,} negative of {self.n_reviews:,} reviews by {self.basis}; "
                f"top complaints: {parts or 'none'}; {self.n_unmatched:,} negative reviews name no aspect)")


def aspects(reviews: Frame, *, language: str = "auto", lexicon: Lexicon | None = None,
            negative_max: float = 2, model=None, examples: int = 3, top_n_terms: int = 8,
            level: float = 0.95) -> Aspects:
    """Which aspects the reviews talk about, and which the negative ones complain about.

    Parameters
    ----------
    reviews
        Reviews with ``text``; ``rating`` (1-5) or ``p_negative`` tell the
        negative ones (else the pretrained sentiment model scores the texts).
    language
        ``"auto"`` (both parts of the lexicon), ``"en"`` or ``"zh"``.
    lexicon
        Extra terms, ``{aspect: {"en": [...], "zh": [...]}}``, added to the
        shipped lexicon (:func:`aspect_lexicon`).
    negative_max
        Ratings at or below it are negative (2).
    model
        A :class:`~custlab.reviews.sentiment.SentimentModel` for unrated reviews.
    examples
        Quotes per aspect (3).
    top_n_terms
        Data terms per aspect (8).
    level
        Confidence level of the intervals.

    Examples
    --------
    >>> rv = pl.DataFrame({"rating": [1, 2, 1, 5], "text": ["Runs small.", "Too tight in the hips.",
    ...                    "Delivery was late.", "Great fit!"]})
    >>> result = aspects(rv, top_n_terms=0)
    >>> result.summary.select("aspect", "complaints", pl.col("complaint_share").round(2)).rows()
    [('size', 2, 0.67), ('logistics', 1, 0.33)]
    """
    if language not in ("auto", "en", "zh"):
        raise CustlabError(f"language must be 'auto', 'en' or 'zh', got {language!r}.")
    tagged = tag_aspects(reviews, lexicon=lexicon, language=language)
    has_text = clean_text(pl.col("text")).str.contains(r"\w")
    tagged = tagged.filter(has_text)
    if tagged.height == 0:
        raise CustlabError("No review has any text to read (the 'text' column is empty or null in every row).")
    tagged, basis = negative_reviews(tagged, language=language, negative_max=negative_max, model=model)
    lex = aspect_lexicon(lexicon) if lexicon is not None else _shipped()
    neg = tagged.filter(pl.col("negative"))
    others = tagged.filter(~pl.col("negative"))
    n_neg, n_other = neg.height, others.height
    rated = "rating" in tagged.columns and tagged["rating"].null_count() < tagged.height
    exclude = "|".join(p for p in (_pattern(s, language) for s in lex.values()) if p)
    rows = []
    for aspect in lex:
        hit = pl.col("aspects").list.contains(aspect)
        mine = neg.filter(hit)
        complaints = mine.height
        row = {
            "aspect": aspect,
            "mentions": tagged.filter(hit).height,
            "complaints": complaints,
            "complaint_share": complaints / n_neg if n_neg else 0.0,
            "praise_share": others.filter(hit).height / n_other if n_other else 0.0,
        }
        lo, hi = wilson(complaints, n_neg, level)
        row["lower"], row["upper"] = (float(lo), float(hi)) if n_neg else (0.0, 0.0)
        if rated:
            split = tagged.group_by(hit.alias("m")).agg(pl.col("rating").mean())
            means = dict(split.iter_rows())
            row["mean_rating_mentioned"] = means.get(True)
            row["mean_rating_other"] = means.get(False)
        main_first = mine.sort(pl.col("main_aspect") != aspect)
        row["examples"] = _examples(main_first, examples)
        row["data_terms"] = data_terms(mine["text"], neg.filter(~hit)["text"], exclude=exclude,
                                       top_n=top_n_terms) if top_n_terms and complaints else []
        rows.append(row)
    table = pl.DataFrame(rows, schema_overrides={"examples": pl.List(pl.String), "data_terms": pl.List(pl.String)})
    table = table.select("aspect", "mentions", "complaints", "complaint_share", "lower", "upper", "praise_share",
                         *([c for c in ("mean_rating_mentioned", "mean_rating_other") if c in table.columns]),
                         "examples", "data_terms")
    table = table.with_columns(pl.col("mentions", "complaints").cast(pl.Int64)).sort(
        ["complaints", "mentions"], descending=True, maintain_order=True)
    unmatched = neg.filter(pl.col("aspects").list.len() == 0).height
    return Aspects(table, tagged, basis, tagged.height, n_neg, unmatched, level)

