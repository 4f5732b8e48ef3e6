"""dlcourse.optim optimizers against torch.optim: float64 trajectories to 1e-12, torch's signatures
and defaults, float32 kept end to end, updates in place, hyper-parameters validated once."""

import inspect
import math
import tracemalloc

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
    Optimizer,
    RMSprop,
    SimplifiedNesterov,
)
from dlcourse.optim.optimizers import _lerp_

torch.set_default_dtype(torch.float64)

STEPS = 50
PAIRS = [(SGD, torch.optim.SGD), (Adagrad, torch.optim.Adagrad), (RMSprop, torch.optim.RMSprop),
         (Adadelta, torch.optim.Adadelta), (Adam, torch.optim.Adam), (AdamW, torch.optim.AdamW)]


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
        Xt, Yt = torch.from_numpy(X).to(W.dtype), torch.from_numpy(Y).to(W.dtype)
        return ((Xt @ W + b - Yt) ** 2).mean() + 0.01 * (W**4).sum()

    return W0, b0, np_grad, torch_loss


def _groups(W, b, kwargs, groups):
    if not groups:
        return [W, b]
    # the second group overrides lr (and momentum where the optimizer has one)
    second = {"params": [b], "lr": 0.5 * kwargs.get("lr", 1e-2)}
    if kwargs.get("momentum"):
        second["momentum"] = 0.5 * kwargs["momentum"]
    return [{"params": [W]}, second]


def _run_ours(cls, kwargs, groups=False, seed=0, dtype=np.float64, steps=STEPS):
    W0, b0, grad, _ = _problem(seed)
    W, b = Parameter(W0.astype(dtype)), Parameter(b0.astype(dtype))
    opt = cls(_groups(W, b, kwargs, groups), **kwargs)
    traj = []
    for _ in range(steps):
        opt.zero_grad()
        gW, gb = grad(W.data.astype(np.float64), b.data.astype(np.float64))
        W.grad, b.grad = gW.astype(dtype), gb.astype(dtype)
        opt.step()
        traj.append(np.concatenate([W.data.ravel(), b.data.ravel()]))
    return np.array(traj), opt


def _run_torch(cls, kwargs, groups=False, seed=0, dtype=torch.float64, steps=STEPS):
    W0, b0, _, loss_fn = _problem(seed)
    W = torch.tensor(W0, dtype=dtype, requires_grad=True)
    b = torch.tensor(b0, dtype=dtype, requires_grad=True)
    opt = cls(_groups(W, b, kwargs, groups), **kwargs)
    traj = []
    for _ in range(steps):
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
    (SGD, torch.optim.SGD, dict(lr=0.002, weight_decay=0.2, maximize=True)),
    (Adagrad, torch.optim.Adagrad, dict()),
    (Adagrad, torch.optim.Adagrad, dict(lr=0.3, lr_decay=0.01, weight_decay=0.05, initial_accumulator_value=0.1)),
    (Adagrad, torch.optim.Adagrad, dict(lr=0.001, maximize=True)),
    (RMSprop, torch.optim.RMSprop, dict()),
    (RMSprop, torch.optim.RMSprop, dict(lr=0.005, alpha=0.8, eps=1e-3, momentum=0.6)),
    (RMSprop, torch.optim.RMSprop, dict(lr=0.005, centered=True, weight_decay=0.02, momentum=0.3)),
    (RMSprop, torch.optim.RMSprop, dict(lr=0.005, centered=True)),
    (RMSprop, torch.optim.RMSprop, dict(lr=0.001, maximize=True, weight_decay=0.1)),
    (Adadelta, torch.optim.Adadelta, dict()),
    (Adadelta, torch.optim.Adadelta, dict(lr=0.5, rho=0.95, eps=1e-5, weight_decay=0.01)),
    (Adadelta, torch.optim.Adadelta, dict(maximize=True)),
    (Adam, torch.optim.Adam, dict()),
    (Adam, torch.optim.Adam, dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01)),
    (Adam, torch.optim.Adam, dict(lr=0.05, amsgrad=True)),
    (Adam, torch.optim.Adam, dict(lr=0.02, betas=(0.3, 0.9))),  # 1 − β₁ ≥ 0.5: lerp's other branch
    (Adam, torch.optim.Adam, dict(lr=0.01, maximize=True, weight_decay=0.1)),
    (Adam, torch.optim.Adam, dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
    (AdamW, torch.optim.AdamW, dict()),
    (AdamW, torch.optim.AdamW, dict(lr=0.05, weight_decay=0.1, amsgrad=True)),
    (AdamW, torch.optim.AdamW, dict(lr=0.01, weight_decay=0.3, maximize=True)),
    (AdamW, torch.optim.AdamW, dict(lr=0.05, betas=(0.5, 0.9), eps=1e-3, weight_decay=0.0)),
]


@pytest.mark.parametrize("ours, theirs, kwargs", CASES, ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)])
@pytest.mark.parametrize("groups", [False, True])
def test_trajectory_equals_torch(ours, theirs, kwargs, groups):
    a, _ = _run_ours(ours, kwargs, groups)
    b = _run_torch(theirs, kwargs, groups)
    assert np.all(np.abs(a - b) <= 1e-12 * np.maximum(1.0, np.abs(b)))
    assert np.abs(a[-1] - a[0]).max() > 1e-3  # the parameters really moved


