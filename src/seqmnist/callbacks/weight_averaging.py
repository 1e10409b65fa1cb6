"""Lightning's exponential moving average of the weights, made to test what validation scored."""

from typing import Any

from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import EMAWeightAveraging
from lightning.pytorch.trainer.states import TrainerFn


class AveragedWeights(EMAWeightAveraging):
    """Validates, checkpoints and tests the moving average of the weights: Lightning's callback,
    testing a checkpoint in the same Trainer, would load the raw weights stored beside the average
    (which validation scored and eval.py tests). Only a resumed fit restores both."""

    def on_load_checkpoint(
        self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        if trainer.state.fn == TrainerFn.FITTING:
            super().on_load_checkpoint(trainer, pl_module, checkpoint)
