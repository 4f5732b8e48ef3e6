"""The sandboxed side of one grading case (also the plain-data helpers the kernel check uses).

Run by the grader as ``python -I sandbox_child.py`` with the working directory set to an
empty temporary folder that holds ``job.json`` (the student's extracted code, the question
id, the limits) and ``args.npz`` (the inputs).  It

1. imports numpy, then applies the resource limits (CPU, address space, file size);
2. refuses imports of ``dlcourse``, ``grading``, ``torch`` (and ctypes, subprocess, socket,
   multiprocessing) with a meta-path finder, and removes the editable-install finder; an
   assignment whose *trusted* notebook opts in (``metadata.dlcourse.allow_imports``, read by
   the grader from the course's copy, never from a submission) may use the modules of
   :data:`ALLOWABLE_IMPORTS` (torch), imported before the limits and hooks;
3. installs an audit hook (it cannot be removed from Python) that refuses opening, listing
   or changing files outside the folder (reads of the Python installation excepted), and
   refuses subprocesses, forks, sockets, ctypes, signals to other processes;
4. runs the student's top-level imports/defs/classes one statement at a time, calls the
   function on fresh copies of the inputs (or, for a question with a *driver*, calls the
   instructor's driver function with the student's function and the inputs: the driver
   builds what plain data cannot carry, such as a torch model and a DataLoader), converts the result to plain numeric arrays
   (:func:`to_plain`) and writes ``result.npz`` (``allow_pickle=False``) and
   ``status.json``.

It never sees an expected value: comparison happens in the grading process.  This file
imports nothing from dlcourse, so it can run where dlcourse is not importable; the kernel
check imports :func:`to_plain` and :func:`decode_args` from here (one definition).
"""

from __future__ import annotations

from typing import Any

import numpy as np

NUMERIC_KINDS = "biuf"  # bool, signed and unsigned ints, floats


class NotPlainError(TypeError):
    """A result that is not a number, a numeric array, or a tuple of them."""


def _one_plain(value: Any, where: str) -> np.ndarray:
    if isinstance(value, (bool, int, float, np.number, np.bool_)):
        arr = np.asarray(value)
    elif isinstance(value, np.ndarray):
        arr = np.array(value, copy=True, subok=False)  # a base ndarray: subclasses are dropped
    else:
        raise NotPlainError(f"{where} is a {type(value).__name__}; expected a number or a numpy array")
    if type(arr) is not np.ndarray or arr.dtype.kind not in NUMERIC_KINDS:
        raise NotPlainError(f"{where} has dtype {arr.dtype}; expected a numeric array")
    return arr


def to_plain(value: Any) -> np.ndarray | tuple[np.ndarray, ...]:
    """Convert a returned value to plain numeric arrays, or raise :class:`NotPlainError`.

    Accepts a number, an ``np.ndarray`` of a numeric dtype (a subclass becomes a base array)
    or a tuple/list of them, one level deep.
    """
    if isinstance(value, (tuple, list)):
        kind = type(value).__name__
        return tuple(_one_plain(v, f"element {i} of the returned {kind}") for i, v in enumerate(value))
    return _one_plain(value, "the returned value")


def decode_args(skeleton: dict, arrays) -> tuple[tuple, dict]:
    """Rebuild a case's arguments: fresh array copies, ``{"$rng": s}`` -> a Generator."""

    def dec(v: Any) -> Any:
        if isinstance(v, dict):
            if "$rng" in v:
                return np.random.default_rng(int(v["$rng"]))
            if "$array" in v:
                return np.array(arrays[v["$array"]], copy=True)
            if "$tuple" in v:
                return tuple(dec(x) for x in v["$tuple"])
        if isinstance(v, list):
            return [dec(x) for x in v]
        return v

    return tuple(dec(a) for a in skeleton["args"]), {k: dec(v) for k, v in skeleton["kwargs"].items()}


def parse_cell(source: str):
    """A cell's source parsed as a module, IPython magics and shell escapes (``%...``,
    ``!...``) blanked first.  Raises SyntaxError (or ValueError/RecursionError/MemoryError
    for pathological input)."""
    import ast

    return ast.parse("\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n")))


def top_level_definitions(source: str) -> list:
    """The top-level ``import``, ``def`` and ``class`` statements of a cell (parsed, not run);
    raises like :func:`parse_cell`."""
    import ast

    keep = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return [node for node in parse_cell(source).body if isinstance(node, keep)]


