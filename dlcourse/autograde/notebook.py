"""Notebook side of the exercises: questions, the exercise generator and code extraction.

Format (``grading/README.md`` is the full spec): graded code cells carry the tag ``graded``
and ``metadata.dlcourse = {"grade_id", "points"}``; solutions sit between the lines
``### BEGIN SOLUTION`` / ``### END SOLUTION``; each graded cell is followed by a cell
tagged ``check``; written questions are markdown cells tagged ``manual`` with points.
"""

from __future__ import annotations

import ast
import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from dlcourse.autograde.sandbox_child import parse_cell, top_level_definitions

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
MARKERS = (BEGIN, END)
ANSWER_STUB = "*YOUR ANSWER HERE*"
_QID = re.compile(r"^[a-z][a-z0-9_]*$")
_TOPIC = re.compile(r"^(\d\d[a-z]?)_[A-Za-z0-9_]+$")


class NotebookFormatError(ValueError):
    """A solution notebook that breaks the authoring spec."""


@dataclass(frozen=True)
class Question:
    qid: str
    points: float
    kind: str  # "auto" (a graded function) or "manual" (a written answer)


def stub_line(qid: str) -> str:
    return f'raise NotImplementedError("{qid}: replace this line with your code")'


def tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []) or [])


def _meta(cell) -> dict:
    meta = cell.get("metadata", {}).get("dlcourse", {})
    return meta if isinstance(meta, dict) else {}


def read(path: str | Path):
    """Read a notebook as nbformat v4 (raises on a file that is not a notebook)."""
    return nbformat.read(str(path), as_version=4)


def topic_of(nb, path: str | Path | None = None) -> str | None:
    """The notebook's topic (``"01_perceptron"``): metadata first, then the file name."""
    meta = nb.get("metadata", {}).get("dlcourse", {})
    topic = meta.get("topic") if isinstance(meta, dict) else None
    if isinstance(topic, str) and _TOPIC.match(topic):
        return topic
    if path is not None:
        stem = Path(path).stem
        if _TOPIC.match(stem):
            return stem
    return None


def assignment_limits(nb, name: str = "notebook") -> dict[str, float | int]:
    """The limits an assignment sets in ``metadata.dlcourse.limits`` (read from a *trusted*
    notebook: ``exercises/NN_topic.ipynb``, never a submission).

    E.g. ``{"cpu_s": 10, "notebook_s": 300}`` raises those limits for every question of the
    assignment, over the hidden module's ``LIMITS``; the command line overrides both.  Raises
    :class:`NotebookFormatError` on an unknown key or a value that is not a positive number.
    """
    from dlcourse.autograde.spec import limit_overrides

    meta = nb.get("metadata", {}).get("dlcourse", {})
    data = meta.get("limits") if isinstance(meta, dict) else None
    try:
        return limit_overrides(data, f"{name}: metadata.dlcourse.limits")
    except ValueError as exc:
        raise NotebookFormatError(str(exc)) from None


def questions(nb) -> list[Question]:
    """The notebook's questions, in order (read from a *trusted* notebook)."""
    out = []
    for cell in nb.cells:
        t = tags(cell)
        kind = "auto" if "graded" in t else "manual" if "manual" in t else None
        if kind is None:
            continue
        meta = _meta(cell)
        out.append(Question(str(meta.get("grade_id", cell.get("id"))), float(meta.get("points", 0)), kind))
    return out


