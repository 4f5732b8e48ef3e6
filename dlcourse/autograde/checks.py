"""Instant, advisory feedback inside an exercise notebook: ``check("qid", fn)``.

Runs the public cases of question ``qid`` (from :mod:`dlcourse.autograde.cases`) on the
student's function in the student's own kernel and prints, per case, PASS or FAIL with the
expected and the returned value and a hint.  It never raises for student code (a stub says
"not implemented yet"); real grading is the autograder's (``dlcourse grade``), which also
runs hidden cases in a sandbox.  The comparison rules are the grader's
(:func:`dlcourse.autograde.spec.compare`), so a PASS here means the same thing there.

A FAIL says what is likely wrong where :mod:`dlcourse.autograde.diagnose` recognises it (sign
flipped, transposed, a factor N from a mean instead of a sum, off by the learning rate, a
missing keepdims, a reduction over the wrong axis, ...), then shows a short diff — the shapes,
the largest error and where, the three worst entries — instead of the arrays, and an idea to
look at (never the code).  Only a handful of numbers are printed in full.

Importing this module in an IPython kernel also makes the exercise notebook Run-All-safe: a
cell that reaches a stub prints which function to implement, and where, and the notebook runs
on (:mod:`dlcourse.autograde.runall`, which explains the mechanism).
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import signal
import threading
import traceback
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from dlcourse.autograde import runall
from dlcourse.autograde.spec import (
    Case,
    NotPlainError,
    compare,
    copy_args,
    expected_plain,
    format_value,
    to_plain,
)

#: seconds one public case may run in the kernel before it is reported as too slow
TIMEOUT_S = 30


@dataclass
class CaseReport:
    """The outcome of one public case."""

    name: str
    passed: bool
    reason: str | None = None
    expected: str = ""
    got: str = ""
    not_implemented: bool = False
    hint: str = ""
    diff: tuple[str, ...] = ()  # a few lines: shapes, the largest error and where, the worst entries
    idea: str = ""  # what to look at, for a recognised mistake (diagnose.IDEAS)
    small: bool = True  # expected and got are short enough to print in full


def _modules():
    import dlcourse.autograde.cases as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("c"):
            yield importlib.import_module(f"{pkg.__name__}.{info.name}")


def find_question(qid: str):
    """The public case module that defines ``cases_<qid>`` (KeyError when none does)."""
    hits = [m for m in _modules() if hasattr(m, f"cases_{qid}")]
    if not hits:
        raise KeyError(f"no public cases for question {qid!r}")
    if len(hits) > 1:
        raise KeyError(f"question {qid!r} is defined in several modules: {[m.__name__ for m in hits]}")
    return hits[0]


class _Timeout(Exception):
    pass


@contextmanager
def _time_limit(seconds: int):
    """Interrupt a runaway case (main thread on POSIX only; elsewhere no limit)."""
    usable = hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def on_alarm(signum, frame):
        raise _Timeout

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def run_case(case: Case, fn: Callable) -> CaseReport:
    """Call ``fn`` on fresh copies of the case's inputs and compare like the grader does."""
    expected = "" if case.check is not None else format_value(expected_plain(case.expected))
    args, kwargs = copy_args(case.args, case.kwargs)
    try:
        with _time_limit(TIMEOUT_S):
            result = fn(*args, **kwargs)
    except NotImplementedError:
        return CaseReport(case.name, False, "not implemented yet", expected, not_implemented=True)
    except _Timeout:
        return CaseReport(case.name, False, f"did not finish within {TIMEOUT_S} s (infinite loop?)", expected)
    except Exception as exc:
        frames = traceback.extract_tb(exc.__traceback__)
        where = f" (line {frames[-1].lineno})" if frames else ""
        return CaseReport(case.name, False, f"raised {type(exc).__name__}: {exc}{where}", expected)
    try:
        plain = to_plain(result)
    except NotPlainError as exc:
        return CaseReport(case.name, False, f"wrong return type: {exc}", expected, type(result).__name__)
    reason = compare(case, plain)
    report = CaseReport(case.name, reason is None, reason, expected, format_value(plain), hint=case.hint)
    if reason is not None and case.check is None:
        _explain(report, expected_plain(case.expected), plain, reason)
    return report


