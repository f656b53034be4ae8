"""One label catalogue for every word custlab writes: headings, sentences, headers, values.

The tables live in ``custlab/locale/<language>/<area>.json``; each file holds
``{"text": {key: template}, "values": {english value: translation}}``.
``text`` keys are namespaced by area (``"rfm.title"``) and are templates for
:meth:`str.format`; ``values`` translate categorical values the library itself
produces (segment names, reasons, funnel steps) and leave anything else,
such as the user's own data, unchanged. Adding a language means adding one
folder of tables beside ``en/`` and naming it in :data:`custlab._types.LANGUAGES`.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from custlab._types import LANGUAGES
from custlab.exceptions import CustlabError

__all__ = ["check_language", "label", "labels", "t", "translate_values"]


def check_language(language: str) -> str:
    """``language`` if custlab has a table for it, else a clear error.

    >>> check_language("zh")
    'zh'
    """
    if language not in LANGUAGES:
        raise CustlabError(f"language must be one of {', '.join(map(repr, LANGUAGES))}, got {language!r}.")
    return language


@functools.cache
def _table(language: str) -> tuple[dict[str, str], dict[str, str]]:
    text: dict[str, str] = {}
    values: dict[str, str] = {}
    folder = resources.files("custlab") / "locale" / language
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            data = json.loads(entry.read_text(encoding="utf-8"))
            text.update(data.get("text", {}))
            values.update(data.get("values", {}))
    return text, values


def t(key: str, language: str = "en", /, **fields: Any) -> str:
    """The text for ``key`` in ``language``, formatted with ``fields``; English when the language lacks it.

    A key missing from English too is a programming error (KeyError).
    """
    check_language(language)
    text = _table(language)[0].get(key)
    if text is None:
        text = _table("en")[0][key]
    return text.format(**fields) if fields else text


def labels(prefix: str, language: str = "en") -> dict[str, str]:
    """Every text under ``prefix.`` as ``{short key: text}`` (English filling gaps).

    >>> labels("common", "en")["customers"]
    'Customers'
    """
    check_language(language)
    out = {k[len(prefix) + 1:]: v for k, v in _table("en")[0].items() if k.startswith(prefix + ".")}
    out.update({k[len(prefix) + 1:]: v for k, v in _table(language)[0].items() if k.startswith(prefix + ".")})
    return out


def label(value: Any, language: str = "en") -> Any:
    """A categorical value the library produces, in ``language``; anything unknown comes back unchanged.

    >>> label("High value", "zh")
    '高价值客户'
    >>> label("ACME Ltd", "zh")
    'ACME Ltd'
    """
    check_language(language)
    if not isinstance(value, str):
        return value
    return _table(language)[1].get(value, value)


def translate_values(values: Any, language: str = "en") -> Any:
    """``label`` over a list, or a polars Series / expression of strings (vectorised ``replace``)."""
    check_language(language)
    mapping = _table(language)[1]
    if hasattr(values, "replace") and not isinstance(values, str):
        return values.replace(mapping) if language != "en" else values
    return [label(v, language) for v in values]
