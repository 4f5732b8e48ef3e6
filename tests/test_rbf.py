"""RBF network: features by hand, ridge closed form vs scikit-learn, proximal GD vs Lasso and vs the closed form."""

import numpy as np
import pytest
from sklearn.linear_model import Lasso, Ridge

from dlcourse.data import noisy_sine
from dlcourse.models import rbf


@pytest.fixture
def data():
    return noisy_sine(30, 0.25, rng=0)


def test_features_by_hand():
    X = np.array([[0.0, 0.0], [1.0, 2.0]])
    centers = np.array([[0.0, 0.0], [1.0, 1.0], [3.0, 0.0]])
    phi = rbf.rbf_features(X, centers, sigma=2.0)
    expected = np.array([
        [1.0, 1.0, np.exp(-2 / 8), np.exp(-9 / 8)],
        [1.0, np.exp(-5 / 8), np.exp(-1 / 8), np.exp(-8 / 8)],
    ])
    np.testing.assert_allclose(phi, expected, rtol=1e-15)
    assert rbf.rbf_features(X, centers, 2.0, bias=False).shape == (2, 3)


@pytest.mark.parametrize("alpha", [1e-3, 0.1, 2.0])
def test_ridge_closed_form_equals_sklearn(data, alpha):
    x, y = data
    net = rbf.RBFNetwork(x, sigma=0.05).fit(x, y, alpha)
    # sklearn's Ridge: ‖y − Φw − b‖² + a‖w‖², unpenalised intercept  ⇒  a = α/2
    ref = Ridge(alpha=alpha / 2, fit_intercept=True, solver="cholesky", tol=1e-14).fit(net.features(x)[:, 1:], y)
    np.testing.assert_allclose(net.kernel_weights, ref.coef_, rtol=1e-6, atol=1e-9)
    assert net.weights[0] == pytest.approx(ref.intercept_, rel=1e-6, abs=1e-9)


def test_gradient_descent_converges_to_the_closed_form(data):
    x, y = data
    closed = rbf.RBFNetwork(x, sigma=0.1).fit(x, y, alpha=2.0)
    net = rbf.RBFNetwork(x, sigma=0.1)
    losses = net.fit_gd(x, y, alpha=2.0, steps=4000)
    assert all(b <= a + 1e-12 for a, b in zip(losses[:-1], losses[1:], strict=True))  # ε = 1/Lip: monotone descent
    np.testing.assert_allclose(net.weights, closed.weights, rtol=1e-5, atol=1e-6)


def test_l1_proximal_descent_equals_lasso_and_is_sparse(data):
    x, y = data
    n, l1 = len(x), 0.3
    net = rbf.RBFNetwork(x, sigma=0.05)
    net.fit_gd(x, y, l1=l1, steps=20000)
    # Lasso: (1/2N)‖y − Φw − b‖² + a‖w‖₁  ⇒  a = l1 / (2N)
    ref = Lasso(alpha=l1 / (2 * n), fit_intercept=True, tol=1e-14, max_iter=200_000).fit(net.features(x)[:, 1:], y)
    ours = net.loss(x, y, l1=l1)
    ref_net = rbf.RBFNetwork(x, sigma=0.05)
    ref_net.weights = np.r_[ref.intercept_, ref.coef_]
    best = ref_net.loss(x, y, l1=l1)
    # ISTA converges slowly (O(1/k)) on this ill-conditioned Φ: compare the objective values
    assert best - 1e-9 <= ours <= best * (1 + 1e-3)
    assert np.sum(net.kernel_weights == 0) >= 10  # exact zeros, not merely small weights
    assert np.sum((net.kernel_weights == 0) & (ref.coef_ == 0)) >= 10  # mostly the same ones


def test_interpolation_without_penalty_and_smoothing_with_l2(data):
    x, y = data
    xt = np.linspace(0, 1, 500)
    free = rbf.RBFNetwork(x, sigma=0.05).fit(x, y, alpha=0.0)
    smooth = rbf.RBFNetwork(x, sigma=0.05).fit(x, y, alpha=2.0)
    assert np.mean((free.predict(x) - y) ** 2) < 1e-6  # one kernel per sample: fits the noise
    truth = np.sin(2 * np.pi * xt)
    assert np.mean((smooth.predict(xt) - truth) ** 2) < 0.1 * np.mean((free.predict(xt) - truth) ** 2)
    assert np.abs(smooth.kernel_weights).max() < np.abs(free.kernel_weights).max() / 100


def test_bad_inputs():
    with pytest.raises(ValueError, match="sigma"):
        rbf.RBFNetwork(np.zeros(3), sigma=0.0)
    with pytest.raises(ValueError, match="features"):
        rbf.rbf_features(np.zeros((2, 2)), np.zeros((3, 1)), 1.0)
    net = rbf.RBFNetwork(np.zeros(3))
    with pytest.raises(ValueError, match="same number of rows"):
        net.fit(np.zeros(4), np.zeros(3))
    with pytest.raises(ValueError, match="alpha"):
        net.fit(np.zeros(3), np.zeros(3), alpha=-1)
