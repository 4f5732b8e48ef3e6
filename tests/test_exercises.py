"""Every exercise notebook survives "Run All" as a student first opens it: executed with errors
not allowed, every check cell says "not implemented yet", and every demo cell that calls an
unimplemented graded function says which one to implement instead of failing
(dlcourse.autograde.runall)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from dlcourse.autograde import notebook as nbmod

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = sorted((ROOT / "exercises").glob("*.ipynb"))
NEEDS = re.compile(r"⏭ needs (\w+)(\(\))?")


def _run(nb, path: Path = ROOT / "exercises") -> None:
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=False,
                   resources={"metadata": {"path": str(path)}}).execute()


def _text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def _top_level_calls(source: str) -> set[str]:
    """Names called by a cell's own statements (not inside the functions or lambdas it defines)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    called: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            return
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            called.add(node.func.id)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return called


@pytest.mark.parametrize("path", EXERCISES, ids=[p.stem for p in EXERCISES])
def test_exercise_runs_all_without_an_error(path):
    nb = nbmod.read(path)
    graded = {q.qid for q in nbmod.questions(nb) if q.kind == "auto"}
    _run(nb)  # raises CellExecutionError on the first error output
    demos = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        assert not [o for o in cell.outputs if o.output_type == "error"], cell.id
        text, tags = _text(cell), nbmod.tags(cell)
        if "check" in tags:
            assert "not implemented yet" in text, (cell.id, text)
            continue
        named = {m.group(1) for m in NEEDS.finditer(text)}
        assert all(n in graded or "because" in text for n in named), (cell.id, text)
        if "graded" not in tags and _top_level_calls(cell.source) & graded:
            demos += 1
            assert named, f"{cell.id} calls a stub but does not say which function to implement: {text!r}"
            assert "implement it in section" in text, (cell.id, text)


def _stub_notebook(extra_first_cell: str = ""):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in (
        "from dlcourse.autograde.checks import check\n" + extra_first_cell,
        "def perceptron_predict(X, w, b):\n    " + nbmod.stub_line("perceptron_predict"),
        "labels = perceptron_predict(None, None, 0)\nprint('never printed')",
        "labels.sum()",  # needs what the skipped cell would have defined
        "x = 40\nx + 2",  # the last expression is still displayed
        'check("perceptron_predict", perceptron_predict)',
    )]
    return nb


def test_run_all_goes_on_past_a_stub_and_keeps_the_display_of_the_last_expression():
    nb = _stub_notebook()
    _run(nb)
    demo, follow, display, chk = nb.cells[2:]
    assert _text(demo).startswith('⏭ needs perceptron_predict() — implement it in section "1. Prediction" first')
    assert "never printed" not in _text(demo)
    assert "needs labels, which an earlier cell did not define because perceptron_predict()" in _text(follow)
    assert [o.output_type for o in display.outputs] == ["execute_result"]
    assert display.outputs[0]["data"]["text/plain"] == "42"
    assert "not implemented yet" in _text(chk)


def test_without_the_guard_run_all_stops_at_the_first_stub():
    nb = _stub_notebook("from dlcourse.autograde import runall\nrunall.uninstall(get_ipython())")
    with pytest.raises(CellExecutionError, match="NotImplementedError"):
        _run(nb)
    assert nb.cells[-1].outputs == []  # the check cell never ran


def test_the_guard_lets_other_errors_through():
    nb = _stub_notebook()
    nb.cells.insert(3, nbformat.v4.new_code_cell("undefined_name + 1"))
    with pytest.raises(CellExecutionError, match="NameError"):
        _run(nb)
    nb = _stub_notebook()
    nb.cells.insert(3, nbformat.v4.new_code_cell('raise NotImplementedError("my own, not a stub")'))
    with pytest.raises(CellExecutionError, match="my own, not a stub"):
        _run(nb)


def test_every_exercise_has_a_solution():
    assert [p.name for p in EXERCISES] == sorted(p.name for p in (ROOT / "solutions").glob("*.ipynb"))
    assert EXERCISES
