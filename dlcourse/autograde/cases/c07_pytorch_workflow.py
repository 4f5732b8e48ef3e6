"""Public check cases for exercise 07_pytorch_workflow (shipped to students).

The graded functions take torch objects, so every question has a *driver*
(:mod:`dlcourse.autograde.cases.c07_pytorch_workflow_drivers`, ``DRIVERS`` below): a case's
arguments are plain data (an architecture string, a seed, arrays), the driver builds the model,
the ``DataLoader``, the loss and the optimizer from them, calls the student's function and
returns plain arrays.  The assignment opts into torch in the sandbox through its notebook's
``metadata.dlcourse.allow_imports`` (read by the grader from the course's copy only).

Oracles, independent of the student's loop: the parameter updates are written out
(w ← w − lr·g for SGD, buf ← μ·buf + g with momentum, Adam's bias-corrected moments as
torch.optim computes them) on gradients from ``torch.autograd.grad``; a loss averaged over
the data set is one full-batch evaluation; the L2 penalty and its gradient are the closed form
(α/2)·Σ‖W‖² and α·W in numpy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlcourse.autograde.cases import c07_pytorch_workflow_drivers as drv
from dlcourse.autograde.spec import Case

TOPIC = "07_pytorch_workflow"

DRIVERS = {
    "train_one_epoch": drv.drive_train_one_epoch,
    "evaluate": drv.drive_evaluate,
    "l2_penalty": drv.drive_l2_penalty,
    "fit": drv.drive_fit,
}

HINTS = {
    "train_one_epoch": "model.train(); for each (X, y) batch moved to device: optimizer.zero_grad(), loss = loss_fn(model(X), y), "
                       "loss.backward(), optimizer.step(); return Σ_b loss_b·|b| / N (the last batch may be smaller).",
    "evaluate": "model.eval() and torch.no_grad(); no backward, no step; return Σ_b loss_b·|b| / N as a float.",
    "l2_penalty": "(alpha/2)·Σ ||W||² over the weight matrices of the nn.Linear layers only (no biases, no BatchNorm γ/β), "
                  "squared (the PyTorch lecture notes' .norm(2) is not squared), returned as a tensor that keeps its graph.",
    "fit": "for each epoch: train_one_epoch, then evaluate on the validation loader, then scheduler.step(); "
           "return (train_losses, val_losses) as two arrays of length epochs.",
}


def _tensors(X, y) -> tuple[Any, Any]:
    import torch

    Xt = torch.as_tensor(np.asarray(X, dtype=np.float64))
    yt = torch.as_tensor(np.asarray(y))
    return Xt, (yt.double() if torch.is_floating_point(yt) else yt.long())


class _Optimizer:
    """SGD (with momentum) and Adam written out, as torch.optim defines them (defaults otherwise)."""

    def __init__(self, params, opt: str, lr: float, momentum: float = 0.0) -> None:
        self.params, self.opt, self.lr, self.momentum = list(params), opt, float(lr), float(momentum)
        self.state: list[dict] = [{} for _ in self.params]

    def step(self, grads) -> None:
        import torch

        b1, b2, eps = 0.9, 0.999, 1e-8
        with torch.no_grad():
            for p, g, st in zip(self.params, grads, self.state, strict=True):
                if self.opt == "sgd":
                    if self.momentum:
                        st["buf"] = g.clone() if "buf" not in st else self.momentum * st["buf"] + g
                        g = st["buf"]
                    p -= self.lr * g
                else:  # Adam: m̂ = m/(1 − β1^t), v̂ = v/(1 − β2^t), w ← w − lr·m̂/(√v̂ + ε)
                    t = st["t"] = st.get("t", 0) + 1
                    st["m"] = b1 * st.get("m", torch.zeros_like(p)) + (1 - b1) * g
                    st["v"] = b2 * st.get("v", torch.zeros_like(p)) + (1 - b2) * g * g
                    denom = st["v"].sqrt() / (1 - b2 ** t) ** 0.5 + eps
                    p -= self.lr / (1 - b1 ** t) * st["m"] / denom


def _order(n: int, shuffle: bool, seed: int) -> list[int]:
    """The sample order of the first epoch of the driver's loader: its iterator draws a base seed
    from the loader's generator, then a RandomSampler draws ``torch.randperm(n)`` from it."""
    import torch

    if not shuffle:
        return list(range(n))
    gen = torch.Generator().manual_seed(seed)
    torch.empty((), dtype=torch.int64).random_(generator=gen)
    return torch.randperm(n, generator=gen).tolist()


