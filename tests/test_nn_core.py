"""dlcourse.nn core (Parameter, Module, Sequential, Linear, activation modules) and
dlcourse.functional.linear_* against torch autograd in float64 and finite differences."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcourse import functional as Fn
from dlcourse import nn
from dlcourse.gradcheck import check_module, rel_error
from dlcourse.losses import cross_entropy

TORCH_TOL = 1e-8  # equality with torch autograd (both float64)
FD_TOL = 1e-6  # agreement with finite differences


def t64(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), dtype=torch.float64, requires_grad=grad)


def torch_linear_from(layer: nn.Linear) -> torch.nn.Linear:
    """A torch.nn.Linear holding a copy of our layer's weights (same (out, in) layout)."""
    ref = torch.nn.Linear(layer.in_features, layer.out_features, bias=layer.bias is not None, dtype=torch.float64)
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(layer.weight.data))
        if layer.bias is not None:
            ref.bias.copy_(torch.from_numpy(layer.bias.data))
    return ref


def away_from_zero(x):
    """Move entries off the kink at 0 so finite differences of ReLU-like functions are valid."""
    x = x.copy()
    x[np.abs(x) < 1e-2] = 0.5
    return x


# --- Parameter --------------------------------------------------------------------------------


def test_parameter_grad_is_zero_same_shape_and_assignable():
    p = nn.Parameter([[1, 2, 3]])
    assert p.data.dtype == np.float64 and p.shape == (1, 3)
    np.testing.assert_array_equal(p.grad, np.zeros((1, 3)))
    p.grad = np.ones((1, 3))
    np.testing.assert_array_equal(p.grad, np.ones((1, 3)))
    p.zero_grad()
    np.testing.assert_array_equal(p.grad, np.zeros((1, 3)))


def test_parameter_copies_its_data_and_checks_grad_shape():
    source = np.ones(3)
    p = nn.Parameter(source)
    source[0] = 5.0
    assert p.data[0] == 1.0
    with pytest.raises(ValueError) as exc:
        p.grad = np.ones((3, 1))
    assert "(3,)" in str(exc.value) and "(3, 1)" in str(exc.value)


# --- functional.linear_forward / linear_backward ----------------------------------------------


def test_linear_functional_equals_torch():
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(6, 4)), rng.normal(size=(3, 4)), rng.normal(size=3)
    dout = rng.normal(size=(6, 3))
    out, cache = Fn.linear_forward(x, w, b)
    dx, dw, db = Fn.linear_backward(dout, cache)
    tx, tw, tb = t64(x, True), t64(w, True), t64(b, True)
    tout = torch.nn.functional.linear(tx, tw, tb)
    tout.backward(t64(dout))
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=TORCH_TOL)
    for ours, ref in ((dx, tx), (dw, tw), (db, tb)):
        assert rel_error(ours, ref.grad.numpy()) < TORCH_TOL


def test_linear_functional_without_bias():
    rng = np.random.default_rng(1)
    x, w = rng.normal(size=(2, 3)), rng.normal(size=(4, 3))
    out, cache = Fn.linear_forward(x, w)
    np.testing.assert_allclose(out, x @ w.T)
    dx, dw, db = Fn.linear_backward(np.ones((2, 4)), cache)
    assert db is None and dx.shape == (2, 3) and dw.shape == (4, 3)


def test_linear_functional_shape_errors_name_both_shapes():
    with pytest.raises(ValueError) as exc:
        Fn.linear_forward(np.zeros((5, 3)), np.zeros((2, 4)))
    assert "(5, 3)" in str(exc.value) and "(2, 4)" in str(exc.value)
    with pytest.raises(ValueError) as exc:
        Fn.linear_forward(np.zeros((5, 4)), np.zeros((2, 4)), np.zeros(3))
    assert "(2,)" in str(exc.value) and "(3,)" in str(exc.value)
    _, cache = Fn.linear_forward(np.zeros((5, 4)), np.zeros((2, 4)))
    with pytest.raises(ValueError) as exc:
        Fn.linear_backward(np.zeros((5, 3)), cache)
    assert "(5, 2)" in str(exc.value) and "(5, 3)" in str(exc.value)
    with pytest.raises(ValueError, match=r"2-D.*\(4,\)"):
        Fn.linear_forward(np.zeros(4), np.zeros((2, 4)))


