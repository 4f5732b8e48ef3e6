"""Public check cases for exercise 03_initialization (shipped to students).

Oracles: the symmetry rule written out here (a hidden unit is its incoming weights, its bias and
its outgoing weights; identical units are counted once), on constant, random and constructed
weights (the hidden cases use networks trained by torch autograd); the fan rule and the scaled
bounds written out here (Glorot & Bengio, 2010;
He et al., 2015), cross-checked against torch.nn.init's private fan
helper; torch.nn.utils.clip_grad_norm_ in float64 for clipping (Pascanu et al., 2013); the
package's ``dlcourse.data.ZCAWhitener`` for whitening (itself tested against closed forms;
the hidden cases use an independent matrix square root).  Random initialisers are judged by
statistics whose margins hold for the seeds below (``he_normal_validator``).
"""

from __future__ import annotations

import math

import numpy as np

from dlcourse.autograde.spec import Case, Rng, float_array_problem, normal_sample_problem

TOPIC = "03_initialization"

HINTS = {
    "count_distinct_units": "A hidden unit is described by everything that makes its gradient differ from another "
                            "unit's: its incoming weights, its bias and its outgoing weights. Compare units with a "
                            "tolerance and count each group of matching units once.",
    "fan_in_fan_out": "Each unit of the layer sums over its inputs times the kernel's receptive field (the product "
                      "of the kernel sizes, 1 for a Linear weight); fan_out counts the same way on the output "
                      "side. Return two Python ints.",
    "xavier_uniform": "The fans come from the weight's shape. Pick the bound a so that U(−a, a), whose variance is "
                      "a²/3, has Glorot's variance times gain², then map [0, 1) affinely onto [−a, a).",
    "he_normal": "The variance is 2/fan, with the fan that mode names; the standard deviation is its square root. "
                 "Draw from the generator you are given, with the weight's shape — a normal, not a uniform, distribution.",
    "clip_grad_norm": "One norm for all the arrays together, as if they were concatenated; one factor, never above 1, "
                      "for every array, with the small constant in the denominator. The norm you return is the one "
                      "before clipping.",
    "zca_whiten": "Centre the data, take its unbiased covariance and its eigen-decomposition (a symmetric matrix: use "
                  "the routine for symmetric matrices). W keeps the eigenvectors and replaces each eigenvalue λ by "
                  "1/√(λ + eps); the whitened data is the centred data times W.",
}


# --- oracles written out -----------------------------------------------------------------


def oracle_distinct_units(W1: np.ndarray, b1: np.ndarray, W2: np.ndarray, atol: float = 1e-8) -> int:
    """How many different hidden units: unit j is (W1[j, :], b1[j], W2[:, j]); units within atol are one."""
    units = [[float(v) for v in W1[j]] + [float(b1[j])] + [float(v) for v in W2[:, j]] for j in range(W1.shape[0])]
    representatives: list[list[float]] = []
    for u in units:
        if not any(all(abs(a - b) <= atol for a, b in zip(u, r, strict=True)) for r in representatives):
            representatives.append(u)  # a unit unlike every one seen before starts a new group
    return len(representatives)


