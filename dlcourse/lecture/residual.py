"""Notebook 03, section 9.4: PyTorch's default initialisation, ``Module.apply``, and the shortcut
connection as a remedy for vanishing gradients (the PyTorch lecture notes; see docs/references.md).

* :func:`deep_mlp` — a deep torch MLP, plain (h ← f(W h + b)) or residual (h ← h + f(W h + b)),
  with torch's default initialisation of ``torch.nn.Linear``;
* :func:`he_init` — the custom initialisation the notes apply with ``model.apply``;
* :func:`linear_output_second_moments` — E[z²] of every Linear's output, read by forward hooks;
* :func:`weight_gradient_norms` — ‖∂J/∂W_l‖ of every Linear after one backward pass.

torch is imported inside the functions, so importing this module costs nothing without it.
"""

from __future__ import annotations

import functools

import numpy as np

from dlcourse.validation import as_float_array, check_choice, check_count

__all__ = ["deep_mlp", "he_init", "linear_output_second_moments", "weight_gradient_norms", "TORCH_DEFAULT_GAIN"]

#: torch.nn.Linear draws W ~ U(−bound, bound) by kaiming_uniform_(a = √5): gain = √(2 / (1 + a²))
#: = 1/√3 and bound = gain·√(3 / fan_in) = 1/√fan_in, so Var(W) = bound²/3 = 1/(3 fan_in)
TORCH_DEFAULT_GAIN = 1.0 / np.sqrt(3.0)

_ACTIVATIONS = ("relu", "tanh", "sigmoid")


def _activation(name: str):
    import torch

    return {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}[name]()


@functools.cache
def _residual_block():
    import torch

    class ResidualBlock(torch.nn.Module):
        """h ↦ h + f(W h + b): the shortcut adds the identity to the block's Jacobian,
        ∂h_out/∂h = I + diag(f′) W, so the backward product (W f′)^L becomes Π (I + W f′)."""

        def __init__(self, width: int, activation: str, bias: bool = True, dtype=None) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(width, width, bias=bias, dtype=dtype)
            self.act = _activation(activation)

        def forward(self, h):
            return h + self.act(self.linear(h))

    return ResidualBlock


def deep_mlp(n_in: int, width: int, depth: int, n_out: int, *, activation: str = "tanh", residual: bool = False,
             bias: bool = True, seed: int = 0, dtype=None):
    """Linear(n_in, width) → f → ``depth`` blocks → Linear(width, n_out), as a ``torch.nn.Sequential``.

    A block is Linear(width, width) → f (plain) or h + f(Linear(h)) (``residual``).  Every
    Linear keeps torch's default initialisation (``bias=False``: Linear layers without biases), drawn under ``torch.manual_seed(seed)`` inside
    ``torch.random.fork_rng`` (the caller's random state is left as it was), in ``dtype``
    (default ``torch.float32``, whatever torch's default dtype has been set to).
    """
    import torch

    n_in, width, n_out = check_count(n_in, "n_in"), check_count(width, "width"), check_count(n_out, "n_out")
    depth = check_count(depth, "depth", allow_zero=True)
    check_choice(activation, _ACTIVATIONS, "activation")
    dtype = torch.float32 if dtype is None else dtype
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        block = _residual_block()
        blocks = [block(width, activation, bias, dtype) if residual
                  else torch.nn.Sequential(torch.nn.Linear(width, width, bias=bias, dtype=dtype), _activation(activation))
                  for _ in range(depth)]
        return torch.nn.Sequential(torch.nn.Linear(n_in, width, bias=bias, dtype=dtype), _activation(activation),
                                   *blocks, torch.nn.Linear(width, n_out, bias=bias, dtype=dtype))


def he_init(module) -> None:
    """For ``model.apply(he_init)``: every ``torch.nn.Linear`` gets W ~ N(0, 2/fan_in) (He et al.,
    2015; ``kaiming_normal_`` with ``nonlinearity="relu"``) and b = 0; other modules are left alone.

    Draws from torch's global generator: seed it (``torch.manual_seed``) for a repeatable draw.
    """
    import torch

    if isinstance(module, torch.nn.Linear):
        torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        if module.bias is not None:
            torch.nn.init.zeros_(module.bias)


def _linears(model) -> list:
    import torch

    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    if not linears:
        raise ValueError(f"the model has no torch.nn.Linear layer: {type(model).__name__}")
    return linears


def linear_output_second_moments(model, x) -> np.ndarray:
    """E[z²] over the batch and the units of every Linear's output z_l (in the order of
    ``model.modules()``) for the input ``x``: the quantity the LeCun/He derivations keep constant
    (it is Var(z_l) when z_l has mean 0).  Read by forward hooks, removed afterwards."""
    import torch

    x = as_float_array(x, "x", ndim=2)
    moments: list[float] = []
    hooks = [lin.register_forward_hook(lambda _m, _inp, out: moments.append(float(out.detach().pow(2).mean())))
             for lin in _linears(model)]
    try:
        dtype = next(model.parameters()).dtype
        with torch.no_grad():
            model(torch.as_tensor(x, dtype=dtype))
    finally:
        for h in hooks:
            h.remove()
    return np.array(moments)


def weight_gradient_norms(model, X, y) -> np.ndarray:
    """‖∂J/∂W_l‖ (Frobenius) of every Linear (in the order of ``model.modules()``) for the mean
    cross-entropy J of ``model(X)`` against the integer labels ``y``, after one backward pass."""
    import torch

    X = as_float_array(X, "X", ndim=2)
    y = np.asarray(y)
    if y.shape != (X.shape[0],) or y.dtype.kind not in "iu":
        raise ValueError(f"y must be {X.shape[0]} integer labels, got shape {y.shape} and dtype {y.dtype}")
    linears = _linears(model)
    model.zero_grad()
    dtype = next(model.parameters()).dtype
    loss = torch.nn.functional.cross_entropy(model(torch.as_tensor(X, dtype=dtype)), torch.as_tensor(y, dtype=torch.long))
    loss.backward()
    return np.array([float(lin.weight.grad.norm()) for lin in linears])
