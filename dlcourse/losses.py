"""Loss functions with their gradients, averaged over the batch exactly as torch's ``reduction="mean"``.

Every loss returns ``(loss, dinput)``: the loss as a Python float and dL/d(input), an array of
the input's shape and dtype, ready to be passed to ``model.backward`` (float targets are data,
not parameters: they are cast to the input's dtype, so a float32 model stays float32).  Row-major: a batch is (N, ...).

================================  ==========================================  ============================
function                          L (mean over the batch)                     dL/d(input)
================================  ==========================================  ============================
mse_loss                          mean((ŷ − y)²)  over *all* elements         2(ŷ − y) / numel
binary_cross_entropy              −mean(y log p + (1 − y) log(1 − p))         (p − y) / (p(1 − p) numel)
binary_cross_entropy_with_logits  the same with p = σ(z), in log-sum-exp      (σ(z) − y) / numel
cross_entropy                     −(1/N) Σ_n Σ_c q_nc log softmax(z_n)_c      (softmax(z) − q) / N
================================  ==========================================  ============================

with q the (optionally smoothed) one-hot target: q = (1 − ε)·onehot(y) + ε/C (Szegedy et al.,
2016, "Rethinking the Inception architecture"), as ``torch.nn.functional.cross_entropy``.
"""

from __future__ import annotations

import numpy as np

from dlcourse.activations import _sigmoid
from dlcourse.validation import (
    as_float_array,
    as_labels,
    check_nonempty,
    check_probability,
    check_same_shape,
    check_unit_interval,
)

_LOG_FLOOR = -100.0  # torch clamps log(p) at −100 in binary_cross_entropy, so p = 0 gives a finite loss
_BCE_EPS = 1e-12  # torch's floor on p(1 − p) in the BCE gradient, so p ∈ {0, 1} gives a finite gradient


# ---------------------------------------------------------------------------------------------
# softmax and log-softmax
# ---------------------------------------------------------------------------------------------


def log_softmax(z, axis: int = -1) -> np.ndarray:
    """log softmax(z)_c = z_c − m − log Σ_k e^(z_k − m), with m = max_k z_k (no overflow)."""
    return _log_softmax(as_float_array(z, "z"), axis)


def _log_softmax(z: np.ndarray, axis: int) -> np.ndarray:
    """:func:`log_softmax` on an already checked float array."""
    shifted = z - np.max(z, axis=axis, keepdims=True)  # largest entry becomes 0: e^(·) ≤ 1
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def softmax(z, axis: int = -1) -> np.ndarray:
    """softmax(z)_c = e^(z_c) / Σ_k e^(z_k), computed from the max-shifted logits (no overflow)."""
    return _softmax(as_float_array(z, "z"), axis)


def _softmax(z: np.ndarray, axis: int) -> np.ndarray:
    """:func:`softmax` on an already checked float array."""
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))  # softmax is invariant to a shift of z
    return e / np.sum(e, axis=axis, keepdims=True)


# ---------------------------------------------------------------------------------------------
# Regression
# ---------------------------------------------------------------------------------------------


def mse_loss(pred, target) -> tuple[float, np.ndarray]:
    """Mean squared error L = (1/numel) Σ (ŷ − y)², as ``F.mse_loss``; dL/dŷ = 2(ŷ − y)/numel.

    ``pred`` and ``target`` must have the same shape (no broadcasting: (N, 1) against (N,)
    would silently build an (N, N) matrix of errors).
    """
    pred = as_float_array(pred, "pred")
    target = as_float_array(target, "target").astype(pred.dtype, copy=False)  # the loss follows pred's dtype
    check_same_shape(pred, target, "pred", "target")
    check_nonempty(pred, "pred")
    return _mse_loss(pred, target)


