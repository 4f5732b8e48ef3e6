"""First-order optimizers over :class:`dlcourse.nn.Parameter` lists, with torch.optim's API.

Every optimizer keeps ``param_groups`` (a list of dicts with ``"params"``, ``"lr"`` and its
hyper-parameters, exactly as torch) and a per-parameter ``state`` dict.  ``step()`` reads each
parameter's ``.grad`` and updates ``.data`` in place; ``zero_grad()`` resets the gradients.
The update rules, names and defaults are torch.optim's, so that in float64 a trajectory equals
torch's to rounding error (tests/test_optim.py checks 50 steps against torch).

Notation (deck 003 / deck 004): g = ∇θ J, η = lr, μ (or δ in deck 004) = momentum.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dlcourse.nn import Parameter
from dlcourse.optim.clip import _as_params

__all__ = [
    "Optimizer", "SGD", "SimplifiedNesterov", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW",
]


def _check_hyper(name: str, value: float, *, low: float = 0.0, high: float | None = None,
                 high_open: bool = True) -> float:
    """Validate a hyper-parameter in [low, high) (or [low, high]) and return it as a float."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}") from None
    ok = math.isfinite(value) and value >= low
    if high is not None:
        ok = ok and (value < high if high_open else value <= high)
    if not ok:
        hi = "" if high is None else (f", {high})" if high_open else f", {high}]")
        rng = f"[{low}{hi}" if high is not None else f">= {low}"
        raise ValueError(f"invalid {name}: expected a finite value in {rng}, got {value}")
    return value


class Optimizer:
    """Base class: parameter groups, per-parameter state, ``zero_grad`` and the ``lr`` property."""

    def __init__(self, params, defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.state: dict[Parameter, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Parameter):
            raise TypeError("params must be an iterable of Parameters (e.g. model.parameters()), "
                            "got a single Parameter; wrap it in a list")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: dict[str, Any]) -> None:
        """Add a group ``{"params": [...], **overrides}``; missing hyper-parameters take the defaults."""
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"a parameter group must be a dict with a 'params' key, got {group!r}")
        params = _as_params(group["params"])
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        new = {**self.defaults, **group, "params": params}
        self.param_groups.append(new)

    @property
    def lr(self) -> float:
        """The learning rate of the first parameter group."""
        return self.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value: float) -> None:
        for group in self.param_groups:
            group["lr"] = _check_hyper("lr", value)

    def zero_grad(self) -> None:
        """Reset every parameter's gradient to zeros (torch's ``set_to_none`` has no numpy analogue)."""
        for group in self.param_groups:
            for p in group["params"]:
                p.zero_grad()

    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: {...}}, "param_groups": [...]}`` with parameters replaced by their
        index, as torch's ``Optimizer.state_dict`` (arrays are copied)."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: {k: np.array(v, copy=True) if isinstance(v, np.ndarray) else v for k, v in st.items()}
                 for p, st in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyper-parameters and per-parameter state saved by :meth:`state_dict`."""
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"state_dict has {len(saved_groups)} parameter groups, this optimizer has {len(self.param_groups)}")
        by_index: dict[int, Parameter] = {}
        for group, saved in zip(self.param_groups, saved_groups, strict=True):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"a saved group holds {len(saved['params'])} parameters, the optimizer's holds {len(group['params'])}")
            by_index.update(zip(saved["params"], group["params"], strict=True))
        state: dict[Parameter, dict[str, Any]] = {}
        for i, st in state_dict["state"].items():
            p = by_index[int(i)]
            for k, v in st.items():
                if isinstance(v, np.ndarray) and v.shape != p.shape:
                    raise ValueError(f"state {k!r} of parameter {i} has shape {v.shape}, the parameter {p.shape}")
            state[p] = {k: np.array(v, copy=True) if isinstance(v, np.ndarray) else v for k, v in st.items()}
        self.state = state
        for group, saved in zip(self.param_groups, saved_groups, strict=True):
            group.update({k: v for k, v in saved.items() if k != "params"})

    def _grad(self, p: Parameter, group: dict[str, Any]) -> np.ndarray:
        """g = ±∇J + λθ: the gradient the rule uses (maximize flips it; L2 weight decay adds λθ)."""
        g = -p.grad if group.get("maximize", False) else p.grad
        if g.shape != p.data.shape:
            raise ValueError(f"grad shape {g.shape} differs from parameter shape {p.data.shape}")
        wd = group.get("weight_decay", 0.0)
        return g + wd * p.data if wd != 0 else g

    def step(self) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state.setdefault(p, {})
                self._update(p, self._grad(p, group), state, group)

    def _update(self, p: Parameter, g: np.ndarray, state: dict, group: dict) -> None:  # pragma: no cover
        raise NotImplementedError

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines + [")"])


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum, as ``torch.optim.SGD``.

    b ← μ b + (1 − τ) g  (b = g at the first step),  then
    θ ← θ − η (g + μ b)  if nesterov  else  θ ← θ − η b.
    With v = −η b this is deck 003's v ← μ v − ε g, θ ← θ + v; the Nesterov branch is the
    simplified (Bengio et al., 2012) lookahead form, see :class:`SimplifiedNesterov`.
    """

    def __init__(self, params, lr: float, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, *, maximize: bool = False) -> None:
        lr = _check_hyper("lr", lr)
        momentum = _check_hyper("momentum", momentum)
        dampening = _check_hyper("dampening", dampening)
        weight_decay = _check_hyper("weight_decay", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(f"Nesterov momentum requires momentum > 0 and dampening = 0, got momentum={momentum}, dampening={dampening}")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=bool(nesterov), maximize=bool(maximize)))

    def _update(self, p, g, state, group):
        mu = group["momentum"]
        if mu != 0:
            buf = state.get("momentum_buffer")
            # b ← μ b + (1 − τ) g; torch starts the buffer at g itself (no dampening on step 1)
            buf = g.copy() if buf is None else mu * buf + (1 - group["dampening"]) * g
            state["momentum_buffer"] = buf
            g = g + mu * buf if group["nesterov"] else buf
        p.data -= group["lr"] * g  # θ ← θ − η d


