"""Everything about getting images into the network as sequences."""

from seqmnist.data.datamodule import MNISTDataModule

__all__ = ["MNISTDataModule"]