@pytest.mark.parametrize("ours, theirs, kwargs", CASES, ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)])
def test_float32_stays_float32_and_follows_torch_float32(ours, theirs, kwargs):
    a, opt = _run_ours(ours, kwargs, dtype=np.float32, steps=20)
    b = _run_torch(theirs, kwargs, dtype=torch.float32, steps=20)
    assert a.dtype == np.float32
    for group in opt.param_groups:
        for p in group["params"]:
            assert p.data.dtype == np.float32 and p.grad.dtype == np.float32
            arrays = [v for v in opt.state[p].values() if isinstance(v, np.ndarray)]
            assert all(v.dtype == np.float32 for v in arrays)
            assert all(type(v) is not np.float64 for v in opt.state[p].values())
    assert np.allclose(a, b, rtol=2e-4, atol=2e-5)


def test_simplified_nesterov_float32_state():
    p = Parameter(np.ones(3, dtype=np.float32))
    opt = SimplifiedNesterov([p], lr=0.1, weight_decay=0.1)
    for _ in range(5):
        p.grad = np.array([1.0, -2.0, 0.5], dtype=np.float32)
        opt.step()
    assert p.data.dtype == np.float32 and opt.state[p]["velocity"].dtype == np.float32


# --- signatures and defaults: torch's own ------------------------------------------------------

_TORCH_ONLY = {"foreach", "differentiable", "fused", "capturable"}  # torch's implementation switches


@pytest.mark.parametrize("ours, theirs", PAIRS, ids=[c.__name__ for c, _ in PAIRS])
def test_signature_and_defaults_are_torchs(ours, theirs):
    mine = inspect.signature(ours).parameters
    torch_params = inspect.signature(theirs).parameters
    assert [n for n in torch_params if n not in _TORCH_ONLY] == [n for n in mine if n != "eps_inside_sqrt"]
    for name, param in mine.items():
        if name == "lr" and ours is SGD:
            continue  # SGD's lr is required here (see test_sgd_requires_lr)
        if name in torch_params:
            assert param.default == torch_params[name].default, name
            # keyword-only where torch also takes it by position (after its implementation switches)
            assert param.kind in (torch_params[name].kind, inspect.Parameter.KEYWORD_ONLY), name


@pytest.mark.parametrize("ours, theirs", PAIRS, ids=[c.__name__ for c, _ in PAIRS])
def test_defaults_dict_is_torchs(ours, theirs):
    kw = dict(lr=0.1) if ours is SGD else {}
    mine = ours([Parameter(np.zeros(2))], **kw).defaults
    t = theirs([torch.zeros(2, requires_grad=True)], **kw).defaults
    for k, v in mine.items():
        if k in t:
            _assert_same_default(v, t[k], k)


def _assert_same_default(v, theirs, name: str) -> None:
    """A flag must be a bool as torch's; a number must be a float of torch's value.

    torch writes some float hyper-parameters as int literals (momentum=0), ours are converted
    to float by their checks, so numbers are compared by value, but neither a bool nor an int
    may stand for one; and a flag stored as the int 1 or 0 is not torch's True or False.
    """
    if isinstance(theirs, tuple):
        assert type(v) is tuple and len(v) == len(theirs), name
        for i, (a, b) in enumerate(zip(v, theirs, strict=True)):
            _assert_same_default(a, b, f"{name}[{i}]")
    elif isinstance(theirs, bool):
        assert type(v) is bool and v == theirs, (name, v, theirs)
    elif isinstance(theirs, (int, float)):
        assert type(v) is float and v == theirs, (name, v, theirs)
    else:
        assert type(v) is type(theirs) and v == theirs, (name, v, theirs)


@pytest.mark.parametrize("v, theirs", [(1, True), (0, False), (np.bool_(True), True), (True, 1.0), (1, 1.0),
                                       (0.9, 0.0), ((0.9, 1), (0.9, 0.999)), (0.0, None)])
def test_the_defaults_comparison_tells_types_apart(v, theirs):
    with pytest.raises(AssertionError):
        _assert_same_default(v, theirs, "x")


def test_sgd_requires_lr():
    # torch gives SGD lr=1e-3; the course contract (DESIGN.md) makes the step size a choice
    assert inspect.signature(torch.optim.SGD).parameters["lr"].default == 1e-3
    assert inspect.signature(SGD).parameters["lr"].default is inspect.Parameter.empty
    with pytest.raises(TypeError):
        SGD([Parameter(np.zeros(2))])


def test_simplified_nesterov_default_momentum_is_torch_nesterov_sgd_with_0_9():
    a, _ = _run_ours(SimplifiedNesterov, dict(lr=0.03))
    b = _run_torch(torch.optim.SGD, dict(lr=0.03, momentum=0.9, nesterov=True))
    assert np.abs(a - b).max() < 1e-12
    assert inspect.signature(SimplifiedNesterov).parameters["weight_decay"].default == 0


@pytest.mark.parametrize("ours, theirs", PAIRS, ids=[c.__name__ for c, _ in PAIRS])
def test_defaults_are_used_where_eps_dominates(ours, theirs):
    """Gradients from 1e-12 to 1: where √v ≪ eps the default eps decides the step, so a wrong
    default eps, lr, beta or alpha shows at once (the trajectories above hardly feel eps)."""
    kw = dict(lr=0.1) if ours is SGD else {}
    g = np.array([1e-12, -1e-9, 1e-7, -1e-5, 1e-3, 1.0])
    p, t = Parameter(np.ones(6)), torch.ones(6, requires_grad=True)
    mine, theirs_opt = ours([p], **kw), theirs([t], **kw)
    for k in range(6):
        p.grad = g * (1 + k)
        t.grad = torch.from_numpy(g * (1 + k))
        mine.step()
        theirs_opt.step()
        assert np.allclose(p.data - 1, t.detach().numpy() - 1, rtol=1e-12, atol=1e-300)


