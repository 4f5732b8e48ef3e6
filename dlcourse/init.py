"""Weight initialisation schemes.  Each returns a new array of the given ``shape``.

Shapes follow torch: a Linear weight is ``(fan_out, fan_in)``; a conv kernel is
``(out_channels, in_channels, *kernel)`` and its fans are multiplied by the receptive field.
Variances (LeCun et al., 1998; Glorot & Bengio, 2010; He et al., 2015):

=============  =======================  =====================================
scheme         distribution             variance
=============  =======================  =====================================
lecun_normal   N(0, σ²)                 1 / fan_in
lecun_uniform  U(−a, a)                 a²/3 = 1 / fan_in
xavier_normal  N(0, σ²)                 2 / (fan_in + fan_out)
xavier_uniform U(−a, a)                 a²/3 = 2 / (fan_in + fan_out)
he_normal      N(0, σ²)                 2 / fan_in
he_uniform     U(−a, a)                 a²/3 = 2 / fan_in
=============  =======================  =====================================

Each scaled scheme takes torch's ``gain`` (``calculate_gain``): the variance is multiplied by
gain²; He's schemes take torch's ``a`` and ``nonlinearity`` instead (gain √(2/(1 + a²))).
Every function has the signature ``f(shape, ..., rng=None, dtype=np.float64)`` so
``Linear(init=...)`` accepts it by name (``SCHEMES``) or as a callable.  Random schemes draw
in float64 and round to ``dtype``, so one seed gives the same weights in every dtype (up to
rounding), as a float32 copy of a float64 model.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

from dlcourse.validation import as_float_dtype, as_rng, check_positive

Shape = tuple[int, ...]
Initializer = Callable[..., np.ndarray]


def _shape(shape) -> Shape:
    shape = (int(shape),) if np.ndim(shape) == 0 else tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ValueError(f"shape must hold non-negative sizes, got {shape}")
    return shape


def fan_in_fan_out(shape) -> tuple[int, int]:
    """Return ``(fan_in, fan_out)`` of a weight of ``shape`` = (out, in, *receptive field)."""
    shape = _shape(shape)
    if len(shape) < 2:
        raise ValueError(f"fan_in and fan_out need a weight with at least 2 dimensions, got shape {shape}")
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def zeros(shape, rng=None, dtype=np.float64) -> np.ndarray:
    """All zeros: every unit computes the same function, so symmetry is never broken."""
    return np.zeros(_shape(shape), dtype=as_float_dtype(dtype))


def constant(shape, value: float = 0.0, rng=None, dtype=np.float64) -> np.ndarray:
    """Every entry equal to ``value`` (fails to break symmetry, like zeros)."""
    return np.full(_shape(shape), float(value), dtype=as_float_dtype(dtype))


def normal(shape, std: float = 0.01, mean: float = 0.0, rng=None, dtype=np.float64) -> np.ndarray:
    """Entries drawn from N(mean, std²) (in float64, then rounded to ``dtype``)."""
    check_positive(std, "std", allow_zero=True)
    dt = as_float_dtype(dtype)
    return as_rng(rng).normal(mean, std, size=_shape(shape)).astype(dt, copy=False)


def uniform(shape, a: float = 1.0, rng=None, dtype=np.float64) -> np.ndarray:
    """Entries drawn from U(−a, a), variance a²/3 (in float64, then rounded to ``dtype``)."""
    check_positive(a, "a", allow_zero=True)
    dt = as_float_dtype(dtype)
    return as_rng(rng).uniform(-a, a, size=_shape(shape)).astype(dt, copy=False)


def calculate_gain(nonlinearity: str = "linear", param: float | None = None) -> float:
    """Recommended gain for a non-linearity, as ``torch.nn.init.calculate_gain``.

    linear/conv/sigmoid: 1; tanh: 5/3; relu: √2; leaky_relu(a): √(2/(1 + a²)); selu: 3/4.
    """
    linear = ("linear", "identity", "sigmoid", "conv1d", "conv2d", "conv3d",
              "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope**2))  # He et al., 2015, for PReLU: ½(1 + a²) n σ² = 1
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"unsupported nonlinearity {nonlinearity!r}; expected one of "
                     f"{sorted(linear + ('tanh', 'relu', 'leaky_relu', 'selu'))}")


def ones(shape, rng=None, dtype=np.float64) -> np.ndarray:
    """All ones (as zeros: every unit of a layer stays identical)."""
    return constant(shape, 1.0, dtype=dtype)


def lecun_normal(shape, gain: float = 1.0, rng=None, dtype=np.float64) -> np.ndarray:
    """N(0, gain²/fan_in): keeps Var(z) = Var(x) through a linear layer (LeCun et al., 1998)."""
    fan_in, _ = fan_in_fan_out(shape)
    return normal(shape, std=gain * np.sqrt(1.0 / fan_in), rng=rng, dtype=dtype)


def lecun_uniform(shape, gain: float = 1.0, rng=None, dtype=np.float64) -> np.ndarray:
    """U(−a, a) with a = gain · sqrt(3/fan_in), the uniform twin of :func:`lecun_normal`."""
    fan_in, _ = fan_in_fan_out(shape)
    return uniform(shape, a=gain * np.sqrt(3.0 / fan_in), rng=rng, dtype=dtype)


def xavier_normal(shape, gain: float = 1.0, rng=None, dtype=np.float64) -> np.ndarray:
    """N(0, gain² · 2/(fan_in + fan_out)) (Glorot & Bengio, 2010), as torch.nn.init.xavier_normal_."""
    fan_in, fan_out = fan_in_fan_out(shape)
    return normal(shape, std=gain * np.sqrt(2.0 / (fan_in + fan_out)), rng=rng, dtype=dtype)


def xavier_uniform(shape, gain: float = 1.0, rng=None, dtype=np.float64) -> np.ndarray:
    """U(−a, a) with a = gain · sqrt(6/(fan_in + fan_out)), as torch.nn.init.xavier_uniform_."""
    fan_in, fan_out = fan_in_fan_out(shape)
    return uniform(shape, a=gain * np.sqrt(6.0 / (fan_in + fan_out)), rng=rng, dtype=dtype)


def _he_fan(shape, mode: str) -> int:
    fan_in, fan_out = fan_in_fan_out(shape)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    return fan_in if mode == "fan_in" else fan_out


def he_normal(shape, mode: str = "fan_in", rng=None, *, a: float = 0.0,
              nonlinearity: str = "leaky_relu", dtype=np.float64) -> np.ndarray:
    """N(0, gain²/fan), gain = √(2/(1 + a²)) → 2/fan for ReLU (He et al., 2015); as torch.nn.init.kaiming_normal_."""
    std = calculate_gain(nonlinearity, a) / np.sqrt(_he_fan(shape, mode))
    return normal(shape, std=std, rng=rng, dtype=dtype)


def he_uniform(shape, mode: str = "fan_in", rng=None, *, a: float = 0.0,
               nonlinearity: str = "leaky_relu", dtype=np.float64) -> np.ndarray:
    """U(−b, b), b = gain·sqrt(3/fan) → sqrt(6/fan) for ReLU; as torch.nn.init.kaiming_uniform_."""
    bound = calculate_gain(nonlinearity, a) * np.sqrt(3.0 / _he_fan(shape, mode))
    return uniform(shape, a=bound, rng=rng, dtype=dtype)


SCHEMES: dict[str, Initializer] = {
    "zeros": zeros,
    "ones": ones,
    "constant": constant,
    "normal": normal,
    "uniform": uniform,
    "lecun_normal": lecun_normal,
    "lecun_uniform": lecun_uniform,
    "xavier_normal": xavier_normal,
    "xavier_uniform": xavier_uniform,
    "he_normal": he_normal,
    "he_uniform": he_uniform,
}


def get(init: str | Initializer, **kwargs) -> Initializer:
    """Resolve an initializer given by name (see ``SCHEMES``) or return a callable unchanged.

    Keyword arguments are bound to it, e.g. ``get("normal", std=0.5)`` or
    ``get("he_normal", mode="fan_out")``; the result is called as ``f(shape, rng=rng)``.
    """
    if callable(init):
        fn = init
    elif isinstance(init, str):
        try:
            fn = SCHEMES[init]
        except KeyError:
            raise ValueError(f"unknown init {init!r}; expected a callable or one of {sorted(SCHEMES)}") from None
    else:
        raise TypeError(f"init must be a scheme name or a callable, got {type(init).__name__}")
    return functools.partial(fn, **kwargs) if kwargs else fn
