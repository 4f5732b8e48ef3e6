"""dlcourse.optim optimizers against torch.optim in float64: 50-step trajectories to 1e-10."""

import numpy as np
import pytest
import torch

from dlcourse.nn import Parameter
from dlcourse.optim import (
    SGD,
    Adadelta,
    Adagrad,
    Adam,
    AdamW,
    RMSprop,
    SimplifiedNesterov,
)

torch.set_default_dtype(torch.float64)

STEPS = 50


def _problem(seed=0):
    """A random non-convex problem: L(W, b) = mean((X W + b − Y)²) + 0.01 Σ W⁴ (and its gradient)."""
    rng = np.random.default_rng(seed)
    X, Y = rng.normal(size=(16, 3)), rng.normal(size=(16, 4))
    W0, b0 = rng.normal(size=(3, 4)), rng.normal(size=(4,))

    def np_grad(W, b):
        r = X @ W + b - Y
        n = r.size
        return 2 * X.T @ r / n + 0.04 * W**3, 2 * r.sum(0) / n

    def torch_loss(W, b):
        Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
        return ((Xt @ W + b - Yt) ** 2).mean() + 0.01 * (W**4).sum()

    return W0, b0, np_grad, torch_loss


def _run_ours(cls, kwargs, groups=False, seed=0):
    W0, b0, grad, _ = _problem(seed)
    W, b = Parameter(W0), Parameter(b0)
    params = [{"params": [W]}, {"params": [b], "lr": 0.5 * kwargs.get("lr", 1e-2)}] if groups else [W, b]
    opt = cls(params, **kwargs)
    traj = []
    for _ in range(STEPS):
        opt.zero_grad()
        gW, gb = grad(W.data, b.data)
        W.grad, b.grad = W.grad + gW, b.grad + gb
        opt.step()
        traj.append(np.concatenate([W.data.ravel(), b.data.ravel()]))
    return np.array(traj)


def _run_torch(cls, kwargs, groups=False, seed=0):
    W0, b0, _, loss_fn = _problem(seed)
    W = torch.tensor(W0, requires_grad=True)
    b = torch.tensor(b0, requires_grad=True)
    params = [{"params": [W]}, {"params": [b], "lr": 0.5 * kwargs.get("lr", 1e-2)}] if groups else [W, b]
    opt = cls(params, **kwargs)
    traj = []
    for _ in range(STEPS):
        opt.zero_grad()
        loss_fn(W, b).backward()
        opt.step()
        traj.append(np.concatenate([W.detach().numpy().ravel(), b.detach().numpy().ravel()]))
    return np.array(traj)


CASES = [
    (SGD, torch.optim.SGD, dict(lr=0.05)),
    (SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9)),
    (SGD, torch.optim.SGD, dict(lr=0.02, momentum=0.8, dampening=0.3, weight_decay=0.01)),
    (SGD, torch.optim.SGD, dict(lr=0.03, momentum=0.9, nesterov=True, weight_decay=0.1)),
    (SGD, torch.optim.SGD, dict(lr=0.002, momentum=0.5, maximize=True)),
    (Adagrad, torch.optim.Adagrad, dict()),
    (Adagrad, torch.optim.Adagrad, dict(lr=0.3, lr_decay=0.01, weight_decay=0.05, initial_accumulator_value=0.1)),
    (RMSprop, torch.optim.RMSprop, dict()),
    (RMSprop, torch.optim.RMSprop, dict(lr=0.01, alpha=0.9, eps=1e-6, momentum=0.5)),
    (RMSprop, torch.optim.RMSprop, dict(lr=0.005, centered=True, weight_decay=0.02, momentum=0.3)),
    (Adadelta, torch.optim.Adadelta, dict()),
    (Adadelta, torch.optim.Adadelta, dict(lr=0.5, rho=0.95, eps=1e-5, weight_decay=0.01)),
    (Adam, torch.optim.Adam, dict()),
    (Adam, torch.optim.Adam, dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01)),
    (Adam, torch.optim.Adam, dict(lr=0.05, amsgrad=True)),
    (AdamW, torch.optim.AdamW, dict(lr=0.05, weight_decay=0.1, amsgrad=True)),
]


