"""The grading sandbox is the operating system's: attacks that first switch off the in-process
checks (audit hook, import blocker) are still stopped by bubblewrap.

Each attack runs twice where that is safe: isolated (it must fail, and leave nothing behind on
the host) and, as a control, with ``isolated=False`` (it must succeed there, which proves that
the student code really did disable the Python-level defences, so the OS is what stopped it).
"""

from __future__ import annotations

import inspect
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from dlcourse.autograde import sandbox
from dlcourse.autograde.spec import Case, Limits

ROOT = Path(__file__).resolve().parents[1]
LIMITS = Limits(cpu_s=5, wall_s=20, memory_mb=512, file_mb=2)

pytestmark = pytest.mark.skipif(sandbox.isolation_problem() is not None,
                                reason=f"no sandbox here: {sandbox.isolation_problem()}")

#: what a determined student runs first: every Python-level defence switched off
DISABLE_CHECKS = '''
import gc, sys
_main = sys.modules["__main__"]
_main._FORBIDDEN_EVENTS = ("\\0never",)
_main.BLOCKED_TOP = frozenset()
_main._PATH_EVENTS_WRITE = set()
_main._PATH_EVENTS_READ = set()
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "_ImportBlocker"]
for _obj in gc.get_objects():
    if getattr(_obj, "__name__", None) == "hook" and getattr(_obj, "__closure__", None):
        for _cell in _obj.__closure__:
            if getattr(_cell.cell_contents, "__name__", "") == "inside":
                _cell.cell_contents = lambda path, allowed: True
'''


def attack(body: str) -> str:
    """A graded function ``f()`` that disables the checks, then runs ``body``."""
    return "import os, sys, time\n\ndef f():\n" + textwrap.indent(DISABLE_CHECKS + textwrap.dedent(body), "    ")


def run(body: str, *, isolated: bool = True, server=None):
    return sandbox.run_case(attack(body), "f", Case("attack", expected=0.0), LIMITS, server=server, isolated=isolated)


def test_disabling_the_checks_then_reading_the_solutions_finds_no_course_folder():
    path = ROOT / "solutions" / "01_perceptron.ipynb"
    body = f"return np.array([len(open({str(path)!r}).read())])"
    control = run(body, isolated=False)
    assert control.ok and control.value[0] == len(path.read_text()), control.reason
    got = run(body)
    assert not got.ok and "FileNotFoundError" in got.reason, got


def _home_entry_off_the_runtime() -> str:
    """Something in the grader's home that the sandbox has no reason to show."""
    runtime = sandbox.runtime_paths()
    for entry in sorted(Path.home().iterdir()):
        if not any(r == str(entry) or r.startswith(str(entry) + "/") for r in runtime):
            return str(entry)
    return str(Path.home() / ".nothing-here")


@pytest.mark.parametrize("what", ["grading/c01_perceptron.py", "dlcourse/models/perceptron.py", "exercises", "README.md"])
def test_nothing_of_the_course_nor_the_home_is_visible(what):
    home = _home_entry_off_the_runtime()
    with tempfile.NamedTemporaryFile(prefix="dlcourse-host-") as host_tmp:  # the grader's /tmp
        got = run(f"return np.array([os.path.exists({str(ROOT / what)!r}), os.path.exists('/etc/passwd'), "
                  f"os.path.exists({home!r}), os.path.exists({host_tmp.name!r})], dtype=float)")
    assert got.ok, got.reason
    np.testing.assert_array_equal(got.value, [0, 0, 0, 0])


def test_the_reference_is_not_importable_even_with_the_blocker_removed():
    got = run("import dlcourse.models.perceptron\nreturn np.zeros(1)")
    assert not got.ok and "ModuleNotFoundError" in got.reason, got


def test_writes_through_a_directory_fd_sqlite_and_a_pth_file_fail_and_leave_nothing(tmp_path):
    target = tmp_path / "dirfd"
    target.mkdir()
    site = Path(sysconfig.get_path("purelib"))
    marker = f"dlcourse_attack_{uuid.uuid4().hex}"
    body = f"""
    import sqlite3
    done = []
    for folder, name in (({str(target)!r}, "{marker}.txt"), ({str(site)!r}, "{marker}.pth")):
        try:
            fd = os.open(folder, os.O_RDONLY)
            os.close(os.open(name, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
            done.append(1.0)
        except OSError:
            done.append(0.0)
    try:
        sqlite3.connect({str(target / (marker + ".db"))!r}).execute("create table t (x)")
        done.append(1.0)
    except Exception:
        done.append(0.0)
    return np.array(done)
    """
    got = run(body)
    assert got.ok, got.reason
    np.testing.assert_array_equal(got.value, [0, 0, 0])  # the .pth into site-packages among them
    assert not list(site.glob(f"{marker}*")) and not list(target.iterdir())
    control = run(body.replace(str(site), str(target)), isolated=False)  # never write into the real venv
    assert control.ok and control.value.tolist() == [1.0, 1.0, 1.0], control


