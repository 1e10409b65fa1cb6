"""Turn composed config groups into objects: the only place that knows the config's shape."""

import logging

from hydra.utils import instantiate
from lightning.pytorch import Callback
from lightning.pytorch.loggers import Logger
from omegaconf import DictConfig

from seqmnist.models import SequenceClassifierModule

log = logging.getLogger(__name__)


def build_module(cfg: DictConfig) -> SequenceClassifierModule:
    """LightningModule(net, optimizer, scheduler) from the `model`, `optimizer`, `scheduler` groups."""
    return SequenceClassifierModule(
        net=instantiate(cfg.model),
        optimizer=instantiate(cfg.optimizer),
        scheduler=instantiate(cfg.scheduler) if cfg.get("scheduler") else None,
        num_classes=cfg.model.num_classes,
    )


def build_callbacks(cfg: DictConfig | None) -> list[Callback]:
    return [instantiate(spec) for spec in (cfg or {}).values() if spec]


def build_loggers(cfg: DictConfig | None) -> list[Logger]:
    return [instantiate(spec) for spec in (cfg or {}).values() if spec]
