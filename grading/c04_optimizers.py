"""Hidden grading cases for exercise 04_optimizers (never shipped to students).

Other shapes (matrices, 1-element vectors), seeds, hyper-parameters and edge cases than the
public checks; the same oracle: torch.optim in float64, step by step on torch's own
trajectory, and whole trajectories on quadratics with torch.autograd gradients; the 1cycle
schedule from torch.optim.lr_scheduler.OneCycleLR.
"""

from __future__ import annotations

import numpy as np

from dlcourse.autograde.cases.c04_optimizers import (
    gradients,
    spd,
    torch_one_cycle,
    torch_quadratic,
    torch_trajectory,
)
from dlcourse.autograde.spec import Case

TOPIC = "04_optimizers"


def cases_momentum_step() -> list[Case]:
    W0, G = np.random.default_rng(40).normal(size=(3, 4)), gradients(8, (3, 4), seed=41)
    heavy = torch_trajectory("SGD", W0, G, lr=0.02, momentum=0.5)
    nest = torch_trajectory("SGD", W0, G, lr=0.3, momentum=0.99, nesterov=True)
    w1, g1 = np.array([2.0]), np.array([[0.0], [0.0]])
    still = torch_trajectory("SGD", w1, g1, lr=1.0, momentum=0.9)
    return [
        Case("a (3, 4) weight matrix, step 8 (lr 0.02, momentum 0.5)",
             args=(heavy[7]["w"], G[7], heavy[7]["momentum_buffer"], 0.02, 0.5),
             expected=(heavy[8]["w"], heavy[8]["momentum_buffer"])),
        Case("Nesterov on a matrix, first step (momentum 0.99)",
             args=(W0, G[0], nest[0]["momentum_buffer"], 0.3, 0.99, True),
             expected=(nest[1]["w"], nest[1]["momentum_buffer"])),
        Case("Nesterov on a matrix, step 6",
             args=(nest[5]["w"], G[5], nest[5]["momentum_buffer"], 0.3), kwargs={"momentum": 0.99, "nesterov": True},
             expected=(nest[6]["w"], nest[6]["momentum_buffer"])),
        Case("zero gradient: w does not move from zero state", args=(w1, g1[0], still[0]["momentum_buffer"], 1.0, 0.9),
             expected=(still[1]["w"], still[1]["momentum_buffer"])),
        Case("momentum 0 is plain gradient descent", args=(W0, G[2], np.zeros((3, 4)), 0.1, 0.0),
             expected=(W0 - 0.1 * G[2], G[2])),
    ]


def cases_adagrad_step() -> list[Case]:
    W0, G = np.random.default_rng(45).normal(size=(2, 4)), gradients(12, (2, 4), seed=46, scale=2.0)
    traj = torch_trajectory("Adagrad", W0, G, lr=0.5, eps=1e-6)
    dflt = torch_trajectory("Adagrad", np.array([0.3]), np.array([[4.0], [-4.0], [1e-3]]))
    tiny = np.array([1e-11, -3e-10, 0.0])  # of the order of eps: where eps goes matters, and 0/(0 + eps) = 0
    tiny_traj = torch_trajectory("Adagrad", np.ones(3), tiny[None, :], lr=1.0)
    return [
        Case("a (2, 4) matrix, step 12 (lr 0.5, eps 1e-6)", args=(traj[11]["w"], G[11], traj[11]["sum"], 0.5, 1e-6),
             expected=(traj[12]["w"], traj[12]["sum"])),
        Case("a (2, 4) matrix, first step, keyword hyper-parameters", args=(W0, G[0], traj[0]["sum"]),
             kwargs={"lr": 0.5, "eps": 1e-6}, expected=(traj[1]["w"], traj[1]["sum"])),
        Case("one parameter, defaults, step 3 after a large and an opposite gradient",
             args=(dflt[2]["w"], np.array([1e-3]), dflt[2]["sum"]), expected=(dflt[3]["w"], dflt[3]["sum"])),
        Case("gradients of the size of eps (and an exact 0)", args=(np.ones(3), tiny, np.zeros(3)), kwargs={"lr": 1.0},
             expected=(tiny_traj[1]["w"], tiny_traj[1]["sum"]), atol=1e-30,
             hint="torch adds eps to the square root of the sum, not under it."),
    ]


