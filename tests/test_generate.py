"""The exercise generator: exercises/ is exactly what it writes from solutions/, and nothing
secret (solution markers, solution lines, hidden cases) reaches exercises/ or dlcourse/."""

from __future__ import annotations

import copy
import importlib
import json
from pathlib import Path

import nbformat
import numpy as np
import pytest

from dlcourse.autograde import notebook as nbmod
from dlcourse.autograde.cli import main
from dlcourse.autograde.engine import hidden_module, module_cases
from dlcourse.autograde.release import hidden_lines
from dlcourse.autograde.spec import encode_args

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
TOPICS = [p.stem for p in SOLUTIONS]


def test_there_are_solution_notebooks():
    assert {"01_perceptron", "02_backprop"} <= set(TOPICS)


@pytest.mark.parametrize("path", SOLUTIONS, ids=TOPICS)
def test_solution_notebook_follows_the_spec(path):
    nb = nbmod.read(path)
    nbformat.validate(nb)
    questions = nbmod.validate_solution(nb, path.name)
    assert nbmod.topic_of(nb) == path.stem
    auto = [q for q in questions if q.kind == "auto"]
    manual = [q for q in questions if q.kind == "manual"]
    assert len(auto) >= 3, "each topic grades at least three functions"
    assert manual and all(q.points > 0 for q in manual), "written questions carry points"
    assert nb.metadata["kernelspec"]["name"] == "python3"
    ids = [c.id for c in nb.cells]
    assert len(set(ids)) == len(ids) and all(ids)
    for cell in nb.cells:  # committed without outputs
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert "from dlcourse.autograde.checks import check" in first_code.source


def test_question_ids_are_unique_across_the_course():
    qids = [q.qid for p in SOLUTIONS for q in nbmod.questions(nbmod.read(p))]
    assert len(qids) == len(set(qids))


def test_exercises_are_what_the_generator_writes(capsys):
    assert nbmod.generate(ROOT / "solutions", ROOT / "exercises", check=True) == []
    assert sorted(p.name for p in (ROOT / "exercises").glob("*.ipynb")) == [p.name for p in SOLUTIONS]
    assert main(["--course", str(ROOT), "generate", "--check"]) == 0
    assert "up to date" in capsys.readouterr().out


@pytest.mark.parametrize("path", SOLUTIONS, ids=TOPICS)
def test_no_marker_or_solution_line_reaches_the_exercise(path):
    sol = nbmod.read(path)
    ex_path = ROOT / "exercises" / path.name
    text = ex_path.read_text(encoding="utf-8")
    ex = nbmod.read(ex_path)
    assert nbmod.BEGIN not in text and nbmod.END not in text
    secrets = nbmod.secret_lines(sol, min_len=8)
    assert secrets, "the solutions have lines to hide"
    for line in secrets:
        assert line not in text, f"solution line leaked into {ex_path.name}: {line!r}"
    for cell in ex.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
        if "graded" in nbmod.tags(cell):
            qid = cell.metadata["dlcourse"]["grade_id"]
            assert nbmod.stub_line(qid) in cell.source
            assert f"def {qid}(" in cell.source  # the signature and docstring stay
        if "manual" in nbmod.tags(cell):
            assert nbmod.ANSWER_STUB in cell.source
    # questions and points survive generation (the grader reads them from exercises/)
    assert nbmod.questions(ex) == nbmod.questions(sol)


def _hidden_cases(topic):
    hid = hidden_module(topic, ROOT / "grading")
    return {q.qid: module_cases(hid, q.qid) for q in nbmod.questions(nbmod.read(ROOT / "solutions" / f"{topic}.ipynb"))
            if q.kind == "auto"}


@pytest.mark.parametrize("topic", TOPICS)
def test_every_question_has_public_and_hidden_cases(topic):
    pub = importlib.import_module(f"dlcourse.autograde.cases.c{topic}")
    assert pub.TOPIC == topic
    assert hidden_module(topic, ROOT / "grading").TOPIC == topic
    for qid, hidden in _hidden_cases(topic).items():
        public = module_cases(pub, qid)
        assert public and hidden
        assert qid in pub.HINTS, f"{qid} needs a hint"


def _args_key(case) -> str:
    skeleton, arrays = encode_args(case.args, case.kwargs)
    return json.dumps(skeleton, sort_keys=True) + "|".join(
        f"{k}:{a.shape}:{np.asarray(a, dtype=float).round(12).tobytes().hex()}" for k, a in sorted(arrays.items()))


@pytest.mark.parametrize("topic", TOPICS)
def test_hidden_cases_differ_from_public_ones_and_stay_hidden(topic):
    pub = importlib.import_module(f"dlcourse.autograde.cases.c{topic}")
    shipped = [p.read_text(encoding="utf-8") for p in (ROOT / "exercises").glob("*.ipynb")]
    shipped += [p.read_text(encoding="utf-8") for p in (ROOT / "dlcourse" / "autograde" / "cases").glob("*.py")]
    for s in hidden_lines(ROOT / "grading" / f"c{topic}.py", pub.__file__):
        assert not any(s in text for text in shipped), f"a line of grading/c{topic}.py is shipped: {s!r}"
    for qid, hidden in _hidden_cases(topic).items():
        public_keys = {_args_key(c) for c in module_cases(pub, qid)}
        for case in hidden:
            assert _args_key(case) not in public_keys, f"{qid}: hidden case {case.name!r} repeats a public one"
            assert not any(case.name in text for text in shipped), f"hidden case name {case.name!r} is shipped"


