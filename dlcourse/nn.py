"""Layers with an explicit backward pass, named and shaped like torch.nn.

Every :class:`Module` caches in ``forward`` what ``backward`` needs; ``backward(dout)`` returns
dL/d(input) and *accumulates* dL/dθ into each parameter's ``.grad`` (as torch does, so call
``zero_grad()`` between steps).

Dtypes
------
Every layer with parameters takes ``dtype`` (default ``np.float64``, so that gradient checks
are exact); its parameters, gradients, buffers and outputs all have that dtype, and
``model.to(np.float32)`` converts a whole model in place, as torch's ``.to(torch.float32)``.
Input of another dtype is an error naming both dtypes, as in torch (no silent upcast of a
float32 model to float64, no silent downcast), and integer or bool input to a layer with
parameters is refused with the cast to write (torch refuses it too).  Layers without
parameters (activations, Dropout, GaussianNoise) keep the floating dtype of their input.

Validation and speed
--------------------
A module's public ``forward``/``backward`` checks its argument once and then runs an
unchecked kernel from :mod:`dlcourse.functional`.  :class:`Sequential` chains the modules'
private ``_forward``/``_backward`` so that arrays a layer has just allocated are reused in
place (the bias add, the ReLU mask), and ``Sequential.backward(dout, input_grad=False)``
skips dL/d(input) of the first layer, which nobody uses when training (torch does not
compute it either: the input does not require grad).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol, TypeGuard

import numpy as np

from dlcourse import activations
from dlcourse import functional as F
from dlcourse import init as initializers
from dlcourse.validation import (
    as_float_array,
    as_float_dtype,
    as_model_input,
    as_rng,
    check_count,
    check_positive,
    check_probability,
)

__all__ = [
    "Parameter", "Module", "Sequential", "Linear", "ReLU", "Sigmoid", "Tanh", "LeakyReLU", "ELU",
    "LeCunTanh", "Dropout", "GaussianNoise", "BatchNorm1d", "BatchNorm2d",
]


class Parameter:
    """A trainable array: ``data`` and its gradient ``grad`` (same shape and dtype, zero until backward).

    Parameters
    ----------
    data : array_like
        Copied.  Its floating dtype is kept (integers become float64) unless ``dtype`` is given.
    dtype : numpy floating dtype, optional
        The dtype of ``data`` and ``grad``.

    ``grad`` is one preallocated array that backward passes accumulate into in place, and
    ``zero_grad()`` resets it in place (torch's ``zero_grad(set_to_none=False)``): a reference
    taken to ``p.grad`` keeps seeing the current gradient.  Assigning ``p.grad = g`` checks
    g's shape and dtype (an integer array is cast; another floating dtype is a TypeError).
    """

    def __init__(self, data, dtype=None) -> None:
        arr = as_float_array(data, "data")
        dt = arr.dtype if dtype is None else as_float_dtype(dtype)
        self.data = np.array(arr, dtype=dt, copy=True)
        self._grad = np.zeros_like(self.data)
        # True while the gradient is logically zero: the buffer may then hold stale values, and
        # the first backward pass writes into it (out=) instead of adding, like torch's first
        # accumulation, which stores the new gradient instead of adding it to zeros.
        self._grad_is_zero = True

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def grad(self) -> np.ndarray:
        if self._grad_is_zero:
            self._grad.fill(0)  # the caller may read or write it in place from here on
            self._grad_is_zero = False
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        value = np.asarray(value)
        if value.dtype != self.data.dtype:
            if np.issubdtype(value.dtype, np.floating) or not np.issubdtype(value.dtype, np.number):
                raise TypeError(f"grad must have the parameter's dtype {self.data.dtype}, got {value.dtype}: "
                                f"assign grad.astype(np.{self.data.dtype})")
            value = value.astype(self.data.dtype)
        if value.shape != self.data.shape:
            raise ValueError(f"grad must have the parameter's shape {self.data.shape}, got {value.shape}")
        if not value.flags.writeable:
            value = value.copy()  # backward accumulates into it in place
        self._grad = value
        self._grad_is_zero = False

    def zero_grad(self) -> None:
        """g ← 0, in place (no new array)."""
        self._grad_is_zero = True

    def to(self, dtype) -> Parameter:
        """Convert ``data`` and ``grad`` to ``dtype`` in place (the same Parameter object) and return it."""
        dt = as_float_dtype(dtype)
        if self.data.dtype != dt:
            self.data = self.data.astype(dt)
            self._grad = self._grad.astype(dt)
        return self

    # --- accumulation kernels used by the layers' backward passes -------------------------------
    def _add_matmul(self, a: np.ndarray, b: np.ndarray) -> None:
        """grad += a @ b, the product written straight into the buffer when grad is zero."""
        if self._grad_is_zero:
            np.matmul(a, b, out=self._grad)
            self._grad_is_zero = False
        else:
            self._grad += a @ b

    def _add_colsum(self, a: np.ndarray) -> None:
        """grad += Σ_rows a."""
        if self._grad_is_zero:
            np.sum(a, axis=0, out=self._grad)
            self._grad_is_zero = False
        else:
            self._grad += a.sum(axis=0)

    def _add(self, g: np.ndarray) -> None:
        """grad += g."""
        if self._grad_is_zero:
            np.copyto(self._grad, g)
            self._grad_is_zero = False
        else:
            self._grad += g

    def __repr__(self) -> str:
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"


def _fast_path(method):
    """Mark a built-in ``forward``/``backward`` as equal to check-then-``_forward``/``_backward``.

    :class:`Sequential` calls the private methods of a child only while its public method is
    the marked one, so a subclass that overrides ``forward`` or ``backward`` is always called
    through its override.
    """
    method._fast_path = True
    return method


class _Kernels(Protocol):
    """The unchecked kernels of a built-in layer (see :class:`Module`)."""

    def _check_input(self, x: Any) -> np.ndarray:
        ...

    def _forward(self, x: np.ndarray, owned: bool) -> tuple[np.ndarray, bool]:
        ...

    def _check_dout(self, dout: Any) -> np.ndarray:
        ...

    def _backward(self, dout: np.ndarray, input_grad: bool, owned: bool) -> tuple[np.ndarray | None, bool]:
        ...


def _is_fast(module, name: str) -> TypeGuard[_Kernels]:
    """Whether ``module.<name>`` is the marked built-in one, so that its kernels may be called."""
    return getattr(getattr(type(module), name), "_fast_path", False)


def _has_parameters(module: Module) -> bool:
    return next(iter(module.named_parameters()), None) is not None


class Module:
    """Base class: subclasses set parameters/sub-modules as attributes and define forward/backward.

    A subclass may define just ``forward(x)`` and ``backward(dout)``.  The built-in layers
    define instead ``_check_input(x)``, ``_forward(x, owned) -> (out, out_owned)``,
    ``_check_dout(dout)`` and ``_backward(dout, input_grad, owned) -> (dx, dx_owned)``: the
    kernels without checks, where ``owned`` says the array was just allocated by the previous
    layer and may be overwritten, and ``input_grad=False`` means dx is not needed (None is
    returned for it).
    """

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
        """Copy values from ``state`` (as returned by :meth:`state_dict`) into this module.

        As torch's ``copy_``, values are cast to the dtype of the module's arrays.
        """
        params = dict(self.named_parameters())
        buffers = dict(self.named_buffers())
        expected = set(params) | set(buffers)
        if set(state) != expected:
            raise KeyError(f"state keys differ: missing {sorted(expected - set(state))}, unexpected {sorted(set(state) - expected)}")
        # Every shape is checked before anything is copied, so that a bad state leaves the module
        # as it was; a buffer of the wrong shape would otherwise broadcast silently in eval mode.
        for name, value in state.items():
            want = params[name].shape if name in params else np.shape(buffers[name])
            if np.shape(value) != want:
                raise ValueError(f"{name}: expected shape {want}, got {np.shape(value)}")
        for name, value in state.items():
            if name in params:
                params[name].data[...] = value  # in place, like torch's copy_: aliases stay valid
            else:
                *path, attr = name.split(".")
                owner = self
                for part in path:
                    owner = dict(owner.named_children())[part]  # Sequential's children are "0", "1", ...
                old = getattr(owner, attr)
                setattr(owner, attr, np.array(value, dtype=getattr(old, "dtype", None), copy=True))

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.zero_grad()

    def to(self, dtype) -> Module:
        """Convert every parameter, gradient and buffer to the floating ``dtype``, in place; return self.

        As torch's ``model.to(torch.float32)``: the Parameter objects stay the same (an
        optimizer built before keeps working), only their arrays change dtype.
        """
        dt = as_float_dtype(dtype)
        for m in self.modules():
            for value in vars(m).values():
                if isinstance(value, Parameter):
                    value.to(dt)
            for name in m._buffer_names:
                setattr(m, name, np.asarray(getattr(m, name)).astype(dt, copy=False))
        return self

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


def _forward_child(m: Module, x, owned: bool):
    """Run one child: the unchecked kernel after the child's own (single) input check."""
    if _is_fast(m, "forward"):
        return m._forward(m._check_input(x), owned)
    return m.forward(x), False


