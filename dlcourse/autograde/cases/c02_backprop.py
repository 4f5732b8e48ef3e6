"""Public check cases for exercise 02_backprop (shipped to students).

Oracles: central finite differences of the scalar each backward pass differentiates (float64,
h = 1e-6), on forward passes written out here; for the graph questions, the closed form of
reverse mode as one linear system (below).  The hidden cases use torch autograd instead.
"""

from __future__ import annotations

import math

import numpy as np

from dlcourse.autograde.spec import Case
from dlcourse.gradcheck import numerical_gradient

TOPIC = "02_backprop"

HINTS = {
    "sigmoid_backward": "Differentiate σ(z) = 1/(1 + e^(−z)) once on paper and write the result with σ(z) itself; "
                        "the chain rule is then entry by entry. Evaluate σ so that no large positive number is "
                        "ever exponentiated.",
    "linear_backward": "Write L = Σ dout ⊙ out entry by entry, differentiate with respect to one entry of x, of W "
                       "and of b, then collect the sums as matrix products. Each gradient has the shape of its "
                       "variable: let the shapes tell you which factor is transposed.",
    "softmax_ce_backward": "Differentiate −log softmax(z)_y with respect to one logit z_k: the true class and the "
                           "other classes are two cases of one expression. The mean over the batch contributes "
                           "once. Shift each row by its maximum before exponentiating.",
    "two_layer_grads": "Go backwards one step at a time: the output's sigmoid and the cross-entropy combine into "
                       "a simple gradient of the logits (do not forget the mean); then through the second linear "
                       "layer (your linear_backward), then through tanh, whose derivative is a function of its output.",
    "op_backward": "For out = f(a, b) the backward step adds (∂f/∂a)·out_grad to a's gradient and (∂f/∂b)·out_grad "
                   "to b's: derive each partial derivative at the given point. A unary op has no b (its share is 0), "
                   "and an exponent is a constant.",
    "backprop": "Order the nodes so that every node comes after its inputs (a depth-first search from the root), "
                "give the root the gradient 1, then visit the nodes in the reverse of that order: each node "
                "passes local derivative × its own gradient to each input, adding to what is there.",
    "dual_op": "With ε² = 0, expand f(a + ȧε, b + ḃε) to first order: the real part is f(a, b), the ε part is "
               "(∂f/∂a)ȧ + (∂f/∂b)ḃ. A unary op ignores b.",
}

#: the operations of op_backward and dual_op: name -> (forward f(a, b), number of inputs)
OPS = {
    "add": (lambda a, b: a + b, 2),
    "mul": (lambda a, b: a * b, 2),
    "div": (lambda a, b: a / b, 2),
    "pow": (lambda a, b: a**b, 2),  # b is a constant exponent in op_backward
    "tanh": (lambda a, b: math.tanh(a), 1),
    "exp": (lambda a, b: math.exp(a), 1),
    "sin": (lambda a, b: math.sin(a), 1),
    "sigmoid": (lambda a, b: 0.5 * (1.0 + math.tanh(0.5 * a)), 1),
    "relu": (lambda a, b: max(a, 0.0), 1),
}

_H = 1e-6


def fd_grad(f, x: np.ndarray, h: float = _H) -> np.ndarray:
    """∂f/∂x by central differences on a float64 copy of x."""
    return numerical_gradient(f, np.array(x, dtype=np.float64), h=h)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # σ(z) = (1 + tanh(z/2)) / 2: no overflow


def two_layer_loss(X, Y, W1, b1, W2, b2) -> float:
    """Mean BCE of the 2-layer net tanh -> sigmoid, from the logits (stable)."""
    Z2 = np.tanh(X @ W1.T + b1) @ W2.T + b2
    # −[y log σ(z) + (1 − y) log(1 − σ(z))] = softplus(z) − y z, with softplus(z) = log(1 + e^z)
    return float(np.mean(np.logaddexp(0.0, Z2) - Y * Z2))


def fd_two_layer(X, Y, W1, b1, W2, b2):
    params = [W1, b1, W2, b2]

    def grad_of(k):
        def f(p):
            ps = list(params)
            ps[k] = p
            return two_layer_loss(X, Y, *ps)
        return fd_grad(f, params[k])

    dW1, db1, dW2, db2 = (grad_of(k) for k in range(4))
    return two_layer_loss(X, Y, *params), dW1, db1, dW2, db2


