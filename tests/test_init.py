"""dlcourse.init: each scheme's variance matches its formula; uniform bounds; torch's gains."""

import math

import numpy as np
import pytest
import torch

from dlcourse import init
from dlcourse.nn import Linear

SHAPE = (300, 500)  # (fan_out, fan_in): 150 000 samples per draw
FAN_IN, FAN_OUT = 500, 300


def _var_tol(var, n, kurtosis=3.0):
    """Five standard errors of the sample variance of n i.i.d. draws: sd = σ²·√((κ − 1)/n)."""
    return 5 * var * math.sqrt((kurtosis - 1) / n)


NORMAL = [
    ("lecun_normal", {}, 1 / FAN_IN),
    ("lecun_normal", {"gain": 5 / 3}, (5 / 3) ** 2 / FAN_IN),
    ("xavier_normal", {}, 2 / (FAN_IN + FAN_OUT)),
    ("xavier_normal", {"gain": 2.0}, 4 * 2 / (FAN_IN + FAN_OUT)),
    ("he_normal", {}, 2 / FAN_IN),
    ("he_normal", {"mode": "fan_out"}, 2 / FAN_OUT),
    ("he_normal", {"a": 0.2}, 2 / (1 + 0.04) / FAN_IN),
    ("he_normal", {"nonlinearity": "tanh"}, (5 / 3) ** 2 / FAN_IN),
    ("normal", {"std": 0.3}, 0.09),
]
UNIFORM = [
    ("lecun_uniform", {}, math.sqrt(3 / FAN_IN)),
    ("xavier_uniform", {}, math.sqrt(6 / (FAN_IN + FAN_OUT))),
    ("xavier_uniform", {"gain": 0.5}, 0.5 * math.sqrt(6 / (FAN_IN + FAN_OUT))),
    ("he_uniform", {}, math.sqrt(6 / FAN_IN)),
    ("he_uniform", {"mode": "fan_out"}, math.sqrt(6 / FAN_OUT)),
    ("uniform", {"a": 2.0}, 2.0),
]


@pytest.mark.parametrize("name, kw, var", NORMAL)
def test_normal_schemes_variance_and_mean(name, kw, var):
    w = getattr(init, name)(SHAPE, rng=np.random.default_rng(0), **kw)
    assert w.shape == SHAPE
    assert abs(w.var() - var) < _var_tol(var, w.size)
    assert abs(w.mean()) < 5 * math.sqrt(var / w.size)
    # the fourth moment of a Gaussian: E[w⁴] = 3σ⁴ (tells normal from uniform)
    assert abs(np.mean(w**4) / w.var() ** 2 - 3) < 0.1


@pytest.mark.parametrize("name, kw, bound", UNIFORM)
def test_uniform_schemes_bounds_and_variance(name, kw, bound):
    w = getattr(init, name)(SHAPE, rng=np.random.default_rng(1), **kw)
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.999 * bound  # the whole interval is used
    var = bound**2 / 3  # Var U(−a, a) = a²/3
    assert abs(w.var() - var) < _var_tol(var, w.size, kurtosis=1.8)


@pytest.mark.parametrize("ours, theirs, kw", [
    ("xavier_normal", torch.nn.init.xavier_normal_, {}),
    ("xavier_uniform", torch.nn.init.xavier_uniform_, {"gain": 1.7}),
    ("he_normal", torch.nn.init.kaiming_normal_, {}),
    ("he_uniform", torch.nn.init.kaiming_uniform_, {"a": math.sqrt(5)}),  # torch.nn.Linear's default
    ("he_uniform", torch.nn.init.kaiming_uniform_, {"mode": "fan_out", "nonlinearity": "relu"}),
])
def test_same_distribution_as_torch(ours, theirs, kw):
    w = getattr(init, ours)(SHAPE, rng=np.random.default_rng(2), **kw)
    torch.manual_seed(0)
    t = theirs(torch.empty(SHAPE, dtype=torch.float64), **kw).numpy()
    assert abs(w.var() - t.var()) < 2 * _var_tol(t.var(), t.size)
    if "uniform" in ours:
        assert abs(np.abs(w).max() - np.abs(t).max()) < 1e-3 * np.abs(t).max()


@pytest.mark.parametrize("nl, param", [("linear", None), ("sigmoid", None), ("tanh", None), ("relu", None),
                                       ("leaky_relu", None), ("leaky_relu", 0.3), ("selu", None)])
def test_calculate_gain_equals_torch(nl, param):
    assert init.calculate_gain(nl, param) == pytest.approx(torch.nn.init.calculate_gain(nl, param))


def test_fan_in_fan_out_equals_torch():
    for shape in [(3, 5), (8, 4, 3, 3), (2, 6, 5)]:
        ref = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
        assert init.fan_in_fan_out(shape) == ref
    with pytest.raises(ValueError, match="at least 2"):
        init.fan_in_fan_out((5,))


def test_constant_schemes_and_rng_reproducibility():
    assert not init.zeros((3, 4)).any()
    assert (init.ones((2, 2)) == 1).all() and (init.constant((2, 3), 0.5) == 0.5).all()
    a = init.he_normal((4, 5), rng=np.random.default_rng(7))
    b = init.he_normal((4, 5), rng=np.random.default_rng(7))
    assert np.array_equal(a, b)