# --- the sandbox ------------------------------------------------------------------------

BLOCKED_TOP = frozenset({
    "dlcourse", "grading", "torch", "tensorflow", "jax", "autograd", "sklearn", "scipy",
    "ctypes", "_ctypes", "cffi", "subprocess", "_posixsubprocess", "socket", "_socket",
    "multiprocessing", "_multiprocessing", "pty", "signal", "resource", "nbformat", "nbclient",
})
_FORBIDDEN_EVENTS = (
    "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty", "os.kill",
    "os.killpg", "os.symlink", "os.link", "os.chdir", "os.chroot", "os.setuid", "os.setgid",
    "subprocess.Popen", "socket.", "ctypes.", "pty.spawn", "os.startfile", "resource.setrlimit",
    "resource.prlimit", "signal.pthread_kill", "builtins.input", "webbrowser.open", "urllib.Request",
    "http.client.connect", "ftplib.connect", "smtplib.connect", "sys.remote_exec",
)
_PATH_EVENTS_WRITE = {"os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown",
                      "os.truncate", "os.utime", "os.chflags", "os.lchflags", "os.lchmod",
                      "os.makedirs", "os.mkfifo", "os.mknod", "os.setxattr", "os.removexattr",
                      "shutil.rmtree", "shutil.copyfile", "shutil.copytree", "shutil.move",
                      "shutil.chown", "shutil.make_archive", "shutil.unpack_archive"}
_PATH_EVENTS_READ = {"os.listdir", "os.scandir", "glob.glob", "glob.glob/2", "os.listxattr",
                     "os.getxattr", "os.walk", "pathlib.Path.glob", "pathlib.Path.rglob"}


#: the blocked modules an assignment may opt into (never dlcourse, grading or an escape hatch)
ALLOWABLE_IMPORTS = frozenset({"torch"})
#: what opting into a module imports before the sandbox closes: the modules graded code and
#: drivers use, so that nothing has to be found on disk (or reach ctypes) after the hooks
PRELOAD_MODULES = {"torch": ("torch", "torch.nn", "torch.nn.functional", "torch.optim",
                             "torch.optim.lr_scheduler", "torch.utils.data")}


def allowed_imports(names) -> frozenset[str]:
    """The opted-in module names, validated: each must be in :data:`ALLOWABLE_IMPORTS`."""
    if names is None:
        return frozenset()
    if isinstance(names, str) or not isinstance(names, (list, tuple, set, frozenset)):
        raise ValueError(f"allow_imports must be a list of module names, got {type(names).__name__}")
    bad = [n for n in names if n not in ALLOWABLE_IMPORTS]
    if bad:
        raise ValueError(f"allow_imports may name only {sorted(ALLOWABLE_IMPORTS)}, got {bad!r}")
    return frozenset(names)


def preload(names) -> None:
    """Import the modules opted into (see :data:`PRELOAD_MODULES`), one thread for torch."""
    import importlib

    for name in sorted(allowed_imports(names)):
        for module in PRELOAD_MODULES[name]:
            importlib.import_module(module)
        if name == "torch":
            _warm_torch()


def _warm_torch() -> None:
    """Run, once, what graded torch code touches, so its lazy imports happen before the hooks.

    Building an optimizer imports ``torch._dynamo`` (and with it subprocess, sympy, ...), a
    DataLoader's iterator and a scheduler import their own modules: all refused, or slow, once
    the sandbox is closed.  The global random state is restored afterwards.
    """
    import torch

    torch.set_num_threads(1)  # the case's CPU limit counts every thread
    state = torch.random.get_rng_state()
    nn, optim = torch.nn, torch.optim
    x = torch.linspace(-1.0, 1.0, 8, dtype=torch.float64).reshape(4, 2)
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Dropout(0.5), nn.Linear(3, 1)).double()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, x[:, :1]), batch_size=2, shuffle=True)
    for make in (lambda p: optim.SGD(p, lr=0.1, momentum=0.9), optim.Adam, optim.AdamW, optim.RMSprop, optim.Adagrad):
        opt = make(model.parameters())
        scheduler = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
        model.train()
        for xb, yb in loader:
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(xb), yb) + nn.MSELoss()(model(xb), yb) + nn.L1Loss()(model(xb), yb)
            loss.backward()
            opt.step()
        scheduler.step()
        model.eval()
        with torch.no_grad():
            nn.CrossEntropyLoss()(torch.cat([model(x), -model(x)], 1), torch.zeros(4, dtype=torch.long)).item()
    model.load_state_dict(model.state_dict())
    torch.device("cpu")
    torch.random.set_rng_state(state)


