"""Public check cases for exercise 02_backprop (shipped to students).

Oracle: central finite differences of the scalar each backward pass differentiates (float64,
h = 1e-6), on forward passes written out here.  The hidden cases use torch autograd instead.
"""

from __future__ import annotations

import numpy as np

from dlcourse.autograde.spec import Case
from dlcourse.gradcheck import numerical_gradient

TOPIC = "02_backprop"

HINTS = {
    "sigmoid_backward": "dz = dout · σ(z)(1 − σ(z)); compute σ(z) without overflow for large |z| "
                        "(e.g. with np.exp(-np.abs(z))).",
    "linear_backward": "For out = x Wᵀ + b: dx = dout W (N, in), dW = doutᵀ x (out, in), db = Σ_n dout_n (out,).",
    "two_layer_grads": "dZ2 = (A2 − Y) / N, dW2 = dZ2ᵀ A1, db2 = Σ_n dZ2, dZ1 = (dZ2 W2) ⊙ (1 − A1²), "
                       "dW1 = dZ1ᵀ X, db1 = Σ_n dZ1; the loss is the mean binary cross-entropy.",
}

_H = 1e-6


def fd_grad(f, x: np.ndarray, h: float = _H) -> np.ndarray:
    """∂f/∂x by central differences on a float64 copy of x."""
    return numerical_gradient(f, np.array(x, dtype=np.float64), h=h)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # σ(z) = (1 + tanh(z/2)) / 2: no overflow


def two_layer_loss(X, Y, W1, b1, W2, b2) -> float:
    """Mean BCE of the 2-layer net tanh -> sigmoid, from the logits (stable)."""
    Z2 = np.tanh(X @ W1.T + b1) @ W2.T + b2
    # −[y log σ(z) + (1 − y) log(1 − σ(z))] = softplus(z) − y z, with softplus(z) = log(1 + e^z)
    return float(np.mean(np.logaddexp(0.0, Z2) - Y * Z2))


def fd_two_layer(X, Y, W1, b1, W2, b2):
    params = [W1, b1, W2, b2]

    def grad_of(k):
        def f(p):
            ps = list(params)
            ps[k] = p
            return two_layer_loss(X, Y, *ps)
        return fd_grad(f, params[k])

    dW1, db1, dW2, db2 = (grad_of(k) for k in range(4))
    return two_layer_loss(X, Y, *params), dW1, db1, dW2, db2


def two_layer_problem(n: int, d: int, h: int, seed: int, scale: float = 0.5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    Y = (rng.random((n, 1)) < 0.5).astype(np.float64)
    W1, b1 = scale * rng.normal(size=(h, d)), 0.1 * rng.normal(size=h)
    W2, b2 = scale * rng.normal(size=(1, h)), 0.1 * rng.normal(size=1)
    return X, Y, W1, b1, W2, b2


def cases_sigmoid_backward() -> list[Case]:
    z = np.array([-10.0, -1.0, 0.0, 1.0, 10.0])  # the ESIR lecture's sanity points (docs/references.md)
    dout = np.ones_like(z)
    rng = np.random.default_rng(3)
    z2, dout2 = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    return [
        Case("σ'(z) at z = −10, −1, 0, 1, 10 (dout = 1)", args=(dout, z),
             expected=fd_grad(lambda v: float(np.sum(dout * _sigmoid(v))), z), rtol=1e-6, atol=1e-9),
        Case("a (4, 3) batch with upstream gradient", args=(dout2, z2),
             expected=fd_grad(lambda v: float(np.sum(dout2 * _sigmoid(v))), z2), rtol=1e-6, atol=1e-9),
    ]


def cases_linear_backward() -> list[Case]:
    rng = np.random.default_rng(4)
    x, w, b = rng.normal(size=(5, 3)), rng.normal(size=(2, 3)), rng.normal(size=2)
    dout = rng.normal(size=(5, 2))

    def loss(x_, w_, b_):  # L = Σ dout ⊙ (x Wᵀ + b): its gradients are the backward pass
        return float(np.sum(dout * (x_ @ w_.T + b_)))

    expected = (fd_grad(lambda v: loss(v, w, b), x), fd_grad(lambda v: loss(x, v, b), w),
                fd_grad(lambda v: loss(x, w, v), b))
    return [Case("N = 5, in = 3, out = 2", args=(dout, x, w), expected=expected, rtol=1e-6, atol=1e-8)]


def cases_two_layer_grads() -> list[Case]:
    problem = two_layer_problem(n=6, d=2, h=3, seed=5)
    return [Case("N = 6, D = 2, H = 3", args=problem, expected=fd_two_layer(*problem), rtol=1e-5, atol=1e-8)]
