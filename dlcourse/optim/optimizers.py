"""First-order optimizers over :class:`dlcourse.nn.Parameter` lists, with torch.optim's API.

Every optimizer keeps ``param_groups`` (a list of dicts with ``"params"``, ``"lr"`` and its
hyper-parameters, exactly as torch) and a per-parameter ``state`` dict.  ``step()`` reads each
parameter's ``.grad`` and updates ``.data`` in place; ``zero_grad()`` resets the gradients.
The update rules, names and defaults are torch.optim's, so that in float64 a trajectory equals
torch's to rounding error (tests/test_optim.py checks 50 steps against torch).

The state (momentum buffers, running averages, moments) has the parameter's dtype, and every
update is computed in place in that dtype: a float32 model stays float32, and a step allocates
no new arrays (each parameter owns reusable scratch buffers; ``x -= lr * g`` would allocate
``lr * g`` at every step).  Hyper-parameters are plain Python floats, which NumPy 2 never lets
promote an array (NEP 50), and they are validated once, when the optimizer or a group is made.

Notation (PyTorch lecture notes and Ensimag lecture, see docs/references.md): g = ∇θ J,
η = lr, μ (δ in the Ensimag lecture) = momentum.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import numpy as np

from dlcourse.nn import Parameter
from dlcourse.optim.clip import _as_params
from dlcourse.validation import check_bool, check_positive, check_probability

__all__ = [
    "Optimizer", "SGD", "SimplifiedNesterov", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW",
    "DeltaBarDelta",
]

#: the check of a hyper-parameter that may be 0 (rates, decays, eps): finite and ≥ 0
_NON_NEGATIVE = partial(check_positive, allow_zero=True)


def _lerp_(start: np.ndarray, end: np.ndarray, weight: float, tmp: np.ndarray) -> None:
    """start ← start + w (end − start), in place, rounded as torch's ``lerp_``.

    torch evaluates start + w·(end − start) for |w| < 0.5 and end − (end − start)(1 − w)
    otherwise, so that both ends are reproduced exactly.
    """
    np.subtract(end, start, out=tmp)
    if abs(weight) < 0.5:
        tmp *= weight
        start += tmp
    else:
        tmp *= 1 - weight
        np.subtract(end, tmp, out=start)


class Optimizer:
    """Base class: parameter groups, per-parameter state, ``zero_grad`` and the ``lr`` property.

    A subclass lists how each hyper-parameter is checked in ``_checks`` (name → check); the
    base class applies the checks to the defaults and to every group's overrides, once.
    """

    _checks: dict[str, Any] = {"lr": _NON_NEGATIVE}

    def __init__(self, params, defaults: dict[str, Any]) -> None:
        self.defaults = self._checked(defaults)
        self.state: dict[Parameter, dict[str, Any]] = {}
        self._scratch: dict[Parameter, dict[str, np.ndarray]] = {}
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

    def _checked(self, hyper: dict[str, Any]) -> dict[str, Any]:
        """``hyper`` with every known hyper-parameter validated and converted (floats, bools)."""
        out = dict(hyper)
        for name, check in self._checks.items():
            if name in out:
                out[name] = check(out[name], name)
        return out

    def _check_group(self, group: dict[str, Any]) -> None:
        """Constraints between the hyper-parameters of one group (none by default)."""

    def add_param_group(self, group: dict[str, Any]) -> None:
        """Add a group ``{"params": [...], **overrides}``; missing hyper-parameters take the defaults.

        A parameter may belong to one group only, once: listed twice, a step would move it twice.
        """
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"a parameter group must be a dict with a 'params' key, got {group!r}")
        params = _as_params(group["params"])
        where = {id(p): (g, i) for g, grp in enumerate(self.param_groups) for i, p in enumerate(grp["params"])}
        n = len(self.param_groups)
        for i, p in enumerate(params):
            if id(p) in where:
                g, j = where[id(p)]
                raise ValueError(
                    f"some parameters appear more than once: parameter {i} of group {n} ({p!r}) is "
                    f"parameter {j} of group {g} too, and a step would move it twice; list each once")
            where[id(p)] = (n, i)
        new = {**self.defaults, **self._checked({k: v for k, v in group.items() if k != "params"}),
               "params": params}
        self._check_group(new)
        self.param_groups.append(new)

    @property
    def lr(self) -> float:
        """The learning rate of the first parameter group."""
        return self.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value: float) -> None:
        value = self._checks["lr"](value, "lr")
        for group in self.param_groups:
            group["lr"] = value

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
        state = {index[id(p)]: {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in st.items()}
                 for p, st in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyper-parameters and per-parameter state saved by :meth:`state_dict`.

        As torch, the saved arrays are cast to the dtype of the parameter they belong to.
        """
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"state_dict has {len(saved_groups)} parameter groups, this optimizer has {len(self.param_groups)}")
        by_index: dict[int, Parameter] = {}
        for group, saved in zip(self.param_groups, saved_groups, strict=True):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"a saved group holds {len(saved['params'])} parameters, the optimizer's holds {len(group['params'])}")
            by_index.update(zip(saved["params"], group["params"], strict=True))
        hyper = [self._checked({k: v for k, v in saved.items() if k != "params"}) for saved in saved_groups]
        state: dict[Parameter, dict[str, Any]] = {}
        for i, st in state_dict["state"].items():
            if int(i) not in by_index:
                raise ValueError(f"state_dict holds state for parameter {i}, but the groups index only {sorted(by_index)}")
            p = by_index[int(i)]
            for k, v in st.items():
                if isinstance(v, np.ndarray) and v.shape != p.shape:
                    raise ValueError(f"state {k!r} of parameter {i} has shape {v.shape}, the parameter {p.shape}")
            state[p] = {k: v.astype(p.data.dtype, copy=True) if isinstance(v, np.ndarray) else v
                        for k, v in st.items()}
        self.state = state
        for group, saved in zip(self.param_groups, hyper, strict=True):
            group.update(saved)
            self._check_group(group)

    def _buffer(self, p: Parameter, name: str) -> np.ndarray:
        """A scratch array shaped and typed like ``p.data``, made once and reused at every step."""
        bufs = self._scratch.setdefault(p, {})
        buf = bufs.get(name)
        if buf is None or buf.shape != p.data.shape or buf.dtype != p.data.dtype:
            buf = bufs[name] = np.empty_like(p.data)
        return buf

    def _grad(self, p: Parameter, group: dict[str, Any], wd: float | None = None) -> np.ndarray:
        """g = ±∇J + λθ: the gradient the rule uses (maximize flips it; L2 weight decay adds λθ).

        λ is ``wd``, else the group's ``weight_decay``.  The result is ``p.grad`` itself when
        neither applies, else a scratch buffer (``p.grad`` is never changed).
        """
        g = p.grad
        if g.shape != p.data.shape:
            raise ValueError(f"grad shape {g.shape} differs from parameter shape {p.data.shape}")
        if g.dtype != p.data.dtype:  # torch refuses such a grad too
            raise TypeError(f"a parameter of dtype {p.data.dtype} has a grad of dtype {g.dtype}; "
                            "the optimizer keeps the parameter's dtype, so give it a grad of that dtype")
        if wd is None:
            wd = group.get("weight_decay", 0.0)
        if wd == 0:
            return np.negative(g, out=self._buffer(p, "grad")) if group.get("maximize", False) else g
        out = np.multiply(p.data, wd, out=self._buffer(p, "grad"))
        # torch: grad.add(param, alpha=λ) after the sign flip, i.e. ±∇J + λθ
        return np.subtract(out, g, out=out) if group.get("maximize", False) else np.add(g, out, out=out)

    def step(self) -> None:
        """Update every parameter from its ``.grad`` (one step of the rule)."""
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
    With v = −η b this is the PyTorch lecture notes' v ← μ v − ε g, θ ← θ + v; the Nesterov branch is the
    simplified (Bengio et al., 2012) lookahead form, see :class:`SimplifiedNesterov`.

    ``lr`` has no default: torch's 1e-3 suits no problem in particular, and a course wants the
    step size chosen.
    """

    _checks = {
        "lr": _NON_NEGATIVE,
        "momentum": _NON_NEGATIVE,
        "dampening": partial(check_probability, inclusive_high=True),
        "weight_decay": _NON_NEGATIVE,
        "nesterov": check_bool,
        "maximize": check_bool,
    }

    def __init__(self, params, lr: float, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, *, maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov, maximize=maximize))

    def _check_group(self, group):
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires momentum > 0 and dampening = 0, "
                             f"got momentum={group['momentum']}, dampening={group['dampening']}")

    def _update(self, p, g, state, group):
        mu = group["momentum"]
        d = self._buffer(p, "step")
        if mu != 0:
            buf = state.get("momentum_buffer")
            if buf is None:  # torch starts the buffer at g itself (no dampening on step 1)
                buf = state["momentum_buffer"] = g.copy()
            else:  # b ← μ b + (1 − τ) g
                buf *= mu
                buf += np.multiply(g, 1 - group["dampening"], out=d)
            if group["nesterov"]:
                g = np.add(g, np.multiply(buf, mu, out=d), out=d)  # g + μ b
            else:
                g = buf
        p.data += np.multiply(g, -group["lr"], out=d)  # θ ← θ − η d


class SimplifiedNesterov(Optimizer):
    """Nesterov momentum in the lookahead variable Θ = θ + δ v (Bengio et al., 2012; Ensimag lecture).

    g = ∇C(Θ);  Θ ← Θ + δ² v − η (1 + δ) g;  v ← δ v − η g.
    The parameter holds Θ, so the gradient is taken where the network's weights are — no
    extra forward pass at θ + δ v.  ``state[p]["velocity"]`` holds v.  Mathematically this
    equals ``SGD(nesterov=True)`` (torch's form).
    """

    _checks = {
        "lr": _NON_NEGATIVE,
        "momentum": check_probability,
        "weight_decay": _NON_NEGATIVE,
    }

    def __init__(self, params, lr: float, momentum: float = 0.9, weight_decay: float = 0.0) -> None:
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay))

    def _update(self, p, g, state, group):
        eta, delta = group["lr"], group["momentum"]
        v = state.get("velocity")
        if v is None:
            v = state["velocity"] = np.zeros_like(p.data)
        d = np.multiply(g, -eta, out=self._buffer(p, "step"))  # −η g
        v *= delta
        v += d  # v ← δ v − η g
        # Θ + δ² v_old − η(1 + δ) g  =  Θ − η g + δ v_new
        p.data += d
        p.data += np.multiply(v, delta, out=d)


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011), as ``torch.optim.Adagrad``.

    r ← r + g ⊙ g;  θ ← θ − η_t g / (√r + δ),  η_t = η / (1 + (t − 1)·lr_decay).
    """

    _checks = {
        "lr": _NON_NEGATIVE,
        "lr_decay": _NON_NEGATIVE,
        "weight_decay": _NON_NEGATIVE,
        "initial_accumulator_value": _NON_NEGATIVE,
        "eps": _NON_NEGATIVE,
        "maximize": check_bool,
    }

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10, *, maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, eps=eps,
                                      maximize=maximize))

    def _update(self, p, g, state, group):
        if not state:
            state["step"] = 0
            state["sum"] = np.full_like(p.data, group["initial_accumulator_value"])
        state["step"] += 1
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        r, d, e = state["sum"], self._buffer(p, "denom"), self._buffer(p, "step")
        r += np.multiply(g, g, out=d)  # r ← r + g ⊙ g
        np.sqrt(r, out=d)
        d += group["eps"]  # √r + δ
        np.multiply(g, -clr, out=e)
        e /= d
        p.data += e  # θ ← θ − η_t g / (√r + δ)


