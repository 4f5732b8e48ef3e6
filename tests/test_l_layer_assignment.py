"""Assignment 02b (an L-layer network, step by step): the reference solution passes every public
and hidden case, each usual mistake loses points, no trivial answer earns any, the topic name
``02b_...`` is recognised and sorted between 02 and 03, and the digits accuracy the notebook
states holds at full scale too.

The cases run here in-process on functions compiled from the solution notebook's graded cells
(fast); the sandboxed grader on the whole notebook is ``tests/test_grader.py``'s.
"""

from __future__ import annotations

import functools
import importlib
from pathlib import Path

import numpy as np
import pytest

from dlcourse.autograde import notebook as nbmod
from dlcourse.autograde.engine import hidden_module, module_cases, trivial_answer
from dlcourse.autograde.spec import compare, copy_args, to_plain

ROOT = Path(__file__).resolve().parents[1]
TOPIC = "02b_l_layer_network"
SOLUTION = ROOT / "solutions" / f"{TOPIC}.ipynb"
PUBLIC = importlib.import_module(f"dlcourse.autograde.cases.c{TOPIC}")
HIDDEN = hidden_module(TOPIC, ROOT / "grading")
QIDS = [q.qid for q in nbmod.questions(nbmod.read(SOLUTION)) if q.kind == "auto"]


def _namespace(replace: dict[str, str] | None = None) -> dict:
    """The solution's graded functions, compiled; ``replace`` swaps some for other sources."""
    code = nbmod.extract_graded_code(nbmod.read(SOLUTION), QIDS).code
    ns: dict = {"np": np}
    exec(compile(code, str(SOLUTION), "exec"), ns)
    for source in (replace or {}).values():
        exec(compile(source, "<mutant>", "exec"), ns)
    return ns


@functools.cache  # the cases are computed once; every call gets fresh copies of their arguments
def _cases(qid):
    return tuple([("public", c) for c in module_cases(PUBLIC, qid)] + [("hidden", c) for c in module_cases(HIDDEN, qid)])


def _outcomes(fn, qid) -> dict[str, str | None]:
    """Case name -> None (passed) or the reason, as the grader compares."""
    out = {}
    for vis, case in _cases(qid):
        args, kwargs = copy_args(case.args, case.kwargs)
        try:
            with np.errstate(all="ignore"):
                reason = compare(case, to_plain(fn(*args, **kwargs)))
        except Exception as exc:  # a mutant that crashes fails the case
            reason = f"raised {type(exc).__name__}"
        out[f"{vis}: {case.name}"] = reason
    return out


def test_the_topic_is_recognised_and_sorted_between_02_and_03():
    assert nbmod.topic_of(nbmod.read(SOLUTION), SOLUTION) == TOPIC
    assert nbmod.topic_of({"metadata": {}}, f"/somewhere/{TOPIC}.ipynb") == TOPIC  # from the file name
    assert nbmod.topic_of({"metadata": {}}, "/somewhere/02bb_x.ipynb") is None  # one letter at most
    stems = [p.stem for p in sorted((ROOT / "solutions").glob("*.ipynb"))]
    assert stems.index("02_backprop") < stems.index(TOPIC) < stems.index("03_initialization")
    assert PUBLIC.TOPIC == HIDDEN.TOPIC == TOPIC
    assert set(QIDS) == set(PUBLIC.HINTS)


@pytest.mark.parametrize("qid", QIDS)
def test_the_solution_passes_every_public_and_hidden_case(qid):
    ns = _namespace()
    failed = {k: v for k, v in _outcomes(ns[qid], qid).items() if v is not None}
    assert not failed


# The usual mistakes, one per entry: each must fail at least one case of its question.
MUTANTS = {
    "initialize_parameters": {
        "fan-out instead of fan-in": "rng.normal(0.0, np.sqrt(2.0 / n_out), size=(n_out, n_in))",
        "Xavier/LeCun variance 1/n": "rng.normal(0.0, np.sqrt(1.0 / n_in), size=(n_out, n_in))",
        "a uniform distribution": "rng.uniform(-1, 1, size=(n_out, n_in)) * np.sqrt(6.0 / n_in)",
        "the transposed shape": "rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))",
        "zero weights": "np.zeros((n_out, n_in))",
        "one draw reused for equal layers": "np.random.default_rng(0).normal(0.0, np.sqrt(2.0 / n_in), size=(n_out, n_in))",
    },
}

