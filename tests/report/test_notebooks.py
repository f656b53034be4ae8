"""The shipped notebooks: found as package data, their parameters cell a checked contract, executed cleanly."""

from __future__ import annotations

import json
import random
import re

import pytest

from custlab.exceptions import CustlabError
from custlab.report.notebooks import (
    NotebookFailed,
    check_parameters,
    execute_notebook,
    inject_parameters,
    notebook_names,
    notebook_parameters,
    notebook_path,
    read_notebook,
)
from custlab.report.runner import quality_parameters, report_parameters

SHIPPED = ["basket_rules", "behaviour_channels", "campaigns_attribution", "churn_repurchase", "clv", "data_quality",
           "demand_forecast", "monthly_report", "quickstart", "recommendations", "rfm_segments", "voice_of_customer"]


def _tiny(*sources: str, parameters: str = "x = 1") -> dict:
    cells = [{"cell_type": "code", "id": "parameters", "metadata": {"tags": ["parameters"]}, "outputs": [],
              "execution_count": None, "source": parameters}]
    cells += [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "outputs": [], "execution_count": None, "source": s}
              for i, s in enumerate(sources)]
    return {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def test_notebooks_ship_inside_the_package():
    assert notebook_names() == SHIPPED
    path = notebook_path("monthly_report.ipynb")
    assert path.name == "monthly_report.ipynb" and "custlab" in str(path)
    with pytest.raises(CustlabError, match=r"No notebook 'nope' ships with custlab; available: \['basket_rules'"):
        notebook_path("nope")


def test_the_commands_pass_exactly_the_parameters_the_notebooks_declare():
    assert list(report_parameters()) == list(notebook_parameters("monthly_report"))
    assert list(quality_parameters()) == list(notebook_parameters("data_quality"))
    check_parameters("monthly_report", report_parameters())
    check_parameters("data_quality", quality_parameters())
    # the command's defaults are the notebooks' defaults, except where the command decides (the output folder)
    declared = notebook_parameters("monthly_report")
    differ = {k for k, v in report_parameters().items() if declared[k] != v}
    assert differ == {"out_dir"}


def test_unknown_or_missing_parameters_are_errors_not_warnings():
    given = {**report_parameters(), "mnth": "2024-11"}
    with pytest.raises(CustlabError, match=re.escape("monthly_report.ipynb: unknown parameters ['mnth']. Its parameters "
                                                     "cell declares ['data_path', 'columns'")):
        check_parameters("monthly_report", given)
    del given["mnth"], given["language"], given["seed"]
    with pytest.raises(CustlabError, match=re.escape("missing parameters ['language', 'seed']")):
        check_parameters("monthly_report", given)
    with pytest.raises(CustlabError, match="Parameter 'month' must be a plain value"):
        check_parameters("monthly_report", {**report_parameters(), "month": object()})
    with pytest.raises(CustlabError, match="Parameter 'margin' must be a finite number"):
        check_parameters("monthly_report", {**report_parameters(), "margin": float("nan")})


def test_a_parameters_cell_with_code_is_refused():
    with pytest.raises(CustlabError, match="line 2 is not one"):
        notebook_parameters(_tiny(parameters="x = 1\nprint(x)"))
    with pytest.raises(CustlabError, match="Parameter 'y' must have a literal default"):
        notebook_parameters(_tiny(parameters="y = len('a')"))
    with pytest.raises(CustlabError, match=r"Parameter 'x' is declared twice in the parameters cell \(again on line 3\)"):
        notebook_parameters(_tiny(parameters="x = 1\ny = 2\nx = 1"))


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_parameters_cell_declares_each_name_once(name):
    assert notebook_parameters(name)  # raises on a name declared twice (monthly_report had engine three times)


def test_injection_follows_papermill():
    """The injected cell defines what papermill's would, in the same place, and papermill can still run the notebook."""
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    parameters = {**report_parameters(), "month": "2011-11", "columns": {"Kunde": "customer_id", "x'\"": "amount"},
                  "margin": 0.3, "decimal_comma": True}
    ours = inject_parameters(read_notebook("monthly_report"), parameters)
    theirs = parameterize_notebook(load_notebook_node(str(notebook_path("monthly_report"))), parameters)
    tags = lambda nb: [c.get("metadata", {}).get("tags") or [] for c in nb["cells"]]  # noqa: E731
    assert tags(ours) == tags(theirs)
    index = tags(ours).index(["injected-parameters"])

    def defined(source: str) -> dict:
        namespace: dict = {}
        exec(source, namespace)
        return {k: v for k, v in namespace.items() if not k.startswith("__")}

    assert defined(ours["cells"][index]["source"]) == defined(theirs.cells[index].source) == parameters
    assert ours["metadata"]["papermill"]["parameters"] == parameters
    again = inject_parameters(ours, {**parameters, "month": "2011-10"})  # re-injection replaces, as papermill does
    assert tags(again).count(["injected-parameters"]) == 1


def test_a_failing_cell_is_named_and_the_partial_notebook_returned(tmp_path, capfd):
    notebook = _tiny("y = x + 1", "raise ValueError('month 2030-01 is outside the data.')", "z = 3")
    with pytest.raises(NotebookFailed, match=r"failed in cell 'c1' \(index 2\): ValueError: month 2030-01 is outside "
                                             r"the data\.$") as caught:
        execute_notebook(notebook, cwd=tmp_path, label="tiny.ipynb")
    cells = caught.value.notebook["cells"]
    assert cells[1]["execution_count"] == 2 and cells[2]["outputs"][0]["ename"] == "ValueError"
    assert cells[3]["execution_count"] is None
    err = capfd.readouterr().err
    assert "without encryption" not in err and "Parent appears to have exited" not in err


def test_the_kernel_runs_in_the_folder_with_the_inline_backend(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("MPLBACKEND", "Agg")  # as on CI: the kernel still draws like JupyterLab
    notebook = _tiny("import os, matplotlib\nprint(os.getcwd())\nprint(matplotlib.get_backend())")
    executed = execute_notebook(notebook, cwd=tmp_path)
    lines = executed["cells"][1]["outputs"][0]["text"].split("\n")
    assert lines[0] == str(tmp_path)
    assert "inline" in lines[1]
    assert "without encryption" not in capfd.readouterr().err


@pytest.mark.parametrize("code", [
    "from custlab.forecast import models\nmodels._statsforecast(['naive'], '1mo', 3, 1)",
    "import scipy.sparse as sp\nfrom custlab.recommend import mf\n"
    "mf._als_implicit(sp.random(20, 10, density=0.3, format='csr', random_state=0), 2, 0.1, 2, 0)",
])
def test_no_progress_bar_warning_in_a_kernel(tmp_path, code):
    """statsforecast and implicit import tqdm.auto, which in a Jupyter kernel without ipywidgets printed
    "TqdmWarning: IProgress not found" under the recommendations and demand_forecast notebooks' cells."""
    pytest.importorskip("implicit")
    executed = execute_notebook(_tiny(code), cwd=tmp_path)
    stderr = [o for cell in executed["cells"][1:] for o in cell["outputs"] if o.get("name") == "stderr"]
    assert not any("IProgress" in "".join(o["text"]) for o in stderr), stderr


def _images(outputs: list[dict]) -> int:
    count = 0
    for output in outputs:
        data = output.get("data", {})
        count += "image/png" in data
        count += len(re.findall(r"<img\b", "".join(data.get("text/html", ""))))
    return count


def test_report_notebook_shows_each_image_once_and_any_cell_order_gives_the_same_html(tmp_path):
    """Inline backend (as in JupyterLab): every chart of the HTML shows once in the notebook; section cells and the
    write cell in a shuffled order write the same HTML as in order."""
    parameters = report_parameters(n_customers=600, seed=3, month="2024-12", out_dir="in-order")
    notebook = inject_parameters(read_notebook("monthly_report"), parameters)
    cells = notebook["cells"]
    first = next(i for i, c in enumerate(cells) if c.get("id") == "compute") + 1
    head, tail = cells[:first], cells[first:]
    shuffled = [c for c in tail if c["cell_type"] == "code"]
    random.Random(0).shuffle(shuffled)
    again = {"cell_type": "code", "id": "again", "metadata": {}, "outputs": [], "execution_count": None,
             "source": "cl.report.write_outputs(figures, 'shuffled', language=language)"}
    notebook["cells"] = head + tail + shuffled + [again]
    executed = execute_notebook(notebook, cwd=tmp_path)
    in_order = (tmp_path / "in-order" / "monthly_report.html").read_text(encoding="utf-8")
    assert (tmp_path / "shuffled" / "monthly_report.html").read_text(encoding="utf-8") == in_order
    sections = [c for c in executed["cells"][first:first + len(tail)] if c["cell_type"] == "code"]
    shown = sum(_images(c["outputs"]) for c in sections)
    assert shown == len(re.findall(r"<img\b", in_order)) > 0
    for cell in sections:  # no stray figure drawn through pyplot besides the section's own HTML
        assert not [o for o in cell["outputs"] if "image/png" in o.get("data", {})], cell["id"]


@pytest.mark.parametrize("name", SHIPPED)
def test_notebooks_are_valid_nbformat_with_unique_cell_ids(name):
    import nbformat

    notebook = nbformat.from_dict(read_notebook(name))
    nbformat.validate(notebook)
    ids = [c.get("id") for c in notebook.cells]
    assert all(ids) and len(set(ids)) == len(ids)
    assert json.dumps(read_notebook(name)).count('"parameters"') >= 1


def test_every_report_section_has_its_cell():
    from custlab.report.figures import SECTIONS

    ids = {c.get("id") for c in read_notebook("monthly_report")["cells"]}
    assert {key.replace("_", "-") for key, _ in SECTIONS} <= ids


def test_section_marks_go_to_the_progress_lines_not_into_the_notebook(capsys):
    mark = "@@custlab-section "
    notebook = _tiny(f"import sys; sys.stderr.write('{mark}1/2 trend\\nkept\\n'); sys.stderr.write('{mark}2/2 clv\\n')")
    executed = execute_notebook(notebook, progress=True)
    outputs = executed["cells"][-1]["outputs"]
    assert [o.get("text") for o in outputs if o["output_type"] == "stream"] == ["kept\n"]
    err = capsys.readouterr().err
    assert "section 1/2: trend" in err and "section 2/2: clv" in err


class _Channel:
    """A kernel client's channel that hands out queued messages, or raises Empty like a silent socket."""

    def __init__(self, messages):
        self.messages = list(messages)
        self.waited = 0

    async def get_msg(self, timeout=None):
        from queue import Empty

        if not self.messages:
            self.waited += 1
            raise Empty
        return self.messages.pop(0)


class _FakeClient:
    def __init__(self, shell, iopub, alive=True):
        self.shell_channel, self.iopub_channel = _Channel(shell), _Channel(iopub)
        self.requests, self.handled, self.alive = 0, None, alive

    def kernel_info(self):
        self.requests += 1

    async def is_alive(self):
        return self.alive

    def _handle_kernel_info_reply(self, msg):
        self.handled = msg


def test_the_client_is_ready_once_the_kernel_answers_and_iopub_flows_without_draining_iopub():
    import asyncio

    from custlab.report.notebooks import _ready

    reply = {"msg_type": "kernel_info_reply", "content": {}}
    status = [{"msg_type": "status"}, {"msg_type": "status"}, {"msg_type": "stream"}]
    kc = _FakeClient([reply], status)
    asyncio.run(_ready(kc, timeout=5))
    assert kc.requests == 1 and kc.handled is reply
    assert len(kc.iopub_channel.messages) == 2  # left for the notebook client, which skips what is not its own
    # IOPub not connected yet (no message came with the reply): asked again until it is
    kc = _FakeClient([reply, reply], [])
    kc.iopub_channel.messages = []

    async def connect_late():
        first = kc.iopub_channel.get_msg

        async def later(timeout=None):
            if kc.requests >= 2:
                kc.iopub_channel.get_msg = first
                return {"msg_type": "status"}
            return await first(timeout)
        kc.iopub_channel.get_msg = later
        await _ready(kc, timeout=5)

    asyncio.run(connect_late())
    assert kc.requests == 2 and kc.handled is reply
    dead = _FakeClient([], [], alive=False)
    with pytest.raises(RuntimeError, match="died"):
        asyncio.run(_ready(dead, timeout=5))
