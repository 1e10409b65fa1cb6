"""Stop a diverged run at once instead of spending the rest of the budget on NaNs."""

from collections.abc import Mapping
from typing import Any

import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from torch import Tensor

from seqmnist.errors import TrainingDiverged


class StopOnNonFiniteLoss(Callback):
    """Raise after the first NaN/Inf training loss, naming its step and the usual fixes.

    Reading a GPU tensor on the host makes the CPU wait for the GPU, so every step only updates a
    record kept on the device; the host reads it every `log_every_n_steps` batches, at the end of
    each epoch and before every validation, so no checkpoint is ever written from diverged weights.
    """

    def __init__(self) -> None:
        # global step and value of the first non-finite loss; step -1 while there is none
        self._first_step: Tensor | None = None
        self._first_value: Tensor | None = None

    def on_train_batch_end(
        self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        loss = outputs.get("loss") if isinstance(outputs, Mapping) else outputs
        if not isinstance(loss, Tensor):
            return
        loss = loss.detach().float()
        if self._first_step is None or self._first_step.device != loss.device:
            self._first_step = torch.full((), -1, dtype=torch.long, device=loss.device)
            self._first_value = torch.zeros((), device=loss.device)
        first = ~torch.isfinite(loss).all() & (self._first_step < 0)
        self._first_step = torch.where(first, trainer.global_step, self._first_step)
        self._first_value = torch.where(first, loss.flatten()[0], self._first_value)
        if (batch_idx + 1) % trainer.log_every_n_steps == 0:
            self._stop_if_diverged(trainer)

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._stop_if_diverged(trainer)

    def on_validation_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._stop_if_diverged(trainer)

    def _stop_if_diverged(self, trainer: Trainer) -> None:
        if self._first_step is None or int(self._first_step) < 0:
            return
        raise TrainingDiverged(
            f"The training loss became {float(self._first_value)} at global step "
            f"{int(self._first_step)} (seen at step {trainer.global_step}, epoch "
            f"{trainer.current_epoch}), so training stopped. Lower the learning rate "
            f"(optimizer.lr=...) or clip gradients (trainer.gradient_clip_val=1.0) and run again; "
            f"checkpoints already written are kept."
        )
