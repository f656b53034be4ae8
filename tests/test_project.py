"""Project housekeeping: environment.yml and pyproject.toml agree; notebooks are thin and clean."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[]", requirement.strip(), maxsplit=1)[0].lower()


def _env_lines() -> list[str]:
    """The package lines under ``dependencies:`` (not the channels, not the pip install of the project)."""
    text = (ROOT / "environment.yml").read_text().split("dependencies:", 1)[1]
    return [line.split("#", 1)[0].strip()[2:] for line in text.splitlines()
            if line.strip().startswith("- ") and not line.strip().startswith("- -e")]


def test_environment_yml_names_the_same_packages_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {_name(r) for r in project["dependencies"]} | {_name(r) for r in project["optional-dependencies"]["test"]}
    conda = {_name(line) for line in _env_lines()} - {"python", "pip", "pip:"}
    assert conda == declared


def test_environment_yml_bounds_match_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {_name(r): r.replace(" ", "") for r in project["dependencies"] + project["optional-dependencies"]["test"]}
    for line in _env_lines():
        if _name(line) in declared:
            assert line.replace(" ", "") == declared[_name(line)], line


def test_environment_yml_installs_the_project():
    assert "- -e ." in (ROOT / "environment.yml").read_text()


NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebooks_are_thin_and_committed_clean(path):
    cells = json.loads(path.read_text())["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and not c.get("execution_count") for c in code), "strip outputs"
    tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    for line in "".join(tagged[0]["source"]).splitlines():
        statement = line.split("#", 1)[0].strip()
        assert not statement or re.fullmatch(r"[A-Za-z_]\w* = .+", statement), f"parameters hold literals only: {line}"
    for cell in code:
        source = "".join(cell["source"])
        assert not re.search(r"^\s*(def|class) ", source, re.M), "no functions or classes in notebooks"