INIT = '''
def initialize_parameters(layer_dims, rng):
    params = []
    for n_in, n_out in zip(layer_dims[:-1], layer_dims[1:]):
        params.append({draw})
        params.append(np.zeros(n_out))
    return params
'''

SOURCES = {
    ("linear_forward", "W instead of its transpose"):
        "def linear_forward(A_prev, W, b):\n    return A_prev @ W + b\n",
    ("linear_forward", "no bias"):
        "def linear_forward(A_prev, W, b):\n    return A_prev @ W.T\n",
    ("linear_activation_forward", "(Z, A) swapped"):
        "def linear_activation_forward(A_prev, W, b, activation):\n"
        "    Z = A_prev @ W.T + b\n"
        "    A = np.maximum(Z, 0) if activation == 'relu' else (1 / (1 + np.exp(-Z)) if activation == 'sigmoid' else Z)\n"
        "    return Z, A\n",
    ("linear_activation_forward", "tanh for sigmoid"):
        "def linear_activation_forward(A_prev, W, b, activation):\n"
        "    Z = A_prev @ W.T + b\n"
        "    A = np.maximum(Z, 0) if activation == 'relu' else (np.tanh(Z) if activation == 'sigmoid' else Z)\n"
        "    return A, Z\n",
    ("l_model_forward", "the activation on the last layer too"):
        "def l_model_forward(X, params, activation='relu'):\n"
        "    caches, A = [X], X\n"
        "    for l in range(len(params) // 2):\n"
        "        A, Z = linear_activation_forward(A, params[2 * l], params[2 * l + 1], activation)\n"
        "        caches += [Z, A]\n"
        "    return caches[:-2] + [caches[-1]]\n",
    ("l_model_forward", "the activations only, no Z"):
        "def l_model_forward(X, params, activation='relu'):\n"
        "    out, A = [X], X\n"
        "    L = len(params) // 2\n"
        "    for l in range(L):\n"
        "        A, Z = linear_activation_forward(A, params[2 * l], params[2 * l + 1], activation if l < L - 1 else 'identity')\n"
        "        out += [A, A]\n"
        "    return out[:-1]\n",
    ("compute_cost", "dZ without the 1/N"):
        "def compute_cost(logits, y):\n"
        "    s = logits - logits.max(axis=1, keepdims=True)\n"
        "    p = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)\n"
        "    N = len(y)\n"
        "    d = p.copy(); d[np.arange(N), y] -= 1\n"
        "    return float(-np.mean(np.log(p[np.arange(N), y]))), d\n",
    ("compute_cost", "the sign of dZ flipped"):
        "def compute_cost(logits, y):\n"
        "    s = logits - logits.max(axis=1, keepdims=True)\n"
        "    p = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)\n"
        "    N = len(y)\n"
        "    d = p.copy(); d[np.arange(N), y] -= 1\n"
        "    return float(-np.mean(np.log(p[np.arange(N), y]))), -d / N\n",
    ("compute_cost", "no shift by the row maximum"):
        "def compute_cost(logits, y):\n"
        "    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)\n"
        "    N = len(y)\n"
        "    d = p.copy(); d[np.arange(N), y] -= 1\n"
        "    return float(-np.mean(np.log(p[np.arange(N), y]))), d / N\n",
    ("compute_cost", "the summed cost"):
        "def compute_cost(logits, y):\n"
        "    s = logits - logits.max(axis=1, keepdims=True)\n"
        "    p = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)\n"
        "    N = len(y)\n"
        "    d = p.copy(); d[np.arange(N), y] -= 1\n"
        "    return float(-np.sum(np.log(p[np.arange(N), y]))), d / N\n",
    ("linear_backward_cached", "db averaged instead of summed"):
        "def linear_backward_cached(dZ, cache):\n"
        "    A_prev, W, b = cache\n"
        "    return dZ @ W, dZ.T @ A_prev, dZ.mean(axis=0)\n",
    ("linear_backward_cached", "dW transposed"):
        "def linear_backward_cached(dZ, cache):\n"
        "    A_prev, W, b = cache\n"
        "    return dZ @ W, A_prev.T @ dZ, dZ.sum(axis=0)\n",
    ("linear_backward_cached", "dW divided by N again"):
        "def linear_backward_cached(dZ, cache):\n"
        "    A_prev, W, b = cache\n"
        "    return dZ @ W, dZ.T @ A_prev / len(dZ), dZ.sum(axis=0)\n",
    ("linear_activation_backward", "sigmoid' = σ (the (1 − σ) forgotten)"):
        "def linear_activation_backward(dA, cache, activation):\n"
        "    A_prev, W, b, Z = cache\n"
        "    s = 1 / (1 + np.exp(-Z))\n"
        "    dZ = dA * (Z > 0) if activation == 'relu' else (dA * s if activation == 'sigmoid' else dA)\n"
        "    return linear_backward_cached(dZ, (A_prev, W, b))\n",
    ("linear_activation_backward", "ReLU'(0) = 1"):
        "def linear_activation_backward(dA, cache, activation):\n"
        "    A_prev, W, b, Z = cache\n"
        "    s = 0.5 * (1 + np.tanh(0.5 * Z))\n"
        "    dZ = dA * (Z >= 0) if activation == 'relu' else (dA * s * (1 - s) if activation == 'sigmoid' else dA)\n"
        "    return linear_backward_cached(dZ, (A_prev, W, b))\n",
    ("linear_activation_backward", "g' ignored"):
        "def linear_activation_backward(dA, cache, activation):\n"
        "    A_prev, W, b, Z = cache\n"
        "    return linear_backward_cached(dA, (A_prev, W, b))\n",
    ("l_model_backward", "the hidden activation on the last layer"):
        "def l_model_backward(dZL, caches, params, activation='relu'):\n"
        "    L = len(params) // 2\n"
        "    grads, dA = [None] * (2 * L), dZL\n"
        "    for l in reversed(range(L)):\n"
        "        cache = (caches[2 * l], params[2 * l], params[2 * l + 1], caches[2 * l + 1])\n"
        "        dA, grads[2 * l], grads[2 * l + 1] = linear_activation_backward(dA, cache, activation)\n"
        "    return grads\n",
    ("l_model_backward", "the gradients in reverse order"):
        "def l_model_backward(dZL, caches, params, activation='relu'):\n"
        "    L = len(params) // 2\n"
        "    grads, dA = [], dZL\n"
        "    for l in reversed(range(L)):\n"
        "        g = activation if l < L - 1 else 'identity'\n"
        "        cache = (caches[2 * l], params[2 * l], params[2 * l + 1], caches[2 * l + 1])\n"
        "        dA, dW, db = linear_activation_backward(dA, cache, g)\n"
        "        grads += [dW, db]\n"
        "    return grads\n",
    ("update_parameters", "a step up the gradient"):
        "def update_parameters(params, grads, lr):\n    return [p + lr * g for p, g in zip(params, grads)]\n",
    ("update_parameters", "the learning rate ignored"):
        "def update_parameters(params, grads, lr):\n    return [p - g for p, g in zip(params, grads)]\n",
    ("train", "no update (the initial network)"):
        "def train(X, y, layer_dims, lr, epochs, rng, batch_size=32, activation='relu', history=None):\n"
        "    return initialize_parameters(layer_dims, rng)\n",
    ("train", "one mini-batch per epoch"):
        "def train(X, y, layer_dims, lr, epochs, rng, batch_size=32, activation='relu', history=None):\n"
        "    params = initialize_parameters(layer_dims, rng)\n"
        "    for _ in range(epochs):\n"
        "        idx = rng.permutation(len(y))[:batch_size]\n"
        "        caches = l_model_forward(X[idx], params, activation)\n"
        "        _, dZL = compute_cost(caches[-1], y[idx])\n"
        "        params = update_parameters(params, l_model_backward(dZL, caches, params, activation), lr)\n"
        "    return params\n",
    ("train", "the hidden activation ignored (always relu)"):
        "def train(X, y, layer_dims, lr, epochs, rng, batch_size=32, activation='relu', history=None):\n"
        "    params = initialize_parameters(layer_dims, rng)\n"
        "    for _ in range(epochs):\n"
        "        order = rng.permutation(len(y))\n"
        "        for s in range(0, len(y), batch_size):\n"
        "            idx = order[s:s + batch_size]\n"
        "            caches = l_model_forward(X[idx], params)\n"
        "            _, dZL = compute_cost(caches[-1], y[idx])\n"
        "            params = update_parameters(params, l_model_backward(dZL, caches, params), lr)\n"
        "    return params\n",
}
for _name, _draw in MUTANTS["initialize_parameters"].items():
    SOURCES[("initialize_parameters", _name)] = INIT.format(draw=_draw)


