"""The grader's inputs and outputs around the sandbox: which files are graded at all (regular
files only, nothing opened that could block or be a link), a row and an exit status for every
submission that cannot be graded, one notebook per topic and student, feedback that keeps the
hidden cases hidden, trivial answers that earn nothing, a time budget per notebook, the
precedence of limits, and the --no-isolation switch."""

from __future__ import annotations

import ast
import csv
import functools
import json
import os
import re
import shutil
import signal
import socket
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

from dlcourse.autograde import engine, sandbox
from dlcourse.autograde import notebook as nbmod
from dlcourse.autograde.cli import main
from dlcourse.autograde.engine import (
    GradingSetupError,
    IsolationUnavailable,
    SubmissionRefused,
    discover,
    grade_paths,
    load_topic,
    read_submission,
)
from dlcourse.autograde.report import NOT_ISOLATED, feedback_markdown, write_reports
from dlcourse.autograde.spec import (
    BUDGET_REASON,
    Case,
    Limits,
    compare,
    copy_args,
    reason_category,
    to_plain,
)

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "01_perceptron.ipynb"
EXERCISE = ROOT / "exercises" / "01_perceptron.ipynb"
TOPICS = sorted(p.stem for p in (ROOT / "exercises").glob("*.ipynb"))
#: the automatic points of assignment 01 (its graded functions), from the trusted notebook
AUTO_01 = sum(q.points for q in nbmod.questions(nbmod.read(EXERCISE)) if q.kind == "auto")


def _grade(path, **kw):
    kw.setdefault("jobs", 2)
    return grade_paths(path, course_root=ROOT, progress=False, **kw)


def _by_student(records):
    return {r["student"]: r for r in records}


def _with_predict(body: str):
    """The 01 solution with ``perceptron_predict``'s body replaced."""
    nb = nbmod.read(SOLUTION)
    cell = next(c for c in nb.cells if c.get("id") == "perceptron_predict")
    cell.source = "import time\n\ndef perceptron_predict(X, w, b):\n" + "".join(
        "    " + line + "\n" for line in body.strip("\n").split("\n"))
    return nb


class Hung(BaseException):
    """Raised by :class:`_Alarm`: a BaseException, so that no ``except Exception`` (or
    ``except OSError``) in the code under test can swallow it."""


class _Alarm:
    """Fail (instead of hanging) when the block takes longer than ``seconds``; the alarm
    repeats every second after that, in case the first one lands somewhere harmless."""

    def __init__(self, seconds: int) -> None:
        self.seconds = seconds

    def __enter__(self):
        def ring(signum, frame):
            raise Hung(f"still running after {self.seconds} s: something blocked")

        self.old = signal.signal(signal.SIGALRM, ring)
        signal.setitimer(signal.ITIMER_REAL, self.seconds, 1.0)
        return self

    def __exit__(self, *exc):
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.old)


# --- which files are graded -------------------------------------------------------------


def test_a_symlink_to_a_solution_scores_zero_and_the_target_is_not_graded(tmp_path):
    sub = tmp_path / "subs"
    (sub / "alice").mkdir(parents=True)
    (sub / "alice" / "01_perceptron.ipynb").symlink_to(SOLUTION)  # in a student folder
    (sub / "bob.ipynb").symlink_to(SOLUTION)  # a top-level notebook
    (sub / "carol").symlink_to(ROOT / "solutions", target_is_directory=True)  # a whole student folder
    shutil.copy(EXERCISE, sub / "dave.ipynb")
    with _Alarm(120):
        records = _grade(sub, qids={"perceptron_update"})
    by = _by_student(records)
    assert set(by) == {"alice", "bob", "carol", "dave"}
    for name in ("alice", "bob", "carol"):
        r = by[name]
        assert r["status"] == "not graded" and r["points"] == 0, r
        assert any("symbolic link" in p for p in r["problems"]), r["problems"]
        assert not any(c for q in r["questions"] for c in q["cases"] if c.get("stage") != "prepare")
        assert "sha256_before" not in r  # never opened
    assert by["dave"]["status"] == "graded"
    assert engine.exit_status(records) == 1


def test_read_submission_checks_before_it_opens(tmp_path, monkeypatch):
    """lstat first: a link, a device, a giant are refused without os.open being called."""
    good = tmp_path / "good.ipynb"
    good.write_bytes(b'{"cells": []}')
    link = tmp_path / "link.ipynb"
    link.symlink_to(good)
    giant = tmp_path / "giant.ipynb"
    with open(giant, "wb") as fh:
        fh.truncate(60 * 2**20)  # sparse: 60 MiB that take no disk space
    opened = []
    real_open = os.open
    monkeypatch.setattr(os, "open", lambda p, *a, **k: (opened.append(os.fspath(p)), real_open(p, *a, **k))[1])
    for path, words in ((link, "symbolic link"), (giant, "60 MiB"), (Path("/dev/null"), "character device"),
                        (tmp_path, "folder")):
        with _Alarm(30), pytest.raises(SubmissionRefused, match=words):
            read_submission(path)
    assert opened == []
    raw, st = read_submission(good)
    assert raw == b'{"cells": []}' and opened == [str(good)]


