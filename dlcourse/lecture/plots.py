"""Figures the notebooks draw.  matplotlib is imported here, not by ``import dlcourse``.

Each function takes data (and optionally an ``ax``) and returns the matplotlib Axes or Figure,
so notebooks stay short and tests can check what was drawn.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from cycler import cycler
from matplotlib.colors import ListedColormap

from dlcourse.validation import (
    as_float_array,
    check_choice,
    check_count,
    check_same_length,
    check_shape,
)

#: Okabe & Ito's palette for colour-blind readers (Okabe & Ito, 2008, "Color Universal Design"),
#: ordered so the first colours are the most distinct on a white background; yellow is left out
#: (too pale on white).  Every line colour "C0", "C1", ... of a course figure comes from it.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000")
#: the colour map for class labels: one palette colour per class, in order
CLASS_CMAP = ListedColormap(PALETTE, name="okabe_ito")


def use_course_style() -> None:
    """Make the palette the default colour cycle and viridis (perceptually uniform, readable in
    grey and by colour-blind readers) the default colour map.  Applied when this module is
    imported, so every notebook that draws with it gets the same colours."""
    plt.rcParams["axes.prop_cycle"] = cycler(color=list(PALETTE))
    plt.rcParams["image.cmap"] = "viridis"


use_course_style()


def _axes(ax=None, figsize=(5, 4)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _finish(ax, xlabel: str, ylabel: str, title: str | None = None, legend: dict | None = None):
    """Label both axes, add a legend (``legend`` holds its keyword arguments) and the title; return ax."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if legend is not None:
        ax.legend(**legend)
    if title:
        ax.set_title(title)
    return ax


# ---------------------------------------------------------------------------------------------
# Shared: loss curves, decision boundaries
# ---------------------------------------------------------------------------------------------

def decision_grid(predict_fn, X, *, resolution: int = 200, padding: float = 0.5):
    """Evaluate ``predict_fn`` on a ``resolution`` × ``resolution`` grid covering the 2-D points X.

    ``predict_fn`` maps an (M, 2) array to labels (M,), scores (M,) or class probabilities
    (M, K) (reduced to argmax).  Returns (xx, yy, zz), each of shape (resolution, resolution).
    """
    return _decision_grid(predict_fn, _check_points(X), _check_resolution(resolution), padding)


def _check_points(X) -> np.ndarray:
    X = as_float_array(X, "X")
    check_shape(X, (None, 2), "X (decision boundaries are drawn for 2-D points, shape (N, 2))")
    return X


def _check_resolution(resolution) -> int:
    resolution = check_count(resolution, "resolution")
    if resolution < 2:
        raise ValueError(f"resolution must be >= 2 (grid points per axis), got {resolution}")
    return resolution


def _decision_grid(predict_fn, X: np.ndarray, resolution: int, padding: float):
    """:func:`decision_grid` on checked points X (N, 2) and a checked resolution."""
    lo, hi = X.min(axis=0) - padding, X.max(axis=0) + padding
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    out = np.asarray(predict_fn(np.column_stack([xx.ravel(), yy.ravel()])))
    if out.ndim == 2 and out.shape[1] > 1:
        out = out.argmax(axis=1)  # class probabilities → the predicted class
    if out.size != xx.size:
        raise ValueError(f"predict_fn must return one value per grid point ({xx.size}), got shape {out.shape}")
    return xx, yy, out.reshape(xx.shape).astype(float)


