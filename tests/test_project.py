"""Project housekeeping: environment.yml and pyproject.toml agree; notebooks ship in the package, thin and clean."""

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


NOTEBOOKS = sorted((ROOT / "custlab" / "notebooks").glob("*.ipynb"))


def test_notebooks_are_package_data_and_the_top_level_folder_points_at_them():
    assert (ROOT / "notebooks").is_symlink() and (ROOT / "notebooks").resolve() == (ROOT / "custlab" / "notebooks")
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]
    assert "notebooks/*.ipynb" in tool["setuptools"]["package-data"]["custlab"]
    assert "locale/*/*.json" in tool["setuptools"]["package-data"]["custlab"]
    testpaths = tool["pytest"]["ini_options"]["testpaths"]
    assert "notebooks" not in testpaths and "custlab" in testpaths  # each notebook collected once, through custlab/


def test_library_code_computes_no_path_from_the_repository_layout():
    offenders = []
    for path in sorted((ROOT / "custlab").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if re.search(r"__file__|parents\[\d\]", text):  # package data is found with importlib.resources
            offenders.append(path.relative_to(ROOT).as_posix())
    assert offenders == []


def test_make_lab_runs_as_root_too():
    makefile = (ROOT / "Makefile").read_text()
    lab = re.search(r"^lab:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert lab and "--allow-root" in lab.group(1) and "id -u" in lab.group(1)


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
