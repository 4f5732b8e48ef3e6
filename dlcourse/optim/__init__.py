"""Optimizers, gradient clipping and learning-rate schedules with torch.optim's API.

>>> from dlcourse.optim import SGD, Adam, clip_grad_norm_
>>> from dlcourse.optim.schedules import StepLR
"""

from dlcourse.optim import schedules
from dlcourse.optim.clip import clip_grad_norm_, clip_grad_value_
from dlcourse.optim.optimizers import (
    SGD,
    AdaDelta,
    Adadelta,
    AdaGrad,
    Adagrad,
    Adam,
    AdamW,
    Optimizer,
    RMSprop,
    SimplifiedNesterov,
)
from dlcourse.optim.schedules import (
    CosineWarmRestarts,
    ExponentialDecay,
    InverseDecay,
    LRScheduler,
    OneCycle,
    StepLR,
)

__all__ = [
    "Optimizer", "SGD", "SimplifiedNesterov", "AdaGrad", "Adagrad", "RMSprop", "AdaDelta", "Adadelta",
    "Adam", "AdamW", "clip_grad_value_", "clip_grad_norm_", "schedules", "LRScheduler", "StepLR",
    "InverseDecay", "ExponentialDecay", "OneCycle", "CosineWarmRestarts",
]
