"""The autograder end to end: full marks for every solution, zero for every untouched
exercise, partial credit for partial work, reports (JSON, CSV, Markdown), the CLI, the
comparison rules and the in-notebook check."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest

from dlcourse.autograde import checks
from dlcourse.autograde import notebook as nbmod
from dlcourse.autograde.cli import main
from dlcourse.autograde.engine import discover, grade_paths
from dlcourse.autograde.report import write_reports
from dlcourse.autograde.spec import Case, Rng, compare, copy_args, encode_args, to_plain

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))


def _grade(path, **kw):
    return grade_paths(path, course_root=ROOT, progress=False, jobs=2, **kw)


@pytest.fixture(scope="module")
def graded_solutions_and_exercises(tmp_path_factory):
    """One folder, two students: 'solver' hands in every solution, 'blank' every exercise."""
    sub = tmp_path_factory.mktemp("subs")
    for name, folder in (("solver", "solutions"), ("blank", "exercises")):
        (sub / name).mkdir()
        for nb in sorted((ROOT / folder).glob("*.ipynb")):
            shutil.copy(nb, sub / name / nb.name)
    records = _grade(sub)
    return sub, records


def test_every_solution_gets_full_marks(graded_solutions_and_exercises):
    _, records = graded_solutions_and_exercises
    solver = [r for r in records if r["student"] == "solver"]
    assert sorted(r["topic"] for r in solver) == sorted(p.stem for p in SOLUTIONS)
    for r in solver:
        lost = [(q["qid"], q["lost"]) for q in r["questions"] if q["kind"] == "auto" and q["lost"]]
        assert r["points"] == r["max_points"] > 0, lost
        assert r["unchanged"] and not r["problems"]


def test_every_untouched_exercise_gets_zero_with_a_reason(graded_solutions_and_exercises):
    _, records = graded_solutions_and_exercises
    blank = [r for r in records if r["student"] == "blank"]
    assert len(blank) == len(SOLUTIONS)
    for r in blank:
        assert r["points"] == 0 and r["max_points"] > 0
        for q in r["questions"]:
            if q["kind"] == "auto":
                assert q["points"] == 0
                assert all("NotImplementedError" in lost["reason"] for lost in q["lost"])
                assert len(q["lost"]) == len(q["cases"])


def test_reports_json_csv_and_markdown(graded_solutions_and_exercises, tmp_path):
    _, records = graded_solutions_and_exercises
    paths = write_reports(records, tmp_path / "out")
    data = json.loads(paths["json"].read_text())
    by = {s["student"]: s for s in data}
    assert set(by) == {"solver", "blank"}
    assert by["solver"]["points"] == by["solver"]["max_points"] > 0 and by["blank"]["points"] == 0
    assert by["solver"]["manual_points_pending"] > 0  # written questions wait for a human
    rows = list(csv.DictReader(paths["csv"].open()))
    assert {r["student"] for r in rows} == {"solver", "blank"}
    solver_row = next(r for r in rows if r["student"] == "solver")
    assert "01_perceptron:perceptron_update" in solver_row
    assert float(solver_row["01_perceptron:perceptron_update"]) == 3
    assert solver_row["01_perceptron:xor_why"] == "0"  # numeric: a written answer not graded yet counts 0
    assert "01_perceptron:xor_why" in solver_row["pending"].split()
    assert all(float(solver_row[c]) >= 0 for c in solver_row if ":" in c)  # no word in a score cell
    blank_md = (paths["feedback"] / "blank.md").read_text()
    assert "points lost" in blank_md and "NotImplementedError" in blank_md and "Hint:" in blank_md
    solver_md = (paths["feedback"] / "solver.md").read_text()
    assert "points lost" not in solver_md and "graded by hand" in solver_md


def _replace_function(nb, qid: str, source: str):
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    cell = next(c for c in nb.cells if c.get("id") == qid)
    cell.source = source
    return nb


def test_partial_solutions_get_partial_credit(tmp_path):
    sol = nbmod.read(ROOT / "solutions" / "01_perceptron.ipynb")
    # sign(0) = −1 instead of +1: right except for points on the boundary
    nb = _replace_function(sol, "perceptron_predict",
                           "def perceptron_predict(X, w, b):\n    return np.where(X @ w + b > 0, 1, -1)\n")
    # a broken update, while train_perceptron (which calls it) is untouched
    nb = _replace_function(nb, "perceptron_update",
                           "def perceptron_update(w, b, x, y, lr=1.0):\n    return w, b\n")
    path = tmp_path / "partial.ipynb"
    nbformat.write(nb, path)
    (record,) = _grade(path)
    q = {e["qid"]: e for e in record["questions"]}
    assert 0 < q["perceptron_predict"]["points"] < q["perceptron_predict"]["max_points"]
    failing = [lost["case"] for lost in q["perceptron_predict"]["lost"]]
    assert all("boundary" in c for c in failing), failing
    assert q["perceptron_update"]["points"] < q["perceptron_update"]["max_points"]
    # train_perceptron relies on the broken update: it fails except where nothing must move
    assert q["train_perceptron"]["points"] < q["train_perceptron"]["max_points"]
    assert 0 < record["points"] < record["max_points"]
    for lost in q["perceptron_update"]["lost"]:
        assert lost["points"] > 0 and lost["reason"]


def test_grading_uses_only_the_graded_cells(tmp_path):
    """A correct function in a non-graded cell earns nothing; the graded cell's definition counts."""
    sol = nbmod.read(ROOT / "solutions" / "01_perceptron.ipynb")
    ex = nbmod.read(ROOT / "exercises" / "01_perceptron.ipynb")
    good = next(c for c in sol.cells if c.get("id") == "perceptron_predict").source
    ex.cells.append(nbformat.v4.new_code_cell(good, id="elsewhere"))
    path = tmp_path / "elsewhere.ipynb"
    nbformat.write(ex, path)
    (record,) = _grade(path, qids={"perceptron_predict"})
    assert record["points"] == 0


