"""Build the student bundle: notebooks, exercises, dlcourse, environment files, the references,
and the student's own README and Makefile.

Left out on purpose: ``solutions/``, ``grading/`` (hidden cases), ``tests/``, the course's
Makefile (its targets test, generate, release and grade need what is left out), build
artefacts.  The bundle is refused when ``exercises/`` is stale, notebooks that carry outputs
are shipped with their outputs cleared (or refused, with ``outputs="refuse"``), and the
bundle is checked afterwards: no solution marker, no solution line and no hidden-case name may
appear in it, and no Makefile target may need a folder that is not shipped.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from dlcourse.autograde import notebook as nbmod

#: what a student gets, relative to the course root (missing optional items are skipped)
INCLUDE_DIRS = ("notebooks", "exercises", "dlcourse")
INCLUDE_FILES = ("pyproject.toml", "environment.yml", "LICENSE",
                 "docs/references.md")  # the sources the package's docstrings cite
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "*.egg-info", ".DS_Store")

STUDENT_MAKEFILE = """\
# The student's commands: `make lab` (set up once, then open the course) and `make check`
# (the public checks of your exercise notebooks, from a terminal).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# torch: a CPU build by default; for a CUDA build, e.g. make lab TORCH_INDEX=https://download.pytorch.org/whl/cu126
TORCH_SPEC  ?= torch
TORCH_INDEX ?=
NB ?= exercises/*.ipynb

.PHONY: setup lab check clean

$(BIN)/.installed: pyproject.toml
\ttest -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
\t$(BIN)/python -m pip install --quiet --upgrade pip
\t$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
\t$(BIN)/python -m pip install --quiet -e .
\ttouch $@

setup: $(BIN)/.installed

lab: setup
\t$(BIN)/jupyter lab --ServerApp.root_dir=$(CURDIR) --LabApp.default_url=/lab/tree/exercises $(LAB_ARGS)

check: setup
\t$(BIN)/dlcourse check $(NB)

clean:
\trm -rf $(VENV)
"""

#: folders a student Makefile may not name: they are not in the bundle
NOT_SHIPPED = ("solutions", "grading", "tests")

STUDENT_README = """\
# Deep-learning foundations — student bundle

This folder holds the lecture notebooks (`notebooks/`), your exercises (`exercises/`) and the
`dlcourse` package both import.

## Set up (once) and open the course

    make lab        # creates .venv, installs dlcourse and its dependencies, opens JupyterLab

or, with conda: `conda env create -f environment.yml && conda activate dlcourse`, then
`jupyter lab`.

## Run the checks

    make check                                  # the public checks of every exercise notebook
    make check NB=exercises/01_perceptron.ipynb # one notebook

(or `.venv/bin/dlcourse check exercises/01_perceptron.ipynb`): the same checks as the
notebook's check cells, on your saved notebook; the exit status is 0 when all pass.

## Exercises

Open `exercises/NN_topic.ipynb`. In every cell tagged *graded*, replace the line
`raise NotImplementedError(...)` with your code, then run the *check* cell under it: it runs
the public cases and prints PASS/FAIL with the expected and the returned values and a hint.
Answer the written questions in their markdown cells (graded by hand).

How your notebook is graded:

- only the graded cells' top-level `import`, `def` and `class` statements are used; other code
  in them (prints, experiments) is ignored, so keep everything a function needs inside it;
- your functions may use numpy and the Python standard library, not `dlcourse` or `torch`;
- every case runs in a fresh process with limits on time (a few seconds) and memory; the
  grader runs the public checks plus hidden cases (other shapes, seeds and edge cases);
- do not rename the functions or delete the graded cells; hand in the `.ipynb` file.

Passing every public check is a good sign, not a guarantee: test edge cases yourself.
"""


def notebooks_with_outputs(folder: str | Path) -> list[Path]:
    """The notebooks under ``folder`` with a code cell that has outputs or an execution count."""
    out = []
    for p in sorted(Path(folder).rglob("*.ipynb")):
        nb = nbmod.read(p)
        if any(c.cell_type == "code" and (c.get("outputs") or c.get("execution_count") is not None) for c in nb.cells):
            out.append(p)
    return out


def strip_outputs(path: Path) -> None:
    nb = nbmod.read(path)
    for c in nb.cells:
        if c.cell_type == "code":
            c.outputs, c.execution_count = [], None
    nbmod.nbformat.write(nb, str(path))


def build_release(course_root: str | Path, out_dir: str | Path, *, force: bool = False,
                  outputs: str = "strip", stripped: list[str] | None = None) -> Path:
    """Write the student bundle to ``out_dir`` (which must not exist unless ``force``).

    A shipped notebook that carries outputs (a lecture notebook saved after running it) is
    copied with its outputs cleared (``outputs="strip"``, its name appended to ``stripped``)
    or the release is refused (``outputs="refuse"``)."""
    if outputs not in ("strip", "refuse"):
        raise ValueError(f"outputs must be 'strip' or 'refuse', got {outputs!r}")
    root, out = Path(course_root).resolve(), Path(out_dir).resolve()
    inside_copied = any(out == root / d or (root / d) in out.parents for d in INCLUDE_DIRS)
    if out == root or out in root.parents or inside_copied:
        raise ValueError(f"refusing to write the release into the course itself: {out}")
    stale = nbmod.generate(root / "solutions", root / "exercises", check=True)
    if stale:
        raise RuntimeError(f"exercises/ is stale ({', '.join(stale)}): run `dlcourse generate` first")
    with_outputs = [p for d in ("notebooks", "exercises") for p in notebooks_with_outputs(root / d)]
    if with_outputs and outputs == "refuse":
        raise RuntimeError("notebooks with outputs would be shipped (clear them first): "
                           + ", ".join(str(p.relative_to(root)) for p in with_outputs))
    if out.exists():
        if not force:
            raise FileExistsError(f"{out} exists (pass --force to replace it)")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for d in INCLUDE_DIRS:
        if (root / d).is_dir():
            shutil.copytree(root / d, out / d, ignore=_IGNORE)
    for f in INCLUDE_FILES:
        if (root / f).is_file():
            (out / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / f, out / f)
    (out / "README.md").write_text(STUDENT_README, encoding="utf-8")
    (out / "Makefile").write_text(STUDENT_MAKEFILE, encoding="utf-8")
    for p in with_outputs:
        strip_outputs(out / p.relative_to(root))
        if stripped is not None:
            stripped.append(str(p.relative_to(root)))
    problems = audit_release(out, root)
    if problems:
        shutil.rmtree(out)
        raise RuntimeError("the release would leak: " + "; ".join(problems[:5]))
    return out


def hidden_lines(hidden_module: str | Path, public_module: str | Path) -> set[str]:
    """The distinctive lines of a hidden case module (stripped, >= 30 characters, not comments,
    imports or docstring openers, and not a line of its public twin): none may be shipped."""
    public = Path(public_module)
    known = set(public.read_text(encoding="utf-8").split("\n")) if public.is_file() else set()
    out = set()
    for line in Path(hidden_module).read_text(encoding="utf-8").split("\n"):
        s = line.strip()
        if len(s) >= 30 and line not in known and not s.startswith(("#", "from ", "import ", '"""')):
            out.add(s)
    return out


def course_secret_lines(course_root: str | Path) -> set[str]:
    """The solution lines no student may get: in a solution region of some solution notebook
    (:func:`~dlcourse.autograde.notebook.secret_lines`), and neither outside the solution regions
    of any solution notebook (those ship in ``exercises/``) nor in a lecture notebook of
    ``notebooks/`` (public by design: ``optimizer.step()`` is taught there)."""
    root = Path(course_root)
    secrets: set[str] = set()
    public: set[str] = set()
    for sol in sorted((root / "solutions").glob("*.ipynb")):
        nb = nbmod.read(sol)
        secrets |= nbmod.secret_lines(nb)
        public |= {line.strip() for c in nb.cells
                   for line in nbmod._replace_regions(c.source, "", sol.name).split("\n")}
    for lecture in sorted((root / "notebooks").glob("*.ipynb")):
        public |= {line.strip() for c in nbmod.read(lecture).cells for line in c.source.split("\n")}
    return secrets - public


def shipped_lines(path: Path) -> set[str]:
    """The stripped lines of a shipped notebook's cells (or of a text file): a solution line
    leaks when it is one of them (a line, not a substring: ``bn_model.eval()`` does not leak
    ``model.eval()``)."""
    if path.suffix == ".ipynb":
        try:
            cells = nbmod.read(path).cells
        except Exception:  # not a notebook: compare its text lines
            cells = None
        if cells is not None:
            return {line.strip() for c in cells for line in c.source.split("\n")}
    return {line.strip() for line in path.read_text(encoding="utf-8", errors="replace").split("\n")}


def audit_release(bundle: str | Path, course_root: str | Path) -> list[str]:
    """Reasons the bundle is unsafe: solutions, hidden cases or markers inside it."""
    bundle, root = Path(bundle), Path(course_root)
    problems = []
    for forbidden in NOT_SHIPPED:
        if (bundle / forbidden).exists():
            problems.append(f"{forbidden}/ is in the bundle")
    makefile = bundle / "Makefile"
    if makefile.is_file():
        text = makefile.read_text(encoding="utf-8")
        for name in NOT_SHIPPED:
            if re.search(rf"(?<![\w.-]){name}/?(?![\w.-])", text):
                problems.append(f"the Makefile names {name}/, which is not in the bundle")
    if notebooks_with_outputs(bundle):
        problems.append("notebooks with outputs: " + ", ".join(str(p.relative_to(bundle))
                                                               for p in notebooks_with_outputs(bundle)))
    secrets = course_secret_lines(root)
    hidden: set[str] = set()
    for mod in sorted((root / "grading").glob("c*.py")):
        hidden |= hidden_lines(mod, root / "dlcourse" / "autograde" / "cases" / mod.name)
    texts = [p for p in bundle.rglob("*") if p.is_file() and p.suffix in (".py", ".ipynb", ".md", ".txt", ".toml", ".yml", ".cfg")]
    for p in texts:
        text = p.read_text(encoding="utf-8", errors="replace")
        if nbmod.BEGIN in text or nbmod.END in text:
            if p.suffix == ".ipynb" or p.parent.name != "autograde":  # the engine names the markers
                problems.append(f"{p.relative_to(bundle)} holds a solution marker")
        if p.suffix in (".ipynb", ".md"):  # the package may hold references
            leaked = sorted(shipped_lines(p) & secrets)
            if leaked:
                problems.append(f"{p.relative_to(bundle)} holds a solution line: {leaked[0][:60]!r}")
        for line in hidden:
            if line in text:
                problems.append(f"{p.relative_to(bundle)} holds a line of the hidden cases: {line[:60]!r}")
                break
    return problems
