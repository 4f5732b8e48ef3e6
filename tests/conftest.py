"""Fixtures for the unit tests (the environment for every test and kernel is set in ../conftest.py)."""

import os
import sys

import pytest
from hypothesis import settings

# CI draws the same hypothesis examples on every run (a landing must not hinge on luck); locally
# each run explores new ones, and a failure prints the seed to reproduce it.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _close_figures():
    """Close every matplotlib figure a test opened (plots and explorer callbacks draw into new ones)."""
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
