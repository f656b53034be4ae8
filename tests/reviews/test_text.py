"""The analyzer and TF-IDF against scikit-learn's; cleaning and language detection."""

from __future__ import annotations

import numpy as np
import polars as pl
from sklearn.feature_extraction.text import TfidfVectorizer

from custlab.reviews._text import clean_text, detect_language, fit_counts, term_counts, terms, tfidf_matrix

TEXTS = ["Runs small, runs SMALL!", "The fabric is thin; it tore.", "too small too small too small", "Lovely 🙂",
         "尺码偏小，质量很好", "物流太慢 but the quality is fine", "", "<b>Great</b> fit &amp; colour"]


def _python_analyzer(text: str) -> list[str]:
    """The same analyzer written with Python's re module, word by word (an independent implementation)."""
    import re
    import unicodedata

    text = re.sub(r"<[^<>]{0,500}>", " ", text or "")
    for entity, char in {"&nbsp;": " ", "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'",
                         "&apos;": "'"}.items():
        text = text.replace(entity, char)
    text = unicodedata.normalize("NFKC", re.sub(r"&#\d{1,6};", " ", text)).lower()
    han = r"[\u4e00-\u9fff]"
    words = re.findall(r"(?u)\b\w\w+\b", re.sub(han + "+", " ", text))
    out = words + [f"{a} {b}" for a, b in zip(words, words[1:])]
    runs = re.findall(han + "+", text)
    for n in (1, 2, 3):
        out += [run[i:i + n] for run in runs for i in range(len(run) - n + 1)]
    out += [c for c in text if ord(c) >= 0x1F300]
    return out


def test_terms_match_an_independent_python_analyzer():
    got = terms(TEXTS).group_by("row").agg(pl.col("term").sort()).sort("row")
    want = {i: sorted(_python_analyzer(t)) for i, t in enumerate(TEXTS) if _python_analyzer(t)}
    assert dict(zip(got["row"].to_list(), got["term"].to_list(), strict=True)) == want


def test_tfidf_equals_scikit_learn_on_the_same_analyzer():
    texts = pl.Series(TEXTS * 3 + ["small fabric", "quality is fine"])
    counts, vocab = fit_counts(texts, min_df=1)
    idf = np.log((1 + texts.len()) / (1 + vocab["df"].to_numpy())) + 1
    ours, has = tfidf_matrix(counts, idf)
    sk = TfidfVectorizer(analyzer=_python_analyzer, sublinear_tf=True, vocabulary=vocab["term"].to_list())
    theirs = sk.fit_transform(texts.to_list())
    assert np.allclose(sk.idf_, idf)
    assert np.allclose(ours.toarray(), theirs.toarray())
    assert not has[TEXTS.index("")]


def test_english_words_and_pairs_match_scikit_learns_builtin_analyzer():
    texts = ["Runs small, runs small!", "the fabric is thin and it tore", "small fabric runs"]
    sk = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit(texts)
    vocab = pl.Series(sk.get_feature_names_out().tolist())
    ours, _ = tfidf_matrix(term_counts(pl.Series(texts), vocab), sk.idf_)
    assert np.allclose(ours.toarray(), sk.transform(texts).toarray())


def test_fit_counts_equals_two_passes():
    texts = pl.Series(TEXTS * 2)
    counts, vocab = fit_counts(texts, min_df=2, max_features=10)
    again = term_counts(texts, vocab["term"])
    assert (counts != again).nnz == 0 and vocab.height == 10


def test_cleaning_and_language():
    out = pl.select(clean_text(pl.Series(["<p>A&amp;B</p>", None, "ＦＵＬＬ"]))).to_series().to_list()
    assert out == [" a&b ", "", "full"]
    lang = pl.select(detect_language(pl.Series(["质量很好", "good", "质量 good value here ok", "😊", ""]))).to_series()
    assert lang.to_list() == ["zh", "en", "en", None, None]
