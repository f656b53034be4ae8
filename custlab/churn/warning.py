"""The early-warning list: active customers ranked by the value the shop expects to lose, with the reason.

Risk comes from a model, not from the silence rule: a
:class:`~custlab.repurchase.RepurchaseModel` (a Cox model of the days from
each purchase to the next, fitted on the customers' own history) gives each
active customer, silent for ``s`` days, the probability ``p_churn`` that the
silence reaches W days, ``S(W) / S(s)``; the probability itself comes from
the same design refitted with effects that change as the silence lengthens
(:mod:`custlab.churn.silence`: a weekly buyer silent two months has most
likely stopped, whatever her past rhythm). A customer who buys every week and
has been silent a month is at risk; one who buys twice a year and was last
seen a month ago is not, though both are 30 days silent. The list multiplies
that risk by what the customer is worth (a CLV table passed as ``value``, or
else their spend over the 365 days before ``as_of``) and sorts by that
expected value at risk. Each row says why, in words: how long the customer
has been silent against the gap the model expects for them, and which of
their covariates slow their return most.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from custlab._dates import as_datetime, as_of_after
from custlab._i18n import check_language, t
from custlab._i18n import label as label_of
from custlab._types import DateLike, Frame, Language
from custlab.churn._common import ChurnDataWarning, _check_days, _check_per_customer, _collect
from custlab.churn.frames import AGE_BINS
from custlab.churn.silence import SilenceRisk, fit_silence_risk
from custlab.data.ids import match_ids
from custlab.data.schema import check_frame, naive_datetimes, require_columns
from custlab.exceptions import CustlabError

if TYPE_CHECKING:  # pragma: no cover
    from custlab.repurchase import RepurchaseModel

__all__ = ["EarlyWarning", "early_warning"]

#: A covariate is named as a reason when it slows the customer's return by at least this factor.
_REASON_FACTOR = 1.25
#: Phrases for the covariates the library itself builds (others read "covariate value").
_NUMERIC_PHRASES = {
    "purchase_number": "churn.reason_purchases",
    "days_since_first": "churn.reason_tenure",
    "order_value": "churn.reason_last_value",
    "first_order_value": "churn.reason_first_value",
}


@dataclass(frozen=True)
class EarlyWarning:
    """Active customers ranked by expected value at risk (``p_churn`` x value), with the reason.

    Attributes
    ----------
    table : pl.DataFrame
        See :func:`early_warning`; ``to_frame()`` returns it.
    as_of : datetime.datetime
        The first instant that is not history.
    inactivity_days : int
        W: a customer churns when their silence reaches W days.
    within : int or None
        Horizon of ``p_churn_within`` in days, when asked for.
    value_source : str
        What "value" is: ``"<column> from value"`` or ``"spend in the 365 days before as_of"``.
    active_customers : int
        Customers silent fewer than W days at ``as_of``.
    left_out : int
        Active customers without a probability (a null numeric covariate), not listed.
    without_value : int
        Listed customers absent from ``value`` (their value is 0).
    reliable : bool
    reliability : str
        Whether the model's ranking can be trusted, in plain words (see
        ``RepurchaseModel.reliability_``).
    concordance : float or None
        Held-out concordance of the repurchase model.
    model : RepurchaseModel
        The fitted model (hazard ratios for :func:`~custlab.churn.plot_hazard_ratios`, ``usual_gap_days``, the
        held-out concordance and the reasons).
    language : str
    silence_risk : SilenceRisk or None
        The model that gives ``p_churn`` (:mod:`custlab.churn.silence`: effects that change as the silence
        lengthens); None when it could not be fitted and ``p_churn`` is the single model's.
    """

    table: pl.DataFrame
    as_of: dt.datetime
    inactivity_days: int
    within: int | None
    value_source: str
    active_customers: int
    left_out: int
    without_value: int
    reliable: bool
    reliability: str
    concordance: float | None
    model: RepurchaseModel
    language: str
    silence_risk: SilenceRisk | None = None

    @property
    def trust_key(self) -> str:
        """The catalogue key of the sentence saying where the risk comes from and how far its ranking can be trusted
        (the concordance is the single model's: the risk's own model is named when it gives the risk)."""
        if not self.reliable:
            return "churn.warning_unreliable"
        return "churn.warning_reliable_silence" if self.silence_risk is not None else "churn.warning_reliable"

    def to_frame(self) -> pl.DataFrame:
        """The ranked list (one row per listed customer)."""
        return self.table

    @property
    def value_at_risk(self) -> float:
        """Expected value at risk of every listed customer together."""
        return float(self.table["value_at_risk"].sum())

    @property
    def summary(self) -> pl.DataFrame:
        """Per risk band: ``risk_band``, ``customers`` (Int64), ``value``, ``value_at_risk``, ``mean_p_churn``."""
        order = {t(f"churn.band_{b}", self.language): i for i, b in enumerate(("high", "medium", "low"))}
        return (
            self.table.group_by("risk_band")
            .agg(customers=pl.len().cast(pl.Int64), value=pl.col("value").sum(),
                 value_at_risk=pl.col("value_at_risk").sum(), mean_p_churn=pl.col("p_churn").mean())
            .sort(pl.col("risk_band").replace_strict(order, default=len(order)))
        )

    def describe(self, language: Language | None = None) -> str:
        """The list in two sentences: who is at risk, what is at stake, whether to trust it."""
        lang = check_language(language or self.language)
        high = self.table.filter(pl.col("risk_band") == t("churn.band_high", self.language))
        text = t("churn.warning_sentence", lang, customers=f"{self.table.height:,}", high=f"{high.height:,}",
                 days=self.inactivity_days, at_risk=f"{self.value_at_risk:,.0f}",
                 total=f"{float(self.table['value'].sum()):,.0f}", source=self._source(lang))
        trust = t(self.trust_key, lang, concordance="n/a" if self.concordance is None else f"{self.concordance:.2f}")
        return text + t("churn.sentence_join", lang) + trust

    def _source(self, language: str) -> str:
        if self.value_source.startswith("spend"):
            return t("churn.value_spend", language)
        return t("churn.value_column", language, column=self.value_source.split(" ", 1)[0])

    def __repr__(self) -> str:
        c = "n/a" if self.concordance is None else f"{self.concordance:.2f}"
        return (
            f"EarlyWarning(as_of={self.as_of:%Y-%m-%d}, {self.table.height:,} of {self.active_customers:,} active "
            f"customers listed, expected value at risk {self.value_at_risk:,.0f} ({self.value_source}), "
            f"W={self.inactivity_days} days, held-out concordance {c}, "
            f"{'reliable' if self.reliable else 'NOT reliable'})"
        )


def early_warning(
    transactions: Frame,
    *,
    as_of: DateLike | None = None,
    inactivity_days: int | str = 90,
    within: str | int | dt.timedelta | None = None,
    value: Frame | None = None,
    value_column: str = "clv",
    customers: Frame | None = None,
    segments: Frame | None = None,
    segment_column: str = "segment",
    penalizer: float = 0.0,
    min_customers_per_level: int = 30,
    seed: int = 0,
    test_size: float = 0.25,
    top_n: int | None = None,
    bands: tuple[float, float] = (0.8, 0.5),
    reasons: int = 2,
    language: Language = "en",
) -> EarlyWarning:
    """Active customers ranked by the value the shop expects to lose, with the model's risk and the reason.

    Builds the repurchase frame at ``as_of`` (:func:`~custlab.repurchase.repurchase_frame`),
    fits a :class:`~custlab.repurchase.RepurchaseModel` on it and, for every
    active customer (silent fewer than W days), takes ``p_churn``, the
    probability that their current silence reaches W days. Already churned
    customers are not listed, so every ``churn_date`` is after ``as_of``.

    Parameters
    ----------
    transactions
        Canonical transactions (``customer_id``, ``order_id``, ``order_date``,
        ``amount``; ``category``/``channel`` give covariates).
    as_of
        The first instant that is not history (:mod:`custlab._dates`);
        default the midnight after the last order.
    inactivity_days
        W, the silence that counts as churn (90 or "90d").
    within
        Optional horizon ("30d"): adds ``p_churn_within``, the probability
        of churning within it. The list is ranked on ``p_churn`` either way.
    value
        Optional table of what each customer is worth if kept, with
        ``customer_id`` and ``value_column`` (for example the 12-month CLV of
        :mod:`custlab.clv`). Default: the customer's spend in the 365 days
        before ``as_of``. Customers absent from it get 0 (counted).
    value_column
        The column of ``value`` to use.
    customers, segments, segment_column
        Customer attributes for the model, as in :func:`~custlab.churn.survival_frame`.
    penalizer, min_customers_per_level, seed, test_size
        Settings of the repurchase model (:class:`~custlab.churn.CoxChurnModel`):
        a fit that does not converge raises :class:`~custlab.churn.CoxFitError`
        whose ``retry_with`` names the setting that fixes it (``test_size=0``
        fits on all customers when too few repeat purchases are left once a
        quarter of them are held out; the list is then not checked on held-out
        customers, and ``reliable`` says so).
    top_n
        Keep the first ``top_n`` rows.
    bands
        Cut-offs of ``p_churn`` for the bands high (>= first) and medium
        (>= second); the rest is low.
    reasons
        At most this many covariates named in each reason.
    language
        Bands and reasons in English ("en") or Chinese ("zh").

    Returns
    -------
    EarlyWarning
        ``to_frame()``: ``rank`` (Int64, 1 = most value at risk);
        ``customer_id``; ``last_purchase`` (Date); ``days_since_last``,
        ``days_to_churn`` (Int64); ``churn_date`` (Date, after ``as_of``);
        ``p_churn`` (Float64); ``p_churn_within`` (Float64, with ``within``);
        ``usual_gap_days`` (Float64, null when most such customers never
        return); ``value``, ``value_at_risk`` (Float64, ``p_churn * value``);
        ``risk_band`` (String); ``reason`` (String). No nulls except
        ``usual_gap_days``; no NaN.

    Raises
    ------
    CoxFitError
        The repurchase model cannot be fitted (too few repeat purchases, no
        convergence); the message and ``retry_with`` say what would fix it.

    Examples
    --------
    >>> import custlab as cl
    >>> shop = cl.make_shop(1500, seed=3)
    >>> warning = early_warning(shop.transactions, as_of=shop.truth["period"]["end"])
    >>> warning.to_frame().columns[:4]
    ['rank', 'customer_id', 'last_purchase', 'days_since_last']
    >>> bool((warning.to_frame()["churn_date"] > warning.as_of.date()).all())
    True
    """
    from custlab.repurchase import RepurchaseModel, repurchase_frame

    check_language(language)
    window = _check_days(inactivity_days, "inactivity_days")
    horizon = None if within is None else _check_days(within, "within")
    hi, mid = _check_bands(bands)
    if isinstance(reasons, bool) or not isinstance(reasons, int) or reasons < 0:
        raise CustlabError(f"reasons must be a whole number of 0 or more, got {reasons!r}.")
    ids = match_ids({"transactions": naive_datetimes(transactions), "value": value, "customers": customers,
                     "segments": segments})
    transactions, value, customers, segments = (
        ids[name] for name in ("transactions", "value", "customers", "segments"))
    frame = repurchase_frame(transactions, as_of=as_of, customers=customers, segments=segments,
                             segment_column=segment_column, age_bins=AGE_BINS)
    last = transactions.lazy().select(pl.col("order_date").max()).collect().item()
    moment = as_datetime(as_of) if as_of is not None else as_of_after(last)
    model = RepurchaseModel(penalizer=penalizer, min_customers_per_level=min_customers_per_level, seed=seed,
                            test_size=test_size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChurnDataWarning)  # counted in the result instead
        model.fit(frame)
        risk = model.churn_risk(frame, inactivity_days=window, within=horizon)
        # the single model weighs a frequent buyer's fast return as much on day 70 of a silence as on day 5;
        # p_churn comes from a model whose effects change with the silence (silence.py), when it can be fitted
        silence = fit_silence_risk(frame, model)
    if silence is not None:
        active_rows = frame.filter(~pl.col("repurchased") & (pl.col("gap_days") < window))
        p = pl.Series(silence.p_churn(active_rows, window)).fill_nan(None)
        risk = risk.with_columns(p_churn=pl.when(pl.col("p_churn").is_not_null()).then(p))
        if horizon is not None:
            risk = risk.with_columns(p_churn_within=pl.when(pl.col("days_to_churn") <= horizon).then(pl.col("p_churn"))
                                     .otherwise(pl.when(pl.col("p_churn").is_not_null()).then(0.0)))
    active = risk.height
    risk = risk.filter(pl.col("p_churn").is_not_null())
    left_out = active - risk.height
    values, source = _values(transactions, value, value_column, moment, risk.schema["customer_id"])
    risk = risk.join(values, on="customer_id", how="left")
    without = int(risk["value"].null_count())
    if value is not None and without:
        warnings.warn(f"early_warning: {without:,} of {risk.height:,} active customers are not in value; "
                      f"their value counts as 0.", ChurnDataWarning, stacklevel=2)
    rows = frame.join(risk.select("customer_id", "last_purchase"), left_on=["customer_id", "purchase_date"],
                      right_on=["customer_id", "last_purchase"], how="semi")
    reason = _reasons(model, rows, risk, window, reasons, language)
    table = (
        risk.with_columns(value=pl.col("value").fill_null(0.0))
        .with_columns(value_at_risk=pl.col("p_churn") * pl.col("value"))
        .join(reason, on="customer_id", how="left")
        .with_columns(
            risk_band=pl.when(pl.col("p_churn") >= hi).then(pl.lit(t("churn.band_high", language)))
            .when(pl.col("p_churn") >= mid).then(pl.lit(t("churn.band_medium", language)))
            .otherwise(pl.lit(t("churn.band_low", language)))
        )
        .sort(["value_at_risk", "p_churn", "customer_id"], descending=[True, True, False])
        .with_row_index("rank", offset=1)
        .with_columns(pl.col("rank").cast(pl.Int64))
        .select("rank", "customer_id", "last_purchase", "days_since_last", "days_to_churn", "churn_date", "p_churn",
                *(["p_churn_within"] if horizon is not None else []), "usual_gap_days", "value", "value_at_risk",
                "risk_band", "reason")
    )
    if top_n is not None:
        table = table.head(_check_days(top_n, "top_n"))
    return EarlyWarning(
        table=table, as_of=moment, inactivity_days=window, within=horizon, value_source=source,
        active_customers=active, left_out=left_out, without_value=without, reliable=model.reliable_,
        reliability=model.reliability_, concordance=model.concordance_test_, model=model, language=language,
        silence_risk=silence,
    )


def _check_bands(bands) -> tuple[float, float]:
    try:
        hi, mid = (float(b) for b in bands)
    except (TypeError, ValueError):
        raise CustlabError(
            f"bands must be two probabilities (high, medium) such as (0.8, 0.5), got {bands!r}.") from None
    if not 0 < mid <= hi <= 1:
        raise CustlabError(f"bands must satisfy 0 < medium <= high <= 1, got {bands!r}.")
    return hi, mid


def _values(transactions: Frame, value: Frame | None, column: str, as_of: dt.datetime, id_dtype) -> tuple:
    """``customer_id``, ``value`` (Float64) and the words for where the value comes from."""
    if value is None:
        start = as_of - dt.timedelta(days=365)
        spend = (
            transactions.lazy().filter(pl.col("order_date") >= start, pl.col("order_date") < as_of,
                                       pl.col("customer_id").is_not_null())
            .group_by("customer_id").agg(value=pl.col("amount").cast(pl.Float64).sum())
            .with_columns(pl.col("customer_id").cast(id_dtype, strict=False))
            .collect()
        )
        return spend, "spend in the 365 days before as_of"
    check_frame(value, argument="value")
    data = _collect(value)
    require_columns(data, ["customer_id", column], table="value", purpose="(value_column=)")
    v = _check_per_customer(data, "value", column, rule="a finite number of 0 or more")
    out = data.select(pl.col("customer_id").cast(id_dtype, strict=False), value=v)
    return out, f"{column} from value"


def _reasons(model, rows: pl.DataFrame, risk: pl.DataFrame, window: int, top: int, language: str) -> pl.DataFrame:
    """``customer_id``, ``reason``: the silence against the usual gap, then the covariates slowing the return."""
    rows = risk.select("customer_id").join(rows, on="customer_id", how="left", maintain_order="left")
    x, _, _ = model._design(rows, fitting=False)
    cph = model.lifelines_
    contrib = (x - cph._norm_mean.to_numpy()) * cph.params_.to_numpy()
    by_term = {term.covariate: contrib[:, [model._design_columns().index(c) for c in term.columns]].sum(axis=1)
               for term in model.terms_}
    kinds = {term.covariate: term.kind for term in model.terms_}
    names = list(by_term)
    effects = np.column_stack([by_term[n] for n in names]) if names else np.zeros((rows.height, 0))
    raw = {n: rows[n].to_list() for n in names}
    silent = risk["days_since_last"].to_list()
    usual = risk["usual_gap_days"].to_list()
    limit = -math.log(_REASON_FACTOR)
    texts = []
    for i in range(rows.height):
        parts = [t("churn.reason_silence", language, days=silent[i], usual=f"{usual[i]:.0f}") if usual[i] is not None
                 else t("churn.reason_silence_no_return", language, days=silent[i])]
        order = np.argsort(effects[i]) if names else []
        for j in order[:top]:
            if effects[i, j] > limit:
                break
            name = names[j]
            parts.append(t("churn.reason_slower", language, what=_phrase(name, kinds[name], raw[name][i], language),
                           factor=f"{math.exp(-effects[i, j]):.1f}", rate=f"{math.exp(effects[i, j]):.0%}"))
        texts.append(t("churn.reason_join", language).join(parts))
    return pl.DataFrame({"customer_id": rows["customer_id"], "reason": texts})


def _phrase(name: str, kind: str, value, language: str) -> str:
    if value is None:
        return t("churn.reason_level", language, covariate=_covariate_label(name, language),
                 level=label_of("(missing)", language))
    if kind == "numeric":
        key = _NUMERIC_PHRASES.get(name)
        if key:
            return t(key, language, value=value)
        return t("churn.reason_number", language, covariate=name, value=f"{value:g}")
    return t("churn.reason_level", language, covariate=_covariate_label(name, language),
             level=label_of(str(value), language))


def _covariate_label(name: str, language: str) -> str:
    key = f"churn.covariate_{name}"
    try:
        return t(key, language)
    except KeyError:
        return name