class SimplifiedNesterov(Optimizer):
    """Nesterov momentum in the lookahead variable Θ = θ + δ v (deck 004; Bengio et al., 2012).

    g = ∇C(Θ);  Θ ← Θ + δ² v − η (1 + δ) g;  v ← δ v − η g.
    The parameter holds Θ, so the gradient is taken where the network's weights are — no
    extra forward pass at θ + δ v.  ``state[p]["velocity"]`` holds v.  Mathematically this
    equals ``SGD(nesterov=True)`` (torch's form).
    """

    def __init__(self, params, lr: float, momentum: float = 0.9, weight_decay: float = 0.0) -> None:
        lr = _check_hyper("lr", lr)
        momentum = _check_hyper("momentum", momentum, high=1.0)
        weight_decay = _check_hyper("weight_decay", weight_decay)
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay))

    def _update(self, p, g, state, group):
        eta, delta = group["lr"], group["momentum"]
        v = state.get("velocity")
        if v is None:
            v = np.zeros_like(p.data)
        p.data += delta**2 * v - eta * (1 + delta) * g  # Θ ← Θ + δ² v − η(1+δ) g
        state["velocity"] = delta * v - eta * g  # v ← δ v − η g


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011), as ``torch.optim.Adagrad``.

    r ← r + g ⊙ g;  θ ← θ − η_t g / (√r + δ),  η_t = η / (1 + (t − 1)·lr_decay).
    """

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10, *, maximize: bool = False) -> None:
        super().__init__(params, dict(
            lr=_check_hyper("lr", lr), lr_decay=_check_hyper("lr_decay", lr_decay),
            weight_decay=_check_hyper("weight_decay", weight_decay),
            initial_accumulator_value=_check_hyper("initial_accumulator_value", initial_accumulator_value),
            eps=_check_hyper("eps", eps), maximize=bool(maximize)))

    def _update(self, p, g, state, group):
        if not state:
            state["step"] = 0
            state["sum"] = np.full_like(p.data, group["initial_accumulator_value"])
        state["step"] += 1
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state["sum"] = state["sum"] + g * g  # r ← r + g ⊙ g
        p.data -= clr * g / (np.sqrt(state["sum"]) + group["eps"])  # θ ← θ − η g / (√r + δ)


class RMSprop(Optimizer):
    """RMSprop (Hinton, 2012), as ``torch.optim.RMSprop``.

    r ← α r + (1 − α) g ⊙ g;  θ ← θ − η g / (√r + δ)        (deck 003 and torch: δ outside)
    ``eps_inside_sqrt=True`` uses deck 004's  θ ← θ − η g / √(δ + r)  instead.
    ``centered`` subtracts the squared running mean of g; ``momentum`` accumulates g / (√r + δ).
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False, *,
                 maximize: bool = False, eps_inside_sqrt: bool = False) -> None:
        super().__init__(params, dict(
            lr=_check_hyper("lr", lr), alpha=_check_hyper("alpha", alpha, high=1.0, high_open=False),
            eps=_check_hyper("eps", eps), weight_decay=_check_hyper("weight_decay", weight_decay),
            momentum=_check_hyper("momentum", momentum), centered=bool(centered),
            maximize=bool(maximize), eps_inside_sqrt=bool(eps_inside_sqrt)))

    def _update(self, p, g, state, group):
        alpha, eps = group["alpha"], group["eps"]
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p.data)
            if group["momentum"] > 0:
                state["momentum_buffer"] = np.zeros_like(p.data)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(p.data)
        state["step"] += 1
        state["square_avg"] = alpha * state["square_avg"] + (1 - alpha) * g * g  # r ← αr + (1−α) g²
        r = state["square_avg"]
        if group["centered"]:
            state["grad_avg"] = state["grad_avg"] + (1 - alpha) * (g - state["grad_avg"])  # m ← lerp(m, g)
            r = r - state["grad_avg"] ** 2  # variance estimate r − m²
        # torch / deck 003: √r + δ;  deck 004: √(δ + r)
        avg = np.sqrt(r + eps) if group["eps_inside_sqrt"] else np.sqrt(r) + eps
        if group["momentum"] > 0:
            state["momentum_buffer"] = group["momentum"] * state["momentum_buffer"] + g / avg
            p.data -= group["lr"] * state["momentum_buffer"]
        else:
            p.data -= group["lr"] * g / avg


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012), as ``torch.optim.Adadelta``.

    r ← ρ r + (1 − ρ) g²;  Δ = √(s + δ) / √(r + δ) ⊙ g;  s ← ρ s + (1 − ρ) Δ²;  θ ← θ − η Δ.
    Zeiler's method has no step size: η = lr = 1 (the default) is the paper's rule.
    """

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0.0, *, maximize: bool = False) -> None:
        super().__init__(params, dict(
            lr=_check_hyper("lr", lr), rho=_check_hyper("rho", rho, high=1.0, high_open=False),
            eps=_check_hyper("eps", eps), weight_decay=_check_hyper("weight_decay", weight_decay),
            maximize=bool(maximize)))

    def _update(self, p, g, state, group):
        rho, eps = group["rho"], group["eps"]
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p.data)
            state["acc_delta"] = np.zeros_like(p.data)
        state["step"] += 1
        state["square_avg"] = rho * state["square_avg"] + (1 - rho) * g * g  # r ← ρ r + (1−ρ) g²
        delta = np.sqrt(state["acc_delta"] + eps) / np.sqrt(state["square_avg"] + eps) * g  # RMS[Δ]/RMS[g] · g
        state["acc_delta"] = rho * state["acc_delta"] + (1 - rho) * delta * delta  # s ← ρ s + (1−ρ) Δ²
        p.data -= group["lr"] * delta


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), as ``torch.optim.Adam``.

    m ← β₁ m + (1 − β₁) g;  v ← β₂ v + (1 − β₂) g²;  m̂ = m / (1 − β₁ᵗ);  v̂ = v / (1 − β₂ᵗ);
    θ ← θ − η m̂ / (√v̂ + δ).  ``amsgrad`` uses the running maximum of v instead of v.
    """

    _decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        if len(tuple(betas)) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        b1, b2 = (_check_hyper(f"beta{i + 1}", b, high=1.0) for i, b in enumerate(betas))
        super().__init__(params, dict(
            lr=_check_hyper("lr", lr), betas=(b1, b2), eps=_check_hyper("eps", eps),
            weight_decay=_check_hyper("weight_decay", weight_decay), amsgrad=bool(amsgrad),
            maximize=bool(maximize)))

    def _grad(self, p, group):
        if self._decoupled:  # AdamW: decay θ directly, not through g (Loshchilov & Hutter, 2019)
            p.data *= 1 - group["lr"] * group["weight_decay"]
            return -p.grad if group["maximize"] else p.grad
        return super()._grad(p, group)

    def _update(self, p, g, state, group):
        b1, b2 = group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p.data)
            state["exp_avg_sq"] = np.zeros_like(p.data)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(p.data)
        state["step"] += 1
        t = state["step"]
        state["exp_avg"] = state["exp_avg"] + (1 - b1) * (g - state["exp_avg"])  # m ← β₁m + (1−β₁)g
        state["exp_avg_sq"] = b2 * state["exp_avg_sq"] + (1 - b2) * g * g  # v ← β₂v + (1−β₂)g²
        v = state["exp_avg_sq"]
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = np.maximum(state["max_exp_avg_sq"], v)
            v = state["max_exp_avg_sq"]
        step_size = group["lr"] / (1 - b1**t)  # η / (1 − β₁ᵗ) folds in m̂
        denom = np.sqrt(v) / math.sqrt(1 - b2**t) + group["eps"]  # √v̂ + δ
        p.data -= step_size * state["exp_avg"] / denom


class AdamW(Adam):
    """Adam with decoupled weight decay, as ``torch.optim.AdamW``: θ ← θ(1 − ηλ) before the Adam step."""

    _decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)

