"""Activation functions f(z) and their derivatives f'(z), evaluated at the pre-activation z.

All are element-wise, accept any shape, and are numerically stable for large |z|: no overflow
warnings and no NaN up to |z| = 1e4 and beyond (the ESIR lecture's sanity checks at z = −10, 0,
10; see docs/references.md).
"""

from __future__ import annotations

import numpy as np

from dlcourse.validation import as_float_array, check_real

LECUN_A = 1.7159  # LeCun et al. (1998): f(z) = 1.7159 tanh(2z/3), so that f(±1) = ±1
LECUN_B = 2.0 / 3.0


def sigmoid(z) -> np.ndarray:
    """σ(z) = 1 / (1 + e^(−z)), computed without overflow for either sign of z."""
    return _sigmoid(as_float_array(z, "z"))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """:func:`sigmoid` on an already checked float array (for callers that validated z)."""
    e = np.exp(-np.abs(z))  # e^(−|z|) ∈ (0, 1]: never overflows
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_grad(z) -> np.ndarray:
    """σ'(z) = σ(z)(1 − σ(z))."""
    s = _sigmoid(as_float_array(z, "z"))
    return s * (1.0 - s)


def tanh(z) -> np.ndarray:
    """tanh(z) = (e^z − e^(−z)) / (e^z + e^(−z))."""
    return np.tanh(as_float_array(z, "z"))


def tanh_grad(z) -> np.ndarray:
    """tanh'(z) = 1 − tanh²(z)."""
    t = np.tanh(as_float_array(z, "z"))
    return 1.0 - t * t


def relu(z) -> np.ndarray:
    """ReLU(z) = max(0, z)."""
    z = as_float_array(z, "z")
    return np.maximum(z, 0.0)


def relu_grad(z) -> np.ndarray:
    """ReLU'(z) = 1 if z > 0 else 0 (the subgradient 0 at z = 0, as torch uses)."""
    z = as_float_array(z, "z")
    return (z > 0).astype(z.dtype)


def leaky_relu(z, alpha: float = 0.01) -> np.ndarray:
    """LeakyReLU(z) = z if z > 0 else αz."""
    z = as_float_array(z, "z")
    alpha = check_real(alpha, "alpha")  # a NaN α would turn every output at z ≤ 0 into NaN
    return np.where(z > 0, z, alpha * z)


def leaky_relu_grad(z, alpha: float = 0.01) -> np.ndarray:
    """LeakyReLU'(z) = 1 if z > 0 else α."""
    z = as_float_array(z, "z")
    alpha = check_real(alpha, "alpha")  # a NaN α would turn every output at z ≤ 0 into NaN
    return np.where(z > 0, 1.0, alpha).astype(z.dtype)


def elu(z, alpha: float = 1.0) -> np.ndarray:
    """ELU(z) = z if z > 0 else α(e^z − 1)."""
    z = as_float_array(z, "z")
    alpha = check_real(alpha, "alpha")  # a NaN α would turn every output at z ≤ 0 into NaN
    return np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0.0)))  # min(): no overflow in the unused branch


def elu_grad(z, alpha: float = 1.0) -> np.ndarray:
    """ELU'(z) = 1 if z > 0 else α e^z."""
    z = as_float_array(z, "z")
    alpha = check_real(alpha, "alpha")  # a NaN α would turn every output at z ≤ 0 into NaN
    return np.where(z > 0, 1.0, alpha * np.exp(np.minimum(z, 0.0))).astype(z.dtype)


def lecun_tanh(z) -> np.ndarray:
    """LeCun's scaled tanh: 1.7159 · tanh(2z/3)."""
    z = as_float_array(z, "z")
    return LECUN_A * np.tanh(LECUN_B * z)


def lecun_tanh_grad(z) -> np.ndarray:
    """d/dz 1.7159 tanh(2z/3) = 1.7159 · 2/3 · (1 − tanh²(2z/3))."""
    z = as_float_array(z, "z")
    t = np.tanh(LECUN_B * z)
    return LECUN_A * LECUN_B * (1.0 - t * t)


ACTIVATIONS = {
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
    "relu": (relu, relu_grad),
    "leaky_relu": (leaky_relu, leaky_relu_grad),
    "elu": (elu, elu_grad),
    "lecun_tanh": (lecun_tanh, lecun_tanh_grad),
}
