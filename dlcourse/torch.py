"""Bridges to PyTorch for GPU-scale runs and for the tests' float64 oracles.

torch is imported inside each function, never at module import, so ``import dlcourse`` and
``import dlcourse.torch`` stay light; a missing torch gives a clear ImportError when used.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - torch is a dependency
        raise ImportError("dlcourse.torch needs PyTorch: run `make setup` or see README, section GPU") from exc
    return torch


def device(prefer: str | None = None) -> Any:
    """The best available ``torch.device``: cuda, then mps, then cpu (or ``prefer`` if given)."""
    torch = _torch()
    if prefer is not None:
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def to_tensor(x, dtype=None, device=None, requires_grad: bool = False) -> Any:
    """Copy an ndarray into a torch tensor (float64 stays float64 unless ``dtype`` says otherwise)."""
    torch = _torch()
    t = torch.as_tensor(np.asarray(x), dtype=dtype, device=device).clone()
    return t.requires_grad_(requires_grad)


def to_numpy(t) -> np.ndarray:
    """Detach a tensor, move it to the CPU and return an ndarray."""
    return t.detach().cpu().numpy()
