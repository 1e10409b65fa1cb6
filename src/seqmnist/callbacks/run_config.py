"""Checkpoints that know how they were made."""

from typing import Any

from lightning.pytorch import Callback, LightningModule, Trainer

from seqmnist.records.checkpoints import RUN_CONFIG_KEY


class StoreRunConfig(Callback):
    """Store the resolved run config (plain dicts, safe for `weights_only` loading) in every checkpoint.

    `eval.py` rebuilds the exact data pipeline and network from it, so a checkpoint is
    self-describing: no need to remember which overrides produced it.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def on_save_checkpoint(
        self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        checkpoint[RUN_CONFIG_KEY] = self.config
