"""Feedback that diagnoses: each recognised mistake is named, with a short diff, and a hidden
case's category carries the label but no number."""

from __future__ import annotations

import re

import numpy as np
import pytest

from dlcourse.autograde import checks, diagnose
from dlcourse.autograde.spec import Case, compare, reason_category

RNG = np.random.default_rng(0)
X, W, DOUT = RNG.normal(size=(5, 3)), RNG.normal(size=(2, 3)), RNG.normal(size=(5, 2))
DW = DOUT.T @ X  # (2, 3): not square, so a transpose shows in the shape
SQUARE = RNG.normal(size=(3, 3))


@pytest.mark.parametrize("expected, got, label, words", [
    (DW, -DW, diagnose.SIGN, "opposite sign"),
    (SQUARE, SQUARE.T, diagnose.TRANSPOSED, "transpose"),
    (DW, DW / 5, diagnose.FACTOR_N, "1/5 of the expected: a mean instead of a sum over an axis of length 5"),
    (DW, 5 * DW, diagnose.FACTOR_N, "5 times the expected: a sum instead of a mean"),
    (DW, -DW / 5, diagnose.FACTOR_N, "sign is flipped"),
    (DW, 2.5 * DW, diagnose.FACTOR, "2.5 times"),
    (DW, DW + 0.5, diagnose.OFFSET, "plus 0.5"),
    (DW, np.zeros_like(DW), diagnose.ZEROS, "every entry is 0"),
    (np.arange(1.0, 9.0), np.r_[np.arange(1.0, 8.0), 0.5], diagnose.SOME, "1 of 8 entries differ"),
])
def test_value_mistakes_are_named(expected, got, label, words):
    mistake = diagnose.value_mistake(expected, got, sizes={5, 3, 2})
    assert mistake is not None and mistake.label == label, mistake
    assert words in mistake.detail, mistake.detail


def test_the_learning_rate_is_recognised_by_its_keyword():
    exp = np.array([1.0, -2.0, 3.0])
    m = diagnose.value_mistake(exp, 0.1 * exp, kwargs={"lr": 0.1})
    assert m is not None and m.label == diagnose.LEARNING_RATE and "lr = 0.1" in m.detail
    m = diagnose.value_mistake(exp, exp / 0.1, kwargs={"lr": 0.1})
    assert m is not None and m.label == diagnose.LEARNING_RATE and "1/lr" in m.detail
    # without the keyword the same ratio is only a constant factor (10 is whole: a factor N)
    assert diagnose.value_mistake(exp, 0.1 * exp).label == diagnose.FACTOR_N
    # a scalar result: a factor is named only when it is the lr or a known axis length
    assert diagnose.value_mistake(np.asarray(2.0), np.asarray(0.2), kwargs={"lr": 0.1}).label == diagnose.LEARNING_RATE
    assert diagnose.value_mistake(np.asarray(2.0), np.asarray(0.4), sizes={5}).label == diagnose.FACTOR_N
    assert diagnose.value_mistake(np.asarray(2.0), np.asarray(0.7)) is None


def test_no_diagnosis_where_nothing_is_recognisable():
    assert diagnose.value_mistake(np.array([1.0, 2.0]), np.array([1.0, 2.5])) is None
    assert diagnose.value_mistake(DW, RNG.normal(size=DW.shape)) is None
    symmetric = SQUARE + SQUARE.T  # its transpose is itself: no "transposed" claim
    assert diagnose.value_mistake(symmetric, symmetric.T * 2.5).label == diagnose.FACTOR


@pytest.mark.parametrize("expected, got, sizes, label", [
    ((2, 3), (3, 2), (), diagnose.TRANSPOSED),
    ((5, 1), (5,), (), diagnose.KEEPDIMS),
    ((3,), (1, 3), (), diagnose.KEEPDIMS),
    ((3,), (5,), (5, 3), diagnose.AXIS),
    ((3,), (), (5, 3), diagnose.ALL_AXES),
    ((3,), (5, 3), (5, 3), diagnose.NOT_REDUCED),
    ((3,), (4,), (5, 3), None),  # 4 is no axis of the inputs: nothing to say but the shapes
])
def test_shape_mistakes_are_named(expected, got, sizes, label):
    m = diagnose.shape_mistake(expected, got, sizes)
    assert (m.label if m else None) == label, m


def test_swapped_return_values():
    exp = (DOUT @ W, DW, DOUT.sum(0))
    m = diagnose.order_mistake(exp, (DW, DOUT @ W, DOUT.sum(0)))
    assert m is not None and m.label == diagnose.ORDER and "element 0 holds what element 1" in m.detail
    assert diagnose.order_mistake(exp, exp) is None


