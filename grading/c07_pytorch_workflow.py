"""Hidden grading cases for exercise 07_pytorch_workflow (never shipped to students).

Other models (dropout, BatchNorm, tanh, classification), seeds and batch sizes than the public
checks, and the traps: a last partial batch of one sample (the mean of batch means is wrong),
a shuffled loader, momentum, training mode left on during evaluation (dropout and BatchNorm
give another loss and BatchNorm's running statistics move), gradients touched during
evaluation, an un-squared norm or biases and BatchNorm's γ in the penalty.  The oracles are the
public module's: written-out updates on autograd gradients, full-batch evaluation, closed forms.
"""

from __future__ import annotations

from dlcourse.autograde.cases.c07_pytorch_workflow import (
    classification_data,
    evaluate_expected,
    fit_expected,
    l2_expected,
    regression_data,
    train_expected,
)
from dlcourse.autograde.spec import Case, Limits

TOPIC = "07_pytorch_workflow"

#: a torch case takes about half a second once the fork server has imported torch
LIMITS = {qid: Limits(cpu_s=20.0, wall_s=60.0, memory_mb=2048, notebook_s=600.0)
          for qid in ("train_one_epoch", "evaluate", "l2_penalty", "fit")}


def cases_train_one_epoch() -> list[Case]:
    X, y = regression_data(9, 4, seed=71)
    Xc, yc = classification_data(11, 3, 3, seed=72)
    Xb, yb = regression_data(14, 2, seed=73)
    drop = "linear:10,relu,dropout:0.3,linear:1"
    bn = "linear:6,batchnorm,tanh,linear:1"
    return [
        Case("9 samples in batches of 4: a last batch of one sample", args=("linear:5,tanh,linear:1", X, y, 4),
             kwargs={"lr": 0.2, "seed": 11},
             expected=train_expected("linear:5,tanh,linear:1", X, y, 4, lr=0.2, seed=11)),
        Case("dropout: the model must be switched to training mode", args=(drop, X, y, 3),
             kwargs={"opt": "adam", "lr": 0.005, "seed": 12},
             expected=train_expected(drop, X, y, 3, "adam", 0.005, seed=12)),
        Case("BatchNorm in training mode: batch statistics and running averages", args=(bn, Xb, yb, 5),
             kwargs={"lr": 0.05, "seed": 13, "momentum": 0.9},
             expected=train_expected(bn, Xb, yb, 5, lr=0.05, seed=13, momentum=0.9)),
        Case("cross-entropy on 3 classes, a shuffled loader", args=("linear:7,relu,linear:3", Xc, yc, 4),
             kwargs={"lr": 0.1, "seed": 14, "loss": "cross_entropy", "shuffle": True},
             expected=train_expected("linear:7,relu,linear:3", Xc, yc, 4, lr=0.1, seed=14, loss="cross_entropy",
                                     shuffle=True)),
        Case("one batch holding the whole set", args=("linear:1", X, y, 64), kwargs={"lr": 0.01, "seed": 15},
             expected=train_expected("linear:1", X, y, 64, lr=0.01, seed=15)),
    ]


def cases_evaluate() -> list[Case]:
    X, y = regression_data(13, 4, seed=81)
    Xc, yc = classification_data(9, 3, 4, seed=82)
    bn = "linear:8,batchnorm,relu,linear:1"
    both = "linear:8,batchnorm,relu,dropout:0.4,linear:1"
    return [
        Case("BatchNorm: evaluation mode uses the running statistics and does not move them", args=(bn, X, y, 4),
             kwargs={"seed": 21}, expected=evaluate_expected(bn, X, y, 4, seed=21)),
        Case("BatchNorm and dropout, batches of 6 (the last holds 1)", args=(both, X, y, 6), kwargs={"seed": 22},
             expected=evaluate_expected(both, X, y, 6, seed=22)),
        Case("cross-entropy on 4 classes, batches of 2", args=("linear:5,tanh,linear:4", Xc, yc, 2),
             kwargs={"seed": 23, "loss": "cross_entropy"},
             expected=evaluate_expected("linear:5,tanh,linear:4", Xc, yc, 2, seed=23, loss="cross_entropy")),
        Case("batches of 1", args=("linear:4,relu,linear:1", X, y, 1), kwargs={"seed": 24},
             expected=evaluate_expected("linear:4,relu,linear:1", X, y, 1, seed=24)),
    ]


def cases_l2_penalty() -> list[Case]:
    bn = "linear:6,batchnorm,relu,linear:2"
    return [
        Case("BatchNorm's gamma and beta are not penalised", args=(bn, 4, 0.5), kwargs={"seed": 31},
             expected=l2_expected(bn, 4, 0.5, seed=31)),
        Case("one Linear layer, alpha 2", args=("linear:3", 5, 2.0), kwargs={"seed": 32},
             expected=l2_expected("linear:3", 5, 2.0, seed=32)),
        Case("alpha 0: a zero penalty that still has a graph", args=("linear:4,relu,linear:1", 2, 0.0),
             kwargs={"seed": 33}, expected=l2_expected("linear:4,relu,linear:1", 2, 0.0, seed=33)),
    ]


def cases_fit() -> list[Case]:
    X, y = regression_data(11, 3, seed=91)
    Xv, yv = regression_data(5, 3, seed=92)
    drop = "linear:8,relu,dropout:0.2,linear:1"
    return [
        Case("4 epochs of Adam, StepLR every 2 epochs (gamma 0.1), dropout", args=(drop, X, y, Xv, yv, 4, 4),
             kwargs={"opt": "adam", "lr": 0.01, "step_size": 2, "gamma": 0.1, "seed": 41},
             expected=fit_expected(drop, X, y, Xv, yv, 4, 4, opt="adam", lr=0.01, step_size=2, gamma=0.1, seed=41)),
        Case("1 epoch, batches of 3", args=("linear:4,tanh,linear:1", X, y, Xv, yv, 3, 1),
             kwargs={"lr": 0.05, "seed": 42},
             expected=fit_expected("linear:4,tanh,linear:1", X, y, Xv, yv, 3, 1, lr=0.05, seed=42)),
    ]