# --- in place -----------------------------------------------------------------------------------

@pytest.mark.parametrize("ours, kwargs", [(c[0], c[2]) for c in CASES] + [
    (SimplifiedNesterov, dict(lr=0.1)), (RMSprop, dict(eps_inside_sqrt=True)),
    (RMSprop, dict(eps_inside_sqrt=True, centered=True, momentum=0.5))],
    ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)] + ["SimplifiedNesterov", "RMSprop-inside", "RMSprop-inside-c"])
def test_step_updates_in_place_and_allocates_no_parameter_sized_array(ours, kwargs):
    n = 200_000  # 1.6 MB per float64 array: any temporary of that size shows in the peak
    p = Parameter(np.linspace(-1, 1, n))
    opt = ours([p], **kwargs)
    data = p.data
    p.grad = np.cos(np.arange(n, dtype=np.float64))
    opt.step()  # the first step creates the state and the scratch buffers
    state = {k: v for k, v in opt.state[p].items() if isinstance(v, np.ndarray)}
    tracemalloc.start()
    opt.step()
    opt.step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert p.data is data
    assert all(opt.state[p][k] is v for k, v in state.items())
    assert peak < p.data.nbytes // 4, f"a step allocated {peak} bytes"


def test_step_leaves_the_gradient_alone():
    p = Parameter(np.ones(3))
    g = np.array([1.0, -2.0, 3.0])
    p.grad = g.copy()
    for opt in (SGD([p], lr=0.1, weight_decay=0.5, maximize=True), Adam([p], weight_decay=0.1, maximize=True),
                AdamW([p], maximize=True), RMSprop([p], momentum=0.9, centered=True)):
        opt.step()
        assert np.array_equal(p.grad, g)


# --- the rules themselves -----------------------------------------------------------------------

def test_simplified_nesterov_tracks_classic_lookahead():
    """Θ_k of the simplified form equals θ_k + δ v_k of Sutskever's classic Nesterov."""
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
    a, _ = _run_ours(SimplifiedNesterov, dict(lr=0.03, momentum=0.9, weight_decay=0.1))
    b = _run_torch(torch.optim.SGD, dict(lr=0.03, momentum=0.9, nesterov=True, weight_decay=0.1))
    assert np.abs(a - b).max() < 1e-12


def test_rmsprop_eps_inside_sqrt_rule():
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


def test_rmsprop_centered_eps_inside_sqrt_rule():
    g1, g2 = np.array([0.5, -1.0]), np.array([1.5, 2.0])
    p = Parameter(np.zeros(2))
    opt = RMSprop([p], lr=0.1, alpha=0.5, eps=1e-2, centered=True, eps_inside_sqrt=True)
    p.grad = g1
    opt.step()
    after1 = p.data.copy()
    p.grad = g2
    opt.step()
    r = 0.5 * (0.5 * g1**2) + 0.5 * g2**2
    m = 0.5 * (0.5 * g1) + 0.5 * g2
    assert np.allclose(p.data - after1, -0.1 * g2 / np.sqrt(r - m**2 + 1e-2), rtol=1e-13)


def test_adam_with_decoupled_weight_decay_is_adamw():
    a, _ = _run_ours(Adam, dict(lr=0.05, weight_decay=0.2, decoupled_weight_decay=True, amsgrad=True))
    b, _ = _run_ours(AdamW, dict(lr=0.05, weight_decay=0.2, amsgrad=True))
    c, _ = _run_ours(Adam, dict(lr=0.05, weight_decay=0.2, amsgrad=True))
    assert np.array_equal(a, b) and np.abs(a - c).max() > 1e-3


def test_lerp_reproduces_both_ends_exactly():
    start, end, tmp = np.array([0.1, 3.0]), np.array([0.7, -1e-3]), np.empty(2)
    for w, want in [(0.0, start), (1.0, end)]:
        s = start.copy()
        _lerp_(s, end, w, tmp)
        assert np.array_equal(s, want)
    s = start.copy()
    _lerp_(s, end, 0.25, tmp)
    assert np.allclose(s, 0.75 * start + 0.25 * end, rtol=1e-15)
    s = start.copy()
    _lerp_(s, end, 0.75, tmp)
    assert np.allclose(s, 0.25 * start + 0.75 * end, rtol=1e-15)


# --- groups, zero_grad, lr, repr ----------------------------------------------------------------

