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


# --- beyond one kernel per sample: centres, widths, three phases, classification -------------

from sklearn.cluster import KMeans  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from dlcourse import data as dl_data  # noqa: E402
from dlcourse.gradcheck import numerical_gradient, rel_error  # noqa: E402


def test_features_with_one_width_per_kernel_by_hand():
    X = np.array([[0.0], [1.0]])
    centers = np.array([[0.0], [2.0]])
    phi = rbf.rbf_features(X, centers, sigma=np.array([1.0, 0.5]), bias=False)
    np.testing.assert_allclose(phi, [[1.0, np.exp(-4 / 0.5)], [np.exp(-0.5), np.exp(-1 / 0.5)]], rtol=1e-15)
    with pytest.raises(ValueError, match=r"one per kernel, shape \(2,\)"):
        rbf.RBFNetwork(centers, sigma=np.ones(3))
    with pytest.raises(ValueError, match="finite and > 0"):
        rbf.RBFNetwork(centers, sigma=np.array([1.0, 0.0]))


def _three_phase_net():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = np.sin(X[:, 0]) + 0.1 * rng.normal(size=40)
    centers, _ = rbf.kmeans_plusplus(X, 5, rng=1)
    net = rbf.RBFNetwork(centers, rbf.widths_from_centers(centers)).fit(X, y, alpha=0.1)
    net.weights = net.weights + 0.1  # away from the minimum over w, so every gradient is non-zero
    return X, y, net


@pytest.mark.parametrize("what", ["w", "mu", "sigma"])
def test_gradients_wrt_weights_centres_and_widths_equal_finite_differences(what):
    X, y, net = _three_phase_net()
    grads = net.gradients(X, y, alpha=0.1)

    def J(v):
        other = rbf.RBFNetwork(v if what == "mu" else net.centers, v if what == "sigma" else net.sigma)
        other.weights = v if what == "w" else net.weights
        return other.loss(X, y, alpha=0.1)

    start = {"w": net.weights, "mu": net.centers, "sigma": np.asarray(net.sigma, float)}[what].copy()
    assert rel_error(grads[what], numerical_gradient(J, start)) < 1e-8
    assert np.abs(grads[what]).max() > 1e-3


def test_three_phase_training_lowers_the_two_phase_loss():
    x, y = dl_data.noisy_sine(60, 0.1, rng=0)
    centers, _, _ = rbf.kmeans(x, 6, rng=0)
    net = rbf.RBFNetwork(centers, rbf.widths_from_centers(centers)).fit(x, y, alpha=1e-3)  # phases 1 and 2
    two_phase = net.loss(x, y, alpha=1e-3)
    history = net.fit_three_phase(x, y, alpha=1e-3, lr=1e-2, steps=300)
    assert history[-1] < 0.97 * two_phase
    assert np.asarray(net.sigma).shape == (6,) and np.all(np.asarray(net.sigma) > 0)
    assert not np.allclose(net.centers, centers)  # the centres moved


def test_lloyd_iterations_equal_sklearn_from_the_same_start():
    X = np.random.default_rng(2).normal(size=(120, 3))
    init = rbf.kmeans_plusplus(X, 6, rng=3)[0]
    centers, labels, inertia = rbf.kmeans(X, init=init)
    ref = KMeans(6, init=init, n_init=1, algorithm="lloyd", tol=0.0, max_iter=300).fit(X)
    np.testing.assert_allclose(centers, ref.cluster_centers_, atol=1e-12)
    np.testing.assert_array_equal(labels, ref.labels_)
    assert inertia == pytest.approx(ref.inertia_, rel=1e-12)


def test_kmeans_plusplus_draws_with_probability_proportional_to_d_squared():
    from scipy.stats import chisquare

    X = np.array([[0.0], [1.0], [3.0], [7.0]])
    # the first centre is uniform; given it is x_0, the second is x_i with probability x_i² / Σ x_j²
    counts = np.zeros(4)
    for seed in range(6000):
        _, idx = rbf.kmeans_plusplus(X, 2, rng=seed)
        if idx[0] == 0:
            counts[idx[1]] += 1
    expected = np.array([0.0, 1.0, 9.0, 49.0]) / 59.0 * counts.sum()
    assert counts[0] == 0  # a chosen centre has D = 0: never drawn again
    assert chisquare(counts[1:], expected[1:]).pvalue > 1e-3


def test_kmeans_plusplus_seeding_is_as_good_as_sklearns():
    from sklearn.cluster import kmeans_plusplus

    X, _ = dl_data.spirals(100, 3, noise=0.2, rng=0)

    def inertia(c):
        return ((X[:, None] - c[None]) ** 2).sum(-1).min(1).sum()

    ours = np.mean([inertia(rbf.kmeans_plusplus(X, 8, rng=s)[0]) for s in range(40)])
    # sklearn's default is greedy k-means++ (2 + log k trials per centre); n_local_trials=1 is the paper's
    theirs = np.mean([inertia(kmeans_plusplus(X, 8, random_state=s, n_local_trials=1)[0]) for s in range(40)])
    assert 0.85 < ours / theirs < 1.15
    random = np.mean([inertia(rbf.random_centers(X, 8, rng=s)) for s in range(40)])
    assert ours < random  # D² seeding spreads the centres


def test_uniform_and_random_centres_and_widths():
    X = np.array([[0.0, 0.0], [2.0, 4.0], [1.0, 1.0]])
    grid = rbf.uniform_centers(X, 9)
    assert grid.shape == (9, 2) and set(grid[:, 0]) == {0.0, 1.0, 2.0} and set(grid[:, 1]) == {0.0, 2.0, 4.0}
    np.testing.assert_allclose(rbf.uniform_centers(np.array([1.0, 3.0]), 3)[:, 0], [1.0, 2.0, 3.0])
    picked = rbf.random_centers(X, 2, rng=0)
    assert len({tuple(r) for r in picked}) == 2 and all(any(np.array_equal(r, x) for x in X) for r in picked)
    with pytest.raises(ValueError, match="k"):
        rbf.random_centers(X, 4)
    widths = rbf.widths_from_centers(np.array([[0.0], [1.0], [3.0]]), neighbours=1)
    np.testing.assert_allclose(widths, [1.0, 1.0, 2.0])
    np.testing.assert_allclose(rbf.widths_from_centers(np.array([[0.0], [1.0], [3.0]]), neighbours=2), [2.0, 1.5, 2.5])


@pytest.mark.parametrize("classes", [2, 3])
def test_classifier_equals_sklearns_logistic_regression_on_the_same_features(classes):
    X, y = dl_data.moons(200, noise=0.2, rng=0) if classes == 2 else dl_data.spirals(100, 3, noise=0.2, rng=0)
    centers, _, _ = rbf.kmeans(X, 12, rng=0)
    alpha = 1e-2
    clf = rbf.RBFClassifier(centers, rbf.widths_from_centers(centers), classes).fit(X, y, alpha=alpha, steps=3000)
    assert clf.converged
    phi = clf.net.features(X)[:, 1:]
    # sklearn: C Σ CE + ½‖w‖².  Ours: mean CE + (α/2)‖W̃‖²; a C = 2 softmax splits w = W_1 − W_0 in halves
    C = (2.0 if classes == 2 else 1.0) / (alpha * len(X))
    ref = LogisticRegression(C=C, tol=1e-12, max_iter=100_000).fit(phi, y)
    np.testing.assert_allclose(clf.predict_proba(X), ref.predict_proba(phi), atol=1e-5)
    assert (clf.predict(X) == y).mean() > 0.75
