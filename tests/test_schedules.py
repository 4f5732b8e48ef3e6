"""Learning-rate schedules against torch.optim.lr_scheduler (and the closed forms of the Ensimag lecture,
see docs/references.md)."""

import inspect
import math

import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler as tls

from dlcourse.nn import Parameter
from dlcourse.optim import SGD, Adagrad, Adam
from dlcourse.optim.schedules import (
    CosineAnnealingWarmRestarts,
    ExponentialLR,
    InverseDecay,
    LinearLR,
    OneCycleLR,
    ReduceLROnPlateau,
    StepLR,
)

PAIRS = [(StepLR, tls.StepLR), (ExponentialLR, tls.ExponentialLR), (LinearLR, tls.LinearLR),
         (OneCycleLR, tls.OneCycleLR), (CosineAnnealingWarmRestarts, tls.CosineAnnealingWarmRestarts),
         (ReduceLROnPlateau, tls.ReduceLROnPlateau)]


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


def test_one_cycle_overrun_raises():
    o = SGD([Parameter(np.zeros(1))], lr=0.1, momentum=0.9)
    s = OneCycleLR(o, 1.0, total_steps=3)
    for _ in range(3):
        s.step()
    with pytest.raises(ValueError, match="total_steps"):
        s.step()


@pytest.mark.parametrize("ours, theirs", PAIRS, ids=[c.__name__ for c, _ in PAIRS])
def test_signature_and_defaults_are_torchs(ours, theirs):
    mine = inspect.signature(ours).parameters
    torch_params = {n: p for n, p in inspect.signature(theirs).parameters.items() if n != "last_epoch"}
    assert list(mine) == list(torch_params)  # resuming goes through load_state_dict, not last_epoch
    for name, param in mine.items():
        assert param.default == torch_params[name].default, name
        assert type(param.default) is type(torch_params[name].default) or float(param.default) == 0, name


def test_step_lr_default_gamma_is_used():
    o, t = _pair(lr=0.1)
    a = _lrs(StepLR(o, 2), o, 9)
    b = _lrs(tls.StepLR(t, 2), t, 9)
    assert np.allclose(a, b, rtol=1e-12, atol=0) and a[2, 0] == pytest.approx(0.01)


@pytest.mark.parametrize("kw", [dict(), dict(start_factor=0.1, end_factor=0.5, total_iters=8),
                                dict(start_factor=1.0, end_factor=0.0, total_iters=3), dict(total_iters=1)])
def test_linear_lr_equals_torch(kw):
    o, t = _pair(lr=0.1)
    a = _lrs(LinearLR(o, **kw), o, 15)
    b = _lrs(tls.LinearLR(t, **kw), t, 15)
    assert np.allclose(a, b, rtol=1e-12, atol=1e-15)
    end = kw.get("end_factor", 1.0)
    assert np.allclose(a[-1], [0.1 * end, 0.03 * end], rtol=1e-12)  # constant after total_iters


def _plateau_pair(**kw):
    o, t = _pair(lr=0.1)
    return o, ReduceLROnPlateau(o, **kw), t, tls.ReduceLROnPlateau(t, **kw)


_METRICS = [1.0, 0.9, 0.95, 0.9, 0.89995, 0.92, 0.93, 0.91, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 0.4, 0.45,
            0.41, 0.42, 0.43, 0.44, 0.46, 0.47, 0.48, -0.2, -0.1, -0.19, -0.3, -0.25, -0.27,
            -0.27, -0.27, 2.0, 2.0, 1.0, 1.0] * 2  # ties: equal is not better