MAX_WRITTEN_FILES = 16  # with RLIMIT_FSIZE, bounds the disk a case can fill
MAX_OPEN_FILES = 64  # RLIMIT_NOFILE of a case: numpy needs a few dozen at most
MAX_PROCESSES = 256  # RLIMIT_NPROC of a case (not enforced for root: see docs/instructors.md)
#: what the fork server sends back of a case's files, at most (bytes)
MAX_STATUS = 64 * 1024
MAX_RESULT = 256 * 1024 * 1024
OUTPUT_TAIL = 1500
MAX_OUTPUT_TAIL = OUTPUT_TAIL + 4  # "... " marks a cut


class _ImportBlocker:
    """A meta-path finder that refuses the reference implementation and escape hatches."""

    def __init__(self, blocked: frozenset[str] = BLOCKED_TOP) -> None:
        self.blocked = blocked

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in self.blocked:
            raise ImportError(f"import of {name!r} is not allowed in graded code "
                              "(graded functions may use numpy and the standard library only)")
        return None


def _install_sandbox(workdir: str, limits: dict, allow: frozenset[str] = frozenset()) -> None:
    import os
    import resource
    import sys

    mb = 1024 * 1024
    cpu = max(1, int(round(float(limits["cpu_s"]))))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # SIGXCPU, then SIGKILL
    try:  # Linux: the current virtual size, the limit comes on top of it
        with open("/proc/self/statm") as fh:
            vm_now = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        cap = vm_now + int(limits["memory_mb"]) * mb
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    except (OSError, ValueError):  # elsewhere (macOS) the address-space limit is not enforced
        pass
    fsize = int(limits["file_mb"]) * mb
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    for limit, value in ((resource.RLIMIT_CORE, 0), (resource.RLIMIT_NOFILE, MAX_OPEN_FILES),
                         (resource.RLIMIT_NPROC, MAX_PROCESSES)):
        try:  # open files bound what memfds and tmpfs files can hold; processes, fork bombs
            resource.setrlimit(limit, (value, value))
        except (ValueError, OSError):
            pass

    # imports: drop the editable-install finder (it maps dlcourse to the repository) and put
    # the blocker first; keep only the Python installation on sys.path
    sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in type(f).__module__.lower()
                        and "editable" not in getattr(f, "__module__", "").lower()
                        and "editable" not in getattr(f, "__name__", "").lower()]
    global BLOCKED_TOP
    # this case process's own copy of the list (forked, so the template's stays whole): the hook reads it
    blocked = BLOCKED_TOP = BLOCKED_TOP - (allowed_imports(sorted(allow)) & ALLOWABLE_IMPORTS)
    sys.meta_path.insert(0, _ImportBlocker(blocked))
    for name in list(sys.modules):
        if name.partition(".")[0] in blocked - {"signal", "resource"}:
            del sys.modules[name]

    real = os.path.realpath
    work = real(workdir)
    roots = tuple(sorted({real(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix,
                                             os.path.dirname(os.path.dirname(np.__file__)))}))
    sys.path[:] = [p for p in sys.path if p and real(p).startswith(roots)]
    read_ok = (work,) + roots + ("/dev/null", "/dev/urandom", "/proc/self", "/sys/devices/system/cpu")

    def inside(path, allowed) -> bool:
        p = real(os.fsdecode(path)) if not isinstance(path, int) else None
        if p is None:
            return True  # an already-open file descriptor
        return any(p == a or p.startswith(a.rstrip("/") + "/") for a in allowed)

    writes = [0]  # files opened for writing: each is capped by RLIMIT_FSIZE, their number here

    def hook(event: str, args: tuple) -> None:
        if event == "open":
            path, mode, flags = (tuple(args) + (None, None, None))[:3]
            if path is None:
                return
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC))
            if not inside(path, (work,) if writing else read_ok):
                raise PermissionError(f"graded code may not {'write' if writing else 'read'} "
                                      f"{os.fsdecode(path)!r}: only its own empty folder is allowed")
            if writing and not isinstance(path, int):
                writes[0] += 1
                if writes[0] > MAX_WRITTEN_FILES:
                    raise PermissionError(f"graded code may not open more than {MAX_WRITTEN_FILES} files for writing")
        elif event == "import":
            if args and isinstance(args[0], str) and args[0].partition(".")[0] in BLOCKED_TOP:
                raise ImportError(f"import of {args[0]!r} is not allowed in graded code")
        elif event in _PATH_EVENTS_WRITE:
            for a in args:
                if isinstance(a, (str, bytes, os.PathLike)) and not inside(a, (work,)):
                    raise PermissionError(f"graded code may not change {os.fsdecode(a)!r} ({event})")
        elif event in _PATH_EVENTS_READ:
            for a in args:
                if isinstance(a, (str, bytes, os.PathLike)) and not inside(a, read_ok):
                    raise PermissionError(f"graded code may not list {os.fsdecode(a)!r} ({event})")
        elif event.startswith(_FORBIDDEN_EVENTS):
            raise PermissionError(f"graded code may not do {event}")

    sys.addaudithook(hook)


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 500 else text[:500] + " ..."


