"""A run that `trainer.max_steps` ends mid-epoch validates its final weights before it stops."""

from typing import Any

from lightning.pytorch import Callback, LightningModule, Trainer


class ValidateFinalSteps(Callback):
    """A run that reaches `max_steps` mid-epoch just ends, unvalidated (Lightning #9855); asking
    the loop to stop there takes the early-stopping path, which validates and checkpoints first."""

    def on_train_batch_end(
        self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if 0 < trainer.max_steps <= trainer.global_step:
            trainer.should_stop = True
