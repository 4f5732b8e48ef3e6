"""dlcourse.lecture.depth: closed forms (the identity network), the shape rules of the ESIR
lecture, torch autograd (the 50-layer chain), and both backends of the paper reproductions."""

import numpy as np
import pytest
import torch

from dlcourse import data, init
from dlcourse.lecture import depth


def test_identity_network_closed_form():
    x = np.array([0.3, -1.2])
    for s in (1.5, 0.5):
        r = depth.identity_network(s, 12, x)
        L = r["depths"]
        np.testing.assert_allclose(r["y"], s ** (L - 1) * x.sum(), rtol=1e-12)
        # ∂ŷ/∂W^[1] = s^{L−2} [1, 1]ᵀ xᵀ, Frobenius norm s^{L−2} √2 ‖x‖
        np.testing.assert_allclose(r["grad_W1"][1:], s ** (L[1:] - 2) * np.sqrt(2) * np.linalg.norm(x), rtol=1e-12)
        assert np.isnan(r["grad_W1"][0])


def test_dimension_table_follows_the_rules():
    sizes, m = [2, 3, 5, 4, 2, 1], 7
    table = depth.dimension_table(sizes, m=m)
    assert len(table) == 5
    for l, row in enumerate(table, start=1):
        n, n_prev = sizes[l], sizes[l - 1]
        assert row["W"] == row["dW"] == (n, n_prev)
        assert row["b"] == row["db"] == (n, 1)
        assert row["Z"] == row["A"] == row["dZ"] == row["dA"] == (n, m)


def test_pascanu_chain_gradient_equals_torch_autograd():
    rng = np.random.default_rng(0)
    w, b = rng.uniform(-5, 15, 6), rng.uniform(-10, 5, 6)
    J, dw, db = depth.pascanu_chain(w, b)
    wt, bt = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)
    x = torch.full_like(wt, 0.5)
    for _ in range(50):
        x = wt * torch.sigmoid(x) + bt
    Jt = (x - 0.7) ** 2
    Jt.sum().backward()
    np.testing.assert_allclose(J, Jt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(dw, wt.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(db, bt.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_chain_descent_clips_by_norm():
    free = depth.chain_descent((7.0, -3.5), lr=0.01, steps=60)
    clipped = depth.chain_descent((7.0, -3.5), lr=0.01, steps=60, clip_norm=10.0)
    assert clipped["step_len"].max() <= 0.01 * 10.0 + 1e-12
    assert free["step_len"].max() > 10 * clipped["step_len"].max()
    np.testing.assert_allclose(np.linalg.norm(np.diff(clipped["path"], axis=0), axis=1), clipped["step_len"], rtol=1e-12)
    J0 = depth.pascanu_chain(7.0, -3.5)[0]
    assert clipped["loss"][0] == pytest.approx(float(J0))


def test_glorot_standard_uniform_variance():
    w = depth.glorot_standard_uniform((400, 300), rng=0)
    assert np.abs(w).max() <= 1 / np.sqrt(300)
    assert w.var() == pytest.approx(1 / (3 * 300), rel=0.03)


@pytest.fixture(scope="module")
def digits_small():
    X, y = data.digits()
    X = data.Standardizer().fit(X).transform(X)
    return X[:200], y[:200]


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_depth_run_backends(digits_small, backend):
    X, y = digits_small
    xav = depth.depth_run(12, 16, "xavier_normal", X, y, (X, y), epochs=2, lr=0.02, batch_size=50, backend=backend)
    assert len(xav.loss) == 3 and len(xav.val_accuracy) == 2
    assert xav.loss[0] == pytest.approx(np.log(10), abs=0.02)  # zero biases, tiny logits: ln 10
    assert ("cpu" in xav.device) == (backend == "numpy" or not torch.cuda.is_available())


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_saturation_run_backends(digits_small, backend):
    X, y = digits_small
    r = depth.saturation_run([64, 20, 20, 10], X, y, (X, y), epochs=2, record_every=10, backend=backend)
    assert r.mean.shape == r.std.shape == (len(r.steps), 2)
    assert r.steps[0] == 0 and list(np.diff(r.steps)) == [10] * (len(r.steps) - 1)
    assert np.all((r.mean > 0) & (r.mean < 1))  # sigmoid outputs
    np.testing.assert_allclose(r.mean[0], 0.5, atol=0.05)  # zero biases, small weights: σ ≈ ½ at the start


def test_saturation_backends_agree_at_the_start(digits_small):
    X, y = digits_small
    a = depth.saturation_run([64, 20, 10], X, y, epochs=1, record_every=1000, backend="numpy")
    b = depth.saturation_run([64, 20, 10], X, y, epochs=1, record_every=1000, backend="torch")
    np.testing.assert_allclose(a.mean[0], b.mean[0], rtol=1e-5)  # same weights (float32 vs float64)


def test_bad_input():
    with pytest.raises(ValueError, match="shape"):
        depth.identity_network(1.5, 3, np.zeros(3))
    with pytest.raises(ValueError, match="backend"):
        depth.depth_run(3, 4, "he_normal", np.zeros((4, 2)), np.zeros(4, int), backend="jax")
    with pytest.raises(ValueError, match="start"):
        depth.chain_descent((1.0, 2.0, 3.0))
    assert init.get("he_normal") is not None
