"""Two-dimensional loss surfaces, and optimizer trajectories on them (notebooks 03-04).

Each :class:`Surface` gives the value f(x, y) (vectorised, for contour grids), the gradient
∇f at a point, a plotting window and its minimiser.  :func:`trajectory` runs *any*
:mod:`dlcourse.optim` optimizer on a 2-D :class:`~dlcourse.nn.Parameter` θ = (x, y), so the
paths drawn in the notebooks are produced by the same code that trains networks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dlcourse.nn import Parameter
from dlcourse.validation import (
    as_float_array,
    check_choice,
    check_count,
    check_positive,
    check_real,
    check_same_length,
    check_shape,
)

__all__ = ["Surface", "quadratic", "rosenbrock", "saddle", "cliff", "linreg_surface", "SURFACES", "get",
           "trajectory"]


@dataclass(frozen=True)
class Surface:
    """A differentiable f: R² → R with a plotting window ``xlim`` × ``ylim``."""

    name: str
    f: Callable[[np.ndarray, np.ndarray], np.ndarray]
    df: Callable[[float, float], tuple[float, float]]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    minimum: tuple[float, float] | None = None
    start: tuple[float, float] = (0.0, 0.0)
    xlabel: str = r"$\theta_1$"
    ylabel: str = r"$\theta_2$"

    def value(self, x, y=None):
        """f(x, y) element-wise for arrays (a grid), or f(θ) for a single θ = (x, y)."""
        if y is None:
            theta = as_float_array(x, "theta")
            check_shape(theta, (2,), "theta (a point (x, y))")
            return float(self.f(theta[0], theta[1]))
        return self.f(np.asarray(x, dtype=float), np.asarray(y, dtype=float))

    def grad(self, theta) -> np.ndarray:
        """∇f(θ) as an array of shape (2,)."""
        theta = as_float_array(theta, "theta")
        check_shape(theta, (2,), "theta (a point (x, y))")
        return np.array(self.df(theta[0], theta[1]), dtype=float)

    def grid(self, n: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(X, Y, Z) on an n × n grid over the window, for ``contour``."""
        X, Y = np.meshgrid(np.linspace(*self.xlim, n), np.linspace(*self.ylim, n))
        return X, Y, self.value(X, Y)


def quadratic(condition: float = 20.0, angle: float = 0.0, scale: float = 1.0) -> Surface:
    """f(θ) = ½ θᵀ H θ with H = scale · R(angle) diag(1, condition) R(angle)ᵀ: an ill-conditioned bowl.

    Gradient descent converges only for η < 2/λ_max = 2/(scale·condition), and then at a rate
    set by the *small* curvature: the zig-zag that momentum damps.
    """
    condition, scale = check_positive(condition, "condition"), check_positive(scale, "scale")
    angle = check_real(angle, "angle")
    c, s = np.cos(angle), np.sin(angle)
    R = np.array([[c, -s], [s, c]])
    H = scale * R @ np.diag([1.0, float(condition)]) @ R.T  # Hessian, symmetric positive definite

    def f(x, y):
        return 0.5 * (H[0, 0] * x * x + 2 * H[0, 1] * x * y + H[1, 1] * y * y)

    def df(x, y):
        return H[0, 0] * x + H[0, 1] * y, H[1, 0] * x + H[1, 1] * y  # ∇f = H θ

    return Surface(f"quadratic (κ = {condition:g})", f, df, (-2.5, 2.5), (-1.5, 1.5), (0.0, 0.0), (-2.0, 1.0))


def rosenbrock(a: float = 1.0, b: float = 100.0) -> Surface:
    """f = (a − x)² + b (y − x²)², a curved narrow valley with its minimum at (a, a²)."""
    a, b = check_real(a, "a"), check_real(b, "b")

    def f(x, y):
        return (a - x) ** 2 + b * (y - x**2) ** 2

    def df(x, y):
        return -2 * (a - x) - 4 * b * x * (y - x**2), 2 * b * (y - x**2)

    return Surface("Rosenbrock", f, df, (-2.0, 2.0), (-1.0, 3.0), (a, a * a), (-1.5, 2.0))


def saddle() -> Surface:
    """f = ½ x² − ½ y² + ¼ y⁴: a saddle at the origin between two minima (0, ±1).

    Started on the ridge (y ≈ 0), plain gradient descent crawls away from the saddle at rate
    (1 + η)^k from a tiny y; momentum and adaptive methods leave it much sooner.
    """

    def f(x, y):
        return 0.5 * x * x - 0.5 * y * y + 0.25 * y**4

    def df(x, y):
        return x, -y + y**3

    return Surface("saddle", f, df, (-2.0, 2.0), (-1.6, 1.6), (0.0, 1.0), (-1.8, 1e-3))


