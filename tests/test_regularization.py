"""Penalties (finite differences, torch autograd, torch's weight decay), GaussianNoise,
EarlyStopping (restores the best weights) and the shift augmentation (scipy.ndimage oracle)."""

import numpy as np
import pytest
import scipy.ndimage
import torch

from dlcourse import nn
from dlcourse import regularization as R
from dlcourse.gradcheck import numerical_gradient


@pytest.fixture
def w():
    # entries bounded away from 0, where |w| is differentiable
    rng = np.random.default_rng(0)
    w = rng.normal(size=(4, 5))
    return np.where(np.abs(w) < 0.05, 0.5, w)


@pytest.mark.parametrize(
    "penalty",
    [
        lambda w: R.l1_penalty(w, 0.3),
        lambda w: R.l2_penalty(w, 0.7),
        lambda w: R.elastic_net_penalty(w, 0.3, 0.7),
    ],
)
def test_penalty_gradients_pass_finite_differences(penalty, w):
    value, grad = penalty(w)
    np.testing.assert_allclose(grad, numerical_gradient(lambda v: penalty(v)[0], w.copy(), h=1e-6), rtol=1e-7, atol=1e-9)


def test_penalty_values_equal_torch_autograd(w):
    wt = torch.tensor(w, requires_grad=True)
    l1, l2 = 0.3, 0.7
    ref = l1 * wt.abs().sum() + 0.5 * l2 * (wt**2).sum()
    ref.backward()
    value, grad = R.elastic_net_penalty(w, l1, l2)
    assert value == pytest.approx(ref.item(), rel=1e-14)
    np.testing.assert_allclose(grad, wt.grad.numpy(), rtol=1e-14)
    assert R.l1_penalty(np.zeros(3), 1.0)[1].tolist() == [0.0, 0.0, 0.0]  # subgradient 0 at 0, like torch


def test_l2_penalty_is_weight_decay():
    # θ ← θ − ε(∇L + λθ) = (1 − λε)θ − ε∇L, and torch.optim.SGD(weight_decay=λ) does the same
    rng = np.random.default_rng(1)
    theta, grad_loss = rng.normal(size=6), rng.normal(size=6)
    lam, lr = 0.1, 0.05
    _, g_pen = R.l2_penalty(theta, lam)
    ours = theta - lr * (grad_loss + g_pen)
    np.testing.assert_allclose(ours, (1 - lam * lr) * theta - lr * grad_loss, rtol=1e-14)
    p = torch.nn.Parameter(torch.tensor(theta))
    p.grad = torch.tensor(grad_loss)
    torch.optim.SGD([p], lr=lr, weight_decay=lam).step()
    np.testing.assert_allclose(ours, p.detach().numpy(), rtol=1e-14)


def test_weight_penalty_skips_biases_and_accumulates_gradients():
    lin = nn.Linear(3, 2, rng=0)
    lin.weight.grad = np.ones((2, 3))
    pen = R.WeightPenalty(l1=0.1, l2=0.2)
    value = pen(lin.parameters())
    expected_value, expected_grad = R.elastic_net_penalty(lin.weight.data, 0.1, 0.2)
    assert value == pytest.approx(expected_value)
    np.testing.assert_allclose(lin.weight.grad, 1.0 + expected_grad)
    np.testing.assert_array_equal(lin.bias.grad, np.zeros(2))  # the bias is not penalised
    lin.bias.data[:] = 1.0
    assert R.WeightPenalty(l2=2.0, include_1d=True)(lin.parameters()) > R.WeightPenalty(l2=2.0)(lin.parameters())


def test_soft_threshold():
    np.testing.assert_array_equal(R.soft_threshold(np.array([-3.0, -0.5, 0.0, 0.2, 2.0]), 1.0), [-2.0, 0.0, 0.0, 0.0, 1.0])


