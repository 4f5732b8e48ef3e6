"""nbgrader interop: the solutions carry nbgrader's cell metadata next to the course's, the
real ``nbgrader generate_assignment`` accepts them and its student version holds no solution
line, and ``dlcourse generate`` keeps working on them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dlcourse.autograde import notebook as nbmod
from dlcourse.autograde.cli import main
from dlcourse.autograde.nbgrader_interop import add_nbgrader_metadata, render, sync_solutions

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
BIN = Path(sys.executable).parent  # nbgrader runs `alembic` from the environment's bin/
CONFIG = 'c = get_config()\nc.CourseDirectory.root = "."\nc.CourseDirectory.course_id = "dlcourse"\n'


def _nbgrader_course(tmp: Path, notebooks: list[Path], with_metadata: bool) -> Path:
    course = tmp / ("synced" if with_metadata else "plain")
    (course / "source" / "ps1").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(CONFIG)
    for nb in notebooks:
        data = json.loads(nb.read_text(encoding="utf-8"))
        if with_metadata:
            add_nbgrader_metadata(data)
        else:
            for cell in data["cells"]:
                cell.get("metadata", {}).pop("nbgrader", None)
        (course / "source" / "ps1" / nb.name).write_text(render(data), encoding="utf-8")
    return course


def _generate(course: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run([str(BIN / "nbgrader"), "generate_assignment", "ps1", "--force"], cwd=course, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_real_nbgrader_generates_the_student_version_without_solutions(tmp_path):
    course = _nbgrader_course(tmp_path, SOLUTIONS, with_metadata=True)
    run = _generate(course)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    for sol in SOLUTIONS:
        student = course / "release" / "ps1" / sol.name
        assert student.is_file(), sol.name
        text = student.read_text(encoding="utf-8")
        assert nbmod.BEGIN not in text and nbmod.END not in text
        lines = {line.strip() for c in nbmod.read(student).cells for line in c.source.split("\n")}
        leaked = lines & nbmod.secret_lines(nbmod.read(sol))
        assert not leaked, (sol.name, sorted(leaked)[:3])
        graded = [c for c in nbmod.read(student).cells if "graded" in nbmod.tags(c)]
        assert graded and all("NotImplementedError" in c.source for c in graded)
        # nbgrader keeps the course's metadata, so the grader still finds the questions
        assert [q.qid for q in nbmod.questions(nbmod.read(student))] == [
            q.qid for q in nbmod.questions(nbmod.read(sol))]


@pytest.mark.slow
def test_without_the_metadata_nbgrader_rejects_the_solutions(tmp_path):
    course = _nbgrader_course(tmp_path, SOLUTIONS[:1], with_metadata=False)
    run = _generate(course)
    assert run.returncode != 0
    assert "Solution region detected in a non-solution cell" in run.stdout + run.stderr


def test_metadata_maps_each_cell_kind():
    data = json.loads(SOLUTIONS[0].read_text(encoding="utf-8"))
    add_nbgrader_metadata(data)
    for cell in data["cells"]:
        tags = cell["metadata"].get("tags", [])
        nbg = cell["metadata"].get("nbgrader")
        if "graded" in tags or "manual" in tags:
            assert nbg["solution"] and nbg["grade"] and not nbg["locked"]
            assert nbg["grade_id"] == cell["metadata"]["dlcourse"]["grade_id"] == cell["id"]
            assert nbg["points"] == cell["metadata"]["dlcourse"]["points"] and nbg["schema_version"] == 3
        elif "check" in tags:
            assert nbg["locked"] and not nbg["solution"] and not nbg["grade"] and nbg["grade_id"] == cell["id"]
        else:
            assert nbg is None
    assert render(add_nbgrader_metadata(json.loads(render(data)))) == render(data)  # idempotent


def test_syncing_a_copy_and_generating_exercises_from_it(tmp_path, capsys):
    course = tmp_path / "course"
    shutil.copytree(ROOT / "solutions", course / "solutions")
    (course / "exercises").mkdir()
    assert main(["--course", str(course), "nbgrader-metadata"]) == 0
    assert sync_solutions(course / "solutions", check=True) == []
    assert main(["--course", str(course), "nbgrader-metadata", "--check"]) == 0
    assert main(["--course", str(course), "generate"]) == 0  # dlcourse generate keeps working
    for sol in sorted((course / "solutions").glob("*.ipynb")):
        assert nbmod.questions(nbmod.read(sol)) == nbmod.questions(nbmod.read(ROOT / "solutions" / sol.name))
        assert (course / "exercises" / sol.name).is_file()
    # a change of points makes the copy stale again
    sol = course / "solutions" / SOLUTIONS[0].name
    data = json.loads(sol.read_text())
    graded = next(c for c in data["cells"] if "graded" in c["metadata"].get("tags", []))
    graded["metadata"]["dlcourse"]["points"] += 1
    sol.write_text(render(data))
    capsys.readouterr()
    assert main(["--course", str(course), "nbgrader-metadata", "--check"]) == 1
    assert SOLUTIONS[0].name in capsys.readouterr().err


def test_the_committed_solutions_carry_the_nbgrader_metadata():
    """Fails until `dlcourse nbgrader-metadata` (then `dlcourse generate`) is run on the course."""
    assert sync_solutions(ROOT / "solutions", check=True) == []
