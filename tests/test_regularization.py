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


# --- messages, zero strengths, several parameters, EarlyStopping's edges,
# --- the shift augmentation's defaults and boundaries ------------------------------------------


def _names(exc: pytest.ExceptionInfo, *names: str) -> bool:
    """Each of ``names`` appears in the message as a word of its own."""
    import re

    return all(re.search(rf"(?<![\w]){re.escape(n)}(?![\w])", str(exc.value)) for n in names)


_TEXT = np.array(["a", "b"])


@pytest.mark.parametrize("fn, strength", [(R.l2_penalty, "lam"), (R.l1_penalty, "lam"), (R.soft_threshold, "t")])
def test_penalties_name_a_bad_weight_or_strength_and_accept_zero_strength(fn, strength):
    with pytest.raises(TypeError) as exc:
        fn(_TEXT, 0.1)
    assert _names(exc, "w"), str(exc.value)
    with pytest.raises(ValueError) as exc:
        fn(np.ones(2), -0.1)
    assert _names(exc, strength), str(exc.value)
    w = np.array([-2.0, 0.0, 3.0])
    if fn is R.soft_threshold:
        np.testing.assert_array_equal(fn(w, 0.0), w)  # threshold 0: the identity
    else:
        value, grad = fn(w, 0.0)
        assert value == 0.0 and not np.any(grad)


def test_weight_penalty_defaults_to_no_penalty_and_names_a_bad_strength():
    lin = nn.Linear(3, 2)
    before = [p.grad.copy() for p in lin.parameters()]
    assert R.WeightPenalty()(lin.parameters()) == 0.0
    for p, g in zip(lin.parameters(), before, strict=True):
        np.testing.assert_array_equal(p.grad, g)
    for name in ("l1", "l2"):
        with pytest.raises(ValueError) as exc:
            R.WeightPenalty(**{name: -1.0})
        assert _names(exc, name), str(exc.value)


def test_weight_penalty_sums_over_every_matrix_after_a_skipped_bias():
    rng = np.random.default_rng(0)
    params = [nn.Parameter(rng.normal(size=3)), nn.Parameter(rng.normal(size=(2, 3))), nn.Parameter(rng.normal(size=(3, 2)))]
    l1, l2 = 0.3, 0.7
    total = R.WeightPenalty(l1=l1, l2=l2)(params)
    expected = sum(l1 * np.abs(p.data).sum() + 0.5 * l2 * (p.data**2).sum() for p in params[1:])
    assert total == pytest.approx(expected, rel=1e-12)
    assert not np.any(params[0].grad)  # the 1-D bias is skipped ...
    for p in params[1:]:  # ... and every matrix after it is penalised
        np.testing.assert_allclose(p.grad, l1 * np.sign(p.data) + l2 * p.data, rtol=1e-12)


def test_early_stopping_default_patience_is_five_bad_epochs():
    es = R.EarlyStopping()
    assert es.step(1.0) is False
    assert [es.step(2.0) for _ in range(5)] == [False, False, False, False, True]


def test_early_stopping_starts_and_resets_to_a_blank_state():
    fresh = R.EarlyStopping(patience=2)
    blank = (None, None, None, -1, 0, False)
    state = lambda es: (es.best_value, es.best_epoch, es.best_state, es.epoch, es.num_bad_epochs, es.stopped)  # noqa: E731
    assert state(fresh) == blank and fresh.stopped is False and fresh.num_bad_epochs == 0
    model = nn.Linear(2, 1)
    for v in (1.0, 2.0, 3.0):
        fresh.step(v, model)
    assert fresh.stopped
    fresh.reset()
    assert state(fresh) == blank and fresh.stopped is False
    assert fresh.step(5.0) is False and fresh.best_epoch == 0  # counts from epoch 0 again


@pytest.mark.parametrize("mode, first, tie", [("min", 1.0, 1.0), ("max", 0.8, 0.8)])
def test_a_tie_is_not_an_improvement_in_either_mode(mode, first, tie):
    es = R.EarlyStopping(patience=3, mode=mode)
    es.step(first)
    es.step(tie)
    assert (es.best_epoch, es.num_bad_epochs) == (0, 1)


def test_max_mode_needs_more_than_min_delta_above_the_best():
    es = R.EarlyStopping(patience=3, min_delta=0.5, mode="max")
    es.step(1.0)
    es.step(1.2)  # better, but not by more than min_delta
    es.step(1.5)  # exactly best + min_delta: still not
    assert (es.best_value, es.num_bad_epochs) == (1.0, 2)
    es.step(1.6)
    assert (es.best_value, es.best_epoch, es.num_bad_epochs) == (1.6, 3, 0)


