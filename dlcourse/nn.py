"""Layers with an explicit backward pass, named and shaped like torch.nn.

Every :class:`Module` caches in ``forward`` what ``backward`` needs; ``backward(dout)`` returns
dL/d(input) and *accumulates* dL/dθ into each parameter's ``.grad`` (as torch does, so call
``zero_grad()`` between steps).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from dlcourse import activations
from dlcourse import functional as F
from dlcourse import init as initializers
from dlcourse.validation import as_float_array, as_rng, check_positive, check_probability


class Parameter:
    """A trainable array: ``data`` and its gradient ``grad`` (same shape, zero until backward)."""

    def __init__(self, data) -> None:
        self.data = np.array(as_float_array(data, "data"), copy=True)
        self._grad = np.zeros_like(self.data)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def grad(self) -> np.ndarray:
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        value = as_float_array(value, "grad")
        if value.shape != self.data.shape:
            raise ValueError(f"grad must have the parameter's shape {self.data.shape}, got {value.shape}")
        self._grad = value

    def zero_grad(self) -> None:
        self._grad = np.zeros_like(self.data)

    def __repr__(self) -> str:
        return f"Parameter(shape={self.data.shape})"


class Module:
    """Base class: subclasses set parameters/sub-modules as attributes and define forward/backward."""

    training: bool = True

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, dout: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__}.backward")

    def __call__(self, x) -> np.ndarray:
        return self.forward(x)

    # --- the tree of modules, parameters and buffers -------------------------------------------
    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def children(self) -> Iterator[Module]:
        return (m for _, m in self.named_children())

    def modules(self) -> Iterator[Module]:
        """This module and every descendant, depth first."""
        yield self
        for child in self.children():
            yield from child.modules()

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, value
        for name, child in self.named_children():
            yield from child.named_parameters(prefix + name + ".")

    def parameters(self) -> list[Parameter]:
        """Every parameter of this module and its children, in definition order."""
        return [p for _, p in self.named_parameters()]

    _buffer_names: tuple[str, ...] = ()

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        """Non-trainable state (e.g. BatchNorm's running statistics) listed in ``_buffer_names``."""
        for name in self._buffer_names:
            yield prefix + name, getattr(self, name)
        for name, child in self.named_children():
            yield from child.named_buffers(prefix + name + ".")

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer, keyed by dotted name as in torch."""
        state = {name: p.data.copy() for name, p in self.named_parameters()}
        state.update({name: np.array(b, copy=True) for name, b in self.named_buffers()})
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy values from ``state`` (as returned by :meth:`state_dict`) into this module."""
        params = dict(self.named_parameters())
        buffers = {name for name, _ in self.named_buffers()}
        expected = set(params) | buffers
        if set(state) != expected:
            raise KeyError(f"state keys differ: missing {sorted(expected - set(state))}, unexpected {sorted(set(state) - expected)}")
        for name, value in state.items():
            if name in params:
                if np.shape(value) != params[name].shape:
                    raise ValueError(f"{name}: expected shape {params[name].shape}, got {np.shape(value)}")
                params[name].data[...] = value  # in place, like torch's copy_: aliases stay valid
            else:
                *path, attr = name.split(".")
                owner = self
                for part in path:
                    owner = dict(owner.named_children())[part]  # Sequential's children are "0", "1", ...
                setattr(owner, attr, np.array(value, copy=True))

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.zero_grad()

    def train(self, mode: bool = True) -> Module:
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> Module:
        return self.train(False)

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"  ({name}): " + repr(child).replace("\n", "\n  ") for name, child in children]
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"


class Sequential(Module):
    """Modules applied in order; backward runs them in reverse.  Iterable and indexable."""

    def __init__(self, *modules: Module) -> None:
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential takes Modules, got {type(m).__name__} at position {i}")
        self._modules = list(modules)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        return ((str(i), m) for i, m in enumerate(self._modules))

    def forward(self, x):
        for m in self._modules:
            x = m.forward(x)
        return x

    def backward(self, dout):
        for m in reversed(self._modules):
            dout = m.backward(dout)
        return dout

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return Sequential(*self._modules[idx])
        return self._modules[idx]

    def append(self, module: Module) -> Sequential:
        if not isinstance(module, Module):
            raise TypeError(f"Sequential.append takes a Module, got {type(module).__name__}")
        self._modules.append(module)
        return self


