"""Input checks at the package boundary: clear errors that name what was expected and what came."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def as_float_array(x, name: str = "x", *, ndim: int | Sequence[int] | None = None) -> np.ndarray:
    """Return ``x`` as a real floating ndarray (ints and bools become float64), checking its rank."""
    arr = np.asarray(x)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.complexfloating):  # astype(float) would silently drop the imaginary part
        raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(f"{name} must be {want}, got shape {arr.shape}")
    return arr


def check_shape(arr: np.ndarray, expected: tuple, name: str = "x") -> None:
    """Raise ValueError unless ``arr.shape`` matches ``expected`` (``None`` entries match any size)."""
    ok = arr.ndim == len(expected) and all(e is None or e == s for e, s in zip(expected, arr.shape, strict=True))
    if not ok:
        want = "(" + ", ".join("*" if e is None else str(e) for e in expected) + ")"
        raise ValueError(f"{name} must have shape {want}, got {arr.shape}")


def check_same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    """Raise ValueError when two arrays that must align element-wise have different shapes."""
    if np.shape(a) != np.shape(b):
        raise ValueError(f"{name_a} and {name_b} must have the same shape, got {np.shape(a)} and {np.shape(b)}")


def check_finite(arr: np.ndarray, name: str = "x") -> None:
    """Raise FloatingPointError when ``arr`` holds NaN or inf (so bad values never spread silently)."""
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise FloatingPointError(f"{name} holds {bad} non-finite value(s) (NaN or inf)")


def check_probability(p: float, name: str = "p", *, inclusive_high: bool = False) -> float:
    """Check ``0 <= p < 1`` (or ``<= 1``) and return it as a float."""
    p = float(p)
    high_ok = p <= 1 if inclusive_high else p < 1
    if not (0 <= p and high_ok):
        bound = "[0, 1]" if inclusive_high else "[0, 1)"
        raise ValueError(f"{name} must lie in {bound}, got {p}")
    return p


def check_positive(value: float, name: str, *, allow_zero: bool = False) -> float:
    """Check a hyper-parameter is positive (or non-negative) and return it as a float."""
    value = float(value)
    if not (value > 0 or (allow_zero and value == 0)) or not np.isfinite(value):
        rel = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be finite and {rel}, got {value}")
    return value


def check_count(value, name: str, *, allow_zero: bool = False) -> int:
    """Check a size or a count (samples, epochs, batch size) is a positive (or non-negative) int."""
    low = 0 if allow_zero else 1
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name} must be a {kind} integer, got {value!r}")
    return int(value)


def as_rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    """Accept a Generator, a seed or None (fresh, unseeded) and return a Generator."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be a numpy.random.Generator, an int seed or None, got {type(rng).__name__}")
