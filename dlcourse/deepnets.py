"""Multi-layer perceptrons built from :mod:`dlcourse.nn` layers, and measurements used by the
regularization and batch-normalization notebooks (05, 06): the first epoch that reaches a
target accuracy, and the percentiles of a hidden layer's inputs during training (the small-scale
version of Ioffe & Szegedy's 2015 figure 1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from dlcourse import nn
from dlcourse.validation import as_float_array, as_rng

# name → module class; "linear" (None) adds no activation layer (a deep linear network).
ACTIVATIONS: dict[str, Callable[[], nn.Module] | None] = {
    "linear": None, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "lecun_tanh": nn.LeCunTanh,
    "relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "elu": nn.ELU,
}


def build_mlp(
    sizes: Sequence[int],
    activation: str = "relu",
    *,
    batchnorm: bool = False,
    dropout: float = 0.0,
    input_dropout: float = 0.0,
    input_noise: float = 0.0,
    init="he_normal",
    rng=None,
) -> nn.Sequential:
    """An MLP ``sizes[0] → … → sizes[-1]`` with a linear output (logits).

    Each hidden layer is Linear → [BatchNorm1d] → activation → [Dropout(dropout)]: BN sits
    between the affine map and the non-linearity, g(BN(Wx)), as in deck 003 and Ioffe & Szegedy
    (2015), and then the Linear layer has no bias (β plays its role).  ``input_noise`` adds a
    :class:`~dlcourse.regularization.GaussianNoise` and ``input_dropout`` a Dropout on the input.
    ``activation`` names an entry of ``ACTIVATIONS`` ("linear": no activation layer).
    All randomness (weights, masks, noise) comes from ``rng``.
    """
    from dlcourse.regularization import GaussianNoise

    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"sizes must list at least two positive layer widths, got {sizes}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    rng = as_rng(rng)
    layers: list[nn.Module] = []
    if input_noise > 0:
        layers.append(GaussianNoise(input_noise, rng=rng))
    if input_dropout > 0:
        layers.append(nn.Dropout(input_dropout, rng=rng))
    for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        last = i == len(sizes) - 2
        layers.append(nn.Linear(d_in, d_out, init=init, bias=last or not batchnorm, rng=rng))
        if last:
            break
        if batchnorm:
            layers.append(nn.BatchNorm1d(d_out))
        if ACTIVATIONS[activation] is not None:
            layers.append(ACTIVATIONS[activation]())
        if dropout > 0:
            layers.append(nn.Dropout(dropout, rng=rng))
    return nn.Sequential(*layers)


def first_epoch_reaching(values: Sequence[float], target: float) -> int | None:
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
        if not 0 < int(layer) <= len(model):
            raise ValueError(f"layer must index a module of the model (1..{len(model)}), got {layer}")
        self.model, self.layer, self.unit = model, int(layer), int(unit)
        self.X = as_float_array(X_probe, "X_probe", ndim=2)
        self.every, self.q = int(every), tuple(float(v) for v in q)
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
