"""Callbacks that make a part of a run slow, to show what a clock counts."""

import time

from lightning.pytorch import Callback, LightningModule, Trainer


class SlowValidation(Callback):
    """Every validation (the sanity check included) takes `seconds` longer."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def on_validation_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        time.sleep(self.seconds)
