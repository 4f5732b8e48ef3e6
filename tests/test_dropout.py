"""Dropout: statistics of the masks, the inverted and standard variants, backward by finite differences."""

import numpy as np
import pytest
import torch

from dlcourse import functional as F
from dlcourse import nn
from dlcourse.gradcheck import numerical_gradient


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_zeroes_the_expected_fraction(p):
    x = np.ones(200_000)
    out, _ = F.dropout_forward(x, p, training=True, rng=np.random.default_rng(0))
    frac = np.mean(out == 0)
    se = np.sqrt(p * (1 - p) / x.size)  # binomial standard error of the fraction
    assert abs(frac - p) < 5 * se
    np.testing.assert_allclose(out[out != 0], 1 / (1 - p), rtol=1e-15)  # survivors scaled by 1/(1−p)


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_inverted_dropout_keeps_the_activation_in_expectation(p):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(20,)) * 3
    draws = 20_000
    outs = np.stack([F.dropout_forward(x, p, True, rng)[0] for _ in range(draws)])
    se = np.abs(x) * np.sqrt(p / (1 - p)) / np.sqrt(draws)  # sd of x·m/(1−p) over √draws
    assert np.all(np.abs(outs.mean(0) - x) < 5 * se + 1e-12)
    test_out, _ = F.dropout_forward(x, p, training=False)
    np.testing.assert_array_equal(test_out, x)  # identity at test time


def test_standard_dropout_scales_at_test_time():
    # the two-input example of the Sharif lecture (version B, see docs/references.md): E[w1 x1 m1 + w2 x2 m2] = (1 − p)(w1 x1 + w2 x2) = test output
    p, w, x = 0.5, np.array([2.0, -1.0]), np.array([1.5, 4.0])
    rng = np.random.default_rng(2)
    draws = 40_000
    ys = np.array([w @ F.standard_dropout_forward(x, p, True, rng)[0] for _ in range(draws)])
    y_test = w @ F.standard_dropout_forward(x, p, False)[0]
    assert y_test == pytest.approx(0.5 * (w @ x))
    # exact distribution: 4 equally likely masks, variance = E[y²] − E[y]²
    values = np.array([w @ (x * m) for m in ([1, 1], [1, 0], [0, 1], [0, 0])])
    assert values.mean() == pytest.approx(y_test)
    assert abs(ys.mean() - y_test) < 5 * values.std() / np.sqrt(draws)
    train_out, _ = F.standard_dropout_forward(x, p, True, np.random.default_rng(3))
    assert set(np.unique(train_out / x)) <= {0.0, 1.0}  # no rescaling while training


@pytest.mark.parametrize("inverted", [True, False])
@pytest.mark.parametrize("train", [True, False])
def test_backward_matches_finite_differences(inverted, train):
    rng = np.random.default_rng(4)
    x, dout = rng.normal(size=(5, 6)), rng.normal(size=(5, 6))

    def loss():
        out, _ = F.dropout_forward(x, 0.4, train, np.random.default_rng(9), inverted=inverted)
        return float(np.sum(out * dout))

    _, cache = F.dropout_forward(x, 0.4, train, np.random.default_rng(9), inverted=inverted)
    dx = F.dropout_backward(dout, cache)
    numeric = numerical_gradient(lambda _: loss(), x, h=1e-6)  # loss() reads x, perturbed in place
    np.testing.assert_allclose(dx, numeric, rtol=1e-7, atol=1e-9)


def test_module_backward_equals_torch_given_the_same_mask():
    rng = np.random.default_rng(5)
    x, dout = rng.normal(size=(8, 10)), rng.normal(size=(8, 10))
    layer = nn.Dropout(0.3, rng=11)
    out = layer.forward(x)
    dx = layer.backward(dout)
    mask = torch.from_numpy((out != 0).astype(np.float64))
    xt = torch.tensor(x, requires_grad=True)
    (xt * mask / 0.7).backward(torch.from_numpy(dout))  # the inverted-dropout graph, mask fixed
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-15)
    np.testing.assert_allclose(out, (xt * mask / 0.7).detach().numpy(), rtol=1e-15)


