"""A run that `trainer.max_steps` ends mid-epoch validates its final weights before it stops."""

from typing import Any

from lightning.pytorch import Callback, LightningModule, Trainer


class ValidateFinalSteps(Callback):
    """Lightning validates at the end of an epoch, or when asked to stop early; a run that reaches
    `max_steps` mid-epoch just ends (Lightning #9855, "working as intended"). Its last steps are
    then never validated, so the best checkpoint, which train.py tests, cannot be the final
    weights: `experiment=tf_tutorial` (10,000 steps, 11.6 epochs) would leave its last 551 steps
    out, and a one-cycle schedule, whose best weights are its last, would be tested before its
    end (`experiment=fast_99`: 98.95 % instead of 99.1 %). Asking the loop to
    stop at the step that reaches `max_steps` takes Lightning's early-stopping path, which
    validates (and checkpoints) first.
    """

    def on_train_batch_end(
        self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if 0 < trainer.max_steps <= trainer.global_step:
            trainer.should_stop = True
