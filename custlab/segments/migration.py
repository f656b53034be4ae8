"""Segment migration: segments recomputed at each period end, and who moved up, slipped or came back."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from custlab._dates import as_datetime, as_of_after, check_freq
from custlab._i18n import t
from custlab._types import Frame, Language
from custlab.data.schema import check_frame
from custlab.exceptions import CustlabError, EmptyDataError
from custlab.segments.rfm import _lazy_transactions, rfm_table
from custlab.segments.rule_tables import RuleSpec, _assign, _coverage, _enforce, _resolve_rules
from custlab.segments.scores import rfm_scores

__all__ = ["MOVEMENTS", "Migration", "segment_migration"]

#: Movement of a customer between two period ends, in the order they are checked: id -> English label
#: (other languages through the label catalogue, ``custlab._i18n.label``).
MOVEMENTS: dict[str, str] = {
    "new": "New",
    "reactivated": "Reactivated",
    "moved_up": "Moved up",
    "slipped": "Slipped",
    "stayed": "Stayed",
}


@dataclass(frozen=True)
class Migration:
    """Segments at each period end and the moves between consecutive periods.

    ``to_frame()`` gives the moves (one row per customer and period end
    after the first); ``summary`` the counts of each movement per period end;
    ``matrix(period_end)`` one transition matrix.

    Attributes
    ----------
    segments
        ``period_end`` (Date, last day counted), ``customer_id``,
        ``segment`` (Enum), ``value_rank``, ``recency``, ``frequency``,
        ``monetary``: every customer with an order by that period end.
    moves
        ``period_end`` (Date), ``customer_id``, ``from_segment``,
        ``to_segment`` (Enum, with the entry state "(new)"), ``movement``
        (String: new, reactivated, moved_up, slipped, stayed).
    transitions
        Counts per pair of consecutive periods: ``period_from``,
        ``period_end`` (Date), ``from_segment``, ``to_segment`` (Enum),
        ``customers`` (Int64), ``share`` (Float64, of the ``from_segment``
        row, so each row of the matrix sums to 1).
    summary
        Per period end: ``period_end``, ``customers``, and the count of
        each movement (Int64 columns ``new`` ... ``stayed``).
    labels
        Segment labels in order (entry state first).
    language
        Language of the labels.
    """

    segments: pl.DataFrame
    moves: pl.DataFrame
    transitions: pl.DataFrame
    summary: pl.DataFrame
    labels: tuple[str, ...] = ()
    language: Language = "en"

    def to_frame(self) -> pl.DataFrame:
        """The moves: one row per customer and period end after the first (see ``moves``)."""
        return self.moves

    def __repr__(self) -> str:
        periods = self.periods
        if not periods:
            return "Migration(no period)"
        head = f"Migration({len(periods)} period ends {periods[0]} .. {periods[-1]}"
        if self.summary.height:
            last = self.summary.row(-1, named=True)
            counts = ", ".join(f"{m} {last[m]:,}" for m in MOVEMENTS)
            return f"{head}; into {last['period_end']}: {last['customers']:,} customers, {counts})"
        return head + ")"

    @property
    def periods(self) -> list[dt.date]:
        """Period ends, in order."""
        return self.segments["period_end"].unique().sort().to_list()

    def matrix(self, period_end: dt.date | str | None = None, *, share: bool = False) -> pl.DataFrame:
        """Transition matrix into ``period_end`` (default: the last), rows from, columns to.

        Rows are the segments at the previous period end (plus "(new)"),
        columns the segments at ``period_end``; cells hold customers, or
        row shares with ``share=True``.
        """
        periods = self.periods
        if len(periods) < 2:
            raise CustlabError("Only one period end: there is no transition to show.")
        target = periods[-1] if period_end is None else as_datetime(period_end, "period_end").date()
        if target not in periods[1:]:
            raise CustlabError(f"period_end={target} is not a period end with a previous one; choose from "
                               f"{[str(p) for p in periods[1:]]}.")
        cells = self.transitions.filter(pl.col("period_end") == target)
        value = "share" if share else "customers"
        catch_all = self.labels[-1]
        used = set(cells["from_segment"].cast(pl.String).to_list()) | set(cells["to_segment"].cast(pl.String).to_list())
        labels = [s for s in self.labels if s != catch_all or catch_all in used]  # an empty catch-all is left out
        grid = pl.DataFrame({"from_segment": labels}).join(pl.DataFrame({"to_segment": labels[1:]}), how="cross")
        cells = cells.with_columns(pl.col("from_segment", "to_segment").cast(pl.String))
        full = grid.join(cells, on=["from_segment", "to_segment"], how="left").with_columns(
            pl.col(value).fill_null(0)
        )
        wide = full.pivot(on="to_segment", index="from_segment", values=value, aggregate_function="first")
        return wide.select("from_segment", *labels[1:])


def segment_migration(
    transactions: Frame,
    *,
    freq: str = "1mo",
    rules: RuleSpec = "value_tiers",
    language: Language = "en",
    thresholds: Mapping[str, Sequence[float]] | None = None,
    dormant_days: int = 60,
    catch_all: str | None = None,
) -> Migration:
    """Segments recomputed at each period end, and who moved up, slipped or was reactivated.

    At each period end (``freq`` apart, "1mo" = calendar months) RFM is
    computed from the orders up to and including that day
    (:func:`rfm_table` with ``as_of`` the next day), scored
    (:func:`rfm_scores`, by quantile among the customers of that date unless
    ``thresholds`` fix the scale) and segmented (:func:`rfm_segments`). The
    last period ends at the last order date when the data stop mid-period.

    A customer's movement into a period end is, checked in this order:
    ``new`` (first order in the period), ``reactivated`` (had gone
    ``dormant_days`` or more without a purchase at the previous period end
    and bought again in this period), ``moved_up`` / ``slipped`` (segment
    ``value_rank`` better / worse than before; the catch-all ranks last),
    ``stayed``.

    Parameters
    ----------
    transactions
        Canonical transactions (DataFrame or LazyFrame), as for
        :func:`rfm_table`. The four columns RFM needs are collected into
        memory once, since every period end reads them again.
    freq
        Period length as a polars interval ("1mo", "1q", "2w", ...).
    rules, language, catch_all
        As for :func:`rfm_segments`; default the documents' value tiers.
    thresholds
        Fixed score cut points (see :func:`rfm_scores`); with quantile
        scores a customer can slip because others improved.
    dormant_days
        Days without a purchase after which a returning customer counts as
        reactivated.

    Returns
    -------
    Migration
        ``segments``, ``moves``, ``transitions``, ``summary`` and
        ``matrix(period_end)``; see :class:`Migration`.

    Examples
    --------
    >>> import polars as pl, datetime as dt
    >>> tx = pl.DataFrame({"customer_id": [1, 2, 1, 3, 2],
    ...     "order_id": [1, 2, 3, 4, 5],
    ...     "order_date": [dt.datetime(2024, 1, 5), dt.datetime(2024, 1, 9), dt.datetime(2024, 2, 2),
    ...                    dt.datetime(2024, 2, 20), dt.datetime(2024, 4, 28)],
    ...     "amount": [20.0, 5.0, 40.0, 8.0, 6.0]})
    >>> mig = segment_migration(tx)
    >>> mig.summary.select("period_end", "customers", "new", "reactivated").rows()[-1]
    (datetime.date(2024, 4, 28), 3, 0, 1)
    """
    check_frame(transactions, argument="transactions")
    if dormant_days < 1:
        raise CustlabError(f"dormant_days must be a positive number of days, got {dormant_days!r}.")
    resolved = _resolve_rules(rules, language, catch_all)
    _enforce(_coverage(resolved), resolved, "catch_all", "first")
    data = _lazy_transactions(transactions).collect()
    if data.height == 0:
        raise EmptyDataError("The transactions table has no rows; there is nothing to segment.")
    first, last = data["order_date"].min(), data["order_date"].max()
    data_end = as_of_after(last)
    freq = check_freq(freq)
    edges = pl.Series([first.date(), last.date()]).dt.truncate(freq)
    ends = pl.date_range(edges[0], edges.dt.offset_by(freq)[1], interval=freq, eager=True)
    as_ofs = sorted({min(dt.datetime.combine(d, dt.time()), data_end) for d in ends.to_list()
                     if dt.datetime.combine(d, dt.time()) > first})
    snapshots = []
    for as_of in as_ofs:
        scored = rfm_scores(rfm_table(data, as_of=as_of, engine="in-memory"), thresholds=thresholds)
        seg = _assign(scored, resolved)
        snapshots.append(seg.select(
            period_end=pl.lit((as_of - dt.timedelta(days=1)).date()),
            customer_id="customer_id", segment="segment", value_rank="value_rank",
            recency="recency", frequency="frequency", monetary="monetary",
        ))
    segments = pl.concat(snapshots)
    labels = [t("segments.entry", language), *resolved.labels]
    enum = pl.Enum(labels)
    moves = []
    for prev, cur in itertools.pairwise(snapshots):
        period_end = cur["period_end"][0]
        joined = cur.join(prev, on="customer_id", how="left", suffix="_prev")
        movement = (
            pl.when(pl.col("segment_prev").is_null()).then(pl.lit("new"))
            .when((pl.col("recency_prev") >= dormant_days) & (pl.col("frequency") > pl.col("frequency_prev")))
            .then(pl.lit("reactivated"))
            .when(pl.col("value_rank") < pl.col("value_rank_prev")).then(pl.lit("moved_up"))
            .when(pl.col("value_rank") > pl.col("value_rank_prev")).then(pl.lit("slipped"))
            .otherwise(pl.lit("stayed"))
        )
        moves.append(joined.select(
            period_from=pl.lit(prev["period_end"][0]),
            period_end=pl.lit(period_end),
            customer_id="customer_id",
            from_segment=pl.col("segment_prev").cast(pl.String).fill_null(labels[0]).cast(enum),
            to_segment=pl.col("segment").cast(pl.String).cast(enum),
            movement=movement,
        ))
    if moves:
        moved = pl.concat(moves)
        transitions = (
            moved.group_by("period_from", "period_end", "from_segment", "to_segment")
            .agg(customers=pl.len().cast(pl.Int64))
            .with_columns(share=pl.col("customers") / pl.col("customers").sum().over("period_end", "from_segment"))
            .sort("period_end", "from_segment", "to_segment")
        )
        counts = (
            moved.group_by("period_end", "movement").agg(n=pl.len().cast(pl.Int64))
            .pivot(on="movement", index="period_end", values="n")
        )
        for m in MOVEMENTS:
            if m not in counts.columns:
                counts = counts.with_columns(pl.lit(0, dtype=pl.Int64).alias(m))
        sizes = moved.group_by("period_end").agg(customers=pl.len().cast(pl.Int64))
        summary = sizes.join(counts, on="period_end").select(
            "period_end", "customers", *[pl.col(m).fill_null(0) for m in MOVEMENTS]
        ).sort("period_end")
        moved = moved.drop("period_from")
    else:
        moved = pl.DataFrame(schema={"period_end": pl.Date, "customer_id": segments.schema["customer_id"],
                                     "from_segment": enum, "to_segment": enum, "movement": pl.String})
        transitions = pl.DataFrame(schema={"period_from": pl.Date, "period_end": pl.Date, "from_segment": enum,
                                           "to_segment": enum, "customers": pl.Int64, "share": pl.Float64})
        summary = pl.DataFrame(schema={"period_end": pl.Date, "customers": pl.Int64,
                                       **dict.fromkeys(MOVEMENTS, pl.Int64)})
    return Migration(segments, moved, transitions, summary, tuple(labels), language)
