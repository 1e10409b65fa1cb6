"""Lightning's exponential moving average of the weights, made to test what validation scored."""

from typing import Any

from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import EMAWeightAveraging
from lightning.pytorch.trainer.states import TrainerFn


class AveragedWeights(EMAWeightAveraging):
    """Validates, checkpoints and tests the moving average of the weights.

    Lightning's callback puts the average in a checkpoint's `state_dict` (so validation, the best
    checkpoint and eval.py all see it) but, when the same Trainer later tests that checkpoint,
    loads the raw weights stored beside it: train.py would print the test accuracy of weights
    that were never validated, and eval.py would disagree with it (seen in Lightning 2.6.6; no
    upstream fix yet). Outside fitting, the average stays; resuming a fit still restores both.
    """

    def on_load_checkpoint(
        self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        if trainer.state.fn == TrainerFn.FITTING:
            super().on_load_checkpoint(trainer, pl_module, checkpoint)
