"""What a grading case is, and how a result is compared with what was expected.

Used in two places: the grading (parent) process of ``dlcourse grade`` and the student's
kernel (``dlcourse.autograde.checks.check``).  Nothing here ever calls a method on an object that
student code made: results arrive as plain numpy arrays decoded from an ``.npz`` file
(``allow_pickle=False``) or, in the kernel, converted by :func:`to_plain` first.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from dlcourse.autograde.sandbox_child import NUMERIC_KINDS, NotPlainError, decode_args, to_plain

__all__ = ["LIMIT_FIELDS", "Case", "Limits", "NotPlainError", "Rng", "compare", "copy_args", "decode_args",
           "encode_args", "expected_plain", "float_array_problem", "format_value", "limit_overrides",
           "normal_sample_problem", "to_plain", "with_overrides"]


@dataclass(frozen=True)
class Rng:
    """Stands for ``np.random.default_rng(seed)`` in a case's arguments."""

    seed: int


@dataclass(frozen=True)
class Limits:
    """Resource limits of one case's sandboxed process, and of the notebook it belongs to.

    ``notebook_s`` is not a limit of one process: it is the wall-clock time all the cases of
    one notebook may use together (summed, also when they run in parallel), so that a
    submission that sleeps in every case costs the grader at most that long.  Where limits
    come from, in order of precedence: the command line, the exercise notebook's
    ``metadata.dlcourse.limits``, the hidden module's ``LIMITS``, these defaults.
    """

    cpu_s: float = 5.0  # RLIMIT_CPU
    wall_s: float = 20.0  # wall clock, then the process group is killed
    memory_mb: int = 1024  # RLIMIT_AS, on top of what the interpreter and numpy take
    file_mb: int = 16  # RLIMIT_FSIZE: biggest file the process may write (stdout included)
    notebook_s: float = 120.0  # the wall-clock budget of all of one notebook's cases together


#: the fields of :class:`Limits`, with the type each one takes
LIMIT_FIELDS: dict[str, type] = {"cpu_s": float, "wall_s": float, "memory_mb": int, "file_mb": int,
                                 "notebook_s": float}


