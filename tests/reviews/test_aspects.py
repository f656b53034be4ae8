"""Aspects: size/fit tops the clothing complaints; planted synthetic shares come back; the lexicon is clean."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from custlab.exceptions import CustlabError
from custlab.reviews import ASPECTS, aspect_lexicon, aspects, discover_topics, tag_aspects
from custlab.synthetic.params import VOICE_ASPECTS
from custlab.synthetic.voice import PHRASES, aspect_probabilities


def test_size_and_fit_is_the_top_complaint_of_one_and_two_star_clothing_reviews(womens):
    data = womens.filter(pl.col("review_text").is_not_null()).select("rating", "text")
    result = aspects(data, top_n_terms=0)
    assert result.basis == "rating" and result.n_negative == 821 + 1549  # README: texts of 1-2 star reviews
    assert result.top_complaint == "size"
    top = result.summary.row(0, named=True)
    second = result.summary.row(1, named=True)
    assert top["lower"] > second["upper"]  # clearly first, not by chance
    # the README's whole-word regex finds size/fit words in 1,184 of the 2,370 (50.0%); the lexicon, with its
    # phrases and inflections, in more
    assert 0.50 < top["complaint_share"] < 0.70
    assert all(len(r["examples"]) == 3 for r in result.table.filter(pl.col("complaints") >= 3).iter_rows(named=True))


def test_planted_complaint_shares_come_back_within_sampling_error(voice_shop):
    result = aspects(voice_shop.reviews, top_n_terms=0, examples=0)
    planted = voice_shop.truth["voice"]["reviews"].filter(pl.col("complaint").is_not_null())
    assert result.n_negative == planted.height and result.n_unmatched == 0
    # expected count of each aspect given each negative review's category and delivery, and its binomial sd
    probs = np.stack([aspect_probabilities(a, lt) for a, lt in planted.select("apparel", "late").rows()])
    for i, aspect in enumerate(VOICE_ASPECTS):
        expected, sd = probs[:, i].sum(), np.sqrt((probs[:, i] * (1 - probs[:, i])).sum())
        got = result.table.filter(pl.col("aspect") == aspect)["complaints"].item()
        assert abs(got - expected) < 3.5 * sd, (aspect, got, expected, sd)
        assert got == planted.filter(pl.col("complaint") == aspect).height  # detection is exact


def test_every_phrase_of_the_synthetic_bank_names_exactly_its_aspect():
    for (_, kind, aspect), phrases in PHRASES.items():
        tagged = tag_aspects(pl.DataFrame({"text": list(phrases)}))["aspects"].to_list()
        assert tagged == [[aspect] if aspect else []] * len(phrases), (kind, aspect)


def test_lexicon_terms_belong_to_one_aspect_and_extra_terms_are_added():
    seen: dict[str, str] = {}
    for aspect, spec in aspect_lexicon().items():
        for lang in ("en", "zh"):
            for term in spec[lang]:
                assert seen.setdefault(f"{lang}:{term.lower()}", aspect) == aspect, term
    assert set(ASPECTS) == {"size", "quality", "logistics", "service", "price", "packaging", "description",
                            "authenticity"}
    rv = pl.DataFrame({"rating": [1, 1], "text": ["the zipper jammed", "zip stuck"]})
    assert aspects(rv, top_n_terms=0).n_unmatched == 2
    extra = aspects(rv, lexicon={"zipper": {"en": ["zipper", "zip"]}}, top_n_terms=0)
    assert extra.top_complaint == "zipper" and extra.n_unmatched == 0
    with pytest.raises(CustlabError, match="list of terms"):
        aspect_lexicon({"size": {"en": "hem"}})


def test_unrated_reviews_are_judged_by_their_text():
    rv = pl.DataFrame({"text": ["尺码偏小，太失望了", "物流太慢，差评", "质量很好，很满意", "Fits true to size, love it"]})
    result = aspects(rv, top_n_terms=0)
    assert result.basis == "sentiment" and result.n_negative == 2
    assert set(result.summary["aspect"]) == {"size", "logistics"}
    assert result.describe("zh")[0].endswith("。") and "nan" not in " ".join(result.describe("en"))


def test_data_terms_find_words_the_lexicon_lacks():
    texts = ["the zipper jammed on day one"] * 8 + ["runs small in the hips"] * 8 + ["zipper stuck and too small"] * 4
    result = aspects(pl.DataFrame({"rating": [1] * 20, "text": texts}))
    size = result.table.filter(pl.col("aspect") == "size").row(0, named=True)
    assert "hips" in size["data_terms"] and not any("small" in term for term in size["data_terms"])


def test_discover_topics_finds_what_the_lexicon_misses(womens):
    data = womens.filter(pl.col("review_text").is_not_null()).select("rating", "text")
    topics = discover_topics(data, n_topics=5)
    assert topics.scope == "unmatched negative" and topics.table["reviews"].sum() <= topics.assignments.height
    assert topics.table.height == 5 and all(len(terms) == 8 for terms in topics.table["terms"])
    with pytest.raises(CustlabError, match="too few"):
        discover_topics(data.head(5), n_topics=3, scope="all")
