"""Notebook 03 at depth: what happens to signals and gradients as layers pile up.

* :func:`identity_network` — the ESIR lecture's deep linear network with W = s·I, whose output
  is s^{L−1} times that of one layer (see docs/references.md);
* :func:`dimension_table` — the shapes of W, b, Z, A and their gradients, measured on a network;
* :func:`pascanu_chain` / :func:`chain_descent` — the PyTorch lecture notes' 50-layer,
  single-unit sigmoid network (Pascanu et al., 2013), its cliff and gradient clipping;
* :func:`train_with_diagnostics` — a deep network trained with :mod:`dlcourse.diagnostics`;
* :func:`saturation_run` (Glorot & Bengio, 2010) and :func:`depth_run` (He et al., 2015) — the
  two papers' experiments, through numpy (``backend="numpy"``) or through torch on the best
  device (``backend="torch"``, for full scale).  Both backends start from the same weights,
  drawn by :mod:`dlcourse.init`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from dlcourse import diagnostics, init, losses, nn
from dlcourse.lecture.experiments import record_layers
from dlcourse.models.mlp import build_mlp
from dlcourse.validation import as_float_array, as_rng, check_choice, check_count, check_positive

__all__ = ["identity_network", "dimension_table", "pascanu_chain", "chain_descent",
           "glorot_standard_uniform", "train_with_diagnostics", "SaturationRun", "saturation_run",
           "DepthRun", "depth_run"]


# ---------------------------------------------------------------------------------------------
# The identity network and the dimensions example (ESIR lecture)
# ---------------------------------------------------------------------------------------------


def identity_network(scale: float, depth: int, x) -> dict[str, np.ndarray]:
    """ŷ and ‖∂ŷ/∂W^[1]‖ of deep linear networks W^[L] (s I)^{L−1} x for L = 1..``depth``.

    Hidden layers are ``nn.Linear(2, 2)`` with W = s I and b = 0, the output layer
    W^[L] = [1, 1]; so ŷ = s^{L−1} (x₁ + x₂) and, for L ≥ 2, ∂ŷ/∂W^[1] = s^{L−2} [1, 1]ᵀ xᵀ
    (ESIR lecture: "increase exponentially" for s = 1.5, "decrease exponentially" for 0.5).
    ``x`` is one input of shape (2,).  Returns arrays ``depths``, ``y`` and ``grad_W1`` (the
    Frobenius norm; NaN for L = 1, where W^[1] is the output layer).
    """
    scale = float(scale)
    depth = check_count(depth, "depth")
    x = as_float_array(x, "x", ndim=1)
    if x.shape != (2,):
        raise ValueError(f"x must be one 2-D input of shape (2,), got {x.shape}")
    ys, grads = [], []
    for L in range(1, depth + 1):
        layers: list[nn.Module] = []
        for _ in range(L - 1):
            lin = nn.Linear(2, 2, bias=False)  # b = 0
            lin.weight.data = scale * np.eye(2)
            layers.append(lin)
        out = nn.Linear(2, 1, bias=False)
        out.weight.data = np.ones((1, 2))
        model = nn.Sequential(*layers, out)
        y = model(x[None, :])
        model.zero_grad()
        model.backward(np.ones_like(y))  # ∂ŷ/∂θ for every θ
        ys.append(float(y[0, 0]))
        grads.append(float(np.linalg.norm(model[0].weight.grad)) if L > 1 else np.nan)
    return {"depths": np.arange(1, depth + 1), "y": np.array(ys), "grad_W1": np.array(grads)}


def dimension_table(sizes: Sequence[int], m: int = 7, activation: str = "relu", rng=0) -> list[dict[str, tuple[int, ...]]]:
    """The shapes, column-major (one sample per column, as the ESIR lecture), of W^[l], b^[l],
    Z^[l], A^[l] and of dW^[l], db^[l], dZ^[l], dA^[l] for l = 1..L, *measured* on a network
    ``sizes`` (n^[0] first) run forward and backward on a batch of ``m`` samples.

    The network computes row-major (Z = A Wᵀ + b, shapes (m, n^[l])); the column-major shape
    of Z is its transpose, W is stored (n^[l], n^[l−1]) in both, b is the column (n^[l], 1).
    """
    m = check_count(m, "m")
    rng = as_rng(rng)
    model = build_mlp(sizes, activation, rng=rng)
    x = rng.normal(size=(m, model[0].weight.shape[1]))
    model.zero_grad()
    pairs, stats = record_layers(model, x, lambda out: np.ones_like(out) / m)
    zs, as_, dzs, das = stats.z, stats.a, stats.dz, stats.da
    col = lambda a: tuple(reversed(a.shape))  # noqa: E731  row-major (m, n) → column-major (n, m)
    biases = [lin.bias for lin, _ in pairs]
    assert all(b is not None for b in biases)  # build_mlp gives every layer a bias without BatchNorm
    return [{"W": lin.weight.data.shape, "b": (b.data.shape[0], 1), "Z": col(zs[i]), "A": col(as_[i]),
             "dW": lin.weight.grad.shape, "db": (b.grad.shape[0], 1), "dZ": col(dzs[i]), "dA": col(das[i])}
            for i, ((lin, _), b) in enumerate(zip(pairs, biases, strict=True)) if b is not None]


# ---------------------------------------------------------------------------------------------
# 50 layers, one sigmoid unit each: a cliff (Pascanu et al., 2013; PyTorch lecture notes)
# ---------------------------------------------------------------------------------------------


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # = 1/(1 + e^{−z}), without overflow


def pascanu_chain(w, b, x0: float = 0.5, layers: int = 50, target: float = 0.7):
    """J(w, b) = (x_T − target)² for x_t = w σ(x_{t−1}) + b, t = 1..T (``layers``), all layers
    sharing one weight w and one bias b (Pascanu et al., 2013, section 3.2: the unrolled
    single-unit recurrent network, i.e. a T-layer network of one sigmoid unit each).

    Vectorised over arrays ``w``, ``b`` (broadcast together).  Back-propagation through the
    T layers: with g_t = ∂J/∂x_t, g_T = 2 (x_T − target), g_{t−1} = g_t w σ'(x_{t−1}), and
    ∂J/∂w = Σ_t g_t σ(x_{t−1}), ∂J/∂b = Σ_t g_t.  Returns (J, ∂J/∂w, ∂J/∂b).
    """
    layers = check_count(layers, "layers")
    w, b = np.broadcast_arrays(np.asarray(w, dtype=float), np.asarray(b, dtype=float))
    xs = [np.full(w.shape, float(x0))]
    for _ in range(layers):
        xs.append(w * _sigmoid(xs[-1]) + b)
    g = 2.0 * (xs[-1] - target)
    dw, db = np.zeros(w.shape), np.zeros(w.shape)
    for t in range(layers, 0, -1):
        s = _sigmoid(xs[t - 1])
        dw = dw + g * s
        db = db + g
        g = g * w * s * (1.0 - s)
    return (xs[-1] - target) ** 2, dw, db


def chain_descent(start, lr: float = 0.01, steps: int = 400, clip_norm: float | None = None,
                  **chain_kwargs) -> dict[str, np.ndarray]:
    """Gradient descent on :func:`pascanu_chain` from ``start`` = (w, b), optionally clipping
    the gradient by norm: g ← v g/‖g‖ when ‖g‖ > v (Pascanu et al., 2013).

    Returns ``path`` (steps + 1, 2), ``loss`` (steps + 1,) and ``step_len`` (steps,) = ‖Δθ‖.
    """
    lr = check_positive(lr, "lr")
    steps = check_count(steps, "steps")
    theta = as_float_array(start, "start", ndim=1).copy()
    if theta.shape != (2,):
        raise ValueError(f"start must be (w, b), got shape {theta.shape}")
    if clip_norm is not None:
        clip_norm = check_positive(clip_norm, "clip_norm")
    path, loss_values, lens = [theta.copy()], [], []
    for _ in range(steps):
        J, dw, db = pascanu_chain(theta[0], theta[1], **chain_kwargs)
        loss_values.append(float(J))
        g = np.array([float(dw), float(db)])
        norm = float(np.linalg.norm(g))
        if clip_norm is not None and norm > clip_norm:
            g *= clip_norm / norm
        theta = theta - lr * g
        lens.append(lr * float(np.linalg.norm(g)))
        path.append(theta.copy())
    loss_values.append(float(pascanu_chain(theta[0], theta[1], **chain_kwargs)[0]))
    return {"path": np.array(path), "loss": np.array(loss_values), "step_len": np.array(lens)}


# ---------------------------------------------------------------------------------------------
# Training a deep network and watching its layers (Sharif lecture's symptoms)
# ---------------------------------------------------------------------------------------------


def glorot_standard_uniform(shape, rng=None, dtype=np.float64) -> np.ndarray:
    """Glorot & Bengio's (2010) "standard" initialisation U(−1/√fan_in, 1/√fan_in):
    Var(W) = 1/(3 fan_in), a third of LeCun's."""
    fan_in, _ = init.fan_in_fan_out(shape)
    return init.uniform(shape, a=1.0 / np.sqrt(fan_in), rng=rng, dtype=dtype)


