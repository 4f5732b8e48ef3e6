"""Second-order and quasi-Newton minimisers on a flat parameter vector θ ∈ Rⁿ.

The PyTorch lecture notes (see docs/references.md) motivate them with the quadratic model

    J(θ) ≈ J(θ₀) + (θ − θ₀)ᵀ g + ½ (θ − θ₀)ᵀ H (θ − θ₀),   g = ∇J(θ₀),  H = ∇²J(θ₀),

whose stationary point solves H (θ − θ₀) = −g.  Each function takes plain callables
(``f(θ) -> float``, ``grad(θ) -> (n,)``, ``hess(θ) -> (n, n)``) and returns a
:class:`SecondOrderPath` with every iterate, so a notebook can draw the path next to the
first-order optimizers of :mod:`dlcourse.optim` (which work on ``Parameter`` lists instead).

* :func:`newton` — θ ← θ − H⁻¹ g.  It jumps to the stationary point of the local quadratic,
  whatever its kind: from near a saddle it converges *to the saddle* (Dauphin et al., 2014),
  which is why the lecture notes advise it only to find critical points.
* :func:`conjugate_gradient` — linear CG (Hestenes & Stiefel, 1952) for H θ = b with H
  symmetric positive definite: exact in at most n steps, using only products H·p.
* :func:`nonlinear_cg` — Polak–Ribière (PR+) conjugate directions with a backtracking
  line search refined towards the minimum along each direction, for a general J.
* :func:`lbfgs` — limited-memory BFGS (Nocedal, 1980; Liu & Nocedal, 1989): H⁻¹ g approximated
  from the last ``history`` pairs (s, y) = (Δθ, Δg) by the two-loop recursion.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dlcourse.validation import as_float_array, check_count, check_positive, check_probability

__all__ = ["SecondOrderPath", "newton", "conjugate_gradient", "nonlinear_cg", "lbfgs"]

Vector = Callable[[np.ndarray], np.ndarray]


@dataclass
class SecondOrderPath:
    """The iterates θ_0 … θ_K (rows of ``thetas``), their values f(θ_k) and whether ‖∇J‖ ≤ tol."""

    thetas: np.ndarray
    values: np.ndarray
    converged: bool

    @property
    def theta(self) -> np.ndarray:
        """The last iterate."""
        return self.thetas[-1]

    @property
    def iterations(self) -> int:
        """The number of steps taken (K)."""
        return len(self.thetas) - 1


def _start(x0) -> np.ndarray:
    x = as_float_array(x0, "x0", ndim=1).copy()
    if x.size == 0:
        raise ValueError("x0 must hold at least one parameter, got an empty vector")
    return x


def _vector(g, n: int, name: str) -> np.ndarray:
    g = np.asarray(g, dtype=float).reshape(-1)
    if g.shape != (n,):
        raise ValueError(f"{name} must return a vector of shape ({n},), got shape {g.shape}")
    return g


def _path(thetas: list[np.ndarray], f: Callable | None, converged) -> SecondOrderPath:
    arr = np.array(thetas)
    values = np.array([float(f(t)) for t in arr]) if f is not None else np.full(len(arr), np.nan)
    return SecondOrderPath(arr, values, bool(converged))


def newton(grad: Vector, hess: Callable[[np.ndarray], np.ndarray], x0, *, steps: int = 50, tol: float = 1e-10,
           damping: float = 0.0, f: Callable | None = None) -> SecondOrderPath:
    """Newton's method: solve (H + λI) d = −g, then θ ← θ + d.

    Parameters
    ----------
    grad, hess : ∇J(θ) (n,) and ∇²J(θ) (n, n).
    x0 : the start θ_0 (n,).
    steps : the most Newton steps; stops earlier once ‖g‖ ≤ ``tol``.
    damping : λ ≥ 0 (Levenberg's damping); λ = 0 is the pure Newton step θ − H⁻¹ g.
    f : J(θ), only to record the values along the path (NaN without it).

    Pure Newton needs no learning rate and converges quadratically near a non-degenerate
    stationary point — a minimum, a maximum or a saddle alike, since it only asks ∇J = 0.
    A singular H + λI raises ``numpy.linalg.LinAlgError``.
    """
    steps = check_count(steps, "steps", allow_zero=True)
    tol = check_positive(tol, "tol", allow_zero=True)
    damping = check_positive(damping, "damping", allow_zero=True)
    x = _start(x0)
    n = x.size
    thetas = [x.copy()]
    g = _vector(grad(x), n, "grad")
    for _ in range(steps):
        if np.linalg.norm(g) <= tol:
            break
        H = np.asarray(hess(x), dtype=float)
        if H.shape != (n, n):
            raise ValueError(f"hess must return a matrix of shape ({n}, {n}), got shape {H.shape}")
        d = np.linalg.solve(H + damping * np.eye(n), -g)  # (H + λI) d = −g
        x = x + d
        thetas.append(x.copy())
        g = _vector(grad(x), n, "grad")
    return _path(thetas, f, np.linalg.norm(g) <= tol)


def conjugate_gradient(A, b, x0=None, *, steps: int | None = None, tol: float = 1e-12) -> SecondOrderPath:
    """Linear conjugate gradient for A θ = b (A symmetric positive definite), i.e. min ½θᵀAθ − bᵀθ.

    r_0 = b − A θ_0, p_0 = r_0;  α_k = r_kᵀr_k / p_kᵀAp_k;  θ_{k+1} = θ_k + α_k p_k;
    r_{k+1} = r_k − α_k A p_k;  β_k = r_{k+1}ᵀr_{k+1} / r_kᵀr_k;  p_{k+1} = r_{k+1} + β_k p_k.

    The directions are A-conjugate (p_iᵀ A p_j = 0, i ≠ j), so in exact arithmetic θ_n solves
    the system: at most n steps (``steps`` defaults to n).  ``A`` is a matrix or a callable
    θ ↦ Aθ.  Stops when ‖r‖ ≤ ``tol``·‖b‖.  The recorded values are ½θᵀAθ − bᵀθ.
    """
    b = as_float_array(b, "b", ndim=1)
    n = b.size
    if callable(A):
        matvec = A
    else:
        M = as_float_array(A, "A", ndim=2)
        if M.shape != (n, n):
            raise ValueError(f"A must be a square matrix of shape ({n}, {n}) to match b, got shape {M.shape}")
        matvec = M.__matmul__
    x = np.zeros(n) if x0 is None else _start(x0)
    if x.size != n:
        raise ValueError(f"x0 must have {n} entries to match b, got {x.size}")
    steps = n if steps is None else check_count(steps, "steps", allow_zero=True)
    tol = check_positive(tol, "tol", allow_zero=True)
    r = b - _vector(matvec(x), n, "A")
    p = r.copy()
    rr = float(r @ r)
    thetas = [x.copy()]
    stop = tol * max(float(np.linalg.norm(b)), 1e-300)
    for _ in range(steps):
        if np.sqrt(rr) <= stop:
            break
        Ap = _vector(matvec(p), n, "A")
        pAp = float(p @ Ap)
        if pAp <= 0:
            raise ValueError(f"A is not positive definite: pᵀAp = {pAp:.3g} along a search direction")
        alpha = rr / pAp
        x = x + alpha * p
        r = r - alpha * Ap
        rr_new = float(r @ r)
        p = r + (rr_new / rr) * p
        rr = rr_new
        thetas.append(x.copy())

    def quad(t):
        return 0.5 * float(t @ _vector(matvec(t), n, "A")) - float(b @ t)

    return _path(thetas, quad, np.sqrt(rr) <= stop)


def _backtrack(f: Callable, x: np.ndarray, fx: float, g: np.ndarray, d: np.ndarray, step: float,
               c1: float, shrink: float, max_halvings: int = 60) -> float:
    """The first t = step·shrinkᵏ with the Armijo condition f(x + t d) ≤ f(x) + c₁ t gᵀd."""
    slope = float(g @ d)
    t = step
    for _ in range(max_halvings):
        if float(f(x + t * d)) <= fx + c1 * t * slope:
            return t
        t *= shrink
    return 0.0  # no decrease found: the caller stops


def _line_search(f: Callable, x: np.ndarray, fx: float, g: np.ndarray, d: np.ndarray, step: float,
                 c1: float, shrink: float) -> float:
    """An approximate exact line search: backtrack to the Armijo condition, then, while f keeps
    decreasing, enlarge t by 1/``shrink``, and finish with the minimum of the parabola through the
    last three trial points (CG's conjugacy relies on near-exact minimisation along d)."""
    t = _backtrack(f, x, fx, g, d, step, c1, shrink)
    if t == 0.0:
        return t
    ts, fs = [0.0, t], [fx, float(f(x + t * d))]
    for _ in range(60):
        t_next = ts[-1] / shrink
        f_next = float(f(x + t_next * d))
        if f_next >= fs[-1]:
            ts.append(t_next)
            fs.append(f_next)
            break
        ts.append(t_next)
        fs.append(f_next)
    if len(ts) >= 3:
        (a, b, c), (fa, fb, fc) = ts[-3:], fs[-3:]
        den = (b - a) * (fb - fc) - (b - c) * (fb - fa)
        if den != 0:
            t_par = b - 0.5 * ((b - a) ** 2 * (fb - fc) - (b - c) ** 2 * (fb - fa)) / den
            if min(a, c) < t_par < max(a, c) and float(f(x + t_par * d)) < min(fs):
                return t_par
    i = int(np.argmin(fs[1:])) + 1
    return ts[i]


def nonlinear_cg(f: Callable, grad: Vector, x0, *, steps: int = 500, tol: float = 1e-8, c1: float = 1e-4,
                 shrink: float = 0.5) -> SecondOrderPath:
    """Nonlinear conjugate gradient, Polak–Ribière with restarts (PR+).

    d_0 = −g_0;  θ_{k+1} = θ_k + t_k d_k  (t_k ≈ argmin_t J(θ_k + t d_k): Armijo with c₁, then refined);
    β = max(0, g_{k+1}ᵀ(g_{k+1} − g_k) / g_kᵀg_k);  d_{k+1} = −g_{k+1} + β d_k,
    restarted at −g whenever d is not a descent direction.  On a quadratic with an exact line
    search this is linear CG; here the line search is inexact, so it only tends to the same
    minimiser.  The first trial step is 1/‖g_0‖, then the last accepted step.
    """
    steps = check_count(steps, "steps", allow_zero=True)
    tol = check_positive(tol, "tol", allow_zero=True)
    c1 = check_probability(c1, "c1")
    shrink = check_probability(shrink, "shrink")
    x = _start(x0)
    n = x.size
    fx, g = float(f(x)), _vector(grad(x), n, "grad")
    d = -g
    t0 = 1.0 / max(float(np.linalg.norm(g)), 1e-12)
    thetas = [x.copy()]
    for _ in range(steps):
        if np.linalg.norm(g) <= tol:
            break
        if g @ d >= 0:  # not a descent direction: restart along −g
            d = -g
        t = _line_search(f, x, fx, g, d, t0, c1, shrink)
        if t == 0.0:
            break
        x = x + t * d
        g_new = _vector(grad(x), n, "grad")
        fx = float(f(x))
        beta = max(0.0, float(g_new @ (g_new - g)) / float(g @ g))  # PR+
        d = -g_new + beta * d
        g = g_new
        t0 = t
        thetas.append(x.copy())
    return _path(thetas, f, np.linalg.norm(g) <= tol)


def lbfgs(f: Callable, grad: Vector, x0, *, history: int = 10, steps: int = 500, tol: float = 1e-8,
          c1: float = 1e-4, shrink: float = 0.5) -> SecondOrderPath:
    """Limited-memory BFGS with a backtracking (Armijo) line search.

    The direction d = −H_k g uses the inverse-Hessian estimate H_k built from the last
    ``history`` pairs s_i = θ_{i+1} − θ_i, y_i = g_{i+1} − g_i by the two-loop recursion
    (Nocedal & Wright, 2006, algorithm 7.4), started from H⁰ = (sᵀy / yᵀy) I.  A pair with
    sᵀy ≤ 0 (curvature condition violated) is not stored.  The first trial step is t = 1.
    """
    history = check_count(history, "history")
    steps = check_count(steps, "steps", allow_zero=True)
    tol = check_positive(tol, "tol", allow_zero=True)
    c1 = check_probability(c1, "c1")
    shrink = check_probability(shrink, "shrink")
    x = _start(x0)
    n = x.size
    fx, g = float(f(x)), _vector(grad(x), n, "grad")
    S: list[np.ndarray] = []
    Y: list[np.ndarray] = []
    thetas = [x.copy()]
    for _ in range(steps):
        if np.linalg.norm(g) <= tol:
            break
        q = g.copy()  # two-loop recursion: q ← H_k g
        alphas = []
        for s, y in zip(reversed(S), reversed(Y), strict=True):
            a = float(s @ q) / float(y @ s)
            alphas.append(a)
            q -= a * y
        gamma = float(S[-1] @ Y[-1]) / float(Y[-1] @ Y[-1]) if S else 1.0 / max(float(np.linalg.norm(g)), 1e-12)
        q *= gamma
        for (s, y), a in zip(zip(S, Y, strict=True), reversed(alphas), strict=True):
            b = float(y @ q) / float(y @ s)
            q += (a - b) * s
        d = -q
        if g @ d >= 0:  # safeguard: fall back to steepest descent
            d, S, Y = -g, [], []
        t = _backtrack(f, x, fx, g, d, 1.0, c1, shrink)
        if t == 0.0:
            break
        x_new = x + t * d
        g_new = _vector(grad(x_new), n, "grad")
        s, y = x_new - x, g_new - g
        if float(s @ y) > 1e-12 * float(np.linalg.norm(s)) * float(np.linalg.norm(y)):
            S.append(s)
            Y.append(y)
            if len(S) > history:
                S.pop(0)
                Y.pop(0)
        x, g, fx = x_new, g_new, float(f(x_new))
        thetas.append(x.copy())
    return _path(thetas, f, np.linalg.norm(g) <= tol)
