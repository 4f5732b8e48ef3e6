"""Dtypes: a float32 model stays float32 end to end, float64 is the default, mixing dtypes is an
error naming both (as torch), ``Module.to`` converts in place; and the first layer's input
gradient is skipped when nobody needs it, with parameter gradients unchanged."""

import inspect

import numpy as np
import pytest

from dlcourse import functional as F
from dlcourse import init, losses, nn, optim, train
from dlcourse.regularization import WeightPenalty

F32, F64 = np.float32, np.float64
ACTIVATIONS = [nn.ReLU, nn.Sigmoid, nn.Tanh, nn.LeakyReLU, nn.ELU, nn.LeCunTanh]


def _rand(shape, dtype=F32, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _assert_dtype(dtype, **arrays):
    for name, a in arrays.items():
        assert isinstance(a, np.ndarray) and a.dtype == dtype, f"{name}: {getattr(a, 'dtype', type(a))} != {dtype}"


# --- float32 end to end through every layer ---------------------------------------------------


def test_linear_float32_parameters_outputs_and_grads():
    layer = nn.Linear(5, 3, rng=0, dtype=F32)
    x = _rand((4, 5))
    out = layer(x)
    dx = layer.backward(np.ones_like(out))
    _assert_dtype(F32, weight=layer.weight.data, bias=layer.bias.data, out=out, dx=dx,
                  dweight=layer.weight.grad, dbias=layer.bias.grad)
    # the float32 weights are the float64 draw rounded: one seed, one model in every dtype
    np.testing.assert_array_equal(layer.weight.data, nn.Linear(5, 3, rng=0).weight.data.astype(F32))


@pytest.mark.parametrize("cls", ACTIVATIONS)
def test_activation_modules_keep_float32(cls):
    m = cls()
    x = _rand((4, 6))
    out = m(x)
    _assert_dtype(F32, out=out, dx=m.backward(np.ones_like(out)))


@pytest.mark.parametrize("name", [n for n in losses.__all__ if n not in ("softmax", "log_softmax")])
def test_every_loss_keeps_float32_logits_float32(name):
    rng = np.random.default_rng(0)
    z = _rand((6, 4))
    if name == "cross_entropy":
        target = rng.integers(0, 4, size=6)
    elif name == "binary_cross_entropy":
        z = (1 / (1 + np.exp(-z))).astype(F32)  # probabilities
        target = rng.integers(0, 2, size=(6, 4)).astype(F32)
    else:
        target = rng.integers(0, 2, size=(6, 4)).astype(F32)
    loss, dz = getattr(losses, name)(z, target)
    assert np.isfinite(loss)
    _assert_dtype(F32, dinput=dz)


@pytest.mark.parametrize("name", ["mse_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits"])
def test_float64_targets_do_not_upcast_a_float32_loss_gradient(name):
    """Targets are data: a float32 model trained on float64 labels keeps float32 gradients."""
    z = _rand((6, 4))
    if name == "binary_cross_entropy":
        z = (1 / (1 + np.exp(-z))).astype(F32)
    target = np.random.default_rng(1).integers(0, 2, size=(6, 4)).astype(np.float64)
    loss32, dz = getattr(losses, name)(z, target)
    _assert_dtype(F32, dinput=dz)
    loss64, dz64 = getattr(losses, name)(z.astype(np.float64), target)
    np.testing.assert_allclose(dz, dz64, rtol=1e-5, atol=1e-7)
    assert abs(loss32 - loss64) < 1e-5


@pytest.mark.parametrize("cls, shape", [(nn.BatchNorm1d, (8, 3)), (nn.BatchNorm1d, (8, 3, 5)), (nn.BatchNorm2d, (4, 3, 2, 2))])
def test_batchnorm_float32_buffers_outputs_and_grads(cls, shape):
    bn = cls(3, dtype=F32)
    _assert_dtype(F32, gamma=bn.gamma.data, beta=bn.beta.data, running_mean=bn.running_mean, running_var=bn.running_var)
    x = _rand(shape) * 3 + 1
    out = bn(x)
    dx = bn.backward(_rand(shape, seed=1))
    _assert_dtype(F32, out=out, dx=dx, dgamma=bn.gamma.grad, dbeta=bn.beta.grad,
                  running_mean=bn.running_mean, running_var=bn.running_var)
    bn.eval()
    out = bn(x)
    _assert_dtype(F32, eval_out=out, eval_dx=bn.backward(np.ones_like(out)))


def test_dropout_and_gaussian_noise_keep_float32():
    for m in (nn.Dropout(0.3, rng=0), nn.GaussianNoise(0.5, rng=0)):
        for mode in (True, False):
            m.train(mode)
            x = _rand((5, 7))
            out = m(x)
            _assert_dtype(F32, out=out, dx=m.backward(np.ones_like(out)))
    out, cache = F.dropout_forward(_rand((5, 7)), 0.5, True, 0)
    _assert_dtype(F32, out=out, mask=cache[0], dx=F.dropout_backward(np.ones((5, 7), F32), cache))


def test_dropout_masks_do_not_depend_on_the_dtype():
    x = np.ones((6, 9))
    a, b = nn.Dropout(0.5, rng=3)(x), nn.Dropout(0.5, rng=3)(x.astype(F32))
    np.testing.assert_array_equal(a.astype(F32), b)


def _optimizers(params):
    """One instance of every optimizer class dlcourse.optim exports, with its state-using options on."""
    classes = {n: getattr(optim, n) for n in optim.__all__
               if inspect.isclass(getattr(optim, n)) and issubclass(getattr(optim, n), optim.Optimizer)
               and getattr(optim, n) is not optim.Optimizer}
    options = {
        "SGD": dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
        "SimplifiedNesterov": dict(lr=0.1, momentum=0.9),
        "Adagrad": dict(lr=0.1, weight_decay=0.01),
        "RMSprop": dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.01),
        "Adadelta": dict(lr=1.0, weight_decay=0.01),
        "Adam": dict(lr=0.01, amsgrad=True, weight_decay=0.01),
        "AdamW": dict(lr=0.01, weight_decay=0.01),
        "DeltaBarDelta": dict(lr=0.01, kappa=1e-3, phi=0.1, theta=0.7, weight_decay=0.01),
    }
    assert set(classes) <= set(options), f"add options for {sorted(set(classes) - set(options))}"
    return {name: cls(params(), **options[name]) for name, cls in classes.items()}


