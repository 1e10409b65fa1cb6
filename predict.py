"""Classify your own digit images: `python predict.py ckpt_path=<...>.ckpt images=[a.png,digits/] figure=true`."""

import hydra
from omegaconf import DictConfig

from seqmnist.launch import prepare_script, run_command, run_recorded
from seqmnist.prediction import predict

prepare_script(__file__)


@hydra.main(version_base="1.3", config_path="configs", config_name="predict")
def main(cfg: DictConfig) -> None:
    run_recorded(predict, cfg)


if __name__ == "__main__":
    run_command(main)
