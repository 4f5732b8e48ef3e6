"""dlcourse.validation: every check accepts good input unchanged and names what it expected."""

import numpy as np
import pytest

from dlcourse.validation import (
    as_float_array,
    as_labels,
    as_rng,
    check_bool,
    check_choice,
    check_count,
    check_finite,
    check_interval,
    check_nonempty,
    check_positive,
    check_probability,
    check_real,
    check_same_length,
    check_same_shape,
    check_shape,
    check_split_size,
    check_unit_interval,
)


def test_as_float_array_converts_ints_and_keeps_floats():
    a = as_float_array([1, 2, 3])
    assert a.dtype == np.float64 and a.tolist() == [1.0, 2.0, 3.0]
    b = as_float_array(np.array([True, False]))
    assert b.dtype == np.float64 and b.tolist() == [1.0, 0.0]
    f32 = np.ones(2, dtype=np.float32)
    assert as_float_array(f32).dtype == np.float32
    f64 = np.ones(3)
    assert as_float_array(f64) is f64  # no copy when nothing needs converting


@pytest.mark.parametrize("bad", [np.array(["a", "b"]), np.array([object(), 1], dtype=object), [1, "x"]])
def test_as_float_array_rejects_non_numeric(bad):
    with pytest.raises(TypeError, match=r"weights must be a numeric array, got dtype"):
        as_float_array(bad, "weights")


def test_as_float_array_rejects_complex():
    with pytest.raises(TypeError, match="real numeric array, got dtype complex128"):
        as_float_array(np.array([1 + 2j]))


def test_as_float_array_checks_rank_and_names_the_shape():
    assert as_float_array(np.zeros((2, 3)), ndim=2).shape == (2, 3)
    assert as_float_array(np.zeros(3), ndim=(1, 2)).shape == (3,)
    with pytest.raises(ValueError, match=r"x must be 2-D, got shape \(3,\)"):
        as_float_array(np.zeros(3), "x", ndim=2)
    with pytest.raises(ValueError, match=r"1-D or 2-D, got shape \(1, 2, 3\)"):
        as_float_array(np.zeros((1, 2, 3)), ndim=(1, 2))


def test_check_shape_with_wildcards():
    check_shape(np.zeros((5, 3)), (None, 3))
    with pytest.raises(ValueError, match=r"X must have shape \(\*, 4\), got \(5, 3\)"):
        check_shape(np.zeros((5, 3)), (None, 4), "X")
    with pytest.raises(ValueError, match=r"\(5,\)"):
        check_shape(np.zeros(5), (None, 1))


def test_check_same_shape_names_both():
    check_same_shape(np.zeros((2, 2)), np.ones((2, 2)), "a", "b")
    with pytest.raises(ValueError) as exc:
        check_same_shape(np.zeros((4, 1)), np.zeros(4), "pred", "target")
    msg = str(exc.value)
    assert "pred" in msg and "target" in msg and "(4, 1)" in msg and "(4,)" in msg


def test_check_finite():
    check_finite(np.array([1.0, -2.0]))
    with pytest.raises(FloatingPointError, match="loss holds 2 non-finite"):
        check_finite(np.array([np.nan, 1.0, np.inf]), "loss")


def test_check_probability_bounds():
    assert check_probability(0.0) == 0.0 and check_probability(0.5) == 0.5
    assert check_probability(1, inclusive_high=True) == 1.0
    for bad in (1.0, -0.1, float("nan")):
        with pytest.raises(ValueError, match=r"p must lie in \[0, 1\)"):
            check_probability(bad)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        check_probability(1.5, inclusive_high=True)


def test_check_positive():
    assert check_positive(0.1, "lr") == 0.1
    assert check_positive(0, "momentum", allow_zero=True) == 0.0
    for bad in (0.0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="lr must be finite and > 0"):
            check_positive(bad, "lr")
    with pytest.raises(ValueError, match=">= 0"):
        check_positive(-1, "momentum", allow_zero=True)


def test_check_count():
    assert check_count(3, "n") == 3 and type(check_count(np.int64(3), "n")) is int
    assert check_count(0, "epochs", allow_zero=True) == 0
    for bad in (0, -2, 2.0, True, "3", None):
        with pytest.raises(ValueError, match="n must be a positive integer"):
            check_count(bad, "n")
    with pytest.raises(ValueError, match="epochs must be a non-negative integer"):
        check_count(-1, "epochs", allow_zero=True)


def test_as_rng():
    g = np.random.default_rng(0)
    assert as_rng(g) is g
    assert as_rng(3).integers(1000) == np.random.default_rng(3).integers(1000)
    assert as_rng(np.int64(3)).integers(1000) == np.random.default_rng(3).integers(1000)
    assert isinstance(as_rng(None), np.random.Generator)
    with pytest.raises(TypeError, match="Generator"):
        as_rng(np.random.RandomState(0))
    with pytest.raises(TypeError, match="Generator"):
        as_rng(1.5)


def test_check_shape_writes_a_one_tuple_as_python_does():
    with pytest.raises(ValueError, match=r"must have shape \(2,\), got \(3,\)"):
        check_shape(np.zeros(3), (2,), "theta")


def test_check_same_length_compares_the_sample_axis_only():
    assert check_same_length(np.zeros((5, 3)), np.zeros(5)) == 5
    assert check_same_length(np.zeros((5, 3)), np.zeros((5, 1)), "X", "y") == 5
    with pytest.raises(ValueError, match=r"X and y must have the same number of rows \(samples\), got 5 and 4"):
        check_same_length(np.zeros((5, 3)), np.zeros(4))
    with pytest.raises(ValueError, match="sample axis"):
        check_same_length(np.float64(1.0), np.zeros(1))