class Linear(Module):
    """y = x Wᵀ + b, with ``weight`` (out_features, in_features) and ``bias`` (out_features,)."""

    def __init__(self, in_features: int, out_features: int, init="he_normal", bias: bool = True, rng=None) -> None:
        if int(in_features) <= 0 or int(out_features) <= 0:
            raise ValueError(f"in_features and out_features must be positive, got {in_features} and {out_features}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        w = initializers.get(init)((self.out_features, self.in_features), rng=as_rng(rng))
        if w.shape != (self.out_features, self.in_features):
            raise ValueError(f"init returned shape {w.shape}, expected {(self.out_features, self.in_features)}")
        self.weight = Parameter(w)
        self.bias = Parameter(np.zeros(self.out_features)) if bias else None
        self._cache = None

    def forward(self, x):
        x = as_float_array(x, "x", ndim=2)
        if x.shape[1] != self.in_features:
            raise ValueError(f"Linear({self.in_features}, {self.out_features}) expects x of shape (N, {self.in_features}), got {x.shape}")
        out, self._cache = F.linear_forward(x, self.weight.data, None if self.bias is None else self.bias.data)
        return out

    def backward(self, dout):
        if self._cache is None:
            raise RuntimeError("Linear.backward called before forward")
        dx, dw, db = F.linear_backward(dout, self._cache)
        self.weight.grad = self.weight.grad + dw
        if self.bias is not None:
            self.bias.grad = self.bias.grad + db
        return dx

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class _Activation(Module):
    """An element-wise f(z): backward multiplies by f'(z) evaluated at the cached input."""

    def _f(self, z):  # pragma: no cover - overridden
        raise NotImplementedError

    def _df(self, z):  # pragma: no cover - overridden
        raise NotImplementedError

    def forward(self, x):
        self._z = as_float_array(x, "x")
        return self._f(self._z)

    def backward(self, dout):
        z = getattr(self, "_z", None)
        if z is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        dout = as_float_array(dout, "dout")
        if dout.shape != z.shape:
            raise ValueError(f"dout must have the input's shape {z.shape}, got {dout.shape}")
        return dout * self._df(z)  # chain rule, element-wise: dL/dz = dL/da · f'(z)


class ReLU(_Activation):
    """max(0, z)."""

    def _f(self, z):
        return activations.relu(z)

    def _df(self, z):
        return activations.relu_grad(z)


class Sigmoid(_Activation):
    """σ(z) = 1 / (1 + e^(−z))."""

    def _f(self, z):
        return activations.sigmoid(z)

    def _df(self, z):
        return activations.sigmoid_grad(z)


class Tanh(_Activation):
    """tanh(z)."""

    def _f(self, z):
        return activations.tanh(z)

    def _df(self, z):
        return activations.tanh_grad(z)


class LeakyReLU(_Activation):
    """max(αz, z), α = negative_slope (torch's default 0.01)."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        self.negative_slope = float(negative_slope)

    def _f(self, z):
        return activations.leaky_relu(z, self.negative_slope)

    def _df(self, z):
        return activations.leaky_relu_grad(z, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(_Activation):
    """z if z > 0 else α(e^z − 1)."""

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = float(alpha)

    def _f(self, z):
        return activations.elu(z, self.alpha)

    def _df(self, z):
        return activations.elu_grad(z, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class LeCunTanh(_Activation):
    """1.7159 · tanh(2z/3) (LeCun et al., 1998)."""

    def _f(self, z):
        return activations.lecun_tanh(z)

    def _df(self, z):
        return activations.lecun_tanh_grad(z)


# ---------------------------------------------------------------------------------------------
# Regularization layers: Dropout, GaussianNoise
# ---------------------------------------------------------------------------------------------


class Dropout(Module):
    """Inverted dropout (torch.nn.Dropout): zero each unit with probability p, scale the rest by
    1/(1 − p) at train time; identity in eval mode.  ``rng``: Generator or seed for the masks."""

    def __init__(self, p: float = 0.5, rng=None) -> None:
        self.p = check_probability(p, "p (dropout probability)", inclusive_high=True)
        self.rng = as_rng(rng)
        self._cache = None

    def forward(self, x):
        out, self._cache = F.dropout_forward(x, self.p, self.training, self.rng)
        return out

    def backward(self, dout):
        if self._cache is None:
            raise RuntimeError("Dropout.backward called before forward")
        return F.dropout_backward(dout, self._cache)

    def extra_repr(self) -> str:
        return f"p={self.p}"

class GaussianNoise(Module):
    """Adds N(0, std²) noise to its input at train time; the identity in eval mode.

    The noise does not depend on x, so dL/dx = dL/dout in both modes.
    """

    def __init__(self, std: float = 0.1, rng=None) -> None:
        self.std = check_positive(std, "std", allow_zero=True)
        self.rng = as_rng(rng)
        self._shape = None

    def forward(self, x):
        x = as_float_array(x, "x")
        self._shape = x.shape
        if not self.training or self.std == 0.0:
            return x
        return x + self.std * self.rng.standard_normal(x.shape)  # y = x + z, z ~ N(0, std²)

    def backward(self, dout):
        if self._shape is None:
            raise RuntimeError("GaussianNoise.backward called before forward")
        dout = as_float_array(dout, "dout")
        if dout.shape != self._shape:
            raise ValueError(f"dout must have the forward input's shape {self._shape}, got {dout.shape}")
        return dout

    def extra_repr(self) -> str:
        return f"std={self.std}"


# ---------------------------------------------------------------------------------------------
# Normalization layers: BatchNorm1d, BatchNorm2d
# ---------------------------------------------------------------------------------------------


class _BatchNorm(Module):
    """Shared code of BatchNorm1d/2d: parameters ``gamma`` (ones), ``beta`` (zeros) and buffers
    ``running_mean`` (zeros), ``running_var`` (ones); momentum weighs the *new* batch statistic."""

    _buffer_names = ("running_mean", "running_var")
    _input_ndim: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        if int(num_features) != num_features or int(num_features) <= 0:
            raise ValueError(f"num_features must be a positive integer, got {num_features}")
        if momentum is None or not 0.0 <= float(momentum) <= 1.0:
            # torch's momentum=None (a cumulative average) is not implemented
            raise ValueError(f"momentum must be a number in [0, 1], got {momentum}")
        self.num_features, self.eps, self.momentum = int(num_features), check_positive(eps, "eps"), float(momentum)
        self.gamma = Parameter(np.ones(self.num_features))  # γ: per-feature scale
        self.beta = Parameter(np.zeros(self.num_features))  # β: per-feature shift
        self.running_mean = np.zeros(self.num_features)
        self.running_var = np.ones(self.num_features)
        self._cache = None

    # torch names the affine parameters weight and bias: the same Parameter objects
    @property
    def weight(self) -> Parameter:
        return self.gamma

    @property
    def bias(self) -> Parameter:
        return self.beta

    def _check_input(self, x) -> np.ndarray:
        x = as_float_array(x, "x")
        if x.ndim not in self._input_ndim or x.shape[1] != self.num_features:
            dims = " or ".join(f"{d}-D" for d in self._input_ndim)
            raise ValueError(
                f"{type(self).__name__}({self.num_features}) expects {dims} input with {self.num_features} "
                f"features/channels on axis 1, got shape {x.shape}"
            )
        return x

    def forward(self, x):
        x = self._check_input(x)
        fwd = F.batchnorm_forward if x.ndim == 2 else F.spatial_batchnorm_forward
        out, cache = fwd(
            x, self.gamma.data, self.beta.data, self.running_mean, self.running_var,
            train=self.training, momentum=self.momentum, eps=self.eps,
        )
        self._cache = (x.ndim, cache)
        return out

    def backward(self, dout):
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        ndim, cache = self._cache
        if ndim == 2:
            dx, dgamma, dbeta = F.batchnorm_backward_simplified(dout, cache)
        else:
            dx, dgamma, dbeta = F.spatial_batchnorm_backward(dout, cache)
        self.gamma.grad = self.gamma.grad + dgamma
        self.beta.grad = self.beta.grad + dbeta
        return dx

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class BatchNorm1d(_BatchNorm):
    """Batch norm of (N, D) (or (N, C, L)) per feature; torch.nn.BatchNorm1d's defaults."""

    _input_ndim = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm of (N, C, H, W) over C: statistics over N, H and W for every channel."""

    _input_ndim = (4,)
