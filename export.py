"""Export a trained network for deployment: `python export.py ckpt_path=<...>.ckpt format=onnx|pt2`."""

import hydra
from omegaconf import DictConfig

from seqmnist.exporting import export
from seqmnist.launch import prepare_script, run_command, run_recorded

prepare_script(__file__)


@hydra.main(version_base="1.3", config_path="configs", config_name="export")
def main(cfg: DictConfig) -> None:
    run_recorded(export, cfg)


if __name__ == "__main__":
    run_command(main)
