"""`make lab` end to end, without a browser: the JupyterLab server the Makefile starts serves
the lab page, lists the course notebooks, and runs a kernel that imports dlcourse."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOKEN = uuid.uuid4().hex


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers={"Authorization": f"token {TOKEN}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, resp.read()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    jupyter = Path(sys.executable).with_name("jupyter")
    if not jupyter.exists():
        jupyter = Path(shutil.which("jupyter") or "jupyter")
    port = _free_port()
    home = tmp_path_factory.mktemp("home")
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "JUPYTER_CONFIG_DIR": str(home / "config")}
    # The same invocation as the Makefile's `lab` target, plus a fixed port and token.
    cmd = [str(jupyter), "lab", f"--ServerApp.root_dir={ROOT}", "--LabApp.default_url=/lab/tree/notebooks",
           "--no-browser", f"--port={port}", "--ip=127.0.0.1", f"--IdentityProvider.token={TOKEN}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if _get(base + "/api/status")[0] == 200:
                break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail("JupyterLab did not start:\n" + proc.stdout.read().decode(errors="replace")[-3000:])
        time.sleep(0.5)
    yield base
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def test_lab_page_is_served(lab):
    status, body = _get(lab + "/lab")
    assert status == 200 and b"JupyterLab" in body


def test_lab_lists_the_course_notebooks(lab):
    status, body = _get(lab + "/api/contents/notebooks")
    names = {item["name"] for item in json.loads(body)["content"]}
    assert {"01_perceptron_limits.ipynb", "02_backprop.ipynb"} <= names


def test_makefile_lab_target_matches_this_invocation():
    makefile = (ROOT / "Makefile").read_text()
    assert "jupyter lab --ServerApp.root_dir=$(CURDIR) --LabApp.default_url=/lab/tree/notebooks" in makefile


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
    assert out.strip() == "0.1.0 (1, 3)"
