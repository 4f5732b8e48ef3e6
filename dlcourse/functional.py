"""Pure forward/backward functions, CS231n style: ``forward(...) -> (out, cache)`` and
``backward(dout, cache) -> grads``.  The modules in :mod:`dlcourse.nn` are thin wrappers
around these, and the exercises are phrased against them.  Row-major: a batch is (N, D).
"""

from __future__ import annotations

import numpy as np

from dlcourse.validation import as_float_array, as_rng, check_positive, check_probability

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


def dropout_forward(x, p: float = 0.5, train: bool = True, rng=None, *, inverted: bool = True) -> tuple[np.ndarray, tuple]:
    """Dropout with p = probability of *dropping* a unit (torch's convention).

    Inverted (default, torch): at train time ``out = x · m / (1 − p)`` with ``m ~ Bernoulli(1 − p)``,
    so E[out] = x and test time is the identity.  Standard (``inverted=False``, Srivastava et al.
    2014): ``out = x · m`` at train time and ``out = (1 − p) · x`` at test time.
    Returns ``(out, cache)``; ``cache`` holds the multiplier that :func:`dropout_backward` needs.
    """
    x = as_float_array(x, "x")
    p = check_probability(p, "p (dropout probability)", inclusive_high=True)
    if train and p > 0.0:
        keep = as_rng(rng).random(x.shape) >= p  # m_i ~ Bernoulli(1 − p): True = unit kept
        if inverted:
            # scale the survivors by 1/(1 − p) so that E[m_i x_i / (1 − p)] = x_i; p = 1 drops all
            scale = keep / (1.0 - p) if p < 1.0 else np.zeros_like(x)
        else:
            scale = keep.astype(x.dtype)  # standard dropout: no rescaling while training
    elif train or inverted:
        scale = None  # p = 0 (nothing dropped) or inverted dropout at test time: identity
    else:
        scale = np.full_like(x, 1.0 - p)  # standard dropout at test time: E[m_i] x_i = (1 − p) x_i
    out = x if scale is None else x * scale
    return out, (scale,)


def standard_dropout_forward(x, p: float = 0.5, train: bool = True, rng=None) -> tuple[np.ndarray, tuple]:
    """The non-inverted variant: drop at train time, multiply by (1 − p) at test time."""
    return dropout_forward(x, p, train, rng, inverted=False)


def dropout_backward(dout, cache) -> np.ndarray:
    """dL/dx = dL/dout · (the same mask and scale as the forward pass): out is linear in x."""
    (scale,) = cache
    dout = as_float_array(dout, "dout")
    if scale is None:
        return dout
    if dout.shape != scale.shape:
        raise ValueError(f"dout must have the forward input's shape {scale.shape}, got {dout.shape}")
    return dout * scale

# ---------------------------------------------------------------------------------------------
# Batch normalization (issue 4 appends below)
# ---------------------------------------------------------------------------------------------