# --- the generator on small synthetic notebooks ------------------------------------------


def _solution(source: str, *, check: bool = True, markdown_markers: bool = False):
    nb = nbformat.v4.new_notebook()
    nb.metadata["dlcourse"] = {"topic": "99_demo"}
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    first = nbformat.v4.new_code_cell("import numpy as np\nfrom dlcourse.autograde.checks import check", id="imports")
    graded = nbformat.v4.new_code_cell(source, id="square")
    graded.metadata.update(tags=["graded"], dlcourse={"grade_id": "square", "points": 2})
    graded.outputs = [nbformat.v4.new_output("stream", text="old output")]
    graded.execution_count = 3
    cells = [first, graded]
    if check:
        chk = nbformat.v4.new_code_cell('check("square", square)', id="check_square")
        chk.metadata["tags"] = ["check"]
        cells.append(chk)
    manual = nbformat.v4.new_markdown_cell("Why?\n\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION", id="why")
    manual.metadata.update(tags=["manual"], dlcourse={"grade_id": "why", "points": 1})
    cells.append(manual)
    if markdown_markers:
        cells.append(nbformat.v4.new_markdown_cell("### BEGIN SOLUTION\nx\n### END SOLUTION", id="stray"))
    nb.cells = cells
    return nb


GOOD = '''def square(x):
    """x squared."""
    # hint: one line
    ### BEGIN SOLUTION
    y = x * x
    return y
    ### END SOLUTION
'''


def test_generator_replaces_regions_keeps_indentation_and_clears_outputs():
    sol = _solution(GOOD)
    before = copy.deepcopy(sol)
    ex = nbmod.make_exercise(sol)
    assert sol == before  # the solution is not modified
    graded = ex.cells[1]
    assert graded.source == ('def square(x):\n    """x squared."""\n    # hint: one line\n'
                             '    raise NotImplementedError("square: replace this line with your code")\n')
    assert graded.outputs == [] and graded.execution_count is None
    assert ex.cells[3].source == "Why?\n\n*YOUR ANSWER HERE*"
    ns: dict = {}
    exec(graded.source, ns)  # the stub is valid Python that raises
    with pytest.raises(NotImplementedError, match="square"):
        ns["square"](2)


@pytest.mark.parametrize("source, check, stray, message", [
    (GOOD.replace("    ### END SOLUTION\n", ""), True, False, "never closed"),
    (GOOD.replace("    ### BEGIN SOLUTION\n", ""), True, False, "without"),
    ("def square(x):\n    return x * x\n", True, False, "no ### BEGIN SOLUTION"),
    (GOOD, False, False, "followed by a cell tagged 'check'"),
    (GOOD, True, True, "not graded/manual"),
    (GOOD.replace("def square", "def cube"), True, False, "top-level function square"),
])
def test_generator_refuses_notebooks_that_break_the_spec(source, check, stray, message):
    with pytest.raises(nbmod.NotebookFormatError, match=message):
        nbmod.make_exercise(_solution(source, check=check, markdown_markers=stray))


def test_generate_writes_then_detects_stale_and_extra_exercises(tmp_path, capsys):
    sol_dir, ex_dir = tmp_path / "solutions", tmp_path / "exercises"
    sol_dir.mkdir()
    nbformat.write(_solution(GOOD), sol_dir / "99_demo.ipynb")
    assert nbmod.generate(sol_dir, ex_dir, check=True) == ["99_demo.ipynb"]  # missing
    assert nbmod.generate(sol_dir, ex_dir) == ["99_demo.ipynb"]
    assert nbmod.generate(sol_dir, ex_dir, check=True) == []
    target = ex_dir / "99_demo.ipynb"
    target.write_text(target.read_text().replace("replace this line", "edited by hand"))
    assert nbmod.generate(sol_dir, ex_dir, check=True) == ["99_demo.ipynb"]
    (ex_dir / "98_orphan.ipynb").write_text("{}")
    assert sorted(nbmod.generate(sol_dir, ex_dir, check=True)) == ["98_orphan.ipynb", "99_demo.ipynb"]
    (tmp_path / "grading").mkdir()
    assert main(["--course", str(tmp_path), "generate", "--check"]) == 1
    assert "stale" in capsys.readouterr().err
    assert main(["--course", str(tmp_path), "generate"]) == 0
    assert not (ex_dir / "98_orphan.ipynb").exists()
    assert main(["--course", str(tmp_path), "generate", "--check"]) == 0


def test_extraction_keeps_only_top_level_imports_functions_and_classes():
    nb = _solution("import math\nX = 3\nprint('hi')\nfor i in range(10**9):\n    pass\n"
                   "def square(x):\n    return x * x\nclass Helper:\n    pass\n%timeit square(2)\n")
    ex = nbmod.extract_graded_code(nb, ["square", "missing"])
    assert "import math" in ex.code and "def square" in ex.code and "class Helper" in ex.code
    assert "print" not in ex.code and "range" not in ex.code and "X = 3" not in ex.code
    assert ex.dropped == 3
    assert "not found" in ex.problems["missing"]
    broken = _solution("def square(x):\n    return x *\n")
    assert "syntax error" in nbmod.extract_graded_code(broken, ["square"]).problems["square"]
