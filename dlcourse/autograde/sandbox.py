"""The grading side of the sandbox: run one case in an isolated, limited process, read its result.

Isolation is the operating system's.  Every case runs under bubblewrap (``bwrap``, the sandbox
Flatpak uses) in fresh namespaces: a mount namespace that shows the Python runtime and its
site-packages read-only, an empty writable case folder and ``/dev/shm`` (both small tmpfs,
wiped after every case), no course folder, no solutions, no ``grading/``, no home; no network;
its own PID namespace, so nothing a case starts outlives it; ``--die-with-parent``; every
capability dropped.  Inside it a fork server (:func:`sandbox_child._zygote`) that has imported
numpy once forks one process per case, which applies the rlimits (CPU, address space, file
size), the import blocker and the audit hook (defence in depth only: nothing depends on them),
runs the student's function and writes ``status.json`` and ``result.npz``.  The fork server then
kills every other process in the sandbox, reads those files with size caps and sends them back
over its stdout pipe; they are validated here: sizes capped, ``allow_pickle=False``, numeric
dtypes only.  The grader never shares a writable folder with the sandbox.

``isolated=False`` (the instructor's explicit ``--no-isolation``) runs the same fork server
directly on the host, in a private temporary folder; reports then say "not isolated".
"""

from __future__ import annotations

import io
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
import weakref
import zipfile
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from dlcourse.autograde.sandbox_child import (
    MAX_OUTPUT_TAIL,
    MAX_RESULT,
    MAX_STATUS,
    allowed_imports,
)
from dlcourse.autograde.spec import NUMERIC_KINDS, Case, Limits, encode_args

CHILD = Path(__file__).with_name("sandbox_child.py")
#: where the sandbox sees the case folder and the child script
SANDBOX_CASE_DIR = "/case"
SANDBOX_CHILD = "/sandbox/sandbox_child.py"
#: tmpfs sizes: with RLIMIT_FSIZE per file, they bound the memory a case can fill with files
CASE_TMPFS_BYTES = 64 * 2**20
SHM_TMPFS_BYTES = 16 * 2**20
INSTALL_HINT = ("install bubblewrap (Debian/Ubuntu: `sudo apt-get install bubblewrap`; Fedora: "
                "`sudo dnf install bubblewrap`) and make sure unprivileged user namespaces are "
                "enabled (`sysctl kernel.unprivileged_userns_clone=1` on older Debian kernels); or "
                "pass --no-isolation to grade without the sandbox (every report is then marked "
                "\"not isolated\")")


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
        "PATH": "/usr/bin:/bin",
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


def runtime_paths(python: str | None = None) -> list[str]:
    """The folders the sandbox shows read-only: the interpreter's installation, the virtual
    environment and its site-packages (for ``python``, default this interpreter), plus the
    system's library folders the interpreter and numpy's extension modules load from."""
    if python is None or os.path.realpath(python) == os.path.realpath(sys.executable):
        info = {"prefix": sys.prefix, "base_prefix": sys.base_prefix, "exec_prefix": sys.exec_prefix,
                "purelib": sysconfig.get_path("purelib"), "platlib": sysconfig.get_path("platlib"),
                "numpy": str(Path(np.__file__).resolve().parents[1])}
    else:  # another interpreter: ask it
        code = ("import json, sys, sysconfig; print(json.dumps({'prefix': sys.prefix, 'base_prefix': sys.base_prefix, "
                "'exec_prefix': sys.exec_prefix, 'purelib': sysconfig.get_path('purelib'), "
                "'platlib': sysconfig.get_path('platlib')}))")
        info = json.loads(subprocess.run([python, "-I", "-c", code], capture_output=True, text=True,
                                         check=True, timeout=60).stdout)
    paths = {os.path.realpath(p) for p in info.values() if p}
    paths.add(os.path.dirname(os.path.realpath(python or sys.executable)))
    for system in ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/etc/ld.so.cache", "/etc/alternatives"):
        if os.path.lexists(system):
            paths.add(system)
    return sorted(paths)