def test_zero_grad_lr_property_and_groups():
    W, b = Parameter(np.ones((2, 2))), Parameter(np.ones(2))
    opt = SGD([{"params": [W]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9)
    assert opt.lr == 0.1 and opt.param_groups[1]["lr"] == 0.5
    assert opt.param_groups[1]["momentum"] == 0.9
    W.grad, b.grad = np.ones((2, 2)), np.ones(2)
    opt.zero_grad()
    assert not W.grad.any() and not b.grad.any()
    opt.lr = 0.2
    assert [g["lr"] for g in opt.param_groups] == [0.2, 0.2]
    with pytest.raises(ValueError, match="lr"):
        opt.lr = -0.1
    assert opt.lr == 0.2


def test_groups_take_their_own_rate_and_momentum():
    W, b = Parameter(np.zeros(2)), Parameter(np.zeros(2))
    opt = SGD([{"params": [W]}, {"params": [b], "lr": 0.5, "momentum": 0.5}], lr=0.1, momentum=0.9)
    for _ in range(2):
        W.grad, b.grad = np.ones(2), np.ones(2)
        opt.step()
    assert np.allclose(W.data, -0.1 * (1 + 1.9)) and np.allclose(b.data, -0.5 * (1 + 1.5))


def test_add_param_group_and_repr():
    a, b = Parameter(np.zeros(2)), Parameter(np.zeros(3))
    opt = Adam([a], lr=0.01)
    opt.add_param_group({"params": b, "eps": 1e-3})  # a single Parameter, as torch accepts
    assert opt.param_groups[1]["params"] == [b] and opt.param_groups[1]["eps"] == 1e-3
    assert opt.param_groups[1]["lr"] == 0.01
    text = repr(opt)
    assert text.startswith("Adam (") and "Parameter Group 1" in text and "eps: 0.001" in text
    with pytest.raises(TypeError, match="'params' key"):
        opt.add_param_group([b])


# --- validation ---------------------------------------------------------------------------------

@pytest.mark.parametrize("make, err, match", [
    (lambda p: SGD(p, lr=-1), ValueError, "lr"),
    (lambda p: SGD(p, lr=float("nan")), ValueError, "lr"),
    (lambda p: SGD(p, lr=float("inf")), ValueError, "lr"),
    (lambda p: SGD(p, lr=None), TypeError, "lr"),
    (lambda p: SGD(p, lr="0.1"), TypeError, "lr"),
    (lambda p: SGD(p, lr=0.1, momentum=-0.5), ValueError, "momentum"),
    (lambda p: SGD(p, lr=0.1, momentum=0.9, dampening=1.5), ValueError, "dampening"),
    (lambda p: SGD(p, lr=0.1, weight_decay=-1e-4), ValueError, "weight_decay"),
    (lambda p: SGD(p, lr=0.1, nesterov=True), ValueError, "Nesterov"),
    (lambda p: SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), ValueError, "Nesterov"),
    (lambda p: SGD([{"params": p, "momentum": 0.0}], lr=0.1, momentum=0.9, nesterov=True), ValueError, "Nesterov"),
    (lambda p: SGD([{"params": p, "lr": -1.0}], lr=0.1), ValueError, "lr"),
    (lambda p: SimplifiedNesterov(p, lr=0.1, momentum=1.0), ValueError, "momentum"),
    (lambda p: SimplifiedNesterov(p, lr=-0.1), ValueError, "lr"),
    (lambda p: SimplifiedNesterov(p, lr=0.1, weight_decay=float("inf")), ValueError, "weight_decay"),
    (lambda p: Adam(p, betas=(1.0, 0.9)), ValueError, "beta1"),
    (lambda p: Adam(p, betas=(0.9, -0.1)), ValueError, "beta2"),
    (lambda p: Adam(p, betas=(0.9,)), ValueError, "betas"),
    (lambda p: Adam(p, betas=0.9), ValueError, "betas"),
    (lambda p: Adam(p, eps=-1e-8), ValueError, "eps"),
    (lambda p: Adam(p, lr=float("nan")), ValueError, "lr"),
    (lambda p: Adam(p, weight_decay=-0.1), ValueError, "weight_decay"),
    (lambda p: AdamW(p, weight_decay=float("nan")), ValueError, "weight_decay"),
    (lambda p: AdamW([{"params": p, "betas": (0.9, 1.0)}]), ValueError, "beta2"),
    (lambda p: RMSprop(p, alpha=1.5), ValueError, "alpha"),
    (lambda p: RMSprop(p, alpha=-0.1), ValueError, "alpha"),
    (lambda p: RMSprop(p, momentum=-1), ValueError, "momentum"),
    (lambda p: RMSprop(p, eps=float("inf")), ValueError, "eps"),
    (lambda p: RMSprop(p, lr=-1), ValueError, "lr"),
    (lambda p: RMSprop(p, weight_decay=-1), ValueError, "weight_decay"),
    (lambda p: Adagrad(p, eps=float("nan")), ValueError, "eps"),
    (lambda p: Adagrad(p, lr_decay=-0.1), ValueError, "lr_decay"),
    (lambda p: Adagrad(p, initial_accumulator_value=-1), ValueError, "initial_accumulator_value"),
    (lambda p: Adagrad(p, weight_decay=-1), ValueError, "weight_decay"),
    (lambda p: Adagrad(p, lr=-1), ValueError, "lr"),
    (lambda p: Adadelta(p, rho=1.1), ValueError, "rho"),
    (lambda p: Adadelta(p, eps=-1), ValueError, "eps"),
    (lambda p: Adadelta(p, lr=-1), ValueError, "lr"),
    (lambda p: Adadelta(p, weight_decay=-1), ValueError, "weight_decay"),
    (lambda p: SGD(p[0], lr=0.1), TypeError, "single Parameter"),
    (lambda p: SGD([np.zeros(2)], lr=0.1), TypeError, "Parameter"),
    (lambda p: SGD([], lr=0.1), ValueError, "empty"),
])
def test_bad_hyperparameters_raise_naming_them(make, err, match):
    with pytest.raises(err, match=match):
        make([Parameter(np.zeros(2))])


@pytest.mark.parametrize("params", [
    lambda a, b: [a, a],
    lambda a, b: [a, b, a],
    lambda a, b: [{"params": [a]}, {"params": [a]}],
    lambda a, b: [{"params": [a, b]}, {"params": [b]}],
    lambda a, b: [{"params": [b, b]}],
])
def test_a_parameter_listed_twice_is_refused(params):
    """torch 2.13 raises across groups and only warns within one list (then moves the parameter
    twice per step); both are refused here."""
    a, b = Parameter(np.zeros(2)), Parameter(np.zeros(3))
    with pytest.raises(ValueError, match="more than once"):
        SGD(params(a, b), lr=0.1)
    opt = SGD([a], lr=0.1)
    with pytest.raises(ValueError, match="parameter 0 of group 1 .* is parameter 0 of group 0"):
        opt.add_param_group({"params": [a]})
    assert len(opt.param_groups) == 1


def test_boundary_values_are_accepted():
    p = [Parameter(np.zeros(2))]
    assert SGD(p, lr=0.0, momentum=0.0, dampening=1.0).defaults["dampening"] == 1.0
    assert RMSprop(p, alpha=1.0).defaults["alpha"] == 1.0 and RMSprop(p, alpha=0.0).defaults["alpha"] == 0.0
    assert Adadelta(p, rho=1.0).defaults["rho"] == 1.0
    assert Adam(p, betas=(0.0, 0.0), eps=0.0).defaults["betas"] == (0.0, 0.0)
    assert SimplifiedNesterov(p, lr=0.1, momentum=0.0).defaults["momentum"] == 0.0
    assert isinstance(SGD(p, lr=np.float32(0.5)).defaults["lr"], float)
    RMSprop(p, momentum=0.0, weight_decay=0.0, eps=0.0, lr=0.0)
    Adagrad(p, lr_decay=0.0, initial_accumulator_value=0.0, eps=0.0)  # a NumPy scalar becomes a float


def test_flags_are_stored_as_bools():
    p = [Parameter(np.zeros(2))]
    t = np.bool_(True)
    assert SGD(p, lr=0.1, momentum=0.9, nesterov=t, maximize=np.bool_(False)).defaults["nesterov"] is True
    assert Adam(p, amsgrad=t, maximize=t, decoupled_weight_decay=False).defaults["amsgrad"] is True
    assert RMSprop(p, centered=t, eps_inside_sqrt=t).defaults["eps_inside_sqrt"] is True
    assert all(type(v) is bool for v in Adagrad(p, maximize=t).defaults.values() if not isinstance(v, float))


_FLAGS = [(SGD, dict(lr=0.1, momentum=0.9), "nesterov"), (SGD, dict(lr=0.1), "maximize"),
          (Adagrad, {}, "maximize"), (RMSprop, {}, "centered"), (RMSprop, {}, "maximize"),
          (RMSprop, {}, "eps_inside_sqrt"), (Adadelta, {}, "maximize"), (Adam, {}, "amsgrad"),
          (Adam, {}, "maximize"), (Adam, {}, "decoupled_weight_decay"), (AdamW, {}, "amsgrad")]


@pytest.mark.parametrize("value", ["no", 1, 0, None, 1.0])
@pytest.mark.parametrize("cls, kw, flag", _FLAGS, ids=[f"{c.__name__}-{f}" for c, _, f in _FLAGS])
def test_a_flag_that_is_not_a_bool_is_refused_naming_it(cls, kw, flag, value):
    # "no" is truthy: bool("no") would have switched the flag on
    with pytest.raises(TypeError, match=f"{flag} must be a bool"):
        cls([Parameter(np.zeros(2))], **kw, **{flag: value})
    with pytest.raises(TypeError, match=f"{flag} must be a bool"):
        cls([Parameter(np.zeros(2))], **kw).add_param_group({"params": [Parameter(np.zeros(1))], flag: value})


def test_a_parameter_resized_between_steps_gets_new_buffers():
    p = Parameter(np.zeros(3))
    opt = SGD([p], lr=0.5, weight_decay=0.1)
    p.grad = np.ones(3)
    opt.step()
    p.data = np.ones(5, dtype=np.float32)  # e.g. a layer grown, or converted with Module.to
    p.grad = np.ones(5, dtype=np.float32)
    opt.step()
    assert p.data.dtype == np.float32 and np.allclose(p.data, 1 - 0.5 * 1.1)
    p.data = np.ones(2, dtype=np.float32)  # the shape alone changes
    p.grad = np.ones(2, dtype=np.float32)
    opt.step()
    assert np.allclose(p.data, 1 - 0.5 * 1.1)


def test_a_grad_of_another_dtype_or_shape_is_refused():
    p = Parameter(np.zeros(3, dtype=np.float32))
    opt = SGD([p], lr=0.1)
    p._grad = np.ones(3)  # float64, bypassing the setter
    with pytest.raises(TypeError, match="float32.*float64"):
        opt.step()
    p.data = np.zeros(4, dtype=np.float32)
    with pytest.raises(ValueError, match="shape"):
        opt.step()


# --- state_dict ---------------------------------------------------------------------------------

@pytest.mark.parametrize("cls, kwargs, torch_cls", [
    (Adam, dict(lr=0.05, amsgrad=True), torch.optim.Adam),
    (AdamW, dict(lr=0.05, amsgrad=True), torch.optim.AdamW),
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
    resumed = cls([W3, b3], lr=123.0)
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
    assert saved["param_groups"][0]["params"] == [0, 1]
    if "step" in saved["state"][0]:
        assert saved["state"][0]["step"] == 10 and resumed.state[W3]["step"] == 20


@pytest.mark.parametrize("cls, kwargs, torch_cls", [
    (RMSprop, dict(), torch.optim.RMSprop), (RMSprop, dict(centered=True), torch.optim.RMSprop),
    (Adam, dict(), torch.optim.Adam), (SGD, dict(lr=0.1), torch.optim.SGD),
])
def test_state_holds_what_torchs_holds(cls, kwargs, torch_cls):
    p, t = Parameter(np.zeros(3)), torch.zeros(3, requires_grad=True)
    mine, theirs = cls([p], **kwargs), torch_cls([t], **kwargs)
    for _ in range(3):
        p.grad, t.grad = np.ones(3), torch.ones(3)
        mine.step()
        theirs.step()
    # torch keeps momentum_buffer = None for plain SGD; no entry here
    want = {k: (float(v) if v.ndim == 0 else v.numpy())
            for k, v in theirs.state_dict()["state"].get(0, {}).items() if v is not None}
    got = mine.state_dict()["state"].get(0, {})
    assert set(got) == set(want)
    for k, v in got.items():
        assert np.allclose(v, want[k], rtol=1e-14, atol=0), k


def test_load_state_dict_casts_to_the_parameter_dtype_and_copies():
    a = Parameter(np.zeros(3))
    src = Adam([a])
    a.grad = np.ones(3)
    src.step()
    b = Parameter(np.zeros(3, dtype=np.float32))
    dst = Adam([b])
    saved = src.state_dict()
    dst.load_state_dict(saved)
    assert dst.state[b]["exp_avg"].dtype == np.float32 and dst.state[b]["step"] == 1
    b.grad = np.ones(3, dtype=np.float32)
    dst.step()
    assert b.data.dtype == np.float32 and dst.state[b]["step"] == 2
    assert saved["state"][0]["step"] == 1 and np.allclose(saved["state"][0]["exp_avg"], 0.1)
    same = Adam([Parameter(np.zeros(3))])
    same.load_state_dict(saved)
    q = same.param_groups[0]["params"][0]
    q.grad = np.ones(3)
    same.step()
    assert saved["state"][0]["step"] == 1 and np.allclose(saved["state"][0]["exp_avg"], 0.1)  # not shared


def test_load_state_dict_rejects_a_mismatch():
    a = Adam([Parameter(np.zeros(2)), Parameter(np.zeros(3))])
    for p in a.param_groups[0]["params"]:
        p.grad = np.ones(p.shape)
    a.step()
    with pytest.raises(ValueError, match="parameters"):
        Adam([Parameter(np.zeros(2))]).load_state_dict(a.state_dict())
    with pytest.raises(ValueError, match="shape"):
        Adam([Parameter(np.zeros(3)), Parameter(np.zeros(2))]).load_state_dict(a.state_dict())
    with pytest.raises(ValueError, match="groups"):
        Adam([{"params": [Parameter(np.zeros(2))]}, {"params": [Parameter(np.zeros(3))]}]).load_state_dict(a.state_dict())
    bad = a.state_dict()
    bad["state"][7] = bad["state"][0]
    with pytest.raises(ValueError, match="parameter 7"):
        Adam([Parameter(np.zeros(2)), Parameter(np.zeros(3))]).load_state_dict(bad)
    bad = a.state_dict()
    bad["param_groups"][0]["lr"] = -1.0
    with pytest.raises(ValueError, match="lr"):
        Adam([Parameter(np.zeros(2)), Parameter(np.zeros(3))]).load_state_dict(bad)


def test_optimizer_base_is_exported():
    assert issubclass(AdamW, Adam) and issubclass(Adam, Optimizer) and not math.isnan(Adam([Parameter(np.zeros(1))]).lr)


# --- torch's state, boundary hyper-parameters, messages, copies ---------------------------------


def _names(exc: pytest.ExceptionInfo, *names: str) -> bool:
    """Each of ``names`` appears in the message as a word of its own."""
    import re

    return all(re.search(rf"(?<![\w]){re.escape(n)}(?![\w])", str(exc.value)) for n in names)


_GRADS = [np.array([0.3, -1.2, 2.0]), np.array([-0.7, 0.4, 1.1]), np.array([1.5, 0.2, -0.6]), np.array([0.1, -0.9, 0.8])]


def _twins(cls, torch_cls, **kw):
    """Our optimizer and torch's on one parameter each, stepped with the same gradients."""
    p = Parameter(np.array([1.0, -2.0, 0.5]))
    t = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64, requires_grad=True)
    ours, theirs = cls([p], **kw), torch_cls([t], **kw)

    def step(g):
        p.grad = g.copy()
        t.grad = torch.tensor(g)
        ours.step()
        theirs.step()

    return p, t, ours, theirs, step


@pytest.mark.parametrize("cls, torch_cls, kw", [
    (Adam, torch.optim.Adam, {}), (Adagrad, torch.optim.Adagrad, {}), (Adadelta, torch.optim.Adadelta, {}),
    (RMSprop, torch.optim.RMSprop, {}), (RMSprop, torch.optim.RMSprop, dict(momentum=0.9, centered=True)),
])
def test_the_state_holds_torchs_keys_and_step_count(cls, torch_cls, kw):
    p, t, ours, theirs, step = _twins(cls, torch_cls, **kw)
    for g in _GRADS[:3]:
        step(g)
    assert set(ours.state[p]) == set(theirs.state[t])
    assert ours.state[p]["step"] == int(theirs.state[t]["step"]) == 3


@pytest.mark.parametrize("cls, torch_cls, kw", [
    (SGD, torch.optim.SGD, dict(lr=0.1, momentum=1.0)),
    (SGD, torch.optim.SGD, dict(lr=0.1, weight_decay=1.0)),
    (SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.5, weight_decay=1.0, maximize=True)),
    (AdamW, torch.optim.AdamW, dict(lr=0.1, weight_decay=1.0)),
    (Adam, torch.optim.Adam, dict(lr=0.1, betas=(0.5, 0.9))),
])
def test_boundary_hyper_parameters_equal_torch(cls, torch_cls, kw):
    p, t, ours, theirs, step = _twins(cls, torch_cls, **kw)
    for g in _GRADS:
        step(g)
        np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-13, atol=1e-15)


