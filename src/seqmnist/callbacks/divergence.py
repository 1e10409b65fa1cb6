"""Stop a diverged run at once instead of spending the rest of the budget on NaNs."""

from collections.abc import Mapping
from typing import Any

import torch
from lightning.pytorch import Callback, LightningModule, Trainer

from seqmnist.errors import TrainingDiverged


class StopOnNonFiniteLoss(Callback):
    """Raise at the first NaN/Inf training loss, naming the step and the usual fixes."""

    def on_train_batch_end(
        self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        loss = outputs.get("loss") if isinstance(outputs, Mapping) else outputs
        if isinstance(loss, torch.Tensor) and not bool(torch.isfinite(loss).all()):
            raise TrainingDiverged(
                f"The training loss became {loss.detach().float().item()} at global step "
                f"{trainer.global_step} (epoch {trainer.current_epoch}, batch {batch_idx}), so training "
                f"stopped. Lower the learning rate (optimizer.lr=...) or clip gradients "
                f"(trainer.gradient_clip_val=1.0) and run again; checkpoints already written are kept."
            )
