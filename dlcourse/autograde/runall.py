"""Run-All-safe exercise notebooks: a cell that reaches an unimplemented stub says so and stops
quietly, instead of ending "Run All" with a red ``NotImplementedError``.

Mechanism.  When :mod:`dlcourse.autograde.checks` is imported inside an IPython kernel (every
exercise notebook does it in its first code cell), :func:`install` adds an AST transformer to
``get_ipython().ast_transformers``.  IPython applies it to every later cell before running it;
it rewrites the cell's module body ::

    <statements>                      try:
    <last expression>        →            <statements>
                                          _keep(<last expression>)
                                      except (NotImplementedError, NameError) as _exc:
                                          if not _skipped(_exc, <names this cell assigns>): raise
                                      else:
                                          _ran(<names this cell assigns>)
                                      _last()

``_skipped`` swallows exactly two kinds of error and prints one line for each:

* a ``NotImplementedError`` whose message is a stub's (``"<qid>: replace this line with your
  code"``, :func:`dlcourse.autograde.notebook.stub_line`): "needs ``qid()`` — implement it in
  section N first"; the names the interrupted cell would have assigned are remembered;
* a ``NameError`` for one of those remembered names (a later cell using what a skipped cell did
  not define): "needs ``w``, which an earlier cell did not define because ``qid()`` is not
  implemented yet".  A cell that runs to its end forgets the names it binds (``_ran``), so once
  the stub is implemented and its cell re-run, a NameError for them is shown again.

Anything else is re-raised unchanged (a student's own bug stays red, with its traceback).  The
cell therefore replies ``status: ok`` and Run All goes on.  ``_keep``/``_last`` keep IPython's
display of a trailing expression (``Out[n]``, ``_``, a trailing ``;``): the value is handed
back by a top-level call expression, which IPython displays as it displays any last
expression.  An IPython custom exception handler would not do: the cell still replies
``status: error`` and Run All stops there.  Outside IPython (the grader's sandbox, pytest,
a plain script) :func:`install` does nothing.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path
from typing import Any

#: the message of a stub's NotImplementedError (see dlcourse.autograde.notebook.stub_line)
STUB_MESSAGE = re.compile(r"^([a-z][a-z0-9_]*): replace this line with your code$")

_MISSING = object()
_kept: Any = _MISSING
#: names a skipped cell would have assigned -> the stub that stopped it
_skipped_names: dict[str, str] = {}
_sections: dict[str, str] = {}


def stub_qid(exc: BaseException) -> str | None:
    """The question id named by a stub's NotImplementedError, else None."""
    if not isinstance(exc, NotImplementedError) or len(exc.args) != 1 or not isinstance(exc.args[0], str):
        return None
    m = STUB_MESSAGE.match(exc.args[0])
    return m.group(1) if m else None


def _notebook_sections(topic: str) -> dict[str, str]:
    """qid -> the heading of the section holding its graded cell, read from ``<topic>.ipynb``
    in the working folder (where Jupyter starts the kernel) or the course's ``exercises/``."""
    candidates = [Path.cwd() / f"{topic}.ipynb", Path.cwd() / "exercises" / f"{topic}.ipynb",
                  Path(__file__).resolve().parents[2] / "exercises" / f"{topic}.ipynb"]
    for path in candidates:
        try:
            cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        out, heading = {}, ""
        for cell in cells:
            src = "".join(cell.get("source", "")) if isinstance(cell.get("source"), list) else str(cell.get("source", ""))
            if cell.get("cell_type") == "markdown":
                for line in src.split("\n"):
                    if line.startswith("## "):
                        heading = re.sub(r"\s*\([^)]*points?\)\s*$", "", line[3:].strip())
            meta = cell.get("metadata", {}).get("dlcourse", {})
            qid = meta.get("grade_id") if isinstance(meta, dict) else None
            if isinstance(qid, str) and heading:
                out[qid] = heading
        return out
    return {}


def where_to_implement(qid: str) -> str:
    """"in section "3. The training loop"" (found through the question's topic), or a fallback."""
    if qid not in _sections:
        section = ""
        try:
            from dlcourse.autograde.checks import find_question

            section = _notebook_sections(find_question(qid).TOPIC).get(qid, "")
        except Exception:  # an unknown qid, a notebook elsewhere: the fallback says where to look
            section = ""
        _sections[qid] = f'in section "{section}"' if section else f"in its graded cell (`def {qid}(`)"
    return _sections[qid]


