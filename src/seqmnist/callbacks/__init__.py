"""Lightning callbacks that belong to this project (the stock ones are configured in configs/callbacks)."""

from seqmnist.callbacks.dashboards import TestSetFigures
from seqmnist.callbacks.divergence import StopOnNonFiniteLoss
from seqmnist.callbacks.interruption import CheckpointOnInterrupt
from seqmnist.callbacks.random_state import ResumeRandomState
from seqmnist.callbacks.run_config import RUN_CONFIG_KEY, StoreRunConfig
from seqmnist.callbacks.weight_averaging import AveragedWeights

__all__ = [
    "RUN_CONFIG_KEY",
    "AveragedWeights",
    "CheckpointOnInterrupt",
    "ResumeRandomState",
    "StopOnNonFiniteLoss",
    "StoreRunConfig",
    "TestSetFigures",
]
