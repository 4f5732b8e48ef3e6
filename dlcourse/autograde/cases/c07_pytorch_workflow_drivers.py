"""Drivers of assignment 07: they turn a case's plain data into torch objects around the student's function.

A graded function of assignment 07 takes what a torch training script has (a model, a
``DataLoader``, a loss, an optimizer, a device), which cannot travel to the sandbox as plain
arrays.  The grader therefore sends this file's source with the case, and the sandbox calls
``drive_<qid>(student_fn, *case.args, **case.kwargs)``: the driver builds the objects from the
plain inputs (a model from a short architecture string and a seed, a loader from ``X`` and
``y``), calls the student's function and returns plain arrays (the result and what the
function did to the model).  The public checks in the student's kernel call the same drivers.

This module is self-contained on purpose: it runs inside the sandbox, where only numpy, torch
and the standard library can be imported (never dlcourse).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def build_model(arch: str, in_features: int, seed: int) -> Any:
    """A float64 ``nn.Sequential`` from ``arch``, initialised by ``torch.manual_seed(seed)``.

    ``arch`` is comma-separated: ``linear:K`` (an ``nn.Linear`` to K features), ``relu``,
    ``tanh``, ``dropout:P`` and ``batchnorm`` (``nn.BatchNorm1d`` over the current width),
    e.g. ``"linear:8,relu,dropout:0.3,linear:1"``.
    """
    import torch
    from torch import nn

    torch.manual_seed(int(seed))
    layers: list[Any] = []
    width = int(in_features)
    for token in str(arch).split(","):
        kind, _, value = token.strip().partition(":")
        if kind == "linear":
            # initialised in float32 whatever torch's default dtype: the draws must not depend on it
            layers.append(nn.Linear(width, int(value), dtype=torch.float32))
            width = int(value)
        elif kind == "relu":
            layers.append(nn.ReLU())
        elif kind == "tanh":
            layers.append(nn.Tanh())
        elif kind == "dropout":
            layers.append(nn.Dropout(float(value)))
        elif kind == "batchnorm":
            layers.append(nn.BatchNorm1d(width))
        else:
            raise ValueError(f"unknown layer {token!r} in the architecture {arch!r}")
    return nn.Sequential(*layers).double()


def make_loader(X, y, batch_size: int, shuffle: bool = False, seed: int = 0) -> Any:
    """A ``DataLoader`` over ``TensorDataset(X, y)`` with its own generator (``seed``).

    The generator is given even without ``shuffle``: each iteration of a loader draws a base
    seed, and from its own generator it leaves torch's global random state (dropout's) alone.
    """
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    Xt = torch.as_tensor(np.asarray(X, dtype=np.float64))
    yt = torch.as_tensor(np.asarray(y))
    yt = yt.long() if not torch.is_floating_point(yt) else yt.double()
    gen = torch.Generator().manual_seed(int(seed))
    return DataLoader(TensorDataset(Xt, yt), batch_size=int(batch_size), shuffle=bool(shuffle), generator=gen)


def make_loss(loss: str) -> Any:
    """``nn.MSELoss()`` for ``"mse"``, ``nn.CrossEntropyLoss()`` for ``"cross_entropy"`` (mean reduction)."""
    from torch import nn

    return {"mse": nn.MSELoss, "cross_entropy": nn.CrossEntropyLoss}[loss]()


def make_optimizer(model, opt: str, lr: float, momentum: float = 0.0) -> Any:
    """``optim.SGD(lr, momentum)`` for ``"sgd"``, ``optim.Adam(lr)`` for ``"adam"``."""
    from torch import optim

    if opt == "sgd":
        return optim.SGD(model.parameters(), lr=float(lr), momentum=float(momentum))
    if opt == "adam":
        return optim.Adam(model.parameters(), lr=float(lr))
    raise ValueError(f"unknown optimizer {opt!r}")


def flat_state(model) -> np.ndarray:
    """Every floating-point entry of ``model.state_dict()`` (parameters and BN running statistics), flattened."""
    return np.concatenate([t.detach().cpu().double().reshape(-1).numpy()
                           for t in model.state_dict().values() if t.is_floating_point()])


def _number(value, what: str) -> float:
    """A Python float from a number or a one-element tensor/array (what a loss average may be)."""
    import torch

    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise TypeError(f"{what} must be one number, got a tensor of shape {tuple(value.shape)}")
        return float(value.detach().cpu().item())
    return float(value)


def drive_train_one_epoch(fn, arch: str, X, y, batch_size: int, opt: str = "sgd", lr: float = 0.1,
                          seed: int = 0, loss: str = "mse", momentum: float = 0.0, shuffle: bool = False):
    """``fn(model, loader, loss_fn, optimizer, device)`` on a model left in eval mode (the function
    must switch it to training); returns (its mean loss, the model's state after the epoch)."""
    import torch

    model = build_model(arch, np.shape(X)[1], seed)
    model.eval()
    loader = make_loader(X, y, batch_size, shuffle, seed + 2)
    optimizer = make_optimizer(model, opt, lr, momentum)
    torch.manual_seed(int(seed) + 1)  # the dropout masks
    mean = fn(model, loader, make_loss(loss), optimizer, torch.device("cpu"))
    return _number(mean, "the returned mean loss"), flat_state(model)


def _preset_grads(model, seed: int) -> list[Any]:
    """Give every parameter a known ``.grad`` (and BN layers known running statistics)."""
    import torch

    gen = torch.Generator().manual_seed(int(seed) + 3)
    grads = []
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm1d) and m.running_mean is not None and m.running_var is not None:
                m.running_mean.copy_(0.5 * torch.randn(m.num_features, generator=gen, dtype=torch.float64))
                m.running_var.copy_(0.5 + torch.rand(m.num_features, generator=gen, dtype=torch.float64))
        for p in model.parameters():
            p.grad = torch.randn(p.shape, generator=gen, dtype=p.dtype)
            grads.append(p.grad.clone())
    return grads


