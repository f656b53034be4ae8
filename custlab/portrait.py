"""Who the customers are: customers, orders and revenue by country or region, age, gender, income band.

The monthly report's portrait reads these tables. Each :class:`Breakdown`
splits the buyers of the transactions by one attribute and says how many of
them it covers:

* **geography** (:func:`geography`) uses a place column of the transactions
  themselves when there is one (``country`` in Online Retail: each line counts
  for its own country) or else one of the customers table (``region``,
  ``city_tier``, ``state`` ...), joined by ``customer_id``;
* **demographics** (:func:`demographics`) use the customers table: ``age``
  (numbers become the bands <25, 25-29, 30-34, 35-39, 40-49, 50+; bands such
  as "25-34" stay as given, in order), ``income`` (numbers become quintile
  bands), ``gender``, ``household_size``, ``occupation``,
  ``acquisition_channel``.

Customers are the distinct ``customer_id`` of the transactions (pass cleaned
transactions and the period you want, e.g. one month). A buyer the customers
table does not list, or lists without a value, is counted in the "(unknown)"
group and left out of ``customers_covered``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from custlab._i18n import labels, t, translate_values
from custlab._types import Frame, Language
from custlab.data.schema import check_frame, require_columns
from custlab.exceptions import CustlabError, EmptyDataError, SchemaError

__all__ = [
    "DEMOGRAPHIC_COLUMNS", "GEOGRAPHY_COLUMNS", "Breakdown", "Portrait", "attribute_name", "breakdown", "demographics",
    "geography", "portrait",
]

#: Place columns looked for, in this order, in the transactions and then in the customers table.
GEOGRAPHY_COLUMNS = ("country", "region", "state", "province", "city_tier", "city")
#: Customer attributes :func:`demographics` breaks the buyers down by, when the customers table has them.
DEMOGRAPHIC_COLUMNS = ("age", "gender", "income", "household_size", "occupation", "acquisition_channel")

_AGE_BANDS = ((25, "<25"), (30, "25-29"), (35, "30-34"), (40, "35-39"), (50, "40-49"))
_GROUP_NAMES = {"age": "age_band", "income": "income_band"}


@dataclass(frozen=True, eq=False)
class Breakdown:
    """Customers, orders and revenue by the groups of one attribute.

    Attributes
    ----------
    attribute : str
        The column split by (``"country"``, ``"age"``, ...); the table's group
        column is ``group_column`` (``"age_band"`` for age, ``"income_band"`` for income).
    source : str
        ``"transactions"`` (the column is on the order lines) or ``"customers"``.
    table : polars.DataFrame
        One row per group: the group (String; "(unknown)" for buyers without a
        value), ``customers`` (Int64), ``customer_share`` (Float64, of all
        buyers), ``orders`` (Int64), ``order_share``, ``revenue``,
        ``revenue_share``, ``revenue_per_customer`` (Float64). Bands come in
        their order, other groups by customers (most first); "(unknown)" and
        "Others" last.
    customers_total : int
        Buyers in the transactions.
    customers_covered : int
        Buyers with a known value.
    customers_in_several : int
        Buyers seen in more than one group (a line-level column such as
        ``country``; they count once in each, so customer shares can add up
        to a little over 1).
    """

    attribute: str
    group_column: str
    source: str
    table: pl.DataFrame
    customers_total: int
    customers_covered: int
    customers_in_several: int
    language: str = "en"

    def to_frame(self) -> pl.DataFrame:
        """The table of groups."""
        return self.table

    @property
    def coverage(self) -> float:
        """Share of the buyers with a known value (0 when there are none)."""
        return self.customers_covered / self.customers_total if self.customers_total else 0.0

    @property
    def top(self) -> dict | None:
        """The known group with the most customers, as a dict of its row; None when no value is known."""
        unknown = labels("portrait", self.language)["unknown"]
        known = self.table.filter(pl.col(self.group_column) != unknown)
        return known.sort("customers", descending=True, maintain_order=True).row(0, named=True) if known.height else None

    def describe(self, language: Language | None = None) -> str:
        """One sentence: how many buyers the breakdown covers and which group leads.

        ``language`` defaults to the breakdown's own (its group labels are in it).

        >>> import datetime as dt
        >>> tx = pl.DataFrame({"customer_id": [1, 2, 3], "order_id": ["a", "b", "c"],
        ...                    "order_date": [dt.datetime(2024, 1, 1)] * 3, "amount": [10.0, 30.0, 60.0],
        ...                    "country": ["France", "France", None]})
        >>> geography(tx).describe()
        'Country is known for 2 of 3 customers (66.7%); the largest group, France, has 66.7% of the customers and 40.0% of the revenue.'
        """
        language = language or self.language
        name = attribute_name(self.attribute, language)
        text = t("portrait.coverage", language, attribute=name, covered=self.customers_covered,
                 total=self.customers_total, share=f"{self.coverage:.1%}")
        top = self.top
        if top is not None:
            text += t("portrait.top", language, group=top[self.group_column],
                      customers=f"{top['customer_share']:.1%}", revenue=f"{top['revenue_share']:.1%}")
        return text

    def __repr__(self) -> str:
        top = self.top
        lead = f"; top {top[self.group_column]!s} ({top['customer_share']:.1%} of customers)" if top else ""
        return (f"Breakdown({self.attribute} from {self.source}: {self.table.height} groups, "
                f"{self.customers_covered:,} of {self.customers_total:,} customers covered{lead})")


@dataclass(frozen=True, eq=False)
class Portrait:
    """Every breakdown the data allow: geography first, then the demographics."""

    breakdowns: tuple[Breakdown, ...]
    customers_total: int
    language: str = "en"

    @property
    def summary(self) -> pl.DataFrame:
        """One row per breakdown: attribute, source, groups, top group and its shares, customers covered."""
        rows = []
        for b in self.breakdowns:
            top = b.top or {}
            rows.append({
                "attribute": attribute_name(b.attribute, self.language), "source": b.source, "groups": b.table.height,
                "top_group": top.get(b.group_column), "top_customer_share": top.get("customer_share"),
                "top_revenue_share": top.get("revenue_share"), "customers_covered": b.customers_covered,
                "coverage": b.coverage,
            })
        schema = {"attribute": pl.String, "source": pl.String, "groups": pl.Int64, "top_group": pl.String,
                  "top_customer_share": pl.Float64, "top_revenue_share": pl.Float64, "customers_covered": pl.Int64,
                  "coverage": pl.Float64}
        return pl.DataFrame(rows, schema=schema, orient="row")

    def to_frame(self) -> pl.DataFrame:
        """The summary table."""
        return self.summary

    def __getitem__(self, attribute: str) -> Breakdown:
        for b in self.breakdowns:
            if b.attribute == attribute:
                return b
        raise KeyError(f"no breakdown by {attribute!r}; present: {[b.attribute for b in self.breakdowns]}")

    def __repr__(self) -> str:
        names = ", ".join(b.attribute for b in self.breakdowns) or "none"
        return f"Portrait({self.customers_total:,} customers; breakdowns: {names})"


def attribute_name(attribute: str, language: Language = "en") -> str:
    """The heading of an attribute ("Country", "国家/地区"); unknown columns are written out plainly.

    >>> attribute_name("city_tier", "zh")
    '城市等级'
    """
    return labels("portrait", language).get(attribute, attribute.replace("_", " ").capitalize())


def geography(
    transactions: Frame, customers: Frame | None = None, *, by: str | None = None, top_n: int | None = None,
    language: Language = "en",
) -> Breakdown:
    """Customers, orders and revenue by country or region.

    Parameters
    ----------
    transactions
        Cleaned transactions: ``customer_id``, ``order_id``, ``amount``, and
        the place column when it is on the lines (``country`` in Online Retail).
    customers
        Customers table with ``customer_id`` and the place column, when the
        transactions have none.
    by
        The place column; default: the first of :data:`GEOGRAPHY_COLUMNS`
        found in the transactions, else in the customers table.
    top_n
        Keep the ``top_n`` groups with the most revenue and merge the rest into "Others".
    language
        Labels of "(unknown)", "Others" and the values custlab itself makes
        (the synthetic shop's regions and city tiers): "en" or "zh".

    Returns
    -------
    Breakdown
        See :class:`Breakdown`; ``describe()`` writes the coverage sentence.

    Raises
    ------
    SchemaError
        No place column in either table (the message lists the columns looked for).

    Examples
    --------
    >>> import datetime as dt
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 2, 3], "order_id": ["a", "b", "c", "d"],
    ...                    "order_date": [dt.datetime(2024, 1, 1)] * 4, "amount": [10.0, 20.0, 25.0, 45.0],
    ...                    "country": ["France", "France", "Spain", "France"]})
    >>> geography(tx).to_frame().select("country", "customers", "revenue", "revenue_share").rows()
    [('France', 2, 75.0, 0.75), ('Spain', 1, 25.0, 0.25)]
    """
    if by is None:
        by = _find_column(transactions, customers, GEOGRAPHY_COLUMNS)
        if by is None:
            cols = _columns(transactions) + (_columns(customers) if customers is not None else [])
            raise SchemaError(
                f"No place column for a geography: looked for {list(GEOGRAPHY_COLUMNS)} in the transactions"
                f"{' and the customers table' if customers is not None else ''}, found columns {sorted(set(cols))}. "
                f"Pass by='<column>' or a customers table with a region column."
            )
    return breakdown(transactions, customers, by=by, top_n=top_n, language=language)


def demographics(
    transactions: Frame, customers: Frame, *, attributes: Sequence[str] | None = None, language: Language = "en",
) -> tuple[Breakdown, ...]:
    """One :class:`Breakdown` per customer attribute present (age band, gender, income band, ...).

    Parameters
    ----------
    transactions
        Cleaned transactions of the period: ``customer_id``, ``order_id``, ``amount``.
    customers
        Customers table: ``customer_id`` and any of :data:`DEMOGRAPHIC_COLUMNS`.
    attributes
        Columns to use; default: those of :data:`DEMOGRAPHIC_COLUMNS` present.
    language
        As for :func:`geography`.

    Examples
    --------
    >>> import datetime as dt
    >>> tx = pl.DataFrame({"customer_id": [1, 2, 3], "order_id": ["a", "b", "c"],
    ...                    "order_date": [dt.datetime(2024, 1, 1)] * 3, "amount": [10.0, 30.0, 60.0]})
    >>> people = pl.DataFrame({"customer_id": [1, 2, 3], "age": [23, 31, 33], "gender": ["female", "male", "female"]})
    >>> [(b.attribute, b.to_frame()[b.group_column].to_list()) for b in demographics(tx, people)]
    [('age', ['<25', '30-34']), ('gender', ['female', 'male'])]
    """
    check_frame(customers, argument="customers")
    present = _columns(customers)
    wanted = [c for c in DEMOGRAPHIC_COLUMNS if c in present] if attributes is None else list(attributes)
    return tuple(breakdown(transactions, customers, by=c, language=language) for c in wanted)


def portrait(transactions: Frame, customers: Frame | None = None, *, language: Language = "en") -> Portrait:
    """The geography (when a place column exists) and every demographic breakdown the customers table allows.

    >>> import datetime as dt
    >>> tx = pl.DataFrame({"customer_id": [1, 2], "order_id": ["a", "b"], "order_date": [dt.datetime(2024, 1, 1)] * 2,
    ...                    "amount": [10.0, 30.0], "country": ["France", "Spain"]})
    >>> portrait(tx)
    Portrait(2 customers; breakdowns: country)
    """
    found = []
    place = _find_column(transactions, customers, GEOGRAPHY_COLUMNS)
    if place is not None:
        found.append(geography(transactions, customers, by=place, language=language))
    if customers is not None:
        found.extend(demographics(transactions, customers, language=language))
    total = found[0].customers_total if found else _buyers(transactions)["customer_id"].n_unique()
    return Portrait(tuple(found), int(total), language)


def breakdown(
    transactions: Frame, customers: Frame | None = None, *, by: str, top_n: int | None = None,
    language: Language = "en",
) -> Breakdown:
    """Customers, orders and revenue by the values of column ``by`` of the transactions or the customers table.

    The column is taken from the transactions when they have it (each line
    counts for its own value), else from ``customers`` (joined by
    ``customer_id``). ``age`` and ``income`` numbers are banded (see the module
    docstring). Used by :func:`geography` and :func:`demographics`.
    """
    text = labels("portrait", language)
    if top_n is not None and (not isinstance(top_n, int) or isinstance(top_n, bool) or top_n < 1):
        raise CustlabError(f"top_n must be None or a whole number >= 1, got {top_n!r}.")
    lines = _buyers(transactions, extra=[by] if by in _columns(transactions) else [])
    if by in lines.columns:
        source = "transactions"
    else:
        if customers is None:
            raise SchemaError(f"Column {by!r} is not in the transactions; pass customers= with it.")
        check_frame(customers, argument="customers")
        require_columns(customers, ["customer_id", by], table="customers", purpose=f"for a breakdown by {by}")
        people = customers.lazy().select("customer_id", by).collect()
        if people["customer_id"].is_duplicated().any():
            n = people.filter(pl.col("customer_id").is_duplicated())["customer_id"].n_unique()
            raise CustlabError(f"customers lists {n:,} customer_id(s) more than once; one row per customer is needed.")
        if people.schema["customer_id"] != lines.schema["customer_id"]:
            raise CustlabError(
                f"customers.customer_id is {people.schema['customer_id']} but the transactions' customer_id is "
                f"{lines.schema['customer_id']}; cast one side, e.g. pl.col('customer_id').cast(pl.String)."
            )
        lines = lines.join(people, on="customer_id", how="left")
        source = "customers"
    group = _GROUP_NAMES.get(by, by)
    lines, order = _grouped(lines, by, group)
    buyers = lines["customer_id"].n_unique()
    per = lines.group_by(group).agg(
        customers=pl.col("customer_id").n_unique().cast(pl.Int64),
        orders=pl.col("order_id").n_unique().cast(pl.Int64),
        revenue=pl.col("amount").sum(),
    )
    several = int(lines.drop_nulls(group).group_by("customer_id").agg(pl.col(group).n_unique())
                  .filter(pl.col(group) > 1).height)
    covered = int(lines.drop_nulls(group)["customer_id"].n_unique())
    if top_n is not None:
        ranking = per.drop_nulls(group).sort(["revenue", group], descending=[True, False])
        if ranking.height > top_n:
            kept = ranking[group].head(top_n).implode()
            merged = pl.when(pl.col(group).is_null() | pl.col(group).is_in(kept)).then(pl.col(group))
            per = lines.with_columns(merged.otherwise(pl.lit(text["other"])).alias(group)).group_by(group).agg(
                customers=pl.col("customer_id").n_unique().cast(pl.Int64),
                orders=pl.col("order_id").n_unique().cast(pl.Int64),
                revenue=pl.col("amount").sum(),
            )
    per = _ordered(per, group, order, text["other"])
    total_orders = lines["order_id"].n_unique()
    total_revenue = float(lines["amount"].sum())
    table = per.with_columns(
        pl.col(group).fill_null(text["unknown"]),
        customer_share=pl.col("customers") / buyers,
        order_share=pl.col("orders") / total_orders,
        revenue_share=(pl.col("revenue") / total_revenue) if total_revenue else pl.lit(None, pl.Float64),
        revenue_per_customer=pl.col("revenue") / pl.col("customers"),
    ).select(group, "customers", "customer_share", "orders", "order_share", "revenue", "revenue_share",
             "revenue_per_customer")
    if language != "en":
        table = table.with_columns(translate_values(pl.col(group), language))
    return Breakdown(by, group, source, table, int(buyers), covered, several, language)


def _columns(frame: Frame) -> list[str]:
    return frame.collect_schema().names()


def _find_column(transactions: Frame, customers: Frame | None, candidates: Sequence[str]) -> str | None:
    for frame in (transactions, customers):
        if frame is None:
            continue
        present = _columns(frame)
        for column in candidates:
            if column in present:
                return column
    return None


def _buyers(transactions: Frame, extra: Sequence[str] = ()) -> pl.DataFrame:
    """The transactions' lines with a customer: customer_id, order_id, amount and the ``extra`` columns."""
    check_frame(transactions, argument="transactions")
    require_columns(transactions, ["customer_id", "order_id", "amount"], table="transactions",
                    purpose="for a customer portrait")
    lines = transactions.lazy().select("customer_id", "order_id", "amount", *extra).collect()
    lines = lines.filter(pl.col("customer_id").is_not_null())
    if lines.height == 0:
        raise EmptyDataError("The transactions have no lines with a customer_id; there is no one to describe.")
    return lines


