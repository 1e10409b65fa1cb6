"""Train a recurrent classifier on images read as sequences: `python train.py --help` lists the options."""

import os
from pathlib import Path

os.environ.setdefault("SEQMNIST_ROOT", str(Path(__file__).resolve().parent))

import hydra
from omegaconf import DictConfig

from seqmnist.cli import run_recorded
from seqmnist.training import train


@hydra.main(version_base="1.3", config_path="configs", config_name="train")
def main(cfg: DictConfig) -> float | None:
    metrics = run_recorded(train, cfg)
    if metrics is None:  # a failed sweep job: NaN tells Optuna the trial failed
        return float("nan")
    return metrics.get(cfg.optimized_metric) if cfg.get("optimized_metric") else None


if __name__ == "__main__":
    main()
