"""Input checks at the package boundary: clear errors that name what was expected and what came.

One vocabulary for the whole package.  Each public function validates its own arguments once,
here, and hands the checked values to unchecked internals; a public function that calls
another with values it has already checked calls the internal helper instead, so nothing is
validated twice on one call path.

=====================  ========================================================================
check                  accepts
=====================  ========================================================================
as_float_array         a real numeric array (ints, bools → float64), optionally of a given rank
check_shape            an array whose shape matches a pattern (``None`` = any size)
check_same_shape       two arrays that align element-wise
check_same_length      two arrays with the same number of samples (rows)
check_nonempty         an array with at least one element (a mean over it is defined)
check_finite           an array without NaN or inf
check_unit_interval    an array whose every value lies in [0, 1] (probabilities, soft targets)
as_labels              integer class labels, optionally of a given length and number of classes
check_real             a finite real scalar (any sign)
check_positive         a finite scalar > 0 (or ≥ 0)
check_probability      a scalar in [0, 1) (or [0, 1])
check_interval         a pair (low, high) of finite reals with low < high
check_count            an int ≥ 1 (or ≥ 0), optionally ≤ a maximum
check_split_size       a split given as a fraction of n in [0, 1) or as a count
check_choice           one of a fixed set of names
check_bool             a bool (Python's or numpy's), not a truthy stand-in such as 1 or "no"
as_rng                 a numpy Generator, an int seed or None
=====================  ========================================================================
"""

from __future__ import annotations

import numbers
from collections.abc import Collection, Sequence

import numpy as np

# ---------------------------------------------------------------------------------------------
# Arrays
# ---------------------------------------------------------------------------------------------


def as_float_array(x, name: str = "x", *, ndim: int | Sequence[int] | None = None) -> np.ndarray:
    """Return ``x`` as a real floating ndarray (ints and bools become float64), checking its rank."""
    arr = np.asarray(x)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.complexfloating):  # astype(float) would silently drop the imaginary part
        raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    _check_ndim(arr, ndim, name)
    return arr


def _check_ndim(arr: np.ndarray, ndim: int | Sequence[int] | None, name: str) -> None:
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(f"{name} must be {want}, got shape {arr.shape}")


def check_shape(arr: np.ndarray, expected: tuple, name: str = "x") -> None:
    """Raise ValueError unless ``arr.shape`` matches ``expected`` (``None`` entries match any size)."""
    ok = arr.ndim == len(expected) and all(e is None or e == s for e, s in zip(expected, arr.shape, strict=True))
    if not ok:
        dims = ["*" if e is None else str(e) for e in expected]
        want = f"({dims[0]},)" if len(dims) == 1 else "(" + ", ".join(dims) + ")"  # Python's (2,), not (2)
        raise ValueError(f"{name} must have shape {want}, got {arr.shape}")


def check_same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    """Raise ValueError when two arrays that must align element-wise have different shapes."""
    if np.shape(a) != np.shape(b):
        raise ValueError(f"{name_a} and {name_b} must have the same shape, got {np.shape(a)} and {np.shape(b)}")


def check_same_length(a, b, name_a: str = "X", name_b: str = "y") -> int:
    """Check two arrays hold the same number N of samples (their first axis) and return N.

    Both need a sample axis: a scalar has none.  Only the first axis is compared, so X (N, D)
    pairs with labels y (N,) or targets (N, 1).
    """
    shape_a, shape_b = np.shape(a), np.shape(b)
    if len(shape_a) < 1 or len(shape_b) < 1:
        raise ValueError(f"{name_a} and {name_b} must have a sample axis (one row per sample), "
                         f"got shapes {shape_a} and {shape_b}")
    if shape_a[0] != shape_b[0]:
        raise ValueError(f"{name_a} and {name_b} must have the same number of rows (samples), "
                         f"got {shape_a[0]} and {shape_b[0]} (shapes {shape_a} and {shape_b})")
    return int(shape_a[0])


def check_nonempty(arr: np.ndarray, name: str = "x") -> None:
    """Raise ValueError when ``arr`` has no element: a mean over zero elements is undefined."""
    if np.size(arr) == 0:
        raise ValueError(f"{name} is empty (shape {np.shape(arr)}): a mean over zero elements is undefined")


def check_finite(arr: np.ndarray, name: str = "x") -> None:
    """Raise FloatingPointError when ``arr`` holds NaN or inf (so bad values never spread silently)."""
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise FloatingPointError(f"{name} holds {bad} non-finite value(s) (NaN or inf)")


