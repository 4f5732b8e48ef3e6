"""Learning-rate schedules against torch.optim.lr_scheduler (and the closed forms of deck 004)."""

import math

import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler as tls

from dlcourse.nn import Parameter
from dlcourse.optim import SGD, Adam
from dlcourse.optim.schedules import (
    CosineAnnealingWarmRestarts,
    ExponentialLR,
    InverseDecay,
    OneCycleLR,
    StepLR,
)


def _pair(opt_cls=SGD, torch_cls=torch.optim.SGD, **kw):
    ours = opt_cls([{"params": [Parameter(np.zeros(2))]}, {"params": [Parameter(np.zeros(1))], "lr": 0.03}], **kw)
    theirs = torch_cls([{"params": [torch.zeros(2, requires_grad=True)]},
                        {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.03}], **kw)
    return ours, theirs


def _lrs(sched, opt, n, momentum_key=None):
    out = []
    for _ in range(n):
        row = list(sched.get_last_lr())
        if momentum_key == "momentum":
            row += [g["momentum"] for g in opt.param_groups]
        elif momentum_key == "betas":
            row += [g["betas"][0] for g in opt.param_groups]
        out.append(row)
        opt.step()
        sched.step()
    return np.array(out)


@pytest.mark.parametrize("step_size, gamma", [(3, 0.1), (1, 0.5), (7, 0.9)])
def test_step_lr(step_size, gamma):
    o, t = _pair(lr=0.1)
    a = _lrs(StepLR(o, step_size, gamma), o, 30)
    b = _lrs(tls.StepLR(t, step_size, gamma), t, 30)
    assert np.allclose(a, b, rtol=1e-12, atol=0)


@pytest.mark.parametrize("decay", [0.05, 0.3])
def test_exponential_lr_is_torch_exponential_lr_and_the_decay_exp_minus_k_delta(decay):
    o, t = _pair(lr=0.1)
    a = _lrs(ExponentialLR(o, math.exp(-decay)), o, 40)
    b = _lrs(tls.ExponentialLR(t, gamma=math.exp(-decay)), t, 40)
    assert np.allclose(a, b, rtol=1e-12, atol=0)
    assert np.allclose(a[:, 0], 0.1 * np.exp(-decay * np.arange(40)), rtol=1e-14)


@pytest.mark.parametrize("decay", [0.1, 1.0])
def test_inverse_decay_is_torch_lambda_lr(decay):
    o, t = _pair(lr=0.1)
    a = _lrs(InverseDecay(o, decay), o, 40)
    b = _lrs(tls.LambdaLR(t, lambda k: 1 / (1 + k * decay)), t, 40)
    assert np.allclose(a, b, rtol=1e-12, atol=0)
    assert np.isclose(a[10, 0], 0.1 / (1 + 10 * decay))


@pytest.mark.parametrize("kw", [
    dict(total_steps=50),
    dict(total_steps=37, pct_start=0.4, anneal_strategy="linear", div_factor=10, final_div_factor=100),
    dict(epochs=5, steps_per_epoch=9, three_phase=True),
    dict(total_steps=40, cycle_momentum=False),
    dict(total_steps=40, base_momentum=0.7, max_momentum=0.9),
])
@pytest.mark.parametrize("optim", ["sgd", "adam"])
def test_one_cycle_equals_torch(kw, optim):
    if optim == "sgd":
        o, t = _pair(lr=0.1, momentum=0.9)
        key = "momentum"
    else:
        o, t = _pair(Adam, torch.optim.Adam, lr=0.1)
        key = "betas"
    n = kw.get("total_steps") or kw["epochs"] * kw["steps_per_epoch"]
    a = _lrs(OneCycleLR(o, max_lr=[1.0, 0.5], **kw), o, n, key)
    b = _lrs(tls.OneCycleLR(t, max_lr=[1.0, 0.5], **kw), t, n, key)
    assert np.allclose(a, b, rtol=1e-12, atol=1e-15)
    assert np.isclose(a[:, 0].max(), 1.0, rtol=0.05)  # reaches max_lr


@pytest.mark.parametrize("T_0, T_mult, eta_min", [(10, 1, 0.0), (5, 2, 1e-3), (3, 3, 0.01)])
def test_cosine_warm_restarts_equals_torch(T_0, T_mult, eta_min):
    o, t = _pair(lr=0.1)
    a = _lrs(CosineAnnealingWarmRestarts(o, T_0, T_mult, eta_min), o, 60)
    b = _lrs(tls.CosineAnnealingWarmRestarts(t, T_0, T_mult, eta_min), t, 60)
    assert np.allclose(a, b, rtol=1e-12, atol=1e-15)
    assert a[T_0, 0] == pytest.approx(0.1)  # warm restart back to η0


def test_cosine_warm_restarts_fractional_epochs_equal_torch():
    o, t = _pair(lr=0.1)
    s, r = CosineAnnealingWarmRestarts(o, 4, 2, 0.001), tls.CosineAnnealingWarmRestarts(t, 4, 2, 0.001)
    for epoch in np.arange(0, 30, 0.37):
        s.step(float(epoch))
        r.step(float(epoch))
        assert np.allclose(s.get_last_lr(), r.get_last_lr(), rtol=1e-12)


def test_schedule_drives_the_optimizer():
    p = Parameter(np.zeros(1))
    opt = SGD([p], lr=1.0)
    sched = StepLR(opt, step_size=1, gamma=0.5)
    for _k in range(3):
        p.grad = np.ones(1)
        opt.step()
        sched.step()
    assert np.allclose(p.data, -(1 + 0.5 + 0.25))  # the rate used at step k was 0.5ᵏ
    assert opt.lr == 0.125


@pytest.mark.parametrize("make", [
    lambda o: StepLR(o, 0),
    lambda o: StepLR(o, 2.5),
    lambda o: ExponentialLR(o, -1),
    lambda o: ExponentialLR(o, 0.0),
    lambda o: OneCycleLR(o, 1.0),
    lambda o: OneCycleLR(o, 1.0, total_steps=10, pct_start=1.5),
    lambda o: CosineAnnealingWarmRestarts(o, 0),
    lambda o: StepLR("not an optimizer", 2),
])
def test_bad_arguments_raise(make):
    with pytest.raises((ValueError, TypeError)):
        make(SGD([Parameter(np.zeros(1))], lr=0.1))


def test_one_cycle_overrun_raises():
    o = SGD([Parameter(np.zeros(1))], lr=0.1, momentum=0.9)
    s = OneCycleLR(o, 1.0, total_steps=3)
    for _ in range(3):
        s.step()
    with pytest.raises(ValueError, match="total_steps"):
        s.step()
