"""dlcourse.lecture.experiments and dlcourse.models.linear_regression against torch and closed forms."""

import numpy as np
import pytest
import torch

from dlcourse import init
from dlcourse.data import linear_regression
from dlcourse.lecture import experiments as E
from dlcourse.models import linear_regression as linreg
from dlcourse.models.mlp import build_mlp
from dlcourse.nn import Linear
from dlcourse.optim import SGD

torch.set_default_dtype(torch.float64)


def _torch_twin(model):
    """A torch.nn.Sequential with the same layers and weights as a dlcourse MLP."""
    acts = {"Tanh": torch.nn.Tanh, "ReLU": torch.nn.ReLU, "Sigmoid": torch.nn.Sigmoid}
    layers = []
    for m in model:
        if isinstance(m, Linear):
            lin = torch.nn.Linear(m.in_features, m.out_features)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(m.weight.data))
                lin.bias.copy_(torch.from_numpy(m.bias.data))
            layers.append(lin)
        else:
            layers.append(acts[type(m).__name__]())
    return torch.nn.Sequential(*layers)


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
def test_layer_statistics_equal_torch_autograd(activation):
    stats = E.layer_statistics(depth=4, width=16, activation=activation, init="xavier_normal", n=8, rng=3)
    # rebuild the same network and batch from the same seed
    rng = np.random.default_rng(3)
    model = build_mlp([16] * 5, activation, init="xavier_normal", last_activation=True, rng=rng)
    x = rng.normal(size=(8, 16))
    g = rng.normal(size=(8, 16))
    net = _torch_twin(model)
    h = torch.from_numpy(x)
    zs, as_ = [], []
    for i in range(0, len(net), 2):
        z = net[i](h)
        z.retain_grad()
        h = net[i + 1](z)
        h.retain_grad()
        zs.append(z)
        as_.append(h)
    (h * torch.from_numpy(g)).sum().backward()  # dL/d(output) = g
    for ours, t in zip(stats.z, zs, strict=True):
        assert np.allclose(ours, t.detach().numpy(), rtol=1e-12, atol=1e-12)
    for ours, t in zip(stats.a, as_, strict=True):
        assert np.allclose(ours, t.detach().numpy(), rtol=1e-12, atol=1e-12)
    for ours, t in zip(stats.dz, zs, strict=True):
        assert np.allclose(ours, t.grad.numpy(), rtol=1e-10, atol=1e-12)
    for ours, t in zip(stats.da, as_, strict=True):
        assert np.allclose(ours, t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_variance_preservation_of_lecun_and_he():
    """PyTorch lecture notes (see docs/references.md): σ²_W = 1/n keeps Var(z) through linear layers; 2/n keeps it through ReLU."""
    lin = E.layer_statistics(depth=6, width=400, activation="linear", init="lecun_normal", n=2000, rng=0)
    ratios = lin.variances("z")[1:] / lin.variances("z")[:-1]
    assert np.all(np.abs(ratios - 1) < 0.15)
    he = E.layer_statistics(depth=6, width=400, activation="relu", init="he_normal", n=2000, rng=0)
    ratios = he.variances("z")[1:] / he.variances("z")[:-1]
    assert np.all(np.abs(ratios - 1) < 0.2)
    lecun_relu = E.layer_statistics(depth=6, width=400, activation="relu", init="lecun_normal", n=2000, rng=0)
    ratios = lecun_relu.variances("z")[1:] / lecun_relu.variances("z")[:-1]
    assert np.all(np.abs(ratios - 0.5) < 0.1)  # ½ n σ² = ½: halves at every layer


def test_train_xor_equals_torch():
    run = E.train_xor("lecun_normal", rng=5, epochs=200)
    model0 = build_mlp([2, 4, 1], "sigmoid", init="lecun_normal", rng=np.random.default_rng(5))
    net = _torch_twin(model0)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.99)
    X = torch.tensor([[0.0, 0], [0, 1], [1, 0], [1, 1]])
    Y = torch.tensor([[0.0], [1], [1], [0]])
    losses = []
    for _ in range(200):
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(net(X), Y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.allclose(run.loss, losses, rtol=1e-9, atol=1e-12)
    assert np.allclose(run.model[0].weight.data, net[0].weight.detach().numpy(), rtol=1e-8, atol=1e-10)
    wrong = ((net(X) > 0) != (Y > 0.5)).any().item()
    assert run.failed == wrong


def test_train_xor_takes_a_seed_or_a_generator_and_records_only_an_int_seed():
    by_seed = E.train_xor("lecun_normal", rng=3, epochs=20)
    by_gen = E.train_xor("lecun_normal", rng=np.random.default_rng(3), epochs=20)
    np.testing.assert_array_equal(by_gen.loss, by_seed.loss)
    assert by_seed.seed == 3 and type(by_seed.seed) is int
    assert by_gen.seed is None  # a Generator's draws cannot be replayed from a seed
    gen = np.random.default_rng(0)
    first, second = E.train_xor("lecun_normal", rng=gen, epochs=20), E.train_xor("lecun_normal", rng=gen, epochs=20)
    assert not np.array_equal(first.loss, second.loss)  # one stream: the second run draws new weights
    assert [r.seed for r in E.xor_failures("lecun_normal", seeds=[4, 7], epochs=5)] == [4, 7]
    with pytest.raises(TypeError, match="rng"):
        E.train_xor("lecun_normal", rng=2.5)


def test_xor_failures_wide_uniform_fails_more_than_fan_in():
    wide = E.xor_failures(init.get("uniform", a=10.0), seeds=range(10))
    fan_in = E.xor_failures("lecun_normal", seeds=range(10))
    assert sum(r.failed for r in fan_in) < sum(r.failed for r in wide)


def test_linreg_batch_gd_is_the_closed_form_iteration():
    x, y = linear_regression(rng=1)
    path = linreg.linreg_gd(x, y, lr=0.05, epochs=30)
    phi = np.column_stack([np.ones(30), x.ravel()])
    theta = np.array([10.0, 5.0])
    for k in range(30):
        theta = theta - 0.05 * 2 / 30 * phi.T @ (phi @ theta - y.ravel())  # θ ← θ − η ∇ mean(r²)
        assert np.allclose(path.thetas[k + 1], theta, rtol=1e-13)
    assert path.epochs_run == 30 and not path.converged and path.losses.shape == (30,)


@pytest.mark.parametrize("batch_size", [None, 1, 5])
def test_linreg_gd_reaches_least_squares(batch_size):
    x, y = linear_regression(rng=0)
    path = linreg.linreg_gd(x, y, lr=0.05, batch_size=batch_size, epochs=5000, tol=1e-8)
    assert path.converged
    assert np.allclose(path.theta, linreg.least_squares(x, y), atol=2e-3)
    assert len(path.thetas) == 1 + path.epochs_run * (30 // (batch_size or 30))


def test_linreg_gd_accepts_any_optimizer_and_rejects_bad_input():
    x, y = linear_regression(rng=0)
    p = linreg.linreg_gd(x, y, optimizer=lambda ps: SGD(ps, lr=0.05, momentum=0.6), epochs=2000, tol=1e-8)
    assert p.converged and np.allclose(p.theta, linreg.least_squares(x, y), atol=2e-3)
    with pytest.raises(ValueError, match="batch_size"):
        linreg.linreg_gd(x, y, batch_size=0)
    with pytest.raises(ValueError, match="theta0"):
        linreg.linreg_gd(x, y, theta0=(1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match="same number"):
        linreg.linreg_gd(x, y[:10])
    with pytest.raises(FloatingPointError, match="diverged"):
        linreg.linreg_gd(x, y, lr=5.0, epochs=2000)
    with pytest.raises(ValueError, match=r"batch_size \(None: full batch\) must be an integer in \[1, 30\], got 31"):
        linreg.linreg_gd(x, y, batch_size=31)
    with pytest.raises(FloatingPointError, match="theta0 holds 1 non-finite"):
        linreg.linreg_gd(x, y, theta0=(np.nan, 0.0))  # not reported as a divergence at epoch 1
    with pytest.raises(TypeError, match="seed"):
        linreg.linreg_gd(x, y, seed=0)


def test_linreg_gd_checks_once_and_not_at_every_step(monkeypatch):
    from dlcourse import losses

    x, y = linear_regression(rng=0)
    expected = linreg.linreg_gd(x, y, batch_size=1, epochs=3, rng=1)
    monkeypatch.setattr(losses, "mse_loss", lambda *a: pytest.fail("the checked mse_loss ran inside the loop"))
    again = linreg.linreg_gd(x, y, batch_size=1, epochs=3, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(again.thetas, expected.thetas)


def test_compare_optimizers_digits_trains_from_the_same_start():
    from dlcourse.optim import Adam

    res = E.compare_optimizers_digits({"SGD": lambda p: SGD(p, lr=0.05, momentum=0.9), "Adam": lambda p: Adam(p, lr=1e-3)},
                                      epochs=3, hidden=32)
    for h in res.values():
        assert len(h.train_loss) == 3 and h.train_loss[-1] < h.train_loss[0]
        assert h.val_metric[-1] > 0.5  # 10 classes: chance is 0.1


def test_mlp_and_layer_statistics_reject_bad_input():
    with pytest.raises(ValueError, match="what"):
        E.layer_statistics(depth=2, width=4, n=4).variances("w")


def test_linreg_hessian_is_the_loss_curvature():
    x, y = linear_regression(rng=0)
    H = linreg.linreg_hessian(x)
    rng = np.random.default_rng(0)
    for _ in range(5):
        a, d = rng.normal(size=2), rng.normal(size=2)
        ga, gd = linreg.linreg_loss_grad(a, x, y)[1], linreg.linreg_loss_grad(a + d, x, y)[1]
        assert np.allclose(gd - ga, H @ d)  # the gradient of a quadratic is affine


def test_nesterov_classic_lookahead_equals_simplified_nesterov():
    from dlcourse.nn import Parameter
    from dlcourse.optim import SimplifiedNesterov

    x, y = linear_regression(rng=0)

    def grad(t):
        return linreg.linreg_loss_grad(t, x, y)[1]

    thetas, vs = E.nesterov_classic(grad, [10.0, 5.0], lr=0.05, momentum=0.8, steps=40)
    P = Parameter(np.array([10.0, 5.0]))
    opt = SimplifiedNesterov([P], lr=0.05, momentum=0.8)
    for k in range(40):
        P.grad = grad(P.data)
        opt.step()
        assert np.allclose(P.data, thetas[k + 1] + 0.8 * vs[k + 1], atol=1e-12)


def test_record_layers_refuses_a_layout_it_would_record_wrongly():
    from dlcourse import nn
    from dlcourse.lecture.experiments import record_layers

    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2, rng=1))
    with pytest.raises(ValueError, match=r"layer 2 \(ReLU\) is a second layer after Linear 1, behind BatchNorm1d"):
        record_layers(model, np.zeros((5, 3)), lambda out: out)
    ok = nn.Sequential(nn.Linear(3, 4, rng=0), nn.ReLU(), nn.Linear(4, 2, rng=1))
    blocks, stats = record_layers(ok, np.ones((5, 3)), np.ones_like)
    assert [type(a).__name__ if a else None for _, a in blocks] == ["ReLU", None] and len(stats.dz) == 2
