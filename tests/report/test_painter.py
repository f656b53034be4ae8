"""The chart painter: a helper process draws the report's charts while the kernel computes, to the same bytes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pytest

from custlab.report import html, painter
from custlab.report.parts import Chart
from custlab.report.text import Text

from .conftest import compute_shop


@pytest.fixture
def running(monkeypatch):
    """The module's painter, started for one test and stopped after it."""
    monkeypatch.setattr(painter, "_PAINTER", None)
    started = painter.start()
    assert started is not None and painter.active()
    yield started
    painter.stop()
    assert not painter.active()


def _all_charts(figures) -> list[Chart]:
    return [chart for part in figures.parts.values() for chart in part.charts]


def test_no_painter_outside_a_report_kernel():
    assert not painter.active()
    assert painter.submit(object(), "en", 10.0) is None


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_helper_draws_every_chart_to_the_kernels_bytes(shop_figures, language):
    charts = _all_charts(shop_figures)
    assert len(charts) >= 8
    helper = painter.Painter()
    try:
        futures = [helper.submit(chart, language, 10.0) for chart in charts]
        drawn = [future.result(timeout=120) for future in futures]
    finally:
        helper.close()
    assert drawn == [html.draw_png(chart, language, 10.0) for chart in charts]
    assert helper.process.poll() is not None  # closed: the helper has ended


def _plain_chart(language: str):
    from custlab._plotting import new_figure

    fig, ax = new_figure(4, 3)
    ax.bar([0, 1], [2, 3])
    return fig


def test_a_chart_the_helper_cannot_take_is_drawn_in_the_kernel(running):
    local = Chart("local", Text("report.section.trend", {}), lambda language: _plain_chart(language))  # no pickle
    shared = Chart("shared", Text("report.section.trend", {}), partial(_plain_chart))
    for chart in (local, shared):
        html.paint_later(chart, language="en")
    pending = html._PNG_CACHE[local][("en", 10.0)]
    with pytest.raises(RuntimeError, match="cannot be pickled"):
        pending.result(timeout=60)
    assert html.chart_png(local, language="en") == html.draw_png(local, "en", 10.0)
    assert html.chart_png(shared, language="en") == html.draw_png(shared, "en", 10.0)
    assert isinstance(html._PNG_CACHE[local][("en", 10.0)], str)  # the future is replaced by its PNG


def test_charts_wait_for_a_stopped_painter_no_longer(running):
    chart = Chart("shared", Text("report.section.trend", {}), partial(_plain_chart))
    running.close()  # stopped before drawing: the kernel draws it
    assert not painter.active()
    assert running.submit(chart, "en", 10.0).exception(timeout=5) is not None
    assert html.chart_png(chart, language="en", width=5.0) == html.draw_png(chart, "en", 5.0)


def test_the_report_hands_each_sections_charts_over_and_the_page_is_the_same(running, shop_tables, shop_november,
                                                                             shop_figures):
    figures = compute_shop(shop_tables, "2024-12", previous=shop_november.key_figures())
    charts = _all_charts(figures)
    assert charts and all(("en", 10.0) in html._PNG_CACHE[c] for c in charts)  # handed over as each section ended
    info = {"version": "0.test", "parameters": {"month": "2024-12"}}
    page = html.render_html(figures, language="en", run_info=info)
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert images == [html.draw_png(chart, "en", 10.0) for chart in _all_charts(shop_figures)]
    assert page == html.render_html(shop_figures, language="en", run_info=info)


def _state(pid: int) -> str:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return "gone"
    return re.search(r"State:\s+(\w)", status).group(1)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_the_helper_ends_when_its_kernel_is_killed():
    code = ("import time, custlab.report.painter as p\n"
            "print(p.start().process.pid, flush=True)\n"
            "time.sleep(120)\n")
    kernel = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
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
