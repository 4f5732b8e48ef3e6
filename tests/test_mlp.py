"""dlcourse.models.mlp.build_mlp (layer order, BN placement, gradients vs torch) and the measurement
helpers of dlcourse.lecture.experiments (first_epoch_reaching, ActivationPercentiles)."""

import numpy as np
import pytest
import torch

from dlcourse import losses, nn, optim, train
from dlcourse.lecture import experiments
from dlcourse.models import mlp
from dlcourse.nn import GaussianNoise


def test_build_mlp_layer_order():
    m = mlp.build_mlp([4, 8, 8, 3], "sigmoid", batchnorm=True, dropout=0.5, input_noise=0.1, rng=0)
    kinds = [type(layer).__name__ for layer in m]
    assert kinds == ["GaussianNoise", "Linear", "BatchNorm1d", "Sigmoid", "Dropout",
                     "Linear", "BatchNorm1d", "Sigmoid", "Dropout", "Linear"]
    assert m[1].bias is None and m[-1].bias is not None  # β replaces the bias before BN
    assert isinstance(m[0], GaussianNoise)
    with pytest.raises(ValueError, match="activation"):
        mlp.build_mlp([2, 2], "softplus")
    with pytest.raises(ValueError, match="sizes"):
        mlp.build_mlp([3])


def test_bn_mlp_gradients_equal_torch():
    rng = np.random.default_rng(0)
    m = mlp.build_mlp([5, 6, 6, 3], "tanh", batchnorm=True, rng=1)
    for p in m.parameters():
        p.data += 0.1 * rng.normal(size=p.shape)  # γ, β away from 1, 0
    x, y = rng.normal(size=(7, 5)), rng.integers(0, 3, 7)
    loss, dout = losses.cross_entropy(m.forward(x), y)
    m.backward(dout)
    tm = torch.nn.Sequential(
        torch.nn.Linear(5, 6, bias=False), torch.nn.BatchNorm1d(6), torch.nn.Tanh(),
        torch.nn.Linear(6, 6, bias=False), torch.nn.BatchNorm1d(6), torch.nn.Tanh(), torch.nn.Linear(6, 3),
    ).double()
    tparams = [p for p in tm.parameters()]
    ours = m.parameters()
    assert len(tparams) == len(ours)
    with torch.no_grad():
        for tp, p in zip(tparams, ours, strict=True):
            tp.copy_(torch.from_numpy(p.data))
    tloss = torch.nn.functional.cross_entropy(tm(torch.from_numpy(x)), torch.from_numpy(y))
    tloss.backward()
    assert loss == pytest.approx(tloss.item(), rel=1e-12)
    for tp, p in zip(tparams, ours, strict=True):
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_first_epoch_reaching():
    assert experiments.first_epoch_reaching([0.1, 0.5, 0.92, 0.95], 0.9) == 3
    assert experiments.first_epoch_reaching([0.1, 0.5], 0.9) is None


def test_activation_percentiles_records_in_eval_mode_without_touching_bn():
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(64, 4)), rng.integers(0, 2, 64)
    m = mlp.build_mlp([4, 8, 2], "sigmoid", batchnorm=True, rng=0)
    probe = X[:20]
    rec = experiments.ActivationPercentiles(m, probe, layer=3, unit=1, every=2)
    np.testing.assert_array_equal(m[1].running_mean, np.zeros(8))  # the probe did not update BN
    train.fit(m, losses.cross_entropy, optim.SGD(m.parameters(), lr=0.1), (X, y),
              epochs=2, batch_size=16, rng=0, progress=False, callbacks=[rec])
    steps, values = rec.as_array()
    assert steps.tolist() == [0, 2, 4, 6, 8]  # 4 batches per epoch, every 2 steps, and step 0
    m.eval()
    z = m[:3].forward(probe)[:, 1]
    np.testing.assert_allclose(values[-1], np.percentile(z, [15, 50, 85]))
    assert values.shape == (5, 3)
    with pytest.raises(ValueError, match="layer"):
        experiments.ActivationPercentiles(m, probe, layer=0)
    with pytest.raises(TypeError, match="Sequential"):
        experiments.ActivationPercentiles(nn.Linear(2, 2), probe, layer=1)
