"""Hidden grading cases for exercise 05_regularization (never shipped to students).

Other shapes, seeds and edge cases than the public checks.  Oracles: torch in float64 where it
has the operation (autograd for the dropout backward and the ridge gradient, ``F.softshrink``
for the soft-threshold, ``F.cross_entropy(label_smoothing=...)`` and autograd for label
smoothing), else the rules written out in the public module; the noise layer by the statistics of
the noise it added.
"""

from __future__ import annotations

import numpy as np

from dlcourse.autograde.cases.c05_regularization import (
    keep_mask,
    noise_validator,
    oracle_dropout_forward,
    oracle_early_stopping,
)
from dlcourse.autograde.spec import Case, Rng

TOPIC = "05_regularization"

#: the logits of the hidden label-smoothing case that only a closed-form gradient computes within the CPU limit
LARGE = (64, 4096)
#: (N, d) of the hidden ridge case: finite differences need d + 1 passes of O(N·d) each
LARGE_RIDGE = (16, 65536)


def torch_dropout_backward(dout: np.ndarray, u: np.ndarray, p: float) -> np.ndarray:
    """Autograd through out = x ⊙ m / (1 − p), m = [u >= p] (torch's inverted dropout with a given mask)."""
    import torch

    x = torch.zeros(dout.shape, dtype=torch.float64, requires_grad=True)
    m = torch.as_tensor(u >= p, dtype=torch.float64)
    out = x * m / (1.0 - p) if p < 1.0 else x * 0.0
    out.backward(torch.as_tensor(dout, dtype=torch.float64))
    return x.grad.numpy().copy()


def torch_ridge(w: np.ndarray, b: float, X: np.ndarray, y: np.ndarray, lam: float) -> tuple[float, np.ndarray, float]:
    """F.mse_loss(X w + b, y) + (λ/2)‖w‖² and its gradient by autograd, float64."""
    import torch
    import torch.nn.functional as F

    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    bt = torch.tensor(float(b), dtype=torch.float64, requires_grad=True)
    Xt, yt = torch.as_tensor(X, dtype=torch.float64), torch.as_tensor(y, dtype=torch.float64)
    loss = F.mse_loss(Xt @ wt + bt, yt) + 0.5 * lam * (wt * wt).sum()
    loss.backward()
    return float(loss.detach()), wt.grad.numpy().copy(), float(bt.grad)


def torch_prox(w: np.ndarray, grad: np.ndarray, lr: float, lam: float) -> np.ndarray:
    """softshrink(w − lr·grad, lr·lam): torch's soft-threshold."""
    import torch
    import torch.nn.functional as F

    v = torch.as_tensor(w, dtype=torch.float64) - lr * torch.as_tensor(grad, dtype=torch.float64)
    if lr * lam == 0.0:
        return v.numpy().copy()
    return F.softshrink(v, lr * lam).numpy().copy()


def cases_inverted_dropout_forward() -> list[Case]:
    rng = np.random.default_rng(501)
    x, u = rng.normal(size=(6, 7)), rng.random((6, 7))
    x3, u3 = rng.normal(size=(2, 3, 4)), rng.random((2, 3, 4))
    x1, u1 = rng.normal(size=(5,)), rng.random(5)
    return [
        # weight 3: these two test the rescaling itself, which the edge cases below cannot tell apart
        Case("6×7 batch, p = 0.8 (most units dropped)", args=(x, u, 0.8), expected=oracle_dropout_forward(x, u, 0.8),
             weight=3.0),
        Case("a (2, 3, 4) activation tensor, p = 0.5", args=(x3, u3, 0.5), expected=oracle_dropout_forward(x3, u3, 0.5),
             weight=3.0),
        Case("p = 0 keeps everything, unscaled", args=(x, u, 0.0), expected=oracle_dropout_forward(x, u, 0.0)),
        Case("p = 1 drops everything (no division by zero)", args=(x1, u1, 1.0), expected=oracle_dropout_forward(x1, u1, 1.0)),
        Case("eval mode with p = 0.8 is the identity", args=(x3, u3, 0.8), kwargs={"training": False},
             expected=oracle_dropout_forward(x3, u3, 0.8, training=False)),
    ]


