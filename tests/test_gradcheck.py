"""dlcourse.gradcheck against closed-form derivatives, and check_module's ability to catch bugs."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from dlcourse import nn
from dlcourse.gradcheck import check_module, numerical_gradient, rel_error

# --- numerical_gradient -----------------------------------------------------------------------


def test_numerical_gradient_of_cubic_equals_closed_form():
    x = np.random.default_rng(0).normal(size=(3, 4))
    num = numerical_gradient(lambda v: float(np.sum(v**3)), x)
    exact = 3 * x**2  # d/dx Σ x³ = 3x²
    assert np.max(np.abs(num - exact)) < 1e-8
    assert num.shape == x.shape


def test_numerical_gradient_of_matrix_function():
    rng = np.random.default_rng(1)
    w, v = rng.normal(size=(3, 5)), rng.normal(size=5)
    num = numerical_gradient(lambda m: float(np.sum(np.sin(m @ v))), w)
    exact = np.outer(np.cos(w @ v), v)  # ∂/∂W_ij Σ_k sin((Wv)_k) = cos((Wv)_i) v_j
    assert np.max(np.abs(num - exact)) < 1e-8


def test_numerical_gradient_restores_x_bit_for_bit_and_supports_closures():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 3))
    original = x.copy()
    aliased = x  # f reads x through a closure, like a layer's weight.data
    num = numerical_gradient(lambda _: float(np.sum(aliased**2)), x)
    np.testing.assert_array_equal(x, original)
    assert np.max(np.abs(num - 2 * original)) < 1e-8


def test_numerical_gradient_restores_x_when_f_raises():
    x = np.array([1.0, 2.0])
    original = x.copy()

    def f(v):
        if v[0] != 1.0:
            raise RuntimeError("boom")
        return 0.0

    with pytest.raises(RuntimeError, match="boom"):
        numerical_gradient(f, x)
    np.testing.assert_array_equal(x, original)


def test_numerical_gradient_refuses_float32_with_a_reason():
    with pytest.raises(TypeError, match=r"float64.*float32.*round-off"):
        numerical_gradient(lambda v: float(np.sum(v)), np.ones(3, dtype=np.float32))


def test_numerical_gradient_accepts_a_list_and_checks_its_arguments():
    num = numerical_gradient(lambda v: float(v @ v), [1.0, -2.0])
    np.testing.assert_allclose(num, [2.0, -4.0], atol=1e-8)
    with pytest.raises(ValueError, match="scalar"):
        numerical_gradient(lambda v: v * 2, np.ones(3))
    with pytest.raises(ValueError, match="h must"):
        numerical_gradient(lambda v: float(np.sum(v)), np.ones(3), h=0.0)


def test_central_difference_error_is_second_order():
    # halving h divides the truncation error by ≈ 4 (the h² f'''/6 term)
    x = np.array([0.7])
    exact = np.cos(0.7)
    errs = [abs(numerical_gradient(lambda v: float(np.sin(v[0])), x.copy(), h=h)[0] - exact) for h in (1e-2, 5e-3)]
    assert 3.5 < errs[0] / errs[1] < 4.5


# --- rel_error --------------------------------------------------------------------------------


def test_rel_error_values():
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.2])) == pytest.approx(0.2 / 4.2)
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_error(1.0, -1.0) == pytest.approx(1.0)
    assert rel_error(np.zeros((0, 2)), np.zeros((0, 2))) == 0.0


def test_rel_error_is_robust_to_entries_near_zero():
    # entries ~0 in both arrays do not dominate the error (they would entry by entry)
    a = np.array([1.0, 1e-12])
    b = np.array([1.0, 2e-12])
    assert rel_error(a, b) < 1e-11


def test_rel_error_rejects_shape_mismatch():
    with pytest.raises(ValueError) as exc:
        rel_error(np.zeros((2, 3)), np.zeros((3, 2)))
    assert "(2, 3)" in str(exc.value) and "(3, 2)" in str(exc.value)


@settings(max_examples=50, deadline=None)
@given(
    a=arrays(np.float64, array_shapes(max_dims=2, max_side=5), elements=st.floats(-1e3, 1e3)),
    scale=st.floats(1e-3, 1e3),
    seed=st.integers(0, 2**16),
)
def test_rel_error_properties(a, scale, seed):
    b = a + np.random.default_rng(seed).normal(size=a.shape)
    e = rel_error(a, b)
    assert 0.0 <= e <= 1.0  # |a − b| ≤ |a| + |b|
    assert rel_error(b, a) == e  # symmetric
    assert rel_error(scale * a, scale * b) == pytest.approx(e, rel=1e-9, abs=1e-300)  # scale-free


# --- check_module -----------------------------------------------------------------------------


def test_check_module_passes_for_linear_and_names_every_parameter():
    rng = np.random.default_rng(3)
    layer = nn.Linear(4, 3, rng=rng)
    errors = check_module(layer, rng.normal(size=(5, 4)), rng=rng)
    assert set(errors) == {"input", "weight", "bias"}
    assert max(errors.values()) < 1e-8


def test_check_module_uses_dotted_names_in_sequential():
    rng = np.random.default_rng(4)
    model = nn.Sequential(nn.Linear(3, 4, rng=rng), nn.Tanh(), nn.Linear(4, 2, rng=rng))
    errors = check_module(model, rng.normal(size=(6, 3)), rng=rng)
    assert set(errors) == {"input", "0.weight", "0.bias", "2.weight", "2.bias"}
    assert max(errors.values()) < 1e-7


class _WrongWeightGrad(nn.Linear):
    """A Linear whose weight gradient forgets a factor: check_module must notice."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.weight.grad = self.weight.grad * 0.9
        return dx


