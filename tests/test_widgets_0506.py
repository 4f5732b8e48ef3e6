"""Callbacks of the notebook 05/06 explorers, checked against independent computations."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from sklearn.linear_model import Ridge

from dlcourse import data
from dlcourse.lecture import widgets
from dlcourse.models import rbf


def test_rbf_update_l2_matches_ridge_and_reports_errors():
    fig, ax = plt.subplots()
    res = widgets.rbf_regularization_update(alpha=2.0, sigma=0.05, noise=0.25, rng=0, ax=ax)
    x, y = data.noisy_sine(30, 0.25, rng=0)
    phi = rbf.rbf_features(x, x, 0.05, bias=False)
    ridge = Ridge(alpha=1.0, solver="cholesky").fit(phi, y)  # α/2 = 1 (see rbf.RBFNetwork.fit)
    grid = np.linspace(0, 1, 400)
    pred = ridge.predict(rbf.rbf_features(grid, x, 0.05, bias=False))
    assert res["test_mse"] == pytest.approx(np.mean((pred - np.sin(2 * np.pi * grid)) ** 2), rel=1e-6)
    assert res["train_mse"] == pytest.approx(np.mean((ridge.predict(phi) - y) ** 2), rel=1e-6)
    assert res["zeros"] == 0
    assert len(ax.lines) == 2 and "zero weights" in ax.get_title()  # truth + fit
    plt.close(fig)


def test_rbf_update_overfits_without_penalty_and_l1_gives_zeros():
    free = widgets.rbf_regularization_update(alpha=0.0)
    smooth = widgets.rbf_regularization_update(alpha=2.0)
    sparse = widgets.rbf_regularization_update(alpha=0.0, l1=0.3)
    assert free["train_mse"] < 1e-6 < smooth["train_mse"]
    assert free["test_mse"] > 10 * smooth["test_mse"]
    assert sparse["zeros"] >= 10


def test_batchnorm_update_matches_torch():
    fig, ax = plt.subplots()
    kw = dict(shift=3.0, scale=2.0, gamma=1.5, beta=-0.5, momentum=0.2, steps=30, batch_size=8, rng=4)
    res = widgets.batchnorm_update(**kw, ax=ax)
    rng = np.random.default_rng(4)  # the same batches, through torch
    ref = torch.nn.BatchNorm1d(1, momentum=0.2, dtype=torch.float64)
    with torch.no_grad():
        ref.weight.fill_(1.5)
        ref.bias.fill_(-0.5)
        traj = [0.0]
        for _ in range(30):
            x = torch.from_numpy(rng.normal(3.0, 2.0, size=(8, 1)))
            train_out = ref(x)
            traj.append(ref.running_mean.item())
        eval_out = ref.eval()(x)
    np.testing.assert_allclose(res["trajectory"], traj, rtol=1e-12)
    assert res["running_var"] == pytest.approx(ref.running_var.item(), rel=1e-12)
    np.testing.assert_allclose(res["train_out"], train_out.numpy()[:, 0], rtol=1e-12)
    np.testing.assert_allclose(res["eval_out"], eval_out.numpy()[:, 0], rtol=1e-12)
    assert len(ax.patches) > 0 and "running mean" in ax.get_title()
    plt.close(fig)
    with pytest.raises(ValueError, match="batch_size"):
        widgets.batchnorm_update(batch_size=1)


def test_explorers_expose_their_controls():
    rbf_w = widgets.rbf_explorer()
    bn_w = widgets.batchnorm_explorer()
    assert {c.description for c in rbf_w.children[:-1]} >= {"α (L2)", "l1", "σ", "noise", "seed"}
    assert {c.description for c in bn_w.children[:-1]} >= {"input mean", "momentum", "batch"}


def test_plots_0506_draw_what_they_are_given():
    from types import SimpleNamespace

    from dlcourse.lecture import plots

    fig, axes = plt.subplots(2, 3)
    hist = SimpleNamespace(train_loss=[3.0, 2.0, 1.0, 0.5], val_loss=[3.1, 2.2, 2.5, 2.9], best_epoch=1)
    ax = plots.plot_early_stopping(hist, axes[0, 0])
    assert ax.lines[-1].get_xdata()[0] == 1 and "best epoch 1" in [t.get_text() for t in ax.get_legend().get_texts()]
    ax = plots.plot_weight_stems({"w": np.array([0.0, 1.0, 0.0, -2.0])}, axes[0, 1])
    assert "w (2 zeros)" in [t.get_text() for t in ax.get_legend().get_texts()]
    steps, values = np.arange(5), np.tile([-1.0, 0.0, 1.0], (5, 1))
    ax = plots.plot_percentiles(steps, values, axes[0, 2])
    assert [line.get_ydata()[0] for line in ax.lines] == [-1.0, 0.0, 1.0]
    ax = plots.plot_accuracy_to_target({"a": [0.5, 0.95, 0.97]}, 0.9, axes[1, 0])
    assert ax.collections[0].get_offsets()[0].tolist() == [2.0, 0.95]  # first epoch at the target
    ax = plots.plot_rbf_fits(np.zeros(3), np.ones(3), np.linspace(0, 1, 5), {"fit": np.arange(5.0)}, axes[1, 1])
    assert ax.get_ylim() == (-2.0, 2.0) and len(ax.lines) == 1
    ax = plots.plot_confidence({"m": np.array([0.2, 0.9, 1.0])}, axes[1, 2])
    assert "m (mean 0.70)" in [t.get_text() for t in ax.get_legend().get_texts()]
    plt.close(fig)
    grid = plots.plot_digit_grid(np.zeros((3, 64)), titles=["a", "b", "c"], ncols=2)
    assert len(grid.axes) == 4 and grid.axes[0].get_title() == "a"
    plt.close(grid)
