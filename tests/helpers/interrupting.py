"""Callbacks for tests that need a run signalled at an exact point (mid-epoch, in its test, ...)."""

import os
import signal
from pathlib import Path

from lightning.pytorch import Callback, LightningModule, Trainer


class SigtermAtStep(Callback):
    """Sends this process a real SIGTERM once `step` optimizer steps are done."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, *_: object) -> None:
        if trainer.global_step == self.step:
            os.kill(os.getpid(), signal.SIGTERM)


class SigtermAtTestBatch(Callback):
    """Sends this process a real SIGTERM after test batch `batch` (the last one, if it is)."""

    def __init__(self, batch: int) -> None:
        self.batch = batch

    def on_test_batch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        outputs: object,
        batch: object,
        batch_idx: int,
    ) -> None:
        if batch_idx == self.batch:
            os.kill(os.getpid(), signal.SIGTERM)


class SigtermInSanityCheck(Callback):
    """Sends this process a real SIGTERM during the validation sanity check before training."""

    def on_validation_batch_end(self, trainer: Trainer, *_: object, **__: object) -> None:
        if trainer.sanity_checking:
            os.kill(os.getpid(), signal.SIGTERM)


class CtrlCAtStep(Callback):
    """What Ctrl-C in a terminal does once `step` optimizer steps are done: SIGINT to every process
    of the foreground process group (a sweep and all its workers), not only to this one.

    Only the first run to get there presses it: it leaves the file `pressed`, which the jobs of the
    same sweep see.
    """

    def __init__(self, step: int, pressed: str) -> None:
        self.step = step
        self.pressed = Path(pressed)

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, *_: object) -> None:
        if trainer.global_step == self.step and not self.pressed.exists():
            self.pressed.touch()
            os.killpg(os.getpgid(0), signal.SIGINT)
