"""Notebooks 03-04: the explorers' callbacks and the figures they draw."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from dlcourse.lecture import experiments, plots, surfaces, widgets
from dlcourse.optim import SGD


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


def test_explorers_build():
    pytest.importorskip("ipywidgets")
    for make in (widgets.init_explorer, widgets.optimizer_explorer):
        w = make()
        assert len(w.children) >= 5  # the controls and the output


def test_plots_draw_what_they_are_given():
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
