"""Regularization: weight penalties, Gaussian noise, early stopping and data augmentation.

Conventions (PyTorch lecture notes, see docs/references.md; Goodfellow et al., 2016, ch. 7):
the L2 penalty is (λ/2)‖θ‖², so its gradient λθ turns a gradient step into *weight decay*,
θ ← (1 − λε)θ − ε∇L (torch's SGD ``weight_decay=λ``); the L1 penalty is λ‖θ‖₁ with
(sub)gradient λ·sign(θ); elastic net is the sum of both.  The Sharif lecture writes the L2 term
without the ½ (λΣW²) — the same family with λ doubled.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from dlcourse.nn import Module
from dlcourse.validation import as_float_array, as_rng, check_positive

# ---------------------------------------------------------------------------------------------
# Penalties: value and gradient
# ---------------------------------------------------------------------------------------------


def l2_penalty(w, lam: float) -> tuple[float, np.ndarray]:
    """R(w) = (λ/2) Σ w²,  ∇R = λ w."""
    w = as_float_array(w, "w")
    lam = check_positive(lam, "lam", allow_zero=True)
    return 0.5 * lam * float(np.sum(w * w)), lam * w


def l1_penalty(w, lam: float) -> tuple[float, np.ndarray]:
    """R(w) = λ Σ |w|,  ∇R = λ sign(w) (the subgradient 0 at w = 0, as torch's ``abs``)."""
    w = as_float_array(w, "w")
    lam = check_positive(lam, "lam", allow_zero=True)
    return lam * float(np.sum(np.abs(w))), lam * np.sign(w)


def elastic_net_penalty(w, l1: float, l2: float) -> tuple[float, np.ndarray]:
    """R(w) = l1 Σ |w| + (l2/2) Σ w²,  ∇R = l1 sign(w) + l2 w (Zou & Hastie, 2005)."""
    v1, g1 = l1_penalty(w, l1)
    v2, g2 = l2_penalty(w, l2)
    return v1 + v2, g1 + g2


def soft_threshold(w, t: float) -> np.ndarray:
    """Proximal map of t‖·‖₁: sign(w) · max(|w| − t, 0).  A proximal (ISTA) step sets weights
    to exactly zero, which a plain subgradient step on the L1 term never does."""
    w = as_float_array(w, "w")
    t = check_positive(t, "t", allow_zero=True)
    return np.sign(w) * np.maximum(np.abs(w) - t, 0.0)


class WeightPenalty:
    """``penalty(params) -> float`` for :func:`dlcourse.train.fit`: adds ∇R into each ``p.grad``.

    R = Σ_p [l1 ‖p‖₁ + (l2/2) ‖p‖²] over the parameters with at least two dimensions (weight
    matrices); biases and BatchNorm's γ, β (1-D) are left alone unless ``include_1d=True`` —
    penalising the bias only causes under-fitting (PyTorch lecture notes).
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0, include_1d: bool = False) -> None:
        self.l1 = check_positive(l1, "l1", allow_zero=True)
        self.l2 = check_positive(l2, "l2", allow_zero=True)
        self.include_1d = bool(include_1d)

    def __call__(self, params: Iterable) -> float:
        total = 0.0
        for p in params:
            if p.data.ndim < 2 and not self.include_1d:
                continue
            value, grad = elastic_net_penalty(p.data, self.l1, self.l2)
            p.grad += grad  # in place, in the parameter's dtype
            total += value
        return total

    def __repr__(self) -> str:
        return f"WeightPenalty(l1={self.l1}, l2={self.l2}, include_1d={self.include_1d})"


# ---------------------------------------------------------------------------------------------
# Noise injection
# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# Early stopping
# ---------------------------------------------------------------------------------------------


class EarlyStopping:
    """Stop when the monitored value has not improved for ``patience`` epochs; keep the best weights.

    ``step(value, model)`` is called once per epoch (epochs are counted from 0, so that
    ``history.val_loss[best_epoch] == best_value``).  An improvement is ``value < best − min_delta``
    (mode ``"min"``, e.g. a loss) or ``value > best + min_delta`` (mode ``"max"``, e.g. an
    accuracy); on each one, ``best_state`` becomes a copy of ``model.state_dict()``.
    ``step`` returns True when training should stop; ``restore(model)`` loads the best weights.
    """

    def __init__(self, patience: int = 5, min_delta: float = 0.0, mode: str = "min") -> None:
        if int(patience) != patience or patience < 1:
            raise ValueError(f"patience must be an integer >= 1, got {patience}")
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.patience = int(patience)
        self.min_delta = check_positive(min_delta, "min_delta", allow_zero=True)
        self.mode = mode
        self.reset()

    def reset(self) -> None:
        self.best_value: float | None = None
        self.best_epoch: int | None = None
        self.best_state: dict[str, np.ndarray] | None = None
        self.epoch = -1  # index of the last epoch seen
        self.num_bad_epochs = 0
        self.stopped = False

    def is_improvement(self, value: float) -> bool:
        if not np.isfinite(value):
            return False  # a NaN/inf epoch is never "best"
        if self.best_value is None:
            return True
        if self.mode == "min":
            return value < self.best_value - self.min_delta
        return value > self.best_value + self.min_delta

    def step(self, value: float, model: Module | None = None) -> bool:
        """Record one epoch's monitored ``value``; return True when training should stop."""
        value = float(value)
        self.epoch += 1
        if self.is_improvement(value):
            self.best_value, self.best_epoch, self.num_bad_epochs = value, self.epoch, 0
            if model is not None:
                self.best_state = model.state_dict()  # already a copy of every array
        else:
            self.num_bad_epochs += 1
        self.stopped = self.num_bad_epochs >= self.patience
        return self.stopped

    def restore(self, model: Module) -> Module:
        """Load the best weights seen into ``model`` (in place) and return it."""
        if self.best_state is None:
            raise RuntimeError("EarlyStopping.restore: no best state recorded (call step(value, model) first)")
        model.load_state_dict(self.best_state)
        return model

    def __repr__(self) -> str:
        return (
            f"EarlyStopping(patience={self.patience}, min_delta={self.min_delta}, mode={self.mode!r}, "
            f"best_epoch={self.best_epoch}, best_value={self.best_value})"
        )


# ---------------------------------------------------------------------------------------------
# Data augmentation: small shifts of images (e.g. the 8 × 8 digits)
# ---------------------------------------------------------------------------------------------


def shift_images(images, dy, dx, image_shape: tuple[int, int] | None = None) -> np.ndarray:
    """Translate each image by (dy[i], dx[i]) whole pixels (down/right positive), filling with 0.

    ``images`` is (N, H, W) or flattened (N, H·W) with ``image_shape=(H, W)`` (default: square);
    the result has the input's shape.  Pixels pushed past the border are lost.
    """
    images = as_float_array(images, "images", ndim=(2, 3))
    n = images.shape[0]
    if images.ndim == 2:
        if image_shape is None:
            side = int(round(np.sqrt(images.shape[1])))
            if side * side != images.shape[1]:
                raise ValueError(f"cannot infer a square image from {images.shape[1]} pixels; pass image_shape")
            image_shape = (side, side)
        if int(np.prod(image_shape)) != images.shape[1]:
            raise ValueError(f"image_shape {image_shape} does not hold {images.shape[1]} pixels")
        imgs = images.reshape(n, *image_shape)
    else:
        imgs = images
    h, w = imgs.shape[1:]
    dy = np.broadcast_to(np.asarray(dy, dtype=int), (n,))
    dx = np.broadcast_to(np.asarray(dx, dtype=int), (n,))
    out = np.zeros_like(imgs)
    for i in range(n):
        sy, sx = int(dy[i]), int(dx[i])
        if abs(sy) >= h or abs(sx) >= w:
            continue  # shifted entirely out of the frame
        src = imgs[i, max(0, -sy) : h - max(0, sy), max(0, -sx) : w - max(0, sx)]
        out[i, max(0, sy) : max(0, sy) + src.shape[0], max(0, sx) : max(0, sx) + src.shape[1]] = src
    return out.reshape(images.shape)


def random_shifts(images, max_shift: int = 1, rng=None, image_shape: tuple[int, int] | None = None) -> np.ndarray:
    """Each image shifted by independent uniform integers dy, dx ∈ {−max_shift, …, max_shift}."""
    if int(max_shift) != max_shift or max_shift < 0:
        raise ValueError(f"max_shift must be a non-negative integer, got {max_shift}")
    rng = as_rng(rng)
    n = np.shape(images)[0]
    dy = rng.integers(-max_shift, max_shift + 1, size=n)
    dx = rng.integers(-max_shift, max_shift + 1, size=n)
    return shift_images(images, dy, dx, image_shape)


def augment_with_shifts(X, y, copies: int = 1, max_shift: int = 1, rng=None, image_shape=None) -> tuple[np.ndarray, np.ndarray]:
    """The original (X, y) followed by ``copies`` randomly shifted copies (labels unchanged)."""
    if int(copies) != copies or copies < 0:
        raise ValueError(f"copies must be a non-negative integer, got {copies}")
    X = as_float_array(X, "X", ndim=(2, 3))
    y = np.asarray(y)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"X and y must have the same number of rows, got {X.shape[0]} and {y.shape[0]}")
    rng = as_rng(rng)
    parts = [X] + [random_shifts(X, max_shift, rng, image_shape) for _ in range(int(copies))]
    return np.concatenate(parts), np.concatenate([y] * (int(copies) + 1))
