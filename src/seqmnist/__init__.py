"""seqmnist: recurrent networks that classify images read as sequences."""

from seqmnist.resolvers import register_resolvers

__version__ = "0.1.0"

register_resolvers()
