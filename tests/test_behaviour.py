"""Behaviour and channels: funnels, paths, weekday x hour, cohorts, channel ROI.

References: REES46 events (counts computed directly, ordered funnel by a
per-session state machine in plain Python), Online Retail (cohort and weekday x
hour cells computed with pandas), the synthetic shop (planted funnel rates and
ROIs), and exhaustive enumeration of ordered chains on random event logs.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custlab import behaviour as bh
from custlab.exceptions import CustlabError, SchemaError
from custlab.schema import validate

STEPS = ["view", "cart", "purchase"]
T0 = dt.datetime(2024, 1, 1, 10, 0)


def _ev(rows):
    """Events from (session, event, minute[, extra...]) tuples; customer = session."""
    return pl.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "session_id": [f"s{r[0]}" for r in rows],
            "event_time": [T0 + dt.timedelta(minutes=r[2]) for r in rows],
            "event": [r[1] for r in rows],
        }
    )


# --------------------------------------------------------------------------- REES46


@pytest.fixture(scope="module")
def rees(rees46_file):
    return validate(pl.read_parquet(rees46_file), "events", columns=bh.REES46_COLUMNS)


def _state_machine_depths(frame: pl.DataFrame, key: str, steps: list[str], window=None) -> dict:
    """Reference ordered funnel: events of each unit sorted by (time, step), steps matched in sequence.

    With a window, every step-1 event is tried as the start.
    """
    index = {s: i for i, s in enumerate(steps)}
    per_unit: dict = {}
    for unit, t, e in frame.select(key, "event_time", "event").iter_rows():
        if e in index:
            per_unit.setdefault(unit, []).append((t, index[e]))
    depths = {}
    for unit, evs in per_unit.items():
        evs.sort()
        best = 0
        starts = [i for i, (_, s) in enumerate(evs) if s == 0] if window is not None else [None]
        for start in starts:
            pos, begin = 0, None
            for i, (t, s) in enumerate(evs):
                if start is not None and i < start:
                    continue
                if s == pos and (begin is None or window is None or t - begin <= window):
                    begin = t if begin is None else begin
                    pos += 1
                    if pos == len(steps):
                        break
            best = max(best, pos)
        depths[unit] = best
    return depths


def test_rees46_event_counts_and_both_funnels(rees):
    f = bh.funnel(rees, STEPS, mode="both")
    direct = dict(rees.group_by("event").len().iter_rows())
    assert direct == {"view": 17_055, "cart": 165, "purchase": 214}
    for kind in ("ordered", "reached"):
        assert f.filter(pl.col("funnel") == kind)["events"].to_list() == [17_055, 165, 214]
    # reached: sessions having each event at all
    reached = f.filter(pl.col("funnel") == "reached")["units"].to_list()
    assert reached == [rees.filter(pl.col("event") == e)["session_id"].n_unique() for e in STEPS] == [5066, 118, 200]
    # ordered: a plain-Python state machine per session
    depths = _state_machine_depths(rees, "session_id", STEPS)
    expected = [sum(d >= k for d in depths.values()) for k in (1, 2, 3)]
    ordered = f.filter(pl.col("funnel") == "ordered")
    assert ordered["units"].to_list() == expected
    # 135 of the 200 purchasing sessions have no cart event: the two funnels part at "purchase"
    by_session = rees.group_by("session_id").agg(
        cart=(pl.col("event") == "cart").any(), purchase=(pl.col("event") == "purchase").any()
    )
    assert by_session.filter(pl.col("purchase") & ~pl.col("cart")).height == 135
    assert expected[2] <= 200 - 135
    assert ordered["rate_from_previous"][2] <= 1 < f.filter(pl.col("funnel") == "reached")["rate_from_previous"][2]
    assert set(f["unit"]) == {"session"}


def test_rees46_per_customer_and_window(rees):
    f = bh.funnel(rees, STEPS, unit="customer", mode="both")
    assert f.filter(pl.col("funnel") == "reached")["units"].to_list() == [
        rees.filter(pl.col("event") == e)["customer_id"].n_unique() for e in STEPS
    ]
    depths = _state_machine_depths(rees, "customer_id", STEPS)
    assert f.filter(pl.col("funnel") == "ordered")["units"].to_list() == [
        sum(d >= k for d in depths.values()) for k in (1, 2, 3)
    ]
    window = dt.timedelta(minutes=5)
    fw = bh.funnel(rees, STEPS, unit="customer", within="5m")
    depths_w = _state_machine_depths(rees, "customer_id", STEPS, window)
    assert fw["units"].to_list() == [sum(d >= k for d in depths_w.values()) for k in (1, 2, 3)]
    assert fw["units"][2] < f.filter(pl.col("funnel") == "ordered")["units"][2]


def test_rees46_streams_from_parquet_like_eager(rees46_file, rees):
    lazy = validate(pl.scan_parquet(rees46_file), "events", columns=bh.REES46_COLUMNS)
    assert isinstance(lazy, pl.LazyFrame)
    a = bh.funnel(lazy, STEPS, mode="both", by="brand")
    b = bh.funnel(rees, STEPS, mode="both", by="brand")
    assert a.equals(b)


def test_categorical_event_column_gives_the_same_funnel(rees):
    # dictionary-encoded event columns (Parquet) are compared on their codes: same numbers as text
    expected = bh.funnel(rees, STEPS, mode="both")
    windowed = bh.funnel(rees, STEPS, unit="customer", within="5m")
    for dtype in (pl.Categorical, pl.Enum(STEPS)):
        coded = rees.with_columns(pl.col("event").cast(dtype))
        assert bh.funnel(coded.lazy(), STEPS, mode="both").equals(expected)
        assert bh.funnel(coded, STEPS, unit="customer", within="5m").equals(windowed)
        with pytest.raises(CustlabError, match=r"\['basket'\] never occur"):
            bh.funnel(coded, ["view", "basket"])


def test_breakdown_equals_funnel_of_the_slice(rees):
    f = bh.funnel(rees, STEPS, by="category_code", mode="both")
    for value in (None, "electronics.smartphone"):
        keep = pl.col("category_code").is_null() if value is None else pl.col("category_code") == value
        part = f.filter(keep).drop("category_code")
        assert part.equals(bh.funnel(rees.filter(keep), STEPS, mode="both"))
    # every group lists every step, zeros included
    assert f.group_by("category_code", "funnel").len()["len"].unique().to_list() == [3]


# --------------------------------------------------------------------------- funnel properties


def _reference_depth(events: list[tuple[int, int]], n_steps: int, window: int | None) -> int:
    """Exhaustive: the longest k with events of steps 0..k-1 at non-decreasing times within the window."""
    best = 0
    for k in range(1, n_steps + 1):
        pools = [[t for t, s in events if s == i] for i in range(k)]
        if any(not p for p in pools):
            break
        ok = any(
            all(a <= b for a, b in itertools.pairwise(chain)) and (window is None or chain[-1] - chain[0] <= window)
            for chain in itertools.product(*pools)
        )
        if not ok:
            break
        best = k
    return best


event_rows = st.lists(
    st.tuples(st.integers(1, 4), st.sampled_from(["a", "b", "c", "x"]), st.integers(0, 12),
              st.sampled_from(["p", "q", None])),
    min_size=1, max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(event_rows, st.one_of(st.none(), st.integers(1, 8)), st.randoms(use_true_random=False))
def test_ordered_funnel_matches_exhaustive_reference(rows, window, rnd):
    steps = ["a", "b", "c"]
    ev = _ev(rows).with_columns(g=pl.Series([r[3] for r in rows], dtype=pl.String))
    within = None if window is None else dt.timedelta(minutes=window)
    if not {"a", "b", "c"} <= {r[1] for r in rows}:
        with pytest.raises(CustlabError, match="never occur"):
            bh.funnel(ev, steps, within=within, by="g")
        return
    f = bh.funnel(ev, steps, within=within, by="g", mode="both" if within is None else "ordered")
    groups: dict = {}
    for sess, e, minute, g in rows:
        if e in steps:
            groups.setdefault((g, sess), []).append((minute, steps.index(e)))
    for g in {r[3] for r in rows if r[1] in steps}:
        depths = [_reference_depth(v, 3, window) for (gg, _), v in groups.items() if gg == g]
        got = f.filter(pl.col("g").is_null() if g is None else pl.col("g") == g)
        ordered = got.filter(pl.col("funnel") == "ordered")["units"].to_list()
        assert ordered == [sum(d >= k for d in depths) for k in (1, 2, 3)]
        if within is None:
            reached = got.filter(pl.col("funnel") == "reached")["units"].to_list()
            units = [v for (gg, _), v in groups.items() if gg == g]
            assert reached == [sum(any(s == i for _, s in v) for v in units) for i in range(3)]
            assert all(o <= r for o, r in zip(ordered, reached, strict=True))
    rates = f.filter(pl.col("funnel") == "ordered")["rate_from_previous"].drop_nulls()
    assert ((rates >= 0) & (rates <= 1)).all()
    # row order does not matter
    shuffled = ev.sample(fraction=1.0, shuffle=True, seed=rnd.randint(0, 10**6))
    assert bh.funnel(shuffled, steps, within=within, by="g", mode="both" if within is None else "ordered").equals(f)


def test_rates_and_drop_off_columns():
    ev = _ev([(1, "view", 0), (1, "cart", 1), (1, "purchase", 2), (2, "view", 0), (2, "cart", 3), (3, "view", 0),
              (4, "view", 0)])
    f = bh.funnel(ev, STEPS)
    assert f["units"].to_list() == [4, 2, 1]
    assert f["rate_from_previous"].to_list() == [None, 0.5, 0.5]
    assert f["rate_from_start"].to_list() == [1.0, 0.5, 0.25]
    assert f["drop_off"].to_list() == [None, 2, 1]
    assert f["drop_off_rate"].to_list() == [None, 0.5, 0.5]
    assert f.schema["units"] == pl.Int64 and f.schema["step_number"] == pl.Int64


def test_funnel_window_counts_from_the_first_step():
    # view at 0, cart at 20, purchase at 40: within 30m reaches cart only; a later view restarts the clock
    ev = _ev([(1, "view", 0), (1, "cart", 20), (1, "purchase", 40), (2, "view", 0), (2, "view", 15),
              (2, "cart", 20), (2, "purchase", 40)])
    f = bh.funnel(ev, STEPS, within="30m")
    assert f["units"].to_list() == [2, 2, 1]
    assert bh.funnel(ev, STEPS, within=dt.timedelta(hours=1))["units"].to_list() == [2, 2, 2]


# --------------------------------------------------------------------------- bad input


def test_unknown_step_names_are_refused_with_the_events_present(rees):
    with pytest.raises(CustlabError, match=r"\['purchse'\] never occur.*'view' \(17,055\).*'purchse' -> 'purchase'"):
        bh.funnel(rees, ["view", "cart", "purchse"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"steps": ["view"]}, "at least two steps"),
        ({"steps": ["view", "cart", "view"]}, r"name \['view'\] more than once"),
        ({"steps": "view"}, "must be a list of event names"),
        ({"steps": STEPS, "within": "10 parsecs"}, "within must be a datetime.timedelta or text"),
        ({"steps": STEPS, "within": "-5m"}, "within must be"),
        ({"steps": STEPS, "within": dt.timedelta(0)}, "positive duration"),
        ({"steps": STEPS, "mode": "strict"}, "mode must be 'ordered', 'reached' or 'both'"),
        ({"steps": STEPS, "mode": "reached", "within": "5m"}, "within= applies to the ordered funnel"),
        ({"steps": STEPS, "unit": "visit"}, "unit must be 'session' or 'customer'"),
        ({"steps": STEPS, "by": "event"}, r"by=\['event'\] cannot be used"),
    ],
)
def test_funnel_argument_errors(kwargs, message):
    ev = _ev([(1, "view", 0), (1, "cart", 1), (1, "purchase", 2)])
    with pytest.raises(CustlabError, match=message):
        bh.funnel(ev, **kwargs)


def test_missing_columns_and_null_units():
    ev = _ev([(1, "view", 0), (1, "cart", 1), (1, "purchase", 2)])
    with pytest.raises(SchemaError, match="missing column.*session_id"):
        bh.funnel(ev.drop("session_id"), STEPS)
    with pytest.raises(SchemaError, match="missing column.*'device'"):
        bh.funnel(ev, STEPS, by="device")
    nulls = ev.with_columns(session_id=pl.when(pl.col("event") == "cart").then(None).otherwise(pl.col("session_id")))
    with pytest.raises(CustlabError, match=r"1 funnel event\(s\) have no session_id"):
        bh.funnel(nulls, STEPS)
    assert bh.funnel(ev.drop("session_id"), STEPS, unit="customer")["units"].to_list() == [1, 1, 1]


def test_events_out_of_time_order_are_sorted_and_reported():
    rows = [(1, "view", 0), (1, "cart", 1), (1, "purchase", 2), (2, "view", 0), (2, "cart", 5)]
    ev = _ev(rows)
    backwards = ev.reverse()
    # the funnel reads timestamps only: same result, nothing to report
    assert bh.funnel(backwards, STEPS, mode="both").equals(bh.funnel(ev, STEPS, mode="both"))
    # paths depend on the order: sorted, with a warning that says how many rows were out of order
    with pytest.warns(bh.EventOrderWarning, match=r"3 of 5 events were out of time order within their session"):
        paths = bh.top_paths(backwards)
    assert paths.equals(bh.top_paths(ev))
    with pytest.warns(bh.EventOrderWarning):
        assert bh.transition_matrix(backwards).equals(bh.transition_matrix(ev))


# --------------------------------------------------------------------------- drop-off reasons


def test_drop_off_reasons_recorded_derived_and_absent():
    ev = _ev([(1, "view", 0), (1, "exit", 1), (2, "view", 0), (2, "exit", 1), (3, "view", 0), (3, "cart", 1),
              (3, "exit", 2), (4, "view", 0), (4, "cart", 1), (4, "purchase", 2), (5, "view", 0)])
    reasons = ev.with_columns(
        reason=pl.when(pl.col("event") == "exit").then(pl.Series(["price", None, None, "price", None, None, "delivery",
                                                                   None, None, None, None]))
    )
    out = bh.drop_off_reasons(reasons, STEPS)
    assert out.rows() == [
        ("view", "cart", "price", 1, 1 / 3), ("view", "cart", "(not recorded)", 2, 2 / 3),
        ("cart", "purchase", "delivery", 1, 1.0),
    ]
    # stopped units reconcile with the ordered funnel's drop-off
    f = bh.funnel(reasons, STEPS)
    stopped = out.group_by("stopped_after").agg(pl.col("units").sum())
    assert dict(stopped.iter_rows()) == {"view": f["drop_off"][1], "cart": f["drop_off"][2]}
    # a comparison recorded on the events, turned into a reason by an expression
    priced = ev.with_columns(price=pl.Series([10.0] * 11),
                             competitor_price=pl.Series([8.0, 8, 12, 12, 12, 12, 12, 8, 8, 8, 8]))
    derived = bh.drop_off_reasons(
        priced, STEPS,
        reason=pl.when(pl.col("price") > pl.col("competitor_price")).then(pl.lit("dearer than competitor")),
    )
    # sessions 1 and 5 saw a dearer price than the competitor's and stopped at "view"
    assert ("view", "cart", "dearer than competitor", 2, 2 / 3) in derived.rows()
    # no reason column: the table says so instead of guessing
    absent = bh.drop_off_reasons(ev, STEPS)
    assert absent["reason"].unique().to_list() == ["(not recorded: events have no 'reason' column)"]
    assert absent["units"].to_list() == [3, 1]
    zh = bh.drop_off_reasons(ev, STEPS, language="zh")
    assert zh["reason"][0].startswith("(未记录")


# --------------------------------------------------------------------------- paths


def test_top_paths_and_transitions_on_rees46(rees):
    paths = bh.top_paths(rees, n=5)
    only_views = rees.group_by("session_id").agg((pl.col("event") == "view").all().alias("v"))["v"].sum()
    assert paths.row(0)[:3] == ("view", 1, only_views)
    assert paths["share"][0] == pytest.approx(only_views / 5066)
    assert paths["units"].is_sorted(descending=True)

    long = bh.transition_matrix(rees, wide=False)
    pdf = rees.select("session_id", "event_time", "event").to_pandas()
    pdf = pdf.sort_values(["session_id", "event_time"], kind="stable")
    pdf["nxt"] = pdf.groupby("session_id")["event"].shift(-1).fillna("(exit)")
    reference = pdf.groupby(["event", "nxt"]).size()
    got = long.filter(pl.col("from_event") != "(start)")
    assert {(a, b): n for a, b, n, _ in got.iter_rows()} == {k: int(v) for k, v in reference.items()}
    wide = bh.transition_matrix(rees)
    cart = wide.filter(pl.col("from_event") == "cart").row(0, named=True)
    assert cart["purchase"] == pytest.approx(reference[("cart", "purchase")] / (pdf["event"] == "cart").sum())
    shares = wide.select(pl.sum_horizontal(pl.exclude("from_event", "transitions")))
    assert np.allclose(shares.to_series().to_numpy(), 1.0)
    assert wide["from_event"][0] == "(start)"


def test_paths_collapse_and_cut():
    ev = _ev([(1, "view", 0), (1, "view", 1), (1, "cart", 2), (1, "view", 3), (1, "purchase", 4)])
    assert bh.top_paths(ev)["path"].to_list() == ["view > cart > view > purchase"]
    assert bh.top_paths(ev, collapse_repeats=False)["length"].to_list() == [5]
    assert bh.top_paths(ev, max_steps=2)["path"].to_list() == ["view > cart > ..."]
    counts = bh.transition_matrix(ev, normalize=False)
    assert counts.filter(pl.col("from_event") == "view").select("view", "cart", "purchase").row(0) == (1, 1, 1)
    with pytest.raises(CustlabError, match="n must be a positive whole number"):
        bh.top_paths(ev, n=0)


# --------------------------------------------------------------------------- weekday x hour


def test_weekday_hour_orders_on_online_retail(online_retail_clean):
    table = bh.weekday_hour(online_retail_clean)
    assert table.height == 168
    assert table["value"].sum() == 18_536
    pdf = online_retail_clean.select("order_id", "order_date").to_pandas()
    first = pdf.groupby("order_id")["order_date"].min()
    reference = first.groupby([first.dt.dayofweek + 1, first.dt.hour]).size()
    got = {(d, h): v for d, h, v in table.select("weekday", "hour", "value").iter_rows() if v}
    assert got == {(int(d), int(h)): float(v) for (d, h), v in reference.items()}
    # no orders on Saturdays: the 24 cells are there, at zero
    assert table.filter(pl.col("weekday") == 6)["value"].to_list() == [0.0] * 24
    assert table["share"].sum() == pytest.approx(1.0)


def test_weekday_hour_events_lazy_with_filter(rees46_file):
    lazy = validate(pl.scan_parquet(rees46_file), "events", columns=bh.REES46_COLUMNS)
    t = bh.weekday_hour(lazy, measure="events", event="purchase", language="zh")
    assert t["value"].sum() == 214
    assert t.filter(pl.col("value") > 0)["weekday_name"].unique().to_list() == ["周二"]  # 2019-10-01 was a Tuesday


def _category_orders(seed: int = 7) -> pl.DataFrame:
    """Snacks on weekday evenings 19-22, baby goods on weekend mornings 8-11, household spread out."""
    rng = random.Random(seed)
    rows = []
    monday = dt.datetime(2024, 1, 1)
    for i in range(3000):
        category = ["snacks", "baby", "household"][i % 3]
        day = rng.randrange(28)
        hour = rng.randrange(24)
        if category == "snacks" and rng.random() < 0.6:
            day = rng.choice([d for d in range(28) if d % 7 < 5])
            hour = rng.randrange(19, 23)
        if category == "baby" and rng.random() < 0.6:
            day = rng.choice([d for d in range(28) if d % 7 >= 5])
            hour = rng.randrange(8, 12)
        rows.append((i % 300, str(i), monday + dt.timedelta(days=day, hours=hour, minutes=rng.randrange(60)),
                     1.0, category))
    return pl.DataFrame(rows, schema=["customer_id", "order_id", "order_date", "amount", "category"], orient="row")


def test_peak_times_per_category_reads_like_the_documents():
    peaks = bh.peak_times(bh.weekday_hour(_category_orders(), by="category"))
    summary = dict(peaks.select("category", "summary").iter_rows())
    assert summary["snacks"] == "weekday evenings 19-22"
    assert summary["baby"] == "weekend mornings 8-11"
    lifts = dict(peaks.select("category", "lift").iter_rows())
    assert lifts["snacks"] > 3 and lifts["baby"] > 3 and lifts["household"] < 2
    zh = bh.peak_times(bh.weekday_hour(_category_orders(), by="category"), language="zh")
    assert dict(zh.select("category", "summary").iter_rows())["snacks"] == "工作日晚上 19-22点"
    with pytest.raises(CustlabError, match="hours must be a whole number from 1 to 12"):
        bh.peak_times(bh.weekday_hour(_category_orders()), hours=30)


# --------------------------------------------------------------------------- cohorts


def test_cohort_retention_on_online_retail_against_pandas(online_retail_clean):
    r = bh.cohort_retention(online_retail_clean)
    assert r["cohort"].n_unique() == 13
    assert r.group_by("cohort").agg(pl.col("cohort_size").first())["cohort_size"].sum() == 4_339
    assert r.filter(pl.col("cohort") == dt.date(2010, 12, 1))["period"].to_list() == list(range(13))
    # the last month (2011-12, cut at the 9th) is flagged incomplete
    assert r.filter(~pl.col("period_complete"))["month"].unique().to_list() == [dt.date(2011, 12, 1)]

    pdf = online_retail_clean.select("customer_id", "order_date", "amount").to_pandas()
    month = pdf["order_date"].dt.to_period("M")
    pdf["cohort"] = month.groupby(pdf["customer_id"]).transform("min")
    pdf["period"] = (month - pdf["cohort"]).map(lambda offset: offset.n)
    jan = pdf[pdf["cohort"] == pd.Period("2011-01", "M")]
    size = jan["customer_id"].nunique()
    active = jan.groupby("period")["customer_id"].nunique()
    revenue = jan.groupby("period")["amount"].sum()
    got = r.filter(pl.col("cohort") == dt.date(2011, 1, 1)).sort("period")
    assert got["cohort_size"].unique().to_list() == [size] == [417]
    assert got["active_customers"].to_list() == [int(active.get(p, 0)) for p in range(12)]
    np.testing.assert_allclose(got["revenue"].to_numpy(), [revenue.get(p, 0.0) for p in range(12)], rtol=1e-9)
    np.testing.assert_allclose(got["cumulative_revenue_per_customer"].to_numpy(),
                               np.cumsum([revenue.get(p, 0.0) for p in range(12)]) / size, rtol=1e-9)
    np.testing.assert_allclose(got["active_share"].to_numpy(), got["active_customers"].to_numpy() / size)

    wide = bh.cohort_matrix(r, "active_share")
    assert wide.shape == (13, 2 + 13)
    assert wide.filter(pl.col("cohort") == dt.date(2011, 1, 1))["1"].item() == pytest.approx(active[1] / size)
    assert wide.filter(pl.col("cohort") == dt.date(2011, 12, 1))["1"].item() is None


def test_cohort_zero_months_as_of_and_errors():
    d = dt.datetime
    tx = pl.DataFrame({"customer_id": [1, 1, 2], "order_id": ["a", "b", "c"],
                       "order_date": [d(2024, 1, 5), d(2024, 4, 2), d(2024, 2, 1)], "amount": [10.0, 30.0, 5.0]})
    r = bh.cohort_retention(tx)
    jan = r.filter(pl.col("cohort") == dt.date(2024, 1, 1))
    assert jan["active_customers"].to_list() == [1, 0, 0, 1]
    assert jan["cumulative_revenue_per_customer"].to_list() == [10.0, 10.0, 10.0, 40.0]
    cut = bh.cohort_retention(tx, as_of="2024-03-15")
    assert cut["month"].max() == dt.date(2024, 3, 1)
    assert cut.filter(pl.col("month") == dt.date(2024, 3, 1))["period_complete"].unique().to_list() == [False]
    assert bh.cohort_retention(tx, max_periods=1)["period"].max() == 1
    with pytest.raises(CustlabError, match=r"1 order line\(s\) have no customer_id"):
        bh.cohort_retention(tx.with_columns(customer_id=pl.Series([1, None, 2])))
    with pytest.raises(CustlabError, match="as_of must be a date"):
        bh.cohort_retention(tx, as_of="soon")
    with pytest.raises(CustlabError, match="value must be one of"):
        bh.cohort_matrix(r, "churn")


# --------------------------------------------------------------------------- synthetic shop


@pytest.fixture(scope="module")
def shop():
    from custlab.synthetic import make_shop

    return make_shop(5000, seed=11, events_per_customer=20)


def test_planted_funnel_rates_come_back(shop):
    planted = shop.truth["funnel"]
    f = bh.funnel(shop.events, ["exposure", "click", "cart", "pay"], mode="both")
    ordered = f.filter(pl.col("funnel") == "ordered")["rate_from_previous"].to_list()[1:]
    expected = [planted["exposure_to_click"], planted["click_to_cart"], planted["cart_to_pay"]]
    assert expected == [0.30, 0.15, 0.10]
    # about 74k sessions, 22k clicks, 3.3k carts: 2 points is over 4 standard errors at each step
    assert ordered == pytest.approx(expected, abs=0.02)
    # the shop's sessions never skip a step, so both funnels agree
    units = {kind: f.filter(pl.col("funnel") == kind)["units"].to_list() for kind in ("ordered", "reached")}
    assert units["ordered"] == units["reached"]


def test_planted_channel_roi_and_cac(shop):
    perf = bh.channel_performance(shop.marketing_spend, shop.transactions, customers=shop.customers,
                                  events=shop.events, conversion_steps=["exposure", "pay"])
    roi = dict(perf.select("channel", "roi").iter_rows())
    for channel, planted in shop.truth["roi"].items():
        assert roi[channel] == pytest.approx(planted, abs=0.05)
    labels = dict(perf.select("channel", "roi_label").iter_rows())
    assert [labels[c] for c in ("live_stream", "community", "sms")] == ["1:8", "1:5", "1:1.2"]
    organic = perf.filter(pl.col("channel") == "organic").row(0, named=True)
    assert organic["status"] == "orders but no spend" and organic["roi"] is None and organic["revenue"] > 0
    # CAC against a direct computation: spend / customers acquired through the channel
    sms = perf.filter(pl.col("channel") == "sms").row(0, named=True)
    n_sms = shop.customers.filter(pl.col("acquisition_channel") == "sms").join(
        shop.transactions.select("customer_id").unique(), on="customer_id").height
    spend_sms = shop.marketing_spend.filter(pl.col("channel") == "sms")["spend"].sum()
    assert sms["new_customers"] == n_sms and sms["cac"] == pytest.approx(spend_sms / n_sms)
    # conversion exposure -> pay is the product of the planted rates, 0.45%, in every channel
    total = perf.select((pl.col("conversion") * pl.col("visitors")).sum() / pl.col("visitors").sum()).item()
    assert total == pytest.approx(0.30 * 0.15 * 0.10, abs=0.001)
    plan = bh.reallocation(perf, shares=[0.1])
    assert plan.select("from_channel", "to_channel").row(0) == ("sms", "live_stream")
    assert plan["revenue_change"][0] == pytest.approx(0.1 * spend_sms * (roi["live_stream"] - roi["sms"]))
    assert "not marginal ROI" in plan["note"][0]


def test_synthetic_evening_peak(shop):
    # the shop's orders peak 20-23 h (module docstring of custlab.synthetic)
    peak = bh.peak_times(bh.weekday_hour(shop.transactions), hours=3).row(0, named=True)
    assert (peak["first_hour"], peak["last_hour"]) == (20, 22)
    assert peak["daypart"] == "evenings"


# --------------------------------------------------------------------------- channels, small cases


def _spend():
    return pl.DataFrame({"month": [dt.date(2024, 1, 1), dt.date(2024, 1, 1), dt.date(2024, 2, 1), dt.date(2024, 1, 1)],
                         "channel": ["ads", "sms", "ads", "tv"], "spend": [60.0, 50.0, 40.0, 10.0]})


def _orders():
    d = dt.datetime
    return pl.DataFrame({
        "customer_id": [1, 1, 2, 3, 4, 5],
        "order_id": ["a", "b", "c", "d", "e", "f"],
        "order_date": [d(2023, 12, 20), d(2024, 1, 3), d(2024, 1, 4), d(2024, 2, 5), d(2024, 2, 6), d(2024, 3, 9)],
        "amount": [99.0, 300.0, 60.0, 500.0, 40.0, 1000.0],
        "channel": ["ads", "ads", "sms", "ads", "web", "ads"],
    })


def test_spend_and_orders_that_do_not_meet_are_explicit_rows():
    perf = bh.channel_performance(_spend(), _orders())
    rows = {r["channel"]: r for r in perf.iter_rows(named=True)}
    assert set(rows) == {"ads", "sms", "tv", "web"}
    # window Jan-Feb 2024: the December and March orders are outside it
    assert rows["ads"]["revenue"] == 800.0 and rows["ads"]["orders"] == 2 and rows["ads"]["spend"] == 100.0
    assert rows["ads"]["roi"] == 8.0 and rows["ads"]["roi_label"] == "1:8"
    # customer 1 first bought in December: not a new customer of the window
    assert rows["ads"]["new_customers"] == 1 and rows["ads"]["cac"] == 100.0
    assert rows["tv"]["status"] == "spend but no orders" and rows["tv"]["roi"] == 0.0 and rows["tv"]["cac"] is None
    assert rows["web"]["status"] == "orders but no spend" and rows["web"]["roi"] is None
    assert rows["web"]["roi_label"] == "no spend"
    zh = bh.channel_performance(_spend(), _orders(), language="zh")
    assert set(zh["status"]) == {"正常", "有投入无订单", "有订单无投入"}


def test_acquisition_attribution_clv_to_cac_and_unknown_channel():
    customers = pl.DataFrame({"customer_id": [1, 2, 3, 4], "acquisition_channel": ["ads", "sms", "ads", None]})
    clv = pl.DataFrame({"customer_id": [2, 3, 4], "clv": [150.0, 900.0, 20.0]})
    perf = bh.channel_performance(_spend(), _orders(), customers=customers, clv=clv)
    rows = {r["channel"]: r for r in perf.iter_rows(named=True)}
    # customer 5 is not in the customers table and customer 4 has no channel: a null-channel row, not dropped
    assert set(rows) == {"ads", "sms", "tv", None}
    assert rows[None]["revenue"] == 40.0 and rows[None]["status"] == "orders but no spend"
    assert rows["ads"]["revenue"] == 800.0 and rows["ads"]["new_customers"] == 1
    assert rows["ads"]["clv_customers"] == 1 and rows["ads"]["clv_mean"] == 900.0
    assert rows["ads"]["clv_to_cac"] == pytest.approx(900.0 / 100.0)
    assert rows["sms"]["clv_to_cac"] == pytest.approx(150.0 / 50.0)


def test_channel_bad_input():
    bad_spend = _spend().with_columns(spend=pl.Series([60.0, -5.0, 40.0, 10.0]))
    with pytest.raises(CustlabError, match=r"1 marketing_spend row\(s\) have negative spend"):
        bh.channel_performance(bad_spend, _orders())
    with pytest.raises(SchemaError, match=r"missing column\(s\) for order attribution.*\['channel'\]"):
        bh.channel_performance(_spend(), _orders().drop("channel"))
    with pytest.raises(CustlabError, match="needs customers="):
        bh.channel_performance(_spend(), _orders(), attribution="acquisition")
    with pytest.raises(CustlabError, match="events= needs conversion_steps="):
        bh.channel_performance(_spend(), _orders(), events=_ev([(1, "view", 0)]))
    text_ids = pl.DataFrame({"customer_id": ["1"], "acquisition_channel": ["ads"]})
    with pytest.raises(CustlabError, match="customers.customer_id is String but the transactions' customer_id is Int"):
        bh.channel_performance(_spend(), _orders(), customers=text_ids)
    twice = pl.DataFrame({"customer_id": [1, 1], "acquisition_channel": ["ads", "sms"]})
    with pytest.raises(CustlabError, match="more than once"):
        bh.channel_performance(_spend(), _orders(), customers=twice)
    with pytest.raises(CustlabError, match=r"clv lists 1 customer_id\(s\) more than once, e.g. \[1\]"):
        bh.channel_performance(_spend(), _orders(), clv=pl.DataFrame({"customer_id": [1, 1], "clv": [1.0, 2.0]}))
    perf = bh.channel_performance(_spend(), _orders())
    with pytest.raises(CustlabError, match="at least two channels"):
        bh.reallocation(perf.filter(pl.col("channel") == "ads"))
    with pytest.raises(CustlabError, match="shares must be numbers in"):
        bh.reallocation(perf, shares=[1.5])
    with pytest.raises(CustlabError, match="from_channel='tv' is not a channel"):
        bh.reallocation(perf, from_channel="tv")


def test_roi_label():
    assert [bh.roi_label(x) for x in (8.0, 5.0, 1.2, 10.04, 0.5)] == ["1:8", "1:5", "1:1.2", "1:10", "1:0.5"]
    assert bh.roi_label(None, language="zh") == "无投入"


# --------------------------------------------------------------------------- plots


def test_plot_funnel_bars_and_labels(rees):
    import matplotlib.pyplot as plt

    f = bh.funnel(rees, STEPS, mode="both")
    fig = bh.plot_funnel(f)
    ax = fig.axes[0]
    assert len(ax.containers) == 2
    for container, kind in zip(ax.containers, ["ordered", "reached"], strict=True):
        assert [int(b.get_height()) for b in container] == f.filter(pl.col("funnel") == kind)["units"].to_list()
    texts = [t.get_text() for t in ax.texts]
    assert "200\n169.5%" in texts and "5,066" in texts
    assert ax.get_ylabel() == "sessions"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["ordered (steps in order)", "reached (did the step at all)"]
    plt.close(fig)
    fig = bh.plot_funnel(bh.funnel(rees, STEPS, unit="customer"), language="zh")
    assert fig.axes[0].get_ylabel() == "客户数" and fig.axes[0].get_legend() is None
    plt.close(fig)


@pytest.mark.filterwarnings("ignore:Glyph .* missing from font")  # Chinese labels without a CJK font installed
def test_plot_cohort_weekday_hour_and_roi():
    import matplotlib.pyplot as plt

    d = dt.datetime
    tx = pl.DataFrame({"customer_id": [1, 1, 2, 3], "order_id": ["a", "b", "c", "d"],
                       "order_date": [d(2024, 1, 5), d(2024, 2, 2), d(2024, 2, 9), d(2024, 3, 1)],
                       "amount": [1.0, 1.0, 1.0, 1.0]})
    fig = bh.plot_cohort_heatmap(bh.cohort_retention(tx))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["2024-01", "2024-02", "2024-03"]
    assert [t.get_text() for t in ax.texts] == ["100%", "100%", "0%", "100%", "0%", "100%"]
    plt.close(fig)

    table = bh.weekday_hour(_category_orders(), by="category")
    fig = bh.plot_weekday_hour(table, language="zh")
    assert len([a for a in fig.axes if a.get_title()]) == 3
    first = fig.axes[0]
    assert [t.get_text() for t in first.get_yticklabels()] == bh.WEEKDAY_NAMES["zh"]
    assert first.collections[0].get_array().size == 168
    plt.close(fig)
    with pytest.raises(CustlabError, match="draw at most max_groups=2"):
        bh.plot_weekday_hour(table, max_groups=2)

    perf = bh.channel_performance(_spend(), _orders())
    fig = bh.plot_channel_roi(perf)
    ax = fig.axes[0]
    with_roi = perf.filter(pl.col("roi").is_not_null())
    assert [float(p.get_height()) for p in ax.patches] == with_roi["roi"].to_list()
    assert [t.get_text() for t in ax.texts] == with_roi["roi_label"].to_list()
    plt.close(fig)