def check_unit_interval(arr: np.ndarray, name: str = "x") -> None:
    """Raise ValueError unless every value of ``arr`` lies in [0, 1] (NaN is outside too)."""
    arr = np.asarray(arr)
    bad = ~((arr >= 0) & (arr <= 1))  # written negated so that NaN, for which both comparisons fail, is caught
    if np.any(bad):
        raise ValueError(f"{name} must lie in [0, 1]; got {int(bad.sum())} value(s) outside, "
                         f"e.g. {arr[bad].flat[0]!r}")


def as_labels(y, name: str = "y", *, n: int | None = None, num_classes: int | None = None) -> np.ndarray:
    """Integer class labels as an int64 array of shape (N,), with values in [0, num_classes).

    Floats are accepted when they hold whole numbers (labels read back from a float array);
    bools, fractions, NaN and other dtypes are not.  ``n`` fixes the length (one label per
    sample), ``num_classes`` the range.
    """
    y = np.asarray(y)
    if y.dtype == bool or not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating)):
        raise ValueError(f"{name} must hold integer class labels, got dtype {y.dtype}")
    if y.ndim != 1 or (n is not None and y.shape[0] != n):
        want = "(N,)" if n is None else f"({n},)"
        raise ValueError(f"{name} must have shape {want} (one integer label per sample), got {y.shape}")
    if np.issubdtype(y.dtype, np.floating):
        fractional = ~np.isfinite(y) | (y != np.round(y))
        if np.any(fractional):
            raise ValueError(f"{name} must hold integer class labels, got non-integer values such as "
                             f"{y[fractional][:3].tolist()}")
    y = y.astype(np.int64)
    if num_classes is not None:
        bad = (y < 0) | (y >= num_classes)
        if np.any(bad):
            raise ValueError(f"{name} must lie in [0, {num_classes}) for {num_classes} classes, "
                             f"got {y[bad][:5].tolist()}")
    return y


# ---------------------------------------------------------------------------------------------
# Scalars: hyper-parameters, sizes, choices
# ---------------------------------------------------------------------------------------------


def _as_scalar(value, name: str) -> float:
    """``value`` as a Python float, or a TypeError that names the argument (not float()'s message)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.ndarray)) \
            or (isinstance(value, np.ndarray) and value.ndim != 0):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    try:
        return float(value)
    except (TypeError, ValueError) as exc:  # a 0-d array of a non-numeric dtype
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})") from exc


def check_real(value, name: str) -> float:
    """Check a hyper-parameter of any sign is a finite real number and return it as a float.

    NaN or inf here (a shift, a slope) would poison every value computed from it without an error.
    """
    value = _as_scalar(value, name)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be a finite real number, got {value}")
    return value


def check_positive(value: float, name: str, *, allow_zero: bool = False) -> float:
    """Check a hyper-parameter is positive (or non-negative) and finite; return it as a float.

    NaN is rejected too: ``NaN > 0`` is False, and a NaN noise level or learning rate would
    otherwise silently turn every result into NaN.
    """
    value = _as_scalar(value, name)
    if not (value > 0 or (allow_zero and value == 0)) or not np.isfinite(value):
        rel = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be finite and {rel}, got {value}")
    return value


def check_probability(p: float, name: str = "p", *, inclusive_high: bool = False) -> float:
    """Check ``0 <= p < 1`` (or ``<= 1``) and return it as a float (NaN lies outside)."""
    p = _as_scalar(p, name)
    high_ok = p <= 1 if inclusive_high else p < 1
    if not (0 <= p and high_ok):
        bound = "[0, 1]" if inclusive_high else "[0, 1)"
        raise ValueError(f"{name} must lie in {bound}, got {p}")
    return p


def check_interval(pair, name: str) -> tuple[float, float]:
    """Check ``pair`` is (low, high), two finite reals with low < high; return it as floats."""
    try:
        low, high = pair
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (low, high), got {pair!r}") from None
    low, high = check_real(low, f"{name}[0]"), check_real(high, f"{name}[1]")
    if not high > low:
        raise ValueError(f"{name} must be (low, high) with low < high, got {tuple(pair)}")
    return low, high


def check_count(value, name: str, *, allow_zero: bool = False, high: int | None = None) -> int:
    """Check a size or a count (samples, epochs, batch size) is an int ≥ 1 (or ≥ 0) and ≤ ``high``.

    Floats are refused even when whole (2.0): a count that arrives as a float is usually the
    result of a division that should have been ``//``.
    """
    low = 0 if allow_zero else 1
    is_int = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if high is not None and (not is_int or not low <= value <= high):
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
    if not is_int or value < low:
        kind = "non-negative" if allow_zero else "positive"
        hint = f" (pass int({value!r}))" if isinstance(value, float) and value.is_integer() and value >= low else ""
        raise ValueError(f"{name} must be a {kind} integer, got {value!r}{hint}")
    return int(value)


def check_split_size(value, n: int, name: str) -> int:
    """The size of a split of n samples, given as a fraction in [0, 1) of n (rounded) or a count ≤ n.

    An int ≥ 1 is a count; anything else is read as a fraction (so 0 and 0.0 both mean none).
    """
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)) and value >= 1:
        if value > n:
            raise ValueError(f"{name} asks for {int(value)} samples but there are only {n}")
        return int(value)
    frac = _as_scalar(value, name)
    if not 0.0 <= frac < 1.0:
        raise ValueError(f"{name} must be a fraction in [0, 1) or a count >= 1, got {value!r}")
    return int(round(frac * n))


def check_choice(value, choices: Collection, name: str):
    """Check ``value`` is one of ``choices`` (names of activations, modes, ...) and return it."""
    try:
        ok = value in choices
    except TypeError:  # an unhashable value tested against a set or dict
        ok = False
    if not ok:
        listed = ", ".join(repr(c) for c in (sorted(choices) if not isinstance(choices, Sequence) else choices))
        raise ValueError(f"unknown {name} {value!r}: expected one of {listed}")
    return value


def check_bool(value, name: str) -> bool:
    """Check a flag is a bool (Python's or numpy's) and return it as a Python bool.

    ``bool(value)`` would read any non-empty string as True, so ``nesterov="no"`` would turn
    Nesterov momentum on; 0 and 1 are refused too, so that a flag always reads as one.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool (True or False), got {value!r} ({type(value).__name__})")
    return bool(value)


