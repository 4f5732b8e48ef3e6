"""dlcourse.activations against torch (float64 values and autograd derivatives) and finite differences."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from dlcourse import activations as A

LEAKY_ALPHA = 0.01
ELU_ALPHA = 1.0

# name -> (ours f, ours f', torch f)
CASES = {
    "sigmoid": (A.sigmoid, A.sigmoid_grad, torch.sigmoid),
    "tanh": (A.tanh, A.tanh_grad, torch.tanh),
    "relu": (A.relu, A.relu_grad, torch.relu),
    "leaky_relu": (A.leaky_relu, A.leaky_relu_grad, lambda t: F.leaky_relu(t, LEAKY_ALPHA)),
    "elu": (A.elu, A.elu_grad, lambda t: F.elu(t, ELU_ALPHA)),
    "lecun_tanh": (A.lecun_tanh, A.lecun_tanh_grad, lambda t: 1.7159 * torch.tanh(2.0 * t / 3.0)),
}
NAMES = sorted(CASES)


def torch_value_and_grad(torch_f, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f(z) and f'(z) from torch autograd: d/dz_i Σ_j f(z_j) = f'(z_i) for an element-wise f."""
    t = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    out = torch_f(t)
    out.sum().backward()
    return out.detach().numpy(), t.grad.numpy()


def assert_close(ours, ref, rtol=1e-8, atol=1e-12):
    np.testing.assert_allclose(ours, ref, rtol=rtol, atol=atol)


def normwise_rel(a, b) -> float:
    """max|a − b| / max(|a| + |b|): written out here so the test does not rely on gradcheck."""
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a) + np.abs(b)), 1e-300))


@pytest.fixture
def z_grid():
    rng = np.random.default_rng(0)
    return np.concatenate([rng.normal(0.0, 3.0, size=50), [-10.0, -1.0, 0.0, 1.0, 10.0, -0.5, 0.5]])


@pytest.mark.parametrize("name", NAMES)
def test_value_and_derivative_equal_torch(name, z_grid):
    f, df, torch_f = CASES[name]
    ref_value, ref_grad = torch_value_and_grad(torch_f, z_grid)
    assert_close(f(z_grid), ref_value)
    assert_close(df(z_grid), ref_grad)


@pytest.mark.parametrize("name", NAMES)
def test_derivative_matches_finite_differences(name, z_grid):
    f, df, _ = CASES[name]
    z = z_grid[np.abs(z_grid) > 1e-3]  # away from the kink of relu / leaky relu / elu at 0
    h = 1e-5
    numeric = (f(z + h) - f(z - h)) / (2 * h)  # centred difference, element-wise
    assert normwise_rel(df(z), numeric) < 1e-6


@pytest.mark.parametrize("name", NAMES)
def test_shape_and_dtype_preserved(name):
    f, df, _ = CASES[name]
    z = np.linspace(-3, 3, 24).reshape(2, 3, 4)
    assert f(z).shape == z.shape and df(z).shape == z.shape
    assert f(z).dtype == np.float64 and df(z).dtype == np.float64
    z32 = z.astype(np.float32)
    assert f(z32).dtype == np.float32 and df(z32).dtype == np.float32
    # python scalars and int arrays are accepted and become float64
    assert np.asarray(f(2)).dtype == np.float64
    assert f(np.array([-2, 3])).dtype == np.float64


@pytest.mark.parametrize("name", NAMES)
def test_stable_for_huge_inputs(name):
    f, df, torch_f = CASES[name]
    z = np.array([-1e4, -1e3, -750.0, -50.0, -20.0, 0.0, 20.0, 50.0, 750.0, 1e3, 1e4])
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        warnings.simplefilter("error")  # any overflow/invalid/divide warning fails (underflow to 0 is benign)
        value, grad = f(z), df(z)
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad))
    ref_value, ref_grad = torch_value_and_grad(torch_f, z)
    assert_close(value, ref_value)
    assert_close(grad, ref_grad)


def test_non_numeric_input_is_rejected():
    with pytest.raises(TypeError, match="numeric"):
        A.sigmoid(np.array(["a", "b"]))


# --- the sanity checks of the ESIR lecture (see docs/references.md) -------------------------------


def test_sigmoid_sanity_checks():
    assert A.sigmoid(0.0) == 0.5 and A.sigmoid_grad(0.0) == 0.25  # g(0) = 1/2, g'(0) = 1/4
    assert A.sigmoid(10.0) == pytest.approx(1.0, abs=1e-4) and A.sigmoid_grad(10.0) == pytest.approx(0.0, abs=1e-4)
    assert A.sigmoid(-10.0) == pytest.approx(0.0, abs=1e-4) and A.sigmoid_grad(-10.0) == pytest.approx(0.0, abs=1e-4)
    # symmetry σ(−z) = 1 − σ(z), σ'(z) = σ'(−z)
    z = np.linspace(-30, 30, 61)
    assert_close(A.sigmoid(-z), 1.0 - A.sigmoid(z))
    assert_close(A.sigmoid_grad(-z), A.sigmoid_grad(z))