def test_check_nonempty():
    check_nonempty(np.zeros((1, 1)))
    with pytest.raises(ValueError, match=r"pred is empty \(shape \(0, 3\)\)"):
        check_nonempty(np.zeros((0, 3)), "pred")


def test_check_unit_interval_catches_nan_and_both_ends():
    check_unit_interval(np.array([0.0, 0.5, 1.0]))
    for bad in (-1e-9, 1.0 + 1e-9, np.nan):
        with pytest.raises(ValueError, match=r"prob must lie in \[0, 1\]; got 1 value\(s\) outside"):
            check_unit_interval(np.array([0.5, bad]), "prob")


def test_as_labels():
    y = as_labels([0, 2, 1], n=3, num_classes=3)
    assert y.dtype == np.int64 and y.tolist() == [0, 2, 1]
    assert as_labels(np.array([1.0, 0.0])).tolist() == [1, 0]  # whole floats are labels
    with pytest.raises(ValueError, match="integer class labels, got dtype bool"):
        as_labels(np.array([True, False]))
    with pytest.raises(ValueError, match="non-integer values such as"):
        as_labels(np.array([0.0, 0.5]))
    with pytest.raises(ValueError, match="non-integer"):
        as_labels(np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match=r"y must have shape \(3,\)"):
        as_labels([0, 1], n=3)
    with pytest.raises(ValueError, match=r"\(N,\)"):
        as_labels(np.zeros((2, 2), dtype=int))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\) for 2 classes, got \[2, -1\]"):
        as_labels([0, 2, -1], "labels", num_classes=2)


def test_check_real_rejects_nan_inf_and_non_numbers():
    assert check_real(-2, "shift") == -2.0 and type(check_real(np.float32(1.5), "shift")) is float
    for bad in (np.nan, np.inf, -np.inf):
        with pytest.raises(ValueError, match="shift must be a finite real number"):
            check_real(bad, "shift")
    for bad in ("1.0", None, True, [1.0], np.ones(2)):
        with pytest.raises(TypeError, match="shift must be a real number, got"):
            check_real(bad, "shift")


def test_scalar_checks_name_the_argument_for_non_numbers():
    with pytest.raises(TypeError, match=r"lr must be a real number, got 'fast' \(str\)"):
        check_positive("fast", "lr")
    with pytest.raises(TypeError, match="p must be a real number"):
        check_probability(None)
    assert check_positive(np.array(0.5), "lr") == 0.5  # a 0-d array is a scalar


def test_check_interval():
    assert check_interval((0, 10), "x_range") == (0.0, 10.0)
    with pytest.raises(ValueError, match=r"x_range must be \(low, high\) with low < high, got \(1, 1\)"):
        check_interval((1, 1), "x_range")
    with pytest.raises(ValueError, match="must be a pair"):
        check_interval((0, 1, 2), "x_range")
    with pytest.raises(ValueError, match=r"x_range\[1\] must be a finite"):
        check_interval((0, np.inf), "x_range")


def test_check_count_upper_bound_and_float_hint():
    assert check_count(30, "batch_size", high=30) == 30
    for bad in (0, 31, 2.0):
        with pytest.raises(ValueError, match=r"batch_size must be an integer in \[1, 30\]"):
            check_count(bad, "batch_size", high=30)
    with pytest.raises(ValueError, match=r"got 3.0 \(pass int\(3.0\)\)"):
        check_count(3.0, "n")


def test_check_split_size():
    assert check_split_size(0.25, 10, "test") == 2  # round(2.5) = 2, to even as Python rounds
    assert check_split_size(0.35, 10, "test") == 4
    assert check_split_size(0, 10, "val") == 0 and check_split_size(3, 10, "val") == 3
    for bad in (1.0, -0.1, np.nan):
        with pytest.raises(ValueError, match=r"test must be a fraction in \[0, 1\) or a count >= 1"):
            check_split_size(bad, 10, "test")
    with pytest.raises(ValueError, match="test asks for 11 samples but there are only 10"):
        check_split_size(11, 10, "test")


def test_check_choice_lists_the_choices():
    assert check_choice("relu", ("tanh", "relu"), "activation") == "relu"
    with pytest.raises(ValueError, match=r"unknown activation 'swish': expected one of 'tanh', 'relu'"):
        check_choice("swish", ("tanh", "relu"), "activation")
    with pytest.raises(ValueError, match=r"expected one of 'a', 'b'$"):  # a dict's keys, sorted
        check_choice("c", {"b": 1, "a": 2}, "mode")
    with pytest.raises(ValueError, match="unknown mode"):
        check_choice(["a"], {"a": 1}, "mode")  # unhashable: not a choice, not a crash


def test_as_rng_refuses_bools_and_says_what_to_use_for_a_random_state():
    with pytest.raises(TypeError, match="got bool"):
        as_rng(True)
    with pytest.raises(TypeError, match=r"default_rng\(seed\)"):
        as_rng(np.random.RandomState(0))



@pytest.mark.parametrize("value", [True, False, np.bool_(True), np.bool_(False)])
def test_check_bool_accepts_python_and_numpy_bools_and_returns_a_python_bool(value):
    out = check_bool(value, "flag")
    assert type(out) is bool and out == bool(value)


@pytest.mark.parametrize("value", ["no", "", 1, 0, 1.0, None, np.int64(1), np.array([True]), [True]])
def test_check_bool_refuses_truthy_stand_ins_naming_the_argument(value):
    with pytest.raises(TypeError, match=r"nesterov must be a bool \(True or False\), got"):
        check_bool(value, "nesterov")
