"""JupyterLab as `make lab` runs it: the course's notebooks are saved without their outputs.

The lecture notebooks, exercises and solutions are committed without outputs (outputs are
large, change on every run and would turn every ``git pull`` into a merge conflict).  A student
who runs a notebook and saves it, or whose JupyterLab autosaves it, would write the outputs into
those tracked files; the Makefile's ``lab`` target therefore installs :func:`strip_course_outputs`
as the server's pre-save hook.  The code a student writes is saved as usual; only outputs and
execution counts are left out.  To keep outputs, save a copy outside these folders
(File > Save Notebook As..., e.g. ``my-work/02_backprop.ipynb``).
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

#: folders, relative to the server's root, whose notebooks are saved without outputs
COURSE_FOLDERS = ("notebooks", "exercises", "solutions")


def is_course_notebook(path: str) -> bool:
    """Whether ``path`` (relative to the server root, '/'-separated) is a course notebook."""
    parts = PurePosixPath(path.strip("/")).parts
    return len(parts) >= 2 and parts[0] in COURSE_FOLDERS and parts[-1].endswith(".ipynb")


def strip_outputs(notebook: dict[str, Any]) -> int:
    """Clear every code cell's outputs and execution count in a notebook's JSON, in place.

    Returns how many cells had something to clear.
    """
    cleared = 0
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        if cell.get("outputs") or cell.get("execution_count") is not None:
            cleared += 1
        cell["outputs"] = []
        cell["execution_count"] = None
    return cleared


def strip_course_outputs(model: dict[str, Any], path: str, **_kwargs: Any) -> None:
    """Jupyter Server pre-save hook (``ContentsManager.pre_save_hook``): save a course notebook
    without outputs; any other file is saved unchanged."""
    if model.get("type") == "notebook" and isinstance(model.get("content"), dict) and is_course_notebook(path):
        strip_outputs(model["content"])
