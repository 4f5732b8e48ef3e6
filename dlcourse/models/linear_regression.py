"""Linear regression f_θ(x) = θ₀ + θ₁x fitted by gradient descent (batch, stochastic, mini-batch).

The least-squares optimum θ* and the constant Hessian H = (2/N) ΦᵀΦ come in closed form, so
each optimizer's end point and its stability bound η < 2/λ_max(H) can be checked exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dlcourse import data, losses, nn
from dlcourse.validation import as_float_array, check_positive


@dataclass
class GDPath:
    """θ after every update (``thetas``, the start first), the full-data loss after every epoch,
    and whether the excess loss L(θ) − L(θ*) fell below ``tol``."""

    thetas: np.ndarray
    epoch_thetas: np.ndarray
    losses: np.ndarray
    epochs_run: int
    converged: bool

    @property
    def theta(self) -> np.ndarray:
        return self.thetas[-1]


def linreg_features(x) -> np.ndarray:
    """Φ = [1, x]: the design matrix of f_θ(x) = θᵀ[1, x] (deck 003), shape (N, 2)."""
    x = as_float_array(x, "x").reshape(-1)
    return np.column_stack([np.ones_like(x), x])


def linreg_loss_grad(theta, x, y) -> tuple[float, np.ndarray]:
    """L(θ) = mean((θ₀ + θ₁x − y)²) and ∇L = Φᵀ dL/dŷ (the chain rule through ``losses.mse_loss``)."""
    phi = linreg_features(x)
    y = as_float_array(y, "y").reshape(-1)
    if y.shape[0] != phi.shape[0]:
        raise ValueError(f"x and y must have the same number of samples, got {phi.shape[0]} and {y.shape[0]}")
    loss, dpred = losses.mse_loss(phi @ theta, y)
    return loss, phi.T @ dpred  # dL/dθ = Σ_n dL/dŷ_n · [1, x_n]


def least_squares(x, y) -> np.ndarray:
    """θ* = argmin mean((θ₀ + θ₁x − y)²), the closed form GD should reach."""
    return np.linalg.lstsq(linreg_features(x), as_float_array(y, "y").reshape(-1), rcond=None)[0]


def linreg_hessian(x) -> np.ndarray:
    """H = ∇²L = (2/N) ΦᵀΦ: constant for the squared loss; GD is stable iff η < 2/λ_max(H)."""
    phi = linreg_features(x)
    return 2.0 * phi.T @ phi / phi.shape[0]


def linreg_gd(x, y, theta0=(10.0, 5.0), lr: float = 0.005, batch_size: int | None = None,
              epochs: int = 1000, tol: float | None = None, optimizer: Callable | None = None,
              seed: int = 0, scheduler: Callable | None = None) -> GDPath:
    """Fit f_θ(x) = θ₀ + θ₁x by batch (``batch_size=None``), stochastic (1) or mini-batch GD.

    ``optimizer(params)`` builds any :mod:`dlcourse.optim` optimizer (default ``SGD(lr)``).
    Each epoch visits the samples once in a fresh random order (``seed``); training stops after
    the first epoch whose excess loss L(θ) − L(θ*) is below ``tol`` (None: run every epoch).
    ``scheduler(optimizer)`` builds a learning-rate schedule, stepped once per epoch.
    """
    from dlcourse.optim import SGD

    phi = linreg_features(x)
    y = as_float_array(y, "y").reshape(-1)
    n = phi.shape[0]
    if y.shape[0] != n:
        raise ValueError(f"x and y must have the same number of samples, got {n} and {y.shape[0]}")
    bs = n if batch_size is None else int(batch_size)
    if not 1 <= bs <= n:
        raise ValueError(f"batch_size must be in [1, {n}] or None, got {batch_size}")
    check_positive(lr, "lr")
    theta = nn.Parameter(as_float_array(theta0, "theta0", ndim=1))
    if theta.shape != (2,):
        raise ValueError(f"theta0 must be (θ₀, θ₁), shape (2,), got {theta.shape}")
    opt = optimizer([theta]) if optimizer is not None else SGD([theta], lr=lr)
    sched = scheduler(opt) if scheduler is not None else None
    l_star = linreg_loss_grad(least_squares(x, y), x, y)[0]
    rng = np.random.default_rng(seed)
    thetas, epoch_thetas, curve = [theta.data.copy()], [theta.data.copy()], []
    converged = False
    epoch = 0
    for epoch in range(1, int(epochs) + 1):
        for phi_b, y_b in data.batches(phi, y, bs, shuffle=bs < n, rng=rng):  # a fresh order each epoch
            opt.zero_grad()
            _, g = linreg_loss_grad(theta.data, phi_b[:, 1], y_b)
            theta.grad = g
            opt.step()
            if not np.all(np.abs(theta.data) < 1e100):  # diverging: stop before the loss overflows
                raise FloatingPointError(f"gradient descent diverged at epoch {epoch} (θ = {theta.data}); lower lr")
            thetas.append(theta.data.copy())
        if sched is not None:
            sched.step()
        epoch_thetas.append(theta.data.copy())
        curve.append(linreg_loss_grad(theta.data, x, y)[0])
        if tol is not None and curve[-1] - l_star < tol:
            converged = True
            break
    return GDPath(np.array(thetas), np.array(epoch_thetas), np.array(curve), epoch, converged)