def test_a_fifo_named_like_a_notebook_gets_a_row_and_never_blocks(tmp_path):
    sub = tmp_path / "subs"
    (sub / "erin").mkdir(parents=True)
    os.mkfifo(sub / "erin" / "01_perceptron.ipynb")  # opening it for reading would wait forever
    os.mkfifo(sub / "frank.ipynb")
    shutil.copy(SOLUTION, sub / "gail.ipynb")
    with _Alarm(60):
        records = _grade(sub, qids={"perceptron_update"})
    by = _by_student(records)
    for name in ("erin", "frank"):
        assert by[name]["status"] == "not graded" and by[name]["points"] == 0
        assert any("FIFO" in p for p in by[name]["problems"]), by[name]["problems"]
    assert by["gail"]["points"] == 3


def test_a_socket_and_a_device_get_a_row(tmp_path):
    sub = tmp_path / "s"
    sub.mkdir()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(sub / "hank.ipynb"))
        try:
            os.mknod(sub / "ivy.ipynb", 0o600 | 0o020000, os.makedev(1, 3))  # /dev/null's numbers
            device = True
        except (PermissionError, OSError):
            device = False
        with _Alarm(60):
            records = _grade(sub, qids={"perceptron_update"})
            (dev_record,) = _grade("/dev/null", qids={"perceptron_update"})  # a device given by path
    finally:
        sock.close()
    by = _by_student(records)
    assert any("socket" in p for p in by["hank"]["problems"]) and by["hank"]["status"] == "not graded"
    if device:
        assert any("device" in p for p in by["ivy"]["problems"])
    assert dev_record["status"] == "not graded" and any("device" in p for p in dev_record["problems"])


def test_an_oversized_sparse_notebook_is_refused_before_reading(tmp_path):
    sub = tmp_path / "s" / "jack"
    sub.mkdir(parents=True)
    with open(sub / "01_perceptron.ipynb", "wb") as fh:
        fh.truncate(60 * 2**20)
    (record,) = _grade(tmp_path / "s", qids={"perceptron_update"})
    assert record["status"] == "not graded" and record["points"] == 0
    assert any("60 MiB" in p and "50 MiB" in p for p in record["problems"]), record["problems"]
    assert "sha256_before" not in record


# --- a row and an exit status for every submission -------------------------------------


def test_an_unknown_topic_does_not_stop_the_batch(tmp_path, capsys):
    sub = tmp_path / "subs"
    sub.mkdir()
    shutil.copy(SOLUTION, sub / "kate.ipynb")
    nb = nbmod.read(SOLUTION)
    nb.metadata["dlcourse"]["topic"] = "09_no_such_topic"
    nbformat.write(nb, sub / "liam.ipynb")
    (sub / "mia.ipynb").write_text("this is not JSON {")
    out = tmp_path / "out"
    code = main(["--course", str(ROOT), "grade", str(sub), "--out", str(out), "--jobs", "2", "--quiet"])
    captured = capsys.readouterr()
    assert code == 1, captured.err
    assert "could not be graded" in captured.err
    data = {s["student"]: s for s in json.loads((out / "grades.json").read_text())}
    assert data["kate"]["points"] == data["kate"]["max_points"] == AUTO_01
    liam = data["liam"]["notebooks"][0]
    assert liam["status"] == "not graded" and "09_no_such_topic" in liam["problems"][0]
    assert data["mia"]["notebooks"][0]["status"] == "not graded"
    rows = {r["student"]: r for r in csv.DictReader((out / "gradebook.csv").open())}
    assert set(rows) == {"kate", "liam", "mia"} and "09_no_such_topic" in rows["liam"]["problems"]
    assert {p.name for p in (out / "feedback").iterdir()} == {"kate.md", "liam.md", "mia.md"}
    assert "Not graded" in (out / "feedback" / "liam.md").read_text()
    # every submission graded: exit status 0
    assert main(["--course", str(ROOT), "grade", str(sub / "kate.ipynb"), "--out", str(tmp_path / "o2"),
                 "--quiet"]) == 0


