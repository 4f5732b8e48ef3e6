"""Public check cases for exercise 06_batchnorm (shipped to students).

Oracles, independent of dlcourse.functional and dlcourse.nn: batch normalization (Ioffe &
Szegedy, 2015) written out feature by feature with explicit sums, with torch's conventions for
the running statistics (momentum weighs the *new* batch statistic; the running variance is
updated with the *unbiased* batch variance, the normalisation uses the biased one); the
backward pass by central finite differences of that forward.
"""

from __future__ import annotations

import numpy as np

from dlcourse.autograde.spec import Case
from dlcourse.gradcheck import numerical_gradient

TOPIC = "06_batchnorm"

HINTS = {
    "batchnorm_train_forward": "Statistics per feature, over the batch axis: normalise with the biased variance (divide by "
                               "N). The running averages weigh the new batch statistic by momentum, and the running "
                               "variance takes the unbiased batch variance (divide by N − 1).",
    "batchnorm_eval_forward": "Eval mode uses no statistic of the batch it is given: the running averages take the place "
                              "of the batch mean and variance; the rest is the train-mode formula.",
    "batchnorm_backward": "Recompute the forward quantities. x_i reaches the loss through x̂_i directly and through the "
                          "batch mean and variance, which every x̂_k of its feature uses: sum the three paths (or "
                          "go node by node through the graph, adding gradients where a node feeds several). Test "
                          "your dx: each column must sum to 0. Run the gradient-check cell.",
    "spatial_batchnorm_train_forward": "One set of statistics per channel, over every image and every pixel: arrange the "
                                       "values so that each channel is a column of a 2-D array, reuse the (N, D) rule, "
                                       "and restore the (N, C, H, W) layout. The unbiased factor counts N·H·W values.",
}


# --- oracles ------------------------------------------------------------------------------


def oracle_train(x: np.ndarray, gamma, beta, running_mean, running_var, momentum: float = 0.1, eps: float = 1e-5):
    """Batch norm in train mode on x (N, D), feature by feature: (out, new_running_mean, new_running_var)."""
    x = np.asarray(x, dtype=float)
    n, d = x.shape
    out = np.zeros_like(x)
    new_mean, new_var = np.zeros(d), np.zeros(d)
    for j in range(d):
        col = [float(v) for v in x[:, j]]
        mu = sum(col) / n  # μ_B
        ss = sum((v - mu) ** 2 for v in col)  # Σ (x_i − μ_B)²
        var = ss / n  # σ²_B, biased: used to normalise
        for i in range(n):
            out[i, j] = gamma[j] * (col[i] - mu) / np.sqrt(var + eps) + beta[j]  # γ x̂ + β
        new_mean[j] = (1 - momentum) * running_mean[j] + momentum * mu
        new_var[j] = (1 - momentum) * running_var[j] + momentum * ss / (n - 1)  # unbiased σ²
    return out, new_mean, new_var


def oracle_eval(x: np.ndarray, gamma, beta, running_mean, running_var, eps: float = 1e-5) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    out = np.zeros_like(x)
    for i, j in np.ndindex(x.shape):
        out[i, j] = gamma[j] * (x[i, j] - running_mean[j]) / np.sqrt(running_var[j] + eps) + beta[j]
    return out


def oracle_backward(dout: np.ndarray, x: np.ndarray, gamma: np.ndarray, eps: float = 1e-5):
    """(dx, dγ, dβ) of L = Σ dout ⊙ BN_train(x; γ, β) by central differences (β enters linearly)."""
    d = x.shape[1]
    zeros, ones = np.zeros(d), np.ones(d)

    def loss(xv, g, b):
        return float(np.sum(dout * oracle_train(xv, g, b, zeros, ones, 0.1, eps)[0]))

    beta = np.zeros(d)
    dx = numerical_gradient(lambda v: loss(v, gamma, beta), x)
    dgamma = numerical_gradient(lambda v: loss(x, v, beta), gamma)
    dbeta = numerical_gradient(lambda v: loss(x, gamma, v), beta)
    return dx, dgamma, dbeta


