"""Mutation score per module from the results `mutmut run` left in mutants/.

Prints, for every file in [tool.mutmut] only_mutate: the mutants, how many the tests killed,
how many survived (no test failed, or no test reached the mutant), how many timed out, and
how many are equivalent: they compute the same results as the original, so no test can kill
them.  Equivalent mutants come from two places, both listed with the reason in
docs/mutation.md:

* lines marked ``# pragma: no mutate``, where *every* mutant of the line is equivalent
  (mutmut then generates none; they are counted back in here by mutating the line without
  its marker);
* :data:`EQUIVALENT` below, for a line whose other mutants are killed, so that a marker
  would hide killable mutants too.  An entry names the function (``*``: any in the file) and
  the text the mutant removes and adds (``re:`` starts a regular expression); an entry that
  matches no surviving mutant is reported as stale.

The score is killed / (total − equivalent).  A timeout is not a kill here: these modules
have no loop a mutant could make endless without a test noticing first, so a timeout means
a slow test, and it is shown to be looked at.

Exits 1 when the overall score is below --threshold (97 % by default), 2 when there are no
results or some mutants were never checked (an interrupted run).

    python benchmarks/mutation_score.py [--threshold 97] [--survivors]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRAGMA = re.compile(r"#\s*pragma:\s*no mutate\b")

# (file, function, text the mutant's line loses, text it gains, why the two compute the same)
EQUIVALENT = [
    ("dlcourse/activations.py", "_sigmoid", "z >= 0, 1.0", "z > 0, 1.0",
     "at z = 0 both branches give 1/(1 + 1) = 0.5 exactly"),
    ("dlcourse/activations.py", "leaky_relu", "np.where(z > 0, z,", "np.where(z >= 0, z,",
     "at z = 0 both branches give 0 (α·0 = ±0, and −0 == 0)"),
    ("dlcourse/activations.py", "elu", "np.where(z > 0, z,", "np.where(z >= 0, z,",
     "at z = 0 both branches give 0 (α·expm1(0) = ±0)"),
    ("dlcourse/init.py", "normal", "astype(dt, copy=False)", "re:astype\\(dt, (copy=None|copy=True|)\\)",
     "the draw is a fresh array: copying it or not gives the same values"),
    ("dlcourse/init.py", "uniform", "astype(dt, copy=False)", "re:astype\\(dt, (copy=None|copy=True|)\\)",
     "the draw is a fresh array: copying it or not gives the same values"),
    ("dlcourse/functional.py", "*", 'einsum("ij,ij->j"', 'einsum("IJ,IJ->J"',
     "einsum's subscripts are labels: upper-case letters name the same contraction"),
    ("dlcourse/functional.py", "_channels_last", ".reshape(-1, x.shape[1])", ".reshape(-2, x.shape[1])",
     "numpy reads any negative size as the one inferred dimension"),
    ("dlcourse/functional.py", "spatial_batchnorm_backward", "inner[0].dtype", "inner[1].dtype",
     "the cache holds x − μ and 1/√(σ² + ε), both of γ's dtype"),
    ("dlcourse/optim/optimizers.py", "*", 're:_buffer\\(p, "[a-z_]+"\\)', 're:_buffer\\(p, (None|"XX[a-z_]+XX"|"[A-Z_]+")\\)',
     "scratch buffers are looked up by key: any key that no other live buffer of the parameter uses works"),
    ("dlcourse/optim/optimizers.py", "Optimizer.add_param_group", 'if k != "params"}', 're:if k != "(XXparamsXX|PARAMS)"\\}',
     'the "params" entry passed along is replaced by the checked list in the same dict display'),
    ("dlcourse/optim/optimizers.py", "Optimizer._buffer", "setdefault(p, {})", "setdefault(None, {})",
     "scratch space shared by all parameters: each buffer is used within one parameter's update only"),
    ("dlcourse/optim/optimizers.py", "Optimizer._grad", 'group.get("weight_decay", 0.0)', 're:group\\.get\\("weight_decay", (None|1\\.0|)\\)',
     "every optimizer's defaults hold weight_decay, so every group has it and the default is never read"),
    ("dlcourse/optim/optimizers.py", "Optimizer._grad", 'group.get("maximize", False)', 're:group\\.get\\("maximize", (None|)\\)',
     "None, like False, is falsy"),
    ("dlcourse/optim/optimizers.py", "Optimizer.load_state_dict", "strict=True", "re:strict=(None|False)\\)|, \\)",
     "the group and parameter counts are compared (ValueError) before these zips"),
    ("dlcourse/optim/optimizers.py", "Optimizer.load_state_dict", "astype(p.data.dtype, copy=True)", "astype(p.data.dtype, )",
     "copy=True is astype's default"),
    ("dlcourse/optim/optimizers.py", "Optimizer.state_dict", 'if k != "params"}', 're:if k != "(XXparamsXX|PARAMS)"\\}',
     'the "params" entry copied along is overwritten by the indices on the next line'),
    ("dlcourse/optim/schedules.py", "OneCycleLR.get_lr", "if k <= end or", "if k < end or",
     "at k = end a phase ends where the next begins: both give the same rate and momentum"),
    ("dlcourse/optim/clip.py", "clip_grad_norm_", '"(0, inf]"', '"(0, INF]"',
     'the interval\'s ends are read with float(), and float("INF") is inf'),
    ("dlcourse/functional.py", "*", 'as_model_input(x, ', 're:as_model_input\\(x, \\w+\\.dtype, where=',
     'as_model_input names its argument "x" by default'),
    ("dlcourse/functional.py", "*", "np.subtract(x, ", "re:np\\.subtract\\(x, (mu|running_mean), (out=None|)\\)",
     "x − μ goes to a new array instead of the layer's workspace: the same values"),
    ("dlcourse/functional.py", "_check_batchnorm_args", 'as_float_array(gamma, "gamma", ndim=1)',
     're:as_float_array\\(gamma, "gamma", (ndim=None|)\\)',
     "a γ of another rank fails the shape check a few lines below, whose message names γ as well"),
    ("dlcourse/functional.py", "_check_batchnorm_args", '"beta", where=where, ndim=1)', 're:"beta", where=where, (ndim=None|)\\)',
     "a β of another rank fails the shape check on the next line, whose message names β as well"),
    ("dlcourse/functional.py", "dropout_forward", 'as_float_array(x, "x")', "as_float_array(x, )",
     'as_float_array names its argument "x" by default'),
    ("dlcourse/functional.py", "standard_dropout_forward", "inverted=False)", "inverted=None)",
     "None, like False, is falsy"),
    ("dlcourse/losses.py", "*", "copy=False)", "re:\\.astype\\(\\w+\\.dtype, (copy=None|copy=True|)\\)",
     "the cast target is only read: a copy or a view gives the same loss and gradient"),
    ("dlcourse/optim/schedules.py", "*", "strict=True", "re:strict=(None|False)\\)|, \\)",
     "the zipped lists are built with one entry per parameter group, so their lengths always agree"),
    ("dlcourse/losses.py", "cross_entropy", 'as_labels(y, "y", n=n', "as_labels(y, n=n",
     'as_labels names its argument "y" by default'),
    ("dlcourse/functional.py", "_batchnorm_checked", "running_mean is not None and running_var is not None",
     "running_mean is not None or running_var is not None",
     "an assert for the type checker: _check_batchnorm_args already refused eval mode without both statistics"),
    ("dlcourse/init.py", "fan_in_fan_out", "if len(shape) > 2 else 1", "if len(shape) >= 2 else 1",
     "for a 2-D shape, prod(shape[2:]) = prod(()) = 1, the else value"),
    ("dlcourse/init.py", "fan_in_fan_out", "if len(shape) > 2 else 1", "if (len(shape) > 2) or True else 1",
     "for a 2-D shape, prod(shape[2:]) = prod(()) = 1, the else value"),
    ("dlcourse/regularization.py", "shift_images", "np.asarray(dy, dtype=int)", "np.asarray(dy, dtype=None)",
     "each shift is read with int(dy[i]), which truncates a float exactly as the int cast does"),
    ("dlcourse/regularization.py", "shift_images", "np.asarray(dy, dtype=int)", "np.asarray(dy, )",
     "each shift is read with int(dy[i]), which truncates a float exactly as the int cast does"),
    ("dlcourse/regularization.py", "shift_images", "np.asarray(dx, dtype=int)", "np.asarray(dx, dtype=None)",
     "each shift is read with int(dx[i]), which truncates a float exactly as the int cast does"),
    ("dlcourse/regularization.py", "shift_images", "np.asarray(dx, dtype=int)", "np.asarray(dx, )",
     "each shift is read with int(dx[i]), which truncates a float exactly as the int cast does"),
    ("dlcourse/regularization.py", "shift_images", "if abs(sy) >= h or", "if abs(sy) > h or",
     "a shift of exactly ±H selects an empty slice, so the image is blank either way"),
    ("dlcourse/regularization.py", "shift_images", "or abs(sx) >= w:", "or abs(sx) > w:",
     "a shift of exactly ±W selects an empty slice, so the image is blank either way"),
    ("dlcourse/autodiff.py", "_is_number", 'getattr(x, "ndim", 0) == 0', 'getattr(x, "ndim", None) == 0',
     "every numpy type with __float__ (ndarray, np.generic) has ndim, so the default is never used"),
    ("dlcourse/autodiff.py", "_is_number", 'getattr(x, "ndim", 0) == 0', 'getattr(x, "ndim", ) == 0',
     "every numpy type with __float__ (ndarray, np.generic) has ndim, so the default is never used"),
    ("dlcourse/autodiff.py", "_is_number", 'getattr(x, "ndim", 0) == 0', 'getattr(x, "ndim", 1) == 0',
     "every numpy type with __float__ (ndarray, np.generic) has ndim, so the default is never used"),
    ("dlcourse/autodiff.py", "gradient", "grad, value = [], 0.0", "grad, value = [], 1.0",
     "the initial value is overwritten by the first of the n ≥ 1 passes"),
    ("dlcourse/autodiff.py", "topological_order", "if id(child) not in visited)", "if id(None) not in visited)",
     "the filter only saves stack pushes: a visited child that is pushed is skipped when popped"),
    ("dlcourse/autodiff.py", "Dual._lift", "Dual(other, 0.0)", "Dual(other, )",
     "Dual's dual part defaults to 0.0 (a test pins that default)"),
    ("dlcourse/autodiff.py", "Value.__init__", "= lambda: None", "= lambda: 0",
     "a leaf's _backward is called for its side effect only; its return value is discarded"),
]

# mutmut's exit codes (mutmut.stats.status_by_exit_code) folded into the columns printed here.
KILLED = {1, 3, 37}  # a test failed; pytest's internal error; rejected by the type checker
TIMEOUT = {36, -24, 24, 152, 255}
NOT_CHECKED = {None}
# everything else (0 survived, 33/5 no tests, 35 suspicious, segfaults, ...) is a survivor


def load_config() -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mutmut"]


def count_mutants(path: str, source: str) -> int:
    """How many mutants mutmut generates for ``source`` (mutmut's own mutation operators)."""
    from mutmut.mutation.file_mutation import create_mutations

    return len(create_mutations(path, source)[1])


def equivalent_count(path: str) -> int:
    """Mutants the pragmas suppress: generated without the markers, minus generated with them."""
    source = (ROOT / path).read_text(encoding="utf-8")
    if not PRAGMA.search(source):
        return 0
    return count_mutants(path, PRAGMA.sub("#", source)) - count_mutants(path, source)


def function_of(mutant: str, path: str) -> str:
    """'dlcourse.autodiff.xǁValueǁ__init____mutmut_3' -> 'Value.__init__'; 'x_relu__mutmut_1' -> 'relu'."""
    name = mutant[len(path.removesuffix(".py").replace("/", ".")) + 1 :].rpartition("__mutmut_")[0]
    if name.startswith("xǁ"):
        cls, _, method = name[2:].partition("ǁ")
        return f"{cls}.{method}"
    return name.removeprefix("x_")


def changed_lines(mutant: str, path: str) -> tuple[str, str]:
    """The lines the mutant removes and adds, from mutmut's own diff."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    diff = get_diff_for_mutant(mutant, path=path).splitlines()
    removed = "\n".join(line[1:] for line in diff if line.startswith("-") and not line.startswith("---"))
    added = "\n".join(line[1:] for line in diff if line.startswith("+") and not line.startswith("+++"))
    return removed, added


def equivalent_entry(mutant: str, path: str):
    """The :data:`EQUIVALENT` entry that describes this surviving mutant, if any."""
    candidates = [e for e in EQUIVALENT if e[0] == path and e[1] in ("*", function_of(mutant, path))]
    if not candidates:
        return None
    removed, added = changed_lines(mutant, path)
    for entry in candidates:
        if _contains(removed, entry[2]) and _contains(added, entry[3]) and not _contains(removed, entry[3]):
            return entry
    return None


def _contains(text: str, pattern: str) -> bool:
    return re.search(pattern[3:], text) is not None if pattern.startswith("re:") else pattern in text


def classify(code) -> str:
    if code in KILLED:
        return "killed"
    if code in TIMEOUT:
        return "timeout"
    if code in NOT_CHECKED:
        return "not checked"
    return "survived"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=97.0, help="minimum overall score, in percent")
    parser.add_argument("--survivors", action="store_true", help="also list every surviving mutant")
    args = parser.parse_args(argv)

    import os

    os.chdir(ROOT)  # mutmut's configuration is read from ./pyproject.toml
    paths = load_config()["only_mutate"]
    rows, survivors, unchecked, matched = [], [], 0, set()
    for path in paths:
        meta = ROOT / "mutants" / f"{path}.meta"
        if not meta.exists():
            print(f"{path}: no results in {meta.relative_to(ROOT)} (run `mutmut run` first)", file=sys.stderr)
            continue
        codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        status = Counter()
        named = 0
        for name, code in sorted(codes.items()):
            kind = classify(code)
            if kind == "survived" and (entry := equivalent_entry(name, path)) is not None:
                matched.add(entry)
                named += 1
                continue
            status[kind] += 1
            if kind in ("survived", "timeout"):
                survivors.append(name)
        unchecked += status["not checked"]
        pragma = equivalent_count(path)
        rows.append((path, len(codes) + pragma, status["killed"], status["survived"], status["timeout"], pragma + named))
    if not rows:
        return 2

    header = f"{'module':<30} {'mutants':>7} {'killed':>6} {'survived':>8} {'timeouts':>8} {'equivalent':>10} {'score':>7}"
    print(header)
    print("-" * len(header))

    def line(name, total, killed, survived, timeout, equivalent):
        scored = total - equivalent
        score = 100.0 * killed / scored if scored else 100.0
        print(f"{name:<30} {total:>7} {killed:>6} {survived:>8} {timeout:>8} {equivalent:>10} {score:>6.2f}%")
        return score

    for row in rows:
        line(row[0].removeprefix("dlcourse/"), *row[1:])
    print("-" * len(header))
    overall = line("overall", *(sum(r[i] for r in rows) for i in range(1, 6)))

    if args.survivors and survivors:
        print("\nsurvivors (`mutmut show NAME` prints the diff):")
        for name in survivors:
            print(f"  {name}")
    stale = [e for e in EQUIVALENT if e not in matched and (ROOT / "mutants" / f"{e[0]}.meta").exists()]
    for entry in stale:
        print(f"\nstale EQUIVALENT entry (matches no surviving mutant): {entry[:4]}", file=sys.stderr)
    if unchecked:
        print(f"\n{unchecked} mutants were never checked: the run was interrupted", file=sys.stderr)
        return 2
    if overall < args.threshold:
        print(f"\nmutation score {overall:.2f}% is below {args.threshold:g}%", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
