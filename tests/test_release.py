"""The student bundle: notebooks, exercises, dlcourse, environment files and a README; no
solutions, no hidden cases, no solution markers or lines; refused when exercises/ is stale."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from dlcourse.autograde import notebook as nbmod
from dlcourse.autograde.cli import main
from dlcourse.autograde.engine import hidden_module, module_cases
from dlcourse.autograde.release import (
    audit_release,
    build_release,
    course_secret_lines,
    shipped_lines,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("release") / "student"
    assert main(["--course", str(ROOT), "release", str(out)]) == 0
    return out


def test_bundle_has_what_a_student_needs(bundle):
    for d in ("exercises", "dlcourse", "notebooks"):
        assert (bundle / d).is_dir()
    for f in ("README.md", "pyproject.toml", "environment.yml", "Makefile", "docs/references.md"):
        assert (bundle / f).is_file()
    assert (bundle / "dlcourse" / "autograde" / "checks.py").is_file()
    assert (bundle / "dlcourse" / "autograde" / "cases" / "c01_perceptron.py").is_file()  # public checks ship
    for ex in (ROOT / "exercises").glob("*.ipynb"):
        assert (bundle / "exercises" / ex.name).read_bytes() == ex.read_bytes()
    readme = (bundle / "README.md").read_text()
    assert "NotImplementedError" in readme and "check" in readme
    assert not list(bundle.rglob("__pycache__"))


def test_bundle_has_no_solutions_and_no_hidden_cases(bundle):
    assert not (bundle / "solutions").exists()
    assert not (bundle / "grading").exists()
    assert not (bundle / "tests").exists()
    assert audit_release(bundle, ROOT) == []
    texts = {p: p.read_text(encoding="utf-8", errors="replace") for p in bundle.rglob("*") if p.is_file()}
    notebooks = {p: t for p, t in texts.items() if p.suffix == ".ipynb"}
    secret = course_secret_lines(ROOT)
    assert secret  # the solutions have lines a student must not get
    for p, text in notebooks.items():
        assert nbmod.BEGIN not in text
        assert not shipped_lines(p) & secret, p
    for sol in (ROOT / "solutions").glob("*.ipynb"):
        nb = nbmod.read(sol)
        hid = hidden_module(sol.stem, ROOT / "grading")
        for q in nbmod.questions(nb):  # hidden case names stay out of the student's notebooks
            if q.kind == "auto":
                for case in module_cases(hid, q.qid):
                    assert not [p for p, t in notebooks.items() if p.parent.name == "exercises" and case.name in t]
    hidden_sources = [p.read_text() for p in (ROOT / "grading").glob("*.py")]
    assert not [p for p, t in texts.items() if any(src in t for src in hidden_sources)]


def test_audit_catches_a_leaky_bundle(bundle, tmp_path):
    leaky = tmp_path / "leaky"
    shutil.copytree(bundle, leaky)
    shutil.copytree(ROOT / "grading", leaky / "grading")
    shutil.copy(ROOT / "solutions" / "01_perceptron.ipynb", leaky / "exercises" / "copy.ipynb")
    shutil.copy(ROOT / "grading" / "c01_perceptron.py", leaky / "dlcourse" / "autograde" / "cases" / "c01_extra.py")
    problems = audit_release(leaky, ROOT)
    assert any("grading/" in p for p in problems)
    assert any("solution marker" in p for p in problems)
    assert any("hidden cases" in p for p in problems)


def test_release_is_refused_when_exercises_are_stale(tmp_path):
    course = tmp_path / "course"
    for d in ("solutions", "exercises", "grading"):
        shutil.copytree(ROOT / d, course / d)
    sol = course / "solutions" / "01_perceptron.ipynb"
    sol.write_text(sol.read_text().replace("Exercise 01", "Exercise 01 (edited)"))
    with pytest.raises(RuntimeError, match="stale"):
        build_release(course, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError, match="into the course"):
        build_release(ROOT, ROOT / "exercises" / "x")


def test_the_bundle_readme_and_makefile_are_the_student_s(bundle):
    makefile = (bundle / "Makefile").read_text()
    targets = set(re.findall(r"(?m)^([a-z][\w.-]*):", makefile))
    assert targets == {"setup", "lab", "check", "clean"}
    for name in ("solutions", "grading", "tests", "release", "generate", "pytest"):
        assert name not in makefile, name  # nothing that needs what a student does not get
    run = subprocess.run(["make", "-n", "-C", str(bundle), "setup", "lab", "check"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "pip install --quiet -e ." in run.stdout and "jupyter lab" in run.stdout
    assert ".venv/bin/dlcourse check exercises/" in run.stdout
    readme = (bundle / "README.md").read_text()
    assert "make lab" in readme and "make check" in readme
    # the audit catches a course Makefile shipped by mistake
    leaky = bundle.parent / "with_course_makefile"
    shutil.copytree(bundle, leaky)
    shutil.copy(ROOT / "Makefile", leaky / "Makefile")
    assert any("Makefile names" in p for p in audit_release(leaky, ROOT))


def test_dlcourse_check_runs_the_public_checks_of_a_saved_notebook(bundle, capsys):
    assert main(["check", str(bundle / "exercises" / "01_perceptron.ipynb")]) == 1
    assert "not implemented yet" in capsys.readouterr().out
    assert main(["check", str(ROOT / "solutions" / "01_perceptron.ipynb")]) == 0
    out = capsys.readouterr().out
    assert "public cases passed" in out and "FAIL" not in out


def _course_with_outputs(tmp_path) -> Path:
    course = tmp_path / "course"
    for d in ("solutions", "grading"):
        shutil.copytree(ROOT / d, course / d)
    nbmod.generate(course / "solutions", course / "exercises")
    (course / "notebooks").mkdir()
    lecture = sorted((ROOT / "notebooks").glob("*.ipynb"))[0]
    nb = nbformat.read(lecture, as_version=4)
    code = next(c for c in nb.cells if c.cell_type == "code")
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="an output\n")]
    code.execution_count = 3
    nbformat.write(nb, course / "notebooks" / lecture.name)
    return course


def test_notebooks_with_outputs_are_shipped_cleared_or_refused(tmp_path):
    course = _course_with_outputs(tmp_path)
    stripped: list[str] = []
    out = build_release(course, tmp_path / "out", stripped=stripped)
    (name,) = stripped
    assert name.startswith("notebooks/")
    shipped = nbformat.read(out / name, as_version=4)
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in shipped.cells if c.cell_type == "code")
    assert nbformat.read(course / name, as_version=4) != shipped  # the course's own notebook is left alone
    with pytest.raises(RuntimeError, match="notebooks with outputs"):
        build_release(course, tmp_path / "out2", outputs="refuse")
    assert not (tmp_path / "out2").exists()
