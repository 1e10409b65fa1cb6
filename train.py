"""Train a recurrent classifier on images read as sequences: `python train.py --help` lists the options."""

import os
import sys
from pathlib import Path

os.environ.setdefault("SEQMNIST_ROOT", str(Path(__file__).resolve().parent))

import matplotlib

# figures go to files and TensorBoard only, also on machines without a display; set here, not in
# the library, so a notebook importing seqmnist keeps its inline plots (ddp_spawn workers
# re-import this file, so they get it too)
matplotlib.use("Agg")

import hydra
from omegaconf import DictConfig

from seqmnist.cli import check_command_line, run_recorded
from seqmnist.training import train


@hydra.main(version_base="1.3", config_path="configs", config_name="train")
def main(cfg: DictConfig) -> float | None:
    metrics = run_recorded(train, cfg)
    # a failed job returns None: the Optuna sweeper marks a trial without a number as failed and
    # goes on (a NaN would crash it: optuna 2 refuses to record NaN in a trial it then fails)
    if metrics is None or not cfg.get("optimized_metric"):
        return None
    return metrics.get(cfg.optimized_metric)


if __name__ == "__main__":
    check_command_line(sys.argv[1:])
    main()
