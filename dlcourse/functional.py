"""Pure forward/backward functions, CS231n style: ``forward(...) -> (out, cache)`` and
``backward(dout, cache) -> grads``.  The modules in :mod:`dlcourse.nn` are thin wrappers
around these, and the exercises are phrased against them.  Row-major: a batch is (N, D).
"""

from __future__ import annotations

import numpy as np

from dlcourse.validation import as_float_array

# ---------------------------------------------------------------------------------------------
# Linear (affine) layer
# ---------------------------------------------------------------------------------------------


def linear_forward(x, w, b=None) -> tuple[np.ndarray, tuple]:
    """out = x Wᵀ + b, for x (N, in), W (out, in), b (out,) — torch's ``F.linear``."""
    x = as_float_array(x, "x", ndim=2)
    w = as_float_array(w, "w", ndim=2)
    if x.shape[1] != w.shape[1]:
        raise ValueError(
            f"x has {x.shape[1]} features but w expects {w.shape[1]}: x shape {x.shape}, w shape {w.shape} (out, in)"
        )
    out = x @ w.T  # z_n = W x_n for every row n
    if b is not None:
        b = as_float_array(b, "b", ndim=1)
        if b.shape[0] != w.shape[0]:
            raise ValueError(f"b must have shape ({w.shape[0]},) to match w {w.shape}, got {b.shape}")
        out = out + b
    return out, (x, w, b is not None)


def linear_backward(dout, cache) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Given dL/dout (N, out): dx = dout W, dW = doutᵀ x, db = Σ_n dout_n."""
    x, w, has_bias = cache
    dout = as_float_array(dout, "dout", ndim=2)
    if dout.shape != (x.shape[0], w.shape[0]):
        raise ValueError(f"dout must have shape {(x.shape[0], w.shape[0])}, got {dout.shape}")
    dx = dout @ w  # (N, out) @ (out, in)
    dw = dout.T @ x  # (out, N) @ (N, in): sums the per-sample outer products
    db = dout.sum(axis=0) if has_bias else None
    return dx, dw, db


# ---------------------------------------------------------------------------------------------
# Regularization: dropout (issue 4 appends below)
# ---------------------------------------------------------------------------------------------

# ---------------------------------------------------------------------------------------------
# Batch normalization (issue 4 appends below)
# ---------------------------------------------------------------------------------------------
