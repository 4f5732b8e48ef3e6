"""dlcourse.autodiff: reverse mode (Value) and forward mode (Dual) against torch autograd in float64."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcourse.autodiff import Dual, Value, derivative, gradient, layout, topological_order, trace

TOL = 1e-10


def close(a, b, tol=TOL):
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def t(x):
    return torch.tensor(float(x), dtype=torch.float64, requires_grad=True)


# --- the micrograd README example -------------------------------------------------------------


def micrograd_example(a, b):
    """Works on Value and on torch tensors alike (only operators and .relu())."""
    c = a + b
    d = a * b + b**3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + (b + a).relu()
    d = d + 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g = g + 10.0 / f
    return g


def test_micrograd_readme_example_equals_torch():
    a, b = Value(-4.0), Value(2.0)
    g = micrograd_example(a, b)
    g.backward()
    ta, tb = t(-4.0), t(2.0)
    tg = micrograd_example(ta, tb)
    tg.backward()
    assert close(g.data, tg.item()) and close(a.grad, ta.grad.item()) and close(b.grad, tb.grad.item())
    # the numbers micrograd's README prints
    assert f"{g.data:.4f}" == "24.7041" and f"{a.grad:.4f}" == "138.8338" and f"{b.grad:.4f}" == "645.5773"


def test_in_place_operators_work_like_micrograd():
    a = Value(3.0)
    c = a
    c += 1  # __iadd__ falls back to __add__: a new node
    c *= a
    c.backward()
    assert c.data == 12.0 and a.grad == 2 * 3.0 + 1  # d/da (a + 1)a = 2a + 1


# --- numbers on both sides, powers, division --------------------------------------------------


def arithmetic(x, y):
    return (2 / x + x / 3 - 1 - x) ** 2 * (4 - y) / (y**-1.5 + 0.5) + 3 * x * y - 7 / (x * y) + (x**0.5) * -y


def test_arithmetic_with_numbers_on_both_sides_equals_torch():
    x, y = Value(1.7), Value(0.6)
    out = arithmetic(x, y)
    out.backward()
    tx, ty = t(1.7), t(0.6)
    tout = arithmetic(tx, ty)
    tout.backward()
    assert close(out.data, tout.item())
    assert close(x.grad, tx.grad.item()) and close(y.grad, ty.grad.item())


def chain(x, y):
    return ((x * y).tanh().exp() + (x.sigmoid() * 3).log() - (y - x).relu() * (x * x + 1).log()).tanh() * (-y).exp()


def torch_chain(x, y):
    return ((x * y).tanh().exp() + (x.sigmoid() * 3).log() - (y - x).relu() * (x * x + 1).log()).tanh() * (-y).exp()


@pytest.mark.parametrize(("xv", "yv"), [(0.3, -1.2), (-2.0, 0.5), (1.5, 2.5)])
def test_tanh_exp_log_sigmoid_chain_equals_torch(xv, yv):
    x, y = Value(xv), Value(yv)
    out = chain(x, y)
    out.backward()
    tx, ty = t(xv), t(yv)
    tout = torch_chain(tx, ty)
    tout.backward()
    assert close(out.data, tout.item())
    assert close(x.grad, tx.grad.item()) and close(y.grad, ty.grad.item())


def test_a_node_used_twice_gets_both_contributions():
    a = Value(3.0)
    b = a * a  # both inputs of '*' are the same node
    b.backward()
    assert a.grad == 6.0
    a = Value(2.0)
    out = (a + a) * a  # 2a², d/da = 4a
    out.backward()
    assert a.grad == 8.0


def test_relu_gradient_at_zero_is_zero_like_torch():
    a = Value(0.0)
    a.relu().backward()
    ta = t(0.0)
    torch.relu(ta).backward()
    assert a.grad == ta.grad.item() == 0.0


def test_sigmoid_is_stable_for_large_inputs():
    for v in (-1000.0, 1000.0):
        s = Value(v).sigmoid()
        s.backward()
        assert s.data in (0.0, 1.0) and math.isfinite(s.data)


def test_grads_accumulate_across_backward_calls_like_torch():
    x = Value(2.0)
    y = x * x
    y.backward()
    y.backward()
    tx = t(2.0)
    ty = tx * tx
    ty.backward(retain_graph=True)
    ty.backward()
    assert x.grad == tx.grad.item() == 8.0


def test_deep_graph_needs_no_recursion():
    x = Value(0.5)
    out = x
    for _ in range(5000):  # deeper than Python's default recursion limit
        out = out * 1.0 + 0.0
    out.backward()
    assert x.grad == 1.0


def test_value_rejects_bad_operands():
    with pytest.raises(TypeError):
        Value(2.0) ** Value(3.0)
    with pytest.raises(TypeError):
        Value(1.0) + "a"
    with pytest.raises(TypeError):
        Value(1.0) + Dual(1.0, 1.0)
    with pytest.raises(TypeError):
        Value("1.0")
    with pytest.raises(ValueError, match="positive"):
        Value(-1.0).log()
    with pytest.raises(ValueError, match="non-integer power"):
        Value(-8.0) ** 0.5
    assert (Value(-2.0) ** 3).data == -8.0  # integer powers of negatives are fine


# --- graph tracing ----------------------------------------------------------------------------


def test_trace_returns_a_topologically_ordered_graph():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = a * b
    d = c + a
    e = d.tanh()
    nodes, edges = trace(e)
    assert len(nodes) == 5 and nodes[-1] is e
    assert {n.label for n in nodes if not n._prev} == {"a", "b"}
    rank = {id(n): i for i, n in enumerate(nodes)}
    assert len(edges) == 5  # a→c, b→c, c→d, a→d, d→e
    for child, parent in edges:
        assert child in parent._prev and rank[id(child)] < rank[id(parent)]
    assert [n._op for n in nodes if n._prev] == ["*", "+", "tanh"]
    pos = layout(e)
    assert all(pos[child][0] < pos[parent][0] for child, parent in edges)
    assert len(set(pos.values())) == len(nodes)  # no two nodes drawn on top of each other
    assert topological_order(e) == nodes


# --- forward mode: dual numbers ---------------------------------------------------------------


def test_dual_arithmetic_rules():
    a, b = Dual(3.0, 1.0), Dual(2.0, 0.0)
    p = a * b
    assert (p.real, p.dual) == (6.0, 2.0)
    q = a / b
    assert (q.real, q.dual) == (1.5, 0.5)
    r = 1 - a
    assert (r.real, r.dual) == (-2.0, -1.0)
    s = 6 / a  # d/da 6/a = −6/a² = −2/3
    assert s.real == 2.0 and s.dual == pytest.approx(-2 / 3)


@pytest.mark.parametrize("x0", [-1.3, 0.4, 2.2])
def test_derivative_of_one_variable_equals_torch(x0):
    def f(x):
        return (x * x + 1).log() * x.tanh() - 3 / (1 + x.exp()) + (x - 0.1).relu() ** 2 + x.sigmoid() / 2

    tx = t(x0)
    f(tx).backward()
    assert close(derivative(f, x0), tx.grad.item())


def test_derivative_of_constant_function_is_zero():
    assert derivative(lambda x: 5.0, 1.0) == 0.0


def test_dual_and_value_agree_on_the_micrograd_example():
    # ∂g/∂a by forward mode (seed a) equals reverse mode's a.grad
    ga = micrograd_example(Dual(-4.0, 1.0), Dual(2.0, 0.0))
    gb = micrograd_example(Dual(-4.0, 0.0), Dual(2.0, 1.0))
    a, b = Value(-4.0), Value(2.0)
    g = micrograd_example(a, b)
    g.backward()
    assert close(ga.real, g.data) and close(ga.dual, a.grad) and close(gb.dual, b.grad)


def test_gradient_forward_needs_n_passes_reverse_needs_one():
    def f(v):
        return sum((vi * vi).tanh() * (i + 1) for i, vi in enumerate(v)) / (1 + v[0].exp())

    x = [0.3, -0.7, 1.1, 0.05, -2.0]
    fwd = gradient(f, x, mode="forward")
    rev = gradient(f, x, mode="reverse")
    tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    f(list(tx)).backward()
    assert (fwd.passes, rev.passes) == (len(x), 1)
    assert close(fwd.value, rev.value)
    for gf, gr, gt in zip(fwd.grad, rev.grad, tx.grad.tolist(), strict=True):
        assert close(gf, gt) and close(gr, gt)


def test_gradient_validates_its_arguments():
    with pytest.raises(ValueError, match="mode"):
        gradient(lambda v: v[0], [1.0], mode="sideways")
    with pytest.raises(ValueError, match="at least one"):
        gradient(lambda v: 0.0, [])
    assert gradient(lambda v: 2.0, [1.0, 2.0]).grad == [0.0, 0.0]


def test_dual_rejects_bad_operands():
    with pytest.raises(TypeError):
        Dual(1.0) ** Dual(2.0)
    with pytest.raises(TypeError):
        Dual(1.0) * "x"
    with pytest.raises(ValueError, match="positive"):
        Dual(0.0, 1.0).log()
    with pytest.raises(ValueError, match="non-integer power"):
        Dual(-1.0, 1.0) ** 1.5


# --- property: the two modes and torch agree on random points ----------------------------------


def composite(x, y):
    return (x * y + 2).tanh() * (x - y / 3).exp() + (x * x + y * y + 1).log() / (2 + y.sigmoid()) - 1.5 ** 2 * x


@settings(max_examples=40, deadline=None)
@given(st.floats(-2, 2), st.floats(-2, 2))
def test_property_forward_reverse_and_torch_agree(xv, yv):
    res_f = gradient(lambda v: composite(*v), [xv, yv], mode="forward")
    res_r = gradient(lambda v: composite(*v), [xv, yv], mode="reverse")
    tx, ty = t(xv), t(yv)
    tout = composite(tx, ty)
    tout.backward()
    assert close(res_f.value, tout.item()) and close(res_r.value, tout.item())
    for i, ref in enumerate((tx.grad.item(), ty.grad.item())):
        assert close(res_f.grad[i], ref) and close(res_r.grad[i], ref)


# --- numpy scalars, foreign operands, messages, labels, layout ----------------------------------


import numpy as np  # noqa: E402  (numpy scalars are the numbers these tests feed in)


class _Foreign:
    """An operand autodiff does not know: its reflected operators must get their turn."""

    def __radd__(self, other):
        return "foreign radd"

    def __rmul__(self, other):
        return "foreign rmul"


@pytest.mark.parametrize("number", [np.float64(2.5), np.float32(2.5), np.int64(2), np.array(2.5)])
def test_numpy_scalars_are_numbers_for_value_dual_and_exponents(number):
    assert Value(number).data == float(number)
    assert Dual(number, number).real == float(number) and Dual(1.0, number).dual == float(number)
    assert (Value(2.0) ** number).data == 2.0 ** float(number)
    assert (Dual(2.0, 1.0) ** number).real == 2.0 ** float(number)


@pytest.mark.parametrize("bad", [np.array([1.0]), np.array([1.0, 2.0]), "1.5"])
def test_arrays_of_rank_one_and_strings_are_not_numbers(bad):
    # a length-1 array would convert with float(); it is still not a scalar
    with pytest.raises(TypeError, match=r"^Value holds a real number, got (ndarray|str)$"):
        Value(bad)
    with pytest.raises(TypeError, match=r"^Dual holds two real numbers, got (ndarray|str) and float$"):
        Dual(bad, 0.0)
    with pytest.raises(TypeError, match=r"^Dual holds two real numbers, got float and (ndarray|str)$"):
        Dual(0.0, bad)
    with pytest.raises(TypeError, match=r"^only a numeric \(int/float\) exponent is supported, got (ndarray|str)$"):
        Value(2.0) ** bad
    with pytest.raises(TypeError, match=r"exponent is supported, got (ndarray|str)$"):
        Dual(2.0, 1.0) ** bad


def test_dual_defaults_to_a_constant():
    d = Dual(3.0)
    assert (d.real, d.dual) == (3.0, 0.0)
    assert (Dual(2.0, 1.0) * 5).dual == 5.0  # the 5 is lifted to a constant: (5 + 0ε)


def test_unknown_operands_are_left_to_their_own_reflected_operators():
    for ours in (Value(1.0), Dual(1.0, 1.0)):
        assert ours + _Foreign() == "foreign radd"
        assert ours * _Foreign() == "foreign rmul"
        with pytest.raises(TypeError, match="unsupported operand"):
            "a" - ours
        with pytest.raises(TypeError, match="unsupported operand"):
            "a" / ours


def test_log_of_zero_is_refused_with_the_positive_message():
    with pytest.raises(ValueError, match="positive"):
        Value(0.0).log()


def test_zero_to_a_fractional_power_is_real():
    assert (Value(0.0) ** 0.5).data == 0.0 == torch.tensor(0.0, dtype=torch.float64).pow(0.5).item()
    assert (Dual(0.0, 0.0) ** 2.5).real == 0.0


def test_dual_relu_derivative_at_zero_is_zero_like_torch():
    x = t(0.0)
    torch.relu(x).backward()
    assert Dual(0.0, 1.0).relu().dual == x.grad.item() == 0.0


def test_every_operation_records_its_label_for_drawing():
    a, b = Value(2.0), Value(0.5)
    ops = {
        "+": a + b, "-": a - b, "*": a * b, "/": a / b, "**2": a**2, "**0.5": a**0.5,
        "ReLU": a.relu(), "tanh": a.tanh(), "exp": a.exp(), "log": a.log(), "σ": a.sigmoid(),
    }
    for op, node in ops.items():
        assert node._op == op
    leaf = Value(1.0)
    assert (leaf._op, leaf.label, leaf._prev) == ("", "", set())
    # negation is a product with the constant −1 (micrograd's graph): ∂(a·c)/∂c = a
    neg = -a
    assert neg._op == "*" and neg.data == -2.0
    neg.backward()
    (const,) = neg._prev - {a}
    assert const.data == -1.0 and a.grad == -1.0 and const.grad == a.data


def test_gradient_of_a_constant_function_in_both_modes():
    for mode in ("forward", "reverse"):
        res = gradient(lambda v: 2.0, [1.0, 2.0], mode=mode)
        assert res.value == 2.0 and res.grad == [0.0, 0.0]
        assert res.passes == (2 if mode == "forward" else 1)


def test_gradient_of_no_inputs_says_so_exactly():
    with pytest.raises(ValueError, match=r"^gradient needs at least one input$"):
        gradient(lambda v: 0.0, [])


def test_layout_columns_are_depths_and_rows_count_down_from_zero():
    a, b, c = Value(1.0), Value(2.0), Value(3.0)
    ab = a * b
    out = (ab + c).tanh()  # depths: a, b, c → 0; ab → 1; ab + c → 2; out → 3
    pos = layout(out)
    assert {n: pos[n][0] for n in (a, b, c, ab, out)} == {a: 0.0, b: 0.0, c: 0.0, ab: 1.0, out: 3.0}
    assert sorted(pos[n][1] for n in (a, b, c)) == [-2.0, -1.0, 0.0]  # three rows in column 0
    assert pos[ab][1] == pos[out][1] == 0.0  # alone in their column: the top row


def test_gradient_names_a_bad_mode_and_a_bad_input_by_position():
    import re

    with pytest.raises(ValueError) as exc:
        gradient(lambda v: v[0], [1.0], mode="sideways")
    assert re.search(r"(?<!\w)mode(?!\w)", str(exc.value)), str(exc.value)
    with pytest.raises(ValueError) as exc:
        gradient(lambda v: v[0], [1.0, float("nan")])
    assert "x[1]" in str(exc.value), str(exc.value)
