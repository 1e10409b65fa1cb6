"""Draw a digit and watch a network read it: `python demo.py ckpt_path=latest` serves a local page."""

import hydra
from omegaconf import DictConfig

from seqmnist.demo import serve
from seqmnist.launch import prepare_script, run_command, run_recorded

prepare_script(__file__)


@hydra.main(version_base="1.3", config_path="configs", config_name="demo")
def main(cfg: DictConfig) -> None:
    run_recorded(serve, cfg)


if __name__ == "__main__":
    run_command(main)
