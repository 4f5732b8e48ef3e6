"""The 2-layer network written out by hand (notebooks 01 and 02).

Everything here is the explicit algebra of the ESIR lecture (see docs/references.md) — no
modules, no autograd — so that the notebooks can derive each line and then check it against
finite differences and torch:

* forward:  Z1 = X W1ᵀ + b1,  A1 = g(Z1),  Z2 = A1 W2ᵀ + b2,  A2 = σ(Z2) (or softmax);
* backward (mean loss over the m samples, with σ + binary cross-entropy or softmax +
  cross-entropy at the output, so that dL/dZ2 simplifies to A2 − Y):
  dZ2 = A2 − Y,  dW2 = dZ2ᵀ A1 / m,  db2 = Σ dZ2 / m,  dZ1 = (dZ2 W2) ⊙ g'(Z1),
  dW1 = dZ1ᵀ X / m,  db1 = Σ dZ1 / m.

Two layouts, same numbers.  The row-major one (a batch is X of shape (m, n0), like PyTorch) is
the default; :func:`two_layer_grads_colmajor` is the lecture's column-major form (X of shape
(n0, m), b of shape (n, 1)).  W has torch's (out, in) shape in both, which is also the lecture's
W^[l] of shape (n^[l], n^[l−1]).

Also here: the parameters flattened into one vector θ, and the same loss written with scalar
operations only, so that the autodiff engines and any learner over a flat θ (notebook 01
sets weight perturbation against gradient descent with them) can work on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dlcourse import activations, init, losses
from dlcourse.data import _batches, one_hot
from dlcourse.validation import (
    as_float_array,
    as_rng,
    check_choice,
    check_count,
    check_finite,
    check_positive,
    check_same_length,
    check_unit_interval,
)

Params = dict[str, np.ndarray]
PARAM_NAMES = ("W1", "b1", "W2", "b2")
OUTPUTS = ("sigmoid", "softmax")


# ---------------------------------------------------------------------------------------------
# Parameters and targets
# ---------------------------------------------------------------------------------------------


def init_two_layer(n_in: int, n_hidden: int, n_out: int = 1, *, rng=None, std: float | None = None) -> Params:
    """W1 (n_hidden, n_in), b1 (n_hidden,), W2 (n_out, n_hidden), b2 (n_out,): W ~ N(0, std²), b = 0.

    ``std=None`` uses the 1/fan_in variance (the ESIR lecture's ``np.sqrt(1/n)``, :func:`dlcourse.init.lecun_normal`)
    per layer.
    """
    n_in, n_hidden, n_out = (check_count(n_in, "n_in"), check_count(n_hidden, "n_hidden"),
                             check_count(n_out, "n_out"))
    rng = as_rng(rng)
    draw = init.get("lecun_normal") if std is None else init.get("normal", std=check_positive(std, "std"))
    return {
        "W1": draw((n_hidden, n_in), rng=rng),
        "b1": np.zeros(n_hidden),
        "W2": draw((n_out, n_hidden), rng=rng),
        "b2": np.zeros(n_out),
    }


def _check_params(params: Params, *, colmajor: bool = False) -> tuple[np.ndarray, ...]:
    """Return (W1, b1, W2, b2) as float arrays after checking that their shapes chain."""
    missing = [k for k in PARAM_NAMES if k not in params]
    if missing:
        raise KeyError(f"params must hold {PARAM_NAMES}, missing {missing}")
    W1 = as_float_array(params["W1"], "W1", ndim=2)
    W2 = as_float_array(params["W2"], "W2", ndim=2)
    b_ndim = 2 if colmajor else 1
    b1 = as_float_array(params["b1"], "b1", ndim=b_ndim)
    b2 = as_float_array(params["b2"], "b2", ndim=b_ndim)
    for name, arr in zip(PARAM_NAMES, (W1, b1, W2, b2), strict=True):
        check_finite(arr, name)  # a NaN/inf weight would otherwise surface as a NaN loss later
    n1, n2 = W1.shape[0], W2.shape[0]
    if W2.shape[1] != n1:
        raise ValueError(f"W2 must have shape (n_out, {n1}) to follow W1 {W1.shape}, got {W2.shape}")
    want_b1, want_b2 = ((n1, 1), (n2, 1)) if colmajor else ((n1,), (n2,))
    if b1.shape != want_b1:
        raise ValueError(f"b1 must have shape {want_b1}, got {b1.shape}")
    if b2.shape != want_b2:
        raise ValueError(f"b2 must have shape {want_b2}, got {b2.shape}")
    return W1, b1, W2, b2


def targets(y, n_out: int, output: str = "sigmoid") -> np.ndarray:
    """The target matrix Y (m, n_out) that dZ2 = A2 − Y needs.

    sigmoid: y of shape (m,) or (m, n_out) with values in [0, 1]; softmax: integer labels (m,)
    (one-hot encoded here) or a one-hot / probability matrix (m, n_out).
    """
    return _targets(y, check_count(n_out, "n_out"), check_choice(output, OUTPUTS, "output"))


def _targets(y, n_out: int, output: str) -> np.ndarray:
    """:func:`targets` for a checked ``n_out`` and ``output``."""
    y = np.asarray(y)
    if output == "softmax" and y.ndim == 1:
        return one_hot(y, n_out)
    Y = as_float_array(y, "y", ndim=(1, 2))
    if Y.ndim == 1:
        if n_out != 1:
            raise ValueError(f"1-D targets need n_out = 1, the network has n_out = {n_out}")
        Y = Y[:, None]
    if Y.shape[1] != n_out:
        raise ValueError(f"y must have {n_out} column(s) to match the output layer, got shape {Y.shape}")
    check_unit_interval(Y, "y (targets: labels or probabilities)")
    return Y


# ---------------------------------------------------------------------------------------------
# Forward and hand-derived backward, row-major (m, features)
# ---------------------------------------------------------------------------------------------


def _output(Z2: np.ndarray, output: str, axis: int) -> np.ndarray:
    return activations.sigmoid(Z2) if output == "sigmoid" else losses.softmax(Z2, axis=axis)


def _loss(Z2: np.ndarray, Y: np.ndarray, output: str, axis: int) -> float:
    """Mean over the m samples of the cross-entropy, from the logits Z2 (never log(0)).

    sigmoid: Σ_k −[y_k log σ(z_k) + (1 − y_k) log(1 − σ(z_k))] (``binary_cross_entropy_with_logits`` averages
    over all m·n_out entries, so its value is scaled back by n_out); softmax: −Σ_k y_k log
    softmax(z)_k.  ``axis`` is the axis of the n_out outputs (1 row-major, 0 column-major).
    """
    if output == "sigmoid":
        return losses._bce_with_logits(Z2, Y)[0] * Z2.shape[axis]
    m = Z2.shape[1 - axis]
    return float(-np.sum(Y * losses._log_softmax(Z2, axis=axis)) / m)


def _activation(name: str):
    """(g, g') for a hidden activation named in :data:`dlcourse.activations.ACTIVATIONS`."""
    return activations.ACTIVATIONS[check_choice(name, activations.ACTIVATIONS, "activation")]


def two_layer_forward(params: Params, X, *, activation: str = "tanh", output: str = "sigmoid") -> tuple[np.ndarray, tuple]:
    """Row-major forward pass; returns (A2 (m, n_out), cache).

    Z1 = X W1ᵀ + b1 (m, n1);  A1 = g(Z1);  Z2 = A1 W2ᵀ + b2 (m, n2);  A2 = σ(Z2) or softmax(Z2).
    """
    check_choice(output, OUTPUTS, "output")
    _activation(activation)
    weights = _check_params(params)
    return _forward(weights, _check_X(X, weights[0]), activation, output)


def _check_X(X, W1: np.ndarray) -> np.ndarray:
    """X as a float (m, n0) array whose n0 columns match W1 (n1, n0)."""
    X = as_float_array(X, "X", ndim=2)
    if X.shape[1] != W1.shape[1]:
        raise ValueError(f"X must have {W1.shape[1]} features (columns) to match W1 {W1.shape}, got shape {X.shape}")
    return X


def _forward(weights: tuple[np.ndarray, ...], X: np.ndarray, activation: str, output: str) -> tuple[np.ndarray, tuple]:
    """:func:`two_layer_forward` on checked weights (W1, b1, W2, b2), X and names."""
    W1, b1, W2, b2 = weights
    g = activations.ACTIVATIONS[activation][0]
    Z1 = X @ W1.T + b1  # (m, n0) @ (n0, n1): row n is W1 x_n + b1
    A1 = g(Z1)  # hidden activations
    Z2 = A1 @ W2.T + b2  # (m, n1) @ (n1, n2)
    A2 = _output(Z2, output, axis=1)  # probabilities, one row per sample
    return A2, (X, Z1, A1, Z2, A2, W1, W2, activation, output)


def two_layer_backward(cache: tuple, Y: np.ndarray) -> Params:
    """The hand-derived gradients of the mean loss, row-major (the ESIR lecture's, transposed).

    Returns ``{"dZ2", "dW2", "db2", "dZ1", "dW1", "db1"}`` with dW, db shaped like W, b.
    """
    A2 = cache[4]
    Y = as_float_array(Y, "Y", ndim=2)
    if Y.shape != A2.shape:
        raise ValueError(f"Y must have the output's shape {A2.shape} (m, n_out), got {Y.shape}; "
                         "build it from labels with targets(y, n_out, output)")
    return _backward(cache, Y)


def _backward(cache: tuple, Y: np.ndarray) -> Params:
    """:func:`two_layer_backward` for a target matrix Y already checked against the output."""
    X, Z1, A1, Z2, A2, W1, W2, activation, output = cache
    g_prime = activations.ACTIVATIONS[activation][1]
    m = X.shape[0]
    dZ2 = A2 - Y  # dL_n/dz2 for σ + BCE or softmax + CE: the log's 1/a cancels σ'(z) = a(1 − a)
    dW2 = dZ2.T @ A1 / m  # (n2, m) @ (m, n1): Σ_n dz2_n a1_nᵀ, averaged
    db2 = dZ2.sum(axis=0) / m  # Σ_n dz2_n / m
    dA1 = dZ2 @ W2  # (m, n2) @ (n2, n1): the error sent back through the forward weights
    dZ1 = dA1 * g_prime(Z1)  # ⊙ g'(Z1): the chain rule through the element-wise activation
    dW1 = dZ1.T @ X / m  # (n1, m) @ (m, n0)
    db1 = dZ1.sum(axis=0) / m
    return {"dZ2": dZ2, "dW2": dW2, "db2": db2, "dZ1": dZ1, "dW1": dW1, "db1": db1}


def _check_problem(params: Params, X, y, activation: str, output: str) -> tuple[tuple, np.ndarray, np.ndarray]:
    """Check everything a loss or a gradient needs, once: the names, the weights (W1, b1, W2, b2),
    X (m, n0) and the target matrix Y (m, n_out) built from y."""
    check_choice(output, OUTPUTS, "output")
    _activation(activation)
    weights = _check_params(params)
    X = _check_X(X, weights[0])
    y = np.asarray(y)
    check_same_length(X, y, "X", "y")
    return weights, X, _targets(y, weights[2].shape[0], output)


def _grads(weights: tuple, X: np.ndarray, Y: np.ndarray, activation: str, output: str) -> tuple[float, Params]:
    """(loss, grads) of :func:`two_layer_grads` on checked inputs: one forward, one backward pass."""
    _, cache = _forward(weights, X, activation, output)
    d = _backward(cache, Y)
    loss = _loss(cache[3], Y, output, axis=1)
    return loss, {"W1": d["dW1"], "b1": d["db1"], "W2": d["dW2"], "b2": d["db2"]}


def two_layer_loss(params: Params, X, y, *, activation: str = "tanh", output: str = "sigmoid") -> float:
    """Mean cross-entropy of the 2-layer net on (X, y): one forward pass."""
    weights, X, Y = _check_problem(params, X, y, activation, output)
    _, cache = _forward(weights, X, activation, output)
    return _loss(cache[3], Y, output, axis=1)


def two_layer_grads(params: Params, X, y, *, activation: str = "tanh", output: str = "sigmoid") -> tuple[float, Params]:
    """(loss, grads) for the row-major layout; grads keyed ``W1, b1, W2, b2`` like ``params``."""
    return _grads(*_check_problem(params, X, y, activation, output), activation, output)


# ---------------------------------------------------------------------------------------------
# The same equations in the ESIR lecture's column-major layout (features × m)
# ---------------------------------------------------------------------------------------------


def to_colmajor(params: Params) -> Params:
    """Row-major params → the lecture's layout: W unchanged (n^[l], n^[l−1]), b as a column (n^[l], 1)."""
    W1, b1, W2, b2 = _check_params(params)
    return {"W1": W1, "b1": b1[:, None], "W2": W2, "b2": b2[:, None]}


def two_layer_grads_colmajor(params: Params, X, Y, *, activation: str = "tanh", output: str = "sigmoid") -> tuple[float, Params]:
    """The ESIR lecture's vectorised equations, literally: X (n0, m), Y (n2, m), b^[l] (n^[l], 1).

    Z1 = W1 X + b1,  A1 = g(Z1),  Z2 = W2 A1 + b2,  A2 = σ(Z2);
    dZ2 = A2 − Y,  dW2 = dZ2 A1ᵀ / m,  db2 = np.sum(dZ2, axis=1, keepdims=True) / m,
    dZ1 = W2ᵀ dZ2 ⊙ g'(Z1),  dW1 = dZ1 Xᵀ / m,  db1 = np.sum(dZ1, axis=1, keepdims=True) / m.
    Returns (loss, grads) with grads in this same layout.
    """
    check_choice(output, OUTPUTS, "output")
    g, g_prime = _activation(activation)
    W1, b1, W2, b2 = _check_params(params, colmajor=True)
    X = as_float_array(X, "X", ndim=2)
    Y = as_float_array(Y, "Y", ndim=2)
    if X.shape[0] != W1.shape[1]:
        raise ValueError(f"X must be (n0={W1.shape[1]}, m) in the column-major layout, got shape {X.shape}")
    m = X.shape[1]
    if Y.shape != (W2.shape[0], m):
        raise ValueError(f"Y must be (n_out={W2.shape[0]}, m={m}) in the column-major layout, got shape {Y.shape}")
    Z1 = W1 @ X + b1  # (n1, n0) @ (n0, m) + (n1, 1) broadcast over the m columns
    A1 = g(Z1)
    Z2 = W2 @ A1 + b2  # (n2, n1) @ (n1, m)
    A2 = _output(Z2, output, axis=0)  # softmax down each column (one column per sample)
    dZ2 = A2 - Y  # (n2, m)
    dW2 = dZ2 @ A1.T / m  # (n2, m) @ (m, n1)
    db2 = np.sum(dZ2, axis=1, keepdims=True) / m  # (n2, 1)
    dZ1 = (W2.T @ dZ2) * g_prime(Z1)  # (n1, n2) @ (n2, m), ⊙ g'(Z1)
    dW1 = dZ1 @ X.T / m  # (n1, m) @ (m, n0)
    db1 = np.sum(dZ1, axis=1, keepdims=True) / m  # (n1, 1)
    loss = _loss(Z2, Y, output, axis=0)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


# ---------------------------------------------------------------------------------------------
# Using the equations: predict and a plain mini-batch gradient-descent loop
# ---------------------------------------------------------------------------------------------


def two_layer_predict(params: Params, X, *, activation: str = "tanh", output: str = "sigmoid") -> np.ndarray:
    """Class labels: 1[A2 > 0.5] for a sigmoid output, argmax_k A2 for softmax."""
    A2, _ = two_layer_forward(params, X, activation=activation, output=output)
    return _labels_from_output(A2, output)


def _labels_from_output(A2: np.ndarray, output: str) -> np.ndarray:
    """The predicted labels of :func:`two_layer_predict`, from the output A2 (m, n_out)."""
    if output == "sigmoid":
        return (A2[:, 0] > 0.5).astype(int) if A2.shape[1] == 1 else (A2 > 0.5).astype(int)
    return A2.argmax(axis=1)


def _labels_for_accuracy(y, output: str) -> np.ndarray:
    """Labels comparable with :func:`two_layer_predict` (a one-hot matrix becomes its argmax)."""
    y = np.asarray(y)
    if y.ndim == 2 and (output == "softmax" or y.shape[1] > 1):
        return y.argmax(axis=1) if output == "softmax" else (y > 0.5).astype(int)
    return y.reshape(-1).astype(int)


@dataclass
class TrainLog:
    """Per-epoch mean training loss and accuracy of :func:`train_two_layer`."""

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)


def train_two_layer(
    params: Params,
    X,
    y,
    *,
    lr: float,
    epochs: int,
    batch_size: int | None = None,
    activation: str = "tanh",
    output: str = "sigmoid",
    rng=None,
) -> tuple[Params, TrainLog]:
    """Mini-batch gradient descent with the hand-derived gradients: θ ← θ − α dθ (ESIR lecture).

    ``batch_size=None`` is full-batch GD; the batch order of every epoch is drawn from ``rng``.
    Returns a new params dict and the per-epoch log (loss and accuracy on the whole training
    set after each epoch).
    """
    lr = check_positive(lr, "lr")
    epochs = check_count(epochs, "epochs")
    weights, X, Y = _check_problem(params, X, y, activation, output)  # checked once, not per batch
    m = X.shape[0]
    bs = m if batch_size is None else check_count(batch_size, "batch_size")
    rng = as_rng(rng)
    p = {k: w.astype(float, copy=True) for k, w in zip(PARAM_NAMES, weights, strict=True)}
    labels = _labels_for_accuracy(y, output)
    log = TrainLog()
    for epoch in range(epochs):
        # batches of the rows of Y: the targets are built row by row, so this equals batching y
        for Xb, Yb in _batches(X, Y, bs, rng if bs < m else None):  # a fresh order each epoch
            _, grads = _grads(tuple(p[k] for k in PARAM_NAMES), Xb, Yb, activation, output)
            for k in PARAM_NAMES:
                p[k] -= lr * grads[k]  # the gradient-descent step θ ← θ − α dθ, per parameter
        _, cache = _forward(tuple(p[k] for k in PARAM_NAMES), X, activation, output)  # loss and accuracy
        loss = _loss(cache[3], Y, output, axis=1)
        if not np.isfinite(loss):
            raise FloatingPointError(f"loss became {loss} at epoch {epoch}: lower the learning rate")
        log.loss.append(loss)
        log.accuracy.append(float(np.mean(_labels_from_output(cache[4], output) == labels)))
    return p, log


# ---------------------------------------------------------------------------------------------
# Notebook 01: linear layers collapse; linear separability (XOR)
# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# Notebook 01: learning by perturbing weights vs gradient descent, passes counted
# ---------------------------------------------------------------------------------------------


def flatten_params(params: Params) -> tuple[np.ndarray, list[tuple[str, tuple[int, ...]]]]:
    """Concatenate W1, b1, W2, b2 into one vector θ; return (θ, spec) for :func:`unflatten_params`."""
    spec = [(k, np.shape(params[k])) for k in PARAM_NAMES]
    theta = np.concatenate([np.asarray(params[k], dtype=float).reshape(-1) for k in PARAM_NAMES])
    return theta, spec


def unflatten_params(theta, spec) -> Params:
    """Inverse of :func:`flatten_params`."""
    return _unflatten(as_float_array(theta, "theta", ndim=1), spec)


def _unflatten(theta: np.ndarray, spec) -> Params:
    """:func:`unflatten_params` on a 1-D float θ (its length is still compared: reshape needs it)."""
    need = sum(int(np.prod(s)) for _, s in spec)
    if theta.shape[0] != need:
        raise ValueError(f"theta must have {need} entries for this spec, got {theta.shape[0]}")
    out, i = {}, 0
    for name, shape in spec:
        n = int(np.prod(shape))
        out[name] = theta[i : i + n].reshape(shape)
        i += n
    return out


def two_layer_objective(X, y, spec, *, activation: str = "tanh", output: str = "sigmoid"):
    """(loss_fn, loss_and_grad) over a flat θ for the 2-layer net on (X, y), for learners that
    see the parameters as one vector (weight perturbation, plain gradient descent).

    X, y, the names and the shapes in ``spec`` are checked here, once; the two closures, called
    at every trial or step with a float vector from the learner, only reshape θ.
    """
    need = sum(int(np.prod(shape)) for _, shape in spec)
    _, X, Y = _check_problem(_unflatten(np.zeros(need), spec), X, y, activation, output)

    def weights(theta) -> tuple[np.ndarray, ...]:
        p = _unflatten(np.asarray(theta, dtype=float), spec)
        return tuple(p[k] for k in PARAM_NAMES)

    def loss_fn(theta: np.ndarray) -> float:
        _, cache = _forward(weights(theta), X, activation, output)
        return _loss(cache[3], Y, output, axis=1)

    def loss_and_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        loss, grads = _grads(weights(theta), X, Y, activation, output)
        return loss, flatten_params(grads)[0]

    return loss_fn, loss_and_grad


def scalar_two_layer_loss(theta, X, y, n_hidden: int, *, activation: str = "tanh"):
    """The same 2-layer loss (sigmoid output, mean BCE) written with scalar operations only.

    ``theta`` is a sequence of scalars in :func:`flatten_params` order (W1 row by row, b1, W2,
    b2) — :class:`dlcourse.autodiff.Value` (reverse mode) or ``Dual`` (forward mode) — so the
    autodiff engines can differentiate it and be compared with the matrix equations.
    ``activation`` names a method of those scalars: ``"tanh"``, ``"sigmoid"`` or ``"relu"``.
    """
    X = as_float_array(X, "X", ndim=2)
    y = np.asarray(y).reshape(-1)
    m, n0 = X.shape
    n1 = check_count(n_hidden, "n_hidden")
    if len(theta) != n1 * n0 + n1 + n1 + 1:
        raise ValueError(f"theta must have {n1 * n0 + 2 * n1 + 1} entries for a {n0}-{n1}-1 net, got {len(theta)}")
    check_same_length(X, y, "X", "y")
    check_choice(activation, ("tanh", "sigmoid", "relu"), "activation (for scalars)")
    W1 = [theta[j * n0 : (j + 1) * n0] for j in range(n1)]
    b1 = theta[n1 * n0 : n1 * n0 + n1]
    W2 = theta[n1 * n0 + n1 : n1 * n0 + 2 * n1]
    b2 = theta[-1]
    total = 0.0
    for x_n, y_n in zip(X, y, strict=True):
        z1 = [sum((w * float(x) for w, x in zip(W1[j], x_n, strict=True)), b1[j]) for j in range(n1)]
        a1 = [getattr(z, activation)() for z in z1]  # g(z1_j), through the scalar type's own method
        z2 = sum((w * a for w, a in zip(W2, a1, strict=True)), b2)
        a2 = z2.sigmoid()
        # −[y log a + (1 − y) log(1 − a)]: only the term of the true label is built
        total = total - (a2.log() if y_n == 1 else (1 - a2).log())
    return total / m