def plot_decision_boundary(predict_fn, X, y, ax=None, *, resolution: int = 200, padding: float = 0.5,
                           title: str | None = None, cmap=None, alpha: float = 0.3):
    """Shade the regions ``predict_fn`` assigns to each class and scatter the points (X, y) on top.

    Class labels get one palette colour each (:data:`CLASS_CMAP`); continuous scores the
    diverging "RdBu_r" map.  ``cmap`` overrides either."""
    X = _check_points(X)
    y = np.asarray(y).reshape(-1)
    check_same_length(X, y, "X", "y (labels)")
    ax = _axes(ax)
    xx, yy, zz = _decision_grid(predict_fn, X, _check_resolution(resolution), padding)
    levels = np.unique(np.concatenate([np.unique(zz), np.unique(y).astype(float)]))
    vmin, vmax = float(levels.min()), float(levels.max())
    labels = levels.size <= len(PALETTE) and np.allclose(levels, np.round(levels))
    if labels:  # class labels: one band and one palette colour each
        bounds = np.concatenate([levels - 0.5, [levels[-1] + 0.5]])
        cmap = cmap if cmap is not None else ListedColormap(PALETTE[:levels.size])
        ax.contourf(xx, yy, zz, levels=bounds, cmap=cmap, alpha=alpha, vmin=vmin - 0.5, vmax=vmax + 0.5)
        vmin, vmax = vmin - 0.5, vmax + 0.5
    else:  # continuous scores
        cmap = cmap if cmap is not None else "RdBu_r"
        ax.contourf(xx, yy, zz, levels=20, cmap=cmap, alpha=alpha)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap=cmap, vmin=vmin, vmax=vmax, edgecolors="k", s=25)
    ax.set_xlim(xx.min(), xx.max())
    ax.set_ylim(yy.min(), yy.max())
    return _finish(ax, "$x_1$", "$x_2$", title)


def plot_loss_curves(curves, ax=None, *, x=None, logy: bool = False, xlabel: str = "epoch",
                     ylabel: str = "loss", title: str | None = None):
    """One line per entry of ``curves`` (a mapping label → sequence, or a single sequence)."""
    if not hasattr(curves, "items"):
        curves = {ylabel: curves}
    ax = _axes(ax)
    for label, values in curves.items():
        values = np.asarray(values, dtype=float).reshape(-1)
        if values.size == 0:
            continue
        xs = np.arange(values.size) if x is None else np.asarray(x)[: values.size]
        ax.plot(xs, values, label=str(label))
    if logy:
        ax.set_yscale("log")
    return _finish(ax, xlabel, ylabel, title, legend={} if len(curves) > 1 else None)


def plot_history(history, ax=None, *, keys=None, logy: bool = False, title: str | None = None, **kwargs):
    """Plot the per-epoch lists of a :class:`dlcourse.train.History` (or any object/dict of lists).

    ``keys`` picks the lists (default: the non-empty ones among train_loss, val_loss, and for a
    dict or another object, every list-valued field).  A plain sequence is drawn as one curve.
    """
    if isinstance(history, (list, tuple, np.ndarray)):
        return plot_loss_curves(history, ax, logy=logy, title=title, **kwargs)
    fields = history if isinstance(history, dict) else vars(history)
    if keys is None:
        preferred = [k for k in ("train_loss", "val_loss") if len(fields.get(k, []) or []) > 0]
        keys = preferred or [k for k, v in fields.items() if isinstance(v, (list, tuple, np.ndarray)) and len(v) > 0
                             and np.ndim(v[0]) == 0]
    missing = [k for k in keys if k not in fields]
    if missing:
        raise KeyError(f"history has no {missing}; it has {sorted(fields)}")
    return plot_loss_curves({k: fields[k] for k in keys}, ax, logy=logy, title=title, **kwargs)


# ---------------------------------------------------------------------------------------------
# Notebooks 01-02: perceptron, backprop
# ---------------------------------------------------------------------------------------------

