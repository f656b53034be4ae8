"""The report speaks the analysis packages' results: CLV choice and change, early warning, manager rules, reading.

Each figure is checked against the package function called on the same data
(the report must not keep a second implementation), plus what the report adds:
language-neutral figures, strict JSON, a retry of a failed Cox fit, the
month's cleaning, the currency of recognised data.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import polars as pl
import pytest

from custlab import churn, clv, rules
from custlab.exceptions import CustlabError
from custlab.report.figures_baskets import SHOWN
from custlab.report.figures_churn import HIGH_RISK
from custlab.report.html import render_html
from custlab.report.text import render

from .conftest import compute_shop


def compute_only(monkeypatch, tables: dict, month: str, keys: tuple[str, ...], **kwargs):
    """The month's figures with only the sections ``keys`` (in report order): quicker, the rest is not under test."""
    from custlab.report import figures as fg

    monkeypatch.setattr(fg, "SECTIONS", tuple((k, f) for k, f in fg.SECTIONS if k in keys))
    return compute_shop(tables, month, **kwargs)


def _texts(part, language: str = "en") -> list[str]:
    return [render(p, language, "GBP") for p in part.paragraphs]


def _history(tables: dict, end: dt.datetime) -> pl.DataFrame:
    return tables["transactions"].filter(pl.col("order_date") < end)


DECEMBER_END = dt.datetime(2025, 1, 1)


# -- CLV ---------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shop_choice(shop_tables):
    """choose_model on the shop's history before 2025-01-01, called directly (not through the report)."""
    return clv.choose_model(_history(shop_tables, DECEMBER_END), as_of=DECEMBER_END)


