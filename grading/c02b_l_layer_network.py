"""Hidden grading cases for exercise 02b_l_layer_network (never shipped to students).

Oracle: torch autograd in float64 (torch.nn.functional's linear, relu, sigmoid and
cross_entropy; independent of dlcourse and of the public finite differences), on other shapes,
seeds and edge cases than the public checks; statistics for the initialisation and for
training, on problems the public checks do not show (XOR-like clusters that a linear model
cannot separate, sigmoid hidden layers, full-batch training, five classes in five dimensions).
"""

from __future__ import annotations

import numpy as np

from dlcourse.autograde.cases.c02b_l_layer_network import (
    blobs,
    init_validator,
    layer_cache,
    random_params,
    train_validator,
)
from dlcourse.autograde.spec import Case, Limits, Rng

TOPIC = "02b_l_layer_network"

#: the logits of the hidden cost case that only a closed-form dZ computes within the CPU limit
LARGE_LOGITS = (64, 4096)

#: (N, n_{l-1}, n_l) of the hidden layer-backward cases, and (dims, N) of the hidden model-backward
#: case, that only derived gradients compute within the CPU limit: finite differences of a layer
#: need about 2·n_{l-1} forward passes (one column of W, or one feature of A_prev, perturbed for
#: every unit or sample at once), of a whole network one pass per weight
LARGE_LAYER = (128, 4096, 128)
LARGE_MODEL = ([256, 256, 256, 10], 64)

# train runs a whole training loop per case; the others are a few matrix products
LIMITS = {"train": Limits(cpu_s=15.0, wall_s=40.0)}


def _t(a, grad: bool = True):
    import torch

    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def _g(z, activation: str):
    import torch

    if activation == "relu":
        return torch.relu(z)
    if activation == "sigmoid":
        return torch.sigmoid(z)
    return z


def torch_cache(X, params, activation: str = "relu") -> tuple[np.ndarray, ...]:
    """[A0, Z1, A1, ..., Z_L] from torch.nn.functional.linear and torch's activations."""
    import torch

    L = len(params) // 2
    A = _t(X, grad=False)
    out = [A]
    for layer in range(L):
        Z = torch.nn.functional.linear(A, _t(params[2 * layer], False), _t(params[2 * layer + 1], False))
        out.append(Z)
        if layer < L - 1:
            A = _g(Z, activation)
            out.append(A)
    return tuple(t.numpy() for t in out)


def torch_activation_backward(dA, A_prev, W, b, activation: str):
    import torch

    ts = [_t(A_prev), _t(W), _t(b)]
    _g(torch.nn.functional.linear(*ts), activation).backward(torch.tensor(dA, dtype=torch.float64))
    return tuple(t.grad.numpy() for t in ts)


def torch_model_backward(dZL, X, params, activation: str = "relu") -> tuple[np.ndarray, ...]:
    import torch

    ps = [_t(p) for p in params]
    A = _t(X, grad=False)
    L = len(ps) // 2
    for layer in range(L):
        Z = torch.nn.functional.linear(A, ps[2 * layer], ps[2 * layer + 1])
        A = _g(Z, activation) if layer < L - 1 else Z
    A.backward(torch.tensor(dZL, dtype=torch.float64))
    return tuple(p.grad.numpy() for p in ps)


def torch_cost(logits, y):
    import torch

    z = _t(logits)
    loss = torch.nn.functional.cross_entropy(z, torch.tensor(np.asarray(y), dtype=torch.int64))  # mean
    loss.backward()
    return float(loss.item()), z.grad.numpy()


def cases_initialize_parameters() -> list[Case]:
    deep = [20, 80, 80, 80, 5]  # three 80×80 layers: each must be a fresh draw
    wide = [784, 128, 10]
    one = [600, 1]  # one layer with a single output unit
    return [
        Case("a deep net [20, 80, 80, 80, 5], seed 21", args=(deep, Rng(21)), check=init_validator(deep)),
        Case("MNIST-sized [784, 128, 10], seed 22", args=(wide, Rng(22)), check=init_validator(wide)),
        Case("one layer [600, 1], seed 23", args=(one, Rng(23)), check=init_validator(one)),
    ]


