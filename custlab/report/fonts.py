"""Chinese text without a system CJK font: a subset of custlab's CJK font embedded as WOFF2.

The HTML report embeds only the glyphs its own text uses, cut from the font
the charts use (:func:`custlab._plotting.cjk_font_path`, e.g. Noto Sans CJK SC
from ``mplfonts``) with fontTools; a page of a few hundred distinct
characters costs some tens of kilobytes instead of the font's 16 MB.

Cutting the subset reads the whole font (1-2 s), so each subset is kept in
a cache folder, named by the hash of the font file's name, size and date and
of the characters: next month's report, which uses the same characters,
reads it back. The folder is ``$CUSTLAB_CACHE`` (``off`` turns the cache
off), else ``$XDG_CACHE_HOME/custlab``, else ``~/.cache/custlab``; a folder
that cannot be written only costs the time.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import os
import tempfile
import warnings
from pathlib import Path

from custlab._plotting import cjk_font_path
from custlab.exceptions import CJKFontWarning

__all__ = ["FONT_FAMILY", "cache_folder", "font_face_css", "needs_cjk_font", "subset_woff2"]

#: CSS family name of the embedded subset.
FONT_FAMILY = "CustlabCJK"


def needs_cjk_font(char: str) -> bool:
    """True for characters a Latin system font usually lacks: CJK, kana, hangul, full-width forms.

    >>> needs_cjk_font("客"), needs_cjk_font("，"), needs_cjk_font("é")
    (True, True, False)
    """
    return ord(char) >= 0x2E80


def cache_folder() -> Path | None:
    """Where font subsets are kept (see the module docstring); None when the cache is off."""
    chosen = os.environ.get("CUSTLAB_CACHE", "").strip()
    if chosen.lower() in {"off", "0", "none", "false"}:
        return None
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or Path.home() / ".cache"
    return Path(base) / "custlab"


@functools.lru_cache(maxsize=8)
def subset_woff2(chars: frozenset[str]) -> bytes | None:
    """WOFF2 bytes of the CJK font cut down to ``chars``; None when no CJK font is installed (cached on disk)."""
    path = cjk_font_path()
    if path is None:
        return None
    folder = cache_folder()
    stat = Path(path).stat()
    key = hashlib.sha256(f"{Path(path).name}:{stat.st_size}:{stat.st_mtime_ns}:".encode()
                         + "".join(sorted(chars)).encode("utf-8")).hexdigest()[:32]
    cached = folder / "fonts" / f"{key}.woff2" if folder is not None else None
    if cached is not None and cached.is_file():
        return cached.read_bytes()
    data = _subset(path, chars)
    if cached is not None:
        _keep(cached, data)
    return data


def _keep(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically; a folder that cannot be written is skipped."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False, suffix=".tmp") as handle:
            handle.write(data)
        os.replace(handle.name, target)
    except OSError:
        pass


def _subset(path, chars: frozenset[str]) -> bytes:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.flavor = "woff2"
    options.layout_features = []  # only the glyphs of the characters: no alternates, a third of the size
    options.notdef_outline = True
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6]
    options.hinting = False
    font = TTFont(str(path), lazy=True, recalcBBoxes=False)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text="".join(sorted(chars)))
    subsetter.subset(font)
    buffer = io.BytesIO()
    font.flavor = "woff2"
    font.save(buffer)
    return buffer.getvalue()


def font_face_css(text: str, *, all_characters: bool = False) -> str:
    """An ``@font-face`` rule embedding the glyphs of ``text`` that need a CJK font ("" when there are none).

    With ``all_characters`` the subset holds every character of ``text`` (the
    Chinese report puts the embedded font first, so Latin letters and digits
    come from it too and match the Chinese).
    """
    chars = frozenset(c for c in text if c.isprintable() and (all_characters or needs_cjk_font(c)))
    if not any(needs_cjk_font(c) for c in chars):
        return ""
    data = subset_woff2(chars)
    if data is None:
        warnings.warn(
            "No CJK font was found, so the report's Chinese text relies on the reader's system fonts. "
            "Install one: pip install mplfonts (from PyPI) or apt-get install fonts-noto-cjk.",
            CJKFontWarning,
            stacklevel=2,
        )
        return ""
    encoded = base64.b64encode(data).decode("ascii")
    return (f'@font-face{{font-family:"{FONT_FAMILY}";font-style:normal;font-weight:400;font-display:swap;'
            f'src:url(data:font/woff2;base64,{encoded}) format("woff2");}}')
