"""Random number streams travel with checkpoints, so a resumed run draws the dropout masks the
uninterrupted run would have drawn, on every rank."""

from typing import Any

import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.strategies import Strategy
from lightning.pytorch.utilities import rank_zero_warn
from torch import Tensor


class ResumeRandomState(Callback):
    """Saves each rank's torch CPU generator and its own CUDA device's generator in every
    checkpoint, and gives each rank its own state back on resume.

    Lightning restores neither, so a run with dropout resumed mid-epoch would diverge from the
    uninterrupted one; rank 0 writes the checkpoint, so all ranks' states are gathered into it.
    """

    def __init__(self) -> None:
        self._strategy: Strategy | None = None

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        self._strategy = trainer.strategy

    def state_dict(self) -> dict[str, Any]:
        own = {"cpu": torch.get_rng_state()}
        device = self._device()
        if device.type == "cuda":
            own["cuda"] = torch.cuda.get_rng_state(device)
        return {"ranks": [dict(zip(own, states, strict=True)) for states in self._gathered(own)]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        # checkpoints written before states were kept per rank hold rank 0's CPU state only
        ranks = state_dict.get("ranks") or [{"cpu": state_dict["cpu"]}]
        world_size = self._strategy.world_size if self._strategy else 1
        if len(ranks) != world_size:
            rank_zero_warn(
                f"The checkpoint holds the random states of {len(ranks)} processes, this run has "
                f"{world_size}: each rank continues rank 0's stream, so the run will not repeat "
                f"the dropout masks of one that kept its process count."
            )
        own = ranks[self._rank()] if len(ranks) == world_size else ranks[0]
        torch.set_rng_state(own["cpu"])
        device = self._device()
        if "cuda" in own and device.type == "cuda":
            torch.cuda.set_rng_state(own["cuda"], device)

    def _gathered(self, own: dict[str, Tensor]) -> list[list[Tensor]]:
        """Every rank's states, in rank order (one collective per state, on every rank)."""
        if self._strategy is None or self._strategy.world_size == 1:
            return [list(own.values())]
        device = self._strategy.root_device  # NCCL gathers GPU tensors only
        stacked = [self._strategy.all_gather(state.to(device)).cpu() for state in own.values()]
        # rows copied out: a view into the stacked tensor would save (and restore) all of it
        return [
            [states[rank].clone() for states in stacked]
            for rank in range(self._strategy.world_size)
        ]

    def _rank(self) -> int:
        return self._strategy.global_rank if self._strategy else 0

    def _device(self) -> torch.device:
        return self._strategy.root_device if self._strategy else torch.device("cpu")
