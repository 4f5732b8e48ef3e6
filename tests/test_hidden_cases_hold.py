"""Hidden cases that hold against answers a student could hand in without doing the exercise.

Run in this process against the hidden modules (no sandbox): a symmetry count that ignores the
outgoing weights, and backward passes computed by finite differences of the forward pass instead
of a derived formula.  Finite differences agree with the oracle to about 1e-10, far inside every
tolerance, so only cost can tell them apart: each derivation question has a hidden case where a
numerical gradient (even one that perturbs all independent rows or columns at once) needs many
times the question's CPU limit, while the derived formula needs a small fraction of it.
"""

from __future__ import annotations

import importlib
import json
import time
from pathlib import Path

import numpy as np
import pytest

from dlcourse.autograde.spec import Limits, compare, copy_args, to_plain

ROOT = Path(__file__).resolve().parents[1]


def _hidden(topic: str):
    return importlib.import_module(f"grading.c{topic}")


def _solution(topic: str) -> dict:
    nb = json.loads((ROOT / "solutions" / f"{topic}.ipynb").read_text(encoding="utf-8"))
    ns: dict = {"np": np}
    for cell in nb["cells"]:
        if "graded" in cell["metadata"].get("tags", []):
            exec("".join(cell["source"]), ns)  # noqa: S102 - the course's own solution
    return ns


def _failed(topic: str, qid: str, fn) -> list[str]:
    """Names of the hidden cases of ``qid`` that ``fn`` fails."""
    failed = []
    for case in getattr(_hidden(topic), f"cases_{qid}")():
        args, kwargs = copy_args(case.args, case.kwargs)
        got = fn(*args, **kwargs)
        got = tuple(to_plain(g) for g in got) if isinstance(got, tuple) else to_plain(got)
        if compare(case, got) is not None:
            failed.append(case.name)
    return failed


def test_a_symmetry_count_without_the_outgoing_weights_loses_a_hidden_case():
    def incoming_only(W1, b1, W2, atol=1e-8):
        reps: list = []
        for u in np.concatenate([W1, b1[:, None]], axis=1):
            if not any(np.max(np.abs(u - r)) <= atol for r in reps):
                reps.append(u)
        return len(reps)

    assert _failed("03_initialization", "count_distinct_units", _solution("03_initialization")["count_distinct_units"]) == []
    assert _failed("03_initialization", "count_distinct_units", incoming_only)


def test_clipping_without_the_small_constant_in_the_denominator_loses_a_hidden_case():
    def no_eps(grads, max_norm):
        total = float(np.sqrt(sum(np.sum(g * g) for g in grads)))
        coef = min(1.0, max_norm / total) if total > 0 else 1.0
        return (total, *(g * coef for g in grads))

    assert _failed("03_initialization", "clip_grad_norm", _solution("03_initialization")["clip_grad_norm"]) == []
    assert _failed("03_initialization", "clip_grad_norm", no_eps)


def _points(topic: str, qid: str, fn) -> float:
    """The share of the question's points ``fn`` earns on the public and hidden cases together."""
    public = importlib.import_module(f"dlcourse.autograde.cases.c{topic}")
    cases = [*getattr(public, f"cases_{qid}")(), *getattr(_hidden(topic), f"cases_{qid}")()]
    got_weight = 0.0
    for case in cases:
        args, kwargs = copy_args(case.args, case.kwargs)
        got = fn(*args, **kwargs)
        got = tuple(to_plain(g) for g in got) if isinstance(got, tuple) else to_plain(got)
        got_weight += case.weight * (compare(case, got) is None)
    return got_weight / sum(c.weight for c in cases)


def test_dropout_without_the_rescaling_earns_at_most_a_third():
    def not_rescaled(x, u, p, training=True):
        x = np.asarray(x, dtype=float)
        return x.copy() if not training else x * (u >= p)

    assert _points("05_regularization", "inverted_dropout_forward",
                   _solution("05_regularization")["inverted_dropout_forward"]) == 1.0
    assert _points("05_regularization", "inverted_dropout_forward", not_rescaled) <= 1 / 3


def test_spatial_batchnorm_that_mixes_channels_earns_at_most_a_third():
    solution = _solution("06_batchnorm")

    def no_transpose(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5):
        n, c, h, w = x.shape
        out, m, v = solution["batchnorm_train_forward"](x.reshape(n * h * w, c), gamma, beta, running_mean,
                                                        running_var, momentum, eps)
        return out.reshape(n, c, h, w), m, v

    assert _points("06_batchnorm", "spatial_batchnorm_train_forward", solution["spatial_batchnorm_train_forward"]) == 1.0
    assert _points("06_batchnorm", "spatial_batchnorm_train_forward", no_transpose) <= 1 / 3


# --- backward passes by finite differences ---------------------------------------------------


def _bn_loss(dout, x, gamma, eps=1e-5):
    mu = x.mean(axis=0)
    var = ((x - mu) ** 2).mean(axis=0)
    return float(np.sum(dout * gamma * (x - mu) / np.sqrt(var + eps)))


