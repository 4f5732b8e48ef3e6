"""Linear regression f_θ(x) = θ₀ + θ₁x fitted by gradient descent (batch, stochastic, mini-batch).

The problem and the notation are those of the PyTorch lecture notes (see docs/references.md).

The least-squares optimum θ* and the constant Hessian H = (2/N) ΦᵀΦ come in closed form, so
each optimizer's end point and its stability bound η < 2/λ_max(H) can be checked exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dlcourse import data, losses, nn
from dlcourse.validation import (
    as_float_array,
    as_rng,
    check_count,
    check_finite,
    check_positive,
    check_same_length,
)


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
    """Φ = [1, x]: the design matrix of f_θ(x) = θᵀ[1, x] (PyTorch lecture notes), shape (N, 2)."""
    return _features(as_float_array(x, "x").reshape(-1))


def _features(x: np.ndarray) -> np.ndarray:
    """Φ = [1, x] for a checked 1-D float x."""
    return np.column_stack([np.ones_like(x), x])


def _check_xy(x, y) -> tuple[np.ndarray, np.ndarray]:
    """(Φ (N, 2), y (N,)) from x and y of N samples each (any shape with N elements: (N,), (N, 1))."""
    x = as_float_array(x, "x").reshape(-1)
    y = as_float_array(y, "y").reshape(-1)
    check_same_length(x, y, "x", "y")
    return _features(x), y


def _check_theta(theta, name: str) -> np.ndarray:
    theta = as_float_array(theta, name, ndim=1)
    if theta.shape != (2,):
        raise ValueError(f"{name} must be (θ₀, θ₁), shape (2,), got {theta.shape}")
    check_finite(theta, name)  # a NaN start would look like a divergence at the first step
    return theta


def _loss_grad(theta: np.ndarray, phi: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """L(θ) and ∇L on checked Φ, y: the chain rule through the MSE, dL/dθ = Φᵀ dL/dŷ."""
    loss, dpred = losses._mse_loss(phi @ theta, y)
    return loss, phi.T @ dpred  # dL/dθ = Σ_n dL/dŷ_n · [1, x_n]


def linreg_loss_grad(theta, x, y) -> tuple[float, np.ndarray]:
    """L(θ) = mean((θ₀ + θ₁x − y)²) and ∇L = Φᵀ dL/dŷ (the chain rule through ``losses.mse_loss``)."""
    phi, y = _check_xy(x, y)
    return _loss_grad(_check_theta(theta, "theta"), phi, y)


def _least_squares(phi: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.linalg.lstsq(phi, y, rcond=None)[0]


def least_squares(x, y) -> np.ndarray:
    """θ* = argmin mean((θ₀ + θ₁x − y)²), the closed form GD should reach."""
    return _least_squares(*_check_xy(x, y))


def linreg_hessian(x) -> np.ndarray:
    """H = ∇²L = (2/N) ΦᵀΦ: constant for the squared loss; GD is stable iff η < 2/λ_max(H)."""
    phi = linreg_features(x)
    return 2.0 * phi.T @ phi / phi.shape[0]


def linreg_gd(x, y, theta0=(10.0, 5.0), lr: float = 0.005, batch_size: int | None = None,
              epochs: int = 1000, tol: float | None = None, optimizer: Callable | None = None,
              rng: np.random.Generator | int | None = 0, scheduler: Callable | None = None) -> GDPath:
    """Fit f_θ(x) = θ₀ + θ₁x by batch (``batch_size=None``), stochastic (1) or mini-batch GD.

    ``optimizer(params)`` builds any :mod:`dlcourse.optim` optimizer (default ``SGD(lr)``).
    Each epoch visits the samples once in a fresh random order drawn from ``rng`` (a Generator
    or a seed); training stops after the first epoch whose excess loss L(θ) − L(θ*) is below
    ``tol`` (None: run every epoch).  ``scheduler(optimizer)`` builds a learning-rate
    schedule, stepped once per epoch.
    """
    from dlcourse.optim import SGD

    phi, y = _check_xy(x, y)
    n = phi.shape[0]
    bs = n if batch_size is None else check_count(batch_size, "batch_size (None: full batch)", high=n)
    lr = check_positive(lr, "lr")
    epochs = check_count(epochs, "epochs")
    tol = None if tol is None else check_positive(tol, "tol", allow_zero=True)
    theta = nn.Parameter(_check_theta(theta0, "theta0"))
    opt = optimizer([theta]) if optimizer is not None else SGD([theta], lr=lr)
    sched = scheduler(opt) if scheduler is not None else None
    l_star = _loss_grad(_least_squares(phi, y), phi, y)[0]
    rng = as_rng(rng)
    thetas, epoch_thetas, curve = [theta.data.copy()], [theta.data.copy()], []
    converged = False
    epoch = 0
    for epoch in range(1, epochs + 1):
        for phi_b, y_b in data._batches(phi, y, bs, rng if bs < n else None):  # a fresh order each epoch
            opt.zero_grad()
            _, g = _loss_grad(theta.data, phi_b, y_b)
            theta.grad = g
            opt.step()
            if not np.all(np.abs(theta.data) < 1e100):  # diverging: stop before the loss overflows
                raise FloatingPointError(f"gradient descent diverged at epoch {epoch} (θ = {theta.data}); lower lr")
            thetas.append(theta.data.copy())
        if sched is not None:
            sched.step()
        epoch_thetas.append(theta.data.copy())
        curve.append(_loss_grad(theta.data, phi, y)[0])
        if tol is not None and curve[-1] - l_star < tol:
            converged = True
            break
    return GDPath(np.array(thetas), np.array(epoch_thetas), np.array(curve), epoch, converged)
