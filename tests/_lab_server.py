"""Start the JupyterLab server exactly as the Makefile's `lab` target does (plus a free port and a
known token) for tests/test_lab.py and tests/test_browser.py."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOKEN = uuid.uuid4().hex
MAKEFILE_LAB = ("jupyter lab --ServerApp.root_dir=$(CURDIR) --LabApp.default_url=/lab/tree/notebooks "
                "--ContentsManager.pre_save_hook=dlcourse.lecture.lab.strip_course_outputs")


class LabDidNotStart(RuntimeError):
    """The server exited or did not answer /api/status in time; the message holds its log."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[int, bytes]:
    """GET ``url`` with the server's token; returns (status, body)."""
    req = urllib.request.Request(url, headers={"Authorization": f"token {TOKEN}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, resp.read()


def _jupyter() -> str:
    jupyter = Path(sys.executable).with_name("jupyter")
    if not jupyter.exists():
        jupyter = Path(shutil.which("jupyter") or "jupyter")
    return str(jupyter)


@contextmanager
def lab_server(home: Path, extra_args: tuple[str, ...] = (), startup_timeout: float = 60.0,
               root: Path = ROOT) -> Iterator[str]:
    """Run ``jupyter lab`` as `make lab` does; yield its base URL; stop the whole process group.

    ``home`` is a scratch directory for Jupyter's runtime and config (user settings live in
    ``home/config/lab/user-settings``), so the test neither reads nor writes the user's settings;
    ``extra_args`` are appended to the command line; ``root`` stands for $(CURDIR), the folder served.
    """
    port = free_port()
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "JUPYTER_CONFIG_DIR": str(home / "config")}
    # A newcomer's shell has no MPLBACKEND; tests/conftest.py sets Agg, which would make the
    # kernels' plt.show() draw nothing instead of an inline image.
    env.pop("MPLBACKEND", None)
    # The Makefile's `lab` target (MAKEFILE_LAB, with $(CURDIR) = ROOT), plus a fixed port and token.
    cmd = [_jupyter(), *(arg.replace("$(CURDIR)", str(root)) for arg in MAKEFILE_LAB.split()[1:]),
           "--no-browser", f"--port={port}", "--ip=127.0.0.1", f"--IdentityProvider.token={TOKEN}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    cmd.extend(extra_args)
    # The log goes to a file, not a pipe: an undrained pipe fills up and blocks the server.
    log_path = home / "jupyter-lab.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed in the finally below
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            try:
                if get(base + "/api/status")[0] == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                raise LabDidNotStart("JupyterLab did not start:\n"
                                     + log_path.read_bytes().decode(errors="replace")[-3000:])
            time.sleep(0.5)
        yield base
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()