def plot_perceptron_history(history, ax=None, *, title: str | None = None):
    """Mistakes per epoch (bars, left axis) and accuracy per epoch (lines, right axis).

    ``history`` is a :class:`dlcourse.models.perceptron.PerceptronHistory` (or a dict with the lists
    ``mistakes``, ``accuracy`` and optionally ``val_accuracy``).  Returns (ax, ax_accuracy).
    """
    fields = history if isinstance(history, dict) else vars(history)
    mistakes = np.asarray(fields["mistakes"], dtype=float)
    epochs = np.arange(1, mistakes.size + 1)
    ax = _axes(ax, figsize=(6, 3.5))
    ax.bar(epochs, mistakes, color="0.75", label="mistakes")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mistakes in the epoch")
    ax2 = ax.twinx()
    ax2.plot(epochs, fields["accuracy"], color="C0", label="train accuracy")
    if len(fields.get("val_accuracy", []) or []) > 0:
        ax2.plot(epochs, fields["val_accuracy"], color="C3", label="test accuracy")
    ax2.set_ylim(0, 1.05)
    ax2.set_ylabel("accuracy")
    ax2.legend(loc="lower right")
    if title:
        ax.set_title(title)
    return ax, ax2


def plot_pass_costs(histories, ax=None, *, backward_cost: float = 2.0, target: float | None = None,
                    logx: bool = True, title: str | None = None):
    """Loss against the work spent, in forward-pass units, for :class:`dlcourse.lecture.perceptron_limits.PassHistory` runs.

    ``histories`` maps a label to a history; a backward pass counts ``backward_cost`` forward
    passes.  ``target`` draws the loss level being compared as a dashed line.
    """
    ax = _axes(ax, figsize=(6, 4))
    for label, h in histories.items():
        ax.plot(h.cost(backward_cost), h.loss, label=str(label))
    if target is not None:
        ax.axhline(target, color="k", ls="--", lw=1, label=f"target {target:.3g}")
    if logx:
        ax.set_xscale("log")
    ax.set_yscale("log")
    return _finish(ax, f"cost (forward passes; a backward pass counts {backward_cost:g})", "training loss", title, legend={})


def plot_activation(name: str, ax=None, *, z=None, mark: float | None = None):
    """An activation f and its derivative f' (``dlcourse.activations``) on z ∈ [−10, 10].

    ``mark`` adds the point (z₀, f(z₀)) and the tangent f(z₀) + f'(z₀)(z − z₀) there.
    """
    from dlcourse import activations

    f, df = activations.ACTIVATIONS[check_choice(name, activations.ACTIVATIONS, "activation")]
    z = np.linspace(-10, 10, 801) if z is None else np.asarray(z, dtype=float)
    ax = _axes(ax, figsize=(6, 4))
    ax.plot(z, f(z), label=f"{name}(z)")
    ax.plot(z, df(z), "--", label=f"{name}'(z)")
    if mark is not None:
        z0 = float(mark)
        f0, d0 = float(f(z0)), float(df(z0))
        span = np.array([z0 - 2.0, z0 + 2.0])
        ax.plot(span, f0 + d0 * (span - z0), color="k", lw=1, label="tangent")
        ax.plot([z0], [f0], "ko")
    ax.axhline(0, color="0.8", lw=0.8)
    ax.axvline(0, color="0.8", lw=0.8)
    return _finish(ax, "z", "", name, legend=dict(loc="upper left"))


