"""Bridges to PyTorch for GPU-scale runs and for the tests' float64 oracles.

torch is imported inside each function, never at module import, so ``import dlcourse`` and
``import dlcourse.torch`` stay light; a missing torch gives a clear ImportError when used.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlcourse.validation import as_rng, check_choice, check_count


def _torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - torch is a dependency
        raise ImportError("dlcourse.torch needs PyTorch: run `make setup` or see README, section GPU") from exc
    return torch


def device(prefer: str | None = None) -> Any:
    """The best available ``torch.device``: cuda, then mps, then cpu (or ``prefer`` if given).

    ``prefer="gpu"`` (the PyTorch lecture notes' ``torch.device('gpu')``, which torch refuses)
    raises a ValueError that names the device types torch has: "cuda" is the GPU.
    """
    torch = _torch()
    if prefer is not None:
        if isinstance(prefer, str) and prefer.split(":")[0].strip().lower() == "gpu":
            raise ValueError(f"there is no torch device type {prefer!r}: an NVIDIA or AMD GPU is 'cuda' "
                             "(e.g. 'cuda:0'), an Apple GPU 'mps'; device() with no argument picks the best one")
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


_best_device = device  # for functions whose ``device`` argument shadows the name


def to_tensor(x, dtype=None, device=None, requires_grad: bool = False) -> Any:
    """Copy an ndarray into a torch tensor (float64 stays float64 unless ``dtype`` says otherwise)."""
    torch = _torch()
    t = torch.as_tensor(np.asarray(x), dtype=dtype, device=device).clone()
    return t.requires_grad_(requires_grad)


def to_numpy(t) -> np.ndarray:
    """Detach a tensor, move it to the CPU and return an ndarray."""
    return t.detach().cpu().numpy()


# ---------------------------------------------------------------------------------------------
# Torch twins of dlcourse models
# ---------------------------------------------------------------------------------------------

_LECUN_CLS = None


def _lecun_tanh_module():
    """torch.nn.Module computing 1.7159 · tanh(2z/3), defined on first use (torch is lazy)."""
    global _LECUN_CLS
    if _LECUN_CLS is None:
        torch = _torch()
        from dlcourse.activations import LECUN_A, LECUN_B

        module_base: Any = torch.nn.Module  # torch is imported at run time only

        class LeCunTanh(module_base):
            """f(z) = 1.7159 · tanh(2z/3) (LeCun et al., 1998)."""

            def forward(self, z):
                return LECUN_A * torch.tanh(LECUN_B * z)

        _LECUN_CLS = LeCunTanh
    return _LECUN_CLS


def _copy_(tensor, array) -> None:
    """Copy an ndarray into an existing tensor in place, keeping the tensor's dtype and device."""
    with _torch().no_grad():
        tensor.copy_(_torch().as_tensor(np.asarray(array)))


def _convert(module, torch, dtype, device):
    from dlcourse import nn

    tnn = torch.nn
    if isinstance(module, nn.Sequential):
        return tnn.Sequential(*(_convert(m, torch, dtype, device) for m in module))
    if isinstance(module, nn.Linear):
        t = tnn.Linear(module.in_features, module.out_features, bias=module.bias is not None,
                       dtype=dtype, device=device)
        _copy_(t.weight, module.weight.data)  # both (out, in): y = x Wᵀ + b
        if module.bias is not None:
            _copy_(t.bias, module.bias.data)
        return t
    simple = {nn.ReLU: tnn.ReLU, nn.Sigmoid: tnn.Sigmoid, nn.Tanh: tnn.Tanh}
    if type(module) in simple:
        return simple[type(module)]()
    if isinstance(module, nn.LeakyReLU):
        return tnn.LeakyReLU(module.negative_slope)
    if isinstance(module, nn.ELU):
        return tnn.ELU(module.alpha)
    if isinstance(module, nn.LeCunTanh):
        return _lecun_tanh_module()()
    if isinstance(module, nn.Dropout):
        return tnn.Dropout(module.p)  # same distribution; the random masks differ
    if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        cls = tnn.BatchNorm1d if isinstance(module, nn.BatchNorm1d) else tnn.BatchNorm2d
        t = cls(module.num_features, eps=module.eps, momentum=module.momentum, dtype=dtype, device=device)
        _copy_(t.weight, module.gamma.data)
        _copy_(t.bias, module.beta.data)
        _copy_(t.running_mean, module.running_mean)
        _copy_(t.running_var, module.running_var)
        return t
    raise TypeError(
        f"to_torch_module cannot convert {type(module).__name__}; supported: Sequential, Linear, ReLU, "
        "Sigmoid, Tanh, LeakyReLU, ELU, LeCunTanh, Dropout, BatchNorm1d, BatchNorm2d"
    )


def to_torch_module(module, dtype=None, device=None) -> Any:
    """An equivalent ``torch.nn`` module with copies of the weights (and BatchNorm's buffers).

    ``dtype`` defaults to float64, so outputs and gradients agree with the numpy model to
    round-off; the train/eval mode is copied too.
    """
    torch = _torch()
    dtype = torch.float64 if dtype is None else dtype
    twin = _convert(module, torch, dtype, device)
    return twin.train(bool(getattr(module, "training", True)))


_OPTIMIZERS = {"sgd": "SGD", "adam": "Adam", "rmsprop": "RMSprop", "adagrad": "Adagrad", "adamw": "AdamW"}


def fit_torch(model, X, y, epochs: int = 10, batch_size: int | None = 32, lr: float = 0.01,
              optimizer="sgd", device=None, rng: np.random.Generator | int | None = 0,
              loss: str | None = None, progress: bool = True,
              **optimizer_kwargs) -> list[float]:
    """A minimal torch training loop for GPU-scale runs; returns the per-epoch mean training loss.

    ``X``, ``y``: ndarrays or tensors.  ``loss``: "cross_entropy" (the default for integer
    labels), "mse" (the default otherwise) or "binary_cross_entropy_with_logits".  ``optimizer``: a name
    (sgd, adam, rmsprop, adagrad, adamw; extra keyword arguments such as ``momentum`` go to it)
    or a ``torch.optim.Optimizer`` already built over ``model.parameters()``.  The batch order is
    ``torch.randperm`` drawn from a CPU ``torch.Generator`` seeded from ``rng``: an int seed
    seeds it directly (``torch.manual_seed`` semantics), a numpy Generator gives it one draw
    (``batch_size=None``: full batch).  NaN/inf raises FloatingPointError naming the epoch.
    ``progress``: a tqdm bar over the epochs showing the last epoch's loss (as :func:`dlcourse.train.fit`).
    """
    from tqdm.auto import tqdm

    torch = _torch()
    F = torch.nn.functional
    epochs = check_count(epochs, "epochs", allow_zero=True)
    bs = None if batch_size is None else check_count(batch_size, "batch_size (None: full batch)")
    # an int is the torch seed itself, so fit_torch(rng=0) repeats torch.manual_seed(0)'s order
    torch_seed = int(rng) if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) \
        else int(as_rng(rng).integers(2**63))
    dev = _best_device() if device is None else torch.device(device)
    model = model.to(dev)
    params = list(model.parameters())
    if not params:
        raise ValueError("fit_torch needs a model with parameters")
    p_dtype = params[0].dtype
    X_t = torch.as_tensor(np.asarray(X) if not torch.is_tensor(X) else X).to(dev, p_dtype)
    y_t = torch.as_tensor(np.asarray(y) if not torch.is_tensor(y) else y).to(dev)
    n = X_t.shape[0]
    if y_t.shape[0] != n or n == 0:
        raise ValueError(f"X and y must have the same, non-zero number of rows, got {tuple(X_t.shape)} and {tuple(y_t.shape)}")
    integer_labels = not torch.is_floating_point(y_t)
    loss = loss or ("cross_entropy" if integer_labels else "mse")
    losses = {"cross_entropy": F.cross_entropy, "mse": F.mse_loss, "binary_cross_entropy_with_logits": F.binary_cross_entropy_with_logits}
    check_choice(loss, losses, "loss")
    y_t = y_t.long() if loss == "cross_entropy" else y_t.to(p_dtype)
    loss_fn = losses[loss]
    if isinstance(optimizer, str):
        check_choice(optimizer.lower(), _OPTIMIZERS, "optimizer")
        opt = getattr(torch.optim, _OPTIMIZERS[optimizer.lower()])(params, lr=lr, **optimizer_kwargs)
    elif isinstance(optimizer, torch.optim.Optimizer):
        opt = optimizer
    else:
        raise TypeError(f"optimizer must be a name or a torch.optim.Optimizer, got {type(optimizer).__name__}")
    bs = n if bs is None else bs
    gen = torch.Generator().manual_seed(torch_seed)
    history: list[float] = []
    model.train()
    bar = tqdm(range(epochs), desc="fit_torch", unit="epoch", disable=not progress, leave=False)
    try:
        for epoch in bar:
            order = torch.randperm(n, generator=gen).to(dev)
            total = torch.zeros((), dtype=p_dtype, device=dev)
            for start in range(0, n, bs):
                idx = order[start:start + bs]
                opt.zero_grad()
                batch_loss = loss_fn(model(X_t[idx]), y_t[idx])
                batch_loss.backward()
                opt.step()
                total += batch_loss.detach() * idx.numel()  # Σ_b M_b L_b: stays on the device
            mean = float(total.item()) / n  # one host sync per epoch
            if not np.isfinite(mean):
                raise FloatingPointError(f"loss is {mean} at epoch {epoch} (counted from 0); last finite epoch loss: "
                                         f"{history[-1] if history else None}. Lower the learning rate.")
            history.append(mean)
            bar.set_postfix(loss=f"{mean:.4g}", refresh=False)
    finally:
        bar.close()
    model.eval()
    return history