def test_what_a_student_handed_in_never_vanishes_from_the_grades(tmp_path, capsys):
    """An upper-case .IPYNB is a notebook; a stray 01_perceptron.py beside it is superseded
    (never a 0 in the gradebook); a student who handed in only a .py gets a row that says why."""
    subs = tmp_path / "subs"
    (subs / "olga").mkdir(parents=True)
    (subs / "pete").mkdir()
    shutil.copy(SOLUTION, subs / "olga" / "01_perceptron.IPYNB")
    (subs / "olga" / "01_perceptron.py").write_text("def perceptron_predict(w, b, X): ...\n")  # the newer file
    # names no topic of the course, or not as a file of its own: not handed in, passed over
    for stray in ("notes.txt", "fig_03_loss.png", "week_02_notes.txt", "01_perceptron.ipynb.bak",
                  "01_perceptron.ipynb:Zone.Identifier", "01_perceptron.ipynb~", "09_no_such_topic.py"):
        (subs / "olga" / stray).write_text("not work")
    for stray in ("00_README.md", "2024_10_grades.csv"):
        (subs / stray).write_text("the instructor's")
    os.utime(subs / "olga" / "01_perceptron.IPYNB", (time.time() - 3600, time.time() - 3600))
    (subs / "pete" / "01_perceptron.py").write_text("print('my answers')\n")
    assert sorted((s, p.name) for s, p in discover(subs, engine.course_topics(ROOT))) == [
        ("olga", "01_perceptron.IPYNB"), ("olga", "01_perceptron.py"), ("pete", "01_perceptron.py")]
    assert [p.name for _, p in discover(subs)] == ["01_perceptron.IPYNB"]  # without the topics: notebooks only
    out = tmp_path / "out"
    assert main(["--course", str(ROOT), "grade", str(subs), "--out", str(out), "--quiet"]) == 1  # pete's
    assert "could not be graded" in capsys.readouterr().err
    rows = {r["student"]: r for r in csv.DictReader((out / "gradebook.csv").open())}
    assert float(rows["olga"]["points"]) == AUTO_01  # the stray file is listed, not scored
    assert "01_perceptron.py: superseded by 01_perceptron.IPYNB" in rows["olga"]["problems"]
    assert float(rows["pete"]["points"]) == 0 and "hand in the .ipynb" in rows["pete"]["problems"]
    olga = {Path(n["notebook"]).name: n for n in json.loads((out / "grades.json").read_text())[0]["notebooks"]}
    assert olga["01_perceptron.py"]["status"] == "superseded"
    assert "could not be graded either" in olga["01_perceptron.py"]["problems"][-1]


def test_a_refused_duplicate_still_fails_the_run_but_not_the_gradebook_row(tmp_path, capsys):
    subs = tmp_path / "subs"
    (subs / "quinn" / "old").mkdir(parents=True)
    shutil.copy(SOLUTION, subs / "quinn" / "01_perceptron.ipynb")
    (subs / "quinn" / "old" / "01_perceptron.ipynb").symlink_to(EXERCISE)  # a link: refused
    out = tmp_path / "out"
    assert main(["--course", str(ROOT), "grade", str(subs), "--out", str(out), "--quiet"]) == 1
    assert "could not be graded" in capsys.readouterr().err
    (row,) = csv.DictReader((out / "gradebook.csv").open())
    assert float(row["points"]) == AUTO_01 and "symbolic link" in row["problems"]
    by = {Path(n["notebook"]).parent.name: n for n in json.loads((out / "grades.json").read_text())[0]["notebooks"]}
    assert by["old"]["status"] == "not graded" and by["old"]["superseded_by"].endswith("quinn/01_perceptron.ipynb")


def test_handed_in_topic_reads_lms_prefixes_and_resubmissions_only_around_a_whole_topic():
    topics = engine.course_topics(ROOT)
    assert "01_perceptron" in topics and "02b_l_layer_network" in topics
    assert engine.handed_in_topic("doejane_12_34_02b_l_layer_network-2.pdf", topics) == "02b_l_layer_network"
    assert engine.handed_in_topic("Jane Doe_42_assignsubmission_file_01_perceptron.py", topics) == "01_perceptron"
    for name in ("01_perceptron_notes.txt", "x01_perceptron.py", "01_perceptron", "01_perceptron.py.txt"):
        assert engine.handed_in_topic(name, topics) is None, name


def test_a_canvas_renamed_file_that_is_not_a_notebook_is_still_a_canvas_submission():
    from dlcourse.autograde.lms import parse_name

    info = parse_name("doejane_LATE_123_456_01_perceptron-1.IPYNB")
    assert info is not None and info["original_name"] == "01_perceptron.IPYNB" and info["late_marker"]
    info = parse_name("doejane_123_456_01_perceptron-2.py")
    assert info is not None and info["lms"] == "canvas" and info["original_name"] == "01_perceptron.py"
    assert parse_name("doejane_123_456_carol") is None  # no extension: a folder, which Canvas never makes


