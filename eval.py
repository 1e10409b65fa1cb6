"""Evaluate a checkpoint on the official test set: `python eval.py ckpt_path=logs/train/runs/.../checkpoints/last.ckpt`."""

import os
from pathlib import Path

os.environ.setdefault("SEQMNIST_ROOT", str(Path(__file__).resolve().parent))

import hydra
from omegaconf import DictConfig

from seqmnist.cli import exit_on_user_error
from seqmnist.evaluation import evaluate


@hydra.main(version_base="1.3", config_path="configs", config_name="eval")
def main(cfg: DictConfig) -> float:
    return exit_on_user_error(evaluate, cfg)["test/acc"]


if __name__ == "__main__":
    main()
