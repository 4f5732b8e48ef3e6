"""The models the course builds from the library.

* :mod:`~dlcourse.models.perceptron`: Rosenblatt's perceptron and its learning rule;
* :mod:`~dlcourse.models.two_layer`: the two-layer network with its gradients derived by hand;
* :mod:`~dlcourse.models.mlp`: :func:`~dlcourse.models.mlp.build_mlp`, the one MLP builder;
* :mod:`~dlcourse.models.rbf`: the radial-basis-function network;
* :mod:`~dlcourse.models.linear_regression`: f_θ(x) = θ₀ + θ₁x fitted by gradient descent.
"""

from __future__ import annotations

import importlib
from typing import Any

_SUBMODULES = ("linear_regression", "mlp", "perceptron", "rbf", "two_layer")
__all__ = list(_SUBMODULES)


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'dlcourse.models' has no attribute {name!r}")
