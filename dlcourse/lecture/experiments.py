"""Small, seeded experiments the lecture notebooks run and assert on (notebooks 03, 04, 06).

Each function returns plain numbers/arrays (dataclasses), never draws; the figures are in
:mod:`dlcourse.lecture.plots`.  Notebooks call these so that no algorithm is written in a notebook.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from dlcourse import data, losses, nn
from dlcourse.models.mlp import build_mlp
from dlcourse.validation import (
    as_float_array,
    as_rng,
    check_choice,
    check_count,
    check_positive,
    check_probability,
)

# ---------------------------------------------------------------------------------------------
# Notebooks 03-04: initialization, optimizers
# ---------------------------------------------------------------------------------------------

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
        check_choice(what, ("z", "a", "dz", "da"), "what")
        return np.array([float(np.var(v)) for v in getattr(self, what)])


def record_layers(model: nn.Sequential, x: np.ndarray, dout: Callable[[np.ndarray], np.ndarray]
                  ) -> tuple[list[tuple[nn.Linear, nn.Module | None]], LayerStats]:
    """Run ``model`` forward on ``x`` and back-propagate ``dout(output)``, keeping every layer's
    z_l, a_l, dL/dz_l and dL/da_l; returns the (Linear, activation or None) blocks and the record.

    Each Linear's parameter gradients accumulate as in any backward pass.  A model with any
    other layout (BatchNorm between a Linear and its activation) is refused: it would be
    recorded wrongly.
    """
    blocks: list[tuple[nn.Linear, nn.Module | None]] = []
    for i, layer in enumerate(model):
        if isinstance(layer, nn.Linear):
            blocks.append((layer, None))
        elif blocks and blocks[-1][1] is None:
            blocks[-1] = (blocks[-1][0], layer)  # the activation right after a Linear
        else:
            after = "comes before any Linear" if not blocks else f"is a second layer after Linear {len(blocks)}, " \
                f"behind {type(blocks[-1][1]).__name__}"
            raise ValueError(f"record_layers needs Linear layers, each followed by at most one activation; "
                             f"layer {i} ({type(layer).__name__}) {after}")
    z_list, a_list = [], []
    h = x
    for lin, act in blocks:
        z = lin.forward(h)
        h = act.forward(z) if act is not None else z
        z_list.append(z)
        a_list.append(h)
    g = dout(h)
    dz_list, da_list = [], []
    for lin, act in reversed(blocks):
        da_list.append(g)
        g = act.backward(g) if act is not None else g  # dL/dz = dL/da ⊙ f'(z)
        dz_list.append(g)
        g = lin.backward(g)  # dL/d(a_{l−1}) = dL/dz_l W_l
    return blocks, LayerStats(z_list, a_list, dz_list[::-1], da_list[::-1])


def layer_statistics(depth: int = 10, width: int = 256, activation: str = "tanh", init="xavier_normal",
                     n: int = 1000, rng: np.random.Generator | int | None = 0,
                     widths: Sequence[int] | None = None) -> LayerStats:
    """Forward a batch x ~ N(0, I) through a deep MLP and back-propagate dL/d(output) ~ N(0, I).

    ``widths`` (input first) overrides ``depth``/``width``; each hidden layer is Linear + activation.
    What the PyTorch lecture notes derive (see docs/references.md): with σ²_W = 1/fan_in (LeCun)
    Var(z) is preserved by a linear layer; with 2/fan_in (He) it is preserved through ReLU;
    Xavier's 2/(fan_in + fan_out) trades the forward and the backward constraint off.
    The weights, the batch and dL/d(output) are drawn from ``rng``, in that order.
    """
    if widths is None:
        widths = [check_count(width, "width")] * (check_count(depth, "depth") + 1)
    n = check_count(n, "n")
    rng = as_rng(rng)
    model = build_mlp(widths, activation, init=init, last_activation=True, rng=rng)  # checks the widths
    x = rng.normal(size=(n, model[0].weight.shape[1]))
    _, stats = record_layers(model, x, lambda out: rng.normal(size=out.shape))
    return stats


# --- XOR: the starting point matters (PyTorch lecture notes) ---------------------------------


@dataclass
class XorRun:
    """One 2-4-1 sigmoid network trained on XOR: did it fail, and its loss curve.

    ``seed`` is the int seed the run was drawn from (None when it drew from a Generator, whose
    draws no seed replays).
    """

    seed: int | None
    failed: bool
    loss: np.ndarray
    model: nn.Sequential = field(repr=False)


def train_xor(init, rng: np.random.Generator | int | None, epochs: int = 1000, lr: float = 0.1, momentum: float = 0.99,
              hidden: int = 4, activation: str = "sigmoid") -> XorRun:
    """The lecture notes' experiment: 2-``hidden``-1, sigmoid units, biases 0, BCE, SGD(lr, momentum), full batch.

    The output unit is a sigmoid too; it is fused into the loss (``binary_cross_entropy_with_logits``), which is
    the same model with a numerically safe gradient.  ``failed`` = some XOR point is still
    misclassified after ``epochs`` full-batch steps.  ``rng`` (an int seed or a Generator) draws
    the initial weights.
    """
    from dlcourse.optim import SGD
    from dlcourse.train import fit

    X, y = data.xor()
    Y = y.reshape(-1, 1).astype(float)
    seed = int(rng) if isinstance(rng, (int, np.integer)) and not isinstance(rng, (bool, np.bool_)) else None
    model = build_mlp([2, int(hidden), 1], activation, init=init, rng=as_rng(rng))
    opt = SGD(model.parameters(), lr=lr, momentum=momentum)
    # one full batch per epoch: train_loss[k] is the loss before the k-th step
    history = fit(model, losses.binary_cross_entropy_with_logits, opt, (X, Y), epochs=int(epochs), batch_size=None,
                  shuffle=False, metric=None, progress=False)
    curve = np.array(history.train_loss)
    logits = model(X)
    failed = bool(np.any((logits > 0) != (Y > 0.5)))  # σ(z) > ½ ⇔ z > 0
    return XorRun(seed, failed, curve, model)


def xor_failures(init, seeds: Sequence[int] = range(20), **kwargs) -> list[XorRun]:
    """:func:`train_xor` for every seed; count failures with ``sum(r.failed for r in runs)``."""
    return [train_xor(init, s, **kwargs) for s in seeds]


# --- Linear regression by gradient descent (lecture notes: y = 3x + 2 + U(−0.1, 0.1)) ---------


def nesterov_classic(grad: Callable[[np.ndarray], np.ndarray], theta0, lr: float, momentum: float,
                     steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Classic Nesterov momentum (Sutskever et al., 2013), the gradient taken at the lookahead point.

    θ̃ = θ + μ v;  v ← μ v − ε ∇J(θ̃);  θ ← θ + v.  Returns (θ_k, v_k) for k = 0..steps; the
    reference that :class:`~dlcourse.optim.SimplifiedNesterov` (which stores Θ = θ + μ v) matches.
    """
    lr = check_positive(lr, "lr")
    momentum = check_probability(momentum, "momentum")
    steps = check_count(steps, "steps", allow_zero=True)
    theta = as_float_array(theta0, "theta0", ndim=1).copy()
    v = np.zeros_like(theta)
    thetas, vs = [theta.copy()], [v.copy()]
    for _ in range(steps):
        g = np.asarray(grad(theta + momentum * v), dtype=float)  # ∇J at θ̃ = θ + μv
        v = momentum * v - lr * g
        theta = theta + v
        thetas.append(theta.copy())
        vs.append(v.copy())
    return np.array(thetas), np.array(vs)