def _replace_regions(source: str, replacement: str | None, where: str) -> str:
    """Replace every BEGIN..END region (markers included) with ``replacement`` at its indent."""
    lines = source.split("\n")
    out: list[str] = []
    inside = False
    for n, line in enumerate(lines, 1):
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise NotebookFormatError(f"{where}: nested {BEGIN} at line {n}")
            inside = True
            if replacement is not None:
                indent = line[: len(line) - len(line.lstrip())]
                out.append(indent + replacement)
        elif stripped == END:
            if not inside:
                raise NotebookFormatError(f"{where}: {END} without {BEGIN} at line {n}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise NotebookFormatError(f"{where}: {BEGIN} is never closed")
    return "\n".join(out)


def solution_lines(source: str) -> list[str]:
    """The stripped lines inside solution regions (used by tests to look for leaks)."""
    lines, inside = [], False
    for line in source.split("\n"):
        s = line.strip()
        if s == BEGIN:
            inside = True
        elif s == END:
            inside = False
        elif inside and s:
            lines.append(s)
    return lines


def secret_lines(nb, min_len: int = 12) -> set[str]:
    """Solution lines of at least ``min_len`` characters that appear nowhere outside the
    solution regions: none of them may reach a student (tests and the release audit)."""
    outside = {line.strip() for c in nb.cells for line in _replace_regions(c.source, "", "notebook").split("\n")}
    return {s for c in nb.cells for s in solution_lines(c.source) if len(s) >= min_len and s not in outside}


def validate_solution(nb, name: str = "notebook") -> list[Question]:
    """Check a solution notebook against the spec; return its questions."""
    topic = topic_of(nb)
    if topic is None:
        raise NotebookFormatError(f"{name}: metadata.dlcourse.topic must be set to 'NN_topic'")
    assignment_limits(nb, name)
    seen: set[str] = set()
    cells = nb.cells
    for i, cell in enumerate(cells):
        t = tags(cell)
        src = cell.source
        has_markers = any(line.strip() in MARKERS for line in src.split("\n"))
        if "graded" in t or "manual" in t:
            meta = _meta(cell)
            qid = meta.get("grade_id")
            if not isinstance(qid, str) or not _QID.match(qid):
                raise NotebookFormatError(f"{name}: cell {cell.get('id')} needs metadata.dlcourse.grade_id (snake_case)")
            if cell.get("id") != qid:
                raise NotebookFormatError(f"{name}: cell id {cell.get('id')!r} must equal its grade_id {qid!r}")
            if qid in seen:
                raise NotebookFormatError(f"{name}: grade_id {qid!r} is used twice")
            seen.add(qid)
            points = meta.get("points")
            if not isinstance(points, (int, float)) or points <= 0:
                raise NotebookFormatError(f"{name}: {qid} needs positive metadata.dlcourse.points")
            if not has_markers:
                raise NotebookFormatError(f"{name}: {qid} has no {BEGIN} region")
            _replace_regions(src, "", f"{name}:{qid}")  # balanced markers
        elif has_markers:
            raise NotebookFormatError(f"{name}: cell {cell.get('id')} has solution markers but is not graded/manual")
        if "graded" in t:
            if cell.cell_type != "code":
                raise NotebookFormatError(f"{name}: graded cell {qid} must be a code cell")
            try:
                tree = ast.parse(src)
            except SyntaxError as exc:
                raise NotebookFormatError(f"{name}: graded cell {qid} does not parse: {exc}") from exc
            names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
            if qid not in names:
                raise NotebookFormatError(f"{name}: graded cell {qid} must define a top-level function {qid}()")
            nxt = cells[i + 1] if i + 1 < len(cells) else None
            want = f'check("{qid}", {qid})'
            if nxt is None or "check" not in tags(nxt) or nxt.source.strip() != want:
                raise NotebookFormatError(f"{name}: graded cell {qid} must be followed by a cell tagged 'check' with source {want}")
            if nxt.get("id") != f"check_{qid}":
                raise NotebookFormatError(f"{name}: the check cell of {qid} must have id check_{qid}")
        if "manual" in t and cell.cell_type != "markdown":
            raise NotebookFormatError(f"{name}: manual question {cell.get('id')} must be a markdown cell")
    if not any("graded" in tags(c) for c in cells):
        raise NotebookFormatError(f"{name}: no graded cells")
    return questions(nb)


def make_exercise(nb):
    """Return the exercise notebook generated from a solution notebook (not modified)."""
    name = topic_of(nb) or "notebook"
    validate_solution(nb, name)
    ex = copy.deepcopy(nb)
    for cell in ex.cells:
        t = tags(cell)
        if "graded" in t:
            cell.source = _replace_regions(cell.source, stub_line(_meta(cell)["grade_id"]), name)
        elif "manual" in t:
            cell.source = _replace_regions(cell.source, ANSWER_STUB, name)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
        cell.metadata.pop("collapsed", None)
        cell.metadata.pop("scrolled", None)
    ex.metadata.setdefault("dlcourse", {})["generated_from"] = f"solutions/{name}.ipynb"
    nbformat.validate(ex)
    return ex


def generate(solutions_dir: str | Path, exercises_dir: str | Path, *, check: bool = False) -> list[str]:
    """Write ``exercises/`` from ``solutions/``; with ``check``, write nothing.

    Returns the names of exercise files that were (or, with ``check``, would be) changed or
    removed.  Exercise notebooks without a solution are stale too.
    """
    solutions_dir, exercises_dir = Path(solutions_dir), Path(exercises_dir)
    changed = []
    wanted = {}
    for sol in sorted(solutions_dir.glob("*.ipynb")):
        wanted[sol.name] = render(read(sol))
    for fname, text in wanted.items():
        target = exercises_dir / fname
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            changed.append(fname)
            if not check:
                exercises_dir.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
    if exercises_dir.exists():
        for extra in sorted(exercises_dir.glob("*.ipynb")):
            if extra.name not in wanted:
                changed.append(extra.name)
                if not check:
                    extra.unlink()
    return changed


def render(nb) -> str:
    """Serialise the exercise made from ``nb`` exactly as the generator writes it."""
    text = nbformat.writes(make_exercise(nb))
    return text if text.endswith("\n") else text + "\n"


# --- extracting the graded code of a (untrusted) submission ------------------------------


@dataclass
class Extracted:
    cells: list[tuple[str, str]]  # (qid, source) of every graded cell that parses, in order
    problems: dict[str, str]  # qid -> why its cell contributed nothing (missing, syntax error)
    dropped: int  # how many top-level statements will not run
    warnings: dict[str, str] = field(default_factory=dict)  # qid -> graded, but found by its name

    @property
    def code(self) -> str:
        """The statements that will run, as one program (for reading and for tests)."""
        parts = []
        for qid, src in self.cells:
            body = ast.unparse(ast.Module(body=top_level_definitions(src), type_ignores=[]))
            parts.append(f"# --- cell {qid}\n{body}\n")
        return "\n".join(parts)


def extract_graded_code(nb, qids: list[str]) -> Extracted:
    """Find the graded cells and check which top-level statements will run.

    Cells are found by ``metadata.dlcourse.grade_id`` first, then by cell id; of several
    cells carrying one question's tag the last is graded, with a warning.  A question
    whose cell is found by neither (its metadata and id were lost when the student copied,
    pasted or retyped it) is looked for by its name: the last code cell that defines a
    top-level function ``<qid>`` is graded, with a warning (:attr:`Extracted.warnings`).
    Only the cells' top-level imports, functions and classes are kept (the sandbox applies
    the same :func:`~dlcourse.autograde.sandbox_child.top_level_definitions`); the source is
    parsed here, never executed.
    """
    by_qid: dict[str, str] = {}
    copies: dict[str, int] = {}
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        key = _submitted_qid(cell)
        if key in qids:
            # Jupyter's copy-and-paste keeps the metadata: of several cells tagged ``key`` the
            # last is the one "Run All" leaves defined, so it is the one graded.
            by_qid[key] = _source(cell)
            copies[key] = copies.get(key, 0) + 1
    warnings = {qid: (f"{n} cells are tagged as the graded cell of {qid} (a copied cell keeps the tag): "
                      "graded the last one, as Run All defines it; delete the others")
                for qid, n in copies.items() if n > 1}
    for qid in qids:
        if qid in by_qid:
            continue
        found = _defining_cell(nb, qid)
        if found is not None:
            by_qid[qid] = _source(found)
            warnings[qid] = (f"the graded cell of {qid} was not found (its tag or id was lost): graded the "
                             f"cell that defines {qid}() instead" + (f" (cell id {found.get('id')!r})"
                                                                    if isinstance(found.get("id"), str) else "")
                             + "; keep the graded cells of the exercise notebook")
    cells, problems, dropped = [], {}, 0
    for qid in qids:
        if qid not in by_qid:
            problems[qid] = "the graded cell was not found in the submission (deleted, or its id changed)"
            continue
        src = by_qid[qid]
        try:
            total = len(parse_cell(src).body)
            kept = top_level_definitions(src)
        except SyntaxError as exc:
            problems[qid] = f"the graded cell has a syntax error (line {exc.lineno}: {exc.msg})"
            continue
        except (ValueError, RecursionError, MemoryError) as exc:
            problems[qid] = f"the graded cell could not be parsed ({type(exc).__name__})"
            continue
        dropped += total - len(kept)
        cells.append((qid, src))
    return Extracted(cells, problems, dropped, {q: w for q, w in warnings.items() if q not in problems})


def _defining_cell(nb, qid: str):
    """The last code cell of a (untrusted) notebook that defines a top-level function ``qid``:
    parsed, never run; a cell that does not parse is skipped."""
    found = None
    for cell in nb.get("cells", []):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        try:
            body = parse_cell(_source(cell)).body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        if any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == qid for n in body):
            found = cell
    return found


def cells_by_qid(nb) -> dict[str, str]:
    """Source of each graded/manual cell by qid (for the feedback file's written answers); of
    several cells carrying one tag (a copied cell keeps it), the last, as for graded code."""
    out = {}
    for cell in nb.get("cells", []):
        key = _submitted_qid(cell)
        if isinstance(key, str):
            out[key] = _source(cell)
    return out


def _submitted_qid(cell):
    """A submitted cell's question id: its ``grade_id`` metadata, else its cell id."""
    meta = _meta(cell)
    return meta.get("grade_id") if isinstance(meta.get("grade_id"), str) else cell.get("id")


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)
