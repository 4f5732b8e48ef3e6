"""dlcourse.models.perceptron: the Rosenblatt rule, convergence on separable data, failure on XOR."""

import numpy as np
import pytest

from dlcourse import data
from dlcourse.models.perceptron import Perceptron


def _separable(n=200, gamma=0.1, seed=0, dim=2):
    """Points with augmented margin ≥ gamma w.r.t. the unit vector u* = [b, w] / ‖[b, w]‖."""
    rng = np.random.default_rng(seed)
    u = np.array([0.3, 1.0, -2.0, 0.5][: dim + 1])
    u = u / np.linalg.norm(u)
    X = rng.uniform(-2, 2, size=(20 * n, dim))
    s = np.column_stack([np.ones(len(X)), X]) @ u
    keep = np.abs(s) >= gamma
    X, s = X[keep][:n], s[keep][:n]
    return X, (s > 0).astype(int), u


def test_one_update_by_hand():
    X = np.array([[2.0, -1.0], [0.5, 3.0]])
    y = np.array([0, 1])
    p = Perceptron(lr=0.5, max_epochs=1)
    w0 = np.array([0.2, 0.1, 0.3])  # [b, w1, w2]
    h = p.fit(X, y, w0=w0)
    # sample 0: s = 0.2 + 0.2 - 0.3 = 0.1 >= 0 -> ŷ = 1, y = 0: w̃ ← w̃ + 0.5 (0 - 1) [1, 2, -1]
    w1 = np.array([0.2 - 0.5, 0.1 - 1.0, 0.3 + 0.5])
    # sample 1: s = -0.3 + 0.5·(-0.9) + 3·0.8 = 1.65 >= 0 -> ŷ = 1 = y: no update
    np.testing.assert_allclose(p.w_, w1, atol=1e-15)
    np.testing.assert_allclose(h.weights[0], w1, atol=1e-15)
    assert h.mistakes == [1]
    assert p.intercept_ == pytest.approx(-0.3) and np.allclose(p.coef_, [-0.9, 0.8])
    np.testing.assert_allclose(p.decision_function(X), X @ w1[1:] + w1[0])
    assert not p.converged_ and p.n_epochs_ == 1


@pytest.mark.parametrize("seed", range(5))
def test_converges_and_separates(seed):
    X, y, _ = _separable(seed=seed)
    p = Perceptron(max_epochs=1000)
    h = p.fit(X, y)
    assert p.converged_ and h.mistakes[-1] == 0 and h.accuracy[-1] == 1.0
    # the final weights separate the data: every sample strictly or on the positive side as labelled
    s = np.column_stack([np.ones(len(X)), X]) @ p.w_
    assert np.all((s >= 0) == (y == 1))
    np.testing.assert_array_equal(p.predict(X), y)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("shuffle", [False, True])
def test_novikoff_mistake_bound(seed, shuffle):
    X, y, u = _separable(n=300, gamma=0.05, seed=seed, dim=3)
    Xa = np.column_stack([np.ones(len(X)), X])
    gamma = np.min(np.abs(Xa @ u))  # the actual margin of the unit separator u*
    R = np.max(np.linalg.norm(Xa, axis=1))
    p = Perceptron(lr=0.7, max_epochs=10_000, rng=seed, shuffle=shuffle)
    h = p.fit(X, y)
    assert p.converged_
    assert sum(h.mistakes) <= (R / gamma) ** 2


def test_xor_never_converges():
    X, y = data.xor()
    p = Perceptron(max_epochs=50)
    h = p.fit(X, y)
    assert not p.converged_ and p.n_epochs_ == 50 and h.epochs == 50
    assert all(m > 0 for m in h.mistakes)
    # no line separates XOR: at most 3 of 4 points are ever right
    assert max(h.accuracy) <= 0.75


def test_minus_one_plus_one_labels_equivalent():
    X, y01, _ = _separable(seed=3)
    ypm = 2 * y01 - 1
    a, b = Perceptron(), Perceptron()
    ha, hb = a.fit(X, y01), b.fit(X, ypm)
    np.testing.assert_array_equal(a.w_, b.w_)
    assert ha.mistakes == hb.mistakes
    assert set(b.predict(X).tolist()) == {-1, 1}
    np.testing.assert_array_equal(b.predict(X), ypm)


def test_learning_rate_only_rescales_from_zero_init():
    X, y, _ = _separable(seed=4)
    a, b = Perceptron(lr=1.0), Perceptron(lr=0.01)
    ha, hb = a.fit(X, y), b.fit(X, y)
    # from w̃ = 0 every update is η·(±x̃): w̃(η) = η·w̃(1), so predictions and mistakes coincide
    assert ha.mistakes == hb.mistakes
    np.testing.assert_allclose(b.w_, 0.01 * a.w_, rtol=1e-12, atol=1e-15)
    # from a non-zero start, the learning rate changes the run
    w0 = np.array([1.0, -1.0, 1.0])
    hc, hd = Perceptron(lr=1.0).fit(X, y, w0=w0), Perceptron(lr=0.01).fit(X, y, w0=w0)
    assert hc.mistakes != hd.mistakes


def test_validation_accuracy_recorded():
    X, y, _ = _separable(seed=1)
    h = Perceptron(max_epochs=3).fit(X[:100], y[:100], validation=(X[100:], y[100:]))
    assert len(h.val_accuracy) == h.epochs
    w = h.weights[-1]
    expected = np.mean(((X[100:] @ w[1:] + w[0]) >= 0) == (y[100:] == 1))
    assert h.val_accuracy[-1] == pytest.approx(expected)
    assert set(h.as_dict()) == {"mistakes", "accuracy", "weights", "val_accuracy"}


def test_bad_input():
    X, y = data.xor()
    with pytest.raises(ValueError, match="labels"):
        Perceptron().fit(X, np.array([0, 1, 2, 0]))
    with pytest.raises(ValueError, match="shape"):
        Perceptron().fit(X, y[:3])
    with pytest.raises(ValueError, match="w0"):
        Perceptron().fit(X, y, w0=np.zeros(2))
    with pytest.raises(ValueError, match="lr"):
        Perceptron(lr=0)
    with pytest.raises(ValueError, match="max_epochs"):
        Perceptron(max_epochs=0)
    with pytest.raises(RuntimeError, match="not fitted"):
        Perceptron().predict(X)
    p = Perceptron(max_epochs=1)
    p.fit(X, y)
    with pytest.raises(ValueError, match="2 features"):
        p.predict(np.zeros((3, 3)))