def cases_inverted_dropout_backward() -> list[Case]:
    rng = np.random.default_rng(502)
    d1, u1 = rng.normal(size=(10, 6)), rng.random((10, 6))
    d2, u2 = rng.normal(size=(2, 2, 5)), rng.random((2, 2, 5))
    d3 = rng.normal(size=(3, 2))
    return [
        Case("10×6, p = 0.5", args=(d1, keep_mask(u1, 0.5), 0.5), expected=torch_dropout_backward(d1, u1, 0.5)),
        Case("a (2, 2, 5) tensor, p = 0.1", args=(d2, keep_mask(u2, 0.1), 0.1), expected=torch_dropout_backward(d2, u2, 0.1)),
        Case("p = 1: nothing flows back", args=(d3, np.zeros((3, 2)), 1.0),
             expected=torch_dropout_backward(d3, np.zeros((3, 2)), 1.0)),
    ]


def cases_ridge_loss_and_grad() -> list[Case]:
    rng = np.random.default_rng(503)
    X, y, w = rng.normal(size=(25, 6)), rng.normal(size=25), rng.normal(size=6)
    X1, y1 = np.array([[2.0]]), np.array([3.0])  # one sample, one feature
    Xb, yb, wb = 10.0 + rng.normal(size=(7, 3)), 100.0 + rng.normal(size=7), rng.normal(size=3)  # large offsets
    Xl, yl = rng.normal(size=LARGE_RIDGE), rng.normal(size=LARGE_RIDGE[0])
    wl = rng.normal(size=LARGE_RIDGE[1]) / np.sqrt(LARGE_RIDGE[1])
    return [
        Case("25 samples, 6 features, lam = 0.1", args=(w, 0.7, X, y, 0.1), expected=torch_ridge(w, 0.7, X, y, 0.1)),
        Case("one sample, one feature, lam = 2", args=(np.array([-0.5]), 0.0, X1, y1, 2.0),
             expected=torch_ridge(np.array([-0.5]), 0.0, X1, y1, 2.0)),
        Case("large offsets in X and y, lam = 10", args=(wb, 5.0, Xb, yb, 10.0), expected=torch_ridge(wb, 5.0, Xb, yb, 10.0)),
        Case(f"N = {LARGE_RIDGE[0]} samples, d = {LARGE_RIDGE[1]} features, lam = 0.01", args=(wl, -0.2, Xl, yl, 0.01),
             expected=torch_ridge(wl, -0.2, Xl, yl, 0.01),
             hint="Derive the gradient as a matrix product: a numerical gradient is far too slow for many features."),
    ]


def cases_l1_proximal_step() -> list[Case]:
    rng = np.random.default_rng(504)
    w, g = rng.normal(size=40), rng.normal(size=40)
    w3, g3 = rng.normal(size=(2, 3, 2)), rng.normal(size=(2, 3, 2))
    wz = np.array([0.3, -0.3, 0.29999, -1e-3])
    return [
        Case("40 weights, lr = 0.01, lam = 30", args=(w, g, 0.01, 30.0), expected=torch_prox(w, g, 0.01, 30.0)),
        Case("lam = 0 is a plain gradient step", args=(w3, g3, 0.1, 0.0), expected=torch_prox(w3, g3, 0.1, 0.0)),
        Case("a huge lam zeroes every weight", args=(w3, g3, 0.1, 1e3), expected=torch_prox(w3, g3, 0.1, 1e3)),
        Case("weights at and just inside the threshold", args=(wz, np.zeros(4), 1.0, 0.3), expected=torch_prox(wz, np.zeros(4), 1.0, 0.3)),
    ]


def cases_early_stopping_epochs() -> list[Case]:
    rng = np.random.default_rng(505)
    epochs = np.arange(40)
    curve = 1.0 / (1.0 + 0.3 * epochs) + 0.01 * epochs + 0.02 * rng.random(40)  # U-shaped, noisy
    decreasing = np.linspace(1.0, 0.1, 12)
    with_nan = np.array([0.9, 0.5, np.nan, np.inf, 0.6, 0.4, 0.45])
    flat = np.full(6, 0.3)  # equal values are not improvements
    return [
        Case("a noisy U-shaped curve, patience 5", args=(curve, 5), expected=oracle_early_stopping(curve, 5)),
        Case("always improving: runs every epoch", args=(decreasing, 3), expected=oracle_early_stopping(decreasing, 3)),
        Case("NaN and inf losses never improve", args=(with_nan, 3), expected=oracle_early_stopping(with_nan, 3)),
        Case("a flat curve, patience 1", args=(flat, 1), expected=oracle_early_stopping(flat, 1)),
        Case("a noisy curve with min_delta = 0.01, patience 3", args=(curve, 3), kwargs={"min_delta": 0.01},
             expected=oracle_early_stopping(curve, 3, 0.01)),
    ]


