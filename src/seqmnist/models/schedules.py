"""Learning-rate schedules built from the run's length.

Contract for every scheduler config: a partial that takes `(optimizer, total_steps=...)` and is
stepped after every optimizer step.
"""

import math

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR, LRScheduler, OneCycleLR

# the fewest steps with room for a warm-up (>= 2 steps) and an annealing phase (>= 1 step)
MIN_ONE_CYCLE_STEPS = 3


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
) -> LRScheduler:
    """torch's OneCycleLR, cycling momentum only where the optimizer has one, for any run length.

    OneCycleLR refuses optimizers without momentum and turns plain SGD into momentum SGD, and
    its warm-up can be zero-length or end between steps on short runs: here it is a whole number
    of steps (at least 2, with 1 left to anneal), so every run of 3+ steps peaks at `max_lr`.
    """
    settings = optimizer.defaults
    # a parameter group with its own lr (a network's optimizer_groups) peaks in proportion
    peaks = [
        max_lr if group["lr"] == settings["lr"] else max_lr * group["lr"] / settings["lr"]
        for group in optimizer.param_groups
    ]
    if total_steps < MIN_ONE_CYCLE_STEPS:
        for group, peak in zip(optimizer.param_groups, peaks, strict=True):
            group["lr"] = peak
        return LambdaLR(optimizer, lambda step: max(0.0, 1.0 - step / max(1, total_steps - 1)))
    warmup_steps = min(max(round(pct_start * total_steps), 2), total_steps - 1)
    has_momentum = settings.get("momentum", 0) > 0 or "betas" in settings
    return OneCycleLR(
        optimizer,
        max_lr=peaks,
        total_steps=total_steps,
        pct_start=_fraction_reaching(warmup_steps, total_steps),
        cycle_momentum=has_momentum,
    )


def _fraction_reaching(steps: int, total: int) -> float:
    """The smallest float `f` with `f * total >= steps`: `steps / total` can fall one ulp short,
    which would move OneCycleLR's peak off its step."""
    fraction = steps / total
    while fraction * total < steps:
        fraction = math.nextafter(fraction, 1.0)
    return fraction