def _main() -> int:
    import ast
    import builtins
    import json
    import os
    import traceback
    from functools import partial

    workdir = os.getcwd()
    with open("job.json", encoding="utf-8") as fh:
        job = json.load(fh)
    with np.load("args.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    savez, dump = np.savez, json.dump  # held before student code runs
    # the output files are opened now, before the audit hook, so that reporting never
    # depends on what the student's code did to the hook's budget or to builtins.open
    status_fh = open("status.json", "w", encoding="utf-8")  # noqa: SIM115 - closed by os._exit
    result_fh = open("result.npz", "wb")  # noqa: SIM115

    def report(status: dict) -> int:
        dump(status, status_fh)
        status_fh.flush()
        return 0

    allow = allowed_imports(job.get("allow_imports") or [])
    preload(allow)  # a no-op in a case forked from a fork server that preloaded them
    _install_sandbox(workdir, job["limits"], allow)
    os.remove("job.json")  # the inputs stay in memory; the folder is the student's now
    os.remove("args.npz")

    qid = job["qid"]
    # the notebook's first cell imports numpy as np; graded code may rely on that name
    namespace: dict[str, Any] = {"__name__": "submission", "__builtins__": builtins, "np": np}
    load_errors: list[str] = []
    for cell_id, source in job["cells"]:
        where = f"cell {cell_id}"
        try:
            nodes = top_level_definitions(source)
        except BaseException as exc:  # noqa: BLE001 - the grader reported it already
            load_errors.append(f"{where}: {_describe(exc)}")
            continue
        for node in nodes:  # one statement at a time: a failing import spares the rest
            mod = ast.Module(body=[node], type_ignores=[])
            try:
                exec(compile(mod, where, "exec", dont_inherit=True), namespace)  # noqa: S102 - sandboxed
            except SystemExit:
                load_errors.append(f"{where}, line {node.lineno}: called sys.exit() while loading")
            except BaseException as exc:  # an import that is refused, a decorator that raises
                load_errors.append(f"{where}, line {node.lineno}: {_describe(exc)}")
    cell_names = {f"cell {cell_id}" for cell_id, _ in job["cells"]}

    fn = namespace.get(qid)
    if not callable(fn):
        why = f"function {qid}() is not defined in the graded cells"
        if load_errors:
            why += " (while loading: " + "; ".join(load_errors[:3]) + ")"
        return report({"ok": False, "reason": why})

    args, kwargs = decode_args(job["args"], arrays)
    driver = job.get("driver")
    if driver:  # the instructor's code (trusted, in job.json): it calls the student's function
        driver_ns: dict[str, Any] = {"__name__": "grader_driver", "__builtins__": builtins}
        try:
            exec(compile(driver["source"], "grader driver", "exec", dont_inherit=True), driver_ns)  # noqa: S102
            drive = driver_ns[driver["name"]]
        except BaseException as exc:  # noqa: BLE001 - the instructor's bug, reported as such
            return report({"ok": False, "reason": f"grader error: the driver could not be loaded ({_describe(exc)})"})
        fn = partial(drive, fn)
    try:
        result = fn(*args, **kwargs)
        plain = to_plain(result)
    except NotImplementedError:
        return report({"ok": False, "reason": "not implemented: the function still raises NotImplementedError"})
    except NotPlainError as exc:
        return report({"ok": False, "reason": f"wrong return type: {exc}"})
    except SystemExit as exc:
        return report({"ok": False, "reason": f"the code called sys.exit({exc.code!r})"})
    except MemoryError:
        return report({"ok": False, "reason": f"ran out of memory (limit {job['limits']['memory_mb']} MiB)"})
    except RecursionError:
        return report({"ok": False, "reason": "maximum recursion depth exceeded (infinite recursion?)"})
    except BaseException as exc:
        if isinstance(exc, OSError) and exc.errno == 27:  # EFBIG: RLIMIT_FSIZE, mostly printing
            mib = job["limits"]["file_mb"]
            return report({"ok": False, "reason": f"wrote more than {mib} MiB of output (printing too much?)"})
        tb = traceback.extract_tb(exc.__traceback__)
        frames = [f for f in tb if f.filename in cell_names]
        where = f" ({frames[-1].filename}, line {frames[-1].lineno})" if frames else ""
        reason = f"raised {_describe(exc)}{where}"
        if load_errors:
            reason += "; while loading: " + "; ".join(load_errors[:3])
        return report({"ok": False, "reason": reason})

    items = plain if isinstance(plain, tuple) else (plain,)
    try:
        savez(result_fh, *items)  # numeric arrays only: nothing is pickled
        result_fh.flush()
    except BaseException as exc:
        return report({"ok": False, "reason": f"the result could not be saved: {_describe(exc)}"})
    return report({"ok": True, "tuple": isinstance(plain, tuple), "n": len(items)})


def _run_and_exit() -> None:
    """Run one case in this process and leave without atexit handlers or finalisers."""
    import os
    import sys

    try:
        code = _main()
    except BaseException:  # noqa: BLE001 - whatever happened, the parent reads status.json
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001
            pass
    os._exit(code)  # skip atexit handlers that student code may have registered


def _wait(pid: int, wall_s: float) -> tuple[int, bool]:
    """Wait for ``pid`` at most ``wall_s`` seconds; kill its process group on timeout.

    Returns ``(returncode, timed_out)`` with Popen's convention (−signal when killed)."""
    import os
    import select
    import signal
    import time

    deadline = time.monotonic() + wall_s
    timed_out = False
    pidfd = os.pidfd_open(pid) if hasattr(os, "pidfd_open") else None
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                _, status = os.waitpid(pid, 0)
                break
            if pidfd is not None:
                select.select([pidfd], [], [], left)
            else:
                time.sleep(min(0.005, left))
    finally:
        if pidfd is not None:
            os.close(pidfd)
    try:
        os.killpg(pid, signal.SIGKILL)  # anything the case left behind in its session
    except (ProcessLookupError, PermissionError):
        pass
    return os.waitstatus_to_exitcode(status), timed_out


def _read_capped(path: str, cap: int, tail: bool = False) -> bytes | None:
    """At most ``cap`` bytes of the regular file ``path`` (its end when ``tail``), None when
    it is missing, not a regular file (a FIFO, a symlink the case planted) or over the cap."""
    import os
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None
        if info.st_size > cap and not tail:
            return None
        if info.st_size > cap:
            os.lseek(fd, info.st_size - OUTPUT_TAIL, os.SEEK_SET)
            return b"... " + os.read(fd, OUTPUT_TAIL)
        chunks, left = [], cap
        while left > 0:
            block = os.read(fd, min(left, 1 << 20))
            if not block:
                break
            chunks.append(block)
            left -= len(block)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _wipe(folder: str) -> None:
    """Empty ``folder`` (not following symlinks), whatever the case left in it."""
    import os
    import shutil

    try:
        entries = os.listdir(folder)
    except OSError:
        return
    for name in entries:
        path = os.path.join(folder, name)
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                for root, dirs, _ in os.walk(path):  # a folder the case made read-only
                    for d in dirs:
                        os.chmod(os.path.join(root, d), 0o700)
                os.chmod(path, 0o700)
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)
        except OSError:
            pass


