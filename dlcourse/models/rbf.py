"""Radial-basis-function network (Broomhead & Lowe, 1988; PyTorch lecture notes, docs/references.md).

φ(x) = (1, exp(−‖x − μ_0‖² / 2σ²), …, exp(−‖x − μ_{K−1}‖² / 2σ²)) and ŷ = wᵀφ(x): a linear
model on fixed Gaussian features ("two phases": place the centres, then fit the weights).
With one kernel per training sample (μ_j = x_j) the network can interpolate any N points —
the lecture notes' example of over-fitting that an L2 penalty cures.

Objective (regression, the notes' L2 loss summed over the samples):
J(w) = Σ_i (y_i − wᵀφ(x_i))² + (α/2)‖w̃‖² + λ₁‖w̃‖₁, where w̃ is w without the bias weight w_0:
the bias is not penalised (the notes: penalising it only biases the fit).  With this scaling the
notes' α = 2 is a moderate penalty for N = 30.

Beyond one kernel per sample (the lecture notes, after Schwenker et al., 2001): fewer centres
placed uniformly (:func:`uniform_centers`), at random samples (:func:`random_centers`) or by
vector quantisation (:func:`kmeans`, seeded by :func:`kmeans_plusplus`, Arthur & Vassilvitskii,
2007); one width σ_j per kernel (:func:`widths_from_centers`); two-phase training (place
centres and widths, then fit w: :meth:`RBFNetwork.fit`) and three-phase training (then move
everything along ∇_w J, ∇_μ J, ∇_σ J: :meth:`RBFNetwork.gradients`,
:meth:`RBFNetwork.fit_three_phase`); classification with a softmax output
(:class:`RBFClassifier`).
"""

from __future__ import annotations

import numpy as np

from dlcourse.regularization import elastic_net_penalty, soft_threshold
from dlcourse.validation import (
    as_float_array,
    as_rng,
    check_count,
    check_positive,
    check_same_length,
)


def rbf_features(X, centers, sigma, bias: bool = True) -> np.ndarray:
    """Φ (N, K[+1]): Φ_ij = exp(−‖x_i − μ_j‖² / (2σ_j²)), preceded by a column of ones if ``bias``.

    ``sigma`` is one width for every kernel or a vector (K,) of widths σ_j.
    """
    centers = _as_2d(centers, "centers")
    return _features(_check_X(X, centers), centers, _check_sigma(sigma, centers.shape[0]), bool(bias))


def _check_sigma(sigma, k: int):
    """A positive float, or a positive vector of one width per kernel (K,), returned as given."""
    if np.ndim(sigma) == 0:
        return check_positive(sigma, "sigma")
    arr = as_float_array(sigma, "sigma", ndim=1)
    if arr.shape != (k,):
        raise ValueError(f"sigma must be one width or one per kernel, shape ({k},), got shape {arr.shape}")
    if not np.all(np.isfinite(arr) & (arr > 0)):
        raise ValueError(f"every width in sigma must be finite and > 0, got min {arr.min()!r}")
    return arr.copy()


def _check_X(X, centers: np.ndarray) -> np.ndarray:
    X = _as_2d(X, "X")
    if X.shape[1] != centers.shape[1]:
        raise ValueError(f"X has {X.shape[1]} features but centers have {centers.shape[1]}: "
                         "both must be points of the same space")
    return X


def _features(X: np.ndarray, centers: np.ndarray, sigma, bias: bool) -> np.ndarray:
    """Φ of :func:`rbf_features` on checked inputs (σ a float or (K,), broadcast over the columns)."""
    sq = ((X[:, None, :] - centers[None, :, :]) ** 2).sum(axis=-1)  # ‖x_i − μ_j‖², (N, K)
    phi = np.exp(-sq / (2.0 * np.asarray(sigma) ** 2))
    return np.hstack([np.ones((X.shape[0], 1)), phi]) if bias else phi


def _as_2d(X, name: str) -> np.ndarray:
    X = as_float_array(X, name, ndim=(1, 2))
    return X[:, None] if X.ndim == 1 else X


