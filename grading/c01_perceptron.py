"""Hidden grading cases for exercise 01_perceptron (never shipped to students).

Other shapes, seeds and edge cases than the public checks; same oracle (the rule written out
loop by loop in the public module, independent of dlcourse.models.perceptron).
"""

from __future__ import annotations

import numpy as np

from dlcourse.autograde.cases.c01_perceptron import (
    oracle_mlp,
    oracle_predict,
    oracle_train,
    oracle_update,
    separable,
)
from dlcourse.autograde.spec import Case

TOPIC = "01_perceptron"


def cases_perceptron_predict() -> list[Case]:
    rng = np.random.default_rng(101)
    X = rng.normal(size=(40, 5))
    w, b = rng.normal(size=5), 0.3
    Xz = np.zeros((3, 4))  # every score is exactly b = 0: all on the boundary
    X1 = np.array([[3.0]])  # one sample, one feature
    return [
        Case("40 points in 5-D", args=(X, w, b), expected=oracle_predict(X, w, b)),
        Case("all points on the boundary", args=(Xz, np.ones(4), 0.0), expected=oracle_predict(Xz, np.ones(4), 0.0)),
        Case("a single sample with negative score", args=(X1, np.array([-1.0]), 2.0),
             expected=oracle_predict(X1, np.array([-1.0]), 2.0)),
    ]


def cases_perceptron_update() -> list[Case]:
    rng = np.random.default_rng(202)
    w, x = rng.normal(size=6), rng.normal(size=6)
    b = 0.25
    y = -1 if x @ w + b > 0 else 1  # the label that makes this a mistake
    return [
        Case("6-D mistake with y = −1 or +1, lr = 0.3", args=(w, b, x, y, 0.3), expected=oracle_update(w, b, x, y, 0.3)),
        Case("6-D correct prediction, lr = 2", args=(w, b, x, -y, 2.0), expected=oracle_update(w, b, x, -y, 2.0)),
        Case("default lr = 1 (keyword omitted)", args=(np.array([1.0, 1.0]), -3.0, np.array([1.0, 1.0]), 1),
             expected=oracle_update(np.array([1.0, 1.0]), -3.0, np.array([1.0, 1.0]), 1, 1.0)),
    ]


def cases_train_perceptron() -> list[Case]:
    X3, y3 = separable(50, 3, seed=7, margin=0.05)
    X_xor = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y_xor = np.array([-1, 1, 1, -1])  # not linearly separable: it never converges
    X2, y2 = separable(30, 2, seed=1, margin=0.02)
    return [
        Case("50 separable points in 3-D, lr = 1", args=(X3, y3), kwargs={"lr": 1.0, "max_epochs": 200},
             expected=oracle_train(X3, y3, 1.0, 200)),
        Case("XOR: stops at max_epochs = 6 without converging", args=(X_xor, y_xor), kwargs={"lr": 0.1, "max_epochs": 6},
             expected=oracle_train(X_xor, y_xor, 0.1, 6)),
        Case("a small margin: 19 epochs", args=(X2, y2), kwargs={"lr": 0.5, "max_epochs": 100},
             expected=oracle_train(X2, y2, 0.5, 100)),
    ]


def cases_xor_mlp_predict() -> list[Case]:
    rng = np.random.default_rng(303)
    X, W1, b1, w2 = rng.normal(size=(25, 5)), rng.normal(size=(7, 5)), rng.normal(size=7), rng.normal(size=7)
    X1 = rng.normal(size=(1, 2))
    Xn = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    W1n, b1n = np.array([[1.0, 1.0], [1.0, 1.0]]), np.array([-1.5, -0.5])  # h1 = AND, h2 = OR
    w2n, b2n = np.array([-1.0, 1.0]), -1.0  # ŷ = OR and not AND = XOR, another construction
    Xz = np.zeros((3, 4))  # every hidden score is b1 = 0: ties decided by sign(0) = +1
    Wz, w2z = rng.normal(size=(3, 4)), np.array([1.0, -1.0, -1.0])
    return [
        Case("25 points in 5-D, 7 hidden units", args=(X, W1, b1, w2, -0.2), expected=oracle_mlp(X, W1, b1, w2, -0.2)),
        Case("one sample, one hidden unit", args=(X1, np.array([[2.0, -1.0]]), np.array([0.5]), np.array([-1.0]), 0.5),
             expected=oracle_mlp(X1, np.array([[2.0, -1.0]]), np.array([0.5]), np.array([-1.0]), 0.5)),
        Case("XOR from AND and OR", args=(Xn, W1n, b1n, w2n, b2n), expected=oracle_mlp(Xn, W1n, b1n, w2n, b2n)),
        Case("all-zero inputs with zero biases", args=(Xz, Wz, np.zeros(3), w2z, 0.0),
             expected=oracle_mlp(Xz, Wz, np.zeros(3), w2z, 0.0)),
    ]
