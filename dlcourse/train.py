"""The training loop: mini-batch gradient descent over a :class:`dlcourse.nn.Module`.

One epoch of :func:`fit` is, for every mini-batch (X_b, y_b) drawn by
:func:`dlcourse.data.batches`:

    optimizer.zero_grad()                       # g ← 0
    out = model(X_b)                            # forward, caching what backward needs
    loss, dout = loss_fn(out, y_b)              # L = (1/M) Σ J(θ, x_i, y_i), dL/dout
    model.backward(dout)                        # g = ∇_θ L (accumulated into p.grad;
                                                #   dL/dX_b itself is not computed)
    penalty(params)                             # g += ∇_θ R(θ)   (optional)
    clip_grad_value_ / clip_grad_norm_          # (optional; Pascanu et al., 2013)
    optimizer.step()                            # θ ← θ − ε g  (or momentum, Adam, ...)

then, once per epoch: evaluation on the validation set (eval mode), early stopping, the
callbacks, and ``scheduler.step()``.  Optimizers, schedules, clipping and early stopping live in
:mod:`dlcourse.optim` and :mod:`dlcourse.regularization`; anything with the same methods works.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from dlcourse.activations import sigmoid
from dlcourse.data import batches
from dlcourse.losses import softmax
from dlcourse.nn import backward_without_input_grad
from dlcourse.optim import clip_grad_norm_, clip_grad_value_
from dlcourse.optim.schedules import ReduceLROnPlateau
from dlcourse.validation import as_float_array, as_rng, check_count

__all__ = ["History", "fit", "evaluate", "accuracy", "predict", "predict_proba", "predict_classes",
           "SnapshotEnsemble"]


@dataclass
class History:
    """What :func:`fit` measured, one entry per epoch (epochs are counted from 0).

    ``train_loss``: mean data loss over the epoch's batches (weighted by batch size, computed
    in train mode while the weights change, as Keras reports it; the penalty is kept apart in
    ``penalty``); ``val_loss``/``val_metric``: on the validation set after the epoch, in eval
    mode; ``lr``: the learning rate used during the epoch; ``batch_loss``: every batch's loss
    in order.  ``best_epoch`` is the epoch whose weights the model holds at the end when early
    stopping restored them, otherwise the epoch of the lowest validation loss (None without
    validation data).  Metric lists stay empty when ``metric=None``.
    """

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    train_metric: list[float] = field(default_factory=list)
    val_metric: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    batch_loss: list[float] = field(default_factory=list)
    penalty: list[float] = field(default_factory=list)
    epochs_run: int = 0
    best_epoch: int | None = None
    stopped_early: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------------------------------------
# Metrics and prediction helpers
# ---------------------------------------------------------------------------------------------


def accuracy(output, y, threshold: float = 0.5) -> float:
    """Fraction of correct predictions.

    (N, C) outputs with C > 1: the class is argmax_c output[n, c] (logits or probabilities);
    (N,) or (N, 1) outputs: the class is 1 when output ≥ ``threshold`` (0.5 for probabilities,
    0 for logits).  ``y`` holds integer labels, (N,) or (N, 1).
    """
    output = as_float_array(output, "output", ndim=(1, 2))
    y = np.asarray(y)
    n = output.shape[0]
    if y.shape not in ((n,), (n, 1)):
        raise ValueError(f"y must have shape ({n},) or ({n}, 1) to match output {output.shape}, got {y.shape}")
    return float(np.mean(_classes(output, threshold) == y.reshape(n)))


def _classes(output: np.ndarray, threshold: float) -> np.ndarray:
    """Integer labels (N,): argmax over C > 1 output columns, else 1 where output ≥ ``threshold``."""
    if output.ndim == 2 and output.shape[1] > 1:
        return np.argmax(output, axis=1)
    return (output.reshape(output.shape[0]) >= threshold).astype(np.int64)


def _resolve_metric(metric, loss_fn) -> Callable | None:
    if metric is None or callable(metric):
        return metric
    if metric == "accuracy":
        # a single output column is a logit under binary_cross_entropy_with_logits (threshold 0), else a probability
        logits = getattr(loss_fn, "__name__", "") == "binary_cross_entropy_with_logits"
        threshold = 0.0 if logits else 0.5
        return lambda out, y: accuracy(out, y, threshold=threshold)
    raise ValueError(f"metric must be 'accuracy', None or a callable(output, y) -> float, got {metric!r}")


def _batch_size(batch_size, n: int) -> int:
    if batch_size is None:
        return max(n, 1)  # the full batch
    return check_count(batch_size, "batch_size (or None for the full batch)")


def predict(model, X, batch_size: int | None = None) -> np.ndarray:
    """The model's outputs for every row of X, computed in eval mode (the mode is restored after)."""
    X = np.asarray(X)
    was_training = getattr(model, "training", False)
    model.eval()
    try:
        outs = [model(xb) for xb, _ in batches(X, None, _batch_size(batch_size, len(X)), shuffle=False)]
    finally:
        model.train(was_training)
    return np.concatenate(outs, axis=0)


