"""Learning-rate schedules built from the run's length.

Contract for every scheduler config: a partial that takes `(optimizer, total_steps=...)` and is
stepped after every optimizer step. torch's OneCycleLR fits it as is; the others live here.
"""

import math

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR


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
