"""Small, seeded experiments the lecture notebooks run and assert on.

Each function returns plain numbers/arrays (dataclasses), never draws; the figures are in
:mod:`dlcourse.plots`.  Notebooks call these so that no algorithm is written in a notebook.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from dlcourse import data, losses, nn
from dlcourse.deepnets import ACTIVATIONS, build_mlp
from dlcourse.validation import as_float_array, as_rng, check_positive

# ---------------------------------------------------------------------------------------------
# Notebooks 03-04: initialization, optimizers
# ---------------------------------------------------------------------------------------------

def mlp(widths: Sequence[int], activation: str = "relu", init="he_normal", rng=None,
        last_activation: bool = True) -> nn.Sequential:
    """Linear(w₀, w₁), act, Linear(w₁, w₂), act, ...; ``last_activation=False`` ends on a Linear.

    :func:`dlcourse.deepnets.build_mlp` without its options, plus the optional last activation.
    """
    model = build_mlp(widths, activation, init=init, rng=rng)
    make = ACTIVATIONS[activation]
    return nn.Sequential(*model, make()) if last_activation and make is not None else model


@dataclass
class LayerStats:
    """Per hidden layer l = 1..L: pre-activations z_l, activations a_l and the back-propagated
    gradients dL/dz_l and dL/da_l (each an (N, width) array), for one random batch."""

    z: list[np.ndarray]
    a: list[np.ndarray]
    dz: list[np.ndarray]
    da: list[np.ndarray]

    def variances(self, what: str = "a") -> np.ndarray:
        """Var of every layer's ``what`` ∈ {"z", "a", "dz", "da"} over the batch and the units."""
        if what not in ("z", "a", "dz", "da"):
            raise ValueError(f"what must be 'z', 'a', 'dz' or 'da', got {what!r}")
        return np.array([float(np.var(v)) for v in getattr(self, what)])


def layer_statistics(depth: int = 10, width: int = 256, activation: str = "tanh", init="xavier_normal",
                     n: int = 1000, seed: int = 0, widths: Sequence[int] | None = None) -> LayerStats:
    """Forward a batch x ~ N(0, I) through a deep MLP and back-propagate dL/d(output) ~ N(0, I).

    ``widths`` (input first) overrides ``depth``/``width``; each hidden layer is Linear + activation.
    What deck 003 derives: with σ²_W = 1/fan_in (LeCun) Var(z) is preserved by a linear layer;
    with 2/fan_in (He) it is preserved through ReLU; Xavier's 2/(fan_in + fan_out) trades the
    forward and the backward constraint off.
    """
    rng = as_rng(seed)
    widths = [int(width)] * (int(depth) + 1) if widths is None else [int(w) for w in widths]
    model = mlp(widths, activation, init, rng)
    x = rng.normal(size=(int(n), widths[0]))
    blocks, i = [], 0
    layers = list(model)
    while i < len(layers):  # group (Linear, activation) pairs
        act = layers[i + 1] if i + 1 < len(layers) and not isinstance(layers[i + 1], nn.Linear) else None
        blocks.append((layers[i], act))
        i += 2 if act is not None else 1
    z_list, a_list = [], []
    h = x
    for lin, act in blocks:
        z = lin.forward(h)
        h = act.forward(z) if act is not None else z
        z_list.append(z)
        a_list.append(h)
    g = rng.normal(size=h.shape)
    dz_list, da_list = [], []
    for lin, act in reversed(blocks):
        da_list.append(g)
        g = act.backward(g) if act is not None else g  # dL/dz = dL/da ⊙ f'(z)
        dz_list.append(g)
        g = lin.backward(g)  # dL/d(a_{l−1}) = dL/dz_l W_l
    return LayerStats(z_list, a_list, dz_list[::-1], da_list[::-1])


# --- XOR: the starting point matters (deck 003) -------------------------------------------------


@dataclass
class XorRun:
    """One 2-4-1 sigmoid network trained on XOR: did it fail, and its loss curve."""

    seed: int
    failed: bool
    loss: np.ndarray
    model: nn.Sequential = field(repr=False)