def test_tanh_sanity_checks():
    assert A.tanh(0.0) == 0.0 and A.tanh_grad(0.0) == 1.0  # tanh(0) = 0, tanh'(0) = 1
    assert A.tanh(10.0) == pytest.approx(1.0, abs=1e-8) and A.tanh_grad(10.0) == pytest.approx(0.0, abs=1e-8)
    assert A.tanh(-10.0) == pytest.approx(-1.0, abs=1e-8) and A.tanh_grad(-10.0) == pytest.approx(0.0, abs=1e-8)
    # tanh(z) = 2σ(2z) − 1 ties the two saturating functions together
    z = np.linspace(-5, 5, 21)
    assert_close(A.tanh(z), 2 * A.sigmoid(2 * z) - 1)


def test_relu_family_sanity_checks():
    assert A.relu(-10.0) == 0.0 and A.relu_grad(-10.0) == 0.0
    assert A.relu(10.0) == 10.0 and A.relu_grad(10.0) == 1.0
    assert A.relu_grad(0.0) == 0.0  # the subgradient torch picks at the kink
    assert A.leaky_relu(-10.0) == pytest.approx(-0.1) and A.leaky_relu_grad(-10.0) == pytest.approx(0.01)
    assert A.leaky_relu_grad(10.0) == 1.0
    assert A.leaky_relu(-2.0, alpha=0.2) == pytest.approx(-0.4)
    assert A.elu(-10.0) == pytest.approx(np.exp(-10) - 1) and A.elu_grad(-10.0) == pytest.approx(np.exp(-10))
    assert A.elu(0.0) == 0.0 and A.elu_grad(0.0) == 1.0 and A.elu_grad(10.0) == 1.0


def test_lecun_tanh_sanity_checks():
    # LeCun's constants were chosen so that f(±1) = ±1 and the gain at 0 is 1.7159·2/3 ≈ 1.14
    assert A.lecun_tanh(1.0) == pytest.approx(1.0, abs=1e-4)
    assert A.lecun_tanh(-1.0) == pytest.approx(-1.0, abs=1e-4)
    assert A.lecun_tanh_grad(0.0) == pytest.approx(1.7159 * 2 / 3, rel=1e-12)
    assert A.lecun_tanh(10.0) == pytest.approx(1.7159, abs=1e-4)


@pytest.mark.parametrize("alpha", [0.2, 0.5])
def test_leaky_relu_and_elu_alpha_equal_torch(alpha):
    z = np.linspace(-6, 6, 25)
    _, g = torch_value_and_grad(lambda t: F.leaky_relu(t, alpha), z)
    assert_close(A.leaky_relu_grad(z, alpha), g)
    v, g = torch_value_and_grad(lambda t: F.elu(t, alpha), z)
    assert_close(A.elu(z, alpha), v)
    assert_close(A.elu_grad(z, alpha), g)


def test_registry_lists_every_activation():
    assert set(A.ACTIVATIONS) == set(NAMES)
    for name, (f, df) in A.ACTIVATIONS.items():
        assert f is CASES[name][0] and df is CASES[name][1]


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(NAMES),
    z=arrays(np.float64, array_shapes(min_dims=1, max_dims=3, max_side=6),
             elements=st.floats(-60, 60, allow_nan=False, allow_infinity=False)),
)
def test_property_equal_torch_on_random_shapes(name, z):
    f, df, torch_f = CASES[name]
    ref_value, ref_grad = torch_value_and_grad(torch_f, z)
    assert f(z).shape == z.shape
    assert_close(f(z), ref_value)
    assert_close(df(z), ref_grad)


# --- argument names in errors, the unused branch of ELU ----------------------------------------


def _named_in_error(exc: pytest.ExceptionInfo, name: str) -> bool:
    """The message names the offending argument as a word of its own (``z``, not ``x`` or ``Z``)."""
    import re

    return re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", str(exc.value)) is not None


@pytest.mark.parametrize("name", NAMES)
def test_every_activation_and_derivative_names_z_when_rejecting_its_input(name):
    for fn in CASES[name][:2]:
        with pytest.raises(TypeError) as exc:
            fn(np.array(["a", "b"]))
        assert _named_in_error(exc, "z"), str(exc.value)


@pytest.mark.parametrize("fn", [A.leaky_relu, A.leaky_relu_grad, A.elu, A.elu_grad])
@pytest.mark.parametrize("alpha", [float("nan"), float("inf")])
def test_a_non_finite_alpha_is_rejected_by_name(fn, alpha):
    with pytest.raises(ValueError) as exc:
        fn(np.array([-1.0, 1.0]), alpha)
    assert _named_in_error(exc, "alpha"), str(exc.value)


def test_elu_unused_branch_does_not_overflow_even_for_a_huge_alpha():
    # Every result is finite (α·(e^z − 1) ∈ (−α, 0] for z ≤ 0), so computing it must not warn:
    # the branch np.where discards at z > 0 is evaluated at min(z, 0), never at z itself.
    alpha = 1.5e308
    z = np.array([-1.0, 0.0, 0.5, 1.0, 3.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, grad = A.elu(z, alpha), A.elu_grad(z, alpha)
    ref_value, ref_grad = torch_value_and_grad(lambda t: F.elu(t, alpha), z)
    assert_close(value, ref_value)
    assert_close(grad, ref_grad)
