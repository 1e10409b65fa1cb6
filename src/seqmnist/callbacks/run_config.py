"""Checkpoints that know how they were made."""

from typing import Any

from lightning.pytorch import Callback, LightningModule, Trainer

from seqmnist.records.checkpoints import RUN_CONFIG_KEY


class StoreRunConfig(Callback):
    """Store the resolved run config (plain dicts, `weights_only`-loadable) in every checkpoint,
    from which `load_trained` rebuilds the data pipeline and network."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def on_save_checkpoint(
        self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        checkpoint[RUN_CONFIG_KEY] = self.config
