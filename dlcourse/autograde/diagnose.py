"""Name the likely mistake behind a wrong array, and show a short diff instead of the arrays.

Given the expected and the returned value of one case, :func:`value_mistake` and
:func:`shape_mistake` recognise the usual slips of a hand-written numerical function:

=====================================  ==================================================
label                                  recognised when
=====================================  ==================================================
``sign flipped``                       got ≈ −expected
``transposed``                         got ≈ expectedᵀ (or got's shape is expected's reversed)
``off by the learning rate``           got / expected, or the change from an input of the
                                       result's shape, is one constant equal to the ``lr``
                                       argument (or a scalar argument, or their inverse)
``off by a factor N``                   got / expected is one constant 1/N or N, N ≥ 2 whole
                                       (a mean where a sum is due, or the reverse)
``off by a constant factor``           got / expected is one other constant
``off by a constant``                  got − expected is one constant (a missing or extra term)
``all zeros``                          got is zero where expected is not
``some entries wrong``                 most entries match, a few do not
``missing or extra axis of length      the shapes agree once axes of length 1 are dropped
one``                                  (keepdims)
``reduced over the wrong axis``        a reduction kept another axis than expected
``reduced over every axis``            one number where an array is expected
``not reduced``                        an extra axis where a sum or mean was expected
``returned values in the wrong order`` (tuples) element i holds what element j should
=====================================  ==================================================

:data:`LABELS` is the closed list: :func:`dlcourse.autograde.spec.reason_category` copies a
label (never a number) into a hidden case's category, so a student learns "sign flipped"
about a hidden case but nothing of its inputs or expected values.  Each label comes with an
idea to check (:data:`IDEAS`), never the code.  :func:`short_diff` gives the shapes, the
largest error and where it is, and at most a few entries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

SIGN = "sign flipped"
TRANSPOSED = "transposed"
LEARNING_RATE = "off by the learning rate"
FACTOR_N = "off by a factor N"
FACTOR = "off by a constant factor"
OFFSET = "off by a constant"
ZEROS = "all zeros"
SOME = "some entries wrong"
KEEPDIMS = "missing or extra axis of length one"
AXIS = "reduced over the wrong axis"
ALL_AXES = "reduced over every axis"
NOT_REDUCED = "not reduced"
ORDER = "returned values in the wrong order"

#: every label a diagnosis may carry (the only diagnostic text a hidden case's category shows)
LABELS: tuple[str, ...] = (SIGN, TRANSPOSED, LEARNING_RATE, FACTOR_N, FACTOR, OFFSET, ZEROS, SOME,
                           KEEPDIMS, AXIS, ALL_AXES, NOT_REDUCED, ORDER)

#: what to look at for each label: the idea, not the code
IDEAS: dict[str, str] = {
    SIGN: "compare each minus sign with the derivative (or the rule) you wrote on paper",
    TRANSPOSED: "write the shape of every factor under it: which product has the shape of the answer?",
    LEARNING_RATE: "the step size multiplies the update exactly once",
    FACTOR_N: "is the quantity a mean or a sum over that axis? a 1/N comes from a mean, once",
    FACTOR: "a constant factor (a 2, a ½, a 1/N) is missing or extra somewhere",
    OFFSET: "a term that does not depend on the entry is missing or extra",
    ZEROS: "the result never picked up a contribution: is the accumulation or the return right?",
    SOME: "look at the entries that differ: an edge case (a boundary, a zero, a tie)?",
    KEEPDIMS: "an axis of length 1 was dropped or added: keep the axes the answer has",
    AXIS: "the reduction ran over the other axis: which axis indexes the samples?",
    ALL_AXES: "the reduction ran over every axis: name the one axis it should run over",
    NOT_REDUCED: "a sum or mean over one axis is missing",
    ORDER: "return the values in the order the docstring lists them",
}

#: keyword arguments whose value is a step size
_LR_NAMES = ("lr", "learning_rate", "eta", "step_size", "alpha")


@dataclass(frozen=True)
class Mistake:
    """A recognised mistake: its label (one of :data:`LABELS`) and a sentence with the numbers."""

    label: str
    detail: str

    def __post_init__(self) -> None:
        if self.label not in LABELS:
            raise ValueError(f"unknown mistake label {self.label!r}; expected one of {LABELS}")


def _close(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def _num(x: float) -> str:
    return f"{x:.4g}"


def _fraction(r: float, tol: float = 1e-6) -> tuple[str, int] | None:
    """(``"1/N"`` or ``"N"``, N) when r is 1/N or N for a whole N ≥ 2."""
    for value, text in ((1.0 / r, "1/{n}"), (r, "{n}")):
        n = round(value)
        if n >= 2 and abs(value - n) <= tol * n:
            return text.format(n=n), n
    return None


def _lr_values(kwargs: Mapping[str, object] | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in (kwargs or {}).items():
        if key in _LR_NAMES and isinstance(value, (int, float)) and not isinstance(value, bool) and value not in (0, 1):
            out[key] = float(value)
    return out


def update_mistake(expected: np.ndarray, got: np.ndarray, start: np.ndarray, *, rtol: float = 1e-6,
                   atol: float = 1e-8, steps: Mapping[str, float] | None = None) -> Mistake | None:
    """The likely mistake of an update ``start → got`` where ``start → expected`` was due (a
    parameter step): the change goes the other way, or is off by a step size in ``steps``
    (``{"lr": 0.1}``; the name is how the detail calls it), or by a whole factor N."""
    exp, got, start = (np.asarray(a, dtype=np.float64) for a in (expected, got, start))
    if not exp.shape == got.shape == start.shape or not np.all(np.isfinite(start)):
        return None
    d_exp, d_got = exp - start, got - start
    scale = float(np.max(np.abs(d_exp)))
    big = np.abs(d_exp) > 1e-6 * scale
    if scale == 0.0 or not np.any(d_got):
        return None
    r = float(np.median(d_got[big] / d_exp[big]))
    if r == 0.0 or np.isclose(r, 1.0, rtol=1e-9) or \
            not np.allclose(d_got, r * d_exp, rtol=max(rtol, 1e-6), atol=max(atol, 1e-9) * max(1.0, abs(r))):
        return None
    if np.isclose(r, -1.0, rtol=1e-6):
        return Mistake(SIGN, "every change from the input goes the opposite way of the expected one")
    for name, lr in (steps or {}).items():
        for factor, word in ((lr, ""), (1.0 / lr, "1/")):
            if np.isclose(abs(r), factor, rtol=1e-6):
                sign = ", in the opposite direction" if r < 0 else ""
                symbol, note = (name, f"{name} = {_num(lr)}") if not name.startswith("argument ") else \
                    (_num(lr), f"{_num(lr)} is {name} of the call")
                return Mistake(LEARNING_RATE, f"every change from the input is {_num(factor)} = {word}{symbol} times "
                               f"the expected one{sign} ({note}): the step size applied twice or not at all?")
    return None


def value_mistake(expected: np.ndarray, got: np.ndarray, *, rtol: float = 1e-6, atol: float = 1e-8,
                  kwargs: Mapping[str, object] | None = None, sizes: Iterable[int] = (),
                  starts: Iterable[np.ndarray] = (), scalars: Mapping[str, float] | None = None) -> Mistake | None:
    """The likely mistake behind ``got`` (same shape as ``expected``, finite floats), or None.

    ``kwargs`` are the case's keyword arguments (a ``lr=`` there is recognised as the factor),
    ``sizes`` the axis lengths of its array arguments (a factor N that is one of them is named
    as a mean-vs-sum slip over that axis).  ``starts`` are the case's array arguments: one of
    the result's shape may be what the function updates (:func:`update_mistake`, with the
    ``lr``-like keywords and the other positional ``scalars`` as candidate step sizes).
    """
    exp = np.asarray(expected, dtype=np.float64)
    got = np.asarray(got, dtype=np.float64)
    if exp.shape != got.shape or exp.size == 0 or not (np.all(np.isfinite(exp)) and np.all(np.isfinite(got))):
        return None
    tol = dict(rtol=max(rtol, 1e-6), atol=max(atol, 1e-9))
    steps = {**_lr_values(kwargs), **{f"argument {k}": v for k, v in (scalars or {}).items()}}
    for start in starts:
        start = np.asarray(start)
        if start.shape == exp.shape and start.dtype.kind == "f" and not np.allclose(start, exp):
            found = update_mistake(exp, got, start, rtol=rtol, atol=atol, steps=steps)
            if found is not None:
                return found
    scale = float(np.max(np.abs(exp)))
    if scale == 0.0:
        return None
    if _close(-got, exp, **tol):
        return Mistake(SIGN, "every entry has the opposite sign of the expected one")
    if exp.ndim == 2 and exp.shape[0] == exp.shape[1] and exp.shape[0] > 1 and not _close(exp, exp.T, **tol) \
            and _close(got, exp.T, **tol):
        return Mistake(TRANSPOSED, "the result is the transpose of the expected matrix")
    if not np.any(got):
        return Mistake(ZEROS, "every entry is 0")
    big = np.abs(exp) > 1e-6 * scale
    if big.sum() >= 1 and np.all(np.abs(got[~big]) <= 1e-6 * max(scale, float(np.max(np.abs(got))))):
        ratios = got[big] / exp[big]
        r = float(np.median(ratios))
        sizes = set(sizes)
        # one factor explains every entry, within the case's own tolerance
        if r != 0.0 and np.allclose(got, r * exp, rtol=tol["rtol"], atol=tol["atol"] * abs(r)) \
                and not np.isclose(r, 1.0, rtol=1e-9):
            for key, lr in _lr_values(kwargs).items():
                for factor, word in ((lr, ""), (1.0 / lr, "1/")):
                    if np.isclose(abs(r), factor, rtol=1e-6):
                        sign = ", with the sign flipped" if r < 0 else ""
                        return Mistake(LEARNING_RATE, f"every entry is {word}{key} = {_num(lr)} times the "
                                       f"expected{sign}: the step size is applied twice or not at all?")
            frac = _fraction(abs(r))
            if frac is not None and (exp.size > 1 or frac[1] in sizes):  # one number: only a known N
                text, n = frac
                sign = " and the sign is flipped" if r < 0 else ""
                where = f"an axis of length {n}" if n in sizes else f"{n} items"
                slip = "a mean instead of a sum" if text.startswith("1/") else "a sum instead of a mean"
                times = "of" if text.startswith("1/") else "times"
                return Mistake(FACTOR_N, f"every entry is {text} {times} the expected{sign}: {slip} over {where}?")
            if exp.size > 1:  # one number is always some multiple of another
                return Mistake(FACTOR, f"every entry is {_num(r)} times the expected")
    diff = got - exp
    if exp.size > 1 and np.allclose(diff, diff.flat[0], rtol=1e-6, atol=1e-9 * scale) \
            and abs(float(diff.flat[0])) > atol:
        return Mistake(OFFSET, f"every entry is the expected plus {_num(float(diff.flat[0]))}")
    bad = ~np.isclose(got, exp, rtol=rtol, atol=atol)
    if exp.size >= 4 and 0 < bad.sum() <= max(1, exp.size // 4):
        return Mistake(SOME, f"{int(bad.sum())} of {exp.size} entries differ, the others match")
    return None


def shape_mistake(expected: tuple[int, ...], got: tuple[int, ...], sizes: Iterable[int] = ()) -> Mistake | None:
    """The likely mistake behind a result of shape ``got`` where ``expected`` was due.

    ``sizes`` are the axis lengths of the case's array arguments: an axis of ``got`` with
    another length than expected is called a reduction over the wrong axis only when its
    length is one of them (the length of the axis that should have been summed away).
    """
    expected, got, sizes = tuple(expected), tuple(got), set(sizes)
    if expected == got:
        return None
    if len(got) == len(expected) >= 2 and got == expected[::-1]:
        return Mistake(TRANSPOSED, f"shape {got} is the expected {expected} reversed")
    squeeze_e = tuple(n for n in expected if n != 1)
    squeeze_g = tuple(n for n in got if n != 1)
    if squeeze_e == squeeze_g:
        which = ("an axis of length 1 is missing: keepdims=True where the answer keeps it?" if len(got) < len(expected)
                 else "an extra axis of length 1: keepdims=True or a reshape where none is wanted?")
        return Mistake(KEEPDIMS, which)
    if not got and expected:
        return Mistake(ALL_AXES, "one number where an array was expected")
    if len(got) == len(expected) + 1 and any(got[:i] + got[i + 1:] == expected for i in range(len(got))):
        return Mistake(NOT_REDUCED, "one axis more than expected")
    if len(got) == len(expected):
        differ = [(g, e) for g, e in zip(got, expected, strict=True) if g != e]
        if len(differ) == 1 and differ[0][0] in sizes and differ[0][1] in sizes:
            return Mistake(AXIS, f"an axis of length {differ[0][0]} where one of length {differ[0][1]} was expected: "
                                 "both are axes of the inputs")
    return None


def order_mistake(expected: tuple, got: tuple, rtol: float = 1e-6, atol: float = 1e-8) -> Mistake | None:
    """Two returned values swapped: element i matches the expected element j ≠ i and back."""
    n = len(expected)
    if len(got) != n:
        return None

    def same(e, g) -> bool:
        try:
            e, g = np.asarray(e, dtype=np.float64), np.asarray(g, dtype=np.float64)
        except (TypeError, ValueError):
            return False
        return e.shape == g.shape and bool(np.allclose(e, g, rtol=rtol, atol=atol))

    for i in range(n):
        for j in range(i + 1, n):
            if not same(expected[i], got[i]) and same(expected[i], got[j]) and same(expected[j], got[i]):
                return Mistake(ORDER, f"element {i} holds what element {j} should, and back")
    return None


def short_diff(expected: np.ndarray, got: np.ndarray, *, entries: int = 3) -> list[str]:
    """A few lines: both shapes, the largest error and where, and the ``entries`` worst entries."""
    exp = np.asarray(expected)
    got = np.asarray(got)
    lines = [f"shape: expected {exp.shape}, got {got.shape}"] if exp.shape != got.shape else []
    if exp.shape != got.shape or exp.size == 0:
        return lines
    with np.errstate(invalid="ignore"):
        err = np.abs(got.astype(np.float64) - exp.astype(np.float64))
    err = np.where(np.isnan(err), np.inf, err)
    flat = np.argsort(-err.ravel(), kind="stable")[:entries]
    wrong = int(np.count_nonzero(err > 0))
    lines.append(f"{exp.size} entries, {wrong} differ; largest error {float(err.max()):.3g}"
                 + (f" at index {tuple(int(i) for i in np.unravel_index(int(flat[0]), exp.shape))}" if exp.ndim else ""))
    for k in flat:
        if err.ravel()[k] == 0:
            break
        idx = np.unravel_index(int(k), exp.shape) if exp.ndim else ()
        at = f"[{', '.join(str(int(i)) for i in idx)}]" if exp.ndim else "value"
        lines.append(f"{at}: expected {float(exp.ravel()[k]):.6g}, got {float(got.ravel()[k]):.6g}")
    return lines