@pytest.fixture(scope="module")
def captured(shop_tables):
    """The December report of the shop, with the ModelChoice and early-warning call it made."""
    seen: dict = {}
    real_choose, real_warning = clv.choose_model, churn.early_warning

    def choose(*args, **kwargs):
        seen["choice"] = real_choose(*args, **kwargs)
        return seen["choice"]

    def warning(*args, **kwargs):
        seen["warning"] = (args, kwargs)
        return real_warning(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(clv, "choose_model", choose)
        patch.setattr(churn, "early_warning", warning)
        seen["figures"] = compute_shop(shop_tables, "2024-12")
    return seen


def test_clv_is_the_model_the_holdout_chooses_with_its_interval(captured, shop_choice):
    figures, choice = captured["figures"], captured["choice"]
    part = figures.parts["clv"]
    # the report's choice is choose_model's on the same data: same method, same holdout errors
    assert choice.model == shop_choice.model != "historical"
    assert choice.to_frame().select("model", "mae").equals(shop_choice.to_frame().select("model", "mae"))
    result = choice.clv(months=12, annual_discount_rate=0.10)
    assert part.values["method"] == result.model and part.values["trusted"] is True
    assert part.values["clv_total"] == pytest.approx(result.total, rel=1e-12)
    low, high = result.interval
    assert (part.values["interval_low"], part.values["interval_high"]) == (pytest.approx(low), pytest.approx(high))
    texts = _texts(part, "en")
    assert texts[0].endswith(f"90% interval {render_low_high(low, high)}.")
    assert "as revenue (no margin given)" in texts[0] and "discounted at 10% a year" in texts[0]
    assert choice.why("en") in texts and choice.why("zh") in _texts(part, "zh")  # the choice and why
    holdout = part.tables[0].frame
    assert holdout.select("model", "mae").equals(choice.to_frame().select("model", "mae"))  # MAE against naive
    assert holdout.filter(pl.col("chosen") == "✓")["model"].to_list() == [choice.model]
    assert [c.key for c in part.charts] == ["clv_tracking"]  # the tracking plot of the holdout
    json.dumps(figures.key_figures(), allow_nan=False)


def render_low_high(low: float, high: float) -> str:
    from custlab.report.text import fmt_money

    return f"{fmt_money(low, 'GBP')} to {fmt_money(high, 'GBP')}"


def test_a_margin_makes_clv_profit(shop_tables, monkeypatch):
    seen = []
    real = clv.choose_model
    monkeypatch.setattr(clv, "choose_model", lambda *a, **k: seen.append(real(*a, **k)) or seen[-1])
    part = compute_only(monkeypatch, shop_tables, "2024-12", ("clv",), margin=0.3).parts["clv"]
    revenue = seen[0].clv(months=12, annual_discount_rate=0.10).total  # the same fits, valued as revenue
    assert part.values["clv_total"] == pytest.approx(0.3 * revenue, rel=1e-9)
    assert part.values["basis"] == "profit" and "as profit at a 30.0% margin" in _texts(part)[0]
    assert seen[0].model != "historical" and part.values["upper_bound"] is False  # a model: not an upper bound


def test_a_change_from_the_refit_is_labelled_as_clv_change_splits_it(shop_tables, shop_figures, monkeypatch):
    seen = []
    real = clv.choose_model
    monkeypatch.setattr(clv, "choose_model", lambda *a, **k: seen.append(real(*a, **k)) or seen[-1])
    november = clv.clv_summary(_history(shop_tables, DECEMBER_END), as_of="2024-12-01", freq="W")
    previous = json.loads(json.dumps(shop_figures.key_figures()))
    previous["month"] = "2024-11"

    def run(total: float):
        previous["sections"]["clv"]["clv_total"] = total
        figures = compute_only(monkeypatch, shop_tables, "2024-12", ("clv",), previous=previous)
        now = seen[-1].clv(months=12, annual_discount_rate=0.10)
        expected = clv.CLVChange(total, now.total, now.revalue(november), now.model, now.model)  # clv's own split
        part = figures.parts["clv"]
        assert part.values["change"]["refit"] == pytest.approx(expected.refit, rel=1e-9)
        assert part.values["change"]["customers"] == pytest.approx(expected.customers_part, rel=1e-9)
        assert part.values["refit_note"] is expected.from_refit
        return figures, expected

    compute_only(monkeypatch, shop_tables, "2024-12", ("clv",))  # what this month's model says of last month's customers
    same_customers = seen[-1].clv(months=12, annual_discount_rate=0.10).revalue(november)
    refit, expected = run(0.5 * same_customers)  # last month's total far from that: the refit explains the change
    assert expected.from_refit
    assert any("mostly from refitting the model on one more month" in t for t in _texts(refit.parts["clv"]))
    tile = next(k for k in refit.kpis if k.key == "clv_total")
    assert tile.note is not None and render(tile.note, "en") == "change mostly from the model refit"
    customers, expected = run(same_customers)  # the same: what changed is the customers
    assert not expected.from_refit
    assert any("mostly from the customers' own orders" in t for t in _texts(customers.parts["clv"]))


def test_online_retail_clv_says_no_model_beats_the_baseline(retail_november):
    figures, _ = retail_november
    part = figures.parts["clv"]
    texts = _texts(part)
    if part.values["method"] != "historical":
        pytest.skip("a model beat the baseline on this sample")
    assert any(t.startswith("No model beats the naive baseline") for t in texts)
    assert any("their part of it is likely too high" in t for t in texts)  # the value does not contradict churn
    assert "p_alive" not in part.tables[-1].formats


PAST_RATES = "past rates carried forward (no model passed the holdout)"


@pytest.mark.parametrize("error", [-0.286, 0.587, 0.021])
def test_the_clv_says_which_way_its_holdout_missed_and_never_calls_too_few_an_upper_bound(shop_tables, monkeypatch,
                                                                                        error):
    """Online Retail 2011-11: past rates carried forward predicted 28.6% too few repeat orders on the 13 weeks held
    out, and the page called the £8.11M they gave "an upper bound", in the KPI tile and in the section."""
    from custlab.clv import choice

    real = choice._naive_errors  # a perfect baseline: the historical formula is used, missing the total by `error`
    monkeypatch.setattr(choice, "_naive_errors", lambda *a, **k: {**real(*a, **k), "mae": 0.0, "total_error": error})
    figures = compute_only(monkeypatch, shop_tables, "2024-12", ("clv",))
    part = figures.parts["clv"]
    assert part.values["method"] == "historical" and part.values["holdout_total_error"] == pytest.approx(error)
    tile = next(k for k in figures.kpis if k.key == "clv_total")
    finding = next(f for f in figures.findings if f.section == "clv")
    shown = {lang: [*_texts(part, lang), render(tile.note, lang), render(finding.text, lang)] for lang in ("en", "zh")}
    assert not [t for t in shown["en"] if "upper bound" in t] and not [t for t in shown["zh"] if "上限" in t]
    said = f"{abs(error):.1%}"
    if error < 0:
        assert (f"On the 13 weeks held out from the fit, each customer's own past rate (the method used) predicted "
                f"{said} fewer repeat orders than the customers placed: if those weeks are like the rest of the year, "
                f"the value is more likely too low than too high.") in shown["en"]
        brief = f"on the 13 weeks held out, the method predicted {said} too few repeat orders"
        assert f"预测的复购订单比客户实际下单少 {said}：如果这几周与一年中其他时候相仿，该价值更可能偏低" in " ".join(shown["zh"])
    elif error > 0.05:
        assert any(f"predicted {said} more repeat orders than the customers placed: if those weeks are like the rest "
                   f"of the year, the value is more likely too high" in t for t in shown["en"])
        brief = f"on the 13 weeks held out, the method predicted {said} too many repeat orders"
    else:  # near enough: said in the section, not repeated on the tile and in the findings
        assert any(f"predicted the customers' repeat orders in total to within {said}." in t for t in shown["en"])
        brief = None
    assert render(tile.note, "en") == (f"{PAST_RATES}; {brief}" if brief else PAST_RATES)
    assert render(finding.text, "en").endswith(f" of it ({brief})." if brief else " of it.")
    assert figures.key_figures()["sections"]["clv"]["upper_bound"] is (error > -0.05)
    assert part.tables[0].formats["mae"] == "sig3"  # errors such as 0.000922 and 0.00111 are not both "0.001"


def test_a_short_history_gets_no_clv_and_no_early_warning_saying_why(shop_tables, monkeypatch):
    figures = compute_only(monkeypatch, shop_tables, "2023-02", ("clv", "early_warning", "actions"))  # 59 days
    skipped = {s.section: s for s in figures.skipped}
    assert skipped["clv"].kind == "absent" and skipped["early_warning"].kind == "absent"
    assert skipped["clv"].reason["en"].startswith("The data hold 59 days of orders before the analysis date; "
                                                  "a lifetime value needs at least 90")
    assert "silences have had time to reach 90 days" in skipped["early_warning"].reason["en"]
    assert "actions" in figures.parts and "clv_total" not in {k.key for k in figures.kpis}
    assert figures.parts["actions"].actions  # the actions still come, on what was observed
    json.dumps(figures.key_figures(), allow_nan=False)


def test_a_history_without_any_repeat_purchase_gets_no_clv_saying_why(shop_tables, monkeypatch):
    # Olist 2017-02: 270 one-time buyers, and the page read "Expected 12-month value R$0.00", checked and trusted.
    tx = shop_tables["transactions"]
    first_day = tx.group_by("customer_id").agg(first=pl.col("order_date").dt.date().min())
    once = tx.join(first_day, on="customer_id").filter(pl.col("order_date").dt.date() == pl.col("first")).drop("first")
    tables = {**shop_tables, "transactions": once}
    figures = compute_only(monkeypatch, tables, "2024-12", ("clv", "actions", "nba"))
    skipped = {s.section: s for s in figures.skipped}
    customers = once.filter(pl.col("order_date") < dt.datetime(2025, 1, 1))["customer_id"].n_unique()  # to as_of
    assert skipped["clv"].kind == "absent"
    assert skipped["clv"].reason["en"] == (f"Not one of the {customers:,} customers has ordered on a second day yet: a "
                                           "lifetime value rests on repeat purchases, and every method would say 0.")
    assert "clv_total" not in {k.key for k in figures.kpis} and figures.parts["actions"].actions
    # nobody's chance of ordering again can be estimated: the impacts are 0 and the page says they rank nothing
    # (Olist 2017-02 named a "Top action ... expected impact R$0.00")
    said = f"Not one of the {customers:,} customers has ordered on a second day yet, so nobody's chance of ordering"
    assert all(a.impact == 0 for a in figures.parts["actions"].actions)
    assert _texts(figures.parts["actions"])[0].startswith(said) and _texts(figures.parts["nba"])[0].startswith(said)
    assert not figures.findings
    json.dumps(figures.key_figures(), allow_nan=False)
    # one repeat purchase is enough to leave the section to the methods
    monkeypatch.undo()  # every section again, for compute_only to pick from
    again = once.filter(pl.col("customer_id") == once["customer_id"][0]).with_columns(
        pl.col("order_date") + pl.duration(days=3))
    figures = compute_only(monkeypatch, {**tables, "transactions": pl.concat([once, again])}, "2024-12",
                           ("clv", "early_warning"))
    assert "clv" in figures.parts
    # and the early warning, which needs ten, says in the page's language why it is left out (the model's own
    # English message once stood in the Chinese page)
    warning = {s.section: s for s in figures.skipped}["early_warning"]
    assert warning.reason["en"] == ("The repurchase model behind the early-warning list learns from customers who "
                                    "bought again: before the analysis date only 1 customer in these data did, and "
                                    "it needs at least 10.")
    assert warning.reason["zh"].startswith("早期预警所依据的复购模型需要从再次购买的客户身上学习") and "only" not in warning.reason["zh"]


def test_churn_is_not_counted_where_the_data_cannot_see_it(shop_tables, monkeypatch):
    # 2023-04: customers churning in April last ordered from 2023-01-01 on, inside the data; in March they could
    # have last ordered in December 2022, before the data begin: March is not counted, so April has no comparison
    figures = compute_only(monkeypatch, shop_tables, "2023-04", ("retention",))
    tile = next(k for k in figures.kpis if k.key == "churned_customers")
    assert tile.value is not None and tile.previous is None
    march = compute_only(monkeypatch, shop_tables, "2023-03", ("retention",))
    assert "churned_customers" not in {k.key for k in march.kpis}
    assert not any(t.startswith("customers reached 90 days") or "reached 90 days without an order in" in t
                   for t in _texts(march.parts["retention"]))


# -- early warning -----------------------------------------------------------------------------------------------
def test_early_warning_is_churn_early_warning_valued_with_the_clv(captured):
    figures = captured["figures"]
    args, kwargs = captured["warning"]
    assert kwargs["value_column"] == "clv" and kwargs["as_of"] == DECEMBER_END and kwargs["language"] == "en"
    assert kwargs["value"]["clv"].sum() == pytest.approx(figures.parts["clv"].values["clv_total"], rel=1e-9)
    expected = churn.early_warning(*args, **kwargs).to_frame()  # the same call, made again
    listed = figures.exports()["early_warning.csv"]
    assert listed["customer_id"].to_list() == expected["customer_id"].cast(pl.String).to_list()
    assert listed["value_at_risk"].to_list() == expected["value_at_risk"].round(2).to_list()
    assert listed["reason"].to_list() == expected["reason"].to_list()  # the model's reason for each customer
    assert listed["value_at_risk"].is_sorted(descending=True)
    values = figures.parts["early_warning"].values
    assert values["high_risk"] == expected.filter(pl.col("p_churn") >= HIGH_RISK).height
    shown = figures.parts["early_warning"].tables[0].frame
    zh = [r["zh"] for r in shown["reason"].to_list()]
    assert all(re.search(r"[\u4e00-\u9fff]", r) for r in zh)  # every shown reason also in Chinese
    assert [r["en"] for r in shown["reason"].to_list()] == expected["reason"].head(len(zh)).to_list()


def _failing_once(monkeypatch, retry_with: dict, times: int = 1):
    real = churn.early_warning
    calls: list[dict] = []

    def flaky(*args, **kwargs):
        calls.append(kwargs)
        if len(calls) <= times:
            raise churn.CoxFitError("RepurchaseModel", "the Cox fit did not converge (forced by the test)",
                                    "Fit again with penalizer=0.1.", retry_with)
        return real(*args, **kwargs)

    monkeypatch.setattr(churn, "early_warning", flaky)
    return calls


def test_a_cox_fit_error_is_retried_once_with_what_it_names(shop_tables, monkeypatch):
    calls = _failing_once(monkeypatch, {"penalizer": 0.1})
    figures = compute_only(monkeypatch, shop_tables, "2024-12", ("clv", "early_warning"))
    assert len(calls) == 2 and calls[1]["penalizer"] == 0.1
    part = figures.parts["early_warning"]
    assert part.values["retry_with"] == {"penalizer": 0.1}
    assert "it was fitted again with a penalty that keeps its estimates finite (penalizer=0.1)" in " ".join(_texts(part))


NOT_CONVERGED = ("The repurchase model behind the early-warning list does not settle on these data, even with a penalty "
                 "that keeps its estimates finite")
FEW_HELD_OUT = ("The repurchase model behind the early-warning list learns from customers who bought again: before the "
                "analysis date the data hold too few repeat purchases to fit the model on part of the customers")


@pytest.mark.parametrize("retry_with, times, said", [({}, 1, NOT_CONVERGED), ({"penalizer": 0.1}, 2, NOT_CONVERGED),
                                                     ({"test_size": 0.0}, 1, FEW_HELD_OUT)])
def test_a_cox_fit_that_cannot_be_fixed_leaves_the_section_out_saying_why(shop_tables, monkeypatch, retry_with, times,
                                                                          said):
    calls = _failing_once(monkeypatch, retry_with, times)
    figures = compute_only(monkeypatch, shop_tables, "2024-12", ("clv", "early_warning", "methods"))
    assert len(calls) == (2 if retry_with == {"penalizer": 0.1} else 1)  # never more than one retry
    skipped = {s.section: s for s in figures.skipped}["early_warning"]
    assert skipped.kind == "absent" and "early_warning" not in figures.parts
    assert skipped.reason["en"].startswith(said)
    assert skipped.fix["en"] == "Run the report on a later month, once more customers have bought a second time."
    for language in ("en", "zh"):  # the model's English words, meant for a Python caller, are not the reader's
        assert "forced by the test" not in skipped.reason[language] and "=" not in skipped.fix[language]
    assert said in render_html(figures)


def _cox_error(reason: str, fix: str, retry_with: dict | None = None, events: int | None = None):
    return churn.CoxFitError("RepurchaseModel", reason, fix, retry_with, events=events)


#: The errors the repurchase model raises (custlab.churn._cox_base, custlab.repurchase), and what the page says.
COX_ERRORS = [
    (_cox_error("only 9 repurchase event(s) among the training customers (12 in all); a Cox model needs at least 10",
                "Fit on all customers with test_size=0 (there is then no held-out concordance).", {"test_size": 0.0},
                events=12),
     "before the analysis date the data hold 12 repeat purchases, too few to fit the model on part of the customers "
     "(it needs at least 10 there) and check it on the others.", "数据中共有 12 次复购"),
    (_cox_error("none of the 40 training rows (the 75% of customers not held out) has a repurchase event",
                "Fit on all customers with test_size=0 (there is then no held-out concordance).", {"test_size": 0.0}),
     "the data hold too few repeat purchases to fit the model", "数据中的复购太少"),
    (_cox_error("there is no repurchase event in the 40 rows of the repurchase frame", "The data must hold more "
                "repurchase events: a longer history before as_of.", events=0),
     "only 0 customers in these data did", "只有 0 位客户再次购买"),
    (_cox_error("the Cox fit did not converge (step size halved 10 times); usually a covariate level separates ...",
                "Fit again with penalizer=1.0 (a ridge penalty that keeps every hazard ratio finite).",
                {"penalizer": 1.0}), "does not settle on these data", "无法收敛"),
    (_cox_error("no covariate among ['purchase_number'] varies between the training customers",
                "Pass covariates= with columns of the repurchase frame that vary between customers."),
     "has nothing to tell customers apart by", "无法区分客户"),
    (_cox_error("every covariate column is constant or a combination of others among the training customers (['x'])",
                "Pass covariates= with columns of the repurchase frame that vary between customers."),
     "has nothing to tell customers apart by", "无法区分客户"),
    (_cox_error("no customer is active: every customer's last purchase is at least 90 days before the analysis day",
                "Check as_of (the first instant that is not history) and inactivity_days."),
     "No customer is active", "没有活跃客户"),
    (_cox_error("something nobody foresaw", "Call it with foo=1."), "cannot be fitted on these data.",
     "无法在这些数据上拟合"),
]


@pytest.mark.parametrize("error, en, zh", COX_ERRORS)
def test_why_the_early_warning_is_left_out_is_said_in_the_readers_words(error, en, zh):
    """Olist 2018-05's Chinese page and command line read "早期预警所依据的复购模型无法在这些数据上拟合：only 9
    repurchase event(s) among the training customers (12 in all) ...。Fit on all customers with test_size=0 (there is
    then no held-out concordance).": English, and a hint for a Python caller."""
    from custlab.report.figures_churn import _cox_absent

    absent = _cox_absent(error)
    said = {lang: (render(absent.reason, lang), render(absent.fix, lang)) for lang in ("en", "zh")}
    assert en in said["en"][0] and zh in said["zh"][0]
    for language, (reason, fix) in said.items():
        assert not re.search(r"test_size|penalizer|covariates|as_of|inactivity_days|=", reason + fix), language
    assert not re.search(r"[A-Za-z]", "".join(said["zh"]))  # no English in the Chinese page


def test_the_command_line_gives_the_early_warnings_absence_in_the_readers_words(shop_tables, monkeypatch, capsys):
    from types import SimpleNamespace

    from custlab.cli import _say_done

    error = COX_ERRORS[0][0]

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(churn, "early_warning", fail)
    figures = compute_only(monkeypatch, shop_tables, "2024-12", ("clv", "early_warning"))
    run = SimpleNamespace(skipped=tuple(figures.key_figures()["skipped"]), stray=None, html="report.html", seconds=1.0)
    _say_done(run, "zh")
    line = next(x for x in capsys.readouterr().err.splitlines() if "early_warning" in x)
    assert line.startswith("custlab: 跳过章节「流失预警」（early_warning）：早期预警所依据的复购模型")
    assert "数据中共有 12 次复购" in line and not re.search(r"[A-Za-z]", line.replace("custlab", "").replace(
        "early_warning", ""))


# -- rules -------------------------------------------------------------------------------------------------------
def test_rules_shown_are_manager_rules_and_every_rule_is_exported(retail_november, retail_sample):
    from custlab.data import clean_transactions

    figures, _ = retail_november
    part = figures.parts["baskets"]
    clean, _ = clean_transactions(retail_sample, as_of=dt.datetime(2011, 12, 1))
    recent = clean.filter(pl.col("order_date") >= dt.datetime(2011, 12, 1) - dt.timedelta(days=365),
                          pl.col("order_date") < dt.datetime(2011, 12, 1))
    direct = rules.manager_rules(recent, top_n=SHOWN, min_support=0.01, min_confidence=0.3)
    shown = part.tables[0].frame
    assert shown["antecedent"].to_list() == direct.rules["antecedent"].to_list()
    assert shown["consequent"].to_list() == direct.rules["consequent"].to_list()
    families = dict(direct.families.select("item", "family").iter_rows())
    for a, b in shown.select("antecedent", "consequent").iter_rows():
        assert not {families.get(x, x) for x in a} & {families.get(x, x) for x in b}  # never two variants of one product
    exported = figures.exports()["rules.csv"]
    assert exported.height == direct.all_rules.height == part.values["rules"]
    assert exported["antecedent_ids"].str.len_chars().min() > 0  # product codes beside the names
    offers = figures.exports()["cross_sell.csv"]
    assert {"suggested_name", "suggested_id", "because_names", "reason"} <= set(offers.columns)
    assert offers["suggested_id"].null_count() == 0


# -- reading, cleaning, currency -------------------------------------------------------------------------------
def _shop_csv(tmp_path, shop_tables) -> tuple:
    """The shop's December history written as a GBK file with ';' and decimal commas, and the original."""
    tx = _history(shop_tables, DECEMBER_END).with_columns(
        product_name=pl.lit("茶杯"), order_date=pl.col("order_date").dt.strftime("%d/%m/%Y %H:%M:%S"))
    text = tx.select("customer_id", "order_id", "order_date", "amount", "product_name").with_columns(
        amount=pl.col("amount").map_elements(lambda v: f"{v:.2f}".replace(".", ","), return_dtype=pl.String))
    path = tmp_path / "订单.csv"
    path.write_bytes(text.write_csv(separator=";").encode("gbk"))
    return path, tx


def test_reading_options_reach_the_readers_and_the_methods(tmp_path, shop_tables):
    from custlab.report.sources import load

    path, tx = _shop_csv(tmp_path, shop_tables)
    tables, quality, source = load(path, month="2024-12", encoding="gbk", separator=";", decimal_comma=True,
                                   date_format="%d/%m/%Y %H:%M:%S")
    read = tables["transactions"]
    assert read.height == quality.rows_kept and quality.rows_in == tx.height
    assert read["amount"].sum() == pytest.approx(tx["amount"].round(2).sum())
    info = source.infos["transactions"]
    assert (info.encoding, info.separator, info.decimal_comma) == ("gbk", ";", True)
    assert source["reading"]["transactions"]["encoding"] == "gbk"
    from custlab.report.figures import compute_month

    figures = compute_month(tables, month=source.month, quality=quality, source=source)
    methods = _texts(figures.parts["methods"])
    assert " ".join(info.sentences("en")) in methods  # how the file was read
    assert " ".join(info.sentences("zh")) in _texts(figures.parts["methods"], "zh")
    period = quality.for_period("2024-12-01", "2025-01-01")
    sentence = next(t for t in methods if t.startswith("Clean"))
    assert (sentence == f"Cleaning removed no line: the {period.rows_kept:,} order lines of December 2024 and all "
                        f"{quality.rows_in:,} lines of the file were kept." if quality.rows_in == quality.rows_kept
            else f"of December 2024; {period.rows_kept:,} lines were analysed" in sentence or
            sentence.startswith(f"Cleaning removed {period.rows_removed:,} of the {period.rows_in:,}"))


def test_an_unknown_column_name_is_an_error_with_a_hint(tmp_path, shop_tables):
    from custlab.report.sources import check_columns

    path, _ = _shop_csv(tmp_path, shop_tables)
    with pytest.raises(CustlabError, match=r"--columns names 'custmer_id', which is in none of the tables read .*"
                                           r"Did you mean 'customer_id'\?"):
        check_columns(path, {"custmer_id": "customer_id"}, encoding="gbk", separator=";")


def test_reading_options_are_refused_for_the_built_in_shop():
    from custlab.report.sources import load

    with pytest.raises(CustlabError, match=r"--encoding applies to your own data \(--data\)"):
        load(None, encoding="gbk")


def test_online_retail_is_recognised_as_pounds(online_retail_file, monkeypatch):
    from custlab.report import figures as fg
    from custlab.report.sources import load

    tables, quality, source = load(online_retail_file, month="2011-11", sample_size=300)
    assert source["currency"] == "GBP" and quality.source is not None
    monkeypatch.setattr(fg, "SECTIONS", fg.SECTIONS[:1])  # the currency is what is under test
    from custlab.report.figures import compute_month

    figures = compute_month(tables, month=source.month, quality=quality, source=source)
    assert figures.currency == "GBP"
    page = render_html(figures)
    assert "Amounts in GBP: the data are the UCI Online Retail shop&#x27;s" in page and "£" in page
    assert compute_month(tables, month=source.month, source=source, currency="EUR").currency == "EUR"  # --currency wins


def test_an_early_warning_its_section_calls_unreliable_ranks_no_finding_problem_action_or_next_best_action(
        shop_tables, monkeypatch):
    # Olist 2018-08: "not reliable (concordance 0.44)", yet "Reach out before they churn" was the first action, the
    # value at risk a finding and a problem, and the next best actions ranked by its scores.
    import dataclasses

    from custlab.report import figures_churn, figures_nba

    keys = ("clv", "early_warning", "problems", "actions", "nba")
    trusted = compute_only(monkeypatch, shop_tables, "2024-12", keys)
    assert trusted.parts["early_warning"].values["reliable"]
    # "active" is the KPI's word for customers who bought this month; the warning's customers are those not yet
    # silent for 90 days, and it says so
    active = trusted.parts["early_warning"].values["active_customers"]
    assert _texts(trusted.parts["early_warning"])[0].startswith(
        f"Of the {active:,} customers not yet 90 days without an order, ")
    assert any(f.section == "early_warning" for part in trusted.parts.values() for f in part.findings)
    assert "actions/early_warning_outreach.csv" in trusted.exports()
    real = figures_churn._warning
    monkeypatch.setattr(figures_churn, "_warning", lambda ctx: dataclasses.replace(real(ctx), reliable=False))
    seen = {}
    real_inputs = figures_nba.nba_inputs
    monkeypatch.setattr(figures_nba, "nba_inputs", lambda ctx: seen.setdefault("inputs", real_inputs(ctx)))
    doubted = compute_only(monkeypatch, shop_tables, "2024-12", keys)
    part = doubted.parts["early_warning"]
    assert not part.values["reliable"] and part.values["high_risk"] > 0  # the section still lists and says why
    assert "the repurchase model is not reliable" in " ".join(_texts(part))
    assert not any(f.section == "early_warning" for p in doubted.parts.values() for f in p.findings)
    assert "actions/early_warning_outreach.csv" not in doubted.exports()
    assert any("are likely (80% or more) to reach 90 days without an order" in text
               for text in _texts(trusted.parts["problems"]))
    assert not any("are likely" in text for text in _texts(doubted.parts["problems"]))
    inputs = seen["inputs"]
    risk = inputs["risk"].join(inputs["values"], on="customer_id")
    assert (risk["p_churn"] - (1 - risk["p_alive"])).abs().max() < 1e-12  # 1 - P(alive), not the model's scores


def test_the_baskets_sentence_counts_the_months_the_data_have(shop_tables, monkeypatch):
    # Ta-Feng (four months of data) read "119,578 baskets of the last 12 months".
    tx = shop_tables["transactions"]
    short = {**shop_tables, "transactions": tx.filter(pl.col("order_date") >= dt.datetime(2024, 9, 1))}
    figures = compute_only(monkeypatch, short, "2024-12", ("baskets",))
    assert "baskets of the last 4 months" in _texts(figures.parts["baskets"])[0]
    monkeypatch.undo()
    figures = compute_only(monkeypatch, shop_tables, "2024-12", ("baskets",))
    assert "baskets of the last 12 months" in _texts(figures.parts["baskets"])[0]


def test_the_first_month_of_the_data_is_said_to_count_everyone_as_new(shop_tables, monkeypatch):
    # Online Retail's December 2010 showed 883 new and 0 returning customers, as if nobody had come back.
    early = compute_only(monkeypatch, shop_tables, "2023-04", ("trend",))
    table = early.parts["trend"].tables[0]
    first = table.frame["month"].min()
    assert table.frame.filter(pl.col("month") == first)["returning_customers"].item() == 0
    assert render(table.note, "en") == ("January 2023 is the first month of the data: every customer who ordered in "
                                        "it counts as new, including those who had bought before the data begin.")
    monkeypatch.undo()
    late = compute_only(monkeypatch, shop_tables, "2024-12", ("trend",))
    assert late.parts["trend"].tables[0].note is None  # the first month is no longer shown


def test_stray_lines_are_explained_in_the_methods_and_on_the_command_line(retail_sample, tmp_path, capsys):
    """One line dated 2012-09-03 (a mistyped year) is set aside when the month is chosen, and the page and the command
    say so; cleaning removes it as dated after the analysis date."""
    from custlab.cli import _say_done
    from custlab.report.runner import ReportRun

    from .conftest import compute_retail

    line = retail_sample.filter(pl.col("customer_id") == 12347).head(1)
    raw = pl.concat([retail_sample, line.with_columns(order_date=pl.lit(dt.datetime(2012, 9, 3, 10)),
                                                      order_id=pl.lit("999999"))])
    figures, quality = compute_retail(raw, None)
    removed = dict(quality.removed.select("reason", "rows").iter_rows())
    assert figures.month.month == "2011-11" and removed["after_as_of"] >= 1
    expected = {
        "en": "1 line(s) dated 3 Sep 2012 come 269 days after the other orders, which end on 9 Dec 2011.",
        "zh": "有 1 行订单的日期为2012年9月3日，比其余订单（截至2011年12月9日）晚 269 天。",
    }
    for language, start in expected.items():
        assert any(text.startswith(start) for text in _texts(figures.parts["methods"], language)), language
    run = ReportRun(tmp_path / "monthly_report.html", tmp_path, "2011-11", 1.0, (), figures.month.stray)
    _say_done(run, "en")
    assert capsys.readouterr().err == (
        "custlab: 1 stray line(s) dated 2012-09-03, 269 days after the other orders (which end on 2011-12-09), were "
        "set aside: the data are taken to end on 2011-12-09.\n")