class RBFNetwork:
    """Gaussian kernels at ``centers`` (K, d) of width ``sigma`` (one float, or one σ_j per kernel), and a linear output."""

    def __init__(self, centers, sigma=0.1, bias: bool = True) -> None:
        self.centers = _as_2d(centers, "centers")
        self.sigma = _check_sigma(sigma, self.centers.shape[0])
        self.bias = bool(bias)
        self.weights = np.zeros(self.centers.shape[0] + self.bias)

    def features(self, X) -> np.ndarray:
        """Φ(X) (N, K[+1]) on this network's centres (checked once, in ``__init__``)."""
        return _features(_check_X(X, self.centers), self.centers, self.sigma, self.bias)

    def predict(self, X) -> np.ndarray:
        """ŷ = Φ w."""
        return self.features(X) @ self.weights

    @property
    def kernel_weights(self) -> np.ndarray:
        """w̃: the weights of the kernels (the bias weight left out), the penalised ones."""
        return self.weights[1:] if self.bias else self.weights

    def _targets(self, X, y) -> tuple[np.ndarray, np.ndarray]:
        X = _check_X(X, self.centers)
        y = as_float_array(y, "y", ndim=1)
        check_same_length(X, y, "X", "y")
        return _features(X, self.centers, self.sigma, self.bias), y

    def _penalised(self) -> np.ndarray:
        mask = np.ones_like(self.weights)
        if self.bias:
            mask[0] = 0.0  # the bias weight is not regularised
        return mask

    def loss(self, X, y, alpha: float = 0.0, l1: float = 0.0) -> float:
        """J(w) = ‖y − Φw‖² + (α/2)‖w̃‖² + l1‖w̃‖₁."""
        phi, y = self._targets(X, y)
        return self._objective(phi, y, self.weights, alpha, l1)

    def _objective(self, phi: np.ndarray, y: np.ndarray, w: np.ndarray, alpha: float, l1: float) -> float:
        """J(w) on features Φ computed once (the elastic-net penalty skips the bias weight w_0)."""
        penalty, _ = elastic_net_penalty(w[1:] if self.bias else w, l1, alpha)  # l1‖w̃‖₁ + (α/2)‖w̃‖²
        return float(np.sum((y - phi @ w) ** 2)) + penalty

    def fit(self, X, y, alpha: float = 0.0) -> RBFNetwork:
        """Closed-form minimiser of J with l1 = 0 (ridge / Tikhonov).

        ∇J = 2 Φᵀ(Φw − y) + α D w = 0  ⇔  (ΦᵀΦ + (α/2) D) w = Φᵀ y, D = diag(penalised).
        Solved as the least-squares problem [Φ; √(α/2) D] w ≈ [y; 0], which also gives the
        minimum-norm interpolant when α = 0 and ΦᵀΦ is (nearly) singular.
        """
        alpha = check_positive(alpha, "alpha", allow_zero=True)
        phi, y = self._targets(X, y)
        rows = np.sqrt(alpha / 2.0) * np.diag(self._penalised())
        A = np.vstack([phi, rows])
        b = np.concatenate([y, np.zeros(rows.shape[0])])
        self.weights = np.linalg.lstsq(A, b, rcond=None)[0]
        return self

    def fit_gd(
        self, X, y, alpha: float = 0.0, l1: float = 0.0, lr: float | None = None, steps: int = 5000, rng=None
    ) -> list[float]:
        """Full-batch proximal gradient descent (ISTA) on J; returns the loss after every step.

        w ← prox_{ε l1 ‖·‖₁}(w − ε ∇[‖y − Φw‖² + (α/2)‖w̃‖²]); the L2 part of the step is
        weight decay, (1 − εα) w̃ − ε ∇L, and the prox (soft-thresholding) sets weights exactly to
        zero.  Default ε = 1/Lip, Lip = 2 λ_max(ΦᵀΦ) + α.  ``rng`` only draws the start point
        (zeros when None).
        """
        alpha = check_positive(alpha, "alpha", allow_zero=True)
        l1 = check_positive(l1, "l1", allow_zero=True)
        phi, y = self._targets(X, y)
        if lr is None:
            lr = 1.0 / (2.0 * np.linalg.eigvalsh(phi.T @ phi).max() + alpha)
        lr = check_positive(lr, "lr")
        pen = self._penalised()
        steps = check_count(steps, "steps", allow_zero=True)
        w = np.zeros(phi.shape[1]) if rng is None else 0.01 * as_rng(rng).standard_normal(phi.shape[1])
        history = []
        for _ in range(steps):
            grad = 2.0 * phi.T @ (phi @ w - y) + alpha * pen * w  # ∇ of the smooth part
            w = w - lr * grad
            w = np.asarray(np.where(pen > 0, soft_threshold(w, lr * l1), w))  # prox of ε l1‖w̃‖₁
            history.append(self._objective(phi, y, w, alpha, l1))  # Φ is fixed: not recomputed per step
        if history:
            self.weights = np.asarray(w)
        return history



    # --- three-phase training: the gradients with respect to w, μ and σ -------------------------

    def gradients(self, X, y, alpha: float = 0.0) -> dict[str, np.ndarray]:
        """∇J of J = Σ_i (ŷ_i − y_i)² + (α/2)‖w̃‖² with respect to w (K[+1],), μ (K, d) and σ (K,).

        With e_i = ŷ_i − y_i and φ_ij = exp(−‖x_i − μ_j‖² / 2σ_j²) (w_j the weight of kernel j):

            ∂J/∂w_j = 2 Σ_i e_i φ_ij (+ α w_j),
            ∂J/∂μ_j = 2 w_j Σ_i e_i φ_ij (x_i − μ_j) / σ_j²,
            ∂J/∂σ_j = 2 w_j Σ_i e_i φ_ij ‖x_i − μ_j‖² / σ_j³.

        A shared σ gets the per-kernel gradient (K,) too: three-phase training gives each kernel
        its own width.
        """
        alpha = check_positive(alpha, "alpha", allow_zero=True)
        phi, y = self._targets(X, y)
        X = _check_X(X, self.centers)
        e = phi @ self.weights - y  # (N,)
        dw = 2.0 * phi.T @ e + alpha * self._penalised() * self.weights
        k_phi = phi[:, 1:] if self.bias else phi  # (N, K): the kernels only
        wk = self.kernel_weights
        sigma = np.broadcast_to(np.asarray(self.sigma, dtype=float), (self.centers.shape[0],))
        diff = X[:, None, :] - self.centers[None, :, :]  # x_i − μ_j, (N, K, d)
        coef = 2.0 * e[:, None] * k_phi * wk[None, :]  # 2 e_i w_j φ_ij, (N, K)
        dmu = np.einsum("nk,nkd->kd", coef, diff) / sigma[:, None] ** 2
        dsigma = np.einsum("nk,nk->k", coef, (diff**2).sum(-1)) / sigma**3
        return {"w": dw, "mu": dmu, "sigma": dsigma}

    def fit_three_phase(self, X, y, alpha: float = 0.0, lr: float = 1e-3, steps: int = 1000) -> list[float]:
        """Phase 3 (Schwenker et al., 2001): from the current centres, widths and weights (phases
        1 and 2), minimise J over w, μ and σ together with Adam (``lr``) for ``steps`` full-batch
        steps; returns J after every step.  σ becomes a vector (one width per kernel) and is
        kept positive by optimising log σ (∂J/∂log σ = σ ∂J/∂σ).
        """
        from dlcourse.nn import Parameter
        from dlcourse.optim import Adam

        steps = check_count(steps, "steps", allow_zero=True)
        lr = check_positive(lr, "lr")
        X_checked = _check_X(X, self.centers)
        sigma = np.broadcast_to(np.asarray(self.sigma, dtype=float), (self.centers.shape[0],)).copy()
        w, mu, log_s = Parameter(self.weights.copy()), Parameter(self.centers.copy()), Parameter(np.log(sigma))
        opt = Adam([w, mu, log_s], lr=lr)
        history = []
        for _ in range(steps):
            self.weights, self.centers, self.sigma = w.data.copy(), mu.data.copy(), np.exp(log_s.data)
            g = self.gradients(X_checked, y, alpha)
            w.grad, mu.grad, log_s.grad = g["w"], g["mu"], g["sigma"] * self.sigma
            opt.step()
            self.weights, self.centers, self.sigma = w.data.copy(), mu.data.copy(), np.exp(log_s.data)
            history.append(self.loss(X_checked, y, alpha=alpha))
        return history


