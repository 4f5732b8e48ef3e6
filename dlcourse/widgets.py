"""ipywidgets explorers for the notebooks.

Each explorer is split in two: a plain, unit-tested *callback* that computes what to show
from the slider values (returns numbers/arrays and draws on a given Axes), and a thin
``*_explorer()`` that wires ipywidgets to it.  ipywidgets is imported inside the explorers.
"""

from __future__ import annotations

import numpy as np

# ---------------------------------------------------------------------------------------------
# Notebooks 01-02: perceptron, backprop
# ---------------------------------------------------------------------------------------------

# ---------------------------------------------------------------------------------------------
# Notebooks 03-04: initialization, optimizers
# ---------------------------------------------------------------------------------------------

# ---------------------------------------------------------------------------------------------
# Notebooks 05-06: regularization, batch normalization
# ---------------------------------------------------------------------------------------------