def _state_arrays(opt):
    return {f"{k}[{i}]": v for i, st in enumerate(opt.state.values()) for k, v in st.items() if isinstance(v, np.ndarray)}


def test_every_optimizer_keeps_float32_parameters_and_state():
    layers = {}

    def params():
        layer = nn.Linear(4, 3, rng=0, dtype=F32)
        layers[len(layers)] = layer
        return layer.parameters()

    for name, opt in _optimizers(params).items():
        layer = layers[len(layers) - 1]
        for step in range(3):
            opt.zero_grad()
            out = layer(_rand((5, 4), seed=step))
            layer.backward(out)  # d(½‖out‖²)/d(out) = out
            opt.step()
        _assert_dtype(F32, **{f"{name} weight": layer.weight.data, f"{name} bias": layer.bias.data,
                              f"{name} grad": layer.weight.grad}, **{f"{name} {k}": v for k, v in _state_arrays(opt).items()})
        assert np.all(np.isfinite(layer.weight.data))


def test_fit_keeps_float32_end_to_end():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 5)).astype(F32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    model = nn.Sequential(nn.GaussianNoise(0.05, rng=1), nn.Linear(5, 8, rng=2, dtype=F32),
                          nn.BatchNorm1d(8, dtype=F32), nn.ReLU(), nn.Dropout(0.1, rng=3),
                          nn.Linear(8, 2, rng=4, dtype=F32))
    opt = optim.Adam(model.parameters(), lr=0.01)
    history = train.fit(model, losses.cross_entropy, opt, (X, y), val=(X, y), epochs=3, batch_size=16,
                        rng=0, progress=False, penalty=WeightPenalty(l2=1e-3), clip_grad_norm=5.0)
    assert np.all(np.isfinite(history.train_loss))
    _assert_dtype(F32, **{n: p.data for n, p in model.named_parameters()},
                  **{n + ".grad": p.grad for n, p in model.named_parameters()},
                  **dict(model.named_buffers()), **_state_arrays(opt))
    _assert_dtype(F32, predict=train.predict(model, X), proba=train.predict_proba(model, X))


# --- float64 by default -------------------------------------------------------------------------


def test_float64_is_the_default():
    assert nn.Linear(3, 2, rng=0).weight.data.dtype == F64
    assert nn.Linear(3, 2, rng=0).bias.grad.dtype == F64
    bn = nn.BatchNorm1d(3)
    _assert_dtype(F64, gamma=bn.gamma.data, running_mean=bn.running_mean, running_var=bn.running_var)
    assert nn.Parameter([1, 2]).data.dtype == F64  # integers become float64
    assert nn.Parameter(np.ones(2, F32)).data.dtype == F32  # a float dtype is kept, as torch
    assert nn.Parameter(np.ones(2), dtype=F32).grad.dtype == F32
    for name, fn in init.SCHEMES.items():
        assert fn((3, 4), rng=0).dtype == F64, name
        assert fn((3, 4), rng=0, dtype=F32).dtype == F32, name


# --- mixing dtypes is an error naming both ------------------------------------------------------


@pytest.mark.parametrize("model_dtype, input_dtype", [(F64, F32), (F32, F64)])
def test_mixing_dtypes_raises_naming_both_and_the_fix(model_dtype, input_dtype):
    model = nn.Sequential(nn.Linear(3, 4, rng=0, dtype=model_dtype), nn.ReLU(), nn.Linear(4, 2, rng=1, dtype=model_dtype))
    for m in (model, model[0], nn.BatchNorm1d(3, dtype=model_dtype)):
        with pytest.raises(TypeError) as exc:
            m(np.ones((5, 3), dtype=input_dtype))
        msg = str(exc.value)
        assert np.dtype(model_dtype).name in msg and np.dtype(input_dtype).name in msg
        assert "astype" in msg and "model.to" in msg
    model(np.ones((5, 3), dtype=model_dtype))
    with pytest.raises(TypeError, match=f"{np.dtype(model_dtype).name}.*{np.dtype(input_dtype).name}"):
        model.backward(np.ones((5, 2), dtype=input_dtype))
    with pytest.raises(TypeError, match=f"{np.dtype(model_dtype).name}.*{np.dtype(input_dtype).name}"):
        F.linear_forward(np.ones((5, 3), input_dtype), np.ones((4, 3), model_dtype))
    with pytest.raises(TypeError, match=f"{np.dtype(model_dtype).name}.*{np.dtype(input_dtype).name}"):
        F.batchnorm_forward(np.ones((5, 3), input_dtype), np.ones(3, model_dtype), np.zeros(3, model_dtype))


def test_integer_input_is_refused_with_the_cast_to_write():
    with pytest.raises(TypeError, match=r"int64.*astype\(np.float64\)"):
        nn.Linear(3, 2, rng=0)(np.ones((4, 3), dtype=np.int64))
    with pytest.raises(TypeError, match=r"bool.*astype\(np.float32\)"):
        nn.BatchNorm1d(3, dtype=F32)(np.ones((4, 3), dtype=bool))


def test_fit_refuses_data_of_another_dtype():
    model = nn.Sequential(nn.Linear(3, 2, rng=0, dtype=F32))
    with pytest.raises(TypeError, match="float32.*float64"):
        train.fit(model, losses.cross_entropy, optim.SGD(model.parameters(), lr=0.1),
                  (np.ones((4, 3)), np.zeros(4, dtype=np.int64)), epochs=1, progress=False)


def test_grad_assignment_checks_the_dtype():
    p = nn.Parameter(np.ones(3, F32))
    with pytest.raises(TypeError, match="float32.*float64"):
        p.grad = np.ones(3)
    p.grad = np.ones(3, dtype=np.int64)  # integers are cast
    assert p.grad.dtype == F32


# --- Module.to ----------------------------------------------------------------------------------


def test_module_to_converts_parameters_grads_and_buffers_in_place():
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.BatchNorm1d(4), nn.Tanh(), nn.Linear(4, 2, rng=1))
    x = _rand((6, 3), F64)
    ref = model(x)
    params = model.parameters()
    assert model.to(F32) is model
    assert all(a is b for a, b in zip(params, model.parameters(), strict=True))  # the same Parameters
    _assert_dtype(F32, **{n: p.data for n, p in model.named_parameters()},
                  **{n + ".grad": p.grad for n, p in model.named_parameters()}, **dict(model.named_buffers()))
    out = model(x.astype(F32))
    _assert_dtype(F32, out=out, dx=model.backward(np.ones_like(out)))
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)
    model.to("float64")
    _assert_dtype(F64, **{n: p.data for n, p in model.named_parameters()}, **dict(model.named_buffers()))
    with pytest.raises(TypeError, match="floating dtype"):
        model.to(np.int32)


