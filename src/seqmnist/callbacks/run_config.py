"""Checkpoints that know how they were made."""

from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from omegaconf import DictConfig, OmegaConf

from seqmnist.errors import CheckpointError

RUN_CONFIG_KEY = "seqmnist_config"


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


def load_run_config(checkpoint_path: Path) -> DictConfig:
    """Read the run config back from a checkpoint without unpickling anything but plain data."""
    if not checkpoint_path.is_file():
        raise CheckpointError(
            f"No checkpoint file at {checkpoint_path}. Pass ckpt_path=<run folder>/checkpoints/<name>.ckpt "
            f"(for example last.ckpt) from a train.py run."
        )
    try:
        checkpoint = torch.load(checkpoint_path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several unrelated types for unreadable files
        raise CheckpointError(
            f"{checkpoint_path} cannot be read as a checkpoint ({type(error).__name__}: "
            f"{' '.join(str(error).split())[:200]}). Pass a .ckpt file written by train.py."
        ) from error
    if not isinstance(checkpoint, dict) or RUN_CONFIG_KEY not in checkpoint:
        raise CheckpointError(
            f"{checkpoint_path} was not written by this project's train.py (it has no "
            f"'{RUN_CONFIG_KEY}' entry), so its data and model settings are unknown. Pass a checkpoint "
            f"from logs/train/.../checkpoints/."
        )
    return OmegaConf.create(checkpoint[RUN_CONFIG_KEY])