def _backward_child(m: Module, dout, input_grad: bool, owned: bool):
    if _is_fast(m, "backward"):
        return m._backward(m._check_dout(dout), input_grad, owned)
    dx = m.backward(dout)
    return (dx if input_grad else None), False


def backward_without_input_grad(module: Module, dout) -> None:
    """``module.backward(dout)`` for the parameter gradients only: dL/d(input) is not computed.

    This is what :func:`dlcourse.train.fit` calls: the input of a network needs no gradient,
    and for a first Linear layer dx = dout W is a whole GEMM (torch skips it too, since the
    input does not require grad).  The parameter gradients are exactly those of a full
    ``module.backward(dout)``.  Modules with their own ``backward`` are called as usual.
    """
    if _is_fast(module, "backward"):
        module._backward(module._check_dout(dout), False, False)
    else:
        module.backward(dout)


class Sequential(Module):
    """Modules applied in order; backward runs them in reverse.  Iterable and indexable."""

    def __init__(self, *modules: Module) -> None:
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential takes Modules, got {type(m).__name__} at position {i}")
        self._modules = list(modules)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        return ((str(i), m) for i, m in enumerate(self._modules))

    # every child checks its own input: nothing to check here
    def _check_input(self, x):
        return x

    def _check_dout(self, dout):
        return dout

    def _forward(self, x, owned: bool):
        for m in self._modules:
            x, owned = _forward_child(m, x, owned)
        return x, owned

    @_fast_path
    def forward(self, x):
        return self._forward(x, False)[0]

    def _backward(self, dout, input_grad: bool, owned: bool):
        mods = self._modules
        stop = 0
        if not input_grad:
            # Leading built-in layers without parameters (input noise or dropout) need no
            # backward at all, and the first layer with parameters needs no dx.
            while stop < len(mods) and _is_fast(mods[stop], "backward") and not _has_parameters(mods[stop]):
                stop += 1
        for i in range(len(mods) - 1, stop - 1, -1):
            dout, owned = _backward_child(mods[i], dout, input_grad or i > stop, owned)
        return (dout if input_grad else None), owned

    @_fast_path
    def backward(self, dout, input_grad: bool = True):
        """Backpropagate ``dout`` = dL/d(output) through the modules in reverse order.

        Returns dL/d(input), or None when ``input_grad=False``: then the first layer's input
        gradient (for a Linear layer the GEMM dx = dout W) is not computed, as torch does not
        compute the gradient of an input that does not require grad.  Parameter gradients are
        the same either way.
        """
        return self._backward(dout, bool(input_grad), False)[0]

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


