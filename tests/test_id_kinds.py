"""Customer ids of two kinds across tables: one clear "cast one side" error, never a raw polars error (audit).

A ``customer_id`` stored as integers in one table and as text (or an Enum) in another cannot be joined: 12345 and
"12345" never match. recommend(customers=...), next_best_action(customers=...), campaign_effect, channel_quality
and early_warning(value=...) failed with polars' "datatypes of join keys don't match" or "'is_in' cannot check for
Int64 values in List(String) data"; they now say, as portrait and attribute did, which tables disagree, show ids
of each and how to cast one side (custlab.data.ids.match_ids). Ids of one kind in different dtypes (Int32 and
Int64, an Enum and String) are matched without a word.
"""

from __future__ import annotations

import datetime as dt
import warnings

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import custlab as cl
from custlab.exceptions import SchemaError

#: What every message says: both tables, their dtypes, and the fix.
CAST = r"customer_id is (Int64|String|Enum) \(e\.g\. .*\) but .*customer_id is (Int64|String|Enum) .*Cast one side"


@pytest.fixture(scope="module")
def shop():
    return cl.make_shop(600, seed=3, months=12, campaign=True)


def _text(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col("customer_id").cast(pl.String))


def _enum(frame: pl.DataFrame) -> pl.DataFrame:
    ids = frame["customer_id"].cast(pl.String)
    return frame.with_columns(ids.cast(pl.Enum(ids.unique(maintain_order=True).to_list())))


def _quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cl.CustlabWarning)
        return function(*args, **kwargs)


@pytest.mark.parametrize("other", [_text, _enum], ids=["text", "enum"])
def test_recommend_for_customers_of_another_kind(shop, other):
    tx = shop.transactions
    with pytest.raises(SchemaError, match=CAST):
        _quiet(cl.recommend.recommend, tx, k=2, customers=other(shop.customers))
    with pytest.raises(SchemaError, match=CAST):
        _quiet(cl.recommend.recommend, _text(tx), k=2, customers=shop.customers)
    with pytest.raises(SchemaError, match=r"customers\.cast\(pl\.Int64\)"):  # a list of text ids for integer ids
        _quiet(cl.recommend.recommend, tx, k=2, customers=["1", "2"])


def test_recommend_matches_ids_of_one_kind_in_other_dtypes(shop):
    tx, people = _text(shop.transactions), shop.customers.head(50)
    expected = _quiet(cl.recommend.recommend, tx, k=2, customers=_text(people))
    assert_frame_equal(_quiet(cl.recommend.recommend, tx, k=2, customers=_enum(people)), expected)
    narrow = shop.customers.head(50).with_columns(pl.col("customer_id").cast(pl.Int32))
    wide = _quiet(cl.recommend.recommend, shop.transactions, k=2, customers=shop.customers.head(50))
    assert_frame_equal(_quiet(cl.recommend.recommend, shop.transactions, k=2, customers=narrow), wide)


def test_next_best_action_with_customers_of_another_kind(shop):
    people = shop.customers.with_columns(birth_month=pl.lit(5))
    with pytest.raises(SchemaError, match=CAST):
        _quiet(cl.recommend.next_best_action, shop.transactions, customers=_text(people))
    with pytest.raises(SchemaError, match=CAST):
        _quiet(cl.recommend.next_best_action, _text(shop.transactions), customers=people)
    with pytest.raises(SchemaError, match=r"risk\.customer_id is String"):
        _quiet(cl.recommend.next_best_action, shop.transactions,
               risk=pl.DataFrame({"customer_id": ["1"], "p_churn": [0.9]}))


def test_campaign_effect_with_campaign_ids_of_another_kind(shop):
    with pytest.raises(SchemaError, match=CAST):
        cl.campaigns.campaign_effect(_text(shop.campaigns), shop.transactions)
    with pytest.raises(SchemaError, match=CAST):
        cl.campaigns.campaign_effect(shop.campaigns, _text(shop.transactions))
    # text ids on both sides, one of them an Enum: matched
    expected = cl.campaigns.campaign_effect(_text(shop.campaigns), _text(shop.transactions)).to_frame()
    assert_frame_equal(cl.campaigns.campaign_effect(_text(shop.campaigns), _enum(shop.transactions)).to_frame(),
                       expected)


@pytest.mark.parametrize("other", [_text, _enum], ids=["text", "enum"])
def test_channel_quality_with_customers_of_another_kind(shop, other):
    with pytest.raises(SchemaError, match=CAST):
        cl.attribution.channel_quality(other(shop.customers), shop.transactions)
    with pytest.raises(SchemaError, match=CAST):
        cl.attribution.channel_quality(shop.customers, other(shop.transactions))


def test_early_warning_with_values_of_another_kind(shop):
    values = pl.DataFrame({"customer_id": ["1", "2"], "clv": [10.0, 20.0]})
    with pytest.raises(SchemaError, match=CAST):
        _quiet(cl.churn.early_warning, shop.transactions, value=values)


def test_match_ids_messages_name_both_tables_and_show_ids():
    from custlab.data.ids import match_ids

    tx = pl.DataFrame({"customer_id": [12346, 12347]})
    with pytest.raises(SchemaError) as caught:
        match_ids({"transactions": tx, "customers": pl.DataFrame({"customer_id": ["12346", "x"]})})
    message = str(caught.value)
    assert "transactions.customer_id is Int64 (e.g. [12346, 12347])" in message
    assert "customers.customer_id is String (e.g. ['12346', 'x'])" in message
    assert "transactions.with_columns(pl.col('customer_id').cast(pl.String))" in message
    with pytest.raises(SchemaError, match=r"customers\.customer_id is Float64, e\.g\. \[1\.5\].*integers or text"):
        match_ids({"transactions": tx, "customers": pl.DataFrame({"customer_id": [1.5]})})
    # None and frames without the column pass through; a column of nulls only takes the other kind
    out = match_ids({"transactions": tx, "segments": None, "other": pl.DataFrame({"x": [1]}),
                     "empty": pl.DataFrame({"customer_id": [None, None]})})
    assert out["segments"] is None and out["other"].columns == ["x"]
    assert out["empty"].schema["customer_id"] == pl.Int64
    assert match_ids({"a": tx, "b": tx})["b"] is tx  # one dtype: nothing to do
    lazy = match_ids({"a": tx, "b": tx.lazy().with_columns(pl.col("customer_id").cast(pl.UInt16))})["b"]
    assert isinstance(lazy, pl.LazyFrame) and lazy.collect_schema()["customer_id"] == pl.Int64
    dates = pl.DataFrame({"customer_id": [dt.date(2024, 1, 1)]})
    with pytest.raises(SchemaError, match="integers or text"):
        match_ids({"transactions": tx, "customers": dates})
