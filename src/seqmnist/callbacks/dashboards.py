"""Figures of the test set in the dashboards: what the network gets wrong and how it reads."""

import matplotlib.pyplot as plt
import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from matplotlib.figure import Figure
from torch import Tensor
from torchmetrics.classification import MulticlassConfusionMatrix

from seqmnist.data.sequence import SequenceView
from seqmnist.figures.reading import reading_figure, reading_tag
from seqmnist.records.trackers import figure_loggers, log_figure


class TestSetFigures(Callback):
    """After `trainer.test`: a confusion matrix, a grid of misclassified digits titled true/predicted,
    and for a few digits the class probabilities after each step read (the RNN's view; not for
    bidirectional networks, which read everything before answering).

    Uses the logits `test_step` returns (the test set is read once); under DDP the confusion
    matrix sums every rank's shard, the example digits are rank 0's.
    """

    def __init__(self, misclassified: int = 32, reading_examples: int = 4) -> None:
        self.misclassified = misclassified
        self.reading_examples = reading_examples

    def on_test_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.confusion = MulticlassConfusionMatrix(pl_module.net.num_classes).to(pl_module.device)
        self.wrong: list[tuple[Tensor, int, int]] = []
        self.first_batch: Tensor | None = None
        self.view: SequenceView = getattr(
            trainer.datamodule, "sequence_view", SequenceView("rows", 0.0, 1.0)
        )
        self.class_names: list[str] | None = getattr(trainer.datamodule, "class_names", None)

    def on_test_batch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        outputs: dict,
        batch: tuple,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        sequence, labels = batch
        predicted = outputs["logits"].argmax(dim=-1)
        self.confusion.update(predicted, labels)
        if self.first_batch is None:
            self.first_batch = sequence[:, : self.reading_examples].detach()
        for index in torch.nonzero(predicted != labels).flatten().tolist():
            if len(self.wrong) < self.misclassified:
                image = self.view.images_of(sequence[:, index : index + 1].detach())[0].cpu()
                self.wrong.append((image, int(labels[index]), int(predicted[index])))

    def on_test_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        # every rank must take part in the sync, or rank 0 waits for the others forever (NCCL) or
        # sees them leave (gloo: "Connection closed by peer")
        matrix = self.confusion.compute()
        loggers = figure_loggers(trainer.loggers)
        if not loggers or trainer.global_rank != 0:
            return
        figures = {
            "test/confusion_matrix": self.confusion.plot(val=matrix, labels=self.class_names)[0],
            "test/misclassified": self._misclassified_grid(),
        }
        if self.first_batch is not None and pl_module.net.reads_step_by_step:
            figures[f"test/{reading_tag(self.view.step_name)}"] = self._reading_figure(pl_module)
        for logger in loggers:
            for tag, figure in figures.items():
                log_figure(logger, tag, figure, trainer.global_step)
        for figure in figures.values():
            plt.close(figure)

    def _misclassified_grid(self) -> Figure:
        columns = 8
        rows = max(1, -(-len(self.wrong) // columns))
        figure, axes = plt.subplots(
            rows, columns, figsize=(columns * 1.3, rows * 1.5), squeeze=False
        )
        for axis in axes.flat:
            axis.axis("off")
        for axis, (image, true, predicted) in zip(axes.flat, self.wrong, strict=False):
            axis.imshow(image.float().numpy(), cmap="gray")
            axis.set_title(f"true {true} / pred {predicted}", fontsize=7, color="tab:red")
        figure.suptitle(f"First {len(self.wrong)} misclassified test digits")
        figure.tight_layout()
        return figure

    def _reading_figure(self, pl_module: LightningModule) -> Figure:
        with torch.no_grad():
            logits = pl_module.net.logits_per_step(self.first_batch)
        probabilities = torch.softmax(logits.float(), dim=-1).cpu()
        images = self.view.images_of(self.first_batch).cpu()
        return reading_figure(images, probabilities, step_name=self.view.step_name)
