"""Synthetic e-commerce shop with known, planted parameters (``make_shop``, ``Shop``).

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
With ``messy = m > 0``, the transactions get cancelled orders (10% of the
orders at m = 1), orders without a customer (10%), exact duplicate lines (5%
of the lines), zero-price samples (2% of the orders), postage lines (20%) and
lines dated after the period end (0.5% of the lines); exact counts in
``truth["messy_counts"]``, details in :mod:`custlab.synthetic.messy`.

Dropping these rows (and the cancelled orders) gives back the clean lines of
the orders that kept their customer. With ``messy = 0`` the data are clean,
and the clean part never depends on ``messy`` (or on ``events_per_customer``):
all the other truth figures refer to the clean data.

Layout
------
:mod:`~custlab.synthetic.params` holds every planted number and the random
stream of each stage; :mod:`~custlab.synthetic.shop` runs the stages
(``timeline``, ``purchases``, ``baskets``, ``customers``, ``marketing``,
``events``, ``reviews``, ``messy``), each a module of its own. Each stage draws
from its own child stream of the seed, so adding a stage never changes the
tables the others make (see :mod:`custlab.synthetic.shop`, "Adding a stage").
"""

from custlab.synthetic.params import STREAMS, stage_rng
from custlab.synthetic.shop import Shop, make_shop

__all__ = ["STREAMS", "Shop", "make_shop", "stage_rng"]
