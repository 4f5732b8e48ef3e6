"""Learning-rate schedules, torch.optim.lr_scheduler-style, for any :mod:`dlcourse.optim` optimizer.

Construct after the optimizer; call ``step()`` once per epoch (or per batch for
:class:`OneCycleLR`); ``get_last_lr()`` gives the list of current rates (one per group).  Like
torch, construction performs "step 0": ``base_lrs`` are the groups' initial rates and the
rate for epoch k is η_k = f(η_0, k).  :class:`ReduceLROnPlateau` is stepped with the
monitored metric instead, ``step(val_loss)``, and changes the rate only when it stalls.

=====================  ===========================================  ==========================
schedule               η_k                                          torch equivalent
=====================  ===========================================  ==========================
StepLR                 η0 · γ^⌊k / step_size⌋                       StepLR
InverseDecay           η0 / (1 + k δ)                               LambdaLR(lambda k: 1/(1 + kδ))
ExponentialLR          η0 · γ^k  (η0 · exp(−k δ) with γ = e^−δ)     ExponentialLR
LinearLR               η0 · (s + (e − s) · min(k, K) / K)           LinearLR
OneCycleLR             warm-up to max_lr, anneal to                 OneCycleLR
                       max_lr/(div·final_div) (Smith, 2018)
CosineAnnealing-       η_min + (η0 − η_min)(1 + cos(π T_cur/T_i))/2 CosineAnnealingWarmRestarts
WarmRestarts           (Loshchilov & Hutter, 2017)
ReduceLROnPlateau      η ← max(γ η, η_min) after ``patience``       ReduceLROnPlateau
                       epochs without improvement
=====================  ===========================================  ==========================

Every argument is validated once, at construction; the rates are plain Python floats, so a
float32 model stays float32 whatever the schedule.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

from dlcourse.optim.optimizers import Optimizer
from dlcourse.validation import (
    check_bool,
    check_choice,
    check_count,
    check_in_interval,
    check_positive,
    check_probability,
    check_real,
)

__all__ = ["LRScheduler", "StepLR", "InverseDecay", "ExponentialLR", "LinearLR", "OneCycleLR",
           "CosineAnnealingWarmRestarts", "ReduceLROnPlateau"]


def _check_optimizer(optimizer) -> Optimizer:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"a schedule wraps a dlcourse.optim optimizer, got {type(optimizer).__name__}")
    return optimizer


def _per_group(value, optimizer: Optimizer, name: str, check) -> list[float]:
    """One checked value per parameter group: a list of them, or one value for every group."""
    n = len(optimizer.param_groups)
    if not isinstance(value, (list, tuple)):
        return [check(value, name)] * n
    if len(value) != n:
        raise ValueError(f"{name} has {len(value)} values for {n} parameter groups")
    return [check(v, f"{name}[{i}]") for i, v in enumerate(value)]


class LRScheduler:
    """Base class: sets every group's ``lr`` to :meth:`get_lr` at each :meth:`step`."""

    def __init__(self, optimizer: Optimizer) -> None:
        self.optimizer = _check_optimizer(optimizer)
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = -1
        self.step()  # step 0: η = η0, as torch

    def get_lr(self) -> list[float]:  # pragma: no cover - overridden
        raise NotImplementedError

    def step(self) -> None:
        """Advance one epoch (k ← k + 1) and write the new rates into the optimizer."""
        self.last_epoch += 1
        self._set(self.get_lr())

    def _set(self, lrs: list[float]) -> None:
        for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
            group["lr"] = lr
        self._last_lr = list(lrs)

    def get_last_lr(self) -> list[float]:
        """The rates set by the last :meth:`step`, one per parameter group."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer (which saves its own state), as torch's."""
        return {k: v for k, v in vars(self).items() if k != "optimizer"}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        vars(self).update(state)


