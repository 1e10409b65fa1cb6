"""The LightningModule, callbacks and loggers from their config groups (data and trainer are
instantiated directly from theirs)."""

import logging
from typing import Any

from hydra.utils import instantiate
from lightning.pytorch import Callback
from lightning.pytorch.callbacks import LearningRateMonitor
from lightning.pytorch.loggers import Logger
from omegaconf import DictConfig

from seqmnist.models import SequenceClassifierModule

log = logging.getLogger(__name__)


def build_module(cfg: DictConfig) -> SequenceClassifierModule:
    """LightningModule(net, optimizer, scheduler) from the `model`, `optimizer`, `scheduler` groups."""
    return SequenceClassifierModule(**module_arguments(cfg))


def module_arguments(cfg: DictConfig) -> dict[str, Any]:
    """The LightningModule's constructor arguments a run config describes."""
    return {
        "net": instantiate(cfg.model),
        "optimizer": instantiate(cfg.optimizer),
        "scheduler": instantiate(cfg.scheduler) if cfg.get("scheduler") else None,
        "num_classes": cfg.model.num_classes,
    }


def build_callbacks(cfg: DictConfig | None, with_logger: bool = True) -> list[Callback]:
    """Instantiate the `callbacks` group; without a logger, drop those that only feed one."""
    callbacks = [instantiate(spec) for spec in (cfg or {}).values() if spec]
    if with_logger:
        return callbacks
    for callback in callbacks:
        if isinstance(callback, LearningRateMonitor):
            log.info(
                "logger=none: the learning-rate monitor has nothing to write to and is skipped"
            )
    return [callback for callback in callbacks if not isinstance(callback, LearningRateMonitor)]


def build_loggers(cfg: DictConfig | None) -> list[Logger]:
    return [instantiate(spec) for spec in (cfg or {}).values() if spec]
