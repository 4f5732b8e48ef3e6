"""Hidden grading cases for exercise 03_initialization (never shipped to students).

Other shapes, seeds and edge cases than the public checks.  Oracles: torch.nn.init's fan
helper; the Glorot bound written out; statistics for He normal; torch.nn.utils.clip_grad_norm_
in float64; for ZCA an independent matrix square root, W = (Σ + εI)^(−1/2) from
``scipy.linalg.sqrtm`` and ``inv`` (Schur method, not an eigendecomposition).
"""

from __future__ import annotations

import math

import numpy as np

from dlcourse.autograde.cases.c03_initialization import (
    correlated,
    he_normal_validator,
    oracle_xavier_uniform,
    torch_clip,
    torch_fans,
)
from dlcourse.autograde.spec import Case, Rng

TOPIC = "03_initialization"


def scipy_zca(X: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X_white, mu, W) with W = (Σ + εI)^(−1/2), Σ the unbiased covariance (the 1/(n − 1) of the PyTorch lecture notes)."""
    from scipy.linalg import inv, sqrtm

    mu = X.mean(axis=0)
    Xc = X - mu
    cov = Xc.T @ Xc / (X.shape[0] - 1)
    W = np.real(inv(sqrtm(cov + eps * np.eye(X.shape[1]))))
    W = (W + W.T) / 2  # W is symmetric in exact arithmetic
    return Xc @ W, mu, W


def cases_fan_in_fan_out() -> list[Case]:
    shapes = [(10, 7), (1, 1), (6, 4, 5), (2, 3, 4, 5, 6), (7, 0)]
    names = ["Linear weight (10, 7)", "a 1×1 weight", "conv1d kernel (6, 4, 5)",
             "conv3d kernel (2, 3, 4, 5, 6)", "an empty weight (7, 0): fan_in 0"]
    return [Case(n, args=(s,), expected=torch_fans(s)) for n, s in zip(names, shapes, strict=True)]


def cases_xavier_uniform() -> list[Case]:
    rng = np.random.default_rng(303)
    u1 = rng.random((30, 20))
    u2 = rng.random((8, 3, 5, 5))
    u3 = rng.random((1, 1))
    return [
        Case("(30, 20) weight, default gain", args=(u1,), expected=oracle_xavier_uniform(u1)),
        Case("(8, 3, 5, 5) conv kernel, gain sqrt(2)", args=(u2,), kwargs={"gain": math.sqrt(2.0)},
             expected=oracle_xavier_uniform(u2, math.sqrt(2.0))),
        Case("a 1×1 weight, gain 0.5", args=(u3, 0.5), expected=oracle_xavier_uniform(u3, 0.5)),
    ]


def cases_he_normal() -> list[Case]:
    shape1, shape2, shape3 = (512, 64), (40, 300), (32, 16, 5)
    return [
        Case("(512, 64) weight, seed 11: std sqrt(2/64)", args=(shape1, Rng(11)),
             check=he_normal_validator(shape1, math.sqrt(2.0 / 64))),
        Case("(40, 300) weight, mode='fan_out': std sqrt(2/40)", args=(shape2, Rng(12), "fan_out"),
             check=he_normal_validator(shape2, math.sqrt(2.0 / 40))),
        Case("(32, 16, 5) conv1d kernel, seed 13: std sqrt(2/80)", args=(shape3, Rng(13)),
             check=he_normal_validator(shape3, math.sqrt(2.0 / 80))),
    ]


def cases_clip_grad_norm() -> list[Case]:
    rng = np.random.default_rng(404)
    gs = [rng.normal(size=(4, 3)) * 10, rng.normal(size=(4,)), rng.normal(size=(2, 2, 2)) * 3]
    one = [rng.normal(size=(6,)) * 100.0]
    zero = [np.zeros((2, 3)), np.zeros(3)]
    below = [np.array([1.0, 2.0]), np.array([[2.0]])]  # norm 3
    return [
        Case("three arrays of different shapes, max_norm 5", args=(gs, 5.0), expected=torch_clip(gs, 5.0)),
        Case("one huge gradient, max_norm 0.5", args=(one, 0.5), expected=torch_clip(one, 0.5)),
        Case("all-zero gradients stay zero (no division by 0)", args=(zero, 1.0), expected=torch_clip(zero, 1.0)),
        Case("norm 3 below max_norm 10: unchanged, total 3", args=(below, 10.0), expected=torch_clip(below, 10.0)),
    ]


def cases_zca_whiten() -> list[Case]:
    X1 = correlated(200, 5, seed=55)
    X2 = correlated(12, 2, seed=56)
    rng = np.random.default_rng(57)
    X3 = rng.normal(size=(80, 4)) * np.array([1.0, 10.0, 0.1, 3.0])  # uncorrelated, unequal scales
    return [
        Case("200 samples, 5 correlated features, eps 0", args=(X1, 0.0), expected=scipy_zca(X1, 0.0)),
        Case("12 samples, 2 features, default eps", args=(X2,), expected=scipy_zca(X2, 1e-5)),
        Case("independent features of unequal scales, eps 1e-3", args=(X3,), kwargs={"eps": 1e-3},
             expected=scipy_zca(X3, 1e-3)),
    ]
