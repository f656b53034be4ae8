"""The churn figures retail reports quote, computed from the data: silences, early churn, the day to reach out."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import polars as pl

from custlab._i18n import check_language, t
from custlab._types import DateLike, Frame, Language
from custlab.churn._common import _check_days
from custlab.churn.frames import _prepare, _purchase_days
from custlab.exceptions import CustlabError

__all__ = ["ChurnDiagnostics", "churn_diagnostics"]


@dataclass(frozen=True)
class ChurnDiagnostics:
    """The churn figures retail reports quote, computed from the data.

    Attributes
    ----------
    inactivity_days, early_days, min_observed_days : int
        W, the "early" horizon and the follow-up required (see
        :func:`churn_diagnostics`).
    as_of : datetime.datetime
        The analysis moment.
    silences, never_returned : int
        Customers whose first W-day silence began early enough, and of those
        the ones who bought nothing after it.
    silent_never_return_share : float or None
        ``never_returned / silences``.
    churned, churned_early : int
        Churned customers observed long enough, and of those the ones whose
        last purchase came within ``early_days`` of their first.
    early_churn_share : float or None
        ``churned_early / churned``.
    returners : int
        Customers observed long enough who made a second purchase within W
        days of their first.
    intervention_day : int or None
        Days after the first purchase by which ``intervention_quantile`` of
        those second purchases had happened.
    intervention_quantile : float
    """

    inactivity_days: int
    early_days: int
    min_observed_days: int
    as_of: dt.datetime
    silences: int
    never_returned: int
    silent_never_return_share: float | None
    churned: int
    churned_early: int
    early_churn_share: float | None
    returners: int
    intervention_day: int | None
    intervention_quantile: float

    def to_frame(self) -> pl.DataFrame:
        """The three figures as a table: ``metric``, ``value`` (Float64), ``customers`` (Int64), ``definition``."""
        w, e, m = self.inactivity_days, self.early_days, self.min_observed_days
        rows = [
            ("silent_never_return_share", self.silent_never_return_share, self.silences,
             f"of customers whose first {w}-day silence began at least {m} days before as_of, the share "
             f"who bought nothing after it"),
            ("early_churn_share", self.early_churn_share, self.churned,
             f"of churned customers first seen at least {m} days before as_of, the share whose last "
             f"purchase came within {e} days of their first"),
            ("intervention_day", None if self.intervention_day is None else float(self.intervention_day),
             self.returners,
             f"days after the first purchase by which {self.intervention_quantile:.0%} of the second "
             f"purchases (made within {w} days) had happened"),
        ]
        return pl.DataFrame(rows, schema={"metric": pl.String, "value": pl.Float64, "customers": pl.Int64,
                                          "definition": pl.String}, orient="row")

    def __repr__(self) -> str:
        def pct(x):
            return "n/a" if x is None else f"{x:.0%}"
        return (f"ChurnDiagnostics(as_of={self.as_of:%Y-%m-%d}, W={self.inactivity_days} days: "
                f"{pct(self.silent_never_return_share)} of {self.silences:,} silences never ended, "
                f"{pct(self.early_churn_share)} early churn, intervention day {self.intervention_day})")

    def text(self, language: Language = "en") -> str:
        """The three figures as sentences in ``language`` ("en" or "zh"), one per line."""
        check_language(language)
        na = t("churn.diag.na", language)

        def pct(x):
            return na if x is None else f"{x:.0%}"
        w = self.inactivity_days
        day = na if self.intervention_day is None else t("churn.diag.day", language, day=self.intervention_day)
        return "\n".join((
            t("churn.diag.silent", language, silences=f"{self.silences:,}", days=w,
              share=pct(self.silent_never_return_share)),
            t("churn.diag.early", language, churned=f"{self.churned:,}", share=pct(self.early_churn_share),
              early_days=self.early_days),
            t("churn.diag.reach", language, day=day, quantile=f"{self.intervention_quantile:.0%}",
              returners=f"{self.returners:,}", days=w),
        ))

    def __str__(self) -> str:
        return self.text("en")


def churn_diagnostics(
    transactions: Frame,
    *,
    as_of: DateLike | None = None,
    inactivity_days: int = 90,
    early_days: int = 30,
    min_observed_days: int | None = None,
    intervention_quantile: float = 0.5,
) -> ChurnDiagnostics:
    """Silence that does not end, churn soon after the first purchase, the day to reach out.

    Three figures retail reports quote ("70% of customers silent for 90 days
    never come back", "churn happens in the first 30 days", "reach out on day
    15"), each computed only from customers followed long enough for the
    figure to be judged (``min_observed_days``, default ``2 * inactivity_days``),
    so that recent customers do not bias them:

    * ``silent_never_return_share``: of customers whose first silence of W
      days (a purchase day followed by W days without a purchase) began at
      least ``min_observed_days`` before ``as_of``, the share who bought
      nothing after it by ``as_of``.
    * ``early_churn_share``: of customers first seen at least
      ``min_observed_days`` before ``as_of`` who have churned (last purchase W
      or more days before), the share whose last purchase came within
      ``early_days`` days of their first.
    * ``intervention_day``: among customers first seen at least
      ``min_observed_days`` before ``as_of`` whose second purchase came within
      W days of the first, the ``intervention_quantile`` quantile (lower, a
      whole day) of the days to that second purchase. By that day most
      customers who come back on their own have done so; those who have not
      are the ones to remind, before their silence becomes churn.

    Parameters
    ----------
    transactions, as_of, inactivity_days
        As in :func:`survival_frame`.
    early_days
        The "early churn" horizon after the first purchase.
    min_observed_days
        Follow-up required (days before the analysis day); default twice W.
    intervention_quantile
        Share of the second purchases that should have happened by the
        intervention day (between 0 and 1).

    Returns
    -------
    ChurnDiagnostics
        The figures with their counts; ``str()`` reads them out and
        ``to_frame()`` gives a table.

    Examples
    --------
    >>> import polars as pl, datetime as dt
    >>> d = dt.datetime
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 2, 3, 3, 3, 4, 4, 4],
    ...     "order_id": list(range(9)),
    ...     "order_date": [d(2024, 1, 1), d(2024, 1, 11), d(2024, 1, 2), d(2024, 1, 3), d(2024, 2, 20),
    ...                    d(2024, 3, 1), d(2024, 1, 5), d(2024, 4, 20), d(2024, 6, 20)],
    ...     "amount": [1.0] * 9})
    >>> diag = churn_diagnostics(tx, as_of="2024-07-01", inactivity_days=60, early_days=30)
    >>> diag.silent_never_return_share, diag.early_churn_share, diag.intervention_day
    (0.75, 0.6666666666666666, 10)
    >>> print(diag)
    Of 4 customers who fell silent for 60 days, 75% never bought again.
    Of 3 churned customers, 67% made their last purchase within 30 days of their first.
    Best moment to reach out after a first purchase: day 10 (by then 50% of the 2 customers who came back within 60 days had done so).
    """
    window = _check_days(inactivity_days, "inactivity_days")
    early = _check_days(early_days, "early_days", allow_zero=True)
    observed = 2 * window if min_observed_days is None else _check_days(min_observed_days, "min_observed_days",
                                                                         allow_zero=True)
    if not 0 < intervention_quantile <= 1:
        raise CustlabError(f"intervention_quantile must be in (0, 1], got {intervention_quantile!r}.")
    if not isinstance(transactions, (pl.DataFrame, pl.LazyFrame)):
        from custlab import engine as pushdown  # DuckDB, Spark...: aggregate where the data live

        if pushdown.accepts(transactions):
            moment, counts, gaps = pushdown.diagnostic_counts(transactions, as_of=as_of, inactivity_days=window,
                                                              early_days=early, min_observed_days=observed)
            return _diagnostics(window, early, observed, moment, counts, gaps, intervention_quantile)
    prep = _prepare(transactions, as_of, caller="churn_diagnostics")
    d = prep.as_of_day
    days = _purchase_days(prep)
    # First W-day silence of each customer: the earliest purchase day whose gap (closed or open) reaches W.
    silences = (
        days.filter(pl.col("gap_days") >= window)
        .group_by("customer_id")
        .agg(pl.col("_day").min().alias("start"), pl.col("repurchased").sort_by("_day").first().alias("returned"))
        .filter(pl.col("start") <= d - observed)
        .select(n=pl.len(), never=(~pl.col("returned")).sum())
        .collect()
        .row(0, named=True)
    )
    per_customer = (
        days.group_by("customer_id")
        .agg(
            first=pl.col("_day").min(),
            last=pl.col("_day").max(),
            second=pl.col("_day").sort().get(1, null_on_oob=True),
        )
        .filter(pl.col("first") <= d - observed)
        .collect()
    )
    churned = per_customer.filter(d - pl.col("last") >= window)
    second = (per_customer["second"] - per_customer["first"]).drop_nulls()
    counts = {"silences": int(silences["n"]), "never": int(silences["never"] or 0), "churned": churned.height,
              "early": int((churned["last"] - churned["first"] <= early).sum())}
    gaps = second.filter(second <= window).value_counts(name="customers").rename({second.name: "gap"})
    return _diagnostics(window, early, observed, prep.as_of, counts, gaps, intervention_quantile)


def _diagnostics(window: int, early: int, observed: int, as_of: dt.datetime, counts: dict, gaps: pl.DataFrame,
                 intervention_quantile: float) -> ChurnDiagnostics:
    """The figures from the counts (custlab's path and the engine's); ``gaps``: customers (``customers``) per
    number of days to a second purchase (``gap``)."""
    n_churned, n_early = counts["churned"], counts["early"]
    gaps = gaps.sort("gap")
    returners = int(gaps["customers"].sum())
    day = None
    if returners:  # the lower quantile: the k-th smallest day, k = ceil(q n)
        k = max(math.ceil(intervention_quantile * returners), 1)
        day = int(gaps.filter(gaps["customers"].cum_sum() >= k)["gap"][0])
    n_sil, n_never = counts["silences"], counts["never"]
    return ChurnDiagnostics(
        inactivity_days=window,
        early_days=early,
        min_observed_days=observed,
        as_of=as_of,
        silences=n_sil,
        never_returned=n_never,
        silent_never_return_share=n_never / n_sil if n_sil else None,
        churned=n_churned,
        churned_early=n_early,
        early_churn_share=n_early / n_churned if n_churned else None,
        returners=returners,
        intervention_day=day,
        intervention_quantile=float(intervention_quantile),
    )