def cases_linear_forward() -> list[Case]:
    A_prev, W, b, _, _ = layer_cache(16, 7, 5, seed=201)
    A1, W1, b1, _, _ = layer_cache(1, 4, 3, seed=202)
    As, Ws, bs, _, _ = layer_cache(9, 1, 1, seed=203)
    return [
        Case("N = 16, n_{l-1} = 7, n_l = 5", args=(A_prev, W, b), expected=torch_cache(A_prev, [W, b])[1]),
        Case("a batch of one sample", args=(A1, W1, b1), expected=torch_cache(A1, [W1, b1])[1]),
        Case("one input and one output unit", args=(As, Ws, bs), expected=torch_cache(As, [Ws, bs])[1]),
    ]


def cases_linear_activation_forward() -> list[Case]:
    out = []
    A_prev, W, b, _, _ = layer_cache(12, 5, 6, seed=211, scale=20.0)  # |z| up to ~100: σ must not overflow
    for g in ("relu", "sigmoid", "identity"):
        ref = torch_cache(A_prev, [W, b, np.eye(6), np.zeros(6)], g)  # [A0, Z1, A1, Z2]
        out.append(Case(f"{g} with large |z|", args=(A_prev, W, b, g), expected=(ref[2], ref[1])))
    A1, W1, b1, _, _ = layer_cache(1, 3, 2, seed=212)
    ref = torch_cache(A1, [W1, b1, np.eye(2), np.zeros(2)], "relu")
    out.append(Case("relu, a batch of one sample", args=(A1, W1, b1, "relu"), expected=(ref[2], ref[1])))
    return out


def cases_l_model_forward() -> list[Case]:
    deep = [6, 8, 8, 8, 3]
    X = np.random.default_rng(221).normal(size=(10, 6))
    p_deep = random_params(deep, seed=222, scale=1.5)
    one = [4, 3]  # L = 1: the logits of a softmax regression, no hidden layer
    X1 = np.random.default_rng(223).normal(size=(6, 4))
    p_one = random_params(one, seed=224)
    wide = [3, 10, 2]
    Xw = np.random.default_rng(225).normal(size=(1, 3))
    p_wide = random_params(wide, seed=226)
    return [
        Case("four layers, relu", args=(X, p_deep), expected=torch_cache(X, p_deep)),
        Case("four layers, sigmoid", args=(X, p_deep, "sigmoid"), expected=torch_cache(X, p_deep, "sigmoid")),
        Case("a single layer (L = 1)", args=(X1, p_one), expected=torch_cache(X1, p_one)),
        Case("a batch of one sample", args=(Xw, p_wide), expected=torch_cache(Xw, p_wide)),
    ]


def cases_compute_cost() -> list[Case]:
    rng = np.random.default_rng(231)
    logits, y = rng.normal(size=(20, 10)), rng.integers(0, 10, size=20)
    # exp(800) overflows and exp(−800) underflows: both need the shift by the row maximum
    big = np.concatenate([800.0 + rng.normal(scale=20.0, size=(3, 3)), -800.0 + rng.normal(scale=20.0, size=(3, 3))])
    y_big = rng.integers(0, 3, size=6)
    one, y_one = rng.normal(size=(1, 2)), np.array([1])
    sure = np.array([[12.0, -3.0, 0.0], [0.0, 15.0, 1.0]])  # confident and right: a small loss
    y_sure = np.array([0, 1])
    many, y_many = 2.0 * rng.normal(size=LARGE_LOGITS), rng.integers(0, LARGE_LOGITS[1], size=LARGE_LOGITS[0])
    return [
        Case("N = 20, 10 classes", args=(logits, y), expected=torch_cost(logits, y)),
        Case("logits near ±800", args=(big, y_big), expected=torch_cost(big, y_big), atol=1e-10),
        Case("one sample, two classes", args=(one, y_one), expected=torch_cost(one, y_one)),
        Case("confident, correct predictions", args=(sure, y_sure), expected=torch_cost(sure, y_sure), atol=1e-12),
        # 2^18 logits: the derived dZ takes milliseconds; finite differences of J need 2·C passes even with
        # every sample's logit perturbed together, far beyond the CPU limit
        Case(f"N = {LARGE_LOGITS[0]}, {LARGE_LOGITS[1]} classes", args=(many, y_many), expected=torch_cost(many, y_many),
             hint="Derive dZ in closed form: a numerical gradient is far too slow for many classes."),
    ]


