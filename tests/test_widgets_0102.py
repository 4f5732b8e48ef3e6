"""dlcourse.lecture.widgets, notebooks 01-02: the explorers' callbacks are plain functions, tested here."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from dlcourse import activations
from dlcourse.data import xor
from dlcourse.lecture import perceptron_limits as limits
from dlcourse.lecture import widgets
from dlcourse.models import two_layer


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


def test_activation_update_sanity_checks_of_deck_002():
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


def test_explorers_build_their_controls():
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
