"""A callback for tests that need a training process signalled at an exact point (mid-epoch)."""

import os
import signal

from lightning.pytorch import Callback, LightningModule, Trainer


class SigtermAtStep(Callback):
    """Sends this process a real SIGTERM once `step` optimizer steps are done."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, *_: object) -> None:
        if trainer.global_step == self.step:
            os.kill(os.getpid(), signal.SIGTERM)
