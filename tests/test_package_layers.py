"""The package's three layers run one way: library ← models ← lecture, library ← autograde.

Every ``import`` statement in ``dlcourse/`` is read (module level and inside functions, since
the package imports lazily), and each must stay within what its layer may see.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "dlcourse"

# layer → the layers its modules may import (besides the standard library and third parties)
ALLOWED = {
    "library": {"library"},
    "models": {"library", "models"},
    "lecture": {"library", "models", "lecture"},
    "autograde": {"library", "autograde"},
}


def layer_of(module: str) -> str:
    """'dlcourse.models.mlp' → 'models'; 'dlcourse.nn', 'dlcourse.optim.schedules' → 'library'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ("models", "lecture", "autograde") else "library"


def module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def dlcourse_imports(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, imported dlcourse name) for every import statement in the file."""
    found = []
    here = module_name(path, root).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "dlcourse"]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            if base.split(".")[0] == "dlcourse":
                # `from dlcourse import models` imports the module dlcourse.models
                found += [(node.lineno, f"{base}.{a.name}") for a in node.names]
    return found


def violations(root: Path = PACKAGE) -> list[str]:
    bad = []
    for path in sorted(root.rglob("*.py")):
        mine = layer_of(module_name(path, root))
        for line, target in dlcourse_imports(path, root):
            if layer_of(target) not in ALLOWED[mine]:
                bad.append(f"{path.relative_to(root.parent)}:{line} ({mine}) imports {target} ({layer_of(target)})")
    return bad


def test_no_import_runs_against_the_layers():
    assert violations() == []


def test_the_checker_sees_a_violation_at_module_level_and_inside_a_function(tmp_path):
    pkg = tmp_path / "dlcourse"
    (pkg / "lecture").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "lecture" / "__init__.py").write_text("")
    (pkg / "nn.py").write_text("from dlcourse.lecture import plots\n")
    (pkg / "optim.py").write_text("def f():\n    from .lecture.config import scale\n")
    (pkg / "lecture" / "plots.py").write_text("from dlcourse import nn\nfrom dlcourse.autograde import spec\n")
    assert violations(pkg) == [
        "dlcourse/lecture/plots.py:2 (lecture) imports dlcourse.autograde.spec (autograde)",
        "dlcourse/nn.py:1 (library) imports dlcourse.lecture.plots (lecture)",
        "dlcourse/optim.py:2 (library) imports dlcourse.lecture.config.scale (lecture)",
    ]


@pytest.mark.parametrize("module", ["dlcourse", "dlcourse.models", "dlcourse.lecture", "dlcourse.autograde"])
def test_importing_a_layer_loads_no_heavy_library(module):
    code = (f"import sys, {module}; "
            "print(sorted(m for m in ('numpy', 'torch', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", f"import {module} loaded {out.strip()}"
