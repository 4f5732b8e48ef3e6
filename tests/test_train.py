"""dlcourse.train: fit / evaluate / predict.  Oracles: a hand-written loop, torch.optim.SGD in float64.

The optimizer, scheduler, early stopping and penalty used here are tiny stand-ins written in
this file that follow the contract, so these tests do not depend on dlcourse.optim's details;
one test at the end also runs the real dlcourse.optim.SGD against torch.
"""

import numpy as np
import pytest
import torch

from dlcourse import data, losses, nn, train


class StandInSGD:
    """θ ← θ − lr·g over a list of Parameters, with torch's param_groups layout."""

    def __init__(self, params, lr):
        self.param_groups = [{"params": list(params), "lr": lr}]

    def zero_grad(self):
        for p in self.param_groups[0]["params"]:
            p.zero_grad()

    def step(self):
        g = self.param_groups[0]
        for p in g["params"]:
            p.data = p.data - g["lr"] * p.grad


class HalvingScheduler:
    def __init__(self, opt):
        self.opt, self.calls = opt, 0

    def step(self):
        self.calls += 1
        self.opt.param_groups[0]["lr"] *= 0.5


class StopAfter:
    """Early stopping stand-in: stop at the k-th call; the 'best' epoch is `best` (0-based)."""

    def __init__(self, k, best):
        self.k, self.best, self.values, self.best_state, self.restored = k, best, [], None, False

    def step(self, value, model):
        self.values.append(value)
        if len(self.values) - 1 == self.best:
            self.best_state = model.state_dict()
        self.best_epoch = self.best
        return len(self.values) >= self.k

    def restore(self, model):
        self.restored = True
        model.load_state_dict(self.best_state)


def _mlp(sizes=(3, 5, 3), act=nn.Tanh, seed=0):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b, init="xavier_normal", rng=seed + i))
        if i < len(sizes) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


