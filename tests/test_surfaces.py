"""dlcourse.lecture.surfaces: values and gradients against torch autograd; trajectories against plain loops."""

import numpy as np
import pytest
import torch

from dlcourse.data import linear_regression
from dlcourse.lecture import surfaces
from dlcourse.optim import SGD, Adam, clip_grad_norm_

TORCH_F = {
    "quadratic": None,  # checked through its Hessian below
    "rosenbrock": lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2,
    "saddle": lambda x, y: 0.5 * x * x - 0.5 * y * y + 0.25 * y**4,
    "cliff": lambda x, y: 0.5 * (x - 3) ** 2 + 0.5 * y * y + 4 * torch.sigmoid(40 * (x - 1)),
}


@pytest.mark.parametrize("name", ["rosenbrock", "saddle", "cliff"])
def test_value_and_gradient_equal_torch_autograd(name):
    s = surfaces.get(name)
    rng = np.random.default_rng(0)
    for _ in range(20):
        p = rng.uniform([s.xlim[0], s.ylim[0]], [s.xlim[1], s.ylim[1]])
        x, y = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in p)
        f = TORCH_F[name](x, y)
        f.backward()
        assert s.value(p) == pytest.approx(f.item(), rel=1e-12, abs=1e-12)
        assert np.allclose(s.grad(p), [x.grad.item(), y.grad.item()], rtol=1e-10, atol=1e-10)


def test_quadratic_is_half_theta_h_theta():
    s = surfaces.quadratic(condition=10, angle=0.5, scale=2.0)
    H = np.array([s.grad([1.0, 0.0]), s.grad([0.0, 1.0])]).T  # ∇f = Hθ, column by column
    assert np.allclose(H, H.T)
    assert np.allclose(np.linalg.eigvalsh(H), [2.0, 20.0])
    t = np.array([0.3, -1.2])
    assert s.value(t) == pytest.approx(0.5 * t @ H @ t)


def test_linreg_surface_is_the_mse_and_its_minimum_the_least_squares_fit():
    x, y = linear_regression(rng=0)
    s = surfaces.linreg_surface(x, y)
    t = np.array([1.5, 2.5])
    assert s.value(t) == pytest.approx(np.mean((t[0] + t[1] * x - y) ** 2))
    ls = np.linalg.lstsq(np.column_stack([np.ones(30), x.ravel()]), y.ravel(), rcond=None)[0]
    assert np.allclose(s.minimum, ls)
    assert np.allclose(s.grad(ls), 0, atol=1e-10)
    T0, T1 = np.meshgrid([0.0, 1.0], [2.0, 3.0])
    assert np.allclose(s.value(T0, T1), [[s.value([a, b]) for a, b in zip(r0, r1, strict=True)]
                                         for r0, r1 in zip(T0, T1, strict=True)])


def test_trajectory_equals_a_plain_loop():
    s = surfaces.rosenbrock()
    path = surfaces.trajectory(lambda p: SGD(p, lr=1e-3, momentum=0.9), s, start=(-1.0, 2.0), steps=50)
    theta, v = np.array([-1.0, 2.0]), np.zeros(2)
    assert np.array_equal(path[0], theta)
    for k in range(50):
        v = 0.9 * v + s.grad(theta) if k else s.grad(theta)  # torch's buffer: b₁ = g₁
        theta = theta - 1e-3 * v
        assert np.allclose(path[k + 1], theta, rtol=0, atol=1e-12)


def test_trajectory_clipping_bounds_every_step():
    s = surfaces.cliff()
    free = surfaces.trajectory(lambda p: SGD(p, lr=0.1), s, steps=100)
    clipped = surfaces.trajectory(lambda p: SGD(p, lr=0.1), s, steps=100, clip_norm=1.0)
    steps_free = np.linalg.norm(np.diff(free, axis=0), axis=1)
    steps_clip = np.linalg.norm(np.diff(clipped, axis=0), axis=1)
    assert steps_clip.max() <= 0.1 + 1e-9
    assert steps_free.max() > 10 * steps_clip.max()  # the wall's gradient catapults the free run
    # same as clipping by hand
    theta = np.array(s.start)
    from dlcourse.nn import Parameter
    p = Parameter(theta)
    for k in range(5):
        p.grad = s.grad(p.data)
        clip_grad_norm_([p], 1.0)
        p.data = p.data - 0.1 * p.grad
        assert np.allclose(clipped[k + 1], p.data)


def test_trajectory_with_scheduler_and_divergence():
    s = surfaces.quadratic()
    from dlcourse.optim.schedules import StepLR
    path = surfaces.trajectory(lambda p: Adam(p, lr=0.1), s, steps=30, scheduler_factory=lambda o: StepLR(o, 10, 0.5))
    assert path.shape == (31, 2) and s.value(path[-1]) < s.value(path[0])
    with pytest.raises(FloatingPointError, match="lower the learning rate"):
        surfaces.trajectory(lambda p: SGD(p, lr=0.5), "rosenbrock", steps=200)


def test_bad_input():
    with pytest.raises(ValueError, match="unknown surface"):
        surfaces.get("himmelblau")
    with pytest.raises(ValueError, match=r"\(2,\)"):
        surfaces.trajectory(lambda p: SGD(p, lr=0.1), "saddle", start=(1.0, 2.0, 3.0))
    with pytest.raises(ValueError):
        surfaces.quadratic(condition=-1)
    with pytest.raises(ValueError, match="steps"):
        surfaces.trajectory(lambda p: SGD(p, lr=0.1), "saddle", steps=-1)
