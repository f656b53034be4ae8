"""Cox proportional-hazards model of the time to churn, with hazard ratios, held-out concordance and a PH check."""

from __future__ import annotations

import warnings

import polars as pl

from custlab._types import Frame
from custlab.churn._common import ChurnDataWarning, _collect
from custlab.churn._cox_base import LOG1P_COVARIATES, LOG_COVARIATES, CoxFitError, _CoxBase
from custlab.exceptions import CustlabError

__all__ = ["LOG1P_COVARIATES", "LOG_COVARIATES", "SURVIVAL_COVARIATES", "CoxChurnModel", "CoxFitError"]

#: Covariates :class:`CoxChurnModel` uses by default, when the frame has them.
SURVIVAL_COVARIATES = (
    "first_order_value", "first_category", "first_channel", "acquisition_channel", "segment",
    "age_group", "gender", "region", "city_tier", "occupation",
)


class CoxChurnModel(_CoxBase):
    """Cox proportional-hazards model of time to churn, from a survival frame.

    Hazard ratios above 1 mean earlier churn (a shorter customer lifetime).
    The data are split by customer into a training part, on which the model
    is fitted, and a held-out part (``test_size``) on which the concordance
    is measured: the probability that, of two customers, the one the model
    ranks riskier churns first (0.5 is chance, 1 perfect).

    Parameters
    ----------
    covariates
        Columns of the survival frame to use. Default: those of
        ``SURVIVAL_COVARIATES`` present (first order value, first category,
        first channel, acquisition channel, segment, age group, gender, region,
        city tier, occupation); defaults that are all null or constant among
        the training customers are left out with a :class:`ChurnDataWarning`.
        Columns given explicitly that are all null or constant raise
        :class:`CustlabError`. Numeric columns enter as numbers (order values
        and counts on a log scale, ``LOG1P_COVARIATES``/``LOG_COVARIATES``);
        text columns as levels against the level held by most training
        customers, with nulls as the level "(missing)" and levels held by
        fewer than ``min_customers_per_level`` training customers merged into
        "(other)" (into the reference level when they are fewer than that
        together). Design columns that are constant or a linear combination
        of others among the training customers are dropped (``aliased_``; a
        level joins its reference). ``merged_levels_`` lists every merge.
        Rows with a null numeric covariate are left out and counted
        (``excluded_``, and a warning).
    strata
        Columns to stratify on (each stratum gets its own baseline hazard).
    penalizer
        Ridge penalty of lifelines' ``CoxPHFitter`` (0: plain partial
        likelihood; the intervals are then exact Wald intervals). A fit that
        does not converge raises :class:`CoxFitError` suggesting one (0.1).
    test_size
        Share of customers held out for the concordance (0: none).
    seed
        Seed of the split.
    alpha
        1 - confidence level of the hazard-ratio intervals.
    min_customers_per_level
        Levels held by fewer training customers are merged into "(other)".
    max_levels
        At most this many levels per text covariate (the reference
        included): the levels held by most training customers; the rest
        join "(other)". None for no limit (a shop with hundreds of
        categories then fits hundreds of terms, slowly).
    reference
        ``{covariate: level}`` to compare against, instead of the most
        frequent level.

    Raises
    ------
    CoxFitError
        When the model cannot be fitted (no churn event, none among the
        training customers, no covariate that varies, no convergence); its
        ``retry_with`` holds the arguments that fix it, when an argument can.

    Attributes
    ----------
    hazard_ratios_ : pl.DataFrame
        ``term``, ``covariate``, ``level`` (String, null for numbers),
        ``reference`` (the level compared against), ``hazard_ratio``,
        ``lower``, ``upper``, ``p_value`` (Float64).
    concordance_train_, concordance_test_ : float or None (None when no pair of customers can be ordered,
        and for the test without a held-out part)
    ph_test_ : pl.DataFrame
        Proportional-hazards test per term: ``term``, ``statistic``,
        ``p_value``, ``holds`` (Boolean, p >= 0.05), ``verdict`` (plain words).
    ph_summary_ : str
        The proportional-hazards check in plain words.
    excluded_ : pl.DataFrame
        ``reason``, ``rows``: rows left out of the fit.
    skipped_covariates_ : dict
        Default covariates left out, with the reason.
    merged_levels_ : dict
        ``{covariate: {level: level it was merged into}}``.
    reliable_ : bool
    reliability_ : str
        Whether the ranking can be trusted, in plain words: enough events
        per term (10) and a held-out concordance of at least 0.55.
    aliased_ : list of str
        Design columns dropped as constant or collinear among the training customers.
    covariates_, n_train_, n_test_, events_train_, lifelines_

    Examples
    --------
    >>> import polars as pl, numpy as np
    >>> rng = np.random.default_rng(1)
    >>> group = rng.choice(["app", "web"], 400)
    >>> days = rng.exponential(np.where(group == "web", 50, 100)).round() + 90
    >>> sf = pl.DataFrame({"customer_id": np.arange(400), "duration_days": days.astype(int),
    ...                    "churned": days < 300, "first_channel": group})
    >>> model = CoxChurnModel(covariates=["first_channel"], reference={"first_channel": "app"}).fit(sf)
    >>> model.hazard_ratios_.select("term", "reference", pl.col("hazard_ratio").round(1))
    shape: (1, 3)
    ┌───────────────────┬───────────┬──────────────┐
    │ term              ┆ reference ┆ hazard_ratio │
    │ ---               ┆ ---       ┆ ---          │
    │ str               ┆ str       ┆ f64          │
    ╞═══════════════════╪═══════════╪══════════════╡
    │ first_channel=web ┆ app       ┆ 2.0          │
    └───────────────────┴───────────┴──────────────┘
    >>> round(model.concordance_test_, 2)
    0.56
    >>> print(model.ph_summary_)  # doctest: +ELLIPSIS
    Proportional hazards: no evidence against it for any of the 1 term ...
    """

    _defaults = SURVIVAL_COVARIATES

    def fit(self, frame: Frame) -> CoxChurnModel:
        """Fit on a survival frame (:func:`survival_frame`); returns self."""
        return self._fit(frame, self.strata)

    def predict_risk(self, frame: Frame) -> pl.DataFrame:
        """Relative churn hazard of each customer against the average customer of the fit.

        Returns ``customer_id`` and ``relative_risk`` (Float64; 2 means twice
        the average hazard at every duration; null for rows with a null
        numeric covariate, counted in a warning). Rows keep the input order.
        """
        self._check_fitted()
        if self.strata_:
            raise CustlabError("predict_risk compares customers within one baseline; refit without strata=.")
        data = _collect(frame)
        ph, notes = self._partial_hazard(data)
        if notes:
            warnings.warn("predict_risk: " + ", ".join(f"{n:,} rows with {why}" for why, n in notes.items()),
                          ChurnDataWarning, stacklevel=2)
        return pl.DataFrame({"customer_id": data["customer_id"], "relative_risk": ph}).with_columns(
            pl.col("relative_risk").fill_nan(None)
        )