def test_early_stopping_names_a_bad_min_delta_and_restore_says_what_is_missing():
    with pytest.raises(ValueError) as exc:
        R.EarlyStopping(min_delta=-0.1)
    assert _names(exc, "min_delta"), str(exc.value)
    with pytest.raises(RuntimeError, match=r"^EarlyStopping\.restore: no best state recorded"):
        R.EarlyStopping().restore(nn.Linear(2, 1))


def _expected_shifts(X, max_shift, seed, image_shape):
    """What the augmentation must produce: dy, then dx, drawn uniformly from one generator."""
    rng = np.random.default_rng(seed)
    n = X.shape[0]
    dy = rng.integers(-max_shift, max_shift + 1, size=n)
    dx = rng.integers(-max_shift, max_shift + 1, size=n)
    return R.shift_images(X, dy, dx, image_shape)


def test_random_shifts_default_to_one_pixel_drawn_per_image_from_the_given_rng():
    X = np.random.default_rng(5).normal(size=(40, 12))  # flattened 3 × 4 images (not square)
    out = R.random_shifts(X, rng=np.random.default_rng(9), image_shape=(3, 4))
    np.testing.assert_array_equal(out, _expected_shifts(X, 1, 9, (3, 4)))
    out3 = R.random_shifts(X, 2, np.random.default_rng(9), (3, 4))
    np.testing.assert_array_equal(out3, _expected_shifts(X, 2, 9, (3, 4)))
    np.testing.assert_array_equal(R.random_shifts(X, 0, rng=0, image_shape=(3, 4)), X)  # max_shift 0: no shift
    for bad in (-1, 1.5):
        with pytest.raises(ValueError) as exc:
            R.random_shifts(X, bad, image_shape=(3, 4))
        assert _names(exc, "max_shift"), str(exc.value)


def test_augment_with_shifts_defaults_to_one_copy_shifted_by_at_most_one_pixel():
    X = np.random.default_rng(6).normal(size=(30, 12))
    y = np.arange(30)
    Xa, ya = R.augment_with_shifts(X, y, rng=4, image_shape=(3, 4))
    np.testing.assert_array_equal(Xa, np.concatenate([X, _expected_shifts(X, 1, 4, (3, 4))]))
    np.testing.assert_array_equal(ya, np.concatenate([y, y]))
    X3, y3 = R.augment_with_shifts(X.reshape(30, 3, 4), y, copies=2, rng=4)  # (N, H, W) images too
    assert X3.shape == (90, 3, 4) and y3.shape == (90,)
    X0, y0 = R.augment_with_shifts(X, y, copies=0, image_shape=(3, 4))  # no copies: the data unchanged
    np.testing.assert_array_equal(X0, X)
    np.testing.assert_array_equal(y0, y)


def test_augment_with_shifts_names_what_is_wrong():
    X, y = np.zeros((4, 9)), np.zeros(4)
    for bad in (-1, 1.5):
        with pytest.raises(ValueError, match="copies") as exc:
            R.augment_with_shifts(X, y, copies=bad)
        assert _names(exc, "copies"), str(exc.value)
    with pytest.raises(ValueError) as exc:
        R.augment_with_shifts(np.zeros(9), np.zeros(9))
    assert _names(exc, "X"), str(exc.value)
    with pytest.raises(ValueError) as exc:
        R.augment_with_shifts(X, np.zeros(3))
    assert _names(exc, "X", "y", "4", "3"), str(exc.value)


def test_shift_images_names_bad_images_and_a_wrong_image_shape():
    with pytest.raises(ValueError) as exc:
        R.shift_images(np.zeros(5), 0, 0)
    assert _names(exc, "images"), str(exc.value)
    with pytest.raises(ValueError) as exc:
        R.shift_images(np.zeros((2, 12)), 0, 0, image_shape=(3, 5))
    assert _names(exc, "image_shape", "12"), str(exc.value)


def test_an_image_shifted_far_out_of_the_frame_is_blank_and_the_next_one_is_still_shifted():
    imgs = np.arange(2 * 4 * 5, dtype=float).reshape(2, 4, 5) + 1.0
    out = R.shift_images(imgs, [6, 1], [0, 0])  # 6 > H = 4 rows down: nothing left
    assert not np.any(out[0])
    np.testing.assert_array_equal(out[1], scipy.ndimage.shift(imgs[1], (1, 0), order=0, cval=0.0))
    out = R.shift_images(imgs, [0, 0], [-7, 0])  # 7 > W = 5 columns left
    assert not np.any(out[0])
    np.testing.assert_array_equal(out[1], imgs[1])
