"""The survival churn risk against ``1 - P(alive)`` of BG/NBD, customer by customer."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from custlab._types import Frame
from custlab.churn._common import _check_per_customer, _collect, _import_lifelines
from custlab.data.schema import check_frame, require_columns
from custlab.exceptions import CustlabError

__all__ = ["BgnbdComparison", "compare_with_bgnbd"]


@dataclass(frozen=True)
class BgnbdComparison:
    """Churn risk from the survival view against ``1 - P(alive)`` from BG/NBD.

    Attributes
    ----------
    table : pl.DataFrame
        ``customer_id``, ``survival_risk``, ``bgnbd_risk`` (= 1 - p_alive),
        ``survival_rank``, ``bgnbd_rank`` (Float64, 1 = riskiest, ties get
        their average rank), ``rank_difference`` (Float64), and
        ``frequency`` when ``p_alive`` has it; sorted by ``survival_rank``.
    spearman, p_value : float or None
        Spearman rank correlation of the two risks and its p-value (None when
        one of them is constant, or fewer than 3 customers are compared).
    spearman_repeat, customers_repeat : float or None, int or None
        The same among customers with at least one repeat purchase, when
        ``p_alive`` has a ``frequency`` column. BG/NBD gives every customer
        without a repeat purchase P(alive) = 1 however long they have been
        silent, so the two views can only agree among repeat buyers.
    top_overlap : float or None
        Of the riskiest ``top_share`` of customers by the survival risk, the
        share that is also among the riskiest ``top_share`` by BG/NBD (ties
        broken by customer id); None when nothing is compared.
    top_share : float
    customers, only_in_risk, only_in_p_alive : int
        Customers compared, and those in just one of the inputs (left out).
        ``customers`` is 0 when ``p_alive`` is null for every customer: no
        model gave a P(alive) (e.g. :func:`custlab.clv.choose_model` kept the
        historical formula because BG/NBD did not converge or pass its checks).
    """

    table: pl.DataFrame
    spearman: float | None
    p_value: float | None
    spearman_repeat: float | None
    customers_repeat: int | None
    top_overlap: float | None
    top_share: float
    customers: int
    only_in_risk: int
    only_in_p_alive: int

    def to_frame(self) -> pl.DataFrame:
        """The customer-by-customer table (``table``)."""
        return self.table

    def __repr__(self) -> str:
        rho = "n/a" if self.spearman is None else f"{self.spearman:.2f}"
        overlap = "n/a" if self.top_overlap is None else f"{self.top_overlap:.0%}"
        return (f"BgnbdComparison({self.customers:,} customers, Spearman {rho}, "
                f"top {self.top_share:.0%} overlap {overlap})")

    def __str__(self) -> str:
        if self.customers == 0:
            return ("Nothing to compare: no customer has a P(alive) (no BG/NBD fit was used on these data).")
        text = (
            f"{self.customers:,} customers: Spearman rank correlation "
            f"{'n/a' if self.spearman is None else f'{self.spearman:.2f}'} between the survival "
            f"churn risk and 1 - P(alive); {self.top_overlap:.0%} of the riskiest {self.top_share:.0%} by one "
            f"are also among the riskiest {self.top_share:.0%} by the other."
        )
        if self.spearman_repeat is not None and self.customers_repeat:
            text += (f" Among the {self.customers_repeat:,} repeat buyers (BG/NBD puts P(alive) = 1 for the "
                     f"others): {self.spearman_repeat:.2f}.")
        if self.only_in_risk or self.only_in_p_alive:
            text += (f" Left out: {self.only_in_risk:,} customers only in the risk table, "
                     f"{self.only_in_p_alive:,} only in the P(alive) table.")
        return text


def _spearman(a: np.ndarray, b: np.ndarray) -> tuple[float | None, float | None]:
    _import_lifelines()
    from scipy.stats import spearmanr

    if a.size < 3 or np.unique(a).size < 2 or np.unique(b).size < 2:
        return None, None
    rho, p = spearmanr(a, b)
    return float(rho), float(p)


def compare_with_bgnbd(
    risk: Frame,
    p_alive: Frame,
    *,
    risk_column: str = "p_churn",
    top_share: float = 0.1,
) -> BgnbdComparison:
    """Compare the survival churn risk with ``1 - P(alive)`` of a BG/NBD model, customer by customer.

    Parameters
    ----------
    risk
        ``customer_id`` and ``risk_column``, for example the list of
        :meth:`RepurchaseModel.early_warning` (active customers only; a
        customer already churned has no survival risk to compare).
    p_alive
        ``customer_id`` and ``p_alive`` (Float64 in [0, 1]): each customer's
        probability of still being active from a fitted BG/NBD model (for
        example ``BetaGeoFitter.conditional_probability_alive`` of lifetimes,
        or :mod:`custlab.clv`), at the same analysis date; optionally
        ``frequency`` (repeat purchases) for the comparison among repeat
        buyers.
    risk_column
        Column of ``risk`` holding the survival risk.
    top_share
        Share of riskiest customers compared by ``top_overlap``.

    Returns
    -------
    BgnbdComparison
        Customers present in only one input are left out and counted.

    Examples
    --------
    >>> import polars as pl
    >>> risk = pl.DataFrame({"customer_id": [1, 2, 3, 4], "p_churn": [0.9, 0.2, 0.5, 0.1]})
    >>> alive = pl.DataFrame({"customer_id": [1, 2, 3, 5], "p_alive": [0.1, 0.9, 0.6, 0.5]})
    >>> cmp = compare_with_bgnbd(risk, alive)
    >>> cmp.spearman, cmp.customers, cmp.only_in_risk, cmp.only_in_p_alive
    (1.0, 3, 1, 1)
    """
    check_frame(risk, argument="risk")
    check_frame(p_alive, argument="p_alive")
    if not 0 < top_share <= 1:
        raise CustlabError(f"top_share must be in (0, 1], got {top_share!r}.")
    r = _collect(risk)
    a = _collect(p_alive)
    require_columns(r, ["customer_id", risk_column], table="risk", purpose="(risk_column=)")
    require_columns(a, ["customer_id", "p_alive"], table="p_alive",
                    purpose="(each customer's BG/NBD probability of being alive)")
    if a.height and a["p_alive"].null_count() == a.height:  # no model gave a P(alive): say so, compare nothing
        _check_per_customer(r, "risk", risk_column, rule="a probability in [0, 1]", upper=1.0)
        ids = a.select(pl.col("customer_id").cast(r.schema["customer_id"], strict=False))
        empty = pl.DataFrame(schema={"customer_id": r.schema["customer_id"], "survival_risk": pl.Float64,
                                     "bgnbd_risk": pl.Float64, "survival_rank": pl.Float64, "bgnbd_rank": pl.Float64,
                                     "rank_difference": pl.Float64,
                                     **({"frequency": pl.Float64} if "frequency" in a.columns else {})})
        return BgnbdComparison(table=empty, spearman=None, p_value=None, spearman_repeat=None, customers_repeat=None,
                               top_overlap=None, top_share=float(top_share), customers=0,
                               only_in_risk=r.join(ids, on="customer_id", how="anti").height,
                               only_in_p_alive=ids.join(r, on="customer_id", how="anti").height)
    for name, frame_, col in (("risk", r, risk_column), ("p_alive", a, "p_alive")):
        _check_per_customer(frame_, name, col, rule="a probability in [0, 1]", upper=1.0)
    has_freq = "frequency" in a.columns
    r = r.select("customer_id", pl.col(risk_column).cast(pl.Float64).alias("survival_risk"))
    a = a.select(pl.col("customer_id").cast(r.schema["customer_id"], strict=False),
                 (1.0 - pl.col("p_alive").cast(pl.Float64)).alias("bgnbd_risk"),
                 *([pl.col("frequency").cast(pl.Float64)] if has_freq else []))
    both = r.join(a, on="customer_id", how="inner")
    if both.height < 3:
        raise CustlabError(
            f"Only {both.height} customer(s) are in both tables; check that both use the same customer ids "
            f"(risk has {r.height:,}, p_alive {a.height:,})."
        )
    table = both.with_columns(
        survival_rank=pl.col("survival_risk").rank("average", descending=True).cast(pl.Float64),
        bgnbd_rank=pl.col("bgnbd_risk").rank("average", descending=True).cast(pl.Float64),
    ).with_columns(rank_difference=pl.col("survival_rank") - pl.col("bgnbd_rank")).sort("survival_rank",
                                                                                          "customer_id")
    table = table.select("customer_id", "survival_risk", "bgnbd_risk", "survival_rank", "bgnbd_rank",
                         "rank_difference", *(["frequency"] if has_freq else []))
    rho, p = _spearman(table["survival_risk"].to_numpy(), table["bgnbd_risk"].to_numpy())
    rho_rep, n_rep = None, None
    if has_freq:
        rep = table.filter(pl.col("frequency") > 0)
        n_rep = rep.height
        rho_rep = _spearman(rep["survival_risk"].to_numpy(), rep["bgnbd_risk"].to_numpy())[0]
    k = max(int(round(top_share * table.height)), 1)
    top_s = set(table.sort(["survival_risk", "customer_id"], descending=[True, False]).head(k)["customer_id"])
    top_b = set(table.sort(["bgnbd_risk", "customer_id"], descending=[True, False]).head(k)["customer_id"])
    return BgnbdComparison(
        table=table,
        spearman=rho,
        p_value=p,
        spearman_repeat=rho_rep,
        customers_repeat=n_rep,
        top_overlap=len(top_s & top_b) / k,
        top_share=float(top_share),
        customers=table.height,
        only_in_risk=r.height - both.height,
        only_in_p_alive=a.join(r, on="customer_id", how="anti").height,
    )