class _WrongInputGrad(nn.Tanh):
    """tanh whose backward uses 1 − tanh instead of 1 − tanh²."""

    def backward(self, dout):
        return dout * (1 - np.tanh(self._z))


def test_check_module_catches_wrong_gradients():
    rng = np.random.default_rng(5)
    errors = check_module(_WrongWeightGrad(3, 2, rng=rng), rng.normal(size=(4, 3)), rng=rng)
    assert errors["weight"] > 1e-2 and errors["input"] < 1e-8 and errors["bias"] < 1e-8
    errors = check_module(_WrongInputGrad(), rng.normal(size=(4, 3)), rng=rng)
    assert errors["input"] > 1e-2


def test_check_module_leaves_the_module_as_it_was():
    rng = np.random.default_rng(6)
    layer = nn.Linear(3, 2, rng=rng)
    weight_array = layer.weight.data
    before = {k: v.copy() for k, v in layer.state_dict().items()}
    layer.weight.grad = np.full((2, 3), 7.0)
    check_module(layer, rng.normal(size=(4, 3)), rng=rng)
    for k, v in layer.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    np.testing.assert_array_equal(layer.weight.grad, np.full((2, 3), 7.0))
    np.testing.assert_array_equal(layer.bias.grad, np.zeros(2))
    assert layer.weight.data is weight_array  # restored in place: aliases stay valid


def test_check_module_with_explicit_dout_and_input_checks():
    rng = np.random.default_rng(7)
    layer = nn.Linear(3, 2, rng=rng)
    x = rng.normal(size=(4, 3))
    assert max(check_module(layer, x, dout=np.ones((4, 2))).values()) < 1e-8
    with pytest.raises(ValueError, match=r"\(4, 2\).*\(4, 3\)"):
        check_module(layer, x, dout=np.ones((4, 3)))
    with pytest.raises(TypeError, match="float64"):
        check_module(layer, x.astype(np.float32))


class _RunningMean(nn.Module):
    """y = 2x, with a buffer that every forward pass changes (like BatchNorm's running mean)."""

    _buffer_names = ("running",)

    def __init__(self) -> None:
        self.running = np.zeros(3)

    def forward(self, x):
        self.running = 0.9 * self.running + 0.1 * x.mean(axis=0)
        return 2 * x

    def backward(self, dout):
        return 2 * dout


def test_check_module_restores_buffers_of_nested_modules():
    rng = np.random.default_rng(8)
    model = nn.Sequential(nn.Linear(3, 3, rng=rng), _RunningMean())
    x = rng.normal(size=(4, 3))
    errors = check_module(model, x, rng=rng)
    assert max(errors.values()) < 1e-8
    np.testing.assert_array_equal(model[1].running, np.zeros(3))  # dozens of forward passes, undone
