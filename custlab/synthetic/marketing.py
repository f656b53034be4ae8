"""Stage "marketing": monthly spend per paid acquisition channel, scaled so that the planted ROI holds.

ROI of channel c (``params.ROI``: live_stream 8, community 5, sms 1.2, search
3; organic is unpaid) = total clean revenue in the period of the customers
whose ``acquisition_channel`` is c, divided by the total ``spend`` on c over
the period. Monthly spend follows that month's sign-ups through the channel
(plus a floor, with noise); the totals are scaled so that the ROI holds
exactly (to rounding to the cent).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from custlab.synthetic._arrays import strings
from custlab.synthetic.customers import Customers
from custlab.synthetic.params import ACQ_CHANNELS, ROI, US_PER_DAY
from custlab.synthetic.timeline import Calendar

__all__ = ["marketing_spend"]


def marketing_spend(rng: np.random.Generator, customers: Customers, cal: Calendar) -> pl.DataFrame:
    """Stream "marketing": the marketing_spend table (month, channel, spend), sorted by month then channel."""
    n_months = cal.n_months
    first_month = cal.day_dates[0].astype("datetime64[M]")
    signup_day = (customers.signup_us - cal.start_us) // US_PER_DAY
    signup_month = cal.month_idx_of_day[np.clip(signup_day, 0, cal.ndays - 1)]
    paid = list(ROI)
    spend_rows_m, spend_rows_c, spend_vals = [], [], []
    for ci, ch in enumerate(ACQ_CHANNELS):
        if ch not in ROI:
            continue
        sel = customers.acquisition == ci
        su = np.bincount(signup_month[sel], minlength=n_months).astype(float)
        raw = (su + 0.2 * su.mean()) * rng.lognormal(0.0, 0.1, n_months)
        target = customers.revenue[sel].sum() / ROI[ch]
        spend = raw / raw.sum() * target if raw.sum() > 0 else np.zeros(n_months)
        spend_rows_m.append(np.arange(n_months))
        spend_rows_c.append(np.full(n_months, paid.index(ch)))
        spend_vals.append(np.round(spend, 2))
    sm = np.concatenate(spend_rows_m)
    sc = np.concatenate(spend_rows_c)
    sv = np.concatenate(spend_vals)
    srt = np.lexsort((sc, sm))
    month_dates = (first_month + sm[srt]).astype("datetime64[D]")
    return pl.DataFrame({
        "month": pl.Series(month_dates.astype(np.int64).astype(np.int32)).cast(pl.Date),
        "channel": strings(paid, sc[srt]),
        "spend": pl.Series(sv[srt], dtype=pl.Float64),
    })
