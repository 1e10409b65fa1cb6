"""The network, the LightningModule that trains it, its schedules, FLOP formulas and precisions."""

from seqmnist.models.lightning_module import SequenceClassifierModule
from seqmnist.models.recurrent import RecurrentClassifier

__all__ = ["RecurrentClassifier", "SequenceClassifierModule"]
