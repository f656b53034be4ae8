"""The playbook (one action per segment) and the customer lists it gives for a CRM.

:func:`action_lists` gives every customer its segment's action, a ``priority``
and a ``reason`` that cites the customer's own figures; :func:`action_tables`
splits it into one CRM-ready table per action; :func:`export_action_lists`
writes those tables (CSV cells that a spreadsheet would run as formulas are
neutralised, ids are written as text).
"""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Literal

import polars as pl

from custlab._i18n import check_language, labels, t, translate_values
from custlab._types import Language
from custlab.data.schema import require_columns
from custlab.exceptions import CustlabError, SchemaError

__all__ = ["PLAYBOOK", "action_lists", "action_tables", "export_action_lists"]

#: One recommended action per segment of the shipped rule tables (and the catch-all); other languages
#: come from the label catalogue.
_PLAYBOOK_EN = pl.DataFrame(
    [
        ("High value", "exclusive_benefits",
         "Exclusive benefits: VIP service, early access to new products, member-only gifts"),
        ("Potential", "cross_category_coupon", "Cross-category coupons to widen the basket and raise order value"),
        ("Can't lose them", "win_back_personal",
         "Personal win-back: a call or letter from their account manager and an offer on what they used to buy"),
        ("Dormant", "win_back_offer", "Win-back offer: time-limited coupon with a reminder of what they bought"),
        ("Low value", "low_cost_nurture", "Low-cost automated nurture: newsletter and push, no discounts"),
        ("Champions", "reward_and_refer", "Reward them: early access, loyalty points, invite reviews and referrals"),
        ("Loyal Customers", "upsell_membership",
         "Upsell higher-value products and invite them to the membership programme"),
        ("Potential Loyalist", "loyalty_programme", "Offer the loyalty programme with personal recommendations"),
        ("New Customers", "onboarding", "Onboarding: welcome series and an incentive for the second order"),
        ("Promising", "build_awareness", "Build awareness: samples, free trials, brand stories"),
        ("Need Attention", "limited_time_offer", "Limited-time offers based on their past purchases"),
        ("About To Sleep", "reengage_popular", "Re-engage with popular products and a small discount"),
        ("At Risk", "personal_reconnect", "Personalised messages and offers to reconnect"),
        ("Can't Lose Them", "win_back_premium", "Win them back personally: new products, renewals, direct contact"),
        ("Lost", "low_cost_reactivation", "One low-cost reactivation campaign; stop if there is no response"),
        ("Others", "general_newsletter", "General newsletter only"),
    ],
    schema={"segment": pl.String, "action_id": pl.String, "action": pl.String},
    orient="row",
)
PLAYBOOK = _PLAYBOOK_EN.select(
    "segment", segment_zh=translate_values(pl.col("segment"), "zh"), action_id="action_id", action="action",
    action_zh=translate_values(pl.col("action"), "zh"),
)

#: Columns of :func:`action_lists`, in order (``last_order`` only when the segments table has it).
ACTION_COLUMNS = ("customer_id", "segment", "action_id", "action", "priority", "reason", "recency", "frequency",
                  "monetary", "last_order")
#: Characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")



def _labelled(book: pl.DataFrame, column: str, language: Language) -> pl.Expr:
    """``column`` of the playbook in ``language``: its own ``<column>_<language>`` if given, else the catalogue's."""
    if language == "en":
        return pl.col(column)
    own = f"{column}_{language}"
    translated = translate_values(pl.col(column), language)
    return pl.col(own).fill_null(translated) if own in book.columns else translated


def _count(expr: pl.Expr, unit: str, language: Language) -> pl.Expr:
    """``expr`` (whole numbers) as "1 order" / "12 orders" in ``language``."""
    one, many = t(f"segments.reason.{unit}_one", language), t(f"segments.reason.{unit}_many", language)
    n = expr.cast(pl.Int64).cast(pl.String)
    return pl.when(expr == 1).then(pl.lit(one)).otherwise(pl.lit(many.split("{n}")[0]) + n
                                                           + pl.lit(many.split("{n}")[-1]))


