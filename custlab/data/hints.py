"""Which of a user's columns probably holds a canonical column: names and content together.

When a table lacks a required column, the error message suggests a
``columns=`` mapping. A suggestion must fit both ways: the name (a usual
synonym, in English or Chinese, or a close spelling) and the content (dates
for a date column, many distinct integers or texts for an id, numbers for an
amount). A column whose content does not fit is never suggested, whatever its
name, so a store number is not offered as an order id and a weekday number
(0-6) never as a date. A date or number column whose name says nothing is
suggested only when it is the one column whose content fits; ids always need
a name that says so, as any many-valued column would fit by content.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence

import polars as pl

from custlab._types import Frame

__all__ = ["SYNONYMS", "check_column_mapping", "suggest_mapping"]

#: Usual source names of canonical columns (compared lower-case, spaces as underscores).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "customer_id": ("customerid", "customer id", "customer", "user_id", "userid", "client_id", "member_id",
                    "buyer_id", "cust", "cust_id", "customer_unique_id", "客户id", "客户编号", "用户id", "会员id", "顾客id"),
    "order_id": ("invoiceno", "invoice", "invoice_no", "order", "orderid", "order_no", "order_number",
                 "transaction_id", "basket_id", "basket", "订单号", "订单id", "订单编号", "单号"),
    "order_date": ("invoicedate", "date", "order_time", "timestamp", "datetime", "created_at", "purchase_date",
                   "order_purchase_timestamp", "transaction_dt", "下单时间", "订单时间", "日期", "交易时间"),
    "amount": ("revenue", "sales", "total", "line_total", "value", "price_total", "gmv", "sales_price",
               "payment_value", "金额", "销售额", "实付金额", "订单金额"),
    "event_time": ("timestamp", "time", "event_date", "ts", "datetime", "时间"),
    "event": ("event_type", "action", "behavior", "behaviour", "type", "行为", "事件"),
    "session_id": ("user_session", "session", "sessionid", "会话id"),
    "product_id": ("stockcode", "sku", "item_id", "productid", "item", "商品id", "商品编号"),
    "unit_price": ("unitprice", "price", "单价"),
    "quantity": ("qty", "amount_units", "units", "数量"),
    "spend": ("cost", "budget", "spend_amount", "花费", "费用"),
    "review_date": ("date", "created_at", "review_time", "评论时间"),
    "rating": ("score", "stars", "评分"),
    "age": ("age_group", "age_band", "年龄", "年龄段"),
}

_DATE_KINDS = {"order_date", "event_time", "review_date", "signup_date", "month"}
_ID_KINDS = {"customer_id", "order_id", "session_id"}
_NUMBER_KINDS = {"amount", "spend", "unit_price", "quantity", "rating"}
#: Name parts of ids that are not customers, orders or sessions.
_OTHER_IDS = ("store", "shop", "seller", "branch", "warehouse", "vendor", "supplier", "门店", "店铺", "商家")
_SAMPLE_ROWS = 2000


def _norm(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def _name_score(target: str, name: str, *, per_item: bool = False) -> float:
    norm = _norm(name)
    if norm == target or norm in {_norm(s) for s in SYNONYMS.get(target, ())}:
        return 1.0
    if per_item and target == "amount" and norm in ("price", "unit_price", "unitprice", "单价"):
        return 0.9  # without a quantity column, each line is one item and its price is the line's amount
    close = difflib.SequenceMatcher(None, target, norm).ratio()
    return close if close >= 0.6 else 0.0


def _looks_like_dates(values: pl.Series) -> bool:
    from custlab.data.schema import DATE_FORMATS, _date_text, _parse

    if values.dtype.is_temporal():
        return True
    if values.dtype != pl.String:
        return False
    text = values.str.strip_chars().drop_nulls()
    text = text.filter(text != "")
    if text.len() == 0:
        return False
    naive = _date_text(pl.lit(text.unique()), "datetime")
    parsed = pl.select(pl.coalesce([_parse(naive, f) for f in DATE_FORMATS])).to_series()
    return parsed.null_count() <= 0.1 * parsed.len()


def _fits(target: str, name: str, values: pl.Series) -> bool:
    """Whether a column's content can hold the canonical column ``target``."""
    present = values.drop_nulls()
    if present.len() == 0:
        return False
    if target in _DATE_KINDS:
        return _looks_like_dates(values)
    if target in _ID_KINDS or target == "product_id":
        if values.dtype.is_temporal() or (values.dtype.is_float() and bool((present != present.round(0)).any())):
            return False
        if not (values.dtype.is_numeric() or values.dtype == pl.String):
            return False
        if target in _ID_KINDS and any(part in _norm(name) for part in _OTHER_IDS):
            return False
        if _looks_like_dates(values):
            return False
        distinct = present.n_unique()
        return distinct >= min(20, max(2, present.len() // 2))
    if target in _NUMBER_KINDS:
        numbers = present if values.dtype.is_numeric() else present.cast(pl.String).str.strip_chars().cast(
            pl.Float64, strict=False)
        if numbers.null_count() > 0.1 * numbers.len() or not numbers.dtype.is_numeric():
            return False
        return target not in ("amount", "spend", "unit_price") or bool(numbers.drop_nulls().median() or 0) > 0
    if target in ("event", "channel", "category", "gender", "region"):
        return values.dtype == pl.String or isinstance(values.dtype, (pl.Categorical, pl.Enum))
    return True


def _telling(target: str, values: pl.Series) -> bool:
    """Whether content alone points at ``target``: dates for a date, a float column for money."""
    if target in _DATE_KINDS:
        return True
    if target in ("amount", "spend", "unit_price"):
        return values.dtype.is_float()
    return False


def suggest_mapping(frame: Frame, missing: Sequence[str], candidates: Sequence[str]) -> dict[str, str]:
    """``{user column: canonical column}`` for the ``missing`` columns, from ``candidates``' names and content.

    Each canonical column gets at most one user column and vice versa; a
    missing column without a fitting candidate maps from ``"<your ... column>"``.

    Examples
    --------
    >>> import polars as pl, datetime as dt
    >>> raw = pl.DataFrame({"Zeitpunkt": [dt.datetime(2024, 1, d) for d in range(1, 4)],
    ...                     "weekday": [1, 2, 3], "store_id": [1, 1, 2]})
    >>> suggest_mapping(raw, ["order_date", "order_id"], raw.columns)
    {'Zeitpunkt': 'order_date', '<your order_id column>': 'order_id'}
    """
    sample = frame.lazy().select(candidates).head(_SAMPLE_ROWS).collect() if candidates else pl.DataFrame()
    fitting = {target: [c for c in candidates if _fits(target, c, sample[c])] for target in missing}
    used: set[str] = set()
    out: dict[str, str] = {}
    names = frame.collect_schema().names()
    per_item = not any(_name_score("quantity", c) == 1.0 for c in names)
    if "amount" in missing and not per_item:
        # a quantity and a unit price: amount is their product (read_transactions derives it), never the price alone
        # (Online Retail II's Price as amount read revenue 6.6 times too low)
        price = next((c for c in candidates if _name_score("unit_price", c) == 1.0 and _fits("unit_price", c, sample[c])),
                     None)
        quantity = next((c for c in names if _name_score("quantity", c) == 1.0), None)
        if price is not None and quantity is not None:
            used.add(price)
            out[price] = "unit_price"
            if quantity != "quantity":
                used.add(quantity)
                out[quantity] = "quantity"
            missing = [m for m in missing if m != "amount"]
    for target in missing:
        options = [c for c in fitting[target] if c not in used]
        scored = sorted(((_name_score(target, c, per_item=per_item), c) for c in options), reverse=True)
        choice = None
        if scored and scored[0][0] > 0:
            choice = scored[0][1]
        else:  # the one column whose content alone points at this column, and at no other asked for
            telling = {t: [c for c in fitting[t] if c not in used and _telling(t, sample[c])] for t in missing}
            alone = telling[target]
            if len(alone) == 1 and not any(alone[0] in telling[t] for t in missing if t != target):
                choice = alone[0]
        if choice:
            used.add(choice)
        out[choice or f"<your {target} column>"] = target
    return out


def check_column_mapping(mapping: Mapping[str, str] | None, tables_found: Mapping[str, Sequence[str] | Frame]) -> None:
    """Raise :class:`SchemaError` when ``mapping`` names a column that no table found has.

    ``tables_found`` maps each table read (e.g. from a folder) to its column
    names or its frame. Used by the CLI's ``--columns`` with a folder of tables,
    where a mapping may name a column of any table; a typo must not be ignored.

    Examples
    --------
    >>> check_column_mapping({"cid": "customer_id"}, {"transactions": ["cid", "ts"]})
    >>> check_column_mapping({"cdi": "customer_id"}, {"transactions": ["cid", "ts"]})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    custlab.exceptions.SchemaError: columns= names 'cdi', which is in none of the tables read ... Did you mean 'cid'?
    """
    from custlab.data.schema import TABLES
    from custlab.exceptions import SchemaError

    if not mapping:
        return
    names = {table: list(cols.collect_schema().names() if isinstance(cols, (pl.DataFrame, pl.LazyFrame)) else cols)
             for table, cols in tables_found.items() if cols is not None}
    every = sorted({c for cols in names.values() for c in cols})
    for source, target in mapping.items():
        if source not in every:
            close = difflib.get_close_matches(source, every, n=1, cutoff=0.6)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            listing = "; ".join(f"{t}: {', '.join(c[:12])}" for t, c in names.items())
            raise SchemaError(f"columns= names {source!r}, which is in none of the tables read ({listing}).{hint}")
        owners = [t for t, cols in names.items() if source in cols]
        if not any(target in TABLES[t].columns for t in owners if t in TABLES):
            raise SchemaError(f"columns= maps {source!r} onto {target!r}, which is not a column of the "
                              f"{' or '.join(owners)} table(s) that hold {source!r}.")