def _size(value: Any) -> int:
    """How many numbers a returned value holds (a tuple's elements summed; anything else 1)."""
    if isinstance(value, tuple):
        return sum(_size(v) for v in value)
    return int(value.size) if isinstance(value, np.ndarray) else 1


def _explain(report: CaseReport, exp: Any, got: Any, reason: str) -> None:
    """Fill the short diff and the idea of a failed case (the arrays themselves are not printed
    unless they are a handful of numbers)."""
    from dlcourse.autograde import diagnose

    pairs = list(zip(exp, got, strict=False)) if isinstance(exp, tuple) and isinstance(got, tuple) else [(exp, got)]
    where = reason.split(":", 1)[0]
    if where.startswith("element ") and where[8:].isdigit() and int(where[8:]) < len(pairs):
        pairs = [pairs[int(where[8:])]]
    e, g = pairs[0]
    report.small = max((_size(v) for pair in (zip(exp, got, strict=False) if isinstance(exp, tuple)
                                              and isinstance(got, tuple) else [(exp, got)]) for v in pair),
                       default=0) <= 6
    if isinstance(e, np.ndarray) and isinstance(g, np.ndarray) and e.shape == g.shape and not report.small:
        report.diff = tuple(diagnose.short_diff(e, g))
    for label in diagnose.LABELS:
        if f" — likely {label} (" in reason:
            report.idea = diagnose.IDEAS[label]
            break


def run_checks(qid: str, fn: Callable) -> list[CaseReport]:
    """Run every public case of ``qid`` on ``fn``; the reports, in order."""
    module = find_question(qid)
    driver = getattr(module, "DRIVERS", {}).get(qid)  # builds torch objects around fn, as the grader does
    call = fn if driver is None else functools.partial(driver, fn)
    return [run_case(case, call) for case in getattr(module, f"cases_{qid}")()]


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line if i else line for i, line in enumerate(text.split("\n")))


def report_text(qid: str, reports: list[CaseReport], hint: str = "") -> str:
    """The printed form of a check."""
    if reports and all(r.not_implemented for r in reports):
        return f"{qid}: not implemented yet — replace the `raise NotImplementedError` line with your code."
    passed = sum(r.passed for r in reports)
    lines = [f"{qid}: {passed}/{len(reports)} public cases passed"
             + (" — well done (the grader also runs hidden cases)" if passed == len(reports) else "")]
    for r in reports:
        lines.append(f"  {'PASS' if r.passed else 'FAIL'}  {r.name}")
        if not r.passed:
            why = r.reason or ""
            if r.diff:  # the diff below shows the largest error and where
                why = why.split("; largest error")[0]
            lines.append(f"        why:      {why}")
            for k, line in enumerate(r.diff):
                lines.append(f"        {'diff:' if k == 0 else '':<10}{line}")
            if r.small and r.expected:
                lines.append(f"        expected: {_indent(r.expected, ' ' * 18)}")
            if r.small and r.got:
                lines.append(f"        got:      {_indent(r.got, ' ' * 18)}")
            if r.idea:
                lines.append(f"        look at:  {r.idea}")
            if r.hint:
                lines.append(f"        hint:     {r.hint}")
    if passed < len(reports) and hint:
        lines.append(f"  hint: {hint}")
    return "\n".join(lines)


def check(qid: str, fn: Callable[..., Any]) -> None:
    """Print pass/fail for each public case of question ``qid`` run on ``fn``. Never raises
    for student code; an unknown ``qid`` is reported, not raised."""
    try:
        module = find_question(qid)
        reports = run_checks(qid, fn)
    except KeyError as exc:
        print(f"check: {exc.args[0]}")
        return
    print(report_text(qid, reports, getattr(module, "HINTS", {}).get(qid, "")))


# Importing this module in a kernel makes the notebook Run-All-safe (see dlcourse.autograde.runall).
runall.install()