def test_adam_first_moment_with_a_weight_of_one_half_is_torchs_lerp_bit_for_bit():
    # 1 − β₁ = 0.5 is where torch's lerp switches to its second formula, end − (end − start)(1 − w)
    p, t, ours, theirs, step = _twins(Adam, torch.optim.Adam, lr=0.1, betas=(0.5, 0.999))
    for g in _GRADS:
        step(g)
    np.testing.assert_array_equal(ours.state[p]["exp_avg"], theirs.state[t]["exp_avg"].numpy())


def test_rmsprop_momentum_switched_on_later_starts_its_buffer_at_zero():
    p = Parameter(np.array([1.0, -2.0, 0.5]))
    opt = RMSprop([p], lr=0.01, momentum=0.0)
    p.grad = _GRADS[0].copy()
    opt.step()
    opt.param_groups[0]["momentum"] = 0.9
    buf = np.zeros(3)
    for g in _GRADS[1:]:
        before = p.data.copy()
        p.grad = g.copy()
        opt.step()
        r = opt.state[p]["square_avg"]
        buf = 0.9 * buf + g / (np.sqrt(r) + 1e-8)  # b ← μ b + g / (√r + δ), from b = 0
        np.testing.assert_allclose(opt.state[p]["momentum_buffer"], buf, rtol=1e-12)
        np.testing.assert_allclose(p.data, before - 0.01 * buf, rtol=1e-12)