def cases_adadelta_step() -> list[Case]:
    W0, G = np.random.default_rng(55).normal(size=(3, 3)), gradients(15, (3, 3), seed=56, scale=0.5)
    traj = torch_trajectory("Adadelta", W0, G, lr=0.5, rho=0.95, eps=1e-4)
    dflt = torch_trajectory("Adadelta", np.zeros(2), gradients(4, (2,), seed=57, scale=100.0))
    G_small = gradients(3, (4,), seed=58, scale=1e-3)
    small = torch_trajectory("Adadelta", np.ones(4), G_small)
    pause = torch_trajectory("Adadelta", W0, np.concatenate([G[:5], np.zeros((1, 3, 3))]), lr=0.5, rho=0.95, eps=1e-4)
    return [
        Case("a (3, 3) matrix, step 15 (lr 0.5, rho 0.95, eps 1e-4)",
             args=(traj[14]["w"], G[14], traj[14]["square_avg"], traj[14]["acc_delta"]),
             kwargs={"lr": 0.5, "rho": 0.95, "eps": 1e-4},
             expected=(traj[15]["w"], traj[15]["square_avg"], traj[15]["acc_delta"])),
        Case("a (3, 3) matrix, first step, positional hyper-parameters",
             args=(W0, G[0], traj[0]["square_avg"], traj[0]["acc_delta"], 0.5, 0.95, 1e-4),
             expected=(traj[1]["w"], traj[1]["square_avg"], traj[1]["acc_delta"])),
        Case("large gradients (scale 100), defaults, step 4: the step size does not follow the gradient's",
             args=(dflt[3]["w"], gradients(4, (2,), seed=57, scale=100.0)[3], dflt[3]["square_avg"], dflt[3]["acc_delta"]),
             expected=(dflt[4]["w"], dflt[4]["square_avg"], dflt[4]["acc_delta"])),
        Case("gradients of the size of sqrt(eps), step 3: eps is under both square roots",
             args=(small[2]["w"], G_small[2], small[2]["square_avg"], small[2]["acc_delta"]),
             expected=(small[3]["w"], small[3]["square_avg"], small[3]["acc_delta"]), atol=1e-20,
             hint="In AdaDelta eps sits inside both square roots."),
        Case("a zero gradient after 5 steps: nothing moves, both averages decay",
             args=(traj[5]["w"], np.zeros((3, 3)), traj[5]["square_avg"], traj[5]["acc_delta"], 0.5, 0.95, 1e-4),
             expected=(pause[6]["w"], pause[6]["square_avg"], pause[6]["acc_delta"])),
    ]


def cases_one_cycle_lr() -> list[Case]:
    runs = [
        ("100 steps, max_lr 2, defaults", (100, 2.0), {}),
        ("7 steps, pct_start 0.5: the peak falls between two steps", (7, 0.3), {"pct_start": 0.5}),
        ("3 steps, pct_start 0.1: no warm-up step at all", (3, 1.0), {"pct_start": 0.1}),
        ("div_factor 1 (starts at max_lr), final_div_factor 100, linear", (50, 0.05),
         {"div_factor": 1.0, "final_div_factor": 100.0, "anneal_strategy": "linear"}),
        ("1000 steps, pct_start 0.25, div_factor 10", (1000, 0.4), {"pct_start": 0.25, "div_factor": 10.0}),
    ]
    return [Case(name, args=args, kwargs=kw, expected=torch_one_cycle(*args, **kw)) for name, args, kw in runs]


def cases_rmsprop_step() -> list[Case]:
    W0, G = np.random.default_rng(50).normal(size=(2, 3)), gradients(10, (2, 3), seed=51, scale=3.0)
    traj = torch_trajectory("RMSprop", W0, G, lr=1e-3, alpha=0.9, eps=1e-6)
    tiny = np.array([1e-9, -1e-7, 0.0])  # eps matters: g/(sqrt(sq_avg) + eps) is far from sign(g)
    tiny_traj = torch_trajectory("RMSprop", np.zeros(3), tiny[None, :], lr=0.1, eps=1e-8)
    return [
        Case("a (2, 3) matrix, step 10 (lr 1e-3, alpha 0.9, eps 1e-6)",
             args=(traj[9]["w"], G[9], traj[9]["square_avg"]), kwargs={"lr": 1e-3, "alpha": 0.9, "eps": 1e-6},
             expected=(traj[10]["w"], traj[10]["square_avg"])),
        Case("a (2, 3) matrix, first step, positional hyper-parameters",
             args=(W0, G[0], traj[0]["square_avg"], 1e-3, 0.9, 1e-6),
             expected=(traj[1]["w"], traj[1]["square_avg"])),
        Case("tiny gradients (and an exact 0): eps outside the square root",
             args=(np.zeros(3), tiny, np.zeros(3)), kwargs={"lr": 0.1},
             expected=(tiny_traj[1]["w"], tiny_traj[1]["square_avg"]), rtol=1e-6, atol=1e-12),
    ]