# --- phase 1: where the centres go, and how wide the kernels are -------------------------------


def uniform_centers(X, k: int) -> np.ndarray:
    """A regular grid over the bounding box of X: m = ⌊k^(1/d)⌋ points per axis (m^d ≤ k centres).

    In 1-D, k points from min(x) to max(x), both included.
    """
    X = _as_2d(X, "X")
    k = check_count(k, "k")
    d = X.shape[1]
    m = max(1, int(np.floor(k ** (1.0 / d) + 1e-9)))
    axes = [np.linspace(X[:, j].min(), X[:, j].max(), m) for j in range(d)]
    return np.stack([a.ravel() for a in np.meshgrid(*axes, indexing="ij")], axis=1)


def random_centers(X, k: int, rng=None) -> np.ndarray:
    """k distinct training samples drawn uniformly without replacement from ``rng``."""
    X = _as_2d(X, "X")
    k = check_count(k, "k", high=X.shape[0])
    return X[as_rng(rng).choice(X.shape[0], size=k, replace=False)].copy()


def kmeans_plusplus(X, k: int, rng=None) -> tuple[np.ndarray, np.ndarray]:
    """k-means++ seeding (Arthur & Vassilvitskii, 2007): returns (centres (k, d), their row indices).

    The first centre is a uniformly drawn sample; each next one is sample i with probability
    D(x_i)² / Σ_j D(x_j)², D the distance to the nearest centre chosen so far.
    """
    X = _as_2d(X, "X")
    k = check_count(k, "k", high=X.shape[0])
    rng = as_rng(rng)
    idx = [int(rng.integers(X.shape[0]))]
    d2 = ((X - X[idx[0]]) ** 2).sum(axis=1)
    for _ in range(1, k):
        total = float(d2.sum())
        i = int(rng.choice(X.shape[0], p=d2 / total)) if total > 0 else int(rng.integers(X.shape[0]))
        idx.append(i)
        d2 = np.minimum(d2, ((X - X[i]) ** 2).sum(axis=1))
    return X[idx].copy(), np.array(idx)