def test_scratch_buffers_follow_a_parameter_converted_to_float32():
    def run(convert_after_first_step):
        p = Parameter(np.array([1.0, -2.0, 0.5]))
        opt = SGD([p], lr=0.1, weight_decay=0.3, maximize=True)
        if not convert_after_first_step:
            p.to(np.float32)
        for i, g in enumerate(_GRADS):
            if convert_after_first_step and i == 1:
                p.to(np.float32)
            p.grad = g.astype(p.data.dtype)
            opt.step()
        return p.data

    late, early = run(True), run(False)
    assert late.dtype == np.float32
    # after the conversion, every step computes in float32 (fresh float32 scratch space)
    p = Parameter(np.array([1.0, -2.0, 0.5]))
    opt = SGD([p], lr=0.1, weight_decay=0.3, maximize=True)
    p.grad = _GRADS[0].copy()
    opt.step()
    q = Parameter(p.data.astype(np.float32))
    fresh = SGD([q], lr=0.1, weight_decay=0.3, maximize=True)
    for g in _GRADS[1:]:
        q.grad = g.astype(np.float32)
        fresh.step()
    np.testing.assert_array_equal(late, q.data)
    assert early.dtype == np.float32


def test_a_parameter_whose_data_changed_dtype_under_its_grad_is_refused_with_advice():
    p = Parameter(np.ones(3))
    p.grad = np.ones(3)
    p.data = p.data.astype(np.float32)  # bypasses Parameter.to: the grad is still float64
    with pytest.raises(TypeError, match=r"the optimizer keeps the parameter's dtype, so give it a grad of that dtype$"):
        SGD([p], lr=0.1).step()