def cliff(height: float = 4.0, steepness: float = 40.0, position: float = 1.0) -> Surface:
    """A bowl cut by a steep wall (Pascanu et al., 2013): f = ½ (x − 3)² + ½ y² + h σ(s (x − c)).

    Descending toward x = 3 one meets the wall at x = c, where the gradient reaches h·s/4:
    one unclipped step there catapults θ far back; a clipped step stays at the foot of the cliff.
    """
    height, steepness = check_positive(height, "height"), check_positive(steepness, "steepness")
    position = check_real(position, "position")

    def sig(z):
        return 0.5 * (1 + np.tanh(0.5 * z))  # σ(z), without overflow

    def f(x, y):
        return 0.5 * (x - 3) ** 2 + 0.5 * y * y + height * sig(steepness * (x - position))

    def df(x, y):
        s = sig(steepness * (x - position))
        return (x - 3) + height * steepness * s * (1 - s), y  # σ' = σ(1 − σ)

    return Surface("cliff", f, df, (-6.0, 3.0), (-1.5, 1.5), None, (-1.0, 1.0))


def linreg_surface(x, y, xlim=(-1.0, 11.0), ylim=(-1.0, 7.0)) -> Surface:
    """The loss L(θ₀, θ₁) = mean((θ₀ + θ₁ x − y)²) of the regression
    in the PyTorch lecture notes (see docs/references.md), as a surface in θ."""
    from dlcourse.models.linear_regression import linreg_features

    x = as_float_array(x, "x").reshape(-1)
    y = as_float_array(y, "y").reshape(-1)
    check_same_length(x, y, "x", "y")
    # expand to a quadratic in θ once: L = θᵀ A θ − 2 bᵀθ + c, with A = mean(ΦᵀΦ) — cheap on grids
    phi = linreg_features(x)  # Φ = [1, x]
    A, b, c = phi.T @ phi / x.size, phi.T @ y / x.size, float(y @ y / x.size)

    def f(t0, t1):
        return A[0, 0] * t0 * t0 + 2 * A[0, 1] * t0 * t1 + A[1, 1] * t1 * t1 - 2 * (b[0] * t0 + b[1] * t1) + c

    def df(t0, t1):
        return 2 * (A[0, 0] * t0 + A[0, 1] * t1 - b[0]), 2 * (A[1, 0] * t0 + A[1, 1] * t1 - b[1])

    minimum = tuple(np.linalg.solve(A, b))
    return Surface("linear regression loss", f, df, tuple(xlim), tuple(ylim), minimum, (10.0, 5.0),
                   r"$\theta_0$ (intercept)", r"$\theta_1$ (slope)")


SURFACES: dict[str, Callable[[], Surface]] = {
    "quadratic": quadratic, "rosenbrock": rosenbrock, "saddle": saddle, "cliff": cliff,
}


def get(surface: str | Surface) -> Surface:
    """A surface by name (``SURFACES``, default arguments) or the Surface itself."""
    if isinstance(surface, Surface):
        return surface
    return SURFACES[check_choice(surface, SURFACES, "surface")]()


def trajectory(optimizer_factory: Callable, surface: str | Surface, start=None, steps: int = 100,
               *, clip_value: float | None = None, clip_norm: float | None = None,
               scheduler_factory: Callable | None = None) -> np.ndarray:
    """Run ``optimizer_factory([θ])`` for ``steps`` steps on ``surface`` from ``start``.

    Returns the path, shape (steps + 1, 2), starting point first.  ``clip_value`` / ``clip_norm``
    clip ∇f before each step; ``scheduler_factory(optimizer)`` adds a schedule stepped each step.
    Raises FloatingPointError when θ or ∇f becomes non-finite (the run diverged).
    """
    from dlcourse.optim import clip_grad_norm_, clip_grad_value_

    surface = get(surface)
    steps = check_count(steps, "steps", allow_zero=True)
    start = as_float_array(surface.start if start is None else start, "start")
    check_shape(start, (2,), "start (a point (x, y))")
    theta = Parameter(start)
    opt = optimizer_factory([theta])
    sched = scheduler_factory(opt) if scheduler_factory is not None else None
    path = np.empty((steps + 1, 2))
    path[0] = theta.data
    for k in range(1, steps + 1):
        opt.zero_grad()
        with np.errstate(over="ignore", invalid="ignore"):  # a blow-up is reported just below
            g = surface.grad(theta.data)
        if not np.all(np.isfinite(g)):
            raise FloatingPointError(f"the gradient on {surface.name} overflowed at step {k} "
                                     f"(θ = {theta.data}); lower the learning rate")
        theta.grad = g
        if clip_value is not None:
            clip_grad_value_([theta], clip_value)
        if clip_norm is not None:
            clip_grad_norm_([theta], clip_norm)
        opt.step()
        if sched is not None:
            sched.step()
        if not np.all(np.isfinite(theta.data)):
            raise FloatingPointError(f"the trajectory on {surface.name} diverged at step {k} "
                                     f"(θ = {theta.data}); lower the learning rate")
        path[k] = theta.data
    return path
