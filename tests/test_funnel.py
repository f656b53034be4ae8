"""Funnels and paths (custlab.funnel).

References: REES46 events (counts computed directly, ordered funnel by a
per-session state machine in plain Python), the synthetic shop (planted step
rates), and exhaustive enumeration of ordered chains on random event logs.
"""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custlab.data.schema import validate
from custlab.exceptions import CustlabError, SchemaError
from custlab.funnel import (
    REES46_COLUMNS, EventOrderWarning, drop_off_reasons, funnel, plot_funnel, top_paths, transition_matrix,
)

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
    return validate(pl.read_parquet(rees46_file), "events", columns=REES46_COLUMNS)


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
    f = funnel(rees, STEPS, mode="both")
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
    f = funnel(rees, STEPS, unit="customer", mode="both")
    assert f.filter(pl.col("funnel") == "reached")["units"].to_list() == [
        rees.filter(pl.col("event") == e)["customer_id"].n_unique() for e in STEPS
    ]
    depths = _state_machine_depths(rees, "customer_id", STEPS)
    assert f.filter(pl.col("funnel") == "ordered")["units"].to_list() == [
        sum(d >= k for d in depths.values()) for k in (1, 2, 3)
    ]
    window = dt.timedelta(minutes=5)
    fw = funnel(rees, STEPS, unit="customer", within="5m")
    depths_w = _state_machine_depths(rees, "customer_id", STEPS, window)
    assert fw["units"].to_list() == [sum(d >= k for d in depths_w.values()) for k in (1, 2, 3)]
    assert fw["units"][2] < f.filter(pl.col("funnel") == "ordered")["units"][2]


def test_rees46_streams_from_parquet_like_eager(rees46_file, rees):
    lazy = validate(pl.scan_parquet(rees46_file), "events", columns=REES46_COLUMNS)
    assert isinstance(lazy, pl.LazyFrame)
    a = funnel(lazy, STEPS, mode="both", by="brand")
    b = funnel(rees, STEPS, mode="both", by="brand")
    assert a.equals(b)


def test_categorical_event_column_gives_the_same_funnel(rees):
    # dictionary-encoded event columns (Parquet) are compared on their codes: same numbers as text
    expected = funnel(rees, STEPS, mode="both")
    windowed = funnel(rees, STEPS, unit="customer", within="5m")
    for dtype in (pl.Categorical, pl.Enum(STEPS)):
        coded = rees.with_columns(pl.col("event").cast(dtype))
        assert funnel(coded.lazy(), STEPS, mode="both").equals(expected)
        assert funnel(coded, STEPS, unit="customer", within="5m").equals(windowed)
        with pytest.raises(CustlabError, match=r"\['basket'\] never occur"):
            funnel(coded, ["view", "basket"])


def test_breakdown_equals_funnel_of_the_slice(rees):
    f = funnel(rees, STEPS, by="category_code", mode="both")
    for value in (None, "electronics.smartphone"):
        keep = pl.col("category_code").is_null() if value is None else pl.col("category_code") == value
        part = f.filter(keep).drop("category_code")
        assert part.equals(funnel(rees.filter(keep), STEPS, mode="both"))
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
            funnel(ev, steps, within=within, by="g")
        return
    f = funnel(ev, steps, within=within, by="g", mode="both" if within is None else "ordered")
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
    assert funnel(shuffled, steps, within=within, by="g", mode="both" if within is None else "ordered").equals(f)


def test_rates_and_drop_off_columns():
    ev = _ev([(1, "view", 0), (1, "cart", 1), (1, "purchase", 2), (2, "view", 0), (2, "cart", 3), (3, "view", 0),
              (4, "view", 0)])
    f = funnel(ev, STEPS)
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
    f = funnel(ev, STEPS, within="30m")
    assert f["units"].to_list() == [2, 2, 1]
    assert funnel(ev, STEPS, within=dt.timedelta(hours=1))["units"].to_list() == [2, 2, 2]


# --------------------------------------------------------------------------- bad input


def test_unknown_step_names_are_refused_with_the_events_present(rees):
    with pytest.raises(CustlabError, match=r"\['purchse'\] never occur.*'view' \(17,055\).*'purchse' -> 'purchase'"):
        funnel(rees, ["view", "cart", "purchse"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"steps": ["view"]}, "at least two steps"),
        ({"steps": ["view", "cart", "view"]}, r"name \['view'\] more than once"),
        ({"steps": "view"}, "must be a list of event names"),
        ({"steps": STEPS, "within": "10 parsecs"}, "within must be a datetime.timedelta, a number of days or text"),
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
        funnel(ev, **kwargs)


