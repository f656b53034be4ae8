"""next_best_action(): one row per customer, the rules in order, the expected value, languages."""

from __future__ import annotations

import polars as pl
import pytest

from custlab.exceptions import CustlabError
from custlab.recommend import NBA_COLUMNS, next_best_action, plot_next_best_actions


@pytest.fixture(scope="module")
def actions(shop):
    customers = shop.customers.with_columns(birth_date=pl.date(1990, (pl.col("customer_id") % 12) + 1, 15))
    return next_best_action(shop.transactions, customers=customers, model="knn")


def test_one_action_per_customer_without_gaps(actions, shop):
    table = actions.to_frame()
    assert table.columns == list(NBA_COLUMNS)
    assert table.height == shop.transactions["customer_id"].n_unique() == table["customer_id"].n_unique()
    assert table["priority"].to_list() == list(range(1, table.height + 1))
    for name, dtype in table.schema.items():
        assert table[name].null_count() == 0, name
        if dtype == pl.Float64:
            assert table[name].is_finite().all(), name
    assert (table["expected_value"] - table["p_alive"] * table["expected_spend"] * table["response_rate"]).abs().max() < 1e-9
    assert table["expected_value"].is_sorted(descending=True)


def test_rules_birthday_then_reminder(actions):
    table = actions.to_frame()
    month = actions.as_of.month
    birthday = table.filter(pl.col("action_id") == "birthday_offer")
    assert birthday.height > 0 and (birthday["customer_id"] % 12 + 1 == month).all()
    assert birthday["reason"].str.contains(actions.as_of.strftime("%B")).all()
    due = table.filter(pl.col("action_id") == "replenish_reminder")
    assert due.height > 0 and due["reason"].str.starts_with("Bought about every").all()
    assert (table.filter(pl.col("action_id") == "retention_offer")["p_churn"] >= 0.5).all()
    assert actions.summary["customers"].sum() == table.height


def test_response_rate_is_the_users(shop):
    tx = shop.transactions
    values = tx.select("customer_id").unique().with_columns(p_alive=pl.lit(0.5), expected_spend=pl.lit(100.0))
    one = next_best_action(tx, values=values, response_rates=0.2, model="popularity").to_frame()
    assert one["expected_value"].to_list() == pytest.approx([10.0] * one.height)
    with pytest.raises(CustlabError, match="response_rates"):
        next_best_action(tx, values=values, response_rates=2.0, model="popularity")


def test_chinese_and_plot(shop, actions):
    zh = next_best_action(shop.transactions, model="popularity", language="zh")
    assert "位顾客" in zh.describe("zh")
    assert not zh.to_frame()["action"].str.contains("[A-Za-z]{4}").all()
    reasons = zh.to_frame()["reason"]
    assert reasons.str.contains("客户（存活概率").any() and not reasons.str.contains("客户顾客").any()  # tier once
    # channels are the orders' codes in every language (a translated default "邮件" sat beside the data's "app")
    english = next_best_action(shop.transactions, model="popularity").to_frame()
    assert zh.to_frame()["channel"].to_list() == english["channel"].to_list()
    from custlab._i18n import label, t

    for key in ("birthday_offer", "replenish_reminder", "retention_offer"):  # the CSV names them as the page does
        for language in ("en", "zh"):
            assert t(f"recommend.action.{key}", language) == label(f"action.{key}", language), (key, language)
    fig = plot_next_best_actions(actions, language="zh")
    assert len(fig.axes[0].patches) == actions.summary.height


def test_birth_date_as_text_is_refused_with_the_fix(shop):
    customers = shop.customers.with_columns(birth_date=pl.lit("1990-05-15"))
    with pytest.raises(CustlabError, match="birth_date .* not a date.*validate"):
        next_best_action(shop.transactions, customers=customers, model="popularity")


def test_lists_computed_apart_give_the_same_actions(shop, actions):
    from custlab.recommend import nba_recommendations

    customers = shop.customers.with_columns(birth_date=pl.date(1990, (pl.col("customer_id") % 12) + 1, 15))
    lists = nba_recommendations(shop.transactions, model="knn")
    assert lists.columns == ["customer_id", "rank", "product_id", "product_name", "score", "reason"]
    assert lists["rank"].max() == 5
    assert lists["customer_id"].n_unique() == actions.to_frame().height  # every customer the actions rank
    again = next_best_action(shop.transactions, customers=customers, model="knn", recommendations=lists)
    assert again.to_frame().equals(actions.to_frame())


