"""The synthetic shop: :class:`Shop` and :func:`make_shop`, which runs the stages in order.

Stages (one module each, one random stream each, see :mod:`custlab.synthetic.params`):

============  ==========================================  ==============================
stage         makes                                       stream(s)
============  ==========================================  ==============================
timeline      the period, festival windows                (none)
purchases     order days and times (BG/NBD), totals (GG)  "purchases", "values"
baskets       order lines: planted rules, products        "baskets", "values"
purchases     order channels and ids                      "channels"
customers     demographics, sign-up, acquisition, tiers   "customers"
marketing     marketing_spend                             "marketing"
events        the behaviour log                           "events"
reviews       reviews                                     "reviews"
messy         transactions (clean, then the mess)         "messy"
campaign      campaigns, induced orders (campaign=True)   "campaign"
touches       marketing touch journeys (touches=True)     "touches"
voice         delivery dates, bilingual reviews, NPS      "voice"
              survey (voice=True; replaces reviews)
============  ==========================================  ==============================

Adding a stage
--------------
Write it as a function of the earlier stages' results and of its own
generator ``stage_rng(seed, "<name>")``, append ``"<name>"`` at the end of
``params.STREAMS``, call it from :func:`make_shop` and put what it plants under
its own key of ``truth``. Because no other stage's stream changes, every
existing table stays identical for every seed
(``tests/synthetic/test_pinned.py`` checks it). A stage that changes an
existing table (e.g. delivery dates as a new column of transactions) adds
columns computed from its own stream and leaves the existing columns and rows
as they are.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from custlab.exceptions import CustlabError
from custlab.synthetic.baskets import fill_baskets
from custlab.synthetic.campaign import win_back_campaign
from custlab.synthetic.customers import draw_customers
from custlab.synthetic.events import behaviour_log
from custlab.synthetic.marketing import marketing_spend
from custlab.synthetic.messy import transactions_table
from custlab.synthetic.params import (
    ACQ_CHANNELS, ACQ_P, AGE_BANDS, AGE_CORE_REVENUE, BGNBD, CATALOG, CHANNEL_STICKINESS, COMPLAINT_KEYWORDS,
    COMPLAINT_TOPICS, CYCLES, DOWN_JACKET_BY_MONTH, FEMALE_SHARE, FORMULA_STROLLER, FORMULA_WINDOW, FUNNEL,
    GAMMA_GAMMA, GIFT_DECOR, GIFT_P, OCCUPATIONS, ORDER_CHANNEL_P, ORDER_CHANNELS, PC_GIVEN_COSMETICS, RATING_P,
    REGIONS, ROI, SUNSCREEN_BY_MONTH, SUNSCREEN_UMBRELLA, TIERS, TOP_TIERS_REVENUE, UMBRELLA_ALONE, product_ids,
    stage_rng,
)
from custlab.synthetic.purchases import order_channels, simulate_orders
from custlab.synthetic.reviews import write_reviews
from custlab.synthetic.timeline import calendar, check_arguments
from custlab.synthetic.touches import touch_journeys
from custlab.synthetic.voice import voice_stage

__all__ = ["Shop", "make_shop"]


@dataclass(frozen=True, eq=False)
class Shop:
    """A synthetic shop: the five canonical tables and the planted truth.

    Attributes
    ----------
    transactions : polars.DataFrame
        One row per order line: ``customer_id`` (Int64), ``order_id`` (Int64),
        ``order_date`` (Datetime[us]), ``amount`` (Float64, quantity *
        unit_price), ``product_id``, ``product_name``, ``category`` (String),
        ``quantity`` (Int64), ``unit_price`` (Float64), ``channel`` (String).
    customers : polars.DataFrame
        ``customer_id`` (Int64), ``signup_date`` (Datetime[us]), ``age``
        (Int64), ``gender``, ``region``, ``city_tier``, ``occupation``,
        ``acquisition_channel`` (String).
    events : polars.DataFrame
        ``customer_id`` (Int64), ``event_time`` (Datetime[us]), ``event``
        (String: exposure, click, cart, pay), ``session_id`` (Int64),
        ``channel``, ``product_id`` (String).
    marketing_spend : polars.DataFrame
        ``month`` (Date, first of month), ``channel`` (String), ``spend``
        (Float64).
    reviews : polars.DataFrame
        ``customer_id`` (Int64), ``review_date`` (Datetime[us]), ``rating``
        (Int64, 1..5), ``order_id`` (Int64), ``product_id``, ``text``
        (String).
    truth : dict
        Every planted parameter; see :func:`make_shop` for the keys.
    campaigns : polars.DataFrame or None
        With ``campaign=True``: ``campaign_id``, ``customer_id``, ``group``
        (treatment / control), ``sent_date`` (Datetime[us]), ``channel``,
        ``offer`` (null for the control), ``cost`` (Float64); see
        :mod:`custlab.synthetic.campaign`.
    touches : polars.DataFrame or None
        With ``touches=True``: ``customer_id``, ``touch_time``
        (Datetime[us]), ``channel``, ``utm_source``, ``utm_medium``,
        ``utm_campaign``; see :mod:`custlab.synthetic.touches`.
    orders : polars.DataFrame or None
        With ``voice=True``: one row per order, ``order_id``, ``customer_id``
        (Int64), ``order_date``, ``promised_date``, ``delivered_date``
        (Datetime[us]; null when not delivered by the period end); see
        :mod:`custlab.synthetic.voice`.
    surveys : polars.DataFrame or None
        With ``voice=True``: NPS answers, ``customer_id``, ``survey_date``
        (Datetime[us]), ``nps_score`` (Int64, 0-10), ``order_id``, ``channel``.
    """

    transactions: pl.DataFrame
    customers: pl.DataFrame
    events: pl.DataFrame
    marketing_spend: pl.DataFrame
    reviews: pl.DataFrame
    truth: dict[str, Any] = field(repr=False)
    campaigns: pl.DataFrame | None = field(default=None, repr=False)
    touches: pl.DataFrame | None = field(default=None, repr=False)
    orders: pl.DataFrame | None = field(default=None, repr=False)
    surveys: pl.DataFrame | None = field(default=None, repr=False)

    def tables(self) -> dict[str, pl.DataFrame]:
        """Return the five tables by name.

        Returns
        -------
        dict of str to polars.DataFrame
            ``transactions``, ``customers``, ``events``, ``marketing_spend``
            and ``reviews``.

        Examples
        --------
        >>> sorted(make_shop(50, seed=1).tables())
        ['customers', 'events', 'marketing_spend', 'reviews', 'transactions']
        """
        optional = {"campaigns": self.campaigns, "touches": self.touches,  # made on request only
                    "orders": self.orders, "surveys": self.surveys}
        return {
            "transactions": self.transactions,
            "customers": self.customers,
            "events": self.events,
            "marketing_spend": self.marketing_spend,
            "reviews": self.reviews,
            **{name: table for name, table in optional.items() if table is not None},
        }

    def __repr__(self) -> str:
        period = self.truth.get("period", {})
        start = period.get("start")
        end = period.get("end")
        span = f"{start:%Y-%m-%d}..{end:%Y-%m-%d}" if start and end else "?"
        return (
            f"Shop({self.customers.height} customers, "
            f"{self.transactions.height} transaction lines, "
            f"{self.events.height} events, {self.reviews.height} reviews, "
            f"{self.marketing_spend.height} spend rows, period {span}, "
            f"messy={self.truth.get('messy', 0.0)})"
        )


def make_shop(
    n_customers: int = 5000,
    *,
    start: str | dt.date = "2023-01-01",
    months: int = 24,
    seed: int = 0,
    messy: float = 0.0,
    events_per_customer: float = 4.0,
    campaign: bool = False,
    touches: bool = False,
    voice: bool = False,
) -> Shop:
    """Generate a synthetic e-commerce shop with known planted parameters.

    The package docstring (:mod:`custlab.synthetic`) describes the generating process and
    every planted figure; each stage's module has the details, :mod:`custlab.synthetic.params` the numbers.

    Parameters
    ----------
    n_customers : int, default 5000
        Number of customers (all of them buy at least once): about 2.9
        orders and 4.4 transaction lines per customer at the default
        settings.
    start : str or datetime.date, keyword-only, default "2023-01-01"
        First day of the period (ISO string, date or datetime).
    months : int, keyword-only, default 24
        Length of the period in calendar months (>= 1).
    seed : int, keyword-only, default 0
        Seed of the random generator; the same seed gives identical frames.
    messy : float, keyword-only, default 0.0
        Scale in [0, 1) of the data-quality problems added to
        ``transactions`` (see ``truth["messy_counts"]``); 0 gives clean data.
    events_per_customer : float, keyword-only, default 4.0
        Mean number of behaviour events per customer in ``events``.
    campaign : bool, keyword-only, default False
        Also run a randomised win-back campaign with a planted +28% relative
        repurchase (``Shop.campaigns``; its induced orders are appended to
        ``transactions``; ``truth["campaign"]``). Off by default, so the
        default tables never change.
    touches : bool, keyword-only, default False
        Also draw marketing touch journeys from a planted Markov chain
        (``Shop.touches``, ``truth["touches"]``).
    voice : bool, keyword-only, default False
        Also plant the voice of the customer: delivery and promised dates
        (``Shop.orders``), reviews in Chinese and English whose complaints
        (size, quality, logistics, service, price) and late-delivery effect
        are known (they replace ``reviews``), and an NPS survey
        (``Shop.surveys``); ``truth["voice"]``, see :mod:`custlab.synthetic.voice`.

    Returns
    -------
    Shop
        The tables and ``truth``, a dict with the keys:

        ``period``
            ``start``, ``end`` (datetime, end exclusive), ``months``, ``days``.
        ``n_customers``, ``seed``, ``messy``, ``events_per_customer``
            The arguments.
        ``bgnbd``
            ``r``, ``alpha``, ``a``, ``b``, ``time_unit`` ("weeks"), ``anchor``
            and ``counting`` (how to build the summary that recovers them),
            ``orders_moved`` and ``orders_dropped`` (the distinct-day rule).
        ``gamma_gamma``
            ``p``, ``q``, ``gamma`` and ``mean_order_value`` = p gamma / (q-1).
        ``targets``
            The emergent churn/value figures the parameters were chosen for,
            each a dict with ``value`` (what the planted process gives at 24
            months, in expectation: measure against this), ``report`` (the
            report's figure) and ``definition``: ``silent90_never_return``
            (0.71; report 0.70), ``churned_within_30d_of_first`` (0.58;
            "most"), ``one_and_done`` (0.36) and ``top15_revenue_share``
            (0.54; report 0.50).
        ``repurchase_cycle_days``
            Planted median days between consecutive purchases per category
            (cosmetics, food, personal_care, electronics, home) and for the
            product baby_formula.
        ``cross_sell``
            ``{"cosmetics_to_personal_care": 0.60}`` (share of cosmetics
            buyers who buy personal care).
        ``associations``
            ``sunscreen=>umbrella`` (``confidence`` 0.65 on baskets of
            product_name), ``umbrella_alone`` (0.004 of the other orders),
            ``baby_formula=>stroller`` (``share`` 0.5 of the formula buyers,
            ``window_days`` (1, 90) after the first formula, in a later
            order; ``n_formula_buyers``, ``eligible_share`` of them with such
            an order, ``stroller_probability_if_eligible``) and
            ``gifts=>home_decor`` (basket confidence ``base`` 0.30,
            ``festival`` 0.36, ``lift`` 1.2; gift shares of the orders
            ``gift_share_base`` 0.04 / ``gift_share_festival`` 0.10).
        ``festivals``
            List of festival windows: ``name``, ``date``, ``window_start``,
            ``window_end`` (exclusive): the 28 days up to and including
            Chinese New Year and Double 11.
        ``seasonality``
            Monthly sunscreen probability per order (Jan..Dec) and relative
            down-jacket weight among apparel.
        ``order_channel_shares``, ``order_channel_stickiness``
            app 0.80, mini_program 0.12, web 0.08 of the orders; the share of
            a customer's orders placed on their preferred channel (0.85).
        ``funnel``
            Conditional step rates exposure->click 0.30, click->cart 0.15,
            cart->pay 0.10.
        ``roi``
            live_stream 8, community 5, sms 1.2, search 3: clean revenue over
            the period of the customers acquired through the channel divided
            by the channel's total spend over the period.
        ``acquisition_channel_shares``
            Customer shares of the acquisition channels.
        ``customers``
            ``age_bands`` (name -> (first, last, share)), ``age_core``
            (ages 28-35 and their ``revenue_share`` 0.45), ``city_tiers``,
            ``top_tiers`` (tier1 + new_tier1 ``revenue_share`` 0.65),
            ``occupations``, ``regions``, ``female_share``.
        ``high_value``
            ``customer_ids`` (numpy array: the 15% of customers with the
            highest expected revenue given their latent parameters),
            ``customer_share``, ``revenue_share`` (realised) and
            ``top15_revenue_share`` (realised share of the top 15% by
            revenue).
        ``complaint_topics``, ``complaint_keywords``, ``rating_shares``
            Topic shares among negative reviews, their keywords, and the
            rating distribution.
        ``messy_counts``
            Exact counts of the planted problems: ``cancelled_orders``,
            ``cancellation_lines``, ``missing_customer_orders``,
            ``missing_customer_lines``, ``duplicate_lines``,
            ``zero_price_lines``, ``postage_lines``, ``future_lines``,
            ``added_lines``.
        ``catalog``
            polars.DataFrame of the products: product_id, product_name,
            category, list_price.
        ``latent``
            polars.DataFrame per customer: customer_id, ``lambda`` (repeat
            purchases per week), ``p_dropout``, ``nu`` (Gamma-Gamma),
            ``first_purchase`` (Datetime), ``T_weeks``, ``dropped_out``
            (dropped out before the end), ``expected_revenue``.

    Raises
    ------
    ValueError
        (:class:`custlab.exceptions.CustlabError`) if an argument is out of
        range; the message names the argument, shows the value and says what
        is allowed.

    Examples
    --------
    >>> shop = make_shop(200, seed=1)
    >>> shop.transactions.columns
    ['customer_id', 'order_id', 'order_date', 'amount', 'product_id', 'product_name', 'category', 'quantity', 'unit_price', 'channel']
    >>> shop.truth["bgnbd"]["r"], shop.truth["bgnbd"]["time_unit"]
    (0.3, 'weeks')
    >>> make_shop(200, seed=1).transactions.equals(shop.transactions)
    True
    """
    start_date = check_arguments(n_customers, start, months, seed, messy, events_per_customer)
    n, messy = int(n_customers), float(messy)
    cal = calendar(start_date, int(months))
    rng_values = stage_rng(seed, "values")  # read by two stages, in this order
    orders = simulate_orders(stage_rng(seed, "purchases"), rng_values, n, cal)
    lines = fill_baskets(stage_rng(seed, "baskets"), rng_values, orders)
    o_chan, o_id, chrono = order_channels(stage_rng(seed, "channels"), orders, cal.start_us)
    customers = draw_customers(stage_rng(seed, "customers"), orders, lines, cal)
    spend = marketing_spend(stage_rng(seed, "marketing"), customers, cal)
    events = behaviour_log(stage_rng(seed, "events"), events_per_customer, orders, customers, cal)
    reviews = write_reviews(stage_rng(seed, "reviews"), orders, lines, o_id, customers.ids, cal.end_us)
    transactions, messy_counts = transactions_table(
        stage_rng(seed, "messy"), messy, orders, lines, o_chan, o_id, chrono, customers.ids, cal.end_us,
    )
    truth = _truth(cal, n, seed, messy, events_per_customer, orders, lines, customers)
    truth["messy_counts"] = messy_counts
    for name, flag in (("campaign", campaign), ("touches", touches), ("voice", voice)):
        if not isinstance(flag, (bool, np.bool_)):
            raise CustlabError(f"{name} must be True or False, got {flag!r}")
    campaigns = touch_table = order_table = surveys = None
    if voice:
        order_table, reviews, surveys, truth["voice"] = voice_stage(
            stage_rng(seed, "voice"), orders, lines, o_id, o_chan, customers, cal)
    if campaign:
        campaigns, induced, truth["campaign"] = win_back_campaign(
            stage_rng(seed, "campaign"), orders, customers, cal, int(transactions["order_id"].max()) + 1)
        transactions = pl.concat([transactions, induced.cast(transactions.schema)])
    if touches:
        touch_table, truth["touches"] = touch_journeys(stage_rng(seed, "touches"), orders, customers, cal)
    truth["catalog"] = pl.DataFrame({
        "product_id": product_ids(),
        "product_name": [p[1] for p in CATALOG],
        "category": [p[0] for p in CATALOG],
        "list_price": [p[2] for p in CATALOG],
    })
    truth["latent"] = pl.DataFrame({
        "customer_id": pl.Series(customers.ids, dtype=pl.Int64),
        "lambda": orders.lam,
        "p_dropout": orders.p_dropout,
        "nu": orders.nu,
        "first_purchase": pl.Series(orders.us[orders.first], dtype=pl.Int64).cast(pl.Datetime("us")),
        "T_weeks": orders.T,
        "dropped_out": orders.dead,
        "expected_revenue": customers.expected_revenue,
    })
    return Shop(
        transactions=transactions, customers=customers.table, events=events, marketing_spend=spend,
        reviews=reviews, truth=truth, campaigns=campaigns, touches=touch_table, orders=order_table, surveys=surveys,
    )


_TARGETS = {
    "silent90_never_return": {
        "value": 0.71,
        "report": 0.70,
        "definition": (
            "share of the customers' first 90-day silences (a purchase day followed "
            "by 90 days without purchase, starting at least 180 days before the "
            "end) after which the customer never buys again before the end"
        ),
    },
    "churned_within_30d_of_first": {
        "value": 0.58,
        "report": "most churn happens in the 30 days after the first purchase",
        "definition": (
            "among customers observed >= 180 days whose last purchase is >= 90 "
            "days before the end, the share whose last purchase is within 30 "
            "days of their first"
        ),
    },
    "one_and_done": {
        "value": 0.36,
        "report": "many one-and-done customers",
        "definition": "share of customers observed >= 180 days with no repeat purchase",
    },
    "top15_revenue_share": {
        "value": 0.54,
        "report": 0.50,
        "definition": "revenue share of the top 15% of customers by revenue",
    },
}


def _truth(cal, n, seed, messy, events_per_customer, orders, lines, customers) -> dict[str, Any]:
    """The planted parameters and what the stages report about them (all but messy_counts, catalog, latent)."""
    n_formula, n_f_elig = lines.stroller["n_formula"], lines.stroller["n_eligible"]
    return {
        "period": cal.truth(),
        "n_customers": n,
        "seed": int(seed),
        "messy": messy,
        "events_per_customer": float(events_per_customer),
        "bgnbd": {
            **BGNBD,
            "time_unit": "weeks",
            "anchor": "each customer's first purchase; T runs to the period end",
            "counting": "frequency = number of distinct later purchase days",
            "orders_moved": orders.n_moved,
            "orders_dropped": orders.n_dropped,
        },
        "gamma_gamma": {
            **GAMMA_GAMMA,
            "mean_order_value": GAMMA_GAMMA["p"] * GAMMA_GAMMA["gamma"] / (GAMMA_GAMMA["q"] - 1.0),
        },
        "targets": {k: dict(v) for k, v in _TARGETS.items()},
        "repurchase_cycle_days": dict(CYCLES),
        "cross_sell": {"cosmetics_to_personal_care": PC_GIVEN_COSMETICS},
        "associations": {
            "sunscreen=>umbrella": {"confidence": SUNSCREEN_UMBRELLA, "level": "order, product_name"},
            "umbrella_alone": UMBRELLA_ALONE,
            "baby_formula=>stroller": {
                "share": FORMULA_STROLLER,
                "window_days": FORMULA_WINDOW,
                "eligible_share": (n_f_elig / n_formula) if n_formula else float("nan"),
                "stroller_probability_if_eligible": lines.stroller["p_stroller"],
                "n_formula_buyers": int(n_formula),
            },
            "gifts=>home_decor": {
                "base": GIFT_DECOR[0],
                "festival": GIFT_DECOR[1],
                "lift": GIFT_DECOR[1] / GIFT_DECOR[0],
                "gift_share_base": GIFT_P[0],
                "gift_share_festival": GIFT_P[1],
                "level": "order, category",
            },
        },
        "festivals": cal.festivals,
        "seasonality": {
            "sunscreen": dict(zip(range(1, 13), SUNSCREEN_BY_MONTH, strict=True)),
            "down_jacket": dict(zip(range(1, 13), DOWN_JACKET_BY_MONTH, strict=True)),
        },
        "order_channel_shares": dict(zip(ORDER_CHANNELS, ORDER_CHANNEL_P, strict=True)),
        "order_channel_stickiness": CHANNEL_STICKINESS,
        "funnel": dict(FUNNEL),
        "roi": dict(ROI),
        "acquisition_channel_shares": dict(zip(ACQ_CHANNELS, ACQ_P, strict=True)),
        "customers": {
            "age_bands": {b[0]: (b[1], b[2], b[3]) for b in AGE_BANDS},
            "age_core": {"ages": (28, 35), "customer_share": AGE_BANDS[0][3], "revenue_share": AGE_CORE_REVENUE},
            "city_tiers": dict(TIERS),
            "top_tiers": {"tiers": ("tier1", "new_tier1"), "revenue_share": TOP_TIERS_REVENUE},
            "occupations": dict(OCCUPATIONS),
            "regions": dict(REGIONS),
            "female_share": FEMALE_SHARE,
        },
        "high_value": customers.high_value_truth(),
        "complaint_topics": dict(COMPLAINT_TOPICS),
        "complaint_keywords": {k: list(v_) for k, v_ in COMPLAINT_KEYWORDS.items()},
        "rating_shares": dict(zip(range(1, 6), RATING_P, strict=True)),
    }