def torch_smoothed_ce(logits: np.ndarray, y: np.ndarray, eps: float) -> tuple[float, np.ndarray]:
    """F.cross_entropy(logits, y, label_smoothing=eps) in float64 and its gradient by autograd."""
    import torch
    import torch.nn.functional as F

    z = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    loss = F.cross_entropy(z, torch.as_tensor(y, dtype=torch.long), label_smoothing=eps)
    loss.backward()
    return float(loss.detach()), z.grad.numpy().copy()


def cases_gaussian_noise_forward() -> list[Case]:
    rng = np.random.default_rng(506)
    x3 = rng.normal(size=(10, 12, 8))
    xs = np.full((1, 3000), -1.0)  # one row: a single sample's features
    xc = np.full((3000, 1), 7.0)  # one column
    x = 5.0 * rng.random((60, 40))
    return [
        Case("a (10, 12, 8) tensor, std 0.1, seed 61", args=(x3, 0.1, Rng(61)), check=noise_validator(x3, 0.1)),
        Case("one row of 3000 features, std 3", args=(xs, 3.0, Rng(62)), check=noise_validator(xs, 3.0)),
        Case("one column of 3000 samples, std 0.01", args=(xc, 0.01, Rng(63)), check=noise_validator(xc, 0.01)),
        Case("(60, 40) uniform input, std 1, training passed by position", args=(x, 1.0, Rng(64), True),
             check=noise_validator(x, 1.0)),
        Case("std 0 in train mode adds nothing", args=(x, 0.0, Rng(65)), check=noise_validator(x, 0.0)),
        Case("eval mode with std 5 is the identity", args=(x3, 5.0, Rng(66), False), expected=x3),
    ]


def cases_label_smoothing_cross_entropy() -> list[Case]:
    rng = np.random.default_rng(507)
    z, y = rng.normal(size=(32, 10)) * 3.0, rng.integers(0, 10, size=32)
    zl, yl = np.array([[1000.0, -1000.0, 0.0], [-500.0, 700.0, 699.0]]), np.array([1, 2])  # e^z overflows
    z1, y1 = rng.normal(size=(1, 5)), np.array([4])
    z2, y2 = rng.normal(size=(8, 2)), rng.integers(0, 2, size=8)
    zbig, ybig = 2.0 * rng.normal(size=LARGE), rng.integers(0, LARGE[1], size=LARGE[0])
    return [
        Case("32 samples, 10 classes, label_smoothing 0.1", args=(z, y, 0.1), expected=torch_smoothed_ce(z, y, 0.1)),
        Case("huge logits (±1000): a stable log-softmax", args=(zl, yl, 0.2), expected=torch_smoothed_ce(zl, yl, 0.2),
             hint="exp overflows for large logits: shift each row by its maximum first."),
        Case("one sample, label_smoothing 1 (a uniform target)", args=(z1, y1), kwargs={"label_smoothing": 1.0},
             expected=torch_smoothed_ce(z1, y1, 1.0)),
        Case("two classes, label_smoothing 0.05", args=(z2, y2, 0.05), expected=torch_smoothed_ce(z2, y2, 0.05)),
        Case("32 samples, 10 classes, default (no smoothing)", args=(z, y), expected=torch_smoothed_ce(z, y, 0.0)),
        # 2^18 logits: the derived gradient takes milliseconds; finite differences need 2·C forward passes even
        # with every sample's logit perturbed together, far beyond the CPU limit
        Case(f"{LARGE[0]} samples, {LARGE[1]} classes, label_smoothing 0.1", args=(zbig, ybig, 0.1),
             expected=torch_smoothed_ce(zbig, ybig, 0.1),
             hint="Derive the gradient in closed form: a numerical gradient is far too slow for many classes."),
    ]