@pytest.mark.parametrize("kw", [
    dict(),
    dict(patience=0),
    dict(patience=2, factor=0.5),
    dict(patience=1, cooldown=2),
    dict(patience=1, threshold=0.05, threshold_mode="abs"),
    dict(patience=1, threshold=0.1),
    dict(mode="max", patience=1),
    dict(mode="max", patience=2, threshold=0.02, threshold_mode="abs", cooldown=1),
    dict(patience=0, min_lr=0.02),
    dict(patience=0, min_lr=[0.05, 1e-3], factor=0.7),
    dict(patience=0, factor=0.9999999, eps=1e-8),
    dict(patience=0, factor=0.5, eps=0.02),
    dict(mode="max", patience=0, threshold=0.3, threshold_mode="abs"),
    dict(mode="max", patience=0, threshold=0.0),
    dict(patience=0, threshold=0.0, threshold_mode="abs", eps=0.0),
])
def test_reduce_lr_on_plateau_equals_torch_step_by_step(kw):
    o, s, t, r = _plateau_pair(**kw)
    assert s.get_last_lr() == r.get_last_lr() == [0.1, 0.03]
    assert (s.best, s.num_bad_epochs, s.cooldown_counter, s.last_epoch) == \
        (r.best, r.num_bad_epochs, r.cooldown_counter, r.last_epoch)
    for m in _METRICS:
        s.step(m)
        r.step(m)
        assert s.get_last_lr() == pytest.approx(r.get_last_lr(), rel=1e-15)
        assert [g["lr"] for g in o.param_groups] == s.get_last_lr()
        assert (s.best, s.num_bad_epochs, s.cooldown_counter, s.last_epoch) == \
            (r.best, r.num_bad_epochs, r.cooldown_counter, r.last_epoch)


def test_reduce_lr_on_plateau_waits_patience_epochs_then_divides():
    o = SGD([Parameter(np.zeros(1))], lr=1.0)
    s = ReduceLROnPlateau(o, patience=2, factor=0.5)
    rates = []
    for m in [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]:
        s.step(m)
        rates.append(o.lr)
    # epoch 1 sets the best; epochs 2, 3 are bad (patience 2); the 3rd bad epoch (4) divides
    assert rates == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]
    s.step(np.float32(0.1))  # any real scalar
    assert s.best == pytest.approx(0.1)