@pytest.mark.parametrize("newest", ["solution", "exercise"])
def test_two_notebooks_of_one_topic_the_newest_is_graded(tmp_path, newest):
    student = tmp_path / "subs" / "noah"
    student.mkdir(parents=True)
    shutil.copy(SOLUTION, student / "01_perceptron.ipynb")
    shutil.copy(EXERCISE, student / "01_perceptron_final.ipynb")  # same topic, from its metadata
    older, newer = ((student / "01_perceptron_final.ipynb", student / "01_perceptron.ipynb")
                    if newest == "solution" else (student / "01_perceptron.ipynb", student / "01_perceptron_final.ipynb"))
    os.utime(older, (time.time() - 3600, time.time() - 3600))
    records = _grade(tmp_path / "subs", qids={"perceptron_update", "perceptron_predict"})
    by = {Path(r["notebook"]).name: r for r in records}
    graded, superseded = by[newer.name], by[older.name]
    assert graded["status"] == "graded" and superseded["status"] == "superseded"
    assert superseded["questions"] == [] and superseded["points"] == superseded["max_points"] == 0
    assert f"superseded by {newer.name}" in superseded["problems"][0]
    assert graded["points"] == (5 if newest == "solution" else 0)
    assert engine.exit_status(records) == 0  # a superseded notebook is not a failure
    paths = write_reports(records, tmp_path / "out")
    (row,) = csv.DictReader(paths["csv"].open())
    columns = [k for k in row if k.startswith("01_perceptron:")]
    assert float(row["points"]) == sum(float(row[c]) for c in columns) == graded["points"]
    assert float(row["max_points"]) == 5


# --- feedback that keeps hidden cases hidden -----------------------------------------------

LEAKY = """
print("OUTPUT", repr(X.tolist()), repr(w.tolist()), b)
name = "Leak_" + "_".join(str(int(abs(v) * 1000)) for v in np.ravel(X)[:3])
raise type(name, (Exception,), {})("SECRET" + repr(X.tolist()) + repr(w.tolist()) + repr(b))
"""


def test_feedback_names_public_cases_and_only_categorises_hidden_ones(tmp_path):
    path = tmp_path / "olga.ipynb"
    nbformat.write(_with_predict(LEAKY), path)
    (record,) = _grade(path, qids={"perceptron_predict"})
    paths = write_reports([record], tmp_path / "out")
    md = (paths["feedback"] / "olga.md").read_text()
    hidden_results = [c for c in record["questions"][0]["cases"] if c["visibility"] == "hidden"]
    spec = load_topic("01_perceptron", ROOT, ROOT / "grading")
    cases = spec.cases["perceptron_predict"]

    def traces(case):
        X, w = case.args[0], case.args[1]
        return {repr(X.tolist())[:60], repr(w.tolist())[:60],
                "Leak_" + "_".join(str(int(abs(v) * 1000)) for v in np.ravel(X)[:3])}

    public_traces = set().union(*(traces(c) for vis, c in cases if vis == "public"))
    hidden = [c for vis, c in cases if vis == "hidden"]
    for case, result in zip(hidden, hidden_results, strict=True):
        assert case.name not in md
        for secret in traces(case) - public_traces:
            assert secret not in md, secret
            assert secret in result["reason"] + result.get("output_tail", ""), secret  # the instructor's JSON
    assert "OUTPUT" not in md  # no output tail reaches a student
    assert md.count("SECRET") == sum(vis == "public" for vis, _ in cases)  # from the public cases only
    instructor = json.loads(paths["json"].read_text())[0]["notebooks"][0]["questions"][0]
    assert all("SECRET" in c["reason"] and c["output_tail"] for c in instructor["cases"])  # the tail: its last 1500 characters
    assert {c["name"] for c in instructor["cases"]} == {c.name for _, c in cases}
    for k in range(1, len(hidden) + 1):
        assert f"hidden case {k} of {len(hidden)}: raised an exception" in md
    for vis, case in cases:
        if vis == "public":  # public cases in full: name and the reason
            assert case.name in md
    assert "raised Leak_" in md


def test_hints_from_hidden_cases_never_name_the_case():
    record = {"questions": [{"qid": "q", "kind": "auto", "max_points": 2.0, "points": 0.0, "lost": [], "cases": [
        {"name": "secret edge -7", "visibility": "hidden", "weight": 1.0, "passed": False, "reason": "x", "stage": "run"},
        {"name": "pub", "visibility": "public", "weight": 1.0, "passed": True, "reason": None, "stage": "compare"}]}]}
    cases = {"q": [("hidden", Case("secret edge -7", expected=1, hint="try the case 'secret edge -7'")),
                   ("public", Case("pub", expected=1))]}
    engine._score(record, {"q": "the question's hint"}, cases)
    assert record["questions"][0]["hint"] == "the question's hint"
    cases["q"][0] = ("hidden", Case("secret edge -7", expected=1, hint="mind negative inputs"))
    record["questions"][0]["lost"] = []
    engine._score(record, {"q": "the question's hint"}, cases)
    assert record["questions"][0]["hint"] == "mind negative inputs"
    text = feedback_markdown({"student": "s", "points": 1, "max_points": 2, "manual_points_pending": 0,
                              "notebooks": [{**record, "topic": "01_x", "notebook": "s.ipynb", "problems": [], "max_points": 2}]})
    assert "secret edge -7" not in text and "hidden case 1 of 1: failed" in text


