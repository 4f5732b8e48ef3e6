"""The limits of a single layer, measured (notebook 01).

Two stacked linear layers collapse into one; a linear-programming test decides linear
separability exactly (XOR is not separable); the best accuracy any line reaches on 2-D data;
and learning by weight perturbation set against gradient descent, every forward and backward
pass counted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from dlcourse.validation import (
    as_float_array,
    as_rng,
    check_choice,
    check_count,
    check_finite,
    check_positive,
    check_same_length,
    check_shape,
)


def collapse_linear(W1, b1, W2, b2) -> tuple[np.ndarray, np.ndarray]:
    """Two stacked linear layers are one: W2 (W1 x + b1) + b2 = (W2 W1) x + (W2 b1 + b2)."""
    W1 = as_float_array(W1, "W1", ndim=2)
    W2 = as_float_array(W2, "W2", ndim=2)
    b1 = as_float_array(b1, "b1", ndim=1)
    b2 = as_float_array(b2, "b2", ndim=1)
    if W2.shape[1] != W1.shape[0] or b1.shape != (W1.shape[0],) or b2.shape != (W2.shape[0],):
        raise ValueError(f"shapes do not chain: W1 {W1.shape}, b1 {b1.shape}, W2 {W2.shape}, b2 {b2.shape}")
    return W2 @ W1, W2 @ b1 + b2  # W' = W2 W1, b' = W2 b1 + b2 (ESIR lecture, see docs/references.md)


def is_linearly_separable(X, y) -> tuple[bool, np.ndarray | None]:
    """Decide exactly, by linear programming, whether a hyperplane separates the two classes.

    Feasibility of s_n (w·x_n + b) ≥ 1 for all n, with s_n = ±1 the class sign (any strict
    separator can be rescaled to margin 1).  Returns (separable, [w..., b] or None).
    """
    from scipy.optimize import linprog

    X = as_float_array(X, "X", ndim=2)
    y = np.asarray(y).reshape(-1)
    check_same_length(X, y, "X", "y")
    classes = np.unique(y)
    if classes.size != 2:
        raise ValueError(f"need exactly two classes, got {classes.size}: {classes}")
    s = np.where(y == classes[1], 1.0, -1.0)
    Xb = np.hstack([X, np.ones((X.shape[0], 1))])
    # −s_n [x_n, 1]·θ ≤ −1, θ free: a pure feasibility problem (zero objective).
    res = linprog(np.zeros(Xb.shape[1]), A_ub=-(s[:, None] * Xb), b_ub=-np.ones(X.shape[0]),
                  bounds=[(None, None)] * Xb.shape[1], method="highs")
    return (True, res.x) if res.status == 0 else (False, None)


def best_linear_accuracy(X, y, *, n_angles: int = 360) -> float:
    """Best accuracy of any line sign(w·x + b) on 2-D data, searching directions and thresholds.

    For each of ``n_angles`` directions w = (cos θ, sin θ), every threshold between consecutive
    projections is tried (both orientations), so the search over b is exact for each w.
    """
    X = as_float_array(X, "X")
    check_shape(X, (None, 2), "X (2-D points)")
    y = np.asarray(y).reshape(-1).astype(int)
    check_same_length(X, y, "X", "y")
    n_angles = check_count(n_angles, "n_angles")
    best = 0.0
    for theta in np.linspace(0.0, np.pi, n_angles, endpoint=False):
        proj = X @ np.array([np.cos(theta), np.sin(theta)])
        cuts = np.unique(proj)
        thresholds = np.concatenate([[cuts[0] - 1.0], (cuts[:-1] + cuts[1:]) / 2, [cuts[-1] + 1.0]])
        pred = proj[None, :] > thresholds[:, None]  # (thresholds, m)
        acc = (pred == (y[None, :] == 1)).mean(axis=1)
        best = max(best, float(acc.max()), float((1.0 - acc).max()))  # 1 − acc: the flipped line
    return best


@dataclass
class PassHistory:
    """Loss after each update, with the cumulative number of forward and backward passes spent.

    ``cost`` counts a backward pass as ``backward_cost`` forward passes (≈ 2 is the usual rule of
    thumb: a backward pass does about twice a forward's arithmetic).
    """

    loss: list[float] = field(default_factory=list)
    forward: list[int] = field(default_factory=list)
    backward: list[int] = field(default_factory=list)

    def record(self, loss: float, forward: int, backward: int) -> None:
        self.loss.append(float(loss))
        self.forward.append(int(forward))
        self.backward.append(int(backward))

    def cost(self, backward_cost: float = 2.0) -> np.ndarray:
        """Cumulative cost in forward-pass units: forward + backward_cost × backward."""
        return np.asarray(self.forward) + backward_cost * np.asarray(self.backward)

    def cost_to_reach(self, target: float, backward_cost: float = 2.0) -> float:
        """Cost when the loss first falls to ``target`` or below; ``inf`` if it never does."""
        hit = np.flatnonzero(np.asarray(self.loss) <= target)
        return float(self.cost(backward_cost)[hit[0]]) if hit.size else float("inf")


def perturbation_learning(
    loss_fn: Callable[[np.ndarray], float],
    theta0,
    *,
    step: float = 0.1,
    max_forward: int = 10_000,
    mode: str = "one",
    rng=None,
) -> tuple[np.ndarray, PassHistory]:
    """Learn by random perturbation (Sharif lecture): perturb, keep the change only if the loss drops.

    ``mode="one"``: perturb one random weight by ±step; ``mode="all"``: perturb all weights at
    once by step·ε, ε ~ N(0, I) / √P.  Each trial costs one forward pass over the training
    set (one call of ``loss_fn``), the initial evaluation included; no backward pass ever.
    Stops after ``max_forward`` forward passes.  The weight and its sign (``"one"``) or the
    direction ε (``"all"``) are drawn from ``rng``.  Returns (θ, history recorded at every trial).
    """
    check_choice(mode, ("one", "all"), "mode")
    step = check_positive(step, "step")
    max_forward = check_count(max_forward, "max_forward")
    rng = as_rng(rng)
    theta = as_float_array(theta0, "theta0", ndim=1).copy()
    P = theta.shape[0]
    loss = float(loss_fn(theta))
    passes = 1
    hist = PassHistory()
    hist.record(loss, passes, 0)
    while passes < max_forward:
        delta = np.zeros(P)
        if mode == "one":
            delta[rng.integers(P)] = step * rng.choice((-1.0, 1.0))
        else:
            delta = step * rng.standard_normal(P) / np.sqrt(P)  # same expected length as "one"
        trial = float(loss_fn(theta + delta))
        passes += 1
        if trial < loss:  # keep the change only if it helps
            theta, loss = theta + delta, trial
        hist.record(loss, passes, 0)
    return theta, hist


def gradient_descent(
    loss_and_grad: Callable[[np.ndarray], tuple[float, np.ndarray]],
    theta0,
    *,
    lr: float,
    steps: int,
) -> tuple[np.ndarray, PassHistory]:
    """Plain gradient descent θ ← θ − α ∇L(θ); each step is one forward and one backward pass.

    The history records the loss at θ before each step (what that forward pass measured) and,
    at the end, one last forward pass at the final θ.
    """
    lr = check_positive(lr, "lr")
    steps = check_count(steps, "steps", allow_zero=True)
    theta = as_float_array(theta0, "theta0", ndim=1).copy()
    hist = PassHistory()
    fwd = bwd = 0
    for _ in range(steps):
        loss, grad = loss_and_grad(theta)
        fwd, bwd = fwd + 1, bwd + 1
        grad = as_float_array(grad, "grad", ndim=1)
        check_finite(grad, "grad")
        hist.record(loss, fwd, bwd - 1)  # the loss is known after the forward half of the step
        theta = theta - lr * grad
    final, _ = loss_and_grad(theta)  # only its forward half is used: counted as one forward pass
    hist.record(final, fwd + 1, bwd)
    return theta, hist
