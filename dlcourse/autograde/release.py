"""Build the student bundle: notebooks, exercises, dlcourse, environment files, the references, a README.

Left out on purpose: ``solutions/``, ``grading/`` (hidden cases), ``tests/``, build
artefacts.  The bundle is refused when ``exercises/`` is stale, and checked afterwards: no
solution marker, no solution line and no hidden-case name may appear in it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from dlcourse.autograde import notebook as nbmod

#: what a student gets, relative to the course root (missing optional items are skipped)
INCLUDE_DIRS = ("notebooks", "exercises", "dlcourse")
INCLUDE_FILES = ("pyproject.toml", "environment.yml", "Makefile", "LICENSE",
                 "docs/references.md")  # the sources the package's docstrings cite
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "*.egg-info", ".DS_Store")

STUDENT_README = """\
# Deep-learning foundations — student bundle

This folder holds the lecture notebooks (`notebooks/`), your exercises (`exercises/`) and the
`dlcourse` package both import.

## Set up (once)

    make lab        # creates .venv, installs dlcourse and its dependencies, opens JupyterLab

or, with conda: `conda env create -f environment.yml && conda activate dlcourse`, then
`jupyter lab`.

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


def build_release(course_root: str | Path, out_dir: str | Path, *, force: bool = False) -> Path:
    """Write the student bundle to ``out_dir`` (which must not exist unless ``force``)."""
    root, out = Path(course_root).resolve(), Path(out_dir).resolve()
    inside_copied = any(out == root / d or (root / d) in out.parents for d in INCLUDE_DIRS)
    if out == root or out in root.parents or inside_copied:
        raise ValueError(f"refusing to write the release into the course itself: {out}")
    stale = nbmod.generate(root / "solutions", root / "exercises", check=True)
    if stale:
        raise RuntimeError(f"exercises/ is stale ({', '.join(stale)}): run `dlcourse generate` first")
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


def audit_release(bundle: str | Path, course_root: str | Path) -> list[str]:
    """Reasons the bundle is unsafe: solutions, hidden cases or markers inside it."""
    bundle, root = Path(bundle), Path(course_root)
    problems = []
    for forbidden in ("solutions", "grading", "tests"):
        if (bundle / forbidden).exists():
            problems.append(f"{forbidden}/ is in the bundle")
    secrets: set[str] = set()
    for sol in sorted((root / "solutions").glob("*.ipynb")):
        secrets |= nbmod.secret_lines(nbmod.read(sol))
    hidden: set[str] = set()
    for mod in sorted((root / "grading").glob("c*.py")):
        hidden |= hidden_lines(mod, root / "dlcourse" / "autograde" / "cases" / mod.name)
    texts = [p for p in bundle.rglob("*") if p.is_file() and p.suffix in (".py", ".ipynb", ".md", ".txt", ".toml", ".yml", ".cfg")]
    for p in texts:
        text = p.read_text(encoding="utf-8", errors="replace")
        if nbmod.BEGIN in text or nbmod.END in text:
            if p.suffix == ".ipynb" or p.parent.name != "autograde":  # the engine names the markers
                problems.append(f"{p.relative_to(bundle)} holds a solution marker")
        for s in secrets if p.suffix in (".ipynb", ".md") else ():  # the package may hold references
            if s in text:
                problems.append(f"{p.relative_to(bundle)} holds a solution line: {s[:60]!r}")
                break
        for line in hidden:
            if line in text:
                problems.append(f"{p.relative_to(bundle)} holds a line of the hidden cases: {line[:60]!r}")
                break
    return problems
