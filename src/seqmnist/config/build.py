"""Every object of a run from its config group, each built once: a class checks its own arguments
as it is built, and its refusal is reported here by the config key the user typed."""

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from hydra.errors import InstantiationException
from hydra.utils import get_class, instantiate
from lightning.pytorch import Callback, LightningDataModule, seed_everything
from lightning.pytorch.callbacks import LearningRateMonitor
from lightning.pytorch.loggers import Logger
from omegaconf import DictConfig, OmegaConf

from seqmnist.config.checks import ensure_model_fits_in_memory, raise_if_any, setting_problems
from seqmnist.config.precision import resolve_precision
from seqmnist.data.datamodule import sequence_view_of
from seqmnist.data.sequence import SequenceView
from seqmnist.errors import ConfigError
from seqmnist.models import SequenceClassifierModule, SequenceNet
from seqmnist.records.checkpoints import read_checkpoint, run_config_of
from seqmnist.records.trackers import TrackerUnavailable, resume_arguments
from seqmnist.validation import InvalidArguments, invalid

log = logging.getLogger(__name__)


@dataclass
class Run:
    datamodule: LightningDataModule
    module: SequenceClassifierModule
    callbacks: list[Callback]
    loggers: list[Logger]


def build_run(cfg: DictConfig, tracker_runs: Mapping[str, str] | None = None) -> Run:
    """The seeded DataModule, LightningModule, callbacks and loggers of a train.py config; one
    ConfigError names every broken setting before anything is allocated. `tracker_runs`: the
    MLflow/W&B runs a resumed checkpoint was logged to, which its trackers continue."""
    problems = setting_problems(cfg)
    if not problems and cfg.get("seed") is not None:
        # first: the DataModule draws its shuffle seed, the network its initial weights
        seed_everything(cfg.seed, workers=True)
    datamodule = _refused("data", problems, lambda: instantiate(cfg.data))
    shapes = _refused("model", problems, lambda: _net_on_meta_device(cfg.model))
    callbacks = [
        _refused(f"callbacks.{name}", problems, lambda spec=spec: instantiate(spec))
        for name, spec in (cfg.get("callbacks") or {}).items()
        if spec
    ]
    raise_if_any(problems)
    ensure_model_fits_in_memory(shapes, cfg.model)
    loggers = build_loggers(cfg.get("logger"), tracker_runs)
    module = build_module(cfg)
    settle_precision(cfg, module.net)
    return Run(datamodule, module, _fed_by(callbacks, loggers), loggers)


def settle_precision(cfg: DictConfig, net: SequenceNet, trained_with: str | None = None) -> None:
    """Replace `trainer.precision=auto` by the precision chosen for this network and device, and
    keep why in `precision_choice` (the config tree, the run config, result.json)."""
    precision, reason = resolve_precision(
        cfg.trainer.precision, cfg.trainer.get("accelerator", "auto"), net, trained_with
    )
    cfg.trainer.precision = precision
    cfg.precision_choice = f"{precision}: {reason}"
    log.info("Precision %s", cfg.precision_choice)


def build_module(cfg: DictConfig) -> SequenceClassifierModule:
    """LightningModule(net, optimizer, scheduler) from the `model`, `optimizer`, `scheduler` groups."""
    return SequenceClassifierModule(
        net=instantiate(cfg.model),
        optimizer=instantiate(cfg.optimizer),
        scheduler=instantiate(cfg.scheduler) if cfg.get("scheduler") else None,
    )


def build_loggers(
    cfg: DictConfig | None, tracker_runs: Mapping[str, str] | None = None
) -> list[Logger]:
    """The `logger` group's loggers; a tracker whose store cannot be written stops the run here."""
    loggers = []
    for name, spec in (cfg or {}).items():
        if not spec:
            continue
        try:
            loggers.append(
                instantiate(spec, **resume_arguments(get_class(spec._target_), tracker_runs))
            )
        except InstantiationException as wrapped:
            if not isinstance(wrapped.__cause__, TrackerUnavailable):
                raise
            raise ConfigError(f"logger.{name}: {wrapped.__cause__}") from None
    return loggers


@dataclass
class Trained:
    module: SequenceClassifierModule  # in eval mode, on the CPU
    view: SequenceView  # how the run read images: mode, normalisation, pixel order
    run_config: DictConfig


def load_trained(checkpoint_path: Path) -> Trained:
    """The model of a train.py checkpoint, rebuilt from the run config stored beside its weights:
    what eval.py, predict.py and the notebook load."""
    checkpoint = read_checkpoint(checkpoint_path)
    run_cfg = run_config_of(checkpoint)
    module = build_module(run_cfg)
    module.load_state_dict(checkpoint["state_dict"])
    return Trained(module.eval(), sequence_view_of(run_cfg.data, checkpoint), run_cfg)


def _refused(key: str, problems: list[str], build: Callable[[], Any]) -> Any:
    """`build()`, or None with what the class refused added to `problems` under `key`."""
    try:
        return build()
    except InstantiationException as wrapped:  # Hydra wraps what a constructor raises
        error = wrapped.__cause__
        if not isinstance(error, InvalidArguments):
            raise
        problems += [
            invalid(f"{key}.{name}", value, allowed)
            for name, (value, allowed) in error.problems.items()
        ]
    return None


def _net_on_meta_device(model_cfg: DictConfig) -> SequenceNet:
    """The network's checks and sizes without allocating it."""
    input_size = OmegaConf.select(model_cfg, "input_size", throw_on_resolution_failure=False)
    with torch.device("meta"):
        # an input size that cannot be resolved comes from data.sequence, which the data check names
        return instantiate(model_cfg, input_size=28 if input_size is None else input_size)


def _fed_by(callbacks: list[Callback], loggers: list[Logger]) -> list[Callback]:
    """Without a logger, drop the callbacks that only feed one."""
    if loggers:
        return callbacks
    if any(isinstance(callback, LearningRateMonitor) for callback in callbacks):
        log.info("logger=none: the learning-rate monitor has nothing to write to and is skipped")
    return [callback for callback in callbacks if not isinstance(callback, LearningRateMonitor)]
