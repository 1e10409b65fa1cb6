"""Classify your own digit images: `python predict.py ckpt_path=<...>.ckpt images=[a.png,digits/] figure=true`."""

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
from seqmnist.prediction import predict


@hydra.main(version_base="1.3", config_path="configs", config_name="predict")
def main(cfg: DictConfig) -> None:
    run_recorded(predict, cfg)


if __name__ == "__main__":
    check_command_line(sys.argv[1:])
    main()