def kmeans(X, k: int | None = None, rng=None, init=None, max_iter: int = 300,
           tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray, float]:
    """Lloyd's algorithm: returns (centres (k, d), labels (N,), inertia Σ_i ‖x_i − μ_{c(i)}‖²).

    Starts from ``init`` (an array (k, d)) or from :func:`kmeans_plusplus` (``k``, ``rng``);
    alternates assigning every sample to its nearest centre and moving every centre to the
    mean of its samples, until no centre moves by more than ``tol`` (squared).  A centre left
    without samples stays where it is.
    """
    X = _as_2d(X, "X")
    if init is None:
        if k is None:
            raise ValueError("kmeans needs k (the number of centres) or init (the starting centres)")
        centers = kmeans_plusplus(X, k, rng)[0]
    else:
        centers = _as_2d(init, "init").copy()
        if centers.shape[1] != X.shape[1]:
            raise ValueError(f"init has {centers.shape[1]} features but X has {X.shape[1]}")
    max_iter = check_count(max_iter, "max_iter")
    for _ in range(max_iter):
        d2 = ((X[:, None, :] - centers[None, :, :]) ** 2).sum(-1)
        labels = np.argmin(d2, axis=1)
        new = centers.copy()
        for j in range(centers.shape[0]):
            members = X[labels == j]
            if len(members):
                new[j] = members.mean(axis=0)
        shift = float(((new - centers) ** 2).sum(axis=1).max())
        centers = new
        if shift <= tol:
            break
    d2 = ((X[:, None, :] - centers[None, :, :]) ** 2).sum(-1)
    labels = np.argmin(d2, axis=1)
    return centers, labels, float(d2[np.arange(len(X)), labels].sum())