@pytest.mark.parametrize("make, err, match", [
    (lambda o: ReduceLROnPlateau(o, mode="minimum"), ValueError, "mode"),
    (lambda o: ReduceLROnPlateau(o, threshold_mode="relative"), ValueError, "threshold_mode"),
    (lambda o: ReduceLROnPlateau(o, factor=1.0), ValueError, "factor"),
    (lambda o: ReduceLROnPlateau(o, factor=-0.1), ValueError, "factor"),
    (lambda o: ReduceLROnPlateau(o, patience=-1), ValueError, "patience"),
    (lambda o: ReduceLROnPlateau(o, patience=1.5), ValueError, "patience"),
    (lambda o: ReduceLROnPlateau(o, cooldown=-1), ValueError, "cooldown"),
    (lambda o: ReduceLROnPlateau(o, threshold=-1e-4), ValueError, "threshold"),
    (lambda o: ReduceLROnPlateau(o, min_lr=-1.0), ValueError, "min_lr"),
    (lambda o: ReduceLROnPlateau(o, min_lr=[0.0, 0.0]), ValueError, "min_lr"),
    (lambda o: ReduceLROnPlateau(o, eps=float("nan")), ValueError, "eps"),
    (lambda o: ReduceLROnPlateau("sgd"), TypeError, "optimizer"),
    (lambda o: ReduceLROnPlateau(o).step(float("nan")), ValueError, "metrics"),
    (lambda o: ReduceLROnPlateau(o).step(None), TypeError, "metrics"),
    (lambda o: LinearLR(o, start_factor=0.0), ValueError, "start_factor"),
    (lambda o: LinearLR(o, start_factor=1.5), ValueError, "start_factor"),
    (lambda o: LinearLR(o, end_factor=1.5), ValueError, "end_factor"),
    (lambda o: LinearLR(o, end_factor=-0.1), ValueError, "end_factor"),
    (lambda o: LinearLR(o, total_iters=0), ValueError, "total_iters"),
    (lambda o: StepLR(o, 0), ValueError, "step_size"),
    (lambda o: StepLR(o, 2.5), ValueError, "step_size"),
    (lambda o: StepLR(o, 2.0), ValueError, "step_size"),
    (lambda o: StepLR(o, 2, gamma=float("nan")), ValueError, "gamma"),
    (lambda o: StepLR(o, 2, gamma=0.0), ValueError, "gamma"),
    (lambda o: ExponentialLR(o, -1), ValueError, "gamma"),
    (lambda o: ExponentialLR(o, 0.0), ValueError, "gamma"),
    (lambda o: ExponentialLR(o, float("inf")), ValueError, "gamma"),
    (lambda o: InverseDecay(o, -0.1), ValueError, "decay"),
    (lambda o: OneCycleLR(o, 1.0), ValueError, "total_steps"),
    (lambda o: OneCycleLR(o, 1.0, epochs=3), ValueError, "total_steps"),
    (lambda o: OneCycleLR(o, 1.0, total_steps=0), ValueError, "total_steps"),
    (lambda o: OneCycleLR(o, 1.0, total_steps=10.0), ValueError, "total_steps"),
    (lambda o: OneCycleLR(o, 1.0, epochs=0, steps_per_epoch=3), ValueError, "epochs"),
    (lambda o: OneCycleLR(o, 1.0, epochs=2, steps_per_epoch=1.5), ValueError, "steps_per_epoch"),
    (lambda o: OneCycleLR(o, 1.0, total_steps=10, pct_start=1.5), ValueError, "pct_start"),
    (lambda o: OneCycleLR(o, 1.0, total_steps=10, pct_start=0.0), ValueError, "pct_start"),
    (lambda o: OneCycleLR(o, 1.0, total_steps=10, pct_start=1.0), ValueError, "pct_start"),
    (lambda o: OneCycleLR(o, 1.0, total_steps=10, anneal_strategy="cosine"), ValueError, "anneal_strategy"),
    (lambda o: OneCycleLR(o, -1.0, total_steps=10), ValueError, "max_lr"),
    (lambda o: OneCycleLR(o, [1.0, 2.0], total_steps=10), ValueError, "max_lr"),
    (lambda o: OneCycleLR(o, 1.0, total_steps=10, div_factor=0), ValueError, "div_factor"),
    (lambda o: OneCycleLR(o, 1.0, total_steps=10, final_div_factor=-1), ValueError, "final_div_factor"),
    (lambda o: OneCycleLR(o, 1.0, total_steps=10, max_momentum=1.0), ValueError, "max_momentum"),
    (lambda o: OneCycleLR(o, 1.0, total_steps=10, base_momentum=-0.1), ValueError, "base_momentum"),
    (lambda o: OneCycleLR(Adagrad([Parameter(np.zeros(1))]), 1.0, total_steps=10), ValueError, "cycle_momentum"),
    (lambda o: CosineAnnealingWarmRestarts(o, 0), ValueError, "T_0"),
    (lambda o: CosineAnnealingWarmRestarts(o, 2.0), ValueError, "T_0"),
    (lambda o: CosineAnnealingWarmRestarts(o, 5, T_mult=0), ValueError, "T_mult"),
    (lambda o: CosineAnnealingWarmRestarts(o, 5, T_mult=1.5), ValueError, "T_mult"),
    (lambda o: CosineAnnealingWarmRestarts(o, 5, eta_min=-1e-3), ValueError, "eta_min"),
    (lambda o: CosineAnnealingWarmRestarts(o, 5).step(-1), ValueError, "epoch"),
    (lambda o: StepLR("not an optimizer", 2), TypeError, "optimizer"),
])
def test_bad_arguments_raise_naming_them(make, err, match):
    with pytest.raises(err, match=match):
        make(SGD([Parameter(np.zeros(1))], lr=0.1, momentum=0.9))


