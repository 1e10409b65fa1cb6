"""Lightning callbacks that belong to this project (the stock ones are configured in configs/callbacks)."""

from seqmnist.callbacks.dashboards import TestSetFigures
from seqmnist.callbacks.divergence import StopOnNonFiniteLoss
from seqmnist.callbacks.final_validation import ValidateFinalSteps
from seqmnist.callbacks.interruption import CheckpointOnInterrupt
from seqmnist.callbacks.process_group import ReleaseProcessGroup
from seqmnist.callbacks.random_state import ResumeRandomState
from seqmnist.callbacks.run_config import StoreRunConfig
from seqmnist.callbacks.time_to_target import SECONDS_TO_TARGET, TimeToTarget
from seqmnist.callbacks.weight_averaging import AveragedWeights

__all__ = [
    "SECONDS_TO_TARGET",
    "AveragedWeights",
    "CheckpointOnInterrupt",
    "ReleaseProcessGroup",
    "ResumeRandomState",
    "StopOnNonFiniteLoss",
    "StoreRunConfig",
    "TestSetFigures",
    "TimeToTarget",
    "ValidateFinalSteps",
]