def train_xor(init, seed: int, epochs: int = 1000, lr: float = 0.1, momentum: float = 0.99,
              hidden: int = 4, activation: str = "sigmoid") -> XorRun:
    """Deck 003's experiment: 2-``hidden``-1, sigmoid units, biases 0, BCE, SGD(lr, momentum), full batch.

    The output unit is a sigmoid too; it is fused into the loss (``bce_with_logits``), which is
    the same model with a numerically safe gradient.  ``failed`` = some XOR point is still
    misclassified after ``epochs`` full-batch steps.
    """
    from dlcourse.optim import SGD
    from dlcourse.train import fit

    X, y = data.xor()
    Y = y.reshape(-1, 1).astype(float)
    model = mlp([2, int(hidden), 1], activation, init, rng=np.random.default_rng(seed), last_activation=False)
    opt = SGD(model.parameters(), lr=lr, momentum=momentum)
    # one full batch per epoch: train_loss[k] is the loss before the k-th step
    history = fit(model, losses.bce_with_logits, opt, (X, Y), epochs=int(epochs), batch_size=None,
                  shuffle=False, metric=None, progress=False)
    curve = np.array(history.train_loss)
    logits = model(X)
    failed = bool(np.any((logits > 0) != (Y > 0.5)))  # σ(z) > ½ ⇔ z > 0
    return XorRun(int(seed), failed, curve, model)


def xor_failures(init, seeds: Sequence[int] = range(20), **kwargs) -> list[XorRun]:
    """:func:`train_xor` for every seed; count failures with ``sum(r.failed for r in runs)``."""
    return [train_xor(init, s, **kwargs) for s in seeds]


# --- Linear regression by gradient descent (deck 003: y = 3x + 2 + U(−0.1, 0.1)) ----------------


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
    """Φ = [1, x]: the design matrix of f_θ(x) = θᵀ[1, x] (deck 003), shape (N, 2)."""
    x = as_float_array(x, "x").reshape(-1)
    return np.column_stack([np.ones_like(x), x])


def linreg_loss_grad(theta, x, y) -> tuple[float, np.ndarray]:
    """L(θ) = mean((θ₀ + θ₁x − y)²) and ∇L = Φᵀ dL/dŷ (the chain rule through ``losses.mse``)."""
    phi = linreg_features(x)
    y = as_float_array(y, "y").reshape(-1)
    if y.shape[0] != phi.shape[0]:
        raise ValueError(f"x and y must have the same number of samples, got {phi.shape[0]} and {y.shape[0]}")
    loss, dpred = losses.mse(phi @ theta, y)
    return loss, phi.T @ dpred  # dL/dθ = Σ_n dL/dŷ_n · [1, x_n]


def least_squares(x, y) -> np.ndarray:
    """θ* = argmin mean((θ₀ + θ₁x − y)²), the closed form GD should reach."""
    return np.linalg.lstsq(linreg_features(x), as_float_array(y, "y").reshape(-1), rcond=None)[0]


def linreg_hessian(x) -> np.ndarray:
    """H = ∇²L = (2/N) ΦᵀΦ: constant for the squared loss; GD is stable iff η < 2/λ_max(H)."""
    phi = linreg_features(x)
    return 2.0 * phi.T @ phi / phi.shape[0]