def test_cosine_warm_restarts_defaults_t_mult_1_and_eta_min_0():
    o, t = _pair(lr=0.1)
    a = _lrs(CosineAnnealingWarmRestarts(o, 4), o, 13)
    b = _lrs(tls.CosineAnnealingWarmRestarts(t, 4), t, 13)
    assert np.allclose(a, b, rtol=1e-12, atol=1e-15)
    assert a[2, 0] == pytest.approx(0.05) and a[4, 0] == pytest.approx(0.1) and a[8, 0] == pytest.approx(0.1)


@pytest.mark.parametrize("T_0, T_mult", [(4, 1), (3, 2), (2, 3)])
def test_cosine_warm_restarts_epoch_jumps_and_interleaving_equal_torch(T_0, T_mult):
    o, t = _pair(lr=0.1)
    s, r = CosineAnnealingWarmRestarts(o, T_0, T_mult, 0.002), tls.CosineAnnealingWarmRestarts(t, T_0, T_mult, 0.002)
    # 1.5 then step(): T_cur 2.5, over T_0 = 2 (restart at 0.5); 3.5 then step() crosses T_0 = 3 or 4
    for epoch in [0, 5, 3, 17, 17.5, None, None, 2.25, 40, None, 12, 0.0, None, 100.75, None,
                  1.5, None, 3.5, None, None]:
        s.step(epoch)
        r.step(epoch)
        assert s.get_last_lr() == pytest.approx(r.get_last_lr(), rel=1e-12)
        assert (s.T_i, s.last_epoch) == (r.T_i, r.last_epoch)
        assert s.T_cur == pytest.approx(r.T_cur, abs=1e-12)


def test_one_cycle_three_phase_shape():
    o = SGD([Parameter(np.zeros(1))], lr=0.1, momentum=0.9)
    s = OneCycleLR(o, 1.0, total_steps=20, pct_start=0.25, three_phase=True, anneal_strategy="linear")
    lrs = _lrs(s, o, 20)[:, 0]
    assert lrs[0] == pytest.approx(0.04) and lrs[4] == pytest.approx(1.0)  # up over 25 %
    assert lrs[8] == pytest.approx(0.04)  # back down, symmetrically
    assert lrs[19] == pytest.approx(0.04 / 1e4)  # then to max_lr / (div · final_div)


def test_one_cycle_per_group_momenta_equal_torch():
    o, t = _pair(lr=0.1, momentum=0.9)
    kw = dict(total_steps=12, base_momentum=[0.8, 0.7], max_momentum=[0.9, 0.95])
    a = _lrs(OneCycleLR(o, [1.0, 0.5], **kw), o, 12, "momentum")
    b = _lrs(tls.OneCycleLR(t, [1.0, 0.5], **kw), t, 12, "momentum")
    assert np.allclose(a, b, rtol=1e-12, atol=1e-15)


def test_one_cycle_steps_once_past_the_end_then_raises():
    o, t = _pair(lr=0.1, momentum=0.9)
    s, r = OneCycleLR(o, 1.0, total_steps=5), tls.OneCycleLR(t, 1.0, total_steps=5)
    for _ in range(5):  # torch allows total_steps steps after construction (one past the last rate)
        o.step()
        t.step()
        s.step()
        r.step()
    assert s.get_last_lr() == pytest.approx(r.get_last_lr(), rel=1e-12)
    with pytest.raises(ValueError, match="total_steps"):
        s.step()
    with pytest.raises(ValueError):
        r.step()


