"""Learning-rate schedules built from the run's length.

Contract for every scheduler config: a partial that takes `(optimizer, total_steps=...)` and is
stepped after every optimizer step.
"""

import math

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR, OneCycleLR


def warmup_cosine(
    optimizer: Optimizer, total_steps: int, warmup_fraction: float = 0.05
) -> LambdaLR:
    """Linear warm-up to the optimizer's lr, then cosine decay to zero at `total_steps`."""
    warmup_steps = max(1, int(total_steps * warmup_fraction))

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    return LambdaLR(optimizer, factor)


def one_cycle(
    optimizer: Optimizer, total_steps: int, max_lr: float, pct_start: float = 0.25
) -> OneCycleLR:
    """torch's OneCycleLR, cycling momentum only where the optimizer has one.

    OneCycleLR refuses optimizers without momentum (Adadelta) and would silently turn plain SGD
    into momentum SGD; this keeps every optimizer option combinable with this schedule.
    """
    settings = optimizer.defaults
    has_momentum = settings.get("momentum", 0) > 0 or "betas" in settings
    return OneCycleLR(
        optimizer,
        max_lr=max_lr,
        total_steps=total_steps,
        pct_start=pct_start,
        cycle_momentum=has_momentum,
    )