def widths_from_centers(centers, neighbours: int = 2, scale: float = 1.0) -> np.ndarray:
    """One width per kernel: σ_j = scale × the mean distance from μ_j to its ``neighbours``
    nearest other centres (the "p-nearest-neighbour" heuristic of Moody & Darken, 1989)."""
    centers = _as_2d(centers, "centers")
    k = centers.shape[0]
    if k < 2:
        raise ValueError(f"widths_from_centers needs at least 2 centres, got {k}")
    neighbours = check_count(neighbours, "neighbours", high=k - 1)
    dist = np.sqrt(((centers[:, None, :] - centers[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(dist, np.inf)
    return check_positive(scale, "scale") * np.sort(dist, axis=1)[:, :neighbours].mean(axis=1)


# --- classification --------------------------------------------------------------------------


class RBFClassifier:
    """RBF features and a softmax output: p(c | x) = softmax(φ(x)ᵀ W)_c, W of shape (K + 1, C).

    The lecture notes' classification heads: a sigmoid with binary cross-entropy for two classes
    (a softmax over C = 2 is the same model), a softmax with cross-entropy for C > 2.  ``fit``
    minimises the mean cross-entropy + (α/2)‖W̃‖² (the bias row not penalised), a smooth convex
    function of W, with L-BFGS (:func:`dlcourse.optim.second_order.lbfgs`).
    """

    def __init__(self, centers, sigma=0.1, n_classes: int = 2) -> None:
        self.net = RBFNetwork(centers, sigma)
        self.n_classes = check_count(n_classes, "n_classes")
        if self.n_classes < 2:
            raise ValueError(f"n_classes must be at least 2, got {self.n_classes}")
        self.W = np.zeros((self.net.centers.shape[0] + 1, self.n_classes))

    def _objective(self, phi: np.ndarray, y: np.ndarray, alpha: float):
        from dlcourse.losses import cross_entropy

        mask = np.ones((phi.shape[1], 1))
        mask[0] = 0.0  # the bias row is not penalised

        def f_grad(w_flat):
            W = w_flat.reshape(phi.shape[1], self.n_classes)
            loss, dlogits = cross_entropy(phi @ W, y)  # mean over the batch, as torch
            reg = 0.5 * alpha * float(np.sum(mask * W**2))
            return float(loss) + reg, (phi.T @ dlogits + alpha * mask * W).ravel()

        return f_grad

    def fit(self, X, y, alpha: float = 1e-3, steps: int = 500, tol: float = 1e-8) -> RBFClassifier:
        """Fit W by L-BFGS from zeros (``steps`` iterations at most, ‖∇‖ ≤ ``tol`` to stop)."""
        from dlcourse.optim.second_order import lbfgs
        from dlcourse.validation import as_labels

        alpha = check_positive(alpha, "alpha", allow_zero=True)
        phi = self.net.features(X)
        y = as_labels(y, "y", n=phi.shape[0], num_classes=self.n_classes)
        f_grad = self._objective(phi, y, alpha)
        path = lbfgs(lambda w: f_grad(w)[0], lambda w: f_grad(w)[1], np.zeros(self.W.size), steps=steps, tol=tol)
        self.W = path.theta.reshape(self.W.shape)
        self.converged = path.converged
        return self

    def predict_proba(self, X) -> np.ndarray:
        """p(c | x) (N, C)."""
        from dlcourse.losses import softmax

        return softmax(self.net.features(X) @ self.W, axis=1)

    def predict(self, X) -> np.ndarray:
        """argmax_c p(c | x) (N,)."""
        return np.argmax(self.net.features(X) @ self.W, axis=1)
