"""Public check cases for exercise 05_regularization (shipped to students).

Oracles, independent of dlcourse.regularization and dlcourse.functional:

* inverted dropout (Srivastava et al., 2014; torch's ``nn.Dropout`` convention, p = probability
  of *dropping*): the rule written out entry by entry — unit kept iff u ≥ p, kept units scaled
  by 1/(1 − p); its backward by central finite differences of that forward;
* the L2-regularised mean squared error (PyTorch lecture notes, see docs/references.md): the loss written out sample by sample,
  its gradient by central finite differences;
* the proximal (ISTA) step of the L1 penalty: the soft-threshold written out entry by entry;
* early stopping (PyTorch lecture notes: keep the model with the lowest validation loss): the rule
  written out epoch by epoch;
* Gaussian noise injection: statistics of the noise the function added (mean, standard deviation,
  a normal's kurtosis, no correlation between neighbouring entries), eval mode the identity;
* label smoothing (Szegedy et al., 2016; torch's ``label_smoothing``): the smoothed cross-entropy
  written out sample by sample with ``math.log``/``math.exp``, its gradient by central finite
  differences.  The hidden cases use ``torch.nn.functional.cross_entropy`` and autograd.
"""

from __future__ import annotations

import math

import numpy as np

from dlcourse.autograde.spec import Case, Rng, float_array_problem, normal_sample_problem
from dlcourse.gradcheck import numerical_gradient

TOPIC = "05_regularization"

HINTS = {
    "inverted_dropout_forward": "Unit i is kept exactly when its draw is at least p; rescale the survivors so that the "
                                "expected output equals the input. Eval mode and p = 0 change nothing; with p = 1 "
                                "nothing survives (and nothing may be divided by zero).",
    "inverted_dropout_backward": "For fixed draws the forward pass is linear in x and each output entry depends on one "
                                 "input entry only: what is ∂out_i/∂x_i for a kept unit, and for a dropped one? "
                                 "Run the gradient-check cell below the check.",
    "ridge_loss_and_grad": "The data term is a mean over the N samples, the penalty (λ/2)‖w‖² does not involve b. "
                           "Differentiate the mean of squared residuals with the chain rule; the factor 2 and the 1/N "
                           "both survive. Return (float, (D,) array, float).",
    "l1_proximal_step": "First the gradient step on the smooth part, then the soft-threshold at t = lr·lam: entries "
                        "whose magnitude is at most t become 0, the others move towards 0 by t.",
    "early_stopping_epochs": "Epochs count from 0. An epoch improves when its loss is finite and < best − min_delta "
                             "(the first finite loss always improves). Count the epochs without improvement since the "
                             "last one; stop at the epoch where that count reaches patience.",
    "gaussian_noise_forward": "In train mode add independent zero-mean Gaussian noise of standard deviation std to every "
                              "entry, drawn from the generator you are given, with x's shape; in eval mode the layer "
                              "changes nothing. Return a new array.",
    "label_smoothing_cross_entropy": "Build the smoothed target distribution q per sample (it sums to 1), then the mean "
                                     "over samples of −Σ_c q_c log softmax(z)_c. Compute log softmax stably (shift each "
                                     "row by its maximum). For the gradient, differentiate −Σ_c q_c log softmax(z)_c "
                                     "with respect to one logit, and remember the 1/N of the mean.",
}


# --- oracles: the rules written out, loop by loop ----------------------------------------


def oracle_dropout_forward(x: np.ndarray, u: np.ndarray, p: float, training: bool = True) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    out = np.array(x, dtype=float, copy=True)
    if not training:
        return out  # inverted dropout is the identity at test time
    for idx in np.ndindex(x.shape):
        keep = u[idx] >= p  # m_i ~ Bernoulli(1 − p) when u_i ~ U[0, 1)
        out[idx] = x[idx] / (1.0 - p) if keep else 0.0  # p = 1: every u < 1 is dropped, no 0/0
    return out


def oracle_dropout_backward(dout: np.ndarray, u: np.ndarray, p: float) -> np.ndarray:
    """dL/dx for L(x) = Σ dout ⊙ forward(x, u, p), by central differences of the forward oracle."""
    return numerical_gradient(lambda z: float(np.sum(dout * oracle_dropout_forward(z, u, p))), np.zeros_like(dout))


def keep_mask(u: np.ndarray, p: float) -> np.ndarray:
    """The 0/1 (float) mask of kept units that the forward pass drew: 1 where u >= p."""
    return (np.asarray(u) >= p).astype(float)


def oracle_ridge_loss(w: np.ndarray, b: float, X: np.ndarray, y: np.ndarray, lam: float) -> float:
    n = X.shape[0]
    data = 0.0
    for x_n, y_n in zip(X, y, strict=True):
        r = sum(float(a) * float(c) for a, c in zip(x_n, w, strict=True)) + float(b) - float(y_n)  # residual of sample n
        data += r * r
    return data / n + 0.5 * lam * sum(float(v) * float(v) for v in w)  # mean squared error + (λ/2)‖w‖²


