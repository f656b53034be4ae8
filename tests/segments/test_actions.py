"""Playbook, action lists (priority, reason) and the CRM export (formula neutralisation, BOM, ids as text)."""

from __future__ import annotations

import re

import polars as pl
import pytest

from custlab.exceptions import CustlabError, SchemaError
from custlab.segments import (
    PLAYBOOK,
    action_lists,
    action_tables,
    export_action_lists,
    rfm_scores,
    rfm_segments,
    rfm_table,
)

TIER_ACTIONS = {"High value": "exclusive_benefits", "Can't lose them": "win_back_personal",
                "Potential": "cross_category_coupon", "Dormant": "win_back_offer", "Low value": "low_cost_nurture"}
LIST_COLUMNS = ["customer_id", "segment", "action_id", "action", "priority", "reason", "recency", "frequency",
                "monetary", "last_order"]


def _expected_reason(row: dict) -> str:
    """The English reason written out independently, from the row's own figures."""
    orders = "1 order" if row["frequency"] == 1 else f"{row['frequency']} orders"
    days = "1 day" if row["recency"] == 1 else f"{row['recency']} days"
    spend = f"{row['monetary']:.2f}"
    return {
        "exclusive_benefits": f"Top fifth on orders and spend and still active: {orders}, {spend} spent, "
                              f"last order {days} ago.",
        "win_back_personal": f"Was in the top fifth on orders and spend ({orders}, {spend} spent) but has not "
                             f"ordered for {days}.",
        "win_back_offer": f"No order for {days}; before that {orders}, {spend} spent.",
        "cross_category_coupon": f"Active (last order {days} ago) with room to grow: {orders}, {spend} spent.",
        "low_cost_nurture": f"Active (last order {days} ago) but small so far: {orders}, {spend} spent.",
    }[row["action_id"]]


@pytest.fixture(scope="module")
def retail_actions(retail_rfm):
    return action_lists(rfm_segments(rfm_scores(retail_rfm), rules="value_tiers"))


def test_online_retail_action_lists_give_reasons_and_priorities(retail_actions):
    actions = retail_actions
    assert actions.height == 4339 and actions["customer_id"].is_unique().all()
    assert actions.columns == LIST_COLUMNS  # each column once
    assert dict(actions.select("segment", "action_id").unique().rows()) == TIER_ACTIONS
    # every reason cites the customer's own orders, spend and days, as written out independently
    for row in actions.iter_rows(named=True):
        assert row["reason"] == _expected_reason(row)
    # priority: the spend percentile within each list, highest first
    for (action_id,), part in actions.group_by("action_id"):
        assert part["priority"].max() == 100 and part["priority"].min() >= 1
        assert part["priority"].to_list() == sorted(part["priority"].to_list(), reverse=True)
        assert part["monetary"].to_list() == sorted(part["monetary"].to_list(), reverse=True)
        top = part.row(0, named=True)
        assert top["monetary"] == part["monetary"].max()
    # the VIP offer goes to recent customers only; lapsed big spenders get the personal win-back
    vip = actions.filter(pl.col("action_id") == "exclusive_benefits")
    assert vip.height > 0 and vip["recency"].max() < 60
    back = actions.filter(pl.col("action_id") == "win_back_personal")
    assert back.height > 0 and back["recency"].min() >= 60


def test_cancelled_orders_do_not_put_customers_on_value_lists(online_retail):
    # 12346 bought 74,215 units (77,183.60) and cancelled them all (C541433); 16446 likewise (C581484)
    from custlab.data import clean_transactions

    clean, _ = clean_transactions(online_retail)
    seg = rfm_segments(rfm_scores(rfm_table(clean, as_of="2011-12-10")), rules="value_tiers")
    actions = action_lists(seg)
    assert 12346 not in actions["customer_id"].to_list()
    row = actions.filter(pl.col("customer_id") == 16446).row(0, named=True)
    assert row["monetary"] == pytest.approx(2.9) and row["segment"] not in ("High value", "Can't lose them")


