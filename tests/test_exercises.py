"""Every exercise notebook runs as a student first opens it: the only errors allowed are the
stubs' NotImplementedError raised from a graded function, and every check cell says
"not implemented yet" instead of failing."""

from __future__ import annotations

from pathlib import Path

import pytest
from nbclient import NotebookClient

from dlcourse.autograde import notebook as nbmod

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = sorted((ROOT / "exercises").glob("*.ipynb"))


@pytest.mark.parametrize("path", EXERCISES, ids=[p.stem for p in EXERCISES])
def test_exercise_runs_with_only_stub_errors(path):
    nb = nbmod.read(path)
    graded = {q.qid for q in nbmod.questions(nb) if q.kind == "auto"}
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(ROOT / "exercises")}}).execute()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        for err in errors:
            assert err.ename == "NotImplementedError", (cell.id, err.ename, err.evalue)
            qid = err.evalue.split(":")[0]
            assert qid in graded, (cell.id, err.evalue)  # raised by a graded function's stub
        tags = nbmod.tags(cell)
        if "graded" in tags:
            assert not errors, f"{cell.id}: defining the stub must not fail"
        if "check" in tags:
            text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            assert not errors and "not implemented yet" in text, (cell.id, text)


def test_every_exercise_has_a_solution():
    assert [p.name for p in EXERCISES] == sorted(p.name for p in (ROOT / "solutions").glob("*.ipynb"))
    assert EXERCISES