def batchnorm_forward(
    x,
    gamma,
    beta,
    running_mean: np.ndarray | None = None,
    running_var: np.ndarray | None = None,
    *,
    train: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> tuple[np.ndarray, tuple]:
    """Batch normalization of x (N, D) per feature (Ioffe & Szegedy, 2015), torch's ``F.batch_norm``.

    Train: x̂ = (x − μ_B) / √(σ²_B + ε) with the batch mean and *biased* variance, y = γ x̂ + β;
    the running statistics (if given) are updated **in place**, torch-style, with momentum as
    the weight of the new batch statistic and the *unbiased* batch variance:
    ``running ← (1 − momentum) · running + momentum · batch``.
    Eval: the running averages replace the batch statistics, so BN is a fixed affine map.
    """
    x = as_float_array(x, "x", ndim=2)
    n, d = x.shape
    gamma = as_float_array(gamma, "gamma", ndim=1)
    beta = as_float_array(beta, "beta", ndim=1)
    if gamma.shape != (d,) or beta.shape != (d,):
        raise ValueError(f"gamma and beta must have shape ({d},) for x of shape {x.shape}, got {gamma.shape} and {beta.shape}")
    if not 0.0 <= float(momentum) <= 1.0:
        raise ValueError(f"momentum must lie in [0, 1], got {momentum}")
    check_positive(eps, "eps")
    for name, buf in (("running_mean", running_mean), ("running_var", running_var)):
        if buf is not None and (not isinstance(buf, np.ndarray) or buf.shape != (d,)):
            raise ValueError(f"{name} must be an ndarray of shape ({d},), got {getattr(buf, 'shape', type(buf).__name__)}")
    if train:
        if n < 2:
            # torch: "Expected more than 1 value per channel when training"; a batch of one has
            # zero variance and its unbiased variance is 0/0.
            raise ValueError(f"batch norm in train mode needs more than 1 value per feature, got x of shape {x.shape}")
        mu = x.mean(axis=0)  # μ_B = (1/N) Σ_i x_i
        var = x.var(axis=0)  # σ²_B = (1/N) Σ_i (x_i − μ_B)²  (biased: used to normalise)
        if running_mean is not None:
            running_mean *= 1.0 - momentum
            running_mean += momentum * mu  # μ ← (1 − momentum) μ + momentum μ_B
        if running_var is not None:
            running_var *= 1.0 - momentum
            running_var += momentum * var * n / (n - 1)  # σ² ← ... + momentum · N/(N−1) σ²_B
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch norm in eval mode needs running_mean and running_var")
        mu, var = running_mean, running_var  # fixed statistics at test time (only read below)
    xc = x - mu  # centred input
    std = np.sqrt(var + eps)  # √(σ² + ε)
    istd = 1.0 / std
    xhat = xc * istd  # x̂ = (x − μ) / √(σ² + ε)
    out = gamma * xhat + beta  # y = γ x̂ + β
    return out, (x, xc, std, istd, xhat, gamma, bool(train))


def batchnorm_backward(dout, cache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward through the computational graph of :func:`batchnorm_forward`, one node at a time.

    Forward graph (train mode): μ = mean(x) → xc = x − μ → sq = xc² → σ² = mean(sq) →
    s = √(σ² + ε) → r = 1/s → x̂ = xc·r → y = γ x̂ + β.  Returns (dx, dγ, dβ).
    """
    x, xc, std, istd, xhat, gamma, train = cache
    dout = _check_dout(dout, x)
    n = x.shape[0]
    dbeta = dout.sum(axis=0)  # y = γ x̂ + β:  ∂L/∂β = Σ_i ∂L/∂y_i
    dgamma = (dout * xhat).sum(axis=0)  # ∂L/∂γ = Σ_i ∂L/∂y_i · x̂_i
    dxhat = dout * gamma  # ∂L/∂x̂ = ∂L/∂y · γ
    if not train:
        return dxhat * istd, dgamma, dbeta  # eval: x̂ = (x − μ)·r with μ, r constants
    dxc = dxhat * istd  # x̂ = xc · r: first path into xc, ∂x̂/∂xc = r
    dr = (dxhat * xc).sum(axis=0)  # x̂ = xc · r: ∂L/∂r = Σ_i ∂L/∂x̂_i · xc_i (r is shared by rows)
    ds = -dr / std**2  # r = 1/s: ∂r/∂s = −1/s²
    dvar = ds * 0.5 / std  # s = √(σ² + ε): ∂s/∂σ² = 1 / (2s)
    dsq = np.broadcast_to(dvar / n, x.shape)  # σ² = (1/N) Σ_i sq_i: each row gets ∂L/∂σ² / N
    dxc = dxc + 2.0 * xc * dsq  # sq = xc²: second path into xc, ∂sq/∂xc = 2 xc
    dmu = -dxc.sum(axis=0)  # xc = x − μ: ∂L/∂μ = −Σ_i ∂L/∂xc_i
    dx = dxc + dmu / n  # xc = x − μ (direct path) and μ = (1/N) Σ_i x_i
    return dx, dgamma, dbeta


def batchnorm_backward_simplified(dout, cache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Closed form of the same gradient (train mode), from collapsing the graph on paper:

    dx = γ / (N √(σ²_B + ε)) · (N·dy − Σ_i dy_i − x̂ · Σ_i dy_i x̂_i).  Returns (dx, dγ, dβ).
    """
    x, xc, std, istd, xhat, gamma, train = cache
    dout = _check_dout(dout, x)
    n = x.shape[0]
    dbeta = dout.sum(axis=0)  # Σ_i dy_i
    dgamma = (dout * xhat).sum(axis=0)  # Σ_i dy_i x̂_i
    if not train:
        return dout * gamma * istd, dgamma, dbeta  # fixed affine map at test time
    dx = (gamma * istd / n) * (n * dout - dbeta - xhat * dgamma)
    return dx, dgamma, dbeta


def _check_dout(dout, x: np.ndarray) -> np.ndarray:
    dout = as_float_array(dout, "dout")
    if dout.shape != x.shape:
        raise ValueError(f"dout must have the forward input's shape {x.shape}, got {dout.shape}")
    return dout


def _channels_last(x: np.ndarray) -> np.ndarray:
    """(N, C, *S) -> (N·ΠS, C): every spatial position of every sample is one 'row' of channel c."""
    return np.moveaxis(x, 1, -1).reshape(-1, x.shape[1])


def _channels_first(flat: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Inverse of :func:`_channels_last` for an input of ``shape`` (N, C, *S)."""
    n, c, *spatial = shape
    return np.moveaxis(flat.reshape(n, *spatial, c), -1, 1)


def spatial_batchnorm_forward(
    x,
    gamma,
    beta,
    running_mean: np.ndarray | None = None,
    running_var: np.ndarray | None = None,
    *,
    train: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> tuple[np.ndarray, tuple]:
    """Batch norm over C for x (N, C, H, W) (or (N, C, L)): statistics over N, H, W per channel.

    Reshapes to (N·H·W, C), calls :func:`batchnorm_forward`, and reshapes back, so μ, σ², γ, β
    have shape (C,) — the slides' 1 × C × 1 × 1.
    """
    x = as_float_array(x, "x", ndim=(3, 4))
    out, cache = batchnorm_forward(
        _channels_last(x), gamma, beta, running_mean, running_var, train=train, momentum=momentum, eps=eps
    )
    return _channels_first(out, x.shape), (cache, x.shape)


def spatial_batchnorm_backward(dout, cache, *, simplified: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward of :func:`spatial_batchnorm_forward`: the (N·H·W, C) backward, reshaped back."""
    inner, shape = cache
    dout = as_float_array(dout, "dout")
    if dout.shape != shape:
        raise ValueError(f"dout must have the forward input's shape {shape}, got {dout.shape}")
    backward = batchnorm_backward_simplified if simplified else batchnorm_backward
    dx, dgamma, dbeta = backward(_channels_last(dout), inner)
    return _channels_first(dx, shape), dgamma, dbeta