def oracle_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight (out, in, *kernel), as torch.nn.init computes them."""
    receptive = 1
    for k in shape[2:]:
        receptive *= int(k)
    return int(shape[1]) * receptive, int(shape[0]) * receptive


def torch_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """The same fans from torch (its private helper; used to cross-check :func:`oracle_fans`)."""
    import torch

    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape, dtype=torch.float64))
    return int(fan_in), int(fan_out)


def oracle_xavier_uniform(u: np.ndarray, gain: float = 1.0) -> np.ndarray:
    """a·(2u − 1) with a = gain·√(6/(fan_in + fan_out)) (Glorot & Bengio, 2010)."""
    fan_in, fan_out = torch_fans(u.shape)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return a * (2.0 * u - 1.0)


def he_normal_validator(shape: tuple[int, ...], std: float, z: float = 4.5):
    """A ``check=`` validator: shape, finiteness, and draws of N(0, std²) within ``z`` standard
    errors of mean, std and kurtosis (:func:`~dlcourse.autograde.spec.normal_sample_problem`)."""
    shape = tuple(int(s) for s in shape)

    def validate(got) -> str | None:
        return float_array_problem(got, shape) or normal_sample_problem(got, std, z, "the sample",
                                                                          std_name="sqrt(2/fan) = ")

    return validate


def torch_clip(grads: list[np.ndarray], max_norm: float) -> tuple:
    """(total_norm, *clipped) from torch.nn.utils.clip_grad_norm_ on float64 tensors."""
    import torch

    params = []
    for g in grads:
        p = torch.zeros(g.shape, dtype=torch.float64, requires_grad=True)
        p.grad = torch.tensor(g, dtype=torch.float64)
        params.append(p)
    total = torch.nn.utils.clip_grad_norm_(params, max_norm)
    return (float(total), *(p.grad.numpy().copy() for p in params if p.grad is not None))  # all set above


def correlated(n: int, d: int, seed: int) -> np.ndarray:
    """n samples of a d-dimensional Gaussian with a random, well-conditioned covariance and mean."""
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(d, d)) + 2.0 * np.eye(d)
    return rng.normal(size=(n, d)) @ mix + rng.normal(scale=3.0, size=d)


def package_zca(X: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from dlcourse.data import ZCAWhitener

    z = ZCAWhitener(eps=eps).fit(X)
    return z.transform(X), z.mean_, z.whiten_


# --- cases -------------------------------------------------------------------------------


def cases_count_distinct_units() -> list[Case]:
    const = (np.full((4, 2), 0.5), np.zeros(4), np.full((1, 4), 0.5))
    rng = np.random.default_rng(2)
    rand = (rng.normal(size=(4, 2)), np.zeros(4), rng.normal(size=(1, 4)))
    W1 = np.array([[1.0, -1.0], [0.5, 2.0], [1.0, -1.0], [0.5, 2.0]])  # units 0 = 2 and 1 = 3 coming in ...
    W2 = np.array([[0.3, -0.7, 0.3, 0.2]])  # ... but units 1 and 3 send different weights out
    return [
        Case("constant initialisation: one unit, four copies", args=const, expected=oracle_distinct_units(*const)),
        Case("random initialisation: four different units", args=rand, expected=oracle_distinct_units(*rand)),
        Case("two equal pairs coming in, one pair differing going out", args=(W1, np.zeros(4), W2),
             expected=oracle_distinct_units(W1, np.zeros(4), W2),
             hint="Units with the same incoming weights but different outgoing weights get different gradients."),
    ]


def cases_fan_in_fan_out() -> list[Case]:
    return [
        Case("Linear weight (out=3, in=5)", args=((3, 5),), expected=oracle_fans((3, 5))),
        Case("conv kernel (out=16, in=8, 3, 3)", args=((16, 8, 3, 3),), expected=oracle_fans((16, 8, 3, 3))),
    ]


def cases_xavier_uniform() -> list[Case]:
    rng = np.random.default_rng(3)
    u1 = rng.random((4, 6))
    u2 = rng.random((5, 2, 3))
    return [
        Case("(4, 6) weight, gain 1", args=(u1,), expected=oracle_xavier_uniform(u1)),
        Case("(5, 2, 3) kernel, gain 5/3 (tanh)", args=(u2,), kwargs={"gain": 5.0 / 3},
             expected=oracle_xavier_uniform(u2, 5.0 / 3)),
        Case("the bounds: u = 0 gives −a, u = 0.5 gives 0", args=(np.array([[0.0, 0.5, 0.25]]),),
             expected=oracle_xavier_uniform(np.array([[0.0, 0.5, 0.25]]))),
    ]


def cases_he_normal() -> list[Case]:
    shape, shape_out = (256, 128), (64, 32, 3, 3)
    fan_in, _ = oracle_fans(shape)
    _, fan_out = oracle_fans(shape_out)
    return [
        Case("(256, 128) weight: std sqrt(2/128)", args=(shape, Rng(0)),
             check=he_normal_validator(shape, math.sqrt(2.0 / fan_in))),
        Case("(64, 32, 3, 3) kernel, mode='fan_out': std sqrt(2/576)", args=(shape_out, Rng(1)),
             kwargs={"mode": "fan_out"}, check=he_normal_validator(shape_out, math.sqrt(2.0 / fan_out))),
    ]


def cases_clip_grad_norm() -> list[Case]:
    rng = np.random.default_rng(4)
    g1, g2 = rng.normal(size=(3, 4)) * 5.0, rng.normal(size=(3,)) * 5.0
    small = [np.array([0.3, -0.4])]  # norm 0.5
    return [
        Case("two arrays, total norm above max_norm = 1", args=([g1, g2], 1.0), expected=torch_clip([g1, g2], 1.0)),
        Case("norm 0.5 below max_norm = 2: unchanged", args=(small, 2.0), expected=torch_clip(small, 2.0)),
    ]


def cases_zca_whiten() -> list[Case]:
    X = correlated(50, 3, seed=5)
    return [
        Case("50 samples, 3 correlated features, eps = 0", args=(X,), kwargs={"eps": 0.0},
             expected=package_zca(X, 0.0)),
        Case("the same data, eps = 0.1", args=(X,), kwargs={"eps": 0.1}, expected=package_zca(X, 0.1)),
    ]
