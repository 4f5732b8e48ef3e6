"""Full-mode experiments of notebooks 04, 05 and 06 on MNIST, run through :mod:`dlcourse.torch`.

The networks are built by :func:`dlcourse.models.mlp.build_mlp` (the numpy MLP of the course)
and converted by :func:`dlcourse.torch.to_torch_module`, so the torch twin has the very layers
and initial weights the numpy path would use; training then runs in torch (float32) on
:func:`dlcourse.torch.device` — cuda, then mps, then cpu.  Every function takes the data as
arrays, so the same code runs on ``dlcourse.data.mnist()`` in the notebooks and on small
synthetic sets in the tests.

* :func:`optimizers_on_mnist` (notebook 04): one MLP, several ``torch.optim`` optimizers.
* :func:`regularization_on_mnist` (notebook 05): weight decay, dropout, label smoothing, with
  accuracy and the expected calibration error.
* :func:`batchnorm_on_mnist` (notebook 06): epochs to a target accuracy with and without BN.
* :func:`ioffe_szegedy_figure1` (notebook 06): Ioffe & Szegedy (2015), figure 1 — test accuracy
  against training steps with and without BN, and the 15th/50th/85th percentiles of the input of
  one sigmoid of the last hidden layer over training.  The paper: MNIST 28 × 28 inputs, 3
  fully-connected hidden layers of 100 sigmoid units, weights drawn from a small Gaussian,
  50 000 steps of SGD on mini-batches of 60.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dlcourse import init as initializers
from dlcourse.models.mlp import build_mlp
from dlcourse.validation import as_float_array, as_labels, as_rng, check_count, check_positive

__all__ = ["TorchRun", "train_torch", "optimizers_on_mnist", "regularization_on_mnist", "batchnorm_on_mnist",
           "ioffe_szegedy_figure1", "expected_calibration_error"]


def expected_calibration_error(proba, y, bins: int = 15) -> float:
    """ECE = Σ_b (|B_b| / N) · |acc(B_b) − conf(B_b)| over ``bins`` equal-width confidence bins
    (Guo et al., 2017): conf is the largest predicted probability, acc the fraction of those
    predictions that are right.  0 for a calibrated classifier; 1 − accuracy for one that is
    always 100 % sure."""
    proba = as_float_array(proba, "proba", ndim=2)
    y = as_labels(y, "y", n=proba.shape[0], num_classes=proba.shape[1])
    bins = check_count(bins, "bins")
    conf, pred = proba.max(axis=1), proba.argmax(axis=1)
    right = (pred == y).astype(float)
    # bin b holds confidences in (b/B, (b+1)/B]; a confidence of exactly 0 cannot occur (≥ 1/C)
    idx = np.clip(np.ceil(conf * bins).astype(int) - 1, 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        sel = idx == b
        if sel.any():
            ece += sel.mean() * abs(right[sel].mean() - conf[sel].mean())
    return float(ece)


@dataclass
class TorchRun:
    """What :func:`train_torch` measured: per epoch (``train_loss``, ``val_acc``), every
    ``eval_every`` steps (``steps``, ``test_acc``, ``percentiles``), and the final metrics."""

    train_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    percentiles: list[np.ndarray] = field(default_factory=list)
    final: dict[str, float] = field(default_factory=dict)
    device: str = "cpu"
    model: Any = None


def _tensors(arrays, dev, torch):
    X, y = arrays
    return (torch.as_tensor(np.asarray(X), dtype=torch.float32, device=dev),
            torch.as_tensor(np.asarray(y), dtype=torch.long, device=dev))


def _accuracy_and_proba(model, X, y, torch) -> tuple[float, np.ndarray]:
    was = model.training
    model.eval()
    with torch.no_grad():
        logits = model(X)
    model.train(was)
    acc = float((logits.argmax(1) == y).float().mean().item())
    return acc, torch.softmax(logits, 1).cpu().numpy()


def train_torch(model, train, val=None, test=None, *, optimizer: Callable, epochs: int = 10, steps: int | None = None,
                batch_size: int = 64, label_smoothing: float = 0.0, eval_every: int | None = None,
                probe: tuple[int, int] | None = None, rng=0, device=None, progress: bool = True) -> TorchRun:
    """Mini-batch training of a torch module with cross-entropy; returns a :class:`TorchRun`.

    ``optimizer(params)`` builds a ``torch.optim`` optimizer.  Trains for ``epochs`` passes, or
    for exactly ``steps`` mini-batches when given.  Every ``eval_every`` steps the accuracy on
    ``test`` is recorded and, with ``probe = (layer, unit)``, the 15/50/85th percentiles of
    ``model[:layer](X_test)[:, unit]`` (eval mode).  The batch order comes from a CPU
    ``torch.Generator`` seeded from ``rng``.
    """
    import torch
    from tqdm.auto import tqdm

    from dlcourse.torch import device as best_device

    dev = best_device() if device is None else torch.device(device)
    model = model.to(dev)
    Xtr, ytr = _tensors(train, dev, torch)
    Xva, yva = _tensors(val, dev, torch) if val is not None else (None, None)
    Xte, yte = _tensors(test, dev, torch) if test is not None else (None, None)
    bs = check_count(batch_size, "batch_size")
    n = Xtr.shape[0]
    per_epoch = -(-n // bs)
    total = check_count(steps, "steps") if steps is not None else check_count(epochs, "epochs") * per_epoch
    gen = torch.Generator().manual_seed(int(as_rng(rng).integers(2**63)))
    opt = optimizer(model.parameters())
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=float(label_smoothing))
    run = TorchRun(device=str(dev), model=model)

    def record(step: int) -> None:
        if Xte is None:
            return
        acc, _ = _accuracy_and_proba(model, Xte, yte, torch)
        run.steps.append(step)
        run.test_acc.append(acc)
        if probe is not None:
            layer, unit = probe
            was = model.training
            model.eval()
            with torch.no_grad():
                z = model[:layer](Xte)[:, unit].cpu().numpy()
            model.train(was)
            run.percentiles.append(np.percentile(z, (15, 50, 85)))

    if eval_every is not None:
        record(0)
    step, epoch_loss, seen = 0, 0.0, 0
    bar = tqdm(total=total, desc="train (torch)", unit="step", disable=not progress, leave=False)
    model.train()
    try:
        while step < total:
            order = torch.randperm(n, generator=gen).to(dev)
            for start in range(0, n, bs):
                if step >= total:
                    break
                idx = order[start:start + bs]
                opt.zero_grad()
                loss = loss_fn(model(Xtr[idx]), ytr[idx])
                loss.backward()
                opt.step()
                epoch_loss += float(loss.detach()) * len(idx)
                seen += len(idx)
                step += 1
                bar.update(1)
                if eval_every is not None and step % eval_every == 0:
                    record(step)
            run.train_loss.append(epoch_loss / max(seen, 1))
            epoch_loss, seen = 0.0, 0
            if not np.isfinite(run.train_loss[-1]):
                raise FloatingPointError(f"the training loss is {run.train_loss[-1]} in epoch {len(run.train_loss) - 1}; "
                                         "lower the learning rate")
            if Xva is not None:
                run.val_acc.append(_accuracy_and_proba(model, Xva, yva, torch)[0])
    finally:
        bar.close()
    model.eval()
    for name, (X, y) in (("train", (Xtr, ytr)), ("val", (Xva, yva)), ("test", (Xte, yte))):
        if X is not None and y is not None:
            acc, proba = _accuracy_and_proba(model, X, y, torch)
            run.final[f"{name}_acc"] = acc
            run.final[f"{name}_ece"] = expected_calibration_error(proba, y.cpu().numpy())
            run.final[f"{name}_confidence"] = float(proba.max(1).mean())
    return run


def _torch_mlp(sizes: Sequence[int], activation: str, rng, dev, **kwargs):
    import torch

    from dlcourse.torch import to_torch_module

    return to_torch_module(build_mlp(sizes, activation, rng=rng, **kwargs), dtype=torch.float32, device=dev)


def _split(data_splits):
    if len(data_splits) != 6:
        raise ValueError("data must be (X_train, X_val, X_test, y_train, y_val, y_test), as "
                         f"dlcourse.data.train_val_test_split returns; got {len(data_splits)} arrays")
    X_tr, X_val, X_te, y_tr, y_val, y_te = data_splits
    return (X_tr, y_tr), (X_val, y_val), (X_te, y_te)


def optimizers_on_mnist(data_splits, optimizers: dict[str, Callable], *, hidden: Sequence[int] = (256, 256),
                        epochs: int = 10, batch_size: int = 64, rng=0, device=None,
                        progress: bool = True) -> dict[str, TorchRun]:
    """The same ReLU MLP (He init, same initial weights and batch order) trained with each
    ``optimizers[name](params)``; returns ``{name: TorchRun}``."""
    from dlcourse.torch import device as best_device

    train, val, test = _split(data_splits)
    dev = best_device() if device is None else device
    sizes = [np.asarray(train[0]).shape[1], *hidden, int(np.max(train[1])) + 1]
    init_seed, order_seed = (int(s) for s in as_rng(rng).integers(2**32, size=2))
    return {name: train_torch(_torch_mlp(sizes, "relu", init_seed, dev), train, val, test, optimizer=make,
                              epochs=epochs, batch_size=batch_size, rng=order_seed, device=dev, progress=progress)
            for name, make in optimizers.items()}


def regularization_on_mnist(data_splits, configs: dict[str, dict], *, hidden: Sequence[int] = (512, 512),
                            epochs: int = 30, batch_size: int = 64, lr: float = 0.05, momentum: float = 0.9,
                            rng=0, device=None, progress: bool = True) -> dict[str, TorchRun]:
    """One over-parameterised ReLU MLP per configuration, SGD with momentum.

    Each config may set ``weight_decay`` (L2 through the optimizer), ``dropout`` (after each
    hidden layer), ``input_dropout`` and ``label_smoothing``.  ``final`` holds the train,
    validation and test accuracy, ECE and mean confidence.
    """
    import torch

    from dlcourse.torch import device as best_device

    train, val, test = _split(data_splits)
    dev = best_device() if device is None else device
    sizes = [np.asarray(train[0]).shape[1], *hidden, int(np.max(train[1])) + 1]
    init_seed, order_seed = (int(s) for s in as_rng(rng).integers(2**32, size=2))
    runs = {}
    for name, cfg in configs.items():
        unknown = set(cfg) - {"weight_decay", "dropout", "input_dropout", "label_smoothing"}
        if unknown:
            raise ValueError(f"config {name!r} has unknown keys {sorted(unknown)}; expected weight_decay, "
                             "dropout, input_dropout, label_smoothing")
        model = _torch_mlp(sizes, "relu", init_seed, dev, dropout=cfg.get("dropout", 0.0),
                           input_dropout=cfg.get("input_dropout", 0.0))
        wd = float(cfg.get("weight_decay", 0.0))
        make = functools.partial(torch.optim.SGD, lr=lr, momentum=momentum, weight_decay=wd)
        runs[name] = train_torch(model, train, val, test, optimizer=make, epochs=epochs, batch_size=batch_size,
                                 label_smoothing=cfg.get("label_smoothing", 0.0), rng=order_seed, device=dev,
                                 progress=progress)
    return runs


def batchnorm_on_mnist(data_splits, lrs: Sequence[float] = (0.5, 4.0), *, depth: int = 5, width: int = 100,
                       epochs: int = 20, batch_size: int = 60, gain: float = 4.0, rng=0, device=None,
                       progress: bool = True) -> dict[tuple[bool, float], TorchRun]:
    """A ``depth``-hidden-layer sigmoid MLP (Glorot normal × ``gain``), with and without BN, plain
    SGD at each rate; returns ``{(batchnorm, lr): TorchRun}`` (``val_acc`` per epoch)."""
    import torch

    from dlcourse.torch import device as best_device

    train, val, test = _split(data_splits)
    dev = best_device() if device is None else device
    sizes = [np.asarray(train[0]).shape[1], *([check_count(width, "width")] * check_count(depth, "depth")),
             int(np.max(train[1])) + 1]
    init_seed, order_seed = (int(s) for s in as_rng(rng).integers(2**32, size=2))
    init_fn = functools.partial(initializers.xavier_normal, gain=check_positive(gain, "gain"))
    runs = {}
    for lr in lrs:
        for bn in (False, True):
            model = _torch_mlp(sizes, "sigmoid", init_seed, dev, batchnorm=bn, init=init_fn)
            runs[(bn, float(lr))] = train_torch(model, train, val, test, optimizer=functools.partial(torch.optim.SGD, lr=lr),
                                                epochs=epochs, batch_size=batch_size, rng=order_seed, device=dev,
                                                progress=progress)
    return runs


def ioffe_szegedy_figure1(data_splits, *, steps: int = 50_000, batch_size: int = 60, eval_every: int = 500,
                          lr: float = 0.5, std: float = 0.1, hidden: Sequence[int] = (100, 100, 100), rng=0,
                          device=None, progress: bool = True) -> dict[bool, TorchRun]:
    """Ioffe & Szegedy (2015), figure 1: 3 × 100 sigmoid units, weights from N(0, ``std``²),
    ``steps`` SGD steps on batches of 60, with and without BN (BN before each sigmoid).

    Every ``eval_every`` steps: the test accuracy and the 15/50/85th percentiles of the input
    of unit 0 of the last hidden layer's sigmoid over the test images.  Returns
    ``{batchnorm: TorchRun}``.
    """
    import torch

    from dlcourse import nn
    from dlcourse.torch import device as best_device

    train, val, test = _split(data_splits)
    dev = best_device() if device is None else device
    sizes = [np.asarray(train[0]).shape[1], *hidden, int(np.max(train[1])) + 1]
    init_seed, order_seed = (int(s) for s in as_rng(rng).integers(2**32, size=2))
    init_fn = functools.partial(initializers.normal, std=check_positive(std, "std"))
    runs = {}
    for bn in (False, True):
        numpy_model = build_mlp(sizes, "sigmoid", batchnorm=bn, init=init_fn, rng=init_seed)
        last_sigmoid = [i for i, layer in enumerate(numpy_model) if isinstance(layer, nn.Sigmoid)][-1]
        model = _torch_mlp(sizes, "sigmoid", init_seed, dev, batchnorm=bn, init=init_fn)
        runs[bn] = train_torch(model, train, val, test, optimizer=functools.partial(torch.optim.SGD, lr=lr),
                               steps=steps, batch_size=batch_size, eval_every=eval_every,
                               probe=(last_sigmoid, 0), rng=order_seed, device=dev, progress=progress)
    return runs
