"""What vanishing gradients look like *during* training: per-layer numbers worth watching.

The Sharif lecture (see docs/references.md) lists the symptoms: the loss improves very slowly,
the layers near the input barely change while those near the output do, the weights shrink.
Three numbers per layer make them visible:

* the gradient norm ‖∂L/∂W_l‖_F of every Linear layer l;
* the update/weight ratio ‖W_l(t+1) − W_l(t)‖_F / ‖W_l(t)‖_F of one optimizer step — around
  1e-3 for a layer that learns at a healthy pace with SGD (a rule of thumb of the CS231n notes),
  orders of magnitude less for a layer that does not move;
* the fraction of dead ReLUs: units whose output is 0 for every sample of a probe batch, so that
  no gradient reaches their incoming weights (Maas et al., 2013; He et al., 2015).

:class:`TrainingDiagnostics` records them as a :func:`dlcourse.train.fit` callback.
"""

from __future__ import annotations

import numpy as np

from dlcourse import nn
from dlcourse.validation import as_float_array, check_count

__all__ = ["linear_layers", "layer_grad_norms", "layer_weight_norms", "dead_relu_fraction",
           "TrainingDiagnostics"]


def _check_sequential(model) -> nn.Sequential:
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"model must be a dlcourse.nn.Sequential, got {type(model).__name__}")
    return model


def linear_layers(model) -> list[nn.Linear]:
    """The Linear modules of a Sequential, input side first."""
    layers = [m for m in _check_sequential(model) if isinstance(m, nn.Linear)]
    if not layers:
        raise ValueError("model has no Linear layer to diagnose")
    return layers


def layer_grad_norms(model) -> np.ndarray:
    """‖∂L/∂W_l‖_F of every Linear layer's weight (input side first), from the current ``.grad``."""
    return np.array([float(np.linalg.norm(lin.weight.grad)) for lin in linear_layers(model)])


def layer_weight_norms(model) -> np.ndarray:
    """‖W_l‖_F of every Linear layer's weight (input side first)."""
    return np.array([float(np.linalg.norm(lin.weight.data)) for lin in linear_layers(model)])


def dead_relu_fraction(model, X) -> np.ndarray:
    """For every ReLU module of ``model`` (input side first): the fraction of its units that output
    0 for every row of ``X``.

    A dead unit has z ≤ 0 on the whole probe batch, so ReLU'(z) = 0 there and its incoming
    weights receive no gradient from these samples.  The probe runs in eval mode; the mode is
    restored.  Returns an empty array for a model without ReLU.
    """
    model = _check_sequential(model)
    X = as_float_array(X, "X", ndim=2)
    if X.shape[0] == 0:
        raise ValueError("X must hold at least one probe sample, got 0 rows")
    was_training = model.training
    model.eval()
    fractions = []
    try:
        h = X
        for module in model:
            h = module.forward(h)
            if isinstance(module, nn.ReLU):
                fractions.append(float(np.mean(np.all(h <= 0.0, axis=0))))
    finally:
        model.train(was_training)
    return np.array(fractions)


class TrainingDiagnostics:
    """A :func:`dlcourse.train.fit` callback: every ``every`` optimizer steps, per Linear layer,
    the gradient norm and the update/weight ratio of that step, and (with ``X_probe``) the
    fraction of dead units of every ReLU.

    After training, ``steps`` (T,) holds the step counts (1 = after the first step),
    ``grad_norms`` and ``update_ratios`` are (T, L) arrays, ``dead`` is (T, number of ReLUs)
    (or (T, 0) without a probe).  ``dead_at_start`` is measured before the first step.
    """

    def __init__(self, model, X_probe=None, every: int = 1) -> None:
        self.model = _check_sequential(model)
        self.layers = linear_layers(model)
        self.every = check_count(every, "every")
        self.X = None if X_probe is None else as_float_array(X_probe, "X_probe", ndim=2)
        self.steps: list[int] = []
        self._grad: list[np.ndarray] = []
        self._ratio: list[np.ndarray] = []
        self._dead: list[np.ndarray] = []
        self._count = 0
        # the weights before the step that will be recorded next (the first step is recorded
        # when every == 1)
        self._before = self._snapshot() if self.every == 1 else None
        self.dead_at_start = np.zeros(0) if self.X is None else dead_relu_fraction(model, self.X)

    def _snapshot(self) -> list[np.ndarray]:
        return [lin.weight.data.copy() for lin in self.layers]

    def on_batch_end(self, epoch: int, batch: int, loss: float) -> None:
        """Called by ``fit`` after each optimizer step (the step's gradients are still in ``.grad``)."""
        self._count += 1
        if self._count % self.every == 0:
            assert self._before is not None
            after = self._snapshot()
            self.steps.append(self._count)
            self._grad.append(layer_grad_norms(self.model))
            # ‖ΔW‖ / ‖W‖ of this one step, the weights before it as the reference
            self._ratio.append(np.array([np.linalg.norm(a - b) / max(np.linalg.norm(b), np.finfo(float).tiny)
                                         for a, b in zip(after, self._before, strict=True)]))
            if self.X is not None:
                self._dead.append(dead_relu_fraction(self.model, self.X))
        # keep a copy of the weights only before a step that will be recorded
        self._before = self._snapshot() if (self._count + 1) % self.every == 0 else None

    def __call__(self, epoch, history, model) -> bool:
        return False  # never stops training

    @property
    def grad_norms(self) -> np.ndarray:
        return np.array(self._grad).reshape(len(self.steps), len(self.layers))

    @property
    def update_ratios(self) -> np.ndarray:
        return np.array(self._ratio).reshape(len(self.steps), len(self.layers))

    @property
    def dead(self) -> np.ndarray:
        n_relu = self.dead_at_start.size
        return np.array(self._dead).reshape(len(self.steps), n_relu)