def oracle_spatial_train(x: np.ndarray, gamma, beta, running_mean, running_var, momentum: float = 0.1, eps: float = 1e-5):
    """Spatial batch norm on x (N, C, H, W): channel c's statistics over every (n, h, w)."""
    n, c, h, w = x.shape
    rows = np.transpose(x, (0, 2, 3, 1)).reshape(n * h * w, c)  # one row per (sample, position)
    out, new_mean, new_var = oracle_train(rows, gamma, beta, running_mean, running_var, momentum, eps)
    return np.transpose(out.reshape(n, h, w, c), (0, 3, 1, 2)), new_mean, new_var


# --- cases --------------------------------------------------------------------------------


def _batch(seed: int, n: int, d: int, loc: float = 0.0, scale: float = 1.0):
    rng = np.random.default_rng(seed)
    x = loc + scale * rng.normal(size=(n, d))
    gamma, beta = 1.0 + 0.5 * rng.normal(size=d), rng.normal(size=d)
    return x, gamma, beta, rng


def cases_batchnorm_train_forward() -> list[Case]:
    x = np.array([[1.0, 2.0], [3.0, -2.0], [5.0, 0.0], [-1.0, 4.0]])
    g, b = np.array([1.0, 2.0]), np.array([0.0, -1.0])
    x2, g2, b2, rng = _batch(11, 16, 5, loc=3.0, scale=2.0)
    rm, rv = rng.normal(size=5), 0.5 + rng.random(5)
    return [
        Case("4×2 batch from zero/one running stats, defaults", args=(x, g, b, np.zeros(2), np.ones(2)),
             expected=oracle_train(x, g, b, np.zeros(2), np.ones(2))),
        Case("16×5 batch, momentum = 0.3, eps = 1e-3", args=(x2, g2, b2, rm, rv), kwargs={"momentum": 0.3, "eps": 1e-3},
             expected=oracle_train(x2, g2, b2, rm, rv, 0.3, 1e-3)),
    ]


def cases_batchnorm_eval_forward() -> list[Case]:
    x, g, b, rng = _batch(12, 6, 3, loc=1.0)
    rm, rv = rng.normal(size=3), 0.5 + rng.random(3)
    return [
        Case("6×3 batch with given running stats", args=(x, g, b, rm, rv), expected=oracle_eval(x, g, b, rm, rv)),
        Case("eps = 0.1", args=(x, g, b, rm, rv), kwargs={"eps": 0.1}, expected=oracle_eval(x, g, b, rm, rv, 0.1)),
    ]


def cases_batchnorm_backward() -> list[Case]:
    x, g, _, rng = _batch(13, 5, 3)
    dout = rng.normal(size=(5, 3))
    x2, g2, _, rng2 = _batch(14, 8, 2, loc=-2.0, scale=0.5)
    dout2 = rng2.normal(size=(8, 2))
    return [
        Case("5×3 batch", args=(dout, x, g), expected=oracle_backward(dout, x, g), rtol=1e-5, atol=1e-7),
        Case("8×2 batch, eps = 1e-2", args=(dout2, x2, g2), kwargs={"eps": 1e-2},
             expected=oracle_backward(dout2, x2, g2, 1e-2), rtol=1e-5, atol=1e-7),
    ]


def cases_spatial_batchnorm_train_forward() -> list[Case]:
    rng = np.random.default_rng(15)
    x = rng.normal(size=(2, 3, 4, 5))
    g, b = 1.0 + rng.random(3), rng.normal(size=3)
    return [
        Case("(2, 3, 4, 5) input, defaults", args=(x, g, b, np.zeros(3), np.ones(3)),
             expected=oracle_spatial_train(x, g, b, np.zeros(3), np.ones(3))),
    ]