def bwrap_argv(command: list[str], *, python: str | None = None, child: Path = CHILD) -> list[str]:
    """The bubblewrap command line that runs ``command`` isolated (see the module docstring).

    ``--unshare-all`` gives new user, mount, PID, network, IPC, UTS and cgroup namespaces (and
    no further user namespaces inside); the case folder, ``/dev/shm`` and ``/dev/mqueue`` are
    the only writable places, all wiped after each case with the System V IPC objects; ``/``
    and ``/dev`` are remounted read-only.  A path that is a symlink (``/lib`` → ``usr/lib`` on merged-/usr systems) is bound
    at its own name, so both spellings work inside.
    """
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise FileNotFoundError("bubblewrap (bwrap) is not installed: " + INSTALL_HINT)
    # --as-pid-1: the fork server is the namespace's init, so no dumpable process (bwrap's own
    # reaper) holds its pipes, and signals from inside (SIGKILL, SIGSTOP) cannot reach it.
    argv = [bwrap, "--unshare-all", "--unshare-user", "--disable-userns", "--as-pid-1", "--die-with-parent",
            "--new-session", "--cap-drop", "ALL", "--uid", "65534", "--gid", "65534", "--hostname", "sandbox"]
    for path in runtime_paths(python):
        argv += ["--ro-bind", path, path]
    argv += ["--ro-bind", str(child), SANDBOX_CHILD,
             "--proc", "/proc", "--dev", "/dev",
             "--size", str(SHM_TMPFS_BYTES), "--tmpfs", "/dev/shm", "--mqueue", "/dev/mqueue",
             "--size", str(CASE_TMPFS_BYTES), "--tmpfs", SANDBOX_CASE_DIR,
             "--remount-ro", "/dev", "--remount-ro", "/",
             "--chdir", SANDBOX_CASE_DIR, "--clearenv"]
    for key, value in _env(SANDBOX_CASE_DIR).items():
        argv += ["--setenv", key, value]
    return argv + ["--", *command]


@lru_cache(maxsize=4)
def isolation_problem(python: str | None = None) -> str | None:
    """None when bubblewrap can run a sandboxed interpreter here; else why not and how to fix it."""
    if shutil.which("bwrap") is None:
        return "bubblewrap (bwrap) is not installed: " + INSTALL_HINT
    probe = "import numpy, os; assert not os.path.exists('/etc/passwd'); print('ok')"
    try:
        argv = bwrap_argv([python or sys.executable, "-I", "-c", probe], python=python)
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        return f"bubblewrap could not be started ({exc}): " + INSTALL_HINT
    if done.returncode != 0 or done.stdout.strip() != "ok":
        err = (done.stderr.strip().splitlines() or ["no output"])[-1][:300]
        return f"bubblewrap could not run the grading sandbox here ({err}): " + INSTALL_HINT
    return None