def _blobs(n=40, d=3, c=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    X = rng.standard_normal((n, d)) + 1.5 * np.eye(c, d)[y]
    return X, y


# --- facts --------------------------------------------------------------------------------------


def test_two_layer_mlp_solves_xor():
    X, y = data.xor()
    Y = y.reshape(-1, 1).astype(float)
    model = nn.Sequential(nn.Linear(2, 8, init="xavier_normal", rng=0), nn.Tanh(),
                          nn.Linear(8, 1, init="xavier_normal", rng=100))
    h = train.fit(model, losses.binary_cross_entropy_with_logits, StandInSGD(model.parameters(), 1.0), (X, Y),
                  epochs=500, batch_size=None, progress=False)
    loss, acc = train.evaluate(model, losses.binary_cross_entropy_with_logits, X, Y)
    assert loss < 0.05 and acc == 1.0
    assert h.train_loss[-1] < 0.05 and h.train_metric[-1] == 1.0
    np.testing.assert_array_equal(train.predict_classes(model, X), y)
    assert h.epochs_run == 500 and not h.stopped_early and h.best_epoch is None


def test_full_batch_fit_equals_hand_loop():
    X, y = _blobs()
    a, b = _mlp(), _mlp()
    lr = 0.3
    h = train.fit(a, losses.cross_entropy, StandInSGD(a.parameters(), lr), (X, y),
                  epochs=15, batch_size=None, progress=False)
    hand_losses = []
    for _ in range(15):  # the loop written out: zero, forward, loss, backward, step
        b.zero_grad()
        loss, dout = losses.cross_entropy(b(X), y)
        b.backward(dout)
        for p in b.parameters():
            p.data = p.data - lr * p.grad
        hand_losses.append(loss)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_allclose(pa.data, pb.data, rtol=0, atol=1e-12)
    np.testing.assert_allclose(h.train_loss, hand_losses, rtol=0, atol=1e-12)
    assert h.batch_loss == h.train_loss  # one batch per epoch
    assert h.lr == [lr] * 15


def _torch_twin(model):
    """torch.nn.Sequential of Linear/Tanh with the numpy model's weights, built by hand (float64)."""
    layers = []
    for m in model:
        if isinstance(m, nn.Linear):
            t = torch.nn.Linear(m.in_features, m.out_features, dtype=torch.float64)
            with torch.no_grad():
                t.weight.copy_(torch.from_numpy(m.weight.data))
                t.bias.copy_(torch.from_numpy(m.bias.data))
            layers.append(t)
        else:
            layers.append(torch.nn.Tanh())
    return torch.nn.Sequential(*layers)


def _torch_epochs(tmodel, opt, X, y, bs, seed, epochs, loss_fn):
    """Per-epoch mean loss over the same shuffled batches fit draws (rng.permutation each epoch)."""
    rng = np.random.default_rng(seed)
    idx = np.arange(len(X))
    out = []
    for _ in range(epochs):
        total = 0.0
        for _, ib in data.batches(idx, idx, bs, shuffle=True, rng=rng):
            opt.zero_grad()
            loss = loss_fn(tmodel(torch.from_numpy(X[ib])), torch.from_numpy(y[ib]))
            loss.backward()
            opt.step()
            total += loss.item() * len(ib)
        out.append(total / len(X))
    return out


def test_minibatch_fit_matches_torch_sgd():
    X, y = _blobs(n=37)
    model = _mlp((3, 6, 3))
    tmodel = _torch_twin(model)
    h = train.fit(model, losses.cross_entropy, StandInSGD(model.parameters(), 0.2), (X, y),
                  epochs=6, batch_size=8, rng=5, progress=False)
    ref = _torch_epochs(tmodel, torch.optim.SGD(tmodel.parameters(), lr=0.2), X, y, 8, 5, 6,
                        torch.nn.functional.cross_entropy)
    np.testing.assert_allclose(h.train_loss, ref, rtol=1e-10, atol=1e-12)
    tparams = [p.detach().numpy() for p in tmodel.parameters()]
    for p, tp in zip(model.parameters(), tparams, strict=True):
        np.testing.assert_allclose(p.data, tp, atol=1e-10)
    assert len(h.batch_loss) == 6 * 5  # ceil(37 / 8) batches per epoch


def test_real_sgd_with_momentum_matches_torch():
    from dlcourse.optim import SGD

    X, y = _blobs(n=30, seed=2)
    model = _mlp((3, 4, 3), seed=7)
    tmodel = _torch_twin(model)
    h = train.fit(model, losses.cross_entropy, SGD(model.parameters(), lr=0.1, momentum=0.9), (X, y),
                  epochs=5, batch_size=7, rng=1, progress=False)
    ref = _torch_epochs(tmodel, torch.optim.SGD(tmodel.parameters(), lr=0.1, momentum=0.9), X, y, 7, 1, 5,
                        torch.nn.functional.cross_entropy)
    np.testing.assert_allclose(h.train_loss, ref, rtol=1e-10, atol=1e-12)


# --- modes, divergence, schedule, early stopping, callbacks ---------------------------------------


class ModeRecorder(nn.Module):
    """Identity layer that records `training` at each forward."""

    def __init__(self):
        self.modes = []

    def forward(self, x):
        self.modes.append(self.training)
        return np.asarray(x, dtype=float)

    def backward(self, dout):
        return dout


def test_train_and_eval_modes():
    X, y = _blobs(n=20)
    rec = ModeRecorder()
    model = nn.Sequential(nn.Linear(3, 3, rng=0), rec)
    model.eval()
    train.fit(model, losses.cross_entropy, StandInSGD(model.parameters(), 0.1), (X, y),
              val=(X[:5], y[:5]), epochs=2, batch_size=10, progress=False)
    # per epoch: 2 training batches in train mode, then one evaluation pass in eval mode
    assert rec.modes == [True, True, False] * 2
    assert not model.training and not rec.training  # fit leaves the model ready for prediction
    model.train()
    train.evaluate(model, losses.cross_entropy, X, y)
    assert rec.modes[-1] is False and rec.training  # evaluate restores the previous mode


def test_divergence_raises_with_epoch_batch_and_last_loss():
    X, y = data.linear_regression(n=30, rng=0)
    model = nn.Sequential(nn.Linear(1, 1, rng=0))
    with pytest.raises(FloatingPointError, match=r"epoch \d+.*batch \d+.*last finite loss: \d"):
        train.fit(model, losses.mse_loss, StandInSGD(model.parameters(), 1e3), (X, y), epochs=100,
                  batch_size=10, progress=False, metric=None)


def test_scheduler_called_once_per_epoch_and_lr_recorded():
    X, y = _blobs(n=12)
    model = _mlp()
    opt = StandInSGD(model.parameters(), 0.8)
    sched = HalvingScheduler(opt)
    h = train.fit(model, losses.cross_entropy, opt, (X, y), epochs=4, batch_size=5,
                  scheduler=sched, progress=False)
    assert sched.calls == 4
    assert h.lr == [0.8, 0.4, 0.2, 0.1]


def test_early_stopping_stops_and_restores_best_weights():
    X, y = _blobs(n=30)
    model = _mlp()
    states = []
    es = StopAfter(k=4, best=1)
    h = train.fit(model, losses.cross_entropy, StandInSGD(model.parameters(), 0.5), (X, y),
                  val=(X, y), epochs=20, batch_size=10, early_stopping=es,
                  callbacks=[lambda e, hist, m: states.append(m.state_dict())], progress=False)
    assert h.epochs_run == 4 and h.stopped_early and es.restored and h.best_epoch == 1
    assert es.values == h.val_loss and len(h.val_loss) == 4
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, states[1][k])
    # the restored weights reproduce the validation loss recorded at the best epoch
    assert train.evaluate(model, losses.cross_entropy, X, y)[0] == pytest.approx(h.val_loss[1], abs=1e-12)


