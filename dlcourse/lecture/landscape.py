"""Notebook 04, section 8d: the loss of a neural network is not convex (the Ensimag lecture and
the PyTorch lecture notes), shown on the hand-written 2-layer network of
:mod:`dlcourse.models.two_layer`.

* :func:`permute_hidden` — the same function with its hidden units relabelled: a second, distinct
  minimiser wherever there is one, so the straight segment between them rises (non-convexity);
* :func:`segment_losses` — the loss along that segment;
* :func:`hessian` — the Hessian of the loss by central differences of the analytic gradient, to
  tell a minimum (all eigenvalues ≥ 0) from a saddle point (eigenvalues of both signs).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dlcourse.models import two_layer
from dlcourse.validation import as_float_array, check_positive

__all__ = ["permute_hidden", "segment_losses", "hessian"]


def permute_hidden(params: two_layer.Params, perm: Sequence[int]) -> two_layer.Params:
    """Hidden unit j of the result is hidden unit ``perm[j]`` of ``params``: the rows of W1 and b1
    and the columns of W2 permuted together, which leaves the network's function unchanged."""
    order = np.asarray(perm)
    n_hidden = params["W1"].shape[0]
    if sorted(order.tolist()) != list(range(n_hidden)):
        raise ValueError(f"perm must be a permutation of 0..{n_hidden - 1}, got {order.tolist()}")
    return {"W1": params["W1"][order].copy(), "b1": params["b1"][order].copy(),
            "W2": params["W2"][:, order].copy(), "b2": params["b2"].copy()}


def segment_losses(a: two_layer.Params, b: two_layer.Params, X, y, ts, *, activation: str = "tanh",
                   output: str = "sigmoid") -> np.ndarray:
    """J((1 − t) θ_a + t θ_b) for every t in ``ts``: for a convex J it never exceeds
    (1 − t) J(θ_a) + t J(θ_b)."""
    theta_a, spec = two_layer.flatten_params(a)
    theta_b, spec_b = two_layer.flatten_params(b)
    if spec != spec_b:
        raise ValueError(f"the two networks differ in shape: {spec} and {spec_b}")
    ts = as_float_array(ts, "ts", ndim=1)
    loss_fn, _ = two_layer.two_layer_objective(X, y, spec, activation=activation, output=output)
    return np.array([loss_fn((1 - t) * theta_a + t * theta_b) for t in ts])


def hessian(params: two_layer.Params, X, y, *, activation: str = "tanh", output: str = "sigmoid",
            h: float = 1e-5) -> np.ndarray:
    """∇²J at ``params`` over the flat θ of :func:`~dlcourse.models.two_layer.flatten_params`:
    column i is (∇J(θ + h e_i) − ∇J(θ − h e_i)) / 2h (error O(h²)), then symmetrised."""
    h = check_positive(h, "h")
    theta, spec = two_layer.flatten_params(params)
    _, loss_and_grad = two_layer.two_layer_objective(X, y, spec, activation=activation, output=output)
    n = theta.size
    H = np.empty((n, n))
    for i in range(n):
        e = np.zeros(n)
        e[i] = h
        H[:, i] = (loss_and_grad(theta + e)[1] - loss_and_grad(theta - e)[1]) / (2 * h)
    return 0.5 * (H + H.T)
