"""OmegaConf resolvers the configs use: registered by the entry scripts, tests and notebook."""

from omegaconf import OmegaConf

from seqmnist.data.sequence import features_per_step
from seqmnist.machine import available_cores


def register_resolvers() -> None:
    """Make `${features_per_step:<mode>}` and `${available_cores:}` resolvable in this process."""
    # the input size of the network follows the sequence mode (model.input_size)
    OmegaConf.register_new_resolver("features_per_step", features_per_step, replace=True)
    # the default number of jobs of hydra/launcher=local_parallel: one per core
    OmegaConf.register_new_resolver("available_cores", available_cores, replace=True)