def predict_proba(model, X, batch_size: int | None = None, logits: bool = True) -> np.ndarray:
    """Class probabilities: softmax over (N, C) logits, σ of a single logit column (N, 1).

    ``logits=False`` means the model already ends in a softmax/sigmoid: its outputs are returned.
    """
    out = predict(model, X, batch_size)
    if not logits:
        return out
    return softmax(out, axis=1) if out.ndim == 2 and out.shape[1] > 1 else sigmoid(out)


def predict_classes(model, X, batch_size: int | None = None, logits: bool = True) -> np.ndarray:
    """Integer labels (N,): argmax over C > 1 outputs, else output ≥ 0 (logits) or ≥ 0.5 (probabilities)."""
    return _classes(predict(model, X, batch_size), 0.0 if logits else 0.5)


def evaluate(model, loss_fn, X, y, batch_size: int | None = None, metric="accuracy") -> tuple[float, float | None]:
    """(loss, metric) on (X, y) in eval mode: the outputs of all batches, then one loss over them.

    For a loss averaged over the batch this equals the mean over all rows; the metric is None
    when ``metric=None``.
    """
    out = predict(model, X, batch_size)
    loss, _ = loss_fn(out, y)
    fn = _resolve_metric(metric, loss_fn)
    return float(loss), (None if fn is None else float(fn(out, y)))


# ---------------------------------------------------------------------------------------------
# fit
# ---------------------------------------------------------------------------------------------


def _current_lr(optimizer) -> float:
    groups = getattr(optimizer, "param_groups", None)
    if groups:
        return float(groups[0]["lr"])
    return float(getattr(optimizer, "lr", math.nan))


def _check_pair(pair, name: str) -> tuple[np.ndarray, np.ndarray]:
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
        raise TypeError(f"{name} must be a pair (X, y), got {type(pair).__name__}")
    X, y = np.asarray(pair[0]), np.asarray(pair[1])
    if X.ndim < 1 or y.ndim < 1 or X.shape[0] != y.shape[0] or X.shape[0] == 0:
        raise ValueError(f"{name}: X and y must have the same, non-zero number of rows, got shapes {X.shape} and {y.shape}")
    return X, y


def _train_epoch(model, loss_fn, optimizer, order, epoch: int, epochs: int, history: History, state: dict,
                 penalty, clip_value_fn, clip_norm_fn, metric_fn, callbacks) -> None:
    """One pass over the batches in ``order``: zero, forward, loss, backward, penalty, clip, step."""
    params = list(model.parameters())
    sum_loss = sum_metric = sum_penalty = 0.0
    seen = 0
    for b, (xb, yb) in enumerate(order):
        optimizer.zero_grad()  # g ← 0 (backward accumulates)
        out = model(xb)
        loss, dout = loss_fn(out, yb)  # L_b = (1/M) Σ_i J(θ, x_i, y_i) and dL_b/dout
        loss = float(loss)
        if not math.isfinite(loss):
            raise FloatingPointError(
                f"loss is {loss} at epoch {epoch} (of {epochs}, counted from 0), batch {b}; "
                f"last finite loss: {state['last_finite']}. Lower the learning rate or clip the gradients."
            )
        state["last_finite"] = loss
        # g = ∇_θ L_b; dL/dX_b is never used, so the first layer's dx (a GEMM) is skipped
        backward_without_input_grad(model, dout)
        if penalty is not None:
            pen = float(penalty(params))  # g += ∇_θ R(θ); returns R(θ)
            if not math.isfinite(pen):
                raise FloatingPointError(f"penalty is {pen} at epoch {epoch}, batch {b}")
            sum_penalty += pen * len(xb)
        if clip_value_fn is not None:
            clip_value_fn(params)
        if clip_norm_fn is not None:
            clip_norm_fn(params)
        optimizer.step()  # θ ← θ − ε g (or the optimizer's rule)
        history.batch_loss.append(loss)
        sum_loss += loss * len(xb)  # Σ_b M_b L_b, so that the epoch mean is per sample
        if metric_fn is not None:
            sum_metric += float(metric_fn(out, yb)) * len(xb)
        seen += len(xb)
        for cb in callbacks:
            if hasattr(cb, "on_batch_end"):
                cb.on_batch_end(epoch, b, loss)
    history.train_loss.append(sum_loss / seen)
    if metric_fn is not None:
        history.train_metric.append(sum_metric / seen)
    if penalty is not None:
        history.penalty.append(sum_penalty / seen)


