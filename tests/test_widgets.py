"""dlcourse.lecture.widgets: the explorers' callbacks are plain functions, tested here against
independent computations (torch, scikit-learn, the library itself), with the figures they draw."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from sklearn.linear_model import Ridge

from dlcourse import activations, data
from dlcourse.data import xor
from dlcourse.lecture import experiments, plots, surfaces, widgets
from dlcourse.lecture import perceptron_limits as limits
from dlcourse.models import rbf, two_layer
from dlcourse.optim import SGD

# --- notebooks 01-02: perceptron, backprop --------------------------------------------------------


def test_xor_mlp_update_solves_xor_and_matches_the_equations():
    fig, ax = plt.subplots()
    r = widgets.xor_mlp_update(n_hidden=3, activation="tanh", lr=1.0, epochs=1500, rng=0, ax=ax)
    assert r["accuracy"] == 1.0 and r["loss"] < 0.05
    X, y = xor()
    np.testing.assert_array_equal(two_layer.two_layer_predict(r["params"], X), y)
    # same numbers as calling the package directly
    _, log = two_layer.train_two_layer(two_layer.init_two_layer(2, 3, 1, rng=0, std=1.0), X, y, lr=1.0, epochs=1500)
    assert log.loss == r["log"].loss
    assert "100%" in ax.get_title()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_hidden_unit_cannot_solve_xor(seed):
    # σ(w·g(v·x + c) + b) is monotone in one projection v·x: its decision set is a half-plane,
    # and no half-plane gets more than 3 of the 4 XOR points right.
    r = widgets.xor_mlp_update(n_hidden=1, epochs=800, rng=seed)
    assert r["accuracy"] <= 0.75


def _blobs(seed=0, n=20, gap=3.0):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.standard_normal((n, 2)) + gap, rng.standard_normal((n, 2)) - gap])
    return X, np.repeat([1, 0], n)


def test_perceptron_update_zero_init_lr_only_scales_the_weights():
    X, y = _blobs(gap=0.5)  # overlapping: never converges
    small = widgets.perceptron_update(X, y, lr=0.1, max_epochs=15)
    big = widgets.perceptron_update(X, y, lr=10.0, max_epochs=15)
    assert small["history"].mistakes == big["history"].mistakes
    assert not small["converged"] and small["epochs"] == 15
    np.testing.assert_allclose(big["weights"], 100.0 * small["weights"], rtol=1e-12, atol=1e-10)
    # from a non-zero start, the learning rate changes the run
    a = widgets.perceptron_update(X, y, lr=0.1, max_epochs=15, init_scale=2.0, rng=1)
    b = widgets.perceptron_update(X, y, lr=10.0, max_epochs=15, init_scale=2.0, rng=1)
    assert a["history"].mistakes != b["history"].mistakes


def test_perceptron_update_converges_on_separable_data_and_draws():
    X, y = _blobs(gap=3.0)
    assert limits.is_linearly_separable(X, y)[0]
    fig, ax = plt.subplots()
    r = widgets.perceptron_update(X, y, lr=1.0, max_epochs=100, ax=ax, validation=(X, y))
    assert r["converged"] and r["history"].mistakes[-1] == 0
    assert r["history"].val_accuracy[-1] == 1.0
    assert "converged" in ax.get_title()


@pytest.mark.parametrize("name", sorted(activations.ACTIVATIONS))
@pytest.mark.parametrize("z", [-10.0, -0.7, 0.3, 10.0])
def test_activation_update_derivative_matches_centred_difference(name, z):
    r = widgets.activation_update(name, z)
    f, df = activations.ACTIVATIONS[name]
    assert r["f"] == pytest.approx(float(f(z)))
    assert r["df_numeric"] == pytest.approx(r["df"], rel=1e-6, abs=1e-9)


def test_activation_update_sanity_checks():
    s0 = widgets.activation_update("sigmoid", 0.0)
    assert (s0["f"], s0["df"]) == (0.5, 0.25)
    t0 = widgets.activation_update("tanh", 0.0)
    assert (t0["f"], t0["df"]) == (0.0, 1.0)
    for z in (-10.0, 10.0):
        assert widgets.activation_update("sigmoid", z)["df"] < 5e-5  # σ'(±10) ≈ 4.5e-5
        assert widgets.activation_update("tanh", z)["df"] < 1e-8  # 1 − tanh²(10) ≈ 8.2e-9
    fig, ax = plt.subplots()
    widgets.activation_update("relu", 2.0, ax=ax)
    assert "relu" in ax.get_title()
    with pytest.raises(ValueError, match="unknown activation"):
        widgets.activation_update("swish", 0.0)


def test_gradcheck_update_error_is_smallest_for_moderate_h():
    fig, ax = plt.subplots()
    r = widgets.gradcheck_update(log10_h=-5, ax=ax)
    assert r["h"] == pytest.approx(1e-5)
    assert r["rel_error"] < 1e-7  # a correct backward pass
    hs, errors = r["hs"], r["errors"]
    best = hs[np.argmin(errors)]
    assert 1e-7 <= best <= 1e-3  # the V: truncation O(h²) to the left, round-off ε/h to the right
    assert errors[0] > 100 * errors.min()  # h = 0.1: truncation error
    assert errors[-1] > 100 * errors.min()  # h = 1e-12: round-off error
    assert len(ax.get_lines()) == 2


def test_explorers_0102_build_their_controls():
    import ipywidgets

    X, y = _blobs()
    for explorer, names in [
        (widgets.xor_mlp_explorer(), {"hidden", "lr", "epochs", "seed"}),
        (widgets.perceptron_explorer(X, y), {"lr", "max epochs", "init scale", "seed"}),
        (widgets.activation_explorer(), {"f", "z"}),
        (widgets.gradcheck_explorer(), {"log10 h", "seed"}),
    ]:
        assert isinstance(explorer, ipywidgets.interactive)
        descriptions = {c.description for c in explorer.children if hasattr(c, "description")}
        assert names <= descriptions
        assert isinstance(explorer.result, dict)  # interactive ran the callback once


# --- notebooks 03-04: initialization, optimizers --------------------------------------------------


def test_init_histograms_update_matches_layer_statistics_and_draws_each_layer():
    fig, ax = plt.subplots()
    out = widgets.init_histograms_update("he_normal", "relu", depth=4, width=64, n=100, ax=ax)
    ref = experiments.layer_statistics(4, 64, "relu", "he_normal", n=100, rng=0)
    assert np.allclose(out["variances"], ref.variances("a"))
    assert len(ax.patches) == 4  # one step histogram per layer
    assert "relu" in ax.get_title()


def test_init_histograms_small_normal_vanishes_large_explodes():
    small = widgets.init_histograms_update("normal", "tanh", depth=6, width=128, std=0.01, n=200)["variances"]
    large = widgets.init_histograms_update("normal", "relu", depth=6, width=128, std=1.0, n=200)["variances"]
    assert small[-1] < 1e-8 * small[0] and small[0] < 0.02  # ×(n σ²) = ×0.0128 per layer
    assert large[-1] > 1e6 * large[0]  # ×(n σ²/2) = ×64 per layer
    grads = widgets.init_histograms_update("normal", "tanh", depth=6, width=128, std=0.01, n=200, what="dz")["variances"]
    assert grads[0] < 1e-6 * grads[-1]  # gradients vanish toward the input


def test_optimizer_path_update_equals_trajectory_and_flags_divergence():
    fig, ax = plt.subplots()
    out = widgets.optimizer_path_update("SGD", 0.05, 0.9, "quadratic", 60, ax=ax)
    ref = surfaces.trajectory(lambda p: SGD(p, lr=0.05, momentum=0.9), "quadratic", steps=60)
    assert np.array_equal(out["path"], ref) and not out["diverged"]
    assert out["final_value"] == pytest.approx(surfaces.quadratic().value(ref[-1]))
    assert len(ax.lines) >= 3  # the path, its start and its end
    bad = widgets.optimizer_path_update("SGD", 0.5, 0.9, "rosenbrock", 100, ax=ax)
    assert bad["diverged"] and bad["final_value"] == float("inf")


@pytest.mark.parametrize("name", widgets.OPTIMIZER_CHOICES)
def test_make_optimizer_builds_each_choice(name):
    out = widgets.optimizer_path_update(name, 0.02, 0.5, "saddle", 20)
    assert out["path"].shape == (21, 2)
    with pytest.raises(ValueError, match="unknown optimizer"):
        widgets.make_optimizer("LBFGS", 0.1)


def test_explorers_0304_build():
    pytest.importorskip("ipywidgets")
    for make in (widgets.init_explorer, widgets.optimizer_explorer):
        w = make()
        assert len(w.children) >= 5  # the controls and the output


def test_plots_0304_draw_what_they_are_given():
    fig, axes = plt.subplots(1, 3)
    plots.plot_layer_variances({"a": [1, 0.5, 0.25], "b": [1, 1, 1]}, axes[0], reference=1.0)
    assert len(axes[0].lines) == 3
    plots.plot_schedules({"step": [1, 1, 0.1], "exp": [1, 0.5, 0.25]}, axes[1])
    assert [ln.get_label() for ln in axes[1].lines] == ["step", "exp"]
    s = surfaces.saddle()
    plots.plot_trajectories(s, {"p": np.array([[0.0, 0.1], [0.5, 0.5]])}, axes[2])
    assert axes[2].get_xlim() == s.xlim
    with pytest.raises(ValueError, match="shape"):
        plots.plot_trajectories(s, {"bad": np.zeros((3, 3))})
    with pytest.raises(ValueError):
        plots.plot_layer_histograms([])


# --- notebooks 05-06: regularization, batch normalization -----------------------------------------


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


def test_explorers_0506_expose_their_controls():
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


def test_explorer_wires_a_notebooks_own_callback_to_its_controls():
    import ipywidgets

    from dlcourse.lecture import widgets

    calls = []

    def draw(k=1, ax=None):
        calls.append(k)
        ax.plot([0, k])
        return k

    w = widgets.explorer(draw, k=ipywidgets.IntSlider(value=3, min=1, max=5, continuous_update=False))
    assert isinstance(w, ipywidgets.interactive) and calls == [3]
    w.children[0].value = 5
    assert calls == [3, 5] and w.result == 5
