"""`make lab` end to end, without a browser: the JupyterLab server the Makefile starts serves
the lab page, lists the course notebooks, and runs a kernel that imports dlcourse."""

from __future__ import annotations

import asyncio
import json
import urllib.request
import uuid

import pytest
from _lab_server import MAKEFILE_LAB, ROOT, TOKEN, LabDidNotStart, lab_server
from _lab_server import get as _get

import dlcourse


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    try:
        with lab_server(tmp_path_factory.mktemp("home")) as base:
            yield base
    except LabDidNotStart as exc:
        pytest.fail(str(exc))


def test_lab_page_is_served(lab):
    status, body = _get(lab + "/lab")
    assert status == 200 and b"JupyterLab" in body


def test_lab_lists_the_course_notebooks(lab):
    status, body = _get(lab + "/api/contents/notebooks")
    names = {item["name"] for item in json.loads(body)["content"]}
    assert {"01_perceptron_limits.ipynb", "02_backprop.ipynb"} <= names


def test_makefile_lab_target_matches_this_invocation():
    makefile = (ROOT / "Makefile").read_text()
    assert MAKEFILE_LAB in makefile


def test_lab_kernel_imports_dlcourse(lab):
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    req = urllib.request.Request(lab + "/api/kernels", data=b'{"name": "python3"}', method="POST",
                                 headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        kernel_id = json.loads(resp.read())["id"]

    async def run(code: str) -> str:
        ws_url = lab.replace("http", "ws") + f"/api/kernels/{kernel_id}/channels"
        ws = await websocket_connect(HTTPRequest(ws_url, headers={"Authorization": f"token {TOKEN}"}))
        msg_id = uuid.uuid4().hex
        ws.write_message(json.dumps({
            "header": {"msg_id": msg_id, "username": "test", "session": uuid.uuid4().hex,
                       "msg_type": "execute_request", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell",
            "content": {"code": code, "silent": False, "store_history": False,
                        "user_expressions": {}, "allow_stdin": False},
        }))
        out = []
        while True:
            msg = json.loads(await asyncio.wait_for(ws.read_message(), timeout=60))
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
            if msg["msg_type"] == "error":
                out.append("ERROR " + msg["content"]["ename"])
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                ws.close()
                return "".join(out)

    out = asyncio.run(run("import dlcourse, numpy as np\nfrom dlcourse import nn\n"
                          "print(dlcourse.__version__, nn.Linear(2, 3, rng=0)(np.ones((1, 2))).shape)"))
    assert out.strip() == f"{dlcourse.__version__} (1, 3)"


def _notebook_with_outputs() -> dict:
    import nbformat

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print('hi')  # the student's code is kept")
    cell.execution_count = 3
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hi\n")]
    nb.cells = [cell]
    return json.loads(nbformat.writes(nb))


def test_strip_course_outputs_clears_outputs_of_course_notebooks_only():
    from dlcourse.lecture import lab

    for path, stripped in [("notebooks/02_backprop.ipynb", True), ("/exercises/02_backprop.ipynb", True),
                           ("solutions/sub/x.ipynb", True), ("my-work/02_backprop.ipynb", False),
                           ("notebooks.ipynb", False), ("notebooks/data.json", False)]:
        model = {"type": "notebook" if path.endswith(".ipynb") else "file", "content": _notebook_with_outputs()}
        lab.strip_course_outputs(model, path)
        cell = model["content"]["cells"][0]
        assert (cell["outputs"] == [] and cell["execution_count"] is None) is stripped, path
        assert "".join(cell["source"]).startswith("print('hi')")


def test_lab_as_make_lab_runs_it_saves_course_notebooks_without_outputs(tmp_path):
    """A save through the server's contents API (what JupyterLab's save and autosave call) writes
    no outputs into notebooks/, and keeps them elsewhere."""
    root = tmp_path / "course"
    (root / "notebooks").mkdir(parents=True)
    (root / "my-work").mkdir()
    (tmp_path / "home").mkdir()
    try:
        # the Makefile's command line, served from a scratch root instead of the repository
        with lab_server(tmp_path / "home", root=root) as base:
            for folder in ("notebooks", "my-work"):
                body = json.dumps({"type": "notebook", "format": "json", "content": _notebook_with_outputs()})
                req = urllib.request.Request(f"{base}/api/contents/{folder}/x.ipynb", data=body.encode(), method="PUT",
                                             headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"})
                with urllib.request.urlopen(req, timeout=30) as resp:
                    assert resp.status in (200, 201)
    except LabDidNotStart as exc:
        pytest.fail(str(exc))
    saved = json.loads((root / "notebooks" / "x.ipynb").read_text())["cells"][0]
    kept = json.loads((root / "my-work" / "x.ipynb").read_text())["cells"][0]
    assert saved["outputs"] == [] and saved["execution_count"] is None
    assert "the student's code is kept" in "".join(saved["source"])
    assert kept["outputs"] and kept["execution_count"] == 3
