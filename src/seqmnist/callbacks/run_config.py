"""Checkpoints that know how they were made and where they were tracked."""

from typing import Any

from lightning.pytorch import Callback, LightningModule, Trainer

from seqmnist.records.checkpoints import RUN_CONFIG_KEY
from seqmnist.records.trackers import TRACKER_RUNS_KEY, tracker_runs


class StoreRunConfig(Callback):
    """Store the resolved run config (plain dicts, `weights_only`-loadable) in every checkpoint,
    from which `load_trained` rebuilds the data pipeline and network, and the tracker runs (MLflow,
    W&B) a resumed fit continues."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def on_save_checkpoint(
        self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        checkpoint[RUN_CONFIG_KEY] = self.config
        checkpoint[TRACKER_RUNS_KEY] = tracker_runs(trainer.loggers)