def test_messages_name_the_beta_and_say_what_nesterov_needs():
    p = Parameter(np.ones(2))
    with pytest.raises(ValueError) as exc:
        Adam([p], betas=(1.5, 0.9))
    assert _names(exc, "beta1"), str(exc.value)
    with pytest.raises(ValueError) as exc:
        Adam([p], betas=(0.9, 1.5))
    assert _names(exc, "beta2"), str(exc.value)
    with pytest.raises(ValueError, match=r"^Nesterov momentum requires momentum > 0 and dampening = 0, got momentum=0"):
        SGD([p], lr=0.1, nesterov=True)


def test_a_group_without_params_is_refused():
    opt = SGD([Parameter(np.ones(2))], lr=0.1)
    with pytest.raises(TypeError, match="'params' key"):
        opt.add_param_group({"lr": 0.1})


def test_loading_a_state_dict_copies_its_arrays():
    p = Parameter(np.array([1.0, -2.0, 0.5]))
    opt = Adam([p], lr=0.1)
    p.grad = _GRADS[0].copy()
    opt.step()
    saved = opt.state_dict()
    kept = {k: v.copy() for k, v in saved["state"][0].items() if isinstance(v, np.ndarray)}
    opt2 = Adam([p], lr=0.1)
    opt2.load_state_dict(saved)
    p.grad = _GRADS[1].copy()
    opt2.step()  # updates opt2's state in place: the saved dict must not move
    for k, v in kept.items():
        np.testing.assert_array_equal(saved["state"][0][k], v)
    assert saved["param_groups"][0]["params"] == [0]  # indices, as torch


