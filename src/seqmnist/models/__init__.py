"""The network (plain nn.Module) and the LightningModule that trains it."""

from seqmnist.models.lightning_module import SequenceClassifierModule
from seqmnist.models.recurrent import RecurrentClassifier

__all__ = ["RecurrentClassifier", "SequenceClassifierModule"]