class _Layer(Module):
    """A built-in layer: its public ``forward``/``backward`` check the argument once, then run
    the unchecked kernels ``_forward``/``_backward`` (which :class:`Sequential` calls directly).

    The default input check is that of a layer without parameters: any floating dtype is kept,
    other numbers become float64; layers with parameters override it to require theirs.
    """

    def _check_input(self, x):
        if type(x) is np.ndarray and x.dtype.kind == "f":
            return x
        return as_float_array(x, "x")

    def _forward(self, x: np.ndarray, owned: bool) -> tuple[np.ndarray, bool]:  # pragma: no cover - overridden
        raise NotImplementedError

    def _check_dout(self, dout) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    def _backward(self, dout: np.ndarray, input_grad: bool, owned: bool
                  ) -> tuple[np.ndarray | None, bool]:  # pragma: no cover - overridden
        raise NotImplementedError

    @_fast_path
    def forward(self, x):
        return self._forward(self._check_input(x), False)[0]

    @_fast_path
    def backward(self, dout):
        return self._backward(self._check_dout(dout), True, False)[0]


class Linear(_Layer):
    """y = x Wᵀ + b, with ``weight`` (out_features, in_features) and ``bias`` (out_features,).

    Parameters
    ----------
    in_features, out_features : int
    init : str or callable
        A scheme of :mod:`dlcourse.init` by name, or ``f(shape, rng=...)``.  The weights are
        drawn in float64 and then cast to ``dtype``, so a float32 layer holds its float64
        twin's weights rounded to float32.
    bias : bool
        Add a learnable bias, initialised to zero.
    rng : numpy Generator or int seed
    dtype : numpy floating dtype
        Of the parameters, their gradients and the output; the input must have it too.

    Backward: dx = dout W, dW = doutᵀ x, db = Σ_n dout_n.
    """

    def __init__(self, in_features: int, out_features: int, init="he_normal", bias: bool = True, rng=None,
                 dtype=np.float64) -> None:
        self.in_features = check_count(in_features, "in_features")
        self.out_features = check_count(out_features, "out_features")
        dt = as_float_dtype(dtype)
        w = np.asarray(initializers.get(init)((self.out_features, self.in_features), rng=as_rng(rng)))
        if w.shape != (self.out_features, self.in_features):
            raise ValueError(f"init returned shape {w.shape}, expected {(self.out_features, self.in_features)}")
        self.weight = Parameter(w, dtype=dt)
        self.bias = Parameter(np.zeros(self.out_features, dtype=dt)) if bias else None
        self._cache: np.ndarray | None = None  # the input x, for dW

    def _check_input(self, x):
        w = self.weight.data
        if type(x) is np.ndarray and x.dtype == w.dtype and x.ndim == 2 and x.shape[1] == self.in_features:
            return x
        x = as_model_input(x, w.dtype, "x", where=f"Linear({self.in_features}, {self.out_features})", ndim=2)
        if x.shape[1] != self.in_features:
            raise ValueError(f"Linear({self.in_features}, {self.out_features}) expects x of shape (N, {self.in_features}), got {x.shape}")
        return x

    def _forward(self, x, owned: bool):
        self._cache = x
        return F._linear(x, self.weight.data, None if self.bias is None else self.bias.data), True

    def _check_dout(self, dout):
        x = self._cache
        if x is None:
            raise RuntimeError("Linear.backward called before forward")
        expected = (x.shape[0], self.out_features)
        if type(dout) is np.ndarray and dout.dtype == x.dtype and dout.shape == expected:
            return dout
        dout = as_model_input(dout, x.dtype, "dout", where=f"Linear({self.in_features}, {self.out_features}).backward", ndim=2)
        if dout.shape != expected:
            raise ValueError(f"dout must have shape {expected}, got {dout.shape}")
        return dout

    def _backward(self, dout, input_grad: bool, owned: bool):
        assert self._cache is not None  # _check_dout refuses a backward before forward
        self.weight._add_matmul(dout.T, self._cache)  # dW += doutᵀ x: (out, N) @ (N, in)
        if self.bias is not None:
            self.bias._add_colsum(dout)  # db += Σ_n dout_n
        return (dout @ self.weight.data if input_grad else None), True  # dx = dout W

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
                + ("" if self.weight.dtype == np.float64 else f", dtype={self.weight.dtype}"))