def test_compare_names_the_mistake_and_the_category_keeps_only_the_label():
    case = Case("linear", args=(DOUT, X, W), expected=(DOUT @ W, DW, DOUT.sum(0)))
    wrong = {
        "sign flipped": (DOUT @ W, -DW, DOUT.sum(0)),
        "transposed": (DOUT @ W, DW.T, DOUT.sum(0)),
        "off by a factor N": (DOUT @ W, DW, DOUT.mean(0)),
        "missing or extra axis of length one": (DOUT @ W, DW, DOUT.sum(0, keepdims=True)),
        "reduced over the wrong axis": (DOUT @ W, DW, DOUT.sum(1)),
        "returned values in the wrong order": (DW, DOUT @ W, DOUT.sum(0)),
    }
    for label, got in wrong.items():
        reason = compare(case, got)
        assert f"likely {label} (" in reason, reason
        category = reason_category(reason, "compare")
        assert category.endswith(f"(likely {label})"), category
        assert not any(ch.isdigit() for ch in category), category  # no number of the hidden case
    lr_case = Case("step", args=(np.ones(3),), kwargs={"lr": 0.1}, expected=np.array([1.0, 2.0, 3.0]))
    reason = compare(lr_case, np.array([0.1, 0.2, 0.3]))
    assert "likely off by the learning rate" in reason
    assert reason_category(reason, "compare") == "wrong value (likely off by the learning rate)"
    # a validator (the instructor's) may name a mistake the same way: only the label is kept
    validator = Case("v", check=lambda got: "values differ — likely sign flipped (seed 7)")
    assert reason_category(compare(validator, np.zeros(2)), "compare") == "wrong value (likely sign flipped)"
    made_up = Case("v", check=lambda got: "values differ — likely seed 7 (seed 7)")
    assert reason_category(compare(made_up, np.zeros(2)), "compare") == "wrong value"


def test_the_check_prints_a_short_diff_not_the_arrays(capsys):
    def flipped(dout, x, w):
        return dout @ w, -(dout.T @ x), dout.sum(axis=0)

    checks.check("linear_backward", flipped)
    out = capsys.readouterr().out
    assert "likely sign flipped" in out and "diff:" in out and "look at:" in out
    assert "largest error" in out and "expected:" not in out and "array(" not in out
    assert len(out.splitlines()) <= 10, out

    def averaged(dout, x, w):
        return dout @ w, dout.T @ x, dout.mean(axis=0)

    checks.check("linear_backward", averaged)
    assert "1/5 of the expected: a mean instead of a sum" in capsys.readouterr().out


def test_short_diff_lists_a_few_entries_and_where_the_error_is():
    exp = np.zeros((4, 5))
    got = exp.copy()
    got[2, 3], got[0, 1], got[1, 1], got[3, 0] = 5.0, -2.0, 1.0, 0.5
    lines = diagnose.short_diff(exp, got)
    assert lines[0] == "20 entries, 4 differ; largest error 5 at index (2, 3)"
    assert lines[1:] == ["[2, 3]: expected 0, got 5", "[0, 1]: expected 0, got -2", "[1, 1]: expected 0, got 1"]
    assert diagnose.short_diff(exp, got[:, :2]) == ["shape: expected (4, 5), got (4, 2)"]


def test_labels_are_a_closed_list_with_an_idea_each():
    assert set(diagnose.IDEAS) == set(diagnose.LABELS)
    with pytest.raises(ValueError, match="unknown mistake label"):
        diagnose.Mistake("made up", "")
    for idea in diagnose.IDEAS.values():  # ideas, not code
        assert "np." not in idea and not re.search(r"\w\(", idea), idea


def test_an_update_off_by_its_step_or_going_the_wrong_way():
    w = np.array([0.5, -1.0, 2.0])
    grad = np.array([1.0, 2.0, -3.0])
    right = w - 0.1 * grad  # one gradient step with lr = 0.1
    m = diagnose.value_mistake(right, w + 0.1 * grad, starts=[w], kwargs={"lr": 0.1})
    assert m.label == diagnose.SIGN and "change from the input goes the opposite way" in m.detail
    m = diagnose.value_mistake(right, w - grad, starts=[w], kwargs={"lr": 0.1})
    assert m.label == diagnose.LEARNING_RATE and "10 = 1/lr times" in m.detail
    m = diagnose.value_mistake(right, w - 0.01 * grad, starts=[w], scalars={"2": 0.1})
    assert m.label == diagnose.LEARNING_RATE and "0.1 is argument 2 of the call" in m.detail
    # through compare: perceptron_update(w, b, x, y, lr) with the step size forgotten
    case = Case("step", args=(w, 0.0, grad, 1, 0.1), expected=(w + 0.1 * grad, 0.1))
    reason = compare(case, (w + grad, np.asarray(1.0)))
    assert "likely off by the learning rate" in reason and "argument 4" in reason
    assert reason_category(reason, "compare") == "wrong value (likely off by the learning rate)"
    # an input of the result's shape that is not what the function updates: no claim
    assert diagnose.update_mistake(right, right + np.array([1.0, 0.0, 0.0]), w) is None
