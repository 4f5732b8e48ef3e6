"""Learning-rate schedules, torch.optim.lr_scheduler-style, for any :mod:`dlcourse.optim` optimizer.

Construct after the optimizer; call ``step()`` once per epoch (or per batch for
:class:`OneCycleLR`); ``get_last_lr()`` gives the list of current rates (one per group).  Like
torch, construction performs "step 0": ``base_lrs`` are the groups' initial rates and the
rate for epoch k is η_k = f(η_0, k).

=====================  ===========================================  ==========================
schedule               η_k                                          torch equivalent
=====================  ===========================================  ==========================
StepLR                 η0 · γ^⌊k / step_size⌋                       StepLR
InverseDecay           η0 / (1 + k δ)                               LambdaLR(lambda k: 1/(1 + kδ))
ExponentialLR          η0 · γ^k  (η0 · exp(−k δ) with γ = e^−δ)     ExponentialLR
OneCycleLR             warm-up to max_lr, anneal to                 OneCycleLR
                       max_lr/(div·final_div) (Smith, 2018)
CosineAnnealing-       η_min + (η0 − η_min)(1 + cos(π T_cur/T_i))/2 CosineAnnealingWarmRestarts
WarmRestarts           (Loshchilov & Hutter, 2017)
=====================  ===========================================  ==========================
"""

from __future__ import annotations

import math
from typing import Any

from dlcourse.optim.optimizers import Optimizer
from dlcourse.validation import check_positive

__all__ = ["LRScheduler", "StepLR", "InverseDecay", "ExponentialLR", "OneCycleLR", "CosineAnnealingWarmRestarts"]


class LRScheduler:
    """Base class: sets every group's ``lr`` to :meth:`get_lr` at each :meth:`step`."""

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"a schedule wraps a dlcourse.optim optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
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
        return {k: v for k, v in vars(self).items() if k != "optimizer"}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        vars(self).update(state)


class StepLR(LRScheduler):
    """η_k = η0 · γ^⌊k / step_size⌋ (divide by 1/γ every ``step_size`` epochs)."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        if int(step_size) != step_size or step_size < 1:
            raise ValueError(f"step_size must be a positive integer, got {step_size}")
        self.step_size, self.gamma = int(step_size), check_positive(gamma, "gamma")
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class InverseDecay(LRScheduler):
    """η_k = η0 / (1 + k δ) (deck 004), δ = ``decay``."""

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


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith, 2018), as ``torch.optim.lr_scheduler.OneCycleLR``; step per batch.

    The rate rises from max_lr/div_factor to max_lr over the first ``pct_start`` of the
    ``total_steps`` and then anneals to max_lr/(div_factor·final_div_factor) (cosine or linear);
    with ``cycle_momentum`` the momentum (or Adam's β₁) moves inversely, max → base → max.
    """

    def __init__(self, optimizer: Optimizer, max_lr: float | list[float], total_steps: int | None = None,
                 epochs: int | None = None, steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True, base_momentum: float = 0.85,
                 max_momentum: float = 0.95, div_factor: float = 25.0, final_div_factor: float = 1e4,
                 three_phase: bool = False) -> None:
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError("give total_steps, or both epochs and steps_per_epoch")
            total_steps = int(epochs) * int(steps_per_epoch)
        if int(total_steps) != total_steps or total_steps < 1:
            raise ValueError(f"total_steps must be a positive integer, got {total_steps}")
        if not 0 < pct_start < 1:
            raise ValueError(f"pct_start must lie in (0, 1), got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.total_steps = int(total_steps)
        self.anneal_strategy = anneal_strategy
        self.cycle_momentum = bool(cycle_momentum)
        n = len(optimizer.param_groups)
        max_lrs = list(max_lr) if isinstance(max_lr, (list, tuple)) else [max_lr] * n
        if len(max_lrs) != n:
            raise ValueError(f"max_lr has {len(max_lrs)} values for {n} parameter groups")
        T = float(pct_start * self.total_steps)
        if three_phase:
            self._phases = [(T - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                            (2 * T - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                            (self.total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            self._phases = [(T - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                            (self.total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        self._use_betas = "betas" in optimizer.defaults
        if self.cycle_momentum and not self._use_betas and "momentum" not in optimizer.defaults:
            raise ValueError(f"cycle_momentum needs an optimizer with 'momentum' or 'betas'; "
                             f"{type(optimizer).__name__} has neither (pass cycle_momentum=False)")
        for group, mlr in zip(optimizer.param_groups, max_lrs, strict=True):
            group["initial_lr"] = mlr / div_factor
            group["max_lr"] = mlr
            group["min_lr"] = group["initial_lr"] / final_div_factor
            if self.cycle_momentum:
                group["max_momentum"], group["base_momentum"] = max_momentum, base_momentum
                self._set_momentum(group, max_momentum)
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
        if int(T_0) != T_0 or T_0 < 1:
            raise ValueError(f"T_0 must be a positive integer, got {T_0}")
        if int(T_mult) != T_mult or T_mult < 1:
            raise ValueError(f"T_mult must be an integer >= 1, got {T_mult}")
        self.T_0, self.T_i, self.T_mult = int(T_0), int(T_0), int(T_mult)
        self.eta_min = check_positive(eta_min, "eta_min", allow_zero=True)
        self.T_cur = -1
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        c = (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
        return [self.eta_min + (base - self.eta_min) * c for base in self.base_lrs]

    def step(self, epoch: float | None = None) -> None:
        if epoch is None:
            self.last_epoch += 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:  # restart
                self.T_cur -= self.T_i
                self.T_i *= self.T_mult
        else:
            if epoch < 0:
                raise ValueError(f"epoch must be >= 0, got {epoch}")
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult**n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult**n
            else:
                self.T_i, self.T_cur = self.T_0, epoch
            self.last_epoch = math.floor(epoch)
        self._set(self.get_lr())
