"""Public check cases for exercise 04_optimizers (shipped to students).

Oracle: torch.optim in float64 (imported inside the case functions).  A step function is
checked on torch's own trajectory: torch runs k steps on given gradients, and the student's
function must turn torch's state after k steps into torch's parameters and state after step
k + 1.  ``optimize_quadratic`` is compared with the whole trajectory of the torch optimizer
on f(w) = ½ wᵀAw − bᵀw, its gradients from torch.autograd.  The 1cycle schedule is compared
with its closed form written out here (Smith & Topin, 2019), phase by phase; the hidden cases
use ``torch.optim.lr_scheduler.OneCycleLR``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dlcourse.autograde.spec import Case

TOPIC = "04_optimizers"

HINTS = {
    "momentum_step": "PyTorch's form: buf ← momentum·buf + grad; then w ← w − lr·buf, or with Nesterov "
                     "w ← w − lr·(grad + momentum·buf). Return (w, buf); do not modify the inputs.",
    "adagrad_step": "The accumulator is a running *sum* of squared gradients (it only grows), and each coordinate's "
                    "step is the gradient divided by the square root of that sum plus eps (eps outside the root, as "
                    "in torch). Return the new parameters and the new sum; do not modify the inputs.",
    "adadelta_step": "Two running averages: one of g², one of the squared *updates*. The update is g scaled by "
                     "RMS(previous updates)/RMS(gradients), both RMS with eps under the square root; the update "
                     "average is refreshed with the update just computed, after it was used. lr multiplies the update.",
    "one_cycle_lr": "Two phases: a warm-up from max_lr/div_factor to max_lr that ends at step pct_start·total_steps − 1 "
                    "(a real number), then an annealing down to the initial lr/final_div_factor that ends at step "
                    "total_steps − 1. Inside a phase, pct is how far the step is between the phase's start and end; "
                    "cos annealing follows half a cosine period from the start value to the end value.",
    "rmsprop_step": "sq_avg ← alpha·sq_avg + (1 − alpha)·grad²; w ← w − lr·grad/(sqrt(sq_avg) + eps) "
                    "(eps outside the square root, as in torch). Return (w, sq_avg).",
    "adam_step": "m ← β1·m + (1 − β1)·g; v ← β2·v + (1 − β2)·g²; m̂ = m/(1 − β1^t), v̂ = v/(1 − β2^t); "
                 "w ← w − lr·m̂/(sqrt(v̂) + eps). t is the number of this step (1 for the first). Return (w, m, v).",
    "optimize_quadratic": "Start from zero states; at every step evaluate the gradient of f at the current w, "
                          "call your step function for the method, and stack w0 and every new w into a (steps + 1, D) "
                          "array. Adam needs the number of the step (1 for the first).",
}

#: the hyper-parameters ``optimize_quadratic`` uses with each method (besides lr)
METHODS: dict[str, tuple[str, dict[str, Any]]] = {
    "sgd": ("SGD", {}),
    "momentum": ("SGD", {"momentum": 0.9}),
    "nesterov": ("SGD", {"momentum": 0.9, "nesterov": True}),
    "adagrad": ("Adagrad", {"eps": 1e-10}),
    "rmsprop": ("RMSprop", {"alpha": 0.99, "eps": 1e-8}),
    "adadelta": ("Adadelta", {"rho": 0.9, "eps": 1e-6}),
    "adam": ("Adam", {"betas": (0.9, 0.999), "eps": 1e-8}),
}

#: where each torch optimizer keeps the state the step functions take and return
STATE_KEYS = {"SGD": ("momentum_buffer",), "Adagrad": ("sum",), "RMSprop": ("square_avg",),
              "Adadelta": ("square_avg", "acc_delta"), "Adam": ("exp_avg", "exp_avg_sq")}


def torch_trajectory(optimizer: str, w0: np.ndarray, grads: np.ndarray, **hyper) -> list[dict]:
    """Run ``torch.optim.<optimizer>`` in float64 on the given gradients, one per step.

    Returns one dict per time: index 0 is the start (zero states), index k holds the parameter
    ``"w"``, the state arrays (``STATE_KEYS``) and ``"step"`` after k steps.
    """
    import torch

    p = torch.nn.Parameter(torch.tensor(w0, dtype=torch.float64))
    opt = getattr(torch.optim, optimizer)([p], **hyper)
    zeros = {k: np.zeros_like(w0, dtype=np.float64) for k in STATE_KEYS[optimizer]}
    out = [{"w": np.array(w0, dtype=np.float64), "step": 0, **zeros}]
    for g in grads:
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        state = opt.state[p]
        rec = {"w": p.detach().numpy().copy(), "step": int(state.get("step", len(out)))}
        for k in STATE_KEYS[optimizer]:
            rec[k] = state[k].detach().numpy().copy()
        out.append(rec)
    return out


def torch_quadratic(A: np.ndarray, b: np.ndarray, w0: np.ndarray, method: str, steps: int, lr: float) -> np.ndarray:
    """(steps + 1, D) trajectory of torch's optimizer for ``method`` on ½ wᵀAw − bᵀw (autograd gradients)."""
    import torch

    name, hyper = METHODS[method]
    At, bt = torch.tensor(A, dtype=torch.float64), torch.tensor(b, dtype=torch.float64)
    w = torch.nn.Parameter(torch.tensor(w0, dtype=torch.float64))
    opt = getattr(torch.optim, name)([w], lr=lr, **hyper)
    path = [w.detach().numpy().copy()]
    for _ in range(steps):
        opt.zero_grad()
        loss = 0.5 * w @ (At @ w) - bt @ w
        loss.backward()
        opt.step()
        path.append(w.detach().numpy().copy())
    return np.stack(path)