def _money_text(expr: pl.Expr) -> pl.Expr:
    """Money with two decimals ("3450.20"), vectorised."""
    cents = (expr * 100).round(0).cast(pl.Int64)
    return (cents // 100).cast(pl.String) + pl.lit(".") + (cents % 100).cast(pl.String).str.zfill(2)


def _reason(template: str, fields: dict[str, pl.Expr]) -> pl.Expr:
    """A ``{field}`` template rendered row by row from polars expressions."""
    parts: list[pl.Expr] = []
    for literal, name, _, _ in string.Formatter().parse(template):
        if literal:
            parts.append(pl.lit(literal))
        if name:
            parts.append(fields[name])
    return pl.concat_str(parts)


def action_lists(
    segments: pl.DataFrame,
    *,
    playbook: pl.DataFrame | None = None,
    language: Language = "en",
) -> pl.DataFrame:
    """Each customer's recommended action from a playbook, with a priority and the reason, in the customer's figures.

    Parameters
    ----------
    segments
        One row per customer with ``customer_id``, ``segment``, ``recency``,
        ``frequency`` and ``monetary`` (output of :func:`rfm_segments` or
        :func:`custlab.segments.kmeans_segments`); ``last_order`` is kept
        when present.
    playbook
        Table with ``segment``, ``action_id`` (short ASCII name, used for
        file names) and ``action``; for another language optionally
        ``segment_<language>`` and ``action_<language>`` (default: the label
        catalogue). Default ``PLAYBOOK``: exclusive benefits for high value,
        a personal win-back for can't lose them, cross-category coupons for
        potential, a win-back offer for dormant, low-cost nurture for low
        value, and an action for each of the R ``rfm`` segments.
    language
        Which labels ``segments`` uses, and the language of ``action`` and
        ``reason``.

    Returns
    -------
    polars.DataFrame
        ``customer_id``, ``segment`` (String), ``action_id``, ``action``,
        ``priority`` (Int64, 1-100: the customer's spend percentile among
        the customers given the same action, 100 = the biggest spender on
        that list), ``reason`` (String: why the customer is on the list,
        citing orders, spend and days since the last order), ``recency``,
        ``frequency``, ``monetary`` (and ``last_order``); sorted by action,
        then priority (highest first), spend and customer.

    Raises
    ------
    CustlabError
        A segment has no action in the playbook (the message lists them).

    Examples
    --------
    >>> import polars as pl
    >>> seg = pl.DataFrame({"customer_id": [7, 8, 9], "segment": ["Dormant", "High value", "Dormant"],
    ...                     "recency": [200, 5, 90], "frequency": [3, 9, 1], "monetary": [120.0, 900.5, 40.0]})
    >>> out = action_lists(seg)
    >>> out.select("customer_id", "action_id", "priority").rows()
    [(8, 'exclusive_benefits', 100), (7, 'win_back_offer', 100), (9, 'win_back_offer', 50)]
    >>> out["reason"][1]
    'No order for 200 days; before that 3 orders, 120.00 spent.'
    """
    check_language(language)
    require_columns(segments, ["customer_id", "segment", "recency", "frequency", "monetary"], table="segments",
                    purpose="for action lists (pass the output of rfm_segments)")
    book = PLAYBOOK if playbook is None else playbook
    missing_cols = [c for c in ("segment", "action_id", "action") if c not in book.columns]
    if missing_cols:
        raise SchemaError(f"The playbook is missing column(s) {missing_cols}; it needs segment, action_id and "
                          f"action (optionally segment_<language>, action_<language>). It has {book.columns}.")
    book = book.select(segment=_labelled(book, "segment", language), action_id="action_id",
                       action=_labelled(book, "action", language)).unique("segment", keep="first", maintain_order=True)
    customers = segments.with_columns(pl.col("segment").cast(pl.String))
    present = customers["segment"].unique().drop_nulls().to_list()
    missing = sorted(s for s in present if s not in set(book["segment"].to_list()))
    if missing or customers["segment"].null_count():
        raise CustlabError(
            f"The playbook has no action for segment(s) {missing or [None]} "
            f"({customers['segment'].is_in(missing).sum() + customers['segment'].null_count():,} customer(s)). "
            f"Pass playbook= with a row for each (columns segment, action_id, action)."
        )
    fields = {
        "orders": _count(pl.col("frequency"), "orders", language),
        "days": _count(pl.col("recency"), "days", language),
        "spend": _money_text(pl.col("monetary")),
        "segment": pl.col("segment"),
    }
    templates = labels("segments.reason", language)
    reason = _reason(templates["default"], fields)
    for action_id in book["action_id"].unique().sort().to_list():
        if action_id in templates:
            own = _reason(templates[action_id], fields)
            reason = pl.when(pl.col("action_id") == action_id).then(own).otherwise(reason)
    spend_rank = pl.col("monetary").rank("max").over("action_id")
    priority = (100 * spend_rank / pl.len().over("action_id")).ceil().cast(pl.Int64)
    keep = [c for c in ACTION_COLUMNS if c in customers.columns or c in ("action_id", "action", "priority", "reason")]
    return (
        customers.join(book, on="segment", how="left")
        .with_columns(priority=priority, reason=reason)
        .select(keep)
        .sort(["action_id", "priority", "monetary", "customer_id"], descending=[False, True, True, False])
    )


def action_tables(actions: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """One CRM-ready table per action: the rows of :func:`action_lists` for it, highest priority first.

    The ``action_id`` column is left out (it names the table); every other
    column of ``actions`` is kept once, in the order of :func:`action_lists`.

    Examples
    --------
    >>> import polars as pl
    >>> seg = pl.DataFrame({"customer_id": [7, 8, 9], "segment": ["Dormant", "High value", "Dormant"],
    ...                     "recency": [200, 5, 90], "frequency": [3, 9, 1], "monetary": [120.0, 900.5, 40.0]})
    >>> tables = action_tables(action_lists(seg))
    >>> sorted(tables), tables["win_back_offer"]["customer_id"].to_list()
    (['exclusive_benefits', 'win_back_offer'], [7, 9])
    """
    require_columns(actions, ["customer_id", "action_id", "action", "priority"], table="actions",
                    purpose="for action tables (pass the output of action_lists)")
    bad = [a for a in actions["action_id"].unique().to_list() if not re.fullmatch(r"[A-Za-z0-9_.-]+", str(a))]
    if bad:
        raise CustlabError(f"action_id values {bad} cannot be file names; use letters, digits, '_', '-' or '.'.")
    ordered = actions.sort(["action_id", "priority", "customer_id"], descending=[False, True, False],
                           maintain_order=True)
    return {str(a): part.drop("action_id") for (a,), part in ordered.group_by("action_id", maintain_order=True)}


def _neutralise_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Text cells starting with ``= + - @``, tab or CR prefixed with ``'`` so a spreadsheet shows them as text.

    The OWASP rule against CSV injection; numbers are left as numbers.

    >>> _neutralise_formulas(pl.DataFrame({"x": ["=1+1", "ok", "-2"]}))["x"].to_list()
    ["'=1+1", 'ok', "'-2"]
    """
    risky = "^[" + re.escape("".join(FORMULA_START)) + "]"
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(risky)).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c, dtype in frame.schema.items() if dtype == pl.String
    )


def export_action_lists(
    actions: pl.DataFrame,
    directory: str | Path,
    *,
    format: Literal["csv", "parquet"] = "csv",
) -> pl.DataFrame:
    """Write one customer list per action (:func:`action_tables`), for import into a CRM.

    Parameters
    ----------
    actions
        Output of :func:`action_lists`.
    directory
        Folder to write to (created if needed). Files are named
        ``<action_id>.csv`` or ``<action_id>.parquet``; existing files of
        the same name are replaced.
    format
        ``"csv"``: UTF-8 with a byte-order mark (so that Excel reads Chinese
        right), a header row, ids written as quoted text, and text cells that
        start with ``= + - @``, tab or CR prefixed with ``'`` (OWASP CSV
        injection rule). ``"parquet"``: the tables as they are.

    Returns
    -------
    polars.DataFrame
        The manifest: ``action_id``, ``action``, ``customers`` (Int64),
        ``path`` (String), one row per file written.

    Examples
    --------
    >>> import polars as pl, tempfile
    >>> seg = pl.DataFrame({"customer_id": [7, 8, 9], "segment": ["Dormant", "High value", "Dormant"],
    ...                     "recency": [200, 5, 90], "frequency": [3, 9, 1], "monetary": [120.0, 900.5, 40.0]})
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     export_action_lists(action_lists(seg), folder).select("action_id", "customers").rows()
    [('exclusive_benefits', 1), ('win_back_offer', 2)]
    """
    if format not in ("csv", "parquet"):
        raise CustlabError(f"format must be 'csv' or 'parquet', got {format!r}.")
    tables = action_tables(actions)
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for action_id, table in tables.items():
        path = folder / f"{action_id}.{format}"
        if format == "csv":
            text = _neutralise_formulas(table.with_columns(pl.col("customer_id").cast(pl.String)))
            text.write_csv(path, include_bom=True, quote_style="non_numeric", datetime_format="%Y-%m-%dT%H:%M:%S")
        else:
            table.write_parquet(path)
        rows.append((action_id, table["action"][0], table.height, str(path)))
    return pl.DataFrame(rows, schema={"action_id": pl.String, "action": pl.String, "customers": pl.Int64,
                                      "path": pl.String}, orient="row")
