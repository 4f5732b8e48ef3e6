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