def spd(d: int, seed: int, cond: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    """A random symmetric positive definite A (eigenvalues from 1 to ``cond``) and a vector b."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    A = (Q * np.geomspace(1.0, cond, d)) @ Q.T
    return (A + A.T) / 2, rng.normal(size=d)


def oracle_one_cycle(total_steps: int, max_lr: float, pct_start: float = 0.3, div_factor: float = 25.0,
                     final_div_factor: float = 1e4, anneal_strategy: str = "cos") -> np.ndarray:
    """The 1cycle learning rates of steps 0 .. total_steps − 1 (torch's two-phase OneCycleLR), written out."""
    initial = max_lr / div_factor
    minimum = initial / final_div_factor
    warm_end = pct_start * total_steps - 1.0  # the warm-up phase ends at this (real) step number
    last = total_steps - 1.0

    def anneal(start: float, end: float, pct: float) -> float:
        if anneal_strategy == "cos":
            return end + (start - end) * (1.0 + math.cos(math.pi * pct)) / 2.0
        return start + (end - start) * pct

    lrs = []
    for k in range(total_steps):
        if k <= warm_end:
            lrs.append(anneal(initial, max_lr, k / warm_end))
        else:
            lrs.append(anneal(max_lr, minimum, (k - warm_end) / (last - warm_end)))
    return np.array(lrs)


def torch_one_cycle(total_steps: int, max_lr: float, **kw) -> np.ndarray:
    """The learning rate torch.optim.lr_scheduler.OneCycleLR sets before each of total_steps steps."""
    import torch

    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=max_lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lr, total_steps=total_steps, cycle_momentum=False, **kw)
    lrs = []
    for _ in range(total_steps):
        lrs.append(opt.param_groups[0]["lr"])
        p.grad = torch.zeros(1, dtype=torch.float64)
        opt.step()
        sched.step()
    return np.array(lrs)


def gradients(steps: int, shape: tuple[int, ...], seed: int, scale: float = 1.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(scale=scale, size=(steps, *shape))


# --- cases -------------------------------------------------------------------------------


def cases_momentum_step() -> list[Case]:
    w0, G = np.array([1.0, -2.0, 0.5]), gradients(5, (3,), seed=1)
    heavy = torch_trajectory("SGD", w0, G, lr=0.1, momentum=0.9)
    nest = torch_trajectory("SGD", w0, G, lr=0.05, momentum=0.8, nesterov=True)
    return [
        Case("first step from a zero buffer (lr 0.1, momentum 0.9)", args=(w0, G[0], heavy[0]["momentum_buffer"], 0.1, 0.9),
             expected=(heavy[1]["w"], heavy[1]["momentum_buffer"])),
        Case("step 4 from torch's state after 3 steps", args=(heavy[3]["w"], G[3], heavy[3]["momentum_buffer"], 0.1, 0.9),
             expected=(heavy[4]["w"], heavy[4]["momentum_buffer"])),
        Case("Nesterov, step 3 (lr 0.05, momentum 0.8)",
             args=(nest[2]["w"], G[2], nest[2]["momentum_buffer"], 0.05, 0.8), kwargs={"nesterov": True},
             expected=(nest[3]["w"], nest[3]["momentum_buffer"])),
    ]


def cases_adagrad_step() -> list[Case]:
    w0, G = np.array([1.0, -1.0, 0.5]), gradients(5, (3,), seed=7)
    traj = torch_trajectory("Adagrad", w0, G, lr=0.1)
    return [
        Case("first step (lr 0.1): about lr·sign(g)", args=(w0, G[0], traj[0]["sum"]), kwargs={"lr": 0.1},
             expected=(traj[1]["w"], traj[1]["sum"])),
        Case("step 5 from torch's state after 4 steps", args=(traj[4]["w"], G[4], traj[4]["sum"]), kwargs={"lr": 0.1},
             expected=(traj[5]["w"], traj[5]["sum"])),
    ]


def cases_adadelta_step() -> list[Case]:
    w0, G = np.array([2.0, -0.5]), gradients(6, (2,), seed=8)
    traj = torch_trajectory("Adadelta", w0, G)
    return [
        Case("first step (defaults lr 1, rho 0.9, eps 1e-6)", args=(w0, G[0], traj[0]["square_avg"], traj[0]["acc_delta"]),
             expected=(traj[1]["w"], traj[1]["square_avg"], traj[1]["acc_delta"]),
             hint="The first update uses the update average from before the step (zero), with eps under its root."),
        Case("step 6 from torch's state after 5 steps",
             args=(traj[5]["w"], G[5], traj[5]["square_avg"], traj[5]["acc_delta"]),
             expected=(traj[6]["w"], traj[6]["square_avg"], traj[6]["acc_delta"])),
    ]


def cases_rmsprop_step() -> list[Case]:
    w0, G = np.array([0.5, 1.5]), gradients(4, (2,), seed=2)
    traj = torch_trajectory("RMSprop", w0, G, lr=0.01, alpha=0.99, eps=1e-8)
    return [
        Case("first step (defaults lr 0.01, alpha 0.99)", args=(w0, G[0], traj[0]["square_avg"]),
             expected=(traj[1]["w"], traj[1]["square_avg"])),
        Case("step 4 from torch's state after 3 steps", args=(traj[3]["w"], G[3], traj[3]["square_avg"]),
             expected=(traj[4]["w"], traj[4]["square_avg"])),
    ]


def cases_adam_step() -> list[Case]:
    w0, G = np.array([1.0, 0.0, -1.0, 2.0]), gradients(6, (4,), seed=3)
    traj = torch_trajectory("Adam", w0, G, lr=0.01)
    k = 4
    return [
        Case("first step, t = 1 (lr 0.01): about lr·sign(g)",
             args=(w0, G[0], traj[0]["exp_avg"], traj[0]["exp_avg_sq"], 1), kwargs={"lr": 0.01},
             expected=(traj[1]["w"], traj[1]["exp_avg"], traj[1]["exp_avg_sq"])),
        Case("step t = 5 from torch's state after 4 steps",
             args=(traj[k]["w"], G[k], traj[k]["exp_avg"], traj[k]["exp_avg_sq"], k + 1), kwargs={"lr": 0.01},
             expected=(traj[k + 1]["w"], traj[k + 1]["exp_avg"], traj[k + 1]["exp_avg_sq"])),
    ]


def cases_optimize_quadratic() -> list[Case]:
    A, b = spd(2, seed=4)
    w0 = np.array([3.0, -2.0])
    return [
        Case(f"{method}: 20 steps on a 2-D quadratic (lr {lr})", args=(A, b, w0, method, 20, lr),
             expected=torch_quadratic(A, b, w0, method, 20, lr))
        for method, lr in [("sgd", 0.05), ("momentum", 0.05), ("adagrad", 0.5), ("adam", 0.1)]
    ]


def cases_one_cycle_lr() -> list[Case]:
    return [
        Case("20 steps, max_lr 0.1, defaults (cos)", args=(20, 0.1), expected=oracle_one_cycle(20, 0.1)),
        Case("10 steps, max_lr 1, pct_start 0.5, linear", args=(10, 1.0), kwargs={"pct_start": 0.5, "anneal_strategy": "linear"},
             expected=oracle_one_cycle(10, 1.0, pct_start=0.5, anneal_strategy="linear")),
    ]
