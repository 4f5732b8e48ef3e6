"""Public check cases for exercise 05_regularization (shipped to students).

Oracles, independent of dlcourse.regularization and dlcourse.functional:

* inverted dropout (Srivastava et al., 2014; torch's ``nn.Dropout`` convention, p = probability
  of *dropping*): the rule written out entry by entry — unit kept iff u ≥ p, kept units scaled
  by 1/(1 − p); its backward by central finite differences of that forward;
* the L2-regularised mean squared error (PyTorch lecture notes, see docs/references.md): the loss written out sample by sample,
  its gradient by central finite differences;
* the proximal (ISTA) step of the L1 penalty: the soft-threshold written out entry by entry;
* early stopping (PyTorch lecture notes: keep the model with the lowest validation loss): the rule
  written out epoch by epoch.
"""

from __future__ import annotations

import numpy as np

from dlcourse.autograde.spec import Case
from dlcourse.gradcheck import numerical_gradient

TOPIC = "05_regularization"

HINTS = {
    "inverted_dropout_forward": "Keep unit i iff u_i >= p and scale the kept ones by 1/(1 − p): out = x · (u >= p) / (1 − p). "
                                "In eval mode (training=False) or with p = 0 return x unchanged; with p = 1 return zeros "
                                "(do not divide by 0).",
    "inverted_dropout_backward": "out = x · mask / (1 − p) is linear in x, so dx = dout · mask / (1 − p) "
                                 "(zeros when p = 1).",
    "ridge_loss_and_grad": "r = X @ w + b − y; loss = mean(r²) + (lam/2)·Σ w²; dw = (2/N)·Xᵀr + lam·w; "
                           "db = (2/N)·Σ r (the bias is not penalised). Return (float, (D,) array, float).",
    "l1_proximal_step": "First the gradient step v = w − lr·grad, then soft-threshold with t = lr·lam: "
                        "sign(v)·max(|v| − t, 0).",
    "early_stopping_epochs": "Epochs count from 0. An epoch improves when its loss is finite and < best − min_delta "
                             "(the first finite loss always improves). Count the epochs without improvement since the "
                             "last one; stop at the epoch where that count reaches patience.",
}


# --- oracles: the rules written out, loop by loop ----------------------------------------


def oracle_dropout_forward(x: np.ndarray, u: np.ndarray, p: float, training: bool = True) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    out = np.array(x, dtype=float, copy=True)
    if not training:
        return out  # inverted dropout is the identity at test time
    for idx in np.ndindex(x.shape):
        keep = u[idx] >= p  # m_i ~ Bernoulli(1 − p) when u_i ~ U[0, 1)
        out[idx] = x[idx] / (1.0 - p) if keep else 0.0  # p = 1: every u < 1 is dropped, no 0/0
    return out


def oracle_dropout_backward(dout: np.ndarray, u: np.ndarray, p: float) -> np.ndarray:
    """dL/dx for L(x) = Σ dout ⊙ forward(x, u, p), by central differences of the forward oracle."""
    return numerical_gradient(lambda z: float(np.sum(dout * oracle_dropout_forward(z, u, p))), np.zeros_like(dout))


def keep_mask(u: np.ndarray, p: float) -> np.ndarray:
    """The 0/1 (float) mask of kept units that the forward pass drew: 1 where u >= p."""
    return (np.asarray(u) >= p).astype(float)


def oracle_ridge_loss(w: np.ndarray, b: float, X: np.ndarray, y: np.ndarray, lam: float) -> float:
    n = X.shape[0]
    data = 0.0
    for x_n, y_n in zip(X, y, strict=True):
        r = sum(float(a) * float(c) for a, c in zip(x_n, w, strict=True)) + float(b) - float(y_n)  # residual of sample n
        data += r * r
    return data / n + 0.5 * lam * sum(float(v) * float(v) for v in w)  # mean squared error + (λ/2)‖w‖²


def oracle_ridge(w: np.ndarray, b: float, X: np.ndarray, y: np.ndarray, lam: float) -> tuple[float, np.ndarray, float]:
    loss = oracle_ridge_loss(w, b, X, y, lam)
    dw = numerical_gradient(lambda v: oracle_ridge_loss(v, b, X, y, lam), w, h=1e-5)
    db = float(numerical_gradient(lambda v: oracle_ridge_loss(w, float(v[0]), X, y, lam), np.array([b]), h=1e-5)[0])
    return loss, dw, db


