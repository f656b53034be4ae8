"""Every planted parameter of the synthetic shop, and the random stream of each stage.

The generator (:func:`custlab.synthetic.make_shop`) reads its numbers from
here only; the figures a test should recover are returned in ``Shop.truth``
(see :mod:`custlab.synthetic.shop`). Changing a number here changes the shop
of every seed; adding a stage must not (next section).

Random streams
--------------
Each stage draws from its own child stream of ``np.random.SeedSequence(seed)``:
the stream called ``name`` is ``SeedSequence(seed, spawn_key=(STREAMS.index(name),))``,
which is what ``SeedSequence(seed).spawn(len(STREAMS))`` hands out in that
position. So the tables of a stage depend only on the seed, the arguments and
the stages it reads from, never on how many stages there are:

* a **new stage** (reviews with aspects, a randomised campaign, delivery
  dates, preference structure, ...) appends its own name at the END of
  :data:`STREAMS` and draws only from :func:`stage_rng` with that name;
* never reorder or remove a name, never draw from another stage's stream, and
  never change how many numbers an existing stage draws;
* ``tests/synthetic/test_pinned.py`` pins digests of the tables for three
  seeds, so any change to an existing table fails it.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

__all__ = [
    "ACQ_CHANNELS", "ACQ_P", "AFFINITY", "AGE_BANDS", "AGE_CORE_REVENUE", "BGNBD", "CATALOG", "CATEGORIES",
    "CAT_PREFIX", "CAT_WEIGHT", "CHANNEL_STICKINESS", "CNY", "COMPLAINT_KEYWORDS", "COMPLAINT_TOPICS", "CYCLES",
    "CYCLE_SIGMA", "CYCLE_WINDOW", "DIAPERS_WITH_FORMULA", "DOWN_JACKET_BY_MONTH", "EPOCH", "EVENT_NAMES",
    "FEMALE_SHARE", "FESTIVAL_ACQ_BOOST", "FESTIVAL_WINDOW_DAYS", "FORMULA_AFFINITY", "FORMULA_STROLLER",
    "FORMULA_WINDOW", "FREE_CATS", "FREE_P", "FUNNEL", "GAMMA_GAMMA", "GIFT_DECOR", "GIFT_P", "HIGH_VALUE_SHARE",
    "HOUR_WEIGHTS", "MESSY_RATES", "OCCUPATIONS", "ORDER_CHANNELS", "ORDER_CHANNEL_P", "PC_GIVEN_COSMETICS",
    "PC_OTHERS", "RATING_P", "REGIONS", "REVIEW_P", "ROI", "SECOND_FREE", "STREAMS", "SUNSCREEN_BY_MONTH",
    "SUNSCREEN_UMBRELLA", "TEXTS", "TIERS", "TOP_TIERS_REVENUE", "UMBRELLA_ALONE", "US_PER_DAY", "US_PER_SEC",
    "product_ids", "stage_rng",
]

#: The random stream of each stage, by position. Append new stages' names at the end; never reorder.
STREAMS: tuple[str, ...] = (
    "purchases",  # BG/NBD purchase times, hours of the day
    "baskets",  # gender, category chains, planted rules, free picks
    "values",  # Gamma-Gamma order totals, the split over lines, product choice
    "customers",  # demographics (copula), sign-up delays, acquisition channel
    "channels",  # order channels
    "events",  # behaviour log
    "reviews",  # reviews
    "marketing",  # marketing spend noise
    "messy",  # planted data problems
    "campaign",  # randomised win-back campaign (make_shop(campaign=True))
    "touches",  # marketing touch journeys (make_shop(touches=True))
    "voice",  # delivery dates, bilingual reviews, NPS survey (make_shop(voice=True))
    "demand",  # planted weekly demand panel for forecasting (custlab.synthetic.demand.make_demand)
)


def stage_rng(seed: int, name: str) -> np.random.Generator:
    """The random generator of the stage ``name``: its own child stream of ``SeedSequence(seed)``.

    >>> float(stage_rng(0, "purchases").random()) == float(np.random.default_rng(
    ...     np.random.SeedSequence(0).spawn(len(STREAMS))[0]).random())
    True
    """
    if name not in STREAMS:
        raise KeyError(f"no random stream named {name!r}; add it at the end of STREAMS in custlab/synthetic/params.py")
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(STREAMS.index(name),)))


#: BG/NBD purchase process, in weeks from each customer's first purchase (Fader, Hardie & Lee 2005):
#: purchase rate lambda ~ Gamma(shape=r, rate=alpha), dropout after each repeat purchase p ~ Beta(a, b).
BGNBD = {"r": 0.3, "alpha": 2.0, "a": 1.0, "b": 2.0}
#: Gamma-Gamma order value (yuan): nu ~ Gamma(shape=q, rate=gamma) per customer, each order total
#: z ~ Gamma(shape=p, rate=nu); mean order value p * gamma / (q - 1) = 200.
GAMMA_GAMMA = {"p": 4.0, "q": 6.0, "gamma": 250.0}

#: Channels an order is placed on, with their shares of the orders (exact in expectation).
ORDER_CHANNELS = ("app", "mini_program", "web")
ORDER_CHANNEL_P = (0.80, 0.12, 0.08)
#: Share of a customer's orders placed on their preferred channel (the rest: drawn afresh).
CHANNEL_STICKINESS = 0.85

#: Acquisition channels of the customers and their customer shares (independent of value).
ACQ_CHANNELS = ("live_stream", "community", "sms", "search", "organic")
ACQ_P = (0.25, 0.18, 0.12, 0.15, 0.30)
#: Planted ROI per paid channel: clean revenue over the period of the customers acquired through
#: the channel / the channel's total spend (organic is unpaid). Exact to the cent.
ROI = {"live_stream": 8.0, "community": 5.0, "sms": 1.2, "search": 3.0}

#: Independent conditional step rates of a session in the behaviour log.
FUNNEL = {"exposure_to_click": 0.30, "click_to_cart": 0.15, "cart_to_pay": 0.10}
#: The funnel's event names, in order.
EVENT_NAMES = ("exposure", "click", "cart", "pay")

#: (name, first age, last age, customer share); listed from the highest-value band down: the
#: copula gives the top of the revenue ranking to the first.
AGE_BANDS = (
    ("28-35", 28, 35, 0.40),
    ("36-39", 36, 39, 0.16),
    ("25-27", 25, 27, 0.14),
    ("40-49", 40, 49, 0.20),
    ("18-24", 18, 24, 0.07),
    ("50-59", 50, 59, 0.03),
)
#: Revenue share of the core band (28-35), solved exactly by the copula.
AGE_CORE_REVENUE = 0.45
#: City tiers and their customer shares (exact counts).
TIERS = (("tier1", 0.18), ("new_tier1", 0.22), ("tier2", 0.27), ("tier3+", 0.33))
#: Revenue share of tier1 + new_tier1 together, solved exactly by the copula.
TOP_TIERS_REVENUE = 0.65
#: Occupations and customer shares: students are the youngest, the retired the oldest.
OCCUPATIONS = (
    ("white_collar", 0.35),
    ("freelancer", 0.22),
    ("student", 0.18),
    ("blue_collar", 0.10),
    ("civil_servant", 0.08),
    ("other", 0.05),
    ("retired", 0.02),
)
#: Regions and customer shares (drawn independently of everything else).
REGIONS = (
    ("east", 0.38),
    ("south", 0.20),
    ("north", 0.14),
    ("central", 0.12),
    ("southwest", 0.09),
    ("northeast", 0.04),
    ("northwest", 0.03),
)
#: Share of women (drawn first; women are more often into cosmetics, men into electronics).
FEMALE_SHARE = 0.57
#: The planted high-value group: this share of customers with the highest expected revenue.
HIGH_VALUE_SHARE = 0.15

#: Catalogue: (category, product name, list price, popularity weight, free). "Free" products can be
#: picked by value for a line of their category; the others only enter through a planted rule.
CATALOG = (
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
#: product_id prefix of each category; the keys' order is the category order.
CAT_PREFIX = {
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
CATEGORIES = tuple(CAT_PREFIX)
#: Typical line value of a category, used to split an order's total over its lines.
CAT_WEIGHT = {
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

#: Repurchase cycles (days) of the chain categories and of baby formula: the planted median days
#: between consecutive purchase days per customer and category.
CYCLES = {
    "cosmetics": 25.0,
    "food": 20.0,
    "personal_care": 35.0,
    "electronics": 270.0,
    "home": 210.0,
    "baby_formula": 21.0,
}
#: A chain's next purchase is the order closest to last + cycle * J within +-CYCLE_WINDOW * cycle;
#: J is log-normal with sigma CYCLE_SIGMA, cut at 2 sigma.
CYCLE_WINDOW = 0.35
CYCLE_SIGMA = 0.12
#: Probability that a customer is into a chain category: (female, male).
AFFINITY = {
    "cosmetics": (0.55, 0.10),
    "food": (0.45, 0.40),
    "electronics": (0.30, 0.55),
    "home": (0.35, 0.25),
}
#: Exact share of cosmetics buyers who also buy personal care (same starting order).
PC_GIVEN_COSMETICS = 0.60
#: Probability that a customer who does not buy cosmetics buys personal care.
PC_OTHERS = 0.15
#: Probability of buying baby formula: with / without a later order within FORMULA_WINDOW days.
FORMULA_AFFINITY = (0.10, 0.03)
#: Exact share of formula buyers who buy a stroller FORMULA_WINDOW days after their first formula.
FORMULA_STROLLER = 0.50
FORMULA_WINDOW = (1, 90)
#: Share of formula orders that get another baby product.
DIAPERS_WITH_FORMULA = 0.40

#: Probability that an order holds sunscreen, January..December.
SUNSCREEN_BY_MONTH = (0.004, 0.004, 0.008, 0.015, 0.035, 0.08, 0.10, 0.08, 0.03, 0.01, 0.005, 0.004)
#: Exact share of sunscreen baskets holding an umbrella (rule confidence).
SUNSCREEN_UMBRELLA = 0.65
#: Probability of an umbrella in an order without sunscreen.
UMBRELLA_ALONE = 0.004
#: Relative weight of down jackets among apparel, January..December.
DOWN_JACKET_BY_MONTH = (3.0, 2.0, 0.5, 0.05, 0.02, 0.02, 0.02, 0.02, 0.2, 1.5, 3.0, 3.5)
#: Share of orders with gifts: outside / inside festival windows.
GIFT_P = (0.04, 0.10)
#: Exact share of gift baskets holding home decor: outside / inside festival windows.
GIFT_DECOR = (0.30, 0.36)
#: A festival window: the days up to and including Chinese New Year or Double 11.
FESTIVAL_WINDOW_DAYS = 28
#: Acquisition weight of a festival day against an ordinary one.
FESTIVAL_ACQ_BOOST = 1.8
#: Free picks for orders without a planted line (one, plus a second for SECOND_FREE of all orders).
FREE_CATS = ("apparel", "home_decor", "outdoor")
FREE_P = (0.65, 0.20, 0.15)
SECOND_FREE = 0.20

#: Share of orders reviewed (1..15 days later, within the period).
REVIEW_P = 0.20
#: Rating shares, ratings 1..5.
RATING_P = (0.06, 0.05, 0.10, 0.24, 0.55)
#: Topic shares among negative reviews (rating <= 2); each text is about exactly one topic.
COMPLAINT_TOPICS = (("logistics", 0.45), ("size", 0.30), ("customer_service", 0.25))
#: Keywords of each topic: a topic's texts hold one of its own and none of another topic's.
COMPLAINT_KEYWORDS = {
    "logistics": ("delivery", "courier", "package", "shipping"),
    "size": ("size", "sizing", "too small", "too big"),
    "customer_service": ("customer service", "seller", "refund"),
}
#: Review texts by kind.
TEXTS = {
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

#: Relative weight of each hour of the day (0..23) for order times: evening peak 20-23 h.
HOUR_WEIGHTS = (
    3.5, 2.0, 1.0, 0.6, 0.4, 0.4, 0.8, 1.8, 3.0, 4.0, 5.0, 5.5,
     5.0, 4.5, 4.5, 4.5, 4.5, 4.5, 5.0, 6.0, 7.5, 8.5, 8.0, 6.0,
)

#: Rates of the planted data problems at messy = 1 (see custlab.synthetic.messy).
MESSY_RATES = {
    "cancelled_orders": 0.10,
    "missing_customer_orders": 0.10,
    "duplicate_lines": 0.05,
    "zero_price_lines": 0.02,
    "postage_lines": 0.20,
    "future_lines": 0.005,
}

#: Chinese New Year (Spring Festival) dates; outside 2000-2040 only Double 11 is a festival.
CNY = {
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

#: Time units: timestamps are microseconds since EPOCH.
US_PER_DAY = 86_400_000_000
US_PER_SEC = 1_000_000
EPOCH = dt.datetime(1970, 1, 1)


def product_ids() -> list[str]:
    """The catalogue's product ids, in CATALOG order (e.g. "COS-LIPSTICK")."""
    return [f"{CAT_PREFIX[c]}-{name.upper()}" for c, name, *_ in CATALOG]


