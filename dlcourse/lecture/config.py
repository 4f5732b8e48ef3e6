"""One place that decides how big every experiment is: ``quick`` (tests, CI) or ``full``."""

from __future__ import annotations

import os
import sys
from typing import Literal, TypeVar

Scale = Literal["quick", "full"]
T = TypeVar("T")

ENV_VAR = "DLCOURSE_SCALE"


def scale() -> Scale:
    """Return ``"quick"`` or ``"full"`` from ``$DLCOURSE_SCALE``.

    Unset, it is ``"quick"`` under pytest and ``"full"`` elsewhere (JupyterLab, scripts).
    """
    value = os.environ.get(ENV_VAR, "").strip().lower()
    if value in ("quick", "full"):
        return value  # type: ignore[return-value]
    if value:
        raise ValueError(f"{ENV_VAR} must be 'quick' or 'full', got {value!r}")
    return "quick" if "pytest" in sys.modules else "full"


def is_quick() -> bool:
    """True when experiments should run at their small, CI-sized scale."""
    return scale() == "quick"


def pick(quick: T, full: T) -> T:
    """Return ``quick`` or ``full`` according to :func:`scale` (e.g. ``epochs = pick(20, 300)``)."""
    return quick if is_quick() else full
