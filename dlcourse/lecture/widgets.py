"""ipywidgets explorers for the notebooks.

Each explorer is split in two: a plain, unit-tested *callback* that computes what to show
from the slider values (returns numbers/arrays and draws on a given Axes), and a thin
``*_explorer()`` that wires ipywidgets to it.  ipywidgets is imported inside the explorers.
"""

from __future__ import annotations

import numpy as np

from dlcourse.validation import (
    as_float_array,
    as_rng,
    check_choice,
    check_count,
    check_positive,
    check_real,
)


def _explorer(callback, figsize=(6, 4), **controls):
    """Wire ipywidgets controls to ``callback(**values, ax=ax)``, drawing into a fresh figure."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    def show(**values):
        fig, ax = plt.subplots(figsize=figsize)
        result = callback(**values, ax=ax)
        plt.show()
        plt.close(fig)
        return result

    return widgets.interactive(show, **controls)


def explorer(callback, *, figsize=(6, 4), **controls):
    """An explorer for a notebook's own callback: ``callback(**values, ax=ax)`` draws on ``ax``.

    ``controls`` are ipywidgets controls (or anything ``ipywidgets.interactive`` accepts), one per
    keyword of ``callback``; give an expensive callback ``continuous_update=False`` controls so it
    runs once when a slider is released, not at every step of a drag.
    """
    return _explorer(callback, figsize=figsize, **controls)


# ---------------------------------------------------------------------------------------------
# Notebooks 01-02: perceptron, backprop
# ---------------------------------------------------------------------------------------------



# --- notebook 01 -------------------------------------------------------------------------------

def xor_mlp_update(n_hidden: int = 2, activation: str = "tanh", lr: float = 1.0, epochs: int = 500,
                   rng: np.random.Generator | int | None = 0, ax=None) -> dict:
    """Train a 2-n_hidden-1 network on XOR with the hand-derived gradients; draw its boundary.

    Returns {"accuracy", "loss", "params", "log"} (full-batch gradient descent from an
    N(0, 1) initialisation drawn from ``rng``, a Generator or a seed).
    """
    from dlcourse.data import xor
    from dlcourse.models import two_layer

    X, y = xor()
    params0 = two_layer.init_two_layer(2, n_hidden, 1, rng=as_rng(rng), std=1.0)
    params, log = two_layer.train_two_layer(params0, X, y, lr=lr, epochs=epochs, activation=activation)
    result = {"accuracy": log.accuracy[-1], "loss": log.loss[-1], "params": params, "log": log}
    if ax is not None:
        from dlcourse.lecture.plots import plot_decision_boundary

        plot_decision_boundary(lambda G: two_layer.two_layer_predict(params, G, activation=activation), X, y,
                               ax, resolution=120,
                               title=f"2-{n_hidden}-1 {activation}: accuracy {result['accuracy']:.0%}, loss {result['loss']:.3f}")
    return result


def xor_mlp_explorer():
    """Sliders for :func:`xor_mlp_update`: hidden units, activation, learning rate, epochs, seed."""
    import ipywidgets as widgets

    return _explorer(
        xor_mlp_update,
        n_hidden=widgets.IntSlider(value=2, min=1, max=8, description="hidden", continuous_update=False),
        activation=widgets.Dropdown(options=["tanh", "sigmoid", "relu", "leaky_relu", "elu"], value="tanh"),
        lr=widgets.FloatLogSlider(value=1.0, base=10, min=-2, max=1, description="lr", continuous_update=False),
        epochs=widgets.IntSlider(value=500, min=10, max=3000, step=10, description="epochs", continuous_update=False),
        rng=widgets.IntSlider(value=0, min=0, max=20, description="seed", continuous_update=False),
    )


def perceptron_update(X, y, lr: float = 1.0, max_epochs: int = 30, init_scale: float = 0.0,
                      rng: np.random.Generator | int | None = 0, validation=None, ax=None) -> dict:
    """Fit :class:`dlcourse.models.perceptron.Perceptron` from w̃₀ ~ init_scale·N(0, I) and plot its epochs.

    Returns {"history", "converged", "epochs", "weights"}.  With ``init_scale = 0`` the
    learning rate only rescales the weights, so the mistakes per epoch do not depend on it.
    """
    from dlcourse.models.perceptron import Perceptron

    X = as_float_array(X, "X", ndim=2)
    init_scale = check_real(init_scale, "init_scale")
    w0 = init_scale * as_rng(rng).standard_normal(X.shape[1] + 1)  # w̃₀ ~ init_scale · N(0, I)
    model = Perceptron(lr=lr, max_epochs=max_epochs)
    history = model.fit(X, y, w0=w0, validation=validation)
    if ax is not None:
        from dlcourse.lecture.plots import plot_perceptron_history

        plot_perceptron_history(history, ax, title=f"lr={lr:g}, init scale {init_scale:g}: "
                                + ("converged" if model.converged_ else "no convergence")
                                + f" after {model.n_epochs_} epochs")
    return {"history": history, "converged": model.converged_, "epochs": model.n_epochs_, "weights": model._fitted_weights().copy()}


def perceptron_explorer(X, y, validation=None):
    """Sliders for :func:`perceptron_update` on the data (X, y): learning rate, epochs, init scale, seed."""
    import ipywidgets as widgets

    def callback(lr, max_epochs, init_scale, rng, ax):
        return perceptron_update(X, y, lr, max_epochs, init_scale, rng, validation=validation, ax=ax)

    return _explorer(
        callback,
        lr=widgets.FloatLogSlider(value=1.0, base=10, min=-3, max=1, description="lr", continuous_update=False),
        max_epochs=widgets.IntSlider(value=30, min=1, max=200, description="max epochs", continuous_update=False),
        init_scale=widgets.FloatSlider(value=0.0, min=0.0, max=5.0, step=0.25, description="init scale",
                                       continuous_update=False),
        rng=widgets.IntSlider(value=0, min=0, max=20, description="seed", continuous_update=False),
    )


# --- notebook 02 -------------------------------------------------------------------------------

def activation_update(name: str = "sigmoid", z: float = 0.0, ax=None) -> dict:
    """f(z), f'(z) of a ``dlcourse.activations`` function and the centred difference that checks f'.

    Returns {"f", "df", "df_numeric"} at the chosen z (h = 1e-6) and draws f, f' and the tangent.
    """
    from dlcourse import activations
    from dlcourse.gradcheck import numerical_gradient

    f, df = activations.ACTIVATIONS[check_choice(name, activations.ACTIVATIONS, "activation")]
    z = check_real(z, "z")
    result = {
        "f": float(f(z)),
        "df": float(df(z)),
        "df_numeric": float(numerical_gradient(lambda v: float(f(v)[0]), np.array([z]), h=1e-6)[0]),  # (f(z + h) − f(z − h)) / 2h
    }
    if ax is not None:
        from dlcourse.lecture.plots import plot_activation

        plot_activation(name, ax, mark=z)
        ax.set_title(f"{name}: f({z:g}) = {result['f']:.4g}, f'({z:g}) = {result['df']:.4g}")
    return result


def activation_explorer():
    """A dropdown of activations and a z slider over [−10, 10] for :func:`activation_update`."""
    import ipywidgets as widgets

    from dlcourse import activations

    return _explorer(
        activation_update,
        name=widgets.Dropdown(options=sorted(activations.ACTIVATIONS), value="sigmoid", description="f"),
        z=widgets.FloatSlider(value=0.0, min=-10.0, max=10.0, step=0.5, description="z", continuous_update=False),
    )


def gradcheck_update(log10_h: float = -5.0, activation: str = "tanh", rng: np.random.Generator | int | None = 0,
                     ax=None) -> dict:
    """Relative error between the hand-derived 2-layer gradient and centred differences, against h.

    A 3-4-1 net on 5 random samples (the samples, then the weights, drawn from ``rng``).  Sweeps h = 10⁻¹ … 10⁻¹² and marks the
    chosen h = 10^log10_h.  Returns {"h", "rel_error", "hs", "errors"}: the error falls as h² (the
    truncation term) until round-off ≈ ε/h takes over, so it is smallest near h ≈ 1e-5.
    """
    from dlcourse.gradcheck import numerical_gradient, rel_error
    from dlcourse.models import two_layer

    rng = as_rng(rng)
    X = rng.standard_normal((5, 3))
    y = rng.integers(0, 2, size=5)
    params = two_layer.init_two_layer(3, 4, 1, rng=rng, std=1.0)
    theta, spec = two_layer.flatten_params(params)
    loss_fn, loss_and_grad = two_layer.two_layer_objective(X, y, spec, activation=activation)
    analytic = loss_and_grad(theta)[1]

    def error(h: float) -> float:
        return rel_error(analytic, numerical_gradient(loss_fn, theta.copy(), h=h))

    hs = 10.0 ** np.arange(-1, -13, -1, dtype=float)
    errors = np.array([error(h) for h in hs])
    h = 10.0 ** check_real(log10_h, "log10_h")
    result = {"h": h, "rel_error": error(h), "hs": hs, "errors": errors}
    if ax is not None:
        ax.loglog(hs, errors, "o-", label="relative error")
        ax.loglog([h], [result["rel_error"]], "r*", ms=14, label=f"h = {h:.0e}")
        ax.set_xlabel("finite-difference step h")
        ax.set_ylabel("rel_error(backprop, centred difference)")
        ax.invert_xaxis()
        ax.legend()
        ax.set_title(f"gradient check, {activation} hidden layer")
    return result


def gradcheck_explorer():
    """A slider over log10(h) for :func:`gradcheck_update`."""
    import ipywidgets as widgets

    return _explorer(
        gradcheck_update,
        log10_h=widgets.FloatSlider(value=-5.0, min=-12.0, max=-1.0, step=1.0, description="log10 h",
                                    continuous_update=False),
        activation=widgets.Dropdown(options=["tanh", "sigmoid", "elu", "lecun_tanh"], value="tanh"),
        rng=widgets.IntSlider(value=0, min=0, max=20, description="seed", continuous_update=False),
    )


# ---------------------------------------------------------------------------------------------
# Notebooks 03-04: initialization, optimizers
# ---------------------------------------------------------------------------------------------


# --- notebook 03 -------------------------------------------------------------------------------

INIT_CHOICES = ("normal", "lecun_normal", "xavier_normal", "xavier_uniform", "he_normal", "he_uniform")


def init_histograms_update(scheme: str = "xavier_normal", activation: str = "tanh", depth: int = 8,
                           std: float = 0.01, what: str = "a", width: int = 256, n: int = 500,
                           rng: np.random.Generator | int | None = 0, ax=None) -> dict:
    """Per-layer histograms of a deep MLP's activations (``what="a"``) or gradients (``"dz"``).

    ``scheme`` is a :mod:`dlcourse.init` name; ``std`` is used only by ``"normal"`` (N(0, std²)).
    Returns {"variances": per-layer variances, "stats": the LayerStats}.
    """
    from dlcourse import init
    from dlcourse.lecture import experiments

    check_choice(scheme, init.SCHEMES, "scheme")
    check_choice(what, ("a", "z", "dz", "da"), "what")
    initializer = init.get("normal", std=std) if scheme == "normal" else scheme
    stats = experiments.layer_statistics(depth, width, activation, initializer, n=n, rng=rng)
    variances = stats.variances(what)
    if ax is not None:
        from dlcourse.lecture.plots import plot_layer_histograms

        label = f"N(0, {std:g}²)" if scheme == "normal" else scheme
        kind = {"a": "activations", "z": "pre-activations", "dz": "gradients dL/dz", "da": "gradients dL/da"}[what]
        plot_layer_histograms(getattr(stats, what), ax, xlabel=kind,
                              title=f"{activation}, {label}: var layer 1 → {int(depth)}: "
                                    f"{variances[0]:.2g} → {variances[-1]:.2g}")
    return {"variances": variances, "stats": stats}


def init_explorer():
    """Scheme, activation, depth, σ (for N(0, σ²)) and activations-vs-gradients: redraw the histograms."""
    import ipywidgets as widgets

    return _explorer(
        init_histograms_update, figsize=(7, 4),
        scheme=widgets.Dropdown(options=list(INIT_CHOICES), value="xavier_normal", description="init"),
        activation=widgets.Dropdown(options=["tanh", "sigmoid", "relu", "leaky_relu", "elu", "linear"], value="tanh"),
        depth=widgets.IntSlider(value=8, min=1, max=30, description="depth", continuous_update=False),
        std=widgets.FloatLogSlider(value=0.01, base=10, min=-3, max=1, description="σ (normal)", continuous_update=False),
        what=widgets.ToggleButtons(options=[("activations", "a"), ("gradients", "dz")], value="a"),
    )


# --- notebook 04 -------------------------------------------------------------------------------

OPTIMIZER_CHOICES = ("SGD", "Nesterov", "SimplifiedNesterov", "Adagrad", "RMSprop", "Adadelta", "Adam")


def make_optimizer(name: str, lr: float, momentum: float = 0.0):
    """A factory ``params -> optimizer`` for ``name`` in ``OPTIMIZER_CHOICES``.

    ``momentum`` is SGD's μ (Nesterov's too), RMSprop's momentum and Adam's β₁; Adagrad and
    Adadelta ignore it.
    """
    from dlcourse import optim

    makers = {
        "SGD": lambda p: optim.SGD(p, lr=lr, momentum=momentum),
        "Nesterov": lambda p: optim.SGD(p, lr=lr, momentum=max(momentum, 1e-12), nesterov=True),
        "SimplifiedNesterov": lambda p: optim.SimplifiedNesterov(p, lr=lr, momentum=momentum),
        "Adagrad": lambda p: optim.Adagrad(p, lr=lr),
        "RMSprop": lambda p: optim.RMSprop(p, lr=lr, momentum=momentum),
        "Adadelta": lambda p: optim.Adadelta(p, lr=lr),
        "Adam": lambda p: optim.Adam(p, lr=lr, betas=(momentum, 0.999)),
    }
    return makers[check_choice(name, makers, "optimizer")]


def optimizer_path_update(optimizer: str = "SGD", lr: float = 0.05, momentum: float = 0.9,
                          surface: str = "quadratic", steps: int = 100, ax=None) -> dict:
    """Run one optimizer on a 2-D surface and draw its path on the contours.

    Returns {"path": (steps + 1, 2) iterates, "final_value": f at the last iterate, "diverged"}.
    A divergent run is reported (``diverged=True``, the path up to the blow-up) rather than raised.
    """
    from dlcourse.lecture import surfaces

    surf = surfaces.get(surface)
    factory = make_optimizer(optimizer, lr, momentum)
    try:
        path = surfaces.trajectory(factory, surf, steps=int(steps))
        diverged = False
    except FloatingPointError:
        diverged = True
        path = np.array([surf.start])
    # treat leaving the plotted window by orders of magnitude as divergence too
    span = max(np.ptp(surf.xlim), np.ptp(surf.ylim))
    if np.abs(path).max() > 1e3 * span:
        diverged = True
    final = surf.value(path[-1]) if not diverged else float("inf")
    if ax is not None:
        from dlcourse.lecture.plots import plot_trajectories

        shown = path[np.all(np.abs(path) < 1e3 * span, axis=1)]
        plot_trajectories(surf, {f"{optimizer} (lr={lr:g}, μ={momentum:g})": shown}, ax,
                          title=f"{surf.name}: " + ("diverged" if diverged else f"f = {final:.3g} after {int(steps)} steps"))
    return {"path": path, "final_value": final, "diverged": diverged}


def optimizer_explorer():
    """Optimizer, learning rate, momentum, surface and steps: redraw the trajectory."""
    import ipywidgets as widgets

    return _explorer(
        optimizer_path_update, figsize=(6.5, 4.5),
        optimizer=widgets.Dropdown(options=list(OPTIMIZER_CHOICES), value="SGD", description="optimizer"),
        lr=widgets.FloatLogSlider(value=0.05, base=10, min=-4, max=0.5, description="lr", continuous_update=False),
        momentum=widgets.FloatSlider(value=0.9, min=0.0, max=0.99, step=0.01, description="μ / β₁", continuous_update=False),
        surface=widgets.Dropdown(options=["quadratic", "rosenbrock", "saddle", "cliff"], value="quadratic"),
        steps=widgets.IntSlider(value=100, min=10, max=1000, step=10, description="steps", continuous_update=False),
    )


# ---------------------------------------------------------------------------------------------
# Notebooks 05-06: regularization, batch normalization
# ---------------------------------------------------------------------------------------------


# --- notebook 05 -------------------------------------------------------------------------------

def rbf_regularization_update(alpha: float = 2.0, l1: float = 0.0, sigma: float = 0.05, noise: float = 0.25,
                              n: int = 30, rng: np.random.Generator | int | None = 0, steps: int = 3000,
                              ax=None) -> dict:
    """Fit the RBF network (one Gaussian kernel per sample) to ``noisy_sine(n, noise, rng)``.

    The example of the PyTorch lecture notes (see docs/references.md).

    L2 only (``l1 = 0``): the closed form; with ``l1 > 0``: ``steps`` of proximal gradient
    descent.  Returns {"train_mse", "test_mse" (against sin 2πx on a grid), "zeros" (exactly
    zero kernel weights), "max_weight", "model"}; draws the fit on ``ax`` when given.
    """
    from dlcourse import data
    from dlcourse.models import rbf

    x, y = data.noisy_sine(n, noise, rng=rng)
    net = rbf.RBFNetwork(x, sigma=sigma)
    if l1 > 0:
        net.fit_gd(x, y, alpha=alpha, l1=l1, steps=steps)
    else:
        net.fit(x, y, alpha=alpha)
    grid = np.linspace(0.0, 1.0, 400)
    pred, truth = net.predict(grid), np.sin(2 * np.pi * grid)
    result = {
        "train_mse": float(np.mean((net.predict(x) - y) ** 2)),
        "test_mse": float(np.mean((pred - truth) ** 2)),
        "zeros": int(np.sum(net.kernel_weights == 0)),
        "max_weight": float(np.abs(net.kernel_weights).max()),
        "model": net,
    }
    if ax is not None:
        from dlcourse.lecture.plots import plot_rbf_fits

        plot_rbf_fits(x, y, grid, {f"α={alpha:g}, l1={l1:g}": pred}, ax, truth=truth,
                      title=f"train MSE {result['train_mse']:.3f}, test MSE {result['test_mse']:.3g}, "
                            f"{result['zeros']} zero weights")
    return result


def rbf_explorer():
    """Sliders for :func:`rbf_regularization_update`: L2 strength α, L1 strength, kernel width σ, noise, seed."""
    import ipywidgets as widgets

    return _explorer(
        rbf_regularization_update,
        alpha=widgets.FloatLogSlider(value=2.0, base=10, min=-6, max=2, description="α (L2)", continuous_update=False),
        l1=widgets.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.01, description="l1", continuous_update=False),
        sigma=widgets.FloatSlider(value=0.05, min=0.01, max=0.3, step=0.01, description="σ", continuous_update=False),
        noise=widgets.FloatSlider(value=0.25, min=0.0, max=1.0, step=0.05, description="noise", continuous_update=False),
        rng=widgets.IntSlider(value=0, min=0, max=20, description="seed", continuous_update=False),
    )


# --- notebook 06 -------------------------------------------------------------------------------

def batchnorm_update(shift: float = 3.0, scale: float = 2.0, gamma: float = 1.0, beta: float = 0.0,
                     momentum: float = 0.1, steps: int = 50, batch_size: int = 16,
                     rng: np.random.Generator | int | None = 0, ax=None) -> dict:
    """Feed ``steps`` batches of x ~ N(shift, scale²) (one feature, drawn from ``rng``) to a BatchNorm1d(1)
    in train mode.

    Returns {"train_out" (the last batch normalised by its own statistics), "eval_out" (the same
    batch through the running averages), "running_mean", "running_var", "trajectory" (the running
    mean after each step)}; draws the histograms of the input and of both outputs on ``ax``.
    """
    from dlcourse import nn

    batch_size = check_count(batch_size, "batch_size")
    if batch_size < 2:
        raise ValueError(f"batch_size must be at least 2 in train mode (one sample has no batch variance), "
                         f"got {batch_size}")
    shift, scale = check_real(shift, "shift"), check_positive(scale, "scale")
    steps = check_count(steps, "steps", allow_zero=True)
    rng = as_rng(rng)
    bn = nn.BatchNorm1d(1, momentum=momentum)
    bn.gamma.data[:] = gamma
    bn.beta.data[:] = beta
    trajectory = [float(bn.running_mean[0])]
    x = None
    for _ in range(steps):
        x = rng.normal(shift, scale, size=(batch_size, 1))
        train_out = bn.forward(x)
        trajectory.append(float(bn.running_mean[0]))
    if x is None:
        x = rng.normal(shift, scale, size=(batch_size, 1))
        train_out = bn.forward(x)
    eval_out = bn.eval().forward(x)
    result = {
        "train_out": train_out[:, 0], "eval_out": eval_out[:, 0],
        "running_mean": float(bn.running_mean[0]), "running_var": float(bn.running_var[0]),
        "trajectory": np.array(trajectory),
    }
    if ax is not None:
        bins = np.linspace(min(x.min(), train_out.min(), eval_out.min()), max(x.max(), train_out.max(), eval_out.max()), 30)
        ax.hist(x[:, 0], bins=bins, alpha=0.5, label="input x")
        ax.hist(train_out[:, 0], bins=bins, alpha=0.5, label="train mode (batch statistics)")
        ax.hist(eval_out[:, 0], bins=bins, alpha=0.5, label="eval mode (running averages)")
        ax.set_title(f"running mean {result['running_mean']:.2f} (true {shift:g}), "
                     f"running var {result['running_var']:.2f} (true {scale**2:g})", fontsize=9)
        ax.set_xlabel("value of the feature (input units; outputs are standardised, unitless)")
        ax.set_ylabel(f"count in the last batch of {batch_size}")
        ax.legend(fontsize=8)
    return result


def batchnorm_explorer():
    """Sliders for :func:`batchnorm_update`: the input distribution, γ, β, momentum, steps, batch size."""
    import ipywidgets as widgets

    return _explorer(
        batchnorm_update,
        shift=widgets.FloatSlider(value=3.0, min=-5, max=5, step=0.5, description="input mean", continuous_update=False),
        scale=widgets.FloatSlider(value=2.0, min=0.1, max=5, step=0.1, description="input std", continuous_update=False),
        gamma=widgets.FloatSlider(value=1.0, min=-2, max=3, step=0.1, description="γ", continuous_update=False),
        beta=widgets.FloatSlider(value=0.0, min=-3, max=3, step=0.1, description="β", continuous_update=False),
        momentum=widgets.FloatSlider(value=0.1, min=0.0, max=1.0, step=0.01, description="momentum", continuous_update=False),
        steps=widgets.IntSlider(value=50, min=0, max=500, step=5, description="steps", continuous_update=False),
        batch_size=widgets.IntSlider(value=16, min=2, max=256, description="batch", continuous_update=False),
    )
