"""What only the lecture notebooks use: the scale of their experiments, figures, explorers.

* :mod:`~dlcourse.lecture.config`: quick or full scale (``DLCOURSE_SCALE``);
* :mod:`~dlcourse.lecture.plots`, :mod:`~dlcourse.lecture.widgets`: figures and ipywidgets
  explorers (their callbacks are plain functions, tested without a browser);
* :mod:`~dlcourse.lecture.surfaces`: 2-D loss surfaces and optimizer trajectories on them;
* :mod:`~dlcourse.lecture.perceptron_limits`: notebook 01's measurements;
* :mod:`~dlcourse.lecture.experiments`: the seeded experiments of notebooks 03, 04 and 06;
* :mod:`~dlcourse.lecture.approximation`: notebook 01's universal approximation and depths;
* :mod:`~dlcourse.lecture.depth`: notebook 03's experiments at depth (numpy or torch);
* :mod:`~dlcourse.lecture.mnist_experiments`: the full-scale MNIST runs of notebooks 04-06 (torch);
* :mod:`~dlcourse.lecture.site`: ``make html``, the notebooks as an offline static site;
* :mod:`~dlcourse.lecture.lab`: ``make lab``'s pre-save hook (course notebooks saved without outputs).
"""

from __future__ import annotations

import importlib
from typing import Any

_SUBMODULES = ("approximation", "config", "depth", "experiments", "lab", "mnist_experiments", "perceptron_limits",
               "plots", "site", "surfaces", "widgets")
__all__ = list(_SUBMODULES)


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'dlcourse.lecture' has no attribute {name!r}")
