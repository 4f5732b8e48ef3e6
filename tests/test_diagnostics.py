"""dlcourse.diagnostics against torch: gradient norms (autograd), update/weight ratios
(torch.optim.SGD), dead-ReLU fractions (forward hooks on the torch twin)."""

import numpy as np
import pytest
import torch

from dlcourse import diagnostics, losses, nn
from dlcourse import torch as dtorch
from dlcourse.models.mlp import build_mlp
from dlcourse.optim import SGD
from dlcourse.train import fit


def _data(n=64, d=5, k=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.integers(0, k, size=n)


def test_grad_norms_equal_torch_autograd():
    X, y = _data()
    model = build_mlp([5, 7, 6, 3], "tanh", rng=1)
    twin = dtorch.to_torch_module(model)
    model.zero_grad()
    _, dout = losses.cross_entropy(model(X), y)
    model.backward(dout)
    torch.nn.functional.cross_entropy(twin(torch.tensor(X)), torch.tensor(y)).backward()
    expected = [float(m.weight.grad.norm()) for m in twin if isinstance(m, torch.nn.Linear)]
    np.testing.assert_allclose(diagnostics.layer_grad_norms(model), expected, rtol=1e-12)
    np.testing.assert_allclose(diagnostics.layer_weight_norms(model),
                               [float(m.weight.detach().norm()) for m in twin if isinstance(m, torch.nn.Linear)], rtol=1e-12)


def test_update_ratio_is_one_sgd_step_of_torch():
    X, y = _data()
    model = build_mlp([5, 8, 3], "relu", rng=2)
    twin = dtorch.to_torch_module(model)
    lr = 0.3
    diag = diagnostics.TrainingDiagnostics(model, X_probe=X)
    fit(model, losses.cross_entropy, SGD(model.parameters(), lr=lr), (X, y), epochs=1, batch_size=None,
        shuffle=False, progress=False, callbacks=[diag])
    opt = torch.optim.SGD(twin.parameters(), lr=lr)
    lins = [m for m in twin if isinstance(m, torch.nn.Linear)]
    before = [m.weight.detach().clone() for m in lins]
    torch.nn.functional.cross_entropy(twin(torch.tensor(X)), torch.tensor(y)).backward()
    grads = [float(m.weight.grad.norm()) for m in lins]
    opt.step()
    ratios = [float((m.weight.detach() - b).norm() / b.norm()) for m, b in zip(lins, before, strict=True)]
    assert diag.steps == [1]
    np.testing.assert_allclose(diag.update_ratios[0], ratios, rtol=1e-10)
    np.testing.assert_allclose(diag.grad_norms[0], grads, rtol=1e-10)
    # for plain SGD the ratio is lr ‖g‖ / ‖W‖ (a closed form)
    np.testing.assert_allclose(diag.update_ratios[0], lr * np.array(grads) / [float(b.norm()) for b in before], rtol=1e-10)


def test_every_records_every_kth_step_with_its_own_update():
    X, y = _data(n=40)
    model = build_mlp([5, 6, 3], "relu", rng=3)
    lr = 0.1
    diag = diagnostics.TrainingDiagnostics(model, every=3)
    steps_seen = []

    class Spy:  # records ‖ΔW‖/‖W‖ of every step independently of the class under test
        def __init__(self):
            self.prev = [model[0].weight.data.copy()]

        def on_batch_end(self, epoch, batch, loss):
            w = model[0].weight.data.copy()
            steps_seen.append(np.linalg.norm(w - self.prev[-1]) / np.linalg.norm(self.prev[-1]))
            self.prev.append(w)

        def __call__(self, *a):
            return False

    fit(model, losses.cross_entropy, SGD(model.parameters(), lr=lr), (X, y), epochs=3, batch_size=10,
        rng=0, progress=False, callbacks=[Spy(), diag])
    assert diag.steps == [3, 6, 9, 12]
    np.testing.assert_allclose(diag.update_ratios[:, 0], np.array(steps_seen)[[2, 5, 8, 11]], rtol=1e-12)
    assert diag.dead.shape == (4, 0)


def test_dead_relu_fraction_equals_torch_hooks():
    X, _ = _data(n=50)
    model = build_mlp([5, 20, 20, 3], "relu", rng=4)
    model[0].bias.data[:7] = -100.0  # seven units of the first ReLU can never fire on this probe
    twin = dtorch.to_torch_module(model)
    outs = []
    for m in twin:
        if isinstance(m, torch.nn.ReLU):
            m.register_forward_hook(lambda mod, inp, out: outs.append(out.detach().numpy()))
    twin(torch.tensor(X))
    expected = [float(np.mean((o == 0).all(axis=0))) for o in outs]
    got = diagnostics.dead_relu_fraction(model, X)
    np.testing.assert_allclose(got, expected)
    assert got[0] >= 7 / 20
    assert model.training  # the mode is restored


def test_bad_input():
    with pytest.raises(TypeError, match="Sequential"):
        diagnostics.layer_grad_norms(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="no Linear"):
        diagnostics.linear_layers(nn.Sequential(nn.ReLU()))
    with pytest.raises(ValueError, match="0 rows"):
        diagnostics.dead_relu_fraction(build_mlp([2, 3, 1], rng=0), np.zeros((0, 2)))
