"""Broken and hostile submissions: each scores zero on the affected cases with a clear reason;
the grader never crashes, never hangs past its limits, never edits the submission, and the
reference implementation and the hidden cases stay out of reach.

The corpus is generated here from the 01 solution: each hostile notebook replaces the body of
``perceptron_predict`` (or its whole cell); the other graded functions stay correct.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import nbformat
import pytest

from dlcourse.autograde import notebook as nbmod
from dlcourse.autograde.engine import grade_paths, sha256
from dlcourse.autograde.sandbox import run_case
from dlcourse.autograde.spec import Case, Limits

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "01_perceptron.ipynb"
LIMITS = Limits(cpu_s=1, wall_s=2.5, memory_mb=256, file_mb=2)
#: for the notebooks graded on every question: no loops there, so a generous wall clock keeps
#: the correct functions safe from a busy machine
LIMITS_WHOLE = Limits(cpu_s=2, wall_s=15, memory_mb=256, file_mb=2)
STOPPED = ("CPU-time limit", "wall-clock")  # a busy machine may reach the wall clock first
CANARY = "/tmp/dlcourse-hostile-canary-{}".format(os.getpid())


def predict(body: str) -> str:
    return "import os, sys, time\n\ndef perceptron_predict(X, w, b):\n" + "".join(
        "    " + line + "\n" for line in body.strip("\n").split("\n"))


# name -> (source of the perceptron_predict cell, words expected in every reason, or alternatives)
CORPUS = {
    "infinite_loop": (predict("while True:\n    pass"), STOPPED),
    "sleeps_forever": (predict("time.sleep(10_000)"), "wall-clock"),
    "ignores_sigxcpu": (predict("import signal\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\nwhile True:\n    pass"),
                        ("not allowed", *STOPPED)),  # the hard CPU limit is SIGKILL
    "memory_bomb": (predict("chunks = []\nwhile True:\n    chunks.append(bytearray(50_000_000))"), "memory"),
    "huge_array": (predict("return np.ones((10**6, 10**6))"), "memory"),
    "os_exit": (predict("os._exit(0)"), "without reporting a result"),
    "sys_exit": (predict("sys.exit(3)"), "sys.exit(3)"),
    "raises": (predict("raise ValueError('bad input')"), "ValueError: bad input"),
    "syntax_error": ("def perceptron_predict(X, w, b)\n    return X\n", "syntax error"),
    "wrong_shape": (predict("return np.where(X @ w + b >= 0, 1, -1)[:, None]"), "shape"),
    "nan": (predict("return np.full(len(X), np.nan)"), "NaN"),
    "always_equal": (predict("class Eq:\n    def __eq__(self, other):\n        return True\nreturn Eq()"),
                     "wrong return type"),
    "ndarray_subclass": (predict("class Liar(np.ndarray):\n    def __eq__(self, other):\n        return np.ones(np.shape(other), bool)\n"
                                 "    def __array_finalize__(self, obj):\n        pass\nreturn np.zeros(len(X)).view(Liar)"),
                         "differ"),
    "string_array": (predict("return np.array(['+1'] * len(X))"), "wrong return type"),
    "monkeypatch_numpy": (predict("np.array_equal = lambda *a, **k: True\nnp.allclose = lambda *a, **k: True\n"
                                  "np.ndarray.__eq__ = lambda *a: True\nreturn np.zeros(len(X))"), ""),
    "patch_checker": (predict("import dlcourse.autograde.spec as spec\nspec.compare = lambda *a: None\nreturn np.zeros(len(X))"),
                      "not allowed"),
    "imports_reference": (predict("from dlcourse.models.perceptron import Perceptron\nreturn Perceptron().predict(X)"),
                          ("not allowed", *STOPPED)),  # the hard CPU limit is SIGKILL
    "imports_hidden_cases": (predict("import grading.c01_perceptron as g\nreturn g"), "not allowed"),
    "loads_reference_by_path": (predict(
        "import importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('r', {str(ROOT / 'dlcourse' / 'models' / 'perceptron.py')!r})\n"
        "m = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(m)\nreturn np.zeros(len(X))"), "may not read"),
    "reads_hidden_cases": (predict(f"return open({str(ROOT / 'grading' / 'c01_perceptron.py')!r}).read()"), "may not read"),
    "reads_etc": (predict("return open('/etc/hostname').read()"), "may not read"),
    "lists_repo": (predict(f"return len(os.listdir({str(ROOT)!r}))"), "may not list"),
    "writes_outside": (predict(f"open({CANARY!r}, 'w').write('pwned')\nreturn np.zeros(len(X))"), "may not write"),
    "runs_shell": (predict(f"os.system('touch {CANARY}')\nreturn np.zeros(len(X))"), "may not do os.system"),
    "subprocess": (predict("import subprocess\nreturn subprocess.run(['true'])"), "not allowed"),
    "fork": (predict("os.fork()\nreturn np.zeros(len(X))"), "may not do os.fork"),
    "ctypes": (predict("import ctypes\nreturn ctypes.CDLL(None)"), "not allowed"),
    "kills_parent": (predict("os.kill(os.getppid(), 9)"), "may not do os.kill"),
    "prints_megabytes": (predict("for _ in range(100):\n    print('x' * 100_000)\nreturn np.where(X @ w + b >= 0, 1, -1)"),
                         "printing too much"),
    "fills_the_disk": (predict("i = 0\nwhile True:\n    with open(f'f{i}', 'wb') as fh:\n        fh.write(b'x' * 1_000_000)\n    i += 1"),
                       "more than 16 files"),
    "infinite_recursion": (predict("return perceptron_predict(X, w, b)"), "recursion"),
    "returns_none": (predict("pass"), "NoneType"),
}


def _notebook_with(source: str):
    nb = nbmod.read(SOLUTION)
    cell = next(c for c in nb.cells if c.get("id") == "perceptron_predict")
    cell.source = source
    return nb


#: graded on every question, to show that the damage stays in the hostile function, and
#: without the fork server (the corpus itself runs through it)
WHOLE = ("os_exit", "memory_bomb", "syntax_error", "sys_exit", "monkeypatch_numpy", "prints_megabytes",
         "imports_reference")


@pytest.fixture(scope="module")
def graded_corpus(tmp_path_factory):
    """The corpus graded on perceptron_predict only (fast); a few notebooks on everything."""
    folder = tmp_path_factory.mktemp("hostile")
    whole = tmp_path_factory.mktemp("hostile_whole")
    for name, (source, _) in CORPUS.items():
        nbformat.write(_notebook_with(source), (whole if name in WHOLE else folder) / f"{name}.ipynb")
    # a top-level script in a graded cell is never run: this one would hang and exit
    nb = nbmod.read(SOLUTION)
    cell = next(c for c in nb.cells if c.get("id") == "perceptron_update")
    cell.source = "import sys\nwhile True:\n    pass\nsys.exit(1)\n" + cell.source
    nbformat.write(nb, whole / "toplevel_script.ipynb")
    (folder / "not_a_notebook.ipynb").write_text("this is not JSON {")
    (folder / "wrong_cells.ipynb").write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                                                          "cells": [1, "x", None]}))
    nb = nbmod.read(SOLUTION)
    nb.cells = [c for c in nb.cells if c.get("id") != "train_perceptron"]
    nbformat.write(nb, whole / "deleted_cell.ipynb")
    before = {}
    for p in [*folder.iterdir(), *whole.iterdir()]:  # read-only submissions: nothing may write them
        p.chmod(stat.S_IRUSR | stat.S_IRGRP)
        before[p] = (sha256(p), p.stat().st_mtime_ns)
    records = grade_paths(folder, course_root=ROOT, jobs=2, progress=False, limits=LIMITS,
                          qids={"perceptron_predict"})
    # these go through the other launcher: an interpreter started from scratch for every case
    records += grade_paths(whole, course_root=ROOT, jobs=2, progress=False, limits=LIMITS_WHOLE, fork_server=False)
    return before, {r["student"]: r for r in records}


def _q(record, qid):
    return next(q for q in record["questions"] if q["qid"] == qid)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_hostile_submission_scores_zero_on_the_affected_question_with_a_reason(graded_corpus, name):
    _, records = graded_corpus
    record = records[name]
    q = _q(record, "perceptron_predict")
    assert q["points"] == 0, q
    words = CORPUS[name][1]
    for lost in q["lost"]:
        assert lost["reason"] and "grader error" not in lost["reason"]
        alternatives = (words,) if isinstance(words, str) else words
        assert any(w in lost["reason"] for w in alternatives), (name, lost["reason"])
    assert len(q["lost"]) == len(q["cases"])
    if name in WHOLE and name != "syntax_error":  # the other functions still earn their points
        assert _q(record, "perceptron_update")["points"] == _q(record, "perceptron_update")["max_points"]


def test_a_syntax_error_only_costs_its_own_cell(graded_corpus):
    _, records = graded_corpus
    record = records["syntax_error"]
    assert _q(record, "perceptron_update")["points"] == 3
    assert _q(record, "train_perceptron")["points"] == 3


def test_top_level_scripts_in_graded_cells_are_not_run(graded_corpus):
    _, records = graded_corpus
    record = records["toplevel_script"]
    assert record["points"] == record["max_points"] > 0


def test_unreadable_and_incomplete_notebooks_get_zero_not_a_crash(graded_corpus):
    _, records = graded_corpus
    for name in ("not_a_notebook", "wrong_cells"):
        record = records[name]
        assert record["points"] == 0 and record["problems"], record
    deleted = records["deleted_cell"]
    q = _q(deleted, "train_perceptron")
    assert q["points"] == 0 and "not found" in q["lost"][0]["reason"]
    assert _q(deleted, "perceptron_update")["points"] == 3


def test_no_submission_is_modified_and_nothing_escapes(graded_corpus):
    before, records = graded_corpus
    assert len(before) == len(CORPUS) + 4
    for p, fingerprint in before.items():
        assert (sha256(p), p.stat().st_mtime_ns) == fingerprint, p.name
    assert all(r["unchanged"] for r in records.values())
    assert not os.path.exists(CANARY)


def test_sandbox_limits_are_enforced_directly():
    case = Case("c", args=(1,), expected=1)
    loop = run_case("def f(x):\n    while True:\n        pass\n", "f", case, LIMITS)
    assert any(w in loop.reason for w in STOPPED), loop.reason
    ok = run_case("def f(x):\n    print('hello from the sandbox')\n    return x\n", "f", case, LIMITS)
    assert ok.ok and int(ok.value) == 1 and "hello from the sandbox" in ok.output_tail
    # the expected value never enters the child: the job file holds only the inputs
    secret = Case("c", args=(2,), expected=123456789)
    spy = run_case("import os\ndef f(x):\n    return [os.path.exists(n) for n in ('job.json', 'args.npz')]\n",
                   "f", secret, LIMITS)
    assert spy.ok and not any(spy.value)  # the inputs were read and removed before the call
