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


def test_signatures_and_defaults_are_torchs():
    import inspect

    for ours, theirs in [(clip_grad_norm_, torch.nn.utils.clip_grad_norm_),
                         (clip_grad_value_, torch.nn.utils.clip_grad_value_)]:
        mine, t = inspect.signature(ours).parameters, inspect.signature(theirs).parameters
        assert [n for n in t if n != "foreach"] == list(mine)
        for name, param in mine.items():
            assert param.default == t[name].default, name


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
def test_float32_gradients_are_clipped_in_place_and_stay_float32(norm_type):
    rng = np.random.default_rng(5)
    grads = [(4 * rng.normal(size=s)).astype(np.float32) for s in [(3, 4), (5,)]]
    ours = [Parameter(np.zeros_like(g)) for g in grads]
    theirs = [torch.zeros(g.shape, dtype=torch.float32, requires_grad=True) for g in grads]
    for p, t, g in zip(ours, theirs, grads, strict=True):
        p.grad = g.copy()
        t.grad = torch.from_numpy(g.copy())
    arrays = [p.grad for p in ours]
    total = clip_grad_norm_(ours, 1.0, norm_type)
    ref = torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type)
    assert total == pytest.approx(float(ref), rel=1e-6)
    for p, t, a in zip(ours, theirs, arrays, strict=True):
        assert p.grad is a and p.grad.dtype == np.float32  # the same array, rescaled
        assert np.allclose(p.grad, t.grad.numpy(), rtol=1e-6, atol=1e-7)
    for p, t in zip(ours, theirs, strict=True):
        t.grad = torch.from_numpy(p.grad.copy())
    clip_grad_value_(ours, 0.05)
    torch.nn.utils.clip_grad_value_(theirs, 0.05)
    for p, t, a in zip(ours, theirs, arrays, strict=True):
        assert p.grad is a and p.grad.dtype == np.float32
        assert np.array_equal(p.grad, t.grad.numpy())


def test_norm_type_is_validated_and_inf_accepted():
    p = Parameter(np.zeros(2))
    p.grad = np.array([3.0, -4.0])
    assert clip_grad_norm_([p], 100.0, norm_type=float("inf")) == 4.0
    assert clip_grad_norm_([p], 100.0, norm_type=1) == 7.0
    for bad in (0.0, -2.0, float("nan")):
        with pytest.raises(ValueError, match="norm_type"):
            clip_grad_norm_([p], 1.0, norm_type=bad)
    with pytest.raises(TypeError, match="norm_type"):
        clip_grad_norm_([p], 1.0, norm_type="fro")
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm_([p], -1.0)
    with pytest.raises(ValueError, match="clip_value"):
        clip_grad_value_([p], float("inf"))


def test_max_norm_zero_zeroes_the_gradients_as_torch():
    p = Parameter(np.zeros(2))
    p.grad = np.array([3.0, -4.0])
    assert clip_grad_norm_([p], 0.0) == 5.0 and not p.grad.any()


def test_empty_and_zero_size_gradients():
    assert clip_grad_norm_([], 1.0) == 0.0
    e, p = Parameter(np.zeros((0, 3))), Parameter(np.zeros(2))
    p.grad = np.array([30.0, 40.0])
    for norm_type in (2.0, math.inf):
        p.grad = np.array([30.0, 40.0])
        total = clip_grad_norm_([e, p], 5.0, norm_type)
        assert total == (50.0 if norm_type == 2.0 else 40.0)
        assert np.linalg.norm(p.grad, norm_type) == pytest.approx(5.0, rel=1e-6)
    clip_grad_value_([e], 1.0)
    assert e.grad.shape == (0, 3)


