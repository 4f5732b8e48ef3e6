"""Hidden grading cases for exercise 06_batchnorm (never shipped to students).

Other shapes, seeds and edge cases than the public checks (a batch of 2, one feature or
channel, large offsets, a constant feature, momentum 0 and 1, a large eps).  Oracle:
``torch.nn.functional.batch_norm`` in float64 (it updates the running statistics in place,
with the unbiased variance) and torch autograd for the backward pass.
"""

from __future__ import annotations

import numpy as np

from dlcourse.autograde.spec import Case

TOPIC = "06_batchnorm"

#: the shape of the hidden backward case that only a closed-form dx computes within the CPU limit
LARGE = (8192, 32)


def _t(a):
    import torch

    return torch.tensor(np.asarray(a, dtype=np.float64), dtype=torch.float64)


def torch_train(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5):
    """F.batch_norm(training=True): (out, new running mean, new running var); works for (N, C) and (N, C, H, W)."""
    import torch.nn.functional as F

    rm, rv = _t(running_mean), _t(running_var)
    out = F.batch_norm(_t(x), rm, rv, _t(gamma), _t(beta), training=True, momentum=momentum, eps=eps)
    return out.numpy().copy(), rm.numpy().copy(), rv.numpy().copy()


def torch_eval(x, gamma, beta, running_mean, running_var, eps=1e-5):
    import torch.nn.functional as F

    out = F.batch_norm(_t(x), _t(running_mean), _t(running_var), _t(gamma), _t(beta), training=False, eps=eps)
    return out.numpy().copy()


def torch_backward(dout, x, gamma, eps=1e-5):
    """(dx, dγ, dβ) of train-mode batch norm by torch autograd (β's value does not matter)."""
    import torch.nn.functional as F

    xt, gt, bt = _t(x).requires_grad_(), _t(gamma).requires_grad_(), _t(np.zeros_like(gamma)).requires_grad_()
    out = F.batch_norm(xt, None, None, gt, bt, training=True, eps=eps)
    out.backward(_t(dout))
    return xt.grad.numpy().copy(), gt.grad.numpy().copy(), bt.grad.numpy().copy()


def _params(rng, d):
    return 1.0 + 0.5 * rng.normal(size=d), rng.normal(size=d)


def cases_batchnorm_train_forward() -> list[Case]:
    rng = np.random.default_rng(601)
    x, (g, b) = rng.normal(size=(32, 7)), _params(rng, 7)
    rm, rv = rng.normal(size=7), 0.5 + rng.random(7)
    x2, (g2, b2) = rng.normal(size=(2, 4)), _params(rng, 4)
    x1, (g1, b1) = rng.normal(size=(9, 1)), _params(rng, 1)
    xo = 1e4 + 0.1 * rng.normal(size=(12, 3))  # a large offset, a small spread
    go, bo = _params(rng, 3)
    xc = np.column_stack([np.full(5, 3.0), rng.normal(size=5)])  # feature 0 is constant
    gc, bc = _params(rng, 2)
    return [
        Case("32×7 batch, given running stats", args=(x, g, b, rm, rv), expected=torch_train(x, g, b, rm, rv)),
        Case("a batch of 2", args=(x2, g2, b2, np.zeros(4), np.ones(4)), expected=torch_train(x2, g2, b2, np.zeros(4), np.ones(4))),
        Case("one feature, momentum = 1 (keep only the batch)", args=(x1, g1, b1, np.array([5.0]), np.array([9.0])),
             kwargs={"momentum": 1.0}, expected=torch_train(x1, g1, b1, np.array([5.0]), np.array([9.0]), momentum=1.0)),
        Case("momentum = 0 leaves the running stats unchanged", args=(x, g, b, rm, rv), kwargs={"momentum": 0.0},
             expected=torch_train(x, g, b, rm, rv, momentum=0.0)),
        Case("offset 1e4 with spread 0.1", args=(xo, go, bo, np.zeros(3), np.ones(3)),
             expected=torch_train(xo, go, bo, np.zeros(3), np.ones(3)), rtol=1e-5, atol=1e-6),
        Case("a constant feature (zero variance: eps matters)", args=(xc, gc, bc, np.zeros(2), np.ones(2)), kwargs={"eps": 1e-3},
             expected=torch_train(xc, gc, bc, np.zeros(2), np.ones(2), eps=1e-3)),
    ]


def cases_batchnorm_eval_forward() -> list[Case]:
    rng = np.random.default_rng(602)
    x, (g, b) = rng.normal(size=(20, 5)), _params(rng, 5)
    rm, rv = rng.normal(size=5), 0.2 + rng.random(5)
    x1, (g1, b1) = rng.normal(size=(1, 3)), _params(rng, 3)  # a single sample is fine at test time
    return [
        Case("20×5 batch", args=(x, g, b, rm, rv), expected=torch_eval(x, g, b, rm, rv)),
        Case("a single sample", args=(x1, g1, b1, np.zeros(3), np.ones(3)), expected=torch_eval(x1, g1, b1, np.zeros(3), np.ones(3))),
        Case("running var 0 with eps = 1 (one feature)", args=(x[:, :1], g[:1], b[:1], np.array([0.5]), np.array([0.0])),
             kwargs={"eps": 1.0}, expected=torch_eval(x[:, :1], g[:1], b[:1], np.array([0.5]), np.array([0.0]), eps=1.0)),
    ]


