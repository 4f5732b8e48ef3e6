"""The project's own promises: one dependency list, a light `import dlcourse`, CI = README."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]

# conda-forge names that differ from PyPI's
CONDA_NAME = {"torch": "pytorch"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower()


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _conda_deps() -> dict[str, str]:
    lines = (ROOT / "environment.yml").read_text().splitlines()
    deps, inside = {}, False
    for line in lines:
        if line.startswith("dependencies:"):
            inside = True
            continue
        m = re.match(r"^  - ([A-Za-z0-9_.\-]+)(.*)$", line)
        if inside and m and m.group(1) not in ("pip", "python"):
            deps[m.group(1).lower()] = m.group(2).strip()
    return deps


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = _pyproject()["project"]
    pip_reqs = project["dependencies"] + project["optional-dependencies"]["dev"]
    expected = {CONDA_NAME.get(_name(r), _name(r)): r[len(_name(r)):].strip() for r in pip_reqs}
    assert _conda_deps() == expected


def test_environment_yml_installs_the_package_itself():
    assert "- -e ." in (ROOT / "environment.yml").read_text()


def test_import_dlcourse_does_not_import_torch_or_matplotlib():
    # Its time is measured by benchmarks/import_time.py, not here (shared machines are noisy).
    code = "import sys, dlcourse; print('torch' in sys.modules, 'matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"], "import dlcourse must not import torch or matplotlib"


@pytest.mark.parametrize("module", ["data", "nn", "functional", "activations", "losses", "init", "optim"])
def test_numpy_modules_do_not_import_torch(module):
    code = f"import sys, dlcourse.{module}; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make lab" in readme
    assert re.search(r"^make test\b", ci, flags=re.M), ".ci/run must call `make test`"


def test_torch_is_pinned_to_a_cpu_friendly_release_with_a_documented_gpu_path():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"TORCH_SPEC\s*\?=\s*torch==\d+\.\d+\.\d+", makefile)
    assert "TORCH_INDEX" in makefile
    readme = (ROOT / "README.md").read_text()
    assert "TORCH_INDEX" in readme and "environment.yml" in readme


def test_scale_reads_the_environment(monkeypatch):
    from dlcourse.lecture import config

    monkeypatch.setenv("DLCOURSE_SCALE", "full")
    assert config.scale() == "full" and config.pick(1, 2) == 2
    monkeypatch.setenv("DLCOURSE_SCALE", "quick")
    assert config.scale() == "quick" and config.pick(1, 2) == 1
    monkeypatch.setenv("DLCOURSE_SCALE", "huge")
    with pytest.raises(ValueError, match="'quick' or 'full'.*huge"):
        config.scale()
    monkeypatch.delenv("DLCOURSE_SCALE")
    assert config.scale() == "quick"  # under pytest


def test_notebooks_are_committed_without_outputs_and_numbered():
    import nbformat

    paths = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert [p.name[:3] for p in paths][:6] == ["01_", "02_", "03_", "04_", "05_", "06_"]
    for path in paths + sorted((ROOT / "solutions").glob("*.ipynb")) + sorted((ROOT / "exercises").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{path.name} has outputs"


def test_every_notebook_imports_dlcourse_and_has_a_widget_and_asserts():
    import nbformat

    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown").lower()
        assert "dlcourse" in code, path.name
        assert "from dlcourse.lecture import" in code and "widgets." in code, path.name
        assert code.count("assert ") >= 5, f"{path.name}: claims must be asserted in cells"
        for heading in ("objective", "summary"):
            assert heading in text, f"{path.name} lacks a {heading} section"


def test_code_passes_ruff():
    ruff = Path(sys.executable).with_name("ruff")
    result = subprocess.run([str(ruff), "check", "dlcourse", "tests", "grading", "benchmarks"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]


@pytest.mark.slow  # about 20 s without mypy's cache (.mypy_cache), 1 s with it
def test_code_passes_mypy():
    """The package is typed: mypy, configured in pyproject.toml ([tool.mypy]), finds no error."""
    mypy = Path(sys.executable).with_name("mypy")
    result = subprocess.run([str(mypy), "dlcourse"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    assert (ROOT / "dlcourse" / "py.typed").is_file()


def test_no_notebook_text_holds_control_characters():
    """A LaTeX command written into a non-raw Python string loses its backslash: \\beta becomes a
    backspace, \\rVert a carriage return, \\theta a tab.  No cell of the course may hold one."""
    import nbformat

    control = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
    found = []
    for folder in ("notebooks", "solutions", "exercises"):
        for path in sorted((ROOT / folder).glob("*.ipynb")):
            for cell in nbformat.read(path, as_version=4).cells:
                bad = control.search(cell.source) or (cell.cell_type == "markdown" and "\t" in cell.source)
                if bad:
                    found.append(f"{folder}/{path.name} cell {cell.get('id')}: {cell.source[max(0, bad.start() - 20):bad.start() + 10]!r}"
                                 if hasattr(bad, "start") else f"{folder}/{path.name} cell {cell.get('id')}: a tab in markdown")
    assert found == []