def _epoch(model, X, y, batch_size: int, optimizer: _Optimizer, loss: str, order: list[int]) -> float:
    """One epoch by hand: per batch, the loss's gradient from autograd and the written-out update;
    returns Σ_b L_b·|b| / N."""
    import torch

    Xt, yt = _tensors(X, y)
    loss_fn = drv.make_loss(loss)
    model.train()
    total, n = 0.0, len(order)
    for start in range(0, n, batch_size):
        idx = torch.as_tensor(order[start:start + batch_size])
        value = loss_fn(model(Xt[idx]), yt[idx])
        optimizer.step(torch.autograd.grad(value, optimizer.params))
        total += float(value.item()) * len(idx)
    return total / n


def _full_batch_loss(model, X, y, loss: str) -> float:
    """The data set's mean loss in one evaluation-mode pass (no mini-batches)."""
    import torch

    Xt, yt = _tensors(X, y)
    model.eval()
    with torch.no_grad():
        return float(drv.make_loss(loss)(model(Xt), yt).item())


def train_expected(arch: str, X, y, batch_size: int, opt: str = "sgd", lr: float = 0.1, seed: int = 0,
                   loss: str = "mse", momentum: float = 0.0, shuffle: bool = False) -> tuple[float, np.ndarray]:
    """What :func:`drv.drive_train_one_epoch` returns for a correct ``train_one_epoch``."""
    import torch

    model = drv.build_model(arch, np.shape(X)[1], seed)
    optimizer = _Optimizer(model.parameters(), opt, lr, momentum)
    order = _order(len(X), shuffle, seed + 2)
    torch.manual_seed(seed + 1)
    mean = _epoch(model, X, y, batch_size, optimizer, loss, order)
    return mean, drv.flat_state(model)


def evaluate_expected(arch: str, X, y, batch_size: int, seed: int = 0, loss: str = "mse") -> tuple:
    """What :func:`drv.drive_evaluate` returns for a correct ``evaluate``: the full-batch loss in
    evaluation mode, no gradient changed, no forward pass tracked, the state unchanged."""
    model = drv.build_model(arch, np.shape(X)[1], seed)
    drv._preset_grads(model, seed)
    return _full_batch_loss(model, X, y, loss), 0.0, 0, 0.0


def train_mode_loss(arch: str, X, y, batch_size: int, seed: int = 0, loss: str = "mse") -> float:
    """The mean loss a wrong ``evaluate`` that stays in training mode reports (for the tests)."""
    import torch

    model = drv.build_model(arch, np.shape(X)[1], seed)
    drv._preset_grads(model, seed)
    Xt, yt = _tensors(X, y)
    model.train()
    torch.manual_seed(seed + 1)
    total = 0.0
    with torch.no_grad():
        for start in range(0, len(X), batch_size):
            value = drv.make_loss(loss)(model(Xt[start:start + batch_size]), yt[start:start + batch_size])
            total += float(value.item()) * len(Xt[start:start + batch_size])
    return total / len(X)


def l2_expected(arch: str, in_features: int, alpha: float, seed: int = 0) -> tuple[float, np.ndarray]:
    """(α/2)·Σ‖W‖² over the nn.Linear weight matrices and its gradient α·W (0 for every other
    parameter), in numpy from the model's initial weights."""
    from torch import nn

    model = drv.build_model(arch, in_features, seed)
    value, grads = 0.0, []
    linear_weights = {id(m.weight) for m in model.modules() if isinstance(m, nn.Linear)}
    for p in model.parameters():
        w = p.detach().numpy()
        if id(p) in linear_weights:
            value += 0.5 * alpha * float(np.sum(w * w))
            grads.append(alpha * w.reshape(-1))
        else:
            grads.append(np.zeros(w.size))
    return value, np.concatenate(grads)