def _ce_loss(z, y, label_smoothing=0.0):
    eps = label_smoothing
    n, c = z.shape
    s = z - z.max(axis=1, keepdims=True)
    log_p = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    q = np.full((n, c), eps / c)
    q[np.arange(n), y] += 1.0 - eps
    return float(-(q * log_p).sum() / n)


def _ridge_loss(w, b, X, y, lam):
    r = X @ w + b - y
    return float(r @ r / len(y) + 0.5 * lam * w @ w)


def _act(z, g):
    return np.maximum(z, 0.0) if g == "relu" else 1.0 / (1.0 + np.exp(-z)) if g == "sigmoid" else z


def _layer_loss(dout, A_prev, W, b, g="identity"):
    return float(np.sum(dout * _act(A_prev @ W.T + b, g)))


def _model_loss(dZL, caches, params, g):
    A = caches[0]
    L = len(params) // 2
    for layer in range(L):
        Z = A @ params[2 * layer].T + params[2 * layer + 1]
        A = _act(Z, g) if layer < L - 1 else Z
    return float(np.sum(dZL * A))


# (topic, qid, forward pass of the scalar the backward differentiates, the number of forward passes
# of the cheapest finite differences: columns of batch norm are independent, so 2·N passes perturb
# one row of every column at once; samples of a cross-entropy are independent, so 2·C passes)
DERIVATIONS = [
    ("06_batchnorm", "batchnorm_backward", lambda a, k: _bn_loss(a[0], a[1], a[2], **k), lambda a: 2 * a[1].shape[0]),
    ("05_regularization", "label_smoothing_cross_entropy", lambda a, k: _ce_loss(a[0], a[1], *a[2:], **k),
     lambda a: 2 * a[0].shape[1]),
    ("02b_l_layer_network", "compute_cost", lambda a, k: _ce_loss(a[0], a[1]), lambda a: 2 * a[0].shape[1]),
    # a ridge gradient: one pass per feature (every sample depends on every weight)
    ("05_regularization", "ridge_loss_and_grad", lambda a, k: _ridge_loss(*a), lambda a: a[2].shape[1] + 1),
    # a layer: units (rows of W) and samples are independent, so one column of W, or one feature
    # of A_prev, is perturbed for all of them at once: 2·n_{l-1} passes
    ("02b_l_layer_network", "linear_backward_cached", lambda a, k: _layer_loss(a[0], *a[1]),
     lambda a: 2 * a[1][0].shape[1]),
    ("02b_l_layer_network", "linear_activation_backward", lambda a, k: _layer_loss(a[0], *a[1][:3], a[2]),
     lambda a: 2 * a[1][0].shape[1]),
    # a network: the layers mix the units, so one pass per weight
    ("02b_l_layer_network", "l_model_backward", lambda a, k: _model_loss(*a), lambda a: sum(W.size for W in a[2][::2])),
]


@pytest.mark.parametrize(("topic", "qid", "forward", "passes"), DERIVATIONS, ids=[d[1] for d in DERIVATIONS])
def test_a_numerical_gradient_cannot_pass_every_hidden_case_of_a_derivation(topic, qid, forward, passes):
    hidden = _hidden(topic)
    cpu_s = getattr(hidden, "LIMITS", {}).get(qid, Limits()).cpu_s
    solve = _solution(topic)[qid]
    costs = []
    for case in getattr(hidden, f"cases_{qid}")():
        args, kwargs = copy_args(case.args, case.kwargs)
        t0 = time.process_time()
        for _ in range(3):
            forward(args, kwargs)
        per_pass = (time.process_time() - t0) / 3
        costs.append((passes(args) * per_pass, case))
    estimate, large = max(costs, key=lambda c: c[0])
    # finite differences need several CPU limits on the largest case ...
    assert estimate > 4 * cpu_s, f"{qid}: finite differences would take about {estimate:.2f} s < 4 × {cpu_s} s"
    # ... which the derived formula passes in a small fraction of one
    args, kwargs = copy_args(large.args, large.kwargs)
    t0 = time.process_time()
    got = solve(*args, **kwargs)
    assert time.process_time() - t0 < cpu_s / 10
    assert compare(large, tuple(to_plain(g) for g in got)) is None


# --- the exercise text does not hand over what a question asks to derive ----------------------

#: (exercise, text that would state a derived gradient) — the ridge gradient, label smoothing's p − q
GIVEN_AWAY = [
    ("05_regularization", r"\frac2N X^\top \mathbf r"),
    ("05_regularization", r"\frac2N X_{\text{col}}\,\mathbf r"),
    ("05_regularization", "the gradient $p - q$"),
]


@pytest.mark.parametrize(("topic", "text"), GIVEN_AWAY)
def test_the_exercise_does_not_state_the_gradient_it_asks_for(topic, text):
    nb = json.loads((ROOT / "exercises" / f"{topic}.ipynb").read_text(encoding="utf-8"))
    markdown = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert text not in markdown