# --- Linear -----------------------------------------------------------------------------------


def test_linear_layout_matches_torch():
    layer = nn.Linear(4, 3, rng=0)
    assert layer.weight.shape == (3, 4) and layer.bias.shape == (3,)
    assert layer.parameters() == [layer.weight, layer.bias]
    assert [n for n, _ in layer.named_parameters()] == [n for n, _ in torch.nn.Linear(4, 3).named_parameters()]
    no_bias = nn.Linear(4, 3, bias=False, rng=0)
    assert no_bias.bias is None and no_bias.parameters() == [no_bias.weight]


def test_linear_init_is_reproducible_from_the_rng():
    a, b = nn.Linear(5, 2, rng=np.random.default_rng(3)), nn.Linear(5, 2, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    # default init is He normal: std sqrt(2/fan_in); check on a big layer (statistical fact)
    big = nn.Linear(400, 300, rng=1)
    assert big.weight.data.std() == pytest.approx(np.sqrt(2 / 400), rel=0.03)


@pytest.mark.parametrize("bias", [True, False])
def test_linear_module_equals_torch_and_finite_differences(bias):
    rng = np.random.default_rng(2)
    layer = nn.Linear(5, 3, bias=bias, rng=rng)
    x, dout = rng.normal(size=(7, 5)), rng.normal(size=(7, 3))
    ref = torch_linear_from(layer)
    tx = t64(x, True)
    tout = ref(tx)
    tout.backward(t64(dout))
    out = layer(x)
    dx = layer.backward(dout)
    assert rel_error(out, tout.detach().numpy()) < TORCH_TOL
    assert rel_error(dx, tx.grad.numpy()) < TORCH_TOL
    assert rel_error(layer.weight.grad, ref.weight.grad.numpy()) < TORCH_TOL
    if bias:
        assert rel_error(layer.bias.grad, ref.bias.grad.numpy()) < TORCH_TOL
    errors = check_module(layer, x, rng=rng)
    assert set(errors) == ({"input", "weight", "bias"} if bias else {"input", "weight"})
    assert max(errors.values()) < FD_TOL


def test_linear_input_errors():
    layer = nn.Linear(4, 2, rng=0)
    with pytest.raises(ValueError) as exc:
        layer(np.zeros((3, 5)))
    assert "(N, 4)" in str(exc.value) and "(3, 5)" in str(exc.value)
    with pytest.raises(ValueError, match=r"2-D.*\(4,\)"):
        layer(np.zeros(4))
    with pytest.raises(TypeError, match="numeric"):
        layer(np.array([["a"] * 4]))
    with pytest.raises(RuntimeError, match="before forward"):
        nn.Linear(4, 2, rng=0).backward(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="positive"):
        nn.Linear(0, 2)


@pytest.mark.parametrize("in_features, out_features, name", [
    (2.7, 3, "in_features"),  # int() would quietly make it 2
    (2.0, 3, "in_features"),
    ("3", 2, "in_features"),
    (True, 3, "in_features"),
    (3, np.bool_(True), "out_features"),
    (3, -1, "out_features"),
])
def test_linear_sizes_must_be_positive_ints(in_features, out_features, name):
    with pytest.raises(ValueError, match=f"{name} must be a positive integer"):
        nn.Linear(in_features, out_features, rng=0)


def test_linear_accepts_numpy_ints_and_stores_python_ints():
    layer = nn.Linear(np.int64(3), np.int32(2), rng=0)
    assert (layer.in_features, layer.out_features) == (3, 2)
    assert type(layer.in_features) is int and type(layer.out_features) is int


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 8), d=st.integers(1, 6), o=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_property_linear_equals_torch_on_random_shapes(n, d, o, seed):
    rng = np.random.default_rng(seed)
    layer = nn.Linear(d, o, rng=rng)
    layer.bias.data = rng.normal(size=o)
    x, dout = rng.normal(size=(n, d)), rng.normal(size=(n, o))
    ref = torch_linear_from(layer)
    tx = t64(x, True)
    tout = ref(tx)
    tout.backward(t64(dout))
    out = layer(x)
    assert out.shape == (n, o)
    assert rel_error(out, tout.detach().numpy()) < TORCH_TOL
    assert rel_error(layer.backward(dout), tx.grad.numpy()) < TORCH_TOL
    assert rel_error(layer.weight.grad, ref.weight.grad.numpy()) < TORCH_TOL
    assert rel_error(layer.bias.grad, ref.bias.grad.numpy()) < TORCH_TOL


