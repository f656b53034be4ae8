"""Review text as terms: cleaning, the bilingual analyzer, TF-IDF matrices and language detection.

Everything here runs in polars (Rust, all cores) and scipy.sparse, so one
million reviews are turned into a TF-IDF matrix in seconds, and the fit and
the scoring see exactly the same terms.

The analyzer (:func:`terms`), after :func:`clean_text` (HTML tags and
entities removed, Unicode NFKC so full-width letters and digits become ASCII,
lower case):

* **words**: the text with its Chinese characters blanked, split like
  scikit-learn's default ``token_pattern`` ``(?u)\\b\\w\\w+\\b`` (words of two
  or more letters or digits), as unigrams and as bigrams of neighbouring
  words;
* **Chinese**: every run of Han characters as character 1-, 2- and
  3-grams inside the run (n-grams do not cross punctuation or spaces);
* **emoji**: each pictograph (``\\p{Extended_Pictographic}``) as a term.

So one vocabulary serves English, Chinese and mixed reviews. TF-IDF follows
scikit-learn's ``TfidfVectorizer(sublinear_tf=True, smooth_idf=True,
norm="l2")``: ``tf = 1 + ln(count)``, ``idf = ln((1 + n) / (1 + df)) + 1``,
rows scaled to unit length. ``tests/reviews/test_text.py`` checks the
matrix against scikit-learn's on the same analyzer.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy import sparse

__all__ = ["CHUNK_ROWS", "clean_text", "detect_language", "document_frequencies", "fit_counts", "term_counts", "terms",
           "tfidf_matrix"]

#: Rows turned into terms at a time (bounds the memory of the exploded term table).
CHUNK_ROWS = 100_000

_TAG = r"<[^<>]{0,500}>"
_ENTITIES = {"&nbsp;": " ", "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'", "&apos;": "'"}
_WORD = r"\b\w\w+\b"
_HAN = r"\p{Han}"


def clean_text(text: pl.Expr) -> pl.Expr:
    """Text as the analyzer reads it: HTML tags and entities out, NFKC, lower case, nulls as "".

    >>> pl.select(clean_text(pl.lit("<p>Runs  SMALL&amp;thin</p>"))).item()
    ' runs  small&thin '
    """
    out = text.cast(pl.String).fill_null("").str.replace_all(_TAG, " ")
    for entity, char in _ENTITIES.items():
        out = out.str.replace_all(entity, char, literal=True)
    return out.str.replace_all(r"&#\d{1,6};", " ").str.normalize("NFKC").str.to_lowercase()


def _shifted_join(frame: pl.DataFrame, key: str, n: int, sep: str) -> pl.DataFrame:
    """n-grams of consecutive ``term`` values within the same ``key`` (rows ordered by key), joined by ``sep``."""
    gram = pl.col("term")
    same = pl.lit(True)
    for k in range(1, n):
        gram = gram + sep + pl.col("term").shift(-k)
        same = same & (pl.col(key) == pl.col(key).shift(-k))
    return frame.select("row", gram.alias("term"), same.alias("_same")).filter(pl.col("_same")).drop("_same")


def terms(texts: pl.Series | pl.Expr | list[str], *, word_ngrams: int = 2, han_ngrams: int = 3,
          emoji: bool = True) -> pl.DataFrame:
    """Every term occurrence of every text: ``row`` (UInt32, position in ``texts``), ``term`` (String).

    A row appears once per occurrence (so counts are term frequencies); texts
    without a term do not appear.

    >>> terms(["Runs small, runs SMALL", "尺码偏小"], word_ngrams=1, han_ngrams=2)["term"].to_list()
    ['runs', 'small', 'runs', 'small', '尺', '码', '偏', '小', '尺码', '码偏', '偏小']
    """
    series = texts if isinstance(texts, pl.Series) else pl.Series("text", list(texts), dtype=pl.String)
    base = pl.DataFrame({"text": series}).with_row_index("row").select("row", clean_text(pl.col("text")).alias("t"))
    words = (base.select("row", pl.col("t").str.replace_all(_HAN + "+", " ").str.extract_all(_WORD).alias("term"))
             .explode("term").drop_nulls("term"))
    parts = [words] + [_shifted_join(words, "row", n, " ") for n in range(2, word_ngrams + 1)]
    han = (base.select("row", pl.col("t").str.extract_all(_HAN + "+").alias("run")).explode("run").drop_nulls("run")
           .with_row_index("run_id").select("row", "run_id", pl.col("run").str.split("").alias("term"))
           .explode("term"))
    if han.height:
        parts.append(han.select("row", "term"))
        for n in range(2, han_ngrams + 1):
            parts.append(_shifted_join(han, "run_id", n, ""))
    if emoji:
        pict = (base.select("row", pl.col("t").str.extract_all(r"\p{Extended_Pictographic}").alias("term"))
                .explode("term").drop_nulls("term"))
        parts.append(pict)
    return pl.concat([p.select(pl.col("row").cast(pl.UInt32), pl.col("term")) for p in parts])


def term_counts(texts: pl.Series, vocabulary: pl.Series, **analyzer) -> sparse.csr_matrix:
    """Raw counts, rows = ``texts`` and columns = ``vocabulary`` (terms outside it are ignored), in chunks."""
    # the vocabulary as an Enum: a term's column is its physical code, unknown terms become null (2-3x a join)
    enum = pl.Enum(vocabulary.cast(pl.String))
    blocks = []
    for start in range(0, max(texts.len(), 1), CHUNK_ROWS):
        chunk = texts.slice(start, CHUNK_ROWS)
        found = terms(chunk, **analyzer).select(
            "row", pl.col("term").cast(enum, strict=False).to_physical().alias("col")).drop_nulls("col")
        block = sparse.csr_matrix(
            (np.ones(found.height, dtype=np.float64), (found["row"].to_numpy(), found["col"].to_numpy())),
            shape=(chunk.len(), vocabulary.len()),
        )
        block.sum_duplicates()
        blocks.append(block)
    return sparse.vstack(blocks, format="csr") if len(blocks) > 1 else blocks[0]


def document_frequencies(texts: pl.Series, **analyzer) -> pl.DataFrame:
    """``term``, ``df`` (UInt32: number of texts holding the term), sorted by df descending then term."""
    parts = [terms(texts.slice(s, CHUNK_ROWS), **analyzer).unique() for s in range(0, max(texts.len(), 1), CHUNK_ROWS)]
    frame = pl.concat(parts) if parts else pl.DataFrame(schema={"row": pl.UInt32, "term": pl.String})
    return (frame.group_by("term").agg(pl.len().cast(pl.UInt32).alias("df"))
            .sort(["df", "term"], descending=[True, False]))


def tfidf_matrix(counts: sparse.csr_matrix, idf: np.ndarray) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Sublinear TF-IDF with unit-length rows, and a mask of the rows that have at least one term."""
    x = counts.astype(np.float64, copy=True)
    x.data = (1.0 + np.log(x.data)) * idf[x.indices]
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    has = norms > 0
    scale = np.where(has, 1.0 / np.where(has, norms, 1.0), 0.0)
    return sparse.diags(scale) @ x, has


