"""Classify your own digit images: `python predict.py ckpt_path=<...>.ckpt images=[a.png,digits/] figure=true`."""

import os
import sys
from pathlib import Path

os.environ.setdefault("SEQMNIST_ROOT", str(Path(__file__).resolve().parent))

import hydra
from omegaconf import DictConfig

from seqmnist.cli import check_command_line, run_recorded
from seqmnist.prediction import predict


@hydra.main(version_base="1.3", config_path="configs", config_name="predict")
def main(cfg: DictConfig) -> None:
    run_recorded(predict, cfg)


if __name__ == "__main__":
    check_command_line(sys.argv[1:])
    main()
