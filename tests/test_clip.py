"""Gradient clipping equals torch.nn.utils.clip_grad_value_ / clip_grad_norm_ in float64."""

import math

import numpy as np
import pytest
import torch

from dlcourse.nn import Parameter
from dlcourse.optim import clip_grad_norm_, clip_grad_value_


def _params(seed, scale=3.0):
    rng = np.random.default_rng(seed)
    grads = [scale * rng.normal(size=s) for s in [(3, 4), (4,), (2, 2, 2)]]
    ours = [Parameter(np.zeros_like(g)) for g in grads]
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, t, g in zip(ours, theirs, grads, strict=False):
        p.grad = g.copy()
        t.grad = torch.from_numpy(g.copy())
    return ours, theirs


@pytest.mark.parametrize("clip_value", [0.0, 0.5, 2.0, 100.0])
def test_clip_by_value_equals_torch(clip_value):
    ours, theirs = _params(0)
    assert clip_grad_value_(ours, clip_value) is None
    torch.nn.utils.clip_grad_value_(theirs, clip_value)
    for p, t in zip(ours, theirs, strict=False):
        assert np.array_equal(p.grad, t.grad.numpy())
        assert np.abs(p.grad).max() <= clip_value


@pytest.mark.parametrize("max_norm", [0.1, 1.0, 5.0, 1e3])
@pytest.mark.parametrize("norm_type", [1.0, 2.0, 3.5, math.inf])
def test_clip_by_norm_equals_torch(max_norm, norm_type):
    ours, theirs = _params(1)
    total = clip_grad_norm_(ours, max_norm, norm_type)
    ref = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert isinstance(total, float) and total == pytest.approx(float(ref), rel=1e-12)
    for p, t in zip(ours, theirs, strict=False):
        assert np.allclose(p.grad, t.grad.numpy(), rtol=1e-12, atol=0)
    flat = np.concatenate([p.grad.ravel() for p in ours])
    new_norm = np.max(np.abs(flat)) if math.isinf(norm_type) else np.sum(np.abs(flat) ** norm_type) ** (1 / norm_type)
    assert new_norm <= max_norm * (1 + 1e-9) or total <= max_norm


def test_clip_by_norm_keeps_direction_clip_by_value_does_not():
    g = np.array([10.0, 1.0])
    a, b = Parameter(np.zeros(2)), Parameter(np.zeros(2))
    a.grad, b.grad = g.copy(), g.copy()
    clip_grad_norm_([a], 1.0)
    clip_grad_value_([b], 1.0)
    cos = lambda u, v: u @ v / np.linalg.norm(u) / np.linalg.norm(v)  # noqa: E731
    assert cos(a.grad, g) == pytest.approx(1.0, abs=1e-12)
    assert cos(b.grad, g) < 0.8  # (1, 1) vs (10, 1): the direction changed


def test_single_parameter_and_errors():
    p = Parameter(np.zeros(3))
    p.grad = np.array([3.0, 4.0, 0.0])
    assert clip_grad_norm_(p, 1.0) == pytest.approx(5.0)
    with pytest.raises(ValueError):
        clip_grad_value_([p], -1)
    with pytest.raises(ValueError):
        clip_grad_norm_([p], float("nan"))
    with pytest.raises(TypeError):
        clip_grad_norm_([np.zeros(3)], 1.0)
    p.grad = np.array([np.inf, 0.0, 0.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_([p], 1.0, error_if_nonfinite=True)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402

_finite = st.floats(-1e6, 1e6, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(g=arrays(np.float64, st.integers(1, 8), elements=_finite), max_norm=st.floats(1e-3, 1e3))
def test_property_norm_clipping_bounds_the_norm_and_keeps_the_direction(g, max_norm):
    p = Parameter(np.zeros_like(g))
    p.grad = g.copy()
    total = clip_grad_norm_([p], max_norm)
    assert total == pytest.approx(np.linalg.norm(g), rel=1e-12, abs=1e-300)
    assert np.linalg.norm(p.grad) <= max_norm * (1 + 1e-9)
    # g times torch's factor min(1, max_norm / (‖g‖ + 1e-6)): same direction, untouched when small
    coef = min(1.0, max_norm / (np.linalg.norm(g) + 1e-6))
    assert np.allclose(p.grad, coef * g, rtol=1e-12, atol=0)
    if np.linalg.norm(g) + 1e-6 <= max_norm:
        assert np.array_equal(p.grad, g)


@settings(max_examples=60, deadline=None)
@given(g=arrays(np.float64, st.integers(1, 8), elements=_finite), c=st.floats(0, 1e3))
def test_property_value_clipping_is_a_componentwise_projection(g, c):
    p = Parameter(np.zeros_like(g))
    p.grad = g.copy()
    clip_grad_value_([p], c)
    assert np.all(np.abs(p.grad) <= c)
    inside = np.abs(g) <= c
    assert np.array_equal(p.grad[inside], g[inside])
    assert np.array_equal(np.sign(p.grad[~inside]), np.sign(g[~inside]) * (c > 0))