# --- Optimizers on a real task: an MLP on scikit-learn's digits ---------------------------------


def compare_optimizers_digits(optimizers: dict[str, Callable], epochs: int = 20, hidden: int = 64,
                              batch_size: int = 64, rng: np.random.Generator | int | None = 0,
                              progress: bool = True) -> dict:
    """Train the same 64-``hidden``-10 ReLU MLP (same initial weights) with each optimizer factory.

    Inputs are z-scored with a :class:`~dlcourse.data.Standardizer` fitted on the training split.
    ``rng`` draws the split, then one seed for the initial weights and one for the batch order,
    both shared by every optimizer so that only the optimizer differs between the runs.
    Returns ``{name: History}`` from :func:`dlcourse.train.fit` (``progress``: its tqdm bar per run).
    """
    from dlcourse.train import fit

    epochs, hidden = check_count(epochs, "epochs"), check_count(hidden, "hidden")
    rng = as_rng(rng)
    X, y = data.digits()
    Xtr, Xva, _, ytr, yva, _ = data.train_val_test_split(X, y, val=0.2, test=0.0, rng=rng, stratify=True)
    init_seed, order_seed = (int(s) for s in rng.integers(2**32, size=2))
    scaler = data.Standardizer().fit(Xtr)
    Xtr, Xva = scaler.transform(Xtr), scaler.transform(Xva)
    results = {}
    for name, factory in optimizers.items():
        model = build_mlp([X.shape[1], hidden, 10], "relu", init="he_normal", rng=init_seed)
        results[name] = fit(model, losses.cross_entropy, factory(model.parameters()),
                            train=(Xtr, ytr), val=(Xva, yva), epochs=epochs, batch_size=batch_size,
                            rng=order_seed, progress=progress)
    return results