def test_real_early_stopping_keeps_lowest_val_loss():
    from dlcourse.regularization import EarlyStopping

    X, y = _blobs(n=60, seed=3)
    Xtr, Xva, _, ytr, yva, _ = data.train_val_test_split(X, y, val=0.3, test=0.0, rng=0)
    model = _mlp((3, 16, 3), seed=1)
    h = train.fit(model, losses.cross_entropy, StandInSGD(model.parameters(), 2.0), (Xtr, ytr),
                  val=(Xva, yva), epochs=40, batch_size=4, rng=0, early_stopping=EarlyStopping(patience=3),
                  progress=False)
    assert h.best_epoch == int(np.argmin(h.val_loss))
    assert train.evaluate(model, losses.cross_entropy, Xva, yva)[0] == pytest.approx(min(h.val_loss), abs=1e-12)


def test_callbacks_stop_and_see_every_batch():
    X, y = _blobs(n=25)
    model = _mlp()

    class Counter:
        def __init__(self):
            self.batches = []

        def on_batch_end(self, epoch, batch, loss):
            self.batches.append((epoch, batch, loss))

    c = Counter()
    h = train.fit(model, losses.cross_entropy, StandInSGD(model.parameters(), 0.1), (X, y),
                  epochs=10, batch_size=10, callbacks=[c, lambda e, hist, m: e == 2], progress=False)
    assert h.epochs_run == 3 and h.stopped_early
    assert [(e, b) for e, b, _ in c.batches] == [(e, b) for e in range(3) for b in range(3)]
    assert [l for *_, l in c.batches] == h.batch_loss


def test_penalty_and_clipping_equal_hand_loop():
    X, y = _blobs(n=16)
    a, b = _mlp(), _mlp()
    lam, lr, max_norm = 0.05, 0.5, 0.1

    def l2(params):  # R = (λ/2) Σ‖W‖², ∇R = λW on weight matrices
        total = 0.0
        for p in params:
            if p.data.ndim == 2:
                p.grad = p.grad + lam * p.data
                total += 0.5 * lam * np.sum(p.data**2)
        return total

    h = train.fit(a, losses.cross_entropy, StandInSGD(a.parameters(), lr), (X, y), epochs=5,
                  batch_size=None, penalty=l2, clip_grad_norm=max_norm, progress=False)
    pens = []
    for _ in range(5):
        b.zero_grad()
        _, dout = losses.cross_entropy(b(X), y)
        b.backward(dout)
        pens.append(l2(b.parameters()))
        g = np.sqrt(sum(np.sum(p.grad**2) for p in b.parameters()))
        scale = min(1.0, max_norm / (g + 1e-6))  # torch.nn.utils.clip_grad_norm_'s coefficient
        for p in b.parameters():
            p.data = p.data - lr * scale * p.grad
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_allclose(pa.data, pb.data, atol=1e-12)
    np.testing.assert_allclose(h.penalty, pens, atol=1e-12)


