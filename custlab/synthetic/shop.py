"""Synthetic e-commerce shop with known, planted parameters.

:func:`make_shop` builds the five canonical tables of custlab's data contract
(``transactions``, ``customers``, ``events``, ``marketing_spend``,
``reviews``) for a made-up Chinese online shop. The figures are calibrated to
those of Chinese e-commerce analytics reports, so that a demo has something
real-looking to find, and every generating parameter is returned in
``Shop.truth``, so that a test can check that a method recovers what was
planted. The same ``seed`` gives identical frames; everything is vectorised
numpy (no loop per customer or per order): time and memory grow linearly,
100k customers (~440k order lines) take about a second, and 2.35M customers
give ~10M order lines in well under a minute (about 5 GB at the peak). At the
default settings a customer has 2.9 orders and 4.4 order lines on average.

Time line
---------
The period runs from ``start`` (00:00) for ``months`` calendar months; its end
(``truth["period"]["end"]``) is exclusive. Customers are acquired across the
whole period: the day of a customer's first purchase is drawn with a weight
that grows linearly from 1 to 1.5 over the period and is multiplied by 1.8 on
the days of the festival windows (below). ``signup_date`` is the first
purchase minus a short delay (1-30 minutes for 40% of customers, else
exponential with a mean of 3 days; never before ``start``).

Purchases: an exact BG/NBD process (``truth["bgnbd"]``)
------------------------------------------------------
Fader, Hardie & Lee (2005), in **weeks**, anchored at each customer's first
purchase and observed until the period end:

* each customer's purchase rate ``lambda ~ Gamma(shape=r, rate=alpha)``
  (repeat purchases per week while alive), ``r = 0.3``, ``alpha = 2.0``
  (mean 0.15 purchases a week, very skewed: most customers hardly ever come
  back, about 8% buy more than once a fortnight);
* after each *repeat* purchase the customer drops out for good with
  probability ``p ~ Beta(a, b)``, ``a = 1.0``, ``b = 2.0`` (mean 1/3);
* repeat purchases follow a Poisson process of rate ``lambda`` while alive.

The continuous times are put on calendar days with one order per customer per
day: an order that would fall on a day the customer already ordered on moves
to the next free day (and is dropped if that is past the end; about 2% of
orders move, 0.02% are dropped). This keeps the counts per *distinct day*
(what ``lifetimes`` and custlab count) an honest BG/NBD: a BetaGeoFitter fit on
frequency = repeat purchase days, recency and T in weeks from the first
purchase recovers ``r, alpha, a, b`` within a few percent on 200k customers.
The time of day of each order follows a typical Chinese e-commerce profile
(evening peak 20-23 h, late-morning peak, trough 2-6 h).

The churn figures are *consequences* of these four numbers, not a second
mechanism (``truth["targets"]`` lists them with their definitions):

* **~70% of customers silent for 90 days never return**: of the first
  90-day silences (a purchase followed by 90 days without one, beginning at
  least 180 days before the end), about 71% are followed by no purchase
  before the end. Two things make them final: the dropout ``p`` (a third of
  the customers leave after each repeat purchase) and the mass of
  ``lambda`` near zero (``r < 1``): those customers are alive but too slow to
  return within the period.
* **churn is concentrated in the 30 days after the first purchase**: of the
  customers who have churned (last purchase at least 90 days before the end,
  observed at least 180 days), about 58% made their last purchase within
  30 days of their first, far more than in any later 30-day bin (mostly
  one-and-done customers: 36% of the customers observed for at least 180
  days never buy again).
* **value concentration**: the top 15% of customers by revenue bring about
  54% of it (the report figure is ~50%; with ``r = 0.3`` the frequency
  heterogeneity alone nearly gets there, and a less heterogeneous spend
  (q = 9) would push ``lifetimes``' Gamma-Gamma fit to convergence trouble).

Those are properties of the planted process, so they are not exact in a
given shop: ``truth["targets"]`` gives each report figure, the value the
process gives in expectation at the default 24 months (measured on 200k
customers, several seeds) and its definition.

Order value: an exact Gamma-Gamma model (``truth["gamma_gamma"]``)
-----------------------------------------------------------------
Each customer has ``nu ~ Gamma(shape=q, rate=gamma)`` and each order's total
is ``z ~ Gamma(shape=p, rate=nu)`` (independent of the purchase process),
``p = 4``, ``q = 6``, ``gamma = 250``, so the mean order value is
``p * gamma / (q - 1) = 200`` (yuan). The order total is split into its
lines: a line of a product fixed by a planted rule (sunscreen, umbrella,
formula, stroller) gets about its list price (at most 80% of the total
together), the other lines share the rest by their category's typical value
(with noise) and then pick a product of their category whose list price
suits that value. ``quantity`` is the line value over the list price (rounded,
1..20) and ``unit_price`` the line value over the quantity: the price paid,
within about 0.7-1.3 times the list price of ``truth["catalog"]`` for most
lines (rule products in small orders are paid less). ``amount = quantity *
unit_price`` exactly, and the order total equals ``z`` to the cent. The
order's lines are a choice of basket, never of value: the ``z`` of a customer
stay iid Gamma.

Baskets: what is in an order
----------------------------
* **Repurchase cycles** (``truth["repurchase_cycle_days"]``): cosmetics 25,
  food 20, personal care 35, baby formula 21 days; electronics 270, home 210
  days (6-12 months). A customer "into" a category (a chance that depends on
  gender) buys it at a random one of their orders, then at the order closest
  to ``last + cycle * J`` (``J`` log-normal, sigma 0.12, cut at 2 sigma)
  within +-35% of the cycle, and so on, while the customer still orders
  after the latest such window; otherwise the customer is lost to the
  category (so a dropout or the period end never cuts a window short). These
  chains are the only purchases of those categories, so the median number of
  days between consecutive purchase days of a category (per customer, pooled)
  is the planted cycle (measured: within a day for the short cycles, within
  about 2% for the long ones on 200k customers).
* **Cross-buying**: exactly 60% (to rounding) of the cosmetics buyers also
  buy personal care (``truth["cross_sell"]``); their personal-care cycle
  starts in the same order as the cosmetics one. 15% of the other customers
  buy personal care too.
* **sunscreen => umbrella**: a sunscreen line is added to an order with a
  monthly probability (``truth["seasonality"]["sunscreen"]``, peak June-August)
  and an umbrella joins exactly 65% (to rounding) of those baskets (umbrellas
  are otherwise rare: 0.4% of the other orders). So the rule
  ``{sunscreen} => {umbrella}`` on ``product_name`` (baskets = ``order_id``) has
  confidence 0.65 and a lift near 28.
* **baby formula then stroller**: 50% (to rounding) of the formula buyers
  buy a stroller 1 to 90 days after their first formula purchase, in a later
  order (the biggest one in that window). Formula buyers are drawn more often
  among customers who have such a later order (10% against 3%), and the
  strollers go to enough of those to make the share over *all* formula
  buyers 0.5 (all of them if there are too few, e.g. in a short period;
  ``truth["associations"]`` says how many were eligible). No one else buys a
  stroller.
* **gifts with home decor before festivals**: gifts are added to 4% of the
  orders (10% in festival windows); 30% of the gift baskets hold home decor,
  36% (20% more) in the festival windows (exact shares, to rounding)
  (``truth["festivals"]``: the 28 days up to and including Chinese New Year
  and Double 11, Nov 11; Chinese New Year is tabulated for 2000-2040, outside
  which only Double 11 is used). Outside gift baskets, home decor is a free
  pick.
* **Seasonality**: sunscreen peaks in summer; among apparel, down jackets
  sell from October to February (``truth["seasonality"]``).
* Orders without any of the above get one free pick (apparel 65%, home
  decor 20%, outdoor 15%), and 20% of all orders get a second one. Formula
  orders get other baby products 40% of the time. Repeated products within
  an order are merged into one line.

Customers (``customers`` table; assigned after the purchases)
-------------------------------------------------------------
Demographics are drawn so that the *revenue* figures hold: a Gaussian copula
on the customer's revenue rank, with its correlation solved in each shop so
that the stated revenue share comes out exactly (customer shares are exact
counts). ``truth["customers"]`` holds every share:

* age: 25-39 70% (28-35, the core, 40% of customers and 45% of revenue),
  40-49 20%, 18-24 7%, 50-59 3%;
* city tier: tier1 18%, new_tier1 22%, tier2 27%, tier3+ 33%; tier1 and
  new_tier1 together bring 65% of the revenue;
* occupation: white_collar 35%, freelancer 22%, student 18% (the youngest),
  blue_collar 10%, civil_servant 8%, other 5%, retired 2% (the oldest);
* gender: 57% female (drawn first; women are more often into cosmetics,
  men into electronics);
* region: independent of the rest; acquisition channel: live_stream 25%,
  community 18%, sms 12%, search 15%, organic 30%, independent of value.

Value tiers (``truth["high_value"]``)
-------------------------------------
The planted high-value group is the 15% of customers with the highest
*expected* revenue over their window given their latent ``lambda, p, nu``
(``truth["latent"]``): ``(1 + E[repeats]) * p / nu`` with ``E[repeats] =
(1 - exp(-lambda p T)) / p``. Its realised revenue share (about 48%) and that
of the realised top 15% (about 54%) are in ``truth["high_value"]``; about two
thirds of the group is in the realised top 15%.

Channels, funnel and marketing
------------------------------
* Orders: app 80%, mini_program 12%, web 8% (each customer has a preferred
  channel used for 85% of their orders; the marginal shares are exact in
  expectation).
* ``events`` is a sampled behaviour log (``events_per_customer`` events a
  customer on average, in proportion to 1 + the customer's number of
  orders), between sign-up and the period end: one product and channel per
  session, exposure -> click 30%, click -> cart 15%, cart -> pay 10%
  (independent conditional step rates, ``truth["funnel"]``). It is not tied
  to the orders.
* ROI (``truth["roi"]``): live_stream 8, community 5, sms 1.2, search 3
  (organic is unpaid). ROI of channel c = total clean revenue in the period
  of the customers whose ``acquisition_channel`` is c, divided by the total
  ``spend`` on c over the period. Monthly spend follows that month's
  sign-ups through the channel (plus a floor, with noise); the totals are
  scaled so that the ROI holds exactly (to rounding to the cent).

Reviews
-------
About 20% of the orders get a review (1..15 days after the order, within the
period) of one of their products. Ratings 5/4/3/2/1: 55/24/10/5/6%. Texts are
short English sentences; a negative one (rating <= 2) is about exactly one
topic: logistics 45%, size 30%, customer service 25%
(``truth["complaint_topics"]``; each topic's texts contain one of
``truth["complaint_keywords"][topic]`` and no keyword of another topic).

Messy data (``messy``)
----------------------
With ``messy = m > 0``, the transactions get (exact counts in
``truth["messy_counts"]``; ``n_orders`` and ``n_lines`` are those of the clean
data):

* ``round(0.10 m n_orders)`` cancelled orders: each of their lines repeated
  with negative quantity and amount, same order_id, 1-72 hours later;
* ``round(0.10 m n_orders)`` other orders whose lines lose their
  ``customer_id`` (null);
* ``round(0.05 m n_lines)`` exact duplicates of distinct clean lines;
* ``round(0.02 m n_orders)`` zero-price lines (a free sample of a catalogue
  product, quantity 1, amount 0) added to existing orders;
* ``round(0.20 m n_orders)`` postage lines (``product_id`` "POST",
  ``product_name`` "postage", category "postage", 6-12 yuan) added to
  existing orders;
* ``max(1, round(0.005 m n_lines))`` copies of lines of orders with a known
  customer, dated 1-400 days after the period end under new order ids.

Dropping these rows (and the cancelled orders) gives back the clean lines of
the orders that kept their customer. With ``messy = 0`` the data are clean,
and the clean part never depends on ``messy`` (or on ``events_per_customer``):
all the other truth figures refer to the clean data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from scipy.special import ndtri

from custlab.exceptions import CustlabError

__all__ = ["Shop", "make_shop"]

# ----------------------------------------------------------------------------
# Planted parameters
# ----------------------------------------------------------------------------
_BGNBD = {"r": 0.3, "alpha": 2.0, "a": 1.0, "b": 2.0}
_GG = {"p": 4.0, "q": 6.0, "gamma": 250.0}

_ORDER_CHANNELS = ("app", "mini_program", "web")
_ORDER_CHANNEL_P = (0.80, 0.12, 0.08)
_CHANNEL_STICKINESS = 0.85

_ACQ_CHANNELS = ("live_stream", "community", "sms", "search", "organic")
_ACQ_P = (0.25, 0.18, 0.12, 0.15, 0.30)
_ROI = {"live_stream": 8.0, "community": 5.0, "sms": 1.2, "search": 3.0}

_FUNNEL = {"exposure_to_click": 0.30, "click_to_cart": 0.15, "cart_to_pay": 0.10}
_EVENT_NAMES = ("exposure", "click", "cart", "pay")

# (name, first age, last age, customer share); listed from the highest-value
# band down: the copula gives the top of the revenue ranking to the first.
_AGE_BANDS = (
    ("28-35", 28, 35, 0.40),
    ("36-39", 36, 39, 0.16),
    ("25-27", 25, 27, 0.14),
    ("40-49", 40, 49, 0.20),
    ("18-24", 18, 24, 0.07),
    ("50-59", 50, 59, 0.03),
)
_AGE_CORE_REVENUE = 0.45
_TIERS = (("tier1", 0.18), ("new_tier1", 0.22), ("tier2", 0.27), ("tier3+", 0.33))
_TOP_TIERS_REVENUE = 0.65
_OCCUPATIONS = (
    ("white_collar", 0.35),
    ("freelancer", 0.22),
    ("student", 0.18),
    ("blue_collar", 0.10),
    ("civil_servant", 0.08),
    ("other", 0.05),
    ("retired", 0.02),
)
_REGIONS = (
    ("east", 0.38),
    ("south", 0.20),
    ("north", 0.14),
    ("central", 0.12),
    ("southwest", 0.09),
    ("northeast", 0.04),
    ("northwest", 0.03),
)
_FEMALE_SHARE = 0.57
_HIGH_VALUE_SHARE = 0.15

# Catalogue: (category, product name, list price, popularity weight, free)
# "free" products can be picked by value for a line of their category; the
# others only enter through a planted rule.
_CATALOG = (
    ("cosmetics", "cotton_pads", 9.9, 1.5, True),
    ("cosmetics", "lipstick", 199.0, 3.0, True),
    ("cosmetics", "foundation", 299.0, 2.0, True),
    ("cosmetics", "face_cream", 399.0, 2.0, True),
    ("cosmetics", "serum", 599.0, 1.5, True),
    ("cosmetics", "mascara", 129.0, 1.5, True),
    ("cosmetics", "facial_mask", 89.0, 3.0, True),
    ("cosmetics", "toner", 159.0, 2.0, True),
    ("personal_care", "tissues", 12.9, 2.0, True),
    ("personal_care", "shampoo", 69.0, 3.0, True),
    ("personal_care", "body_wash", 49.0, 2.5, True),
    ("personal_care", "toothpaste", 29.0, 3.0, True),
    ("personal_care", "hand_cream", 39.0, 1.5, True),
    ("personal_care", "razor", 129.0, 1.0, True),
    ("personal_care", "electric_toothbrush", 299.0, 1.0, True),
    ("food", "candy", 9.9, 1.5, True),
    ("food", "instant_noodles", 29.0, 3.0, True),
    ("food", "nuts", 59.0, 2.5, True),
    ("food", "coffee_beans", 89.0, 2.0, True),
    ("food", "milk", 69.0, 2.5, True),
    ("food", "tea", 129.0, 1.5, True),
    ("food", "rice", 79.0, 1.5, True),
    ("food", "snack_box", 99.0, 2.0, True),
    ("electronics", "usb_cable", 15.9, 2.0, True),
    ("electronics", "phone_charger", 49.0, 2.5, True),
    ("electronics", "earbuds", 199.0, 2.0, True),
    ("electronics", "power_bank", 129.0, 2.0, True),
    ("electronics", "keyboard", 299.0, 1.0, True),
    ("electronics", "smartwatch", 1299.0, 1.0, True),
    ("electronics", "tablet", 2999.0, 0.7, True),
    ("electronics", "phone", 3999.0, 0.8, True),
    ("electronics", "laptop", 6999.0, 0.5, True),
    ("home", "hanger_set", 19.9, 1.5, True),
    ("home", "storage_box", 59.0, 2.0, True),
    ("home", "towel_set", 79.0, 2.0, True),
    ("home", "kettle", 149.0, 1.5, True),
    ("home", "bedsheet_set", 299.0, 1.5, True),
    ("home", "cookware_set", 499.0, 1.0, True),
    ("home", "vacuum_cleaner", 1299.0, 0.7, True),
    ("home", "air_purifier", 1999.0, 0.5, True),
    ("home_decor", "sticker_set", 12.9, 1.5, True),
    ("home_decor", "photo_frame", 59.0, 2.0, True),
    ("home_decor", "cushion", 79.0, 2.0, True),
    ("home_decor", "scented_candle", 89.0, 2.0, True),
    ("home_decor", "vase", 129.0, 1.5, True),
    ("home_decor", "wall_art", 199.0, 1.0, True),
    ("gifts", "red_envelopes", 19.0, 1.5, True),
    ("gifts", "greeting_cards", 29.0, 1.5, True),
    ("gifts", "chocolate_box", 159.0, 2.0, True),
    ("gifts", "gift_box", 199.0, 2.0, True),
    ("gifts", "tea_gift_set", 399.0, 1.0, True),
    ("apparel", "socks", 19.9, 2.0, True),
    ("apparel", "t_shirt", 99.0, 3.0, True),
    ("apparel", "jeans", 259.0, 2.0, True),
    ("apparel", "sweater", 299.0, 1.5, True),
    ("apparel", "dress", 399.0, 1.5, True),
    ("apparel", "sneakers", 499.0, 1.5, True),
    ("apparel", "down_jacket", 899.0, 1.5, True),
    ("baby", "baby_formula", 199.0, 1.0, False),
    ("baby", "stroller", 399.0, 1.0, False),
    ("baby", "diapers", 159.0, 2.0, True),
    ("baby", "baby_wipes", 39.0, 1.5, True),
    ("baby", "baby_bottle", 89.0, 1.0, True),
    ("outdoor", "sunscreen", 129.0, 1.0, False),
    ("outdoor", "umbrella", 79.0, 1.0, False),
    ("outdoor", "keychain_light", 15.9, 1.0, True),
    ("outdoor", "sunglasses", 199.0, 1.5, True),
    ("outdoor", "water_bottle", 69.0, 2.0, True),
    ("outdoor", "sun_hat", 59.0, 1.5, True),
)
_CAT_PREFIX = {
    "cosmetics": "COS",
    "personal_care": "PER",
    "food": "FOD",
    "electronics": "ELE",
    "home": "HOM",
    "home_decor": "DEC",
    "gifts": "GFT",
    "apparel": "APP",
    "baby": "BAB",
    "outdoor": "OUT",
}
_CATEGORIES = tuple(_CAT_PREFIX)
# typical line value of a category, used to split an order's total
_CAT_WEIGHT = {
    "cosmetics": 200.0,
    "personal_care": 70.0,
    "food": 70.0,
    "electronics": 500.0,
    "home": 250.0,
    "home_decor": 110.0,
    "gifts": 180.0,
    "apparel": 280.0,
    "baby": 150.0,
    "outdoor": 100.0,
}

# Repurchase cycles (days) of the chain categories / products; the median
# inter-purchase days per customer and category.
_CYCLES = {
    "cosmetics": 25.0,
    "food": 20.0,
    "personal_care": 35.0,
    "electronics": 270.0,
    "home": 210.0,
    "baby_formula": 21.0,
}
_CYCLE_WINDOW = 0.35
_CYCLE_SIGMA = 0.12
# probability that a customer is into a chain category: (female, male)
_AFFINITY = {
    "cosmetics": (0.55, 0.10),
    "food": (0.45, 0.40),
    "electronics": (0.30, 0.55),
    "home": (0.35, 0.25),
}
_PC_GIVEN_COSMETICS = 0.60
_PC_OTHERS = 0.15
_FORMULA_AFFINITY = (0.10, 0.03)  # with / without a later order within 90 days
_FORMULA_STROLLER = 0.50
_FORMULA_WINDOW = (1, 90)
_DIAPERS_WITH_FORMULA = 0.40

_SUNSCREEN_BY_MONTH = (0.004, 0.004, 0.008, 0.015, 0.035, 0.08, 0.10, 0.08, 0.03, 0.01, 0.005, 0.004)
_SUNSCREEN_UMBRELLA = 0.65
_UMBRELLA_ALONE = 0.004
_DOWN_JACKET_BY_MONTH = (3.0, 2.0, 0.5, 0.05, 0.02, 0.02, 0.02, 0.02, 0.2, 1.5, 3.0, 3.5)
_GIFT_P = (0.04, 0.10)  # outside / inside festival windows
_GIFT_DECOR = (0.30, 0.36)
_FESTIVAL_WINDOW_DAYS = 28
_FESTIVAL_ACQ_BOOST = 1.8
_FREE_CATS = ("apparel", "home_decor", "outdoor")
_FREE_P = (0.65, 0.20, 0.15)
_SECOND_FREE = 0.20

_REVIEW_P = 0.20
_RATING_P = (0.06, 0.05, 0.10, 0.24, 0.55)  # ratings 1..5
_COMPLAINT_TOPICS = (("logistics", 0.45), ("size", 0.30), ("customer_service", 0.25))
_COMPLAINT_KEYWORDS = {
    "logistics": ("delivery", "courier", "package", "shipping"),
    "size": ("size", "sizing", "too small", "too big"),
    "customer_service": ("customer service", "seller", "refund"),
}
_TEXTS = {
    "logistics": (
        "Delivery took forever, almost two weeks.",
        "The package arrived crushed and dirty.",
        "Courier lost my parcel for days.",
        "Shipping was very slow and nobody told me why.",
        "Terrible delivery, the box was open when it came.",
        "The courier left the package in the rain.",
    ),
    "size": (
        "The size is wrong, much too small.",
        "Sizing chart is misleading, it runs too big.",
        "Way too small, had to send it back.",
        "Wrong size again, it does not fit at all.",
        "The size is not as described.",
    ),
    "customer_service": (
        "Customer service never answered my messages.",
        "The seller was rude and ignored me.",
        "Asked for a refund twice, still nothing.",
        "Customer service kept giving me copy-paste answers.",
        "The seller refused a refund for a faulty item.",
    ),
    "neutral": (
        "It's okay, nothing special.",
        "Average quality for the price.",
        "Works as expected, not great not bad.",
        "Fine, but I expected a bit more.",
    ),
    "positive": (
        "Great quality, will buy again!",
        "Love it, exactly as pictured.",
        "Good value for money.",
        "Very happy with this purchase.",
        "Excellent, my family likes it too.",
        "Nice product, works perfectly.",
        "Fast and good, recommended.",
    ),
}

_HOUR_WEIGHTS = np.array(
    [3.5, 2.0, 1.0, 0.6, 0.4, 0.4, 0.8, 1.8, 3.0, 4.0, 5.0, 5.5,
     5.0, 4.5, 4.5, 4.5, 4.5, 4.5, 5.0, 6.0, 7.5, 8.5, 8.0, 6.0]
)

# messy rates at messy = 1
_MESSY_RATES = {
    "cancelled_orders": 0.10,
    "missing_customer_orders": 0.10,
    "duplicate_lines": 0.05,
    "zero_price_lines": 0.02,
    "postage_lines": 0.20,
    "future_lines": 0.005,
}

# Chinese New Year (Spring Festival) dates.
_CNY = {
    2000: (2, 5), 2001: (1, 24), 2002: (2, 12), 2003: (2, 1), 2004: (1, 22),
    2005: (2, 9), 2006: (1, 29), 2007: (2, 18), 2008: (2, 7), 2009: (1, 26),
    2010: (2, 14), 2011: (2, 3), 2012: (1, 23), 2013: (2, 10), 2014: (1, 31),
    2015: (2, 19), 2016: (2, 8), 2017: (1, 28), 2018: (2, 16), 2019: (2, 5),
    2020: (1, 25), 2021: (2, 12), 2022: (2, 1), 2023: (1, 22), 2024: (2, 10),
    2025: (1, 29), 2026: (2, 17), 2027: (2, 6), 2028: (1, 26), 2029: (2, 13),
    2030: (2, 3), 2031: (1, 23), 2032: (2, 11), 2033: (1, 31), 2034: (2, 19),
    2035: (2, 8), 2036: (1, 28), 2037: (2, 15), 2038: (2, 4), 2039: (1, 24),
    2040: (2, 12),
}

_US_PER_DAY = 86_400_000_000
_US_PER_SEC = 1_000_000
_EPOCH = dt.datetime(1970, 1, 1)


# ----------------------------------------------------------------------------
# Shop
# ----------------------------------------------------------------------------
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
    """

    transactions: pl.DataFrame
    customers: pl.DataFrame
    events: pl.DataFrame
    marketing_spend: pl.DataFrame
    reviews: pl.DataFrame
    truth: dict[str, Any] = field(repr=False)

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
        return {
            "transactions": self.transactions,
            "customers": self.customers,
            "events": self.events,
            "marketing_spend": self.marketing_spend,
            "reviews": self.reviews,
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


# ----------------------------------------------------------------------------
# Argument handling
# ----------------------------------------------------------------------------
def _is_int(x: object) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _is_real(x: object) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(
        x, (bool, np.bool_)
    )


def _parse_start(start: object) -> dt.date:
    if isinstance(start, dt.datetime):
        return start.date()
    if isinstance(start, dt.date):
        return start
    if isinstance(start, str):
        for parse in (dt.date.fromisoformat, lambda t: dt.datetime.fromisoformat(t).date()):
            try:
                return parse(start.strip())
            except ValueError:
                pass
    raise CustlabError(
        f"start must be a date such as '2023-01-01' (an ISO 'YYYY-MM-DD' string, "
        f"datetime.date or datetime.datetime), got {start!r}"
    )


def _validate(
    n_customers: object, start: object, months: object, seed: object, messy: object,
    events_per_customer: object,
) -> dt.date:
    if not _is_int(n_customers) or int(n_customers) <= 0:  # type: ignore[call-overload]
        raise CustlabError(f"n_customers must be a positive integer, got {n_customers!r}")
    if not _is_int(months) or int(months) < 1:  # type: ignore[call-overload]
        raise CustlabError(f"months must be an integer >= 1, got {months!r}")
    if not _is_int(seed) or int(seed) < 0:  # type: ignore[call-overload]
        raise CustlabError(f"seed must be a non-negative integer, got {seed!r}")
    if not _is_real(messy) or not (0.0 <= float(messy) < 1.0):  # type: ignore[arg-type]
        raise CustlabError(f"messy must be a number in [0, 1), got {messy!r}")
    if (
        not _is_real(events_per_customer)
        or not np.isfinite(float(events_per_customer))  # type: ignore[arg-type]
        or float(events_per_customer) < 0  # type: ignore[arg-type]
    ):
        raise CustlabError(
            f"events_per_customer must be a non-negative number, got {events_per_customer!r}"
        )
    d = _parse_start(start)
    if d.year < 1971 or d.year > 9000:
        raise CustlabError(f"start must be a date between 1971 and 9000, got {start!r}")
    return d


def _add_months(d: dt.date, months: int) -> dt.date:
    y, m = divmod(d.month - 1 + months, 12)
    y += d.year
    m += 1
    nxt = dt.date(y + (m == 12), m % 12 + 1, 1)
    last_day = (nxt - dt.timedelta(days=1)).day
    return dt.date(y, m, min(d.day, last_day))


def _to_us(d: dt.date) -> int:
    return (d - _EPOCH.date()).days * _US_PER_DAY


def _festivals(start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    out = []
    for year in range(start.year, end.year + 2):
        days = []
        if year in _CNY:
            days.append(("chinese_new_year", dt.date(year, *_CNY[year])))
        days.append(("double_11", dt.date(year, 11, 11)))
        for name, day in days:
            w_start = day - dt.timedelta(days=_FESTIVAL_WINDOW_DAYS - 1)
            w_end = day + dt.timedelta(days=1)
            if w_end > start and w_start < end:
                out.append(
                    {
                        "name": name,
                        "date": day,
                        "window_start": dt.datetime.combine(w_start, dt.time()),
                        "window_end": dt.datetime.combine(w_end, dt.time()),
                    }
                )
    out.sort(key=lambda f: f["date"])
    return out


def _exact_counts(shares: np.ndarray, n: int) -> np.ndarray:
    """Largest-remainder integer counts summing to n."""
    raw = np.asarray(shares, dtype=float) / np.sum(shares) * n
    counts = np.floor(raw).astype(np.int64)
    rest = n - counts.sum()
    if rest > 0:
        counts[np.argsort(-(raw - counts), kind="stable")[:rest]] += 1
    return counts


def _exact_pick(rng: np.random.Generator, mask: np.ndarray, share: float) -> np.ndarray:
    """Exactly ``round(share * mask.sum())`` (at most all) random True among ``mask``."""
    idx = np.flatnonzero(mask)
    k = min(idx.size, int(round(min(max(share, 0.0), 1.0) * idx.size)))
    out = np.zeros(mask.size, dtype=bool)
    out[rng.choice(idx, size=k, replace=False)] = True
    return out


def _segment_index(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Owner index and rank within the segment for segments of given sizes."""
    total = int(counts.sum())
    owner = np.repeat(np.arange(counts.size), counts)
    starts = np.cumsum(counts) - counts
    rank = np.arange(total) - np.repeat(starts, counts)
    return owner, rank


def _strings(values: tuple[str, ...] | list[str], codes: np.ndarray) -> pl.Series:
    return pl.Series(list(values), dtype=pl.String).gather(np.asarray(codes, dtype=np.int64))


# ----------------------------------------------------------------------------
# Purchase process
# ----------------------------------------------------------------------------
def _simulate_purchases(
    rng: np.random.Generator, n: int, ndays: int, day_weights: np.ndarray
) -> dict[str, np.ndarray]:
    r, alpha, a, b = _BGNBD["r"], _BGNBD["alpha"], _BGNBD["a"], _BGNBD["b"]
    lam = rng.gamma(r, 1.0 / alpha, n)  # per week
    p = np.clip(rng.beta(a, b, n), 1e-12, 1.0)
    d0 = rng.choice(ndays, size=n, p=day_weights)
    t0 = d0 + rng.random(n)  # days since start
    T = (ndays - t0) / 7.0  # weeks
    N = rng.poisson(lam * T)
    K = rng.geometric(p)  # dies after the K-th repeat purchase
    x = np.minimum(N, K)
    dead = K <= N
    # first x of N uniform order statistics on (0, T): exponential spacings
    tot = int(x.sum())
    e = rng.standard_exponential(tot)
    cs = np.concatenate([[0.0], np.cumsum(e)])
    xs = np.cumsum(x)
    starts = xs - x
    base = cs[starts]
    owner, rank = _segment_index(x)
    S = cs[1:] - base[owner]
    Sx = cs[xs] - base
    Stot = Sx + rng.standard_gamma(N - x + 1.0)
    rep_t = t0[owner] + 7.0 * T[owner] * S / Stot[owner]
    # layout per customer: first purchase then the repeats
    cnt = x + 1
    ofs = np.cumsum(cnt) - cnt
    times = np.empty(int(cnt.sum()))
    times[ofs] = t0
    times[ofs[owner] + 1 + rank] = rep_t
    cust = np.repeat(np.arange(n), cnt)
    day = np.floor(times).astype(np.int64)
    # one order per customer per day: d'_j = max(d_j, d'_{j-1} + 1)
    j = np.arange(times.size) - ofs[cust]
    big = ndays + int(cnt.max()) + 2
    v = np.maximum.accumulate(day - j + cust * big)
    day2 = v - cust * big + j
    keep = day2 < ndays
    return {
        "lam": lam,
        "p": p,
        "t0": t0,
        "T": T,
        "dead": dead,
        "n_moved": int(np.count_nonzero(day2[keep] != day[keep])),
        "n_dropped": int(np.count_nonzero(~keep)),
        "o_cust": cust[keep],
        "o_day": day2[keep],
    }


def _chain(
    rng: np.random.Generator,
    start_idx: np.ndarray,
    cycle: float,
    keys: np.ndarray,
    o_cust: np.ndarray,
    o_day: np.ndarray,
    last_day: np.ndarray,
    big: int,
) -> np.ndarray:
    """Orders hit by a repurchase chain started at ``start_idx``.

    The next purchase is the order closest to ``last + cycle * J`` (``J``
    log-normal, truncated to two sigmas) within +-``_CYCLE_WINDOW * cycle``.
    A chain only goes on for a customer who still orders after the latest
    possible window (a rule that does not depend on ``J``): otherwise a
    dropout or the period end would cut windows short on the right and bias
    the gaps down. So the gaps are symmetric around the cycle, whose value
    is their median.
    """
    width = _CYCLE_WINDOW * cycle
    reach = cycle * np.exp(2.0 * _CYCLE_SIGMA) + width
    out = [start_idx]
    cur = start_idx
    n = keys.size
    while cur.size:
        d = o_day[cur]
        jit = np.clip(rng.standard_normal(cur.size), -2.0, 2.0)
        tau = d + cycle * np.exp(_CYCLE_SIGMA * jit)
        ti = np.minimum(np.maximum(np.rint(tau).astype(np.int64), d + 1), big - 1)
        c = o_cust[cur]
        i1 = np.searchsorted(keys, c * big + ti)
        i0 = i1 - 1  # >= cur because ti > d
        i1c = np.minimum(i1, n - 1)
        dist1 = np.abs(o_day[i1c] - tau)
        dist0 = np.abs(o_day[i0] - tau)
        seen = last_day[c] >= d + reach
        ok1 = seen & (i1 < n) & (o_cust[i1c] == c) & (dist1 <= width)
        ok0 = seen & (i0 > cur) & (dist0 <= width)
        pick1 = ok1 & (~ok0 | (dist1 < dist0))
        nxt = np.where(pick1, i1c, i0)
        cur = nxt[ok1 | ok0]
        out.append(cur)
    return np.concatenate(out)


def _price_penalty(log_ratio: np.ndarray) -> np.ndarray:
    """Log-weight penalty of a product for a line value: log(value / list).

    A product dearer than the line value is penalised hard (it would sell far
    below its list price); a cheaper one mildly (the quantity makes up).
    """
    over = np.minimum(log_ratio, 0.0) / 0.25
    under = np.maximum(log_ratio, 0.0) / 1.2
    return 0.5 * (over * over + under * under)


def _random_order_of(rng: np.random.Generator, cust: np.ndarray, ofs: np.ndarray, cnt: np.ndarray) -> np.ndarray:
    return ofs[cust] + np.floor(rng.random(cust.size) * cnt[cust]).astype(np.int64)


# ----------------------------------------------------------------------------
# The generator
# ----------------------------------------------------------------------------
def make_shop(
    n_customers: int = 5000,
    *,
    start: str | dt.date = "2023-01-01",
    months: int = 24,
    seed: int = 0,
    messy: float = 0.0,
    events_per_customer: float = 4.0,
) -> Shop:
    """Generate a synthetic e-commerce shop with known planted parameters.

    The module docstring describes the generating process and every planted
    figure in detail.

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
    start_date = _validate(n_customers, start, months, seed, messy, events_per_customer)
    n = int(n_customers)
    months = int(months)
    messy = float(messy)
    end_date = _add_months(start_date, months)
    ndays = (end_date - start_date).days
    start_us = _to_us(start_date)
    end_us = _to_us(end_date)

    streams = np.random.SeedSequence(int(seed)).spawn(9)
    (rng_buy, rng_basket, rng_value, rng_demo, rng_chan, rng_events,
     rng_reviews, rng_spend, rng_messy) = (np.random.default_rng(s) for s in streams)

    # ---- calendar -----------------------------------------------------------
    day_dates = np.datetime64(start_date, "D") + np.arange(ndays)
    month_abs = day_dates.astype("datetime64[M]").astype(np.int64)
    month_of_day = (month_abs % 12).astype(np.int64)  # 0 = January
    month_idx_of_day = month_abs - month_abs[0]
    festivals = _festivals(start_date, end_date)
    in_festival = np.zeros(ndays, dtype=bool)
    for f in festivals:
        a0 = max((f["window_start"].date() - start_date).days, 0)
        a1 = min((f["window_end"].date() - start_date).days, ndays)
        in_festival[a0:a1] = True
    day_w = (1.0 + 0.5 * np.arange(ndays) / max(ndays - 1, 1)) * np.where(
        in_festival, _FESTIVAL_ACQ_BOOST, 1.0
    )
    day_w /= day_w.sum()

    # ---- purchases (BG/NBD) ---------------------------------------------------
    sim = _simulate_purchases(rng_buy, n, ndays, day_w)
    o_cust, o_day = sim["o_cust"], sim["o_day"]
    n_orders = o_cust.size
    cnt = np.bincount(o_cust, minlength=n)
    ofs = np.cumsum(cnt) - cnt
    big = ndays + 1
    keys = o_cust * big + o_day
    last_day = o_day[ofs + cnt - 1]
    hours = rng_buy.choice(24, size=n_orders, p=_HOUR_WEIGHTS / _HOUR_WEIGHTS.sum())
    o_sec = hours * 3600 + rng_buy.integers(0, 3600, n_orders)
    o_us = start_us + o_day * _US_PER_DAY + o_sec * _US_PER_SEC
    o_month = month_of_day[o_day]
    o_fest = in_festival[o_day]

    # ---- order totals (Gamma-Gamma), drawn before the baskets -----------------
    nu = rng_value.gamma(_GG["q"], 1.0 / _GG["gamma"], n)
    z = rng_value.gamma(_GG["p"], 1.0 / nu[o_cust])

    # ---- customers' gender and affinities ----------------------------------
    female = rng_basket.random(n) < _FEMALE_SHARE
    lines_order: list[np.ndarray] = []
    lines_cat: list[np.ndarray] = []
    lines_prod: list[np.ndarray] = []
    cat_code = {c: i for i, c in enumerate(_CATEGORIES)}
    prod_names = [p[1] for p in _CATALOG]
    prod_code = {name: i for i, name in enumerate(prod_names)}

    def add_lines(orders: np.ndarray, category: str, product: str | None = None) -> None:
        lines_order.append(orders.astype(np.int64))
        lines_cat.append(np.full(orders.size, cat_code[category], dtype=np.int64))
        lines_prod.append(np.full(orders.size, -1 if product is None else prod_code[product], dtype=np.int64))

    has_chain = np.zeros(n_orders, dtype=bool)
    all_cust = np.arange(n)
    chain_starts: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for cat in ("cosmetics", "food", "electronics", "home"):
        pf, pm = _AFFINITY[cat]
        into = rng_basket.random(n) < np.where(female, pf, pm)
        starts_ = _random_order_of(rng_basket, all_cust[into], ofs, cnt)
        hit = _chain(rng_basket, starts_, _CYCLES[cat], keys, o_cust, o_day, last_day, big)
        add_lines(hit, cat)
        has_chain[hit] = True
        chain_starts[cat] = (into, starts_)
    cosmetics_buyers, cos_starts = chain_starts["cosmetics"]
    cos_start = np.full(n, -1, dtype=np.int64)
    cos_start[cosmetics_buyers] = cos_starts
    # personal care: 60% of cosmetics buyers (same starting order), 15% of others
    pc_into = _exact_pick(rng_basket, cosmetics_buyers, _PC_GIVEN_COSMETICS) | (
        ~cosmetics_buyers & (rng_basket.random(n) < _PC_OTHERS)
    )
    pc_c = all_cust[pc_into]
    pc_start = np.where(
        cosmetics_buyers[pc_c], cos_start[pc_c], _random_order_of(rng_basket, pc_c, ofs, cnt)
    )
    hit = _chain(rng_basket, pc_start, _CYCLES["personal_care"], keys, o_cust, o_day, last_day, big)
    add_lines(hit, "personal_care")
    has_chain[hit] = True

    # baby formula: a chain; formula buyers favour customers with a later
    # order within 90 days, whose stroller probability is solved for 50%.
    nxt_gap = np.full(n_orders, np.iinfo(np.int64).max)
    same_next = np.zeros(n_orders, dtype=bool)
    if n_orders > 1:
        same_next[:-1] = o_cust[1:] == o_cust[:-1]
        nxt_gap[:-1] = np.where(same_next[:-1], o_day[1:] - o_day[:-1], nxt_gap[:-1])
    lo, hi = _FORMULA_WINDOW
    elig_order = same_next & (nxt_gap >= lo) & (nxt_gap <= hi)
    n_elig_orders = np.bincount(o_cust[elig_order], minlength=n)
    has_elig = n_elig_orders > 0
    formula_into = rng_basket.random(n) < np.where(has_elig, *_FORMULA_AFFINITY)
    f_c = all_cust[formula_into]
    # start: a random eligible order for customers who have one, else any order
    elig_idx = np.flatnonzero(elig_order)
    elig_ofs = np.cumsum(n_elig_orders) - n_elig_orders
    u_fs = rng_basket.random(f_c.size)
    f_start = np.where(
        has_elig[f_c],
        elig_idx[np.minimum(elig_ofs[f_c] + np.floor(u_fs * n_elig_orders[f_c]).astype(np.int64),
                            max(elig_idx.size - 1, 0))] if elig_idx.size else 0,
        ofs[f_c] + np.floor(u_fs * cnt[f_c]).astype(np.int64),
    )
    hit = _chain(rng_basket, f_start, _CYCLES["baby_formula"], keys, o_cust, o_day, last_day, big)
    add_lines(hit, "baby", "baby_formula")
    has_chain[hit] = True
    diapers = hit[rng_basket.random(hit.size) < _DIAPERS_WITH_FORMULA]
    add_lines(diapers, "baby")
    f_elig = elig_order[f_start]
    n_formula = f_c.size
    n_f_elig = int(f_elig.sum())
    buy_stroller = _exact_pick(rng_basket, f_elig, _FORMULA_STROLLER * n_formula / max(n_f_elig, 1))
    p_stroller = float(buy_stroller.sum() / n_f_elig) if n_f_elig else 0.0
    sf = f_start[buy_stroller]
    # first order beyond the window (capped at the customer's own key range)
    last_ok = np.searchsorted(keys, o_cust[sf] * big + np.minimum(o_day[sf] + hi, ndays), side="right")
    # the stroller goes into the biggest of the candidate orders (a choice of
    # basket, not of order values: the z stay iid Gamma)
    n_cand = last_ok - sf - 1
    cand_owner, cand_rank = _segment_index(n_cand)
    cand = sf[cand_owner] + 1 + cand_rank
    best = np.lexsort((-z[cand], cand_owner))
    seg_first = np.cumsum(n_cand) - n_cand
    stroller_orders = cand[best[seg_first]]
    add_lines(stroller_orders, "baby", "stroller")
    has_chain[stroller_orders] = True

    # seasonal and festival extras
    sunscreen = rng_basket.random(n_orders) < np.asarray(_SUNSCREEN_BY_MONTH)[o_month]
    umbrella = _exact_pick(rng_basket, sunscreen, _SUNSCREEN_UMBRELLA) | (
        ~sunscreen & (rng_basket.random(n_orders) < _UMBRELLA_ALONE)
    )
    gift = rng_basket.random(n_orders) < np.where(o_fest, _GIFT_P[1], _GIFT_P[0])
    decor_with_gift = _exact_pick(rng_basket, gift & ~o_fest, _GIFT_DECOR[0]) | _exact_pick(
        rng_basket, gift & o_fest, _GIFT_DECOR[1]
    )
    add_lines(np.flatnonzero(sunscreen), "outdoor", "sunscreen")
    add_lines(np.flatnonzero(umbrella), "outdoor", "umbrella")
    add_lines(np.flatnonzero(gift), "gifts")
    add_lines(np.flatnonzero(decor_with_gift), "home_decor")
    has_any = has_chain | sunscreen | umbrella | gift
    # free picks: one for orders with nothing yet, a second one for 20%
    n_free = (~has_any).astype(np.int64) + (rng_basket.random(n_orders) < _SECOND_FREE)
    free_orders = np.repeat(np.arange(n_orders), n_free)
    fp = np.asarray(_FREE_P)
    fp_nodecor = np.where(np.asarray(_FREE_CATS) == "home_decor", 0.0, fp)
    fp_nodecor /= fp_nodecor.sum()
    u_free = rng_basket.random(free_orders.size)
    fc = np.where(
        gift[free_orders],
        np.searchsorted(np.cumsum(fp_nodecor), u_free, side="right"),
        np.searchsorted(np.cumsum(fp), u_free, side="right"),
    )
    fc = np.minimum(fc, len(_FREE_CATS) - 1)
    for k, cat in enumerate(_FREE_CATS):
        add_lines(free_orders[fc == k], cat)

    l_order = np.concatenate(lines_order)
    l_cat = np.concatenate(lines_cat)
    l_prod = np.concatenate(lines_prod)
    for parts_ in (lines_order, lines_cat, lines_prod):
        parts_.clear()

    # ---- order values (Gamma-Gamma) and products ------------------------------
    cat_w = np.array([_CAT_WEIGHT[c] for c in _CATEGORIES])
    list_price = np.array([p[2] for p in _CATALOG])
    popularity = np.array([p[3] for p in _CATALOG])
    prod_cat = np.array([cat_code[p[0]] for p in _CATALOG])
    prod_free = np.array([p[4] for p in _CATALOG])
    # Split each order's total z over its lines. Lines of a fixed product
    # (planted rules) get about their list price (scaled down if they would
    # take more than 80% of z); the other lines share the rest by the
    # category's typical value, with noise, and then pick a product that
    # suits their value.
    fixed = l_prod >= 0
    base_w = np.where(fixed, list_price[np.maximum(l_prod, 0)], cat_w[l_cat])
    w = base_w * rng_value.gamma(4.0, 0.25, l_order.size)
    fixed_sum = np.bincount(l_order, weights=np.where(fixed, w, 0.0), minlength=n_orders)
    free_sum = np.bincount(l_order, weights=np.where(fixed, 0.0, w), minlength=n_orders)
    has_free = free_sum > 0
    fixed_total = np.where(has_free, np.minimum(fixed_sum, 0.8 * z), z)
    w_sum = np.where(fixed, fixed_sum[l_order], free_sum[l_order])
    share_total = np.where(fixed, fixed_total[l_order], (z - fixed_total)[l_order])
    v = share_total * w / w_sum
    season = np.ones((len(_CATALOG), 12))
    season[prod_code["down_jacket"]] = _DOWN_JACKET_BY_MONTH
    l_month = o_month[l_order]
    log_season = np.log(season)
    log_pop = np.log(popularity)
    for k, cat in enumerate(_CATEGORIES):
        sel = np.flatnonzero((l_cat == k) & (l_prod < 0))
        prods = np.flatnonzero((prod_cat == k) & prod_free)
        if sel.size == 0:
            continue
        lp = np.log(list_price[prods])
        for c0 in range(0, sel.size, 1_000_000):
            s = sel[c0 : c0 + 1_000_000]
            score = (
                log_pop[prods][None, :]
                + log_season[prods][:, l_month[s]].T
                - _price_penalty(np.log(v[s])[:, None] - lp[None, :])
                + rng_value.gumbel(size=(s.size, prods.size))
            )
            l_prod[s] = prods[np.argmax(score, axis=1)]
    # merge repeated products within an order
    n_codes = len(_CATALOG) + 1
    srt = np.argsort(l_order * n_codes + l_prod)
    l_order, l_prod, v = l_order[srt], l_prod[srt], v[srt]
    new = np.ones(l_order.size, dtype=bool)
    new[1:] = (l_order[1:] != l_order[:-1]) | (l_prod[1:] != l_prod[:-1])
    grp = np.cumsum(new) - 1
    v = np.bincount(grp, weights=v)
    l_order, l_prod = l_order[new], l_prod[new]
    l_cat = prod_cat[l_prod]
    qty = np.clip(np.rint(v / list_price[l_prod]), 1, 20).astype(np.int64)
    unit = np.round(v / qty, 2)
    amount = np.round(qty * unit, 2)
    n_lines = l_order.size
    del srt, new, grp, w, base_w, w_sum, v, l_month

    # ---- order channel and ids ------------------------------------------------
    chan_p = np.asarray(_ORDER_CHANNEL_P)
    pref = rng_chan.choice(len(_ORDER_CHANNELS), size=n, p=chan_p)
    other = rng_chan.choice(len(_ORDER_CHANNELS), size=n_orders, p=chan_p)
    o_chan = np.where(rng_chan.random(n_orders) < _CHANNEL_STICKINESS, pref[o_cust], other)
    chrono = np.argsort(((o_us - start_us) // _US_PER_SEC) * n + o_cust)
    o_id = np.empty(n_orders, dtype=np.int64)
    o_id[chrono] = np.arange(1, n_orders + 1)

    # ---- revenue, demographics (copula on revenue rank) ------------------------
    revenue = np.bincount(o_cust[l_order], weights=amount, minlength=n)
    total_rev = revenue.sum()
    rank_u = np.empty(n)
    rank_u[np.argsort(revenue, kind="stable")] = (np.arange(n) + 0.5) / n
    z_rev = ndtri(rank_u)

    def copula_order(top_share: float, target: float) -> np.ndarray:
        """Customers ordered from the top of a copula score whose top
        ``top_share`` of customers brings ``target`` of the revenue."""
        eps = rng_demo.standard_normal(n)
        k = int(round(top_share * n))

        def share(rho: float) -> float:
            s = rho * z_rev + np.sqrt(1.0 - rho * rho) * eps
            top = np.argpartition(-s, k - 1)[:k]
            return float(revenue[top].sum() / total_rev)

        rho = 0.0
        if 0 < k < n:
            lo_, hi_ = -0.999, 0.999
            for _ in range(30):
                rho = 0.5 * (lo_ + hi_)
                got = share(rho)
                if abs(got - target) < 2e-4:
                    break
                if got < target:
                    lo_ = rho
                else:
                    hi_ = rho
        s = rho * z_rev + np.sqrt(1.0 - rho * rho) * eps
        return np.argsort(-s, kind="stable")

    def assign(order: np.ndarray, shares: np.ndarray) -> np.ndarray:
        counts = _exact_counts(shares, n)
        out = np.empty(n, dtype=np.int64)
        out[order] = np.repeat(np.arange(len(shares)), counts)
        return out

    age_shares = np.array([b[3] for b in _AGE_BANDS])
    band = assign(copula_order(age_shares[0], _AGE_CORE_REVENUE), age_shares)
    lo_age = np.array([b[1] for b in _AGE_BANDS])
    hi_age = np.array([b[2] for b in _AGE_BANDS])
    age = lo_age[band] + np.floor(rng_demo.random(n) * (hi_age[band] - lo_age[band] + 1)).astype(np.int64)
    tier_shares = np.array([t[1] for t in _TIERS])
    tier = assign(copula_order(tier_shares[0] + tier_shares[1], _TOP_TIERS_REVENUE), tier_shares)
    occ_names = [o[0] for o in _OCCUPATIONS]
    occ_counts = _exact_counts(np.array([o[1] for o in _OCCUPATIONS]), n)
    occ = np.full(n, -1, dtype=np.int64)
    young_first = np.argsort(age + rng_demo.normal(0.0, 4.0, n), kind="stable")
    n_student = occ_counts[occ_names.index("student")]
    occ[young_first[:n_student]] = occ_names.index("student")
    old_first = np.argsort(-(age + rng_demo.normal(0.0, 2.0, n)), kind="stable")
    old_first = old_first[occ[old_first] < 0]
    occ[old_first[: occ_counts[occ_names.index("retired")]]] = occ_names.index("retired")
    rest_codes = [i for i, o in enumerate(occ_names) if o not in ("student", "retired")]
    free_slots = rng_demo.permutation(np.flatnonzero(occ < 0))
    occ[free_slots] = np.repeat(rest_codes, occ_counts[rest_codes])
    region = rng_demo.choice(len(_REGIONS), size=n, p=[r_[1] for r_ in _REGIONS])
    acq = rng_demo.choice(len(_ACQ_CHANNELS), size=n, p=_ACQ_P)
    first_us = o_us[ofs]
    delay_us = np.where(
        rng_demo.random(n) < 0.4,
        rng_demo.integers(60, 1800, n) * _US_PER_SEC,
        (rng_demo.exponential(3.0 * 86400, n)).astype(np.int64) * _US_PER_SEC,
    )
    signup_us = np.maximum(first_us - delay_us, start_us)
    cust_ids = np.arange(1, n + 1, dtype=np.int64)

    # ---- value tiers --------------------------------------------------------
    lam, pdrop, T = sim["lam"], sim["p"], sim["T"]
    mean_spend = _GG["p"] / nu
    lp = lam * pdrop * T
    exp_repeats = np.where(lp > 1e-9, -np.expm1(-lp) / pdrop, lam * T)
    exp_rev = (1.0 + exp_repeats) * mean_spend
    k_hv = max(1, int(round(_HIGH_VALUE_SHARE * n)))
    hv = np.argsort(-exp_rev, kind="stable")[:k_hv]
    top_real = np.sort(revenue)[::-1][:k_hv].sum() / total_rev

    # ---- marketing spend -----------------------------------------------------
    n_months = int(month_idx_of_day[-1]) + 1
    first_month = day_dates[0].astype("datetime64[M]")
    signup_day = (signup_us - start_us) // _US_PER_DAY
    signup_month = month_idx_of_day[np.clip(signup_day, 0, ndays - 1)]
    paid = list(_ROI)
    spend_rows_m, spend_rows_c, spend_vals = [], [], []
    for ci, ch in enumerate(_ACQ_CHANNELS):
        if ch not in _ROI:
            continue
        sel = acq == ci
        su = np.bincount(signup_month[sel], minlength=n_months).astype(float)
        raw = (su + 0.2 * su.mean()) * rng_spend.lognormal(0.0, 0.1, n_months)
        rev_c = revenue[sel].sum()
        target = rev_c / _ROI[ch]
        spend = raw / raw.sum() * target if raw.sum() > 0 else np.zeros(n_months)
        spend_rows_m.append(np.arange(n_months))
        spend_rows_c.append(np.full(n_months, paid.index(ch)))
        spend_vals.append(np.round(spend, 2))
    sm = np.concatenate(spend_rows_m)
    sc = np.concatenate(spend_rows_c)
    sv = np.concatenate(spend_vals)
    srt = np.lexsort((sc, sm))
    month_dates = (first_month + sm[srt]).astype("datetime64[D]")
    marketing_spend = pl.DataFrame(
        {
            "month": pl.Series(month_dates.astype(np.int64).astype(np.int32)).cast(pl.Date),
            "channel": _strings(paid, sc[srt]),
            "spend": pl.Series(sv[srt], dtype=pl.Float64),
        }
    )

    # ---- events ---------------------------------------------------------------
    act = 1.0 + cnt
    mean_events_per_session = 1.0 + _FUNNEL["exposure_to_click"] * (
        1.0 + _FUNNEL["click_to_cart"] * (1.0 + _FUNNEL["cart_to_pay"])
    )
    sess_mean = float(events_per_customer) / mean_events_per_session
    n_sess = rng_events.poisson(sess_mean * act / act.mean())
    s_cust = np.repeat(np.arange(n), n_sess)
    S = s_cust.size
    lo_us = signup_us[s_cust]
    hi_us = np.maximum(end_us - 3600 * _US_PER_SEC, lo_us + 1)
    s_start = lo_us + (rng_events.random(S) * (hi_us - lo_us) / _US_PER_SEC).astype(np.int64) * _US_PER_SEC
    click = rng_events.random(S) < _FUNNEL["exposure_to_click"]
    cart = click & (rng_events.random(S) < _FUNNEL["click_to_cart"])
    pay = cart & (rng_events.random(S) < _FUNNEL["cart_to_pay"])
    s_chan = rng_events.choice(len(_ORDER_CHANNELS), size=S, p=chan_p)
    s_prod = rng_events.choice(len(_CATALOG), size=S, p=popularity / popularity.sum())
    span_s = (end_us - start_us) // _US_PER_SEC + 1
    srt = np.argsort(s_cust * span_s + (s_start - start_us) // _US_PER_SEC, kind="stable")
    s_cust, s_start, click, cart, pay, s_chan, s_prod = (
        a_[srt] for a_ in (s_cust, s_start, click, cart, pay, s_chan, s_prod)
    )
    steps = 1 + click.astype(np.int64) + cart + pay
    e_sess, e_step = _segment_index(steps)
    gap_mean = np.array([0.0, 25.0, 60.0, 90.0])[e_step]
    gaps = ((rng_events.exponential(1.0, e_sess.size) * gap_mean).astype(np.int64) + (e_step > 0)) * _US_PER_SEC
    cg = np.cumsum(gaps)
    sess_first = np.cumsum(steps) - steps
    e_time = s_start[e_sess] + (cg - (cg[sess_first] - gaps[sess_first])[e_sess])
    events = pl.DataFrame(
        {
            "customer_id": pl.Series(cust_ids[s_cust[e_sess]], dtype=pl.Int64),
            "event_time": pl.Series(e_time, dtype=pl.Int64).cast(pl.Datetime("us")),
            "event": _strings(_EVENT_NAMES, e_step),
            "session_id": pl.Series(e_sess + 1, dtype=pl.Int64),
            "channel": _strings(_ORDER_CHANNELS, s_chan[e_sess]),
            "product_id": _strings(_product_ids(), s_prod[e_sess]),
        }
    )

    del e_sess, e_step, e_time, gaps, cg, gap_mean, s_cust, s_start, s_chan, s_prod
    del click, cart, pay, lo_us, hi_us

    # ---- reviews ---------------------------------------------------------------
    rv_orders = np.flatnonzero(rng_reviews.random(n_orders) < _REVIEW_P)
    lines_per_order = np.bincount(l_order, minlength=n_orders)
    first_line = np.cumsum(lines_per_order) - lines_per_order
    rv_line = first_line[rv_orders] + np.floor(
        rng_reviews.random(rv_orders.size) * lines_per_order[rv_orders]
    ).astype(np.int64)
    rv_us = o_us[rv_orders] + (rng_reviews.uniform(1.0, 15.0, rv_orders.size) * 86400).astype(np.int64) * _US_PER_SEC
    rating = rng_reviews.choice(5, size=rv_orders.size, p=_RATING_P) + 1
    topic_names = [t[0] for t in _COMPLAINT_TOPICS]
    topic = rng_reviews.choice(3, size=rv_orders.size, p=[t[1] for t in _COMPLAINT_TOPICS])
    text_pool: list[str] = []
    pool_ofs = {}
    for key in (*topic_names, "neutral", "positive"):
        pool_ofs[key] = (len(text_pool), len(_TEXTS[key]))
        text_pool.extend(_TEXTS[key])
    kind = np.where(rating <= 2, topic, np.where(rating == 3, 3, 4))
    kinds = (*topic_names, "neutral", "positive")
    kofs = np.array([pool_ofs[k][0] for k in kinds])
    klen = np.array([pool_ofs[k][1] for k in kinds])
    text_code = kofs[kind] + np.floor(rng_reviews.random(kind.size) * klen[kind]).astype(np.int64)
    keep = rv_us < end_us
    srt = np.flatnonzero(keep)[np.argsort(rv_us[keep], kind="stable")]
    reviews = pl.DataFrame(
        {
            "customer_id": pl.Series(cust_ids[o_cust[rv_orders[srt]]], dtype=pl.Int64),
            "review_date": pl.Series(rv_us[srt], dtype=pl.Int64).cast(pl.Datetime("us")),
            "rating": pl.Series(rating[srt], dtype=pl.Int64),
            "order_id": pl.Series(o_id[rv_orders[srt]], dtype=pl.Int64),
            "product_id": _strings(_product_ids(), l_prod[rv_line[srt]]),
            "text": _strings(text_pool, text_code[srt]),
        }
    )

    # ---- transactions (clean, then the mess) -------------------------------------
    # clean lines in chronological order: orders by id, products within
    lpo = np.bincount(l_order, minlength=n_orders)
    first_l = np.cumsum(lpo) - lpo
    _, within = _segment_index(lpo[chrono])
    tx_perm = np.repeat(first_l[chrono], lpo[chrono]) + within
    t_order = l_order[tx_perm]
    t_cust = cust_ids[o_cust[t_order]].astype(np.float64)  # NaN marks a missing id
    t_oid = o_id[t_order]
    t_us = o_us[t_order]
    t_prod = l_prod[tx_perm]
    t_qty = qty[tx_perm]
    t_unit = unit[tx_perm]
    t_amount = amount[tx_perm]
    t_chan = o_chan[t_order]
    mc = {k: 0 for k in (
        "cancelled_orders", "cancellation_lines", "missing_customer_orders",
        "missing_customer_lines", "duplicate_lines", "zero_price_lines",
        "postage_lines", "future_lines", "added_lines",
    )}
    post_code = len(_CATALOG)
    if messy > 0:
        rm = rng_messy
        k_cancel = int(round(messy * _MESSY_RATES["cancelled_orders"] * n_orders))
        k_null = int(round(messy * _MESSY_RATES["missing_customer_orders"] * n_orders))
        k_null = min(k_null, n_orders - k_cancel)
        perm = rm.permutation(n_orders)
        cancel_o = np.zeros(n_orders, dtype=bool)
        cancel_o[perm[:k_cancel]] = True
        null_o = np.zeros(n_orders, dtype=bool)
        null_o[perm[k_cancel : k_cancel + k_null]] = True
        # exact duplicates of clean lines
        k_dup = int(round(messy * _MESSY_RATES["duplicate_lines"] * n_lines))
        dup = rm.choice(n_lines, size=k_dup, replace=False)
        # cancellations
        cl = np.flatnonzero(cancel_o[t_order])
        c_delay = rm.integers(3600, 72 * 3600, k_cancel) * _US_PER_SEC
        c_delay_o = np.zeros(n_orders, dtype=np.int64)
        c_delay_o[perm[:k_cancel]] = c_delay
        c_us = np.minimum(t_us[cl] + c_delay_o[t_order[cl]], end_us - _US_PER_SEC)
        # zero-price samples and postage
        k_zero = int(round(messy * _MESSY_RATES["zero_price_lines"] * n_orders))
        z_ord = rm.choice(n_orders, size=k_zero, replace=False)
        z_prod = rm.choice(np.flatnonzero(prod_free), size=k_zero)
        k_post = int(round(messy * _MESSY_RATES["postage_lines"] * n_orders))
        p_ord = rm.choice(n_orders, size=k_post, replace=False)
        p_fee = rm.choice(np.array([6.0, 8.0, 10.0, 12.0]), size=k_post)
        # lines dated after the end, under new order ids
        k_fut = max(1, int(round(messy * _MESSY_RATES["future_lines"] * n_lines)))
        known = np.flatnonzero(~null_o[t_order])  # keep the count of orders without customer exact
        f_line = rm.choice(known if known.size else np.arange(n_lines), size=k_fut, replace=True)
        f_us = end_us + rm.integers(86400, 400 * 86400, k_fut) * _US_PER_SEC
        f_oid = n_orders + 1 + np.arange(k_fut)

        ocust = cust_ids[o_cust].astype(np.float64)
        ocust[null_o] = np.nan
        t_cust = ocust[t_order]
        parts = {
            "cust": [t_cust, t_cust[cl], ocust[z_ord], ocust[p_ord], t_cust[f_line]],
            "oid": [t_oid, t_oid[cl], o_id[z_ord], o_id[p_ord], f_oid],
            "us": [t_us, c_us, o_us[z_ord], o_us[p_ord], f_us],
            "prod": [t_prod, t_prod[cl], z_prod, np.full(k_post, post_code), t_prod[f_line]],
            "qty": [t_qty, -t_qty[cl], np.ones(k_zero, np.int64), np.ones(k_post, np.int64), t_qty[f_line]],
            "unit": [t_unit, t_unit[cl], np.zeros(k_zero), p_fee, t_unit[f_line]],
            "amount": [t_amount, -t_amount[cl], np.zeros(k_zero), p_fee, t_amount[f_line]],
            "chan": [t_chan, t_chan[cl], o_chan[z_ord], o_chan[p_ord], t_chan[f_line]],
        }
        for key_ in parts:
            arr = np.concatenate(parts[key_])
            parts[key_] = [np.concatenate([arr, arr[dup]])]  # duplicates of clean lines
        t_cust, t_oid, t_us, t_prod, t_qty, t_unit, t_amount, t_chan = (
            parts[k_][0] for k_ in ("cust", "oid", "us", "prod", "qty", "unit", "amount", "chan")
        )
        mc.update(
            cancelled_orders=k_cancel,
            cancellation_lines=int(cl.size),
            missing_customer_orders=k_null,
            missing_customer_lines=int(np.isnan(t_cust).sum()),
            duplicate_lines=k_dup,
            zero_price_lines=k_zero,
            postage_lines=k_post,
            future_lines=k_fut,
            added_lines=int(t_oid.size - n_lines),
        )
    srt = np.argsort(t_us, kind="stable") if messy > 0 else None
    ids = _product_ids() + ["POST"]
    names = prod_names + ["postage"]
    cats = [p[0] for p in _CATALOG] + ["postage"]
    del tx_perm, within, t_order

    def take(a_: np.ndarray) -> np.ndarray:
        return a_ if srt is None else a_[srt]

    t_cust = take(t_cust)
    missing = np.isnan(t_cust)
    cust_col = pl.Series("customer_id", np.where(missing, 0, t_cust).astype(np.int64), dtype=pl.Int64)
    if missing.any():
        cust_col.scatter(np.flatnonzero(missing), None)
    transactions = pl.DataFrame(
        {
            "customer_id": cust_col,
            "order_id": pl.Series(take(t_oid), dtype=pl.Int64),
            "order_date": pl.Series(take(t_us), dtype=pl.Int64).cast(pl.Datetime("us")),
            "amount": pl.Series(take(t_amount), dtype=pl.Float64),
            "product_id": _strings(ids, take(t_prod)),
            "product_name": _strings(names, take(t_prod)),
            "category": _strings(cats, take(t_prod)),
            "quantity": pl.Series(take(t_qty), dtype=pl.Int64),
            "unit_price": pl.Series(take(t_unit), dtype=pl.Float64),
            "channel": _strings(_ORDER_CHANNELS, take(t_chan)),
        }
    )

    customers = pl.DataFrame(
        {
            "customer_id": pl.Series(cust_ids, dtype=pl.Int64),
            "signup_date": pl.Series(signup_us, dtype=pl.Int64).cast(pl.Datetime("us")),
            "age": pl.Series(age, dtype=pl.Int64),
            "gender": _strings(("male", "female"), female.astype(np.int64)),
            "region": _strings([r_[0] for r_ in _REGIONS], region),
            "city_tier": _strings([t[0] for t in _TIERS], tier),
            "occupation": _strings(occ_names, occ),
            "acquisition_channel": _strings(_ACQ_CHANNELS, acq),
        }
    )

    catalog = pl.DataFrame(
        {
            "product_id": _product_ids(),
            "product_name": prod_names,
            "category": [p[0] for p in _CATALOG],
            "list_price": list_price,
        }
    )
    latent = pl.DataFrame(
        {
            "customer_id": pl.Series(cust_ids, dtype=pl.Int64),
            "lambda": lam,
            "p_dropout": pdrop,
            "nu": nu,
            "first_purchase": pl.Series(first_us, dtype=pl.Int64).cast(pl.Datetime("us")),
            "T_weeks": T,
            "dropped_out": sim["dead"],
            "expected_revenue": exp_rev,
        }
    )
    start_dt = dt.datetime.combine(start_date, dt.time())
    end_dt = dt.datetime.combine(end_date, dt.time())
    truth: dict[str, Any] = {
        "period": {"start": start_dt, "end": end_dt, "months": months, "days": ndays},
        "n_customers": n,
        "seed": int(seed),
        "messy": messy,
        "events_per_customer": float(events_per_customer),
        "bgnbd": {
            **_BGNBD,
            "time_unit": "weeks",
            "anchor": "each customer's first purchase; T runs to the period end",
            "counting": "frequency = number of distinct later purchase days",
            "orders_moved": sim["n_moved"],
            "orders_dropped": sim["n_dropped"],
        },
        "gamma_gamma": {
            **_GG,
            "mean_order_value": _GG["p"] * _GG["gamma"] / (_GG["q"] - 1.0),
        },
        "targets": {
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
        },
        "repurchase_cycle_days": dict(_CYCLES),
        "cross_sell": {"cosmetics_to_personal_care": _PC_GIVEN_COSMETICS},
        "associations": {
            "sunscreen=>umbrella": {"confidence": _SUNSCREEN_UMBRELLA, "level": "order, product_name"},
            "umbrella_alone": _UMBRELLA_ALONE,
            "baby_formula=>stroller": {
                "share": _FORMULA_STROLLER,
                "window_days": _FORMULA_WINDOW,
                "eligible_share": (n_f_elig / n_formula) if n_formula else float("nan"),
                "stroller_probability_if_eligible": p_stroller,
                "n_formula_buyers": int(n_formula),
            },
            "gifts=>home_decor": {
                "base": _GIFT_DECOR[0],
                "festival": _GIFT_DECOR[1],
                "lift": _GIFT_DECOR[1] / _GIFT_DECOR[0],
                "gift_share_base": _GIFT_P[0],
                "gift_share_festival": _GIFT_P[1],
                "level": "order, category",
            },
        },
        "festivals": festivals,
        "seasonality": {
            "sunscreen": dict(zip(range(1, 13), _SUNSCREEN_BY_MONTH)),
            "down_jacket": dict(zip(range(1, 13), _DOWN_JACKET_BY_MONTH)),
        },
        "order_channel_shares": {
            **dict(zip(_ORDER_CHANNELS, _ORDER_CHANNEL_P)),
        },
        "order_channel_stickiness": _CHANNEL_STICKINESS,
        "funnel": dict(_FUNNEL),
        "roi": dict(_ROI),
        "acquisition_channel_shares": dict(zip(_ACQ_CHANNELS, _ACQ_P)),
        "customers": {
            "age_bands": {b[0]: (b[1], b[2], b[3]) for b in _AGE_BANDS},
            "age_core": {"ages": (28, 35), "customer_share": _AGE_BANDS[0][3], "revenue_share": _AGE_CORE_REVENUE},
            "city_tiers": dict(_TIERS),
            "top_tiers": {"tiers": ("tier1", "new_tier1"), "revenue_share": _TOP_TIERS_REVENUE},
            "occupations": dict(_OCCUPATIONS),
            "regions": dict(_REGIONS),
            "female_share": _FEMALE_SHARE,
        },
        "high_value": {
            "customer_ids": cust_ids[np.sort(hv)],
            "customer_share": _HIGH_VALUE_SHARE,
            "revenue_share": float(revenue[hv].sum() / total_rev),
            "top15_revenue_share": float(top_real),
        },
        "complaint_topics": dict(_COMPLAINT_TOPICS),
        "complaint_keywords": {k: list(v_) for k, v_ in _COMPLAINT_KEYWORDS.items()},
        "rating_shares": dict(zip(range(1, 6), _RATING_P)),
        "messy_counts": mc,
        "catalog": catalog,
        "latent": latent,
    }
    return Shop(
        transactions=transactions,
        customers=customers,
        events=events,
        marketing_spend=marketing_spend,
        reviews=reviews,
        truth=truth,
    )


def _product_ids() -> list[str]:
    return [f"{_CAT_PREFIX[c]}-{name.upper()}" for c, name, *_ in _CATALOG]
