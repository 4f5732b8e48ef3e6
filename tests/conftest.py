"""Fixtures for the unit tests (the environment for every test and kernel is set in ../conftest.py)."""

import sys

import pytest


@pytest.fixture(autouse=True)
def _close_figures():
    """Close every matplotlib figure a test opened (plots and explorer callbacks draw into new ones)."""
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