def test_clip_by_value_bounds_each_step():
    X, y = data.linear_regression(n=30, rng=0)
    model = nn.Sequential(nn.Linear(1, 1, init="zeros"))
    train.fit(model, losses.mse_loss, StandInSGD(model.parameters(), 1.0), (X, y), epochs=1, batch_size=None,
              clip_grad_value=0.01, metric=None, progress=False)
    # from θ = 0 the gradient is far above 0.01 in both components: one step moves each by exactly lr·0.01
    assert model[0].weight.data.item() == pytest.approx(0.01) and model[0].bias.data.item() == pytest.approx(0.01)


# --- metrics, evaluate, predict --------------------------------------------------------------------


def test_accuracy_and_metric_resolution():
    assert train.accuracy(np.array([[2.0, 1.0], [0.0, 3.0]]), np.array([0, 0])) == 0.5
    assert train.accuracy(np.array([[0.7], [0.2]]), np.array([[1.0], [1.0]])) == 0.5
    assert train.accuracy(np.array([0.1, -0.1]), np.array([1, 0]), threshold=0.0) == 1.0
    # under binary_cross_entropy_with_logits a single column is a logit: 0.1 > 0 counts as class 1
    X = np.array([[1.0], [-1.0]])
    model = nn.Sequential(nn.Linear(1, 1, init="zeros"))
    model[0].weight.data[:] = 0.1
    Y = np.array([[1.0], [0.0]])
    _, acc = train.evaluate(model, losses.binary_cross_entropy_with_logits, X, Y)
    assert acc == 1.0
    _, acc_mse = train.evaluate(model, losses.mse_loss, X, Y)  # as probabilities, 0.1 < 0.5 -> class 0
    assert acc_mse == 0.5
    with pytest.raises(ValueError, match="metric"):
        train.evaluate(model, losses.mse_loss, X, Y, metric="f1")
    with pytest.raises(ValueError, match="shape"):
        train.accuracy(np.zeros((3, 2)), np.zeros(4))


def test_evaluate_batches_equal_full_pass_and_custom_metric():
    X, y = _blobs(n=23)
    model = _mlp()
    full = losses.cross_entropy(model(X), y)[0]
    loss, m = train.evaluate(model, losses.cross_entropy, X, y, batch_size=4,
                             metric=lambda out, t: float(np.mean(out[:, 0])))
    assert loss == pytest.approx(full, abs=1e-14)
    assert m == pytest.approx(float(np.mean(model(X)[:, 0])))
    assert train.evaluate(model, losses.cross_entropy, X, y, metric=None)[1] is None


def test_predict_proba_and_classes_against_torch():
    X, _ = _blobs(n=10)
    model = _mlp()
    logits = model(X)
    p = train.predict_proba(model, X, batch_size=3)
    np.testing.assert_allclose(p, torch.softmax(torch.from_numpy(logits), dim=1).numpy(), atol=1e-14)
    np.testing.assert_array_equal(train.predict_classes(model, X), np.argmax(logits, axis=1))
    binary = nn.Sequential(nn.Linear(3, 1, rng=0))
    z = binary(X)
    np.testing.assert_allclose(train.predict_proba(binary, X), torch.sigmoid(torch.from_numpy(z)).numpy(), atol=1e-14)
    np.testing.assert_array_equal(train.predict_classes(binary, X), (z[:, 0] >= 0).astype(int))
    np.testing.assert_array_equal(train.predict_proba(binary, X, logits=False), z)


