"""dlcourse: the numpy package behind the course on the foundations of deep learning.

Three layers, each importing only the ones before it:

* the top level is the library of algorithms, one module per family (``dlcourse.nn``,
  ``dlcourse.optim``, ``dlcourse.losses``, ...);
* :mod:`dlcourse.models`: the models the course builds from it (perceptron, the hand-derived
  two-layer network, the MLP builder, the RBF network, linear regression by gradient descent);
* :mod:`dlcourse.lecture`: what only the lecture notebooks use (scale, plots, widgets,
  experiments); :mod:`dlcourse.autograde`: the grading tool and the ``dlcourse`` command.

Submodules are imported on first use, so that ``import dlcourse`` stays fast and imports
neither numpy nor torch nor matplotlib.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.2.0"

_SUBMODULES = (
    "activations", "autodiff", "data", "diagnostics", "functional", "gradcheck", "init", "losses", "nn", "optim",
    "regularization", "torch", "train", "validation", "models", "lecture", "autograde",
)

__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name: str) -> Any:
    # PEP 562: import the submodule lazily the first time it is touched.
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'dlcourse' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
