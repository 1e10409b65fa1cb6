"""Ctrl-C or SIGTERM (a cluster's time limit, `kill`) must not lose the training done so far."""

import logging
import sys
from pathlib import Path

from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities.exceptions import SIGTERMException

log = logging.getLogger(__name__)

INTERRUPTED_CHECKPOINT = "interrupted.ckpt"


class CheckpointOnInterrupt(Callback):
    """Write `<dirpath>/interrupted.ckpt` when a fit is interrupted, and print how to resume it.

    Only interruptions: a crash or a diverged loss must not overwrite good checkpoints with
    the state that caused it.
    """

    def __init__(self, dirpath: str) -> None:
        self.dirpath = Path(dirpath)

    def on_exception(
        self, trainer: Trainer, pl_module: LightningModule, exception: BaseException
    ) -> None:
        interrupted = isinstance(exception, KeyboardInterrupt | SIGTERMException)
        # fitting includes its validation epochs: a signal may well arrive during one
        if not interrupted or trainer.state.fn != TrainerFn.FITTING or trainer.sanity_checking:
            return
        path = self.dirpath / INTERRUPTED_CHECKPOINT
        trainer.save_checkpoint(path)
        message = (
            f"Training was interrupted at epoch {trainer.current_epoch}, global step {trainer.global_step}. "
            f"Saved a resumable checkpoint: {path}. Resume with the same command plus ckpt_path={path}"
        )
        log.warning(message)
        print(message, file=sys.stderr, flush=True)
