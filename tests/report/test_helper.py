"""The report's helper process: it runs analyses and draws charts beside the kernel, to the same bytes."""

from __future__ import annotations

import math
import os
import re
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pytest

from custlab.report import helper, html
from custlab.report.parts import Chart
from custlab.report.text import Text

from .conftest import compute_shop


@pytest.fixture
def running(monkeypatch):
    """The module's helper, started for one test (on any number of cores) and stopped after it."""
    monkeypatch.setattr(helper, "_HELPER", None)
    monkeypatch.setattr(helper, "_cores", lambda: 2)
    monkeypatch.delenv("CUSTLAB_HELPER", raising=False)
    started = helper.start()
    assert started is not None and helper.active()
    yield started
    helper.stop()
    assert not helper.active()


def _all_charts(figures) -> list[Chart]:
    return [chart for part in figures.parts.values() for chart in part.charts]


def test_no_helper_outside_a_report_kernel():
    assert not helper.active()
    assert helper.draw_later(object(), "en", 10.0) is None
    assert helper.call_later(len, "abc") is None


@pytest.mark.parametrize("value", ["off", "OFF", "0"])
def test_the_helper_can_be_switched_off(monkeypatch, value):
    monkeypatch.setattr(helper, "_HELPER", None)
    monkeypatch.setenv("CUSTLAB_HELPER", value)
    assert helper.start() is None and not helper.active()


def test_no_helper_on_one_core(monkeypatch):
    monkeypatch.setattr(helper, "_HELPER", None)
    monkeypatch.setattr(helper, "_cores", lambda: 1)
    assert helper.start() is None


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_helper_draws_every_chart_to_the_kernels_bytes(shop_figures, language):
    charts = _all_charts(shop_figures)
    assert len(charts) >= 8
    second = helper.Helper()
    try:
        futures = [second.submit("draw", chart, language, 10.0) for chart in charts]
        drawn = [future.result(timeout=120) for future in futures]
    finally:
        second.close()
    assert drawn == [html.draw_png(chart, language, 10.0) for chart in charts]
    assert second.process.poll() is not None  # closed: the helper has ended


def _plain_chart(language: str):
    from custlab._plotting import new_figure

    fig, ax = new_figure(4, 3)
    ax.bar([0, 1], [2, 3])
    return fig


def test_a_chart_the_helper_cannot_take_is_drawn_in_the_kernel(running):
    local = Chart("local", Text("report.section.trend", {}), lambda language: _plain_chart(language))  # no pickle
    shared = Chart("shared", Text("report.section.trend", {}), partial(_plain_chart))
    for chart in (local, shared):
        html.draw_later(chart, language="en")
    pending = html._PNG_CACHE[local][("en", 10.0)]
    with pytest.raises(RuntimeError, match="cannot be pickled"):
        pending.result(timeout=60)
    assert html.chart_png(local, language="en") == html.draw_png(local, "en", 10.0)
    assert html.chart_png(shared, language="en") == html.draw_png(shared, "en", 10.0)
    assert isinstance(html._PNG_CACHE[local][("en", 10.0)], str)  # the future is replaced by its PNG


def test_charts_wait_for_a_stopped_helper_no_longer(running):
    chart = Chart("shared", Text("report.section.trend", {}), partial(_plain_chart))
    running.close()  # stopped before drawing: the kernel draws it
    assert not helper.active()
    assert running.submit("draw", chart, "en", 10.0).exception(timeout=5) is not None
    assert html.chart_png(chart, language="en", width=5.0) == html.draw_png(chart, "en", 5.0)


def test_the_report_hands_analyses_and_charts_over_and_the_page_is_the_same(running, shop_tables, shop_november,
                                                                             shop_figures):
    _warm(running)  # so it takes the demand outlook at once
    figures = compute_shop(shop_tables, "2024-12", previous=shop_november.key_figures())
    assert running.done["call"] >= 2  # the readiness check and the demand outlook
    charts = _all_charts(figures)
    assert charts and all(("en", 10.0) in html._PNG_CACHE[c] for c in charts)  # handed over as each section ended
    info = {"version": "0.test", "parameters": {"month": "2024-12"}}
    page = html.render_html(figures, language="en", run_info=info)
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert images == [html.draw_png(chart, "en", 10.0) for chart in _all_charts(shop_figures)]
    assert page == html.render_html(shop_figures, language="en", run_info=info)


def _idle(running: helper.Helper) -> None:
    """Wait until the helper asks for work (a job submitted now goes to it at once)."""
    deadline = time.monotonic() + 30
    while not running.idle and time.monotonic() < deadline:
        time.sleep(0.01)
    assert running.idle


def _warm(running: helper.Helper) -> None:
    """Wait until the helper has imported what it needs and asks for work."""
    assert running.submit("call", len, ("ready",), {}).result(timeout=120) == 5
    _idle(running)