def plot_graph(root, ax=None, *, show_grad: bool = True, title: str | None = None):
    """Draw the computational graph of a :class:`dlcourse.autodiff.Value` with matplotlib only.

    Inputs on the left, ``root`` on the right (x = longest path from a leaf); each box shows the
    node's label or operation, its value and (``show_grad``) its gradient; arrows go from an
    input to the node computed from it.  Returns the Axes.
    """
    from dlcourse.autodiff import layout, trace

    graph = trace(root)
    pos = layout(root)
    ax = _axes(ax, figsize=(max(4.0, 2.0 * (1 + max(p[0] for p in pos.values()))), 3.5))
    for child, parent in graph.edges:
        (x0, y0), (x1, y1) = pos[child], pos[parent]
        ax.annotate("", xy=(x1 - 0.28, y1), xytext=(x0 + 0.28, y0),
                    arrowprops={"arrowstyle": "->", "color": "0.4", "lw": 1.0})
    has_inputs = {id(parent) for _, parent in graph.edges}
    for node in graph.nodes:
        x, y = pos[node]
        name = node.label or (node._op if node._op else "const")
        if node.label and node._op:
            name = f"{node.label} = {node._op}"
        text = f"{name}\n{node.data:.4g}"
        if show_grad:
            text += f"\ngrad {node.grad:.4g}"
        leaf = id(node) not in has_inputs
        ax.text(x, y, text, ha="center", va="center", fontsize=8,
                bbox={"boxstyle": "round", "fc": "#dbe9f6" if leaf else "#fde7c8", "ec": "0.3"})
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    ax.set_xlim(min(xs) - 0.6, max(xs) + 0.6)
    ax.set_ylim(min(ys) - 0.7, max(ys) + 0.7)
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax


# ---------------------------------------------------------------------------------------------
# Notebooks 03-04: initialization, optimizers
# ---------------------------------------------------------------------------------------------

def plot_layer_histograms(layers, ax=None, *, bins: int = 60, title: str | None = None, xlabel: str = "value",
                          labels=None, range=None, cmap: str = "viridis"):
    """One step histogram per layer (a list of arrays, first layer first), coloured by depth.

    Shows at a glance whether activations (or gradients) keep their spread through the
    network, collapse to 0 (vanishing) or pile up at the saturation values (±1 for tanh).
    """
    layers = [np.asarray(v, dtype=float).ravel() for v in layers]
    if not layers:
        raise ValueError("layers must hold at least one array")
    ax = _axes(ax)
    colors = plt.get_cmap(cmap)(np.linspace(0.0, 0.9, len(layers)))
    if range is None:
        hi = max(float(np.percentile(np.abs(v), 99.5)) for v in layers) or 1.0
        range = (-hi, hi)
    for i, (v, c) in enumerate(zip(layers, colors, strict=True)):
        label = labels[i] if labels is not None else f"layer {i + 1}"
        ax.hist(v, bins=bins, range=range, histtype="step", color=c, label=label, density=True)
    return _finish(ax, xlabel, "density", title, legend=dict(fontsize=7, ncol=2) if len(layers) <= 12 else None)


def plot_layer_variances(variances, ax=None, *, logy: bool = True, ylabel: str = "variance",
                         title: str | None = None, reference: float | None = None):
    """Variance per layer (mapping label → sequence over layers 1..L), log scale by default."""
    if not hasattr(variances, "items"):
        variances = {ylabel: variances}
    ax = _axes(ax)
    for label, v in variances.items():
        v = np.asarray(v, dtype=float)
        ax.plot(np.arange(1, v.size + 1), v, marker="o", ms=3, label=label)
    if reference is not None:
        ax.axhline(reference, color="k", lw=0.8, ls="--")
    if logy:
        ax.set_yscale("log")
    return _finish(ax, "layer", ylabel, title, legend=dict(fontsize=8))


