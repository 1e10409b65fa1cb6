"""The network (plain nn.Module) and the LightningModule that trains it."""

from seqmnist.models import flops  # noqa: F401  (on import: FLOP formulas for fused RNN kernels)
from seqmnist.models.module import SequenceClassifierModule
from seqmnist.models.recurrent import RecurrentClassifier

__all__ = ["RecurrentClassifier", "SequenceClassifierModule"]
