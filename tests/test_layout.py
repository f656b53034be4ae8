"""Layout (issue 12): every module has ``__all__``, no library file above 900 lines, ``dir(cl)`` lists the
subpackages, and every plot function takes ``ax=`` (or ``fig=``) and ``language=``, draws without pyplot and
returns the Figure.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest
from matplotlib.figure import Figure

import custlab as cl
from tests.public_api import all_module_names, public_callables

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "custlab"
MAX_LINES = 900


@pytest.mark.parametrize("name", all_module_names())
def test_every_module_has_all_and_it_names_what_is_there(name):
    module = importlib.import_module(name)
    assert isinstance(getattr(module, "__all__", None), (list, tuple)), f"{name} has no __all__"
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names {missing}, which it does not have"
    assert len(set(module.__all__)) == len(module.__all__), f"{name}.__all__ repeats a name"


def test_no_library_file_above_900_lines():
    sizes = {p.relative_to(ROOT).as_posix(): len(p.read_text(encoding="utf-8").splitlines())
             for p in LIBRARY.rglob("*.py")}
    assert len(sizes) > 50
    too_long = {path: n for path, n in sizes.items() if n > MAX_LINES}
    assert not too_long, f"split these (at most {MAX_LINES} lines each): {too_long}"


def _top_level() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(cl.__path__) if not m.name.startswith("_"))


def test_dir_lists_the_subpackages_in_a_fresh_interpreter():
    """``dir(cl)`` and ``cl.<name>`` work before anything else is imported (the lazy ``__getattr__``)."""
    code = (
        "import json, custlab as cl; names = " + json.dumps(_top_level()) + "\n"
        "listed = set(dir(cl))\n"
        "print(json.dumps({'unlisted': [n for n in names if n not in listed],"
        " 'unreachable': [n for n in names if getattr(cl, n, None) is None]}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"unlisted": [], "unreachable": []}, "add them to custlab.SUBPACKAGES"


def test_the_subpackages_are_the_layout_of_issue_12():
    packages = {m.name for m in pkgutil.iter_modules(cl.__path__) if m.ispkg}
    assert {"data", "segments", "clv", "churn", "rules", "synthetic", "report"} <= packages
    assert {"rfm", "behaviour", "plots"}.isdisjoint(_top_level()), "custlab.rfm, .behaviour and .plots are gone"


# --------------------------------------------------------------------------- plotting


def _plot_functions():
    return [(q, f) for q, f in public_callables() if q.rsplit(".", 1)[-1].startswith("plot_")]


def _chart_functions():
    return [(q, f) for q, f in public_callables()
            if q.rsplit(".", 1)[-1].startswith("plot_") or q.rsplit(".", 1)[-1].endswith("_chart")]


def test_the_walk_finds_the_plot_functions():
    names = {q for q, _ in _plot_functions()}
    assert len(names) >= 20
    assert {"custlab.cohorts.plot_cohort_heatmap", "custlab.funnel.plot_funnel", "custlab.churn.plots.plot_survival",
            "custlab.activity.plot_weekday_hour"} <= names


@pytest.mark.parametrize("name,function", _chart_functions(), ids=[q for q, _ in _chart_functions()])
def test_every_plot_function_takes_ax_or_fig_and_language(name, function):
    parameters = inspect.signature(function).parameters
    problems = []
    target = [p for p in ("ax", "fig") if p in parameters]
    if not target:
        problems.append("no ax= (or fig= for several panels)")
    elif parameters[target[0]].default is not None or parameters[target[0]].kind is not inspect.Parameter.KEYWORD_ONLY:
        problems.append(f"{target[0]} must be keyword-only with default None")
    if "language" not in parameters:
        problems.append("no language=")
    elif parameters["language"].default not in ("en", None):  # None: the language of the result drawn
        problems.append("language= must default to 'en' (or None for the result's own)")
    assert not problems, f"{name}: {'; '.join(problems)}"


_PYPLOT = re.compile(r"^\s*(import matplotlib\.pyplot|from matplotlib import pyplot|from matplotlib\.pyplot import)", re.M)


def test_no_library_module_imports_pyplot():
    offenders = [p.relative_to(ROOT).as_posix() for p in LIBRARY.rglob("*.py")
                 if _PYPLOT.search(p.read_text(encoding="utf-8"))]
    assert not offenders, f"draw with custlab._plotting.figure_axes instead: {offenders}"


@pytest.fixture(scope="module")
def shop():
    return cl.make_shop(1200, seed=4, months=12)


def _km(shop):
    return cl.churn.kaplan_meier(cl.churn.survival_frame(shop.transactions), by="first_channel")


def _rules(shop):
    table = cl.rules.baskets(shop.transactions, item="category")
    itemsets = cl.rules.frequent_itemsets(table, min_support=0.01)
    return cl.rules.association_rules(itemsets, min_confidence=0.1)


#: A handful of plot functions and the data each draws, from one synthetic shop.
CALLS = {
    "cohorts.plot_cohort_heatmap": lambda s: (cl.cohorts.plot_cohort_heatmap, cl.cohorts.cohort_retention(s.transactions)),
    "funnel.plot_funnel": lambda s: (cl.funnel.plot_funnel,
                                     cl.funnel.funnel(s.events, ["exposure", "click", "cart", "pay"], unit="session")),
    "activity.plot_weekday_hour": lambda s: (cl.activity.plot_weekday_hour, cl.activity.weekday_hour(s.transactions)),
    "churn.plot_survival": lambda s: (cl.churn.plot_survival, _km(s)),
    "rules.plot_rules": lambda s: (cl.rules.plot_rules, _rules(s)),
    "repurchase.plot_inter_purchase_times": lambda s: (cl.repurchase.plot_inter_purchase_times,
                                                       cl.repurchase.inter_purchase_times(s.transactions)),
    "segments.plot_concentration": lambda s: (cl.segments.plot_concentration, cl.segments.rfm_table(s.transactions)),
    "data.plot_removed": lambda s: (cl.data.quality.plot_removed,
                                    cl.data.clean_transactions(cl.make_shop(300, seed=1, messy=0.05).transactions)[1]),
}


@pytest.mark.filterwarnings("ignore::custlab.CustlabWarning")
@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("language", ["en", "zh"])
def test_plots_return_a_figure_drawn_without_pyplot(shop, name, language):
    import matplotlib.pyplot as plt

    function, data = CALLS[name](shop)
    target = "fig" if "fig" in inspect.signature(function).parameters else "ax"
    before = plt.get_fignums()
    fig = function(data, language=language)
    assert isinstance(fig, Figure) and fig.axes, f"{name} returns {type(fig).__name__}"
    assert plt.get_fignums() == before, f"{name} opened a pyplot figure (it would show twice in Jupyter)"
    # Drawing onto the caller's figure or axes returns that figure.
    mine = Figure()
    given = mine if target == "fig" else mine.add_subplot()
    assert function(data, language=language, **{target: given}) is mine
    assert plt.get_fignums() == before
    texts = [t.get_text() for ax in fig.axes for t in (ax.title, ax.xaxis.label, ax.yaxis.label) if t.get_text()]
    if language == "zh":  # the library's own words are translated
        assert any(re.search(r"[\u4e00-\u9fff]", t) for t in texts), texts

