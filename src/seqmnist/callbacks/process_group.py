"""DDP workers that exit cleanly."""

import atexit
import functools

import torch
from lightning.pytorch import Callback, LightningModule, Trainer


class ReleaseProcessGroup(Callback):
    """Destroy a live torch.distributed process group before the interpreter shuts down.

    ddp_spawn workers end by returning from Lightning's launcher with the gloo group still alive;
    torn down with the interpreter, its threads can abort the worker ("terminate called without an
    active exception") and fail a run that had finished. `setup` runs in every worker process.
    """

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        _register_once()


@functools.cache
def _register_once() -> None:
    atexit.register(_destroy_process_group)


def _destroy_process_group() -> None:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