def plot_trajectories(surface, paths, ax=None, *, levels: int = 30, log_levels: bool = True,
                      title: str | None = None, grid: int = 200, mark_every: int | None = None):
    """Contours of a :class:`dlcourse.lecture.surfaces.Surface` with optimizer paths on top.

    ``paths`` maps a label to an array (K, 2) of iterates (e.g. from ``surfaces.trajectory``).
    """
    ax = _axes(ax, figsize=(6, 4.5))
    X, Y, Z = surface.grid(grid)
    if log_levels:
        zmin = float(np.min(Z))
        Zp = Z - zmin + 1e-3 * (float(np.max(Z)) - zmin + 1e-12)  # shift so a log scale is defined
        lv = np.geomspace(Zp.min(), Zp.max(), levels)
        ax.contour(X, Y, Zp, levels=lv, colors="0.6", linewidths=0.6)
    else:
        ax.contour(X, Y, Z, levels=levels, colors="0.6", linewidths=0.6)
    for label, path in paths.items():
        path = np.asarray(path, dtype=float)
        if path.ndim != 2 or path.shape[1] != 2:
            raise ValueError(f"path {label!r} must have shape (K, 2), got {path.shape}")
        line, = ax.plot(path[:, 0], path[:, 1], lw=1.3, label=label,
                        marker="." if mark_every else None, markevery=mark_every, ms=3)
        ax.plot(*path[-1], marker="o", color=line.get_color(), ms=5)  # where it ended
        ax.plot(*path[0], marker="s", color="k", ms=5)  # where it started
    if surface.minimum is not None:
        ax.plot(*surface.minimum, marker="*", color="gold", mec="k", ms=12, ls="none")
    ax.set_xlim(*surface.xlim)
    ax.set_ylim(*surface.ylim)
    return _finish(ax, surface.xlabel, surface.ylabel, title or surface.name,
                   legend=dict(fontsize=8, loc="best") if paths else None)


def plot_schedules(schedules, ax=None, *, logy: bool = False, xlabel: str = "epoch", title: str | None = None):
    """Learning rate against epoch, one line per schedule (mapping label → sequence of rates)."""
    ax = _axes(ax, figsize=(6, 3.5))
    for label, lrs in schedules.items():
        ax.plot(np.asarray(lrs, dtype=float), label=label, lw=1.4)
    if logy:
        ax.set_yscale("log")
    return _finish(ax, xlabel, "learning rate", title, legend=dict(fontsize=8))


# ---------------------------------------------------------------------------------------------
# Notebooks 05-06: regularization, batch normalization
# ---------------------------------------------------------------------------------------------

def plot_rbf_fits(x, y, grid, fits, ax=None, *, truth=None, ylim=(-2.0, 2.0), title: str | None = None):
    """The training points, the true function (optional) and one curve per fitted model.

    ``fits`` maps a label to the predictions on ``grid``; ``ylim`` clips the view, because an
    unregularised interpolant can shoot far outside the data's range between the samples.
    """
    ax = _axes(ax, figsize=(6, 4))
    grid = np.asarray(grid, dtype=float).reshape(-1)
    if truth is not None:
        ax.plot(grid, np.asarray(truth, dtype=float).reshape(-1), "k--", lw=1, label="true function")
    for label, pred in fits.items():
        ax.plot(grid, np.asarray(pred, dtype=float).reshape(-1), lw=1.5, label=str(label))
    ax.scatter(np.asarray(x).reshape(-1), np.asarray(y).reshape(-1), c="k", s=18, zorder=3, label="training samples")
    if ylim is not None:
        ax.set_ylim(*ylim)
    return _finish(ax, "x", "y", title, legend=dict(fontsize=8))


def plot_weight_stems(weights, ax=None, *, title: str | None = None):
    """One marker per weight (index on x) for each labelled weight vector; exact zeros drawn hollow."""
    ax = _axes(ax, figsize=(6, 3))
    for k, (label, w) in enumerate(weights.items()):
        w = np.asarray(w, dtype=float).reshape(-1)
        idx = np.arange(w.size) + 0.15 * k
        zero = w == 0
        color = f"C{k}"
        ax.vlines(idx, 0, w, lw=1, alpha=0.7, color=color, label=f"{label} ({int(zero.sum())} zeros)")
        ax.scatter(idx[~zero], w[~zero], s=12, color=color)
        ax.scatter(idx[zero], w[zero], s=18, facecolors="none", edgecolors=color)
    ax.axhline(0, color="k", lw=0.5)
    return _finish(ax, "kernel index j", "$w_j$", title, legend=dict(fontsize=8))