class RMSprop(Optimizer):
    """RMSprop (Tieleman & Hinton, 2012), as ``torch.optim.RMSprop``.

    r ← α r + (1 − α) g ⊙ g;  θ ← θ − η g / (√r + δ)        (PyTorch lecture notes and torch: δ outside)
    ``eps_inside_sqrt=True`` uses the Ensimag lecture's  θ ← θ − η g / √(δ + r)  instead.
    ``centered`` subtracts the squared running mean of g; ``momentum`` accumulates g / (√r + δ).
    """

    _checks = {
        "lr": _NON_NEGATIVE,
        "alpha": partial(check_probability, inclusive_high=True),
        "eps": _NON_NEGATIVE,
        "weight_decay": _NON_NEGATIVE,
        "momentum": _NON_NEGATIVE,
        "centered": check_bool,
        "maximize": check_bool,
        "eps_inside_sqrt": check_bool,
    }

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False, *,
                 maximize: bool = False, eps_inside_sqrt: bool = False) -> None:
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize,
                                      eps_inside_sqrt=eps_inside_sqrt))

    def _update(self, p, g, state, group):
        alpha, eps, mu = group["alpha"], group["eps"], group["momentum"]
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p.data)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(p.data)
        state["step"] += 1
        r, d, e = state["square_avg"], self._buffer(p, "denom"), self._buffer(p, "step")
        r *= alpha
        np.multiply(g, 1 - alpha, out=d)
        r += np.multiply(d, g, out=d)  # r ← α r + (1 − α) g²
        if group["centered"]:
            m = state["grad_avg"]
            _lerp_(m, g, 1 - alpha, d)  # m ← α m + (1 − α) g
            r = np.subtract(r, np.multiply(m, m, out=d), out=d)  # variance estimate r − m²
        # torch and the PyTorch lecture notes: √r + δ;  the Ensimag lecture: √(δ + r)
        if group["eps_inside_sqrt"]:
            np.sqrt(np.add(r, eps, out=d), out=d)
        else:
            np.sqrt(r, out=d)
            d += eps
        if mu > 0:
            buf = state.get("momentum_buffer")
            if buf is None:  # at the first step with momentum (OneCycleLR may switch it on later)
                buf = state["momentum_buffer"] = np.zeros_like(p.data)
            buf *= mu
            buf += np.divide(g, d, out=e)  # b ← μ b + g / (√r + δ)
            p.data += np.multiply(buf, -group["lr"], out=e)
        else:
            np.multiply(g, -group["lr"], out=e)
            e /= d
            p.data += e  # θ ← θ − η g / (√r + δ)


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012), as ``torch.optim.Adadelta``.

    r ← ρ r + (1 − ρ) g²;  Δ = √(s + δ) / √(r + δ) ⊙ g;  s ← ρ s + (1 − ρ) Δ²;  θ ← θ − η Δ.
    Zeiler's method has no step size: η = lr = 1 (the default) is the paper's rule.
    """

    _checks = {
        "lr": _NON_NEGATIVE,
        "rho": partial(check_probability, inclusive_high=True),
        "eps": _NON_NEGATIVE,
        "weight_decay": _NON_NEGATIVE,
        "maximize": check_bool,
    }

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0.0, *, maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize))

    def _update(self, p, g, state, group):
        rho, eps = group["rho"], group["eps"]
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p.data)
            state["acc_delta"] = np.zeros_like(p.data)
        state["step"] += 1
        r, s = state["square_avg"], state["acc_delta"]
        d, delta = self._buffer(p, "denom"), self._buffer(p, "step")
        r *= rho
        np.multiply(g, 1 - rho, out=d)
        r += np.multiply(d, g, out=d)  # r ← ρ r + (1 − ρ) g²
        np.sqrt(np.add(r, eps, out=d), out=d)  # RMS[g] = √(r + δ)
        np.sqrt(np.add(s, eps, out=delta), out=delta)  # RMS[Δ] = √(s + δ)
        delta /= d
        delta *= g  # Δ = RMS[Δ] / RMS[g] · g
        s *= rho
        np.multiply(delta, 1 - rho, out=d)
        s += np.multiply(d, delta, out=d)  # s ← ρ s + (1 − ρ) Δ²
        p.data += np.multiply(delta, -group["lr"], out=delta)  # θ ← θ − η Δ


def _betas(value, name: str) -> tuple[float, float]:
    try:
        b1, b2 = value
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (beta1, beta2), got {value!r}") from None
    return check_probability(b1, "beta1"), check_probability(b2, "beta2")


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), as ``torch.optim.Adam``.

    m ← β₁ m + (1 − β₁) g;  v ← β₂ v + (1 − β₂) g²;  m̂ = m / (1 − β₁ᵗ);  v̂ = v / (1 − β₂ᵗ);
    θ ← θ − η m̂ / (√v̂ + δ).  ``amsgrad`` uses the running maximum of v instead of v (Reddi et
    al., 2018).  ``decoupled_weight_decay`` decays θ ← θ(1 − ηλ) before the step instead of
    adding λθ to g: that is :class:`AdamW` (Loshchilov & Hutter, 2019).
    """

    _checks = {
        "lr": _NON_NEGATIVE,
        "betas": _betas,
        "eps": _NON_NEGATIVE,
        "weight_decay": _NON_NEGATIVE,
        "amsgrad": check_bool,
        "maximize": check_bool,
        "decoupled_weight_decay": check_bool,
    }

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False, *,
                 maximize: bool = False, decoupled_weight_decay: bool = False) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize, decoupled_weight_decay=decoupled_weight_decay))

    def _grad(self, p: Parameter, group: dict[str, Any], wd: float | None = None) -> np.ndarray:
        if group["decoupled_weight_decay"]:
            if group["weight_decay"] != 0:  # θ ← θ(1 − ηλ), not through g (Loshchilov & Hutter, 2019)
                p.data *= 1 - group["lr"] * group["weight_decay"]
            wd = 0.0
        return super()._grad(p, group, wd)

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
        m, v = state["exp_avg"], state["exp_avg_sq"]
        d, e = self._buffer(p, "denom"), self._buffer(p, "step")
        _lerp_(m, g, 1 - b1, d)  # m ← β₁ m + (1 − β₁) g
        v *= b2
        np.multiply(g, 1 - b2, out=d)
        v += np.multiply(d, g, out=d)  # v ← β₂ v + (1 − β₂) g²
        if group["amsgrad"]:
            v = np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        step_size = group["lr"] / (1 - b1**t)  # η / (1 − β₁ᵗ) folds in m̂
        np.sqrt(v, out=d)
        d /= math.sqrt(1 - b2**t)
        d += group["eps"]  # √v̂ + δ
        np.multiply(m, -step_size, out=e)
        e /= d
        p.data += e