@pytest.mark.parametrize("qid,mistake", list(SOURCES), ids=[f"{q}: {m}" for q, m in SOURCES])
def test_each_usual_mistake_fails_a_case(qid, mistake):
    ns = _namespace({qid: SOURCES[(qid, mistake)]})
    outcomes = _outcomes(ns[qid], qid)
    assert any(reason is not None for reason in outcomes.values()), f"{mistake!r} passes every case of {qid}"


def test_every_question_has_cases_no_trivial_answer_passes():
    """The grader's gate counts a trivially passed case only when a substantive one passes too."""
    for qid in QIDS:
        for vis in ("public", "hidden"):
            substantive = [c for v, c in _cases(qid) if v == vis and trivial_answer(c) is None]
            assert substantive, f"{qid}: every {vis} case has a trivial answer"


TRIVIAL = {
    "zeros like the first argument": lambda *a, **k: np.zeros_like(np.asarray(a[0], dtype=float))
    if not isinstance(a[0], (list, tuple)) else [np.zeros_like(np.asarray(x, dtype=float)) for x in a[0]],
    "the first argument": lambda *a, **k: a[0],
    "a constant": lambda *a, **k: 1.0,
    "a list of zeros": lambda *a, **k: [np.zeros(3), np.zeros(3)],
}


