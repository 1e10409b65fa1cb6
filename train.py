"""Train a recurrent classifier on images read as sequences: `python train.py --help` lists the options."""

import hydra
from omegaconf import DictConfig

from seqmnist.launch import prepare_script, run_command, run_recorded
from seqmnist.training import train

prepare_script(__file__)


@hydra.main(version_base="1.3", config_path="configs", config_name="train")
def main(cfg: DictConfig) -> float | None:
    metrics = run_recorded(train, cfg)
    # a failed job returns None: the Optuna sweeper records its trial as failed and goes on
    if metrics is None or not cfg.get("optimized_metric"):
        return None
    return metrics.get(cfg.optimized_metric)


if __name__ == "__main__":
    run_command(main)
