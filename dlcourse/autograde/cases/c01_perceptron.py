"""Public check cases for exercise 01_perceptron (shipped to students).

Oracle: the perceptron rule written out here, loop by loop (Rosenblatt, 1958; Sharif lecture,
see docs/references.md): predict ŷ = sign(w·x + b) with sign(0) = +1; on a mistake,
y (w·x + b) <= 0, update w ← w + lr·y·x and b ← b + lr·y.  Nothing here calls
dlcourse.models.perceptron.
"""

from __future__ import annotations

import numpy as np

from dlcourse.autograde.spec import Case

TOPIC = "01_perceptron"

HINTS = {
    "perceptron_predict": "ŷ = +1 where X @ w + b >= 0 and −1 elsewhere; return integers of shape (N,).",
    "perceptron_update": "Update only on a mistake, y·(w·x + b) <= 0 (the boundary counts as a mistake): "
                         "w + lr·y·x and b + lr·y. Return new arrays; leave the inputs unchanged.",
    "train_perceptron": "Start from w = 0, b = 0; visit the samples in order each epoch, count the mistakes; "
                        "stop after the first epoch with none, or after max_epochs.",
}


def _score(x: np.ndarray, w: np.ndarray, b: float) -> float:
    return sum(float(xi) * float(wi) for xi, wi in zip(x, w, strict=True)) + float(b)  # w·x + b, term by term


def oracle_predict(X: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    return np.array([1 if _score(x, w, b) >= 0 else -1 for x in X], dtype=np.int64)


def oracle_update(w: np.ndarray, b: float, x: np.ndarray, y: int, lr: float) -> tuple[np.ndarray, float]:
    if y * _score(x, w, b) <= 0:  # a mistake (or on the boundary): move the boundary towards the sample
        return np.array([wi + lr * y * xi for wi, xi in zip(w, x, strict=True)], dtype=float), float(b + lr * y)
    return np.array(w, dtype=float), float(b)


def oracle_train(X: np.ndarray, y: np.ndarray, lr: float, max_epochs: int):
    w, b, mistakes = np.zeros(X.shape[1]), 0.0, []
    for _ in range(max_epochs):
        count = 0
        for x_n, y_n in zip(X, y, strict=True):
            count += int(y_n * _score(x_n, w, b) <= 0)  # a mistake, counted before the update
            w, b = oracle_update(w, b, x_n, int(y_n), lr)
        mistakes.append(count)
        if count == 0:
            break
    return w, b, np.array(mistakes, dtype=np.int64)


def separable(n: int, d: int, seed: int, margin: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """Points on both sides of a random hyperplane, at least ``margin`` away from it."""
    rng = np.random.default_rng(seed)
    w_true, b_true = rng.normal(size=d), rng.normal()
    X = rng.normal(size=(4 * n, d))
    s = (X @ w_true + b_true) / np.linalg.norm(w_true)
    keep = np.abs(s) > margin
    X, s = X[keep][:n], s[keep][:n]
    return X, np.where(s > 0, 1, -1)


def cases_perceptron_predict() -> list[Case]:
    X = np.array([[2.0, 1.0], [-1.0, 3.0], [0.5, -0.5], [1.0, 1.0], [-2.0, 0.0]])
    w, b = np.array([1.0, -2.0]), 1.0  # scores 1, −6, 2.5, 0, −1: the fourth sits on the boundary
    X2, _ = separable(6, 3, seed=1)
    w2, b2 = np.array([0.3, -1.2, 0.8]), -0.1
    return [
        Case("5 points in 2-D, one on the boundary (sign(0) = +1)", args=(X, w, b), expected=oracle_predict(X, w, b)),
        Case("6 points in 3-D", args=(X2, w2, b2), expected=oracle_predict(X2, w2, b2)),
    ]


def cases_perceptron_update() -> list[Case]:
    w, b = np.array([0.5, -1.0]), 0.0
    x_wrong, x_right = np.array([1.0, 2.0]), np.array([2.0, -1.0])  # scores −1.5 and 2
    return [
        Case("misclassified point (y = +1) moves w and b", args=(w, b, x_wrong, 1, 0.1),
             expected=oracle_update(w, b, x_wrong, 1, 0.1)),
        Case("correctly classified point leaves w and b unchanged", args=(w, b, x_right, 1, 0.1),
             expected=oracle_update(w, b, x_right, 1, 0.1)),
        Case("point on the boundary counts as a mistake", args=(np.zeros(2), 0.0, x_right, -1, 1.0),
             expected=oracle_update(np.zeros(2), 0.0, x_right, -1, 1.0)),
    ]


def cases_train_perceptron() -> list[Case]:
    X_and = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y_and = np.array([-1, -1, -1, 1])
    X, y = separable(30, 2, seed=1, margin=0.05)
    return [
        Case("AND gate (separable): converges", args=(X_and, y_and), kwargs={"lr": 1.0, "max_epochs": 50},
             expected=oracle_train(X_and, y_and, 1.0, 50)),
        Case("30 separable points, lr = 0.5 (9 epochs)", args=(X, y), kwargs={"lr": 0.5, "max_epochs": 100},
             expected=oracle_train(X, y, 0.5, 100)),
    ]