def test_missing_columns_and_null_units():
    ev = _ev([(1, "view", 0), (1, "cart", 1), (1, "purchase", 2)])
    with pytest.raises(SchemaError, match="missing column.*session_id"):
        funnel(ev.drop("session_id"), STEPS)
    with pytest.raises(SchemaError, match="missing column.*'device'"):
        funnel(ev, STEPS, by="device")
    nulls = ev.with_columns(session_id=pl.when(pl.col("event") == "cart").then(None).otherwise(pl.col("session_id")))
    with pytest.raises(CustlabError, match=r"1 funnel event\(s\) have no session_id"):
        funnel(nulls, STEPS)
    assert funnel(ev.drop("session_id"), STEPS, unit="customer")["units"].to_list() == [1, 1, 1]


def test_events_out_of_time_order_are_sorted_and_reported():
    rows = [(1, "view", 0), (1, "cart", 1), (1, "purchase", 2), (2, "view", 0), (2, "cart", 5)]
    ev = _ev(rows)
    backwards = ev.reverse()
    # the funnel reads timestamps only: same result, nothing to report
    assert funnel(backwards, STEPS, mode="both").equals(funnel(ev, STEPS, mode="both"))
    # paths depend on the order: sorted, with a warning that says how many rows were out of order
    with pytest.warns(EventOrderWarning, match=r"3 of 5 events were out of time order within their session"):
        paths = top_paths(backwards)
    assert paths.equals(top_paths(ev))
    with pytest.warns(EventOrderWarning):
        assert transition_matrix(backwards).equals(transition_matrix(ev))


# --------------------------------------------------------------------------- drop-off reasons


def test_drop_off_reasons_recorded_derived_and_absent():
    ev = _ev([(1, "view", 0), (1, "exit", 1), (2, "view", 0), (2, "exit", 1), (3, "view", 0), (3, "cart", 1),
              (3, "exit", 2), (4, "view", 0), (4, "cart", 1), (4, "purchase", 2), (5, "view", 0)])
    reasons = ev.with_columns(
        reason=pl.when(pl.col("event") == "exit").then(pl.Series(["price", None, None, "price", None, None, "delivery",
                                                                   None, None, None, None]))
    )
    out = drop_off_reasons(reasons, STEPS)
    assert out.rows() == [
        ("view", "cart", "price", 1, 1 / 3), ("view", "cart", "(not recorded)", 2, 2 / 3),
        ("cart", "purchase", "delivery", 1, 1.0),
    ]
    # stopped units reconcile with the ordered funnel's drop-off
    f = funnel(reasons, STEPS)
    stopped = out.group_by("stopped_after").agg(pl.col("units").sum())
    assert dict(stopped.iter_rows()) == {"view": f["drop_off"][1], "cart": f["drop_off"][2]}
    # a comparison recorded on the events, turned into a reason by an expression
    priced = ev.with_columns(price=pl.Series([10.0] * 11),
                             competitor_price=pl.Series([8.0, 8, 12, 12, 12, 12, 12, 8, 8, 8, 8]))
    derived = drop_off_reasons(
        priced, STEPS,
        reason=pl.when(pl.col("price") > pl.col("competitor_price")).then(pl.lit("dearer than competitor")),
    )
    # sessions 1 and 5 saw a dearer price than the competitor's and stopped at "view"
    assert ("view", "cart", "dearer than competitor", 2, 2 / 3) in derived.rows()
    # no reason column: the table says so instead of guessing
    absent = drop_off_reasons(ev, STEPS)
    assert absent["reason"].unique().to_list() == ["(not recorded: events have no 'reason' column)"]
    assert absent["units"].to_list() == [3, 1]
    zh = drop_off_reasons(ev, STEPS, language="zh")
    assert zh["reason"][0].startswith("(未记录")


# --------------------------------------------------------------------------- paths