def test_history_as_dict_and_progress_bar_run_identically():
    X, y = _blobs(n=12)
    a, b = _mlp(), _mlp()
    ha = train.fit(a, losses.cross_entropy, StandInSGD(a.parameters(), 0.1), (X, y), val=(X, y),
                   epochs=3, batch_size=5, rng=0, progress=True)
    hb = train.fit(b, losses.cross_entropy, StandInSGD(b.parameters(), 0.1), (X, y), val=(X, y),
                   epochs=3, batch_size=5, rng=0, progress=False)
    assert ha.as_dict() == hb.as_dict()
    d = ha.as_dict()
    assert {"train_loss", "val_loss", "train_metric", "val_metric", "lr", "epochs_run", "best_epoch",
            "stopped_early"} <= set(d)
    assert len(d["val_metric"]) == 3 and d["best_epoch"] == int(np.argmin(d["val_loss"]))


def test_fit_rejects_bad_input():
    X, y = _blobs(n=10)
    model = _mlp()
    opt = StandInSGD(model.parameters(), 0.1)
    ce = losses.cross_entropy
    with pytest.raises(ValueError, match="early_stopping needs validation"):
        train.fit(model, ce, opt, (X, y), early_stopping=StopAfter(1, 0), progress=False)
    with pytest.raises(ValueError, match="same, non-zero number of rows"):
        train.fit(model, ce, opt, (X, y[:5]), progress=False)
    with pytest.raises(TypeError, match="pair"):
        train.fit(model, ce, opt, X, progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        train.fit(model, ce, opt, (X, y), batch_size=0, progress=False)
    with pytest.raises(ValueError, match="epochs"):
        train.fit(model, ce, opt, (X, y), epochs=-1, progress=False)
    with pytest.raises(TypeError, match="optimizer"):
        train.fit(model, ce, object(), (X, y), progress=False)
    with pytest.raises(TypeError, match="model"):
        train.fit(object(), ce, opt, (X, y), progress=False)


def test_real_step_lr_schedule_matches_torch():
    from dlcourse.optim import SGD
    from dlcourse.optim.schedules import StepLR

    X, y = _blobs(n=12)
    model = _mlp()
    opt = SGD(model.parameters(), lr=0.4)
    h = train.fit(model, losses.cross_entropy, opt, (X, y), epochs=7, batch_size=6,
                  scheduler=StepLR(opt, step_size=3, gamma=0.5), progress=False)
    topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.4)
    tsched = torch.optim.lr_scheduler.StepLR(topt, step_size=3, gamma=0.5)
    expected = []
    for _ in range(7):
        expected.append(topt.param_groups[0]["lr"])
        topt.step()
        tsched.step()
    np.testing.assert_allclose(h.lr, expected, rtol=1e-15)


def test_real_plateau_schedule_gets_the_val_loss_and_matches_torch():
    from dlcourse.optim import SGD
    from dlcourse.optim.schedules import ReduceLROnPlateau

    # Labels that X says nothing about: the validation loss stops improving within a few epochs.
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((24, 3)), rng.integers(0, 3, 24)
    Xv, yv = rng.standard_normal((24, 3)), rng.integers(0, 3, 24)
    model = _mlp()
    opt = SGD(model.parameters(), lr=0.5)
    sched = ReduceLROnPlateau(opt, factor=0.5, patience=1, threshold=1e-3)
    h = train.fit(model, losses.cross_entropy, opt, (X, y), (Xv, yv), epochs=15, batch_size=8,
                  scheduler=sched, progress=False)
    topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
    tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, factor=0.5, patience=1, threshold=1e-3)
    expected = []
    for vl in h.val_loss:  # torch fed the same validation losses, one per epoch
        expected.append(topt.param_groups[0]["lr"])
        tsched.step(vl)
    assert len(set(expected)) >= 3, expected  # the losses did plateau, more than once
    assert h.lr == expected
    assert opt.lr == topt.param_groups[0]["lr"]


def test_plateau_schedule_without_validation_data_is_refused():
    from dlcourse.optim import SGD
    from dlcourse.optim.schedules import ReduceLROnPlateau

    X, y = _blobs(n=10)
    model = _mlp()
    opt = SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"ReduceLROnPlateau.*validation.*val=\(X_val, y_val\)"):
        train.fit(model, losses.cross_entropy, opt, (X, y), scheduler=ReduceLROnPlateau(opt), progress=False)
