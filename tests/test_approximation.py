"""dlcourse.lecture.approximation: the staircase/bump network against independent oracles
(torch, a step-function limit built with searchsorted, a proved error bound) and the depth of a
DAG against networkx."""

import networkx as nx
import numpy as np
import pytest
import torch

from dlcourse import torch as dtorch
from dlcourse.lecture import approximation as ap


def test_network_equals_its_nn_and_torch_versions():
    params = ap.staircase_network(np.sin, 12, 0.0, 2 * np.pi, steepness=8.0)
    x = np.linspace(0, 2 * np.pi, 101)
    model = ap.network_as_mlp(params)
    out_nn = model(x[:, None]).ravel()
    twin = dtorch.to_torch_module(model)
    with torch.no_grad():
        out_t = twin(torch.tensor(x[:, None])).numpy().ravel()
    np.testing.assert_allclose(ap.staircase_forward(params, x), out_nn, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out_nn, out_t, rtol=1e-12, atol=1e-12)
    assert params["W1"].shape == (12, 1) and params["W2"].shape == (1, 12)


def test_steep_limit_is_the_piecewise_constant_function():
    f = lambda x: x ** 2  # noqa: E731
    width, lo, hi = 9, -1.0, 2.0
    n, h = width + 1, (hi - lo) / (width + 1)
    params = ap.staircase_network(f, width, lo, hi, steepness=1e4)
    rng = np.random.default_rng(0)
    x = rng.uniform(lo, hi, 500)
    edges = lo + h * np.arange(1, n)
    x = x[np.min(np.abs(x[:, None] - edges), axis=1) > 1e-2 * h]  # away from the jumps (σ(−100) ≈ 0 there)
    bins = np.searchsorted(edges, x, side="right")
    expected = f(lo + h * (bins + 0.5))
    np.testing.assert_allclose(ap.staircase_forward(params, x), expected, atol=1e-9)


@pytest.mark.parametrize("f,lip,lo,hi", [(np.sin, 1.0, 0.0, 2 * np.pi), (np.abs, 1.0, -1.0, 1.0),
                                         (lambda x: np.sqrt(x + 1.0) * 0 + 3 * x, 3.0, 0.0, 1.0)])
def test_error_within_the_bound_and_falls_like_one_over_width(f, lip, lo, hi):
    widths = [4, 16, 64, 256]
    errors = [ap.max_error(f, w, lo, hi, steepness=10.0) for w in widths]
    bounds = [ap.staircase_error_bound(lip, w, lo, hi, steepness=10.0) for w in widths]
    assert all(e <= b for e, b in zip(errors, bounds, strict=True))
    assert all(a > b for a, b in zip(errors[:-1], errors[1:], strict=True))
    slope = np.polyfit(np.log(widths), np.log(errors), 1)[0]
    assert -1.3 < slope < -0.7


def test_dag_depth_equals_networkx():
    rng = np.random.default_rng(1)
    for _ in range(20):
        n = int(rng.integers(2, 12))
        edges = [(i, j) for i in range(n) for j in range(i + 1, n) if rng.random() < 0.3] or [(0, 1)]
        g = nx.DiGraph(edges)
        assert ap.dag_depth(edges) == nx.dag_longest_path_length(g)


def test_depth_definitions():
    d = ap.depth_definitions([3, 4, 4, 3, 1])  # the ESIR lecture's L = 4 example
    assert d == {"longest path": 4, "weight layers": 4, "hidden layers": 3}
    # a skip connection adds a shorter path, not a longer one
    assert ap.depth_definitions([2, 3, 3, 1], skips=[(0, 3)])["longest path"] == 3
    g = nx.DiGraph(ap.mlp_edges([2, 3, 3, 1], skips=[(0, 2)]))
    assert nx.dag_longest_path_length(g) == 3


def test_bad_input():
    with pytest.raises(ValueError, match="cycle"):
        ap.dag_depth([(0, 1), (1, 0)])
    with pytest.raises(ValueError, match="hi > lo"):
        ap.staircase_network(np.sin, 3, 1.0, 1.0)
    with pytest.raises(ValueError, match="skip"):
        ap.mlp_edges([2, 2, 2], skips=[(0, 1)])
    with pytest.raises(ValueError, match="finite"):
        ap.staircase_network(lambda x: x * np.nan, 3, 0.0, 1.0)


def test_explorer_callback_draws_and_reports():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    out = ap.construction_update(width=9, steepness=10.0, ax=ax)
    assert len(ax.lines) == 10 + 2  # ten bumps, the network, the target
    assert out["error"] == pytest.approx(ap.max_error(lambda x: np.sin(2 * x) + 0.3 * x, 9, 0.0, 2 * np.pi, 10.0, n_grid=4001))
    assert out["error"] <= out["bound"]
    assert "9 hidden units" in ax.get_title() and f"{out['error']:.3f}" in ax.get_title()
    # a flatter sigmoid (small s) blurs the steps: the error grows
    assert ap.construction_update(width=9, steepness=0.5)["error"] > out["error"]
    plt.close(fig)


# --- why depth: composition multiplies linear pieces -------------------------------------------


def _tent(x):
    return np.where(x <= 0.5, 2.0 * x, 2.0 - 2.0 * x)


@pytest.mark.parametrize("depth", [1, 2, 3, 6, 10])
def test_the_sawtooth_network_is_the_tent_map_composed_depth_times(depth):
    x = np.random.default_rng(depth).uniform(0.0, 1.0, 500)
    expected = x
    for _ in range(depth):
        expected = _tent(expected)
    model = ap.sawtooth_network(depth)
    np.testing.assert_allclose(model(x[:, None]).ravel(), expected, rtol=0, atol=1e-12)
    assert sum(isinstance(m, ap.nn.ReLU) for m in model) == depth  # depth hidden layers of 2 units
    # its 2^L pieces meet at the multiples of 2^-L, where it alternates between 0 and 1
    k = np.arange(2**depth + 1)
    np.testing.assert_allclose(model((k / 2**depth)[:, None]).ravel(), k % 2, atol=1e-12)
    assert ap.count_linear_pieces(model) == 2**depth


@pytest.mark.parametrize("seed", range(4))
def test_one_hidden_layer_of_n_relu_units_makes_n_plus_one_pieces(seed):
    width = 12
    model = ap.shallow_relu_network(width, rng=seed)
    kinks = -model[0].bias.data / model[0].weight.data.ravel()  # where s_j (x − k_j) = 0
    assert np.all((kinks > 0) & (kinks < 1))
    assert ap.count_linear_pieces(model) == len(np.unique(kinks)) + 1 == width + 1


@pytest.mark.parametrize("f, pieces", [
    (lambda x: 3.0 * x - 1.0, 1),
    (lambda x: np.abs(x - 0.3), 2),  # the kink inside a grid cell counts once
    (lambda x: np.abs(x - 0.3) + np.abs(x - 0.7) + 2 * np.maximum(x - 0.9, 0), 4),
    (lambda x: np.maximum(x - 1.5, 0.0), 1),  # its kink lies outside [0, 1]
])
def test_count_linear_pieces_on_functions_whose_pieces_are_known(f, pieces):
    class Fn(ap.nn.Module):
        def forward(self, x):
            return f(x)

    assert ap.count_linear_pieces(Fn()) == pieces


def test_count_linear_pieces_refuses_an_empty_interval():
    with pytest.raises(ValueError, match="hi > lo"):
        ap.count_linear_pieces(ap.sawtooth_network(2), lo=1.0, hi=1.0)
