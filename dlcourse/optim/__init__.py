"""Optimizers, gradient clipping and learning-rate schedules with torch.optim's API.

>>> from dlcourse.optim import SGD, Adam, clip_grad_norm_
>>> from dlcourse.optim.schedules import StepLR
"""

from dlcourse.optim import schedules, second_order
from dlcourse.optim.clip import clip_grad_norm_, clip_grad_value_
from dlcourse.optim.optimizers import (
    SGD,
    Adadelta,
    Adagrad,
    Adam,
    AdamW,
    DeltaBarDelta,
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
    "DeltaBarDelta", "clip_grad_value_", "clip_grad_norm_", "schedules", "second_order", "LRScheduler", "StepLR", "InverseDecay",
    "ExponentialLR", "LinearLR", "OneCycleLR", "CosineAnnealingWarmRestarts", "ReduceLROnPlateau",
]