def test_top_paths_and_transitions_on_rees46(rees):
    paths = top_paths(rees, top_n=5)
    only_views = rees.group_by("session_id").agg((pl.col("event") == "view").all().alias("v"))["v"].sum()
    assert paths.row(0)[:3] == ("view", 1, only_views)
    assert paths["share"][0] == pytest.approx(only_views / 5066)
    assert paths["units"].is_sorted(descending=True)

    long = transition_matrix(rees, wide=False)
    pdf = rees.select("session_id", "event_time", "event").to_pandas()
    pdf = pdf.sort_values(["session_id", "event_time"], kind="stable")
    pdf["nxt"] = pdf.groupby("session_id")["event"].shift(-1).fillna("(exit)")
    reference = pdf.groupby(["event", "nxt"]).size()
    got = long.filter(pl.col("from_event") != "(start)")
    assert {(a, b): n for a, b, n, _ in got.iter_rows()} == {k: int(v) for k, v in reference.items()}
    wide = transition_matrix(rees)
    cart = wide.filter(pl.col("from_event") == "cart").row(0, named=True)
    assert cart["purchase"] == pytest.approx(reference[("cart", "purchase")] / (pdf["event"] == "cart").sum())
    shares = wide.select(pl.sum_horizontal(pl.exclude("from_event", "transitions")))
    assert np.allclose(shares.to_series().to_numpy(), 1.0)
    assert wide["from_event"][0] == "(start)"


def test_paths_collapse_and_cut():
    ev = _ev([(1, "view", 0), (1, "view", 1), (1, "cart", 2), (1, "view", 3), (1, "purchase", 4)])
    assert top_paths(ev)["path"].to_list() == ["view > cart > view > purchase"]
    assert top_paths(ev, collapse_repeats=False)["length"].to_list() == [5]
    assert top_paths(ev, max_steps=2)["path"].to_list() == ["view > cart > ..."]
    counts = transition_matrix(ev, normalize=False)
    assert counts.filter(pl.col("from_event") == "view").select("view", "cart", "purchase").row(0) == (1, 1, 1)
    with pytest.raises(CustlabError, match="top_n must be a positive whole number"):
        top_paths(ev, top_n=0)


# --------------------------------------------------------------------------- synthetic shop


@pytest.fixture(scope="module")
def shop():
    from custlab.synthetic import make_shop

    return make_shop(5000, seed=11, events_per_customer=20)


def test_planted_funnel_rates_come_back(shop):
    planted = shop.truth["funnel"]
    f = funnel(shop.events, ["exposure", "click", "cart", "pay"], mode="both")
    ordered = f.filter(pl.col("funnel") == "ordered")["rate_from_previous"].to_list()[1:]
    expected = [planted["exposure_to_click"], planted["click_to_cart"], planted["cart_to_pay"]]
    assert expected == [0.30, 0.15, 0.10]
    # about 74k sessions, 22k clicks, 3.3k carts: 2 points is over 4 standard errors at each step
    assert ordered == pytest.approx(expected, abs=0.02)
    # the shop's sessions never skip a step, so both funnels agree
    units = {kind: f.filter(pl.col("funnel") == kind)["units"].to_list() for kind in ("ordered", "reached")}
    assert units["ordered"] == units["reached"]


# --------------------------------------------------------------------------- plot


def test_plot_funnel_bars_and_labels(rees):
    f = funnel(rees, STEPS, mode="both")
    fig = plot_funnel(f)
    ax = fig.axes[0]
    assert len(ax.containers) == 2
    for container, kind in zip(ax.containers, ["ordered", "reached"], strict=True):
        assert [int(b.get_height()) for b in container] == f.filter(pl.col("funnel") == kind)["units"].to_list()
    texts = [t.get_text() for t in ax.texts]
    assert "200\n169.5%" in texts and "5,066" in texts
    assert ax.get_ylabel() == "sessions"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["ordered (steps in order)", "reached (did the step at all)"]
    fig = plot_funnel(funnel(rees, STEPS, unit="customer"), language="zh")
    assert fig.axes[0].get_ylabel() == "客户数" and fig.axes[0].get_legend() is None


def test_every_step_name_custlab_produces_has_chinese():
    from custlab._i18n import label
    from custlab.synthetic.params import EVENT_NAMES

    for name in (*EVENT_NAMES, "view", "cart", "purchase", "remove_from_cart", "(start)", "(exit)", "ordered",
                 "reached"):
        assert label(name, "zh") != name, name
    assert [label(s, "zh") for s in EVENT_NAMES] == ["曝光", "点击", "加购", "支付"]


@pytest.mark.filterwarnings("ignore:Glyph .* missing from font")  # Chinese labels without a CJK font installed
def test_plot_funnel_is_drawn_without_pyplot_with_chinese_steps(rees):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    fig = plot_funnel(funnel(rees, STEPS), language="zh")
    assert plt.get_fignums() == before
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["浏览", "加购", "购买"]
    assert ax.get_title() == "转化漏斗" and ax.get_xlabel() == "步骤"