def test_load_state_dict_keeps_the_module_dtype():
    model = nn.Sequential(nn.Linear(3, 4, rng=0, dtype=F32), nn.BatchNorm1d(4, dtype=F32))
    model.load_state_dict(nn.Sequential(nn.Linear(3, 4, rng=1), nn.BatchNorm1d(4)).state_dict())
    _assert_dtype(F32, **{n: p.data for n, p in model.named_parameters()}, **dict(model.named_buffers()))


# --- the first layer's input gradient is skipped when unused --------------------------------------


class _MatmulSpy(np.ndarray):
    """An ndarray view that counts the matrix products it takes part in."""

    calls = 0

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if ufunc is np.matmul:
            _MatmulSpy.calls += 1
        def plain(a):
            return a.view(np.ndarray) if isinstance(a, _MatmulSpy) else a

        if "out" in kwargs:
            kwargs["out"] = tuple(plain(a) for a in kwargs["out"])
        return getattr(ufunc, method)(*(plain(a) for a in inputs), **kwargs)


def _spied_model(dtype, seed=0):
    model = nn.Sequential(nn.Dropout(0.2, rng=seed), nn.Linear(6, 8, rng=seed, dtype=dtype), nn.BatchNorm1d(8, dtype=dtype),
                          nn.ReLU(), nn.Linear(8, 3, rng=seed + 1, dtype=dtype))
    model[1].weight.data = model[1].weight.data.view(_MatmulSpy)
    return model