def oracle_prox(w: np.ndarray, grad: np.ndarray, lr: float, lam: float) -> np.ndarray:
    out = np.zeros(np.shape(w))
    t = lr * lam
    for idx in np.ndindex(out.shape):
        v = float(w[idx]) - lr * float(grad[idx])  # gradient step on the smooth part
        out[idx] = v - t if v > t else v + t if v < -t else 0.0  # argmin_z (z − v)²/2 + t|z|
    return out


def oracle_early_stopping(val_losses, patience: int, min_delta: float = 0.0) -> tuple[int, int]:
    best, best_epoch, bad = None, -1, 0
    losses = [float(v) for v in val_losses]
    for epoch, value in enumerate(losses):
        improved = np.isfinite(value) and (best is None or value < best - min_delta)
        if improved:
            best, best_epoch, bad = value, epoch, 0
        else:
            bad += 1
        if bad >= patience:
            return best_epoch, epoch  # training stops after this epoch
    return best_epoch, len(losses) - 1  # never triggered: every epoch was run


# --- cases --------------------------------------------------------------------------------


def cases_inverted_dropout_forward() -> list[Case]:
    x = np.array([[1.0, -2.0, 3.0], [0.5, 4.0, -1.5]])
    u = np.array([[0.9, 0.1, 0.5], [0.49, 0.7, 0.2]])  # with p = 0.5: keep, drop, keep / drop, keep, drop
    rng = np.random.default_rng(5)
    x2, u2 = rng.normal(size=(8, 5)), rng.random((8, 5))
    return [
        Case("2×3 batch, p = 0.5 (u = 0.5 is kept)", args=(x, u, 0.5), expected=oracle_dropout_forward(x, u, 0.5)),
        Case("8×5 batch, p = 0.2", args=(x2, u2, 0.2), expected=oracle_dropout_forward(x2, u2, 0.2)),
        Case("eval mode is the identity", args=(x2, u2, 0.2), kwargs={"training": False},
             expected=oracle_dropout_forward(x2, u2, 0.2, training=False)),
    ]


def cases_inverted_dropout_backward() -> list[Case]:
    rng = np.random.default_rng(6)
    dout = rng.normal(size=(4, 3))
    u = rng.random((4, 3))
    return [
        Case("4×3 upstream gradient, p = 0.3", args=(dout, keep_mask(u, 0.3), 0.3), expected=oracle_dropout_backward(dout, u, 0.3),
             rtol=1e-6, atol=1e-7),
    ]


def cases_ridge_loss_and_grad() -> list[Case]:
    X = np.array([[1.0, 2.0], [0.0, -1.0], [3.0, 0.5]])
    y = np.array([1.0, -2.0, 0.5])
    w, b = np.array([0.5, -0.25]), 0.1
    rng = np.random.default_rng(7)
    X2, y2, w2 = rng.normal(size=(10, 4)), rng.normal(size=10), rng.normal(size=4)
    return [
        Case("3 samples, 2 features, lam = 0 (plain MSE)", args=(w, b, X, y, 0.0), expected=oracle_ridge(w, b, X, y, 0.0),
             rtol=1e-6, atol=1e-7),
        Case("10 samples, 4 features, lam = 0.5", args=(w2, -0.3, X2, y2, 0.5), expected=oracle_ridge(w2, -0.3, X2, y2, 0.5),
             rtol=1e-6, atol=1e-7),
    ]


def cases_l1_proximal_step() -> list[Case]:
    w = np.array([0.5, -0.05, 0.02, -1.0, 0.0])
    grad = np.array([1.0, 0.0, 0.0, -2.0, 0.3])
    rng = np.random.default_rng(8)
    w2, g2 = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    return [
        Case("5 weights, lr = 0.1, lam = 0.5: small ones become exactly 0", args=(w, grad, 0.1, 0.5),
             expected=oracle_prox(w, grad, 0.1, 0.5)),
        Case("a 3×4 weight matrix, lr = 0.05, lam = 2", args=(w2, g2, 0.05, 2.0), expected=oracle_prox(w2, g2, 0.05, 2.0)),
    ]


def cases_early_stopping_epochs() -> list[Case]:
    losses = np.array([1.0, 0.8, 0.7, 0.72, 0.71, 0.75, 0.69, 0.7])
    return [
        Case("patience 2: stops at epoch 4, best epoch 2", args=(losses, 2), expected=oracle_early_stopping(losses, 2)),
        Case("patience 4: the improvement at epoch 6 comes in time", args=(losses, 4), expected=oracle_early_stopping(losses, 4)),
        Case("min_delta = 0.05: small improvements do not count", args=(losses, 4), kwargs={"min_delta": 0.05},
             expected=oracle_early_stopping(losses, 4, 0.05)),
    ]
