"""dlcourse.lecture.residual: torch's default Linear initialisation against its closed form, the
forward-hook moments against a hand-written forward pass, the gradient norms against torch
autograd written out, and the shortcut's effect against the plain network's."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dlcourse.lecture import residual


def test_torch_default_linear_init_is_uniform_with_variance_one_third_over_fan_in():
    torch.manual_seed(0)
    w = torch.nn.Linear(400, 500).weight.detach().double().numpy()
    bound = 1 / math.sqrt(400)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.999 * bound
    n = w.size  # Var of U(−c, c) is c²/3; its sample variance has relative SE √(0.8/n) (kurtosis 1.8)
    assert abs(w.var() / (bound**2 / 3) - 1) < 5 * math.sqrt(0.8 / n)
    assert residual.TORCH_DEFAULT_GAIN * math.sqrt(3 / 400) == pytest.approx(bound)


def test_deep_mlp_shapes_seed_and_the_residual_forward():
    plain = residual.deep_mlp(5, 8, 3, 2, activation="tanh", seed=1)
    again = residual.deep_mlp(5, 8, 3, 2, activation="tanh", seed=1)
    assert all(torch.equal(a, b) for a, b in zip(plain.parameters(), again.parameters(), strict=True))
    state = torch.random.get_rng_state()
    res = residual.deep_mlp(5, 8, 3, 2, activation="tanh", residual=True, seed=1)
    assert torch.equal(torch.random.get_rng_state(), state)  # the caller's generator is untouched
    x = torch.randn(4, 5, dtype=torch.float32)
    h = torch.tanh(res[0](x))
    for block in list(res)[2:-1]:  # h + tanh(h Wᵀ + b), written out
        h = h + torch.tanh(h @ block.linear.weight.detach().T + block.linear.bias.detach())
    expected = res[-1](h)
    torch.testing.assert_close(res(x), expected)
    assert len(list(residual.deep_mlp(5, 8, 0, 2).modules())) == 4  # Sequential, Linear, act, Linear
    assert all(m.bias is None for m in residual.deep_mlp(5, 8, 2, 2, bias=False).modules()
               if isinstance(m, torch.nn.Linear))


def test_second_moments_are_those_of_each_linear_output():
    model = residual.deep_mlp(6, 7, 2, 3, activation="relu", seed=3)
    x = np.random.default_rng(0).normal(size=(50, 6))
    got = residual.linear_output_second_moments(model, x)
    h, expected = torch.as_tensor(x, dtype=torch.float32), []
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.Linear, torch.nn.ReLU)):  # the leaves, in order
                h = m(h)
                if isinstance(m, torch.nn.Linear):
                    expected.append(float((h**2).mean()))
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert not any(lin._forward_hooks for lin in model.modules() if isinstance(lin, torch.nn.Linear))


def test_he_init_through_apply_makes_relu_layers_keep_the_second_moment():
    torch.manual_seed(0)
    model = residual.deep_mlp(256, 256, 10, 4, activation="relu", bias=True, seed=0)
    model.apply(residual.he_init)
    assert all(float(m.bias.detach().abs().max()) == 0 for m in model.modules() if isinstance(m, torch.nn.Linear))
    w = model[0].weight.detach().double().numpy()
    assert abs(w.var() * 256 / 2 - 1) < 5 * math.sqrt(2 / w.size)  # N(0, 2/fan_in)
    x = np.random.default_rng(1).normal(size=(2000, 256))
    m = residual.linear_output_second_moments(model, x)
    assert 0.3 < m[-2] / m[0] < 3  # 10 ReLU layers; the default init would give about 6^-10


def test_gradient_norms_match_autograd_and_the_shortcut_keeps_them():
    model = residual.deep_mlp(4, 6, 2, 3, activation="tanh", seed=2)
    X = np.random.default_rng(0).normal(size=(9, 4))
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2])
    got = residual.weight_gradient_norms(model, X, y)
    model.zero_grad()
    torch.nn.functional.cross_entropy(model(torch.as_tensor(X, dtype=torch.float32)), torch.as_tensor(y)).backward()
    expected = [float(m.weight.grad.norm()) for m in model.modules() if isinstance(m, torch.nn.Linear)]
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    Xd = np.random.default_rng(1).normal(size=(200, 32))
    yd = np.random.default_rng(2).integers(0, 10, 200)
    plain = residual.weight_gradient_norms(residual.deep_mlp(32, 32, 40, 10, activation="tanh"), Xd, yd)
    short = residual.weight_gradient_norms(residual.deep_mlp(32, 32, 40, 10, activation="tanh", residual=True), Xd, yd)
    assert plain[0] / plain[-1] < 1e-5 and 0.1 < short[0] / short[-1] < 10


def test_bad_input_is_refused_with_what_came():
    with pytest.raises(ValueError, match="activation"):
        residual.deep_mlp(2, 3, 1, 1, activation="elu")
    with pytest.raises(ValueError, match="integer labels"):
        residual.weight_gradient_norms(residual.deep_mlp(2, 3, 1, 2), np.zeros((4, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="no torch.nn.Linear"):
        residual.linear_output_second_moments(torch.nn.Sequential(torch.nn.ReLU()), np.zeros((2, 2)))
