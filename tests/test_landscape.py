"""dlcourse.lecture.landscape: the relabelled network against the original (same function), the
finite-difference Hessian against torch autograd in float64 and against its closed form at θ = 0."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcourse import data
from dlcourse.lecture import landscape
from dlcourse.models import two_layer


def _params(seed, n_in=3, n_hidden=4):
    p = two_layer.init_two_layer(n_in, n_hidden, 1, rng=seed, std=1.0)
    rng = np.random.default_rng(seed + 100)
    p["b1"], p["b2"] = rng.normal(size=n_hidden), rng.normal(size=1)
    return p


@pytest.mark.parametrize("seed", range(3))
def test_relabelled_hidden_units_compute_the_same_function(seed):
    p = _params(seed)
    X = np.random.default_rng(seed).normal(size=(20, 3))
    y = (X[:, 0] > 0).astype(int)
    perm = np.random.default_rng(seed).permutation(4)
    q = landscape.permute_hidden(p, perm)
    forward = lambda params: two_layer.two_layer_forward(params, X)[0]  # noqa: E731
    np.testing.assert_allclose(forward(q), forward(p), rtol=1e-13, atol=1e-15)
    assert not np.array_equal(q["W1"], p["W1"]) or np.array_equal(perm, np.arange(4))
    ends = landscape.segment_losses(p, q, X, y, [0.0, 1.0])
    np.testing.assert_allclose(ends, two_layer.two_layer_loss(p, X, y), rtol=1e-12)


def test_permute_hidden_refuses_what_is_not_a_permutation():
    with pytest.raises(ValueError, match=r"permutation of 0..3, got \[0, 0, 1, 2\]"):
        landscape.permute_hidden(_params(0), [0, 0, 1, 2])


def _torch_loss(theta, X, y, n_in, n_hidden):
    W1 = theta[: n_hidden * n_in].reshape(n_hidden, n_in)
    b1 = theta[n_hidden * n_in: n_hidden * (n_in + 1)]
    W2 = theta[n_hidden * (n_in + 1): n_hidden * (n_in + 2)].reshape(1, n_hidden)
    b2 = theta[-1:]
    z2 = torch.tanh(X @ W1.T + b1) @ W2.T + b2
    return torch.nn.functional.binary_cross_entropy_with_logits(z2.ravel(), y)


@pytest.mark.parametrize("seed", range(2))
def test_hessian_equals_torch_autograd(seed):
    p = _params(seed)
    X = np.random.default_rng(seed).normal(size=(15, 3))
    y = (X.sum(axis=1) > 0).astype(int)
    theta, _ = two_layer.flatten_params(p)
    expected = torch.autograd.functional.hessian(
        lambda t: _torch_loss(t, torch.as_tensor(X), torch.as_tensor(y, dtype=torch.float64), 3, 4),
        torch.as_tensor(theta)).numpy()
    got = landscape.hessian(p, X, y)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


def test_zero_weights_are_a_saddle_with_the_closed_form_curvature():
    X, y = data.two_blobs(20, gap=2.0, rng=0)
    zero = {k: np.zeros_like(v) for k, v in two_layer.init_two_layer(2, 3, 1, rng=0).items()}
    _, grads = two_layer.two_layer_grads(zero, X, y)
    assert all(np.all(g == 0) for g in grads.values())
    # at θ = 0 the only curvature is ∂²J/∂W2_j∂W1_jk = mean((1/2 − y) x_k) = c_k (tanh'(0) = 1) and
    # ∂²J/∂b2² = σ'(0) = 1/4: eigenvalues ±‖c‖ once per hidden unit, 1/4, and zeros
    c = np.mean((0.5 - y)[:, None] * X, axis=0)
    r = np.linalg.norm(c)
    expected = np.sort(np.r_[[-r] * 3, [r] * 3, 0.25, np.zeros(13 - 7)])
    np.testing.assert_allclose(np.linalg.eigvalsh(landscape.hessian(zero, X, y)), expected, atol=1e-8)
