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


# --- functional batch norm's argument checks, running statistics, defaults ---------------------


def _names(exc: pytest.ExceptionInfo, *names: str) -> bool:
    """Each of ``names`` appears in the message as a word of its own."""
    import re

    return all(re.search(rf"(?<![\w]){re.escape(n)}(?![\w])", str(exc.value)) for n in names)


def _bn_args(n=6, d=3, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, d)).astype(dtype), (1.0 + rng.random(d)).astype(dtype), rng.normal(size=d).astype(dtype))


@pytest.mark.parametrize("momentum", [0.0, 0.3, 1.0])
def test_functional_running_statistics_equal_torch_for_momentum_0_to_1(momentum):
    x, gamma, beta = _bn_args()
    rm, rv = np.full(3, 0.5), np.full(3, 2.0)
    trm, trv = torch.tensor(rm), torch.tensor(rv)
    out, _ = F.batchnorm_forward(x, gamma, beta, rm, rv, momentum=momentum)
    ref = torch.nn.functional.batch_norm(torch.tensor(x), trm, trv, torch.tensor(gamma), torch.tensor(beta),
                                         training=True, momentum=momentum)
    np.testing.assert_allclose(out, ref.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(rm, trm.numpy(), rtol=1e-12)
    np.testing.assert_allclose(rv, trv.numpy(), rtol=1e-12)


def test_spatial_batchnorm_defaults_and_running_statistics_equal_torch():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 3, 5, 2))
    gamma, beta = 1.0 + rng.random(3), rng.normal(size=3)
    torch_bn = torch.nn.BatchNorm2d(3, dtype=torch.float64)
    torch_bn.weight.data, torch_bn.bias.data = torch.tensor(gamma), torch.tensor(beta)
    rm, rv = np.zeros(3), np.ones(3)  # torch's initial running statistics
    out, _ = F.spatial_batchnorm_forward(x, gamma, beta, rm, rv)  # default momentum and eps
    ref = torch_bn(torch.tensor(x))
    np.testing.assert_allclose(out, ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(rm, torch_bn.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(rv, torch_bn.running_var.numpy(), rtol=1e-12)
    # momentum and eps reach the (N·H·W, C) batch norm; eval mode uses the running statistics
    rm2, rv2 = np.zeros(3), np.ones(3)
    torch_bn2 = torch.nn.BatchNorm2d(3, eps=0.5, momentum=0.7, dtype=torch.float64)
    torch_bn2.weight.data, torch_bn2.bias.data = torch.tensor(gamma), torch.tensor(beta)
    out2, _ = F.spatial_batchnorm_forward(x, gamma, beta, rm2, rv2, momentum=0.7, eps=0.5)
    np.testing.assert_allclose(out2, torch_bn2(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(rm2, torch_bn2.running_mean.numpy(), rtol=1e-12)
    torch_bn2.eval()
    out3, _ = F.spatial_batchnorm_forward(x, gamma, beta, rm2, rv2, training=False, momentum=0.7, eps=0.5)
    np.testing.assert_allclose(out3, torch_bn2(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)


def test_spatial_batchnorm_backward_uses_the_closed_form_by_default_and_the_graph_on_request():
    rng = np.random.default_rng(2)
    x, dout = rng.normal(size=(4, 3, 5, 2)), rng.normal(size=(4, 3, 5, 2))
    out, cache = F.spatial_batchnorm_forward(x, 1.0 + rng.random(3), rng.normal(size=3))
    inner, shape = cache
    flat = F._channels_last(dout)
    by_default = F.spatial_batchnorm_backward(dout, cache)
    graph = F.spatial_batchnorm_backward(dout, cache, simplified=False)
    expected_closed = F.batchnorm_backward_simplified(flat, inner)
    expected_graph = F.batchnorm_backward(flat, inner)
    np.testing.assert_array_equal(by_default[0], F._channels_first(expected_closed[0], shape))
    np.testing.assert_array_equal(graph[0], F._channels_first(expected_graph[0], shape))
    np.testing.assert_allclose(by_default[0], graph[0], rtol=1e-9, atol=1e-12)  # the same gradient
    with pytest.raises(ValueError) as exc:
        F.spatial_batchnorm_backward(dout[:, :, :4], cache)
    assert _names(exc, "dout"), str(exc.value)


def test_functional_batchnorm_keeps_float32_in_every_function():
    x, gamma, beta = _bn_args(dtype=np.float32)
    rm, rv = np.zeros(3, np.float32), np.ones(3, np.float32)
    out, cache = F.batchnorm_forward(x, gamma, beta, rm, rv)
    dout = np.ones_like(x)
    for backward in (F.batchnorm_backward, F.batchnorm_backward_simplified):
        assert all(g.dtype == np.float32 for g in backward(dout, cache))
    x4 = np.random.default_rng(3).normal(size=(2, 3, 2, 2)).astype(np.float32)
    out4, cache4 = F.spatial_batchnorm_forward(x4, gamma, beta)
    assert out4.dtype == np.float32
    assert all(g.dtype == np.float32 for g in F.spatial_batchnorm_backward(np.ones_like(x4), cache4))


def test_functional_batchnorm_names_the_function_and_the_argument_it_refuses():
    x, gamma, beta = _bn_args()
    rm, rv = np.zeros(3), np.ones(3)
    f32 = np.float32
    _, cache = F.batchnorm_forward(x, gamma, beta)
    _, cache4 = F.spatial_batchnorm_forward(x.reshape(6, 3, 1), gamma, beta)
    cases = [
        (lambda: F.batchnorm_forward(x.astype(f32), gamma, beta), TypeError, ("batchnorm_forward", "x")),
        (lambda: F.batchnorm_forward(x, gamma, beta.astype(f32)), TypeError, ("batchnorm_forward", "beta")),
        (lambda: F.batchnorm_forward(x, np.array(["a"] * 3), beta), TypeError, ("gamma",)),
        (lambda: F.batchnorm_forward(x, gamma[None], beta), ValueError, ("gamma",)),
        (lambda: F.batchnorm_forward(x[None], gamma, beta), ValueError, ("x",)),
        (lambda: F.batchnorm_forward(x, gamma, beta[None]), ValueError, ("beta",)),
        (lambda: F.batchnorm_forward(x, gamma, beta, momentum=1.5), ValueError, ("momentum",)),
        (lambda: F.batchnorm_forward(x, gamma, beta, eps=0.0), ValueError, ("eps",)),
        (lambda: F.batchnorm_forward(x, gamma, beta, [0.0] * 3, rv), ValueError, ("running_mean", "list")),
        (lambda: F.batchnorm_forward(x, gamma, beta, rm, np.ones(2)), ValueError, ("running_var", "(2,)")),
        (lambda: F.batchnorm_forward(x, gamma, beta, rm.astype(f32), rv), TypeError, ("batchnorm_forward", "running_mean")),
        (lambda: F.batchnorm_forward(x, gamma, beta, rm, rv.astype(f32)), TypeError, ("batchnorm_forward", "running_var")),
        (lambda: F.batchnorm_forward(x[:1], gamma, beta), ValueError, ("1",)),
        (lambda: F.batchnorm_backward(np.ones_like(x, dtype=f32), cache), TypeError, ("batch norm backward", "dout")),
        (lambda: F.batchnorm_backward_simplified(np.ones((6, 2)), cache), ValueError, ("dout",)),
        (lambda: F.spatial_batchnorm_forward(x.astype(f32).reshape(6, 3, 1), gamma, beta), TypeError,
         ("spatial_batchnorm_forward", "x")),
        (lambda: F.spatial_batchnorm_forward(x.reshape(6, 3, 1, 1, 1), gamma, beta), ValueError, ("x", "3-D", "4-D")),
        (lambda: F.spatial_batchnorm_forward(x.reshape(6, 3, 1), np.array(["a"] * 3), beta), TypeError, ("gamma",)),
        (lambda: F.spatial_batchnorm_backward(np.ones((6, 3, 1), f32), cache4), TypeError,
         ("spatial_batchnorm_backward", "dout")),
    ]
    for i, (call, error, names) in enumerate(cases):
        with pytest.raises(error) as exc:
            call()
        assert _names(exc, *names), f"case {i}: {exc.value}"


def test_functional_batchnorm_accepts_4d_spatial_input_and_eval_needs_both_statistics():
    x, gamma, beta = _bn_args(n=8)
    out, _ = F.spatial_batchnorm_forward(x.reshape(2, 3, 2, 2), gamma, beta)  # (N, C, H, W)
    assert out.shape == (2, 3, 2, 2)
    for rm, rv in [(np.zeros(3), None), (None, np.ones(3))]:
        with pytest.raises(ValueError, match=r"^batch norm in eval mode needs running_mean and running_var$"):
            F.batchnorm_forward(x, gamma, beta, rm, rv, training=False)
    with pytest.raises(ValueError, match="more than 1 value"):
        F.batchnorm_forward(x[:1], gamma, beta)


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_returns_no_input_gradient_when_told_it_is_not_needed(training):
    # the layer protocol (nn.Module): _backward(dout, input_grad=False, ...) returns None for dx
    x, gamma, beta = _bn_args()
    bn = nn.BatchNorm1d(3)
    bn(x)  # one training step fills the running statistics
    bn.train(training)
    bn(x)
    dx, _ = bn._backward(np.ones_like(x), False, False)
    assert dx is None
    assert bn.backward(np.ones_like(x)).shape == x.shape


def test_load_state_dict_refuses_a_buffer_of_the_wrong_shape():
    # A running_mean of shape (1,) would broadcast over the 3 features in eval mode.
    bn = nn.BatchNorm1d(3)
    before = {k: v.copy() for k, v in bn.state_dict().items()}
    bad = bn.state_dict()
    bad["running_mean"] = np.zeros(1)
    with pytest.raises(ValueError) as exc:
        bn.load_state_dict(bad)
    assert "running_mean" in str(exc.value) and "(3,)" in str(exc.value) and "(1,)" in str(exc.value)
    for k, v in bn.state_dict().items():  # nothing was half-loaded
        np.testing.assert_array_equal(v, before[k])


def test_load_state_dict_refuses_a_buffer_of_the_wrong_shape_before_any_parameter_is_copied():
    model = nn.Sequential(nn.Linear(2, 3, rng=0), nn.BatchNorm1d(3))
    bad = model.state_dict()
    bad["0.weight"] = bad["0.weight"] + 1.0
    bad["1.running_var"] = np.ones((3, 1))
    weight = model[0].weight.data.copy()
    with pytest.raises(ValueError, match=r"1\.running_var: expected shape \(3,\), got \(3, 1\)"):
        model.load_state_dict(bad)
    np.testing.assert_array_equal(model[0].weight.data, weight)


@pytest.mark.parametrize("num_features, error", [(2.0, ValueError), (2.5, ValueError), (True, ValueError),
                                                 ("3", ValueError), (0, ValueError)])
def test_num_features_must_be_a_positive_int(num_features, error):
    with pytest.raises(error, match="num_features"):
        nn.BatchNorm1d(num_features)


@pytest.mark.parametrize("momentum, error", [(-0.1, ValueError), (1.0001, ValueError), (float("nan"), ValueError),
                                             ("0.1", TypeError), (True, TypeError)])
def test_momentum_must_be_a_number_in_the_unit_interval(momentum, error):
    with pytest.raises(error, match="momentum"):
        nn.BatchNorm2d(3, momentum=momentum)


@pytest.mark.parametrize("momentum", [0, 0.0, 1, 1.0, np.float32(0.5)])
def test_momentum_at_the_ends_is_accepted_as_a_float(momentum):
    bn = nn.BatchNorm1d(3, momentum=momentum)
    assert type(bn.momentum) is float and bn.momentum == float(momentum)


@pytest.mark.parametrize("shape", [(1, 3, 2, 1), (1, 3, 1, 2), (1, 2, 3)])
def test_spatial_batchnorm_counts_every_spatial_position_as_a_value_of_its_channel(shape):
    """One image is a valid training batch when it has more than one position per channel."""
    x = np.random.default_rng(0).normal(size=shape)
    out, _ = F.spatial_batchnorm_forward(x, np.ones(shape[1]), np.zeros(shape[1]))
    bn = torch.nn.BatchNorm2d(shape[1], dtype=torch.float64) if len(shape) == 4 else \
        torch.nn.BatchNorm1d(shape[1], dtype=torch.float64)
    np.testing.assert_allclose(out, bn(torch.from_numpy(x)).detach().numpy(), rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="more than 1 value"):
        F.spatial_batchnorm_forward(np.ones((1, 3, 1, 1)), np.ones(3), np.zeros(3))