def _grouped(lines: pl.DataFrame, by: str, group: str) -> tuple[pl.DataFrame, list[str] | None]:
    """``lines`` with the group column (bands for age and income numbers) and the bands' order, if any."""
    col = lines.schema[by]
    if isinstance(col, pl.Enum):
        return lines.with_columns(pl.col(by).cast(pl.String).alias(group)), list(col.categories)
    if by == "age" and col.is_numeric():
        age = pl.col(by)
        expr = pl.when(age.is_null()).then(None)
        for upper, name in _AGE_BANDS:
            expr = expr.when(age < upper).then(pl.lit(name))
        names = [name for _, name in _AGE_BANDS] + ["50+"]
        return lines.with_columns(expr.otherwise(pl.lit("50+")).alias(group)), names
    if by == "income" and col.is_numeric():
        return _income_bands(lines, by, group)
    if col.is_float():
        whole = pl.col(by).round(0) == pl.col(by)
        text = pl.when(whole).then(pl.col(by).cast(pl.Int64).cast(pl.String)).otherwise(pl.col(by).cast(pl.String))
        return lines.with_columns(text.alias(group)), None
    return lines.with_columns(pl.col(by).cast(pl.String).alias(group)), None


def _income_bands(lines: pl.DataFrame, by: str, group: str) -> tuple[pl.DataFrame, list[str] | None]:
    """Quintile bands of the customers' incomes ("1,200-2,500"); fewer when values repeat."""
    people = lines.group_by("customer_id").agg(pl.col(by).first()).drop_nulls(by)
    if people.height == 0:
        return lines.with_columns(pl.lit(None, pl.String).alias(group)), None
    edges = sorted({float(people[by].quantile(q, "nearest")) for q in (0.2, 0.4, 0.6, 0.8)})
    lo, hi = float(people[by].min()), float(people[by].max())
    bounds = [lo, *[e for e in edges if lo < e <= hi], hi]
    names, expr = [], pl.when(pl.col(by).is_null()).then(None)
    for i in range(len(bounds) - 1):
        name = f"{bounds[i]:,.0f}-{bounds[i + 1]:,.0f}"
        upper = pl.col(by) <= bounds[i + 1] if i == len(bounds) - 2 else pl.col(by) < bounds[i + 1]
        expr = expr.when(upper).then(pl.lit(name))
        names.append(name)
    return lines.with_columns(expr.alias(group)), names


def _ordered(per: pl.DataFrame, group: str, order: list[str] | None, other: str) -> pl.DataFrame:
    """Bands in their order, other groups by customers (then revenue, name); "Others" and unknown last."""
    last = pl.col(group).is_null() | (pl.col(group) == other)
    known, rest = per.filter(~last), per.filter(last).sort(pl.col(group).is_null())
    if order is not None:
        rank = {name: i for i, name in enumerate(order)}
        known = known.sort(pl.col(group).replace_strict(rank, default=len(rank), return_dtype=pl.Int64))
    else:
        known = known.sort(["customers", "revenue", group], descending=[True, True, False])
    return pl.concat([known, rest])