def nesterov_classic(grad: Callable[[np.ndarray], np.ndarray], theta0, lr: float, momentum: float,
                     steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Sutskever et al.'s Nesterov momentum (deck 003), the gradient taken at the lookahead point.

    θ̃ = θ + μ v;  v ← μ v − ε ∇J(θ̃);  θ ← θ + v.  Returns (θ_k, v_k) for k = 0..steps; the
    reference that :class:`~dlcourse.optim.SimplifiedNesterov` (which stores Θ = θ + μ v) matches.
    """
    theta = as_float_array(theta0, "theta0", ndim=1).copy()
    v = np.zeros_like(theta)
    thetas, vs = [theta.copy()], [v.copy()]
    for _ in range(int(steps)):
        g = np.asarray(grad(theta + momentum * v), dtype=float)  # ∇J at θ̃ = θ + μv
        v = momentum * v - lr * g
        theta = theta + v
        thetas.append(theta.copy())
        vs.append(v.copy())
    return np.array(thetas), np.array(vs)


def linreg_gd(x, y, theta0=(10.0, 5.0), lr: float = 0.005, batch_size: int | None = None,
              epochs: int = 1000, tol: float | None = None, optimizer: Callable | None = None,
              seed: int = 0, scheduler: Callable | None = None) -> GDPath:
    """Fit f_θ(x) = θ₀ + θ₁x by batch (``batch_size=None``), stochastic (1) or mini-batch GD.

    ``optimizer(params)`` builds any :mod:`dlcourse.optim` optimizer (default ``SGD(lr)``).
    Each epoch visits the samples once in a fresh random order (``seed``); training stops after
    the first epoch whose excess loss L(θ) − L(θ*) is below ``tol`` (None: run every epoch).
    ``scheduler(optimizer)`` builds a learning-rate schedule, stepped once per epoch.
    """
    from dlcourse.optim import SGD

    phi = linreg_features(x)
    y = as_float_array(y, "y").reshape(-1)
    n = phi.shape[0]
    if y.shape[0] != n:
        raise ValueError(f"x and y must have the same number of samples, got {n} and {y.shape[0]}")
    bs = n if batch_size is None else int(batch_size)
    if not 1 <= bs <= n:
        raise ValueError(f"batch_size must be in [1, {n}] or None, got {batch_size}")
    check_positive(lr, "lr")
    theta = nn.Parameter(as_float_array(theta0, "theta0", ndim=1))
    if theta.shape != (2,):
        raise ValueError(f"theta0 must be (θ₀, θ₁), shape (2,), got {theta.shape}")
    opt = optimizer([theta]) if optimizer is not None else SGD([theta], lr=lr)
    sched = scheduler(opt) if scheduler is not None else None
    l_star = linreg_loss_grad(least_squares(x, y), x, y)[0]
    rng = np.random.default_rng(seed)
    thetas, epoch_thetas, curve = [theta.data.copy()], [theta.data.copy()], []
    converged = False
    epoch = 0
    for epoch in range(1, int(epochs) + 1):
        for phi_b, y_b in data.batches(phi, y, bs, shuffle=bs < n, rng=rng):  # a fresh order each epoch
            opt.zero_grad()
            _, g = linreg_loss_grad(theta.data, phi_b[:, 1], y_b)
            theta.grad = g
            opt.step()
            if not np.all(np.abs(theta.data) < 1e100):  # diverging: stop before the loss overflows
                raise FloatingPointError(f"gradient descent diverged at epoch {epoch} (θ = {theta.data}); lower lr")
            thetas.append(theta.data.copy())
        if sched is not None:
            sched.step()
        epoch_thetas.append(theta.data.copy())
        curve.append(linreg_loss_grad(theta.data, x, y)[0])
        if tol is not None and curve[-1] - l_star < tol:
            converged = True
            break
    return GDPath(np.array(thetas), np.array(epoch_thetas), np.array(curve), epoch, converged)


# --- Optimizers on a real task: an MLP on scikit-learn's digits ---------------------------------


def compare_optimizers_digits(optimizers: dict[str, Callable], epochs: int = 20, hidden: int = 64,
                              batch_size: int = 64, seed: int = 0) -> dict:
    """Train the same 64-``hidden``-10 ReLU MLP (same initial weights) with each optimizer factory.

    Inputs are z-scored with a :class:`~dlcourse.data.Standardizer` fitted on the training split.
    Returns ``{name: History}`` from :func:`dlcourse.train.fit`.
    """
    from dlcourse.train import fit

    X, y = data.digits()
    Xtr, Xva, _, ytr, yva, _ = data.train_val_test_split(X, y, val=0.2, test=0.0, seed=seed, stratify=True)
    scaler = data.Standardizer().fit(Xtr)
    Xtr, Xva = scaler.transform(Xtr), scaler.transform(Xva)
    results = {}
    for name, factory in optimizers.items():
        model = mlp([X.shape[1], int(hidden), 10], "relu", "he_normal", rng=np.random.default_rng(seed),
                    last_activation=False)
        results[name] = fit(model, losses.softmax_cross_entropy, factory(model.parameters()),
                            train=(Xtr, ytr), val=(Xva, yva), epochs=int(epochs), batch_size=batch_size,
                            rng=np.random.default_rng(seed), progress=False)
    return results