@pytest.mark.parametrize("qid", QIDS)
def test_trivial_answers_pass_no_substantive_case(qid):
    for name, fn in TRIVIAL.items():
        passed = [case for case, reason in _outcomes(fn, qid).items() if reason is None]
        substantive = {f"{v}: {c.name}" for v, c in _cases(qid) if trivial_answer(c) is None}
        assert not (set(passed) & substantive), f"{name} passes {passed} of {qid}"


def test_the_solution_reaches_the_stated_digits_accuracy_at_full_scale():
    """The notebook states ≥ 95 % validation accuracy after 40 epochs (full mode); quick mode
    (15 epochs) is asserted when the notebook runs."""
    from dlcourse.data import Standardizer, digits, train_val_test_split

    ns = _namespace()
    X, y = digits()
    X_tr, X_val, _, y_tr, y_val, _ = train_val_test_split(X, y, val=0.2, test=0.0, rng=0, stratify=True)
    scaler = Standardizer(eps=1e-8).fit(X_tr)
    X_tr, X_val = scaler.transform(X_tr), scaler.transform(X_val)
    history: list = []
    params = ns["train"](X_tr, y_tr, [64, 64, 32, 10], lr=0.05, epochs=40, rng=np.random.default_rng(0),
                         history=history)
    accuracy = float(np.mean(np.argmax(ns["l_model_forward"](X_val, params)[-1], axis=1) == y_val))
    assert accuracy >= 0.95
    assert len(history) == 40 and history[-1] < history[0] / 10