def _zero_biases(model: nn.Sequential) -> nn.Sequential:
    for mod in model:
        if isinstance(mod, nn.Linear) and mod.bias is not None:
            mod.bias.data[:] = 0.0
    return model


def train_with_diagnostics(sizes: Sequence[int], activation: str, init_scheme, X, y, *, epochs: int,
                           lr: float, batch_size: int = 32, every: int = 5, rng=0, progress: bool = True):
    """Train ``build_mlp(sizes, activation, init=init_scheme)`` with SGD on cross-entropy and
    record :class:`dlcourse.diagnostics.TrainingDiagnostics` every ``every`` steps (dead ReLUs
    on X itself).  ``rng`` draws the weights, then the batch order.  Returns (History, diagnostics)."""
    from dlcourse.optim import SGD
    from dlcourse.train import fit

    rng = as_rng(rng)
    model = build_mlp(sizes, activation, init=init_scheme, rng=rng)
    diag = diagnostics.TrainingDiagnostics(model, X_probe=X, every=every)
    hist = fit(model, losses.cross_entropy, SGD(model.parameters(), lr=lr), (X, y), epochs=epochs,
               batch_size=batch_size, rng=rng, callbacks=[diag], progress=progress)
    return hist, diag


# ---------------------------------------------------------------------------------------------
# Glorot & Bengio (2010) and He et al. (2015), numpy or torch
# ---------------------------------------------------------------------------------------------


