"""The torch full-mode experiments of notebooks 04-06, at toy size on the CPU, and the ECE metric."""

import functools

import numpy as np
import pytest
import torch

from dlcourse import data
from dlcourse.lecture import mnist_experiments as mx
from dlcourse.models.mlp import build_mlp
from dlcourse.torch import to_torch_module


@pytest.fixture(scope="module")
def splits():
    X, y = data.digits()
    return data.train_val_test_split(X, y, val=0.2, test=0.2, rng=0, stratify=True)


def test_ece_closed_forms():
    y = np.array([0, 1, 1, 0])
    sure = np.eye(2)[[0, 1, 0, 1]]  # always 100 % sure, right half of the time
    assert mx.expected_calibration_error(sure, y) == pytest.approx(0.5)  # = 1 − accuracy
    # labels drawn from the predicted probabilities: calibrated, ECE → 0
    rng = np.random.default_rng(0)
    p = rng.uniform(0.5, 1.0, size=20000)
    proba = np.stack([p, 1 - p], axis=1)
    labels = (rng.uniform(size=p.size) > p).astype(int)
    assert mx.expected_calibration_error(proba, labels) < 0.02
    # over-confident by 0.2 everywhere: conf 0.9, accuracy 0.7
    proba = np.tile([0.9, 0.1], (1000, 1))
    labels = np.r_[np.zeros(700, int), np.ones(300, int)]
    assert mx.expected_calibration_error(proba, labels) == pytest.approx(0.2)
    with pytest.raises(ValueError, match="proba"):
        mx.expected_calibration_error(np.ones(3), y[:3])


def test_the_torch_twin_starts_from_the_numpy_models_weights():
    model = build_mlp([64, 16, 10], "relu", rng=5)
    twin = mx._torch_mlp([64, 16, 10], "relu", 5, torch.device("cpu"))
    np.testing.assert_allclose(twin[0].weight.detach().numpy(), model[0].weight.data.astype(np.float32))
    x = np.random.default_rng(0).normal(size=(4, 64))
    ref = to_torch_module(model)(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(twin(torch.from_numpy(x).float()).detach().numpy(), ref, rtol=1e-4, atol=1e-5)


def test_train_torch_counts_steps_records_probes_and_is_reproducible(splits):
    X_tr, X_val, X_te, y_tr, y_val, y_te = splits
    runs = [mx.train_torch(mx._torch_mlp([64, 32, 10], "sigmoid", 0, "cpu"), (X_tr, y_tr), (X_val, y_val), (X_te, y_te),
                           optimizer=functools.partial(torch.optim.SGD, lr=0.5), steps=50, batch_size=60,
                           eval_every=10, probe=(2, 0), rng=3, device="cpu", progress=False) for _ in range(2)]
    r = runs[0]
    assert r.steps == [0, 10, 20, 30, 40, 50] and len(r.test_acc) == 6
    assert np.array(r.percentiles).shape == (6, 3)
    assert np.all(np.diff(np.array(r.percentiles), axis=1) >= 0)  # 15th ≤ 50th ≤ 85th
    assert r.test_acc[-1] > r.test_acc[0] + 0.2  # it learns
    assert r.device == "cpu" and set(r.final) >= {"train_acc", "val_acc", "test_acc", "test_ece"}
    assert r.test_acc == runs[1].test_acc  # the same seed, the same run


def test_batchnorm_reaches_a_target_sooner_on_a_deep_sigmoid_net(splits):
    runs = mx.batchnorm_on_mnist(splits, lrs=(0.5,), depth=4, width=32, epochs=4, batch_size=32, device="cpu",
                                 progress=False)
    assert set(runs) == {(False, 0.5), (True, 0.5)}
    assert runs[(True, 0.5)].val_acc[1] > runs[(False, 0.5)].val_acc[1]


def test_figure1_runs_both_networks_and_bn_keeps_the_median_input_steadier(splits):
    runs = mx.ioffe_szegedy_figure1(splits, steps=300, eval_every=50, hidden=(32, 32, 32), device="cpu",
                                    progress=False)
    assert set(runs) == {False, True}
    with_bn, plain = (np.array(runs[b].percentiles) for b in (True, False))
    assert with_bn.shape == plain.shape == (7, 3)
    assert runs[True].test_acc[-1] > runs[False].test_acc[-1]


def test_optimizer_and_regularization_drivers_and_their_errors(splits):
    runs = mx.optimizers_on_mnist(splits, {"sgd": functools.partial(torch.optim.SGD, lr=0.1),
                                           "adam": functools.partial(torch.optim.Adam, lr=1e-3)},
                                  hidden=(32,), epochs=2, device="cpu", progress=False)
    assert set(runs) == {"sgd", "adam"} and all(len(r.val_acc) == 2 for r in runs.values())
    reg = mx.regularization_on_mnist(splits, {"none": {}, "smooth": {"label_smoothing": 0.2}}, hidden=(32,),
                                     epochs=3, device="cpu", progress=False)
    assert reg["smooth"].final["train_confidence"] < reg["none"].final["train_confidence"]
    with pytest.raises(ValueError, match="unknown keys"):
        mx.regularization_on_mnist(splits, {"x": {"l2": 1.0}}, epochs=1, device="cpu", progress=False)
    with pytest.raises(ValueError, match="X_train, X_val, X_test"):
        mx.optimizers_on_mnist(splits[:4], {}, device="cpu")
