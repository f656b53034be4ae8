"""The one way custlab draws (custlab._plotting): fonts for Chinese labels (moved here with custlab/plots.py's removal)."""

from __future__ import annotations

import pytest

from custlab import _plotting
from custlab.exceptions import CJKFontWarning


def test_chinese_labels_fall_back_with_a_warning(monkeypatch):
    import matplotlib as mpl

    before = list(mpl.rcParams["font.sans-serif"])
    monkeypatch.setattr(_plotting, "find_cjk_font", lambda: None)
    with pytest.warns(CJKFontWarning, match=r"pip install mplfonts.*fonts-wqy-microhei"):
        assert _plotting.use_language_font("zh") is None
    assert mpl.rcParams["font.sans-serif"] == before
    assert _plotting.use_language_font("en") is None


def test_a_cjk_font_is_found_from_pypi():
    assert _plotting.find_cjk_font() is not None  # mplfonts is in the test extra


def test_figures_are_built_without_pyplot():
    import matplotlib.pyplot as plt

    opened = plt.get_fignums()
    fig, ax = _plotting.figure_axes()
    assert ax.figure is fig and plt.get_fignums() == opened
    assert _plotting.figure_axes(ax) == (fig, ax)


def test_every_plot_function_draws_chinese_in_a_cjk_font(monkeypatch):
    """A chart asked for in Chinese from the API showed boxes unless use_language_font("zh") had been called first
    (only the notebooks and the report did): every public plot_* puts a CJK font first when language="zh"."""
    import importlib
    import inspect
    import pkgutil

    import matplotlib as mpl
    import polars as pl

    import custlab

    plots = {}
    for info in pkgutil.walk_packages(custlab.__path__, "custlab."):
        if ".report" in info.name or ".notebooks" in info.name or info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if name.startswith("plot_") and inspect.isfunction(obj) and obj.__module__.startswith("custlab"):
                plots[f"{obj.__module__}.{obj.__qualname__}"] = obj
    assert len(plots) >= 40
    assert [name for name, plot in plots.items() if not hasattr(plot, "__wrapped__")] == []
    assert {inspect.signature(plot).parameters["language"].default for plot in plots.values()} == {"en", None}

    import datetime as dt

    from custlab.cohorts import cohort_retention, plot_cohort_heatmap

    table = cohort_retention(pl.DataFrame({"customer_id": [7, 8], "order_id": [1, 2], "amount": [5.0, 9.0],
                                           "order_date": [dt.datetime(2023, 11, 30), dt.datetime(2023, 12, 1)]}))
    monkeypatch.setitem(mpl.rcParams, "font.sans-serif", ["DejaVu Sans"])
    plot_cohort_heatmap(table)  # English: the settings are left alone
    assert mpl.rcParams["font.sans-serif"] == ["DejaVu Sans"]
    plot_cohort_heatmap(table, language="zh")
    assert mpl.rcParams["font.sans-serif"][0] == _plotting.find_cjk_font()