def limit_overrides(data: Any, where: str) -> dict[str, float | int]:
    """Validate a mapping of limit overrides (``{"cpu_s": 10, ...}``) read from ``where``.

    Raises ValueError naming the key or value that is wrong and what is expected, so that a
    typo in a notebook's metadata or on the command line is never silently ignored.
    """
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{where}: limits must be a mapping like {{\"cpu_s\": 10}}, got {type(data).__name__}")
    out: dict[str, float | int] = {}
    for key, value in data.items():
        if key not in LIMIT_FIELDS:
            raise ValueError(f"{where}: unknown limit {key!r}; expected one of {', '.join(LIMIT_FIELDS)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 \
                or value != value or value == float("inf"):
            raise ValueError(f"{where}: limit {key!r} must be a positive finite number, got {value!r}")
        kind = LIMIT_FIELDS[key]
        if kind is int and value != int(value):
            raise ValueError(f"{where}: limit {key!r} must be a whole number of MiB, got {value!r}")
        out[key] = kind(value)
    return out


def with_overrides(base: Limits, overrides: dict | None) -> Limits:
    """``base`` with the fields named in ``overrides`` replaced (validated first)."""
    # each value has its field's type (limit_overrides casts it), which a dict[str, float | int] cannot say
    return replace(base, **limit_overrides(overrides, "limits")) if overrides else base  # type: ignore[arg-type]


@dataclass
class Case:
    """One call of a graded function and what its result must be.

    ``expected`` is a number, an array or a tuple of them; ``check(got) -> None | reason``
    replaces it where the answer is not unique (random draws).  A question's points are
    shared among its cases in proportion to ``weight``.
    """

    name: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    expected: Any = None
    check: Callable[[Any], str | None] | None = None
    rtol: float = 1e-6
    atol: float = 1e-8
    weight: float = 1.0
    hint: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.args, tuple):
            self.args = tuple(self.args)
        if self.expected is None and self.check is None:
            raise ValueError(f"case {self.name!r} needs an expected value or a check= validator")
        if self.weight <= 0:
            raise ValueError(f"case {self.name!r}: weight must be > 0, got {self.weight}")


def expected_plain(expected: Any) -> np.ndarray | tuple[np.ndarray, ...]:
    """The expected value in the same form as a decoded result."""
    if isinstance(expected, (tuple, list)):
        return tuple(np.asarray(e) for e in expected)
    return np.asarray(expected)


def float_array_problem(got: Any, shape: tuple[int, ...]) -> str | None:
    """What is wrong with ``got`` as one finite float array of ``shape``; None if nothing."""
    if isinstance(got, tuple):
        return f"expected one array, got a tuple of {len(got)}"
    if got.shape != shape:
        return f"shape {got.shape}, expected {shape}"
    if got.dtype.kind != "f":
        return f"dtype {got.dtype}, expected floats"
    if not np.all(np.isfinite(got)):
        return "holds NaN or inf"
    return None


def normal_sample_problem(sample: np.ndarray, std: float, z: float, what: str, *, std_name: str = "",
                          kurtosis_from: int = 0) -> str | None:
    """Why ``sample`` (every entry one draw) does not look like draws of N(0, std²); None if it does.

    Margins are ``z`` standard errors: SE(mean) = σ/√n, SE(s/σ) ≈ 1/√(2n), SE(kurtosis) ≈ √(24/n)
    (kurtosis 3 for a normal, 1.8 for a uniform: a uniform is rejected for n ≥ 500 at z = 4.5);
    the kurtosis is tested from ``kurtosis_from`` draws on.  ``what`` names the sample in the
    message, ``std_name`` how ``std`` was derived (e.g. "√(2/fan_in) = ").
    """
    x = np.asarray(sample, dtype=np.float64).ravel()
    n = x.size
    mean, s = float(x.mean()), float(x.std())
    if abs(mean) > z * std / math.sqrt(n):
        return f"{what} has mean {mean:.4g}: too far from 0 for {n} draws of std {std:.4g}"
    if abs(s / std - 1.0) > z / math.sqrt(2 * n):
        return (f"{what} has standard deviation {s:.5g}, expected {std_name}{std:.5g} "
                f"within {100 * z / math.sqrt(2 * n):.2g}%")
    if n >= kurtosis_from:
        kurt = float(np.mean((x - mean) ** 4) / s**4)
        if abs(kurt - 3.0) > z * math.sqrt(24.0 / n):
            return f"{what} has kurtosis {kurt:.3g}: not normally distributed (a normal has 3, a uniform 1.8)"
    return None


def _fmt(arr: np.ndarray, limit: int = 300) -> str:
    with np.printoptions(precision=6, threshold=20, edgeitems=3, linewidth=100):
        text = repr(arr) if arr.ndim else repr(arr.item())
    return text if len(text) <= limit else text[:limit] + " ..."


def format_value(value: Any) -> str:
    """Short printable form of a plain value (for feedback)."""
    if isinstance(value, tuple):
        return "(" + ", ".join(_fmt(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return _fmt(value)


def _context(case: Case) -> dict[str, Any]:
    """What a diagnosis may use of the case: its keyword arguments, its arrays (and their axis
    lengths) and its positional float scalars (candidate step sizes)."""
    sizes: set[int] = set()

    def walk(v: Any) -> None:
        if isinstance(v, np.ndarray):
            sizes.update(int(n) for n in v.shape)
        elif isinstance(v, (tuple, list)):
            for x in v:
                walk(x)

    walk(case.args)
    walk(list(case.kwargs.values()))
    values = [*case.args, *case.kwargs.values()]
    starts = [v for v in values if isinstance(v, np.ndarray) and v.dtype.kind == "f"]
    scalars = {str(k): float(v) for k, v in enumerate(case.args)
               if isinstance(v, float) and v == v and v not in (0.0, 1.0, -1.0)}
    return {"kwargs": dict(case.kwargs), "sizes": sizes, "starts": starts, "scalars": scalars}


def _likely(mistake: Any) -> str:
    """The clause of a reason that names a diagnosis (``diagnose.LABELS``; see reason_category)."""
    return f" — likely {mistake.label} ({mistake.detail})" if mistake is not None else ""


def _compare_one(exp: np.ndarray, got: np.ndarray, rtol: float, atol: float, where: str,
                 context: dict[str, Any] | None = None) -> str | None:
    from dlcourse.autograde import diagnose

    context = context or {}
    if not isinstance(got, np.ndarray) or type(got) is not np.ndarray:
        return f"{where}: not a plain numpy array"
    if got.dtype.kind not in NUMERIC_KINDS:
        return f"{where}: dtype {got.dtype} is not numeric"
    if got.shape != exp.shape:
        return f"{where}: shape {got.shape}, expected {exp.shape}" + _likely(
            diagnose.shape_mistake(exp.shape, got.shape, context.get("sizes", ())))
    if exp.dtype.kind in "biu":
        if got.dtype.kind == "f" and not np.all(np.isfinite(got)):
            return f"{where}: holds NaN or inf"
        if not np.array_equal(got, exp):
            bad = int(np.count_nonzero(got != exp))
            mistake = diagnose.value_mistake(exp, got, rtol=0.0, atol=0.0, **context)
            return f"{where}: {bad} of {exp.size} entries differ (exact values expected)" + _likely(mistake)
        return None
    got_f = got.astype(np.float64)
    exp_f = exp.astype(np.float64)
    finite_exp = np.isfinite(exp_f)
    if not np.array_equal(np.isfinite(got_f), finite_exp):
        return f"{where}: holds NaN or inf" if finite_exp.all() else f"{where}: NaN/inf in the wrong places"
    if not np.allclose(got_f, exp_f, rtol=rtol, atol=atol, equal_nan=True):
        with np.errstate(invalid="ignore"):
            err = np.where(finite_exp, np.abs(got_f - exp_f), 0.0)
        idx = np.unravel_index(int(np.argmax(err)), err.shape) if err.ndim else ()
        at = f" at index {tuple(int(i) for i in idx)}" if err.ndim else ""
        mistake = diagnose.value_mistake(exp_f, got_f, rtol=rtol, atol=atol, **context) if finite_exp.all() else None
        return (f"{where}: values differ{_likely(mistake)}; largest error {float(err.max()):.3g}{at} "
                f"(expected {exp_f[idx]:.6g}, got {got_f[idx]:.6g}; rtol={rtol:g}, atol={atol:g})")
    return None


def compare(case: Case, got: Any) -> str | None:
    """``None`` when ``got`` (a decoded plain result) satisfies ``case``, else the reason.

    A reason names the likely mistake where :mod:`dlcourse.autograde.diagnose` recognises one
    (``"result: values differ — likely sign flipped (...)"``).
    """
    if case.check is not None:
        try:
            reason = case.check(got)
        except Exception as exc:  # a validator choking on a malformed result is a failure
            return f"result rejected by the validator ({type(exc).__name__}: {exc})"
        return None if reason is None else str(reason)
    from dlcourse.autograde import diagnose

    exp = expected_plain(case.expected)
    context = _context(case)
    if isinstance(exp, tuple):
        if not isinstance(got, tuple):
            return f"expected a tuple of {len(exp)} values, got a single value"
        if len(got) != len(exp):
            return f"expected a tuple of {len(exp)} values, got {len(got)}"
        for i, (e, g) in enumerate(zip(exp, got, strict=True)):
            reason = _compare_one(e, g, case.rtol, case.atol, f"element {i}", context)
            if reason:
                order = diagnose.order_mistake(exp, got, case.rtol, case.atol)
                if order is not None:
                    return f"element {i}: wrong value{_likely(order)}"
                return reason
        return None
    if isinstance(got, tuple):
        return f"expected a single value, got a tuple of {len(got)}"
    return _compare_one(exp, got, case.rtol, case.atol, "result", context)


# --- arguments: plain data that travels to the sandbox as JSON + an .npz ----------------


def encode_args(args: tuple, kwargs: dict) -> tuple[dict, dict[str, np.ndarray]]:
    """Encode arguments as a JSON-able skeleton plus named arrays (no pickle)."""
    arrays: dict[str, np.ndarray] = {}

    def enc(v: Any) -> Any:
        if isinstance(v, Rng):
            return {"$rng": int(v.seed)}
        if isinstance(v, np.ndarray):
            if v.dtype.kind not in NUMERIC_KINDS:
                raise TypeError(f"case arguments must be numeric arrays, got dtype {v.dtype}")
            key = f"a{len(arrays)}"
            arrays[key] = np.ascontiguousarray(v)
            return {"$array": key}
        if isinstance(v, np.generic):
            return enc(v.item())
        if isinstance(v, (bool, int, float, str)) or v is None:
            return v
        if isinstance(v, tuple):
            return {"$tuple": [enc(x) for x in v]}
        if isinstance(v, list):
            return [enc(x) for x in v]
        raise TypeError(f"case arguments must be plain data, got {type(v).__name__}")

    skeleton = {"args": [enc(a) for a in args], "kwargs": {str(k): enc(v) for k, v in kwargs.items()}}
    return skeleton, arrays


def copy_args(args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """Fresh copies of a case's arguments, as the sandbox would receive them."""
    return decode_args(*encode_args(args, kwargs))


# --- what a student may learn about a failed hidden case --------------------------------

#: the reason of a case that was not run because its notebook's time budget was used up
BUDGET_REASON = "the notebook's time budget of {seconds:g} s was used up"

# (pattern at the start of a reason, category); the first match wins.  Every reason the
# sandbox (sandbox.py, sandbox_child.py) and compare() write is covered by a test.
_RUN_CATEGORIES: tuple[tuple[str, str], ...] = (
    ("not implemented", "not implemented"),
    ("did not finish within", "timed out"),
    ("exceeded the CPU-time limit", "exceeded the CPU-time limit"),
    ("ran out of memory", "ran out of memory"),
    ("wrote more than", "wrote too much output"),
    ("maximum recursion depth exceeded", "infinite recursion"),
    ("the code called sys.exit", "called sys.exit()"),
    ("wrong return type", "wrong type"),
    ("function ", "function not defined"),
    ("the process crashed", "crashed"),
    ("the process was killed by signal", "killed by a signal"),
    ("the process ended without reporting a result", "ended without a result"),
    ("the process exited with code", "ended without a result"),
    ("the result could not be read", "returned a result that could not be read"),
    ("the result could not be saved", "returned a result that could not be saved"),
    ("grader error", "grader error (not your fault: the instructor sees the details)"),
    ("the notebook's time budget of", "not run: the notebook's time budget was used up"),
    ("passed, but a trivial answer", "not counted: a trivial answer passes it too, and no other case passed"),
)
_COMPARE_CATEGORIES: tuple[tuple[str, str], ...] = (
    ("not a plain numpy array", "wrong type"),
    ("is not numeric", "wrong type"),
    ("shape ", "wrong shape"),
    ("holds NaN or inf", "NaN or inf"),
    ("NaN/inf in the wrong places", "NaN or inf"),
    ("entries differ", "wrong value"),
    ("values differ", "wrong value"),
    ("expected a tuple of", "wrong number of returned values"),
    ("expected a single value", "wrong number of returned values"),
    ("result rejected by the validator", "wrong value"),
)


def _builtin_exception_names() -> frozenset[str]:
    import builtins

    names = {n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException)}
    return frozenset(names | {"LinAlgError", "AxisError"})


_EXCEPTION_NAMES = _builtin_exception_names()


def _likely_label(body: str) -> str:
    """``" (likely <label>)"`` for a diagnosis clause ``" — likely <label> ("`` in a reason (written
    by :func:`_compare_one`, or by an instructor's validator): only a label of the closed list
    ``diagnose.LABELS`` is copied, no number, nothing of the case."""
    from dlcourse.autograde.diagnose import LABELS

    for label in LABELS:
        if f" — likely {label} (" in body:
            return f" (likely {label})"
    return ""


def reason_category(reason: str | None, stage: str = "run") -> str:
    """A fixed category for the reason a case failed: what a student may see of a hidden case.

    ``stage`` is where the reason comes from: ``"compare"`` (:func:`compare`, or a ``check=``
    validator), ``"run"`` (the sandbox) or ``"prepare"`` (the submission's cells, before any
    case ran).  The category never contains text from the case (its name, inputs, expected
    values) or text the student's code produced while running it: a student could raise
    ``ValueError(str(args))`` or name an exception class after the inputs, so ``raised X`` keeps
    ``X`` only when it is a built-in exception name.  An unknown reason maps to
    ``"wrong value"`` after a comparison and to ``"failed"`` otherwise.  After a comparison the
    category may end with the diagnosed mistake, ``"wrong value (likely sign flipped)"``: a
    label of :data:`dlcourse.autograde.diagnose.LABELS`, never a number.
    """
    text = (reason or "").strip()
    if stage == "compare":
        body = text.split(": ", 1)[1] if text.startswith(("result: ", "element ")) else text
        category = "wrong value"
        for pattern, cat in _COMPARE_CATEGORIES:
            if body.startswith(pattern) or pattern in body.split(";")[0]:
                category = cat
                break
        return category + _likely_label(body)
    if stage == "prepare":
        for words, category in (("not found", "not run: the graded cell was not found"),
                                ("syntax error", "not run: the graded cell has a syntax error"),
                                ("could not be read", "not run: the notebook could not be read")):
            if words in text:
                return category
        return "not run: the graded cell could not be used"
    if text.startswith("raised "):
        name = text[len("raised "):].split(":", 1)[0].split(" ", 1)[0]
        return f"raised {name}" if name in _EXCEPTION_NAMES else "raised an exception"
    for pattern, category in _RUN_CATEGORIES:
        if text.startswith(pattern):
            return category
    return "failed"