def test_cli_grades_a_folder_with_a_progress_bar(tmp_path, capsys):
    sub = tmp_path / "subs"
    sub.mkdir()
    shutil.copy(ROOT / "solutions" / "01_perceptron.ipynb", sub / "alice.ipynb")
    shutil.copy(ROOT / "exercises" / "01_perceptron.ipynb", sub / "bob.ipynb")
    out = tmp_path / "out"
    assert main(["--course", str(ROOT), "grade", str(sub), "--out", str(out), "--jobs", "2"]) == 0
    captured = capsys.readouterr()
    assert "case" in captured.err and "100%" in captured.err  # tqdm's bar on stderr
    assert "alice" in captured.out and "10 / 10" in captured.out and "0 / 10" in captured.out
    assert (out / "grades.json").is_file() and (out / "gradebook.csv").is_file()
    assert {p.name for p in (out / "feedback").iterdir()} == {"alice.md", "bob.md"}


def test_cli_reports_a_missing_hidden_folder(tmp_path, capsys):
    code = main(["--course", str(ROOT), "grade", str(SOLUTIONS[0]), "--hidden", str(tmp_path / "nope"),
                 "--out", str(tmp_path / "o")])
    assert code == 2 and "no hidden cases" in capsys.readouterr().err


def test_public_only_grading_runs_fewer_cases():
    (full,) = _grade(ROOT / "solutions" / "01_perceptron.ipynb", qids={"perceptron_update"})
    (pub,) = grade_paths(ROOT / "solutions" / "01_perceptron.ipynb", course_root=ROOT, hidden_dir=None,
                         progress=False, qids={"perceptron_update"})
    assert len(pub["questions"][0]["cases"]) < len(full["questions"][0]["cases"])
    assert {c["visibility"] for c in pub["questions"][0]["cases"]} == {"public"}
    assert pub["points"] == full["points"] == 3


def test_discover_reads_student_folders_and_files(tmp_path):
    (tmp_path / "ann").mkdir()
    (tmp_path / "ann" / "01_perceptron.ipynb").write_text("{}")
    (tmp_path / "ann" / ".ipynb_checkpoints").mkdir()
    (tmp_path / "ann" / ".ipynb_checkpoints" / "01_perceptron-checkpoint.ipynb").write_text("{}")
    (tmp_path / "ben.ipynb").write_text("{}")
    (tmp_path / "notes.txt").write_text("")
    assert [(s, p.name) for s, p in discover(tmp_path)] == [("ann", "01_perceptron.ipynb"), ("ben", "ben.ipynb")]


# --- comparison rules (shared by the grader and the in-notebook check) --------------------


