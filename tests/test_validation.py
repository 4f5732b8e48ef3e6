"""dlcourse.validation: every check accepts good input unchanged and names what it expected."""

import numpy as np
import pytest

from dlcourse.validation import (
    as_float_array,
    as_rng,
    check_count,
    check_finite,
    check_positive,
    check_probability,
    check_same_shape,
    check_shape,
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
