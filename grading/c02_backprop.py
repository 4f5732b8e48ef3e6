"""Hidden grading cases for exercise 02_backprop (never shipped to students).

Oracle: torch autograd in float64 (independent of dlcourse and of the public finite
differences), on other shapes, seeds and edge cases than the public checks.
"""

from __future__ import annotations

import numpy as np

from dlcourse.autograde.cases.c02_backprop import two_layer_problem
from dlcourse.autograde.spec import Case

TOPIC = "02_backprop"


def _t(a):
    import torch

    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


def torch_sigmoid_backward(dout, z) -> np.ndarray:
    import torch

    zt = _t(z)
    torch.sigmoid(zt).backward(torch.tensor(dout, dtype=torch.float64))
    return zt.grad.numpy()


def torch_linear_backward(dout, x, w):
    import torch

    xt, wt, bt = _t(x), _t(w), _t(np.zeros(w.shape[0]))
    torch.nn.functional.linear(xt, wt, bt).backward(torch.tensor(dout, dtype=torch.float64))
    return xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


def torch_two_layer(X, Y, W1, b1, W2, b2):
    import torch

    ps = [_t(p) for p in (W1, b1, W2, b2)]
    Xt, Yt = torch.tensor(X), torch.tensor(Y)
    z2 = torch.tanh(Xt @ ps[0].T + ps[1]) @ ps[2].T + ps[3]
    loss = torch.nn.functional.binary_cross_entropy_with_logits(z2, Yt)  # mean over the batch
    loss.backward()
    return (float(loss.item()), *(p.grad.numpy() for p in ps))


def cases_sigmoid_backward() -> list[Case]:
    rng = np.random.default_rng(1001)
    z = np.array([-50.0, -30.0, -5.0, 0.0, 5.0, 30.0, 50.0])  # saturated tails: tiny but finite
    dout = rng.normal(size=z.shape)
    z3, d3 = rng.normal(scale=3.0, size=(2, 3, 4)), rng.normal(size=(2, 3, 4))
    return [
        Case("saturated tails |z| up to 50", args=(dout, z), expected=torch_sigmoid_backward(dout, z), atol=1e-12),
        Case("a 3-D array (2, 3, 4)", args=(d3, z3), expected=torch_sigmoid_backward(d3, z3)),
        Case("a scalar-like (1,) input at z = 0", args=(np.array([2.0]), np.array([0.0])),
             expected=torch_sigmoid_backward(np.array([2.0]), np.array([0.0]))),
    ]


def cases_linear_backward() -> list[Case]:
    rng = np.random.default_rng(1002)
    x, w, dout = rng.normal(size=(16, 7)), rng.normal(size=(4, 7)), rng.normal(size=(16, 4))
    x1, w1, d1 = rng.normal(size=(1, 3)), rng.normal(size=(5, 3)), rng.normal(size=(1, 5))
    xs, ws, ds = rng.normal(size=(8, 1)), rng.normal(size=(1, 1)), rng.normal(size=(8, 1))
    return [
        Case("N = 16, in = 7, out = 4", args=(dout, x, w), expected=torch_linear_backward(dout, x, w)),
        Case("a batch of one sample (N = 1)", args=(d1, x1, w1), expected=torch_linear_backward(d1, x1, w1)),
        Case("one input and one output unit", args=(ds, xs, ws), expected=torch_linear_backward(ds, xs, ws)),
    ]


def cases_two_layer_grads() -> list[Case]:
    big = two_layer_problem(n=32, d=4, h=8, seed=1003)
    one = two_layer_problem(n=1, d=3, h=2, seed=1004)
    X, Y, W1, b1, W2, b2 = two_layer_problem(n=10, d=2, h=5, seed=1005, scale=2.0)
    Y = np.ones_like(Y)  # every label 1, larger weights
    strong = (X, Y, W1, b1, W2, b2)
    return [
        Case("N = 32, D = 4, H = 8", args=big, expected=torch_two_layer(*big)),
        Case("a batch of one sample", args=one, expected=torch_two_layer(*one)),
        Case("all labels 1 and larger weights", args=strong, expected=torch_two_layer(*strong)),
    ]


