"""What `python train.py` does: build, fit, test the best checkpoint, report."""

import logging
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.callbacks import WeightAveraging
from lightning.pytorch.loggers import Logger, TensorBoardLogger
from omegaconf import DictConfig, OmegaConf

from seqmnist.callbacks import SECONDS_TO_TARGET, ReleaseProcessGroup, StoreRunConfig
from seqmnist.config.build import Run, build_run
from seqmnist.config.checks import ensure_accelerator_available
from seqmnist.errors import ConfigError
from seqmnist.machine import configure_process, hardware, software_stack, split_threads
from seqmnist.records.checkpoints import (
    LATEST,
    AtomicCheckpointIO,
    ensure_run_unfinished,
    ensure_training_left,
    ensure_weight_averaging_resumes,
    ensure_weights_fit,
    read_checkpoint,
    resolve_checkpoint,
)
from seqmnist.records.report import as_floats, print_config_tree, print_metrics, tested_on
from seqmnist.records.trackers import (
    TRACKER_RUNS_KEY,
    finish,
    record_outcome,
)
from seqmnist.sigterm import SIGTERM_WATCH

log = logging.getLogger(__name__)

HPARAMS_METRICS = ("val/acc_best", "test/acc", "test/loss", "model/params")


def train(cfg: DictConfig) -> dict[str, float]:
    """Fit, then test the best checkpoint on the full official test set (unless `test=false`);
    return every final metric."""
    ensure_accelerator_available(cfg.trainer)
    # before the build: a resumed fit's trackers are built to continue the runs it was logged to
    resume_path, checkpoint = _checkpoint_to_resume(cfg)
    run = build_run(cfg, checkpoint.get(TRACKER_RUNS_KEY) if checkpoint else None)
    split_threads(cfg.get("threads"), _parallel_jobs_setting())
    configure_process(cfg.float32_precision)
    print_config_tree(cfg, Path(cfg.paths.output_dir) / "config_tree.txt")
    run_config: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    callbacks = [*run.callbacks, StoreRunConfig(run_config), ReleaseProcessGroup()]
    if checkpoint is not None:
        averaging = any(isinstance(callback, WeightAveraging) for callback in callbacks)
        _ensure_resumable(cfg, checkpoint, Path(resume_path), run.module, averaging)
    try:
        metrics, best, tested = _fit_and_test(cfg, run_config, run, callbacks, resume_path)
    finally:
        not_logged = finish(run.loggers)
    if not_logged:
        log.warning(
            "Not everything reached the trackers; the run itself is unaffected (checkpoints, "
            "result.json and the other loggers are complete). %s",
            " ".join(not_logged),
        )
    print_metrics(
        f"Final metrics ({tested})",
        {
            name: value
            for name, value in metrics.items()
            if name.startswith(("test/", "val/acc_best", SECONDS_TO_TARGET))
        },
        {"tested checkpoint": best or "final weights", "run folder": str(cfg.paths.output_dir)},
    )
    if cfg.get("optimized_metric") and cfg.optimized_metric not in metrics:
        raise ConfigError(
            f"optimized_metric={cfg.optimized_metric!r} was never logged; logged metrics are "
            f"{sorted(metrics)}. Set optimized_metric to one of them."
        )
    return metrics


def _fit_and_test(
    cfg: DictConfig,
    run_config: dict[str, Any],
    run: Run,
    callbacks: list[Callback],
    resume_path: str | None,
) -> tuple[dict[str, float], str, str]:
    """Final metrics, the tested checkpoint ("" for the final weights) and what it was tested on."""
    datamodule, module = run.datamodule, run.module
    module.example_input_array = datamodule.example_sequence()
    trainer: Trainer = instantiate(
        cfg.trainer,
        callbacks=callbacks,
        logger=run.loggers or False,
        plugins=[AtomicCheckpointIO()],
    )
    # what the numbers depend on besides the settings, as result.json records it
    machine = {"stack": software_stack(), "hardware": hardware().as_record()}
    log.info("Stack %s; hardware %s", machine["stack"], machine["hardware"])
    for logger in trainer.loggers:
        logger.log_hyperparams({**run_config, "machine": machine})
    # weights_only: a checkpoint from elsewhere cannot run code here (ours hold plain data)
    trainer.fit(module, datamodule=datamodule, ckpt_path=resume_path, weights_only=True)
    SIGTERM_WATCH.stop_if_received()
    metrics = as_floats(trainer.callback_metrics)
    best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    if cfg.get("test", True):
        if not best:
            log.warning("No best checkpoint was saved: testing the final weights.")
        trainer.test(module, datamodule=datamodule, ckpt_path=best or None, weights_only=True)
        SIGTERM_WATCH.stop_if_received()
        metrics.update(as_floats(trainer.callback_metrics))
        tested = tested_on(trainer, datamodule.record.title)
    else:
        tested = "test=false: the test set was not read"
    metrics["model/params"] = float(sum(p.numel() for p in module.net.parameters()))
    _fill_hparams_tab(trainer.loggers, run_config, metrics)
    record_outcome(
        trainer.loggers,
        {"model/params": metrics["model/params"]},
        {"run_folder": cfg.paths.output_dir, "tested_checkpoint": best or "final weights"},
    )
    return metrics, best, tested


def _checkpoint_to_resume(cfg: DictConfig) -> tuple[str | None, dict[str, Any] | None]:
    """Resolve `ckpt_path` (a path, or `latest`) and read it."""
    if not cfg.get("ckpt_path"):
        return None, None
    path = resolve_checkpoint(cfg.ckpt_path, Path(cfg.paths.log_dir) / cfg.task_name)
    if cfg.ckpt_path == LATEST:
        ensure_run_unfinished(path)
    return str(path), read_checkpoint(path)


def _ensure_resumable(
    cfg: DictConfig,
    checkpoint: dict[str, Any],
    path: Path,
    module: LightningModule,
    averaging: bool,
) -> None:
    """This run can continue the checkpoint: the same network, averaging and training left."""
    ensure_weights_fit(module, checkpoint, path)
    ensure_weight_averaging_resumes(checkpoint, averaging, path)
    ensure_training_left(
        checkpoint, cfg.trainer.get("max_epochs"), cfg.trainer.get("max_steps", -1), path
    )
    log.info("Resuming from %s", path)


def _fill_hparams_tab(
    loggers: list[Logger], run_config: dict[str, Any], metrics: dict[str, float]
) -> None:
    """TensorBoard's HPARAMS tab compares runs by hyperparameters and final metrics side by side.

    The metrics get their own `hparams/` tags: re-logging them under `test/acc` would add a
    second point to the real curves.
    """
    final = {
        f"hparams/{name.replace('/', '_')}": metrics[name]
        for name in HPARAMS_METRICS
        if name in metrics
    }
    for logger in loggers:
        if isinstance(logger, TensorBoardLogger):
            logger.log_hyperparams(run_config, metrics=final)


def _parallel_jobs_setting() -> int | None:
    """The Hydra launcher's `n_jobs` (joblib, local_parallel), or None for one job at a time."""
    if not HydraConfig.initialized():
        return None
    return HydraConfig.get().launcher.get("n_jobs")