@pytest.mark.parametrize("make", [
    lambda o: StepLR(o, 3, 0.5),
    lambda o: LinearLR(o, 0.2, 1.0, 6),
    lambda o: OneCycleLR(o, 1.0, total_steps=30),
    lambda o: CosineAnnealingWarmRestarts(o, 3, 2, 1e-3),
    lambda o: ReduceLROnPlateau(o, patience=1, cooldown=1),
])
def test_state_dict_round_trip_resumes_the_schedule(make):
    def drive(s, o, n, start=0):
        out = []
        for k in range(start, start + n):
            if isinstance(s, ReduceLROnPlateau):
                s.step(_METRICS[k])
            else:
                s.step()
            out.append(list(s.get_last_lr()) + [g.get("momentum") for g in o.param_groups])
        return out

    o1, _ = _pair(lr=0.1, momentum=0.9)
    straight = drive(make(o1), o1, 20)
    o2, _ = _pair(lr=0.1, momentum=0.9)
    s2 = make(o2)
    drive(s2, o2, 8)
    saved, opt_saved = s2.state_dict(), o2.state_dict()
    assert "optimizer" not in saved
    o3, _ = _pair(lr=0.1, momentum=0.9)
    s3 = make(o3)
    o3.load_state_dict(opt_saved)
    s3.load_state_dict(saved)
    assert np.allclose(drive(s3, o3, 12, start=8), straight[8:], rtol=1e-12, atol=0)


def test_zero_boundaries_are_accepted():
    o = SGD([Parameter(np.zeros(1))], lr=0.1)
    assert InverseDecay(o, 0.0).get_last_lr() == [0.1]
    ReduceLROnPlateau(o, threshold=0.0, eps=0.0, min_lr=0.0, patience=0, cooldown=0)


def test_rates_are_python_floats_and_keep_a_float32_model_float32():
    p = Parameter(np.zeros(3, dtype=np.float32))
    o = Adam([p], lr=np.float64(0.1))
    scheds = [LinearLR(o), ExponentialLR(o, np.float64(0.9)), CosineAnnealingWarmRestarts(o, 2)]
    plateau = ReduceLROnPlateau(o, patience=0, factor=np.float64(0.5))
    for k in range(6):
        p.grad = np.ones(3, dtype=np.float32)
        o.step()
        for s in scheds:
            s.step()
        plateau.step(np.float64(1.0))
        assert type(o.lr) is float, k
    assert p.data.dtype == np.float32 and o.state[p]["exp_avg"].dtype == np.float32


# --- messages name the argument as a word, plateau edge cases vs torch -------------------------


def _names(exc: pytest.ExceptionInfo, *names: str) -> bool:
    """Each of ``names`` appears in the message as a word of its own (``gamma``, not ``XXgammaXX``)."""
    import re

    return all(re.search(rf"(?<![\w]){re.escape(n)}(?![\w])", str(exc.value)) for n in names)


def _sgd(groups=1):
    return SGD([{"params": [Parameter(np.zeros(1))]} for _ in range(groups)], lr=0.1, momentum=0.9)


