"""The en/zh catalogue of custlab.campaigns and custlab.attribution: the same keys and the same fields.

(Their modules' ``__all__`` is checked by tests/test_layout.py for the whole library, and their doctests run
with the suite's --doctest-modules.)
"""

from __future__ import annotations

import json
from importlib import resources

import pytest


@pytest.mark.parametrize("area", ["campaigns", "attribution"])
def test_chinese_catalogue_is_complete(area):
    folder = resources.files("custlab") / "locale"
    en = json.loads((folder / "en" / f"{area}.json").read_text(encoding="utf-8"))["text"]
    zh = json.loads((folder / "zh" / f"{area}.json").read_text(encoding="utf-8"))["text"]
    assert set(en) == set(zh)
    for key, template in en.items():
        assert key.startswith(area + ".")
        fields = {f.split("}")[0] for f in template.split("{")[1:]}
        assert fields == {f.split("}")[0] for f in zh[key].split("{")[1:]}, key
