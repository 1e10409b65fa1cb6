"""Checkpoints that know how they were made and where they were tracked."""

from typing import Any

from lightning.pytorch import Callback, LightningModule, Trainer

from seqmnist.data.sequence import SequenceView
from seqmnist.records.checkpoints import PIXEL_ORDER_KEY, RUN_CONFIG_KEY
from seqmnist.records.trackers import TRACKER_RUNS_KEY, tracker_runs


class StoreRunConfig(Callback):
    """Store the resolved run config (plain dicts, `weights_only`-loadable) in every checkpoint,
    from which `load_trained` rebuilds the data pipeline and network, the pixel order of a
    `permuted` run (the order itself: another torch may draw another from the same seed), and the
    tracker runs (MLflow, W&B) a resumed fit continues."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def on_save_checkpoint(
        self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        checkpoint[RUN_CONFIG_KEY] = self.config
        checkpoint[TRACKER_RUNS_KEY] = tracker_runs(trainer.loggers)
        view = _sequence_view(trainer)
        if view is not None and view.permutation is not None:
            checkpoint[PIXEL_ORDER_KEY] = view.permutation

    def on_load_checkpoint(
        self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        view = _sequence_view(trainer)
        if view is not None:
            view.adopt_permutation(checkpoint.get(PIXEL_ORDER_KEY))


def _sequence_view(trainer: Trainer) -> SequenceView | None:
    """How the trainer's DataModule reads images (a DataModule of another kind has none)."""
    return getattr(trainer.datamodule, "sequence_view", None)