def detect_language(text: pl.Expr) -> pl.Expr:
    """``"zh"`` when at least 30% of the letters are Han characters, ``"en"`` when there are other letters, else null.

    >>> pl.select(detect_language(pl.Series(["质量很好 good", "great", "👍", None]))).to_series().to_list()
    ['zh', 'en', None, None]
    """
    han = text.str.count_matches(_HAN)
    letters = text.str.count_matches(r"\p{L}")
    share = han / letters
    return (pl.when(letters.fill_null(0) == 0).then(pl.lit(None, dtype=pl.String))
            .when(share >= 0.3).then(pl.lit("zh")).otherwise(pl.lit("en")))


def fit_counts(texts: pl.Series, *, min_df: int = 1, max_features: int | None = None,
               **analyzer) -> tuple[sparse.csr_matrix, pl.DataFrame]:
    """Counts and vocabulary learnt from ``texts`` in one pass: ``(counts, vocabulary)``.

    The vocabulary (``term``, ``df``) holds the terms in ``min_df`` or more
    texts, at most ``max_features`` of them (highest document frequency
    first, ties by term), in column order; the same as
    :func:`document_frequencies` followed by :func:`term_counts`.
    """
    found = pl.concat([terms(texts.slice(s, CHUNK_ROWS), **analyzer).with_columns(pl.col("row") + s)
                       for s in range(0, max(texts.len(), 1), CHUNK_ROWS)])
    codes = found["term"].cast(pl.Categorical).to_physical().to_numpy()
    uniq, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    counts = sparse.csr_matrix((np.ones(found.height), (found["row"].to_numpy(), inverse)),
                               shape=(texts.len(), uniq.size))
    counts.sum_duplicates()
    df = np.bincount(counts.indices, minlength=uniq.size)
    vocab = (pl.DataFrame({"term": found["term"].gather(first), "df": df.astype(np.uint32),
                           "col": np.arange(uniq.size)})
             .filter(pl.col("df") >= min_df).sort(["df", "term"], descending=[True, False]))
    if max_features is not None:
        vocab = vocab.head(max_features)
    return counts[:, vocab["col"].to_numpy()].tocsr(), vocab.drop("col")
