"""OmegaConf resolvers the configs use, registered when the package is imported."""

from omegaconf import OmegaConf

from seqmnist.data.sequence import FEATURES_PER_STEP
from seqmnist.runtime import available_cores


def register_resolvers() -> None:
    # an unknown mode resolves to None; config_checks then names `data.sequence` and its choices
    OmegaConf.register_new_resolver("features_per_step", FEATURES_PER_STEP.get, replace=True)
    # the default number of jobs of hydra/launcher=local_parallel: one per core
    OmegaConf.register_new_resolver("available_cores", available_cores, replace=True)
