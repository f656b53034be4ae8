"""Plot helpers shared by the analysis modules: fonts for Chinese labels."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

#: Font families that can draw Chinese, in order of preference.
CJK_FAMILIES = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei", "SimHei", "Microsoft YaHei", "PingFang SC", "Heiti SC", "Noto Sans CJK JP",
)


class CJKFontWarning(UserWarning):
    """No font that can draw Chinese was found; labels will show as empty boxes."""


def find_cjk_font() -> str | None:
    """Name of an installed font family that draws Chinese, registering mplfonts' Noto Sans CJK if needed.

    Looks among the fonts matplotlib knows (system fonts such as Debian's
    ``fonts-wqy-microhei`` or ``fonts-noto-cjk``), then in the ``mplfonts``
    package from PyPI (``pip install custlab[zh]``). Returns None when there is none.
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

    This changes matplotlib's settings for the session, so call it
    explicitly (the report notebook does, when ``language == "zh"``); custlab
    never calls it on import. Without a CJK font it warns (with the fix) and
    leaves the settings alone.
    """
    if language != "zh":
        return None
    import matplotlib as mpl

    family = find_cjk_font()
    if family is None:
        warnings.warn(
            "No font that can draw Chinese was found, so Chinese plot labels will show as boxes. "
            "Install one: pip install 'custlab[zh]' (mplfonts, from PyPI) or apt-get install fonts-wqy-microhei.",
            CJKFontWarning,
            stacklevel=2,
        )
        return None
    current = list(mpl.rcParams["font.sans-serif"])
    mpl.rcParams["font.sans-serif"] = [family, *[f for f in current if f != family]]
    mpl.rcParams["font.family"] = "sans-serif"
    mpl.rcParams["axes.unicode_minus"] = False
    return family