def _reason_literals() -> list[str]:
    """Every reason the sandbox writes, as source text with each {...} replaced by 'X'."""
    def literal(node) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.JoinedStr):
            return "".join(v.value if isinstance(v, ast.Constant) else "X" for v in node.values)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left = literal(node.left)
            return None if left is None else left + (literal(node.right) or "X")
        return None

    found = []
    for name in ("sandbox.py", "sandbox_child.py"):
        tree = ast.parse((ROOT / "dlcourse" / "autograde" / name).read_text())
        for node in ast.walk(tree):
            values = []
            if isinstance(node, ast.keyword) and node.arg == "reason":
                values.append(node.value)
            elif isinstance(node, ast.Dict):
                values += [v for k, v in zip(node.keys, node.values, strict=True)
                           if isinstance(k, ast.Constant) and k.value == "reason"]
            elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id in ("why", "reason")
                                                      for t in node.targets):
                values.append(node.value)
            elif isinstance(node, ast.FunctionDef) and node.name == "_signal_reason":
                values += [n.value for n in ast.walk(node) if isinstance(n, ast.Return)]
            for v in values:
                if isinstance(v, ast.IfExp):
                    values += [v.body, v.orelse]
                    continue
                text = literal(v)
                if text:
                    found.append(text)
    return found


SANDBOX_REASONS = _reason_literals()


def test_the_reason_scan_finds_the_sandbox_reasons():
    assert len(SANDBOX_REASONS) >= 15, SANDBOX_REASONS
    assert any(r.startswith("raised ") for r in SANDBOX_REASONS)


@pytest.mark.parametrize("reason", SANDBOX_REASONS)
def test_every_sandbox_reason_has_a_category(reason):
    category = reason_category(reason, "run")
    assert category != "failed" or reason == "failed", reason
    assert "X" not in category.replace("NaN", "")  # nothing of the case or the run is copied in


@pytest.mark.parametrize("reason, category", [
    ("raised ValueError: [[0.1, 0.2]] (cell perceptron_predict, line 3)", "raised ValueError"),
    ("raised Leak_101_2: [[0.1]]", "raised an exception"),
    ("raised ZeroDivisionError: division by zero; while loading: cell x, line 1: ImportError: y", "raised ZeroDivisionError"),
    ("raised LinAlgError: Singular matrix", "raised LinAlgError"),
    ("did not finish within 20 s of wall-clock time (infinite loop or waiting?)", "timed out"),
    ("exceeded the CPU-time limit of 5 s (infinite loop?)", "exceeded the CPU-time limit"),
    ("ran out of memory (limit 1024 MiB)", "ran out of memory"),
    ("wrong return type: result is a dict; expected a number or a numpy array", "wrong type"),
    ("not implemented: the function still raises NotImplementedError", "not implemented"),
    (BUDGET_REASON.format(seconds=120), "not run: the notebook's time budget was used up"),
    ("something the sandbox never said: [1, 2, 3]", "failed"),
    (None, "failed"),
])
def test_run_reasons_map_to_fixed_categories(reason, category):
    assert reason_category(reason, "run") == category


def test_every_comparison_reason_has_a_category():
    """Each reason compare() can give (spec.py), from real comparisons."""
    exp = Case("c", expected=np.array([1.0, 2.0]))
    ints = Case("c", expected=np.array([1, -1]))
    pair = Case("c", expected=(np.zeros(2), 1.0))
    nanexp = Case("c", expected=np.array([np.nan, 1.0]))
    validator = Case("c", check=lambda got: "std 0.00, expected about 1 (seed 123)")
    crashing = Case("c", check=lambda got: got.nope)
    got_cases = [
        (exp, np.array([1.0, 2.5]), "wrong value"), (exp, np.array([[1.0, 2.0]]), "wrong shape (likely missing or extra axis of length one)"),
        (exp, np.array([1.0, 2.0, 3.0]), "wrong shape"),
        (exp, np.array([np.nan, 2.0]), "NaN or inf"), (ints, np.array([1, 1]), "wrong value"),
        (ints, np.array([np.inf, 1.0]), "NaN or inf"), (nanexp, np.array([1.0, 1.0]), "NaN or inf"),
        (exp, np.array(["a", "b"]), "wrong type"), (exp, np.zeros(2).view(np.matrix), "wrong type"),
        (pair, np.zeros(2), "wrong number of returned values"),
        (pair, (np.zeros(2),), "wrong number of returned values"),
        (exp, (np.zeros(2),), "wrong number of returned values"),
        (pair, (np.zeros(3), np.asarray(1.0)), "wrong shape"),
        (validator, np.zeros(2), "wrong value"), (crashing, np.zeros(2), "wrong value"),
    ]
    for case, got, category in got_cases:
        reason = compare(case, got)
        assert reason is not None
        assert reason_category(reason, "compare") == category, reason
        assert "seed" not in reason_category(reason, "compare")


