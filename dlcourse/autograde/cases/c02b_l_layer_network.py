"""Public check cases for exercise 02b_l_layer_network (shipped to students).

Oracles: the forward pass written out here (it is given in the exercise), central finite
differences in float64 (h = 1e-6) of the scalar each backward pass differentiates, and
statistics for the random initialisation and for the trained network.  The hidden cases use
torch autograd instead of finite differences.

Conventions (row-major, like torch): ``params = [W1, b1, ..., WL, bL]`` with ``W_l`` of shape
``(n_l, n_{l-1})`` and ``b_l`` of shape ``(n_l,)``; the forward cache of an L-layer network is
the list ``[A0, Z1, A1, Z2, ..., A_{L-1}, Z_L]`` (``A0 = X``, the logits ``Z_L`` last).
"""

from __future__ import annotations

import math

import numpy as np

from dlcourse.autograde.spec import Case, Rng
from dlcourse.gradcheck import numerical_gradient

TOPIC = "02b_l_layer_network"

HINTS = {
    "initialize_parameters": "One (W, b) pair per consecutive pair of layer sizes; W of shape (n_l, n_{l-1}) with "
                             "variance 2/n_{l-1} (the fan-in of layer l), drawn from the generator you are given; "
                             "b zeros of shape (n_l,). Return the flat list [W1, b1, ..., WL, bL].",
    "linear_forward": "Row-major: one sample per row of A_prev, so every row is multiplied by Wᵀ; "
                      "b of shape (n_l,) broadcasts over the rows.",
    "linear_activation_forward": "First the linear part (your linear_forward), then g applied element-wise; "
                                 "return A and the Z it came from. σ must not overflow for large |z|.",
    "l_model_forward": "Hidden layers 1..L−1 use `activation`, the last layer none (it outputs logits). "
                       "The list starts with X and alternates Z and A: it has 2L entries and ends with Z_L.",
    "compute_cost": "Shift each row of logits by its maximum before exponentiating; the loss is a mean over "
                    "the batch, so every entry of the gradient carries that 1/N. Check your gradient "
                    "numerically on a small batch before trusting it.",
    "linear_backward_cached": "Each gradient has the shape of its variable: dA_prev like A_prev, dW like W, db "
                              "like b. b is added to every row of Z, so each row of dZ contributes to db.",
    "linear_activation_backward": "Go back through g first (element-wise, with g' evaluated at the cached Z), "
                                  "then through the linear part (your linear_backward_cached). ReLU'(0) is 0.",
    "l_model_backward": "Walk the layers from L down to 1: the last layer has no activation, the others use "
                        "`activation`; each layer's cache is (A_{l−1}, W_l, b_l, Z_l) taken from `caches` and "
                        "`params`. The gradients come back in the order of params.",
    "update_parameters": "One gradient-descent step for every array: θ ← θ − lr·dθ, in the order of params; "
                         "return new arrays.",
    "train": "Initialise with your initialize_parameters(layer_dims, rng); each epoch, shuffle the samples "
             "with rng, then for every mini-batch: forward, cost, backward, update.",
}

_H = 1e-6
ACTIVATIONS = ("relu", "sigmoid", "identity")


# --- the forward pass, written out (it is given in the exercise) ------------------------------


def activate(z: np.ndarray, activation: str) -> np.ndarray:
    """g(z) for g in relu, sigmoid (σ(z) = (1 + tanh(z/2))/2: no overflow) and identity."""
    if activation == "relu":
        return np.maximum(z, 0.0)
    if activation == "sigmoid":
        return 0.5 * (1.0 + np.tanh(0.5 * z))
    if activation == "identity":
        return z
    raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")


def forward_cache(X: np.ndarray, params: list, activation: str = "relu") -> list[np.ndarray]:
    """``[A0, Z1, A1, ..., A_{L-1}, Z_L]`` of Z_l = A_{l-1} W_lᵀ + b_l, A_l = g(Z_l), no g on layer L."""
    L = len(params) // 2
    out, A = [X], X
    for layer in range(L):
        Z = A @ params[2 * layer].T + params[2 * layer + 1]
        out.append(Z)
        if layer < L - 1:
            A = activate(Z, activation)
            out.append(A)
    return out


