"""Drivers of assignment 08: they flatten what the student's functions return into plain arrays.

The sandbox exchanges plain arrays and *one-level* tuples of them; ``mlp_loss_and_grads`` returns
``(loss, grads)`` with ``grads`` a tuple, and ``mlp_adam_step`` three tuples.  The grader sends this
file's source with the case and the sandbox calls ``drive_<qid>(student_fn, *case.args)``: the
driver calls the student's function and returns one flat tuple.  The public checks in the
student's kernel call the same drivers.

Self-contained on purpose: it runs inside the sandbox, where only numpy and the standard library
can be imported (never dlcourse).
"""

from __future__ import annotations

import numpy as np


def _arrays(values, what: str, count: int) -> list:
    """``values`` as a list of ``count`` plain float arrays, or a TypeError naming what came."""
    if not isinstance(values, (tuple, list)):
        raise TypeError(f"{what} must be a tuple of {count} arrays, got {type(values).__name__}")
    if len(values) != count:
        raise TypeError(f"{what} must hold {count} arrays (one per weight and bias), got {len(values)}")
    return [np.asarray(v, dtype=np.float64) for v in values]


def drive_mlp_loss_and_grads(fn, params, X, y, weight_decay):
    """``(loss, dW_1, db_1, …, dW_L, db_L)`` from ``fn(params, X, y, weight_decay) -> (loss, grads)``."""
    out = fn(tuple(params), X, y, weight_decay)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise TypeError("mlp_loss_and_grads must return a pair (loss, grads)")
    loss, grads = out
    return (float(loss), *_arrays(grads, "grads", len(params)))


def drive_mlp_adam_step(fn, params, grads, m, v, t, lr, betas, eps):
    """``(*new_params, *new_m, *new_v)`` from ``fn(...) -> (new_params, new_m, new_v)``."""
    out = fn(tuple(params), tuple(grads), tuple(m), tuple(v), t, lr, tuple(betas), eps)
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        raise TypeError("mlp_adam_step must return three tuples (new_params, new_m, new_v)")
    k = len(params)
    return tuple(_arrays(out[0], "new_params", k) + _arrays(out[1], "new_m", k) + _arrays(out[2], "new_v", k))
