"""Newton, linear and nonlinear conjugate gradient, L-BFGS against scipy.optimize / scipy.sparse."""

import numpy as np
import pytest
import scipy.optimize as so
import scipy.sparse.linalg as sla

from dlcourse.lecture import surfaces
from dlcourse.optim import SGD
from dlcourse.optim import second_order as S

X0 = np.array([-1.5, 2.0])


def _spd(n=6, seed=0):
    rng = np.random.default_rng(seed)
    M = rng.normal(size=(n, n))
    return M @ M.T + 0.5 * np.eye(n), rng.normal(size=n)


def saddle_grad(t):
    return np.array([t[0], -t[1] + t[1] ** 3])


def saddle_hess(t):
    return np.diag([1.0, -1.0 + 3.0 * t[1] ** 2])


def test_newton_solves_a_quadratic_in_one_step():
    A, b = _spd()
    path = S.newton(lambda t: A @ t - b, lambda t: A, np.zeros(6))
    assert path.iterations == 1 and path.converged
    np.testing.assert_allclose(path.theta, np.linalg.solve(A, b), rtol=1e-12)


def test_newton_on_rosenbrock_reaches_scipys_minimum_quadratically():
    path = S.newton(so.rosen_der, so.rosen_hess, X0, f=so.rosen)
    ref = so.minimize(so.rosen, X0, jac=so.rosen_der, hess=so.rosen_hess, method="Newton-CG", tol=1e-12)
    np.testing.assert_allclose(path.theta, ref.x, atol=1e-7)
    err = np.linalg.norm(path.thetas - [1.0, 1.0], axis=1)
    tail = err[err > 1e-14][-3:]
    assert tail[-1] < tail[-2] ** 1.5  # quadratic convergence: the error's exponent grows
    assert np.isclose(path.values[-1], 0.0, atol=1e-20)


def test_newton_is_drawn_to_the_saddle_where_gradient_descent_escapes():
    start = (1.0, 0.3)  # |θ2| < 1/√3: the local quadratic curves down in θ2
    path = S.newton(saddle_grad, saddle_hess, start)
    np.testing.assert_allclose(path.theta, [0.0, 0.0], atol=1e-12)
    eig = np.linalg.eigvalsh(saddle_hess(path.theta))
    assert eig.min() < 0 < eig.max()  # a saddle, not a minimum
    gd = surfaces.trajectory(lambda p: SGD(p, lr=0.1), surfaces.saddle(), start=start, steps=300)
    np.testing.assert_allclose(gd[-1], [0.0, 1.0], atol=1e-6)  # gradient descent finds the minimum
    # from |θ2| > 1/√3 Newton goes to the minimum instead
    np.testing.assert_allclose(S.newton(saddle_grad, saddle_hess, (1.0, 0.8)).theta, [0.0, 1.0], atol=1e-12)


def test_damped_newton_and_errors():
    A, b = _spd()
    path = S.newton(lambda t: A @ t - b, lambda t: A, np.zeros(6), damping=1.0, steps=200)
    np.testing.assert_allclose(path.theta, np.linalg.solve(A, b), atol=1e-8)
    assert path.iterations > 1  # damping shortens the step
    with pytest.raises(ValueError, match="hess must return a matrix of shape"):
        S.newton(lambda t: t, lambda t: np.eye(3), np.ones(2))
    with pytest.raises(ValueError, match="grad must return a vector of shape"):
        S.newton(lambda t: np.ones(3), lambda t: np.eye(2), np.ones(2))
    with pytest.raises(ValueError, match="damping"):
        S.newton(lambda t: t, lambda t: np.eye(2), np.ones(2), damping=-1)


def test_linear_cg_iterates_equal_scipy_and_finish_in_n_steps():
    A, b = _spd(8, seed=1)
    path = S.conjugate_gradient(A, b)
    ref = []
    sla.cg(A, b, x0=np.zeros(8), rtol=1e-14, atol=0.0, callback=lambda xk: ref.append(xk.copy()))
    k = min(len(ref), path.iterations)
    assert k >= 7
    np.testing.assert_allclose(path.thetas[1:k + 1], np.array(ref[:k]), rtol=1e-8, atol=1e-10)
    assert path.iterations <= 8  # n steps at most
    assert np.linalg.norm(A @ path.theta - b) < 1e-9 * np.linalg.norm(b)
    np.testing.assert_allclose(path.theta, np.linalg.solve(A, b), rtol=1e-8)
    assert np.all(np.diff(path.values) < 0)  # each step lowers ½θᵀAθ − bᵀθ


def test_linear_cg_takes_a_matvec_and_refuses_an_indefinite_matrix():
    A, b = _spd(5)
    np.testing.assert_allclose(S.conjugate_gradient(lambda v: A @ v, b).theta, np.linalg.solve(A, b), rtol=1e-8)
    with pytest.raises(ValueError, match="not positive definite"):
        S.conjugate_gradient(-A, b)
    with pytest.raises(ValueError, match="square matrix of shape"):
        S.conjugate_gradient(np.eye(3), b)


@pytest.mark.parametrize("method, ours", [("CG", S.nonlinear_cg), ("L-BFGS-B", S.lbfgs)])
def test_rosenbrock_minimum_equals_scipys(method, ours):
    path = ours(so.rosen, so.rosen_der, X0)
    ref = so.minimize(so.rosen, X0, jac=so.rosen_der, method=method, tol=1e-12)
    assert path.converged
    np.testing.assert_allclose(path.theta, ref.x, atol=1e-5)
    assert path.iterations < 3 * max(ref.nit, 20)  # the same order of work as scipy
    assert np.all(np.diff(path.values) <= 1e-12)  # a descent method


@pytest.mark.parametrize("ours", [S.nonlinear_cg, S.lbfgs])
def test_logistic_regression_minimum_equals_scipys(ours):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 5))
    y = (X @ rng.normal(size=5) + 0.5 * rng.normal(size=200) > 0).astype(float)

    def f(w):
        z = X @ w
        return float(np.mean(np.logaddexp(0, z) - y * z) + 0.005 * w @ w)

    def g(w):
        return X.T @ (1 / (1 + np.exp(-(X @ w))) - y) / len(y) + 0.01 * w

    ref = so.minimize(f, np.zeros(5), jac=g, method="BFGS", tol=1e-12)
    np.testing.assert_allclose(ours(f, g, np.zeros(5), tol=1e-10).theta, ref.x, atol=1e-6)


def test_lbfgs_with_little_memory_still_converges_and_errors_are_named():
    path = S.lbfgs(so.rosen, so.rosen_der, X0, history=1)
    np.testing.assert_allclose(path.theta, [1.0, 1.0], atol=1e-5)
    with pytest.raises(ValueError, match="history"):
        S.lbfgs(so.rosen, so.rosen_der, X0, history=0)
    with pytest.raises(ValueError, match="x0"):
        S.lbfgs(so.rosen, so.rosen_der, np.array([]))