def test_action_lists_in_chinese(retail_rfm):
    seg = rfm_segments(rfm_scores(retail_rfm), rules="value_tiers", language="zh")
    zh = action_lists(seg, language="zh")
    assert set(zh["segment"].unique().to_list()) == {"高价值客户", "重要挽回客户", "潜力客户", "沉睡客户", "低价值客户"}
    row = zh.filter(pl.col("segment") == "沉睡客户").row(0, named=True)
    assert row["action"].startswith("召回优惠")
    assert row["reason"] == f"已 {row['recency']} 天未下单；此前 {row['frequency']} 笔订单，消费 {row['monetary']:.2f}。"
    assert zh.filter(pl.col("segment") == "重要挽回客户")["action"][0].startswith("专人挽回")


def test_priority_is_the_spend_percentile_within_a_list():
    seg = pl.DataFrame({"customer_id": [1, 2, 3, 4, 5], "segment": ["Dormant"] * 4 + ["High value"],
                        "recency": [90, 100, 300, 61, 3], "frequency": [1, 2, 3, 1, 8],
                        "monetary": [10.0, 40.0, 40.0, 25.5, 1.0]})
    out = action_lists(seg)
    assert out.select("customer_id", "priority").rows() == [(5, 100), (2, 100), (3, 100), (4, 50), (1, 25)]
    assert out.filter(pl.col("customer_id") == 4)["reason"].item() == (
        "No order for 61 days; before that 1 order, 25.50 spent.")


def test_action_lists_need_an_action_for_every_segment():
    seg = pl.DataFrame({"customer_id": [1, 2], "segment": ["VIP", "VIP"], "recency": [3, 4], "frequency": [1, 1],
                        "monetary": [5.0, 6.0]})
    message = "The playbook has no action for segment(s) ['VIP'] (2 customer(s))"
    with pytest.raises(CustlabError, match=re.escape(message)):
        action_lists(seg)
    book = PLAYBOOK.vstack(pl.DataFrame([("VIP", "贵宾", "call", "Call them", "电话")], schema=PLAYBOOK.schema,
                                        orient="row"))
    out = action_lists(seg, playbook=book)
    assert out["action_id"].to_list() == ["call", "call"]
    assert out["reason"][0] == "VIP: 1 order, 6.00 spent, last order 4 days ago."  # the default reason
    with pytest.raises(SchemaError, match=re.escape("missing column(s) for action lists")):
        action_lists(seg.drop("monetary"))


def test_crm_export_writes_the_tables_safely(tmp_path, retail_actions):
    manifest = export_action_lists(retail_actions, tmp_path / "crm", format="csv")
    assert manifest["customers"].sum() == 4339
    tables = action_tables(retail_actions)
    assert sorted(tables) == sorted(TIER_ACTIONS.values())
    path = tmp_path / "crm" / "win_back_offer.csv"
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark, for Excel
    back = pl.read_csv(path, schema_overrides={"customer_id": pl.String})
    expected = tables["win_back_offer"]
    assert back.columns == [c for c in LIST_COLUMNS if c != "action_id"]
    assert back["customer_id"].to_list() == [str(c) for c in expected["customer_id"]]
    assert back["priority"].to_list() == expected["priority"].to_list()
    assert back["reason"].to_list() == expected["reason"].to_list()
    first_row = path.read_text(encoding="utf-8-sig").splitlines()[1]
    assert first_row.startswith(f'"{expected["customer_id"][0]}",')  # ids written as quoted text
    parquet = export_action_lists(retail_actions, tmp_path / "pq", format="parquet")
    assert pl.read_parquet(parquet["path"][0]).equals(tables[parquet["action_id"][0]])


@pytest.mark.parametrize("payload", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_crm_export_neutralises_formulas(tmp_path, payload):
    seg = pl.DataFrame({"customer_id": [payload, "ok"], "segment": [payload, payload], "recency": [3, 4],
                        "frequency": [1, 2], "monetary": [5.0, 6.0]})
    book = pl.DataFrame({"segment": [payload], "action_id": ["call"], "action": [payload]})
    export_action_lists(action_lists(seg, playbook=book), tmp_path)
    back = pl.read_csv(tmp_path / "call.csv", schema_overrides={"customer_id": pl.String})
    for column in ("customer_id", "segment", "action", "reason"):
        for cell in back[column].to_list():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (column, cell)
    assert back["customer_id"].to_list() == ["ok", "'" + payload]  # kept, made inert (priority order)
