"""dlcourse: the numpy package behind the course on the foundations of deep learning.

Submodules are imported on first use (``dlcourse.nn``, ``dlcourse.optim``, ...), so that
``import dlcourse`` stays fast and never imports torch or matplotlib.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = (
    "activations", "autodiff", "checks", "config", "data", "experiments", "functional",
    "deepnets", "gradcheck", "init", "losses", "mlp", "nn", "optim", "perceptron", "plots", "rbf",
    "regularization", "surfaces", "torch", "train", "validation", "widgets",
)

__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name: str) -> Any:
    # PEP 562: import the submodule lazily the first time it is touched.
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'dlcourse' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
