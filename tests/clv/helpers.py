"""Shared constants and reference helpers of the CLV tests (lifetimes as the independent implementation)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import polars as pl

#: The CDNOW calibration and holdout periods of Fader, Hardie & Lee (2005) in custlab's convention: the
#: first instant outside each period (the papers' last days included are 1997-09-30 and 1998-06-30).
CAL_END, OBS_END = "1997-10-01", "1998-07-01"
#: The same ends as lifetimes' observation_period_end / calibration_period_end (last day included).
LT_CAL_END, LT_OBS_END = "1997-09-30", "1998-06-30"


def _arrays(frame: pl.DataFrame):
    return tuple(frame[c].cast(pl.Float64).to_numpy() for c in ("frequency", "recency", "T"))


def _lifetimes_summary(lt, transactions: pl.DataFrame, **kwargs) -> pl.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = lt.utils.summary_data_from_transaction_data(
            transactions.to_pandas(), "customer_id", "order_date", monetary_value_col="amount", **kwargs
        )
    return pl.from_pandas(ref.reset_index()).with_columns(pl.col("customer_id").cast(transactions["customer_id"].dtype))


def _assert_same_summary(ours: pl.DataFrame, ref: pl.DataFrame, *, rtol: float = 1e-9) -> None:
    joined = ours.join(ref, on="customer_id", how="full", suffix="_ref")
    assert ours.height == ref.height == joined.height
    for column in ("frequency", "recency", "T", "monetary_value"):
        np.testing.assert_allclose(joined[column].cast(pl.Float64).to_numpy(), joined[f"{column}_ref"].to_numpy(),
                                   rtol=rtol, atol=1e-9, err_msg=column)


def _reference_fitter(lt, model):
    cls = {"BetaGeo": lt.BetaGeoFitter, "ModifiedBetaGeo": lt.ModifiedBetaGeoFitter,
           "ParetoNBD": lt.ParetoNBDFitter}[type(model).__name__]
    ref = cls()
    ref.params_ = pd.Series(model.params_)
    ref.predict = ref.conditional_expected_number_of_purchases_up_to_time  # as fit() sets it
    return ref