def softmax_ce(logits: np.ndarray, y: np.ndarray) -> float:
    """Mean cross-entropy of softmax(logits) with integer labels y: mean_n (logsumexp(z_n) − z_{n, y_n})."""
    m = logits.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(logits - m).sum(axis=1))
    return float(np.mean(lse - logits[np.arange(len(y)), y]))


def accuracy(X: np.ndarray, y: np.ndarray, params: list, activation: str = "relu") -> float:
    return float(np.mean(np.argmax(forward_cache(X, params, activation)[-1], axis=1) == y))


def fd_grad(f, x: np.ndarray, h: float = _H) -> np.ndarray:
    """∂f/∂x by central differences on a float64 copy of x."""
    return numerical_gradient(f, np.array(x, dtype=np.float64), h=h)


def random_params(layer_dims, seed: int, scale: float = 1.0) -> list[np.ndarray]:
    """Non-zero weights and biases (biases too, so that a bug in db shows)."""
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(layer_dims[:-1], layer_dims[1:], strict=True):
        params.append(scale * rng.normal(size=(n_out, n_in)) / math.sqrt(n_in))
        params.append(0.1 * rng.normal(size=n_out))
    return params


def layer_cache(n: int, n_in: int, n_out: int, seed: int, scale: float = 1.0):
    """A consistent layer cache (A_prev, W, b, Z = A_prev Wᵀ + b) and an upstream gradient."""
    rng = np.random.default_rng(seed)
    A_prev = rng.normal(size=(n, n_in))
    W = scale * rng.normal(size=(n_out, n_in))
    b = rng.normal(size=n_out)
    return A_prev, W, b, A_prev @ W.T + b, rng.normal(size=(n, n_out))


# --- oracles by finite differences -----------------------------------------------------------


def fd_linear_backward(dZ, A_prev, W, b):
    """Gradients of L = Σ dZ ⊙ (A_prev Wᵀ + b) with respect to A_prev, W, b."""
    def loss(a, w, c):
        return float(np.sum(dZ * (a @ w.T + c)))

    return (fd_grad(lambda v: loss(v, W, b), A_prev), fd_grad(lambda v: loss(A_prev, v, b), W),
            fd_grad(lambda v: loss(A_prev, W, v), b))


def fd_activation_backward(dA, A_prev, W, b, activation):
    """Gradients of L = Σ dA ⊙ g(A_prev Wᵀ + b) with respect to A_prev, W, b."""
    def loss(a, w, c):
        return float(np.sum(dA * activate(a @ w.T + c, activation)))

    return (fd_grad(lambda v: loss(v, W, b), A_prev), fd_grad(lambda v: loss(A_prev, v, b), W),
            fd_grad(lambda v: loss(A_prev, W, v), b))


def fd_model_backward(dZL, X, params, activation="relu") -> tuple[np.ndarray, ...]:
    """Gradients of L = Σ dZ_L ⊙ Z_L(params) with respect to every parameter, in params' order."""
    grads = []
    for k in range(len(params)):
        def f(p, k=k):
            ps = list(params)
            ps[k] = p
            return float(np.sum(dZL * forward_cache(X, ps, activation)[-1]))
        grads.append(fd_grad(f, params[k]))
    return tuple(grads)


# --- random initialisation and training are judged by statistics -----------------------------


