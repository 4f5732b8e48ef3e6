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
    "perceptron_predict": "One score per row, computed for the whole batch at once; a score of exactly 0 lies on "
                          "the +1 side. The result holds integers, one per sample.",
    "perceptron_update": "First decide whether the sample is a mistake (the boundary counts as one); only then move "
                         "the boundary towards the sample's side, by a step of size lr. Build new arrays rather than "
                         "changing the ones you were given.",
    "train_perceptron": "Whether a sample is a mistake is decided before its update; an epoch without a mistake "
                        "means every sample is on its side, so training stops there.",
    "xor_mlp_predict": "Two layers of perceptrons: each row of W1 is one hidden perceptron looking at x; the output "
                       "perceptron looks at the hidden ±1 values instead of x. The boundary rule holds in both layers.",
}


def _score(x: np.ndarray, w: np.ndarray, b: float) -> float:
    return sum(float(xi) * float(wi) for xi, wi in zip(x, w, strict=True)) + float(b)  # w·x + b, term by term


def oracle_predict(X: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    return np.array([1 if _score(x, w, b) >= 0 else -1 for x in X], dtype=np.int64)


def _sign(score: float) -> int:
    return 1 if score >= 0 else -1  # sign(0) = +1, in every layer


def oracle_mlp(X: np.ndarray, W1: np.ndarray, b1: np.ndarray, w2: np.ndarray, b2: float) -> np.ndarray:
    """ŷ = sign(h·w2 + b2) with h_j = sign(w1_j·x + b1_j), unit by unit."""
    out = []
    for x in X:
        h = np.array([_sign(_score(x, W1[j], b1[j])) for j in range(W1.shape[0])], dtype=float)
        out.append(_sign(_score(h, w2, b2)))
    return np.array(out, dtype=np.int64)


#: hand-set weights of a 2-2-1 threshold network for XOR: h1 = OR, h2 = NAND, ŷ = AND(h1, h2)
XOR_W1 = np.array([[1.0, 1.0], [-1.0, -1.0]])
XOR_B1 = np.array([-0.5, 1.5])
XOR_W2 = np.array([1.0, 1.0])
XOR_B2 = -1.5


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


def cases_xor_mlp_predict() -> list[Case]:
    X_gate = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    rng = np.random.default_rng(11)
    X, W1, b1, w2 = rng.normal(size=(6, 3)), rng.normal(size=(4, 3)), rng.normal(size=4), rng.normal(size=4)
    # the first hidden unit's score is exactly 0 on the first point, the output's on the second
    Xb = np.array([[1.0, -1.0], [2.0, 0.0], [0.0, 3.0]])
    W1b, b1b, w2b, b2b = np.array([[1.0, 1.0], [0.0, 1.0]]), np.array([0.0, -1.0]), np.array([1.0, -1.0]), -2.0
    return [
        Case("XOR with hand-set weights (OR, NAND, then AND)", args=(X_gate, XOR_W1, XOR_B1, XOR_W2, XOR_B2),
             expected=oracle_mlp(X_gate, XOR_W1, XOR_B1, XOR_W2, XOR_B2)),
        Case("6 points in 3-D, 4 hidden units", args=(X, W1, b1, w2, 0.3), expected=oracle_mlp(X, W1, b1, w2, 0.3)),
        Case("scores of exactly 0 in both layers (sign(0) = +1)", args=(Xb, W1b, b1b, w2b, b2b),
             expected=oracle_mlp(Xb, W1b, b1b, w2b, b2b)),
    ]
