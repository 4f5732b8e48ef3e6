"""Public check cases for exercise 08_capstone (shipped to students).

Oracles, independent of the student's code and of dlcourse's layers:

* He initialisation (He et al., 2015): statistical facts of N(0, 2/fan_in) — every weight
  matrix's mean and standard deviation within four standard errors, a normal (not uniform)
  excess kurtosis, zero biases, the shapes (fan_in, fan_out);
* the loss of a ReLU MLP with softmax cross-entropy and an L2 penalty: written out sample by
  sample with a log-sum-exp; its gradient by central finite differences of that loss;
* Adam (Kingma & Ba, 2015, as torch.optim.Adam computes it): written out entry by entry;
* the capstone: accuracy on images the function never saw, against a threshold (the labels stay
  with the grader).  Public: 1,000 training images of the fixed split, tested on its 500
  validation images; the hidden cases (``grading/``) train on 3,500 images of other splits and
  test on 1,000 others, with the pixels in another (fixed, secret) order.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from dlcourse.autograde.cases import c08_capstone_drivers as drv
from dlcourse.autograde.spec import Case, normal_sample_problem
from dlcourse.gradcheck import numerical_gradient

TOPIC = "08_capstone"

DRIVERS = {
    "mlp_loss_and_grads": drv.drive_mlp_loss_and_grads,
    "mlp_adam_step": drv.drive_mlp_adam_step,
}

HINTS = {
    "init_mlp": "One (W, b) pair per consecutive pair of sizes: W of shape (d_in, d_out) drawn from "
                "N(0, 2/d_in) with np.random.default_rng(seed).normal, b = zeros(d_out); return them flat, "
                "(W_1, b_1, W_2, b_2, ...).",
    "mlp_loss_and_grads": "Forward: Z_l = A_{l-1} W_l + b_l, A_l = max(Z_l, 0) except after the last layer; softmax "
                          "cross-entropy averaged over N, plus (wd/2)·Σ‖W_l‖² (no biases). Backward: dZ_L = (softmax − "
                          "onehot)/N, dW_l = A_{l-1}ᵀ dZ_l + wd·W_l, db_l = Σ_n dZ_l, dZ_{l-1} = dZ_l W_lᵀ ⊙ [Z_{l-1} > 0]. "
                          "Return (loss, grads) with grads shaped like params.",
    "mlp_adam_step": "m ← β1 m + (1 − β1) g; v ← β2 v + (1 − β2) g²; m̂ = m / (1 − β1^t), v̂ = v / (1 − β2^t); "
                 "p ← p − lr · m̂ / (√v̂ + eps). t counts from 1. Return (new_params, new_m, new_v).",
    "train_and_predict": "Standardise with the training set's statistics, train with your init, loss and Adam over "
                         "mini-batches for the epochs your validation search chose, and return integer labels of "
                         "shape (len(X_test),). Use only numpy; do not assume the pixel order (the grader permutes it).",
}

#: the accuracy the public capstone case asks for (1,000 training images, 500 validation images)
PUBLIC_THRESHOLD = 0.85


# --- oracles ------------------------------------------------------------------------------


def check_he_init(sizes) -> Callable[[Any], str | None]:
    """A validator: ``got`` must be (W_1, b_1, …) with W_l ~ N(0, 2 / d_{l-1}) and b_l = 0."""
    sizes = [int(s) for s in sizes]
    shapes = []
    for d_in, d_out in zip(sizes[:-1], sizes[1:], strict=True):
        shapes += [(d_in, d_out), (d_out,)]

    def check(got) -> str | None:
        if not isinstance(got, tuple) or len(got) != len(shapes):
            return f"expected a tuple of {len(shapes)} arrays (W_1, b_1, ..., W_L, b_L)"
        for i, (arr, shape) in enumerate(zip(got, shapes, strict=True)):
            name = f"{'W' if i % 2 == 0 else 'b'}_{i // 2 + 1}"
            if arr.shape != shape:
                return f"{name}: shape {arr.shape}, expected {shape}"
            if arr.dtype.kind != "f" or not np.all(np.isfinite(arr)):
                return f"{name}: expected finite floats, got dtype {arr.dtype}"
            if i % 2 == 1:
                if np.any(arr != 0):
                    return f"{name}: biases must start at zero"
                continue
            problem = normal_sample_problem(arr, math.sqrt(2.0 / shape[0]), 4.0, name,
                                            std_name=f"√(2/{shape[0]}) = ", kurtosis_from=1000)
            if problem:
                return problem
        return None

    return check


def _unflatten_loss(params: tuple, X: np.ndarray, y: np.ndarray, weight_decay: float) -> float:
    """Mean cross-entropy of the ReLU MLP, sample by sample, plus (wd/2) Σ‖W‖²."""
    n_layers = len(params) // 2
    total = 0.0
    for x_n, y_n in zip(X, y, strict=True):
        a = np.asarray(x_n, dtype=float)
        for l in range(n_layers):
            z = a @ params[2 * l] + params[2 * l + 1]
            a = np.maximum(z, 0.0) if l < n_layers - 1 else z
        top = max(float(v) for v in a)
        log_sum = top + math.log(sum(math.exp(float(v) - top) for v in a))  # log Σ_k exp(z_k)
        total += log_sum - float(a[int(y_n)])  # −log softmax(z)_y
    penalty = sum(float(np.sum(params[2 * l] ** 2)) for l in range(n_layers))
    return total / len(y) + 0.5 * weight_decay * penalty


def oracle_loss_and_grads(params: tuple, X: np.ndarray, y: np.ndarray, weight_decay: float) -> tuple:
    """(loss, *grads): the written-out loss and its central finite differences, per parameter."""
    params = tuple(np.asarray(p, dtype=float) for p in params)
    grads = []
    for i in range(len(params)):
        def f(p, i=i):
            return _unflatten_loss(params[:i] + (p,) + params[i + 1:], X, y, weight_decay)
        grads.append(numerical_gradient(f, params[i].copy(), h=1e-6))
    return (_unflatten_loss(params, X, y, weight_decay), *grads)


def oracle_adam(params, grads, m, v, t, lr, betas, eps) -> tuple:
    """(*new_params, *new_m, *new_v), entry by entry as torch.optim.Adam computes them."""
    b1, b2 = betas
    outs: tuple[list, list, list] = ([], [], [])
    for p, g, m_i, v_i in zip(params, grads, m, v, strict=True):
        p_new, m_new, v_new = (np.array(p, dtype=float) for _ in range(3))
        for idx in np.ndindex(np.shape(p)):
            mm = b1 * float(m_i[idx]) + (1 - b1) * float(g[idx])
            vv = b2 * float(v_i[idx]) + (1 - b2) * float(g[idx]) ** 2
            step = lr / (1 - b1 ** t)  # torch: lr / bias_correction1 ...
            denom = math.sqrt(vv) / math.sqrt(1 - b2 ** t) + eps  # ... over √v / √bias_correction2 + eps
            p_new[idx], m_new[idx], v_new[idx] = float(p[idx]) - step * mm / denom, mm, vv
        for out, arr in zip(outs, (p_new, m_new, v_new), strict=True):
            out.append(arr)
    return tuple(outs[0] + outs[1] + outs[2])


def small_mlp(sizes, seed: int) -> tuple:
    """Random (W_1, b_1, …) for the loss cases (non-zero biases, so that db matters)."""
    rng = np.random.default_rng(seed)
    params = []
    for d_in, d_out in zip(sizes[:-1], sizes[1:], strict=True):
        params += [rng.normal(0, 1 / math.sqrt(d_in), (d_in, d_out)), rng.normal(0, 0.1, d_out)]
    return tuple(params)


def check_accuracy(y_test: np.ndarray, threshold: float) -> Callable[[Any], str | None]:
    """A validator: ``got`` must be integer labels shaped like ``y_test``, accuracy ≥ ``threshold``."""
    y_test = np.asarray(y_test)

    def check(got) -> str | None:
        if not isinstance(got, np.ndarray) or isinstance(got, tuple):
            return "expected one array of labels"
        if got.shape != y_test.shape:
            return f"shape {got.shape}, expected {y_test.shape} (one label per test image)"
        if got.dtype.kind not in "iuf" or not np.all(np.isfinite(got)) or np.any(got != np.round(got)):
            return f"expected integer class labels 0..9, got dtype {got.dtype}"
        acc = float(np.mean(got == y_test))
        if acc < threshold:
            return f"test accuracy {acc:.3f} is below {threshold:.2f}"
        return None

    return check


# --- cases --------------------------------------------------------------------------------


def cases_init_mlp() -> list[Case]:
    return [
        Case("sizes (784, 256, 128, 10), seed 0", args=((784, 256, 128, 10), 0), check=check_he_init((784, 256, 128, 10))),
        Case("sizes (50, 40, 10), seed 1", args=((50, 40, 10), 1), check=check_he_init((50, 40, 10))),
    ]


def cases_mlp_loss_and_grads() -> list[Case]:
    rng = np.random.default_rng(80)
    X1, y1 = rng.normal(size=(6, 5)), np.array([0, 2, 1, 2, 0, 1])
    p1 = small_mlp((5, 4, 3), 1)
    X2, y2 = rng.normal(size=(8, 6)), rng.integers(0, 3, 8)
    p2 = small_mlp((6, 5, 4, 3), 2)
    return [
        Case("one hidden layer (5-4-3), 6 samples, no penalty", args=(p1, X1, y1, 0.0),
             expected=oracle_loss_and_grads(p1, X1, y1, 0.0), rtol=1e-5, atol=1e-7),
        Case("two hidden layers (6-5-4-3), 8 samples, weight_decay 0.1", args=(p2, X2, y2, 0.1),
             expected=oracle_loss_and_grads(p2, X2, y2, 0.1), rtol=1e-5, atol=1e-7),
    ]


def cases_mlp_adam_step() -> list[Case]:
    rng = np.random.default_rng(81)
    params = (rng.normal(size=(3, 2)), rng.normal(size=2))
    grads = (rng.normal(size=(3, 2)), rng.normal(size=2))
    zeros = tuple(np.zeros_like(p) for p in params)
    m = tuple(0.1 * rng.normal(size=p.shape) for p in params)
    v = tuple(0.1 * rng.random(p.shape) for p in params)
    return [
        Case("first step (t = 1) from zero moments", args=(params, grads, zeros, zeros, 1, 0.01, (0.9, 0.999), 1e-8),
             expected=oracle_adam(params, grads, zeros, zeros, 1, 0.01, (0.9, 0.999), 1e-8)),
        Case("step t = 5 with moments, betas (0.8, 0.99)", args=(params, grads, m, v, 5, 0.003, (0.8, 0.99), 1e-6),
             expected=oracle_adam(params, grads, m, v, 5, 0.003, (0.8, 0.99), 1e-6)),
    ]


def cases_train_and_predict() -> list[Case]:
    from dlcourse.data import mnist

    X_train, X_val, _, y_train, y_val, _ = mnist()
    return [
        Case(f"1,000 training images, the 500 validation images: accuracy >= {PUBLIC_THRESHOLD}",
             args=(X_train[:1000], y_train[:1000], X_val, 0), check=check_accuracy(y_val, PUBLIC_THRESHOLD)),
    ]