def init_validator(layer_dims, z: float = 4.5):
    """A ``check=`` validator for He-normal weights and zero biases.

    Every W_l divided by its std sqrt(2/n_{l-1}) is pooled; the pool must have mean ≈ 0,
    std ≈ 1 (a margin of ``z`` standard errors, SE ≈ 1/√(2n)) and, with n ≥ 500, a normal's
    kurtosis 3; each layer with at least 500 weights must have its own std within the margin
    (so that fan-out instead of fan-in is caught).  Layers of the same shape must differ.
    """
    dims = [int(d) for d in layer_dims]
    L = len(dims) - 1

    def validate(got) -> str | None:
        if not isinstance(got, tuple):
            return "expected a list [W1, b1, ..., WL, bL], got a single array"
        if len(got) != 2 * L:
            return f"expected {2 * L} arrays ([W1, b1, ..., W{L}, b{L}] for {L} layers), got {len(got)}"
        pooled = []
        for layer in range(L):
            W, b = got[2 * layer], got[2 * layer + 1]
            n_in, n_out = dims[layer], dims[layer + 1]
            if W.shape != (n_out, n_in):
                return f"W{layer + 1} has shape {W.shape}, expected (n_{layer + 1}, n_{layer}) = {(n_out, n_in)}"
            if b.shape != (n_out,):
                return f"b{layer + 1} has shape {b.shape}, expected ({n_out},)"
            if W.dtype.kind != "f" or b.dtype.kind != "f":
                return f"layer {layer + 1}: expected float arrays, got {W.dtype} and {b.dtype}"
            if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):
                return f"layer {layer + 1} holds NaN or inf"
            if np.any(b != 0):
                return f"b{layer + 1} is not zero"
            std = math.sqrt(2.0 / n_in)
            w = W.astype(np.float64).ravel() / std
            if w.size >= 500 and abs(float(w.std()) - 1.0) > z / math.sqrt(2 * w.size):
                return (f"W{layer + 1}: std {float(W.std()):.4g}, expected sqrt(2/{n_in}) = {std:.4g} "
                        f"(He scaling uses the fan-in n_{layer})")
            pooled.append(w)
        for i in range(L):
            for j in range(i):
                if got[2 * i].shape == got[2 * j].shape and np.array_equal(got[2 * i], got[2 * j]):
                    return f"W{j + 1} and W{i + 1} are equal: draw every layer's weights afresh"
        x = np.concatenate(pooled)
        n = x.size
        mean, s = float(x.mean()), float(x.std())
        if abs(mean) > z / math.sqrt(n):
            return f"the weights' mean is {mean:.3g} standard deviations from 0 over {n} draws"
        if abs(s - 1.0) > z / math.sqrt(2 * n):
            return (f"the weights' std is {s:.4g} times sqrt(2/fan_in) over {n} draws, expected 1 "
                    f"within {z / math.sqrt(2 * n):.2g}")
        if n >= 500:
            kurt = float(np.mean((x - mean) ** 4) / s**4)
            if abs(kurt - 3.0) > z * math.sqrt(24.0 / n):
                return f"kurtosis {kurt:.3g}: the weights do not look normal (a normal has 3, a uniform 1.8)"
        return None

    return validate