#: Stage "campaign" (make_shop(campaign=True)): a randomised win-back campaign among dormant customers,
#: planted +28% relative repurchase within 30 days among the treated (custlab/synthetic/campaign.py).
WIN_BACK = {
    "campaign_id": "win_back_1",
    "sent_at": 0.75,  # share of the period's days before the send (a midnight)
    "dormant_days": (90, 365),  # dormant: last order in [send - 365 days, send - 90 days)
    "treatment_share": 0.5,
    "within_days": 30,
    "relative_lift": 0.28,
    "max_weight_orders": 4,  # response weight min(orders before the send, 4)
    "response_delay_days": 7.0,  # mean of the truncated exponential delay of an induced order
    "cost_per_treated": 1.0,
    "channel": "sms",
    "offer": "20 off 200",
}

#: Stage "touches" (make_shop(touches=True)): journeys from a planted first-order Markov chain
#: (custlab/synthetic/touches.py). start -> channel and channel -> next channel with TOUCH_FIRST_P;
#: channel -> conversion with TOUCH_CONVERT_P; channel -> no conversion with TOUCH_DROP_P.
TOUCH_CHANNELS = ("live_stream", "community", "search", "organic", "sms")
TOUCH_FIRST_P = (0.22, 0.20, 0.22, 0.20, 0.16)
TOUCH_CONVERT_P = (0.24, 0.15, 0.08, 0.04, 0.015)
TOUCH_DROP_P = 0.45
TOUCH_MAX_STEPS = 30
TOUCH_GAP_DAYS = 2.0
TOUCH_UTM = {
    "live_stream": ("douyin", "live"), "community": ("wechat", "community"), "search": ("baidu", "cpc"),
    "organic": ("baidu", "organic"), "sms": ("sms", "sms"),
}
VISITOR_ID_START = 1_000_000_000