def two_layer_problem(n: int, d: int, h: int, seed: int, scale: float = 0.5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    Y = (rng.random((n, 1)) < 0.5).astype(np.float64)
    W1, b1 = scale * rng.normal(size=(h, d)), 0.1 * rng.normal(size=h)
    W2, b2 = scale * rng.normal(size=(1, h)), 0.1 * rng.normal(size=1)
    return X, Y, W1, b1, W2, b2


def cases_sigmoid_backward() -> list[Case]:
    z = np.array([-10.0, -1.0, 0.0, 1.0, 10.0])  # the ESIR lecture's sanity points (docs/references.md)
    dout = np.ones_like(z)
    rng = np.random.default_rng(3)
    z2, dout2 = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    return [
        Case("σ'(z) at z = −10, −1, 0, 1, 10 (dout = 1)", args=(dout, z),
             expected=fd_grad(lambda v: float(np.sum(dout * _sigmoid(v))), z), rtol=1e-6, atol=1e-9),
        Case("a (4, 3) batch with upstream gradient", args=(dout2, z2),
             expected=fd_grad(lambda v: float(np.sum(dout2 * _sigmoid(v))), z2), rtol=1e-6, atol=1e-9),
    ]


def cases_linear_backward() -> list[Case]:
    rng = np.random.default_rng(4)
    x, w, b = rng.normal(size=(5, 3)), rng.normal(size=(2, 3)), rng.normal(size=2)
    dout = rng.normal(size=(5, 2))

    def loss(x_, w_, b_):  # L = Σ dout ⊙ (x Wᵀ + b): its gradients are the backward pass
        return float(np.sum(dout * (x_ @ w_.T + b_)))

    expected = (fd_grad(lambda v: loss(v, w, b), x), fd_grad(lambda v: loss(x, v, b), w),
                fd_grad(lambda v: loss(x, w, v), b))
    return [Case("N = 5, in = 3, out = 2", args=(dout, x, w), expected=expected, rtol=1e-6, atol=1e-8)]


def cases_two_layer_grads() -> list[Case]:
    problem = two_layer_problem(n=6, d=2, h=3, seed=5)
    return [Case("N = 6, D = 2, H = 3", args=problem, expected=fd_two_layer(*problem), rtol=1e-5, atol=1e-8)]


def cases_softmax_ce_backward() -> list[Case]:
    rng = np.random.default_rng(6)
    z, y = rng.normal(size=(4, 3)), np.array([0, 2, 1, 2])
    z2, y2 = 30.0 * rng.normal(size=(3, 5)), np.array([4, 0, 4])  # large logits: needs the max shift
    return [
        Case("N = 4, C = 3", args=(z, y), expected=fd_softmax_ce(z, y), rtol=1e-5, atol=1e-8),
        Case("large logits (|z| up to ~60)", args=(z2, y2), expected=fd_softmax_ce(z2, y2), rtol=1e-5, atol=1e-7),
    ]


def softmax_ce_loss(z: np.ndarray, y: np.ndarray) -> float:
    """Mean over the batch of −log softmax(z_n)_{y_n}, from the logits (log-sum-exp, stable)."""
    total = 0.0
    for row, label in zip(z, y, strict=True):
        m = float(np.max(row))
        total += m + math.log(sum(math.exp(float(v) - m) for v in row)) - float(row[label])
    return total / len(y)


def fd_softmax_ce(z: np.ndarray, y: np.ndarray):
    return softmax_ce_loss(z, y), fd_grad(lambda v: softmax_ce_loss(v, y), z)


# --- the Value engine and dual numbers ------------------------------------------------------


def fd_op(op: str, a: float, b: float | None, out_grad: float) -> tuple[float, float]:
    """(∂f/∂a · out_grad, ∂f/∂b · out_grad) by central differences (∂f/∂b = 0 for a unary op or pow)."""
    f, arity = OPS[op]
    bb = 0.0 if b is None else float(b)
    da = (f(a + _H, bb) - f(a - _H, bb)) / (2 * _H)
    db = (f(a, bb + _H) - f(a, bb - _H)) / (2 * _H) if arity == 2 and op != "pow" else 0.0
    return da * out_grad, db * out_grad


def cases_op_backward() -> list[Case]:
    pts = [("mul", 1.5, -2.0, 0.5), ("div", 3.0, -1.5, 2.0), ("pow", 1.7, 3.0, -0.5), ("tanh", 0.8, None, 1.5),
           ("exp", -0.4, None, 2.0), ("sigmoid", 1.2, None, -3.0), ("add", 0.3, 0.9, -1.25)]
    return [Case(f"{op} at a = {a:g}" + (f", b = {b:g}" if b is not None else "") + f", out_grad = {g:g}",
                 args=(op, a, b, g), expected=fd_op(op, a, b, g), rtol=1e-6, atol=1e-8) for op, a, b, g in pts]


def fd_dual(op: str, a: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    """(f(a, b), directional derivative along (ȧ, ḃ)) with the derivative by central differences."""
    f, arity = OPS[op]
    a_re, a_du = float(a[0]), float(a[1])
    b_re, b_du = (0.0, 0.0) if b is None or arity == 1 else (float(b[0]), float(b[1]))
    slope = (f(a_re + _H * a_du, b_re + _H * b_du) - f(a_re - _H * a_du, b_re - _H * b_du)) / (2 * _H)
    return np.array([f(a_re, b_re), slope])


def cases_dual_op() -> list[Case]:
    pts = [("mul", (2.0, 1.0), (-3.0, 0.5)), ("div", (1.0, 0.0), (4.0, 1.0)), ("sin", (0.7, 2.0), None),
           ("exp", (-1.0, 1.0), None), ("tanh", (0.5, -1.5), None), ("add", (1.0, 2.0), (3.0, 4.0))]
    out = []
    for op, a, b in pts:
        a_arr = np.array(a)
        b_arr = None if b is None else np.array(b)
        name = f"{op}({a[0]:g} + {a[1]:g}ε" + (f", {b[0]:g} + {b[1]:g}ε)" if b is not None else ")")
        out.append(Case(name, args=(op, a_arr, b_arr), expected=fd_dual(op, a_arr, b_arr), rtol=1e-6, atol=1e-8))
    return out


def random_graph(n_leaves: int, n_ops: int, seed: int, dangling: int = 1, reuse: bool = True):
    """A random expression graph as arrays, nodes numbered in a shuffled order.

    Returns ``(parents, local, root, values)``: ``parents[k] = (i, j)`` the inputs of node k
    (−1: none; a leaf has none, a unary op one), ``local[k] = (∂k/∂i, ∂k/∂j)`` at the graph's
    values, ``root`` the node whose gradient is wanted.  ``dangling`` nodes are computed from
    the graph but the root does not depend on them (their gradient is 0); with ``reuse`` some
    op takes the same input twice (x · x), where contributions must add up.
    """
    rng = np.random.default_rng(seed)
    vals = list(rng.uniform(-1.5, 1.5, size=n_leaves))
    par: list[tuple[int, int]] = [(-1, -1)] * n_leaves
    loc: list[tuple[float, float]] = [(0.0, 0.0)] * n_leaves
    ops = ["add", "mul", "tanh", "sin", "mul", "sub"]
    for t in range(n_ops + dangling):
        op = "mul" if reuse and t == 1 else ops[int(rng.integers(len(ops)))]
        # the first n_ops nodes form a chain to the root (each takes the previous one), the last
        # `dangling` ones hang off it unused
        i = len(vals) - 1 if 0 < t < n_ops else int(rng.integers(len(vals)))
        j = i if reuse and t == 1 else int(rng.integers(len(vals)))
        if j == i and not (reuse and t == 1):
            j = (i + 1) % len(vals)  # the same input twice only where it is meant (x · x)
        a, b = vals[i], vals[j]
        if op == "add":
            v, la, lb = a + b, 1.0, 1.0
        elif op == "sub":
            v, la, lb = a - b, 1.0, -1.0
        elif op == "mul":
            v, la, lb = a * b, b, a
        elif op == "tanh":
            v, la, lb, j = math.tanh(a), 1.0 - math.tanh(a) ** 2, 0.0, -1
        else:
            v, la, lb, j = math.sin(a), math.cos(a), 0.0, -1
        vals.append(v)
        par.append((i, j))
        loc.append((la, lb))
    root = n_leaves + n_ops - 1
    perm = rng.permutation(len(vals))  # new number of old node k: perm[k]
    parents = np.full((len(vals), 2), -1, dtype=np.int64)
    local = np.zeros((len(vals), 2))
    for k, ((i, j), (la, lb)) in enumerate(zip(par, loc, strict=True)):
        parents[perm[k]] = (perm[i] if i >= 0 else -1, perm[j] if j >= 0 else -1)
        local[perm[k]] = (la, lb)
    return parents, local, int(perm[root]), np.array(vals)[np.argsort(perm)]


def linear_system_grads(parents: np.ndarray, local: np.ndarray, root: int) -> np.ndarray:
    """Reverse mode in closed form: g = e_root + Aᵀ g, with A[k, i] = Σ_j local[k, j]·[parents[k, j] = i]
    (∂node_k/∂node_i through one edge), so g = (I − Aᵀ)⁻¹ e_root; no ordering is needed."""
    K = len(parents)
    A = np.zeros((K, K))
    for k in range(K):
        for j in range(2):
            if parents[k, j] >= 0:
                A[k, parents[k, j]] += local[k, j]
    e = np.zeros(K)
    e[root] = 1.0
    return np.linalg.solve(np.eye(K) - A.T, e)


def cases_backprop() -> list[Case]:
    # f = x·y + x with x = node 2, y = node 0 (node 3 = x·y, node 1 = the root), numbered out of order
    parents = np.array([[-1, -1], [3, 2], [-1, -1], [2, 0]])
    local = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 0.0], [-2.0, 3.0]])  # at x = 3, y = −2
    g1 = random_graph(3, 6, seed=7)
    return [
        Case("f = x·y + x (4 nodes, x used twice)", args=(parents, local, 1),
             expected=linear_system_grads(parents, local, 1)),
        Case("a random graph of 10 nodes, one not on the root's path", args=g1[:3],
             expected=linear_system_grads(*g1[:3])),
    ]
