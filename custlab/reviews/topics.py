"""Topics the lexicon misses: non-negative matrix factorisation (NMF) on the reviews' TF-IDF.

:func:`discover_topics` factorises the TF-IDF matrix of (by default) the
negative reviews that name no known aspect into ``n_topics`` topics
(scikit-learn's ``NMF``, ``init="nndsvda"``); each topic is shown by its
heaviest terms, its share of the reviews (each review goes to its
strongest topic) and example quotes. English stop words and single Chinese
characters are left out of the terms shown (they stay in the matrix only
when informative, see :func:`custlab.reviews.aspects.informative`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from custlab._types import Frame
from custlab.exceptions import CustlabError
from custlab.reviews._text import clean_text, document_frequencies, term_counts, tfidf_matrix
from custlab.reviews.aspects import _examples, aspects, informative

__all__ = ["Topics", "discover_topics"]


@dataclass(frozen=True)
class Topics:
    """Topics found by NMF (:func:`discover_topics`).

    Attributes
    ----------
    table : pl.DataFrame
        ``topic`` (Int64, 1..), ``terms`` (List[String], heaviest first),
        ``reviews`` (Int64, reviews whose strongest topic it is), ``share``,
        ``examples`` (List[String]).
    assignments : pl.DataFrame
        The reviews used, with ``topic`` (Int64; null for a review with no known term).
    scope : str
        "unmatched negative", "negative" or "all".
    """

    table: pl.DataFrame
    assignments: pl.DataFrame
    scope: str

    def to_frame(self) -> pl.DataFrame:
        return self.table

    @property
    def summary(self) -> pl.DataFrame:
        return self.table.select("topic", "terms", "share")

    def __repr__(self) -> str:
        heads = "; ".join(f"{r['topic']}: {' / '.join(r['terms'][:3])}" for r in self.table.iter_rows(named=True))
        return f"Topics({self.table.height} topics in {self.assignments.height:,} {self.scope} reviews: {heads})"


def discover_topics(reviews: Frame, *, n_topics: int = 6, scope: str = "unmatched negative", top_n: int = 8,
                    examples: int = 2, min_df: int = 3, max_features: int = 20_000, seed: int = 0) -> Topics:
    """Topics of the reviews by NMF on TF-IDF: what the aspect lexicon does not name.

    Parameters
    ----------
    reviews
        Reviews with ``text`` (and ``rating`` or ``p_negative`` for the negative scopes).
    n_topics
        Number of topics.
    scope
        "unmatched negative" (default: negative reviews naming no aspect of
        the lexicon), "negative" or "all".
    top_n
        Terms shown per topic.
    seed
        Seed of the factorisation.

    Examples
    --------
    >>> texts = ["the zipper broke", "zipper stuck again", "zipper is stiff", "colour faded to grey",
    ...          "colour is dull grey", "the grey colour washed out"] * 5
    >>> topics = discover_topics(pl.DataFrame({"text": texts}), n_topics=2, scope="all", top_n=1)
    >>> sorted(t[0] for t in topics.to_frame()["terms"])
    ['colour', 'zipper']
    """
    from sklearn.decomposition import NMF

    if scope not in ("unmatched negative", "negative", "all"):
        raise CustlabError(f"scope must be 'unmatched negative', 'negative' or 'all', got {scope!r}.")
    if not isinstance(n_topics, int) or n_topics < 1:
        raise CustlabError(f"n_topics must be a positive whole number, got {n_topics!r}.")
    if scope == "all":
        from custlab.reviews._frames import reviews_table

        data = reviews_table(reviews, need=["text"])
    else:
        tagged = aspects(reviews, top_n_terms=0, examples=0).reviews.filter(pl.col("negative"))
        data = tagged.filter(pl.col("aspects").list.len() == 0) if scope == "unmatched negative" else tagged
    data = data.filter(clean_text(pl.col("text")).str.contains(r"\w"))
    if data.height < max(n_topics * 3, 10):
        raise CustlabError(f"Only {data.height} {scope} reviews with text: too few to find {n_topics} topics "
                           f"(at least {max(n_topics * 3, 10)} needed).")
    df = document_frequencies(data["text"]).filter(pl.col("df") >= min_df).head(max_features)
    df = df.filter(pl.col("term").map_elements(informative, return_dtype=pl.Boolean))
    if df.height < n_topics:
        raise CustlabError(f"The {scope} reviews share only {df.height} informative terms (in {min_df}+ reviews); "
                           "lower min_df or n_topics.")
    idf = np.log((1 + data.height) / (1 + df["df"].to_numpy().astype(float))) + 1
    x, has = tfidf_matrix(term_counts(data["text"], df["term"]), idf)
    nmf = NMF(n_components=n_topics, init="nndsvda", random_state=seed, max_iter=400)
    weights = nmf.fit_transform(x)
    topic = np.where(has & (weights.max(axis=1) > 0), weights.argmax(axis=1) + 1, 0)
    assigned = data.with_columns(topic=pl.Series(topic, dtype=pl.Int64)).with_columns(
        pl.when(pl.col("topic") > 0).then(pl.col("topic")).alias("topic"))
    vocab = df["term"].to_list()
    rows = []
    for k in range(n_topics):
        order = np.argsort(-nmf.components_[k])[:top_n]
        members = assigned.filter(pl.col("topic") == k + 1)
        rows.append({"topic": k + 1, "terms": [vocab[i] for i in order if nmf.components_[k, i] > 0],
                     "reviews": members.height, "share": members.height / data.height,
                     "examples": _examples(members, examples)})
    table = pl.DataFrame(rows, schema_overrides={"terms": pl.List(pl.String), "examples": pl.List(pl.String),
                                                 "reviews": pl.Int64})
    return Topics(table.sort("reviews", descending=True), assigned, scope)
