"""seqmnist's Hydra launcher (Hydra finds plugins only under the hydra_plugins namespace)."""
