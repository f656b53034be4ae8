"""voice_of_customer, the recovery list and the outcomes after reviews: against direct computation, no NaN for a reader."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from custlab.reviews import recovery_list, review_outcomes, voice_of_customer
from custlab.reviews.plots import plot_voice
from custlab.synthetic import make_shop


def _readable(voc) -> None:
    """No NaN/inf in the summary and trend, no 'nan'/'inf' in a sentence of either language."""
    for frame in (voc.summary, voc.trend):
        for name, dtype in frame.schema.items():
            if dtype.is_float():
                values = frame[name].drop_nulls()
                assert values.is_finite().all(), name
    assert voc.summary["value"].null_count() == 0
    for language in ("en", "zh"):
        text = " ".join(voc.describe(language))
        assert not any(word in text.lower().split() for word in ("nan", "inf", "+nan", "-inf"))
        assert "nan%" not in text.lower() and "{" not in text
        assert isinstance(plot_voice(voc, language=language), Figure)


def test_the_voice_stage_leaves_the_other_tables_unchanged():
    plain = make_shop(400, seed=11, months=6)
    voiced = make_shop(400, seed=11, months=6, voice=True)
    for name in ("transactions", "customers", "events", "marketing_spend"):
        assert getattr(plain, name).equals(getattr(voiced, name)), name
    assert voiced.orders["order_id"].sort().equals(plain.transactions["order_id"].unique().sort())
    assert plain.orders is None and plain.surveys is None


def test_voice_of_customer_agrees_with_its_parts(voice_shop):
    s = voice_shop
    voc = voice_of_customer(s.reviews, transactions=s.transactions, orders=s.orders, customers=s.customers,
                            surveys=s.surveys, language="auto")
    rating = s.reviews["rating"].to_numpy()
    figures = {r["metric"]: r for r in voc.summary.iter_rows(named=True)}
    assert figures["reviews"]["n"] == s.reviews.height == voc.n_reviews
    assert figures["csat"]["value"] == pytest.approx((rating >= 4).mean())
    assert figures["mean_rating"]["value"] == pytest.approx(rating.mean())
    score = s.surveys["nps_score"].to_numpy()
    assert figures["nps"]["value"] == pytest.approx(100 * ((score >= 9).mean() - (score <= 6).mean()))
    assert figures["late_rating_gap"]["value"] == voc.drivers.late_gap["mean_gap"]
    assert figures["late_rating_gap"]["lower"] < -0.75 < figures["late_rating_gap"]["upper"]  # planted
    # the trend's periods add up to the whole, and a month's CSAT is that month's share of 4-5 stars
    assert voc.trend["reviews"].sum() == s.reviews.height
    month = voc.trend.row(5, named=True)
    part = s.reviews.filter(pl.col("review_date").dt.truncate("1mo").dt.date() == month["period"])["rating"]
    assert month["csat"] == pytest.approx((part >= 4).mean())
    # the fitted model reads the shop's bilingual texts well; quotes are negative reviews of their aspect
    assert voc.sentiment["source"] == "fitted" and voc.sentiment["auc"] > 0.9 and voc.trusted["sentiment"]
    top = voc.top_aspects(3)
    assert top.height == 3 and set(top["aspect"]) <= {"size", "quality", "logistics", "service", "price"}
    negative_texts = set(s.reviews.filter(pl.col("rating") <= 2)["text"])
    for quotes in top["examples"]:
        assert 2 <= len(quotes) <= 3 and set(quotes) <= negative_texts
    assert "VoiceOfCustomer(" in repr(voc) and len(repr(voc)) < 300
    _readable(voc)


def test_a_tiny_shop_gives_words_not_nan():
    s = make_shop(60, seed=6, months=3, voice=True)
    voc = voice_of_customer(s.reviews, transactions=s.transactions, orders=s.orders, customers=s.customers,
                            surveys=s.surveys)
    assert not all(voc.trusted.values())
    gap = voc.drivers.late_gap
    assert gap is None or gap["mean_gap"] is None or math.isfinite(gap["mean_gap"])
    assert "nan" not in repr(voc)
    _readable(voc)


def test_recovery_list_is_every_recent_negative_reviewer(voice_shop):
    s = voice_shop
    as_of = dt.datetime(2024, 12, 1)
    result = recovery_list(s.reviews, transactions=s.transactions, customers=s.customers, as_of=as_of, within="30d")
    recent = s.reviews.filter(pl.col("review_date").is_between(as_of - dt.timedelta(days=30), as_of, closed="left"))
    expected = recent.filter(pl.col("rating") <= 2)
    table = result.to_frame()
    assert sorted(table["customer_id"]) == sorted(expected["customer_id"].unique())
    counts = dict(expected.group_by("customer_id").len().iter_rows())
    assert all(counts[c] == n for c, n in table.select("customer_id", "negative_reviews").iter_rows())
    assert table["priority"].to_list() == list(range(1, table.height + 1))
    high = table["high_value"].to_numpy()
    assert not np.any(~high[:-1] & high[1:])  # the high-value customers come first
    assert table["action"].null_count() == 0 and table["aspect"].null_count() == 0
    zh = recovery_list(s.reviews, transactions=s.transactions, as_of=as_of, within="30d", language="zh")
    assert zh.to_frame()["customer_id"].equals(table["customer_id"])
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh.to_frame()["action"][0])


def test_repurchase_after_a_first_review_equals_a_direct_computation(voice_shop):
    s = voice_shop
    result = review_outcomes(s.reviews, s.transactions, within="90d")
    end = result.as_of
    first = s.reviews.sort("review_date").group_by("customer_id", maintain_order=True).first()
    first = first.filter(pl.col("review_date") + dt.timedelta(days=90) <= end)
    orders = s.transactions.select("customer_id", "order_date").unique()
    back = (first.join(orders, on="customer_id").filter(
        (pl.col("order_date") > pl.col("review_date"))
        & (pl.col("order_date") <= pl.col("review_date") + dt.timedelta(days=90)))["customer_id"].unique())
    first = first.with_columns(back=pl.col("customer_id").is_in(back.implode()))
    rates = {r["review"]: r for r in result.repurchase.iter_rows(named=True)}
    for name, condition in (("negative", pl.col("rating") <= 2), ("positive", pl.col("rating") >= 4)):
        part = first.filter(condition)
        assert rates[name]["customers"] == part.height
        assert rates[name]["repurchase_rate"] == pytest.approx(part["back"].mean())
    d = result.difference
    assert d["negative_minus_positive"] == pytest.approx(rates["negative"]["repurchase_rate"]
                                                          - rates["positive"]["repurchase_rate"])
    if result.hazard_ratios is not None:
        hr = result.hazard_ratios.filter(pl.col("term") == "review=negative")
        assert hr.height == 1 and hr["lower"].item() < hr["hazard_ratio"].item() < hr["upper"].item()


def test_without_text_the_voice_keeps_ratings_nps_and_late_delivery(voice_shop):
    s = voice_shop
    voc = voice_of_customer(s.reviews.drop("text", "language"), orders=s.orders, surveys=s.surveys)
    assert voc.aspects is None and voc.sentiment is None and "no_text" in [k for k, _ in voc.notes]
    joined = s.reviews.join(s.orders.filter(pl.col("delivered_date").is_not_null()), on="order_id").with_columns(
        late=pl.col("delivered_date").dt.date() > pl.col("promised_date").dt.date())
    direct = joined.filter("late")["rating"].mean() - joined.filter(~pl.col("late"))["rating"].mean()
    assert voc.drivers.late_gap["mean_gap"] == pytest.approx(direct, abs=1e-12)
    figures = {r["metric"]: r["value"] for r in voc.summary.iter_rows(named=True)}
    assert figures["csat"] == pytest.approx((s.reviews["rating"] >= 4).mean()) and "negative_share" not in figures
    _readable(voc)


def test_reviews_without_dates_or_customers_get_what_needs_neither(voice_shop, womens):
    """A public corpus (the clothing reviews) has neither: no trend, recovery list or outcomes, and a note says so."""
    s = voice_shop
    dated = voice_of_customer(s.reviews, orders=s.orders)
    undated = voice_of_customer(s.reviews.drop("review_date", "customer_id"), orders=s.orders)
    assert undated.as_of is None and undated.trend.height == 0 and undated.recovery is None and undated.outcomes is None
    assert "no_dates" in [k for k, _ in undated.notes] and "no_dates" not in [k for k, _ in dated.notes]
    assert undated.csat.overall == dated.csat.overall and undated.n_reviews == dated.n_reviews == s.reviews.height
    assert undated.aspects.summary.equals(dated.aspects.summary)
    assert undated.describe("en")[0] == f"{s.reviews.height:,} reviews, undated." and not undated.dated and dated.dated
    bounded = voice_of_customer(s.reviews.drop("review_date", "customer_id"), as_of="2024-06-01")
    assert bounded.as_of == dt.datetime(2024, 6, 1) and bounded.describe("en")[0].endswith("reviews, undated.")
    _readable(undated)
    clothing = voice_of_customer(womens)
    top = clothing.aspects.summary.row(0, named=True)
    assert top["aspect"] == "size" and clothing.recommend.overall["responses"] == womens.height == 23_486
    assert "no_dates" in [k for k, _ in clothing.notes]
    some = voice_of_customer(s.reviews.with_columns(review_date=pl.when(pl.int_range(pl.len()) < 7)
                                                    .then(None).otherwise(pl.col("review_date"))))
    assert some.n_reviews == s.reviews.height - 7 and ("some_undated", (("reviews", "7"),)) in some.notes
    assert "7 reviews without a date are left out." in some.describe("en")


def test_survey_and_delivery_dates_written_as_text_are_read_by_the_data_contract():
    from custlab.exceptions import ParseError
    from custlab.reviews import nps, orders_table

    answers = pl.DataFrame({"customer_id": ["7", "8", "9"], "survey_date": ["2024-05-01", "2024-05-20", "2024-06-02"],
                            "nps_score": ["10", "6", "9"]})
    result = nps(answers, freq="1mo")
    assert result.table["period"].to_list() == [dt.date(2024, 5, 1), dt.date(2024, 6, 1)]
    assert result.overall["nps"] == pytest.approx(100 * (2 / 3 - 1 / 3))
    orders = pl.DataFrame({"order_id": [1, 2], "promised_date": ["2024-05-03", "2024-05-03"],
                           "delivered_date": ["2024-05-03 18:00:00", "2024-05-04 09:00:00"]})
    assert orders_table(orders, None).sort("order_id")["late"].to_list() == [False, True]
    with pytest.raises(ParseError, match="delivered_date"):
        orders_table(orders.with_columns(delivered_date=pl.lit("soon")), None)


def test_every_panel_of_the_voice_figure_keeps_its_scale_and_the_legend_covers_no_line(voice_shop):
    # fig.autofmt_xdate() once hid the x labels of both upper panels (the trend's months, the complaint shares) and
    # the legend sat over the negative-review line.
    voc = voice_of_customer(voice_shop.reviews, transactions=voice_shop.transactions, orders=voice_shop.orders,
                            customers=voice_shop.customers, surveys=voice_shop.surveys)
    fig = plot_voice(voc, language="en")
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    trend, shares, effects, late = fig.axes[:4]
    for ax in (trend, shares, effects):
        labels = [label.get_text() for label in ax.get_xticklabels() if label.get_visible()]
        assert len([text for text in labels if text]) >= 3, ax.get_title()
    assert [label.get_rotation() for label in effects.get_xticklabels()] == [0.0] * len(effects.get_xticklabels())
    renderer = canvas.get_renderer()
    legend = trend.get_legend().get_window_extent(renderer)
    plot_area = trend.get_window_extent(renderer)
    assert legend.y0 >= plot_area.y1  # above the plot, under the title
    assert trend.title.get_window_extent(renderer).y0 >= legend.y1 - 1


def test_nps_and_late_share_by_delivery_use_only_what_was_known_at_as_of(voice_shop):
    # The report showed the same "NPS -13 after a late delivery, +30 on time" in every month: drivers() read every
    # survey answer and delivery of the file, including those after as_of.
    s = voice_shop
    end = dt.datetime(2023, 9, 1)
    voc = voice_of_customer(s.reviews, transactions=s.transactions, orders=s.orders, customers=s.customers,
                            surveys=s.surveys, as_of=end)
    known = s.orders.filter((pl.col("order_date") < end) & (pl.col("delivered_date") < end)).with_columns(
        late=pl.col("delivered_date").dt.date() > pl.col("promised_date").dt.date())
    answers = s.surveys.filter(pl.col("survey_date") < end).join(known.select("order_id", "late"), on="order_id")
    direct = answers.group_by("late").agg(
        n=pl.len(), nps=100 * ((pl.col("nps_score") >= 9).mean() - (pl.col("nps_score") <= 6).mean()))
    got = voc.drivers.nps_by_delivery.table
    for late, name in ((True, "late"), (False, "on_time")):
        row = got.filter(pl.col("delivery") == name).row(0, named=True)
        want = direct.filter(pl.col("late") == late).row(0, named=True)
        assert row["responses"] == want["n"] and row["nps"] == pytest.approx(want["nps"], abs=1e-9)
    regions = voc.drivers.late_by_region
    region_of = s.customers.select("customer_id", pl.col("region").cast(pl.String))
    direct_regions = known.join(region_of, on="customer_id", how="left").group_by("region").agg(
        orders=pl.len(), late=pl.col("late").sum())
    joined = regions.join(direct_regions, on="region", suffix="_direct")
    assert joined.height == regions.height == direct_regions.height
    assert (joined["orders"] == joined["orders_direct"]).all() and (joined["late"] == joined["late_direct"]).all()
    later = voice_of_customer(s.reviews, transactions=s.transactions, orders=s.orders, customers=s.customers,
                              surveys=s.surveys)
    assert later.drivers.nps_by_delivery.table["responses"].sum() > got["responses"].sum()