def _kill_all_others() -> None:
    """SIGKILL every process of this PID namespace but this one (its init), then reap them."""
    import os
    import signal

    try:
        os.kill(-1, signal.SIGKILL)  # kill(2): every process we may signal, except us and PID 1
    except ProcessLookupError:
        pass
    while True:  # as init, every process left is (or becomes, when orphaned) our child
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break


def _remove_sysv_ipc() -> None:
    """Remove every System V shared-memory segment, message queue and semaphore set of this IPC
    namespace (they would otherwise carry data, and memory, from one case to the next)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
    except (OSError, AttributeError):
        return
    ipc_rmid = 0
    removers = {"shm": lambda i: libc.shmctl(i, ipc_rmid, None), "msg": lambda i: libc.msgctl(i, ipc_rmid, None),
                "sem": lambda i: libc.semctl(i, 0, ipc_rmid)}
    for kind, remove in removers.items():
        try:
            with open(f"/proc/sysvipc/{kind}") as fh:
                rows = fh.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 1 and fields[1].isdigit():  # the second column is the object's id
                remove(int(fields[1]))


def _not_dumpable() -> None:
    """PR_SET_DUMPABLE 0: a case may not ptrace this process nor open its /proc/<pid>/fd pipes."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4
    except (OSError, AttributeError):
        pass


