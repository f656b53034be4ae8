"""The label catalogue: every language has the same keys, and no key is translated twice."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from custlab._types import LANGUAGES


def _entries(language: str) -> dict[tuple[str, str], list[tuple[str, str]]]:
    seen: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for entry in (resources.files("custlab") / "locale" / language).iterdir():
        if entry.name.endswith(".json"):
            data = json.loads(entry.read_text(encoding="utf-8"))
            for kind in ("text", "values"):
                for key, value in data.get(kind, {}).items():
                    seen.setdefault((kind, key), []).append((entry.name, value))
    return seen


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_key_is_defined_twice_with_different_words(language):
    clashes = {k: v for k, v in _entries(language).items() if len({value for _, value in v}) > 1}
    assert clashes == {}


def test_every_english_text_has_a_chinese_one():
    english = {k for k in _entries("en") if k[0] == "text"}
    chinese = {k for k in _entries("zh") if k[0] == "text"}
    assert sorted(key for _, key in english - chinese) == []


def test_chinese_hints_name_the_columns_and_files_as_the_data_must_spell_them():
    # The Chinese "not shown" hints translated some column names (活动编号、客户编号) and kept others
    # (customer_id、event_time): a user could not tell which headers the file must have.
    import re

    def texts(language: str) -> dict[str, str]:
        return {key: value for (kind, key), found in _entries(language).items() if kind == "text"
                for _, value in found[:1]}

    english, chinese = texts("en"), texts("zh")
    for key, text in english.items():
        if key.startswith("report.absent."):
            names = set(re.findall(r"\b[a-z]+(?:_[a-z]+)+\b|\b[a-z_]+\.csv\b", text))
            assert {n for n in names if n not in chinese[key]} == set(), key


def test_every_library_code_with_an_underscore_reads_as_words_in_english_too():
    # "live_stream" stood in the attribution sentences and chart while the tables (and Chinese, 直播) read "live
    # stream": a code the library translates into Chinese has English words as well.
    english = {key for kind, key in _entries("en") if kind == "values"}
    chinese = {key for kind, key in _entries("zh") if kind == "values"}
    assert sorted(key for key in chinese - english if "_" in key) == []


def test_the_attribution_sentences_name_a_channel_as_its_table_does():
    from custlab._i18n import label
    from custlab.report.text import tr

    for code in ("live_stream", "mini_program", "remove_from_cart", "white_collar"):
        assert label(code, "en") == tr(code, "en") and "_" not in label(code, "en")
