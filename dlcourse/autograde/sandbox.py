"""The grading side of the sandbox: run one case in a fresh, limited process, read its result.

Each case gets a new interpreter (``python -I``: no user site, no current directory on the
path) started in its own session, in an empty temporary folder, with stdout/stderr going to a
file there (capped by RLIMIT_FSIZE), a minimal environment and one BLAS thread.  The parent
waits with a wall-clock timeout and kills the whole process group.  Only ``job.json`` (code,
question id, arguments' skeleton, limits) and ``args.npz`` go in; ``status.json`` and
``result.npz`` come out and are validated here: sizes capped, ``allow_pickle=False``,
numeric dtypes only.  See :mod:`dlcourse.autograde.sandbox_child` for the child.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import weakref
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dlcourse.autograde.spec import NUMERIC_KINDS, Case, Limits, encode_args

CHILD = Path(__file__).with_name("sandbox_child.py")
_MAX_STATUS = 64 * 1024
_MAX_RESULT = 256 * 1024 * 1024


@dataclass
class RunResult:
    """What one sandboxed call gave: ``value`` (plain arrays) or ``reason`` why not."""

    value: Any = None
    reason: str | None = None
    output_tail: str = ""

    @property
    def ok(self) -> bool:
        return self.reason is None


def _env(workdir: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": workdir,
        "TMPDIR": workdir,
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONIOENCODING": "utf-8",
        "MPLBACKEND": "Agg",
    }
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        env[var] = "1"
    return env


def _tail(path: Path, limit: int = 1500) -> str:
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            fh.seek(max(0, size - limit))
            text = fh.read(limit).decode("utf-8", "replace")
    except OSError:
        return ""
    return ("... " if size > limit else "") + text


def _read_result(path: Path, status: dict) -> Any:
    """Load ``result.npz`` safely; raise ValueError with a reason when it is malformed."""
    if not path.is_file():
        raise ValueError("no result file")
    n = status.get("n")
    if not isinstance(n, int) or not 1 <= n <= 64:
        raise ValueError("malformed status")
    with zipfile.ZipFile(path) as zf:  # refuse oversized members before numpy reads them
        total = sum(info.file_size for info in zf.infolist())
        if total > _MAX_RESULT:
            raise ValueError(f"the result is too large ({total / 2**20:.0f} MiB)")
    items = []
    with np.load(path, allow_pickle=False) as npz:
        for i in range(n):
            arr = npz[f"arr_{i}"]
            if type(arr) is not np.ndarray or arr.dtype.kind not in NUMERIC_KINDS:
                raise ValueError("non-numeric result")
            items.append(np.array(arr))
    return tuple(items) if status.get("tuple") else items[0]


def _signal_reason(rc: int, limits: Limits) -> str:
    sig = -rc
    if sig in (signal.SIGXCPU, signal.SIGKILL):
        return f"exceeded the CPU-time limit of {limits.cpu_s:g} s (infinite loop?)"
    if sig == signal.SIGXFSZ:
        return f"wrote more than {limits.file_mb} MiB (printing too much?)"
    if sig == signal.SIGSEGV:
        return "the process crashed (segmentation fault)"
    try:
        name = signal.Signals(sig).name
    except ValueError:
        name = str(sig)
    return f"the process was killed by signal {name}"


def _kill_group(pid: int) -> None:
    """SIGKILL the process group (session) led by ``pid``, if it still exists."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class ForkServer:
    """A template interpreter that has imported numpy and forks one process per case.

    Starting ``python`` and importing numpy is most of a case's cost (~0.15 s); forking a
    template that did it once takes milliseconds.  The template never runs submitted code and
    never holds expected values; each forked case process gets its own session, folder,
    stdio, limits, import blocker and audit hook, installed after the fork, exactly as in a
    process started from scratch (see ``sandbox_child._zygote``).  Not thread-safe: use one
    per worker thread.  If it dies, it is restarted on the next case.
    """

    def __init__(self, python: str | None = None) -> None:
        self.python = python or sys.executable
        self.proc: subprocess.Popen | None = None
        self.home = tempfile.mkdtemp(prefix="dlcourse-zygote-")
        # removed by close(), or at the latest when the grader exits (e.g. interrupted)
        self._cleanup = weakref.finalize(self, shutil.rmtree, self.home, True)

    def _start(self) -> subprocess.Popen:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen(
                [self.python, "-I", str(CHILD), "--zygote"], cwd=self.home, env=_env(self.home),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                start_new_session=True, close_fds=True,
            )
        return self.proc

    def launch(self, workdir: str, limits: Limits) -> tuple[int | None, bool]:
        proc = self._start()
        request = json.dumps({"workdir": workdir, "wall_s": limits.wall_s}).encode() + b"\n"
        try:
            proc.stdin.write(request)
            proc.stdin.flush()
            ready, _, _ = select.select([proc.stdout], [], [], limits.wall_s + 30)
            line = proc.stdout.readline() if ready else b""
            reply = json.loads(line)
            return int(reply["rc"]), bool(reply["timed_out"])
        except (OSError, ValueError, KeyError, TypeError):
            self.close()  # a broken template: the next case starts a new one
            raise RuntimeError("the fork server stopped answering") from None

    def close(self) -> None:
        if self.proc is not None:
            _kill_group(self.proc.pid)
            self.proc.wait()
            for stream in (self.proc.stdin, self.proc.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
            self.proc = None
        self._cleanup()

    def __enter__(self) -> ForkServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _launch_exec(workdir: str, limits: Limits, python: str | None) -> tuple[int | None, bool]:
    """Start ``python -I sandbox_child.py`` from scratch for one case."""
    with open(Path(workdir) / "output.txt", "wb") as out:
        proc = subprocess.Popen(
            [python or sys.executable, "-I", str(CHILD)], cwd=workdir, env=_env(workdir),
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True,
        )
        timed_out = False
        try:
            rc = proc.wait(timeout=limits.wall_s)
        except subprocess.TimeoutExpired:
            timed_out, rc = True, None
        finally:
            _kill_group(proc.pid)  # the child and anything it left behind
            proc.wait()
    return rc, timed_out


def run_case(code: str | list[tuple[str, str]], qid: str, case: Case, limits: Limits | None = None,
             python: str | None = None, server: ForkServer | None = None) -> RunResult:
    """Call ``qid(*case.args, **case.kwargs)`` in a sandbox; never raises.

    ``code`` is a list of ``(cell id, source)`` (only their top-level imports, functions and
    classes run) or one source string.  The case process is forked from ``server`` when one
    is given, else started from scratch.
    """
    cells = [("graded code", code)] if isinstance(code, str) else [(str(a), str(b)) for a, b in code]
    limits = limits or Limits()
    try:
        skeleton, arrays = encode_args(case.args, case.kwargs)
    except TypeError as exc:  # an authoring error, not the student's
        return RunResult(reason=f"grader error: {exc}")
    workdir = tempfile.mkdtemp(prefix="dlcourse-case-")
    work = Path(workdir)
    try:
        with open(work / "job.json", "w", encoding="utf-8") as fh:
            json.dump({"qid": qid, "cells": cells, "args": skeleton, "limits": asdict(limits)}, fh)
        np.savez(work / "args.npz", **arrays)
        try:
            if server is not None:
                rc, timed_out = server.launch(workdir, limits)
            else:
                rc, timed_out = _launch_exec(workdir, limits, python)
        except (OSError, RuntimeError) as exc:
            return RunResult(reason=f"grader error: could not run the sandbox ({exc})")
        return _collect(work, rc, timed_out, limits)
    except Exception as exc:  # the grader itself must never crash on a submission
        return RunResult(reason=f"grader error: {type(exc).__name__}: {exc}")
    finally:
        _rmtree(work)


def _collect(work: Path, rc: int | None, timed_out: bool, limits: Limits) -> RunResult:
    """Turn what the case process left in its folder into a :class:`RunResult`."""
    tail = _tail(work / "output.txt")
    if timed_out:
        return RunResult(reason=f"did not finish within {limits.wall_s:g} s of wall-clock time "
                                "(infinite loop or waiting?)", output_tail=tail)
    status_path = work / "status.json"
    status: dict | None = None
    if status_path.is_file() and status_path.stat().st_size <= _MAX_STATUS:
        try:
            loaded = json.loads(status_path.read_text(encoding="utf-8"))
            status = loaded if isinstance(loaded, dict) else None
        except (ValueError, UnicodeDecodeError):
            status = None
    if rc is not None and rc < 0:
        return RunResult(reason=_signal_reason(rc, limits), output_tail=tail)
    if status is None:
        if rc == 0 or rc is None:
            why = "the process ended without reporting a result (os._exit()?)"
        else:
            why = f"the process exited with code {rc} without reporting a result (os._exit()?)"
        if "MemoryError" in tail:
            why = f"ran out of memory (limit {limits.memory_mb} MiB)"
        return RunResult(reason=why, output_tail=tail)
    if status.get("ok") is not True:
        reason = status.get("reason")
        return RunResult(reason=str(reason)[:800] if reason else "failed", output_tail=tail)
    try:
        value = _read_result(work / "result.npz", status)
    except Exception as exc:  # malformed or forged files: zero with a reason
        return RunResult(reason=f"the result could not be read ({exc})", output_tail=tail)
    return RunResult(value=value, output_tail=tail)


def _rmtree(path: Path) -> None:
    def onerror(func, p, exc_info):  # a read-only file the code made: make it writable, retry
        try:
            os.chmod(p, 0o700)
            func(p)
        except OSError:
            pass

    for root, dirs, _ in os.walk(path):
        for d in dirs:
            try:
                os.chmod(os.path.join(root, d), 0o700)
            except OSError:
                pass
    shutil.rmtree(path, onerror=onerror)