def test_penalty_bad_inputs():
    with pytest.raises(ValueError, match="lam"):
        R.l2_penalty(np.ones(3), -1.0)
    with pytest.raises(TypeError, match="numeric"):
        R.l1_penalty(np.array(["x"]), 1.0)


def test_gaussian_noise_train_only():
    x = np.full((400, 500), 2.0)
    layer = nn.GaussianNoise(0.5, rng=0)
    out = layer.forward(x)
    noise = out - x
    assert abs(noise.mean()) < 5 * 0.5 / np.sqrt(x.size)
    assert abs(noise.std() - 0.5) < 0.01
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), np.ones_like(x))
    layer.eval()
    np.testing.assert_array_equal(layer.forward(x), x)
    with pytest.raises(ValueError, match="std"):
        nn.GaussianNoise(-1.0)


def test_early_stopping_counts_patience_and_keeps_best_value():
    es = R.EarlyStopping(patience=2)
    values = [1.0, 0.8, 0.9, 0.7, 0.75, 0.71, 0.6]
    stops = [es.step(v) for v in values[:6]]
    assert stops == [False, False, False, False, False, True]
    assert es.best_epoch == 3 and es.best_value == 0.7
    es_delta = R.EarlyStopping(patience=1, min_delta=0.15)
    assert [es_delta.step(v) for v in [1.0, 0.9]] == [False, True]  # 0.1 < min_delta: no improvement
    es_max = R.EarlyStopping(patience=3, mode="max")
    for v in [0.5, 0.9, 0.8, float("nan"), 0.85]:
        es_max.step(v)
    assert es_max.best_epoch == 1 and es_max.stopped


def test_early_stopping_restores_the_best_weights():
    model = nn.Sequential(nn.Linear(2, 3, rng=0), nn.BatchNorm1d(3))
    es = R.EarlyStopping(patience=3)
    snapshots = []
    for val in [3.0, 2.0, 2.5, 2.6, 2.7]:
        for p in model.parameters():
            p.data += 1.0  # a fake training step changes every weight
        model[1].running_mean += 1.0
        snapshots.append(model.state_dict())
        stop = es.step(val, model)
    assert stop and es.best_epoch == 1
    es.restore(model)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, snapshots[1][name])
    with pytest.raises(RuntimeError, match="no best state"):
        R.EarlyStopping().restore(model)
    with pytest.raises(ValueError, match="mode"):
        R.EarlyStopping(mode="lowest")
    with pytest.raises(ValueError, match="patience"):
        R.EarlyStopping(patience=0)


@pytest.mark.parametrize("dy,dx", [(1, 0), (0, -1), (-2, 1), (3, 3), (0, 0)])
def test_shift_images_equals_scipy_shift(dy, dx):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 17, size=(3, 8, 8)).astype(float)
    ours = R.shift_images(imgs.reshape(3, 64), dy, dx)
    ref = np.stack([scipy.ndimage.shift(im, (dy, dx), order=0, mode="constant", cval=0.0) for im in imgs])
    np.testing.assert_array_equal(ours.reshape(3, 8, 8), ref)


def test_augment_with_shifts():
    rng = np.random.default_rng(1)
    X, y = rng.uniform(size=(10, 64)), np.arange(10)
    Xa, ya = R.augment_with_shifts(X, y, copies=2, max_shift=1, rng=rng)
    assert Xa.shape == (30, 64) and ya.tolist() == list(range(10)) * 3
    np.testing.assert_array_equal(Xa[:10], X)
    # each copy is one of the 9 shifts of its original
    for i in range(10, 30):
        src = X[i % 10].reshape(8, 8)
        candidates = [R.shift_images(src[None], a, b)[0] for a in (-1, 0, 1) for b in (-1, 0, 1)]
        assert any(np.array_equal(Xa[i].reshape(8, 8), c) for c in candidates)
    with pytest.raises(ValueError, match="square"):
        R.shift_images(np.zeros((2, 10)), 1, 1)
    with pytest.raises(ValueError, match="same number of rows"):
        R.augment_with_shifts(X, y[:5])
