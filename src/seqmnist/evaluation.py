"""What `python eval.py ckpt_path=...` does: rebuild data and model from the checkpoint, then test."""

from pathlib import Path

from hydra.utils import instantiate
from lightning.pytorch import Trainer
from omegaconf import DictConfig, OmegaConf

from seqmnist.callbacks import ReleaseProcessGroup
from seqmnist.config.build import build_loggers, load_trained, settle_precision
from seqmnist.config.checks import ensure_accelerator_available
from seqmnist.machine import configure_process
from seqmnist.records.checkpoints import resolve_checkpoint
from seqmnist.records.report import as_floats, print_metrics, tested_on
from seqmnist.records.trackers import finish
from seqmnist.sigterm import SIGTERM_WATCH


def evaluate(cfg: DictConfig) -> dict[str, float]:
    """Test a checkpoint on the full official test set with the data settings it was trained with.

    Only the data location comes from this invocation (`paths.data_dir`): a checkpoint copied to
    another machine still finds the dataset there.
    """
    ensure_accelerator_available(cfg.trainer)
    configure_process(cfg.float32_precision)
    checkpoint_path = resolve_checkpoint(cfg.ckpt_path, Path(cfg.paths.log_dir))
    trained = load_trained(checkpoint_path)
    run_cfg = trained.run_config
    run_cfg.data.data_dir = cfg.paths.data_dir

    settle_precision(cfg, trained.module.net, trained_with=run_cfg.trainer.get("precision"))
    datamodule = instantiate(run_cfg.data)
    # the view the checkpoint was read with: the run's normalisation and stored pixel order
    datamodule.sequence_view = trained.view
    loggers = build_loggers(cfg.get("logger"))
    trainer: Trainer = instantiate(
        cfg.trainer, logger=loggers or False, callbacks=[ReleaseProcessGroup()]
    )
    # a tracker's eval run says what it tested: the checkpoint, and the settings it was trained with
    settings = {**OmegaConf.to_container(run_cfg), "tested_checkpoint": str(checkpoint_path)}
    try:
        for logger in trainer.loggers:
            logger.log_hyperparams(settings)
        trainer.test(trained.module, datamodule=datamodule)
    finally:
        finish(loggers)
    SIGTERM_WATCH.stop_if_received()
    metrics = as_floats(trainer.callback_metrics)
    print_metrics(
        f"Evaluation ({tested_on(trainer, datamodule.record.title)})",
        metrics,
        {"checkpoint": str(checkpoint_path)},
    )
    return metrics
