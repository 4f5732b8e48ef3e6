"""Radial-basis-function network (Broomhead & Lowe, 1988; PyTorch lecture notes, docs/references.md).

φ(x) = (1, exp(−‖x − μ_0‖² / 2σ²), …, exp(−‖x − μ_{K−1}‖² / 2σ²)) and ŷ = wᵀφ(x): a linear
model on fixed Gaussian features ("two phases": place the centres, then fit the weights).
With one kernel per training sample (μ_j = x_j) the network can interpolate any N points —
the lecture notes' example of over-fitting that an L2 penalty cures.

Objective (regression, the notes' L2 loss summed over the samples):
J(w) = Σ_i (y_i − wᵀφ(x_i))² + (α/2)‖w̃‖² + λ₁‖w̃‖₁, where w̃ is w without the bias weight w_0:
the bias is not penalised (the notes: penalising it only biases the fit).  With this scaling the
notes' α = 2 is a moderate penalty for N = 30.
"""

from __future__ import annotations

import numpy as np

from dlcourse.regularization import elastic_net_penalty, soft_threshold
from dlcourse.validation import (
    as_float_array,
    as_rng,
    check_count,
    check_positive,
    check_same_length,
)


def rbf_features(X, centers, sigma: float, bias: bool = True) -> np.ndarray:
    """Φ (N, K[+1]): Φ_ij = exp(−‖x_i − μ_j‖² / (2σ²)), preceded by a column of ones if ``bias``."""
    centers = _as_2d(centers, "centers")
    return _features(_check_X(X, centers), centers, check_positive(sigma, "sigma"), bool(bias))


def _check_X(X, centers: np.ndarray) -> np.ndarray:
    X = _as_2d(X, "X")
    if X.shape[1] != centers.shape[1]:
        raise ValueError(f"X has {X.shape[1]} features but centers have {centers.shape[1]}: "
                         "both must be points of the same space")
    return X


def _features(X: np.ndarray, centers: np.ndarray, sigma: float, bias: bool) -> np.ndarray:
    """Φ of :func:`rbf_features` on checked inputs."""
    sq = ((X[:, None, :] - centers[None, :, :]) ** 2).sum(axis=-1)  # ‖x_i − μ_j‖², (N, K)
    phi = np.exp(-sq / (2.0 * sigma**2))
    return np.hstack([np.ones((X.shape[0], 1)), phi]) if bias else phi


def _as_2d(X, name: str) -> np.ndarray:
    X = as_float_array(X, name, ndim=(1, 2))
    return X[:, None] if X.ndim == 1 else X


class RBFNetwork:
    """Gaussian kernels at fixed ``centers`` (K, d) of common width ``sigma``, and a linear output."""

    def __init__(self, centers, sigma: float = 0.1, bias: bool = True) -> None:
        self.centers = _as_2d(centers, "centers")
        self.sigma = check_positive(sigma, "sigma")
        self.bias = bool(bias)
        self.weights = np.zeros(self.centers.shape[0] + self.bias)

    def features(self, X) -> np.ndarray:
        """Φ(X) (N, K[+1]) on this network's centres (checked once, in ``__init__``)."""
        return _features(_check_X(X, self.centers), self.centers, self.sigma, self.bias)

    def predict(self, X) -> np.ndarray:
        """ŷ = Φ w."""
        return self.features(X) @ self.weights

    @property
    def kernel_weights(self) -> np.ndarray:
        """w̃: the weights of the kernels (the bias weight left out), the penalised ones."""
        return self.weights[1:] if self.bias else self.weights

    def _targets(self, X, y) -> tuple[np.ndarray, np.ndarray]:
        X = _check_X(X, self.centers)
        y = as_float_array(y, "y", ndim=1)
        check_same_length(X, y, "X", "y")
        return _features(X, self.centers, self.sigma, self.bias), y

    def _penalised(self) -> np.ndarray:
        mask = np.ones_like(self.weights)
        if self.bias:
            mask[0] = 0.0  # the bias weight is not regularised
        return mask

    def loss(self, X, y, alpha: float = 0.0, l1: float = 0.0) -> float:
        """J(w) = ‖y − Φw‖² + (α/2)‖w̃‖² + l1‖w̃‖₁."""
        phi, y = self._targets(X, y)
        return self._objective(phi, y, self.weights, alpha, l1)

    def _objective(self, phi: np.ndarray, y: np.ndarray, w: np.ndarray, alpha: float, l1: float) -> float:
        """J(w) on features Φ computed once (the elastic-net penalty skips the bias weight w_0)."""
        penalty, _ = elastic_net_penalty(w[1:] if self.bias else w, l1, alpha)  # l1‖w̃‖₁ + (α/2)‖w̃‖²
        return float(np.sum((y - phi @ w) ** 2)) + penalty

    def fit(self, X, y, alpha: float = 0.0) -> RBFNetwork:
        """Closed-form minimiser of J with l1 = 0 (ridge / Tikhonov).

        ∇J = 2 Φᵀ(Φw − y) + α D w = 0  ⇔  (ΦᵀΦ + (α/2) D) w = Φᵀ y, D = diag(penalised).
        Solved as the least-squares problem [Φ; √(α/2) D] w ≈ [y; 0], which also gives the
        minimum-norm interpolant when α = 0 and ΦᵀΦ is (nearly) singular.
        """
        alpha = check_positive(alpha, "alpha", allow_zero=True)
        phi, y = self._targets(X, y)
        rows = np.sqrt(alpha / 2.0) * np.diag(self._penalised())
        A = np.vstack([phi, rows])
        b = np.concatenate([y, np.zeros(rows.shape[0])])
        self.weights = np.linalg.lstsq(A, b, rcond=None)[0]
        return self

    def fit_gd(
        self, X, y, alpha: float = 0.0, l1: float = 0.0, lr: float | None = None, steps: int = 5000, rng=None
    ) -> list[float]:
        """Full-batch proximal gradient descent (ISTA) on J; returns the loss after every step.

        w ← prox_{ε l1 ‖·‖₁}(w − ε ∇[‖y − Φw‖² + (α/2)‖w̃‖²]); the L2 part of the step is
        weight decay, (1 − εα) w̃ − ε ∇L, and the prox (soft-thresholding) sets weights exactly to
        zero.  Default ε = 1/Lip, Lip = 2 λ_max(ΦᵀΦ) + α.  ``rng`` only draws the start point
        (zeros when None).
        """
        alpha = check_positive(alpha, "alpha", allow_zero=True)
        l1 = check_positive(l1, "l1", allow_zero=True)
        phi, y = self._targets(X, y)
        if lr is None:
            lr = 1.0 / (2.0 * np.linalg.eigvalsh(phi.T @ phi).max() + alpha)
        lr = check_positive(lr, "lr")
        pen = self._penalised()
        steps = check_count(steps, "steps", allow_zero=True)
        w = np.zeros(phi.shape[1]) if rng is None else 0.01 * as_rng(rng).standard_normal(phi.shape[1])
        history = []
        for _ in range(steps):
            grad = 2.0 * phi.T @ (phi @ w - y) + alpha * pen * w  # ∇ of the smooth part
            w = w - lr * grad
            w = np.asarray(np.where(pen > 0, soft_threshold(w, lr * l1), w))  # prox of ε l1‖w̃‖₁
            history.append(self._objective(phi, y, w, alpha, l1))  # Φ is fixed: not recomputed per step
        if history:
            self.weights = np.asarray(w)
        return history


