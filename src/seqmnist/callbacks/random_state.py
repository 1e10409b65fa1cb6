"""Random number streams travel with checkpoints, so a resumed run draws the dropout masks the
uninterrupted run would have drawn."""

from typing import Any

import torch
from lightning.pytorch import Callback


class ResumeRandomState(Callback):
    """Saves torch's CPU and CUDA generator states in every checkpoint and restores them on resume.

    Lightning restores weights, optimizer, scheduler and loop progress, but not these; without
    them a run with dropout resumed mid-epoch diverges from the uninterrupted one at its next step.
    """

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {"cpu": torch.get_rng_state()}
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        torch.set_rng_state(state_dict["cpu"])
        cuda_states = state_dict.get("cuda")
        if (
            cuda_states
            and torch.cuda.is_available()
            and len(cuda_states) == torch.cuda.device_count()
        ):
            torch.cuda.set_rng_state_all(cuda_states)
