"""seqmnist: recurrent networks that classify images read as sequences."""

__version__ = "0.1.0"
