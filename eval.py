"""Evaluate a checkpoint on the official test set: `python eval.py ckpt_path=logs/train/runs/.../checkpoints/last.ckpt`."""

import hydra
from omegaconf import DictConfig

from seqmnist.evaluation import evaluate
from seqmnist.launch import prepare_script, run_command, run_recorded

prepare_script(__file__)


@hydra.main(version_base="1.3", config_path="configs", config_name="eval")
def main(cfg: DictConfig) -> float | None:
    metrics = run_recorded(evaluate, cfg)
    # a failed run returns None, not NaN: sweepers record it as failed (see train.py)
    return metrics["test/acc"] if metrics else None


if __name__ == "__main__":
    run_command(main)