class _Activation(_Layer):
    """An element-wise a = f(z): backward multiplies by f'(z) evaluated at the cached input.

    The output keeps the input's floating dtype (integer input becomes float64).
    """

    def _f(self, z):  # pragma: no cover - overridden
        raise NotImplementedError

    def _df(self, z):  # pragma: no cover - overridden
        raise NotImplementedError

    def _forward(self, x, owned: bool):
        self._z = x  # f'(z) needs the input, so it is kept and never overwritten
        return self._f(x), True

    def _check_dout(self, dout):
        z = getattr(self, "_z", None)
        if z is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        if not (type(dout) is np.ndarray and dout.dtype == z.dtype):
            dout = as_model_input(dout, z.dtype, "dout", where=f"{type(self).__name__}.backward")
        if dout.shape != z.shape:
            raise ValueError(f"dout must have the input's shape {z.shape}, got {dout.shape}")
        return dout

    def _backward(self, dout, input_grad: bool, owned: bool):
        if not input_grad:
            return None, False
        d = self._df(self._z)  # a fresh array: multiplied in place
        d *= dout  # chain rule, element-wise: dL/dz = dL/da · f'(z)
        return d, True


class ReLU(_Activation):
    """max(0, z).  Backward: dL/dz = dL/da · 1[z > 0] (0 at the kink, as torch).

    Inside a :class:`Sequential` the ReLU works in place on the array the previous layer has
    just allocated (torch's ``inplace=True``), and keeps only the mask 1[z > 0].
    """

    def _forward(self, x, owned: bool):
        self._z = x
        mask = getattr(self, "_mask", None)  # internal: the previous call's array is reused
        if mask is None or mask.shape != x.shape:
            mask = None
        self._mask = np.greater(x, 0, out=mask)  # 1[z > 0]: all that backward needs
        out = np.maximum(x, 0, out=x) if owned else np.maximum(x, 0)
        return out, True

    def _backward(self, dout, input_grad: bool, owned: bool):
        if not input_grad:
            return None, False
        if owned:
            return np.multiply(dout, self._mask, out=dout), True
        return dout * self._mask, True

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