def test_module_modes_and_edge_cases():
    x = np.arange(1.0, 13.0).reshape(3, 4)
    layer = nn.Dropout(0.5, rng=0)
    assert layer.parameters() == []
    layer.eval()
    np.testing.assert_array_equal(layer.forward(x), x)
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), np.ones_like(x))
    layer.train()
    assert np.any(layer.forward(x) == 0)
    np.testing.assert_array_equal(nn.Dropout(0.0).forward(x), x)
    np.testing.assert_array_equal(nn.Dropout(1.0, rng=0).forward(x), np.zeros_like(x))  # torch: all zeros
    same_a = nn.Dropout(0.5, rng=3).forward(x)
    same_b = nn.Dropout(0.5, rng=3).forward(x)
    np.testing.assert_array_equal(same_a, same_b)  # the rng alone decides the mask


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="dropout probability"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError, match="dropout probability"):
        F.dropout_forward(np.ones(3), -0.1)
    with pytest.raises(TypeError, match="rng"):
        nn.Dropout(0.5, rng="seed")
    with pytest.raises(RuntimeError, match="before forward"):
        nn.Dropout(0.5).backward(np.ones(3))
    _, cache = F.dropout_forward(np.ones((2, 3)), 0.5, True, np.random.default_rng(0))
    with pytest.raises(ValueError, match="shape"):
        F.dropout_backward(np.ones((3, 2)), cache)
    with pytest.raises(TypeError, match="numeric"):
        F.dropout_forward(np.array(["a"]), 0.5)


# --- dropout_backward names what it refuses --------------------------------------------------


def _names(exc: pytest.ExceptionInfo, *names: str) -> bool:
    """Each of ``names`` appears in the message as a word of its own."""
    import re

    return all(re.search(rf"(?<![\w]){re.escape(n)}(?![\w])", str(exc.value)) for n in names)


def test_dropout_backward_names_dout_and_itself_when_refusing_it():
    x = np.ones((3, 4))
    _, identity = F.dropout_forward(x, 0.5, training=False)  # inverted, test time: no mask
    with pytest.raises(TypeError) as exc:
        F.dropout_backward(np.array(["a"]), identity)
    assert _names(exc, "dout"), str(exc.value)
    _, masked = F.dropout_forward(x, 0.5, rng=0)
    with pytest.raises(TypeError) as exc:
        F.dropout_backward(np.ones((3, 4), np.float32), masked)
    assert _names(exc, "dropout_backward", "dout"), str(exc.value)


def test_dropout_keeps_float32_forward_and_backward():
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    out, cache = F.dropout_forward(x, 0.3, rng=1)
    dx = F.dropout_backward(np.ones_like(x), cache)
    assert out.dtype == dx.dtype == np.float32
    np.testing.assert_array_equal(dx, cache[0])  # d(x·scale)/dx = scale


def test_dropout_defaults_are_torchs_and_its_variant_passes_everything_through():
    import inspect

    assert inspect.signature(torch.nn.functional.dropout).parameters["p"].default == 0.5
    x = np.random.default_rng(0).normal(size=(50, 40))
    default, _ = F.dropout_forward(x, rng=3)  # p = 0.5, training
    np.testing.assert_array_equal(default, F.dropout_forward(x, 0.5, True, 3)[0])
    assert 0.3 < np.mean(default == 0.0) < 0.7
    standard, _ = F.standard_dropout_forward(x, rng=3)
    np.testing.assert_array_equal(standard, F.dropout_forward(x, 0.5, True, np.random.default_rng(3), inverted=False)[0])
    np.testing.assert_array_equal(F.standard_dropout_forward(x, 0.2, False)[0], 0.8 * x)  # test time: (1 − p) x


def test_dropout_with_p_1_drops_every_unit_and_p_0_draws_nothing():
    x = np.random.default_rng(0).normal(size=(4, 3))
    for inverted in (True, False):
        out, _ = F.dropout_forward(x, 1.0, rng=0, inverted=inverted)
        assert out.dtype == x.dtype and out.shape == x.shape and not np.any(out)
    gen = np.random.default_rng(5)
    state = gen.bit_generator.state
    out, cache = F.dropout_forward(x, 0.0, rng=gen)
    np.testing.assert_array_equal(out, x)
    assert cache == (None,) and gen.bit_generator.state == state  # no mask needed, none drawn


def test_a_unit_is_kept_when_its_uniform_draw_equals_p():
    # keep ⇔ u ≥ p gives P(keep) = 1 − p exactly for u on the generator's grid
    x = np.ones((3, 5))
    u = np.random.default_rng(9).random(x.shape)
    p = float(u[0, 0])
    out, _ = F.dropout_forward(x, p, rng=np.random.default_rng(9))
    assert out[0, 0] == pytest.approx(1.0 / (1.0 - p))


def test_dropout_names_x_and_p_when_refusing_them():
    with pytest.raises(TypeError) as exc:
        F.dropout_forward(np.array(["a"]), 0.5)
    assert _names(exc, "x"), str(exc.value)
    with pytest.raises(ValueError) as exc:
        F.dropout_forward(np.ones(3), 1.5)
    assert _names(exc, "p"), str(exc.value)
    assert "dropout probability" in str(exc.value)