def fit(model, loss_fn: Callable, optimizer, train: tuple, val: tuple | None = None, *,
        epochs: int = 10, batch_size: int | None = 32, shuffle: bool = True, rng=None,
        scheduler=None, early_stopping=None, clip_grad_norm: float | None = None,
        clip_grad_value: float | None = None, penalty: Callable | None = None,
        metric: str | Callable | None = "accuracy", callbacks: Iterable = (),
        progress: bool = True) -> History:
    """Train ``model`` with mini-batch gradient descent and return its :class:`History`.

    Parameters
    ----------
    model : a Module (``forward``, ``backward``, ``parameters``, ``train``, ``eval``).
    loss_fn : ``loss_fn(output, y) -> (loss, dL/doutput)``, e.g. ``losses.cross_entropy``.
    optimizer : has ``zero_grad()``, ``step()`` and ``param_groups`` (or ``lr``).
    train, val : ``(X, y)`` pairs; ``val`` is evaluated after every epoch in eval mode.
    epochs, batch_size : passes over the data; rows per batch (None = the full batch);
        the last, smaller batch is kept.
    shuffle, rng : draw a new order each epoch from ``rng`` (Generator or seed).
    scheduler : ``scheduler.step()`` after every epoch; a ``ReduceLROnPlateau`` is stepped on
        the epoch's validation loss, ``scheduler.step(val_loss)`` (it needs ``val``).
    early_stopping : ``early_stopping.step(val_loss, model) -> bool`` after every epoch (needs
        ``val``); the best weights are restored at the end with ``early_stopping.restore(model)``.
    clip_grad_value, clip_grad_norm : clip the gradients before each step (value first).
    penalty : ``penalty(params) -> float`` adds ∇R into each ``p.grad`` and returns R.
    metric : "accuracy" (argmax, or a threshold — 0 under ``binary_cross_entropy_with_logits``, 0.5 otherwise —
        for one output column), None, or ``metric(output, y) -> float``.
    callbacks : each is called as ``cb(epoch, history, model)`` after every epoch (returning
        True stops training); an object with ``on_batch_end(epoch, batch, loss)`` is also
        told every batch's loss.
    progress : show a tqdm progress bar over epochs.

    Raises
    ------
    FloatingPointError
        When a batch loss (or penalty) is NaN or inf, naming the epoch, the batch and the last
        finite loss: lower the learning rate, or clip the gradients.

    The model is left in eval mode, ready for prediction.  Dtypes are kept: a float32 model
    trained on float32 ``X`` stays float32 (parameters, gradients, optimizer state, outputs);
    ``X`` of another dtype than the model's parameters is refused by the first layer, naming
    both dtypes.
    """
    X, y = _check_pair(train, "train")
    val_pair = None if val is None else _check_pair(val, "val")
    epochs = check_count(epochs, "epochs", allow_zero=True)
    bs = _batch_size(batch_size, X.shape[0])
    for name in ("forward", "backward", "parameters", "train", "eval"):
        if not callable(getattr(model, name, None)):
            raise TypeError(f"model must be a dlcourse Module with {name}(); got {type(model).__name__}")
    for name in ("zero_grad", "step"):
        if not callable(getattr(optimizer, name, None)):
            raise TypeError(f"optimizer must have {name}() (e.g. dlcourse.optim.SGD); got {type(optimizer).__name__}")
    if early_stopping is not None and val_pair is None:
        raise ValueError("early_stopping needs validation data: pass val=(X_val, y_val)")
    plateau = isinstance(scheduler, ReduceLROnPlateau)
    if plateau and val_pair is None:
        raise ValueError("a ReduceLROnPlateau scheduler needs validation data (it steps on the "
                         "validation loss): pass val=(X_val, y_val)")
    metric_fn = _resolve_metric(metric, loss_fn)
    callbacks = list(callbacks)
    clip_value_fn = clip_norm_fn = None
    if clip_grad_value is not None:
        clip_value_fn = lambda ps: clip_grad_value_(ps, clip_grad_value)  # noqa: E731
    if clip_grad_norm is not None:
        clip_norm_fn = lambda ps: clip_grad_norm_(ps, clip_grad_norm)  # noqa: E731

    rng = as_rng(rng)
    history = History()
    state = {"last_finite": None}

    from tqdm.auto import tqdm

    bar = tqdm(range(epochs), desc="fit", unit="epoch", disable=not progress, leave=False)
    try:
        # Overflow while diverging gives inf/NaN, which _train_epoch reports with the epoch and
        # batch; numpy's own RuntimeWarning would only say "overflow encountered in multiply".
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for epoch in bar:
                history.lr.append(_current_lr(optimizer))
                model.train()
                order = batches(X, y, bs, shuffle=shuffle, rng=rng)
                _train_epoch(model, loss_fn, optimizer, order, epoch, epochs, history, state,
                             penalty, clip_value_fn, clip_norm_fn, metric_fn, callbacks)
                if val_pair is not None:
                    vl, vm = evaluate(model, loss_fn, *val_pair, batch_size=bs, metric=metric_fn)
                    history.val_loss.append(vl)
                    if vm is not None:
                        history.val_metric.append(vm)
                history.epochs_run = epoch + 1
                stop = early_stopping is not None and bool(early_stopping.step(history.val_loss[-1], model))
                for cb in callbacks:
                    if callable(cb) and cb(epoch, history, model):
                        stop = True
                if plateau:
                    scheduler.step(history.val_loss[-1])
                elif scheduler is not None:
                    scheduler.step()
                bar.set_postfix({"loss": f"{history.train_loss[-1]:.4g}",
                                 **({"val_loss": f"{history.val_loss[-1]:.4g}"} if history.val_loss else {})})
                if stop:
                    history.stopped_early = epoch + 1 < epochs
                    break
    finally:
        bar.close()
        model.eval()

    if early_stopping is not None and getattr(early_stopping, "best_state", None) is not None:
        early_stopping.restore(model)
        history.best_epoch = early_stopping.best_epoch
    elif history.val_loss:
        finite = np.where(np.isfinite(history.val_loss), history.val_loss, np.inf)
        history.best_epoch = int(np.argmin(finite))
    return history


