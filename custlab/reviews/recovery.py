"""Service recovery: customers with a recent negative review, their value tier, the complaint and what to do.

A customer belongs on the list when they wrote a negative review (rating
<= 2, or a sentiment model's verdict for unrated reviews) in the window
``within`` before ``as_of``. Each gets the aspect of the complaint (the
main aspect of their latest negative review, "other" when none is named),
their value tier (from ``segments``, else the value tiers of
:func:`custlab.segments.value_tier_rules` computed from ``transactions``)
and a suggested action by aspect, stepped up for high-value customers:
logistics -> apology and a compensation coupon, and a logistics alert for
the region; size -> a free exchange and the size chart; service -> a call
back (a dedicated VIP agent for high-value customers); and so on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from custlab._dates import as_datetime, parse_within
from custlab._i18n import check_language, t
from custlab._types import DateLike, Frame, Language
from custlab.exceptions import SchemaError
from custlab.reviews._frames import reviews_table
from custlab.reviews.aspects import ASPECTS, negative_reviews, tag_aspects

__all__ = ["HIGH_TIERS", "RecoveryList", "action_text", "recovery_list"]

#: Value tiers that get the stepped-up action (English labels of the value tiers and of the R rfm segments).
HIGH_TIERS = ("High value", "Can't lose them", "Champions", "Loyal Customers", "Can't Lose Them")
_PRIORITY_ASPECTS = {"service": 0, "quality": 1, "logistics": 2, "authenticity": 0}


@dataclass(frozen=True)
class RecoveryList:
    """Customers to win back after a negative review (:func:`recovery_list`).

    Attributes
    ----------
    table : pl.DataFrame
        One row per customer, most urgent first: ``customer_id``,
        ``review_date`` (latest negative review), ``rating`` (Float64, null
        when unrated), ``aspect`` (String; "other" when none is named),
        ``negative_reviews`` (Int64, in the window), ``value_tier`` (String,
        null when unknown), ``region`` (when known), ``excerpt`` (the
        review, at most 120 characters; raw text: escape it for HTML),
        ``high_value`` (Boolean), ``priority`` (Int64, 1 = first), ``action``
        (String, in ``language``).
    as_of : datetime.datetime
    within : datetime.timedelta
    language : str
    """

    table: pl.DataFrame
    as_of: dt.datetime
    within: dt.timedelta
    language: str = "en"

    def to_frame(self, language: Language | None = None) -> pl.DataFrame:
        """The list; ``language`` rewrites the ``action`` column in another language."""
        if language is None or language == self.language:
            return self.table
        check_language(language)
        return self.table.with_columns(action=action_text(language))

    @property
    def summary(self) -> pl.DataFrame:
        """Customers per aspect: ``aspect``, ``customers``, ``high_value``."""
        return (self.table.group_by("aspect").agg(pl.len().cast(pl.Int64).alias("customers"),
                                                  pl.col("high_value").sum().cast(pl.Int64))
                .sort(["customers", "aspect"], descending=[True, False]))

    def describe(self, language: Language = "en") -> list[str]:
        check_language(language)
        if self.table.height == 0:
            return [t("reviews.recovery.empty", language, days=self.within.days)]
        top = self.summary.row(0, named=True)
        aspect = t(f"reviews.aspect.{top['aspect']}", language) if top["aspect"] in ASPECTS else t(
            "reviews.recovery.other", language)
        return [t("reviews.recovery.sentence", language, customers=f"{self.table.height:,}", days=self.within.days,
                  high=f"{int(self.table['high_value'].sum()):,}", aspect=aspect, n_aspect=f"{top['customers']:,}")]

    def __repr__(self) -> str:
        return (f"RecoveryList({self.table.height:,} customers with a negative review in the {self.within.days} days "
                f"before {self.as_of:%Y-%m-%d}, {int(self.table['high_value'].sum()) if self.table.height else 0} "
                "of them high value)")


def action_text(language: Language = "en") -> pl.Expr:
    """The suggested action for ``aspect`` and ``high_value``, in ``language``."""
    actions = {(a, h): t(f"reviews.recovery.action.{a}{'_vip' if h else ''}", language)
               for a in (*ASPECTS, "other") for h in (False, True)}
    key = pl.concat_str([pl.col("aspect"), pl.col("high_value").cast(pl.String)], separator="|")
    return key.replace_strict({f"{a}|{str(h).lower()}": v for (a, h), v in actions.items()},
                              default=actions[("other", False)])


def _tiers(transactions: Frame | None, segments: Frame | None, as_of: dt.datetime) -> pl.DataFrame | None:
    if segments is not None:
        seg = segments.lazy().collect() if isinstance(segments, pl.LazyFrame) else segments
        column = "segment" if "segment" in seg.columns else ("value_tier" if "value_tier" in seg.columns else None)
        if "customer_id" not in seg.columns or column is None:
            raise SchemaError(f"segments must have customer_id and segment (or value_tier); it has {seg.columns}.")
        return seg.select("customer_id", pl.col(column).cast(pl.String).alias("value_tier")).unique("customer_id")
    if transactions is None:
        return None
    from custlab.segments import rfm_segments, rfm_table

    rfm = rfm_table(transactions, as_of=as_of)
    return rfm_segments(rfm, rules="value_tiers").select("customer_id", pl.col("segment").cast(pl.String)
                                                         .alias("value_tier"))


def recovery_list(reviews: Frame, *, transactions: Frame | None = None, customers: Frame | None = None,
                  segments: Frame | None = None, as_of: DateLike | None = None, within: str | dt.timedelta = "30d",
                  negative_max: float = 2, model=None, language: Language = "en") -> RecoveryList:
    """The service-recovery list: customers with a negative review in the ``within`` window before ``as_of``.

    Parameters
    ----------
    reviews
        Reviews with ``customer_id``, ``review_date`` and ``rating`` and/or
        ``text`` (unrated reviews are judged by their text).
    transactions
        For the value tiers (RFM value tiers at ``as_of``) when ``segments`` is not given.
    customers
        For ``region``.
    segments
        ``customer_id`` and ``segment`` (or ``value_tier``): your own tiers.
    as_of
        The first instant that is not history (see :mod:`custlab._dates`);
        default: the midnight after the last review.
    within
        The window before ``as_of`` ("30d").
    language
        Language of the ``action`` column.

    Examples
    --------
    >>> import datetime as dt
    >>> rv = pl.DataFrame({"customer_id": [1, 2, 3], "review_date": [dt.datetime(2024, 3, d) for d in (1, 20, 25)],
    ...                    "rating": [1, 2, 5], "text": ["Too small", "客服不回复", "Great"]})
    >>> recovery_list(rv, as_of="2024-04-01", within="60d").to_frame().select("customer_id", "aspect").rows()
    [(1, 'size'), (2, 'service')]
    """
    check_language(language)
    window = parse_within(within)
    frame = reviews_table(reviews, need=["customer_id", "review_date"])
    if "text" not in frame.columns and "rating" not in frame.columns:
        raise SchemaError("reviews need a rating or a text to tell negative reviews; they have neither.")
    if "text" in frame.columns:
        frame = tag_aspects(frame)
    else:
        frame = frame.with_columns(aspects=pl.lit([], dtype=pl.List(pl.String)), main_aspect=pl.lit(None, pl.String))
    end = as_datetime(as_of) or dt.datetime.combine(frame["review_date"].max().date() + dt.timedelta(days=1), dt.time())
    recent = frame.filter((pl.col("review_date") < end) & (pl.col("review_date") >= end - window))
    if "rating" not in recent.columns:
        recent = recent.with_columns(rating=pl.lit(None, dtype=pl.Float64))
    if recent.height:
        recent, _ = negative_reviews(recent, negative_max=negative_max, model=model)
        recent = recent.filter(pl.col("negative"))
    per = (recent.sort("review_date").group_by("customer_id", maintain_order=True).agg(
        pl.col("review_date").last(), pl.col("rating").last().cast(pl.Float64),
        pl.col("main_aspect").drop_nulls().last().fill_null("other").alias("aspect"),
        pl.len().cast(pl.Int64).alias("negative_reviews"),
        (pl.col("text").last() if "text" in recent.columns else pl.lit(None, pl.String)).alias("excerpt")))
    tiers = _tiers(transactions, segments, end)
    if tiers is not None and per.height:
        per = per.join(tiers.with_columns(pl.col("customer_id").cast(per.schema["customer_id"])), on="customer_id",
                       how="left")
    else:
        per = per.with_columns(value_tier=pl.lit(None, dtype=pl.String))
    if customers is not None:
        cust = customers.lazy().collect() if isinstance(customers, pl.LazyFrame) else customers
        if "region" in cust.columns and per.height:
            per = per.join(cust.select("customer_id", pl.col("region").cast(pl.String)).unique("customer_id")
                           .with_columns(pl.col("customer_id").cast(per.schema["customer_id"])),
                           on="customer_id", how="left")
    high = pl.col("value_tier").is_in(list(HIGH_TIERS)).fill_null(False)
    aspect_rank = pl.col("aspect").replace_strict(_PRIORITY_ASPECTS, default=3, return_dtype=pl.Int64)
    per = per.with_columns(high_value=high, excerpt=pl.col("excerpt").str.replace_all(r"\s+", " ")
                           .str.slice(0, 120)).sort(
        [pl.col("high_value").not_(), pl.col("rating").fill_null(3), aspect_rank, pl.col("review_date")],
        descending=[False, False, False, True])
    per = per.with_columns(priority=pl.int_range(1, pl.len() + 1).cast(pl.Int64))
    per = per.with_columns(action=action_text(language))
    cols = ["customer_id", "review_date", "rating", "aspect", "negative_reviews", "value_tier",
            *(["region"] if "region" in per.columns else []), "excerpt", "high_value", "priority", "action"]
    return RecoveryList(per.select(cols), end, window, language)
