"""Automatic differentiation on scalars, in both modes (PyTorch lecture notes, docs/references.md).

* :class:`Value` — **reverse mode** (backpropagation), with the interface of Karpathy's
  micrograd: every operation records its inputs (``_prev``) and a closure ``_backward`` that
  applies the chain rule locally, ``out.grad`` → ``input.grad += local derivative · out.grad``.
  ``backward()`` visits the graph once, in reverse topological order: **one** backward pass
  gives ∂f/∂x for *every* input x.
* :class:`Dual` — **forward mode**: a dual number a + b·ε with ε² = 0 carries a value and one
  directional derivative; f(x + ε) = f(x) + f'(x)·ε.  One forward pass gives the derivative
  along **one** input direction, so a gradient of f: Rⁿ → R costs n passes (:func:`gradient`).

Reverse mode wins when there are many inputs and one output (a loss of millions of weights);
forward mode wins for one input and many outputs (Griewank, 2012; Baydin et al., 2018).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from dlcourse.validation import check_choice, check_real

_Number = (int, float)


def _is_number(x) -> bool:
    # bool is an int subclass; accept numpy scalars too (they define __float__ and are not arrays).
    return isinstance(x, _Number) or (type(x).__module__ == "numpy" and hasattr(x, "__float__") and getattr(x, "ndim", 0) == 0)


def _check_exponent(p) -> float:
    if isinstance(p, (Value, Dual)) or not _is_number(p):
        raise TypeError(f"only a numeric (int/float) exponent is supported, got {type(p).__name__}")
    return float(p)


def _real_power(base: float, p: float) -> float:
    """base**p, refusing the complex results Python gives for a negative base and fractional p."""
    if base < 0 and not p.is_integer():
        raise ValueError(f"a negative base ({base}) to a non-integer power ({p}) is not a real number")
    return base**p


def _stable_sigmoid(x: float) -> float:
    """σ(x) = 1/(1 + e^(−x)), evaluated so that e^(·) never overflows."""
    if x >= 0:  # pragma: no mutate
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


# ---------------------------------------------------------------------------------------------
# Reverse mode: Value
# ---------------------------------------------------------------------------------------------


class Value:
    """A scalar node of a computational graph that can backpropagate (micrograd's interface).

    ``data`` is the value, ``grad`` is ∂(root)/∂(this node) after ``root.backward()``;
    ``_prev`` holds the nodes it was computed from and ``_op`` the operation (for drawing).
    """

    __slots__ = ("data", "grad", "_backward", "_prev", "_op", "label")

    def __init__(self, data: float, _children: tuple = (), _op: str = "", label: str = "") -> None:
        if isinstance(data, (Value, Dual)) or not _is_number(data):
            raise TypeError(f"Value holds a real number, got {type(data).__name__}")
        self.data = float(data)
        self.grad = 0.0
        self._backward: Callable[[], None] = lambda: None  # leaves have nothing to propagate
        self._prev = set(_children)
        self._op = _op
        self.label = label

    @staticmethod
    def _lift(other) -> Value | None:
        """Wrap a plain number as a constant leaf; anything else is not ours to handle."""
        if isinstance(other, Value):
            return other
        if isinstance(other, Dual) or not _is_number(other):
            return None
        return Value(other)

    # --- binary operations ---------------------------------------------------------------------
    def __add__(self, other) -> Value:
        other = self._lift(other)
        if other is None:
            return NotImplemented
        out = Value(self.data + other.data, (self, other), "+")

        def _backward() -> None:
            # ∂(a + b)/∂a = 1, ∂(a + b)/∂b = 1: addition routes the gradient unchanged.
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __sub__(self, other) -> Value:
        other = self._lift(other)
        if other is None:
            return NotImplemented
        out = Value(self.data - other.data, (self, other), "-")

        def _backward() -> None:
            # ∂(a − b)/∂a = 1, ∂(a − b)/∂b = −1
            self.grad += out.grad
            other.grad -= out.grad

        out._backward = _backward
        return out

    def __mul__(self, other) -> Value:
        other = self._lift(other)
        if other is None:
            return NotImplemented
        out = Value(self.data * other.data, (self, other), "*")

        def _backward() -> None:
            # ∂(ab)/∂a = b, ∂(ab)/∂b = a: each factor gets the other one times the upstream grad.
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __truediv__(self, other) -> Value:
        other = self._lift(other)
        if other is None:
            return NotImplemented
        out = Value(self.data / other.data, (self, other), "/")

        def _backward() -> None:
            # ∂(a/b)/∂a = 1/b, ∂(a/b)/∂b = −a/b²
            self.grad += out.grad / other.data
            other.grad += -self.data / (other.data * other.data) * out.grad

        out._backward = _backward
        return out

    def __pow__(self, p) -> Value:
        p = _check_exponent(p)
        out = Value(_real_power(self.data, p), (self,), f"**{p:g}")

        def _backward() -> None:
            # ∂(a^p)/∂a = p · a^(p−1)   (p a constant)
            self.grad += p * _real_power(self.data, p - 1) * out.grad

        out._backward = _backward
        return out

    # Numbers on the left: 2 + v, 2 − v, 2 * v, 2 / v.
    def __radd__(self, other) -> Value:
        return self.__add__(other)  # a + b = b + a (NotImplemented passes through for foreign types)

    def __rsub__(self, other) -> Value:
        other = self._lift(other)
        return NotImplemented if other is None else other - self

    def __rmul__(self, other) -> Value:
        return self.__mul__(other)

    def __rtruediv__(self, other) -> Value:
        other = self._lift(other)
        return NotImplemented if other is None else other / self

    def __neg__(self) -> Value:
        return self * -1.0  # ∂(−a)/∂a = −1, via the product rule

    # --- element-wise functions ----------------------------------------------------------------
    def _unary(self, value: float, local_grad: float, op: str) -> Value:
        """A node out = g(self) whose backward adds g'(self) · out.grad to self.grad."""
        out = Value(value, (self,), op)

        def _backward() -> None:
            self.grad += local_grad * out.grad  # chain rule: ∂L/∂a = g'(a) · ∂L/∂out

        out._backward = _backward
        return out

    def relu(self) -> Value:
        """max(0, a); ∂/∂a = 1 if a > 0 else 0 (0 at a = 0, as torch)."""
        return self._unary(max(self.data, 0.0), 1.0 if self.data > 0 else 0.0, "ReLU")

    def tanh(self) -> Value:
        """tanh(a); ∂/∂a = 1 − tanh²(a)."""
        t = math.tanh(self.data)
        return self._unary(t, 1.0 - t * t, "tanh")

    def exp(self) -> Value:
        """e^a; ∂/∂a = e^a (the output itself)."""
        e = math.exp(self.data)
        return self._unary(e, e, "exp")

    def log(self) -> Value:
        """ln a (a > 0); ∂/∂a = 1/a."""
        if self.data <= 0:
            raise ValueError(f"log needs a positive argument, got {self.data}")
        return self._unary(math.log(self.data), 1.0 / self.data, "log")

    def sigmoid(self) -> Value:
        """σ(a) = 1/(1 + e^(−a)); ∂/∂a = σ(a)(1 − σ(a))."""
        s = _stable_sigmoid(self.data)
        return self._unary(s, s * (1.0 - s), "σ")

    # --- backpropagation -----------------------------------------------------------------------
    def backward(self) -> None:
        """Fill ``grad`` of every node this one depends on with ∂self/∂node (reverse mode).

        Seeds ∂self/∂self = 1, then applies each node's local chain rule in reverse topological
        order, so a node's ``grad`` is complete before it is pushed to its inputs.  Like torch,
        leaf gradients *accumulate* across calls: reset them (``v.grad = 0``) between passes.
        """
        topo = topological_order(self)
        self.grad = 1.0
        for node in reversed(topo):
            node._backward()

    def __repr__(self) -> str:
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"


def topological_order(root: Value) -> list[Value]:
    """Every node ``root`` depends on, each after all of its inputs (iterative DFS, no recursion limit)."""
    order: list[Value] = []
    visited: set[int] = set()
    stack: list[tuple[Value, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            order.append(node)  # post-order: all inputs already appended
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in node._prev if id(child) not in visited)
    return order


class Graph(NamedTuple):
    """Nodes (inputs before outputs) and edges (child → parent) of a computational graph."""

    nodes: list[Value]
    edges: list[tuple[Value, Value]]


def trace(root: Value) -> Graph:
    """The nodes and edges (input → the node computed from it) of the graph that built ``root``."""
    nodes = topological_order(root)
    rank = {id(node): i for i, node in enumerate(nodes)}
    edges = [(child, node) for node in nodes for child in sorted(node._prev, key=lambda c: rank[id(c)])]
    return Graph(nodes, edges)


def layout(root: Value) -> dict[Value, tuple[float, float]]:
    """(x, y) positions for drawing: x = longest path from a leaf, y = rank within that column."""
    nodes = topological_order(root)
    depth: dict[int, int] = {}
    for node in nodes:  # inputs come first, so their depth is known
        depth[id(node)] = 1 + max((depth[id(c)] for c in node._prev), default=-1)
    rows: dict[int, int] = {}
    pos = {}
    for node in nodes:
        d = depth[id(node)]
        pos[node] = (float(d), -float(rows.get(d, 0)))
        rows[d] = rows.get(d, 0) + 1
    return pos


# ---------------------------------------------------------------------------------------------
# Forward mode: Dual numbers
# ---------------------------------------------------------------------------------------------


class Dual:
    """A dual number ``real + dual·ε`` with ε² = 0: f(a + bε) = f(a) + f'(a)·b·ε.

    Seeding ``dual = 1`` on one input and 0 on the others makes ``f(...).dual`` the partial
    derivative with respect to that input (one forward pass per input direction).
    """

    __slots__ = ("real", "dual")

    def __init__(self, real: float, dual: float = 0.0) -> None:
        if not (_is_number(real) and _is_number(dual)) or isinstance(real, (Value, Dual)):
            raise TypeError(f"Dual holds two real numbers, got {type(real).__name__} and {type(dual).__name__}")
        self.real = float(real)
        self.dual = float(dual)

    @staticmethod
    def _lift(other) -> Dual | None:
        if isinstance(other, Dual):
            return other
        if isinstance(other, Value) or not _is_number(other):
            return None
        return Dual(other, 0.0)  # a constant: zero derivative

    def __add__(self, other) -> Dual:
        other = self._lift(other)
        if other is None:
            return NotImplemented
        return Dual(self.real + other.real, self.dual + other.dual)  # (a + bε) + (c + dε)

    def __sub__(self, other) -> Dual:
        other = self._lift(other)
        if other is None:
            return NotImplemented
        return Dual(self.real - other.real, self.dual - other.dual)

    def __mul__(self, other) -> Dual:
        other = self._lift(other)
        if other is None:
            return NotImplemented
        # (a + bε)(c + dε) = ac + (ad + bc)ε + bd·ε², and ε² = 0: the product rule.
        return Dual(self.real * other.real, self.real * other.dual + self.dual * other.real)

    def __truediv__(self, other) -> Dual:
        other = self._lift(other)
        if other is None:
            return NotImplemented
        # (a + bε)/(c + dε) = a/c + (bc − ad)/c² ε: the quotient rule.
        return Dual(self.real / other.real, (self.dual * other.real - self.real * other.dual) / (other.real * other.real))

    def __pow__(self, p) -> Dual:
        p = _check_exponent(p)
        # (a + bε)^p = a^p + p a^(p−1) b ε
        return Dual(_real_power(self.real, p), p * _real_power(self.real, p - 1) * self.dual)

    def __radd__(self, other) -> Dual:
        return self.__add__(other)  # a + b = b + a (NotImplemented passes through for foreign types)

    def __rsub__(self, other) -> Dual:
        other = self._lift(other)
        return NotImplemented if other is None else other - self

    def __rmul__(self, other) -> Dual:
        return self.__mul__(other)

    def __rtruediv__(self, other) -> Dual:
        other = self._lift(other)
        return NotImplemented if other is None else other / self

    def __neg__(self) -> Dual:
        return Dual(-self.real, -self.dual)

    # f(a + bε) = f(a) + f'(a) b ε for each elementary function.
    def relu(self) -> Dual:
        return Dual(max(self.real, 0.0), self.dual if self.real > 0 else 0.0)

    def tanh(self) -> Dual:
        t = math.tanh(self.real)
        return Dual(t, (1.0 - t * t) * self.dual)

    def exp(self) -> Dual:
        e = math.exp(self.real)
        return Dual(e, e * self.dual)

    def log(self) -> Dual:
        if self.real <= 0:
            raise ValueError(f"log needs a positive argument, got {self.real}")
        return Dual(math.log(self.real), self.dual / self.real)

    def sigmoid(self) -> Dual:
        s = _stable_sigmoid(self.real)
        return Dual(s, s * (1.0 - s) * self.dual)

    def __repr__(self) -> str:
        return f"Dual({self.real:.6g}, {self.dual:.6g})"


def derivative(f: Callable[[Dual], Dual], x: float) -> float:
    """f'(x) from one forward pass: the ε-part of f(x + 1·ε)."""
    out = f(Dual(x, 1.0))
    return out.dual if isinstance(out, Dual) else 0.0  # f returned a constant: f' = 0


class GradientResult(NamedTuple):
    """f(x), ∇f(x), and how many passes through f it took."""

    value: float
    grad: list[float]
    passes: int


def gradient(f: Callable[[list], Any], x: Sequence[float], mode: str = "reverse") -> GradientResult:
    """∇f(x) for f: Rⁿ → R, taking a list of n scalars, in ``"forward"`` or ``"reverse"`` mode.

    Forward mode runs f n times, with ε seeded on one input each time (n passes); reverse mode
    runs f once on :class:`Value` leaves and backpropagates once (1 pass, forward + backward).
    """
    check_choice(mode, ("forward", "reverse"), "mode")
    x = [check_real(v, f"x[{i}]") for i, v in enumerate(x)]
    if not x:
        raise ValueError("gradient needs at least one input")
    if mode == "forward":
        grad, value = [], 0.0
        for i in range(len(x)):  # one pass per input direction e_i
            out = f([Dual(v, 1.0 if j == i else 0.0) for j, v in enumerate(x)])
            value, d = (out.real, out.dual) if isinstance(out, Dual) else (float(out), 0.0)
            grad.append(d)
        return GradientResult(value, grad, len(x))
    leaves = [Value(v) for v in x]  # reverse mode
    out = f(leaves)
    if not isinstance(out, Value):  # f ignored its inputs
        return GradientResult(float(out), [0.0] * len(x), 1)
    out.backward()  # one sweep gives every ∂f/∂x_i
    return GradientResult(out.data, [leaf.grad for leaf in leaves], 1)


__all__ = ["Dual", "Graph", "GradientResult", "Value", "derivative", "gradient", "layout", "topological_order", "trace"]