_NAMED_ERRORS = [
    (lambda o: StepLR(o, 0), ValueError, ("step_size",)),
    (lambda o: StepLR(o, 2, gamma=0.0), ValueError, ("gamma",)),
    (lambda o: ExponentialLR(o, -1.0), ValueError, ("gamma",)),
    (lambda o: InverseDecay(o, -0.1), ValueError, ("decay",)),
    (lambda o: LinearLR(o, start_factor=0.0), ValueError, ("start_factor",)),
    (lambda o: LinearLR(o, end_factor=1.5), ValueError, ("end_factor",)),
    (lambda o: LinearLR(o, total_iters=0), ValueError, ("total_iters",)),
    (lambda o: OneCycleLR(o, 1.0), ValueError, ("total_steps", "epochs", "steps_per_epoch")),
    (lambda o: OneCycleLR(o, 1.0, total_steps=0), ValueError, ("total_steps",)),
    (lambda o: OneCycleLR(o, 1.0, epochs=0, steps_per_epoch=3), ValueError, ("epochs",)),
    (lambda o: OneCycleLR(o, 1.0, epochs=2, steps_per_epoch=0), ValueError, ("steps_per_epoch",)),
    (lambda o: OneCycleLR(o, 1.0, total_steps=10, pct_start=1.0), ValueError, ("pct_start",)),
    (lambda o: OneCycleLR(o, 1.0, total_steps=10, anneal_strategy="cosine"), ValueError, ("anneal_strategy",)),
    (lambda o: OneCycleLR(o, 1.0, total_steps=10, div_factor=0), ValueError, ("div_factor",)),
    (lambda o: OneCycleLR(o, 1.0, total_steps=10, final_div_factor=0), ValueError, ("final_div_factor",)),
    (lambda o: OneCycleLR(o, -1.0, total_steps=10), ValueError, ("max_lr",)),
    (lambda o: OneCycleLR(o, 1.0, total_steps=10, base_momentum=-0.1), ValueError, ("base_momentum",)),
    (lambda o: OneCycleLR(o, 1.0, total_steps=10, max_momentum=1.0), ValueError, ("max_momentum",)),
    (lambda o: OneCycleLR(Adagrad([Parameter(np.zeros(1))]), 1.0, total_steps=10), ValueError, ("Adagrad",)),
    (lambda o: CosineAnnealingWarmRestarts(o, 0), ValueError, ("T_0",)),
    (lambda o: CosineAnnealingWarmRestarts(o, 5, T_mult=0), ValueError, ("T_mult",)),
    (lambda o: CosineAnnealingWarmRestarts(o, 5, eta_min=-1.0), ValueError, ("eta_min",)),
    (lambda o: CosineAnnealingWarmRestarts(o, 5).step(-1.0), ValueError, ("epoch",)),
    (lambda o: ReduceLROnPlateau(o, mode="lowest"), ValueError, ("mode",)),
    (lambda o: ReduceLROnPlateau(o, factor=1.0), ValueError, ("factor",)),
    (lambda o: ReduceLROnPlateau(o, patience=-1), ValueError, ("patience",)),
    (lambda o: ReduceLROnPlateau(o, threshold=-1.0), ValueError, ("threshold",)),
    (lambda o: ReduceLROnPlateau(o, threshold_mode="relative"), ValueError, ("threshold_mode",)),
    (lambda o: ReduceLROnPlateau(o, cooldown=-1), ValueError, ("cooldown",)),
    (lambda o: ReduceLROnPlateau(o, min_lr=-1.0), ValueError, ("min_lr",)),
    (lambda o: ReduceLROnPlateau(o, eps=-1.0), ValueError, ("eps",)),
    (lambda o: ReduceLROnPlateau(o).step(float("nan")), ValueError, ("metrics",)),
    (lambda o: StepLR([0.1], 2), TypeError, ("optimizer", "list")),
]


@pytest.mark.parametrize(("make", "err", "names"), _NAMED_ERRORS)
def test_a_bad_argument_is_named_as_a_word_of_its_own(make, err, names):
    with pytest.raises(err) as exc:
        make(_sgd())
    assert _names(exc, *names), str(exc.value)


def test_a_bad_per_group_value_is_named_with_its_group_index():
    for make in (lambda o: OneCycleLR(o, [1.0, -1.0], total_steps=10),
                 lambda o: ReduceLROnPlateau(o, min_lr=[0.0, -1.0])):
        with pytest.raises(ValueError) as exc:
            make(_sgd(groups=2))
        assert "[1]" in str(exc.value), str(exc.value)


def test_zero_decay_threshold_and_eps_are_allowed_like_torch():
    o = _sgd()
    s = InverseDecay(o, 0.0)
    s.step()
    assert s.get_last_lr() == [0.1]  # no decay: η_k = η0 / (1 + 0·k)
    ReduceLROnPlateau(_sgd(), threshold=0.0, eps=0.0)
    tls.ReduceLROnPlateau(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1), threshold=0.0, eps=0.0)