class StepLR(LRScheduler):
    """η_k = η0 · γ^⌊k / step_size⌋ (divide by 1/γ every ``step_size`` epochs)."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        self.step_size = check_count(step_size, "step_size")
        self.gamma = check_positive(gamma, "gamma")
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class InverseDecay(LRScheduler):
    """η_k = η0 / (1 + k δ) (Ensimag lecture, see docs/references.md), δ = ``decay``."""

    def __init__(self, optimizer: Optimizer, decay: float) -> None:
        self.decay = check_positive(decay, "decay", allow_zero=True)
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        return [base / (1 + self.last_epoch * self.decay) for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """η_k = η0 · γ^k, as ``torch.optim.lr_scheduler.ExponentialLR``.

    The exponential decay η0 · exp(−k δ) of the lectures is the same schedule with γ = e^(−δ).
    """

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        self.gamma = check_positive(gamma, "gamma")
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        return [base * self.gamma**self.last_epoch for base in self.base_lrs]


class LinearLR(LRScheduler):
    """η_k = η0 · (s + (e − s) · min(k, K) / K), as ``torch.optim.lr_scheduler.LinearLR``.

    The factor moves linearly from s = ``start_factor`` to e = ``end_factor`` over the first
    K = ``total_iters`` steps and then stays at e: with the defaults, a warm-up from η0/3 to η0
    over 5 steps (the "gradual warm-up" of Goyal et al., 2017).
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5) -> None:
        self.start_factor = check_in_interval(start_factor, "(0, 1]", "start_factor")
        self.end_factor = check_probability(end_factor, "end_factor", inclusive_high=True)
        self.total_iters = check_count(total_iters, "total_iters")
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        s, e, k = self.start_factor, self.end_factor, min(self.last_epoch, self.total_iters)
        return [base * (s + (e - s) * k / self.total_iters) for base in self.base_lrs]


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith, 2018), as ``torch.optim.lr_scheduler.OneCycleLR``; step per batch.

    The rate rises from max_lr/div_factor to max_lr over the first ``pct_start`` of the
    ``total_steps`` and then anneals to max_lr/(div_factor·final_div_factor) (cosine or linear);
    with ``cycle_momentum`` the momentum (or Adam's β₁) moves inversely, max → base → max.
    ``three_phase`` returns to max_lr/div_factor symmetrically before the final annealing.
    Stepping more than ``total_steps`` times raises ValueError, as torch.
    """

    def __init__(self, optimizer: Optimizer, max_lr: float | list[float], total_steps: int | None = None,
                 epochs: int | None = None, steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True,
                 base_momentum: float | list[float] = 0.85, max_momentum: float | list[float] = 0.95,
                 div_factor: float = 25.0, final_div_factor: float = 1e4, three_phase: bool = False) -> None:
        _check_optimizer(optimizer)
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError("give total_steps, or both epochs and steps_per_epoch")
            total_steps = check_count(epochs, "epochs") * check_count(steps_per_epoch, "steps_per_epoch")
        self.total_steps = check_count(total_steps, "total_steps")
        pct_start = check_in_interval(pct_start, "(0, 1)", "pct_start")
        self.anneal_strategy = check_choice(anneal_strategy, ("cos", "linear"), "anneal_strategy")
        self.cycle_momentum = check_bool(cycle_momentum, "cycle_momentum")
        div_factor = check_positive(div_factor, "div_factor")
        final_div_factor = check_positive(final_div_factor, "final_div_factor")
        max_lrs = _per_group(max_lr, optimizer, "max_lr", check_positive)
        T = float(pct_start * self.total_steps)
        if check_bool(three_phase, "three_phase"):
            self._phases = [(T - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                            (2 * T - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                            (self.total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            self._phases = [(T - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                            (self.total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        self._use_betas = "betas" in optimizer.defaults
        if self.cycle_momentum:
            if not self._use_betas and "momentum" not in optimizer.defaults:
                raise ValueError(f"cycle_momentum needs an optimizer with 'momentum' or 'betas'; "
                                 f"{type(optimizer).__name__} has neither (pass cycle_momentum=False)")
            # β₁ must stay below 1 (Adam divides by 1 − β₁ᵗ); a momentum may not be negative
            base_ms = _per_group(base_momentum, optimizer, "base_momentum", check_probability)
            max_ms = _per_group(max_momentum, optimizer, "max_momentum", check_probability)
        for i, (group, mlr) in enumerate(zip(optimizer.param_groups, max_lrs, strict=True)):
            group["initial_lr"] = mlr / div_factor
            group["max_lr"] = mlr
            group["min_lr"] = group["initial_lr"] / final_div_factor
            if self.cycle_momentum:
                group["max_momentum"], group["base_momentum"] = max_ms[i], base_ms[i]
        super().__init__(optimizer)

    def _set_momentum(self, group: dict, value: float) -> None:
        if self._use_betas:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        k = self.last_epoch
        if k > self.total_steps:  # torch's bound (it allows one step past the end)
            raise ValueError(f"OneCycleLR stepped {k} times, but total_steps is {self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, (end, lr0, lr1, m0, m1) in enumerate(self._phases):
                if k <= end or i == len(self._phases) - 1:
                    pct = (k - start) / (end - start)
                    lrs.append(self._anneal(group[lr0], group[lr1], pct))
                    if self.cycle_momentum:
                        self._set_momentum(group, self._anneal(group[m0], group[m1], pct))
                    break
                start = end
        return lrs


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR (Loshchilov & Hutter, 2017), as ``CosineAnnealingWarmRestarts``.

    η = η_min + (η0 − η_min)(1 + cos(π T_cur / T_i)) / 2; after T_i epochs T_cur resets to 0 and
    T_i ← T_i · T_mult.  ``step(epoch)`` may jump to a (fractional) epoch, as torch allows.
    """

    def __init__(self, optimizer: Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0) -> None:
        self.T_0 = self.T_i = check_count(T_0, "T_0")
        self.T_mult = check_count(T_mult, "T_mult")
        self.eta_min = check_positive(eta_min, "eta_min", allow_zero=True)
        self.T_cur: float = -1
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        c = (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
        return [self.eta_min + (base - self.eta_min) * c for base in self.base_lrs]

    def step(self, epoch: float | None = None) -> None:
        """Advance one epoch, or jump to ``epoch`` (≥ 0, possibly fractional: epoch + i / batches)."""
        if epoch is None:
            self.last_epoch += 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:  # restart
                self.T_cur -= self.T_i
                self.T_i *= self.T_mult
        else:
            epoch = check_positive(epoch, "epoch", allow_zero=True)
            if epoch < self.T_0:
                self.T_i, self.T_cur = self.T_0, epoch
            elif self.T_mult == 1:  # T_i is T_0 throughout
                self.T_cur = epoch % self.T_0
            else:  # restarts at T_0 (T_mult^n − 1)/(T_mult − 1): find the cycle n that holds epoch
                n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                self.T_cur = epoch - self.T_0 * (self.T_mult**n - 1) / (self.T_mult - 1)
                self.T_i = self.T_0 * self.T_mult**n
            self.last_epoch = math.floor(epoch)
        self._set(self.get_lr())


class ReduceLROnPlateau(LRScheduler):
    """Divide the rate when a metric stops improving, as ``torch.optim.lr_scheduler.ReduceLROnPlateau``.

    ``step(metric)`` once per epoch.  The metric improves when it beats the best so far by the
    threshold: m < best·(1 − threshold) (``mode="min"``, ``threshold_mode="rel"``), m < best −
    threshold (``"abs"``), and the mirror images for ``mode="max"``.  After more than
    ``patience`` epochs without improvement every rate becomes η ← max(factor·η, min_lr), unless
    that changes it by less than ``eps``; the ``cooldown`` epochs after a reduction count as
    neither good nor bad.
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float | list[float] = 0.0, eps: float = 1e-8) -> None:
        self.optimizer = _check_optimizer(optimizer)
        self.mode = check_choice(mode, ("min", "max"), "mode")
        self.factor = check_probability(factor, "factor")  # < 1, or the rate would not fall
        self.patience = check_count(patience, "patience", allow_zero=True)
        self.threshold = check_positive(threshold, "threshold", allow_zero=True)
        self.threshold_mode = check_choice(threshold_mode, ("rel", "abs"), "threshold_mode")
        self.cooldown = check_count(cooldown, "cooldown", allow_zero=True)
        self.min_lrs = _per_group(min_lr, optimizer, "min_lr", partial(check_positive, allow_zero=True))
        self.eps = check_positive(eps, "eps", allow_zero=True)
        self.best = math.inf if self.mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def _is_better(self, metric: float) -> bool:
        if self.mode == "min":
            return metric < (self.best * (1 - self.threshold) if self.threshold_mode == "rel"
                             else self.best - self.threshold)
        return metric > (self.best * (1 + self.threshold) if self.threshold_mode == "rel"
                         else self.best + self.threshold)

    def step(self, metrics: float) -> None:  # type: ignore[override]
        """Record this epoch's metric (a validation loss, an accuracy) and reduce the rates if it stalled."""
        metric = check_real(metrics, "metrics")
        self.last_epoch += 1
        if self._is_better(metric):
            self.best, self.num_bad_epochs = metric, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:  # bad epochs in the cooldown do not count
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs, strict=True):
                new_lr = max(group["lr"] * self.factor, min_lr)
                if group["lr"] - new_lr > self.eps:  # a change below eps is not worth making
                    group["lr"] = new_lr
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]