def first_epoch_reaching(values: Sequence[float] | np.ndarray, target: float) -> int | None:
    """The 1-based number of epochs after which ``values`` first reaches ``target`` (None: never)."""
    hits = np.flatnonzero(np.asarray(values, dtype=float) >= target)
    return int(hits[0]) + 1 if hits.size else None


class ActivationPercentiles:
    """A :func:`dlcourse.train.fit` callback: every ``every`` batches, the ``q`` percentiles of
    the input of one unit of a hidden layer over a fixed probe batch.

    ``layer`` indexes the Sequential: the recorded value is ``model[:layer](X_probe)[:, unit]``,
    i.e. what enters module ``layer`` (pass the index of a Sigmoid to get its input).  The probe
    is run in eval mode (so BatchNorm's running statistics are neither used for training nor
    changed) and the mode is restored.  ``steps`` and ``values`` (rows of percentiles) grow as
    training goes.
    """

    def __init__(self, model: nn.Sequential, X_probe, layer: int, unit: int = 0, every: int = 5,
                 q: Sequence[float] = (15, 50, 85)) -> None:
        if not isinstance(model, nn.Sequential):
            raise TypeError(f"model must be a dlcourse.nn.Sequential, got {type(model).__name__}")
        layer = check_count(layer, "layer", high=len(model))  # model[:layer] must hold a module
        self.model, self.layer, self.unit = model, layer, check_count(unit, "unit", allow_zero=True)
        self.X = as_float_array(X_probe, "X_probe", ndim=2)
        self.every = check_count(every, "every")
        self.q = tuple(float(v) for v in q)
        if not all(0 <= v <= 100 for v in self.q):
            raise ValueError(f"q must hold percentiles in [0, 100], got {q}")
        self.steps: list[int] = []
        self.values: list[np.ndarray] = []
        self._count = 0
        self.record()  # before the first step

    def record(self) -> None:
        was_training = self.model.training
        self.model.eval()
        try:
            z = self.model[: self.layer].forward(self.X)[:, self.unit]
        finally:
            self.model.train(was_training)
        self.steps.append(self._count)
        self.values.append(np.percentile(z, self.q))

    def on_batch_end(self, epoch: int, batch: int, loss: float) -> None:
        self._count += 1
        if self._count % self.every == 0:
            self.record()

    def __call__(self, epoch, history, model) -> bool:
        return False  # nothing to do at the end of an epoch; never stops training

    def as_array(self) -> tuple[np.ndarray, np.ndarray]:
        """(steps (T,), percentiles (T, len(q)))."""
        return np.array(self.steps), np.vstack(self.values)
