"""The one way custlab draws: a Figure built without pyplot, fonts for Chinese labels, one palette.

Every ``plot_*`` function takes ``ax=None`` (``fig=None`` for multi-panel
figures), draws on :func:`figure_axes`, and returns the
:class:`matplotlib.figure.Figure`. No pyplot state is touched, so Jupyter
shows each figure exactly once (as the cell's value) and nothing leaks
between reports.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import warnings
from pathlib import Path
from typing import Any

from custlab.exceptions import CJKFontWarning

__all__ = [
    "CJK_FAMILIES", "PALETTE", "find_cjk_font", "figure_axes", "in_language_font", "new_figure", "use_language_font",
]

#: Font families that can draw Chinese, in order of preference.
CJK_FAMILIES = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei", "SimHei", "Microsoft YaHei", "PingFang SC", "Heiti SC", "Noto Sans CJK JP",
)
#: The report's palette (seaborn "deep"), first colour for single-series charts.
PALETTE = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C", "#CCB974", "#64B5CD")


def new_figure(width: float = 7.0, height: float = 5.0, **subplots: Any):
    """A pyplot-free Figure with constrained layout and ``fig.subplots(**subplots)``: ``(fig, axes)``."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.subplots(**subplots)


def figure_axes(ax=None, *, figsize: tuple[float, float] = (7.0, 5.0)):
    """``(fig, ax)``: the caller's axes and their figure, or a new pyplot-free figure with one axes."""
    if ax is not None:
        return ax.figure, ax
    return new_figure(*figsize)


def cjk_font_path() -> Path | None:
    """Path of the CJK font file custlab uses for charts and for the HTML report's embedded subset."""
    from matplotlib import font_manager

    family = find_cjk_font()
    if family is None:
        return None
    for entry in font_manager.fontManager.ttflist:
        if entry.name == family:
            return Path(entry.fname)
    return None


def find_cjk_font() -> str | None:
    """Name of an installed font family that draws Chinese, registering mplfonts' Noto Sans CJK if needed.

    Looks among the fonts matplotlib knows (system fonts such as Debian's
    ``fonts-wqy-microhei`` or ``fonts-noto-cjk``), then in the ``mplfonts``
    package from PyPI. Returns None when there is none.
    """
    from matplotlib import font_manager

    known = {f.name for f in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in known:
            return family
    spec = importlib.util.find_spec("mplfonts")
    if spec and spec.submodule_search_locations:
        path = Path(spec.submodule_search_locations[0]) / "fonts" / "NotoSansCJKsc-Regular.otf"
        if path.exists():
            font_manager.fontManager.addfont(str(path))
            return font_manager.FontProperties(fname=str(path)).get_name()
    return None


def use_language_font(language: str = "en") -> str | None:
    """Make matplotlib draw labels in ``language``; for "zh", put a CJK font first. Returns the family used.

    This changes matplotlib's settings for the session: custlab never calls it
    on import, only when asked for Chinese (the report with ``language ==
    "zh"``, and every ``plot_*`` function with ``language="zh"``, through
    :func:`in_language_font`). Without a CJK font it warns (with the fix) and
    leaves the settings alone.
    """
    if language != "zh":
        return None
    import matplotlib as mpl

    family = find_cjk_font()
    if family is None:
        warnings.warn(
            "No font that can draw Chinese was found, so Chinese plot labels will show as boxes. "
            "Install one: pip install mplfonts (from PyPI) or apt-get install fonts-wqy-microhei.",
            CJKFontWarning,
            stacklevel=2,
        )
        return None
    current = list(mpl.rcParams["font.sans-serif"])
    mpl.rcParams["font.sans-serif"] = [family, *[f for f in current if f != family]]
    mpl.rcParams["font.family"] = "sans-serif"
    mpl.rcParams["axes.unicode_minus"] = False
    return family


def in_language_font(plot):
    """Decorate a ``plot_*`` function so that ``language="zh"`` also puts a CJK font first.

    Without it a chart drawn from the API with Chinese labels showed boxes (and one "Glyph missing" warning per
    character) unless the caller had called :func:`use_language_font` first, as the notebooks and the report do.
    """
    signature = inspect.signature(plot)
    default = signature.parameters["language"].default

    @functools.wraps(plot)
    def wrapper(*args: Any, **kwargs: Any):
        language = signature.bind_partial(*args, **kwargs).arguments.get("language", default)
        if language is None and args:  # None: the language of what is drawn (plot_migration)
            language = getattr(args[0], "language", None)
        use_language_font(language)
        return plot(*args, **kwargs)

    return wrapper