def _skipped(exc: BaseException, names: tuple[str, ...]) -> bool:
    """Print why the cell stopped and return True when ``exc`` is a stub's (or follows from one)."""
    qid = stub_qid(exc)
    if qid is not None:
        for n in names:
            _skipped_names[n] = qid
        print(f"⏭ needs {qid}() — implement it {where_to_implement(qid)} first; "
              "the rest of this cell was skipped.")
        return True
    name = getattr(exc, "name", None)
    if isinstance(exc, NameError) and isinstance(name, str) and name in _skipped_names:
        qid = _skipped_names[name]
        for n in names:
            _skipped_names.setdefault(n, qid)
        print(f"⏭ needs {name}, which an earlier cell did not define because {qid}() is not implemented yet "
              f"— implement it {where_to_implement(qid)} first; the rest of this cell was skipped.")
        return True
    return False


def _ran(names: tuple[str, ...]) -> None:
    """A cell ran to its end: the names it binds are defined now, so a later NameError for one
    of them is the student's own (a renamed or deleted variable), shown in red, not skipped."""
    for n in names:
        _skipped_names.pop(n, None)


def _keep(value: Any) -> None:
    global _kept
    _kept = value


def _last() -> Any:
    """The kept value of the cell's last expression (None, which IPython does not display,
    when the cell stopped before it)."""
    global _kept
    value, _kept = _kept, _MISSING
    return None if value is _MISSING else value


def assigned_names(body: list[ast.stmt]) -> tuple[str, ...]:
    """The names a cell's top-level statements bind (assignments, defs, imports, loops, with)."""
    names: set[str] = set()
    for stmt in body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(stmt.name)
            continue
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in stmt.names if a.name != "*")
            continue
        # every stored name, nested scopes' included: an over-approximation is harmless, since
        # a name counts only when a later cell fails to find it
        names.update(n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
    return tuple(sorted(names))


_TEMPLATE = """
try:
    pass
except (NotImplementedError, NameError) as _dlcourse_exc:
    if not __import__("dlcourse.autograde.runall", fromlist=["_skipped"])._skipped(_dlcourse_exc, NAMES):
        raise
else:
    __import__("dlcourse.autograde.runall", fromlist=["_ran"])._ran(NAMES)
__import__("dlcourse.autograde.runall", fromlist=["_last"])._last()
"""


class GuardStubs(ast.NodeTransformer):
    """The AST transformer described in the module docstring (one instance per kernel)."""

    def visit_Module(self, node: ast.Module) -> ast.Module:
        body = node.body
        if not body or any(isinstance(s, ast.ImportFrom) and s.module == "__future__" for s in body):
            return node
        names = assigned_names(body)
        tree = ast.parse(_TEMPLATE)
        guard, last_call = tree.body
        assert isinstance(guard, ast.Try)
        inner = list(body)
        trailing = isinstance(inner[-1], ast.Expr)
        if trailing:
            expr = inner.pop()
            assert isinstance(expr, ast.Expr)
            keep = ast.parse('__import__("dlcourse.autograde.runall", fromlist=["_keep"])._keep(None)').body[0]
            assert isinstance(keep, ast.Expr) and isinstance(keep.value, ast.Call)
            keep.value.args = [expr.value]
            inner.append(ast.copy_location(keep, expr))
        guard.body = inner
        handler = guard.handlers[0]
        test = handler.body[0]
        assert isinstance(test, ast.If) and isinstance(test.test, ast.UnaryOp)
        call = test.test.operand
        assert isinstance(call, ast.Call)
        call.args[1] = ast.Tuple(elts=[ast.Constant(n) for n in names], ctx=ast.Load())
        ran = guard.orelse[0]
        assert isinstance(ran, ast.Expr) and isinstance(ran.value, ast.Call)
        ran.value.args = [ast.Tuple(elts=[ast.Constant(n) for n in names], ctx=ast.Load())]
        new_body: list[ast.stmt] = [guard]
        if trailing:
            new_body.append(last_call)
        end = body[-1]
        for stmt in new_body:
            ast.copy_location(stmt, end)
        node.body = new_body
        return ast.fix_missing_locations(node)


def install(shell: Any = None) -> bool:
    """Register :class:`GuardStubs` with the running IPython shell (once); False outside IPython."""
    if shell is None:
        ipython = sys.modules.get("IPython")
        get = getattr(ipython, "get_ipython", None)
        shell = get() if get is not None else None
    transformers = getattr(shell, "ast_transformers", None)
    if not isinstance(transformers, list):
        return False
    if not any(type(t).__name__ == "GuardStubs" for t in transformers):
        transformers.append(GuardStubs())
    return True


def uninstall(shell: Any) -> None:
    """Remove the transformer (used by tests that show what happens without it)."""
    shell.ast_transformers[:] = [t for t in shell.ast_transformers if type(t).__name__ != "GuardStubs"]