# --- trivial answers earn nothing --------------------------------------------------------


def _reference_outputs(topic: str, spec) -> dict[tuple[str, str], object]:
    """The solution's result for every case (trusted code, run here only to learn shapes)."""
    nb = nbmod.read(ROOT / "solutions" / f"{topic}.ipynb")
    auto = [q.qid for q in spec.questions if q.kind == "auto"]
    ns: dict = {"np": np}
    exec(nbmod.extract_graded_code(nb, auto).code, ns)  # noqa: S102 - the course's own solution
    out = {}
    for qid in auto:
        for _, case in spec.cases[qid]:
            args, kwargs = copy_args(case.args, case.kwargs)
            assert (qid, case.name) not in out, f"two cases of {qid} named {case.name!r}"
            fn = ns[qid]
            if qid in spec.drivers:  # the question's driver builds torch objects around fn, as in the sandbox
                source, name = spec.drivers[qid]
                driver_ns: dict = {}
                exec(source, driver_ns)  # noqa: S102 - the course's own driver
                fn = functools.partial(driver_ns[name], ns[qid])
            out[(qid, case.name)] = to_plain(fn(*args, **kwargs))
    return out


def _trivial(kind: str, ref, case: Case):
    def like(make):
        return tuple(make(np.shape(r)) for r in ref) if isinstance(ref, tuple) else make(np.shape(ref))

    if kind == "zeros":
        return like(np.zeros)
    if kind == "ones":
        return like(np.ones)
    if kind == "nan":
        return like(lambda shp: np.full(shp, np.nan))
    if kind == "first_argument":
        args, kwargs = copy_args(case.args, case.kwargs)
        first = args[0] if args else next(iter(kwargs.values()))
        return to_plain(first)
    assert kind == "solution"
    return ref


@pytest.fixture(scope="module")
def trivial_grades(tmp_path_factory):
    """Every topic graded for five 'students' whose every function returns zeros, ones, NaN,
    its first argument, or (a control) the right answer; the sandbox is replaced by a stub
    that returns what such a function returns, so the engine's scoring is what is tested."""
    sub = tmp_path_factory.mktemp("trivial")
    refs = {}
    for topic in TOPICS:
        refs.update(_reference_outputs(topic, load_topic(topic, ROOT, ROOT / "grading")))
    kinds = ("zeros", "ones", "nan", "first_argument", "solution")
    for kind in kinds:
        (sub / kind).mkdir()
        for topic in TOPICS:
            nb = nbmod.read(ROOT / "solutions" / f"{topic}.ipynb")
            graded = next(c for c in nb.cells if "graded" in nbmod.tags(c))
            graded.source = f"# variant: {kind}\n" + graded.source
            nbformat.write(nb, sub / kind / f"{topic}.ipynb")

    def fake_run_case(code, qid, case, limits=None, python=None, server=None, **kw):
        kind = re.search(r"# variant: (\w+)", "\n".join(src for _, src in code)).group(1)
        try:
            return sandbox.RunResult(value=_trivial(kind, refs[(qid, case.name)], case))
        except (TypeError, ValueError) as exc:  # not plain data: a wrong type in the real sandbox too
            return sandbox.RunResult(reason=f"wrong return type: {exc}")

    mp = pytest.MonkeyPatch()
    mp.setattr(sandbox, "run_case", fake_run_case)
    try:
        records = _grade(sub, fork_server=False)
    finally:
        mp.undo()
    return {(r["student"], r["topic"]): r for r in records}


@pytest.mark.parametrize("kind", ["zeros", "ones", "nan", "first_argument"])
@pytest.mark.parametrize("topic", TOPICS)
def test_trivial_answers_earn_nothing_on_any_question(trivial_grades, topic, kind):
    record = trivial_grades[(kind, topic)]
    assert record["status"] == "graded"
    earned = {q["qid"]: q["points"] for q in record["questions"] if q["kind"] == "auto" and q["points"]}
    assert earned == {}, earned


@pytest.mark.parametrize("topic", TOPICS)
def test_the_stubbed_grading_gives_the_right_answer_full_marks(trivial_grades, topic):
    record = trivial_grades[("solution", topic)]
    assert record["points"] == record["max_points"] > 0


def test_a_real_submission_returning_its_input_earns_nothing(tmp_path):
    """The same through the real sandbox: every graded function returns its first argument."""
    for topic in TOPICS:
        nb = nbmod.read(ROOT / "solutions" / f"{topic}.ipynb")
        for cell in nb.cells:
            if "graded" in nbmod.tags(cell):
                qid = cell.metadata["dlcourse"]["grade_id"]
                cell.source = (f"def {qid}(*args, **kwargs):\n"
                               "    return args[0] if args else next(iter(kwargs.values()))\n")
        nbformat.write(nb, tmp_path / f"{topic}.ipynb")
    records = _grade(tmp_path)
    assert len(records) == len(TOPICS)
    for r in records:
        assert r["points"] == 0, [(q["qid"], q["points"]) for q in r["questions"] if q["points"]]


