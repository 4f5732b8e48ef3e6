"""Rosenblatt's perceptron (Sharif lecture, "Limitations of Perceptrons", see docs/references.md).

The bias is folded into the weights: x̃ = [1, x] and w̃ = [b, w], so the prediction is the step
function ŷ = H(w̃ · x̃) with H(s) = 1 if s ≥ 0 else 0, and the learning rule, applied to one
sample at a time, is

    w̃ ← w̃ + η (y_i − ŷ_i) x̃_i                                       (Rosenblatt, 1958)

which changes w̃ only on a mistake (y_i − ŷ_i = ±1).  Training stops after the first epoch
without a mistake (``converged_`` = True) or after ``max_epochs``.  On linearly separable
data with margin γ and radius R = max‖x̃_i‖ it makes at most (R/γ)² mistakes (Novikoff, 1962);
on non-separable data (XOR) it never stops.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dlcourse.validation import (
    as_float_array,
    as_rng,
    check_count,
    check_finite,
    check_positive,
    check_same_length,
)


@dataclass
class PerceptronHistory:
    """Per-epoch record of a :meth:`Perceptron.fit` run (index e = epoch e + 1).

    ``mistakes[e]``: updates made during epoch e; ``accuracy[e]``: training accuracy of the
    weights at the end of epoch e; ``weights[e]``: those weights w̃ = [b, w] (a copy);
    ``val_accuracy[e]``: accuracy on the validation set, when one was given.
    """

    mistakes: list[int] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    weights: list[np.ndarray] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        return len(self.mistakes)

    def as_dict(self) -> dict:
        return {"mistakes": list(self.mistakes), "accuracy": list(self.accuracy),
                "weights": [w.copy() for w in self.weights], "val_accuracy": list(self.val_accuracy)}


class Perceptron:
    """A single threshold unit trained with the perceptron rule.

    Parameters
    ----------
    lr : the learning rate η (> 0).  From zero initial weights η only rescales w̃, so the
        predictions (and the number of mistakes) do not depend on it; from non-zero initial
        weights it does.
    max_epochs : passes over the data before giving up (non-separable data never converges).
    rng : Generator or seed for the per-epoch shuffling (used only when ``shuffle``).
    shuffle : visit the samples in a fresh random order each epoch (default: in order).

    Labels may be {0, 1} or {−1, +1}; they are mapped to t ∈ {0, 1} internally and
    :meth:`predict` answers in the convention ``fit`` saw.
    """

    def __init__(self, lr: float = 1.0, max_epochs: int = 100, rng=None, shuffle: bool = False) -> None:
        self.lr = check_positive(lr, "lr")
        self.max_epochs = check_count(max_epochs, "max_epochs")
        self.rng = as_rng(rng)
        self.shuffle = bool(shuffle)
        self.w_: np.ndarray | None = None
        self.converged_ = False
        self.n_epochs_ = 0
        self.classes_ = np.array([0, 1])

    # --- helpers ------------------------------------------------------------------------------
    @staticmethod
    def _augment(X: np.ndarray) -> np.ndarray:
        return np.column_stack([np.ones(X.shape[0]), X])  # x̃ = [1, x]: the bias is w̃₀

    def _targets(self, y, n: int) -> np.ndarray:
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.shape != (n,):
            raise ValueError(f"y must have shape ({n},) to match X, got {y.shape}")
        values = set(np.unique(y).tolist())
        if values <= {0, 1}:
            self.classes_ = np.array([0, 1])
            return (y == 1).astype(np.float64)
        if values <= {-1, 1}:
            self.classes_ = np.array([-1, 1])
            return (y == 1).astype(np.float64)
        raise ValueError(f"labels must be in {{0, 1}} or {{-1, +1}}, got values {sorted(values)}")

    def _check_validation(self, validation, n_features: int) -> tuple[np.ndarray, np.ndarray]:
        """(x̃_val, t_val) from ``validation=(X_val, y_val)``, labels in the convention of ``fit``."""
        try:
            X_val, y_val = validation
        except (TypeError, ValueError):
            raise ValueError("validation must be a pair (X_val, y_val)") from None
        X_val = as_float_array(X_val, "X_val", ndim=2)
        if X_val.shape[1] != n_features:
            raise ValueError(f"X_val must have {n_features} features (as X), got shape {X_val.shape}")
        y_val = np.asarray(y_val).reshape(-1)
        check_same_length(X_val, y_val, "X_val", "y_val")
        unknown = sorted(set(np.unique(y_val).tolist()) - set(self.classes_.tolist()))
        if unknown:
            raise ValueError(f"y_val must use the labels of y {self.classes_.tolist()}, got also {unknown}")
        return self._augment(X_val), (y_val == 1).astype(np.float64)

    def _accuracy(self, Xa: np.ndarray, t: np.ndarray) -> float:
        """Accuracy of the current weights on checked, augmented inputs x̃ and targets t ∈ {0, 1}."""
        return float(np.mean((Xa @ self.w_ >= 0) == (t == 1)))  # ŷ = H(w̃ · x̃)

    def _check_X(self, X) -> np.ndarray:
        X = as_float_array(X, "X", ndim=2)
        if self.w_ is not None and X.shape[1] != self.w_.size - 1:
            raise ValueError(f"X must have {self.w_.size - 1} features (as in fit), got shape {X.shape}")
        return X

    # --- public API ---------------------------------------------------------------------------
    @property
    def coef_(self) -> np.ndarray:
        """The weights w (without the bias)."""
        return self._fitted_weights()[1:]

    @property
    def intercept_(self) -> float:
        """The bias b = w̃₀."""
        return float(self._fitted_weights()[0])

    def _fitted_weights(self) -> np.ndarray:
        """w̃ = [b, w], or a RuntimeError before ``fit``."""
        self._check_fitted()
        assert self.w_ is not None  # for the type checker: _check_fitted raised otherwise
        return self.w_

    def _check_fitted(self) -> None:
        if self.w_ is None:
            raise RuntimeError("Perceptron is not fitted: call fit(X, y) first")

    def fit(self, X, y, w0=None, validation: tuple | None = None) -> PerceptronHistory:
        """Train from ``w0`` (w̃ = [b, w], zeros by default); return the per-epoch history.

        ``validation=(X_val, y_val)`` also records the held-out accuracy after each epoch.
        """
        X = as_float_array(X, "X", ndim=2)
        t = self._targets(y, X.shape[0])
        Xa = self._augment(X)
        d = Xa.shape[1]
        w = np.zeros(d) if w0 is None else as_float_array(w0, "w0", ndim=1).copy()
        if w.shape != (d,):
            raise ValueError(f"w0 must have shape ({d},) = [bias, {d - 1} weights], got {w.shape}")
        check_finite(w, "w0")
        if validation is not None:  # checked once here, then scored after every epoch
            Xv, tv = self._check_validation(validation, d - 1)
        self.w_ = w
        history = PerceptronHistory()
        self.converged_ = False
        for epoch in range(self.max_epochs):
            order = self.rng.permutation(X.shape[0]) if self.shuffle else range(X.shape[0])
            mistakes = 0
            for i in order:
                y_hat = 1.0 if Xa[i] @ w >= 0 else 0.0  # ŷ = H(w̃ · x̃)
                if y_hat != t[i]:
                    w += self.lr * (t[i] - y_hat) * Xa[i]  # w̃ ← w̃ + η (y − ŷ) x̃
                    mistakes += 1
            history.mistakes.append(mistakes)
            history.weights.append(w.copy())
            history.accuracy.append(self._accuracy(Xa, t))
            if validation is not None:
                history.val_accuracy.append(self._accuracy(Xv, tv))
            self.n_epochs_ = epoch + 1
            if mistakes == 0:  # a full pass without an update: every sample is classified right
                self.converged_ = True
                break
        self.history_ = history
        return history

    def decision_function(self, X) -> np.ndarray:
        """s = w · x + b for every row (the signed, unnormalised distance to the boundary)."""
        w = self._fitted_weights()
        X = self._check_X(X)
        return X @ w[1:] + w[0]

    def predict(self, X) -> np.ndarray:
        """H(w · x + b), in the label convention seen by ``fit`` ({0, 1} or {−1, +1})."""
        positive = self.decision_function(X) >= 0
        return np.where(positive, self.classes_[1], self.classes_[0])

    def score(self, X, y) -> float:
        """Fraction of rows classified correctly."""
        y = np.asarray(y).reshape(-1)
        pred = self.predict(X)
        if pred.shape != y.shape:
            raise ValueError(f"y must have shape {pred.shape}, got {np.shape(y)}")
        return float(np.mean(pred == y))
