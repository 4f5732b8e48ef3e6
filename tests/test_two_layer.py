"""dlcourse.models.two_layer: the hand-derived 2-layer equations against torch autograd and finite
differences, row-major = column-major; dlcourse.lecture.perceptron_limits: the linear collapse, linear
separability and the pass-counting learners (weight perturbation, gradient descent)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcourse.gradcheck import numerical_gradient, rel_error
from dlcourse.lecture import perceptron_limits as limits
from dlcourse.models import two_layer

torch.set_default_dtype(torch.float64)

HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "lecun_tanh"]

TORCH_ACT = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": lambda z: torch.nn.functional.leaky_relu(z, 0.01),
    "elu": lambda z: torch.nn.functional.elu(z, 1.0),
    "lecun_tanh": lambda z: 1.7159 * torch.tanh(2.0 * z / 3.0),
}


def _problem(rng, m=7, n0=3, n1=5, n2=1, output="sigmoid"):
    X = rng.standard_normal((m, n0))
    params = two_layer.init_two_layer(n0, n1, n2, rng=rng, std=0.8)
    params["b1"] = rng.standard_normal(n1)  # non-zero biases so db is tested too
    params["b2"] = rng.standard_normal(n2)
    if output == "sigmoid":
        y = rng.integers(0, 2, size=(m, n2)).astype(float) if n2 > 1 else rng.integers(0, 2, size=m)
    else:
        y = rng.integers(0, n2, size=m)
    return params, X, y


def _torch_loss_and_grads(params, X, y, activation, output):
    """The independent oracle: the same net written with torch ops, differentiated by autograd."""
    t = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    Xt = torch.tensor(X)
    Z1 = Xt @ t["W1"].T + t["b1"]
    Z2 = TORCH_ACT[activation](Z1) @ t["W2"].T + t["b2"]
    m = X.shape[0]
    if output == "sigmoid":
        Y = torch.tensor(np.asarray(y, dtype=float).reshape(m, -1))
        loss = torch.nn.functional.binary_cross_entropy_with_logits(Z2, Y, reduction="sum") / m
    else:
        loss = torch.nn.functional.cross_entropy(Z2, torch.tensor(y))
    loss.backward()
    return loss.item(), {k: v.grad.numpy() for k, v in t.items()}


@pytest.mark.parametrize("activation", HIDDEN)
@pytest.mark.parametrize("output,n2", [("sigmoid", 1), ("sigmoid", 3), ("softmax", 4)])
def test_hand_derived_gradients_equal_torch_autograd(activation, output, n2):
    rng = np.random.default_rng(0)
    params, X, y = _problem(rng, n2=n2, output=output)
    loss, grads = two_layer.two_layer_grads(params, X, y, activation=activation, output=output)
    t_loss, t_grads = _torch_loss_and_grads(params, X, y, activation, output)
    assert abs(loss - t_loss) <= 1e-10 * max(1.0, abs(t_loss))
    for k in two_layer.PARAM_NAMES:
        assert grads[k].shape == params[k].shape
        np.testing.assert_allclose(grads[k], t_grads[k], rtol=1e-8, atol=1e-10, err_msg=k)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "elu", "lecun_tanh"])
@pytest.mark.parametrize("output,n2", [("sigmoid", 1), ("softmax", 3)])
def test_hand_derived_gradients_equal_finite_differences(activation, output, n2):
    rng = np.random.default_rng(1)
    params, X, y = _problem(rng, n2=n2, output=output)
    _, grads = two_layer.two_layer_grads(params, X, y, activation=activation, output=output)
    for k in two_layer.PARAM_NAMES:
        p = {kk: vv.copy() for kk, vv in params.items()}

        def f(_, p=p):
            return two_layer.two_layer_loss(p, X, y, activation=activation, output=output)

        num = numerical_gradient(f, p[k])  # perturbs p[k] in place, so f sees it
        assert rel_error(grads[k], num) < 1e-6, k


def test_intermediate_dZ2_is_A2_minus_Y_and_dZ1_matches_torch():
    rng = np.random.default_rng(2)
    params, X, y = _problem(rng, m=6, n2=1)
    A2, cache = two_layer.two_layer_forward(params, X, activation="tanh")
    Y = two_layer.targets(y, 1)
    d = two_layer.two_layer_backward(cache, Y)
    np.testing.assert_allclose(d["dZ2"], A2 - Y)
    # torch: gradient of the *summed* loss with respect to Z1 equals dZ1 (the ESIR lecture's unscaled δ, see docs/references.md)
    Xt = torch.tensor(X)
    Z1 = (Xt @ torch.tensor(params["W1"]).T + torch.tensor(params["b1"])).detach().requires_grad_(True)
    Z2 = torch.tanh(Z1) @ torch.tensor(params["W2"]).T + torch.tensor(params["b2"])
    torch.nn.functional.binary_cross_entropy_with_logits(Z2, torch.tensor(Y), reduction="sum").backward()
    np.testing.assert_allclose(d["dZ1"], Z1.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("output,n2", [("sigmoid", 1), ("sigmoid", 2), ("softmax", 3)])
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_row_major_equals_column_major(output, n2, activation):
    rng = np.random.default_rng(3)
    params, X, y = _problem(rng, m=9, n2=n2, output=output)
    loss, grads = two_layer.two_layer_grads(params, X, y, activation=activation, output=output)
    Y = two_layer.targets(y, n2, output)
    loss_c, grads_c = two_layer.two_layer_grads_colmajor(two_layer.to_colmajor(params), X.T, Y.T, activation=activation, output=output)
    assert loss_c == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(grads_c["W1"], grads["W1"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(grads_c["W2"], grads["W2"], rtol=1e-12, atol=1e-14)
    assert grads_c["b1"].shape == (params["W1"].shape[0], 1)  # the lecture's column biases
    np.testing.assert_allclose(grads_c["b1"][:, 0], grads["b1"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(grads_c["b2"][:, 0], grads["b2"], rtol=1e-12, atol=1e-14)


@settings(max_examples=25, deadline=None)
@given(m=st.integers(1, 6), n0=st.integers(1, 4), n1=st.integers(1, 5), seed=st.integers(0, 10_000))
def test_row_major_equals_column_major_any_shape(m, n0, n1, seed):
    rng = np.random.default_rng(seed)
    params, X, y = _problem(rng, m=m, n0=n0, n1=n1, n2=1)
    _, grads = two_layer.two_layer_grads(params, X, y)
    _, grads_c = two_layer.two_layer_grads_colmajor(two_layer.to_colmajor(params), X.T, two_layer.targets(y, 1).T)
    for k in two_layer.PARAM_NAMES:
        np.testing.assert_allclose(grads_c[k].reshape(grads[k].shape), grads[k], rtol=1e-10, atol=1e-13)


def test_forward_shapes_probabilities_and_predict():
    rng = np.random.default_rng(4)
    params, X, y = _problem(rng, m=8, n2=4, output="softmax")
    A2, _ = two_layer.two_layer_forward(params, X, output="softmax")
    assert A2.shape == (8, 4)
    np.testing.assert_allclose(A2.sum(axis=1), 1.0)
    np.testing.assert_array_equal(two_layer.two_layer_predict(params, X, output="softmax"), A2.argmax(axis=1))
    A2s, _ = two_layer.two_layer_forward(params | {"W2": params["W2"][:1], "b2": params["b2"][:1]}, X)
    np.testing.assert_array_equal(
        two_layer.two_layer_predict(params | {"W2": params["W2"][:1], "b2": params["b2"][:1]}, X), (A2s[:, 0] > 0.5).astype(int)
    )


def test_loss_is_finite_for_huge_logits():
    X, y = np.array([[1.0, -1.0]]), np.array([0])
    params = {"W1": np.array([[1e4, 0.0]]), "b1": np.zeros(1), "W2": np.array([[1e4]]), "b2": np.zeros(1)}
    loss = two_layer.two_layer_loss(params, X, y, activation="relu")
    assert loss == pytest.approx(1e8)  # −log(1 − σ(1e8)) = 1e8 to float precision, not inf


def test_bad_inputs_raise_clear_errors():
    rng = np.random.default_rng(5)
    params, X, y = _problem(rng)
    with pytest.raises(ValueError, match="features"):
        two_layer.two_layer_forward(params, X[:, :2])
    with pytest.raises(ValueError, match="activation"):
        two_layer.two_layer_forward(params, X, activation="swish")
    with pytest.raises(ValueError, match="output"):
        two_layer.two_layer_forward(params, X, output="linear")
    with pytest.raises(ValueError, match="W2"):
        two_layer.two_layer_forward(params | {"W2": np.ones((1, 4))}, X)
    with pytest.raises(ValueError, match="b1"):
        two_layer.two_layer_forward(params | {"b1": np.ones(4)}, X)
    with pytest.raises(KeyError, match="b2"):
        two_layer.two_layer_forward({k: v for k, v in params.items() if k != "b2"}, X)
    with pytest.raises(ValueError, match="samples"):
        two_layer.two_layer_grads(params, X, y[:-1])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        two_layer.two_layer_grads(params, X, y * 3)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        two_layer.targets(np.array([0, 3]), 3, "softmax")
    with pytest.raises(ValueError, match="column-major"):
        two_layer.two_layer_grads_colmajor(two_layer.to_colmajor(params), X, y[None, :])  # X not transposed
    with pytest.raises(ValueError, match="b1"):
        two_layer.two_layer_grads_colmajor(params, X.T, y[None, :].astype(float))  # row-major biases
    with pytest.raises(ValueError, match="positive"):
        two_layer.init_two_layer(0, 3)


def test_init_two_layer_shapes_and_xavier_scale():
    p = two_layer.init_two_layer(400, 300, 2, rng=0)
    assert p["W1"].shape == (300, 400) and p["b1"].shape == (300,)
    assert p["W2"].shape == (2, 300) and p["b2"].shape == (2,)
    assert np.all(p["b1"] == 0) and np.all(p["b2"] == 0)
    # Var(W1) = 1/n_in; with 120 000 draws the sample std is within 1 % of 1/√400 = 0.05.
    assert abs(p["W1"].std() - 0.05) < 0.0005
    np.testing.assert_array_equal(two_layer.init_two_layer(4, 3, rng=7)["W1"], two_layer.init_two_layer(4, 3, rng=7)["W1"])


def test_train_two_layer_solves_xor_and_is_deterministic():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0])
    p0 = two_layer.init_two_layer(2, 4, rng=0, std=1.0)
    p, log = two_layer.train_two_layer(p0, X, y, lr=1.0, epochs=1500)
    assert log.accuracy[-1] == 1.0
    assert log.loss[-1] < 0.05 < log.loss[0]
    assert np.all(p0["W1"] == two_layer.init_two_layer(2, 4, rng=0, std=1.0)["W1"])  # input params untouched
    p_again, log_again = two_layer.train_two_layer(p0, X, y, lr=1.0, epochs=1500)
    assert log_again.loss == log.loss
    # mini-batches: reproducible for a seed, and still learning
    _, a = two_layer.train_two_layer(p0, X, y, lr=0.5, epochs=50, batch_size=2, rng=3)
    _, b = two_layer.train_two_layer(p0, X, y, lr=0.5, epochs=50, batch_size=2, rng=3)
    assert a.loss == b.loss and a.loss[-1] < a.loss[0]
    with pytest.raises(FloatingPointError, match="W2"):
        two_layer.train_two_layer(p0 | {"W2": np.full((1, 4), np.inf)}, X, y, lr=1.0, epochs=1)


def test_training_validates_its_input_once_not_per_batch(monkeypatch):
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0])
    p0 = two_layer.init_two_layer(2, 3, rng=0, std=1.0)
    calls = []
    check = two_layer._check_params
    monkeypatch.setattr(two_layer, "_check_params", lambda *a, **k: calls.append(1) or check(*a, **k))
    two_layer.train_two_layer(p0, X, y, lr=0.5, epochs=5, batch_size=1, rng=0)  # 20 steps
    assert len(calls) == 1
    calls.clear()
    theta, spec = two_layer.flatten_params(p0)
    loss_fn, loss_and_grad = two_layer.two_layer_objective(X, y, spec)
    for _ in range(3):
        loss_fn(theta), loss_and_grad(theta)
    assert len(calls) == 1  # in two_layer_objective, not in the closures the learners call
    assert loss_fn(theta) == two_layer.two_layer_loss(p0, X, y)


def test_train_two_layer_rejects_bad_counts():
    X, y = np.zeros((4, 2)), np.array([0, 1, 1, 0])
    p0 = two_layer.init_two_layer(2, 3, rng=0)
    with pytest.raises(ValueError, match="epochs must be a positive integer, got 0"):
        two_layer.train_two_layer(p0, X, y, lr=0.5, epochs=0)
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 2.5"):
        two_layer.train_two_layer(p0, X, y, lr=0.5, epochs=1, batch_size=2.5)
    with pytest.raises(ValueError, match="n_hidden must be a positive integer"):
        two_layer.init_two_layer(2, 0)


def test_collapse_linear_equals_two_stacked_layers():
    rng = np.random.default_rng(6)
    W1, b1 = rng.standard_normal((4, 3)), rng.standard_normal(4)
    W2, b2 = rng.standard_normal((2, 4)), rng.standard_normal(2)
    W, b = limits.collapse_linear(W1, b1, W2, b2)
    assert W.shape == (2, 3) and b.shape == (2,)
    x = torch.tensor(rng.standard_normal((10, 3)))
    l1, l2 = torch.nn.Linear(3, 4), torch.nn.Linear(4, 2)
    with torch.no_grad():
        l1.weight.copy_(torch.tensor(W1)), l1.bias.copy_(torch.tensor(b1))
        l2.weight.copy_(torch.tensor(W2)), l2.bias.copy_(torch.tensor(b2))
        stacked = l2(l1(x)).numpy()
    np.testing.assert_allclose(x.numpy() @ W.T + b, stacked, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="chain"):
        limits.collapse_linear(W1, b1, W2.T, b2)


def test_linear_separability_xor_and_and():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    sep, w = limits.is_linearly_separable(X, np.array([0, 1, 1, 0]))
    assert not sep and w is None
    y_and = np.array([0, 0, 0, 1])
    sep, w = limits.is_linearly_separable(X, y_and)
    assert sep
    s = np.where(y_and == 1, 1.0, -1.0)
    assert np.all(s * (X @ w[:2] + w[2]) >= 1 - 1e-9)  # the certificate really separates
    assert limits.best_linear_accuracy(X, np.array([0, 1, 1, 0])) == 0.75  # 3 of 4 at best
    assert limits.best_linear_accuracy(X, y_and) == 1.0


def test_linear_separability_random_planted_hyperplane():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((60, 3))
    margin = X @ np.array([1.0, -2.0, 0.5]) + 0.3
    keep = np.abs(margin) > 0.1
    sep, _ = limits.is_linearly_separable(X[keep], (margin[keep] > 0).astype(int))
    assert sep
    y = (margin > 0).astype(int)
    y[np.argmax(margin)] = 0  # the most positive point mislabelled: no hyperplane can fit it
    X2 = np.vstack([X, X[np.argmax(margin)]])
    y2 = np.append(y, 1)  # the same point with both labels
    assert not limits.is_linearly_separable(X2, y2)[0]
    with pytest.raises(ValueError, match="two classes"):
        limits.is_linearly_separable(X, np.zeros(60))


def test_flatten_unflatten_round_trip():
    p = two_layer.init_two_layer(3, 4, 2, rng=0)
    theta, spec = two_layer.flatten_params(p)
    assert theta.shape == (3 * 4 + 4 + 4 * 2 + 2,)
    back = two_layer.unflatten_params(theta, spec)
    for k in two_layer.PARAM_NAMES:
        np.testing.assert_array_equal(back[k], p[k])
    with pytest.raises(ValueError, match="entries"):
        two_layer.unflatten_params(theta[:-1], spec)


class _Counter:
    def __init__(self, f):
        self.f, self.calls = f, 0

    def __call__(self, theta):
        self.calls += 1
        return self.f(theta)


@pytest.mark.parametrize("mode", ["one", "all"])
def test_perturbation_learning_reduces_loss_and_counts_passes(mode):
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0])
    theta0, spec = two_layer.flatten_params(two_layer.init_two_layer(2, 3, rng=0, std=1.0))
    loss_fn, _ = two_layer.two_layer_objective(X, y, spec)
    counted = _Counter(loss_fn)
    theta, hist = limits.perturbation_learning(counted, theta0, step=0.5, max_forward=300, mode=mode, rng=1)
    assert counted.calls == 300 == hist.forward[-1]  # every trial is one forward pass
    assert hist.forward == list(range(1, 301))
    assert all(b == 0 for b in hist.backward)  # never a backward pass
    assert hist.loss[0] == pytest.approx(loss_fn(theta0))
    assert np.all(np.diff(hist.loss) <= 0)  # only improvements are kept
    assert hist.loss[-1] < 0.9 * hist.loss[0]
    assert hist.loss[-1] == pytest.approx(loss_fn(theta))
    _, again = limits.perturbation_learning(loss_fn, theta0, step=0.5, max_forward=300, mode=mode, rng=1)
    assert again.loss == hist.loss  # reproducible for a seed


def test_gradient_descent_on_a_quadratic_matches_closed_form_and_counts_passes():
    # L(θ) = ½|θ|², ∇L = θ: gradient descent gives θ_k = (1 − α)^k θ_0 exactly.
    counted = _Counter(lambda th: (0.5 * float(th @ th), th.copy()))
    theta0 = np.array([3.0, -4.0])
    theta, hist = limits.gradient_descent(counted, theta0, lr=0.1, steps=20)
    np.testing.assert_allclose(theta, 0.9**20 * theta0, rtol=1e-12)
    assert counted.calls == 21
    assert hist.forward == list(range(1, 22)) and hist.backward == list(range(0, 21))
    np.testing.assert_allclose(hist.loss, [0.5 * 25.0 * 0.81**k for k in range(21)], rtol=1e-12)
    np.testing.assert_array_equal(hist.cost(2.0), np.arange(1, 22) + 2 * np.arange(0, 21))
    # first k with 12.5 · 0.81^k ≤ 1 is k = 12: 13 forward + 12 backward passes
    assert hist.cost_to_reach(1.0, backward_cost=2.0) == 13 + 2 * 12
    assert hist.cost_to_reach(-1.0) == float("inf")


def test_gradient_descent_beats_perturbation_on_a_wide_network():
    # 10 inputs, 40 hidden units (481 weights): a random perturbation rarely helps, a gradient always does.
    rng = np.random.default_rng(8)
    X = rng.standard_normal((100, 10))
    y = (X[:, 0] * X[:, 1] + X[:, 2] > 0).astype(int)
    theta0, spec = two_layer.flatten_params(two_layer.init_two_layer(10, 40, rng=0))
    loss_fn, loss_and_grad = two_layer.two_layer_objective(X, y, spec)
    _, gd = limits.gradient_descent(loss_and_grad, theta0, lr=1.0, steps=60)
    target = gd.loss[-1]
    _, pert = limits.perturbation_learning(loss_fn, theta0, step=0.5, max_forward=1000, mode="all", rng=0)
    assert pert.cost_to_reach(target) > 5 * gd.cost_to_reach(target)


def test_learner_argument_checks():
    with pytest.raises(ValueError, match="mode"):
        limits.perturbation_learning(lambda t: 0.0, np.zeros(2), mode="some")
    with pytest.raises(ValueError, match="step"):
        limits.perturbation_learning(lambda t: 0.0, np.zeros(2), step=0.0)
    with pytest.raises(ValueError, match="lr"):
        limits.gradient_descent(lambda t: (0.0, t), np.zeros(2), lr=-1.0, steps=3)
    with pytest.raises(FloatingPointError, match="grad"):
        limits.gradient_descent(lambda t: (0.0, t + np.nan), np.zeros(2), lr=1.0, steps=3)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
def test_scalar_loss_matches_matrix_loss_and_both_autodiff_modes(activation):
    from dlcourse import autodiff
    from dlcourse.models import two_layer

    rng = np.random.default_rng(9)
    X, y = rng.standard_normal((5, 2)), np.array([0, 1, 1, 0, 1])
    params = two_layer.init_two_layer(2, 3, rng=rng, std=1.0)
    params["b1"] = rng.standard_normal(3)
    theta, _ = two_layer.flatten_params(params)
    _, grads = two_layer.two_layer_grads(params, X, y, activation=activation)

    def f(t):
        return two_layer.scalar_two_layer_loss(t, X, y, 3, activation=activation)

    rev = autodiff.gradient(f, theta, mode="reverse")
    fwd = autodiff.gradient(f, theta, mode="forward")
    assert rev.value == pytest.approx(two_layer.two_layer_loss(params, X, y, activation=activation), rel=1e-12)
    np.testing.assert_allclose(rev.grad, two_layer.flatten_params(grads)[0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fwd.grad, two_layer.flatten_params(grads)[0], rtol=1e-9, atol=1e-12)
    assert (rev.passes, fwd.passes) == (1, theta.size)  # one sweep vs one pass per weight
    with pytest.raises(ValueError, match="entries"):
        two_layer.scalar_two_layer_loss(list(theta)[:-1], X, y, 3)