# --- activation modules -----------------------------------------------------------------------

ACTIVATION_MODULES = {
    "ReLU": (nn.ReLU, torch.nn.ReLU()),
    "Sigmoid": (nn.Sigmoid, torch.nn.Sigmoid()),
    "Tanh": (nn.Tanh, torch.nn.Tanh()),
    "LeakyReLU": (lambda: nn.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)),
    "LeakyReLU-default": (nn.LeakyReLU, torch.nn.LeakyReLU()),
    "ELU": (lambda: nn.ELU(alpha=0.7), torch.nn.ELU(alpha=0.7)),
    "LeCunTanh": (nn.LeCunTanh, lambda z: 1.7159 * torch.tanh(2.0 * z / 3.0)),
}


@pytest.mark.parametrize("name", sorted(ACTIVATION_MODULES))
def test_activation_module_equals_torch_and_finite_differences(name):
    make, torch_f = ACTIVATION_MODULES[name]
    rng = np.random.default_rng(4)
    x = away_from_zero(rng.normal(size=(6, 5)) * 2)
    dout = rng.normal(size=(6, 5))
    module = make()
    out = module(x)
    dx = module.backward(dout)
    tx = t64(x, True)
    tout = torch_f(tx)
    tout.backward(t64(dout))
    assert rel_error(out, tout.detach().numpy()) < TORCH_TOL
    assert rel_error(dx, tx.grad.numpy()) < TORCH_TOL
    errors = check_module(module, x, rng=rng)
    assert set(errors) == {"input"} and errors["input"] < FD_TOL
    assert module.parameters() == []


@settings(max_examples=30, deadline=None)
@given(name=st.sampled_from(sorted(ACTIVATION_MODULES)), n=st.integers(1, 6), d=st.integers(1, 6),
       seed=st.integers(0, 2**16))
def test_property_activation_modules_equal_torch(name, n, d, seed):
    make, torch_f = ACTIVATION_MODULES[name]
    rng = np.random.default_rng(seed)
    x, dout = rng.normal(size=(n, d)) * 4, rng.normal(size=(n, d))
    module = make()
    tx = t64(x, True)
    torch_f(tx).backward(t64(dout))
    np.testing.assert_allclose(module(x), torch_f(t64(x)).numpy(), rtol=TORCH_TOL, atol=1e-14)
    np.testing.assert_allclose(module.backward(dout), tx.grad.numpy(), rtol=TORCH_TOL, atol=1e-14)


def test_activation_module_errors():
    with pytest.raises(RuntimeError, match="before forward"):
        nn.Tanh().backward(np.ones(3))
    m = nn.Sigmoid()
    m(np.zeros((2, 3)))
    with pytest.raises(ValueError) as exc:
        m.backward(np.zeros((3, 2)))
    assert "(2, 3)" in str(exc.value) and "(3, 2)" in str(exc.value)


# --- a 3-layer MLP end to end -----------------------------------------------------------------


def build_mlp(rng):
    return nn.Sequential(nn.Linear(5, 8, rng=rng), nn.Tanh(), nn.Linear(8, 6, rng=rng), nn.ReLU(), nn.Linear(6, 3, rng=rng))


def torch_twin(model: nn.Sequential) -> torch.nn.Sequential:
    layers = []
    for m in model:
        if isinstance(m, nn.Linear):
            layers.append(torch_linear_from(m))
        else:
            layers.append({nn.Tanh: torch.nn.Tanh, nn.ReLU: torch.nn.ReLU}[type(m)]())
    return torch.nn.Sequential(*layers)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_mlp_with_cross_entropy_equals_torch(label_smoothing):
    rng = np.random.default_rng(5)
    model = build_mlp(rng)
    for m in model:  # non-zero biases so every term of the backward pass is exercised
        if isinstance(m, nn.Linear):
            m.bias.data = rng.normal(scale=0.5, size=m.bias.shape)
    x, y = rng.normal(size=(10, 5)), rng.integers(0, 3, size=10)

    loss, dlogits = cross_entropy(model(x), y, label_smoothing=label_smoothing)
    dx = model.backward(dlogits)

    ref = torch_twin(model)
    tx = t64(x, True)
    tloss = torch.nn.functional.cross_entropy(ref(tx), torch.tensor(y), label_smoothing=label_smoothing)
    tloss.backward()

    assert loss == pytest.approx(tloss.item(), rel=TORCH_TOL)
    assert rel_error(dx, tx.grad.numpy()) < TORCH_TOL
    ours = dict(model.named_parameters())
    theirs = dict(ref.named_parameters())
    assert set(ours) == set(theirs) == {f"{i}.{p}" for i in (0, 2, 4) for p in ("weight", "bias")}
    for name, p in ours.items():
        assert rel_error(p.grad, theirs[name].grad.numpy()) < TORCH_TOL, name