def drive_evaluate(fn, arch: str, X, y, batch_size: int, seed: int = 0, loss: str = "mse"):
    """``fn(model, loader, loss_fn, device)`` on a model left in *training* mode whose parameters hold
    known gradients; returns (its mean loss, the largest change of any ``.grad``, the number of
    forward passes run with gradient tracking on, the largest change of the model's state)."""
    import torch

    model = build_model(arch, np.shape(X)[1], seed)
    before_grads = _preset_grads(model, seed)
    before_state = flat_state(model)
    model.train()
    tracked = [0]

    def hook(module, inputs, output):
        tracked[0] += int(torch.is_grad_enabled())

    model.register_forward_hook(hook)
    torch.manual_seed(int(seed) + 1)
    mean = fn(model, make_loader(X, y, batch_size, seed=seed + 2), make_loss(loss), torch.device("cpu"))
    changed = max((float((p.grad - g).abs().max()) if p.grad is not None else float("inf"))
                  for p, g in zip(model.parameters(), before_grads, strict=True))
    moved = float(np.abs(flat_state(model) - before_state).max())
    return _number(mean, "the returned mean loss"), changed, tracked[0], moved


def drive_l2_penalty(fn, arch: str, in_features: int, alpha: float, seed: int = 0):
    """``fn(model, alpha)`` must return a differentiable scalar tensor; returns (its value, the
    gradient it gives every parameter, flattened in ``model.parameters()`` order)."""
    import torch

    model = build_model(arch, in_features, seed)
    penalty = fn(model, alpha)
    if not isinstance(penalty, torch.Tensor) or penalty.numel() != 1:
        raise TypeError(f"l2_penalty must return a one-element torch tensor, got {type(penalty).__name__}")
    if not penalty.requires_grad:
        raise TypeError("l2_penalty returned a tensor without a graph: the optimizer could not use it")
    penalty.reshape(()).backward()
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in model.parameters()]
    return float(penalty.detach().item()), np.concatenate([g.detach().reshape(-1).numpy() for g in grads])


def drive_fit(fn, arch: str, X, y, X_val, y_val, batch_size: int, epochs: int, opt: str = "sgd", lr: float = 0.1,
              step_size: int = 1, gamma: float = 0.5, seed: int = 0, loss: str = "mse"):
    """``fn(model, train_loader, val_loader, loss_fn, optimizer, scheduler, epochs, device)`` with a
    ``StepLR(step_size, gamma)``; returns (train losses, validation losses, the final learning
    rate, the model's final state)."""
    import torch

    model = build_model(arch, np.shape(X)[1], seed)
    optimizer = make_optimizer(model, opt, lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=int(step_size), gamma=float(gamma))
    torch.manual_seed(int(seed) + 1)
    out = fn(model, make_loader(X, y, batch_size, seed=seed + 2), make_loader(X_val, y_val, batch_size, seed=seed + 4),
             make_loss(loss),
             optimizer, scheduler, int(epochs), torch.device("cpu"))
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise TypeError("fit must return (train_losses, val_losses)")
    train = np.array([_number(v, "a training loss") for v in out[0]], dtype=np.float64)
    val = np.array([_number(v, "a validation loss") for v in out[1]], dtype=np.float64)
    return train, val, float(optimizer.param_groups[0]["lr"]), flat_state(model)
