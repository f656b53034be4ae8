"""Result objects (issue 12): frozen dataclasses, ``.to_frame()`` for the main table, ``.summary`` a short
table where there is one, and a ``repr`` that shows the headline, not the data.

The classes are found by walking the package (every dataclass in a public ``__all__`` or returned by a
public function), so a new result class is checked without being listed; :data:`BUILD` makes one
instance of each result class from a small synthetic shop and a test fails when one is missing there.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing

import numpy as np
import polars as pl
import pytest

import custlab as cl
from tests.public_api import is_dataclass_type, public_classes, public_functions_returning

_HEAVY = ("DataFrame", "LazyFrame", "ndarray", "Series")


def _dataclasses() -> list[type]:
    found = {(c.__module__, c.__qualname__): c for c in public_classes() if is_dataclass_type(c)}
    for c in public_functions_returning(is_dataclass_type):
        found.setdefault((c.__module__, c.__qualname__), c)
    return [found[k] for k in sorted(found)]


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _field_types(cls: type) -> dict[str, str]:
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # a forward reference only importable under TYPE_CHECKING
        hints = {}
    return {f.name: repr(hints.get(f.name, f.type)) for f in dataclasses.fields(cls)}


def _own_repr(cls: type) -> bool:
    function = getattr(cls.__repr__, "__wrapped__", cls.__repr__)
    code = getattr(function, "__code__", None)
    return code is not None and "dataclasses" not in code.co_filename and code.co_filename != "<string>"


DATACLASSES = _dataclasses()

#: Dataclasses holding a DataFrame that are not results with one main table (so no ``to_frame``).
NOT_RESULTS = {
    "custlab.synthetic.shop.Shop": "a bundle of five tables (transactions, customers, events, ...), each an attribute",
    "custlab.synthetic.customers.Customers": "make_shop's working state between two stages",
    "custlab.report.parts.Table": "a table to render (caption, formats), not a result",
}

RESULTS = [
    c for c in DATACLASSES
    if _name(c) not in NOT_RESULTS
    and (hasattr(c, "to_frame") or any(t.endswith("DataFrame'>") or t == "pl.DataFrame" for t in _field_types(c).values()))
]

def test_the_walk_finds_the_result_classes():
    names = {_name(c) for c in RESULTS}
    for expected in ("custlab.clv.estimate.CLVResult", "custlab.churn.warning.EarlyWarning",
                     "custlab.segments.kmeans.KMeansSegments", "custlab.data.report.DataQualityReport"):
        assert expected in names
    assert len(DATACLASSES) > len(RESULTS) > 10


@pytest.mark.parametrize("cls", DATACLASSES, ids=_name)
def test_every_public_dataclass_is_frozen(cls):
    assert cls.__dataclass_params__.frozen, f"{_name(cls)}: @dataclass(frozen=True)"


@pytest.mark.parametrize("cls", DATACLASSES, ids=_name)
def test_a_dataclass_holding_data_does_not_print_it(cls):
    """Tables and arrays stay out of the repr: an own ``__repr__`` or ``field(repr=False)`` for each."""
    heavy = [f.name for f in dataclasses.fields(cls)
             if f.repr and any(word in _field_types(cls)[f.name] for word in _HEAVY)]
    assert not (heavy and not _own_repr(cls)), f"{_name(cls)} prints {heavy} in its repr"


@pytest.mark.parametrize("cls", RESULTS, ids=_name)
def test_every_result_has_to_frame_and_its_own_repr(cls):
    assert callable(getattr(cls, "to_frame", None)), f"{_name(cls)}.to_frame() for the main table"
    assert _own_repr(cls), f"{_name(cls)}: a __repr__ that shows the headline"


# --------------------------------------------------------------------------- instances


@pytest.fixture(scope="module")
def shop():
    """A year of 1,500 customers with the optional tables too: campaigns, touches, reviews and surveys."""
    return cl.make_shop(1500, seed=3, months=12, campaign=True, touches=True, voice=True)


def _clv_result(shop):
    summary = cl.clv.clv_summary(shop.transactions)
    return cl.clv.estimate_clv(summary, cl.clv.BetaGeo().fit(summary), cl.clv.GammaGamma().fit(summary),
                               annual_discount_rate=0.1)


def _comparison(shop):
    warning = cl.churn.early_warning(shop.transactions)
    alive = cl.clv.clv_summary(shop.transactions).select("customer_id", p_alive=pl.lit(0.5))
    return cl.churn.compare_with_bgnbd(warning.to_frame(), alive)


def _attribution_report(shop):
    return cl.attribution.attribution_report(shop.touches, shop.transactions, spend=shop.marketing_spend)


def _campaign_customers(shop, **extra):
    """One row per campaign customer: group, outcomes, and the pre-period spend (a year before the send)."""
    outcomes = cl.campaigns.campaign_outcomes(shop.campaigns, shop.transactions)
    pre = cl.campaigns.pre_period_spend(shop.campaigns, shop.transactions, within="365d")
    return outcomes.join(pre, on=["campaign_id", "customer_id"])


def _uplift(shop):
    return cl.campaigns.uplift_model(_campaign_customers(shop), features=["recency_days", "pre_spend"], group="group",
                                     control="control", outcome="converted", n_boot=50)


def _referrals(shop):
    friend = int(shop.transactions["customer_id"][0])
    rows = [(1, "share", dt.datetime(2023, 6, 1), None, "s1"), (1, "click", dt.datetime(2023, 6, 2), None, "s1"),
            (1, "order", dt.datetime(2023, 6, 3), friend, "s1"), (2, "share", dt.datetime(2023, 6, 1), None, "s2")]
    table = pl.DataFrame(rows, schema=["referrer_id", "event", "event_time", "customer_id", "share_id"], orient="row")
    return cl.campaigns.referral_funnel(table, shop.transactions)


def _monthly_series(shop):
    return cl.forecast.series(shop.transactions, by="category", freq="1mo")


def _forecast(shop):
    return cl.forecast.forecast(_monthly_series(shop), horizon=2, models="ets")


#: One instance of each result class, built from the shop through the public entry points.
BUILD = {
    "custlab.attribution.compare.PathComparison": lambda s: cl.attribution.compare_paths(
        cl.attribution.attribute(s.touches, s.transactions).paths, "search", "sms", match="contains"),
    "custlab.attribution.markov.MarkovModel": lambda s: cl.attribution.attribute(s.touches, s.transactions).markov,
    "custlab.attribution.report.AttributionReport": _attribution_report,
    "custlab.attribution.result.AttributionResult": lambda s: cl.attribution.attribute(s.touches, s.transactions),
    "custlab.attribution.spend.Reallocation": lambda s: _attribution_report(s).move,
    "custlab.campaigns.cuped.CupedResult": lambda s: cl.campaigns.cuped(
        _campaign_customers(s), outcome="revenue", covariate="pre_spend", group="group", control="control"),
    "custlab.campaigns.effects.CampaignEffect": lambda s: cl.campaigns.campaign_effect(s.campaigns, s.transactions),
    "custlab.campaigns.referral.ReferralFunnel": _referrals,
    "custlab.campaigns.report.CampaignResults": lambda s: cl.campaigns.campaign_results(s.campaigns, s.transactions),
    "custlab.campaigns.uplift.UpliftEvaluation": lambda s: _uplift(s).evaluation,
    "custlab.campaigns.uplift.UpliftResult": _uplift,
    "custlab.forecast.alerts.Alerts": lambda s: cl.forecast.heat_alerts(_monthly_series(s), models="ets"),
    "custlab.forecast.backtest.Backtest": lambda s: cl.forecast.backtest(_monthly_series(s), horizon=2, n_windows=1,
                                                                         models="ets"),
    "custlab.forecast.hierarchy.Hierarchy": lambda s: cl.forecast.hierarchy_series(s.transactions, freq="1mo"),
    "custlab.forecast.outlook.DemandOutlook": lambda s: cl.forecast.demand_outlook(s.transactions, top_n=3),
    "custlab.forecast.predict.Forecast": _forecast,
    "custlab.recommend.evaluation.Evaluation": lambda s: cl.recommend.evaluate(
        s.transactions, split_date="2023-11-01", models=("popularity", "knn"), n_boot=20, sample=300),
    "custlab.recommend.matrix.Interactions": lambda s: cl.recommend.interaction_matrix(s.transactions),
    "custlab.recommend.nba.NextBestActions": lambda s: cl.recommend.next_best_action(s.transactions,
                                                                                     customers=s.customers),
    "custlab.reviews.aspects.Aspects": lambda s: cl.reviews.aspects(s.reviews),
    "custlab.reviews.drivers.Drivers": lambda s: cl.reviews.drivers(s.reviews, orders=s.orders, customers=s.customers),
    "custlab.reviews.nps.SurveyResult": lambda s: cl.reviews.nps(s.surveys),
    "custlab.reviews.outcomes.ReviewOutcomes": lambda s: cl.reviews.review_outcomes(s.reviews, s.transactions),
    "custlab.reviews.recovery.RecoveryList": lambda s: cl.reviews.recovery_list(s.reviews, transactions=s.transactions),
    "custlab.reviews.topics.Topics": lambda s: cl.reviews.discover_topics(s.reviews, n_topics=2, scope="negative",
                                                                          min_df=2),
    "custlab.reviews.voice.VoiceOfCustomer": lambda s: cl.reviews.voice_of_customer(
        s.reviews, transactions=s.transactions, orders=s.orders, customers=s.customers, surveys=s.surveys),
    "custlab.data.report.DataQualityReport": lambda s: cl.data.clean_transactions(s.transactions)[1],
    "custlab.churn.kaplan_meier.KaplanMeier":
        lambda s: cl.churn.kaplan_meier(cl.churn.survival_frame(s.transactions), by="first_channel"),
    "custlab.churn.diagnostics.ChurnDiagnostics": lambda s: cl.churn.churn_diagnostics(s.transactions),
    "custlab.churn.warning.EarlyWarning": lambda s: cl.churn.early_warning(s.transactions),
    "custlab.churn.compare.BgnbdComparison": _comparison,
    "custlab.clv.choice.ModelChoice": lambda s: cl.clv.choose_model(s.transactions),
    "custlab.clv.estimate.CLVResult": _clv_result,
    "custlab.portrait.Portrait": lambda s: cl.portrait.portrait(s.transactions, s.customers),
    "custlab.portrait.Breakdown": lambda s: cl.portrait.breakdown(s.transactions, s.customers, by="channel"),
    "custlab.rules.manager.ManagerRules": lambda s: cl.rules.manager_rules(s.transactions),
    "custlab.segments.kmeans.KMeansSegments": lambda s: cl.segments.kmeans_segments(s.transactions, k=3),
    "custlab.segments.migration.Migration": lambda s: cl.segments.segment_migration(s.transactions),
}

#: Heavy non-result dataclasses whose repr is checked on an instance too.
OTHERS = {
    "custlab.synthetic.shop.Shop": lambda s: s,
    "custlab.recommend.base.TopK": lambda s: cl.recommend.Popularity().fit(
        cl.recommend.interaction_matrix(s.transactions)).top_k(np.arange(20), 5),
    "custlab.rules.engine.Mined": lambda s: cl.rules.engine.mine(
        cl.rules.engine.incidence(np.array([0, 0, 1, 1, 2]), np.array([0, 1, 0, 1, 1]), 3, 2), min_count=1),
}


def test_every_result_class_has_a_builder():
    missing = sorted({_name(c) for c in RESULTS} - set(BUILD))
    assert not missing, f"add a builder to BUILD for {missing}"


def _check_repr(obj) -> None:
    text = repr(obj)
    assert text.startswith(type(obj).__name__ + "("), text
    assert "\n" not in text and len(text) <= 300, f"a headline, not the data: {text[:500]}"


@pytest.mark.filterwarnings("ignore::custlab.CustlabWarning")
@pytest.mark.parametrize("name", sorted(BUILD))
def test_result_instances(shop, name):
    obj = BUILD[name](shop)
    assert _name(type(obj)) == name
    _check_repr(obj)
    frame = obj.to_frame()
    assert isinstance(frame, pl.DataFrame) and frame.height > 0 and frame.width > 0
    summary = getattr(obj, "summary", None)
    if summary is not None:  # a short table
        assert isinstance(summary, pl.DataFrame), f"{name}.summary is a {type(summary).__name__}"
        assert summary.height <= 100 and summary.width > 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(obj, dataclasses.fields(obj)[0].name, None)


@pytest.mark.parametrize("name", sorted(OTHERS))
def test_other_heavy_instances_show_a_headline(shop, name):
    obj = OTHERS[name](shop)
    assert _name(type(obj)) == name
    _check_repr(obj)