# --- a time budget per notebook ---------------------------------------------------------


def test_a_sleeping_notebook_costs_at_most_its_time_budget(tmp_path):
    nb = _with_predict("time.sleep(1.5)\nreturn np.where(X @ w + b >= 0, 1, -1)")
    cell = next(c for c in nb.cells if c.get("id") == "perceptron_update")
    cell.source = "import time\n" + cell.source.replace("    ### BEGIN SOLUTION", "    time.sleep(1.5)\n    ### BEGIN SOLUTION")
    path = tmp_path / "pete.ipynb"
    nbformat.write(nb, path)
    limits = Limits(wall_s=1.8, notebook_s=4.0)
    start = time.monotonic()
    (record,) = _grade(path, qids={"perceptron_predict", "perceptron_update"}, limits=limits)
    elapsed = time.monotonic() - start
    cases = [c for q in record["questions"] for c in q["cases"]]
    assert len(cases) == 11  # 11 × 1.5 s of sleep: over 8 s of wall time on two workers without a budget
    budget = BUDGET_REASON.format(seconds=4)
    skipped = [c for c in cases if c["reason"] == budget]
    passed = [c for c in cases if c["passed"]]
    assert passed and skipped and len(passed) + len(skipped) == len(cases), [c["reason"] for c in cases]
    assert sum(c.get("seconds", 0) for c in cases) <= 4.0 + 0.5 * 2  # the budget, plus launch slack
    assert elapsed < 4.0 + 2.5, elapsed
    assert record["time_budget_s"] == 4.0
    md = feedback_markdown({"student": "pete", "points": record["points"], "max_points": record["max_points"],
                            "manual_points_pending": 0, "notebooks": [record]})
    assert "time budget" in md


def test_sleeping_past_the_wall_limit_is_stopped_at_the_wall_limit_not_the_budget(tmp_path):
    path = tmp_path / "quinn.ipynb"
    nbformat.write(_with_predict("time.sleep(60)"), path)
    start = time.monotonic()
    (record,) = _grade(path, qids={"perceptron_predict"}, limits=Limits(wall_s=1.0, notebook_s=30), jobs=1)
    assert time.monotonic() - start < 5 * 1.0 + 4
    reasons = [c["reason"] for c in record["questions"][0]["cases"]]
    assert all("wall-clock" in r for r in reasons), reasons


def test_the_budget_is_shared_safely_by_threads():
    budget = engine._Budget(10.0)
    import threading

    got = []

    def take():
        for _ in range(1000):
            r = budget.reserve(0.01)
            got.append(r)
            budget.settle(r, r)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(got) == pytest.approx(10.0, abs=1e-6)
    assert budget.reserve(1.0) == 0.0