def cases_linear_backward_cached() -> list[Case]:
    out = []
    for name, (n, n_in, n_out, seed) in (("N = 16, n_{l-1} = 7, n_l = 4", (16, 7, 4, 241)),
                                         ("a batch of one sample", (1, 3, 5, 242)),
                                         ("one input and one output unit", (8, 1, 1, 243))):
        A_prev, W, b, _, dZ = layer_cache(n, n_in, n_out, seed=seed)
        out.append(Case(name, args=(dZ, (A_prev, W, b)),
                        expected=torch_activation_backward(dZ, A_prev, W, b, "identity")))
    A_prev, W, b, _, dZ = layer_cache(*LARGE_LAYER, seed=244)
    out.append(Case("N = {}, n_{{l-1}} = {}, n_l = {}".format(*LARGE_LAYER), args=(dZ, (A_prev, W, b)),
                    expected=torch_activation_backward(dZ, A_prev, W, b, "identity"),
                    hint="Derive dW, db and dA_prev as matrix products: a numerical gradient is far too slow here."))
    return out


def cases_linear_activation_backward() -> list[Case]:
    out = []
    for g, seed in (("relu", 251), ("sigmoid", 252), ("identity", 253)):
        A_prev, W, b, Z, dA = layer_cache(10, 4, 5, seed=seed)
        out.append(Case(f"{g}, N = 10, n_{{l-1}} = 4, n_l = 5", args=(dA, (A_prev, W, b, Z), g),
                        expected=torch_activation_backward(dA, A_prev, W, b, g)))
    # exact zeros of Z: rows of A_prev that are 0 and b with zeros; torch (and the course) take ReLU'(0) = 0
    A_prev, W, _, _, dA = layer_cache(6, 3, 4, seed=254)
    A_prev[::2] = 0.0
    b = np.array([0.0, 0.5, 0.0, -0.5])
    out.append(Case("relu where some z are exactly 0", args=(dA, (A_prev, W, b, A_prev @ W.T + b), "relu"),
                    expected=torch_activation_backward(dA, A_prev, W, b, "relu")))
    A_prev, W, b, Z, dA = layer_cache(5, 3, 3, seed=255, scale=30.0)
    out.append(Case("sigmoid in its saturated tails", args=(dA, (A_prev, W, b, Z), "sigmoid"),
                    expected=torch_activation_backward(dA, A_prev, W, b, "sigmoid"), atol=1e-12))
    A_prev, W, b, Z, dA = layer_cache(*LARGE_LAYER, seed=256)
    out.append(Case("relu, N = {}, n_{{l-1}} = {}, n_l = {}".format(*LARGE_LAYER), args=(dA, (A_prev, W, b, Z), "relu"),
                    expected=torch_activation_backward(dA, A_prev, W, b, "relu"),
                    hint="Derive the gradients as matrix products: a numerical gradient is far too slow here."))
    return out


def _model_case(name, dims, n, seed, activation="relu", scale=1.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, dims[0]))
    params = random_params(dims, seed=seed + 1, scale=scale)
    dZL = rng.normal(size=(n, dims[-1]))
    caches = list(torch_cache(X, params, activation))
    return Case(name, args=(dZL, caches, params, activation),
                expected=torch_model_backward(dZL, X, params, activation))


