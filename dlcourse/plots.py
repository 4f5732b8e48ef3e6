"""Figures the notebooks draw.  matplotlib is imported here, not by ``import dlcourse``.

Each function takes data (and optionally an ``ax``) and returns the matplotlib Axes or Figure,
so notebooks stay short and tests can check what was drawn.
"""

from __future__ import annotations


import matplotlib.pyplot as plt
import numpy as np


def _axes(ax=None, figsize=(5, 4)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


# ---------------------------------------------------------------------------------------------
# Shared: loss curves, decision boundaries (notebooks 01-02 section owner adds below)
# ---------------------------------------------------------------------------------------------

# ---------------------------------------------------------------------------------------------
# Notebooks 01-02: perceptron, backprop
# ---------------------------------------------------------------------------------------------

# ---------------------------------------------------------------------------------------------
# Notebooks 03-04: initialization, optimizers
# ---------------------------------------------------------------------------------------------

# ---------------------------------------------------------------------------------------------
# Notebooks 05-06: regularization, batch normalization
# ---------------------------------------------------------------------------------------------