def test_linear_accepts_name_callable_and_bound_kwargs():
    rng = np.random.default_rng(0)
    for name in init.SCHEMES:
        layer = Linear(400, 200, init=name, rng=rng)
        assert layer.weight.shape == (200, 400)
    layer = Linear(400, 200, init=init.get("normal", std=0.5), rng=rng)
    assert abs(layer.weight.data.std() - 0.5) < 0.01
    layer = Linear(400, 200, init=lambda shape, rng: init.xavier_uniform(shape, gain=2.0, rng=rng), rng=rng)
    assert np.abs(layer.weight.data).max() <= 2 * math.sqrt(6 / 600)


def test_bad_input_raises():
    with pytest.raises(ValueError, match="unknown init"):
        init.get("glorot_magic")
    with pytest.raises(TypeError):
        init.get(3)
    with pytest.raises(ValueError, match="mode"):
        init.he_normal((3, 4), mode="fan_avg")
    with pytest.raises(ValueError, match="nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError):
        init.normal((3, 4), std=-1)
    with pytest.raises(ValueError):
        init.zeros((3, -1))


# --- shapes, defaults, the rng each scheme is given, messages -----------------------------------


import inspect  # noqa: E402


def _names(exc: pytest.ExceptionInfo, name: str) -> bool:
    """``name`` appears in the message as a word of its own."""
    import re

    return re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", str(exc.value)) is not None


def test_an_int_shape_is_one_dimensional_and_empty_shapes_are_allowed_like_torch():
    assert init.zeros(5).shape == (5,) and init.ones(np.int64(3)).shape == (3,)
    for shape in [(0,), (0, 3), (3, 0), (2, 0, 4)]:
        assert init.normal(shape, rng=0).shape == shape == tuple(torch.empty(shape).shape)
        assert init.uniform(shape, rng=0).shape == shape
    with pytest.raises(ValueError, match="non-negative") as exc:
        init.zeros((2, -1))
    assert "-1" in str(exc.value)


def test_a_weight_matrix_has_no_receptive_field():
    for shape in [(3, 5), (1, 1), (4, 2)]:
        w = torch.empty(shape)
        fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(w)
        assert init.fan_in_fan_out(shape) == (fan_in, fan_out) == (shape[1], shape[0])


TORCH_LINEAR_GAINS = ["linear", "sigmoid", "conv1d", "conv2d", "conv3d",
                      "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"]


@pytest.mark.parametrize("nonlinearity", TORCH_LINEAR_GAINS + ["tanh", "relu", "leaky_relu", "selu"])
def test_every_nonlinearity_torch_knows_has_torch_gain(nonlinearity):
    assert init.calculate_gain(nonlinearity) == pytest.approx(torch.nn.init.calculate_gain(nonlinearity), rel=1e-15)


def test_calculate_gain_defaults_to_linear_and_lists_the_names_it_knows():
    assert init.calculate_gain() == 1.0 == init.calculate_gain("identity")  # identity: f(z) = z, like linear
    with pytest.raises(ValueError) as exc:
        init.calculate_gain("swish")
    for name in TORCH_LINEAR_GAINS + ["identity", "tanh", "relu", "leaky_relu", "selu"]:
        assert repr(name) in str(exc.value)


def test_normal_and_uniform_defaults_draw_exactly_what_they_document():
    assert inspect.signature(init.normal).parameters["std"].default == 0.01
    np.testing.assert_array_equal(init.normal((4, 3), rng=7), np.random.default_rng(7).normal(0.0, 0.01, size=(4, 3)))
    np.testing.assert_array_equal(init.uniform((4, 3), rng=7), np.random.default_rng(7).uniform(-1.0, 1.0, size=(4, 3)))
    np.testing.assert_array_equal(init.constant((2, 2)), np.zeros((2, 2)))


def test_a_zero_spread_gives_a_constant_and_a_bad_spread_is_refused_by_name():
    np.testing.assert_array_equal(init.normal((3,), std=0.0, mean=2.0, rng=0), np.full(3, 2.0))
    np.testing.assert_array_equal(init.uniform((3,), a=0.0, rng=0), np.zeros(3))
    for bad in (-0.1, float("nan"), float("inf")):
        with pytest.raises(ValueError) as exc:
            init.normal((3,), std=bad)
        assert _names(exc, "std"), str(exc.value)
        with pytest.raises(ValueError) as exc:
            init.uniform((3,), a=bad)
        assert _names(exc, "a"), str(exc.value)


@pytest.mark.parametrize("name", sorted(n for n in init.SCHEMES if n not in ("zeros", "ones", "constant")))
def test_every_random_scheme_draws_from_the_rng_it_is_given(name):
    fn = init.SCHEMES[name]
    a = fn((6, 5), rng=np.random.default_rng(11))
    b = fn((6, 5), rng=np.random.default_rng(11))
    np.testing.assert_array_equal(a, b)
    gen = np.random.default_rng(3)
    first, second = fn((6, 5), rng=gen), fn((6, 5), rng=gen)  # one generator: one stream
    assert not np.array_equal(first, second)


def test_get_returns_the_scheme_itself_without_kwargs_and_names_a_bad_type():
    assert init.get("normal") is init.normal and init.get(init.he_uniform) is init.he_uniform
    with pytest.raises(TypeError) as exc:
        init.get(3)
    assert _names(exc, "int"), str(exc.value)