def test_mlp_passes_gradient_check():
    rng = np.random.default_rng(6)
    model = build_mlp(rng)
    errors = check_module(model, rng.normal(size=(4, 5)), rng=rng)
    assert len(errors) == 7 and max(errors.values()) < FD_TOL


# --- Module mechanics: state dict, zero_grad, accumulation, train/eval, Sequential --------------


def test_state_dict_keys_equal_torch_and_round_trip():
    rng = np.random.default_rng(7)
    model = build_mlp(rng)
    state = model.state_dict()
    assert list(state) == list(torch_twin(model).state_dict())
    other = build_mlp(np.random.default_rng(8))
    x = rng.normal(size=(3, 5))
    assert not np.allclose(other(x), model(x))
    arrays_before = [p.data for p in other.parameters()]
    other.load_state_dict(state)
    np.testing.assert_array_equal(other(x), model(x))
    assert all(p.data is a for p, a in zip(other.parameters(), arrays_before, strict=True))  # copied in place, like torch
    # the state dict is a copy: changing it or the model afterwards does not leak across
    state["0.weight"][:] = 0.0
    assert not np.all(model[0].weight.data == 0.0)
    other[0].weight.data[:] = 1.0
    assert not np.all(model[0].weight.data == 1.0)


class _Counter(nn.Module):
    """A parameter-free module with a buffer, like BatchNorm's running statistics."""

    _buffer_names = ("seen",)

    def __init__(self) -> None:
        self.seen = np.zeros(2)

    def forward(self, x):
        self.seen = self.seen + np.asarray(x).shape[0]
        return x

    def backward(self, dout):
        return dout


def test_state_dict_round_trips_buffers_inside_sequential():
    model = nn.Sequential(nn.Linear(2, 2, rng=0), _Counter())
    model(np.ones((3, 2)))
    state = model.state_dict()
    assert list(state) == ["0.weight", "0.bias", "1.seen"]
    fresh = nn.Sequential(nn.Linear(2, 2, rng=1), _Counter())
    fresh.load_state_dict(state)
    np.testing.assert_array_equal(fresh[1].seen, [3.0, 3.0])
    state["1.seen"][:] = -1.0  # a copy, not a view of the buffer
    np.testing.assert_array_equal(fresh[1].seen, [3.0, 3.0])
    np.testing.assert_array_equal(model[1].seen, [3.0, 3.0])


def test_load_state_dict_errors():
    model = build_mlp(np.random.default_rng(9))
    state = model.state_dict()
    bad = dict(state)
    bad["0.weight"] = np.zeros((2, 2))
    with pytest.raises(ValueError) as exc:
        model.load_state_dict(bad)
    assert "(8, 5)" in str(exc.value) and "(2, 2)" in str(exc.value)
    missing = dict(state)
    del missing["4.bias"]
    with pytest.raises(KeyError, match="4.bias"):
        model.load_state_dict(missing)


def test_zero_grad_and_accumulation_across_two_backward_calls_like_torch():
    rng = np.random.default_rng(10)
    model = build_mlp(rng)
    ref = torch_twin(model)
    x, dout = rng.normal(size=(4, 5)), rng.normal(size=(4, 3))
    for _ in range(2):  # two backward passes without zero_grad: gradients add up
        model(x)
        model.backward(dout)
        ref(t64(x)).backward(t64(dout))
    theirs = dict(ref.named_parameters())
    for name, p in model.named_parameters():
        assert rel_error(p.grad, theirs[name].grad.numpy()) < TORCH_TOL
    single = build_mlp(np.random.default_rng(10))
    single(x)
    single.backward(dout)
    np.testing.assert_allclose(model[0].weight.grad, 2 * single[0].weight.grad, rtol=1e-12)
    model.zero_grad()
    assert all(np.all(p.grad == 0) and p.grad.shape == p.shape for p in model.parameters())