def test_more_workers_than_the_budget_holds_wall_limits_wait_instead_of_failing():
    """8 workers × 20 s limits exceed a 120 s budget only on paper: cases that use little time
    give it back, so the 7th and 8th case wait for a share instead of failing as 'used up'."""
    import threading

    budget = engine._Budget(120.0)
    granted = []
    lock = threading.Lock()

    def case():
        r = budget.reserve(20.0)
        with lock:
            granted.append(r)
        time.sleep(0.05)
        budget.settle(r, 0.05)

    threads = [threading.Thread(target=case) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert granted == [20.0] * 8
    assert budget.reserve(1.0) == 1.0  # 120 − 8 × 0.05 s is left


# --- limits: CLI > assignment metadata > hidden LIMITS > defaults -------------------------


def _course_with_limits(tmp_path, meta_limits, hidden_limits: str | None = None) -> tuple[Path, Path]:
    course = tmp_path / "course"
    (course / "exercises").mkdir(parents=True)
    (course / "solutions").mkdir()
    nb = nbmod.read(EXERCISE)
    if meta_limits is not None:
        nb.metadata["dlcourse"]["limits"] = meta_limits
    nbformat.write(nb, course / "exercises" / "01_perceptron.ipynb")
    hidden = course / "grading"
    hidden.mkdir()
    text = (ROOT / "grading" / "c01_perceptron.py").read_text()
    if hidden_limits:
        text += "\n\nfrom dlcourse.autograde.spec import Limits  # noqa: E402\n\nLIMITS = " + hidden_limits + "\n"
    (hidden / "c01_perceptron.py").write_text(text)
    return course, hidden


def test_limits_precedence_cli_then_metadata_then_hidden_then_defaults(tmp_path):
    course, hidden = _course_with_limits(
        tmp_path, {"cpu_s": 7, "notebook_s": 33},
        '{"perceptron_update": Limits(cpu_s=9, wall_s=11, memory_mb=512, notebook_s=50)}')
    spec = load_topic("01_perceptron", course, hidden)
    upd, pred = spec.limits["perceptron_update"], spec.limits["perceptron_predict"]
    assert (upd.cpu_s, upd.wall_s, upd.memory_mb, upd.notebook_s) == (7, 11, 512, 33)  # metadata over LIMITS
    assert (pred.cpu_s, pred.wall_s, pred.memory_mb, pred.file_mb) == (7, 20, 1024, 16)  # over the defaults
    spec = load_topic("01_perceptron", course, hidden, {"cpu_s": 3, "file_mb": 4})
    upd = spec.limits["perceptron_update"]
    assert (upd.cpu_s, upd.wall_s, upd.file_mb, upd.notebook_s) == (3, 11, 4, 33)  # the CLI over everything
    assert spec.notebook_s == 33


def test_limits_from_the_command_line_reach_every_case(tmp_path, capsys):
    course, hidden = _course_with_limits(tmp_path, {"cpu_s": 7})
    sub = tmp_path / "subs"
    sub.mkdir()
    nb = nbmod.read(SOLUTION)
    nb.metadata["dlcourse"]["limits"] = {"wall_s": 1000, "notebook_s": 10_000}  # a submission's say: ignored
    nbformat.write(nb, sub / "rose.ipynb")
    out = tmp_path / "out"
    args = ["--course", str(course), "grade", str(sub), "--hidden", str(hidden), "--out", str(out), "--quiet"]
    assert main([*args, "--wall-s", "12", "--notebook-s", "90", "--memory-mb", "900"]) == 0
    (student,) = json.loads((out / "grades.json").read_text())
    (record,) = student["notebooks"]
    assert record["points"] == AUTO_01 and record["time_budget_s"] == 90
    for q in record["questions"]:
        if q["kind"] == "auto":
            assert q["limits"] == {"cpu_s": 7, "wall_s": 12, "memory_mb": 900, "file_mb": 16, "notebook_s": 90}
    assert main([*args, "--memory-mb", "0"]) == 2
    assert "'memory_mb' must be a positive" in capsys.readouterr().err


def test_bad_assignment_limits_are_that_topic_s_problem(tmp_path):
    course, hidden = _course_with_limits(tmp_path, {"cpu": 3})
    with pytest.raises(GradingSetupError, match="unknown limit 'cpu'"):
        load_topic("01_perceptron", course, hidden)
    with pytest.raises(nbmod.NotebookFormatError, match="expected one of cpu_s"):
        nbmod.validate_solution(nbformat.from_dict({**nbmod.read(SOLUTION), "metadata": {
            "dlcourse": {"topic": "01_perceptron", "limits": {"cpu": 3}}}}))
    (record,) = grade_paths(SOLUTION, course_root=course, hidden_dir=hidden, progress=False)
    assert record["status"] == "not graded" and "unknown limit 'cpu'" in record["problems"][0]


# --- isolation --------------------------------------------------------------------------


def test_without_the_os_sandbox_grading_stops_unless_no_isolation_is_asked_for(tmp_path, monkeypatch, capsys):
    message = "bubblewrap (bwrap) is not installed: sudo apt-get install bubblewrap"
    monkeypatch.setattr(sandbox, "isolation_problem", lambda python=None: message)
    with pytest.raises(IsolationUnavailable, match="apt-get install bubblewrap"):
        _grade(SOLUTION, qids={"perceptron_update"})
    out = tmp_path / "out"
    args = ["--course", str(ROOT), "grade", str(SOLUTION), "--out", str(out), "--quiet"]
    assert main(args) == 2
    assert "apt-get install bubblewrap" in capsys.readouterr().err and not out.exists()

    made = []
    real = sandbox.ForkServer

    def spy(*a, **kw):
        made.append(kw.get("isolated", True))
        return real(*a, **kw)

    monkeypatch.setattr(sandbox, "ForkServer", spy)
    assert main([*args, "--no-isolation", "--jobs", "2"]) == 0
    captured = capsys.readouterr()
    assert NOT_ISOLATED in captured.err
    assert made == [False, False]
    (student,) = json.loads((out / "grades.json").read_text())
    assert student["isolated"] is False and student["notebooks"][0]["isolated"] is False
    assert student["points"] == AUTO_01
    (row,) = csv.DictReader((out / "gradebook.csv").open())
    assert row["isolated"] == "no"
    assert student["student"] == "solutions"  # a topic-named notebook is its folder's student's
    md = (out / "feedback" / "solutions.md").read_text()
    assert md.splitlines()[0] == NOT_ISOLATED


def test_isolated_grading_is_marked_as_such(tmp_path):
    (record,) = _grade(SOLUTION, qids={"perceptron_update"})
    assert record["isolated"] is True
    md = feedback_markdown({"student": "s", "points": 3, "max_points": 3, "manual_points_pending": 0,
                            "isolated": record["isolated"], "notebooks": [record]})
    assert (NOT_ISOLATED in md) is (not record["isolated"])
