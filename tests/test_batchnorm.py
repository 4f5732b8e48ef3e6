"""BatchNorm1d/2d and the functional forms against torch.nn.BatchNorm1d/2d (float64) and finite differences."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcourse import functional as F
from dlcourse import nn
from dlcourse.gradcheck import numerical_gradient, rel_error

TOL = 1e-10


def finite_diff(f, x, h=1e-6):
    """Central differences of the no-argument scalar f, which reads x (perturbed in place)."""
    return numerical_gradient(lambda _: f(), x, h=h)


def _pair(cls_ours, cls_torch, c, momentum, rng):
    ours = cls_ours(c, momentum=momentum)
    ref = cls_torch(c, momentum=momentum, dtype=torch.float64)
    gamma, beta = rng.normal(1.0, 0.5, c), rng.normal(0.0, 0.5, c)
    ours.gamma.data[:] = gamma
    ours.beta.data[:] = beta
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(gamma))
        ref.bias.copy_(torch.from_numpy(beta))
    return ours, ref


def _compare_steps(ours, ref, shape, rng, steps=4):
    """Several train steps then eval steps: outputs, dx, dγ, dβ and running statistics."""
    for mode in ["train"] * steps + ["eval"] * 2:
        ours.train(mode == "train")
        ref.train(mode == "train")
        x = rng.normal(rng.uniform(-3, 3), rng.uniform(0.5, 4), size=shape)  # shifted, scaled batches
        dout = rng.normal(size=shape)
        ours.zero_grad()
        out = ours.forward(x)
        dx = ours.backward(dout)
        xt = torch.tensor(x, requires_grad=True)
        out_t = ref(xt)
        out_t.backward(torch.from_numpy(dout))
        assert rel_error(out, out_t.detach().numpy()) < TOL, mode
        assert rel_error(dx, xt.grad.numpy()) < TOL, mode
        assert rel_error(ours.gamma.grad, ref.weight.grad.numpy()) < TOL, mode
        assert rel_error(ours.beta.grad, ref.bias.grad.numpy()) < TOL, mode
        ref.weight.grad = None
        ref.bias.grad = None
        assert rel_error(ours.running_mean, ref.running_mean.numpy()) < TOL, mode
        assert rel_error(ours.running_var, ref.running_var.numpy()) < TOL, mode


@pytest.mark.parametrize("shape", [(2, 3), (8, 5), (32, 1), (64, 10)])
@pytest.mark.parametrize("momentum", [0.1, 0.5, 0.9, 1.0])
def test_batchnorm1d_equals_torch(shape, momentum):
    rng = np.random.default_rng(hash((shape, momentum)) % 2**32)
    ours, ref = _pair(nn.BatchNorm1d, torch.nn.BatchNorm1d, shape[1], momentum, rng)
    _compare_steps(ours, ref, shape, rng)


@pytest.mark.parametrize("shape", [(4, 3, 5)])
def test_batchnorm1d_three_d_input_equals_torch(shape):
    rng = np.random.default_rng(7)
    ours, ref = _pair(nn.BatchNorm1d, torch.nn.BatchNorm1d, shape[1], 0.2, rng)
    _compare_steps(ours, ref, shape, rng)


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (8, 2, 3, 3), (1, 4, 2, 2), (5, 1, 1, 2)])
@pytest.mark.parametrize("momentum", [0.1, 0.7])
def test_batchnorm2d_equals_torch(shape, momentum):
    rng = np.random.default_rng(hash((shape, momentum)) % 2**32)
    ours, ref = _pair(nn.BatchNorm2d, torch.nn.BatchNorm2d, shape[1], momentum, rng)
    _compare_steps(ours, ref, shape, rng)


def test_running_statistics_follow_torch_convention():
    # momentum weighs the NEW statistic; running_var uses the unbiased variance
    x = np.array([[1.0, 10.0], [3.0, 14.0], [8.0, 0.0]])
    bn = nn.BatchNorm1d(2, momentum=0.25)
    bn.forward(x)
    np.testing.assert_allclose(bn.running_mean, 0.75 * 0 + 0.25 * x.mean(0), rtol=1e-15)
    np.testing.assert_allclose(bn.running_var, 0.75 * 1 + 0.25 * x.var(0, ddof=1), rtol=1e-15)


def test_buffers_and_parameters():
    bn = nn.BatchNorm1d(3)
    assert [p is q for p, q in zip(bn.parameters(), [bn.gamma, bn.beta], strict=True)] == [True, True]
    assert bn.weight is bn.gamma and bn.bias is bn.beta
    np.testing.assert_array_equal(bn.running_mean, np.zeros(3))
    np.testing.assert_array_equal(bn.running_var, np.ones(3))
    bn.forward(np.random.default_rng(0).normal(size=(5, 3)))
    state = bn.state_dict()
    assert set(state) == {"gamma", "beta", "running_mean", "running_var"}
    fresh = nn.BatchNorm1d(3)
    fresh.load_state_dict(state)
    np.testing.assert_array_equal(fresh.running_mean, bn.running_mean)
    np.testing.assert_array_equal(fresh.running_var, bn.running_var)
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.BatchNorm1d(4))
    assert "1.running_var" in model.state_dict()


def _forward_cache(shape, rng, train=True):
    x = rng.normal(2.0, 3.0, size=shape)
    gamma, beta = rng.normal(1, 0.5, shape[1]), rng.normal(0, 0.5, shape[1])
    rm, rv = rng.normal(size=shape[1]), rng.uniform(0.5, 2, shape[1])
    return x, gamma, beta, rm, rv


@pytest.mark.parametrize("shape", [(2, 3), (7, 4), (50, 6)])
@pytest.mark.parametrize("train", [True, False])
def test_graph_and_simplified_backward_agree_and_pass_finite_differences(shape, train):
    rng = np.random.default_rng(shape[0] * 10 + shape[1])
    x, gamma, beta, rm, rv = _forward_cache(shape, rng)
    dout = rng.normal(size=shape)

    def loss():  # L = Σ dout ⊙ BN(x); fresh copies so the running stats do not drift
        out, _ = F.batchnorm_forward(x, gamma, beta, rm.copy(), rv.copy(), training=train)
        return float(np.sum(out * dout))

    _, cache = F.batchnorm_forward(x, gamma, beta, rm.copy(), rv.copy(), training=train)
    graph = F.batchnorm_backward(dout, cache)
    closed = F.batchnorm_backward_simplified(dout, cache)
    for g, c in zip(graph, closed, strict=True):
        assert rel_error(g, c) < TOL
    numeric = (finite_diff(loss, x), finite_diff(loss, gamma), finite_diff(loss, beta))
    for g, n in zip(graph, numeric, strict=True):
        np.testing.assert_allclose(g, n, rtol=1e-6, atol=1e-8)  # FD error ~1e-9 absolute


@pytest.mark.parametrize("simplified", [True, False])
def test_spatial_backward_finite_differences(simplified):
    rng = np.random.default_rng(3)
    x, gamma, beta, rm, rv = _forward_cache((3, 2, 2, 3), rng)
    dout = rng.normal(size=x.shape)

    def loss():
        out, _ = F.spatial_batchnorm_forward(x, gamma, beta)
        return float(np.sum(out * dout))

    _, cache = F.spatial_batchnorm_forward(x, gamma, beta)
    dx, dgamma, dbeta = F.spatial_batchnorm_backward(dout, cache, simplified=simplified)
    np.testing.assert_allclose(dx, finite_diff(loss, x), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dgamma, finite_diff(loss, gamma), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dbeta, finite_diff(loss, beta), rtol=1e-6, atol=1e-8)


def test_train_output_is_standardised_per_feature():
    rng = np.random.default_rng(0)
    x = rng.normal(5.0, 10.0, size=(200, 4))
    out, _ = F.batchnorm_forward(x, np.ones(4), np.zeros(4))
    np.testing.assert_allclose(out.mean(0), 0.0, atol=1e-12)
    np.testing.assert_allclose(out.var(0), 1.0, rtol=1e-5)  # ε = 1e-5 shrinks it a hair


def test_batch_of_one_raises_like_torch():
    with pytest.raises(ValueError):  # torch's own message: "Expected more than 1 value per channel"
        torch.nn.BatchNorm1d(3, dtype=torch.float64)(torch.zeros(1, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="more than 1 value"):
        nn.BatchNorm1d(3).forward(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="more than 1 value"):
        nn.BatchNorm2d(3).forward(np.zeros((1, 3, 1, 1)))
    # eval mode uses the running statistics, so one sample is fine (also in torch)
    out = nn.BatchNorm1d(3).eval().forward(np.ones((1, 3)))
    np.testing.assert_allclose(out, 1.0 / np.sqrt(1.0 + 1e-5))


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match=r"expects .*got shape \(4, 5\)"):
        nn.BatchNorm1d(3).forward(np.zeros((4, 5)))
    with pytest.raises(ValueError, match="4-D"):
        nn.BatchNorm2d(3).forward(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="momentum"):
        nn.BatchNorm1d(3, momentum=1.5)
    with pytest.raises(ValueError, match="num_features"):
        nn.BatchNorm1d(0)
    with pytest.raises(ValueError, match="gamma and beta"):
        F.batchnorm_forward(np.zeros((4, 3)), np.ones(2), np.zeros(3))
    with pytest.raises(ValueError, match="running_mean"):
        F.batchnorm_forward(np.zeros((4, 3)), np.ones(3), np.zeros(3), training=False)
    with pytest.raises(RuntimeError, match="before forward"):
        nn.BatchNorm1d(3).backward(np.zeros((4, 3)))
    _, cache = F.batchnorm_forward(np.random.default_rng(0).normal(size=(4, 3)), np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match="dout"):
        F.batchnorm_backward(np.zeros((4, 2)), cache)


def test_forgetting_eval_mode_changes_predictions():
    # a trained BN in train mode normalises a single-class batch by ITS statistics: the
    # prediction for one sample then depends on the rest of the batch; eval mode does not
    rng = np.random.default_rng(1)
    bn = nn.BatchNorm1d(2)
    for _ in range(50):
        bn.forward(rng.normal([3.0, -1.0], [2.0, 0.5], size=(32, 2)))
    batch_a = np.vstack([np.zeros((1, 2)), rng.normal(size=(7, 2))])
    batch_b = np.vstack([np.zeros((1, 2)), rng.normal(10.0, 1.0, size=(7, 2))])
    train_a, train_b = bn.forward(batch_a)[0], bn.forward(batch_b)[0]
    bn.eval()
    eval_a, eval_b = bn.forward(batch_a)[0], bn.forward(batch_b)[0]
    assert np.max(np.abs(train_a - train_b)) > 0.5
    np.testing.assert_array_equal(eval_a, eval_b)


@settings(max_examples=40, deadline=None)
@given(
    shift=st.floats(-100, 100),
    log_scale=st.floats(-3, 3),
    seed=st.integers(0, 2**31 - 1),
)
def test_train_mode_output_ignores_shift_and_scale_of_the_batch(shift, log_scale, seed):
    # BN(a·x + b; a²ε) = BN(x; ε) exactly for a > 0 in train mode: the property behind Σ dx = 0.
    # (With the same ε on both sides, a = 1e-3 makes ε/Var(a·x) ≈ 1e-6 and the two differ by that.)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(16, 3))
    gamma, beta = rng.normal(size=3), rng.normal(size=3)
    a = 10.0**log_scale
    out, _ = F.batchnorm_forward(x, gamma, beta, eps=1e-12)
    out2, _ = F.batchnorm_forward(a * x + shift, gamma, beta, eps=1e-12 * a * a)
    np.testing.assert_allclose(out2, out, rtol=1e-6, atol=1e-6)


def test_momentum_none_is_rejected_clearly():
    with pytest.raises(ValueError, match="momentum must be a number"):
        nn.BatchNorm1d(3, momentum=None)
