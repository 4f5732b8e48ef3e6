"""dlcourse.lecture.plots, the shared figures and those of notebooks 01-02 (the others are tested in
tests/test_widgets.py): what each function draws, checked on the artists."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse import activations
from dlcourse.autodiff import Value
from dlcourse.lecture import perceptron_limits as limits
from dlcourse.lecture import plots
from dlcourse.models import two_layer
from dlcourse.models.perceptron import PerceptronHistory
from dlcourse.train import History


def test_decision_grid_evaluates_predict_fn_on_the_grid():
    X = np.array([[-1.0, -2.0], [1.0, 2.0]])
    xx, yy, zz = plots.decision_grid(lambda G: (G[:, 0] + G[:, 1] > 0).astype(int), X, resolution=30, padding=0.5)
    assert xx.shape == yy.shape == zz.shape == (30, 30)
    assert xx.min() == pytest.approx(-1.5) and yy.max() == pytest.approx(2.5)
    np.testing.assert_array_equal(zz, (xx + yy > 0).astype(float))
    # class probabilities (M, K) are reduced to the arg-max class
    _, _, zp = plots.decision_grid(lambda G: np.column_stack([G[:, 0], -G[:, 0], G[:, 1]]), X, resolution=10)
    xx10, yy10, _ = plots.decision_grid(lambda G: G[:, 0], X, resolution=10)
    np.testing.assert_array_equal(zp, np.argmax(np.stack([xx10, -xx10, yy10]), axis=0))


def test_decision_grid_rejects_bad_input():
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        plots.decision_grid(lambda G: G[:, 0], np.zeros((4, 3)))
    with pytest.raises(ValueError, match="one value per grid point"):
        plots.decision_grid(lambda G: np.zeros(3), np.zeros((4, 2)), resolution=5)


def test_plot_decision_boundary_draws_regions_and_points():
    X, y = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), np.array([0, 1, 1, 0])
    ax = plots.plot_decision_boundary(lambda G: (G[:, 0] > 0.5).astype(int), X, y, resolution=20, title="t")
    scatters = [c for c in ax.collections if hasattr(c, "get_offsets") and len(c.get_offsets()) == 4]
    assert len(scatters) == 1
    np.testing.assert_array_equal(scatters[0].get_offsets(), X)
    np.testing.assert_array_equal(np.asarray(scatters[0].get_array()), y)
    assert ax.get_title() == "t"
    assert ax.get_xlim() == pytest.approx((-0.5, 1.5))
    with pytest.raises(ValueError, match="labels"):
        plots.plot_decision_boundary(lambda G: G[:, 0], X, y[:3])


def test_plot_loss_curves_and_history():
    ax = plots.plot_loss_curves({"a": [3, 2, 1], "b": [1, 1]}, logy=True)
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["a", "b"]
    np.testing.assert_array_equal(lines[0].get_ydata(), [3, 2, 1])
    assert ax.get_yscale() == "log"

    h = History(train_loss=[1.0, 0.5], val_loss=[1.2, 0.8], train_metric=[0.5, 0.7])
    ax = plots.plot_history(h)
    assert [line.get_label() for line in ax.get_lines()] == ["train_loss", "val_loss"]
    np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), [1.2, 0.8])
    ax = plots.plot_history(h, keys=["train_metric"])
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), [0.5, 0.7])
    ax = plots.plot_history({"loss": [4.0, 2.0], "accuracy": [0.1, 0.9]})
    assert len(ax.get_lines()) == 2
    log = two_layer.TrainLog(loss=[0.7, 0.3], accuracy=[0.5, 1.0])
    ax = plots.plot_history(log, keys=["loss"])
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), [0.7, 0.3])
    ax = plots.plot_history([5.0, 4.0, 3.0])
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), [5.0, 4.0, 3.0])
    with pytest.raises(KeyError, match="nope"):
        plots.plot_history(h, keys=["nope"])


def test_plot_perceptron_history_bars_and_accuracy():
    h = PerceptronHistory(mistakes=[3, 1, 0], accuracy=[0.5, 0.75, 1.0], val_accuracy=[0.4, 0.6, 0.7])
    ax, ax2 = plots.plot_perceptron_history(h)
    heights = [p.get_height() for p in ax.patches]
    assert heights == [3, 1, 0]
    ydata = [list(line.get_ydata()) for line in ax2.get_lines()]
    assert ydata == [[0.5, 0.75, 1.0], [0.4, 0.6, 0.7]]


def test_plot_pass_costs_uses_the_cost_in_forward_passes():
    h = limits.PassHistory(loss=[1.0, 0.5], forward=[1, 2], backward=[0, 1])
    ax = plots.plot_pass_costs({"gd": h}, backward_cost=2.0, target=0.6)
    line = ax.get_lines()[0]
    np.testing.assert_array_equal(line.get_xdata(), [1, 4])  # 2 forward + 2·1 backward
    np.testing.assert_array_equal(line.get_ydata(), [1.0, 0.5])
    assert ax.get_lines()[1].get_ydata()[0] == 0.6


def test_plot_activation_draws_f_fprime_and_tangent():
    ax = plots.plot_activation("tanh", mark=1.0)
    f_line, df_line, tangent = ax.get_lines()[:3]
    z = f_line.get_xdata()
    np.testing.assert_allclose(f_line.get_ydata(), np.tanh(z))
    np.testing.assert_allclose(df_line.get_ydata(), 1 - np.tanh(z) ** 2)
    tz, ty = tangent.get_xdata(), tangent.get_ydata()
    slope = (ty[1] - ty[0]) / (tz[1] - tz[0])
    assert slope == pytest.approx(float(activations.tanh_grad(1.0)))
    with pytest.raises(ValueError, match="unknown activation"):
        plots.plot_activation("swish")


def test_plot_graph_one_box_per_node_one_arrow_per_edge():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = a * b
    c.label = "c"
    d = (c + a).tanh()
    d.backward()
    ax = plots.plot_graph(d, title="graph")
    texts = [t.get_text() for t in ax.texts if t.get_text()]
    arrows = [t for t in ax.texts if not t.get_text()]  # annotate("") draws an arrow
    assert len(texts) == 5  # a, b, c = a*b, c + a, tanh(c + a)
    assert len(arrows) == 5  # a→c, b→c, c→(+), a→(+), (+)→tanh
    assert any(t.startswith("c = *") for t in texts)
    grad_a = 1 - np.tanh(-4.0) ** 2 + (1 - np.tanh(-4.0) ** 2) * -3.0  # ∂d/∂a through both paths
    assert a.grad == pytest.approx(grad_a)
    assert any(f"grad {a.grad:.4g}" in t for t in texts)
    assert ax.get_title() == "graph"
    ax = plots.plot_graph(d, show_grad=False)
    assert not any("grad" in t.get_text() for t in ax.texts)


def test_the_course_palette_is_the_default_colour_cycle_and_colour_blind_safe():
    import matplotlib as mpl

    from dlcourse.lecture import plots

    assert mpl.rcParams["axes.prop_cycle"].by_key()["color"] == list(plots.PALETTE)
    assert mpl.rcParams["image.cmap"] == "viridis"
    # Okabe & Ito's eight colours; pale yellow is left out of the cycle (unreadable on white)
    okabe_ito = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"}
    assert set(plots.PALETTE) <= okabe_ito and "#F0E442" not in plots.PALETTE


def test_each_class_gets_its_own_palette_colour_in_a_decision_boundary():
    import matplotlib.colors as mcolors

    from dlcourse.lecture import plots

    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    y = np.array([0, 1, 2])
    ax = plots.plot_decision_boundary(lambda P: (P[:, 0] > 0.5) + 2 * (P[:, 1] > 0.5), X, y, resolution=20)
    scatter = ax.collections[-1]
    points = scatter.to_rgba(scatter.get_array())
    assert [mcolors.to_hex(c) for c in points] == [c.lower() for c in plots.PALETTE[:3]]