@pytest.mark.parametrize("ours, theirs, kwargs", CASES, ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)])
@pytest.mark.parametrize("groups", [False, True])
def test_trajectory_equals_torch(ours, theirs, kwargs, groups):
    a = _run_ours(ours, kwargs, groups)
    b = _run_torch(theirs, kwargs, groups)
    assert np.all(np.abs(a - b) <= 1e-10 * np.maximum(1.0, np.abs(b)))
    assert np.abs(a[-1] - a[0]).max() > 1e-3  # the parameters really moved


def test_defaults_are_torchs():
    p = [Parameter(np.zeros(2))]
    assert Adam(p).param_groups[0]["lr"] == 1e-3 and Adam(p).param_groups[0]["betas"] == (0.9, 0.999)
    assert Adam(p).param_groups[0]["eps"] == 1e-8
    r = RMSprop(p).param_groups[0]
    assert (r["lr"], r["alpha"], r["eps"]) == (1e-2, 0.99, 1e-8)
    a = Adagrad(p).param_groups[0]
    assert (a["lr"], a["eps"]) == (1e-2, 1e-10)
    d = Adadelta(p).param_groups[0]
    assert (d["lr"], d["rho"], d["eps"]) == (1.0, 0.9, 1e-6)
    t = torch.optim.Adadelta([torch.zeros(2, requires_grad=True)]).defaults
    assert (t["lr"], t["rho"], t["eps"]) == (d["lr"], d["rho"], d["eps"])


def test_simplified_nesterov_tracks_classic_lookahead():
    """Θ_k of the simplified form equals θ_k + δ v_k of Sutskever's classic Nesterov (deck 003)."""
    rng = np.random.default_rng(3)
    A = rng.normal(size=(4, 4))
    H = A @ A.T + 0.5 * np.eye(4)  # an SPD quadratic J(θ) = ½ θᵀHθ − cᵀθ
    c = rng.normal(size=4)

    def grad(t):
        return H @ t - c

    eta, delta = 0.02, 0.9
    theta, v = rng.normal(size=4), np.zeros(4)
    P = Parameter(theta.copy())
    opt = SimplifiedNesterov([P], lr=eta, momentum=delta)
    for _ in range(STEPS):
        g = grad(theta + delta * v)  # classic: gradient at the lookahead point
        v = delta * v - eta * g
        theta = theta + v
        P.grad = grad(P.data)  # simplified: gradient where the parameters are
        opt.step()
        assert np.allclose(P.data, theta + delta * v, rtol=0, atol=1e-12)
        assert np.allclose(opt.state[P]["velocity"], v, rtol=0, atol=1e-12)


def test_simplified_nesterov_equals_torch_nesterov_sgd():
    a = _run_ours(SimplifiedNesterov, dict(lr=0.03, momentum=0.9, weight_decay=0.1))
    b = _run_torch(torch.optim.SGD, dict(lr=0.03, momentum=0.9, nesterov=True, weight_decay=0.1))
    assert np.abs(a - b).max() < 1e-10


def test_rmsprop_eps_inside_sqrt_is_deck_004_rule():
    g = np.array([1e-3, 1.0, -2.0])
    p = Parameter(np.zeros(3))
    p.grad = g
    opt = RMSprop([p], lr=0.1, alpha=0.9, eps=1e-4, eps_inside_sqrt=True)
    opt.step()
    r = 0.1 * g**2
    assert np.allclose(p.data, -0.1 * g / np.sqrt(1e-4 + r), rtol=1e-14)
    # and it differs from torch's δ-outside rule most where the gradient is small
    q = Parameter(np.zeros(3))
    q.grad = g
    RMSprop([q], lr=0.1, alpha=0.9, eps=1e-4).step()
    assert abs(q.data[0]) > 5 * abs(p.data[0]) and np.isclose(q.data[2], p.data[2], rtol=1e-3)