class DeltaBarDelta(Optimizer):
    """Delta-bar-delta (Jacobs, 1988; the Ensimag lecture): one learning rate per parameter entry.

    With g = δ(t) = ∂J/∂θ and the smoothed gradient δ̄ (δ̄(0) = 0):

        η ← η + κ          where δ̄(t−1) ⊙ δ(t) > 0   (the sign persists: speed up, additively),
        η ← (1 − φ) η      where δ̄(t−1) ⊙ δ(t) < 0   (the sign flipped: slow down, geometrically),
        θ ← θ − η ⊙ g,     δ̄(t) = (1 − ϑ) δ(t) + ϑ δ̄(t−1).

    ``lr`` is the initial η of every entry, ``kappa`` = κ, ``phi`` = φ and ``theta`` = ϑ.  The
    sign test needs the *full* gradient: mini-batch noise flips signs at random (the lecture's
    caveat).  torch has no such optimizer; ``state[p]["lr"]`` holds the per-entry rates.
    """

    _checks = {
        "lr": _NON_NEGATIVE,
        "kappa": _NON_NEGATIVE,
        "phi": check_probability,
        "theta": check_probability,
        "weight_decay": _NON_NEGATIVE,
    }

    def __init__(self, params, lr: float = 1e-2, kappa: float = 1e-3, phi: float = 0.1, theta: float = 0.7,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, dict(lr=lr, kappa=kappa, phi=phi, theta=theta, weight_decay=weight_decay))

    def _update(self, p, g, state, group):
        if not state:
            state["step"] = 0
            state["lr"] = np.full_like(p.data, group["lr"])
            state["bar"] = np.zeros_like(p.data)
        state["step"] += 1
        eta, bar = state["lr"], state["bar"]
        d, e = self._buffer(p, "denom"), self._buffer(p, "step")
        np.sign(np.multiply(bar, g, out=d), out=d)  # sign of δ̄(t−1) ⊙ δ(t): +1, −1 or 0
        np.maximum(d, 0.0, out=e)
        e *= group["kappa"]
        eta += e  # η + κ where the signs agree
        np.minimum(d, 0.0, out=e)
        e *= group["phi"]
        e += 1.0
        eta *= e  # (1 − φ) η where they disagree
        p.data -= np.multiply(eta, g, out=e)  # θ ← θ − η ⊙ δ(t)
        bar *= group["theta"]
        bar += np.multiply(g, 1.0 - group["theta"], out=e)  # δ̄(t) = (1 − ϑ) δ(t) + ϑ δ̄(t−1)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as ``torch.optim.AdamW``.

    θ ← θ(1 − ηλ) before the Adam step; the default λ is 1e-2, as torch's.
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)
