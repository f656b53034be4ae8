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
