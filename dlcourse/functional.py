"""Pure forward/backward functions, CS231n style: ``forward(...) -> (out, cache)`` and
``backward(dout, cache) -> grads``.  The exercises are phrased against these.  Row-major: a
batch is (N, D).

Each public function validates its arguments (shapes, dtypes, ranges) and then calls a private,
unchecked kernel (``_linear``, ``_batchnorm_train``, ...); the modules in :mod:`dlcourse.nn`
validate their input once at their own boundary and call the same kernels, so every call path
checks its input exactly once.

Dtypes: the output has the dtype of the parameters (``w``, ``gamma``); the input must have that
dtype too — float32 input with float64 weights (or the reverse) raises a TypeError naming both,
as torch does, and integer input is refused rather than cast (see
:func:`dlcourse.validation.as_model_input`).
"""

from __future__ import annotations

import math

import numpy as np

from dlcourse.validation import (
    as_float_array,
    as_model_input,
    as_rng,
    check_positive,
    check_probability,
)

# ---------------------------------------------------------------------------------------------
# Linear (affine) layer
# ---------------------------------------------------------------------------------------------


def _linear(x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    """Unchecked kernel of :func:`linear_forward`: x Wᵀ + b, the bias added in place."""
    out = x @ w.T  # z_n = W x_n for every row n (one GEMM)
    if b is not None:
        out += b  # in place on the fresh GEMM output: no second (N, out) array
    return out


def linear_forward(x, w, b=None) -> tuple[np.ndarray, tuple]:
    """out = x Wᵀ + b, for x (N, in), W (out, in), b (out,) — torch's ``F.linear``.

    ``x`` must have W's floating dtype (the output has it too).
    """
    w = as_float_array(w, "w", ndim=2)
    x = as_model_input(x, w.dtype, "x", where="linear_forward", ndim=2)
    if x.shape[1] != w.shape[1]:
        raise ValueError(
            f"x has {x.shape[1]} features but w expects {w.shape[1]}: x shape {x.shape}, w shape {w.shape} (out, in)"
        )
    if b is not None:
        b = as_model_input(b, w.dtype, "b", where="linear_forward", ndim=1)
        if b.shape[0] != w.shape[0]:
            raise ValueError(f"b must have shape ({w.shape[0]},) to match w {w.shape}, got {b.shape}")
    return _linear(x, w, b), (x, w, b is not None)


def linear_backward(dout, cache) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Given dL/dout (N, out): dx = dout W, dW = doutᵀ x, db = Σ_n dout_n."""
    x, w, has_bias = cache
    dout = as_model_input(dout, w.dtype, "dout", where="linear_backward", ndim=2)
    if dout.shape != (x.shape[0], w.shape[0]):
        raise ValueError(f"dout must have shape {(x.shape[0], w.shape[0])}, got {dout.shape}")
    dx = dout @ w  # (N, out) @ (out, in)
    dw = dout.T @ x  # (out, N) @ (N, in): sums the per-sample outer products
    db = dout.sum(axis=0) if has_bias else None
    return dx, dw, db


# ---------------------------------------------------------------------------------------------
# Regularization: dropout
# ---------------------------------------------------------------------------------------------


def _dropout_scale(x: np.ndarray, p: float, training: bool, rng, inverted: bool) -> np.ndarray | None:
    """Unchecked kernel: the multiplier m/(1 − p) (or m, or 1 − p) in x's dtype; None = identity."""
    if training and p > 0.0:
        # m_i ~ Bernoulli(1 − p), True = unit kept.  Drawn in float64 whatever x's dtype, so a
        # float32 model and its float64 twin drop the same units for the same seed.
        keep = rng.random(x.shape) >= p
        if inverted and p == 1.0:
            return np.zeros_like(x)  # every unit dropped
        scale = keep.astype(x.dtype)
        if inverted:
            scale *= 1.0 / (1.0 - p)  # E[m_i x_i / (1 − p)] = x_i; the Python float keeps x's dtype
        return scale
    if training or inverted:
        return None  # p = 0 (nothing dropped) or inverted dropout at test time: identity
    return np.full_like(x, 1.0 - p)  # standard dropout at test time: E[m_i] x_i = (1 − p) x_i


def dropout_forward(x, p: float = 0.5, training: bool = True, rng=None, *, inverted: bool = True) -> tuple[np.ndarray, tuple]:
    """Dropout with p = probability of *dropping* a unit (torch's convention).

    Inverted (default, torch): at train time ``out = x · m / (1 − p)`` with ``m ~ Bernoulli(1 − p)``,
    so E[out] = x and test time is the identity.  Standard (``inverted=False``, Srivastava et al.
    2014): ``out = x · m`` at train time and ``out = (1 − p) · x`` at test time.
    Returns ``(out, cache)``; ``cache`` holds the multiplier that :func:`dropout_backward` needs.
    The mask and the output keep x's floating dtype (integer x becomes float64).
    """
    x = as_float_array(x, "x")
    p = check_probability(p, "p (dropout probability)", inclusive_high=True)
    scale = _dropout_scale(x, p, bool(training), as_rng(rng), inverted)
    out = x if scale is None else x * scale
    return out, (scale,)


def standard_dropout_forward(x, p: float = 0.5, training: bool = True, rng=None) -> tuple[np.ndarray, tuple]:
    """The non-inverted variant: drop at train time, multiply by (1 − p) at test time."""
    return dropout_forward(x, p, training, rng, inverted=False)


def dropout_backward(dout, cache) -> np.ndarray:
    """dL/dx = dL/dout · (the same mask and scale as the forward pass): out is linear in x."""
    (scale,) = cache
    if scale is None:
        return as_float_array(dout, "dout")
    dout = as_model_input(dout, scale.dtype, "dout", where="dropout_backward")
    if dout.shape != scale.shape:
        raise ValueError(f"dout must have the forward input's shape {scale.shape}, got {dout.shape}")
    return dout * scale


# ---------------------------------------------------------------------------------------------
# Batch normalization
# ---------------------------------------------------------------------------------------------


def _batchnorm_train(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, running_mean, running_var,
                     momentum: float, eps: float, xc: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unchecked, fused kernel of train-mode batch norm on (N, D): returns (y, x − μ_B, r),
    r = 1/√(σ²_B + ε).

    Four passes over (N, D): the mean, x − μ_B (into ``xc`` when a buffer of x's shape and
    dtype is given, so a layer reuses its workspace), Σ(x − μ_B)² as one fused reduction, and
    y = (x − μ_B)·(γ r) + β (one new array).  The variance is computed from the centred values:
    cheaper than ``x.var`` (no second mean) and exact for data far from 0 (no cancellation,
    unlike E[x²] − E[x]²).  x̂ = (x − μ_B)·r is never stored: the backward pass uses x − μ_B.
    """
    n = x.shape[0]
    mu = x.mean(axis=0)  # μ_B = (1/N) Σ_i x_i
    xc = np.subtract(x, mu, out=xc)  # x − μ_B
    var = np.einsum("ij,ij->j", xc, xc)  # Σ_i (x_i − μ_B)², without a (N, D) temporary
    var /= n  # σ²_B, biased: used to normalise
    istd = 1.0 / np.sqrt(var + eps)  # r = 1/√(σ²_B + ε), (D,)
    out = xc * (gamma * istd)
    out += beta  # y = γ x̂ + β = (x − μ_B)·(γ r) + β
    if running_mean is not None:
        running_mean *= 1.0 - momentum
        running_mean += momentum * mu  # μ ← (1 − momentum) μ + momentum μ_B
    if running_var is not None:
        running_var *= 1.0 - momentum
        running_var += (momentum * n / (n - 1)) * var  # σ² ← ... + momentum · N/(N−1) σ²_B (unbiased)
    return out, xc, istd


def _batchnorm_eval(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, running_mean: np.ndarray,
                    running_var: np.ndarray, eps: float, xc: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unchecked kernel of eval-mode batch norm: the fixed affine map y = (x − μ)·(γ r) + β with
    r = 1/√(σ² + ε) from the running statistics; returns (y, x − μ, r)."""
    istd = 1.0 / np.sqrt(running_var + eps)
    xc = np.subtract(x, running_mean, out=xc)
    out = xc * (gamma * istd)
    out += beta
    return out, xc, istd


def _batchnorm_backward_train(dout: np.ndarray, xc: np.ndarray, istd: np.ndarray, gamma: np.ndarray,
                              input_grad: bool = True) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Unchecked kernel of the closed-form train-mode backward (see
    :func:`batchnorm_backward_simplified`), with x̂ = xc·r, r = 1/√(σ²_B + ε):

    dβ = Σ_i dy_i,  dγ = r Σ_i dy_i xc_i,
    dx = γ r · (dy − dβ/N − xc · r² Σ_i dy_i xc_i / N),

    one new (N, D) array and three passes over it; dx is skipped when ``input_grad`` is False.
    """
    n = dout.shape[0]
    dbeta = dout.sum(axis=0)  # Σ_i dy_i
    s = np.einsum("ij,ij->j", dout, xc)  # Σ_i dy_i xc_i, without a (N, D) temporary
    dgamma = s * istd  # Σ_i dy_i x̂_i
    if not input_grad:
        return None, dgamma, dbeta
    dx = xc * (s * istd * istd / n)  # x̂ · Σ dy x̂ / N, written in xc
    dx += dbeta / n  # + Σ dy / N
    np.subtract(dout, dx, out=dx)  # dy − Σ dy / N − x̂ Σ dy x̂ / N
    dx *= gamma * istd  # · γ r
    return dx, dgamma, dbeta


def _batchnorm_backward_eval(dout: np.ndarray, xc: np.ndarray, istd: np.ndarray, gamma: np.ndarray,
                             input_grad: bool = True) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Unchecked kernel of the eval-mode backward: y = γ r (x − μ) + β is a fixed affine map."""
    dbeta = dout.sum(axis=0)
    dgamma = np.einsum("ij,ij->j", dout, xc) * istd  # Σ_i dy_i x̂_i
    return (dout * (gamma * istd) if input_grad else None), dgamma, dbeta


def _check_batchnorm_args(x, gamma, beta, running_mean, running_var, training, momentum, eps, where,
                          ndim: int | tuple[int, ...] = 2):
    """Validate batch norm's arguments once; x is (N, D), or (N, C, ...) with ``ndim=(3, 4)``."""
    gamma = as_float_array(gamma, "gamma", ndim=1)
    x = as_model_input(x, gamma.dtype, "x", where=where, ndim=ndim)
    d = x.shape[1]
    n = x.shape[0] * math.prod(x.shape[2:])  # values per feature (per channel: N·H·W)
    beta = as_model_input(beta, gamma.dtype, "beta", where=where, ndim=1)
    if gamma.shape != (d,) or beta.shape != (d,):
        raise ValueError(f"gamma and beta must have shape ({d},) for x of shape {x.shape}, got {gamma.shape} and {beta.shape}")
    if not 0.0 <= float(momentum) <= 1.0:
        raise ValueError(f"momentum must lie in [0, 1], got {momentum}")
    eps = check_positive(eps, "eps")
    for name, buf in (("running_mean", running_mean), ("running_var", running_var)):
        if buf is not None and (not isinstance(buf, np.ndarray) or buf.shape != (d,)):
            raise ValueError(f"{name} must be an ndarray of shape ({d},), got {getattr(buf, 'shape', type(buf).__name__)}")
        if buf is not None and buf.dtype != gamma.dtype:
            raise TypeError(f"{where}: {name} has dtype {buf.dtype} but gamma has {gamma.dtype}: "
                            f"convert it with {name}.astype(np.{gamma.dtype})")
    if training and n < 2:
        # torch: "Expected more than 1 value per channel when training"; a batch of one has
        # zero variance and its unbiased variance is 0/0.
        raise ValueError(f"batch norm in train mode needs more than 1 value per feature, got x of shape {x.shape}")
    if not training and (running_mean is None or running_var is None):
        raise ValueError("batch norm in eval mode needs running_mean and running_var")
    return x, gamma, beta, float(momentum), eps


def batchnorm_forward(
    x,
    gamma,
    beta,
    running_mean: np.ndarray | None = None,
    running_var: np.ndarray | None = None,
    *,
    training: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> tuple[np.ndarray, tuple]:
    """Batch normalization of x (N, D) per feature (Ioffe & Szegedy, 2015), torch's ``F.batch_norm``.

    Train: x̂ = (x − μ_B) / √(σ²_B + ε) with the batch mean and *biased* variance, y = γ x̂ + β;
    the running statistics (if given) are updated **in place**, torch-style, with momentum as
    the weight of the new batch statistic and the *unbiased* batch variance:
    ``running ← (1 − momentum) · running + momentum · batch``.
    Eval: the running averages replace the batch statistics, so BN is a fixed affine map.
    x, β and the running statistics must have γ's floating dtype; y has it too.
    The cache holds (x − μ, 1/√(σ² + ε), γ, training).
    """
    x, gamma, beta, momentum, eps = _check_batchnorm_args(
        x, gamma, beta, running_mean, running_var, training, momentum, eps, "batchnorm_forward")
    return _batchnorm_checked(x, gamma, beta, running_mean, running_var, training, momentum, eps)


def _batchnorm_checked(x, gamma, beta, running_mean, running_var, training, momentum, eps) -> tuple[np.ndarray, tuple]:
    """The train or eval kernel on arguments :func:`_check_batchnorm_args` accepted; x is (N, D)."""
    if training:
        out, xc, istd = _batchnorm_train(x, gamma, beta, running_mean, running_var, momentum, eps)
    else:
        assert running_mean is not None and running_var is not None  # required in eval mode, checked above
        out, xc, istd = _batchnorm_eval(x, gamma, beta, running_mean, running_var, eps)
    return out, (xc, istd, gamma, bool(training))


def batchnorm_backward(dout, cache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward through the computational graph of :func:`batchnorm_forward`, one node at a time.

    Forward graph (train mode): μ = mean(x) → xc = x − μ → sq = xc² → σ² = mean(sq) →
    s = √(σ² + ε) → r = 1/s → x̂ = xc·r → y = γ x̂ + β.  Returns (dx, dγ, dβ).
    """
    xc, istd, gamma, training = cache
    dout = _check_dout(dout, xc)
    n = xc.shape[0]
    std = 1.0 / istd  # s = √(σ² + ε)
    xhat = xc * istd  # x̂ = xc · r
    dbeta = dout.sum(axis=0)  # y = γ x̂ + β:  ∂L/∂β = Σ_i ∂L/∂y_i
    dgamma = (dout * xhat).sum(axis=0)  # ∂L/∂γ = Σ_i ∂L/∂y_i · x̂_i
    dxhat = dout * gamma  # ∂L/∂x̂ = ∂L/∂y · γ
    if not training:
        return dxhat * istd, dgamma, dbeta  # eval: x̂ = (x − μ)·r with μ, r constants
    dxc = dxhat * istd  # x̂ = xc · r: first path into xc, ∂x̂/∂xc = r
    dr = (dxhat * xc).sum(axis=0)  # x̂ = xc · r: ∂L/∂r = Σ_i ∂L/∂x̂_i · xc_i (r is shared by rows)
    ds = -dr / std**2  # r = 1/s: ∂r/∂s = −1/s²
    dvar = ds * 0.5 / std  # s = √(σ² + ε): ∂s/∂σ² = 1 / (2s)
    dsq = np.broadcast_to(dvar / n, xc.shape)  # σ² = (1/N) Σ_i sq_i: each row gets ∂L/∂σ² / N
    dxc = dxc + 2.0 * xc * dsq  # sq = xc²: second path into xc, ∂sq/∂xc = 2 xc
    dmu = -dxc.sum(axis=0)  # xc = x − μ: ∂L/∂μ = −Σ_i ∂L/∂xc_i
    dx = dxc + dmu / n  # xc = x − μ (direct path) and μ = (1/N) Σ_i x_i
    return dx, dgamma, dbeta


def batchnorm_backward_simplified(dout, cache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Closed form of the same gradient (train mode), from collapsing the graph on paper:

    dx = γ / (N √(σ²_B + ε)) · (N·dy − Σ_i dy_i − x̂ · Σ_i dy_i x̂_i).  Returns (dx, dγ, dβ).
    """
    xc, istd, gamma, training = cache
    dout = _check_dout(dout, xc)
    backward = _batchnorm_backward_train if training else _batchnorm_backward_eval
    dx, dgamma, dbeta = backward(dout, xc, istd, gamma)
    assert dx is not None  # input_grad=True
    return dx, dgamma, dbeta


def _check_dout(dout, x: np.ndarray) -> np.ndarray:
    dout = as_model_input(dout, x.dtype, "dout", where="batch norm backward")
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
    training: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> tuple[np.ndarray, tuple]:
    """Batch norm over C for x (N, C, H, W) (or (N, C, L)): statistics over N, H, W per channel.

    Reshapes to (N·H·W, C), normalises as :func:`batchnorm_forward`, and reshapes back, so μ,
    σ², γ, β have shape (C,) — the slides' 1 × C × 1 × 1.
    """
    x, gamma, beta, momentum, eps = _check_batchnorm_args(
        x, gamma, beta, running_mean, running_var, training, momentum, eps, "spatial_batchnorm_forward",
        ndim=(3, 4))
    out, cache = _batchnorm_checked(_channels_last(x), gamma, beta, running_mean, running_var, training, momentum, eps)
    return _channels_first(out, x.shape), (cache, x.shape)


def spatial_batchnorm_backward(dout, cache, *, simplified: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward of :func:`spatial_batchnorm_forward`: the (N·H·W, C) backward, reshaped back."""
    inner, shape = cache
    dout = as_model_input(dout, inner[0].dtype, "dout", where="spatial_batchnorm_backward")
    if dout.shape != shape:
        raise ValueError(f"dout must have the forward input's shape {shape}, got {dout.shape}")
    backward = batchnorm_backward_simplified if simplified else batchnorm_backward
    dx, dgamma, dbeta = backward(_channels_last(dout), inner)
    return _channels_first(dx, shape), dgamma, dbeta