def fit_expected(arch: str, X, y, X_val, y_val, batch_size: int, epochs: int, opt: str = "sgd", lr: float = 0.1,
                 step_size: int = 1, gamma: float = 0.5, seed: int = 0, loss: str = "mse") -> tuple:
    """What :func:`drv.drive_fit` returns for a correct ``fit``: per epoch, an epoch at
    lr·γ^⌊e/step_size⌋, then the full-batch validation loss."""
    import torch

    model = drv.build_model(arch, np.shape(X)[1], seed)
    optimizer = _Optimizer(model.parameters(), opt, lr)
    torch.manual_seed(seed + 1)
    train, val = [], []
    for e in range(epochs):
        optimizer.lr = lr * gamma ** (e // step_size)  # StepLR
        train.append(_epoch(model, X, y, batch_size, optimizer, loss, list(range(len(X)))))
        val.append(_full_batch_loss(model, X_val, y_val, loss))
    return np.array(train), np.array(val), lr * gamma ** (epochs // step_size), drv.flat_state(model)


def regression_data(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A small regression problem: y = X·w + 0.1·ε, X ~ N(0, 1), as (n, d) and (n, 1)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, X @ rng.normal(size=(d, 1)) + 0.1 * rng.normal(size=(n, 1))


def classification_data(n: int, d: int, classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A small classification problem: X ~ N(0, 1), labels from a random linear map's argmax."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, np.argmax(X @ rng.normal(size=(d, classes)), axis=1).astype(np.int64)


# --- cases -------------------------------------------------------------------------------


def cases_train_one_epoch() -> list[Case]:
    X, y = regression_data(12, 3, seed=1)
    X10, y10 = regression_data(10, 3, seed=2)
    arch = "linear:8,relu,linear:1"
    return [
        Case("SGD, 12 samples in 3 full batches of 4", args=(arch, X, y, 4), kwargs={"opt": "sgd", "lr": 0.1},
             expected=train_expected(arch, X, y, 4, "sgd", 0.1)),
        Case("10 samples, batches of 4: the last batch holds 2 (weight each batch's mean by its size)",
             args=(arch, X10, y10, 4), kwargs={"opt": "sgd", "lr": 0.05, "seed": 3},
             expected=train_expected(arch, X10, y10, 4, "sgd", 0.05, seed=3)),
        Case("Adam (lr 0.01), batches of 5", args=(arch, X10, y10, 5), kwargs={"opt": "adam", "lr": 0.01},
             expected=train_expected(arch, X10, y10, 5, "adam", 0.01)),
    ]


def cases_evaluate() -> list[Case]:
    X, y = regression_data(10, 3, seed=4)
    plain, noisy = "linear:6,relu,linear:1", "linear:6,relu,dropout:0.5,linear:1"
    return [
        Case("a ReLU MLP, batches of 4 (the last holds 2)", args=(plain, X, y, 4),
             expected=evaluate_expected(plain, X, y, 4)),
        Case("with dropout: evaluation mode turns it off", args=(noisy, X, y, 5), kwargs={"seed": 1},
             expected=evaluate_expected(noisy, X, y, 5, seed=1)),
    ]


def cases_l2_penalty() -> list[Case]:
    return [
        Case("two Linear layers, alpha 0.1: weights only, squared norm", args=("linear:4,relu,linear:2", 3, 0.1),
             expected=l2_expected("linear:4,relu,linear:2", 3, 0.1)),
        Case("alpha 1e-3 on a deeper net", args=("linear:5,tanh,linear:5,tanh,linear:1", 2, 1e-3), kwargs={"seed": 2},
             expected=l2_expected("linear:5,tanh,linear:5,tanh,linear:1", 2, 1e-3, seed=2)),
    ]


def cases_fit() -> list[Case]:
    X, y = regression_data(12, 2, seed=5)
    Xv, yv = regression_data(6, 2, seed=6)
    arch = "linear:6,relu,linear:1"
    return [
        Case("3 epochs of SGD, StepLR halving the rate every epoch", args=(arch, X, y, Xv, yv, 4, 3),
             kwargs={"lr": 0.1, "step_size": 1, "gamma": 0.5},
             expected=fit_expected(arch, X, y, Xv, yv, 4, 3, lr=0.1, step_size=1, gamma=0.5)),
    ]
