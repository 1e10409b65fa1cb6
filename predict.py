"""Classify your own digit images: `python predict.py ckpt_path=<...>.ckpt images=[a.png,digits/] figure=true`."""

import sys

import hydra
from omegaconf import DictConfig

from seqmnist.launch import check_command_line, prepare_script
from seqmnist.prediction import predict
from seqmnist.runs.recording import run_recorded

prepare_script(__file__)


@hydra.main(version_base="1.3", config_path="configs", config_name="predict")
def main(cfg: DictConfig) -> None:
    run_recorded(predict, cfg)


if __name__ == "__main__":
    check_command_line(sys.argv[1:])
    main()