def test_zero_grad_lr_property_and_groups():
    W, b = Parameter(np.ones((2, 2))), Parameter(np.ones(2))
    opt = SGD([{"params": [W]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9)
    assert opt.lr == 0.1 and opt.param_groups[1]["lr"] == 0.5
    assert opt.param_groups[1]["momentum"] == 0.9
    W.grad = np.ones((2, 2))
    opt.zero_grad()
    assert not W.grad.any()
    opt.lr = 0.2
    assert [g["lr"] for g in opt.param_groups] == [0.2, 0.2]


@pytest.mark.parametrize("bad, err", [
    (lambda p: SGD(p, lr=-1), ValueError),
    (lambda p: SGD(p, lr=0.1, nesterov=True), ValueError),
    (lambda p: Adam(p, betas=(1.0, 0.9)), ValueError),
    (lambda p: Adam(p, betas=(0.9,)), ValueError),
    (lambda p: RMSprop(p, alpha=1.5), ValueError),
    (lambda p: Adagrad(p, eps=float("nan")), ValueError),
    (lambda p: SGD(p[0], lr=0.1), TypeError),
    (lambda p: SGD([np.zeros(2)], lr=0.1), TypeError),
    (lambda p: SGD([], lr=0.1), ValueError),
    (lambda p: SGD([p[0], p[0]] and [{"params": p}, {"params": p}], lr=0.1), ValueError),
])
def test_bad_hyperparameters_raise(bad, err):
    with pytest.raises(err):
        bad([Parameter(np.zeros(2))])


def test_sgd_requires_lr():
    with pytest.raises(TypeError):
        SGD([Parameter(np.zeros(2))])  # lr is required (as in the course contract)


@pytest.mark.parametrize("cls, kwargs, torch_cls", [
    (Adam, dict(lr=0.05, amsgrad=True), torch.optim.Adam),
    (SGD, dict(lr=0.05, momentum=0.9), torch.optim.SGD),
    (RMSprop, dict(lr=0.01, momentum=0.5, centered=True), torch.optim.RMSprop),
    (Adadelta, dict(), torch.optim.Adadelta),
    (Adagrad, dict(lr=0.1), torch.optim.Adagrad),
])
def test_state_dict_resumes_training_and_names_state_like_torch(cls, kwargs, torch_cls):
    W0, b0, grad, loss_fn = _problem(4)

    def run(opt, W, b, n):
        for _ in range(n):
            opt.zero_grad()
            W.grad, b.grad = grad(W.data, b.data)
            opt.step()

    W, b = Parameter(W0), Parameter(b0)
    straight = cls([W, b], **kwargs)
    run(straight, W, b, 20)
    W2, b2 = Parameter(W0), Parameter(b0)
    first = cls([W2, b2], **kwargs)
    run(first, W2, b2, 10)
    saved = first.state_dict()
    run(first, W2, b2, 3)  # the saved copy must not follow later steps
    W3, b3 = Parameter(W0), Parameter(b0)
    again = cls([W3, b3], **kwargs)
    run(again, W3, b3, 10)
    resumed = cls([W3, b3], lr=123.0) if cls is SGD else cls([W3, b3])
    resumed.load_state_dict(saved)
    assert resumed.param_groups[0]["lr"] == straight.param_groups[0]["lr"]
    run(resumed, W3, b3, 10)
    assert np.allclose(W3.data, W.data, rtol=0, atol=1e-13) and np.allclose(b3.data, b.data, rtol=0, atol=1e-13)
    # the per-parameter state carries torch's names
    t = torch.zeros(3, requires_grad=True)
    topt = torch_cls([t], **kwargs)
    t.grad = torch.ones(3)
    topt.step()
    assert set(saved["state"][0]) == set(topt.state_dict()["state"][0])


def test_load_state_dict_rejects_a_mismatch():
    a = Adam([Parameter(np.zeros(2)), Parameter(np.zeros(3))])
    for p in a.param_groups[0]["params"]:
        p.grad = np.ones(p.shape)
    a.step()
    with pytest.raises(ValueError, match="parameters"):
        Adam([Parameter(np.zeros(2))]).load_state_dict(a.state_dict())
    with pytest.raises(ValueError, match="shape"):
        Adam([Parameter(np.zeros(3)), Parameter(np.zeros(2))]).load_state_dict(a.state_dict())
