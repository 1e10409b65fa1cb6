"""An exponential moving average of the weights on Lightning's WeightAveraging, debiased, and made
to test what validation scored."""

from collections.abc import Callable
from typing import Any

import torch
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import WeightAveraging
from lightning.pytorch.trainer.states import TrainerFn
from torch import Tensor


class AveragedWeights(WeightAveraging):
    """The weights averaged with weight `decay ** age` per optimizer step, divided by the sum of
    those weights (the debiasing of Adam's moments). Lightning's EMAWeightAveraging starts from
    the first step's weights and keeps `decay ** steps` of them, so after one epoch of 430 steps
    two thirds of its average is that untrained network; debiased, a short run tests the average
    of the steps it took, and a long one the same as Lightning's.

    Validates, checkpoints and tests the average: Lightning's callback, testing a checkpoint in the
    same Trainer, would load the raw weights stored beside it (which eval.py does not test). Only a
    resumed fit restores both."""

    def __init__(self, decay: float = 0.999, device: str | None = None) -> None:
        if not 0 < decay < 1:
            raise ValueError(f"decay must be between 0 and 1 (exclusive), got {decay}")
        super().__init__(device=device, multi_avg_fn=debiased_ema(decay))

    def on_load_checkpoint(
        self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        if trainer.state.fn == TrainerFn.FITTING:
            super().on_load_checkpoint(trainer, pl_module, checkpoint)


def debiased_ema(decay: float) -> Callable[[list[Tensor], list[Tensor], Tensor], None]:
    """A `multi_avg_fn` for torch's AveragedModel (which copies the first weights itself): after
    `updates` earlier updates, a step towards the current weights by
    (1 - decay) / (1 - decay ** (updates + 1))."""

    @torch.no_grad()
    def update(averages: list[Tensor], currents: list[Tensor], updates: Tensor) -> None:
        weight = (1 - decay) / (1 - decay ** (int(updates) + 1))
        for average, current in zip(averages, currents, strict=True):
            if average.is_floating_point():
                average.lerp_(current, weight)
            else:
                average.copy_(current)

    return update