def _zygote(case_dir: str, pid_namespace: bool, preloaded: tuple[str, ...] = ()) -> None:
    """Fork server: numpy is imported once here; each request forks a fresh case process.

    Protocol on stdin/stdout: the grader sends one JSON line ``{"wall_s": ..., "files":
    {"job.json": n1, "args.npz": n2}}`` followed by those bytes; this server writes them into
    the emptied ``case_dir``, forks the case, waits at most ``wall_s``, and answers one JSON
    line ``{"rc": ..., "timed_out": ..., "files": {name: size}}`` followed by the bytes of
    ``status.json``, ``result.npz`` and the tail of ``output.txt`` (each size-capped; missing
    or irregular files are left out).  This process never runs submitted code and never sees
    expected values; every case runs in a forked child that gets its own session, stdio,
    limits and hooks (all installed after the fork).  Inside the sandbox (``pid_namespace``)
    every other process is killed after each case, and the case folder and ``/dev/shm`` are
    wiped, so no state passes from one case to the next.
    """
    import json
    import os
    import sys

    pid_namespace = pid_namespace and os.getpid() == 1  # kill(-1) only where it means "the sandbox"
    preload(list(preloaded))  # before any case: each forked case finds them in sys.modules
    _not_dumpable()
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    os.makedirs(case_dir, exist_ok=True)
    while True:
        line = requests.readline()
        if not line:
            return
        try:
            req = json.loads(line)
            wall_s = float(req["wall_s"])
            sizes = {str(k): int(v) for k, v in req["files"].items()}
        except (ValueError, KeyError, TypeError, AttributeError):
            return
        _wipe(case_dir)
        for name, size in sizes.items():
            data = requests.read(size)
            if len(data) != size or name not in ("job.json", "args.npz"):
                return
            with open(os.path.join(case_dir, name), "wb") as fh:
                fh.write(data)
        pid = os.fork()
        if pid == 0:  # the case process
            try:
                os.setsid()  # its own session and process group: killable as a whole
                os.chdir(case_dir)
                out = os.open("output.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                null = os.open(os.devnull, os.O_RDONLY)
                os.dup2(null, 0)
                os.dup2(out, 1)
                os.dup2(out, 2)
                os.closerange(3, 1 << 16)  # the pipes to the grader among them
            except BaseException:  # noqa: BLE001
                os._exit(70)
            _run_and_exit()
        rc, timed_out = _wait(pid, wall_s)
        if pid_namespace:
            _kill_all_others()
        files = {}
        for name, cap, tail in (("status.json", MAX_STATUS, False), ("result.npz", MAX_RESULT, False),
                                ("output.txt", OUTPUT_TAIL, True)):
            data = _read_capped(os.path.join(case_dir, name), cap, tail)
            if data is not None:
                files[name] = data
        _wipe(case_dir)
        if pid_namespace:
            _wipe("/dev/shm")
            _wipe("/dev/mqueue")
            _remove_sysv_ipc()
        header = {"rc": rc, "timed_out": timed_out, "files": {k: len(v) for k, v in files.items()}}
        replies.write(json.dumps(header).encode() + b"\n" + b"".join(files.values()))
        replies.flush()


if __name__ == "__main__":
    import sys as _sys

    if _sys.argv[1:2] == ["--zygote"] and len(_sys.argv) >= 3:
        _extra = _sys.argv[3:]
        _pre = tuple(_extra[_i + 1] for _i, _a in enumerate(_extra[:-1]) if _a == "--preload")
        _zygote(_sys.argv[2], "--pid-namespace" in _extra, _pre)
    else:
        _run_and_exit()