class Dropout(_Layer):
    """Inverted dropout (torch.nn.Dropout): zero each unit with probability p, scale the rest by
    1/(1 − p) at train time; identity in eval mode.  ``rng``: Generator or seed for the masks.

    The mask and the output keep the input's floating dtype; the mask is drawn from float64
    uniforms whatever that dtype, so a float32 model drops the same units as its float64 twin.
    """

    def __init__(self, p: float = 0.5, rng=None) -> None:
        self.p = check_probability(p, "p (dropout probability)", inclusive_high=True)
        self.rng = as_rng(rng)
        self._cache: tuple[np.ndarray | None, tuple[int, ...]] | None = None  # (scale or None, input shape)

    def _forward(self, x, owned: bool):
        scale = F._dropout_scale(x, self.p, self.training, self.rng, True)
        self._cache = (scale, x.shape)
        if scale is None:
            return x, owned  # identity
        return (np.multiply(x, scale, out=x) if owned else x * scale), True

    def _check_dout(self, dout):
        if self._cache is None:
            raise RuntimeError("Dropout.backward called before forward")
        scale, shape = self._cache
        dout = as_float_array(dout, "dout") if scale is None else as_model_input(dout, scale.dtype, "dout", where="Dropout.backward")
        if dout.shape != shape:
            raise ValueError(f"dout must have the forward input's shape {shape}, got {dout.shape}")
        return dout

    def _backward(self, dout, input_grad: bool, owned: bool):
        assert self._cache is not None  # _check_dout refuses a backward before forward
        scale = self._cache[0]
        if not input_grad:
            return None, False
        if scale is None:
            return dout, owned  # dL/dx = dL/dout
        return (np.multiply(dout, scale, out=dout) if owned else dout * scale), True  # same mask and scale

    def extra_repr(self) -> str:
        return f"p={self.p}"


class GaussianNoise(_Layer):
    """Adds N(0, std²) noise to its input at train time; the identity in eval mode.

    The noise does not depend on x, so dL/dx = dL/dout in both modes.  It is drawn in float64
    and cast to the input's floating dtype (a float32 input stays float32).
    """

    def __init__(self, std: float = 0.1, rng=None) -> None:
        self.std = check_positive(std, "std", allow_zero=True)
        self.rng = as_rng(rng)
        self._shape = None

    def _forward(self, x, owned: bool):
        self._shape, self._dtype = x.shape, x.dtype
        if not self.training or self.std == 0.0:
            return x, owned
        noise = self.rng.standard_normal(x.shape).astype(x.dtype, copy=False)
        noise *= self.std  # z ~ N(0, std²)
        noise += x  # y = x + z, in the fresh noise array
        return noise, True

    def _check_dout(self, dout):
        if self._shape is None:
            raise RuntimeError("GaussianNoise.backward called before forward")
        dout = as_model_input(dout, self._dtype, "dout", where="GaussianNoise.backward")
        if dout.shape != self._shape:
            raise ValueError(f"dout must have the forward input's shape {self._shape}, got {dout.shape}")
        return dout

    def _backward(self, dout, input_grad: bool, owned: bool):
        return (dout if input_grad else None), owned

    def extra_repr(self) -> str:
        return f"std={self.std}"


# ---------------------------------------------------------------------------------------------
# Normalization layers: BatchNorm1d, BatchNorm2d
# ---------------------------------------------------------------------------------------------


