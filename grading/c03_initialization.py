"""Hidden grading cases for exercise 03_initialization (never shipped to students).

Other shapes, seeds and edge cases than the public checks.  Oracles: for symmetry, networks
trained by torch autograd and torch.optim.SGD in float64 from constant, zero and partly copied
starts (what training does to copies is asserted where the case is built); torch.nn.init's fan
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
    oracle_distinct_units,
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


def torch_trained(W1, b1, W2, b2, X, Y, steps: int = 200, lr: float = 0.1, activation: str = "tanh"):
    """(W1, b1, W2) after ``steps`` full-batch steps of torch.optim.SGD (momentum 0.9) on a 1-hidden-layer
    network, float64; loss: BCE with logits for one output, cross-entropy for several."""
    import torch
    import torch.nn.functional as F

    params = [torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in (W1, b1, W2, b2)]
    Xt = torch.tensor(X, dtype=torch.float64)
    opt = torch.optim.SGD(params, lr=lr, momentum=0.9)
    act = torch.tanh if activation == "tanh" else torch.sigmoid
    for _ in range(steps):
        opt.zero_grad()
        out = act(Xt @ params[0].T + params[1]) @ params[2].T + params[3]
        if out.shape[1] == 1:
            loss = F.binary_cross_entropy_with_logits(out, torch.tensor(Y, dtype=torch.float64).reshape(-1, 1))
        else:
            loss = F.cross_entropy(out, torch.tensor(Y, dtype=torch.long))
        loss.backward()
        opt.step()
    return tuple(p.detach().numpy().copy() for p in params[:3])


def _trained_case(name: str, start, X, Y, want: int, hint: str = "", **kw) -> Case:
    trained = torch_trained(*start, X, Y, **kw)
    got = oracle_distinct_units(*trained)
    assert got == want, f"{name}: training gave {got} distinct units, the case expects {want}"
    return Case(name, args=trained, expected=got, hint=hint)


def cases_count_distinct_units() -> list[Case]:
    rng = np.random.default_rng(301)
    X, Y = rng.normal(size=(16, 3)), rng.integers(0, 2, size=16)
    Xx, Yx = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), np.array([0, 1, 1, 0])  # XOR
    const = (np.full((6, 3), 0.3), np.full(6, 0.1), np.full((1, 6), 0.3), np.zeros(1))
    zero = (np.zeros((3, 2)), np.zeros(3), np.zeros((1, 3)), np.zeros(1))
    W1, b1, W2 = rng.normal(size=(5, 2)), rng.normal(size=5) * 0.1, rng.normal(size=(1, 5))
    W1[4], b1[4], W2[:, 4] = W1[1], b1[1], W2[:, 1]  # unit 4 is an exact copy of unit 1
    copied = (W1, b1, W2, np.zeros(1))
    W1b, W2b = W1.copy(), W2.copy()
    W2b[:, 4] = W2[:, 1] + 0.5  # the same incoming weights and bias, different outgoing weight
    half = (W1b, b1, W2b, np.zeros(1))
    Xm, Ym = rng.normal(size=(20, 4)), rng.integers(0, 3, size=20)
    W1m, b1m, W2m = rng.normal(size=(6, 4)), np.zeros(6), rng.normal(size=(3, 6))
    W1m[5], W2m[:, 5] = W1m[2], W2m[:, 2]  # three outputs: unit 5 copies unit 2 in and out
    multi = (W1m, b1m, W2m, np.zeros(3))
    Wn, W2n = rng.normal(size=(4, 3)), rng.normal(size=(2, 4))
    bias_only = (np.tile(Wn[0], (3, 1)), np.array([0.0, 1e-3, -1e-3]), np.tile(W2n[:, :1], (1, 3)))
    near = (np.vstack([Wn, Wn[0] + 1e-10]), np.zeros(5), np.hstack([W2n, W2n[:, :1]]))
    close = (np.vstack([Wn, Wn[1] + 0.01, Wn[3] - 0.02]), np.zeros(6), np.hstack([W2n, W2n[:, 1:2], W2n[:, 3:4]]))
    out_only = (np.tile(Wn[2], (4, 1)), np.full(4, 0.3), np.column_stack([W2n[:, 0], W2n[:, 1], W2n[:, 0], W2n[:, 3]]))
    assert oracle_distinct_units(*out_only) == 3  # units 0 and 2 are copies; 1 and 3 differ only in W2
    return [
        _trained_case("tanh 3-6-1, constant start, 200 SGD steps", const, X, Y, 1),
        _trained_case("sigmoid 2-3-1 on XOR from zeros, 300 steps", zero, Xx, Yx, 1, steps=300, activation="sigmoid"),
        _trained_case("unit 4 an exact copy of unit 1, trained: the copies stay together", copied, X[:, :2], Y, 4),
        _trained_case("a copy in the incoming weights only: training separates it", half, X[:, :2], Y, 5,
                      hint="Compare the outgoing weights too."),
        _trained_case("three outputs, cross-entropy, one unit copied in and out", multi, Xm, Ym, 5, steps=150, lr=0.05),
        Case("units that differ only in their bias", args=bias_only, expected=oracle_distinct_units(*bias_only)),
        Case("a copy perturbed by 1e-10 (below the default atol)", args=near, expected=oracle_distinct_units(*near)),
        Case("near-copies 0.01 and 0.02 away with atol 0.05", args=close, kwargs={"atol": 0.05},
             expected=oracle_distinct_units(*close, atol=0.05)),
        Case("the same near-copies with the default atol", args=close, expected=oracle_distinct_units(*close)),
        Case("H = 1: a layer of a single unit", args=(Wn[:1], np.zeros(1), W2n[:, :1]), expected=1),
        # untrained: copies in the incoming weights and bias that differ only going out are distinct units
        Case("units equal coming in, different going out", args=out_only, expected=oracle_distinct_units(*out_only),
             hint="Compare the outgoing weights too."),
    ]


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
    tiny = [np.array([6e-6, 0.0]), np.array([[8e-6]])]  # norm 1e-5
    return [
        Case("three arrays of different shapes, max_norm 5", args=(gs, 5.0), expected=torch_clip(gs, 5.0)),
        Case("one huge gradient, max_norm 0.5", args=(one, 0.5), expected=torch_clip(one, 0.5)),
        Case("all-zero gradients stay zero (no division by 0)", args=(zero, 1.0), expected=torch_clip(zero, 1.0)),
        Case("norm 3 below max_norm 10: unchanged, total 3", args=(below, 10.0), expected=torch_clip(below, 10.0)),
        # ‖g‖ = 1e-5 clipped to 1e-6: the 1e-6 in the denominator changes the factor by 10 %
        Case("a tiny gradient clipped to a tiny max_norm", args=(tiny, 1e-6), expected=torch_clip(tiny, 1e-6),
             atol=1e-18, hint="Keep the small constant in the denominator of the clip factor."),
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
