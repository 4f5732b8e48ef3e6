"""The Run-All guard's cell rewrite (dlcourse.autograde.runall) without a kernel: what it
catches, what it lets through, the names it remembers and the display of the last expression.
tests/test_exercises.py runs it in real kernels."""

from __future__ import annotations

import ast

import pytest

from dlcourse.autograde import notebook as nbmod
from dlcourse.autograde import runall

STUB = "def stub():\n    " + nbmod.stub_line("perceptron_predict") + "\n"


def _cell(source: str, ns: dict):
    """Run ``source`` as IPython would after the transformer: the value of the last expression."""
    tree = runall.GuardStubs().visit(ast.parse(source))
    *body, last = tree.body
    if isinstance(last, ast.Expr):  # IPython runs the last expression in 'single' mode: displayed
        exec(compile(ast.Module(body=body, type_ignores=[]), "<cell>", "exec"), ns)
        return eval(compile(ast.Expression(last.value), "<cell>", "eval"), ns)
    exec(compile(tree, "<cell>", "exec"), ns)
    return None


@pytest.fixture(autouse=True)
def _fresh():
    runall._skipped_names.clear()
    yield
    runall._skipped_names.clear()


def test_a_stub_stops_the_cell_with_one_line_and_no_error(capsys):
    ns: dict = {}
    exec(STUB, ns)
    assert _cell("a = 1\nb = stub()\nc = 3", ns) is None
    out = capsys.readouterr().out
    assert out.startswith("⏭ needs perceptron_predict() — implement it in section \"1. Prediction\" first")
    assert ns["a"] == 1 and "b" not in ns and "c" not in ns
    assert set(runall._skipped_names) == {"a", "b", "c"}


def test_a_later_cell_missing_a_skipped_name_says_why(capsys):
    ns: dict = {}
    exec(STUB, ns)
    _cell("w = stub()", ns)
    capsys.readouterr()
    assert _cell("w + 1", ns) is None
    assert "needs w, which an earlier cell did not define because perceptron_predict()" in capsys.readouterr().out
    with pytest.raises(NameError):  # a name no skipped cell defines is a real error
        _cell("never_defined + 1", ns)


def test_the_last_expression_is_still_the_cell_value():
    ns: dict = {}
    assert _cell("x = 40\nx + 2", ns) == 42
    assert _cell("x = 1", ns) is None and ns["x"] == 1
    assert runall._last() is None  # nothing is kept between cells


def test_other_errors_and_other_not_implemented_errors_pass_through():
    ns: dict = {}
    with pytest.raises(ZeroDivisionError):
        _cell("1 / 0", ns)
    with pytest.raises(NotImplementedError, match="mine"):
        _cell("raise NotImplementedError('mine')", ns)
    with pytest.raises(NotImplementedError):
        _cell("raise NotImplementedError", ns)


def test_the_rewrite_keeps_line_numbers_and_skips_future_imports():
    tree = runall.GuardStubs().visit(ast.parse("a = 1\n\nb = 1 / 0\n"))
    try_node = tree.body[0]
    assert isinstance(try_node, ast.Try) and try_node.body[1].lineno == 3
    future = ast.parse("from __future__ import annotations\nx = 1\n")
    assert ast.dump(runall.GuardStubs().visit(future)) == ast.dump(ast.parse("from __future__ import annotations\nx = 1\n"))


def test_stub_qid_reads_only_the_stub_message():
    assert runall.stub_qid(NotImplementedError("linear_backward: replace this line with your code")) == "linear_backward"
    assert runall.stub_qid(NotImplementedError("linear_backward")) is None
    assert runall.stub_qid(ValueError("linear_backward: replace this line with your code")) is None


def test_install_is_a_no_op_outside_ipython_and_registers_once():
    assert runall.install(object()) is False

    class Shell:
        ast_transformers: list = []

    shell = Shell()
    assert runall.install(shell) and runall.install(shell)
    assert len(shell.ast_transformers) == 1
    runall.uninstall(shell)
    assert shell.ast_transformers == []


def test_a_cell_that_runs_to_its_end_forgets_its_names(capsys):
    """Once the stub is implemented and its cell re-run, a NameError for a name that cell binds
    is the student's own (a renamed or deleted variable): it stays red, not skipped."""
    ns: dict = {}
    exec(STUB, ns)
    _cell("w = stub()", ns)
    assert "w" in runall._skipped_names
    exec("def stub():\n    return 5\n", ns)
    _cell("w = stub()", ns)
    assert "w" not in runall._skipped_names
    del ns["w"]
    with pytest.raises(NameError):
        _cell("w + 1", ns)


def test_a_single_array_where_a_tuple_is_expected_is_reported_not_raised(capsys):
    """softmax_ce_backward returns (loss, dlogits); a student who returns dlogits alone gets a
    FAIL line, never a traceback from the check itself."""
    import numpy as np

    from dlcourse.autograde.checks import check

    def softmax_ce_backward(logits, y, *rest):
        p = np.exp(logits - logits.max(1, keepdims=True))
        return p / p.sum(1, keepdims=True)

    check("softmax_ce_backward", softmax_ce_backward)
    out = capsys.readouterr().out
    assert "FAIL" in out and "Traceback" not in out