def cases_batchnorm_backward() -> list[Case]:
    rng = np.random.default_rng(603)
    x, (g, _) = rng.normal(size=(16, 6)), _params(rng, 6)
    dout = rng.normal(size=(16, 6))
    x2, (g2, _) = rng.normal(size=(2, 3)), _params(rng, 3)
    d2 = rng.normal(size=(2, 3))
    x1, (g1, _) = 50.0 + 3.0 * rng.normal(size=(7, 1)), _params(rng, 1)
    d1 = rng.normal(size=(7, 1))
    xl, gl = 2.0 * rng.normal(size=(10, 2)), np.array([0.0, -1.5])  # γ_0 = 0: no gradient reaches x[:, 0]
    dl = rng.normal(size=(10, 2))
    xw, (gw, _) = rng.normal(size=(64, 3)), _params(rng, 3)
    dw = np.tile(rng.normal(size=3), (64, 1))  # the same upstream gradient for every sample
    xbig, (gbig, _) = 1.0 + 2.0 * rng.normal(size=LARGE), _params(rng, LARGE[1])
    dbig = rng.normal(size=LARGE)
    return [
        Case("16×6 batch", args=(dout, x, g), expected=torch_backward(dout, x, g)),
        Case("64×3 batch, dout equal in every row: dx and dgamma vanish", args=(dw, xw, gw), expected=torch_backward(dw, xw, gw),
             atol=1e-10),
        Case("a batch of 2", args=(d2, x2, g2), expected=torch_backward(d2, x2, g2),
             hint="Every column of dx must sum to 0; test your formula on a small batch with the gradient check."),
        Case("one feature with offset 50", args=(d1, x1, g1), expected=torch_backward(d1, x1, g1)),
        Case("gamma with a zero and a negative entry, eps = 0.5", args=(dl, xl, gl), kwargs={"eps": 0.5},
             expected=torch_backward(dl, xl, gl, eps=0.5)),
        # 2^18 entries: the derived formula takes milliseconds; finite differences of the forward pass need
        # 2·N·D forward passes (or 2·N with the columns perturbed together), far beyond the CPU limit
        Case(f"a large batch, {LARGE[0]}×{LARGE[1]}", args=(dbig, xbig, gbig), expected=torch_backward(dbig, xbig, gbig),
             hint="Derive dx in closed form: a numerical gradient is far too slow for a large batch."),
    ]


def cases_spatial_batchnorm_train_forward() -> list[Case]:
    rng = np.random.default_rng(604)
    x, (g, b) = rng.normal(size=(4, 2, 3, 3)), _params(rng, 2)
    rm, rv = rng.normal(size=2), 0.5 + rng.random(2)
    x1, (g1, b1) = 2.0 + rng.normal(size=(3, 1, 2, 5)), _params(rng, 1)
    x2, (g2, b2) = rng.normal(size=(2, 5, 1, 1)), _params(rng, 5)  # 1×1 images: the (N, D) case
    # each channel its own offset and scale, so that a reshape that mixes channels shows
    x4 = rng.normal(size=(3, 4, 2, 5)) * np.array([0.5, 1.0, 2.0, 4.0])[:, None, None] + np.arange(4.0)[:, None, None]
    g4, b4 = _params(rng, 4)
    return [
        Case("(4, 2, 3, 3), momentum = 0.2, given running stats", args=(x, g, b, rm, rv), kwargs={"momentum": 0.2},
             expected=torch_train(x, g, b, rm, rv, momentum=0.2), weight=2.0),
        # weight 2 (as the case above): the two cases below have a single channel or 1×1 images, where a
        # reshape that mixes channels gives the right answer
        Case("(3, 4, 2, 5), channels of different offsets and scales", args=(x4, g4, b4, np.zeros(4), np.ones(4)),
             expected=torch_train(x4, g4, b4, np.zeros(4), np.ones(4)), weight=2.0,
             hint="Move the channel axis last before reshaping, and back after."),
        Case("one channel (C = 1)", args=(x1, g1, b1, np.zeros(1), np.ones(1)), expected=torch_train(x1, g1, b1, np.zeros(1), np.ones(1))),
        Case("1×1 images, a batch of 2", args=(x2, g2, b2, np.zeros(5), np.ones(5)), kwargs={"eps": 1e-3},
             expected=torch_train(x2, g2, b2, np.zeros(5), np.ones(5), eps=1e-3)),
    ]