__all__ += [
    "TOUCH_CHANNELS", "TOUCH_CONVERT_P", "TOUCH_DROP_P", "TOUCH_FIRST_P", "TOUCH_GAP_DAYS", "TOUCH_MAX_STEPS",
    "TOUCH_UTM", "VISITOR_ID_START", "WIN_BACK",
]

#: Stage "voice" (make_shop(voice=True); custlab/synthetic/voice.py): delivery dates, bilingual reviews that
#: replace the plain ones, an NPS survey. Promised delivery days after the order day and the share of late
#: orders, per region (remote regions later and more often late).
VOICE_DELIVERY = {
    "east": (2, 0.08), "south": (2, 0.08), "north": (3, 0.10), "central": (3, 0.10),
    "southwest": (4, 0.20), "northeast": (4, 0.20), "northwest": (5, 0.25),
}
#: A late order arrives 1..4 days (uniform) after its promised day; an on-time one 1..promised days after the order.
VOICE_LATE_DAYS = (1, 4)
#: Share of delivered orders reviewed, 0..10 days after delivery (reviews past the period end are dropped).
VOICE_REVIEW_P = 0.20
#: Review language of a customer.
VOICE_LANGUAGES = (("zh", 0.7), ("en", 0.3))
#: Rating shares (1..5) of reviews of on-time and of late orders: means 4.27 and 3.52, a planted gap of 0.75;
#: negative (1-2 stars) 8% against 26%.
VOICE_RATING_P = {"on_time": (0.04, 0.04, 0.10, 0.25, 0.57), "late": (0.14, 0.12, 0.16, 0.24, 0.34)}
#: The one complaint of a negative review (rating <= 2) of an on-time order, by category ("apparel" or "other");
#: for a late order logistics has VOICE_LATE_LOGISTICS and the others share the rest in the on-time proportions.
VOICE_ASPECTS = ("size", "quality", "logistics", "service", "price")
VOICE_ASPECT_P = {"apparel": (0.40, 0.25, 0.08, 0.15, 0.12), "other": (0.0, 0.40, 0.15, 0.25, 0.20)}
VOICE_LATE_LOGISTICS = 0.70
#: Share of positive reviews (4-5 stars) that praise one aspect (uniform over those that apply: size for apparel).
VOICE_PRAISE_P = 0.5
#: NPS survey: share of customers asked, a few days after a random one of their delivered orders; promoter,
#: passive and detractor shares after an on-time and after a late order (NPS +32 and -20).
VOICE_SURVEY_P = 0.30
VOICE_NPS_P = {"on_time": (0.50, 0.32, 0.18), "late": (0.25, 0.30, 0.45)}
VOICE_NPS_SCORES = {
    "promoter": ((9, 10), (0.5, 0.5)),
    "passive": ((7, 8), (0.5, 0.5)),
    "detractor": ((0, 1, 2, 3, 4, 5, 6), (0.05, 0.05, 0.10, 0.10, 0.15, 0.25, 0.30)),
}

