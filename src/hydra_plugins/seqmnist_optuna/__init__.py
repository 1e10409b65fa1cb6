"""seqmnist's Optuna sweeper (Hydra finds plugins only under the hydra_plugins namespace)."""
