"""dlcourse.torch: lazy import, to_torch_module (outputs and gradients vs torch autograd), mlp, fit_torch."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from dlcourse import data, losses, nn, train
from dlcourse import torch as dtorch
from dlcourse.models.mlp import build_mlp


def test_light_imports_do_not_import_torch():
    code = (
        "import sys, dlcourse, dlcourse.data, dlcourse.train, dlcourse.models.perceptron, dlcourse.torch\n"
        "heavy = [m for m in ('torch', 'matplotlib', 'sklearn', 'tqdm') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_device_is_cpu_here_and_conversions_round_trip():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert dtorch.device().type in (expected, "mps")
    assert dtorch.device("cpu").type == "cpu"
    a = np.arange(6.0).reshape(2, 3)
    t = dtorch.to_tensor(a, requires_grad=True)
    assert t.dtype == torch.float64 and t.requires_grad
    np.testing.assert_array_equal(dtorch.to_numpy(t), a)


def _all_layers_model(with_dropout=True):
    layers = [
        nn.Linear(4, 6, rng=0), nn.BatchNorm1d(6), nn.ReLU(),
        nn.Linear(6, 6, rng=1), nn.Sigmoid(),
        nn.Linear(6, 6, rng=2), nn.Tanh(),
        nn.Linear(6, 6, rng=3), nn.LeakyReLU(0.2),
        nn.Linear(6, 6, rng=4), nn.ELU(0.7),
        nn.Linear(6, 5, rng=5), nn.LeCunTanh(),
        nn.Sequential(nn.Linear(5, 3, rng=6, bias=False)),
    ]
    if with_dropout:
        layers.insert(3, nn.Dropout(0.3, rng=0))
    model = nn.Sequential(*layers)
    # non-trivial BatchNorm state, so the copy of γ, β and the buffers is tested
    bn = model[1]
    rng = np.random.default_rng(9)
    bn.gamma.data = rng.uniform(0.5, 2, 6)
    bn.beta.data = rng.normal(size=6)
    bn.running_mean = rng.normal(size=6)
    bn.running_var = rng.uniform(0.5, 2, 6)
    return model


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_to_torch_module_same_outputs_and_gradients(mode):
    model = _all_layers_model(with_dropout=(mode == "eval"))  # dropout masks differ in train mode
    getattr(model, mode)()
    twin = dtorch.to_torch_module(model)
    assert twin.training == (mode == "train")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 4))
    dout = rng.normal(size=(8, 3))
    out = model(X)
    dx = model.backward(dout)
    Xt = torch.tensor(X, requires_grad=True)
    out_t = twin(Xt)
    out_t.backward(torch.from_numpy(dout))
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(dx, Xt.grad.numpy(), rtol=0, atol=1e-12)
    named_t = dict(twin.named_parameters())
    for name, p in model.named_parameters():
        tname = name.replace("gamma", "weight").replace("beta", "bias")
        np.testing.assert_allclose(p.grad, named_t[tname].grad.numpy(), rtol=0, atol=1e-12, err_msg=name)
    if mode == "train":  # running statistics updated identically (momentum weighs the new batch)
        np.testing.assert_allclose(model[1].running_mean, twin[1].running_mean.numpy(), atol=1e-12)
        np.testing.assert_allclose(model[1].running_var, twin[1].running_var.numpy(), atol=1e-12)


def test_to_torch_module_weights_are_copies_and_dtype():
    model = nn.Sequential(nn.Linear(2, 2, rng=0))
    twin = dtorch.to_torch_module(model, dtype=torch.float32)
    assert twin[0].weight.dtype == torch.float32
    twin[0].weight.data.zero_()
    assert np.any(model[0].weight.data != 0)
    with pytest.raises(TypeError, match="cannot convert"):
        from dlcourse.nn import GaussianNoise

        dtorch.to_torch_module(nn.Sequential(GaussianNoise(0.1)))


def test_torch_twin_of_build_mlp_has_its_layers_and_weights():
    model = build_mlp([3, 7, 5, 2], "tanh", init="xavier_normal", rng=4)
    tm = dtorch.to_torch_module(model, dtype=torch.float64, device="cpu")
    kinds = [type(m).__name__ for m in tm]
    assert kinds == ["Linear", "Tanh", "Linear", "Tanh", "Linear"]
    from dlcourse import init

    rng = np.random.default_rng(4)
    for lin, shape in zip(tm[::2], [(7, 3), (5, 7), (2, 5)], strict=True):
        np.testing.assert_array_equal(lin.weight.detach().numpy(), init.xavier_normal(shape, rng=rng))
        assert torch.all(lin.bias == 0)
    assert dtorch.to_torch_module(build_mlp([2, 3]), dtype=torch.float32)[0].weight.dtype == torch.float32


def test_fit_torch_full_batch_equals_dlcourse_fit():
    X, y = data.spirals(20, classes=3, rng=0)
    model = nn.Sequential(nn.Linear(2, 16, rng=0), nn.ReLU(), nn.Linear(16, 3, rng=1))
    twin = dtorch.to_torch_module(model)
    from dlcourse.optim import SGD

    h = train.fit(model, losses.cross_entropy, SGD(model.parameters(), lr=0.5, momentum=0.9), (X, y),
                  epochs=8, batch_size=None, progress=False)
    ref = dtorch.fit_torch(twin, X, y, epochs=8, batch_size=None, lr=0.5, momentum=0.9, device="cpu")
    np.testing.assert_allclose(h.train_loss, ref, rtol=1e-10)
    assert not twin.training


def test_fit_torch_minibatch_mean_loss_and_optimizers():
    X, y = data.linear_regression(n=30, rng=0)
    for opt in ("sgd", "adam", "rmsprop", "adagrad", "adamw"):
        tm = dtorch.to_torch_module(build_mlp([1, 1]), device="cpu")
        losses_ = dtorch.fit_torch(tm, X, y, epochs=3, batch_size=7, lr=0.01, optimizer=opt, device="cpu")
        assert len(losses_) == 3 and all(np.isfinite(losses_))
    # the per-epoch value is the size-weighted mean of the batch losses (here: lr = 0, so all equal the full loss)
    tm = dtorch.to_torch_module(build_mlp([1, 1]), device="cpu")
    w = tm[0].weight.item()
    full = float(np.mean((w * X - y) ** 2))
    got = dtorch.fit_torch(tm, X, y, epochs=2, batch_size=7, lr=0.0, device="cpu")
    np.testing.assert_allclose(got, [full, full], rtol=1e-12)


def test_fit_torch_errors_and_divergence():
    X, y = data.linear_regression(n=30, rng=0)
    with pytest.raises(FloatingPointError, match="epoch"):
        dtorch.fit_torch(dtorch.to_torch_module(build_mlp([1, 1]), device="cpu"), X * 1e3, y, epochs=50,
                         batch_size=None, lr=10.0, device="cpu")
    tm = dtorch.to_torch_module(build_mlp([1, 1]), device="cpu")
    with pytest.raises(ValueError, match="optimizer"):
        dtorch.fit_torch(tm, X, y, optimizer="lbfgsx", device="cpu")
    with pytest.raises(ValueError, match="loss"):
        dtorch.fit_torch(tm, X, y, loss="hinge", device="cpu")
    with pytest.raises(ValueError, match="rows"):
        dtorch.fit_torch(tm, X, y[:5], device="cpu")
    opt = torch.optim.SGD(tm.parameters(), lr=0.0)
    assert len(dtorch.fit_torch(tm, X, y, epochs=1, optimizer=opt, device="cpu")) == 1


def test_device_gpu_is_refused_with_the_name_torch_uses():
    import torch

    with pytest.raises(RuntimeError):  # torch itself: the lecture notes' torch.device('gpu')
        torch.device("gpu")
    for name in ("gpu", "GPU", "gpu:0"):
        with pytest.raises(ValueError, match="'cuda'"):
            dtorch.device(name)
    assert dtorch.device("cpu:0") == torch.device("cpu:0")


def test_fit_torch_on_best_device_matches_cpu():
    X, y = data.spirals(15, classes=3, rng=1)
    model = nn.Sequential(nn.Linear(2, 8, rng=0), nn.Tanh(), nn.Linear(8, 3, rng=1))
    on_cpu = dtorch.fit_torch(dtorch.to_torch_module(model), X, y, epochs=4, batch_size=10, lr=0.3, device="cpu")
    best = dtorch.device()
    on_best = dtorch.fit_torch(dtorch.to_torch_module(model, device=best), X, y, epochs=4, batch_size=10, lr=0.3,
                               device=best)
    np.testing.assert_allclose(on_best, on_cpu, rtol=1e-9)  # float64 on any device: same batches, same steps


def test_fit_torch_shows_a_progress_bar_unless_asked_not_to(capsys):
    X, y = data.linear_regression(n=30, rng=0)
    dtorch.fit_torch(dtorch.to_torch_module(build_mlp([1, 1]), device="cpu"), X, y, epochs=3, device="cpu")
    err = capsys.readouterr().err
    assert "fit_torch" in err and "/3 " in err, err  # tqdm draws at most every 0.1 s: "0/3" at least
    dtorch.fit_torch(dtorch.to_torch_module(build_mlp([1, 1]), device="cpu"), X, y, epochs=3, device="cpu",
                     progress=False)
    assert capsys.readouterr().err == ""
