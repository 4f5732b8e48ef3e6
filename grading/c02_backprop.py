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