def torch_softmax_ce(z, y):
    import torch

    zt = _t(z)
    loss = torch.nn.functional.cross_entropy(zt, torch.tensor(np.asarray(y), dtype=torch.int64))  # mean
    loss.backward()
    return float(loss.item()), zt.grad.numpy()


def cases_softmax_ce_backward() -> list[Case]:
    rng = np.random.default_rng(1006)
    z, y = rng.normal(size=(32, 10)), rng.integers(0, 10, size=32)
    z1, y1 = rng.normal(size=(1, 2)), np.array([1])
    zl, yl = np.array([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 999.0]]), np.array([2, 2])  # overflow without the shift
    zc, yc = np.zeros((3, 4)), np.array([0, 1, 3])  # uniform softmax
    return [
        Case("N = 32, C = 10", args=(z, y), expected=torch_softmax_ce(z, y)),
        Case("one sample, two classes", args=(z1, y1), expected=torch_softmax_ce(z1, y1)),
        Case("logits of ±1000 (overflow without a shift)", args=(zl, yl), expected=torch_softmax_ce(zl, yl), atol=1e-6),
        Case("all logits equal", args=(zc, yc), expected=torch_softmax_ce(zc, yc)),
    ]


_TORCH_OPS = {
    "add": lambda a, b: a + b, "mul": lambda a, b: a * b, "div": lambda a, b: a / b,
    "pow": lambda a, b: a ** b.detach(),  # a constant exponent: no gradient to b
    "tanh": lambda a, b: a.tanh(), "exp": lambda a, b: a.exp(), "sin": lambda a, b: a.sin(),
    "sigmoid": lambda a, b: a.sigmoid(), "relu": lambda a, b: a.relu(),
}


def torch_op_backward(op, a, b, out_grad):
    import torch

    at, bt = _t(float(a)), _t(0.0 if b is None else float(b))
    _TORCH_OPS[op](at, bt).backward(torch.tensor(float(out_grad), dtype=torch.float64))
    return float(at.grad), float(bt.grad) if bt.grad is not None else 0.0


def cases_op_backward() -> list[Case]:
    pts = [("mul", -0.7, 0.0, 3.0), ("mul", 2.5, 2.5, 1.0), ("div", -2.0, 0.25, -1.0), ("pow", 0.5, -2.0, 1.5),
           ("pow", -1.5, 2.0, 0.7), ("tanh", -3.0, None, 0.25), ("tanh", 0.0, None, -2.0), ("exp", 2.0, None, -0.3),
           ("sigmoid", -20.0, None, 1.0), ("sigmoid", 0.0, None, 4.0), ("relu", 1.5, None, -2.0),
           ("relu", -0.5, None, 2.0), ("add", -4.0, 1.0, 0.3)]
    return [Case(f"hidden {op} #{k}", args=(op, a, b, g), expected=torch_op_backward(op, a, b, g), atol=1e-10)
            for k, (op, a, b, g) in enumerate(pts)]


def torch_dual(op, a, b):
    import torch
    from torch.autograd.functional import jvp

    a = np.asarray(a, dtype=np.float64)
    b = np.zeros(2) if b is None else np.asarray(b, dtype=np.float64)
    f = _TORCH_OPS[op] if op != "pow" else (lambda x, y: x ** y)
    inputs = (torch.tensor(a[0]), torch.tensor(b[0]))
    tangents = (torch.tensor(a[1]), torch.tensor(b[1]))
    value, slope = jvp(f, inputs, tangents)  # the derivative along (ȧ, ḃ): forward mode in torch
    return np.array([float(value), float(slope)])