def blobs(n_per_class: int, centers, std: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters, one per row of ``centers``; label = the cluster's index."""
    rng = np.random.default_rng(seed)
    centers = np.asarray(centers, dtype=np.float64)
    X = np.concatenate([c + std * rng.normal(size=(n_per_class, centers.shape[1])) for c in centers])
    y = np.repeat(np.arange(len(centers)), n_per_class)
    order = rng.permutation(len(y))
    return X[order], y[order]


def train_validator(layer_dims, X_train, y_train, X_test, y_test, min_accuracy: float, max_cost: float,
                    activation: str = "relu"):
    """A ``check=`` validator for a trained network: shapes, finite values, the training cost
    at most ``max_cost`` and the accuracy on fresh samples at least ``min_accuracy``."""
    dims = [int(d) for d in layer_dims]
    L = len(dims) - 1

    def validate(got) -> str | None:
        if not isinstance(got, tuple) or len(got) != 2 * L:
            count = len(got) if isinstance(got, tuple) else 1
            return f"expected the trained [W1, b1, ..., W{L}, b{L}] ({2 * L} arrays), got {count}"
        for layer in range(L):
            shape_w, shape_b = (dims[layer + 1], dims[layer]), (dims[layer + 1],)
            if got[2 * layer].shape != shape_w or got[2 * layer + 1].shape != shape_b:
                return (f"layer {layer + 1}: shapes {got[2 * layer].shape} and {got[2 * layer + 1].shape}, "
                        f"expected {shape_w} and {shape_b}")
        if not all(np.all(np.isfinite(p)) for p in got):
            return "the trained parameters hold NaN or inf (diverged?)"
        params = [np.asarray(p, dtype=np.float64) for p in got]
        cost = softmax_ce(forward_cache(X_train, params, activation)[-1], y_train)
        acc = accuracy(X_test, y_test, params, activation)
        if not cost <= max_cost:
            return f"the training cost after training is {cost:.3g}, expected at most {max_cost:g}"
        if acc < min_accuracy:
            return f"accuracy on fresh samples {acc:.3f}, expected at least {min_accuracy:g}"
        return None

    return validate


# --- cases -----------------------------------------------------------------------------------


def cases_initialize_parameters() -> list[Case]:
    dims = [64, 32, 16, 10]
    dims2 = [300, 100, 3]
    return [
        Case("n = [64, 32, 16, 10], seed 0", args=(dims, Rng(0)), check=init_validator(dims)),
        Case("n = [300, 100, 3], seed 1", args=(dims2, Rng(1)), check=init_validator(dims2)),
    ]


def cases_linear_forward() -> list[Case]:
    A_prev, W, b, Z, _ = layer_cache(5, 3, 4, seed=2)
    return [Case("N = 5, n_{l-1} = 3, n_l = 4", args=(A_prev, W, b), expected=A_prev @ W.T + b)]


def cases_linear_activation_forward() -> list[Case]:
    A_prev, W, b, Z, _ = layer_cache(6, 3, 4, seed=3)
    return [
        Case(f"{g}, N = 6, n_{{l-1}} = 3, n_l = 4", args=(A_prev, W, b, g), expected=(activate(Z, g), Z))
        for g in ("relu", "sigmoid")
    ]


def cases_l_model_forward() -> list[Case]:
    dims = [2, 3, 5, 4, 2, 1]  # the ESIR lecture's example (docs/references.md)
    X = np.random.default_rng(4).normal(size=(7, 2))
    params = random_params(dims, seed=5)
    dims2 = [4, 6, 3]
    X2 = np.random.default_rng(6).normal(size=(5, 4))
    params2 = random_params(dims2, seed=7)
    return [
        Case("n = [2, 3, 5, 4, 2, 1], N = 7, relu", args=(X, params), expected=tuple(forward_cache(X, params))),
        Case("n = [4, 6, 3], N = 5, sigmoid", args=(X2, params2), kwargs={"activation": "sigmoid"},
             expected=tuple(forward_cache(X2, params2, "sigmoid"))),
    ]


def cases_compute_cost() -> list[Case]:
    rng = np.random.default_rng(8)
    logits, y = rng.normal(size=(6, 4)), rng.integers(0, 4, size=6)
    return [Case("N = 6, 4 classes", args=(logits, y),
                 expected=(softmax_ce(logits, y), fd_grad(lambda v: softmax_ce(v, y), logits)),
                 rtol=1e-6, atol=1e-9)]


def cases_linear_backward_cached() -> list[Case]:
    A_prev, W, b, _, dZ = layer_cache(5, 3, 2, seed=9)
    return [Case("N = 5, n_{l-1} = 3, n_l = 2", args=(dZ, (A_prev, W, b)),
                 expected=fd_linear_backward(dZ, A_prev, W, b), rtol=1e-6, atol=1e-8)]


def cases_linear_activation_backward() -> list[Case]:
    out = []
    for seed, g in ((10, "relu"), (11, "sigmoid")):
        A_prev, W, b, Z, dA = layer_cache(6, 3, 4, seed=seed)
        out.append(Case(f"{g}, N = 6, n_{{l-1}} = 3, n_l = 4", args=(dA, (A_prev, W, b, Z), g),
                        expected=fd_activation_backward(dA, A_prev, W, b, g), rtol=1e-6, atol=1e-8))
    return out


def cases_l_model_backward() -> list[Case]:
    dims = [3, 4, 3, 2]
    X = np.random.default_rng(12).normal(size=(5, 3))
    params = random_params(dims, seed=13)
    dZL = np.random.default_rng(14).normal(size=(5, 2))
    return [Case("n = [3, 4, 3, 2], N = 5, relu", args=(dZL, forward_cache(X, params), params),
                 expected=fd_model_backward(dZL, X, params), rtol=1e-6, atol=1e-8)]


def cases_update_parameters() -> list[Case]:
    params = random_params([3, 4, 2], seed=15)
    grads = random_params([3, 4, 2], seed=16)
    return [Case("two layers, lr = 0.1", args=(params, grads, 0.1),
                 expected=tuple(p - 0.1 * g for p, g in zip(params, grads, strict=True)))]


def cases_train() -> list[Case]:
    centers = [(0.0, 3.0), (3.0, -2.0), (-3.0, -2.0)]
    X, y = blobs(50, centers, 0.8, seed=17)
    X_test, y_test = blobs(100, centers, 0.8, seed=18)
    dims = [2, 16, 3]
    return [Case("3 Gaussian blobs, n = [2, 16, 3], 30 epochs", args=(X, y, dims, 0.1, 30, Rng(19)),
                 check=train_validator(dims, X, y, X_test, y_test, min_accuracy=0.95, max_cost=0.2))]
