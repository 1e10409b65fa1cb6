"""OmegaConf resolvers the configs use: registered by the entry scripts, tests and notebook."""

from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import OmegaConf

from seqmnist.data.sequence import features_per_step, sequence_length
from seqmnist.machine import available_cores
from seqmnist.records.aggregate import setting_of


def register_resolvers() -> None:
    """Make the configs' own interpolations (`${features_per_step:<mode>}`, ...) resolvable."""
    # the input size of the network follows the sequence mode (model.input_size)
    OmegaConf.register_new_resolver("features_per_step", features_per_step, replace=True)
    # a memory's window follows it too (model=lmu's theta)
    OmegaConf.register_new_resolver("sequence_length", sequence_length, replace=True)
    # the default number of jobs of hydra/launcher=local_parallel: one per core
    OmegaConf.register_new_resolver("available_cores", available_cores, replace=True)
    # tracker names (logger=mlflow, wandb) that point back to the run folders
    OmegaConf.register_new_resolver("tracker_group", tracker_group, replace=True)
    OmegaConf.register_new_resolver("tracker_run_name", tracker_run_name, replace=True)
    OmegaConf.register_new_resolver("tracker_setting", tracker_setting, replace=True)


def tracker_group(alone: str | None) -> str | None:
    """A sweep's jobs are grouped under their sweep folder (`train/multiruns/<time>`); a run alone
    gets `alone`."""
    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        return alone
    return "/".join(Path(HydraConfig.get().sweep.dir).parts[-3:])


def tracker_run_name() -> str:
    """The run folder's name, or in a sweep the job's number and overrides (`3 optimizer.lr=0.01`)."""
    if not HydraConfig.initialized():
        return "run"
    hydra = HydraConfig.get()
    if hydra.mode != RunMode.MULTIRUN:
        return Path(hydra.runtime.output_dir).name
    return f"{hydra.job.num} {setting_of(hydra.overrides.task, with_seed=True)}"


def tracker_setting() -> str:
    """The run's setting without its seed (records/aggregate.py): the seeds of one setting share
    it, as a W&B group and an MLflow tag."""
    if not HydraConfig.initialized():
        return "(defaults)"
    return setting_of(HydraConfig.get().overrides.task)