def test_repr_lists_each_group_and_its_hyper_parameters_like_torch():
    opt = SGD([Parameter(np.ones(2))], lr=0.1, momentum=0.9)
    lines = repr(opt).split("\n")
    assert lines[0] == "SGD (" and lines[1] == "Parameter Group 0" and lines[-1] == ")"
    assert "    lr: 0.1" in lines and "    momentum: 0.9" in lines
    assert not any(line.strip().startswith("params") for line in lines)
    torch_lines = repr(torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.1, momentum=0.9)).split("\n")
    assert torch_lines[0] == "SGD (" and torch_lines[1] == "Parameter Group 0" and torch_lines[-1] == ")"


def test_construction_messages_say_what_was_wrong():
    p = Parameter(np.ones(2))
    with pytest.raises(TypeError, match=r"^params must be an iterable of Parameters \(e\.g\. model\.parameters\(\)\), "
                                         r"got a single Parameter; wrap it in a list$"):
        SGD(p, lr=0.1)
    with pytest.raises(ValueError, match=r"^optimizer got an empty parameter list$"):
        SGD([], lr=0.1)


# --- delta-bar-delta (Jacobs, 1988): no torch twin; a scalar reference loop is the oracle -------

def _delta_bar_delta_reference(grad, theta0, steps, lr, kappa, phi, theta):
    """Jacobs' rule written entry by entry with Python floats."""
    w = [float(v) for v in theta0]
    eta, bar = [lr] * len(w), [0.0] * len(w)
    path = [list(w)]
    for _ in range(steps):
        g = [float(v) for v in grad(np.array(w))]
        for i in range(len(w)):
            if bar[i] * g[i] > 0:
                eta[i] += kappa
            elif bar[i] * g[i] < 0:
                eta[i] *= 1 - phi
            w[i] -= eta[i] * g[i]
            bar[i] = (1 - theta) * g[i] + theta * bar[i]
        path.append(list(w))
    return np.array(path), np.array(eta)


@pytest.mark.parametrize("kw", [dict(lr=0.01, kappa=0.002, phi=0.3, theta=0.7), dict(lr=0.05, kappa=0.0, phi=0.5, theta=0.0)])
def test_delta_bar_delta_equals_the_scalar_reference(kw):
    from dlcourse.lecture import surfaces
    from dlcourse.optim import DeltaBarDelta

    surf = surfaces.quadratic(condition=20, angle=0.5)
    path = surfaces.trajectory(lambda p: DeltaBarDelta(p, **kw), surf, start=(-2.0, 1.0), steps=60)
    ref, eta = _delta_bar_delta_reference(surf.grad, (-2.0, 1.0), 60, **kw)
    np.testing.assert_allclose(path, ref, rtol=1e-13, atol=1e-15)
    p = Parameter(np.array([-2.0, 1.0]))
    opt = DeltaBarDelta([p], **kw)
    for _ in range(60):
        p.grad = surf.grad(p.data)
        opt.step()
    np.testing.assert_allclose(opt.state[p]["lr"], eta, rtol=1e-13)


def test_delta_bar_delta_speeds_up_along_a_slope_and_slows_down_when_it_oscillates():
    from dlcourse.optim import DeltaBarDelta

    p = Parameter(np.array([0.0, 1.0]))
    opt = DeltaBarDelta([p], lr=0.1, kappa=0.05, phi=0.5, theta=0.5)
    for k in range(10):
        p.grad = np.array([1.0, (-1.0) ** k])  # a constant slope in θ1, a sign flip every step in θ2
        opt.step()
    rate = opt.state[p]["lr"]
    assert rate[0] == pytest.approx(0.1 + 9 * 0.05)  # +κ at every step after the first
    assert rate[1] == pytest.approx(0.1 * 0.5**9)  # ×(1 − φ) at every step after the first


def test_delta_bar_delta_is_in_place_keeps_float32_and_checks_its_hyper_parameters():
    from dlcourse.optim import DeltaBarDelta

    n = 200_000
    p = Parameter(np.linspace(-1, 1, n))
    opt = DeltaBarDelta([p])
    p.grad = np.cos(np.arange(n, dtype=np.float64))
    opt.step()
    tracemalloc.start()
    opt.step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < p.data.nbytes // 4
    q = Parameter(np.ones(3, dtype=np.float32))
    opt32 = DeltaBarDelta([q], lr=0.1)
    for _ in range(3):
        q.grad = np.ones(3, dtype=np.float32)
        opt32.step()
    assert q.data.dtype == np.float32 and all(v.dtype == np.float32 for v in opt32.state[q].values()
                                              if isinstance(v, np.ndarray))
    with pytest.raises(ValueError, match="phi"):
        DeltaBarDelta([q], phi=1.0)
    with pytest.raises(ValueError, match="kappa"):
        DeltaBarDelta([q], kappa=-0.1)