def _tail(path: Path, limit: int = MAX_OUTPUT_TAIL) -> str:
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
        if total > MAX_RESULT:
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
    """A numpy-ready template interpreter, inside the sandbox, that forks one process per case.

    Starting ``python`` and importing numpy is most of a case's cost (~0.15 s); forking a
    template that did it once takes milliseconds.  The template never runs submitted code and
    never holds expected values; each forked case process gets its own session, stdio,
    limits, import blocker and audit hook, installed after the fork, exactly as in a process
    started from scratch (see ``sandbox_child._zygote``).  After each case the template kills
    every other process of the sandbox and wipes the case folder and ``/dev/shm``, so no
    state passes from one case (or student) to the next.  Not thread-safe: use one per worker
    thread.  If it dies, it is restarted on the next case.

    ``isolated=False`` runs the template on the host, in a private temporary folder, without
    bubblewrap (only the rlimits and the in-process checks then stand between the student's
    code and the machine).

    ``preload`` names the opted-in modules (``("torch",)``, see
    :data:`sandbox_child.ALLOWABLE_IMPORTS`) the template imports before its first case.  A
    template serves only cases with the same opt-in: :meth:`launch` restarts it when a case
    asks for another set, so a case of an assignment without the opt-in never forks from a
    template whose memory holds torch.
    """

    def __init__(self, python: str | None = None, *, isolated: bool = True, preload: tuple[str, ...] = ()) -> None:
        self.python = python or sys.executable
        self.isolated = bool(isolated)
        self.preload = tuple(sorted(allowed_imports(list(preload))))
        self.proc: subprocess.Popen | None = None
        self._buffer = bytearray()  # what was read from the server beyond the last answer
        self.home = tempfile.mkdtemp(prefix="dlcourse-zygote-")
        # removed by close(), or at the latest when the grader exits (e.g. interrupted)
        self._cleanup = weakref.finalize(self, shutil.rmtree, self.home, True)

    def _argv(self) -> list[str]:
        extra = [arg for name in self.preload for arg in ("--preload", name)]
        if self.isolated:
            return bwrap_argv([self.python, "-I", SANDBOX_CHILD, "--zygote", SANDBOX_CASE_DIR, "--pid-namespace",
                               *extra], python=self.python)
        case_dir = os.path.join(self.home, "case")
        os.makedirs(case_dir, exist_ok=True)
        return [self.python, "-I", str(CHILD), "--zygote", case_dir, *extra]

    def _start(self) -> subprocess.Popen:
        if self.proc is None or self.proc.poll() is not None:
            self._buffer = bytearray()
            self.proc = subprocess.Popen(
                self._argv(), cwd=self.home, env=_env(self.home),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                start_new_session=True, close_fds=True,
            )
        return self.proc

    def launch(self, files: dict[str, bytes], limits: Limits,
               preload: tuple[str, ...] = ()) -> tuple[int | None, bool, dict[str, bytes]]:
        """Run one case whose folder starts with ``files``; return (returncode, timed out,
        the files the case left: ``status.json``, ``result.npz``, ``output.txt`` (its tail)).
        ``preload``: the case's opted-in modules; a template with another set is restarted.

        Every read of the reply has one deadline (the case's wall limit plus a margin), so a
        fork server that stops answering, or answers less than it announced, costs at most that.
        """
        wanted = tuple(sorted(allowed_imports(list(preload))))
        if wanted != self.preload:
            self._stop()
            self.preload = wanted
        # the first case of a template that imports torch waits for that import, too
        margin = 30 + (60 if self.preload and (self.proc is None or self.proc.poll() is not None) else 0)
        proc = self._start()
        stdin, stdout = proc.stdin, proc.stdout
        assert stdin is not None and stdout is not None  # _start opens both as pipes
        header = {"wall_s": limits.wall_s, "files": {name: len(data) for name, data in files.items()}}
        deadline = time.monotonic() + limits.wall_s + margin
        try:
            stdin.write(json.dumps(header).encode() + b"\n" + b"".join(files.values()))
            stdin.flush()
            reply = json.loads(self._read_until(stdout.fileno(), deadline, line=True))
            caps = {"status.json": MAX_STATUS, "result.npz": MAX_RESULT, "output.txt": MAX_OUTPUT_TAIL}
            out: dict[str, bytes] = {}
            for name, size in reply["files"].items():
                if name not in caps or not 0 <= int(size) <= caps[name]:
                    raise ValueError(f"unexpected file {name!r} of {size} bytes")
                out[name] = self._read_until(stdout.fileno(), deadline, size=int(size))
            return (None if reply["rc"] is None else int(reply["rc"])), bool(reply["timed_out"]), out
        except (OSError, ValueError, KeyError, TypeError, TimeoutError):
            self._stop()  # a broken template: the next case starts a new one
            raise RuntimeError("the sandbox's fork server stopped answering") from None

    def _read_until(self, fd: int, deadline: float, *, line: bool = False, size: int = 0) -> bytes:
        """One header line (at most 64 KiB), or exactly ``size`` bytes, read before ``deadline``."""
        while True:
            if line and b"\n" in self._buffer:
                head, _, self._buffer = self._buffer.partition(b"\n")
                return bytes(head)
            if not line and len(self._buffer) >= size:
                data, self._buffer = self._buffer[:size], self._buffer[size:]
                return bytes(data)
            if line and len(self._buffer) > MAX_STATUS:
                raise ValueError("the reply's header is too long")
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError("no reply before the deadline")
            block = os.read(fd, 1 << 20)
            if not block:
                raise ValueError("the fork server closed its pipe")
            self._buffer += block

    def close(self) -> None:
        self._stop()
        self._cleanup()

    def _stop(self) -> None:
        if self.proc is not None:
            _kill_group(self.proc.pid)
            self.proc.wait()
            for stream in (self.proc.stdin, self.proc.stdout):
                try:
                    if stream is not None:
                        stream.close()
                except OSError:
                    pass
            self.proc = None

    def __enter__(self) -> ForkServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def run_case(code: str | list[tuple[str, str]], qid: str, case: Case, limits: Limits | None = None,
             python: str | None = None, server: ForkServer | None = None, isolated: bool = True,
             allow_imports: tuple[str, ...] = (), driver: tuple[str, str] | None = None) -> RunResult:
    """Call ``qid(*case.args, **case.kwargs)`` in the sandbox; never raises.

    ``code`` is a list of ``(cell id, source)`` (only their top-level imports, functions and
    classes run) or one source string.  The case process is forked from ``server`` when one
    is given; otherwise a sandbox is started for this case alone (``isolated`` as in
    :class:`ForkServer`) and closed after it.  ``allow_imports``: the modules the *trusted*
    assignment opts into (``("torch",)``); ``driver``: ``(source, name)`` of the instructor's
    function ``name(student_fn, *args, **kwargs)`` that the case calls instead of the
    student's function (it builds torch objects from the plain inputs and returns plain arrays).
    """
    cells = [("graded code", code)] if isinstance(code, str) else [(str(a), str(b)) for a, b in code]
    limits = limits or Limits()
    try:
        skeleton, arrays = encode_args(case.args, case.kwargs)
    except TypeError as exc:  # an authoring error, not the student's
        return RunResult(reason=f"grader error: {exc}")
    work = Path(tempfile.mkdtemp(prefix="dlcourse-case-"))  # the grader's own, never the sandbox's
    own_server = server is None
    try:
        allow = tuple(sorted(allowed_imports(list(allow_imports))))
        spec: dict[str, Any] = {"qid": qid, "cells": cells, "args": skeleton, "limits": asdict(limits),
                                "allow_imports": list(allow)}
        if driver is not None:
            spec["driver"] = {"source": str(driver[0]), "name": str(driver[1])}
        job = json.dumps(spec).encode()
        # numpy's stub types **kwds as if a key could be savez's allow_pickle flag; ours are a0, a1, ...
        packed = io.BytesIO()
        np.savez(packed, **arrays)  # type: ignore[arg-type]
        files = {"job.json": job, "args.npz": packed.getvalue()}
        if server is None:  # own_server
            server = ForkServer(python, isolated=isolated, preload=allow)
        try:
            rc, timed_out, produced = server.launch(files, limits, allow)
        except (OSError, RuntimeError) as exc:
            return RunResult(reason=f"grader error: could not run the sandbox ({exc})")
        for name, data in produced.items():
            (work / name).write_bytes(data)
        return _collect(work, rc, timed_out, limits)
    except Exception as exc:  # the grader itself must never crash on a submission
        return RunResult(reason=f"grader error: {type(exc).__name__}: {exc}")
    finally:
        if own_server and server is not None:
            server.close()
        _rmtree(work)


def _collect(work: Path, rc: int | None, timed_out: bool, limits: Limits) -> RunResult:
    """Turn what the case process left in its folder into a :class:`RunResult`."""
    tail = _tail(work / "output.txt")
    if timed_out:
        return RunResult(reason=f"did not finish within {limits.wall_s:g} s of wall-clock time "
                                "(infinite loop or waiting?)", output_tail=tail)
    status_path = work / "status.json"
    status: dict | None = None
    if status_path.is_file() and status_path.stat().st_size <= MAX_STATUS:
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