@pytest.mark.parametrize("expected, got, ok, words", [
    (np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-9]), True, None),
    (np.array([1.0, 2.0]), np.array([1.0, 2.1]), False, "largest error"),
    (np.array([1.0, 2.0]), np.array([[1.0, 2.0]]), False, "shape (1, 2), expected (2,)"),
    (np.array([1, -1]), np.array([1.0, -1.0]), True, None),  # exact ints, any numeric dtype
    (np.array([1, -1]), np.array([1, 1]), False, "1 of 2 entries differ"),
    (np.array([1.0, 2.0]), np.array([np.nan, 2.0]), False, "NaN"),
    (np.array([1.0, 2.0]), np.array([np.inf, 2.0]), False, "NaN or inf"),
    ((np.zeros(2), 1.0), (np.zeros(2), np.asarray(1.0)), True, None),
    ((np.zeros(2), 1.0), (np.zeros(2),), False, "tuple of 2 values, got 1"),
    ((np.zeros(2), 1.0), np.zeros(2), False, "got a single value"),
    (np.zeros(2), (np.zeros(2),), False, "expected a single value"),
    (3.0, np.asarray(3.0), True, None),
    (3.0, np.array([3.0]), False, "shape (1,), expected ()"),
])
def test_compare(expected, got, ok, words):
    reason = compare(Case("c", expected=expected), got)
    assert (reason is None) == ok, reason
    if words:
        assert words in reason


def test_compare_rejects_what_is_not_a_plain_array():
    class Sneaky(np.ndarray):
        def __eq__(self, other):
            return True

    sneaky = np.zeros(2).view(Sneaky)
    assert "plain" in compare(Case("c", expected=np.ones(2)), sneaky)
    assert "not numeric" in compare(Case("c", expected=np.ones(2)), np.array(["a", "b"]))
    # to_plain drops the subclass, so its __eq__ can no longer lie
    plain = to_plain(sneaky)
    assert type(plain) is np.ndarray and compare(Case("c", expected=np.ones(2)), plain) is not None
    with pytest.raises(TypeError, match="expected a number or a numpy array"):
        to_plain(object())
    with pytest.raises(TypeError, match="dtype object"):
        to_plain(np.array([object()]))


def test_validator_cases_and_their_failures():
    case = Case("std", check=lambda got: None if abs(float(got.std()) - 1) < 0.1 else f"std {float(got.std()):.2f}")
    assert compare(case, np.random.default_rng(0).normal(size=10_000)) is None
    assert compare(case, np.zeros(10)) == "std 0.00"
    assert "validator" in compare(Case("bad", check=lambda got: got.nope), np.zeros(1))
    with pytest.raises(ValueError, match="expected value or a check"):
        Case("empty")


def test_arguments_travel_as_plain_data_with_fresh_copies_and_generators():
    x = np.arange(3.0)
    args, kwargs = copy_args((x, 2, "s", None, (1.5, x), Rng(7)), {"k": [x]})
    assert args[0] is not x and np.array_equal(args[0], x)
    assert args[1:4] == (2, "s", None) and isinstance(args[4], tuple)
    assert np.array_equal(args[5].random(3), np.random.default_rng(7).random(3))
    assert np.array_equal(kwargs["k"][0], x)
    with pytest.raises(TypeError, match="plain data"):
        encode_args((object(),), {})
    with pytest.raises(TypeError, match="numeric"):
        encode_args((np.array([object()]),), {})


# --- the instant check in the student's kernel --------------------------------------------


def _load(path, qid):
    nb = nbmod.read(path)
    ns: dict = {"np": np}
    exec(nbmod.extract_graded_code(nb, [q.qid for q in nbmod.questions(nb) if q.kind == "auto"]).code, ns)
    return ns[qid]


def test_check_passes_a_solution_and_reports_a_stub(capsys):
    checks.check("perceptron_update", _load(ROOT / "solutions" / "01_perceptron.ipynb", "perceptron_update"))
    out = capsys.readouterr().out
    assert "3/3 public cases passed" in out and "FAIL" not in out
    checks.check("perceptron_update", _load(ROOT / "exercises" / "01_perceptron.ipynb", "perceptron_update"))
    assert "not implemented yet" in capsys.readouterr().out


def test_check_shows_expected_got_and_hint_and_never_raises(capsys):
    def wrong(w, b, x, y, lr=1.0):
        return w - lr * y * x, b  # wrong sign, b never moves

    def crashes(w, b, x, y, lr=1.0):
        raise ZeroDivisionError("oops")

    checks.check("perceptron_update", wrong)
    out = capsys.readouterr().out
    assert "FAIL" in out and "expected:" in out and "got:" in out and "hint:" in out
    checks.check("perceptron_update", crashes)
    assert "raised ZeroDivisionError: oops" in capsys.readouterr().out
    checks.check("perceptron_update", lambda *a, **k: object())
    assert "wrong return type" in capsys.readouterr().out
    checks.check("no_such_question", wrong)
    assert "no public cases" in capsys.readouterr().out


def test_check_gives_the_grader_verdict_on_public_cases():
    """A public case passes in the kernel exactly when it passes in the sandbox."""
    def half_right(X, w, b):
        return np.where(X @ w + b > 0, 1, -1)

    reports = checks.run_checks("perceptron_predict", half_right)
    assert [r.passed for r in reports] == [False, True]