def _mse_loss(pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """:func:`mse_loss` on checked, non-empty float arrays of one shape."""
    diff = pred - target  # ŷ − y
    loss = float(np.mean(diff * diff))
    dpred = (2.0 / diff.size) * diff  # d/dŷ of (1/numel) Σ (ŷ − y)²
    return loss, dpred


# ---------------------------------------------------------------------------------------------
# Binary classification
# ---------------------------------------------------------------------------------------------


def binary_cross_entropy(prob, target) -> tuple[float, np.ndarray]:
    """BCE on probabilities p ∈ [0, 1], as ``F.binary_cross_entropy``.

    L = −(1/numel) Σ [y log p + (1 − y) log(1 − p)], each log clamped at −100 as torch does,
    so p = 0 or 1 gives a finite loss; dL/dp = (p − y) / max(p(1 − p), 1e-12) / numel.
    Prefer :func:`binary_cross_entropy_with_logits` for training: it never needs the clamps.
    """
    prob = as_float_array(prob, "prob")
    target = as_float_array(target, "target").astype(prob.dtype, copy=False)  # the loss follows prob's dtype
    check_same_shape(prob, target, "prob", "target")
    check_nonempty(prob, "prob")
    check_unit_interval(prob, "prob (probabilities)")
    check_unit_interval(target, "target")
    with np.errstate(divide="ignore"):  # log(0) = −inf is expected here and clamped just below
        log_p = np.maximum(np.log(prob), _LOG_FLOOR)
        log_1mp = np.maximum(np.log1p(-prob), _LOG_FLOOR)
    loss = float(-np.mean(target * log_p + (1.0 - target) * log_1mp))
    # dL/dp = −y/p + (1 − y)/(1 − p) = (p − y) / (p(1 − p)); the floor keeps p ∈ {0, 1} finite.
    dprob = (prob - target) / np.maximum(prob * (1.0 - prob), _BCE_EPS) / prob.size
    return loss, dprob


def binary_cross_entropy_with_logits(logits, target) -> tuple[float, np.ndarray]:
    """BCE on logits z, as ``F.binary_cross_entropy_with_logits``: σ and the log fused, stably.

    Per element, −[y log σ(z) + (1 − y) log(1 − σ(z))] = max(z, 0) − z·y + log(1 + e^(−|z|)),
    which never exponentiates a positive number; dL/dz = (σ(z) − y)/numel.
    """
    logits = as_float_array(logits, "logits")
    target = as_float_array(target, "target").astype(logits.dtype, copy=False)  # the loss follows logits's dtype
    check_same_shape(logits, target, "logits", "target")
    check_nonempty(logits, "logits")
    check_unit_interval(target, "target")
    return _bce_with_logits(logits, target)


def _bce_with_logits(logits: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """:func:`binary_cross_entropy_with_logits` on checked arrays of one shape (targets in [0, 1])."""
    per_element = np.maximum(logits, 0.0) - logits * target + np.log1p(np.exp(-np.abs(logits)))
    loss = float(np.mean(per_element))
    dlogits = (_sigmoid(logits) - target) / logits.size  # σ'(z) cancels the 1/(σ(1 − σ)) of BCE
    return loss, dlogits


# ---------------------------------------------------------------------------------------------
# Multi-class classification
# ---------------------------------------------------------------------------------------------


def cross_entropy(logits, y, label_smoothing: float = 0.0) -> tuple[float, np.ndarray]:
    """Softmax + cross-entropy on logits (N, C) and integer labels y (N,), as ``F.cross_entropy``.

    With smoothing ε the target distribution is q = (1 − ε)·onehot(y) + ε/C and
    L = −(1/N) Σ_n Σ_c q_nc log softmax(z_n)_c;  dL/dz = (softmax(z) − q) / N.
    """
    logits = as_float_array(logits, "logits", ndim=2)
    n, num_classes = logits.shape
    if n == 0 or num_classes == 0:
        raise ValueError(f"logits must have shape (N, C) with N, C ≥ 1, got {logits.shape}")
    eps = check_probability(label_smoothing, "label_smoothing", inclusive_high=True)
    y = as_labels(y, "y", n=n, num_classes=num_classes)

    log_p = _log_softmax(logits, axis=1)  # (N, C), stable: log Σ e^(z − max)
    q = np.full_like(log_p, eps / num_classes)  # ε/C on every class ...
    q[np.arange(n), y] += 1.0 - eps  # ... plus (1 − ε) on the true one
    loss = float(-np.sum(q * log_p) / n)
    dlogits = (np.exp(log_p) - q) / n  # d/dz of −Σ_c q_c log softmax(z)_c = softmax(z) − q (Σ_c q_c = 1)
    return loss, dlogits


__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "log_softmax",
    "mse_loss",
    "softmax",
]