@pytest.mark.parametrize("dtype", [F32, F64])
def test_first_layer_input_grad_is_skipped_and_param_grads_are_exactly_equal(dtype):
    x, dout = _rand((10, 6), dtype), _rand((10, 3), dtype, seed=1)
    grads = {}
    for input_grad in (True, False):
        model = _spied_model(dtype)
        model(x)
        _MatmulSpy.calls = 0
        dx = model.backward(dout, input_grad=input_grad)
        # dx = dout W is the only product with the first weight in backward (dW = doutᵀ x is not)
        assert _MatmulSpy.calls == (1 if input_grad else 0)
        assert (dx is None) == (not input_grad)
        grads[input_grad] = {n: p.grad.copy() for n, p in model.named_parameters()}
    for name in grads[True]:
        np.testing.assert_array_equal(grads[False][name], grads[True][name], err_msg=name)


def test_fit_does_not_compute_the_input_gradient(monkeypatch):
    seen = []
    original = train.backward_without_input_grad
    monkeypatch.setattr(train, "backward_without_input_grad", lambda m, d: seen.append(1) or original(m, d))
    model = _spied_model(F64)
    X = _rand((12, 6), F64)
    y = np.arange(12) % 3
    opt = optim.SGD(model.parameters(), lr=0.1)
    _MatmulSpy.calls = 0
    train.fit(model, losses.cross_entropy, opt, (X, y), epochs=1, batch_size=None, progress=False, metric=None)
    assert len(seen) == 1
    assert _MatmulSpy.calls == 1  # the forward x Wᵀ only


def test_a_custom_module_still_gets_its_backward_called():
    class Probe(nn.Module):
        def forward(self, x):
            return x

        def backward(self, dout):
            self.seen = dout
            return dout

    probe = Probe()
    model = nn.Sequential(probe, nn.Linear(3, 2, rng=0))
    model(np.ones((4, 3)))
    assert model.backward(np.ones((4, 2)), input_grad=False) is None
    assert probe.seen.shape == (4, 3)  # a user module is never skipped: it may have side effects


def test_float32_model_equals_its_torch_float32_twin():
    import torch

    from dlcourse.torch import to_torch_module

    model = nn.Sequential(nn.Linear(6, 16, rng=0, dtype=F32), nn.BatchNorm1d(16, dtype=F32), nn.ReLU(),
                          nn.Linear(16, 3, rng=1, dtype=F32))
    twin = to_torch_module(model, dtype=torch.float32)
    x = _rand((32, 6)) * 2 + 1
    y = np.arange(32) % 3
    loss, dout = losses.cross_entropy(model(x), y)
    dx = model.backward(dout)
    xt = torch.from_numpy(x).requires_grad_(True)
    tloss = torch.nn.functional.cross_entropy(twin(xt), torch.from_numpy(y))
    tloss.backward()
    assert abs(loss - tloss.item()) < 1e-5
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-3, atol=1e-6)
    for (name, p), tp in zip(model.named_parameters(), twin.parameters(), strict=True):
        assert tp.grad.dtype == torch.float32 and p.grad.dtype == F32
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-3, atol=1e-6, err_msg=name)