def cases_l_model_backward() -> list[Case]:
    return [
        _model_case("four layers, relu", [6, 8, 8, 8, 3], 12, seed=261, scale=1.5),
        _model_case("four layers, sigmoid", [6, 8, 8, 8, 3], 12, seed=262, activation="sigmoid"),
        _model_case("a single layer (L = 1)", [5, 4], 7, seed=263),
        _model_case("a batch of one sample", [3, 5, 4, 2], 1, seed=264),
        _model_case("the ESIR lecture's n = [2, 3, 5, 4, 2, 1]", [2, 3, 5, 4, 2, 1], 9, seed=265),
        _model_case(f"n = {LARGE_MODEL[0]}, N = {LARGE_MODEL[1]}", *LARGE_MODEL, seed=266),
    ]


def cases_update_parameters() -> list[Case]:
    dims = [4, 6, 5, 3]
    params, grads = random_params(dims, seed=271), random_params(dims, seed=272)
    one_p, one_g = random_params([2, 1], seed=273), random_params([2, 1], seed=274)
    return [
        Case("three layers, lr = 0.5", args=(params, grads, 0.5),
             expected=tuple(p - 0.5 * g for p, g in zip(params, grads, strict=True))),
        Case("one layer, lr = 1e-3", args=(one_p, one_g, 1e-3),
             expected=tuple(p - 1e-3 * g for p, g in zip(one_p, one_g, strict=True))),
        Case("lr = 0 changes nothing", args=(params, grads, 0.0), expected=tuple(params)),
    ]


def cases_train() -> list[Case]:
    xor_centers = [(2.0, 2.0), (-2.0, -2.0), (2.0, -2.0), (-2.0, 2.0)]
    Xq, cq = blobs(40, xor_centers, 0.5, seed=281)
    Xq_test, cq_test = blobs(100, xor_centers, 0.5, seed=282)
    yq, yq_test = cq // 2, cq_test // 2  # XOR: opposite corners share a class; no linear model separates them
    dims_xor = [2, 16, 16, 2]
    tri = [(0.0, 3.0), (3.0, -2.0), (-3.0, -2.0)]
    Xs, ys = blobs(40, tri, 0.7, seed=283)
    Xs_test, ys_test = blobs(100, tri, 0.7, seed=284)
    centers5 = 3.0 * np.eye(5)
    X5, y5 = blobs(30, centers5, 0.6, seed=285)
    X5_test, y5_test = blobs(80, centers5, 0.6, seed=286)
    four = [(0.0, 3.0), (3.0, -2.0), (-3.0, -2.0), (0.0, -5.0)]
    X4, y4 = blobs(75, four, 0.8, seed=290)
    X4_test, y4_test = blobs(100, four, 0.8, seed=291)
    return [
        Case("three epochs of 30 mini-batches each", args=(X4, y4, [2, 16, 4], 0.2, 3, Rng(292)),
             kwargs=dict(batch_size=10),
             check=train_validator([2, 16, 4], X4, y4, X4_test, y4_test, min_accuracy=0.9, max_cost=0.5)),
        Case("XOR-like clusters, n = [2, 16, 16, 2]", args=(Xq, yq, dims_xor, 0.1, 60, Rng(287)),
             check=train_validator(dims_xor, Xq, yq, Xq_test, yq_test, min_accuracy=0.95, max_cost=0.15)),
        Case("training with sigmoid units", args=(Xs, ys, [2, 12, 3], 0.5, 60, Rng(288)), kwargs=dict(activation="sigmoid"),
             check=train_validator([2, 12, 3], Xs, ys, Xs_test, ys_test, min_accuracy=0.95, max_cost=0.2,
                                   activation="sigmoid")),
        Case("full batch, 5 classes in 5 dimensions", args=(X5, y5, [5, 10, 5], 0.5, 150, Rng(289)),
             kwargs={"batch_size": 150},
             check=train_validator([5, 10, 5], X5, y5, X5_test, y5_test, min_accuracy=0.95, max_cost=0.1)),
    ]
