"""The networks (recurrent, state space, Legendre memory), the LightningModule that trains it, its schedules, FLOP formulas and precisions."""

from seqmnist.models.base import SequenceNet
from seqmnist.models.lightning_module import SequenceClassifierModule
from seqmnist.models.lmu import LMUClassifier
from seqmnist.models.recurrent import RecurrentClassifier
from seqmnist.models.state_space import S4DClassifier

__all__ = [
    "LMUClassifier",
    "RecurrentClassifier",
    "S4DClassifier",
    "SequenceClassifierModule",
    "SequenceNet",
]
