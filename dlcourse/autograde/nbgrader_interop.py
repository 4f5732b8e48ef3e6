"""nbgrader's cell metadata in the solution notebooks, next to the course's own.

nbgrader (https://nbgrader.readthedocs.io) reads ``metadata.nbgrader`` on each cell
(schema version 3).  From the course's spec (``grading/README.md``) each cell kind maps to
one nbgrader cell type:

=========================================  ===============================================
course cell                                ``metadata.nbgrader``
=========================================  ===============================================
graded code cell (tag ``graded``)           "Manually graded answer": ``solution: true``,
                                           ``grade: true``, ``points`` = the question's,
                                           ``grade_id`` = the qid
written question (markdown, tag ``manual``) "Manually graded answer", the same way
check cell (tag ``check``)                 "Read-only": ``locked: true``, ``grade_id`` =
                                           ``check_<qid>``
any other cell                             no nbgrader metadata (nbgrader leaves it alone)
=========================================  ===============================================

A graded function is a *manually graded* answer for nbgrader, not an autograded one with a
test cell: the course's check cell never raises (it prints PASS/FAIL), so nbgrader's
autograder would give every student full points for it.  The points an nbgrader course
records are the ones it enters itself (or imports from ``dlcourse grade``'s gradebooks);
the automatic points, the hidden cases and the sandbox stay ``dlcourse grade``'s.

``### BEGIN SOLUTION`` / ``### END SOLUTION`` are nbgrader's own markers, so
``nbgrader generate_assignment`` strips the solutions from these cells, and ``dlcourse
generate`` keeps working (it copies the metadata to ``exercises/`` as it is).
"""

from __future__ import annotations

import json
from pathlib import Path

SCHEMA_VERSION = 3


def _tags(cell: dict) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []) or [])


def nbgrader_cell_metadata(cell: dict) -> dict | None:
    """The ``metadata.nbgrader`` a course cell should carry (None: none)."""
    meta = cell.get("metadata", {}).get("dlcourse", {})
    tags = _tags(cell)
    if ("graded" in tags or "manual" in tags) and isinstance(meta, dict) and "grade_id" in meta:
        return {"grade": True, "grade_id": str(meta["grade_id"]), "locked": False,
                "points": meta.get("points", 0), "schema_version": SCHEMA_VERSION, "solution": True,
                "task": False}
    if "check" in tags and isinstance(cell.get("id"), str):
        return {"grade": False, "grade_id": cell["id"], "locked": True, "schema_version": SCHEMA_VERSION,
                "solution": False, "task": False}
    return None


def add_nbgrader_metadata(nb: dict) -> dict:
    """``nb`` (a notebook as JSON, changed in place and returned) with every cell's
    ``metadata.nbgrader`` set from the course's metadata, and stale nbgrader metadata removed."""
    for cell in nb.get("cells", []):
        want = nbgrader_cell_metadata(cell)
        md = cell.setdefault("metadata", {})
        if want is None:
            md.pop("nbgrader", None)
        else:
            md["nbgrader"] = want
    return nb


def render(nb: dict) -> str:
    """A notebook serialised as nbformat writes it (one-space indent, sorted keys)."""
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def sync_solutions(folder: str | Path, *, check: bool = False) -> list[str]:
    """Write nbgrader metadata into every ``*.ipynb`` of ``folder``; return the names of the
    notebooks changed (with ``check``: that would change, writing nothing)."""
    changed = []
    for path in sorted(Path(folder).glob("*.ipynb")):
        text = path.read_text(encoding="utf-8")
        new = render(add_nbgrader_metadata(json.loads(text)))
        if new != text:
            changed.append(path.name)
            if not check:
                path.write_text(new, encoding="utf-8")
    return changed
