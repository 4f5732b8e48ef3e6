"""Gradient clipping (Pascanu, Mikolov & Bengio, 2013), as ``torch.nn.utils.clip_grad_*_``.

* by value: every component g_i ← clip(g_i, −c, c) — bounded, but the direction changes;
* by norm: g ← g · min(1, v / ‖g‖) over *all* parameters together — the direction is kept.
"""

from __future__ import annotations

import math

import numpy as np

from dlcourse.nn import Parameter
from dlcourse.validation import check_in_interval, check_positive

__all__ = ["clip_grad_value_", "clip_grad_norm_"]


def _as_params(parameters) -> list[Parameter]:
    params = [parameters] if isinstance(parameters, Parameter) else list(parameters)
    for i, p in enumerate(params):
        if not isinstance(p, Parameter):
            raise TypeError(f"expected dlcourse.nn.Parameter objects, got {type(p).__name__} at position {i}")
    return params


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clamp every gradient component into [−clip_value, clip_value], in place (dtype kept)."""
    c = check_positive(clip_value, "clip_value", allow_zero=True)
    for p in _as_params(parameters):
        np.clip(p.grad, -c, c, out=p.grad)  # g_i ← max(−c, min(g_i, c))


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> float:
    """Rescale all gradients so their joint ``norm_type``-norm is at most ``max_norm``, in place.

    Returns the total norm *before* clipping, like torch: the norm of the per-parameter norms,
    which is the norm of all gradients concatenated.  As torch, the factor is
    min(1, max_norm / (‖g‖ + 1e-6)) and is applied to every gradient.
    """
    max_norm = check_positive(max_norm, "max_norm", allow_zero=True)
    norm_type = check_in_interval(norm_type, "(0, inf]", "norm_type")
    params = _as_params(parameters)
    if not params:
        return 0.0
    # ‖g‖_p = ‖(‖g_1‖_p, ‖g_2‖_p, ...)‖_p, as torch.nn.utils.get_total_norm computes it
    norms = [np.linalg.norm(p.grad.ravel(), norm_type) for p in params]  # 0 for an empty grad
    total = float(np.linalg.norm(np.asarray(norms, dtype=np.float64), norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"the total norm of order {norm_type} of the gradients is non-finite ({total}), "
                           "so it cannot be clipped; set error_if_nonfinite=False to clip anyway")
    coef = min(max_norm / (total + 1e-6), 1.0)  # torch's clamped clip coefficient
    for p in params:
        p.grad *= coef  # a Python float: a float32 gradient stays float32
    return total