def test_reduce_lr_on_plateau_starts_with_torchs_counters():
    ours = ReduceLROnPlateau(_sgd())
    theirs = tls.ReduceLROnPlateau(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1))
    assert (ours.num_bad_epochs, ours.cooldown_counter) == (theirs.num_bad_epochs, theirs.cooldown_counter) == (0, 0)


_TIES = [1.0, 1.0, 1.05, 1.1, 1.1, 1.2, 1.2, 1.25, 1.3, 0.9, 0.9, 0.8, 0.8, 0.85, 0.7, 0.7, 0.77, 0.6] * 2


@pytest.mark.parametrize("mode", ["min", "max"])
@pytest.mark.parametrize("threshold_mode", ["rel", "abs"])
@pytest.mark.parametrize("threshold", [0.0, 0.1])
def test_plateau_ties_and_thresholds_in_every_mode_equal_torch(mode, threshold_mode, threshold):
    kw = dict(mode=mode, threshold_mode=threshold_mode, threshold=threshold, patience=1, factor=0.5, eps=0.0)
    o = _sgd()
    ours = ReduceLROnPlateau(o, **kw)
    t = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
    theirs = tls.ReduceLROnPlateau(t, **kw)
    for m in _TIES:
        ours.step(m)
        theirs.step(m)
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-15)
        assert (ours.best, ours.num_bad_epochs) == (theirs.best, theirs.num_bad_epochs)


def test_plateau_skips_a_reduction_of_exactly_eps_like_torch():
    for eps in (0.05, 0.049):  # 0.1 → 0.05 changes the rate by exactly 0.05
        o = _sgd()
        ours = ReduceLROnPlateau(o, patience=0, factor=0.5, eps=eps)
        t = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
        theirs = tls.ReduceLROnPlateau(t, patience=0, factor=0.5, eps=eps)
        for m in (1.0, 2.0, 3.0):
            ours.step(m)
            theirs.step(m)
            assert ours.get_last_lr() == theirs.get_last_lr()


@pytest.mark.parametrize("threshold_mode", ["rel", "abs"])
def test_plateau_in_max_mode_tells_a_relative_from_an_absolute_threshold_like_torch(threshold_mode):
    # best = 2: "rel" needs more than 2·1.1 = 2.2, "abs" more than 2 + 0.1 = 2.1; 2.15 lies between
    kw = dict(mode="max", threshold=0.1, threshold_mode=threshold_mode, patience=0, factor=0.5)
    ours = ReduceLROnPlateau(_sgd(), **kw)
    theirs = tls.ReduceLROnPlateau(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9), **kw)
    for m in (2.0, 2.15, 2.15, 2.3):
        ours.step(m)
        theirs.step(m)
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-15)
        assert ours.best == theirs.best


@pytest.mark.parametrize("flag", ["cycle_momentum", "three_phase"])
@pytest.mark.parametrize("value", ["no", 1, None])
def test_one_cycle_flags_must_be_bools(flag, value):
    # bool("no") is True: a truthy stand-in would have switched the phase or the momentum cycle on
    o = SGD([Parameter(np.zeros(1))], lr=0.1, momentum=0.9)
    with pytest.raises(TypeError, match=f"{flag} must be a bool"):
        OneCycleLR(o, 1.0, total_steps=10, **{flag: value})


@pytest.mark.parametrize("min_lr, error", [(-0.1, ValueError), (float("nan"), ValueError), ("0", TypeError)])
def test_plateau_min_lr_must_be_non_negative(min_lr, error):
    o = SGD([Parameter(np.zeros(1))], lr=0.1)
    with pytest.raises(error, match=r"min_lr"):
        ReduceLROnPlateau(o, min_lr=min_lr)
    with pytest.raises(error, match=r"min_lr\[0\]"):
        ReduceLROnPlateau(o, min_lr=[min_lr])