def oracle_ridge(w: np.ndarray, b: float, X: np.ndarray, y: np.ndarray, lam: float) -> tuple[float, np.ndarray, float]:
    loss = oracle_ridge_loss(w, b, X, y, lam)
    dw = numerical_gradient(lambda v: oracle_ridge_loss(v, b, X, y, lam), w, h=1e-5)
    db = float(numerical_gradient(lambda v: oracle_ridge_loss(w, float(v[0]), X, y, lam), np.array([b]), h=1e-5)[0])
    return loss, dw, db


def oracle_prox(w: np.ndarray, grad: np.ndarray, lr: float, lam: float) -> np.ndarray:
    out = np.zeros(np.shape(w))
    t = lr * lam
    for idx in np.ndindex(out.shape):
        v = float(w[idx]) - lr * float(grad[idx])  # gradient step on the smooth part
        out[idx] = v - t if v > t else v + t if v < -t else 0.0  # argmin_z (z − v)²/2 + t|z|
    return out


def oracle_early_stopping(val_losses, patience: int, min_delta: float = 0.0) -> tuple[int, int]:
    best, best_epoch, bad = None, -1, 0
    losses = [float(v) for v in val_losses]
    for epoch, value in enumerate(losses):
        improved = np.isfinite(value) and (best is None or value < best - min_delta)
        if improved:
            best, best_epoch, bad = value, epoch, 0
        else:
            bad += 1
        if bad >= patience:
            return best_epoch, epoch  # training stops after this epoch
    return best_epoch, len(losses) - 1  # never triggered: every epoch was run


def noise_validator(x: np.ndarray, std: float, z: float = 4.5):
    """A ``check=`` validator for x + N(0, std²) noise: shape, finiteness and the noise's statistics.

    Margins are ``z`` standard errors (:func:`~dlcourse.autograde.spec.normal_sample_problem`);
    SE(lag-1 correlation) ≈ 1/√n, along the first axis and along the last (noise drawn once and
    broadcast over rows or columns is correlated 1 there).  ``std = 0`` asks for x itself.
    """
    x = np.asarray(x, dtype=np.float64)

    def validate(got) -> str | None:
        problem = float_array_problem(got, x.shape)
        if problem:
            return problem
        noise = got.astype(np.float64) - x
        if std == 0.0:
            return None if np.allclose(noise, 0.0, atol=1e-12) else "std = 0 must return the input unchanged"
        problem = normal_sample_problem(noise, std, z, "the noise (output − x)")
        if problem:
            return problem
        rows = noise.reshape(noise.shape[0], -1) if noise.ndim > 1 else noise[:, None]
        for axis_name, a, b in (("first", rows[:-1].ravel(), rows[1:].ravel()),
                                ("last", rows[:, :-1].ravel(), rows[:, 1:].ravel())):
            if a.size > 1 and np.std(a) > 0 and np.std(b) > 0:
                r = float(np.corrcoef(a, b)[0, 1])
                if abs(r) > z / math.sqrt(a.size):
                    return f"neighbouring noise entries along the {axis_name} axis are correlated ({r:.2f}): draw one value per entry"
        return None

    return validate


def oracle_smoothed_ce_loss(logits: np.ndarray, y: np.ndarray, eps: float) -> float:
    """−(1/N) Σ_n Σ_c q_nc log softmax(z_n)_c with q = (1 − ε)·onehot(y) + ε/C, sample by sample."""
    n, c = logits.shape
    total = 0.0
    for z_n, y_n in zip(logits, y, strict=True):
        top = max(float(v) for v in z_n)
        log_norm = top + math.log(sum(math.exp(float(v) - top) for v in z_n))  # log Σ e^z, shifted by the max
        for k in range(c):
            q = eps / c + (1.0 - eps if k == int(y_n) else 0.0)
            total -= q * (float(z_n[k]) - log_norm)
    return total / n


def oracle_smoothed_ce(logits: np.ndarray, y: np.ndarray, eps: float = 0.0) -> tuple[float, np.ndarray]:
    loss = oracle_smoothed_ce_loss(logits, y, eps)
    grad = numerical_gradient(lambda z: oracle_smoothed_ce_loss(z, y, eps), np.array(logits, dtype=float), h=1e-5)
    return loss, grad


# --- cases --------------------------------------------------------------------------------


