"""Optimizers, gradient clipping and learning-rate schedules with torch.optim's API.

>>> from dlcourse.optim import SGD, Adam, clip_grad_norm_
>>> from dlcourse.optim.schedules import StepLR
"""

from dlcourse.optim import schedules
from dlcourse.optim.clip import clip_grad_norm_, clip_grad_value_
from dlcourse.optim.optimizers import (
    SGD,
    Adadelta,
    Adagrad,
    Adam,
    AdamW,
    Optimizer,
    RMSprop,
    SimplifiedNesterov,
)
from dlcourse.optim.schedules import (
    CosineAnnealingWarmRestarts,
    ExponentialLR,
    InverseDecay,
    LinearLR,
    LRScheduler,
    OneCycleLR,
    ReduceLROnPlateau,
    StepLR,
)

__all__ = [
    "Optimizer", "SGD", "SimplifiedNesterov", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW",
    "clip_grad_value_", "clip_grad_norm_", "schedules", "LRScheduler", "StepLR", "InverseDecay",
    "ExponentialLR", "LinearLR", "OneCycleLR", "CosineAnnealingWarmRestarts", "ReduceLROnPlateau",
]