def test_train_and_eval_propagate_to_every_submodule():
    inner = nn.Sequential(nn.Linear(2, 2, rng=0), nn.ReLU())
    model = nn.Sequential(nn.Linear(2, 2, rng=0), inner, nn.Tanh())
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert len(list(model.modules())) == 6 and not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    inner.eval()
    assert model.training and not inner.training and not inner[0].training


def test_sequential_is_iterable_and_indexable_like_torch():
    layers = [nn.Linear(3, 4, rng=0), nn.ReLU(), nn.Linear(4, 2, rng=0)]
    model = nn.Sequential(*layers)
    assert len(model) == 3 and list(model) == layers and model[-1] is layers[2]
    head = model[:2]
    assert isinstance(head, nn.Sequential) and list(head) == layers[:2]
    model.append(nn.Sigmoid())
    assert len(model) == 4
    assert model.parameters() == [layers[0].weight, layers[0].bias, layers[2].weight, layers[2].bias]
    with pytest.raises(TypeError, match="Module"):
        nn.Sequential(nn.ReLU(), lambda x: x)
    assert "Linear(in_features=3, out_features=4, bias=True)" in repr(model)


def test_module_call_is_forward():
    layer = nn.Linear(3, 2, rng=0)
    x = np.ones((1, 3))
    np.testing.assert_array_equal(layer(x), layer.forward(x))


# --- functional.linear_* names its arguments, keeps float32 --------------------------------------


def _names(exc: pytest.ExceptionInfo, *names: str) -> bool:
    """Each of ``names`` appears in the message as a word of its own."""
    import re

    return all(re.search(rf"(?<![\w]){re.escape(n)}(?![\w])", str(exc.value)) for n in names)


def test_functional_linear_keeps_float32_end_to_end_like_torch():
    rng = np.random.default_rng(0)
    x, w, b = (rng.normal(size=s).astype(np.float32) for s in [(4, 3), (2, 3), (2,)])
    dout = rng.normal(size=(4, 2)).astype(np.float32)
    out, cache = Fn.linear_forward(x, w, b)
    dx, dw, db = Fn.linear_backward(dout, cache)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    tout = torch.nn.functional.linear(tx, tw, tb)
    tout.backward(torch.tensor(dout))
    for ours, ref in [(out, tout), (dx, tx.grad), (dw, tw.grad), (db, tb.grad)]:
        assert ours.dtype == np.float32
        np.testing.assert_allclose(ours, ref.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_functional_linear_names_the_function_and_the_argument_of_a_wrong_dtype():
    x, w, b = np.ones((2, 3)), np.ones((4, 3)), np.ones(4)
    cases = [
        (lambda: Fn.linear_forward(x.astype(np.float32), w, b), ("linear_forward", "x")),
        (lambda: Fn.linear_forward(x, w, b.astype(np.float32)), ("linear_forward", "b")),
        (lambda: Fn.linear_backward(np.ones((2, 4), np.float32), Fn.linear_forward(x, w, b)[1]), ("linear_backward", "dout")),
    ]
    for call, names in cases:
        with pytest.raises(TypeError) as exc:
            call()
        assert _names(exc, *names), str(exc.value)


def test_functional_linear_names_an_argument_of_the_wrong_rank():
    x, w, b = np.ones((2, 3)), np.ones((4, 3)), np.ones(4)
    cases = [
        (lambda: Fn.linear_forward(x, np.array([["a"]])), TypeError, "w"),
        (lambda: Fn.linear_forward(x, np.ones(3)), ValueError, "w"),
        (lambda: Fn.linear_forward(np.ones(3), w), ValueError, "x"),
        (lambda: Fn.linear_forward(x, w, np.ones((4, 1))), ValueError, "b"),
        (lambda: Fn.linear_backward(np.ones(8), Fn.linear_forward(x, w, b)[1]), ValueError, "dout"),
    ]
    for call, error, name in cases:
        with pytest.raises(error) as exc:
            call()
        assert _names(exc, name), str(exc.value)
        if error is ValueError:
            assert "-D" in str(exc.value), str(exc.value)  # the rank check, not a later shape check