def cases_dual_op() -> list[Case]:
    pts = [("mul", (0.0, 1.0), (5.0, 0.0)), ("mul", (-1.5, 2.0), (-1.5, 2.0)), ("div", (3.0, -1.0), (-0.5, 2.0)),
           ("sin", (np.pi, 1.0), None), ("sin", (-0.3, 0.0), None), ("exp", (0.0, -2.0), None),
           ("tanh", (4.0, 1.0), None), ("add", (-1.0, 0.5), (2.0, -0.5)), ("sigmoid", (0.5, 3.0), None),
           ("div", (2.0, 1.0), (1.0, 0.0))]
    return [Case(f"hidden dual {op} #{k}", args=(op, np.array(a), None if b is None else np.array(b)),
                 expected=torch_dual(op, a, b), atol=1e-10) for k, (op, a, b) in enumerate(pts)]


def torch_graph(n_leaves: int, n_ops: int, seed: int, reuse_every: int = 3):
    """A random expression built in torch (float64 scalars); its arrays, and ∂root/∂node from
    torch's own backward (retain_grad on every node)."""
    import torch

    rng = np.random.default_rng(seed)
    nodes = [torch.tensor(float(v), dtype=torch.float64, requires_grad=True) for v in rng.uniform(-1.2, 1.2, n_leaves)]
    parents = [(-1, -1)] * n_leaves
    for t in range(n_ops):
        op = ["add", "mul", "tanh", "sin", "mul"][int(rng.integers(5))]
        i = len(nodes) - 1 if t > 0 else int(rng.integers(len(nodes)))
        j = i if t % reuse_every == 1 else int(rng.integers(len(nodes)))
        if op in ("tanh", "sin"):
            j = -1
        out = _TORCH_OPS[op](nodes[i], nodes[j] if j >= 0 else None)
        nodes.append(out)
        parents.append((i, j))
    e = int(rng.integers(len(nodes)))
    nodes.append(nodes[e] * 2.0)  # a node the root does not depend on: its gradient is 0
    parents.append((e, -1))
    root = nodes[n_leaves + n_ops - 1]
    local = np.zeros((len(nodes), 2))
    for k, (i, j) in enumerate(parents):
        if i < 0:
            continue
        ins = [nodes[i]] if j < 0 or j == i else [nodes[i], nodes[j]]
        grads = torch.autograd.grad(nodes[k], ins, retain_graph=True)
        if j == i:  # x · x: torch gives the total; each of the two edges carries half of it
            local[k] = (float(grads[0]) / 2, float(grads[0]) / 2)
        else:
            local[k, 0] = float(grads[0])
            if j >= 0:
                local[k, 1] = float(grads[1])
    for n in nodes:  # only now: a retained grad would also collect what autograd.grad computed above
        n.retain_grad()
    for n in nodes[:n_leaves]:
        n.grad = None
    root.backward()
    g = np.array([0.0 if n.grad is None else float(n.grad) for n in nodes])
    perm = rng.permutation(len(nodes))
    P = np.full((len(nodes), 2), -1, dtype=np.int64)
    L = np.zeros((len(nodes), 2))
    G = np.zeros(len(nodes))
    for k, (i, j) in enumerate(parents):
        P[perm[k]] = (perm[i] if i >= 0 else -1, perm[j] if j >= 0 else -1)
        L[perm[k]] = local[k]
        G[perm[k]] = g[k]
    return P, L, int(perm[n_leaves + n_ops - 1]), G


def cases_backprop() -> list[Case]:
    big = torch_graph(4, 20, seed=1007)
    deep = torch_graph(1, 40, seed=1008, reuse_every=2)  # one input, a long chain with many x · x
    # a single leaf that is the root: its gradient is 1, nothing else to do
    single = (np.array([[-1, -1]]), np.zeros((1, 2)), 0)
    # the root is a leaf while another node uses it: nothing flows backwards into the root's inputs
    leaf_root = (np.array([[1, 1], [-1, -1]]), np.array([[2.0, 2.0], [0.0, 0.0]]), 1)
    return [
        Case("25 nodes from torch", args=big[:3], expected=big[3]),
        Case("a chain of 40 ops with reused inputs", args=deep[:3], expected=deep[3]),
        Case("a single node", args=single, expected=np.array([1.0])),
        Case("the root is a leaf used by another node", args=leaf_root, expected=np.array([0.0, 1.0])),
    ]