def test_shared_memory_and_files_do_not_outlive_a_case():
    name = f"dlcourse_attack_{uuid.uuid4().hex}"
    with sandbox.ForkServer() as server:
        first = run(f"""
        open('/dev/shm/{name}', 'w').write('x')
        os.mkdir('left_behind')
        os.chmod('left_behind', 0o500)
        open('note.txt', 'w').write('x')
        return np.array([os.path.exists('/dev/shm/{name}')], dtype=float)
        """, server=server)
        assert first.ok and first.value[0] == 1.0, first
        second = run(f"return np.array([os.path.exists('/dev/shm/{name}'), os.path.exists('note.txt'), "
                     "os.path.exists('left_behind'), len(os.listdir('/dev/shm'))], dtype=float)", server=server)
    assert second.ok, second.reason
    np.testing.assert_array_equal(second.value, [0, 0, 0, 0])
    assert not Path(f"/dev/shm/{name}").exists()


def _host_processes_with(marker: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                    found.append(int(pid))
            except OSError:
                pass
    return found


def test_no_process_a_case_starts_survives_it():
    seconds = f"{1000 + uuid.uuid4().int % 1000}.{uuid.uuid4().int % 1000:03d}"  # a unique argv
    with sandbox.ForkServer() as server:
        got = run(f"""
        for _ in range(3):
            if os.fork() == 0:
                os.setsid()
                os.execv("/bin/sleep", ["sleep", "{seconds}"])
        time.sleep(0.5)
        return np.zeros(1)
        """, server=server)
        assert got.ok, got.reason
        after = run("return np.array([len([p for p in os.listdir('/proc') if p.isdigit()])], dtype=float)",
                    server=server)
        assert after.ok and after.value[0] == 2, after  # the fork server (init) and this case
        assert _host_processes_with(seconds) == []


def test_no_network_even_to_the_grading_machine():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    body = f"""
    import socket
    try:
        socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
        return np.ones(1)
    except OSError:
        return np.zeros(1)
    """
    try:
        assert run(body).value[0] == 0.0
        assert run(body, isolated=False).value[0] == 1.0  # control: the checks were off
    finally:
        listener.close()


def test_a_case_cannot_reach_the_fork_servers_pipes_nor_stop_it():
    """The fork server is PID 1 of the sandbox and not dumpable: no process in there holds its
    pipes in a form a case could open, and signals from inside cannot reach an init."""
    with sandbox.ForkServer() as server:
        peek = run("""
        opened = []
        for pid in os.listdir('/proc'):
            if not pid.isdigit() or int(pid) == os.getpid():
                continue
            for fd in (0, 1):
                try:
                    open(f'/proc/{pid}/fd/{fd}', 'wb' if fd else 'rb').close()
                    opened.append(1.0)
                except OSError:
                    pass
        return np.array([len(opened), os.getpid() != 1], dtype=float)
        """, server=server)
        assert peek.ok and peek.value.tolist() == [0.0, 1.0], peek
        pid = server.proc.pid
        hit = run("import signal\nos.kill(1, signal.SIGSTOP)\nos.kill(1, signal.SIGKILL)\nreturn np.ones(1)",
                  server=server)
        assert hit.ok, hit.reason  # signals to an init without handlers are dropped
        again = run("return np.full(1, 7.0)", server=server)
        assert again.ok and again.value[0] == 7.0 and server.proc.pid == pid


def test_system_v_ipc_and_message_queues_do_not_outlive_a_case():
    """Data a case leaves in the IPC namespace (here a SysV segment and a POSIX message queue)
    could carry hidden inputs to a later case whose messages the student sees."""
    body = """
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.shmat.restype = ctypes.c_void_p
    made = []
    for key in (1234, 5678):
        shmid = libc.shmget(key, 1 << 20, 0o1600)  # IPC_CREAT | 0600
        if shmid >= 0:
            ctypes.memmove(libc.shmat(shmid, None, 0), b"hidden inputs", 13)
            made.append(shmid)
    open('/dev/mqueue/leak', 'w').close() if os.path.isdir('/dev/mqueue') else None
    return np.array([len(made), os.path.exists('/dev/mqueue/leak')], dtype=float)
    """
    with sandbox.ForkServer() as server:
        first = run(body, server=server)
        assert first.ok and first.value.tolist() == [2.0, 1.0], first
        second = run("return np.array([len(open('/proc/sysvipc/shm').read().splitlines()) - 1, "
                     "len(os.listdir('/dev/mqueue'))], dtype=float)", server=server)
    assert second.ok and second.value.tolist() == [0.0, 0.0], second


def test_open_files_and_processes_are_capped():
    got = run("""
    files, procs = 0, 0
    keep = []
    try:
        for _ in range(1000):
            keep.append(os.memfd_create('x'))
            files += 1
    except OSError:
        pass
    for fd in keep:
        os.close(fd)
    return np.array([files], dtype=float)
    """)
    assert got.ok and 0 < got.value[0] < 64, got


def test_a_reply_that_stops_short_costs_at_most_the_wall_limit(monkeypatch):
    """A fork server that announces more bytes than it sends is abandoned at the deadline."""
    server = sandbox.ForkServer(isolated=False)
    try:
        server._start()
        read, write = os.pipe()
        os.write(write, b'{"rc": 0, "timed_out": false, "files": {"status.json": 100}}\n{"ok"')
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            server._read_until(read, time.monotonic() + 0.5, line=True)
            server._read_until(read, time.monotonic() + 0.5, size=100)
        assert time.monotonic() - started < 5
        os.close(read)
        os.close(write)
    finally:
        server.close()


def test_an_ordinary_user_can_run_the_sandbox():
    """bubblewrap through user namespaces, as on an instructor's Linux machine (not root)."""
    python = sys.executable
    if os.geteuid() == 0:  # the ordinary user must be able to read the interpreter it runs
        python = shutil.which("python3", path="/usr/bin:/bin") or pytest.skip("root, and no system python3 an ordinary user can run")
    if os.geteuid() != 0:
        user = []
    elif shutil.which("setpriv"):
        user = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
    else:
        pytest.skip("root without setpriv: cannot drop to an ordinary user here")
    folder = Path(tempfile.mkdtemp(prefix="dlcourse-userns-"))  # readable by that user, unlike tmp_path
    try:
        folder.chmod(0o755)
        child = folder / "child.py"
        child.write_text("")
        child.chmod(0o644)
        argv = sandbox.bwrap_argv([python, "-I", "-c", "import os; print(os.getuid(), os.path.exists('/etc/passwd'))"],
                                  python=python, child=child)
        done = subprocess.run(user + argv, capture_output=True, text=True, timeout=60)
    finally:
        shutil.rmtree(folder)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["65534", "False"]


def test_isolation_problem_says_how_to_install_when_bwrap_is_missing(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    sandbox.isolation_problem.cache_clear()
    try:
        why = sandbox.isolation_problem()
    finally:
        monkeypatch.undo()
        sandbox.isolation_problem.cache_clear()
    assert "not installed" in why and "apt-get install bubblewrap" in why and "--no-isolation" in why


def test_the_sandbox_cost_per_case_is_small():
    """Not a timing assertion: the benchmark measures speed; this checks the forks are reused."""
    with sandbox.ForkServer() as server:
        for _ in range(3):
            assert run("return np.zeros(2)", server=server).ok
        pid = server.proc.pid
        assert run("return np.zeros(2)", server=server).ok
        assert server.proc.pid == pid  # one sandbox, many cases


def test_through_the_grader_an_attack_with_the_checks_off_scores_zero_and_leaves_nothing(tmp_path):
    """The real grader on a submission whose graded function first disables the in-process
    checks, then tries every escape at once and returns the reference's answer if any works."""
    import nbformat

    from dlcourse.autograde import notebook as nbmod
    from dlcourse.autograde.engine import grade_paths, sha256

    solution = ROOT / "solutions" / "01_perceptron.ipynb"
    site = Path(sysconfig.get_path("purelib"))
    marker = f"dlcourse_attack_{uuid.uuid4().hex}"
    seconds = f"{2000 + uuid.uuid4().int % 1000}.{uuid.uuid4().int % 1000:03d}"
    body = DISABLE_CHECKS + f"""
escaped = []
for attempt in (
    lambda: open({str(solution)!r}).read(),
    lambda: open({str(ROOT / 'grading' / 'c01_perceptron.py')!r}).read(),
    lambda: open({str(site / (marker + '.pth'))!r}, 'w').write('import os'),
    lambda: open({str(tmp_path / marker)!r}, 'w').write('x'),
):
    try:
        attempt()
        escaped.append(1)
    except OSError:
        pass
if os.fork() == 0:
    os.setsid()
    os.execv("/bin/sleep", ["sleep", "{seconds}"])
open('/dev/shm/{marker}', 'w').write('x')
if escaped:
    return np.where(X @ w + b >= 0, 1, -1)  # the answer, had anything worked
return np.zeros(len(X))
"""
    nb = nbmod.read(solution)
    cell = next(c for c in nb.cells if c.get("id") == "perceptron_predict")
    cell.source = "import os\nimport numpy as np\n\ndef perceptron_predict(X, w, b):\n" + textwrap.indent(body, "    ")
    submission = tmp_path / "subs" / "mallory.ipynb"
    submission.parent.mkdir()
    nbformat.write(nb, submission)
    before = sha256(submission)
    (record,) = grade_paths(submission.parent, course_root=ROOT, jobs=2, progress=False,
                            qids={"perceptron_predict"})
    (question,) = [q for q in record["questions"] if q["qid"] == "perceptron_predict"]
    assert question["points"] == 0 and question["max_points"] > 0
    assert all(not c["passed"] and c["reason"] for c in question["cases"])
    assert sha256(submission) == before and record["isolated"] is True
    assert not list(site.glob(f"{marker}*")) and not (tmp_path / marker).exists()
    assert not Path(f"/dev/shm/{marker}").exists()
    assert _host_processes_with(seconds) == []


# --- the torch opt-in of one assignment (07_pytorch_workflow) ------------------------------

TORCH_LIMITS = Limits(cpu_s=20, wall_s=60, memory_mb=2048, file_mb=2)
TORCH_CODE = '''
import torch


def f():
    import gc
    x = torch.ones(3, dtype=torch.float64, requires_grad=True)
    (x * x).sum().backward()
    return x.grad.numpy().copy()


def torch_in_memory():
    import gc
    return float(sum(type(o).__name__ == "module" and getattr(o, "__name__", "") == "torch" for o in gc.get_objects()))
'''


def test_allowed_imports_names_only_torch():
    from dlcourse.autograde.sandbox_child import allowed_imports

    assert allowed_imports(["torch"]) == {"torch"} and allowed_imports(None) == frozenset()
    for bad in (["dlcourse"], ["torch", "ctypes"], ["grading"], "torch", {"torch": 1}):
        with pytest.raises(ValueError, match="allow_imports"):
            allowed_imports(bad)


def test_torch_runs_only_where_the_assignment_opts_in_and_the_template_is_restarted_without_it():
    case = Case("torch", expected=np.full(3, 2.0))
    with sandbox.ForkServer(preload=("torch",)) as server:
        got = sandbox.run_case([("c", TORCH_CODE)], "f", case, TORCH_LIMITS, server=server, allow_imports=("torch",))
        assert got.ok, got.reason
        np.testing.assert_array_equal(got.value, [2.0, 2.0, 2.0])  # d(Σx²)/dx = 2x at x = 1
        # the same template asked for a case without the opt-in: refused, and torch is not in its memory
        refused = sandbox.run_case([("c", TORCH_CODE)], "f", case, LIMITS, server=server)
        assert not refused.ok and "import of 'torch' is not allowed" in refused.reason, refused.reason
        assert server.preload == ()
        clean = sandbox.run_case([("c", TORCH_CODE)], "torch_in_memory", Case("gc", expected=0.0), LIMITS, server=server)
        assert clean.ok and clean.value == 0.0, clean.reason


def test_a_driver_builds_torch_objects_around_the_students_function():
    from dlcourse.autograde.cases import c07_pytorch_workflow as c07

    source = inspect.getsource(sys.modules[c07.drv.__name__])
    student = "import torch\n\ndef l2_penalty(model, alpha):\n" \
              "    return alpha / 2 * sum((m.weight ** 2).sum() for m in model if isinstance(m, torch.nn.Linear))\n"
    arch = "linear:4,relu,linear:2"
    case = Case("l2", args=(arch, 3, 0.1), expected=c07.l2_expected(arch, 3, 0.1))
    got = sandbox.run_case([("c", student)], "l2_penalty", case, TORCH_LIMITS, allow_imports=("torch",),
                           driver=(source, "drive_l2_penalty"))
    assert got.ok, got.reason
    np.testing.assert_allclose(got.value[0], case.expected[0], rtol=1e-12)
    np.testing.assert_allclose(got.value[1], case.expected[1], rtol=1e-12)
    broken = sandbox.run_case([("c", student)], "l2_penalty", case, LIMITS, allow_imports=("torch",),
                              driver=("def drive(:", "drive"))
    assert not broken.ok and broken.reason.startswith("grader error: the driver could not be loaded"), broken.reason


def _notebook_with(topic_nb: Path, graded_source: str, qid: str, dest: Path, *, opt_in: bool) -> Path:
    import nbformat

    nb = nbformat.read(topic_nb, as_version=4)
    if opt_in:
        nb.metadata.setdefault("dlcourse", {})["allow_imports"] = ["torch"]  # the student grants it to themselves
    else:
        nb.metadata.get("dlcourse", {}).pop("allow_imports", None)
    for cell in nb.cells:
        if cell.get("metadata", {}).get("dlcourse", {}).get("grade_id") == qid:
            cell.source = graded_source
    nbformat.write(nb, dest)
    return dest


def test_another_assignment_importing_torch_is_refused_even_when_its_metadata_opts_in(tmp_path):
    from dlcourse.autograde.engine import grade_paths

    source = ("import torch\n\ndef momentum_step(w, grad, buf, lr, momentum, nesterov=False):\n"
              "    b = torch.as_tensor(buf) * momentum + torch.as_tensor(grad)\n"
              "    step = torch.as_tensor(grad) + momentum * b if nesterov else b\n"
              "    return (torch.as_tensor(w) - lr * step).numpy(), b.numpy()\n")
    sub = _notebook_with(ROOT / "solutions" / "04_optimizers.ipynb", source, "momentum_step",
                         tmp_path / "04_optimizers.ipynb", opt_in=True)
    (record,) = grade_paths(sub, course_root=ROOT, progress=False, jobs=1, qids={"momentum_step"})
    (q,) = [q for q in record["questions"] if q["qid"] == "momentum_step"]
    assert q["points"] == 0 and q["lost"]
    assert all("import of 'torch' is not allowed" in lost["reason"] for lost in q["lost"]), q["lost"]


def test_the_opt_in_is_read_from_the_course_copy_not_from_the_submission(tmp_path):
    """A course whose exercises/07 lacks the opt-in grades the (opted-in) solution zero: the
    submission's own metadata grants nothing."""
    from dlcourse.autograde.engine import grade_paths

    course = tmp_path / "course"
    (course / "exercises").mkdir(parents=True)
    (course / "solutions").mkdir()
    ex = ROOT / "exercises" / "07_pytorch_workflow.ipynb"
    _notebook_with(ex, "", "no such question", course / "exercises" / ex.name, opt_in=False)
    sub = tmp_path / "sub" / "07_pytorch_workflow.ipynb"
    sub.parent.mkdir()
    shutil.copy(ROOT / "solutions" / ex.name, sub)
    (record,) = grade_paths(sub, course_root=course, hidden_dir=ROOT / "grading", progress=False, jobs=1,
                            qids={"l2_penalty"})
    (q,) = [q for q in record["questions"] if q["qid"] == "l2_penalty"]
    assert q["points"] == 0 and q["lost"]
    assert all("import of 'torch' is not allowed" in lost["reason"] for lost in q["lost"]), q["lost"]


def test_torch_file_access_below_the_audit_hook_still_sees_no_course_files():
    """torch opens files in C (``torch.from_file``), where the audit hook cannot see it: the
    operating system's sandbox is what keeps the solutions out of reach, with torch opted in."""
    target = ROOT / "solutions" / "07_pytorch_workflow.ipynb"
    code = ("import torch\n\ndef f():\n"
            f"    return torch.from_file({str(target)!r}, size=16, dtype=torch.uint8).numpy().astype(float)\n")
    case = Case("from_file", expected=np.zeros(16))
    control = sandbox.run_case([("c", code)], "f", case, TORCH_LIMITS, allow_imports=("torch",), isolated=False)
    assert control.ok and bytes(control.value.astype(np.uint8)) == target.read_bytes()[:16], control.reason
    got = sandbox.run_case([("c", code)], "f", case, TORCH_LIMITS, allow_imports=("torch",))
    assert not got.ok and "RuntimeError" in got.reason, got.reason
