"""The LightningModule: knows only "logits from a sequence", not where the data came from."""

from collections.abc import Callable
from typing import Any

import torch
from lightning.pytorch import LightningModule
from torch import Tensor, nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler
from torchmetrics import MaxMetric, MeanMetric, SumMetric
from torchmetrics.classification import MulticlassAccuracy

from seqmnist.errors import ConfigError
from seqmnist.models.base import SequenceNet
from seqmnist.models.flops import register_flop_formulas

OptimizerFactory = Callable[..., Optimizer]
SchedulerFactory = Callable[..., LRScheduler]
STAGES = ("train", "val", "test")
# the optimizer steps a run's schedule was built for, stored in checkpoints
SCHEDULE_STEPS_KEY = "schedule_total_steps"


class SequenceClassifierModule(LightningModule):
    """Trains any `SequenceNet`: `(time, batch, features)` in, class logits out.

    The optimizer and scheduler arrive as partials from Hydra (`_partial_: true`) because they
    need the parameters and the run length, which only exist here.
    """

    def __init__(
        self,
        net: SequenceNet,
        optimizer: OptimizerFactory,
        scheduler: SchedulerFactory | None = None,
    ) -> None:
        super().__init__()
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.net = net
        num_classes = net.num_classes
        self.criterion = nn.CrossEntropyLoss()
        # micro average = the plain fraction of correct predictions (torchmetrics defaults to macro)
        # one metric object per stage; keys carry a suffix because ModuleDict forbids "train"
        self.accuracy = nn.ModuleDict(
            {
                f"{stage}_acc": MulticlassAccuracy(num_classes=num_classes, average="micro")
                for stage in STAGES
            }
        )
        self.mean_loss = nn.ModuleDict({f"{stage}_loss": MeanMetric() for stage in STAGES})
        self.val_acc_best = MaxMetric()
        # how many test images the accuracy is out of (all ranks together), so a subset shows
        self.test_images = SumMetric()
        self._schedule_steps: int | None = None
        self._resumed_schedule_steps: int | None = None

    def forward(self, sequence: Tensor) -> Tensor:
        return self.net(sequence)

    def setup(self, stage: str) -> None:
        # before the model summary Lightning prints at fit start, which counts FLOPs
        register_flop_formulas()
        self.net.ensure_precision_runs(
            str(self.trainer.precision), self.trainer.strategy.root_device.type
        )

    def on_train_start(self) -> None:
        # the sanity check's validation must not count as the best epoch
        self.val_acc_best.reset()

    def _shared_step(self, batch: tuple[Tensor, Tensor], stage: str) -> dict[str, Tensor]:
        sequence, labels = batch
        logits = self(sequence)
        loss = self.criterion(logits, labels)
        batch_size = labels.size(0)  # Lightning would guess dim 0 of the sequence: the time axis
        mean_loss, accuracy = self.mean_loss[f"{stage}_loss"], self.accuracy[f"{stage}_acc"]
        mean_loss(loss, weight=batch_size)
        accuracy(logits, labels)
        for name, metric in (("loss", mean_loss), ("acc", accuracy)):
            self.log(
                f"{stage}/{name}",
                metric,
                on_step=stage == "train",
                on_epoch=True,
                prog_bar=True,
                batch_size=batch_size,
            )
        return {"loss": loss, "logits": logits.detach()}

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> dict[str, Tensor]:
        return self._shared_step(batch, "train")

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self._shared_step(batch, "val")

    def on_validation_epoch_end(self) -> None:
        self.val_acc_best(self.accuracy["val_acc"].compute())
        self.log("val/acc_best", self.val_acc_best.compute(), sync_dist=True, prog_bar=True)

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> dict[str, Tensor]:
        self.test_images(batch[1].size(0))
        self.log("test/images", self.test_images, on_step=False, on_epoch=True)
        # the logits reach callbacks (figures of the test set) without a second forward pass
        return self._shared_step(batch, "test")

    def predict_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        return torch.softmax(self(batch[0]), dim=-1)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint[SCHEDULE_STEPS_KEY] = self._schedule_steps

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # runs before configure_optimizers when a fit resumes, so the schedule can be checked there
        self._resumed_schedule_steps = checkpoint.get(SCHEDULE_STEPS_KEY)

    def configure_optimizers(self) -> Optimizer | dict[str, Any]:
        optimizer = self.optimizer_factory(params=parameter_groups(self.net))
        if self.scheduler_factory is None:
            return optimizer
        self._schedule_steps = int(self.trainer.estimated_stepping_batches)
        resumed = self._resumed_schedule_steps
        if resumed is not None and resumed != self._schedule_steps:
            raise ConfigError(
                f"The checkpoint's learning-rate schedule was planned for {resumed} optimizer steps, "
                f"but this run would take {self._schedule_steps} (trainer.max_epochs, max_steps, "
                f"batch size or data size changed). A schedule built from the run's length cannot be "
                f"stretched: resume with the settings the checkpoint was trained with, or start a "
                f"new run (optionally from its weights) without ckpt_path."
            )
        scheduler = self.scheduler_factory(optimizer=optimizer, total_steps=self._schedule_steps)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }


def parameter_groups(net: SequenceNet) -> list[dict[str, Any]] | list[nn.Parameter]:
    """The optimizer's parameters: the groups a network names (`optimizer_groups()`, each with its
    own settings, e.g. a state-space model's step sizes) and, first, every other parameter with the
    optimizer's own settings."""
    named = net.optimizer_groups()
    if not named:
        return list(net.parameters())
    grouped = {id(parameter) for group in named for parameter in group["params"]}
    rest = [parameter for parameter in net.parameters() if id(parameter) not in grouped]
    return [{"params": rest}, *named]