def test_one_time_buyers_are_not_counted_alive_whatever_their_silence(shop):
    """BG/NBD gives every one-time buyer P(alive) 1 (the shop's low_cost_nurture list was ranked by order value
    alone, "P(alive) 100.0%" in each reason): they get the share of past silences as long as theirs that ended in
    an order, as in the monthly report."""
    from custlab import clv
    from custlab.clv.checks import empirical_alive

    tx = shop.transactions
    got = next_best_action(tx, model="popularity")
    table = got.to_frame()
    as_of = got.as_of
    choice = clv.choose_model(tx, as_of=as_of)
    assert choice.model == "BG/NBD"
    once = choice.clv(months=12, annual_discount_rate=0.0).values.filter(pl.col("frequency") == 0).select("customer_id")
    expected = empirical_alive(tx.filter(pl.col("order_date") < as_of), as_of).join(once, on="customer_id")
    mine = table.join(expected.rename({"p_alive": "observed"}), on="customer_id")
    assert mine.height == once.height > 100
    assert (mine["p_alive"] - mine["observed"]).abs().max() < 1e-12 and mine["p_alive"].max() < 1
    assert any("one-time buyers" in note for note in got.notes)


def test_without_a_trusted_model_no_bgnbd_is_forced_on_the_data(shop, monkeypatch):
    """No model beat the baseline (Online Retail at 2011-12-01): next_best_action fitted BG/NBD anyway, and crashed
    when it did not converge. Every P(alive) is now the observed return rate, every expected spend positive."""
    from custlab import clv
    from custlab.clv import choice as choosing
    from custlab.clv.checks import empirical_alive
    from custlab.exceptions import ConvergenceError

    real = choosing._naive_errors
    monkeypatch.setattr(choosing, "_naive_errors", lambda calhold, freq: {**real(calhold, freq), "mae": 0.0})  # perfect
    choose = clv.choose_model

    def chosen_then_no_fit(*args, **kwargs):  # after the choice, BG/NBD fails as on Online Retail at 2011-12-01
        found = choose(*args, **kwargs)

        def fail(self, *a, **k):
            raise ConvergenceError("The BG/NBD fit did not converge")

        monkeypatch.setattr(clv.BetaGeo, "fit", fail)
        return found

    monkeypatch.setattr(clv, "choose_model", chosen_then_no_fit)
    got = next_best_action(shop.transactions, model="popularity")
    table = got.to_frame()
    observed = empirical_alive(shop.transactions.filter(pl.col("order_date") < got.as_of), got.as_of)
    both = table.join(observed.rename({"p_alive": "observed"}), on="customer_id")
    assert both.height == table.height and (both["p_alive"] - both["observed"]).abs().max() < 1e-12
    assert (table["expected_spend"] > 0).all()
    assert any("No purchase model beat the naive baseline" in note for note in got.notes)
    # the risk of a retention offer is 1 - the observed return rate here, and the reason says it in those words
    offers = table.filter(pl.col("action_id") == "retention_offer")
    assert offers.height and offers["reason"].str.starts_with("Of the customers silent ").all()
    assert not offers["reason"].str.contains("Churn risk").any()


def test_reminders_stop_half_a_cycle_after_the_due_date(shop):
    """With a whole cycle, 1,402 of Online Retail's 2,507 reminders at 2011-12-01 were due before November began:
    a reminder counts up to half a cycle late (max_overdue), later the customer is a win-back case."""
    from custlab.recommend.replenish import replenishment_due

    tx, as_of = shop.transactions, "2024-12-01"
    due = replenishment_due(tx, as_of=as_of)
    assert due.height > 0 and (-due["days_until_due"] <= 0.5 * due["cycle_days"]).all()
    whole = replenishment_due(tx, as_of=as_of, max_overdue=1.0)
    late = whole.filter(-pl.col("days_until_due") > 0.5 * pl.col("cycle_days"))
    assert late.height > 0 and whole.height == due.height + late.height
    assert (-whole["days_until_due"] <= whole["cycle_days"]).all()
    with pytest.raises(CustlabError, match="max_overdue"):
        replenishment_due(tx, as_of=as_of, max_overdue=-1)


def test_a_customer_without_values_gets_no_observed_return_rate(shop):
    """values= for some customers only: the others have no P(alive) at all, and no reason may quote an observed
    return rate for them ("only 0% bought again")."""
    tx = shop.transactions
    ids = tx["customer_id"].unique().sort()
    some = pl.DataFrame({"customer_id": ids.head(ids.len() // 2), "p_alive": 0.3, "expected_spend": 50.0})
    table = next_best_action(tx, values=some, model="popularity").to_frame()
    assert not table["reason"].str.starts_with("Of the customers silent").any()
    assert not table["reason"].str.contains(r" 0% ").any()
    left_out = table.filter(~pl.col("customer_id").is_in(some["customer_id"].implode()))
    assert left_out.height and left_out["p_churn"].is_null().all()  # no risk, not a risk of 100%
    assert not left_out["reason"].str.contains("Churn risk").any()