def plot_early_stopping(history, ax=None, *, best_epoch: int | None = None, title: str | None = None):
    """Training and validation loss per epoch, with the best (restored) epoch marked."""
    ax = _axes(ax, figsize=(6, 4))
    best = history.best_epoch if best_epoch is None else best_epoch
    ax.plot(np.arange(len(history.train_loss)), history.train_loss, label="training loss")
    ax.plot(np.arange(len(history.val_loss)), history.val_loss, label="validation loss")
    if best is not None:
        ax.axvline(best, color="k", ls=":", lw=1)
        ax.scatter([best], [history.val_loss[best]], color="k", zorder=3, label=f"best epoch {best}")
    return _finish(ax, "epoch", "loss", title, legend=dict(fontsize=8))


def plot_digit_grid(images, titles=None, *, ncols: int = 8, image_shape=(8, 8), size: float = 1.1):
    """Small grey-scale images in a grid (e.g. the 8 × 8 digits and their shifted copies); returns the Figure."""
    images = np.asarray(images, dtype=float)
    n = images.shape[0]
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i].reshape(image_shape), cmap="gray_r", vmin=0, vmax=max(1.0, images.max()))
            if titles is not None:
                ax.set_title(str(titles[i]), fontsize=8)
    fig.tight_layout()
    return fig


def plot_confidence(confidences, ax=None, *, bins: int = 20, title: str | None = None):
    """Histograms of the predicted probability of the chosen class, one per labelled model."""
    ax = _axes(ax, figsize=(6, 3.5))
    edges = np.linspace(0, 1, bins + 1)
    for label, c in confidences.items():
        c = np.asarray(c, dtype=float).reshape(-1)
        ax.hist(c, bins=edges, alpha=0.5, label=f"{label} (mean {c.mean():.2f})")
    return _finish(ax, "max softmax probability", "validation samples", title, legend=dict(fontsize=8))


def plot_percentiles(steps, values, ax=None, *, q=(15, 50, 85), title: str | None = None, xlabel: str = "training step"):
    """Percentile curves over training (Ioffe & Szegedy, 2015, fig. 1b/c): ``values`` is (T, len(q))."""
    ax = _axes(ax, figsize=(5, 3.5))
    values = np.asarray(values, dtype=float)
    for k, qk in enumerate(q):
        ax.plot(steps, values[:, k], label=f"{qk:g}th percentile")
    return _finish(ax, xlabel, "input of a sigmoid", title, legend=dict(fontsize=8))


def plot_accuracy_to_target(curves, target: float, ax=None, *, title: str | None = None):
    """Validation accuracy per epoch for each labelled run, the target line, and the first epoch reaching it."""
    from dlcourse.lecture.experiments import first_epoch_reaching

    ax = _axes(ax, figsize=(6, 4))
    for label, acc in curves.items():
        acc = np.asarray(acc, dtype=float)
        (line,) = ax.plot(np.arange(1, acc.size + 1), acc, label=str(label))
        first = first_epoch_reaching(acc, target)  # 1-based epoch, or None
        if first is not None:
            ax.scatter([first], [acc[first - 1]], color=line.get_color(), zorder=3)
    ax.axhline(target, color="k", ls=":", lw=1, label=f"target {target:.0%}")
    ax.set_ylim(0, 1)
    return _finish(ax, "epoch", "validation accuracy", title, legend=dict(fontsize=8))


def plot_running_averages(trajectories, target=None, ax=None, *, title: str | None = None, ylabel: str = "running mean"):
    """One running-statistic trajectory per label (e.g. per momentum), with the true value dashed."""
    ax = _axes(ax, figsize=(6, 3.5))
    for label, traj in trajectories.items():
        ax.plot(np.arange(len(traj)), np.asarray(traj, dtype=float), label=str(label))
    if target is not None:
        ax.axhline(target, color="k", ls="--", lw=1, label="population value")
    return _finish(ax, "training step", ylabel, title, legend=dict(fontsize=8))