def as_rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    """Accept a Generator, a seed or None (fresh, unseeded) and return a Generator.

    A Generator is returned as it is, so that a caller who passes one generator to several
    functions gets one reproducible stream of draws.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, (int, np.integer)) and not isinstance(rng, (bool, np.bool_))):
        return np.random.default_rng(rng)
    hint = " (a RandomState: use numpy.random.default_rng(seed) instead)" \
        if isinstance(rng, np.random.RandomState) else ""
    raise TypeError(f"rng must be a numpy.random.Generator, an int seed or None, "
                    f"got {type(rng).__name__}{hint}")


def as_float_dtype(dtype, name: str = "dtype") -> np.dtype:
    """Return ``dtype`` as a numpy floating dtype (``np.float32``, ``"float64"``, ...), else TypeError."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name} must be a floating dtype such as np.float32 or np.float64, got {dtype!r}") from None
    if not np.issubdtype(dt, np.floating):
        raise TypeError(f"{name} must be a floating dtype such as np.float32 or np.float64, got {dt}")
    return dt


def as_model_input(x, dtype, name: str = "x", *, where: str = "the model", ndim=None) -> np.ndarray:
    """Return ``x`` as an ndarray of exactly ``dtype``, the dtype of the parameters it meets.

    As in torch, nothing is cast silently: another floating dtype raises TypeError naming both
    dtypes and the two fixes (convert the input, or the model with ``model.to(...)``); integer
    and bool input is refused too (torch refuses it: a Linear layer's ``mat1 and mat2 must have
    the same dtype``), with the cast to write.
    """
    dt = np.dtype(dtype)
    arr = np.asarray(x)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if arr.dtype != dt:
        if np.issubdtype(arr.dtype, np.complexfloating):
            raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
        if np.issubdtype(arr.dtype, np.floating):
            raise TypeError(
                f"{where} expected {name} of dtype {dt} (its parameters' dtype), got {arr.dtype}: "
                f"convert the input with {name}.astype(np.{dt}) or the model with model.to(np.{arr.dtype})"
            )
        raise TypeError(
            f"{where} expected {name} of dtype {dt}, got {arr.dtype}: integer and bool input is not cast "
            f"silently (as in torch); convert it with {name}.astype(np.{dt})"
        )
    _check_ndim(arr, ndim, name)
    return arr


def check_in_interval(value, interval: str, name: str) -> float:
    """Check a real scalar lies in ``interval``, written as in mathematics, and return it as a float.

    For the ranges :func:`check_positive` and :func:`check_probability` do not name: a bracket
    includes its end, a parenthesis excludes it, so ``"(0, 1)"`` is a fraction that is neither 0
    nor 1, ``"(0, 1]"`` a positive fraction up to 1, and ``"(0, inf]"`` admits inf as well.
    NaN lies in no interval.
    """
    opening, closing, ends = interval[:1], interval[-1:], interval[1:-1].split(",")
    if opening not in ("[", "(") or closing not in ("]", ")") or len(ends) != 2:
        raise ValueError(f"interval must be written like '(0, 1]' or '(0, inf]', got {interval!r}")
    low, high = float(ends[0]), float(ends[1])
    value = _as_scalar(value, name)
    above = value >= low if opening == "[" else value > low
    below = value <= high if closing == "]" else value < high
    if not (above and below):  # NaN fails both comparisons
        raise ValueError(f"{name} must lie in {interval}, got {value}")
    return value