def test_nonfinite_norm_clips_without_the_flag():
    p = Parameter(np.zeros(2))
    p.grad = np.array([np.inf, 1.0])
    t = torch.zeros(2, requires_grad=True)
    t.grad = torch.tensor([np.inf, 1.0])
    with np.errstate(invalid="ignore"):  # inf · 0: NaN, as torch gives (error_if_nonfinite=True refuses)
        total = clip_grad_norm_([p], 1.0)
    assert math.isinf(total) and float(torch.nn.utils.clip_grad_norm_([t], 1.0)) == total
    assert p.grad[1] == 0.0 and np.isnan(p.grad[0])  # coef = 1 / (inf + 1e-6) = 0
    assert np.array_equal(p.grad, t.grad.numpy(), equal_nan=True)


# --- zero bounds, the inf norm, float64 accumulation, messages ----------------------------------


def _names(exc: pytest.ExceptionInfo, *names: str) -> bool:
    """Each of ``names`` appears in the message as a word of its own."""
    import re

    return all(re.search(rf"(?<![\w]){re.escape(n)}(?![\w])", str(exc.value)) for n in names)


def test_clipping_names_a_bad_bound_or_order():
    p = Parameter(np.ones(3))
    cases = [
        (lambda: clip_grad_value_(p, -1.0), "clip_value"),
        (lambda: clip_grad_norm_(p, -1.0), "max_norm"),
        (lambda: clip_grad_norm_(p, 1.0, norm_type=0.0), "norm_type"),
        (lambda: clip_grad_norm_(p, 1.0, norm_type=-2.0), "norm_type"),
    ]
    for call, name in cases:
        with pytest.raises(ValueError) as exc:
            call()
        assert _names(exc, name), str(exc.value)


def test_a_zero_bound_zeroes_every_gradient_like_torch():
    g = np.array([3.0, -4.0, 0.5])
    for ours, theirs in [(lambda p: clip_grad_norm_(p, 0.0), lambda t: torch.nn.utils.clip_grad_norm_(t, 0.0)),
                         (lambda p: clip_grad_value_(p, 0.0), lambda t: torch.nn.utils.clip_grad_value_(t, 0.0))]:
        p = Parameter(np.zeros(3))
        p.grad = g.copy()
        t = torch.zeros(3, dtype=torch.float64, requires_grad=True)
        t.grad = torch.tensor(g)
        ours(p)
        theirs(t)
        np.testing.assert_array_equal(p.grad, t.grad.numpy())
        assert not np.any(p.grad)


def test_the_infinity_norm_equals_torch():
    grads = [np.array([3.0, -7.0]), np.array([[1.0, 5.0], [-2.0, 0.5]])]
    params, tensors = [], []
    for g in grads:
        p = Parameter(np.zeros_like(g))
        p.grad = g.copy()
        params.append(p)
        t = torch.zeros(g.shape, dtype=torch.float64, requires_grad=True)
        t.grad = torch.tensor(g)
        tensors.append(t)
    total = clip_grad_norm_(params, 2.0, norm_type=math.inf)
    ref = torch.nn.utils.clip_grad_norm_(tensors, 2.0, norm_type=math.inf)
    assert total == ref.item() == 7.0
    for p, t in zip(params, tensors, strict=True):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-15)


def test_float32_norms_are_combined_in_float64_without_overflow():
    # each gradient's own norm, 1e19, is a float32; their squares sum to 4e38 > float32's max
    params = []
    for _ in range(4):
        p = Parameter(np.zeros(1, dtype=np.float32))
        p.grad = np.array([1e19], dtype=np.float32)
        params.append(p)
    total = clip_grad_norm_(params, 1.0)
    assert total == pytest.approx(2e19, rel=1e-6)


def test_a_non_finite_norm_message_says_how_to_clip_anyway():
    p = Parameter(np.zeros(2))
    p.grad = np.array([np.inf, 1.0])
    with pytest.raises(RuntimeError, match=r"so it cannot be clipped; set error_if_nonfinite=False to clip anyway$"):
        clip_grad_norm_(p, 1.0, error_if_nonfinite=True)


def test_a_foreign_object_among_the_parameters_is_named_with_its_position():
    with pytest.raises(TypeError) as exc:
        clip_grad_norm_([Parameter(np.ones(2)), "w"], 1.0)
    assert _names(exc, "str", "1"), str(exc.value)