class _BatchNorm(_Layer):
    """Shared code of BatchNorm1d/2d: parameters ``gamma`` (ones), ``beta`` (zeros) and buffers
    ``running_mean`` (zeros), ``running_var`` (ones), all of ``dtype``; momentum weighs the
    *new* batch statistic.

    Train: y = γ x̂ + β, x̂ = (x − μ_B)/√(σ²_B + ε); backward in closed form,
    dx = γ/√(σ²_B + ε) · (dy − mean(dy) − x̂ · mean(dy x̂)) (means over the batch).
    """

    _buffer_names = ("running_mean", "running_var")
    _input_ndim: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, dtype=np.float64) -> None:
        if momentum is None:  # torch's momentum=None (a cumulative average) is not implemented
            raise ValueError("momentum must be a number in [0, 1], got None (torch's cumulative "
                             "average, momentum=None, is not implemented)")
        self.num_features = check_count(num_features, "num_features")
        self.eps = check_positive(eps, "eps")
        self.momentum = check_probability(momentum, "momentum", inclusive_high=True)
        dt = as_float_dtype(dtype)
        self.gamma = Parameter(np.ones(self.num_features, dtype=dt))  # γ: per-feature scale
        self.beta = Parameter(np.zeros(self.num_features, dtype=dt))  # β: per-feature shift
        self.running_mean = np.zeros(self.num_features, dtype=dt)
        self.running_var = np.ones(self.num_features, dtype=dt)
        self._cache: tuple[tuple[int, ...], np.ndarray, np.ndarray, bool] | None = None  # (shape, x − μ, r, training)

    # torch names the affine parameters weight and bias: the same Parameter objects
    @property
    def weight(self) -> Parameter:
        return self.gamma

    @property
    def bias(self) -> Parameter:
        return self.beta

    def _check_input(self, x):
        dt = self.gamma.data.dtype
        if not (type(x) is np.ndarray and x.dtype == dt):
            x = as_model_input(x, dt, "x", where=f"{type(self).__name__}({self.num_features})")
        if x.ndim not in self._input_ndim or x.shape[1] != self.num_features:
            dims = " or ".join(f"{d}-D" for d in self._input_ndim)
            raise ValueError(
                f"{type(self).__name__}({self.num_features}) expects {dims} input with {self.num_features} "
                f"features/channels on axis 1, got shape {x.shape}"
            )
        if self.training and x.size // self.num_features < 2:
            # torch: "Expected more than 1 value per channel when training"
            raise ValueError(f"batch norm in train mode needs more than 1 value per feature, got x of shape {x.shape}")
        return x

    def _forward(self, x, owned: bool):
        flat = x if x.ndim == 2 else F._channels_last(x)
        g, b = self.gamma.data, self.beta.data
        # x − μ is internal: the previous call's array is reused as workspace (a new 2-D array
        # per call would be fresh memory, page faults included, while the old one is alive)
        ws = self._cache[1] if self._cache is not None else None
        if ws is None or ws.shape != flat.shape or ws.dtype != flat.dtype:
            ws = None
        if self.training:
            out, xc, istd = F._batchnorm_train(flat, g, b, self.running_mean, self.running_var, self.momentum,
                                               self.eps, xc=ws)
        else:
            out, xc, istd = F._batchnorm_eval(flat, g, b, self.running_mean, self.running_var, self.eps, xc=ws)
        self._cache = (x.shape, xc, istd, self.training)
        return (out if x.ndim == 2 else F._channels_first(out, x.shape)), True

    def _check_dout(self, dout):
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        shape, xc = self._cache[0], self._cache[1]
        if not (type(dout) is np.ndarray and dout.dtype == xc.dtype):
            dout = as_model_input(dout, xc.dtype, "dout", where=f"{type(self).__name__}.backward")
        if dout.shape != shape:
            raise ValueError(f"dout must have the forward input's shape {shape}, got {dout.shape}")
        return dout

    def _backward(self, dout, input_grad: bool, owned: bool):
        assert self._cache is not None  # _check_dout refuses a backward before forward
        shape, xc, istd, train = self._cache
        flat = dout if len(shape) == 2 else F._channels_last(dout)
        backward = F._batchnorm_backward_train if train else F._batchnorm_backward_eval
        dx, dgamma, dbeta = backward(flat, xc, istd, self.gamma.data, input_grad)
        self.gamma._add(dgamma)
        self.beta._add(dbeta)
        if dx is not None and len(shape) != 2:
            dx = F._channels_first(dx, shape)
        return dx, dx is not None

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"
                + ("" if self.gamma.dtype == np.float64 else f", dtype={self.gamma.dtype}"))


class BatchNorm1d(_BatchNorm):
    """Batch norm of (N, D) (or (N, C, L)) per feature; torch.nn.BatchNorm1d's defaults."""

    _input_ndim = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm of (N, C, H, W) over C: statistics over N, H and W for every channel."""

    _input_ndim = (4,)
