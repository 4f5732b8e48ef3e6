"""Gradient checking: compare an analytic backward pass with finite differences.

The centred difference (f(x + h) − f(x − h)) / 2h has truncation error O(h²) (the h² f'''/6
term of the Taylor series) and round-off error ≈ ε_machine·|f| / h.  With h = 1e-5 in float64
(ε ≈ 1e-16) both are ≈ 1e-10 and a correct backward pass agrees to a relative error of about
1e-8 or better; in float32 (ε ≈ 1e-7) the round-off alone is ≈ 1e-2, so checks are float64 only.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dlcourse.validation import as_float_array, as_rng

_TINY = np.finfo(np.float64).tiny


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """∂f/∂x_i ≈ (f(x + h e_i) − f(x − h e_i)) / 2h for every entry i of ``x``.

    ``x`` is perturbed *in place* (and restored), so ``f`` may read it through a closure
    (e.g. ``x`` is a layer's ``weight.data``) or through its argument.  ``x`` must be a float64
    array: in float32 the round-off error ε/h ≈ 1e-7/1e-5 would swamp the check.
    """
    if not isinstance(x, np.ndarray):
        x = np.array(as_float_array(x, "x"), dtype=np.float64)  # a fresh array nobody aliases
    if x.dtype != np.float64:
        raise TypeError(
            f"numerical_gradient needs a float64 array, got {x.dtype}: with h = {h:g} the "
            f"round-off error of a finite difference is about eps/h = {np.finfo(x.dtype).eps if np.issubdtype(x.dtype, np.floating) else 1.0:.1e}/{h:g}, "
            "which swamps the gradient in lower precision (convert with x.astype(np.float64))"
        )
    if not (h > 0 and np.isfinite(h)):
        raise ValueError(f"h must be a positive finite step, got {h}")
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        try:
            x[i] = old + h
            f_plus = _scalar(f(x))  # f(x + h e_i)
            x[i] = old - h
            f_minus = _scalar(f(x))  # f(x − h e_i)
        finally:
            x[i] = old  # restore, even if f raised
        grad[i] = (f_plus - f_minus) / (2.0 * h)  # centred difference: error O(h²)
    return grad


def _scalar(value) -> float:
    arr = np.asarray(value)
    if arr.size != 1:
        raise ValueError(f"f must return a scalar, got an array of shape {arr.shape}")
    return float(arr.reshape(()))


def rel_error(a, b) -> float:
    """max|a − b| / max(|a| + |b|, tiny): the largest difference relative to the arrays' scale.

    The denominator is the largest |a_i| + |b_i| over the entries (CS231n's ``rel_error`` divides
    entry by entry instead, which blows up on entries that are ~0 in both arrays).  ≈ 1e-8 or
    less: correct; ≈ 1e-4: suspicious; ≈ 1: wrong.
    """
    a = as_float_array(a, "a")
    b = as_float_array(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    num = np.max(np.abs(a - b))
    den = max(float(np.max(np.abs(a) + np.abs(b))), _TINY)
    return float(num / den)


def check_module(module, x, dout=None, rng=None) -> dict[str, float]:
    """Relative error between ``module.backward`` and finite differences, per input/parameter.

    The scalar checked is L = Σ forward(x) ⊙ dout (so dL/d(out) = dout, a random N(0, 1) array
    from ``rng`` unless given).  Returns ``{"input": err, "<param name>": err, ...}`` with the
    names of ``module.named_parameters()``.  The module's parameters, gradients and buffers are
    left as they were.  Stochastic layers (dropout) must be made deterministic first (eval()).
    """
    x = as_float_array(x, "x")
    if x.dtype != np.float64:
        raise TypeError(f"check_module needs float64 input (finite differences), got {x.dtype}")
    x = x.copy()  # perturbed in place below: never touch the caller's array
    params = dict(module.named_parameters())
    for name, p in params.items():
        if p.data.dtype != np.float64:
            raise TypeError(f"check_module needs float64 parameters, got {p.data.dtype} for {name!r}")
    saved_state = module.state_dict()  # buffers (e.g. running statistics) change in forward
    saved_grads = {name: p.grad.copy() for name, p in params.items()}

    try:
        out = np.asarray(module.forward(x))
        if dout is None:
            dout = as_rng(rng).standard_normal(out.shape)
        dout = as_float_array(dout, "dout")
        if dout.shape != out.shape:
            raise ValueError(f"dout must have the output's shape {out.shape}, got {dout.shape}")

        # Analytic gradients: one backward pass from zeroed parameter gradients.
        module.zero_grad()
        analytic = {"input": np.asarray(module.backward(dout))}
        analytic.update({name: p.grad.copy() for name, p in params.items()})

        def loss(_: np.ndarray) -> float:
            return float(np.sum(module.forward(x) * dout))  # L = Σ out ⊙ dout

        errors = {"input": rel_error(analytic["input"], numerical_gradient(loss, x))}
        for name, p in params.items():
            errors[name] = rel_error(analytic[name], numerical_gradient(loss, p.data))
        module.forward(x)  # leave the cache consistent with the unperturbed input
    finally:
        module.load_state_dict(saved_state)
        for name, p in params.items():
            p.grad = saved_grads[name]
    return errors


__all__ = ["check_module", "numerical_gradient", "rel_error"]
