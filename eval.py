"""Evaluate a checkpoint on the official test set: `python eval.py ckpt_path=logs/train/runs/.../checkpoints/last.ckpt`."""

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
from seqmnist.evaluation import evaluate


@hydra.main(version_base="1.3", config_path="configs", config_name="eval")
def main(cfg: DictConfig) -> float | None:
    metrics = run_recorded(evaluate, cfg)
    return metrics["test/acc"] if metrics else float("nan")


if __name__ == "__main__":
    check_command_line(sys.argv[1:])
    main()