def cases_adam_step() -> list[Case]:
    W0, G = np.random.default_rng(60).normal(size=(3, 2)), gradients(30, (3, 2), seed=61, scale=0.1)
    traj = torch_trajectory("Adam", W0, G, lr=3e-4, betas=(0.8, 0.99), eps=1e-6)
    dflt = torch_trajectory("Adam", np.array([0.5]), np.array([[2.0], [-1.0], [0.5]]))
    G_tiny = gradients(3, (4,), seed=62, scale=1e-8)  # gradients of the order of eps: where eps goes matters
    tiny = torch_trajectory("Adam", np.ones(4), G_tiny, lr=0.01)
    return [
        Case("a (3, 2) matrix, step t = 30 (lr 3e-4, betas (0.8, 0.99), eps 1e-6)",
             args=(traj[29]["w"], G[29], traj[29]["exp_avg"], traj[29]["exp_avg_sq"], 30),
             kwargs={"lr": 3e-4, "betas": (0.8, 0.99), "eps": 1e-6},
             expected=(traj[30]["w"], traj[30]["exp_avg"], traj[30]["exp_avg_sq"])),
        Case("a (3, 2) matrix, first step t = 1",
             args=(W0, G[0], traj[0]["exp_avg"], traj[0]["exp_avg_sq"], 1, 3e-4, (0.8, 0.99), 1e-6),
             expected=(traj[1]["w"], traj[1]["exp_avg"], traj[1]["exp_avg_sq"])),
        Case("one parameter, all defaults, step t = 3",
             args=(dflt[2]["w"], np.array([0.5]), dflt[2]["exp_avg"], dflt[2]["exp_avg_sq"], 3),
             expected=(dflt[3]["w"], dflt[3]["exp_avg"], dflt[3]["exp_avg_sq"])),
        Case("gradients of size 1e-8 ≈ eps, step t = 3: eps is added to sqrt(v̂), not under the root",
             args=(tiny[2]["w"], G_tiny[2], tiny[2]["exp_avg"], tiny[2]["exp_avg_sq"], 3), kwargs={"lr": 0.01},
             expected=(tiny[3]["w"], tiny[3]["exp_avg"], tiny[3]["exp_avg_sq"]), atol=1e-30),
    ]


def cases_optimize_quadratic() -> list[Case]:
    A, b = spd(5, seed=70, cond=50.0)
    w0 = np.random.default_rng(71).normal(size=5) * 3
    A1, b1 = np.array([[2.0]]), np.array([4.0])  # 1-D: minimum at w = 2
    runs = [("sgd", 0.03, 30), ("momentum", 0.01, 40), ("nesterov", 0.01, 40), ("adagrad", 1.0, 30),
            ("rmsprop", 0.05, 30), ("adadelta", 1.0, 40), ("adam", 0.2, 50)]
    cases = [Case(f"{method}: {steps} steps on a 5-D quadratic, condition number 50 (lr {lr})",
                  args=(A, b, w0, method, steps, lr), expected=torch_quadratic(A, b, w0, method, steps, lr))
             for method, lr, steps in runs]
    cases += [
        Case("nesterov: 1-D quadratic, 15 steps", args=(A1, b1, np.array([-1.0]), "nesterov", 15, 0.1),
             expected=torch_quadratic(A1, b1, np.array([-1.0]), "nesterov", 15, 0.1)),
        Case("zero steps: just w0, shape (1, D)", args=(A, b, w0, "adam", 0, 0.1),
             expected=torch_quadratic(A, b, w0, "adam", 0, 0.1)),
    ]
    return cases