# ---------------------------------------------------------------------------------------------
# Snapshot ensembles
# ---------------------------------------------------------------------------------------------


class SnapshotEnsemble:
    """A :func:`fit` callback that keeps a copy of the model at the end of every learning-rate
    cycle, and averages their predictions (Huang et al., 2017, "Snapshot ensembles: train 1,
    get M for free").

    With a cyclic schedule such as ``CosineAnnealingWarmRestarts(opt, T_0=cycle)`` each cycle
    ends at a small rate, in (near) a minimum; the warm restart then kicks the weights out
    towards another one.  The ensemble predicts

        p(c | x) = (1/M) Σ_{m=1..M} p_m(c | x),

    the mean of the last ``keep`` snapshots' softmax outputs (all of them when ``keep`` is None).
    A snapshot is taken after epoch e when (e + 1) is a multiple of ``cycle``.
    """

    def __init__(self, cycle: int, keep: int | None = None) -> None:
        self.cycle = check_count(cycle, "cycle")
        self.keep = None if keep is None else check_count(keep, "keep")
        self.snapshots: list = []
        self.epochs: list[int] = []

    def __call__(self, epoch: int, history, model) -> bool:
        if (epoch + 1) % self.cycle == 0:
            import copy

            self.snapshots.append(copy.deepcopy(model))
            self.epochs.append(int(epoch))
        return False  # never stops training

    def members(self) -> list:
        """The snapshots the ensemble averages (the last ``keep``)."""
        if not self.snapshots:
            raise ValueError("the ensemble holds no snapshot yet: train for at least one cycle "
                             f"({self.cycle} epochs) with this callback")
        return self.snapshots if self.keep is None else self.snapshots[-self.keep:]

    def predict_proba(self, X, batch_size: int | None = None) -> np.ndarray:
        """(1/M) Σ_m softmax(model_m(X)): the averaged class probabilities (N, C)."""
        return np.mean([predict_proba(m, X, batch_size) for m in self.members()], axis=0)

    def predict_classes(self, X, batch_size: int | None = None) -> np.ndarray:
        """argmax of :meth:`predict_proba` (N,)."""
        return np.argmax(self.predict_proba(X, batch_size), axis=1)
