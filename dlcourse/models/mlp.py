"""The multi-layer perceptron of the course: one builder, :func:`build_mlp`, for every depth,
width, activation, initialisation and regulariser the notebooks vary.

Its torch twin is ``dlcourse.torch.to_torch_module(build_mlp(...))``: the same layers with the
same weights.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from dlcourse import nn
from dlcourse.validation import as_rng, check_choice, check_count, check_positive, check_probability

# name → module class; "linear" (None) adds no activation layer (a deep linear network).
ACTIVATION_MODULES: dict[str, Callable[[], nn.Module] | None] = {
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
    last_activation: bool = False,
    rng=None,
) -> nn.Sequential:
    """An MLP ``sizes[0] → … → sizes[-1]`` with a linear output (logits).

    Each hidden layer is Linear → [BatchNorm1d] → activation → [Dropout(dropout)]: BN sits
    between the affine map and the non-linearity, g(BN(Wx)), as in the PyTorch lecture notes (see docs/references.md) and Ioffe & Szegedy
    (2015), and then the Linear layer has no bias (β plays its role).  ``input_noise`` adds a
    :class:`~dlcourse.nn.GaussianNoise` and ``input_dropout`` a Dropout on the input.
    ``activation`` names an entry of ``ACTIVATION_MODULES`` ("linear": no activation layer);
    ``last_activation=True`` applies it to the output too (a stack of identical layers, as the
    initialisation experiments use).
    All randomness (weights, masks, noise) comes from ``rng``.
    """
    sizes = [check_count(s, f"sizes[{i}]") for i, s in enumerate(sizes)]
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least two layer widths (input and output), got {sizes}")
    check_choice(activation, ACTIVATION_MODULES, "activation")
    # a NaN here would fail every `> 0` below and silently build the network without the layer
    dropout = check_probability(dropout, "dropout")
    input_dropout = check_probability(input_dropout, "input_dropout")
    input_noise = check_positive(input_noise, "input_noise", allow_zero=True)
    rng = as_rng(rng)
    layers: list[nn.Module] = []
    if input_noise > 0:
        layers.append(nn.GaussianNoise(input_noise, rng=rng))
    if input_dropout > 0:
        layers.append(nn.Dropout(input_dropout, rng=rng))
    for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        last = i == len(sizes) - 2
        layers.append(nn.Linear(d_in, d_out, init=init, bias=last or not batchnorm, rng=rng))
        if last and not last_activation:
            break
        if batchnorm and not last:
            layers.append(nn.BatchNorm1d(d_out))
        act = ACTIVATION_MODULES[activation]
        if act is not None:
            layers.append(act())
        if dropout > 0 and not last:
            layers.append(nn.Dropout(dropout, rng=rng))
    return nn.Sequential(*layers)