def test_what_the_helper_has_not_started_is_taken_back(running):
    _warm(running)
    slow = helper.call_later(time.sleep, 1.0)
    queued = helper.call_later(sum, [1, 2, 3])
    assert helper.outcome(queued) is helper.NOT_DONE  # still waiting behind the slow one: the kernel does it
    assert queued.cancelled()
    assert helper.outcome(slow) is None  # under way: waited for
    _idle(running)
    assert helper.outcome(helper.call_later(sum, [1, 2, 3])) == 6
    _idle(running)
    failed = helper.call_later(math.sqrt, -1.0)
    assert helper.outcome(failed) is helper.NOT_DONE  # failed there: done here
    assert "ValueError" in str(failed.exception(timeout=0))


def test_waiting_for_the_helper_the_kernel_does_the_work_queued_last(running):
    _warm(running)
    slow = helper.call_later(time.sleep, 1.0)
    queued = [helper.call_later(sum, [i, 1]) for i in range(3)]
    assert helper.outcome(slow) is None
    assert [f.result(timeout=0) for f in queued] == [1, 2, 3]  # done here while the helper slept
    assert running.done["call"] == 2  # the readiness check and the sleep
    _idle(running)
    slow = helper.call_later(time.sleep, 0.5)
    failing = helper.call_later(math.sqrt, -1.0)
    assert helper.outcome(slow) is None
    assert isinstance(failing.exception(timeout=0), ValueError)  # failed here, while waiting
    assert helper.outcome(failing) is helper.NOT_DONE  # so whoever needs it runs it again and sees the error


def test_a_handed_over_analysis_is_picked_up_or_done_here_with_the_same_error(running, shop_tables):
    from custlab.report.context import Context
    from custlab.report.months import check_month

    data = {k: v for k, v in shop_tables.items() if not k.startswith("_")}
    ctx = Context(data, month=check_month(data["transactions"].lazy(), "2024-12"), source={})
    _warm(running)
    ctx.hand_over("root", (math.sqrt, (4.0,), {}))
    ctx.hand_over("bad", (math.sqrt, (-1.0,), {}))
    assert ctx.cached_call("root", (math.sqrt, (4.0,), {})) == 2.0
    for _ in range(2):  # the kernel's own run raises, and the error is kept like any other
        with pytest.raises(ValueError, match="math domain error"):
            ctx.cached_call("bad", (math.sqrt, (-1.0,), {}))
    assert running.done["call"] == 2  # the readiness check and the square root of 4; the failure is not counted


def _state(pid: int) -> str:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return "gone"
    return re.search(r"State:\s+(\w)", status).group(1)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_the_helper_ends_when_its_kernel_is_killed():
    code = ("import time, custlab.report.helper as p\n"
            "p._cores = lambda: 2\n"
            "print(p.start().process.pid, flush=True)\n"
            "time.sleep(120)\n")
    env = {k: v for k, v in os.environ.items() if k != "CUSTLAB_HELPER"}
    kernel = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
    try:
        helper = int(kernel.stdout.readline())
        assert _state(helper) in "RS"
        os.kill(kernel.pid, signal.SIGKILL)
        kernel.wait(timeout=30)
        deadline = time.monotonic() + 30
        while _state(helper) not in ("gone", "Z") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _state(helper) in ("gone", "Z")  # it read the end of its pipe and stopped
    finally:
        kernel.kill()


def test_imports_frozen_pauses_the_collector_and_freezes_what_was_imported():
    import gc

    from custlab.report.helper import imports_frozen
    from custlab.report.runner import QUALITY_WARM_UP, REPORT_WARM_UP

    for code in (REPORT_WARM_UP, QUALITY_WARM_UP):
        compile(code, "warm-up", "exec")  # the kernels run these strings
    before = gc.get_freeze_count()
    try:
        with imports_frozen():
            assert not gc.isenabled()
            made = [[i] for i in range(1000)]
        assert gc.isenabled() and gc.get_freeze_count() >= before + len(made)
        gc.disable()  # a collector the caller had switched off stays off
        with pytest.raises(ImportError), imports_frozen():
            import custlab_no_such_module  # noqa: F401
        assert not gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()


def test_the_helpers_warm_up_chart_draws_in_each_language(monkeypatch):
    # It used to fail silently (its drawing function took no language), so the fonts were never warmed.
    import custlab.report.html as html
    from custlab.report import helper

    real, drawn = html.draw_png, []

    def spy(chart, language, width):
        png = real(chart, language, width)  # an error fails the test here, not swallowed by the warm-up
        drawn.append((language, len(png)))
        return png

    monkeypatch.setattr(html, "draw_png", spy)
    helper._warm_drawing()
    assert [language for language, _ in drawn] == ["en", "zh"] and all(size > 1000 for _, size in drawn)


def test_the_helper_runs_at_the_kernels_priority(running):
    # niceness 10 made the kernel wait for the helper's charts: same-priority runs were faster in 12 of 12 pairs
    _warm(running)
    assert helper.outcome(helper.call_later(os.nice, 0)) == os.nice(0)