__all__ += [
    "VOICE_ASPECTS", "VOICE_ASPECT_P", "VOICE_DELIVERY", "VOICE_LANGUAGES", "VOICE_LATE_DAYS", "VOICE_LATE_LOGISTICS",
    "VOICE_NPS_P", "VOICE_NPS_SCORES", "VOICE_PRAISE_P", "VOICE_RATING_P", "VOICE_REVIEW_P", "VOICE_SURVEY_P",
]

#: Stage "demand" (custlab/synthetic/demand.py): planted weekly unit demand. Mean units per week at the
#: level (at the seasonal peak for sunscreen and down_jacket), the festival lift of gift_box, tea's growth
#: over the period, and the rise of the last DEMAND_SURGE_WEEKS weeks of "surge".
DEMAND_LEVELS = {
    "sunscreen": 200.0, "down_jacket": 150.0, "gift_box": 60.0, "tea": 100.0,
    "noise_20": 20.0, "noise_50": 50.0, "noise_100": 100.0, "surge": 80.0,
}
DEMAND_FESTIVAL_LIFT = 1.5
DEMAND_TREND = 0.6
DEMAND_SURGE = 0.6
DEMAND_SURGE_WEEKS = 1

__all__ += ["DEMAND_FESTIVAL_LIFT", "DEMAND_LEVELS", "DEMAND_SURGE", "DEMAND_SURGE_WEEKS", "DEMAND_TREND"]