def cases_inverted_dropout_forward() -> list[Case]:
    x = np.array([[1.0, -2.0, 3.0], [0.5, 4.0, -1.5]])
    u = np.array([[0.9, 0.1, 0.5], [0.49, 0.7, 0.2]])  # with p = 0.5: keep, drop, keep / drop, keep, drop
    rng = np.random.default_rng(5)
    x2, u2 = rng.normal(size=(8, 5)), rng.random((8, 5))
    return [
        Case("2×3 batch, p = 0.5 (u = 0.5 is kept)", args=(x, u, 0.5), expected=oracle_dropout_forward(x, u, 0.5)),
        Case("8×5 batch, p = 0.2", args=(x2, u2, 0.2), expected=oracle_dropout_forward(x2, u2, 0.2)),
        Case("eval mode is the identity", args=(x2, u2, 0.2), kwargs={"training": False},
             expected=oracle_dropout_forward(x2, u2, 0.2, training=False)),
    ]


def cases_inverted_dropout_backward() -> list[Case]:
    rng = np.random.default_rng(6)
    dout = rng.normal(size=(4, 3))
    u = rng.random((4, 3))
    return [
        Case("4×3 upstream gradient, p = 0.3", args=(dout, keep_mask(u, 0.3), 0.3), expected=oracle_dropout_backward(dout, u, 0.3),
             rtol=1e-6, atol=1e-7),
    ]


def cases_ridge_loss_and_grad() -> list[Case]:
    X = np.array([[1.0, 2.0], [0.0, -1.0], [3.0, 0.5]])
    y = np.array([1.0, -2.0, 0.5])
    w, b = np.array([0.5, -0.25]), 0.1
    rng = np.random.default_rng(7)
    X2, y2, w2 = rng.normal(size=(10, 4)), rng.normal(size=10), rng.normal(size=4)
    return [
        Case("3 samples, 2 features, lam = 0 (plain MSE)", args=(w, b, X, y, 0.0), expected=oracle_ridge(w, b, X, y, 0.0),
             rtol=1e-6, atol=1e-7),
        Case("10 samples, 4 features, lam = 0.5", args=(w2, -0.3, X2, y2, 0.5), expected=oracle_ridge(w2, -0.3, X2, y2, 0.5),
             rtol=1e-6, atol=1e-7),
    ]


def cases_l1_proximal_step() -> list[Case]:
    w = np.array([0.5, -0.05, 0.02, -1.0, 0.0])
    grad = np.array([1.0, 0.0, 0.0, -2.0, 0.3])
    rng = np.random.default_rng(8)
    w2, g2 = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    return [
        Case("5 weights, lr = 0.1, lam = 0.5: small ones become exactly 0", args=(w, grad, 0.1, 0.5),
             expected=oracle_prox(w, grad, 0.1, 0.5)),
        Case("a 3×4 weight matrix, lr = 0.05, lam = 2", args=(w2, g2, 0.05, 2.0), expected=oracle_prox(w2, g2, 0.05, 2.0)),
    ]


def cases_early_stopping_epochs() -> list[Case]:
    losses = np.array([1.0, 0.8, 0.7, 0.72, 0.71, 0.75, 0.69, 0.7])
    return [
        Case("patience 2: stops at epoch 4, best epoch 2", args=(losses, 2), expected=oracle_early_stopping(losses, 2)),
        Case("patience 4: the improvement at epoch 6 comes in time", args=(losses, 4), expected=oracle_early_stopping(losses, 4)),
        Case("min_delta = 0.05: small improvements do not count", args=(losses, 4), kwargs={"min_delta": 0.05},
             expected=oracle_early_stopping(losses, 4, 0.05)),
    ]


def cases_gaussian_noise_forward() -> list[Case]:
    x = np.full((40, 50), 3.0)
    x2 = np.linspace(-2.0, 2.0, 600).reshape(20, 30)
    return [
        Case("(40, 50) constant input, std 0.5, train mode", args=(x, 0.5, Rng(0)), check=noise_validator(x, 0.5)),
        Case("(20, 30) ramp, std 2", args=(x2, 2.0, Rng(1)), check=noise_validator(x2, 2.0)),
        Case("eval mode is the identity", args=(x2, 2.0, Rng(2)), kwargs={"training": False}, expected=x2,
             hint="With training=False the layer adds nothing."),
    ]


def cases_label_smoothing_cross_entropy() -> list[Case]:
    z = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]])
    y = np.array([0, 1])
    rng = np.random.default_rng(9)
    z2, y2 = rng.normal(size=(6, 4)) * 2.0, rng.integers(0, 4, size=6)
    return [
        Case("2 samples, 3 classes, label_smoothing 0.1", args=(z, y, 0.1), expected=oracle_smoothed_ce(z, y, 0.1),
             rtol=1e-6, atol=1e-8),
        Case("6 samples, 4 classes, no smoothing (plain cross-entropy)", args=(z2, y2), expected=oracle_smoothed_ce(z2, y2, 0.0),
             rtol=1e-6, atol=1e-8, hint="With label_smoothing 0 the target is one-hot; is the loss a mean over the samples?"),
        Case("6 samples, 4 classes, label_smoothing 0.3", args=(z2, y2), kwargs={"label_smoothing": 0.3},
             expected=oracle_smoothed_ce(z2, y2, 0.3), rtol=1e-6, atol=1e-8),
    ]