def _hidden_outputs_numpy(model: nn.Sequential, X: np.ndarray, act_type: type) -> list[np.ndarray]:
    out, h = [], X
    for mod in model:
        h = mod.forward(h)
        if isinstance(mod, act_type):
            out.append(h)
    return out


def _hidden_outputs_torch(twin, X_t, act_type) -> list[np.ndarray]:
    import torch

    out, h = [], X_t
    with torch.no_grad():
        for mod in twin:
            h = mod(h)
            if isinstance(mod, act_type):
                out.append(h.detach().cpu().numpy().astype(np.float64))
    return out


def _torch_act_type(activation: str):
    import torch

    return {"sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}[activation]


def _np_act_type(activation: str) -> type:
    return {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}[activation]


@dataclass
class SaturationRun:
    """Glorot & Bengio's Figure 2 measured: ``steps`` (T,) and, per hidden layer (input side
    first), the mean and the standard deviation of its activations over a probe batch
    (``mean``, ``std``: (T, H)); ``val_accuracy`` after each epoch; ``device`` that ran it."""

    steps: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    val_accuracy: list[float] = field(default_factory=list)
    device: str = "cpu (numpy)"


def _loop_torch(model, X, y, val, *, epochs, lr, batch_size, seed, device, on_step, desc, momentum=0.0):
    """Plain SGD on cross-entropy in torch (float32) with a tqdm bar over steps; ``on_step(k)``
    after every step; returns (per-epoch mean losses, per-epoch validation accuracies)."""
    import torch
    from tqdm.auto import tqdm

    from dlcourse import torch as dtorch

    twin = dtorch.to_torch_module(model, dtype=torch.float32, device=device)
    X_t = torch.as_tensor(X, dtype=torch.float32, device=device)
    y_t = torch.as_tensor(y, dtype=torch.long, device=device)
    Xv = None if val is None else torch.as_tensor(val[0], dtype=torch.float32, device=device)
    yv = None if val is None else torch.as_tensor(val[1], dtype=torch.long, device=device)
    opt = torch.optim.SGD(twin.parameters(), lr=lr, momentum=momentum)
    gen = torch.Generator().manual_seed(int(seed))
    n = X_t.shape[0]
    per_epoch = (n + batch_size - 1) // batch_size
    epoch_losses, val_acc = [], []
    step = 0
    with tqdm(total=epochs * per_epoch, desc=desc, unit="step", leave=False) as bar:
        for _ in range(epochs):
            order = torch.randperm(n, generator=gen).to(device)
            total = torch.zeros((), device=device)
            twin.train()
            for start in range(0, n, batch_size):
                idx = order[start:start + batch_size]
                opt.zero_grad()
                loss = torch.nn.functional.cross_entropy(twin(X_t[idx]), y_t[idx])
                loss.backward()
                opt.step()
                total += loss.detach() * idx.numel()
                step += 1
                on_step(twin, step)
                bar.update(1)
            epoch_losses.append(float(total.item()) / n)
            if Xv is not None:
                twin.eval()
                with torch.no_grad():
                    val_acc.append(float((twin(Xv).argmax(1) == yv).float().mean().item()))
    return twin, epoch_losses, val_acc


def saturation_run(sizes: Sequence[int], X, y, val=None, *, activation: str = "sigmoid", init_scheme=None,
                   epochs: int = 5, lr: float = 0.1, batch_size: int = 10, record_every: int = 50,
                   probe: int = 300, backend: str = "numpy", device=None, seed: int = 0) -> SaturationRun:
    """Glorot & Bengio's (2010) experiment: a deep sigmoid MLP with their standard init
    (:func:`glorot_standard_uniform` by default) and zero biases, plain SGD on mini-batches of
    ``batch_size``; every ``record_every`` steps the mean and std of every hidden layer's
    activations on the first ``probe`` rows of X.  ``backend="torch"`` trains the same initial
    weights in torch (float32) on ``device`` (default: the best one)."""
    check_choice(backend, ("numpy", "torch"), "backend")
    check_choice(activation, ("sigmoid", "tanh", "relu"), "activation")
    epochs, record_every = check_count(epochs, "epochs"), check_count(record_every, "record_every")
    lr = check_positive(lr, "lr")
    batch_size = check_count(batch_size, "batch_size")
    X = as_float_array(X, "X", ndim=2)
    y = np.asarray(y)
    P = X[: check_count(probe, "probe")]
    model = _zero_biases(build_mlp(sizes, activation, init=init_scheme or glorot_standard_uniform, rng=seed))
    steps: list[int] = []
    means: list[np.ndarray] = []
    stds: list[np.ndarray] = []

    def record(hidden: list[np.ndarray], k: int) -> None:
        steps.append(k)
        means.append(np.array([h.mean() for h in hidden]))
        stds.append(np.array([h.std() for h in hidden]))

    if backend == "numpy":
        from dlcourse.optim import SGD
        from dlcourse.train import fit

        act_type = _np_act_type(activation)
        record(_hidden_outputs_numpy(model, P, act_type), 0)

        class _Recorder:
            count = 0

            def on_batch_end(self, epoch, batch, loss):
                self.count += 1
                if self.count % record_every == 0:
                    record(_hidden_outputs_numpy(model, P, act_type), self.count)

            def __call__(self, *args):
                return False

        hist = fit(model, losses.cross_entropy, SGD(model.parameters(), lr=lr), (X, y), val, epochs=epochs,
                   batch_size=batch_size, rng=seed, callbacks=[_Recorder()])
        return SaturationRun(np.array(steps), np.array(means), np.array(stds), list(hist.val_metric))

    import torch

    from dlcourse import torch as dtorch

    dev = dtorch.device() if device is None else torch.device(device)
    t_act = _torch_act_type(activation)
    P_t = torch.as_tensor(P, dtype=torch.float32, device=dev)

    def on_step(twin, k):
        if k % record_every == 0:
            record(_hidden_outputs_torch(twin, P_t, t_act), k)

    twin0 = dtorch.to_torch_module(model, dtype=torch.float32, device=dev)
    record(_hidden_outputs_torch(twin0, P_t, t_act), 0)
    _, _, val_acc = _loop_torch(model, X, y, val, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed,
                                device=dev, on_step=on_step, desc=f"Glorot & Bengio, {activation}")
    return SaturationRun(np.array(steps), np.array(means), np.array(stds), val_acc, device=str(dev))


@dataclass
class DepthRun:
    """He et al.'s (2015) Figure 3 measured: the training loss per epoch (``loss``, the loss
    before training first) and the validation accuracy per epoch of one deep ReLU MLP."""

    init: str
    loss: list[float]
    val_accuracy: list[float]
    device: str = "cpu (numpy)"


def depth_run(depth: int, width: int, init_name: str, X, y, val=None, *, epochs: int = 5, lr: float = 0.01,
              momentum: float = 0.9, batch_size: int = 64, backend: str = "numpy", device=None, seed: int = 0,
              activation: str = "relu") -> DepthRun:
    """A ``depth``-layer MLP (``depth`` Linear layers, ``width`` units, ReLU, zero biases) trained
    with SGD (``momentum``, as He et al.) from ``init_name`` — e.g. ``"xavier_normal"`` (= LeCun's 1/n for equal widths,
    He et al.'s "Xavier") or ``"he_normal"``.  ``backend="torch"`` trains the same initial
    weights in torch on ``device`` (default: the best one)."""
    check_choice(backend, ("numpy", "torch"), "backend")
    depth, width = check_count(depth, "depth"), check_count(width, "width")
    X = as_float_array(X, "X", ndim=2)
    y = np.asarray(y)
    n_classes = int(y.max()) + 1
    sizes = [X.shape[1]] + [width] * (depth - 1) + [n_classes]
    model = _zero_biases(build_mlp(sizes, activation, init=init_name, rng=seed))
    initial = float(losses.cross_entropy(model(X), y)[0])
    if backend == "numpy":
        from dlcourse.optim import SGD
        from dlcourse.train import fit

        hist = fit(model, losses.cross_entropy, SGD(model.parameters(), lr=lr, momentum=momentum), (X, y), val,
                   epochs=epochs, batch_size=batch_size, rng=seed)
        return DepthRun(init_name, [initial, *hist.train_loss], list(hist.val_metric))
    import torch

    from dlcourse import torch as dtorch

    dev = dtorch.device() if device is None else torch.device(device)
    _, epoch_losses, val_acc = _loop_torch(model, X, y, val, epochs=epochs, lr=lr, batch_size=batch_size,
                                           seed=seed, device=dev, on_step=lambda twin, k: None,
                                           desc=f"{depth} layers, {init_name}", momentum=momentum)
    return DepthRun(init_name, [initial, *epoch_losses], val_acc, device=str(dev))
